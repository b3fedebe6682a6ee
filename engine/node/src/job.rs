//! A running job's shared state: its campaign, the pre-fetched contact queue, the contacts it
//! has claimed, and live statistics the API and the pacing loop read without locks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use outdial_core::attempt::flow::Meter;
use outdial_core::campaign::Campaign;
use outdial_core::domain::{CompletionCode, ContactId, JobId, UnixMs};
use outdial_core::pacing::nuisance::{NuisanceCounts, NuisanceMeter};
use outdial_core::pacing::ContactQueue;
use outdial_core::sync::{AtomicU64, AtomicU8, Ordering};

/// Whether the job's zone may launch calls for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RunState {
    Running = 0,
    Paused = 1,
    /// No new calls; in-flight ones finish.
    Stopped = 2,
    Finished = 3,
}

impl RunState {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Running,
            1 => Self::Paused,
            2 => Self::Stopped,
            _ => Self::Finished,
        }
    }
}

/// Counters updated by call actors, read by the API and the pacing loop.
#[derive(Debug)]
pub struct JobStats {
    pub attempts: AtomicU64,
    pub in_flight: AtomicU64,
    /// In-flight attempts an agent took (talking, or awaiting its disposition).
    pub with_agent: AtomicU64,
    pub answered: AtomicU64,
    by_code: [AtomicU64; CompletionCode::ALL.len()],
    pub started_ms: UnixMs,
    nuisance: Mutex<NuisanceMeter>,
    /// Contacts the rules of law held back, by the rule's code.
    held_back: Mutex<BTreeMap<&'static str, u64>>,
}

/// A consistent-enough copy of the counters for reports.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StatsView {
    pub attempts: u64,
    pub in_flight: u64,
    pub answered: u64,
    pub by_code: BTreeMap<String, u64>,
    pub nuisance_rate_day_pct: f64,
    pub nuisance_rate_30d_pct: f64,
    /// The windows' counts: live answers, nuisance calls, machine verdicts, and the people
    /// among the machine verdicts the meter counts as abandoned (the detector's estimate).
    pub nuisance_counts: NuisanceCounts,
    pub amd_estimate_day: u64,
    pub amd_estimate_30d: u64,
    /// Contacts the rules of law held back (calling hours, lock-outs, daily caps, test
    /// ranges, do-not-call), by rule.
    pub held_back: BTreeMap<String, u64>,
    /// Attempts per second since the job started.
    pub rate_cps: f64,
}

impl JobStats {
    /// Counters of a job that started at `started_ms`, whose nuisance meter keeps the
    /// calendar days of `tz` (the campaign's).
    pub fn new(started_ms: UnixMs, tz: chrono_tz::Tz) -> Self {
        Self {
            attempts: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            with_agent: AtomicU64::new(0),
            answered: AtomicU64::new(0),
            by_code: std::array::from_fn(|_| AtomicU64::new(0)),
            started_ms,
            nuisance: Mutex::new(NuisanceMeter::new(tz)),
            held_back: Mutex::new(BTreeMap::new()),
        }
    }

    pub fn launched(&self) {
        self.attempts.fetch_add(1, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// A launch counted by [`JobStats::launched`] did not happen after all (its `Dialing`
    /// could not be recorded): it holds no line.
    pub fn not_launched(&self) {
        let _ = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| v.checked_sub(1));
    }

    pub fn completed(&self, code: CompletionCode, now: UnixMs) {
        let _ = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| v.checked_sub(1));
        if let Some(i) = CompletionCode::ALL.iter().position(|c| *c == code) {
            self.by_code[i].fetch_add(1, Ordering::Relaxed);
        }
        let live = matches!(
            code,
            CompletionCode::AnsweredHuman | CompletionCode::Nuisance
        );
        if live {
            self.answered.fetch_add(1, Ordering::Relaxed);
        }
        // The nuisance meter counted this call when it happened (see `count`), not now.
        let _ = now;
    }

    /// Counts a live answer, an abandoned one or a machine verdict on the nuisance meter, the
    /// moment it happens: pacing sees it at its next decision.
    pub fn count(&self, what: Meter, now: UnixMs) {
        let mut m = self.nuisance.lock().unwrap_or_else(|p| p.into_inner());
        match what {
            Meter::Live => m.live(now),
            Meter::Nuisance => m.nuisance(now),
            Meter::Machine => m.machine(now),
        }
    }

    /// A contact the rules held back, by the rule's code.
    pub fn held_back(&self, rule: &'static str) {
        let mut h = self.held_back.lock().unwrap_or_else(|p| p.into_inner());
        *h.entry(rule).or_default() += 1;
    }

    /// The nuisance meter's window counts, for pacing against the cap.
    pub fn nuisance_counts(&self, now: UnixMs) -> NuisanceCounts {
        self.nuisance
            .lock()
            .map(|m| m.counts(now))
            .unwrap_or_default()
    }

