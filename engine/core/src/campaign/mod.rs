//! Campaign definitions in two phases: [`CampaignSpec`], the raw TOML/JSON as the user gave
//! it (what the API stores), and [`Campaign`], the checked, typed form the engine runs.
//!
//! [`CampaignSpec::resolve`] reports every problem at once, each with the path of its key
//! (`retry.busy.max_attempts: must be at least 1`), so a user fixes a file in one round; a
//! well-formed campaign that would break a rule of law is refused with every rule it breaks
//! (`caller_id: required ... [caller-id-missing]`, see [`crate::compliance`]). It
//! never touches the file system or the network: the same spec resolves the same way on every
//! node. Enumerations are plain strings in the spec so that a bad value is one problem among
//! others rather than a parse failure that hides the rest.
//!
//! ```text
//!   spec       phase 1: the serde structs of the keys, and SpecError
//!   resolve    phase 1 to 2: checks every key, builds the Campaign
//!   resolved   phase 2: Campaign and the policies it is made of
//!   caller_id  the caller ID's shape (E.164 or SIP URI)
//!   hours      calling hours in the contact's local time
//!   retry      the retry table, and a contact's next state after an attempt
//! ```

mod caller_id;
pub mod hours;
mod resolve;
mod resolved;
pub mod retry;
mod spec;

pub use caller_id::CallerId;
pub use resolved::{
    AbandonMessage, AmdPolicy, Campaign, FinishCriteria, MachineAction, NuisancePolicy,
    NuisanceWindow,
};
pub use retry::RetryTable;
pub use spec::{
    AgentlessSpec, AmdSpec, CallingHoursSpec, CampaignSpec, FinishSpec, NuisanceSpec, RetrySpec,
    SpecError,
};

/// Bounds of the keys, public so docs, the API and tests quote the same numbers.
pub mod bounds {
    /// Most lines per agent (progressive/predictive).
    pub const MAX_LINES_PER_AGENT: f64 = 10.0;
    /// Highest agentless rate, calls per second.
    pub const MAX_RATE_CPS: f64 = 100_000.0;
    /// Most concurrent agentless calls.
    pub const MAX_CONCURRENT: u32 = 1_000_000;
    /// Shortest ring timeout of a real campaign, ms.
    pub const MIN_RING_TIMEOUT_MS: u64 = 15_000;
    /// Shortest ring timeout of a load test, ms.
    pub const MIN_RING_TIMEOUT_LOAD_TEST_MS: u64 = 1_000;
    /// Longest ring timeout, ms.
    pub const MAX_RING_TIMEOUT_MS: u64 = 300_000;
    /// Connect window bounds, ms.
    pub const MIN_CONNECT_WINDOW_MS: u64 = 100;
    pub const MAX_CONNECT_WINDOW_MS: u64 = 10_000;
    /// Longest retry delay, s (30 days).
    pub const MAX_RETRY_DELAY_S: u64 = 30 * 86_400;
    /// Most attempts per contact under one rule.
    pub const MAX_ATTEMPTS: u32 = 100;
    /// Longest campaign name, characters.
    pub const MAX_NAME_CHARS: usize = 128;
    /// Longest zone name, characters.
    pub const MAX_ZONE_CHARS: usize = 64;
}
