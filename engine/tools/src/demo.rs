//! `outdial demo`: the README's main job on embedded defaults. A node with sled in a fresh
//! data directory runs a predictive campaign of generated contacts into `outdial peer`
//! customers on loopback, for simulated agents that log in over the real desktop WebSocket
//! with phones the node nails (a second `outdial peer`); live answers are bridged to them
//! over RTP. It shows live progress and reports from independent sources: the store's end
//! state (nothing lost, nothing transient), the customers' record of INVITE dialogs (nothing
//! dialed twice), the agents' sessions (occupancy) and the phones' RTP counters.
//! `--agentless` runs the agentless notification campaign instead.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::peer::{self, Profile};
use outdial_core::campaign::CampaignSpec;
use outdial_core::clock::{Clock, SystemClock};
use outdial_core::domain::JobId;
use outdial_node::actors::director::JobAction;
use outdial_node::config::{Mpp, NodeConfig};
use outdial_node::storage::JobState;
use outdial_node::{Node, NodeHandle};

/// The customer mix the demo dials into (also shipped as configs/peer-mixed.toml).
pub const MIXED_PROFILE: &str = include_str!("../../../configs/peer-mixed.toml");

/// The agentless demo's campaign: short retries so the run ends in about a minute.
pub const DEMO_CAMPAIGN: &str = include_str!("../../../configs/campaign-demo.toml");

/// The default demo's campaign: predictive, for the simulated agents.
pub const DEMO_PREDICTIVE_CAMPAIGN: &str =
    include_str!("../../../configs/campaign-demo-predictive.toml");

/// Customers who talk (RTP) and hang up, for campaigns with agents.
pub const CUSTOMERS_PROFILE: &str = include_str!("../../../configs/peer-customers.toml");

/// Agents' phones: answer the nailing call, send and count RTP.
pub const PHONES_PROFILE: &str = include_str!("../../../configs/peer-agent-phones.toml");

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
        }
    }
}

/// The agents' side of the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AgentsReport {
    pub agents: u32,
    /// Talk and wrap-up over logged-in time, all agents together, from the node's sessions.
    pub occupancy: f64,
    /// Screen pops the desktops received.
    pub calls: u64,
    pub dispositions: u64,
    /// Error events the desktops received (should be 0).
    pub desktop_errors: u64,
    /// RTP packets the agents' phones received: customer audio through the node's bridges.
    pub rtp_packets_to_agents: u64,
    /// From the customer's answer to the bridge to an agent (stored timestamps, ms).
    pub answer_to_agent_ms_p50: u64,
    pub answer_to_agent_ms_p99: u64,
    pub answer_to_agent_ms_max: u64,
    /// Nuisance calls whose customer hung up while waiting for an agent, and those whose
    /// connect window closed with no agent free (they heard the message).
    pub nuisance_customer_left: u64,
    pub nuisance_window_closed: u64,
}

/// The final report; `--json` prints it as one object.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    pub contacts: u64,
    /// Contacts whose outcome is final.
    pub r#final: u64,
    /// Contacts scheduled for another attempt (the finish criteria stopped before it).
    pub pending_retry: u64,
    /// Contacts neither final nor schedulable (stuck in flight): must be 0.
    pub lost: u64,
    /// Attempts the peer saw as more than one INVITE dialog, plus dialogs no attempt
    /// accounts for: must be 0.
    pub double_dialed: u64,
    pub attempts: u64,
    pub by_code: BTreeMap<String, u64>,
    /// Attempts per second over the run.
    pub cps: f64,
    /// Nuisance calls as a share of live-answered calls, in percent.
    pub nuisance_rate: f64,
    /// The campaign's cap, in percent (agents only; docs/design.md §6 invariant 5).
    pub nuisance_cap_pct: Option<f64>,
    pub invite_dialogs_seen_by_peer: u64,
    pub seconds: f64,
    pub data_dir: String,
    /// Present when agents took part.
    pub agents: Option<AgentsReport>,
    /// Present when faults were injected (`--faults`).
    pub takeovers: Option<TakeoverReport>,
}

