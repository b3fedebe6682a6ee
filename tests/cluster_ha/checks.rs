//! What every cluster scenario must hold at its end: the invariants over the attempts and
//! contacts, and what each desktop lived through.

use super::*;

/// docs/design.md §6 over `jobs`, against SIPp's record of INVITEs; returns the attempts.
pub(crate) fn check_invariants(
    c: &Cluster,
    via: &str,
    jobs: &[u64],
    log: &Path,
) -> Vec<AttemptView> {
    let mut all = Vec::new();
    for job in jobs {
        let v = c.node(via).get_json(&format!("/v1/jobs/{job}"));
        let counts = &v["contacts"];
        assert_eq!(
            counts["in_flight"], 0,
            "job {job}: contacts left in flight: {v}"
        );
        assert_eq!(
            counts["ready"], 0,
            "job {job}: contacts never finished: {v}"
        );
        assert_eq!(
            counts["final_"], CONTACTS as u64,
            "job {job}: contacts lost: {v}"
        );
        let attempts = attempts_of(c.node(via), *job);
        let dialed: Vec<AttemptView> = attempts
            .iter()
            .filter(|a| !(a.code.as_deref() == Some("no-media-resource") && a.history.len() == 1))
            .cloned()
            .collect();
        check_histories(&dialed);
        check_no_concurrent_dials(&attempts);
        all.extend(attempts);
    }

    // One master per zone per epoch; a newer epoch dials only after the older one's last dial.
    let mut by_epoch: BTreeMap<(String, u64), BTreeSet<String>> = BTreeMap::new();
    let mut spans: BTreeMap<(String, u64), (u64, u64)> = BTreeMap::new();
    let zone_of_job: HashMap<u64, String> = jobs
        .iter()
        .map(|j| {
            let v = c.node(via).get_json(&format!("/v1/jobs/{j}"));
            (*j, v["job"]["zone"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    for a in &all {
        let node = a.raw["node"].as_str().unwrap_or_default().to_owned();
        let epoch = a.raw["epoch"].as_u64().unwrap_or(0);
        let job = a.raw["job"].as_u64().unwrap_or(0);
        let zone = zone_of_job.get(&job).cloned().unwrap_or_default();
        by_epoch
            .entry((zone.clone(), epoch))
            .or_default()
            .insert(node);
        if let Some((t, _)) = a.history.iter().find(|(_, s)| s == "dialing") {
            let e = spans.entry((zone, epoch)).or_insert((*t, *t));
            e.0 = e.0.min(*t);
            e.1 = e.1.max(*t);
        }
    }
    for ((zone, epoch), nodes) in &by_epoch {
        assert_eq!(
            nodes.len(),
            1,
            "zone {zone} epoch {epoch} had masters {nodes:?}"
        );
    }
    let mut last: HashMap<String, (u64, u64)> = HashMap::new();
    for ((zone, epoch), (first, lastt)) in &spans {
        if let Some((e0, end)) = last.get(zone) {
            assert!(
                first >= end,
                "zone {zone}: epoch {epoch} dialed at {first} before epoch {e0} stopped at {end}"
            );
        }
        last.insert(zone.clone(), (*epoch, *lastt));
    }

    // SIPp's side: every INVITE dialog is one recorded attempt of the node that sent it.
    let invites = sipp_invites(log);
    assert!(
        !invites.is_empty(),
        "SIPp recorded no INVITE in {}",
        log.display()
    );
    let by_id: HashMap<u64, &AttemptView> = all.iter().map(|a| (a.id, a)).collect();
    let mut reached = BTreeSet::new();
    for (call_id, branches) in &invites {
        let (id, hash) = call_id_parts(call_id);
        assert_eq!(
            branches.len(),
            1,
            "attempt {id} ({call_id}) was sent as {} INVITE transactions",
            branches.len()
        );
        let a = by_id
            .get(&id)
            .unwrap_or_else(|| panic!("SIPp saw {call_id} but no node recorded attempt {id}"));
        let node = a.raw["node"].as_str().unwrap_or_default();
        assert_eq!(
            node_hash(node),
            hash,
            "attempt {id} was recorded by {node} but {call_id} came from another node"
        );
        assert!(
            reached.insert(id),
            "attempt {id} was dialed under two Call-IDs (the second {call_id})"
        );
    }
    for a in &all {
        if !reached.contains(&a.id) {
            let code = a.code.as_deref().unwrap_or_default();
            assert!(
                NEVER_SENT_CODES.contains(&code),
                "attempt {} never reached SIPp yet ended {code}: {}",
                a.id,
                a.raw
            );
        }
    }
    all
}

/// A desktop moved only to a node that served its zone, and ends on `node`.
pub(crate) fn check_desktops(
    sessions: &[&(String, Vec<Session>)],
    moved_to: &str,
    api_of: &HashMap<String, String>,
) {
    let api = &api_of[moved_to];
    for (agent, list) in sessions {
        assert!(
            list.iter()
                .any(|s| &s.node == api && s.report.logged_in > Duration::ZERO),
            "{agent} never logged in on {moved_to} ({api}): {:?}",
            list.iter()
                .map(|s| (&s.node, s.report.logged_in, &s.report.failure))
                .collect::<Vec<_>>()
        );
        for s in list {
            if let Some(code) = s.report.error_codes.keys().find(|c| *c == "not-master") {
                panic!(
                    "{agent}: a node that did not serve the zone was tried ({code}) at {}",
                    s.node
                );
            }
        }
    }
}
