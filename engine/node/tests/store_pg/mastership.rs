//! Mastership in the database: fenced batches, leases under rising epochs, heartbeats and
//! zone assignments, migrations, and the store across a server restart and a takeover.

use super::*;

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
