//! The engine's clock. Engine logic takes a [`Clock`] so tests can run hours of campaign in
//! virtual time; only the IO shells (CLI loops, transport glue) read the wall clock.

use std::time::{Duration, Instant};

/// A source of `now`.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the engine's one sanctioned clock read
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// Wall-clock now for IO shells.
pub fn now() -> Instant {
    SystemClock.now()
}

/// A clock that moves only when told: for tests and the simulator.
#[derive(Debug)]
pub struct VirtualClock {
    origin: Instant,
    offset_nanos: std::sync::atomic::AtomicU64,
}

impl VirtualClock {
    pub fn new() -> Self {
        Self {
            origin: now(),
            offset_nanos: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Moves time forward; never backwards.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.offset_nanos
            .fetch_add(nanos, std::sync::atomic::Ordering::SeqCst);
    }

    /// Moves time to `at` if it is later than now.
    pub fn advance_to(&self, at: Instant) {
        let cur = self.now();
        if at > cur {
            self.advance(at - cur);
        }
    }
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        self.origin
            + Duration::from_nanos(self.offset_nanos.load(std::sync::atomic::Ordering::SeqCst))
    }
}
