//! Preview calls, and the nail: lost, re-nailed, failing.

use super::*;

// ---- preview ----------------------------------------------------------------------------------

#[test]
fn preview_offer_accept_answered() {
    let base = t0();
    let mut s = available(base);
    assert!(s.offer_preview(at(base, 1), info(A1)));
    assert_eq!(
        drain(&mut s),
        vec![ev(AgentEvent::Preview(info(A1))), state(), avail(false),]
    );
    assert_eq!(s.call_state(), CallState::Preview);
    assert!(
        !s.offer_preview(at(base, 1), info(A2)),
        "one preview at a time"
    );
    assert!(!s.offer_call(at(base, 1), info(A2)));
    assert_eq!(drain(&mut s), vec![]);

    run(&mut s, at(base, 2), Command::AcceptPreview);
    assert_eq!(
        drain(&mut s),
        vec![eff(AgentEffect::DialPreview(info(A1))), state()]
    );
    assert_eq!(s.call_state(), CallState::Dialing);

    s.preview_answered(at(base, 9));
    assert_eq!(drain(&mut s), vec![ev(AgentEvent::Call(info(A1))), state()]);
    assert_eq!(s.call_state(), CallState::Talking);

    // From here it is an ordinary call.
    s.customer_ended(at(base, 20), A1);
    drain(&mut s);
    run(&mut s, at(base, 21), dispose_cmd());
    assert!(effects(&drain(&mut s)).contains(&disposed(A1, CompletionCode::AnsweredHuman)));
    assert!(s.is_available());
}

#[test]
fn preview_skip_returns_the_contact() {
    let base = t0();
    let mut s = available(base);
    assert!(s.offer_preview(base, info(A1)));
    drain(&mut s);
    run(&mut s, at(base, 4), Command::SkipPreview);
    assert_eq!(
        drain(&mut s),
        vec![
            eff(AgentEffect::ReturnPreview(info(A1))),
            state(),
            avail(true),
        ]
    );
    assert_eq!(s.call_state(), CallState::Idle);
    assert_eq!(s.call(), None);
}

#[test]
fn preview_failed_reports_and_goes_idle() {
    let base = t0();
    let mut s = available(base);
    assert!(s.offer_preview(base, info(A1)));
    run(&mut s, base, Command::AcceptPreview);
    drain(&mut s);
    s.preview_failed(at(base, 30), CompletionCode::NoAnswer);
    assert_eq!(
        drain(&mut s),
        vec![
            ev(AgentEvent::CallEnded {
                attempt: A1,
                by: EndedBy::NotAnswered,
                code: Some(CompletionCode::NoAnswer)
            }),
            state(),
            avail(true),
        ]
    );
    assert_eq!(s.call_state(), CallState::Idle);
    assert_eq!(s.call(), None);
    // No disposition from the session: the engine records the unanswered outcome.
}

#[test]
fn hang_up_while_dialing_cancels_the_preview_call() {
    let base = t0();
    let mut s = available(base);
    assert!(s.offer_preview(base, info(A1)));
    run(&mut s, base, Command::AcceptPreview);
    drain(&mut s);
    run(&mut s, at(base, 3), Command::HangUp);
    assert_eq!(
        drain(&mut s),
        vec![eff(AgentEffect::HangUpCustomer(A1)), state()]
    );
    assert_eq!(
        s.call_state(),
        CallState::Dialing,
        "until the outcome arrives"
    );
    s.preview_failed(at(base, 3), CompletionCode::NoAnswer);
    drain(&mut s);
    assert_eq!(s.call_state(), CallState::Idle);
}

#[test]
fn preview_events_out_of_state_are_ignored() {
    let base = t0();
    let mut s = available(base);
    s.preview_answered(base);
    s.preview_failed(base, CompletionCode::Busy);
    assert_eq!(drain(&mut s), vec![]);
    assert_eq!(s.call_state(), CallState::Idle);

    // Answered/failed for a preview not yet accepted: ignored.
    assert!(s.offer_preview(base, info(A1)));
    drain(&mut s);
    s.preview_answered(base);
    s.preview_failed(base, CompletionCode::Busy);
    assert_eq!(drain(&mut s), vec![]);
    assert_eq!(s.call_state(), CallState::Preview);
}

// ---- nail lost, re-nail, nail failures -------------------------------------------------------

