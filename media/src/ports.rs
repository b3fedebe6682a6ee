//! RTP port pool: leases even RTP ports (RTCP is the odd port above, reserved with it) and takes
//! them back when the lease is dropped, on every exit path.

use std::collections::VecDeque;
use std::fmt;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use crate::error::MediaError;

/// A pool of RTP/RTCP port pairs over a range. Cheap to clone; clones share the pool.
///
/// Leases come out in FIFO order of release, so a port just freed is the last to be reused and a
/// late packet of the previous call is unlikely to reach the next one. The free list is behind a
/// `Mutex` held for one push or pop: acquiring is per call, not per packet.
#[derive(Clone)]
pub struct PortPool {
    inner: Arc<Inner>,
}

struct Inner {
    first: u16,
    last: u16,
    capacity: usize,
    free: Mutex<VecDeque<u16>>,
    released: Notify,
    totals: Totals,
}

/// What the pool's legs did, added as each leg ends: one add per leg, not per packet.
#[derive(Default)]
struct Totals {
    legs: AtomicU64,
    packets_sent: AtomicU64,
    packets_received: AtomicU64,
    packets_lost: AtomicU64,
    unexpected_source: AtomicU64,
    malformed: AtomicU64,
}

/// The media counters of the legs that have ended on a pool's ports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaTotals {
    /// Legs ended.
    pub legs: u64,
    /// RTP packets sent.
    pub packets_sent: u64,
    /// RTP packets accepted from the peer.
    pub packets_received: u64,
    /// Lost per RFC 3550 (expected minus received), summed over the legs.
    pub packets_lost: u64,
    /// Datagrams from an address other than the peer's SDP address, dropped.
    pub unexpected_source: u64,
    /// Datagrams from the peer that were not RTP, dropped.
    pub malformed: u64,
}

impl Inner {
    fn free(&self) -> MutexGuard<'_, VecDeque<u16>> {
        // Every critical section is a single push or pop, so a panic cannot leave the list
        // half-updated: a poisoned lock is still consistent.
        self.free.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl PortPool {
    /// A pool of the even ports of `first..=last`, each with the odd port above it for RTCP.
    ///
    /// `first` must be even and non-zero and the range must hold at least one pair
    /// (`last >= first + 1`). Capacity is `(last - first + 1) / 2`.
    pub fn new(first: u16, last: u16) -> Result<PortPool, MediaError> {
        let refuse = |reason| {
            Err(MediaError::InvalidPortRange {
                first,
                last,
                reason,
            })
        };
        if first == 0 {
            return refuse("port 0 means \"any port\"; give a real range");
        }
        if !first.is_multiple_of(2) {
            return refuse("the first port must be even (RTP even, RTCP the odd port above)");
        }
        if last <= first {
            return refuse("the range must hold at least one RTP/RTCP pair");
        }
        let free: VecDeque<u16> = (first..last).step_by(2).collect();
        Ok(PortPool {
            inner: Arc::new(Inner {
                first,
                last,
                capacity: free.len(),
                free: Mutex::new(free),
                released: Notify::new(),
                totals: Totals::default(),
            }),
        })
    }

    /// Leases a port pair; it returns to the pool when the lease is dropped.
    pub fn acquire(&self) -> Result<PortLease, MediaError> {
        let port = self.inner.free().pop_front();
        match port {
            Some(port) => Ok(PortLease {
                pool: Arc::clone(&self.inner),
                port,
            }),
            None => Err(MediaError::PortsExhausted {
                capacity: self.inner.capacity,
                first: self.inner.first,
                last: self.inner.last,
            }),
        }
    }

    /// Pairs currently leased.
    pub fn in_use(&self) -> usize {
        self.inner.capacity - self.inner.free().len()
    }

    /// Pairs in the pool.
    pub fn capacity(&self) -> usize {
        self.inner.capacity
    }

    /// The configured range.
    pub fn range(&self) -> RangeInclusive<u16> {
        self.inner.first..=self.inner.last
    }

    /// What the legs that have ended on the pool's ports sent and received.
    pub fn totals(&self) -> MediaTotals {
        let t = &self.inner.totals;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MediaTotals {
            legs: get(&t.legs),
            packets_sent: get(&t.packets_sent),
            packets_received: get(&t.packets_received),
            packets_lost: get(&t.packets_lost),
            unexpected_source: get(&t.unexpected_source),
            malformed: get(&t.malformed),
        }
    }

    /// Waits until every lease has been returned (for a graceful shutdown, or a test).
    pub async fn drained(&self) {
        loop {
            // Register interest before checking, so a release in between is not missed.
            let released = self.inner.released.notified();
            if self.in_use() == 0 {
                return;
            }
            released.await;
        }
    }
}

impl fmt::Debug for PortPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PortPool")
            .field("range", &self.range())
            .field("capacity", &self.capacity())
            .field("in_use", &self.in_use())
            .finish()
    }
}

