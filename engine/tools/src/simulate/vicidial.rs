//! A re-implementation of VICIdial's ADAPT_HARD_LIMIT dialing, as a baseline for predictive
//! pacing (after `AST_VDadapt.pl`'s `calculate_dial_level` and `AST_VDauto_dial.pl`):
//!
//! - every second, sample ready agents, calls waiting for an agent and logged-in agents;
//! - every 15 s, from the last 15 samples: `differential = avg(ready) − avg(waiting)`
//!   (plus `dl_diff_target`), and the dial level becomes
//!   `level × (1 + differential / avg(agents) × intensity factor)`, capped at `max_level`
//!   and at least 1.0;
//! - if more than 20 calls went out in the last minute and over half of them dropped, the
//!   level is halved; once more than 50 calls went out today and today's drops exceed the
//!   cap as a share of live answers, it is forced to 1.0 (the hard limit);
//! - calls placed: `floor(level × (ready + on-call agents)) − (on-call agents + calls
//!   without an agent)`, VICIdial's goal calls minus its active calls. Agents in wrap-up
//!   count as paused (VICIdial's dispo screen), neither ready nor on a call.

use std::collections::VecDeque;

use super::workload::VicidialParams;

/// Samples averaged per level update (`$stat_it`).
pub const SAMPLES: usize = 15;
/// Seconds between level updates.
pub const UPDATE_EVERY: u32 = 15;

#[derive(Debug, Clone)]
pub struct VicidialAdapt {
    params: VicidialParams,
    /// Drop cap, percent of live answers.
    cap_pct: f64,
    level: f64,
    /// (ready agents, calls waiting, logged-in agents), the latest last.
    samples: VecDeque<(u32, u32, u32)>,
    since_update: u32,
}

/// Today's and the last minute's counts, for the drop rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropCounts {
    pub calls_today: u64,
    pub answers_today: u64,
    pub drops_today: u64,
    pub calls_last_minute: u64,
    pub drops_last_minute: u64,
}

impl VicidialAdapt {
    pub fn new(params: VicidialParams, cap_pct: f64) -> Self {
        Self {
            params,
            cap_pct,
            level: params.initial_level,
            samples: VecDeque::with_capacity(SAMPLES + 1),
            since_update: 0,
        }
    }

    pub fn level(&self) -> f64 {
        self.level
    }

    /// The one-second tick: records a sample, and every [`UPDATE_EVERY`] ticks moves the
    /// level.
    pub fn tick(&mut self, ready: u32, waiting: u32, agents: u32, drops: DropCounts) {
        self.samples.push_back((ready, waiting, agents));
        if self.samples.len() > SAMPLES {
            self.samples.pop_front();
        }
        self.since_update += 1;
        if self.since_update >= UPDATE_EVERY {
            self.since_update = 0;
            self.update(drops);
        }
    }

    fn update(&mut self, drops: DropCounts) {
        let n = self.samples.len().max(1) as f64;
        let avg = |f: fn(&(u32, u32, u32)) -> u32| {
            self.samples.iter().map(|s| f64::from(f(s))).sum::<f64>() / n
        };
        let differential = avg(|s| s.0) - avg(|s| s.1) + self.params.dl_diff_target;
        let agents = avg(|s| s.2);
        let mul = if differential != 0.0 && agents != 0.0 {
            differential / agents
        } else {
            0.0
        };
        let intensity = self.params.intensity / 100.0;
        let intense = if mul < 0.0 {
            mul * (intensity - 1.0).abs()
        } else {
            mul * (intensity + 1.0)
        };
        let mut level = (self.level * (intense + 1.0)).min(self.params.max_level);
        if drops.calls_last_minute > 20
            && drops.drops_last_minute as f64 * 100.0 / drops.calls_last_minute as f64 > 50.0
        {
            level /= 2.0;
        }
        let today_pct = if drops.answers_today == 0 {
            0.0
        } else {
            drops.drops_today as f64 * 100.0 / drops.answers_today as f64
        };
        if drops.calls_today > 50 && today_pct > self.cap_pct {
            level = 1.0;
        }
        self.level = level.max(1.0);
    }

    /// Calls to place now.
    pub fn decide(&self, ready: u32, on_call: u32, without_agent: u32) -> u32 {
        let goal = (self.level * f64::from(ready + on_call) + 1e-9).floor();
        // `as` saturates.
        (goal as u32).saturating_sub(on_call.saturating_add(without_agent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapt() -> VicidialAdapt {
        VicidialAdapt::new(
            VicidialParams {
                initial_level: 1.0,
                max_level: 3.0,
                intensity: 0.0,
                dl_diff_target: 0.0,
            },
            3.0,
        )
    }

    #[test]
    fn idle_agents_raise_the_level_up_to_the_cap() {
        let mut a = adapt();
        // Half of 10 agents waiting for 15 s: the level grows by half.
        for _ in 0..15 {
            a.tick(5, 0, 10, DropCounts::default());
        }
        assert!((a.level() - 1.5).abs() < 1e-9, "{}", a.level());
        for _ in 0..15 * 10 {
            a.tick(5, 0, 10, DropCounts::default());
        }
        assert!((a.level() - 3.0).abs() < 1e-9, "capped: {}", a.level());
        // 10 × 3 goal calls, 4 agents on calls and 20 calls up: 6 more.
        assert_eq!(a.decide(6, 4, 20), 6);
    }

    #[test]
    fn drops_over_the_cap_force_the_level_to_one() {
        let mut a = adapt();
        for _ in 0..60 {
            a.tick(5, 0, 10, DropCounts::default());
        }
        assert!(a.level() > 2.0);
        let over = DropCounts {
            calls_today: 51,
            answers_today: 20,
            drops_today: 1,
            ..DropCounts::default()
        };
        for _ in 0..15 {
            a.tick(5, 0, 10, over);
        }
        assert!((a.level() - 1.0).abs() < 1e-9);
        // Below 50 calls the rule waits.
        let mut b = adapt();
        for _ in 0..30 {
            b.tick(
                5,
                0,
                10,
                DropCounts {
                    calls_today: 50,
                    ..over
                },
            );
        }
        assert!(b.level() > 1.0);
    }

    #[test]
    fn waiting_customers_lower_the_level() {
        let mut a = adapt();
        for _ in 0..45 {
            a.tick(10, 0, 10, DropCounts::default());
        }
        let high = a.level();
        for _ in 0..15 {
            a.tick(0, 4, 10, DropCounts::default());
        }
        assert!(a.level() < high);
        assert!((a.level() - high * 0.6).abs() < 1e-9);
    }
}
