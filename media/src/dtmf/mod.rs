//! DTMF as RFC 4733 telephone-events: the 4-byte payload, a sender that turns a key press into
//! the RFC's packet sequence, and a receiver that turns a lossy packet stream back into key
//! presses, each reported once.
//!
//! ```text
//!   DtmfSender    digit + duration + `now` -> packets to send (marker, growing duration, 3 ends)
//!   DtmfReceiver  (packet, arrival) -> Started/Ended, each once per key press; ends on the end
//!                 packet, on the next event, or on a timeout when every end packet was lost
//!   TelephoneEvent, Digit   the payload codec and the sixteen DTMF keys (events 0-15)
//! ```
//!
//! Both are sans-IO: they take `now` and never read a clock. Telephone-events share the audio
//! stream's SSRC, sequence numbers and timestamp clock, so the sender returns payloads, marker
//! bits and timestamps, and the caller numbers them with the audio.

mod receiver;
mod sender;

pub use receiver::{DtmfEnd, DtmfEvent, DtmfReceiver, DEFAULT_END_TIMEOUT};
pub use sender::{DtmfPacket, DtmfSender};

use std::fmt;

use crate::error::MediaError;

/// One of the sixteen DTMF keys, by its RFC 4733 event code (0-9, `*` 10, `#` 11, A-D 12-15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digit(u8);

impl Digit {
    const KEYS: &'static [u8; 16] = b"0123456789*#ABCD";

    /// The key for `c` (`0`-`9`, `*`, `#`, `A`-`D`, lower case accepted).
    pub fn from_char(c: char) -> Option<Digit> {
        let c = u8::try_from(c.to_ascii_uppercase()).ok()?;
        Self::KEYS
            .iter()
            .position(|&k| k == c)
            .map(|i| Digit(i as u8))
    }

    /// The key with event code `event`, if it is one of the sixteen.
    pub fn from_event(event: u8) -> Option<Digit> {
        (usize::from(event) < Self::KEYS.len()).then_some(Digit(event))
    }

    /// The RFC 4733 event code.
    pub fn event(self) -> u8 {
        self.0
    }

    /// The key as a character.
    pub fn as_char(self) -> char {
        char::from(Self::KEYS[usize::from(self.0)])
    }
}

impl fmt::Display for Digit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// The RFC 4733 §2.3 payload: event code, end bit, volume and duration so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code (0-15 for DTMF).
    pub event: u8,
    /// Set on the packets that report the end of the event.
    pub end: bool,
    /// Power level in -dBm0, 0..=63 (larger is quieter).
    pub volume: u8,
    /// Duration of the event (or segment) so far, in timestamp ticks.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Bytes of the payload.
    pub const LEN: usize = 4;

    /// Reads a payload. The reserved bit is ignored, as §2.3 asks; anything but four bytes is
    /// refused (we do not negotiate RFC 2198 redundancy).
    pub fn parse(payload: &[u8]) -> Result<TelephoneEvent, MediaError> {
        let &[event, flags, d0, d1] = payload else {
            return Err(MediaError::MalformedTelephoneEvent { len: payload.len() });
        };
        Ok(TelephoneEvent {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3f,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    /// The payload's bytes (reserved bit clear, volume cut to six bits).
    pub fn to_bytes(self) -> [u8; 4] {
        let [d0, d1] = self.duration.to_be_bytes();
        let flags = if self.end { 0x80 } else { 0 } | (self.volume & 0x3f);
        [self.event, flags, d0, d1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_and_event_codes() {
        let all: String = (0..16)
            .map(|e| Digit::from_event(e).unwrap().as_char())
            .collect();
        assert_eq!(all, "0123456789*#ABCD");
        assert_eq!(Digit::from_char('#').map(Digit::event), Some(11));
        assert_eq!(Digit::from_char('d').map(Digit::event), Some(15));
        assert_eq!(Digit::from_char('E'), None);
        assert_eq!(Digit::from_char('é'), None);
        assert_eq!(Digit::from_event(16), None);
        assert_eq!(Digit::from_char('*').unwrap().to_string(), "*");
    }

    #[test]
    fn payload_round_trips_and_ignores_the_reserved_bit() {
        let e = TelephoneEvent {
            event: 11,
            end: true,
            volume: 10,
            duration: 1280,
        };
        assert_eq!(e.to_bytes(), [11, 0x8a, 0x05, 0x00]);
        assert_eq!(TelephoneEvent::parse(&e.to_bytes()).unwrap(), e);
        assert_eq!(TelephoneEvent::parse(&[11, 0xca, 5, 0]).unwrap(), e);
        for bad in [&[][..], &[1, 2, 3][..], &[1, 2, 3, 4, 5][..]] {
            assert!(matches!(
                TelephoneEvent::parse(bad),
                Err(MediaError::MalformedTelephoneEvent { .. })
            ));
        }
    }
}
