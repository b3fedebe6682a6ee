//! A node: one engine process. [`Node::start`] opens storage, resolves what a previous run
//! left in flight, binds SIP, and starts the actor tree; the returned [`NodeHandle`] is the
//! Rust API the CLI and the HTTP API both drive.
//!
//! Actor placement: the SIP plant, the zones' pacing loops, the call actors and the MPP
//! actors share the arbiter `start` runs on, so a call's SIP events reach its actor without
//! crossing threads. The director, campaign manager, rule engine and load monitor sit on a
//! control arbiter of their own; storage writes go through the group-commit thread.

#![forbid(unsafe_code)]

pub mod actors;
pub mod agents;
pub mod cluster;
pub mod config;
pub mod cpu;
pub mod error;
pub mod faults;
pub mod http;
pub mod import;
pub mod job;
pub mod mpp;
pub mod recovery;
pub mod shared;
pub mod sip_plant;
pub mod storage;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use actix::prelude::*;
use arc_swap::ArcSwap;
use media::{Codec, PortPool, Prompt};

use crate::actors::campaign_manager::CampaignManager;
use crate::actors::director::{
    ControlJob, CreateCampaign, Director, JobAction, JobRuntimeOf, ResumeRunning,
};
use crate::actors::load_monitor::{Load, LoadMonitor, LoadView};
use crate::actors::mpp::MppActor;
use crate::actors::rule_engine::{RuleEngine, RuleSet};
use crate::actors::supervisor::{Role, ZoneStatus, ZoneSupervisor};
use crate::config::NodeConfig;
use crate::mpp::MppTable;
use crate::storage::{ContactCounts, GroupCommit, Job, JobState, SledStore, Store};
pub use error::NodeError;
use job::{JobRuntime, StatsView};
use outdial_core::campaign::CampaignSpec;
use outdial_core::clock::Clock;
use outdial_core::domain::{CampaignId, JobId};
use outdial_core::pacing::ZoneSnapshotCell;
use shared::NodeShared;

/// One component's role, as a row of the seed's status tables (Tables 1-8).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ComponentStatus {
    pub component: String,
    pub role: String,
    /// The zone an agent manager holds (or is taking over).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Restarts after a failure (director and campaign manager), and the last one's length
    /// from the fault to the component being back in its role.
    #[serde(default)]
    pub restarts: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_restart_ms: Option<f64>,
}

/// A zone's takeovers on this node.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ZoneTakeovers {
    pub zone: String,
    pub in_service: bool,
    pub takeovers: u64,
    /// Fault to dialing resumed, over the kept records: best, median and worst, ms.
    pub took_min_ms: Option<f64>,
    pub took_p50_ms: Option<f64>,
    pub took_max_ms: Option<f64>,
    pub nuisance_released: u64,
    pub desktop_errors: u64,
    /// The most recent takeover, step by step.
    pub last: Option<outdial_core::agent::takeover::TakeoverRecord>,
    /// The fencing epoch this node masters the zone under.
    pub epoch: u64,
    /// In a cluster: when this node took the zone, and when its dialing resumed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acquired: Option<crate::actors::supervisor::Acquisition>,
}

/// What `GET /v1/node` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeStatus {
    pub name: String,
    /// The fencing epoch this node holds its zones under.
    pub epoch: u64,
    pub sip: SocketAddr,
    pub components: Vec<ComponentStatus>,
    pub zones: Vec<ZoneTakeovers>,
    pub mpps: Vec<MppStatus>,
    pub load: LoadView,
    pub recovered_attempts: u64,
    /// Numbers on the do-not-call list this node applies (in a cluster, the shared list as
    /// far as this node has read it: numbers added elsewhere arrive within half a second).
    pub do_not_call: usize,
    pub invites_sent: u64,
    pub sip_retransmissions: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct MppStatus {
    pub name: String,
    pub address: SocketAddr,
    pub healthy: bool,
    pub in_use: u32,
    pub capacity: u32,
}

