//! The sending half of RFC 4733 §2.5.1: one key press becomes a train of packets with the
//! event's start timestamp, the marker bit on the first, a duration that grows each interval,
//! and the final report sent three times with the end bit.

use std::time::{Duration, Instant};

use crate::error::MediaError;
use crate::types::RtpTime;

use super::{Digit, TelephoneEvent};

/// How often the report is repeated while the key is down: RFC 4733 suggests 50 ms, or the
/// audio's packet interval (20 ms for us).
const INTERVAL_BOUNDS: (Duration, Duration) =
    (Duration::from_millis(10), Duration::from_millis(100));

/// Times the final report is sent (§2.5.1.4).
const END_REPORTS: u32 = 3;

/// One packet to send: the caller gives it the audio stream's SSRC and next sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPacket {
    /// The negotiated telephone-event payload type.
    pub payload_type: u8,
    /// Set on the first packet of the event only.
    pub marker: bool,
    /// The event's start, the same on every packet of it.
    pub timestamp: u32,
    /// The event report.
    pub event: TelephoneEvent,
}

impl DtmfPacket {
    /// The 4-byte payload.
    pub fn payload(&self) -> [u8; 4] {
        self.event.to_bytes()
    }
}

/// Sends one key press at a time as telephone-events.
///
/// Call [`DtmfSender::start`], then [`DtmfSender::poll_transmit`] until it returns `None` each
/// time `now` reaches [`DtmfSender::poll_timeout`]. Packet `k` of an event is due `k` intervals
/// after its start and reports the duration up to the end of its interval, as an audio packet
/// carries the samples of its interval; the report that reaches the full duration carries the
/// end bit and is sent three times, an interval apart. The caller should hold back audio while
/// an event is being sent (§2.5.1.2).
#[derive(Debug, Clone)]
pub struct DtmfSender {
    payload_type: u8,
    volume: u8,
    interval: Duration,
    clock_rate: u32,
    sending: Option<Sending>,
}

#[derive(Debug, Clone)]
struct Sending {
    digit: Digit,
    timestamp: RtpTime,
    started: Instant,
    /// Full duration in ticks.
    total: u16,
    /// Ticks per interval.
    step: u64,
    /// Index of the first packet that reports the full duration.
    last_regular: u32,
    /// Index of the next packet to send.
    next: u32,
    marker_sent: bool,
}

impl DtmfSender {
    /// A sender using `payload_type`, repeating every `interval` (10 to 100 ms), at 8000 Hz and
    /// volume -10 dBm0.
    pub fn new(payload_type: u8, interval: Duration) -> Result<DtmfSender, MediaError> {
        if payload_type > 127 {
            return Err(MediaError::InvalidArgument {
                name: "payload_type",
                reason: "must be 0..=127",
            });
        }
        if interval < INTERVAL_BOUNDS.0 || interval > INTERVAL_BOUNDS.1 {
            return Err(MediaError::InvalidArgument {
                name: "interval",
                reason: "must be 10..=100 ms",
            });
        }
        Ok(DtmfSender {
            payload_type,
            volume: 10,
            interval,
            clock_rate: crate::types::G711_CLOCK_RATE,
            sending: None,
        })
    }

    /// The same sender at another volume, in -dBm0 (0 loudest, 63 quietest).
    pub fn with_volume(mut self, volume: u8) -> Result<DtmfSender, MediaError> {
        if volume > 63 {
            return Err(MediaError::InvalidArgument {
                name: "volume",
                reason: "must be 0..=63 (-dBm0)",
            });
        }
        self.volume = volume;
        Ok(self)
    }

    /// Whether an event is still being sent.
    pub fn is_sending(&self) -> bool {
        self.sending.is_some()
    }

