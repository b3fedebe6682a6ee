//! How the simulated zone dials: the core's own [`Zone`] decides, the simulator is its host
//! (board counts, the contact list, media servers that a chaos run may take down, attempt
//! ids), and each launch meets a customer drawn from the seed.

use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use outdial_core::attempt::LedgerEntry;
use outdial_core::domain::{CompletionCode, Contact, ContactId, JobId, UnixMs};
use outdial_core::pacing::nuisance::NuisanceMeter;
use outdial_core::pacing::predictive::Estimator;
use outdial_core::pacing::{Pacer, PacingPolicy, ZoneSnapshot};
use outdial_core::store::StoreError;
use outdial_core::zone::{Now, Pacing, Unplaced, Zone, ZoneHost};

use super::super::contacts::Contacts;
use super::super::vicidial::VicidialAdapt;
use super::super::workload::{Mode, Workload};
use super::{ms, Call, Ev, Sim, SimAgent, Stage, DAY_MS, JOB};

/// The mode's pacing: the engine's pacer, or VICIdial's as the baseline.
#[derive(Debug)]
pub(super) enum SimPacing {
    Pacer(Pacer),
    Vicidial {
        adapt: VicidialAdapt,
        /// Agents on a call at the decision, which VICIdial's level multiplies.
        on_call: u32,
    },
}

impl Pacing for SimPacing {
    fn policy(&self) -> PacingPolicy {
        match self {
            Self::Pacer(p) => p.policy(),
            // Never predictive: the estimator's measurements are the engine's, not VICIdial's.
            Self::Vicidial { .. } => PacingPolicy::Progressive {
                lines_per_agent: 1.0,
            },
        }
    }

    fn decide(&mut self, now: Instant, snap: &ZoneSnapshot, lines: u32) -> u32 {
        match self {
            Self::Pacer(p) => p.decide(now, snap, lines),
            Self::Vicidial { adapt, on_call } => adapt.decide(snap.agents_ready, *on_call, lines),
        }
    }

    fn give_back(&mut self, n: u32) {
        if let Self::Pacer(p) = self {
            p.give_back(n);
        }
    }

    fn next_decision_at(&self, now: Instant) -> Option<Instant> {
        match self {
            Self::Pacer(p) => p.next_decision_at(now),
            Self::Vicidial { .. } => None,
        }
    }
}

/// The mode's zone as it starts (or restarts, with nothing in memory).
pub(super) fn zone(w: &Workload, mode: Mode) -> Zone<SimPacing> {
    let campaign = &w.campaign;
    let cap = campaign.nuisance().cap;
    let pacing = match mode {
        Mode::Predictive { .. } => SimPacing::Pacer(Pacer::new(campaign.mode())),
        Mode::Progressive { lines_per_agent } | Mode::FixedRatio { lines_per_agent } => {
            SimPacing::Pacer(Pacer::new(PacingPolicy::Progressive { lines_per_agent }))
        }
        Mode::VicidialAdapt(params) => SimPacing::Vicidial {
            adapt: VicidialAdapt::new(params, cap * 100.0),
            on_call: 0,
        },
    };
    let mut z = Zone::new("sim", "sim");
    z.attach(JOB, std::sync::Arc::new(campaign.clone()), pacing);
    z
}

/// The simulator as the zone core's host.
struct Host<'a> {
    snap: ZoneSnapshot,
    t: u64,
    unix: UnixMs,
    agents: &'a [SimAgent],
    busy: &'a mut Vec<Duration>,
    meter: &'a NuisanceMeter,
    estimator: &'a Estimator,
    contacts: &'a mut Contacts,
    media_down: bool,
    next_id: &'a mut u64,
}

impl ZoneHost for Host<'_> {
    type Agent = ();

    fn snapshot(&self) -> ZoneSnapshot {
        self.snap
    }

    fn may_launch(&self, _: JobId) -> bool {
        true
    }

    fn lines_without_agent(&self, _: JobId) -> u32 {
        self.snap.calls_without_agent()
    }

    fn measure(&mut self, _: JobId, _: Instant, snap: &mut ZoneSnapshot) {
        self.busy.clear();
        let t = self.t;
        self.busy.extend(
            self.agents
                .iter()
                .filter_map(|a| a.busy_since)
                .map(|since| Duration::from_millis(t - since)),
        );
        let counts = self.meter.counts(self.unix);
        self.estimator.fill_snapshot(snap, self.busy, counts);
    }

    fn next_contact(&mut self, _: JobId, now: UnixMs) -> Option<Contact> {
        self.contacts.next(now)
    }

    fn return_contact(&mut self, _: JobId, _: ContactId) {}

    fn pick_media(&mut self, _: UnixMs) -> Option<usize> {
        (!self.media_down).then_some(0)
    }

    fn release_media(&mut self, _: usize) {}

    fn allocate_ids(&mut self, n: u64) -> Result<u64, StoreError> {
        let first = *self.next_id;
        *self.next_id += n;
        Ok(first)
    }

    fn free_agent(&mut self, _: JobId) -> Option<()> {
        None
    }

    fn stored_contact(&mut self, _: JobId, _: ContactId) -> Option<Contact> {
        None
    }
}

