//! The call actor: one per attempt in flight, on the SIP plant's arbiter. A thin shell over
//! [`AttemptFlow`]: it turns SIP signals into effects and performs them (storage writes, the
//! RTP leg, hang-up, finding an agent inside the connect window and handing the leg over),
//! then records the outcome durably and applies the retry rule, or the agent's callback.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use media::RtpLeg;

use crate::actors::agent::{
    AgentActor, AgentBoard, CallLost, Connect, CustomerEnded, PreviewUnanswered, Resync, ToCall,
};
use crate::actors::zone::PlaceCall;
use crate::cluster::leases::Leases;
use crate::events::AttemptEvents;
use crate::faults::{raise_contained, Inject};
use crate::job::JobRuntime;
use crate::mpp::MppTable;
use crate::rtp::Rtp;
use crate::sip_plant::{CallSignal, Signal, SipCommand, SipHandle};
use crate::storage::Writer;
use outdial_core::agent::CallInfo;
use outdial_core::attempt::flow::{AttemptFlow, CallMode, Effect, Stage};
use outdial_core::attempt::LedgerEntry;
use outdial_core::clock::Clock;
use outdial_core::domain::AttemptId;
use outdial_core::domain::{CompletionCode, UnixMs};
use outdial_core::sync::{AtomicBool, Ordering};
use outdial_core::zone::board::CallStage;
use outdial_core::zone::Launch;

/// How often a live answer looks again for a free agent inside its connect window.
const SEEK_INTERVAL: Duration = Duration::from_millis(10);

/// What every call actor of the node needs, shared by all of them.
pub struct CallDeps {
    pub sip: SipHandle,
    pub rtp: Rtp,
    pub mpps: Arc<MppTable>,
    pub writer: Writer,
    pub leases: Arc<Leases>,
    pub clock: Arc<dyn Clock>,
    pub events: AttemptEvents,
    /// The calls in flight, kept only when fault injection is on (so it can reach them).
    pub registry: Option<Arc<CallRegistry>>,
    /// Set once the node is stopping: calls dropped from then on are left to recovery.
    pub stopping: Arc<AtomicBool>,
}

/// Places a zone's calls as call actors.
pub struct CallStarter(pub Arc<CallDeps>);

impl PlaceCall for CallStarter {
    /// Starts the call's actor, on the current arbiter (the SIP plant's), after telling
    /// subscribers the attempt is `Dialing`.
    fn place(
        &self,
        launch: Launch,
        job: Arc<JobRuntime>,
        board: Arc<AgentBoard>,
        preview_agent: Option<Addr<AgentActor>>,
    ) {
        self.0.events.publish(launch.entry.attempt());
        CallActor::new(
            Arc::clone(&self.0),
            Some(board),
            job,
            launch.entry,
            launch.media,
            launch.mode,
            preview_agent,
        )
        .start();
    }
}

/// The calls in flight by attempt, for fault injection.
#[derive(Default)]
pub struct CallRegistry(Mutex<HashMap<AttemptId, Addr<CallActor>>>);

impl CallRegistry {
    fn insert(&self, attempt: AttemptId, call: Addr<CallActor>) {
        if let Ok(mut calls) = self.0.lock() {
            calls.insert(attempt, call);
        }
    }

    fn remove(&self, attempt: AttemptId) {
        if let Ok(mut calls) = self.0.lock() {
            calls.remove(&attempt);
        }
    }

    /// `attempt`'s call, or any call in flight when none is named.
    pub fn pick(&self, attempt: Option<AttemptId>) -> Option<(AttemptId, Addr<CallActor>)> {
        let calls = self.0.lock().ok()?;
        match attempt {
            Some(a) => calls.get(&a).map(|c| (a, c.clone())),
            None => calls
                .iter()
                .min_by_key(|(a, _)| **a)
                .map(|(a, c)| (*a, c.clone())),
        }
    }
}

