//! A session's calls: the nail to the agent's phone, the job it is attached to, calls and
//! previews offered, the customer's end, a forced logout.

use std::time::Instant;

use crate::agent::*;
use crate::domain::{AttemptId, CompletionCode, JobId};

impl AgentSession {
    /// The nailing call was answered.
    pub fn on_nailed(&mut self, now: Instant) {
        if self.logged_out.is_some() {
            return;
        }
        self.nail = NailState::Nailed;
        self.nail_failures = 0;
        self.renail_at = None;
        self.desktop(AgentEvent::State);
        self.availability_changed(now);
    }

    /// The nailing call failed or dropped. A call with the agent cannot go on without the
    /// phone: it is hung up and the agent goes to Wrapup (docs/design.md §5.4, media server failure).
    pub fn on_nail_lost(&mut self, now: Instant) {
        if self.logged_out.is_some() {
            return;
        }
        if self.outage.is_some() {
            // Table 9 decides what the call becomes; the phone is nailed again at takeover.
            self.nail = NailState::UnNailed;
            return;
        }
        let was_nailed = self.nail == NailState::Nailed;
        self.nail = NailState::UnNailed;
        if !was_nailed {
            self.nail_failures += 1;
        }
        if self.nail_failures >= self.cfg.max_nail_failures {
            self.force_logout(now, LogoutReason::NailFailed);
            return;
        }
        if let Some(attempt) = self.call.as_ref().map(|c| c.attempt) {
            if self.state.on_call() {
                self.effect(AgentEffect::HangUpCustomer(attempt));
                self.ended_code = Some(CompletionCode::AnsweredHuman);
                self.desktop(AgentEvent::CallEnded {
                    attempt,
                    by: EndedBy::PhoneLost,
                    code: None,
                });
                self.enter_wrapup(now);
            }
        }
        self.renail_at = Some(now + self.cfg.renail_delay);
        self.desktop(AgentEvent::State);
        self.availability_changed(now);
    }

    /// Attaches the agent to a job, or records a move for when it is next idle.
    pub fn attach(&mut self, now: Instant, job: JobId) {
        let busy = self.state != CallState::Idle;
        self.job = match self.job {
            JobAttachment::Attached(from) | JobAttachment::PendingMove { from, .. }
                if busy && from != job =>
            {
                JobAttachment::PendingMove { from, to: job }
            }
            _ => JobAttachment::Attached(job),
        };
        self.desktop(AgentEvent::State);
        self.availability_changed(now);
    }

    /// The agent's job finished or was stopped: no more calls from it.
    pub fn job_ended(&mut self, now: Instant, job: JobId) {
        match self.job {
            JobAttachment::Attached(j) if j == job => self.job = JobAttachment::JobEnded(j),
            // The source ended: the move still applies at the next idle moment.
            JobAttachment::PendingMove { from, .. } if from == job => return,
            // The target ended before the move applied: the move is void, the agent stays.
            JobAttachment::PendingMove { from, to } if to == job => {
                self.job = JobAttachment::Attached(from)
            }
            _ => return,
        }
        self.desktop(AgentEvent::State);
        self.availability_changed(now);
    }

    /// A customer call answered live is now bridged to this agent. Only an available agent
    /// takes one; false means the caller must find another (nothing changed).
    pub fn offer_call(&mut self, now: Instant, info: CallInfo) -> bool {
        if !self.is_available() {
            return false;
        }
        self.call = Some(info.clone());
        self.ended_code = None;
        self.set_state(now, CallState::Talking);
        self.desktop(AgentEvent::Call(info));
        self.desktop(AgentEvent::State);
        self.availability_changed(now);
        true
    }

    /// A contact to preview (preview mode). Only an available agent takes one.
    pub fn offer_preview(&mut self, now: Instant, info: CallInfo) -> bool {
        if !self.is_available() {
            return false;
        }
        self.call = Some(info.clone());
        self.set_state(now, CallState::Preview);
        self.desktop(AgentEvent::Preview(info));
        self.desktop(AgentEvent::State);
        self.availability_changed(now);
        true
    }

