//! Predictive pacing: the zone's estimates ([`Estimator`]) turned into calls (`launches`).
//!
//! Layering: the zone board owns an [`Estimator`], feeds it every attempt and handle time,
//! and calls [`Estimator::fill_snapshot`] when it publishes a [`ZoneSnapshot`]. The pacer
//! ([`crate::pacing::Pacer`]) reads the snapshot and calls `launches`. All the costly work
//! (one pass over the busy agents) happens at publication, at event rate; the decision per
//! tick is a short loop over small arrays, with no allocation once its scratch has grown.
//!
//! The model, per decision: a call launched now is answered live with probability `p` about
//! `T_a` later (the measured time to answer) and needs an agent within the connect window
//! after that. Agents available then are the ready ones plus the busy ones that finish in
//! time ([`FreeForecast`], from each busy agent's elapsed time against the measured handle
//! times). Demand is the calls waiting, the live answers still to come from calls already
//! ringing, and the new calls. Nuisance is the excess of demand over agents, taken with its
//! full distribution: exact (Poisson-binomial) for small teams, where a mean would be badly
//! wrong, and normal when the counts are large.
//!
//! Calls go while each new call's risk (that, answered live, it finds no agent) stays under
//! a limit set by the window's nuisance budget, and the calls in flight stay within it
//! (`Budget`). The realised rate feeds back through the budget, correcting what the model
//! leaves out: it matches demand and agents over one horizon (a call answered early cannot
//! use an agent freed later), and does not know customers who hang up in the window.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::pacing::ZoneSnapshot;

mod estimator;

pub use estimator::{Estimator, EstimatorConfig};

/// Most busy agents whose freeing distribution [`FreeForecast`] holds exactly; beyond, a
/// normal approximation is used (σ is then large enough for it).
pub const FREE_PMF_LEN: usize = 32;
/// Points of the pending-call profile ([`PendingProfile`]).
pub const PROFILE_LEN: usize = 16;

/// Without this many attempts, live answers and handle times measured, predictive paces as
/// progressive: estimates from fewer are too noisy to over-dial on.
pub const MIN_ATTEMPTS: u32 = 40;
pub const MIN_LIVE: u32 = 30;
pub const MIN_HANDLES: u32 = 30;

/// The pacer aims at this fraction of the cap, keeping the rest for what the model does not
/// see (customers hanging up inside the connect window, estimates drifting).
pub const CAP_SAFETY: f64 = 0.8;
/// Highest risk a single call may carry, however large the bank: past a coin toss, a live
/// answer is more likely a nuisance than a conversation.
pub const MAX_CALL_RISK: f64 = 0.5;

/// How the busy agents are expected to free up in time for a call launched now: the number
/// `F` of busy agents that finish by the time that call would be answered plus the connect
/// window. Filled by [`Estimator::fill_snapshot`]. The default (all zero) forecasts no agent
/// freeing, which only makes the pacer more careful.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FreeForecast {
    /// `E[F]`.
    pub mean: f32,
    /// `Var[F]`.
    pub var: f32,
    /// `P(F = k)` for `k < FREE_PMF_LEN`, when `exact`.
    pub pmf: [f32; FREE_PMF_LEN],
    /// Whether `pmf` is the whole distribution (at most `FREE_PMF_LEN - 1` agents busy).
    pub exact: bool,
}

/// How a call still without an outcome resolves with its age, for the pacer to estimate the
/// live answers still to come from calls it launched: at age `k × step_ms`, `pending[k]` is
/// the probability the call is still dialing or ringing, `live[k]` the probability it is
/// still ringing *and* will be answered live. Zero beyond the last point. The default
/// (`step_ms = 0`) means unknown, and pending calls then count as freshly launched.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PendingProfile {
    pub step_ms: u32,
    pub pending: [f32; PROFILE_LEN],
    pub live: [f32; PROFILE_LEN],
}

