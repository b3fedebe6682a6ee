//! Media for outdial: the RTP side of every call leg, below the engine and beside `sip`.
//!
//! This crate owns one UDP socket per leg, the RTP streams sent and received on it, the audio
//! played into it, the relay that connects a customer's leg to an agent's, and the pool of RTP
//! ports. It knows nothing of SIP, actors, campaigns or storage: the engine learns addresses and
//! codecs from SDP and hands them in.
//!
//! Layers, dependencies pointing down (see ../shared/STYLE.md):
//!
//! ```text
//!   leg         socket glue (tokio): RtpLeg; leg::bridge runs a Bridge between two legs' sockets.
//!               The only module with sockets or a clock.
//!   relay       sans-IO Bridge: forwards packets between two legs with SSRC/seq/ts continuity
//!   amd         sans-IO answering-machine detection on decoded frames: verdict and beep end
//!   rtp, stats  sans-IO RtpSender and Pacer; ReceiveStats (RFC 3550 A.1, A.3, A.8)
//!   srtp        sans-IO SRTP/SRTCP (RFC 3711) with SDES keys: SrtpOutbound, SrtpInbound
//!   dtmf        sans-IO RFC 4733 telephone-events: DtmfSender, DtmfReceiver
//!   prompt      audio to play: WAV (strict), raw G.711 or a tone, as 20 ms frames
//!   codec       G.711 µ-law / A-law, bit-exact with ITU-T G.191
//!   types       Ssrc, SeqNo (extended), RtpTime (with its clock rate)
//!   ports       PortPool / PortLease (released on drop)
//!   error       MediaError, grouped by blame
//! ```
//!
//! The cores never read the clock: every call takes `now`. Bytes from the network never panic: a
//! malformed datagram is counted and dropped.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod amd;
pub mod codec;
pub mod dtmf;
pub mod error;
pub mod leg;
pub mod ports;
pub mod prompt;
pub mod relay;
pub mod rtp;
pub mod srtp;
pub mod stats;
pub mod types;

pub use codec::Codec;
pub use dtmf::{Digit, DtmfEvent, DtmfReceiver, DtmfSender};
pub use error::{Blame, MediaError, PromptProblem, RtpProblem};
pub use leg::{spawn_bridge, AudioFrame, BridgeHandle, BridgeStats, LegStats, RtpLeg};
pub use ports::{MediaTotals, PortLease, PortPool};
pub use prompt::Prompt;
pub use relay::{Bridge, BridgeSide, RelayCounters, Side};
pub use rtp::{Pacer, RtpSender};
pub use srtp::{MasterKey, SrtpError, SrtpInbound, SrtpOutbound, SrtpSuite};
pub use stats::ReceiveStats;
pub use types::{RtpTime, SeqNo, Ssrc};

/// The origin of virtual time in unit tests: only offsets from it matter, never its value.
#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests need some Instant to add offsets to
pub(crate) fn test_epoch() -> std::time::Instant {
    std::time::Instant::now()
}
