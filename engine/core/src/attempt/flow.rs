//! One attempt's life after its INVITE is handed to SIP, as a plain state machine: signals
//! in, effects out. The call actor is a thin shell that performs the effects.
//!
//! With agents, a live answer waits for an agent inside the campaign's connect window; the
//! shell looks for one ([`Effect::SeekAgent`]) and reports back. A call an agent took ends
//! when the agent disposes it, not when the line drops: the disposition is the outcome.

use crate::domain::{AttemptState, CompletionCode};
use crate::zone::board::CallStage;

/// What the SIP side reports about the attempt's call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// The INVITE left (the dialog exists).
    Sent,
    Progress {
        status: u16,
        early_media: bool,
    },
    Answered {
        sdp: Option<Vec<u8>>,
    },
    Ended(sip::EndReason),
    /// The INVITE was not sent (back-off from a 503, a saturated or stopped SIP plant): no
    /// request left.
    NotSent {
        backoff: bool,
    },
}

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
    /// A live answer: find an agent and bridge the call, until the connect window closes.
    SeekAgent,
    /// The customer left while with an agent: the agent goes to wrap-up.
    TellAgentEnded,
    /// A preview call ended unanswered with this code: the agent is free again.
    TellAgentUnanswered(CompletionCode),
}

/// Dialing modes as far as one call's flow is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallMode {
    /// Play the message on answer, hang up, code answered-human.
    Agentless,
    /// Progressive or predictive: a live answer goes to the first free agent.
    WithAgent,
    /// Preview: an agent accepted this call and waits for it.
    Preview,
}

/// Where the attempt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Dialing,
    Ringing,
    /// Answered live, looking for an agent.
    Waiting,
    /// Bridged to an agent.
    Connected,
    /// The agent hung up; waiting for the dialog to end.
    AgentHangingUp,
    /// The line is down; waiting for the agent's disposition.
    AwaitingDisposition,
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
    /// Answered live and never reached an agent.
    nuisance: bool,
}

impl AttemptFlow {
    pub fn new(mode: CallMode) -> Self {
        Self {
            mode,
            stage: Stage::Dialing,
            answered: false,
            nuisance: false,
        }
    }

    pub fn stage(&self) -> Stage {
        self.stage
    }

    pub fn mode(&self) -> CallMode {
        self.mode
    }

    /// Where the board counts this call: only calls holding a line without an agent.
    pub fn board_stage(&self) -> Option<CallStage> {
        if self.mode == CallMode::Agentless {
            return None;
        }
        match self.stage {
            Stage::Dialing => Some(CallStage::Dialing),
            Stage::Ringing => Some(CallStage::Ringing),
            Stage::Waiting => Some(CallStage::Waiting),
            _ => None,
        }
    }

