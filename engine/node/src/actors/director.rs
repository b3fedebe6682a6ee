//! The director: the authority on jobs. It creates campaigns and their jobs, moves jobs
//! through their states on request (refusing transitions that make no sense), persists each
//! change before acting on it, and hands running jobs to the campaign manager.

use std::collections::HashMap;
use std::sync::Arc;

use actix::prelude::*;

use crate::actors::campaign_manager::{CampaignManager, DropZone, RunJob, SetRunState};
use crate::actors::supervisor::{ControlRoles, Role};
use crate::actors::zones::Zones;
use crate::cluster::coordination::Coordination;
use crate::cluster::leases::Leases;
use crate::error::{Missing, NodeError, Problem};
use crate::faults::{raise_contained, Inject};
use crate::job::{JobRuntime, RunState};
use crate::storage::{CampaignRecord, Job, JobState, Store, Write, Writer};
use media::{Codec, Prompt};
use outdial_core::campaign::{AbandonMessage, Campaign, CampaignSpec, MachineAction};
use outdial_core::clock::Clock;
use outdial_core::domain::{CampaignId, JobId};
use outdial_core::pacing::ContactQueue;

/// Defines a campaign and creates its first job (state Created).
#[derive(Message)]
#[rtype(result = "Result<(CampaignId, JobId), NodeError>")]
pub struct CreateCampaign(pub CampaignSpec);

/// What a user may ask of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobAction {
    Start,
    Pause,
    Resume,
    Stop,
}

#[derive(Message)]
#[rtype(result = "Result<JobState, NodeError>")]
pub struct ControlJob(pub JobId, pub JobAction);

/// The runtime of a job, if it has run on this node.
#[derive(Message)]
#[rtype(result = "Option<Arc<JobRuntime>>")]
pub struct JobRuntimeOf(pub JobId);

/// Resumes jobs that were Running when the node last stopped.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ResumeRunning;

/// This node now masters `zone` (cluster): run its jobs from where storage has them.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ResumeZone(pub String);

/// `zone` left this node (cluster): forget its jobs' runtimes.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ForgetZone(pub String);

/// How often a cluster node applies job changes made through other nodes' APIs to the jobs
/// of the zones it masters.
const RECONCILE_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// What the director needs from its node.
pub struct DirectorDeps {
    pub store: Arc<dyn Store>,
    pub writer: Writer,
    pub leases: Arc<Leases>,
    pub zones: Zones,
    pub clock: Arc<dyn Clock>,
    pub roles: Arc<ControlRoles>,
    /// The cluster's leases (None for a single node).
    pub coord: Option<Arc<dyn Coordination>>,
    /// Played on abandons when a campaign names no message.
    pub default_prompt: Prompt,
}

pub struct Director {
    deps: Arc<DirectorDeps>,
    manager: Addr<CampaignManager>,
    runtimes: HashMap<JobId, Arc<JobRuntime>>,
    queue_capacity: usize,
}

impl Director {
    pub fn new(deps: Arc<DirectorDeps>, manager: Addr<CampaignManager>) -> Self {
        Self {
            deps,
            manager,
            runtimes: HashMap::new(),
            queue_capacity: 4096,
        }
    }

    fn campaign_of(&self, job: &Job) -> Result<Campaign, NodeError> {
        let rec = self
            .deps
            .store
            .campaign(job.campaign)?
            .ok_or_else(|| NodeError::NotFound(Missing::Campaign(job.campaign)))?;
        let spec =
            CampaignSpec::from_json(&rec.spec).map_err(|e| NodeError::invalid(Problem::Spec(e)))?;
        spec.resolve()
            .map_err(|errs| NodeError::Invalid(errs.into_iter().map(Problem::Spec).collect()))
    }

    fn run(&mut self, job: &Job) -> Result<(), NodeError> {
        if let Some(rt) = self.runtimes.get(&job.id) {
            rt.set_run_state(RunState::Running);
            self.manager.do_send(SetRunState(job.id, RunState::Running));
            return Ok(());
        }
        let campaign = Arc::new(self.campaign_of(job)?);
        let prompt = match campaign.abandon_message() {
            AbandonMessage::Tone => self.deps.default_prompt.clone(),
            AbandonMessage::Prompt(path) => Prompt::from_wav(path, Codec::Pcmu)
                .map_err(|e| NodeError::invalid(Problem::cause("abandon_message", e)))?,
        };
        let machine_message = match campaign.amd().map(|a| &a.on_machine) {
            Some(MachineAction::LeaveMessage(path)) => Some(
                Prompt::from_wav(path, Codec::Pcmu)
                    .map_err(|e| NodeError::invalid(Problem::cause("amd.machine_message", e)))?,
            ),
            _ => None,
        };
        let mut rt = JobRuntime::new(
            job.id,
            campaign,
            ContactQueue::new(self.queue_capacity, self.queue_capacity / 2),
            prompt,
            self.deps.clock.unix_ms(),
        );
        if let Some(m) = machine_message {
            rt = rt.with_machine_message(m);
        }
        let rt = Arc::new(rt);
        self.runtimes.insert(job.id, Arc::clone(&rt));
        self.manager.do_send(RunJob(rt));
        Ok(())
    }
}

