//! One call playing the scenario: a sans-IO interpreter of SIPp's call semantics.
//!
//! # Contract
//! The driver calls [`Call::start`] once, then [`Call::handle_message`] for each datagram with
//! this call's Call-ID and [`Call::handle_timeout`] when [`Call::poll_timeout`] is due; each
//! of them appends the datagrams to send to `cx.out` and may end the call ([`Call::end`]).
//! Nothing here reads the clock or touches a socket.
//!
//! What SIPp does and this follows (call.cpp): a `<send>` waits while the previous message's
//! retransmissions are running; a received message is matched forward through optional
//! `<recv>`s up to the first mandatory one, then backward through the optional ones just
//! passed; an exact repeat of the message that triggered our last send makes us send it again;
//! anything else unexpected fails the call after SIPp's default answers (ACK, CANCEL, BYE or a
//! 200 to a BYE/CANCEL). Incoming-message handling is in `call_incoming.rs`.

use std::time::{Duration, Instant};

use super::actions::{self, Action, ActionFailure, SearchIn};
use super::dist::Rng;
use super::msg::Received;
use super::report::Tally;
use super::template::{RenderCx, RenderError, Template};
use super::vars::{Value, Vars};
use super::{Env, Outgoing, PauseLen, Scenario, StepKind};

/// Steps one wake-up may run before the call is failed as looping (`next` to itself, jumps).
const MAX_STEPS_PER_WAKE: usize = 10_000;

/// What the calls tell the driver besides datagrams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    Log {
        warning: bool,
        text: String,
    },
    /// `exec int_cmd="stop_now"`: stop launching and end the run.
    StopRun,
}

/// The driver's side of a call's work: where datagrams, counts and events go.
pub(crate) struct Cx<'a> {
    pub scn: &'a Scenario,
    pub env: &'a Env,
    pub tally: &'a mut Tally,
    pub out: &'a mut Vec<Vec<u8>>,
    pub events: &'a mut Vec<Event>,
}

/// Why a call failed (SIPp's failure counters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// An unexpected response (its status) or request (its method).
    UnexpectedResponse(u16),
    UnexpectedRequest(String),
    RecvTimeout,
    MaxRetransmissions,
    Action(ActionFailure),
    /// `exec int_cmd="stop_call"`.
    Stopped,
    Render(RenderError),
    /// An ACK whose CSeq is not the INVITE's (SIPp's `badcseq` behaviour).
    AckCseq,
    Looping,
    /// A `<jump>` outside the scenario.
    BadJump,
}

