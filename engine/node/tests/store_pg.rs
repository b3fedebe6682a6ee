//! The PostgreSQL store against the `Store` contract (as the sled store meets it) and the
//! `Coordination` contract, on real servers: claims keep nodes' contacts disjoint and run out
//! with a dead node, fences reject a stale master's whole batch, leases take turns under
//! rising epochs, and the store survives being called from async code and a server restart.

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

#[test]
fn id_blocks_are_contiguous_across_connections_and_never_overlap_across_nodes() {
    let srv = server();
    let mut handed = Vec::new();
    for _ in 0..3 {
        let s = connect(&srv, "node-a");
        handed.push((s.allocate_ids("attempt", 10).expect("ids"), 10));
        handed.push((s.allocate_ids("attempt", 1).expect("ids"), 1));
        assert!(s.allocate_ids("contact", 5).expect("ids") >= 1);
    }
    assert_eq!(handed[0].0, 1, "ids start at 1");
    for w in handed.windows(2) {
        assert_eq!(w[1].0, w[0].0 + w[0].1, "contiguous blocks: {handed:?}");
    }
    let s = connect(&srv, "node-a");
    assert_eq!(s.allocate_ids("attempt", 0).expect("peek"), 34);
    assert_eq!(s.allocate_ids("contact", 1).expect("ids"), 16);
    assert!(matches!(
        s.allocate_ids("attempt", u64::MAX),
        Err(StoreError::Corrupt { .. })
    ));

    // Two nodes, two threads each, all drawing from one counter.
    let stores = [
        Arc::new(connect(&srv, "node-a")),
        Arc::new(connect(&srv, "node-b")),
    ];
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let s = Arc::clone(&stores[i % 2]);
            std::thread::spawn(move || {
                (0..50)
                    .map(|_| s.allocate_ids("x", 3).expect("ids"))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut firsts: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("join"))
        .collect();
    firsts.sort_unstable();
    assert_eq!(firsts, (0..200).map(|i| 1 + 3 * i).collect::<Vec<u64>>());
}

#[test]
fn counters_stay_exact_with_two_nodes_committing_at_once() {
    let srv = server();
    let stores = [
        Arc::new(connect(&srv, "node-a")),
        Arc::new(connect(&srv, "node-b")),
    ];
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let s = Arc::clone(&stores[t as usize % 2]);
            std::thread::spawn(move || {
                for i in 0..50 {
                    let c = contact(1, t * 1000 + i, 0);
                    s.commit(&[new(&c)]).expect("add");
                    if i % 2 == 0 {
                        let (_, w) = moved(
                            &c,
                            ContactState::Final {
                                code: CompletionCode::Busy,
                            },
                        );
                        s.commit(&[w]).expect("final");
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("join");
    }
    assert_eq!(counts(stores[0].as_ref(), 1), (200, 100, 0, 100));
    assert_eq!(counts(stores[1].as_ref(), 1), (200, 100, 0, 100));
}

#[test]
fn two_nodes_claim_disjoint_contacts_and_together_all_of_them() {
    let srv = server();
    let a = Arc::new(connect(&srv, "node-a"));
    let b = Arc::new(connect(&srv, "node-b"));

    // A claims ten and sits on them: B gets the rest, A gets its own ten again.
    let batch: Vec<Write> = (1..=30).map(|id| new(&contact(9, id, id))).collect();
    a.commit(&batch).expect("load");
    let of_a = ids(&a.due_contacts(JobId(9), 100, 10).expect("a"));
    assert_eq!(of_a, (1..=10).collect::<Vec<_>>());
    assert_eq!(
        ids(&b.due_contacts(JobId(9), 100, 100).expect("b")),
        (11..=30).collect::<Vec<_>>()
    );
    assert_eq!(
        ids(&a.due_contacts(JobId(9), 100, 10).expect("a again")),
        of_a
    );
    assert!(b.due_contacts(JobId(9), 100, 100).expect("b").len() == 20);
    // Claims describe who dials, not the contacts: counts and next due ignore them.
    assert_eq!(counts(a.as_ref(), 9), (30, 30, 0, 0));
    assert_eq!(b.next_due(JobId(9)).expect("next"), Some(1));
    // Released, A's ten go to whoever asks.
    assert_eq!(a.release_claims(JobId(9)).expect("release"), 10);
    assert_eq!(
        ids(&b.due_contacts(JobId(9), 100, 100).expect("b")),
        (1..=30).collect::<Vec<_>>()
    );
    // A contact write clears the claim: B's claimed contact 5, rescheduled, is A's to take.
    let c5 = b
        .contact(JobId(9), ContactId(5))
        .expect("read")
        .expect("c5");
    let (_, w) = moved(&c5, ContactState::Ready { not_before: 0 });
    b.commit(&[w]).expect("reschedule");
    assert_eq!(
        ids(&a.due_contacts(JobId(9), 100, 100).expect("a")),
        vec![5]
    );

    // Now both race over a thousand contacts, each dialing what it claims.
    const N: u64 = 1_000;
    let batch: Vec<Write> = (1..=N).map(|id| new(&contact(10, id, 0))).collect();
    a.commit(&batch).expect("load");
    let start = Arc::new(Barrier::new(2));
    let racers: Vec<_> = [Arc::clone(&a), Arc::clone(&b)]
        .into_iter()
        .map(|s| {
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                let mut got = Vec::new();
                start.wait();
                loop {
                    let due = s.due_contacts(JobId(10), 0, 25).expect("due");
                    if due.is_empty() {
                        return got;
                    }
                    let writes: Vec<Write> =
                        due.iter().map(|c| moved(c, in_flight(c.id.0)).1).collect();
                    s.commit(&writes).expect("dial");
                    got.extend(ids(&due));
                }
            })
        })
        .collect();
    let got: Vec<Vec<u64>> = racers
        .into_iter()
        .map(|t| t.join().expect("join"))
        .collect();
    let (ga, gb): (BTreeSet<u64>, BTreeSet<u64>) = (
        got[0].iter().copied().collect(),
        got[1].iter().copied().collect(),
    );
    assert_eq!(ga.len(), got[0].len(), "node A got a contact twice");
    assert_eq!(gb.len(), got[1].len(), "node B got a contact twice");
    assert!(
        ga.is_disjoint(&gb),
        "both nodes got {:?}",
        ga.intersection(&gb).collect::<Vec<_>>()
    );
    assert_eq!(
        ga.union(&gb).copied().collect::<Vec<_>>(),
        (1..=N).collect::<Vec<_>>()
    );
    assert!(
        !ga.is_empty() && !gb.is_empty(),
        "A got {}, B got {}",
        ga.len(),
        gb.len()
    );
    assert_eq!(counts(a.as_ref(), 10), (N, 0, N, 0));
}

#[test]
fn a_dead_nodes_claims_run_out_and_its_contacts_come_back() {
    let srv = server();
    let short = PgOptions {
        claim_ttl: Duration::from_millis(300),
        ..PgOptions::default()
    };
    let dead = PgStore::connect_with(&srv.url(), "node-dead", short).expect("connect");
    let alive = connect(&srv, "node-alive");
    let batch: Vec<Write> = (1..=5).map(|id| new(&contact(4, id, 0))).collect();
    alive.commit(&batch).expect("load");

    assert_eq!(
        ids(&dead.due_contacts(JobId(4), 0, 10).expect("claim")),
        vec![1, 2, 3, 4, 5]
    );
    drop(dead); // it never writes them nor releases them
    assert!(alive
        .due_contacts(JobId(4), 0, 10)
        .expect("claimed")
        .is_empty());
    let back = poll_until(
        Duration::from_secs(10),
        "the dead node's claims run out",
        || {
            let due = alive.due_contacts(JobId(4), 0, 10).expect("due");
            (!due.is_empty()).then_some(due)
        },
    );
    assert_eq!(ids(&back), vec![1, 2, 3, 4, 5]);
}

#[test]
fn a_new_master_takes_the_last_masters_claims_at_once() {
    let srv = server();
    let old = connect(&srv, "node-old");
    let new_master = connect(&srv, "node-new");
    let batch: Vec<Write> = (1..=4).map(|id| new(&contact(6, id, 0))).collect();
    old.commit(&batch).expect("load");
    assert_eq!(
        ids(&old.due_contacts(JobId(6), 0, 3).expect("claim")),
        vec![1, 2, 3]
    );
    // Without taking them over, the new master gets only what the old one left unclaimed.
    assert_eq!(
        ids(&new_master.due_contacts(JobId(6), 0, 10).expect("due")),
        vec![4]
    );
    // Its own claim survives; the old master's are cleared.
    assert_eq!(new_master.take_claims(JobId(6)).expect("take"), 3);
    assert_eq!(
        ids(&new_master.due_contacts(JobId(6), 0, 10).expect("due")),
        vec![1, 2, 3, 4]
    );
    assert!(old.due_contacts(JobId(6), 0, 10).expect("due").is_empty());
}

#[test]
fn a_do_not_call_number_added_through_one_node_reaches_the_others_once() {
    let srv = server();
    let a = connect(&srv, "node-a");
    let b = connect(&srv, "node-b");
    assert_eq!(b.do_not_call_since(0).expect("read"), (vec![], 0));
    a.add_do_not_call(&["+12125550001".to_owned(), "+12125550002".to_owned()])
        .expect("add");
    let (first, at) = b.do_not_call_since(0).expect("read");
    assert_eq!(first, vec!["+12125550001", "+12125550002"]);
    // Adding one again changes nothing; a new one comes after the last position read.
    a.add_do_not_call(&["+12125550002".to_owned(), "+12125550003".to_owned()])
        .expect("add");
    let (next, at2) = b.do_not_call_since(at).expect("read");
    assert_eq!(next, vec!["+12125550003"]);
    assert!(at2 > at);
    assert_eq!(
        b.do_not_call_since(at2).expect("read").0,
        Vec::<String>::new()
    );
}

/// One node's group commit carries batches for two zones; it lost one of them. Merged into
/// one commit or not, the stale zone's batches are refused and the other zone's all land.
#[test]
fn group_commit_refuses_only_the_stale_zones_batches() {
    let srv = server();
    let a = Arc::new(connect(&srv, "node-a"));
    let b = connect(&srv, "node-b");
    let fence_of = |zone: &str| {
        let lease = zone_lease(zone);
        let epoch = a
            .acquire(&lease, "node-a", TTL, &[])
            .expect("acquire")
            .expect("free");
        Fence {
            lease,
            node: "node-a".into(),
            epoch,
        }
    };
    let (kept, lost) = (fence_of("north"), fence_of("south"));
    b.acquire(&lost.lease, "node-b", TTL, &["node-a".into()])
        .expect("b")
        .expect("taken from node-a");
    let gc = outdial_node::storage::GroupCommit::new(a.clone(), 4_096);
    let tickets: Vec<_> = (1..=200u64)
        .map(|id| {
            let (job, fence) = if id % 2 == 0 { (8, &kept) } else { (9, &lost) };
            let t = gc.submit(vec![new(&contact(job, id, 0)), Write::Fence(fence.clone())]);
            (id, t)
        })
        .collect();
    for (id, t) in tickets {
        match (id % 2 == 0, t.wait()) {
            (true, Ok(())) | (false, Err(StoreError::Fenced { .. })) => {}
            (kept, other) => panic!("batch {id} (zone still held: {kept}) gave {other:?}"),
        }
    }
    let stats = gc.stats();
    drop(gc);
    assert_eq!(counts(a.as_ref(), 8), (100, 100, 0, 0));
    assert_eq!(counts(a.as_ref(), 9), (0, 0, 0, 0));
    assert!(stats.commits >= 2, "{stats:?}");
}

#[test]
fn a_fenced_batch_of_a_stale_master_lands_nothing() {
    let srv = server();
    let a = connect(&srv, "node-a");
    let b = connect(&srv, "node-b");
    let lease = zone_lease("east");
    let ea = a
        .acquire(&lease, "node-a", TTL, &[])
        .expect("a")
        .expect("free");
    let fence_a = Fence {
        lease: lease.clone(),
        node: "node-a".into(),
        epoch: ea,
    };
    // While A holds the lease its fenced batches land.
    let c1 = contact(7, 1, 0);
    a.commit(&[Write::Fence(fence_a.clone()), new(&c1)])
        .expect("a while master");
    assert_eq!(counts(&a, 7), (1, 1, 0, 0));

    // B sees A stop heartbeating and takes the zone under the next epoch.
    assert_eq!(b.acquire(&lease, "node-b", TTL, &[]).expect("b"), None);
    let eb = b
        .acquire(&lease, "node-b", TTL, &["node-a".into()])
        .expect("b")
        .expect("taken from a dead node");
    assert_eq!(eb, ea + 1);

    // A, unaware, commits under its old epoch: rejected whole, wherever the fence sits.
    let c2 = contact(7, 2, 0);
    let owner_a = ZoneOwner {
        zone: "east".into(),
        node: "node-a".into(),
        epoch: ea,
        since: 1,
    };
    let (_, w1) = moved(&c1, in_flight(1));
    let stale = a.commit(&[
        Write::Job(job(7)),
        w1,
        new(&c2),
        Write::Attempt(attempt(7, 1, 1, AttemptState::Dialing)),
        Write::ZoneOwner(owner_a),
        Write::Fence(fence_a.clone()),
    ]);
    match stale {
        Err(StoreError::Fenced {
            lease: l,
            node,
            epoch,
        }) => {
            assert_eq!(
                (l.as_str(), node.as_str(), epoch),
                (lease.as_str(), "node-a", ea)
            );
        }
        other => panic!("a stale master's batch gave {other:?}"),
    }
    assert_eq!(a.job(JobId(7)).expect("job"), None);
    assert_eq!(
        a.contact(JobId(7), ContactId(1)).expect("c1"),
        Some(c1.clone())
    );
    assert_eq!(a.contact(JobId(7), ContactId(2)).expect("c2"), None);
    assert!(a.attempts(JobId(7)).expect("attempts").is_empty());
    assert!(a.transient_attempts().expect("transient").is_empty());
    assert_eq!(a.zone_owner("east").expect("owner"), None);
    assert_eq!(counts(&a, 7), (1, 1, 0, 0));

    // The new master's fenced batch lands.
    let owner_b = ZoneOwner {
        zone: "east".into(),
        node: "node-b".into(),
        epoch: eb,
        since: 2,
    };
    let fence_b = Fence {
        lease: lease.clone(),
        node: "node-b".into(),
        epoch: eb,
    };
    b.commit(&[
        Write::Fence(fence_b),
        Write::Job(job(7)),
        new(&c2),
        Write::ZoneOwner(owner_b.clone()),
    ])
    .expect("b as master");
    assert_eq!(b.job(JobId(7)).expect("job"), Some(job(7)));
    assert_eq!(b.zone_owner("east").expect("owner"), Some(owner_b));
    assert_eq!(counts(&b, 7), (2, 2, 0, 0));

    // A lease nobody ever took fences everything off.
    let never = Fence {
        lease: "director".into(),
        node: "node-a".into(),
        epoch: 1,
    };
    assert!(matches!(
        a.commit(&[Write::Fence(never), Write::Job(job(8))]),
        Err(StoreError::Fenced { .. })
    ));
    assert_eq!(a.job(JobId(8)).expect("job"), None);
}

#[test]
fn leases_take_turns_under_rising_epochs_by_the_database_clock() {
    let srv = server();
    let s = connect(&srv, "node-a");
    let lease_of = |name: &str| {
        s.leases()
            .expect("leases")
            .into_iter()
            .find(|l| l.name == name)
            .unwrap_or_else(|| panic!("no lease {name}"))
    };
    assert_eq!(s.acquire("director", "a", TTL, &[]).expect("take"), Some(1));
    // Held and live: nobody else, even naming other dead nodes.
    assert_eq!(s.acquire("director", "b", TTL, &[]).expect("held"), None);
    assert_eq!(
        s.acquire("director", "b", TTL, &["c".into()])
            .expect("held"),
        None
    );
    // Its holder restarting takes it again, fencing its earlier run.
    assert_eq!(
        s.acquire("director", "a", TTL, &[]).expect("retake"),
        Some(2)
    );
    assert!(s.renew("director", "a", 2, TTL).expect("renew"));
    assert!(!s.renew("director", "a", 1, TTL).expect("old epoch"));
    assert!(!s.renew("director", "b", 2, TTL).expect("not holder"));
    // Taken from a dead holder.
    assert_eq!(
        s.acquire("director", "b", TTL, &["a".into()])
            .expect("steal"),
        Some(3)
    );
    assert!(!s.renew("director", "a", 2, TTL).expect("taken"));
    s.release("director", "a", 2)
        .expect("release by a non-holder");
    let l = lease_of("director");
    assert_eq!((l.node.as_deref(), l.epoch), (Some("b"), 3));
    assert!(l.remaining_ms > 0 && l.remaining_ms <= 30_000, "{l:?}");
    assert_eq!(l.live_holder(), Some("b"));

    // remaining_ms counts down by the database clock.
    let before = l.remaining_ms;
    let later = poll_until(Duration::from_secs(5), "remaining_ms decreases", || {
        let r = lease_of("director").remaining_ms;
        (r < before).then_some(r)
    });
    assert!(later > 0);

    // Released: free at once, epoch kept, next take bumps it.
    s.release("director", "b", 3).expect("release");
    let l = lease_of("director");
    assert_eq!((l.node, l.epoch, l.remaining_ms), (None, 3, 0));
    assert!(!s.renew("director", "b", 3, TTL).expect("released"));
    assert_eq!(s.acquire("director", "c", TTL, &[]).expect("free"), Some(4));

    // Run out: anyone may take it, and not before.
    assert_eq!(
        s.acquire("load-monitor", "a", Duration::from_millis(300), &[])
            .expect("take"),
        Some(1)
    );
    assert_eq!(
        s.acquire("load-monitor", "b", TTL, &[]).expect("live"),
        None
    );
    let epoch = poll_until(Duration::from_secs(10), "the lease runs out", || {
        s.acquire("load-monitor", "b", TTL, &[]).expect("acquire")
    });
    assert_eq!(epoch, 2);
    let names: Vec<String> = s
        .leases()
        .expect("leases")
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, vec!["director", "load-monitor"]);
}

#[test]
fn heartbeats_and_zone_assignments() {
    let srv = server();
    let s = connect(&srv, "node-a");
    let beat = |node: &str, state: &str| NodeBeat {
        node: node.into(),
        api: format!("http://{node}:8080"),
        state: state.into(),
    };
    s.heartbeat(&beat("node-b", "up")).expect("beat");
    s.heartbeat(&beat("node-a", "up")).expect("beat");
    let nodes = s.nodes().expect("nodes");
    assert_eq!(
        nodes.iter().map(|n| n.node.as_str()).collect::<Vec<_>>(),
        vec!["node-a", "node-b"]
    );
    assert_eq!(nodes[0].api, "http://node-a:8080");
    assert!(nodes[0].silent_ms < 5_000, "{nodes:?}");
    // Silence grows by the database clock until the next beat.
    let silent = poll_until(Duration::from_secs(5), "silence grows", || {
        let n = s.nodes().expect("nodes").remove(0);
        (n.silent_ms >= 100).then_some(n.silent_ms)
    });
    s.heartbeat(&beat("node-a", "leaving")).expect("beat");
    let a = s.nodes().expect("nodes").remove(0);
    assert_eq!(a.state, "leaving");
    assert!(a.silent_ms < silent, "{a:?} after {silent} ms");

    // Assignments: seeded once, moved, an administrator's preference kept apart.
    s.seed_assignment("east", "node-a").expect("seed");
    s.seed_assignment("east", "node-b").expect("seed again");
    let rows = s.assignments().expect("assignments");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].zone.as_str(), rows[0].node.as_str()),
        ("east", "node-a")
    );
    assert_eq!(rows[0].preferred, None);
    let t0 = rows[0].updated_at;
    #[allow(clippy::disallowed_methods)] // the database clock against the machine's
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64;
    assert!(t0.abs_diff(wall) < 60_000, "updated_at {t0} vs now {wall}");

    s.prefer("east", "node-c").expect("prefer");
    let e = s.assignments().expect("assignments").remove(0);
    assert_eq!(
        (e.node.as_str(), e.preferred.as_deref()),
        ("node-a", Some("node-c"))
    );
    s.assign("east", "node-c").expect("apply");
    let e = s.assignments().expect("assignments").remove(0);
    assert_eq!(
        (e.node.as_str(), e.preferred.as_deref()),
        ("node-c", Some("node-c"))
    );
    assert!(e.updated_at >= t0);

    s.prefer("west", "node-b").expect("prefer a new zone");
    s.assign("north", "node-a").expect("assign a new zone");
    let rows: Vec<(String, String, Option<String>)> = s
        .assignments()
        .expect("assignments")
        .into_iter()
        .map(|a| (a.zone, a.node, a.preferred))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("east".into(), "node-c".into(), Some("node-c".into())),
            ("north".into(), "node-a".into(), None),
            ("west".into(), "node-b".into(), Some("node-b".into())),
        ]
    );
}

