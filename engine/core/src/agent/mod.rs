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

pub mod takeover;

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::agent::takeover::{after_takeover, Column, ConsultRole};
use crate::domain::{AttemptId, CompletionCode, ContactId, JobId, UnixMs};

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
    fn dialing_job(self) -> Option<JobId> {
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

/// Where the agent's logged-in time went, for occupancy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct AgentTimes {
    pub logged_in: Duration,
    /// Talking or held (any state with a customer call up).
    pub talk: Duration,
    pub wrap: Duration,
    /// Available and waiting for a call.
    pub waiting: Duration,
    /// Everything else: not ready, unnailed, preview, dialing.
    pub other: Duration,
    /// While the agent's zone was being taken over ("HA time" in the reports).
    pub ha: Duration,
}

impl AgentTimes {
    /// Talk and wrap-up over logged-in time.
    pub fn occupancy(&self) -> f64 {
        let l = self.logged_in.as_secs_f64();
        if l <= 0.0 {
            0.0
        } else {
            (self.talk + self.wrap).as_secs_f64() / l
        }
    }
}

/// Which bucket of [`AgentTimes`] the session is filling now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bucket {
    Talk,
    Wrap,
    Waiting,
    Other,
    Ha,
}

/// Codes an agent may give in wrap-up. The others are the engine's to give.
pub fn is_disposition(code: CompletionCode) -> bool {
    matches!(
        code,
        CompletionCode::AnsweredHuman
            | CompletionCode::AnsweredMachine
            | CompletionCode::Busy
            | CompletionCode::NoAnswer
            | CompletionCode::InvalidNumber
            | CompletionCode::Declined
            | CompletionCode::Blocked
    )
}

/// A zone outage as one agent lives it: what it was doing when the service went down, and
/// what happened to its call meanwhile.
#[derive(Debug, Clone, Copy)]
struct Outage {
    since: Instant,
    customer_lost: bool,
}

/// What a takeover did to one agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakenOver {
    pub before: CallState,
    pub after: CallState,
    pub column: Column,
    /// Attached to no job: the state was kept whatever the column says.
    pub kept: bool,
}

/// A session as a takeover rebuilds it, or as a test sets it up: the state, the nail, the
/// job and the call, with no outputs pending.
#[derive(Debug, Clone)]
pub struct Restored {
    pub state: CallState,
    pub ready: bool,
    pub nail: NailState,
    pub job: JobAttachment,
    pub call: Option<CallInfo>,
    pub consult_role: ConsultRole,
}

#[derive(Debug)]
pub struct AgentSession {
    id: AgentId,
    zone: String,
    cfg: AgentConfig,
    state: CallState,
    ready: bool,
    not_ready_reason: Option<String>,
    nail: NailState,
    nail_failures: u32,
    job: JobAttachment,
    /// The call the state refers to (Preview, Dialing, on a call, Wrapup).
    call: Option<CallInfo>,
    /// How the last call ended, for the default disposition.
    ended_code: Option<CompletionCode>,
    wrapup_deadline: Option<Instant>,
    renail_at: Option<Instant>,
    logged_out: Option<LogoutReason>,
    /// Whether the board was last told the agent is available.
    told_available: bool,
    /// Set while the zone is out of service.
    outage: Option<Outage>,
    /// The agent's part in a consult, which Table 9 needs.
    consult_role: ConsultRole,
    /// After a takeover, until the desktop confirms its state.
    state_check_deadline: Option<Instant>,
    /// The state the desktop was last told before the check: what its report must say,
    /// even if the session moved on before the report arrived.
    state_check_expect: Option<(CallState, Option<AttemptId>)>,
    // Time accounting.
    since: Instant,
    bucket: Bucket,
    times: AgentTimes,
    out: VecDeque<Output>,
}

