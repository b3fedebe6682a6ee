//! SIPp scenarios for `outdial loadtest --scenario`: a SIPp XML file compiled once into a list
//! of steps, then played by one sans-IO interpreter per call.
//!
//! ```text
//!   load      XML -> Scenario (steps, templates, actions); anything unsupported is refused
//!             with its element's line, never skipped
//!   template  <send> text split into literals and keywords; rendering per call
//!   keyword   each keyword's parsing (offsets, parameters) and rendering
//!   msg       a lenient view of received messages (start line, headers by name)
//!   actions   ereg, variables (assign, arithmetic, test, strcmp), jump, log, exec int_cmd
//!   vars, dist, inject   call variables, seeded draws and distributions, -inf files
//!   call      one call: SIPp's message matching, retransmissions, timeouts, branching
//!   driver    many calls: launching at a rate, demultiplexing by Call-ID, counters
//!   report    SIPp's counters and per-message counts for the JSON report
//!   shell     the UDP socket and clock around the driver (the only I/O)
//! ```
//!
//! The scenario plays the UAC side (calls are started at `--rate`); a scenario that starts by
//! waiting for a request (a UAS scenario) is refused at load.
//!
//! Accepted and without effect, since they only shape SIPp's screen or its media handling:
//! the attributes `crlf`, `hide`, `display`, `hiderest`, `ignoresdp` and `sanity_check`, and
//! the element `<Reference>`. `<ResponseTimeRepartition>` and `<CallLengthRepartition>` set
//! the buckets of the report's repartition tables and of the stat file.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

mod actions;
mod call;
mod call_incoming;
mod dist;
mod driver;
mod inject;
mod keyword;
mod load;
mod load_action;
mod load_el;
mod msg;
mod report;
pub(crate) mod shell;
mod template;
mod vars;

pub use driver::{Driver, Plan, Transmit};
pub use inject::{InjectionError, InjectionFile, Order};
pub use load::{LoadError, LoadProblem};
pub use report::{MessageCounts, ScenarioReport};
pub use template::{RenderError, TemplateError};

use actions::Action;
use dist::Dist;
use template::Template;
use vars::VarId;

/// A compiled scenario, shared by every call of a run.
#[derive(Debug)]
pub struct Scenario {
    pub name: String,
    pub path: PathBuf,
    pub(crate) steps: Vec<Step>,
    pub(crate) var_names: Vec<Box<str>>,
    pub(crate) rtd_names: Vec<Box<str>>,
    pub(crate) counter_names: Vec<Box<str>>,
    pub(crate) files: Vec<InjectionFile>,
    pub(crate) defaults: Defaults,
    /// `_unexp.main`: where an unexpected message jumps, with the variable keeping the return
    /// index (`_unexp.retaddr`).
    pub(crate) unexpected: Option<(usize, Option<VarId>)>,
    /// `<ResponseTimeRepartition>` and `<CallLengthRepartition>` bounds, ms (SIPp's
    /// defaults when the file has none).
    pub(crate) rtd_bounds_ms: Vec<u64>,
    pub(crate) call_length_bounds_ms: Vec<u64>,
}

/// SIPp's default messages, sent when a call is aborted (`-default_behaviors`).
#[derive(Debug)]
pub(crate) struct Defaults {
    pub ack: Template,
    pub bye: Template,
    pub cancel: Template,
    pub ok: Template,
}

/// One scenario message (SIPp's index counts these; labels are not steps).
#[derive(Debug)]
pub(crate) struct Step {
    pub kind: StepKind,
    /// Line of the element in the XML file.
    pub line: u32,
    pub next: Option<usize>,
    /// Where a `<recv>` timeout or a `<send>`'s last retransmission jumps (`ontimeout`).
    pub on_timeout: Option<usize>,
    pub test: Option<VarId>,
    pub chance: Option<f64>,
    /// Run only when the variable is set (`condexec`), or not set (`condexec_inverse`).
    pub condexec: Option<(VarId, bool)>,
    pub start_rtd: Option<usize>,
    pub rtd: Option<usize>,
    pub repeat_rtd: bool,
    pub counter: Option<usize>,
    /// Percentage of messages thrown away (`lost`).
    pub lost: Option<f64>,
    pub actions: Box<[Action]>,
}

#[derive(Debug)]
pub(crate) enum StepKind {
    Send(Send),
    Recv(Recv),
    Pause(Pause),
    Nop,
}

