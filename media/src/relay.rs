//! Sans-IO relay between two call legs (customer ↔ agent): forwards each packet to the other
//! leg with that leg's own SSRC, sequence and timestamp continuity, transcoding PCMU↔PCMA.

use std::net::SocketAddr;
use std::time::Instant;

use crate::codec::Codec;
use crate::error::MediaError;
use crate::rtp::{self, RtpSender, HEADER_LEN};
use crate::stats::{MAX_DROPOUT, MAX_MISORDER};
use crate::types::{RtpTime, SeqNo, Ssrc};

/// One of the two legs of a [`Bridge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The first leg (by convention the customer).
    A,
    /// The second leg (by convention the agent).
    B,
}

impl Side {
    /// The other leg.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    fn index(self) -> usize {
        match self {
            Side::A => 0,
            Side::B => 1,
        }
    }
}

/// How a leg joins a [`Bridge`].
#[derive(Debug, Clone)]
pub struct BridgeSide {
    /// Where this leg's peer sends from and receives at (from SDP); `None` until known.
    pub remote: Option<SocketAddr>,
    /// The codec negotiated on this leg.
    pub codec: Codec,
    /// The outgoing stream towards this leg's peer. Pass the one the leg was already sending
    /// (prompt or silence) so the peer keeps seeing one SSRC with continuous numbering.
    pub sender: RtpSender,
}

/// Counters of one direction: packets that arrived on a side and what became of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayCounters {
    /// Forwarded to the other side.
    pub relayed: u64,
    /// Of those, transcoded between PCMU and PCMA.
    pub transcoded: u64,
    /// Dropped: sent from an address other than this side's remote.
    pub unexpected_source: u64,
    /// Dropped: not RTP.
    pub malformed: u64,
    /// Dropped: payload type other than this side's codec (DTMF events, comfort noise, ...).
    pub wrong_payload_type: u64,
    /// Dropped: the other side's remote address is not known yet.
    pub no_destination: u64,
    /// Dropped: a sequence jump not (yet) confirmed by the next packet.
    pub unconfirmed_jump: u64,
    /// The source restarted (new SSRC or renumbered) and the output was re-anchored.
    pub restarts: u64,
}

/// What became of one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relayed {
    /// A packet for the other side is waiting in [`Bridge::poll_transmit`].
    Forwarded,
    /// Dropped, and counted in [`RelayCounters`].
    Dropped(DropReason),
}

/// Why a datagram was not relayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Not from the side's remote address.
    UnexpectedSource,
    /// Not RTP.
    Malformed,
    /// Not the side's codec.
    WrongPayloadType,
    /// Nowhere to send it yet.
    NoDestination,
    /// An unconfirmed sequence jump.
    UnconfirmedJump,
}

/// A packet to send: from `from`'s socket to `to`.
#[derive(Debug, PartialEq, Eq)]
pub struct Transmit<'a> {
    /// The side whose socket sends it.
    pub from: Side,
    /// Destination: that side's remote address.
    pub to: SocketAddr,
    /// The RTP packet.
    pub payload: &'a [u8],
}

/// Where the current inbound stream of a side is mapped onto the other side's outbound stream.
#[derive(Debug, Clone)]
struct Anchor {
    ssrc: Ssrc,
    in_seq: SeqNo,
    in_highest: SeqNo,
    in_ts: u32,
    out_seq: SeqNo,
    out_ts: RtpTime,
    /// Sequence number that would confirm a jump (RFC 3550 A.1's `bad_seq`).
    confirm: Option<u16>,
}

#[derive(Debug)]
struct SideState {
    remote: Option<SocketAddr>,
    codec: Codec,
    sender: RtpSender,
    anchor: Option<Anchor>,
    counters: RelayCounters,
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    from: Side,
    to: SocketAddr,
    len: usize,
}

