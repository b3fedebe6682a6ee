//! Forced and requested logouts; jobs attached, moves pending, jobs ending.

use super::*;

// ---- forced logout, requested logout ---------------------------------------------------------

#[test]
fn force_logout_on_a_call_hangs_up_and_codes_desktop_error() {
    let base = t0();
    let mut s = talking(base, base);
    s.force_logout(at(base, 7), LogoutReason::DesktopLost);
    assert_eq!(
        drain(&mut s),
        vec![
            eff(AgentEffect::HangUpCustomer(A1)),
            eff(disposed(A1, CompletionCode::DesktopError)),
            eff(AgentEffect::DropNail),
            ev(AgentEvent::LoggedOut(LogoutReason::DesktopLost)),
            eff(AgentEffect::Ended(LogoutReason::DesktopLost)),
        ]
    );
    assert_eq!(s.logged_out(), Some(LogoutReason::DesktopLost));
    assert_eq!(s.call(), None);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn force_logout_in_wrapup_gives_the_default_disposition() {
    let base = t0();
    let mut s = wrapping(base, base);
    s.force_logout(at(base, 1), LogoutReason::Supervisor);
    let out = drain(&mut s);
    assert_eq!(
        effects(&out),
        vec![
            disposed(A1, CompletionCode::AnsweredHuman),
            AgentEffect::DropNail,
            AgentEffect::Ended(LogoutReason::Supervisor),
        ]
    );
    assert_eq!(s.poll_timeout(), None, "no wrap-up timer after the end");
}

#[test]
fn force_logout_in_preview_returns_the_contact() {
    let base = t0();
    let mut s = available(base);
    assert!(s.offer_preview(base, info(A1)));
    drain(&mut s);
    s.force_logout(at(base, 1), LogoutReason::ZoneReleased);
    assert_eq!(
        effects(&drain(&mut s)),
        vec![
            AgentEffect::ReturnPreview(info(A1)),
            AgentEffect::DropNail,
            AgentEffect::Ended(LogoutReason::ZoneReleased),
        ]
    );
}

#[test]
fn force_logout_while_idle_available() {
    let base = t0();
    let mut s = available(base);
    s.force_logout(at(base, 1), LogoutReason::DesktopError);
    assert_eq!(
        drain(&mut s),
        vec![
            eff(AgentEffect::DropNail),
            ev(AgentEvent::LoggedOut(LogoutReason::DesktopError)),
            avail(false),
            eff(AgentEffect::Ended(LogoutReason::DesktopError)),
        ]
    );
}

#[test]
fn logout_when_idle() {
    let base = t0();
    let mut s = available(base);
    run(&mut s, at(base, 5), Command::Logout);
    assert_eq!(
        drain(&mut s),
        vec![
            eff(AgentEffect::DropNail),
            ev(AgentEvent::LoggedOut(LogoutReason::Requested)),
            avail(false),
            eff(AgentEffect::Ended(LogoutReason::Requested)),
        ]
    );
    assert_eq!(s.logged_out(), Some(LogoutReason::Requested));
}

#[test]
fn logout_in_wrapup_disposes_with_the_default_first() {
    let base = t0();
    let mut s = wrapping(base, base);
    run(&mut s, at(base, 5), Command::Logout);
    assert_eq!(
        effects(&drain(&mut s)),
        vec![
            disposed(A1, CompletionCode::AnsweredHuman),
            AgentEffect::DropNail,
            AgentEffect::Ended(LogoutReason::Requested),
        ]
    );
}

#[test]
fn logout_in_preview_returns_the_contact() {
    let base = t0();
    let mut s = available(base);
    assert!(s.offer_preview(base, info(A1)));
    drain(&mut s);
    run(&mut s, at(base, 1), Command::Logout);
    assert!(
        effects(&drain(&mut s)).contains(&AgentEffect::ReturnPreview(info(A1))),
        "the previewed contact must go back to its job"
    );
}

// ---- jobs: attach, pending moves, job end ----------------------------------------------------

#[test]
fn pending_move_applies_at_next_idle() {
    let base = t0();
    let mut s = talking(base, base);
    s.attach(at(base, 1), J2);
    assert_eq!(drain(&mut s), vec![state()]);
    assert_eq!(s.job(), JobAttachment::PendingMove { from: J1, to: J2 });
    assert_eq!(s.dialing_job(), None);
    s.customer_ended(at(base, 2), A1);
    drain(&mut s);
    assert_eq!(s.job(), JobAttachment::PendingMove { from: J1, to: J2 });
    run(&mut s, at(base, 3), dispose_cmd());
    let out = drain(&mut s);
    assert!(out.contains(&avail(true)));
    assert_eq!(s.job(), JobAttachment::Attached(J2));
    assert_eq!(s.dialing_job(), Some(J2));
    assert!(s.is_available());
}

#[test]
fn pending_move_applies_after_wrapup_timeout_and_preview_failure() {
    let base = t0();
    let mut s = wrapping(base, base);
    s.attach(base, J2);
    s.handle_timeout(base + cfg().wrapup_timeout);
    drain(&mut s);
    assert_eq!(s.job(), JobAttachment::Attached(J2));

    let mut p = available(base);
    assert!(p.offer_preview(base, info(A1)));
    run(&mut p, base, Command::AcceptPreview);
    p.attach(base, J2);
    assert_eq!(p.job(), JobAttachment::PendingMove { from: J1, to: J2 });
    p.preview_failed(at(base, 1), CompletionCode::Busy);
    drain(&mut p);
    assert_eq!(p.job(), JobAttachment::Attached(J2));
    assert!(p.is_available());
}

#[test]
fn moving_back_to_the_current_job_cancels_the_pending_move() {
    let base = t0();
    let mut s = talking(base, base);
    s.attach(base, J2);
    assert_eq!(s.job(), JobAttachment::PendingMove { from: J1, to: J2 });
    s.attach(base, J1);
    assert_eq!(s.job(), JobAttachment::Attached(J1));
}

#[test]
fn attach_while_idle_applies_at_once() {
    let base = t0();
    let mut s = available(base);
    s.attach(at(base, 1), J2);
    assert_eq!(drain(&mut s), vec![state()]);
    assert_eq!(s.job(), JobAttachment::Attached(J2));
    assert!(s.is_available());
}

#[test]
fn pending_move_applies_after_skip_preview() {
    let base = t0();
    let mut s = available(base);
    assert!(s.offer_preview(base, info(A1)));
    s.attach(base, J2);
    drain(&mut s);
    run(&mut s, at(base, 1), Command::SkipPreview);
    drain(&mut s);
    assert_eq!(s.job(), JobAttachment::Attached(J2));
    assert!(s.is_available());
}

#[test]
fn job_ended_makes_unavailable() {
    let base = t0();
    let mut s = available(base);
    s.job_ended(at(base, 1), J1);
    assert_eq!(drain(&mut s), vec![state(), avail(false)]);
    assert_eq!(s.job(), JobAttachment::JobEnded(J1));
    assert_eq!(s.dialing_job(), None);
    assert!(!s.offer_call(at(base, 2), info(A1)));

    // Another job's end is none of this agent's business.
    s.job_ended(at(base, 2), J2);
    assert_eq!(drain(&mut s), vec![]);

    // A move to a running job makes it available again.
    s.attach(at(base, 3), J2);
    assert_eq!(drain(&mut s), vec![state(), avail(true)]);
}

#[test]
fn job_ended_during_a_call_keeps_the_call() {
    let base = t0();
    let mut s = talking(base, base);
    s.job_ended(at(base, 1), J1);
    assert_eq!(drain(&mut s), vec![state()]);
    assert_eq!(s.call_state(), CallState::Talking);
    s.customer_ended(at(base, 2), A1);
    run(&mut s, at(base, 3), dispose_cmd());
    let out = drain(&mut s);
    assert!(effects(&out).contains(&disposed(A1, CompletionCode::AnsweredHuman)));
    assert!(!effects(&out).contains(&AgentEffect::Availability(true)));
    assert_eq!(s.job(), JobAttachment::JobEnded(J1));
    assert!(!s.is_available());
}

#[test]
fn job_ended_of_the_source_keeps_a_pending_move() {
    let base = t0();
    let mut s = talking(base, base);
    s.attach(base, J2);
    s.job_ended(at(base, 1), J1);
    assert_eq!(s.job(), JobAttachment::PendingMove { from: J1, to: J2 });
    s.customer_ended(at(base, 2), A1);
    run(&mut s, at(base, 3), dispose_cmd());
    assert_eq!(s.job(), JobAttachment::Attached(J2));
    assert!(s.is_available());
}

#[test]
fn job_ended_of_the_move_target_is_not_forgotten() {
    let base = t0();
    let mut s = talking(base, base);
    s.attach(base, J2);
    s.job_ended(at(base, 1), J2);
    s.customer_ended(at(base, 2), A1);
    run(&mut s, at(base, 3), dispose_cmd());
    drain(&mut s);
    assert_eq!(
        s.dialing_job(),
        Some(J1),
        "the move to the ended J2 is void"
    );
    assert_eq!(s.job(), JobAttachment::Attached(J1));
}
