//! Logging in, readiness and one predictive or progressive call: talk, wrap-up, disposition.

use super::*;

// ---- login, nail, readiness, availability ----------------------------------------------

#[test]
fn login_nails_and_is_not_ready() {
    let base = t0();
    let mut s = AgentSession::new(AgentId("alice".into()), "z1".into(), cfg(), base);
    assert_eq!(drain(&mut s), vec![eff(AgentEffect::Nail), state()]);
    assert_eq!(s.id(), &AgentId("alice".into()));
    assert_eq!(s.zone(), "z1");
    assert_eq!(s.call_state(), CallState::Idle);
    assert_eq!(s.nail(), NailState::Nailing);
    assert!(!s.is_ready());
    assert_eq!(s.not_ready_reason(), Some("login"));
    assert_eq!(s.job(), JobAttachment::Unattached);
    assert_eq!(s.dialing_job(), None);
    assert!(!s.is_available());
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(s.logged_out(), None);
}

#[test]
fn available_only_when_nailed_ready_and_attached() {
    let base = t0();
    let mut s = AgentSession::new(AgentId("alice".into()), "z1".into(), cfg(), base);
    drain(&mut s);

    // Ready and attached, but not nailed yet: not available.
    run(&mut s, base, Command::Ready);
    assert_eq!(drain(&mut s), vec![state()]);
    assert_eq!(s.not_ready_reason(), None);
    s.attach(base, J1);
    assert_eq!(drain(&mut s), vec![state()]);
    assert_eq!(s.dialing_job(), Some(J1));
    assert!(!s.is_available());
    assert!(
        !s.offer_call(base, info(A1)),
        "an unnailed agent took a call"
    );
    assert!(!s.offer_preview(base, info(A1)));
    assert_eq!(drain(&mut s), vec![]);

    // The nail completes the three conditions.
    s.on_nailed(at(base, 1));
    assert_eq!(drain(&mut s), vec![state(), avail(true)]);
    assert!(s.is_available());
}

#[test]
fn nailed_and_ready_but_unattached_is_not_available() {
    let base = t0();
    let mut s = AgentSession::new(AgentId("bob".into()), "z1".into(), cfg(), base);
    s.on_nailed(base);
    run(&mut s, base, Command::Ready);
    drain(&mut s);
    assert!(!s.is_available());
    assert!(!s.offer_call(base, info(A1)));
    assert_eq!(drain(&mut s), vec![]);
    s.attach(base, J1);
    assert_eq!(drain(&mut s), vec![state(), avail(true)]);
}

#[test]
fn not_ready_makes_unavailable_and_ready_restores() {
    let base = t0();
    let mut s = available(base);
    run(
        &mut s,
        base,
        Command::NotReady {
            reason: "lunch".into(),
        },
    );
    assert_eq!(drain(&mut s), vec![state(), avail(false)]);
    assert!(!s.is_ready());
    assert_eq!(s.not_ready_reason(), Some("lunch"));
    assert!(!s.offer_call(base, info(A1)));

    run(&mut s, base, Command::Ready);
    assert_eq!(drain(&mut s), vec![state(), avail(true)]);
    // Ready again while ready: a state event, no repeated availability.
    run(&mut s, base, Command::Ready);
    assert_eq!(drain(&mut s), vec![state()]);
}

// ---- a predictive/progressive call: talk, wrap-up, disposition ----------------------------

#[test]
fn offer_call_goes_talking_with_screen_pop() {
    let base = t0();
    let mut s = available(base);
    assert!(s.offer_call(at(base, 5), info(A1)));
    assert_eq!(
        drain(&mut s),
        vec![ev(AgentEvent::Call(info(A1))), state(), avail(false),]
    );
    assert_eq!(s.call_state(), CallState::Talking);
    assert_eq!(s.call(), Some(&info(A1)));
    assert!(!s.is_available());
    // A second call is not offered to a busy agent.
    assert!(!s.offer_call(at(base, 6), info(A2)));
    assert_eq!(drain(&mut s), vec![]);
    assert_eq!(s.call(), Some(&info(A1)));
}

#[test]
fn customer_ended_goes_wrapup_with_deadline() {
    let base = t0();
    let mut s = talking(base, base);
    s.customer_ended(at(base, 40), A1);
    assert_eq!(
        drain(&mut s),
        vec![ev(call_ended(A1, EndedBy::Customer)), state(),]
    );
    assert_eq!(s.call_state(), CallState::Wrapup);
    assert_eq!(s.call(), Some(&info(A1)), "wrap-up keeps the call it codes");
    assert_eq!(
        s.poll_timeout(),
        Some((at(base, 40) + cfg().wrapup_timeout, AgentTimer::Wrapup))
    );
}