#[test]
fn migrations_apply_once_however_many_nodes_start() {
    let srv = server();
    let versions = |url: &str| -> Vec<i64> {
        let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
        c.query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .expect("versions")
        .iter()
        .map(|r| r.get(0))
        .collect()
    };
    // One after the other.
    let first = connect(&srv, "node-a");
    first.commit(&[Write::Job(job(1))]).expect("commit");
    let second = connect(&srv, "node-a");
    assert_eq!(second.job(JobId(1)).expect("job"), Some(job(1)));
    let applied = versions(&srv.url());
    // Each shipped version once, in order (a branch may ship a later number before an
    // earlier one lands, so the list may have a gap).
    assert_eq!(applied.first(), Some(&1), "{applied:?}");
    assert!(applied.windows(2).all(|w| w[0] < w[1]), "{applied:?}");
    assert!(applied.contains(&4), "the access migration: {applied:?}");

    // Four nodes starting at once on an empty database.
    let url = srv.create_db("fresh").expect("create db");
    let start = Arc::new(Barrier::new(4));
    let nodes: Vec<_> = (0..4)
        .map(|i| {
            let (url, start) = (url.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                PgStore::connect(&url, &format!("node-{i}"))
            })
        })
        .collect();
    let stores: Vec<PgStore> = nodes
        .into_iter()
        .map(|t| t.join().expect("join").expect("concurrent connect"))
        .collect();
    stores[0].commit(&[Write::Job(job(2))]).expect("commit");
    assert_eq!(stores[3].job(JobId(2)).expect("job"), Some(job(2)));
    assert_eq!(versions(&url), applied);
}