    /// A SIP signal arrived.
    pub fn on_signal(&mut self, signal: &Signal) -> Vec<Effect> {
        if self.stage == Stage::Done {
            return Vec::new();
        }
        match signal {
            Signal::Sent => Vec::new(),
            Signal::Progress { status, .. } if *status > 100 && self.stage == Stage::Dialing => {
                self.stage = Stage::Ringing;
                vec![Effect::Persist(AttemptState::Ringing)]
            }
            Signal::Progress { .. } => Vec::new(),
            Signal::Answered { sdp } => {
                if self.answered {
                    return Vec::new();
                }
                self.answered = true;
                match self.mode {
                    CallMode::Agentless if sdp.is_some() => {
                        self.stage = Stage::Playing;
                        vec![Effect::Persist(AttemptState::Answered), Effect::PlayPrompt]
                    }
                    CallMode::WithAgent | CallMode::Preview if sdp.is_some() => {
                        self.stage = Stage::Waiting;
                        vec![Effect::Persist(AttemptState::Answered), Effect::SeekAgent]
                    }
                    // No SDP answer, so no audio to bridge or message to play: the person
                    // was reached, but release at once rather than hold a silent line.
                    CallMode::Agentless => {
                        self.stage = Stage::HangingUp;
                        vec![Effect::Persist(AttemptState::Answered), Effect::HangUp]
                    }
                    CallMode::WithAgent | CallMode::Preview => {
                        self.nuisance = true;
                        self.stage = Stage::HangingUp;
                        vec![Effect::Persist(AttemptState::Answered), Effect::HangUp]
                    }
                }
            }
            Signal::Ended(reason) => match self.stage {
                Stage::Connected => {
                    self.stage = Stage::AwaitingDisposition;
                    vec![Effect::TellAgentEnded]
                }
                Stage::AgentHangingUp => {
                    self.stage = Stage::AwaitingDisposition;
                    Vec::new()
                }
                Stage::AwaitingDisposition => Vec::new(),
                // Hung up while waiting for an agent: abandoned, a nuisance call.
                Stage::Waiting => {
                    self.stage = Stage::Done;
                    vec![Effect::Complete(CompletionCode::Nuisance)]
                }
                _ => {
                    self.stage = Stage::Done;
                    let code = if self.nuisance {
                        CompletionCode::Nuisance
                    } else if self.answered {
                        CompletionCode::AnsweredHuman
                    } else {
                        CompletionCode::from_end(reason)
                    };
                    let mut out = vec![Effect::Complete(code)];
                    if self.mode == CallMode::Preview && !self.answered {
                        out.insert(0, Effect::TellAgentUnanswered(code));
                    }
                    out
                }
            },
            Signal::NotSent { .. } => {
                self.stage = Stage::Done;
                let code = CompletionCode::NetworkFailure;
                let mut out = vec![Effect::Complete(code)];
                if self.mode == CallMode::Preview {
                    out.insert(0, Effect::TellAgentUnanswered(code));
                }
                out
            }
        }
    }

    /// An agent took the call; the audio is bridged.
    pub fn on_agent_connected(&mut self) -> Vec<Effect> {
        if self.stage != Stage::Waiting {
            return Vec::new();
        }
        self.stage = Stage::Connected;
        vec![Effect::Persist(AttemptState::Connected)]
    }

    /// The connect window closed with no agent: the information message, then release, and
    /// the call counts as nuisance (docs/design.md §6 invariant 4).
    pub fn on_connect_window_closed(&mut self) -> Vec<Effect> {
        if self.stage != Stage::Waiting {
            return Vec::new();
        }
        self.nuisance = true;
        self.stage = Stage::Playing;
        vec![Effect::PlayPrompt]
    }

    /// The agent hung up the customer.
    pub fn on_agent_hung_up(&mut self) -> Vec<Effect> {
        if self.stage != Stage::Connected {
            return Vec::new();
        }
        self.stage = Stage::AgentHangingUp;
        vec![Effect::HangUp]
    }

