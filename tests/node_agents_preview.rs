//! Preview dialing: the agent sees a contact before anything is dialed, skips one (it is not
//! dialed, and goes back to the list for later), accepts another (the node dials it for the
//! agent, bridges it on answer with a screen pop), and disposes it.

mod support;

use std::time::Duration;

use serde_json::json;
use support::desktop::*;
use support::node::*;
use support::*;

#[test]
fn preview_skip_accept_talk_dispose() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_customers, customers_addr) = outdial_peer(Some("peer-media.toml"), None);
    let (_phones, phones_addr) = outdial_peer(Some("peer-agent-phones.toml"), None);
    let node = Node::start_with(
        dir.path(),
        "node-preview",
        &[MppConf::new("customers", customers_addr, 1000)],
        &agents_toml(1, "wrapup_timeout_ms = 10000"),
    );
    let mut d = Desktop::connect(node.api);
    d.login("agent-0", "password-0", &format!("sip:a@{phones_addr}"));
    assert_eq!(d.request(json!({"type": "ready"}), 2)["type"], "ok");

    let (_, job) = node.create_campaign(&json!({
        "name": "preview",
        "mode": "preview",
        // The tests dial their own test numbers at any hour: a load test.
        "load_test": true,
        "test_ranges": ["+1212555"],
        "ring_timeout_ms": 15000,
        "calling_hours": { "start": "00:00", "end": "00:00", "default_tz": "UTC" },
    }));
    node.upload_csv(job, &contacts_csv(2));
    node.start_job(job);

    // First preview: skip it. Nothing is dialed for it.
    let first = d.expect(Duration::from_secs(10), "preview", |v| {
        v["type"] == "preview"
    });
    let skipped = first["contact"].as_u64().expect("contact");
    assert!(
        first["phone"].is_string() && first["fields"]["name"].is_string(),
        "{first}"
    );
    let r = d.request(
        json!({"type": "skip-preview", "attempt": first["attempt"]}),
        3,
    );
    assert_eq!(r["type"], "ok", "{r}");

    // Second preview: accept it; the node dials, the customer answers, the screen pops.
    let second = d.expect(Duration::from_secs(10), "second preview", |v| {
        v["type"] == "preview"
    });
    assert_ne!(
        second["contact"].as_u64(),
        Some(skipped),
        "the skipped contact came straight back"
    );
    let attempt = second["attempt"].as_u64().expect("attempt");
    assert_eq!(
        d.request(json!({"type": "accept-preview", "attempt": attempt}), 4)["type"],
        "ok"
    );
    d.expect(Duration::from_secs(5), "dialing", |v| {
        v["type"] == "state" && v["call_state"] == "dialing"
    });
    let pop = d.expect(Duration::from_secs(10), "screen pop", |v| {
        v["type"] == "call"
    });
    assert_eq!(pop["attempt"].as_u64(), Some(attempt), "{pop}");
    d.expect(Duration::from_secs(5), "talking", |v| {
        v["type"] == "state" && v["call_state"] == "talking"
    });
    // Hold and back.
    assert_eq!(d.request(json!({"type": "hold"}), 5)["type"], "ok");
    d.expect(Duration::from_secs(5), "held", |v| {
        v["type"] == "state" && v["call_state"] == "held"
    });
    assert_eq!(d.request(json!({"type": "unhold"}), 6)["type"], "ok");
    assert_eq!(
        d.request(json!({"type": "hang-up", "attempt": attempt}), 7)["type"],
        "ok"
    );
    d.expect(Duration::from_secs(5), "wrap-up", |v| {
        v["type"] == "state" && v["call_state"] == "wrapup"
    });
    let r = d.request(
        json!({"type": "dispose", "attempt": attempt, "code": "answered-machine"}),
        8,
    );
    assert_eq!(r["type"], "ok", "{r}");

    // The attempt is recorded with the agent's code; the skipped contact was never dialed.
    let deadline = wall_now() + Duration::from_secs(10);
    let attempts = loop {
        let a = node.attempts(job);
        if a.iter().any(|x| x.id == attempt && x.code.is_some()) {
            break a;
        }
        assert!(
            wall_now() < deadline,
            "the preview call's outcome was not recorded"
        );
        pause(Duration::from_millis(50));
    };
    let a = attempts.iter().find(|x| x.id == attempt).expect("attempt");
    assert_eq!(a.code.as_deref(), Some("answered-machine"), "{:?}", a.raw);
    assert!(
        a.history.iter().any(|(_, s)| s == "connected"),
        "{:?}",
        a.raw
    );
    assert!(
        attempts.iter().all(|x| x.contact != skipped),
        "the skipped contact was dialed"
    );
    // The skipped contact waits in the list: the job is not finished.
    let j = node.job(job);
    assert_eq!(j["contacts"]["ready"], 1, "{j}");

    // A supervisor moves the agent to a second job of the zone; its previews come from there.
    let (_, job2) = node.create_campaign(&json!({
        "name": "preview-2",
        "mode": "preview",
        // The tests dial their own test numbers at any hour: a load test.
        "load_test": true,
        "test_ranges": ["+1212555"],
        "ring_timeout_ms": 15000,
        "calling_hours": { "start": "00:00", "end": "00:00", "default_tz": "UTC" },
    }));
    let (status, body) = node.post(
        "/v1/agents/agent-0/move",
        Some("application/json"),
        json!({"job": job2}).to_string().as_bytes(),
    );
    assert_eq!(status, 409, "moving to a job that is not running: {body}");
    node.upload_csv(job2, &contacts_csv(1));
    node.start_job(job2);
    let (status, body) = node.post(
        "/v1/agents/agent-0/move",
        Some("application/json"),
        json!({"job": job2}).to_string().as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    let p = d.expect(
        Duration::from_secs(10),
        "a preview of the second job",
        |v| v["type"] == "preview" && v["job"] == job2,
    );
    assert_eq!(
        d.request(json!({"type": "skip-preview", "attempt": p["attempt"]}), 9)["type"],
        "ok"
    );
    let (status, _) = node.post(
        "/v1/agents/nobody/move",
        Some("application/json"),
        br#"{"job": 1}"#,
    );
    assert_eq!(status, 404);
    let (status, _) = node.post(
        "/v1/agents/agent-0/move",
        Some("application/json"),
        b"{\"job\": \"x\"}",
    );
    assert_eq!(status, 400);
    node.job_action(job, "stop");
    node.job_action(job2, "stop");
}
