//! The dialer's nouns: ids, attempt states, completion codes and what a SIP outcome means.
//! Plain data, no IO: storage, actors and the pacing loop all speak these types.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// A campaign definition.
    CampaignId
);
id_type!(
    /// One run of a campaign.
    JobId
);
id_type!(
    /// A contact inside a job's list.
    ContactId
);
id_type!(
    /// One dial of one contact. Its SIP Call-ID derives from it, so an attempt can never
    /// become two dialogs.
    AttemptId
);

/// Milliseconds since the Unix epoch: what storage keeps, and what calling hours and retry
/// schedules are computed in (engine logic takes it from its clock, never from the OS).
pub type UnixMs = u64;

/// Where an attempt stands. Every state that recovery depends on is durable before the
/// action it permits (`Dialing` is on disk before the INVITE leaves).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "code")]
pub enum AttemptState {
    Pending,
    Picked,
    Dialing,
    Ringing,
    Answered,
    Connected,
    Completed(CompletionCode),
}

impl AttemptState {
    /// Whether the attempt still has an outcome to learn (a crash leaves it unknown).
    pub fn is_transient(self) -> bool {
        !matches!(self, AttemptState::Completed(_))
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CompletionCode {
    AnsweredHuman,
    AnsweredMachine,
    Busy,
    NoAnswer,
    /// Answered live, no agent (or no prompt) in the connect window.
    Nuisance,
    DesktopError,
    InvalidNumber,
    Declined,
    NetworkFailure,
    Timeout,
    NoMediaResource,
    /// The node died with the attempt in flight; its outcome is unknown.
    RecoveredAfterFailover,
    /// Do-not-call or outside calling hours.
    Blocked,
}

impl CompletionCode {
    pub const ALL: [CompletionCode; 13] = [
        Self::AnsweredHuman,
        Self::AnsweredMachine,
        Self::Busy,
        Self::NoAnswer,
        Self::Nuisance,
        Self::DesktopError,
        Self::InvalidNumber,
        Self::Declined,
        Self::NetworkFailure,
        Self::Timeout,
        Self::NoMediaResource,
        Self::RecoveredAfterFailover,
        Self::Blocked,
    ];

    /// The kebab-case name used in configs, the API and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::AnsweredHuman => "answered-human",
            Self::AnsweredMachine => "answered-machine",
            Self::Busy => "busy",
            Self::NoAnswer => "no-answer",
            Self::Nuisance => "nuisance",
            Self::DesktopError => "desktop-error",
            Self::InvalidNumber => "invalid-number",
            Self::Declined => "declined",
            Self::NetworkFailure => "network-failure",
            Self::Timeout => "timeout",
            Self::NoMediaResource => "no-media-resource",
            Self::RecoveredAfterFailover => "recovered-after-failover",
            Self::Blocked => "blocked",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == s)
    }

    /// What a SIP final status means for an unanswered attempt.
    pub fn from_sip_status(status: u16) -> Self {
        match status {
            486 | 600 => Self::Busy,
            404 | 484 | 604 | 410 | 485 => Self::InvalidNumber,
            603 => Self::Declined,
            408 => Self::Timeout,
            480 | 487 => Self::NoAnswer,
            500..=599 => Self::NetworkFailure,
            _ => Self::NetworkFailure,
        }
    }

    /// What a SIP call's end means when it was never answered.
    pub fn from_end(reason: &sip::EndReason) -> Self {
        match reason {
            sip::EndReason::Rejected { status, .. } => Self::from_sip_status(*status),
            sip::EndReason::TimedOut => Self::Timeout,
            sip::EndReason::RingTimeout => Self::NoAnswer,
            _ => Self::NetworkFailure,
        }
    }
}

impl fmt::Display for CompletionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Retry after `delay`, as long as the contact has had fewer than `max_attempts` attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryRule {
    pub delay: Duration,
    pub max_attempts: u32,
}

/// What happens to a contact after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContactState {
    /// Dialable once `not_before` has passed.
    Ready { not_before: UnixMs },
    /// An attempt is in flight.
    InFlight { attempt: AttemptId },
    /// Done with this code.
    Final { code: CompletionCode },
}

