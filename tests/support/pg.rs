//! A throwaway PostgreSQL server for tests: a fresh cluster directory (a copy of one made by
//! `initdb` once, see `template`), the postmaster on a free loopback port, a database
//! `outdial` for user `outdial` (trust auth). Dropping it stops that postmaster (by its own
//! pid) and removes the directory. Std and the `postgres` crate only; safe to run many at
//! once. As root, initdb and postgres run as the `postgres` user (PostgreSQL refuses root).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The postmaster's line once it takes connections.
const READY: &str = "ready to accept connections";
/// The longest a start-up may take before it is a failure.
const START_LIMIT: Duration = Duration::from_secs(30);
/// The longest a fast shutdown may take before the postmaster is killed.
const STOP_LIMIT: Duration = Duration::from_secs(20);

/// A running (or stopped) test server, owned by one test.
pub struct PgServer {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// Root cannot run PostgreSQL: then initdb and postgres run as the `postgres` user.
    as_postgres: bool,
    running: Option<Running>,
}

struct Running {
    /// The postmaster, or `runuser` waiting on it.
    child: Child,
    /// The postmaster's own pid (from `postmaster.pid`): the one process signalled.
    pid: u32,
    log: Arc<Mutex<Vec<String>>>,
    events: Receiver<Event>,
}

enum Event {
    Ready,
    /// stderr closed: every process of the server has exited.
    Closed,
}

impl PgServer {
    /// A fresh cluster with database `outdial`, accepting connections.
    pub fn start() -> Result<PgServer, String> {
        let bin = bin_dir()?;
        let as_postgres = is_root()?;
        let template = template(&bin, as_postgres)?;
        let dir = fresh_dir(as_postgres)?;
        let mut server = PgServer {
            bin,
            dir,
            port: 0,
            as_postgres,
            running: None,
        };
        copy_cluster(&template, &server.dir)?;
        server.spawn_on_a_free_port()?;
        Ok(server)
    }

    /// The libpq connection string of database `outdial`.
    pub fn url(&self) -> String {
        self.url_of("outdial")
    }

