//! The zone actor and its pacing loop. Per tick it reads each running job's counters and
//! the zone snapshot without locks, asks the job's [`Pacer`] how many calls to launch, pops
//! that many contacts from the job's pre-fetched queue, records their attempts as `Dialing`
//! in one durable batch, and only then starts their call actors (which hand the INVITEs to
//! the SIP plant). No per-call message sits on the decision path.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use std::collections::HashMap;

use crate::actors::agent::{
    AgentActor, AgentBoard, AttachTo, JobEnded, OfferPreview, PreviewUnanswered, Resync,
};
use crate::actors::call::CallActor;
use crate::actors::supervisor::{Resumed, ZoneDown, ZoneSupervisor};
use crate::faults::{contain, Inject};
use crate::job::{JobRuntime, RunState};
use crate::shared::NodeShared;
use crate::storage::Write;
use outdial_core::agent::takeover::Cause;
use outdial_core::agent::CallInfo;
use outdial_core::attempt::flow::CallMode;
use outdial_core::domain::{
    Attempt, AttemptId, AttemptState, CompletionCode, Contact, ContactState, JobId,
};
use outdial_core::pacing::{Pacer, PacingPolicy};
use outdial_core::sync::Ordering;

/// Longest the loop sleeps when no pacer names an earlier decision.
const MAX_TICK: Duration = Duration::from_millis(20);

/// Leave now, without reporting a failure: a takeover replaced this actor.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Retire;

/// Attaches a running job to the zone's pacing loop.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AttachJob(pub Arc<JobRuntime>);

/// Takes a job off the loop (stopped, finished, or moved).
#[derive(Message)]
#[rtype(result = "()")]
pub struct DetachJob(pub JobId);

/// An agent accepted its preview: dial it for them.
#[derive(Message)]
#[rtype(result = "()")]
pub struct LaunchPreview {
    pub info: CallInfo,
    pub agent: Addr<AgentActor>,
}

/// An agent skipped its preview (or left with it): the contact goes back to the list.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ReturnPreview(pub CallInfo);

/// How long a skipped preview stays out of the queue, so the next agent sees another contact.
const SKIPPED_PREVIEW_DELAY_MS: u64 = 10 * 60 * 1000;

/// Attempt ids handed out from durable blocks, so allocating one costs no I/O.
#[derive(Debug, Default)]
struct IdBlock {
    next: u64,
    end: u64,
}

pub struct ZoneActor {
    shared: Arc<NodeShared>,
    pub name: String,
    /// The zone's lease cell: the epoch attempts carry and the deadline dialing stops at
    /// (looked up once, read every tick).
    lease: Arc<crate::cluster::ZoneLease>,
    jobs: Vec<(Arc<JobRuntime>, Pacer)>,
    board: Arc<AgentBoard>,
    ids: IdBlock,
    address: Option<Addr<ZoneActor>>,
    /// Contacts shown to agents as previews, by the attempt id they will dial under.
    previews: HashMap<AttemptId, (Arc<JobRuntime>, Contact)>,
    /// Which incarnation of the zone's pacing actor this is (a takeover makes a new one).
    generation: u64,
    supervisor: Addr<ZoneSupervisor>,
    /// Until this actor reports its end (or retires), its drop is a failure to report.
    armed: bool,
    /// Whether the supervisor was told this actor decided in service.
    resumed: bool,
}

impl ZoneActor {
    pub fn new(
        shared: Arc<NodeShared>,
        name: String,
        board: Arc<AgentBoard>,
        generation: u64,
        supervisor: Addr<ZoneSupervisor>,
    ) -> Self {
        let lease = shared
            .zone_leases
            .get(&name)
            .cloned()
            .unwrap_or_else(|| Arc::new(crate::cluster::ZoneLease::not_held()));
        Self {
            lease,
            shared,
            name,
            jobs: Vec::new(),
            board,
            ids: IdBlock::default(),
            address: None,
            previews: HashMap::new(),
            generation,
            supervisor,
            armed: true,
            resumed: false,
        }
    }

