//! What every actor of a node shares: storage, the SIP plant, media servers, RTP ports and
//! the clock. Built once by the node and handed out as an `Arc`.

use std::net::IpAddr;
use std::sync::Arc;

use media::{PortPool, Prompt};

use crate::clock::Clock;
use crate::mpp::MppTable;
use crate::node::sip::SipHandle;
use crate::store::{GroupCommit, Store};

pub struct NodeShared {
    pub name: String,
    /// Zones this node masters.
    pub config_zones: Vec<String>,
    pub store: Arc<dyn Store>,
    pub commit: Arc<GroupCommit>,
    pub sip: SipHandle,
    pub mpps: Arc<MppTable>,
    pub ports: PortPool,
    pub rtp_ip: IpAddr,
    pub clock: Arc<dyn Clock>,
    /// The fencing epoch this node's writes carry: one past the last master of its zones.
    pub epoch: u64,
    /// Played on agentless answers and on abandons when a campaign names no message.
    pub default_prompt: Prompt,
    /// Attempt state changes, for library users (`NodeHandle::subscribe`). Lagging
    /// subscribers lose the oldest events, never slow the calls.
    pub events: tokio::sync::broadcast::Sender<AttemptEvent>,
}

/// One attempt changed state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AttemptEvent {
    pub attempt: crate::domain::AttemptId,
    pub job: crate::domain::JobId,
    pub contact: crate::domain::ContactId,
    pub state: crate::domain::AttemptState,
    pub at: crate::domain::UnixMs,
}

impl NodeShared {
    /// Tells subscribers, if any.
    pub fn publish(&self, a: &crate::domain::Attempt) {
        if self.events.receiver_count() > 0 {
            let _ = self.events.send(AttemptEvent {
                attempt: a.id,
                job: a.job,
                contact: a.contact,
                state: a.state,
                at: self.clock.unix_ms(),
            });
        }
    }
}
