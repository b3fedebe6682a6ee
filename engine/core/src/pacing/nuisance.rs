//! Live answers and nuisance calls per calendar day, for the calendar-day and rolling-30-day
//! nuisance rates a campaign's cap is measured over.
//!
//! A day is the campaign's own calendar day, in its time zone: a UK campaign's day starts at
//! midnight in London, winter or summer. Counts are taken when they happen — a live answer
//! when it reaches an agent (or hears the message), a nuisance call when its connect window
//! closes or its customer hangs up waiting — never at the call's end, so pacing sees them at
//! once. Answering-machine verdicts are counted too: some of them are people the detector got
//! wrong, and the regulator counts those as abandoned, so the meter adds its estimate of them.

use std::collections::BTreeMap;

use chrono::{Datelike, TimeZone};
use chrono_tz::Tz;
use serde::Serialize;

use crate::domain::UnixMs;

/// The share of machine verdicts that are people, as the meter estimates it: the detector's
/// goal for humans called machine (its measured rate on the labelled set is lower; see
/// bench/README.md). Each such call counts as live and abandoned.
pub const AMD_FALSE_MACHINE_RATE: f64 = 0.005;

/// One day's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Day {
    live: u64,
    nuisance: u64,
    machine: u64,
}

/// Live-answered calls, nuisance calls and machine verdicts per calendar day of the
/// campaign's time zone.
#[derive(Debug)]
pub struct NuisanceMeter {
    tz: Tz,
    /// Keyed by the day's number since the common era, in `tz`.
    days: BTreeMap<i64, Day>,
}

impl Default for NuisanceMeter {
    fn default() -> Self {
        Self::new(Tz::UTC)
    }
}

impl NuisanceMeter {
    /// A meter whose days are `tz`'s.
    pub fn new(tz: Tz) -> Self {
        Self {
            tz,
            days: BTreeMap::new(),
        }
    }

    fn day_of(&self, now: UnixMs) -> i64 {
        let ms = i64::try_from(now).unwrap_or(i64::MAX);
        match self.tz.timestamp_millis_opt(ms).single() {
            Some(t) => i64::from(t.date_naive().num_days_from_ce()),
            // Out of chrono's range: a day of its own rather than a panic.
            None => ms / 86_400_000,
        }
    }

    fn today(&mut self, now: UnixMs) -> &mut Day {
        let day = self.day_of(now);
        // Keep 31 days at most.
        let oldest = day.saturating_sub(30);
        self.days.retain(|d, _| *d >= oldest);
        self.days.entry(day).or_default()
    }

    /// A live answer reached an agent (or, agentless, heard the message).
    pub fn live(&mut self, now: UnixMs) {
        self.today(now).live += 1;
    }

    /// A live answer was abandoned: no agent within the connect window, or the customer hung
    /// up waiting. It counts as a live answer too.
    pub fn nuisance(&mut self, now: UnixMs) {
        let d = self.today(now);
        d.live += 1;
        d.nuisance += 1;
    }

    /// The answering-machine detector called an answer a machine.
    pub fn machine(&mut self, now: UnixMs) {
        self.today(now).machine += 1;
    }

    /// Both at once, for a caller that knows only the outcome.
    pub fn record(&mut self, now: UnixMs, live: bool, nuisance: bool) {
        match (live, nuisance) {
            (_, true) => self.nuisance(now),
            (true, false) => self.live(now),
            (false, false) => {}
        }
    }

    fn sum(&self, now: UnixMs, days: i64) -> Day {
        let today = self.day_of(now);
        self.days
            .range(today.saturating_sub(days - 1)..=today)
            .fold(Day::default(), |acc, (_, d)| Day {
                live: acc.live + d.live,
                nuisance: acc.nuisance + d.nuisance,
                machine: acc.machine + d.machine,
            })
    }

    /// Live answers, nuisance calls and machine verdicts today and over the last 30 days.
    pub fn counts(&self, now: UnixMs) -> NuisanceCounts {
        let day = self.sum(now, 1);
        let month = self.sum(now, 30);
        NuisanceCounts {
            live_day: day.live,
            nuisance_day: day.nuisance,
            machine_day: day.machine,
            live_30d: month.live,
            nuisance_30d: month.nuisance,
            machine_30d: month.machine,
        }
    }

