//! The wall-board's feed is one publisher fanned out: fifty viewers on `GET /v1/board` each
//! receive the same snapshots, byte for byte (one `now_ms` per tick, whoever watches), with the
//! agents of the node in them; a viewer without credentials is refused. The node's CPU time
//! with one viewer and with fifty is printed (`/proc/PID/stat`), the cost of the fan-out.

mod support;

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Value};
use support::desktop::*;
use support::node::*;
use support::*;
use tungstenite::client::IntoClientRequest;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

type Viewer = WebSocket<MaybeTlsStream<TcpStream>>;

fn viewer(node: &Node, token: &str) -> Viewer {
    let mut req = format!("ws://{}/v1/board", node.api)
        .into_client_request()
        .expect("a request");
    req.headers_mut().insert(
        "Authorization",
        format!("Bearer {token}").parse().expect("a header"),
    );
    let (ws, _) = tungstenite::connect(req).expect("the board's WebSocket");
    if let MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(Duration::from_secs(12)))
            .expect("read timeout");
    }
    ws
}

fn next_snapshot(ws: &mut Viewer) -> String {
    loop {
        match ws.read().expect("a snapshot") {
            Message::Text(t) => return t.to_string(),
            Message::Close(c) => panic!("the feed closed: {c:?}"),
            _ => continue,
        }
    }
}

/// User plus system CPU time of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the node's stat");
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = after.split_whitespace().collect();
    f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0)
}

/// The node's CPU ticks over `d` while an agent toggles ready / not ready (a new snapshot
/// each time) and every viewer reads what it is sent; and the snapshots read by the first.
fn cpu_over(
    node: &Node,
    desk: &mut Desktop,
    ready: &mut bool,
    viewers: &mut [Viewer],
    d: Duration,
) -> (u64, u64) {
    let pid = node.pid().expect("the node runs");
    let t0 = cpu_ticks(pid);
    let end = wall_now() + d;
    let (mut id, mut n) = (100, 0);
    while wall_now() < end {
        id += 1;
        // Always a change: the agent's state flips each time, across calls too.
        *ready = !*ready;
        let kind = if *ready { "ready" } else { "not-ready" };
        let r = desk.request(json!({"type": kind}), id);
        assert_eq!(r["type"], "ok", "{r}");
        for v in viewers.iter_mut() {
            next_snapshot(v);
        }
        n += 1;
    }
    (cpu_ticks(pid) - t0, n)
}

#[test]
fn fifty_viewers_get_the_same_snapshots_from_one_publisher() {
    let dir = tempfile::tempdir().expect("temp dir");
    let phones = free_udp_port();
    let _phones = sipp_uas(None, phones, &[]);
    let customers = free_udp_port();
    let _customers = sipp_uas(None, customers, &[]);
    let mpp = format!("127.0.0.1:{customers}").parse().expect("addr");
    let node = Node::start_with(
        dir.path(),
        "node-fanout",
        &[MppConf::new("sipp", mpp, 600_000)],
        &agents_toml(2, ""),
    );
    let mut desks: Vec<Desktop> = (0..2)
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
    let token = node.token_for("viewer");

    // Without credentials: refused before the upgrade.
    assert!(tungstenite::connect(format!("ws://{}/v1/board", node.api)).is_err());

    let mut one = vec![viewer(&node, &token)];
    let first: Value = serde_json::from_str(&next_snapshot(&mut one[0])).expect("JSON");
    assert_eq!(first["agents"].as_array().map(Vec::len), Some(2), "{first}");
    eprintln!("agents by state: {}", first["by_state"]);
    let mut ready = false;
    let (cpu_one, n_one) = cpu_over(
        &node,
        &mut desks[1],
        &mut ready,
        &mut one,
        Duration::from_secs(5),
    );

    let mut many: Vec<Viewer> = (0..49).map(|_| viewer(&node, &token)).collect();
    many.append(&mut one);
    // Agents changing state make new snapshots; every viewer sees each one identically.
    let r = desks[0].request(json!({"type": "ready"}), 2);
    assert_eq!(r["type"], "ok", "{r}");
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for v in many.iter_mut() {
        // Each viewer's first message is the latest snapshot; the next is the same tick's for
        // all, or a later one: collect three each.
        for _ in 0..3 {
            *seen.entry(next_snapshot(v)).or_default() += 1;
        }
    }
    let shared = seen.values().filter(|&&n| n == many.len()).count();
    assert!(
        shared >= 1,
        "no snapshot reached all {} viewers byte for byte: {:?}",
        many.len(),
        seen.values().collect::<Vec<_>>()
    );
    let (cpu_many, n_many) = cpu_over(
        &node,
        &mut desks[1],
        &mut ready,
        &mut many,
        Duration::from_secs(5),
    );
    assert!(
        n_many > 5,
        "the fifty viewers got {n_many} snapshots in 5 s"
    );
    eprintln!(
        "node CPU over 5 s of state changes: {cpu_one} ticks for {n_one} snapshots to 1 viewer, \
         {cpu_many} ticks for {n_many} snapshots to each of {} viewers",
        many.len()
    );
    desks.clear();
}
