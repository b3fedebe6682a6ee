//! The receiving side: authenticates, replay-checks and decrypts what the peer sends (RFC 3711
//! §3.3, §3.4), in the RFC's order so that nothing unauthenticated changes the state.

use crate::types::SeqNo;

use super::keys::MasterKey;
use super::{
    be_u32, check_rtcp, rtp_header_len, Context, SrtpError, SrtpSuite, MAX_SRTP_INDEX,
    RTCP_HEADER_LEN, SRTCP_E_FLAG, SRTCP_INDEX_LEN,
};

/// Unprotects one direction of a call: the packets the peer sends, under its master key.
///
/// A packet is refused, and the state left as it was, when it is malformed, when its index was
/// accepted before or is 64 or more behind the highest, or when its tag does not match. The
/// rollover counter and replay window move only for packets that authenticated.
#[derive(Debug, Clone)]
pub struct SrtpInbound {
    ctx: Context,
}

impl SrtpInbound {
    /// A receiving context for `suite` under the peer's `key`.
    pub fn new(suite: SrtpSuite, key: &MasterKey) -> SrtpInbound {
        SrtpInbound {
            ctx: Context::new(suite, key),
        }
    }

    /// The suite in use.
    pub fn suite(&self) -> SrtpSuite {
        self.ctx.suite
    }

    /// Packets accepted so far under this key.
    pub fn packets_accepted(&self) -> u64 {
        self.ctx.used
    }

    /// Checks and decrypts the SRTP packet in `packet`, leaving the plain RTP packet; returns its
    /// SRTP index. On error `packet` is unchanged.
    pub fn unprotect_rtp(&mut self, packet: &mut Vec<u8>) -> Result<SeqNo, SrtpError> {
        let ctx = &mut self.ctx;
        let tag_len = ctx.suite.rtp_tag_len();
        let trailer = ctx.mki_len() + tag_len;
        let header_len = rtp_header_len(packet)?;
        let body_len = packet
            .len()
            .checked_sub(trailer)
            .filter(|&b| b >= header_len)
            .ok_or(SrtpError::TooShort {
                len: packet.len(),
                needed: header_len + trailer,
            })?;
        check_mki(ctx, &packet[body_len..packet.len() - tag_len])?;
        ctx.check_lifetime()?;
        let ssrc = be_u32(packet, 8);
        let seq = u16::from_be_bytes([packet[2], packet[3]]);
        let index = ctx.rtp_streams.estimate(ssrc, seq);
        if index.0 > MAX_SRTP_INDEX {
            return Err(SrtpError::KeyExhausted { packets: ctx.used });
        }
        if !ctx.rtp_streams.fresh(ssrc, index.0) {
            return Err(SrtpError::Replayed { index: index.0 });
        }
        let roc = ((index.0 >> 16) as u32).to_be_bytes();
        let tag = &packet[packet.len() - tag_len..];
        if !ctx.rtp.verify(&packet[..body_len], &roc, tag) {
            return Err(SrtpError::Authentication);
        }
        ctx.rtp_streams.accept(ssrc, index.0)?;
        ctx.used += 1;
        ctx.rtp
            .apply_keystream(ssrc, index.0, &mut packet[header_len..body_len]);
        packet.truncate(body_len);
        Ok(index)
    }

    /// Checks and decrypts the SRTCP packet in `packet`, leaving the plain RTCP compound packet;
    /// returns its SRTCP index. On error `packet` is unchanged.
    pub fn unprotect_rtcp(&mut self, packet: &mut Vec<u8>) -> Result<u32, SrtpError> {
        let ctx = &mut self.ctx;
        let tag_len = ctx.suite.rtcp_tag_len();
        let trailer = ctx.mki_len() + tag_len;
        check_rtcp(packet, SRTCP_INDEX_LEN + trailer)?;
        let body_len = packet.len() - trailer;
        check_mki(ctx, &packet[body_len..packet.len() - tag_len])?;
        ctx.check_lifetime()?;
        let word = be_u32(packet, body_len - SRTCP_INDEX_LEN);
        let index = word & !SRTCP_E_FLAG;
        let ssrc = be_u32(packet, 4);
        if !ctx.rtcp_streams.fresh(ssrc, u64::from(index)) {
            return Err(SrtpError::Replayed {
                index: u64::from(index),
            });
        }
        let tag = &packet[packet.len() - tag_len..];
        if !ctx.rtcp.verify(&packet[..body_len], &[], tag) {
            return Err(SrtpError::Authentication);
        }
        if word & SRTCP_E_FLAG == 0 {
            return Err(SrtpError::Unencrypted);
        }
        ctx.rtcp_streams.accept(ssrc, u64::from(index))?;
        ctx.used += 1;
        let encrypted_end = body_len - SRTCP_INDEX_LEN;
        ctx.rtcp.apply_keystream(
            ssrc,
            u64::from(index),
            &mut packet[RTCP_HEADER_LEN..encrypted_end],
        );
        packet.truncate(encrypted_end);
        Ok(index)
    }
}

