//! A zone's board: which agents are logged in and available, which agent-mode jobs run in
//! the zone, and how many of the zone's calls hold a line without an agent. Every change
//! publishes a fresh [`ZoneSnapshot`] to the zone's pacing loop, which reads it without
//! locks; the board's own lock is taken at event rate (an agent's state change, a call's
//! stage change), never per pacing decision.
//!
//! Generic over the agent's handle `A` so the node stores actor addresses here and tests
//! store plain values.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::agent::AgentId;
use crate::domain::JobId;
use crate::pacing::{ZoneSnapshot, ZoneSnapshotCell};
use crate::sync::{AtomicBool, AtomicU64, Ordering};
use crate::zone::queue::{CallQueue, Waiting};

/// Where a call without an agent stands, as the board counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallStage {
    Dialing,
    Ringing,
    /// Answered live, waiting for an agent (inside the connect window).
    Waiting,
}

/// Why a login was refused by the board.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoardError {
    #[error("agent {0} is already logged in")]
    AlreadyLoggedIn(AgentId),
}

#[derive(Debug)]
struct Entry<A> {
    handle: A,
    job: Option<JobId>,
    /// Since when the agent is available (longest-waiting agents take calls first).
    available_since: Option<Instant>,
    /// Since when the agent is on a call or in wrap-up.
    busy_since: Option<Instant>,
}

#[derive(Debug)]
struct Inner<A, C> {
    agents: HashMap<AgentId, Entry<A>>,
    /// Live answers waiting for an agent, oldest first.
    queue: CallQueue<C>,
    /// Agent-mode jobs running in the zone, in the order they started.
    jobs: Vec<JobId>,
    dialing: u32,
    ringing: u32,
    waiting: u32,
}

/// Where a live answer that asks for an agent stands.
#[derive(Debug)]
pub enum Seat<A, C> {
    /// A free agent of its job takes it: hand it over.
    Agent(AgentId, A, Waiting<C>),
    /// It waits in the queue, oldest first.
    Queued,
    /// The zone is being taken over after a failure: the call is released, never assigned.
    Released(Waiting<C>),
}

