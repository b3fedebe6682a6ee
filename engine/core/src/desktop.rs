//! The desktop protocol: JSON messages over a WebSocket between an agent's desktop and the
//! node (docs/desktop-protocol.md). Parsing is strict: a message that is not one of these
//! shapes gets an `error` event and changes nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::agent::{
    AgentEvent, AgentId, CallInfo, CallState, Command, EndedBy, JobAttachment, LogoutReason,
    NailState,
};
use crate::domain::{AttemptId, CompletionCode, ContactId, JobId, UnixMs};

/// What a desktop sends. Every message may carry an `id`, echoed in the `error` or `ok` it
/// causes, so a desktop can match replies to requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ClientMessage {
    Login {
        #[serde(default)]
        id: Option<u64>,
        agent: String,
        password: String,
        zone: String,
        /// The agent's phone, `sip:user@host:port`: the node calls it and keeps the call up.
        phone: String,
    },
    Ready {
        #[serde(default)]
        id: Option<u64>,
    },
    NotReady {
        #[serde(default)]
        id: Option<u64>,
        #[serde(default)]
        reason: Option<String>,
    },
    AcceptPreview {
        #[serde(default)]
        id: Option<u64>,
        #[serde(default)]
        attempt: Option<AttemptId>,
    },
    SkipPreview {
        #[serde(default)]
        id: Option<u64>,
        #[serde(default)]
        attempt: Option<AttemptId>,
    },
    Hold {
        #[serde(default)]
        id: Option<u64>,
    },
    Unhold {
        #[serde(default)]
        id: Option<u64>,
    },
    HangUp {
        #[serde(default)]
        id: Option<u64>,
        #[serde(default)]
        attempt: Option<AttemptId>,
    },
    Dispose {
        #[serde(default)]
        id: Option<u64>,
        #[serde(default)]
        attempt: Option<AttemptId>,
        /// A completion code an agent may give (`answered-human`, `answered-machine`, `busy`,
        /// `no-answer`, `invalid-number`, `declined`, `blocked`).
        code: CompletionCode,
        /// Call the contact back at this time (Unix ms), whatever the retry rules say.
        #[serde(default)]
        callback_at_ms: Option<UnixMs>,
    },
    Logout {
        #[serde(default)]
        id: Option<u64>,
    },
    Heartbeat {
        #[serde(default)]
        id: Option<u64>,
    },
    /// The answer to `state-check`: the call state and attempt of the last `state` event the
    /// desktop processed.
    StateReport {
        #[serde(default)]
        id: Option<u64>,
        call_state: CallState,
        #[serde(default)]
        attempt: Option<AttemptId>,
    },
}

/// Every message's `id` field, by reference: one list of variants for reading and setting it.
macro_rules! with_id {
    ($msg:expr, $id:ident => $body:expr) => {
        match $msg {
            ClientMessage::Login { id: $id, .. }
            | ClientMessage::Ready { id: $id }
            | ClientMessage::NotReady { id: $id, .. }
            | ClientMessage::AcceptPreview { id: $id, .. }
            | ClientMessage::SkipPreview { id: $id, .. }
            | ClientMessage::Hold { id: $id }
            | ClientMessage::Unhold { id: $id }
            | ClientMessage::HangUp { id: $id, .. }
            | ClientMessage::Dispose { id: $id, .. }
            | ClientMessage::Logout { id: $id }
            | ClientMessage::Heartbeat { id: $id }
            | ClientMessage::StateReport { id: $id, .. } => $body,
        }
    };
}

impl ClientMessage {
    pub fn id(&self) -> Option<u64> {
        with_id!(self, id => *id)
    }

    /// Stamps the message with `id` (a desktop numbering its requests).
    pub fn set_id(&mut self, want: u64) {
        with_id!(self, id => *id = Some(want))
    }

    /// The attempt a command names, if it names one: it must be the agent's own call.
    pub fn attempt(&self) -> Option<AttemptId> {
        match self {
            ClientMessage::AcceptPreview { attempt, .. }
            | ClientMessage::SkipPreview { attempt, .. }
            | ClientMessage::HangUp { attempt, .. }
            | ClientMessage::Dispose { attempt, .. } => *attempt,
            _ => None,
        }
    }

    /// The session command, for messages that are one (not login or heartbeat).
    pub fn command(&self) -> Option<Command> {
        Some(match self {
            ClientMessage::Ready { .. } => Command::Ready,
            ClientMessage::NotReady { reason, .. } => Command::NotReady {
                reason: reason.clone().unwrap_or_else(|| "not-ready".to_owned()),
            },
            ClientMessage::AcceptPreview { .. } => Command::AcceptPreview,
            ClientMessage::SkipPreview { .. } => Command::SkipPreview,
            ClientMessage::Hold { .. } => Command::Hold,
            ClientMessage::Unhold { .. } => Command::Unhold,
            ClientMessage::HangUp { .. } => Command::HangUp,
            ClientMessage::Dispose {
                code,
                callback_at_ms,
                ..
            } => Command::Dispose {
                code: *code,
                callback_at: *callback_at_ms,
            },
            ClientMessage::Logout { .. } => Command::Logout,
            ClientMessage::Login { .. }
            | ClientMessage::Heartbeat { .. }
            | ClientMessage::StateReport { .. } => return None,
        })
    }
}

