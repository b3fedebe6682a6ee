//! SIP for outdial: everything between UDP datagrams or TCP/TLS streams and call events.
//!
//! Layers, dependencies pointing down (see ../shared/STYLE.md):
//!
//! ```text
//!   transport   the only module that owns sockets: UDP shell; Shell with TCP and TLS
//!               listeners and connections (conn tasks, rustls configs in transport::tls)
//!   endpoint    sans-IO core: routes messages to transactions and dialogs
//!   dialog      UAC/UAS dialogs, consuming transaction events
//!   txn         RFC 3261 §17 transactions: four machines, one state type each; no
//!               retransmit timers on reliable transports
//!   resolve     RFC 3263: transport from a URI, NAPTR/SRV ordering, a Dns trait the shell fills
//!   guard       per-source rate limits (pike-like) on what the endpoint answers statelessly
//!   register    the registration client (REGISTER, refresh, back-off), hosted by the endpoint
//!   auth, ids   digest authentication; random Call-IDs (with the caller id's prefix), tags
//!               and branches from a CSPRNG
//!   msg, sdp    strict framing and validation in front of rsip (msg::stream frames TCP/TLS
//!               byte streams); a small strict SDP
//!   peer        Peer (transport + address) and Transport, named by every layer above
//! ```
//!
//! The protocol cores never read the clock: every call takes `now`.
#![forbid(unsafe_code)]

pub mod auth;
pub mod build;
pub mod dialog;
pub mod endpoint;
pub mod error;
pub mod guard;
pub mod ids;
pub mod msg;
pub mod peer;
pub mod register;
pub mod resolve;
pub mod sdp;
pub mod time;
pub mod transport;
pub mod txn;

pub use dialog::{CallEvent, EndReason};
pub use endpoint::{
    CallKey, Dial, Endpoint, EndpointConfig, EndpointStats, Event, IncomingCall, InvitePolicy,
    RegKey,
};
pub use error::Error;
pub use guard::{Guard, GuardConfig};
pub use peer::{Peer, Transport};
pub use txn::{TimerConfig, Transmit};
