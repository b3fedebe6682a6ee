//! Commands out of state, refused without a change; hold and hang-up.

use super::*;

// ---- refusals -----------------------------------------------------------------------------

#[test]
fn out_of_state_commands_in_idle_change_nothing() {
    let base = t0();
    let mut s = available(base);
    let now = at(base, 3);
    let idle = CallState::Idle;
    assert_refused(
        &mut s,
        now,
        Command::AcceptPreview,
        not_in("accept-preview", idle),
    );
    assert_refused(
        &mut s,
        now,
        Command::SkipPreview,
        not_in("skip-preview", idle),
    );
    assert_refused(&mut s, now, Command::Hold, not_in("hold", idle));
    assert_refused(&mut s, now, Command::Unhold, not_in("unhold", idle));
    assert_refused(&mut s, now, Command::HangUp, not_in("hang-up", idle));
    assert_refused(&mut s, now, dispose_cmd(), not_in("dispose", idle));
    // A non-disposition outside wrap-up is refused for the state first.
    assert_refused(
        &mut s,
        now,
        dispose(CompletionCode::Nuisance),
        not_in("dispose", idle),
    );
    assert!(s.is_available());
    assert_eq!(not_in("hold", idle).code(), "not-in-state");
}

#[test]
fn out_of_state_commands_while_talking_change_nothing() {
    let base = t0();
    let mut s = talking(base, base);
    let now = at(base, 3);
    let st = CallState::Talking;
    assert_refused(
        &mut s,
        now,
        Command::AcceptPreview,
        not_in("accept-preview", st),
    );
    assert_refused(
        &mut s,
        now,
        Command::SkipPreview,
        not_in("skip-preview", st),
    );
    assert_refused(&mut s, now, Command::Unhold, not_in("unhold", st));
    assert_refused(&mut s, now, dispose_cmd(), not_in("dispose", st));
    assert_refused(&mut s, now, Command::Logout, not_in("logout", st));
}

#[test]
fn out_of_state_commands_in_wrapup_preview_and_held_change_nothing() {
    let base = t0();
    let now = at(base, 3);

    let mut w = wrapping(base, base);
    let st = CallState::Wrapup;
    assert_refused(&mut w, now, Command::HangUp, not_in("hang-up", st));
    assert_refused(&mut w, now, Command::Hold, not_in("hold", st));
    assert_refused(&mut w, now, Command::Unhold, not_in("unhold", st));
    assert_refused(
        &mut w,
        now,
        Command::AcceptPreview,
        not_in("accept-preview", st),
    );
    assert_refused(
        &mut w,
        now,
        Command::SkipPreview,
        not_in("skip-preview", st),
    );

    let mut p = available(base);
    assert!(p.offer_preview(base, info(A1)));
    drain(&mut p);
    let st = CallState::Preview;
    assert_refused(&mut p, now, Command::HangUp, not_in("hang-up", st));
    assert_refused(&mut p, now, Command::Hold, not_in("hold", st));
    assert_refused(&mut p, now, dispose_cmd(), not_in("dispose", st));

    let mut h = talking(base, base);
    run(&mut h, base, Command::Hold);
    drain(&mut h);
    let st = CallState::Held;
    assert_refused(&mut h, now, Command::Hold, not_in("hold", st));
    assert_refused(&mut h, now, Command::Logout, not_in("logout", st));
    assert_refused(&mut h, now, dispose_cmd(), not_in("dispose", st));

    let mut d = available(base);
    assert!(d.offer_preview(base, info(A1)));
    run(&mut d, base, Command::AcceptPreview);
    drain(&mut d);
    let st = CallState::Dialing;
    assert_refused(&mut d, now, Command::Logout, not_in("logout", st));
    assert_refused(
        &mut d,
        now,
        Command::AcceptPreview,
        not_in("accept-preview", st),
    );
    assert_refused(&mut d, now, Command::Hold, not_in("hold", st));
    assert_refused(&mut d, now, dispose_cmd(), not_in("dispose", st));
}

#[test]
fn commands_after_logout_are_refused() {
    let base = t0();
    let mut s = available(base);
    run(&mut s, base, Command::Logout);
    drain(&mut s);
    for cmd in [
        Command::Ready,
        Command::NotReady { reason: "x".into() },
        Command::HangUp,
        dispose_cmd(),
        Command::Logout,
    ] {
        assert_refused(&mut s, at(base, 1), cmd, CommandError::LoggedOut);
    }
    assert_eq!(CommandError::LoggedOut.code(), "logged-out");
    // Engine events after the end are ignored too.
    s.on_nailed(at(base, 2));
    s.on_nail_lost(at(base, 2));
    s.force_logout(at(base, 2), LogoutReason::Supervisor);
    s.handle_timeout(at(base, 100));
    assert!(!s.offer_call(at(base, 2), info(A1)));
    assert_eq!(drain(&mut s), vec![]);
    assert_eq!(s.logged_out(), Some(LogoutReason::Requested));
}

// ---- hold, hang-up --------------------------------------------------------------------------

#[test]
fn hold_and_unhold() {
    let base = t0();
    let mut s = talking(base, base);
    run(&mut s, at(base, 1), Command::Hold);
    assert_eq!(
        drain(&mut s),
        vec![
            eff(AgentEffect::HoldCustomer {
                attempt: A1,
                on: true
            }),
            state(),
        ]
    );
    assert_eq!(s.call_state(), CallState::Held);
    assert!(s.call_state().on_call());

    run(&mut s, at(base, 2), Command::Unhold);
    assert_eq!(
        drain(&mut s),
        vec![
            eff(AgentEffect::HoldCustomer {
                attempt: A1,
                on: false
            }),
            state(),
        ]
    );
    assert_eq!(s.call_state(), CallState::Talking);
}

#[test]
fn customer_hanging_up_while_held_goes_wrapup() {
    let base = t0();
    let mut s = talking(base, base);
    run(&mut s, base, Command::Hold);
    drain(&mut s);
    s.customer_ended(at(base, 5), A1);
    assert_eq!(
        events(&drain(&mut s)),
        vec![call_ended(A1, EndedBy::Customer), AgentEvent::State]
    );
    assert_eq!(s.call_state(), CallState::Wrapup);
}

#[test]
fn agent_hang_up_goes_wrapup() {
    let base = t0();
    let mut s = talking(base, base);
    run(&mut s, at(base, 20), Command::HangUp);
    assert_eq!(
        drain(&mut s),
        vec![
            eff(AgentEffect::HangUpCustomer(A1)),
            ev(call_ended(A1, EndedBy::Agent)),
            state(),
        ]
    );
    assert_eq!(s.call_state(), CallState::Wrapup);
    assert_eq!(
        s.poll_timeout(),
        Some((at(base, 20) + cfg().wrapup_timeout, AgentTimer::Wrapup))
    );
    // The customer's BYE crossing ours changes nothing.
    s.customer_ended(at(base, 21), A1);
    assert_eq!(drain(&mut s), vec![]);
}

#[test]
fn agent_hang_up_while_held() {
    let base = t0();
    let mut s = talking(base, base);
    run(&mut s, base, Command::Hold);
    drain(&mut s);
    run(&mut s, base, Command::HangUp);
    assert_eq!(
        effects(&drain(&mut s)),
        vec![AgentEffect::HangUpCustomer(A1)]
    );
    assert_eq!(s.call_state(), CallState::Wrapup);
}
