//! The PostgreSQL store against the `Store` contract (as the sled store meets it) and the
//! `Coordination` contract, on real servers: claims keep nodes' contacts disjoint and run out
//! with a dead node, fences reject a stale master's whole batch, leases take turns under
//! rising epochs, and the store survives being called from async code and a server restart.

#[path = "store_pg/claims.rs"]
mod claims;
#[path = "store_pg/mastership.rs"]
mod mastership;
#[path = "../../../tests/support/pg.rs"]
mod pg;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{mpsc, Arc, Barrier};
use std::time::{Duration, Instant};

use outdial_core::domain::{
    Attempt, AttemptId, AttemptState, CampaignId, CompletionCode, Contact, ContactId, ContactState,
    JobId,
};
use outdial_node::cluster::coordination::{zone_lease, Coordination, NodeBeat};
use outdial_node::storage::pg_store::PgOptions;
use outdial_node::storage::{
    CampaignRecord, ContactCounts, Fence, Job, JobState, PgStore, Store, StoreError, Write,
    ZoneOwner,
};
use pg::PgServer;

const TTL: Duration = Duration::from_secs(30);

fn server() -> PgServer {
    PgServer::start().unwrap_or_else(|e| panic!("{e}"))
}

fn connect(srv: &PgServer, node: &str) -> PgStore {
    PgStore::connect(&srv.url(), node).unwrap_or_else(|e| panic!("connect {node}: {e}"))
}

/// The wall clock, for bounded waits on the server (the test's one clock read).
#[allow(clippy::disallowed_methods)]
fn wall_now() -> Instant {
    Instant::now()
}

/// Calls `f` until it gives a value, failing the test after `limit`.
fn poll_until<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = wall_now() + limit;
    let (_tx, pause) = mpsc::channel::<()>();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(wall_now() < deadline, "{what}: not within {limit:?}");
        let _ = pause.recv_timeout(Duration::from_millis(20));
    }
}

fn contact(job: u64, id: u64, not_before: u64) -> Contact {
    Contact {
        id: ContactId(id),
        job: JobId(job),
        phone: format!("+1212555{id:04}"),
        tz: Some("America/New_York".into()),
        fields: BTreeMap::from([("name".to_string(), format!("c{id}"))]),
        attempts: 0,
        state: ContactState::Ready { not_before },
        last_code: None,
    }
}

fn attempt(job: u64, id: u64, contact: u64, state: AttemptState) -> Attempt {
    Attempt {
        id: AttemptId(id),
        job: JobId(job),
        contact: ContactId(contact),
        number: 1,
        state,
        history: vec![(1_000, AttemptState::Dialing)],
        sip_status: None,
        node: "node-a".into(),
        epoch: 3,
        amd: None,
    }
}

fn job(id: u64) -> Job {
    Job {
        id: JobId(id),
        campaign: CampaignId(1),
        zone: "east".into(),
        state: JobState::Running,
        created_at: 10,
        updated_at: 20,
    }
}

fn new(c: &Contact) -> Write {
    Write::Contact {
        contact: c.clone(),
        was: None,
    }
}

/// `c` moved to `state`, from the state it had.
fn moved(c: &Contact, state: ContactState) -> (Contact, Write) {
    let mut next = c.clone();
    next.state = state;
    let w = Write::Contact {
        contact: next.clone(),
        was: Some(c.state),
    };
    (next, w)
}

fn in_flight(attempt: u64) -> ContactState {
    ContactState::InFlight {
        attempt: AttemptId(attempt),
    }
}

fn counts(s: &dyn Store, job: u64) -> (u64, u64, u64, u64) {
    let ContactCounts {
        total,
        ready,
        in_flight,
        final_,
    } = s.contact_counts(JobId(job)).expect("counts");
    (total, ready, in_flight, final_)
}

fn ids(cs: &[Contact]) -> Vec<u64> {
    cs.iter().map(|c| c.id.0).collect()
}

