//! Calling hours in the callee's local time: the campaign's own hours intersected with the
//! lawful window of the callee's jurisdiction (US federal and state rules, Canada, the UK),
//! with the rule that keeps a number closed. The campaign's hours can only narrow the law's.
//!
//! Daylight-saving changes follow [`CallingHours`]: every window is read in the callee's
//! zone on the day it opens, so 08:00 is 08:00 local on both sides of a change.

use chrono_tz::Tz;

use crate::campaign::hours::CallingHours;
use crate::compliance::jurisdiction::{HoursRule, Jurisdiction};
use crate::contacts::phone;
use crate::contacts::region::{self, Region, UsState};
use crate::domain::{Contact, UnixMs};

/// The contact-list column that names a callee's US state (any case): it overrides the state
/// the area code gives.
pub const STATE_COLUMN: &str = "state";

/// Who is called, as far as calling rules go: the number, its zone and its region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Callee<'a> {
    number: &'a str,
    tz: Option<Tz>,
    region: Option<Region>,
}

impl<'a> Callee<'a> {
    /// A callee known only by its E.164 number: zone and region from the number.
    pub fn new(number_e164: &'a str) -> Self {
        Self {
            number: number_e164,
            tz: phone::tz_for(number_e164),
            region: region::region_for(number_e164),
        }
    }

    /// A contact: its number, its `tz` (a list column, or the number's zone at import) and the
    /// list's `state` column when it has a known state.
    pub fn of_contact(contact: &'a Contact) -> Self {
        let state = contact
            .fields
            .iter()
            .find(|(name, _)| name.trim().eq_ignore_ascii_case(STATE_COLUMN))
            .map(|(_, value)| value.as_str());
        Self::new(&contact.phone)
            .with_tz(contact.tz.as_deref())
            .with_state(state)
    }

    /// Overrides the zone with a known IANA name; an unknown or absent one changes nothing.
    pub fn with_tz(mut self, tz: Option<&str>) -> Self {
        if let Some(tz) = tz.and_then(|name| name.trim().parse::<Tz>().ok()) {
            self.tz = Some(tz);
        }
        self
    }

    /// Overrides the region with a US state (code or name); an unknown or absent one changes
    /// nothing.
    pub fn with_state(mut self, state: Option<&str>) -> Self {
        if let Some(state) = state.and_then(UsState::parse) {
            self.region = Some(Region::Us(state));
        }
        self
    }

    pub fn number(&self) -> &'a str {
        self.number
    }

    /// The callee's zone, if known; calling hours fall back on the campaign's default zone.
    pub fn tz(&self) -> Option<Tz> {
        self.tz
    }

    pub fn region(&self) -> Option<Region> {
        self.region
    }

    pub fn jurisdiction(&self) -> Jurisdiction {
        Jurisdiction::of(self.region, self.number.starts_with("+1"))
    }
}

/// Why a callee may not be called now, and when it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed {
    /// The first rule that is closed now, the law's before the campaign's.
    pub rule: HoursRule,
    /// When every rule is open again; `None` when they never are together (a Sunday-only
    /// campaign calling Alabama).
    pub opens_at: Option<UnixMs>,
}

/// The hours one callee may be called under one campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallingWindow<'a> {
    campaign: &'a CallingHours,
    tz: Tz,
    /// The state's rule, then the national one; empty for a load test.
    law: [Option<HoursRule>; 2],
}

/// How far [`CallingWindow::next_open`] looks: a weekly pattern repeats within 8 days; the
/// second week covers a window a DST change empties.
const HORIZON_MS: u64 = 15 * 86_400_000;

/// Each round moves to a later window opening; fifteen days of at most a few windows per day
/// and rule stay well under this.
const MAX_ROUNDS: usize = 256;

/// 9999-12-01T00:00:00Z: later instants are never open (local-time arithmetic stops at year
/// 9999).
const LAST_SUPPORTED_MS: UnixMs = 253_399_622_400_000;

impl<'a> CallingWindow<'a> {
    /// The campaign's hours and the law of the callee's jurisdiction, in the callee's zone
    /// (the campaign's default zone when the callee's is unknown).
    pub fn new(campaign: &'a CallingHours, callee: &Callee<'_>) -> Self {
        let jurisdiction = callee.jurisdiction();
        Self {
            campaign,
            tz: callee.tz.unwrap_or(campaign.default_tz()),
            law: [
                jurisdiction.state_hours(),
                Some(jurisdiction.national_hours()),
            ],
        }
    }

    /// The campaign's hours alone: a load test, whose numbers reach no one.
    pub fn campaign_only(campaign: &'a CallingHours, callee: &Callee<'_>) -> Self {
        Self {
            campaign,
            tz: callee.tz.unwrap_or(campaign.default_tz()),
            law: [None, None],
        }
    }

    /// The zone the hours are read in.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// `Ok` when every rule is open at `now`, else the rule that is closed and when all open.
    pub fn is_open(&self, now: UnixMs) -> Result<(), Closed> {
        if now > LAST_SUPPORTED_MS {
            return Err(Closed {
                rule: self.rules().next().unwrap_or(HoursRule::Campaign),
                opens_at: None,
            });
        }
        match self
            .rules()
            .find(|&rule| self.rule_next_open(rule, now) != now)
        {
            None => Ok(()),
            Some(rule) => Err(Closed {
                rule,
                opens_at: self.next_open(now),
            }),
        }
    }

    /// `now` when open, else the first instant every rule is open, if one comes within two
    /// weeks (a weekly pattern that has none in two weeks has none ever).
    pub fn next_open(&self, now: UnixMs) -> Option<UnixMs> {
        let horizon = now.saturating_add(HORIZON_MS);
        let mut t = now;
        for _ in 0..MAX_ROUNDS {
            if t > horizon || t > LAST_SUPPORTED_MS {
                return None;
            }
            let mut moved = false;
            for rule in self.rules() {
                let opens = self.rule_next_open(rule, t);
                if opens > t {
                    t = opens;
                    moved = true;
                }
            }
            if !moved {
                return Some(t);
            }
        }
        None
    }

    /// The rule that decides whether `t` is open: the law's before the campaign's.
    fn rules(&self) -> impl Iterator<Item = HoursRule> + '_ {
        self.law
            .iter()
            .flatten()
            .copied()
            .chain(std::iter::once(HoursRule::Campaign))
    }

    /// `t` when `rule` is open at `t`, else its next opening (a law open at any of its
    /// windows).
    fn rule_next_open(&self, rule: HoursRule, t: UnixMs) -> UnixMs {
        match rule {
            HoursRule::Campaign => self.campaign.next_open(self.tz, t),
            law => law
                .windows(self.tz)
                .map(|w| w.next_open(self.tz, t))
                .min()
                .unwrap_or(t),
        }
    }
}

#[cfg(test)]
#[path = "hours_tests.rs"]
mod tests;
