//! Live answers and nuisance calls per calendar day, for the calendar-day and rolling-30-day
//! nuisance rates a campaign's cap is measured over.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::domain::UnixMs;

const DAY_MS: u64 = 86_400_000;

/// Live-answered calls and nuisance calls per calendar day (UTC).
#[derive(Debug, Default)]
pub struct NuisanceMeter {
    days: BTreeMap<u64, (u64, u64)>,
}

impl NuisanceMeter {
    pub fn record(&mut self, now: UnixMs, live: bool, nuisance: bool) {
        let e = self.days.entry(now / DAY_MS).or_default();
        if live {
            e.0 += 1;
        }
        if nuisance {
            e.1 += 1;
        }
        // Keep 31 days at most.
        let oldest = (now / DAY_MS).saturating_sub(30);
        self.days.retain(|d, _| *d >= oldest);
    }

    /// Live answers and nuisance calls today and over the last 30 days, for pacing against
    /// the cap (the pacer needs the counts, not only the rates, to budget the next nuisance).
    pub fn counts(&self, now: UnixMs) -> NuisanceCounts {
        let today = now / DAY_MS;
        let day = self.days.get(&today).copied().unwrap_or_default();
        let month = self
            .days
            .range(today.saturating_sub(29)..=today)
            .fold((0, 0), |acc, (_, v)| (acc.0 + v.0, acc.1 + v.1));
        NuisanceCounts {
            live_day: day.0,
            nuisance_day: day.1,
            live_30d: month.0,
            nuisance_30d: month.1,
        }
    }

    /// Nuisance rate in percent of live-answered calls, today and over the last 30 days.
    pub fn rates(&self, now: UnixMs) -> (f64, f64) {
        let today = now / DAY_MS;
        let pct = |(live, nuis): (u64, u64)| {
            if live == 0 {
                0.0
            } else {
                nuis as f64 * 100.0 / live as f64
            }
        };
        let day = self.days.get(&today).copied().unwrap_or_default();
        let month = self
            .days
            .range(today.saturating_sub(29)..=today)
            .fold((0, 0), |acc, (_, v)| (acc.0 + v.0, acc.1 + v.1));
        (pct(day), pct(month))
    }
}

/// Live-answered and nuisance calls in the two windows a campaign's cap may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct NuisanceCounts {
    pub live_day: u64,
    pub nuisance_day: u64,
    pub live_30d: u64,
    pub nuisance_30d: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
