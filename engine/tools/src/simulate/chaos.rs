//! `outdial simulate --chaos`: the seeded schedule of faults a run meets (zone takeovers,
//! killed agent and call actors, MPP outages, process kills), the workload's `[chaos]` keys,
//! and what the faults did, for the report.
//!
//! The schedule is drawn from the seed alone before the run starts, so every mode of a
//! workload meets the same faults at the same instants and a seed replays exactly. What a
//! fault does once it strikes (which agent, whose nail drops, which desktop lags) is drawn
//! during the run from a stream of its own, also seeded by the seed (see `run`'s `faults`).

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use outdial_core::agent::AgentConfig;

/// How long a zone is out of service before the dormant agent manager takes it over, ms.
pub const OUTAGE_MS: (u64, u64) = (5, 150);
/// How long an MPP stays down, ms.
pub const MPP_DOWN_MS: (u64, u64) = (200, 3_000);
/// How long a killed process takes to restart and recover, ms.
pub const RESTART_MS: (u64, u64) = (500, 5_000);
/// How long a logged-out agent takes to log in again, ms: they are people.
pub const RELOGIN_MS: (u64, u64) = (5_000, 60_000);
/// Probability that an agent's phone leg drops during a zone outage (Table 9's column B).
pub const NAIL_DROP: f64 = 0.25;
/// Probability that a desktop answers the state check with what it held before the outage.
pub const LAGGING_DESKTOP: f64 = 0.15;
/// Probability that a desktop never answers the state check.
pub const SILENT_DESKTOP: f64 = 0.05;
/// Default mean time between faults, s.
pub const DEFAULT_MEAN_INTERVAL_S: f64 = 60.0;
/// Default weights of the kinds, in [`FaultKind::ALL`]'s order.
pub const DEFAULT_WEIGHTS: [u32; 5] = [3, 2, 2, 2, 1];

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// The zone's agent manager dies; the dormant one takes the zone over (docs/design.md §5).
    ZoneTakeover,
    /// One agent's actor dies: its session is logged out with desktop-error.
    AgentKill,
    /// One call's actor dies: the call is lost wherever it stood.
    CallKill,
    /// The MPP goes away for a while: launches meanwhile end no-media-resource.
    MppDown,
    /// The process is killed (-9) and restarted: everything in memory is gone.
    ProcessKill,
}

impl FaultKind {
    pub const ALL: [FaultKind; 5] = [
        FaultKind::ZoneTakeover,
        FaultKind::AgentKill,
        FaultKind::CallKill,
        FaultKind::MppDown,
        FaultKind::ProcessKill,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::ZoneTakeover => "zone-takeover",
            FaultKind::AgentKill => "agent-kill",
            FaultKind::CallKill => "call-kill",
            FaultKind::MppDown => "mpp-down",
            FaultKind::ProcessKill => "process-kill",
        }
    }
}

/// One scheduled fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Fault {
    /// Virtual ms from the start of the run.
    pub at_ms: u64,
    pub kind: FaultKind,
    /// How long it lasts, ms: the zone's outage, the MPP's, the restart; 0 for a kill.
    pub lasts_ms: u64,
}

/// A deliberate bug, so tests can show that each invariant the chaos run checks can fail.
/// Never set outside tests.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sabotage {
    /// The checker expects every agent to keep its state through a takeover (invariant 6).
    WrongTable9,
    /// A restart leaves one attempt in flight instead of recovering it (invariant 1).
    ForgetRecovery,
    /// A restart puts one contact back in the list without ending its attempt (invariant 2).
    RedialInFlight,
    /// A lagging desktop's answer is replaced by the engine's own view, so the session
    /// checks itself (invariant 6).
    SelfCheckedDesktop,
}

/// The faults a chaos run meets: how often, and which kinds how often.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChaosConfig {
    /// Mean time between the end of one fault and the next (exponential).
    pub mean_interval: Duration,
    /// Relative weights of the kinds, in [`FaultKind::ALL`]'s order.
    pub weights: [u32; 5],
    #[doc(hidden)]
    pub sabotage: Option<Sabotage>,
}