#[test]
fn customer_ended_for_another_attempt_is_ignored() {
    let base = t0();
    let mut s = talking(base, base);
    let before = snap(&s);
    s.customer_ended(at(base, 1), A2);
    assert_eq!(drain(&mut s), vec![]);
    assert_eq!(snap(&s), before);
    // And when no call is up at all.
    let mut idle = available(base);
    idle.customer_ended(at(base, 1), A1);
    assert_eq!(drain(&mut idle), vec![]);
    assert_eq!(idle.call_state(), CallState::Idle);
}

#[test]
fn wrapup_timeout_disposes_with_default_code() {
    let base = t0();
    let mut s = wrapping(base, at(base, 10));
    let deadline = at(base, 10) + cfg().wrapup_timeout;

    // Early: nothing happens.
    s.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(drain(&mut s), vec![]);
    assert_eq!(s.call_state(), CallState::Wrapup);

    s.handle_timeout(deadline);
    assert_eq!(
        drain(&mut s),
        vec![
            eff(disposed(A1, CompletionCode::AnsweredHuman)),
            state(),
            avail(true),
        ]
    );
    assert_eq!(s.call_state(), CallState::Idle);
    assert_eq!(s.call(), None);
    assert_eq!(s.poll_timeout(), None);
    assert!(s.is_available());

    // The timer does not fire twice.
    s.handle_timeout(deadline + Duration::from_secs(100));
    assert_eq!(drain(&mut s), vec![]);
}

#[test]
fn dispose_outputs_effect_and_returns_to_idle() {
    let base = t0();
    let mut s = wrapping(base, at(base, 10));
    run(&mut s, at(base, 12), dispose(CompletionCode::Busy));
    assert_eq!(
        drain(&mut s),
        vec![
            eff(disposed(A1, CompletionCode::Busy)),
            state(),
            avail(true),
        ]
    );
    assert_eq!(s.call_state(), CallState::Idle);
    assert_eq!(s.call(), None);
    assert_eq!(s.poll_timeout(), None, "the wrap-up timer is cancelled");
    assert!(s.is_available());
}

#[test]
fn dispose_carries_the_callback_time() {
    let base = t0();
    let mut s = wrapping(base, base);
    let when: UnixMs = 1_900_000_000_000;
    assert_eq!(
        AgentSession::check_callback(Some(when), when - 1),
        Ok(()),
        "a future callback is accepted"
    );
    run(
        &mut s,
        base,
        Command::Dispose {
            code: CompletionCode::AnsweredHuman,
            callback_at: Some(when),
        },
    );
    assert_eq!(
        effects(&drain(&mut s))[0],
        AgentEffect::Dispose {
            attempt: A1,
            code: CompletionCode::AnsweredHuman,
            callback_at: Some(when)
        }
    );
}

#[test]
fn check_callback_refuses_past_and_present() {
    assert_eq!(AgentSession::check_callback(None, 1000), Ok(()));
    assert_eq!(AgentSession::check_callback(Some(1001), 1000), Ok(()));
    assert_eq!(
        AgentSession::check_callback(Some(1000), 1000),
        Err(CommandError::CallbackInPast)
    );
    assert_eq!(
        AgentSession::check_callback(Some(999), 1000),
        Err(CommandError::CallbackInPast)
    );
    assert_eq!(CommandError::CallbackInPast.code(), "bad-callback");
}

#[test]
fn every_agent_disposition_is_accepted() {
    let base = t0();
    let allowed = [
        CompletionCode::AnsweredHuman,
        CompletionCode::AnsweredMachine,
        CompletionCode::Busy,
        CompletionCode::NoAnswer,
        CompletionCode::InvalidNumber,
        CompletionCode::Declined,
        CompletionCode::Blocked,
    ];
    for code in CompletionCode::ALL {
        assert_eq!(is_disposition(code), allowed.contains(&code), "{code}");
    }
    for code in allowed {
        let mut s = wrapping(base, base);
        run(&mut s, base, dispose(code));
        assert!(effects(&drain(&mut s)).contains(&AgentEffect::Dispose {
            attempt: A1,
            code,
            callback_at: None
        }));
    }
}

#[test]
fn engine_codes_are_refused_as_dispositions() {
    let base = t0();
    let mut s = wrapping(base, base);
    for code in CompletionCode::ALL
        .into_iter()
        .filter(|c| !is_disposition(*c))
    {
        assert_refused(
            &mut s,
            at(base, 1),
            dispose(code),
            CommandError::NotADisposition(code),
        );
        assert_eq!(
            CommandError::NotADisposition(code).code(),
            "bad-disposition"
        );
    }
    assert_eq!(s.call_state(), CallState::Wrapup);
    // Still disposable afterwards.
    run(&mut s, at(base, 2), dispose(CompletionCode::NoAnswer));
}
