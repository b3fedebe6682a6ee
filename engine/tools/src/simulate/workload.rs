//! Simulator workloads in two phases: [`WorkloadSpec`], the TOML as written, and
//! [`Workload`], checked and typed. Every problem is reported at once with its key's path.

use std::path::Path;
use std::time::Duration;

use chrono::DateTime;
use rand::Rng;
use serde::Deserialize;

use super::chaos::{ChaosConfig, ChaosSpec};
use outdial_core::campaign::{Campaign, CampaignSpec, NuisanceSpec};
use outdial_core::domain::UnixMs;

/// Longest simulated run, s (31 days).
pub const MAX_DURATION_S: u64 = 31 * 86_400;
/// Most agents in a workload.
pub const MAX_AGENTS: u32 = 10_000;
/// Longest mean of a time distribution, s.
pub const MAX_MEAN_S: f64 = 86_400.0;

/// A workload as written. Unknown keys are refused; absent keys take the defaults below.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Name shown in the report. Required.
    pub name: String,
    /// RNG seed; `--seed` overrides it. Default 1.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Simulated time during which calls are launched, s. Required; 60 to 2678400 (31 days).
    /// In-flight calls then finish.
    pub duration_s: u64,
    /// Wall-clock start of the simulated day, RFC 3339. Default `"2026-11-23T09:00:00Z"`
    /// (calendar-day nuisance windows and retry calling hours count from it).
    #[serde(default)]
    pub start: Option<String>,
    /// Dialing modes to run, each on the same seed: `predictive` | `progressive` |
    /// `fixed-ratio` | `vicidial-adapt`. Default `["predictive"]`; no duplicates.
    #[serde(default)]
    pub modes: Option<Vec<String>>,
    /// Contacts in the list. Default unlimited (new contacts as needed); at least 1.
    #[serde(default)]
    pub contacts: Option<u64>,
    pub agents: AgentsSpec,
    pub calls: CallsSpec,
    /// Default `{ cap_pct = 3.0, window = "calendar-day" }`; keys as in a campaign.
    #[serde(default)]
    pub nuisance: Option<NuisanceSpec>,
    #[serde(default)]
    pub predictive: Option<LinesSpec>,
    #[serde(default)]
    pub progressive: Option<LinesSpec>,
    #[serde(default)]
    pub fixed_ratio: Option<LinesSpec>,
    #[serde(default)]
    pub vicidial: Option<VicidialSpec>,
    /// The faults of a `--chaos` run; ignored without it. Keys in [`ChaosSpec`].
    #[serde(default)]
    pub chaos: Option<ChaosSpec>,
}

/// `[agents]`: either `count` agents for the whole run, or `[[agents.shifts]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentsSpec {
    /// Agents logged in from the start to the end. 1 to 10000; not with `shifts`.
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub shifts: Option<Vec<ShiftSpec>>,
    /// A call still in wrap-up this long after the customer left is disposed by the engine,
    /// s. Default 600; at least 1.
    #[serde(default)]
    pub wrapup_timeout_s: Option<u64>,
}

/// `[[agents.shifts]]`: `count` agents log in at `login_s` and out at `logout_s` (after the
/// call they are on, if any).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShiftSpec {
    /// 1 to 10000 (all shifts together too).
    pub count: u32,
    /// s from the start. Default 0.
    #[serde(default)]
    pub login_s: u64,
    /// s from the start, after `login_s`, at most `duration_s`. Default: when the last call
    /// has ended after dialing stops (agents do not leave calls ringing for them).
    #[serde(default)]
    pub logout_s: Option<u64>,
}