/// The relay core between legs A and B, without sockets.
///
/// A packet arriving on one side from that side's remote address is sent out of the other side to
/// its remote, rewritten onto the other side's outbound stream: its SSRC, and sequence numbers and
/// timestamps that continue from what that stream last sent. Gaps and reordering in the input are
/// kept (sequence offsets are preserved), so the receiver's loss concealment still works. When the
/// input source restarts (new SSRC, or a sequence jump confirmed by the next packet) the output
/// is re-anchored: sequence numbers continue without a gap, the timestamp advances by the time that
/// passed, and the marker bit is set, so the far phone sees one clean stream.
///
/// Contract: after every [`Bridge::handle_datagram`], call [`Bridge::poll_transmit`] until it
/// returns `None`. A `handle_datagram` with a transmit still pending is refused with
/// [`MediaError::TransmitNotDrained`].
#[derive(Debug)]
pub struct Bridge {
    sides: [SideState; 2],
    pending: Option<Pending>,
    buf: Vec<u8>,
}

impl Bridge {
    /// A bridge between `a` and `b`.
    pub fn new(a: BridgeSide, b: BridgeSide) -> Bridge {
        let side = |s: BridgeSide| SideState {
            remote: s.remote,
            codec: s.codec,
            sender: s.sender,
            anchor: None,
            counters: RelayCounters::default(),
        };
        Bridge {
            sides: [side(a), side(b)],
            pending: None,
            buf: vec![0; 1500],
        }
    }

    /// Sets (or changes, after a re-INVITE) where `side`'s peer is.
    pub fn set_remote(&mut self, side: Side, remote: SocketAddr) {
        self.sides[side.index()].remote = Some(remote);
    }

    /// Where `side`'s peer is, if known.
    pub fn remote(&self, side: Side) -> Option<SocketAddr> {
        self.sides[side.index()].remote
    }

    /// Counters of packets that arrived on `side`.
    pub fn counters(&self, side: Side) -> RelayCounters {
        self.sides[side.index()].counters
    }

    /// The outbound stream towards `side`'s peer.
    pub fn sender(&self, side: Side) -> &RtpSender {
        &self.sides[side.index()].sender
    }

    /// Ends the bridge, giving back both outbound streams (A's, B's) so the legs can go on
    /// sending with the same SSRC and numbering.
    pub fn into_senders(self) -> (RtpSender, RtpSender) {
        let [a, b] = self.sides;
        (a.sender, b.sender)
    }

