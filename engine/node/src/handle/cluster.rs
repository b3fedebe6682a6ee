//! A cluster node's own controls: the cluster as it sees it, zone assignment, graceful leave.

use super::NodeHandle;
use crate::cluster::shell::ClusterView;
use crate::error::{Missing, NodeError, Problem};

impl NodeHandle {
    /// The cluster as this node sees it (None for a single node).
    pub fn cluster(&self) -> Option<ClusterView> {
        self.parts.cluster.as_ref().map(|c| c.view())
    }

    /// Zone assignment (any node of a cluster): "save" records `node` as the zone's choice;
    /// "save and apply" also moves the zone there, its current master logging its agents
    /// out first (docs/design.md §5.4, rejoin).
    pub fn assign_zone(&self, zone: &str, node: &str, apply: bool) -> Result<(), NodeError> {
        let Some(c) = &self.parts.cluster else {
            return Err(NodeError::Conflict(
                "this node is not part of a cluster; its zones cannot move".into(),
            ));
        };
        if self.parts.zones.get(zone).is_none() {
            return Err(NodeError::NotFound(Missing::Zone(zone.to_owned())));
        }
        let view = c.view();
        if !view.live.iter().any(|n| n == node) {
            return Err(NodeError::invalid(Problem::field(
                "node",
                format!(
                    "{node} is not a live node of the cluster ({})",
                    view.live.join(", ")
                ),
            )));
        }
        let coord = c.coordination();
        coord.prefer(zone, node)?;
        if apply {
            coord.assign(zone, node)?;
            c.wake_up();
            c.nudge_peers();
        }
        Ok(())
    }

    /// Graceful stop of a cluster node: tells the peers, logs its zones' agents out and
    /// releases every lease, so the peers take them at once rather than when they run out.
    /// Blocks (bounded) on the node's own actors: call it off their thread. A single node
    /// has nothing to hand over.
    pub fn leave_cluster(&self) {
        let Some(c) = &self.parts.cluster else {
            return;
        };
        c.leave(std::time::Duration::from_secs(3));
        // The new masters have the zones; calls still up here (agentless ones: the agents'
        // calls ended with their sessions) are hung up rather than left open on the
        // customers' side. Their outcomes are the new masters' to resolve.
        let (tx, rx) = std::sync::mpsc::channel();
        if self
            .parts
            .sip
            .send(crate::sip_plant::SipCommand::HangUpAll { done: tx })
        {
            match rx.recv_timeout(std::time::Duration::from_secs(1)) {
                Ok(n) if n > 0 => tracing::info!(calls = n, "calls in progress hung up"),
                Ok(_) => {}
                Err(_) => tracing::warn!("calls in progress not confirmed hung up"),
            }
        }
    }
}
