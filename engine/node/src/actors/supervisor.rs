//! The zone supervisor: owns a zone's agent-manager role and turns any failure of the
//! zone's actors — a contained panic, a stop, an actor that vanished — into the dormant
//! takeover of docs/design.md §5.2, in the rules' order:
//!
//! 1. the board goes out of service: every desktop of the zone hears `service: false`, no
//!    agent is handed a call and the pacing loop stops;
//! 2. live answers waiting for an agent see the board's outage count move and release
//!    themselves as nuisance;
//! 3. no queued call is assigned, and supervisor changes to the zone are refused meanwhile;
//! 4. a fresh pacing actor is built from storage (the zone's running jobs; previews are
//!    re-read from the contact store when their agent acts on them), dead sessions leave
//!    the board, the service comes back and every agent's session goes through Table 9;
//! 5. each session asks its desktop to confirm its state (mismatch: desktop-error, logout);
//! 6. the new pacing loop's first decision in service is "dialing resumed"; the outage is
//!    HA time in each agent's times.
//!
//! The steps' times go into a [`TakeoverRecord`], which `outdial status` shows.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use actix::prelude::*;
use serde::Serialize;

use crate::actors::agent::{AgentBoard, JobEnded, Resync, ServiceLost, TakeOver};
use crate::actors::campaign_manager::RunningJobs;
use crate::actors::zone::{AttachJob, Reports, ZoneActor, ZoneDeps};
use crate::actors::zones::ZoneHandle;
use crate::job::RunState;
use outdial_core::agent::takeover::{Cause, Step, TakeoverRecord};
use outdial_core::sync::{AtomicU64, AtomicU8, Ordering};

/// A component's role, as the status tables name them (docs/design.md §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Master,
    Dormant,
    Running,
    Stopped,
}

impl Role {
    fn from_u8(v: u8) -> Role {
        match v {
            0 => Role::Master,
            1 => Role::Dormant,
            2 => Role::Running,
            _ => Role::Stopped,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Master => "MASTER",
            Role::Dormant => "DORMANT",
            Role::Running => "RUNNING",
            Role::Stopped => "STOPPED",
        }
    }
}

/// A role readable from any thread, with how long the component's last restart took.
#[derive(Debug)]
pub struct RoleCell {
    role: AtomicU8,
    down_since: Mutex<Option<std::time::Instant>>,
    /// Microseconds from the last failure to the component being back; 0 before any.
    last_restart_us: AtomicU64,
    restarts: AtomicU64,
}

impl RoleCell {
    pub fn new(r: Role) -> Self {
        Self {
            role: AtomicU8::new(r as u8),
            down_since: Mutex::new(None),
            last_restart_us: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
        }
    }

    pub fn set(&self, r: Role) {
        self.role.store(r as u8, Ordering::Release);
    }

    pub fn get(&self) -> Role {
        Role::from_u8(self.role.load(Ordering::Acquire))
    }

    /// The component failed at `now` and is no longer in its role.
    pub fn failed(&self, r: Role, now: std::time::Instant) {
        self.set(r);
        if let Ok(mut d) = self.down_since.lock() {
            d.get_or_insert(now);
        }
    }

