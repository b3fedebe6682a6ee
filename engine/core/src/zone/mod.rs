//! The zone core: one zone's dialing decisions, as a plain type.
//!
//! A [`Zone`] holds the jobs dialing in the zone, each with its pacing, the block of attempt
//! ids it hands out and the previews agents are looking at. Its host — the node's zone
//! actor, the simulator, a test — asks it to [`Zone::decide`] whenever something may have
//! changed and performs the [`Decision`]: commit `writes` as one durable batch, then place
//! the `launches` (so an attempt is `Dialing` on disk before its INVITE leaves), settle the
//! `unplaced`, show the `offers`, and come back by `wake_at`. The host supplies what the
//! core does not own through [`ZoneHost`]: the board's snapshot, each job's contact queue
//! and counters, media servers, id blocks.
//!
//! Every contact and attempt change goes through the [`crate::attempt::ledger`]; the core
//! never builds a write by hand.

pub mod board;
mod preview;
pub mod queue;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

pub use preview::PreviewStart;

use crate::agent::CallInfo;
use crate::attempt::flow::CallMode;
use crate::attempt::ledger::{LedgerEntry, Origin};
use crate::campaign::Campaign;
use crate::domain::{AttemptId, AttemptState, CompletionCode, Contact, ContactId, JobId, UnixMs};
use crate::pacing::{Pacer, PacingPolicy, ZoneSnapshot};
use crate::store::{StoreError, Write};

/// How many attempt ids one durable allocation reserves.
pub const ID_BLOCK: u64 = 4096;

/// Decides how many calls a job launches. The engine's [`Pacer`] is the one the node runs;
/// the simulator also plugs in baselines to compare it with.
pub trait Pacing {
    fn policy(&self) -> PacingPolicy;
    /// How many calls to launch now, given the lines the job holds without an agent.
    fn decide(&mut self, now: Instant, snap: &ZoneSnapshot, lines_without_agent: u32) -> u32;
    /// Launches granted by the last decision that did not happen.
    fn give_back(&mut self, n: u32);
    /// When to decide again if nothing happens meanwhile.
    fn next_decision_at(&self, now: Instant) -> Option<Instant>;
}

impl Pacing for Pacer {
    fn policy(&self) -> PacingPolicy {
        Pacer::policy(self)
    }

    fn decide(&mut self, now: Instant, snap: &ZoneSnapshot, lines_without_agent: u32) -> u32 {
        Pacer::decide(self, now, snap, lines_without_agent)
    }

    fn give_back(&mut self, n: u32) {
        Pacer::give_back(self, n)
    }

    fn next_decision_at(&self, now: Instant) -> Option<Instant> {
        Pacer::next_decision_at(self, now)
    }
}

/// What the zone core asks of its host. Every method answers at once (no IO is awaited).
pub trait ZoneHost {
    /// How the host names an agent a preview is shown to.
    type Agent;
    /// The zone's agents and lines as the board last published them.
    fn snapshot(&self) -> ZoneSnapshot;
    /// Whether `job` may launch calls now (running: not paused, stopped or finished).
    fn may_launch(&self, job: JobId) -> bool;
    /// Calls of `job` holding a line without an agent (dialing, ringing, waiting).
    fn lines_without_agent(&self, job: JobId) -> u32;
    /// Fills `snap` with `job`'s predictive measurements (answer rate, handle times, agents
    /// freeing up, the nuisance window's counts).
    fn measure(&mut self, job: JobId, now: Instant, snap: &mut ZoneSnapshot);
    /// The next contact of `job` due now, if its list has one ready.
    fn next_contact(&mut self, job: JobId, now: UnixMs) -> Option<Contact>;
    /// Gives a contact taken from the list back, untouched (nothing was recorded for it).
    fn return_contact(&mut self, job: JobId, contact: ContactId);
    /// A media server with a free port, reserved for one call.
    fn pick_media(&mut self, now: UnixMs) -> Option<usize>;
    fn release_media(&mut self, media: usize);
    /// The first of `n` fresh attempt ids, never handed out before.
    fn allocate_ids(&mut self, n: u64) -> Result<u64, StoreError>;
    /// A free agent of `job` to show a preview to, taken off the board.
    fn free_agent(&mut self, job: JobId) -> Option<Self::Agent>;
    /// `job`'s contact as storage has it, if it is still waiting to be dialed (a preview
    /// offered before a takeover, accepted after it).
    fn stored_contact(&mut self, job: JobId, contact: ContactId) -> Option<Contact>;
}

