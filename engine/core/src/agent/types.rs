//! The words of an agent's session: who the agent is, its call state, its nail, its job.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::{AttemptId, ContactId, JobId};

/// An agent's login name, as the desktop gives it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgentId(pub String);

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The agent call states of docs/design.md §3 (Avaya POM's list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallState {
    Idle,
    /// A contact is shown; the agent accepts (we dial) or skips it.
    Preview,
    /// A call the agent accepted is being dialed.
    Dialing,
    Talking,
    Held,
    Consult,
    ConferenceOwner,
    ConferencePassive,
    /// The customer call ended; waiting for the disposition (or its timeout).
    Wrapup,
    Callback,
    /// Reserved for a call that is being connected.
    PendingCall,
}

impl CallState {
    /// Whether a customer call is up with this agent.
    pub fn on_call(self) -> bool {
        matches!(
            self,
            CallState::Talking
                | CallState::Held
                | CallState::Consult
                | CallState::ConferenceOwner
                | CallState::ConferencePassive
        )
    }
}

/// The agent's phone leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NailState {
    /// The nailing call is being placed.
    Nailing,
    Nailed,
    /// The leg dropped or could not be placed; a re-nail is scheduled.
    UnNailed,
}

/// Which job the agent works for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "job")]
pub enum JobAttachment {
    Unattached,
    Attached(JobId),
    /// The job finished (or stopped) while the agent was attached; it waits for a move.
    JobEnded(JobId),
    /// A supervisor moved the agent while it was busy: the move applies at the next Idle.
    PendingMove {
        from: JobId,
        to: JobId,
    },
}

impl JobAttachment {
    pub(crate) fn dialing_job(self) -> Option<JobId> {
        match self {
            JobAttachment::Attached(j) => Some(j),
            _ => None,
        }
    }
}

/// Why a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogoutReason {
    /// The agent asked.
    Requested,
    /// The phone could not be nailed after repeated tries.
    NailFailed,
    /// The desktop stopped answering heartbeats or closed its connection.
    DesktopLost,
    /// After a takeover the desktop's state did not match ours (docs/design.md §5.2 rule 5).
    DesktopError,
    /// A supervisor logged the agent out.
    Supervisor,
    /// The zone is leaving this node.
    ZoneReleased,
}

/// The contact data a desktop shows with a call or a preview (the screen pop).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallInfo {
    pub attempt: AttemptId,
    pub job: JobId,
    pub contact: ContactId,
    pub phone: String,
    pub fields: BTreeMap<String, String>,
}

/// Who ended a call, as the desktop is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndedBy {
    Customer,
    Agent,
    /// The agent's phone leg dropped.
    PhoneLost,
    /// A preview call that was never answered; `code` says why.
    NotAnswered,
    /// The call dropped while the zone was being taken over (docs/design.md §5.2 rule 4).
    Failover,
}
