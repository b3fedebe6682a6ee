//! Fault injection on a live node (`POST /v1/admin/faults`), refused unless the config
//! enables it. Each fault reaches the part it breaks the way a real failure would: a panic
//! inside the actor's own handler, a stop, a media server that stops answering, a SIP
//! socket that goes quiet, a process that dies without cleaning up.

use std::time::Duration;

use serde::Serialize;

use crate::error::{Missing, NodeError, Problem};
use crate::faults::{Fault, Inject};
use crate::NodeHandle;
use outdial_core::agent::AgentId;

/// What an injected fault hit.
#[derive(Debug, Clone, Serialize)]
pub struct Injected {
    pub fault: Fault,
    /// The actor, media server or window it reached, in words.
    pub target: String,
}

/// Longest window a SIP or media-server fault may open, so a typo cannot take a node
/// out for a day.
const MAX_WINDOW_MS: u64 = 600_000;

impl NodeHandle {
    /// Injects `fault`. Refused (Forbidden) when `[chaos] enabled` is not set.
    pub fn inject(&self, fault: Fault) -> Result<Injected, NodeError> {
        let Some(chaos) = self.parts.chaos.as_ref() else {
            return Err(NodeError::Forbidden(
                "fault injection is off; set [chaos] enabled = true in the node's config".into(),
            ));
        };
        let window = |ms: u64| -> Result<Duration, NodeError> {
            if ms == 0 || ms > MAX_WINDOW_MS {
                return Err(NodeError::invalid(Problem::field(
                    "ms",
                    format!("{ms} is outside 1..={MAX_WINDOW_MS}"),
                )));
            }
            Ok(Duration::from_millis(ms))
        };
        let now = outdial_core::clock::now();
        // What an actor fault does to its actor: panic inside a handler, or stop.
        let how = match fault {
            Fault::PanicZone { .. } | Fault::PanicAgent { .. } | Fault::PanicCall { .. } => {
                Inject::Panic
            }
            _ => Inject::Kill,
        };
        let target = match &fault {
            Fault::PanicZone { zone } | Fault::KillZone { zone } => {
                let addr = self
                    .parts
                    .zones
                    .get(zone)
                    .and_then(|z| z.pacing())
                    .ok_or_else(|| NodeError::NotFound(Missing::Zone(zone.to_owned())))?;
                addr.do_send(how);
                format!("zone {zone}'s pacing actor")
            }
            Fault::PanicAgent { agent } | Fault::KillAgent { agent } => {
                let id = AgentId(agent.clone());
                let addr = self
                    .parts
                    .zones
                    .iter()
                    .find_map(|z| z.board().handle(&id))
                    .ok_or_else(|| NodeError::NotFound(Missing::Agent(agent.to_owned())))?;
                addr.do_send(how);
                format!("agent {agent}'s actor")
            }
            Fault::PanicCall { attempt } | Fault::KillCall { attempt } => {
                // Without a named attempt, the oldest call in flight: the one most likely to
                // be with an agent.
                let (id, addr) = chaos.calls.pick(*attempt).ok_or_else(|| match attempt {
                    Some(a) => NodeError::NotFound(Missing::Attempt(*a)),
                    None => NodeError::NotFound(Missing::AnyCall),
                })?;
                addr.do_send(how);
                format!("attempt {id}'s call actor")
            }
            Fault::PanicMpp { mpp } => {
                let i = self.mpp_index(mpp)?;
                let addr = self
                    .parts
                    .mpp_actors
                    .get(i)
                    .ok_or_else(|| NodeError::NotFound(Missing::MediaServer(mpp.clone())))?;
                addr.do_send(Inject::Panic);
                format!("mpp {mpp}'s health actor")
            }
            Fault::MppDown { mpp, ms } => {
                let d = window(*ms)?;
                let i = self.mpp_index(mpp)?;
                if let Some(slot) = self.parts.mpps.slot(i) {
                    let until = self.parts.clock.unix_ms() + d.as_millis() as u64;
                    slot.block_until(until);
                }
                format!("mpp {mpp} unusable for {ms} ms")
            }
            Fault::Mpp503 { mpp, ms } => {
                let d = window(*ms)?;
                let i = self.mpp_index(mpp)?;
                let addr = self
                    .parts
                    .mpps
                    .slot(i)
                    .map(|s| s.config.address)
                    .ok_or_else(|| NodeError::NotFound(Missing::MediaServer(mpp.clone())))?;
                chaos.sip.reject_for(addr, now, d);
                format!("mpp {mpp} answers 503 for {ms} ms")
            }
            Fault::SipDrop { ms } => {
                chaos.sip.drop_for(now, window(*ms)?);
                format!("SIP dropped both ways for {ms} ms")
            }
            Fault::SipDelay { ms } => {
                chaos.sip.stall_for(now, window(*ms)?);
                format!("SIP stalled for {ms} ms")
            }
            Fault::PanicDirector => {
                self.parts.director.do_send(Inject::Panic);
                "the director".to_owned()
            }
            Fault::PanicCampaignManager => {
                self.parts.manager.do_send(Inject::Panic);
                "the campaign manager".to_owned()
            }
            Fault::KillProcess => {
                tracing::error!("injected fault: the process aborts now");
                std::process::abort();
            }
        };
        tracing::warn!(fault = fault.name(), %target, "fault injected");
        Ok(Injected { fault, target })
    }

    /// A planned switchover of `zone`'s agent manager (docs/design.md §5.2, planned switchover): a fresh one takes
    /// the zone at once, without waiting for calls to end; waiting calls are not released,
    /// and agents go through Table 9 and the state check as in any takeover.
    pub fn switchover(&self, zone: &str) -> Result<(), NodeError> {
        let sup = self
            .parts
            .zones
            .get(zone)
            .and_then(|z| z.supervisor())
            .ok_or_else(|| NodeError::NotFound(Missing::Zone(zone.to_owned())))?;
        if !self.parts.zones.in_service(zone) {
            return Err(NodeError::Conflict(format!(
                "zone {zone} is being taken over already"
            )));
        }
        sup.do_send(crate::actors::supervisor::ZoneDown {
            generation: None,
            cause: outdial_core::agent::takeover::Cause::Planned,
        });
        Ok(())
    }

    fn mpp_index(&self, name: &str) -> Result<usize, NodeError> {
        self.parts
            .mpps
            .slots()
            .iter()
            .position(|s| s.config.name == name)
            .ok_or_else(|| NodeError::NotFound(Missing::MediaServer(name.to_owned())))
    }
}
