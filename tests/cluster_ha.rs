//! The HA deployments of docs/design.md §5.1 as real processes: nodes of a cluster on one
//! PostgreSQL (started by the test, throwaway data dir, loopback port), SIPp as the customer
//! network and as the agents' phones, simulated desktops that know every node's address. The
//! test kills (SIGKILL) the node(s) each deployment's scenario fails and asserts:
//! - the status table after the failover is the "after" table for that deployment;
//! - dialing resumed in the failed zones (and never stopped in the others);
//! - the agents logged in again on the new master, only once it reported itself in service;
//! - docs/design.md §6: every contact final, none left in flight; every INVITE SIPp saw belongs to
//!   a recorded attempt, sent once; no contact dialed twice at once; one master per zone per
//!   epoch, the newer epoch's node dialing only after the older one stopped;
//! - rejoin: a recovered node stays DORMANT for its zone until "save and apply" (which logs
//!   the zone's agents out and moves it), and its director takes the role back;
//! - a graceful stop hands a zone over at once (before its lease could have run out).

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use outdial_tools::desktop_client::failover::{run_with_failover, Session};
use outdial_tools::desktop_client::{SimulatedAgentConfig, TalkTime};
use outdial_tools::status::Reach;
use serde_json::{json, Value};
use support::cluster::*;
use support::node::{
    check_histories, check_no_concurrent_dials, code_counts, contacts_csv, pause, unix_ms_now,
    AttemptView,
};
use support::pg::PgServer;
use support::*;

#[path = "cluster_ha/checks.rs"]
mod checks;
#[path = "cluster_ha/partition.rs"]
mod partition;
use checks::*;

/// Lease settings more tolerant than the shipped ones (configs/ha-*.toml: 2000/400/100/600):
/// a node starved of CPU on a loaded test machine must not look dead. The times with the
/// shipped settings are measured by bench/failover.py (bench/README.md), not here.
const TEST_CLUSTER: &str = "lease_ttl_ms = 3000\nrenew_every_ms = 500\nheartbeat_every_ms = 100\npeer_dead_after_ms = 1500\n";
/// Their lease TTL: a graceful handover must not wait for it.
const LEASE_TTL_MS: u64 = 3000;
/// The longest a failover may take here before it counts as not happening at all.
const FAILOVER_LIMIT_MS: u64 = 10_000;

/// Codes an attempt may end with although SIPp never saw its INVITE.
const NEVER_SENT_CODES: [&str; 3] = [
    "recovered-after-failover",
    "no-media-resource",
    "network-failure",
];

const AGENTS_PER_ZONE: usize = 3;

/// One cluster at a time: each test runs a database, SIPp and up to four nodes, and two
/// cores shared by five such plants would starve nodes into false failovers.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
const CONTACTS: usize = 60;

/// What one test runs against: the database, the customer network and the phones.
struct Plant {
    pg: PgServer,
    customers: Option<Proc>,
    customers_log: std::path::PathBuf,
    customers_addr: SocketAddr,
    phones_port: u16,
    _phones: Proc,
    dir: tempfile::TempDir,
}

impl Plant {
    fn start() -> (std::sync::MutexGuard<'static, ()>, Plant) {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let pg = PgServer::start().unwrap_or_else(|e| panic!("PostgreSQL: {e}"));
        let dir = tempfile::tempdir().expect("temp dir");
        let customers_port = free_udp_port();
        let customers_log = dir.path().join("customers-messages.log");
        let log_arg = customers_log.to_str().expect("utf-8 path").to_owned();
        let customers = sipp_uas(
            None,
            customers_port,
            &["-aa", "-trace_msg", "-message_file", &log_arg],
        );
        let phones_port = free_udp_port();
        let phones = sipp_uas(None, phones_port, &[]);
        let plant = Plant {
            pg,
            customers: Some(customers),
            customers_log,
            customers_addr: format!("127.0.0.1:{customers_port}").parse().expect("addr"),
            phones_port,
            _phones: phones,
            dir,
        };
        (turn, plant)
    }