impl<A, C> Seat<A, C> {
    /// The agent, if one took the call at once.
    pub fn agent(self) -> Option<(AgentId, A, Waiting<C>)> {
        match self {
            Seat::Agent(id, a, w) => Some((id, a, w)),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub struct ZoneBoard<A, C = ()> {
    zone: String,
    cell: Arc<ZoneSnapshotCell>,
    inner: Mutex<Inner<A, C>>,
    /// False while the zone is being taken over: no agent is handed a call.
    in_service: AtomicBool,
    /// True from a failure's takeover until service returns: a live answer arriving then is
    /// released at once, as those waiting when it began were (docs/design.md §5.2 rule 2).
    releasing: AtomicBool,
    /// Counts the zone's outages. A live answer that started waiting under an older outage
    /// count waited across a takeover and is released, never assigned (docs/design.md §5.2 rule 3).
    outages: AtomicU64,
    /// Live answers released as nuisance because a takeover began while they waited.
    released_by_takeover: AtomicU64,
    /// Agents logged out by a state mismatch (or a lost call) after a takeover.
    desktop_errors: AtomicU64,
}

impl<A: Clone, C> ZoneBoard<A, C> {
    pub fn new(zone: String, cell: Arc<ZoneSnapshotCell>) -> Self {
        Self {
            zone,
            cell,
            inner: Mutex::new(Inner {
                agents: HashMap::new(),
                queue: CallQueue::default(),
                jobs: Vec::new(),
                dialing: 0,
                ringing: 0,
                waiting: 0,
            }),
            in_service: AtomicBool::new(true),
            releasing: AtomicBool::new(false),
            outages: AtomicU64::new(0),
            released_by_takeover: AtomicU64::new(0),
            desktop_errors: AtomicU64::new(0),
        }
    }

    /// Whether the zone's agent service is up (no takeover under way).
    pub fn in_service(&self) -> bool {
        self.in_service.load(Ordering::Acquire)
    }

    /// How many outages the zone has had; see `outages`.
    pub fn outage_count(&self) -> u64 {
        self.outages.load(Ordering::Acquire)
    }

    /// A takeover begins: from now on no agent is handed a call, and (after a failure, not
    /// in a planned switchover) every call waiting for one is released: they are returned,
    /// for their calls to be told.
    pub fn service_lost(&self, release_waiting: bool) -> Vec<Waiting<C>> {
        if release_waiting {
            self.outages.fetch_add(1, Ordering::AcqRel);
            self.releasing.store(true, Ordering::Release);
        }
        self.in_service.store(false, Ordering::Release);
        let mut b = self.lock();
        for e in b.agents.values_mut() {
            e.available_since = None;
        }
        let released = if release_waiting {
            b.queue.drain()
        } else {
            Vec::new()
        };
        self.publish(&b);
        released
    }

    /// The takeover is done: agents may be handed calls again.
    pub fn service_restored(&self) {
        self.releasing.store(false, Ordering::Release);
        self.in_service.store(true, Ordering::Release);
    }

    pub fn count_released_by_takeover(&self) {
        self.released_by_takeover.fetch_add(1, Ordering::Relaxed);
    }

    pub fn released_by_takeover(&self) -> u64 {
        self.released_by_takeover.load(Ordering::Relaxed)
    }

    pub fn count_desktop_error(&self) {
        self.desktop_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn desktop_errors(&self) -> u64 {
        self.desktop_errors.load(Ordering::Relaxed)
    }

    /// Drops the entries whose session is gone (an agent actor that died without logging
    /// out): a takeover rebuilds the board from the sessions that answer.
    pub fn retain_live(&self, live: impl Fn(&A) -> bool) -> Vec<AgentId> {
        let mut b = self.lock();
        let dead: Vec<AgentId> = b
            .agents
            .iter()
            .filter(|(_, e)| !live(&e.handle))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &dead {
            b.agents.remove(id);
        }
        if !dead.is_empty() {
            self.publish(&b);
        }
        dead
    }

    pub fn zone(&self) -> &str {
        &self.zone
    }

    /// The cell the zone's pacing loop reads.
    pub fn cell(&self) -> &Arc<ZoneSnapshotCell> {
        &self.cell
    }

    fn lock(&self) -> MutexGuard<'_, Inner<A, C>> {
        // A panic while holding the lock leaves counts that are still counts; carry on.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new session: one per agent at a time.
    pub fn register(&self, agent: AgentId, handle: A) -> Result<(), BoardError> {
        let mut b = self.lock();
        if b.agents.contains_key(&agent) {
            return Err(BoardError::AlreadyLoggedIn(agent));
        }
        b.agents.insert(
            agent,
            Entry {
                handle,
                job: None,
                available_since: None,
                busy_since: None,
            },
        );
        self.publish(&b);
        Ok(())
    }

    pub fn unregister(&self, agent: &AgentId) {
        let mut b = self.lock();
        if b.agents.remove(agent).is_some() {
            self.publish(&b);
        }
    }

    pub fn handle(&self, agent: &AgentId) -> Option<A> {
        self.lock().agents.get(agent).map(|e| e.handle.clone())
    }

    /// Every logged-in agent's handle.
    pub fn handles(&self) -> Vec<(AgentId, A)> {
        self.lock()
            .agents
            .iter()
            .map(|(id, e)| (id.clone(), e.handle.clone()))
            .collect()
    }

    /// The agent's session changed: whether it can take a call, for which job, and whether
    /// it is busy with one (talking or wrapping up). A free agent is handed the oldest call
    /// of its job waiting for one, if any: the caller hands it over (and gives it back with
    /// [`ZoneBoard::requeue`] if that fails).
    pub fn update(
        &self,
        agent: &AgentId,
        available: bool,
        job: Option<JobId>,
        busy: bool,
        now: Instant,
    ) -> Option<Waiting<C>> {
        let mut b = self.lock();
        let in_service = self.in_service();
        let inner = &mut *b;
        let e = inner.agents.get_mut(agent)?;
        let available = available && in_service;
        e.job = job;
        e.available_since = match (available, e.available_since) {
            (true, Some(t)) => Some(t),
            (true, None) => Some(now),
            (false, _) => None,
        };
        e.busy_since = match (busy, e.busy_since) {
            (true, Some(t)) => Some(t),
            (true, None) => Some(now),
            (false, _) => None,
        };
        let handed = match (e.available_since, e.job) {
            (Some(_), Some(job)) => inner.queue.take_oldest(job),
            _ => None,
        };
        if handed.is_some() {
            e.available_since = None;
        }
        self.publish(&b);
        handed
    }

    /// A live answer starts waiting for an agent. The longest-idle free agent of its job
    /// takes it at once if there is one (for the caller to hand over); else the call queues,
    /// oldest first, until an agent frees up. While a failure's takeover is under way it is
    /// released instead: the check and the queueing are under the lock the takeover drains
    /// the queue under, so no call slips in behind the release.
    pub fn wait_for_agent(&self, w: Waiting<C>) -> Seat<A, C> {
        let mut b = self.lock();
        if self.in_service() {
            if let Some((id, handle)) = Self::take_free(&mut b, w.job) {
                self.publish(&b);
                return Seat::Agent(id, handle, w);
            }
        } else if self.releasing.load(Ordering::Acquire) {
            return Seat::Released(w);
        }
        b.queue.push(w);
        Seat::Queued
    }

    /// A hand-over failed (the agent changed its mind): the call takes its place in the queue
    /// again, or, if an agent of its job is free now, that agent.
    pub fn requeue(&self, w: Waiting<C>) -> Seat<A, C> {
        self.wait_for_agent(w)
    }

    /// The call stopped waiting (its window closed, its customer left). False if it was not
    /// queued: an agent was handed it meanwhile and the hand-over is on its way.
    pub fn stop_waiting(&self, attempt: crate::domain::AttemptId) -> bool {
        self.lock().queue.remove(attempt).is_some()
    }

    /// How many live answers wait for an agent, and since when the oldest does.
    pub fn queue_len(&self) -> (usize, Option<Instant>) {
        let b = self.lock();
        (b.queue.len(), b.queue.oldest())
    }

    fn take_free(b: &mut Inner<A, C>, job: JobId) -> Option<(AgentId, A)> {
        let (id, e) = b
            .agents
            .iter_mut()
            .filter(|(_, e)| e.job == Some(job) && e.available_since.is_some())
            .min_by_key(|(_, e)| e.available_since)?;
        e.available_since = None;
        Some((id.clone(), e.handle.clone()))
    }

    /// Takes the longest-waiting available agent of `job` for a call: it stops counting as
    /// available until its session says otherwise. The caller offers it the call; if the
    /// session refuses (it changed meanwhile), its next update restores the truth.
    pub fn take_available(&self, job: JobId) -> Option<(AgentId, A)> {
        if !self.in_service() {
            return None;
        }
        let mut b = self.lock();
        let out = Self::take_free(&mut b, job)?;
        self.publish(&b);
        Some(out)
    }

    /// A call of the zone moved between the stages that hold a line without an agent.
    pub fn call_moved(&self, from: Option<CallStage>, to: Option<CallStage>) {
        if from == to {
            return;
        }
        let mut b = self.lock();
        for (stage, delta) in [(from, -1i64), (to, 1)] {
            let Some(stage) = stage else { continue };
            let n = match stage {
                CallStage::Dialing => &mut b.dialing,
                CallStage::Ringing => &mut b.ringing,
                CallStage::Waiting => &mut b.waiting,
            };
            *n = if delta < 0 {
                n.saturating_sub(1)
            } else {
                n.saturating_add(1)
            };
        }
        self.publish(&b);
    }

    /// An agent-mode job started dialing in the zone.
    pub fn job_started(&self, job: JobId) {
        let mut b = self.lock();
        if !b.jobs.contains(&job) {
            b.jobs.push(job);
        }
    }

    /// A job stopped; returns the agents that were attached to it.
    pub fn job_stopped(&self, job: JobId) -> Vec<(AgentId, A)> {
        let mut b = self.lock();
        b.jobs.retain(|j| *j != job);
        b.agents
            .iter()
            .filter(|(_, e)| e.job == Some(job))
            .map(|(id, e)| (id.clone(), e.handle.clone()))
            .collect()
    }

    /// Agents attached to no job (they take the next job that starts).
    pub fn agents_without_job(&self) -> Vec<A> {
        self.lock()
            .agents
            .values()
            .filter(|e| e.job.is_none())
            .map(|e| e.handle.clone())
            .collect()
    }

    /// The running job a newly free agent should work for: the one with the fewest agents.
    pub fn job_for_agent(&self) -> Option<JobId> {
        let b = self.lock();
        b.jobs
            .iter()
            .copied()
            .min_by_key(|j| b.agents.values().filter(|e| e.job == Some(*j)).count())
    }

    pub fn jobs(&self) -> Vec<JobId> {
        self.lock().jobs.clone()
    }

    /// For each busy agent, how long it has been busy (the estimator predicts who frees up).
    pub fn busy_elapsed(&self, now: Instant) -> Vec<Duration> {
        self.lock()
            .agents
            .values()
            .filter_map(|e| e.busy_since.map(|t| now.saturating_duration_since(t)))
            .collect()
    }

    /// The counts as they stand, without the estimator's fields.
    pub fn counts(&self) -> ZoneSnapshot {
        Self::counts_of(&self.lock())
    }

    fn counts_of(b: &Inner<A, C>) -> ZoneSnapshot {
        let ready = b
            .agents
            .values()
            .filter(|e| e.available_since.is_some())
            .count();
        ZoneSnapshot {
            agents_ready: u32::try_from(ready).unwrap_or(u32::MAX),
            agents_total: u32::try_from(b.agents.len()).unwrap_or(u32::MAX),
            calls_dialing: b.dialing,
            calls_ringing: b.ringing,
            calls_waiting: b.waiting,
            ..ZoneSnapshot::default()
        }
    }

    fn publish(&self, b: &Inner<A, C>) {
        let fresh = Self::counts_of(b);
        // Keep the estimator's fields (the zone loop refreshes them on its own schedule).
        let mut snap = self.cell.load();
        snap.agents_ready = fresh.agents_ready;
        snap.agents_total = fresh.agents_total;
        snap.calls_dialing = fresh.calls_dialing;
        snap.calls_ringing = fresh.calls_ringing;
        snap.calls_waiting = fresh.calls_waiting;
        self.cell.publish(snap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board() -> ZoneBoard<u32> {
        ZoneBoard::new("north".into(), Arc::new(ZoneSnapshotCell::default()))
    }

    #[test]
    fn one_session_per_agent() {
        let b = board();
        assert!(b.register(AgentId("a".into()), 1).is_ok());
        assert_eq!(
            b.register(AgentId("a".into()), 2),
            Err(BoardError::AlreadyLoggedIn(AgentId("a".into())))
        );
        b.unregister(&AgentId("a".into()));
        assert!(b.register(AgentId("a".into()), 3).is_ok());
    }

    #[test]
    fn longest_waiting_agent_of_the_job_takes_the_call() {
        let b = board();
        let t0 = crate::clock::now();
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            b.register(AgentId((*name).into()), i as u32).ok();
        }
        b.update(&AgentId("b".into()), true, Some(JobId(1)), false, t0);
        b.update(
            &AgentId("a".into()),
            true,
            Some(JobId(1)),
            false,
            t0 + Duration::from_secs(1),
        );
        b.update(&AgentId("c".into()), true, Some(JobId(2)), false, t0);
        assert_eq!(b.cell().load().agents_ready, 3);
        assert_eq!(b.take_available(JobId(1)).map(|x| x.1), Some(1));
        assert_eq!(b.take_available(JobId(1)).map(|x| x.1), Some(0));
        assert_eq!(b.take_available(JobId(1)), None);
        assert_eq!(b.cell().load().agents_ready, 1);
        // Staying available keeps the agent's place in the queue.
        b.update(
            &AgentId("c".into()),
            true,
            Some(JobId(2)),
            false,
            t0 + Duration::from_secs(5),
        );
        assert_eq!(b.take_available(JobId(2)).map(|x| x.1), Some(2));
    }

    #[test]
    fn call_stages_are_counted_and_published() {
        let b = board();
        b.call_moved(None, Some(CallStage::Dialing));
        b.call_moved(None, Some(CallStage::Dialing));
        b.call_moved(Some(CallStage::Dialing), Some(CallStage::Ringing));
        b.call_moved(Some(CallStage::Ringing), Some(CallStage::Waiting));
        let s = b.cell().load();
        assert_eq!(
            (s.calls_dialing, s.calls_ringing, s.calls_waiting),
            (1, 0, 1)
        );
        b.call_moved(Some(CallStage::Waiting), None);
        b.call_moved(Some(CallStage::Dialing), None);
        // Never below zero, whatever the order of events.
        b.call_moved(Some(CallStage::Dialing), None);
        assert_eq!(b.cell().load().calls_without_agent(), 0);
    }

    #[test]
    fn a_new_agent_goes_to_the_job_with_fewest_agents() {
        let b = board();
        b.job_started(JobId(1));
        b.job_started(JobId(2));
        b.register(AgentId("a".into()), 0).ok();
        b.update(
            &AgentId("a".into()),
            false,
            Some(JobId(1)),
            false,
            crate::clock::now(),
        );
        assert_eq!(b.job_for_agent(), Some(JobId(2)));
        let moved = b.job_stopped(JobId(1));
        assert_eq!(moved.len(), 1);
        assert_eq!(b.job_for_agent(), Some(JobId(2)));
    }

    #[test]
    fn no_agent_is_handed_a_call_while_out_of_service() {
        let b = board();
        let t0 = crate::clock::now();
        b.register(AgentId("a".into()), 7).ok();
        b.update(&AgentId("a".into()), true, Some(JobId(1)), false, t0);
        b.service_lost(true);
        assert_eq!(b.outage_count(), 1);
        assert_eq!(b.cell().load().agents_ready, 0);
        assert_eq!(b.take_available(JobId(1)), None);
        // A session saying it is free during the outage is not believed yet.
        b.update(&AgentId("a".into()), true, Some(JobId(1)), false, t0);
        assert_eq!(b.take_available(JobId(1)), None);
        b.service_restored();
        b.update(&AgentId("a".into()), true, Some(JobId(1)), false, t0);
        assert_eq!(b.take_available(JobId(1)).map(|x| x.1), Some(7));
    }

    #[test]
    fn dead_sessions_leave_the_board() {
        let b = board();
        b.register(AgentId("a".into()), 1).ok();
        b.register(AgentId("b".into()), 2).ok();
        assert_eq!(b.retain_live(|h| *h != 2), vec![AgentId("b".into())]);
        assert_eq!(b.handles().len(), 1);
    }

    fn waiting(attempt: u64, job: u64, since: Instant) -> Waiting<u64> {
        Waiting {
            attempt: crate::domain::AttemptId(attempt),
            job: JobId(job),
            since,
            call: attempt,
        }
    }

    #[test]
    fn the_oldest_waiting_call_goes_to_the_next_free_agent_of_its_job() {
        let b: ZoneBoard<u32, u64> =
            ZoneBoard::new("north".into(), Arc::new(ZoneSnapshotCell::default()));
        let t0 = crate::clock::now();
        let ms = |n| t0 + Duration::from_millis(n);
        b.register(AgentId("a".into()), 1).ok();
        b.update(&AgentId("a".into()), true, Some(JobId(1)), false, t0);
        // A free agent takes the first answer at once.
        let got = b.wait_for_agent(waiting(10, 1, ms(1))).agent();
        assert_eq!(got.map(|(_, a, w)| (a, w.call)), Some((1, 10)));
        // Nobody free: the next answers queue, the older first.
        assert!(matches!(
            b.wait_for_agent(waiting(12, 1, ms(3))),
            Seat::Queued
        ));
        assert!(matches!(
            b.wait_for_agent(waiting(11, 1, ms(2))),
            Seat::Queued
        ));
        assert!(matches!(
            b.wait_for_agent(waiting(20, 2, ms(1))),
            Seat::Queued
        ));
        assert_eq!(b.queue_len(), (3, Some(ms(1))));
        // The agent frees up: it is handed the oldest call of its job, not of another.
        let handed = b.update(&AgentId("a".into()), true, Some(JobId(1)), false, ms(5));
        assert_eq!(handed.map(|w| w.call), Some(11));
        assert_eq!(b.cell().load().agents_ready, 0, "handed a call, not free");
        // Its hand-over fails: the call keeps its place ahead of the younger one.
        assert!(matches!(b.requeue(waiting(11, 1, ms(2))), Seat::Queued));
        let handed = b.update(&AgentId("a".into()), true, Some(JobId(1)), false, ms(6));
        assert_eq!(handed.map(|w| w.call), Some(11));
        // A call handed over meanwhile is no longer queued; one still queued is.
        assert!(!b.stop_waiting(crate::domain::AttemptId(11)));
        assert!(b.stop_waiting(crate::domain::AttemptId(12)));
    }

    #[test]
    fn a_takeover_releases_the_waiting_calls_and_a_switchover_keeps_them() {
        let b: ZoneBoard<u32, u64> =
            ZoneBoard::new("north".into(), Arc::new(ZoneSnapshotCell::default()));
        let t0 = crate::clock::now();
        assert!(matches!(b.wait_for_agent(waiting(1, 1, t0)), Seat::Queued));
        assert!(
            b.service_lost(false).is_empty(),
            "a planned switchover keeps them"
        );
        b.register(AgentId("a".into()), 7).ok();
        // Out of service: nobody is handed a call.
        assert!(b
            .update(&AgentId("a".into()), true, Some(JobId(1)), false, t0)
            .is_none());
        b.service_restored();
        let handed = b.update(&AgentId("a".into()), true, Some(JobId(1)), false, t0);
        assert_eq!(handed.map(|w| w.call), Some(1));
        assert!(matches!(b.wait_for_agent(waiting(2, 1, t0)), Seat::Queued));
        let released = b.service_lost(true);
        assert_eq!(released.iter().map(|w| w.call).collect::<Vec<_>>(), vec![2]);
        assert_eq!(b.queue_len().0, 0);
        // An answer arriving during the takeover is released too, not queued for later.
        assert!(matches!(b.wait_for_agent(waiting(3, 1, t0)), Seat::Released(w) if w.call == 3));
        assert_eq!(b.queue_len().0, 0);
        b.service_restored();
        assert!(matches!(b.wait_for_agent(waiting(4, 1, t0)), Seat::Queued));
    }
}
