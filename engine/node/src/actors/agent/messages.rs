//! What an agent's actor is told, by its desktop, its zone, its calls and the API.

use actix::prelude::*;
use media::RtpLeg;

use outdial_core::agent::{AgentId, CallInfo, LogoutReason, TakenOver};
use outdial_core::desktop::{ClientMessage, ServerMessage};
use outdial_core::domain::{AttemptId, CompletionCode, JobId, UnixMs};

/// What the agent's session tells its customer call.
#[derive(Debug, Clone, PartialEq, Eq, Message)]
#[rtype(result = "()")]
pub enum ToCall {
    HangUp,
    Disposition {
        code: CompletionCode,
        callback_at: Option<UnixMs>,
    },
}

/// A customer call for this agent, with its RTP leg: progressive/predictive after a live
/// answer, or the answer of a preview call the agent accepted. Refused (the leg comes back)
/// if the agent cannot take it any more.
#[derive(Message)]
#[rtype(result = "Result<(), RtpLeg>")]
pub struct Connect {
    pub info: CallInfo,
    pub leg: RtpLeg,
    pub call: Recipient<ToCall>,
}

/// The customer's side of a call with this agent ended.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct CustomerEnded(pub AttemptId);

/// A preview call this agent accepted ended unanswered.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct PreviewUnanswered(pub AttemptId, pub CompletionCode);

/// A contact to preview. False if the agent cannot take it (the caller returns it).
#[derive(Debug, Clone, Message)]
#[rtype(result = "bool")]
pub struct OfferPreview(pub CallInfo);

/// Attach to a job (or move to it at the next idle moment).
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct AttachTo(pub JobId);

/// The agent's job finished or stopped.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct JobEnded(pub JobId);

/// End the session now.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct ForceLogout(pub LogoutReason);

/// A desktop command, already parsed; the reply is `ok` or `error`.
#[derive(Debug, Clone, Message)]
#[rtype(result = "ServerMessage")]
pub struct Desktop(pub ClientMessage);

/// The zone's agent service went down: a takeover is under way.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct ServiceLost;

/// The zone is back under a new agent manager: apply Table 9 and check with the desktop.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "Option<TakenOver>")]
pub struct TakeOver;

/// The customer call's actor failed: its disconnect event will never come, so the session
/// cannot be trusted with it (docs/design.md §5.2 rule 5).
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct CallLost(pub AttemptId);

/// Re-publish the agent's availability on its board (a hand-over that was never offered).
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct Resync;

/// A live view of the agent for the API.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AgentView {
    pub agent: AgentId,
    pub zone: String,
    pub call_state: outdial_core::agent::CallState,
    pub ready: bool,
    pub nail: outdial_core::agent::NailState,
    pub job: outdial_core::desktop::JobWire,
    pub times: outdial_core::agent::AgentTimes,
    pub occupancy: f64,
    pub calls: u64,
}

#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "AgentView")]
pub struct View;