    pub fn view(&self, now: UnixMs) -> StatsView {
        let mut by_code = BTreeMap::new();
        for (i, c) in CompletionCode::ALL.iter().enumerate() {
            let n = self.by_code[i].load(Ordering::Relaxed);
            if n > 0 {
                by_code.insert(c.name().to_owned(), n);
            }
        }
        let counts = self.nuisance_counts(now);
        let held_back = self
            .held_back
            .lock()
            .map(|h| h.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect())
            .unwrap_or_default();
        let attempts = self.attempts.load(Ordering::Relaxed);
        let secs = now.saturating_sub(self.started_ms) as f64 / 1000.0;
        StatsView {
            attempts,
            in_flight: self.in_flight.load(Ordering::Relaxed),
            answered: self.answered.load(Ordering::Relaxed),
            by_code,
            nuisance_rate_day_pct: counts.day_rate(),
            nuisance_rate_30d_pct: counts.month_rate(),
            amd_estimate_day: NuisanceCounts::amd_estimate(counts.machine_day),
            amd_estimate_30d: NuisanceCounts::amd_estimate(counts.machine_30d),
            nuisance_counts: counts,
            held_back,
            rate_cps: if secs > 0.0 {
                attempts as f64 / secs
            } else {
                0.0
            },
        }
    }
}

/// Which contacts a job holds (queued or in flight), and which it let go of recently.
///
/// The prefetcher reads due contacts from storage and then claims those not held. A contact
/// released between that read and the claim would be claimed again from a stale read (its
/// old state and attempt count) and dialed twice; so every release is stamped with an epoch,
/// and a refill skips contacts released after the epoch it read at. They come back on the
/// next refill, read fresh.
#[derive(Debug, Default)]
pub struct Claims {
    held: HashSet<ContactId>,
    released: HashMap<ContactId, u64>,
    epoch: u64,
}

impl Claims {
    /// The epoch to take before reading storage for a refill.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Claims `c` for a refill that read storage at `read_epoch`; false when it is held, or
    /// was released after that read and so may be stale.
    pub fn try_claim(&mut self, c: ContactId, read_epoch: u64) -> bool {
        if self.held.contains(&c) || self.released.get(&c).is_some_and(|e| *e > read_epoch) {
            return false;
        }
        self.held.insert(c)
    }

    /// Forgets releases no refill reading at `read_epoch` or later can be confused by.
    pub fn prune(&mut self, read_epoch: u64) {
        self.released.retain(|_, e| *e > read_epoch);
    }

    pub fn release(&mut self, c: ContactId) {
        if self.held.remove(&c) {
            self.epoch += 1;
            self.released.insert(c, self.epoch);
        }
    }

    /// Gives back a claim that was never used (the queue was full): nothing was read stale.
    pub fn unclaim(&mut self, c: ContactId) {
        self.held.remove(&c);
    }

    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

/// Everything a running job shares between its zone's pacing loop, its prefetcher and its
/// call actors.
pub struct JobRuntime {
    pub job: JobId,
    pub campaign: Arc<Campaign>,
    pub queue: ContactQueue,
    /// Contacts queued or in flight: the prefetcher never queues one twice.
    pub claimed: Mutex<Claims>,
    pub stats: JobStats,
    /// What an answered agentless call (or an abandon) hears: the information message.
    pub prompt: media::Prompt,
    /// What an answering machine is left after its beep, when the campaign says so.
    pub machine_message: Option<media::Prompt>,
    /// Answer rate, answer times and handle times, measured online for predictive pacing.
    /// Fed by the job's call actors at event rate; read by the zone's loop once per decision.
    pub estimator: Mutex<outdial_core::pacing::predictive::Estimator>,
    state: AtomicU8,
}

impl JobRuntime {
    pub fn new(
        job: JobId,
        campaign: Arc<Campaign>,
        queue: ContactQueue,
        prompt: media::Prompt,
        now: UnixMs,
    ) -> Self {
        let estimator = outdial_core::pacing::predictive::Estimator::new(
            outdial_core::pacing::predictive::EstimatorConfig::new(
                campaign.nuisance().window,
                campaign.connect_window(),
            ),
        );
        let tz = campaign.calling_hours().default_tz();
        Self {
            job,
            campaign,
            queue,
            claimed: Mutex::new(Claims::default()),
            stats: JobStats::new(now, tz),
            prompt,
            machine_message: None,
            estimator: Mutex::new(estimator),
            state: AtomicU8::new(RunState::Running as u8),
        }
    }

    /// The message left on answering machines (campaigns that leave one).
    pub fn with_machine_message(mut self, prompt: media::Prompt) -> Self {
        self.machine_message = Some(prompt);
        self
    }

    pub fn run_state(&self) -> RunState {
        RunState::from_u8(self.state.load(Ordering::Acquire))
    }

    pub fn set_run_state(&self, s: RunState) {
        self.state.store(s as u8, Ordering::Release);
    }

    /// Lets a contact go once its attempt's outcome is durable.
    pub fn release(&self, contact: ContactId) {
        if let Ok(mut c) = self.claimed.lock() {
            c.release(contact);
        }
    }

    /// Runs `f` on the estimator (a poisoned lock still holds samples worth using).
    pub fn with_estimator<R>(
        &self,
        f: impl FnOnce(&mut outdial_core::pacing::predictive::Estimator) -> R,
    ) -> R {
        let mut e = self.estimator.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut e)
    }

    pub fn claimed_len(&self) -> usize {
        self.claimed.lock().map(|c| c.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_released_after_the_read_is_not_claimed_from_it() {
        let mut c = Claims::default();
        let x = ContactId(7);
        let e0 = c.epoch();
        assert!(c.try_claim(x, e0));
        assert!(!c.try_claim(x, e0), "held");
        // A refill reads storage at e1 while x is in flight; x completes and is released.
        let e1 = c.epoch();
        c.release(x);
        assert!(
            !c.try_claim(x, e1),
            "the read at e1 may predate x's new state"
        );
        // The next refill reads after the release and may claim it.
        let e2 = c.epoch();
        c.prune(e2);
        assert!(c.try_claim(x, e2));
    }
}