/// `[calls]`: how customers behave.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallsSpec {
    /// Probability an attempt is answered by a live person. Required; above 0, at most 1.
    pub answer_rate: f64,
    /// Time from launch to a live answer. Default lognormal, mean 8 s, cv 0.5. Samples past
    /// the ring timeout become no-answers.
    #[serde(default)]
    pub ring_answered: Option<DistSpec>,
    /// Time from launch to the end of an attempt not answered live (no answer, busy,
    /// machine). Default fixed at the ring timeout; capped at it.
    #[serde(default)]
    pub ring_unanswered: Option<DistSpec>,
    /// Ring timeout, ms. Default 25000; 15000 to 300000 (the campaign's bounds).
    #[serde(default)]
    pub ring_timeout_ms: Option<u64>,
    /// Talk time of a connected call. Required.
    pub talk: DistSpec,
    /// Wrap-up after it. Default fixed 10 s.
    #[serde(default)]
    pub wrap: Option<DistSpec>,
    /// How long a live-answered customer waits for an agent before hanging up (counted as
    /// nuisance). Default exponential, mean 30 s.
    #[serde(default)]
    pub patience: Option<DistSpec>,
    /// How long a live answer may wait for an agent before it is a nuisance call, ms.
    /// Default 2000; 100 to 10000 (the campaign's bounds).
    #[serde(default)]
    pub connect_window_ms: Option<u64>,
}

/// A time distribution: `{ dist = "fixed" | "exponential" | "lognormal", mean_s, cv }`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistSpec {
    pub dist: String,
    /// Mean, s. Required; 0 to 86400 (0 only for `fixed`).
    pub mean_s: f64,
    /// Coefficient of variation (lognormal only). Default 1; above 0, at most 5.
    #[serde(default)]
    pub cv: Option<f64>,
}

/// `[predictive]`, `[progressive]`, `[fixed_ratio]`: lines per ready agent (the fallback
/// ratio for predictive). Default 1.0, 2.0 for fixed-ratio; 1 to 10.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinesSpec {
    pub lines_per_agent: f64,
}

/// `[vicidial]`: the ADAPT_HARD_LIMIT baseline's settings, named as in VICIdial.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VicidialSpec {
    /// Dial level at the start. Default 1.0; 1 to `max_level`.
    #[serde(default)]
    pub initial_level: Option<f64>,
    /// `adaptive_maximum_level`. Default 3.0; 1 to 10.
    #[serde(default)]
    pub max_level: Option<f64>,
    /// `adaptive_intensity`, -40 to 40. Default 0.
    #[serde(default)]
    pub intensity: Option<f64>,
    /// `adaptive_dl_diff_target`, agents (negative: a customer waiting). Default 0; -20 to 20.
    #[serde(default)]
    pub dl_diff_target: Option<f64>,
}

/// A checked time distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dist {
    Fixed(Duration),
    Exponential {
        mean_s: f64,
    },
    /// Parameters of the underlying normal.
    LogNormal {
        mu: f64,
        sigma: f64,
    },
}

impl Dist {
    pub fn sample(&self, rng: &mut impl Rng) -> Duration {
        let secs = match *self {
            Dist::Fixed(d) => return d,
            Dist::Exponential { mean_s } => -mean_s * (1.0 - rng.gen::<f64>()).ln(),
            Dist::LogNormal { mu, sigma } => (mu + sigma * standard_normal(rng)).exp(),
        };
        Duration::from_secs_f64(secs.clamp(0.0, 10.0 * MAX_MEAN_S))
    }

    pub fn mean(&self) -> Duration {
        match *self {
            Dist::Fixed(d) => d,
            Dist::Exponential { mean_s } => Duration::from_secs_f64(mean_s),
            Dist::LogNormal { mu, sigma } => {
                Duration::from_secs_f64((mu + sigma * sigma / 2.0).exp())
            }
        }
    }
}

/// Box–Muller: rand 0.8 without rand_distr has no normal distribution.
fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u1 = 1.0 - rng.gen::<f64>();
    let u2 = rng.gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// A dialing mode to simulate, with its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Predictive { lines_per_agent: f64 },
    Progressive { lines_per_agent: f64 },
    FixedRatio { lines_per_agent: f64 },
    VicidialAdapt(VicidialParams),
}

