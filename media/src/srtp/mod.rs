//! SRTP and SRTCP (RFC 3711) keyed by SDES (RFC 4568): AES-128 counter mode and HMAC-SHA1 tags.
//!
//! ```text
//!   SrtpOutbound  protects the RTP and RTCP we send      (protect.rs)
//!   SrtpInbound   checks, replay-guards and decrypts     (unprotect.rs)
//!   keys          MasterKey; session keys (§4.3, key derivation rate 0), AES-CM, HMAC-SHA1
//!   index         rollover counter and index estimate (§3.3.1), 64-packet replay window
//!   error         SrtpError, grouped by blame
//! ```
//!
//! SDES gives each direction its own master key, so a call has one [`SrtpOutbound`] made from
//! the key in our `a=crypto` line and one [`SrtpInbound`] from the peer's. Each keeps one state
//! per SSRC (at most [`MAX_STREAMS`]), created on the first packet protected or authenticated.
//! Sans-IO: packets in, packets out, no clock; a refused packet leaves the state untouched.

mod error;
mod index;
mod keys;
mod protect;
mod unprotect;

pub use error::{SrtpBlame, SrtpError};
pub use index::{MAX_STREAMS, REPLAY_WINDOW};
pub use keys::{MasterKey, MASTER_KEY_LEN, MASTER_SALT_LEN, MAX_LIFETIME, MAX_MKI_LEN};
pub use protect::SrtpOutbound;
pub use unprotect::SrtpInbound;

use index::Streams;
use keys::{Layer, SessionKeys};

/// The crypto suites we speak (RFC 4568 §6.2): AES-128 counter mode, HMAC-SHA1 tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpSuite {
    /// `AES_CM_128_HMAC_SHA1_80`: 80-bit tags on SRTP and SRTCP.
    AesCm128HmacSha1_80,
    /// `AES_CM_128_HMAC_SHA1_32`: 32-bit tags on SRTP, 80-bit on SRTCP.
    AesCm128HmacSha1_32,
}

impl SrtpSuite {
    /// The suite's name in an SDP `a=crypto` line.
    pub fn sdp_name(self) -> &'static str {
        match self {
            Self::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Self::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    /// The suite an `a=crypto` line names, if we speak it.
    pub fn from_sdp_name(name: &str) -> Option<SrtpSuite> {
        [Self::AesCm128HmacSha1_80, Self::AesCm128HmacSha1_32]
            .into_iter()
            .find(|s| s.sdp_name() == name)
    }

    /// Bytes of the authentication tag on SRTP packets.
    pub fn rtp_tag_len(self) -> usize {
        match self {
            Self::AesCm128HmacSha1_80 => 10,
            Self::AesCm128HmacSha1_32 => 4,
        }
    }

    /// Bytes of the authentication tag on SRTCP packets: 80 bits for both suites.
    pub fn rtcp_tag_len(self) -> usize {
        10
    }
}

/// Bytes of the fixed RTP header.
const RTP_HEADER_LEN: usize = 12;
/// Bytes of the RTCP header left in the clear: first word and sender SSRC.
const RTCP_HEADER_LEN: usize = 8;
/// Bytes of SRTCP's E flag and 31-bit index.
const SRTCP_INDEX_LEN: usize = 4;
/// The E flag in the SRTCP index word.
const SRTCP_E_FLAG: u32 = 1 << 31;
/// SRTP indices are 48 bits (§3.3.1).
const MAX_SRTP_INDEX: u64 = (1 << 48) - 1;
/// SRTCP indices are 31 bits (§3.4).
const MAX_SRTCP_INDEX: u64 = (1 << 31) - 1;

/// What both directions share: the suite, the derived keys, the MKI, the key's use count and
/// the per-SSRC state.
#[derive(Clone)]
struct Context {
    suite: SrtpSuite,
    rtp: SessionKeys,
    rtcp: SessionKeys,
    mki: Option<Box<[u8]>>,
    lifetime: u64,
    /// Packets protected or accepted with this master key.
    used: u64,
    rtp_streams: Streams,
    rtcp_streams: Streams,
}

impl Context {
    fn new(suite: SrtpSuite, key: &MasterKey) -> Context {
        Context {
            suite,
            rtp: SessionKeys::derive(key, Layer::Rtp),
            rtcp: SessionKeys::derive(key, Layer::Rtcp),
            mki: key.mki().map(Into::into),
            lifetime: key.lifetime(),
            used: 0,
            rtp_streams: Streams::default(),
            rtcp_streams: Streams::default(),
        }
    }