    /// The cluster file of a deployment (`nodes`: each node and the zones it masters at the
    /// first start), every node on this plant's database, with the shipped lease settings.
    fn cluster(&self, nodes: &[(&str, &[&str])]) -> Cluster {
        self.cluster_with(nodes, |_| self.pg.url())
    }

    fn cluster_with(
        &self,
        nodes: &[(&str, &[&str])],
        database_of: impl Fn(&str) -> String,
    ) -> Cluster {
        let mut zones: Vec<&str> = Vec::new();
        for z in nodes.iter().flat_map(|(_, zs)| zs.iter()) {
            if !zones.contains(z) {
                zones.push(z);
            }
        }
        let extra = self.extra(&zones);
        Cluster::write(
            self.dir.path(),
            &Deployment {
                nodes,
                extra: &extra,
                cluster_keys: TEST_CLUSTER,
            },
            database_of,
        )
    }

    /// The cluster file's `[[mpp]]`, `[desktop]` and `[[agent]]`s (agent `zN-aK`, password
    /// `zone-agent-password`, one argon2id hash for all) for `zones`.
    fn extra(&self, zones: &[&str]) -> String {
        let hash = outdial_node::auth::PasswordHash::new("zone-agent-password")
            .expect("hash the agents' password");
        let hash = hash.as_str();
        let mut s = format!(
            "[[mpp]]\nname = \"customers\"\naddress = \"{}\"\ncapacity = 1000\noptions_interval_ms = 1000\n\n\
             [desktop]\nheartbeat_ms = 500\nmissed_heartbeats = 4\nwrapup_timeout_ms = 5000\n",
            self.customers_addr
        );
        for z in zones {
            for k in 0..AGENTS_PER_ZONE {
                s.push_str(&format!(
                    "\n[[agent]]\nid = \"{z}-a{k}\"\npassword_argon2 = \"{hash}\"\nzones = [\"{z}\"]\n"
                ));
            }
        }
        s
    }
}

/// A viewer token made through the first running node: what the desktops read the nodes'
/// status with to find their zone's master.
fn viewer(c: &Cluster) -> Reach {
    let node = c
        .nodes
        .iter()
        .find(|n| n.running())
        .expect("a running node to make a viewer token");
    let (status, v) = node.post_json("/v1/tokens", &json!({"role": "viewer", "name": "desktops"}));
    assert_eq!(status, 201, "viewer token: {v}");
    Reach {
        token: v["token"].as_str().map(str::to_owned),
        ca: None,
    }
}

/// The simulated desktops of `zones`, each given every node's address, on their own thread.
struct Desktops {
    stop: tokio::sync::watch::Sender<bool>,
    thread: std::thread::JoinHandle<Vec<(String, Vec<Session>)>>,
}

impl Desktops {
    /// `reach` reads the nodes' status for smart failover (a viewer token).
    fn start(apis: Vec<String>, zones: &[&str], phones_port: u16, reach: Reach) -> Desktops {
        let (stop, rx) = tokio::sync::watch::channel(false);
        let zones: Vec<String> = zones.iter().map(|z| (*z).to_owned()).collect();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the desktops");
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, async move {
                let mut tasks = Vec::new();
                for z in &zones {
                    for k in 0..AGENTS_PER_ZONE {
                        let agent = format!("{z}-a{k}");
                        let mut c = SimulatedAgentConfig::new(
                            "",
                            &agent,
                            "zone-agent-password",
                            z,
                            &format!("sip:{agent}@127.0.0.1:{phones_port}"),
                        );
                        c.talk = TalkTime::Fixed(Duration::from_millis(300));
                        c.wrap = Duration::from_millis(100);
                        c.reply_timeout = Duration::from_secs(3);
                        let (apis, stop, reach) = (apis.clone(), rx.clone(), reach.clone());
                        tasks.push(tokio::task::spawn_local(async move {
                            (agent, run_with_failover(c, apis, reach, stop).await)
                        }));
                    }
                }
                let mut out = Vec::new();
                for t in tasks {
                    out.push(t.await.expect("a desktop task panicked"));
                }
                out
            })
        });
        Desktops { stop, thread }
    }

    fn finish(self) -> Vec<(String, Vec<Session>)> {
        let _ = self.stop.send(true);
        self.thread.join().expect("the desktops' thread panicked")
    }
}