impl Mode {
    pub fn name(&self) -> &'static str {
        match self {
            Mode::Predictive { .. } => "predictive",
            Mode::Progressive { .. } => "progressive",
            Mode::FixedRatio { .. } => "fixed-ratio",
            Mode::VicidialAdapt(_) => "vicidial-adapt",
        }
    }

    /// Whether the nuisance cap is an invariant of this mode (the engine's own pacing), or
    /// only a figure to compare (a baseline that does not promise it).
    pub fn promises_cap(&self) -> bool {
        matches!(self, Mode::Predictive { .. } | Mode::Progressive { .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VicidialParams {
    pub initial_level: f64,
    pub max_level: f64,
    pub intensity: f64,
    pub dl_diff_target: f64,
}

/// One group of agents with the same hours, as offsets from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shift {
    pub count: u32,
    pub login: Duration,
    /// `None`: once every call has ended after dialing stopped.
    pub logout: Option<Duration>,
}

/// A checked workload.
#[derive(Debug, Clone)]
pub struct Workload {
    pub name: String,
    pub seed: u64,
    pub duration: Duration,
    pub start_ms: UnixMs,
    pub modes: Vec<Mode>,
    pub contacts: Option<u64>,
    pub shifts: Vec<Shift>,
    pub wrapup_timeout: Duration,
    pub answer_rate: f64,
    pub ring_answered: Dist,
    pub ring_unanswered: Dist,
    pub talk: Dist,
    pub wrap: Dist,
    pub patience: Dist,
    /// The campaign the modes run (predictive's; the baselines use its windows and rules).
    pub campaign: Campaign,
    /// The faults a `--chaos` run meets.
    pub chaos: ChaosConfig,
}

impl Workload {
    pub fn agents(&self) -> u32 {
        self.shifts.iter().map(|s| s.count).sum()
    }
}

/// The caller ID the simulated campaign presents (a fictional, diallable number).
const SIMULATED_CALLER_ID: &str = "+12125550100";

/// Why a workload was refused: every problem, each with its key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkloadError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("TOML")]
    Syntax(#[source] toml::de::Error),
    #[error("{}", .0.join("\n"))]
    Invalid(Vec<String>),
}

#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, path: &str, problem: impl std::fmt::Display) {
        self.0.push(format!("{path}: {problem}"));
    }
}

impl WorkloadSpec {
    pub fn from_toml(text: &str) -> Result<Self, WorkloadError> {
        toml::from_str(text).map_err(WorkloadError::Syntax)
    }

    pub fn load(path: &Path) -> Result<Self, WorkloadError> {
        let text = std::fs::read_to_string(path).map_err(|source| WorkloadError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text)
    }

