//! The wall-board in Chromium (headless, through WebDriver) under load: 200 agents logged in
//! over the desktop WebSocket, one of them changing state every 20 ms (each agent every 4 s),
//! for 20 s. Measured and printed: the CPU the page's renderer used (`/proc`, its processes
//! found by the browser's profile), and the delay from a state change to the board for a
//! sample of changes. The page must stay live and current: every sampled change shows within
//! 1 s, and the renderer stays under half a core.

mod support;

use std::time::Duration;

use serde_json::json;
use support::desktop::*;
use support::node::*;
use support::webdriver::*;
use support::*;

const AGENTS: usize = 200;
const RUN: Duration = Duration::from_secs(20);
const STEP: Duration = Duration::from_millis(20);

#[test]
fn the_board_follows_200_agents_changing_state() {
    let shots = artifacts("web_board_load");
    let dir = tempfile::tempdir().expect("temp dir");
    let phones = free_udp_port();
    let _phones = sipp_uas(None, phones, &[]);
    let customers = free_udp_port();
    let _customers = sipp_uas(None, customers, &[]);
    let mpp = format!("127.0.0.1:{customers}").parse().expect("addr");
    let node = Node::start_with(
        dir.path(),
        "node-web-load",
        &[MppConf::new("sipp", mpp, 600_000)],
        &agents_toml(
            AGENTS,
            "heartbeat_ms = 10000\nmax_connections_per_source = 1000",
        ),
    );
    let mut desks: Vec<Desktop> = (0..AGENTS)
        .map(|i| {
            let mut d = Desktop::connect(node.api);
            d.login(
                &format!("agent-{i}"),
                &format!("password-{i}"),
                &format!("sip:a{i}@127.0.0.1:{phones}"),
            );
            d
        })
        .collect();
    node.add_user("sup", "supervisor", "load-the-board");
    let b = Browser::start();
    b.log_in_to_board(node.api, "sup", "load-the-board");
    b.wait_for(
        "all agents on the board",
        Duration::from_secs(30),
        &format!("return document.querySelectorAll('#agents tbody tr').length === {AGENTS}"),
        json!([]),
    );

    let mut ready = [false; AGENTS];
    let mut lat = Vec::new();
    let ticks0 = b.renderer_ticks();
    let started = wall_now();
    let mut i = 0usize;
    while wall_now() < started + RUN {
        let a = i % AGENTS;
        ready[a] = !ready[a];
        let kind = if ready[a] { "ready" } else { "not-ready" };
        // Only a sample is timed: a script run in the page on every change would be the test's
        // load on the renderer, not the board's.
        let sample = i.is_multiple_of(50);
        let t0 = if sample {
            b.run("return Date.now()", json!([]))
                .as_f64()
                .expect("a time")
        } else {
            0.0
        };
        let r = desks[a].request(json!({"type": kind}), 10 + i as u64);
        assert_eq!(r["type"], "ok", "{r}");
        if sample {
            // A sample: how long until the board shows this agent's new state.
            let want = if ready[a] { "available" } else { "not-ready" };
            let seen = b.wait_for(
                "the change on the board",
                Duration::from_secs(1),
                "const r = document.querySelector(`tr[data-agent=\"${arguments[0]}\"]`); \
                 return r && r.dataset.state === arguments[1] ? Date.now() : null",
                json!([format!("agent-{a}"), want]),
            );
            lat.push(seen.as_f64().expect("a time") - t0);
        }
        i += 1;
        pause(STEP);
    }
    let secs = wall_now().duration_since(started).as_secs_f64();
    let ticks = b.renderer_ticks() - ticks0;
    b.screenshot(&shots.join("wall-board-200-agents.png"));
    lat.sort_by(f64::total_cmp);
    let core_pct = ticks as f64 / secs; // 100 ticks a second is one core
    eprintln!(
        "{AGENTS} agents, {i} changes in {secs:.1} s: page renderer {core_pct:.1} % of one core; \
         change to board over {} samples: p50 {:.0} ms, max {:.0} ms",
        lat.len(),
        lat[lat.len() / 2],
        lat[lat.len() - 1]
    );
    assert!(core_pct < 50.0, "the page took {core_pct:.1} % of a core");
    desks.clear();
}
