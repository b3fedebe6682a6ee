//! The node's control surface: [`NodeHandle`], the Rust API the CLI and the HTTP API both
//! drive. Campaigns and jobs here; agents, status, faults and the cluster in the files
//! beside it.

mod agents;
mod campaigns;
mod cluster;
mod faults;
mod status;
mod trunks;
mod wallboard;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use actix::prelude::*;
use arc_swap::ArcSwap;

pub use agents::{parse_phone, AgentLogin, LoginError};
pub use campaigns::prompt_path;
pub use faults::Injected;
pub use status::{ComponentStatus, JobReport, MppStatus, NodeStatus, ZoneTakeovers};
pub use wallboard::{JobLive, ZoneLive};

use crate::actors::agent::AgentDeps;
use crate::actors::call::CallRegistry;
use crate::actors::campaign_manager::CampaignManager;
use crate::actors::director::{ControlJob, CreateCampaign, Director, JobAction, JobRuntimeOf};
use crate::actors::load_monitor::Load;
use crate::actors::mpp::MppActor;
use crate::actors::rule_engine::{RuleEngine, RuleSet};
use crate::actors::supervisor::ControlRoles;
use crate::actors::zones::Zones;
use crate::auth::Access;
use crate::cluster::shell::ClusterHandle;
use crate::config::{DesktopSettings, IpNet};
use crate::error::{Missing, NodeError, Problem};
use crate::events::{AttemptEvent, AttemptEvents};
use crate::faults::SipFaults;
use crate::import::ImportLimits;
use crate::job::{JobRuntime, StatsView};
use crate::mpp::MppTable;
use crate::sip_plant::SipHandle;
use crate::storage::{JobState, Store, Writer};
use outdial_core::campaign::CampaignSpec;
use outdial_core::clock::Clock;
use outdial_core::domain::{CampaignId, JobId};
use outdial_core::sync::{AtomicBool, Ordering};

/// The node's control surface. Cheap to clone; every method may be called from any thread
/// inside the actix system.
#[derive(Clone)]
pub struct NodeHandle {
    parts: Arc<Parts>,
}

/// What the node's API reaches: the running node's parts, wired by [`crate::Node::start`].
/// Only the handle holds them all; each actor was given its own few.
pub(crate) struct Parts {
    pub name: String,
    /// The node's run: its nailing and probe Call-IDs carry it.
    pub epoch: u64,
    pub store: Arc<dyn Store>,
    pub writer: Writer,
    pub sip: SipHandle,
    pub mpps: Arc<MppTable>,
    pub zones: Zones,
    pub clock: Arc<dyn Clock>,
    pub events: AttemptEvents,
    pub roles: Arc<ControlRoles>,
    /// Present when the config enables fault injection.
    pub chaos: Option<ChaosParts>,
    pub stopping: Arc<AtomicBool>,
    /// The arbiter of the SIP plant, where call and agent actors live.
    pub home: ArbiterHandle,
    pub desktop: DesktopSettings,
    /// Credentials: tokens, sessions, users, agents' passwords, the audit log.
    pub access: Arc<Access>,
    /// Where the first start wrote its admin token, if this start did.
    pub admin_token: Option<PathBuf>,
    /// Networks agents' phones may be in.
    pub phone_networks: Vec<IpNet>,
    /// The directory campaign prompts come from.
    pub media_dir: Option<PathBuf>,
    pub import_limits: ImportLimits,
    pub agent_deps: Arc<AgentDeps>,
    pub director: Addr<Director>,
    pub manager: Addr<CampaignManager>,
    pub rules: Addr<RuleEngine>,
    pub rule_set: Arc<ArcSwap<RuleSet>>,
    pub load: Arc<Load>,
    pub recovered: u64,
    pub mpp_actors: Vec<Addr<MppActor>>,
    pub cluster: Option<Arc<ClusterHandle>>,
    pub rtp: crate::rtp::Rtp,
}

/// What fault injection reaches: the SIP plant's fault windows and the calls in flight.
pub(crate) struct ChaosParts {
    pub sip: Arc<SipFaults>,
    pub calls: Arc<CallRegistry>,
}

