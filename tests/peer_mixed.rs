//! `outdial loadtest` against `outdial peer` with a mixed profile: the outcomes the loadtest
//! reports are exactly those the peer chose, and every INVITE dialog is accounted for.

mod support;

use support::*;

#[test]
fn mixed_profile_outcomes_match_on_both_sides() {
    let (peer, addr) = outdial_peer(Some("peer-mixed.toml"), None);
    let target = addr.to_string();
    let r = loadtest(&[
        "--target",
        &target,
        "--rate",
        "100",
        "--calls",
        "200",
        "--hold-ms",
        "200",
        "--ring-timeout-ms",
        "1500",
    ]);
    let p: serde_json::Value = serde_json::from_str(peer.terminate().trim()).expect("peer JSON");
    assert_eq!(r["attempted"], 200, "{r}");
    assert_eq!(p["dialogs"], 200, "one INVITE dialog per attempt: {p}");
    let o = &p["outcomes"];
    let n = |k: &str| o[k].as_u64().unwrap_or(0);
    assert_eq!(failed(&r, "486"), n("busy"), "{r} vs {p}");
    assert_eq!(failed(&r, "603"), n("decline"), "{r} vs {p}");
    assert_eq!(failed(&r, "404"), n("invalid-number"), "{r} vs {p}");
    assert_eq!(failed(&r, "ring-timeout"), n("no-answer"), "{r} vs {p}");
    assert_eq!(
        r["answered"].as_u64(),
        Some(n("answer") + n("remote-hangup")),
        "{r} vs {p}"
    );
    assert_eq!(
        r["remote_hangups"].as_u64(),
        Some(n("remote-hangup")),
        "{r} vs {p}"
    );
    assert_eq!(p["cancelled"].as_u64(), Some(n("no-answer")), "{p}");
    for k in ["answer", "busy", "decline", "no-answer"] {
        assert!(n(k) > 0, "the profile should produce some {k}: {p}");
    }
}
