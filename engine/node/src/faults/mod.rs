//! Fault injection, on only when the node's config says `[chaos] enabled = true`: what can be
//! broken (a zone's, an agent's, a call's or an MPP's actor; a media server; the SIP socket;
//! the whole process), and the containment that turns a panic in an actor's handler into
//! the restart docs/design.md §4 calls a takeover.
//!
//! actix's `Supervisor` restarts an actor that stops, not one whose handler panics (the
//! panic unwinds through the arbiter's task and the actor is dropped). So every handler of
//! a supervised actor runs inside [`contain`], and a contained panic stops the actor the
//! ordinary way, which its supervisor sees.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use outdial_core::domain::AttemptId;
use outdial_core::sync::{AtomicU64, Ordering};

/// A fault to inject, as `POST /v1/admin/faults` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Fault {
    /// A panic inside the zone's pacing loop (its agent manager): a takeover.
    PanicZone { zone: String },
    /// The zone's actor stops: a takeover.
    KillZone { zone: String },
    /// A panic inside an agent's actor: a takeover of its zone.
    PanicAgent { agent: String },
    /// The agent's actor stops: its session ends (desktop-error) and its zone is taken over.
    KillAgent { agent: String },
    /// A panic inside a call's actor (the given attempt, or any call in flight).
    PanicCall {
        #[serde(default)]
        attempt: Option<AttemptId>,
    },
    /// A call's actor stops (the given attempt, or any call in flight).
    KillCall {
        #[serde(default)]
        attempt: Option<AttemptId>,
    },
    /// A panic inside an MPP's health actor (restarted by its supervisor).
    PanicMpp { mpp: String },
    /// The media server is unusable for `ms`: new attempts go elsewhere or end
    /// no-media-resource.
    MppDown { mpp: String, ms: u64 },
    /// Every INVITE to the media server is answered 503 (Retry-After 1 s) for `ms`.
    #[serde(rename = "mpp-503")]
    Mpp503 { mpp: String, ms: u64 },
    /// Every SIP datagram in or out is dropped for `ms` (retransmissions must cover it).
    SipDrop { ms: u64 },
    /// SIP stalls for `ms`: nothing is read or sent, then everything is.
    SipDelay { ms: u64 },
    /// A panic inside the director (restarted; requests meanwhile wait in its mailbox).
    PanicDirector,
    /// A panic inside the campaign manager (restarted; it resumes its jobs).
    PanicCampaignManager,
    /// The process aborts at once (SIGABRT): no destructor runs, nothing is flushed — what
    /// kill -9 does to the engine's state.
    KillProcess,
}

impl Fault {
    pub fn name(&self) -> &'static str {
        match self {
            Fault::PanicZone { .. } => "panic-zone",
            Fault::KillZone { .. } => "kill-zone",
            Fault::PanicAgent { .. } => "panic-agent",
            Fault::KillAgent { .. } => "kill-agent",
            Fault::PanicCall { .. } => "panic-call",
            Fault::KillCall { .. } => "kill-call",
            Fault::PanicMpp { .. } => "panic-mpp",
            Fault::MppDown { .. } => "mpp-down",
            Fault::Mpp503 { .. } => "mpp-503",
            Fault::SipDrop { .. } => "sip-drop",
            Fault::SipDelay { .. } => "sip-delay",
            Fault::PanicDirector => "panic-director",
            Fault::PanicCampaignManager => "panic-campaign-manager",
            Fault::KillProcess => "kill-process",
        }
    }
}

/// What an actor is told to do to itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, actix::Message)]
#[rtype(result = "()")]
pub enum Inject {
    /// Panic inside the handler (contained by [`contain`]).
    Panic,
    /// Stop now.
    Kill,
}

/// Runs `f`, turning a panic into an error carrying its message. The caller treats the
/// actor's state as lost and stops it.
pub fn contain<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    std::panic::catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        if let Some(s) = p.downcast_ref::<&str>() {
            (*s).to_owned()
        } else if let Some(s) = p.downcast_ref::<String>() {
            s.clone()
        } else {
            "a panic without a message".to_owned()
        }
    })
}

/// The panic an injected fault raises.
pub const INJECTED: &str = "injected fault";

