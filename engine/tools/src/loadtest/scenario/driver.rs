//! Many calls playing one scenario: started at a rate up to a count, datagrams routed by
//! Call-ID, timers kept in one heap, ended calls remembered for a while so their late
//! retransmissions are absorbed rather than counted as strays (SIPp's dead calls).
//!
//! # Contract
//! After every `handle_timeout` or `handle_datagram`, drain [`Driver::poll_transmit`] and
//! [`Driver::poll_log`] until they return `None`, then sleep until [`Driver::poll_timeout`].
//! Nothing here reads the clock or touches a socket; time going backwards is ignored.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::call::{Call, Cx, Event};
use super::msg::Received;
use super::report::{ScenarioReport, Tally};
use super::{Env, Scenario};

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub dest: SocketAddr,
    pub payload: Vec<u8>,
}

/// How many calls, how fast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    /// Calls per second.
    pub rate: f64,
    pub calls: u64,
    /// Most calls in progress at once; launching waits when reached.
    pub concurrency: u64,
}

#[derive(Debug)]
struct Slot {
    call: Option<Call>,
    /// The deadline last pushed on the heap for this slot.
    armed: Option<Instant>,
}

/// The scenario driver.
#[derive(Debug)]
pub struct Driver {
    scn: Arc<Scenario>,
    env: Env,
    plan: Plan,
    interval: Duration,
    start: Instant,
    last_now: Instant,
    launched: u64,
    slots: Vec<Slot>,
    free: Vec<usize>,
    by_call_id: HashMap<Box<str>, usize>,
    timers: BinaryHeap<Reverse<(Instant, usize)>>,
    dead: HashMap<Box<str>, Instant>,
    dead_order: VecDeque<(Instant, Box<str>)>,
    tally: Tally,
    out: Vec<Vec<u8>>,
    transmits: VecDeque<Transmit>,
    events: Vec<Event>,
    logs: VecDeque<(bool, String)>,
    stopped: bool,
}

impl Driver {
    pub fn new(scn: Arc<Scenario>, env: Env, plan: Plan, now: Instant) -> Self {
        let tally = Tally::new(&scn);
        Self {
            interval: Duration::from_secs_f64(1.0 / plan.rate.clamp(0.001, 1e9)),
            scn,
            env,
            plan,
            start: now,
            last_now: now,
            launched: 0,
            slots: Vec::new(),
            free: Vec::new(),
            by_call_id: HashMap::new(),
            timers: BinaryHeap::new(),
            dead: HashMap::new(),
            dead_order: VecDeque::new(),
            tally,
            out: Vec::new(),
            transmits: VecDeque::new(),
            events: Vec::new(),
            logs: VecDeque::new(),
            stopped: false,
        }
    }

    fn clamp(&mut self, now: Instant) -> Instant {
        if now > self.last_now {
            self.last_now = now;
        }
        self.last_now
    }

    pub fn launched(&self) -> u64 {
        self.launched
    }

    pub fn live(&self) -> usize {
        self.by_call_id.len()
    }

    pub fn successful(&self) -> u64 {
        self.tally.successful
    }

    pub fn failed(&self) -> u64 {
        self.tally.failed_calls
    }

    /// Every call launched (or launching stopped) and ended.
    pub fn is_done(&self) -> bool {
        (self.stopped || self.launched >= self.plan.calls) && self.by_call_id.is_empty()
    }