    /// The component is back in role `r` at `now`.
    pub fn up(&self, r: Role, now: std::time::Instant) {
        self.set(r);
        if let Some(t) = self.down_since.lock().ok().and_then(|mut d| d.take()) {
            let us = now.saturating_duration_since(t).as_micros();
            self.last_restart_us
                .store(u64::try_from(us).unwrap_or(u64::MAX), Ordering::Relaxed);
            self.restarts.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Restarts so far, and the last one's length in milliseconds.
    pub fn restarts(&self) -> (u64, f64) {
        (
            self.restarts.load(Ordering::Relaxed),
            self.last_restart_us.load(Ordering::Relaxed) as f64 / 1000.0,
        )
    }
}

/// The roles of the node-wide components, for status.
#[derive(Debug)]
pub struct ControlRoles {
    pub director: RoleCell,
    pub campaign_manager: RoleCell,
    pub rule_engine: RoleCell,
    pub load_monitor: RoleCell,
}

impl Default for ControlRoles {
    fn default() -> Self {
        Self {
            director: RoleCell::new(Role::Dormant),
            campaign_manager: RoleCell::new(Role::Stopped),
            rule_engine: RoleCell::new(Role::Master),
            load_monitor: RoleCell::new(Role::Master),
        }
    }
}

impl ControlRoles {
    /// A cluster node's roles at start: the cluster's leases make it master of anything.
    pub fn dormant() -> Self {
        Self {
            director: RoleCell::new(Role::Dormant),
            campaign_manager: RoleCell::new(Role::Stopped),
            rule_engine: RoleCell::new(Role::Dormant),
            load_monitor: RoleCell::new(Role::Dormant),
        }
    }
}

/// How many takeover records a zone keeps.
const HISTORY: usize = 64;

/// A zone's agent-manager role and its takeovers, for status.
#[derive(Debug)]
pub struct ZoneStatus {
    pub role: RoleCell,
    pub takeovers: AtomicU64,
    history: Mutex<Vec<TakeoverRecord>>,
    /// Desktop errors seen before the takeover under way was recorded.
    pending_desktop_errors: AtomicU64,
    /// In a cluster: when this node last took the zone's lease, and when dialing resumed.
    acquired: Mutex<Option<Acquisition>>,
}

/// This node taking a zone's lease, for status and failover timing.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Acquisition {
    pub epoch: u64,
    /// Unix ms.
    pub taken_at_ms: u64,
    /// Unix ms of the new pacing loop's first decision in service.
    pub dialing_resumed_at_ms: Option<u64>,
}

impl Default for ZoneStatus {
    fn default() -> Self {
        Self::new(Role::Master)
    }
}

impl ZoneStatus {
    pub fn new(role: Role) -> Self {
        Self {
            role: RoleCell::new(role),
            takeovers: AtomicU64::new(0),
            history: Mutex::new(Vec::new()),
            pending_desktop_errors: AtomicU64::new(0),
            acquired: Mutex::new(None),
        }
    }

    /// The last time this node took the zone (cluster only).
    pub fn acquisition(&self) -> Option<Acquisition> {
        self.acquired.lock().ok().and_then(|a| *a)
    }

    /// The zone's takeovers, oldest first (the last [`HISTORY`]).
    pub fn history(&self) -> Vec<TakeoverRecord> {
        self.history.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// A desktop failed its state check (or never answered) after the latest takeover.
    pub fn note_desktop_error(&self) {
        if self.role.get() == Role::Master {
            if let Ok(mut h) = self.history.lock() {
                if let Some(last) = h.last_mut() {
                    last.desktop_errors += 1;
                    return;
                }
            }
        }
        self.pending_desktop_errors.fetch_add(1, Ordering::Relaxed);
    }

    fn push(&self, mut r: TakeoverRecord) {
        let pending = self.pending_desktop_errors.swap(0, Ordering::Relaxed);
        r.desktop_errors += u32::try_from(pending).unwrap_or(u32::MAX);
        if let Ok(mut h) = self.history.lock() {
            if h.len() == HISTORY {
                h.remove(0);
            }
            h.push(r);
        }
        self.takeovers.fetch_add(1, Ordering::Relaxed);
    }
}

/// A zone actor (or an agent actor of the zone) failed. `generation` names the pacing
/// actor that failed; `None` means the current one (an agent's failure).
#[derive(Debug, Clone, Message)]
#[rtype(result = "()")]
pub struct ZoneDown {
    pub generation: Option<u64>,
    pub cause: Cause,
}

/// The pacing actor of `generation` made its first decision in service.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct Resumed {
    pub generation: u64,
}

/// Every agent has been through Table 9; the service is back.
#[derive(Message)]
#[rtype(result = "()")]
struct AgentsTakenOver {
    generation: u64,
    outcomes: Vec<Option<outdial_core::agent::TakenOver>>,
}

/// The cluster gave this node the zone's lease under `epoch`: start mastering it.
#[derive(Debug, Clone, Copy, Message)]
#[rtype(result = "()")]
pub struct Acquire {
    pub epoch: u64,
}

/// The zone is no longer this node's: stop dialing, log its agents out (they move to the new
/// master), go DORMANT. `done` hears when the agents are out.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Release {
    pub why: crate::cluster::shell::Loss,
    pub done: std::sync::mpsc::Sender<()>,
}

