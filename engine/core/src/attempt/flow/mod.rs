//! One attempt's life after its INVITE is handed to SIP, as a plain state machine: signals
//! in, effects out. The call actor is a thin shell that performs the effects.
//!
//! With agents, a live answer waits for an agent inside the campaign's connect window; the
//! shell looks for one ([`Effect::SeekAgent`]) and reports back. A call an agent took ends
//! when the agent disposes it, not when the line drops: the disposition is the outcome.
//!
//! With answering-machine detection on, an answer is classified first ([`Effect::Detect`]):
//! a person (or a doubt) goes on as any live answer, a machine is released or, when the
//! campaign leaves it a message, waited on until its beep. The flow also says when the
//! nuisance meter counts ([`Effect::Count`]): a live answer when it reaches an agent or
//! hears the message, a nuisance call the moment it is abandoned — never at the call's end,
//! so pacing sees it at once.

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
    /// Play a message to the far end; report its end with [`AttemptFlow::on_prompt_done`].
    Play(Message),
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
    /// Classify the answer (person or machine) from its audio; report with
    /// [`AttemptFlow::on_verdict`], and for a machine that is left a message,
    /// [`AttemptFlow::on_beep_over`].
    Detect,
    /// Count this on the job's nuisance meter now.
    Count(Meter),
}

/// What the nuisance meter counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meter {
    /// A live answer that reached an agent or heard the message.
    Live,
    /// A live answer abandoned (it counts as live too).
    Nuisance,
    /// A machine verdict (the meter adds its estimated people to the abandoned).
    Machine,
}

pub use crate::domain::AmdVerdict as Verdict;

/// What a machine gets, when the campaign detects them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnMachine {
    HangUp,
    /// Wait for its beep, then play the campaign's machine message.
    LeaveMessage,
}

/// Which message the shell plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message {
    /// The information message: to an abandoned live answer, or agentless to everyone.
    Information,
    /// The message left on an answering machine after its beep.
    Machine,
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
    /// Answered; the detector is classifying the answer.
    Detecting,
    /// A machine: waiting for its beep before leaving the message.
    AwaitingBeep,
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
    /// Answering-machine detection and what a machine gets; None when it is off.
    amd: Option<OnMachine>,
    stage: Stage,
    answered: bool,
    /// Answered live and never reached an agent.
    nuisance: bool,
    /// The detector called the answer a machine.
    machine: bool,
}

impl AttemptFlow {
    pub fn new(mode: CallMode) -> Self {
        Self::with_amd(mode, None)
    }

    /// A flow whose answers are classified first when `amd` says what a machine gets.
    /// Preview calls are never classified: their agent is listening already.
    pub fn with_amd(mode: CallMode, amd: Option<OnMachine>) -> Self {
        Self {
            mode,
            amd: amd.filter(|_| mode != CallMode::Preview),
            stage: Stage::Dialing,
            answered: false,
            nuisance: false,
            machine: false,
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
            Stage::Waiting | Stage::Detecting => Some(CallStage::Waiting),
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
                let mut out = vec![Effect::Persist(AttemptState::Answered)];
                out.extend(self.answered_with(sdp.is_some()));
                out
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
                // Hung up while waiting for an agent (or while classified): abandoned.
                Stage::Waiting | Stage::Detecting => {
                    self.stage = Stage::Done;
                    vec![
                        Effect::Count(Meter::Nuisance),
                        Effect::Complete(CompletionCode::Nuisance),
                    ]
                }
                Stage::AwaitingBeep => {
                    self.stage = Stage::Done;
                    vec![Effect::Complete(CompletionCode::AnsweredMachine)]
                }
                _ => {
                    self.stage = Stage::Done;
                    let code = if self.machine {
                        CompletionCode::AnsweredMachine
                    } else if self.nuisance {
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
        vec![
            Effect::Persist(AttemptState::Connected),
            Effect::Count(Meter::Live),
        ]
    }

    /// The connect window closed with no agent: the information message, then release, and
    /// the call counts as nuisance (docs/design.md §6 invariant 4).
    pub fn on_connect_window_closed(&mut self) -> Vec<Effect> {
        if self.stage != Stage::Waiting {
            return Vec::new();
        }
        self.nuisance = true;
        self.stage = Stage::Playing;
        vec![
            Effect::Count(Meter::Nuisance),
            Effect::Play(Message::Information),
        ]
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
            Stage::Waiting | Stage::Detecting => CompletionCode::Nuisance,
            Stage::AwaitingBeep => CompletionCode::AnsweredMachine,
            Stage::Playing | Stage::HangingUp if self.machine => CompletionCode::AnsweredMachine,
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

impl AttemptFlow {
    /// What an answer leads to, by mode, detection and whether it brought audio.
    fn answered_with(&mut self, audio: bool) -> Vec<Effect> {
        match (self.mode, audio) {
            // No SDP answer, so no audio to classify, bridge or play to: the person was
            // reached, but is released at once rather than held on a silent line.
            (CallMode::Agentless, false) => {
                self.stage = Stage::HangingUp;
                vec![Effect::Count(Meter::Live), Effect::HangUp]
            }
            (_, false) => {
                self.nuisance = true;
                self.stage = Stage::HangingUp;
                vec![Effect::Count(Meter::Nuisance), Effect::HangUp]
            }
            _ if self.amd.is_some() => {
                self.stage = Stage::Detecting;
                vec![Effect::Detect]
            }
            (CallMode::Agentless, true) => self.live_answer(),
            _ => self.live_answer(),
        }
    }

    /// A person (or so taken): agentless hears the message, the others wait for an agent.
    fn live_answer(&mut self) -> Vec<Effect> {
        if self.mode == CallMode::Agentless {
            self.stage = Stage::Playing;
            vec![
                Effect::Count(Meter::Live),
                Effect::Play(Message::Information),
            ]
        } else {
            self.stage = Stage::Waiting;
            vec![Effect::SeekAgent]
        }
    }

    /// The detector's verdict on the answer.
    pub fn on_verdict(&mut self, verdict: Verdict) -> Vec<Effect> {
        if self.stage != Stage::Detecting {
            return Vec::new();
        }
        match (verdict, self.amd) {
            (Verdict::Machine, Some(OnMachine::LeaveMessage)) => {
                self.machine = true;
                self.stage = Stage::AwaitingBeep;
                vec![Effect::Count(Meter::Machine)]
            }
            (Verdict::Machine, _) => {
                self.machine = true;
                self.stage = Stage::HangingUp;
                vec![Effect::Count(Meter::Machine), Effect::HangUp]
            }
            (Verdict::Human | Verdict::NotSure, _) => self.live_answer(),
        }
    }

    /// The machine's beep ended (or none came in time): its message plays now.
    pub fn on_beep_over(&mut self) -> Vec<Effect> {
        if self.stage != Stage::AwaitingBeep {
            return Vec::new();
        }
        self.stage = Stage::Playing;
        vec![Effect::Play(Message::Machine)]
    }
}

#[cfg(test)]
mod tests;
