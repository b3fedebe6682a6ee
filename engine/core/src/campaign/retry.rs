//! Retries: the rule of every completion code ([`RetryTable`]), and what becomes of a contact
//! when an attempt ends: final, or ready again after its code's delay, moved to the next
//! opening of its calling hours.

use std::time::Duration;

use crate::campaign::Campaign;
use crate::domain::{CompletionCode, Contact, ContactState, RetryRule, UnixMs};

/// The retry rule of every completion code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryTable {
    // Indexed by `CompletionCode as usize`, the order of `CompletionCode::ALL`.
    rules: [RetryRule; CompletionCode::ALL.len()],
}

const FINAL: RetryRule = RetryRule {
    delay: Duration::ZERO,
    max_attempts: 1,
};

const fn minutes(m: u64, max_attempts: u32) -> RetryRule {
    RetryRule {
        delay: Duration::from_secs(m * 60),
        max_attempts,
    }
}

impl Default for RetryTable {
    /// busy 5 min ×3, no-answer 30 min ×3, network-failure 2 min ×5, timeout 2 min ×3,
    /// no-media-resource 1 min ×10, recovered-after-failover 1 min ×3, nuisance 72 h ×2
    /// (regulators allow calling back an abandoned contact, once its 72 h lock-out is over);
    /// every other code is final.
    fn default() -> Self {
        let mut table = Self {
            rules: [FINAL; CompletionCode::ALL.len()],
        };
        table.set(CompletionCode::Busy, minutes(5, 3));
        table.set(CompletionCode::NoAnswer, minutes(30, 3));
        table.set(CompletionCode::NetworkFailure, minutes(2, 5));
        table.set(CompletionCode::Timeout, minutes(2, 3));
        table.set(CompletionCode::NoMediaResource, minutes(1, 10));
        table.set(CompletionCode::RecoveredAfterFailover, minutes(1, 3));
        table.set(CompletionCode::Nuisance, minutes(72 * 60, 2));
        table
    }
}

impl RetryTable {
    pub fn rule(&self, code: CompletionCode) -> RetryRule {
        self.rules[code as usize]
    }

    pub(super) fn set(&mut self, code: CompletionCode, rule: RetryRule) {
        self.rules[code as usize] = rule;
    }
}