    /// Checks every key and builds the [`Workload`], or lists every problem found.
    pub fn resolve(self) -> Result<Workload, WorkloadError> {
        let mut p = Problems::default();
        if self.name.trim().is_empty() {
            p.add("name", "must not be empty");
        }
        if !(60..=MAX_DURATION_S).contains(&self.duration_s) {
            p.add(
                "duration_s",
                format!("must be 60 to {MAX_DURATION_S}, got {}", self.duration_s),
            );
        }
        let duration = Duration::from_secs(self.duration_s);
        let start = self.start.as_deref().unwrap_or("2026-11-23T09:00:00Z");
        let start_ms = match DateTime::parse_from_rfc3339(start) {
            Ok(t) if t.timestamp_millis() >= 0 => t.timestamp_millis() as u64,
            _ => {
                p.add(
                    "start",
                    format!("must be an RFC 3339 time after 1970, got {start:?}"),
                );
                0
            }
        };
        if self.contacts == Some(0) {
            p.add(
                "contacts",
                "must be at least 1 (leave it out for unlimited)",
            );
        }
        let shifts = resolve_agents(&mut p, &self.agents, duration);
        let wrapup_timeout = Duration::from_secs(self.agents.wrapup_timeout_s.unwrap_or(600));
        if wrapup_timeout.is_zero() {
            p.add("agents.wrapup_timeout_s", "must be at least 1");
        }
        let c = &self.calls;
        if !(c.answer_rate.is_finite() && c.answer_rate > 0.0 && c.answer_rate <= 1.0) {
            p.add(
                "calls.answer_rate",
                format!("must be above 0 and at most 1, got {}", c.answer_rate),
            );
        }
        let ring_timeout_ms = c.ring_timeout_ms.unwrap_or(25_000);
        let default_ring = DistSpec {
            dist: "lognormal".into(),
            mean_s: 8.0,
            cv: Some(0.5),
        };
        let ring_answered = resolve_dist(
            &mut p,
            "calls.ring_answered",
            c.ring_answered.as_ref().unwrap_or(&default_ring),
        );
        let timeout_dist = DistSpec {
            dist: "fixed".into(),
            mean_s: ring_timeout_ms as f64 / 1000.0,
            cv: None,
        };
        let ring_unanswered = resolve_dist(
            &mut p,
            "calls.ring_unanswered",
            c.ring_unanswered.as_ref().unwrap_or(&timeout_dist),
        );
        let talk = resolve_dist(&mut p, "calls.talk", &c.talk);
        let wrap = resolve_dist(
            &mut p,
            "calls.wrap",
            c.wrap.as_ref().unwrap_or(&DistSpec {
                dist: "fixed".into(),
                mean_s: 10.0,
                cv: None,
            }),
        );
        let patience = resolve_dist(
            &mut p,
            "calls.patience",
            c.patience.as_ref().unwrap_or(&DistSpec {
                dist: "exponential".into(),
                mean_s: 30.0,
                cv: None,
            }),
        );
        let lines = |p: &mut Problems, key: &str, spec: &Option<LinesSpec>, default: f64| {
            let l = spec.as_ref().map_or(default, |s| s.lines_per_agent);
            if !(l.is_finite() && (1.0..=10.0).contains(&l)) {
                p.add(
                    &format!("{key}.lines_per_agent"),
                    format!("must be 1 to 10, got {l}"),
                );
            }
            l
        };
        let predictive_lines = lines(&mut p, "predictive", &self.predictive, 1.0);
        let progressive_lines = lines(&mut p, "progressive", &self.progressive, 1.0);
        let fixed_lines = lines(&mut p, "fixed_ratio", &self.fixed_ratio, 2.0);
        let vicidial = resolve_vicidial(&mut p, self.vicidial.as_ref());
        let chaos = match self.chaos.as_ref().map(ChaosSpec::resolve) {
            None => ChaosConfig::default(),
            Some(Ok(c)) => c,
            Some(Err(problems)) => {
                p.0.extend(problems);
                ChaosConfig::default()
            }
        };
        let names = self
            .modes
            .clone()
            .unwrap_or_else(|| vec!["predictive".into()]);
        if names.is_empty() {
            p.add("modes", "must name at least one mode");
        }
        let mut modes = Vec::new();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                p.add("modes", format!("{name:?} is listed twice"));
                continue;
            }
            modes.push(match name.as_str() {
                "predictive" => Mode::Predictive {
                    lines_per_agent: predictive_lines,
                },
                "progressive" => Mode::Progressive {
                    lines_per_agent: progressive_lines,
                },
                "fixed-ratio" => Mode::FixedRatio {
                    lines_per_agent: fixed_lines,
                },
                "vicidial-adapt" => Mode::VicidialAdapt(vicidial),
                other => {
                    p.add(
                        "modes",
                        format!("unknown mode {other:?} (predictive, progressive, fixed-ratio, vicidial-adapt)"),
                    );
                    continue;
                }
            });
        }
        // The campaign checks the keys it shares with the workload, with its own bounds.
        let campaign = CampaignSpec {
            name: self.name.clone(),
            contacts: None,
            zone: None,
            mode: "predictive".into(),
            lines_per_agent: Some(predictive_lines.clamp(1.0, 10.0)),
            agentless: None,
            nuisance: self.nuisance.clone(),
            ring_timeout_ms: Some(ring_timeout_ms),
            load_test: None,
            connect_window_ms: c.connect_window_ms,
            calling_hours: None,
            retry: Default::default(),
            finish: None,
            // A campaign the law allows: the simulator plays no audio, but the rules it is
            // held to are a real campaign's.
            caller_id: Some(SIMULATED_CALLER_ID.into()),
            abandon_message: Some("information-message.wav".into()),
            target: None,
            trunk: None,
            amd: None,
            test_ranges: None,
        };
        let campaign = match campaign.resolve() {
            Ok(c) => Some(c),
            Err(errors) => {
                for e in errors {
                    let text = e.to_string();
                    // Keys the workload nests differently.
                    let text = text
                        .replace("ring_timeout_ms", "calls.ring_timeout_ms")
                        .replace("connect_window_ms", "calls.connect_window_ms");
                    p.0.push(text);
                }
                None
            }
        };
        match campaign {
            Some(campaign) if p.0.is_empty() => Ok(Workload {
                name: self.name,
                seed: self.seed.unwrap_or(1),
                duration,
                start_ms,
                modes,
                contacts: self.contacts,
                shifts,
                wrapup_timeout,
                answer_rate: c.answer_rate,
                ring_answered,
                ring_unanswered,
                talk,
                wrap,
                patience,
                campaign,
                chaos,
            }),
            _ => Err(WorkloadError::Invalid(p.0)),
        }
    }
}

