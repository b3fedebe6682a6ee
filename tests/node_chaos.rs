//! Chaos with real processes (docs/design.md §5 and §6): a node dials a campaign into SIPp with
//! simulated agents logged in over the desktop WebSocket (their phones are a second SIPp),
//! while faults are injected on a schedule — zone panics and kills, an agent killed and one
//! panicking, a call's actor panicking, the media server answering 503, SIP dropped and
//! stalled, the director, campaign manager and MPP actor panicking — then the node is
//! killed with SIGKILL mid-campaign and started again on the same data, and its zone taken
//! over once more.
//!
//! At the end SIPp's record of every INVITE and the node's attempts must agree: every
//! contact final, no attempt transient, no INVITE dialog the node did not record, none
//! dialed twice for one attempt or twice at once for one contact; and every agent's passage
//! through every takeover, as its desktop saw it, follows Table 9.

mod support;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use outdial_tools::desktop_client::{
    desktop_url, SimulatedAgent, SimulatedAgentConfig, TakeoverSeen, TalkTime,
};
use serde_json::{json, Value};
use support::cluster::sipp_invites;
use support::desktop::agents_toml;
use support::node::*;
use support::*;

const CONTACTS: usize = 150;
const AGENTS: usize = 6;

/// Codes an attempt may end with although no INVITE of it reached SIPp: killed before the
/// INVITE left, no media server, or the injected 503 (answered inside the node).
const NEVER_SENT_CODES: [&str; 3] = [
    "recovered-after-failover",
    "no-media-resource",
    "network-failure",
];

