//! Takeovers: Table 9, service notices, the state check, HA time.

use super::*;

// ---- takeover: Table 9, service notices, the state check, HA time ----------------------

/// A session restored in `state` (with call A1 where the state has one), nailed, ready and
/// attached to J1, then taken out of service at `base`; drained.
fn in_outage(base: Instant, state: CallState, role: ConsultRole) -> AgentSession {
    let call = match state {
        CallState::Idle | CallState::Callback | CallState::PendingCall => None,
        _ => Some(info(A1)),
    };
    let mut s = AgentSession::restored(
        AgentId("alice".into()),
        "z1".into(),
        cfg(),
        base,
        Restored {
            state,
            ready: true,
            nail: NailState::Nailed,
            job: JobAttachment::Attached(J1),
            call,
            consult_role: role,
        },
    );
    assert_eq!(drain(&mut s), vec![]);
    s.service_lost(base);
    assert_eq!(
        events(&drain(&mut s)),
        vec![AgentEvent::Service { available: false }]
    );
    s
}

/// What happens to the agent's call and phone during the outage, for one column.
fn live_through(s: &mut AgentSession, now: Instant, column: Column) {
    let lost = column != Column::CallSurvivedNailed;
    if lost {
        match s.call_state() {
            CallState::Dialing => s.preview_failed(now, CompletionCode::NoAnswer),
            _ => s.customer_ended(now, A1),
        }
    }
    if column == Column::CallLostUnnailed {
        s.on_nail_lost(now);
    }
    // Nothing changes before the takeover, whatever happened.
    assert_eq!(drain(s), vec![], "outputs during the outage");
}

const ROWS: [CallState; 11] = [
    CallState::Idle,
    CallState::Talking,
    CallState::Wrapup,
    CallState::Held,
    CallState::Consult,
    CallState::ConferenceOwner,
    CallState::ConferencePassive,
    CallState::Preview,
    CallState::Dialing,
    CallState::Callback,
    CallState::PendingCall,
];

#[test]
fn sessions_follow_table_9_in_every_row_and_column() {
    for role in [ConsultRole::Owner, ConsultRole::Passive] {
        for before in ROWS {
            for column in Column::ALL {
                let base = t0();
                let mut s = in_outage(base, before, role);
                live_through(&mut s, at(base, 1), column);
                let r = s.take_over(at(base, 3)).expect("an outage to end");
                let want = crate::agent::takeover::after_takeover(before, column, role);
                let case = format!("{before:?} under {} ({role:?})", column.letter());
                // With no call to lose, only the nail places the agent: C reads as A, and
                // Table 9 gives both the same state in these rows.
                let callless = matches!(
                    before,
                    CallState::Idle | CallState::Callback | CallState::PendingCall
                );
                let want_column = if callless && column == Column::CallLostNailed {
                    Column::CallSurvivedNailed
                } else {
                    column
                };
                assert_eq!(r.column, want_column, "{case}");
                assert_eq!((r.before, r.after), (before, want), "{case}");
                assert_eq!(s.call_state(), want, "{case}");
                assert!(!r.kept);
                let out = drain(&mut s);
                let evs = events(&out);
                assert_eq!(
                    evs.first(),
                    Some(&AgentEvent::Service { available: true }),
                    "{case}"
                );
                assert_eq!(evs.last(), Some(&AgentEvent::StateCheck), "{case}");
                let failover_end = evs.iter().any(|e| {
                    matches!(e, AgentEvent::CallEnded { by: EndedBy::Failover, attempt, .. } if *attempt == A1)
                });
                assert_eq!(
                    failover_end,
                    want == CallState::Wrapup && before != CallState::Wrapup,
                    "{case}: a call dropped during the outage is reported, and only then"
                );
                let renailed = effects(&out).contains(&AgentEffect::Nail);
                assert_eq!(renailed, column == Column::CallLostUnnailed, "{case}");
                if want == CallState::Wrapup {
                    assert!(
                        s.poll_timeout().is_some(),
                        "{case}: wrap-up has its deadline"
                    );
                }
                if before == CallState::Preview && want == CallState::Idle {
                    assert!(effects(&out).contains(&AgentEffect::ReturnPreview(info(A1))));
                }
            }
        }
    }
}

#[test]
fn dialing_that_survived_pops_the_call_and_wraps_up_when_it_ends() {
    let base = t0();
    let mut s = in_outage(base, CallState::Dialing, ConsultRole::Owner);
    // Answered during the outage: nothing shows until the takeover.
    s.preview_answered(at(base, 1));
    assert_eq!(drain(&mut s), vec![]);
    s.take_over(at(base, 2));
    let evs = events(&drain(&mut s));
    assert!(evs.contains(&AgentEvent::Call(info(A1))));
    assert_eq!(s.call_state(), CallState::Talking);
    s.customer_ended(at(base, 9), A1);
    assert_eq!(s.call_state(), CallState::Wrapup);
}

