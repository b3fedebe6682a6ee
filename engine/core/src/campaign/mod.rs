//! Campaign definitions in two phases: [`CampaignSpec`], the raw TOML/JSON as the user gave
//! it (what the API stores), and [`Campaign`], the checked, typed form the engine runs.
//!
//! [`CampaignSpec::resolve`] reports every problem at once, each with the path of its key
//! (`retry.busy.max_attempts: must be at least 1`), so a user fixes a file in one round. It
//! never touches the file system or the network: the same spec resolves the same way on every
//! node. Enumerations are plain strings in the spec so that a bad value is one problem among
//! others rather than a parse failure that hides the rest.

pub mod hours;
pub mod retry;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{NaiveTime, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::campaign::hours::{CallingHours, DaySet};
use crate::domain::{CompletionCode, RetryRule, UnixMs};
use crate::pacing::PacingPolicy;

/// Bounds of the keys, public so docs, the API and tests quote the same numbers.
pub mod bounds {
    /// Most lines per agent (progressive/predictive).
    pub const MAX_LINES_PER_AGENT: f64 = 10.0;
    /// Highest agentless rate, calls per second.
    pub const MAX_RATE_CPS: f64 = 100_000.0;
    /// Most concurrent agentless calls.
    pub const MAX_CONCURRENT: u32 = 1_000_000;
    /// Shortest ring timeout of a real campaign, ms.
    pub const MIN_RING_TIMEOUT_MS: u64 = 15_000;
    /// Shortest ring timeout of a load test, ms.
    pub const MIN_RING_TIMEOUT_LOAD_TEST_MS: u64 = 1_000;
    /// Longest ring timeout, ms.
    pub const MAX_RING_TIMEOUT_MS: u64 = 300_000;
    /// Connect window bounds, ms.
    pub const MIN_CONNECT_WINDOW_MS: u64 = 100;
    pub const MAX_CONNECT_WINDOW_MS: u64 = 10_000;
    /// Longest retry delay, s (30 days).
    pub const MAX_RETRY_DELAY_S: u64 = 30 * 86_400;
    /// Most attempts per contact under one rule.
    pub const MAX_ATTEMPTS: u32 = 100;
    /// Longest campaign name, characters.
    pub const MAX_NAME_CHARS: usize = 128;
    /// Longest zone name, characters.
    pub const MAX_ZONE_CHARS: usize = 64;
}

// ---------------------------------------------------------------------------------------------
// Phase 1: the spec as given.
// ---------------------------------------------------------------------------------------------

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
    /// Marks a load test against a SIP server, which lowers the ring-timeout floor to 1000 ms.
    /// Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_test: Option<bool>,
    /// How long a live-answered call may wait for an agent before it gets the information
    /// message and counts as nuisance, ms. Default 2000; 100 to 10000 (regulators commonly
    /// require 2000 or less).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_window_ms: Option<u64>,
    /// When contacts may be called, in each contact's local time. Default 09:00 to 21:00 every
    /// day, UTC for contacts without a zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calling_hours: Option<CallingHoursSpec>,
    /// Retry rules keyed by completion code name (`busy`, `no-answer`, ...); each replaces that
    /// code's default (see [`RetryTable::default`]). Default: no overrides.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub retry: BTreeMap<String, RetrySpec>,
    /// When the job ends on its own. Default `{ when_all_final = true }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish: Option<FinishSpec>,
    /// Caller ID presented on calls: a `sip:`/`sips:` URI or an E.164 number (`+` and 3 to 15
    /// digits). Default: none (the node's From identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
    /// WAV prompt played to a live answer that no agent takes within the connect window.
    /// Default: a generated tone. Must end in `.wav`; its existence is checked when a job starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandon_message: Option<String>,
    /// SIP destination for calls, an IP address and port (`127.0.0.1:5070`). Default: the
    /// node's MPPs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
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
    /// most 100.
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
}

