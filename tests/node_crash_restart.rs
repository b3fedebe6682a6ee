//! A node is killed with SIGKILL three times in the middle of an agentless campaign, with calls
//! in flight, and started again each time on the same data: the job resumes by itself and
//! finishes; no contact is lost; every attempt that was in flight at a kill ends
//! `recovered-after-failover` (and only those); no attempt reaches the peer twice and every
//! INVITE the peer saw belongs to exactly one recorded attempt; no contact is dialed twice at
//! once across the restarts (docs/design.md §6, invariants 1 and 2).

mod support;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use support::node::*;
use support::*;

const CONTACTS: usize = 300;

const RETRY: [(&str, u64, u32); 6] = [
    ("busy", 1, 3),
    ("no-answer", 1, 2),
    ("network-failure", 1, 3),
    ("timeout", 1, 3),
    ("no-media-resource", 1, 3),
    ("recovered-after-failover", 1, 3),
];

/// Calls ring 300 to 800 ms, answered ones then hear the 1 s message: ~50 calls in flight at
/// 50 calls/s, so a kill always catches some.
const PROFILE: &str = "seed = 424242\n\
[[outcome]]\nkind = \"answer\"\nweight = 60\nring_ms = [300, 800]\n\
[[outcome]]\nkind = \"busy\"\nweight = 25\nring_ms = [100, 400]\n\
[[outcome]]\nkind = \"remote-hangup\"\nweight = 15\nring_ms = [300, 800]\nhangup_after_ms = [100, 300]\n";

/// Kill when the current run has launched this many attempts and has at least
/// `MIN_IN_FLIGHT` calls up.
const KILL_AFTER_ATTEMPTS: [u64; 3] = [30, 80, 50];
const MIN_IN_FLIGHT: u64 = 5;

