//! Helpers shared by the end-to-end tests: start real processes (SIPp, `outdial peer`),
//! find free loopback ports, and stop exactly the processes a test started.
#![allow(dead_code)]

pub mod attack;
pub mod attempts;
pub mod audio;
pub mod cluster;
pub mod cut_proxy;
pub mod desktop;
pub mod kamailio;
pub mod node;
pub mod pg;
pub mod scenario;
pub mod webdriver;

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The wall clock, for bounded waits on real processes (the one clock read of the helpers).
#[allow(clippy::disallowed_methods)]
pub fn wall_now() -> std::time::Instant {
    std::time::Instant::now()
}

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A SIPp scenario file kept under tests/sipp/.
pub fn scenario(name: &str) -> PathBuf {
    root().join("tests").join("sipp").join(name)
}

/// Fails (never skips) with the package to install when SIPp is missing.
pub fn sipp_bin() -> PathBuf {
    let p = PathBuf::from("/usr/bin/sipp");
    assert!(
        p.exists() || which("sipp").is_some(),
        "SIPp is required for this test: apt-get install -y sip-tester"
    );
    which("sipp").unwrap_or(p)
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.exists())
}

/// A free UDP port on 127.0.0.1 (bound then released; good enough on loopback for tests).
pub fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind an ephemeral port");
    s.local_addr().expect("local addr").port()
}

/// A child process killed (by its own pid) when dropped.
pub struct Proc {
    pub child: Child,
    pub name: String,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit by itself, up to `limit`; kills it past that.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let (tx, rx) = mpsc::channel();
        let pid = self.child.id();
        // Poll try_wait from a helper thread's perspective via a bounded recv loop.
        let deadline = wall_now() + limit;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            if wall_now() >= deadline {
                let _ = self.child.kill();
                let _ = tx.send(pid);
                return None;
            }
            let _ = rx.recv_timeout(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and collects stdout once it exits.
    pub fn terminate(mut self) -> String {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let mut out = String::new();
        if let Some(mut so) = self.child.stdout.take() {
            use std::io::Read;
            let _ = so.read_to_string(&mut out);
        }
        let _ = self.wait_exit(Duration::from_secs(10));
        out
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Spawns `cmd` and waits until a line of its stderr contains `ready` (bounded).
pub fn spawn_ready(mut cmd: Command, name: &str, ready: &str, limit: Duration) -> Proc {
    cmd.stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .stdin(Stdio::null());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = mpsc::channel();
    let needle = ready.to_owned();
    std::thread::spawn(move || {
        let mut said = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !said && line.contains(&needle) {
                let _ = tx.send(());
                said = true;
            }
        }
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("{name} did not become ready within {limit:?}"));
    Proc {
        child,
        name: name.into(),
    }
}

/// Spawns a process with stdout/stderr captured, not waiting for anything.
pub fn spawn(mut cmd: Command, name: &str) -> Proc {
    cmd.stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .stdin(Stdio::null());
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    Proc {
        child,
        name: name.into(),
    }
}

/// Starts SIPp as a UAS with a scenario (`-sn uas` when `scenario_file` is None) on `port`,
/// and waits until its UDP port is bound.
///
/// Its control and media ports are picked free just before it starts, so a parallel test can
/// take one of them in between (SIPp also binds media port + 2, which nobody checked): SIPp
/// then exits at once, and it is started again on fresh ports, a few times at most.
pub fn sipp_uas(scenario_file: Option<&str>, port: u16, extra: &[&str]) -> Proc {
    sipp_uas_in(&std::env::temp_dir(), scenario_file, port, extra)
}

/// [`sipp_uas`] run in `cwd`, where its scenario finds the files it plays.
pub fn sipp_uas_in(
    cwd: &std::path::Path,
    scenario_file: Option<&str>,
    port: u16,
    extra: &[&str],
) -> Proc {
    let mut last = String::new();
    for _ in 0..4 {
        let mut cmd = Command::new(sipp_bin());
        match scenario_file {
            Some(f) => cmd.arg("-sf").arg(scenario(f)),
            None => cmd.arg("-sn").arg("uas"),
        };
        cmd.args(["-i", "127.0.0.1", "-p", &port.to_string()])
            .args(sipp_isolation())
            .args(["-nostdin", "-buff_size", "4194304"])
            .args(extra)
            .current_dir(cwd);
        let mut p = spawn(cmd, "sipp uas");
        let deadline = wall_now() + Duration::from_secs(10);
        let (_tx, rx) = mpsc::channel::<()>();
        loop {
            if UdpSocket::bind(("127.0.0.1", port)).is_err() {
                return p;
            }
            if let Ok(Some(status)) = p.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = p.child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                last = format!("sipp exited with {status}: {err}");
                break;
            }
            assert!(
                wall_now() < deadline,
                "sipp did not bind UDP port {port} within 10 s"
            );
            let _ = rx.recv_timeout(Duration::from_millis(20));
        }
    }
    panic!("sipp uas could not start on port {port}: {last}");
}

/// Flags that keep parallel SIPp instances apart: the control socket on loopback with its own
/// port, and its own media port (SIPp binds it and port+2 at start-up).
pub fn sipp_isolation() -> Vec<String> {
    vec![
        "-ci".into(),
        "127.0.0.1".into(),
        "-cp".into(),
        free_udp_port().to_string(),
        "-mp".into(),
        free_udp_port().to_string(),
    ]
}

/// Waits until something is bound on 127.0.0.1:`port` (UDP), by trying to bind it ourselves.
pub fn wait_udp_bound(port: u16, limit: Duration) {
    let deadline = wall_now() + limit;
    let (_tx, rx) = mpsc::channel::<()>();
    while UdpSocket::bind(("127.0.0.1", port)).is_ok() {
        assert!(
            wall_now() < deadline,
            "nothing bound UDP port {port} within {limit:?}"
        );
        let _ = rx.recv_timeout(Duration::from_millis(20));
    }
}

/// Starts `outdial peer` on a free port; returns it and its address.
pub fn outdial_peer(profile: Option<&str>, record: Option<&std::path::Path>) -> (Proc, SocketAddr) {
    let port = free_udp_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_outdial"));
    cmd.args(["peer", "--bind", &addr.to_string(), "--json"]);
    if let Some(p) = profile {
        cmd.arg("--profile").arg(root().join("configs").join(p));
    }
    if let Some(r) = record {
        cmd.arg("--record").arg(r);
    }
    let p = spawn_ready(cmd, "outdial peer", "listening on", Duration::from_secs(20));
    (p, addr)
}

/// Runs `outdial loadtest ... --json` to completion and parses its report; the exit status
/// must be SIPp's for that report.
pub fn loadtest(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_outdial"))
        .arg("loadtest")
        .args(args)
        .arg("--json")
        .stdin(Stdio::null())
        .output()
        .expect("run outdial loadtest");
    // SIPp's exit status: 0 when every call succeeded, 1 when some failed.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "outdial loadtest failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "loadtest printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let some_failed = report["failed"]
        .as_object()
        .is_some_and(|f| f.values().any(|n| n.as_u64() != Some(0)));
    assert_eq!(
        out.status.code(),
        Some(i32::from(some_failed)),
        "exit status 1 exactly when a call failed: {report}"
    );
    report
}

/// A failure count from the report's `failed` object.
pub fn failed(report: &serde_json::Value, code: &str) -> u64 {
    report["failed"][code].as_u64().unwrap_or(0)
}