pub struct CallActor {
    deps: Arc<CallDeps>,
    job: Arc<JobRuntime>,
    /// The attempt and its contact: every change of either goes through it.
    entry: LedgerEntry,
    mpp: usize,
    flow: AttemptFlow,
    leg: Option<RtpLeg>,
    completed: bool,
    /// The agent a preview call belongs to.
    preview_agent: Option<Addr<AgentActor>>,
    /// The agent that took the call.
    agent: Option<Addr<AgentActor>>,
    board: Option<Arc<AgentBoard>>,
    /// Where the board last counted this call.
    counted: Option<CallStage>,
    /// When the connect window closes.
    window_closes: Option<std::time::Instant>,
    /// The agent's callback time, which replaces the retry rule.
    callback_at: Option<UnixMs>,
    /// When the call was handed to SIP, and when an agent took it: the estimator's samples.
    launched_at: std::time::Instant,
    answered_at: Option<std::time::Instant>,
    connected_at: Option<std::time::Instant>,
    measured: bool,
    /// The zone's outage count when the call started waiting for an agent: if it moves, a
    /// takeover began meanwhile and the call is released (docs/design.md §5.2 rules 2–3).
    waiting_since_outage: u64,
}

impl CallActor {
    pub fn new(
        deps: Arc<CallDeps>,
        board: Option<Arc<AgentBoard>>,
        job: Arc<JobRuntime>,
        entry: LedgerEntry,
        mpp: usize,
        mode: CallMode,
        preview_agent: Option<Addr<AgentActor>>,
    ) -> Self {
        let board = board.filter(|_| mode != CallMode::Agentless);
        let now = deps.clock.now();
        Self {
            deps,
            job,
            entry,
            mpp,
            flow: AttemptFlow::new(mode),
            leg: None,
            completed: false,
            preview_agent,
            agent: None,
            board,
            counted: None,
            window_closes: None,
            callback_at: None,
            launched_at: now,
            answered_at: None,
            connected_at: None,
            measured: false,
            waiting_since_outage: 0,
        }
    }

    /// A live answer's wait for an agent ended (connected, window closed, or customer left).
    fn measure_wait(&mut self, customer_left: bool) {
        let (Some(at), Some(_)) = (self.answered_at.take(), &self.board) else {
            return;
        };
        let waited = self.deps.clock.now().saturating_duration_since(at);
        self.job
            .with_estimator(|e| e.record_wait(waited, customer_left));
    }

    /// One sample per attempt for the estimator: answered live or not, and how long it took.
    fn measure_attempt(&mut self, answered_live: bool) {
        if self.measured || self.board.is_none() {
            return;
        }
        self.measured = true;
        let now = self.deps.clock.now();
        let took = now.saturating_duration_since(self.launched_at);
        self.job
            .with_estimator(|e| e.record_attempt(now, answered_live, took));
    }

    /// Keeps the board's count of calls without an agent in step with the flow.
    fn sync_board(&mut self) {
        let now = if self.completed {
            None
        } else {
            self.flow.board_stage()
        };
        if now != self.counted {
            if let Some(b) = &self.board {
                b.call_moved(self.counted, now);
            }
            self.counted = now;
        }
    }

    fn info(&self) -> CallInfo {
        CallInfo {
            attempt: self.entry.id(),
            job: self.job.job,
            contact: self.entry.contact().id,
            phone: self.entry.contact().phone.clone(),
            fields: self.entry.contact().fields.clone(),
        }
    }

