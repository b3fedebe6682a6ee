//! What the nodes of a cluster agree on through their shared database: leases with fencing
//! epochs (one master per zone, director, rule engine and load monitor), the nodes' liveness,
//! and where each zone is assigned.
//!
//! Deadlines are kept by the database's clock, never a node's, so nodes whose clocks drift
//! still agree on when a lease has run out. A node keeps its own, earlier deadline for each
//! lease it holds (the renewal was sent before the database stamped it), and stops acting as
//! master when that passes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::storage::StoreResult;
use outdial_core::domain::UnixMs;
pub use outdial_core::store::Fence;

/// The lease of a zone's agent manager.
pub fn zone_lease(zone: &str) -> String {
    format!("zone/{zone}")
}

/// One lease as the database has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRow {
    /// `director`, `rule-engine`, `load-monitor`, or `zone/{zone}`.
    pub name: String,
    /// The holder; None when it was released or never taken.
    pub node: Option<String>,
    /// Bumped by every take: the fencing token.
    pub epoch: u64,
    /// Time left before it runs out, by the database's clock (0 when run out or released).
    pub remaining_ms: u64,
}

impl LeaseRow {
    /// Held and not run out.
    pub fn live_holder(&self) -> Option<&str> {
        (self.remaining_ms > 0)
            .then_some(self.node.as_deref())
            .flatten()
    }
}

/// What a node says about itself in each heartbeat row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeBeat {
    pub node: String,
    /// Its HTTP API, where desktops and `outdial status` reach it.
    pub api: String,
    /// `up`, or `leaving` during a graceful stop.
    pub state: String,
}

/// A node as the database last heard from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRow {
    pub node: String,
    pub api: String,
    pub state: String,
    /// Time since its last heartbeat row, by the database's clock.
    pub silent_ms: u64,
}

/// Where a zone runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub zone: String,
    /// The node that should master the zone now: the director's allocation, or an applied
    /// administrator's choice. Only this node takes the zone's lease.
    pub node: String,
    /// The administrator's recorded choice ("save"); it becomes `node` only on "save and apply".
    pub preferred: Option<String>,
    pub updated_at: UnixMs,
}

/// The cluster operations a shared store offers. Every method is one short transaction.
pub trait Coordination: Send + Sync + 'static {
    /// Takes `lease` for `node` for `ttl`, under the next epoch, if it is free: never taken,
    /// released, run out, held by `node` itself (a restarted node fences its earlier run), or
    /// held by one of `dead` (peers this node has seen stop heartbeating; a stale master's
    /// writes are then fenced off). Returns the new epoch, or None if another node holds it.
    fn acquire(
        &self,
        lease: &str,
        node: &str,
        ttl: Duration,
        dead: &[String],
    ) -> StoreResult<Option<u64>>;

    /// Extends `lease` by `ttl` if `node` still holds it under `epoch`; false if it was taken.
    fn renew(&self, lease: &str, node: &str, epoch: u64, ttl: Duration) -> StoreResult<bool>;

    /// Gives `lease` up at once (a graceful stop, or a zone moved away), if still held.
    fn release(&self, lease: &str, node: &str, epoch: u64) -> StoreResult<()>;

    /// Clears every other node's claims on `job`'s contacts: this node just took the job's
    /// zone, and what the last master had queued is dialed now rather than when the claims
    /// run out. A stale master that still holds them can no longer record a dial (fenced).
    fn take_claims(&self, job: outdial_core::domain::JobId) -> StoreResult<u64>;

    /// Adds numbers to the cluster's do-not-call list (already there: no change).
    fn add_do_not_call(&self, numbers: &[String]) -> StoreResult<()>;

    /// The numbers added after position `after` (0: all), and the position of the last one.
    fn do_not_call_since(&self, after: u64) -> StoreResult<(Vec<String>, u64)>;

    /// Every lease row.
    fn leases(&self) -> StoreResult<Vec<LeaseRow>>;

    /// Records that `beat.node` is alive now (by the database's clock).
    fn heartbeat(&self, beat: &NodeBeat) -> StoreResult<()>;

    /// Every node that has ever heartbeated.
    fn nodes(&self) -> StoreResult<Vec<NodeRow>>;

    /// Inserts `zone`'s assignment to `node` unless the zone already has one (first start).
    fn seed_assignment(&self, zone: &str, node: &str) -> StoreResult<()>;

    /// Moves `zone` to `node` (the director's allocation, or "save and apply").
    fn assign(&self, zone: &str, node: &str) -> StoreResult<()>;

    /// Records the administrator's choice for `zone` without moving it ("save").
    fn prefer(&self, zone: &str, node: &str) -> StoreResult<()>;

    fn assignments(&self) -> StoreResult<Vec<Assignment>>;
}
