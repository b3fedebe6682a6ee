//! Helpers for end-to-end tests of a cluster: one generated cluster file for a deployment
//! (each node its own loopback ports and process, all on one PostgreSQL), nodes started,
//! killed with SIGKILL, stopped with SIGTERM and started again by name; the component table
//! as `outdial status --config` prints it; and, for partitions, a TCP proxy in front of the
//! database and UDP relays in front of a node's heartbeats that the test can cut and heal.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::node::{admin_token, http_auth, parse_json};
use super::{free_udp_port, wall_now, Proc};

const STDERR_TAIL: usize = 300;

/// RTP ports per node: room for ~100 calls at once.
const RTP_BLOCK: u16 = 200;

/// The first port of a fresh RTP block: apart from the single-node tests' defaults
/// (20000-29998), from the other nodes of this test process (the tests of one binary run in
/// parallel) and, by the pid, mostly from other test processes.
fn rtp_block() -> u16 {
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let slot = NEXT.fetch_add(1, Ordering::Relaxed) % 15;
    30_000 + (std::process::id() % 10) as u16 * 3_000 + slot * RTP_BLOCK
}

/// A free TCP port on 127.0.0.1.
pub fn free_tcp_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// One node of the generated cluster file.
pub struct ClusterNode {
    pub name: String,
    pub sip: SocketAddr,
    pub api: SocketAddr,
    pub heartbeat: SocketAddr,
    /// Where the node listens for heartbeats when a relay sits in front of it.
    pub heartbeat_bind: Option<SocketAddr>,
    /// The database URL this node uses (through a proxy for a node a test will cut off).
    pub database: String,
    /// The cluster file's data dir, where the first node to start wrote the admin token.
    pub data_dir: PathBuf,
    proc: Option<Proc>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl ClusterNode {
    pub fn running(&self) -> bool {
        self.proc.is_some()
    }

    pub fn stderr_tail(&self) -> String {
        self.stderr.lock().map(|t| t.join("\n")).unwrap_or_default()
    }

    /// The cluster's admin token (written by the first node that started).
    pub fn token(&self) -> String {
        admin_token(&self.data_dir)
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        http_auth(self.api, &self.token(), "GET", path, None, b"")
    }

    pub fn get_json(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "{} GET {path}: {body}", self.name);
        parse_json(&body)
    }

    pub fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let (status, text) = http_auth(
            self.api,
            &self.token(),
            "POST",
            path,
            Some("application/json"),
            body.to_string().as_bytes(),
        );
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub fn put_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let (status, text) = http_auth(
            self.api,
            &self.token(),
            "PUT",
            path,
            Some("application/json"),
            body.to_string().as_bytes(),
        );
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

/// A deployment: which node masters which zone at the first start.
pub struct Deployment<'a> {
    pub nodes: &'a [(&'a str, &'a [&'a str])],
    /// TOML appended to the file: `[[mpp]]`, `[[agent]]`, `[desktop]` ...
    pub extra: &'a str,
    /// `[cluster]` keys other than `database` (lease and heartbeat settings).
    pub cluster_keys: &'a str,
}

pub struct Cluster {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub nodes: Vec<ClusterNode>,
}

