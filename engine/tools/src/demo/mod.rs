//! `outdial demo`: the README's main job on embedded defaults. A node with sled in a fresh
//! data directory runs a predictive campaign of generated contacts into `outdial peer`
//! customers on loopback, for simulated agents that log in over the real desktop WebSocket
//! with phones the node nails (a second `outdial peer`); live answers are bridged to them
//! over RTP. It shows live progress and reports from independent sources: the store's end
//! state (nothing lost, nothing transient), the customers' record of INVITE dialogs (nothing
//! dialed twice), the agents' sessions (occupancy) and the phones' RTP counters.
//! `--agentless` runs the agentless notification campaign instead.

mod agents;
mod faults;
mod network;
mod report;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::peer::Profile;
use outdial_core::campaign::CampaignSpec;
use outdial_core::clock::{Clock, SystemClock};
use outdial_core::domain::JobId;
use outdial_node::actors::director::JobAction;
use outdial_node::config::{Mpp, NodeConfig};
use outdial_node::storage::JobState;
use outdial_node::{Node, NodeHandle};

pub use report::{AgentsReport, DemoReport, Meters, TakeoverReport};

/// The customer mix the demo dials into (also shipped as configs/peer-mixed.toml).
pub const MIXED_PROFILE: &str = include_str!("../../../../configs/peer-mixed.toml");

/// The agentless demo's campaign: short retries so the run ends in about a minute.
pub const DEMO_CAMPAIGN: &str = include_str!("../../../../configs/campaign-demo.toml");

/// The default demo's campaign: predictive, for the simulated agents.
pub const DEMO_PREDICTIVE_CAMPAIGN: &str =
    include_str!("../../../../configs/campaign-demo-predictive.toml");

/// Customers who talk (RTP) and hang up, for campaigns with agents.
pub const CUSTOMERS_PROFILE: &str = include_str!("../../../../configs/peer-customers.toml");

/// Agents' phones: answer the nailing call, send and count RTP.
pub const PHONES_PROFILE: &str = include_str!("../../../../configs/peer-agent-phones.toml");

/// What the demo runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemoOptions {
    pub contacts: u64,
    /// Simulated agents; 0 runs the agentless campaign.
    pub agents: u32,
    /// Mean talk time of the simulated agents (exponential).
    pub talk_mean: Duration,
    /// Wrap-up time before each disposition.
    pub wrap: Duration,
    /// Dialing mode of the campaign with agents (`predictive`, `progressive`, `preview`):
    /// the same run with another mode is the baseline to compare against.
    pub mode: &'static str,
    /// Zone faults injected during the run (a panic in the zone's pacing loop, then in an
    /// agent's actor, alternately), evenly spread; each is a takeover the report times.
    pub faults: u32,
    /// Keep the node, its agents and the wall-board serving after the campaign ends, until
    /// Ctrl-C.
    pub stay: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            contacts: 1000,
            agents: 30,
            talk_mean: Duration::from_millis(1500),
            wrap: Duration::from_millis(300),
            mode: "predictive",
            faults: 0,
            stay: false,
        }
    }
}

/// Writes `n` contacts with distinct numbers in US zones, as the demo's list.
pub fn write_contacts(path: &Path, n: u64) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "phone,first_name,account")?;
    let area = ["212", "312", "415", "206", "305", "617", "713", "303"];
    for i in 0..n {
        let a = area[(i % area.len() as u64) as usize];
        writeln!(w, "+1{a}555{:04},Customer{i},ACC{:06}", i % 10_000, i)?;
    }
    w.flush()
}