    /// Handles a datagram that arrived on `side`'s socket from `from` at `now`.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        side: Side,
        from: SocketAddr,
        datagram: &[u8],
    ) -> Result<Relayed, MediaError> {
        if self.pending.is_some() {
            return Err(MediaError::TransmitNotDrained);
        }
        let [a, b] = &mut self.sides;
        let (inn, out) = match side {
            Side::A => (a, b),
            Side::B => (b, a),
        };
        let dropped = |counter: &mut u64, reason| {
            *counter += 1;
            Ok(Relayed::Dropped(reason))
        };
        if inn.remote != Some(from) {
            return dropped(
                &mut inn.counters.unexpected_source,
                DropReason::UnexpectedSource,
            );
        }
        let Ok(pkt) = rtp::parse(datagram) else {
            return dropped(&mut inn.counters.malformed, DropReason::Malformed);
        };
        if pkt.payload_type != inn.codec.payload_type() {
            return dropped(
                &mut inn.counters.wrong_payload_type,
                DropReason::WrongPayloadType,
            );
        }
        let Some(to) = out.remote else {
            return dropped(&mut inn.counters.no_destination, DropReason::NoDestination);
        };

        // Map the input onto the output stream, re-anchoring on a restart.
        let restart = match &mut inn.anchor {
            None => true,
            Some(anchor) if anchor.ssrc != pkt.ssrc => {
                inn.counters.restarts += 1;
                true
            }
            Some(anchor) => {
                let ext = SeqNo::extend(anchor.in_highest, pkt.seq);
                let delta = ext.since(anchor.in_highest);
                if delta >= i64::from(MAX_DROPOUT) || delta < -i64::from(MAX_MISORDER) {
                    // Renumbered, or a stray packet: follow only if the next packet confirms it.
                    if anchor.confirm != Some(pkt.seq) {
                        anchor.confirm = Some(pkt.seq.wrapping_add(1));
                        return dropped(
                            &mut inn.counters.unconfirmed_jump,
                            DropReason::UnconfirmedJump,
                        );
                    }
                    inn.counters.restarts += 1;
                    true
                } else {
                    if delta > 0 {
                        anchor.in_highest = ext;
                    }
                    anchor.confirm = None;
                    false
                }
            }
        };
        let anchor = match &mut inn.anchor {
            Some(anchor) if !restart => anchor,
            slot => {
                // Continue the output where it stands now; the first packet starts a talkspurt.
                let first = SeqNo::first(pkt.seq);
                slot.insert(Anchor {
                    ssrc: pkt.ssrc,
                    in_seq: first,
                    in_highest: first,
                    in_ts: pkt.timestamp,
                    out_seq: out.sender.next_seq(),
                    out_ts: out.sender.resume_timestamp(now),
                    confirm: None,
                })
            }
        };
        let ext = SeqNo::extend(anchor.in_highest, pkt.seq);
        let out_seq = SeqNo(
            anchor
                .out_seq
                .0
                .wrapping_add(ext.since(anchor.in_seq) as u64),
        );
        let out_ts = anchor
            .out_ts
            .add_ticks(pkt.timestamp.wrapping_sub(anchor.in_ts));

        let need = HEADER_LEN + pkt.payload.len();
        if self.buf.len() < need {
            self.buf.resize(need, 0);
        }
        let len = rtp::write_packet(
            &mut self.buf,
            out.sender.ssrc(),
            out_seq.wire(),
            out_ts.ticks(),
            out.codec.payload_type(),
            restart || pkt.marker,
            pkt.payload,
        )?;
        if inn.codec != out.codec {
            inn.codec
                .transcode_in_place(out.codec, &mut self.buf[HEADER_LEN..len]);
            inn.counters.transcoded += 1;
        }
        let samples = u32::try_from(inn.codec.samples_in(pkt.payload.len())).unwrap_or(u32::MAX);
        out.sender
            .record_external(out_seq, out_ts, samples, pkt.payload.len(), now);
        inn.counters.relayed += 1;
        self.pending = Some(Pending {
            from: side.other(),
            to,
            len,
        });
        Ok(Relayed::Forwarded)
    }

    /// The packet to send, if the last datagram produced one. Drain until `None`.
    pub fn poll_transmit(&mut self) -> Option<Transmit<'_>> {
        let p = self.pending.take()?;
        Some(Transmit {
            from: p.from,
            to: p.to,
            payload: &self.buf[..p.len],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::{parse, FRAME_DURATION};
    use std::time::Duration;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    const CUSTOMER: u16 = 5000;
    const AGENT: u16 = 6000;

    fn bridge(a: Codec, b: Codec) -> Bridge {
        Bridge::new(
            BridgeSide {
                remote: Some(addr(CUSTOMER)),
                codec: a,
                sender: RtpSender::new(a, Ssrc(0xA0A0), 100, 1_000),
            },
            BridgeSide {
                remote: Some(addr(AGENT)),
                codec: b,
                sender: RtpSender::new(b, Ssrc(0xB0B0), 65_530, 50_000),
            },
        )
    }

    /// A customer packet without marker: SSRC, sequence, timestamp, 160 copies of `fill`.
    fn packet(codec: Codec, ssrc: u32, seq: u16, ts: u32, fill: u8) -> Vec<u8> {
        let mut out = vec![0; HEADER_LEN + 160];
        let n = rtp::write_packet(
            &mut out,
            Ssrc(ssrc),
            seq,
            ts,
            codec.payload_type(),
            false,
            &[fill; 160],
        )
        .unwrap();
        out.truncate(n);
        out
    }

    /// Relays one datagram from the customer; returns the parsed output fields.
    fn relay(
        b: &mut Bridge,
        now: Instant,
        datagram: &[u8],
    ) -> Option<(Ssrc, u16, u32, bool, u8, Vec<u8>)> {
        match b
            .handle_datagram(now, Side::A, addr(CUSTOMER), datagram)
            .unwrap()
        {
            Relayed::Forwarded => {}
            Relayed::Dropped(_) => return None,
        }
        let t = b.poll_transmit().expect("a transmit");
        assert_eq!((t.from, t.to), (Side::B, addr(AGENT)));
        let p = parse(t.payload).expect("valid RTP");
        let out = (
            p.ssrc,
            p.seq,
            p.timestamp,
            p.marker,
            p.payload_type,
            p.payload.to_vec(),
        );
        assert!(b.poll_transmit().is_none(), "one datagram, one transmit");
        Some(out)
    }

    #[test]
    fn forwards_onto_the_other_sides_stream() {
        let t0 = crate::test_epoch();
        let mut b = bridge(Codec::Pcmu, Codec::Pcmu);
        let mut seqs = Vec::new();
        for k in 0..10u16 {
            let now = t0 + FRAME_DURATION * u32::from(k);
            let (ssrc, seq, ts, marker, pt, payload) = relay(
                &mut b,
                now,
                &packet(
                    Codec::Pcmu,
                    0x1234,
                    7_000 + k,
                    90_000 + 160 * u32::from(k),
                    0x42,
                ),
            )
            .unwrap();
            assert_eq!(ssrc, Ssrc(0xB0B0));
            assert_eq!(ts, 50_000 + 160 * u32::from(k));
            assert_eq!(marker, k == 0);
            assert_eq!(pt, 0);
            assert_eq!(payload, [0x42; 160]);
            seqs.push(seq);
        }
        // Continues the agent side's numbering, wrapping at 65535.
        assert_eq!(
            seqs,
            [65_530, 65_531, 65_532, 65_533, 65_534, 65_535, 0, 1, 2, 3]
        );
        assert_eq!(b.counters(Side::A).relayed, 10);
        assert_eq!(b.counters(Side::B), RelayCounters::default());
        assert_eq!(b.sender(Side::B).packets_sent(), 10);
        assert_eq!(b.sender(Side::B).next_seq().wire(), 4);
    }

    #[test]
    fn transcodes_between_laws() {
        let mut b = bridge(Codec::Pcmu, Codec::Pcma);
        let (.., pt, payload) = relay(
            &mut b,
            crate::test_epoch(),
            &packet(Codec::Pcmu, 1, 0, 0, 0xFF),
        )
        .unwrap();
        assert_eq!(pt, 8);
        assert_eq!(payload, [0xD5; 160], "µ-law silence becomes A-law silence");
        let (.., payload) = relay(
            &mut b,
            crate::test_epoch(),
            &packet(Codec::Pcmu, 1, 1, 160, 0xCE),
        )
        .unwrap();
        assert_eq!(
            Codec::Pcma.decode_sample(payload[0]),
            976,
            "988 re-quantised in A-law"
        );
        assert_eq!(b.counters(Side::A).transcoded, 2);
    }

    #[test]
    fn customer_restart_is_invisible_to_the_agent() {
        let t0 = crate::test_epoch();
        let mut b = bridge(Codec::Pcma, Codec::Pcma);
        let mut last = None;
        for k in 0..5u16 {
            last = relay(
                &mut b,
                t0 + FRAME_DURATION * u32::from(k),
                &packet(Codec::Pcma, 0xAAAA, 300 + k, 160 * u32::from(k), 1),
            );
        }
        let (_, last_seq, last_ts, ..) = last.unwrap();
        // The customer side restarts 1 s later with a new SSRC, numbering and timestamps.
        let t1 = t0 + FRAME_DURATION * 4 + Duration::from_secs(1);
        let (ssrc, seq, ts, marker, ..) = relay(
            &mut b,
            t1,
            &packet(Codec::Pcma, 0xBBBB, 40_000, 7_777_777, 2),
        )
        .unwrap();
        assert_eq!(ssrc, Ssrc(0xB0B0));
        assert_eq!(seq, last_seq.wrapping_add(1), "no gap in numbering");
        assert_eq!(
            ts,
            last_ts + 8_000,
            "timestamp advanced by the second that passed"
        );
        assert!(marker, "a new talkspurt");
        let (_, seq2, ts2, marker2, ..) = relay(
            &mut b,
            t1 + FRAME_DURATION,
            &packet(Codec::Pcma, 0xBBBB, 40_001, 7_777_937, 2),
        )
        .unwrap();
        assert_eq!((seq2, ts2, marker2), (seq.wrapping_add(1), ts + 160, false));
        assert_eq!(b.counters(Side::A).restarts, 1);
    }

    #[test]
    fn renumbering_with_the_same_ssrc_is_confirmed_then_followed() {
        let t0 = crate::test_epoch();
        let mut b = bridge(Codec::Pcmu, Codec::Pcmu);
        let (_, s0, ..) = relay(&mut b, t0, &packet(Codec::Pcmu, 9, 10, 0, 0)).unwrap();
        assert!(
            relay(&mut b, t0, &packet(Codec::Pcmu, 9, 30_000, 160, 0)).is_none(),
            "a lone jump is dropped"
        );
        assert_eq!(b.counters(Side::A).unconfirmed_jump, 1);
        let (_, s1, ..) = relay(&mut b, t0, &packet(Codec::Pcmu, 9, 11, 160, 0)).unwrap();
        assert_eq!(s1, s0.wrapping_add(1));
        assert!(relay(&mut b, t0, &packet(Codec::Pcmu, 9, 50_000, 320, 0)).is_none());
        let (_, s2, _, marker, ..) =
            relay(&mut b, t0, &packet(Codec::Pcmu, 9, 50_001, 480, 0)).unwrap();
        assert_eq!(s2, s1.wrapping_add(1));
        assert!(marker);
        assert_eq!(b.counters(Side::A).restarts, 1);
    }

    #[test]
    fn gaps_and_reordering_are_preserved() {
        let t0 = crate::test_epoch();
        let mut b = bridge(Codec::Pcmu, Codec::Pcmu);
        let out: Vec<(u16, u32)> = [(0u16, 0u32), (1, 160), (3, 480), (2, 320), (6, 960)]
            .into_iter()
            .map(|(s, ts)| {
                let (_, seq, ts, ..) = relay(
                    &mut b,
                    t0,
                    &packet(Codec::Pcmu, 1, 65_535u16.wrapping_add(s), ts, 0),
                )
                .unwrap();
                (seq.wrapping_sub(65_530), ts - 50_000)
            })
            .collect();
        assert_eq!(out, [(0, 0), (1, 160), (3, 480), (2, 320), (6, 960)]);
        // A packet reordered before the first one still lands just before it.
        let mut b = bridge(Codec::Pcmu, Codec::Pcmu);
        relay(&mut b, t0, &packet(Codec::Pcmu, 1, 0, 160, 0)).unwrap();
        let (_, seq, ts, ..) = relay(&mut b, t0, &packet(Codec::Pcmu, 1, 65_535, 0, 0)).unwrap();
        assert_eq!((seq, ts), (65_529, 50_000 - 160));
    }

    #[test]
    fn continues_the_stream_the_leg_was_already_sending() {
        let t0 = crate::test_epoch();
        let mut agent = RtpSender::new(Codec::Pcmu, Ssrc(77), 10, 1_000);
        for k in 0..3u32 {
            agent.packet(&[0xFF; 160], t0 + FRAME_DURATION * k);
        }
        let mut b = Bridge::new(
            BridgeSide {
                remote: Some(addr(CUSTOMER)),
                codec: Codec::Pcmu,
                sender: RtpSender::new(Codec::Pcmu, Ssrc(1), 0, 0),
            },
            BridgeSide {
                remote: Some(addr(AGENT)),
                codec: Codec::Pcmu,
                sender: agent,
            },
        );
        // The customer is connected 500 ms after the agent's last silence frame (at t0 + 40 ms).
        let (ssrc, seq, ts, marker, ..) = relay(
            &mut b,
            t0 + Duration::from_millis(540),
            &packet(Codec::Pcmu, 5, 999, 123, 0),
        )
        .unwrap();
        assert_eq!((ssrc, seq, marker), (Ssrc(77), 13, true));
        assert_eq!(ts, 1_000 + 2 * 160 + 500 * 8);
        let (_, after) = b.into_senders();
        assert_eq!(after.next_seq().wire(), 14);
        assert_eq!(after.next_timestamp().ticks(), ts + 160);
    }

    #[test]
    fn both_directions_are_counted_separately() {
        let t0 = crate::test_epoch();
        let mut b = bridge(Codec::Pcmu, Codec::Pcma);
        for k in 0..3u16 {
            relay(&mut b, t0, &packet(Codec::Pcmu, 1, k, 0, 0)).unwrap();
            let r = b
                .handle_datagram(
                    t0,
                    Side::B,
                    addr(AGENT),
                    &packet(Codec::Pcma, 2, k, 0, 0xD5),
                )
                .unwrap();
            assert_eq!(r, Relayed::Forwarded);
            let t = b.poll_transmit().unwrap();
            assert_eq!((t.from, t.to), (Side::A, addr(CUSTOMER)));
            let p = parse(t.payload).unwrap();
            // A-law has no zero: its smallest code (+8) is µ-law 0xFE.
            assert_eq!(
                (p.ssrc, p.payload_type, p.payload[0]),
                (Ssrc(0xA0A0), 0, 0xFE)
            );
        }
        assert_eq!(b.counters(Side::A).relayed, 3);
        assert_eq!(b.counters(Side::B).relayed, 3);
    }

    #[test]
    fn drops_are_counted() {
        let t0 = crate::test_epoch();
        let mut b = bridge(Codec::Pcmu, Codec::Pcmu);
        let good = packet(Codec::Pcmu, 1, 0, 0, 0);
        let r = b.handle_datagram(t0, Side::A, addr(4444), &good).unwrap();
        assert_eq!(r, Relayed::Dropped(DropReason::UnexpectedSource));
        let r = b
            .handle_datagram(t0, Side::A, addr(CUSTOMER), b"\x80garbage")
            .unwrap();
        assert_eq!(r, Relayed::Dropped(DropReason::Malformed));
        let r = b
            .handle_datagram(
                t0,
                Side::A,
                addr(CUSTOMER),
                &packet(Codec::Pcma, 1, 0, 0, 0),
            )
            .unwrap();
        assert_eq!(r, Relayed::Dropped(DropReason::WrongPayloadType));
        let c = b.counters(Side::A);
        assert_eq!(
            (
                c.unexpected_source,
                c.malformed,
                c.wrong_payload_type,
                c.relayed
            ),
            (1, 1, 1, 0)
        );
        assert!(b.poll_transmit().is_none());

        let mut b = Bridge::new(
            BridgeSide {
                remote: Some(addr(CUSTOMER)),
                codec: Codec::Pcmu,
                sender: RtpSender::new(Codec::Pcmu, Ssrc(1), 0, 0),
            },
            BridgeSide {
                remote: None,
                codec: Codec::Pcmu,
                sender: RtpSender::new(Codec::Pcmu, Ssrc(2), 0, 0),
            },
        );
        let r = b
            .handle_datagram(t0, Side::A, addr(CUSTOMER), &good)
            .unwrap();
        assert_eq!(r, Relayed::Dropped(DropReason::NoDestination));
        // Nothing is known about B's peer, so nothing it sends is accepted either.
        let r = b.handle_datagram(t0, Side::B, addr(AGENT), &good).unwrap();
        assert_eq!(r, Relayed::Dropped(DropReason::UnexpectedSource));
        b.set_remote(Side::B, addr(AGENT));
        assert_eq!(b.remote(Side::B), Some(addr(AGENT)));
        assert_eq!(
            b.handle_datagram(t0, Side::A, addr(CUSTOMER), &good)
                .unwrap(),
            Relayed::Forwarded
        );
    }

    #[test]
    fn undrained_transmit_is_a_typed_error() {
        let t0 = crate::test_epoch();
        let mut b = bridge(Codec::Pcmu, Codec::Pcmu);
        let good = packet(Codec::Pcmu, 1, 0, 0, 0);
        b.handle_datagram(t0, Side::A, addr(CUSTOMER), &good)
            .unwrap();
        let err = b
            .handle_datagram(t0, Side::A, addr(CUSTOMER), &good)
            .unwrap_err();
        assert!(matches!(err, MediaError::TransmitNotDrained));
        assert!(b.poll_transmit().is_some());
        assert!(b.poll_transmit().is_none());
    }

    #[test]
    fn random_datagrams_never_panic() {
        use rand::{rngs::StdRng, Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(11);
        let mut b = bridge(Codec::Pcmu, Codec::Pcma);
        let t0 = crate::test_epoch();
        for _ in 0..20_000 {
            let mut d = packet(
                Codec::Pcmu,
                rng.gen_range(0..3),
                rng.gen(),
                rng.gen(),
                rng.gen(),
            );
            for _ in 0..rng.gen_range(0..4) {
                let i = rng.gen_range(0..d.len());
                d[i] = rng.gen();
            }
            d.truncate(rng.gen_range(0..=d.len()));
            b.handle_datagram(t0, Side::A, addr(CUSTOMER), &d).unwrap();
            while b.poll_transmit().is_some() {}
        }
    }
}
