//! The pacing core of a zone's dialing loop, sans-IO: how many calls to launch now, read from
//! a lock-free snapshot of the zone, with contacts taken from a pre-fetched lock-free queue.
//!
//! The loop around it (in the zone's actor) runs, with `now` from its clock:
//!
//! ```text
//! loop {
//!     let snap = cell.load();                        // ZoneSnapshotCell: no lock
//!     let n = pacer.decide(now, &snap, in_flight);
//!     let launched = pop up to n contacts from the ContactQueue, record Dialing (one batch),
//!                    hand the INVITEs to the transport;
//!     pacer.give_back(n - launched);                 // queue ran dry or transport full
//!     if queue.claim_refill() { wake the prefetcher }
//!     sleep until pacer.next_decision_at(now), or a zone event (agent ready, call ended)
//! }
//! ```
//!
//! No per-call mailbox is on this path: one snapshot read, one decision, lock-free pops.

pub mod nuisance;
pub mod predictive;

use std::sync::Arc as StdArc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use crossbeam_queue::ArrayQueue;

use crate::domain::Contact;
use crate::sync::{AtomicBool, AtomicU64, Ordering};
use predictive::{Budget, Demand, FreeForecast, LaunchLog, PendingProfile};

/// A dialing mode with its pacing parameters, as the campaign defines it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PacingPolicy {
    /// An agent previews a contact and accepts it; the agent's session launches that call, so
    /// the pacer launches nothing on its own.
    Preview,
    /// `floor(ready agents × lines_per_agent)` calls without an agent at any time.
    Progressive { lines_per_agent: f64 },
    /// Keeps agents busy while the expected nuisance calls stay within the cap (a fraction
    /// of live answers) over the campaign's window; see [`crate::pacing::predictive`]. Without enough
    /// measurements in the snapshot ([`predictive::has_data`]) it paces as progressive with
    /// `lines_per_agent`. The window is the estimator's: the snapshot carries its counts.
    Predictive {
        lines_per_agent: f64,
        nuisance_cap: f64,
    },
    /// No agents: at most `max_concurrent` calls up at once and/or `rate_cps` launches per
    /// second. With neither, nothing is launched (the campaign spec refuses that).
    Agentless {
        max_concurrent: Option<u32>,
        rate_cps: Option<f64>,
    },
}

/// What a zone publishes for its pacing loop. Counts are zone-wide.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ZoneSnapshot {
    /// Agents logged in, attached and idle: each can take a call now.
    pub agents_ready: u32,
    /// Agents logged in, whatever their state.
    pub agents_total: u32,
    /// INVITE sent, no ringing yet.
    pub calls_dialing: u32,
    /// Ringing (a provisional response with ringing or early media).
    pub calls_ringing: u32,
    /// Answered live and not with an agent: waiting for one, or hearing the message.
    pub calls_waiting: u32,
    /// Fraction of completed attempts answered live, over `attempts_measured` attempts.
    /// This and the fields below are filled by [`predictive::Estimator::fill_snapshot`]; their
    /// defaults (no measurements) make predictive pace as progressive.
    pub answer_rate: f64,
    pub attempts_measured: u32,
    /// Live answers among `attempts_measured`.
    pub live_measured: u32,
    /// Mean time an agent spends on a call, talk and wrap-up, over `handles_measured` calls.
    pub mean_handle_time: Duration,
    pub handles_measured: u32,
    /// Live-answered and nuisance calls so far in the campaign's nuisance window.
    pub window_live: u64,
    pub window_nuisance: u64,
    /// How many busy agents free up in time for a call launched now.
    pub agents_freeing: FreeForecast,
    /// How a call's chance of a live answer fades while it rings.
    pub pending_profile: PendingProfile,
}

impl ZoneSnapshot {
    /// Calls holding a line but no agent: the ones pacing must account for.
    pub fn calls_without_agent(&self) -> u32 {
        self.calls_dialing
            .saturating_add(self.calls_ringing)
            .saturating_add(self.calls_waiting)
    }
}