impl PendingProfile {
    fn at(&self, age: Duration) -> (f64, f64) {
        if self.step_ms == 0 {
            return (1.0, 0.0);
        }
        let x = age.as_secs_f64() * 1000.0 / f64::from(self.step_ms);
        // `as` truncates toward zero (x is finite and non-negative) and saturates.
        let k = x as usize;
        if k + 1 >= PROFILE_LEN {
            return (0.0, 0.0);
        }
        let t = x - k as f64;
        let lerp = |a: f32, b: f32| f64::from(a) * (1.0 - t) + f64::from(b) * t;
        (
            lerp(self.pending[k], self.pending[k + 1]),
            lerp(self.live[k], self.live[k + 1]),
        )
    }
}

/// What the pacer launched recently, to estimate how many live answers its calls still
/// dialing or ringing will bring: a young call is still likely to be answered, one that has
/// rung for twenty seconds much less.
#[derive(Debug, Clone, Default)]
pub(crate) struct LaunchLog {
    /// (when, how many), oldest first; launches close in time share an entry.
    entries: VecDeque<(Instant, u32)>,
}

/// Launches this close to the previous entry join it: ages are needed to a few hundred ms.
const LAUNCH_MERGE: Duration = Duration::from_millis(250);
/// Entries older than this are dropped: no ring lasts longer (the campaign maximum is 300 s).
const LAUNCH_KEEP: Duration = Duration::from_secs(330);

impl LaunchLog {
    pub(crate) fn record(&mut self, now: Instant, n: u32) {
        if n == 0 {
            return;
        }
        match self.entries.back_mut() {
            Some((at, count)) if now.saturating_duration_since(*at) < LAUNCH_MERGE => {
                *count = count.saturating_add(n)
            }
            _ => self.entries.push_back((now, n)),
        }
        while self
            .entries
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) > LAUNCH_KEEP)
        {
            self.entries.pop_front();
        }
    }

    /// Launches that did not happen after all (the latest first).
    pub(crate) fn take_back(&mut self, mut n: u32) {
        while n > 0 {
            let Some((_, count)) = self.entries.back_mut() else {
                return;
            };
            let k = n.min(*count);
            *count -= k;
            n -= k;
            if *count == 0 {
                self.entries.pop_back();
            }
        }
    }

    /// The probability that one of the calls now dialing or ringing will be answered live,
    /// from the ages of recent launches; `fresh` (the answer rate) when unknown.
    pub(crate) fn pending_live(
        &mut self,
        now: Instant,
        profile: &PendingProfile,
        fresh: f64,
    ) -> f64 {
        if profile.step_ms == 0 {
            return fresh;
        }
        // Launches past the profile have all resolved; they only cost time here.
        let horizon = Duration::from_millis(u64::from(profile.step_ms) * PROFILE_LEN as u64);
        while self
            .entries
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) > horizon)
        {
            self.entries.pop_front();
        }
        let (mut pending, mut live) = (0.0, 0.0);
        for &(at, count) in &self.entries {
            let (p, l) = profile.at(now.saturating_duration_since(at));
            pending += f64::from(count) * p;
            live += f64::from(count) * l;
        }
        // Too few of the calls in flight are explained by our launches (a restart): take
        // them as fresh, which over-counts their answers and so errs careful.
        if pending < 0.5 {
            return fresh;
        }
        (live / pending).clamp(0.0, 1.0)
    }
}

/// Whether the snapshot carries enough measurements to dial predictively.
pub fn has_data(snap: &ZoneSnapshot) -> bool {
    snap.attempts_measured >= MIN_ATTEMPTS
        && snap.live_measured >= MIN_LIVE
        && snap.handles_measured >= MIN_HANDLES
        && snap.answer_rate > 0.0
}

/// The calls a decision has to account for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Demand {
    pub ready: u32,
    /// Answered live, waiting for an agent.
    pub waiting: u32,
    /// Dialing or ringing, each answered live with probability `pending_live`.
    pub pending: u32,
    pub pending_live: f64,
    /// Launched by the loop but not yet in the snapshot: as fresh as new calls.
    pub fresh: u32,
    /// Live-answer probability of a new call.
    pub answer_rate: f64,
}