/// A job's live report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobReport {
    pub job: Job,
    pub contacts: ContactCounts,
    pub stats: StatsView,
}

/// The node's control surface. Cheap to clone; every method may be called from any thread
/// inside the actix system.
#[derive(Clone)]
pub struct NodeHandle {
    shared: Arc<NodeShared>,
    director: Addr<Director>,
    rules: Addr<RuleEngine>,
    rule_set: Arc<ArcSwap<RuleSet>>,
    load: Arc<Load>,
    recovered: u64,
    mpp_actors: Arc<Vec<Addr<MppActor>>>,
    cluster: Option<Arc<crate::cluster::shell::ClusterHandle>>,
}

impl NodeHandle {
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.shared.store
    }

    /// Every attempt state change from now on (Dialing, Ringing, Answered, Completed).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<shared::AttemptEvent> {
        self.shared.events.subscribe()
    }

    pub fn sip_addr(&self) -> SocketAddr {
        self.shared.sip.local
    }

    pub async fn create_campaign(
        &self,
        spec: CampaignSpec,
    ) -> Result<(CampaignId, JobId), NodeError> {
        self.director
            .send(CreateCampaign(spec))
            .await
            .map_err(|e| NodeError::Unavailable(e.to_string()))?
    }

    pub async fn control(&self, job: JobId, action: JobAction) -> Result<JobState, NodeError> {
        self.director
            .send(ControlJob(job, action))
            .await
            .map_err(|e| NodeError::Unavailable(e.to_string()))?
    }

    /// Imports a CSV of contacts into a job that has not started.
    pub async fn import_csv(
        &self,
        job: JobId,
        reader: impl std::io::Read + Send + 'static,
        progress: bool,
    ) -> Result<crate::import::ImportReport, NodeError> {
        let j = self
            .shared
            .store
            .job(job)?
            .ok_or_else(|| NodeError::NotFound(format!("job {job}")))?;
        if j.state != JobState::Created {
            return Err(NodeError::Conflict(format!(
                "job {job} has started; import contacts before starting it"
            )));
        }
        let store = Arc::clone(&self.shared.store);
        let opts = crate::import::ImportOptions {
            progress,
            ..crate::import::ImportOptions::default()
        };
        tokio::task::spawn_blocking(move || {
            crate::import::import_reader(store.as_ref(), job, reader, &opts)
        })
        .await
        .map_err(|e| NodeError::Unavailable(e.to_string()))?
        .map_err(|e| NodeError::Invalid(vec![e.to_string()]))
    }

    pub async fn runtime(&self, job: JobId) -> Option<Arc<JobRuntime>> {
        self.director.send(JobRuntimeOf(job)).await.ok().flatten()
    }

    pub async fn job_report(&self, job: JobId) -> Result<JobReport, NodeError> {
        let j = self
            .shared
            .store
            .job(job)?
            .ok_or_else(|| NodeError::NotFound(format!("job {job}")))?;
        let contacts = self.shared.store.contact_counts(job)?;
        let stats = match self.runtime(job).await {
            Some(rt) => rt.stats.view(self.shared.clock.unix_ms()),
            None => StatsView::default(),
        };
        Ok(JobReport {
            job: j,
            contacts,
            stats,
        })
    }

    pub async fn add_do_not_call(&self, numbers: Vec<String>) -> Result<usize, NodeError> {
        self.rules
            .send(crate::actors::rule_engine::AddDoNotCall(numbers))
            .await
            .map_err(|e| NodeError::Unavailable(e.to_string()))?
            .map_err(NodeError::from)
    }

    pub fn status(&self) -> NodeStatus {
        let roles = &self.shared.roles;
        let row = |component: &str, role: Role| ComponentStatus {
            component: component.into(),
            role: role.as_str().into(),
            zone: None,
            restarts: 0,
            last_restart_ms: None,
        };
        let restarted = |component: &str, cell: &crate::actors::supervisor::RoleCell| {
            let (n, ms) = cell.restarts();
            ComponentStatus {
                restarts: n,
                last_restart_ms: (n > 0).then_some(ms),
                ..row(component, cell.get())
            }
        };
        let mut components = vec![
            restarted("director", &roles.director),
            restarted("campaign-manager", &roles.campaign_manager),
            row("rule-engine", roles.rule_engine.get()),
            row("load-monitor", roles.load_monitor.get()),
            row("api", Role::Running),
            row("desktop-service", Role::Running),
        ];
        let mut zones = Vec::new();
        let clustered = self.shared.clustered;
        for z in &self.shared.config_zones {
            let Some(st) = self.shared.zone_status.get(z) else {
                continue;
            };
            // A cluster node lists the zones it masters; the others are another node's.
            if clustered && !self.shared.zone_leases.get(z).is_some_and(|l| l.held()) {
                continue;
            }
            components.push(ComponentStatus {
                zone: Some(z.clone()),
                restarts: st.takeovers.load(outdial_core::sync::Ordering::Relaxed),
                ..row("agent-manager", st.role.get())
            });
            let history = st.history();
            let mut took: Vec<f64> = history
                .iter()
                .filter_map(|t| t.took())
                .map(|d| d.as_secs_f64() * 1000.0)
                .collect();
            took.sort_by(f64::total_cmp);
            zones.push(ZoneTakeovers {
                zone: z.clone(),
                in_service: self.shared.zone_in_service(z),
                takeovers: st.takeovers.load(outdial_core::sync::Ordering::Relaxed),
                took_min_ms: took.first().copied(),
                took_p50_ms: took.get(took.len() / 2).copied(),
                took_max_ms: took.last().copied(),
                nuisance_released: self.shared.board(z).map_or(0, |b| b.released_by_takeover()),
                desktop_errors: self.shared.board(z).map_or(0, |b| b.desktop_errors()),
                last: history.last().cloned(),
                epoch: self.shared.zone_epoch(z),
                // The lease cell moves first; the acquisition follows a moment later.
                acquired: st
                    .acquisition()
                    .filter(|a| a.epoch == self.shared.zone_epoch(z)),
            });
        }
        if clustered && zones.is_empty() {
            // The seed's tables show a dormant agent manager without a zone.
            components.push(row("agent-manager", Role::Dormant));
        }
        let c = &self.shared.sip.counters;
        NodeStatus {
            name: self.shared.name.clone(),
            epoch: self.shared.epoch,
            sip: self.shared.sip.local,
            components,
            zones,
            mpps: self
                .shared
                .mpps
                .slots()
                .iter()
                .map(|s| MppStatus {
                    name: s.config.name.clone(),
                    address: s.config.address,
                    healthy: s.healthy(),
                    in_use: s.in_use(),
                    capacity: s.config.capacity,
                })
                .collect(),
            load: self.load.view(),
            recovered_attempts: self.recovered,
            do_not_call: self.rule_set.load().dnc_len(),
            invites_sent: c.invites.load(outdial_core::sync::Ordering::Relaxed),
            sip_retransmissions: c
                .retransmissions
                .load(outdial_core::sync::Ordering::Relaxed),
        }
    }

    /// The cluster as this node sees it (None for a single node).
    pub fn cluster(&self) -> Option<crate::cluster::shell::ClusterView> {
        self.cluster.as_ref().map(|c| c.view())
    }

    /// Zone assignment (any node of a cluster): "save" records `node` as the zone's choice;
    /// "save and apply" also moves the zone there, its current master logging its agents
    /// out first (DESIGN.md §5, rejoin).
    pub fn assign_zone(&self, zone: &str, node: &str, apply: bool) -> Result<(), NodeError> {
        let Some(c) = &self.cluster else {
            return Err(NodeError::Conflict(
                "this node is not part of a cluster; its zones cannot move".into(),
            ));
        };
        if !self.shared.config_zones.iter().any(|z| z == zone) {
            return Err(NodeError::NotFound(format!("zone {zone}")));
        }
        let view = c.view();
        if !view.live.iter().any(|n| n == node) {
            return Err(NodeError::Invalid(vec![format!(
                "node: {node} is not a live node of the cluster ({})",
                view.live.join(", ")
            )]));
        }
        let coord = c.coordination();
        coord.prefer(zone, node)?;
        if apply {
            coord.assign(zone, node)?;
            c.wake_up();
            c.nudge_peers();
        }
        Ok(())
    }

    /// Graceful stop of a cluster node: tells the peers, logs its zones' agents out and
    /// releases every lease, so the peers take them at once rather than when they run out.
    /// Blocks (bounded) on the node's own actors: call it off their thread. A single node
    /// has nothing to hand over.
    pub fn leave_cluster(&self) {
        let Some(c) = &self.cluster else {
            return;
        };
        c.leave(std::time::Duration::from_secs(3));
        // The new masters have the zones; calls still up here (agentless ones: the agents'
        // calls ended with their sessions) are hung up rather than left open on the
        // customers' side. Their outcomes are the new masters' to resolve.
        let (tx, rx) = std::sync::mpsc::channel();
        if self
            .shared
            .sip
            .send(crate::sip_plant::SipCommand::HangUpAll { done: tx })
        {
            match rx.recv_timeout(std::time::Duration::from_secs(1)) {
                Ok(n) if n > 0 => tracing::info!(calls = n, "calls in progress hung up"),
                Ok(_) => {}
                Err(_) => tracing::warn!("calls in progress not confirmed hung up"),
            }
        }
    }

    /// The node is about to stop: from now on the actors' teardown is not a failure, and calls
    /// still in flight are left to the next start's recovery (`recovered-after-failover`)
    /// rather than given an outcome they did not have.
    pub fn begin_shutdown(&self) {
        self.shared
            .stopping
            .store(true, outdial_core::sync::Ordering::Release);
    }

    /// Commits everything submitted so far (for a clean stop).
    pub fn flush(&self) -> Result<(), NodeError> {
        self.shared.commit.commit_blocking(Vec::new())?;
        Ok(())
    }
}