impl SpecError {
    /// The key path of an [`SpecError::Invalid`].
    pub fn path(&self) -> Option<&str> {
        match self {
            Self::Invalid { path, .. } => Some(path),
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

    /// Checks every key and builds the [`Campaign`], or lists every problem found.
    pub fn resolve(self) -> Result<Campaign, Vec<SpecError>> {
        let mut p = Problems::default();
        let name = resolve_name(&mut p, &self.name);
        let contacts = match &self.contacts {
            Some(c) if c.trim().is_empty() => {
                p.add(
                    "contacts",
                    "must not be empty (leave it out to upload contacts by API)",
                );
                None
            }
            c => c.as_ref().map(PathBuf::from),
        };
        let zone = resolve_zone(&mut p, self.zone.as_deref());
        let nuisance = resolve_nuisance(&mut p, self.nuisance.as_ref());
        let mode = resolve_mode(&mut p, &self, nuisance.cap);
        let load_test = self.load_test.unwrap_or(false);
        let ring_timeout = resolve_ring_timeout(&mut p, self.ring_timeout_ms, load_test);
        let connect_window = {
            let ms = self.connect_window_ms.unwrap_or(2_000);
            if !(bounds::MIN_CONNECT_WINDOW_MS..=bounds::MAX_CONNECT_WINDOW_MS).contains(&ms) {
                p.add(
                    "connect_window_ms",
                    format!(
                        "must be {} to {} ms, got {ms}",
                        bounds::MIN_CONNECT_WINDOW_MS,
                        bounds::MAX_CONNECT_WINDOW_MS
                    ),
                );
            }
            Duration::from_millis(ms)
        };
        let calling_hours = resolve_hours(&mut p, self.calling_hours.as_ref());
        let retry = resolve_retry(&mut p, &self.retry);
        let finish = resolve_finish(&mut p, self.finish.as_ref());
        let caller_id = self
            .caller_id
            .as_deref()
            .and_then(|s| match CallerId::parse(s) {
                Ok(id) => Some(id),
                Err(why) => {
                    p.add("caller_id", why);
                    None
                }
            });
        let abandon_message = match self.abandon_message.as_deref() {
            None => AbandonMessage::Tone,
            Some(path) if path.trim().is_empty() => {
                p.add(
                    "abandon_message",
                    "must not be empty (leave it out for the generated tone)",
                );
                AbandonMessage::Tone
            }
            Some(path) => {
                if !Path::new(path)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("wav"))
                {
                    p.add(
                        "abandon_message",
                        format!("must be a .wav prompt, got {path:?}"),
                    );
                }
                AbandonMessage::Prompt(PathBuf::from(path))
            }
        };
        let target = self
            .target
            .as_deref()
            .and_then(|t| match t.trim().parse::<SocketAddr>() {
                Ok(addr) => Some(addr),
                Err(_) => {
                    p.add(
                        "target",
                        format!("must be an IP address and port such as 127.0.0.1:5070, got {t:?}"),
                    );
                    None
                }
            });
        if !p.0.is_empty() {
            return Err(p.0);
        }
        Ok(Campaign {
            name,
            contacts,
            zone,
            mode,
            nuisance,
            ring_timeout,
            load_test,
            connect_window,
            // INVARIANT: resolve_hours adds a problem whenever it returns None, and we
            // returned above if there was any problem; the fallback is never taken.
            calling_hours: calling_hours.unwrap_or_else(|| CallingHours::always(Tz::UTC)),
            retry,
            finish,
            caller_id,
            abandon_message,
            target,
            spec: self,
        })
    }
}

/// Problems found so far, in key order of discovery.
#[derive(Default)]
struct Problems(Vec<SpecError>);

impl Problems {
    fn add(&mut self, path: impl Into<String>, problem: impl Into<String>) {
        self.0.push(SpecError::Invalid {
            path: path.into(),
            problem: problem.into(),
        });
    }
}

fn resolve_name(p: &mut Problems, name: &str) -> String {
    let chars = name.chars().count();
    if name.trim().is_empty() {
        p.add("name", "must not be empty");
    } else if chars > bounds::MAX_NAME_CHARS {
        p.add(
            "name",
            format!(
                "must be at most {} characters, got {chars}",
                bounds::MAX_NAME_CHARS
            ),
        );
    } else if name.chars().any(char::is_control) {
        p.add("name", "must not contain control characters");
    }
    name.to_owned()
}

fn resolve_zone(p: &mut Problems, zone: Option<&str>) -> String {
    let zone = zone.unwrap_or("default");
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if zone.is_empty() || zone.len() > bounds::MAX_ZONE_CHARS || !zone.chars().all(ok_char) {
        p.add(
            "zone",
            format!(
                "must be 1 to {} of A-Z a-z 0-9 _ - ., got {zone:?}",
                bounds::MAX_ZONE_CHARS
            ),
        );
    }
    zone.to_owned()
}

fn resolve_nuisance(p: &mut Problems, spec: Option<&NuisanceSpec>) -> NuisancePolicy {
    let cap_pct = spec.and_then(|s| s.cap_pct).unwrap_or(3.0);
    if !(cap_pct.is_finite() && cap_pct > 0.0 && cap_pct <= 100.0) {
        p.add(
            "nuisance.cap_pct",
            format!("must be above 0 and at most 100, got {cap_pct}"),
        );
    }
    let window = match spec
        .and_then(|s| s.window.as_deref())
        .unwrap_or("calendar-day")
    {
        "calendar-day" => NuisanceWindow::CalendarDay,
        "rolling-30-days" => NuisanceWindow::Rolling30Days,
        other => {
            p.add(
                "nuisance.window",
                format!("must be \"calendar-day\" or \"rolling-30-days\", got {other:?}"),
            );
            NuisanceWindow::CalendarDay
        }
    };
    NuisancePolicy {
        cap: cap_pct / 100.0,
        window,
    }
}

fn resolve_mode(p: &mut Problems, spec: &CampaignSpec, nuisance_cap: f64) -> PacingPolicy {
    let with_agents = matches!(spec.mode.as_str(), "progressive" | "predictive");
    let lines_per_agent = match spec.lines_per_agent {
        Some(_) if !with_agents => {
            p.add(
                "lines_per_agent",
                "only applies to progressive and predictive modes",
            );
            1.0
        }
        Some(l) if !(l.is_finite() && (1.0..=bounds::MAX_LINES_PER_AGENT).contains(&l)) => {
            p.add(
                "lines_per_agent",
                format!("must be 1 to {}, got {l}", bounds::MAX_LINES_PER_AGENT),
            );
            1.0
        }
        Some(l) => l,
        None => 1.0,
    };
    if spec.agentless.is_some() && spec.mode != "agentless" {
        p.add("agentless", "only applies to mode = \"agentless\"");
    }
    match spec.mode.as_str() {
        "preview" => PacingPolicy::Preview,
        "progressive" => PacingPolicy::Progressive { lines_per_agent },
        "predictive" => PacingPolicy::Predictive {
            lines_per_agent,
            nuisance_cap,
        },
        "agentless" => {
            let Some(a) = &spec.agentless else {
                p.add(
                    "agentless",
                    "required when mode = \"agentless\" (max_concurrent and/or rate_cps)",
                );
                return PacingPolicy::Agentless {
                    max_concurrent: None,
                    rate_cps: None,
                };
            };
            if a.max_concurrent.is_none() && a.rate_cps.is_none() {
                p.add("agentless", "needs max_concurrent, rate_cps, or both");
            }
            if let Some(m) = a.max_concurrent {
                if !(1..=bounds::MAX_CONCURRENT).contains(&m) {
                    p.add(
                        "agentless.max_concurrent",
                        format!("must be 1 to {}, got {m}", bounds::MAX_CONCURRENT),
                    );
                }
            }
            if let Some(r) = a.rate_cps {
                if !(r.is_finite() && r > 0.0 && r <= bounds::MAX_RATE_CPS) {
                    p.add(
                        "agentless.rate_cps",
                        format!(
                            "must be above 0 and at most {}, got {r}",
                            bounds::MAX_RATE_CPS
                        ),
                    );
                }
            }
            PacingPolicy::Agentless {
                max_concurrent: a.max_concurrent,
                rate_cps: a.rate_cps,
            }
        }
        other => {
            p.add(
                "mode",
                format!("must be preview, progressive, predictive or agentless, got {other:?}"),
            );
            PacingPolicy::Preview
        }
    }
}

fn resolve_ring_timeout(p: &mut Problems, ms: Option<u64>, load_test: bool) -> Duration {
    let ms = ms.unwrap_or(30_000);
    let floor = if load_test {
        bounds::MIN_RING_TIMEOUT_LOAD_TEST_MS
    } else {
        bounds::MIN_RING_TIMEOUT_MS
    };
    if ms < floor {
        let hint = if load_test {
            ""
        } else {
            " (1000 with load_test = true)"
        };
        p.add(
            "ring_timeout_ms",
            format!("must be at least {floor}{hint}, got {ms}"),
        );
    } else if ms > bounds::MAX_RING_TIMEOUT_MS {
        p.add(
            "ring_timeout_ms",
            format!("must be at most {}, got {ms}", bounds::MAX_RING_TIMEOUT_MS),
        );
    }
    Duration::from_millis(ms)
}

fn parse_hhmm(text: &str, allow_24: bool) -> Option<NaiveTime> {
    if allow_24 && text == "24:00" {
        return Some(NaiveTime::MIN);
    }
    // `%H:%M` alone would also take "9:00"; insist on the documented two-digit form.
    if text.len() != 5 {
        return None;
    }
    NaiveTime::parse_from_str(text, "%H:%M").ok()
}

fn resolve_hours(p: &mut Problems, spec: Option<&CallingHoursSpec>) -> Option<CallingHours> {
    let start_text = spec.and_then(|s| s.start.as_deref()).unwrap_or("09:00");
    let end_text = spec.and_then(|s| s.end.as_deref()).unwrap_or("21:00");
    let start = parse_hhmm(start_text, false);
    if start.is_none() {
        p.add(
            "calling_hours.start",
            format!("must be HH:MM from 00:00 to 23:59, got {start_text:?}"),
        );
    }
    let end = parse_hhmm(end_text, true);
    if end.is_none() {
        p.add(
            "calling_hours.end",
            format!("must be HH:MM from 00:00 to 24:00, got {end_text:?}"),
        );
    }
    let mut days = DaySet::ALL;
    if let Some(names) = spec.and_then(|s| s.days.as_ref()) {
        days = DaySet::NONE;
        if names.is_empty() {
            p.add("calling_hours.days", "must name at least one day");
        }
        for (i, name) in names.iter().enumerate() {
            match name.parse::<Weekday>() {
                Ok(day) => days = days.with(day),
                Err(_) => p.add(
                    format!("calling_hours.days[{i}]"),
                    format!("must be mon, tue, wed, thu, fri, sat or sun, got {name:?}"),
                ),
            }
        }
    }
    let tz_text = spec.and_then(|s| s.default_tz.as_deref()).unwrap_or("UTC");
    let tz = tz_text.parse::<Tz>();
    if tz.is_err() {
        p.add(
            "calling_hours.default_tz",
            format!("must be an IANA time zone such as Europe/London, got {tz_text:?}"),
        );
    }
    match (start, end, tz) {
        (Some(start), Some(end), Ok(tz)) => CallingHours::new(start, end, days, tz),
        _ => None,
    }
}

fn resolve_retry(p: &mut Problems, overrides: &BTreeMap<String, RetrySpec>) -> RetryTable {
    let mut table = RetryTable::default();
    for (key, rule) in overrides {
        let Some(code) = CompletionCode::from_name(key) else {
            let known: Vec<&str> = CompletionCode::ALL.iter().map(|c| c.name()).collect();
            p.add(
                format!("retry.{key}"),
                format!("unknown completion code (known: {})", known.join(", ")),
            );
            continue;
        };
        if rule.delay_s > bounds::MAX_RETRY_DELAY_S {
            p.add(
                format!("retry.{key}.delay_s"),
                format!(
                    "must be at most {} (30 days), got {}",
                    bounds::MAX_RETRY_DELAY_S,
                    rule.delay_s
                ),
            );
        }
        if rule.max_attempts < 1 {
            p.add(format!("retry.{key}.max_attempts"), "must be at least 1");
        } else if rule.max_attempts > bounds::MAX_ATTEMPTS {
            p.add(
                format!("retry.{key}.max_attempts"),
                format!(
                    "must be at most {}, got {}",
                    bounds::MAX_ATTEMPTS,
                    rule.max_attempts
                ),
            );
        }
        table.set(
            code,
            RetryRule {
                delay: Duration::from_secs(rule.delay_s),
                max_attempts: rule.max_attempts,
            },
        );
    }
    table
}

fn resolve_finish(p: &mut Problems, spec: Option<&FinishSpec>) -> FinishCriteria {
    let when_all_final = spec.and_then(|s| s.when_all_final).unwrap_or(true);
    let after = spec.and_then(|s| s.after_s).map(|s| {
        if s == 0 {
            p.add("finish.after_s", "must be at least 1");
        }
        Duration::from_secs(s)
    });
    let at = spec.and_then(|s| s.at.as_deref()).and_then(|text| {
        match chrono::DateTime::parse_from_rfc3339(text) {
            Ok(t) => match u64::try_from(t.timestamp_millis()) {
                Ok(ms) => Some(ms),
                Err(_) => {
                    p.add("finish.at", format!("must be after 1970, got {text:?}"));
                    None
                }
            },
            Err(e) => {
                p.add("finish.at", format!("must be an RFC 3339 instant such as 2026-01-31T18:00:00Z ({e}), got {text:?}"));
                None
            }
        }
    });
    let at_given = spec.is_some_and(|s| s.at.is_some());
    if !when_all_final && after.is_none() && !at_given {
        p.add(
            "finish",
            "needs a criterion: when_all_final = true, after_s or at (a job must not run forever)",
        );
    }
    FinishCriteria {
        when_all_final,
        after,
        at,
    }
}

// ---------------------------------------------------------------------------------------------
// Phase 2: the campaign the engine runs.
// ---------------------------------------------------------------------------------------------

/// A checked campaign definition. Built only by [`CampaignSpec::resolve`]; it keeps the spec
/// it came from for [`Campaign::to_spec_json`].
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    name: String,
    contacts: Option<PathBuf>,
    zone: String,
    mode: PacingPolicy,
    nuisance: NuisancePolicy,
    ring_timeout: Duration,
    load_test: bool,
    connect_window: Duration,
    calling_hours: CallingHours,
    retry: RetryTable,
    finish: FinishCriteria,
    caller_id: Option<CallerId>,
    abandon_message: AbandonMessage,
    target: Option<SocketAddr>,
    spec: CampaignSpec,
}

