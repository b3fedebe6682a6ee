//! Campaigns held to the law: a well-formed campaign that would break a rule is refused with
//! every rule named by its code, a load test is exempt only with declared test ranges, and the
//! shipped campaigns comply.

use std::path::PathBuf;

use outdial_core::campaign::{Campaign, CampaignSpec, SpecError};
use outdial_core::compliance::{Callee, DialVerdict, NumberHistory, Rule};

fn resolve(text: &str) -> Result<Campaign, Vec<SpecError>> {
    CampaignSpec::from_toml(text)
        .expect("valid TOML syntax")
        .resolve()
}

/// The violation codes `text` is refused with, sorted; panics on a structural refusal.
fn codes(text: &str) -> Vec<&'static str> {
    let errors = resolve(text).expect_err("must be refused");
    let mut codes: Vec<&'static str> = errors
        .iter()
        .map(|e| {
            e.violation()
                .unwrap_or_else(|| panic!("not a violation: {e}"))
                .code()
        })
        .collect();
    codes.sort();
    codes
}

const CALLER_ID: &str = "caller_id = \"+14155550123\"\n";
const MESSAGE: &str = "abandon_message = \"prompts/abandon-en.wav\"\n";

/// A compliant campaign in `mode` with `extra` top-level keys and `tables` after them.
fn compliant(mode: &str, extra: &str, tables: &str) -> String {
    format!("name = \"c\"\nmode = \"{mode}\"\n{CALLER_ID}{MESSAGE}{extra}{tables}")
}

#[test]
fn a_campaign_breaking_many_rules_is_refused_with_all_of_them() {
    let text = r#"
        name = "everything-wrong"
        mode = "predictive"
        lines_per_agent = 2.0
        connect_window_ms = 3000
        nuisance = { cap_pct = 5.0 }
        calling_hours = { start = "07:00", end = "22:00" }
        [retry.nuisance]
        delay_s = 86400
        max_attempts = 2
        [retry.answered-machine]
        delay_s = 3600
        max_attempts = 3
    "#;
    assert_eq!(
        codes(text),
        [
            "caller-id-missing",
            "calling-hours-wider-than-law",
            "cap-above-legal-limit",
            "connect-window-too-long",
            "no-information-message",
            "retry-inside-lockout",
            "retry-inside-lockout",
        ]
    );
    let errors = resolve(text).unwrap_err();
    let mut keys: Vec<&str> = errors.iter().filter_map(SpecError::path).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "abandon_message",
            "caller_id",
            "calling_hours",
            "connect_window_ms",
            "nuisance.cap_pct",
            "retry.answered-machine.delay_s",
            "retry.nuisance.delay_s",
        ]
    );
    let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(
        messages.contains(
            &"connect_window_ms: at most 2000 in a mode that can abandon calls, got 3000 [connect-window-too-long]"
                .to_owned()
        ),
        "{messages:#?}"
    );
    assert!(
        messages.contains(
            &"calling_hours: must lie within 08:00-21:00 in the callee's local time, got 07:00 to 22:00 [calling-hours-wider-than-law]"
                .to_owned()
        ),
        "{messages:#?}"
    );
}