impl Default for ChaosConfig {
    fn default() -> Self {
        Self {
            mean_interval: Duration::from_secs_f64(DEFAULT_MEAN_INTERVAL_S),
            weights: DEFAULT_WEIGHTS,
            sabotage: None,
        }
    }
}

/// `[chaos]` in a workload: read only with `--chaos`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChaosSpec {
    /// Mean time between faults, s (exponential, counted from the end of the last one).
    /// Default 60; 1 to 86400.
    #[serde(default)]
    pub mean_interval_s: Option<f64>,
    #[serde(default)]
    pub weights: Option<WeightsSpec>,
}

/// `[chaos.weights]`: relative weight of each kind. Default 3, 2, 2, 2, 1 in this order;
/// each 0 to 1000, not all 0.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightsSpec {
    #[serde(default)]
    pub zone_takeover: Option<u32>,
    #[serde(default)]
    pub agent_kill: Option<u32>,
    #[serde(default)]
    pub call_kill: Option<u32>,
    #[serde(default)]
    pub mpp_down: Option<u32>,
    #[serde(default)]
    pub process_kill: Option<u32>,
}

impl ChaosSpec {
    /// The checked configuration, or every problem with its key.
    pub fn resolve(&self) -> Result<ChaosConfig, Vec<String>> {
        let mut problems = Vec::new();
        let mean_s = self.mean_interval_s.unwrap_or(DEFAULT_MEAN_INTERVAL_S);
        if !(mean_s.is_finite() && (1.0..=86_400.0).contains(&mean_s)) {
            problems.push(format!(
                "chaos.mean_interval_s: must be 1 to 86400, got {mean_s}"
            ));
        }
        let mut weights = DEFAULT_WEIGHTS;
        if let Some(w) = &self.weights {
            let given = [
                w.zone_takeover,
                w.agent_kill,
                w.call_kill,
                w.mpp_down,
                w.process_kill,
            ];
            for (i, (kind, g)) in FaultKind::ALL.iter().zip(given).enumerate() {
                let Some(g) = g else { continue };
                if g > 1000 {
                    problems.push(format!(
                        "chaos.weights.{}: must be 0 to 1000, got {g}",
                        kind.name().replace('-', "_")
                    ));
                }
                weights[i] = g;
            }
            if weights.iter().all(|&w| w == 0) {
                problems.push("chaos.weights: at least one must be above 0".to_owned());
            }
        }
        if problems.is_empty() {
            Ok(ChaosConfig {
                mean_interval: Duration::from_secs_f64(mean_s),
                weights,
                sabotage: None,
            })
        } else {
            Err(problems)
        }
    }
}

