//! What a simulation reports, and the invariants of docs/design.md §6 it checks.
//!
//! The [`Checker`] is fed the simulation's events as they happen and judges them on its own,
//! apart from the code that produced them, so a bug in the simulated zone shows up as a
//! failed invariant rather than as a number nobody questions.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::chaos::ChaosReport;
use outdial_core::agent::takeover::{Column, ConsultRole};
use outdial_core::agent::{CallState, LogoutReason, TakenOver};
use outdial_core::domain::{AttemptId, CompletionCode, UnixMs};

const DAY_MS: u64 = 86_400_000;

/// One mode's run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModeReport {
    pub mode: String,
    /// (talk + wrap-up) / logged-in time, over all agents.
    pub occupancy: f64,
    /// Agents' time available without a call, s per logged-in agent-hour.
    pub waiting_s_per_agent_hour: f64,
    /// Nuisance calls per live answer, percent: the worst calendar day, and the rolling 30
    /// days at the end.
    pub nuisance_day_pct: f64,
    pub nuisance_30d_pct: f64,
    /// The cap, percent, and whether both rates stay under it.
    pub cap_pct: f64,
    pub under_cap: bool,
    /// Attempts per hour of dialing.
    pub calls_per_hour: f64,
    pub attempts: u64,
    pub live_answers: u64,
    pub connected: u64,
    pub nuisance: u64,
    /// Contacts that ended final / are waiting for a retry, at the end.
    pub contacts_final: u64,
    pub contacts_retry: u64,
    pub invariants: Vec<Invariant>,
    /// What the faults did, in a chaos run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chaos: Option<ChaosReport>,
}

impl ModeReport {
    pub fn passed(&self) -> bool {
        self.invariants.iter().all(|i| i.pass)
    }
}

/// One invariant's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invariant {
    /// Its number in docs/design.md §6.
    pub id: u8,
    pub name: &'static str,
    pub pass: bool,
    pub detail: String,
}

/// A whole simulation: one row per mode, on the same seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimReport {
    pub workload: String,
    pub seed: u64,
    pub agents: u32,
    pub duration_s: u64,
    pub runs: Vec<ModeReport>,
}

impl SimReport {
    pub fn passed(&self) -> bool {
        self.runs.iter().all(ModeReport::passed)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "workload {:?}: {} agents, {} h, seed {}",
            self.workload,
            self.agents,
            self.duration_s as f64 / 3600.0,
            self.seed
        );
        let _ = writeln!(
            out,
            "{:<15} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8} {:>9}  invariants",
            "mode",
            "occupancy",
            "wait s/ah",
            "nuis day",
            "nuis 30d",
            "calls/h",
            "live",
            "nuis",
            "under cap"
        );
        for r in &self.runs {
            let _ = writeln!(
                out,
                "{:<15} {:>8.1}% {:>10.0} {:>8.2}% {:>8.2}% {:>9.0} {:>9} {:>8} {:>9}  {}",
                r.mode,
                r.occupancy * 100.0,
                r.waiting_s_per_agent_hour,
                r.nuisance_day_pct,
                r.nuisance_30d_pct,
                r.calls_per_hour,
                r.live_answers,
                r.nuisance,
                if r.under_cap { "yes" } else { "NO" },
                if r.passed() { "pass" } else { "FAIL" },
            );
        }
        if self.runs.iter().any(|r| r.chaos.is_some()) {
            render_chaos(&mut out, &self.runs);
        }
        for r in &self.runs {
            for i in &r.invariants {
                let _ = writeln!(
                    out,
                    "  {:<15} {} #{} {}: {}",
                    r.mode,
                    if i.pass { "pass" } else { "FAIL" },
                    i.id,
                    i.name,
                    i.detail
                );
            }
        }
        out
    }
}

