//! The raw TOML of a node's config: sections with units in their keys, unknown keys refused;
//! every key's unit, default and bounds.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::file_access::{AuthSection, HttpSection, ImportSection};

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
    /// SIP trunks an `[[mpp]]` may send its calls through (see configs/README.md).
    #[serde(default, rename = "trunk")]
    pub trunks: Vec<super::TrunkSection>,
    #[serde(default)]
    pub storage: StorageSection,
    #[serde(default)]
    pub desktop: DesktopSection,
    /// Agents who may log in from a desktop.
    #[serde(default, rename = "agent")]
    pub agents: Vec<AgentSection>,
    #[serde(default)]
    pub chaos: ChaosSection,
    #[serde(default)]
    pub auth: AuthSection,
    #[serde(default)]
    pub import: ImportSection,
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
    /// File holding the key that seals every heartbeat (HMAC-SHA256), the same on every node:
    /// its bytes with surrounding whitespace trimmed, at least 32 (`openssl rand -hex 32 >
    /// FILE`, readable by the node's user only). A relative path is from this file's folder.
    /// `OUTDIAL_CLUSTER_KEY` in the environment, when set, is the key instead. One of the two
    /// is required: a cluster does not start without a key.
    #[serde(default)]
    pub heartbeat_key_file: Option<PathBuf>,
    /// A beat stamped further than this from the receiver's clock is refused as stale
    /// (100..=600000 ms; the nodes' clocks must agree within it). Default 5000.
    #[serde(default = "default_heartbeat_max_age_ms")]
    pub heartbeat_max_age_ms: u64,
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
fn default_heartbeat_max_age_ms() -> u64 {
    5000
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
    /// Desktop WebSockets open at once, in all (1..=65536). Default 2048.
    #[serde(default = "default_ws_total")]
    pub max_connections: u32,
    /// Desktop WebSockets open at once from one address (1..=65536). Default 256 (a call
    /// centre behind one NAT address is one source).
    #[serde(default = "default_ws_per_source")]
    pub max_connections_per_source: u32,
    /// Largest message (and frame) a desktop may send, bytes (1024..=1048576). Default 65536.
    /// A frame announcing more is refused from its header, before its payload is read.
    #[serde(default = "default_ws_message")]
    pub max_message_bytes: u32,
    /// A connection that has not logged in after this long is closed, ms (500..=60000).
    /// Default 5000.
    #[serde(default = "default_ws_login")]
    pub login_timeout_ms: u64,
    /// Networks agents' phones may be in (CIDR). Default: loopback and private ranges
    /// (127.0.0.0/8, ::1/128, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7).
    #[serde(default = "default_phone_network_cidrs")]
    pub phone_networks: Vec<String>,
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
fn default_ws_total() -> u32 {
    2048
}
fn default_ws_per_source() -> u32 {
    256
}
fn default_ws_message() -> u32 {
    65_536
}
fn default_ws_login() -> u64 {
    5000
}
pub(super) fn default_phone_network_cidrs() -> Vec<String> {
    [
        "127.0.0.0/8",
        "::1/128",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",
    ]
    .map(String::from)
    .to_vec()
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
            max_connections: default_ws_total(),
            max_connections_per_source: default_ws_per_source(),
            max_message_bytes: default_ws_message(),
            login_timeout_ms: default_ws_login(),
            phone_networks: default_phone_network_cidrs(),
        }
    }
}

/// `[[agent]]`: one agent's credentials.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSection {
    /// Login name. Required; letters, digits, '-', '_', '.' and '@'.
    pub id: String,
    /// The password's argon2id hash, a PHC string (`outdial hash-password` prints one).
    /// Required.
    #[serde(default)]
    pub password_argon2: Option<String>,
    /// Refused: unsalted SHA-256 is no longer accepted (the message says what to use).
    #[serde(default)]
    pub password_sha256: Option<String>,
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
    /// The only directory campaign prompts (`abandon_message`) are read from; a campaign
    /// names a `.wav` file inside it, never a path. Optional: without it campaigns cannot
    /// name a prompt and get the generated tone.
    #[serde(default)]
    pub media_dir: Option<PathBuf>,
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
    /// Requests one source address may send per guard window before it is dropped
    /// (1..=100000). Default 30.
    #[serde(default = "default_guard_requests")]
    pub guard_requests_per_window: u32,
    /// The guard's sampling window, ms (100..=60000). Default 2000.
    #[serde(default = "default_guard_window")]
    pub guard_window_ms: u64,
    /// How long a source over its rate stays dropped, ms (0..=3600000). Default 60000.
    #[serde(default = "default_guard_ban")]
    pub guard_ban_ms: u64,
    /// Source addresses the guard tracks at once (64..=1048576; ~64 bytes each, allocated at
    /// start). Default 4096.
    #[serde(default = "default_guard_sources")]
    pub guard_sources: usize,
}

impl SipSection {
    /// The per-source guard these keys describe.
    pub fn guard(&self) -> sip::GuardConfig {
        sip::GuardConfig {
            rate: self.guard_requests_per_window,
            window: std::time::Duration::from_millis(self.guard_window_ms),
            ban: std::time::Duration::from_millis(self.guard_ban_ms),
            table_size: self.guard_sources,
        }
    }
}

fn default_guard_requests() -> u32 {
    sip::GuardConfig::default().rate
}

fn default_guard_window() -> u64 {
    sip::GuardConfig::default().window.as_millis() as u64
}

fn default_guard_ban() -> u64 {
    sip::GuardConfig::default().ban.as_millis() as u64
}

fn default_guard_sources() -> usize {
    sip::GuardConfig::default().table_size
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
            guard_requests_per_window: default_guard_requests(),
            guard_window_ms: default_guard_window(),
            guard_ban_ms: default_guard_ban(),
            guard_sources: default_guard_sources(),
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
    /// The `[[trunk]]` its calls go through (its proxy, identity and registration). Default
    /// none: INVITEs go straight to `address`.
    #[serde(default)]
    pub trunk: Option<String>,
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
