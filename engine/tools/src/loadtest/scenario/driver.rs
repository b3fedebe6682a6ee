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
use std::time::Instant;

use super::call::{Call, Cx, Event};
use super::msg::Received;
use super::report::{ScenarioReport, Tally};
use super::{Env, Scenario};
use crate::loadtest::pace::Pace;
use crate::loadtest::stat_file::Counters;

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
    pace: Pace,
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
            pace: Pace::new(plan.rate, now),
            scn,
            env,
            plan,
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
            .then(|| self.pace.due(self.launched))
    }

    /// The rate calls are launched at now.
    pub fn rate(&self) -> f64 {
        self.pace.rate()
    }

    /// Launches at `rate` from `now` on (the ramp, the control socket).
    pub fn set_rate(&mut self, now: Instant, rate: f64) {
        let now = self.clamp(now);
        self.pace.set_rate(now, self.launched, rate);
    }

    /// Launches no more calls; those in progress play to their end.
    pub fn stop(&mut self) {
        self.stopped = true;
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
            let length = self.last_now.saturating_duration_since(call.started);
            self.tally.call_length.record(length);
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

    /// Response-time repartition by `rtd` name, for the JSON report.
    pub fn repartition(
        &self,
    ) -> std::collections::BTreeMap<String, Vec<crate::loadtest::stat_file::Bucket>> {
        self.tally.repartition(&self.scn)
    }

    /// A snapshot for the stat file, the screen and the control socket.
    pub fn counters(&self) -> Counters {
        let t = &self.tally;
        Counters {
            target_rate: self.pace.rate(),
            created: self.launched,
            current: self.by_call_id.len() as u64,
            successful: t.successful,
            failed: t.failed.clone(),
            retransmissions: t.retransmissions,
            out_of_call: t.stray,
            dead_call: t.dead_call_messages,
            warnings: 0,
            response_times: t.response_times(&self.scn),
            call_length: t.call_length.clone(),
        }
    }

    /// Each scenario message with its count (sent or received), as SIPp's screen lists them.
    pub fn messages(&self) -> Vec<(String, u64)> {
        self.tally
            .messages
            .iter()
            .filter(|m| matches!(m.element, "send" | "recv"))
            .map(|m| {
                let n = if m.element == "send" {
                    m.sent
                } else {
                    m.received
                };
                (format!("{:>3} {} {}", m.index, m.element, m.message), n)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::time::Duration;

    const INVITE: &str = "<send retrans=\"500\"><![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Content-Length: 0
    ]]></send>";
    const ACK: &str = "<send><![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Content-Length: 0
    ]]></send>";

    fn driver(body: &str, calls: u64) -> (Driver, Instant) {
        let xml = format!("<scenario>{body}</scenario>");
        let scn = Scenario::parse(Path::new("t.xml"), &xml, Vec::new()).expect("loads");
        let t0 = outdial_core::clock::Clock::now(&outdial_core::clock::VirtualClock::new());
        let plan = Plan {
            rate: 10.0,
            calls,
            concurrency: 100,
        };
        let mut d = Driver::new(Arc::new(scn), Env::for_tests(), plan, t0);
        d.handle_timeout(t0);
        (d, t0)
    }

    fn sent(d: &mut Driver) -> Vec<String> {
        std::iter::from_fn(|| d.poll_transmit())
            .map(|t| String::from_utf8(t.payload).expect("utf-8"))
            .collect()
    }

    /// A response to `req` with a To tag, as a UAS would send it.
    fn answer(req: &str, status: &str) -> Vec<u8> {
        let m = Received::parse(req).expect("request");
        let h = |n| m.first(n).unwrap_or("");
        format!(
            "SIP/2.0 {status}\r\nVia: {}\r\nFrom: {}\r\nTo: {};tag=uas\r\nCall-ID: {}\r\nCSeq: {}\r\nContent-Length: 0\r\n\r\n",
            h("Via"),
            h("From"),
            h("To"),
            h("Call-ID"),
            h("CSeq")
        )
        .into_bytes()
    }

    fn from() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 5060))
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_call_runs_to_the_end_and_acks_with_the_peer_tag() {
        let body = format!("{INVITE}<recv response=\"100\" optional=\"true\"/><recv response=\"180\" optional=\"true\"/><recv response=\"200\"/>{ACK}");
        let (mut d, t0) = driver(&body, 1);
        let out = sent(&mut d);
        assert_eq!(out.len(), 1);
        assert!(out[0].starts_with("INVITE sip:service@127.0.0.1:5060 SIP/2.0\r\n"));
        d.handle_datagram(t0 + ms(10), from(), &answer(&out[0], "180 Ringing"));
        d.handle_datagram(t0 + ms(20), from(), &answer(&out[0], "200 OK"));
        let ack = sent(&mut d);
        assert_eq!(ack.len(), 1);
        assert!(
            ack[0].starts_with("ACK ") && ack[0].contains(">;tag=uas\r\n"),
            "{}",
            ack[0]
        );
        assert!(d.is_done());
        let r = d.report();
        assert_eq!((r.successful_calls, r.failed_calls), (1, 0));
        assert_eq!(r.messages[2].received, 1);
        assert_eq!(r.messages[1].received, 0);
        assert_eq!(d.tally().answered, 1);
    }

    #[test]
    fn retransmissions_double_until_sipps_limit_then_the_call_fails() {
        let (mut d, t0) = driver(&format!("{INVITE}<recv response=\"200\"/>"), 1);
        assert_eq!(sent(&mut d).len(), 1);
        let mut at = Vec::new();
        let mut t = t0;
        while !d.is_done() {
            t = d.poll_timeout().expect("a timer");
            d.handle_timeout(t);
            if !sent(&mut d).is_empty() {
                at.push((t - t0).as_millis());
            }
        }
        // T1 = 500 ms doubling, 5 retransmissions for an INVITE, failure after the sixth wait.
        assert_eq!(at, [500, 1500, 3500, 7500, 15500]);
        assert_eq!((t - t0).as_millis(), 31_500);
        let r = d.report();
        assert_eq!(r.failed_calls, 1);
        assert_eq!(r.messages[0].retransmissions, 5);
        assert_eq!(r.messages[0].timeouts, 1);
        assert_eq!(d.tally().failed.get("max-retransmissions"), Some(&1));
    }

    #[test]
    fn a_repeated_200_gets_the_ack_again_and_an_unexpected_486_fails_with_an_ack() {
        let body = format!("{INVITE}<recv response=\"200\"/>{ACK}<pause milliseconds=\"1000\"/>");
        let (mut d, t0) = driver(&body, 2);
        let inv = sent(&mut d);
        let ok = answer(&inv[0], "200 OK");
        d.handle_datagram(t0 + ms(5), from(), &ok);
        assert_eq!(sent(&mut d).len(), 1);
        d.handle_datagram(t0 + ms(505), from(), &ok);
        let again = sent(&mut d);
        assert_eq!(again.len(), 1);
        assert!(again[0].starts_with("ACK "));
        d.handle_timeout(t0 + ms(100));
        let inv2 = sent(&mut d);
        assert_eq!(inv2.len(), 1);
        d.handle_datagram(t0 + ms(110), from(), &answer(&inv2[0], "486 Busy Here"));
        let tidy = sent(&mut d);
        assert_eq!(tidy.len(), 1, "{tidy:?}");
        assert!(tidy[0].starts_with("ACK sip:service@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-42-2-0\r\n"), "{}", tidy[0]);
        assert!(tidy[0].contains("CSeq: 1 ACK\r\n"));
        d.handle_timeout(t0 + ms(2000));
        assert!(d.is_done());
        let r = d.report();
        assert_eq!((r.successful_calls, r.failed_calls), (1, 1));
        assert_eq!(r.messages[1].recv_retransmissions, 1);
        assert_eq!(r.messages[2].retransmissions, 1);
        assert_eq!(r.messages[1].unexpected, 1);
        assert_eq!(d.tally().failed.get("486"), Some(&1));
    }

    #[test]
    fn variables_loop_through_a_test_and_a_label() {
        let body = r#"<nop><action><assign assign_to="i" value="0"/></action></nop>
            <label id="top"/>
            <nop counter="turns"><action><add assign_to="i" value="1"/>
              <test assign_to="more" variable="i" compare="less_than" value="3"/></action></nop>
            <nop next="top" test="more"/>
            <nop><action><jump value="5"/></action></nop>
            <nop counter="skipped"/>"#;
        let (mut d, _) = driver(body, 1);
        assert!(d.is_done());
        let r = d.report();
        assert_eq!(r.successful_calls, 1);
        assert_eq!(r.counters.get("turns"), Some(&3));
        assert_eq!(r.counters.get("skipped"), Some(&0));
    }

    #[test]
    fn a_recv_timeout_jumps_to_ontimeout_or_fails_the_call() {
        let body = format!(
            "{INVITE}<recv response=\"200\" timeout=\"2000\" ontimeout=\"late\"/><label id=\"late\"/><recv response=\"600\" timeout=\"100\"/>"
        );
        let (mut d, t0) = driver(&body, 1);
        let inv = sent(&mut d);
        d.handle_datagram(t0 + ms(1), from(), &answer(&inv[0], "100 Trying"));
        // The 100 ends INVITE retransmissions without matching: it is unexpected.
        assert!(d.is_done());
        assert_eq!(d.tally().failed.get("100"), Some(&1));
        let (mut d, t0) = driver(&body, 1);
        sent(&mut d);
        let mut t = t0;
        while !d.is_done() {
            t = d.poll_timeout().expect("timer");
            d.handle_timeout(t);
            sent(&mut d);
        }
        // Retransmissions run until the 2 s timeout jumps, then the 100 ms one fails the call.
        assert_eq!((t - t0).as_millis(), 2100);
        let r = d.report();
        assert_eq!((r.messages[1].timeouts, r.messages[2].timeouts), (1, 1));
        assert_eq!(d.tally().failed.get("recv-timeout"), Some(&1));
    }

    #[test]
    fn rrs_keeps_the_route_set_reversed_and_the_contact_as_next_url() {
        let ack = "<send><![CDATA[
          ACK [next_url] SIP/2.0
          [routes]
          [last_Record-Route:]
          Call-ID: [call_id]
          CSeq: 1 ACK
          Content-Length: 0
        ]]></send>";
        let (mut d, t0) = driver(
            &format!("{INVITE}<recv response=\"200\" rrs=\"true\"/>{ack}"),
            1,
        );
        let inv = sent(&mut d);
        let ok = String::from_utf8(answer(&inv[0], "200 OK")).expect("utf-8").replace(
            "Content-Length: 0",
            "Record-Route: <sip:p1;lr>\r\nRecord-Route: <sip:p2;lr>\r\nContact: <sip:bob@10.0.0.9:5080>\r\nContent-Length: 0",
        );
        d.handle_datagram(t0 + ms(3), from(), ok.as_bytes());
        let out = sent(&mut d);
        assert!(
            out[0].starts_with(
                "ACK sip:bob@10.0.0.9:5080 SIP/2.0\r\nRoute: <sip:p2;lr>, <sip:p1;lr>\r\n\
                 Record-Route: <sip:p1;lr>, <sip:p2;lr>\r\nCall-ID: "
            ),
            "{}",
            out[0]
        );
        // Without Record-Route, [routes] and [last_Record-Route:] take their lines with them.
        let (mut d, t0) = driver(
            &format!("{INVITE}<recv response=\"200\" rrs=\"true\"/>{ack}"),
            1,
        );
        let inv = sent(&mut d);
        d.handle_datagram(t0 + ms(3), from(), &answer(&inv[0], "200 OK"));
        let out = sent(&mut d);
        assert!(out[0].contains(" SIP/2.0\r\nCall-ID: "), "{}", out[0]);
    }

    #[test]
    fn a_rate_change_and_a_stop_take_effect_at_once() {
        let body = "<send><![CDATA[\nOPTIONS sip:a SIP/2.0\nCall-ID: [call_id]\n]]></send>";
        let (mut d, t0) = driver(body, 100);
        d.handle_timeout(t0 + ms(250));
        assert_eq!(d.launched(), 3, "at 10/s: 0, 100 and 200 ms");
        d.set_rate(t0 + ms(250), 100.0);
        assert_eq!(d.poll_timeout(), Some(t0 + ms(260)));
        d.handle_timeout(t0 + ms(300));
        assert_eq!(d.launched(), 8);
        d.stop();
        d.handle_timeout(t0 + ms(1000));
        assert_eq!((d.launched(), d.is_done()), (8, true));
        let c = d.counters();
        assert_eq!((c.created, c.successful, c.target_rate), (8, 8, 100.0));
        assert_eq!(d.messages(), vec![("  0 send OPTIONS".to_owned(), 8)]);
    }

    #[test]
    fn lost_and_failed_checks_are_counted() {
        let body = format!(
            "<send lost=\"100\"><![CDATA[\nOPTIONS sip:a SIP/2.0\nCall-ID: [call_id]\n]]></send>{}",
            "<nop><action><ereg regexp=\"x\" search_in=\"var\" variable=\"unset\" check_it=\"true\" assign_to=\"m\"/></action></nop>"
        );
        let (mut d, _) = driver(&body, 1);
        assert!(sent(&mut d).is_empty());
        assert!(d.is_done());
        let r = d.report();
        assert_eq!((r.messages[0].lost, r.messages[0].sent), (1, 1));
        assert_eq!(r.failed_calls, 1);
        assert_eq!(d.tally().failed.get("regexp-header-missing"), Some(&1));
    }
}
