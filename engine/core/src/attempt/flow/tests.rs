//! The call flow's transitions, effect by effect.

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
        vec![
            Effect::Persist(AttemptState::Answered),
            Effect::Count(Meter::Live),
            Effect::Play(Message::Information)
        ]
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
        vec![
            Effect::Persist(AttemptState::Connected),
            Effect::Count(Meter::Live)
        ],
        "counted live the moment an agent has it"
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
    assert_eq!(
        f.on_connect_window_closed(),
        vec![
            Effect::Count(Meter::Nuisance),
            Effect::Play(Message::Information)
        ],
        "counted nuisance the moment the window closes"
    );
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
        vec![
            Effect::Count(Meter::Nuisance),
            Effect::Complete(CompletionCode::Nuisance)
        ]
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

fn answered(f: &mut AttemptFlow) -> Vec<Effect> {
    f.on_signal(&Signal::Answered {
        sdp: Some(b"v=0".to_vec()),
    })
}

#[test]
fn with_detection_a_person_waits_for_an_agent_after_the_verdict() {
    let mut f = AttemptFlow::with_amd(CallMode::WithAgent, Some(OnMachine::HangUp));
    assert_eq!(
        answered(&mut f),
        vec![Effect::Persist(AttemptState::Answered), Effect::Detect]
    );
    assert_eq!(
        f.board_stage(),
        Some(CallStage::Waiting),
        "holds a line meanwhile"
    );
    assert_eq!(f.on_verdict(Verdict::NotSure), vec![Effect::SeekAgent]);
    assert_eq!(f.on_verdict(Verdict::Machine), vec![], "one verdict");
    assert_eq!(
        f.on_agent_connected(),
        vec![
            Effect::Persist(AttemptState::Connected),
            Effect::Count(Meter::Live)
        ]
    );
}

#[test]
fn a_machine_is_released_at_the_verdict_and_coded_answered_machine() {
    let mut f = AttemptFlow::with_amd(CallMode::WithAgent, Some(OnMachine::HangUp));
    answered(&mut f);
    assert_eq!(
        f.on_verdict(Verdict::Machine),
        vec![Effect::Count(Meter::Machine), Effect::HangUp]
    );
    assert_eq!(
        f.on_signal(&Signal::Ended(EndReason::LocalHangup)),
        vec![Effect::Complete(CompletionCode::AnsweredMachine)]
    );
}

#[test]
fn a_machine_is_left_its_message_after_the_beep() {
    let mut f = AttemptFlow::with_amd(CallMode::Agentless, Some(OnMachine::LeaveMessage));
    answered(&mut f);
    assert_eq!(
        f.on_verdict(Verdict::Machine),
        vec![Effect::Count(Meter::Machine)]
    );
    assert_eq!(f.on_beep_over(), vec![Effect::Play(Message::Machine)]);
    assert_eq!(f.on_beep_over(), vec![], "once");
    assert_eq!(f.on_prompt_done(), vec![Effect::HangUp]);
    assert_eq!(
        f.on_signal(&Signal::Ended(EndReason::LocalHangup)),
        vec![Effect::Complete(CompletionCode::AnsweredMachine)]
    );
}

#[test]
fn hanging_up_during_detection_is_abandoned_and_a_preview_is_never_classified() {
    let mut f = AttemptFlow::with_amd(CallMode::WithAgent, Some(OnMachine::HangUp));
    answered(&mut f);
    assert_eq!(
        f.on_signal(&Signal::Ended(EndReason::RemoteHangup)),
        vec![
            Effect::Count(Meter::Nuisance),
            Effect::Complete(CompletionCode::Nuisance)
        ]
    );
    let mut p = AttemptFlow::with_amd(CallMode::Preview, Some(OnMachine::HangUp));
    assert_eq!(
        answered(&mut p),
        vec![Effect::Persist(AttemptState::Answered), Effect::SeekAgent]
    );
}

#[test]
fn an_answer_without_audio_is_released_and_counted_at_once() {
    let mut f = AttemptFlow::new(CallMode::WithAgent);
    assert_eq!(
        f.on_signal(&Signal::Answered { sdp: None }),
        vec![
            Effect::Persist(AttemptState::Answered),
            Effect::Count(Meter::Nuisance),
            Effect::HangUp
        ]
    );
}
