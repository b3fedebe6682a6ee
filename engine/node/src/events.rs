//! Attempt events for library users ([`crate::NodeHandle::subscribe`]): every state change
//! of every attempt, on a broadcast channel. A lagging subscriber loses the oldest events;
//! it never slows a call.

use std::sync::Arc;

use outdial_core::clock::Clock;
use outdial_core::domain::{Attempt, AttemptId, AttemptState, ContactId, JobId, UnixMs};

/// One attempt changed state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AttemptEvent {
    pub attempt: AttemptId,
    pub job: JobId,
    pub contact: ContactId,
    pub state: AttemptState,
    pub at: UnixMs,
}

/// Where attempt events are published. Cheap to clone.
#[derive(Clone)]
pub struct AttemptEvents {
    tx: tokio::sync::broadcast::Sender<AttemptEvent>,
    clock: Arc<dyn Clock>,
}

impl AttemptEvents {
    /// Keeps the last `capacity` events for slow subscribers.
    pub fn new(capacity: usize, clock: Arc<dyn Clock>) -> Self {
        Self {
            tx: tokio::sync::broadcast::channel(capacity).0,
            clock,
        }
    }

    /// Tells subscribers, if any.
    pub fn publish(&self, a: &Attempt) {
        if self.tx.receiver_count() > 0 {
            let _ = self.tx.send(AttemptEvent {
                attempt: a.id,
                job: a.job,
                contact: a.contact,
                state: a.state,
                at: self.clock.unix_ms(),
            });
        }
    }

    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<AttemptEvent> {
        self.tx.subscribe()
    }
}
