//! Without enough measurements predictive paces exactly as progressive: on a run too short
//! to gather them, both modes meet the same customers and do the same thing.

use outdial_tools::simulate::{simulate, WorkloadSpec};

#[test]
fn predictive_without_data_is_progressive() {
    let text = r#"
name = "fallback"
duration_s = 120
modes = ["predictive", "progressive"]
[agents]
count = 2
[calls]
answer_rate = 0.3
talk = { dist = "exponential", mean_s = 60 }
[predictive]
lines_per_agent = 1.5
[progressive]
lines_per_agent = 1.5
"#;
    let w = WorkloadSpec::from_toml(text).unwrap().resolve().unwrap();
    let r = simulate(&w, 5, &|_, _, _| {});
    let (mut predictive, progressive) = (r.runs[0].clone(), r.runs[1].clone());
    assert!(predictive.attempts > 0);
    assert!(
        predictive.attempts < u64::from(outdial_core::pacing::predictive::MIN_ATTEMPTS),
        "the run must stay short of data: {}",
        predictive.attempts
    );
    predictive.mode = progressive.mode.clone();
    assert_eq!(predictive, progressive);
}

#[test]
fn predictive_without_handle_times_is_progressive() {
    // Many attempts and live answers, but every call lasts past the end of the run: no
    // handle time is known, and busy agents' freeing cannot be forecast.
    let text = r#"
name = "no handle times"
duration_s = 900
modes = ["predictive", "progressive"]
[agents]
count = 40
[calls]
answer_rate = 0.2
talk = { dist = "fixed", mean_s = 3600 }
"#;
    let w = WorkloadSpec::from_toml(text).unwrap().resolve().unwrap();
    let r = simulate(&w, 2, &|_, _, _| {});
    let (mut predictive, progressive) = (r.runs[0].clone(), r.runs[1].clone());
    assert!(
        predictive.attempts > u64::from(outdial_core::pacing::predictive::MIN_ATTEMPTS)
            && predictive.live_answers > u64::from(outdial_core::pacing::predictive::MIN_LIVE),
        "{predictive:?}"
    );
    predictive.mode = progressive.mode.clone();
    assert_eq!(predictive, progressive);
}