    /// Starts sending `digit` held for `duration`, beginning at RTP time `timestamp` (the
    /// audio stream's clock at `now`). Refused while another event is being sent, and for a
    /// duration that is zero or longer than one 16-bit duration field (8.19 s at 8 kHz).
    pub fn start(
        &mut self,
        digit: Digit,
        duration: Duration,
        timestamp: RtpTime,
        now: Instant,
    ) -> Result<(), MediaError> {
        if self.sending.is_some() {
            return Err(MediaError::InvalidArgument {
                name: "digit",
                reason: "the previous event is still being sent; wait until is_sending() is false",
            });
        }
        let total = RtpTime::ticks_in(duration, self.clock_rate);
        let total =
            u16::try_from(total)
                .ok()
                .filter(|&t| t > 0)
                .ok_or(MediaError::InvalidArgument {
                    name: "duration",
                    reason: "must be at least one tick and at most 65535 ticks (8.19 s at 8 kHz)",
                })?;
        let step = RtpTime::ticks_in(self.interval, self.clock_rate).max(1);
        // The first packet k with (k + 1) * step >= total.
        let last_regular = u32::try_from(u64::from(total).div_ceil(step) - 1).unwrap_or(0);
        self.sending = Some(Sending {
            digit,
            timestamp,
            started: now,
            total,
            step,
            last_regular,
            next: 0,
            marker_sent: false,
        });
        Ok(())
    }

