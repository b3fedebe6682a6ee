//! `outdial loadtest --media` against `outdial peer` sending audio: RTP flows both ways on
//! every answered call, paced at 20 ms, with no loss on loopback.

mod support;

use support::*;

#[test]
fn media_flows_both_ways_on_answered_calls() {
    let (peer, addr) = outdial_peer(Some("peer-media.toml"), None);
    let target = addr.to_string();
    let r = loadtest(&[
        "--target",
        &target,
        "--rate",
        "20",
        "--calls",
        "20",
        "--hold-ms",
        "1000",
        "--media",
    ]);
    let p: serde_json::Value = serde_json::from_str(peer.terminate().trim()).expect("peer JSON");
    assert_eq!(r["answered"], 20, "{r}");
    let m = &r["media"];
    assert_eq!(m["legs"], 20, "{r}");
    // 1 s of hold at 50 packets/s per leg; allow for start-up and teardown.
    let received = m["packets_received"].as_u64().unwrap_or(0);
    let sent = m["packets_sent"].as_u64().unwrap_or(0);
    assert!(received >= 20 * 35, "too little audio reached us: {r}");
    assert!(sent >= 20 * 40, "too little audio sent: {r}");
    assert_eq!(m["packets_lost"], 0, "{r}");
    let pm = &p["media"];
    assert_eq!(pm["legs"], 20, "{p}");
    assert!(
        pm["packets_received"].as_u64().unwrap_or(0) >= 20 * 35,
        "the peer heard too little: {p}"
    );
}