/// Where the zone publishes its [`ZoneSnapshot`] and the pacing loop reads it, without locks.
///
/// Why an `ArcSwap` of the whole snapshot rather than one atomic per field: the decision
/// combines fields (ready agents against calls without an agent), and separate atomics could
/// be read torn — an agent still counted ready while its call is already counted ringing —
/// and over-dial, which is a nuisance call. A seqlock would be consistent too, but its reader
/// spins while a preempted writer is mid-update. Here a reader always gets a whole snapshot
/// and never waits; the price is one allocation per publication, paid by the zone at event
/// rate, not by the loop per decision.
#[derive(Debug)]
pub struct ZoneSnapshotCell {
    current: ArcSwap<ZoneSnapshot>,
}

impl ZoneSnapshotCell {
    pub fn new(initial: ZoneSnapshot) -> Self {
        Self {
            current: ArcSwap::from_pointee(initial),
        }
    }

    /// Replaces the snapshot (the zone, after each change it makes).
    pub fn publish(&self, snapshot: ZoneSnapshot) {
        self.current.store(StdArc::new(snapshot));
    }

    /// The latest snapshot, whole.
    pub fn load(&self) -> ZoneSnapshot {
        **self.current.load()
    }
}

impl Default for ZoneSnapshotCell {
    fn default() -> Self {
        Self::new(ZoneSnapshot::default())
    }
}

/// Decides how many calls a zone launches now. Sans-IO: time comes in as `now`, which may
/// only move forward (an earlier `now` is read as the latest seen).
#[derive(Debug, Clone)]
pub struct Pacer {
    policy: PacingPolicy,
    bucket: Option<TokenBucket>,
    /// The latest `now` seen; earlier ones are ignored, not trusted.
    latest: Option<Instant>,
    /// Whether the last decision was held back by the rate alone, so the next one is due when
    /// the next token is; otherwise only a zone event can change it.
    rate_bound: bool,
    /// Whether the last decision was predictive on data: it then changes with time alone.
    forecasting: bool,
    /// Predictive: recent launches, and the decision's reusable buffer.
    launches: LaunchLog,
    scratch: Vec<f64>,
}

impl Pacer {
    pub fn new(policy: PacingPolicy) -> Self {
        let bucket = match policy {
            PacingPolicy::Agentless {
                rate_cps: Some(rate),
                ..
            } => Some(TokenBucket::new(rate)),
            _ => None,
        };
        Self {
            policy,
            bucket,
            latest: None,
            rate_bound: false,
            forecasting: false,
            launches: LaunchLog::default(),
            scratch: Vec::new(),
        }
    }

    pub fn policy(&self) -> PacingPolicy {
        self.policy
    }

    /// How many calls to launch now. `in_flight` is the loop's own count of calls it launched
    /// that hold a line but have no agent (dialing, ringing, answered and waiting); the
    /// snapshot lags behind the loop's launches, so the larger of the two counts.
    ///
    /// The returned calls are taken from the rate budget: hand back what could not be launched
    /// with [`Pacer::give_back`].
    pub fn decide(&mut self, now: Instant, snap: &ZoneSnapshot, in_flight: u32) -> u32 {
        let now = match self.latest {
            Some(latest) if now < latest => latest,
            _ => now,
        };
        self.latest = Some(now);
        self.rate_bound = false;
        let without_agent = in_flight.max(snap.calls_without_agent());
        match self.policy {
            PacingPolicy::Preview => 0,
            PacingPolicy::Progressive { lines_per_agent } => {
                progressive(snap.agents_ready, lines_per_agent, without_agent)
            }
            PacingPolicy::Predictive {
                lines_per_agent,
                nuisance_cap,
            } => {
                let n = self.predictive(now, snap, without_agent, lines_per_agent, nuisance_cap);
                self.launches.record(now, n);
                n
            }
            PacingPolicy::Agentless {
                max_concurrent,
                rate_cps,
            } => {
                if max_concurrent.is_none() && rate_cps.is_none() {
                    return 0;
                }
                let room = max_concurrent.map_or(u32::MAX, |cap| cap.saturating_sub(without_agent));
                let Some(bucket) = &mut self.bucket else {
                    return room;
                };
                let granted = bucket.take(now, room);
                self.rate_bound = granted < room;
                granted
            }
        }
    }