/// Runs the demo end to end. Must be called inside an actix system.
pub async fn run(
    opts: DemoOptions,
    data_dir: Option<PathBuf>,
    progress: bool,
) -> Result<DemoReport, Box<dyn std::error::Error>> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let dir = fresh_dir(data_dir, clock.as_ref())?;
    let with_agents = opts.agents > 0;
    let network = if with_agents {
        network::Network::start(
            Profile::parse(CUSTOMERS_PROFILE, "configs/peer-customers.toml")?,
            Some(Profile::parse(
                PHONES_PROFILE,
                "configs/peer-agent-phones.toml",
            )?),
        )
        .await?
    } else {
        network::Network::start(
            Profile::parse(MIXED_PROFILE, "configs/peer-mixed.toml")?,
            None,
        )
        .await?
    };
    let credentials: Vec<(String, String)> = (0..opts.agents)
        .map(|i| {
            (
                format!("demo-agent-{i}"),
                format!("demo-{i}-{}", clock.unix_ms()),
            )
        })
        .collect();
    let cfg = node_config(&dir, network.customers(), &credentials, opts.faults > 0)?;
    let node = Node::start(&cfg, Arc::clone(&clock))?;
    let served = outdial_node::http::serve(node.clone(), &cfg.http, cfg.http_bind)?;
    let http = served.addr;
    let api_url = served.url();
    let dashboard_url =
        outdial_node::http::web::one_time_link(node.access(), &served.url(), "demo-supervisor");
    let server_handle = served.server.handle();
    actix::spawn(served.server);
    if let Some(url) = &dashboard_url {
        // Always shown (on stderr, so `--json` keeps stdout one object): the link is the way
        // in to the wall-board, good once, for this demo's node only.
        eprintln!("outdial demo: wall-board (one-time supervisor link): {url}");
    }
    if progress {
        eprintln!(
            "outdial demo: node {} (SIP {}, API http://{http}), customers at {}, data in {}",
            cfg.name,
            node.sip_addr(),
            network.customers(),
            dir.display()
        );
    }
    // The agents log in through the desktop WebSocket, like any desktop, and wait nailed
    // and ready before the campaign starts.
    let agents = match network.phones() {
        Some(phones) => {
            Some(agents::Agents::start(&node, http, phones, &credentials, &opts, progress).await?)
        }
        None => None,
    };
    let campaign = Campaign::new(&opts, with_agents)?;
    let job = campaign.load(&node, &dir, opts.contacts, progress).await?;
    let started = clock.now();
    node.control(job, JobAction::Start).await?;
    let injector = (opts.faults > 0).then(|| {
        let names = credentials.iter().map(|(id, _)| id.clone()).collect();
        faults::start(node.clone(), job, opts.faults, names)
    });
    wait_for_end(&node, job, progress).await?;
    let seconds = clock.now().duration_since(started).as_secs_f64();
    if opts.stay {
        eprintln!(
            "outdial demo: the campaign is over; the node and its agents keep serving \
             (API {}) until Ctrl-C",
            api_url
        );
        // An error here means no signal handler could be installed: nothing to wait for.
        let _ = tokio::signal::ctrl_c().await;
    }
    let meters = node
        .job_report(job)
        .await
        .ok()
        .map(|r| report::Meters::of(&r.stats));
    // The run may end before every fault is injected: the ones made are counted.
    let injected = match injector {
        Some(t) => t.await.unwrap_or_default(),
        None => faults::Injected::default(),
    };
    let seen = match agents {
        Some(a) => Some(a.stop(&node, opts.agents).await),
        None => None,
    };
    let net = network.stop().await?;
    server_handle.stop(true).await;
    node.begin_shutdown();
    node.flush()?;
    let mut report = report::build_report(&node, job, &net.record, seconds, &dir)?;
    report.meters = meters;
    report.dashboard_url = dashboard_url;
    if opts.faults > 0 {
        let empty = agents::AgentsSeen::default();
        report.takeovers = Some(report::takeovers(
            &node,
            injected,
            seen.as_ref().unwrap_or(&empty),
        ));
    }
    if let Some(mut seen) = seen {
        seen.report.rtp_packets_to_agents = net.rtp_to_agents;
        report::answer_times(&node, job, campaign.connect_window_ms, &mut seen.report)?;
        report.agents = Some(seen.report);
        report.nuisance_cap_pct = Some(campaign.cap_pct);
    }
    Ok(report)
}

