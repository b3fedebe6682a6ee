//! The worker threads that own the PostgreSQL connections. `postgres::Client` drives its own
//! tokio runtime and panics when used from inside another one, and the store is called from
//! actix arbiters: so no caller ever touches a client. A call sends a boxed closure over a
//! channel to whichever worker is free and blocks on a reply channel (bounded).
//!
//! A worker connects lazily, and drops its connection when a call finds it broken (the call
//! fails with `StoreError::Io`); its next call connects again. When one worker finds the
//! server gone, the others check their own connection (one round trip) before their next
//! call, so after a server restart only the calls that met the outage fail.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::sql::Conn;
use crate::storage::{StoreError, StoreResult};

/// How long a worker waits for the server to answer a liveness check.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// A call handed to a worker: given the worker's connection (or why it has none), it runs,
/// sends its reply, and says whether it failed on I/O (so the worker checks its connection).
type Task = Box<dyn FnOnce(StoreResult<&mut Conn>) -> bool + Send>;

/// The workers, reached through one shared queue: a slow call holds only its own worker.
pub(super) struct Pool {
    tx: Sender<Task>,
    call_timeout: Duration,
}

struct Shared {
    rx: Mutex<Receiver<Task>>,
    config: postgres::Config,
    /// Bumped each time a worker finds its connection broken.
    broken: AtomicU64,
}

impl Pool {
    /// Starts `workers` threads (at least one) connecting with `config`.
    pub(super) fn start(
        config: postgres::Config,
        workers: usize,
        call_timeout: Duration,
    ) -> StoreResult<Pool> {
        let (tx, rx) = channel::<Task>();
        let shared = Arc::new(Shared {
            rx: Mutex::new(rx),
            config,
            broken: AtomicU64::new(0),
        });
        for i in 0..workers.max(1) {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("outdial-pg-{i}"))
                .spawn(move || worker(&shared))
                .map_err(|e| StoreError::io("cannot start a postgres worker", e))?;
        }
        Ok(Pool { tx, call_timeout })
    }

    /// Runs `f` on a worker's connection and returns its result. Never blocks longer than the
    /// call timeout; a worker that cannot connect makes it `StoreError::Io`.
    pub(super) fn run<T, F>(&self, what: &'static str, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> StoreResult<T> + Send + 'static,
    {
        let (reply, answer) = sync_channel::<StoreResult<T>>(1);
        let task: Task = Box::new(move |conn| {
            let result = conn.and_then(f);
            let failed = matches!(result, Err(StoreError::Io { .. }));
            // The caller may have timed out and gone: nobody to tell then.
            let _ = reply.send(result);
            failed
        });
        self.tx.send(task).map_err(|_| StoreError::Closed)?;
        match answer.recv_timeout(self.call_timeout) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => Err(StoreError::io_failed(format!(
                "postgres: {what} got no answer within {:?}",
                self.call_timeout
            ))),
            // The worker dropped the task without answering: only a panic in it does that.
            Err(RecvTimeoutError::Disconnected) => Err(StoreError::io_failed(format!(
                "postgres: {what} failed inside its worker"
            ))),
        }
    }
}

fn worker(shared: &Shared) {
    let mut conn: Option<Conn> = None;
    let mut seen_broken = shared.broken.load(Ordering::Acquire);
    loop {
        let task = {
            // Holding the lock only moves a value out: a poisoned lock is still consistent.
            let rx = shared.rx.lock().unwrap_or_else(|e| e.into_inner());
            rx.recv()
        };
        // Every sender is gone: the store was dropped.
        let Ok(task) = task else { return };

        let broken = shared.broken.load(Ordering::Acquire);
        if broken != seen_broken {
            seen_broken = broken;
            if let Some(c) = conn.as_mut() {
                if c.client.is_valid(PING_TIMEOUT).is_err() {
                    conn = None;
                }
            }
        }
        if conn.as_ref().is_some_and(|c| c.client.is_closed()) {
            conn = None;
        }
        let c = match conn {
            Some(ref mut c) => c,
            None => match Conn::open(&shared.config) {
                Ok(c) => conn.insert(c),
                Err(e) => {
                    seen_broken = shared.broken.fetch_add(1, Ordering::AcqRel) + 1;
                    let _ = catch_unwind(AssertUnwindSafe(|| task(Err(e))));
                    continue;
                }
            },
        };
        let failed = match catch_unwind(AssertUnwindSafe(|| task(Ok(&mut *c)))) {
            Ok(failed) => failed,
            Err(_) => {
                tracing::error!("a postgres call panicked; its connection is dropped");
                conn = None;
                continue;
            }
        };
        if failed && (c.client.is_closed() || c.client.is_valid(PING_TIMEOUT).is_err()) {
            tracing::warn!("postgres connection lost; reconnecting on the next call");
            conn = None;
            seen_broken = shared.broken.fetch_add(1, Ordering::AcqRel) + 1;
        }
    }
}