impl Actor for Director {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if self.deps.writer.clustered() {
            // Mastership of the director role is the cluster's lease; this actor runs the
            // jobs of the zones this node masters.
            ctx.run_interval(RECONCILE_EVERY, |act, _| act.reconcile());
        } else {
            self.deps
                .roles
                .director
                .up(Role::Master, self.deps.clock.now());
        }
    }
}

impl Director {
    /// Brings this node's job runtimes in line with storage for the zones it masters: a
    /// change made through another node's API is recorded there and applied here.
    fn reconcile(&mut self) {
        let jobs = match self.deps.store.jobs() {
            Ok(j) => j,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read jobs to reconcile");
                return;
            }
        };
        for job in jobs {
            if !self.deps.leases.may_dial(&job.zone) || !self.deps.zones.in_service(&job.zone) {
                continue;
            }
            let rt = self.runtimes.get(&job.id).map(|r| r.run_state());
            let result = match (job.state, rt) {
                (JobState::Running, None | Some(RunState::Paused)) => self.run(&job),
                (JobState::Paused, Some(RunState::Running)) => {
                    self.manager.do_send(SetRunState(job.id, RunState::Paused));
                    Ok(())
                }
                (JobState::Stopped, Some(RunState::Running | RunState::Paused)) => {
                    self.manager.do_send(SetRunState(job.id, RunState::Stopped));
                    Ok(())
                }
                _ => Ok(()),
            };
            if let Err(e) = result {
                tracing::error!(job = %job.id, error = %e, "cannot apply the job's state");
            }
        }
    }

    /// A job change for a zone another node masters: recorded in storage, where that node
    /// picks it up. Refused when no node masters the zone now (it would wait unseen).
    fn control_elsewhere(&self, mut job: Job, next: JobState) -> Result<JobState, NodeError> {
        let lease = crate::cluster::coordination::zone_lease(&job.zone);
        let held = match &self.deps.coord {
            Some(c) => c
                .leases()?
                .iter()
                .any(|l| l.name == lease && l.live_holder().is_some()),
            None => false,
        };
        if !held {
            return Err(NodeError::unavailable(format!(
                "zone {} has no master right now (a failover is under way); job {} was not changed, try again",
                job.zone, job.id
            )));
        }
        job.state = next;
        job.updated_at = self.deps.clock.unix_ms();
        self.deps.writer.commit_unfenced(vec![Write::Job(job)])?;
        Ok(next)
    }
}

/// Restarted by its supervisor: requests sent meanwhile wait in its mailbox and apply once
/// it is master again (docs/design.md §5.4, director failure). Job state lives in storage and the
/// runtimes with the campaign manager, so nothing is rebuilt from memory.
impl actix::Supervised for Director {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        tracing::warn!("director restarting");
    }
}

impl Handler<Inject> for Director {
    type Result = ();

    fn handle(&mut self, msg: Inject, ctx: &mut Context<Self>) {
        if msg == Inject::Panic {
            tracing::error!(panic = %raise_contained(), "director panicked");
        }
        self.deps
            .roles
            .director
            .failed(Role::Dormant, self.deps.clock.now());
        ctx.stop();
    }
}

impl Handler<CreateCampaign> for Director {
    type Result = Result<(CampaignId, JobId), NodeError>;

