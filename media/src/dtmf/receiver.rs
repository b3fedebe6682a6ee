//! The receiving half of RFC 4733 §2.5.2: telephone-event packets, lost, duplicated or
//! reordered, become one `Started` and one `Ended` per key press.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::error::MediaError;
use crate::rtp::RtpPacket;
use crate::types::{RtpTime, Ssrc};

use super::{Digit, TelephoneEvent};

/// How long after its last packet an event with no end report is taken as ended: five reports
/// at the RFC's suggested 50 ms interval may be lost before a held key is cut short.
pub const DEFAULT_END_TIMEOUT: Duration = Duration::from_millis(250);

/// Events kept for [`DtmfReceiver::poll_event`]; a caller that drains after each call never
/// has more than three waiting.
const MAX_PENDING: usize = 32;

/// A key press as the receiver saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfEvent {
    /// The first packet of a key press arrived (whichever of its packets that was).
    Started {
        /// The key.
        digit: Digit,
        /// The event's RTP timestamp: when the key went down, on the sender's clock.
        timestamp: u32,
    },
    /// The key press is over. Follows its `Started`, once.
    Ended {
        /// The key.
        digit: Digit,
        /// How long the key was held, as the latest report said.
        duration: Duration,
        /// What told us it ended.
        reason: DtmfEnd,
    },
}

/// What ended a key press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfEnd {
    /// A report with the end bit.
    EndPacket,
    /// A newer event began before any end report arrived.
    NextEvent,
    /// No packet of the event for the end timeout.
    Timeout,
    /// The stream's SSRC changed.
    StreamChanged,
}

/// The event being received: its first timestamp and the segment now being reported.
#[derive(Debug, Clone, Copy)]
struct Active {
    digit: Digit,
    /// Timestamp of the segment now being reported (§2.5.1.3: a long event is split into
    /// segments of 0xFFFF ticks, each with its own timestamp).
    segment_ts: RtpTime,
    /// Ticks of the segments before this one.
    earlier_segments: u64,
    /// Largest duration reported for this segment (reports may arrive out of order).
    duration: u16,
    last_arrival: Instant,
}

/// Turns telephone-event packets into key presses.
///
/// Feed it every packet of the negotiated telephone-event payload type with its arrival time,
/// call [`DtmfReceiver::handle_timeout`] when [`DtmfReceiver::poll_timeout`] says, and after
/// every `handle_*` drain [`DtmfReceiver::poll_event`] until it returns `None`.
///
/// An event is known by its timestamp. A packet with the timestamp of the event in progress
/// updates it; one with an older timestamp (a duplicate, a retransmitted end report, a late
/// packet of an earlier event) is dropped; a newer one starts the next event, ending the one in
/// progress if its end reports were all lost. Timestamps compare modulo 2^32, so the stream's
/// timestamp may wrap. Events outside 0-15 (flash, tones) are counted and ignored.
#[derive(Debug, Clone)]
pub struct DtmfReceiver {
    payload_type: u8,
    clock_rate: u32,
    end_timeout: Duration,
    ssrc: Option<Ssrc>,
    active: Option<Active>,
    /// Timestamp of the newest event seen on this SSRC, in progress or ended.
    newest: Option<RtpTime>,
    events: VecDeque<DtmfEvent>,
    latest_now: Option<Instant>,
    stale_packets: u64,
    ignored_packets: u64,
    dropped_events: u64,
}

impl DtmfReceiver {
    /// A receiver for `payload_type` with an 8000 Hz clock and [`DEFAULT_END_TIMEOUT`].
    pub fn new(payload_type: u8) -> DtmfReceiver {
        DtmfReceiver {
            payload_type,
            clock_rate: crate::types::G711_CLOCK_RATE,
            end_timeout: DEFAULT_END_TIMEOUT,
            ssrc: None,
            active: None,
            newest: None,
            events: VecDeque::new(),
            latest_now: None,
            stale_packets: 0,
            ignored_packets: 0,
            dropped_events: 0,
        }
    }