    /// The libpq connection string of database `dbname`.
    pub fn url_of(&self, dbname: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user=outdial dbname={dbname} connect_timeout=2",
            self.port
        )
    }

    /// Creates database `dbname` (for a test that wants an empty one) and returns its URL.
    pub fn create_db(&self, dbname: &str) -> Result<String, String> {
        create_database(self.port, dbname)?;
        Ok(self.url_of(dbname))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The data directory (also where the Unix socket lives).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's log so far.
    pub fn log(&self) -> Vec<String> {
        self.running
            .as_ref()
            .map(|r| r.log.lock().map(|l| l.clone()).unwrap_or_default())
            .unwrap_or_default()
    }

    /// Stops the server: a fast shutdown (SIGINT: sessions are ended, unlike SIGTERM's smart
    /// shutdown, which would wait for every client to leave), bounded, then SIGKILL.
    pub fn stop(&mut self) {
        let Some(mut r) = self.running.take() else {
            return;
        };
        signal("INT", r.pid);
        if !wait_closed(&r.events, STOP_LIMIT) {
            signal("KILL", r.pid);
            wait_closed(&r.events, Duration::from_secs(5));
        }
        if let Ok(None) = r.child.try_wait() {
            // Only runuser can be left: it waits on the postmaster, which is gone.
            let _ = r.child.kill();
        }
        let _ = r.child.wait();
    }

    /// Stops the server and starts it again on the same directory and port.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        self.spawn()
    }

    /// Starts the postmaster on a port picked free. The port is not held in between: a
    /// parallel test may take it first, so a postmaster that cannot bind is started again on
    /// another.
    fn spawn_on_a_free_port(&mut self) -> Result<(), String> {
        let mut last = String::new();
        for _ in 0..5 {
            self.port = free_port()?;
            match self.spawn() {
                Ok(()) => return Ok(()),
                Err(e) if e.contains("could not bind") || e.contains("already in use") => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(format!("postgres found no free port: {last}"))
    }

    fn initdb(&self) -> Result<(), String> {
        let initdb = self.bin.join("initdb");
        let dir = self.dir.display().to_string();
        let args = [
            "-D",
            &dir,
            "-U",
            "outdial",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            // 1 MB WAL segments instead of 16: a smaller directory to copy per server.
            "--wal-segsize=1",
        ];
        let out = self
            .command(&initdb, &args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", initdb.display()))?;
        if !out.status.success() {
            return Err(format!(
                "initdb failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(())
    }

    /// Starts the postmaster and waits for it to say it is ready.
    fn spawn(&mut self) -> Result<(), String> {
        let postgres = self.bin.join("postgres");
        let dir = self.dir.display().to_string();
        let port = self.port.to_string();
        let args = [
            "-D",
            &dir,
            "-p",
            &port,
            "-c",
            "listen_addresses=127.0.0.1",
            "-k",
            &dir,
            "-c",
            "max_connections=300",
            "-c",
            "fsync=on",
        ];
        let mut child = self
            .command(&postgres, &args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", postgres.display()))?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, events) = channel();
        let Some(stderr) = child.stderr.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("postgres stderr was not piped".into());
        };
        let lines = Arc::clone(&log);
        // Reads stderr to its end, so the pipe never fills however long the server runs.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains(READY) {
                    let _ = tx.send(Event::Ready);
                }
                if let Ok(mut l) = lines.lock() {
                    l.push(line);
                }
            }
            let _ = tx.send(Event::Closed);
        });
        let failed = |why: &str, child: &mut Child| {
            let lines = log.lock().map(|l| l.clone()).unwrap_or_default();
            let _ = child.kill();
            let _ = child.wait();
            Err(format!(
                "postgres on port {port} {why}; its log:\n{}",
                lines.join("\n")
            ))
        };
        match events.recv_timeout(START_LIMIT) {
            Ok(Event::Ready) => {}
            Ok(Event::Closed) | Err(RecvTimeoutError::Disconnected) => {
                return failed("exited before it was ready", &mut child)
            }
            Err(RecvTimeoutError::Timeout) => {
                // Still starting, maybe under runuser, which a kill would orphan it from:
                // kill it by the pid this run logged (default prefix `%m [%p] `).
                let first = log.lock().ok().and_then(|l| l.first().cloned());
                if let Some(pid) = first.as_deref().and_then(logged_pid) {
                    signal("KILL", pid);
                }
                return failed(&format!("was not ready within {START_LIMIT:?}"), &mut child);
            }
        }
        // postmaster.pid is authoritative; the pid it logged is this run's too.
        let logged = log.lock().ok().and_then(|l| l.first().cloned());
        let pid = match postmaster_pid(&self.dir) {
            Ok(pid) => pid,
            Err(e) => match logged.as_deref().and_then(logged_pid) {
                Some(pid) => pid,
                None => return failed(&e, &mut child),
            },
        };
        self.running = Some(Running {
            child,
            pid,
            log,
            events,
        });
        Ok(())
    }

    /// `program args`, through `runuser -u postgres --` when running as root.
    fn command(&self, program: &Path, args: &[&str]) -> Command {
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program).args(args);
            c
        } else {
            let mut c = Command::new(program);
            c.args(args);
            c
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin`, else the directory of `initdb` on PATH.
fn bin_dir() -> Result<PathBuf, String> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .find(|d| d.join("initdb").exists() && d.join("postgres").exists())
        })
        .ok_or_else(|| {
            "PostgreSQL is required for this test (no /usr/lib/postgresql/*/bin/initdb, no \
             initdb on PATH): apt-get install -y postgresql"
                .to_string()
        })
}

fn is_root() -> Result<bool, String> {
    let out = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| format!("cannot run id -u: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A stopped cluster holding database `outdial`, made once and copied for every server:
/// `initdb` takes seconds, a copy a fraction of that. Cached across runs at
/// `$TMPDIR/outdial-pg<major>-template-v2-<uid>` (delete it to have it made again); made
/// under a temporary name and renamed into place, so a concurrent test process either finds
/// it whole or makes its own.
fn template(bin: &Path, as_postgres: bool) -> Result<PathBuf, String> {
    static MADE: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(t) = made.as_ref() {
        return Ok(t.clone());
    }
    let major = bin
        .parent()
        .and_then(|v| v.file_name())
        .and_then(|v| v.to_str())
        .unwrap_or("local");
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let done = std::env::temp_dir().join(format!("outdial-pg{major}-template-v2-{uid}"));
    if !done.join("PG_VERSION").exists() {
        let mut server = PgServer {
            bin: bin.to_path_buf(),
            dir: fresh_dir(as_postgres)?,
            port: 0,
            as_postgres,
            running: None,
        };
        server.initdb()?;
        server.spawn_on_a_free_port()?;
        create_database(server.port, "outdial")?;
        server.stop();
        // Fails if another process put its template there first: then ours is dropped.
        if std::fs::rename(&server.dir, &done).is_err() && !done.join("PG_VERSION").exists() {
            return Err(format!(
                "cannot move the template cluster {} to {}",
                server.dir.display(),
                done.display()
            ));
        }
    }
    *made = Some(done.clone());
    Ok(done)
}

/// Copies the cluster in `from` into the empty directory `to`, owners and modes kept.
fn copy_cluster(from: &Path, to: &Path) -> Result<(), String> {
    let out = Command::new("cp")
        .arg("-a")
        .arg(from.join("."))
        .arg(to)
        .output()
        .map_err(|e| format!("cannot run cp: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "cp -a {} {} failed: {}",
            from.display(),
            to.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// A new, empty directory under the system temp dir, unique to this server; owned by
/// `postgres` when root runs the tests.
fn fresh_dir(root: bool) -> Result<PathBuf, String> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("outdial-pg-{}-{n}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => {
                // PostgreSQL wants its data directory private to its owner.
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(|e| format!("cannot chmod {}: {e}", dir.display()))?;
                if root {
                    let st = Command::new("chown")
                        .args(["-R", "postgres"])
                        .arg(&dir)
                        .status()
                        .map_err(|e| format!("cannot run chown: {e}"))?;
                    if !st.success() {
                        let _ = std::fs::remove_dir_all(&dir);
                        return Err(format!("chown -R postgres {} failed: {st}", dir.display()));
                    }
                }
                return Ok(dir);
            }
            // Left by an earlier run whose pid this process reuses: take the next number.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
        }
    }
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// The first line of `postmaster.pid`: the postmaster's pid.
fn postmaster_pid(dir: &Path) -> Result<u32, String> {
    let path = dir.join("postmaster.pid");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    text.lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .ok_or_else(|| format!("{} holds no pid: {text:?}", path.display()))
}

/// The pid in a server log line `2024-01-01 00:00:00.000 UTC [1234] LOG:  ...`.
fn logged_pid(line: &str) -> Option<u32> {
    let start = line.find('[')? + 1;
    let len = line[start..].find(']')?;
    line[start..start + len].parse().ok()
}

fn signal(sig: &str, pid: u32) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Waits (bounded) for the server's stderr to close; true if it did.
fn wait_closed(events: &Receiver<Event>, limit: Duration) -> bool {
    loop {
        match events.recv_timeout(limit) {
            Ok(Event::Closed) | Err(RecvTimeoutError::Disconnected) => return true,
            Ok(Event::Ready) => continue,
            Err(RecvTimeoutError::Timeout) => return false,
        }
    }
}

/// `CREATE DATABASE dbname`, from a plain thread (the postgres client must not run inside an
/// async runtime, and the caller may be in one).
fn create_database(port: u16, dbname: &str) -> Result<(), String> {
    let sql = format!("CREATE DATABASE \"{}\"", dbname.replace('"', "\"\""));
    std::thread::spawn(move || {
        let url =
            format!("host=127.0.0.1 port={port} user=outdial dbname=postgres connect_timeout=5");
        let mut client = postgres::Client::connect(&url, postgres::NoTls)
            .map_err(|e| format!("cannot connect to {url}: {e:?}"))?;
        client
            .batch_execute(&sql)
            .map_err(|e| format!("{sql}: {e:?}"))
    })
    .join()
    .map_err(|_| "the create-database thread panicked".to_string())?
}