    fn next_launch(&self) -> Option<Instant> {
        let room = (self.by_call_id.len() as u64) < self.plan.concurrency;
        (!self.stopped && self.launched < self.plan.calls && room)
            .then(|| self.start + self.interval.mul_f64(self.launched as f64))
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        let timer = self.timers.peek().map(|Reverse((at, _))| *at);
        let dead = self.dead_order.front().map(|(at, _)| *at);
        [self.next_launch(), timer, dead]
            .into_iter()
            .flatten()
            .min()
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// A `<log>` (false) or `<warning>` (true) line.
    pub fn poll_log(&mut self) -> Option<(bool, String)> {
        self.logs.pop_front()
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clamp(now);
        while let Some(due) = self.next_launch() {
            if due > now {
                break;
            }
            self.launch(now);
        }
        while let Some(Reverse((at, slot))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(s) = self.slots.get_mut(slot) else {
                continue;
            };
            if s.armed != Some(at) {
                continue;
            }
            s.armed = None;
            self.with_call(slot, |call, cx| call.handle_timeout(cx, now));
        }
        while let Some((at, _)) = self.dead_order.front() {
            if *at > now {
                break;
            }
            if let Some((_, id)) = self.dead_order.pop_front() {
                self.dead.remove(&id);
            }
        }
    }

    pub fn handle_datagram(&mut self, now: Instant, _from: SocketAddr, bytes: &[u8]) {
        let now = self.clamp(now);
        let text = String::from_utf8_lossy(bytes);
        let Some(msg) = Received::parse(&text) else {
            self.tally.junk += 1;
            return;
        };
        // SIPp ties a message to a call by Call-ID only, ignoring a prefix up to "///".
        let Some(id) = msg.call_id().map(|c| c.rsplit("///").next().unwrap_or(c)) else {
            self.tally.junk += 1;
            return;
        };
        match self.by_call_id.get(id).copied() {
            Some(slot) => self.with_call(slot, |call, cx| call.handle_message(cx, now, &text)),
            None if self.dead.contains_key(id) => self.tally.dead_call_messages += 1,
            None => self.tally.stray += 1,
        }
    }

    fn launch(&mut self, now: Instant) {
        self.launched += 1;
        let call = Call::new(&self.scn, &self.env, self.launched, now);
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slots.push(Slot {
                    call: None,
                    armed: None,
                });
                self.slots.len() - 1
            }
        };
        self.by_call_id.insert(call.call_id.clone(), slot);
        self.slots[slot] = Slot {
            call: Some(call),
            armed: None,
        };
        self.with_call(slot, |call, cx| call.start(cx, now));
    }

    /// Runs `f` on the call in `slot`, then collects what it produced and re-arms or retires it.
    fn with_call(&mut self, slot: usize, f: impl FnOnce(&mut Call, &mut Cx<'_>)) {
        let Some(call) = self.slots.get_mut(slot).and_then(|s| s.call.as_mut()) else {
            return;
        };
        let mut cx = Cx {
            scn: &self.scn,
            env: &self.env,
            tally: &mut self.tally,
            out: &mut self.out,
            events: &mut self.events,
        };
        f(call, &mut cx);
        let (ended, deadline) = (call.end().is_some(), call.poll_timeout());
        for payload in self.out.drain(..) {
            self.transmits.push_back(Transmit {
                dest: self.env.remote,
                payload,
            });
        }
        for e in self.events.drain(..) {
            match e {
                Event::Log { warning, text } => self.logs.push_back((warning, text)),
                Event::StopRun => self.stopped = true,
            }
        }
        if ended {
            let Some(call) = self.slots[slot].call.take() else {
                return;
            };
            self.slots[slot].armed = None;
            self.by_call_id.remove(&call.call_id);
            self.free.push(slot);
            let until = self.last_now + self.env.dead_call_wait;
            self.dead.insert(call.call_id.clone(), until);
            self.dead_order.push_back((until, call.call_id));
            return;
        }
        let s = &mut self.slots[slot];
        if deadline != s.armed {
            s.armed = deadline;
            if let Some(at) = deadline {
                self.timers.push(Reverse((at, slot)));
            }
        }
    }

    /// The scenario's counters so far.
    pub fn report(&mut self) -> ScenarioReport {
        self.tally.report(&self.scn)
    }

    pub(crate) fn tally(&mut self) -> &mut Tally {
        &mut self.tally
    }
}