/// The nuisance budget of a decision.
///
/// The bank is what the window can still take, `cap × live − nuisance`, less one standard
/// deviation of the nuisance count expected so far (`√(cap × live)`, the count being about
/// Poisson). Measured in those standard deviations, it sets the risk a new call may carry:
/// `θ = cap × 2^(bank / σ)`. A zone on target (bank near zero) launches the calls that lower
/// its expected rate; one ahead doubles the risk it accepts per standard deviation of
/// surplus, one behind halves it. Counting in standard deviations makes a small team, whose
/// rate swings widely over a day, run further under the cap than a large one, whose rate is
/// nearly deterministic and can run close to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Budget {
    /// The cap aimed at: the campaign's, times [`CAP_SAFETY`].
    pub cap: f64,
    /// Nuisance calls the window can still take (negative when over), less the deviation.
    pub banked: f64,
    /// The risk a new call may carry.
    pub theta: f64,
    /// The window's counts so far.
    pub live: f64,
    pub nuisance: f64,
}

impl Budget {
    /// The campaign's cap (a fraction) and the window's counts.
    pub(crate) fn new(cap: f64, window_live: u64, window_nuisance: u64) -> Self {
        // A cap out of (0, 1] (refused by the campaign spec) allows no risk at all.
        let cap = if cap.is_finite() {
            cap.clamp(0.0, 1.0)
        } else {
            0.0
        } * CAP_SAFETY;
        let expected = cap * window_live as f64;
        let sd = expected.sqrt();
        let banked = expected - window_nuisance as f64 - sd;
        let theta = cap * (banked / sd.max(1.0)).exp2();
        Self {
            cap,
            banked,
            theta: theta.clamp(cap / 16.0, MAX_CALL_RISK.max(cap)),
            live: window_live as f64,
            nuisance: window_nuisance as f64,
        }
    }

    /// Whether the window has no nuisance call left to spend: it has had one, and its count
    /// has reached the cap aimed at for its live answers.
    pub(crate) fn spent(&self) -> bool {
        self.nuisance > 0.0 && self.nuisance >= self.cap * self.live
    }

    /// The expected nuisance calls allowed among calls in flight that will bring `live`
    /// live answers: their share of the cap, plus the bank when there is one.
    fn allowed(&self, live: f64) -> f64 {
        self.cap * live + self.banked.max(0.0)
    }
}

/// Bernoulli steps beyond which the exact distribution gives way to the normal one.
const EXACT_MAX_TERMS: u32 = 400;

/// How many new calls to launch, at most `ceiling`. Call `n`'s risk is the probability
/// that, answered live, it finds no agent: `P(Y_{n−1} ≥ 0)` for `Y` the demand in excess
/// of agents, which grows with every call. Calls go:
///
/// - while their risk is at most `min(θ, cap)`: each keeps the expected rate under the cap;
/// - beyond, while their risk is at most `θ` and the expected nuisance calls among all calls
///   in flight, `E[Y⁺]`, stay within [`Budget::allowed`] — the nuisance budget.
pub(crate) fn launches(
    d: &Demand,
    free: &FreeForecast,
    budget: Budget,
    ceiling: u32,
    scratch: &mut Vec<f64>,
) -> u32 {
    let p = d.answer_rate.clamp(0.0, 1.0);
    let q = d.pending_live.clamp(0.0, 1.0);
    let base_live = f64::from(d.waiting) + f64::from(d.pending) * q + f64::from(d.fresh) * p;
    let slack = |excess: f64, n: u32| budget.allowed(base_live + f64::from(n) * p) - excess;
    let terms = d
        .pending
        .saturating_add(d.fresh)
        .saturating_add(ceiling.min(EXACT_MAX_TERMS));
    let risk = Risk {
        safe: budget.theta.min(budget.cap),
        theta: budget.theta,
        cap: budget.cap,
    };
    if free.exact && terms <= EXACT_MAX_TERMS {
        exact(d, free, p, q, ceiling, &slack, risk, scratch)
    } else {
        normal(d, free, p, q, ceiling, &slack, risk)
    }
}

/// The risk limits of one decision (see [`launches`]).
#[derive(Debug, Clone, Copy)]
struct Risk {
    safe: f64,
    theta: f64,
    cap: f64,
}