/// Starting a node.
pub struct Node;

impl Node {
    /// Starts a node inside the running actix system (call from `System::block_on` or an
    /// actix-web main). The clock drives pacing and every stored timestamp.
    pub fn start(cfg: &NodeConfig, clock: Arc<dyn Clock>) -> Result<NodeHandle, NodeError> {
        let base = clock.now();
        let opened = match &cfg.cluster {
            None => Self::open_single(cfg, clock.as_ref())?,
            Some(c) => Self::open_cluster(cfg, c)?,
        };
        let Opened {
            store,
            commit,
            coord,
            epoch,
            recovered,
            zone_leases,
        } = opened;
        if cfg.chaos.is_some() {
            crate::faults::quiet_injected_panics();
        }
        let chaos = cfg.chaos.map(|c| shared::Chaos {
            takeover_delay: c.takeover_delay,
            ..shared::Chaos::default()
        });
        let sip = sip_plant::start(
            cfg.sip_bind,
            &cfg.name,
            cfg.t1,
            cfg.socket_buffer_bytes,
            chaos.as_ref().map(|c| Arc::clone(&c.sip)),
        )
        .map_err(|e| NodeError::Unavailable(format!("cannot bind SIP on {}: {e}", cfg.sip_bind)))?;
        let ports = PortPool::new(cfg.rtp_ports.0, cfg.rtp_ports.1)
            .map_err(|e| NodeError::Invalid(vec![format!("rtp: {e}")]))?;
        let shared = Arc::new(NodeShared {
            name: cfg.name.clone(),
            config_zones: cfg.zones.clone(),
            store,
            commit,
            sip,
            mpps: Arc::new(MppTable::new(&cfg.mpps)),
            ports,
            rtp_ip: cfg.rtp_ip,
            clock,
            epoch,
            default_prompt: Prompt::tone(440.0, 1000, Codec::Pcmu),
            events: tokio::sync::broadcast::channel(4096).0,
            boards: cfg
                .zones
                .iter()
                .map(|z| {
                    (
                        z.clone(),
                        Arc::new(crate::actors::agent::AgentBoard::new(
                            z.clone(),
                            Arc::new(ZoneSnapshotCell::default()),
                        )),
                    )
                })
                .collect(),
            zones: std::sync::RwLock::new(HashMap::new()),
            supervisors: std::sync::OnceLock::new(),
            zone_status: cfg
                .zones
                .iter()
                .map(|z| {
                    let role = if coord.is_some() {
                        Role::Dormant
                    } else {
                        Role::Master
                    };
                    (z.clone(), Arc::new(ZoneStatus::new(role)))
                })
                .collect(),
            manager: std::sync::RwLock::new(None),
            roles: if coord.is_some() {
                crate::actors::supervisor::ControlRoles::dormant()
            } else {
                Default::default()
            },
            chaos,
            stopping: outdial_core::sync::AtomicBool::new(false),
            home: Arbiter::current(),
            desktop: cfg.desktop,
            credentials: cfg
                .agents
                .iter()
                .map(|a| (a.agent.clone(), a.clone()))
                .collect(),
            nail_ids: outdial_core::sync::AtomicU64::new(0),
            zone_leases,
            base,
            clustered: coord.is_some(),
            coord: coord.clone(),
        });

        let mut mpp_actors = Vec::new();
        for i in 0..cfg.mpps.len() {
            if let Some(a) = MppActor::new(Arc::clone(&shared), i) {
                // Restarted by its supervisor when it stops (a contained panic stops it).
                mpp_actors.push(actix::Supervisor::start(move |_| a));
            }
        }
        let mut supervisors = HashMap::new();
        for (z, board) in &shared.boards {
            supervisors.insert(
                z.clone(),
                ZoneSupervisor::start(
                    Arc::clone(&shared),
                    z.clone(),
                    Arc::clone(board),
                    shared.clustered,
                ),
            );
        }
        // INVARIANT: set once, here, before anything reads it.
        let _ = shared.supervisors.set(supervisors);

        let control = Arbiter::new();
        let rules_snapshot = Arc::new(ArcSwap::from_pointee(RuleSet::default()));
        let rules = {
            let r = Arc::clone(&rules_snapshot);
            let dnc = cfg.dnc_file.clone();
            let coord = shared.coord.clone();
            RuleEngine::start_in_arbiter(&control.handle(), move |_| match coord {
                Some(c) => RuleEngine::clustered(r, dnc, c),
                None => RuleEngine::new(r, dnc),
            })
        };
        let manager = {
            let (s, r) = (Arc::clone(&shared), Arc::clone(&rules_snapshot));
            actix::Supervisor::start_in_arbiter(&control.handle(), move |_| {
                CampaignManager::new(s, r)
            })
        };
        if let Ok(mut m) = shared.manager.write() {
            *m = Some(manager.clone());
        }
        let load = Arc::new(Load::default());
        {
            let (l, m, c) = (
                Arc::clone(&load),
                manager.clone(),
                Arc::clone(&shared.clock),
            );
            LoadMonitor::start_in_arbiter(&control.handle(), move |_| LoadMonitor::new(l, m, c));
        }
        let director = {
            let (s, m) = (Arc::clone(&shared), manager.clone());
            actix::Supervisor::start_in_arbiter(&control.handle(), move |_| Director::new(s, m))
        };
        director.do_send(ResumeRunning);
        // The control arbiter lives as long as the system.
        std::mem::forget(control);
        let cluster = match (&cfg.cluster, coord) {
            (Some(c), Some(coord)) => {
                let hooks = cluster::hooks::NodeHooks {
                    shared: Arc::clone(&shared),
                    director: director.clone(),
                };
                let handle = crate::cluster::shell::start(
                    c.clone(),
                    coord,
                    Arc::clone(&shared.clock),
                    cfg.zones.clone(),
                    shared.zone_leases.clone(),
                    base,
                    Box::new(hooks),
                )
                .map_err(|e| {
                    NodeError::Unavailable(format!("cannot start the cluster heartbeat: {e}"))
                })?;
                Some(Arc::new(handle))
            }
            _ => None,
        };
        Ok(NodeHandle {
            shared,
            director,
            rules,
            rule_set: rules_snapshot,
            load,
            recovered,
            mpp_actors: Arc::new(mpp_actors),
            cluster,
        })
    }