#[test]
fn records_read_back_through_a_new_connection() {
    let srv = server();
    let campaign = CampaignRecord {
        id: CampaignId(1),
        name: "spring".into(),
        spec: r#"{"mode":"progressive","note":"quote \" and \\u0000"}"#.into(),
        created_at: 5,
    };
    let mut c = contact(7, 1, 0);
    c.fields.insert("city".into(), "Zürich \u{1F4DE}".into());
    let a = attempt(7, 1, 1, AttemptState::Dialing);
    let owner = ZoneOwner {
        zone: "east".into(),
        node: "node-a".into(),
        epoch: 4,
        since: 1_700_000_000_000,
    };
    {
        let s = connect(&srv, "node-a");
        s.commit(&[
            Write::Campaign(campaign.clone()),
            Write::Job(job(7)),
            new(&c),
            Write::Attempt(a.clone()),
            Write::ZoneOwner(owner.clone()),
        ])
        .expect("commit");
    }
    let s = connect(&srv, "node-b");
    assert_eq!(
        s.campaign(CampaignId(1)).expect("campaign"),
        Some(campaign.clone())
    );
    assert_eq!(s.campaigns().expect("campaigns"), vec![campaign]);
    assert_eq!(s.job(JobId(7)).expect("job"), Some(job(7)));
    assert_eq!(s.jobs().expect("jobs"), vec![job(7)]);
    assert_eq!(s.contact(JobId(7), ContactId(1)).expect("contact"), Some(c));
    assert_eq!(s.contact(JobId(8), ContactId(1)).expect("other job"), None);
    assert_eq!(s.attempts(JobId(7)).expect("attempts"), vec![a.clone()]);
    assert_eq!(s.transient_attempts().expect("transient"), vec![a]);
    assert_eq!(s.job(JobId(99)).expect("missing job"), None);
    assert_eq!(s.zone_owner("east").expect("owner"), Some(owner.clone()));
    assert_eq!(s.zone_owner("west").expect("no owner"), None);

    // Rewrites replace: a job's new state, the zone's next master.
    let mut paused = job(7);
    paused.state = JobState::Paused;
    paused.updated_at = 30;
    let next = ZoneOwner {
        node: "node-b".into(),
        epoch: 5,
        ..owner
    };
    s.commit(&[Write::Job(paused.clone()), Write::ZoneOwner(next.clone())])
        .expect("rewrite");
    assert_eq!(s.job(JobId(7)).expect("job"), Some(paused));
    assert_eq!(s.zone_owner("east").expect("owner"), Some(next));
}

#[test]
fn index_and_counters_follow_a_contact_through_its_life() {
    let srv = server();
    let s = connect(&srv, "node-a");
    let c = contact(1, 1, 0);
    let other = contact(1, 2, 0);
    s.commit(&[new(&c), new(&other)]).expect("load");
    assert_eq!(counts(&s, 1), (2, 2, 0, 0));
    assert_eq!(
        ids(&s.due_contacts(JobId(1), 0, 10).expect("due")),
        vec![1, 2]
    );

    // Picked and dialing: not due any more, attempt transient.
    let (flying, w) = moved(&c, in_flight(10));
    let mut a = attempt(1, 10, 1, AttemptState::Dialing);
    s.commit(&[w, Write::Attempt(a.clone())]).expect("dial");
    assert_eq!(counts(&s, 1), (2, 1, 1, 0));
    assert_eq!(
        ids(&s.due_contacts(JobId(1), u64::MAX, 10).expect("due")),
        vec![2]
    );
    assert_eq!(s.transient_attempts().expect("transient"), vec![a.clone()]);

    // Busy: retry in 10 minutes, due again at its new time.
    let retry_at = 600_000;
    let (mut retry, _) = moved(
        &flying,
        ContactState::Ready {
            not_before: retry_at,
        },
    );
    retry.last_code = Some(CompletionCode::Busy);
    a.state = AttemptState::Completed(CompletionCode::Busy);
    a.sip_status = Some(486);
    s.commit(&[
        Write::Attempt(a.clone()),
        Write::Contact {
            contact: retry.clone(),
            was: Some(flying.state),
        },
    ])
    .expect("busy");
    assert_eq!(counts(&s, 1), (2, 2, 0, 0));
    assert!(s.transient_attempts().expect("transient").is_empty());
    assert_eq!(
        ids(&s.due_contacts(JobId(1), retry_at - 1, 10).expect("due")),
        vec![2]
    );
    assert_eq!(
        ids(&s.due_contacts(JobId(1), retry_at, 10).expect("due")),
        vec![2, 1]
    );
    assert_eq!(s.next_due(JobId(1)).expect("next"), Some(0));

    // Second attempt answered: final, never due again.
    let mut flying2 = retry.clone();
    flying2.state = in_flight(11);
    flying2.attempts = 2;
    let w = Write::Contact {
        contact: flying2.clone(),
        was: Some(retry.state),
    };
    let mut a2 = attempt(1, 11, 1, AttemptState::Dialing);
    a2.number = 2;
    s.commit(&[w, Write::Attempt(a2.clone())]).expect("redial");
    let (done, w) = moved(
        &flying2,
        ContactState::Final {
            code: CompletionCode::AnsweredHuman,
        },
    );
    a2.state = AttemptState::Completed(CompletionCode::AnsweredHuman);
    s.commit(&[Write::Attempt(a2.clone()), w])
        .expect("answered");
    assert_eq!(counts(&s, 1), (2, 1, 0, 1));
    assert_eq!(
        ids(&s.due_contacts(JobId(1), u64::MAX, 10).expect("due")),
        vec![2]
    );
    assert_eq!(s.contact(JobId(1), ContactId(1)).expect("read"), Some(done));
    assert_eq!(s.attempts(JobId(1)).expect("attempts"), vec![a, a2]);

    // The last one goes final too: nothing due, nothing next.
    let (_, w) = moved(
        &other,
        ContactState::Final {
            code: CompletionCode::Blocked,
        },
    );
    s.commit(&[w]).expect("block");
    assert_eq!(counts(&s, 1), (2, 0, 0, 2));
    assert!(s
        .due_contacts(JobId(1), u64::MAX, 10)
        .expect("due")
        .is_empty());
    assert_eq!(s.next_due(JobId(1)).expect("next"), None);
}

