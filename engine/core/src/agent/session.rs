//! The session itself: its state, its outputs, the commands it takes and its timers. What a
//! takeover does to it is in `takeovers.rs`; calls, previews, the nail and the job in
//! `calls.rs`.

use std::collections::VecDeque;
use std::time::Instant;

mod calls;
mod takeovers;

use super::takeover::{Column, ConsultRole};
use super::times::{add, Bucket};
use super::*;
use crate::domain::{AttemptId, CompletionCode, JobId, UnixMs};

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

/// A zone outage as one agent lives it: what it was doing when the service went down, and
/// what happened to its call meanwhile.
#[derive(Debug, Clone, Copy)]
struct Outage {
    since: Instant,
    customer_lost: bool,
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
    // Visible to the session's unit tests, which detach a restored session by hand.
    pub(super) job: JobAttachment,
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