#[test]
fn dialing_under_a_that_never_answers_ends_in_wrapup() {
    let base = t0();
    let mut s = in_outage(base, CallState::Dialing, ConsultRole::Owner);
    s.take_over(at(base, 2));
    drain(&mut s);
    assert_eq!(s.call_state(), CallState::Talking);
    s.preview_failed(at(base, 20), CompletionCode::NoAnswer);
    assert_eq!(s.call_state(), CallState::Wrapup);
    assert!(events(&drain(&mut s)).contains(&AgentEvent::CallEnded {
        attempt: A1,
        by: EndedBy::NotAnswered,
        code: Some(CompletionCode::NoAnswer),
    }));
}

#[test]
fn an_agent_with_no_job_keeps_its_state_in_every_column() {
    for before in ROWS {
        for column in Column::ALL {
            let base = t0();
            let mut s = in_outage(base, before, ConsultRole::Owner);
            // Detached by hand: a restored session with no job.
            s.job = JobAttachment::Unattached;
            live_through(&mut s, at(base, 1), column);
            let r = s.take_over(at(base, 2)).expect("an outage");
            assert!(r.kept);
            assert_eq!(
                s.call_state(),
                before,
                "{before:?} under {}",
                column.letter()
            );
        }
    }
}

#[test]
fn a_survived_call_with_a_lost_phone_is_hung_up_at_takeover() {
    let base = t0();
    let mut s = in_outage(base, CallState::Talking, ConsultRole::Owner);
    s.on_nail_lost(at(base, 1));
    let r = s.take_over(at(base, 2)).expect("an outage");
    assert_eq!(r.column, Column::CallLostUnnailed);
    let out = drain(&mut s);
    assert!(effects(&out).contains(&AgentEffect::HangUpCustomer(A1)));
    assert_eq!(s.call_state(), CallState::Wrapup);
}

#[test]
fn commands_during_an_outage_are_refused_as_unavailable() {
    let base = t0();
    let mut s = in_outage(base, CallState::Talking, ConsultRole::Owner);
    for cmd in [
        Command::Ready,
        Command::Hold,
        Command::HangUp,
        Command::Logout,
        dispose(CompletionCode::AnsweredHuman),
    ] {
        assert_refused(&mut s, at(base, 1), cmd, CommandError::Unavailable);
    }
    assert!(!s.offer_call(at(base, 1), info(A2)));
    assert!(!s.is_available());
}

#[test]
fn an_idle_agent_is_offered_nothing_until_the_takeover() {
    let base = t0();
    let mut s = in_outage(base, CallState::Idle, ConsultRole::Owner);
    assert!(!s.is_available());
    assert!(!s.offer_preview(at(base, 1), info(A2)));
    s.take_over(at(base, 2));
    let out = drain(&mut s);
    assert!(effects(&out).contains(&AgentEffect::Availability(true)));
    assert!(s.is_available());
}

#[test]
fn outage_time_is_ha_time() {
    let base = t0();
    let mut s = talking(base, base);
    s.service_lost(at(base, 10));
    s.take_over(at(base, 25));
    let t = s.times(at(base, 30));
    assert_eq!(t.ha, Duration::from_secs(15));
    assert_eq!(t.talk, Duration::from_secs(15));
    assert_eq!(t.logged_in, Duration::from_secs(30));
}

#[test]
fn wrapup_does_not_run_out_during_an_outage() {
    let base = t0();
    let mut s = wrapping(base, base);
    s.service_lost(at(base, 10));
    // The 30 s wrap-up would end at 30 s; timers stand still meanwhile.
    s.handle_timeout(at(base, 31));
    assert_eq!(s.call_state(), CallState::Wrapup);
    s.take_over(at(base, 40));
    drain(&mut s);
    assert!(s.state_report(at(base, 40), CallState::Wrapup, Some(A1)));
    assert_eq!(s.poll_timeout(), Some((at(base, 60), AgentTimer::Wrapup)));
}

#[test]
fn a_matching_state_report_keeps_the_agent() {
    let base = t0();
    let mut s = in_outage(base, CallState::Talking, ConsultRole::Owner);
    s.take_over(at(base, 1));
    drain(&mut s);
    assert!(s.state_check_pending());
    assert!(s.state_report(at(base, 2), CallState::Talking, Some(A1)));
    assert!(!s.state_check_pending());
    assert_eq!(drain(&mut s), vec![]);
    // The check timer is gone with the answer.
    s.handle_timeout(at(base, 30));
    assert_eq!(s.logged_out(), None);
}

#[test]
fn a_mismatched_state_report_codes_the_call_desktop_error_and_logs_out() {
    for (reported, attempt) in [
        (CallState::Idle, None),
        (CallState::Talking, Some(A2)),
        (CallState::Wrapup, Some(A1)),
    ] {
        let base = t0();
        let mut s = in_outage(base, CallState::Talking, ConsultRole::Owner);
        s.take_over(at(base, 1));
        drain(&mut s);
        assert!(!s.state_report(at(base, 2), reported, attempt));
        let out = drain(&mut s);
        assert!(effects(&out).contains(&AgentEffect::HangUpCustomer(A1)));
        assert!(effects(&out).contains(&disposed(A1, CompletionCode::DesktopError)));
        assert_eq!(s.logged_out(), Some(LogoutReason::DesktopError));
    }
}

