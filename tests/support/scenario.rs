//! Helpers for `outdial loadtest --scenario` tests: SIPp's built-in scenarios dumped at test
//! time (never committed), and the load tester run to completion with its exit status kept,
//! since a scenario run exits 1 when calls fail and 255 when the scenario is refused.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use super::{free_udp_port, sipp_bin, sipp_uas, spawn, Proc};

/// Writes SIPp's built-in scenario `name` (`sipp -sd name`) to `dir/name.xml`.
pub fn sipp_dump(name: &str, dir: &Path) -> PathBuf {
    let out = Command::new(sipp_bin())
        .args(["-sd", name])
        .stdin(Stdio::null())
        .output()
        .expect("run sipp -sd");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("<scenario"),
        "sipp -sd {name} printed no scenario: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir.join(format!("{name}.xml"));
    std::fs::write(&path, text.as_bytes()).expect("write the dumped scenario");
    path
}

/// The line (1-based) of the first line of `path` containing `needle`.
pub fn line_of(path: &Path, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .expect("read the scenario")
        .lines()
        .position(|l| l.contains(needle))
        .expect("needle in file")
        + 1
}

/// What one `outdial loadtest --json` run gave.
#[derive(Debug)]
pub struct Outcome {
    /// The exit code (`None` if killed past the time limit).
    pub code: Option<i32>,
    pub report: serde_json::Value,
    pub stderr: String,
}

impl Outcome {
    pub fn successful(&self) -> u64 {
        self.report["successful_calls"].as_u64().unwrap_or(u64::MAX)
    }

    pub fn failed_calls(&self) -> u64 {
        self.report["failed_calls"].as_u64().unwrap_or(u64::MAX)
    }

    /// A per-message counter of scenario message `index`.
    pub fn count(&self, index: usize, key: &str) -> u64 {
        self.report["messages"][index][key]
            .as_u64()
            .unwrap_or(u64::MAX)
    }
}

/// Runs `outdial loadtest ARGS --json` (bounded by `limit`), whatever its exit status.
pub fn loadtest_outcome(args: &[&str], limit: Duration) -> Outcome {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_outdial"));
    cmd.arg("loadtest").args(args).arg("--json");
    let mut p: Proc = spawn(cmd, "outdial loadtest");
    // Drain the pipes on threads so a chatty run cannot block on a full pipe.
    let mut so = p.child.stdout.take().expect("piped stdout");
    let mut se = p.child.stderr.take().expect("piped stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = so.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = se.read_to_string(&mut s);
        s
    });
    let status: Option<ExitStatus> = p.wait_exit(limit);
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    let report = serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null);
    Outcome {
        code: status.and_then(|s| s.code()),
        report,
        stderr,
    }
}

/// Starts SIPp as a server with `server` (a file under tests/sipp/ or an absolute path) for
/// `calls` calls, plays `scenario` against it with `args`, and returns the load tester's
/// outcome and SIPp's exit status (SIPp must exit by itself).
pub fn play_against(
    server: &str,
    calls: u32,
    sipp_extra: &[&str],
    scenario: &Path,
    args: &[&str],
) -> (Outcome, Option<ExitStatus>) {
    let port = free_udp_port();
    let m = calls.to_string();
    let mut sipp_args = vec!["-m", m.as_str(), "-timeout", "60s", "-timeout_error"];
    sipp_args.extend_from_slice(sipp_extra);
    let mut uas = sipp_uas(Some(server), port, &sipp_args);
    let target = format!("127.0.0.1:{port}");
    let scenario = scenario.display().to_string();
    let mut all = vec![
        "--target",
        target.as_str(),
        "--scenario",
        scenario.as_str(),
        "--quiet",
    ];
    if !args.contains(&"--calls") {
        all.extend_from_slice(&["--calls", m.as_str()]);
    }
    if !args.contains(&"--rate") {
        all.extend_from_slice(&["--rate", "20"]);
    }
    all.extend_from_slice(args);
    let outcome = loadtest_outcome(&all, Duration::from_secs(90));
    let status = uas.wait_exit(Duration::from_secs(30));
    (outcome, status)
}