/// Waits (up to 20 s) until every agent of `zone` is logged in and nailed on `node`.
fn wait_agents_on(c: &Cluster, node: &str, zone: &str) {
    let (n, limit) = (AGENTS_PER_ZONE, Duration::from_secs(20));
    let deadline = wall_now() + limit;
    loop {
        let (status, body) = c.node(node).get("/v1/agents");
        let ready = if status == 200 {
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            v.as_array().map_or(0, |a| {
                a.iter()
                    .filter(|x| x["zone"] == zone && x["nail"] == "nailed")
                    .count()
            })
        } else {
            0
        };
        if ready >= n {
            return;
        }
        assert!(
            wall_now() < deadline,
            "{node}: only {ready} of {n} agents of {zone} logged in within {limit:?}: {body}\n{}",
            c.node(node).stderr_tail()
        );
        pause(Duration::from_millis(50));
    }
}

fn create_job(node: &ClusterNode, zone: &str) -> u64 {
    let (status, v) = node.post_json(
        "/v1/campaigns",
        &json!({
            "name": format!("ha-{zone}"),
            "zone": zone,
            "mode": "progressive",
            // The tests dial their own test numbers at any hour: a load test.
            "load_test": true,
            "test_ranges": ["+1212555"],
            "lines_per_agent": 1.5,
            "ring_timeout_ms": 15000,
            "connect_window_ms": 2000,
            "calling_hours": { "start": "00:00", "end": "00:00", "default_tz": "UTC" },
            "retry": {
                "nuisance": { "delay_s": 1, "max_attempts": 4 },
                "desktop-error": { "delay_s": 1, "max_attempts": 4 },
                "network-failure": { "delay_s": 1, "max_attempts": 4 },
                "no-media-resource": { "delay_s": 1, "max_attempts": 4 },
                "recovered-after-failover": { "delay_s": 1, "max_attempts": 4 },
                "timeout": { "delay_s": 1, "max_attempts": 4 },
            },
        }),
    );
    assert_eq!(status, 201, "create campaign in {zone}: {v}");
    let job = v["job"]
        .as_u64()
        .unwrap_or_else(|| panic!("no job id in {v}"));
    let (status, body) = support::node::http_auth(
        node.api,
        &node.token(),
        "POST",
        &format!("/v1/jobs/{job}/contacts"),
        Some("text/csv"),
        contacts_csv(CONTACTS).as_bytes(),
    );
    assert!(status == 200 || status == 201, "import: {status} {body}");
    let (status, body) = support::node::http_auth(
        node.api,
        &node.token(),
        "POST",
        &format!("/v1/jobs/{job}/start"),
        None,
        b"",
    );
    assert_eq!(status, 200, "start job {job}: {body}");
    job
}

fn attempts_of(node: &ClusterNode, job: u64) -> Vec<AttemptView> {
    let v = node.get_json(&format!("/v1/jobs/{job}/attempts"));
    v.as_array()
        .unwrap_or_else(|| panic!("attempts are not a list: {v}"))
        .iter()
        .map(AttemptView::from_json)
        .collect()
}

fn attempt_count(node: &ClusterNode, job: u64) -> usize {
    attempts_of(node, job).len()
}

/// Waits until `job` has at least `n` attempts (read through `node`).
fn wait_attempts(c: &Cluster, node: &str, job: u64, n: usize, limit: Duration) {
    let deadline = wall_now() + limit;
    loop {
        let have = attempt_count(c.node(node), job);
        if have >= n {
            return;
        }
        assert!(
            wall_now() < deadline,
            "job {job}: {have} of {n} attempts within {limit:?}\n{}",
            c.nodes
                .iter()
                .map(|n| format!("--- {} ---\n{}", n.name, n.stderr_tail()))
                .collect::<Vec<_>>()
                .join("\n")
        );
        pause(Duration::from_millis(50));
    }
}

