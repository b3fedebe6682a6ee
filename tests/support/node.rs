//! Helpers for end-to-end tests of the dialer engine: start `outdial run` on a generated
//! config in a fresh data dir, drive its HTTP API (a tiny HTTP/1.1 client over `TcpStream`)
//! with the admin token the node's first start wrote to its data dir, kill it with SIGKILL
//! and start it again on the same data, and check what it recorded.

use std::io::{BufRead, BufReader, Read, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::{free_udp_port, Proc};

/// Stderr lines kept per node process for failure messages.
const STDERR_TAIL: usize = 200;

/// A media server entry of the generated config.
#[derive(Debug, Clone)]
pub struct MppConf {
    pub name: String,
    pub address: SocketAddr,
    pub capacity: u32,
    pub options_interval_ms: u64,
}

impl MppConf {
    /// One MPP at `address`, capacity 1000, probed every `options_interval_ms`.
    pub fn new(name: &str, address: SocketAddr, options_interval_ms: u64) -> Self {
        Self {
            name: name.into(),
            address,
            capacity: 1000,
            options_interval_ms,
        }
    }
}

/// What a generated node config and its process get beyond the defaults.
#[derive(Debug, Clone, Copy)]
pub struct NodeOpts<'a> {
    /// Keys added to `[node]` (`media_dir = ...`, `log_phone_numbers = true`).
    pub node_keys: &'a str,
    /// TOML appended to the file (`[desktop]`, `[[agent]]`, `[http]` ...).
    pub extra: &'a str,
    /// The node's `RUST_LOG`.
    pub log: &'a str,
}

impl Default for NodeOpts<'_> {
    fn default() -> Self {
        NodeOpts {
            node_keys: "",
            extra: "",
            log: "warn",
        }
    }
}

/// A running `outdial run` and everything needed to start it again on the same data.
pub struct Node {
    pub name: String,
    pub config: PathBuf,
    pub data_dir: PathBuf,
    pub sip: SocketAddr,
    pub api: SocketAddr,
    /// The admin token the first start wrote (`<data_dir>/admin.token`).
    pub token: String,
    log: String,
    proc: Option<Proc>,
    stderr: Arc<Mutex<Vec<String>>>,
}

/// `extra` TOML without its `[http]` section, and that section's keys.
fn split_http(extra: &str) -> (String, String) {
    let mut http = String::new();
    let mut rest = String::new();
    let mut in_http = false;
    for line in extra.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_http = t == "[http]";
            if in_http {
                continue;
            }
        }
        let out = if in_http { &mut http } else { &mut rest };
        out.push_str(line);
        out.push('\n');
    }
    (http, rest)
}

/// The first line of a node's `admin.token` in `data_dir`.
pub fn admin_token(data_dir: &Path) -> String {
    let path = data_dir.join("admin.token");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the node wrote no admin token at {}: {e}", path.display()));
    text.lines().next().unwrap_or_default().trim().to_owned()
}

impl Node {
    /// Writes `<dir>/<name>.toml` (data in `<dir>/<name>-data`, SIP on a free loopback port,
    /// HTTP on port 0) and starts the node on it.
    pub fn start(dir: &Path, name: &str, mpps: &[MppConf]) -> Node {
        Self::start_with(dir, name, mpps, "")
    }

    /// As [`Node::start`], with `extra` TOML appended (`[desktop]`, `[[agent]]` ...).
    pub fn start_with(dir: &Path, name: &str, mpps: &[MppConf], extra: &str) -> Node {
        Self::start_opts(
            dir,
            name,
            mpps,
            NodeOpts {
                extra,
                ..NodeOpts::default()
            },
        )
    }