/// The faults of a run of `duration` on `seed`, in time order. They do not overlap: the
/// next one strikes at least 1 ms after the end of the last (a takeover's end includes the
/// desktops' time to answer the state check), so each fault's effects are judged on their
/// own. At the very instant a fault ends, the schedule's next event would run before the
/// end's (it was queued first): a process killed again as it restarts would lose the
/// first crash's attempts.
pub fn schedule(seed: u64, cfg: &ChaosConfig, duration: Duration) -> Vec<Fault> {
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x6A09_E667_F3BC_C908);
    let end = ms(duration);
    let mean_s = cfg.mean_interval.as_secs_f64().max(1e-3);
    let total: u32 = cfg.weights.iter().sum();
    let check_ms = ms(AgentConfig::default().state_check_timeout);
    let mut faults = Vec::new();
    let mut free_from = 0u64;
    if total == 0 {
        return faults;
    }
    loop {
        let gap_s = -mean_s * (1.0 - rng.gen::<f64>()).ln();
        let at = free_from.saturating_add(ms(Duration::from_secs_f64(gap_s.min(1e9))));
        if at >= end {
            return faults;
        }
        let mut pick = rng.gen_range(0..total);
        let mut kind = FaultKind::ZoneTakeover;
        for (k, &w) in FaultKind::ALL.iter().zip(&cfg.weights) {
            if pick < w {
                kind = *k;
                break;
            }
            pick -= w;
        }
        let draw = |rng: &mut SmallRng, (lo, hi): (u64, u64)| rng.gen_range(lo..=hi);
        let (lasts_ms, busy_ms) = match kind {
            FaultKind::ZoneTakeover => {
                let outage = draw(&mut rng, OUTAGE_MS);
                (outage, outage + check_ms)
            }
            FaultKind::MppDown => {
                let down = draw(&mut rng, MPP_DOWN_MS);
                (down, down)
            }
            FaultKind::ProcessKill => {
                let restart = draw(&mut rng, RESTART_MS);
                (restart, restart)
            }
            FaultKind::AgentKill | FaultKind::CallKill => (0, 0),
        };
        faults.push(Fault {
            at_ms: at,
            kind,
            lasts_ms,
        });
        free_from = at + busy_ms + 1;
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Faults struck, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct FaultCounts {
    pub zone_takeover: u64,
    pub agent_kill: u64,
    pub call_kill: u64,
    pub mpp_down: u64,
    pub process_kill: u64,
}

impl FaultCounts {
    pub fn add(&mut self, kind: FaultKind) {
        *self.get_mut(kind) += 1;
    }

    pub fn get(&self, kind: FaultKind) -> u64 {
        match kind {
            FaultKind::ZoneTakeover => self.zone_takeover,
            FaultKind::AgentKill => self.agent_kill,
            FaultKind::CallKill => self.call_kill,
            FaultKind::MppDown => self.mpp_down,
            FaultKind::ProcessKill => self.process_kill,
        }
    }

    fn get_mut(&mut self, kind: FaultKind) -> &mut u64 {
        match kind {
            FaultKind::ZoneTakeover => &mut self.zone_takeover,
            FaultKind::AgentKill => &mut self.agent_kill,
            FaultKind::CallKill => &mut self.call_kill,
            FaultKind::MppDown => &mut self.mpp_down,
            FaultKind::ProcessKill => &mut self.process_kill,
        }
    }
}

/// Agents taken over, by Table 9's column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ColumnCounts {
    #[serde(rename = "A")]
    pub a: u64,
    #[serde(rename = "B")]
    pub b: u64,
    #[serde(rename = "C")]
    pub c: u64,
}

/// Where the calls a call-actor kill took were.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct CallKills {
    /// Ringing: ended network-failure.
    pub ringing: u64,
    /// Answered live, waiting for an agent: nuisance.
    pub waiting: u64,
    /// With an agent: desktop-error, and the agent logged out.
    pub with_agent: u64,
    /// Nothing was in flight.
    pub none: u64,
}

