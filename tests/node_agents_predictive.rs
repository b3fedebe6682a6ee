//! A node runs a predictive campaign with real agent desktops (WebSocket clients here) and
//! real agent phones (`outdial peer` auto-answering the nailing calls, sending and counting
//! RTP) against `outdial peer` customers that talk (RTP) and hang up.
//!
//! Asserted: every agent is nailed before it is offered a call; the customer's audio reaches
//! the agent's phone through the node's bridge (RTP relayed both ways); every live answer
//! either reached an agent (Connected in its history, completed with the agent's disposition)
//! or was coded nuisance; the nuisance rate stays under the cap; a callback disposition
//! schedules the contact at the agent's time; no contact is lost or dialed twice at once.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use support::desktop::*;
use support::node::*;
use support::*;

const AGENTS: usize = 3;
const CONTACTS: usize = 36;

/// One automated agent: ready, then for each call talk a little, hang up unless the
/// customer did, and dispose. Returns its desktop's transcript.
fn run_agent(
    api: std::net::SocketAddr,
    i: usize,
    phone: String,
    stop: Arc<AtomicBool>,
    callback_at: Option<u64>,
) -> Vec<Value> {
    let mut d = Desktop::connect(api);
    d.login(&format!("agent-{i}"), &format!("password-{i}"), &phone);
    let r = d.request(json!({"type": "ready"}), 2);
    assert_eq!(r["type"], "ok", "{r}");
    let mut id = 10;
    let mut callback = callback_at;
    while !stop.load(Ordering::Relaxed) {
        let Some(ev) = d.next(Duration::from_millis(200)) else {
            continue;
        };
        if ev["type"] != "call" {
            continue;
        }
        let attempt = ev["attempt"].as_u64().expect("attempt in the screen pop");
        assert!(
            ev["phone"]
                .as_str()
                .is_some_and(|p| p.starts_with("+1212555")),
            "{ev}"
        );
        assert!(
            ev["fields"]["name"].is_string(),
            "screen pop carries the contact's fields: {ev}"
        );
        // Talk up to 1.2 s unless the customer leaves first.
        let ended = d
            .next_matching(Duration::from_millis(1200), |v| v["type"] == "call-ended")
            .is_some();
        if !ended {
            id += 1;
            let r = d.request(json!({"type": "hang-up", "attempt": attempt}), id);
            assert_eq!(r["type"], "ok", "{r}");
        }
        d.expect(Duration::from_secs(5), "wrap-up", |v| {
            v["type"] == "state" && v["call_state"] == "wrapup"
        });
        id += 1;
        let mut dispose = json!({"type": "dispose", "attempt": attempt, "code": "answered-human"});
        if let Some(at) = callback.take() {
            dispose["callback_at_ms"] = json!(at);
        }
        let r = d.request(dispose, id);
        assert_eq!(r["type"], "ok", "dispose: {r}");
    }
    id += 1;
    let r = d.request(json!({"type": "logout"}), id);
    assert_eq!(r["type"], "ok", "logout: {r}");
    d.expect(Duration::from_secs(5), "logged-out", |v| {
        v["type"] == "logged-out"
    });
    d.seen.clone()
}

