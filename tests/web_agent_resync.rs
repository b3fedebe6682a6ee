//! The agent desktop in Chromium (headless, through WebDriver) through a takeover and a lost
//! connection. A zone takeover (a panic injected in the zone's pacing actor): the page shows
//! the service-unavailable banner, answers the node's state check by itself, and the agent
//! stays logged in. A network drop (the test cuts the page's connections at a TCP proxy while
//! the node runs): the page reconnects, logs in again and shows the state the node reports —
//! not ready — and at no moment after the drop shows the agent available.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::cut_proxy::CutProxy;
use support::desktop::*;
use support::node::*;
use support::webdriver::*;
use support::*;

const STATE: &str = "return document.getElementById('state').dataset.state";

/// Records every `data-state` the page shows and every banner text, from now on.
const WATCH: &str = "window.__states = []; window.__banners = []; \
    const st = document.getElementById('state'), bn = document.getElementById('banner'); \
    new MutationObserver(() => window.__states.push(st.dataset.state)) \
      .observe(st, {attributes: true, attributeFilter: ['data-state']}); \
    new MutationObserver(() => { if (!bn.hidden) window.__banners.push(bn.textContent); }) \
      .observe(bn, {attributes: true, childList: true, characterData: true, subtree: true});";

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_desktop_rides_a_takeover_and_a_reconnect_with_the_nodes_state() {
    let shots = artifacts("web_agent_resync");
    let dir = tempfile::tempdir().expect("temp dir");
    let customer_port = free_udp_port();
    let _customer = sipp_uas(None, customer_port, &[]);
    let phone_port = free_udp_port();
    let _phone = sipp_uas(None, phone_port, &[]);
    let customers = format!("127.0.0.1:{customer_port}").parse().expect("addr");
    let node = Node::start_with(
        dir.path(),
        "node-web-resync",
        &[MppConf::new("sipp", customers, 600_000)],
        &format!(
            "{}\n[chaos]\nenabled = true\ntakeover_delay_ms = 1000\n",
            agents_toml(1, "heartbeat_ms = 500")
        ),
    );
    let proxy = CutProxy::start(node.api);
    let b = Browser::start();
    b.log_in_agent(
        &format!("http://{}", proxy.addr),
        "agent-0",
        "password-0",
        &format!("sip:a@127.0.0.1:{phone_port}"),
    );
    b.run("document.activeElement.blur()", json!([]));
    b.keys("r");
    b.wait_for(
        "available",
        Duration::from_secs(5),
        &format!("{STATE} === 'available'"),
        json!([]),
    );

    // A takeover: the banner, the state check answered by the page, still logged in.
    b.run(WATCH, json!([]));
    let (status, body) = node.post(
        "/v1/admin/faults",
        Some("application/json"),
        json!({"kind": "panic-zone", "zone": "default"})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(status, 200, "inject panic-zone: {body}");
    b.wait_for(
        "the service-unavailable banner",
        Duration::from_secs(5),
        "return window.__banners.some(t => t.includes('unavailable'))",
        json!([]),
    );
    b.screenshot(&shots.join("agent-takeover-banner.png"));
    b.wait_for(
        "the state check answered",
        Duration::from_secs(10),
        "return window.__banners.some(t => t.includes('checked this desktop'))",
        json!([]),
    );
    let agents = node.wait_agents(1, Duration::from_secs(5), |_| true);
    let a = &agents[0];
    let page = b.run(STATE, json!([]));
    let node_says = if a["ready"] == true && a["call_state"] == "idle" {
        "available"
    } else if a["call_state"] == "idle" {
        "not-ready"
    } else {
        a["call_state"].as_str().unwrap_or("?")
    };
    assert_eq!(
        page,
        json!(node_says),
        "the page and the node disagree after the takeover: {a}"
    );
    assert_eq!(
        b.run("return document.getElementById('desk').hidden", json!([])),
        json!(false)
    );

    // A network drop: the page reconnects and shows the node's state, never available.
    b.run(WATCH, json!([]));
    assert!(proxy.cut() > 0, "the page had no connection to cut");
    b.wait_for(
        "the reconnecting banner",
        Duration::from_secs(5),
        "return window.__banners.some(t => t.includes('Reconnecting'))",
        json!([]),
    );
    b.wait_for(
        "logged in again, not ready",
        Duration::from_secs(20),
        &format!(
            "return document.getElementById('conn').textContent === 'Connected' \
               && {}",
            "document.getElementById('state').dataset.state === 'not-ready'"
        ),
        json!([]),
    );
    let states = strings(&b.run("return window.__states", json!([])));
    assert!(
        !states.iter().any(|s| s == "available"),
        "the page showed the agent available after the drop: {states:?}"
    );
    let agents = node.wait_agents(1, Duration::from_secs(5), |a| a["ready"] == false);
    assert_eq!(agents[0]["call_state"], "idle", "{agents}");
    b.screenshot(&shots.join("agent-after-reconnect.png"));
}
