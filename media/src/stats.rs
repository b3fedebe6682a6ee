//! RFC 3550 receive statistics, a sink fed `(packet, arrival)`: sequence validation (A.1), loss
//! (A.3) and interarrival jitter (A.8).

use std::time::{Duration, Instant};

use crate::rtp::{self, RtpPacket};
use crate::types::{RtpTime, SeqNo, Ssrc};

/// A jump forward of at least this many packets is not trusted until confirmed (RFC 3550 A.1).
pub const MAX_DROPOUT: u16 = 3000;
/// A packet up to this many behind the highest is taken as late or duplicated (RFC 3550 A.1).
pub const MAX_MISORDER: u16 = 100;
/// Sequential packets needed before a new source is believed (RFC 3550 A.1).
pub const MIN_SEQUENTIAL: u32 = 2;

const SEQ_MOD: u64 = 1 << 16;

/// What [`ReceiveStats`] made of one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// In sequence (or late but new): counted as received.
    Accepted,
    /// The source is still on probation (A.1): not counted as received yet.
    Probation,
    /// Already received (within the last 128 sequence numbers): counted only as a duplicate.
    Duplicate,
    /// A jump outside the dropout/misorder window, not yet confirmed by a following packet.
    Rejected,
    /// Not an RTP packet.
    Malformed,
}

/// The fields of an RTCP receiver report block (RFC 3550 §6.4.1) for the current source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock {
    /// The source reported on.
    pub ssrc: Ssrc,
    /// Packets lost since the previous report, as a fraction of 256 (A.3).
    pub fraction_lost: u8,
    /// Cumulative packets lost, clamped to 24-bit signed as on the wire.
    pub cumulative_lost: i32,
    /// Highest sequence number received, with the wrap count in the upper 16 bits.
    pub extended_highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
}

/// Per-source state of RFC 3550 Appendix A.1, plus a duplicate window.
#[derive(Debug, Clone)]
struct Source {
    ssrc: Ssrc,
    max_seq: u16,
    cycles: u64,
    base_seq: u64,
    bad_seq: u64,
    probation: u32,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Bit i set: `extended max - i` was received.
    seen: u128,
    /// Relative transit time of the previous packet, in timestamp units (A.8).
    transit: Option<u32>,
    /// Expected and received counts from before the sender restarted its numbering.
    restarted_expected: u64,
    restarted_received: u64,
}

impl Source {
    /// `init_seq` followed by the probation set-up of A.1's caller.
    fn new(ssrc: Ssrc, seq: u16) -> Source {
        let mut s = Source {
            ssrc,
            max_seq: seq,
            cycles: 0,
            base_seq: 0,
            bad_seq: SEQ_MOD + 1,
            probation: MIN_SEQUENTIAL,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            seen: 0,
            transit: None,
            restarted_expected: 0,
            restarted_received: 0,
        };
        s.init_seq(seq);
        s.max_seq = seq.wrapping_sub(1);
        s
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u64::from(seq);
        self.max_seq = seq;
        self.bad_seq = SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
        self.seen = 1;
    }

    fn extended_max(&self) -> u64 {
        self.cycles + u64::from(self.max_seq)
    }

    /// Expected since the last (re)start of the numbering.
    fn expected(&self) -> u64 {
        if self.probation > 0 {
            return 0;
        }
        (self.extended_max() + 1).saturating_sub(self.base_seq)
    }

    fn total_expected(&self) -> u64 {
        self.restarted_expected + self.expected()
    }

    fn total_received(&self) -> u64 {
        self.restarted_received + self.received
    }

    /// `update_seq` of A.1, with duplicate detection over the last 128 sequence numbers.
    fn update_seq(&mut self, seq: u16) -> Verdict {
        let udelta = seq.wrapping_sub(self.max_seq);
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return Verdict::Accepted;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return Verdict::Probation;
        }
        if udelta == 0 {
            return Verdict::Duplicate;
        }
        if udelta < MAX_DROPOUT {
            // In order, with a permissible gap.
            if seq < self.max_seq {
                self.cycles += SEQ_MOD;
            }
            self.max_seq = seq;
            self.seen = if udelta >= 128 {
                0
            } else {
                self.seen << udelta
            } | 1;
        } else if u64::from(udelta) <= SEQ_MOD - u64::from(MAX_MISORDER) {
            // A very large jump: believe it only if the next packet follows it.
            if u64::from(seq) == self.bad_seq {
                self.restarted_expected += self.expected();
                self.restarted_received += self.received;
                self.init_seq(seq);
            } else {
                self.bad_seq = u64::from(seq.wrapping_add(1));
                return Verdict::Rejected;
            }
        } else {
            // Late (reordered) or duplicated.
            let behind = self.max_seq.wrapping_sub(seq);
            if behind < 128 {
                let bit = 1u128 << behind;
                if self.seen & bit != 0 {
                    return Verdict::Duplicate;
                }
                self.seen |= bit;
            }
        }
        self.received += 1;
        Verdict::Accepted
    }
}