#[test]
fn calls_from_inside_an_async_runtime_do_not_panic() {
    let srv = server();
    let url = srv.url();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let due = rt.block_on(async move {
        let s = PgStore::connect(&url, "node-a").expect("connect");
        s.commit(&[new(&contact(1, 1, 0)), new(&contact(1, 2, 0))])
            .expect("commit");
        assert_eq!(
            s.acquire("director", "node-a", TTL, &[]).expect("acquire"),
            Some(1)
        );
        s.heartbeat(&NodeBeat {
            node: "node-a".into(),
            api: "http://a".into(),
            state: "up".into(),
        })
        .expect("beat");
        let n = s.nodes().expect("nodes").len();
        assert_eq!(n, 1);
        let due = s.due_contacts(JobId(1), 0, 10).expect("due");
        drop(s);
        due
    });
    assert_eq!(ids(&due), vec![1, 2]);
}

#[test]
fn a_server_restart_fails_calls_during_the_outage_then_the_store_works_again() {
    let mut srv = server();
    let four = PgOptions {
        workers: 4,
        ..PgOptions::default()
    };
    let s = Arc::new(PgStore::connect_with(&srv.url(), "node-a", four).expect("connect"));
    let c = contact(1, 1, 0);
    s.commit(&[new(&c)]).expect("commit");
    // Calls at once from many threads, so the workers all hold a connection.
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                for _ in 0..5 {
                    s.contact(JobId(1), ContactId(1)).expect("read");
                }
            })
        })
        .collect();
    for r in readers {
        r.join().expect("join");
    }

    srv.stop();
    // Two calls meet the outage (so at most two workers learn of it first-hand).
    for i in 0..2u64 {
        let t = wall_now();
        let r = if i == 0 {
            s.contact(JobId(1), ContactId(1)).map(drop)
        } else {
            s.commit(&[new(&contact(1, 100 + i, 0))])
        };
        assert!(
            matches!(r, Err(StoreError::Io { .. })),
            "call {i} in the outage: {r:?}"
        );
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "call {i} took {:?}",
            t.elapsed()
        );
    }

    srv.restart().expect("restart");
    // Workers that met the outage dropped their connections; the others check theirs before
    // use: no call after the restart fails.
    for i in 0..12 {
        assert_eq!(
            s.contact(JobId(1), ContactId(1))
                .expect("read after restart"),
            Some(c.clone()),
            "call {i}"
        );
    }
    s.commit(&[new(&contact(1, 2, 0))])
        .expect("commit after restart");
    assert_eq!(counts(s.as_ref(), 1), (2, 2, 0, 0));
}

