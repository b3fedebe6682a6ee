//! The node's zones, as their actors reach one another: each zone's board of agents, its
//! agent-manager status, its lease cell, its supervisor and its current pacing actor (a
//! takeover replaces the actor; everyone else keeps the handle).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use actix::Addr;

use crate::actors::agent::AgentBoard;
use crate::actors::supervisor::{ZoneStatus, ZoneSupervisor};
use crate::actors::zone::ZoneActor;
use crate::cluster::ZoneLease;

/// One zone of this node.
pub struct ZoneHandle {
    name: String,
    board: Arc<AgentBoard>,
    status: Arc<ZoneStatus>,
    lease: Arc<ZoneLease>,
    pacing: RwLock<Option<Addr<ZoneActor>>>,
    supervisor: OnceLock<Addr<ZoneSupervisor>>,
}

impl ZoneHandle {
    pub fn new(
        name: String,
        board: Arc<AgentBoard>,
        status: Arc<ZoneStatus>,
        lease: Arc<ZoneLease>,
    ) -> Self {
        Self {
            name,
            board,
            status,
            lease,
            pacing: RwLock::new(None),
            supervisor: OnceLock::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn board(&self) -> &Arc<AgentBoard> {
        &self.board
    }

    pub fn status(&self) -> &Arc<ZoneStatus> {
        &self.status
    }

    pub fn lease(&self) -> &Arc<ZoneLease> {
        &self.lease
    }

    /// Whether the zone's agent service is up; false during a takeover (and while the zone
    /// is DORMANT here).
    pub fn in_service(&self) -> bool {
        self.board.in_service()
    }

    /// The zone's current pacing actor; None while DORMANT.
    pub fn pacing(&self) -> Option<Addr<ZoneActor>> {
        self.pacing.read().ok()?.clone()
    }

    pub(crate) fn set_pacing(&self, actor: Option<Addr<ZoneActor>>) {
        if let Ok(mut p) = self.pacing.write() {
            *p = actor;
        }
    }

    pub fn supervisor(&self) -> Option<&Addr<ZoneSupervisor>> {
        self.supervisor.get()
    }

    /// Set once, when the node starts the zone.
    pub(crate) fn set_supervisor(&self, sup: Addr<ZoneSupervisor>) {
        let _ = self.supervisor.set(sup);
    }
}

/// Every zone of the node, in the config's order.
#[derive(Clone, Default)]
pub struct Zones {
    order: Vec<String>,
    by_name: HashMap<String, Arc<ZoneHandle>>,
}

impl Zones {
    pub fn new(zones: Vec<ZoneHandle>) -> Self {
        let order = zones.iter().map(|z| z.name.clone()).collect();
        let by_name = zones
            .into_iter()
            .map(|z| (z.name.clone(), Arc::new(z)))
            .collect();
        Self { order, by_name }
    }

    pub fn get(&self, zone: &str) -> Option<&Arc<ZoneHandle>> {
        self.by_name.get(zone)
    }

    /// Whether `zone`'s agent service is up here (false for a zone this node does not have).
    pub fn in_service(&self, zone: &str) -> bool {
        self.get(zone).is_some_and(|z| z.in_service())
    }

    /// The zones in the config's order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<ZoneHandle>> {
        self.order.iter().filter_map(|z| self.by_name.get(z))
    }

    pub fn names(&self) -> &[String] {
        &self.order
    }
}