impl Cluster {
    /// Writes the cluster file into `dir` with free ports for every node; `database_of`
    /// gives each node's database URL (the real server's, or a proxy's). Starts no node.
    pub fn write(dir: &Path, d: &Deployment<'_>, database_of: impl Fn(&str) -> String) -> Cluster {
        let zones: Vec<&str> = {
            let mut z: Vec<&str> = Vec::new();
            for (_, zs) in d.nodes {
                for x in *zs {
                    if !z.contains(x) {
                        z.push(x);
                    }
                }
            }
            z
        };
        // The cluster's heartbeat key: 32 random bytes as hex, beside the file that names it.
        write_heartbeat_key(&dir.join("cluster.key"));
        let mut text = format!(
            "[node]\nname = \"unused\"\ndata_dir = \"{}\"\nzones = [{}]\n\n{}\n\n[cluster]\ndatabase = \"{}\"\nheartbeat_key_file = \"cluster.key\"\n{}\n",
            dir.join("unused").display(),
            zones.iter().map(|z| format!("\"{z}\"")).collect::<Vec<_>>().join(", "),
            d.extra,
            database_of(""),
            d.cluster_keys,
        );
        let mut nodes = Vec::new();
        for (name, zs) in d.nodes {
            let sip: SocketAddr = format!("127.0.0.1:{}", free_udp_port())
                .parse()
                .expect("addr");
            let api: SocketAddr = format!("127.0.0.1:{}", free_tcp_port())
                .parse()
                .expect("addr");
            let heartbeat: SocketAddr = format!("127.0.0.1:{}", free_udp_port())
                .parse()
                .expect("addr");
            let rtp = rtp_block();
            text.push_str(&format!(
                "\n[[cluster.node]]\nname = \"{name}\"\nsip = \"{sip}\"\nhttp = \"{api}\"\nheartbeat = \"{heartbeat}\"\nrtp_port_first = {rtp}\nrtp_port_last = {}\nzones = [{}]\n",
                rtp + RTP_BLOCK - 2,
                zs.iter().map(|z| format!("\"{z}\"")).collect::<Vec<_>>().join(", ")
            ));
            nodes.push(ClusterNode {
                name: (*name).to_owned(),
                sip,
                api,
                heartbeat,
                heartbeat_bind: None,
                database: database_of(name),
                data_dir: dir.join("unused"),
                proc: None,
                stderr: Arc::new(Mutex::new(Vec::new())),
            });
        }
        let config = dir.join("cluster.toml");
        std::fs::write(&config, &text).expect("write the cluster file");
        Cluster {
            dir: dir.to_path_buf(),
            config,
            nodes,
        }
    }

    /// Puts a relay in front of `name`'s heartbeats: peers keep sending to its advertised
    /// address, which the returned relay forwards to where the node now listens. Call before
    /// starting the node.
    pub fn relay_heartbeats(&mut self, name: &str) -> UdpRelay {
        let bind: SocketAddr = format!("127.0.0.1:{}", free_udp_port())
            .parse()
            .expect("addr");
        let advertised = self.node(name).heartbeat;
        let text = std::fs::read_to_string(&self.config).expect("read the cluster file");
        let text = text.replace(
            &format!("heartbeat = \"{advertised}\"\n"),
            &format!("heartbeat = \"{advertised}\"\nheartbeat_bind = \"{bind}\"\n"),
        );
        std::fs::write(&self.config, text).expect("write the cluster file");
        self.node_mut(name).heartbeat_bind = Some(bind);
        UdpRelay::start(advertised, bind)
    }

    pub fn node(&self, name: &str) -> &ClusterNode {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }

    fn node_mut(&mut self, name: &str) -> &mut ClusterNode {
        self.nodes
            .iter_mut()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }

    /// Every node's API (`host:port`), in the file's order.
    pub fn apis(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.api.to_string()).collect()
    }

    /// Starts `outdial run --config <file> --node <name>` and waits for its ready line.
    pub fn start(&mut self, name: &str) {
        let config = self.config.clone();
        let n = self.node_mut(name);
        assert!(n.proc.is_none(), "node {name} is already running");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_outdial"));
        cmd.arg("run")
            .arg("--config")
            .arg(&config)
            .arg("--node")
            .arg(name)
            .env("OUTDIAL_DATABASE", &n.database)
            .env(
                "RUST_LOG",
                "warn,outdial_node::cluster=info,outdial_node::actors::supervisor=info",
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start outdial run --node {name}: {e}"));
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        let tail = Arc::clone(&n.stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains(" running: SIP ") {
                    let _ = tx.send(());
                }
                if let Ok(mut t) = tail.lock() {
                    if t.len() >= STDERR_TAIL {
                        t.remove(0);
                    }
                    t.push(line);
                }
            }
        });
        n.proc = Some(Proc {
            child,
            name: format!("outdial run --node {name}"),
        });
        if rx.recv_timeout(Duration::from_secs(30)).is_err() {
            panic!(
                "node {name} did not print its ready line within 30 s; stderr:\n{}",
                n.stderr_tail()
            );
        }
    }

    /// SIGKILL of the node's process (by its pid), reaped.
    pub fn kill9(&mut self, name: &str) {
        if let Some(mut p) = self.node_mut(name).proc.take() {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }

    /// SIGTERM (a graceful stop), waiting for the process to exit.
    pub fn stop(&mut self, name: &str) -> Option<std::process::ExitStatus> {
        let p = self.node_mut(name).proc.take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(p.pid().to_string())
            .status();
        let mut p = p;
        p.wait_exit(Duration::from_secs(15))
    }

    /// The component table `outdial status --config` prints, as rows of cells (header first).
    pub fn status_table(&self) -> Vec<Vec<String>> {
        let out = Command::new(env!("CARGO_BIN_EXE_outdial"))
            .arg("status")
            .arg("--config")
            .arg(&self.config)
            .output()
            .expect("run outdial status");
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .take_while(|l| l.starts_with('|'))
            .filter(|l| !l.starts_with("| -"))
            .map(|l| {
                l.trim_matches('|')
                    .split('|')
                    .map(|c| c.trim().to_owned())
                    .collect()
            })
            .collect()
    }

    /// Waits (bounded) until the status table's rows named in `expected` read as given, one
    /// cell per node in the file's order; returns the table.
    pub fn wait_table(&self, expected: &[(&str, &[&str])], limit: Duration) -> Vec<Vec<String>> {
        let deadline = wall_now() + limit;
        loop {
            let table = self.status_table();
            let rows: HashMap<&str, &Vec<String>> =
                table.iter().map(|r| (r[0].as_str(), r)).collect();
            let ok = expected.iter().all(|(row, cells)| {
                rows.get(row).is_some_and(|r| {
                    r.len() == cells.len() + 1 && r[1..].iter().zip(*cells).all(|(a, b)| a == b)
                })
            });
            let names: Vec<&str> = std::iter::once("Component")
                .chain(self.nodes.iter().map(|n| n.name.as_str()))
                .collect();
            if ok && table.first().is_some_and(|h| *h == names) {
                return table;
            }
            if wall_now() >= deadline {
                let tails: String = self
                    .nodes
                    .iter()
                    .map(|n| format!("\n--- {} ---\n{}", n.name, n.stderr_tail()))
                    .collect();
                panic!(
                    "the status table never read {expected:?}; last:\n{}\n{tails}",
                    table
                        .iter()
                        .map(|r| r.join(" | "))
                        .collect::<Vec<_>>()
                        .join("\n")
                );
            }
            super::node::pause(Duration::from_millis(50));
        }
    }

    /// Waits (bounded) until `pred` holds for `name`'s `GET /v1/node`; returns it.
    pub fn wait_node(
        &self,
        name: &str,
        what: &str,
        limit: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = wall_now() + limit;
        loop {
            let (status, body) = self.node(name).get("/v1/node");
            if status == 200 {
                let v = parse_json(&body);
                if pred(&v) {
                    return v;
                }
            }
            assert!(
                wall_now() < deadline,
                "{name}: never {what} within {limit:?}; last: {body}\n{}",
                self.node(name).stderr_tail()
            );
            super::node::pause(Duration::from_millis(20));
        }
    }
}

/// A zone's entry in a node's status, if the node masters it.
pub fn zone_status<'a>(status: &'a Value, zone: &str) -> Option<&'a Value> {
    status["zones"]
        .as_array()?
        .iter()
        .find(|z| z["zone"] == zone)
}

/// When `zone`'s dialing resumed on the node whose status this is (unix ms).
pub fn dialing_resumed_at(status: &Value, zone: &str) -> Option<u64> {
    zone_status(status, zone)?["acquired"]["dialing_resumed_at_ms"].as_u64()
}

