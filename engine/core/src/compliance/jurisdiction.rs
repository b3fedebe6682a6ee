//! Whose calling rules apply to a callee, and what those rules say: the lawful calling windows
//! (local time, by weekday) and the per-number attempt caps, each with the law it comes from.
//!
//! The tables hold the rules a dialer must follow for every call it places. Where a state's
//! rule is narrower only for some callers (charities, prior consent, an existing business
//! relationship), the narrower rule is kept: outdial does not know why a campaign calls.
//! Holidays are not modelled (Alabama, Louisiana, Mississippi, Rhode Island and Utah also ban
//! calls on their legal holidays).

use chrono::NaiveTime;
use chrono_tz::Tz;

use crate::campaign::hours::{CallingHours, DaySet};
use crate::contacts::region::{Region, UsState};

/// The body of rules that governs a call, from where the callee is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Jurisdiction {
    /// The US federal rules and the state's own.
    UsState(UsState),
    /// The US federal rules alone: a North American number with no state (toll-free, or an
    /// area code outside the tables).
    UsFederal,
    Canada,
    UnitedKingdom,
    /// Anywhere else: no rule is known here, so the widest window any known rule allows.
    Elsewhere,
}

impl Jurisdiction {
    /// The jurisdiction of a callee in `region`; `nanp` says the number starts `+1`.
    pub fn of(region: Option<Region>, nanp: bool) -> Self {
        match region {
            Some(Region::Us(state)) => Self::UsState(state),
            Some(Region::UsNonGeographic) => Self::UsFederal,
            Some(Region::Canada) => Self::Canada,
            Some(Region::UnitedKingdom) => Self::UnitedKingdom,
            None if nanp => Self::UsFederal,
            None => Self::Elsewhere,
        }
    }

    /// The national rule of the callee's country.
    pub fn national_hours(self) -> HoursRule {
        match self {
            Self::UsState(_) | Self::UsFederal => HoursRule::UsFederal,
            Self::Canada => HoursRule::Canada,
            Self::UnitedKingdom => HoursRule::UnitedKingdom,
            Self::Elsewhere => HoursRule::Elsewhere,
        }
    }

    /// The state's own rule, where it is narrower than the federal one.
    pub fn state_hours(self) -> Option<HoursRule> {
        match self {
            Self::UsState(s) => state_windows(s).map(|_| HoursRule::UsState(s)),
            _ => None,
        }
    }

    /// The most attempts the law allows to one number in any rolling 24 hours.
    pub fn daily_cap(self) -> Option<DailyCap> {
        // Florida Telemarketing Act s. 501.616(6)(b) (as amended by SB 1120, 2021);
        // Oklahoma Telephone Solicitation Act of 2022 (15 O.S. 775C.4);
        // Maryland Stop the Spam Calls Act of 2023: at most three calls per 24 hours.
        match self {
            Self::UsState(state @ (UsState::Fl | UsState::Ok | UsState::Md)) => {
                Some(DailyCap { state, attempts: 3 })
            }
            _ => None,
        }
    }
}

/// A per-number attempt cap over any rolling 24 hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DailyCap {
    pub state: UsState,
    pub attempts: u32,
}

/// One rule of calling hours: the campaign's own, or a law's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HoursRule {
    /// The campaign's configured `calling_hours` (which may only narrow the law's).
    Campaign,
    UsFederal,
    UsState(UsState),
    Canada,
    UnitedKingdom,
    Elsewhere,
}