fn render_chaos(out: &mut String, runs: &[ModeReport]) {
    let _ = writeln!(
        out,
        "faults: by kind; takeovers completed; agents per Table 9 column (kept: no job); \
         desktop-error logouts; nuisance released by takeovers; attempts recovered after a \
         restart; HA time\n{:<15} {:>9} {:>6} {:>6} {:>6} {:>7} {:>10} {:>5} {:>5} {:>5} {:>5} {:>8} {:>8} {:>9} {:>9}",
        "mode",
        "takeover",
        "agent",
        "call",
        "mpp",
        "process",
        "takeovers",
        "A",
        "B",
        "C",
        "kept",
        "desk-err",
        "released",
        "recovered",
        "HA s"
    );
    for r in runs {
        let Some(c) = &r.chaos else { continue };
        let f = &c.faults;
        let _ = writeln!(
            out,
            "{:<15} {:>9} {:>6} {:>6} {:>6} {:>7} {:>10} {:>5} {:>5} {:>5} {:>5} {:>8} {:>8} {:>9} {:>9.1}",
            r.mode,
            f.zone_takeover,
            f.agent_kill,
            f.call_kill,
            f.mpp_down,
            f.process_kill,
            c.takeovers,
            c.columns.a,
            c.columns.b,
            c.columns.c,
            c.kept,
            c.desktop_error_logouts,
            c.nuisance_released,
            c.recovered_after_failover,
            c.ha_s,
        );
        let _ = writeln!(
            out,
            "  {:<15} state checks: {} matched, {} mismatched, {} unanswered; call kills: {} ringing, {} waiting, {} with an agent, {} finding no call; {} no-media-resource; {} nuisance lost in crashes; {} relogins",
            r.mode,
            c.checks_matched,
            c.checks_mismatched,
            c.checks_unanswered,
            c.call_kills.ringing,
            c.call_kills.waiting,
            c.call_kills.with_agent,
            c.call_kills.none,
            c.no_media_resource,
            c.nuisance_crashed,
            c.relogins,
        );
    }
}

/// A desktop's or the engine's view of an agent: its call state and the attempt it is on.
pub type Held = (CallState, Option<AttemptId>);

/// Judges a run's events against docs/design.md §6. Invariant 3 (one master per zone) needs
/// several nodes, which a one-zone simulation does not have; it is not reported. Invariant
/// 6 (agents after a takeover) is reported when the run has takeovers to judge
/// ([`Checker::check_takeovers`]).
#[derive(Debug, Default)]
pub struct Checker {
    connect_window: Duration,
    in_flight: HashSet<u64>,
    double_dials: u64,
    /// Live answers not yet connected or counted nuisance: call → answered at (ms).
    live: HashMap<u64, u64>,
    late: u64,
    unknown_calls: u64,
    /// Per calendar day: (live answers, nuisance calls).
    days: BTreeMap<u64, (u64, u64)>,
    /// In a chaos run: takeovers and restarts, judged too.
    chaos: Option<ChaosChecks>,
}

/// What a chaos run's faults are held to: Table 9 and the state check (invariant 6), no
/// call assigned during an outage (4), nothing transient after a restart (1).
#[derive(Debug)]
struct ChaosChecks {
    /// Table 9 as the checker knows it (a test can give it a wrong one).
    table: fn(CallState, Column, ConsultRole) -> CallState,
    zone_down: bool,
    assigned_in_outage: u64,
    transient_after_recovery: u64,
    agents: u64,
    off_table: u64,
    first_off_table: Option<String>,
    mismatched: u64,
    /// Mismatched, but not logged out with desktop-error.
    mismatched_kept: u64,
    /// Mismatched, and the call the engine held not coded desktop-error.
    mismatched_uncoded: u64,
    matched: u64,
    matched_logged_out: u64,
    /// Agents taken over whose desktops were never asked to check their state.
    unasked: u64,
    unanswered: u64,
    /// Unanswered, and not logged out with desktop-error at the check's deadline (or its
    /// call not coded desktop-error).
    unanswered_wrong: u64,
}

impl Checker {
    pub fn new(connect_window: Duration) -> Self {
        Self {
            connect_window,
            ..Self::default()
        }
    }

    /// A contact's attempt left.
    pub fn launched(&mut self, contact: u64) {
        if !self.in_flight.insert(contact) {
            self.double_dials += 1;
        }
    }

    /// A contact's attempt ended (whatever the code).
    pub fn ended(&mut self, contact: u64) {
        self.in_flight.remove(&contact);
    }