    fn mki_len(&self) -> usize {
        self.mki.as_ref().map_or(0, |m| m.len())
    }

    /// Refuses work once the key has done what its lifetime allows.
    fn check_lifetime(&self) -> Result<(), SrtpError> {
        if self.used >= self.lifetime {
            return Err(SrtpError::KeyExhausted { packets: self.used });
        }
        Ok(())
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("suite", &self.suite)
            .field("used", &self.used)
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

/// Length of the RTP header including CSRCs and extension: where encryption starts. Padding is
/// not looked at, since in SRTP it is encrypted.
fn rtp_header_len(packet: &[u8]) -> Result<usize, SrtpError> {
    let too_short = |needed| SrtpError::TooShort {
        len: packet.len(),
        needed,
    };
    let first = *packet.first().ok_or(too_short(RTP_HEADER_LEN))?;
    if packet.len() < RTP_HEADER_LEN {
        return Err(too_short(RTP_HEADER_LEN));
    }
    if first >> 6 != 2 {
        return Err(SrtpError::Version(first >> 6));
    }
    let mut len = RTP_HEADER_LEN + 4 * usize::from(first & 0x0f);
    if first & 0x10 != 0 {
        let words = packet.get(len + 2..len + 4).ok_or(too_short(len + 4))?;
        len += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
    }
    if len > packet.len() {
        return Err(too_short(len));
    }
    Ok(len)
}

/// The big-endian u32 at `at` (the caller has checked the length).
fn be_u32(packet: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&packet[at..at + 4]);
    u32::from_be_bytes(b)
}

/// Checks an RTCP packet's version and length before its header is read.
fn check_rtcp(packet: &[u8], trailer: usize) -> Result<(), SrtpError> {
    let needed = RTCP_HEADER_LEN + trailer;
    if packet.len() < needed {
        return Err(SrtpError::TooShort {
            len: packet.len(),
            needed,
        });
    }
    if packet[0] >> 6 != 2 {
        return Err(SrtpError::Version(packet[0] >> 6));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_by_sdp_name() {
        for s in [
            SrtpSuite::AesCm128HmacSha1_80,
            SrtpSuite::AesCm128HmacSha1_32,
        ] {
            assert_eq!(SrtpSuite::from_sdp_name(s.sdp_name()), Some(s));
            assert_eq!(s.rtcp_tag_len(), 10);
        }
        assert_eq!(SrtpSuite::from_sdp_name("AES_256_CM_HMAC_SHA1_80"), None);
        assert_eq!(SrtpSuite::AesCm128HmacSha1_32.rtp_tag_len(), 4);
    }

    #[test]
    fn header_length_counts_csrcs_and_extension() {
        let mut p = vec![0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(rtp_header_len(&p), Ok(12));
        p[0] = 0x82; // two CSRCs, missing
        assert!(matches!(
            rtp_header_len(&p),
            Err(SrtpError::TooShort { needed: 20, .. })
        ));
        p.extend([0; 8]);
        assert_eq!(rtp_header_len(&p), Ok(20));
        p[0] = 0x92; // and an extension of one word
        p.extend([0xBE, 0xDE, 0, 1, 0, 0, 0, 0]);
        assert_eq!(rtp_header_len(&p), Ok(28));
        p[0] = 0x40;
        assert_eq!(rtp_header_len(&p), Err(SrtpError::Version(1)));
        assert!(rtp_header_len(&[]).is_err());
        assert!(rtp_header_len(&[0x90; 13]).is_err());
    }
}