    /// When the next packet is due, if an event is being sent.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let s = self.sending.as_ref()?;
        Some(s.started + self.interval * s.next)
    }

    /// The next packet due at `now`, if any. A caller that polls late gets the newest report
    /// rather than every one it missed, but always all three end reports.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<DtmfPacket> {
        let due = self.poll_timeout()?;
        if now < due {
            return None;
        }
        let elapsed = now.duration_since(self.sending.as_ref()?.started);
        let intervals_passed =
            u32::try_from(elapsed.as_nanos() / self.interval.as_nanos().max(1)).unwrap_or(u32::MAX);
        let s = self.sending.as_mut()?;
        let k = if s.next < s.last_regular {
            intervals_passed.clamp(s.next, s.last_regular)
        } else {
            s.next
        };
        let end = k >= s.last_regular;
        let duration = if end {
            s.total
        } else {
            // Below the total, so it fits in 16 bits.
            u16::try_from(u64::from(k + 1) * s.step).unwrap_or(s.total)
        };
        let packet = DtmfPacket {
            payload_type: self.payload_type,
            marker: !s.marker_sent,
            timestamp: s.timestamp.ticks(),
            event: TelephoneEvent {
                event: s.digit.event(),
                end,
                volume: self.volume,
                duration,
            },
        };
        s.marker_sent = true;
        s.next = k + 1;
        if s.next >= s.last_regular + END_REPORTS {
            self.sending = None;
        }
        Some(packet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn drain(s: &mut DtmfSender, t0: Instant) -> Vec<(u64, DtmfPacket)> {
        let mut out = Vec::new();
        while let Some(at) = s.poll_timeout() {
            while let Some(p) = s.poll_transmit(at) {
                out.push(((at - t0).as_millis() as u64, p));
            }
        }
        out
    }

    #[test]
    fn a_key_press_is_the_rfc_packet_train() {
        let t0 = crate::test_epoch();
        let mut s = DtmfSender::new(101, 20 * MS).unwrap();
        let five = Digit::from_char('5').unwrap();
        s.start(five, 100 * MS, RtpTime::new(4000, 8000), t0)
            .unwrap();
        assert!(s.start(five, 100 * MS, RtpTime::new(0, 8000), t0).is_err());
        let train = drain(&mut s, t0);
        let summary: Vec<(u64, bool, u16, bool)> = train
            .iter()
            .map(|(t, p)| (*t, p.marker, p.event.duration, p.event.end))
            .collect();
        assert_eq!(
            summary,
            [
                (0, true, 160, false),
                (20, false, 320, false),
                (40, false, 480, false),
                (60, false, 640, false),
                (80, false, 800, true),
                (100, false, 800, true),
                (120, false, 800, true),
            ]
        );
        for (_, p) in &train {
            assert_eq!(p.timestamp, 4000);
            assert_eq!(p.payload_type, 101);
            assert_eq!(p.event.event, 5);
            assert_eq!(p.payload()[1] & 0x3f, 10);
        }
        assert!(!s.is_sending());
        assert_eq!(s.poll_transmit(t0 + 1000 * MS), None);
    }

    #[test]
    fn fifty_ms_interval_and_a_duration_between_steps() {
        let t0 = crate::test_epoch();
        let mut s = DtmfSender::new(96, 50 * MS)
            .unwrap()
            .with_volume(3)
            .unwrap();
        s.start(
            Digit::from_char('#').unwrap(),
            120 * MS,
            RtpTime::new(u32::MAX - 10, 8000),
            t0,
        )
        .unwrap();
        let d: Vec<(u64, u16, bool)> = drain(&mut s, t0)
            .iter()
            .map(|(t, p)| (*t, p.event.duration, p.event.end))
            .collect();
        assert_eq!(
            d,
            [
                (0, 400, false),
                (50, 800, false),
                (100, 960, true),
                (150, 960, true),
                (200, 960, true)
            ]
        );
    }

    #[test]
    fn a_late_poll_skips_stale_reports_but_not_the_ends() {
        let t0 = crate::test_epoch();
        let mut s = DtmfSender::new(101, 20 * MS).unwrap();
        s.start(
            Digit::from_char('1').unwrap(),
            200 * MS,
            RtpTime::new(0, 8000),
            t0,
        )
        .unwrap();
        assert_eq!(
            s.poll_transmit(t0 - MS),
            None,
            "time before the start sends nothing"
        );
        let first = s.poll_transmit(t0 + 65 * MS).unwrap();
        assert!(first.marker);
        assert_eq!(
            first.event.duration,
            4 * 160,
            "newest report, not the first"
        );
        assert_eq!(s.poll_transmit(t0 + 65 * MS), None);
        let mut ends = Vec::new();
        while let Some(p) = s.poll_transmit(t0 + 10_000 * MS) {
            ends.push(p);
        }
        assert_eq!(ends.len(), 3);
        assert!(ends
            .iter()
            .all(|p| p.event.end && p.event.duration == 1600 && !p.marker));
    }

    #[test]
    fn bounds_are_enforced() {
        let t0 = crate::test_epoch();
        assert!(DtmfSender::new(128, 20 * MS).is_err());
        assert!(DtmfSender::new(101, 5 * MS).is_err());
        assert!(DtmfSender::new(101, 101 * MS).is_err());
        assert!(DtmfSender::new(101, 20 * MS)
            .unwrap()
            .with_volume(64)
            .is_err());
        let mut s = DtmfSender::new(101, 20 * MS).unwrap();
        let d = Digit::from_char('0').unwrap();
        let ts = RtpTime::new(0, 8000);
        assert!(s.start(d, Duration::ZERO, ts, t0).is_err());
        assert!(s.start(d, Duration::from_secs(9), ts, t0).is_err());
        assert!(s.start(d, Duration::from_micros(8_191_875), ts, t0).is_ok());
    }

    #[test]
    fn a_press_shorter_than_one_interval_is_three_end_reports() {
        let t0 = crate::test_epoch();
        let mut s = DtmfSender::new(101, 50 * MS).unwrap();
        s.start(
            Digit::from_char('9').unwrap(),
            40 * MS,
            RtpTime::new(0, 8000),
            t0,
        )
        .unwrap();
        let train = drain(&mut s, t0);
        assert_eq!(train.len(), 3);
        assert!(train[0].1.marker && train.iter().all(|(_, p)| p.event.end));
        assert!(train.iter().all(|(_, p)| p.event.duration == 320));
    }
}