    /// As [`Node::start`], with `opts`. An `[http]` section in `opts.extra` is merged with the
    /// generated one (its `bind`).
    pub fn start_opts(dir: &Path, name: &str, mpps: &[MppConf], opts: NodeOpts<'_>) -> Node {
        let sip: SocketAddr = format!("127.0.0.1:{}", free_udp_port())
            .parse()
            .expect("addr");
        let data_dir = dir.join(format!("{name}-data"));
        let (http_keys, extra) = split_http(opts.extra);
        let mut cfg = format!(
            "[node]\nname = \"{name}\"\ndata_dir = \"{}\"\nzones = [\"default\"]\n{}\n\
             [sip]\nbind = \"{sip}\"\n\n[http]\nbind = \"127.0.0.1:0\"\n{http_keys}\n",
            data_dir.display(),
            opts.node_keys,
        );
        for m in mpps {
            cfg.push_str(&format!(
                "\n[[mpp]]\nname = \"{}\"\naddress = \"{}\"\ncapacity = {}\noptions_interval_ms = {}\n",
                m.name, m.address, m.capacity, m.options_interval_ms
            ));
        }
        cfg.push('\n');
        cfg.push_str(&extra);
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(&config, cfg).expect("write the node config");
        let mut node = Node {
            name: name.into(),
            config,
            data_dir,
            sip,
            api: "127.0.0.1:0".parse().expect("addr"),
            token: String::new(),
            log: opts.log.to_owned(),
            proc: None,
            stderr: Arc::new(Mutex::new(Vec::new())),
        };
        node.launch();
        node
    }

