//! The engine's clock. Engine logic takes a [`Clock`] so tests can run hours of campaign in
//! virtual time; only the IO shells (CLI loops, transport glue) read the wall clock.

use std::time::{Duration, Instant};

/// A source of `now`: monotonic for timers, and wall time (Unix ms) for what is stored and
/// for calling hours.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
    fn unix_ms(&self) -> u64;
}

/// The real monotonic clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the engine's one sanctioned clock read
    fn now(&self) -> Instant {
        Instant::now()
    }

    #[allow(clippy::disallowed_methods)] // the engine's one sanctioned wall-clock read
    fn unix_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// Wall-clock Unix milliseconds for IO shells.
pub fn unix_ms() -> u64 {
    SystemClock.unix_ms()
}

/// Wall-clock now for IO shells.
pub fn now() -> Instant {
    SystemClock.now()
}

/// A clock that moves only when told: for tests and the simulator.
#[derive(Debug)]
pub struct VirtualClock {
    origin: Instant,
    origin_unix_ms: u64,
    offset_nanos: std::sync::atomic::AtomicU64,
}

impl VirtualClock {
    pub fn new() -> Self {
        Self::starting_at(0)
    }

    /// A virtual clock whose wall time starts at `unix_ms`.
    pub fn starting_at(unix_ms: u64) -> Self {
        Self {
            origin: now(),
            origin_unix_ms: unix_ms,
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

    fn unix_ms(&self) -> u64 {
        self.origin_unix_ms
            + self.offset_nanos.load(std::sync::atomic::Ordering::SeqCst) / 1_000_000
    }
}
