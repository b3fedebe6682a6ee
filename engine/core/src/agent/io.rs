//! What goes into an agent's session (desktop commands) and what comes out (desktop events,
//! effects for the shell to perform, the timer), and its settings.

use std::time::Duration;

use super::{CallInfo, CallState, EndedBy, LogoutReason};
use crate::domain::{AttemptId, CompletionCode, UnixMs};

/// What a desktop may ask. Already authenticated: the session only checks the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Ready,
    NotReady {
        reason: String,
    },
    AcceptPreview,
    SkipPreview,
    Hold,
    Unhold,
    HangUp,
    Dispose {
        code: CompletionCode,
        callback_at: Option<UnixMs>,
    },
    Logout,
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Ready => "ready",
            Command::NotReady { .. } => "not-ready",
            Command::AcceptPreview => "accept-preview",
            Command::SkipPreview => "skip-preview",
            Command::Hold => "hold",
            Command::Unhold => "unhold",
            Command::HangUp => "hang-up",
            Command::Dispose { .. } => "dispose",
            Command::Logout => "logout",
        }
    }
}

/// A command the session refused; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    #[error("`{command}` is not allowed in state {state:?}")]
    NotInState {
        command: &'static str,
        state: CallState,
    },
    #[error("`{0}` is not a disposition an agent may give")]
    NotADisposition(CompletionCode),
    #[error("the callback time is in the past")]
    CallbackInPast,
    #[error("the session has ended")]
    LoggedOut,
    #[error("the zone's agent service is unavailable during a takeover; try again when it says available")]
    Unavailable,
}

impl CommandError {
    /// A stable name for the desktop protocol's `error` event.
    pub fn code(&self) -> &'static str {
        match self {
            CommandError::NotInState { .. } => "not-in-state",
            CommandError::NotADisposition(_) => "bad-disposition",
            CommandError::CallbackInPast => "bad-callback",
            CommandError::LoggedOut => "logged-out",
            CommandError::Unavailable => "unavailable",
        }
    }
}

/// Tells the desktop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentEvent {
    /// The call state, readiness, nail or job changed.
    State,
    /// A customer call is with the agent now (screen pop).
    Call(CallInfo),
    /// A contact to preview.
    Preview(CallInfo),
    CallEnded {
        attempt: AttemptId,
        by: EndedBy,
        code: Option<CompletionCode>,
    },
    LoggedOut(LogoutReason),
    /// The zone's agent service went down (takeover under way) or came back.
    Service {
        available: bool,
    },
    /// After a takeover: the desktop must report the state it holds (docs/design.md §5.2 rule 5).
    StateCheck,
}

/// Asks the shell (the agent actor, or the simulator) to act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentEffect {
    /// Place the nailing call to the agent's phone.
    Nail,
    /// Drop the nailing call.
    DropNail,
    /// Dial the previewed contact for this agent.
    DialPreview(CallInfo),
    /// Give the previewed contact back to its job, undialed.
    ReturnPreview(CallInfo),
    /// End the customer call.
    HangUpCustomer(AttemptId),
    /// Put the customer on hold (music/silence) or take them off.
    HoldCustomer { attempt: AttemptId, on: bool },
    /// The attempt's outcome is known: record it with this code (or schedule the callback).
    Dispose {
        attempt: AttemptId,
        code: CompletionCode,
        callback_at: Option<UnixMs>,
    },
    /// Availability changed: tell the zone's board (it feeds pacing).
    Availability(bool),
    /// The session is over; the shell tears down.
    Ended(LogoutReason),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Desktop(AgentEvent),
    Effect(AgentEffect),
}

/// The session's timers: a closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentTimer {
    /// Wrap-up ran out without a disposition.
    Wrapup,
    /// Time to place the nailing call again.
    Renail,
    /// The desktop did not answer the state check after a takeover in time.
    StateCheck,
}

/// Tunables of a session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgentConfig {
    /// Wrap-up ends with the default disposition after this long.
    pub wrapup_timeout: Duration,
    /// Wait before placing the nailing call again after it dropped or failed.
    pub renail_delay: Duration,
    /// Consecutive nailing failures before the agent is logged out.
    pub max_nail_failures: u32,
    /// How long a desktop has to answer the state check after a takeover.
    pub state_check_timeout: Duration,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            wrapup_timeout: Duration::from_secs(60),
            renail_delay: Duration::from_secs(2),
            max_nail_failures: 3,
            state_check_timeout: Duration::from_secs(5),
        }
    }
}