#[test]
fn predictive_campaign_bridges_customers_to_nailed_agents() {
    let started = wall_now();
    let dir = tempfile::tempdir().expect("temp dir");
    let (customers, customers_addr) = outdial_peer(Some("peer-customers.toml"), None);
    let (phones, phones_addr) = outdial_peer(Some("peer-agent-phones.toml"), None);
    let node = Node::start_with(
        dir.path(),
        "node-agents",
        &[MppConf::new("customers", customers_addr, 1000)],
        &agents_toml(AGENTS, "wrapup_timeout_ms = 10000\nheartbeat_ms = 1000"),
    );

    let stop = Arc::new(AtomicBool::new(false));
    let callback_at = support::node::unix_ms_now() + 4000;
    let agents: Vec<_> = (0..AGENTS)
        .map(|i| {
            let (api, stop) = (node.api, Arc::clone(&stop));
            let phone = format!("sip:agent-{i}@{phones_addr}");
            let cb = (i == 0).then_some(callback_at);
            std::thread::spawn(move || run_agent(api, i, phone, stop, cb))
        })
        .collect();

    // Agents first, so the campaign's first decisions see them.
    node.wait_agents(AGENTS, Duration::from_secs(15), |a| {
        a["nail"] == "nailed" && a["ready"] == true
    });

    let (_, job) = node.create_campaign(&json!({
        "name": "agents-predictive",
        "mode": "predictive",
        // The tests dial their own test numbers at any hour: a load test.
        "load_test": true,
        "test_ranges": ["+1212555"],
        "lines_per_agent": 1.0,
        "ring_timeout_ms": 15000,
        "connect_window_ms": 2000,
        "nuisance": { "cap_pct": 3.0 },
        "calling_hours": { "start": "00:00", "end": "00:00", "default_tz": "UTC" },
        "retry": {
            "busy": { "delay_s": 1, "max_attempts": 2 },
            "declined": { "delay_s": 1, "max_attempts": 1 },
            "nuisance": { "delay_s": 1, "max_attempts": 3 },
        },
    }));
    let report = node.upload_csv(job, &contacts_csv(CONTACTS));
    assert_eq!(report["imported"], CONTACTS as u64, "{report}");
    node.start_job(job);
    let over = node.wait_job_over(job, Duration::from_secs(150));
    assert_eq!(over["job"]["state"], "finished", "{over}");

    stop.store(true, Ordering::Relaxed);
    let transcripts: Vec<Vec<Value>> = agents
        .into_iter()
        .map(|h| h.join().expect("an agent thread panicked"))
        .collect();

    // No contact lost, none dialed twice at once.
    let counts = &over["contacts"];
    assert_eq!(counts["total"], CONTACTS as u64, "{over}");
    assert_eq!(
        counts["final_"].as_u64().unwrap_or(0) + counts["ready"].as_u64().unwrap_or(0),
        CONTACTS as u64,
        "every contact final or scheduled: {over}"
    );
    let attempts = node.attempts(job);
    check_histories(&attempts);
    check_no_concurrent_dials(&attempts);

    // Every live answer reached an agent (Connected, then the agent's code) or is nuisance.
    let mut connected = 0;
    let mut nuisance = 0;
    for a in &attempts {
        let states: Vec<&str> = a.history.iter().map(|(_, s)| s.as_str()).collect();
        let answered = states.contains(&"answered");
        match a.code.as_deref() {
            Some("nuisance") => {
                assert!(answered && !states.contains(&"connected"), "{:?}", a.raw);
                nuisance += 1;
            }
            Some("answered-human") => {
                assert!(
                    states.contains(&"connected"),
                    "answered-human without an agent: {:?}",
                    a.raw
                );
                connected += 1;
            }
            Some(_) => assert!(
                !answered,
                "an answered call ended with a non-agent code: {:?}",
                a.raw
            ),
            None => panic!("attempt not completed after the job finished: {:?}", a.raw),
        }
    }
    assert!(connected >= 10, "too few calls reached agents: {connected}");
    let live = connected + nuisance;
    assert!(
        (nuisance as f64) <= 0.03 * live as f64,
        "nuisance {nuisance} of {live} live answers is above the 3 % cap"
    );

    // The desktops saw screen pops for exactly the connected calls.
    let pops: usize = transcripts
        .iter()
        .map(|t| t.iter().filter(|v| v["type"] == "call").count())
        .sum();
    assert_eq!(pops, connected, "one screen pop per connected call");
    for t in &transcripts {
        assert!(t
            .iter()
            .any(|v| v["type"] == "logged-out" && v["reason"] == "requested"));
    }

    // The callback: agent-0's first call comes back at (not before) the agent's time.
    let first_pop = transcripts[0]
        .iter()
        .find(|v| v["type"] == "call")
        .expect("agent-0 took a call");
    let contact = first_pop["contact"].as_u64().expect("contact id");
    let by = by_contact(&attempts);
    let tries = &by[&contact];
    assert!(tries.len() >= 2, "the callback was not dialed: {tries:?}");
    let (redial_at, _) = tries[1].interval();
    assert!(
        redial_at >= callback_at,
        "redialed at {redial_at}, before the callback time {callback_at}"
    );

    // Audio: the customers' RTP reached the agents' phones through the bridge, and the
    // agents' RTP reached the customers.
    let phones_report = parse_json(&phones.terminate());
    let customers_report = parse_json(&customers.terminate());
    let to_agents = phones_report["media"]["packets_received"]
        .as_u64()
        .unwrap_or(0);
    let to_customers = customers_report["media"]["packets_received"]
        .as_u64()
        .unwrap_or(0);
    // ~50 packets a second for at least ~0.5 s of each connected call.
    assert!(
        to_agents >= 25 * connected as u64,
        "agents' phones heard {to_agents} packets over {connected} calls: {phones_report}"
    );
    assert!(
        to_customers >= 25 * connected as u64,
        "customers heard {to_customers} packets: {customers_report}"
    );

    let codes: BTreeMap<String, u64> = code_counts(&attempts);
    eprintln!(
        "predictive with {AGENTS} agents: {} attempts {codes:?}, {connected} connected, {nuisance} nuisance, {to_agents} RTP packets to agents, in {:?}",
        attempts.len(),
        wall_now().duration_since(started)
    );
}