impl Campaign {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The CSV contact list, if the campaign names one.
    pub fn contacts(&self) -> Option<&Path> {
        self.contacts.as_deref()
    }

    pub fn zone(&self) -> &str {
        &self.zone
    }

    /// The dialing mode with its pacing parameters: what [`crate::pacing::Pacer::new`] takes.
    pub fn mode(&self) -> PacingPolicy {
        self.mode
    }

    pub fn nuisance(&self) -> NuisancePolicy {
        self.nuisance
    }

    pub fn ring_timeout(&self) -> Duration {
        self.ring_timeout
    }

    pub fn load_test(&self) -> bool {
        self.load_test
    }

    pub fn connect_window(&self) -> Duration {
        self.connect_window
    }

    pub fn calling_hours(&self) -> &CallingHours {
        &self.calling_hours
    }

    pub fn retry(&self) -> &RetryTable {
        &self.retry
    }

    pub fn finish(&self) -> FinishCriteria {
        self.finish
    }

    pub fn caller_id(&self) -> Option<&CallerId> {
        self.caller_id.as_ref()
    }

    pub fn abandon_message(&self) -> &AbandonMessage {
        &self.abandon_message
    }

    pub fn target(&self) -> Option<SocketAddr> {
        self.target
    }

    /// The definition as given, before defaults.
    pub fn spec(&self) -> &CampaignSpec {
        &self.spec
    }

