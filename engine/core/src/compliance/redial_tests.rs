//! Lock-outs at fixed instants: 72 h after an abandoned call, 24 h after a machine, three
//! attempts in any rolling 24 h in Florida, Oklahoma and Maryland.

use chrono::{TimeZone, Utc};

use super::*;
use crate::contacts::region::UsState;

const H: u64 = 3_600_000;
const MIN: u64 = 60_000;

/// 2024-05-01 12:00 UTC.
fn t0() -> UnixMs {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0)
        .unwrap()
        .timestamp_millis() as u64
}

fn florida() -> Option<DailyCap> {
    Some(DailyCap {
        state: UsState::Fl,
        attempts: 3,
    })
}

/// A number dialled at `t0 + offset` and ended a minute later with `code`.
fn history(calls: &[(u64, CompletionCode)]) -> NumberHistory {
    let mut h = NumberHistory::new();
    for &(offset, code) in calls {
        h.record_dial(t0() + offset);
        h.record_end(t0() + offset + MIN, code);
    }
    h
}

use AgentGuarantee::{Guaranteed, NotGuaranteed};

#[test]
fn seventy_two_hours_after_an_abandoned_call() {
    let h = history(&[(0, CompletionCode::Nuisance)]);
    let ended = t0() + MIN;
    let lock = Lockout {
        until: ended + 72 * H,
        rule: RedialRule::AfterAbandoned,
    };
    assert_eq!(
        may_redial(&h, None, NotGuaranteed, ended + 24 * H),
        Err(lock)
    );
    assert_eq!(
        may_redial(&h, None, NotGuaranteed, ended + 72 * H - 1),
        Err(lock)
    );
    assert_eq!(may_redial(&h, None, NotGuaranteed, ended + 72 * H), Ok(()));
    // A guaranteed agent does not lift it.
    assert_eq!(may_redial(&h, None, Guaranteed, ended + 48 * H), Err(lock));
}

#[test]
fn twenty_four_hours_after_a_machine_unless_an_agent_is_guaranteed() {
    let h = history(&[(0, CompletionCode::AnsweredMachine)]);
    let ended = t0() + MIN;
    assert_eq!(
        may_redial(&h, None, NotGuaranteed, ended + 23 * H),
        Err(Lockout {
            until: ended + 24 * H,
            rule: RedialRule::AfterMachine
        })
    );
    assert_eq!(may_redial(&h, None, NotGuaranteed, ended + 24 * H), Ok(()));
    assert_eq!(may_redial(&h, None, Guaranteed, ended + MIN), Ok(()));
}

#[test]
fn three_attempts_per_rolling_day_where_the_law_caps_them() {
    let h = history(&[
        (0, CompletionCode::NoAnswer),
        (H, CompletionCode::Busy),
        (2 * H, CompletionCode::NoAnswer),
    ]);
    let cap = RedialRule::DailyCap(DailyCap {
        state: UsState::Fl,
        attempts: 3,
    });
    assert_eq!(
        may_redial(&h, florida(), NotGuaranteed, t0() + 3 * H),
        Err(Lockout {
            until: t0() + 24 * H,
            rule: cap
        })
    );
    // The first attempt leaves the window at t0 + 24 h: two remain, a third is allowed.
    assert_eq!(
        may_redial(&h, florida(), NotGuaranteed, t0() + 24 * H),
        Ok(())
    );
    // No cap in New York.
    assert_eq!(may_redial(&h, None, NotGuaranteed, t0() + 3 * H), Ok(()));
    // Two attempts are under the cap.
    let two = history(&[(0, CompletionCode::Busy), (H, CompletionCode::Busy)]);
    assert_eq!(
        may_redial(&two, florida(), NotGuaranteed, t0() + 2 * H),
        Ok(())
    );
}

