//! How the simulated zone lives the faults of [`crate::simulate::chaos`]: a zone takeover
//! (docs/design.md §5.2, rules 1–6, with Table 9 applied by the sessions
//! themselves), a killed agent or call actor, an MPP outage, a process killed and
//! restarted. Every hook does nothing in a run without faults, so such a run is exactly what
//! it was before they existed.
//!
//! The simulated desktops answer the state check after a takeover with what they last
//! showed; a few lag (they answer with what they showed before the outage) and a few never
//! answer. The [`crate::simulate::report::Checker`] judges the outcome apart from this code.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::{ms, Ev, Sim, Stage};
use crate::simulate::chaos::{
    self, ChaosConfig, ChaosReport, Fault, FaultKind, Sabotage, LAGGING_DESKTOP, NAIL_DROP,
    RELOGIN_MS, SILENT_DESKTOP,
};
use crate::simulate::report::Held;
use outdial_core::agent::takeover::{after_takeover, Column, ConsultRole};
use outdial_core::agent::{
    AgentConfig, AgentSession, AgentTimes, CallState, LogoutReason, TakenOver,
};
use outdial_core::attempt::LedgerEntry;
use outdial_core::domain::{AttemptId, CompletionCode};

/// A fault's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum ChaosEv {
    /// The schedule's fault with this index strikes.
    Fault(u32),
    /// The dormant agent manager has taken the zone over.
    TakeoverDone,
    MppUp,
    /// The killed process is back and recovers.
    Restart,
    /// An agent logged out by a fault logs in again.
    Relogin(u32),
}

/// A chaos run's state beside the zone's.
#[derive(Debug)]
pub(super) struct Chaos {
    cfg: ChaosConfig,
    schedule: Vec<Fault>,
    /// What faults pick and what people do about them, in event order.
    rng: SmallRng,
    outage: Option<ZoneOutage>,
    crash: Option<Crash>,
    mpp_down: bool,
    /// People's actions held while the service is down, replayed when it is back.
    deferred: Vec<Ev>,
    /// Per agent, the last call its sessions disposed and how.
    last_disposal: Vec<Option<(AttemptId, CompletionCode)>>,
    /// Per agent, a state check its desktop will never answer.
    silent: Vec<Option<SilentCheck>>,
    /// Per agent, whether its session asked the desktop to check its state.
    asked: Vec<bool>,
    state_check_ms: u64,
    report: ChaosReport,
}

#[derive(Debug)]
struct ZoneOutage {
    /// Every agent in service at the fault, with what its desktop showed then.
    views: Vec<(u32, Held)>,
}

#[derive(Debug)]
struct Crash {
    /// Attempts the dead process left in flight, as storage has them.
    transient: Vec<LedgerEntry>,
    /// Agents whose sessions died with it.
    agents: Vec<u32>,
}

#[derive(Debug, Clone, Copy)]
struct SilentCheck {
    /// Virtual ms.
    deadline: u64,
    /// What the session held when its timer fired at the deadline.
    held: Option<Held>,
}

impl Chaos {
    pub(super) fn new(cfg: &ChaosConfig, seed: u64, duration: Duration) -> Self {
        let schedule = chaos::schedule(seed, cfg, duration);
        Self {
            cfg: *cfg,
            report: ChaosReport {
                schedule: schedule.clone(),
                ..ChaosReport::default()
            },
            schedule,
            rng: SmallRng::seed_from_u64(seed ^ 0xBB67_AE85_84CA_A73B),
            outage: None,
            crash: None,
            mpp_down: false,
            deferred: Vec::new(),
            last_disposal: Vec::new(),
            silent: Vec::new(),
            asked: Vec::new(),
            // The simulator's sessions keep the default.
            state_check_ms: ms(AgentConfig::default().state_check_timeout),
        }
    }
}

fn held(s: &AgentSession) -> Held {
    (s.call_state(), s.call().map(|c| c.attempt))
}

