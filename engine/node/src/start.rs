//! Starting a node, the one place its parts are wired: storage opened and recovered, SIP
//! bound, and each actor given only what it needs — the zones' supervisors and pacing
//! actors, the agents' and calls' shared dependencies, the media-server probes, and on a
//! control arbiter the director, campaign manager, rule engine and load monitor.
//!
//! Actor placement: the SIP plant, the zones' pacing loops, the call, agent and MPP actors
//! share the arbiter `start` runs on, so a call's SIP events reach its actor without
//! crossing threads. Storage writes go through the group-commit thread.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use actix::prelude::*;
use arc_swap::ArcSwap;
use media::{Codec, PortPool, Prompt};

use crate::actors::agent::{AgentBoard, AgentDeps, NailIds};
use crate::actors::call::{CallDeps, CallRegistry, CallStarter};
use crate::actors::campaign_manager::{CampaignManager, ManagerDeps};
use crate::actors::director::{Director, DirectorDeps, ResumeRunning};
use crate::actors::load_monitor::{Load, LoadMonitor};
use crate::actors::mpp::{MppActor, MppDeps};
use crate::actors::rule_engine::{RuleEngine, RuleSet};
use crate::actors::supervisor::{ControlRoles, Role, SupervisorDeps, ZoneStatus, ZoneSupervisor};
use crate::actors::zone::ZoneDeps;
use crate::actors::zones::{ZoneHandle, Zones};
use crate::auth::Access;
use crate::cluster::coordination::Coordination;
use crate::cluster::leases::Leases;
use crate::cluster::{ClusterSettings, ZoneLease};
use crate::config::NodeConfig;
use crate::error::{NodeError, Problem};
use crate::events::AttemptEvents;
use crate::handle::{ChaosParts, NodeHandle, Parts};
use crate::mpp::MppTable;
use crate::rtp::Rtp;
use crate::sip_plant::{self, SipHandle};
use crate::storage::{AccessStore, GroupCommit, SledStore, Store, Write, Writer, ZoneOwner};
use crate::{faults, recovery};
use outdial_core::clock::Clock;
use outdial_core::pacing::ZoneSnapshotCell;
use outdial_core::sync::AtomicBool;

/// Starting a node.
pub struct Node;

/// Storage and mastership as a node starts with them.
struct Opened {
    store: Arc<dyn Store>,
    /// The same storage's users, tokens and audit log.
    access: Arc<dyn AccessStore>,
    commit: Arc<GroupCommit>,
    coord: Option<Arc<dyn Coordination>>,
    /// This run's own number.
    epoch: u64,
    recovered: u64,
    zone_leases: HashMap<String, Arc<ZoneLease>>,
}

/// The parts every actor of the node draws from, before the actors exist.
struct Common {
    store: Arc<dyn Store>,
    writer: Writer,
    sip: SipHandle,
    mpps: Arc<MppTable>,
    zones: Zones,
    leases: Arc<Leases>,
    clock: Arc<dyn Clock>,
    events: AttemptEvents,
    roles: Arc<ControlRoles>,
    chaos: Option<ChaosParts>,
    stopping: Arc<AtomicBool>,
    rtp: Rtp,
}