/// The data directory: the one given, or a fresh one under the temp dir; never one that
/// exists already.
fn fresh_dir(
    given: Option<PathBuf>,
    clock: &dyn Clock,
) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let dir = given.unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "outdial-demo-{}-{}",
            std::process::id(),
            clock.unix_ms()
        ))
    });
    if dir.exists() {
        return Err(format!(
            "{} exists; the demo wants a fresh data directory",
            dir.display()
        )
        .into());
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The demo node: sled in `dir`, one zone, everything on loopback, the customers as its
/// media server, the demo's agents as its accounts (each password hashed with argon2id, as
/// any deployment's).
fn node_config(
    dir: &Path,
    customers: SocketAddr,
    credentials: &[(String, String)],
    faults: bool,
) -> Result<NodeConfig, outdial_node::auth::PasswordError> {
    let agents = credentials
        .iter()
        .map(|(id, pw)| {
            Ok(outdial_node::auth::AgentAccount {
                id: outdial_core::agent::AgentId(id.clone()),
                password: outdial_node::auth::PasswordHash::new(pw)?,
                zones: Vec::new(),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(NodeConfig {
        cluster: None,
        name: "demo".into(),
        data_dir: dir.join("db"),
        zones: vec!["default".into()],
        log_phone_numbers: false,
        dnc_file: None,
        sip_bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        t1: Duration::from_millis(500),
        socket_buffer_bytes: 4 << 20,
        sip_guard: sip::GuardConfig::default(),
        rtp_ip: [127, 0, 0, 1].into(),
        rtp_ports: (30_000, 39_998),
        http_bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        mpps: vec![Mpp {
            name: "peer".into(),
            address: customers,
            capacity: 2000,
            options_interval: Duration::from_secs(2),
            down_after_missed: 3,
            trunk: None,
        }],
        trunks: Vec::new(),
        max_batch_writes: 4096,
        desktop: outdial_node::config::DesktopSettings::default(),
        agents,
        chaos: faults.then_some(outdial_node::config::ChaosSettings::default()),
        http: outdial_node::config::HttpSettings::default(),
        access: outdial_node::auth::AccessSettings::default(),
        import: outdial_node::import::ImportLimits::default(),
        phone_networks: outdial_node::config::default_phone_networks(),
        media_dir: None,
    })
}

/// The demo's campaign: predictive (or the mode asked for) with agents, agentless without.
struct Campaign {
    spec: CampaignSpec,
    cap_pct: f64,
    connect_window_ms: u64,
}

impl Campaign {
    fn new(opts: &DemoOptions, with_agents: bool) -> Result<Self, Box<dyn std::error::Error>> {
        let spec = if with_agents {
            let mut spec = CampaignSpec::from_toml(DEMO_PREDICTIVE_CAMPAIGN)?;
            spec.mode = opts.mode.to_owned();
            spec
        } else {
            CampaignSpec::from_toml(DEMO_CAMPAIGN)?
        };
        Ok(Self {
            cap_pct: spec
                .nuisance
                .as_ref()
                .and_then(|n| n.cap_pct)
                .unwrap_or(3.0),
            connect_window_ms: spec.connect_window_ms.unwrap_or(2000),
            spec,
        })
    }

    /// Defines the campaign on the node and imports `contacts` generated contacts.
    async fn load(
        &self,
        node: &NodeHandle,
        dir: &Path,
        contacts: u64,
        progress: bool,
    ) -> Result<JobId, Box<dyn std::error::Error>> {
        let csv = dir.join("contacts.csv");
        write_contacts(&csv, contacts)?;
        let (_, job) = node.create_campaign(self.spec.clone()).await?;
        let imported = node
            .import_csv(job, std::fs::File::open(&csv)?, progress)
            .await?;
        if progress {
            eprintln!(
                "imported {} contacts ({} rejected)",
                imported.imported, imported.rejected
            );
        }
        Ok(job)
    }
}

async fn wait_for_end(
    node: &NodeHandle,
    job: JobId,
    progress: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let start = outdial_core::clock::now();
    // Bounded: a demo that has not finished in ten minutes is broken, not slow.
    for _ in 0..600 * 4 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let r = node.job_report(job).await?;
        if progress {
            eprint!(
                "\r[{:>5.1}s] attempts {:>6}  in flight {:>4}  final {:>5}/{}  retry {:>5}  {:>6.1} cps   ",
                outdial_core::clock::now().duration_since(start).as_secs_f64(),
                r.stats.attempts,
                r.stats.in_flight,
                r.contacts.final_,
                r.contacts.total,
                r.contacts.ready,
                r.stats.rate_cps
            );
            let _ = std::io::stderr().flush();
        }
        if matches!(r.job.state, JobState::Finished | JobState::Stopped) {
            if progress {
                eprintln!();
            }
            return Ok(());
        }
    }
    Err("the demo campaign did not finish within 10 minutes".into())
}
