//! Campaign definitions: every refusal names its key, TOML and JSON mean the same thing, the
//! shipped examples resolve, and no input panics.

use std::path::PathBuf;
use std::time::Duration;

use outdial_core::campaign::{
    AbandonMessage, CallerId, Campaign, CampaignSpec, NuisanceWindow, SpecError,
};
use outdial_core::domain::{CompletionCode, RetryRule};
use outdial_core::pacing::PacingPolicy;

fn resolve_toml(text: &str) -> Result<Campaign, Vec<SpecError>> {
    CampaignSpec::from_toml(text)
        .expect("valid TOML syntax")
        .resolve()
}

/// The paths of the problems `text` resolves to, sorted.
fn problem_paths(text: &str) -> Vec<String> {
    let errors = resolve_toml(text).expect_err("must be refused");
    let mut paths: Vec<String> = errors
        .iter()
        .map(|e| {
            e.path()
                .unwrap_or_else(|| panic!("no path in {e}"))
                .to_owned()
        })
        .collect();
    paths.sort();
    paths
}

/// The least a campaign that may dial needs: a name, a mode, a caller ID and, in a mode that
/// can abandon calls, an information message.
const MINIMAL: &str = "name = \"m\"\nmode = \"progressive\"\ncaller_id = \"+14155550123\"\nabandon_message = \"abandon.wav\"\n";

#[test]
fn a_minimal_campaign_gets_the_documented_defaults() {
    let c = resolve_toml(MINIMAL).unwrap();
    assert_eq!(c.name(), "m");
    assert_eq!(c.zone(), "default");
    assert_eq!(c.contacts(), None);
    assert_eq!(
        c.mode(),
        PacingPolicy::Progressive {
            lines_per_agent: 1.0
        }
    );
    assert_eq!(c.nuisance().cap, 0.03);
    assert_eq!(c.nuisance().window, NuisanceWindow::CalendarDay);
    assert_eq!(c.ring_timeout(), Duration::from_secs(30));
    assert!(!c.load_test());
    assert_eq!(c.connect_window(), Duration::from_secs(2));
    let hours = c.calling_hours();
    assert_eq!(
        (
            hours.start().to_string().as_str(),
            hours.end().to_string().as_str()
        ),
        ("09:00:00", "21:00:00")
    );
    assert_eq!(hours.default_tz(), chrono_tz::Tz::UTC);
    assert_eq!(
        c.retry().rule(CompletionCode::Busy),
        RetryRule {
            delay: Duration::from_secs(300),
            max_attempts: 3
        }
    );
    assert!(c.finish().when_all_final);
    assert_eq!(c.finish().after, None);
    assert_eq!(c.caller_id(), Some(&CallerId::E164("+14155550123".into())));
    assert_eq!(
        c.abandon_message(),
        &AbandonMessage::Prompt("abandon.wav".into())
    );
    assert_eq!(c.target(), None);
    assert_eq!(c.test_ranges(), None);
    // The message's default, a tone, only stands where no call can be abandoned.
    let preview =
        resolve_toml("name = \"m\"\nmode = \"preview\"\ncaller_id = \"+14155550123\"\n").unwrap();
    assert_eq!(preview.abandon_message(), &AbandonMessage::Tone);
}

#[test]
fn every_problem_is_reported_at_once_with_its_path() {
    let text = r#"
        name = ""
        zone = "no spaces"
        mode = "progressive"
        contacts = " "
        lines_per_agent = 0.5
        agentless = { rate_cps = 10.0 }
        ring_timeout_ms = 5000
        connect_window_ms = 50
        caller_id = "5551234"
        abandon_message = "prompt.mp3"
        target = "localhost"
        nuisance = { cap_pct = 0.0, window = "weekly" }
        [calling_hours]
        start = "9am"
        end = "25:00"
        days = ["mon", "funday"]
        default_tz = "Mars/Base"
        [retry.busy]
        delay_s = 9999999999
        max_attempts = 0
        [retry.no-answer]
        delay_s = 60
        max_attempts = 101
        [retry.bogus]
        delay_s = 1
        max_attempts = 1
        [finish]
        when_all_final = false
        after_s = 0
        at = "tomorrow"
    "#;
    assert_eq!(
        problem_paths(text),
        [
            "abandon_message",
            "agentless",
            "caller_id",
            "calling_hours.days[1]",
            "calling_hours.default_tz",
            "calling_hours.end",
            "calling_hours.start",
            "connect_window_ms",
            "contacts",
            "finish.after_s",
            "finish.at",
            "lines_per_agent",
            "name",
            "nuisance.cap_pct",
            "nuisance.window",
            "retry.bogus",
            "retry.busy.delay_s",
            "retry.busy.max_attempts",
            "retry.no-answer.max_attempts",
            "ring_timeout_ms",
            "target",
            "zone",
        ]
    );
}

