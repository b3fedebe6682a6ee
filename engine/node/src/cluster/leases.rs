//! The leases this node holds, as its actors read them: each zone's lease cell, and the
//! clock base the cells count their deadlines from.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use outdial_core::clock::Clock;

use super::{nanos_since, ZoneLease};

/// This node's lease cells. A single node holds every zone for its lifetime; a cluster node
/// what the cluster's leases give it.
pub struct Leases {
    cells: HashMap<String, Arc<ZoneLease>>,
    base: Instant,
    clock: Arc<dyn Clock>,
}

impl Leases {
    pub fn new(
        cells: HashMap<String, Arc<ZoneLease>>,
        base: Instant,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { cells, base, clock }
    }

    /// `zone`'s cell (one that is never held for a zone this node does not know).
    pub fn cell(&self, zone: &str) -> Arc<ZoneLease> {
        self.cells
            .get(zone)
            .cloned()
            .unwrap_or_else(|| Arc::new(ZoneLease::not_held()))
    }

    /// The fencing epoch this node holds `zone` under (0 if it does not).
    pub fn epoch(&self, zone: &str) -> u64 {
        self.cells.get(zone).map_or(0, |l| l.epoch())
    }

    pub fn held(&self, zone: &str) -> bool {
        self.cells.get(zone).is_some_and(|l| l.held())
    }

    /// Whether this node may dial for `zone` now: it holds the zone's lease and its own
    /// deadline for it has not passed. No INVITE leaves without it.
    pub fn may_dial(&self, zone: &str) -> bool {
        self.cells.get(zone).is_some_and(|l| self.valid(l))
    }

    /// Whether `lease` (one of this node's cells) is still this node's, by its own deadline.
    pub fn valid(&self, lease: &ZoneLease) -> bool {
        lease.valid(nanos_since(self.base, self.clock.now()))
    }

    pub fn cells(&self) -> &HashMap<String, Arc<ZoneLease>> {
        &self.cells
    }

    /// The instant the cells' nanoseconds count from.
    pub fn base(&self) -> Instant {
        self.base
    }
}
