//! Redial lock-outs: what a number's recent attempts forbid. No redial within 72 h of an
//! abandoned (nuisance) call; within 24 h of an answering-machine verdict only when the next
//! call is guaranteed an agent; at most three attempts in any rolling 24 h where a state sets
//! that cap.
//!
//! Sources, by title: Ofcom, "Persistent Misuse: a statement of Ofcom's general policy on the
//! exercise of its enforcement powers" (2016), on abandoned calls (72 hours) and answer-machine
//! detection (24 hours); the per-number caps of [`super::jurisdiction::Jurisdiction::daily_cap`].
//! The 72-hour lock-out is kept even with an agent guaranteed: a call abandoned once proves
//! the guarantee can fail.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::compliance::jurisdiction::DailyCap;
use crate::domain::{CompletionCode, UnixMs};
use crate::pacing::PacingPolicy;

/// No redial of a number for this long after an abandoned call to it.
pub const ABANDONED_LOCKOUT: Duration = Duration::from_secs(72 * 3600);
/// No redial without a guaranteed agent for this long after an answering-machine verdict.
pub const MACHINE_LOCKOUT: Duration = Duration::from_secs(24 * 3600);
/// The rolling window of the per-number attempt caps.
pub const CAP_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Attempts a history keeps. The highest cap is 3: "fewer than 3 dials in the last 24 h" only
/// needs the 3 most recent. The lock-outs are kept apart, so no number of later attempts can
/// push an abandoned call out of the history.
pub const KEEP_ATTEMPTS: usize = 8;

/// Whether the next call to a number is sure to find an agent waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentGuarantee {
    /// Preview (the agent dials), or progressive at one line per agent.
    Guaranteed,
    NotGuaranteed,
}

impl AgentGuarantee {
    /// What a dialing mode guarantees.
    pub fn of(mode: PacingPolicy) -> Self {
        match mode {
            PacingPolicy::Preview => Self::Guaranteed,
            PacingPolicy::Progressive { lines_per_agent } if lines_per_agent <= 1.0 => {
                Self::Guaranteed
            }
            _ => Self::NotGuaranteed,
        }
    }
}

/// One recent attempt to a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastAttempt {
    /// When it was dialled.
    pub at: UnixMs,
    /// How it ended; `None` while in flight.
    pub code: Option<CompletionCode>,
}

/// What the lock-outs need to know of one number: its recent attempts, bounded, and when it
/// last was abandoned or reached a machine. Attempts may be recorded out of order (a replay
/// after a failover): the history keeps them sorted and never moves a lock-out earlier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberHistory {
    /// The most recent attempts, oldest first, at most [`KEEP_ATTEMPTS`].
    attempts: Vec<PastAttempt>,
    /// When the last abandoned (nuisance) call to the number ended.
    last_abandoned: Option<UnixMs>,
    /// When the last answering-machine verdict was given.
    last_machine: Option<UnixMs>,
}

impl NumberHistory {
    pub fn new() -> Self {
        Self::default()
    }

    /// An attempt dialled at `at`, outcome not yet known.
    pub fn record_dial(&mut self, at: UnixMs) {
        self.insert(PastAttempt { at, code: None });
    }

    /// The attempt in flight ended at `at` with `code`. Without one in flight (a history
    /// rebuilt from outcomes alone), the outcome counts as an attempt dialled at `at`, which
    /// keeps it in the cap window at least as long as the real one.
    pub fn record_end(&mut self, at: UnixMs, code: CompletionCode) {
        match self.attempts.iter_mut().rev().find(|a| a.code.is_none()) {
            Some(open) => open.code = Some(code),
            None => self.insert(PastAttempt {
                at,
                code: Some(code),
            }),
        }
        let latest = |slot: &mut Option<UnixMs>| *slot = Some(slot.map_or(at, |t| t.max(at)));
        match code {
            CompletionCode::Nuisance => latest(&mut self.last_abandoned),
            CompletionCode::AnsweredMachine => latest(&mut self.last_machine),
            _ => {}
        }
    }

    /// The recent attempts, oldest first.
    pub fn attempts(&self) -> &[PastAttempt] {
        &self.attempts
    }

    pub fn last_abandoned(&self) -> Option<UnixMs> {
        self.last_abandoned
    }

    pub fn last_machine(&self) -> Option<UnixMs> {
        self.last_machine
    }

    fn insert(&mut self, attempt: PastAttempt) {
        let at = self.attempts.partition_point(|a| a.at <= attempt.at);
        self.attempts.insert(at, attempt);
        if self.attempts.len() > KEEP_ATTEMPTS {
            self.attempts.remove(0);
        }
    }
}

/// Which lock-out keeps a number from being dialled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RedialRule {
    /// 72 h after an abandoned call.
    AfterAbandoned,
    /// 24 h after an answering-machine verdict, without a guaranteed agent.
    AfterMachine,
    /// The state's cap of attempts per rolling 24 h is reached.
    DailyCap(DailyCap),
}

impl RedialRule {
    pub fn code(self) -> &'static str {
        match self {
            Self::AfterAbandoned => "redial-after-abandoned",
            Self::AfterMachine => "redial-after-machine",
            Self::DailyCap(_) => "daily-attempt-cap",
        }
    }

    pub fn source(self) -> &'static str {
        match self {
            Self::AfterAbandoned | Self::AfterMachine => {
                "Ofcom, Persistent Misuse statement of policy (2016), abandoned and silent calls"
            }
            Self::DailyCap(_) => {
                "Florida Telemarketing Act s. 501.616(6)(b); Oklahoma Telephone Solicitation Act of 2022; Maryland Stop the Spam Calls Act of 2023"
            }
        }
    }
}

/// A number locked until an instant, by a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    pub until: UnixMs,
    pub rule: RedialRule,
}

/// Whether the number of `history` may be dialled at `now`: `Ok`, or the lock-out that ends
/// last (every lock-out ends at a fixed instant, so after that one all have).
pub fn may_redial(
    history: &NumberHistory,
    cap: Option<DailyCap>,
    guarantee: AgentGuarantee,
    now: UnixMs,
) -> Result<(), Lockout> {
    let after = |t: UnixMs, d: Duration| t.saturating_add(duration_ms(d));
    let mut locks = Vec::with_capacity(3);
    if let Some(t) = history.last_abandoned {
        locks.push(Lockout {
            until: after(t, ABANDONED_LOCKOUT),
            rule: RedialRule::AfterAbandoned,
        });
    }
    if let (Some(t), AgentGuarantee::NotGuaranteed) = (history.last_machine, guarantee) {
        locks.push(Lockout {
            until: after(t, MACHINE_LOCKOUT),
            rule: RedialRule::AfterMachine,
        });
    }
    if let Some(cap) = cap {
        // With `cap` dials inside the window, the window frees up when the oldest of the last
        // `cap` dials leaves it.
        let n = usize::try_from(cap.attempts).unwrap_or(usize::MAX);
        let recent = &history.attempts;
        if n == 0 {
            locks.push(Lockout {
                until: UnixMs::MAX,
                rule: RedialRule::DailyCap(cap),
            });
        } else if let Some(oldest_of_last) = recent.len().checked_sub(n).map(|i| recent[i].at) {
            locks.push(Lockout {
                until: after(oldest_of_last, CAP_WINDOW),
                rule: RedialRule::DailyCap(cap),
            });
        }
    }
    match locks
        .into_iter()
        .filter(|l| l.until > now)
        .max_by_key(|l| l.until)
    {
        None => Ok(()),
        Some(lock) => Err(lock),
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
#[path = "redial_tests.rs"]
mod tests;