    /// The agent (or its session, on a timeout or a forced logout) gave the outcome.
    pub fn on_disposition(&mut self, code: CompletionCode) -> Vec<Effect> {
        match self.stage {
            Stage::AwaitingDisposition | Stage::AgentHangingUp => {
                self.stage = Stage::Done;
                vec![Effect::Complete(code)]
            }
            // Disposed with the customer still on the line (a forced logout): release it.
            Stage::Connected => {
                self.stage = Stage::Done;
                vec![Effect::HangUp, Effect::Complete(code)]
            }
            _ => Vec::new(),
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

    /// The call's own actor failed (a panic, a kill): the code its attempt ends with, by
    /// how far it got, or None if it had already ended. A call with an agent lost its
    /// platform events, so it is desktop-error (docs/design.md §5.2 rule 5).
    pub fn lost(&mut self) -> Option<CompletionCode> {
        let code = match self.stage {
            Stage::Done => return None,
            Stage::Dialing | Stage::Ringing => CompletionCode::NetworkFailure,
            Stage::Waiting => CompletionCode::Nuisance,
            Stage::Playing | Stage::HangingUp if self.nuisance => CompletionCode::Nuisance,
            Stage::Playing | Stage::HangingUp => CompletionCode::AnsweredHuman,
            Stage::Connected | Stage::AgentHangingUp | Stage::AwaitingDisposition => {
                CompletionCode::DesktopError
            }
        };
        self.stage = Stage::Done;
        Some(code)
    }

    /// No media resource could be had for the call before dialing.
    pub fn no_media(&mut self) -> Vec<Effect> {
        self.stage = Stage::Done;
        let mut out = vec![Effect::Complete(CompletionCode::NoMediaResource)];
        if self.mode == CallMode::Preview {
            out.insert(
                0,
                Effect::TellAgentUnanswered(CompletionCode::NoMediaResource),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip::EndReason;

    #[test]
    fn agentless_answer_plays_then_hangs_up_and_codes_answered_human() {
        let mut f = AttemptFlow::new(CallMode::Agentless);
        assert_eq!(f.on_signal(&Signal::Sent), vec![]);
        assert_eq!(
            f.on_signal(&Signal::Progress {
                status: 180,
                early_media: false
            }),
            vec![Effect::Persist(AttemptState::Ringing)]
        );
        assert_eq!(
            f.on_signal(&Signal::Answered {
                sdp: Some(b"v=0".to_vec())
            }),
            vec![Effect::Persist(AttemptState::Answered), Effect::PlayPrompt]
        );
        assert_eq!(f.on_prompt_done(), vec![Effect::HangUp]);
        assert_eq!(
            f.on_signal(&Signal::Ended(EndReason::LocalHangup)),
            vec![Effect::Complete(CompletionCode::AnsweredHuman)]
        );
        assert_eq!(
            f.on_signal(&Signal::Ended(EndReason::LocalHangup)),
            vec![],
            "ends once"
        );
    }

    #[test]
    fn a_lost_call_is_coded_by_how_far_it_got() {
        let mut f = AttemptFlow::new(CallMode::WithAgent);
        assert_eq!(f.lost(), Some(CompletionCode::NetworkFailure));
        assert_eq!(f.lost(), None, "ends once");
        let mut f = AttemptFlow::new(CallMode::WithAgent);
        f.on_signal(&Signal::Answered {
            sdp: Some(b"v=0".to_vec()),
        });
        assert_eq!(f.stage(), Stage::Waiting);
        assert_eq!(f.lost(), Some(CompletionCode::Nuisance));
        let mut f = AttemptFlow::new(CallMode::WithAgent);
        f.on_signal(&Signal::Answered {
            sdp: Some(b"v=0".to_vec()),
        });
        f.on_agent_connected();
        assert_eq!(f.lost(), Some(CompletionCode::DesktopError));
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
                f.on_signal(&Signal::Ended(reason.clone())),
                vec![Effect::Complete(code)],
                "{reason:?}"
            );
        }
    }

    #[test]
    fn far_end_hangup_during_the_message_still_counts_as_reached() {
        let mut f = AttemptFlow::new(CallMode::Agentless);
        f.on_signal(&Signal::Answered {
            sdp: Some(b"v=0".to_vec()),
        });
        assert_eq!(
            f.on_signal(&Signal::Ended(EndReason::RemoteHangup)),
            vec![Effect::Complete(CompletionCode::AnsweredHuman)]
        );
        assert_eq!(
            f.on_prompt_done(),
            vec![],
            "prompt end after the call ended does nothing"
        );
    }

    #[test]
    fn a_live_answer_with_an_agent_completes_on_the_disposition() {
        let mut f = AttemptFlow::new(CallMode::WithAgent);
        assert_eq!(f.board_stage(), Some(CallStage::Dialing));
        f.on_signal(&Signal::Progress {
            status: 180,
            early_media: false,
        });
        assert_eq!(f.board_stage(), Some(CallStage::Ringing));
        assert_eq!(
            f.on_signal(&Signal::Answered {
                sdp: Some(b"v=0".to_vec())
            }),
            vec![Effect::Persist(AttemptState::Answered), Effect::SeekAgent]
        );
        assert_eq!(f.board_stage(), Some(CallStage::Waiting));
        assert_eq!(
            f.on_agent_connected(),
            vec![Effect::Persist(AttemptState::Connected)]
        );
        assert_eq!(f.board_stage(), None);
        assert_eq!(f.on_connect_window_closed(), vec![], "too late to abandon");
        assert_eq!(
            f.on_signal(&Signal::Ended(EndReason::RemoteHangup)),
            vec![Effect::TellAgentEnded]
        );
        assert_eq!(
            f.on_disposition(CompletionCode::AnsweredMachine),
            vec![Effect::Complete(CompletionCode::AnsweredMachine)]
        );
        assert_eq!(f.on_disposition(CompletionCode::Busy), vec![], "once");
    }

    #[test]
    fn no_agent_in_the_window_is_a_nuisance_call_with_the_message() {
        let mut f = AttemptFlow::new(CallMode::WithAgent);
        f.on_signal(&Signal::Answered {
            sdp: Some(b"v=0".to_vec()),
        });
        assert_eq!(f.on_connect_window_closed(), vec![Effect::PlayPrompt]);
        assert_eq!(
            f.on_agent_connected(),
            vec![],
            "an agent after the window is refused"
        );
        assert_eq!(f.on_prompt_done(), vec![Effect::HangUp]);
        assert_eq!(
            f.on_signal(&Signal::Ended(EndReason::LocalHangup)),
            vec![Effect::Complete(CompletionCode::Nuisance)]
        );
    }

    #[test]
    fn a_customer_who_hangs_up_while_waiting_is_a_nuisance_call() {
        let mut f = AttemptFlow::new(CallMode::WithAgent);
        f.on_signal(&Signal::Answered {
            sdp: Some(b"v=0".to_vec()),
        });
        assert_eq!(
            f.on_signal(&Signal::Ended(EndReason::RemoteHangup)),
            vec![Effect::Complete(CompletionCode::Nuisance)]
        );
    }

    #[test]
    fn agent_hang_up_then_disposition() {
        let mut f = AttemptFlow::new(CallMode::WithAgent);
        f.on_signal(&Signal::Answered {
            sdp: Some(b"v=0".to_vec()),
        });
        f.on_agent_connected();
        assert_eq!(f.on_agent_hung_up(), vec![Effect::HangUp]);
        assert_eq!(f.on_signal(&Signal::Ended(EndReason::LocalHangup)), vec![]);
        assert_eq!(
            f.on_disposition(CompletionCode::AnsweredHuman),
            vec![Effect::Complete(CompletionCode::AnsweredHuman)]
        );
    }

    #[test]
    fn a_forced_disposition_on_a_live_call_releases_it() {
        let mut f = AttemptFlow::new(CallMode::WithAgent);
        f.on_signal(&Signal::Answered {
            sdp: Some(b"v=0".to_vec()),
        });
        f.on_agent_connected();
        assert_eq!(
            f.on_disposition(CompletionCode::DesktopError),
            vec![
                Effect::HangUp,
                Effect::Complete(CompletionCode::DesktopError)
            ]
        );
    }

    #[test]
    fn an_unanswered_preview_call_frees_its_agent() {
        let mut f = AttemptFlow::new(CallMode::Preview);
        assert_eq!(
            f.on_signal(&Signal::Ended(EndReason::Rejected {
                status: 486,
                retry_after: None
            })),
            vec![
                Effect::TellAgentUnanswered(CompletionCode::Busy),
                Effect::Complete(CompletionCode::Busy)
            ]
        );
    }
}
