//! The resolved config: durations and addresses, checked against their bounds, every problem
//! named; and how a cluster file resolves for one of its nodes.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::file::*;
use super::net::IpNet;
use super::resolved_access::*;

/// A media server as the engine uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mpp {
    pub name: String,
    pub address: SocketAddr,
    pub capacity: u32,
    pub options_interval: Duration,
    pub down_after_missed: u32,
    /// The trunk its calls go through.
    pub trunk: Option<std::sync::Arc<super::Trunk>>,
}

/// The resolved node configuration.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Present for a node of a cluster: storage is then the shared PostgreSQL database.
    pub cluster: Option<crate::cluster::ClusterSettings>,
    pub name: String,
    pub data_dir: PathBuf,
    pub zones: Vec<String>,
    pub log_phone_numbers: bool,
    pub dnc_file: Option<PathBuf>,
    pub sip_bind: SocketAddr,
    pub t1: Duration,
    pub socket_buffer_bytes: usize,
    /// Per-source limits on requests from outside (`[sip] guard_*`).
    pub sip_guard: sip::GuardConfig,
    pub rtp_ip: IpAddr,
    pub rtp_ports: (u16, u16),
    pub http_bind: SocketAddr,
    pub mpps: Vec<Mpp>,
    pub trunks: Vec<std::sync::Arc<super::Trunk>>,
    pub max_batch_writes: usize,
    pub desktop: DesktopSettings,
    /// Agents the config lets log in (stored users with the agent role may too).
    pub agents: Vec<crate::auth::AgentAccount>,
    /// Fault injection, if `[chaos] enabled`.
    pub chaos: Option<ChaosSettings>,
    /// TLS, names, origins, body and connection limits of the HTTP API.
    pub http: HttpSettings,
    /// Login throttling and browser sessions.
    pub access: crate::auth::AccessSettings,
    /// Limits on contact lists.
    pub import: crate::import::ImportLimits,
    /// Networks agents' phones may be in.
    pub phone_networks: Vec<IpNet>,
    /// The directory campaign prompts are read from, if any.
    pub media_dir: Option<PathBuf>,
}

/// Resolved `[desktop]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DesktopSettings {
    pub heartbeat: Duration,
    pub missed_heartbeats: u32,
    pub session: outdial_core::agent::AgentConfig,
    /// Desktop WebSockets at once, in all and per source address.
    pub max_connections: u32,
    pub max_connections_per_source: u32,
    /// Largest frame and message a desktop may send, bytes.
    pub max_message_bytes: usize,
    /// Time a new connection has to log in.
    pub login_timeout: Duration,
}

impl Default for DesktopSettings {
    fn default() -> Self {
        DesktopSection::default().resolve()
    }
}

impl DesktopSection {
    fn resolve(&self) -> DesktopSettings {
        DesktopSettings {
            heartbeat: Duration::from_millis(self.heartbeat_ms),
            missed_heartbeats: self.missed_heartbeats,
            session: outdial_core::agent::AgentConfig {
                wrapup_timeout: Duration::from_millis(self.wrapup_timeout_ms),
                renail_delay: Duration::from_millis(self.renail_delay_ms),
                max_nail_failures: self.max_nail_failures,
                state_check_timeout: Duration::from_millis(self.state_check_timeout_ms),
            },
            max_connections: self.max_connections,
            max_connections_per_source: self.max_connections_per_source,
            max_message_bytes: self.max_message_bytes as usize,
            login_timeout: Duration::from_millis(self.login_timeout_ms),
        }
    }
}

/// Why a configuration was refused; every problem at once, each with its key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: String,
        source: toml::de::Error,
    },
    #[error("{path}: {}", problems.join("; "))]
    Invalid { path: String, problems: Vec<String> },
}

impl NodeConfigFile {
    pub fn load(path: &std::path::Path) -> Result<NodeConfig, ConfigError> {
        Self::load_node(path, None)
    }

