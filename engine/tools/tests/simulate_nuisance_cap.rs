//! Predictive pacing keeps the nuisance rate under the cap while beating progressive, on a
//! small team (exact tails) and a larger one (normal approximation), over several seeds.

use outdial_tools::simulate::{simulate, ModeReport, WorkloadSpec};

fn workload(agents: u32, answer_rate: f64, talk_s: u32, duration_s: u32) -> String {
    format!(
        r#"
name = "cap"
duration_s = {duration_s}
modes = ["predictive", "progressive"]
[agents]
count = {agents}
[calls]
answer_rate = {answer_rate}
ring_unanswered = {{ dist = "lognormal", mean_s = 18.0, cv = 0.5 }}
talk = {{ dist = "exponential", mean_s = {talk_s} }}
wrap = {{ dist = "lognormal", mean_s = 10.0, cv = 0.5 }}
[nuisance]
cap_pct = 3.0
"#
    )
}

fn run(text: &str, seed: u64) -> (ModeReport, ModeReport) {
    let w = WorkloadSpec::from_toml(text).unwrap().resolve().unwrap();
    let mut r = simulate(&w, seed, &|_, _, _| {});
    let progressive = r.runs.pop().unwrap();
    let predictive = r.runs.pop().unwrap();
    (predictive, progressive)
}

fn check(predictive: &ModeReport, progressive: &ModeReport) {
    assert!(predictive.passed(), "{:?}", predictive.invariants);
    assert!(predictive.under_cap, "{predictive:?}");
    assert!(predictive.nuisance_day_pct <= 3.0);
    assert!(
        predictive.nuisance > 0,
        "a cap never approached says nothing: {predictive:?}"
    );
    assert!(
        predictive.occupancy > progressive.occupancy + 0.05,
        "{} vs {}",
        predictive.occupancy,
        progressive.occupancy
    );
}

#[test]
fn small_team_stays_under_the_cap() {
    let text = workload(3, 0.2, 60, 7200);
    for seed in 1..=4 {
        let (p, q) = run(&text, seed);
        check(&p, &q);
    }
}

#[test]
fn larger_team_stays_under_the_cap() {
    // 40 agents: the busy agents' forecast is past the exact range.
    let (p, q) = run(&workload(40, 0.3, 60, 3600), 1);
    check(&p, &q);
}
