//! Several nodes on one database: id blocks, exact counters, contacts claimed once, claims
//! that run out or pass to a new master, the shared do-not-call list.

use super::*;

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
