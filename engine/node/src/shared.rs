//! What every actor of a node shares: storage, the SIP plant, media servers, RTP ports and
//! the clock. Built once by the node and handed out as an `Arc`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};

use actix::prelude::*;

use media::{PortPool, Prompt};

use crate::actors::agent::AgentBoard;
use crate::actors::call::CallActor;
use crate::actors::campaign_manager::CampaignManager;
use crate::actors::supervisor::{ControlRoles, ZoneStatus, ZoneSupervisor};
use crate::actors::zone::ZoneActor;
use crate::config::DesktopSettings;
use crate::faults::SipFaults;
use crate::mpp::MppTable;
use crate::sip_plant::SipHandle;
use crate::storage::{GroupCommit, Store};
use outdial_core::agent::AgentId;
use outdial_core::clock::Clock;
use outdial_core::desktop::AgentCredential;
use outdial_core::domain::AttemptId;

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
    /// Per zone: its agents and the counts its pacing loop reads.
    pub boards: HashMap<String, Arc<AgentBoard>>,
    /// Each zone's current pacing actor: a takeover replaces it.
    pub zones: RwLock<HashMap<String, Addr<ZoneActor>>>,
    /// Each zone's supervisor, set once the tree is built.
    pub supervisors: std::sync::OnceLock<HashMap<String, Addr<ZoneSupervisor>>>,
    /// Each zone's agent-manager role and takeover history.
    pub zone_status: HashMap<String, Arc<ZoneStatus>>,
    /// The campaign manager, once started (a takeover asks it for the zone's jobs).
    pub manager: RwLock<Option<Addr<CampaignManager>>>,
    /// Director, campaign manager, rule engine and load monitor roles.
    pub roles: ControlRoles,
    /// Present when the config enables fault injection.
    pub chaos: Option<Chaos>,
    /// Set when the node is being stopped: actors dropped from then on are not failures, and
    /// calls still up are left for the next start's recovery.
    pub stopping: outdial_core::sync::AtomicBool,
    /// The arbiter of the SIP plant, where call and agent actors live.
    pub home: ArbiterHandle,
    pub desktop: DesktopSettings,
    pub credentials: HashMap<AgentId, AgentCredential>,
    /// Nailing calls take ids from their own range so they never meet an attempt's.
    pub nail_ids: outdial_core::sync::AtomicU64,
    /// Per zone: the epoch this node masters it under and the local deadline of that lease.
    /// A single node holds every zone for its lifetime; a cluster node only what its leases
    /// give it.
    pub zone_leases: HashMap<String, Arc<crate::cluster::ZoneLease>>,
    /// The instant the lease cells' nanoseconds count from.
    pub base: std::time::Instant,
    /// Set for a node of a cluster: its writes for a zone carry a fence.
    pub clustered: bool,
    /// The cluster's shared leases and assignments (None for a single node).
    pub coord: Option<Arc<dyn crate::cluster::coordination::Coordination>>,
}

/// One attempt changed state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AttemptEvent {
    pub attempt: outdial_core::domain::AttemptId,
    pub job: outdial_core::domain::JobId,
    pub contact: outdial_core::domain::ContactId,
    pub state: outdial_core::domain::AttemptState,
    pub at: outdial_core::domain::UnixMs,
}

/// Where nailing-call ids start: far above any attempt id a store hands out.
pub const NAIL_ID_BASE: u64 = 1 << 62;

/// Nail `n` of a run under `epoch`: the epoch's low 30 bits above the count's low 32.
pub fn nail_id(epoch: u64, n: u64) -> AttemptId {
    AttemptId(NAIL_ID_BASE | ((epoch & ((1 << 30) - 1)) << 32) | (n & 0xFFFF_FFFF))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nail_ids_differ_across_restarts_and_stay_above_attempts() {
        assert_ne!(nail_id(1, 0), nail_id(2, 0));
        assert_ne!(nail_id(1, 0), nail_id(1, 1));
        assert!(nail_id(1, 0).0 >= NAIL_ID_BASE);
        assert!(nail_id(u64::MAX, u64::MAX).0 >= NAIL_ID_BASE);
    }
}

