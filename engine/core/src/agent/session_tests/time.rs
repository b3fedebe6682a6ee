//! Time accounting, timers, and odds and ends.

use super::*;

// ---- time accounting -------------------------------------------------------------------------

#[test]
fn time_accounting_and_occupancy_are_exact() {
    let base = t0();
    let mut s = AgentSession::new(AgentId("eve".into()), "z1".into(), cfg(), base);
    s.on_nailed(at(base, 1)); // other 0..3
    run(&mut s, at(base, 2), Command::Ready);
    s.attach(at(base, 3), J1); // waiting 3..10
    assert!(s.offer_call(at(base, 10), info(A1))); // talk 10..40
    run(&mut s, at(base, 20), Command::Hold); // held counts as talk
    run(&mut s, at(base, 25), Command::Unhold);
    s.customer_ended(at(base, 40), A1); // wrap 40..55
    run(&mut s, at(base, 55), dispose_cmd()); // waiting 55..60
    drain(&mut s);

    let t = s.times(at(base, 60));
    assert_eq!(t.logged_in, Duration::from_secs(60));
    assert_eq!(t.talk, Duration::from_secs(30));
    assert_eq!(t.wrap, Duration::from_secs(15));
    assert_eq!(t.waiting, Duration::from_secs(12));
    assert_eq!(t.other, Duration::from_secs(3));
    assert_eq!(t.logged_in, t.talk + t.wrap + t.waiting + t.other);
    assert_eq!(t.occupancy(), 0.75);

    // Not ready moves waiting into other, without a state change.
    run(
        &mut s,
        at(base, 60),
        Command::NotReady {
            reason: "break".into(),
        },
    );
    let t = s.times(at(base, 80));
    assert_eq!(t.waiting, Duration::from_secs(12));
    assert_eq!(t.other, Duration::from_secs(23));
    assert_eq!(t.occupancy(), 45.0 / 80.0);

    // The logout freezes the totals.
    run(&mut s, at(base, 80), Command::Logout);
    drain(&mut s);
    assert_eq!(s.times(at(base, 500)), t);
}

#[test]
fn time_going_backwards_is_ignored() {
    let base = at(t0(), 100);
    let mut s = available(base);
    let earlier = base - Duration::from_secs(50);
    assert!(s.offer_call(earlier, info(A1)));
    let t = s.times(at(base, 10));
    assert_eq!(t.logged_in, Duration::from_secs(10));
    assert_eq!(t.talk, Duration::from_secs(10));
    assert_eq!(s.times(earlier).logged_in, Duration::ZERO);
}

#[test]
fn occupancy_of_no_time_is_zero() {
    assert_eq!(AgentTimes::default().occupancy(), 0.0);
    let base = t0();
    let s = available(base);
    assert_eq!(s.times(base).occupancy(), 0.0);
}

// ---- timers ------------------------------------------------------------------------------------

#[test]
fn poll_timeout_returns_the_earliest_timer() {
    let base = t0();
    let mut s = wrapping(base, base); // wrap-up due at +30
    assert_eq!(s.poll_timeout(), Some((at(base, 30), AgentTimer::Wrapup)));
    s.on_nail_lost(at(base, 5)); // re-nail due at +7
    assert_eq!(s.poll_timeout(), Some((at(base, 7), AgentTimer::Renail)));
    s.handle_timeout(at(base, 7));
    assert_eq!(s.poll_timeout(), Some((at(base, 30), AgentTimer::Wrapup)));
    // Now with the re-nail later than the wrap-up.
    s.on_nail_lost(at(base, 29)); // re-nail due at +31
    assert_eq!(s.poll_timeout(), Some((at(base, 30), AgentTimer::Wrapup)));
    s.handle_timeout(at(base, 30));
    assert_eq!(s.poll_timeout(), Some((at(base, 31), AgentTimer::Renail)));
    drain(&mut s);
}

#[test]
fn both_timers_due_fire_in_one_call() {
    let base = t0();
    let mut s = wrapping(base, base);
    s.on_nail_lost(at(base, 1));
    drain(&mut s);
    s.handle_timeout(at(base, 100));
    let out = effects(&drain(&mut s));
    assert!(out.contains(&AgentEffect::Nail));
    assert!(out.contains(&disposed(A1, CompletionCode::AnsweredHuman)));
    assert_eq!(s.poll_timeout(), None);
}

/// A virtual-time driver: jumps to each deadline, as the shell would, and checks the
/// whole life of one call lasts exactly what the config says.
#[test]
fn virtual_time_driver_runs_wrapup_to_the_exact_deadline() {
    let base = t0();
    let mut s = talking(base, base);
    s.customer_ended(at(base, 12), A1);
    let mut now = at(base, 12);
    let mut fired = Vec::new();
    while let Some((when, timer)) = s.poll_timeout() {
        now = when;
        s.handle_timeout(now);
        fired.push(timer);
        drain(&mut s);
    }
    assert_eq!(fired, vec![AgentTimer::Wrapup]);
    assert_eq!(now - at(base, 12), cfg().wrapup_timeout);
    assert_eq!(s.times(now).wrap, cfg().wrapup_timeout);
    assert!(s.is_available());
}

// ---- odds and ends -----------------------------------------------------------------------------

#[test]
fn command_names_are_the_wire_names() {
    let names: Vec<_> = [
        Command::Ready,
        Command::NotReady {
            reason: String::new(),
        },
        Command::AcceptPreview,
        Command::SkipPreview,
        Command::Hold,
        Command::Unhold,
        Command::HangUp,
        dispose_cmd(),
        Command::Logout,
    ]
    .iter()
    .map(Command::name)
    .collect();
    assert_eq!(
        names,
        [
            "ready",
            "not-ready",
            "accept-preview",
            "skip-preview",
            "hold",
            "unhold",
            "hang-up",
            "dispose",
            "logout"
        ]
    );
}

#[test]
fn on_call_states() {
    for st in [
        CallState::Talking,
        CallState::Held,
        CallState::Consult,
        CallState::ConferenceOwner,
        CallState::ConferencePassive,
    ] {
        assert!(st.on_call(), "{st:?}");
    }
    for st in [
        CallState::Idle,
        CallState::Preview,
        CallState::Dialing,
        CallState::Wrapup,
        CallState::Callback,
        CallState::PendingCall,
    ] {
        assert!(!st.on_call(), "{st:?}");
    }
}
