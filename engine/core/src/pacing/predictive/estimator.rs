//! The zone's online estimates for predictive pacing, and the snapshot fields they fill.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{FreeForecast, PendingProfile, FREE_PMF_LEN, PROFILE_LEN};
use crate::campaign::NuisanceWindow;
use crate::pacing::nuisance::NuisanceCounts;
use crate::pacing::ZoneSnapshot;

/// Settings of an [`Estimator`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EstimatorConfig {
    /// The window the campaign's nuisance cap is enforced over.
    pub window: NuisanceWindow,
    /// How long a live answer may wait for an agent.
    pub connect_window: Duration,
    /// Attempts kept (the answer rate and answer times are over these). Default 1000.
    pub max_attempts: usize,
    /// Handle times kept. Default 400.
    pub max_handles: usize,
    /// Samples older than this are dropped, down to `min_kept` of each kind, so estimates
    /// follow the time of day. Default 1 hour.
    pub max_age: Duration,
    /// Samples kept whatever their age, so a pause does not erase what was learnt. Default 100.
    pub min_kept: usize,
}

impl EstimatorConfig {
    pub fn new(window: NuisanceWindow, connect_window: Duration) -> Self {
        Self {
            window,
            connect_window,
            max_attempts: 1000,
            max_handles: 400,
            max_age: Duration::from_secs(3600),
            min_kept: 100,
        }
    }
}

/// Durations in milliseconds, kept sorted, for empirical quantiles and survival counts.
#[derive(Debug, Clone, Default)]
struct Sorted(Vec<u32>);

impl Sorted {
    fn insert(&mut self, ms: u32) {
        let at = self.0.partition_point(|&x| x < ms);
        self.0.insert(at, ms);
    }