#[test]
fn messages_read_as_path_colon_problem() {
    let errors = resolve_toml(&format!(
        "{MINIMAL}[retry.busy]\ndelay_s = 60\nmax_attempts = 0\n"
    ))
    .unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].to_string(),
        "retry.busy.max_attempts: must be at least 1"
    );
}

#[test]
fn each_case_alone_names_its_key() {
    let cases: &[(&str, &str)] = &[
        ("name = \"m\"\nmode = \"turbo\"\n", "mode"),
        ("name = \"m\\u0007\"\nmode = \"preview\"\n", "name"),
        (&format!("name = \"{}\"\nmode = \"preview\"\n", "x".repeat(129)), "name"),
        ("name = \"m\"\nmode = \"agentless\"\n", "agentless"),
        ("name = \"m\"\nmode = \"agentless\"\nagentless = {}\n", "agentless"),
        ("name = \"m\"\nmode = \"agentless\"\nagentless = { max_concurrent = 0 }\n", "agentless.max_concurrent"),
        ("name = \"m\"\nmode = \"agentless\"\nagentless = { rate_cps = -1.0 }\n", "agentless.rate_cps"),
        ("name = \"m\"\nmode = \"agentless\"\nagentless = { rate_cps = nan }\n", "agentless.rate_cps"),
        ("name = \"m\"\nmode = \"agentless\"\nagentless = { rate_cps = inf }\n", "agentless.rate_cps"),
        ("name = \"m\"\nmode = \"agentless\"\nagentless = { rate_cps = 1e6 }\n", "agentless.rate_cps"),
        ("name = \"m\"\nmode = \"agentless\"\nlines_per_agent = 2.0\nagentless = { rate_cps = 1.0 }\n", "lines_per_agent"),
        ("name = \"m\"\nmode = \"preview\"\nlines_per_agent = 2.0\n", "lines_per_agent"),
        ("name = \"m\"\nmode = \"predictive\"\nlines_per_agent = 11.0\n", "lines_per_agent"),
        ("name = \"m\"\nmode = \"predictive\"\nlines_per_agent = nan\n", "lines_per_agent"),
        ("name = \"m\"\nmode = \"progressive\"\nring_timeout_ms = 14999\n", "ring_timeout_ms"),
        ("name = \"m\"\nmode = \"progressive\"\nring_timeout_ms = 999\nload_test = true\n", "ring_timeout_ms"),
        ("name = \"m\"\nmode = \"progressive\"\nring_timeout_ms = 300001\n", "ring_timeout_ms"),
        ("name = \"m\"\nmode = \"progressive\"\nconnect_window_ms = 10001\n", "connect_window_ms"),
        ("name = \"m\"\nmode = \"progressive\"\nnuisance = { cap_pct = 100.5 }\n", "nuisance.cap_pct"),
        ("name = \"m\"\nmode = \"progressive\"\ncalling_hours = { days = [] }\n", "calling_hours.days"),
        ("name = \"m\"\nmode = \"progressive\"\ncalling_hours = { start = \"9:00\" }\n", "calling_hours.start"),
        ("name = \"m\"\nmode = \"progressive\"\ncalling_hours = { start = \"24:00\" }\n", "calling_hours.start"),
        ("name = \"m\"\nmode = \"progressive\"\nfinish = { when_all_final = false }\n", "finish"),
        ("name = \"m\"\nmode = \"progressive\"\nfinish = { at = \"1969-12-31T23:00:00Z\" }\n", "finish.at"),
        ("name = \"m\"\nmode = \"progressive\"\ncaller_id = \"sip:bad host@x\"\n", "caller_id"),
        ("name = \"m\"\nmode = \"progressive\"\ntarget = \"127.0.0.1\"\n", "target"),
        ("name = \"m\"\nmode = \"progressive\"\nabandon_message = \"\"\n", "abandon_message"),
        ("name = \"m\"\nmode = \"progressive\"\nzone = \"\"\n", "zone"),
    ];
    for (text, path) in cases {
        assert_eq!(problem_paths(text), [*path], "{text}");
    }
}