    /// The previewed call the agent accepted was answered.
    pub fn preview_answered(&mut self, now: Instant) {
        if self.state != CallState::Dialing {
            return;
        }
        if self.outage.is_some() {
            // Table 9 makes the agent Talking at takeover (Dialing, column A).
            return;
        }
        let Some(info) = self.call.clone() else {
            return;
        };
        self.ended_code = None;
        self.set_state(now, CallState::Talking);
        self.desktop(AgentEvent::Call(info));
        self.desktop(AgentEvent::State);
    }

    /// The previewed call ended unanswered; the engine records its outcome.
    pub fn preview_failed(&mut self, now: Instant, code: CompletionCode) {
        if let Some(o) = self.outage.as_mut() {
            if self.state == CallState::Dialing {
                o.customer_lost = true;
            }
            return;
        }
        if self.state == CallState::Talking && self.call.is_some() {
            // Dialing became Talking at a takeover (Table 9, column A) and the call never
            // answered after all: it ends like any call, in Wrapup.
            if let Some(attempt) = self.call.as_ref().map(|c| c.attempt) {
                self.ended_code = Some(code);
                self.desktop(AgentEvent::CallEnded {
                    attempt,
                    by: EndedBy::NotAnswered,
                    code: Some(code),
                });
                self.enter_wrapup(now);
                self.desktop(AgentEvent::State);
            }
            return;
        }
        if self.state != CallState::Dialing {
            return;
        }
        if let Some(info) = self.call.take() {
            self.desktop(AgentEvent::CallEnded {
                attempt: info.attempt,
                by: EndedBy::NotAnswered,
                code: Some(code),
            });
        }
        self.set_state(now, CallState::Idle);
        self.apply_pending_move();
        self.desktop(AgentEvent::State);
        self.availability_changed(now);
    }

    /// The customer hung up (or the call failed) while with the agent.
    pub fn customer_ended(&mut self, now: Instant, attempt: AttemptId) {
        let ours = self.call.as_ref().is_some_and(|c| c.attempt == attempt);
        if let Some(o) = self.outage.as_mut() {
            if ours {
                o.customer_lost = true;
            }
            return;
        }
        if !ours || !self.state.on_call() {
            return;
        }
        self.ended_code = Some(CompletionCode::AnsweredHuman);
        self.desktop(AgentEvent::CallEnded {
            attempt,
            by: EndedBy::Customer,
            code: None,
        });
        self.enter_wrapup(now);
        self.desktop(AgentEvent::State);
    }

    /// Ends the session whatever its state: a call with the agent is hung up and coded
    /// desktop-error (the desktop that should dispose it is gone or wrong), and a call in
    /// wrap-up gets its default disposition.
    pub fn force_logout(&mut self, now: Instant, reason: LogoutReason) {
        if self.logged_out.is_some() {
            return;
        }
        if let Some(info) = self.call.take() {
            match self.state {
                s if s.on_call() || s == CallState::Dialing => {
                    self.effect(AgentEffect::HangUpCustomer(info.attempt));
                    let code = if matches!(reason, LogoutReason::NailFailed) {
                        CompletionCode::AnsweredHuman
                    } else {
                        CompletionCode::DesktopError
                    };
                    if s != CallState::Dialing {
                        self.effect(AgentEffect::Dispose {
                            attempt: info.attempt,
                            code,
                            callback_at: None,
                        });
                    }
                }
                CallState::Wrapup => {
                    // A state mismatch puts desktop-error on the call even after it ended.
                    let code = if reason == LogoutReason::DesktopError {
                        CompletionCode::DesktopError
                    } else {
                        self.ended_code.unwrap_or(CompletionCode::AnsweredHuman)
                    };
                    self.effect(AgentEffect::Dispose {
                        attempt: info.attempt,
                        code,
                        callback_at: None,
                    });
                }
                CallState::Preview => self.effect(AgentEffect::ReturnPreview(info)),
                _ => {}
            }
        }
        self.end(now, reason);
    }
}