/// The MKI names a key; we hold one, so any other MKI is refused.
fn check_mki(ctx: &Context, field: &[u8]) -> Result<(), SrtpError> {
    match &ctx.mki {
        Some(mki) if **mki != *field => Err(SrtpError::UnknownMki),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::keys::tests::hex;
    use super::super::{SrtpBlame, SrtpOutbound, MAX_STREAMS};
    use super::*;

    const SUITES: [SrtpSuite; 2] = [
        SrtpSuite::AesCm128HmacSha1_80,
        SrtpSuite::AesCm128HmacSha1_32,
    ];

    fn key(fill: u8) -> MasterKey {
        MasterKey::from_key_salt(&[fill; 30]).unwrap()
    }

    /// A 172-byte G.711 packet: 12-byte header, 160 bytes of payload.
    fn rtp(ssrc: u32, seq: u16, ts: u32) -> Vec<u8> {
        let mut p = vec![0x80, 0x00];
        p.extend(seq.to_be_bytes());
        p.extend(ts.to_be_bytes());
        p.extend(ssrc.to_be_bytes());
        p.extend((0..160).map(|i| (i as u8) ^ (seq as u8)));
        p
    }

    fn rtcp_rr(ssrc: u32) -> Vec<u8> {
        // Receiver report with one block (7 words after the header), then an SDES chunk.
        let mut p = vec![0x81, 201, 0, 7];
        p.extend(ssrc.to_be_bytes());
        p.extend((0..24).map(|i| i as u8));
        p.extend([0x81, 202, 0, 2]);
        p.extend(ssrc.to_be_bytes());
        p.extend([1, 2, b'o', b'd']);
        p
    }

    fn pair(suite: SrtpSuite, k: &MasterKey) -> (SrtpOutbound, SrtpInbound) {
        (SrtpOutbound::new(suite, k), SrtpInbound::new(suite, k))
    }

    #[test]
    fn libsrtp_known_answers_unprotect() {
        let k = MasterKey::from_key_salt(&hex(
            "E1F97A0D3E018BE0D64FA32C06DE4139 0EC675AD498AFEEBB6960B3AABE6",
        ))
        .unwrap();
        let mut inb = SrtpInbound::new(SrtpSuite::AesCm128HmacSha1_80, &k);
        let mut p =
            hex("800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb");
        assert_eq!(inb.unprotect_rtp(&mut p), Ok(SeqNo(0x1234)));
        assert_eq!(
            p,
            hex("800f1234decafbadcafebabe abababababababababababababababab")
        );
        let mut c =
            hex("81c8000bcafebabe 7128035be487b9bdbef89041f977a5a8 80000001 993e08cd54d6c1230798");
        assert_eq!(inb.unprotect_rtcp(&mut c), Ok(1));
        assert_eq!(c, hex("81c8000bcafebabe abababababababababababababababab"));
    }

    #[test]
    fn round_trips_across_the_sequence_number_wrap() {
        for suite in SUITES {
            let (mut out, mut inb) = pair(suite, &key(7));
            for i in 0..300u32 {
                let seq = 65_400u16.wrapping_add(i as u16);
                let plain = rtp(0xCAFE, seq, i * 160);
                let mut p = plain.clone();
                let sent = out.protect_rtp(&mut p).unwrap();
                assert_eq!(p.len(), plain.len() + suite.rtp_tag_len());
                assert_ne!(p[12..172], plain[12..], "payload is encrypted");
                assert_eq!(inb.unprotect_rtp(&mut p), Ok(sent), "{suite:?} seq {seq}");
                assert_eq!(p, plain);
            }
            assert_eq!(inb.packets_accepted(), 300);
            for _ in 0..3 {
                let plain = rtcp_rr(0xCAFE);
                let mut c = plain.clone();
                let index = out.protect_rtcp(&mut c).unwrap();
                assert_eq!(c.len(), plain.len() + 4 + 10);
                assert_eq!(inb.unprotect_rtcp(&mut c), Ok(index));
                assert_eq!(c, plain);
            }
        }
    }

    #[test]
    fn reordering_inside_the_window_is_accepted_across_the_wrap() {
        let (mut out, mut inb) = pair(SrtpSuite::AesCm128HmacSha1_80, &key(3));
        let packets: Vec<Vec<u8>> = (0..10u16)
            .map(|i| {
                let mut p = rtp(1, 65_530u16.wrapping_add(i), 0);
                out.protect_rtp(&mut p).unwrap();
                p
            })
            .collect();
        // 65530, then everything after the wrap, then the late ones from before it.
        for i in [0usize, 6, 7, 8, 9, 1, 2, 3, 4, 5] {
            let mut p = packets[i].clone();
            let index = inb.unprotect_rtp(&mut p).unwrap();
            assert_eq!(index.0, 65_530 + i as u64);
        }
    }

    #[test]
    fn tampered_replayed_and_wrongly_keyed_packets_are_refused() {
        let (mut out, mut inb) = pair(SrtpSuite::AesCm128HmacSha1_80, &key(1));
        let mut sent = rtp(9, 100, 0);
        out.protect_rtp(&mut sent).unwrap();

        // Every single-bit flip, header, payload or tag, fails authentication.
        for byte in 0..sent.len() {
            let mut p = sent.clone();
            p[byte] ^= 0x04;
            let before = p.clone();
            let e = inb.unprotect_rtp(&mut p).unwrap_err();
            assert!(
                matches!(e, SrtpError::Authentication | SrtpError::Version(_)),
                "byte {byte}: {e:?}"
            );
            assert_eq!(p, before, "a refused packet is left as it was");
        }
        assert_eq!(inb.packets_accepted(), 0, "no forgery moved the state");

        let mut p = sent.clone();
        inb.unprotect_rtp(&mut p).unwrap();
        let mut replay = sent.clone();
        let e = inb.unprotect_rtp(&mut replay).unwrap_err();
        assert_eq!(e, SrtpError::Replayed { index: 100 });
        assert_eq!(e.blame(), SrtpBlame::Replay);

        let mut wrong = SrtpInbound::new(SrtpSuite::AesCm128HmacSha1_80, &key(2));
        let e = wrong.unprotect_rtp(&mut sent.clone()).unwrap_err();
        assert_eq!(e, SrtpError::Authentication);
        assert_eq!(e.blame(), SrtpBlame::Authentication);

        // The same for SRTCP, including a flipped E flag.
        let mut c = rtcp_rr(9);
        out.protect_rtcp(&mut c).unwrap();
        let e_flag = c.len() - 10 - 4;
        for byte in [0, 5, 9, e_flag, c.len() - 1] {
            let mut t = c.clone();
            t[byte] ^= 0x80;
            assert!(inb.unprotect_rtcp(&mut t).is_err(), "rtcp byte {byte}");
        }
        assert_eq!(
            wrong.unprotect_rtcp(&mut c.clone()),
            Err(SrtpError::Authentication)
        );
        inb.unprotect_rtcp(&mut c.clone()).unwrap();
        assert_eq!(
            inb.unprotect_rtcp(&mut c),
            Err(SrtpError::Replayed { index: 0 })
        );
    }

    #[test]
    fn packets_behind_the_window_are_refused_as_replays() {
        let (mut out, mut inb) = pair(SrtpSuite::AesCm128HmacSha1_80, &key(4));
        let mut old = rtp(5, 1000, 0);
        out.protect_rtp(&mut old).unwrap();
        for seq in 1001..=1064 {
            let mut p = rtp(5, seq, 0);
            out.protect_rtp(&mut p).unwrap();
            inb.unprotect_rtp(&mut p).unwrap();
        }
        assert_eq!(
            inb.unprotect_rtp(&mut old),
            Err(SrtpError::Replayed { index: 1000 })
        );
    }

    #[test]
    fn an_mki_is_carried_and_checked() {
        let k = key(8).with_mki(&[0, 0, 0, 1]).unwrap();
        let (mut out, mut inb) = pair(SrtpSuite::AesCm128HmacSha1_32, &k);
        let plain = rtp(2, 7, 0);
        let mut p = plain.clone();
        out.protect_rtp(&mut p).unwrap();
        assert_eq!(out.rtp_overhead(), 8);
        assert_eq!(&p[p.len() - 8..p.len() - 4], &[0, 0, 0, 1]);
        let mut other = p.clone();
        let at = other.len() - 5;
        other[at] = 2;
        assert_eq!(inb.unprotect_rtp(&mut other), Err(SrtpError::UnknownMki));
        inb.unprotect_rtp(&mut p).unwrap();
        assert_eq!(p, plain);
        let mut c = rtcp_rr(2);
        out.protect_rtcp(&mut c).unwrap();
        inb.unprotect_rtcp(&mut c).unwrap();
        assert_eq!(c, rtcp_rr(2));
    }

    #[test]
    fn unencrypted_srtcp_is_refused_after_authentication() {
        // Build an authentic packet with E clear by hand: index word 0, tag over it.
        let k = key(6);
        let keys = super::super::keys::SessionKeys::derive(&k, super::super::keys::Layer::Rtcp);
        let mut c = rtcp_rr(4);
        c.extend(0u32.to_be_bytes());
        let tag = keys.tag(&c, &[]);
        c.extend(&tag[..10]);
        let mut inb = SrtpInbound::new(SrtpSuite::AesCm128HmacSha1_80, &k);
        assert_eq!(inb.unprotect_rtcp(&mut c), Err(SrtpError::Unencrypted));
    }

    #[test]
    fn truncated_and_garbage_packets_never_panic() {
        let (mut out, mut inb) = pair(SrtpSuite::AesCm128HmacSha1_80, &key(1));
        let mut sent = rtp(9, 1, 0);
        out.protect_rtp(&mut sent).unwrap();
        for len in 0..sent.len() {
            let mut p = sent[..len].to_vec();
            assert!(inb.unprotect_rtp(&mut p).is_err(), "len {len}");
            assert!(inb.unprotect_rtcp(&mut p).is_err(), "len {len}");
        }
        let mut seed = 0x1234_5678u32;
        for _ in 0..2000 {
            let len = (seed % 64) as usize;
            let mut p: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    seed as u8
                })
                .collect();
            let _ = inb.unprotect_rtp(&mut p);
            let _ = inb.unprotect_rtcp(&mut p);
        }
        assert_eq!(inb.packets_accepted(), 0);
    }

    #[test]
    fn the_stream_table_is_bounded_and_grows_only_on_authentic_packets() {
        let (mut out, mut inb) = pair(SrtpSuite::AesCm128HmacSha1_80, &key(5));
        for ssrc in 0..MAX_STREAMS as u32 {
            let mut p = rtp(ssrc, 1, 0);
            out.protect_rtp(&mut p).unwrap();
            inb.unprotect_rtp(&mut p).unwrap();
        }
        let mut p = rtp(u32::MAX, 1, 0);
        let e = out.protect_rtp(&mut p).unwrap_err();
        assert_eq!(e, SrtpError::TooManyStreams { max: MAX_STREAMS });
        assert_eq!(e.blame(), SrtpBlame::Capacity);
        // A second sender with the same key (another SSRC of the peer) is refused inbound too,
        // and the refusal leaves the packet as it was.
        let mut other = SrtpOutbound::new(SrtpSuite::AesCm128HmacSha1_80, &key(5));
        other.protect_rtp(&mut p).unwrap();
        let before = p.clone();
        assert_eq!(
            inb.unprotect_rtp(&mut p),
            Err(SrtpError::TooManyStreams { max: MAX_STREAMS })
        );
        assert_eq!(p, before);
        // A forged packet of a new SSRC never reaches the table: it fails authentication first.
        let mut forged = rtp(u32::MAX - 1, 1, 0);
        forged.extend([0; 10]);
        assert_eq!(
            inb.unprotect_rtp(&mut forged),
            Err(SrtpError::Authentication)
        );
    }
}
