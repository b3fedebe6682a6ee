//! `outdial loadtest` against SIPp's built-in UAS (`sipp -sn uas`): every call answered.

mod support;

use support::*;

#[test]
fn loadtest_against_sipp_uas_answers_every_call() {
    let port = free_udp_port();
    let _uas = sipp_uas(None, port, &[]);
    let target = format!("127.0.0.1:{port}");
    let r = loadtest(&[
        "--target",
        &target,
        "--rate",
        "200",
        "--calls",
        "400",
        "--hold-ms",
        "100",
    ]);
    assert_eq!(r["attempted"], 400, "{r}");
    assert_eq!(r["answered"], 400, "{r}");
    assert_eq!(
        r["failed"].as_object().map(|o| o.len()),
        Some(0),
        "no failures expected: {r}"
    );
    assert!(
        r["cps"].as_f64().unwrap_or(0.0) > 100.0,
        "achieved rate too low: {r}"
    );
    let setup = &r["setup_ms"];
    for k in ["p50", "p90", "p99", "max"] {
        assert!(setup[k].as_f64().is_some(), "setup_ms.{k} missing: {r}");
    }
    assert!(r["cpu_seconds"].as_f64().unwrap_or(-1.0) >= 0.0, "{r}");
    assert!(r["retransmissions"].as_u64().is_some(), "{r}");
}
