//! One attempt's life after its INVITE is handed to SIP, as a plain state machine: signals
//! in, effects out. The call actor is a thin shell that performs the effects.

use crate::domain::{AttemptState, CompletionCode};
use crate::node::sip::CallSignal;

/// What the attempt asks its shell to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Record this state (not awaited: recovery does not depend on Ringing/Answered).
    Persist(AttemptState),
    /// Play the campaign's message to the far end (agentless answer, or an abandon).
    PlayPrompt,
    /// Send BYE (or CANCEL).
    HangUp,
    /// The attempt is over with this code: record it durably, apply the retry rule, release
    /// its resources.
    Complete(CompletionCode),
}

/// Dialing modes as far as one call's flow is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallMode {
    /// Play the message on answer, hang up, code answered-human.
    Agentless,
}

/// Where the attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Dialing,
    Ringing,
    /// Answered; the message is playing.
    Playing,
    /// We sent BYE after the message; waiting for the dialog to end.
    HangingUp,
    Done,
}

#[derive(Debug)]
pub struct AttemptFlow {
    mode: CallMode,
    stage: Stage,
    answered: bool,
}

impl AttemptFlow {
    pub fn new(mode: CallMode) -> Self {
        Self {
            mode,
            stage: Stage::Dialing,
            answered: false,
        }
    }

    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// A SIP signal arrived.
    pub fn on_signal(&mut self, signal: &CallSignal) -> Vec<Effect> {
        if self.stage == Stage::Done {
            return Vec::new();
        }
        match signal {
            CallSignal::Sent => Vec::new(),
            CallSignal::Progress { status, .. }
                if *status > 100 && self.stage == Stage::Dialing =>
            {
                self.stage = Stage::Ringing;
                vec![Effect::Persist(AttemptState::Ringing)]
            }
            CallSignal::Progress { .. } => Vec::new(),
            CallSignal::Answered { sdp } => {
                if self.answered {
                    return Vec::new();
                }
                self.answered = true;
                match self.mode {
                    CallMode::Agentless if sdp.is_some() => {
                        self.stage = Stage::Playing;
                        vec![Effect::Persist(AttemptState::Answered), Effect::PlayPrompt]
                    }
                    // No SDP answer, so nowhere to send the message: the person was reached,
                    // but release at once rather than hold a silent line.
                    CallMode::Agentless => {
                        self.stage = Stage::HangingUp;
                        vec![Effect::Persist(AttemptState::Answered), Effect::HangUp]
                    }
                }
            }
            CallSignal::Ended(reason) => {
                self.stage = Stage::Done;
                let code = if self.answered {
                    CompletionCode::AnsweredHuman
                } else {
                    CompletionCode::from_end(reason)
                };
                vec![Effect::Complete(code)]
            }
            CallSignal::NotSent { .. } => {
                self.stage = Stage::Done;
                vec![Effect::Complete(CompletionCode::NetworkFailure)]
            }
        }
    }

    /// The message finished playing (or its time ran out).
    pub fn on_prompt_done(&mut self) -> Vec<Effect> {
        if self.stage == Stage::Playing {
            self.stage = Stage::HangingUp;
            vec![Effect::HangUp]
        } else {
            Vec::new()
        }
    }

    /// No media resource could be had for the call before dialing.
    pub fn no_media(&mut self) -> Vec<Effect> {
        self.stage = Stage::Done;
        vec![Effect::Complete(CompletionCode::NoMediaResource)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip::EndReason;

    #[test]
    fn agentless_answer_plays_then_hangs_up_and_codes_answered_human() {
        let mut f = AttemptFlow::new(CallMode::Agentless);
        assert_eq!(f.on_signal(&CallSignal::Sent), vec![]);
        assert_eq!(
            f.on_signal(&CallSignal::Progress {
                status: 180,
                early_media: false
            }),
            vec![Effect::Persist(AttemptState::Ringing)]
        );
        assert_eq!(
            f.on_signal(&CallSignal::Answered {
                sdp: Some(b"v=0".to_vec())
            }),
            vec![Effect::Persist(AttemptState::Answered), Effect::PlayPrompt]
        );
        assert_eq!(f.on_prompt_done(), vec![Effect::HangUp]);
        assert_eq!(
            f.on_signal(&CallSignal::Ended(EndReason::LocalHangup)),
            vec![Effect::Complete(CompletionCode::AnsweredHuman)]
        );
        assert_eq!(
            f.on_signal(&CallSignal::Ended(EndReason::LocalHangup)),
            vec![],
            "ends once"
        );
    }

    #[test]
    fn unanswered_outcomes_map_to_codes() {
        for (reason, code) in [
            (
                EndReason::Rejected {
                    status: 486,
                    retry_after: None,
                },
                CompletionCode::Busy,
            ),
            (
                EndReason::Rejected {
                    status: 404,
                    retry_after: None,
                },
                CompletionCode::InvalidNumber,
            ),
            (
                EndReason::Rejected {
                    status: 603,
                    retry_after: None,
                },
                CompletionCode::Declined,
            ),
            (EndReason::RingTimeout, CompletionCode::NoAnswer),
            (EndReason::TimedOut, CompletionCode::Timeout),
            (
                EndReason::Rejected {
                    status: 503,
                    retry_after: None,
                },
                CompletionCode::NetworkFailure,
            ),
        ] {
            let mut f = AttemptFlow::new(CallMode::Agentless);
            assert_eq!(
                f.on_signal(&CallSignal::Ended(reason.clone())),
                vec![Effect::Complete(code)],
                "{reason:?}"
            );
        }
    }

    #[test]
    fn far_end_hangup_during_the_message_still_counts_as_reached() {
        let mut f = AttemptFlow::new(CallMode::Agentless);
        f.on_signal(&CallSignal::Answered {
            sdp: Some(b"v=0".to_vec()),
        });
        assert_eq!(
            f.on_signal(&CallSignal::Ended(EndReason::RemoteHangup)),
            vec![Effect::Complete(CompletionCode::AnsweredHuman)]
        );
        assert_eq!(
            f.on_prompt_done(),
            vec![],
            "prompt end after the call ended does nothing"
        );
    }
}