/// What the faults of one mode's run did.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ChaosReport {
    /// The schedule, as drawn from the seed.
    pub schedule: Vec<Fault>,
    pub faults: FaultCounts,
    /// Takeovers completed (service back, Table 9 applied, desktops checked).
    pub takeovers: u64,
    /// Agents taken over per column; `kept`: attached to no job, so they kept their state.
    pub columns: ColumnCounts,
    pub kept: u64,
    /// State checks answered with the state the engine holds, answered with another one
    /// (a lagging desktop), and never answered.
    pub checks_matched: u64,
    pub checks_mismatched: u64,
    pub checks_unanswered: u64,
    /// Sessions that ended desktop-error, whatever the cause.
    pub desktop_error_logouts: u64,
    /// Live answers released as nuisance by takeovers: waiting at the fault, or answered
    /// during the outage.
    pub nuisance_released: u64,
    /// Live answers waiting for an agent when the process died (recovered as nuisance).
    pub nuisance_crashed: u64,
    pub call_kills: CallKills,
    /// Launches that found the MPP down.
    pub no_media_resource: u64,
    /// Attempts a restart found in flight and resolved.
    pub recovered_after_failover: u64,
    /// Logins after a logout the agent did not ask for.
    pub relogins: u64,
    /// Agents' time in zone outages, s.
    pub ha_s: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_one_schedule_and_another_seed_another() {
        let cfg = ChaosConfig::default();
        let d = Duration::from_secs(3_600);
        assert_eq!(schedule(5, &cfg, d), schedule(5, &cfg, d));
        assert_ne!(schedule(5, &cfg, d), schedule(6, &cfg, d));
    }

    #[test]
    fn faults_are_in_order_apart_and_within_the_run() {
        let cfg = ChaosConfig::default();
        let d = Duration::from_secs(36_000);
        let check = ms(AgentConfig::default().state_check_timeout);
        let faults = schedule(1, &cfg, d);
        // About one a minute for ten hours.
        assert!((400..800).contains(&faults.len()), "{}", faults.len());
        // Never at the instant the last one ends, even when they come thick and fast.
        let dense = ChaosConfig {
            mean_interval: Duration::from_millis(1),
            ..cfg
        };
        let all = (0..50).flat_map(|seed| schedule(seed, &dense, Duration::from_secs(60)));
        let mut pairs = 0;
        for pair in faults.windows(2).chain(all.collect::<Vec<_>>().windows(2)) {
            let (a, b) = (pair[0], pair[1]);
            if b.at_ms < a.at_ms {
                continue; // the next seed's schedule
            }
            let busy = match a.kind {
                FaultKind::ZoneTakeover => a.lasts_ms + check,
                _ => a.lasts_ms,
            };
            assert!(b.at_ms > a.at_ms + busy, "{a:?} then {b:?}");
            pairs += 1;
        }
        assert!(pairs > 1_000, "{pairs}");
        assert!(faults.iter().all(|f| f.at_ms < ms(d)));
        for f in &faults {
            let (lo, hi) = match f.kind {
                FaultKind::ZoneTakeover => OUTAGE_MS,
                FaultKind::MppDown => MPP_DOWN_MS,
                FaultKind::ProcessKill => RESTART_MS,
                FaultKind::AgentKill | FaultKind::CallKill => (0, 0),
            };
            assert!((lo..=hi).contains(&f.lasts_ms), "{f:?}");
        }
    }

    #[test]
    fn kinds_follow_their_weights() {
        let cfg = ChaosConfig {
            weights: [1, 0, 0, 3, 0],
            ..ChaosConfig::default()
        };
        let faults = schedule(2, &cfg, Duration::from_secs(360_000));
        let mut counts = FaultCounts::default();
        for f in &faults {
            counts.add(f.kind);
        }
        assert_eq!(
            counts.agent_kill + counts.call_kill + counts.process_kill,
            0
        );
        let share = counts.mpp_down as f64 / faults.len() as f64;
        assert!((share - 0.75).abs() < 0.03, "{share}");
    }

    #[test]
    fn the_spec_takes_defaults_and_reports_every_problem() {
        let none = ChaosSpec {
            mean_interval_s: None,
            weights: None,
        };
        assert_eq!(none.resolve(), Ok(ChaosConfig::default()));
        let bad = ChaosSpec {
            mean_interval_s: Some(0.5),
            weights: Some(WeightsSpec {
                zone_takeover: Some(0),
                agent_kill: Some(0),
                call_kill: Some(0),
                mpp_down: Some(0),
                process_kill: Some(0),
            }),
        };
        let problems = bad.resolve().unwrap_err().join("\n");
        assert!(problems.contains("chaos.mean_interval_s"), "{problems}");
        assert!(
            problems.contains("chaos.weights: at least one"),
            "{problems}"
        );
        let over = ChaosSpec {
            mean_interval_s: None,
            weights: Some(WeightsSpec {
                zone_takeover: None,
                agent_kill: None,
                call_kill: None,
                mpp_down: Some(1001),
                process_kill: None,
            }),
        };
        assert!(over.resolve().unwrap_err()[0].starts_with("chaos.weights.mpp_down"));
    }
}
