//! Rule 5 held to its word when a desktop answers the state check late.

use super::*;

/// Rule 5 with a desktop slow to answer the state check: an agent in wrap-up when its zone
/// failed answers only after its wrap-up time has passed. The wrap-up waits for the check
/// (it must not give the call its default disposition meanwhile), and the wrong report logs
/// the agent out with desktop-error and codes the call desktop-error.
#[test]
fn wrap_up_waits_for_the_state_check_and_a_wrong_report_codes_the_call() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Customers who answer at once and stay on the line.
    let (_customers, customers_addr) = outdial_peer(Some("peer-media.toml"), None);
    let (_phones, phones_addr) = outdial_peer(Some("peer-agent-phones.toml"), None);
    // The shortest wrap-up the node allows, so it runs out while the check is outstanding.
    let extra = format!(
        "{}\n[chaos]\nenabled = true\ntakeover_delay_ms = 500\n",
        agents_toml(1, "wrapup_timeout_ms = 1000")
    );
    let node = Node::start_with(
        dir.path(),
        "node-takeover-wrapup",
        &[MppConf::new("customers", customers_addr, 1000)],
        &extra,
    );
    let mut seat = Seat::login(node.api, 0, phones_addr);
    let (_, job) = node.create_campaign(&json!({
        "name": "takeover-wrapup",
        "mode": "progressive",
        // The tests dial their own test numbers at any hour: a load test.
        "load_test": true,
        "test_ranges": ["+1212555"],
        "lines_per_agent": 1.0,
        "ring_timeout_ms": 15000,
        "connect_window_ms": CONNECT_WINDOW_MS,
        "calling_hours": { "start": "00:00", "end": "00:00", "default_tz": "UTC" },
    }));
    node.upload_csv(job, &contacts_csv(1));
    node.start_job(job);
    let pop = seat.wait(Duration::from_secs(10), "screen pop", |v| {
        v["type"] == "call"
    });
    let attempt = pop["attempt"].as_u64().expect("attempt in the screen pop");
    let r = seat.request(json!({"type": "hang-up", "attempt": attempt}));
    assert_eq!(r["type"], "ok", "hang-up: {r}");
    seat.wait(Duration::from_secs(5), "wrap-up", |v| {
        v["type"] == "state" && v["call_state"] == "wrapup"
    });

    panic_zone(&node);
    seat.wait(Duration::from_secs(5), "state check", |v| {
        v["type"] == "state-check"
    });
    let lived = Lived::of(&seat).unwrap_or_else(|| {
        panic!(
            "no service down, service up, state check in order:\n{}",
            seat.tail()
        )
    });
    let after = lived.after(&seat);
    assert_eq!(
        (after["call_state"].as_str(), after["attempt"].as_u64()),
        (Some(table_9("wrapup", lived.column(&seat))), Some(attempt)),
        "after the takeover: {after}"
    );
    // The desktop is slow to answer: past the 1 s wrap-up, the call must still be in
    // wrap-up (it waits for the check), so that a wrong report can still code it.
    let from = seat.log.len();
    let until = wall_now() + Duration::from_millis(1600);
    while wall_now() < until {
        if let Some(v) = seat.d.next(Duration::from_millis(20)) {
            seat.record(v);
        }
    }
    assert!(
        seat.find(from, |v| v["type"] == "state" && v["call_state"] == "idle")
            .is_none(),
        "the wrap-up ran out while the state check was open:\n{}",
        seat.tail()
    );
    let r = seat.request(
        json!({"type": "state-report", "call_state": "talking", "attempt": attempt + 1000}),
    );
    assert_eq!(r["type"], "ok", "state report: {r}");
    let out = seat.wait(Duration::from_secs(5), "logged-out", |v| {
        v["type"] == "logged-out"
    });
    assert_eq!(out["reason"], "desktop-error", "{out}");

    let deadline = wall_now() + Duration::from_secs(5);
    let coded = loop {
        let a = node
            .attempts(job)
            .into_iter()
            .find(|a| a.id == attempt)
            .expect("the call is listed");
        if a.state == "completed" {
            break a;
        }
        assert!(
            wall_now() < deadline,
            "the call did not complete: {:?}",
            a.raw
        );
        pause(Duration::from_millis(50));
    };
    assert_eq!(
        coded.code.as_deref(),
        Some("desktop-error"),
        "the call the agent had when the state check was sent, after a wrong report: {:?}\nthe desktop saw:\n{}\nnode stderr:\n{}",
        coded.raw,
        seat.tail(),
        node.stderr_tail()
    );
    let status = node.get_json("/v1/node");
    assert_eq!(status["zones"][0]["desktop_errors"], 1, "{status}");
}