/// What fault injection needs to reach: the SIP plant's fault windows and the calls in
/// flight (kept only when chaos is on, so production pays nothing for it).
#[derive(Default)]
pub struct Chaos {
    pub sip: Arc<SipFaults>,
    /// How long a takeover waits before the new agent manager takes the zone.
    pub takeover_delay: std::time::Duration,
    pub calls: Mutex<HashMap<AttemptId, Addr<CallActor>>>,
}

impl NodeShared {
    pub fn zone(&self, name: &str) -> Option<Addr<ZoneActor>> {
        self.zones.read().ok()?.get(name).cloned()
    }

    pub fn set_zone(&self, name: &str, addr: Addr<ZoneActor>) {
        if let Ok(mut z) = self.zones.write() {
            z.insert(name.to_owned(), addr);
        }
    }

    /// The zone is no longer paced here (DORMANT on a cluster node).
    pub fn remove_zone(&self, name: &str) {
        if let Ok(mut z) = self.zones.write() {
            z.remove(name);
        }
    }

    /// Whether the zone's agent service is up; false during a takeover (and for a zone this
    /// node does not have).
    pub fn zone_in_service(&self, zone: &str) -> bool {
        self.board(zone).is_some_and(|b| b.in_service())
    }

    pub fn supervisor(&self, zone: &str) -> Option<&Addr<ZoneSupervisor>> {
        self.supervisors.get()?.get(zone)
    }

    pub fn manager(&self) -> Option<Addr<CampaignManager>> {
        self.manager.read().ok()?.clone()
    }

    pub fn board(&self, zone: &str) -> Option<&Arc<AgentBoard>> {
        self.boards.get(zone)
    }

    /// A fresh id for a nailing call. The epoch is part of it: a restarted node's nails must
    /// not reuse the Call-IDs of the last run's, which a phone may still hold open.
    pub fn next_nail_id(&self) -> AttemptId {
        nail_id(
            self.epoch,
            self.nail_ids
                .fetch_add(1, outdial_core::sync::Ordering::Relaxed),
        )
    }

    /// The fencing epoch this node holds `zone` under (0 if it does not).
    pub fn zone_epoch(&self, zone: &str) -> u64 {
        self.zone_leases.get(zone).map_or(0, |l| l.epoch())
    }

    /// Whether this node may dial for `zone` now: it holds the zone's lease and its own
    /// deadline for it has not passed. No INVITE leaves without it.
    pub fn may_dial(&self, zone: &str) -> bool {
        self.zone_leases
            .get(zone)
            .is_some_and(|l| self.lease_valid(l))
    }

    /// Whether `lease` (one of this node's cells) is still this node's, by its own deadline.
    pub fn lease_valid(&self, lease: &crate::cluster::ZoneLease) -> bool {
        lease.valid(crate::cluster::nanos_since(self.base, self.clock.now()))
    }

    /// `writes` for `zone`, made conditional on this node still holding the zone's lease
    /// under the epoch it dials with: a cluster store rejects them from a stale master.
    pub fn fenced(
        &self,
        zone: &str,
        writes: Vec<crate::storage::Write>,
    ) -> Vec<crate::storage::Write> {
        if !self.clustered {
            return writes;
        }
        self.fenced_at(zone, self.zone_epoch(zone), writes)
    }

    /// As [`NodeShared::fenced`], under the epoch an attempt was dialed with: a call that
    /// outlives its node's mastership must not write over what the next master decided.
    pub fn fenced_at(
        &self,
        zone: &str,
        epoch: u64,
        mut writes: Vec<crate::storage::Write>,
    ) -> Vec<crate::storage::Write> {
        if self.clustered {
            writes.push(crate::storage::Write::Fence(crate::storage::Fence {
                lease: crate::cluster::coordination::zone_lease(zone),
                node: self.name.clone(),
                epoch,
            }));
        }
        writes
    }

    /// Tells subscribers, if any.
    pub fn publish(&self, a: &outdial_core::domain::Attempt) {
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