#[test]
fn faults_and_a_sigkill_lose_nothing_and_dial_nothing_twice() {
    let started = wall_now();
    let dir = tempfile::tempdir().expect("temp dir");
    let customers_port = free_udp_port();
    let log = dir.path().join("customers-messages.log");
    let log_arg = log.to_str().expect("utf-8 path").to_owned();
    let customers = sipp_uas(
        None,
        customers_port,
        // -aa: answer the node's OPTIONS probes, so the media server stays up.
        &["-aa", "-trace_msg", "-message_file", &log_arg],
    );
    let phones_port = free_udp_port();
    let _phones = sipp_uas(None, phones_port, &[]);
    let customers_addr: SocketAddr = format!("127.0.0.1:{customers_port}").parse().expect("addr");
    let extra = format!(
        "{}\n[chaos]\nenabled = true\n",
        agents_toml(
            AGENTS,
            "wrapup_timeout_ms = 5000\nheartbeat_ms = 500\nmissed_heartbeats = 4"
        )
    );
    let mut node = Node::start_with(
        dir.path(),
        "node-chaos",
        &[MppConf::new("customers", customers_addr, 1000)],
        &extra,
    );

    let api = Arc::new(Mutex::new(node.api));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let agents = {
        let api = Arc::clone(&api);
        std::thread::spawn(move || run_agents(api, phones_port, stop_rx))
    };
    node.wait_agents(AGENTS, Duration::from_secs(20), |a| {
        a["ready"] == true && a["nail"] == "nailed"
    });

    let (_, job) = node.create_campaign(&json!({
        "name": "chaos",
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
    }));
    let report = node.upload_csv(job, &contacts_csv(CONTACTS));
    assert_eq!(report["imported"], CONTACTS as u64, "{report}");
    node.start_job(job);
    node.wait_job(job, Duration::from_secs(30), "agents on calls", |v| {
        v["stats"]["attempts"].as_u64().unwrap_or(0) >= 15
    });

    // Round one: every kind of fault the node can be given, each waited out.
    let mut takeovers = 0;
    for fault in [
        json!({"kind": "panic-zone", "zone": "default"}),
        json!({"kind": "kill-agent", "agent": "agent-1"}),
        json!({"kind": "panic-call"}),
        json!({"kind": "mpp-503", "mpp": "customers", "ms": 400}),
        json!({"kind": "sip-drop", "ms": 300}),
        json!({"kind": "panic-agent", "agent": "agent-2"}),
        json!({"kind": "kill-zone", "zone": "default"}),
        json!({"kind": "panic-director"}),
        json!({"kind": "panic-campaign-manager"}),
        json!({"kind": "panic-mpp", "mpp": "customers"}),
        json!({"kind": "sip-delay", "ms": 200}),
        json!({"kind": "kill-call"}),
    ] {
        let (status, body) = inject(&node, &fault);
        // An agent between sessions, or no call in flight at that moment, is not found.
        assert!(
            status == 200 || status == 404,
            "{fault}: {status} {body}\n{}",
            node.stderr_tail()
        );
        let kind = fault["kind"].as_str().unwrap_or_default();
        if status == 200
            && matches!(
                kind,
                "panic-zone" | "kill-zone" | "kill-agent" | "panic-agent"
            )
        {
            takeovers += 1;
            wait_takeovers(&node, takeovers);
        }
        // Let the engine work between faults: a few more attempts each time.
        let now = node.job(job)["stats"]["attempts"].as_u64().unwrap_or(0);
        wait_attempts(&node, job, now + 3);
    }
    assert!(
        takeovers >= 3,
        "too few faults reached their actors: {takeovers}"
    );

    // A planned switchover hands the zone over at once, calls up or not (docs/design.md §5.2, planned switchover).
    let (s, body) = node.post("/v1/admin/zones/default/switchover", None, b"");
    assert_eq!(s, 202, "{body}");
    takeovers += 1;
    wait_takeovers(&node, takeovers);
    let last = &node.get_json("/v1/node")["zones"][0]["last"];
    assert_eq!(last["cause"]["kind"], "planned", "{last}");

    // Requests made while the director restarts wait in its mailbox and are carried out
    // (docs/design.md §5.4, director failure): none is lost.
    let (s, body) = inject(&node, &json!({"kind": "panic-director"}));
    assert_eq!(s, 200, "{body}");
    assert_eq!(node.job_action(job, "pause")["state"], "paused");
    assert_eq!(node.job_action(job, "resume")["state"], "running");
    let status = node.get_json("/v1/node");
    assert_roles_restored(&status);

    // Round two: SIGKILL with calls in flight, and a restart on the same data.
    let before = node.wait_job(job, Duration::from_secs(30), "calls in flight", |v| {
        v["stats"]["in_flight"].as_u64().unwrap_or(0) >= 2
    });
    assert_eq!(before["job"]["state"], "running", "{before}");
    node.kill9();
    node.restart();
    if let Ok(mut a) = api.lock() {
        *a = node.api;
    }
    let status = node.get_json("/v1/node");
    assert!(
        status["recovered_attempts"].as_u64().unwrap_or(0) > 0,
        "killed with calls in flight, yet the restart resolved none: {status}"
    );
    node.wait_agents(AGENTS - 1, Duration::from_secs(20), |a| {
        a["ready"] == true && a["nail"] == "nailed"
    });
    // Round three: the restarted node's zone taken over too, and a call lost.
    let (s, body) = inject(&node, &json!({"kind": "panic-zone", "zone": "default"}));
    assert_eq!(s, 200, "{body}");
    wait_takeovers(&node, 1);
    let (s, body) = inject(&node, &json!({"kind": "kill-call"}));
    assert!(s == 200 || s == 404, "{s} {body}");

    let over = node.wait_job_over(job, Duration::from_secs(120));
    assert_eq!(over["job"]["state"], "finished", "{over}");
    let c = &over["contacts"];
    assert_eq!(c["total"], CONTACTS as u64, "no contact lost: {over}");
    assert_eq!(c["final_"], CONTACTS as u64, "every contact final: {over}");
    assert_eq!(c["in_flight"], 0, "{over}");

    // No agent is left on a call that no longer exists.
    let agents_now = node.get_json("/v1/agents");
    for a in agents_now.as_array().into_iter().flatten() {
        let state = a["call_state"].as_str().unwrap_or_default();
        assert!(
            matches!(state, "idle" | "wrapup"),
            "agent {} is {state} after the job is over: {a}",
            a["agent"]
        );
    }
    assert_roles_restored(&node.get_json("/v1/node"));
    check_status_command(&node);

    let _ = stop_tx.send(true);
    let seen = agents.join().expect("the agents' thread panicked");

    // The node's side: every attempt completed once, no contact dialed twice at once.
    let attempts = node.attempts(job);
    // An attempt that found no media server never dialed: its history is its outcome alone.
    let dialed: Vec<AttemptView> = attempts
        .iter()
        .filter(|a| !(a.code.as_deref() == Some("no-media-resource") && a.history.len() == 1))
        .cloned()
        .collect();
    check_histories(&dialed);
    check_no_concurrent_dials(&attempts);
    let codes = code_counts(&attempts);

    // SIPp's side: every INVITE dialog is one recorded attempt, sent once.
    let _ = customers.terminate();
    let invites = sipp_invites(&log);
    assert!(
        !invites.is_empty(),
        "SIPp recorded no INVITE in {}",
        log.display()
    );
    let by_id: HashMap<u64, &AttemptView> = attempts.iter().map(|a| (a.id, a)).collect();
    let mut reached = HashSet::new();
    for (call_id, branches) in &invites {
        let id = attempt_of_call_id(&node, call_id);
        assert_eq!(
            branches.len(),
            1,
            "attempt {id} ({call_id}) was sent as {} INVITE transactions: {branches:?}",
            branches.len()
        );
        assert!(
            by_id.contains_key(&id),
            "SIPp saw {call_id} but the node recorded no attempt {id}"
        );
        assert!(
            reached.insert(id),
            "attempt {id} was dialed under two Call-IDs (the second {call_id})"
        );
    }
    for a in &attempts {
        if !reached.contains(&a.id) {
            let code = a.code.as_deref().unwrap_or_default();
            assert!(
                NEVER_SENT_CODES.contains(&code),
                "attempt {} never reached SIPp yet ended {code}: {}",
                a.id,
                a.raw
            );
        }
    }

    // The agents' side: Table 9 at every takeover each lived through.
    let passages: Vec<&TakeoverSeen> = seen.iter().flat_map(|(_, t)| t).collect();
    assert!(
        passages.len() >= AGENTS,
        "the desktops saw too few takeovers: {}",
        passages.len()
    );
    for (agent, list) in &seen {
        for t in list {
            assert!(
                t.follows_table9(),
                "{agent}: after a takeover {:?} (before {:?}, call lost {}, nail {:?}) is not Table 9's",
                t.after,
                t.before,
                t.call_lost,
                t.nail
            );
        }
    }
    eprintln!(
        "node_chaos: {} attempts, {} INVITE dialogs, {} agent passages through takeovers; codes {codes:?}; {:?}",
        attempts.len(),
        invites.len(),
        passages.len(),
        started.elapsed()
    );
}

