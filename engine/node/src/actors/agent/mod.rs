//! The agent actor: one per logged-in agent, on the SIP plant's arbiter. A thin shell over
//! [`AgentSession`]: it turns desktop commands, SIP signals of the nailing call and call
//! hand-overs into session inputs, and performs the session's effects — the nailing call,
//! the RTP bridge between the customer's leg and the agent's nailed leg, and dispositions
//! sent back to the call actor.

mod audio;
mod messages;

use std::net::SocketAddr;
use std::sync::Arc;

use actix::prelude::*;
use media::{BridgeHandle, RtpLeg};
use tokio::sync::mpsc;

use crate::actors::call::{AgentFound, CallLink};
use crate::actors::supervisor::ZoneDown;
use crate::actors::zones::ZoneHandle;
use crate::faults::{raise_contained, Inject};
use crate::rtp::Rtp;
use crate::sip_plant::{CallSignal, Signal, SipHandle};
use outdial_core::agent::takeover::Cause;
use outdial_core::agent::{
    AgentEffect, AgentEvent, AgentSession, Command, CommandError, LogoutReason, Output, TakenOver,
};
use outdial_core::clock::Clock;
use outdial_core::desktop::{ClientMessage, ServerMessage};
use outdial_core::domain::AttemptId;
use outdial_core::sync::{AtomicBool, AtomicU64, Ordering};
use outdial_core::zone::board::ZoneBoard;

/// The zone's board as the node keeps it: agents by their actor's address.
pub type AgentBoard = ZoneBoard<Addr<AgentActor>, CallLink>;

use audio::stop_leg;
pub use messages::*;

impl Handler<Resync> for AgentActor {
    type Result = ();

    fn handle(&mut self, _: Resync, _ctx: &mut Context<Self>) {
        self.sync_board();
    }
}

/// Where the agent's phone is.
#[derive(Debug, Clone)]
pub struct Phone {
    pub uri: String,
    pub addr: SocketAddr,
}

/// The customer call the agent is on (or wrapping up), and its audio.
struct Customer {
    attempt: AttemptId,
    call: Recipient<ToCall>,
    /// The customer's leg while not bridged (on hold).
    leg: Option<RtpLeg>,
}

/// What every agent actor of the node needs, shared by all of them.
pub struct AgentDeps {
    pub sip: SipHandle,
    pub rtp: Rtp,
    pub clock: Arc<dyn Clock>,
    pub nails: NailIds,
    /// Set once the node is stopping: an actor's end is then not a failure.
    pub stopping: Arc<AtomicBool>,
}

/// Where nailing calls' ids start: far above any attempt id a store hands out.
pub const NAIL_ID_BASE: u64 = 1 << 62;

/// Nail `n` of a run under `epoch`: the epoch's low 30 bits above the count's low 32.
pub fn nail_id(epoch: u64, n: u64) -> AttemptId {
    AttemptId(NAIL_ID_BASE | ((epoch & ((1 << 30) - 1)) << 32) | (n & 0xFFFF_FFFF))
}

/// Ids for nailing calls, from their own range so they never meet an attempt's. The epoch is
/// part of them: a restarted node's nails must not reuse the Call-IDs of the last run's,
/// which a phone may still hold open.
pub struct NailIds {
    epoch: u64,
    next: AtomicU64,
}

impl NailIds {
    pub fn new(epoch: u64) -> Self {
        Self {
            epoch,
            next: AtomicU64::new(0),
        }
    }

    pub fn next(&self) -> AttemptId {
        nail_id(self.epoch, self.next.fetch_add(1, Ordering::Relaxed))
    }
}