impl Node {
    /// Starts a node inside the running actix system (call from `System::block_on` or an
    /// actix-web main). The clock drives pacing and every stored timestamp.
    pub fn start(cfg: &NodeConfig, clock: Arc<dyn Clock>) -> Result<NodeHandle, NodeError> {
        let base = clock.now();
        let opened = match &cfg.cluster {
            None => Self::open_single(cfg, clock.as_ref())?,
            Some(c) => Self::open_cluster(cfg, c)?,
        };
        if cfg.chaos.is_some() {
            faults::quiet_injected_panics();
        }
        outdial_core::domain::log_phone_numbers(cfg.log_phone_numbers);
        let (access, admin_token) = Self::open_access(cfg, &opened, Arc::clone(&clock))?;
        let c = Self::common(cfg, &opened, clock, base)?;
        let call_deps = Arc::new(CallDeps {
            sip: c.sip.clone(),
            rtp: c.rtp.clone(),
            mpps: Arc::clone(&c.mpps),
            writer: c.writer.clone(),
            leases: Arc::clone(&c.leases),
            clock: Arc::clone(&c.clock),
            events: c.events.clone(),
            registry: c.chaos.as_ref().map(|ch| Arc::clone(&ch.calls)),
            stopping: Arc::clone(&c.stopping),
        });
        let running_jobs = Arc::new(OnceLock::new());
        Self::start_zones(
            cfg,
            &c,
            call_deps,
            Arc::clone(&running_jobs),
            opened.coord.is_some(),
        );
        let mpp_actors = Self::start_probes(cfg, &c, opened.epoch);
        let control = Self::start_control(cfg, &c, &opened, running_jobs);
        let cluster = Self::start_cluster(cfg, &c, &opened, &control, base)?;
        let agent_deps = Arc::new(AgentDeps {
            sip: c.sip.clone(),
            rtp: c.rtp.clone(),
            clock: Arc::clone(&c.clock),
            nails: NailIds::new(opened.epoch),
            stopping: Arc::clone(&c.stopping),
        });
        Ok(NodeHandle::new(Parts {
            name: cfg.name.clone(),
            epoch: opened.epoch,
            store: c.store,
            writer: c.writer,
            sip: c.sip,
            mpps: c.mpps,
            zones: c.zones,
            clock: c.clock,
            events: c.events,
            roles: c.roles,
            chaos: c.chaos,
            stopping: c.stopping,
            home: Arbiter::current(),
            desktop: cfg.desktop,
            access,
            admin_token,
            phone_networks: cfg.phone_networks.clone(),
            media_dir: cfg.media_dir.clone(),
            import_limits: cfg.import,
            agent_deps,
            director: control.director,
            manager: control.manager,
            rules: control.rules,
            rule_set: control.rule_set,
            load: control.load,
            recovered: opened.recovered,
            mpp_actors,
            cluster,
            rtp: c.rtp,
        }))
    }

    /// Credentials: the access service over the node's storage, the first start's admin
    /// token, and on a cluster node a thread that reloads the tokens other nodes change.
    fn open_access(
        cfg: &NodeConfig,
        opened: &Opened,
        clock: Arc<dyn Clock>,
    ) -> Result<(Arc<Access>, Option<std::path::PathBuf>), NodeError> {
        let access = Arc::new(
            Access::new(Arc::clone(&opened.access), clock, &cfg.agents, cfg.access)
                .map_err(|e| NodeError::unavailable_by("cannot load the node's credentials", e))?,
        );
        let admin_token = crate::auth::bootstrap(&access, &cfg.data_dir)
            .map_err(|e| NodeError::unavailable_by("cannot make the first admin token", e))?;
        if opened.coord.is_some() {
            let weak = Arc::downgrade(&access);
            std::thread::Builder::new()
                .name("token-reload".into())
                .spawn(move || {
                    // Revocations through another node reach this one within this period.
                    while let Some(a) = weak.upgrade() {
                        if let Err(e) = a.reload_tokens() {
                            tracing::warn!(error = %e, "cannot reload API tokens");
                        }
                        drop(a);
                        std::thread::sleep(crate::auth::TOKEN_RELOAD_EVERY);
                    }
                })
                .map_err(|e| NodeError::unavailable_by("cannot start the token reloader", e))?;
        }
        Ok((access, admin_token))
    }

