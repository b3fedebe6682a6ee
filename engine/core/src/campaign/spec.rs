//! Phase 1: the campaign as written in TOML or sent as JSON, and why a definition is refused.
//! Plain serde structs that only describe keys; [`CampaignSpec::resolve`] (in `resolve.rs`)
//! checks them.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::compliance::Violation;

/// A campaign as written in TOML or sent as JSON. Unknown keys are refused; absent keys stay
/// absent (defaults are applied by [`CampaignSpec::resolve`], so a stored spec picks up no
/// defaults it was not given).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignSpec {
    /// Name shown in reports. Required; 1 to 128 characters, no control characters.
    pub name: String,
    /// Path to a CSV contact list. Optional: contacts may be uploaded through the API instead.
    /// A relative path is relative to whoever loads it (the CLI: the campaign file's folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacts: Option<String>,
    /// Zone whose agents and pacing loop run the campaign. Default `"default"`; 1 to 64 of
    /// `A-Z a-z 0-9 _ - .`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// Dialing mode. Required: `preview` | `progressive` | `predictive` | `agentless`.
    pub mode: String,
    /// Calls per ready agent (progressive, predictive only). Default 1; 1 to 10; fractions
    /// allowed (the pacer rounds ready agents × lines down).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines_per_agent: Option<f64>,
    /// Agentless pacing. Required when `mode = "agentless"`, refused otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agentless: Option<AgentlessSpec>,
    /// Nuisance (abandoned-call) cap. Default `{ cap_pct = 3.0, window = "calendar-day" }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nuisance: Option<NuisanceSpec>,
    /// How long a call may ring before it is cancelled as no-answer, ms. Default 30000;
    /// 15000 to 300000 (from 1000 when `load_test = true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_timeout_ms: Option<u64>,
    /// Marks a load test against a SIP server or test equipment: lowers the ring-timeout
    /// floor to 1000 ms and lifts the rules of law (see [`crate::compliance`]), but requires
    /// `test_ranges` and dials nothing outside them. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_test: Option<bool>,
    /// The number prefixes a load test may dial (`["+1555"]`), each `+` and 4 to 15 digits, at
    /// most 1000. Required when `load_test = true`, refused otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_ranges: Option<Vec<String>>,
    /// How long a live-answered call may wait for an agent before it gets the information
    /// message and counts as nuisance, ms. Default 2000; 100 to 10000, and at most 2000 in
    /// the modes that can abandon calls (progressive, predictive) unless `load_test = true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_window_ms: Option<u64>,
    /// When contacts may be called, in each contact's local time. Default 09:00 to 21:00 every
    /// day, UTC for contacts without a zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calling_hours: Option<CallingHoursSpec>,
    /// Retry rules keyed by completion code name (`busy`, `no-answer`, ...); each replaces that
    /// code's default (see [`RetryTable::default`](crate::campaign::RetryTable::default)). Default: no overrides. Unless
    /// `load_test = true`, a `nuisance` retry waits at least 259200 s (72 h) and, without a
    /// guaranteed agent (preview, or progressive at one line per agent), an
    /// `answered-machine` retry at least 86400 s (24 h).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub retry: BTreeMap<String, RetrySpec>,
    /// When the job ends on its own. Default `{ when_all_final = true }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish: Option<FinishSpec>,
    /// Caller ID presented on calls: an E.164 number (`+14155550123`) or a `sip:`/`sips:` URI
    /// whose user part is one. Required (unless `load_test = true`): diallable, never withheld
    /// or anonymous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
    /// WAV prompt played to a live answer that no agent takes within the connect window (and,
    /// in agentless mode, to every live answer): the information message, naming the caller
    /// and a number to call back. Must end in `.wav`; its existence is checked when a job
    /// starts. Default: a generated tone, which is no information message, so only preview
    /// campaigns and load tests may leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandon_message: Option<String>,
    /// SIP destination for calls, an IP address and port (`127.0.0.1:5070`). Default: the
    /// node's MPPs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The node's `[[trunk]]` its calls go through (its proxy, caller identity and
    /// registration), whatever MPP takes them. Letters, digits, `-`, `_`. Default: the MPP's
    /// own trunk, if it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trunk: Option<String>,
    /// Answering-machine detection on live answers (`[amd]`). Default: off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amd: Option<AmdSpec>,
}