pub struct AgentActor {
    deps: Arc<AgentDeps>,
    /// The agent's zone: its board, its pacing actor (previews), its supervisor (failures).
    zone: Arc<ZoneHandle>,
    board: Arc<AgentBoard>,
    session: AgentSession,
    phone: Phone,
    desktop: mpsc::Sender<ServerMessage>,
    /// The current nailing dialog's id (a fresh one per attempt to nail).
    nail_id: Option<AttemptId>,
    /// The nailed leg while not bridged.
    nail_leg: Option<RtpLeg>,
    bridge: Option<BridgeHandle>,
    customer: Option<Customer>,
    timer: Option<SpawnHandle>,
    calls: u64,
    /// The last `state` the desktop was sent.
    last_state: Option<ServerMessage>,
    /// Until the actor stops the ordinary way, its drop is a failure of its zone.
    armed: bool,
    /// This actor's own address, for the calls the board hands it.
    me: Option<Addr<AgentActor>>,
}

impl AgentActor {
    pub fn new(
        deps: Arc<AgentDeps>,
        zone: Arc<ZoneHandle>,
        session: AgentSession,
        phone: Phone,
        desktop: mpsc::Sender<ServerMessage>,
    ) -> Self {
        Self {
            deps,
            board: Arc::clone(zone.board()),
            zone,
            session,
            phone,
            desktop,
            nail_id: None,
            nail_leg: None,
            bridge: None,
            customer: None,
            timer: None,
            calls: 0,
            last_state: None,
            armed: true,
            me: None,
        }
    }

    /// This actor failed: its zone is taken over (docs/design.md §4: a restart of a zone's actors
    /// is a takeover).
    fn report_down(&mut self, cause: Cause) {
        if self.deps.stopping.load(Ordering::Acquire) {
            return;
        }
        if std::mem::take(&mut self.armed) {
            if let Some(sup) = self.zone.supervisor() {
                sup.do_send(ZoneDown {
                    generation: None,
                    cause,
                });
            }
        }
    }

    fn tell(&self, msg: ServerMessage) {
        // A desktop that does not read its events is cut off by its heartbeat check; the
        // session's state never waits on it.
        let _ = self.desktop.try_send(msg);
    }

    /// Drains the session's outputs and re-arms its timer (the session's contract).
    fn drain(&mut self, ctx: &mut Context<Self>) {
        while let Some(out) = self.session.poll_output() {
            match out {
                Output::Desktop(ev) => {
                    if matches!(ev, AgentEvent::Service { .. }) {
                        // After a service change the desktop gets the state in full, changed
                        // or not: a takeover's state check refers to it.
                        self.last_state = None;
                    }
                    let msg = ServerMessage::from_event(&ev, &self.session);
                    // One drain can queue several state events that read the same by now.
                    if matches!(msg, ServerMessage::State { .. }) {
                        if self.last_state.as_ref() == Some(&msg) {
                            continue;
                        }
                        self.last_state = Some(msg.clone());
                    }
                    self.tell(msg);
                    if let AgentEvent::Call(_) = ev {
                        self.calls += 1;
                    }
                }
                Output::Effect(e) => self.perform(e, ctx),
            }
        }
        if let Some(h) = self.timer.take() {
            ctx.cancel_future(h);
        }
        if let Some((at, _)) = self.session.poll_timeout() {
            let wait = at.saturating_duration_since(self.deps.clock.now());
            self.timer = Some(ctx.run_later(wait, |act, ctx| {
                act.timer = None;
                let now = act.deps.clock.now();
                act.session.handle_timeout(now);
                act.drain(ctx);
            }));
        }
    }

    /// One session input at the clock's `now`, then its outputs performed.
    fn step<R>(
        &mut self,
        ctx: &mut Context<Self>,
        input: impl FnOnce(&mut AgentSession, std::time::Instant) -> R,
    ) -> R {
        let now = self.deps.clock.now();
        let r = input(&mut self.session, now);
        self.drain(ctx);
        r
    }