/// What the injected faults did (`--faults`): each zone fault is a takeover, timed from the
/// fault to dialing resumed, and each agent's passage through it checked against Table 9
/// from its desktop's side.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TakeoverReport {
    pub faults_injected: u32,
    pub takeovers: u64,
    pub took_ms_min: f64,
    pub took_ms_p50: f64,
    pub took_ms_max: f64,
    /// The last takeover's steps, ms from the fault.
    pub last_steps_ms: Vec<(outdial_core::agent::takeover::Step, f64)>,
    pub nuisance_released: u64,
    pub desktop_errors: u64,
    /// Each director and campaign-manager restart, fault to back in role, ms.
    pub director_restart_ms: Vec<f64>,
    pub campaign_manager_restart_ms: Vec<f64>,
    /// Agents' passages through a takeover, seen from their desktops.
    pub agent_takeovers: u64,
    /// Passages whose state after the takeover is not what Table 9 gives: must be 0.
    pub table9_violations: u64,
    /// HA time accounted to the agents, all together, seconds.
    pub ha_seconds: f64,
}

/// A `Write` the peer's record goes into, read back at the end.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
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
    let contacts = opts.contacts;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let dir = match data_dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!(
            "outdial-demo-{}-{}",
            std::process::id(),
            clock.unix_ms()
        )),
    };
    if dir.exists() {
        return Err(format!(
            "{} exists; the demo wants a fresh data directory",
            dir.display()
        )
        .into());
    }
    std::fs::create_dir_all(&dir)?;

    // The customer network.
    let record = SharedBuf::default();
    let with_agents = opts.agents > 0;
    let profile = if with_agents {
        Profile::parse(CUSTOMERS_PROFILE, "configs/peer-customers.toml")?
    } else {
        Profile::parse(MIXED_PROFILE, "configs/peer-mixed.toml")?
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<SocketAddr>();
    let rec_writer: Box<dyn std::io::Write + Send> = Box::new(record.clone());
    let peer_task = tokio::task::spawn_local(peer::run(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        profile,
        Some(rec_writer),
        async move {
            let _ = stop_rx.await;
        },
        move |a| {
            let _ = ready_tx.send(a);
        },
    ));
    let peer_addr = ready_rx
        .await
        .map_err(|_| "the embedded peer did not start")?;

    // The agents' phones.
    let (phones_stop_tx, phones_stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (phones_ready_tx, phones_ready_rx) = tokio::sync::oneshot::channel::<SocketAddr>();
    let phones_task = if with_agents {
        let profile = Profile::parse(PHONES_PROFILE, "configs/peer-agent-phones.toml")?;
        Some(tokio::task::spawn_local(peer::run(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            profile,
            None,
            async move {
                let _ = phones_stop_rx.await;
            },
            move |a| {
                let _ = phones_ready_tx.send(a);
            },
        )))
    } else {
        None
    };
    let phones_addr = match phones_task {
        Some(_) => Some(
            phones_ready_rx
                .await
                .map_err(|_| "the embedded agent phones did not start")?,
        ),
        None => None,
    };
    let credentials: Vec<(String, String)> = (0..opts.agents)
        .map(|i| {
            (
                format!("demo-agent-{i}"),
                format!("demo-{i}-{}", clock.unix_ms()),
            )
        })
        .collect();

    let cfg = NodeConfig {
        cluster: None,
        name: "demo".into(),
        data_dir: dir.join("db"),
        zones: vec!["default".into()],
        log_phone_numbers: false,
        dnc_file: None,
        sip_bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        t1: Duration::from_millis(500),
        socket_buffer_bytes: 4 << 20,
        rtp_ip: [127, 0, 0, 1].into(),
        rtp_ports: (30_000, 39_998),
        http_bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        mpps: vec![Mpp {
            name: "peer".into(),
            address: peer_addr,
            capacity: 2000,
            options_interval: Duration::from_secs(2),
            down_after_missed: 3,
        }],
        max_batch_writes: 4096,
        desktop: outdial_node::config::DesktopSettings::default(),
        agents: credentials
            .iter()
            .map(|(id, pw)| outdial_core::desktop::AgentCredential {
                agent: outdial_core::agent::AgentId(id.clone()),
                password_sha256: outdial_node::sha256_hex(pw),
                zones: Vec::new(),
            })
            .collect(),
        chaos: (opts.faults > 0).then_some(outdial_node::config::ChaosSettings::default()),
    };
    let node = Node::start(&cfg, Arc::clone(&clock))?;
    let (http, server) = outdial_node::http::api::serve(node.clone(), cfg.http_bind)?;
    let server_handle = server.handle();
    actix::spawn(server);
    if progress {
        eprintln!("outdial demo: node {} (SIP {}, API http://{http}), customers at {peer_addr}, data in {}", cfg.name, node.sip_addr(), dir.display());
    }

    // The agents log in through the desktop WebSocket, like any desktop, and wait nailed
    // and ready before the campaign starts.
    let (agents_stop_tx, agents_stop_rx) = tokio::sync::watch::channel(false);
    let mut agent_tasks = Vec::new();
    if let Some(phones) = phones_addr {
        let url = crate::desktop_client::desktop_url(http);
        for (i, (id, pw)) in credentials.iter().enumerate() {
            let mut c = crate::desktop_client::SimulatedAgentConfig::new(
                &url,
                id,
                pw,
                "default",
                &format!("sip:{id}@{phones}"),
            );
            c.talk = crate::desktop_client::TalkTime::Exponential {
                mean: opts.talk_mean,
                seed: 7 + i as u64,
            };
            c.wrap = opts.wrap;
            let agent = crate::desktop_client::SimulatedAgent::new(c);
            agent_tasks.push(tokio::task::spawn_local(agent.run(agents_stop_rx.clone())));
        }
        wait_for_agents(&node, opts.agents as usize, progress).await?;
    }

    let csv = dir.join("contacts.csv");
    write_contacts(&csv, contacts)?;
    let spec = if with_agents {
        let mut spec = CampaignSpec::from_toml(DEMO_PREDICTIVE_CAMPAIGN)?;
        spec.mode = opts.mode.to_owned();
        spec
    } else {
        CampaignSpec::from_toml(DEMO_CAMPAIGN)?
    };
    let cap_pct = spec
        .nuisance
        .as_ref()
        .and_then(|n| n.cap_pct)
        .unwrap_or(3.0);
    let connect_window_ms = spec.connect_window_ms.unwrap_or(2000);
    let (_, job) = node.create_campaign(spec).await?;
    let file = std::fs::File::open(&csv)?;
    let imported = node.import_csv(job, file, progress).await?;
    if progress {
        eprintln!(
            "imported {} contacts ({} rejected)",
            imported.imported, imported.rejected
        );
    }
    let started = clock.now();
    node.control(job, JobAction::Start).await?;
    let injector = (opts.faults > 0).then(|| {
        let (node, n, names) = (
            node.clone(),
            opts.faults,
            credentials
                .iter()
                .map(|(id, _)| id.clone())
                .collect::<Vec<_>>(),
        );
        tokio::task::spawn_local(async move {
            let mut injected = 0;
            let (mut director_ms, mut manager_ms) = (Vec::new(), Vec::new());
            for i in 0..n {
                tokio::time::sleep(FAULT_EVERY).await;
                let over = node
                    .job_report(job)
                    .await
                    .map(|r| matches!(r.job.state, JobState::Finished | JobState::Stopped));
                if over.unwrap_or(true) {
                    break;
                }
                use outdial_node::faults::Fault;
                // Zone faults every other time; agents, the director and the campaign
                // manager take turns in between.
                let fault = match (i % 2, (i / 2) % 3) {
                    (0, _) => Fault::PanicZone {
                        zone: "default".into(),
                    },
                    (_, 0) => match names.get(i as usize % names.len().max(1)) {
                        Some(agent) => Fault::PanicAgent {
                            agent: agent.clone(),
                        },
                        None => Fault::PanicDirector,
                    },
                    (_, 1) => Fault::PanicDirector,
                    _ => Fault::PanicCampaignManager,
                };
                let control = match fault {
                    Fault::PanicDirector => Some("director"),
                    Fault::PanicCampaignManager => Some("campaign-manager"),
                    _ => None,
                };
                match node.inject(fault) {
                    Ok(_) => injected += 1,
                    // The agent may be between sessions; the next fault goes on.
                    Err(e) => tracing::warn!(error = %e, "fault not injected"),
                }
                if let Some(c) = control {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    let ms = node
                        .status()
                        .components
                        .iter()
                        .find(|x| x.component == c)
                        .and_then(|x| x.last_restart_ms);
                    if let Some(ms) = ms {
                        if c == "director" {
                            director_ms.push(ms);
                        } else {
                            manager_ms.push(ms);
                        }
                    }
                }
            }
            (injected, director_ms, manager_ms)
        })
    });
    wait_for_end(&node, job, progress).await?;
    let seconds = clock.now().duration_since(started).as_secs_f64();

    let (faults_injected, director_ms, manager_ms) = match injector {
        // The run may end before every fault is injected: the ones made are counted.
        Some(t) => t.await.unwrap_or((0, Vec::new(), Vec::new())),
        None => (0, Vec::new(), Vec::new()),
    };
    // Occupancy from the node's own sessions, before the agents leave.
    let views = node.agents().await;
    let ha_seconds: f64 = views.iter().map(|v| v.times.ha.as_secs_f64()).sum();
    let _ = agents_stop_tx.send(true);
    let mut agents_report = AgentsReport {
        agents: opts.agents,
        ..AgentsReport::default()
    };
    let (busy, logged): (f64, f64) = views.iter().fold((0.0, 0.0), |acc, v| {
        (
            acc.0 + (v.times.talk + v.times.wrap).as_secs_f64(),
            acc.1 + v.times.logged_in.as_secs_f64(),
        )
    });
    agents_report.occupancy = if logged > 0.0 { busy / logged } else { 0.0 };
    let mut seen_takeovers = Vec::new();
    for t in agent_tasks {
        if let Ok(r) = t.await {
            agents_report.calls += r.calls;
            agents_report.dispositions += r.dispositions;
            agents_report.desktop_errors += r.errors;
            seen_takeovers.extend(r.takeovers);
        }
    }
    let takeovers = (opts.faults > 0).then(|| {
        // The node's own figures for the zone, over the takeovers it keeps.
        let status = node.status();
        let zone = status.zones.first();
        let took =
            |f: fn(&outdial_node::ZoneTakeovers) -> Option<f64>| zone.and_then(f).unwrap_or(0.0);
        TakeoverReport {
            faults_injected,
            takeovers: zone.map_or(0, |z| z.takeovers),
            took_ms_min: took(|z| z.took_min_ms),
            took_ms_p50: took(|z| z.took_p50_ms),
            took_ms_max: took(|z| z.took_max_ms),
            last_steps_ms: zone
                .and_then(|z| z.last.as_ref())
                .map(|t| t.steps.clone())
                .unwrap_or_default(),
            nuisance_released: zone.map_or(0, |z| z.nuisance_released),
            desktop_errors: zone.map_or(0, |z| z.desktop_errors),
            director_restart_ms: director_ms,
            campaign_manager_restart_ms: manager_ms,
            agent_takeovers: seen_takeovers.len() as u64,
            table9_violations: seen_takeovers
                .iter()
                .filter(|t| !t.follows_table9())
                .count() as u64,
            ha_seconds,
        }
    });
    let _ = phones_stop_tx.send(());
    if let Some(t) = phones_task {
        if let Ok(Ok(r)) = t.await {
            agents_report.rtp_packets_to_agents = r.media.map(|m| m.packets_received).unwrap_or(0);
        }
    }

    let _ = stop_tx.send(());
    let _ = peer_task.await;
    server_handle.stop(true).await;
    node.begin_shutdown();
    node.flush()?;
    let text = String::from_utf8(record.0.lock().map_err(|_| "poisoned")?.clone())?;
    let mut report = build_report(&node, job, &text, seconds, &dir)?;
    if with_agents {
        // One pass over the attempts: answer-to-agent times, and why nuisance calls were.
        use outdial_core::domain::{AttemptState, CompletionCode};
        let mut waits = crate::stats::Samples::default();
        for a in node.store().attempts(job)? {
            let at = |s: AttemptState| a.history.iter().find(|(_, x)| *x == s).map(|(t, _)| *t);
            let Some(answered) = at(AttemptState::Answered) else {
                continue;
            };
            if let Some(connected) = at(AttemptState::Connected) {
                waits.record(Duration::from_millis(connected.saturating_sub(answered)));
            }
            let nuisance = AttemptState::Completed(CompletionCode::Nuisance);
            if a.state == nuisance {
                let waited = at(nuisance).map_or(0, |end| end.saturating_sub(answered));
                if waited < connect_window_ms {
                    agents_report.nuisance_customer_left += 1;
                } else {
                    agents_report.nuisance_window_closed += 1;
                }
            }
        }
        let p = waits.percentiles();
        agents_report.answer_to_agent_ms_p50 = p.p50 as u64;
        agents_report.answer_to_agent_ms_p99 = p.p99 as u64;
        agents_report.answer_to_agent_ms_max = p.max as u64;
        report.agents = Some(agents_report);
        report.nuisance_cap_pct = Some(cap_pct);
    }
    report.takeovers = takeovers;
    Ok(report)
}

/// How often `--faults` injects one.
const FAULT_EVERY: Duration = Duration::from_secs(2);

/// Waits (bounded) until `n` agents are nailed and ready.
async fn wait_for_agents(
    node: &NodeHandle,
    n: usize,
    progress: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    for _ in 0..200 {
        let views = node.agents().await;
        let ready = views
            .iter()
            .filter(|v| v.ready && v.nail == outdial_core::agent::NailState::Nailed)
            .count();
        if progress {
            eprint!("\ragents nailed and ready: {ready}/{n}   ");
            let _ = std::io::stderr().flush();
        }
        if ready >= n {
            if progress {
                eprintln!();
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("the demo's {n} agents were not all nailed and ready within 20 s").into())
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

fn build_report(
    node: &NodeHandle,
    job: JobId,
    peer_record: &str,
    seconds: f64,
    dir: &Path,
) -> Result<DemoReport, Box<dyn std::error::Error>> {
    let store = node.store();
    let counts = store.contact_counts(job)?;
    let attempts = store.attempts(job)?;
    let mut by_code = BTreeMap::new();
    let mut live = 0u64;
    let mut nuisance = 0u64;
    for a in &attempts {
        if let outdial_core::domain::AttemptState::Completed(c) = a.state {
            *by_code.entry(c.name().to_owned()).or_insert(0u64) += 1;
            if matches!(
                c,
                outdial_core::domain::CompletionCode::AnsweredHuman
                    | outdial_core::domain::CompletionCode::Nuisance
            ) {
                live += 1;
            }
            if c == outdial_core::domain::CompletionCode::Nuisance {
                nuisance += 1;
            }
        }
    }
    // The store's end state: every contact final or Ready (scheduled). Anything else —
    // still in flight after the job ended, or missing from the counts — is lost.
    let lost = counts.total.saturating_sub(counts.final_ + counts.ready);

    // The peer's record: one line per INVITE dialog, Call-ID first. Call-IDs derive from
    // attempt ids, so a repeated Call-ID is an attempt dialed twice, and a Call-ID no attempt
    // accounts for is a dial the store does not know.
    let known: HashSet<String> = attempts
        .iter()
        .map(|a| sip::ids::dialog_ids("demo", a.id.0, "127.0.0.1").call_id)
        .collect();
    let mut dialogs: HashMap<&str, u64> = HashMap::new();
    let mut total_dialogs = 0u64;
    for line in peer_record.lines() {
        if let Some(cid) = line.split('\t').next() {
            *dialogs.entry(cid).or_default() += 1;
            total_dialogs += 1;
        }
    }
    let repeated: u64 = dialogs.values().map(|n| n.saturating_sub(1)).sum();
    let unknown = dialogs.keys().filter(|c| !known.contains(**c)).count() as u64;
    Ok(DemoReport {
        contacts: counts.total,
        r#final: counts.final_,
        pending_retry: counts.ready,
        lost,
        double_dialed: repeated + unknown,
        attempts: attempts.len() as u64,
        by_code,
        cps: if seconds > 0.0 {
            attempts.len() as f64 / seconds
        } else {
            0.0
        },
        nuisance_rate: if live == 0 {
            0.0
        } else {
            nuisance as f64 * 100.0 / live as f64
        },
        invite_dialogs_seen_by_peer: total_dialogs,
        seconds,
        data_dir: dir.display().to_string(),
        agents: None,
        takeovers: None,
        nuisance_cap_pct: None,
    })
}

impl DemoReport {
    pub fn render(&self) -> String {
        let mut s = format!(
            "contacts {}  final {}  pending retry {}  lost {}  double-dialed {}\nattempts {}  ({:.1} per second over {:.1} s)  nuisance rate {:.2} %  INVITE dialogs seen by the peer {}\n",
            self.contacts, self.r#final, self.pending_retry, self.lost, self.double_dialed, self.attempts, self.cps, self.seconds, self.nuisance_rate, self.invite_dialogs_seen_by_peer
        );
        if let Some(cap) = self.nuisance_cap_pct {
            let verdict = if self.nuisance_rate <= cap {
                "held"
            } else {
                "EXCEEDED"
            };
            s.push_str(&format!(
                "nuisance cap {cap:.2} % of live answers: {verdict}\n"
            ));
        }
        for (code, n) in &self.by_code {
            s.push_str(&format!("  {code:<26} {n}\n"));
        }
        if let Some(a) = &self.agents {
            s.push_str(&format!(
                "agents {}  occupancy {:.1} %  calls with agents {}  dispositions {}  desktop errors {}  RTP packets bridged to agents {}\nanswer to agent: p50 {} ms  p99 {} ms  max {} ms\n",
                a.agents, a.occupancy * 100.0, a.calls, a.dispositions, a.desktop_errors, a.rtp_packets_to_agents,
                a.answer_to_agent_ms_p50, a.answer_to_agent_ms_p99, a.answer_to_agent_ms_max
            ));
        }
        if let Some(t) = &self.takeovers {
            s.push_str(&format!(
                "faults injected {}  takeovers {}  fault to dialing resumed: min {:.1} ms  p50 {:.1} ms  max {:.1} ms\nlive answers released as nuisance by takeovers {}  desktop errors {}  HA time {:.2} s\nagents through a takeover {}  Table 9 violations seen by the desktops {}\n",
                t.faults_injected, t.takeovers, t.took_ms_min, t.took_ms_p50, t.took_ms_max,
                t.nuisance_released, t.desktop_errors, t.ha_seconds, t.agent_takeovers, t.table9_violations
            ));
            let worst = |v: &[f64]| v.iter().copied().fold(0.0f64, f64::max);
            if !t.director_restart_ms.is_empty() || !t.campaign_manager_restart_ms.is_empty() {
                s.push_str(&format!(
                    "director restarts {} (worst {:.3} ms)  campaign manager restarts {} (worst {:.3} ms)\n",
                    t.director_restart_ms.len(),
                    worst(&t.director_restart_ms),
                    t.campaign_manager_restart_ms.len(),
                    worst(&t.campaign_manager_restart_ms)
                ));
            }
            if !t.last_steps_ms.is_empty() {
                let steps: Vec<String> = t
                    .last_steps_ms
                    .iter()
                    .map(|(step, ms)| format!("{step:?} {ms:.1}"))
                    .collect();
                s.push_str(&format!(
                    "last takeover (ms from the fault): {}\n",
                    steps.join(", ")
                ));
            }
        }
        s.push_str(&format!("data: {}\n", self.data_dir));
        s
    }
}