    /// One look for an agent; again shortly while the connect window is open.
    fn seek_agent(&mut self, ctx: &mut Context<Self>) {
        if self.flow.stage() != Stage::Waiting {
            return;
        }
        let now = self.deps.clock.now();
        if let Some(b) = self.board.as_ref().filter(|_| self.preview_agent.is_none()) {
            if !b.in_service() || b.outage_count() != self.waiting_since_outage {
                // Its zone is being taken over: no agent is handed this call, now or after.
                b.count_released_by_takeover();
                self.measure_wait(false);
                let effects = self.flow.on_connect_window_closed();
                self.perform(effects, ctx);
                return;
            }
        }
        let open = self.window_closes.is_some_and(|t| now < t);
        let candidate = match (&self.preview_agent, &self.board) {
            (Some(a), _) => Some(a.clone()),
            (None, Some(b)) if open => b.take_available(self.job.job).map(|(_, a)| a),
            _ => None,
        };
        // The leg is taken only with an agent to hand it to: without one it plays the message.
        let handover = match candidate {
            Some(agent) if open => match self.leg.take() {
                Some(leg) => Some((agent, leg)),
                None => {
                    agent.do_send(Resync);
                    None
                }
            },
            _ => None,
        };
        let Some((agent, leg)) = handover else {
            if open {
                ctx.run_later(SEEK_INTERVAL, |act, ctx| act.seek_agent(ctx));
            } else {
                self.measure_wait(false);
                let effects = self.flow.on_connect_window_closed();
                self.perform(effects, ctx);
            }
            return;
        };
        let connect = Connect {
            info: self.info(),
            leg,
            call: ctx.address().recipient(),
        };
        ctx.wait(
            agent
                .send(connect)
                .into_actor(self)
                .map(move |res, act, ctx| {
                    match res {
                        Ok(Ok(())) => {
                            act.agent = Some(agent);
                            act.watch_agent(ctx);
                            act.connected_at = Some(act.deps.clock.now());
                            act.job
                                .stats
                                .with_agent
                                .fetch_add(1, outdial_core::sync::Ordering::Relaxed);
                            let effects = act.flow.on_agent_connected();
                            act.perform(effects, ctx);
                        }
                        // The agent changed its mind meanwhile: the leg is ours again; look on.
                        Ok(Err(leg)) => {
                            act.leg = Some(leg);
                            ctx.run_later(SEEK_INTERVAL, |act, ctx| act.seek_agent(ctx));
                        }
                        // The agent's actor is gone, and the leg with it: no audio to bridge or
                        // message to play, so the window closes on a silent line.
                        Err(_) => {
                            let effects = act.flow.on_connect_window_closed();
                            act.perform(effects, ctx);
                        }
                    }
                }),
        );
    }

    fn bind_leg(&mut self) -> Option<u16> {
        let leg = self.deps.rtp.bind_leg().ok()?;
        let port = leg.local_addr().port();
        self.leg = Some(leg);
        Some(port)
    }

    fn perform(&mut self, effects: Vec<Effect>, ctx: &mut Context<Self>) {
        for e in effects {
            match e {
                Effect::Persist(state) => {
                    let write = self.entry.advance(state, self.deps.clock.unix_ms());
                    // Not awaited: recovery treats Ringing and Answered like Dialing.
                    drop(self.deps.writer.submit_unfenced(vec![write]));
                    self.deps.events.publish(self.entry.attempt());
                }
                Effect::PlayPrompt => {
                    let prompt = self.job.prompt.clone();
                    let length = prompt.duration();
                    if let Some(leg) = &self.leg {
                        leg.play(prompt);
                    }
                    ctx.run_later(length + Duration::from_millis(100), |act, ctx| {
                        let effects = act.flow.on_prompt_done();
                        act.perform(effects, ctx);
                    });
                }
                Effect::HangUp => {
                    self.deps.sip.send(SipCommand::HangUp {
                        attempt: self.entry.id(),
                    });
                }
                Effect::Complete(code) => self.complete(code, ctx),
                Effect::SeekAgent => {
                    self.waiting_since_outage = self.board.as_ref().map_or(0, |b| b.outage_count());
                    self.window_closes =
                        Some(self.deps.clock.now() + self.job.campaign.connect_window());
                    self.seek_agent(ctx);
                }
                Effect::TellAgentEnded => {
                    if let Some(a) = &self.agent {
                        a.do_send(CustomerEnded(self.entry.id()));
                    }
                }
                Effect::TellAgentUnanswered(code) => {
                    if let Some(a) = &self.preview_agent {
                        a.do_send(PreviewUnanswered(self.entry.id(), code));
                    }
                }
            }
        }
        self.sync_board();
    }

    fn complete(&mut self, code: CompletionCode, ctx: &mut Context<Self>) {
        let Some(ticket) = self.record_outcome(code) else {
            return;
        };
        let job = Arc::clone(&self.job);
        let contact = self.entry.contact().id;
        let attempt = self.entry.id();
        ctx.wait(ticket.into_actor(self).map(move |res, act, ctx| {
            match res {
                Ok(()) => {
                    job.stats.completed(code, act.deps.clock.unix_ms());
                    job.release(contact);
                    act.deps.events.publish(act.entry.attempt());
                }
                // The contact stays InFlight on disk; recovery resolves it at the next
                // start. Keep it claimed so this node does not dial it again meanwhile.
                Err(e) => tracing::error!(%attempt, error = %e, "could not record the outcome"),
            }
            ctx.stop();
        }));
    }