/// `[amd]`: what the answering-machine detector does with a campaign's live answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmdSpec {
    /// Whether answers are classified before an agent (or the message) gets them. Default
    /// true once the section is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// What a machine gets: `hang-up` (default) | `leave-message` (wait for the beep, then
    /// play `machine_message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_machine: Option<String>,
    /// The `.wav` message left on a machine after its beep. Required with `leave-message`,
    /// refused otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_message: Option<String>,
}

/// `[agentless]`: at least one of the two limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentlessSpec {
    /// Most calls up at once (dialing, ringing or playing). Optional; 1 to 1000000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<u32>,
    /// Calls launched per second. Optional; above 0, at most 100000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_cps: Option<f64>,
}

/// `[nuisance]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NuisanceSpec {
    /// Most nuisance calls as a percentage of live-answered calls. Default 3.0; above 0, at
    /// most 100, and at most 3 (the legal limit) unless `load_test = true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_pct: Option<f64>,
    /// The window the cap is enforced over: `calendar-day` | `rolling-30-days`. Default
    /// `calendar-day`. Both meters are kept; this names the one enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
}

/// `[calling_hours]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallingHoursSpec {
    /// Opening, local `HH:MM`. Default `"09:00"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Closing, local `HH:MM` (exclusive; `"24:00"` is midnight). At or before `start`, the
    /// window ends the next day; equal to `start`, it lasts 24 hours. Default `"21:00"`.
    /// Unless `load_test = true`, `start` and `end` lie within 08:00-21:00 on one day (the
    /// widest lawful window); the callee's state or country may narrow it further when each
    /// number is dialled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Days a window opens on (`mon` ... `sun`, or full names). Default every day; not empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<Vec<String>>,
    /// IANA zone for contacts without one (or with one this build does not know). Default
    /// `"UTC"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_tz: Option<String>,
}

/// `[retry.<code>]`: retry after `delay_s` while the contact has had fewer than
/// `max_attempts` attempts. `max_attempts = 1` makes the code final.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Delay before the retry, s. Required; at most 2592000 (30 days).
    pub delay_s: u64,
    /// Attempts of the contact, this one included, after which the code is final. Required;
    /// 1 to 100.
    pub max_attempts: u32,
}

/// `[finish]`: the job finishes at the first criterion met. At least one must be set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishSpec {
    /// Finish when every contact is final. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_all_final: Option<bool>,
    /// Finish this long after the job starts, s. Optional; at least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_s: Option<u64>,
    /// Finish at this instant, RFC 3339 (`2026-01-31T18:00:00Z`). Optional; after 1970.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

/// Why a campaign definition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    /// Not a campaign in this format: bad syntax, a wrong type, an unknown or missing key. The
    /// message carries the parser's line and column.
    #[error("{format}: {message}")]
    Syntax {
        format: &'static str,
        message: String,
    },
    /// A value out of bounds or inconsistent with another, at `path` (`retry.busy.delay_s`).
    #[error("{path}: {problem}")]
    Invalid { path: String, problem: String },
    /// A well-formed campaign that would break a rule of law. Reported only once every key
    /// is well formed, all at once.
    #[error(transparent)]
    Violation(#[from] Violation),
}

impl SpecError {
    /// The key path of an [`SpecError::Invalid`] or a [`SpecError::Violation`].
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Invalid { path, .. } => Some(path),
            Self::Violation(v) => Some(v.key()),
            _ => None,
        }
    }

    /// The rule of law broken, for a [`SpecError::Violation`] (the API's 422).
    pub fn violation(&self) -> Option<&Violation> {
        match self {
            Self::Violation(v) => Some(v),
            _ => None,
        }
    }
}

impl CampaignSpec {
    pub fn from_toml(text: &str) -> Result<Self, SpecError> {
        toml::from_str(text).map_err(|e| SpecError::Syntax {
            format: "TOML",
            message: e.to_string(),
        })
    }

    pub fn from_json(text: &str) -> Result<Self, SpecError> {
        serde_json::from_str(text).map_err(|e| SpecError::Syntax {
            format: "JSON",
            message: e.to_string(),
        })
    }

    /// Reads a campaign file: JSON if its name ends in `.json`, TOML otherwise.
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|e| SpecError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            Self::from_json(&text)
        } else {
            Self::from_toml(&text)
        }
    }

    /// The spec as JSON, the form the API stores (`store::CampaignRecord::spec`).
    pub fn to_json(&self) -> String {
        // INVARIANT: the spec is strings, numbers, booleans and string-keyed maps, which
        // serde_json always serialises (non-finite floats become null).
        serde_json::to_string(self).expect("a CampaignSpec always serialises")
    }
}