/// What a zone's supervisor needs from its node.
pub struct SupervisorDeps {
    /// To build the zone's pacing actors.
    pub zone: Arc<ZoneDeps>,
    /// The campaign manager's list of running jobs, once it is started.
    pub running_jobs: Arc<OnceLock<Recipient<RunningJobs>>>,
    /// How long a takeover waits before the new agent manager takes the zone (fault
    /// injection only; zero otherwise).
    pub takeover_delay: Duration,
}

pub struct ZoneSupervisor {
    deps: Arc<SupervisorDeps>,
    handle: Arc<ZoneHandle>,
    zone: String,
    board: Arc<AgentBoard>,
    status: Arc<ZoneStatus>,
    generation: u64,
    /// The pacing actor; None while the zone is DORMANT on this node (cluster).
    current: Option<Addr<ZoneActor>>,
    /// The takeover under way, if any.
    takeover: Option<TakeoverRecord>,
    /// The board's count at the fault, to report what this takeover released.
    released_before: u64,
}

impl ZoneSupervisor {
    /// Starts the zone: its supervisor and its first pacing actor (generation 1), with the
    /// actor's address registered before this returns. A `dormant` zone (a cluster node's
    /// zone until its lease is taken) starts without one, out of service.
    pub fn start(deps: Arc<SupervisorDeps>, handle: Arc<ZoneHandle>, dormant: bool) -> Addr<Self> {
        let ctx = Context::<ZoneSupervisor>::new();
        let me = ctx.address();
        handle.set_supervisor(me.clone());
        let mut sup = ZoneSupervisor {
            zone: handle.name().to_owned(),
            board: Arc::clone(handle.board()),
            status: Arc::clone(handle.status()),
            deps,
            handle,
            generation: 0,
            current: None,
            takeover: None,
            released_before: 0,
        };
        if dormant {
            let _ = sup.board.service_lost(false);
            sup.status.role.set(Role::Dormant);
        } else {
            sup.new_pacing_actor(&me);
        }
        ctx.run(sup)
    }

    fn new_pacing_actor(&mut self, me: &Addr<Self>) -> Addr<ZoneActor> {
        self.generation += 1;
        let reports = Reports {
            down: me.clone().recipient(),
            resumed: me.clone().recipient(),
        };
        let zone = ZoneActor::new(
            Arc::clone(&self.deps.zone),
            &self.handle,
            self.generation,
            reports,
        )
        .start();
        self.handle.set_pacing(Some(zone.clone()));
        self.current = Some(zone.clone());
        zone
    }

