//! Live answers waiting for an agent, oldest first. The board pairs the oldest waiting call of
//! a job with that job's longest-idle free agent: the order of service is the queue's, never
//! whichever call happens to look first.

use std::collections::VecDeque;
use std::time::Instant;

use crate::domain::{AttemptId, JobId};

/// One live answer waiting for an agent, and how to reach its call (`C`: the node's call
/// actor, the simulator's call id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting<C> {
    pub attempt: AttemptId,
    pub job: JobId,
    /// When it was answered: its place in the queue.
    pub since: Instant,
    pub call: C,
}

/// The queue itself.
#[derive(Debug)]
pub struct CallQueue<C> {
    calls: VecDeque<Waiting<C>>,
}

impl<C> Default for CallQueue<C> {
    fn default() -> Self {
        Self {
            calls: VecDeque::new(),
        }
    }
}

impl<C> CallQueue<C> {
    /// Queues `w` at its place by answer time: a call that comes back (its hand-over failed)
    /// keeps the place it had.
    pub fn push(&mut self, w: Waiting<C>) {
        let at = self.calls.partition_point(|c| c.since <= w.since);
        self.calls.insert(at, w);
    }

    /// The oldest call of `job`, out of the queue.
    pub fn take_oldest(&mut self, job: JobId) -> Option<Waiting<C>> {
        let i = self.calls.iter().position(|c| c.job == job)?;
        self.calls.remove(i)
    }

    /// `attempt`'s call, out of the queue; None if it is not queued (any more).
    pub fn remove(&mut self, attempt: AttemptId) -> Option<Waiting<C>> {
        let i = self.calls.iter().position(|c| c.attempt == attempt)?;
        self.calls.remove(i)
    }

    /// Every queued call, oldest first, out of the queue.
    pub fn drain(&mut self) -> Vec<Waiting<C>> {
        self.calls.drain(..).collect()
    }

    /// Whether a call of `job` waits.
    pub fn has(&self, job: JobId) -> bool {
        self.calls.iter().any(|c| c.job == job)
    }

    pub fn len(&self) -> usize {
        self.calls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// When the oldest waiting call was answered.
    pub fn oldest(&self) -> Option<Instant> {
        self.calls.front().map(|c| c.since)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn w(attempt: u64, job: u64, at: Instant) -> Waiting<u64> {
        Waiting {
            attempt: AttemptId(attempt),
            job: JobId(job),
            since: at,
            call: attempt,
        }
    }

    #[test]
    fn oldest_first_per_job_and_a_requeued_call_keeps_its_place() {
        let t = crate::clock::now();
        let mut q = CallQueue::default();
        q.push(w(2, 1, t + Duration::from_millis(20)));
        q.push(w(1, 1, t + Duration::from_millis(10)));
        q.push(w(3, 2, t + Duration::from_millis(5)));
        assert_eq!(q.take_oldest(JobId(1)).map(|c| c.call), Some(1));
        // Its hand-over failed: back in front of the younger call.
        q.push(w(1, 1, t + Duration::from_millis(10)));
        assert_eq!(q.take_oldest(JobId(1)).map(|c| c.call), Some(1));
        assert_eq!(q.oldest(), Some(t + Duration::from_millis(5)));
        assert!(q.remove(AttemptId(3)).is_some());
        assert!(q.remove(AttemptId(3)).is_none(), "removed once");
        assert_eq!(q.drain().len(), 1);
        assert!(q.is_empty());
    }
}
