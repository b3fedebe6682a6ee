//! `outdial loadtest --scenario` with injection files (SIPp's `-inf`, here `--inf`): a
//! SEQUENTIAL file read line by line per call, wrapping, with its comment lines skipped; a
//! RANDOM file picked per call by `file=`; a missing field left empty. What reached the far
//! end is read from SIPp's own message log.

mod support;

use support::scenario::*;
use support::*;

/// The values of header `name` in the INVITEs SIPp logged, in arrival order.
fn invite_headers(log: &str, name: &str) -> Vec<String> {
    let prefix = format!("{name}:");
    log.split("INVITE sip:")
        .skip(1)
        .filter_map(|m| {
            m.lines()
                .find(|l| l.starts_with(&prefix))
                .map(|l| l[prefix.len()..].trim().to_owned())
        })
        .collect()
}

#[test]
fn injected_fields_reach_the_far_end_in_file_order_and_at_random() {
    let dir = tempfile::tempdir().expect("temp dir");
    let uas = sipp_dump("uas", dir.path());
    let log = dir.path().join("uas_messages.log");
    let log_arg = log.to_str().expect("utf-8");
    let users = root().join("tests/sipp/inject_users.csv");
    let callees = root().join("tests/sipp/inject_callees.csv");
    let scenario = root().join("tests/sipp/uac_inject.xml");
    let (o, status) = play_against(
        uas.to_str().expect("utf-8"),
        7,
        &["-trace_msg", "-message_file", log_arg],
        &scenario,
        &[
            "--rate",
            "10",
            "--inf",
            users.to_str().expect("utf-8"),
            "--inf",
            callees.to_str().expect("utf-8"),
            "--seed",
            "7",
        ],
    );
    assert_eq!(o.code, Some(0), "{o:?}");
    assert_eq!((o.successful(), o.failed_calls()), (7, 0), "{o:?}");
    assert!(status.is_some_and(|s| s.success()), "sipp uas: {status:?}");
    let text = std::fs::read_to_string(&log).expect("SIPp's message log");
    // Calls 1..7 take lines 0,1,2,0,1,2,0 of the SEQUENTIAL file.
    assert_eq!(
        invite_headers(&text, "X-Caller"),
        ["alice", "bob", "carol", "alice", "bob", "carol", "alice"]
    );
    let froms = invite_headers(&text, "From");
    assert!(
        froms[1].starts_with("\"Bob Marley\" <sip:bob@"),
        "{froms:?}"
    );
    assert!(invite_headers(&text, "X-Missing-Field")
        .iter()
        .all(String::is_empty));
    // The callee comes from the RANDOM file, the same value in the Request-URI and To.
    let tos = invite_headers(&text, "To");
    let callees: Vec<&str> = tos
        .iter()
        .map(|t| {
            t.trim_start_matches("<sip:")
                .split('@')
                .next()
                .unwrap_or("")
        })
        .collect();
    assert_eq!(callees.len(), 7);
    assert!(
        callees
            .iter()
            .all(|c| ["1001", "1002", "1003", "1004"].contains(c)),
        "{callees:?}"
    );
    let mut distinct = callees.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(
        distinct.len() > 1,
        "seven random picks were all {distinct:?}"
    );
    let uris: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("INVITE sip:"))
        .map(|l| l.split('@').next().unwrap_or("").to_owned())
        .collect();
    assert_eq!(uris, callees, "Request-URI and To name the same callee");
}

#[test]
fn a_field_without_an_injection_file_is_refused() {
    let scenario = root().join("tests/sipp/uac_inject.xml");
    let path = scenario.to_str().expect("utf-8");
    let o = loadtest_outcome(
        &[
            "--target",
            "127.0.0.1:9",
            "--rate",
            "1",
            "--calls",
            "1",
            "--scenario",
            path,
        ],
        std::time::Duration::from_secs(30),
    );
    assert_eq!(o.code, Some(255), "{o:?}");
    let line = line_of(&scenario, "<send retrans=\"500\">");
    assert!(
        o.stderr.contains(&format!(
            "{path}:{line}: <send>: [field0 file=\"inject_callees.csv\"] names injection file"
        )),
        "{}",
        o.stderr
    );
}
