//! The zone actor: the shell that runs a zone's core ([`Zone`]). Per tick it asks the core
//! to decide — the core reads the board's snapshot and each running job's counters without
//! locks, paces, pops pre-fetched contacts and opens their attempts — then records the
//! decision's writes in one durable batch and only then starts the call actors (which hand
//! the INVITEs to the SIP plant). No per-call message sits on the decision path.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;

use crate::actors::agent::{
    AgentActor, AgentBoard, AttachTo, JobEnded, OfferPreview, PreviewUnanswered, Resync,
};
use crate::actors::supervisor::{Resumed, ZoneDown};
use crate::actors::zones::ZoneHandle;
use crate::cluster::leases::Leases;
use crate::cluster::ZoneLease;
use crate::faults::{contain, Inject};
use crate::job::{JobRuntime, RunState};
use crate::mpp::MppTable;
use crate::storage::{Store, StoreError, Write, Writer};
use outdial_core::agent::takeover::Cause;
use outdial_core::agent::CallInfo;
use outdial_core::clock::Clock;
use outdial_core::domain::{
    AttemptId, CompletionCode, Contact, ContactId, ContactState, JobId, UnixMs,
};
use outdial_core::pacing::{Pacer, PacingPolicy, ZoneSnapshot};
use outdial_core::sync::{AtomicBool, Ordering};
use outdial_core::zone::{Launch, Now, PreviewStart, Unplaced, Zone, ZoneHost};

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

/// Places the calls a decision recorded: the node starts a call actor for each; a test
/// collects them.
pub trait PlaceCall: Send + Sync {
    fn place(
        &self,
        launch: Launch,
        job: Arc<JobRuntime>,
        board: Arc<AgentBoard>,
        preview_agent: Option<Addr<AgentActor>>,
    );
}

/// What a zone's pacing actor needs from its node, shared by every zone.
pub struct ZoneDeps {
    /// The node's name, on every attempt it opens.
    pub node: String,
    /// Attempt id blocks, and contacts read back for previews from before a takeover.
    pub store: Arc<dyn Store>,
    pub writer: Writer,
    pub mpps: Arc<MppTable>,
    pub clock: Arc<dyn Clock>,
    pub leases: Arc<Leases>,
    pub calls: Arc<dyn PlaceCall>,
    /// Set once the node is stopping: the actor's end is then not a failure.
    pub stopping: Arc<AtomicBool>,
}

/// Who hears about a pacing actor's life: its zone's supervisor.
pub struct Reports {
    pub down: Recipient<ZoneDown>,
    pub resumed: Recipient<Resumed>,
}

pub struct ZoneActor {
    deps: Arc<ZoneDeps>,
    name: String,
    /// The zone's lease cell: the epoch attempts carry and the deadline dialing stops at
    /// (read every tick).
    lease: Arc<ZoneLease>,
    /// The zone's dialing decisions; this actor performs them.
    core: Zone,
    jobs: HashMap<JobId, Arc<JobRuntime>>,
    board: Arc<AgentBoard>,
    address: Option<Addr<ZoneActor>>,
    /// Which incarnation of the zone's pacing actor this is (a takeover makes a new one).
    generation: u64,
    reports: Reports,
    /// Until this actor reports its end (or retires), its drop is a failure to report.
    armed: bool,
    /// Whether the supervisor was told this actor decided in service.
    resumed: bool,
}

/// What the zone core reads and takes through the node: the board, the jobs' queues and
/// counters, the media servers and storage.
struct Host<'a> {
    board: &'a AgentBoard,
    jobs: &'a HashMap<JobId, Arc<JobRuntime>>,
    deps: &'a ZoneDeps,
    now_ms: UnixMs,
}

impl ZoneHost for Host<'_> {
    type Agent = Addr<AgentActor>;

    fn snapshot(&self) -> ZoneSnapshot {
        self.board.cell().load()
    }

    fn may_launch(&self, job: JobId) -> bool {
        self.jobs
            .get(&job)
            .is_some_and(|j| j.run_state() == RunState::Running)
    }

    fn lines_without_agent(&self, job: JobId) -> u32 {
        // Calls an agent took (talking or awaiting its disposition) hold no line the
        // pacer must account for.
        self.jobs.get(&job).map_or(0, |j| {
            let lines = j
                .stats
                .in_flight
                .load(Ordering::Relaxed)
                .saturating_sub(j.stats.with_agent.load(Ordering::Relaxed));
            u32::try_from(lines).unwrap_or(u32::MAX)
        })
    }

    fn measure(&mut self, job: JobId, now: Instant, snap: &mut ZoneSnapshot) {
        if let Some(j) = self.jobs.get(&job) {
            let busy = self.board.busy_elapsed(now);
            let nuisance = j.stats.nuisance_counts(self.now_ms);
            j.with_estimator(|e| e.fill_snapshot(snap, &busy, nuisance));
        }
    }

    fn next_contact(&mut self, job: JobId, _now: UnixMs) -> Option<Contact> {
        self.jobs.get(&job)?.queue.pop()
    }

    fn return_contact(&mut self, job: JobId, contact: ContactId) {
        if let Some(j) = self.jobs.get(&job) {
            j.release(contact);
        }
    }

    fn pick_media(&mut self, now: UnixMs) -> Option<usize> {
        self.deps.mpps.pick(now)
    }

    fn release_media(&mut self, media: usize) {
        self.deps.mpps.release(media);
    }

    fn allocate_ids(&mut self, n: u64) -> Result<u64, StoreError> {
        self.deps.store.allocate_ids("attempt", n).inspect_err(|e| {
            tracing::error!(error = %e, "cannot allocate attempt ids; dialing waits");
        })
    }

    fn free_agent(&mut self, job: JobId) -> Option<Addr<AgentActor>> {
        self.board.take_available(job).map(|(_, a)| a)
    }

    fn stored_contact(&mut self, job: JobId, contact: ContactId) -> Option<Contact> {
        let c = self.deps.store.contact(job, contact).ok()??;
        matches!(c.state, ContactState::Ready { .. }).then_some(c)
    }
}