#[test]
fn sigkill_mid_campaign_loses_nothing_and_dials_nothing_twice() {
    let started = wall_now();
    let dir = tempfile::tempdir().expect("temp dir");
    let profile = dir.path().join("peer-ring.toml");
    std::fs::write(&profile, PROFILE).expect("write the peer profile");
    let record = dir.path().join("peer-record.tsv");
    let (peer, peer_addr) =
        outdial_peer(Some(profile.to_str().expect("utf-8 path")), Some(&record));
    let mut node = Node::start(
        dir.path(),
        "node-crash",
        &[MppConf::new("peer", peer_addr, 1000)],
    );
    let (_campaign, job) = node.create_campaign(&agentless_campaign(
        "crash-restart",
        50.0,
        500,
        3000,
        &RETRY,
    ));
    let report = node.upload_csv(job, &contacts_csv(CONTACTS));
    assert_eq!(report["imported"], CONTACTS as u64, "{report}");
    node.start_job(job);

    // (in flight just before the kill, attempts resolved by the restart after it)
    let mut kills: Vec<(u64, u64)> = Vec::new();
    let mut epoch = node.get_json("/v1/node")["epoch"].as_u64().unwrap_or(0);
    assert_eq!(epoch, 1, "a fresh node takes its zone under epoch 1");
    for (round, &after) in KILL_AFTER_ATTEMPTS.iter().enumerate() {
        let before = node.wait_job(job, Duration::from_secs(30), "calls in flight", |v| {
            v["stats"]["attempts"].as_u64().unwrap_or(0) >= after
                && v["stats"]["in_flight"].as_u64().unwrap_or(0) >= MIN_IN_FLIGHT
        });
        assert_eq!(before["job"]["state"], "running", "round {round}: {before}");
        let in_flight = before["stats"]["in_flight"].as_u64().unwrap_or(0);
        node.kill9();
        node.restart();
        let status = node.get_json("/v1/node");
        // Each restart takes the zone under the next fencing epoch.
        let new_epoch = status["epoch"].as_u64().unwrap_or(0);
        assert_eq!(new_epoch, epoch + 1, "round {round}: {status}");
        epoch = new_epoch;
        let recovered = status["recovered_attempts"]
            .as_u64()
            .unwrap_or_else(|| panic!("{status}"));
        assert!(
            recovered > 0,
            "round {round}: killed with {in_flight} calls in flight, yet the restart resolved none: {status}"
        );
        kills.push((in_flight, recovered));
        // The job resumes by itself: it was Running.
        let v = node.job(job);
        assert_eq!(
            v["job"]["state"], "running",
            "round {round}: the job did not resume: {v}"
        );
    }

    let over = node.wait_job_over(job, Duration::from_secs(90));
    assert_eq!(over["job"]["state"], "finished", "{over}");
    let c = &over["contacts"];
    assert_eq!(c["total"], CONTACTS as u64, "no contact lost: {over}");
    assert_eq!(c["final_"], CONTACTS as u64, "every contact final: {over}");
    assert_eq!(
        (c["ready"].as_u64(), c["in_flight"].as_u64()),
        (Some(0), Some(0)),
        "{over}"
    );

    let attempts = node.attempts(job);
    check_histories(&attempts);
    check_no_concurrent_dials(&attempts);
    check_retry_sequences(&attempts, &retry_rules(&RETRY));
    assert_eq!(
        by_contact(&attempts).len(),
        CONTACTS,
        "every contact dialed"
    );

    // Exactly the attempts the restarts resolved ended recovered-after-failover.
    let recovered_total: u64 = kills.iter().map(|k| k.1).sum();
    let codes = code_counts(&attempts);
    assert_eq!(
        codes.get("recovered-after-failover").copied().unwrap_or(0),
        recovered_total,
        "recovered-after-failover attempts vs what the restarts reported ({kills:?}): {codes:?}"
    );

    // The peer's side: every INVITE dialog it saw is one recorded attempt, none twice.
    let p: serde_json::Value =
        serde_json::from_str(peer.terminate().trim()).expect("peer JSON report");
    assert_eq!(p["repeated_call_ids"], 0, "{p}");
    let lines = record_call_ids(&record);
    let by_id: HashMap<u64, &AttemptView> = attempts.iter().map(|a| (a.id, a)).collect();
    let mut reached: HashSet<u64> = HashSet::new();
    for (cid, uri, _) in &lines {
        let id = attempt_of_call_id(&node, cid);
        assert!(
            reached.insert(id),
            "attempt {id} ({cid}) reached the peer twice"
        );
        let a = by_id.get(&id).unwrap_or_else(|| {
            panic!("the peer saw {cid} ({uri}) but no attempt {id} is recorded")
        });
        assert_eq!(
            uri_phone(uri),
            phone_of_contact(&attempts, &lines, &node, a.contact),
            "attempt {id}: contact {} dialed two numbers",
            a.contact
        );
    }
    // An attempt the peer never saw was durable as Dialing but killed before its INVITE left:
    // only a recovered one may be missing.
    for a in &attempts {
        if !reached.contains(&a.id) {
            assert_eq!(
                a.code.as_deref(),
                Some("recovered-after-failover"),
                "attempt {} never reached the peer yet ended {:?}: {}",
                a.id,
                a.code,
                a.raw
            );
        }
    }
    eprintln!(
        "node_crash_restart: kills (in flight, recovered) {kills:?}; {} attempts, {} INVITE dialogs; {codes:?}; {:?}",
        attempts.len(),
        lines.len(),
        started.elapsed()
    );
}

/// The number the first recorded INVITE of `contact` went to.
fn phone_of_contact(
    attempts: &[AttemptView],
    lines: &[(String, String, String)],
    node: &Node,
    contact: u64,
) -> String {
    let ids: HashSet<u64> = attempts
        .iter()
        .filter(|a| a.contact == contact)
        .map(|a| a.id)
        .collect();
    lines
        .iter()
        .find(|(cid, _, _)| ids.contains(&attempt_of_call_id(node, cid)))
        .map(|(_, uri, _)| uri_phone(uri).to_owned())
        .unwrap_or_default()
}
