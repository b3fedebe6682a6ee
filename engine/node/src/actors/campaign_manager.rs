//! The campaign manager: keeps each running job's contact queue filled from storage ahead of
//! the pacing loop (applying the rule engine's do-not-call list and calling hours on the way),
//! and applies the job's finish criteria.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use crate::actors::rule_engine::RuleSet;
use crate::actors::supervisor::{ControlRoles, Role};
use crate::actors::zone::{AttachJob, DetachJob};
use crate::actors::zones::Zones;
use crate::cluster::leases::Leases;
use crate::faults::{raise_contained, Inject};
use crate::job::{JobRuntime, RunState};
use crate::storage::group::Ticket;
use crate::storage::{JobState, Write};
use crate::storage::{Store, Writer};
use outdial_core::attempt::ledger;
use outdial_core::clock::Clock;
use outdial_core::compliance::{Callee, DialVerdict};
use outdial_core::domain::JobId;
use outdial_core::sync::Ordering;

/// How often queues are topped up.
const PREFETCH_EVERY: Duration = Duration::from_millis(50);
/// How often finish criteria are checked.
const FINISH_EVERY: Duration = Duration::from_millis(500);

/// Starts dialing a job (its runtime is built by the director).
#[derive(Message)]
#[rtype(result = "()")]
pub struct RunJob(pub Arc<JobRuntime>);

/// Changes a running job's state (pause, resume, stop).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetRunState(pub JobId, pub RunState);

/// The zone left this node (cluster): its jobs are no longer run here. Nothing is written;
/// the next master reads them from storage.
#[derive(Message)]
#[rtype(result = "()")]
pub struct DropZone(pub String);

/// The runtimes of the jobs this manager runs.
#[derive(Message)]
#[rtype(result = "Vec<Arc<JobRuntime>>")]
pub struct RunningJobs;

/// What the campaign manager needs from its node.
pub struct ManagerDeps {
    pub store: Arc<dyn Store>,
    pub writer: Writer,
    /// The epochs its writes for each zone are fenced with.
    pub leases: Arc<Leases>,
    /// Where each zone's pacing actor is, to attach and detach jobs.
    pub zones: Zones,
    pub clock: Arc<dyn Clock>,
    pub roles: Arc<ControlRoles>,
}

impl ManagerDeps {
    /// Queues `writes` of `zone`, fenced by the epoch this node holds it under.
    fn submit(&self, zone: &str, writes: Vec<Write>) -> Ticket {
        self.writer.submit(zone, self.leases.epoch(zone), writes)
    }
}

pub struct CampaignManager {
    deps: Arc<ManagerDeps>,
    rules: Arc<arc_swap::ArcSwap<RuleSet>>,
    jobs: HashMap<JobId, Arc<JobRuntime>>,
    prefetching: HashSet<JobId>,
}

impl CampaignManager {
    pub fn new(deps: Arc<ManagerDeps>, rules: Arc<arc_swap::ArcSwap<RuleSet>>) -> Self {
        Self {
            deps,
            rules,
            jobs: HashMap::new(),
            prefetching: HashSet::new(),
        }
    }

    fn prefetch(&mut self, ctx: &mut Context<Self>) {
        for (id, job) in &self.jobs {
            if job.run_state() != RunState::Running
                || !job.queue.refill_needed()
                || self.prefetching.contains(id)
            {
                continue;
            }
            self.prefetching.insert(*id);
            let job = Arc::clone(job);
            let deps = Arc::clone(&self.deps);
            let rules = self.rules.load_full();
            let id = *id;
            let fut = async move {
                tokio::task::spawn_blocking(move || refill(&deps, &job, &rules)).await
            };
            ctx.spawn(fut.into_actor(self).map(move |res, act, _| {
                act.prefetching.remove(&id);
                match res {
                    Ok(Err(e)) => tracing::error!(job = %id, error = %e, "prefetch failed"),
                    Err(e) => tracing::error!(job = %id, error = %e, "prefetch task failed"),
                    Ok(Ok(())) => {}
                }
            }));
        }
    }

    fn check_finished(&mut self, ctx: &mut Context<Self>) {
        let now_ms = self.deps.clock.unix_ms();
        let mut done = Vec::new();
        for (id, job) in &self.jobs {
            let state = job.run_state();
            if matches!(state, RunState::Finished) {
                continue;
            }
            let idle = job.queue.is_empty()
                && job.claimed_len() == 0
                && job.stats.in_flight.load(Ordering::Relaxed) == 0;
            let finish = job.campaign.finish();
            let by_time = finish.after.is_some_and(|a| {
                job.stats.started_ms + u64::try_from(a.as_millis()).unwrap_or(u64::MAX) <= now_ms
            }) || finish.at.is_some_and(|at| at <= now_ms);
            let all_final = idle && matches!(self.deps.store.next_due(*id), Ok(None));
            if by_time
                || (all_final && finish.when_all_final)
                || (state == RunState::Stopped && idle)
            {
                done.push(*id);
            }
        }
        for id in done {
            if let Some(job) = self.jobs.get(&id) {
                let stopped = job.run_state() == RunState::Stopped;
                job.set_run_state(RunState::Finished);
                if let Some(z) = self
                    .deps
                    .zones
                    .get(job.campaign.zone())
                    .and_then(|z| z.pacing())
                {
                    z.do_send(DetachJob(id));
                }
                let final_state = if stopped {
                    JobState::Stopped
                } else {
                    JobState::Finished
                };
                if let Ok(Some(mut rec)) = self.deps.store.job(id) {
                    rec.state = final_state;
                    rec.updated_at = now_ms;
                    let zone = rec.zone.clone();
                    drop(self.deps.submit(&zone, vec![Write::Job(rec)]));
                }
                tracing::info!(job = %id, state = ?final_state, "job over");
            }
        }
        let _ = ctx;
    }
}

