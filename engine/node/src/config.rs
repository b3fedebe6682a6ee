//! Node configuration in two phases: [`NodeConfigFile`] is the raw TOML (unknown keys refused,
//! units in names); [`NodeConfig`] is the resolved form with `Duration`s and addresses, which
//! `Node::start` turns into sockets and storage.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// `[node]` and friends, as written in configs/single-node.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfigFile {
    pub node: NodeSection,
    #[serde(default)]
    pub sip: SipSection,
    #[serde(default)]
    pub rtp: RtpSection,
    #[serde(default)]
    pub http: HttpSection,
    /// Media servers / gateways calls go through. At least one.
    #[serde(default, rename = "mpp")]
    pub mpps: Vec<MppSection>,
    #[serde(default)]
    pub storage: StorageSection,
    #[serde(default)]
    pub desktop: DesktopSection,
    /// Agents who may log in from a desktop.
    #[serde(default, rename = "agent")]
    pub agents: Vec<AgentSection>,
    #[serde(default)]
    pub chaos: ChaosSection,
    /// Present for a node of a cluster sharing PostgreSQL (configs/ha-*.toml).
    #[serde(default)]
    pub cluster: Option<ClusterSection>,
}

/// `[cluster]`: the nodes of one deployment and how they agree on masters. One file describes
/// the whole cluster; each process is one of its `[[cluster.node]]`s (`outdial run --node`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    /// libpq connection string of the shared PostgreSQL database; `OUTDIAL_DATABASE` in the
    /// environment replaces it.
    pub database: String,
    /// How long a lease lasts without renewal: the longest a node cut from the database can
    /// stay master.
    #[serde(default = "default_lease_ttl_ms")]
    pub lease_ttl_ms: u64,
    #[serde(default = "default_renew_every_ms")]
    pub renew_every_ms: u64,
    /// Direct UDP heartbeats between nodes.
    #[serde(default = "default_heartbeat_every_ms")]
    pub heartbeat_every_ms: u64,
    /// Silence (on UDP and in the database) after which a peer counts as dead and its leases
    /// may be taken before they run out.
    #[serde(default = "default_peer_dead_after_ms")]
    pub peer_dead_after_ms: u64,
    #[serde(rename = "node")]
    pub nodes: Vec<ClusterNodeSection>,
}

fn default_lease_ttl_ms() -> u64 {
    2000
}
fn default_renew_every_ms() -> u64 {
    400
}
fn default_heartbeat_every_ms() -> u64 {
    100
}
fn default_peer_dead_after_ms() -> u64 {
    600
}

/// `[[cluster.node]]`: one node's addresses, and the zones it masters on the cluster's first
/// start (afterwards the director allocates them, and the zone-assignment API moves them).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterNodeSection {
    pub name: String,
    pub sip: SocketAddr,
    pub http: SocketAddr,
    /// Where the other nodes send this node's heartbeats.
    pub heartbeat: SocketAddr,
    /// Where this node listens for them, when not `heartbeat` itself (a relay in between).
    #[serde(default)]
    pub heartbeat_bind: Option<SocketAddr>,
    pub rtp_port_first: u16,
    pub rtp_port_last: u16,
    #[serde(default)]
    pub zones: Vec<String>,
}

/// `[desktop]`: the agent desktop protocol (docs/desktop-protocol.md) and agent sessions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesktopSection {
    /// Heartbeat interval both ways, ms (100..=60000). Default 5000.
    #[serde(default = "default_heartbeat")]
    pub heartbeat_ms: u64,
    /// Silent heartbeat intervals before a desktop counts as disconnected (1..=20). Default 3.
    #[serde(default = "default_missed_heartbeats")]
    pub missed_heartbeats: u32,
    /// Wrap-up ends with the default disposition after this long, ms (1000..=3600000).
    /// Default 60000.
    #[serde(default = "default_wrapup")]
    pub wrapup_timeout_ms: u64,
    /// Wait before re-nailing a dropped agent phone, ms (100..=600000). Default 2000.
    #[serde(default = "default_renail")]
    pub renail_delay_ms: u64,
    /// Consecutive nailing failures before the agent is logged out (1..=100). Default 3.
    #[serde(default = "default_nail_failures")]
    pub max_nail_failures: u32,
    /// After a takeover, how long a desktop has to confirm its state before it is logged out
    /// with desktop-error, ms (100..=60000). Default 5000.
    #[serde(default = "default_state_check")]
    pub state_check_timeout_ms: u64,
}

