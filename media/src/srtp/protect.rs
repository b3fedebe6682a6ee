//! The sending side: encrypts and tags the RTP and RTCP we send (RFC 3711 §3.3, §3.4).

use crate::types::SeqNo;

use super::keys::MasterKey;
use super::{
    be_u32, check_rtcp, rtp_header_len, Context, SrtpError, SrtpSuite, MAX_SRTCP_INDEX,
    MAX_SRTP_INDEX, RTCP_HEADER_LEN, SRTCP_E_FLAG,
};

/// Protects one direction of a call: the packets we send, under our master key.
///
/// Each SSRC gets its own index: the SRTP index follows the sequence numbers (rollover counter
/// and all), the SRTCP index counts that SSRC's RTCP packets from 0. Protecting the same index
/// twice is refused, since it would reuse keystream.
#[derive(Debug, Clone)]
pub struct SrtpOutbound {
    ctx: Context,
}

impl SrtpOutbound {
    /// A sending context for `suite` under `key`.
    pub fn new(suite: SrtpSuite, key: &MasterKey) -> SrtpOutbound {
        SrtpOutbound {
            ctx: Context::new(suite, key),
        }
    }

    /// The suite in use.
    pub fn suite(&self) -> SrtpSuite {
        self.ctx.suite
    }

    /// Bytes [`Self::protect_rtp`] adds to a packet (MKI and tag).
    pub fn rtp_overhead(&self) -> usize {
        self.ctx.mki_len() + self.ctx.suite.rtp_tag_len()
    }

    /// Packets protected so far under this key.
    pub fn packets_protected(&self) -> u64 {
        self.ctx.used
    }

    /// Encrypts the payload of the RTP packet in `packet` and appends the MKI and tag; returns
    /// the packet's SRTP index. On error `packet` is unchanged.
    pub fn protect_rtp(&mut self, packet: &mut Vec<u8>) -> Result<SeqNo, SrtpError> {
        let header_len = rtp_header_len(packet)?;
        let ctx = &mut self.ctx;
        ctx.check_lifetime()?;
        let ssrc = be_u32(packet, 8);
        let seq = u16::from_be_bytes([packet[2], packet[3]]);
        ctx.rtp_streams.has_room_for(ssrc)?;
        let index = ctx.rtp_streams.estimate(ssrc, seq);
        if index.0 > MAX_SRTP_INDEX {
            return Err(SrtpError::KeyExhausted { packets: ctx.used });
        }
        if !ctx.rtp_streams.fresh(ssrc, index.0) {
            return Err(SrtpError::IndexReused { index: index.0 });
        }
        ctx.rtp
            .apply_keystream(ssrc, index.0, &mut packet[header_len..]);
        let roc = ((index.0 >> 16) as u32).to_be_bytes();
        let tag = ctx.rtp.tag(packet, &roc);
        if let Some(mki) = &ctx.mki {
            packet.extend_from_slice(mki);
        }
        packet.extend_from_slice(&tag[..ctx.suite.rtp_tag_len()]);
        ctx.rtp_streams.accept(ssrc, index.0)?;
        ctx.used += 1;
        Ok(index)
    }

    /// Encrypts the RTCP compound packet in `packet` after its first 8 bytes, then appends the E
    /// flag and SRTCP index, the MKI and the tag; returns the SRTCP index. On error `packet` is
    /// unchanged.
    pub fn protect_rtcp(&mut self, packet: &mut Vec<u8>) -> Result<u32, SrtpError> {
        check_rtcp(packet, 0)?;
        let ctx = &mut self.ctx;
        ctx.check_lifetime()?;
        let ssrc = be_u32(packet, 4);
        ctx.rtcp_streams.has_room_for(ssrc)?;
        let index = ctx.rtcp_streams.get(ssrc).map_or(0, |w| w.highest() + 1);
        if index > MAX_SRTCP_INDEX {
            return Err(SrtpError::KeyExhausted { packets: ctx.used });
        }
        ctx.rtcp
            .apply_keystream(ssrc, index, &mut packet[RTCP_HEADER_LEN..]);
        // INVARIANT: index <= 2^31 - 1, checked above.
        let word = u32::try_from(index).expect("31-bit index") | SRTCP_E_FLAG;
        packet.extend_from_slice(&word.to_be_bytes());
        let tag = ctx.rtcp.tag(packet, &[]);
        if let Some(mki) = &ctx.mki {
            packet.extend_from_slice(mki);
        }
        packet.extend_from_slice(&tag[..ctx.suite.rtcp_tag_len()]);
        ctx.rtcp_streams.accept(ssrc, index)?;
        ctx.used += 1;
        Ok(word & !SRTCP_E_FLAG)
    }
}