/// `outdial status` against the live node and a silent address: the status table's shape, a
/// column per node, STOPPED for the one that does not answer.
fn check_status_command(node: &Node) {
    let dead = format!("127.0.0.1:{}", free_udp_port());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_outdial"))
        .env("OUTDIAL_TOKEN", &node.token)
        .args([
            "status",
            "--api",
            &format!("http://{}", node.api),
            "--api",
            &dead,
        ])
        .output()
        .expect("run outdial status");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "one node is silent: {text}");
    let row = |label: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("| {label}")))
            .unwrap_or_else(|| panic!("no {label} row in:\n{text}"))
            .to_owned()
    };
    assert!(row("Component").contains("node-chaos"), "{text}");
    let am = row("Agent Manager");
    assert!(
        am.contains("MASTER (default)") && am.contains("STOPPED"),
        "{am}"
    );
    assert!(row("Campaign Director").contains("MASTER"), "{text}");
    assert!(row("Campaign Manager").contains("RUNNING"), "{text}");
    assert!(text.contains("takeover(s)"), "{text}");
    let json = std::process::Command::new(env!("CARGO_BIN_EXE_outdial"))
        .env("OUTDIAL_TOKEN", &node.token)
        .args(["status", "--json", "--api", &node.api.to_string()])
        .output()
        .expect("run outdial status --json");
    assert!(json.status.success());
    let v: Value = serde_json::from_slice(&json.stdout).expect("status --json is JSON");
    assert_eq!(v[0]["status"]["name"], "node-chaos", "{v}");
}

