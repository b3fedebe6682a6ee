//! Phase 1 to phase 2: checks every key of a [`CampaignSpec`] and builds the [`Campaign`],
//! or lists every problem found, each with the path of its key. A campaign whose keys are all
//! well formed is then held to the rules of law ([`crate::compliance::check_campaign`]), and
//! refused with every rule it breaks.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{NaiveTime, Weekday};
use chrono_tz::Tz;

use crate::campaign::hours::{CallingHours, DaySet};
use crate::campaign::{
    bounds, AbandonMessage, AmdPolicy, AmdSpec, CallerId, CallingHoursSpec, Campaign, CampaignSpec,
    FinishCriteria, FinishSpec, MachineAction, NuisancePolicy, NuisanceSpec, NuisanceWindow,
    RetrySpec, RetryTable, SpecError,
};
use crate::compliance::{self, test_ranges, DialRules, TestRanges};
use crate::domain::{CompletionCode, RetryRule};
use crate::pacing::PacingPolicy;

impl CampaignSpec {
    /// Checks every key and builds the [`Campaign`], or lists every problem found: first every
    /// malformed or out-of-bounds key ([`SpecError::Invalid`]); once there are none, every
    /// rule of law the campaign would break ([`SpecError::Violation`]).
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
        let caller_id = resolve_caller_id(&mut p, self.caller_id.as_deref());
        let test_ranges = resolve_test_ranges(&mut p, self.test_ranges.as_deref(), load_test);
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
        let amd = resolve_amd(&mut p, self.amd.as_ref());
        if let Some(t) = &self.trunk {
            if t.is_empty()
                || !t
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                p.add(
                    "trunk",
                    format!("letters, digits, '-' and '_' only, got {t:?}"),
                );
            }
        }
        if !p.0.is_empty() {
            return Err(p.0);
        }
        // INVARIANT: resolve_hours adds a problem whenever it returns None, and we returned
        // above if there was any problem; the fallback is never taken.
        let calling_hours = calling_hours.unwrap_or_else(|| CallingHours::always(Tz::UTC));
        let campaign = Campaign {
            name,
            contacts,
            zone,
            mode,
            nuisance,
            ring_timeout,
            load_test,
            connect_window,
            dial_rules: DialRules::new(calling_hours.clone(), mode, test_ranges.clone()),
            calling_hours,
            retry,
            finish,
            caller_id,
            abandon_message,
            target,
            test_ranges,
            amd,
            spec: self,
        };
        // Phase 2 checks the law on a well-formed campaign, and lists every rule it breaks.
        let violations = compliance::check_campaign(&campaign);
        if violations.is_empty() {
            Ok(campaign)
        } else {
            Err(violations.into_iter().map(SpecError::from).collect())
        }
    }
}

/// The caller ID, if well formed. A withheld one ("anonymous") is left to the compliance
/// check, which names it as such.
fn resolve_caller_id(p: &mut Problems, text: Option<&str>) -> Option<CallerId> {
    let text = text?;
    if compliance::caller_id::is_withheld(text) {
        return None;
    }
    match CallerId::parse(text) {
        Ok(id) => Some(id),
        Err(why) => {
            p.add("caller_id", why);
            None
        }
    }
}

fn resolve_test_ranges(
    p: &mut Problems,
    ranges: Option<&[String]>,
    load_test: bool,
) -> Option<TestRanges> {
    let list = ranges?;
    if !load_test {
        p.add("test_ranges", "only applies with load_test = true");
        return None;
    }
    if list.len() > test_ranges::MAX_RANGES {
        p.add(
            "test_ranges",
            format!(
                "at most {} ranges, got {}",
                test_ranges::MAX_RANGES,
                list.len()
            ),
        );
        return None;
    }
    match TestRanges::parse(list) {
        Ok(ranges) => Some(ranges),
        Err(bad) => {
            for (i, why) in bad {
                let given = list.get(i).map(String::as_str).unwrap_or_default();
                p.add(format!("test_ranges[{i}]"), format!("{why}, got {given:?}"));
            }
            None
        }
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

/// `[amd]`: off unless given; `leave-message` needs its `.wav`.
fn resolve_amd(p: &mut Problems, spec: Option<&AmdSpec>) -> Option<AmdPolicy> {
    let spec = spec?;
    let message = spec.machine_message.as_deref();
    let on_machine = match spec.on_machine.as_deref().unwrap_or("hang-up") {
        "hang-up" => {
            if message.is_some() {
                p.add(
                    "amd.machine_message",
                    "only with on_machine = \"leave-message\"",
                );
            }
            MachineAction::HangUp
        }
        "leave-message" => match message {
            Some(m)
                if Path::new(m)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("wav")) =>
            {
                MachineAction::LeaveMessage(PathBuf::from(m))
            }
            Some(m) => {
                p.add(
                    "amd.machine_message",
                    format!("must be a .wav prompt, got {m:?}"),
                );
                MachineAction::HangUp
            }
            None => {
                p.add(
                    "amd.machine_message",
                    "is required with on_machine = \"leave-message\"",
                );
                MachineAction::HangUp
            }
        },
        other => {
            p.add(
                "amd.on_machine",
                format!("must be \"hang-up\" or \"leave-message\", got {other:?}"),
            );
            MachineAction::HangUp
        }
    };
    spec.enabled
        .unwrap_or(true)
        .then_some(AmdPolicy { on_machine })
}
