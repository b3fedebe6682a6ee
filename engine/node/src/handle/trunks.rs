//! The node's trunks as its owner sees them: registration metrics, and taking the bindings
//! off the registrars when the node stops.

use std::time::Duration;

use super::NodeHandle;
use crate::sip_plant::SipCommand;

impl NodeHandle {
    /// The trunks' registration metrics (`outdial_trunk_registered{trunk="..."}` and
    /// counters) in the Prometheus text format, for `/metrics` to append.
    pub fn trunk_metrics(&self) -> String {
        self.parts.sip.trunks.metrics()
    }

    /// Un-REGISTERs every registered trunk and waits (at most `limit`) until the requests
    /// have left. Blocks: call it off the node's actors' thread. Returns how many were sent.
    pub fn unregister_trunks(&self, limit: Duration) -> usize {
        let (tx, rx) = std::sync::mpsc::channel();
        if !self.parts.sip.send(SipCommand::UnregisterAll { done: tx }) {
            return 0;
        }
        match rx.recv_timeout(limit) {
            Ok(n) => n,
            Err(_) => {
                tracing::warn!("trunk registrations not confirmed removed");
                0
            }
        }
    }
}