#[test]
fn load_test_lowers_the_ring_timeout_floor() {
    assert!(
        resolve_toml("name = \"m\"\nmode = \"progressive\"\nring_timeout_ms = 1000\n").is_err()
    );
    let c = resolve_toml(
        "name = \"m\"\nmode = \"progressive\"\nring_timeout_ms = 1000\nload_test = true\ntest_ranges = [\"+1555\"]\n",
    )
    .unwrap();
    assert_eq!(c.ring_timeout(), Duration::from_secs(1));
    assert!(c.load_test());
}

#[test]
fn modes_resolve_to_their_pacing_policies() {
    let c = resolve_toml("name = \"m\"\nmode = \"predictive\"\ncaller_id = \"+14155550123\"\nabandon_message = \"a.wav\"\nlines_per_agent = 2.5\nnuisance = { cap_pct = 2.0, window = \"rolling-30-days\" }\n").unwrap();
    assert_eq!(
        c.mode(),
        PacingPolicy::Predictive {
            lines_per_agent: 2.5,
            nuisance_cap: 0.02
        }
    );
    assert_eq!(c.nuisance().window, NuisanceWindow::Rolling30Days);
    let c =
        resolve_toml("name = \"m\"\nmode = \"preview\"\ncaller_id = \"+14155550123\"\n").unwrap();
    assert_eq!(c.mode(), PacingPolicy::Preview);
    let c =
        resolve_toml("name = \"m\"\nmode = \"agentless\"\ncaller_id = \"+14155550123\"\nabandon_message = \"a.wav\"\nagentless = { max_concurrent = 30 }\n")
            .unwrap();
    assert_eq!(
        c.mode(),
        PacingPolicy::Agentless {
            max_concurrent: Some(30),
            rate_cps: None
        }
    );
}

#[test]
fn calling_hours_accept_24_00_and_full_day_names() {
    // Hours to midnight are wider than the law's: only a load test may keep them.
    let c = resolve_toml("name = \"m\"\nmode = \"preview\"\nload_test = true\ntest_ranges = [\"+1555\"]\ncalling_hours = { start = \"18:00\", end = \"24:00\", days = [\"Saturday\", \"sun\"] }\n").unwrap();
    let days = c.calling_hours().days();
    assert!(days.contains(chrono::Weekday::Sat) && days.contains(chrono::Weekday::Sun));
    assert!(!days.contains(chrono::Weekday::Mon));
}