    fn perform(&mut self, e: AgentEffect, ctx: &mut Context<Self>) {
        match e {
            AgentEffect::Nail => self.nail(ctx),
            AgentEffect::DropNail => self.drop_nail(),
            AgentEffect::DialPreview(info) => {
                if let Some(zone) = self.zone.pacing() {
                    zone.do_send(crate::actors::zone::LaunchPreview {
                        info,
                        agent: ctx.address(),
                    });
                }
            }
            AgentEffect::ReturnPreview(info) => {
                if let Some(zone) = self.zone.pacing() {
                    zone.do_send(crate::actors::zone::ReturnPreview(info));
                }
            }
            AgentEffect::HangUpCustomer(attempt) => {
                if let Some(c) = self.customer.as_ref().filter(|c| c.attempt == attempt) {
                    c.call.do_send(ToCall::HangUp);
                }
                self.unbridge(ctx);
            }
            AgentEffect::HoldCustomer { on, .. } => {
                if on {
                    self.unbridge_keep_customer(ctx);
                } else {
                    self.bridge(ctx);
                }
            }
            AgentEffect::Dispose {
                attempt,
                code,
                callback_at,
            } => {
                if let Some(c) = self.customer.take() {
                    if c.attempt == attempt {
                        c.call.do_send(ToCall::Disposition { code, callback_at });
                    }
                    if let Some(leg) = c.leg {
                        stop_leg(leg);
                    }
                }
            }
            AgentEffect::Availability(_) => {}
            AgentEffect::Ended(reason) => {
                if reason == LogoutReason::DesktopError {
                    self.board.count_desktop_error();
                    self.zone.status().note_desktop_error();
                }
                self.board.unregister(self.session.id());
                ctx.stop();
            }
        }
        self.sync_board();
    }

    /// Tells the zone's board what the session says now. Also after a refused hand-over:
    /// the caller took this agent off the board's free list, and only the session knows
    /// whether it is free.
    ///
    /// A free agent may be handed the oldest call of its job waiting in the zone's queue: the
    /// call is told, and hands itself over.
    fn sync_board(&self) {
        let now = self.deps.clock.now();
        let busy = self.session.call_state().on_call()
            || self.session.call_state() == outdial_core::agent::CallState::Wrapup;
        // A call the board hands over that is gone by now (its actor ended) frees the agent
        // for the next one at once.
        for _ in 0..8 {
            let handed = self.board.update(
                self.session.id(),
                self.session.is_available(),
                self.session.dialing_job(),
                busy,
                now,
            );
            let (Some(w), Some(me)) = (handed, &self.me) else {
                return;
            };
            if w.call.found.try_send(AgentFound(me.clone())).is_ok() {
                return;
            }
            tracing::debug!(attempt = %w.attempt, "a waiting call did not take its agent");
        }
    }
}

impl Actor for AgentActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.me = Some(ctx.address());
        // This node masters the zone (the login checked): its agent service is up.
        self.tell(ServerMessage::Service { available: true });
        // The session was created logged in, with its first effects queued (nail, state).
        let job = self.board.job_for_agent();
        if let Some(job) = job {
            let now = self.deps.clock.now();
            self.session.attach(now, job);
        }
        self.drain(ctx);
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        self.armed = false;
        self.drop_nail();
        if let Some(c) = self.customer.take() {
            if let Some(leg) = c.leg {
                stop_leg(leg);
            }
        }
        self.board.unregister(self.session.id());
    }
}

impl Drop for AgentActor {
    fn drop(&mut self) {
        // Dropped without `stopped`: a panic outside a contained handler unwound the actor,
        // and its session with it.
        self.report_down(Cause::Panic(format!(
            "agent {}'s actor was dropped while running",
            self.session.id()
        )));
    }
}

impl Handler<ServiceLost> for AgentActor {
    type Result = ();

    fn handle(&mut self, _: ServiceLost, ctx: &mut Context<Self>) {
        self.step(ctx, |s, now| s.service_lost(now));
    }
}

impl Handler<TakeOver> for AgentActor {
    type Result = Option<TakenOver>;

    fn handle(&mut self, _: TakeOver, ctx: &mut Context<Self>) -> Self::Result {
        let r = self.step(ctx, |s, now| s.take_over(now));
        self.sync_board();
        r
    }
}

impl Handler<CallLost> for AgentActor {
    type Result = ();

    fn handle(&mut self, msg: CallLost, ctx: &mut Context<Self>) {
        if self.session.call().map(|c| c.attempt) == Some(msg.0) {
            tracing::warn!(agent = %self.session.id(), attempt = %msg.0, "the call's events were lost; logging the agent out");
            self.step(ctx, |s, now| {
                s.force_logout(now, LogoutReason::DesktopError)
            });
        }
    }
}

