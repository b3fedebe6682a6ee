//! One mode's run of a workload: a zone with its agents, customers and pacing loop, in
//! virtual time. Discrete events: the run jumps from one deadline to the next, so an 8-hour
//! shift takes seconds.
//!
//! The parts are the node's: [`Pacer`] with the [`Estimator`] feeding its snapshot, the
//! [`NuisanceMeter`], [`AgentSession`] for every agent, and [`outdial_core::campaign::retry::decide`] with the
//! resolved campaign for what becomes of each contact. The simulator stands in for the zone
//! board, the call actors and the customers.
//!
//! Every attempt draws its customer (answer, ring time, patience) from an RNG seeded by the
//! seed, the contact and the attempt number, and every agent's k-th call its talk and wrap-up
//! times from the agent's own stream: every mode meets the same customers and the same call
//! lengths, so differences between modes are the modes', not the dice's.
//!
//! A chaos run adds the faults of [`super::chaos`]; [`faults`] is how the zone lives them.
//! Without faults the run is exactly what it was before they existed.

mod dialing;
mod faults;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::SeedableRng;

use super::chaos::ChaosConfig;
use super::contacts::Contacts;
use super::report::{Checker, ModeReport};
use super::vicidial::DropCounts;
use super::workload::{Mode, Workload};
use outdial_core::agent::{
    AgentConfig, AgentEffect, AgentEvent, AgentId, AgentSession, AgentTimes, CallInfo, CallState,
    Command, Output,
};
use outdial_core::attempt::LedgerEntry;
use outdial_core::clock::{Clock, VirtualClock};
use outdial_core::domain::{AttemptId, CompletionCode, ContactId, JobId, UnixMs};
use outdial_core::pacing::nuisance::NuisanceMeter;
use outdial_core::pacing::predictive::{Estimator, EstimatorConfig};
use outdial_core::zone::Zone;

use dialing::SimPacing;

pub(super) const JOB: JobId = JobId(1);
const DAY_MS: u64 = 86_400_000;

/// What happens at a deadline. Agents are indices, calls are attempt ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Login(u32),
    Logout(u32),
    /// The call's ringing ends: answered live, or not.
    Outcome(u64),
    /// A live answer's connect window (or the customer's patience) ran out.
    WaitEnd(u64),
    TalkEnd(u32, u64),
    WrapEnd(u32, u64),
    AgentTimer(u32),
    Decide,
    /// The one-second tick of the VICIdial baseline.
    Tick,
    StopDialing,
    /// A fault strikes or ends (chaos runs only).
    Chaos(faults::ChaosEv),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Ringing,
    Waiting,
    WithAgent,
    /// The customer is gone; the agent wraps up.
    Ended,
}

/// One attempt and the customer it reaches (talk and wrap-up are drawn when it connects).
#[derive(Debug, Clone, Copy)]
struct Call {
    contact: u64,
    live: bool,
    ring: Duration,
    talk: Duration,
    wrap: Duration,
    patience: Duration,
    stage: Stage,
    /// When it was answered live (virtual ms).
    answered_at: u64,
}

#[derive(Debug)]
struct SimAgent {
    session: Option<AgentSession>,
    leaving: bool,
    available: bool,
    /// When the current call (talk and wrap-up) began, ms.
    busy_since: Option<u64>,
    /// Talk and wrap-up times of this agent's calls, in order.
    lengths: SmallRng,
    timer_at: Option<u64>,
}

struct Sim<'w> {
    w: &'w Workload,
    mode: Mode,
    seed: u64,
    origin: Instant,
    t: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64, Ev)>>,
    agents: Vec<SimAgent>,
    /// Agents that became available, longest waiting first (entries may be stale).
    available: VecDeque<u32>,
    ready: u32,
    logged_in: u32,
    calls: HashMap<u64, Call>,
    /// The next attempt id the simulated store hands out.
    next_id: u64,
    /// Each call's ledger entry, by attempt id.
    entries: HashMap<u64, LedgerEntry>,
    ringing: u32,
    waiting: VecDeque<u64>,
    contacts: Contacts,
    /// The zone core, deciding as it does in the node.
    zone: Zone<SimPacing>,
    /// Whether the zone paces as VICIdial (its drop counts are kept then).
    vicidial: bool,
    estimator: Estimator,
    meter: NuisanceMeter,
    checker: Checker,
    dialing: bool,
    next_decide: Option<u64>,
    busy: Vec<Duration>,
    attempts: u64,
    live: u64,
    connected: u64,
    nuisance: u64,
    /// Launches per calendar day, and the last minute's launches and drops (VICIdial).
    launches_by_day: BTreeMap<u64, u64>,
    last_minute: VecDeque<(u64, bool)>,
    ended_times: Vec<AgentTimes>,
    chaos: Option<faults::Chaos>,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Runs `mode` on the workload; `progress(simulated, total)` is called now and then.