    /// Loads the config; for a cluster file, as the node named `node` (required there).
    pub fn load_node(
        path: &std::path::Path,
        node: Option<&str>,
    ) -> Result<NodeConfig, ConfigError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: p.clone(),
            source,
        })?;
        Self::parse(&text, &p)?.as_node(node, &p)?.resolve(&p)
    }

    /// A cluster file seen by one of its nodes: that node's name and addresses replace
    /// `[node]`, `[sip]`, `[http]` and `[rtp]`'s ports, and `[node] zones` is every zone of the
    /// cluster (a node can be given any of them). Without `[cluster]`, `node` must be absent
    /// or the file's own node name.
    pub fn as_node(mut self, node: Option<&str>, path: &str) -> Result<Self, ConfigError> {
        let invalid = |why: String| ConfigError::Invalid {
            path: path.into(),
            problems: vec![why],
        };
        let Some(cluster) = self.cluster.as_mut() else {
            return match node {
                Some(n) if n != self.node.name => Err(invalid(format!(
                    "--node {n}: this file has no [cluster]; its node is {}",
                    self.node.name
                ))),
                _ => Ok(self),
            };
        };
        if let Ok(url) = std::env::var("OUTDIAL_DATABASE") {
            cluster.database = url;
        }
        let names: Vec<&str> = cluster.nodes.iter().map(|n| n.name.as_str()).collect();
        let Some(name) = node else {
            return Err(invalid(format!(
                "this is a cluster file: pick a node with --node ({})",
                names.join(", ")
            )));
        };
        let Some(me) = cluster.nodes.iter().find(|n| n.name == name).cloned() else {
            return Err(invalid(format!(
                "--node {name}: not a [[cluster.node]] of this file ({})",
                names.join(", ")
            )));
        };
        self.node.name = me.name;
        self.sip.bind = me.sip;
        self.http.bind = me.http;
        self.rtp.port_first = me.rtp_port_first;
        self.rtp.port_last = me.rtp_port_last;
        let mut zones = self.node.zones.clone();
        for n in &cluster.nodes {
            for z in &n.zones {
                if !zones.contains(z) {
                    zones.push(z.clone());
                }
            }
        }
        self.node.zones = zones;
        Ok(self)
    }

    pub fn parse(text: &str, path: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.into(),
            source,
        })
    }

    /// Validates bounds and resolves units.
    pub fn resolve(self, path: &str) -> Result<NodeConfig, ConfigError> {
        let mut problems = Vec::new();
        if self.node.name.is_empty()
            || !self
                .node
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            problems.push("node.name: letters, digits, '-' and '_' only, not empty".to_owned());
        }
        if self.node.zones.is_empty() {
            problems.push("node.zones: at least one zone".to_owned());
        }
        if !(1..=10_000).contains(&self.sip.t1_ms) {
            problems.push(format!(
                "sip.t1_ms: {} is outside 1..=10000",
                self.sip.t1_ms
            ));
        }
        if !(64 << 10..=64 << 20).contains(&self.sip.socket_buffer_bytes) {
            problems.push("sip.socket_buffer_bytes: must be 64 KiB..=64 MiB".to_owned());
        }
        let g = &self.sip;
        for (key, value, ok) in [
            (
                "guard_requests_per_window",
                u64::from(g.guard_requests_per_window),
                (1..=100_000),
            ),
            ("guard_window_ms", g.guard_window_ms, (100..=60_000)),
            ("guard_ban_ms", g.guard_ban_ms, (0..=3_600_000)),
            ("guard_sources", g.guard_sources as u64, (64..=1 << 20)),
        ] {
            if !ok.contains(&value) {
                problems.push(format!(
                    "sip.{key}: {value} is outside {}..={}",
                    ok.start(),
                    ok.end()
                ));
            }
        }
        if !self.rtp.port_first.is_multiple_of(2)
            || self.rtp.port_first == 0
            || self.rtp.port_first >= self.rtp.port_last
        {
            problems
                .push("rtp.port_first: must be even, non-zero and below rtp.port_last".to_owned());
        }
        if self.mpps.is_empty() {
            problems.push("mpp: at least one [[mpp]] (where calls go)".to_owned());
        }
        for (i, m) in self.mpps.iter().enumerate() {
            if !(1..=100_000).contains(&m.capacity) {
                problems.push(format!(
                    "mpp[{i}].capacity: {} is outside 1..=100000",
                    m.capacity
                ));
            }
            if !(100..=600_000).contains(&m.options_interval_ms) {
                problems.push(format!(
                    "mpp[{i}].options_interval_ms: {} is outside 100..=600000",
                    m.options_interval_ms
                ));
            }
            if !(1..=100).contains(&m.down_after_missed) {
                problems.push(format!(
                    "mpp[{i}].down_after_missed: {} is outside 1..=100",
                    m.down_after_missed
                ));
            }
        }
        let trunks = resolve_trunks(&self.trunks, &self.mpps, &mut problems);
        if !(1..=100_000).contains(&self.storage.max_batch_writes) {
            problems.push("storage.max_batch_writes: must be 1..=100000".to_owned());
        }
        let d = &self.desktop;
        for (key, v, lo, hi) in [
            ("desktop.heartbeat_ms", d.heartbeat_ms, 100, 60_000),
            (
                "desktop.missed_heartbeats",
                u64::from(d.missed_heartbeats),
                1,
                20,
            ),
            (
                "desktop.wrapup_timeout_ms",
                d.wrapup_timeout_ms,
                1000,
                3_600_000,
            ),
            ("desktop.renail_delay_ms", d.renail_delay_ms, 100, 600_000),
            (
                "desktop.max_nail_failures",
                u64::from(d.max_nail_failures),
                1,
                100,
            ),
            (
                "desktop.state_check_timeout_ms",
                d.state_check_timeout_ms,
                100,
                60_000,
            ),
        ] {
            if !(lo..=hi).contains(&v) {
                problems.push(format!("{key}: {v} is outside {lo}..={hi}"));
            }
        }
        if self.chaos.takeover_delay_ms > 60_000 {
            problems.push(format!(
                "chaos.takeover_delay_ms: {} is outside 0..=60000",
                self.chaos.takeover_delay_ms
            ));
        }
        let agents = resolve_agents(&self.agents, &self.node, &mut problems);
        let http = self.http.resolve(&mut problems);
        check_plain_http(self.http.bind, &self.http, &mut problems);
        let access = self.auth.resolve(self.http.sessions(), &mut problems);
        let import = self.import.resolve(&mut problems);
        let phone_networks = resolve_networks(&self.desktop.phone_networks, &mut problems);
        for (key, v, lo, hi) in [
            (
                "desktop.max_connections",
                u64::from(d.max_connections),
                1,
                65_536,
            ),
            (
                "desktop.max_connections_per_source",
                u64::from(d.max_connections_per_source),
                1,
                65_536,
            ),
            (
                "desktop.max_message_bytes",
                u64::from(d.max_message_bytes),
                1024,
                1 << 20,
            ),
            ("desktop.login_timeout_ms", d.login_timeout_ms, 500, 60_000),
        ] {
            bounded(&mut problems, key, v, lo, hi);
        }
        let cluster = match &self.cluster {
            Some(c) => {
                let dir = std::path::Path::new(path).parent();
                c.resolve(&self.node.name, &self.node.zones, dir, &mut problems)
            }
            None => None,
        };
        if !problems.is_empty() {
            return Err(ConfigError::Invalid {
                path: path.into(),
                problems,
            });
        }
        let desktop = self.desktop.resolve();
        Ok(NodeConfig {
            http,
            access,
            import,
            phone_networks,
            media_dir: self.node.media_dir,
            cluster,
            desktop,
            agents,
            chaos: self.chaos.enabled.then_some(ChaosSettings {
                takeover_delay: Duration::from_millis(self.chaos.takeover_delay_ms),
            }),
            name: self.node.name,
            data_dir: self.node.data_dir,
            zones: self.node.zones,
            log_phone_numbers: self.node.log_phone_numbers,
            dnc_file: self.node.dnc_file,
            sip_bind: self.sip.bind,
            t1: Duration::from_millis(self.sip.t1_ms),
            socket_buffer_bytes: self.sip.socket_buffer_bytes,
            sip_guard: self.sip.guard(),
            rtp_ip: self.rtp.ip,
            rtp_ports: (self.rtp.port_first, self.rtp.port_last),
            http_bind: self.http.bind,
            mpps: self
                .mpps
                .into_iter()
                .map(|m| Mpp {
                    trunk: m
                        .trunk
                        .and_then(|t| trunks.iter().find(|k| k.name == t).cloned()),
                    name: m.name,
                    address: m.address,
                    capacity: m.capacity,
                    options_interval: Duration::from_millis(m.options_interval_ms),
                    down_after_missed: m.down_after_missed,
                })
                .collect(),
            trunks,
            max_batch_writes: self.storage.max_batch_writes,
        })
    }
}

