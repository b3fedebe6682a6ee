//! Group commit: many producers' batches merged into one durable `Store::commit`, so the cost
//! of a flush is shared by every write waiting for it rather than capping the call rate.
//!
//! A dedicated OS thread (not a tokio task: `commit` blocks on fsync) takes batches from a
//! bounded channel, merges everything already waiting into one commit, then wakes every
//! waiter with that commit's result. Batches stay atomic: a merged commit is all or nothing,
//! so each submitted batch is too. Batches are applied in the order the channel received
//! them, so one producer's batches keep their order.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;

use super::{Store, StoreError, StoreResult, Write};

/// Batches that may wait in the channel before `submit` blocks (backpressure).
pub const DEFAULT_QUEUE: usize = 4096;

/// Merges concurrent producers' batches into shared durable commits. Dropping it commits
/// everything submitted before the drop, then stops the writer thread.
pub struct GroupCommit {
    tx: Option<SyncSender<Pending>>,
    thread: Option<JoinHandle<()>>,
    stats: Arc<Counters>,
}

/// What the writer has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupCommitStats {
    /// `Store::commit` calls made.
    pub commits: u64,
    /// Batches submitted and taken by the writer.
    pub batches: u64,
    /// Writes committed (or attempted, for failed commits).
    pub writes: u64,
    /// Most writes merged into one commit.
    pub largest_commit: u64,
    pub failed_commits: u64,
}

impl GroupCommitStats {
    /// Mean writes per commit.
    pub fn mean_commit(&self) -> f64 {
        if self.commits == 0 {
            0.0
        } else {
            self.writes as f64 / self.commits as f64
        }
    }

    /// Mean submitted batches per commit: above 1 means batching happened.
    pub fn batches_per_commit(&self) -> f64 {
        if self.commits == 0 {
            0.0
        } else {
            self.batches as f64 / self.commits as f64
        }
    }
}

/// Why `try_submit` did not take a batch; the batch comes back.
#[derive(Debug)]
pub enum TrySubmitError {
    /// The queue is full: the writer is behind.
    Full(Vec<Write>),
    /// The writer thread is gone.
    Closed(Vec<Write>),
}

#[derive(Default)]
struct Counters {
    commits: AtomicU64,
    batches: AtomicU64,
    writes: AtomicU64,
    largest: AtomicU64,
    failed: AtomicU64,
}

struct Pending {
    batch: Vec<Write>,
    done: Completer,
}

impl GroupCommit {
    /// Starts the writer thread. A commit merges waiting batches until it holds at least
    /// `max_batch_writes` writes (a single larger batch is committed whole, never split).
    pub fn new(store: Arc<dyn Store>, max_batch_writes: usize) -> GroupCommit {
        Self::with_queue(store, max_batch_writes, DEFAULT_QUEUE)
    }

    /// As [`GroupCommit::new`], with `queue` batches of room before `submit` blocks.
    pub fn with_queue(store: Arc<dyn Store>, max_batch_writes: usize, queue: usize) -> GroupCommit {
        let (tx, rx) = sync_channel(queue.max(1));
        let stats = Arc::new(Counters::default());
        let thread_stats = Arc::clone(&stats);
        let max = max_batch_writes.max(1);
        let thread = std::thread::Builder::new()
            .name("outdial-group-commit".into())
            .spawn(move || writer(store, rx, max, &thread_stats));
        let thread = match thread {
            Ok(t) => Some(t),
            Err(e) => {
                // Without a writer every ticket resolves to `Closed` (the receiver is gone),
                // which callers already handle; no need to make `new` fallible for it.
                tracing::error!(error = %e, "cannot start the group-commit thread");
                None
            }
        };
        GroupCommit {
            tx: Some(tx),
            thread,
            stats,
        }
    }

    /// Queues `batch` for the next commit; blocks while the queue is full. The ticket
    /// resolves once the batch is durable (or its commit failed).
    pub fn submit(&self, batch: Vec<Write>) -> Ticket {
        let (ticket, done) = Ticket::pair();
        if let Some(tx) = &self.tx {
            // A send error drops the Pending, whose Completer resolves the ticket `Closed`.
            let _ = tx.send(Pending { batch, done });
        }
        ticket
    }

    /// Queues `batch` without blocking, or gives it back if the queue is full.
    pub fn try_submit(&self, batch: Vec<Write>) -> Result<Ticket, TrySubmitError> {
        let Some(tx) = &self.tx else {
            return Err(TrySubmitError::Closed(batch));
        };
        let (ticket, done) = Ticket::pair();
        match tx.try_send(Pending { batch, done }) {
            Ok(()) => Ok(ticket),
            Err(TrySendError::Full(p)) => Err(TrySubmitError::Full(p.into_batch())),
            Err(TrySendError::Disconnected(p)) => Err(TrySubmitError::Closed(p.into_batch())),
        }
    }

