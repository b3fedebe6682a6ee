//! Resolving the security-facing sections: `[http]` into [`HttpSettings`] (refusing plain
//! HTTP off loopback unless the config says so), `[auth]` into the access service's
//! settings, `[import]` into the importer's limits, `[[agent]]` into accounts with argon2id
//! hashes, `[desktop] phone_networks` into networks.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::file::{AgentSection, NodeSection};
use super::file_access::{AuthSection, HttpSection, ImportSection};
use super::net::IpNet;
use crate::auth::{AccessSettings, AgentAccount, PasswordHash, SessionSettings, ThrottleSettings};
use crate::import::ImportLimits;

/// The certificate and key files of HTTPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Resolved `[http]` (its `bind` is `NodeConfig::http_bind`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    pub tls: Option<TlsFiles>,
    /// Plain HTTP allowed off loopback (`http.allow_plain_http`).
    pub allow_plain_http: bool,
    /// Host names answered besides IP literals and `localhost`, lower-case.
    pub names: Vec<String>,
    /// Browser origins allowed besides the API's own, lower-case, no trailing slash.
    pub allowed_origins: Vec<String>,
    pub max_json_body_bytes: usize,
    pub max_csv_upload_bytes: u64,
    pub max_connections: usize,
    pub request_timeout: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        let mut problems = Vec::new();
        // INVARIANT: the defaults are within their bounds (a unit test resolves them).
        HttpSection::default().resolve(&mut problems)
    }
}

/// Pushes a problem unless `lo <= v <= hi`.
pub(super) fn bounded(problems: &mut Vec<String>, key: &str, v: u64, lo: u64, hi: u64) {
    if !(lo..=hi).contains(&v) {
        problems.push(format!("{key}: {v} is outside {lo}..={hi}"));
    }
}

impl HttpSection {
    pub(super) fn resolve(&self, problems: &mut Vec<String>) -> HttpSettings {
        bounded(
            problems,
            "http.max_json_body_bytes",
            self.max_json_body_bytes,
            1024,
            64 << 20,
        );
        bounded(
            problems,
            "http.max_csv_upload_bytes",
            self.max_csv_upload_bytes,
            1024,
            64 << 30,
        );
        bounded(
            problems,
            "http.max_connections",
            self.max_connections.into(),
            16,
            65_536,
        );
        bounded(
            problems,
            "http.request_timeout_ms",
            self.request_timeout_ms,
            500,
            60_000,
        );
        bounded(
            problems,
            "http.session_idle_ms",
            self.session_idle_ms,
            60_000,
            86_400_000,
        );
        bounded(
            problems,
            "http.session_max_age_ms",
            self.session_max_age_ms,
            60_000,
            604_800_000,
        );
        let tls = match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            (None, None) => None,
            _ => {
                problems.push(
                    "http.tls_cert_file, http.tls_key_file: give both (HTTPS) or neither".into(),
                );
                None
            }
        };
        for n in &self.names {
            let ok = !n.is_empty()
                && n.len() <= 253
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            if !ok {
                problems.push(format!("http.names: {n:?} is not a host name"));
            }
        }
        for o in &self.allowed_origins {
            let ok = (o.starts_with("http://") || o.starts_with("https://"))
                && !o.ends_with('/')
                && o.split_once("://")
                    .is_some_and(|(_, h)| !h.is_empty() && !h.contains('/'));
            if !ok {
                problems.push(format!(
                    "http.allowed_origins: {o:?} is not an origin (scheme://host[:port], no path)"
                ));
            }
        }
        HttpSettings {
            tls,
            allow_plain_http: self.allow_plain_http,
            names: self.names.iter().map(|n| n.to_ascii_lowercase()).collect(),
            allowed_origins: self
                .allowed_origins
                .iter()
                .map(|o| o.to_ascii_lowercase())
                .collect(),
            max_json_body_bytes: usize::try_from(self.max_json_body_bytes).unwrap_or(usize::MAX),
            max_csv_upload_bytes: self.max_csv_upload_bytes,
            max_connections: self.max_connections as usize,
            request_timeout: Duration::from_millis(self.request_timeout_ms),
        }
    }

    /// The session keys, for the access service.
    pub(super) fn sessions(&self) -> SessionSettings {
        SessionSettings {
            idle: Duration::from_millis(self.session_idle_ms),
            max_age: Duration::from_millis(self.session_max_age_ms),
            ..SessionSettings::default()
        }
    }
}

/// Plain HTTP only on loopback, unless `http.allow_plain_http` says otherwise.
pub(super) fn check_plain_http(bind: SocketAddr, http: &HttpSection, problems: &mut Vec<String>) {
    let tls = http.tls_cert_file.is_some() || http.tls_key_file.is_some();
    if !tls && !http.allow_plain_http && !bind.ip().is_loopback() {
        problems.push(format!(
            "http.bind: {bind} is not a loopback address, and plain HTTP would carry passwords \
             and tokens in the clear: set http.tls_cert_file and http.tls_key_file, or \
             http.allow_plain_http = true"
        ));
    }
}

