//! What a takeover of the zone does to a session: the service lost, Table 9 applied when the
//! new agent manager takes over, and the desktop's state report checked against it.

use std::time::Instant;

use super::Outage;
use crate::agent::takeover::{after_takeover, Column};
use crate::agent::*;
use crate::domain::{AttemptId, CompletionCode};

impl AgentSession {
    /// The zone's agent service went down (docs/design.md §5.2 rule 1): the desktop is told, its
    /// commands are refused, no call is offered, and the time counts as HA time. Engine
    /// events that arrive meanwhile are remembered for [`AgentSession::take_over`].
    pub fn service_lost(&mut self, now: Instant) {
        if self.logged_out.is_some() || self.outage.is_some() {
            return;
        }
        self.outage = Some(Outage {
            since: now,
            customer_lost: false,
        });
        self.state_check_deadline = None;
        self.desktop(AgentEvent::Service { available: false });
        self.availability_changed(now);
    }

    /// The zone is back under a new agent manager (docs/design.md §5.2 rules 4 and 5): the service
    /// is available again, the agent's state follows Table 9 for what happened to its call
    /// and phone during the outage, a dropped call is reported and goes to Wrapup, and the
    /// desktop is asked to confirm its state. None if there was no outage.
    pub fn take_over(&mut self, now: Instant) -> Option<TakenOver> {
        let outage = self.outage.take()?;
        if self.logged_out.is_some() {
            return None;
        }
        let before = self.state;
        let nailed = self.nail == NailState::Nailed;
        let column = Column::of(!outage.customer_lost, nailed);
        let kept = self.job == JobAttachment::Unattached;
        let after = if kept {
            before
        } else {
            after_takeover(before, column, self.consult_role)
        };
        self.desktop(AgentEvent::Service { available: true });
        // Wrap-up time does not run out during an outage the agent could do nothing about.
        if let Some(t) = self.wrapup_deadline.as_mut() {
            *t += now.saturating_duration_since(outage.since);
        }
        if after != before {
            self.move_after_takeover(now, before, after, &outage);
        }
        if self.nail == NailState::UnNailed {
            self.renail_at = None;
            self.nail = NailState::Nailing;
            self.effect(AgentEffect::Nail);
        }
        self.rebucket(now);
        self.desktop(AgentEvent::State);
        self.availability_changed(now);
        self.desktop(AgentEvent::StateCheck);
        self.state_check_deadline = Some(now + self.cfg.state_check_timeout);
        self.state_check_expect = Some((self.state, self.call.as_ref().map(|c| c.attempt)));
        Some(TakenOver {
            before,
            after,
            column,
            kept,
        })
    }

    fn move_after_takeover(
        &mut self,
        now: Instant,
        before: CallState,
        after: CallState,
        outage: &Outage,
    ) {
        let attempt = self.call.as_ref().map(|c| c.attempt);
        match after {
            CallState::Talking => {
                // Dialing under column A: the call the agent accepted is up (or still
                // ringing: it is the agent's, and ends in Wrapup like any call).
                if let Some(info) = self.call.clone() {
                    self.ended_code = None;
                    self.set_state(now, CallState::Talking);
                    self.desktop(AgentEvent::Call(info));
                }
            }
            CallState::Wrapup => {
                if let Some(attempt) = attempt {
                    if !outage.customer_lost {
                        // The phone is gone, so the customer's call is too: end it.
                        self.effect(AgentEffect::HangUpCustomer(attempt));
                    }
                    self.desktop(AgentEvent::CallEnded {
                        attempt,
                        by: EndedBy::Failover,
                        code: None,
                    });
                }
                self.ended_code = Some(if before == CallState::Dialing {
                    CompletionCode::NetworkFailure
                } else {
                    CompletionCode::AnsweredHuman
                });
                self.enter_wrapup(now);
            }
            CallState::Idle => {
                if let Some(info) = self.call.take() {
                    if before == CallState::Preview {
                        // The previewed contact goes back to its job, undialed.
                        self.effect(AgentEffect::ReturnPreview(info));
                    }
                }
                self.set_state(now, CallState::Idle);
                self.apply_pending_move();
            }
            CallState::Preview => {
                // A passive conference party with a nailed phone goes back to previewing;
                // the call it joined is not its to show.
                if before != CallState::Preview {
                    self.call = None;
                }
                self.set_state(now, CallState::Preview);
            }
            other => self.set_state(now, other),
        }
    }

    /// The desktop's answer to the state check: the call state and attempt it holds. A
    /// mismatch means one side lost events: the call gets desktop-error and the agent is
    /// logged out (docs/design.md §5.2 rule 5). True if the states matched.
    pub fn state_report(
        &mut self,
        now: Instant,
        state: CallState,
        attempt: Option<AttemptId>,
    ) -> bool {
        if self.logged_out.is_some() || self.state_check_deadline.is_none() {
            return true;
        }
        self.state_check_deadline = None;
        let ours = self
            .state_check_expect
            .take()
            .unwrap_or((self.state, self.call.as_ref().map(|c| c.attempt)));
        if ours == (state, attempt) {
            return true;
        }
        self.force_logout(now, LogoutReason::DesktopError);
        false
    }
}