    /// The actor itself failed (a contained panic, a kill, or a drop while running): the
    /// call is hung up, an agent on it is told its platform events were lost, and the
    /// attempt ends with the code its stage calls for — never left in flight.
    fn abandon(&mut self, why: &str) {
        if self.completed {
            return;
        }
        let Some(code) = self.flow.lost() else {
            return;
        };
        tracing::warn!(attempt = %self.entry.id(), why, ?code, "call actor failed; the attempt ends here");
        self.deps.sip.send(SipCommand::HangUp {
            attempt: self.entry.id(),
        });
        if let Some(a) = &self.agent {
            a.do_send(CallLost(self.entry.id()));
        }
        if let Some(a) = self.preview_agent.as_ref().filter(|_| self.agent.is_none()) {
            a.do_send(PreviewUnanswered(self.entry.id(), code));
        }
        // Dropped, not stopped: its task ends when its handle goes, and nothing is spawned.
        drop(self.leg.take());
        let Some(ticket) = self.record_outcome(code) else {
            return;
        };
        // Not awaited: this may run in a drop, even as the system shuts down, where nothing
        // can be spawned. The outcome is queued for the group commit either way; until it
        // lands the contact is still in flight on disk, so no prefetch can take it, and if
        // the process dies first, recovery resolves it at the next start.
        drop(ticket);
        self.job.stats.completed(code, self.deps.clock.unix_ms());
        self.job.release(self.entry.contact().id);
        self.deps.events.publish(self.entry.attempt());
    }

    /// Releases the call's resources and submits its outcome; None if it was recorded
    /// already.
    fn record_outcome(&mut self, code: CompletionCode) -> Option<crate::storage::group::Ticket> {
        if self.completed {
            return None;
        }
        self.completed = true;
        if let Some(r) = &self.deps.registry {
            r.remove(self.entry.id());
        }
        self.sync_board();
        if self.agent.is_some() {
            let _ = self.job.stats.with_agent.fetch_update(
                outdial_core::sync::Ordering::AcqRel,
                outdial_core::sync::Ordering::Acquire,
                |v| v.checked_sub(1),
            );
        }
        self.deps.mpps.release(self.mpp);
        if let Some(leg) = self.leg.take() {
            actix::spawn(async move {
                let _ = leg.stop().await;
            });
        }
        let now = self.deps.clock.unix_ms();
        let writes = self
            .entry
            .close(Some(&self.job.campaign), code, self.callback_at, now);
        Some(
            self.deps
                .writer
                .submit(self.job.campaign.zone(), self.entry.attempt().epoch, writes),
        )
    }
}

impl Drop for CallActor {
    fn drop(&mut self) {
        if self.deps.stopping.load(Ordering::Acquire) {
            return;
        }
        // Stopped (killed) or unwound by a panic before its outcome was recorded.
        self.abandon("the call's actor ended before its outcome");
    }
}

impl Handler<Inject> for CallActor {
    type Result = ();

    fn handle(&mut self, msg: Inject, ctx: &mut Context<Self>) {
        if msg == Inject::Panic {
            self.abandon(&raise_contained());
        }
        ctx.stop();
    }
}

/// How often a call with an agent checks that the agent's actor still lives: the agent
/// holds the audio and gives the disposition, so a call whose agent vanished would wait
/// for ever.
const AGENT_WATCH: Duration = Duration::from_millis(500);

impl CallActor {
    fn watch_agent(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(AGENT_WATCH, |act, ctx| {
            if act.completed {
                return;
            }
            let gone = act.agent.as_ref().is_some_and(|a| !a.connected());
            if gone {
                tracing::warn!(attempt = %act.entry.id(), "the agent's actor is gone; the call ends desktop-error");
                act.callback_at = None;
                let effects = act.flow.on_disposition(CompletionCode::DesktopError);
                act.perform(effects, ctx);
            }
        });
    }
}

