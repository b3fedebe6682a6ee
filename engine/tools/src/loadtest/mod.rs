//! `outdial loadtest`: places N calls at a rate against a SIP server and reports what happened.
//!
//! ```text
//!   mod       the configuration, the report and `run`, which picks one of:
//!   fixed     the fixed call shape through the `sip` crate's endpoint
//!   threads   the fixed shape over N sockets and threads (`--threads`)
//!   scenario  SIPp XML scenarios (`--scenario`), one sans-IO interpreter per call
//!   pace      when the next call is due: a changeable rate and SIPp's ramp
//!   monitor   the live side both shapes share: ramp, control socket, stat file, screen
//!   control   the control socket's commands (loopback, unauthenticated)
//!   stat_file response times, repartition buckets and SIPp's `-trace_stat` file
//!   screen    the live terminal screen and the progress line
//! ```

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use sip::transport::SocketConfig;
use sip::TimerConfig;

use crate::stats::Percentiles;

mod control;
mod fixed;
mod monitor;
mod pace;
pub mod scenario;
mod screen;
pub mod stat_file;
mod threads;

pub use control::{Command, CommandError};
pub use monitor::{MonitorConfig, RampConfig};
pub use scenario::Scenario;
use stat_file::Bucket;
pub use threads::MAX_THREADS;

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadTestConfig {
    pub target: SocketAddr,
    pub bind: SocketAddr,
    /// Calls per second to attempt.
    pub rate: f64,
    pub calls: u64,
    /// Most calls in progress at once; launching waits when reached.
    pub concurrency: u64,
    /// How long an answered call is held before our BYE.
    pub hold: Duration,
    pub media: bool,
    pub ring_timeout: Duration,
    pub timers: TimerConfig,
    pub socket: SocketConfig,
    /// User part of the Request-URI; the call number is appended so each call is distinct.
    pub user_prefix: String,
    pub progress: bool,
    /// Digest credentials for 401/407 challenges from the target.
    pub credentials: Option<sip::auth::Credentials>,
    /// A session timer offered on each INVITE (RFC 4028); the answer's interval and
    /// refresher rule. Default none.
    pub session_expires: Option<Duration>,
    /// After a read that found datagrams, wait this long before the next read instead of
    /// waking for each datagram: under load, one wake handles many. Adds at most this much
    /// to a measured setup time. Zero wakes for every datagram.
    pub coalesce: Duration,
    /// Play this SIPp scenario instead of the fixed call shape (`--scenario`).
    pub scenario: Option<Arc<Scenario>>,
    /// `[service]` in scenarios (SIPp's `-s`).
    pub service: String,
    /// `[remote_host]` in scenarios: the target as given; defaults to its address.
    pub remote_host: Option<String>,
    /// How long a scenario's `<recv>` without `timeout` waits (SIPp's `-recv_timeout`);
    /// `None` waits forever, as SIPp does by default.
    pub recv_timeout: Option<Duration>,
    /// Seeds the scenario's random choices (`lost`, `chance`, RANDOM lines, distributions).
    pub seed: u64,
    /// The ramp, the control socket and the stat file.
    pub monitor: MonitorConfig,
    /// Sockets (each with its thread) the fixed shape spreads its calls over.
    pub threads: usize,
    /// This share's index in a `--threads` run (0 otherwise).
    pub thread: usize,
}

impl LoadTestConfig {
    pub fn new(target: SocketAddr) -> Self {
        Self {
            target,
            bind: SocketAddr::new(
                if target.ip().is_loopback() {
                    target.ip()
                } else {
                    IpAddr::from([0, 0, 0, 0])
                },
                0,
            ),
            rate: 100.0,
            session_expires: None,
            calls: 1000,
            concurrency: 10_000,
            hold: Duration::ZERO,
            media: false,
            ring_timeout: Duration::from_secs(30),
            timers: TimerConfig::default(),
            socket: SocketConfig::default(),
            user_prefix: "load".into(),
            progress: true,
            credentials: None,
            coalesce: Duration::from_millis(1),
            scenario: None,
            service: "service".into(),
            remote_host: None,
            recv_timeout: None,
            seed: 1,
            monitor: MonitorConfig {
                stats_interval: Duration::from_secs(60),
                ..MonitorConfig::default()
            },
            threads: 1,
            thread: 0,
        }
    }
}