#[derive(Debug)]
pub(crate) struct Send {
    pub template: Template,
    pub what: Outgoing,
    /// SIPp's `retrans`: T1 for this message's retransmissions.
    pub retrans: Option<Duration>,
}

/// What a `<send>` sends, from its start line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outgoing {
    Request(Box<str>),
    Response(u16),
}

impl Outgoing {
    pub fn method(&self) -> &str {
        match self {
            Outgoing::Request(m) => m,
            Outgoing::Response(_) => "",
        }
    }
}

#[derive(Debug)]
pub(crate) struct Recv {
    pub expect: Expect,
    pub optional: Optional,
    pub timeout: Option<Duration>,
    /// `rrs`: keep Record-Route and Contact for `[routes]` and `[next_url]`.
    pub rrs: bool,
    /// `auth`: keep the challenge for `[authentication]`.
    pub auth: bool,
    /// CSeq methods of the requests sent before this element (SIPp matches a response only
    /// when its CSeq method is one of them).
    pub methods: Box<[Box<str>]>,
}

#[derive(Debug)]
pub(crate) enum Expect {
    Response(u16),
    Request(Box<str>),
    ResponseLike(regex::Regex),
    RequestLike(regex::Regex),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Optional {
    No,
    Yes,
    /// `optional="global"`: matches even after later mandatory messages.
    Global,
}

#[derive(Debug)]
pub(crate) struct Pause {
    pub len: PauseLen,
    /// `<timewait>`: the call's last step, kept to answer retransmissions.
    pub timewait: bool,
}

#[derive(Debug)]
pub(crate) enum PauseLen {
    /// `<pause/>`: SIPp's `-d`, here `--hold-ms`.
    Default,
    Dist(Dist),
    Var(VarId),
}

/// The run's constants every call reads: addresses, names, timers.
#[derive(Debug, Clone)]
pub struct Env {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// `[service]`, SIPp's `-s` (default "service").
    pub service: String,
    /// `[remote_host]`: the target as given on the command line.
    pub remote_host: String,
    pub pid: u32,
    pub media_ip: IpAddr,
    pub media_port: u16,
    /// `<pause/>` without a length (SIPp's `-d`).
    pub default_pause: Duration,
    /// A `<recv>` without `timeout` waits this long (SIPp's `-recv_timeout`); `None` forever.
    pub recv_timeout: Option<Duration>,
    /// Retransmission cap for non-INVITE requests (SIPp's T2, 4 s).
    pub t2: Duration,
    /// Retransmissions before a call fails: 5 for INVITE, 9 for others (SIPp's defaults).
    pub max_invite_retrans: u32,
    pub max_non_invite_retrans: u32,
    /// Seeds the per-call generators (`lost`, `chance`, RANDOM lines, distributions).
    pub seed: u64,
    /// Wall-clock time at the start of the run, since the Unix epoch (`[date]`).
    pub unix_start: Duration,
    /// How long a finished call's Call-ID absorbs late messages (SIPp's `-deadcall_wait`).
    pub dead_call_wait: Duration,
    pub(crate) local_ip: String,
    pub(crate) remote_ip: String,
}

/// An IP as SIPp writes it in a URI: IPv6 in brackets.
fn uri_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

impl Env {
    pub fn new(local: SocketAddr, remote: SocketAddr, pid: u32) -> Self {
        Self {
            local,
            remote,
            service: "service".into(),
            remote_host: remote.ip().to_string(),
            pid,
            media_ip: local.ip(),
            media_port: 6000,
            default_pause: Duration::ZERO,
            recv_timeout: None,
            t2: Duration::from_secs(4),
            max_invite_retrans: 5,
            max_non_invite_retrans: 9,
            seed: 1,
            unix_start: Duration::ZERO,
            dead_call_wait: Duration::from_secs(33),
            local_ip: uri_ip(local.ip()),
            remote_ip: uri_ip(remote.ip()),
        }
    }

    #[cfg(test)]
    pub(crate) fn for_tests() -> Self {
        Self::new(
            SocketAddr::from(([127, 0, 0, 1], 5061)),
            SocketAddr::from(([127, 0, 0, 1], 5060)),
            42,
        )
    }
}

impl Scenario {
    /// The steps as SIPp numbers them, for the report.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}
