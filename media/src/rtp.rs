//! Sans-IO RTP: parse a datagram, build the packets of one outgoing stream, pace frames every 20 ms.

use std::time::{Duration, Instant};

use rand::Rng;
use rtp_rs::{RtpPacketBuildError, RtpPacketBuilder, RtpReader, RtpReaderError, Seq};

use crate::codec::Codec;
use crate::error::{MediaError, RtpProblem};
use crate::types::{RtpTime, SeqNo, Ssrc};

/// Length of one G.711 frame: 20 ms, the RFC 3551 default packetisation.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);

/// Samples (and G.711 bytes) in one 20 ms frame at 8 kHz.
pub const FRAME_SAMPLES: usize = 160;

/// Bytes of the fixed RTP header we write (no CSRCs, no extension).
pub const HEADER_LEN: usize = 12;

/// The header fields and payload of a received RTP packet, borrowed from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// Synchronisation source.
    pub ssrc: Ssrc,
    /// 16-bit sequence number as sent.
    pub seq: u16,
    /// 32-bit timestamp as sent.
    pub timestamp: u32,
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Marker bit.
    pub marker: bool,
    /// Payload, without padding.
    pub payload: &'a [u8],
}

/// Parses a datagram as RTP. Never panics: anything malformed is an error naming the fault.
///
/// Payload types 72-76 are refused as RTCP (RFC 5761 §4): with the marker bit they are RTCP packet
/// types 200-204, and RTCP has no business on a port where rtcp-mux was not negotiated.
pub fn parse(datagram: &[u8]) -> Result<RtpPacket<'_>, MediaError> {
    let reader = RtpReader::new(datagram).map_err(|e| {
        MediaError::MalformedRtp(match e {
            RtpReaderError::BufferTooShort(n) => RtpProblem::TooShort(n),
            RtpReaderError::UnsupportedVersion(v) => RtpProblem::Version(v),
            RtpReaderError::HeadersTruncated {
                header_len,
                buffer_len,
            } => RtpProblem::HeadersTruncated {
                header_len,
                buffer_len,
            },
            RtpReaderError::PaddingLengthInvalid(p) => RtpProblem::Padding(p),
        })
    })?;
    let payload_type = reader.payload_type();
    if (72..=76).contains(&payload_type) {
        return Err(MediaError::MalformedRtp(RtpProblem::Rtcp(payload_type)));
    }
    Ok(RtpPacket {
        ssrc: Ssrc(reader.ssrc()),
        seq: reader.sequence_number().into(),
        timestamp: reader.timestamp(),
        payload_type,
        marker: reader.mark(),
        payload: reader.payload(),
    })
}

/// Writes one RTP packet with a 12-byte header into `out`; returns its length.
pub(crate) fn write_packet(
    out: &mut [u8],
    ssrc: Ssrc,
    seq: u16,
    timestamp: u32,
    payload_type: u8,
    marker: bool,
    payload: &[u8],
) -> Result<usize, MediaError> {
    RtpPacketBuilder::new()
        .payload_type(payload_type)
        .marked(marker)
        .sequence(Seq::from(seq))
        .timestamp(timestamp)
        .ssrc(ssrc.0)
        .payload(payload)
        .build_into(out)
        .map_err(|e| match e {
            RtpPacketBuildError::BufferTooSmall => MediaError::BufferTooSmall {
                needed: HEADER_LEN + payload.len(),
                got: out.len(),
            },
            // Our payload types are 0 and 8 and we never add extensions.
            _ => MediaError::InvalidArgument {
                name: "payload_type",
                reason: "must be 0..=127",
            },
        })
}

/// The sending half of one RTP stream: SSRC, sequence number and timestamp continuity.
///
/// It never reads the clock: every packet is stamped from the previous one (timestamp advanced by
/// the previous packet's samples), and `now` is only remembered so that [`RtpSender::resume`] can
/// open a gap in the timestamps after a pause.
#[derive(Debug, Clone)]
pub struct RtpSender {
    codec: Codec,
    ssrc: Ssrc,
    next_seq: SeqNo,
    next_ts: RtpTime,
    marker_pending: bool,
    last_sent: Option<Instant>,
    last_samples: u32,
    packets: u64,
    payload_bytes: u64,
}

impl RtpSender {
    /// A stream with the given SSRC, first sequence number and first timestamp.
    pub fn new(codec: Codec, ssrc: Ssrc, first_seq: u16, first_ts: u32) -> RtpSender {
        RtpSender {
            codec,
            ssrc,
            next_seq: SeqNo(u64::from(first_seq)),
            next_ts: RtpTime::new(first_ts, codec.clock_rate()),
            marker_pending: true,
            last_sent: None,
            last_samples: 0,
            packets: 0,
            payload_bytes: 0,
        }
    }