    /// Reports this actor's failure to its supervisor, once.
    fn report_down(&mut self, cause: Cause) {
        if self.shared.stopping.load(Ordering::Acquire) {
            return;
        }
        if std::mem::take(&mut self.armed) {
            self.supervisor.do_send(ZoneDown {
                generation: Some(self.generation),
                cause,
            });
        }
    }

    /// Runs a handler's body; a panic in it is this actor's failure: reported, and the
    /// actor stops (its state is not to be trusted).
    fn guarded(
        &mut self,
        ctx: &mut Context<Self>,
        body: impl FnOnce(&mut Self, &mut Context<Self>),
    ) {
        if let Err(msg) = contain(|| body(self, ctx)) {
            tracing::error!(zone = %self.name, generation = self.generation, panic = %msg, "zone actor panicked");
            self.report_down(Cause::Panic(msg));
            ctx.stop();
        }
    }

    /// A preview the actor does not hold (a takeover replaced the one that offered it): the
    /// contact is read back from storage, if its job runs here and it is still undialed.
    fn preview_from_storage(&self, info: &CallInfo) -> Option<(Arc<JobRuntime>, Contact)> {
        let job = self.jobs.iter().find(|(j, _)| j.job == info.job)?.0.clone();
        let contact = self.shared.store.contact(info.job, info.contact).ok()??;
        matches!(contact.state, ContactState::Ready { .. }).then_some((job, contact))
    }

    /// Shows a contact to each free agent of a preview job.
    fn offer_previews(&mut self, job: &Arc<JobRuntime>) {
        while let Some((_, agent)) = self.board.take_available(job.job) {
            let Some(contact) = job.queue.pop() else {
                // Nobody to preview: the agent stays free (its next update says so).
                agent.do_send(Resync);
                return;
            };
            let Some(id) = self.next_attempt_id() else {
                job.release(contact.id);
                return;
            };
            let info = CallInfo {
                attempt: id,
                job: job.job,
                contact: contact.id,
                phone: contact.phone.clone(),
                fields: contact.fields.clone(),
            };
            self.previews.insert(id, (Arc::clone(job), contact));
            let me = self.address.clone();
            let back = info.clone();
            actix::spawn(async move {
                if !matches!(agent.send(OfferPreview(info)).await, Ok(true)) {
                    if let Some(me) = me {
                        me.do_send(ReturnPreview(back));
                    }
                }
            });
        }
    }