#[test]
fn nail_lost_during_call_hangs_up_wraps_up_and_renails() {
    let base = t0();
    let mut s = talking(base, base);
    let lost = at(base, 10);
    s.on_nail_lost(lost);
    assert_eq!(
        drain(&mut s),
        vec![
            eff(AgentEffect::HangUpCustomer(A1)),
            ev(call_ended(A1, EndedBy::PhoneLost)),
            state(),
        ]
    );
    assert_eq!(s.call_state(), CallState::Wrapup);
    assert_eq!(s.nail(), NailState::UnNailed);
    let renail = lost + cfg().renail_delay;
    assert_eq!(s.poll_timeout(), Some((renail, AgentTimer::Renail)));

    s.handle_timeout(renail - Duration::from_millis(1));
    assert_eq!(drain(&mut s), vec![]);
    s.handle_timeout(renail);
    assert_eq!(drain(&mut s), vec![eff(AgentEffect::Nail), state()]);
    assert_eq!(s.nail(), NailState::Nailing);
    assert_eq!(
        s.poll_timeout(),
        Some((lost + cfg().wrapup_timeout, AgentTimer::Wrapup))
    );

    s.on_nailed(at(base, 13));
    assert_eq!(drain(&mut s), vec![state()]);
    assert_eq!(s.nail(), NailState::Nailed);
    assert_eq!(s.call_state(), CallState::Wrapup);

    // Wrap-up then ends as usual, and the agent is available again.
    run(&mut s, at(base, 14), dispose_cmd());
    assert!(effects(&drain(&mut s)).contains(&AgentEffect::Availability(true)));
}

#[test]
fn nail_lost_while_idle_makes_unavailable_until_renailed() {
    let base = t0();
    let mut s = available(base);
    s.on_nail_lost(at(base, 1));
    assert_eq!(drain(&mut s), vec![state(), avail(false)]);
    assert!(!s.offer_call(at(base, 2), info(A1)));
    s.handle_timeout(at(base, 3));
    assert_eq!(drain(&mut s), vec![eff(AgentEffect::Nail), state()]);
    s.on_nailed(at(base, 4));
    assert_eq!(drain(&mut s), vec![state(), avail(true)]);
}

#[test]
fn max_nail_failures_log_out_nail_failed() {
    let base = t0();
    let mut s = AgentSession::new(AgentId("carol".into()), "z1".into(), cfg(), base);
    run(&mut s, base, Command::Ready);
    s.attach(base, J1);
    drain(&mut s);

    let mut now = base;
    for failure in 1..cfg().max_nail_failures {
        now += Duration::from_secs(1);
        s.on_nail_lost(now);
        assert_eq!(drain(&mut s), vec![state()], "failure {failure}");
        assert_eq!(s.nail(), NailState::UnNailed);
        let (when, timer) = s.poll_timeout().expect("a re-nail is scheduled");
        assert_eq!(
            (when, timer),
            (now + cfg().renail_delay, AgentTimer::Renail)
        );
        now = when;
        s.handle_timeout(now);
        assert_eq!(drain(&mut s), vec![eff(AgentEffect::Nail), state()]);
    }
    now += Duration::from_secs(1);
    s.on_nail_lost(now);
    assert_eq!(
        drain(&mut s),
        vec![
            eff(AgentEffect::DropNail),
            ev(AgentEvent::LoggedOut(LogoutReason::NailFailed)),
            eff(AgentEffect::Ended(LogoutReason::NailFailed)),
        ]
    );
    assert_eq!(s.logged_out(), Some(LogoutReason::NailFailed));
    assert_eq!(s.poll_timeout(), None);
    assert!(!s.is_available());
}

#[test]
fn a_successful_nail_resets_the_failure_count() {
    let base = t0();
    let mut s = AgentSession::new(AgentId("dan".into()), "z1".into(), cfg(), base);
    drain(&mut s);
    let mut now = base;
    // Two failures, then success, then a drop and two more failures: still logged in.
    for _ in 0..2 {
        s.on_nail_lost(now);
        now += cfg().renail_delay;
        s.handle_timeout(now);
    }
    s.on_nailed(now);
    s.on_nail_lost(now); // a drop of a good leg is not a failure
    for _ in 0..2 {
        now += cfg().renail_delay;
        s.handle_timeout(now);
        s.on_nail_lost(now);
    }
    drain(&mut s);
    assert_eq!(s.logged_out(), None);
    // The third consecutive failure ends it.
    now += cfg().renail_delay;
    s.handle_timeout(now);
    s.on_nail_lost(now);
    assert_eq!(s.logged_out(), Some(LogoutReason::NailFailed));
}