#[cfg(test)]
mod tests {
    use super::super::keys::tests::hex;
    use super::*;

    fn key() -> MasterKey {
        MasterKey::from_key_salt(&hex(
            "E1F97A0D3E018BE0D64FA32C06DE4139 0EC675AD498AFEEBB6960B3AABE6",
        ))
        .unwrap()
    }

    /// libsrtp's known answer (srtp_driver.c), which other stacks test against too.
    #[test]
    fn rtp_matches_libsrtp_known_answer() {
        let mut out = SrtpOutbound::new(SrtpSuite::AesCm128HmacSha1_80, &key());
        let mut p = hex("800f1234decafbadcafebabe abababababababababababababababab");
        assert_eq!(out.protect_rtp(&mut p), Ok(SeqNo(0x1234)));
        assert_eq!(
            p,
            hex("800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb")
        );
        assert_eq!(out.packets_protected(), 1);
    }

    #[test]
    fn rtcp_matches_libsrtp_known_answer() {
        let mut out = SrtpOutbound::new(SrtpSuite::AesCm128HmacSha1_80, &key());
        let plain = hex("81c8000bcafebabe abababababababababababababababab");
        let mut first = plain.clone();
        assert_eq!(out.protect_rtcp(&mut first), Ok(0));
        // libsrtp's vector is the second packet of the stream: SRTCP index 1.
        let mut p = plain;
        assert_eq!(out.protect_rtcp(&mut p), Ok(1));
        assert_eq!(
            p,
            hex("81c8000bcafebabe 7128035be487b9bdbef89041f977a5a8 80000001 993e08cd54d6c1230798")
        );
    }

    #[test]
    fn sha1_32_suite_tags_rtp_with_four_bytes_and_rtcp_with_ten() {
        let mut out = SrtpOutbound::new(SrtpSuite::AesCm128HmacSha1_32, &key());
        let mut p = hex("800f1234decafbadcafebabe abababababababababababababababab");
        out.protect_rtp(&mut p).unwrap();
        assert_eq!(p.len(), 28 + 4);
        // Same keystream and HMAC as the 80-bit suite, shorter tag.
        assert_eq!(
            p,
            hex("800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc")
        );
        let mut r = hex("81c8000bcafebabe abababababababababababababababab");
        out.protect_rtcp(&mut r).unwrap();
        assert_eq!(r.len(), 24 + 4 + 10);
    }

    #[test]
    fn reusing_an_index_or_a_spent_key_is_refused() {
        let mut out = SrtpOutbound::new(SrtpSuite::AesCm128HmacSha1_80, &key());
        let plain = hex("800f1234decafbadcafebabe abab");
        let mut p = plain.clone();
        out.protect_rtp(&mut p).unwrap();
        let mut again = plain.clone();
        assert_eq!(
            out.protect_rtp(&mut again),
            Err(SrtpError::IndexReused { index: 0x1234 })
        );
        assert_eq!(again, plain, "a refused packet is left as it was");

        let short = key().with_lifetime(2).unwrap();
        let mut out = SrtpOutbound::new(SrtpSuite::AesCm128HmacSha1_80, &short);
        out.protect_rtp(&mut plain.clone()).unwrap();
        out.protect_rtcp(&mut hex("81c8000bcafebabe")).unwrap();
        assert_eq!(
            out.protect_rtp(&mut hex("800f1235decafbadcafebabe")),
            Err(SrtpError::KeyExhausted { packets: 2 })
        );
    }

    #[test]
    fn malformed_packets_are_refused_without_panicking() {
        let mut out = SrtpOutbound::new(SrtpSuite::AesCm128HmacSha1_80, &key());
        for bad in [
            &[][..],
            &[0x80; 11][..],
            &[0x40; 12][..],
            &[0x8f; 12][..],
            &[0x90; 12][..],
        ] {
            let mut p = bad.to_vec();
            assert!(out.protect_rtp(&mut p).is_err(), "{bad:?}");
            assert_eq!(p, bad);
        }
        assert!(out.protect_rtcp(&mut vec![0x81, 0xc8, 0, 1]).is_err());
        assert_eq!(
            out.protect_rtcp(&mut vec![0x41; 8]),
            Err(SrtpError::Version(1))
        );
    }
}