    fn next_attempt_id(&mut self) -> Option<AttemptId> {
        if self.ids.next >= self.ids.end {
            const BLOCK: u64 = 4096;
            match self.shared.store.allocate_ids("attempt", BLOCK) {
                Ok(first) => {
                    self.ids = IdBlock {
                        next: first,
                        end: first + BLOCK,
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot allocate attempt ids; dialing waits");
                    return None;
                }
            }
        }
        let id = self.ids.next;
        self.ids.next += 1;
        Some(AttemptId(id))
    }

    /// The attempt record this node writes for `contact`'s current attempt, starting in `state`.
    fn new_attempt(
        &self,
        id: AttemptId,
        job: &JobRuntime,
        contact: &Contact,
        state: AttemptState,
        now_ms: u64,
    ) -> Attempt {
        Attempt {
            id,
            job: job.job,
            contact: contact.id,
            number: contact.attempts,
            state,
            history: vec![(now_ms, state)],
            sip_status: None,
            node: self.shared.name.clone(),
            epoch: self.lease.epoch(),
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        self.guarded(ctx, |act, ctx| {
            // A cluster node past its own deadline for the zone's lease dials nothing more.
            if act.board.in_service() && act.shared.lease_valid(&act.lease) {
                if !act.resumed {
                    act.resumed = true;
                    act.supervisor.do_send(Resumed {
                        generation: act.generation,
                    });
                }
                act.decide(ctx);
            } else {
                ctx.run_later(Duration::from_millis(1), |act, ctx| act.tick(ctx));
            }
        });
    }

    /// One pass of the pacing loop: decide, record `Dialing`, launch; then sleep until the
    /// next decision is due.
    fn decide(&mut self, ctx: &mut Context<Self>) {
        let now = self.shared.clock.now();
        let now_ms = self.shared.clock.unix_ms();
        let mut wake = now + MAX_TICK;
        let snap = self.board.cell().load();
        let mut launches: Vec<(Arc<JobRuntime>, Attempt, Contact, usize)> = Vec::new();
        let mut writes: Vec<Write> = Vec::new();
        let mut no_media: Vec<(Arc<JobRuntime>, Contact)> = Vec::new();
        let mut resolved: Vec<(Arc<JobRuntime>, outdial_core::domain::ContactId)> = Vec::new();
        for i in 0..self.jobs.len() {
            let (job, pacer) = &mut self.jobs[i];
            if job.run_state() != RunState::Running {
                continue;
            }
            if pacer.policy() == PacingPolicy::Preview {
                let job = Arc::clone(job);
                self.offer_previews(&job);
                continue;
            }
            // Calls an agent took (talking or awaiting its disposition) hold no line the
            // pacer must account for.
            let in_flight = job
                .stats
                .in_flight
                .load(Ordering::Relaxed)
                .saturating_sub(job.stats.with_agent.load(Ordering::Relaxed));
            let in_flight = u32::try_from(in_flight).unwrap_or(u32::MAX);
            let want = if matches!(pacer.policy(), PacingPolicy::Predictive { .. }) {
                let mut snap = snap;
                let busy = self.board.busy_elapsed(now);
                let nuisance = job.stats.nuisance_counts(now_ms);
                job.with_estimator(|e| e.fill_snapshot(&mut snap, &busy, nuisance));
                pacer.decide(now, &snap, in_flight)
            } else {
                pacer.decide(now, &snap, in_flight)
            };
            if let Some(at) = pacer.next_decision_at(now) {
                wake = wake.min(at);
            }
            let job = Arc::clone(job);
            let mut launched = 0;
            for _ in 0..want {
                let Some(mut contact) = job.queue.pop() else {
                    break;
                };
                launched += 1;
                let was = contact.state;
                contact.attempts += 1;
                let Some(mpp) = self.shared.mpps.pick(now_ms) else {
                    no_media.push((Arc::clone(&job), contact));
                    continue;
                };
                let Some(id) = self.next_attempt_id() else {
                    self.shared.mpps.release(mpp);
                    job.release(contact.id);
                    break;
                };
                contact.state = ContactState::InFlight { attempt: id };
                let attempt = self.new_attempt(id, &job, &contact, AttemptState::Dialing, now_ms);
                writes.push(Write::Attempt(attempt.clone()));
                writes.push(Write::Contact {
                    contact: contact.clone(),
                    was: Some(was),
                });
                job.stats.launched();
                launches.push((Arc::clone(&job), attempt, contact, mpp));
            }
            // The queue ran dry (or ids did): keep the unused rate for the next tick.
            if let Some((_, pacer)) = self.jobs.get_mut(i) {
                pacer.give_back(want.saturating_sub(launched));
            }
        }
        // No media server with a free port: the attempt ends at once and follows its rule.
        for (job, mut contact) in no_media {
            let Some(id) = self.next_attempt_id() else {
                job.release(contact.id);
                continue;
            };
            let was = contact.state;
            let code = CompletionCode::NoMediaResource;
            contact.last_code = Some(code);
            contact.state =
                outdial_core::campaign::retry::decide(&job.campaign, &contact, code, now_ms);
            let attempt =
                self.new_attempt(id, &job, &contact, AttemptState::Completed(code), now_ms);
            writes.push(Write::Attempt(attempt));
            writes.push(Write::Contact {
                contact: contact.clone(),
                was: Some(was),
            });
            job.stats.launched();
            resolved.push((job, contact.id));
        }
        if !writes.is_empty() {
            // `Dialing` is durable before any INVITE of the batch leaves.
            let ticket = self.shared.commit.submit(self.shared.fenced_at(
                &self.name,
                self.lease.epoch(),
                writes,
            ));
            let shared = Arc::clone(&self.shared);
            // Detached from this actor: a takeover may retire it before the batch commits, and
            // the calls (or outcomes) it recorded must go ahead all the same.
            actix::spawn(async move {
                match ticket.await {
                    Ok(()) => {
                        for (job, attempt, contact, mpp) in launches {
                            shared.publish(&attempt);
                            let mode = match job.campaign.mode() {
                                PacingPolicy::Agentless { .. } => CallMode::Agentless,
                                _ => CallMode::WithAgent,
                            };
                            CallActor::new(
                                Arc::clone(&shared),
                                job,
                                attempt,
                                contact,
                                mpp,
                                mode,
                                None,
                            )
                            .start();
                        }
                        let now_ms = shared.clock.unix_ms();
                        for (job, contact) in resolved {
                            job.stats.completed(CompletionCode::NoMediaResource, now_ms);
                            job.release(contact);
                        }
                    }
                    Err(e) => {
                        // Nothing was dialed; the contacts stay as they were on disk, and stay
                        // claimed so they are not queued again before a restart re-reads them.
                        if matches!(e, crate::storage::StoreError::Fenced { .. }) {
                            tracing::warn!(error = %e, "not master any more; these calls are not placed");
                        } else {
                            tracing::error!(error = %e, "could not record Dialing; these calls are not placed");
                        }
                        for (job, _, _, mpp) in launches {
                            shared.mpps.release(mpp);
                            job.stats.not_launched();
                        }
                    }
                }
            });
        }
        let wait = wake
            .saturating_duration_since(self.shared.clock.now())
            .max(Duration::from_millis(1));
        ctx.run_later(wait, |act, ctx| act.tick(ctx));
    }
}

impl Actor for ZoneActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.address = Some(ctx.address());
        ctx.run_later(Duration::from_millis(1), |act, ctx| act.tick(ctx));
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        self.report_down(Cause::Stopped("the zone's pacing actor stopped".into()));
        // Previews still held go back to their jobs' queues (the contacts were never
        // written as taken): the agents holding them keep them, and a new actor reads
        // them back from storage when they are accepted.
    }
}