/// One leased RTP port (even) with its RTCP port (odd, +1). Dropping it returns both to the pool.
pub struct PortLease {
    pool: Arc<Inner>,
    port: u16,
}

impl PortLease {
    /// The RTP port (even).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Adds an ended leg's counters to its pool's totals.
    pub(crate) fn record(&self, leg: &MediaTotals) {
        let t = &self.pool.totals;
        let add = |c: &AtomicU64, v: u64| c.fetch_add(v, Ordering::Relaxed);
        add(&t.legs, leg.legs);
        add(&t.packets_sent, leg.packets_sent);
        add(&t.packets_received, leg.packets_received);
        add(&t.packets_lost, leg.packets_lost);
        add(&t.unexpected_source, leg.unexpected_source);
        add(&t.malformed, leg.malformed);
    }

    /// The RTCP port reserved with it (RTP + 1).
    pub fn rtcp_port(&self) -> u16 {
        self.port + 1
    }
}

impl Drop for PortLease {
    fn drop(&mut self) {
        self.pool.free().push_back(self.port);
        self.pool.released.notify_waiters();
    }
}

impl fmt::Debug for PortLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PortLease({}/{})", self.port, self.rtcp_port())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Blame;

    #[test]
    fn range_is_validated() {
        for (first, last) in [(0, 10), (10_001, 10_010), (10_000, 10_000), (10_000, 9_000)] {
            let err = PortPool::new(first, last).unwrap_err();
            assert!(
                matches!(err, MediaError::InvalidPortRange { .. }),
                "{first}..={last}"
            );
            assert_eq!(err.blame(), Blame::Caller);
        }
        assert_eq!(PortPool::new(10_000, 10_001).unwrap().capacity(), 1);
        assert_eq!(PortPool::new(10_000, 10_009).unwrap().capacity(), 5);
        assert_eq!(
            PortPool::new(10_000, 10_010).unwrap().capacity(),
            5,
            "10010 has no RTCP port"
        );
        assert_eq!(PortPool::new(65_534, 65_535).unwrap().capacity(), 1);
    }

    #[test]
    fn leases_are_even_pairs_and_exhaustion_is_an_error() {
        let pool = PortPool::new(20_000, 20_005).unwrap();
        let a = pool.acquire().unwrap();
        let b = pool.acquire().unwrap();
        let c = pool.acquire().unwrap();
        assert_eq!([a.port(), b.port(), c.port()], [20_000, 20_002, 20_004]);
        assert_eq!(c.rtcp_port(), 20_005);
        assert_eq!(pool.in_use(), 3);
        let err = pool.acquire().unwrap_err();
        assert!(matches!(
            err,
            MediaError::PortsExhausted { capacity: 3, .. }
        ));
        assert_eq!(err.blame(), Blame::Capacity);
        assert!(err.to_string().contains("20000..=20005"), "{err}");
        drop(b);
        assert_eq!(pool.in_use(), 2);
        assert_eq!(pool.acquire().unwrap().port(), 20_002);
        assert_eq!(
            pool.in_use(),
            2,
            "the temporary lease was dropped at the end of the statement"
        );
    }

    #[test]
    fn released_ports_go_to_the_back() {
        let pool = PortPool::new(30_000, 30_007).unwrap();
        let first = pool.acquire().unwrap();
        assert_eq!(first.port(), 30_000);
        drop(first);
        let order: Vec<u16> = (0..4)
            .map(|_| pool.acquire().unwrap())
            .map(|l| l.port())
            .collect();
        // Each temporary is dropped right away and queued behind the others.
        assert_eq!(order, [30_002, 30_004, 30_006, 30_000]);
    }

    fn uses_two_then_fails(pool: &PortPool, fail: bool) -> Result<u16, MediaError> {
        let a = pool.acquire()?;
        let _b = pool.acquire()?;
        if fail {
            return Err(MediaError::InvalidArgument {
                name: "fail",
                reason: "test",
            });
        }
        Ok(a.port())
    }

    #[test]
    fn early_returns_release() {
        let pool = PortPool::new(40_000, 40_003).unwrap();
        assert!(uses_two_then_fails(&pool, true).is_err());
        assert_eq!(pool.in_use(), 0);
        assert!(uses_two_then_fails(&pool, false).is_ok());
        assert_eq!(pool.in_use(), 0);
        // `?` on exhaustion half-way through also releases the first lease.
        let _hog = pool.acquire().unwrap();
        assert!(matches!(
            uses_two_then_fails(&pool, false),
            Err(MediaError::PortsExhausted { .. })
        ));
        assert_eq!(pool.in_use(), 1);
    }

    #[test]
    fn panics_release() {
        let pool = PortPool::new(40_000, 40_003).unwrap();
        let p = pool.clone();
        let result = std::panic::catch_unwind(move || {
            let _lease = p.acquire().unwrap();
            panic!("call task crashed");
        });
        assert!(result.is_err());
        assert_eq!(pool.in_use(), 0);
    }

    #[test]
    fn leases_outlive_the_pool_handle() {
        let pool = PortPool::new(40_000, 40_003).unwrap();
        let lease = pool.acquire().unwrap();
        let observer = pool.clone();
        drop(pool);
        assert_eq!(observer.in_use(), 1);
        drop(lease);
        assert_eq!(observer.in_use(), 0);
    }

    #[test]
    fn concurrent_acquire_release_stays_consistent() {
        let pool = PortPool::new(10_000, 10_199).unwrap();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..2_000 {
                        let held: Vec<PortLease> =
                            (0..10).filter_map(|_| pool.acquire().ok()).collect();
                        let mut ports: Vec<u16> = held.iter().map(PortLease::port).collect();
                        ports.sort_unstable();
                        ports.dedup();
                        assert_eq!(ports.len(), held.len(), "a port leased twice");
                    }
                });
            }
        });
        assert_eq!(pool.in_use(), 0);
        assert_eq!(pool.capacity(), 100);
        let all: Vec<PortLease> = (0..100).map(|_| pool.acquire().unwrap()).collect();
        let mut ports: Vec<u16> = all.iter().map(PortLease::port).collect();
        ports.sort_unstable();
        assert_eq!(
            ports,
            (10_000..10_200).step_by(2).collect::<Vec<u16>>(),
            "no port lost or duplicated"
        );
    }

    #[tokio::test]
    async fn drained_wakes_when_the_last_lease_goes() {
        let pool = PortPool::new(10_000, 10_003).unwrap();
        pool.drained().await; // nothing leased: returns at once
        let a = pool.acquire().unwrap();
        let b = pool.acquire().unwrap();
        let waiter = tokio::spawn({
            let pool = pool.clone();
            async move { pool.drained().await }
        });
        drop(a);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(b);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("drained in time")
            .expect("task ran");
    }
}