    /// A stream with random SSRC, first sequence number and first timestamp (RFC 3550 §5.1).
    pub fn random(codec: Codec, rng: &mut impl Rng) -> RtpSender {
        RtpSender::new(codec, Ssrc(rng.gen()), rng.gen(), rng.gen())
    }

    /// The codec (and so the payload type) of this stream.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// This stream's SSRC.
    pub fn ssrc(&self) -> Ssrc {
        self.ssrc
    }

    /// Sequence number the next packet will carry.
    pub fn next_seq(&self) -> SeqNo {
        self.next_seq
    }

    /// Timestamp the next packet will carry.
    pub fn next_timestamp(&self) -> RtpTime {
        self.next_ts
    }

    /// Packets built so far.
    pub fn packets_sent(&self) -> u64 {
        self.packets
    }

    /// Payload bytes built so far (RFC 3550's sender octet count).
    pub fn payload_bytes_sent(&self) -> u64 {
        self.payload_bytes
    }

    /// Builds the next packet into a new buffer.
    pub fn packet(&mut self, payload: &[u8], now: Instant) -> Vec<u8> {
        let mut out = vec![0; HEADER_LEN + payload.len()];
        match self.write(payload, now, &mut out) {
            Ok(n) => out.truncate(n),
            // INVARIANT: `out` was sized for the header and payload, and our payload type is valid.
            Err(_) => unreachable!("buffer sized for the packet"),
        }
        out
    }

    /// Builds the next packet into `out`; returns its length. On error nothing advances.
    pub fn write(
        &mut self,
        payload: &[u8],
        now: Instant,
        out: &mut [u8],
    ) -> Result<usize, MediaError> {
        let n = write_packet(
            out,
            self.ssrc,
            self.next_seq.wire(),
            self.next_ts.ticks(),
            self.codec.payload_type(),
            self.marker_pending,
            payload,
        )?;
        let samples = u32::try_from(self.codec.samples_in(payload.len())).unwrap_or(u32::MAX);
        self.marker_pending = false;
        self.next_seq = self.next_seq.next();
        self.next_ts = self.next_ts.add_ticks(samples);
        self.last_sent = Some(now);
        self.last_samples = samples;
        self.packets += 1;
        self.payload_bytes += payload.len() as u64;
        Ok(n)
    }

    /// Advances the timestamp over `samples` that were not sent (frames skipped by a late pacer),
    /// so the receiver sees the gap in time; sequence numbers do not advance.
    pub fn skip(&mut self, samples: u32) {
        self.next_ts = self.next_ts.add_ticks(samples);
    }

    /// Starts a new talkspurt at `now` after a pause: the timestamp jumps over the time that passed
    /// since the last packet, and the next packet carries the marker bit (RFC 3551 §4.1).
    /// Time going backwards opens no gap.
    pub fn resume(&mut self, now: Instant) {
        if let Some(last) = self.last_sent {
            let elapsed = now.saturating_duration_since(last);
            let elapsed_ticks = RtpTime::ticks_in(elapsed, self.codec.clock_rate());
            let gap = elapsed_ticks.saturating_sub(u64::from(self.last_samples));
            self.next_ts = self
                .next_ts
                .add_ticks(u32::try_from(gap).unwrap_or(u32::MAX));
        }
        self.marker_pending = true;
    }

    /// Records a packet built elsewhere on this stream's behalf (the relay writes its own headers):
    /// continuity resumes after `seq` / `ts` + `samples`, whichever is further on.
    pub(crate) fn record_external(
        &mut self,
        seq: SeqNo,
        ts: RtpTime,
        samples: u32,
        payload_len: usize,
        now: Instant,
    ) {
        if seq.since(self.next_seq) >= 0 {
            self.next_seq = seq.next();
        }
        let end = ts.add_ticks(samples);
        if end.since(self.next_ts) >= 0 {
            self.next_ts = end;
            self.last_samples = samples;
            self.last_sent = Some(now);
        }
        self.marker_pending = false;
        self.packets += 1;
        self.payload_bytes += payload_len as u64;
    }

    /// The timestamp a packet sent at `now` should carry to continue this stream after a gap, as
    /// [`RtpSender::resume`] would compute it, without changing anything.
    pub(crate) fn resume_timestamp(&self, now: Instant) -> RtpTime {
        let mut probe = self.clone();
        probe.resume(now);
        probe.next_ts
    }
}

/// What the [`Pacer`] says to do at a deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tick {
    /// Frames to send now.
    pub send: u32,
    /// Frames whose time has passed and that should not be sent (too late to catch up).
    pub skipped: u32,
}