    /// Starts `outdial run --config` and waits for its ready line (bounded), taking the API
    /// address from it.
    fn launch(&mut self) {
        assert!(self.proc.is_none(), "node {} is already running", self.name);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_outdial"));
        cmd.arg("run")
            .arg("--config")
            .arg(&self.config)
            .env("RUST_LOG", &self.log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start outdial run: {e}"));
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        let tail = Arc::clone(&self.stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains(" running: SIP ") && line.contains(" API http") {
                    let _ = tx.send(line.clone());
                }
                if let Ok(mut t) = tail.lock() {
                    if t.len() >= STDERR_TAIL {
                        t.remove(0);
                    }
                    t.push(line);
                }
            }
        });
        let proc = Proc {
            child,
            name: format!("outdial run {}", self.name),
        };
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| {
                panic!(
                    "node {} did not print its ready line within 20 s; stderr:\n{}",
                    self.name,
                    self.stderr_tail()
                )
            });
        let api = line
            .rsplit_once("://")
            .map(|(_, a)| a.trim())
            .and_then(|a| a.parse::<SocketAddr>().ok())
            .unwrap_or_else(|| panic!("no API address in the ready line {line:?}"));
        self.api = api;
        self.token = admin_token(&self.data_dir);
        self.proc = Some(proc);
    }

    /// Starts a new `outdial run` on the same config and data dir (the old one must be gone).
    pub fn restart(&mut self) {
        if let Some(mut p) = self.proc.take() {
            assert!(
                matches!(p.child.try_wait(), Ok(Some(_))),
                "restart() needs the old process of {} gone; kill9() it first",
                self.name
            );
        }
        self.launch();
    }

    /// SIGKILL (`Child::kill`) of the node process, by its pid, and reaps it.
    pub fn kill9(&mut self) {
        if let Some(mut p) = self.proc.take() {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }

    /// Stops the node as an operator would (SIGTERM, by its pid) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(p) = self.proc.take() {
            drop(p.terminate());
        }
    }

    /// The node process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.proc.as_ref().map(Proc::pid)
    }

    /// The node's resident memory now and at its peak (VmRSS, VmHWM), KiB.
    pub fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!(
            "/proc/{}/status",
            self.pid()
                .unwrap_or_else(|| panic!("node {} is not running", self.name))
        ))
        .unwrap_or_else(|e| panic!("cannot read the node's /proc status: {e}"));
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {name} in /proc status"))
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Whether the node process is still running.
    pub fn alive(&mut self) -> bool {
        self.proc
            .as_mut()
            .is_some_and(|p| matches!(p.child.try_wait(), Ok(None)))
    }

    /// The last lines the node wrote on stderr (for failure messages).
    pub fn stderr_tail(&self) -> String {
        self.stderr.lock().map(|t| t.join("\n")).unwrap_or_default()
    }

    /// The start of every Call-ID this node writes for `attempt` (sip/src/ids.rs: the
    /// attempt in hex, FNV-1a of the node's name, then a dot; random digits and `@host` follow).
    pub fn call_id_prefix(&self, attempt: u64) -> String {
        format!("{attempt:x}-{:08x}.", fnv1a(self.name.as_bytes()))
    }

    // --- API ---------------------------------------------------------------------------------

    pub fn get(&self, path: &str) -> (u16, String) {
        http_auth(self.api, &self.token, "GET", path, None, b"")
    }

    pub fn post(&self, path: &str, content_type: Option<&str>, body: &[u8]) -> (u16, String) {
        http_auth(self.api, &self.token, "POST", path, content_type, body)
    }

    /// A counter or gauge without labels from the node's `/metrics`.
    pub fn metric(&self, name: &str) -> u64 {
        let (_, text) = self.get("/metrics");
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} not in /metrics: {text}"))
    }

    /// Adds a user of the API and the pages (as the node's admin).
    pub fn add_user(&self, name: &str, role: &str, password: &str) {
        let body = serde_json::json!({"name": name, "role": role, "password": password});
        let (status, reply) = self.post(
            "/v1/users",
            Some("application/json"),
            body.to_string().as_bytes(),
        );
        assert_eq!(status, 201, "adding user {name}: {reply}");
    }

    /// Any request, as the node's admin.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> (u16, String) {
        http_auth(self.api, &self.token, method, path, content_type, body)
    }

    /// A token of `role` made through the API (`POST /v1/tokens`).
    pub fn token_for(&self, role: &str) -> String {
        let (status, body) = self.post(
            "/v1/tokens",
            Some("application/json"),
            format!("{{\"role\": \"{role}\", \"name\": \"test-{role}\"}}").as_bytes(),
        );
        assert_eq!(status, 201, "token for {role}: {body}");
        parse_json(&body)["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token in {body}"))
            .to_owned()
    }

    /// GET `path`, expecting 200 and JSON.
    pub fn get_json(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        parse_json(&body)
    }

    /// POST /v1/campaigns; returns (campaign id, job id).
    pub fn create_campaign(&self, spec: &Value) -> (u64, u64) {
        let (status, body) = self.post(
            "/v1/campaigns",
            Some("application/json"),
            spec.to_string().as_bytes(),
        );
        assert_eq!(status, 201, "create campaign: {body}");
        let v = parse_json(&body);
        let id = |k: &str| {
            v[k].as_u64()
                .unwrap_or_else(|| panic!("no {k} id in {body}"))
        };
        (id("campaign"), id("job"))
    }

    /// POST the CSV to the job's contacts, expecting 200; returns the import report.
    pub fn upload_csv(&self, job: u64, csv: &str) -> Value {
        let path = format!("/v1/jobs/{job}/contacts");
        let (status, body) = self.post(&path, Some("text/csv"), csv.as_bytes());
        assert_eq!(status, 200, "POST {path}: {body}");
        parse_json(&body)
    }

    /// POST /v1/jobs/{job}/{action}, expecting 200.
    pub fn job_action(&self, job: u64, action: &str) -> Value {
        let path = format!("/v1/jobs/{job}/{action}");
        let (status, body) = self.post(&path, None, b"");
        assert_eq!(status, 200, "POST {path}: {body}");
        parse_json(&body)
    }

    pub fn start_job(&self, job: u64) -> Value {
        self.job_action(job, "start")
    }

    /// GET /v1/jobs/{job}.
    pub fn job(&self, job: u64) -> Value {
        self.get_json(&format!("/v1/jobs/{job}"))
    }

    /// Polls the job every 150 ms until it is finished or stopped; panics past `limit`.
    pub fn wait_job_over(&self, job: u64, limit: Duration) -> Value {
        let deadline = wall_now() + limit;
        loop {
            let v = self.job(job);
            if matches!(v["job"]["state"].as_str(), Some("finished" | "stopped")) {
                return v;
            }
            assert!(
                wall_now() < deadline,
                "job {job} not over within {limit:?}: {v}\nnode stderr:\n{}",
                self.stderr_tail()
            );
            pause(Duration::from_millis(150));
        }
    }

    /// Polls GET /v1/agents until `n` agents satisfy `pred` (bounded).
    pub fn wait_agents(&self, n: usize, limit: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = wall_now() + limit;
        loop {
            let v = self.get_json("/v1/agents");
            let ok = v
                .as_array()
                .map_or(0, |a| a.iter().filter(|x| pred(x)).count());
            if ok >= n {
                return v;
            }
            assert!(
                wall_now() < deadline,
                "{n} agents not as expected within {limit:?}: {v}\nnode stderr:\n{}",
                self.stderr_tail()
            );
            pause(Duration::from_millis(50));
        }
    }

    /// Polls GET /v1/jobs/{job} every 100 ms until `cond` holds on it; panics past `limit`.
    pub fn wait_job(
        &self,
        job: u64,
        limit: Duration,
        what: &str,
        cond: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = wall_now() + limit;
        loop {
            let v = self.job(job);
            if cond(&v) {
                return v;
            }
            assert!(
                wall_now() < deadline,
                "job {job}: {what} not within {limit:?}: {v}"
            );
            pause(Duration::from_millis(100));
        }
    }

    /// GET /v1/jobs/{job}/attempts, decoded.
    pub fn attempts(&self, job: u64) -> Vec<AttemptView> {
        let v = self.get_json(&format!("/v1/jobs/{job}/attempts"));
        let list = v
            .as_array()
            .unwrap_or_else(|| panic!("attempts are not a list: {v}"));
        list.iter().map(AttemptView::from_json).collect()
    }
}