    /// Submits `batch` and blocks until it is durable.
    pub fn commit_blocking(&self, batch: Vec<Write>) -> StoreResult<()> {
        self.submit(batch).wait()
    }

    pub fn stats(&self) -> GroupCommitStats {
        let s = &self.stats;
        GroupCommitStats {
            commits: s.commits.load(Ordering::Relaxed),
            batches: s.batches.load(Ordering::Relaxed),
            writes: s.writes.load(Ordering::Relaxed),
            largest_commit: s.largest.load(Ordering::Relaxed),
            failed_commits: s.failed.load(Ordering::Relaxed),
        }
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        // Closing the channel lets the writer drain what is queued, then return.
        self.tx = None;
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::error!("group-commit thread panicked");
            }
        }
    }
}

impl Pending {
    fn into_batch(self) -> Vec<Write> {
        let Pending { batch, done } = self;
        // Handing the batch back to the caller: this ticket is never returned, so mark it
        // settled to keep its drop from reporting anything.
        done.settle(Err(StoreError::Closed));
        batch
    }
}

fn writer(store: Arc<dyn Store>, rx: Receiver<Pending>, max: usize, stats: &Counters) {
    let mut merged: Vec<Write> = Vec::new();
    let mut waiters: Vec<Completer> = Vec::new();
    // Where each waiter's batch ends in `merged`.
    let mut ends: Vec<usize> = Vec::new();
    // `recv` fails only once every sender is gone and the queue is empty: that is shutdown.
    while let Ok(first) = rx.recv() {
        merged.clear();
        ends.clear();
        let mut next = Some(first);
        while let Some(p) = next.take() {
            merged.extend(p.batch);
            ends.push(merged.len());
            waiters.push(p.done);
            if merged.len() < max {
                next = rx.try_recv().ok();
            }
        }
        let result = store.commit(&merged);
        if matches!(result, Err(StoreError::Fenced { .. })) && waiters.len() > 1 {
            // One stale batch must not sink the others merged with it (another zone's, still
            // mastered here): commit each on its own, so only the stale ones fail.
            // Counted before any waiter wakes, as on the merged path.
            stats
                .commits
                .fetch_add(ends.len() as u64 + 1, Ordering::Relaxed);
            stats
                .batches
                .fetch_add(ends.len() as u64, Ordering::Relaxed);
            stats
                .writes
                .fetch_add(merged.len() as u64, Ordering::Relaxed);
            stats.failed.fetch_add(1, Ordering::Relaxed);
            let mut start = 0;
            for (w, end) in waiters.drain(..).zip(ends.iter().copied()) {
                let r = store.commit(&merged[start..end]);
                if r.is_err() {
                    stats.failed.fetch_add(1, Ordering::Relaxed);
                }
                w.settle(r);
                start = end;
            }
            continue;
        }
        let n = merged.len() as u64;
        stats.commits.fetch_add(1, Ordering::Relaxed);
        stats
            .batches
            .fetch_add(waiters.len() as u64, Ordering::Relaxed);
        stats.writes.fetch_add(n, Ordering::Relaxed);
        stats.largest.fetch_max(n, Ordering::Relaxed);
        match &result {
            // A stale master's write refused: expected while a zone moves (each caller says
            // what it means for its own batch).
            Err(e @ StoreError::Fenced { .. }) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, batches = waiters.len(), "group commit refused");
            }
            Err(e) => {
                stats.failed.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, batches = waiters.len(), writes = n, "group commit failed");
            }
            Ok(()) => {}
        }
        for w in waiters.drain(..) {
            w.settle(result.clone());
        }
    }
}

/// The shared slot between a [`Ticket`] and the writer.
struct Slot {
    state: Mutex<SlotState>,
    cv: Condvar,
}

#[derive(Default)]
struct SlotState {
    result: Option<StoreResult<()>>,
    waker: Option<Waker>,
}

impl Slot {
    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        // Nothing panics while holding this lock (it only moves values), but a poisoned
        // slot still holds a consistent state.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The writer's end of a ticket. Dropping it unsettled (the writer thread died, or the queue
/// was closed) resolves the ticket with `StoreError::Closed`, so no waiter hangs.
struct Completer {
    slot: Option<Arc<Slot>>,
}

impl Completer {
    fn settle(mut self, result: StoreResult<()>) {
        if let Some(slot) = self.slot.take() {
            fill(&slot, result);
        }
    }
}

impl Drop for Completer {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            fill(&slot, Err(StoreError::Closed));
        }
    }
}