/// A TCP proxy the test can cut: while cut, open connections are closed and new ones are
/// accepted and closed at once (the database "unreachable" without timeouts).
pub struct TcpProxy {
    pub addr: SocketAddr,
    cut: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl TcpProxy {
    pub fn start(upstream: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let cut = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::new(Mutex::new(Vec::new()));
        let (c, k) = (Arc::clone(&cut), Arc::clone(&conns));
        std::thread::spawn(move || {
            for down in listener.incoming().map_while(Result::ok) {
                if c.load(Ordering::Acquire) {
                    let _ = down.shutdown(std::net::Shutdown::Both);
                    continue;
                }
                let Ok(up) = TcpStream::connect(upstream) else {
                    continue;
                };
                for s in [&down, &up] {
                    if let (Ok(a), Ok(mut l)) = (s.try_clone(), k.lock()) {
                        l.push(a);
                    }
                }
                pipe(&down, &up);
                pipe(&up, &down);
            }
        });
        TcpProxy { addr, cut, conns }
    }

    /// Cuts the path: every open connection is shut down, new ones are refused.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::Release);
        if let Ok(mut l) = self.conns.lock() {
            for s in l.drain(..) {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
        }
    }

    pub fn heal(&self) {
        self.cut.store(false, Ordering::Release);
    }
}

fn pipe(from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Both);
    });
}

/// Writes a fresh heartbeat key (64 hex digits from /dev/urandom) to `path`.
pub fn write_heartbeat_key(path: &Path) {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .expect("read /dev/urandom");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(path, hex + "\n").expect("write the heartbeat key");
}

/// A one-way UDP relay: datagrams to `listen` go on to `to`, unless cut.
pub struct UdpRelay {
    cut: Arc<AtomicBool>,
}

impl UdpRelay {
    pub fn start(listen: SocketAddr, to: SocketAddr) -> UdpRelay {
        let s = UdpSocket::bind(listen).expect("bind the relay");
        let cut = Arc::new(AtomicBool::new(false));
        let c = Arc::clone(&cut);
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            let out = UdpSocket::bind("127.0.0.1:0").expect("relay out socket");
            while let Ok(n) = s.recv(&mut buf) {
                if !c.load(Ordering::Acquire) {
                    let _ = out.send_to(&buf[..n], to);
                }
            }
        });
        UdpRelay { cut }
    }

    pub fn cut(&self) {
        self.cut.store(true, Ordering::Release);
    }

    pub fn heal(&self) {
        self.cut.store(false, Ordering::Release);
    }
}

/// INVITE dialogs SIPp received, from its `-message_file` log: Call-ID → the Via branches of
/// its INVITE transactions (more than one means the dial was sent twice).
pub fn sipp_invites(log: &Path) -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(log)
        .unwrap_or_else(|e| panic!("cannot read SIPp's message log {}: {e}", log.display()));
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for block in text.split("message received") {
        let mut lines = block
            .lines()
            .skip_while(|l| !l.starts_with("INVITE ") && !l.contains(" SIP/2.0"));
        let Some(first) = lines.next() else { continue };
        if !first.starts_with("INVITE ") {
            continue;
        }
        let mut call_id = None;
        let mut branch = None;
        let mut to_tagged = false;
        for l in lines {
            if l.trim().is_empty() {
                break;
            }
            let (name, value) = l.split_once(':').unwrap_or((l, ""));
            match name.trim().to_ascii_lowercase().as_str() {
                "call-id" | "i" => call_id = Some(value.trim().to_owned()),
                "via" | "v" if branch.is_none() => {
                    branch = value
                        .split(';')
                        .find_map(|p| p.trim().strip_prefix("branch="))
                        .map(str::to_owned);
                }
                "to" | "t" => to_tagged = value.contains(";tag="),
                _ => {}
            }
        }
        if let (Some(c), Some(b), false) = (call_id, branch, to_tagged) {
            let v = out.entry(c).or_default();
            if !v.contains(&b) {
                v.push(b);
            }
        }
    }
    out
}

/// The node name hash a Call-ID carries (sip/src/ids.rs: `{id:x}-{fnv1a(name):08x}@ip`), so a
/// Call-ID tells which node sent it.
pub fn call_id_parts(call_id: &str) -> (u64, String) {
    let (id, rest) = call_id
        .split_once('-')
        .unwrap_or_else(|| panic!("Call-ID {call_id:?} has no id part"));
    let id = u64::from_str_radix(id, 16)
        .unwrap_or_else(|e| panic!("Call-ID {call_id:?}: id part is not hex: {e}"));
    // The node's hash ends at the dot; the random part follows it.
    let hash = rest.split('.').next().unwrap_or_default().to_owned();
    (id, hash)
}

/// `fnv1a(name)` as the Call-ID prints it.
pub fn node_hash(name: &str) -> String {
    let h = name.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("{h:08x}")
}