    /// Returns `n` launches of the last decision that did not happen, so the rate is not lost.
    pub fn give_back(&mut self, n: u32) {
        if n == 0 {
            return;
        }
        if let Some(bucket) = &mut self.bucket {
            bucket.give_back(n);
        }
        self.launches.take_back(n);
        // The loop could not launch: it waits for contacts or the transport, not for a token.
        self.rate_bound = false;
    }

    /// When to decide again if no zone event comes first: `Some(now)` before the first
    /// decision, the next token's instant while the rate holds launches back,
    /// [`PREDICTIVE_REVIEW`] after a predictive decision on data (calls ringing grow less
    /// likely to be answered as they age), else `None` (only an agent getting ready or a call
    /// ending can change the decision).
    pub fn next_decision_at(&self, now: Instant) -> Option<Instant> {
        let Some(latest) = self.latest else {
            return Some(now);
        };
        if self.forecasting {
            return Some((latest + PREDICTIVE_REVIEW).max(now));
        }
        if !self.rate_bound {
            return None;
        }
        let next = self.bucket.as_ref().and_then(TokenBucket::next_token_at)?;
        Some(next.max(now))
    }

    /// The predictive arm: progressive without data; else the most calls the nuisance budget
    /// allows, never fewer than one per ready agent without a call (those cannot be nuisance)
    /// and never more than [`MAX_PREDICTIVE_LINES_PER_AGENT`] lines per logged-in agent.
    fn predictive(
        &mut self,
        now: Instant,
        snap: &ZoneSnapshot,
        without_agent: u32,
        lines_per_agent: f64,
        nuisance_cap: f64,
    ) -> u32 {
        self.forecasting = predictive::has_data(snap);
        if !self.forecasting {
            return progressive(snap.agents_ready, lines_per_agent, without_agent);
        }
        let safe = snap.agents_ready.saturating_sub(without_agent);
        let ceiling = progressive(
            snap.agents_total,
            MAX_PREDICTIVE_LINES_PER_AGENT,
            without_agent,
        );
        let pending = snap.calls_dialing.saturating_add(snap.calls_ringing);
        let demand = Demand {
            ready: snap.agents_ready,
            waiting: snap.calls_waiting,
            pending,
            pending_live: self
                .launches
                .pending_live(now, &snap.pending_profile, snap.answer_rate),
            fresh: without_agent.saturating_sub(snap.calls_without_agent()),
            answer_rate: snap.answer_rate,
        };
        let budget = Budget::new(nuisance_cap, snap.window_live, snap.window_nuisance);
        if budget.spent() {
            // The window's budget is spent: the cap is a hard limit, so pacing falls back to
            // what cannot abandon — one line per free agent — until live answers make room.
            return safe;
        }
        let n = predictive::launches(
            &demand,
            &snap.agents_freeing,
            budget,
            ceiling,
            &mut self.scratch,
        );
        n.max(safe).min(ceiling.max(safe))
    }
}

/// How long a predictive decision stands without a zone event.
pub const PREDICTIVE_REVIEW: Duration = Duration::from_millis(500);

/// Most lines a predictive zone holds per logged-in agent, whatever the estimates say.
pub const MAX_PREDICTIVE_LINES_PER_AGENT: f64 = crate::campaign::bounds::MAX_LINES_PER_AGENT;

/// `floor(ready × lines) − without_agent`, never negative.
fn progressive(agents_ready: u32, lines_per_agent: f64, without_agent: u32) -> u32 {
    // The epsilon keeps 100 × 1.15 (114.999…98 in binary) at 115 lines.
    let lines = (f64::from(agents_ready) * lines_per_agent + 1e-9).floor();
    // `as` saturates for floats out of range (and maps NaN to 0).
    let lines = lines as u32;
    lines.saturating_sub(without_agent)
}