    /// A single node: the embedded store, every configured zone held for the node's lifetime
    /// under one new epoch, and whatever the last run left in flight resolved before anything
    /// dials.
    fn open_single(cfg: &NodeConfig, clock: &dyn Clock) -> Result<Opened, NodeError> {
        std::fs::create_dir_all(&cfg.data_dir).map_err(|e| {
            NodeError::Unavailable(format!("cannot create {}: {e}", cfg.data_dir.display()))
        })?;
        let store: Arc<dyn Store> = Arc::new(SledStore::open(&cfg.data_dir)?);
        let commit = Arc::new(GroupCommit::new(Arc::clone(&store), cfg.max_batch_writes));

        // Take the zones under a new fencing epoch: one past the highest any earlier master of
        // them held, so every write of this run is recognisably newer than the last run's.
        let mut epoch = 1;
        for z in &cfg.zones {
            if let Some(owner) = store.zone_owner(z)? {
                epoch = epoch.max(owner.epoch + 1);
            }
        }
        let owners = cfg
            .zones
            .iter()
            .map(|z| {
                crate::storage::Write::ZoneOwner(crate::storage::ZoneOwner {
                    zone: z.clone(),
                    node: cfg.name.clone(),
                    epoch,
                    since: clock.unix_ms(),
                })
            })
            .collect();
        commit.commit_blocking(owners)?;
        let recovered =
            recovery::resolve_in_flight(store.as_ref(), &commit, &cfg.name, clock.unix_ms())?;
        let zone_leases = cfg
            .zones
            .iter()
            .map(|z| {
                (
                    z.clone(),
                    Arc::new(crate::cluster::ZoneLease::forever(epoch)),
                )
            })
            .collect();
        Ok(Opened {
            store,
            commit,
            coord: None,
            epoch,
            recovered,
            zone_leases,
        })
    }