impl AgentSession {
    /// A session just logged in: not ready, nailing its phone.
    pub fn new(id: AgentId, zone: String, cfg: AgentConfig, now: Instant) -> Self {
        let mut s = Self {
            id,
            zone,
            cfg,
            state: CallState::Idle,
            ready: false,
            not_ready_reason: Some("login".to_owned()),
            nail: NailState::Nailing,
            nail_failures: 0,
            job: JobAttachment::Unattached,
            call: None,
            ended_code: None,
            wrapup_deadline: None,
            renail_at: None,
            logged_out: None,
            told_available: false,
            outage: None,
            consult_role: ConsultRole::Owner,
            state_check_deadline: None,
            state_check_expect: None,
            since: now,
            bucket: Bucket::Other,
            times: AgentTimes::default(),
            out: VecDeque::new(),
        };
        s.effect(AgentEffect::Nail);
        s.desktop(AgentEvent::State);
        s
    }

    /// A session in a given state, nothing pending: what a takeover rebuilds from the desktop
    /// and storage, and how tests reach states no command leads to.
    pub fn restored(
        id: AgentId,
        zone: String,
        cfg: AgentConfig,
        now: Instant,
        r: Restored,
    ) -> Self {
        let mut s = Self::new(id, zone, cfg, now);
        s.out.clear();
        s.state = r.state;
        s.ready = r.ready;
        s.not_ready_reason = (!r.ready).then(|| "restored".to_owned());
        s.nail = r.nail;
        s.job = r.job;
        s.call = r.call;
        s.consult_role = r.consult_role;
        if s.state == CallState::Wrapup {
            s.wrapup_deadline = Some(now + cfg.wrapup_timeout);
        }
        s.told_available = s.is_available();
        s.rebucket(now);
        s
    }

    pub fn id(&self) -> &AgentId {
        &self.id
    }

    pub fn zone(&self) -> &str {
        &self.zone
    }

    pub fn call_state(&self) -> CallState {
        self.state
    }

    pub fn is_ready(&self) -> bool {
        self.ready
    }

    pub fn not_ready_reason(&self) -> Option<&str> {
        self.not_ready_reason.as_deref()
    }

    pub fn nail(&self) -> NailState {
        self.nail
    }

    pub fn job(&self) -> JobAttachment {
        self.job
    }

    /// The call the agent is on, previewing, dialing or wrapping up.
    pub fn call(&self) -> Option<&CallInfo> {
        self.call.as_ref()
    }

    pub fn logged_out(&self) -> Option<LogoutReason> {
        self.logged_out
    }

    /// Nailed, ready, idle and attached to a job: can take a call now.
    pub fn is_available(&self) -> bool {
        self.logged_out.is_none()
            && self.outage.is_none()
            && self.nail == NailState::Nailed
            && self.ready
            && self.state == CallState::Idle
            && self.job.dialing_job().is_some()
    }

    /// The job this agent takes calls for, if any.
    pub fn dialing_job(&self) -> Option<JobId> {
        self.job.dialing_job()
    }

    /// Where the logged-in time went, up to `now`.
    pub fn times(&self, now: Instant) -> AgentTimes {
        let mut t = self.times;
        if self.logged_out.is_none() {
            add(
                &mut t,
                self.bucket,
                now.saturating_duration_since(self.since),
            );
        }
        t
    }