#[test]
fn each_rule_alone() {
    let cases: &[(String, &str)] = &[
        (
            "name = \"c\"\nmode = \"preview\"\n".into(),
            "caller-id-missing",
        ),
        (
            "name = \"c\"\nmode = \"preview\"\ncaller_id = \"anonymous\"\n".into(),
            "caller-id-withheld",
        ),
        (
            "name = \"c\"\nmode = \"preview\"\ncaller_id = \"sip:anonymous@anonymous.invalid\"\n"
                .into(),
            "caller-id-withheld",
        ),
        (
            "name = \"c\"\nmode = \"preview\"\ncaller_id = \"sip:sales@example.com\"\n".into(),
            "caller-id-not-e164",
        ),
        (
            "name = \"c\"\nmode = \"preview\"\ncaller_id = \"+15555550123\"\n".into(),
            "caller-id-not-diallable",
        ),
        (
            "name = \"c\"\nmode = \"preview\"\ncaller_id = \"+449098790123\"\n".into(),
            "caller-id-not-diallable",
        ),
        (
            compliant("progressive", "connect_window_ms = 2001\n", ""),
            "connect-window-too-long",
        ),
        (
            format!("name = \"c\"\nmode = \"progressive\"\n{CALLER_ID}"),
            "no-information-message",
        ),
        (
            format!(
                "name = \"c\"\nmode = \"agentless\"\n{CALLER_ID}agentless = {{ rate_cps = 5.0 }}\n"
            ),
            "no-information-message",
        ),
        (
            compliant("predictive", "nuisance = { cap_pct = 3.01 }\n", ""),
            "cap-above-legal-limit",
        ),
        (
            compliant(
                "preview",
                "calling_hours = { start = \"20:00\", end = \"09:00\" }\n",
                "",
            ),
            "calling-hours-wider-than-law",
        ),
        (
            compliant(
                "preview",
                "calling_hours = { start = \"08:00\", end = \"08:00\" }\n",
                "",
            ),
            "calling-hours-wider-than-law",
        ),
        (
            compliant(
                "preview",
                "calling_hours = { start = \"08:00\", end = \"21:01\" }\n",
                "",
            ),
            "calling-hours-wider-than-law",
        ),
        (
            compliant(
                "preview",
                "",
                "[retry.nuisance]\ndelay_s = 259199\nmax_attempts = 2\n",
            ),
            "retry-inside-lockout",
        ),
        (
            compliant(
                "progressive",
                "lines_per_agent = 1.5\n",
                "[retry.answered-machine]\ndelay_s = 86399\nmax_attempts = 2\n",
            ),
            "retry-inside-lockout",
        ),
        (
            "name = \"c\"\nmode = \"preview\"\nload_test = true\n".into(),
            "load-test-without-test-ranges",
        ),
        (
            "name = \"c\"\nmode = \"preview\"\nload_test = true\ntest_ranges = []\n".into(),
            "load-test-without-test-ranges",
        ),
    ];
    for (text, code) in cases {
        assert_eq!(codes(text), [*code], "{text}");
    }
}

#[test]
fn what_the_rules_allow() {
    for text in [
        // Preview cannot abandon: the tone default stands, and the connect window is free.
        format!("name = \"c\"\nmode = \"preview\"\n{CALLER_ID}connect_window_ms = 5000\n"),
        compliant(
            "predictive",
            "nuisance = { cap_pct = 3.0, window = \"rolling-30-days\" }\n",
            "",
        ),
        compliant("progressive", "connect_window_ms = 2000\n", ""),
        compliant(
            "preview",
            "calling_hours = { start = \"08:00\", end = \"21:00\" }\n",
            "",
        ),
        compliant(
            "preview",
            "",
            "[retry.nuisance]\ndelay_s = 259200\nmax_attempts = 2\n",
        ),
        // A final code retries nothing, whatever its delay.
        compliant(
            "predictive",
            "",
            "[retry.nuisance]\ndelay_s = 60\nmax_attempts = 1\n",
        ),
        // A machine may be called back within 24 h when an agent is sure to be there.
        compliant(
            "progressive",
            "lines_per_agent = 1.0\n",
            "[retry.answered-machine]\ndelay_s = 3600\nmax_attempts = 2\n",
        ),
        compliant(
            "preview",
            "",
            "[retry.answered-machine]\ndelay_s = 3600\nmax_attempts = 2\n",
        ),
        compliant("agentless", "agentless = { rate_cps = 5.0 }\n", ""),
        compliant(
            "predictive",
            "caller_id = \"sip:+442079460123@gw.example.com\"\n",
            "",
        )
        .replacen(CALLER_ID, "", 1),
    ] {
        if let Err(errors) = resolve(&text) {
            let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
            panic!("{text}: {}", list.join("; "));
        }
    }
}

