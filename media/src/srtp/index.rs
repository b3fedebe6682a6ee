//! Per-SSRC packet indices: the rollover counter and index estimate of RFC 3711 §3.3.1, and the
//! 64-packet replay window of §3.3.2, kept in a table of bounded size.

use crate::types::SeqNo;

use super::error::SrtpError;

/// Packets behind the highest accepted index that are still told apart from replays.
pub const REPLAY_WINDOW: u64 = 64;

/// SSRCs one direction of a session keeps state for. A session has one or two; a bound keeps a
/// peer that rotates SSRCs from growing the table without end.
pub const MAX_STREAMS: usize = 32;

/// The highest index accepted on one stream and which of the 63 before it were seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReplayWindow {
    highest: u64,
    /// Bit `k` set: index `highest - k` was accepted.
    seen: u64,
}

impl ReplayWindow {
    fn starting_at(index: u64) -> ReplayWindow {
        ReplayWindow {
            highest: index,
            seen: 1,
        }
    }

    /// The highest index accepted.
    pub(crate) fn highest(&self) -> u64 {
        self.highest
    }

    /// Whether `index` may still be accepted: ahead of the window, or inside it and not seen.
    fn fresh(&self, index: u64) -> bool {
        match self.highest.checked_sub(index) {
            None => true,
            Some(behind) if behind >= REPLAY_WINDOW => false,
            Some(behind) => self.seen & (1 << behind) == 0,
        }
    }

    fn accept(&mut self, index: u64) {
        match index.checked_sub(self.highest) {
            Some(0) => {}
            Some(ahead) => {
                self.seen = if ahead >= REPLAY_WINDOW {
                    1
                } else {
                    (self.seen << ahead) | 1
                };
                self.highest = index;
            }
            None => self.seen |= 1 << (self.highest - index),
        }
    }
}

/// One direction's streams: SSRC to replay window, at most [`MAX_STREAMS`] of them.
///
/// Lookups are linear: a call has one or two SSRCs, where a scan beats hashing.
#[derive(Debug, Clone, Default)]
pub(crate) struct Streams {
    entries: Vec<(u32, ReplayWindow)>,
}

impl Streams {
    /// The window of `ssrc`, if the stream has had a packet accepted.
    pub(crate) fn get(&self, ssrc: u32) -> Option<&ReplayWindow> {
        self.entries
            .iter()
            .find(|(s, _)| *s == ssrc)
            .map(|(_, w)| w)
    }

    /// Refuses a stream the table has no room for; call before doing any work on its packet.
    pub(crate) fn has_room_for(&self, ssrc: u32) -> Result<(), SrtpError> {
        if self.entries.len() >= MAX_STREAMS && self.get(ssrc).is_none() {
            return Err(SrtpError::TooManyStreams { max: MAX_STREAMS });
        }
        Ok(())
    }

    /// The SRTP index of sequence number `seq` on stream `ssrc` (§3.3.1): the index nearest the
    /// highest accepted one whose low 16 bits are `seq`. A new stream starts with ROC 0.
    /// [`SeqNo::extend`] takes a packet exactly 2^15 away as behind where §3.3.1 takes it as
    /// ahead; after 32767 straight losses either guess is a guess.
    pub(crate) fn estimate(&self, ssrc: u32, seq: u16) -> SeqNo {
        match self.get(ssrc) {
            None => SeqNo(u64::from(seq)),
            Some(w) => SeqNo::extend(SeqNo(w.highest), seq),
        }
    }

    /// Whether `index` on `ssrc` is neither a replay nor behind the window.
    pub(crate) fn fresh(&self, ssrc: u32, index: u64) -> bool {
        self.get(ssrc).is_none_or(|w| w.fresh(index))
    }

    /// Records `index` as accepted on `ssrc`; only after the packet authenticated (§3.3).
    pub(crate) fn accept(&mut self, ssrc: u32, index: u64) -> Result<(), SrtpError> {
        if let Some((_, w)) = self.entries.iter_mut().find(|(s, _)| *s == ssrc) {
            w.accept(index);
            return Ok(());
        }
        self.has_room_for(ssrc)?;
        self.entries.push((ssrc, ReplayWindow::starting_at(index)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_accepts_each_index_once_and_forgets_past_64() {
        let mut s = Streams::default();
        assert!(s.fresh(1, 100));
        s.accept(1, 100).unwrap();
        assert!(!s.fresh(1, 100));
        assert!(s.fresh(1, 99), "reordered, inside the window");
        s.accept(1, 99).unwrap();
        assert!(!s.fresh(1, 99));
        s.accept(1, 150).unwrap();
        assert!(!s.fresh(1, 100), "still remembered 50 behind");
        assert!(s.fresh(1, 120));
        assert!(
            !s.fresh(1, 150 - REPLAY_WINDOW),
            "behind the window is refused"
        );
        assert!(s.fresh(1, 150 - REPLAY_WINDOW + 1));
        s.accept(1, 1000).unwrap();
        assert!(!s.fresh(1, 1000));
        assert!(s.fresh(1, 999), "a jump clears the window");
        assert!(s.fresh(2, 100), "streams are apart");
    }

    #[test]
    fn estimate_follows_the_rollover_counter() {
        let mut s = Streams::default();
        assert_eq!(s.estimate(7, 65_534), SeqNo(65_534));
        s.accept(7, 65_534).unwrap();
        // Wrapped: ROC 1.
        assert_eq!(s.estimate(7, 1), SeqNo((1 << 16) + 1));
        s.accept(7, (1 << 16) + 1).unwrap();
        // A late packet from before the wrap keeps ROC 0.
        assert_eq!(s.estimate(7, 65_535), SeqNo(65_535));
        assert!(s.fresh(7, 65_535));
        assert!(!s.fresh(7, 65_534));
    }

    #[test]
    fn table_is_bounded() {
        let mut s = Streams::default();
        for ssrc in 0..MAX_STREAMS as u32 {
            s.accept(ssrc, 1).unwrap();
        }
        assert_eq!(
            s.accept(u32::MAX, 1),
            Err(SrtpError::TooManyStreams { max: MAX_STREAMS })
        );
        assert!(s.has_room_for(3).is_ok(), "a known stream still fits");
        assert!(s.accept(3, 2).is_ok());
    }
}
