//! The raw TOML of the node's security-facing sections: `[http]` (address, TLS, the names and
//! origins it answers, body and connection limits, browser sessions), `[auth]` (login
//! throttling) and `[import]` (CSV limits). Every key's unit, default and bounds.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    /// HTTP API address. Default 127.0.0.1:8080; port 0 picks a free one.
    #[serde(default = "default_http")]
    pub bind: SocketAddr,
    /// PEM certificate chain for HTTPS/WSS. With `tls_key_file`; both or neither.
    #[serde(default)]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of `tls_cert_file`.
    #[serde(default)]
    pub tls_key_file: Option<PathBuf>,
    /// Serve plain HTTP on an address other than loopback. Default false: without TLS the
    /// node refuses to start on a non-loopback `bind`.
    #[serde(default)]
    pub allow_plain_http: bool,
    /// Host names the API answers to, besides IP literals and `localhost` (a request whose
    /// `Host` is any other name is refused: DNS rebinding). Default none.
    #[serde(default)]
    pub names: Vec<String>,
    /// Browser origins (`https://wallboard.example.com[:port]`) allowed besides the API's own.
    /// Default none.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Largest JSON body, bytes (1024..=67108864). Default 1048576 (1 MiB).
    #[serde(default = "default_json_body")]
    pub max_json_body_bytes: u64,
    /// Largest CSV upload, bytes (1024..=68719476736). Default 536870912 (512 MiB). Uploads
    /// are streamed into the importer, so this bounds time and disk, not memory.
    #[serde(default = "default_csv_upload")]
    pub max_csv_upload_bytes: u64,
    /// TCP connections open at once, in all (16..=65536). Default 1024.
    #[serde(default = "default_http_connections")]
    pub max_connections: u32,
    /// Time a client has to send a request's head, ms (500..=60000). Default 5000.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_ms: u64,
    /// A browser session ends after this long unused, ms (60000..=86400000). Default 1800000.
    #[serde(default = "default_session_idle")]
    pub session_idle_ms: u64,
    /// A browser session ends this long after its login, ms (60000..=604800000). Default
    /// 28800000 (8 h).
    #[serde(default = "default_session_max_age")]
    pub session_max_age_ms: u64,
}

fn default_http() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_json_body() -> u64 {
    1 << 20
}
fn default_csv_upload() -> u64 {
    512 << 20
}
fn default_http_connections() -> u32 {
    1024
}
fn default_request_timeout() -> u64 {
    5000
}
fn default_session_idle() -> u64 {
    30 * 60 * 1000
}
fn default_session_max_age() -> u64 {
    8 * 3600 * 1000
}

impl Default for HttpSection {
    fn default() -> Self {
        Self {
            bind: default_http(),
            tls_cert_file: None,
            tls_key_file: None,
            allow_plain_http: false,
            names: Vec::new(),
            allowed_origins: Vec::new(),
            max_json_body_bytes: default_json_body(),
            max_csv_upload_bytes: default_csv_upload(),
            max_connections: default_http_connections(),
            request_timeout_ms: default_request_timeout(),
            session_idle_ms: default_session_idle(),
            session_max_age_ms: default_session_max_age(),
        }
    }
}

/// `[auth]`: login throttling, for agents at the desktop and users at `POST /v1/login`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// Failed logins of one name in a row before it is locked (1..=100). Default 5.
    #[serde(default = "default_lockout_after")]
    pub lockout_after_failures: u32,
    /// The first lock, ms; each further failure doubles it (100..=3600000). Default 1000.
    #[serde(default = "default_lockout_base")]
    pub lockout_base_ms: u64,
    /// The longest lock, ms (lockout_base_ms..=86400000). Default 900000 (15 min).
    #[serde(default = "default_lockout_max")]
    pub lockout_max_ms: u64,
    /// Failed logins one source address may make at once (1..=10000). Default 20.
    #[serde(default = "default_source_burst")]
    pub source_failure_burst: u32,
    /// One more failed login allowed per this long, per source, ms (10..=3600000). Default 3000.
    #[serde(default = "default_source_refill")]
    pub source_failure_refill_ms: u64,
    /// Password checks at once (each ~19 MiB and tens of ms of a core) (1..=64). Default 2.
    #[serde(default = "default_checks_at_once")]
    pub password_checks_at_once: u32,
}

fn default_lockout_after() -> u32 {
    5
}
fn default_lockout_base() -> u64 {
    1000
}
fn default_lockout_max() -> u64 {
    900_000
}
fn default_source_burst() -> u32 {
    20
}
fn default_source_refill() -> u64 {
    3000
}
fn default_checks_at_once() -> u32 {
    2
}

impl Default for AuthSection {
    fn default() -> Self {
        Self {
            lockout_after_failures: default_lockout_after(),
            lockout_base_ms: default_lockout_base(),
            lockout_max_ms: default_lockout_max(),
            source_failure_burst: default_source_burst(),
            source_failure_refill_ms: default_source_refill(),
            password_checks_at_once: default_checks_at_once(),
        }
    }
}

/// `[import]`: limits on contact lists (API uploads and `outdial import` alike).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportSection {
    /// Longest CSV record, bytes (256..=16777216). Default 65536. A longer one stops the
    /// import (the rows before it stay imported).
    #[serde(default = "default_max_line")]
    pub max_line_bytes: u32,
    /// Most columns in the header (1..=10000). Default 256.
    #[serde(default = "default_max_columns")]
    pub max_columns: u32,
    /// Longest field value, bytes (16..=1048576). Default 4096; a row with a longer one is
    /// rejected.
    #[serde(default = "default_max_field")]
    pub max_field_bytes: u32,
}

fn default_max_line() -> u32 {
    65_536
}
fn default_max_columns() -> u32 {
    256
}
fn default_max_field() -> u32 {
    4096
}

impl Default for ImportSection {
    fn default() -> Self {
        Self {
            max_line_bytes: default_max_line(),
            max_columns: default_max_columns(),
            max_field_bytes: default_max_field(),
        }
    }
}