    fn rebuild(&mut self, ctx: &mut Context<Self>) {
        // A session whose actor is gone cannot be asked anything: it leaves the board.
        let dead = self.board.retain_live(|a| a.connected());
        if !dead.is_empty() {
            tracing::warn!(zone = %self.zone, agents = ?dead, "sessions lost with their actors");
        }
        let zone = self.new_pacing_actor(&ctx.address());
        let generation = self.generation;
        let manager = self.deps.running_jobs.get().cloned();
        let name = self.zone.clone();
        let board = Arc::clone(&self.board);
        let me = ctx.address();
        actix::spawn(async move {
            // The zone's jobs, from the campaign manager that runs them (it read them from
            // storage; a job it has not started yet arrives by itself).
            let mut running = Vec::new();
            if let Some(m) = manager {
                for job in m.send(RunningJobs).await.unwrap_or_default() {
                    if job.campaign.zone() == name && job.run_state() != RunState::Finished {
                        running.push(job.job);
                        zone.do_send(AttachJob(job));
                    }
                }
            }
            // A job that ended while the old actor was going may have missed its detach:
            // its agents are released here.
            for job in board.jobs() {
                if !running.contains(&job) {
                    for (_, a) in board.job_stopped(job) {
                        a.do_send(JobEnded(job));
                    }
                }
            }
            me.do_send(Rebuilt { generation });
            let agents = board.handles();
            let mut outcomes = Vec::with_capacity(agents.len());
            for (_, a) in &agents {
                outcomes.push(a.send(TakeOver).await.ok().flatten());
            }
            // Only now may the new pacing loop dial and agents be handed calls: every
            // session has been through Table 9 and sent its state check.
            board.service_restored();
            for (_, a) in &agents {
                a.do_send(Resync);
            }
            me.do_send(AgentsTakenOver {
                generation,
                outcomes,
            });
        });
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Rebuilt {
    generation: u64,
}

impl Actor for ZoneSupervisor {
    type Context = Context<Self>;
}

impl Handler<ZoneDown> for ZoneSupervisor {
    type Result = ();

    fn handle(&mut self, msg: ZoneDown, ctx: &mut Context<Self>) {
        if msg.generation.is_some_and(|g| g != self.generation) {
            // An actor a takeover already replaced.
            return;
        }
        let Some(current) = self.current.clone() else {
            // DORMANT here: there is nothing to take over.
            return;
        };
        let now = self.deps.zone.clock.now();
        if let Some(t) = &self.takeover {
            if msg.generation == Some(self.generation) {
                // The new pacing actor itself failed before dialing resumed: build another.
                tracing::warn!(zone = %self.zone, cause = ?msg.cause, "the zone's new actor failed during the takeover; building another");
                self.rebuild(ctx);
            } else {
                tracing::warn!(zone = %self.zone, cause = ?msg.cause, under_way = ?t.cause, "another fault during a takeover; it is covered by the one under way");
            }
            return;
        }
        tracing::warn!(zone = %self.zone, cause = ?msg.cause, "zone failed; taking it over");
        let planned = msg.cause == Cause::Planned;
        let mut record = TakeoverRecord::new(self.zone.clone(), msg.cause, now);
        self.status.role.set(Role::Dormant);
        self.released_before = self.board.released_by_takeover();
        // Rule 1. A planned switchover loses nothing: calls waiting for an agent keep
        // waiting and are handed one once the new agent manager is in service.
        // Rule 2: every call waiting for an agent is released now (told, not polling).
        for w in self.board.service_lost(!planned) {
            let _ = w
                .call
                .released
                .try_send(crate::actors::call::ReleasedByTakeover);
        }
        for (_, a) in self.board.handles() {
            a.do_send(ServiceLost);
        }
        record.reached(Step::ServiceDown, now);
        // Rules 2–3: the outage count moved, so waiting calls release themselves and no
        // queued call is assigned; the API refuses changes while the board is out of service.
        current.do_send(crate::actors::zone::Retire);
        record.reached(Step::CallsReleased, self.deps.zone.clock.now());
        self.takeover = Some(record);
        let delay = self.deps.takeover_delay;
        if delay.is_zero() {
            self.rebuild(ctx);
        } else {
            ctx.run_later(delay, |act, ctx| act.rebuild(ctx));
        }
    }
}

impl Handler<Rebuilt> for ZoneSupervisor {
    type Result = ();

    fn handle(&mut self, msg: Rebuilt, _ctx: &mut Context<Self>) {
        if msg.generation != self.generation {
            return;
        }
        let now = self.deps.zone.clock.now();
        if let Some(t) = self.takeover.as_mut() {
            t.reached(Step::Rebuilt, now);
        }
    }
}

impl Handler<AgentsTakenOver> for ZoneSupervisor {
    type Result = ();

    fn handle(&mut self, msg: AgentsTakenOver, _ctx: &mut Context<Self>) {
        if msg.generation != self.generation {
            return;
        }
        let now = self.deps.zone.clock.now();
        if let Some(t) = self.takeover.as_mut() {
            for o in msg.outcomes.into_iter().flatten() {
                if o.kept {
                    t.unattached_kept += 1;
                }
                t.count(o.column);
            }
            t.reached(Step::ServiceUp, now);
            // Each session sent its desktop the check as part of its takeover.
            t.reached(Step::StateChecked, now);
        }
    }
}

impl Handler<Resumed> for ZoneSupervisor {
    type Result = ();

    fn handle(&mut self, msg: Resumed, _ctx: &mut Context<Self>) {
        if msg.generation != self.generation {
            return;
        }
        if let Ok(mut a) = self.status.acquired.lock() {
            if let Some(a) = a.as_mut().filter(|a| a.dialing_resumed_at_ms.is_none()) {
                a.dialing_resumed_at_ms = Some(self.deps.zone.clock.unix_ms());
                self.status.role.set(Role::Master);
                tracing::info!(zone = %self.zone, epoch = a.epoch, took_ms = a.dialing_resumed_at_ms.unwrap_or(0).saturating_sub(a.taken_at_ms), "zone mastered here; dialing resumed");
            }
        }
        let Some(mut t) = self.takeover.take() else {
            return;
        };
        let now = self.deps.zone.clock.now();
        t.reached(Step::DialingResumed, now);
        t.nuisance_released =
            u32::try_from(self.board.released_by_takeover() - self.released_before)
                .unwrap_or(u32::MAX);
        self.status.role.set(Role::Master);
        tracing::info!(
            zone = %self.zone,
            took_ms = t.took().map(|d| d.as_secs_f64() * 1000.0),
            columns = ?t.columns,
            nuisance = t.nuisance_released,
            "zone taken over; dialing resumed"
        );
        self.status.push(t);
    }
}

impl Handler<Acquire> for ZoneSupervisor {
    type Result = ();

    fn handle(&mut self, msg: Acquire, ctx: &mut Context<Self>) {
        if let Ok(mut a) = self.status.acquired.lock() {
            *a = Some(Acquisition {
                epoch: msg.epoch,
                taken_at_ms: self.deps.zone.clock.unix_ms(),
                dialing_resumed_at_ms: None,
            });
        }
        if self.current.is_some() {
            // Renewed under a new epoch while mastering (a restart fenced its earlier run).
            return;
        }
        // Agents log in here once they see the zone in service; jobs arrive from the
        // director, which starts the zone's running jobs.
        self.new_pacing_actor(&ctx.address());
        self.board.service_restored();
    }
}

impl Handler<Release> for ZoneSupervisor {
    type Result = ();

    fn handle(&mut self, msg: Release, _ctx: &mut Context<Self>) {
        self.status.role.set(Role::Dormant);
        self.takeover = None;
        if let Some(current) = self.current.take() {
            tracing::warn!(zone = %self.zone, why = ?msg.why, "zone leaves this node; its agents are logged out");
            for w in self.board.service_lost(true) {
                let _ = w
                    .call
                    .released
                    .try_send(crate::actors::call::ReleasedByTakeover);
            }
            current.do_send(crate::actors::zone::Retire);
            self.handle.set_pacing(None);
            for (_, a) in self.board.handles() {
                a.do_send(crate::actors::agent::ForceLogout(
                    outdial_core::agent::LogoutReason::ZoneReleased,
                ));
            }
        }
        let _ = msg.done.send(());
    }
}