/// Receive statistics of one leg, fed every datagram with its arrival time.
///
/// Follows RFC 3550 Appendix A: a new source is on probation until [`MIN_SEQUENTIAL`] packets
/// arrive in sequence (probation packets count in [`packets`](Self::packets) but not in
/// [`received`](Self::received)); loss is expected minus received; jitter is the A.8 estimator.
/// One deviation: duplicates caught by a 128-packet window are not counted as received, so they
/// cannot make the loss negative.
///
/// A change of SSRC (the far end restarted its stream) starts a new source; the loss and
/// expected counts of earlier sources are kept in the totals, the jitter estimate carries on.
#[derive(Debug, Clone)]
pub struct ReceiveStats {
    clock_rate: u32,
    source: Option<Source>,
    jitter: f64,
    epoch: Option<Instant>,
    last_arrival: Option<Instant>,
    packets: u64,
    payload_bytes: u64,
    duplicates: u64,
    rejected: u64,
    malformed: u64,
    ssrc_changes: u64,
    prior_expected: u64,
    prior_received: u64,
}

impl ReceiveStats {
    /// Empty statistics for a stream whose timestamps count at `clock_rate` Hz (8000 for G.711).
    pub fn new(clock_rate: u32) -> ReceiveStats {
        ReceiveStats {
            clock_rate: clock_rate.max(1),
            source: None,
            jitter: 0.0,
            epoch: None,
            last_arrival: None,
            packets: 0,
            payload_bytes: 0,
            duplicates: 0,
            rejected: 0,
            malformed: 0,
            ssrc_changes: 0,
            prior_expected: 0,
            prior_received: 0,
        }
    }

    /// Parses `datagram` and records it; a malformed datagram is counted and dropped.
    pub fn handle_datagram(&mut self, datagram: &[u8], arrival: Instant) -> Verdict {
        match rtp::parse(datagram) {
            Ok(p) => self.record(&p, arrival),
            Err(_) => {
                self.record_malformed();
                Verdict::Malformed
            }
        }
    }

    /// Counts a datagram that failed to parse elsewhere.
    pub fn record_malformed(&mut self) {
        self.malformed += 1;
    }

    /// Records one parsed packet that arrived at `arrival`.
    pub fn record(&mut self, packet: &RtpPacket<'_>, arrival: Instant) -> Verdict {
        self.packets += 1;
        self.payload_bytes += packet.payload.len() as u64;
        let source = match &mut self.source {
            Some(s) if s.ssrc == packet.ssrc => s,
            slot => {
                if let Some(old) = slot.as_ref() {
                    self.ssrc_changes += 1;
                    self.prior_expected += old.total_expected();
                    self.prior_received += old.total_received();
                }
                slot.insert(Source::new(packet.ssrc, packet.seq))
            }
        };
        let verdict = source.update_seq(packet.seq);
        match verdict {
            Verdict::Duplicate => self.duplicates += 1,
            Verdict::Rejected => self.rejected += 1,
            _ => {}
        }
        if matches!(verdict, Verdict::Accepted | Verdict::Probation) {
            self.update_jitter(packet.timestamp, arrival);
        }
        verdict
    }

    /// A.8: `J += (|D| - J) / 16`, with arrival converted to timestamp units.
    fn update_jitter(&mut self, timestamp: u32, arrival: Instant) {
        // Time going backwards is ignored, not trusted.
        if self.last_arrival.is_some_and(|last| arrival < last) {
            return;
        }
        self.last_arrival = Some(arrival);
        let epoch = *self.epoch.get_or_insert(arrival);
        let since = arrival.saturating_duration_since(epoch);
        // Arrival clock in timestamp units; it wraps like the timestamps do.
        let arrival_ts = RtpTime::ticks_in(since, self.clock_rate) as u32;
        let transit = arrival_ts.wrapping_sub(timestamp);
        let Some(source) = self.source.as_mut() else {
            return;
        };
        if let Some(prev) = source.transit.replace(transit) {
            let d = f64::from((transit.wrapping_sub(prev) as i32).unsigned_abs());
            self.jitter += (d - self.jitter) / 16.0;
        }
    }