    /// A call was answered live at `at` (wall-clock ms).
    pub fn answered(&mut self, call: u64, at: UnixMs) {
        self.live.insert(call, at);
    }

    /// A live-answered call reached an agent at `at`.
    pub fn connected(&mut self, call: u64, at: UnixMs) {
        if let Some(c) = self.chaos.as_mut().filter(|c| c.zone_down) {
            c.assigned_in_outage += 1;
        }
        let Some(answered) = self.live.remove(&call) else {
            self.unknown_calls += 1;
            return;
        };
        let window = u64::try_from(self.connect_window.as_millis()).unwrap_or(u64::MAX);
        if at.saturating_sub(answered) > window {
            self.late += 1;
        }
        self.days.entry(answered / DAY_MS).or_default().0 += 1;
    }

    /// A live-answered call got the message and was counted nuisance.
    pub fn nuisance(&mut self, call: u64) {
        let Some(answered) = self.live.remove(&call) else {
            self.unknown_calls += 1;
            return;
        };
        let day = self.days.entry(answered / DAY_MS).or_default();
        day.0 += 1;
        day.1 += 1;
    }

    /// Judges takeovers and restarts too (a chaos run), against `table` for Table 9.
    pub fn check_takeovers(&mut self, table: fn(CallState, Column, ConsultRole) -> CallState) {
        self.chaos = Some(ChaosChecks {
            table,
            zone_down: false,
            assigned_in_outage: 0,
            transient_after_recovery: 0,
            agents: 0,
            off_table: 0,
            first_off_table: None,
            mismatched: 0,
            mismatched_kept: 0,
            mismatched_uncoded: 0,
            matched: 0,
            matched_logged_out: 0,
            unasked: 0,
            unanswered: 0,
            unanswered_wrong: 0,
        });
    }

    /// The zone's agent service went down (`false`) or came back.
    pub fn service(&mut self, up: bool) {
        if let Some(c) = self.chaos.as_mut() {
            c.zone_down = !up;
        }
    }

    /// A restart resolved the attempts it found in flight; `stuck` contacts are still held
    /// as in flight by the list.
    pub fn recovered(&mut self, stuck: u64) {
        let left = self.in_flight.len() as u64 + stuck;
        if let Some(c) = self.chaos.as_mut() {
            c.transient_after_recovery += left;
        }
    }

    /// `agent` went through a takeover; `role` is its part in a consult.
    pub fn taken_over(&mut self, agent: u32, r: &TakenOver, role: ConsultRole) {
        let Some(c) = self.chaos.as_mut() else {
            return;
        };
        c.agents += 1;
        let want = if r.kept {
            r.before
        } else {
            (c.table)(r.before, r.column, role)
        };
        if r.after != want {
            c.off_table += 1;
            c.first_off_table.get_or_insert_with(|| {
                format!(
                    "agent {agent}: {:?} under {} became {:?}, Table 9 says {want:?}",
                    r.before,
                    r.column.letter(),
                    r.after
                )
            });
        }
    }

    /// A desktop answered the state check with `reported` while the engine held `held`;
    /// `logout` is how the session stands after the answer and `code` what the call it held
    /// (if any) was coded by then.
    pub fn state_checked(
        &mut self,
        held: Held,
        reported: Held,
        logout: Option<LogoutReason>,
        code: Option<CompletionCode>,
    ) {
        let Some(c) = self.chaos.as_mut() else {
            return;
        };
        if held == reported {
            c.matched += 1;
            if logout.is_some() {
                c.matched_logged_out += 1;
            }
            return;
        }
        c.mismatched += 1;
        if logout != Some(LogoutReason::DesktopError) {
            c.mismatched_kept += 1;
        }
        if held.1.is_some() && code != Some(CompletionCode::DesktopError) {
            c.mismatched_uncoded += 1;
        }
    }

    /// An agent was taken over and its desktop not asked to check its state (rule 5).
    pub fn state_check_missing(&mut self) {
        if let Some(c) = self.chaos.as_mut() {
            c.unasked += 1;
        }
    }

