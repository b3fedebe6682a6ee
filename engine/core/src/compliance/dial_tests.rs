//! The per-number verdict at fixed instants: hours and lock-outs together, load tests.

use chrono::{TimeZone, Utc};

use super::*;
use crate::campaign::{Campaign, CampaignSpec};
use crate::compliance::jurisdiction;
use crate::compliance::redial::RedialRule;
use crate::contacts::region::UsState;
use crate::domain::CompletionCode;

const H: u64 = 3_600_000;

fn ms(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> UnixMs {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .unwrap()
        .timestamp_millis() as u64
}

/// A compliant predictive campaign, weekdays 09:00-21:00, with `extra` keys.
fn campaign(extra: &str) -> Campaign {
    let text = format!(
        "name = \"t\"\nmode = \"predictive\"\ncaller_id = \"+14155550123\"\nabandon_message = \"a.wav\"\n{extra}\n[calling_hours]\nstart = \"09:00\"\nend = \"21:00\"\ndays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]\ndefault_tz = \"America/New_York\"\n"
    );
    CampaignSpec::from_toml(&text).unwrap().resolve().unwrap()
}

fn abandoned_at(ended: UnixMs) -> NumberHistory {
    let mut h = NumberHistory::new();
    h.record_dial(ended - 60_000);
    h.record_end(ended, CompletionCode::Nuisance);
    h
}

const NEW_YORK: &str = "+12125550100";
const MIAMI: &str = "+13055550100";

#[test]
fn open_and_unlocked_is_allowed() {
    let c = campaign("");
    // Wednesday 2024-05-01 12:00 EDT.
    let verdict = c.dial_rules().check(
        &Callee::new(NEW_YORK),
        &NumberHistory::new(),
        ms(2024, 5, 1, 16, 0),
    );
    assert_eq!(verdict, DialVerdict::Allowed);
    assert!(!c.dial_rules().is_load_test());
}

#[test]
fn closed_hours_give_the_next_opening_and_the_rule() {
    let c = campaign("");
    // Wednesday 2024-05-01 20:30 EDT in Miami: Florida closed at 20:00; Thursday 09:00 EDT is
    // the campaign's opening (Florida opens at 08:00).
    let verdict = c.dial_rules().check(
        &Callee::new(MIAMI),
        &NumberHistory::new(),
        ms(2024, 5, 2, 0, 30),
    );
    assert_eq!(
        verdict,
        DialVerdict::NotBefore {
            at: ms(2024, 5, 2, 13, 0),
            rule: Rule::Hours(HoursRule::Campaign)
        }
    );
    // 07:30 EDT: Florida opens at 08:00 but the campaign at 09:00.
    let verdict = c.dial_rules().check(
        &Callee::new(MIAMI),
        &NumberHistory::new(),
        ms(2024, 5, 2, 11, 30),
    );
    assert_eq!(
        verdict,
        DialVerdict::NotBefore {
            at: ms(2024, 5, 2, 13, 0),
            rule: Rule::Hours(HoursRule::Campaign)
        }
    );
}

#[test]
fn a_lockout_ending_in_open_hours_is_the_rule() {
    let c = campaign("");
    // Abandoned Wednesday 2024-05-01 14:00 EDT: locked until Saturday 14:00 EDT, when the
    // weekday campaign is closed: Monday 09:00 EDT, held by the campaign's hours.
    let ended = ms(2024, 5, 1, 18, 0);
    let verdict = c
        .dial_rules()
        .check(&Callee::new(NEW_YORK), &abandoned_at(ended), ended + H);
    assert_eq!(
        verdict,
        DialVerdict::NotBefore {
            at: ms(2024, 5, 6, 13, 0),
            rule: Rule::Hours(HoursRule::Campaign)
        }
    );
    // Abandoned Monday 2024-05-06 14:00 EDT: Thursday 14:00 EDT is open, so the lock-out is
    // what holds the number until then.
    let ended = ms(2024, 5, 6, 18, 0);
    let verdict = c
        .dial_rules()
        .check(&Callee::new(NEW_YORK), &abandoned_at(ended), ended + H);
    assert_eq!(
        verdict,
        DialVerdict::NotBefore {
            at: ended + 72 * H,
            rule: Rule::Redial(RedialRule::AfterAbandoned)
        }
    );
}

#[test]
fn florida_caps_attempts_through_the_dial_rules() {
    let c = campaign("");
    let mut h = NumberHistory::new();
    // Monday 2024-05-06 10:00, 11:00, 12:00 EDT: no answer.
    for hour in [14, 15, 16] {
        h.record_dial(ms(2024, 5, 6, hour, 0));
        h.record_end(ms(2024, 5, 6, hour, 0) + 30_000, CompletionCode::NoAnswer);
    }
    let now = ms(2024, 5, 6, 17, 0);
    assert_eq!(
        c.dial_rules().check(&Callee::new(MIAMI), &h, now),
        DialVerdict::NotBefore {
            at: ms(2024, 5, 7, 14, 0),
            rule: Rule::Redial(RedialRule::DailyCap(jurisdiction::DailyCap {
                state: UsState::Fl,
                attempts: 3
            }))
        }
    );
    assert_eq!(
        c.dial_rules().check(&Callee::new(NEW_YORK), &h, now),
        DialVerdict::Allowed,
        "New York sets no cap"
    );
}

#[test]
fn no_joint_opening_is_never() {
    let text = "name = \"t\"\nmode = \"preview\"\ncaller_id = \"+14155550123\"\n[calling_hours]\nstart = \"10:00\"\nend = \"16:00\"\ndays = [\"sun\"]\n";
    let c = CampaignSpec::from_toml(text).unwrap().resolve().unwrap();
    // Sunday 2024-05-05 noon CDT in Birmingham, Alabama: no Sunday calls there, and the
    // campaign only calls on Sundays.
    let verdict = c.dial_rules().check(
        &Callee::new("+12055550100"),
        &NumberHistory::new(),
        ms(2024, 5, 5, 17, 0),
    );
    assert_eq!(
        verdict,
        DialVerdict::Never {
            rule: Rule::Hours(HoursRule::UsState(UsState::Al))
        }
    );
}

#[test]
fn a_load_test_dials_its_ranges_only_and_at_any_hour() {
    let text = "name = \"t\"\nmode = \"predictive\"\nload_test = true\ntest_ranges = [\"+1555\", \"+1212555\"]\n[calling_hours]\nstart = \"00:00\"\nend = \"00:00\"\n";
    let c = CampaignSpec::from_toml(text).unwrap().resolve().unwrap();
    let rules = c.dial_rules();
    assert!(rules.is_load_test());
    // 03:00 EDT, an abandoned call an hour ago: the law is lifted inside the ranges.
    let now = ms(2024, 5, 1, 7, 0);
    let h = abandoned_at(now - H);
    assert_eq!(
        rules.check(&Callee::new("+12125550100"), &h, now),
        DialVerdict::Allowed
    );
    assert_eq!(
        rules.check(&Callee::new("+15551234567"), &h, now),
        DialVerdict::Allowed
    );
    let outside = rules.check(&Callee::new("+12125560100"), &NumberHistory::new(), now);
    assert_eq!(
        outside,
        DialVerdict::Never {
            rule: Rule::OutsideTestRanges
        }
    );
    assert_eq!(Rule::OutsideTestRanges.code(), "outside-test-ranges");
}

#[test]
fn rules_have_codes_and_sources() {
    let state = Rule::Hours(HoursRule::UsState(UsState::Md));
    assert_eq!(state.code(), "us-state-hours");
    assert!(state.source().contains("Maryland Stop the Spam Calls Act"));
    assert_eq!(
        Rule::Redial(RedialRule::AfterMachine).code(),
        "redial-after-machine"
    );
}

#[test]
fn a_not_before_instant_is_allowed_when_it_comes() {
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};
    // Seeded: numbers across the states with rules, histories with abandoned calls, machines
    // and capped runs, instants across two years and their DST changes. Whatever the verdict
    // names, dialling at that instant must then be allowed.
    let campaigns = [
        campaign(""),
        campaign("lines_per_agent = 1.0\n"),
        CampaignSpec::from_toml(
            "name = \"p\"\nmode = \"preview\"\ncaller_id = \"+14155550123\"\ncalling_hours = { start = \"08:00\", end = \"21:00\", days = [\"sat\", \"sun\"] }\n",
        )
        .unwrap()
        .resolve()
        .unwrap(),
    ];
    let numbers = [
        NEW_YORK,
        MIAMI,
        "+18505550100",
        "+12075550100",
        "+12055550100",
        "+14015550100",
        "+16055550100",
        "+12145550100",
        "+14105550100",
        "+14055550100",
        "+14165550100",
        "+442079460958",
        "+33123456789",
        "+15555550100",
        "",
    ];
    let codes = [
        CompletionCode::Nuisance,
        CompletionCode::AnsweredMachine,
        CompletionCode::NoAnswer,
        CompletionCode::Busy,
    ];
    let start = ms(2024, 1, 1, 0, 0);
    let mut rng = SmallRng::seed_from_u64(0x000c_0de5);
    for _ in 0..3_000 {
        let c = &campaigns[rng.gen_range(0..campaigns.len())];
        let callee = Callee::new(numbers[rng.gen_range(0..numbers.len())]);
        let now = start + rng.gen_range(0..730 * 24 * H);
        let mut h = NumberHistory::new();
        for _ in 0..rng.gen_range(0..5) {
            let at = now.saturating_sub(rng.gen_range(0..96 * H));
            h.record_dial(at);
            h.record_end(at + 60_000, codes[rng.gen_range(0..codes.len())]);
        }
        match c.dial_rules().check(&callee, &h, now) {
            DialVerdict::Allowed => {
                // Checked against the two parts on their own.
                assert_eq!(c.dial_rules().window(&callee).is_open(now), Ok(()));
                let cap = callee.jurisdiction().daily_cap();
                let guarantee = c.dial_rules().guarantee();
                assert_eq!(redial::may_redial(&h, cap, guarantee, now), Ok(()));
            }
            DialVerdict::NotBefore { at, rule } => {
                assert!(at > now, "{rule:?}");
                assert_ne!(
                    c.dial_rules().check(&callee, &h, at - 1),
                    DialVerdict::Allowed,
                    "{rule:?}: the earliest instant"
                );
                assert_eq!(
                    c.dial_rules().check(&callee, &h, at),
                    DialVerdict::Allowed,
                    "{} at {now}: {rule:?} until {at}",
                    callee.number()
                );
            }
            DialVerdict::Never { rule } => {
                assert!(matches!(rule, Rule::Hours(_)), "{rule:?}");
            }
        }
    }
}