impl Failure {
    pub fn key(&self) -> String {
        match self {
            Failure::UnexpectedResponse(c) => c.to_string(),
            Failure::UnexpectedRequest(m) => format!("unexpected-{m}"),
            Failure::RecvTimeout => "recv-timeout".into(),
            Failure::MaxRetransmissions => "max-retransmissions".into(),
            Failure::Action(a) => a.key().into(),
            Failure::Stopped => "call-stopped".into(),
            Failure::Render(_) => "render-error".into(),
            Failure::AckCseq => "ack-cseq".into(),
            Failure::Looping => "looping".into(),
            Failure::BadJump => "bad-jump".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    Success,
    Failed(Failure),
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Retrans {
    pub at: Instant,
    pub count: u32,
    pub delay: Duration,
    pub invite: bool,
}

/// The message that triggered our last send, kept to answer its retransmissions.
#[derive(Debug, Clone, Copy)]
pub(super) struct RecvRetrans {
    pub hash: u64,
    pub recv: usize,
    pub send: usize,
}

/// One call's state.
#[derive(Debug)]
pub(crate) struct Call {
    pub number: u64,
    pub call_id: Box<str>,
    pub(super) index: usize,
    pub(super) cseq: u32,
    pub(super) started: Instant,
    pub(super) paused_until: Option<Instant>,
    pub(super) retrans: Option<Retrans>,
    pub(super) recv_deadline: Option<Instant>,
    /// The last message sent, while its retransmissions run.
    pub(super) last_send: Vec<u8>,
    pub(super) last_send_invite: bool,
    pub(super) last_send_index: Option<usize>,
    pub(super) last_recv: Option<String>,
    pub(super) last_recv_index: Option<usize>,
    pub(super) last_recv_hash: u64,
    pub(super) recv_retrans: Option<RecvRetrans>,
    pub(super) last_invite_cseq: Option<u32>,
    pub(super) peer_tag: Option<String>,
    pub(super) routes: Option<String>,
    pub(super) next_url: Option<String>,
    pub(super) challenge: Option<(u16, String)>,
    pub(super) nonce_count: u32,
    pub(super) vars: Vars,
    pub(super) rtd_start: Vec<Instant>,
    pub(super) rtd_done: Vec<bool>,
    pub(super) lines: Vec<usize>,
    pub(super) action_failure: Option<ActionFailure>,
    pub(super) queued: Option<String>,
    pub(super) ack_pending: bool,
    pub(super) established: bool,
    pub(super) invite_sent: Option<Instant>,
    pub(super) answered: bool,
    pub(super) rng: Rng,
    /// A `<jump>` waiting for the step's `next()`.
    pub(super) jump: Option<usize>,
    pub(super) end: Option<End>,
}

impl Call {
    pub fn new(scn: &Scenario, env: &Env, number: u64, now: Instant) -> Self {
        let mut rng = Rng::new(env.seed ^ number.wrapping_mul(0x2545_F491_4F6C_DD1D));
        let lines = scn
            .files
            .iter()
            .map(|f| f.line_for_call(number, rng.next_u64()))
            .collect();
        let ip = env.local_ip.trim_start_matches('[').trim_end_matches(']');
        Self {
            number,
            call_id: format!("{number}-{}@{ip}", env.pid).into(),
            index: 0,
            cseq: 0,
            started: now,
            paused_until: None,
            retrans: None,
            recv_deadline: None,
            last_send: Vec::new(),
            last_send_invite: false,
            last_send_index: None,
            last_recv: None,
            last_recv_index: None,
            last_recv_hash: 0,
            recv_retrans: None,
            last_invite_cseq: None,
            peer_tag: None,
            routes: None,
            next_url: None,
            challenge: None,
            nonce_count: 1,
            vars: Vars::new(scn.var_names.len()),
            rtd_start: vec![now; scn.rtd_names.len()],
            rtd_done: vec![false; scn.rtd_names.len()],
            lines,
            action_failure: None,
            queued: None,
            ack_pending: false,
            established: false,
            invite_sent: None,
            answered: false,
            rng,
            jump: None,
            end: None,
        }
    }

    pub fn start(&mut self, cx: &mut Cx<'_>, now: Instant) {
        self.run(cx, now);
    }

    pub fn handle_timeout(&mut self, cx: &mut Cx<'_>, now: Instant) {
        self.run(cx, now);
    }

    pub fn handle_message(&mut self, cx: &mut Cx<'_>, now: Instant, text: &str) {
        if self.end.is_some() {
            return;
        }
        self.incoming(cx, now, text);
        self.run(cx, now);
    }

    /// When this call next needs [`Call::handle_timeout`]; `None` once ended or waiting only
    /// for a message.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.end.is_some() {
            return None;
        }
        [
            self.paused_until,
            self.retrans.map(|r| r.at),
            self.recv_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn end(&self) -> Option<&End> {
        self.end.as_ref()
    }

    /// Runs steps until the call waits (for a message, a pause or retransmissions) or ends.
    fn run(&mut self, cx: &mut Cx<'_>, now: Instant) {
        if self.end.is_none() {
            self.retransmit_if_due(cx, now);
        }
        for _ in 0..MAX_STEPS_PER_WAKE {
            if self.end.is_some() {
                return;
            }
            if let Some(p) = self.paused_until {
                if p > now {
                    return;
                }
                self.paused_until = None;
                self.next(cx);
                continue;
            }
            if !self.execute(cx, now) {
                return;
            }
        }
        self.fail(cx, Failure::Looping);
    }

    /// Runs the current step; `false` when the call now waits.
    fn execute(&mut self, cx: &mut Cx<'_>, now: Instant) -> bool {
        let scn = cx.scn;
        let Some(step) = scn.steps.get(self.index) else {
            // A label at the very end was reached by a jump: the scenario is over.
            self.finish(cx);
            return false;
        };
        if let Some((var, inverse)) = step.condexec {
            if self.vars.get(var).is_set() == inverse {
                self.next(cx);
                return true;
            }
        }
        match &step.kind {
            StepKind::Pause(p) => {
                let len = match &p.len {
                    PauseLen::Default => cx.env.default_pause,
                    PauseLen::Dist(d) => d.pause(&mut self.rng),
                    PauseLen::Var(v) => super::dist::millis(self.vars.get(*v).number()),
                };
                self.paused_until = Some(now + len);
                self.bookkeeping(cx, now);
                self.run_actions(cx, now, None);
                true
            }
            StepKind::Nop => {
                self.bookkeeping(cx, now);
                self.run_actions(cx, now, None);
                if self.end.is_none() {
                    self.next(cx);
                }
                true
            }
            StepKind::Send(_) => self.send_step(cx, now),
            StepKind::Recv(r) => {
                if let Some(msg) = self.queued.take() {
                    self.incoming(cx, now, &msg);
                    return true;
                }
                match self.recv_deadline {
                    Some(at) if at > now => false,
                    Some(_) => {
                        self.recv_deadline = None;
                        cx.tally.messages[self.index].timeouts += 1;
                        match step.on_timeout {
                            Some(to) if to < scn.steps.len() => {
                                self.index = to;
                                true
                            }
                            _ => {
                                self.fail(cx, Failure::RecvTimeout);
                                self.abort(cx);
                                false
                            }
                        }
                    }
                    None => {
                        if let Some(t) = r.timeout.or(cx.env.recv_timeout) {
                            self.recv_deadline = Some(now + t);
                        }
                        false
                    }
                }
            }
        }
    }

    fn send_step(&mut self, cx: &mut Cx<'_>, now: Instant) -> bool {
        let step = &cx.scn.steps[self.index];
        let StepKind::Send(send) = &step.kind else {
            return true;
        };
        // A new message waits until the previous one's retransmissions are answered.
        if self.retrans.is_some() {
            return false;
        }
        self.bookkeeping(cx, now);
        let method = send.what.method();
        if matches!(&send.what, Outgoing::Request(m) if &**m != "ACK" && &**m != "CANCEL") {
            self.cseq = self.cseq.wrapping_add(1);
        }
        let text = match self.render(cx, &send.template, method, self.index as i64, now) {
            Ok(s) => s,
            Err(e) => {
                self.fail(cx, Failure::Render(e));
                return false;
            }
        };
        match method {
            "ACK" => {
                self.established = true;
                self.ack_pending = false;
            }
            "INVITE" if self.invite_sent.is_none() => self.invite_sent = Some(now),
            _ => {}
        }
        self.last_send_invite = method == "INVITE";
        self.last_send_index = Some(self.index);
        if let Some(recv) = self.last_recv_index {
            self.recv_retrans = Some(RecvRetrans {
                hash: self.last_recv_hash,
                recv,
                send: self.index,
            });
            self.last_recv_hash = 0;
        }
        self.retrans = send.retrans.map(|delay| Retrans {
            at: now + delay,
            count: 0,
            delay,
            invite: method == "INVITE",
        });
        self.run_actions(cx, now, Some(&text));
        let bytes = text.into_bytes();
        // Only a retransmitted message is kept; the others go out without a copy.
        self.last_send.clear();
        if self.retrans.is_some() {
            self.last_send.extend_from_slice(&bytes);
        }
        if self.lost(step.lost) {
            cx.tally.messages[self.index].lost += 1;
        } else {
            cx.out.push(bytes);
        }
        cx.tally.messages[self.index].sent += 1;
        if self.end.is_none() {
            self.next(cx);
        }
        true
    }

    /// SIPp's retransmission timer: doubling from `retrans`, capped at T2 for non-INVITE;
    /// past the allowed count the call times out (or jumps to the message's `ontimeout`).
    fn retransmit_if_due(&mut self, cx: &mut Cx<'_>, now: Instant) {
        let Some(mut r) = self.retrans else {
            return;
        };
        if r.at > now {
            return;
        }
        let Some(idx) = self.last_send_index else {
            self.retrans = None;
            return;
        };
        r.count += 1;
        let allowed = if r.invite {
            cx.env.max_invite_retrans
        } else {
            cx.env.max_non_invite_retrans
        };
        if r.count > allowed {
            cx.tally.messages[idx].timeouts += 1;
            self.retrans = None;
            self.recv_deadline = None;
            match cx.scn.steps[idx].on_timeout {
                Some(to) if to < cx.scn.steps.len() => self.index = to,
                _ => {
                    self.fail(cx, Failure::MaxRetransmissions);
                    self.abort(cx);
                }
            }
            return;
        }
        r.delay *= 2;
        if !r.invite && r.delay > cx.env.t2 {
            r.delay = cx.env.t2;
        }
        r.at = now + r.delay;
        self.retrans = Some(r);
        cx.out.push(self.last_send.clone());
        cx.tally.messages[idx].retransmissions += 1;
        cx.tally.retransmissions += 1;
    }

    /// SIPp's `next()`: the following step, or the `next` label when its test and chance allow.
    pub(super) fn next(&mut self, cx: &mut Cx<'_>) {
        let mut to = self.index + 1;
        if let Some(j) = self.jump.take() {
            to = j;
        } else if let Some(n) = cx.scn.steps.get(self.index).and_then(|s| s.next) {
            let step = &cx.scn.steps[self.index];
            let tested = step.test.is_none_or(|t| self.vars.get(t).is_set());
            if tested && step.chance.is_none_or(|c| self.rng.unit() < c) {
                to = n;
            }
        }
        self.index = to;
        self.recv_deadline = None;
        if self.index >= cx.scn.steps.len() {
            self.finish(cx);
        }
    }

    /// The end of the scenario: successful unless an action failed on the way.
    fn finish(&mut self, cx: &mut Cx<'_>) {
        match self.action_failure {
            Some(a) => self.fail(cx, Failure::Action(a)),
            None => {
                cx.tally.successful += 1;
                self.end = Some(End::Success);
            }
        }
    }

    pub(super) fn fail(&mut self, cx: &mut Cx<'_>, why: Failure) {
        if self.end.is_some() {
            return;
        }
        cx.tally.fail(why.key());
        self.end = Some(End::Failed(why));
    }

    /// `rtd`, `start_rtd` and `counter` of the current step.
    pub(super) fn bookkeeping(&mut self, cx: &mut Cx<'_>, now: Instant) {
        let step = &cx.scn.steps[self.index];
        if let Some(c) = step.counter {
            cx.tally.counters[c] += 1;
        }
        if let Some(r) = step.start_rtd {
            self.rtd_start[r] = now;
        }
        if let Some(r) = step.rtd {
            if !self.rtd_done[r] {
                cx.tally
                    .record_rtd(r, now.saturating_duration_since(self.rtd_start[r]));
                if !step.repeat_rtd {
                    self.rtd_done[r] = true;
                }
            }
        }
    }

    pub(super) fn lost(&mut self, pct: Option<f64>) -> bool {
        pct.is_some_and(|p| self.rng.unit() * 100.0 < p)
    }

    /// Renders a template with this call's state.
    pub(super) fn render(
        &self,
        cx: &Cx<'_>,
        t: &Template,
        method: &str,
        index: i64,
        now: Instant,
    ) -> Result<String, RenderError> {
        let rcx = RenderCx {
            env: cx.env,
            files: &cx.scn.files,
            number: self.number,
            call_id: &self.call_id,
            cseq: self.cseq,
            index,
            last: self.last_recv.as_deref(),
            peer_tag: self.peer_tag.as_deref(),
            routes: self.routes.as_deref(),
            next_url: self.next_url.as_deref(),
            vars: &self.vars,
            lines: &self.lines,
            challenge: self.challenge.as_ref().map(|(c, v)| (*c, v.as_str())),
            nonce_count: self.nonce_count,
            elapsed_ms: now.saturating_duration_since(self.started).as_millis() as u64,
        };
        let mut out = String::with_capacity(512);
        t.render(&rcx, method, &mut out)?;
        Ok(out)
    }

    /// Runs the current step's actions on `msg` (the message received or sent, if any).
    pub(super) fn run_actions(&mut self, cx: &mut Cx<'_>, now: Instant, msg: Option<&str>) {
        let scn = cx.scn;
        let actions = &scn.steps[self.index].actions;
        for a in actions.iter() {
            if let Err(f) = self.run_action(cx, now, a, msg) {
                // SIPp keeps the first failure and lets the call go on to its end.
                self.action_failure.get_or_insert(f);
                return;
            }
            if self.end.is_some() {
                return;
            }
        }
    }

    fn run_action(
        &mut self,
        cx: &mut Cx<'_>,
        now: Instant,
        a: &Action,
        msg: Option<&str>,
    ) -> Result<(), ActionFailure> {
        match a {
            Action::Ereg(e) => {
                let hay: Option<String> = match &e.search {
                    SearchIn::Msg => msg.map(str::to_owned),
                    SearchIn::Body => msg
                        .and_then(|m| Received::parse(m)?.body())
                        .map(str::to_owned),
                    SearchIn::Header {
                        name,
                        occurrence,
                        start_line,
                        case_indep,
                    } => msg
                        .and_then(|m| {
                            actions::header_part(m, name, *occurrence, *start_line, *case_indep)
                        })
                        .filter(|h| !h.is_empty())
                        .map(str::to_owned),
                    SearchIn::Var(v) => match self.vars.get(*v) {
                        Value::Matched(s) | Value::Text(s) => Some(s.clone()),
                        _ => None,
                    },
                };
                let Some(hay) = hay else {
                    return match e.check {
                        actions::Check::Must => Err(ActionFailure::HeaderMissing),
                        _ => Ok(()),
                    };
                };
                let matched = actions::ereg_assign(e, &hay, &mut self.vars);
                match (e.check, matched) {
                    (actions::Check::Must, false) => Err(ActionFailure::RegexpMismatch),
                    (actions::Check::MustNot, true) => Err(ActionFailure::RegexpShouldNotMatch),
                    _ => Ok(()),
                }
            }
            Action::Log { warning, message } => {
                let text = self
                    .render(cx, message, "", self.index as i64, now)
                    .unwrap_or_else(|e| e.to_string());
                cx.events.push(Event::Log {
                    warning: *warning,
                    text,
                });
                Ok(())
            }
            Action::Assign { to, rhs } => {
                let v = rhs.eval(&self.vars);
                self.vars.set(*to, Value::Number(v));
                Ok(())
            }
            Action::AssignStr { to, value } => {
                let s = self
                    .render(cx, value, "", self.index as i64, now)
                    .unwrap_or_default();
                self.vars.set(*to, Value::Text(s));
                Ok(())
            }
            Action::Arith { op, to, rhs } => {
                actions::run_arith(*op, *to, *rhs, &mut self.vars);
                Ok(())
            }
            Action::Sample { to, dist } => {
                let v = dist.sample(&mut self.rng);
                self.vars.set(*to, Value::Number(v));
                Ok(())
            }
            Action::ToDouble { to, from } => {
                if let Some(v) = self.vars.get(*from).to_number() {
                    self.vars.set(*to, Value::Number(v));
                }
                Ok(())
            }
            Action::Test(t) => actions::run_test(t, &mut self.vars),
            Action::Strcmp(s) => actions::run_strcmp(s, &mut self.vars),
            Action::Trim { var } => {
                let t = self.vars.get(*var).text().trim().to_owned();
                self.vars.set(*var, Value::Text(t));
                Ok(())
            }
            Action::Index { to } => {
                self.vars.set(*to, Value::Number(self.index as f64));
                Ok(())
            }
            Action::Jump(rhs) => {
                // Taken by the `next()` that follows the action list.
                let to = rhs.eval(&self.vars);
                if to.is_finite() && to >= 0.0 && (to as usize) <= cx.scn.steps.len() {
                    self.jump = Some(to as usize);
                } else {
                    self.fail(cx, Failure::BadJump);
                }
                Ok(())
            }
            Action::StopCall => {
                self.fail(cx, Failure::Stopped);
                Ok(())
            }
            Action::StopRun => {
                cx.events.push(Event::StopRun);
                Ok(())
            }
        }
    }
}