/// One more Bernoulli(`p`) term added to the distribution in `pmf`.
fn bernoulli_step(pmf: &mut Vec<f64>, p: f64) {
    pmf.push(0.0);
    for i in (1..pmf.len()).rev() {
        pmf[i] = pmf[i] * (1.0 - p) + pmf[i - 1] * p;
    }
    pmf[0] *= 1.0 - p;
}

#[allow(clippy::too_many_arguments)]
fn exact(
    d: &Demand,
    free: &FreeForecast,
    p: f64,
    q: f64,
    ceiling: u32,
    slack: &dyn Fn(f64, u32) -> f64,
    risk: Risk,
    pmf: &mut Vec<f64>,
) -> u32 {
    // pmf[i] = P(Y = i + lo), Y = waiting − ready − F + Bin(pending, q) + Bin(fresh, p),
    // the excess of demand over agents before any new call.
    let support = free
        .pmf
        .iter()
        .rposition(|&x| x > 0.0)
        .map_or(1, |last| last + 1);
    pmf.clear();
    pmf.extend(free.pmf[..support].iter().rev().map(|&x| f64::from(x)));
    if support == 1 && pmf[0] == 0.0 {
        pmf[0] = 1.0;
    }
    let lo = i64::from(d.waiting) - i64::from(d.ready) - (support as i64 - 1);
    for _ in 0..d.pending {
        bernoulli_step(pmf, q);
    }
    for _ in 0..d.fresh {
        bernoulli_step(pmf, p);
    }
    // Index of the value 0 (may be outside the vector on either side).
    let zero = -lo;
    let (mut excess, mut at_least_0) = (0.0, 0.0);
    for (i, &x) in pmf.iter().enumerate() {
        let v = i as i64 + lo;
        if v >= 0 {
            excess += v as f64 * x;
            at_least_0 += x;
        }
    }
    let (mut n_safe, mut n_theta, mut n_slack) = (0, 0, 0);
    let top = risk.safe.max(risk.theta);
    for n in 1..=ceiling {
        // Call n finds no agent if the demand before it already meets them all.
        let r = at_least_0;
        if r > top {
            break;
        }
        let at_minus_1 = usize::try_from(zero - 1)
            .ok()
            .and_then(|i| pmf.get(i))
            .copied()
            .unwrap_or(0.0);
        excess += p * at_least_0;
        at_least_0 += p * at_minus_1;
        bernoulli_step(pmf, p);
        if r <= risk.safe {
            n_safe = n;
        }
        if r <= risk.theta {
            n_theta = n;
        }
        if slack(excess, n) >= 0.0 {
            n_slack = n;
        }
    }
    n_safe.max(n_theta.min(n_slack))
}

