//! How a node writes: through the group commit, and in a cluster fenced by the epoch the
//! writer masters the zone under, so a stale master's batch is refused whole.

use std::sync::Arc;

use super::group::{GroupCommit, Ticket};
use super::{Fence, StoreResult, Write};
use crate::cluster::coordination::zone_lease;

/// A node's handle on durable writes. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    commit: Arc<GroupCommit>,
    /// The node's name when it is part of a cluster: its zone writes then carry a fence.
    fence_as: Option<Arc<str>>,
}

impl Writer {
    /// A writer for a single node (no fences) or a cluster node named `clustered_as`.
    pub fn new(commit: Arc<GroupCommit>, clustered_as: Option<&str>) -> Self {
        Self {
            commit,
            fence_as: clustered_as.map(Arc::from),
        }
    }

    /// `writes`, made conditional on this node still holding `zone`'s lease under `epoch`
    /// (unchanged on a single node).
    pub fn fenced(&self, zone: &str, epoch: u64, mut writes: Vec<Write>) -> Vec<Write> {
        if let Some(node) = &self.fence_as {
            writes.push(Write::Fence(Fence {
                lease: zone_lease(zone),
                node: node.to_string(),
                epoch,
            }));
        }
        writes
    }

    /// Queues a batch of `zone`'s writes under `epoch`; the ticket says when it is durable.
    pub fn submit(&self, zone: &str, epoch: u64, writes: Vec<Write>) -> Ticket {
        self.commit.submit(self.fenced(zone, epoch, writes))
    }

    /// Queues writes no later master could contradict (an attempt's progress on the way).
    pub fn submit_unfenced(&self, writes: Vec<Write>) -> Ticket {
        self.commit.submit(writes)
    }

    /// Commits a batch of `zone`'s writes under `epoch` and waits until it is durable.
    pub fn commit(&self, zone: &str, epoch: u64, writes: Vec<Write>) -> StoreResult<()> {
        self.commit
            .commit_blocking(self.fenced(zone, epoch, writes))
    }

    /// Commits writes that belong to no zone, and waits (a batch with a fence built by the
    /// caller, a job record on a single node, a flush).
    pub fn commit_unfenced(&self, writes: Vec<Write>) -> StoreResult<()> {
        self.commit.commit_blocking(writes)
    }

    pub fn clustered(&self) -> bool {
        self.fence_as.is_some()
    }

    pub fn group(&self) -> &Arc<GroupCommit> {
        &self.commit
    }
}
