//! Clusters: several nodes sharing one PostgreSQL database, each zone's agent manager and the
//! director, rule engine and load monitor mastered by exactly one node at a time.
//!
//! Mastership is a lease row with a fencing epoch ([`crate::storage::Coordination`]). The
//! master renews it; every write it makes for a zone carries a [`crate::storage::Fence`] with
//! its epoch, which the database rejects once another node took the lease; and no INVITE
//! leaves a node past its own deadline for the lease ([`ZoneLease::valid`]). Nodes also
//! heartbeat each other over UDP ([`peers`]), so a graceful stop hands over at once and a
//! dead peer is seen well before its lease would run out. Beats are sealed with the cluster's
//! shared key and checked for address, freshness and replay ([`seal`]): nobody outside the
//! cluster can make a node take another's zones.
//!
//! The decisions are a pure function of what a node sees ([`plan::plan`]); the thread that
//! talks to the database and the network ([`shell`]) is a thin loop around it.

pub mod coordination;
pub mod hooks;
pub mod leases;
pub mod peers;
pub mod plan;
pub mod seal;
pub mod shell;

use std::net::SocketAddr;
use std::time::Duration;

use outdial_core::sync::{AtomicU64, Ordering};

/// The director's lease.
pub const DIRECTOR: &str = "director";
pub const RULE_ENGINE: &str = "rule-engine";
pub const LOAD_MONITOR: &str = "load-monitor";
/// The node-wide roles, in the order status shows them.
pub const CONTROL_LEASES: [&str; 3] = [DIRECTOR, RULE_ENGINE, LOAD_MONITOR];

/// One node of the cluster as every node's config names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSettings {
    pub name: String,
    pub http: SocketAddr,
    /// Where peers send its heartbeats.
    pub heartbeat: SocketAddr,
    /// Where it listens for them (the same unless a relay sits in between).
    pub heartbeat_bind: SocketAddr,
    /// Zones it masters on the cluster's first start.
    pub zones: Vec<String>,
}

/// `[cluster]`, resolved, as seen by node `me`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSettings {
    pub database: String,
    pub me: String,
    /// Every node, `me` included, in the file's order: its rank. The first is the preferred
    /// director, and ties in allocation go to the earlier node.
    pub nodes: Vec<PeerSettings>,
    pub lease_ttl: Duration,
    pub renew_every: Duration,
    pub heartbeat_every: Duration,
    pub peer_dead_after: Duration,
    /// The key every beat is sealed with; a cluster does not start without one.
    pub heartbeat_key: seal::KeySource,
    /// A beat further than this from our clock is refused (the nodes' clocks must agree
    /// within it).
    pub heartbeat_max_age: Duration,
}

impl ClusterSettings {
    pub fn me(&self) -> Option<&PeerSettings> {
        self.nodes.iter().find(|n| n.name == self.me)
    }

    pub fn peers(&self) -> impl Iterator<Item = &PeerSettings> {
        self.nodes.iter().filter(move |n| n.name != self.me)
    }

    /// How much earlier than the database a node stops trusting a lease it renewed: room for
    /// the renewal's own trip and for the two clocks' rates to differ.
    pub fn safety_margin(&self) -> Duration {
        self.lease_ttl / 10
    }
}

/// `at` as the lease cells count time: nanoseconds since the node's clock base.
pub fn nanos_since(base: std::time::Instant, at: std::time::Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(base).as_nanos()).unwrap_or(u64::MAX)
}

/// A zone's lease as this node's hot paths see it: the epoch its writes carry and the local
/// deadline past which it must not dial. Lock-free: the pacing loop reads it every decision.
#[derive(Debug)]
pub struct ZoneLease {
    epoch: AtomicU64,
    /// Nanoseconds since the node's clock base; 0 when not held, `u64::MAX` for a single node
    /// (which holds its zones for as long as it runs).
    deadline_ns: AtomicU64,
}

impl ZoneLease {
    /// A lease held for the node's lifetime (single node, embedded storage).
    pub fn forever(epoch: u64) -> Self {
        Self {
            epoch: AtomicU64::new(epoch),
            deadline_ns: AtomicU64::new(u64::MAX),
        }
    }

    pub fn not_held() -> Self {
        Self {
            epoch: AtomicU64::new(0),
            deadline_ns: AtomicU64::new(0),
        }
    }

    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Whether this node may still act as the zone's master at `now_ns` (the node clock's
    /// nanoseconds since its base).
    pub fn valid(&self, now_ns: u64) -> bool {
        now_ns < self.deadline_ns.load(Ordering::Acquire)
    }

    pub fn held(&self) -> bool {
        self.deadline_ns.load(Ordering::Acquire) != 0
    }

    /// Taken (or renewed) under `epoch` until `deadline_ns`.
    pub fn hold(&self, epoch: u64, deadline_ns: u64) {
        self.epoch.store(epoch, Ordering::Release);
        self.deadline_ns
            .store(deadline_ns.max(1), Ordering::Release);
    }

    /// Lost or given up: nothing more is dialed under it.
    pub fn drop_lease(&self) {
        self.deadline_ns.store(0, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_valid_only_before_its_deadline_and_while_held() {
        let l = ZoneLease::not_held();
        assert!(!l.valid(0));
        l.hold(7, 1_000);
        assert_eq!(l.epoch(), 7);
        assert!(l.valid(999));
        assert!(!l.valid(1_000));
        l.drop_lease();
        assert!(!l.valid(1));
        assert!(ZoneLease::forever(1).valid(u64::MAX - 1));
    }
}