impl Drop for ZoneActor {
    fn drop(&mut self) {
        // Dropped without `stopped`: a panic outside a contained handler unwound the actor.
        self.report_down(Cause::Panic(
            "the zone actor was dropped while running".into(),
        ));
    }
}

impl Handler<Retire> for ZoneActor {
    type Result = ();

    fn handle(&mut self, _: Retire, ctx: &mut Context<Self>) {
        self.armed = false;
        ctx.stop();
    }
}

impl Handler<Inject> for ZoneActor {
    type Result = ();

    fn handle(&mut self, msg: Inject, ctx: &mut Context<Self>) {
        match msg {
            Inject::Panic => self.guarded(ctx, |_, _| panic!("{}", crate::faults::INJECTED)),
            Inject::Kill => ctx.stop(),
        }
    }
}

impl Handler<AttachJob> for ZoneActor {
    type Result = ();

    fn handle(&mut self, msg: AttachJob, ctx: &mut Context<Self>) {
        self.guarded(ctx, |act, _| act.attach(msg));
    }
}

impl ZoneActor {
    fn attach(&mut self, msg: AttachJob) {
        if self.jobs.iter().any(|(j, _)| j.job == msg.0.job) {
            return;
        }
        let policy = msg.0.campaign.mode();
        let pacer = Pacer::new(policy);
        let job = msg.0.job;
        self.jobs.push((msg.0, pacer));
        if !matches!(policy, PacingPolicy::Agentless { .. }) {
            self.board.job_started(job);
            for agent in self.board.agents_without_job() {
                agent.do_send(AttachTo(job));
            }
        }
    }
}

impl Handler<DetachJob> for ZoneActor {
    type Result = ();

    fn handle(&mut self, msg: DetachJob, _ctx: &mut Context<Self>) {
        self.jobs.retain(|(j, _)| j.job != msg.0);
        for (_, agent) in self.board.job_stopped(msg.0) {
            agent.do_send(JobEnded(msg.0));
        }
        // Previews of the job not yet accepted go back to the list.
        let stale: Vec<AttemptId> = self
            .previews
            .iter()
            .filter(|(_, (j, _))| j.job == msg.0)
            .map(|(a, _)| *a)
            .collect();
        for a in stale {
            if let Some((job, contact)) = self.previews.remove(&a) {
                job.release(contact.id);
            }
        }
    }
}