fn inject(node: &Node, fault: &Value) -> (u16, String) {
    node.post(
        "/v1/admin/faults",
        Some("application/json"),
        fault.to_string().as_bytes(),
    )
}

/// Waits (bounded) until the zone has been taken over `n` times and is back in service.
fn wait_takeovers(node: &Node, n: u64) {
    let deadline = wall_now() + Duration::from_secs(10);
    loop {
        let s = node.get_json("/v1/node");
        let z = &s["zones"][0];
        if z["takeovers"].as_u64().unwrap_or(0) >= n && z["in_service"] == true {
            return;
        }
        assert!(
            wall_now() < deadline,
            "takeover {n} not done within 10 s: {s}\n{}",
            node.stderr_tail()
        );
        pause(Duration::from_millis(20));
    }
}

fn wait_attempts(node: &Node, job: u64, n: u64) {
    node.wait_job(job, Duration::from_secs(30), "more attempts", |v| {
        v["stats"]["attempts"].as_u64().unwrap_or(0) >= n || v["job"]["state"] != "running"
    });
}

/// After a fault the node's components are back in their roles (the status table's shape
/// for one node: masters and running services).
fn assert_roles_restored(status: &Value) {
    let role = |c: &str| -> Vec<String> {
        status["components"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|x| x["component"] == c)
            .map(|x| x["role"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(role("agent-manager"), vec!["MASTER"], "{status}");
    assert_eq!(role("director"), vec!["MASTER"], "{status}");
    assert_eq!(role("campaign-manager"), vec!["RUNNING"], "{status}");
}

/// The simulated agents, on their own thread: each logs in, works, and logs in again
/// whenever its session ends (killed, logged out by a state check, or the node restarted),
/// until told to stop. Returns each agent's passages through takeovers.
fn run_agents(
    api: Arc<Mutex<SocketAddr>>,
    phones_port: u16,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<(String, Vec<TakeoverSeen>)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the agents");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let mut tasks = Vec::new();
        for i in 0..AGENTS {
            let (api, stop) = (Arc::clone(&api), stop.clone());
            tasks.push(tokio::task::spawn_local(async move {
                let name = format!("agent-{i}");
                let mut seen = Vec::new();
                let mut stop = stop;
                while !*stop.borrow() {
                    let addr = api.lock().map(|a| *a).expect("the API address");
                    let mut c = SimulatedAgentConfig::new(
                        &desktop_url(addr),
                        &name,
                        &format!("password-{i}"),
                        "default",
                        &format!("sip:{name}@127.0.0.1:{phones_port}"),
                    );
                    c.talk = TalkTime::Fixed(Duration::from_millis(300));
                    c.wrap = Duration::from_millis(100);
                    c.reply_timeout = Duration::from_secs(3);
                    let r = SimulatedAgent::new(c).run(stop.clone()).await;
                    seen.extend(r.takeovers);
                    // A person logs in again a moment later (the node may be restarting),
                    // unless told to stop meanwhile.
                    let _ = tokio::time::timeout(Duration::from_millis(200), stop.changed()).await;
                }
                (name, seen)
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("an agent task panicked"));
        }
        out
    })
}
