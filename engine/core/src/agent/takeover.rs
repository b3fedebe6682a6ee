//! Zone (agent-manager) takeover as plain data: the agent call-state matrix of docs/design.md §5
//! (Table 9, docs/design.md §5.3), and the record of one takeover's steps with their times.
//!
//! A takeover happens when a zone's actors fail: the agent manager comes back, rebuilds its
//! state, and every agent of the zone goes through [`after_takeover`] with the column its
//! calls' fate during the outage gives. The node's zone supervisor and the simulator both
//! use this module, so the matrix is written once.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::agent::CallState;

/// What became of an agent's customer call and phone while its zone was out of service:
/// the three columns of Table 9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Column {
    /// A: the customer call was not disconnected; the agent's phone is nailed.
    CallSurvivedNailed,
    /// B: the customer call was disconnected; the agent's phone is not nailed.
    CallLostUnnailed,
    /// C: the customer call was disconnected; the agent's phone is still nailed.
    CallLostNailed,
}

impl Column {
    pub const ALL: [Column; 3] = [
        Column::CallSurvivedNailed,
        Column::CallLostUnnailed,
        Column::CallLostNailed,
    ];

    /// The column for an agent whose customer call did (or did not) survive and whose phone
    /// is (or is not) nailed. A lost phone takes the call's audio with it, so an unnailed
    /// agent's call counts as lost even if the customer is still on the line (it is hung
    /// up); an agent with no call is placed by its nail alone.
    pub fn of(call_survived: bool, nailed: bool) -> Column {
        match (call_survived, nailed) {
            (_, false) => Column::CallLostUnnailed,
            (true, true) => Column::CallSurvivedNailed,
            (false, true) => Column::CallLostNailed,
        }
    }

    /// The letter Table 9 (docs/design.md §5.3) uses.
    pub fn letter(self) -> char {
        match self {
            Column::CallSurvivedNailed => 'A',
            Column::CallLostUnnailed => 'B',
            Column::CallLostNailed => 'C',
        }
    }
}

/// The agent's part in a consult call: Table 9 treats the two differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsultRole {
    /// The agent who started the consult and owns the customer call.
    Owner,
    /// The agent consulted.
    Passive,
}

/// Table 9: an attached agent's call state after a takeover, from its state before and the
/// column. (An agent attached to no job keeps its state; the caller checks that.)
///
/// `Dialing` under column A becomes `Talking`: the call the agent accepted survived, and it
/// goes to Wrapup when it ends, like any call.
pub fn after_takeover(before: CallState, column: Column, role: ConsultRole) -> CallState {
    use CallState::*;
    use Column::*;
    match (before, column) {
        (Idle, _) => Idle,
        (Callback, _) => Callback,
        (Wrapup, _) => Wrapup,
        (PendingCall, _) => Idle,
        (Dialing, CallSurvivedNailed) => Talking,
        (Dialing, _) => Wrapup,
        (Consult, CallSurvivedNailed) => Consult,
        (Consult, _) => match role {
            ConsultRole::Owner => Wrapup,
            ConsultRole::Passive => Idle,
        },
        (ConferencePassive, CallSurvivedNailed) => ConferencePassive,
        (ConferencePassive, CallLostUnnailed) => Idle,
        (ConferencePassive, CallLostNailed) => Preview,
        (Preview, CallLostUnnailed) => Idle,
        (Preview, _) => Preview,
        (s @ (Talking | Held | ConferenceOwner), CallSurvivedNailed) => s,
        (Talking | Held | ConferenceOwner, _) => Wrapup,
    }
}

/// The steps of a zone takeover, in the order docs/design.md §5 gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// The fault was seen.
    Fault,
    /// 1: the zone's desktops were told the service is unavailable; dialing stopped.
    ServiceDown,
    /// 2–3: live answers waiting for an agent were released as nuisance; queued calls and
    /// supervisor changes are refused from here until service is back.
    CallsReleased,
    /// 4: the new agent manager rebuilt the zone from storage and the agents' sessions.
    Rebuilt,
    /// 4: the desktops were told the service is back; Table 9 was applied to each agent.
    ServiceUp,
    /// 5: every desktop was asked to confirm its state.
    StateChecked,
    /// 6: the zone's pacing loop decided again.
    DialingResumed,
}

/// Why a zone was taken over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "detail")]
pub enum Cause {
    /// A handler panicked (contained; the message is the panic's).
    Panic(String),
    /// The actor stopped (asked to, or on an error it could not handle).
    Stopped(String),
    /// An operator asked for the zone to be handed over (planned switchover).
    Planned,
}