#[test]
fn syntax_problems_are_errors_not_panics() {
    for (text, needle) in [
        (
            "name = \"m\"\nmode = \"preview\"\ncolour = \"red\"\n",
            "colour",
        ),
        (
            "name = \"m\"\nmode = \"preview\"\n[nuisance]\ncap = 3\n",
            "cap",
        ),
        (
            "name = \"m\"\nmode = \"preview\"\n[retry.busy]\ndelay_s = 60\n",
            "max_attempts",
        ),
        ("name = \"m\"\n", "mode"),
        (
            "name = \"m\"\nmode = \"preview\"\nring_timeout_ms = -5\n",
            "ring_timeout_ms",
        ),
        ("name = \"m\"\nmode = ", ""),
    ] {
        match CampaignSpec::from_toml(text) {
            Err(SpecError::Syntax {
                format: "TOML",
                message,
            }) => assert!(message.contains(needle), "{message}"),
            other => panic!("{text}: {other:?}"),
        }
    }
    assert!(matches!(
        CampaignSpec::from_json(r#"{"name":"m","mode":"preview","extra":1}"#),
        Err(SpecError::Syntax { format: "JSON", .. })
    ));
}

#[test]
fn toml_and_json_of_one_campaign_resolve_equal() {
    let toml_text =
        std::fs::read_to_string(configs_dir().join("campaign-progressive.toml")).unwrap();
    let from_toml = resolve_toml(&toml_text).unwrap();
    let json_text = r#"{
        "name": "renewals-q3",
        "contacts": "contacts/renewals-q3.csv",
        "zone": "north",
        "mode": "progressive",
        "lines_per_agent": 1.5,
        "ring_timeout_ms": 30000,
        "connect_window_ms": 2000,
        "caller_id": "sip:+12125550142@renewals.example.com",
        "abandon_message": "prompts/abandon-en.wav",
        "nuisance": { "cap_pct": 3.0, "window": "calendar-day" },
        "calling_hours": { "start": "09:00", "end": "21:00",
                           "days": ["mon", "tue", "wed", "thu", "fri"],
                           "default_tz": "America/New_York" },
        "retry": { "no-answer": { "delay_s": 3600, "max_attempts": 4 },
                   "nuisance": { "delay_s": 259200, "max_attempts": 2 } },
        "finish": { "when_all_final": true, "at": "2026-09-30T21:00:00-04:00" }
    }"#;
    let from_json = CampaignSpec::from_json(json_text)
        .unwrap()
        .resolve()
        .unwrap();
    assert_eq!(from_toml, from_json);
    assert_eq!(
        from_json.caller_id(),
        Some(&CallerId::Uri(
            "sip:+12125550142@renewals.example.com".into()
        ))
    );
    assert_eq!(
        from_json.abandon_message(),
        &AbandonMessage::Prompt("prompts/abandon-en.wav".into())
    );
}

#[test]
fn the_stored_definition_round_trips_as_given() {
    let c = resolve_toml(MINIMAL).unwrap();
    // Defaults are not written into the stored definition.
    assert_eq!(
        c.to_spec_json(),
        r#"{"name":"m","mode":"progressive","caller_id":"+14155550123","abandon_message":"abandon.wav"}"#
    );
    for path in example_files() {
        let c = CampaignSpec::load(&path).unwrap().resolve().unwrap();
        let again = CampaignSpec::from_json(&c.to_spec_json())
            .unwrap()
            .resolve()
            .unwrap();
        assert_eq!(c, again, "{}", path.display());
    }
}

fn configs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

fn example_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(configs_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("campaign-") && name.ends_with(".toml")
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_campaign_resolves() {
    let files = example_files();
    assert!(files.len() >= 2, "{files:?}");
    for path in files {
        let spec = CampaignSpec::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if let Err(errors) = spec.resolve() {
            let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("{}: {}", path.display(), list.join("; "));
        }
    }
    let agentless = CampaignSpec::load(&configs_dir().join("campaign-agentless.toml"))
        .unwrap()
        .resolve()
        .unwrap();
    assert_eq!(
        agentless.mode(),
        PacingPolicy::Agentless {
            max_concurrent: Some(200),
            rate_cps: Some(50.0)
        }
    );
    assert_eq!(agentless.target(), Some("127.0.0.1:5070".parse().unwrap()));
}

#[test]
fn mangled_examples_never_panic() {
    // Every prefix of every example, and every single-byte substitution with a few hostile
    // characters: parse and resolve must return, whatever they return.
    for path in example_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let bytes = text.as_bytes();
        for cut in (0..bytes.len()).step_by(7) {
            if let Ok(prefix) = std::str::from_utf8(&bytes[..cut]) {
                if let Ok(spec) = CampaignSpec::from_toml(prefix) {
                    let _ = spec.resolve();
                }
            }
        }
        for at in (0..bytes.len()).step_by(4) {
            for sub in [b'0', b'"', b'-', b'\n', b'['] {
                let mut mangled = bytes.to_vec();
                mangled[at] = sub;
                if let Ok(text) = std::str::from_utf8(&mangled) {
                    if let Ok(spec) = CampaignSpec::from_toml(text) {
                        let _ = spec.resolve();
                    }
                }
            }
        }
    }
}
