//! A node dials an agentless campaign against SIPp's built-in UAS (`sipp -sn uas`), which
//! answers every call: every contact ends answered-human after exactly one attempt, SIPp saw
//! exactly one INVITE dialog per recorded attempt (same Call-IDs), and no number was dialed
//! twice at once.
//!
//! SIPp's INVITEs are counted from its message log (`-trace_msg -message_file FILE`): every
//! received message is logged with its start line and headers; the distinct Call-IDs of the
//! received `INVITE sip:` requests are the dialogs it saw (a retransmitted INVITE logs again
//! under the same Call-ID, so counting lines alone could overcount).

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use support::node::*;
use support::*;

const CONTACTS: usize = 200;

#[test]
fn node_dials_every_contact_once_against_sipp_uas() {
    let started = wall_now();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_udp_port();
    let msg_log = dir.path().join("sipp-messages.log");
    let msg_log_arg = msg_log.display().to_string();
    let uas = sipp_uas(None, port, &["-trace_msg", "-message_file", &msg_log_arg]);
    let sipp_addr = format!("127.0.0.1:{port}").parse().expect("addr");
    // One OPTIONS probe at start-up, then none for 10 minutes: SIPp's UAS scenario treats an
    // OPTIONS as an unexpected call, which must not mark the MPP down mid-test.
    let node = Node::start(
        dir.path(),
        "node-sipp",
        &[MppConf::new("sipp", sipp_addr, 600_000)],
    );

    let retry = [
        ("busy", 1, 3),
        ("no-answer", 1, 2),
        ("network-failure", 1, 3),
        ("timeout", 1, 3),
        ("no-media-resource", 1, 3),
    ];
    let (_campaign, job) =
        node.create_campaign(&agentless_campaign("sipp-uas", 50.0, 200, 3000, &retry));
    let report = node.upload_csv(job, &contacts_csv(CONTACTS));
    assert_eq!(report["imported"], CONTACTS as u64, "{report}");
    assert_eq!(report["rejected"], 0, "{report}");
    node.start_job(job);

    let over = node.wait_job_over(job, Duration::from_secs(60));
    assert_eq!(over["job"]["state"], "finished", "{over}");
    let c = &over["contacts"];
    assert_eq!(c["total"], CONTACTS as u64, "{over}");
    assert_eq!(c["final_"], CONTACTS as u64, "every contact final: {over}");
    assert_eq!(c["ready"], 0, "{over}");
    assert_eq!(c["in_flight"], 0, "{over}");

    let attempts = node.attempts(job);
    check_histories(&attempts);
    check_no_concurrent_dials(&attempts);
    let codes = code_counts(&attempts);
    assert_eq!(
        codes.get("answered-human").copied(),
        Some(CONTACTS as u64),
        "SIPp answers every call, so every contact ends answered-human after one attempt: {codes:?}"
    );
    assert_eq!(
        attempts.len(),
        CONTACTS,
        "one attempt per contact: {codes:?}"
    );
    assert_eq!(
        by_contact(&attempts).len(),
        CONTACTS,
        "every contact dialed"
    );
    assert_eq!(over["stats"]["attempts"], CONTACTS as u64, "{over}");
    assert_eq!(over["stats"]["in_flight"], 0, "{over}");

    // SIPp's side: stop it (SIGTERM flushes its logs), then read the INVITE dialogs it saw.
    drop(uas.terminate());
    let seen = sipp_invite_call_ids(&msg_log);
    assert_eq!(
        seen.len(),
        attempts.len(),
        "SIPp saw {} INVITE dialogs for {} attempts",
        seen.len(),
        attempts.len()
    );
    // Call-IDs are random after their attempt's prefix: map each back to its attempt.
    let seen: BTreeSet<u64> = seen.iter().map(|c| attempt_of_call_id(&node, c)).collect();
    let ours: BTreeSet<u64> = attempts.iter().map(|a| a.id).collect();
    assert_eq!(
        seen, ours,
        "SIPp's INVITE Call-IDs name exactly the attempts, each once"
    );
    let metrics = node.get("/metrics").1;
    assert!(
        metrics.contains(&format!("outdial_invites_sent_total {CONTACTS}")),
        "one INVITE per attempt in /metrics: {metrics}"
    );
    eprintln!("node_sipp_uas: {:?}", started.elapsed());
}

/// Distinct Call-IDs of the INVITE requests SIPp received, from its `-trace_msg` log.
fn sipp_invite_call_ids(log: &std::path::Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(log)
        .unwrap_or_else(|e| panic!("no SIPp message log at {}: {e}", log.display()));
    let mut ids = BTreeSet::new();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if !l.contains("message received") {
            continue;
        }
        // The message follows a blank line: its start line, then its headers.
        let mut start = None;
        let mut call_id = None;
        for m in lines.by_ref() {
            let t = m.trim();
            if start.is_none() {
                if !t.is_empty() {
                    start = Some(t.to_owned());
                }
                continue;
            }
            if t.is_empty() {
                break;
            }
            if let Some((k, v)) = t.split_once(':') {
                let k = k.trim();
                if k.eq_ignore_ascii_case("call-id") || k == "i" {
                    call_id = Some(v.trim().to_owned());
                }
            }
        }
        if start
            .as_deref()
            .is_some_and(|s| s.starts_with("INVITE sip:"))
        {
            ids.insert(
                call_id.unwrap_or_else(|| panic!("an INVITE without Call-ID in {}", log.display())),
            );
        }
    }
    ids
}