    /// The definition as given, as JSON, for the API to store.
    pub fn to_spec_json(&self) -> String {
        self.spec.to_json()
    }
}

/// Which nuisance meter the cap is enforced on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NuisanceWindow {
    /// Since local midnight.
    CalendarDay,
    /// The last 30 days.
    Rolling30Days,
}

/// The nuisance cap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NuisancePolicy {
    /// Most nuisance calls as a fraction of live-answered calls, in (0, 1].
    pub cap: f64,
    pub window: NuisanceWindow,
}

/// When a job finishes on its own: at the first criterion met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinishCriteria {
    pub when_all_final: bool,
    /// Counted from the job's start.
    pub after: Option<Duration>,
    pub at: Option<UnixMs>,
}

/// What a live answer that no agent takes in time hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbandonMessage {
    /// The built-in generated tone.
    Tone,
    /// A WAV prompt.
    Prompt(PathBuf),
}

/// A validated caller ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallerId {
    /// `+` and 3 to 15 digits, the first not 0.
    E164(String),
    /// A `sip:` or `sips:` URI.
    Uri(String),
}

impl CallerId {
    /// Checks an E.164 number or a SIP URI; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(digits) = text.strip_prefix('+') {
            let ok = (3..=15).contains(&digits.len())
                && digits.bytes().all(|b| b.is_ascii_digit())
                && !digits.starts_with('0');
            return if ok {
                Ok(Self::E164(text.to_owned()))
            } else {
                Err("must be + and 3 to 15 digits, the first not 0 (E.164), or a sip: URI".into())
            };
        }
        let lower = text
            .get(..5)
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let rest = if lower.starts_with("sip:") {
            &text[4..]
        } else if lower == "sips:" {
            &text[5..]
        } else {
            return Err("must be an E.164 number (+15551234567) or a sip:/sips: URI".into());
        };
        check_sip_uri_rest(rest)?;
        Ok(Self::Uri(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::E164(s) | Self::Uri(s) => s,
        }
    }
}

