//! Why a packet was not protected or not accepted, grouped by who is to blame.

/// Who is to blame for an [`SrtpError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SrtpBlame {
    /// The bytes are not an SRTP or SRTCP packet of the negotiated shape.
    Malformed,
    /// The authentication tag does not match: a forgery, a corruption, or the wrong key.
    Authentication,
    /// The packet was accepted before, or is too old to tell.
    Replay,
    /// The caller broke a rule of the API (reused an index, used a key past its lifetime).
    Misuse,
    /// A bound on the state kept for the session was reached.
    Capacity,
}

/// Everything that can go wrong protecting or unprotecting one packet.
///
/// Cheap to return (it is `Copy`): a receiver counts and drops refused packets at packet rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SrtpError {
    // --- malformed ---
    /// Shorter than its headers and trailer.
    #[error("{len}-byte packet is shorter than the {needed} bytes its headers and trailer need")]
    TooShort {
        /// Bytes in the packet.
        len: usize,
        /// Bytes its headers, SRTCP index, MKI and tag need.
        needed: usize,
    },
    /// The version field is not 2.
    #[error("RTP/RTCP version {0}, expected 2")]
    Version(u8),
    /// The MKI field does not name the master key in use.
    #[error("the packet's MKI does not name our master key")]
    UnknownMki,
    /// An SRTCP packet whose E flag says it was sent in the clear, which was not negotiated.
    #[error("SRTCP packet is not encrypted (E flag clear); unencrypted SRTCP was not negotiated")]
    Unencrypted,

    // --- authentication ---
    /// The authentication tag does not match the packet.
    #[error("authentication tag does not match (forged, corrupted or wrong key)")]
    Authentication,

    // --- replay ---
    /// The packet's index was accepted before, or lies behind the 64-packet replay window.
    #[error("packet index {index} was already accepted or is behind the replay window")]
    Replayed {
        /// The SRTP index (48 bits) or SRTCP index (31 bits).
        index: u64,
    },

    // --- misuse ---
    /// A packet with this SSRC and index was already protected: sending it again would reuse
    /// keystream.
    #[error("index {index} was already protected with this key (keystream reuse refused)")]
    IndexReused {
        /// The SRTP or SRTCP index.
        index: u64,
    },
    /// The master key has protected as many packets as its lifetime allows, or the index space
    /// (2^48 SRTP, 2^31 SRTCP) is used up: re-key.
    #[error("master key exhausted after {packets} packets; re-key")]
    KeyExhausted {
        /// Packets processed with the key.
        packets: u64,
    },
    /// Key material of the wrong length.
    #[error("{what} is {got} bytes, expected {expected}")]
    KeyLength {
        /// Which part (`"master key and salt"`, `"MKI"`).
        what: &'static str,
        /// Bytes given.
        got: usize,
        /// Bytes required.
        expected: usize,
    },
    /// A master key lifetime of zero or above 2^48 packets.
    #[error("master key lifetime {0} is outside 1..=2^48 packets")]
    Lifetime(u64),

    // --- capacity ---
    /// More SSRCs than one session keeps state for.
    #[error("more than {max} SSRCs in one SRTP session")]
    TooManyStreams {
        /// The bound.
        max: usize,
    },
}

impl SrtpError {
    /// Which group this error belongs to.
    pub fn blame(&self) -> SrtpBlame {
        match self {
            Self::TooShort { .. } | Self::Version(_) | Self::UnknownMki | Self::Unencrypted => {
                SrtpBlame::Malformed
            }
            Self::Authentication => SrtpBlame::Authentication,
            Self::Replayed { .. } => SrtpBlame::Replay,
            Self::IndexReused { .. }
            | Self::KeyExhausted { .. }
            | Self::KeyLength { .. }
            | Self::Lifetime(_) => SrtpBlame::Misuse,
            Self::TooManyStreams { .. } => SrtpBlame::Capacity,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Blame, MediaError};

    #[test]
    fn media_error_keeps_the_blame() {
        let cases = [
            (SrtpError::Version(1), SrtpBlame::Malformed, Blame::Peer),
            (
                SrtpError::Authentication,
                SrtpBlame::Authentication,
                Blame::Peer,
            ),
            (
                SrtpError::Replayed { index: 3 },
                SrtpBlame::Replay,
                Blame::Peer,
            ),
            (
                SrtpError::IndexReused { index: 3 },
                SrtpBlame::Misuse,
                Blame::Caller,
            ),
            (
                SrtpError::TooManyStreams { max: 1 },
                SrtpBlame::Capacity,
                Blame::Capacity,
            ),
        ];
        for (e, srtp, media) in cases {
            assert_eq!(e.blame(), srtp);
            let m = MediaError::from(e);
            assert_eq!(m.blame(), media);
            assert!(m.to_string().starts_with("SRTP: "));
        }
    }
}
