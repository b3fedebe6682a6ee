//! Live answers that find no ready agent inside the connect window: each is played the
//! campaign's information message, released, and coded nuisance (docs/design.md §6 invariant 4),
//! and the job's nuisance meter counts it. One agent, three lines per agent (progressive),
//! customers who stay on the line: the agent takes one call, the others are abandoned.

mod support;

use std::time::Duration;

use serde_json::json;
use support::desktop::*;
use support::node::*;
use support::*;

#[test]
fn answers_without_an_agent_hear_the_message_and_count_as_nuisance() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (customers, customers_addr) = outdial_peer(Some("peer-media.toml"), None);
    // SIPp as the agent's phone: it sends no RTP, so every packet the customers receive is
    // the abandon message (or nothing).
    let phone_port = free_udp_port();
    let _phone = sipp_uas(None, phone_port, &[]);
    let node = Node::start_with(
        dir.path(),
        "node-nuisance",
        &[MppConf::new("customers", customers_addr, 1000)],
        &agents_toml(1, "wrapup_timeout_ms = 10000"),
    );
    let mut d = Desktop::connect(node.api);
    d.login(
        "agent-0",
        "password-0",
        &format!("sip:a@127.0.0.1:{phone_port}"),
    );
    assert_eq!(d.request(json!({"type": "ready"}), 2)["type"], "ok");
    node.wait_agents(1, Duration::from_secs(5), |a| a["ready"] == true);

    let (_, job) = node.create_campaign(&json!({
        "name": "abandons",
        "mode": "progressive",
        // The tests dial their own test numbers at any hour: a load test.
        "load_test": true,
        "test_ranges": ["+1212555"],
        "lines_per_agent": 3.0,
        "ring_timeout_ms": 15000,
        "connect_window_ms": 500,
        "calling_hours": { "start": "00:00", "end": "00:00", "default_tz": "UTC" },
        "retry": { "nuisance": { "delay_s": 3600, "max_attempts": 1 } },
    }));
    node.upload_csv(job, &contacts_csv(3));
    node.start_job(job);

    // The agent gets exactly one of the three calls.
    let pop = d.expect(Duration::from_secs(10), "screen pop", |v| {
        v["type"] == "call"
    });
    let attempt = pop["attempt"].as_u64().expect("attempt");
    let over_deadline = wall_now() + Duration::from_secs(10);
    // The two others are abandoned while the agent talks.
    loop {
        let attempts = node.attempts(job);
        let nuisance = attempts
            .iter()
            .filter(|a| a.code.as_deref() == Some("nuisance"))
            .count();
        if nuisance == 2 {
            break;
        }
        assert!(
            wall_now() < over_deadline,
            "not two nuisance calls: {:?}",
            attempts.iter().map(|a| &a.raw).collect::<Vec<_>>()
        );
        pause(Duration::from_millis(100));
    }
    assert_eq!(
        d.request(json!({"type": "hang-up", "attempt": attempt}), 3)["type"],
        "ok"
    );
    assert_eq!(
        d.request(
            json!({"type": "dispose", "attempt": attempt, "code": "answered-human"}),
            4
        )["type"],
        "ok"
    );
    let over = node.wait_job_over(job, Duration::from_secs(20));
    assert_eq!(over["job"]["state"], "finished", "{over}");
    let attempts = node.attempts(job);
    for a in &attempts {
        let at = |state: &str| a.history.iter().find(|(_, s)| s == state).map(|(t, _)| *t);
        match a.code.as_deref() {
            Some("nuisance") => {
                let answered = at("answered").expect("a nuisance call was answered");
                let done = at("completed").expect("completed");
                assert!(at("connected").is_none(), "{:?}", a.raw);
                // The window, then the message (a 1 s tone), then the release.
                assert!(
                    done >= answered + 500 + 900,
                    "released {} ms after the answer: {:?}",
                    done - answered,
                    a.raw
                );
            }
            Some("answered-human") => {
                assert_eq!(a.id, attempt);
                assert!(at("connected").is_some(), "{:?}", a.raw);
            }
            other => panic!("unexpected outcome {other:?}: {:?}", a.raw),
        }
    }
    // Metered: 2 nuisance calls of 3 live answers today.
    let pct = over["stats"]["nuisance_rate_day_pct"]
        .as_f64()
        .unwrap_or(0.0);
    assert!((pct - 200.0 / 3.0).abs() < 0.01, "{over}");
    // The message really played: ~50 packets a second of tone to each abandoned customer.
    let report = parse_json(&customers.terminate());
    let heard = report["media"]["packets_received"].as_u64().unwrap_or(0);
    assert!(
        heard >= 2 * 40,
        "the abandoned customers heard {heard} packets: {report}"
    );
}