impl fmt::Display for CallerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Caller IDs are personal data (STYLE.md): print them redacted.
        crate::domain::Redacted(self.as_str()).fmt(f)
    }
}

/// The part of a SIP URI after its scheme: `[user@]host[:port][;params][?headers]`, checked
/// for the characters RFC 3261 allows, not parsed into parts (the SIP layer does that).
fn check_sip_uri_rest(rest: &str) -> Result<(), String> {
    let end = rest.find([';', '?']).unwrap_or(rest.len());
    let (userhost, tail) = rest.split_at(end);
    let host_port = match userhost.rsplit_once('@') {
        Some((user, host)) => {
            let user_ok = !user.is_empty()
                && user
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()%&=+$,;?/:".contains(&b));
            if !user_ok {
                return Err("has an invalid user part".into());
            }
            host
        }
        None => userhost,
    };
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return Err("has an unclosed IPv6 bracket".into());
        };
        if addr.parse::<std::net::Ipv6Addr>().is_err() {
            return Err("has an invalid IPv6 host".into());
        }
        match after.strip_prefix(':') {
            Some(port) => (None, Some(port)),
            None if after.is_empty() => (None, None),
            None => return Err("has text after its IPv6 host".into()),
        }
    } else {
        match host_port.split_once(':') {
            Some((h, port)) => (Some(h), Some(port)),
            None => (Some(host_port), None),
        }
    };
    if let Some(host) = host {
        let ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
            && !host.starts_with(['.', '-']);
        if !ok {
            return Err("has an invalid host".into());
        }
    }
    if let Some(port) = port {
        if !port.bytes().all(|b| b.is_ascii_digit()) || !port.parse::<u16>().is_ok_and(|p| p > 0) {
            return Err("has an invalid port".into());
        }
    }
    let tail_ok = tail.bytes().all(|b| {
        b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"' | b'\\' | b'`' | b'{' | b'}')
    });
    if !tail_ok {
        return Err("has invalid characters in its parameters".into());
    }
    Ok(())
}

