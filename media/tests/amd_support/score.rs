//! Scores detectors on the labelled set: error rates, verdict latencies and beep-end error, and
//! the accuracy table of bench/README.md.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use media::amd::{classify_wav_with, AmdReport, Detector, Verdict};

use super::build::Labelled;
use super::plan::Kind;

/// One file's label and what a detector said about it.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The label.
    pub label: Labelled,
    /// The detector's report.
    pub report: AmdReport,
}

/// Runs `make()`'s detector over every file of the set (on all cores).
pub fn classify_set<D: Detector>(set: &[Labelled], make: impl Fn() -> D + Sync) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let out = Mutex::new(vec![None; set.len()]);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(label) = set.get(i) else { break };
                let report = classify_wav_with(&label.path, make())
                    .unwrap_or_else(|e| panic!("{}: {e}", label.path.display()));
                out.lock().expect("no worker panicked")[i] = Some(Outcome {
                    label: label.clone(),
                    report,
                });
            });
        }
    });
    out.into_inner()
        .expect("no worker panicked")
        .into_iter()
        .map(|o| o.expect("every file was classified"))
        .collect()
}

/// The figures the goals are stated in.
#[derive(Debug, Clone, Default)]
pub struct Scores {
    /// Files of people.
    pub humans: usize,
    /// Files of machines.
    pub machines: usize,
    /// People called Machine.
    pub humans_called_machine: usize,
    /// People called NotSure.
    pub humans_not_sure: usize,
    /// Machines called Machine.
    pub machines_caught: usize,
    /// Machines called NotSure.
    pub machines_not_sure: usize,
    /// People called Human: verdict minus the end of the first phrase, ms (sorted).
    pub human_after_phrase_ms: Vec<i64>,
    /// One-word answers called Human: verdict minus the start of the word, ms (sorted).
    pub hello_from_start_ms: Vec<i64>,
    /// Machines called Machine: verdict, ms from the start of the file (sorted).
    pub machine_ms: Vec<i64>,
    /// Machines with a beep, called Machine, beep end found: |found − true|, ms (sorted).
    pub beep_error_ms: Vec<i64>,
    /// Machines with a beep, called Machine: beep end not found.
    pub beeps_missed: usize,
    /// Machines with a beep, called Machine.
    pub beeps_expected: usize,
    /// Files without a beep where a beep end was reported.
    pub false_beeps: usize,
}

impl Scores {
    /// Scores a detector's outcomes.
    pub fn of(outcomes: &[Outcome]) -> Scores {
        let mut s = Scores::default();
        for o in outcomes {
            let (l, r) = (&o.label, &o.report);
            let decided = r.decided_ms as i64;
            if l.beep_end_ms.is_none() && r.beep_end_ms.is_some() {
                s.false_beeps += 1;
            }
            match (l.kind, r.verdict) {
                (Kind::Human, verdict) => {
                    s.humans += 1;
                    match verdict {
                        Verdict::Machine => s.humans_called_machine += 1,
                        Verdict::NotSure => s.humans_not_sure += 1,
                        Verdict::Human => {
                            s.human_after_phrase_ms
                                .push(decided - l.first_phrase_end_ms as i64);
                            if l.one_word {
                                s.hello_from_start_ms
                                    .push(decided - l.speech_start_ms as i64);
                            }
                        }
                    }
                }
                (Kind::Machine, verdict) => {
                    s.machines += 1;
                    match verdict {
                        Verdict::Machine => {
                            s.machines_caught += 1;
                            s.machine_ms.push(decided);
                            if let Some(truth) = l.beep_end_ms {
                                s.beeps_expected += 1;
                                match r.beep_end_ms {
                                    Some(found) => {
                                        s.beep_error_ms.push((found as i64 - truth as i64).abs())
                                    }
                                    None => s.beeps_missed += 1,
                                }
                            }
                        }
                        Verdict::NotSure => s.machines_not_sure += 1,
                        Verdict::Human => {}
                    }
                }
            }
        }
        for v in [
            &mut s.human_after_phrase_ms,
            &mut s.hello_from_start_ms,
            &mut s.machine_ms,
            &mut s.beep_error_ms,
        ] {
            v.sort_unstable();
        }
        s
    }

    /// People called Machine, % of people.
    pub fn false_machine_pct(&self) -> f64 {
        pct(self.humans_called_machine, self.humans)
    }

    /// Machines called Machine, % of machines.
    pub fn caught_pct(&self) -> f64 {
        pct(self.machines_caught, self.machines)
    }

    /// NotSure, % of all files.
    pub fn not_sure_pct(&self) -> f64 {
        pct(
            self.humans_not_sure + self.machines_not_sure,
            self.humans + self.machines,
        )
    }
}

