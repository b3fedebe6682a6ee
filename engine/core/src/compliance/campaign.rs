//! The rules a campaign definition must meet before it may dial anyone: a diallable caller ID,
//! an information message and a short connect window where calls can be abandoned, a nuisance
//! cap within the law, calling hours within the law, no retry inside a lock-out. A load test
//! is exempt but must declare its test ranges.

use std::time::Duration;

use chrono::NaiveTime;

use crate::campaign::{AbandonMessage, Campaign};
use crate::compliance::caller_id;
use crate::compliance::jurisdiction::{WIDEST_END, WIDEST_START};
use crate::compliance::redial::{AgentGuarantee, ABANDONED_LOCKOUT, MACHINE_LOCKOUT};
use crate::compliance::violation::{RetryLockout, Violation};
use crate::domain::CompletionCode;
use crate::pacing::PacingPolicy;

/// The longest wait of a live answer for an agent before the information message: 2 s from
/// the start of speech (Ofcom, Persistent Misuse statement of policy; FTC Telemarketing Sales
/// Rule 16 CFR 310.4(b)(4)(iii)).
pub const MAX_CONNECT_WINDOW: Duration = Duration::from_secs(2);
/// The highest lawful nuisance cap, in hundredths of a percent of live answers (3 %: Ofcom per
/// campaign per day, FTC per campaign per 30 days).
pub const MAX_NUISANCE_CAP_BASIS_POINTS: u64 = 300;

/// Whether live answers in `mode` may find no agent (and so be abandoned).
pub fn can_abandon(mode: PacingPolicy) -> bool {
    matches!(
        mode,
        PacingPolicy::Progressive { .. } | PacingPolicy::Predictive { .. }
    )
}

/// Whether `mode` plays its message to live answers: the abandoning modes, and agentless,
/// whose message is what every callee hears.
pub fn needs_information_message(mode: PacingPolicy) -> bool {
    can_abandon(mode) || matches!(mode, PacingPolicy::Agentless { .. })
}

/// Every rule of law the campaign would break; empty when it may run.
pub fn check_campaign(c: &Campaign) -> Vec<Violation> {
    if c.load_test() {
        return match c.test_ranges() {
            Some(r) if !r.is_empty() => Vec::new(),
            _ => vec![Violation::LoadTestWithoutTestRanges],
        };
    }
    let mut v = Vec::new();
    check_caller_id(c, &mut v);
    let mode = c.mode();
    if can_abandon(mode) && c.connect_window() > MAX_CONNECT_WINDOW {
        v.push(Violation::ConnectWindowTooLong {
            ms: millis(c.connect_window()),
            max_ms: millis(MAX_CONNECT_WINDOW),
        });
    }
    if needs_information_message(mode) && *c.abandon_message() == AbandonMessage::Tone {
        v.push(Violation::NoInformationMessage {
            mode: mode_name(mode),
        });
    }
    // Compared in hundredths of a percent, so 3.0 is exactly the limit.
    let cap_basis_points = (c.nuisance().cap * 10_000.0).round() as u64;
    if cap_basis_points > MAX_NUISANCE_CAP_BASIS_POINTS {
        v.push(Violation::CapAboveLegalLimit { cap_basis_points });
    }
    let hours = c.calling_hours();
    let (start, end) = (hours.start(), hours.end());
    if start < hm(WIDEST_START) || end > hm(WIDEST_END) || end <= start {
        v.push(Violation::CallingHoursWiderThanLaw { start, end });
    }
    check_retries(c, &mut v);
    v
}

fn check_caller_id(c: &Campaign, v: &mut Vec<Violation>) {
    match (c.caller_id(), c.spec().caller_id.as_deref()) {
        (Some(id), _) => {
            if let Err(problem) = caller_id::check(id) {
                v.push(Violation::CallerId { problem });
            }
        }
        // Resolution leaves a withheld word unparsed so that this check names it.
        (None, Some(raw)) if caller_id::is_withheld(raw) => v.push(Violation::CallerId {
            problem: caller_id::CallerIdProblem::Withheld,
        }),
        (None, _) => v.push(Violation::CallerIdMissing),
    }
}

fn check_retries(c: &Campaign, v: &mut Vec<Violation>) {
    let guaranteed = AgentGuarantee::of(c.mode()) == AgentGuarantee::Guaranteed;
    let checks = [
        (
            CompletionCode::Nuisance,
            ABANDONED_LOCKOUT,
            RetryLockout::Abandoned,
            true,
        ),
        (
            CompletionCode::AnsweredMachine,
            MACHINE_LOCKOUT,
            RetryLockout::Machine,
            !guaranteed,
        ),
    ];
    for (code, lockout_for, lockout, applies) in checks {
        let rule = c.retry().rule(code);
        // `max_attempts = 1` makes the code final: no retry, no redial.
        if applies && rule.max_attempts > 1 && rule.delay < lockout_for {
            v.push(Violation::RetryInsideLockout {
                lockout,
                delay_s: rule.delay.as_secs(),
            });
        }
    }
}

fn mode_name(mode: PacingPolicy) -> &'static str {
    match mode {
        PacingPolicy::Preview => "preview",
        PacingPolicy::Progressive { .. } => "progressive",
        PacingPolicy::Predictive { .. } => "predictive",
        PacingPolicy::Agentless { .. } => "agentless",
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn hm((h, m): (u32, u32)) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}