fn resolve_agents(p: &mut Problems, a: &AgentsSpec, duration: Duration) -> Vec<Shift> {
    let shifts = match (a.count, &a.shifts) {
        (Some(_), Some(_)) => {
            p.add("agents", "give either count or shifts, not both");
            return Vec::new();
        }
        (None, None) => {
            p.add("agents", "needs count or shifts");
            return Vec::new();
        }
        (Some(count), None) => vec![Shift {
            count,
            login: Duration::ZERO,
            logout: None,
        }],
        (None, Some(shifts)) => shifts
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let login = Duration::from_secs(s.login_s);
                let logout = s.logout_s.map(Duration::from_secs);
                if login >= duration {
                    p.add(
                        &format!("agents.shifts[{i}].login_s"),
                        "must be before duration_s",
                    );
                }
                if logout.is_some_and(|l| l <= login || l > duration) {
                    p.add(
                        &format!("agents.shifts[{i}].logout_s"),
                        "must be after login_s and at most duration_s",
                    );
                }
                Shift {
                    count: s.count,
                    login,
                    logout,
                }
            })
            .collect(),
    };
    let total: u64 = shifts.iter().map(|s| u64::from(s.count)).sum();
    if shifts.iter().any(|s| s.count == 0) || total == 0 || total > u64::from(MAX_AGENTS) {
        p.add(
            "agents",
            format!("each count at least 1, {MAX_AGENTS} agents at most in all"),
        );
    }
    shifts
}

fn resolve_dist(p: &mut Problems, path: &str, d: &DistSpec) -> Dist {
    let fixed_ok = d.dist == "fixed" && d.mean_s >= 0.0;
    if !(d.mean_s.is_finite() && (d.mean_s > 0.0 || fixed_ok) && d.mean_s <= MAX_MEAN_S) {
        p.add(
            &format!("{path}.mean_s"),
            format!(
                "must be above 0 (0 allowed for fixed) and at most {MAX_MEAN_S}, got {}",
                d.mean_s
            ),
        );
        return Dist::Fixed(Duration::ZERO);
    }
    if d.cv.is_some() && d.dist != "lognormal" {
        p.add(&format!("{path}.cv"), "only applies to lognormal");
    }
    match d.dist.as_str() {
        "fixed" => Dist::Fixed(Duration::from_secs_f64(d.mean_s)),
        "exponential" => Dist::Exponential { mean_s: d.mean_s },
        "lognormal" => {
            let cv = d.cv.unwrap_or(1.0);
            if !(cv.is_finite() && cv > 0.0 && cv <= 5.0) {
                p.add(
                    &format!("{path}.cv"),
                    format!("must be above 0 and at most 5, got {cv}"),
                );
                return Dist::Fixed(Duration::ZERO);
            }
            let sigma2 = (1.0 + cv * cv).ln();
            Dist::LogNormal {
                mu: d.mean_s.ln() - sigma2 / 2.0,
                sigma: sigma2.sqrt(),
            }
        }
        other => {
            p.add(
                &format!("{path}.dist"),
                format!("must be fixed, exponential or lognormal, got {other:?}"),
            );
            Dist::Fixed(Duration::ZERO)
        }
    }
}