#[test]
fn an_attempt_in_flight_counts_towards_the_cap() {
    let mut h = history(&[(0, CompletionCode::Busy), (H, CompletionCode::Busy)]);
    h.record_dial(t0() + 2 * H);
    assert!(may_redial(&h, florida(), NotGuaranteed, t0() + 2 * H + MIN).is_err());
}

#[test]
fn the_lockout_that_ends_last_is_reported() {
    // Three attempts by 02:00, the last abandoned: the cap frees at t0 + 24 h, the abandoned
    // lock-out at t0 + 2 h + 1 min + 72 h.
    let h = history(&[
        (0, CompletionCode::NoAnswer),
        (H, CompletionCode::Busy),
        (2 * H, CompletionCode::Nuisance),
    ]);
    assert_eq!(
        may_redial(&h, florida(), NotGuaranteed, t0() + 3 * H),
        Err(Lockout {
            until: t0() + 2 * H + MIN + 72 * H,
            rule: RedialRule::AfterAbandoned
        })
    );
}

#[test]
fn the_history_is_bounded_and_keeps_its_lockouts() {
    let mut h = NumberHistory::new();
    h.record_dial(t0());
    h.record_end(t0() + MIN, CompletionCode::Nuisance);
    for i in 1..=100 {
        h.record_dial(t0() + i * 10 * MIN);
        h.record_end(t0() + i * 10 * MIN + MIN, CompletionCode::Busy);
    }
    assert_eq!(h.attempts().len(), KEEP_ATTEMPTS);
    assert_eq!(h.last_abandoned(), Some(t0() + MIN));
    assert!(may_redial(&h, None, NotGuaranteed, t0() + 71 * H).is_err());
}

#[test]
fn out_of_order_records_never_shorten_a_lockout() {
    let mut h = NumberHistory::new();
    h.record_end(t0() + 5 * H, CompletionCode::Nuisance);
    h.record_end(t0(), CompletionCode::Nuisance);
    assert_eq!(h.last_abandoned(), Some(t0() + 5 * H));
    h.record_dial(t0() + 9 * H);
    h.record_dial(t0() + 7 * H);
    let ats: Vec<UnixMs> = h.attempts().iter().map(|a| a.at).collect();
    assert_eq!(ats, [t0(), t0() + 5 * H, t0() + 7 * H, t0() + 9 * H]);
    // The outcome goes to the latest attempt still in flight.
    h.record_end(t0() + 9 * H + MIN, CompletionCode::AnsweredMachine);
    assert_eq!(h.attempts()[3].code, Some(CompletionCode::AnsweredMachine));
    assert_eq!(h.attempts()[2].code, None);
}

#[test]
fn what_each_mode_guarantees() {
    assert_eq!(AgentGuarantee::of(PacingPolicy::Preview), Guaranteed);
    assert_eq!(
        AgentGuarantee::of(PacingPolicy::Progressive {
            lines_per_agent: 1.0
        }),
        Guaranteed
    );
    assert_eq!(
        AgentGuarantee::of(PacingPolicy::Progressive {
            lines_per_agent: 1.5
        }),
        NotGuaranteed
    );
    assert_eq!(
        AgentGuarantee::of(PacingPolicy::Predictive {
            lines_per_agent: 1.0,
            nuisance_cap: 0.03
        }),
        NotGuaranteed
    );
    assert_eq!(
        AgentGuarantee::of(PacingPolicy::Agentless {
            max_concurrent: Some(1),
            rate_cps: None
        }),
        NotGuaranteed
    );
}

#[test]
fn far_instants_saturate() {
    let mut h = NumberHistory::new();
    h.record_dial(u64::MAX);
    h.record_end(u64::MAX, CompletionCode::Nuisance);
    assert_eq!(
        may_redial(&h, florida(), NotGuaranteed, u64::MAX - 1),
        Err(Lockout {
            until: u64::MAX,
            rule: RedialRule::AfterAbandoned
        })
    );
    assert!(RedialRule::AfterAbandoned.source().contains("Ofcom"));
}