/// Raises the injected panic inside [`contain`], as a handler that failed would, and returns
/// its message: what an actor's `Inject::Panic` handler then treats as its failure.
pub fn raise_contained() -> String {
    contain(|| -> () { panic!("{}", INJECTED) })
        .err()
        .unwrap_or_default()
}

/// Makes injected panics one log line instead of a message and a backtrace on stderr;
/// every other panic still goes to the previous hook. Idempotent.
pub fn quiet_injected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let injected = info.payload().downcast_ref::<String>().map(String::as_str)
                == Some(INJECTED)
                || info.payload().downcast_ref::<&str>() == Some(&INJECTED);
            if injected {
                tracing::debug!(at = ?info.location(), "injected panic");
            } else {
                previous(info);
            }
        }));
    });
}

/// Faults the SIP plant applies: windows in which datagrams are dropped or held, and media
/// servers that answer 503. Times are the plant's monotonic clock.
#[derive(Debug, Default)]
pub struct SipFaults {
    windows: Mutex<Windows>,
    /// Datagrams dropped by a fault, both ways.
    pub dropped: AtomicU64,
}

#[derive(Debug, Default)]
struct Windows {
    drop_until: Option<Instant>,
    stall_until: Option<Instant>,
    reject_503: HashMap<SocketAddr, Instant>,
}

impl SipFaults {
    fn with<R>(&self, f: impl FnOnce(&mut Windows) -> R) -> R {
        // A panic while holding this lock leaves windows that are still windows.
        let mut w = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut w)
    }

    pub fn drop_for(&self, now: Instant, d: Duration) {
        self.with(|w| w.drop_until = w.drop_until.max(Some(now + d)));
    }

    pub fn stall_for(&self, now: Instant, d: Duration) {
        self.with(|w| w.stall_until = w.stall_until.max(Some(now + d)));
    }

    pub fn reject_for(&self, target: SocketAddr, now: Instant, d: Duration) {
        self.with(|w| w.reject_503.insert(target, now + d));
    }

    pub fn dropping(&self, now: Instant) -> bool {
        self.with(|w| w.drop_until.is_some_and(|t| now < t))
    }

    /// Until when SIP is stalled, if it is.
    pub fn stalled_until(&self, now: Instant) -> Option<Instant> {
        self.with(|w| w.stall_until.filter(|t| now < *t))
    }

    pub fn rejecting(&self, target: SocketAddr, now: Instant) -> bool {
        self.with(|w| w.reject_503.get(&target).is_some_and(|t| now < *t))
    }

    pub fn count_dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contained_panic_is_an_error_with_its_message() {
        assert_eq!(contain(|| 7), Ok(7));
        assert_eq!(
            contain(|| -> u32 { panic!("{}", INJECTED) }),
            Err(INJECTED.to_owned())
        );
    }

    #[test]
    fn faults_parse_from_the_admin_api_shape() {
        let f: Fault = serde_json::from_str(r#"{"kind":"panic-zone","zone":"north"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            f,
            Fault::PanicZone {
                zone: "north".into()
            }
        );
        let f: Fault =
            serde_json::from_str(r#"{"kind":"kill-call"}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f, Fault::KillCall { attempt: None });
        let f: Fault = serde_json::from_str(r#"{"kind":"mpp-503","mpp":"m","ms":5}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.name(), "mpp-503");
        assert!(serde_json::from_str::<Fault>(r#"{"kind":"panic-zone"}"#).is_err());
        assert!(serde_json::from_str::<Fault>(r#"{"kind":"melt"}"#).is_err());
    }

    #[test]
    fn sip_windows_open_and_close() {
        let f = SipFaults::default();
        let t0 = outdial_core::clock::now();
        let ms = Duration::from_millis;
        f.drop_for(t0, ms(50));
        assert!(f.dropping(t0 + ms(49)));
        assert!(!f.dropping(t0 + ms(50)));
        f.stall_for(t0, ms(10));
        assert_eq!(f.stalled_until(t0 + ms(5)), Some(t0 + ms(10)));
        assert_eq!(f.stalled_until(t0 + ms(10)), None);
        let a = SocketAddr::from(([127, 0, 0, 1], 5070));
        f.reject_for(a, t0, ms(100));
        assert!(f.rejecting(a, t0 + ms(99)));
        assert!(!f.rejecting(a, t0 + ms(100)));
    }
}