    /// The same receiver ending unfinished events after `timeout` without a packet (at least
    /// 20 ms).
    pub fn with_end_timeout(mut self, timeout: Duration) -> Result<DtmfReceiver, MediaError> {
        if timeout < Duration::from_millis(20) {
            return Err(MediaError::InvalidArgument {
                name: "end_timeout",
                reason: "must be at least 20 ms",
            });
        }
        self.end_timeout = timeout;
        Ok(self)
    }

    /// Packets dropped as duplicates or as late packets of events already over.
    pub fn stale_packets(&self) -> u64 {
        self.stale_packets
    }

    /// Packets of events other than the sixteen DTMF keys.
    pub fn ignored_packets(&self) -> u64 {
        self.ignored_packets
    }

    /// Events lost because the caller did not drain [`Self::poll_event`].
    pub fn dropped_events(&self) -> u64 {
        self.dropped_events
    }

    /// Takes one telephone-event packet that arrived at `arrival`.
    pub fn handle_packet(
        &mut self,
        packet: &RtpPacket<'_>,
        arrival: Instant,
    ) -> Result<(), MediaError> {
        if packet.payload_type != self.payload_type {
            return Err(MediaError::InvalidArgument {
                name: "packet",
                reason: "payload type is not the negotiated telephone-event type",
            });
        }
        let report = TelephoneEvent::parse(packet.payload)?;
        let now = self.clamp(arrival);
        if self.ssrc != Some(packet.ssrc) {
            if self.ssrc.is_some() {
                self.finish(DtmfEnd::StreamChanged);
            }
            self.ssrc = Some(packet.ssrc);
            self.newest = None;
        }
        let Some(digit) = Digit::from_event(report.event) else {
            self.ignored_packets += 1;
            return Ok(());
        };
        let ts = RtpTime::new(packet.timestamp, self.clock_rate);
        match (self.active.as_mut(), self.newest) {
            (Some(a), _) if a.segment_ts == ts && a.digit == digit => {
                a.duration = a.duration.max(report.duration);
                a.last_arrival = now;
            }
            (_, Some(newest)) if ts.since(newest) <= 0 => {
                self.stale_packets += 1;
                return Ok(());
            }
            (Some(a), _) if a.digit == digit && !packet.marker && continues(a, ts) => {
                a.earlier_segments += u64::from(u16::MAX);
                a.segment_ts = ts;
                a.duration = report.duration;
                a.last_arrival = now;
                self.newest = Some(ts);
            }
            _ => {
                self.finish(DtmfEnd::NextEvent);
                self.push(DtmfEvent::Started {
                    digit,
                    timestamp: ts.ticks(),
                });
                self.active = Some(Active {
                    digit,
                    segment_ts: ts,
                    earlier_segments: 0,
                    duration: report.duration,
                    last_arrival: now,
                });
                self.newest = Some(ts);
            }
        }
        if report.end {
            self.finish(DtmfEnd::EndPacket);
        }
        Ok(())
    }

    /// Ends an event whose packets stopped without an end report.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clamp(now);
        if self.poll_timeout().is_some_and(|deadline| now >= deadline) {
            self.finish(DtmfEnd::Timeout);
        }
    }

    /// When [`Self::handle_timeout`] should next be called, if an event is in progress.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.active.map(|a| a.last_arrival + self.end_timeout)
    }

    /// The next key press event, oldest first.
    pub fn poll_event(&mut self) -> Option<DtmfEvent> {
        self.events.pop_front()
    }

    fn finish(&mut self, reason: DtmfEnd) {
        if let Some(a) = self.active.take() {
            let ticks = a.earlier_segments + u64::from(a.duration);
            self.push(DtmfEvent::Ended {
                digit: a.digit,
                duration: RtpTime::duration_of(ticks, self.clock_rate),
                reason,
            });
        }
    }

    fn push(&mut self, event: DtmfEvent) {
        if self.events.len() >= MAX_PENDING {
            self.events.pop_front();
            self.dropped_events += 1;
        }
        self.events.push_back(event);
    }

    /// Time going backwards is ignored, not trusted.
    fn clamp(&mut self, now: Instant) -> Instant {
        let now = self.latest_now.map_or(now, |l| l.max(now));
        self.latest_now = Some(now);
        now
    }
}

