//! Trunks at run time: each trunk's registration state, written by the SIP plant from the
//! endpoint's registration events and read lock-free by status and metrics.

use std::sync::Arc;

use outdial_core::sync::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use serde::Serialize;

use crate::config::Trunk;

/// Where a trunk's registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationState {
    /// The trunk does not register.
    NotConfigured,
    Registering,
    Registered,
    /// The last attempt failed; a retry is scheduled.
    Failed,
    /// Unregistered (the node is stopping).
    Stopped,
}

impl RegistrationState {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Registering,
            2 => Self::Registered,
            3 => Self::Failed,
            4 => Self::Stopped,
            _ => Self::NotConfigured,
        }
    }

    fn as_u8(self) -> u8 {
        match self {
            Self::NotConfigured => 0,
            Self::Registering => 1,
            Self::Registered => 2,
            Self::Failed => 3,
            Self::Stopped => 4,
        }
    }
}

/// One trunk's live numbers.
#[derive(Debug)]
pub struct TrunkSlot {
    pub config: Arc<Trunk>,
    state: AtomicU8,
    /// The binding's life the registrar granted, in seconds (0 when not registered).
    expires_s: AtomicU64,
    /// Successful REGISTERs (first ones and refreshes).
    registrations: AtomicU64,
    /// Failed attempts (a final error, or no answer).
    failures: AtomicU64,
    /// The last final status of a REGISTER (0: none, or no answer).
    last_status: AtomicU32,
}

/// What status reports of a trunk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrunkStatus {
    pub name: String,
    pub registration: RegistrationState,
    pub expires_s: u64,
    pub registrations: u64,
    pub registration_failures: u64,
    pub last_status: Option<u32>,
}

/// Every trunk of the node.
#[derive(Debug, Default)]
pub struct TrunkTable {
    slots: Vec<TrunkSlot>,
}

impl TrunkTable {
    pub fn new(trunks: &[Arc<Trunk>]) -> Self {
        Self {
            slots: trunks
                .iter()
                .map(|t| TrunkSlot {
                    state: AtomicU8::new(RegistrationState::NotConfigured.as_u8()),
                    config: Arc::clone(t),
                    expires_s: AtomicU64::new(0),
                    registrations: AtomicU64::new(0),
                    failures: AtomicU64::new(0),
                    last_status: AtomicU32::new(0),
                })
                .collect(),
        }
    }

    pub fn slots(&self) -> &[TrunkSlot] {
        &self.slots
    }

    /// The trunk named `name`.
    pub fn find(&self, name: &str) -> Option<&Arc<Trunk>> {
        self.slots
            .iter()
            .map(|s| &s.config)
            .find(|t| t.name == name)
    }

    /// Records a registration's new state for trunk `i`.
    pub fn record(&self, i: usize, state: &sip::register::RegState) {
        let Some(s) = self.slots.get(i) else {
            return;
        };
        use sip::register::RegState as R;
        let (st, expires) = match state {
            R::Registering => (RegistrationState::Registering, 0),
            R::Registered { expires, .. } => {
                s.registrations.fetch_add(1, Ordering::Relaxed);
                s.last_status.store(200, Ordering::Relaxed);
                (RegistrationState::Registered, expires.as_secs())
            }
            R::Failed { status, .. } => {
                s.failures.fetch_add(1, Ordering::Relaxed);
                s.last_status
                    .store(status.map_or(0, u32::from), Ordering::Relaxed);
                (RegistrationState::Failed, 0)
            }
            R::Unregistering | R::Stopped => (RegistrationState::Stopped, 0),
        };
        s.expires_s.store(expires, Ordering::Relaxed);
        s.state.store(st.as_u8(), Ordering::Release);
    }

    pub fn status(&self) -> Vec<TrunkStatus> {
        self.slots
            .iter()
            .map(|s| TrunkStatus {
                name: s.config.name.clone(),
                registration: RegistrationState::from_u8(s.state.load(Ordering::Acquire)),
                expires_s: s.expires_s.load(Ordering::Relaxed),
                registrations: s.registrations.load(Ordering::Relaxed),
                registration_failures: s.failures.load(Ordering::Relaxed),
                last_status: Some(s.last_status.load(Ordering::Relaxed)).filter(|v| *v != 0),
            })
            .collect()
    }

    /// The trunks' metrics in the Prometheus text format, each family whole.
    pub fn metrics(&self) -> String {
        use std::fmt::Write;
        let st = self.status();
        let mut out = String::new();
        // INVARIANT: writing to a String cannot fail.
        let _ = writeln!(out, "# HELP outdial_trunk_registered Whether a trunk's registration is in force.\n# TYPE outdial_trunk_registered gauge");
        for t in &st {
            let up = u8::from(t.registration == RegistrationState::Registered);
            let _ = writeln!(out, "outdial_trunk_registered{{trunk=\"{}\"}} {up}", t.name);
        }
        let _ = writeln!(out, "# HELP outdial_trunk_registrations_total Successful REGISTERs, refreshes included.\n# TYPE outdial_trunk_registrations_total counter");
        for t in &st {
            let _ = writeln!(
                out,
                "outdial_trunk_registrations_total{{trunk=\"{}\"}} {}",
                t.name, t.registrations
            );
        }
        let _ = writeln!(out, "# HELP outdial_trunk_registration_failures_total Failed registration attempts.\n# TYPE outdial_trunk_registration_failures_total counter");
        for t in &st {
            let _ = writeln!(
                out,
                "outdial_trunk_registration_failures_total{{trunk=\"{}\"}} {}",
                t.name, t.registration_failures
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use sip::register::RegState;

    fn trunk(name: &str) -> Arc<Trunk> {
        Arc::new(Trunk {
            name: name.into(),
            transport: sip::Transport::Udp,
            tls_ca_pem: None,
            domain: "pbx.test".into(),
            next_hop: "127.0.0.1:5070".parse().expect("addr"),
            proxy: None,
            credentials: None,
            registration: None,
            from_user: None,
            from_display: None,
            asserted_identity: None,
            privacy: None,
            e164_plus: true,
            session_expires: None,
        })
    }

    #[test]
    fn registration_events_become_status_and_metrics() {
        let table = TrunkTable::new(&[trunk("a"), trunk("b")]);
        let now = sip::time::virtual_epoch();
        table.record(0, &RegState::Registering);
        table.record(
            0,
            &RegState::Failed {
                status: Some(403),
                failures: 1,
                retry_at: now,
            },
        );
        table.record(
            0,
            &RegState::Registered {
                expires: Duration::from_secs(600),
                until: now,
            },
        );
        let st = table.status();
        assert_eq!(st[0].registration, RegistrationState::Registered);
        assert_eq!(st[0].expires_s, 600);
        assert_eq!((st[0].registrations, st[0].registration_failures), (1, 1));
        assert_eq!(st[0].last_status, Some(200));
        assert_eq!(st[1].registration, RegistrationState::NotConfigured);
        let m = table.metrics();
        assert!(
            m.contains("outdial_trunk_registered{trunk=\"a\"} 1\n"),
            "{m}"
        );
        assert!(
            m.contains("outdial_trunk_registered{trunk=\"b\"} 0\n"),
            "{m}"
        );
        assert!(
            m.contains("outdial_trunk_registration_failures_total{trunk=\"a\"} 1\n"),
            "{m}"
        );
        assert!(table.find("b").is_some() && table.find("c").is_none());
    }
}