pub fn run_mode(
    w: &Workload,
    mode: Mode,
    seed: u64,
    progress: &mut dyn FnMut(Duration, Duration),
) -> ModeReport {
    run_mode_with(w, mode, seed, None, progress)
}

/// [`run_mode`], meeting the faults `chaos` schedules when given.
pub fn run_mode_with(
    w: &Workload,
    mode: Mode,
    seed: u64,
    chaos: Option<&ChaosConfig>,
    progress: &mut dyn FnMut(Duration, Duration),
) -> ModeReport {
    // Any instant will do as the origin: only differences from it matter.
    let origin = VirtualClock::new().now();
    let campaign = &w.campaign;
    let mut sim = Sim {
        w,
        mode,
        seed,
        origin,
        t: 0,
        seq: 0,
        queue: BinaryHeap::new(),
        agents: Vec::new(),
        available: VecDeque::new(),
        ready: 0,
        logged_in: 0,
        calls: HashMap::new(),
        next_id: 1,
        entries: HashMap::new(),
        ringing: 0,
        waiting: VecDeque::new(),
        contacts: Contacts::new(w.contacts),
        zone: dialing::zone(w, mode),
        vicidial: matches!(mode, Mode::VicidialAdapt(_)),
        estimator: Estimator::new(EstimatorConfig::new(
            campaign.nuisance().window,
            campaign.connect_window(),
        )),
        meter: NuisanceMeter::default(),
        checker: Checker::new(campaign.connect_window()),
        dialing: true,
        next_decide: None,
        busy: Vec::new(),
        attempts: 0,
        live: 0,
        connected: 0,
        nuisance: 0,
        launches_by_day: BTreeMap::new(),
        last_minute: VecDeque::new(),
        ended_times: Vec::new(),
        chaos: chaos.map(|cfg| faults::Chaos::new(cfg, seed, w.duration)),
    };
    sim.setup();
    let total = w.duration;
    let mut events = 0u64;
    loop {
        let Some(Reverse((t, _, ev))) = sim.queue.pop() else {
            // Every call has ended: the agents still logged in go home.
            let staying: Vec<u32> = (0..sim.agents.len() as u32)
                .filter(|&i| {
                    let a = &sim.agents[i as usize];
                    !a.leaving && a.session.as_ref().is_some_and(|s| s.logged_out().is_none())
                })
                .collect();
            if staying.is_empty() {
                break;
            }
            for i in staying {
                sim.at(sim.t, Ev::Logout(i));
            }
            continue;
        };
        sim.t = t;
        sim.handle(ev);
        // Decide once all the events of this instant are in, as the loop wakes after them.
        if sim
            .queue
            .peek()
            .is_none_or(|Reverse((next, _, _))| *next > t)
        {
            sim.decide();
        }
        events += 1;
        if events.is_multiple_of(65_536) {
            progress(Duration::from_millis(t).min(total), total);
        }
    }
    progress(total, total);
    sim.close_chaos();
    sim.report()
}

