//! A node dials an agentless campaign into `outdial peer` with the mixed customer profile
//! (configs/peer-mixed.toml): every attempt ends with the code the peer's outcome means, each
//! contact's attempts follow the campaign's retry table to a final state, the peer saw exactly
//! one INVITE dialog per attempt (its Call-ID derived from the attempt id), and no contact was
//! dialed twice at once.

mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use support::node::*;
use support::*;

const CONTACTS: usize = 200;

/// busy 1 s x3, no-answer 1 s x2; the codes the profile should never produce retry fast too,
/// so a glitch shows up as a wrong code below rather than as a job waiting minutes.
const RETRY: [(&str, u64, u32); 6] = [
    ("busy", 1, 3),
    ("no-answer", 1, 2),
    ("network-failure", 1, 3),
    ("timeout", 1, 3),
    ("no-media-resource", 1, 3),
    ("recovered-after-failover", 1, 3),
];

/// The completion code a peer outcome means for an agentless call.
fn expected_code(outcome: &str) -> &'static str {
    match outcome {
        "answer" | "remote-hangup" => "answered-human",
        "busy" => "busy",
        "no-answer" => "no-answer",
        "decline" => "declined",
        "invalid-number" => "invalid-number",
        "unavailable" => "network-failure",
        other => panic!("unknown peer outcome {other:?}"),
    }
}

#[test]
fn every_contact_ends_as_the_peer_and_the_retry_table_say() {
    let started = wall_now();
    let dir = tempfile::tempdir().expect("temp dir");
    let record = dir.path().join("peer-record.tsv");
    let (peer, peer_addr) = outdial_peer(Some("peer-mixed.toml"), Some(&record));
    let node = Node::start(
        dir.path(),
        "node-mixed",
        &[MppConf::new("peer", peer_addr, 1000)],
    );

    let (_campaign, job) =
        node.create_campaign(&agentless_campaign("peer-mixed", 50.0, 200, 1500, &RETRY));
    let report = node.upload_csv(job, &contacts_csv(CONTACTS));
    assert_eq!(report["imported"], CONTACTS as u64, "{report}");
    node.start_job(job);

    let over = node.wait_job_over(job, Duration::from_secs(90));
    assert_eq!(over["job"]["state"], "finished", "{over}");
    let c = &over["contacts"];
    assert_eq!(c["total"], CONTACTS as u64, "{over}");
    assert_eq!(c["final_"], CONTACTS as u64, "every contact final: {over}");
    assert_eq!(
        (c["ready"].as_u64(), c["in_flight"].as_u64()),
        (Some(0), Some(0)),
        "{over}"
    );

    let attempts = node.attempts(job);
    check_histories(&attempts);
    check_no_concurrent_dials(&attempts);
    let rules = retry_rules(&RETRY);
    check_retry_sequences(&attempts, &rules);
    assert_eq!(
        by_contact(&attempts).len(),
        CONTACTS,
        "every contact dialed"
    );
    assert_eq!(over["stats"]["attempts"], attempts.len() as u64, "{over}");

    // The peer's side, flushed by its SIGTERM.
    let p: serde_json::Value =
        serde_json::from_str(peer.terminate().trim()).expect("peer JSON report");
    assert_eq!(p["repeated_call_ids"], 0, "no Call-ID dialed twice: {p}");
    let lines = record_call_ids(&record);
    assert_eq!(
        lines.len(),
        attempts.len(),
        "one INVITE dialog per attempt (peer {p})"
    );
    assert_eq!(p["dialogs"], attempts.len() as u64, "{p}");
    let mut outcome_of: HashMap<u64, (String, String)> = HashMap::new();
    for (cid, uri, outcome) in &lines {
        let id = attempt_of_call_id(&node, cid);
        assert!(
            outcome_of
                .insert(id, (uri.clone(), outcome.clone()))
                .is_none(),
            "attempt {id} ({cid}) reached the peer twice"
        );
    }
    let ids: HashSet<u64> = attempts.iter().map(|a| a.id).collect();
    let recorded: HashSet<u64> = outcome_of.keys().copied().collect();
    assert_eq!(
        ids, recorded,
        "the peer's Call-IDs are exactly the attempts'"
    );

    // Each attempt ended with the code its peer outcome means, and every attempt of a contact
    // dialed the same number, distinct from every other contact's.
    let mut phone_of: BTreeMap<u64, String> = BTreeMap::new();
    let mut wrong = Vec::new();
    for a in &attempts {
        let (uri, outcome) = &outcome_of[&a.id];
        let want = expected_code(outcome);
        if a.code.as_deref() != Some(want) {
            wrong.push(format!(
                "attempt {} peer {outcome} -> {:?}, want {want}",
                a.id, a.code
            ));
        }
        let ph = uri_phone(uri).to_owned();
        let prev = phone_of.entry(a.contact).or_insert_with(|| ph.clone());
        assert_eq!(*prev, ph, "contact {} dialed two numbers", a.contact);
    }
    assert!(
        wrong.is_empty(),
        "{} attempts with the wrong code: {wrong:#?}",
        wrong.len()
    );
    let phones: HashSet<&String> = phone_of.values().collect();
    assert_eq!(phones.len(), CONTACTS, "one number per contact");
    let generated: HashSet<String> = (0..CONTACTS).map(phone).collect();
    assert!(
        phones.iter().all(|p| generated.contains(*p)),
        "a number not in the list was dialed"
    );

    // The mix really exercised retries.
    let codes = code_counts(&attempts);
    for k in [
        "answered-human",
        "busy",
        "no-answer",
        "declined",
        "invalid-number",
    ] {
        assert!(
            codes.get(k).copied().unwrap_or(0) > 0,
            "no {k} in {codes:?}"
        );
    }
    assert!(
        attempts.len() > CONTACTS,
        "some contacts were retried: {codes:?}"
    );
    eprintln!(
        "node_peer_mixed: {} attempts {codes:?} in {:?}",
        attempts.len(),
        started.elapsed()
    );
}