#[test]
fn a_takeover_waits_for_a_batch_in_flight_and_no_call_waits_forever() {
    let srv = server();
    let a = connect(&srv, "node-a");
    let impatient = PgOptions {
        call_timeout: Duration::from_millis(500),
        ..PgOptions::default()
    };
    let b = PgStore::connect_with(&srv.url(), "node-b", impatient).expect("connect");
    let lease = zone_lease("east");
    assert_eq!(a.acquire(&lease, "node-a", TTL, &[]).expect("a"), Some(1));

    // A batch of A's in flight holds the lease row as a fence check does (FOR SHARE).
    let mut raw = postgres::Client::connect(&srv.url(), postgres::NoTls).expect("raw client");
    let mut batch = raw.transaction().expect("begin");
    batch
        .query(
            "SELECT 1 FROM leases WHERE name = $1 AND node = 'node-a' AND epoch = 1 FOR SHARE",
            &[&lease],
        )
        .expect("fence check");
    // B's takeover waits behind it; B's call gives up at its timeout instead of hanging.
    let t = wall_now();
    let r = b.acquire(&lease, "node-b", TTL, &["node-a".into()]);
    assert!(
        matches!(&r, Err(StoreError::Io { what, .. }) if what.contains("no answer")),
        "{r:?}"
    );
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
    let holder = |s: &PgStore| {
        let l = s.leases().expect("leases").remove(0);
        (l.node, l.epoch)
    };
    assert_eq!(holder(&a), (Some("node-a".into()), 1));

    // Once the batch commits, the waiting takeover goes through (the timed-out call still
    // took effect: a timeout says nothing about whether the statement ran).
    batch.commit().expect("commit");
    let taken = poll_until(Duration::from_secs(10), "the takeover lands", || {
        let h = holder(&a);
        (h.1 == 2).then_some(h)
    });
    assert_eq!(taken, (Some("node-b".into()), 2));
}