/// A contact of a job's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: ContactId,
    pub job: JobId,
    /// E.164, with its '+'.
    pub phone: String,
    /// IANA time zone of the contact, for calling hours.
    pub tz: Option<String>,
    pub fields: BTreeMap<String, String>,
    pub attempts: u32,
    pub state: ContactState,
    pub last_code: Option<CompletionCode>,
}

/// One dial of one contact, with its full state history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub id: AttemptId,
    pub job: JobId,
    pub contact: ContactId,
    /// 1 for the first attempt of the contact.
    pub number: u32,
    pub state: AttemptState,
    pub history: Vec<(UnixMs, AttemptState)>,
    pub sip_status: Option<u16>,
    /// The node that dialed it, and the fencing epoch it held.
    pub node: String,
    pub epoch: u64,
    /// The answering-machine detector's verdict on its answer, when the campaign asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amd: Option<AmdOutcome>,
}

/// What the answering-machine detector said about an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AmdVerdict {
    Human,
    Machine,
    /// Not sure: treated as a person (an agent takes it).
    #[serde(rename = "notsure")]
    NotSure,
}

/// The detector's verdict on an attempt's answer, and when it came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmdOutcome {
    pub verdict: AmdVerdict,
    /// Milliseconds after the answer when the verdict was reached.
    pub decided_ms: u32,
    /// Milliseconds after the answer when a machine's beep ended, if one was heard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beep_end_ms: Option<u32>,
}

/// Phone numbers and SIP URIs are personal data: this prints them redacted unless the
/// operator asked for them (`[node] log_phone_numbers`, or `OUTDIAL_LOG_PHONE_NUMBERS=1`).
pub struct Redacted<'a>(pub &'a str);

/// Whether [`Redacted`] writes numbers whole: `[node] log_phone_numbers`, set once at start.
/// A process-wide setting, not synchronisation, so std's atomic (loom's cannot be a static).
static LOG_PHONE_NUMBERS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes [`Redacted`] write phone numbers whole (`true`) or redacted (`false`, the default);
/// the node sets it from `[node] log_phone_numbers` as it starts.
pub fn log_phone_numbers(whole: bool) {
    LOG_PHONE_NUMBERS.store(whole, std::sync::atomic::Ordering::Relaxed);
}

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if LOG_PHONE_NUMBERS.load(std::sync::atomic::Ordering::Relaxed)
            || std::env::var_os("OUTDIAL_LOG_PHONE_NUMBERS").is_some_and(|v| v == "1")
        {
            return f.write_str(self.0);
        }
        let keep = self.0.len().saturating_sub(2);
        let tail: String = self.0.chars().skip(keep).collect();
        write!(f, "***{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sip_outcomes_map_to_codes() {
        assert_eq!(CompletionCode::from_sip_status(486), CompletionCode::Busy);
        assert_eq!(
            CompletionCode::from_sip_status(404),
            CompletionCode::InvalidNumber
        );
        assert_eq!(
            CompletionCode::from_sip_status(484),
            CompletionCode::InvalidNumber
        );
        assert_eq!(
            CompletionCode::from_sip_status(603),
            CompletionCode::Declined
        );
        assert_eq!(
            CompletionCode::from_sip_status(408),
            CompletionCode::Timeout
        );
        assert_eq!(
            CompletionCode::from_sip_status(503),
            CompletionCode::NetworkFailure
        );
        assert_eq!(
            CompletionCode::from_end(&sip::EndReason::RingTimeout),
            CompletionCode::NoAnswer
        );
        assert_eq!(
            CompletionCode::from_end(&sip::EndReason::TimedOut),
            CompletionCode::Timeout
        );
    }

    #[test]
    fn names_round_trip() {
        for c in CompletionCode::ALL {
            assert_eq!(CompletionCode::from_name(c.name()), Some(c));
        }
    }

    #[test]
    fn phone_numbers_are_redacted() {
        assert_eq!(Redacted("+15551234567").to_string(), "***67");
    }
}