#[test]
fn a_mismatch_in_wrapup_still_codes_the_call_desktop_error() {
    let base = t0();
    let mut s = in_outage(base, CallState::Talking, ConsultRole::Owner);
    s.customer_ended(at(base, 1), A1);
    s.take_over(at(base, 2));
    drain(&mut s);
    assert_eq!(s.call_state(), CallState::Wrapup);
    // The desktop missed the failover's call-ended and still thinks it is talking.
    assert!(!s.state_report(at(base, 3), CallState::Talking, Some(A1)));
    let out = drain(&mut s);
    assert!(effects(&out).contains(&disposed(A1, CompletionCode::DesktopError)));
}

#[test]
fn no_state_report_in_time_logs_out_with_desktop_error() {
    let base = t0();
    let mut s = in_outage(base, CallState::Held, ConsultRole::Owner);
    s.take_over(at(base, 1));
    drain(&mut s);
    assert_eq!(
        s.poll_timeout(),
        Some((at(base, 6), AgentTimer::StateCheck))
    );
    s.handle_timeout(at(base, 6));
    let out = drain(&mut s);
    assert!(effects(&out).contains(&disposed(A1, CompletionCode::DesktopError)));
    assert_eq!(s.logged_out(), Some(LogoutReason::DesktopError));
}

#[test]
fn the_report_is_checked_against_the_state_the_check_was_sent_in() {
    let base = t0();
    let mut s = in_outage(base, CallState::Talking, ConsultRole::Owner);
    s.take_over(at(base, 1));
    drain(&mut s);
    // The customer hangs up after the check left and before the report came back.
    s.customer_ended(at(base, 2), A1);
    drain(&mut s);
    assert!(s.state_report(at(base, 3), CallState::Talking, Some(A1)));
    assert_eq!(s.logged_out(), None);
    assert_eq!(s.call_state(), CallState::Wrapup);
}

#[test]
fn wrapup_waits_for_the_state_check_so_a_mismatch_still_codes_the_call() {
    let base = t0();
    // Wrap-up of 30 s from 0; the outage (28 s to 29 s) moves its end to 31 s; the check
    // sent at 29 s is open until 34 s.
    let mut s = wrapping(base, base);
    s.service_lost(at(base, 28));
    s.take_over(at(base, 29));
    drain(&mut s);
    assert_eq!(
        s.poll_timeout(),
        Some((at(base, 34), AgentTimer::StateCheck))
    );
    s.handle_timeout(at(base, 32));
    assert_eq!(
        s.call_state(),
        CallState::Wrapup,
        "wrap-up ran out during the check"
    );
    assert!(!s.state_report(at(base, 33), CallState::Idle, None));
    let out = drain(&mut s);
    assert!(effects(&out).contains(&disposed(A1, CompletionCode::DesktopError)));
}

#[test]
fn wrapup_resumes_after_a_matching_state_report() {
    let base = t0();
    let mut s = wrapping(base, base);
    s.service_lost(at(base, 28));
    s.take_over(at(base, 29));
    drain(&mut s);
    assert!(s.state_report(at(base, 32), CallState::Wrapup, Some(A1)));
    assert_eq!(s.poll_timeout(), Some((at(base, 31), AgentTimer::Wrapup)));
    s.handle_timeout(at(base, 32));
    assert_eq!(s.call_state(), CallState::Idle);
}

#[test]
fn an_unsolicited_state_report_changes_nothing() {
    let base = t0();
    let mut s = talking(base, base);
    assert!(s.state_report(at(base, 1), CallState::Idle, None));
    assert_eq!(drain(&mut s), vec![]);
    assert_eq!(s.call_state(), CallState::Talking);
}

#[test]
fn a_takeover_without_an_outage_does_nothing() {
    let base = t0();
    let mut s = talking(base, base);
    assert_eq!(s.take_over(at(base, 1)), None);
    assert_eq!(drain(&mut s), vec![]);
}

#[test]
fn a_logout_while_the_state_check_is_pending_leaves_no_timer() {
    // Found by `outdial simulate --chaos` (small-team, an agent's shift ending within the
    // check's 5 s): the ended session kept reporting the check's deadline, which
    // `handle_timeout` ignores once logged out, so its driver re-armed it forever.
    let base = t0();
    let mut s = in_outage(base, CallState::Idle, ConsultRole::Owner);
    s.take_over(at(base, 1));
    drain(&mut s);
    assert!(s.state_check_pending());
    s.handle_command(at(base, 2), Command::Logout).unwrap();
    assert_eq!(s.logged_out(), Some(LogoutReason::Requested));
    assert_eq!(s.poll_timeout(), None);
}
