//! Start-up recovery: an attempt still in flight on disk belongs to a run that died, so its
//! outcome is unknown. It ends `recovered-after-failover` and its contact follows that code's
//! retry rule: nothing stays transient, nothing is lost, and it is never dialed again under
//! the same attempt.

use std::collections::HashMap;

use crate::error::NodeError;
use crate::storage::{GroupCommit, Store, Write, Writer};
use outdial_core::attempt::ledger::{self, LedgerEntry};
use outdial_core::campaign::{Campaign, CampaignSpec};
use outdial_core::domain::{CompletionCode, JobId, UnixMs};

/// Resolves every transient attempt; returns how many there were.
pub fn resolve_in_flight(
    store: &dyn Store,
    commit: &GroupCommit,
    node: &str,
    now: UnixMs,
) -> Result<u64, NodeError> {
    let transient = store.transient_attempts()?;
    let n = resolve(store, commit, transient, now, Vec::new())?;
    if n > 0 {
        tracing::warn!(
            node,
            attempts = n,
            "attempts left in flight by the last run ended recovered-after-failover"
        );
    }
    Ok(n)
}

/// A cluster node just took `zone` under `epoch`: every attempt of the zone's jobs still in
/// flight was dialed by an earlier master (this node dials nothing for the zone before this
/// returns) and is resolved the same way, fenced by the new epoch so that a node which took
/// the zone meanwhile makes this a no-op.
/// `jobs` are the zone's.
pub fn resolve_zone(
    store: &dyn Store,
    writer: &Writer,
    zone: &str,
    jobs: &std::collections::HashSet<JobId>,
    epoch: u64,
    now: UnixMs,
) -> Result<u64, NodeError> {
    let transient: Vec<_> = store
        .transient_attempts()?
        .into_iter()
        .filter(|a| jobs.contains(&a.job))
        .collect();
    let fence = writer.fenced(zone, epoch, Vec::new());
    resolve(store, writer.group(), transient, now, fence)
}

fn resolve(
    store: &dyn Store,
    commit: &GroupCommit,
    transient: Vec<outdial_core::domain::Attempt>,
    now: UnixMs,
    fence: Vec<Write>,
) -> Result<u64, NodeError> {
    if transient.is_empty() {
        return Ok(0);
    }
    let mut campaigns: HashMap<JobId, Option<Campaign>> = HashMap::new();
    let mut writes = Vec::new();
    let code = CompletionCode::RecoveredAfterFailover;
    for attempt in transient.iter().cloned() {
        let campaign = campaigns
            .entry(attempt.job)
            .or_insert_with(|| campaign_of(store, attempt.job))
            .clone();
        let Some(contact) = store.contact(attempt.job, attempt.contact)? else {
            // The contact is gone: the attempt closes alone.
            let mut attempt = attempt;
            writes.push(ledger::close_attempt(&mut attempt, code, now));
            continue;
        };
        // Only the attempt the contact is waiting on moves it; an older one just closes.
        let mut entry = LedgerEntry::stored(attempt, contact);
        writes.extend(entry.close(campaign.as_ref(), code, None, now));
    }
    writes.extend(fence);
    commit.commit_blocking(writes)?;
    Ok(transient.len() as u64)
}

fn campaign_of(store: &dyn Store, job: JobId) -> Option<Campaign> {
    let j = store.job(job).ok()??;
    let rec = store.campaign(j.campaign).ok()??;
    CampaignSpec::from_json(&rec.spec).ok()?.resolve().ok()
}