/// The contact's next state after an attempt ended with `code` at `now`.
///
/// `contact.attempts` counts the attempt that just ended. The contact is retried while it has
/// had fewer attempts than the code's `max_attempts`, no sooner than the code's delay and
/// never in closed hours: a retry that would fall outside the calling hours of the contact's
/// zone (the campaign's default zone when it has none or an unknown one) waits for the next
/// opening.
pub fn decide(
    campaign: &Campaign,
    contact: &Contact,
    code: CompletionCode,
    now: UnixMs,
) -> ContactState {
    let rule = campaign.retry().rule(code);
    if contact.attempts >= rule.max_attempts {
        return ContactState::Final { code };
    }
    let delay_ms = u64::try_from(rule.delay.as_millis()).unwrap_or(u64::MAX);
    let due = now.saturating_add(delay_ms);
    let hours = campaign.calling_hours();
    let tz = hours.zone_for(contact.tz.as_deref());
    ContactState::Ready {
        not_before: hours.next_open(tz, due),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::campaign::CampaignSpec;
    use crate::domain::{ContactId, JobId};

    const MIN: u64 = 60_000;

    fn campaign(extra: &str) -> Campaign {
        let text = format!(
            "name = \"t\"\nmode = \"progressive\"\ncaller_id = \"+14155550123\"\nabandon_message = \"abandon.wav\"\n{extra}\n[calling_hours]\nstart = \"09:00\"\nend = \"21:00\"\n"
        );
        CampaignSpec::from_toml(&text).unwrap().resolve().unwrap()
    }

    fn contact(attempts: u32, tz: Option<&str>) -> Contact {
        Contact {
            id: ContactId(1),
            job: JobId(1),
            phone: "+15551234567".into(),
            tz: tz.map(str::to_owned),
            fields: BTreeMap::new(),
            attempts,
            state: ContactState::InFlight {
                attempt: crate::domain::AttemptId(9),
            },
            last_code: None,
        }
    }

    /// 2024-05-01 at `h:m` UTC.
    fn at(h: u32, m: u32) -> UnixMs {
        Utc.with_ymd_and_hms(2024, 5, 1, h, m, 0)
            .unwrap()
            .timestamp_millis() as u64
    }

    #[test]
    fn busy_retries_after_five_minutes_up_to_three_attempts() {
        let c = campaign("");
        let now = at(12, 0);
        for attempts in 1..=2 {
            assert_eq!(
                decide(&c, &contact(attempts, None), CompletionCode::Busy, now),
                ContactState::Ready {
                    not_before: now + 5 * MIN
                }
            );
        }
        assert_eq!(
            decide(&c, &contact(3, None), CompletionCode::Busy, now),
            ContactState::Final {
                code: CompletionCode::Busy
            }
        );
    }

    #[test]
    fn default_rules_per_code() {
        let c = campaign("");
        let now = at(12, 0);
        let cases = [
            (CompletionCode::NoAnswer, 30, 3),
            (CompletionCode::NetworkFailure, 2, 5),
            (CompletionCode::Timeout, 2, 3),
            (CompletionCode::NoMediaResource, 1, 10),
            (CompletionCode::RecoveredAfterFailover, 1, 3),
            (CompletionCode::Nuisance, 72 * 60, 2),
        ];
        for (code, delay_min, max) in cases {
            assert_eq!(
                decide(&c, &contact(max - 1, None), code, now),
                ContactState::Ready {
                    not_before: now + delay_min * MIN
                },
                "{code}"
            );
            assert_eq!(
                decide(&c, &contact(max, None), code, now),
                ContactState::Final { code },
                "{code}"
            );
        }
    }

    #[test]
    fn final_codes_are_final_on_the_first_attempt() {
        let c = campaign("");
        for code in [
            CompletionCode::AnsweredHuman,
            CompletionCode::AnsweredMachine,
            CompletionCode::Declined,
            CompletionCode::InvalidNumber,
            CompletionCode::Blocked,
            CompletionCode::DesktopError,
        ] {
            assert_eq!(
                decide(&c, &contact(1, None), code, at(12, 0)),
                ContactState::Final { code }
            );
        }
    }

    #[test]
    fn overrides_replace_the_default() {
        let c = campaign("[retry.busy]\ndelay_s = 10\nmax_attempts = 5\n[retry.answered-machine]\ndelay_s = 3600\nmax_attempts = 2\n");
        let now = at(12, 0);
        assert_eq!(
            decide(&c, &contact(4, None), CompletionCode::Busy, now),
            ContactState::Ready {
                not_before: now + 10_000
            }
        );
        assert_eq!(
            decide(&c, &contact(1, None), CompletionCode::AnsweredMachine, now),
            ContactState::Ready {
                not_before: now + 60 * MIN
            }
        );
    }

    #[test]
    fn a_retry_into_closed_hours_waits_for_the_opening() {
        let c = campaign("");
        // Busy at 20:58 UTC: due 21:03, closed; next opening 09:00 the next day.
        assert_eq!(
            decide(&c, &contact(1, None), CompletionCode::Busy, at(20, 58)),
            ContactState::Ready {
                not_before: at(9, 0) + 24 * 60 * MIN
            }
        );
        // In the contact's zone: 12:00 UTC is 08:00 EDT, due 08:05 EDT, opens 09:00 EDT.
        assert_eq!(
            decide(
                &c,
                &contact(1, Some("America/New_York")),
                CompletionCode::Busy,
                at(12, 0)
            ),
            ContactState::Ready {
                not_before: at(13, 0)
            }
        );
        // An unknown zone uses the default (UTC), where 12:05 is open.
        assert_eq!(
            decide(
                &c,
                &contact(1, Some("Nowhere/Atlantis")),
                CompletionCode::Busy,
                at(12, 0)
            ),
            ContactState::Ready {
                not_before: at(12, 5)
            }
        );
    }

    #[test]
    fn attempts_past_the_maximum_stay_final() {
        let c = campaign("");
        assert_eq!(
            decide(&c, &contact(99, None), CompletionCode::NoAnswer, at(12, 0)),
            ContactState::Final {
                code: CompletionCode::NoAnswer
            }
        );
        // A far-future `now` saturates instead of overflowing.
        assert!(matches!(
            decide(&c, &contact(1, None), CompletionCode::Busy, u64::MAX),
            ContactState::Ready { .. }
        ));
    }

    #[test]
    fn code_discriminants_follow_all() {
        for (i, c) in CompletionCode::ALL.into_iter().enumerate() {
            assert_eq!(c as usize, i, "{c}");
        }
    }

    #[test]
    fn default_retry_rules() {
        let t = RetryTable::default();
        assert_eq!(t.rule(CompletionCode::Busy), minutes(5, 3));
        assert_eq!(t.rule(CompletionCode::NoMediaResource), minutes(1, 10));
        assert_eq!(t.rule(CompletionCode::Nuisance), minutes(72 * 60, 2));
        for c in [
            CompletionCode::AnsweredHuman,
            CompletionCode::AnsweredMachine,
            CompletionCode::Declined,
            CompletionCode::InvalidNumber,
            CompletionCode::Blocked,
            CompletionCode::DesktopError,
        ] {
            assert_eq!(t.rule(c).max_attempts, 1, "{c} is final");
        }
    }
}