/// The screen pop: the contact's data with its call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactCard {
    pub attempt: AttemptId,
    pub job: JobId,
    pub contact: ContactId,
    pub phone: String,
    pub fields: BTreeMap<String, String>,
}

impl From<&CallInfo> for ContactCard {
    fn from(c: &CallInfo) -> Self {
        Self {
            attempt: c.attempt,
            job: c.job,
            contact: c.contact,
            phone: c.phone.clone(),
            fields: c.fields.clone(),
        }
    }
}

/// What the node sends a desktop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerMessage {
    /// Login accepted. The desktop must send something at least every `heartbeat_ms`; after
    /// `missed_heartbeats` silent intervals it is treated as disconnected.
    LoggedIn {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        id: Option<u64>,
        agent: String,
        zone: String,
        heartbeat_ms: u64,
        missed_heartbeats: u32,
        /// Wrap-up ends with the default disposition after this long (a desktop shows the
        /// countdown; the node keeps the time).
        #[serde(skip_serializing_if = "Option::is_none", default)]
        wrapup_timeout_ms: Option<u64>,
    },
    /// A command was carried out.
    Ok {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        id: Option<u64>,
    },
    /// The agent's whole state, after every change.
    State {
        call_state: CallState,
        ready: bool,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        not_ready_reason: Option<String>,
        nail: NailState,
        job: JobWire,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        attempt: Option<AttemptId>,
    },
    /// A customer is on the line now (screen pop).
    Call(ContactCard),
    /// A contact to accept or skip.
    Preview(ContactCard),
    CallEnded {
        attempt: AttemptId,
        by: EndedBy,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        code: Option<CompletionCode>,
    },
    /// Whether the zone's agent service is up (a takeover in progress says false).
    Service {
        available: bool,
    },
    /// After a takeover: answer with `state-report` (what the last `state` event said), or be
    /// logged out with desktop-error.
    StateCheck,
    LoggedOut {
        reason: LogoutReason,
    },
    Error {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        id: Option<u64>,
        /// A stable name: `malformed`, `not-logged-in`, `auth`, `already-logged-in`,
        /// `unknown-zone`, `bad-phone`, `not-in-state`, `not-your-call`, `bad-disposition`,
        /// `bad-callback`, `logged-out`, `unavailable`.
        code: String,
        message: String,
    },
    Heartbeat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum JobWire {
    Unattached,
    Attached { job: JobId },
    JobEnded { job: JobId },
    PendingMove { from: JobId, to: JobId },
}

impl From<JobAttachment> for JobWire {
    fn from(j: JobAttachment) -> Self {
        match j {
            JobAttachment::Unattached => Self::Unattached,
            JobAttachment::Attached(job) => Self::Attached { job },
            JobAttachment::JobEnded(job) => Self::JobEnded { job },
            JobAttachment::PendingMove { from, to } => Self::PendingMove { from, to },
        }
    }
}

impl ServerMessage {
    /// The wire form of a session event; `State` needs the session to fill it.
    pub fn from_event(ev: &AgentEvent, session: &crate::agent::AgentSession) -> Self {
        match ev {
            AgentEvent::State => ServerMessage::State {
                call_state: session.call_state(),
                ready: session.is_ready(),
                not_ready_reason: session.not_ready_reason().map(str::to_owned),
                nail: session.nail(),
                job: session.job().into(),
                attempt: session.call().map(|c| c.attempt),
            },
            AgentEvent::Call(info) => ServerMessage::Call(info.into()),
            AgentEvent::Preview(info) => ServerMessage::Preview(info.into()),
            AgentEvent::CallEnded { attempt, by, code } => ServerMessage::CallEnded {
                attempt: *attempt,
                by: *by,
                code: *code,
            },
            AgentEvent::LoggedOut(r) => ServerMessage::LoggedOut { reason: *r },
            AgentEvent::Service { available } => ServerMessage::Service {
                available: *available,
            },
            AgentEvent::StateCheck => ServerMessage::StateCheck,
        }
    }

    pub fn error(id: Option<u64>, code: &str, message: impl Into<String>) -> Self {
        ServerMessage::Error {
            id,
            code: code.to_owned(),
            message: message.into(),
        }
    }

    pub fn to_json(&self) -> String {
        // INVARIANT: these types serialize to JSON infallibly (no maps with non-string keys).
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"type\":\"heartbeat\"}"))
    }
}

/// A desktop frame that is not a message of the protocol (the desktop's fault).
#[derive(Debug, thiserror::Error)]
#[error("not a desktop message: {0}")]
pub struct BadFrame(#[source] serde_json::Error);

/// Parses one text frame from a desktop, naming what is wrong.
pub fn parse_client(text: &str) -> Result<ClientMessage, BadFrame> {
    serde_json::from_str(text).map_err(BadFrame)
}

/// An agent the node accepts, from its configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentCredential {
    pub agent: AgentId,
    /// Hex SHA-256 of the password.
    pub password_sha256: String,
    /// Zones the agent may log in to; empty means any.
    pub zones: Vec<String>,
}
