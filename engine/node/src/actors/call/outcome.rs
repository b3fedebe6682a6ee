//! A call's end: its outcome recorded durably under the epoch it was dialed with (the retry
//! rule or the agent's callback applied by the ledger), or, when the call's own actor fails,
//! settled by how far it got — never left in flight.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use super::CallActor;
use crate::actors::agent::{CallLost, PreviewUnanswered};
use crate::faults::{raise_contained, Inject};
use crate::sip_plant::SipCommand;
use outdial_core::domain::CompletionCode;
use outdial_core::sync::Ordering;

impl CallActor {
    pub(super) fn complete(&mut self, code: CompletionCode, ctx: &mut Context<Self>) {
        let Some(ticket) = self.record_outcome(code) else {
            return;
        };
        let job = Arc::clone(&self.job);
        let contact = self.entry.contact().id;
        let attempt = self.entry.id();
        ctx.wait(ticket.into_actor(self).map(move |res, act, ctx| {
            match res {
                Ok(()) => {
                    job.stats.completed(code, act.deps.clock.unix_ms());
                    job.release(contact);
                    act.deps.events.publish(act.entry.attempt());
                }
                // The contact stays InFlight on disk; recovery resolves it at the next
                // start. Keep it claimed so this node does not dial it again meanwhile.
                Err(e) => tracing::error!(%attempt, error = %e, "could not record the outcome"),
            }
            ctx.stop();
        }));
    }

    /// The actor itself failed (a contained panic, a kill, or a drop while running): the
    /// call is hung up, an agent on it is told its platform events were lost, and the
    /// attempt ends with the code its stage calls for — never left in flight.
    pub(super) fn abandon(&mut self, why: &str) {
        if self.completed {
            return;
        }
        let Some(code) = self.flow.lost() else {
            return;
        };
        tracing::warn!(attempt = %self.entry.id(), why, ?code, "call actor failed; the attempt ends here");
        self.deps.sip.send(SipCommand::HangUp {
            attempt: self.entry.id(),
        });
        if let Some(a) = &self.agent {
            a.do_send(CallLost(self.entry.id()));
        }
        if let Some(a) = self.preview_agent.as_ref().filter(|_| self.agent.is_none()) {
            a.do_send(PreviewUnanswered(self.entry.id(), code));
        }
        // Dropped, not stopped: its task ends when its handle goes, and nothing is spawned.
        drop(self.leg.take());
        let Some(ticket) = self.record_outcome(code) else {
            return;
        };
        // Not awaited: this may run in a drop, even as the system shuts down, where nothing
        // can be spawned. The outcome is queued for the group commit either way; until it
        // lands the contact is still in flight on disk, so no prefetch can take it, and if
        // the process dies first, recovery resolves it at the next start.
        drop(ticket);
        self.job.stats.completed(code, self.deps.clock.unix_ms());
        self.job.release(self.entry.contact().id);
        self.deps.events.publish(self.entry.attempt());
    }

    /// Releases the call's resources and submits its outcome; None if it was recorded
    /// already.
    fn record_outcome(&mut self, code: CompletionCode) -> Option<crate::storage::group::Ticket> {
        if self.completed {
            return None;
        }
        self.completed = true;
        if let Some(r) = &self.deps.registry {
            r.remove(self.entry.id());
        }
        self.sync_board();
        if self.agent.is_some() {
            let _ = self.job.stats.with_agent.fetch_update(
                outdial_core::sync::Ordering::AcqRel,
                outdial_core::sync::Ordering::Acquire,
                |v| v.checked_sub(1),
            );
        }
        self.deps.mpps.release(self.mpp);
        if let Some(leg) = self.leg.take() {
            actix::spawn(async move {
                let _ = leg.stop().await;
            });
        }
        let now = self.deps.clock.unix_ms();
        let writes = self
            .entry
            .close(Some(&self.job.campaign), code, self.callback_at, now);
        Some(
            self.deps
                .writer
                .submit(self.job.campaign.zone(), self.entry.attempt().epoch, writes),
        )
    }
}

impl Drop for CallActor {
    fn drop(&mut self) {
        if self.deps.stopping.load(Ordering::Acquire) {
            return;
        }
        // Stopped (killed) or unwound by a panic before its outcome was recorded.
        self.abandon("the call's actor ended before its outcome");
    }
}

impl Handler<Inject> for CallActor {
    type Result = ();

    fn handle(&mut self, msg: Inject, ctx: &mut Context<Self>) {
        if msg == Inject::Panic {
            self.abandon(&raise_contained());
        }
        ctx.stop();
    }
}

/// How often a call with an agent checks that the agent's actor still lives: the agent
/// holds the audio and gives the disposition, so a call whose agent vanished would wait
/// for ever.
const AGENT_WATCH: Duration = Duration::from_millis(500);

impl CallActor {
    pub(super) fn watch_agent(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(AGENT_WATCH, |act, ctx| {
            if act.completed {
                return;
            }
            let gone = act.agent.as_ref().is_some_and(|a| !a.connected());
            if gone {
                tracing::warn!(attempt = %act.entry.id(), "the agent's actor is gone; the call ends desktop-error");
                act.callback_at = None;
                let effects = act.flow.on_disposition(CompletionCode::DesktopError);
                act.perform(effects, ctx);
            }
        });
    }
}
