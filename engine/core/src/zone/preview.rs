//! Previews: a contact shown to a free agent, dialed for that agent once accepted, put off
//! when skipped. Nothing is recorded while the agent looks; the attempt id is reserved so
//! the accepted call dials under the id the agent saw.

use std::sync::Arc;

use super::{call_mode, Decision, Launch, Now, Pacing, Unplaced, Zone, ZoneHost};
use crate::agent::CallInfo;
use crate::attempt::ledger::{self, LedgerEntry};
use crate::domain::{AttemptId, AttemptState, CompletionCode, Contact, ContactId, JobId};
use crate::pacing::PacingPolicy;
use crate::store::Write;

/// How long a skipped preview stays out of the queue, so the next agent sees another contact.
pub const SKIPPED_PREVIEW_DELAY_MS: u64 = 10 * 60 * 1000;

/// What an accepted preview becomes.
#[derive(Debug)]
pub enum PreviewStart {
    /// Record `writes`, then place the call for the agent.
    Launch {
        writes: Vec<Write>,
        launch: Box<Launch>,
    },
    /// No media server had a port: record `writes`; the attempt ended there and its contact
    /// is released once they are durable.
    Unplaced {
        writes: Vec<Write>,
        unplaced: Unplaced,
    },
    /// The preview is unknown here and its contact no longer waits to be dialed.
    Gone,
}

impl<P: Pacing> Zone<P> {
    /// Shows a contact to each free agent of preview job `i`.
    pub(super) fn offer_previews<H: ZoneHost>(
        &mut self,
        i: usize,
        now: Now,
        host: &mut H,
        d: &mut Decision<H::Agent>,
    ) {
        let job = self.jobs[i].id;
        while let Some(agent) = host.free_agent(job) {
            let Some(contact) = host.next_contact(job, now.unix) else {
                // Nobody to preview: the agent stays free (the host puts it back).
                d.ran_dry = true;
                d.unoffered.push(agent);
                return;
            };
            let Some(id) = self.next_id(host) else {
                host.return_contact(job, contact.id);
                return;
            };
            let info = CallInfo {
                attempt: id,
                job,
                contact: contact.id,
                phone: contact.phone.clone(),
                fields: contact.fields.clone(),
            };
            self.previews.insert(id, (job, contact));
            d.offers.push((agent, info));
        }
    }

    /// The agent accepted preview `info`: its attempt opens now. A preview this core does
    /// not hold (a takeover replaced the one that offered it) is read back from storage, if
    /// its job runs here and the contact is still undialed.
    pub fn accept_preview<H: ZoneHost>(
        &mut self,
        info: &CallInfo,
        now: Now,
        epoch: u64,
        host: &mut H,
    ) -> PreviewStart {
        let Some((job, contact)) = self.held_preview(info, host) else {
            return PreviewStart::Gone;
        };
        let Some(campaign) = self
            .jobs
            .iter()
            .find(|j| j.id == job)
            .map(|j| Arc::clone(&j.campaign))
        else {
            return PreviewStart::Gone;
        };
        let origin = self.origin(epoch);
        let Some(media) = host.pick_media(now.unix) else {
            let code = CompletionCode::NoMediaResource;
            let (contact, writes) =
                LedgerEntry::unplaced(contact, info.attempt, &origin, &campaign, code, now.unix);
            return PreviewStart::Unplaced {
                writes,
                unplaced: Unplaced {
                    attempt: info.attempt,
                    job,
                    contact: contact.id,
                    code,
                },
            };
        };
        let (entry, writes) = LedgerEntry::open(
            contact,
            info.attempt,
            &origin,
            AttemptState::Dialing,
            now.unix,
        );
        PreviewStart::Launch {
            writes,
            launch: Box::new(Launch {
                entry,
                campaign,
                mode: call_mode(PacingPolicy::Preview),
                media,
            }),
        }
    }

    /// The agent skipped preview `info` (or left with it): its contact is put off so the next
    /// agent sees another one. Returns the write and the contact to release once it is
    /// durable; None if the preview is unknown and its contact no longer waits.
    pub fn skip_preview<H: ZoneHost>(
        &mut self,
        info: &CallInfo,
        now: Now,
        host: &mut H,
    ) -> Option<(Write, JobId, ContactId)> {
        let (job, contact) = self.held_preview(info, host)?;
        let id = contact.id;
        Some((
            ledger::defer(contact, now.unix + SKIPPED_PREVIEW_DELAY_MS),
            job,
            id,
        ))
    }

    fn held_preview<H: ZoneHost>(
        &mut self,
        info: &CallInfo,
        host: &mut H,
    ) -> Option<(JobId, Contact)> {
        if let Some(held) = self.previews.remove(&info.attempt) {
            return Some(held);
        }
        if !self.has_job(info.job) {
            return None;
        }
        let contact = host.stored_contact(info.job, info.contact)?;
        Some((info.job, contact))
    }

    /// Whether `attempt` is a preview this core holds.
    pub fn holds_preview(&self, attempt: AttemptId) -> bool {
        self.previews.contains_key(&attempt)
    }
}