impl ZoneActor {
    pub fn new(deps: Arc<ZoneDeps>, zone: &ZoneHandle, generation: u64, reports: Reports) -> Self {
        Self {
            lease: Arc::clone(zone.lease()),
            core: Zone::new(zone.name(), deps.node.clone()),
            deps,
            name: zone.name().to_owned(),
            jobs: HashMap::new(),
            board: Arc::clone(zone.board()),
            address: None,
            generation,
            reports,
            armed: true,
            resumed: false,
        }
    }

    /// Reports this actor's failure to its supervisor, once.
    fn report_down(&mut self, cause: Cause) {
        if self.deps.stopping.load(Ordering::Acquire) {
            return;
        }
        if std::mem::take(&mut self.armed) {
            self.reports.down.do_send(ZoneDown {
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

    fn now(&self) -> Now {
        Now {
            at: self.deps.clock.now(),
            unix: self.deps.clock.unix_ms(),
        }
    }

    /// The core with its host, for one call.
    fn with_core<R>(&mut self, f: impl FnOnce(&mut Zone, &mut Host<'_>) -> R) -> R {
        let mut host = Host {
            board: &self.board,
            jobs: &self.jobs,
            deps: &self.deps,
            now_ms: self.deps.clock.unix_ms(),
        };
        f(&mut self.core, &mut host)
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        self.guarded(ctx, |act, ctx| {
            // A cluster node past its own deadline for the zone's lease dials nothing more.
            if act.board.in_service() && act.deps.leases.valid(&act.lease) {
                if !act.resumed {
                    act.resumed = true;
                    act.reports.resumed.do_send(Resumed {
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
        let now = self.now();
        let epoch = self.lease.epoch();
        let d = self.with_core(|core, host| core.decide(now, epoch, host));
        for (agent, info) in d.offers {
            self.offer_preview(agent, info);
        }
        for agent in d.unoffered {
            agent.do_send(Resync);
        }
        self.record_and_place(d.writes, d.launches, d.unplaced, None);
        let wake = d
            .wake_at
            .map_or(now.at + MAX_TICK, |w| w.min(now.at + MAX_TICK));
        let wait = wake
            .saturating_duration_since(self.deps.clock.now())
            .max(Duration::from_millis(1));
        ctx.run_later(wait, |act, ctx| act.tick(ctx));
    }

    /// Shows `info` to `agent`; a refused offer comes back to the list.
    fn offer_preview(&self, agent: Addr<AgentActor>, info: CallInfo) {
        let me = self.address.clone();
        actix::spawn(async move {
            let back = info.clone();
            if !matches!(agent.send(OfferPreview(info)).await, Ok(true)) {
                if let Some(me) = me {
                    me.do_send(ReturnPreview(back));
                }
            }
        });
    }

    /// Commits `writes` as one fenced batch; once durable, places the `launches` and settles
    /// the `unplaced`. A preview's agent hears when its call could not be placed.
    fn record_and_place(
        &self,
        writes: Vec<Write>,
        launches: Vec<Launch>,
        unplaced: Vec<Unplaced>,
        preview_agent: Option<Addr<AgentActor>>,
    ) {
        if writes.is_empty() {
            return;
        }
        for l in &launches {
            self.job_of(l.entry.attempt().job)
                .inspect(|j| j.stats.launched());
        }
        for u in &unplaced {
            self.job_of(u.job).inspect(|j| j.stats.launched());
        }
        let jobs: Vec<(Launch, Arc<JobRuntime>)> = launches
            .into_iter()
            .filter_map(|l| {
                let job = self.job_of(l.entry.attempt().job)?;
                Some((l, job))
            })
            .collect();
        let unplaced: Vec<(Unplaced, Arc<JobRuntime>)> = unplaced
            .into_iter()
            .filter_map(|u| Some((u, self.job_of(u.job)?)))
            .collect();
        let placement = Placement {
            launches: jobs,
            unplaced,
            board: Arc::clone(&self.board),
            preview_agent,
        };
        // `Dialing` is durable before any INVITE of the batch leaves.
        let ticket = self
            .deps
            .writer
            .submit(&self.name, self.lease.epoch(), writes);
        let deps = Arc::clone(&self.deps);
        // Detached from this actor: a takeover may retire it before the batch commits, and
        // the calls (or outcomes) it recorded must go ahead all the same.
        actix::spawn(async move {
            match ticket.await {
                Ok(()) => placement.recorded(&deps),
                Err(e) => placement.refused(&deps, &e),
            }
        });
    }

    fn job_of(&self, job: JobId) -> Option<Arc<JobRuntime>> {
        self.jobs.get(&job).cloned()
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
        let job = msg.0;
        let policy = job.campaign.mode();
        if !self
            .core
            .attach(job.job, Arc::clone(&job.campaign), Pacer::new(policy))
        {
            return;
        }
        self.jobs.insert(job.job, Arc::clone(&job));
        if !matches!(policy, PacingPolicy::Agentless { .. }) {
            self.board.job_started(job.job);
            for agent in self.board.agents_without_job() {
                agent.do_send(AttachTo(job.job));
            }
        }
    }
}

impl Handler<DetachJob> for ZoneActor {
    type Result = ();

    fn handle(&mut self, msg: DetachJob, _ctx: &mut Context<Self>) {
        let job = self.jobs.remove(&msg.0);
        for (_, agent) in self.board.job_stopped(msg.0) {
            agent.do_send(JobEnded(msg.0));
        }
        // Previews of the job not yet accepted go back to the list.
        for contact in self.core.detach(msg.0) {
            if let Some(j) = &job {
                j.release(contact);
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
        let now = self.now();
        let epoch = self.lease.epoch();
        let start = self.with_core(|core, host| core.accept_preview(&msg.info, now, epoch, host));
        match start {
            PreviewStart::Launch { writes, launch } => {
                self.record_and_place(writes, vec![*launch], Vec::new(), Some(msg.agent));
            }
            PreviewStart::Unplaced { writes, unplaced } => {
                self.record_and_place(writes, Vec::new(), vec![unplaced], Some(msg.agent));
            }
            PreviewStart::Gone => msg.agent.do_send(PreviewUnanswered(
                msg.info.attempt,
                CompletionCode::NetworkFailure,
            )),
        }
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
        let now = self.now();
        let Some((write, job, contact)) =
            self.with_core(|core, host| core.skip_preview(&msg.0, now, host))
        else {
            return;
        };
        let Some(job) = self.job_of(job) else {
            return;
        };
        let ticket = self
            .deps
            .writer
            .submit(&self.name, self.lease.epoch(), vec![write]);
        actix::spawn(async move {
            let _ = ticket.await;
            job.release(contact);
        });
    }
}

/// What one recorded decision places once its writes are durable.
struct Placement {
    launches: Vec<(Launch, Arc<JobRuntime>)>,
    unplaced: Vec<(Unplaced, Arc<JobRuntime>)>,
    board: Arc<AgentBoard>,
    /// The agent a preview call is for: told when it could not be placed.
    preview_agent: Option<Addr<AgentActor>>,
}

impl Placement {
    /// The writes are durable: the calls go out, the unplaced attempts are settled.
    fn recorded(mut self, deps: &ZoneDeps) {
        for (launch, job) in std::mem::take(&mut self.launches) {
            deps.calls.place(
                launch,
                job,
                Arc::clone(&self.board),
                self.preview_agent.clone(),
            );
        }
        let now_ms = deps.clock.unix_ms();
        for (u, job) in std::mem::take(&mut self.unplaced) {
            job.stats.completed(u.code, now_ms);
            job.release(u.contact);
            self.tell_agent(u.attempt, u.code);
        }
    }

    /// Nothing was dialed; the contacts stay as they were on disk, and stay claimed so they
    /// are not queued again before a restart re-reads them.
    fn refused(self, deps: &ZoneDeps, e: &StoreError) {
        if matches!(e, StoreError::Fenced { .. }) {
            tracing::warn!(error = %e, "not master any more; these calls are not placed");
        } else {
            tracing::error!(error = %e, "could not record Dialing; these calls are not placed");
        }
        for (launch, job) in &self.launches {
            deps.mpps.release(launch.media);
            job.stats.not_launched();
            self.tell_agent(launch.entry.id(), CompletionCode::NetworkFailure);
        }
        for (u, _) in &self.unplaced {
            self.tell_agent(u.attempt, u.code);
        }
    }

    fn tell_agent(&self, attempt: AttemptId, code: CompletionCode) {
        if let Some(a) = &self.preview_agent {
            a.do_send(PreviewUnanswered(attempt, code));
        }
    }
}

#[cfg(test)]
mod tests;
