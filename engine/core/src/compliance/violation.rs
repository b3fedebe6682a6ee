//! A rule of law a campaign definition would break, typed, with a stable code for the API
//! (which answers 422 with the list) and the key of the definition at fault.

use std::fmt;

use chrono::NaiveTime;

use crate::compliance::caller_id::CallerIdProblem;

/// One rule a campaign would break. Every violation of a definition is listed at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// No caller ID: every call must present one.
    #[error("caller_id: required: every call presents a number the callee can call back [caller-id-missing]")]
    CallerIdMissing,
    /// A caller ID that is withheld, not a number, or not diallable.
    #[error("caller_id: {problem} [{}]", self.code())]
    CallerId { problem: CallerIdProblem },
    /// A connect window longer than the 2 s the regulators allow before the message.
    #[error("connect_window_ms: at most {max_ms} in a mode that can abandon calls, got {ms} [connect-window-too-long]")]
    ConnectWindowTooLong { ms: u64, max_ms: u64 },
    /// A mode in which a live answer may get no agent, with no information message (a tone
    /// tells the callee nothing).
    #[error("abandon_message: {mode} calls need an information message (a .wav prompt naming the caller and a number to call back); a tone is not one [no-information-message]")]
    NoInformationMessage { mode: &'static str },
    /// A nuisance cap above 3 % of live answers.
    #[error("nuisance.cap_pct: at most 3 (Ofcom; FTC Telemarketing Sales Rule), got {} [cap-above-legal-limit]", Percent(*.cap_basis_points))]
    CapAboveLegalLimit { cap_basis_points: u64 },
    /// Calling hours reaching outside 08:00-21:00 local, the widest lawful window.
    #[error("calling_hours: must lie within 08:00-21:00 in the callee's local time, got {} to {} [calling-hours-wider-than-law]", start.format("%H:%M"), end.format("%H:%M"))]
    CallingHoursWiderThanLaw { start: NaiveTime, end: NaiveTime },
    /// A retry rule that redials inside a lock-out.
    #[error("{}: {} after {} is a redial inside its {} h lock-out, got {delay_s} s [retry-inside-lockout]", self.key(), lockout.what(), lockout.after(), lockout.hours())]
    RetryInsideLockout { lockout: RetryLockout, delay_s: u64 },
    /// `load_test = true` without `test_ranges`: a load test must say which numbers are test
    /// equipment.
    #[error("test_ranges: a load test must declare the number prefixes it dials (test_ranges = [\"+1555\"]) [load-test-without-test-ranges]")]
    LoadTestWithoutTestRanges,
}

/// The lock-out a retry rule would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryLockout {
    /// `retry.nuisance`: 72 h after an abandoned call.
    Abandoned,
    /// `retry.answered-machine`: 24 h after a machine, in a mode with no guaranteed agent.
    Machine,
}

impl RetryLockout {
    fn what(self) -> &'static str {
        match self {
            Self::Abandoned => "a retry",
            Self::Machine => "a retry without a guaranteed agent",
        }
    }

    fn after(self) -> &'static str {
        match self {
            Self::Abandoned => "an abandoned call",
            Self::Machine => "an answering machine",
        }
    }

    fn hours(self) -> u64 {
        match self {
            Self::Abandoned => 72,
            Self::Machine => 24,
        }
    }
}

impl Violation {
    /// The stable code the API and the CLI report.
    pub fn code(&self) -> &'static str {
        match self {
            Self::CallerIdMissing => "caller-id-missing",
            Self::CallerId { problem } => match problem {
                CallerIdProblem::Withheld => "caller-id-withheld",
                CallerIdProblem::NotE164 => "caller-id-not-e164",
                _ => "caller-id-not-diallable",
            },
            Self::ConnectWindowTooLong { .. } => "connect-window-too-long",
            Self::NoInformationMessage { .. } => "no-information-message",
            Self::CapAboveLegalLimit { .. } => "cap-above-legal-limit",
            Self::CallingHoursWiderThanLaw { .. } => "calling-hours-wider-than-law",
            Self::RetryInsideLockout { .. } => "retry-inside-lockout",
            Self::LoadTestWithoutTestRanges => "load-test-without-test-ranges",
        }
    }

    /// The key of the campaign definition at fault (`retry.nuisance.delay_s`).
    pub fn key(&self) -> &'static str {
        match self {
            Self::CallerIdMissing | Self::CallerId { .. } => "caller_id",
            Self::ConnectWindowTooLong { .. } => "connect_window_ms",
            Self::NoInformationMessage { .. } => "abandon_message",
            Self::CapAboveLegalLimit { .. } => "nuisance.cap_pct",
            Self::CallingHoursWiderThanLaw { .. } => "calling_hours",
            Self::RetryInsideLockout { lockout, .. } => match lockout {
                RetryLockout::Abandoned => "retry.nuisance.delay_s",
                RetryLockout::Machine => "retry.answered-machine.delay_s",
            },
            Self::LoadTestWithoutTestRanges => "test_ranges",
        }
    }
}

/// Hundredths of a percent, printed as a percentage without trailing zeros (`3.5`).
struct Percent(u64);

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / 100, self.0 % 100);
        match frac {
            0 => write!(f, "{whole}"),
            f2 if f2 % 10 == 0 => write!(f, "{whole}.{}", f2 / 10),
            f2 => write!(f, "{whole}.{f2:02}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_key_and_code() {
        let v = Violation::CapAboveLegalLimit {
            cap_basis_points: 350,
        };
        assert_eq!(
            v.to_string(),
            "nuisance.cap_pct: at most 3 (Ofcom; FTC Telemarketing Sales Rule), got 3.5 [cap-above-legal-limit]"
        );
        let v = Violation::RetryInsideLockout {
            lockout: RetryLockout::Abandoned,
            delay_s: 86_400,
        };
        assert_eq!(v.key(), "retry.nuisance.delay_s");
        assert_eq!(
            v.to_string(),
            "retry.nuisance.delay_s: a retry after an abandoned call is a redial inside its 72 h lock-out, got 86400 s [retry-inside-lockout]"
        );
        let v = Violation::CallerId {
            problem: CallerIdProblem::Withheld,
        };
        assert_eq!(v.code(), "caller-id-withheld");
        assert_eq!(
            v.to_string(),
            "caller_id: it is withheld or anonymous [caller-id-withheld]"
        );
        assert_eq!(Percent(1005).to_string(), "10.05");
        assert_eq!(Percent(300).to_string(), "3");
    }
}
