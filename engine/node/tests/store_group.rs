//! Group commit on the real sled store: many producer threads, every batch durable once its
//! ticket resolves (read back after reopening), and fewer commits than batches under load.

use std::collections::BTreeMap;
use std::sync::Arc;

use outdial_core::domain::{
    Attempt, AttemptId, AttemptState, Contact, ContactId, ContactState, JobId,
};
use outdial_node::storage::{GroupCommit, SledStore, Store, Write};

const THREADS: u64 = 8;
const PER_THREAD: u64 = 200;

fn batch(thread: u64, i: u64) -> Vec<Write> {
    let id = thread * 1_000_000 + i;
    let contact = Contact {
        id: ContactId(id),
        job: JobId(1),
        phone: format!("+4420{id:08}"),
        tz: None,
        fields: BTreeMap::new(),
        attempts: 1,
        state: ContactState::InFlight {
            attempt: AttemptId(id),
        },
        last_code: None,
    };
    let attempt = Attempt {
        id: AttemptId(id),
        job: JobId(1),
        contact: ContactId(id),
        number: 1,
        state: AttemptState::Dialing,
        history: vec![(i, AttemptState::Dialing)],
        sip_status: None,
        node: format!("t{thread}"),
        epoch: 1,
        amd: None,
    };
    vec![
        Write::Contact { contact, was: None },
        Write::Attempt(attempt),
    ]
}

#[test]
fn many_producers_all_durable_and_batched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stats = {
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("open"));
        let gc = Arc::new(GroupCommit::new(store, 1_000));
        let producers: Vec<_> = (0..THREADS)
            .map(|t| {
                let gc = gc.clone();
                std::thread::spawn(move || {
                    for i in 0..PER_THREAD {
                        // Half wait on each batch, half pipeline two at a time: both shapes
                        // the engine uses.
                        if t % 2 == 0 {
                            gc.commit_blocking(batch(t, i)).expect("commit");
                        } else if i % 2 == 1 {
                            let a = gc.submit(batch(t, i - 1));
                            let b = gc.submit(batch(t, i));
                            a.wait().expect("a");
                            b.wait().expect("b");
                        }
                    }
                })
            })
            .collect();
        for p in producers {
            p.join().expect("producer");
        }
        let stats = gc.stats();
        drop(gc);
        stats
    };
    let submissions = THREADS * PER_THREAD;
    assert_eq!(stats.batches, submissions);
    assert_eq!(stats.writes, submissions * 2);
    assert!(
        stats.commits < submissions,
        "group commit merged nothing: {stats:?}"
    );
    assert!(stats.largest_commit > 2, "{stats:?}");
    eprintln!(
        "{submissions} batches in {} commits, mean {:.1} writes, largest {}",
        stats.commits,
        stats.mean_commit(),
        stats.largest_commit
    );

    let s = SledStore::open(dir.path()).expect("reopen");
    for t in 0..THREADS {
        for i in 0..PER_THREAD {
            let want = batch(t, i);
            let id = t * 1_000_000 + i;
            let c = s.contact(JobId(1), ContactId(id)).expect("read");
            assert!(
                matches!(&want[0], Write::Contact { contact, .. } if Some(contact) == c.as_ref()),
                "contact {id}"
            );
        }
    }
    assert_eq!(
        s.transient_attempts().expect("transient").len() as u64,
        submissions
    );
    assert_eq!(
        s.contact_counts(JobId(1)).expect("counts").in_flight,
        submissions
    );
}

#[test]
fn async_producers_share_commits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path()).expect("open"));
    let gc = Arc::new(GroupCommit::new(store.clone(), 1_000));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    rt.block_on(async {
        let tasks: Vec<_> = (0..64u64)
            .map(|t| {
                let gc = gc.clone();
                tokio::spawn(async move { gc.submit(batch(t, 0)).await })
            })
            .collect();
        for t in tasks {
            t.await.expect("task").expect("commit");
        }
    });
    let st = gc.stats();
    assert_eq!(st.batches, 64);
    assert!(st.commits < 64, "{st:?}");
    assert_eq!(store.transient_attempts().expect("transient").len(), 64);
}
