//! What `GET /v1/node` reports: the component table (MASTER / DORMANT / RUNNING / STOPPED),
//! each zone's takeovers, media servers, load.

use std::net::SocketAddr;

use super::NodeHandle;
use crate::actors::load_monitor::LoadView;
use crate::actors::supervisor::{Acquisition, Role};
use crate::actors::zones::ZoneHandle;
use crate::job::StatsView;
use crate::storage::{ContactCounts, Job};
use outdial_core::agent::takeover::TakeoverRecord;
use outdial_core::sync::Ordering;

/// One component's role, as a row of the status tables (docs/design.md §5.1).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ComponentStatus {
    pub component: String,
    pub role: String,
    /// The zone an agent manager holds (or is taking over).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Restarts after a failure (director and campaign manager), and the last one's length
    /// from the fault to the component being back in its role.
    #[serde(default)]
    pub restarts: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_restart_ms: Option<f64>,
}

/// A zone's takeovers on this node.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ZoneTakeovers {
    pub zone: String,
    pub in_service: bool,
    pub takeovers: u64,
    /// Fault to dialing resumed, over the kept records: best, median and worst, ms.
    pub took_min_ms: Option<f64>,
    pub took_p50_ms: Option<f64>,
    pub took_max_ms: Option<f64>,
    pub nuisance_released: u64,
    pub desktop_errors: u64,
    /// The most recent takeover, step by step.
    pub last: Option<TakeoverRecord>,
    /// The fencing epoch this node masters the zone under.
    pub epoch: u64,
    /// In a cluster: when this node took the zone, and when its dialing resumed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acquired: Option<Acquisition>,
}

/// What `GET /v1/node` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeStatus {
    pub name: String,
    /// The fencing epoch this node holds its zones under.
    pub epoch: u64,
    pub sip: SocketAddr,
    pub components: Vec<ComponentStatus>,
    pub zones: Vec<ZoneTakeovers>,
    pub mpps: Vec<MppStatus>,
    /// Each `[[trunk]]` and where its registration stands.
    pub trunks: Vec<crate::trunk::TrunkStatus>,
    pub load: LoadView,
    pub recovered_attempts: u64,
    /// Numbers on the do-not-call list this node applies (in a cluster, the shared list as
    /// far as this node has read it: numbers added elsewhere arrive within half a second).
    pub do_not_call: usize,
    pub invites_sent: u64,
    pub sip_retransmissions: u64,
    /// RTP of the call legs that have ended.
    pub media: MediaView,
    /// What the SIP plant refused or survived.
    pub sip_plant: SipView,
}

/// What the SIP plant refused, dropped or survived since the node started.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct SipView {
    /// INVITEs from outside, refused (a stateless 403, or dropped over the guard's rate).
    pub refused_invites: u64,
    /// Requests answered without a transaction.
    pub answered_stateless: u64,
    /// Requests the per-source guard dropped, and the sources it banned.
    pub guard_dropped: u64,
    pub guard_bans: u64,
    /// Responses that matched a transaction but came from elsewhere than its request went.
    pub foreign_responses: u64,
    /// Requests that failed to parse (answered 400, 505), and bytes dropped unanswered.
    pub rejected_malformed: u64,
    pub dropped_junk: u64,
    /// Socket errors the receive loop survived.
    pub socket_errors: u64,
}

/// What the node's call legs sent and received, counted as each leg ends.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct MediaView {
    pub legs: u64,
    pub packets_sent: u64,
    pub packets_received: u64,
    pub packets_lost: u64,
    /// Packets from an address other than the one the far end's SDP named, dropped.
    pub unexpected_source: u64,
    pub malformed: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct MppStatus {
    pub name: String,
    pub address: SocketAddr,
    pub healthy: bool,
    pub in_use: u32,
    pub capacity: u32,
}

/// A job's live report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobReport {
    pub job: Job,
    pub contacts: ContactCounts,
    pub stats: StatsView,
}

