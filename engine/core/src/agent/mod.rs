//! One agent's session as a plain state machine: desktop commands and engine events in,
//! desktop events and effects out, time as an argument. The agent actor (node) and the
//! simulator drive the same type.
//!
//! Contract (as for the SIP endpoint): after every `handle_*`/`on_*` call, drain
//! [`AgentSession::poll_output`] until it returns `None`, and re-arm the timer from
//! [`AgentSession::poll_timeout`].
//!
//! Three things are tracked separately, as docs/design.md §3 does:
//! - the **call state** (Idle, Preview, Dialing, Talking, Held, ..., Wrapup, PendingCall);
//! - the **nail** (the SIP leg to the agent's phone that stays up while logged in);
//! - the **job** the agent is attached to, with job end and pending moves.
//!
//! An agent takes a call only when all three allow it: nailed, ready, Idle, attached to a
//! running job ([`AgentSession::is_available`]).

mod io;
mod session;
pub mod takeover;
mod times;
mod types;

pub use io::{AgentConfig, AgentEffect, AgentEvent, AgentTimer, Command, CommandError, Output};
pub use session::{AgentSession, Restored, TakenOver};
pub use times::{is_disposition, AgentTimes};
pub use types::{AgentId, CallInfo, CallState, EndedBy, JobAttachment, LogoutReason, NailState};

#[cfg(test)]
#[path = "session_tests/mod.rs"]
mod tests;
