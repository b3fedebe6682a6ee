//! The question a prefetcher asks of each contact: may this number be dialled now, and if not,
//! until when, and by which rule. One pure function of the campaign's rules, the callee, the
//! number's history and `now`.

use crate::campaign::hours::CallingHours;
use crate::compliance::hours::{Callee, CallingWindow};
use crate::compliance::jurisdiction::HoursRule;
use crate::compliance::redial::{self, AgentGuarantee, NumberHistory, RedialRule};
use crate::compliance::test_ranges::TestRanges;
use crate::domain::UnixMs;
use crate::pacing::PacingPolicy;

/// The rules every dial of one campaign obeys. Built by the campaign's resolution
/// ([`crate::campaign::Campaign::dial_rules`]).
#[derive(Debug, Clone, PartialEq)]
pub struct DialRules {
    hours: CallingHours,
    guarantee: AgentGuarantee,
    /// `Some` for a load test: only these numbers, and no rule of law.
    test_ranges: Option<TestRanges>,
}

/// Whether a number may be dialled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialVerdict {
    Allowed,
    /// Not before `at`; `rule` is the one still in force just before `at`.
    NotBefore {
        at: UnixMs,
        rule: Rule,
    },
    /// Not under this campaign, ever.
    Never {
        rule: Rule,
    },
}

/// The rule behind a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    Hours(HoursRule),
    Redial(RedialRule),
    /// A load test's number outside its declared test ranges.
    OutsideTestRanges,
}

impl Rule {
    /// A stable name for reports (`us-state-hours`, `redial-after-abandoned`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Hours(r) => r.code(),
            Self::Redial(r) => r.code(),
            Self::OutsideTestRanges => "outside-test-ranges",
        }
    }

    /// The law or setting the rule comes from, by title.
    pub fn source(self) -> &'static str {
        match self {
            Self::Hours(r) => r.source(),
            Self::Redial(r) => r.source(),
            Self::OutsideTestRanges => "the load test's test_ranges",
        }
    }
}

impl DialRules {
    /// The rules of a campaign with `hours`, dialing in `mode`; `test_ranges` for a load test.
    pub fn new(hours: CallingHours, mode: PacingPolicy, test_ranges: Option<TestRanges>) -> Self {
        Self {
            hours,
            guarantee: AgentGuarantee::of(mode),
            test_ranges,
        }
    }

    /// Whether the rules of law are lifted (a load test within its ranges).
    pub fn is_load_test(&self) -> bool {
        self.test_ranges.is_some()
    }

    pub fn guarantee(&self) -> AgentGuarantee {
        self.guarantee
    }

    /// The calling hours of `callee` under these rules: the campaign's and the law's, or the
    /// campaign's alone for a load test.
    pub fn window<'a>(&'a self, callee: &Callee<'_>) -> CallingWindow<'a> {
        if self.is_load_test() {
            CallingWindow::campaign_only(&self.hours, callee)
        } else {
            CallingWindow::new(&self.hours, callee)
        }
    }

    /// May `callee`, whose number has `history`, be dialled at `now`?
    ///
    /// The instant of a `NotBefore` satisfies every rule at once: the lock-outs end at fixed
    /// instants, and the calling hours are searched from the last of them.
    pub fn check(&self, callee: &Callee<'_>, history: &NumberHistory, now: UnixMs) -> DialVerdict {
        let window = self.window(callee);
        let lockout = match &self.test_ranges {
            Some(ranges) if !ranges.contains(callee.number()) => {
                return DialVerdict::Never {
                    rule: Rule::OutsideTestRanges,
                };
            }
            Some(_) => None,
            None => {
                let cap = callee.jurisdiction().daily_cap();
                redial::may_redial(history, cap, self.guarantee, now).err()
            }
        };
        let from = lockout.map_or(now, |l| l.until);
        let closed_rule = |t| window.is_open(t).err().map(|c| Rule::Hours(c.rule));
        match window.next_open(from) {
            Some(at) if at == now => DialVerdict::Allowed,
            Some(at) => {
                let rule = match lockout {
                    // The hours open when the lock-out ends: the lock-out is what holds.
                    Some(l) if at == l.until => Rule::Redial(l.rule),
                    _ => closed_rule(at.saturating_sub(1))
                        .unwrap_or(Rule::Hours(HoursRule::Campaign)),
                };
                DialVerdict::NotBefore { at, rule }
            }
            None => DialVerdict::Never {
                rule: closed_rule(from).unwrap_or(Rule::Hours(HoursRule::Campaign)),
            },
        }
    }
}

#[cfg(test)]
#[path = "dial_tests.rs"]
mod tests;