/// A deadline-based token bucket: token `j` becomes available at `epoch + j / rate`, on a
/// grid fixed at the first decision, so late or early wake-ups never shift later tokens
/// (no drift). Tokens older than the burst allowance are dropped rather than spent at once.
/// Integer arithmetic throughout, in micro-calls per second, so `next_token_at` and `take`
/// agree exactly on when a token is due.
#[derive(Debug, Clone)]
struct TokenBucket {
    /// Rate in calls per 10^6 s (micro-cps), at least 1.
    rate_ucps: u128,
    /// Most tokens available at once: 50 ms of rate, at least 1.
    burst: u128,
    epoch: Option<Instant>,
    /// Tokens handed out (or dropped) since `epoch`.
    issued: u128,
}

/// The burst allowance, as a duration of rate.
const BURST: Duration = Duration::from_millis(50);
const NANOS_PER_SEC: u128 = 1_000_000_000;
const MICRO: u128 = 1_000_000;

impl TokenBucket {
    fn new(rate_cps: f64) -> Self {
        // `as` saturates; NaN (refused by the spec) becomes the slowest rate.
        let rate_ucps = u128::from((rate_cps * 1e6).round() as u64).max(1);
        let burst = (rate_ucps * BURST.as_nanos() / (NANOS_PER_SEC * MICRO)).max(1);
        Self {
            rate_ucps,
            burst,
            epoch: None,
            issued: 0,
        }
    }

    /// Tokens `0..n` are due by `elapsed`: token `j` is due at `ceil(j·10^15 / rate_ucps)` ns.
    fn due_by(&self, elapsed: Duration) -> u128 {
        elapsed.as_nanos().saturating_mul(self.rate_ucps) / (NANOS_PER_SEC * MICRO) + 1
    }

    fn take(&mut self, now: Instant, want: u32) -> u32 {
        let epoch = *self.epoch.get_or_insert(now);
        let due = self.due_by(now.saturating_duration_since(epoch));
        if due.saturating_sub(self.issued) > self.burst {
            self.issued = due - self.burst;
        }
        let available = due.saturating_sub(self.issued);
        let granted = available.min(u128::from(want));
        self.issued += granted;
        // INVARIANT: granted <= want, a u32.
        u32::try_from(granted).unwrap_or(want)
    }

    fn give_back(&mut self, n: u32) {
        self.issued = self.issued.saturating_sub(u128::from(n));
    }

    fn next_token_at(&self) -> Option<Instant> {
        let epoch = self.epoch?;
        let offset_ns = (self.issued * NANOS_PER_SEC * MICRO).div_ceil(self.rate_ucps);
        epoch.checked_add(Duration::from_nanos(u64::try_from(offset_ns).ok()?))
    }
}

/// Contacts pre-fetched from the store, popped by the pacing loop without locks.
///
/// A prefetcher (off the hot path) refills it from the store. It must hand each contact once:
/// claim contacts in storage (`Picked`) before pushing them, since a due contact stays due in
/// the store until the loop records it `Dialing`. The refill handshake wakes the prefetcher
/// once per drop to the low-water mark: the loop calls [`ContactQueue::claim_refill`] after
/// popping and wakes the prefetcher when it returns true; the prefetcher pushes up to
/// [`ContactQueue::room`] contacts and calls [`ContactQueue::refill_finished`], refilling again
/// while that returns true, so no wake-up is lost between the two.
#[derive(Debug)]
pub struct ContactQueue {
    queue: ArrayQueue<Contact>,
    low_water: usize,
    refill_claimed: AtomicBool,
    /// Pops that found the queue empty: the prefetcher is falling behind the rate.
    starved: AtomicU64,
}