/// The retry rule of every completion code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryTable {
    // Indexed by `CompletionCode as usize`, the order of `CompletionCode::ALL`.
    rules: [RetryRule; CompletionCode::ALL.len()],
}

const FINAL: RetryRule = RetryRule {
    delay: Duration::ZERO,
    max_attempts: 1,
};

const fn minutes(m: u64, max_attempts: u32) -> RetryRule {
    RetryRule {
        delay: Duration::from_secs(m * 60),
        max_attempts,
    }
}

impl Default for RetryTable {
    /// busy 5 min ×3, no-answer 30 min ×3, network-failure 2 min ×5, timeout 2 min ×3,
    /// no-media-resource 1 min ×10, recovered-after-failover 1 min ×3, nuisance 60 min ×2
    /// (regulators allow calling back an abandoned contact); every other code is final.
    fn default() -> Self {
        let mut table = Self {
            rules: [FINAL; CompletionCode::ALL.len()],
        };
        table.set(CompletionCode::Busy, minutes(5, 3));
        table.set(CompletionCode::NoAnswer, minutes(30, 3));
        table.set(CompletionCode::NetworkFailure, minutes(2, 5));
        table.set(CompletionCode::Timeout, minutes(2, 3));
        table.set(CompletionCode::NoMediaResource, minutes(1, 10));
        table.set(CompletionCode::RecoveredAfterFailover, minutes(1, 3));
        table.set(CompletionCode::Nuisance, minutes(60, 2));
        table
    }
}