    /// RFC 3550 A.3: builds a receiver report block and starts a new reporting interval.
    /// `None` until a source has been heard.
    pub fn take_report(&mut self) -> Option<ReportBlock> {
        let jitter = self.jitter();
        let cumulative_lost = self.lost().clamp(-0x80_0000, 0x7F_FFFF) as i32;
        let source = self.source.as_mut()?;
        let expected = source.expected();
        let expected_interval = expected.saturating_sub(source.expected_prior);
        source.expected_prior = expected;
        let received_interval = source.received.saturating_sub(source.received_prior);
        source.received_prior = source.received;
        let lost_interval = expected_interval.saturating_sub(received_interval);
        let fraction_lost = if expected_interval == 0 || lost_interval == 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval).min(255) as u8
        };
        Some(ReportBlock {
            ssrc: source.ssrc,
            fraction_lost,
            cumulative_lost,
            extended_highest_seq: source.extended_max() as u32,
            jitter,
        })
    }

    /// Datagrams that parsed as RTP (including probation, duplicates and rejected ones).
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Payload bytes of those datagrams.
    pub fn payload_bytes(&self) -> u64 {
        self.payload_bytes
    }

    /// Packets received in the RFC 3550 sense, over all sources.
    pub fn received(&self) -> u64 {
        self.prior_received + self.source.as_ref().map_or(0, Source::total_received)
    }

    /// Packets expected from the sequence numbers, over all sources.
    pub fn expected(&self) -> u64 {
        self.prior_expected + self.source.as_ref().map_or(0, Source::total_expected)
    }

    /// Cumulative packets lost: expected minus received (negative only if late packets beyond the
    /// duplicate window were counted twice).
    pub fn lost(&self) -> i64 {
        self.expected() as i64 - self.received() as i64
    }

    /// Lost as a fraction of expected over the whole call (0.0 when nothing was expected).
    pub fn loss_ratio(&self) -> f64 {
        match self.expected() {
            0 => 0.0,
            e => self.lost().max(0) as f64 / e as f64,
        }
    }

    /// Interarrival jitter in timestamp units.
    pub fn jitter(&self) -> u32 {
        self.jitter as u32
    }

    /// Interarrival jitter in milliseconds.
    pub fn jitter_ms(&self) -> f64 {
        self.jitter * 1000.0 / f64::from(self.clock_rate)
    }

    /// Interarrival jitter as a duration.
    pub fn jitter_duration(&self) -> Duration {
        Duration::from_secs_f64(self.jitter / f64::from(self.clock_rate))
    }

    /// Duplicates caught by the window.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Packets rejected as an unconfirmed sequence jump.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// Datagrams that were not RTP.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// How many times the SSRC changed.
    pub fn ssrc_changes(&self) -> u64 {
        self.ssrc_changes
    }

    /// The current source, if any.
    pub fn ssrc(&self) -> Option<Ssrc> {
        self.source.as_ref().map(|s| s.ssrc)
    }

    /// Highest sequence number received from the current source, extended (cycle 0 is the first).
    pub fn highest_seq(&self) -> Option<SeqNo> {
        self.source.as_ref().map(|s| SeqNo(s.extended_max()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::RtpPacket;

    const PAYLOAD: [u8; 160] = [0xFF; 160];

    fn pkt(ssrc: u32, seq: u16, ts: u32) -> RtpPacket<'static> {
        RtpPacket {
            ssrc: Ssrc(ssrc),
            seq,
            timestamp: ts,
            payload_type: 0,
            marker: false,
            payload: &PAYLOAD,
        }
    }

    /// Feeds sequence numbers `seqs` as a 20 ms stream with constant transit.
    fn feed(stats: &mut ReceiveStats, t0: Instant, seqs: impl IntoIterator<Item = u16>) {
        for seq in seqs {
            let k = u32::from(seq);
            let at = t0 + Duration::from_millis(20) * k;
            stats.record(&pkt(1, seq, 160 * k), at);
        }
    }

    #[test]
    fn clean_stream_has_no_loss() {
        let mut s = ReceiveStats::new(8000);
        feed(&mut s, crate::test_epoch(), 0..100);
        assert_eq!(s.packets(), 100);
        // The first packet is on probation (A.1).
        assert_eq!(s.received(), 99);
        assert_eq!(s.expected(), 99);
        assert_eq!(s.lost(), 0);
        assert_eq!(s.payload_bytes(), 16_000);
        assert_eq!(s.jitter(), 0);
        let r = s.take_report().expect("a source");
        assert_eq!(r.fraction_lost, 0);
        assert_eq!(r.cumulative_lost, 0);
        assert_eq!(r.extended_highest_seq, 99);
    }

    #[test]
    fn gaps_are_counted_as_loss_with_fraction() {
        let mut s = ReceiveStats::new(8000);
        let t0 = crate::test_epoch();
        feed(&mut s, t0, (0..=100).filter(|q| !(40..50).contains(q)));
        assert_eq!(s.expected(), 100);
        assert_eq!(s.lost(), 10);
        let r = s.take_report().expect("a source");
        assert_eq!(r.cumulative_lost, 10);
        assert_eq!(r.fraction_lost, (10 * 256 / 100) as u8);
        // Next interval: 21 more packets expected (101..=121), 5 lost (104, 108, ... 120).
        feed(&mut s, t0, (101..=121).filter(|q| q % 4 != 0));
        let r = s.take_report().expect("a source");
        assert_eq!(r.cumulative_lost, 15);
        assert_eq!(r.fraction_lost, (5 * 256 / 21) as u8);
        // An interval with nothing new reports zero.
        assert_eq!(s.take_report().expect("a source").fraction_lost, 0);
    }

    #[test]
    fn reordering_is_not_loss() {
        let mut s = ReceiveStats::new(8000);
        // 0, 1 (probation), then pairs swapped: 3, 2, 5, 4, ... 99, 98.
        let swapped = (1..50u16).flat_map(|p| [2 * p + 1, 2 * p]);
        feed(
            &mut s,
            crate::test_epoch(),
            [0, 1].into_iter().chain(swapped),
        );
        assert_eq!(s.lost(), 0);
        assert_eq!(s.duplicates(), 0);
        assert_eq!(s.expected(), 99);
    }

    #[test]
    fn duplicates_are_counted_not_received() {
        let mut s = ReceiveStats::new(8000);
        let t0 = crate::test_epoch();
        feed(&mut s, t0, 0..10);
        feed(&mut s, t0, [9, 5, 5]);
        assert_eq!(s.duplicates(), 3);
        assert_eq!(s.lost(), 0);
        assert_eq!(s.received(), 9);
    }

    #[test]
    fn wrap_around_at_65535() {
        let mut s = ReceiveStats::new(8000);
        let t0 = crate::test_epoch();
        let seqs = (65_500u32..65_600).map(|q| q as u16);
        for (k, seq) in seqs.enumerate() {
            let k = k as u32;
            s.record(&pkt(7, seq, 160 * k), t0 + Duration::from_millis(20) * k);
        }
        assert_eq!(s.lost(), 0);
        assert_eq!(s.expected(), 99);
        assert_eq!(s.highest_seq(), Some(SeqNo((1 << 16) + 63)));
        let r = s.take_report().expect("a source");
        assert_eq!(r.extended_highest_seq, (1 << 16) + 63);
        // A late packet from before the wrap is not a new cycle.
        s.record(&pkt(7, 65_530, 0), t0);
        assert_eq!(s.duplicates(), 1);
        assert_eq!(s.highest_seq(), Some(SeqNo((1 << 16) + 63)));
    }

    #[test]
    fn loss_across_the_wrap() {
        let mut s = ReceiveStats::new(8000);
        let t0 = crate::test_epoch();
        for seq in [65_533u16, 65_534, 65_535, 2, 3] {
            s.record(&pkt(7, seq, 0), t0);
        }
        assert_eq!(s.lost(), 2, "0 and 1 missing");
    }

    #[test]
    fn probation_restarts_on_out_of_order_start() {
        let mut s = ReceiveStats::new(8000);
        let t0 = crate::test_epoch();
        assert_eq!(s.record(&pkt(1, 10, 0), t0), Verdict::Probation);
        assert_eq!(s.record(&pkt(1, 500, 0), t0), Verdict::Probation);
        assert_eq!(s.record(&pkt(1, 501, 0), t0), Verdict::Accepted);
        assert_eq!(s.received(), 1);
        assert_eq!(s.lost(), 0);
    }

    #[test]
    fn big_jump_needs_confirmation() {
        let mut s = ReceiveStats::new(8000);
        let t0 = crate::test_epoch();
        feed(&mut s, t0, 0..10);
        assert_eq!(s.record(&pkt(1, 30_000, 0), t0), Verdict::Rejected);
        assert_eq!(s.record(&pkt(1, 10, 0), t0), Verdict::Accepted);
        // Two in a row re-synchronise (the sender restarted its numbering).
        assert_eq!(s.record(&pkt(1, 40_000, 0), t0), Verdict::Rejected);
        assert_eq!(s.record(&pkt(1, 40_001, 0), t0), Verdict::Accepted);
        assert_eq!(s.record(&pkt(1, 40_002, 0), t0), Verdict::Accepted);
        assert_eq!(s.rejected(), 2);
        assert_eq!(s.lost(), 0);
        // Counts from before the restart are kept: 1..=10, then 40001 and 40002.
        assert_eq!(s.received(), 12);
        assert_eq!(s.expected(), 12);
    }

    #[test]
    fn ssrc_change_starts_a_new_source_and_keeps_totals() {
        let mut s = ReceiveStats::new(8000);
        let t0 = crate::test_epoch();
        feed(&mut s, t0, (0..20).filter(|&q| q != 5));
        assert_eq!(s.lost(), 1);
        for k in 0..10u16 {
            s.record(&pkt(2, 1000 + k, 0), t0);
        }
        assert_eq!(s.ssrc_changes(), 1);
        assert_eq!(s.ssrc(), Some(Ssrc(2)));
        assert_eq!(s.lost(), 1);
        assert_eq!(s.received(), 18 + 9);
    }

    #[test]
    fn constant_delay_has_zero_jitter() {
        let mut s = ReceiveStats::new(8000);
        let t0 = crate::test_epoch();
        for k in 0..200u32 {
            let at = t0 + Duration::from_millis(37) + Duration::from_millis(20) * k;
            s.record(&pkt(1, k as u16, 5_000 + 160 * k), at);
        }
        assert_eq!(s.jitter(), 0);
        assert_eq!(s.jitter_ms(), 0.0);
    }

    #[test]
    fn alternating_delay_gives_the_a8_value() {
        // Delay alternates 0 ms / 10 ms, so |D| = 80 ticks for every packet after the first:
        // J_n = 80 · (1 - (15/16)^n).
        let mut s = ReceiveStats::new(8000);
        let t0 = crate::test_epoch();
        let n = 60u32;
        for k in 0..=n {
            let delay = if k % 2 == 1 {
                Duration::from_millis(10)
            } else {
                Duration::ZERO
            };
            let at = t0 + Duration::from_millis(20) * k + delay;
            s.record(&pkt(1, k as u16, 160 * k), at);
        }
        let want = 80.0 * (1.0 - (15.0f64 / 16.0).powi(n as i32));
        assert!(
            (s.jitter_ms() * 8.0 - want).abs() < 1e-9,
            "{} vs {want}",
            s.jitter_ms() * 8.0
        );
        assert_eq!(s.jitter(), want as u32);
        assert!((s.jitter_ms() - 10.0).abs() < 0.25);
    }

    #[test]
    fn arrival_going_backwards_is_ignored() {
        let mut s = ReceiveStats::new(8000);
        let t0 = crate::test_epoch() + Duration::from_secs(1);
        s.record(&pkt(1, 0, 0), t0);
        s.record(&pkt(1, 1, 160), t0 + Duration::from_millis(20));
        s.record(&pkt(1, 2, 320), t0 - Duration::from_millis(500));
        s.record(&pkt(1, 3, 480), t0 + Duration::from_millis(60));
        assert_eq!(s.jitter(), 0);
        assert_eq!(s.lost(), 0);
    }

    #[test]
    fn garbage_is_counted_and_dropped() {
        let mut s = ReceiveStats::new(8000);
        let t0 = crate::test_epoch();
        assert_eq!(s.handle_datagram(b"hello", t0), Verdict::Malformed);
        assert_eq!(s.handle_datagram(&[], t0), Verdict::Malformed);
        assert_eq!(s.malformed(), 2);
        assert_eq!(s.packets(), 0);
        assert!(s.take_report().is_none());
    }
}