#[test]
fn due_contacts_oldest_first_within_limit_and_job() {
    let srv = server();
    let s = connect(&srv, "node-a");
    // Ids and due times in different orders, so ordering by id would be caught.
    let due = [(1, 500), (2, 100), (3, 300), (4, 100), (5, 900), (6, 0)];
    let mut batch: Vec<Write> = due
        .iter()
        .map(|&(id, nb)| new(&contact(1, id, nb)))
        .collect();
    // Another job's contacts must never show up.
    batch.push(new(&contact(2, 7, 0)));
    batch.push(new(&contact(0, 8, 0)));
    s.commit(&batch).expect("load");

    assert_eq!(
        ids(&s.due_contacts(JobId(1), 1_000, 100).expect("due")),
        vec![6, 2, 4, 3, 1, 5]
    );
    assert_eq!(
        ids(&s.due_contacts(JobId(1), 300, 100).expect("due")),
        vec![6, 2, 4, 3]
    );
    assert_eq!(
        ids(&s.due_contacts(JobId(1), 1_000, 3).expect("due")),
        vec![6, 2, 4]
    );
    assert!(s.due_contacts(JobId(1), 1_000, 0).expect("due").is_empty());
    assert_eq!(s.next_due(JobId(1)).expect("next"), Some(0));
    assert_eq!(
        ids(&s.due_contacts(JobId(2), 1_000, 100).expect("due")),
        vec![7]
    );
    assert_eq!(s.next_due(JobId(3)).expect("next"), None);
    assert_eq!(counts(&s, 1), (6, 6, 0, 0));
    assert_eq!(counts(&s, 2), (1, 1, 0, 0));
    assert_eq!(counts(&s, 3), (0, 0, 0, 0));
}

#[test]
fn a_large_batch_lands_whole_last_write_wins_and_contacts_visit_in_id_order() {
    let srv = server();
    let s = connect(&srv, "node-a");
    const N: u64 = 5_000;
    // Ids in a scrambled order (7919 is prime to N), more than two pages of the visit.
    let mut batch: Vec<Write> = (0..N)
        .map(|i| new(&contact(3, (i * 7_919) % N + 1, i % 97)))
        .collect();
    // Contact 1 written twice in the batch: its second value (final) is what lands.
    let first = contact(3, 1, 0); // i = 0 above
    let (done, w) = moved(
        &first,
        ContactState::Final {
            code: CompletionCode::Busy,
        },
    );
    batch.push(w);
    let t = wall_now();
    s.commit(&batch).expect("load");
    eprintln!(
        "one commit of {} writes took {:?}",
        batch.len(),
        t.elapsed()
    );

    assert_eq!(counts(&s, 3), (N, N - 1, 0, 1));
    assert_eq!(s.contact(JobId(3), ContactId(1)).expect("read"), Some(done));
    let mut seen = Vec::new();
    s.for_each_contact(JobId(3), &mut |c| seen.push(c.id.0))
        .expect("visit");
    assert_eq!(seen, (1..=N).collect::<Vec<_>>());
    let mut none = 0;
    s.for_each_contact(JobId(4), &mut |_| none += 1)
        .expect("visit empty");
    assert_eq!(none, 0);
    // Due order over the whole job: by due time, then id.
    let due = s.due_contacts(JobId(3), 5, 10_000).expect("due");
    let keys: Vec<(u64, u64)> = due
        .iter()
        .map(|c| match c.state {
            ContactState::Ready { not_before } => (not_before, c.id.0),
            other => panic!("due contact {} is {other:?}", c.id),
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
    assert!(keys.iter().all(|&(nb, _)| nb <= 5));
    assert_eq!(
        keys.len() as u64,
        (0..N).filter(|i| i % 97 <= 5).count() as u64 - 1
    );
}

#[test]
fn transient_attempts_span_jobs_in_id_order() {
    let srv = server();
    let s = connect(&srv, "node-a");
    let states = [
        (3, 1, AttemptState::Ringing),
        (1, 2, AttemptState::Completed(CompletionCode::NoAnswer)),
        (2, 1, AttemptState::Pending),
        (4, 2, AttemptState::Connected),
        (5, 1, AttemptState::Completed(CompletionCode::Busy)),
    ];
    let batch: Vec<Write> = states
        .iter()
        .map(|&(id, job, st)| Write::Attempt(attempt(job, id, id, st)))
        .collect();
    s.commit(&batch).expect("commit");
    let t: Vec<u64> = s
        .transient_attempts()
        .expect("transient")
        .iter()
        .map(|a| a.id.0)
        .collect();
    assert_eq!(t, vec![2, 3, 4]);
    let of_job1: Vec<u64> = s
        .attempts(JobId(1))
        .expect("attempts")
        .iter()
        .map(|a| a.id.0)
        .collect();
    assert_eq!(of_job1, vec![2, 3, 5]);
}