    /// A desktop never answered the state check: `at_deadline` when its session ended at
    /// the check's deadline, `logout` why, `held_call` the attempt it was on and `code`
    /// what that attempt was coded. `logout: None` for a session the run left pending.
    pub fn state_check_unanswered(
        &mut self,
        at_deadline: bool,
        logout: Option<LogoutReason>,
        held_call: Option<AttemptId>,
        code: Option<CompletionCode>,
    ) {
        let Some(c) = self.chaos.as_mut() else {
            return;
        };
        c.unanswered += 1;
        let coded = held_call.is_none() || code == Some(CompletionCode::DesktopError);
        if !(at_deadline && logout == Some(LogoutReason::DesktopError) && coded) {
            c.unanswered_wrong += 1;
        }
    }

    /// Rates per calendar day and over the last 30 days, percent.
    pub fn rates(&self) -> (f64, f64) {
        let pct = |(l, n): (u64, u64)| {
            if l == 0 {
                0.0
            } else {
                n as f64 * 100.0 / l as f64
            }
        };
        let worst_day = self.days.values().map(|&d| pct(d)).fold(0.0, f64::max);
        let last = self.days.keys().next_back().copied().unwrap_or(0);
        let month = self
            .days
            .range(last.saturating_sub(29)..=last)
            .fold((0, 0), |a, (_, v)| (a.0 + v.0, a.1 + v.1));
        (worst_day, pct(month))
    }

    /// The verdicts, once every call has ended. `stuck` counts contacts the simulation still
    /// holds as in flight; `cap_pct` is `Some` when the mode promises the cap.
    pub fn finish(&self, stuck: u64, cap_pct: Option<f64>) -> Vec<Invariant> {
        let transient = self
            .chaos
            .as_ref()
            .map_or(0, |c| c.transient_after_recovery);
        let assigned_in_outage = self.chaos.as_ref().map_or(0, |c| c.assigned_in_outage);
        let mut lost_detail = format!(
            "{} attempts never ended, {stuck} contacts left in flight",
            self.in_flight.len()
        );
        let mut live_detail = format!(
            "{} connected late, {} never resolved, {} resolved without an answer",
            self.late,
            self.live.len(),
            self.unknown_calls
        );
        if self.chaos.is_some() {
            let _ = write!(lost_detail, ", {transient} left transient by a restart");
            let _ = write!(
                live_detail,
                ", {assigned_in_outage} assigned during an outage"
            );
        }
        let mut v = vec![
            Invariant {
                id: 1,
                name: "no contact lost or left in flight",
                pass: self.in_flight.is_empty() && stuck == 0 && transient == 0,
                detail: lost_detail,
            },
            Invariant {
                id: 2,
                name: "no contact dialed twice at once",
                pass: self.double_dials == 0,
                detail: format!(
                    "{} launches of a contact already in flight",
                    self.double_dials
                ),
            },
            Invariant {
                id: 4,
                name: "live answers connected within the connect window or counted nuisance",
                pass: self.late == 0
                    && self.live.is_empty()
                    && self.unknown_calls == 0
                    && assigned_in_outage == 0,
                detail: live_detail,
            },
        ];
        if let Some(cap) = cap_pct {
            let (day, month) = self.rates();
            v.push(Invariant {
                id: 5,
                name: "nuisance rate under the cap over its window",
                pass: day <= cap && month <= cap,
                detail: format!("worst day {day:.2} %, 30 days {month:.2} %, cap {cap:.2} %"),
            });
        }
        if let Some(c) = &self.chaos {
            v.push(c.verdict());
        }
        v
    }
}