impl NodeHandle {
    pub fn status(&self) -> NodeStatus {
        let p = &self.parts;
        let roles = &p.roles;
        let row = |component: &str, role: Role| ComponentStatus {
            component: component.into(),
            role: role.as_str().into(),
            zone: None,
            restarts: 0,
            last_restart_ms: None,
        };
        let restarted = |component: &str, cell: &crate::actors::supervisor::RoleCell| {
            let (n, ms) = cell.restarts();
            ComponentStatus {
                restarts: n,
                last_restart_ms: (n > 0).then_some(ms),
                ..row(component, cell.get())
            }
        };
        let mut components = vec![
            restarted("director", &roles.director),
            restarted("campaign-manager", &roles.campaign_manager),
            row("rule-engine", roles.rule_engine.get()),
            row("load-monitor", roles.load_monitor.get()),
            row("api", Role::Running),
            row("desktop-service", Role::Running),
        ];
        let mut zones = Vec::new();
        let clustered = p.writer.clustered();
        for z in p.zones.iter() {
            // A cluster node lists the zones it masters; the others are another node's.
            if clustered && !z.lease().held() {
                continue;
            }
            let st = z.status();
            components.push(ComponentStatus {
                zone: Some(z.name().to_owned()),
                restarts: st.takeovers.load(Ordering::Relaxed),
                ..row("agent-manager", st.role.get())
            });
            zones.push(zone_takeovers(z));
        }
        if clustered && zones.is_empty() {
            // The status tables show a dormant agent manager without a zone.
            components.push(row("agent-manager", Role::Dormant));
        }
        let c = &p.sip.counters;
        NodeStatus {
            name: p.name.clone(),
            epoch: p.epoch,
            sip: p.sip.local,
            components,
            zones,
            mpps: p
                .mpps
                .slots()
                .iter()
                .map(|s| MppStatus {
                    name: s.config.name.clone(),
                    address: s.config.address,
                    healthy: s.healthy(),
                    in_use: s.in_use(),
                    capacity: s.config.capacity,
                })
                .collect(),
            load: p.load.view(),
            recovered_attempts: p.recovered,
            do_not_call: p.rule_set.load().dnc_len(),
            invites_sent: c.invites.load(Ordering::Relaxed),
            sip_retransmissions: c.retransmissions.load(Ordering::Relaxed),
            trunks: p.sip.trunks.status(),
            media: {
                let m = p.rtp.totals();
                MediaView {
                    legs: m.legs,
                    packets_sent: m.packets_sent,
                    packets_received: m.packets_received,
                    packets_lost: m.packets_lost,
                    unexpected_source: m.unexpected_source,
                    malformed: m.malformed,
                }
            },
            sip_plant: SipView {
                refused_invites: c.refused_invites.load(Ordering::Relaxed),
                answered_stateless: c.answered_stateless.load(Ordering::Relaxed),
                guard_dropped: c.guard_dropped.load(Ordering::Relaxed),
                guard_bans: c.guard_bans.load(Ordering::Relaxed),
                foreign_responses: c.foreign_responses.load(Ordering::Relaxed),
                rejected_malformed: c.rejected_malformed.load(Ordering::Relaxed),
                dropped_junk: c.dropped_junk.load(Ordering::Relaxed),
                socket_errors: c.socket_errors.load(Ordering::Relaxed),
            },
        }
    }
}

/// `zone`'s takeovers on this node, over the records it keeps.
fn zone_takeovers(z: &ZoneHandle) -> ZoneTakeovers {
    let st = z.status();
    let history = st.history();
    let mut took: Vec<f64> = history
        .iter()
        .filter_map(|t| t.took())
        .map(|d| d.as_secs_f64() * 1000.0)
        .collect();
    took.sort_by(f64::total_cmp);
    let epoch = z.lease().epoch();
    ZoneTakeovers {
        zone: z.name().to_owned(),
        in_service: z.in_service(),
        takeovers: st.takeovers.load(Ordering::Relaxed),
        took_min_ms: took.first().copied(),
        took_p50_ms: took.get(took.len() / 2).copied(),
        took_max_ms: took.last().copied(),
        nuisance_released: z.board().released_by_takeover(),
        desktop_errors: z.board().desktop_errors(),
        last: history.last().cloned(),
        epoch,
        // The lease cell moves first; the acquisition follows a moment later.
        acquired: st.acquisition().filter(|a| a.epoch == epoch),
    }
}
