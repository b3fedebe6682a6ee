//! `outdial loadtest` against SIPp UAS scenarios kept in tests/sipp/: one test per behaviour
//! (busy, ring then CANCEL, 503 Retry-After, digest challenge, 183 early media, far-end BYE,
//! a dropped first INVITE). They share one file, and so one test binary, to keep link time
//! down; each test starts its own SIPp on its own port.

mod support;

use std::time::Duration;
use support::*;

/// Runs SIPp with `scenario` for `calls` calls, the loadtest against it with `args`, and
/// returns the report once SIPp has exited by itself (its exit status checked).
fn run(scenario: &str, calls: u32, args: &[&str]) -> serde_json::Value {
    run_with(scenario, calls, &[], args)
}

fn run_with(scenario: &str, calls: u32, sipp_extra: &[&str], args: &[&str]) -> serde_json::Value {
    let port = free_udp_port();
    let m = calls.to_string();
    let mut sipp_args = vec!["-m", m.as_str(), "-timeout", "60s", "-timeout_error"];
    sipp_args.extend_from_slice(sipp_extra);
    let mut uas = sipp_uas(Some(scenario), port, &sipp_args);
    let target = format!("127.0.0.1:{port}");
    let mut all = vec!["--target", target.as_str()];
    if !args.contains(&"--calls") {
        all.extend_from_slice(&["--calls", m.as_str()]);
    }
    all.extend_from_slice(args);
    let report = loadtest(&all);
    let status = uas.wait_exit(Duration::from_secs(30));
    assert!(
        status.is_some_and(|s| s.success()),
        "SIPp scenario {scenario} did not finish cleanly ({status:?}); report {report}"
    );
    report
}

#[test]
fn busy_486_is_counted_per_status() {
    let r = run("uas_busy.xml", 5, &["--rate", "50"]);
    assert_eq!(r["answered"], 0, "{r}");
    assert_eq!(failed(&r, "486"), 5, "{r}");
}

#[test]
fn ring_without_answer_is_cancelled_at_the_ring_timeout() {
    let r = run(
        "uas_ring_no_answer.xml",
        2,
        &["--rate", "20", "--ring-timeout-ms", "800"],
    );
    assert_eq!(failed(&r, "ring-timeout"), 2, "{r}");
    // Cancelled at 800 ms, so the run is not much longer than that.
    assert!(r["wall_seconds"].as_f64().unwrap_or(99.0) < 10.0, "{r}");
}

#[test]
fn retry_after_503_stops_new_calls_to_the_peer() {
    // 5 calls at 5 cps: the first gets 503 Retry-After: 2 (SIPp answers one call), the
    // others fall inside the back-off and are never sent.
    let r = run(
        "uas_503_retry_after.xml",
        1,
        &["--rate", "5", "--calls", "5"],
    );
    assert_eq!(failed(&r, "503"), 1, "{r}");
    assert_eq!(failed(&r, "503-backoff"), 4, "{r}");
}

#[test]
fn digest_challenge_is_answered_with_credentials() {
    let r = run(
        "uas_401_challenge.xml",
        3,
        &[
            "--rate",
            "20",
            "--auth-user",
            "alice",
            "--auth-password",
            "secret",
        ],
    );
    assert_eq!(r["answered"], 3, "{r}");
    assert_eq!(r["failed"].as_object().map(|o| o.len()), Some(0), "{r}");
}

#[test]
fn early_media_183_then_answer() {
    let r = run("uas_183_early_media.xml", 2, &["--rate", "20"]);
    assert_eq!(r["answered"], 2, "{r}");
    assert_eq!(r["early_media"], 2, "each call's 183 carried SDP: {r}");
}

#[test]
fn far_end_bye_mid_call_ends_the_call() {
    let r = run(
        "uas_far_end_bye.xml",
        2,
        &["--rate", "20", "--hold-ms", "10000"],
    );
    assert_eq!(r["answered"], 2, "{r}");
    assert_eq!(r["remote_hangups"], 2, "{r}");
    assert!(
        r["wall_seconds"].as_f64().unwrap_or(99.0) < 8.0,
        "BYE must end the hold early: {r}"
    );
}

#[test]
fn retransmission_saves_a_dropped_first_invite() {
    // -nr: SIPp must not swallow the retransmission as a duplicate of the ignored INVITE.
    let r = run_with("uas_drop_first_invite.xml", 2, &["-nr"], &["--rate", "20"]);
    assert_eq!(r["answered"], 2, "{r}");
    assert!(r["retransmissions"].as_u64().unwrap_or(0) >= 2, "{r}");
    // Answered only after Timer A's first retransmission, T1 = 500 ms later.
    assert!(r["setup_ms"]["p50"].as_f64().unwrap_or(0.0) >= 490.0, "{r}");
}

#[test]
fn a_session_timer_is_refreshed_by_update_while_the_call_lasts() {
    // SIPp answers with Session-Expires: 4;refresher=uac and insists on two UPDATEs (at 2 s
    // and 4 s) before the BYE at 5 s; a caller that never refreshed would fail the scenario.
    let r = run(
        "uas_session_timer.xml",
        2,
        &[
            "--rate",
            "10",
            "--hold-ms",
            "5000",
            "--session-expires-s",
            "1800",
        ],
    );
    assert_eq!(r["answered"], 2, "{r}");
}