impl ChaosChecks {
    fn verdict(&self) -> Invariant {
        let mut detail = format!(
            "{} agents taken over, {} off Table 9, {} not asked to check their state",
            self.agents, self.off_table, self.unasked
        );
        if let Some(first) = &self.first_off_table {
            let _ = write!(detail, " (first: {first})");
        }
        let _ = write!(
            detail,
            "; state checks: {} mismatched ({} not logged out desktop-error, {} calls not coded desktop-error), {} matched ({} logged out), {} unanswered ({} not logged out desktop-error at the deadline)",
            self.mismatched,
            self.mismatched_kept,
            self.mismatched_uncoded,
            self.matched,
            self.matched_logged_out,
            self.unanswered,
            self.unanswered_wrong
        );
        Invariant {
            id: 6,
            name: "agents after a takeover follow Table 9; mismatched desktops logged out desktop-error",
            pass: self.off_table == 0
                && self.unasked == 0
                && self.mismatched_kept == 0
                && self.mismatched_uncoded == 0
                && self.matched_logged_out == 0
                && self.unanswered_wrong == 0,
            detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1000;

    #[test]
    fn a_clean_run_passes() {
        let mut c = Checker::new(Duration::from_secs(2));
        c.launched(1);
        c.answered(10, 5 * S);
        c.connected(10, 6 * S);
        c.ended(1);
        c.launched(2);
        c.answered(11, 7 * S);
        c.nuisance(11);
        c.ended(2);
        let v = c.finish(0, Some(60.0));
        assert!(v.iter().all(|i| i.pass), "{v:?}");
        assert_eq!(c.rates(), (50.0, 50.0));
    }

    fn failed(v: &[Invariant]) -> Vec<u8> {
        v.iter().filter(|i| !i.pass).map(|i| i.id).collect()
    }

    #[test]
    fn a_double_dial_is_caught() {
        let mut c = Checker::new(Duration::from_secs(2));
        c.launched(1);
        c.launched(1);
        c.ended(1);
        assert_eq!(failed(&c.finish(0, None)), vec![2]);
    }

    #[test]
    fn a_lost_contact_is_caught() {
        let mut c = Checker::new(Duration::from_secs(2));
        c.launched(1);
        assert_eq!(failed(&c.finish(0, None)), vec![1]);
        let c = Checker::new(Duration::from_secs(2));
        assert_eq!(failed(&c.finish(3, None)), vec![1], "held as in flight");
    }

    #[test]
    fn a_late_or_forgotten_live_answer_is_caught() {
        let mut c = Checker::new(Duration::from_secs(2));
        c.answered(10, 5 * S);
        c.connected(10, 7 * S + 1);
        assert_eq!(failed(&c.finish(0, None)), vec![4]);
        let mut c = Checker::new(Duration::from_secs(2));
        c.answered(10, 5 * S);
        assert_eq!(failed(&c.finish(0, None)), vec![4]);
    }

    fn chaos_checker() -> Checker {
        let mut c = Checker::new(Duration::from_secs(2));
        c.check_takeovers(outdial_core::agent::takeover::after_takeover);
        c
    }

    fn taken(before: CallState, column: Column, after: CallState) -> TakenOver {
        TakenOver {
            before,
            after,
            column,
            kept: false,
        }
    }

    #[test]
    fn invariant_6_is_reported_only_when_takeovers_are_judged() {
        let c = Checker::new(Duration::from_secs(2));
        assert!(c.finish(0, None).iter().all(|i| i.id != 6));
        let v = chaos_checker().finish(0, None);
        assert_eq!(v.iter().map(|i| i.id).collect::<Vec<_>>(), vec![1, 2, 4, 6]);
        assert!(v.iter().all(|i| i.pass), "{v:?}");
    }

    #[test]
    fn an_agent_off_table_9_is_caught() {
        let mut c = chaos_checker();
        let owner = ConsultRole::Owner;
        c.taken_over(
            1,
            &taken(
                CallState::Talking,
                Column::CallSurvivedNailed,
                CallState::Talking,
            ),
            owner,
        );
        c.taken_over(
            2,
            &taken(
                CallState::Talking,
                Column::CallLostNailed,
                CallState::Wrapup,
            ),
            owner,
        );
        assert!(failed(&c.finish(0, None)).is_empty());
        c.taken_over(
            3,
            &taken(
                CallState::Talking,
                Column::CallLostUnnailed,
                CallState::Talking,
            ),
            owner,
        );
        let v = c.finish(0, None);
        assert_eq!(failed(&v), vec![6]);
        let detail = &v[3].detail;
        assert!(
            detail.contains("agent 3: Talking under B became Talking, Table 9 says Wrapup"),
            "{detail}"
        );
        // An agent with no job keeps its state whatever the column.
        let mut c = chaos_checker();
        let kept = TakenOver {
            kept: true,
            ..taken(
                CallState::Talking,
                Column::CallLostUnnailed,
                CallState::Talking,
            )
        };
        c.taken_over(1, &kept, owner);
        assert!(failed(&c.finish(0, None)).is_empty());
    }

    #[test]
    fn a_mismatched_desktop_must_be_logged_out_and_its_call_coded_desktop_error() {
        let a1 = Some(AttemptId(1));
        let engine = (CallState::Wrapup, a1);
        let lagging = (CallState::Talking, a1);
        let de = Some(LogoutReason::DesktopError);
        let code = Some(CompletionCode::DesktopError);
        let mut c = chaos_checker();
        c.state_checked(engine, lagging, de, code);
        c.state_checked(engine, engine, None, None);
        assert!(failed(&c.finish(0, None)).is_empty());
        for (logout, coded) in [
            (None, None),
            (Some(LogoutReason::Requested), code),
            (de, Some(CompletionCode::AnsweredHuman)),
        ] {
            let mut c = chaos_checker();
            c.state_checked(engine, lagging, logout, coded);
            assert_eq!(failed(&c.finish(0, None)), vec![6], "{logout:?} {coded:?}");
        }
        // A matching desktop must stay.
        let mut c = chaos_checker();
        c.state_checked(engine, engine, de, code);
        assert_eq!(failed(&c.finish(0, None)), vec![6]);
    }

    #[test]
    fn a_takeover_without_a_state_check_is_caught() {
        let mut c = chaos_checker();
        c.state_check_missing();
        assert_eq!(failed(&c.finish(0, None)), vec![6]);
    }

    #[test]
    fn an_unanswered_check_must_log_out_at_its_deadline() {
        let de = Some(LogoutReason::DesktopError);
        let a1 = Some(AttemptId(1));
        let mut c = chaos_checker();
        c.state_check_unanswered(true, de, a1, Some(CompletionCode::DesktopError));
        c.state_check_unanswered(true, de, None, None);
        assert!(failed(&c.finish(0, None)).is_empty());
        for (at_deadline, logout, code) in [
            (false, de, Some(CompletionCode::DesktopError)),
            (true, de, Some(CompletionCode::AnsweredHuman)),
            (false, None, None),
        ] {
            let mut c = chaos_checker();
            c.state_check_unanswered(at_deadline, logout, a1, code);
            assert_eq!(failed(&c.finish(0, None)), vec![6]);
        }
    }

    #[test]
    fn a_call_assigned_during_an_outage_is_caught() {
        let mut c = chaos_checker();
        c.answered(10, 5 * S);
        c.service(false);
        c.answered(11, 5 * S);
        c.nuisance(11);
        c.service(true);
        c.connected(10, 6 * S);
        assert!(failed(&c.finish(0, None)).is_empty());
        let mut c = chaos_checker();
        c.answered(10, 5 * S);
        c.service(false);
        c.connected(10, 5 * S);
        assert_eq!(failed(&c.finish(0, None)), vec![4]);
    }

    #[test]
    fn an_attempt_left_transient_by_a_restart_is_caught() {
        let mut c = chaos_checker();
        c.launched(1);
        c.recovered(0);
        c.ended(1);
        assert_eq!(
            failed(&c.finish(0, None)),
            vec![1],
            "in flight at the restart"
        );
        let mut c = chaos_checker();
        c.recovered(1);
        assert_eq!(
            failed(&c.finish(0, None)),
            vec![1],
            "held in flight by the list"
        );
    }

    #[test]
    fn the_cap_is_judged_per_calendar_day() {
        let mut c = Checker::new(Duration::from_secs(2));
        // Day 0: 1 nuisance in 100; day 1: 5 in 100 (over a 3 % cap though the total is 3 %).
        for i in 0..200u64 {
            let at = if i < 100 { 0 } else { DAY_MS };
            c.answered(i, at);
            if i == 0 || (100..105).contains(&i) {
                c.nuisance(i);
            } else {
                c.connected(i, at);
            }
        }
        let (day, month) = c.rates();
        assert!((day - 5.0).abs() < 1e-9 && (month - 3.0).abs() < 1e-9);
        assert_eq!(failed(&c.finish(0, Some(3.0))), vec![5]);
        assert!(
            failed(&c.finish(0, None)).is_empty(),
            "a baseline is not held to it"
        );
    }
}
