//! Attempts persisted per second with durability on (every commit flushed to disk before it
//! returns): one attempt + one contact write per batch, committed one by one from a single
//! thread, directly from 4 threads, and through `GroupCommit` from 4 producer threads; on the
//! embedded store (sled) and on a cluster's PostgreSQL (a throwaway server on loopback, its
//! commits fenced by a zone lease as a cluster node's are), in the same run.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use outdial_core::domain::{
    Attempt, AttemptId, AttemptState, Contact, ContactId, ContactState, JobId,
};
use outdial_node::cluster::coordination::{zone_lease, Coordination};
use outdial_node::storage::{Fence, GroupCommit, PgStore, SledStore, Store, Write};

#[path = "../../tests/support/pg.rs"]
mod pg;

const PRODUCERS: u64 = 4;

/// What the engine writes when it dials: the attempt `Dialing` and its contact `InFlight`.
fn dial(id: u64) -> Vec<Write> {
    vec![
        Write::Attempt(Attempt {
            id: AttemptId(id),
            job: JobId(1),
            contact: ContactId(id),
            number: 1,
            state: AttemptState::Dialing,
            history: vec![(id, AttemptState::Picked), (id, AttemptState::Dialing)],
            sip_status: None,
            node: "bench".into(),
            epoch: 1,
            amd: None,
        }),
        Write::Contact {
            contact: Contact {
                id: ContactId(id),
                job: JobId(1),
                phone: format!("+1212{id:07}"),
                tz: Some("America/New_York".into()),
                fields: BTreeMap::from([("name".to_string(), format!("Contact {id}"))]),
                attempts: 1,
                state: ContactState::InFlight {
                    attempt: AttemptId(id),
                },
                last_code: None,
            },
            was: None,
        },
    ]
}

/// Runs `iters` dials spread over `PRODUCERS` threads, each calling `commit` per dial.
#[allow(clippy::disallowed_methods)] // a bench measures wall time
fn threaded(
    iters: u64,
    next: &Arc<AtomicU64>,
    commit: Arc<dyn Fn(Vec<Write>) + Send + Sync>,
) -> Duration {
    let start = Instant::now();
    let threads: Vec<_> = (0..PRODUCERS)
        .map(|t| {
            let (next, commit) = (next.clone(), commit.clone());
            let n = iters / PRODUCERS + u64::from(t < iters % PRODUCERS);
            std::thread::spawn(move || {
                for _ in 0..n {
                    commit(dial(next.fetch_add(1, Ordering::Relaxed)));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("producer");
    }
    start.elapsed()
}

const WINDOW: usize = 16;

/// As [`threaded`] through `gc`, each producer with up to `WINDOW` tickets outstanding.
#[allow(clippy::disallowed_methods)] // a bench measures wall time
fn pipelined(
    iters: u64,
    next: &Arc<AtomicU64>,
    gc: &Arc<GroupCommit>,
    make: &Arc<dyn Fn(u64) -> Vec<Write> + Send + Sync>,
) -> Duration {
    let start = Instant::now();
    let threads: Vec<_> = (0..PRODUCERS)
        .map(|t| {
            let (next, gc, make) = (next.clone(), gc.clone(), make.clone());
            let n = iters / PRODUCERS + u64::from(t < iters % PRODUCERS);
            std::thread::spawn(move || {
                let mut window = std::collections::VecDeque::with_capacity(WINDOW);
                for _ in 0..n {
                    if window.len() == WINDOW {
                        let oldest: outdial_node::storage::group::Ticket =
                            window.pop_front().expect("full window");
                        oldest.wait().expect("commit");
                    }
                    window.push_back(gc.submit(make(next.fetch_add(1, Ordering::Relaxed))));
                }
                for t in window {
                    t.wait().expect("commit");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("producer");
    }
    start.elapsed()
}

fn commits(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SledStore::open(dir.path()).expect("open"));
    let next = Arc::new(AtomicU64::new(1));
    let mut g = c.benchmark_group("store_commit");
    g.throughput(Throughput::Elements(1));

    g.bench_function("individual_1_thread", |b| {
        b.iter(|| {
            store
                .commit(&dial(next.fetch_add(1, Ordering::Relaxed)))
                .expect("commit")
        })
    });

    let direct = store.clone();
    g.bench_function("individual_4_threads", |b| {
        let direct = direct.clone();
        b.iter_custom(|iters| {
            let s = direct.clone();
            threaded(
                iters,
                &next,
                Arc::new(move |w| s.commit(&w).expect("commit")),
            )
        })
    });

    let gc = Arc::new(GroupCommit::new(store.clone(), 4_096));
    g.bench_function("group_commit_4_producers", |b| {
        b.iter_custom(|iters| {
            let gc = gc.clone();
            threaded(
                iters,
                &next,
                Arc::new(move |w| gc.commit_blocking(w).expect("commit")),
            )
        })
    });
    // The pacing loop does not wait for one dial's record before writing the next: each
    // producer keeps up to WINDOW batches in flight, as the engine's call actors do together.
    let plain: Arc<dyn Fn(u64) -> Vec<Write> + Send + Sync> = Arc::new(dial);
    g.bench_function("group_commit_4_producers_16_in_flight", |b| {
        b.iter_custom(|iters| pipelined(iters, &next, &gc, &plain))
    });
    g.finish();
    let st = gc.stats();
    eprintln!(
        "group commit: {} batches in {} commits, {:.1} batches per commit, largest {} writes",
        st.batches,
        st.commits,
        st.batches_per_commit(),
        st.largest_commit
    );
}

/// The same dials on PostgreSQL: one by one, and through group commit with 16 in flight per
/// producer, each batch fenced by the zone's lease (a cluster node's Dialing batch).
fn commits_pg(c: &mut Criterion) {
    let server = pg::PgServer::start().expect("PostgreSQL (apt-get install -y postgresql)");
    let store = Arc::new(PgStore::connect(&server.url(), "bench").expect("connect"));
    let lease = zone_lease("bench");
    let epoch = store
        .acquire(&lease, "bench", Duration::from_secs(3600), &[])
        .expect("acquire")
        .expect("a free lease");
    let fence = Write::Fence(Fence {
        lease,
        node: "bench".into(),
        epoch,
    });
    let fenced = move |id: u64| {
        let mut w = dial(id);
        w.push(fence.clone());
        w
    };
    let next = Arc::new(AtomicU64::new(1));
    let mut g = c.benchmark_group("store_commit_pg");
    g.throughput(Throughput::Elements(1));
    {
        let (store, fenced) = (store.clone(), fenced.clone());
        g.bench_function("individual_1_thread_fenced", |b| {
            b.iter(|| {
                store
                    .commit(&fenced(next.fetch_add(1, Ordering::Relaxed)))
                    .expect("commit")
            })
        });
    }
    let gc = Arc::new(GroupCommit::new(store.clone(), 4_096));
    let make: Arc<dyn Fn(u64) -> Vec<Write> + Send + Sync> = Arc::new(fenced);
    g.bench_function("group_commit_4_producers_16_in_flight_fenced", |b| {
        b.iter_custom(|iters| pipelined(iters, &next, &gc, &make))
    });
    g.finish();
    let st = gc.stats();
    eprintln!(
        "group commit (PostgreSQL): {} batches in {} commits, {:.1} batches per commit",
        st.batches,
        st.commits,
        st.batches_per_commit()
    );
    drop(gc);
    drop(store);
    drop(server);
}

criterion_group!(benches, commits, commits_pg);
criterion_main!(benches);