impl HoursRule {
    /// A stable name for reports and the API.
    pub fn code(self) -> &'static str {
        match self {
            Self::Campaign => "campaign-hours",
            Self::UsFederal => "us-federal-hours",
            Self::UsState(_) => "us-state-hours",
            Self::Canada => "canada-hours",
            Self::UnitedKingdom => "uk-hours",
            Self::Elsewhere => "default-hours",
        }
    }

    /// Where the rule comes from, by title.
    pub fn source(self) -> &'static str {
        match self {
            Self::Campaign => "the campaign's calling_hours",
            Self::UsFederal => {
                "FTC Telemarketing Sales Rule (16 CFR 310.4(c)); FCC TCPA rules (47 CFR 64.1200(c)(1))"
            }
            Self::UsState(s) => state_windows(s).map_or("", |(_, source)| source),
            Self::Canada => "CRTC Unsolicited Telecommunications Rules, Part II (Telemarketing Rules)",
            Self::UnitedKingdom => {
                "no statutory hours; Ofcom expects calls at reasonable times: 08:00-21:00 is outdial's reading"
            }
            Self::Elsewhere => "no rule known for the country: the widest window of the known rules",
        }
    }

    /// The windows of a law, as calling hours in `tz`; a callee may be called inside any of
    /// them. None for [`HoursRule::Campaign`], whose windows are the campaign's own.
    pub(crate) fn windows(self, tz: Tz) -> impl Iterator<Item = CallingHours> {
        let table: &'static [Window] = match self {
            Self::Campaign => &[],
            Self::UsFederal | Self::UnitedKingdom | Self::Elsewhere => WIDEST,
            Self::UsState(s) => state_windows(s).map_or(&[][..], |(w, _)| w),
            Self::Canada => CANADA,
        };
        table.iter().filter_map(move |w| w.hours(tz))
    }
}

/// Local `start..end` (same day) on the days of `days` (bit 0 Monday ... bit 6 Sunday).
#[derive(Debug, Clone, Copy)]
struct Window {
    days: u8,
    start: (u32, u32),
    end: (u32, u32),
}

impl Window {
    fn hours(&self, tz: Tz) -> Option<CallingHours> {
        let start = NaiveTime::from_hms_opt(self.start.0, self.start.1, 0)?;
        let end = NaiveTime::from_hms_opt(self.end.0, self.end.1, 0)?;
        CallingHours::new(start, end, DaySet::from_bits(self.days), tz)
    }
}

const WEEKDAYS: u8 = 0b001_1111;
const MON_SAT: u8 = 0b011_1111;
const SAT: u8 = 0b010_0000;
const SUN: u8 = 0b100_0000;
const SAT_SUN: u8 = SAT | SUN;
const EVERY_DAY: u8 = 0b111_1111;

const fn every_day(start: u32, end: u32) -> Window {
    Window {
        days: EVERY_DAY,
        start: (start, 0),
        end: (end, 0),
    }
}

/// 08:00-21:00 every day: the US federal window, and the widest any rule here allows.
pub const WIDEST_START: (u32, u32) = (8, 0);
pub const WIDEST_END: (u32, u32) = (21, 0);
const WIDEST: &[Window] = &[every_day(8, 21)];

const CANADA: &[Window] = &[
    Window {
        days: WEEKDAYS,
        start: (9, 0),
        end: (21, 30),
    },
    Window {
        days: SAT_SUN,
        start: (10, 0),
        end: (18, 0),
    },
];

const EIGHT_TO_EIGHT: &[Window] = &[every_day(8, 20)];
const EIGHT_TO_EIGHT_NO_SUNDAY: &[Window] = &[Window {
    days: MON_SAT,
    start: (8, 0),
    end: (20, 0),
}];

const CONNECTICUT: &[Window] = &[every_day(9, 20)];
const MAINE: &[Window] = &[Window {
    days: WEEKDAYS,
    start: (9, 0),
    end: (17, 0),
}];
const RHODE_ISLAND: &[Window] = &[
    Window {
        days: WEEKDAYS,
        start: (9, 0),
        end: (18, 0),
    },
    Window {
        days: SAT,
        start: (10, 0),
        end: (17, 0),
    },
];
const SOUTH_DAKOTA: &[Window] = &[Window {
    days: WEEKDAYS,
    start: (9, 0),
    end: (21, 0),
}];
const TEXAS: &[Window] = &[
    Window {
        days: MON_SAT,
        start: (9, 0),
        end: (21, 0),
    },
    Window {
        days: SUN,
        start: (12, 0),
        end: (21, 0),
    },
];