    fn handle(&mut self, msg: CreateCampaign, _ctx: &mut Context<Self>) -> Self::Result {
        let spec_json = msg.0.to_json();
        let campaign = msg
            .0
            .resolve()
            .map_err(|errs| NodeError::Invalid(errs.into_iter().map(Problem::Spec).collect()))?;
        if !self.deps.zones.names().iter().any(|z| z == campaign.zone()) {
            return Err(NodeError::invalid(Problem::field(
                "zone",
                format!(
                    "{:?} is not a zone of this node ({})",
                    campaign.zone(),
                    self.deps.zones.names().join(", ")
                ),
            )));
        }
        let now = self.deps.clock.unix_ms();
        let cid = CampaignId(self.deps.store.allocate_ids("campaign", 1)?);
        let jid = JobId(self.deps.store.allocate_ids("job", 1)?);
        let rec = CampaignRecord {
            id: cid,
            name: campaign.name().to_owned(),
            spec: spec_json,
            created_at: now,
        };
        let job = Job {
            id: jid,
            campaign: cid,
            zone: campaign.zone().to_owned(),
            state: JobState::Created,
            created_at: now,
            updated_at: now,
        };
        self.deps
            .writer
            .commit_unfenced(vec![Write::Campaign(rec), Write::Job(job)])?;
        Ok((cid, jid))
    }
}

impl Handler<ControlJob> for Director {
    type Result = Result<JobState, NodeError>;

    fn handle(&mut self, msg: ControlJob, _ctx: &mut Context<Self>) -> Self::Result {
        let ControlJob(id, action) = msg;
        let mut job = self
            .deps
            .store
            .job(id)?
            .ok_or_else(|| NodeError::NotFound(Missing::Job(id)))?;
        let elsewhere = self.deps.writer.clustered() && !self.deps.leases.may_dial(&job.zone);
        if !elsewhere && !self.deps.zones.in_service(&job.zone) {
            // A change made now could be lost with the zone's state: refuse it out loud.
            return Err(NodeError::unavailable(format!(
                "zone {} is being taken over; job {id} was not changed, try again when it is back",
                job.zone
            )));
        }
        use JobAction::*;
        use JobState::*;
        let next = match (job.state, action) {
            (Created, Start) | (Paused, Resume) => Running,
            (Running, Pause) => Paused,
            (Created | Running | Paused, Stop) => Stopped,
            (s, a) => {
                return Err(NodeError::Conflict(
                    format!("job {id} is {s:?}; it cannot {a:?}").to_lowercase(),
                ))
            }
        };
        if elsewhere {
            return self.control_elsewhere(job, next);
        }
        job.state = next;
        job.updated_at = self.deps.clock.unix_ms();
        // The new state is durable before it takes effect.
        let epoch = self.deps.leases.epoch(&job.zone);
        self.deps
            .writer
            .commit(&job.zone, epoch, vec![Write::Job(job.clone())])?;
        match next {
            Running => self.run(&job)?,
            Paused => self.manager.do_send(SetRunState(id, RunState::Paused)),
            Stopped => self.manager.do_send(SetRunState(id, RunState::Stopped)),
            _ => {}
        }
        Ok(next)
    }
}

impl Handler<JobRuntimeOf> for Director {
    type Result = Option<Arc<JobRuntime>>;

    fn handle(&mut self, msg: JobRuntimeOf, _ctx: &mut Context<Self>) -> Self::Result {
        self.runtimes.get(&msg.0).cloned()
    }
}

impl Director {
    /// Runs every Running job `which` picks, from where storage has it.
    fn resume(&mut self, which: impl Fn(&Job) -> bool) {
        let jobs = match self.deps.store.jobs() {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(error = %e, "cannot list jobs to resume");
                return;
            }
        };
        for job in jobs
            .into_iter()
            .filter(|j| j.state == JobState::Running && which(j))
        {
            match self.run(&job) {
                Ok(()) => {
                    tracing::info!(job = %job.id, zone = %job.zone, "job resumed on this node")
                }
                Err(e) => tracing::error!(job = %job.id, error = %e, "cannot resume job"),
            }
        }
    }
}

impl Handler<ResumeRunning> for Director {
    type Result = ();

    fn handle(&mut self, _: ResumeRunning, _ctx: &mut Context<Self>) {
        // A cluster node runs only the jobs of zones it masters (none at start).
        let leases = Arc::clone(&self.deps.leases);
        self.resume(|j| leases.may_dial(&j.zone));
    }
}

impl Handler<ResumeZone> for Director {
    type Result = ();

    fn handle(&mut self, msg: ResumeZone, _ctx: &mut Context<Self>) {
        // Runtimes from an earlier mastership of the zone hold stale queues: start afresh.
        self.runtimes.retain(|_, rt| rt.campaign.zone() != msg.0);
        self.resume(|j| j.zone == msg.0);
    }
}

impl Handler<ForgetZone> for Director {
    type Result = ();

    fn handle(&mut self, msg: ForgetZone, _ctx: &mut Context<Self>) {
        self.runtimes.retain(|_, rt| rt.campaign.zone() != msg.0);
        self.manager.do_send(DropZone(msg.0));
    }
}
