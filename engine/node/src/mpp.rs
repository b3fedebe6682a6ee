//! Media servers (MPPs): their health from OPTIONS probes and their port capacity, kept in a
//! lock-free table the pacing loop reads to pick where each call goes.

use std::time::{Duration, Instant};

use crate::config::Mpp;
use outdial_core::sync::{AtomicBool, AtomicU32, AtomicU64, Ordering};

/// One MPP's live numbers, shared by its actor (health) and the dialing path (ports).
#[derive(Debug)]
pub struct MppSlot {
    pub config: Mpp,
    healthy: AtomicBool,
    in_use: AtomicU32,
    /// Unix-ms until which it asked us (503 Retry-After) not to send new calls.
    blocked_until_ms: AtomicU64,
}

impl MppSlot {
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    pub fn in_use(&self) -> u32 {
        self.in_use.load(Ordering::Acquire)
    }

    pub fn set_healthy(&self, up: bool) {
        self.healthy.store(up, Ordering::Release);
    }

    pub fn block_until(&self, unix_ms: u64) {
        self.blocked_until_ms.fetch_max(unix_ms, Ordering::AcqRel);
    }

    fn available(&self, now_ms: u64) -> bool {
        self.healthy() && self.blocked_until_ms.load(Ordering::Acquire) <= now_ms
    }
}

/// Every MPP of the node.
#[derive(Debug)]
pub struct MppTable {
    slots: Vec<MppSlot>,
}

impl MppTable {
    /// MPPs start healthy: a dead one is marked down after `down_after_missed` probes go
    /// unanswered (calls sent to it meanwhile end `timeout` and follow their retry rule).
    pub fn new(mpps: &[Mpp]) -> Self {
        Self {
            slots: mpps
                .iter()
                .map(|m| MppSlot {
                    config: m.clone(),
                    healthy: AtomicBool::new(true),
                    in_use: AtomicU32::new(0),
                    blocked_until_ms: AtomicU64::new(0),
                })
                .collect(),
        }
    }

    pub fn slots(&self) -> &[MppSlot] {
        &self.slots
    }

    pub fn slot(&self, i: usize) -> Option<&MppSlot> {
        self.slots.get(i)
    }

    /// Takes a port on the least-loaded available MPP, or `None` when none has one free.
    pub fn pick(&self, now_ms: u64) -> Option<usize> {
        loop {
            let (i, slot) = self
                .slots
                .iter()
                .enumerate()
                .filter(|(_, s)| s.available(now_ms) && s.in_use() < s.config.capacity)
                .min_by_key(|(_, s)| {
                    // Least loaded by share of capacity, in parts per million.
                    u64::from(s.in_use()) * 1_000_000 / u64::from(s.config.capacity.max(1))
                })?;
            let cur = slot.in_use();
            if cur >= slot.config.capacity {
                continue;
            }
            // Another thread may have taken the last port: claim it only if unchanged.
            if slot
                .in_use
                .compare_exchange(cur, cur + 1, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return Some(i);
            }
        }
    }

    /// Gives back the port a call took.
    pub fn release(&self, i: usize) {
        if let Some(s) = self.slots.get(i) {
            // Never below zero, even if release is called twice by mistake.
            let _ = s
                .in_use
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| v.checked_sub(1));
        }
    }
}

/// Health of one MPP from its probes: down after `down_after_missed` unanswered probes in a
/// row, up again on the first answer.
#[derive(Debug, Clone)]
pub struct MppHealth {
    interval: Duration,
    down_after: u32,
    missed: u32,
    outstanding: Option<(u64, Instant)>,
    next_probe: Instant,
    up: bool,
}

/// What the health machine asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthAction {
    None,
    /// Send an OPTIONS carrying this token.
    Probe(u64),
    /// The MPP changed state.
    Changed {
        up: bool,
    },
}

impl MppHealth {
    pub fn new(now: Instant, interval: Duration, down_after: u32) -> Self {
        Self {
            interval,
            down_after: down_after.max(1),
            missed: 0,
            outstanding: None,
            next_probe: now,
            up: true,
        }
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    pub fn next_deadline(&self) -> Instant {
        self.next_probe
    }

    /// Time to probe? An unanswered earlier probe counts as missed.
    pub fn on_tick(&mut self, now: Instant, token: u64) -> Vec<HealthAction> {
        let mut out = Vec::new();
        if now < self.next_probe {
            return out;
        }
        if self.outstanding.take().is_some() {
            self.missed += 1;
            if self.up && self.missed >= self.down_after {
                self.up = false;
                out.push(HealthAction::Changed { up: false });
            }
        }
        self.outstanding = Some((token, now));
        self.next_probe = now + self.interval;
        out.push(HealthAction::Probe(token));
        out
    }

    /// A probe finished: `status` None means the transaction timed out.
    pub fn on_result(&mut self, token: u64, status: Option<u16>) -> HealthAction {
        match self.outstanding {
            Some((t, _)) if t == token => {}
            _ => return HealthAction::None,
        }
        self.outstanding = None;
        // Any answer, even 503, proves the element is alive; 503 back-off is handled apart.
        if status.is_some() {
            self.missed = 0;
            if !self.up {
                self.up = true;
                return HealthAction::Changed { up: true };
            }
            HealthAction::None
        } else {
            self.missed += 1;
            if self.up && self.missed >= self.down_after {
                self.up = false;
                return HealthAction::Changed { up: false };
            }
            HealthAction::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mpp(name: &str, capacity: u32) -> Mpp {
        Mpp {
            name: name.into(),
            address: "127.0.0.1:5070".parse().expect("addr"),
            capacity,
            options_interval: Duration::from_secs(5),
            down_after_missed: 3,
            trunk: None,
        }
    }

    #[test]
    fn picks_least_loaded_healthy_with_free_ports() {
        let t = MppTable::new(&[mpp("a", 2), mpp("b", 4)]);
        assert_eq!(t.pick(0), Some(0));
        assert_eq!(t.pick(0), Some(1));
        assert_eq!(t.pick(0), Some(1), "b at 1/4 is less loaded than a at 1/2");
        t.slot(1).expect("b").set_healthy(false);
        assert_eq!(t.pick(0), Some(0));
        assert_eq!(t.pick(0), None, "a is full and b is down");
        t.release(0);
        assert_eq!(t.pick(0), Some(0));
        t.slot(0).expect("a").block_until(1000);
        t.release(0);
        assert_eq!(t.pick(999), None, "503 Retry-After blocks new calls");
        assert_eq!(t.pick(1000), Some(0));
    }

    #[test]
    fn down_after_missed_probes_up_on_first_answer() {
        let start = outdial_core::clock::VirtualClock::new();
        use outdial_core::clock::Clock;
        let t0 = start.now();
        let mut h = MppHealth::new(t0, Duration::from_secs(5), 3);
        let mut token = 0;
        let mut changes = Vec::new();
        for i in 0..4u32 {
            token += 1;
            let at = t0 + Duration::from_secs(5) * i;
            changes.extend(
                h.on_tick(at, token)
                    .into_iter()
                    .filter(|a| matches!(a, HealthAction::Changed { .. })),
            );
        }
        // Probes at 0, 5, 10 unanswered: the third miss is seen at 15 s.
        assert_eq!(changes, vec![HealthAction::Changed { up: false }]);
        assert!(!h.is_up());
        assert_eq!(
            h.on_result(token, Some(200)),
            HealthAction::Changed { up: true }
        );
        assert_eq!(
            h.on_result(token, Some(200)),
            HealthAction::None,
            "stale result ignored"
        );
    }
}
