//! Phase 2: the checked campaign the engine runs, and the policies it is made of.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::campaign::hours::CallingHours;
use crate::campaign::{CallerId, CampaignSpec, RetryTable};
use crate::compliance::{DialRules, TestRanges};
use crate::domain::UnixMs;
use crate::pacing::PacingPolicy;

/// A checked campaign definition. Built only by [`CampaignSpec::resolve`]; it keeps the spec
/// it came from for [`Campaign::to_spec_json`].
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    pub(super) name: String,
    pub(super) contacts: Option<PathBuf>,
    pub(super) zone: String,
    pub(super) mode: PacingPolicy,
    pub(super) nuisance: NuisancePolicy,
    pub(super) ring_timeout: Duration,
    pub(super) load_test: bool,
    pub(super) connect_window: Duration,
    pub(super) calling_hours: CallingHours,
    pub(super) retry: RetryTable,
    pub(super) finish: FinishCriteria,
    pub(super) caller_id: Option<CallerId>,
    pub(super) abandon_message: AbandonMessage,
    pub(super) target: Option<SocketAddr>,
    pub(super) test_ranges: Option<TestRanges>,
    pub(super) dial_rules: DialRules,
    pub(super) amd: Option<AmdPolicy>,
    pub(super) spec: CampaignSpec,
}

/// What the answering-machine detector does for a campaign (when it is on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmdPolicy {
    pub on_machine: MachineAction,
}

/// What an answering machine gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MachineAction {
    /// The call is released at the verdict.
    HangUp,
    /// The call waits for the machine's beep (or its absence) and plays this message.
    LeaveMessage(PathBuf),
}

impl Campaign {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Answering-machine detection, when the campaign turns it on.
    pub fn amd(&self) -> Option<&AmdPolicy> {
        self.amd.as_ref()
    }

    /// The CSV contact list, if the campaign names one.
    pub fn contacts(&self) -> Option<&Path> {
        self.contacts.as_deref()
    }

    pub fn zone(&self) -> &str {
        &self.zone
    }

    /// The dialing mode with its pacing parameters: what [`crate::pacing::Pacer::new`] takes.
    pub fn mode(&self) -> PacingPolicy {
        self.mode
    }

    pub fn nuisance(&self) -> NuisancePolicy {
        self.nuisance
    }

    pub fn ring_timeout(&self) -> Duration {
        self.ring_timeout
    }

    pub fn load_test(&self) -> bool {
        self.load_test
    }

    pub fn connect_window(&self) -> Duration {
        self.connect_window
    }

    pub fn calling_hours(&self) -> &CallingHours {
        &self.calling_hours
    }

    pub fn retry(&self) -> &RetryTable {
        &self.retry
    }

    pub fn finish(&self) -> FinishCriteria {
        self.finish
    }

    pub fn caller_id(&self) -> Option<&CallerId> {
        self.caller_id.as_ref()
    }

    pub fn abandon_message(&self) -> &AbandonMessage {
        &self.abandon_message
    }

    pub fn target(&self) -> Option<SocketAddr> {
        self.target
    }

    /// The number prefixes a load test may dial; `None` unless `load_test`.
    pub fn test_ranges(&self) -> Option<&TestRanges> {
        self.test_ranges.as_ref()
    }

    /// The rules each dial obeys: calling hours within the law, redial lock-outs, test ranges.
    /// What a prefetcher asks before it queues a contact (see [`DialRules::check`]).
    pub fn dial_rules(&self) -> &DialRules {
        &self.dial_rules
    }

    /// The definition as given, before defaults.
    /// The `[[trunk]]` named for this campaign's calls (the node checks it exists).
    pub fn trunk(&self) -> Option<&str> {
        self.spec.trunk.as_deref()
    }

    pub fn spec(&self) -> &CampaignSpec {
        &self.spec
    }

    /// The definition as given, as JSON, for the API to store.
    pub fn to_spec_json(&self) -> String {
        self.spec.to_json()
    }
}

/// Which nuisance meter the cap is enforced on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NuisanceWindow {
    /// Since local midnight.
    CalendarDay,
    /// The last 30 days.
    Rolling30Days,
}

/// The nuisance cap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NuisancePolicy {
    /// Most nuisance calls as a fraction of live-answered calls, in (0, 1].
    pub cap: f64,
    pub window: NuisanceWindow,
}

/// When a job finishes on its own: at the first criterion met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinishCriteria {
    pub when_all_final: bool,
    /// Counted from the job's start.
    pub after: Option<Duration>,
    pub at: Option<UnixMs>,
}

/// What a live answer that no agent takes in time hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AbandonMessage {
    /// The built-in generated tone.
    Tone,
    /// A WAV prompt.
    Prompt(PathBuf),
}