pub use super::wall_now;

/// Waits `d` on a channel nobody sends on: the bounded pause between two polls.
/// Wall-clock Unix ms (callback times are wall-clock).
#[allow(clippy::disallowed_methods)]
pub fn unix_ms_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub fn pause(d: Duration) {
    let (_tx, rx) = mpsc::channel::<()>();
    let _ = rx.recv_timeout(d);
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

pub fn parse_json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"))
}

/// One HTTP/1.1 request without credentials; see [`http_with`].
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, String) {
    http_with(addr, &[], method, path, content_type, body)
}

/// One HTTP/1.1 request with `Authorization: Bearer token`.
pub fn http_auth(
    addr: SocketAddr,
    token: &str,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, String) {
    let auth = format!("Bearer {token}");
    http_with(
        addr,
        &[("Authorization", &auth)],
        method,
        path,
        content_type,
        body,
    )
}

/// One HTTP/1.1 request with `Connection: close` and extra `headers`; returns (status, body).
/// Understands Content-Length, chunked and read-to-close bodies.
pub fn http_with(
    addr: SocketAddr,
    headers: &[(&str, &str)],
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect to the API at {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    s.set_write_timeout(Some(Duration::from_secs(30)))
        .expect("write timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).expect("send the request head");
    s.write_all(body).expect("send the request body");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("{method} {path}: reading the response: {e}"));
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| {
            panic!(
                "{method} {path}: no header end in {:?}",
                String::from_utf8_lossy(&raw)
            )
        });
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut rest = raw[split + 4..].to_vec();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: bad status line in {head:?}"));
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        rest = dechunk(&rest);
    } else if let Some(n) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        rest.truncate(n);
    }
    (status, String::from_utf8_lossy(&rest).into_owned())
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&b[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok())
            .unwrap_or(0);
        b = &b[eol + 2..];
        if size == 0 || b.len() < size {
            break;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[(size + 2).min(b.len())..];
    }
    out
}

// --- contacts and campaigns ------------------------------------------------------------------

/// The phone of generated contact `i`: +1212555xxxx, distinct for i < 10000.
pub fn phone(i: usize) -> String {
    assert!(i < 10_000, "only 10000 distinct generated phones");
    format!("+1212555{i:04}")
}

/// A contact list of `n` distinct E.164 numbers: `phone,name`.
pub fn contacts_csv(n: usize) -> String {
    let mut s = String::from("phone,name\n");
    for i in 0..n {
        s.push_str(&format!("{},contact {i}\n", phone(i)));
    }
    s
}

/// An agentless load-test campaign open all day, with `retry` as its retry overrides:
/// `(code, delay_s, max_attempts)`.
pub fn agentless_campaign(
    name: &str,
    rate_cps: f64,
    max_concurrent: u32,
    ring_timeout_ms: u64,
    retry: &[(&str, u64, u32)],
) -> Value {
    let mut table = serde_json::Map::new();
    for (code, delay_s, max_attempts) in retry {
        table.insert(
            (*code).to_owned(),
            serde_json::json!({ "delay_s": delay_s, "max_attempts": max_attempts }),
        );
    }
    serde_json::json!({
        "name": name,
        "mode": "agentless",
        "load_test": true,
        "test_ranges": ["+1212555"],
        "ring_timeout_ms": ring_timeout_ms,
        "agentless": { "rate_cps": rate_cps, "max_concurrent": max_concurrent },
        "calling_hours": { "start": "00:00", "end": "00:00", "default_tz": "UTC" },
        "retry": table,
    })
}

// The attempts as the API shows them, and the checks over them.
pub use super::attempts::*;
