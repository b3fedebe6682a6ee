//! A pacing that breaks an invariant is reported as broken, by the library and by the CLI's
//! exit status: progressive at 3 lines per agent with half the calls answered live
//! over-dials far past the 3 % nuisance cap.

use std::process::Command;

use outdial_tools::simulate::{simulate, WorkloadSpec};

const OVERDIAL: &str = r#"
name = "overdial"
duration_s = 1800
modes = ["progressive", "predictive"]
[agents]
count = 5
[calls]
answer_rate = 0.5
talk = { dist = "exponential", mean_s = 60 }
[progressive]
lines_per_agent = 3.0
"#;

#[test]
fn an_overdialing_progressive_fails_the_cap() {
    let w = WorkloadSpec::from_toml(OVERDIAL)
        .unwrap()
        .resolve()
        .unwrap();
    let r = simulate(&w, 1, &|_, _, _| {});
    let progressive = &r.runs[0];
    let failed: Vec<u8> = progressive
        .invariants
        .iter()
        .filter(|i| !i.pass)
        .map(|i| i.id)
        .collect();
    assert_eq!(failed, vec![5], "{:?}", progressive.invariants);
    assert!(progressive.nuisance_day_pct > 3.0);
    assert!(r.runs[1].passed(), "predictive on the same customers holds");
    assert!(!r.passed());
}

#[test]
fn the_cli_exits_non_zero_on_a_failed_invariant() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("overdial.toml");
    std::fs::write(&bad, OVERDIAL).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_outdial"))
        .args(["simulate", "--json", "--workload"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["runs"][0]["under_cap"], false);

    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        OVERDIAL.replace("lines_per_agent = 3.0", "lines_per_agent = 1.0"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_outdial"))
        .args(["simulate", "--workload"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("progressive") && text.contains("pass"),
        "{text}"
    );

    let invalid = dir.path().join("invalid.toml");
    std::fs::write(
        &invalid,
        OVERDIAL.replace("answer_rate = 0.5", "answer_rate = 2"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_outdial"))
        .args(["simulate", "--workload"])
        .arg(&invalid)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("calls.answer_rate"));
}