    /// When the session next needs [`AgentSession::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<(Instant, AgentTimer)> {
        let w = self.wrapup_deadline.map(|t| (t, AgentTimer::Wrapup));
        let r = self.renail_at.map(|t| (t, AgentTimer::Renail));
        let c = self
            .state_check_deadline
            .map(|t| (t, AgentTimer::StateCheck));
        if self.outage.is_some() {
            // The agent's time stands still for the engine while its zone is out of service.
            return c;
        }
        // Wrap-up waits for the state check: a mismatch must still find the call to code.
        let w = w.filter(|_| c.is_none());
        [w, r, c].into_iter().flatten().min_by_key(|(t, _)| *t)
    }

    /// Whether the zone is out of service for this agent (a takeover is under way).
    pub fn in_outage(&self) -> bool {
        self.outage.is_some()
    }

    /// Whether the desktop still owes the state check.
    pub fn state_check_pending(&self) -> bool {
        self.state_check_deadline.is_some()
    }

    /// The zone's agent service went down (docs/design.md §5.2 rule 1): the desktop is told, its
    /// commands are refused, no call is offered, and the time counts as HA time. Engine
    /// events that arrive meanwhile are remembered for [`AgentSession::take_over`].
    pub fn service_lost(&mut self, now: Instant) {
        if self.logged_out.is_some() || self.outage.is_some() {
            return;
        }
        self.outage = Some(Outage {
            since: now,
            customer_lost: false,
        });
        self.state_check_deadline = None;
        self.desktop(AgentEvent::Service { available: false });
        self.availability_changed(now);
    }

    /// The zone is back under a new agent manager (docs/design.md §5.2 rules 4 and 5): the service
    /// is available again, the agent's state follows Table 9 for what happened to its call
    /// and phone during the outage, a dropped call is reported and goes to Wrapup, and the
    /// desktop is asked to confirm its state. None if there was no outage.
    pub fn take_over(&mut self, now: Instant) -> Option<TakenOver> {
        let outage = self.outage.take()?;
        if self.logged_out.is_some() {
            return None;
        }
        let before = self.state;
        let nailed = self.nail == NailState::Nailed;
        let column = Column::of(!outage.customer_lost, nailed);
        let kept = self.job == JobAttachment::Unattached;
        let after = if kept {
            before
        } else {
            after_takeover(before, column, self.consult_role)
        };
        self.desktop(AgentEvent::Service { available: true });
        // Wrap-up time does not run out during an outage the agent could do nothing about.
        if let Some(t) = self.wrapup_deadline.as_mut() {
            *t += now.saturating_duration_since(outage.since);
        }
        if after != before {
            self.move_after_takeover(now, before, after, &outage);
        }
        if self.nail == NailState::UnNailed {
            self.renail_at = None;
            self.nail = NailState::Nailing;
            self.effect(AgentEffect::Nail);
        }
        self.rebucket(now);
        self.desktop(AgentEvent::State);
        self.availability_changed(now);
        self.desktop(AgentEvent::StateCheck);
        self.state_check_deadline = Some(now + self.cfg.state_check_timeout);
        self.state_check_expect = Some((self.state, self.call.as_ref().map(|c| c.attempt)));
        Some(TakenOver {
            before,
            after,
            column,
            kept,
        })
    }

    fn move_after_takeover(
        &mut self,
        now: Instant,
        before: CallState,
        after: CallState,
        outage: &Outage,
    ) {
        let attempt = self.call.as_ref().map(|c| c.attempt);
        match after {
            CallState::Talking => {
                // Dialing under column A: the call the agent accepted is up (or still
                // ringing: it is the agent's, and ends in Wrapup like any call).
                if let Some(info) = self.call.clone() {
                    self.ended_code = None;
                    self.set_state(now, CallState::Talking);
                    self.desktop(AgentEvent::Call(info));
                }
            }
            CallState::Wrapup => {
                if let Some(attempt) = attempt {
                    if !outage.customer_lost {
                        // The phone is gone, so the customer's call is too: end it.
                        self.effect(AgentEffect::HangUpCustomer(attempt));
                    }
                    self.desktop(AgentEvent::CallEnded {
                        attempt,
                        by: EndedBy::Failover,
                        code: None,
                    });
                }
                self.ended_code = Some(if before == CallState::Dialing {
                    CompletionCode::NetworkFailure
                } else {
                    CompletionCode::AnsweredHuman
                });
                self.enter_wrapup(now);
            }
            CallState::Idle => {
                if let Some(info) = self.call.take() {
                    if before == CallState::Preview {
                        // The previewed contact goes back to its job, undialed.
                        self.effect(AgentEffect::ReturnPreview(info));
                    }
                }
                self.set_state(now, CallState::Idle);
                self.apply_pending_move();
            }
            CallState::Preview => {
                // A passive conference party with a nailed phone goes back to previewing;
                // the call it joined is not its to show.
                if before != CallState::Preview {
                    self.call = None;
                }
                self.set_state(now, CallState::Preview);
            }
            other => self.set_state(now, other),
        }
    }

    /// The desktop's answer to the state check: the call state and attempt it holds. A
    /// mismatch means one side lost events: the call gets desktop-error and the agent is
    /// logged out (docs/design.md §5.2 rule 5). True if the states matched.
    pub fn state_report(
        &mut self,
        now: Instant,
        state: CallState,
        attempt: Option<AttemptId>,
    ) -> bool {
        if self.logged_out.is_some() || self.state_check_deadline.is_none() {
            return true;
        }
        self.state_check_deadline = None;
        let ours = self
            .state_check_expect
            .take()
            .unwrap_or((self.state, self.call.as_ref().map(|c| c.attempt)));
        if ours == (state, attempt) {
            return true;
        }
        self.force_logout(now, LogoutReason::DesktopError);
        false
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// A desktop command. On error nothing changed (and nothing is output).
    pub fn handle_command(&mut self, now: Instant, cmd: Command) -> Result<(), CommandError> {
        if self.logged_out.is_some() {
            return Err(CommandError::LoggedOut);
        }
        if self.outage.is_some() {
            return Err(CommandError::Unavailable);
        }
        let refuse = |s: &Self| CommandError::NotInState {
            command: cmd.name(),
            state: s.state,
        };
        match &cmd {
            Command::Ready => {
                self.ready = true;
                self.not_ready_reason = None;
            }
            Command::NotReady { reason } => {
                self.ready = false;
                self.not_ready_reason = Some(reason.clone());
            }
            Command::AcceptPreview => {
                if self.state != CallState::Preview {
                    return Err(refuse(self));
                }
                let Some(info) = self.call.clone() else {
                    return Err(refuse(self));
                };
                self.set_state(now, CallState::Dialing);
                self.effect(AgentEffect::DialPreview(info));
            }
            Command::SkipPreview => {
                if self.state != CallState::Preview {
                    return Err(refuse(self));
                }
                if let Some(info) = self.call.take() {
                    self.effect(AgentEffect::ReturnPreview(info));
                }
                self.set_state(now, CallState::Idle);
                self.apply_pending_move();
            }
            Command::Hold | Command::Unhold => {
                let on = matches!(cmd, Command::Hold);
                let (from, to) = if on {
                    (CallState::Talking, CallState::Held)
                } else {
                    (CallState::Held, CallState::Talking)
                };
                let attempt = match &self.call {
                    Some(c) if self.state == from => c.attempt,
                    _ => return Err(refuse(self)),
                };
                self.set_state(now, to);
                self.effect(AgentEffect::HoldCustomer { attempt, on });
            }
            Command::HangUp => {
                let Some(attempt) = self.call.as_ref().map(|c| c.attempt) else {
                    return Err(refuse(self));
                };
                if self.state.on_call() {
                    self.effect(AgentEffect::HangUpCustomer(attempt));
                    self.ended_code = Some(CompletionCode::AnsweredHuman);
                    self.desktop(AgentEvent::CallEnded {
                        attempt,
                        by: EndedBy::Agent,
                        code: None,
                    });
                    self.enter_wrapup(now);
                } else if self.state == CallState::Dialing {
                    // Cancels the preview call; its outcome arrives as `call_failed`.
                    self.effect(AgentEffect::HangUpCustomer(attempt));
                } else {
                    return Err(refuse(self));
                }
            }
            Command::Dispose { code, callback_at } => {
                if self.state != CallState::Wrapup {
                    return Err(refuse(self));
                }
                if !is_disposition(*code) {
                    return Err(CommandError::NotADisposition(*code));
                }
                self.dispose(now, *code, *callback_at);
            }
            Command::Logout => {
                if self.state.on_call() || self.state == CallState::Dialing {
                    return Err(refuse(self));
                }
                if self.state == CallState::Wrapup {
                    let code = self.ended_code.unwrap_or(CompletionCode::AnsweredHuman);
                    self.dispose(now, code, None);
                }
                // A previewed contact goes back to its job, undialed.
                if self.state == CallState::Preview {
                    if let Some(info) = self.call.take() {
                        self.effect(AgentEffect::ReturnPreview(info));
                    }
                }
                self.end(now, LogoutReason::Requested);
                return Ok(());
            }
        }
        self.desktop(AgentEvent::State);
        self.availability_changed(now);
        Ok(())
    }

    /// Checks a callback time against `now` (wall clock) before [`Command::Dispose`].
    pub fn check_callback(callback_at: Option<UnixMs>, now_ms: UnixMs) -> Result<(), CommandError> {
        match callback_at {
            Some(t) if t <= now_ms => Err(CommandError::CallbackInPast),
            _ => Ok(()),
        }
    }

    /// The nailing call was answered.
    pub fn on_nailed(&mut self, now: Instant) {
        if self.logged_out.is_some() {
            return;
        }
        self.nail = NailState::Nailed;
        self.nail_failures = 0;
        self.renail_at = None;
        self.desktop(AgentEvent::State);
        self.availability_changed(now);
    }

    /// The nailing call failed or dropped. A call with the agent cannot go on without the
    /// phone: it is hung up and the agent goes to Wrapup (docs/design.md §5.4, media server failure).
    pub fn on_nail_lost(&mut self, now: Instant) {
        if self.logged_out.is_some() {
            return;
        }
        if self.outage.is_some() {
            // Table 9 decides what the call becomes; the phone is nailed again at takeover.
            self.nail = NailState::UnNailed;
            return;
        }
        let was_nailed = self.nail == NailState::Nailed;
        self.nail = NailState::UnNailed;
        if !was_nailed {
            self.nail_failures += 1;
        }
        if self.nail_failures >= self.cfg.max_nail_failures {
            self.force_logout(now, LogoutReason::NailFailed);
            return;
        }
        if let Some(attempt) = self.call.as_ref().map(|c| c.attempt) {
            if self.state.on_call() {
                self.effect(AgentEffect::HangUpCustomer(attempt));
                self.ended_code = Some(CompletionCode::AnsweredHuman);
                self.desktop(AgentEvent::CallEnded {
                    attempt,
                    by: EndedBy::PhoneLost,
                    code: None,
                });
                self.enter_wrapup(now);
            }
        }
        self.renail_at = Some(now + self.cfg.renail_delay);
        self.desktop(AgentEvent::State);
        self.availability_changed(now);
    }

    /// Attaches the agent to a job, or records a move for when it is next idle.
    pub fn attach(&mut self, now: Instant, job: JobId) {
        let busy = self.state != CallState::Idle;
        self.job = match self.job {
            JobAttachment::Attached(from) | JobAttachment::PendingMove { from, .. }
                if busy && from != job =>
            {
                JobAttachment::PendingMove { from, to: job }
            }
            _ => JobAttachment::Attached(job),
        };
        self.desktop(AgentEvent::State);
        self.availability_changed(now);
    }

    /// The agent's job finished or was stopped: no more calls from it.
    pub fn job_ended(&mut self, now: Instant, job: JobId) {
        match self.job {
            JobAttachment::Attached(j) if j == job => self.job = JobAttachment::JobEnded(j),
            // The source ended: the move still applies at the next idle moment.
            JobAttachment::PendingMove { from, .. } if from == job => return,
            // The target ended before the move applied: the move is void, the agent stays.
            JobAttachment::PendingMove { from, to } if to == job => {
                self.job = JobAttachment::Attached(from)
            }
            _ => return,
        }
        self.desktop(AgentEvent::State);
        self.availability_changed(now);
    }

    /// A customer call answered live is now bridged to this agent. Only an available agent
    /// takes one; false means the caller must find another (nothing changed).
    pub fn offer_call(&mut self, now: Instant, info: CallInfo) -> bool {
        if !self.is_available() {
            return false;
        }
        self.call = Some(info.clone());
        self.ended_code = None;
        self.set_state(now, CallState::Talking);
        self.desktop(AgentEvent::Call(info));
        self.desktop(AgentEvent::State);
        self.availability_changed(now);
        true
    }

    /// A contact to preview (preview mode). Only an available agent takes one.
    pub fn offer_preview(&mut self, now: Instant, info: CallInfo) -> bool {
        if !self.is_available() {
            return false;
        }
        self.call = Some(info.clone());
        self.set_state(now, CallState::Preview);
        self.desktop(AgentEvent::Preview(info));
        self.desktop(AgentEvent::State);
        self.availability_changed(now);
        true
    }

    /// The previewed call the agent accepted was answered.
    pub fn preview_answered(&mut self, now: Instant) {
        if self.state != CallState::Dialing {
            return;
        }
        if self.outage.is_some() {
            // Table 9 makes the agent Talking at takeover (Dialing, column A).
            return;
        }
        let Some(info) = self.call.clone() else {
            return;
        };
        self.ended_code = None;
        self.set_state(now, CallState::Talking);
        self.desktop(AgentEvent::Call(info));
        self.desktop(AgentEvent::State);
    }

    /// The previewed call ended unanswered; the engine records its outcome.
    pub fn preview_failed(&mut self, now: Instant, code: CompletionCode) {
        if let Some(o) = self.outage.as_mut() {
            if self.state == CallState::Dialing {
                o.customer_lost = true;
            }
            return;
        }
        if self.state == CallState::Talking && self.call.is_some() {
            // Dialing became Talking at a takeover (Table 9, column A) and the call never
            // answered after all: it ends like any call, in Wrapup.
            if let Some(attempt) = self.call.as_ref().map(|c| c.attempt) {
                self.ended_code = Some(code);
                self.desktop(AgentEvent::CallEnded {
                    attempt,
                    by: EndedBy::NotAnswered,
                    code: Some(code),
                });
                self.enter_wrapup(now);
                self.desktop(AgentEvent::State);
            }
            return;
        }
        if self.state != CallState::Dialing {
            return;
        }
        if let Some(info) = self.call.take() {
            self.desktop(AgentEvent::CallEnded {
                attempt: info.attempt,
                by: EndedBy::NotAnswered,
                code: Some(code),
            });
        }
        self.set_state(now, CallState::Idle);
        self.apply_pending_move();
        self.desktop(AgentEvent::State);
        self.availability_changed(now);
    }

    /// The customer hung up (or the call failed) while with the agent.
    pub fn customer_ended(&mut self, now: Instant, attempt: AttemptId) {
        let ours = self.call.as_ref().is_some_and(|c| c.attempt == attempt);
        if let Some(o) = self.outage.as_mut() {
            if ours {
                o.customer_lost = true;
            }
            return;
        }
        if !ours || !self.state.on_call() {
            return;
        }
        self.ended_code = Some(CompletionCode::AnsweredHuman);
        self.desktop(AgentEvent::CallEnded {
            attempt,
            by: EndedBy::Customer,
            code: None,
        });
        self.enter_wrapup(now);
        self.desktop(AgentEvent::State);
    }

    /// Ends the session whatever its state: a call with the agent is hung up and coded
    /// desktop-error (the desktop that should dispose it is gone or wrong), and a call in
    /// wrap-up gets its default disposition.
    pub fn force_logout(&mut self, now: Instant, reason: LogoutReason) {
        if self.logged_out.is_some() {
            return;
        }
        if let Some(info) = self.call.take() {
            match self.state {
                s if s.on_call() || s == CallState::Dialing => {
                    self.effect(AgentEffect::HangUpCustomer(info.attempt));
                    let code = if matches!(reason, LogoutReason::NailFailed) {
                        CompletionCode::AnsweredHuman
                    } else {
                        CompletionCode::DesktopError
                    };
                    if s != CallState::Dialing {
                        self.effect(AgentEffect::Dispose {
                            attempt: info.attempt,
                            code,
                            callback_at: None,
                        });
                    }
                }
                CallState::Wrapup => {
                    // A state mismatch puts desktop-error on the call even after it ended.
                    let code = if reason == LogoutReason::DesktopError {
                        CompletionCode::DesktopError
                    } else {
                        self.ended_code.unwrap_or(CompletionCode::AnsweredHuman)
                    };
                    self.effect(AgentEffect::Dispose {
                        attempt: info.attempt,
                        code,
                        callback_at: None,
                    });
                }
                CallState::Preview => self.effect(AgentEffect::ReturnPreview(info)),
                _ => {}
            }
        }
        self.end(now, reason);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.logged_out.is_some() || self.outage.is_some() {
            return;
        }
        if self.state_check_deadline.is_some_and(|t| t <= now) {
            // A desktop that cannot confirm its state after a takeover cannot be trusted
            // with the call (docs/design.md §5.2 rule 5).
            self.state_check_deadline = None;
            self.force_logout(now, LogoutReason::DesktopError);
            return;
        }
        if self.state_check_deadline.is_none() && self.wrapup_deadline.is_some_and(|t| t <= now) {
            self.wrapup_deadline = None;
            if self.state == CallState::Wrapup {
                let code = self.ended_code.unwrap_or(CompletionCode::AnsweredHuman);
                self.dispose(now, code, None);
                self.desktop(AgentEvent::State);
                self.availability_changed(now);
            }
        }
        if self.renail_at.is_some_and(|t| t <= now) {
            self.renail_at = None;
            self.nail = NailState::Nailing;
            self.effect(AgentEffect::Nail);
            self.desktop(AgentEvent::State);
        }
    }

    fn dispose(&mut self, now: Instant, code: CompletionCode, callback_at: Option<UnixMs>) {
        self.wrapup_deadline = None;
        if let Some(info) = self.call.take() {
            self.effect(AgentEffect::Dispose {
                attempt: info.attempt,
                code,
                callback_at,
            });
        }
        self.set_state(now, CallState::Idle);
        self.apply_pending_move();
    }

    fn apply_pending_move(&mut self) {
        if let JobAttachment::PendingMove { to, .. } = self.job {
            self.job = JobAttachment::Attached(to);
        }
    }

    fn enter_wrapup(&mut self, now: Instant) {
        self.set_state(now, CallState::Wrapup);
        self.wrapup_deadline = Some(now + self.cfg.wrapup_timeout);
    }

    fn end(&mut self, now: Instant, reason: LogoutReason) {
        self.wrapup_deadline = None;
        self.renail_at = None;
        // An ended session owes no state check: `handle_timeout` ignores it from now on.
        self.state_check_deadline = None;
        self.set_state(now, CallState::Idle);
        self.logged_out = Some(reason);
        self.effect(AgentEffect::DropNail);
        self.desktop(AgentEvent::LoggedOut(reason));
        self.availability_changed(now);
        self.effect(AgentEffect::Ended(reason));
    }

    fn set_state(&mut self, now: Instant, state: CallState) {
        self.state = state;
        self.rebucket(now);
    }

    /// Closes the running time bucket and opens the one the current state belongs to.
    fn rebucket(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.since);
        add(&mut self.times, self.bucket, elapsed);
        self.since = self.since.max(now);
        self.bucket = if self.outage.is_some() {
            Bucket::Ha
        } else if self.state.on_call() {
            Bucket::Talk
        } else if self.state == CallState::Wrapup {
            Bucket::Wrap
        } else if self.is_available() {
            Bucket::Waiting
        } else {
            Bucket::Other
        };
    }

    fn availability_changed(&mut self, now: Instant) {
        // Readiness, nails and jobs move time between waiting and other without a state change.
        self.rebucket(now);
        let now_avail = self.is_available();
        if now_avail != self.told_available {
            self.told_available = now_avail;
            self.effect(AgentEffect::Availability(now_avail));
        }
    }

    fn effect(&mut self, e: AgentEffect) {
        self.out.push_back(Output::Effect(e));
    }

    fn desktop(&mut self, e: AgentEvent) {
        self.out.push_back(Output::Desktop(e));
    }
}

fn add(t: &mut AgentTimes, bucket: Bucket, d: Duration) {
    t.logged_in += d;
    match bucket {
        Bucket::Talk => t.talk += d,
        Bucket::Wrap => t.wrap += d,
        Bucket::Waiting => t.waiting += d,
        Bucket::Other => t.other += d,
        Bucket::Ha => t.ha += d,
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
