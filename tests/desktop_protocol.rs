//! The desktop protocol against a real node, with SIPp as the agents' phones: logins are
//! authenticated, one session per agent, malformed and out-of-state commands get an error
//! and change nothing, an agent acts only on its own calls, a silent desktop is logged out,
//! a dropped phone is re-nailed, and a phone that cannot be nailed logs the agent out.

mod support;

use std::time::Duration;

use serde_json::json;
use support::desktop::*;
use support::node::*;
use support::*;

fn node_with_agents(dir: &std::path::Path, desktop: &str) -> Node {
    // The MPP is never dialed here (no campaign); OPTIONS to a closed port just mark it down.
    let mpp = format!("127.0.0.1:{}", free_udp_port())
        .parse()
        .expect("addr");
    Node::start_with(
        dir,
        "node-desktop",
        &[MppConf::new("none", mpp, 60_000)],
        &agents_toml(3, desktop),
    )
}

#[test]
fn logins_commands_and_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let phone_port = free_udp_port();
    let _phone = sipp_uas(None, phone_port, &[]);
    let phone = format!("sip:agent@127.0.0.1:{phone_port}");
    let node = node_with_agents(dir.path(), "heartbeat_ms = 5000");

    let mut d = Desktop::connect(node.api);
    // Nothing before login.
    let r = d.request(json!({"type": "ready"}), 1);
    assert_eq!(
        (r["type"].as_str(), r["code"].as_str()),
        (Some("error"), Some("not-logged-in")),
        "{r}"
    );
    // Malformed JSON and unknown fields: an error, and the connection stays usable.
    d.send_raw("{not json");
    let r = d.expect(Duration::from_secs(5), "malformed", |v| {
        v["type"] == "error"
    });
    assert_eq!(r["code"], "malformed", "{r}");
    d.send_raw(r#"{"type":"ready","colour":"blue"}"#);
    let r = d.expect(Duration::from_secs(5), "malformed", |v| {
        v["type"] == "error"
    });
    assert_eq!(r["code"], "malformed", "{r}");
    // Wrong password, unknown agent, unknown zone, a phone that is not an address.
    for (login, code) in [
        (
            json!({"type":"login","agent":"agent-0","password":"nope","zone":"default","phone":phone}),
            "auth",
        ),
        (
            json!({"type":"login","agent":"mallory","password":"password-0","zone":"default","phone":phone}),
            "auth",
        ),
        (
            json!({"type":"login","agent":"agent-0","password":"password-0","zone":"south","phone":phone}),
            "unknown-zone",
        ),
        (
            json!({"type":"login","agent":"agent-0","password":"password-0","zone":"default","phone":"sip:phone.example.com"}),
            "bad-phone",
        ),
    ] {
        let r = d.request(login.clone(), 2);
        assert_eq!(
            (r["type"].as_str(), r["code"].as_str()),
            (Some("error"), Some(code)),
            "{login} -> {r}"
        );
    }
    // A good login nails the phone (SIPp answers the node's INVITE).
    let r = d.login("agent-0", "password-0", &phone);
    assert_eq!(r["heartbeat_ms"], 5000, "{r}");
    // One session per agent.
    let mut other = Desktop::connect(node.api);
    let r = other.request(
        json!({"type":"login","agent":"agent-0","password":"password-0","zone":"default","phone":phone}),
        3,
    );
    assert_eq!(r["code"], "already-logged-in", "{r}");
    other.close();

    // Out-of-state commands: an error, and the state does not move.
    for (i, cmd) in [
        json!({"type":"dispose","code":"answered-human"}),
        json!({"type":"hold"}),
        json!({"type":"hang-up"}),
        json!({"type":"accept-preview"}),
    ]
    .into_iter()
    .enumerate()
    {
        let r = d.request(cmd.clone(), 10 + i as u64);
        assert_eq!(r["code"], "not-in-state", "{cmd} -> {r}");
    }
    // A command naming someone else's call.
    let r = d.request(json!({"type":"hang-up","attempt":12345}), 20);
    assert_eq!(r["code"], "not-your-call", "{r}");
    // Not a disposition an agent may give.
    let r = d.request(json!({"type":"dispose","code":"nuisance"}), 21);
    assert_eq!(r["type"], "error", "{r}");
    let agents = node.get_json("/v1/agents");
    assert_eq!(agents[0]["call_state"], "idle", "{agents}");
    assert_eq!(agents[0]["ready"], false, "{agents}");

    // Ready and not ready with a reason.
    assert_eq!(d.request(json!({"type":"ready"}), 30)["type"], "ok");
    d.expect(Duration::from_secs(5), "ready state", |v| {
        v["type"] == "state" && v["ready"] == true
    });
    assert_eq!(
        d.request(json!({"type":"not-ready","reason":"lunch"}), 31)["type"],
        "ok"
    );
    let s = d.expect(Duration::from_secs(5), "not-ready state", |v| {
        v["type"] == "state" && v["ready"] == false
    });
    assert_eq!(s["not_ready_reason"], "lunch", "{s}");

    // A supervisor logs the agent out over the API.
    let (status, body) = node.post("/v1/agents/agent-0/logout", None, b"");
    assert_eq!(status, 200, "{body}");
    let r = d.expect(Duration::from_secs(5), "logged-out", |v| {
        v["type"] == "logged-out"
    });
    assert_eq!(r["reason"], "supervisor", "{r}");
    node.wait_agents(0, Duration::from_secs(5), |_| true);
    assert_eq!(
        node.get_json("/v1/agents").as_array().map(Vec::len),
        Some(0)
    );
    let (status, _) = node.post("/v1/agents/agent-0/logout", None, b"");
    assert_eq!(status, 404);
}