fn wait_job_over(c: &Cluster, node: &str, job: u64, limit: Duration) {
    let deadline = wall_now() + limit;
    loop {
        let v = c.node(node).get_json(&format!("/v1/jobs/{job}"));
        let state = v["job"]["state"].as_str().unwrap_or_default().to_owned();
        if state == "finished" {
            return;
        }
        assert!(
            wall_now() < deadline,
            "job {job} not over within {limit:?}: {v}\n{}",
            c.nodes
                .iter()
                .map(|n| format!("--- {} ---\n{}", n.name, n.stderr_tail()))
                .collect::<Vec<_>>()
                .join("\n")
        );
        pause(Duration::from_millis(100));
    }
}

/// Waits until `node`'s view of the cluster shows `zone`'s assignment matching `pred`.
fn wait_assignment(c: &Cluster, node: &str, zone: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = wall_now() + Duration::from_secs(5);
    loop {
        let view = c.node(node).get_json("/v1/cluster");
        let a = view["assignments"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["zone"] == zone).cloned())
            .unwrap_or_default();
        if pred(&a) {
            return a;
        }
        assert!(
            wall_now() < deadline,
            "{node}: assignment of {zone} never matched: {view}"
        );
        pause(Duration::from_millis(20));
    }
}

/// The end of a test: the desktops stop (each must have ended on the master of its zone in
/// `homes`, `(zone, node)`), SIPp is stopped so its log is complete, and docs/design.md §6 is
/// checked over `jobs` through `via`. Returns the attempts.
fn finish(
    plant: &mut Plant,
    c: &Cluster,
    desktops: Desktops,
    homes: &[(&str, &str)],
    via: &str,
    jobs: &[u64],
) -> Vec<AttemptView> {
    let sessions = desktops.finish();
    let apis = api_names(c);
    for (zone, node) in homes {
        let of_zone: Vec<&(String, Vec<Session>)> = sessions
            .iter()
            .filter(|(a, _)| a.starts_with(&format!("{zone}-")))
            .collect();
        assert!(!of_zone.is_empty(), "no desktop of {zone}");
        check_desktops(&of_zone, node, &apis);
    }
    if let Some(p) = plant.customers.take() {
        let _ = p.terminate();
    }
    check_invariants(c, via, jobs, &plant.customers_log)
}

fn api_names(c: &Cluster) -> HashMap<String, String> {
    c.nodes
        .iter()
        .map(|n| (n.name.clone(), n.api.to_string()))
        .collect()
}

