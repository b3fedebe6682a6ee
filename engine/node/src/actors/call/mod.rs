//! The call actor: one per attempt in flight, on the SIP plant's arbiter. A thin shell over
//! [`AttemptFlow`]: it turns SIP signals into effects and performs them (storage writes, the
//! RTP leg, the nuisance meter, hang-up), then records the outcome durably and applies the
//! retry rule, or the agent's callback.
//!
//! ```text
//!   mod.rs      the actor, its dependencies, SIP signals and effects
//!   waiting.rs  a live answer waiting in the zone's queue for an agent, and the hand-over
//!   amd.rs      answering-machine detection on the answer's audio
//!   outcome.rs  the attempt's end: recorded, or settled when the actor itself fails
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use media::RtpLeg;

use crate::actors::agent::{AgentActor, AgentBoard, CustomerEnded, PreviewUnanswered, ToCall};
use crate::actors::zone::PlaceCall;
use crate::cluster::leases::Leases;
use crate::events::AttemptEvents;
use crate::job::JobRuntime;
use crate::mpp::MppTable;
use crate::rtp::Rtp;
use crate::sip_plant::{CallSignal, Signal, SipCommand, SipHandle};
use crate::storage::Writer;
use outdial_core::agent::CallInfo;
use outdial_core::attempt::flow::{AttemptFlow, CallMode, Effect, Message, OnMachine, Stage};
use outdial_core::attempt::LedgerEntry;
use outdial_core::clock::Clock;
use outdial_core::domain::AttemptId;
use outdial_core::domain::UnixMs;
use outdial_core::sync::AtomicBool;
use outdial_core::zone::board::CallStage;
use outdial_core::zone::Launch;

mod amd;
mod outcome;
mod waiting;

pub use waiting::{AgentFound, CallLink, ReleasedByTakeover};

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
    /// A hand-over to an agent is under way (its answer decides the call's fate).
    connecting: bool,
    /// The answering-machine detector, while it listens.
    detector: Option<media::amd::AmdDetector>,
    /// When the detector's next deadline is armed for.
    detector_timer: Option<SpawnHandle>,
    /// The agent's callback time, which replaces the retry rule.
    callback_at: Option<UnixMs>,
    /// When the call was handed to SIP, and when an agent took it: the estimator's samples.
    launched_at: std::time::Instant,
    answered_at: Option<std::time::Instant>,
    /// When the connect window opened, if not at the answer: with detection on, when the
    /// callee started to speak (or, silent, when the detector gave its verdict).
    window_opens: Option<std::time::Instant>,
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
        let amd = job_amd(&job);
        Self {
            deps,
            job,
            entry,
            mpp,
            flow: AttemptFlow::with_amd(mode, amd),
            leg: None,
            completed: false,
            preview_agent,
            agent: None,
            board,
            counted: None,
            connecting: false,
            detector: None,
            detector_timer: None,
            callback_at: None,
            launched_at: now,
            answered_at: None,
            window_opens: None,
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

    /// Plays `message` on the leg, and tells the flow when it is over.
    fn play(&mut self, message: Message, ctx: &mut Context<Self>) {
        let prompt = match message {
            Message::Information => self.job.prompt.clone(),
            Message::Machine => self
                .job
                .machine_message
                .clone()
                .unwrap_or_else(|| self.job.prompt.clone()),
        };
        let length = prompt.duration();
        if let Some(leg) = &self.leg {
            leg.play(prompt);
        }
        ctx.run_later(length + Duration::from_millis(100), |act, ctx| {
            let effects = act.flow.on_prompt_done();
            act.perform(effects, ctx);
        });
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
                Effect::Play(message) => self.play(message, ctx),
                Effect::HangUp => {
                    self.deps.sip.send(SipCommand::HangUp {
                        attempt: self.entry.id(),
                    });
                }
                Effect::Complete(code) => self.complete(code, ctx),
                Effect::SeekAgent => self.seek_agent(ctx),
                Effect::Detect => self.detect(ctx),
                Effect::Count(what) => self.job.stats.count(what, self.deps.clock.unix_ms()),
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
        tracing::debug!(attempt = %self.entry.id(), phone = %outdial_core::domain::Redacted(&self.entry.contact().phone), mpp = %slot.config.name, "dialing");
        let offer = sip::sdp::offer(self.entry.id().0, 1, self.deps.rtp.ip(), port).into_bytes();
        let campaign = &self.job.campaign;
        let phone = &self.entry.contact().phone;
        // The campaign's trunk, else the MPP's (a campaign naming an unknown trunk was refused
        // when it was created).
        let trunk = campaign
            .trunk()
            .and_then(|name| self.deps.sip.trunks.find(name))
            .or(slot.config.trunk.as_ref());
        let (target, request_uri, from_uri, extra_headers, transport) = match trunk {
            // Through a trunk: its next hop (the outbound proxy) and transport, its domain and
            // identity.
            Some(t) => (
                t.next_hop,
                t.request_uri(phone),
                t.from(caller_number(campaign)),
                t.invite_headers(),
                Some(t.transport),
            ),
            None => {
                let target = slot.config.address;
                (
                    target,
                    format!("sip:{phone}@{target}"),
                    caller_uri(campaign, self.deps.sip.local),
                    Vec::new(),
                    None,
                )
            }
        };
        let sent = self.deps.sip.send(SipCommand::Dial {
            attempt: self.entry.id(),
            target,
            request_uri,
            from_uri,
            sdp_offer: Some(offer),
            ring_timeout: campaign.ring_timeout(),
            extra_headers,
            transport,
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
                self.leave_queue();
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

/// What a campaign's answering machines get, when it detects them.
fn job_amd(job: &JobRuntime) -> Option<OnMachine> {
    job.campaign.amd().map(|a| match a.on_machine {
        outdial_core::campaign::MachineAction::HangUp => OnMachine::HangUp,
        outdial_core::campaign::MachineAction::LeaveMessage(_) => OnMachine::LeaveMessage,
    })
}

/// The From URI of a campaign's calls: its caller ID, or the node's own address.
/// The campaign's caller id when it is a number (a trunk writes it in its own domain).
fn caller_number(campaign: &outdial_core::campaign::Campaign) -> Option<&str> {
    match campaign.caller_id() {
        Some(outdial_core::campaign::CallerId::E164(n)) => Some(n.as_str()),
        _ => None,
    }
}

fn caller_uri(campaign: &outdial_core::campaign::Campaign, local: std::net::SocketAddr) -> String {
    match campaign.caller_id() {
        Some(outdial_core::campaign::CallerId::E164(n)) => format!("sip:{n}@{}", local.ip()),
        Some(outdial_core::campaign::CallerId::Uri(u)) => u.clone(),
        None => format!("sip:outdial@{local}"),
    }
}

#[cfg(test)]
mod tests;