impl Handler<Inject> for AgentActor {
    type Result = ();

    fn handle(&mut self, msg: Inject, ctx: &mut Context<Self>) {
        match msg {
            Inject::Panic => {
                // The session survives (the panic touched nothing); the takeover's state
                // check with the desktop decides whether it can be trusted.
                let why = raise_contained();
                tracing::error!(agent = %self.session.id(), panic = %why, "agent actor panicked");
                self.report_down(Cause::Panic(why));
                self.armed = true;
            }
            Inject::Kill => {
                let cause =
                    Cause::Stopped(format!("agent {}'s actor was killed", self.session.id()));
                self.report_down(cause);
                self.step(ctx, |s, now| {
                    s.force_logout(now, LogoutReason::DesktopError)
                });
            }
        }
    }
}

impl Handler<Desktop> for AgentActor {
    type Result = MessageResult<Desktop>;

    fn handle(&mut self, msg: Desktop, ctx: &mut Context<Self>) -> Self::Result {
        let id = msg.0.id();
        if let ClientMessage::StateReport {
            call_state,
            attempt,
            ..
        } = msg.0
        {
            self.step(ctx, |s, now| s.state_report(now, call_state, attempt));
            return MessageResult(ServerMessage::Ok { id });
        }
        // An agent acts only on its own call.
        if let Some(named) = msg.0.attempt() {
            if self.session.call().map(|c| c.attempt) != Some(named) {
                return MessageResult(ServerMessage::error(
                    id,
                    "not-your-call",
                    format!("attempt {named} is not this agent's call"),
                ));
            }
        }
        let Some(cmd) = msg.0.command() else {
            return MessageResult(ServerMessage::Ok { id });
        };
        if let Command::Dispose { callback_at, .. } = &cmd {
            if let Err(e) = AgentSession::check_callback(*callback_at, self.deps.clock.unix_ms()) {
                return MessageResult(ServerMessage::error(id, e.code(), e.to_string()));
            }
        }
        let now = self.deps.clock.now();
        let reply = match self.session.handle_command(now, cmd) {
            Ok(()) => ServerMessage::Ok { id },
            Err(e) => error_of(id, &e),
        };
        self.drain(ctx);
        MessageResult(reply)
    }
}

fn error_of(id: Option<u64>, e: &CommandError) -> ServerMessage {
    ServerMessage::error(id, e.code(), e.to_string())
}

impl Handler<CallSignal> for AgentActor {
    type Result = ();

    /// Signals of the nailing call.
    fn handle(&mut self, CallSignal(signal): CallSignal, ctx: &mut Context<Self>) {
        let now = self.deps.clock.now();
        match signal {
            Signal::Answered { sdp } => {
                let remote = sdp
                    .as_deref()
                    .and_then(|s| sip::sdp::parse_answer(s).ok())
                    .and_then(|a| a.remote());
                match (remote, &self.nail_leg) {
                    (Some(r), Some(leg)) => {
                        leg.set_remote(r);
                        self.session.on_nailed(now);
                    }
                    _ => {
                        // A phone that answers without usable audio is no phone.
                        tracing::warn!(agent = %self.session.id(), "the agent's phone answered without usable SDP");
                        self.drop_nail();
                        self.session.on_nail_lost(now);
                    }
                }
            }
            Signal::Ended(reason) => {
                tracing::info!(agent = %self.session.id(), ?reason, "nailing call ended");
                self.nail_id = None;
                if let Some(leg) = self.nail_leg.take() {
                    stop_leg(leg);
                }
                if let Some(b) = self.bridge.take() {
                    // The customer's leg went with the bridge; the call actor is told by
                    // the session's hang-up effect.
                    actix::spawn(async move {
                        let _ = b.stop().await;
                    });
                }
                self.session.on_nail_lost(now);
            }
            Signal::NotSent { .. } => {
                self.nail_id = None;
                if let Some(leg) = self.nail_leg.take() {
                    stop_leg(leg);
                }
                self.session.on_nail_lost(now);
            }
            Signal::Sent | Signal::Progress { .. } => {}
        }
        self.drain(ctx);
    }
}