    /// A cluster node: the shared PostgreSQL database (migrated at start-up), every zone
    /// DORMANT until the cluster thread takes its lease. Recovery happens per zone, when it
    /// is taken.
    fn open_cluster(
        cfg: &NodeConfig,
        c: &crate::cluster::ClusterSettings,
    ) -> Result<Opened, NodeError> {
        let pg = Arc::new(crate::storage::PgStore::connect(&c.database, &cfg.name)?);
        let store: Arc<dyn Store> = pg.clone();
        let coord: Arc<dyn crate::cluster::coordination::Coordination> = pg;
        for n in &c.nodes {
            for z in &n.zones {
                coord.seed_assignment(z, &n.name)?;
            }
        }
        let commit = Arc::new(GroupCommit::new(Arc::clone(&store), cfg.max_batch_writes));
        // This run's own number, for what must differ between runs (nailing Call-IDs); the
        // zones' epochs come with their leases.
        let epoch = store.allocate_ids("node-run", 1)?;
        let zone_leases = cfg
            .zones
            .iter()
            .map(|z| (z.clone(), Arc::new(crate::cluster::ZoneLease::not_held())))
            .collect();
        Ok(Opened {
            store,
            commit,
            coord: Some(coord),
            epoch,
            recovered: 0,
            zone_leases,
        })
    }
}

/// Storage and mastership as a node starts with them.
struct Opened {
    store: Arc<dyn Store>,
    commit: Arc<GroupCommit>,
    coord: Option<Arc<dyn crate::cluster::coordination::Coordination>>,
    epoch: u64,
    recovered: u64,
    zone_leases: HashMap<String, Arc<crate::cluster::ZoneLease>>,
}
