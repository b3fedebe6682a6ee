//! Where an agent's logged-in time went, and which codes an agent may give.

use std::time::Duration;

use serde::Serialize;

use crate::domain::CompletionCode;

/// Where the agent's logged-in time went, for occupancy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct AgentTimes {
    pub logged_in: Duration,
    /// Talking or held (any state with a customer call up).
    pub talk: Duration,
    pub wrap: Duration,
    /// Available and waiting for a call.
    pub waiting: Duration,
    /// Everything else: not ready, unnailed, preview, dialing.
    pub other: Duration,
    /// While the agent's zone was being taken over ("HA time" in the reports).
    pub ha: Duration,
}

impl AgentTimes {
    /// Talk and wrap-up over logged-in time.
    pub fn occupancy(&self) -> f64 {
        let l = self.logged_in.as_secs_f64();
        if l <= 0.0 {
            0.0
        } else {
            (self.talk + self.wrap).as_secs_f64() / l
        }
    }
}

/// Which bucket of [`AgentTimes`] the session is filling now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Bucket {
    Talk,
    Wrap,
    Waiting,
    Other,
    Ha,
}

/// Codes an agent may give in wrap-up. The others are the engine's to give.
pub fn is_disposition(code: CompletionCode) -> bool {
    matches!(
        code,
        CompletionCode::AnsweredHuman
            | CompletionCode::AnsweredMachine
            | CompletionCode::Busy
            | CompletionCode::NoAnswer
            | CompletionCode::InvalidNumber
            | CompletionCode::Declined
            | CompletionCode::Blocked
    )
}

pub(super) fn add(t: &mut AgentTimes, bucket: Bucket, d: Duration) {
    t.logged_in += d;
    match bucket {
        Bucket::Talk => t.talk += d,
        Bucket::Wrap => t.wrap += d,
        Bucket::Waiting => t.waiting += d,
        Bucket::Other => t.other += d,
        Bucket::Ha => t.ha += d,
    }
}
