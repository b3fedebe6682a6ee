//! RTP newtypes: synchronisation source, extended sequence number, timestamp with its clock rate.

use std::fmt;
use std::time::Duration;

/// Clock rate of G.711 RTP timestamps (RFC 3551 §4.5.14): 8000 ticks a second.
pub const G711_CLOCK_RATE: u32 = 8000;

/// A synchronisation source identifier (RFC 3550 §3): names one RTP stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ssrc(pub u32);

impl fmt::Display for Ssrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x}", self.0)
    }
}

/// An extended RTP sequence number: the 16 bits on the wire plus the count of wrap-arounds above
/// them, so code comparing sequence numbers never handles wrap-around itself.
///
/// Numbering starts in cycle 1 ([`SeqNo::first`]), not 0, so a packet reordered ahead of the very
/// first one still extends to a smaller number instead of jumping a whole cycle forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeqNo(pub u64);

impl SeqNo {
    const CYCLE: u64 = 1 << 16;

    /// The extended number of the first packet seen of a stream (placed in cycle 1).
    pub const fn first(wire: u16) -> SeqNo {
        SeqNo(Self::CYCLE + wire as u64)
    }

    /// The 16 bits that go on the wire.
    pub const fn wire(self) -> u16 {
        self.0 as u16
    }

    /// The number after this one.
    pub const fn next(self) -> SeqNo {
        SeqNo(self.0.wrapping_add(1))
    }

    /// Extends a received 16-bit sequence number against `highest`, the highest extended number seen
    /// so far: the result is the extended number nearest to `highest` whose low 16 bits are `wire`
    /// (ahead by up to 32767, or behind by up to 32768). Never below zero: in cycle 0 a number that
    /// would be negative is taken as ahead instead.
    pub const fn extend(highest: SeqNo, wire: u16) -> SeqNo {
        let delta = wire.wrapping_sub(highest.wire()) as i16 as i64;
        let candidate = highest.0 as i64 + delta;
        if candidate < 0 {
            SeqNo((candidate + Self::CYCLE as i64) as u64)
        } else {
            SeqNo(candidate as u64)
        }
    }

    /// Signed distance `self - earlier`, in packets.
    pub const fn since(self, earlier: SeqNo) -> i64 {
        self.0.wrapping_sub(earlier.0) as i64
    }
}

/// An RTP timestamp with the clock rate it counts in (8000 Hz for G.711).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RtpTime {
    ticks: u32,
    clock_rate: u32,
}

impl RtpTime {
    /// A timestamp of `ticks` at `clock_rate` Hz.
    pub const fn new(ticks: u32, clock_rate: u32) -> RtpTime {
        RtpTime { ticks, clock_rate }
    }

    /// The 32 bits that go on the wire.
    pub const fn ticks(self) -> u32 {
        self.ticks
    }

    /// Ticks per second.
    pub const fn clock_rate(self) -> u32 {
        self.clock_rate
    }

    /// This timestamp advanced by `ticks`, wrapping at 2^32 as RTP timestamps do.
    pub const fn add_ticks(self, ticks: u32) -> RtpTime {
        RtpTime {
            ticks: self.ticks.wrapping_add(ticks),
            clock_rate: self.clock_rate,
        }
    }

    /// Signed distance `self - earlier` in ticks, assuming they are less than 2^31 ticks apart
    /// (3 days at 8 kHz).
    pub const fn since(self, earlier: RtpTime) -> i64 {
        self.ticks.wrapping_sub(earlier.ticks) as i32 as i64
    }

    /// How many ticks of `clock_rate` fit in `d` (rounded down; saturates at `u64::MAX`).
    pub fn ticks_in(d: Duration, clock_rate: u32) -> u64 {
        let ticks = d.as_nanos() * u128::from(clock_rate) / 1_000_000_000;
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }

    /// The duration of `ticks` at `clock_rate` (zero if the clock rate is zero).
    pub fn duration_of(ticks: u64, clock_rate: u32) -> Duration {
        if clock_rate == 0 {
            return Duration::ZERO;
        }
        let nanos = u128::from(ticks) * 1_000_000_000 / u128::from(clock_rate);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extend_follows_the_nearest_cycle() {
        let h = SeqNo::first(65_530);
        assert_eq!(SeqNo::extend(h, 65_531), SeqNo((1 << 16) + 65_531));
        // Wrapped forward into cycle 2.
        assert_eq!(SeqNo::extend(h, 3), SeqNo((2 << 16) + 3));
        // Slightly late, still in cycle 1.
        assert_eq!(SeqNo::extend(h, 65_500), SeqNo((1 << 16) + 65_500));
        // Late across the wrap: behind a highest of cycle 2 / seq 2.
        let h2 = SeqNo((2 << 16) + 2);
        assert_eq!(SeqNo::extend(h2, 65_534), SeqNo((1 << 16) + 65_534));
        assert_eq!(SeqNo::extend(h2, 2), h2);
    }

    #[test]
    fn extend_reordered_before_first_stays_behind() {
        let first = SeqNo::first(0);
        let late = SeqNo::extend(first, 65_535);
        assert_eq!(late.since(first), -1);
        assert_eq!(late.wire(), 65_535);
    }

    #[test]
    fn extend_never_goes_below_zero() {
        assert_eq!(SeqNo::extend(SeqNo(5), 65_530), SeqNo(65_530));
        assert_eq!(SeqNo::extend(SeqNo(0), 0), SeqNo(0));
    }

    #[test]
    fn extend_round_trips_every_offset_in_the_window() {
        let h = SeqNo::first(40_000);
        for delta in -32_768i64..=32_767 {
            let n = SeqNo((h.0 as i64 + delta) as u64);
            assert_eq!(SeqNo::extend(h, n.wire()), n, "delta {delta}");
        }
    }

    #[test]
    fn rtp_time_wraps_and_measures_signed_distance() {
        let t = RtpTime::new(u32::MAX - 79, G711_CLOCK_RATE);
        let u = t.add_ticks(160);
        assert_eq!(u.ticks(), 80);
        assert_eq!(u.since(t), 160);
        assert_eq!(t.since(u), -160);
        assert_eq!(u.clock_rate(), 8000);
    }

    #[test]
    fn tick_and_duration_conversions() {
        assert_eq!(RtpTime::ticks_in(Duration::from_millis(20), 8000), 160);
        assert_eq!(RtpTime::duration_of(160, 8000), Duration::from_millis(20));
        assert_eq!(RtpTime::duration_of(160, 0), Duration::ZERO);
    }
}
