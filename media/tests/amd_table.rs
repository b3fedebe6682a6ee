//! The AMD accuracy harness (ignored by default: it builds a large set). Prints the table of
//! bench/README.md for ours against Asterisk's app_amd and writes `scenario,metric,value` rows to
//! bench/results/amd_accuracy.csv.
//!
//! ```text
//! cargo test --release -p media --test amd_table accuracy_table -- --ignored --nocapture
//! AMD_SET_SIZE=1000 AMD_SEED=7 AMD_SPEEDS=120-150 AMD_MISTAKES=1 cargo test ...
//!   (calls of each kind, seed, espeak-ng words per minute, list our mistakes)
//! ```

mod amd_support;

use amd_support::build::{labelled_set, Labelled};
use amd_support::plan::Kind;
use amd_support::plan::SetSpec;
use amd_support::score::{causes, classify_set, csv_rows, mistakes, table, Scores};
use media::amd::{AmdDetector, ClassicAmd, Verdict};

fn env_or(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) => default,
    }
}

/// The set the environment asks for: `AMD_SET_SIZE` calls of each kind, `AMD_SEED`, and
/// `AMD_SPEEDS` (`LOW-HIGH` words per minute).
fn set_from_env(default_size: u64, default_seed: u64) -> (SetSpec, Vec<Labelled>) {
    let size = env_or("AMD_SET_SIZE", default_size) as usize;
    let mut spec = SetSpec::new(env_or("AMD_SEED", default_seed), size, size);
    if let Ok(range) = std::env::var("AMD_SPEEDS") {
        let parsed = range
            .split_once('-')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
        let Some((low, high)) = parsed else {
            panic!("AMD_SPEEDS={range} is not LOW-HIGH")
        };
        spec.speeds = low..=high;
    }
    let set = labelled_set(&amd_support::cache_root(), &spec);
    (spec, set)
}

#[test]
#[ignore = "builds a large labelled set; run with --ignored"]
fn accuracy_table() {
    let (spec, set) = set_from_env(1000, 2027);
    let ours = classify_set(&set, AmdDetector::default);
    let classic = classify_set(&set, ClassicAmd::default);
    let (ours_scores, classic_scores) = (Scores::of(&ours), Scores::of(&classic));
    println!(
        "set: {} people + {} machines, seed {}, {}–{} words per minute",
        spec.humans,
        spec.machines,
        spec.seed,
        spec.speeds.start(),
        spec.speeds.end()
    );
    println!("{}", table(&ours_scores, &classic_scores));
    println!(
        "people called machine, by cause: ours {}; app_amd {}",
        causes(&ours, Kind::Human, Verdict::Machine),
        causes(&classic, Kind::Human, Verdict::Machine)
    );
    println!(
        "machines called human, by cause: ours {}; app_amd {}",
        causes(&ours, Kind::Machine, Verdict::Human),
        causes(&classic, Kind::Machine, Verdict::Human)
    );
    if std::env::var_os("AMD_MISTAKES").is_some() {
        println!("ours got wrong:\n{}", mistakes(&ours));
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/results");
    std::fs::create_dir_all(&dir).expect("create bench/results");
    let csv = format!(
        "{}{}",
        csv_rows("ours", &ours_scores),
        csv_rows("classic", &classic_scores)
    );
    std::fs::write(dir.join("amd_accuracy.csv"), csv).expect("write amd_accuracy.csv");
}

/// Trade-offs of our detector's cadence knobs on a set (a tuning aid; run on a seed other than
/// the CI test's, so the knobs are not fitted to the files they are judged on).
#[test]
#[ignore = "a tuning aid; run with --ignored"]
fn cadence_sweep() {
    use media::amd::{classify_samples, read_recording, AmdConfig};
    let (_, set) = set_from_env(200, 1);
    let audio: Vec<Vec<i16>> = set
        .iter()
        .map(|l| read_recording(&l.path).expect("readable"))
        .collect();
    let grid = std::env::var("AMD_GRID").unwrap_or_default();
    let mut configs = vec![AmdConfig::default()];
    for spec in grid.split(';').filter(|s| !s.is_empty()) {
        let mut c = AmdConfig::default();
        for kv in spec.split(',') {
            let (k, v) = kv.split_once('=').expect("key=value");
            let v: u32 = v.parse().expect("a number");
            match k {
                "short" => c.short_greeting_ms = v,
                "ssil" => c.short_greeting_silence_ms = v,
                "sil" => c.greeting_silence_ms = v,
                "max" => c.max_human_greeting_ms = v,
                "syl" => c.max_human_syllables = v,
                "lsyl" => c.long_greeting_syllables = v,
                "cap" => c.max_greeting_ms = v,
                "margin" => c.speech_margin_db = v as f32 / 10.0,
                _ => panic!("unknown knob {k}"),
            }
        }
        configs.push(c);
    }
    for c in configs {
        let outcomes: Vec<amd_support::score::Outcome> = set
            .iter()
            .zip(&audio)
            .map(|(l, a)| amd_support::score::Outcome {
                label: l.clone(),
                report: classify_samples(a, AmdDetector::new(&c).expect("valid")),
            })
            .collect();
        let s = Scores::of(&outcomes);
        let p = |v: &[i64], q| amd_support::score::percentile(v, q).unwrap_or(-1);
        println!(
            "short {} ssil {} sil {} max {} syl {} lsyl {} cap {} margin {}: false-machine {:.1}% caught {:.1}% human p95 {} hello p95 {} machine p95 {}",
            c.short_greeting_ms, c.short_greeting_silence_ms, c.greeting_silence_ms, c.max_human_greeting_ms,
            c.max_human_syllables, c.long_greeting_syllables, c.max_greeting_ms, c.speech_margin_db,
            s.false_machine_pct(), s.caught_pct(),
            p(&s.human_after_phrase_ms, 95.0), p(&s.hello_from_start_ms, 95.0), p(&s.machine_ms, 95.0),
        );
    }
}