#[test]
fn two_nodes_one_zone_master_killed_tables_1_and_2_then_rejoin_and_save_and_apply() {
    let started = wall_now();
    let (_turn, mut plant) = Plant::start();
    let mut c = plant.cluster(&[("pom1", &["zone1"]), ("pom2", &[])]);
    c.start("pom1");
    c.start("pom2");
    // Table 1.
    c.wait_table(
        &[
            ("Agent Manager", &["MASTER (zone1)", "DORMANT"]),
            ("Campaign Director", &["MASTER", "DORMANT"]),
            ("Campaign Manager", &["RUNNING", "RUNNING"]),
            ("Rule Engine", &["MASTER", "DORMANT"]),
            ("Load Monitor", &["MASTER", "DORMANT"]),
            ("API", &["RUNNING", "RUNNING"]),
            ("Desktop Service", &["RUNNING", "RUNNING"]),
        ],
        Duration::from_secs(20),
    );
    let desktops = Desktops::start(c.apis(), &["zone1"], plant.phones_port, viewer(&c));
    wait_agents_on(&c, "pom1", "zone1");
    // The job is started through the dormant node: the master picks it up from storage.
    let job = create_job(c.node("pom2"), "zone1");
    wait_attempts(&c, "pom2", job, 25, Duration::from_secs(30));

    let killed_at = unix_ms_now();
    c.kill9("pom1");
    // Table 2.
    c.wait_table(
        &[
            ("Agent Manager", &["STOPPED", "MASTER (zone1)"]),
            ("Campaign Director", &["STOPPED", "MASTER"]),
            ("Campaign Manager", &["STOPPED", "RUNNING"]),
            ("Rule Engine", &["STOPPED", "MASTER"]),
            ("Load Monitor", &["STOPPED", "MASTER"]),
            ("API", &["STOPPED", "RUNNING"]),
            ("Desktop Service", &["STOPPED", "RUNNING"]),
        ],
        Duration::from_secs(10),
    );
    let st = c.wait_node("pom2", "dialing zone1", Duration::from_secs(10), |v| {
        dialing_resumed_at(v, "zone1").is_some()
    });
    let resumed = dialing_resumed_at(&st, "zone1").unwrap_or(0);
    let failover_ms = resumed.saturating_sub(killed_at);
    assert!(
        failover_ms < FAILOVER_LIMIT_MS,
        "ungraceful failover took {failover_ms} ms"
    );
    wait_agents_on(&c, "pom2", "zone1");
    wait_job_over(&c, "pom2", job, Duration::from_secs(120));

    // Rejoin: pom1's director takes its role back; zone 1 stays with pom2.
    c.start("pom1");
    c.wait_table(
        &[
            ("Agent Manager", &["DORMANT", "MASTER (zone1)"]),
            ("Campaign Director", &["MASTER", "DORMANT"]),
        ],
        Duration::from_secs(10),
    );
    // "save" records the choice and moves nothing.
    let (status, v) = c.node("pom2").put_json(
        "/v1/cluster/zones/zone1",
        &json!({"node": "pom1", "apply": false}),
    );
    assert_eq!(status, 202, "save: {v}");
    // Every node sees the recorded choice; zone 1 has not moved.
    let a = wait_assignment(&c, "pom1", "zone1", |a| a["preferred"] == "pom1");
    assert_eq!(a["node"], "pom2", "save alone moved the assignment: {a}");
    let table = c.status_table();
    let am = table
        .iter()
        .find(|r| r[0] == "Agent Manager")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        am[1..],
        ["DORMANT", "MASTER (zone1)"],
        "save alone moved the zone: {a}"
    );
    // "save and apply": pom2 logs zone 1's agents out and hands the zone to pom1.
    let (status, v) = c.node("pom1").put_json(
        "/v1/cluster/zones/zone1",
        &json!({"node": "pom1", "apply": true}),
    );
    assert_eq!(status, 202, "save and apply: {v}");
    c.wait_table(
        &[("Agent Manager", &["MASTER (zone1)", "DORMANT"])],
        Duration::from_secs(10),
    );
    wait_agents_on(&c, "pom1", "zone1");

    // A graceful stop hands the zone over at once.
    let stopped_at = unix_ms_now();
    let exit = c.stop("pom1");
    assert!(
        exit.is_some_and(|e| e.success()),
        "pom1 did not stop cleanly: {exit:?}"
    );
    let st = c.wait_node(
        "pom2",
        "dialing zone1 again",
        Duration::from_secs(10),
        |v| dialing_resumed_at(v, "zone1").is_some_and(|t| t >= stopped_at),
    );
    let handover_ms = dialing_resumed_at(&st, "zone1")
        .unwrap_or(0)
        .saturating_sub(stopped_at);
    // Handed over, not left to run out: the peer took the zone before the lease could expire.
    assert!(
        handover_ms < LEASE_TTL_MS,
        "graceful handover took {handover_ms} ms, as long as waiting for the lease to run out"
    );

    let attempts = finish(
        &mut plant,
        &c,
        desktops,
        &[("zone1", "pom2")],
        "pom2",
        &[job],
    );
    eprintln!(
        "cluster_ha 2 nodes: ungraceful failover {failover_ms} ms, graceful handover {handover_ms} ms; {} attempts, codes {:?}; {:?}",
        attempts.len(),
        code_counts(&attempts),
        started.elapsed()
    );
}