/// One takeover's record: when each step happened, relative to the fault.
#[derive(Debug, Clone, Serialize)]
pub struct TakeoverRecord {
    pub zone: String,
    pub cause: Cause,
    /// Milliseconds from the fault to each step reached so far.
    pub steps: Vec<(Step, f64)>,
    /// Agents in each column, and agents logged out by the state check.
    pub columns: [u32; 3],
    pub unattached_kept: u32,
    pub nuisance_released: u32,
    pub desktop_errors: u32,
    #[serde(skip)]
    started: Option<Instant>,
}

impl TakeoverRecord {
    pub fn new(zone: String, cause: Cause, now: Instant) -> Self {
        Self {
            zone,
            cause,
            steps: vec![(Step::Fault, 0.0)],
            columns: [0; 3],
            unattached_kept: 0,
            nuisance_released: 0,
            desktop_errors: 0,
            started: Some(now),
        }
    }

    /// Marks `step` reached at `now`. Steps arrive in order; a repeat keeps the first time.
    pub fn reached(&mut self, step: Step, now: Instant) {
        if self.steps.iter().any(|(s, _)| *s == step) {
            return;
        }
        let ms = self
            .started
            .map(|t| now.saturating_duration_since(t).as_secs_f64() * 1000.0)
            .unwrap_or(0.0);
        self.steps.push((step, ms));
    }

    pub fn count(&mut self, column: Column) {
        self.columns[column as usize] += 1;
    }

    /// Time from the fault to `step`, if reached.
    pub fn at(&self, step: Step) -> Option<Duration> {
        self.steps
            .iter()
            .find(|(s, _)| *s == step)
            .map(|(_, ms)| Duration::from_secs_f64(ms / 1000.0))
    }

    /// Fault to dialing resumed: the takeover's length.
    pub fn took(&self) -> Option<Duration> {
        self.at(Step::DialingResumed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CallState::*;

    /// docs/design.md §5's Table 9, row by row: (before, A, B, C). Consult lists owner then
    /// passive.
    const TABLE_9: [(CallState, [CallState; 3]); 11] = [
        (Idle, [Idle, Idle, Idle]),
        (Talking, [Talking, Wrapup, Wrapup]),
        (Wrapup, [Wrapup, Wrapup, Wrapup]),
        (Held, [Held, Wrapup, Wrapup]),
        (Consult, [Consult, Wrapup, Wrapup]),
        (ConferenceOwner, [ConferenceOwner, Wrapup, Wrapup]),
        (ConferencePassive, [ConferencePassive, Idle, Preview]),
        (Preview, [Preview, Idle, Preview]),
        (Dialing, [Talking, Wrapup, Wrapup]),
        (Callback, [Callback, Callback, Callback]),
        (PendingCall, [Idle, Idle, Idle]),
    ];

    #[test]
    fn every_row_and_column_of_table_9() {
        for (before, want) in TABLE_9 {
            for (i, column) in Column::ALL.into_iter().enumerate() {
                assert_eq!(
                    after_takeover(before, column, ConsultRole::Owner),
                    want[i],
                    "{before:?} under column {}",
                    column.letter()
                );
            }
        }
    }

    #[test]
    fn a_passive_consult_party_goes_idle_when_the_call_is_lost() {
        let want = [Consult, Idle, Idle];
        for (i, column) in Column::ALL.into_iter().enumerate() {
            assert_eq!(
                after_takeover(Consult, column, ConsultRole::Passive),
                want[i]
            );
        }
    }

    #[test]
    fn the_consult_role_matters_only_for_consult() {
        for (before, _) in TABLE_9 {
            if before == Consult {
                continue;
            }
            for column in Column::ALL {
                assert_eq!(
                    after_takeover(before, column, ConsultRole::Owner),
                    after_takeover(before, column, ConsultRole::Passive)
                );
            }
        }
    }

    #[test]
    fn columns_from_call_and_nail() {
        assert_eq!(Column::of(true, true), Column::CallSurvivedNailed);
        assert_eq!(Column::of(false, true), Column::CallLostNailed);
        assert_eq!(Column::of(false, false), Column::CallLostUnnailed);
        // A phone that dropped took the call's audio: the call counts as lost.
        assert_eq!(Column::of(true, false), Column::CallLostUnnailed);
    }

    #[test]
    fn a_record_keeps_the_first_time_of_each_step() {
        let t0 = crate::clock::now();
        let mut r = TakeoverRecord::new("z".into(), Cause::Planned, t0);
        r.reached(Step::ServiceDown, t0 + Duration::from_millis(2));
        r.reached(Step::DialingResumed, t0 + Duration::from_millis(30));
        r.reached(Step::DialingResumed, t0 + Duration::from_millis(90));
        assert_eq!(r.took(), Some(Duration::from_millis(30)));
        assert_eq!(r.at(Step::Rebuilt), None);
    }
}
