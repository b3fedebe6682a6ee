//! Unit tests of [`AgentSession`]: every transition, what it outputs, and what it refuses,
//! under virtual time (an `Instant` base plus offsets; nothing sleeps). This file holds the
//! fixtures; each submodule one family of transitions.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::takeover::{Column, ConsultRole};
use super::*;
use crate::domain::{AttemptId, CompletionCode, ContactId, JobId, UnixMs};

mod calls;
mod logout_jobs;
mod preview;
mod refusals;
mod takeover;
mod time;

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

fn not_in(command: &'static str, state: CallState) -> CommandError {
    CommandError::NotInState { command, state }
}

fn dispose_cmd() -> Command {
    dispose(CompletionCode::AnsweredHuman)
}
