//! Unit tests of [`AgentSession`]: every transition, what it outputs, and what it refuses,
//! under virtual time (an `Instant` base plus offsets; nothing sleeps).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::takeover::{Column, ConsultRole};
use super::*;
use crate::domain::{AttemptId, CompletionCode, ContactId, JobId, UnixMs};

const J1: JobId = JobId(1);
const J2: JobId = JobId(2);
const A1: AttemptId = AttemptId(101);
const A2: AttemptId = AttemptId(102);

fn cfg() -> AgentConfig {
    AgentConfig {
        wrapup_timeout: Duration::from_secs(30),
        renail_delay: Duration::from_secs(2),
        max_nail_failures: 3,
        state_check_timeout: Duration::from_secs(5),
    }
}

/// The origin of virtual time; every other instant is an offset from it.
fn t0() -> Instant {
    crate::clock::now()
}

fn at(base: Instant, secs: u64) -> Instant {
    base + Duration::from_secs(secs)
}

fn info(attempt: AttemptId) -> CallInfo {
    let mut fields = BTreeMap::new();
    fields.insert("name".to_owned(), "Ada".to_owned());
    fields.insert("balance".to_owned(), "12.50".to_owned());
    CallInfo {
        attempt,
        job: J1,
        contact: ContactId(attempt.0 + 1000),
        phone: "+15550001111".to_owned(),
        fields,
    }
}

fn drain(s: &mut AgentSession) -> Vec<Output> {
    std::iter::from_fn(|| s.poll_output()).collect()
}

fn effects(out: &[Output]) -> Vec<AgentEffect> {
    out.iter()
        .filter_map(|o| match o {
            Output::Effect(e) => Some(e.clone()),
            Output::Desktop(_) => None,
        })
        .collect()
}

fn events(out: &[Output]) -> Vec<AgentEvent> {
    out.iter()
        .filter_map(|o| match o {
            Output::Desktop(e) => Some(e.clone()),
            Output::Effect(_) => None,
        })
        .collect()
}

fn eff(e: AgentEffect) -> Output {
    Output::Effect(e)
}

fn ev(e: AgentEvent) -> Output {
    Output::Desktop(e)
}

fn state() -> Output {
    Output::Desktop(AgentEvent::State)
}

fn avail(on: bool) -> Output {
    Output::Effect(AgentEffect::Availability(on))
}

fn disposed(attempt: AttemptId, code: CompletionCode) -> AgentEffect {
    AgentEffect::Dispose {
        attempt,
        code,
        callback_at: None,
    }
}

fn call_ended(attempt: AttemptId, by: EndedBy) -> AgentEvent {
    AgentEvent::CallEnded {
        attempt,
        by,
        code: None,
    }
}

fn dispose(code: CompletionCode) -> Command {
    Command::Dispose {
        code,
        callback_at: None,
    }
}

/// Runs a command that must be accepted.
fn run(s: &mut AgentSession, now: Instant, cmd: Command) {
    if let Err(e) = s.handle_command(now, cmd.clone()) {
        panic!("{cmd:?} refused: {e}");
    }
}

/// Everything observable about a session, to show a refused command changed nothing.
#[derive(Debug, PartialEq)]
struct Snapshot {
    state: CallState,
    ready: bool,
    reason: Option<String>,
    nail: NailState,
    job: JobAttachment,
    call: Option<CallInfo>,
    timeout: Option<(Instant, AgentTimer)>,
    logged_out: Option<LogoutReason>,
    available: bool,
}

fn snap(s: &AgentSession) -> Snapshot {
    Snapshot {
        state: s.call_state(),
        ready: s.is_ready(),
        reason: s.not_ready_reason().map(str::to_owned),
        nail: s.nail(),
        job: s.job(),
        call: s.call().cloned(),
        timeout: s.poll_timeout(),
        logged_out: s.logged_out(),
        available: s.is_available(),
    }
}

/// Asserts `cmd` is refused with `want`, outputs nothing and changes nothing.
fn assert_refused(s: &mut AgentSession, now: Instant, cmd: Command, want: CommandError) {
    let before = snap(s);
    let times_before = s.times(now);
    assert_eq!(s.handle_command(now, cmd.clone()), Err(want), "{cmd:?}");
    assert_eq!(drain(s), vec![], "a refused {cmd:?} output something");
    assert_eq!(snap(s), before, "a refused {cmd:?} changed the session");
    assert_eq!(s.times(now), times_before);
}

/// A session logged in at `base`, nailed, ready and attached to J1: available, drained.
fn available(base: Instant) -> AgentSession {
    let mut s = AgentSession::new(AgentId("alice".into()), "z1".into(), cfg(), base);
    s.on_nailed(base);
    run(&mut s, base, Command::Ready);
    s.attach(base, J1);
    assert!(s.is_available());
    drain(&mut s);
    s
}

/// An available session that took call A1 at `now`, drained.
fn talking(base: Instant, now: Instant) -> AgentSession {
    let mut s = available(base);
    assert!(s.offer_call(now, info(A1)));
    drain(&mut s);
    s
}

/// A session in wrap-up of A1 (the customer hung up at `now`), drained.
fn wrapping(base: Instant, now: Instant) -> AgentSession {
    let mut s = talking(base, base);
    s.customer_ended(now, A1);
    drain(&mut s);
    assert_eq!(s.call_state(), CallState::Wrapup);
    s
}

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

// ---- refusals -----------------------------------------------------------------------------

fn not_in(command: &'static str, state: CallState) -> CommandError {
    CommandError::NotInState { command, state }
}

fn dispose_cmd() -> Command {
    dispose(CompletionCode::AnsweredHuman)
}

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
