//! The storage contract: the records the dialer keeps, the write batches it commits, and the
//! `Store` trait the node's storage (sled, PostgreSQL) implements.
//!
//! Durability contract: when `commit` returns `Ok`, every write of the batch is on disk and the
//! batch is atomic (all or nothing after a crash). The engine relies on it: an attempt is
//! `Dialing` on disk before its INVITE leaves. The node's group commit batches many callers'
//! writes into one commit so durability does not cap the call rate.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::compliance::NumberHistory;
use crate::domain::{
    Attempt, CampaignId, CompletionCode, Contact, ContactId, ContactState, JobId, UnixMs,
};

/// A stored campaign: its id, name and the definition as the user gave it (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignRecord {
    pub id: CampaignId,
    pub name: String,
    /// The campaign definition, serialised JSON of `campaign::CampaignSpec`.
    pub spec: String,
    pub created_at: UnixMs,
}

/// A job's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobState {
    /// Contacts loaded, not dialing.
    Created,
    Running,
    Paused,
    /// Stopped by a user: no more dialing, in-flight calls finish.
    Stopped,
    /// Finish criteria met.
    Finished,
}

/// One run of a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub id: JobId,
    pub campaign: CampaignId,
    pub zone: String,
    pub state: JobState,
    pub created_at: UnixMs,
    pub updated_at: UnixMs,
}

/// Which node masters a zone, under which fencing epoch. Each new master takes the next
/// epoch, so writes stamped with an older one are recognisably stale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneOwner {
    pub zone: String,
    pub node: String,
    pub epoch: u64,
    pub since: UnixMs,
}

/// One write of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    Campaign(CampaignRecord),
    Job(Job),
    /// A contact's new value. `was` is its state before this write (None for a new contact),
    /// so the store can maintain its index of dialable contacts without reading first.
    Contact {
        contact: Contact,
        was: Option<ContactState>,
    },
    Attempt(Attempt),
    /// A number was dialed at `at`: its history (the lock-outs and daily caps of the law)
    /// records it. The store applies it to the number's history, in the batch.
    Dialed {
        number: String,
        at: UnixMs,
    },
    /// The number's call dialed last ended at `at` with `code`.
    Ended {
        number: String,
        at: UnixMs,
        code: CompletionCode,
    },
    ZoneOwner(ZoneOwner),
    /// The batch applies only while `fence.node` still holds lease `fence.lease` under
    /// `fence.epoch`; otherwise the whole batch is rejected with [`StoreError::Fenced`]. A
    /// cluster store checks it inside the batch's transaction, holding the lease row against a
    /// concurrent takeover until the batch commits. The embedded store has one writer and no
    /// leases, so it accepts every fence.
    Fence(Fence),
}

/// A write's claim to be made by a lease's current holder (see [`Write::Fence`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fence {
    pub lease: String,
    pub node: String,
    pub epoch: u64,
}

/// Counts of a job's contacts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactCounts {
    pub total: u64,
    /// Ready now or scheduled for a retry.
    pub ready: u64,
    pub in_flight: u64,
    pub final_: u64,
}

/// Why storage failed. `Clone` so a group commit can hand one failure to every waiter.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend failed: the disk, the database or the connection to it, a worker that
    /// did not answer in time.
    #[error("storage I/O: {what}")]
    Io {
        what: String,
        #[source]
        source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    },
    /// A record on disk did not decode: corruption, or a format from another version.
    #[error("corrupt record under key {key}: {why}")]
    Corrupt { key: String, why: String },
    /// The group committer is gone (its thread stopped).
    #[error("storage writer stopped")]
    Closed,
    /// A write stamped with a lease this node no longer holds: another node took the lease
    /// under a newer epoch, so this node is a stale master and its writes must not land.
    #[error("stale master: lease {lease} is no longer held by {node} under epoch {epoch}")]
    Fenced {
        lease: String,
        node: String,
        epoch: u64,
    },
}

impl StoreError {
    /// The backend failed doing `what`, because of `source`.
    pub fn io(
        what: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Io {
            what: what.into(),
            source: Some(Arc::new(source)),
        }
    }

    /// The backend failed doing `what`, with no underlying error to show (a timeout, a
    /// result that should not be).
    pub fn io_failed(what: impl Into<String>) -> Self {
        Self::Io {
            what: what.into(),
            source: None,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Everything the engine persists. Implementations must be safe to call from many threads.
pub trait Store: Send + Sync + 'static {
    /// Applies `batch` atomically and durably (see the module contract).
    fn commit(&self, batch: &[Write]) -> StoreResult<()>;

    fn campaign(&self, id: CampaignId) -> StoreResult<Option<CampaignRecord>>;
    fn campaigns(&self) -> StoreResult<Vec<CampaignRecord>>;
    fn job(&self, id: JobId) -> StoreResult<Option<Job>>;
    fn jobs(&self) -> StoreResult<Vec<Job>>;
    fn contact(&self, job: JobId, id: ContactId) -> StoreResult<Option<Contact>>;

    /// Up to `limit` contacts of `job` that are Ready with `not_before <= now`, oldest due
    /// first. A cluster store claims them for this node; the embedded one owns them all.
    fn due_contacts(&self, job: JobId, now: UnixMs, limit: usize) -> StoreResult<Vec<Contact>>;

    /// The earliest `not_before` among `job`'s Ready contacts, if any.
    fn next_due(&self, job: JobId) -> StoreResult<Option<UnixMs>>;

    fn contact_counts(&self, job: JobId) -> StoreResult<ContactCounts>;

    /// Every attempt of `job`, in id order.
    fn attempts(&self, job: JobId) -> StoreResult<Vec<Attempt>>;

    /// Every attempt not yet Completed, across jobs (what recovery resolves at start-up).
    fn transient_attempts(&self) -> StoreResult<Vec<Attempt>>;

    /// The recorded master of `zone`, if any node has taken it.
    fn zone_owner(&self, zone: &str) -> StoreResult<Option<ZoneOwner>>;

    /// A fresh block of `n` ids from a durable counter named `kind` (never handed out twice,
    /// even across crashes). Returns the first id of the block.
    fn allocate_ids(&self, kind: &str, n: u64) -> StoreResult<u64>;

    /// A number's recent attempts and outcomes, across every job (what the lock-outs and
    /// daily caps of the law are judged on). Empty for a number never dialed.
    fn number_history(&self, number: &str) -> StoreResult<NumberHistory>;

    /// Calls `f` with every contact of `job`, in id order, without loading them all at once
    /// (the importer uses it to refuse phones the job already has). The default visits
    /// nothing, so with a store that does not override it duplicates are only caught within
    /// one import.
    fn for_each_contact(&self, job: JobId, f: &mut dyn FnMut(&Contact)) -> StoreResult<()> {
        let _ = (job, f);
        Ok(())
    }
}

/// Applies a history write to `h` (the stores' one definition of what `Dialed`/`Ended` do).
pub fn apply_history(h: &mut NumberHistory, w: &Write) {
    match w {
        Write::Dialed { at, .. } => h.record_dial(*at),
        Write::Ended { at, code, .. } => h.record_end(*at, *code),
        _ => {}
    }
}