    /// SIP, RTP, the zones' handles and what every actor shares.
    fn common(
        cfg: &NodeConfig,
        opened: &Opened,
        clock: Arc<dyn Clock>,
        base: std::time::Instant,
    ) -> Result<Common, NodeError> {
        let chaos = cfg.chaos.map(|_| ChaosParts {
            sip: Arc::new(faults::SipFaults::default()),
            calls: Arc::new(CallRegistry::default()),
        });
        let sip = sip_plant::start(
            cfg.sip_bind,
            &cfg.name,
            cfg.t1,
            cfg.socket_buffer_bytes,
            cfg.sip_guard,
            chaos.as_ref().map(|c| Arc::clone(&c.sip)),
            &cfg.trunks,
        )
        .map_err(|e| {
            NodeError::unavailable_by(format!("cannot bind SIP on {}", cfg.sip_bind), e)
        })?;
        let ports = PortPool::new(cfg.rtp_ports.0, cfg.rtp_ports.1)
            .map_err(|e| NodeError::invalid(Problem::cause("rtp", e)))?;
        let clustered = opened.coord.is_some();
        let role = if clustered {
            Role::Dormant
        } else {
            Role::Master
        };
        let leases = Arc::new(Leases::new(
            opened.zone_leases.clone(),
            base,
            Arc::clone(&clock),
        ));
        let zones = Zones::new(
            cfg.zones
                .iter()
                .map(|z| {
                    ZoneHandle::new(
                        z.clone(),
                        Arc::new(AgentBoard::new(
                            z.clone(),
                            Arc::new(ZoneSnapshotCell::default()),
                        )),
                        Arc::new(ZoneStatus::new(role)),
                        leases.cell(z),
                    )
                })
                .collect(),
        );
        Ok(Common {
            store: Arc::clone(&opened.store),
            writer: Writer::new(Arc::clone(&opened.commit), clustered.then_some(&*cfg.name)),
            sip,
            mpps: Arc::new(MppTable::new(&cfg.mpps)),
            zones,
            leases,
            events: AttemptEvents::new(4096, Arc::clone(&clock)),
            clock,
            roles: Arc::new(if clustered {
                ControlRoles::dormant()
            } else {
                ControlRoles::default()
            }),
            chaos,
            stopping: Arc::new(AtomicBool::new(false)),
            rtp: Rtp::new(ports, cfg.rtp_ip),
        })
    }

    /// Each zone's supervisor and, unless the zone waits for its lease (a cluster node), its
    /// first pacing actor.
    fn start_zones(
        cfg: &NodeConfig,
        c: &Common,
        calls: Arc<CallDeps>,
        running_jobs: Arc<OnceLock<Recipient<crate::actors::campaign_manager::RunningJobs>>>,
        dormant: bool,
    ) {
        let zone_deps = Arc::new(ZoneDeps {
            node: cfg.name.clone(),
            store: Arc::clone(&c.store),
            writer: c.writer.clone(),
            mpps: Arc::clone(&c.mpps),
            clock: Arc::clone(&c.clock),
            leases: Arc::clone(&c.leases),
            calls: Arc::new(CallStarter(calls)),
            stopping: Arc::clone(&c.stopping),
        });
        let deps = Arc::new(SupervisorDeps {
            zone: zone_deps,
            running_jobs,
            takeover_delay: cfg.chaos.map(|ch| ch.takeover_delay).unwrap_or_default(),
        });
        for z in c.zones.iter() {
            ZoneSupervisor::start(Arc::clone(&deps), Arc::clone(z), dormant);
        }
    }

    /// One health prober per media server, restarted by its supervisor when it stops.
    fn start_probes(cfg: &NodeConfig, c: &Common, epoch: u64) -> Vec<Addr<MppActor>> {
        let deps = Arc::new(MppDeps {
            mpps: Arc::clone(&c.mpps),
            sip: c.sip.clone(),
            clock: Arc::clone(&c.clock),
            epoch,
        });
        (0..cfg.mpps.len())
            .filter_map(|i| MppActor::new(Arc::clone(&deps), i))
            .map(|a| actix::Supervisor::start(move |_| a))
            .collect()
    }

    /// The node-wide components, on a control arbiter of their own.
    fn start_control(
        cfg: &NodeConfig,
        c: &Common,
        opened: &Opened,
        running_jobs: Arc<OnceLock<Recipient<crate::actors::campaign_manager::RunningJobs>>>,
    ) -> Control {
        let arbiter = Arbiter::new();
        let rule_set = Arc::new(ArcSwap::from_pointee(RuleSet::default()));
        let rules = {
            let (r, dnc, coord) = (
                Arc::clone(&rule_set),
                cfg.dnc_file.clone(),
                opened.coord.clone(),
            );
            RuleEngine::start_in_arbiter(&arbiter.handle(), move |_| match coord {
                Some(c) => RuleEngine::clustered(r, dnc, c),
                None => RuleEngine::new(r, dnc),
            })
        };
        let manager_deps = Arc::new(ManagerDeps {
            store: Arc::clone(&c.store),
            writer: c.writer.clone(),
            leases: Arc::clone(&c.leases),
            zones: c.zones.clone(),
            clock: Arc::clone(&c.clock),
            roles: Arc::clone(&c.roles),
        });
        let manager = {
            let r = Arc::clone(&rule_set);
            actix::Supervisor::start_in_arbiter(&arbiter.handle(), move |_| {
                CampaignManager::new(manager_deps, r)
            })
        };
        let _ = running_jobs.set(manager.clone().recipient());
        let load = Arc::new(Load::default());
        {
            let (l, m, clock) = (Arc::clone(&load), manager.clone(), Arc::clone(&c.clock));
            LoadMonitor::start_in_arbiter(&arbiter.handle(), move |_| {
                LoadMonitor::new(l, m, clock)
            });
        }
        let director_deps = Arc::new(DirectorDeps {
            store: Arc::clone(&c.store),
            writer: c.writer.clone(),
            leases: Arc::clone(&c.leases),
            zones: c.zones.clone(),
            clock: Arc::clone(&c.clock),
            roles: Arc::clone(&c.roles),
            coord: opened.coord.clone(),
            default_prompt: Prompt::tone(440.0, 1000, Codec::Pcmu),
        });
        let director = {
            let m = manager.clone();
            actix::Supervisor::start_in_arbiter(&arbiter.handle(), move |_| {
                Director::new(director_deps, m)
            })
        };
        director.do_send(ResumeRunning);
        // The control arbiter lives as long as the system.
        std::mem::forget(arbiter);
        Control {
            director,
            manager,
            rules,
            rule_set,
            load,
        }
    }