/// `[chaos]`: fault injection (docs/design.md §5 under test). Off unless a config turns it on.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChaosSection {
    /// Accept `POST /v1/admin/faults`. Default false: production nodes refuse faults.
    #[serde(default)]
    pub enabled: bool,
    /// Hold every takeover this long before the new agent manager takes the zone, ms
    /// (0..=60000), so a test can watch the outage's rules at work. Default 0.
    #[serde(default)]
    pub takeover_delay_ms: u64,
}

/// Fault injection, when the config turns it on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChaosSettings {
    pub takeover_delay: Duration,
}

fn default_heartbeat() -> u64 {
    5000
}
fn default_missed_heartbeats() -> u32 {
    3
}
fn default_wrapup() -> u64 {
    60_000
}
fn default_renail() -> u64 {
    2000
}
fn default_nail_failures() -> u32 {
    3
}
fn default_state_check() -> u64 {
    5000
}

impl Default for DesktopSection {
    fn default() -> Self {
        Self {
            heartbeat_ms: default_heartbeat(),
            missed_heartbeats: default_missed_heartbeats(),
            wrapup_timeout_ms: default_wrapup(),
            renail_delay_ms: default_renail(),
            max_nail_failures: default_nail_failures(),
            state_check_timeout_ms: default_state_check(),
        }
    }
}

/// `[[agent]]`: one agent's credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSection {
    /// Login name. Required; letters, digits, '-', '_', '.' and '@'.
    pub id: String,
    /// Hex SHA-256 of the password (`printf %s PASSWORD | sha256sum`). Required.
    pub password_sha256: String,
    /// Zones the agent may log in to. Default: any zone of the node.
    #[serde(default)]
    pub zones: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// This node's name; also keeps its SIP Call-IDs apart from other nodes'. Required.
    pub name: String,
    /// Directory of the embedded database. Required.
    pub data_dir: PathBuf,
    /// Zones this node masters. Default ["default"].
    #[serde(default = "default_zones")]
    pub zones: Vec<String>,
    /// Write phone numbers into logs unredacted. Default false.
    #[serde(default)]
    pub log_phone_numbers: bool,
    /// A do-not-call list: one E.164 number per line. Optional; re-read every minute.
    #[serde(default)]
    pub dnc_file: Option<PathBuf>,
}

fn default_zones() -> Vec<String> {
    vec!["default".into()]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipSection {
    /// UDP address for SIP. Default 127.0.0.1:5060.
    #[serde(default = "default_sip_bind")]
    pub bind: SocketAddr,
    /// RFC 3261 T1 in ms (1..=10000). Default 500.
    #[serde(default = "default_t1")]
    pub t1_ms: u64,
    /// Socket buffers in bytes (64 KiB..=64 MiB). Default 4 MiB.
    #[serde(default = "default_buf")]
    pub socket_buffer_bytes: usize,
}

fn default_sip_bind() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5060))
}
fn default_t1() -> u64 {
    500
}
fn default_buf() -> usize {
    4 << 20
}