impl Handler<LaunchPreview> for ZoneActor {
    type Result = ();

    fn handle(&mut self, msg: LaunchPreview, ctx: &mut Context<Self>) {
        self.guarded(ctx, |act, _| act.launch_preview(msg));
    }
}

impl ZoneActor {
    fn launch_preview(&mut self, msg: LaunchPreview) {
        let held = self
            .previews
            .remove(&msg.info.attempt)
            .or_else(|| self.preview_from_storage(&msg.info));
        let Some((job, mut contact)) = held else {
            msg.agent.do_send(PreviewUnanswered(
                msg.info.attempt,
                CompletionCode::NetworkFailure,
            ));
            return;
        };
        let now_ms = self.shared.clock.unix_ms();
        let was = contact.state;
        contact.attempts += 1;
        let id = msg.info.attempt;
        let Some(mpp) = self.shared.mpps.pick(now_ms) else {
            // No media server: the attempt ends at once, like any other, and the agent is
            // told the call could not be placed.
            let code = CompletionCode::NoMediaResource;
            contact.last_code = Some(code);
            contact.state =
                outdial_core::campaign::retry::decide(&job.campaign, &contact, code, now_ms);
            let attempt =
                self.new_attempt(id, &job, &contact, AttemptState::Completed(code), now_ms);
            job.stats.launched();
            let ticket = self.shared.commit.submit(self.shared.fenced_at(
                &self.name,
                self.lease.epoch(),
                vec![
                    Write::Attempt(attempt),
                    Write::Contact {
                        contact: contact.clone(),
                        was: Some(was),
                    },
                ],
            ));
            let shared = Arc::clone(&self.shared);
            actix::spawn(async move {
                let res = ticket.await;
                if res.is_ok() {
                    job.stats.completed(code, shared.clock.unix_ms());
                    job.release(contact.id);
                }
                msg.agent.do_send(PreviewUnanswered(id, code));
            });
            return;
        };
        contact.state = ContactState::InFlight { attempt: id };
        let attempt = self.new_attempt(id, &job, &contact, AttemptState::Dialing, now_ms);
        job.stats.launched();
        let ticket = self.shared.commit.submit(self.shared.fenced_at(
            &self.name,
            self.lease.epoch(),
            vec![
                Write::Attempt(attempt.clone()),
                Write::Contact {
                    contact: contact.clone(),
                    was: Some(was),
                },
            ],
        ));
        let shared = Arc::clone(&self.shared);
        actix::spawn(async move {
            match ticket.await {
                Ok(()) => {
                    shared.publish(&attempt);
                    CallActor::new(
                        Arc::clone(&shared),
                        job,
                        attempt,
                        contact,
                        mpp,
                        CallMode::Preview,
                        Some(msg.agent),
                    )
                    .start();
                }
                Err(e) => {
                    tracing::error!(error = %e, "could not record Dialing; the preview call is not placed");
                    shared.mpps.release(mpp);
                    job.stats.not_launched();
                    msg.agent
                        .do_send(PreviewUnanswered(id, CompletionCode::NetworkFailure));
                }
            }
        });
    }
}

impl Handler<ReturnPreview> for ZoneActor {
    type Result = ();

    fn handle(&mut self, msg: ReturnPreview, ctx: &mut Context<Self>) {
        self.guarded(ctx, |act, _| act.return_preview(msg));
    }
}

impl ZoneActor {
    fn return_preview(&mut self, msg: ReturnPreview) {
        let held = self
            .previews
            .remove(&msg.0.attempt)
            .or_else(|| self.preview_from_storage(&msg.0));
        let Some((job, mut contact)) = held else {
            return;
        };
        let was = contact.state;
        let now_ms = self.shared.clock.unix_ms();
        contact.state = ContactState::Ready {
            not_before: now_ms + SKIPPED_PREVIEW_DELAY_MS,
        };
        let ticket = self.shared.commit.submit(self.shared.fenced_at(
            &self.name,
            self.lease.epoch(),
            vec![Write::Contact {
                contact: contact.clone(),
                was: Some(was),
            }],
        ));
        actix::spawn(async move {
            let _ = ticket.await;
            job.release(contact.id);
        });
    }
}