/// Whether `ts` opens the next segment of a long event (§2.5.1.3): the previous segment was a
/// full 0xFFFF ticks, so the next one starts that far after it.
fn continues(a: &Active, ts: RtpTime) -> bool {
    ts.since(a.segment_ts) == i64::from(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::super::{DtmfPacket, DtmfSender};
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const PT: u8 = 101;

    /// Packets of one key press as the sender makes them, with their send times.
    fn press(key: char, held: Duration, ts: u32, t0: Instant) -> Vec<(Instant, DtmfPacket)> {
        let mut s = DtmfSender::new(PT, 20 * MS).unwrap();
        s.start(
            Digit::from_char(key).unwrap(),
            held,
            RtpTime::new(ts, 8000),
            t0,
        )
        .unwrap();
        let mut out = Vec::new();
        while let Some(at) = s.poll_timeout() {
            while let Some(p) = s.poll_transmit(at) {
                out.push((at, p));
            }
        }
        out
    }

    fn feed(r: &mut DtmfReceiver, packets: &[(Instant, DtmfPacket)]) -> Vec<DtmfEvent> {
        let mut events = Vec::new();
        for (at, p) in packets {
            let payload = p.payload();
            let packet = RtpPacket {
                ssrc: Ssrc(42),
                seq: 0,
                timestamp: p.timestamp,
                payload_type: p.payload_type,
                marker: p.marker,
                payload: &payload,
            };
            r.handle_packet(&packet, *at).unwrap();
            events.extend(std::iter::from_fn(|| r.poll_event()));
        }
        events
    }

    fn digits(events: &[DtmfEvent]) -> String {
        let mut s = String::new();
        for e in events {
            match e {
                DtmfEvent::Started { digit, .. } => s.push_str(&format!("+{digit}")),
                DtmfEvent::Ended { digit, .. } => s.push_str(&format!("-{digit}")),
            }
        }
        s
    }

    fn ended(e: &DtmfEvent) -> (Duration, DtmfEnd) {
        match e {
            DtmfEvent::Ended {
                duration, reason, ..
            } => (*duration, *reason),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_clean_press_is_one_start_and_one_end() {
        let t0 = crate::test_epoch();
        let mut r = DtmfReceiver::new(PT);
        let ev = feed(&mut r, &press('7', 100 * MS, 1000, t0));
        assert_eq!(digits(&ev), "+7-7");
        assert_eq!(
            ev[0],
            DtmfEvent::Started {
                digit: Digit::from_char('7').unwrap(),
                timestamp: 1000
            }
        );
        assert_eq!(ended(&ev[1]), (100 * MS, DtmfEnd::EndPacket));
        assert_eq!(r.stale_packets(), 2, "the two repeated end reports");
        assert_eq!(r.poll_timeout(), None);
    }

    #[test]
    fn losing_the_first_packets_still_reports_the_press() {
        let t0 = crate::test_epoch();
        let mut r = DtmfReceiver::new(PT);
        let packets = press('3', 100 * MS, 0, t0);
        let ev = feed(&mut r, &packets[2..]);
        assert_eq!(digits(&ev), "+3-3");
        assert_eq!(ended(&ev[1]).0, 100 * MS);
        // Only the end reports survived.
        let mut r = DtmfReceiver::new(PT);
        assert_eq!(digits(&feed(&mut r, &packets[5..])), "+3-3");
    }

    #[test]
    fn lost_end_reports_end_the_press_on_timeout() {
        let t0 = crate::test_epoch();
        let mut r = DtmfReceiver::new(PT);
        let packets = press('9', 200 * MS, 0, t0);
        let without_ends: Vec<_> = packets
            .iter()
            .filter(|(_, p)| !p.event.end)
            .copied()
            .collect();
        let last = without_ends.last().unwrap().0;
        assert_eq!(digits(&feed(&mut r, &without_ends)), "+9");
        let deadline = r.poll_timeout().unwrap();
        assert_eq!(deadline, last + DEFAULT_END_TIMEOUT);
        r.handle_timeout(deadline - MS);
        assert_eq!(r.poll_event(), None, "not before the deadline");
        r.handle_timeout(deadline);
        let e = r.poll_event().unwrap();
        assert_eq!(ended(&e), (180 * MS, DtmfEnd::Timeout));
        assert_eq!(r.poll_event(), None);
        // The end reports arriving after the timeout do not report the press again.
        let ends: Vec<_> = packets
            .iter()
            .filter(|(_, p)| p.event.end)
            .copied()
            .collect();
        assert_eq!(feed(&mut r, &ends), []);
    }

    #[test]
    fn lost_end_reports_end_the_press_when_the_next_begins() {
        let t0 = crate::test_epoch();
        let mut r = DtmfReceiver::new(PT);
        let mut stream: Vec<_> = press('1', 100 * MS, 0, t0)
            .into_iter()
            .filter(|(_, p)| !p.event.end)
            .collect();
        stream.extend(press('2', 100 * MS, 1600, t0 + 200 * MS));
        let ev = feed(&mut r, &stream);
        assert_eq!(digits(&ev), "+1-1+2-2");
        assert_eq!(ended(&ev[1]), (80 * MS, DtmfEnd::NextEvent));
        assert_eq!(ended(&ev[3]).1, DtmfEnd::EndPacket);
    }

    #[test]
    fn duplicates_and_reordering_report_each_press_once() {
        let t0 = crate::test_epoch();
        let mut r = DtmfReceiver::new(PT);
        let a = press('4', 100 * MS, 0, t0);
        let b = press('4', 60 * MS, 2000, t0 + 300 * MS);
        // Every packet twice, the first press's end before its middle, a late packet of the
        // first press arriving during the second.
        let mut stream = vec![a[0], a[0], a[1], a[4], a[2], a[3], a[5], a[4], a[6]];
        stream.extend([b[0], a[3], b[1], b[1], b[2], b[3], b[4], b[2]]);
        let ev = feed(&mut r, &stream);
        assert_eq!(digits(&ev), "+4-4+4-4", "the same key twice is two presses");
        assert_eq!(ended(&ev[1]), (100 * MS, DtmfEnd::EndPacket));
        assert_eq!(ended(&ev[3]), (60 * MS, DtmfEnd::EndPacket));
    }

    #[test]
    fn timestamps_wrap() {
        let t0 = crate::test_epoch();
        let mut r = DtmfReceiver::new(PT);
        let mut stream = press('*', 100 * MS, u32::MAX - 500, t0);
        stream.extend(press('#', 100 * MS, 1100, t0 + 200 * MS));
        // A stale duplicate from before the wrap, after the wrap.
        stream.push(stream[6]);
        let ev = feed(&mut r, &stream);
        assert_eq!(digits(&ev), "+*-*+#-#");
        assert_eq!(r.stale_packets(), 5);
    }

    #[test]
    fn a_long_press_in_segments_is_one_press() {
        let t0 = crate::test_epoch();
        let mut r = DtmfReceiver::new(PT);
        let seg = |ts: u32, marker: bool, duration: u16, end: bool, at: u32| {
            (
                t0 + at * MS,
                DtmfPacket {
                    payload_type: PT,
                    marker,
                    timestamp: ts,
                    event: TelephoneEvent {
                        event: 0,
                        end,
                        volume: 10,
                        duration,
                    },
                },
            )
        };
        let second = 100u32.wrapping_add(65_535);
        let stream = [
            seg(100, true, 400, false, 0),
            seg(100, false, 65_535, false, 8190),
            seg(second, false, 400, false, 8240),
            seg(second, false, 800, true, 8290),
        ];
        let ev = feed(&mut r, &stream);
        assert_eq!(digits(&ev), "+0-0");
        assert_eq!(ended(&ev[1]).0, RtpTime::duration_of(65_535 + 800, 8000));
    }

    #[test]
    fn other_events_ssrc_changes_and_bad_payloads() {
        let t0 = crate::test_epoch();
        let mut r = DtmfReceiver::new(PT);
        let flash = [16u8, 0x0a, 0, 160];
        let mut packet = RtpPacket {
            ssrc: Ssrc(1),
            seq: 0,
            timestamp: 0,
            payload_type: PT,
            marker: true,
            payload: &flash,
        };
        r.handle_packet(&packet, t0).unwrap();
        assert_eq!((r.poll_event(), r.ignored_packets()), (None, 1));
        let five = [5u8, 0x0a, 0, 160];
        packet.payload = &five;
        r.handle_packet(&packet, t0).unwrap();
        assert!(matches!(r.poll_event(), Some(DtmfEvent::Started { .. })));
        packet.ssrc = Ssrc(2);
        packet.timestamp = 0;
        r.handle_packet(&packet, t0 + MS).unwrap();
        assert_eq!(ended(&r.poll_event().unwrap()).1, DtmfEnd::StreamChanged);
        assert!(matches!(r.poll_event(), Some(DtmfEvent::Started { .. })));
        packet.payload = &five[..3];
        assert!(matches!(
            r.handle_packet(&packet, t0),
            Err(MediaError::MalformedTelephoneEvent { len: 3 })
        ));
        packet.payload = &five;
        packet.payload_type = 0;
        assert!(r.handle_packet(&packet, t0).is_err());
        assert!(DtmfReceiver::new(PT).with_end_timeout(MS).is_err());
    }

    #[test]
    fn undrained_events_are_bounded_and_counted() {
        let t0 = crate::test_epoch();
        let mut r = DtmfReceiver::new(PT);
        for i in 0..40u32 {
            let payload = [1u8, 0x8a, 0, 160];
            let packet = RtpPacket {
                ssrc: Ssrc(1),
                seq: 0,
                timestamp: i * 1000,
                payload_type: PT,
                marker: true,
                payload: &payload,
            };
            r.handle_packet(&packet, t0).unwrap();
        }
        assert_eq!(r.dropped_events(), 80 - MAX_PENDING as u64);
        assert_eq!(std::iter::from_fn(|| r.poll_event()).count(), MAX_PENDING);
    }

    /// Seeded network: loss, duplicates and jitter-reordering on a run of presses. Every press
    /// of which one packet got through is reported, once, in order, Started before Ended.
    #[test]
    fn lossy_network_reports_each_press_exactly_once() {
        use rand::{Rng, SeedableRng};
        let t0 = crate::test_epoch();
        for seed in 0..300u64 {
            let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
            let keys = "0123456789*#ABCD";
            let mut start = t0;
            let mut ts = rng.gen::<u32>();
            let mut arrivals = Vec::new();
            let mut expected = String::new();
            for n in 0..6 {
                let key = keys.as_bytes()[rng.gen_range(0..16)] as char;
                let held = rng.gen_range(40..400) * MS;
                let mut delivered = false;
                for (at, p) in press(key, held, ts, start) {
                    if rng.gen_bool(0.25) {
                        continue;
                    }
                    delivered = true;
                    let copies = if rng.gen_bool(0.1) { 2 } else { 1 };
                    for _ in 0..copies {
                        arrivals.push((at + rng.gen_range(0..40) * MS, n, p));
                    }
                }
                if delivered {
                    expected.push_str(&format!("+{key}-{key}"));
                }
                // Next key: held time, three end reports, then a gap.
                let gap = held + rng.gen_range(100..300) * MS;
                ts = ts.wrapping_add(RtpTime::ticks_in(gap, 8000) as u32);
                start += gap;
            }
            arrivals.sort_by_key(|(at, n, _)| (*at, *n));
            let mut r = DtmfReceiver::new(PT);
            let mut events = Vec::new();
            for (at, _, p) in arrivals {
                while let Some(deadline) = r.poll_timeout().filter(|d| *d <= at) {
                    r.handle_timeout(deadline);
                    events.extend(std::iter::from_fn(|| r.poll_event()));
                }
                events.extend(feed(&mut r, &[(at, p)]));
            }
            if let Some(deadline) = r.poll_timeout() {
                r.handle_timeout(deadline);
                events.extend(std::iter::from_fn(|| r.poll_event()));
            }
            assert_eq!(digits(&events), expected, "seed {seed}");
            assert_eq!(r.poll_timeout(), None, "seed {seed}");
        }
    }
}