impl Default for SipSection {
    fn default() -> Self {
        Self {
            bind: default_sip_bind(),
            t1_ms: default_t1(),
            socket_buffer_bytes: default_buf(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RtpSection {
    /// Address RTP legs bind and advertise. Default 127.0.0.1.
    #[serde(default = "default_rtp_ip")]
    pub ip: IpAddr,
    /// First RTP port (even). Default 20000.
    #[serde(default = "default_rtp_first")]
    pub port_first: u16,
    /// Last RTP port. Default 29998.
    #[serde(default = "default_rtp_last")]
    pub port_last: u16,
}

fn default_rtp_ip() -> IpAddr {
    IpAddr::from([127, 0, 0, 1])
}
fn default_rtp_first() -> u16 {
    20_000
}
fn default_rtp_last() -> u16 {
    29_998
}

impl Default for RtpSection {
    fn default() -> Self {
        Self {
            ip: default_rtp_ip(),
            port_first: default_rtp_first(),
            port_last: default_rtp_last(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    /// HTTP API address. Default 127.0.0.1:8080; port 0 picks a free one.
    #[serde(default = "default_http")]
    pub bind: SocketAddr,
}

fn default_http() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

impl Default for HttpSection {
    fn default() -> Self {
        Self {
            bind: default_http(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MppSection {
    /// Name shown in status and stats. Required.
    pub name: String,
    /// SIP address calls are sent to. Required.
    pub address: SocketAddr,
    /// Most concurrent calls it takes (its port capacity), 1..=100000. Default 1000.
    #[serde(default = "default_capacity")]
    pub capacity: u32,
    /// OPTIONS health probe interval in ms (100..=600000). Default 5000.
    #[serde(default = "default_probe")]
    pub options_interval_ms: u64,
    /// Missed probes before it is marked down (1..=100). Default 3.
    #[serde(default = "default_missed")]
    pub down_after_missed: u32,
}

fn default_capacity() -> u32 {
    1000
}
fn default_probe() -> u64 {
    5000
}
fn default_missed() -> u32 {
    3
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    /// Most writes merged into one durable commit (1..=100000). Default 4096.
    #[serde(default = "default_batch")]
    pub max_batch_writes: usize,
}

fn default_batch() -> usize {
    4096
}

impl Default for StorageSection {
    fn default() -> Self {
        Self {
            max_batch_writes: default_batch(),
        }
    }
}

/// A media server as the engine uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mpp {
    pub name: String,
    pub address: SocketAddr,
    pub capacity: u32,
    pub options_interval: Duration,
    pub down_after_missed: u32,
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
    pub rtp_ip: IpAddr,
    pub rtp_ports: (u16, u16),
    pub http_bind: SocketAddr,
    pub mpps: Vec<Mpp>,
    pub max_batch_writes: usize,
    pub desktop: DesktopSettings,
    pub agents: Vec<outdial_core::desktop::AgentCredential>,
    /// Fault injection, if `[chaos] enabled`.
    pub chaos: Option<ChaosSettings>,
}

/// Resolved `[desktop]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DesktopSettings {
    pub heartbeat: Duration,
    pub missed_heartbeats: u32,
    pub session: outdial_core::agent::AgentConfig,
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
        let mut seen = std::collections::HashSet::new();
        for (i, a) in self.agents.iter().enumerate() {
            if a.id.is_empty()
                || !a
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
            {
                problems.push(format!(
                    "agent[{i}].id: letters, digits, '-', '_', '.', '@' only, not empty"
                ));
            }
            if !seen.insert(a.id.as_str()) {
                problems.push(format!("agent[{i}].id: {} is listed twice", a.id));
            }
            if a.password_sha256.len() != 64
                || !a.password_sha256.chars().all(|c| c.is_ascii_hexdigit())
            {
                problems.push(format!(
                    "agent[{i}].password_sha256: 64 hex digits (printf %s PASSWORD | sha256sum)"
                ));
            }
            for z in &a.zones {
                if !self.node.zones.contains(z) {
                    problems.push(format!("agent[{i}].zones: {z} is not a zone of this node"));
                }
            }
        }
        let cluster = match &self.cluster {
            Some(c) => c.resolve(&self.node.name, &self.node.zones, &mut problems),
            None => None,
        };
        if !problems.is_empty() {
            return Err(ConfigError::Invalid {
                path: path.into(),
                problems,
            });
        }
        let desktop = self.desktop.resolve();
        let agents = self
            .agents
            .into_iter()
            .map(|a| outdial_core::desktop::AgentCredential {
                agent: outdial_core::agent::AgentId(a.id),
                password_sha256: a.password_sha256.to_ascii_lowercase(),
                zones: a.zones,
            })
            .collect();
        Ok(NodeConfig {
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
            rtp_ip: self.rtp.ip,
            rtp_ports: (self.rtp.port_first, self.rtp.port_last),
            http_bind: self.http.bind,
            mpps: self
                .mpps
                .into_iter()
                .map(|m| Mpp {
                    name: m.name,
                    address: m.address,
                    capacity: m.capacity,
                    options_interval: Duration::from_millis(m.options_interval_ms),
                    down_after_missed: m.down_after_missed,
                })
                .collect(),
            max_batch_writes: self.storage.max_batch_writes,
        })
    }
}

impl ClusterSection {
    fn resolve(
        &self,
        me: &str,
        zones: &[String],
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
        if problems.len() > n0 {
            return None;
        }
        Some(crate::cluster::ClusterSettings {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_single_node_config_resolves() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../configs/single-node.toml"
        );
        let cfg = NodeConfigFile::load(std::path::Path::new(path))
            .expect("configs/single-node.toml is valid");
        assert_eq!(cfg.zones, vec!["default".to_owned()]);
        assert!(!cfg.mpps.is_empty());
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let text = "[node]\nname = \"bad name\"\ndata_dir = \"/tmp/x\"\n[sip]\nt1_ms = 0\n";
        let err = NodeConfigFile::parse(text, "t")
            .and_then(|c| c.resolve("t"))
            .expect_err("invalid");
        let msg = err.to_string();
        assert!(msg.contains("node.name"), "{msg}");
        assert!(msg.contains("sip.t1_ms"), "{msg}");
        assert!(msg.contains("mpp"), "{msg}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let text = "[node]\nname = \"a\"\ndata_dir = \"/tmp/x\"\nbogus = 1\n";
        assert!(matches!(
            NodeConfigFile::parse(text, "t"),
            Err(ConfigError::Parse { .. })
        ));
    }

    #[test]
    fn shipped_cluster_configs_resolve_for_each_of_their_nodes() {
        for (file, nodes) in [
            ("ha-2-nodes-1-zone.toml", 2),
            ("ha-3-nodes-2-zones.toml", 3),
            ("ha-4-nodes-2-zones.toml", 4),
        ] {
            let path = format!("{}/../../configs/{file}", env!("CARGO_MANIFEST_DIR"));
            let path = std::path::Path::new(&path);
            let mut sips = std::collections::HashSet::new();
            for i in 1..=nodes {
                let name = format!("pom{i}");
                let cfg = NodeConfigFile::load_node(path, Some(&name))
                    .unwrap_or_else(|e| panic!("{file} as {name}: {e}"));
                assert_eq!(cfg.name, name);
                let c = cfg.cluster.expect("a cluster node");
                assert_eq!(c.nodes.len(), nodes);
                assert_eq!(c.me, name);
                assert!(
                    sips.insert(cfg.sip_bind),
                    "{file}: each node its own SIP port"
                );
            }
            let err = NodeConfigFile::load_node(path, None).expect_err("--node is required");
            assert!(err.to_string().contains("--node"), "{err}");
            let err = NodeConfigFile::load_node(path, Some("pom9")).expect_err("no such node");
            assert!(err.to_string().contains("pom9"), "{err}");
        }
    }

    #[test]
    fn a_zone_given_to_two_nodes_and_a_short_ttl_are_refused() {
        let text = r#"
[node]
name = "x"
data_dir = "/tmp/x"
zones = ["z"]
[[mpp]]
name = "gw"
address = "127.0.0.1:5070"
[cluster]
database = "host=127.0.0.1"
lease_ttl_ms = 500
renew_every_ms = 400
[[cluster.node]]
name = "a"
sip = "127.0.0.1:1"
http = "127.0.0.1:2"
heartbeat = "127.0.0.1:3"
rtp_port_first = 20000
rtp_port_last = 20100
zones = ["z"]
[[cluster.node]]
name = "b"
sip = "127.0.0.1:4"
http = "127.0.0.1:5"
heartbeat = "127.0.0.1:6"
rtp_port_first = 20200
rtp_port_last = 20300
zones = ["z"]
"#;
        let err = NodeConfigFile::parse(text, "t")
            .and_then(|c| c.as_node(Some("a"), "t"))
            .and_then(|c| c.resolve("t"))
            .expect_err("invalid");
        let msg = err.to_string();
        assert!(msg.contains("one master per zone"), "{msg}");
        assert!(msg.contains("renew_every_ms"), "{msg}");
    }
}