impl Sim<'_> {
    fn now(&self) -> Instant {
        self.origin + Duration::from_millis(self.t)
    }

    fn unix(&self) -> UnixMs {
        self.w.start_ms + self.t
    }

    fn at(&mut self, t: u64, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse((t, self.seq, ev)));
    }

    fn setup(&mut self) {
        let w = self.w;
        for shift in &w.shifts {
            for _ in 0..shift.count {
                let i = self.agents.len() as u32;
                self.agents.push(SimAgent {
                    session: None,
                    leaving: false,
                    available: false,
                    busy_since: None,
                    lengths: SmallRng::seed_from_u64(
                        self.seed ^ u64::from(i).wrapping_mul(0xD6E8_FEB8_6659_FD93) ^ 0xA5A5,
                    ),
                    timer_at: None,
                });
                self.at(ms(shift.login), Ev::Login(i));
                if let Some(logout) = shift.logout {
                    self.at(ms(logout), Ev::Logout(i));
                }
            }
        }
        self.at(ms(self.w.duration), Ev::StopDialing);
        if self.vicidial {
            self.at(1000, Ev::Tick);
        }
        self.arm_faults();
    }

    fn handle(&mut self, ev: Ev) {
        if self.deferred(ev) {
            return;
        }
        match ev {
            Ev::Login(i) => self.login(i),
            Ev::Logout(i) => {
                self.agents[i as usize].leaving = true;
                self.command(
                    i,
                    Command::NotReady {
                        reason: "shift end".into(),
                    },
                );
                self.leave_if_idle(i);
            }
            Ev::Outcome(call) => self.outcome(call),
            Ev::WaitEnd(call) => self.wait_end(call),
            Ev::TalkEnd(i, call) => {
                let now = self.now();
                // The customer may have gone already, hung up by a fault.
                let Some(wrap) = self.end_with_agent(call) else {
                    return;
                };
                if let Some(s) = self.agents[i as usize].session.as_mut() {
                    s.customer_ended(now, AttemptId(call));
                }
                self.drain(i);
                self.at(self.t + ms(wrap), Ev::WrapEnd(i, call));
            }
            Ev::WrapEnd(i, call) => {
                let ours = self.agents[i as usize].session.as_ref().is_some_and(|s| {
                    s.call_state() == CallState::Wrapup
                        && s.call().is_some_and(|c| c.attempt == AttemptId(call))
                });
                if ours {
                    self.command(
                        i,
                        Command::Dispose {
                            code: CompletionCode::AnsweredHuman,
                            callback_at: None,
                        },
                    );
                }
                self.leave_if_idle(i);
            }
            Ev::AgentTimer(i) => {
                let now = self.now();
                self.agents[i as usize].timer_at = None;
                self.before_timeout(i);
                if let Some(s) = self.agents[i as usize].session.as_mut() {
                    s.handle_timeout(now);
                }
                self.drain(i);
                self.leave_if_idle(i);
            }
            Ev::Decide => {
                if self.next_decide == Some(self.t) {
                    self.next_decide = None;
                }
            }
            Ev::Tick => self.tick(),
            Ev::StopDialing => self.dialing = false,
            Ev::Chaos(ev) => self.chaos_event(ev),
        }
    }

    fn login(&mut self, i: u32) {
        let now = self.now();
        let cfg = AgentConfig {
            wrapup_timeout: self.w.wrapup_timeout,
            ..AgentConfig::default()
        };
        self.agents[i as usize].session = Some(AgentSession::new(
            AgentId(format!("agent-{i}")),
            "sim".into(),
            cfg,
            now,
        ));
        self.logged_in += 1;
        self.drain(i);
        if let Some(s) = self.agents[i as usize].session.as_mut() {
            s.attach(now, JOB);
        }
        self.drain(i);
        self.command(i, Command::Ready);
    }

    fn command(&mut self, i: u32, cmd: Command) {
        let now = self.now();
        if let Some(s) = self.agents[i as usize].session.as_mut() {
            // A refused command changes nothing; the simulator only sends ones its own
            // bookkeeping allows, and the invariants catch the rest.
            let _ = s.handle_command(now, cmd);
        }
        self.drain(i);
    }

    /// Ends a call that is with its agent, giving the agent's wrap-up time; None if it is
    /// not with an agent (any more).
    fn end_with_agent(&mut self, call: u64) -> Option<Duration> {
        let c = self
            .calls
            .get_mut(&call)
            .filter(|c| c.stage == Stage::WithAgent)?;
        c.stage = Stage::Ended;
        Some(c.wrap)
    }

    fn leave_if_idle(&mut self, i: u32) {
        let a = &self.agents[i as usize];
        let idle = a
            .session
            .as_ref()
            .is_some_and(|s| s.call_state() == CallState::Idle && s.logged_out().is_none());
        if a.leaving && idle {
            self.command(i, Command::Logout);
        }
    }

    /// Drains the session's output and acts on its effects (the agent actor's job).
    fn drain(&mut self, i: u32) {
        while let Some(out) = self.agents[i as usize]
            .session
            .as_mut()
            .and_then(AgentSession::poll_output)
        {
            let effect = match out {
                Output::Effect(effect) => effect,
                Output::Desktop(AgentEvent::StateCheck) => {
                    self.state_check_asked(i);
                    continue;
                }
                Output::Desktop(_) => continue,
            };
            match effect {
                // The phone answers at once in the simulation.
                AgentEffect::Nail => {
                    let now = self.now();
                    if let Some(s) = self.agents[i as usize].session.as_mut() {
                        s.on_nailed(now);
                    }
                }
                AgentEffect::Availability(on) => {
                    let a = &mut self.agents[i as usize];
                    if on != a.available {
                        a.available = on;
                        if on {
                            self.ready += 1;
                            self.available.push_back(i);
                        } else {
                            self.ready -= 1;
                        }
                    }
                    if on {
                        self.assign();
                    }
                }
                AgentEffect::Dispose { attempt, code, .. } => {
                    self.note_disposal(i, attempt, code);
                    let since = self.agents[i as usize].busy_since.take();
                    if let Some(since) = since {
                        let now = self.now();
                        self.estimator
                            .record_handle(now, Duration::from_millis(self.t - since));
                    }
                    self.complete(attempt.0, code);
                }
                AgentEffect::Ended(reason) => {
                    self.logged_in -= 1;
                    let now = self.now();
                    if let Some(s) = self.agents[i as usize].session.as_ref() {
                        self.ended_times.push(s.times(now));
                    }
                    self.session_ended(i, reason);
                }
                // Only faults hang up a customer in the simulation (takeovers, logouts).
                AgentEffect::HangUpCustomer(attempt) => self.customer_hung_up(i, attempt.0),
                _ => {}
            }
        }
        let a = &mut self.agents[i as usize];
        let due = a
            .session
            .as_ref()
            .and_then(AgentSession::poll_timeout)
            .map(|(at, _)| ms(at.saturating_duration_since(self.origin)));
        if due.is_some() && due != a.timer_at {
            a.timer_at = due;
            if let Some(t) = due {
                self.at(t.max(self.t), Ev::AgentTimer(i));
            }
        }
    }

    /// Gives waiting calls to available agents, oldest call to the longest-waiting agent.
    fn assign(&mut self) {
        while let Some(&call) = self.waiting.front() {
            let Some(i) = self.available.pop_front() else {
                return;
            };
            let a = &self.agents[i as usize];
            if !(a.available && a.session.as_ref().is_some_and(AgentSession::is_available)) {
                continue;
            }
            let Some(c) = self.calls.get(&call).copied() else {
                self.waiting.pop_front();
                continue;
            };
            let info = CallInfo {
                attempt: AttemptId(call),
                job: JOB,
                contact: ContactId(c.contact),
                phone: String::new(),
                fields: BTreeMap::new(),
            };
            let now = self.now();
            let taken = self.agents[i as usize]
                .session
                .as_mut()
                .is_some_and(|s| s.offer_call(now, info));
            if !taken {
                continue;
            }
            self.waiting.pop_front();
            self.estimator
                .record_wait(Duration::from_millis(self.t - c.answered_at), false);
            let a = &mut self.agents[i as usize];
            a.busy_since = Some(self.t);
            let talk = self.w.talk.sample(&mut a.lengths);
            let wrap = self.w.wrap.sample(&mut a.lengths);
            if let Some(c) = self.calls.get_mut(&call) {
                c.stage = Stage::WithAgent;
                c.talk = talk;
                c.wrap = wrap;
            }
            let unix = self.unix();
            self.checker.connected(call, unix);
            self.meter.record(unix, true, false);
            self.connected += 1;
            self.at(self.t + ms(talk), Ev::TalkEnd(i, call));
            self.drain(i);
        }
    }

    fn outcome(&mut self, call: u64) {
        let now = self.now();
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        self.ringing -= 1;
        self.estimator.record_attempt(now, c.live, c.ring);
        if !c.live {
            self.complete(call, CompletionCode::NoAnswer);
            return;
        }
        c.stage = Stage::Waiting;
        c.answered_at = self.t;
        let patience = c.patience;
        let give_up = self.w.campaign.connect_window().min(patience);
        self.live += 1;
        self.checker.answered(call, self.unix());
        if self.released_in_outage(call) {
            return;
        }
        self.waiting.push_back(call);
        self.at(self.t + ms(give_up), Ev::WaitEnd(call));
        self.assign();
    }

    fn wait_end(&mut self, call: u64) {
        if !self
            .calls
            .get(&call)
            .is_some_and(|c| c.stage == Stage::Waiting)
        {
            return;
        }
        self.waiting.retain(|&x| x != call);
        if let Some(c) = self.calls.get(&call) {
            // The customer left before the window closed, or the window closed on them.
            let left = c.patience < self.w.campaign.connect_window();
            self.estimator
                .record_wait(Duration::from_millis(self.t - c.answered_at), left);
        }
        self.abandoned(call);
    }

    /// A live answer got the message, no agent: a nuisance call, counted where the cap is.
    fn abandoned(&mut self, call: u64) {
        let unix = self.unix();
        self.checker.nuisance(call);
        self.meter.record(unix, true, true);
        self.nuisance += 1;
        if self.vicidial {
            self.last_minute.push_back((self.t, true));
        }
        self.complete(call, CompletionCode::Nuisance);
    }

    fn tick(&mut self) {
        if !self.dialing {
            return;
        }
        let minute_ago = self.t.saturating_sub(60_000);
        while self
            .last_minute
            .front()
            .is_some_and(|(t, _)| *t < minute_ago)
        {
            self.last_minute.pop_front();
        }
        let counts = self.meter.counts(self.unix());
        let drops = DropCounts {
            calls_today: self
                .launches_by_day
                .get(&(self.unix() / DAY_MS))
                .copied()
                .unwrap_or(0),
            answers_today: counts.live_day,
            drops_today: counts.nuisance_day,
            calls_last_minute: self.last_minute.iter().filter(|(_, d)| !d).count() as u64,
            drops_last_minute: self.last_minute.iter().filter(|(_, d)| *d).count() as u64,
        };
        let (ready, waiting, agents) = (self.ready, self.waiting.len() as u32, self.logged_in);
        if let Some(SimPacing::Vicidial { adapt, .. }) = self.zone.pacing_mut(JOB) {
            adapt.tick(ready, waiting, agents, drops);
        }
        self.at(self.t + 1000, Ev::Tick);
    }

    fn report(&self) -> ModeReport {
        let now = self.now();
        let mut total = self.ended_times.iter().fold(AgentTimes::default(), sum);
        for a in &self.agents {
            if let Some(s) = a.session.as_ref().filter(|s| s.logged_out().is_none()) {
                total = sum(total, &s.times(now));
            }
        }
        let logged_in_h = total.logged_in.as_secs_f64() / 3600.0;
        let occupancy = total.occupancy();
        let cap_pct = self.w.campaign.nuisance().cap * 100.0;
        let (day, month) = self.checker.rates();
        let contacts = self.contacts.tally();
        ModeReport {
            mode: self.mode.name().to_owned(),
            occupancy,
            waiting_s_per_agent_hour: if logged_in_h > 0.0 {
                total.waiting.as_secs_f64() / logged_in_h
            } else {
                0.0
            },
            nuisance_day_pct: day,
            nuisance_30d_pct: month,
            cap_pct,
            under_cap: day <= cap_pct && month <= cap_pct,
            calls_per_hour: self.attempts as f64 / (self.w.duration.as_secs_f64() / 3600.0),
            attempts: self.attempts,
            live_answers: self.live,
            connected: self.connected,
            nuisance: self.nuisance,
            contacts_final: contacts.final_,
            contacts_retry: contacts.retry,
            invariants: self.checker.finish(
                contacts.in_flight,
                self.mode.promises_cap().then_some(cap_pct),
            ),
            chaos: self.chaos_report(&total),
        }
    }
}

fn sum(a: AgentTimes, b: &AgentTimes) -> AgentTimes {
    AgentTimes {
        logged_in: a.logged_in + b.logged_in,
        talk: a.talk + b.talk,
        wrap: a.wrap + b.wrap,
        waiting: a.waiting + b.waiting,
        other: a.other + b.other,
        ha: a.ha + b.ha,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::WorkloadSpec;

    #[test]
    fn a_finite_list_is_worked_through_without_losing_a_contact() {
        let text = r#"
name = "finite"
duration_s = 10800
contacts = 40
modes = ["predictive", "fixed-ratio"]
[agents]
count = 2
[calls]
answer_rate = 0.3
talk = { dist = "exponential", mean_s = 60 }
"#;
        let w = WorkloadSpec::from_toml(text).unwrap().resolve().unwrap();
        for mode in w.modes.clone() {
            let r = run_mode(&w, mode, 4, &mut |_, _| {});
            assert!(r.passed(), "{:?}", r.invariants);
            assert_eq!(r.contacts_final + r.contacts_retry, 40);
            // No-answers are retried after 30 minutes (the campaign's default rule).
            assert!(r.attempts > 40, "{r:?}");
            assert!(r.contacts_final > 0);
        }
    }
}