impl NodeHandle {
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.parts.store
    }

    /// Every attempt state change from now on (Dialing, Ringing, Answered, Completed).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<AttemptEvent> {
        self.parts.events.subscribe()
    }

    pub fn sip_addr(&self) -> SocketAddr {
        self.parts.sip.local
    }

    /// Defines a campaign and creates its job. Beyond the spec's own checks, the node
    /// refuses `target` (calls go only to its media servers) and reads `abandon_message`
    /// only from its media directory (see `campaigns`).
    pub async fn create_campaign(
        &self,
        spec: CampaignSpec,
    ) -> Result<(CampaignId, JobId), NodeError> {
        let spec = self.admit_campaign(spec)?;
        self.parts.director.send(CreateCampaign(spec)).await?
    }

    /// The node's credentials and audit log.
    pub fn access(&self) -> &Arc<Access> {
        &self.parts.access
    }

    /// The file this start wrote the first admin token to, if it did.
    pub fn admin_token_file(&self) -> Option<&std::path::Path> {
        self.parts.admin_token.as_deref()
    }

    pub async fn control(&self, job: JobId, action: JobAction) -> Result<JobState, NodeError> {
        self.parts.director.send(ControlJob(job, action)).await?
    }

    /// Imports a CSV of contacts into a job that has not started.
    pub async fn import_csv(
        &self,
        job: JobId,
        reader: impl std::io::Read + Send + 'static,
        progress: bool,
    ) -> Result<crate::import::ImportReport, NodeError> {
        let j = self
            .parts
            .store
            .job(job)?
            .ok_or_else(|| NodeError::NotFound(Missing::Job(job)))?;
        if j.state != JobState::Created {
            return Err(NodeError::Conflict(format!(
                "job {job} has started; import contacts before starting it"
            )));
        }
        let store = Arc::clone(&self.parts.store);
        let opts = crate::import::ImportOptions {
            progress,
            limits: self.parts.import_limits,
            ..crate::import::ImportOptions::default()
        };
        tokio::task::spawn_blocking(move || {
            crate::import::import_reader(store.as_ref(), job, reader, &opts)
        })
        .await
        .map_err(|e| NodeError::unavailable_by("the import task failed", e))?
        .map_err(|e| NodeError::invalid(Problem::cause("contacts", e)))
    }

    pub async fn runtime(&self, job: JobId) -> Option<Arc<JobRuntime>> {
        self.parts
            .director
            .send(JobRuntimeOf(job))
            .await
            .ok()
            .flatten()
    }

    pub async fn job_report(&self, job: JobId) -> Result<JobReport, NodeError> {
        let j = self
            .parts
            .store
            .job(job)?
            .ok_or_else(|| NodeError::NotFound(Missing::Job(job)))?;
        let contacts = self.parts.store.contact_counts(job)?;
        let stats = match self.runtime(job).await {
            Some(rt) => rt.stats.view(self.parts.clock.unix_ms()),
            None => StatsView::default(),
        };
        Ok(JobReport {
            job: j,
            contacts,
            stats,
        })
    }

    pub async fn add_do_not_call(&self, numbers: Vec<String>) -> Result<usize, NodeError> {
        self.parts
            .rules
            .send(crate::actors::rule_engine::AddDoNotCall(numbers))
            .await?
            .map_err(NodeError::from)
    }

    pub(crate) fn new(parts: Parts) -> Self {
        Self {
            parts: Arc::new(parts),
        }
    }

    /// The node is about to stop: from now on the actors' teardown is not a failure, and calls
    /// still in flight are left to the next start's recovery (`recovered-after-failover`)
    /// rather than given an outcome they did not have.
    pub fn begin_shutdown(&self) {
        self.parts.stopping.store(true, Ordering::Release);
    }

    /// Commits everything submitted so far (for a clean stop).
    pub fn flush(&self) -> Result<(), NodeError> {
        self.parts.writer.commit_unfenced(Vec::new())?;
        Ok(())
    }
}