impl Handler<Connect> for AgentActor {
    type Result = Result<(), RtpLeg>;

    fn handle(&mut self, msg: Connect, ctx: &mut Context<Self>) -> Self::Result {
        let now = self.deps.clock.now();
        let preview = self.session.call_state() == outdial_core::agent::CallState::Dialing
            && self.session.call().map(|c| c.attempt) == Some(msg.info.attempt);
        if self.nail_leg.is_none() {
            self.sync_board();
            return Err(msg.leg);
        }
        let attempt = msg.info.attempt;
        if preview {
            self.session.preview_answered(now);
        } else if !self.session.offer_call(now, msg.info) {
            self.sync_board();
            return Err(msg.leg);
        }
        self.customer = Some(Customer {
            attempt,
            call: msg.call,
            leg: Some(msg.leg),
        });
        self.bridge(ctx);
        self.drain(ctx);
        Ok(())
    }
}

impl Handler<CustomerEnded> for AgentActor {
    type Result = ();

    fn handle(&mut self, msg: CustomerEnded, ctx: &mut Context<Self>) {
        self.unbridge(ctx);
        self.step(ctx, |s, now| s.customer_ended(now, msg.0));
    }
}

impl Handler<PreviewUnanswered> for AgentActor {
    type Result = ();

    fn handle(&mut self, msg: PreviewUnanswered, ctx: &mut Context<Self>) {
        self.step(ctx, |s, now| {
            if s.call().map(|c| c.attempt) == Some(msg.0) {
                s.preview_failed(now, msg.1);
            }
        });
    }
}

impl Handler<OfferPreview> for AgentActor {
    type Result = bool;

    fn handle(&mut self, msg: OfferPreview, ctx: &mut Context<Self>) -> bool {
        self.step(ctx, |s, now| s.offer_preview(now, msg.0))
    }
}

impl Handler<AttachTo> for AgentActor {
    type Result = ();

    fn handle(&mut self, msg: AttachTo, ctx: &mut Context<Self>) {
        self.step(ctx, |s, now| s.attach(now, msg.0));
    }
}

impl Handler<JobEnded> for AgentActor {
    type Result = ();

    fn handle(&mut self, msg: JobEnded, ctx: &mut Context<Self>) {
        // Another running job of the zone takes the agent, if there is one.
        let next = self.board.jobs().into_iter().find(|j| *j != msg.0);
        self.step(ctx, |s, now| {
            s.job_ended(now, msg.0);
            if let Some(next) = next {
                s.attach(now, next);
            }
        });
    }
}

impl Handler<ForceLogout> for AgentActor {
    type Result = ();

    fn handle(&mut self, msg: ForceLogout, ctx: &mut Context<Self>) {
        self.step(ctx, |s, now| s.force_logout(now, msg.0));
    }
}

impl Handler<View> for AgentActor {
    type Result = MessageResult<View>;

    fn handle(&mut self, _: View, _ctx: &mut Context<Self>) -> Self::Result {
        let times = self.session.times(self.deps.clock.now());
        MessageResult(AgentView {
            agent: self.session.id().clone(),
            zone: self.session.zone().to_owned(),
            call_state: self.session.call_state(),
            ready: self.session.is_ready(),
            nail: self.session.nail(),
            job: self.session.job().into(),
            occupancy: times.occupancy(),
            times,
            calls: self.calls,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nail_ids_differ_across_restarts_and_stay_above_attempts() {
        assert_ne!(nail_id(1, 0), nail_id(2, 0));
        assert_ne!(nail_id(1, 0), nail_id(1, 1));
        assert!(nail_id(1, 0).0 >= NAIL_ID_BASE);
        assert!(nail_id(u64::MAX, u64::MAX).0 >= NAIL_ID_BASE);
        let ids = NailIds::new(3);
        assert_ne!(ids.next(), ids.next());
    }
}