impl Actor for CallActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if let Some(r) = &self.deps.registry {
            r.insert(self.entry.id(), ctx.address());
        }
        self.sync_board();
        if !self.deps.leases.may_dial(self.job.campaign.zone()) {
            // The zone's lease ran out (or moved) between recording Dialing and now: no INVITE
            // leaves a node that may no longer be master.
            tracing::warn!(attempt = %self.entry.id(), "not dialed: this node no longer masters the zone");
            let effects = self.flow.on_signal(&Signal::NotSent { backoff: false });
            self.perform(effects, ctx);
            return;
        }
        let Some(port) = self.bind_leg() else {
            let effects = self.flow.no_media();
            self.perform(effects, ctx);
            return;
        };
        let Some(slot) = self.deps.mpps.slot(self.mpp) else {
            let effects = self.flow.no_media();
            self.perform(effects, ctx);
            return;
        };
        let target = slot.config.address;
        tracing::debug!(attempt = %self.entry.id(), phone = %outdial_core::domain::Redacted(&self.entry.contact().phone), mpp = %slot.config.name, "dialing");
        let offer = sip::sdp::offer(self.entry.id().0, 1, self.deps.rtp.ip(), port).into_bytes();
        let campaign = &self.job.campaign;
        let sent = self.deps.sip.send(SipCommand::Dial {
            attempt: self.entry.id(),
            target,
            request_uri: format!("sip:{}@{}", self.entry.contact().phone, target),
            from_uri: caller_uri(campaign, self.deps.sip.local),
            sdp_offer: Some(offer),
            ring_timeout: campaign.ring_timeout(),
            call: ctx.address().recipient(),
        });
        if !sent {
            let effects = self.flow.on_signal(&Signal::NotSent { backoff: false });
            self.perform(effects, ctx);
        }
    }
}

impl Handler<CallSignal> for CallActor {
    type Result = ();

    fn handle(&mut self, CallSignal(signal): CallSignal, ctx: &mut Context<Self>) {
        if let Signal::Answered { sdp: Some(sdp) } = &signal {
            if let (Some(remote), Some(leg)) = (
                sip::sdp::parse_answer(sdp).ok().and_then(|a| a.remote()),
                &self.leg,
            ) {
                leg.set_remote(remote);
            }
        }
        if let Signal::NotSent { backoff: true } = signal {
            // The MPP asked for a pause (503 Retry-After): stop picking it meanwhile.
            if let Some(slot) = self.deps.mpps.slot(self.mpp) {
                slot.block_until(self.deps.clock.unix_ms() + 1000);
            }
        }
        if let Signal::Ended(sip::EndReason::Rejected {
            status: 503,
            retry_after: Some(ra),
        }) = &signal
        {
            if let Some(slot) = self.deps.mpps.slot(self.mpp) {
                slot.block_until(
                    self.deps.clock.unix_ms() + u64::try_from(ra.as_millis()).unwrap_or(u64::MAX),
                );
            }
        }
        if let Signal::Ended(_) = &signal {
            if self.flow.stage() == Stage::Waiting {
                self.measure_wait(true);
            }
        }
        match &signal {
            Signal::Answered { sdp: Some(_) } => {
                if self.answered_at.is_none() && self.flow.stage() != Stage::Done {
                    self.answered_at = Some(self.deps.clock.now());
                }
                self.measure_attempt(true)
            }
            Signal::Ended(_) | Signal::NotSent { .. } => self.measure_attempt(false),
            _ => {}
        }
        let effects = self.flow.on_signal(&signal);
        self.perform(effects, ctx);
    }
}

impl Handler<ToCall> for CallActor {
    type Result = ();

    fn handle(&mut self, msg: ToCall, ctx: &mut Context<Self>) {
        let effects = match msg {
            ToCall::HangUp => self.flow.on_agent_hung_up(),
            ToCall::Disposition { code, callback_at } => {
                self.callback_at = callback_at;
                if let Some(at) = self.connected_at.take() {
                    let now = self.deps.clock.now();
                    self.job.with_estimator(|e| {
                        e.record_handle(now, now.saturating_duration_since(at))
                    });
                }
                self.flow.on_disposition(code)
            }
        };
        self.perform(effects, ctx);
    }
}

/// The From URI of a campaign's calls: its caller ID, or the node's own address.
fn caller_uri(campaign: &outdial_core::campaign::Campaign, local: std::net::SocketAddr) -> String {
    match campaign.caller_id() {
        Some(outdial_core::campaign::CallerId::E164(n)) => format!("sip:{n}@{}", local.ip()),
        Some(outdial_core::campaign::CallerId::Uri(u)) => u.clone(),
        None => format!("sip:outdial@{local}"),
    }
}

#[cfg(test)]
mod tests;