/// Tops up one job's queue: due contacts not already claimed, after the rules.
fn refill(
    deps: &ManagerDeps,
    job: &JobRuntime,
    rules: &RuleSet,
) -> Result<(), crate::storage::StoreError> {
    let now = deps.clock.unix_ms();
    let room = job.queue.room();
    if room == 0 {
        return Ok(());
    }
    // Ask for more than the room: some due contacts are already claimed (queued or in flight).
    let claimed_now = job.claimed_len();
    let read_epoch = job.claimed.lock().map(|c| c.epoch()).unwrap_or(0);
    let due = deps.store.due_contacts(job.job, now, room + claimed_now)?;
    let mut writes = Vec::new();
    let mut queued = 0;
    for c in due {
        if queued >= room {
            break;
        }
        {
            let Ok(mut claimed) = job.claimed.lock() else {
                break;
            };
            if !claimed.try_claim(c.id, read_epoch) {
                continue;
            }
        }
        if let Some(write) = held_back(deps, job, rules, &c, now)? {
            if let Ok(mut claimed) = job.claimed.lock() {
                claimed.unclaim(c.id);
            }
            writes.push(write);
            continue;
        }
        let id = c.id;
        if job.queue.push(c).is_err() {
            if let Ok(mut claimed) = job.claimed.lock() {
                claimed.unclaim(id);
            }
            break;
        }
        queued += 1;
    }
    if let Ok(mut claimed) = job.claimed.lock() {
        claimed.prune(read_epoch);
    }
    if !writes.is_empty() {
        let zone = job.campaign.zone();
        deps.writer.commit(zone, deps.leases.epoch(zone), writes)?;
    }
    Ok(())
}

/// Whether the rules hold `c` back now, and the write that does: the do-not-call list
/// blocks it for good; the law's calling hours, redial lock-outs, daily caps and test ranges
/// put it off until they allow it (or for good). None when it may be dialed now.
fn held_back(
    deps: &ManagerDeps,
    job: &JobRuntime,
    rules: &RuleSet,
    c: &outdial_core::domain::Contact,
    now: outdial_core::domain::UnixMs,
) -> Result<Option<crate::storage::Write>, crate::storage::StoreError> {
    if rules.blocked(&c.phone) {
        job.stats.held_back("do-not-call");
        return Ok(Some(ledger::block(c.clone())));
    }
    let history = deps.store.number_history(&c.phone)?;
    let verdict = job
        .campaign
        .dial_rules()
        .check(&Callee::of_contact(c), &history, now);
    Ok(match verdict {
        DialVerdict::Allowed => None,
        DialVerdict::NotBefore { at, rule } => {
            job.stats.held_back(rule.code());
            Some(ledger::defer(c.clone(), at))
        }
        DialVerdict::Never { rule } => {
            job.stats.held_back(rule.code());
            Some(ledger::block(c.clone()))
        }
    })
}

impl Actor for CampaignManager {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.deps
            .roles
            .campaign_manager
            .up(Role::Running, self.deps.clock.now());
        ctx.run_interval(PREFETCH_EVERY, |act, ctx| act.prefetch(ctx));
        ctx.run_interval(FINISH_EVERY, |act, ctx| act.check_finished(ctx));
    }
}

/// Restarted by its supervisor, it resumes its jobs where they were: their queues and
/// claims live in the jobs' runtimes, and the contacts' states in storage (docs/design.md §5,
/// campaign manager failure: nothing redialed, nothing left behind).
impl actix::Supervised for CampaignManager {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        // Prefetches under way were cancelled with the old context.
        self.prefetching.clear();
        tracing::warn!(jobs = self.jobs.len(), "campaign manager restarting");
    }
}

impl Handler<Inject> for CampaignManager {
    type Result = ();

    fn handle(&mut self, msg: Inject, ctx: &mut Context<Self>) {
        if msg == Inject::Panic {
            tracing::error!(panic = %raise_contained(), "campaign manager panicked");
        }
        self.deps
            .roles
            .campaign_manager
            .failed(Role::Stopped, self.deps.clock.now());
        ctx.stop();
    }
}

impl Handler<RunJob> for CampaignManager {
    type Result = ();

    fn handle(&mut self, msg: RunJob, ctx: &mut Context<Self>) {
        let job = msg.0;
        match self
            .deps
            .zones
            .get(job.campaign.zone())
            .and_then(|z| z.pacing())
        {
            Some(z) => z.do_send(AttachJob(Arc::clone(&job))),
            None => {
                tracing::error!(job = %job.job, zone = %job.campaign.zone(), "no such zone on this node; job not dialed");
                return;
            }
        }
        self.jobs.insert(job.job, job);
        self.prefetch(ctx);
    }
}

impl Handler<SetRunState> for CampaignManager {
    type Result = ();

    fn handle(&mut self, msg: SetRunState, _ctx: &mut Context<Self>) {
        if let Some(job) = self.jobs.get(&msg.0) {
            if job.run_state() != RunState::Finished {
                job.set_run_state(msg.1);
            }
        }
    }
}

impl Handler<DropZone> for CampaignManager {
    type Result = ();

    fn handle(&mut self, msg: DropZone, _ctx: &mut Context<Self>) {
        self.jobs.retain(|id, job| {
            let keep = job.campaign.zone() != msg.0;
            if !keep {
                tracing::info!(job = %id, zone = %msg.0, "job leaves this node with its zone");
            }
            keep
        });
    }
}

impl Handler<RunningJobs> for CampaignManager {
    type Result = MessageResult<RunningJobs>;

    fn handle(&mut self, _: RunningJobs, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(self.jobs.values().cloned().collect())
    }
}