    fn remove(&mut self, ms: u32) {
        let at = self.0.partition_point(|&x| x < ms);
        if self.0.get(at) == Some(&ms) {
            self.0.remove(at);
        }
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// Samples strictly above `ms`.
    fn above(&self, ms: u32) -> usize {
        self.0.len() - self.0.partition_point(|&x| x <= ms)
    }

    /// The `q`-quantile (nearest rank), or `None` without samples.
    fn quantile(&self, q: f64) -> Option<u32> {
        let n = self.0.len();
        if n == 0 {
            return None;
        }
        // `as` saturates; the product is within 0..n.
        let i = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
        Some(self.0[i])
    }

    fn max(&self) -> Option<u32> {
        self.0.last().copied()
    }
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// A zone's online estimates for predictive pacing: the live-answer rate, the time to an
/// outcome (answer, or anything else), and the handle time (talk + wrap-up), each over a
/// sliding window of recent samples so they follow drift through the day.
///
/// Sans-IO: every sample comes with its `now`; an earlier `now` than one already seen is
/// taken as the latest (time going backwards is ignored).
#[derive(Debug, Clone)]
pub struct Estimator {
    cfg: EstimatorConfig,
    latest: Option<Instant>,
    /// (when, answered live, time to answer or to the other outcome, ms)
    attempts: VecDeque<(Instant, bool, u32)>,
    live: usize,
    answer_ms: Sorted,
    other_ms: Sorted,
    handles: VecDeque<(Instant, u32)>,
    handle_ms: Sorted,
    handle_sum_ms: u64,
    /// Live answers' waits for an agent: (ms waited, whether the customer hung up then,
    /// rather than being connected or reaching the end of the connect window).
    waits: VecDeque<(u32, bool)>,
    /// How long a live answer may wait for an agent before too many customers leave:
    /// the connect window, or less when customers hang up sooner (see `record_wait`).
    tolerance_ms: u32,
}

/// Waits kept for the patience estimate.
const MAX_WAITS: usize = 1000;
/// Live answers seen before the patience estimate replaces the connect window.
const MIN_WAITS: usize = 30;
/// The share of waiting customers allowed to hang up before their agent comes: the wait
/// tolerance is the time by which this share has left (Kaplan–Meier on the waits).
const PATIENCE_QUANTILE: f64 = 0.01;

impl Estimator {
    pub fn new(cfg: EstimatorConfig) -> Self {
        Self {
            cfg,
            latest: None,
            attempts: VecDeque::new(),
            live: 0,
            answer_ms: Sorted::default(),
            other_ms: Sorted::default(),
            handles: VecDeque::new(),
            handle_ms: Sorted::default(),
            handle_sum_ms: 0,
            waits: VecDeque::new(),
            tolerance_ms: millis(cfg.connect_window),
        }
    }

    /// A live answer's wait for an agent ended: connected after `waited`, or the connect
    /// window closed (`customer_left` false: the wait is censored there), or the customer
    /// hung up after `waited` (`customer_left` true).
    ///
    /// Why: the connect window is the regulator's limit, but a customer who hangs up sooner
    /// is a nuisance call too. Forecasting agents freeing up within the whole window would
    /// then launch calls that customers do not wait for; the horizon uses the wait most
    /// customers actually tolerate instead, learnt from these samples.
    pub fn record_wait(&mut self, waited: Duration, customer_left: bool) {
        self.waits.push_back((millis(waited), customer_left));
        while self.waits.len() > MAX_WAITS {
            self.waits.pop_front();
        }
        self.tolerance_ms = self.tolerance();
    }

    /// The wait by which [`PATIENCE_QUANTILE`] of customers have hung up, from the waits
    /// (Kaplan–Meier: connected and timed-out waits are censored), capped by the window.
    fn tolerance(&self) -> u32 {
        let window = millis(self.cfg.connect_window);
        if self.waits.len() < MIN_WAITS {
            return window;
        }
        let mut w: Vec<(u32, bool)> = self.waits.iter().copied().collect();
        w.sort_unstable();
        let mut at_risk = w.len() as f64;
        let mut survival = 1.0f64;
        let mut i = 0;
        while i < w.len() {
            let t = w[i].0;
            let (mut events, mut gone) = (0.0, 0.0);
            while i < w.len() && w[i].0 == t {
                if w[i].1 {
                    events += 1.0;
                }
                gone += 1.0;
                i += 1;
            }
            if events > 0.0 {
                survival *= 1.0 - events / at_risk;
                if 1.0 - survival > PATIENCE_QUANTILE {
                    return t.min(window);
                }
            }
            at_risk -= gone;
        }
        window
    }

    /// The wait a live answer is expected to tolerate (see [`Estimator::record_wait`]).
    pub fn wait_tolerance(&self) -> Duration {
        Duration::from_millis(u64::from(self.tolerance_ms))
    }

    pub fn config(&self) -> &EstimatorConfig {
        &self.cfg
    }

    fn tick(&mut self, now: Instant) -> Instant {
        let now = match self.latest {
            Some(l) if now < l => l,
            _ => now,
        };
        self.latest = Some(now);
        now
    }

    /// One attempt reached its outcome: answered by a live person (`answered_live`) after
    /// `time_to_answer_or_give_up` from launch, or anything else (no answer, busy, machine,
    /// failure) after that long.
    pub fn record_attempt(
        &mut self,
        now: Instant,
        answered_live: bool,
        time_to_answer_or_give_up: Duration,
    ) {
        let now = self.tick(now);
        let ms = millis(time_to_answer_or_give_up);
        self.attempts.push_back((now, answered_live, ms));
        if answered_live {
            self.live += 1;
            self.answer_ms.insert(ms);
        } else {
            self.other_ms.insert(ms);
        }
        let keep_from = now.checked_sub(self.cfg.max_age);
        while let Some(&(at, live, ms)) = self.attempts.front() {
            let too_many = self.attempts.len() > self.cfg.max_attempts.max(1);
            let too_old =
                self.attempts.len() > self.cfg.min_kept && keep_from.is_some_and(|from| at < from);
            if !(too_many || too_old) {
                break;
            }
            self.attempts.pop_front();
            if live {
                self.live -= 1;
                self.answer_ms.remove(ms);
            } else {
                self.other_ms.remove(ms);
            }
        }
    }

    /// One agent call ended its wrap-up: `handle` is its talk plus wrap-up time.
    pub fn record_handle(&mut self, now: Instant, handle: Duration) {
        let now = self.tick(now);
        let ms = millis(handle);
        self.handles.push_back((now, ms));
        self.handle_ms.insert(ms);
        self.handle_sum_ms += u64::from(ms);
        let keep_from = now.checked_sub(self.cfg.max_age);
        while let Some(&(at, ms)) = self.handles.front() {
            let too_many = self.handles.len() > self.cfg.max_handles.max(1);
            let too_old =
                self.handles.len() > self.cfg.min_kept && keep_from.is_some_and(|from| at < from);
            if !(too_many || too_old) {
                break;
            }
            self.handles.pop_front();
            self.handle_ms.remove(ms);
            self.handle_sum_ms -= u64::from(ms);
        }
    }

    /// Attempts in the window.
    pub fn attempts_measured(&self) -> usize {
        self.attempts.len()
    }

    /// Live answers among them.
    pub fn live_measured(&self) -> usize {
        self.live
    }

    /// Handle times in the window.
    pub fn handles_measured(&self) -> usize {
        self.handles.len()
    }

    /// Fraction of the window's attempts answered live (0 without attempts).
    pub fn answer_rate(&self) -> f64 {
        if self.attempts.is_empty() {
            0.0
        } else {
            self.live as f64 / self.attempts.len() as f64
        }
    }

    pub fn mean_handle_time(&self) -> Duration {
        match self.handles.len() as u64 {
            0 => Duration::ZERO,
            n => Duration::from_millis(self.handle_sum_ms / n),
        }
    }

    /// Fills the estimate fields of `snap` (the board has set the counts): the answer rate,
    /// handle time and their sample counts, the nuisance counts of the campaign's window,
    /// the busy agents' freeing forecast and the pending-call profile.
    ///
    /// `busy_elapsed` has one entry per logged-in agent on a call or in wrap-up: how long it
    /// has been busy.
    pub fn fill_snapshot(
        &self,
        snap: &mut ZoneSnapshot,
        busy_elapsed: &[Duration],
        nuisance: NuisanceCounts,
    ) {
        snap.answer_rate = self.answer_rate();
        snap.attempts_measured = u32::try_from(self.attempts.len()).unwrap_or(u32::MAX);
        snap.live_measured = u32::try_from(self.live).unwrap_or(u32::MAX);
        snap.mean_handle_time = self.mean_handle_time();
        snap.handles_measured = u32::try_from(self.handles.len()).unwrap_or(u32::MAX);
        // Machine verdicts' estimated people count against the cap (see the meter).
        (snap.window_live, snap.window_nuisance) = match self.cfg.window {
            NuisanceWindow::CalendarDay => nuisance.day(),
            NuisanceWindow::Rolling30Days => nuisance.month(),
        };
        snap.agents_freeing = self.forecast(busy_elapsed);
        snap.pending_profile = self.profile();
    }

    /// When a call launched now would need its agent: at the quartiles of the time to
    /// answer, plus the wait customers tolerate (at most the connect window).
    fn horizons(&self) -> [u32; 3] {
        let w = self.tolerance_ms;
        [0.25, 0.5, 0.75].map(|q| self.answer_ms.quantile(q).unwrap_or(0).saturating_add(w))
    }

    fn forecast(&self, busy_elapsed: &[Duration]) -> FreeForecast {
        let mut f = FreeForecast::default();
        if self.handle_ms.len() == 0 {
            return f;
        }
        let mut busy: Vec<u32> = busy_elapsed.iter().map(|e| millis(*e)).collect();
        busy.sort_unstable();
        let survival = Survival::new(&self.handle_ms.0, &busy);
        let horizons = self.horizons();
        let exact = busy.len() < FREE_PMF_LEN;
        if exact {
            f.pmf[0] = 1.0;
        }
        let (mut mean, mut var) = (0.0f64, 0.0f64);
        for (i, &e) in busy.iter().enumerate() {
            let p = survival.frees_within(e, &horizons);
            mean += p;
            var += p * (1.0 - p);
            if exact {
                // Poisson-binomial by convolution, one agent at a time.
                let p = p as f32;
                for k in (1..=i + 1).rev() {
                    f.pmf[k] = f.pmf[k] * (1.0 - p) + f.pmf[k - 1] * p;
                }
                f.pmf[0] *= 1.0 - p;
            }
        }
        f.mean = mean as f32;
        f.var = var as f32;
        f.exact = exact;
        f
    }

    fn profile(&self) -> PendingProfile {
        let mut prof = PendingProfile::default();
        let (live, other) = (self.answer_ms.len(), self.other_ms.len());
        let total = live + other;
        let longest = self.answer_ms.max().max(self.other_ms.max()).unwrap_or(0);
        if total == 0 || longest == 0 {
            return prof;
        }
        // The last point is past every sample, so it is zero.
        let step = (longest / (PROFILE_LEN as u32 - 2)).max(1);
        prof.step_ms = step;
        let n = total as f64;
        for k in 0..PROFILE_LEN {
            let at = step.saturating_mul(k as u32);
            // Probability of a launched call still ringing at `at` (and to be answered live).
            let live_still = self.answer_ms.above(at) as f64 / n;
            let other_still = self.other_ms.above(at) as f64 / n;
            prof.live[k] = live_still as f32;
            prof.pending[k] = (live_still + other_still) as f32;
        }
        prof
    }
}

/// The handle-time survival function (Kaplan–Meier) from the calls that ended and the calls
/// still going, which are right-censored at their elapsed time. Without the calls still
/// going, the first calls to end after a start would all be short ones (the long ones have
/// not ended yet) and the zone would over-dial on them.
struct Survival {
    /// Distinct times (ms), the survival just after each, and how many are still at risk.
    times: Vec<u32>,
    surv: Vec<f64>,
    at_risk: Vec<usize>,
    total: usize,
    /// Mean handle time of a memoryless tail, s: exposure over endings (the exponential
    /// maximum-likelihood estimate with censoring), for beyond the data.
    tail_mean_s: f64,
}

/// Fewer calls than this still at risk at an elapsed time: the tail is assumed memoryless.
const TAIL_MIN: usize = 5;

impl Survival {
    /// `ended` and `going` sorted ascending.
    fn new(ended: &[u32], going: &[u32]) -> Self {
        let total = ended.len() + going.len();
        let mut at_risk = total;
        let (mut times, mut surv, mut risk) = (Vec::new(), Vec::new(), Vec::new());
        let (mut i, mut j, mut s) = (0, 0, 1.0);
        while i < ended.len() || j < going.len() {
            let t = match (ended.get(i), going.get(j)) {
                (Some(&a), Some(&b)) => a.min(b),
                (Some(&a), None) => a,
                (None, Some(&b)) => b,
                (None, None) => break,
            };
            let d = ended[i..].iter().take_while(|&&x| x == t).count();
            let c = going[j..].iter().take_while(|&&x| x == t).count();
            i += d;
            j += c;
            if d > 0 {
                s *= 1.0 - d as f64 / at_risk as f64;
            }
            at_risk -= d + c;
            times.push(t);
            surv.push(s);
            risk.push(at_risk);
        }
        let exposure: f64 = ended.iter().chain(going).map(|&x| f64::from(x)).sum();
        Self {
            times,
            surv,
            at_risk: risk,
            total,
            tail_mean_s: (exposure / 1000.0 / ended.len().max(1) as f64).max(1.0),
        }
    }

    /// `S(x)`, and how many are still at risk after `x`.
    fn at(&self, x: u32) -> (f64, usize) {
        match self.times.partition_point(|&t| t <= x) {
            0 => (1.0, self.total),
            k => (self.surv[k - 1], self.at_risk[k - 1]),
        }
    }

    /// The probability that a call going for `elapsed_ms` ends within a horizon, averaged
    /// over `horizons_ms`.
    fn frees_within(&self, elapsed_ms: u32, horizons_ms: &[u32]) -> f64 {
        let (now, at_risk) = self.at(elapsed_ms);
        let n = horizons_ms.len().max(1) as f64;
        if at_risk < TAIL_MIN || now <= 0.0 {
            return horizons_ms
                .iter()
                .map(|&h| 1.0 - (-(f64::from(h) / 1000.0) / self.tail_mean_s).exp())
                .sum::<f64>()
                / n;
        }
        horizons_ms
            .iter()
            .map(|&h| {
                let (later, _) = self.at(elapsed_ms.saturating_add(h));
                (1.0 - later / now).clamp(0.0, 1.0)
            })
            .sum::<f64>()
            / n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, VirtualClock};
    use crate::pacing::predictive::has_data;

    const S: Duration = Duration::from_secs(1);

    fn estimator() -> Estimator {
        Estimator::new(EstimatorConfig::new(NuisanceWindow::CalendarDay, 2 * S))
    }

    #[test]
    fn answer_rate_and_handle_time_follow_a_sliding_window() {
        let origin = VirtualClock::new().now();
        let mut e = Estimator::new(EstimatorConfig {
            max_attempts: 100,
            max_handles: 10,
            ..EstimatorConfig::new(NuisanceWindow::CalendarDay, 2 * S)
        });
        for i in 0..100 {
            e.record_attempt(origin, i % 10 == 0, 20 * S);
        }
        assert!((e.answer_rate() - 0.1).abs() < 1e-9);
        // The rate doubles: after another 100 attempts only the new ones count.
        for i in 0..100 {
            e.record_attempt(origin + S, i % 5 == 0, 20 * S);
        }
        assert_eq!(e.attempts_measured(), 100);
        assert_eq!(e.live_measured(), 20);
        for secs in [
            60, 60, 60, 60, 60, 60, 60, 60, 60, 60, 120, 120, 120, 120, 120,
        ] {
            e.record_handle(origin, secs * S);
        }
        assert_eq!(e.handles_measured(), 10);
        assert_eq!(e.mean_handle_time(), 90 * S);
    }

    #[test]
    fn old_samples_age_out_down_to_the_minimum_kept() {
        let origin = VirtualClock::new().now();
        let mut e = Estimator::new(EstimatorConfig {
            min_kept: 10,
            ..EstimatorConfig::new(NuisanceWindow::CalendarDay, 2 * S)
        });
        for _ in 0..50 {
            e.record_attempt(origin, false, 30 * S);
        }
        // Two hours later one new sample pushes the old ones out, but ten stay.
        e.record_attempt(origin + 7200 * S, true, 5 * S);
        assert_eq!(e.attempts_measured(), 10);
        assert_eq!(e.live_measured(), 1);
        // Time going backwards is taken as the latest time.
        e.record_attempt(origin, true, 5 * S);
        assert_eq!(e.attempts_measured(), 10);
    }

    #[test]
    fn snapshot_takes_the_campaigns_window() {
        let counts = NuisanceCounts {
            live_day: 100,
            nuisance_day: 2,
            live_30d: 3000,
            nuisance_30d: 40,
            ..NuisanceCounts::default()
        };
        let mut snap = ZoneSnapshot::default();
        estimator().fill_snapshot(&mut snap, &[], counts);
        assert_eq!((snap.window_live, snap.window_nuisance), (100, 2));
        let e = Estimator::new(EstimatorConfig::new(NuisanceWindow::Rolling30Days, 2 * S));
        e.fill_snapshot(&mut snap, &[], counts);
        assert_eq!((snap.window_live, snap.window_nuisance), (3000, 40));
        assert!(!has_data(&snap), "no measurements yet");
    }

    #[test]
    fn busy_agents_free_up_as_their_handle_times_say() {
        let origin = VirtualClock::new().now();
        let mut e = estimator();
        for _ in 0..50 {
            e.record_attempt(origin, true, 8 * S);
            e.record_handle(origin, 60 * S);
        }
        // Answer in 8 s plus the 2 s window: an agent 55 s into a 60 s call is free in time,
        // one 10 s into it is not.
        let mut snap = ZoneSnapshot::default();
        e.fill_snapshot(&mut snap, &[55 * S, 10 * S], NuisanceCounts::default());
        let f = snap.agents_freeing;
        assert!(f.exact);
        assert!((f.pmf[1] - 1.0).abs() < 1e-6, "{:?}", &f.pmf[..3]);
        assert!((f.mean - 1.0).abs() < 1e-6);
        // Many busy agents: moments only.
        let busy = vec![30 * S; 40];
        e.fill_snapshot(&mut snap, &busy, NuisanceCounts::default());
        assert!(!snap.agents_freeing.exact);
        assert!(snap.agents_freeing.mean.abs() < 1e-6);
    }

    #[test]
    fn impatient_customers_shorten_the_wait_tolerance() {
        let mut e = estimator();
        let window = e.config().connect_window;
        assert_eq!(e.wait_tolerance(), window, "no samples: the window");
        // Patient customers: connected quickly or timed out at the window, nobody left.
        for i in 0..100u64 {
            e.record_wait(Duration::from_millis(10 * i), false);
        }
        assert_eq!(e.wait_tolerance(), window);
        // Now some hang up after 300 ms: more than 1 % of those still waiting by then.
        for _ in 0..5 {
            e.record_wait(Duration::from_millis(300), true);
        }
        assert_eq!(e.wait_tolerance(), Duration::from_millis(300));
        // Never beyond the window, whatever the samples.
        let mut late = estimator();
        for _ in 0..50 {
            late.record_wait(window * 3, true);
        }
        assert_eq!(late.wait_tolerance(), window);
    }

    #[test]
    fn forecast_is_a_distribution() {
        let origin = VirtualClock::new().now();
        let mut e = estimator();
        for i in 0..200u64 {
            e.record_attempt(origin, i % 3 == 0, Duration::from_millis(3000 + 97 * i));
            e.record_handle(origin, Duration::from_millis(20_000 + 731 * i));
        }
        let busy: Vec<_> = (0..12u64).map(|i| Duration::from_secs(10 * i)).collect();
        let mut snap = ZoneSnapshot::default();
        e.fill_snapshot(&mut snap, &busy, NuisanceCounts::default());
        let f = snap.agents_freeing;
        let total: f32 = f.pmf.iter().sum();
        let mean: f32 = f.pmf.iter().enumerate().map(|(k, p)| k as f32 * p).sum();
        assert!((total - 1.0).abs() < 1e-4, "{total}");
        assert!((mean - f.mean).abs() < 1e-3, "{mean} vs {}", f.mean);
        assert!(has_data(&snap));
    }
}