impl Sim<'_> {
    /// Queues the schedule's faults and tells the checker to judge them.
    pub(super) fn arm_faults(&mut self) {
        let n = self.agents.len();
        let Some(ch) = self.chaos.as_mut() else {
            return;
        };
        ch.last_disposal = vec![None; n];
        ch.silent = vec![None; n];
        ch.asked = vec![false; n];
        if ch.cfg.sabotage == Some(Sabotage::WrongTable9) {
            self.checker.check_takeovers(|before, _, _| before);
        } else {
            self.checker.check_takeovers(after_takeover);
        }
        let times: Vec<u64> = ch.schedule.iter().map(|f| f.at_ms).collect();
        for (k, at) in times.into_iter().enumerate() {
            self.at(at, Ev::Chaos(ChaosEv::Fault(k as u32)));
        }
    }

    /// Holds `ev` if it is something a person does while the service is down: the desktop
    /// refuses it, and the person tries again once the service is back.
    pub(super) fn deferred(&mut self, ev: Ev) -> bool {
        let Some(ch) = self.chaos.as_mut() else {
            return false;
        };
        let down = ch.outage.is_some() || ch.crash.is_some();
        let by_people = matches!(
            ev,
            Ev::Login(_) | Ev::Logout(_) | Ev::WrapEnd(..) | Ev::Chaos(ChaosEv::Relogin(_))
        );
        if down && by_people {
            ch.deferred.push(ev);
        }
        down && by_people
    }

    /// No dialing during a zone outage (docs/design.md §5.2 rule 1) or while the process is dead.
    pub(super) fn dialing_held(&self) -> bool {
        self.chaos
            .as_ref()
            .is_some_and(|c| c.outage.is_some() || c.crash.is_some())
    }

    pub(super) fn chaos_event(&mut self, ev: ChaosEv) {
        match ev {
            ChaosEv::Fault(k) => {
                let Some(ch) = self.chaos.as_mut() else {
                    return;
                };
                let Some(f) = ch.schedule.get(k as usize).copied() else {
                    return;
                };
                ch.report.faults.add(f.kind);
                match f.kind {
                    FaultKind::ZoneTakeover => self.zone_down(f),
                    FaultKind::AgentKill => self.kill_agent(),
                    FaultKind::CallKill => self.kill_call(),
                    FaultKind::MppDown => {
                        ch.mpp_down = true;
                        self.at(self.t + f.lasts_ms, Ev::Chaos(ChaosEv::MppUp));
                    }
                    FaultKind::ProcessKill => self.kill_process(f),
                }
            }
            ChaosEv::TakeoverDone => self.take_over_zone(),
            ChaosEv::MppUp => {
                if let Some(ch) = self.chaos.as_mut() {
                    ch.mpp_down = false;
                }
            }
            ChaosEv::Restart => self.restart(),
            ChaosEv::Relogin(i) => {
                let a = &self.agents[i as usize];
                if a.leaving || a.session.as_ref().is_some_and(|s| s.logged_out().is_none()) {
                    return;
                }
                if let Some(ch) = self.chaos.as_mut() {
                    ch.report.relogins += 1;
                }
                self.login(i);
            }
        }
    }

    fn live_session(&mut self, i: u32) -> Option<&mut AgentSession> {
        self.agents[i as usize]
            .session
            .as_mut()
            .filter(|s| s.logged_out().is_none())
    }

    fn roll(&mut self) -> f64 {
        self.chaos.as_mut().map_or(1.0, |c| c.rng.gen())
    }

    fn pick(&mut self, n: usize) -> usize {
        self.chaos
            .as_mut()
            .map_or(0, |c| c.rng.gen_range(0..n.max(1)))
    }

    /// Rules 1–3: the desktops are told the service is down, dialing stops, and the live
    /// answers waiting for an agent are released as nuisance. Calls with agents go on; some
    /// phones drop meanwhile (Table 9's column B).
    fn zone_down(&mut self, f: Fault) {
        let now = self.now();
        self.checker.service(false);
        let mut views = Vec::new();
        for i in 0..self.agents.len() as u32 {
            let Some(s) = self.live_session(i) else {
                continue;
            };
            views.push((i, held(s)));
            s.service_lost(now);
            self.drain(i);
        }
        let waiting: Vec<u64> = self.waiting.drain(..).collect();
        let released = waiting.len() as u64;
        for call in waiting {
            self.abandoned(call);
        }
        for &(i, _) in &views {
            if self.roll() < NAIL_DROP {
                if let Some(s) = self.live_session(i) {
                    s.on_nail_lost(now);
                }
                self.drain(i);
            }
        }
        if let Some(ch) = self.chaos.as_mut() {
            ch.report.nuisance_released += released;
            ch.outage = Some(ZoneOutage { views });
        }
        self.at(self.t + f.lasts_ms, Ev::Chaos(ChaosEv::TakeoverDone));
    }

    /// Rule 2 during the outage: a call answered live now has no agent to go to.
    pub(super) fn released_in_outage(&mut self, call: u64) -> bool {
        let Some(ch) = self.chaos.as_mut().filter(|c| c.outage.is_some()) else {
            return false;
        };
        ch.report.nuisance_released += 1;
        self.abandoned(call);
        true
    }

    /// Rules 4–6: the service is back, every agent goes through Table 9 and its desktop is
    /// asked to confirm its state; then dialing resumes.
    fn take_over_zone(&mut self) {
        let now = self.now();
        let Some(outage) = self.chaos.as_mut().and_then(|c| c.outage.take()) else {
            return;
        };
        for (i, before) in outage.views {
            let Some(r) = self.live_session(i).and_then(|s| s.take_over(now)) else {
                continue;
            };
            // The simulator's agents never consult: every session keeps the owner's role.
            self.checker.taken_over(i, &r, ConsultRole::Owner);
            self.count_column(&r);
            self.drain(i);
            let asked = self
                .chaos
                .as_mut()
                .is_some_and(|c| std::mem::take(&mut c.asked[i as usize]));
            if asked {
                self.state_check(i, before);
            } else {
                self.checker.state_check_missing();
            }
        }
        self.checker.service(true);
        if let Some(ch) = self.chaos.as_mut() {
            ch.report.takeovers += 1;
        }
        self.resume();
    }

    fn count_column(&mut self, r: &TakenOver) {
        let Some(ch) = self.chaos.as_mut() else {
            return;
        };
        let c = &mut ch.report.columns;
        match r.column {
            Column::CallSurvivedNailed => c.a += 1,
            Column::CallLostUnnailed => c.b += 1,
            Column::CallLostNailed => c.c += 1,
        }
        if r.kept {
            ch.report.kept += 1;
        }
    }

    /// The desktop of agent `i` answers the state check: with what it shows now, with what
    /// it showed before the outage (`before`: a lagging desktop), or never.
    fn state_check(&mut self, i: u32, before: Held) {
        let now = self.now();
        let t = self.t;
        let roll = self.roll();
        let Some(ch) = self.chaos.as_mut() else {
            return;
        };
        if roll < SILENT_DESKTOP {
            ch.silent[i as usize] = Some(SilentCheck {
                deadline: t + ch.state_check_ms,
                held: None,
            });
            return;
        }
        let lagging = roll < SILENT_DESKTOP + LAGGING_DESKTOP;
        let sabotage = ch.cfg.sabotage;
        ch.last_disposal[i as usize] = None;
        let Some(s) = self.live_session(i) else {
            return;
        };
        let held = held(s);
        let reported = if lagging { before } else { held };
        let told = if sabotage == Some(Sabotage::SelfCheckedDesktop) {
            held
        } else {
            reported
        };
        s.state_report(now, told.0, told.1);
        self.drain(i);
        let logout = self.agents[i as usize]
            .session
            .as_ref()
            .and_then(AgentSession::logged_out);
        let Some(ch) = self.chaos.as_mut() else {
            return;
        };
        let code = ch.last_disposal[i as usize]
            .filter(|(a, _)| Some(*a) == held.1)
            .map(|(_, c)| c);
        if held == reported {
            ch.report.checks_matched += 1;
        } else {
            ch.report.checks_mismatched += 1;
        }
        self.checker.state_checked(held, reported, logout, code);
    }

    /// An agent's actor dies: its session ends desktop-error, and so does its call.
    fn kill_agent(&mut self) {
        let now = self.now();
        let live: Vec<u32> = (0..self.agents.len() as u32)
            .filter(|&i| {
                self.agents[i as usize]
                    .session
                    .as_ref()
                    .is_some_and(|s| s.logged_out().is_none())
            })
            .collect();
        if live.is_empty() {
            return;
        }
        let i = live[self.pick(live.len())];
        if let Some(s) = self.live_session(i) {
            s.force_logout(now, LogoutReason::DesktopError);
        }
        self.drain(i);
    }

    /// A call's actor dies: the call is lost wherever it stood.
    fn kill_call(&mut self) {
        let now = self.now();
        let mut in_flight: Vec<u64> = self
            .calls
            .iter()
            .filter(|(_, c)| c.stage != Stage::Ended)
            .map(|(&id, _)| id)
            .collect();
        // The map's order is the process's; the pick must be the seed's.
        in_flight.sort_unstable();
        if in_flight.is_empty() {
            if let Some(ch) = self.chaos.as_mut() {
                ch.report.call_kills.none += 1;
            }
            return;
        }
        let call = in_flight[self.pick(in_flight.len())];
        let Some(stage) = self.calls.get(&call).map(|c| c.stage) else {
            return;
        };
        match stage {
            Stage::Ringing => {
                self.ringing -= 1;
                self.complete(call, CompletionCode::NetworkFailure);
            }
            Stage::Waiting => {
                self.waiting.retain(|&x| x != call);
                self.abandoned(call);
            }
            Stage::WithAgent => {
                // The platform's disconnect event died with the actor: the agent is logged
                // out and the call gets desktop-error (docs/design.md §5.2 rule 5).
                let agent = (0..self.agents.len() as u32).find(|&i| {
                    self.agents[i as usize].session.as_ref().is_some_and(|s| {
                        s.logged_out().is_none()
                            && s.call().is_some_and(|c| c.attempt == AttemptId(call))
                    })
                });
                match agent {
                    Some(i) => {
                        if let Some(s) = self.live_session(i) {
                            s.force_logout(now, LogoutReason::DesktopError);
                        }
                        self.drain(i);
                    }
                    None => self.complete(call, CompletionCode::DesktopError),
                }
            }
            Stage::Ended => {}
        }
        if let Some(ch) = self.chaos.as_mut() {
            let k = &mut ch.report.call_kills;
            match stage {
                Stage::Ringing => k.ringing += 1,
                Stage::Waiting => k.waiting += 1,
                Stage::WithAgent => k.with_agent += 1,
                Stage::Ended => {}
            }
        }
    }

    /// Whether a chaos run has the media server down: launches end no-media-resource.
    pub(super) fn media_down(&self) -> bool {
        self.chaos.as_ref().is_some_and(|c| c.mpp_down)
    }

    /// A launch met the media server down; its contact follows that code's retry rule
    /// (retried, never lost).
    pub(super) fn count_no_media(&mut self) {
        if let Some(ch) = self.chaos.as_mut() {
            ch.report.no_media_resource += 1;
        }
    }

    /// kill -9: every call, session and the pacing loop's memory are gone. What was on disk
    /// remains: the attempts in flight (transient until the restart resolves them), the
    /// estimates and the nuisance counts.
    fn kill_process(&mut self, f: Fault) {
        let now = self.now();
        let unix = self.unix();
        let mut agents = Vec::new();
        for i in 0..self.agents.len() as u32 {
            let a = &mut self.agents[i as usize];
            a.available = false;
            a.busy_since = None;
            a.timer_at = None;
            let Some(s) = a.session.take() else {
                continue;
            };
            if s.logged_out().is_none() {
                // The desktop lost its session with the process: its time ends here.
                self.ended_times.push(s.times(now));
                self.logged_in -= 1;
                if !a.leaving {
                    agents.push(i);
                }
            }
        }
        self.ready = 0;
        self.available.clear();
        let mut ids: Vec<u64> = self.calls.keys().copied().collect();
        ids.sort_unstable();
        let mut transient = Vec::with_capacity(ids.len());
        let mut crashed = 0;
        for id in ids {
            let Some(c) = self.calls.remove(&id) else {
                continue;
            };
            if c.stage == Stage::Waiting {
                // Answered live and dropped with no agent: recovery finds it answered and
                // counts it nuisance.
                self.checker.nuisance(id);
                self.meter.record(unix, true, true);
                self.nuisance += 1;
                if self.vicidial {
                    self.last_minute.push_back((self.t, true));
                }
                crashed += 1;
            }
            if let Some(entry) = self.entries.remove(&id) {
                transient.push(entry);
            }
        }
        self.waiting.clear();
        self.ringing = 0;
        self.zone = super::dialing::zone(self.w, self.mode);
        if let Some(ch) = self.chaos.as_mut() {
            ch.report.nuisance_crashed += crashed;
            ch.crash = Some(Crash { transient, agents });
        }
        self.at(self.t + f.lasts_ms, Ev::Chaos(ChaosEv::Restart));
    }

    /// The process is back: every attempt it left in flight ends recovered-after-failover
    /// and its contact follows that code's retry rule, as node/recovery.rs does; the agents
    /// log in again; dialing resumes.
    fn restart(&mut self) {
        let Some(ch) = self.chaos.as_mut() else {
            return;
        };
        let Some(crash) = ch.crash.take() else {
            return;
        };
        let sabotage = ch.cfg.sabotage;
        let unix = self.unix();
        let mut recovered = 0;
        for (k, mut entry) in crash.transient.into_iter().enumerate() {
            let contact = entry.contact().id.0;
            match sabotage {
                Some(Sabotage::ForgetRecovery) if k == 0 => continue,
                Some(Sabotage::RedialInFlight) if k == 0 => {
                    self.contacts.due_again(contact, unix);
                    continue;
                }
                _ => {}
            }
            let code = CompletionCode::RecoveredAfterFailover;
            let writes = entry.close(Some(&self.w.campaign), code, None, unix);
            self.contacts.apply(&writes);
            self.checker.ended(contact);
            recovered += 1;
        }
        let stuck = self.contacts.tally().in_flight;
        self.checker.recovered(stuck);
        for i in crash.agents {
            self.relogin_later(i);
        }
        if let Some(ch) = self.chaos.as_mut() {
            ch.report.recovered_after_failover += recovered;
        }
        self.resume();
    }

    fn relogin_later(&mut self, i: u32) {
        let Some(ch) = self.chaos.as_mut() else {
            return;
        };
        let delay = ch.rng.gen_range(RELOGIN_MS.0..=RELOGIN_MS.1);
        self.at(self.t + delay, Ev::Chaos(ChaosEv::Relogin(i)));
    }

    /// Replays what people did while the service was down.
    fn resume(&mut self) {
        let held = self
            .chaos
            .as_mut()
            .map(|c| std::mem::take(&mut c.deferred))
            .unwrap_or_default();
        for ev in held {
            self.at(self.t, ev);
        }
    }

    /// The session of agent `i` asked its desktop for its state (after a takeover).
    pub(super) fn state_check_asked(&mut self, i: u32) {
        if let Some(ch) = self.chaos.as_mut() {
            ch.asked[i as usize] = true;
        }
    }

    pub(super) fn note_disposal(&mut self, i: u32, attempt: AttemptId, code: CompletionCode) {
        if let Some(ch) = self.chaos.as_mut() {
            ch.last_disposal[i as usize] = Some((attempt, code));
        }
    }

    /// A session of agent `i` ended: judges a state check it never answered, and brings the
    /// agent back if it did not ask to leave.
    pub(super) fn session_ended(&mut self, i: u32, reason: LogoutReason) {
        let t = self.t;
        let leaving = self.agents[i as usize].leaving;
        let Some(ch) = self.chaos.as_mut() else {
            return;
        };
        if reason == LogoutReason::DesktopError {
            ch.report.desktop_error_logouts += 1;
        }
        // An agent who logs out before the deadline spoke for its desktop: nothing to judge.
        if let Some(sc) = ch.silent[i as usize].take() {
            if reason != LogoutReason::Requested {
                let held_call = sc.held.and_then(|h| h.1);
                let code = ch.last_disposal[i as usize]
                    .filter(|(a, _)| Some(*a) == held_call)
                    .map(|(_, c)| c);
                ch.report.checks_unanswered += 1;
                self.checker.state_check_unanswered(
                    sc.held.is_some() && t == sc.deadline,
                    Some(reason),
                    held_call,
                    code,
                );
            }
        }
        if reason != LogoutReason::Requested && !leaving {
            self.relogin_later(i);
        }
    }

    /// Notes what a session held when its timer fired at an unanswered check's deadline.
    pub(super) fn before_timeout(&mut self, i: u32) {
        let t = self.t;
        let Some(sc) = self
            .chaos
            .as_mut()
            .and_then(|c| c.silent[i as usize].as_mut())
        else {
            return;
        };
        if t >= sc.deadline {
            sc.held = self.agents[i as usize].session.as_ref().map(held);
        }
    }

    /// The engine hung up agent `i`'s customer (a takeover that lost the phone, or a
    /// logout): the agent wraps the call up, if its session goes on.
    pub(super) fn customer_hung_up(&mut self, i: u32, call: u64) {
        let Some(wrap) = self.end_with_agent(call) else {
            return;
        };
        let wrapping = self.agents[i as usize].session.as_ref().is_some_and(|s| {
            s.logged_out().is_none()
                && s.call_state() == CallState::Wrapup
                && s.call().is_some_and(|c| c.attempt == AttemptId(call))
        });
        if wrapping {
            self.at(self.t + ms(wrap), Ev::WrapEnd(i, call));
        }
    }

    /// The run is over: a state check still unanswered never ended its session.
    pub(super) fn close_chaos(&mut self) {
        let Some(ch) = self.chaos.as_mut() else {
            return;
        };
        for slot in ch.silent.iter_mut() {
            if slot.take().is_some() {
                ch.report.checks_unanswered += 1;
                self.checker.state_check_unanswered(false, None, None, None);
            }
        }
    }

    pub(super) fn chaos_report(&self, total: &AgentTimes) -> Option<ChaosReport> {
        let ch = self.chaos.as_ref()?;
        Some(ChaosReport {
            ha_s: total.ha.as_secs_f64(),
            ..ch.report.clone()
        })
    }
}