impl ContactQueue {
    /// A queue of `capacity` contacts (at least 1) that asks for a refill when it holds
    /// `low_water` or fewer (at most `capacity - 1`).
    pub fn new(capacity: usize, low_water: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            queue: ArrayQueue::new(capacity),
            low_water: low_water.min(capacity - 1),
            refill_claimed: AtomicBool::new(false),
            starved: AtomicU64::new(0),
        }
    }

    /// Adds a contact; gives it back when the queue is full.
    pub fn push(&self, contact: Contact) -> Result<(), Contact> {
        self.queue.push(contact)
    }

    /// The next contact to dial.
    pub fn pop(&self) -> Option<Contact> {
        let contact = self.queue.pop();
        if contact.is_none() {
            self.starved.fetch_add(1, Ordering::Relaxed);
        }
        contact
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.queue.capacity()
    }

    pub fn low_water(&self) -> usize {
        self.low_water
    }

    /// How many contacts a refill may fetch.
    pub fn room(&self) -> usize {
        self.capacity().saturating_sub(self.len())
    }

    /// Whether the queue is at or below its low-water mark.
    pub fn refill_needed(&self) -> bool {
        self.len() <= self.low_water
    }

    /// True once per refill: when the queue is at low water and no refill is claimed yet.
    /// The caller then wakes the prefetcher.
    pub fn claim_refill(&self) -> bool {
        self.refill_needed()
            && self
                .refill_claimed
                .compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
    }

    /// The prefetcher is done pushing. True when the queue is (again) at low water and the
    /// refill is claimed anew: the prefetcher refills once more instead of sleeping.
    pub fn refill_finished(&self) -> bool {
        // SeqCst against the loop's pop-then-claim: either the loop sees the flag clear, or
        // this check sees the pops.
        self.refill_claimed.store(false, Ordering::SeqCst);
        self.claim_refill()
    }

    /// Pops that found the queue empty, since it was made.
    pub fn starved(&self) -> u64 {
        self.starved.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::clock::{Clock, VirtualClock};
    use crate::domain::{ContactId, ContactState, JobId};

    fn agentless(max_concurrent: Option<u32>, rate_cps: Option<f64>) -> Pacer {
        Pacer::new(PacingPolicy::Agentless {
            max_concurrent,
            rate_cps,
        })
    }

    fn ready(agents: u32) -> ZoneSnapshot {
        ZoneSnapshot {
            agents_ready: agents,
            agents_total: agents,
            ..ZoneSnapshot::default()
        }
    }

    /// Runs `pacer` from `origin` for `span`, waking exactly when it asks; calls never end.
    fn run_rate(pacer: &mut Pacer, origin: Instant, span: Duration) -> u64 {
        let end = origin + span;
        let mut now = origin;
        let mut launched = 0u64;
        let snap = ZoneSnapshot::default();
        while now < end {
            launched += u64::from(pacer.decide(now, &snap, 0));
            let next = pacer
                .next_decision_at(now)
                .expect("a rate-bound pacer has a next token");
            assert!(next > now, "the loop must not spin at {:?}", now - origin);
            now = next;
        }
        launched
    }

    #[test]
    fn an_hour_at_50_cps_is_180000_launches() {
        let clock = VirtualClock::new();
        let mut pacer = agentless(None, Some(50.0));
        let launched = run_rate(&mut pacer, clock.now(), Duration::from_secs(3600));
        assert!(launched.abs_diff(180_000) <= 1, "{launched}");
    }

    #[test]
    fn awkward_rates_do_not_drift() {
        let origin = VirtualClock::new().now();
        for (rate, expect) in [(3.0, 10_800), (7.3, 26_280), (123.4, 444_240)] {
            let mut pacer = agentless(None, Some(rate));
            let launched = run_rate(&mut pacer, origin, Duration::from_secs(3600));
            assert!(launched.abs_diff(expect) <= 1, "{rate} cps: {launched}");
        }
    }

    #[test]
    fn coarse_wakeups_launch_in_bounded_bursts_without_drift() {
        // Waking every 10 ms at 1000 cps: 10 calls per wake, same total as exact wake-ups.
        let origin = VirtualClock::new().now();
        let mut pacer = agentless(None, Some(1000.0));
        let mut total = 0u64;
        for tick in 0..=6000u64 {
            let n = pacer.decide(
                origin + Duration::from_millis(tick * 10),
                &ZoneSnapshot::default(),
                0,
            );
            assert!(n <= 50, "burst over 50 ms of rate: {n}");
            total += u64::from(n);
        }
        assert_eq!(total, 60_001, "tokens 0..=60000 are due by 60 s");
    }

    #[test]
    fn a_stall_is_not_made_up_beyond_the_burst() {
        let origin = VirtualClock::new().now();
        let mut pacer = agentless(None, Some(100.0));
        assert_eq!(pacer.decide(origin, &ZoneSnapshot::default(), 0), 1);
        // Ten seconds without a decision: at most 50 ms of rate (5 calls) at once.
        assert_eq!(
            pacer.decide(
                origin + Duration::from_secs(10),
                &ZoneSnapshot::default(),
                0
            ),
            5
        );
        assert_eq!(
            pacer.decide(
                origin + Duration::from_secs(10),
                &ZoneSnapshot::default(),
                0
            ),
            0
        );
        // And the grid is unchanged: the next token is exactly 10 ms later.
        assert_eq!(
            pacer.next_decision_at(origin + Duration::from_secs(10)),
            Some(origin + Duration::from_millis(10_010))
        );
    }

    #[test]
    fn concurrency_cap_is_respected() {
        let origin = VirtualClock::new().now();
        let snap = ZoneSnapshot::default();
        let mut capped = agentless(Some(10), None);
        assert_eq!(capped.decide(origin, &snap, 0), 10);
        assert_eq!(capped.decide(origin, &snap, 7), 3);
        assert_eq!(capped.decide(origin, &snap, 10), 0);
        assert_eq!(
            capped.decide(origin, &snap, 12),
            0,
            "over the cap is not negative"
        );
        assert_eq!(
            capped.next_decision_at(origin),
            None,
            "only a call ending frees a line"
        );
        // The snapshot's count wins when it is higher than the loop's.
        let busy = ZoneSnapshot {
            calls_ringing: 6,
            calls_waiting: 2,
            ..snap
        };
        assert_eq!(capped.decide(origin, &busy, 3), 2);

        // With a rate too: the cap holds tokens back without spending them.
        let mut both = agentless(Some(5), Some(1000.0));
        let mut in_flight = 0;
        for ms in 0..1000u64 {
            let now = origin + Duration::from_millis(ms);
            in_flight += both.decide(now, &snap, in_flight);
            assert!(in_flight <= 5);
        }
        assert_eq!(in_flight, 5);
        assert_eq!(both.next_decision_at(origin + Duration::from_secs(1)), None);
    }

    #[test]
    fn progressive_is_ready_agents_times_lines_minus_in_flight() {
        let origin = VirtualClock::new().now();
        let mut pacer = Pacer::new(PacingPolicy::Progressive {
            lines_per_agent: 1.5,
        });
        assert_eq!(pacer.decide(origin, &ready(3), 0), 4, "floor(4.5)");
        assert_eq!(pacer.decide(origin, &ready(3), 1), 3);
        assert_eq!(pacer.decide(origin, &ready(3), 4), 0);
        assert_eq!(pacer.decide(origin, &ready(3), 9), 0, "never negative");
        assert_eq!(pacer.decide(origin, &ready(0), 0), 0);
        let ringing = ZoneSnapshot {
            calls_ringing: 2,
            calls_dialing: 1,
            ..ready(3)
        };
        assert_eq!(
            pacer.decide(origin, &ringing, 0),
            1,
            "the snapshot's calls count too"
        );
        assert_eq!(pacer.next_decision_at(origin), None);

        let mut one = Pacer::new(PacingPolicy::Progressive {
            lines_per_agent: 1.15,
        });
        assert_eq!(
            one.decide(origin, &ready(100), 0),
            115,
            "no binary rounding loss"
        );
    }

    #[test]
    fn predictive_paces_as_progressive_without_measurements() {
        let origin = VirtualClock::new().now();
        let mut pacer = Pacer::new(PacingPolicy::Predictive {
            lines_per_agent: 2.0,
            nuisance_cap: 0.03,
        });
        assert_eq!(pacer.decide(origin, &ready(3), 1), 5);
        assert_eq!(
            pacer.next_decision_at(origin),
            None,
            "without data only zone events matter"
        );
    }

    #[test]
    fn preview_launches_nothing() {
        let origin = VirtualClock::new().now();
        let mut pacer = Pacer::new(PacingPolicy::Preview);
        assert_eq!(pacer.decide(origin, &ready(10), 0), 0);
        assert_eq!(pacer.next_decision_at(origin), None);
        let mut unlimited = agentless(None, None);
        assert_eq!(unlimited.decide(origin, &ready(10), 0), 0);
    }

    #[test]
    fn time_going_backwards_is_ignored() {
        let origin = VirtualClock::new().now();
        let snap = ZoneSnapshot::default();
        let mut pacer = agentless(None, Some(10.0));
        let t1 = origin + Duration::from_secs(1);
        assert_eq!(pacer.decide(t1, &snap, 0), 1);
        // An earlier `now` grants nothing new and does not reset the grid.
        assert_eq!(pacer.decide(origin, &snap, 0), 0);
        assert_eq!(
            pacer.next_decision_at(origin),
            Some(t1 + Duration::from_millis(100))
        );
        assert_eq!(pacer.decide(t1 + Duration::from_millis(100), &snap, 0), 1);
    }

    #[test]
    fn given_back_tokens_are_spent_later() {
        let origin = VirtualClock::new().now();
        let snap = ZoneSnapshot::default();
        let mut pacer = agentless(None, Some(1000.0));
        let t = origin + Duration::from_millis(40);
        assert_eq!(pacer.decide(origin, &snap, 0), 1);
        assert_eq!(pacer.decide(t, &snap, 0), 40);
        pacer.give_back(30);
        assert_eq!(
            pacer.next_decision_at(t),
            None,
            "the loop waits for contacts, not tokens"
        );
        assert_eq!(pacer.decide(t, &snap, 0), 30);
    }

    #[test]
    fn first_decision_is_due_at_once() {
        let origin = VirtualClock::new().now();
        assert_eq!(
            agentless(None, Some(5.0)).next_decision_at(origin),
            Some(origin)
        );
    }

    fn contact(id: u64) -> Contact {
        Contact {
            id: ContactId(id),
            job: JobId(1),
            phone: format!("+1555000{id:04}"),
            tz: None,
            fields: BTreeMap::new(),
            attempts: 0,
            state: ContactState::Ready { not_before: 0 },
            last_code: None,
        }
    }

    #[test]
    fn contact_queue_asks_for_a_refill_once_per_low_water() {
        let q = ContactQueue::new(8, 2);
        assert!(q.refill_needed());
        assert!(q.claim_refill());
        assert!(!q.claim_refill(), "already claimed");
        for id in 0..8 {
            q.push(contact(id)).unwrap();
        }
        assert_eq!(
            q.push(contact(99)).unwrap_err().id,
            ContactId(99),
            "full: handed back"
        );
        assert_eq!(q.room(), 0);
        assert!(!q.refill_finished(), "full: nothing more to do");
        for id in 0..5 {
            assert_eq!(q.pop().unwrap().id, ContactId(id));
            assert!(!q.claim_refill());
        }
        assert_eq!(q.pop().unwrap().id, ContactId(5));
        assert!(q.claim_refill(), "two left: low water");
        // Popped while the prefetcher was busy: refill_finished tells it to go again.
        q.pop().unwrap();
        assert!(q.refill_finished());
        assert_eq!(q.starved(), 0);
        q.pop().unwrap();
        assert!(q.pop().is_none());
        assert_eq!(q.starved(), 1);
    }

    #[test]
    fn contact_queue_bounds_are_sane() {
        let q = ContactQueue::new(0, 10);
        assert_eq!(q.capacity(), 1);
        assert_eq!(q.low_water(), 0);
        assert!(q.is_empty());
    }

    #[test]
    fn snapshot_cell_hands_out_whole_snapshots() {
        let cell = ZoneSnapshotCell::default();
        assert_eq!(cell.load(), ZoneSnapshot::default());
        let snap = ZoneSnapshot {
            agents_ready: 3,
            calls_ringing: 2,
            answer_rate: 0.4,
            ..ready(3)
        };
        cell.publish(snap);
        assert_eq!(cell.load(), snap);
    }
}