    /// A cluster node's heartbeat and lease thread, with the hooks that move its zones.
    fn start_cluster(
        cfg: &NodeConfig,
        c: &Common,
        opened: &Opened,
        control: &Control,
        base: std::time::Instant,
    ) -> Result<Option<Arc<crate::cluster::shell::ClusterHandle>>, NodeError> {
        let (Some(settings), Some(coord)) = (&cfg.cluster, opened.coord.clone()) else {
            return Ok(None);
        };
        let hooks = crate::cluster::hooks::NodeHooks {
            store: Arc::clone(&c.store),
            writer: c.writer.clone(),
            coord: Arc::clone(&coord),
            zones: c.zones.clone(),
            roles: Arc::clone(&c.roles),
            clock: Arc::clone(&c.clock),
            home: Arbiter::current(),
            director: control.director.clone(),
        };
        let handle = crate::cluster::shell::start(
            settings.clone(),
            coord,
            Arc::clone(&c.clock),
            cfg.zones.clone(),
            opened.zone_leases.clone(),
            base,
            Box::new(hooks),
        )
        .map_err(|e| NodeError::unavailable_by("cannot start the cluster heartbeat", e))?;
        Ok(Some(Arc::new(handle)))
    }

    /// A single node: the embedded store, every configured zone held for the node's lifetime
    /// under one new epoch, and whatever the last run left in flight resolved before anything
    /// dials.
    fn open_single(cfg: &NodeConfig, clock: &dyn Clock) -> Result<Opened, NodeError> {
        std::fs::create_dir_all(&cfg.data_dir).map_err(|e| {
            NodeError::unavailable_by(format!("cannot create {}", cfg.data_dir.display()), e)
        })?;
        let sled = Arc::new(SledStore::open(&cfg.data_dir)?);
        let store: Arc<dyn Store> = sled.clone();
        let access: Arc<dyn AccessStore> = sled;
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
                Write::ZoneOwner(ZoneOwner {
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
            .map(|z| (z.clone(), Arc::new(ZoneLease::forever(epoch))))
            .collect();
        Ok(Opened {
            store,
            access,
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
    fn open_cluster(cfg: &NodeConfig, c: &ClusterSettings) -> Result<Opened, NodeError> {
        let pg = Arc::new(crate::storage::PgStore::connect(&c.database, &cfg.name)?);
        let store: Arc<dyn Store> = pg.clone();
        let access: Arc<dyn AccessStore> = pg.clone();
        let coord: Arc<dyn Coordination> = pg;
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
            .map(|z| (z.clone(), Arc::new(ZoneLease::not_held())))
            .collect();
        Ok(Opened {
            store,
            access,
            commit,
            coord: Some(coord),
            epoch,
            recovered: 0,
            zone_leases,
        })
    }
}

/// The node-wide components, as the handle reaches them.
struct Control {
    director: Addr<Director>,
    manager: Addr<CampaignManager>,
    rules: Addr<RuleEngine>,
    rule_set: Arc<ArcSwap<RuleSet>>,
    load: Arc<Load>,
}