#[test]
fn a_silent_desktop_is_logged_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    let phone_port = free_udp_port();
    let _phone = sipp_uas(None, phone_port, &[]);
    let node = node_with_agents(dir.path(), "heartbeat_ms = 200\nmissed_heartbeats = 2");
    let mut d = Desktop::connect(node.api);
    d.login(
        "agent-1",
        "password-1",
        &format!("sip:a@127.0.0.1:{phone_port}"),
    );
    assert_eq!(
        node.get_json("/v1/agents").as_array().map(Vec::len),
        Some(1)
    );
    // Stop reading and answering: after two silent intervals the node gives up on us.
    let deadline = wall_now() + Duration::from_secs(10);
    while node.get_json("/v1/agents").as_array().map(Vec::len) != Some(0) {
        assert!(
            wall_now() < deadline,
            "the silent desktop is still logged in"
        );
        pause(Duration::from_millis(50));
    }
    // The same agent can log in again from a new desktop.
    let mut again = Desktop::connect(node.api);
    again.login(
        "agent-1",
        "password-1",
        &format!("sip:a@127.0.0.1:{phone_port}"),
    );
    drop(d);
}

#[test]
fn a_dropped_phone_is_renailed_and_a_dead_one_logs_the_agent_out() {
    let dir = tempfile::tempdir().expect("temp dir");
    // This phone answers, then hangs up after a second, every time.
    let flaky = free_udp_port();
    let _flaky = sipp_uas(Some("uas_far_end_bye.xml"), flaky, &[]);
    // This one is always busy.
    let busy = free_udp_port();
    let _busy = sipp_uas(Some("uas_busy.xml"), busy, &[]);
    let node = node_with_agents(dir.path(), "renail_delay_ms = 200\nmax_nail_failures = 3");

    let mut d = Desktop::connect(node.api);
    d.login("agent-0", "password-0", &format!("sip:a@127.0.0.1:{flaky}"));
    d.expect(Duration::from_secs(10), "un-nailed", |v| {
        v["type"] == "state" && v["nail"] == "un-nailed"
    });
    d.expect(Duration::from_secs(10), "re-nailed", |v| {
        v["type"] == "state" && v["nail"] == "nailed"
    });

    let mut b = Desktop::connect(node.api);
    let r = b.request(
        json!({"type":"login","agent":"agent-2","password":"password-2","zone":"default","phone":format!("sip:a@127.0.0.1:{busy}")}),
        1,
    );
    assert_eq!(r["type"], "logged-in", "{r}");
    let out = b.expect(Duration::from_secs(20), "logged-out", |v| {
        v["type"] == "logged-out"
    });
    assert_eq!(out["reason"], "nail-failed", "{out}");
    let nailing = b
        .seen
        .iter()
        .filter(|v| v["type"] == "state" && v["nail"] == "nailing")
        .count();
    assert!(nailing >= 3, "three tries before giving up: {:?}", b.seen);
}