impl RetryTable {
    pub fn rule(&self, code: CompletionCode) -> RetryRule {
        self.rules[code as usize]
    }

    fn set(&mut self, code: CompletionCode, rule: RetryRule) {
        self.rules[code as usize] = rule;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_discriminants_follow_all() {
        for (i, c) in CompletionCode::ALL.into_iter().enumerate() {
            assert_eq!(c as usize, i, "{c}");
        }
    }

    #[test]
    fn default_retry_rules() {
        let t = RetryTable::default();
        assert_eq!(t.rule(CompletionCode::Busy), minutes(5, 3));
        assert_eq!(t.rule(CompletionCode::NoMediaResource), minutes(1, 10));
        assert_eq!(t.rule(CompletionCode::Nuisance), minutes(60, 2));
        for c in [
            CompletionCode::AnsweredHuman,
            CompletionCode::AnsweredMachine,
            CompletionCode::Declined,
            CompletionCode::InvalidNumber,
            CompletionCode::Blocked,
            CompletionCode::DesktopError,
        ] {
            assert_eq!(t.rule(c).max_attempts, 1, "{c} is final");
        }
    }

    #[test]
    fn caller_ids() {
        for ok in [
            "+15551234567",
            "sip:alice@example.com",
            "SIP:1000@10.0.0.1:5060;user=phone",
            "sips:[::1]:5061",
            "sip:gw.example.com",
        ] {
            assert!(CallerId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "15551234567",
            "+0123",
            "+1",
            "+1555123456789012",
            "sip:",
            "sip:a@",
            "sip:a b@x",
            "tel:+1555",
            "sip:x:99999",
            "sip:[::1",
            "é",
            "sip:host:",
        ] {
            assert!(CallerId::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            CallerId::parse("+15551234567").unwrap().to_string(),
            "***67"
        );
    }
}
