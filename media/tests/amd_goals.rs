//! Answering-machine detection meets the product's goals on the labelled CI set (200 people and
//! 200 machines built with espeak-ng and sox), scored beside Asterisk's app_amd.
//!
//! The set's seed (2026) was never used to choose the detector's defaults: they were tuned on
//! seeds 1 and 3 (`cadence_sweep` in amd_table.rs).

mod amd_support;

use amd_support::build::labelled_set;
use amd_support::plan::SetSpec;
use amd_support::score::{classify_set, mistakes, percentile, table, Scores};
use media::amd::{AmdDetector, ClassicAmd};

const SEED: u64 = 2026;
const CALLS_OF_EACH_KIND: usize = 200;

fn p95(v: &[i64]) -> i64 {
    percentile(v, 95.0).expect("some calls were decided this way")
}

#[test]
fn goals_hold_on_the_labelled_set() {
    let spec = SetSpec::new(SEED, CALLS_OF_EACH_KIND, CALLS_OF_EACH_KIND);
    let set = labelled_set(&amd_support::cache_root(), &spec);
    let ours = classify_set(&set, AmdDetector::default);
    let classic = classify_set(&set, ClassicAmd::default);
    let (o, c) = (Scores::of(&ours), Scores::of(&classic));
    let report = format!("{}\nours got wrong:\n{}", table(&o, &c), mistakes(&ours));
    println!("{report}");

    assert_eq!(o.humans + o.machines, set.len());
    assert!(
        o.false_machine_pct() <= 0.5,
        "people called machine\n{report}"
    );
    assert!(o.caught_pct() >= 97.0, "machines caught\n{report}");
    assert!(
        p95(&o.human_after_phrase_ms) <= 600,
        "human verdict after the phrase\n{report}"
    );
    assert!(
        p95(&o.hello_from_start_ms) < 900,
        "human verdict after a hello\n{report}"
    );
    assert!(p95(&o.machine_ms) <= 2500, "machine verdict\n{report}");
    assert!(
        o.beeps_missed * 50 <= o.beeps_expected,
        "beeps missed (more than 2 %)\n{report}"
    );
    assert!(p95(&o.beep_error_ms) <= 300, "beep end error\n{report}");
    assert!(
        o.false_beeps * 100 <= o.machines,
        "beeps reported where there was none (more than 1 %)\n{report}"
    );

    // The baseline was scored on the same files: its classic weakness is the wait after a
    // greeting (800 ms of silence), which ours must beat.
    assert_eq!(c.humans + c.machines, set.len());
    assert!(
        p95(&o.human_after_phrase_ms) < percentile(&c.human_after_phrase_ms, 50.0).unwrap_or(0),
        "ours is not faster than app_amd\n{report}"
    );
}