#[test]
fn three_nodes_two_zones_zone2_master_killed_tables_3_and_4() {
    let started = wall_now();
    let (_turn, mut plant) = Plant::start();
    let mut c = plant.cluster(&[("pom1", &["zone1"]), ("pom2", &["zone2"]), ("pom3", &[])]);
    for n in ["pom1", "pom2", "pom3"] {
        c.start(n);
    }
    // Table 3.
    c.wait_table(
        &[
            (
                "Agent Manager",
                &["MASTER (zone1)", "MASTER (zone2)", "DORMANT"],
            ),
            ("Campaign Director", &["MASTER", "DORMANT", "DORMANT"]),
            ("Campaign Manager", &["RUNNING", "RUNNING", "RUNNING"]),
            ("Rule Engine", &["MASTER", "DORMANT", "DORMANT"]),
            ("Load Monitor", &["MASTER", "DORMANT", "DORMANT"]),
        ],
        Duration::from_secs(20),
    );
    let desktops = Desktops::start(c.apis(), &["zone1", "zone2"], plant.phones_port, viewer(&c));
    wait_agents_on(&c, "pom1", "zone1");
    wait_agents_on(&c, "pom2", "zone2");
    // A number put on the do-not-call list through the dormant node is blocked everywhere.
    let (status, v) = c
        .node("pom3")
        .post_json("/v1/dnc", &json!([support::node::phone(0)]));
    assert_eq!(status, 200, "dnc: {v}");
    for n in ["pom1", "pom2", "pom3"] {
        c.wait_node(
            n,
            "applying the shared do-not-call list",
            Duration::from_secs(5),
            |v| v["do_not_call"] == 1,
        );
    }
    let job1 = create_job(c.node("pom1"), "zone1");
    let job2 = create_job(c.node("pom3"), "zone2");
    wait_attempts(&c, "pom1", job2, 20, Duration::from_secs(30));

    let zone1_epoch = zone_status(&c.node("pom1").get_json("/v1/node"), "zone1")
        .and_then(|z| z["epoch"].as_u64());
    let before = attempt_count(c.node("pom1"), job1);
    let killed_at = unix_ms_now();
    c.kill9("pom2");
    // Table 4.
    c.wait_table(
        &[
            (
                "Agent Manager",
                &["MASTER (zone1)", "STOPPED", "MASTER (zone2)"],
            ),
            ("Campaign Director", &["MASTER", "STOPPED", "DORMANT"]),
            ("Campaign Manager", &["RUNNING", "STOPPED", "RUNNING"]),
            ("Rule Engine", &["MASTER", "STOPPED", "DORMANT"]),
            ("Load Monitor", &["MASTER", "STOPPED", "DORMANT"]),
            ("API", &["RUNNING", "STOPPED", "RUNNING"]),
        ],
        Duration::from_secs(10),
    );
    let st = c.wait_node("pom3", "dialing zone2", Duration::from_secs(10), |v| {
        dialing_resumed_at(v, "zone2").is_some()
    });
    let failover_ms = dialing_resumed_at(&st, "zone2")
        .unwrap_or(0)
        .saturating_sub(killed_at);
    assert!(
        failover_ms < FAILOVER_LIMIT_MS,
        "zone 2 failover took {failover_ms} ms"
    );
    // Zone 1 was never touched: same master, same epoch, still dialing.
    let st1 = c.node("pom1").get_json("/v1/node");
    assert_eq!(
        zone_status(&st1, "zone1").and_then(|z| z["epoch"].as_u64()),
        zone1_epoch,
        "zone 1 changed hands: {st1}"
    );
    wait_attempts(&c, "pom1", job1, before + 5, Duration::from_secs(30));
    wait_agents_on(&c, "pom3", "zone2");
    wait_job_over(&c, "pom1", job1, Duration::from_secs(120));
    wait_job_over(&c, "pom3", job2, Duration::from_secs(120));

    // pom2 comes back DORMANT: zone 2 stays with pom3.
    c.start("pom2");
    c.wait_table(
        &[
            (
                "Agent Manager",
                &["MASTER (zone1)", "DORMANT", "MASTER (zone2)"],
            ),
            ("Campaign Director", &["MASTER", "DORMANT", "DORMANT"]),
        ],
        Duration::from_secs(10),
    );

    let attempts = finish(
        &mut plant,
        &c,
        desktops,
        &[("zone1", "pom1"), ("zone2", "pom3")],
        "pom3",
        &[job1, job2],
    );
    for job in [job1, job2] {
        let dialed: BTreeSet<u64> = attempts
            .iter()
            .filter(|a| a.raw["job"] == job)
            .map(|a| a.contact)
            .collect();
        assert_eq!(
            dialed.len(),
            CONTACTS - 1,
            "job {job}: the do-not-call number was dialed, or a contact never was"
        );
    }
    eprintln!(
        "cluster_ha 3 nodes: zone 2 failover {failover_ms} ms; {} attempts, codes {:?}; {:?}",
        attempts.len(),
        code_counts(&attempts),
        started.elapsed()
    );
}