/// The run's outcome: the issue's JSON keys, plus a few more.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    pub attempted: u64,
    pub answered: u64,
    /// Final status code (or "timeout", "ring-timeout") → count.
    pub failed: BTreeMap<String, u64>,
    /// Answered calls per second of wall time from first INVITE to last answer.
    pub cps: f64,
    /// INVITE sent → 2xx received.
    pub setup_ms: Percentiles,
    /// SIP retransmissions we sent (INVITE, BYE, CANCEL and answers).
    pub retransmissions: u64,
    pub cpu_seconds: f64,
    pub wall_seconds: f64,
    /// Provisional responses that carried SDP (early media).
    pub early_media: u64,
    /// Calls the far end hung up before our hold time ran out.
    pub remote_hangups: u64,
    /// Responses matching no transaction, and datagrams too broken to parse.
    pub stray_responses: u64,
    pub dropped_junk: u64,
    pub media: Option<crate::media_legs::MediaSummary>,
    /// Response times in SIPp's repartition buckets (ms), by `rtd` name; "1" is the fixed
    /// shape's INVITE → 2xx.
    pub response_time_repartition: BTreeMap<String, Vec<Bucket>>,
    /// Call lengths (first message to end) in SIPp's buckets (ms).
    pub call_length_repartition: Vec<Bucket>,
    /// With `--scenario`: SIPp's successful/failed calls and per-message counts.
    #[serde(flatten)]
    pub scenario: Option<scenario::ScenarioReport>,
}

impl LoadReport {
    pub fn failed_total(&self) -> u64 {
        self.failed.values().sum()
    }

    /// SIPp's exit status 0: no call failed (with a scenario, SIPp's failed-call counter).
    pub fn all_successful(&self) -> bool {
        match &self.scenario {
            Some(s) => s.failed_calls == 0,
            None => self.failed_total() == 0,
        }
    }

    /// The human-readable summary printed without `--json`.
    pub fn render(&self) -> String {
        let mut s = format!(
            "attempted {}  answered {}  failed {}  cps {:.1}\nsetup ms p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}\nretransmissions {}  cpu {:.2} s  wall {:.2} s\n",
            self.attempted,
            self.answered,
            self.failed_total(),
            self.cps,
            self.setup_ms.p50,
            self.setup_ms.p90,
            self.setup_ms.p99,
            self.setup_ms.max,
            self.retransmissions,
            self.cpu_seconds,
            self.wall_seconds,
        );
        for (code, n) in &self.failed {
            s.push_str(&format!("  failed {code}: {n}\n"));
        }
        if let Some(sc) = &self.scenario {
            s.push_str(&format!(
                "scenario {}: successful calls {}  failed calls {}\n",
                sc.scenario_file, sc.successful_calls, sc.failed_calls
            ));
            s.push_str(
                "  index  line  element  message            sent  recv  retrans  timeout  unexp\n",
            );
            for m in &sc.messages {
                s.push_str(&format!(
                    "  {:>5} {:>5}  {:<8} {:<16} {:>6} {:>5} {:>8} {:>8} {:>6}\n",
                    m.index,
                    m.line,
                    m.element,
                    m.message,
                    m.sent,
                    m.received,
                    m.retransmissions + m.recv_retransmissions,
                    m.timeouts,
                    m.unexpected
                ));
            }
        }
        if let Some(m) = &self.media {
            s.push_str(&format!(
                "media: legs {}  sent {}  received {}  lost {}  mean jitter {:.2} ms\n",
                m.legs, m.packets_sent, m.packets_received, m.packets_lost, m.mean_jitter_ms
            ));
        }
        s
    }
}

/// Runs the load test to completion. Must run inside a tokio runtime.
pub async fn run(cfg: LoadTestConfig) -> std::io::Result<LoadReport> {
    match cfg.scenario.clone() {
        Some(scn) => scenario::shell::run(&cfg, scn).await,
        None if cfg.threads > 1 => threads::run(cfg).await,
        None => fixed::run(cfg).await,
    }
}