impl Sim<'_> {
    /// One pass of the zone's pacing loop, then its next wake-up.
    pub(super) fn decide(&mut self) {
        if !self.dialing || self.dialing_held() {
            return;
        }
        let on_call = self
            .agents
            .iter()
            .filter(|a| a.session.as_ref().is_some_and(|s| s.call_state().on_call()))
            .count() as u32;
        if let Some(SimPacing::Vicidial { on_call: n, .. }) = self.zone.pacing_mut(JOB) {
            *n = on_call;
        }
        let now = Now {
            at: self.now(),
            unix: self.unix(),
        };
        let media_down = self.media_down();
        let mut host = Host {
            snap: ZoneSnapshot {
                agents_ready: self.ready,
                agents_total: self.logged_in,
                calls_dialing: 0,
                calls_ringing: self.ringing,
                calls_waiting: self.waiting.len() as u32,
                ..ZoneSnapshot::default()
            },
            t: self.t,
            unix: now.unix,
            agents: &self.agents,
            busy: &mut self.busy,
            meter: &self.meter,
            estimator: &self.estimator,
            contacts: &mut self.contacts,
            media_down,
            next_id: &mut self.next_id,
        };
        let d = self.zone.decide(now, 0, &mut host);
        self.contacts.apply(&d.writes);
        for u in d.unplaced {
            self.unplaced(u);
        }
        for launch in d.launches {
            self.launch(launch.entry);
        }
        let mut wake = d
            .wake_at
            .map(|at| ms(at.saturating_duration_since(self.origin)));
        if d.ran_dry {
            // The list ran dry: the prefetcher would wake the loop when a retry comes due.
            let due = self
                .contacts
                .next_due()
                .map(|due| due.saturating_sub(self.w.start_ms));
            wake = wake.into_iter().chain(due).min();
        }
        if let Some(t) = wake.map(|t| t.max(self.t + 1)) {
            if self.next_decide.is_none_or(|d| t < d) {
                self.next_decide = Some(t);
                self.at(t, Ev::Decide);
            }
        }
    }

    /// A launch meets its customer: answered live or not, after how long, with what patience.
    fn launch(&mut self, entry: LedgerEntry) {
        let call = entry.id().0;
        let contact = entry.contact().id.0;
        let attempt_no = entry.contact().attempts;
        self.checker.launched(contact);
        self.count_launch();
        let mut rng = SmallRng::seed_from_u64(
            self.seed
                ^ contact.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ u64::from(attempt_no).wrapping_mul(0xC2B2_AE3D_27D4_EB4F),
        );
        let w = self.w;
        let timeout = w.campaign.ring_timeout();
        let mut live = rng.gen::<f64>() < w.answer_rate;
        let mut ring = if live {
            w.ring_answered.sample(&mut rng)
        } else {
            w.ring_unanswered.sample(&mut rng)
        };
        if ring >= timeout {
            live = false;
            ring = timeout;
        }
        let c = Call {
            contact,
            live,
            ring,
            talk: Duration::ZERO,
            wrap: Duration::ZERO,
            patience: w.patience.sample(&mut rng),
            stage: Stage::Ringing,
            answered_at: 0,
        };
        self.calls.insert(call, c);
        self.entries.insert(call, entry);
        self.ringing += 1;
        if self.vicidial {
            self.last_minute.push_back((self.t, false));
        }
        self.at(self.t + ms(ring), Ev::Outcome(call));
    }

    /// An attempt that ended as it was taken: no media server (a chaos run's MPP is down).
    /// Its contact followed that code's retry rule in the ledger's writes (retried, never
    /// lost).
    fn unplaced(&mut self, u: Unplaced) {
        self.checker.launched(u.contact.0);
        self.count_launch();
        if u.code == CompletionCode::NoMediaResource {
            self.count_no_media();
        }
        self.checker.ended(u.contact.0);
    }

    fn count_launch(&mut self) {
        self.attempts += 1;
        *self
            .launches_by_day
            .entry(self.unix() / DAY_MS)
            .or_default() += 1;
    }

    /// The attempt ended with `code`: what becomes of its contact is the ledger's.
    pub(super) fn complete(&mut self, call: u64, code: CompletionCode) {
        let Some(c) = self.calls.remove(&call) else {
            return;
        };
        if let Some(mut entry) = self.entries.remove(&call) {
            let writes = entry.close(Some(&self.w.campaign), code, None, self.unix());
            self.contacts.apply(&writes);
        }
        self.checker.ended(c.contact);
    }
}