fn normal(
    d: &Demand,
    free: &FreeForecast,
    p: f64,
    q: f64,
    ceiling: u32,
    slack: &dyn Fn(f64, u32) -> f64,
    risk: Risk,
) -> u32 {
    let mean0 = f64::from(d.waiting) - f64::from(d.ready) - f64::from(free.mean)
        + f64::from(d.pending) * q
        + f64::from(d.fresh) * p;
    let var0 = f64::from(free.var.max(0.0))
        + f64::from(d.pending) * q * (1.0 - q)
        + f64::from(d.fresh) * p * (1.0 - p);
    let at = |n: u32| {
        let mean = mean0 + f64::from(n) * p;
        let sd = (var0 + f64::from(n) * p * (1.0 - p)).sqrt();
        if sd < 1e-9 {
            return (mean.max(0.0), if mean > -0.5 { 1.0 } else { 0.0 });
        }
        let z = mean / sd;
        let excess = sd * phi(z) + mean * big_phi(z);
        (excess, big_phi((mean + 0.5) / sd))
    };
    // Calls 1..=prefix(t) have a risk P(Y_{n-1} ≥ 0) of at most t.
    let prefix = |t: f64| {
        let (mut lo, mut hi) = (0u32, ceiling);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if at(mid).1 > t {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        lo
    };
    let n_safe = prefix(risk.safe);
    let n_theta = prefix(risk.theta);
    // The slack grows while the risk is under the cap, then falls.
    let peak = prefix(risk.cap).min(n_theta);
    let n_slack = if slack(at(peak).0, peak) < 0.0 {
        0
    } else {
        let (mut lo, mut hi) = (peak, n_theta);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if slack(at(mid).0, mid) >= 0.0 {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo
    };
    n_safe.max(n_theta.min(n_slack))
}

/// Standard normal density.
fn phi(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Standard normal distribution function.
fn big_phi(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// The complementary error function, Numerical Recipes' Chebyshev fit (relative error below
/// 1.2e-7: plenty against estimates good to a percent).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::NuisanceWindow;
    use crate::clock::{Clock, VirtualClock};
    use crate::pacing::nuisance::NuisanceCounts;
    use crate::pacing::{Pacer, PacingPolicy, PREDICTIVE_REVIEW};

    const S: Duration = Duration::from_secs(1);

    fn demand(ready: u32, pending: u32, p: f64) -> Demand {
        Demand {
            ready,
            waiting: 0,
            pending,
            pending_live: p,
            fresh: 0,
            answer_rate: p,
        }
    }

    /// Nobody busy: F = 0 for sure.
    fn nobody_busy() -> FreeForecast {
        let mut f = FreeForecast {
            exact: true,
            ..FreeForecast::default()
        };
        f.pmf[0] = 1.0;
        f
    }

    /// Twelve busy agents, each free in time with probability 0.5.
    fn twelve_half_busy() -> FreeForecast {
        let mut f = nobody_busy();
        for i in 0..12 {
            for k in (1..=i + 1).rev() {
                f.pmf[k] = f.pmf[k] * 0.5 + f.pmf[k - 1] * 0.5;
            }
            f.pmf[0] *= 0.5;
        }
        f.mean = 6.0;
        f.var = 3.0;
        f
    }

    fn budget(cap: f64, banked: f64, theta: f64) -> Budget {
        Budget {
            cap,
            banked,
            theta,
            live: 0.0,
            nuisance: 0.0,
        }
    }

    #[test]
    fn the_risk_a_call_may_carry_follows_the_bank_in_standard_deviations() {
        let cap = 0.03;
        let aimed = cap * CAP_SAFETY;
        // Nothing measured yet: the calls that keep the rate under the cap.
        let b = Budget::new(cap, 0, 0);
        assert!((b.theta - aimed).abs() < 1e-12);
        // 10000 live answers, exactly on target (σ ≈ 16.9 calls): half a standard deviation
        // under the σ margin... the bank is −σ, so θ halves.
        let on_target = (aimed * 10_000.0).round() as u64;
        let b = Budget::new(cap, 10_000, on_target);
        assert!((b.theta / aimed - 0.5).abs() < 0.05, "{}", b.theta / aimed);
        // Far ahead: capped at MAX_CALL_RISK; far behind: at a sixteenth of the aim.
        assert_eq!(Budget::new(cap, 10_000, 0).theta, MAX_CALL_RISK);
        assert!((Budget::new(cap, 10_000, 600).theta - aimed / 16.0).abs() < 1e-12);
    }

    #[test]
    fn a_lone_ready_agent_gets_one_call_unless_the_bank_allows_more() {
        let mut scratch = Vec::new();
        let d = demand(1, 0, 0.3);
        // A second call would be a nuisance 30 % of the time (if the first answers).
        assert_eq!(
            launches(
                &d,
                &nobody_busy(),
                budget(0.03, 0.0, 0.03),
                10,
                &mut scratch
            ),
            1
        );
        // With risk allowed up to 50 % and half an expected nuisance banked: the n-th call's
        // risk P(Bin(n−1, .3) ≥ 1) is .3 for the 2nd, .51 for the 3rd.
        assert_eq!(
            launches(&d, &nobody_busy(), budget(0.03, 0.5, 0.5), 10, &mut scratch),
            2
        );
        // Risk allowed up to 80 %: the bank binds, E[(Bin(n, .3) − 1)⁺] ≤ .5 + .009 n, which
        // holds up to n = 4 (.44) and not at 5 (.67).
        assert_eq!(
            launches(&d, &nobody_busy(), budget(0.03, 0.5, 0.8), 10, &mut scratch),
            4
        );
        // The same risk allowed without a bank: only the calls the share pays for.
        assert_eq!(
            launches(&d, &nobody_busy(), budget(0.03, 0.0, 0.5), 10, &mut scratch),
            1
        );
    }

    #[test]
    fn over_budget_only_calls_under_the_risk_limit_go() {
        let mut scratch = Vec::new();
        // Ten ready agents at 20 %: the first calls can hardly all answer.
        let d = demand(10, 0, 0.2);
        let deep = launches(
            &d,
            &nobody_busy(),
            budget(0.03, -5.0, 0.002),
            200,
            &mut scratch,
        );
        let shallow = launches(
            &d,
            &nobody_busy(),
            budget(0.03, -0.5, 0.015),
            200,
            &mut scratch,
        );
        assert!(deep >= 10, "never below one per ready agent: {deep}");
        assert!(shallow > deep, "{shallow} vs {deep}");
        assert!(shallow < 60, "{shallow}");
    }

    #[test]
    fn exact_and_normal_agree_on_a_medium_zone() {
        let mut scratch = Vec::new();
        let d = Demand {
            ready: 3,
            waiting: 0,
            pending: 20,
            pending_live: 0.08,
            fresh: 2,
            answer_rate: 0.2,
        };
        let f = twelve_half_busy();
        for b in [budget(0.03, 0.0, 0.03), budget(0.03, 1.0, 0.1)] {
            let exact = launches(&d, &f, b, 500, &mut scratch);
            let normal = launches(
                &d,
                &FreeForecast { exact: false, ..f },
                b,
                500,
                &mut scratch,
            );
            assert!(exact.abs_diff(normal) <= 2, "exact {exact} normal {normal}");
            assert!(exact > 5, "{exact}");
        }
        // Customers already waiting for the few agents: no call is safe.
        let crowded = Demand { waiting: 8, ..d };
        assert_eq!(
            launches(&crowded, &f, budget(0.03, 0.0, 0.03), 500, &mut scratch),
            0
        );
    }

    #[test]
    fn the_ceiling_holds() {
        let mut scratch = Vec::new();
        let d = demand(50, 0, 0.05);
        assert_eq!(
            launches(&d, &nobody_busy(), budget(0.03, 0.0, 0.03), 7, &mut scratch),
            7
        );
        let many = FreeForecast {
            exact: false,
            ..nobody_busy()
        };
        assert_eq!(
            launches(&d, &many, budget(0.03, 0.0, 0.03), 7, &mut scratch),
            7
        );
    }

    #[test]
    fn the_normal_tail_is_accurate() {
        assert!((big_phi(0.0) - 0.5).abs() < 1e-7);
        assert!((big_phi(1.959_964) - 0.975).abs() < 1e-6);
        assert!((big_phi(-3.0) - 0.001_349_9).abs() < 1e-6);
    }

    #[test]
    fn young_calls_are_likelier_to_be_answered_than_old_ones() {
        let origin = VirtualClock::new().now();
        let mut e = Estimator::new(EstimatorConfig::new(NuisanceWindow::CalendarDay, 2 * S));
        // 20 % answered live after 5 s, the rest give up at 25 s.
        for i in 0..100 {
            let live = i % 5 == 0;
            e.record_attempt(origin, live, if live { 5 * S } else { 25 * S });
        }
        let mut snap = ZoneSnapshot::default();
        e.fill_snapshot(&mut snap, &[], NuisanceCounts::default());
        let prof = snap.pending_profile;
        let mut log = LaunchLog::default();
        log.record(origin, 10);
        let fresh = log.pending_live(origin, &prof, 0.2);
        assert!((fresh - 0.2).abs() < 0.01, "{fresh}");
        let later = log.pending_live(origin + 10 * S, &prof, 0.2);
        assert!(later < 0.01, "past the answer times: {later}");
        // Launches given back are forgotten; an empty log knows nothing.
        log.take_back(10);
        assert!((log.pending_live(origin + 10 * S, &prof, 0.2) - 0.2).abs() < 1e-9);
    }

    fn ready(agents: u32) -> ZoneSnapshot {
        ZoneSnapshot {
            agents_ready: agents,
            agents_total: agents,
            ..ZoneSnapshot::default()
        }
    }

    /// A snapshot with a measured zone: 15 % live answers after 8 s, the rest after 25 s,
    /// 70 s handle times.
    fn measured(snap: ZoneSnapshot, busy: &[Duration]) -> ZoneSnapshot {
        let origin = VirtualClock::new().now();
        let mut e = Estimator::new(EstimatorConfig::new(
            NuisanceWindow::CalendarDay,
            Duration::from_secs(2),
        ));
        for i in 0..200 {
            let live = i % 20 < 3;
            let ring = Duration::from_secs(if live { 8 } else { 25 });
            e.record_attempt(origin, live, ring);
        }
        for _ in 0..50 {
            e.record_handle(origin, Duration::from_secs(70));
        }
        let mut snap = snap;
        e.fill_snapshot(&mut snap, busy, NuisanceCounts::default());
        snap
    }

    #[test]
    fn predictive_dials_ahead_for_ready_agents_and_agents_about_to_free() {
        let origin = VirtualClock::new().now();
        let policy = PacingPolicy::Predictive {
            lines_per_agent: 1.0,
            nuisance_cap: 0.03,
        };
        // Four ready agents at 15 % answers: many more calls than agents.
        let mut pacer = Pacer::new(policy);
        let four = measured(ready(4), &[]);
        assert!(has_data(&four));
        let n = pacer.decide(origin, &four, 0);
        assert!((8..=40).contains(&n), "{n}");
        assert_eq!(
            pacer.next_decision_at(origin),
            Some(origin + PREDICTIVE_REVIEW),
            "ringing calls age: decide again soon"
        );
        // Calls already out count: the same snapshot with them in flight adds none.
        assert_eq!(pacer.decide(origin, &four, n), 0);

        // No agent ready, but three about to end their 70 s calls: dial for them.
        let busy = [Duration::from_secs(65); 3];
        let freeing = measured(
            ZoneSnapshot {
                agents_total: 3,
                ..ZoneSnapshot::default()
            },
            &busy,
        );
        assert!(Pacer::new(policy).decide(origin, &freeing, 0) > 0);
        // Three that just started: nothing.
        let just_busy = measured(
            ZoneSnapshot {
                agents_total: 3,
                ..ZoneSnapshot::default()
            },
            &[Duration::from_secs(1); 3],
        );
        assert_eq!(Pacer::new(policy).decide(origin, &just_busy, 0), 0);
    }

    #[test]
    fn predictive_over_budget_dials_less_but_feeds_its_ready_agents() {
        let origin = VirtualClock::new().now();
        let policy = PacingPolicy::Predictive {
            lines_per_agent: 1.0,
            nuisance_cap: 0.03,
        };
        let on_target = measured(ready(5), &[]);
        let over = ZoneSnapshot {
            window_live: 100,
            window_nuisance: 50,
            ..on_target
        };
        let n_on_target = Pacer::new(policy).decide(origin, &on_target, 2);
        let n_over = Pacer::new(policy).decide(origin, &over, 2);
        assert!(
            n_over >= 3,
            "one call per ready agent without one: {n_over}"
        );
        assert!(n_over < n_on_target, "{n_over} vs {n_on_target}");
    }

    #[test]
    fn a_spent_budget_paces_one_line_per_free_agent_and_no_more() {
        let origin = VirtualClock::new().now();
        let policy = PacingPolicy::Predictive {
            lines_per_agent: 1.0,
            nuisance_cap: 0.03,
        };
        // 3 nuisance calls in 100 live answers: at the cap (and past the 80 % aimed at).
        let spent = ZoneSnapshot {
            window_live: 100,
            window_nuisance: 3,
            ..measured(ready(5), &[])
        };
        assert_eq!(Pacer::new(policy).decide(origin, &spent, 2), 3);
        assert_eq!(Pacer::new(policy).decide(origin, &spent, 5), 0);
    }
}