    /// Nuisance rate in percent of live-answered calls, today and over the last 30 days,
    /// with the machine verdicts' estimated people counted as abandoned.
    pub fn rates(&self, now: UnixMs) -> (f64, f64) {
        let c = self.counts(now);
        (c.day_rate(), c.month_rate())
    }
}

/// Live-answered and nuisance calls, and machine verdicts, in the two windows a campaign's
/// cap may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct NuisanceCounts {
    pub live_day: u64,
    pub nuisance_day: u64,
    pub machine_day: u64,
    pub live_30d: u64,
    pub nuisance_30d: u64,
    pub machine_30d: u64,
}

impl NuisanceCounts {
    /// The people among `machine` verdicts the detector is estimated to have got wrong,
    /// rounded up: they count against the cap.
    pub fn amd_estimate(machine: u64) -> u64 {
        (machine as f64 * AMD_FALSE_MACHINE_RATE).ceil() as u64
    }

    /// (live, nuisance) today, the estimate included.
    pub fn day(&self) -> (u64, u64) {
        let e = Self::amd_estimate(self.machine_day);
        (self.live_day + e, self.nuisance_day + e)
    }

    /// (live, nuisance) over 30 days, the estimate included.
    pub fn month(&self) -> (u64, u64) {
        let e = Self::amd_estimate(self.machine_30d);
        (self.live_30d + e, self.nuisance_30d + e)
    }

    pub fn day_rate(&self) -> f64 {
        pct(self.day())
    }

    pub fn month_rate(&self) -> f64 {
        pct(self.month())
    }
}

fn pct((live, nuisance): (u64, u64)) -> f64 {
    if live == 0 {
        0.0
    } else {
        nuisance as f64 * 100.0 / live as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: u64 = 86_400_000;

    #[test]
    fn nuisance_rates_per_day_and_rolling_month() {
        let mut m = NuisanceMeter::default();
        let day0 = 100 * DAY_MS;
        for i in 0..100 {
            m.record(day0, true, i < 2);
        }
        for i in 0..100 {
            m.record(day0 + DAY_MS, true, i < 4);
        }
        let (day, month) = m.rates(day0 + DAY_MS);
        assert!((day - 4.0).abs() < 1e-9);
        assert!((month - 3.0).abs() < 1e-9);
        // 31 days later the first day has left the window.
        let (_, later) = m.rates(day0 + 31 * DAY_MS);
        assert!(later.abs() < 1e-9, "{later}");
    }

    #[test]
    fn the_day_is_the_campaigns_own_calendar_day() {
        // 2024-07-01 23:30 UTC is already 2 July in London (BST) and still 1 July in New York.
        let t = chrono::Utc
            .with_ymd_and_hms(2024, 7, 1, 23, 30, 0)
            .unwrap()
            .timestamp_millis() as u64;
        let hour = 3_600_000;
        let mut london = NuisanceMeter::new(chrono_tz::Europe::London);
        let mut new_york = NuisanceMeter::new(chrono_tz::America::New_York);
        for m in [&mut london, &mut new_york] {
            m.nuisance(t);
            m.live(t + hour);
        }
        // An hour later both calls are on London's 2 July; New York's 1 July has them too.
        assert_eq!(london.counts(t + hour).live_day, 2);
        assert_eq!(new_york.counts(t + hour).live_day, 2);
        // 20:00 UTC on 2 July: still London's 2 July (both calls), but New York's day after
        // (16:00 on 2 July) begun at its midnight, 04:00 UTC: the calls were on 1 July there.
        let later = t + 20 * hour + 30 * 60_000;
        assert_eq!(london.counts(later).nuisance_day, 1);
        assert_eq!(new_york.counts(later).nuisance_day, 0);
    }

    #[test]
    fn machine_verdicts_add_their_estimated_people_to_the_abandoned() {
        let mut m = NuisanceMeter::default();
        let t = 10 * DAY_MS;
        for _ in 0..97 {
            m.live(t);
        }
        for _ in 0..300 {
            m.machine(t);
        }
        let c = m.counts(t);
        // 0.5 % of 300 verdicts, rounded up: 2 people counted live and abandoned.
        assert_eq!(c.day(), (99, 2));
        assert!((c.day_rate() - 200.0 / 99.0).abs() < 1e-9);
    }
}