/// The states whose windows are narrower than the federal one, with the law's title.
fn state_windows(state: UsState) -> Option<(&'static [Window], &'static str)> {
    use UsState::*;
    Some(match state {
        Al => (
            EIGHT_TO_EIGHT_NO_SUNDAY,
            "Alabama Public Service Commission telephone solicitation rules: 08:00-20:00, no Sunday calls",
        ),
        Ct => (
            CONNECTICUT,
            "Connecticut Public Act 23-98 (SB 1058, 2023), Conn. Gen. Stat. 42-288a: 09:00-20:00",
        ),
        Fl => (
            EIGHT_TO_EIGHT,
            "Florida Telephone Solicitation Act / Florida Telemarketing Act s. 501.616(6) (SB 1120, 2021): 08:00-20:00",
        ),
        La => (
            EIGHT_TO_EIGHT_NO_SUNDAY,
            "Louisiana PSC General Order R-29617 and La. R.S. 45:811: 08:00-20:00, no Sunday calls",
        ),
        Ma => (
            EIGHT_TO_EIGHT,
            "Massachusetts telephone solicitation law (M.G.L. c. 159C): 08:00-20:00",
        ),
        Md => (
            EIGHT_TO_EIGHT,
            "Maryland Stop the Spam Calls Act of 2023: 08:00-20:00",
        ),
        Me => (
            MAINE,
            "Maine automated telephone solicitation law (10 M.R.S. 1498(3)): weekdays 09:00-17:00",
        ),
        Ms => (
            EIGHT_TO_EIGHT_NO_SUNDAY,
            "Mississippi Telephone Solicitation Act (Miss. Code 77-3-725): 08:00-20:00, no Sunday calls",
        ),
        Ok => (
            EIGHT_TO_EIGHT,
            "Oklahoma Telephone Solicitation Act of 2022 (15 O.S. 775C.4): 08:00-20:00",
        ),
        Ri => (
            RHODE_ISLAND,
            "Rhode Island Telephone Sales Solicitation Act (R.I. Gen. Laws 5-61-2, 5-61-3.6): weekdays 09:00-18:00, Saturday 10:00-17:00, no Sunday calls",
        ),
        Sd => (
            SOUTH_DAKOTA,
            "South Dakota automated dialing law (S.D. Codified Laws 37-30-28): weekdays 09:00-21:00",
        ),
        Tx => (
            TEXAS,
            "Texas Business and Commerce Code 301.051: 09:00-21:00, Sunday 12:00-21:00",
        ),
        Wa => (
            EIGHT_TO_EIGHT,
            "Washington telephone solicitation law (RCW 80.36.390): 08:00-20:00",
        ),
        // Not confirmed against the statute's text (Wyo. Stat. 40-12-301 et seq.); kept because
        // a narrower window only costs calling time.
        Wy => (
            EIGHT_TO_EIGHT,
            "Wyoming telephone solicitation law (Wyo. Stat. 40-12-301 et seq.): 08:00-20:00",
        ),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jurisdictions_from_regions() {
        assert_eq!(
            Jurisdiction::of(Some(Region::Us(UsState::Fl)), true),
            Jurisdiction::UsState(UsState::Fl)
        );
        assert_eq!(Jurisdiction::of(None, true), Jurisdiction::UsFederal);
        assert_eq!(
            Jurisdiction::of(Some(Region::UsNonGeographic), true),
            Jurisdiction::UsFederal
        );
        assert_eq!(Jurisdiction::of(None, false), Jurisdiction::Elsewhere);
        assert_eq!(
            Jurisdiction::of(Some(Region::UnitedKingdom), false),
            Jurisdiction::UnitedKingdom
        );
    }

    #[test]
    fn caps_only_where_the_law_sets_them() {
        for s in [UsState::Fl, UsState::Ok, UsState::Md] {
            assert_eq!(
                Jurisdiction::UsState(s).daily_cap(),
                Some(DailyCap {
                    state: s,
                    attempts: 3
                })
            );
        }
        assert_eq!(Jurisdiction::UsState(UsState::Ny).daily_cap(), None);
        assert_eq!(Jurisdiction::UnitedKingdom.daily_cap(), None);
    }

    #[test]
    fn every_state_rule_has_windows_and_a_source() {
        for &s in UsState::ALL {
            if let Some(rule) = Jurisdiction::UsState(s).state_hours() {
                assert!(rule.windows(Tz::UTC).count() >= 1, "{s}");
                assert!(rule.source().len() > 10, "{s}");
            }
        }
        assert_eq!(Jurisdiction::UsState(UsState::Ny).state_hours(), None);
        assert_eq!(
            Jurisdiction::UsState(UsState::Me).state_hours(),
            Some(HoursRule::UsState(UsState::Me))
        );
    }
}