fn pct(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// The `p`th percentile (nearest rank) of sorted values.
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

fn p50_p95(v: &[i64]) -> String {
    match (percentile(v, 50.0), percentile(v, 95.0)) {
        (Some(a), Some(b)) => format!("{a} / {b}"),
        _ => "n/a".to_string(),
    }
}

/// The accuracy table, ours against the baseline, in Markdown.
pub fn table(ours: &Scores, classic: &Scores) -> String {
    let rows: Vec<(&str, String, String)> = vec![
        (
            "humans called machine",
            format!(
                "{:.2} % ({}/{})",
                ours.false_machine_pct(),
                ours.humans_called_machine,
                ours.humans
            ),
            format!(
                "{:.2} % ({}/{})",
                classic.false_machine_pct(),
                classic.humans_called_machine,
                classic.humans
            ),
        ),
        (
            "machines caught",
            format!(
                "{:.2} % ({}/{})",
                ours.caught_pct(),
                ours.machines_caught,
                ours.machines
            ),
            format!(
                "{:.2} % ({}/{})",
                classic.caught_pct(),
                classic.machines_caught,
                classic.machines
            ),
        ),
        (
            "NotSure (all files)",
            format!("{:.2} %", ours.not_sure_pct()),
            format!("{:.2} %", classic.not_sure_pct()),
        ),
        (
            "human verdict after end of first phrase, p50 / p95 ms",
            p50_p95(&ours.human_after_phrase_ms),
            p50_p95(&classic.human_after_phrase_ms),
        ),
        (
            "human verdict after start of a one-word hello, p50 / p95 ms",
            p50_p95(&ours.hello_from_start_ms),
            p50_p95(&classic.hello_from_start_ms),
        ),
        (
            "machine verdict from start of audio, p50 / p95 ms",
            p50_p95(&ours.machine_ms),
            p50_p95(&classic.machine_ms),
        ),
        (
            "beep-end error, p50 / p95 ms",
            p50_p95(&ours.beep_error_ms),
            "no beep detector".to_string(),
        ),
        (
            "beeps missed / beeps reported where there was none",
            format!(
                "{}/{} / {}",
                ours.beeps_missed, ours.beeps_expected, ours.false_beeps
            ),
            "—".to_string(),
        ),
    ];
    let mut out = String::from("| metric | ours (`AmdDetector`) | Asterisk app_amd (`ClassicAmd`) |\n| --- | --- | --- |\n");
    for (metric, a, b) in rows {
        out.push_str(&format!("| {metric} | {a} | {b} |\n"));
    }
    out
}

/// `scenario,metric,value` rows for bench/results.
pub fn csv_rows(detector: &str, s: &Scores) -> String {
    let mut rows = vec![
        (
            "humans_called_machine_pct".to_string(),
            format!("{:.3}", s.false_machine_pct()),
        ),
        (
            "machines_caught_pct".to_string(),
            format!("{:.3}", s.caught_pct()),
        ),
        (
            "not_sure_pct".to_string(),
            format!("{:.3}", s.not_sure_pct()),
        ),
    ];
    for (name, v) in [
        ("human_after_phrase_ms", &s.human_after_phrase_ms),
        ("hello_from_start_ms", &s.hello_from_start_ms),
        ("machine_ms", &s.machine_ms),
        ("beep_error_ms", &s.beep_error_ms),
    ] {
        for p in [50.0, 95.0] {
            if let Some(x) = percentile(v, p) {
                rows.push((format!("{name}_p{p}"), x.to_string()));
            }
        }
    }
    rows.iter()
        .map(|(m, v)| format!("amd_{detector},{m},{v}\n"))
        .collect()
}

/// How many files of `kind` a detector called `verdict`, by cause, most frequent first.
pub fn causes(outcomes: &[Outcome], kind: Kind, verdict: Verdict) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for o in outcomes
        .iter()
        .filter(|o| o.label.kind == kind && o.report.verdict == verdict)
    {
        let cause = format!("{:?}", o.report.cause);
        match counts.iter_mut().find(|(c, _)| *c == cause) {
            Some((_, n)) => *n += 1,
            None => counts.push((cause, 1)),
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    counts
        .iter()
        .map(|(c, n)| format!("{c} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The files a detector got wrong, one line each, for reading when a goal fails.
pub fn mistakes(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    for o in outcomes {
        let (l, r) = (&o.label, &o.report);
        let wrong = match l.kind {
            Kind::Human => r.verdict != Verdict::Human,
            Kind::Machine => {
                r.verdict != Verdict::Machine
                    || l.beep_end_ms.map(|t| t as i64) != r.beep_end_ms.map(|f| f as i64)
                        && l.beep_end_ms
                            .zip(r.beep_end_ms)
                            .is_none_or(|(t, f)| t.abs_diff(f) > 300)
            }
        };
        if wrong {
            out.push_str(&format!(
                "  {}: {:?} {:?} (phrase {}–{} ms, beep end {:?}, snr {:?}) -> {:?} {:?} at {} ms, beep end {:?}\n",
                l.path.file_name().unwrap_or_default().to_string_lossy(),
                l.first_text,
                l.kind,
                l.speech_start_ms,
                l.first_phrase_end_ms,
                l.beep_end_ms,
                l.snr_db,
                r.verdict,
                r.cause,
                r.decided_ms,
                r.beep_end_ms,
            ));
        }
    }
    out
}