#[test]
fn malformed_keys_come_first_then_the_law() {
    // A bad zone and no caller ID: only the malformed key is reported; fixed, the law speaks.
    let text = "name = \"c\"\nmode = \"preview\"\nzone = \"no spaces\"\n";
    let errors = resolve(text).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].path(), Some("zone"));
    assert!(errors[0].violation().is_none());
    assert_eq!(
        codes("name = \"c\"\nmode = \"preview\"\nzone = \"north\"\n"),
        ["caller-id-missing"]
    );
}

#[test]
fn test_ranges_belong_to_load_tests_and_are_checked() {
    let errors = resolve(&compliant("preview", "test_ranges = [\"+1555\"]\n", "")).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].to_string(),
        "test_ranges: only applies with load_test = true"
    );
    let errors = resolve(
        "name = \"c\"\nmode = \"preview\"\nload_test = true\ntest_ranges = [\"+1555\", \"+1\", \"555\"]\n",
    )
    .unwrap_err();
    let paths: Vec<&str> = errors.iter().filter_map(SpecError::path).collect();
    assert_eq!(paths, ["test_ranges[1]", "test_ranges[2]"]);
    let too_many: Vec<String> = (0..1001).map(|i| format!("\"+1555{i:04}\"")).collect();
    let errors = resolve(&format!(
        "name = \"c\"\nmode = \"preview\"\nload_test = true\ntest_ranges = [{}]\n",
        too_many.join(", ")
    ))
    .unwrap_err();
    assert_eq!(errors[0].path(), Some("test_ranges"));
}

#[test]
fn a_load_test_lifts_the_law_inside_its_ranges() {
    // Everything the law forbids, in a load test with ranges: it resolves.
    let c = resolve(
        r#"
        name = "lt"
        mode = "predictive"
        load_test = true
        test_ranges = ["+1555"]
        ring_timeout_ms = 1000
        connect_window_ms = 5000
        nuisance = { cap_pct = 50.0 }
        calling_hours = { start = "00:00", end = "00:00" }
        [retry.nuisance]
        delay_s = 1
        max_attempts = 5
        "#,
    )
    .unwrap();
    assert_eq!(
        c.test_ranges().map(|r| r.prefixes().to_vec()),
        Some(vec!["+1555".to_owned()])
    );
    let verdict = c.dial_rules().check(
        &Callee::new("+14155550123"),
        &NumberHistory::new(),
        1_714_564_800_000,
    );
    assert_eq!(
        verdict,
        DialVerdict::Never {
            rule: Rule::OutsideTestRanges
        }
    );
}

#[test]
fn the_default_retry_rules_comply_in_every_mode() {
    for (mode, extra) in [
        ("preview", ""),
        ("progressive", ""),
        ("progressive", "lines_per_agent = 3.0\n"),
        ("predictive", ""),
        ("agentless", "agentless = { max_concurrent = 10 }\n"),
    ] {
        let text = compliant(mode, extra, "");
        assert!(resolve(&text).is_ok(), "{text}");
    }
}

fn configs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

#[test]
fn the_shipped_campaigns_comply_and_the_demos_dial_inside_their_ranges() {
    for name in [
        "campaign-agentless.toml",
        "campaign-progressive.toml",
        "campaign-predictive.toml",
    ] {
        let c = CampaignSpec::load(&configs_dir().join(name))
            .unwrap()
            .resolve()
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert!(!c.load_test(), "{name} is held to the law");
    }
    // `outdial demo` writes +1 AAA 555 NNNN in these area codes (engine/tools/src/demo.rs).
    let demo_numbers: Vec<String> = ["212", "312", "415", "206", "305", "617", "713", "303"]
        .iter()
        .flat_map(|a| [format!("+1{a}5550000"), format!("+1{a}5559999")])
        .collect();
    for name in ["campaign-demo.toml", "campaign-demo-predictive.toml"] {
        let c = CampaignSpec::load(&configs_dir().join(name))
            .unwrap()
            .resolve()
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let ranges = c.test_ranges().expect("the demos are load tests");
        for n in &demo_numbers {
            assert!(ranges.contains(n), "{name}: {n}");
        }
        assert!(!ranges.contains("+12125560000"), "{name}");
    }
}