/// Resolves every `[[trunk]]` and checks the names `[[mpp]]`s give.
fn resolve_trunks(
    sections: &[super::TrunkSection],
    mpps: &[MppSection],
    problems: &mut Vec<String>,
) -> Vec<std::sync::Arc<super::Trunk>> {
    let mut trunks: Vec<std::sync::Arc<super::Trunk>> = Vec::new();
    for (i, t) in sections.iter().enumerate() {
        if sections[..i].iter().any(|o| o.name == t.name) {
            problems.push(format!("trunk[{i}].name: {} is listed twice", t.name));
        }
        if let Some(t) = t.resolve(i, problems) {
            trunks.push(std::sync::Arc::new(t));
        }
    }
    for (i, m) in mpps.iter().enumerate() {
        if let Some(name) = &m.trunk {
            if !sections.iter().any(|t| &t.name == name) {
                problems.push(format!("mpp[{i}].trunk: no [[trunk]] is named {name:?}"));
            }
        }
    }
    trunks
}

impl ClusterSection {
    /// `dir` is the config file's folder, for a relative `heartbeat_key_file`.
    fn resolve(
        &self,
        me: &str,
        zones: &[String],
        dir: Option<&std::path::Path>,
        problems: &mut Vec<String>,
    ) -> Option<crate::cluster::ClusterSettings> {
        let n0 = problems.len();
        for (key, v, lo, hi) in [
            ("cluster.lease_ttl_ms", self.lease_ttl_ms, 200, 600_000),
            ("cluster.renew_every_ms", self.renew_every_ms, 20, 300_000),
            (
                "cluster.heartbeat_every_ms",
                self.heartbeat_every_ms,
                10,
                60_000,
            ),
            (
                "cluster.peer_dead_after_ms",
                self.peer_dead_after_ms,
                30,
                600_000,
            ),
            (
                "cluster.heartbeat_max_age_ms",
                self.heartbeat_max_age_ms,
                100,
                600_000,
            ),
        ] {
            if !(lo..=hi).contains(&v) {
                problems.push(format!("{key}: {v} is outside {lo}..={hi}"));
            }
        }
        if self.renew_every_ms * 2 > self.lease_ttl_ms {
            problems.push(
                "cluster.renew_every_ms: at most half of lease_ttl_ms, so one late renewal does not lose the lease"
                    .to_owned(),
            );
        }
        if self.peer_dead_after_ms < self.heartbeat_every_ms * 3 {
            problems
                .push("cluster.peer_dead_after_ms: at least three heartbeat intervals".to_owned());
        }
        let mut seen = std::collections::HashSet::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if !seen.insert(n.name.as_str()) {
                problems.push(format!(
                    "cluster.node[{i}].name: {} is listed twice",
                    n.name
                ));
            }
        }
        for z in zones {
            let owners = self.nodes.iter().filter(|n| n.zones.contains(z)).count();
            if owners > 1 {
                problems.push(format!(
                    "cluster.node.zones: zone {z} is given to {owners} nodes; one master per zone"
                ));
            }
        }
        let key = self.key_source(dir);
        if key.is_none() {
            problems.push(format!(
                "cluster.heartbeat_key_file: required (a file of at least {} bytes shared by every node), or {} in the environment",
                crate::cluster::seal::MIN_KEY_BYTES,
                crate::cluster::seal::KEY_ENV
            ));
        }
        if problems.len() > n0 {
            return None;
        }
        Some(crate::cluster::ClusterSettings {
            heartbeat_key: key?,
            heartbeat_max_age: Duration::from_millis(self.heartbeat_max_age_ms),
            database: self.database.clone(),
            me: me.to_owned(),
            nodes: self
                .nodes
                .iter()
                .map(|n| crate::cluster::PeerSettings {
                    name: n.name.clone(),
                    http: n.http,
                    heartbeat: n.heartbeat,
                    heartbeat_bind: n.heartbeat_bind.unwrap_or(n.heartbeat),
                    zones: n.zones.clone(),
                })
                .collect(),
            lease_ttl: Duration::from_millis(self.lease_ttl_ms),
            renew_every: Duration::from_millis(self.renew_every_ms),
            heartbeat_every: Duration::from_millis(self.heartbeat_every_ms),
            peer_dead_after: Duration::from_millis(self.peer_dead_after_ms),
        })
    }

    /// Where the heartbeat key comes from: the environment when `OUTDIAL_CLUSTER_KEY` is set,
    /// else the configured file. Only named here; the cluster reads it when it starts.
    fn key_source(&self, dir: Option<&std::path::Path>) -> Option<crate::cluster::seal::KeySource> {
        use crate::cluster::seal::{KeySource, KEY_ENV};
        if std::env::var_os(KEY_ENV).is_some() {
            return Some(KeySource::Env);
        }
        let file = self.heartbeat_key_file.as_ref()?;
        Some(KeySource::File(match dir {
            Some(d) if file.is_relative() => d.join(file),
            _ => file.clone(),
        }))
    }
}
