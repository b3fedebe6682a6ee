//! `outdial simulate`: a zone's agents, customers and pacing loop in virtual time, to compare
//! predictive pacing with baselines (progressive, a fixed ratio, VICIdial's adaptive mode)
//! on the same customers, and to check docs/design.md §6's invariants on every run.
//!
//! Layers: [`workload`] reads and checks the TOML; [`run`] is the discrete-event zone, built
//! from the node's own parts (pacer, estimator, nuisance meter, agent sessions, retry
//! rules); [`chaos`] is the seeded fault schedule a `--chaos` run meets (takeovers, killed
//! actors, MPP outages, process kills); [`vicidial`] is the ADAPT_HARD_LIMIT baseline;
//! [`report`] holds the figures and the invariant checker. Nothing here reads a clock except
//! [`run_file`]'s progress line.

pub mod chaos;
mod contacts;
pub mod report;
pub mod run;
pub mod vicidial;
pub mod workload;

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

pub use chaos::{ChaosConfig, ChaosReport, FaultKind};
pub use report::{Invariant, ModeReport, SimReport};
pub use workload::{Workload, WorkloadError, WorkloadSpec};

/// Runs every mode of the workload on `seed`, side by side on the machine's cores (each run
/// is deterministic on its own). `progress(mode index, simulated, total)` is called now and
/// then from the runs' threads.
pub fn simulate(
    w: &Workload,
    seed: u64,
    progress: &(dyn Fn(usize, Duration, Duration) + Sync),
) -> SimReport {
    simulate_with(w, seed, None, progress)
}

/// [`simulate`] with the faults of the workload's `[chaos]` (`w.chaos`): every mode meets
/// the same schedule, drawn from `seed`, and invariant 6 is judged too.
pub fn simulate_chaos(
    w: &Workload,
    seed: u64,
    progress: &(dyn Fn(usize, Duration, Duration) + Sync),
) -> SimReport {
    simulate_with(w, seed, Some(&w.chaos), progress)
}

fn simulate_with(
    w: &Workload,
    seed: u64,
    chaos: Option<&ChaosConfig>,
    progress: &(dyn Fn(usize, Duration, Duration) + Sync),
) -> SimReport {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut runs: Vec<Option<ModeReport>> = vec![None; w.modes.len()];
    for chunk in (0..w.modes.len())
        .collect::<Vec<_>>()
        .chunks(threads.max(1))
    {
        let done: Vec<(usize, ModeReport)> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|&i| {
                    let mode = w.modes[i];
                    scope.spawn(move || {
                        let mut report = |sim, total| progress(i, sim, total);
                        (i, run::run_mode_with(w, mode, seed, chaos, &mut report))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        for (i, r) in done {
            runs[i] = Some(r);
        }
    }
    SimReport {
        workload: w.name.clone(),
        seed,
        agents: w.agents(),
        duration_s: w.duration.as_secs(),
        runs: runs.into_iter().flatten().collect(),
    }
}

/// The CLI's command: loads the workload, runs it (with its faults when `chaos`), and
/// returns the report; progress goes to stderr when `show_progress` and the run lasts over
/// a second.
pub fn run_file(
    path: &Path,
    seed: Option<u64>,
    chaos: bool,
    show_progress: bool,
) -> Result<SimReport, WorkloadError> {
    let w = WorkloadSpec::load(path)?.resolve()?;
    let seed = seed.unwrap_or(w.seed);
    let started = outdial_core::clock::now();
    let state = Mutex::new((vec![0.0f64; w.modes.len()], started));
    let names: Vec<&str> = w.modes.iter().map(|m| m.name()).collect();
    let progress = |i: usize, sim: Duration, total: Duration| {
        if !show_progress {
            return;
        }
        let Ok(mut st) = state.lock() else {
            return;
        };
        st.0[i] = sim.as_secs_f64() / total.as_secs_f64().max(1e-9);
        let now = outdial_core::clock::now();
        if now.duration_since(started) < Duration::from_secs(1)
            || now.duration_since(st.1) < Duration::from_millis(500)
        {
            return;
        }
        st.1 = now;
        let line: Vec<String> = names
            .iter()
            .zip(&st.0)
            .map(|(n, f)| format!("{n} {:.0}%", f * 100.0))
            .collect();
        eprintln!("simulating {}: {}", w.name, line.join("  "));
    };
    let report = simulate_with(&w, seed, chaos.then_some(&w.chaos), &progress);
    Ok(report)
}