/// A deadline-based frame clock: frame *k* is due at `start + k·interval`, so lateness in one tick
/// does not push later frames back. When woken late it sends the frames that are due, but at most
/// `max_burst` at once; older ones are reported as skipped.
#[derive(Debug, Clone)]
pub struct Pacer {
    interval: Duration,
    next: Instant,
    max_burst: u32,
}

impl Pacer {
    /// Frames every `interval` from `start` (the first is due at `start`). An interval below one
    /// microsecond is raised to one microsecond, and `max_burst` below 1 to 1.
    pub fn new(start: Instant, interval: Duration, max_burst: u32) -> Pacer {
        Pacer {
            interval: interval.max(Duration::from_micros(1)),
            next: start,
            max_burst: max_burst.max(1),
        }
    }

    /// The standard G.711 pacer: 20 ms frames, bursts of at most 3 after a late wake-up.
    pub fn g711(start: Instant) -> Pacer {
        Pacer::new(start, FRAME_DURATION, 3)
    }

    /// When the next frame is due.
    pub fn poll_timeout(&self) -> Instant {
        self.next
    }

    /// Says what to send at `now`. Before the deadline (or if time went backwards) nothing is due.
    pub fn handle_timeout(&mut self, now: Instant) -> Tick {
        let Some(late) = now.checked_duration_since(self.next) else {
            return Tick::default();
        };
        let due = 1 + late.as_nanos() / self.interval.as_nanos();
        let due = u32::try_from(due).unwrap_or(u32::MAX);
        let send = due.min(self.max_burst);
        if let Some(next) = self.next.checked_add(self.interval.saturating_mul(due)) {
            self.next = next;
        }
        Tick {
            send,
            skipped: due - send,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn sender_numbers_packets_and_marks_the_first() {
        let t0 = crate::test_epoch();
        let mut s = RtpSender::new(Codec::Pcma, Ssrc(0xDEAD_BEEF), 65_535, u32::MAX - 100);
        let frame = [0xD5; FRAME_SAMPLES];
        let p1 = s.packet(&frame, t0);
        let p2 = s.packet(&frame, t0 + ms(20));
        let a = parse(&p1).expect("valid");
        let b = parse(&p2).expect("valid");
        assert_eq!(a.ssrc, Ssrc(0xDEAD_BEEF));
        assert_eq!(a.payload_type, 8);
        assert!(a.marker);
        assert!(!b.marker);
        assert_eq!(a.seq, 65_535);
        assert_eq!(b.seq, 0, "sequence wraps");
        assert_eq!(
            b.timestamp,
            a.timestamp.wrapping_add(160),
            "timestamp advances by samples"
        );
        assert_eq!(b.payload, &frame[..]);
        assert_eq!(p1.len(), HEADER_LEN + FRAME_SAMPLES);
        assert_eq!(s.packets_sent(), 2);
        assert_eq!(s.payload_bytes_sent(), 320);
    }

    #[test]
    fn random_senders_differ() {
        let mut rng = StdRng::seed_from_u64(7);
        let a = RtpSender::random(Codec::Pcmu, &mut rng);
        let b = RtpSender::random(Codec::Pcmu, &mut rng);
        assert_ne!(a.ssrc(), b.ssrc());
    }

    #[test]
    fn write_into_small_buffer_fails_without_advancing() {
        let mut s = RtpSender::new(Codec::Pcmu, Ssrc(1), 10, 0);
        let mut small = [0u8; 20];
        let err = s
            .write(&[0xFF; 160], crate::test_epoch(), &mut small)
            .unwrap_err();
        assert!(matches!(
            err,
            MediaError::BufferTooSmall {
                needed: 172,
                got: 20
            }
        ));
        assert_eq!(s.next_seq().wire(), 10);
        assert_eq!(s.packets_sent(), 0);
    }

    #[test]
    fn skip_and_resume_open_timestamp_gaps() {
        let t0 = crate::test_epoch();
        let mut s = RtpSender::new(Codec::Pcmu, Ssrc(1), 0, 1000);
        s.packet(&[0xFF; 160], t0);
        s.skip(320);
        let p = s.packet(&[0xFF; 160], t0 + ms(60));
        let p = parse(&p).expect("valid");
        assert_eq!(p.timestamp, 1000 + 160 + 320);
        assert_eq!(p.seq, 1);
        assert!(!p.marker);
        // One second of silence, then a new talkspurt.
        s.resume(t0 + ms(1060));
        let q = s.packet(&[0xFF; 160], t0 + ms(1060));
        let q = parse(&q).expect("valid");
        assert!(q.marker);
        assert_eq!(q.timestamp, p.timestamp + 8000);
        // Time going backwards opens no gap.
        s.resume(t0);
        assert_eq!(s.next_timestamp().ticks(), q.timestamp + 160);
    }

    #[test]
    fn parse_refuses_garbage_without_panicking() {
        assert!(matches!(
            parse(&[0x80; 5]),
            Err(MediaError::MalformedRtp(RtpProblem::TooShort(5)))
        ));
        let mut v1 = vec![0u8; 12];
        v1[0] = 0x40;
        assert!(matches!(
            parse(&v1),
            Err(MediaError::MalformedRtp(RtpProblem::Version(1)))
        ));
        // Four CSRCs announced, none present.
        let mut csrc = vec![0u8; 12];
        csrc[0] = 0x84;
        assert!(matches!(
            parse(&csrc),
            Err(MediaError::MalformedRtp(
                RtpProblem::HeadersTruncated { .. }
            ))
        ));
        // Padding count larger than the packet.
        let mut pad = vec![0u8; 14];
        pad[0] = 0xA0;
        pad[13] = 200;
        assert!(matches!(
            parse(&pad),
            Err(MediaError::MalformedRtp(RtpProblem::Padding(200)))
        ));
        // An RTCP sender report (PT 200 = marker + 72).
        let mut sr = vec![0u8; 28];
        sr[0] = 0x80;
        sr[1] = 200;
        assert!(matches!(
            parse(&sr),
            Err(MediaError::MalformedRtp(RtpProblem::Rtcp(72)))
        ));
        // Random bytes never panic.
        let mut rng = StdRng::seed_from_u64(42);
        for _ in 0..20_000 {
            let len = rng.gen_range(0..64);
            let mut b: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            if let Some(first) = b.first_mut() {
                *first = (*first & 0x3F) | 0x80;
            }
            let _ = parse(&b);
        }
    }

    #[test]
    fn parse_strips_padding_and_skips_extension() {
        // V=2, P=1, X=1; extension of one word; payload "ab"; two bytes of padding.
        let mut b = vec![0xB0, 0x00, 0, 1, 0, 0, 0, 160, 0, 0, 0, 9];
        b.extend_from_slice(&[0xBE, 0xDE, 0, 1, 1, 2, 3, 4]);
        b.extend_from_slice(b"ab");
        b.extend_from_slice(&[0, 2]);
        let p = parse(&b).expect("valid");
        assert_eq!(p.payload, b"ab");
        assert_eq!(p.seq, 1);
        assert_eq!(p.timestamp, 160);
        assert_eq!(p.ssrc, Ssrc(9));
    }

    #[test]
    fn pacer_is_deadline_based_and_does_not_drift() {
        let t0 = crate::test_epoch();
        let mut p = Pacer::g711(t0);
        assert_eq!(p.poll_timeout(), t0);
        assert_eq!(
            p.handle_timeout(t0),
            Tick {
                send: 1,
                skipped: 0
            }
        );
        // Woken 7 ms late every time: deadlines stay on the 20 ms grid.
        for k in 1..100u32 {
            let due = t0 + FRAME_DURATION * k;
            assert_eq!(p.poll_timeout(), due);
            assert_eq!(
                p.handle_timeout(due + ms(7)),
                Tick {
                    send: 1,
                    skipped: 0
                }
            );
        }
        assert_eq!(p.poll_timeout(), t0 + FRAME_DURATION * 100);
    }

    #[test]
    fn pacer_early_or_backwards_sends_nothing() {
        let t0 = crate::test_epoch();
        let mut p = Pacer::g711(t0 + ms(20));
        assert_eq!(p.handle_timeout(t0), Tick::default());
        assert_eq!(p.handle_timeout(t0 + ms(19)), Tick::default());
        assert_eq!(p.poll_timeout(), t0 + ms(20));
    }

    #[test]
    fn pacer_catches_up_a_little_and_skips_the_rest() {
        let t0 = crate::test_epoch();
        let mut p = Pacer::g711(t0);
        // 45 ms late: frames at 0, 20, 40 are due; all three fit the burst.
        assert_eq!(
            p.handle_timeout(t0 + ms(45)),
            Tick {
                send: 3,
                skipped: 0
            }
        );
        assert_eq!(p.poll_timeout(), t0 + ms(60));
        // 200 ms stall: frames at 60..=260 (11) are due; 3 sent, 8 skipped.
        assert_eq!(
            p.handle_timeout(t0 + ms(260)),
            Tick {
                send: 3,
                skipped: 8
            }
        );
        assert_eq!(p.poll_timeout(), t0 + ms(280));
    }
}