impl AuthSection {
    pub(super) fn resolve(
        &self,
        sessions: SessionSettings,
        problems: &mut Vec<String>,
    ) -> AccessSettings {
        bounded(
            problems,
            "auth.lockout_after_failures",
            self.lockout_after_failures.into(),
            1,
            100,
        );
        bounded(
            problems,
            "auth.lockout_base_ms",
            self.lockout_base_ms,
            100,
            3_600_000,
        );
        bounded(
            problems,
            "auth.lockout_max_ms",
            self.lockout_max_ms,
            self.lockout_base_ms,
            86_400_000,
        );
        bounded(
            problems,
            "auth.source_failure_burst",
            self.source_failure_burst.into(),
            1,
            10_000,
        );
        bounded(
            problems,
            "auth.source_failure_refill_ms",
            self.source_failure_refill_ms,
            10,
            3_600_000,
        );
        bounded(
            problems,
            "auth.password_checks_at_once",
            self.password_checks_at_once.into(),
            1,
            64,
        );
        AccessSettings {
            throttle: ThrottleSettings {
                failures_before_lockout: self.lockout_after_failures,
                lockout_base: Duration::from_millis(self.lockout_base_ms),
                lockout_max: Duration::from_millis(self.lockout_max_ms),
                source_burst: self.source_failure_burst,
                source_refill: Duration::from_millis(self.source_failure_refill_ms),
                ..ThrottleSettings::default()
            },
            sessions,
            hashing_at_once: self.password_checks_at_once as usize,
        }
    }
}

impl ImportSection {
    pub(super) fn resolve(&self, problems: &mut Vec<String>) -> ImportLimits {
        bounded(
            problems,
            "import.max_line_bytes",
            self.max_line_bytes.into(),
            256,
            16 << 20,
        );
        bounded(
            problems,
            "import.max_columns",
            self.max_columns.into(),
            1,
            10_000,
        );
        bounded(
            problems,
            "import.max_field_bytes",
            self.max_field_bytes.into(),
            16,
            1 << 20,
        );
        ImportLimits {
            max_line_bytes: self.max_line_bytes as usize,
            max_columns: self.max_columns as usize,
            max_field_bytes: self.max_field_bytes as usize,
        }
    }
}

/// `[[agent]]`s as accounts; `password_sha256` is refused with what to use instead.
pub(super) fn resolve_agents(
    agents: &[AgentSection],
    node: &NodeSection,
    problems: &mut Vec<String>,
) -> Vec<AgentAccount> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (i, a) in agents.iter().enumerate() {
        if !crate::auth::valid_name(&a.id) {
            problems.push(format!(
                "agent[{i}].id: letters, digits, '-', '_', '.', '@' only, 1 to 64 of them"
            ));
        }
        if !seen.insert(a.id.as_str()) {
            problems.push(format!("agent[{i}].id: {} is listed twice", a.id));
        }
        for z in &a.zones {
            if !node.zones.contains(z) {
                problems.push(format!("agent[{i}].zones: {z} is not a zone of this node"));
            }
        }
        if a.password_sha256.is_some() {
            problems.push(format!(
                "agent[{i}].password_sha256: unsalted SHA-256 is no longer accepted; replace it \
                 with password_argon2 = the line `outdial hash-password` prints for the password"
            ));
            continue;
        }
        let Some(phc) = &a.password_argon2 else {
            problems.push(format!(
                "agent[{i}].password_argon2: required (`outdial hash-password` prints one)"
            ));
            continue;
        };
        match PasswordHash::parse(phc) {
            Ok(password) => out.push(AgentAccount {
                id: outdial_core::agent::AgentId(a.id.clone()),
                password,
                zones: a.zones.clone(),
            }),
            Err(e) => problems.push(format!("agent[{i}].password_argon2: {e}")),
        }
    }
    out
}

pub(super) fn resolve_networks(nets: &[String], problems: &mut Vec<String>) -> Vec<IpNet> {
    nets.iter()
        .filter_map(|n| match n.parse::<IpNet>() {
            Ok(net) => Some(net),
            Err(e) => {
                problems.push(format!("desktop.phone_networks: {e}"));
                None
            }
        })
        .collect()
}

/// `[desktop] phone_networks`' default: loopback and the private ranges.
pub fn default_phone_networks() -> Vec<IpNet> {
    let mut problems = Vec::new();
    // INVARIANT: the default CIDRs parse (a unit test resolves the default config).
    resolve_networks(&super::file::default_phone_network_cidrs(), &mut problems)
}