fn resolve_vicidial(p: &mut Problems, v: Option<&VicidialSpec>) -> VicidialParams {
    let max_level = v.and_then(|v| v.max_level).unwrap_or(3.0);
    if !(max_level.is_finite() && (1.0..=10.0).contains(&max_level)) {
        p.add(
            "vicidial.max_level",
            format!("must be 1 to 10, got {max_level}"),
        );
    }
    let initial_level = v.and_then(|v| v.initial_level).unwrap_or(1.0);
    if !(initial_level.is_finite() && initial_level >= 1.0 && initial_level <= max_level) {
        p.add(
            "vicidial.initial_level",
            format!("must be 1 to max_level, got {initial_level}"),
        );
    }
    let intensity = v.and_then(|v| v.intensity).unwrap_or(0.0);
    if !(intensity.is_finite() && (-40.0..=40.0).contains(&intensity)) {
        p.add(
            "vicidial.intensity",
            format!("must be -40 to 40, got {intensity}"),
        );
    }
    let dl_diff_target = v.and_then(|v| v.dl_diff_target).unwrap_or(0.0);
    if !(dl_diff_target.is_finite() && (-20.0..=20.0).contains(&dl_diff_target)) {
        p.add(
            "vicidial.dl_diff_target",
            format!("must be -20 to 20, got {dl_diff_target}"),
        );
    }
    VicidialParams {
        initial_level,
        max_level,
        intensity,
        dl_diff_target,
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    use super::*;

    const MINIMAL: &str = r#"
name = "t"
duration_s = 3600
[agents]
count = 5
[calls]
answer_rate = 0.2
talk = { dist = "exponential", mean_s = 60 }
"#;

    #[test]
    fn a_minimal_workload_takes_the_defaults() {
        let w = WorkloadSpec::from_toml(MINIMAL).unwrap().resolve().unwrap();
        assert_eq!(w.agents(), 5);
        assert_eq!(w.seed, 1);
        assert_eq!(w.modes.len(), 1);
        assert_eq!(w.modes[0].name(), "predictive");
        assert_eq!(w.ring_unanswered, Dist::Fixed(Duration::from_secs(25)));
        assert_eq!(w.campaign.connect_window(), Duration::from_secs(2));
        assert!((w.campaign.nuisance().cap - 0.03).abs() < 1e-12);
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let text = r#"
name = ""
duration_s = 10
modes = ["predictive", "predictive", "turbo"]
[agents]
count = 0
[calls]
answer_rate = 1.5
ring_timeout_ms = 5000
talk = { dist = "gamma", mean_s = 60 }
wrap = { dist = "fixed", mean_s = 5, cv = 2.0 }
[nuisance]
cap_pct = 0
"#;
        let Err(WorkloadError::Invalid(problems)) =
            WorkloadSpec::from_toml(text).unwrap().resolve()
        else {
            panic!("must be refused");
        };
        let all = problems.join("\n");
        for key in [
            "name:",
            "duration_s:",
            "modes: \"predictive\" is listed twice",
            "modes: unknown mode \"turbo\"",
            "agents:",
            "calls.answer_rate:",
            "calls.talk.dist:",
            "calls.wrap.cv:",
            "calls.ring_timeout_ms:",
            "nuisance.cap_pct:",
        ] {
            assert!(all.contains(key), "{key} missing from:\n{all}");
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        let text = format!("{MINIMAL}\nanswer_rate = 0.3\n");
        assert!(matches!(
            WorkloadSpec::from_toml(&text),
            Err(WorkloadError::Syntax(_))
        ));
    }

    #[test]
    fn distributions_have_their_means() {
        let mut rng = SmallRng::seed_from_u64(7);
        let cases = [
            ("exponential", 60.0, None),
            ("lognormal", 8.0, Some(0.5)),
            ("lognormal", 300.0, Some(1.5)),
            ("fixed", 10.0, None),
        ];
        for (dist, mean_s, cv) in cases {
            let mut p = Problems::default();
            let d = resolve_dist(
                &mut p,
                "x",
                &DistSpec {
                    dist: dist.into(),
                    mean_s,
                    cv,
                },
            );
            assert!(p.0.is_empty());
            assert!((d.mean().as_secs_f64() - mean_s).abs() < 1e-6 * mean_s);
            let n = 200_000;
            let avg = (0..n)
                .map(|_| d.sample(&mut rng).as_secs_f64())
                .sum::<f64>()
                / n as f64;
            assert!(
                (avg - mean_s).abs() < 0.02 * mean_s,
                "{dist} {mean_s}: {avg}"
            );
        }
    }
}