#[test]
fn four_nodes_two_zones_both_masters_killed_tables_5_and_6() {
    let started = wall_now();
    let (_turn, mut plant) = Plant::start();
    let mut c = plant.cluster(&[
        ("pom1", &["zone1"]),
        ("pom2", &["zone2"]),
        ("pom3", &[]),
        ("pom4", &[]),
    ]);
    for n in ["pom1", "pom2", "pom3", "pom4"] {
        c.start(n);
    }
    // Table 5.
    c.wait_table(
        &[
            (
                "Agent Manager",
                &["MASTER (zone1)", "MASTER (zone2)", "DORMANT", "DORMANT"],
            ),
            (
                "Campaign Director",
                &["MASTER", "DORMANT", "DORMANT", "DORMANT"],
            ),
            (
                "Campaign Manager",
                &["RUNNING", "RUNNING", "RUNNING", "RUNNING"],
            ),
            ("Rule Engine", &["MASTER", "DORMANT", "DORMANT", "DORMANT"]),
            ("Load Monitor", &["MASTER", "DORMANT", "DORMANT", "DORMANT"]),
        ],
        Duration::from_secs(20),
    );
    let desktops = Desktops::start(c.apis(), &["zone1", "zone2"], plant.phones_port, viewer(&c));
    wait_agents_on(&c, "pom1", "zone1");
    wait_agents_on(&c, "pom2", "zone2");
    let job1 = create_job(c.node("pom4"), "zone1");
    let job2 = create_job(c.node("pom4"), "zone2");
    wait_attempts(&c, "pom4", job1, 20, Duration::from_secs(30));
    wait_attempts(&c, "pom4", job2, 20, Duration::from_secs(30));

    let killed_at = unix_ms_now();
    c.kill9("pom1");
    c.kill9("pom2");
    // Table 6: the new director (pom3, the first live node) gives the zones to the least
    // busy nodes, zone 1 to itself and zone 2 to pom4.
    c.wait_table(
        &[
            (
                "Agent Manager",
                &["STOPPED", "STOPPED", "MASTER (zone1)", "MASTER (zone2)"],
            ),
            (
                "Campaign Director",
                &["STOPPED", "STOPPED", "MASTER", "DORMANT"],
            ),
            (
                "Campaign Manager",
                &["STOPPED", "STOPPED", "RUNNING", "RUNNING"],
            ),
            ("Rule Engine", &["STOPPED", "STOPPED", "MASTER", "DORMANT"]),
            ("Load Monitor", &["STOPPED", "STOPPED", "MASTER", "DORMANT"]),
            ("API", &["STOPPED", "STOPPED", "RUNNING", "RUNNING"]),
        ],
        Duration::from_secs(10),
    );
    let mut took = Vec::new();
    for (node, zone) in [("pom3", "zone1"), ("pom4", "zone2")] {
        let st = c.wait_node(node, "dialing", Duration::from_secs(10), |v| {
            dialing_resumed_at(v, zone).is_some()
        });
        let ms = dialing_resumed_at(&st, zone)
            .unwrap_or(0)
            .saturating_sub(killed_at);
        assert!(ms < FAILOVER_LIMIT_MS, "{zone} failover took {ms} ms");
        took.push(ms);
    }
    wait_agents_on(&c, "pom3", "zone1");
    wait_agents_on(&c, "pom4", "zone2");
    wait_job_over(&c, "pom3", job1, Duration::from_secs(120));
    wait_job_over(&c, "pom4", job2, Duration::from_secs(120));

    let attempts = finish(
        &mut plant,
        &c,
        desktops,
        &[("zone1", "pom3"), ("zone2", "pom4")],
        "pom3",
        &[job1, job2],
    );
    eprintln!(
        "cluster_ha 4 nodes: failovers {took:?} ms; {} attempts, codes {:?}; {:?}",
        attempts.len(),
        code_counts(&attempts),
        started.elapsed()
    );
}