/// "Now", in both forms the core needs: the monotonic instant pacing runs on, and the wall
/// clock's milliseconds that records and calling hours use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    pub at: Instant,
    pub unix: UnixMs,
}

/// A call to place once the decision's writes are durable.
#[derive(Debug)]
pub struct Launch {
    pub entry: LedgerEntry,
    pub campaign: Arc<Campaign>,
    pub mode: CallMode,
    /// The media server reserved for it.
    pub media: usize,
}

/// An attempt that ended as it was taken (no media server had a port): its contact, to
/// release once the writes are durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unplaced {
    pub attempt: AttemptId,
    pub job: JobId,
    pub contact: ContactId,
    pub code: CompletionCode,
}

/// What one pass of the zone decided.
#[derive(Debug)]
pub struct Decision<A> {
    /// One durable batch: the launches' `Dialing` and the unplaced attempts' outcomes.
    pub writes: Vec<Write>,
    pub launches: Vec<Launch>,
    pub unplaced: Vec<Unplaced>,
    /// Previews to show: nothing is recorded until the agent accepts.
    pub offers: Vec<(A, CallInfo)>,
    /// Agents taken off the board for a preview that had no contact to show: still free.
    pub unoffered: Vec<A>,
    /// When to decide again if nothing happens first.
    pub wake_at: Option<Instant>,
    /// Some job wanted more calls than its list had ready.
    pub ran_dry: bool,
}

impl<A> Default for Decision<A> {
    fn default() -> Self {
        Self {
            writes: Vec::new(),
            launches: Vec::new(),
            unplaced: Vec::new(),
            offers: Vec::new(),
            unoffered: Vec::new(),
            wake_at: None,
            ran_dry: false,
        }
    }
}

impl<A> Decision<A> {
    /// Whether the pass decided nothing to record or show.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.offers.is_empty()
    }
}

/// A job dialing in the zone.
#[derive(Debug)]
struct ZoneJob<P> {
    id: JobId,
    campaign: Arc<Campaign>,
    pacing: P,
}

/// Attempt ids from durable blocks, so taking one costs no I/O.
#[derive(Debug, Default)]
struct IdBlock {
    next: u64,
    end: u64,
}

/// One zone's dialing decisions (see the module doc).
#[derive(Debug)]
pub struct Zone<P = Pacer> {
    name: String,
    node: String,
    jobs: Vec<ZoneJob<P>>,
    ids: IdBlock,
    previews: HashMap<AttemptId, (JobId, Contact)>,
}

