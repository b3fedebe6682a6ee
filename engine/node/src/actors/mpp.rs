//! The MPP actor: probes one media server with OPTIONS and publishes its health into the
//! node's lock-free [`MppTable`]; a thin shell over [`MppHealth`].

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use crate::faults::{raise_contained, Inject};
use crate::mpp::{HealthAction, MppHealth, MppTable};
use crate::sip_plant::SipHandle;
use crate::sip_plant::{ProbeResult, SipCommand};
use outdial_core::clock::Clock;

/// What the MPP actors need from their node.
pub struct MppDeps {
    pub mpps: Arc<MppTable>,
    pub sip: SipHandle,
    pub clock: Arc<dyn Clock>,
    /// The node's run: its probes' Call-IDs carry it.
    pub epoch: u64,
}

pub struct MppActor {
    deps: Arc<MppDeps>,
    index: usize,
    health: MppHealth,
    token: u64,
}

impl MppActor {
    pub fn new(deps: Arc<MppDeps>, index: usize) -> Option<Self> {
        let cfg = deps.mpps.slot(index)?.config.clone();
        let health = MppHealth::new(
            deps.clock.now(),
            cfg.options_interval,
            cfg.down_after_missed,
        );
        // Probe Call-IDs carry the token: a restarted node must not reuse the last run's,
        // which a media server may still hold (SIPp takes a repeated Call-ID for the old
        // dialog and ignores the probe, and the server looks down).
        let token = (deps.epoch & ((1 << 30) - 1)) << 32;
        Some(Self {
            deps,
            index,
            health,
            token,
        })
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        let now = self.deps.clock.now();
        self.token += 1;
        for action in self.health.on_tick(now, self.token) {
            self.apply(action, ctx);
        }
        let wait = self
            .health
            .next_deadline()
            .saturating_duration_since(now)
            .max(Duration::from_millis(10));
        ctx.run_later(wait, |act, ctx| act.tick(ctx));
    }

    fn apply(&mut self, action: HealthAction, ctx: &mut Context<Self>) {
        let Some(slot) = self.deps.mpps.slot(self.index) else {
            return;
        };
        match action {
            HealthAction::Probe(token) => {
                self.deps.sip.send(SipCommand::Probe {
                    target: slot.config.address,
                    token,
                    reply: ctx.address().recipient(),
                });
            }
            HealthAction::Changed { up } => {
                slot.set_healthy(up);
                if up {
                    tracing::info!(mpp = %slot.config.name, "media server up");
                } else {
                    tracing::warn!(mpp = %slot.config.name, "media server down: no answer to OPTIONS");
                }
            }
            HealthAction::None => {}
        }
    }
}

impl Actor for MppActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.tick(ctx);
    }
}

impl actix::Supervised for MppActor {
    fn restarting(&mut self, _ctx: &mut Context<Self>) {
        // Health is re-learned from fresh probes; the slot keeps its last verdict meanwhile.
        let cfg = self.deps.mpps.slot(self.index).map(|s| s.config.clone());
        if let Some(cfg) = cfg {
            self.health = MppHealth::new(
                self.deps.clock.now(),
                cfg.options_interval,
                cfg.down_after_missed,
            );
        }
        tracing::warn!(mpp = self.index, "media server health actor restarted");
    }
}

impl Handler<Inject> for MppActor {
    type Result = ();

    fn handle(&mut self, msg: Inject, ctx: &mut Context<Self>) {
        if msg == Inject::Panic {
            tracing::error!(mpp = self.index, panic = %raise_contained(), "media server health actor panicked");
        }
        // Its supervisor starts it again.
        ctx.stop();
    }
}

impl Handler<ProbeResult> for MppActor {
    type Result = ();

    fn handle(&mut self, r: ProbeResult, ctx: &mut Context<Self>) {
        if let (Some(503), Some(ra), Some(slot)) =
            (r.status, r.retry_after, self.deps.mpps.slot(self.index))
        {
            slot.block_until(
                self.deps.clock.unix_ms() + u64::try_from(ra.as_millis()).unwrap_or(u64::MAX),
            );
        }
        let action = self.health.on_result(r.token, r.status);
        self.apply(action, ctx);
    }
}
