//! A node's side of mastership changes: what taking or losing a zone does to its actors.
//! Runs on the cluster thread ([`crate::cluster::shell`]), so it may block on storage; it
//! reaches the actors by message and waits (bounded) where the order matters.

use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use crate::actors::director::{Director, ForgetZone, ResumeZone};
use crate::actors::supervisor::ControlRoles;
use crate::actors::supervisor::{Acquire, Release, Role};
use crate::actors::zones::Zones;
use crate::cluster::coordination::Coordination;
use crate::cluster::shell::{Hooks, Loss};
use crate::cluster::{DIRECTOR, LOAD_MONITOR, RULE_ENGINE};
use crate::storage::{Store, Writer};
use outdial_core::clock::Clock;

/// How long a mastership change waits for the zone's actors to acknowledge a step.
const STEP_WAIT: Duration = Duration::from_secs(2);

pub struct NodeHooks {
    pub store: Arc<dyn Store>,
    pub writer: Writer,
    pub coord: Arc<dyn Coordination>,
    pub zones: Zones,
    pub roles: Arc<ControlRoles>,
    pub clock: Arc<dyn Clock>,
    /// The arbiter of the node's zones, where waits on their actors run.
    pub home: ArbiterHandle,
    pub director: Addr<Director>,
}

impl Hooks for NodeHooks {
    fn zone_taken(&mut self, zone: &str, epoch: u64) {
        let now = self.clock.unix_ms();
        let jobs: std::collections::HashSet<outdial_core::domain::JobId> = match self.store.jobs() {
            Ok(j) => j
                .into_iter()
                .filter(|j| j.zone == zone)
                .map(|j| j.id)
                .collect(),
            Err(e) => {
                tracing::error!(zone, error = %e, "cannot list the zone's jobs; the last master's claims and attempts wait for the next take");
                Default::default()
            }
        };
        for job in &jobs {
            if let Err(e) = self.coord.take_claims(*job) {
                tracing::warn!(%job, error = %e, "cannot take over the last master's claims; they run out by themselves");
            }
        }
        // What the last master left in flight is resolved before anything dials (docs/design.md §5:
        // none trapped, none dialed twice), with writes fenced by the new epoch.
        match crate::recovery::resolve_zone(
            self.store.as_ref(),
            &self.writer,
            zone,
            &jobs,
            epoch,
            now,
        ) {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                zone,
                epoch,
                attempts = n,
                "attempts the last master left in flight ended recovered-after-failover"
            ),
            Err(e) => {
                tracing::error!(zone, error = %e, "cannot resolve the last master's attempts; they stay for the next take")
            }
        }
        let Some(sup) = self.zones.get(zone).and_then(|z| z.supervisor()).cloned() else {
            return;
        };
        // The pacing actor exists before the director hands it the zone's jobs.
        let (tx, rx) = mpsc::channel();
        // The cluster thread has no actix system: the wait runs on the node's home arbiter.
        self.home.spawn(async move {
            let _ = sup.send(Acquire { epoch }).await;
            let _ = tx.send(());
        });
        if rx.recv_timeout(STEP_WAIT).is_err() {
            tracing::error!(zone, "the zone's supervisor did not start the zone in time");
        }
        self.director.do_send(ResumeZone(zone.to_owned()));
    }

    fn zone_lost(&mut self, zone: &str, why: Loss) {
        if let Some(sup) = self.zones.get(zone).and_then(|z| z.supervisor()) {
            let (tx, rx) = mpsc::channel();
            sup.do_send(Release { why, done: tx });
            if rx.recv_timeout(STEP_WAIT).is_err() {
                tracing::error!(
                    zone,
                    "the zone's supervisor did not release the zone in time"
                );
            }
        }
        self.director.do_send(ForgetZone(zone.to_owned()));
    }

    fn control_changed(&mut self, lease: &str, master: bool) {
        let roles = &self.roles;
        let cell = match lease {
            DIRECTOR => &roles.director,
            RULE_ENGINE => &roles.rule_engine,
            LOAD_MONITOR => &roles.load_monitor,
            _ => return,
        };
        cell.set(if master { Role::Master } else { Role::Dormant });
    }
}