fn fill(slot: &Slot, result: StoreResult<()>) {
    let waker = {
        let mut st = slot.lock();
        st.result = Some(result);
        st.waker.take()
    };
    slot.cv.notify_all();
    if let Some(w) = waker {
        w.wake();
    }
}

/// Resolves once a submitted batch is durable, or its commit failed. Wait on it with
/// [`Ticket::wait`] from a plain thread, or `.await` it (it is a `Future`) from async code;
/// awaiting never blocks the executor.
#[must_use = "a ticket says when the batch is durable; drop it only if you do not care"]
pub struct Ticket {
    slot: Arc<Slot>,
}

impl Ticket {
    fn pair() -> (Ticket, Completer) {
        let slot = Arc::new(Slot {
            state: Mutex::new(SlotState::default()),
            cv: Condvar::new(),
        });
        (
            Ticket {
                slot: Arc::clone(&slot),
            },
            Completer { slot: Some(slot) },
        )
    }

    /// Blocks the calling thread until the batch is durable. Do not call it on an async
    /// executor's thread; `.await` the ticket there.
    pub fn wait(self) -> StoreResult<()> {
        let mut st = self.slot.lock();
        loop {
            if let Some(r) = st.result.take() {
                return r;
            }
            st = self.slot.cv.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Whether the batch's commit has finished (successfully or not).
    pub fn is_done(&self) -> bool {
        self.slot.lock().result.is_some()
    }
}

impl Future for Ticket {
    type Output = StoreResult<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = self.slot.lock();
        match st.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                st.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{CampaignRecord, Job, JobState};
    use outdial_core::domain::{CampaignId, JobId};
    use std::sync::atomic::AtomicBool;

    /// A store that records commits and can be told to fail or to be slow.
    #[derive(Default)]
    struct Recorder {
        commits: Mutex<Vec<Vec<Write>>>,
        fail: AtomicBool,
        slow_ms: AtomicU64,
    }

    impl Store for Recorder {
        fn commit(&self, batch: &[Write]) -> StoreResult<()> {
            std::thread::sleep(std::time::Duration::from_millis(
                self.slow_ms.load(Ordering::Relaxed),
            ));
            if self.fail.load(Ordering::Relaxed) {
                return Err(StoreError::io_failed("disk on fire"));
            }
            self.commits.lock().expect("lock").push(batch.to_vec());
            Ok(())
        }
        fn campaign(&self, _: CampaignId) -> StoreResult<Option<CampaignRecord>> {
            Ok(None)
        }
        fn number_history(&self, _: &str) -> StoreResult<outdial_core::compliance::NumberHistory> {
            Ok(Default::default())
        }
        fn campaigns(&self) -> StoreResult<Vec<CampaignRecord>> {
            Ok(vec![])
        }
        fn job(&self, _: JobId) -> StoreResult<Option<Job>> {
            Ok(None)
        }
        fn jobs(&self) -> StoreResult<Vec<Job>> {
            Ok(vec![])
        }
        fn contact(
            &self,
            _: JobId,
            _: outdial_core::domain::ContactId,
        ) -> StoreResult<Option<outdial_core::domain::Contact>> {
            Ok(None)
        }
        fn due_contacts(
            &self,
            _: JobId,
            _: u64,
            _: usize,
        ) -> StoreResult<Vec<outdial_core::domain::Contact>> {
            Ok(vec![])
        }
        fn next_due(&self, _: JobId) -> StoreResult<Option<u64>> {
            Ok(None)
        }
        fn contact_counts(&self, _: JobId) -> StoreResult<crate::storage::ContactCounts> {
            Ok(Default::default())
        }
        fn attempts(&self, _: JobId) -> StoreResult<Vec<outdial_core::domain::Attempt>> {
            Ok(vec![])
        }
        fn transient_attempts(&self) -> StoreResult<Vec<outdial_core::domain::Attempt>> {
            Ok(vec![])
        }
        fn zone_owner(&self, _: &str) -> StoreResult<Option<crate::storage::ZoneOwner>> {
            Ok(None)
        }
        fn allocate_ids(&self, _: &str, _: u64) -> StoreResult<u64> {
            Ok(1)
        }
    }

    fn job(id: u64) -> Write {
        Write::Job(Job {
            id: JobId(id),
            campaign: CampaignId(1),
            zone: "z".into(),
            state: JobState::Created,
            created_at: 0,
            updated_at: 0,
        })
    }

    fn job_ids(w: &[Write]) -> Vec<u64> {
        w.iter()
            .map(|w| match w {
                Write::Job(j) => j.id.0,
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn waiting_batches_merge_into_one_commit_in_order() {
        let rec = Arc::new(Recorder::default());
        rec.slow_ms.store(50, Ordering::Relaxed);
        let gc = GroupCommit::new(rec.clone(), 1000);
        // The first commit is slow, so the next ones queue up behind it and merge.
        let tickets: Vec<_> = (0..20).map(|i| gc.submit(vec![job(i)])).collect();
        for t in tickets {
            t.wait().expect("committed");
        }
        let commits = rec.commits.lock().expect("lock").clone();
        assert!(
            commits.len() < 20,
            "{} commits for 20 batches",
            commits.len()
        );
        let all: Vec<u64> = commits.iter().flat_map(|c| job_ids(c)).collect();
        assert_eq!(all, (0..20).collect::<Vec<_>>());
        let st = gc.stats();
        assert_eq!(
            (st.commits as usize, st.batches, st.writes),
            (commits.len(), 20, 20)
        );
        assert!(st.batches_per_commit() > 1.0);
    }

    #[test]
    fn max_batch_writes_bounds_merging_but_never_splits() {
        let rec = Arc::new(Recorder::default());
        rec.slow_ms.store(30, Ordering::Relaxed);
        let gc = GroupCommit::new(rec.clone(), 3);
        let big = gc.submit((0..5).map(job).collect());
        let rest: Vec<_> = (5..15).map(|i| gc.submit(vec![job(i)])).collect();
        big.wait().expect("big");
        for t in rest {
            t.wait().expect("rest");
        }
        let commits = rec.commits.lock().expect("lock").clone();
        assert_eq!(
            job_ids(&commits[0]),
            vec![0, 1, 2, 3, 4],
            "a large batch is committed whole"
        );
        assert!(commits[1..].iter().all(|c| c.len() <= 3), "{commits:?}");
    }

    #[test]
    fn a_failed_commit_fails_every_waiter() {
        let rec = Arc::new(Recorder::default());
        rec.fail.store(true, Ordering::Relaxed);
        rec.slow_ms.store(20, Ordering::Relaxed);
        let gc = GroupCommit::new(rec.clone(), 1000);
        let tickets: Vec<_> = (0..5).map(|i| gc.submit(vec![job(i)])).collect();
        for t in tickets {
            assert!(matches!(t.wait(), Err(StoreError::Io { what, .. }) if what == "disk on fire"));
        }
        assert!(gc.stats().failed_commits >= 1);
    }

    #[test]
    fn drop_drains_what_was_submitted() {
        let rec = Arc::new(Recorder::default());
        rec.slow_ms.store(5, Ordering::Relaxed);
        let gc = GroupCommit::new(rec.clone(), 2);
        let tickets: Vec<_> = (0..10).map(|i| gc.submit(vec![job(i)])).collect();
        drop(gc);
        let n: usize = rec.commits.lock().expect("lock").iter().map(Vec::len).sum();
        assert_eq!(n, 10);
        assert!(tickets.iter().all(Ticket::is_done));
    }

    #[test]
    fn try_submit_gives_the_batch_back_when_full() {
        let rec = Arc::new(Recorder::default());
        rec.slow_ms.store(100, Ordering::Relaxed);
        let gc = GroupCommit::with_queue(rec.clone(), 1, 1);
        let mut kept = Vec::new();
        let mut full = 0;
        for i in 0..10 {
            match gc.try_submit(vec![job(i)]) {
                Ok(t) => kept.push(t),
                Err(TrySubmitError::Full(b)) => {
                    assert_eq!(job_ids(&b), vec![i]);
                    full += 1;
                }
                Err(TrySubmitError::Closed(_)) => panic!("closed"),
            }
        }
        assert!(full > 0, "a queue of 1 behind a 100 ms commit must fill");
        for t in kept {
            t.wait().expect("kept batches commit");
        }
    }

    #[test]
    fn tickets_can_be_awaited() {
        let rec = Arc::new(Recorder::default());
        let gc = GroupCommit::new(rec.clone(), 100);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("rt");
        rt.block_on(async {
            let a = gc.submit(vec![job(1)]);
            let b = gc.submit(vec![job(2)]);
            a.await.expect("a");
            b.await.expect("b");
        });
        assert_eq!(
            rec.commits
                .lock()
                .expect("lock")
                .iter()
                .map(Vec::len)
                .sum::<usize>(),
            2
        );
    }
}