impl<P: Pacing> Zone<P> {
    /// The zone `name` as node `node` runs it.
    pub fn new(name: impl Into<String>, node: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            node: node.into(),
            jobs: Vec::new(),
            ids: IdBlock::default(),
            previews: HashMap::new(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Attaches a job with its pacing; false if it is attached already.
    pub fn attach(&mut self, job: JobId, campaign: Arc<Campaign>, pacing: P) -> bool {
        if self.jobs.iter().any(|j| j.id == job) {
            return false;
        }
        self.jobs.push(ZoneJob {
            id: job,
            campaign,
            pacing,
        });
        true
    }

    /// Takes a job off the zone. Returns the contacts of its previews nobody accepted, which
    /// go back to the list.
    pub fn detach(&mut self, job: JobId) -> Vec<ContactId> {
        self.jobs.retain(|j| j.id != job);
        let stale: Vec<AttemptId> = self
            .previews
            .iter()
            .filter(|(_, (j, _))| *j == job)
            .map(|(a, _)| *a)
            .collect();
        stale
            .into_iter()
            .filter_map(|a| self.previews.remove(&a).map(|(_, c)| c.id))
            .collect()
    }

    /// The pacing of `job`, if attached.
    pub fn pacing_mut(&mut self, job: JobId) -> Option<&mut P> {
        self.jobs
            .iter_mut()
            .find(|j| j.id == job)
            .map(|j| &mut j.pacing)
    }

    pub fn has_job(&self, job: JobId) -> bool {
        self.jobs.iter().any(|j| j.id == job)
    }

    fn origin(&self, epoch: u64) -> Origin {
        Origin {
            node: self.node.clone(),
            epoch,
        }
    }

    fn next_id<H: ZoneHost>(&mut self, host: &mut H) -> Option<AttemptId> {
        if self.ids.next >= self.ids.end {
            let first = host.allocate_ids(ID_BLOCK).ok()?;
            self.ids = IdBlock {
                next: first,
                end: first + ID_BLOCK,
            };
        }
        let id = self.ids.next;
        self.ids.next += 1;
        Some(AttemptId(id))
    }

    /// One pass: for each job that may launch, ask its pacing how many calls to place, take
    /// that many contacts, and open an attempt for each (or end it at once when no media
    /// server has a port). Preview jobs show a contact to each free agent instead.
    pub fn decide<H: ZoneHost>(
        &mut self,
        now: Now,
        epoch: u64,
        host: &mut H,
    ) -> Decision<H::Agent> {
        let mut d = Decision::default();
        let snap = host.snapshot();
        let origin = self.origin(epoch);
        let mut no_media: Vec<(usize, Contact)> = Vec::new();
        for i in 0..self.jobs.len() {
            let job = self.jobs[i].id;
            if !host.may_launch(job) {
                continue;
            }
            if self.jobs[i].pacing.policy() == PacingPolicy::Preview {
                self.offer_previews(i, now, host, &mut d);
                continue;
            }
            let want = self.pace(i, now.at, snap, host);
            if let Some(at) = self.jobs[i].pacing.next_decision_at(now.at) {
                d.wake_at = Some(d.wake_at.map_or(at, |w| w.min(at)));
            }
            let mut launched = 0;
            while launched < want {
                let Some(contact) = host.next_contact(job, now.unix) else {
                    break;
                };
                launched += 1;
                let Some(media) = host.pick_media(now.unix) else {
                    no_media.push((i, contact));
                    continue;
                };
                let Some(id) = self.next_id(host) else {
                    host.release_media(media);
                    host.return_contact(job, contact.id);
                    break;
                };
                let (entry, writes) =
                    LedgerEntry::open(contact, id, &origin, AttemptState::Dialing, now.unix);
                d.writes.extend(writes);
                let campaign = Arc::clone(&self.jobs[i].campaign);
                d.launches.push(Launch {
                    entry,
                    mode: call_mode(campaign.mode()),
                    campaign,
                    media,
                });
            }
            if launched < want {
                d.ran_dry = true;
            }
            // The list ran dry (or ids did): keep the unused rate for the next pass.
            self.jobs[i].pacing.give_back(want - launched);
        }
        for (i, contact) in no_media {
            let job = self.jobs[i].id;
            let Some(id) = self.next_id(host) else {
                host.return_contact(job, contact.id);
                continue;
            };
            let code = CompletionCode::NoMediaResource;
            let (contact, writes) =
                LedgerEntry::unplaced(contact, id, &origin, &self.jobs[i].campaign, code, now.unix);
            d.writes.extend(writes);
            d.unplaced.push(Unplaced {
                attempt: id,
                job,
                contact: contact.id,
                code,
            });
        }
        d
    }

    /// How many calls job `i` launches now.
    fn pace<H: ZoneHost>(
        &mut self,
        i: usize,
        now: Instant,
        snap: ZoneSnapshot,
        host: &mut H,
    ) -> u32 {
        let job = &mut self.jobs[i];
        let lines = host.lines_without_agent(job.id);
        let mut snap = snap;
        if matches!(job.pacing.policy(), PacingPolicy::Predictive { .. }) {
            host.measure(job.id, now, &mut snap);
        }
        job.pacing.decide(now, &snap, lines)
    }
}

/// How one call of a campaign in `mode` runs once placed.
pub fn call_mode(mode: PacingPolicy) -> CallMode {
    match mode {
        PacingPolicy::Agentless { .. } => CallMode::Agentless,
        PacingPolicy::Preview => CallMode::Preview,
        _ => CallMode::WithAgent,
    }
}

#[cfg(test)]
mod tests;
