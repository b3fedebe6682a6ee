//! A call receiving a message: SIPp's `process_incoming` (retransmission detection, the
//! forward then backward search for a matching `<recv>`, what a match updates) and its
//! `abortCall` (the default messages that tidy up a failed call).

use std::time::Instant;

use super::call::{Call, Cx, Failure, RecvRetrans};
use super::msg::{Received, Start};
use super::template::Template;
use super::{Expect, Optional, Outgoing, StepKind};

/// FNV-1a: SIPp recognises a retransmission by an identical message, so a hash of the bytes.
fn hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What the received message is, for matching.
struct Seen<'a> {
    code: u16,
    method: &'a str,
    cseq_method: &'a str,
}

impl Call {
    pub(super) fn incoming(&mut self, cx: &mut Cx<'_>, now: Instant, text: &str) {
        let Some(msg) = Received::parse(text) else {
            cx.tally.junk += 1;
            return;
        };
        let scn = cx.scn;
        // A scenario starting with <nop> runs it before looking at the message.
        if self.index == 0 && matches!(scn.steps.first().map(|s| &s.kind), Some(StepKind::Nop)) {
            self.queued = Some(text.to_owned());
            return;
        }
        let (method, cseq) = match msg.start {
            Start::Request(m) => (m, msg.cseq()),
            Start::Response(_) => ("", msg.cseq()),
        };
        if method == "ACK"
            && self
                .last_invite_cseq
                .is_some_and(|c| Some(c) != cseq.map(|c| c.0))
        {
            self.fail(cx, Failure::AckCseq);
            return;
        }
        if msg.first("To").is_none() {
            self.unexpected(cx, now, text, &msg);
            return;
        }
        let h = hash(text);
        if let Some(rr) = self.recv_retrans.filter(|rr| rr.hash == h) {
            self.answer_retransmission(cx, now, rr);
            return;
        }
        if let Some(i) = self.last_recv_index.filter(|_| self.last_recv_hash == h) {
            cx.tally.messages[i].recv_retransmissions += 1;
            return;
        }
        let seen = match msg.start {
            Start::Response(code) => {
                if let Some(tag) = msg.peer_tag() {
                    self.peer_tag = Some(tag.to_owned());
                }
                Seen {
                    code,
                    method: "",
                    cseq_method: cseq.map_or("", |c| c.1),
                }
            }
            Start::Request(m) => {
                if m == "ACK" {
                    self.established = true;
                }
                if m == "INVITE" {
                    self.last_invite_cseq = cseq.map(|c| c.0);
                }
                Seen {
                    code: 0,
                    method: m,
                    cseq_method: "",
                }
            }
        };
        self.note_for_report(cx, now, &msg, &seen);
        let Some(found) = self.search(cx, now, &seen) else {
            return;
        };
        let Some(found) = found else {
            self.unexpected(cx, now, text, &msg);
            return;
        };
        self.matched(cx, now, text, &msg, &seen, found, h);
    }

    /// Answered, early media and far-end BYEs, for the report's existing keys.
    fn note_for_report(
        &mut self,
        cx: &mut Cx<'_>,
        now: Instant,
        msg: &Received<'_>,
        seen: &Seen<'_>,
    ) {
        match seen.code {
            200..=299 if seen.cseq_method == "INVITE" && !self.answered => {
                self.answered = true;
                cx.tally.answered += 1;
                cx.tally.last_answer = Some(now);
                if let Some(t) = self.invite_sent {
                    cx.tally.setup.record(now.saturating_duration_since(t));
                }
            }
            100..=199 if seen.cseq_method == "INVITE" && msg.has_sdp() => cx.tally.early_media += 1,
            0 if seen.method == "BYE" => cx.tally.remote_hangups += 1,
            _ => {}
        }
    }

    /// The scenario index the message matches: `Some(None)` for none, `None` when the message
    /// was consumed here (an old response to an INVITE answered by re-sending our ACK).
    fn search(&mut self, cx: &mut Cx<'_>, now: Instant, seen: &Seen<'_>) -> Option<Option<usize>> {
        let steps = &cx.scn.steps;
        for i in self.index..steps.len() {
            if self.matches(cx, i, seen) {
                return Some(Some(i));
            }
            if optional(cx, i) == Optional::No {
                break;
            }
        }
        let mut contiguous = true;
        for i in (0..self.index.min(steps.len())).rev() {
            let opt = optional(cx, i);
            if opt == Optional::No {
                contiguous = false;
            }
            if !self.matches(cx, i, seen) {
                continue;
            }
            if contiguous || opt == Optional::Global {
                return Some(Some(i));
            }
            // A late response to an INVITE whose ACK follows in the scenario: send it again.
            if seen.code != 0 && seen.cseq_method == "INVITE" {
                if let Some(StepKind::Send(s)) = steps.get(i + 1).map(|s| &s.kind) {
                    if s.what == Outgoing::Request("ACK".into()) {
                        if let Ok(bytes) = self.render(cx, &s.template, "ACK", i as i64 + 1, now) {
                            cx.out.push(bytes.into_bytes());
                        }
                        return None;
                    }
                }
            }
        }
        Some(None)
    }

    fn matches(&self, cx: &Cx<'_>, i: usize, seen: &Seen<'_>) -> bool {
        let StepKind::Recv(r) = &cx.scn.steps[i].kind else {
            return false;
        };
        let code_ok = match &r.expect {
            Expect::Request(m) => return seen.code == 0 && **m == *seen.method,
            Expect::RequestLike(re) => return seen.code == 0 && re.is_match(seen.method),
            Expect::Response(c) => seen.code != 0 && *c == seen.code,
            Expect::ResponseLike(re) => seen.code != 0 && re.is_match(&seen.code.to_string()),
        };
        // A response also needs its CSeq method among the requests sent before the <recv>.
        code_ok && (i == 0 || r.methods.iter().any(|m| **m == *seen.cseq_method))
    }

    /// Re-sends what our last send answered, when that message is received again.
    fn answer_retransmission(&mut self, cx: &mut Cx<'_>, now: Instant, rr: RecvRetrans) {
        let scn = cx.scn;
        if self.lost(scn.steps[rr.recv].lost) {
            cx.tally.messages[rr.recv].lost += 1;
            return;
        }
        cx.tally.messages[rr.recv].recv_retransmissions += 1;
        if let StepKind::Send(s) = &scn.steps[rr.send].kind {
            match self.render(cx, &s.template, s.what.method(), rr.send as i64, now) {
                Ok(bytes) => {
                    cx.out.push(bytes.into_bytes());
                    cx.tally.messages[rr.send].retransmissions += 1;
                    cx.tally.retransmissions += 1;
                }
                Err(e) => self.fail(cx, Failure::Render(e)),
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn matched(
        &mut self,
        cx: &mut Cx<'_>,
        now: Instant,
        text: &str,
        msg: &Received<'_>,
        seen: &Seen<'_>,
        i: usize,
        h: u64,
    ) {
        let scn = cx.scn;
        let step = &scn.steps[i];
        if self.lost(step.lost) {
            cx.tally.messages[i].lost += 1;
            return;
        }
        let current = self.index;
        self.index = i;
        self.bookkeeping(cx, now);
        cx.tally.messages[i].received += 1;
        self.run_actions(cx, now, Some(text));
        self.index = current;
        if self.end.is_some() {
            return;
        }
        if seen.code == 0 {
            if let Some((n, _)) = msg.cseq() {
                self.cseq = self.cseq.max(n);
            }
        }
        // A response, or an ACK/CANCEL/BYE/PRACK, past our last send ends its retransmissions
        // (a provisional to a non-INVITE only slows them to T2).
        let stops = seen.code != 0 || matches!(seen.method, "ACK" | "CANCEL" | "BYE" | "PRACK");
        if stops && self.last_send_index.is_some_and(|s| i > s) {
            if seen.code == 0 || seen.code >= 200 || seen.cseq_method == "INVITE" {
                self.retrans = None;
            } else if let Some(r) = &mut self.retrans {
                r.at = now + cx.env.t2;
                r.delay = cx.env.t2;
            }
        }
        if seen.code == 200 {
            self.ack_pending = true;
        }
        let StepKind::Recv(r) = &step.kind else {
            return;
        };
        if r.rrs && self.routes.is_none() {
            self.record_routes(msg, seen.code == 0);
        }
        if r.auth && matches!(seen.code, 401 | 407) {
            let value = msg
                .first("Proxy-Authenticate")
                .or_else(|| msg.first("WWW-Authenticate"));
            if let Some(v) = value {
                self.challenge = Some((seen.code, v.to_owned()));
                self.nonce_count = 1;
            }
        }
        self.last_recv_index = Some(i);
        self.last_recv_hash = h;
        self.last_recv = Some(text.to_owned());
        let branches = step.next.is_some() && step.test.is_none_or(|t| self.vars.get(t).is_set());
        if r.optional == Optional::No || branches {
            self.paused_until = None;
            self.index = i;
            self.next(cx);
        }
    }

    /// `rrs`: the route set from Record-Route (reversed for a response) and the remote target
    /// from Contact, as SIPp's `computeRouteSetAndRemoteTargetUri` does.
    fn record_routes(&mut self, msg: &Received<'_>, request: bool) {
        let Some(contact) = msg
            .first("Contact")
            .map(str::trim)
            .filter(|c| !c.is_empty())
        else {
            return;
        };
        let rr = msg.joined("Record-Route").unwrap_or_default();
        let mut hops: Vec<&str> = if rr.is_empty() {
            Vec::new()
        } else {
            rr.split(',').collect()
        };
        if !request {
            hops.reverse();
        }
        let mut target: Option<String> = None;
        let mut routes: Vec<String> = Vec::new();
        for (n, hop) in hops.iter().enumerate() {
            if n == 0 && !hop.contains(";lr") {
                // A strict router: it becomes the target, the Contact the last route.
                target = Some(hop.to_string());
            } else {
                routes.push(hop.trim().to_owned());
            }
        }
        let target = match target {
            Some(t) => {
                routes.push(contact.to_owned());
                t
            }
            None => contact.to_owned(),
        };
        if !routes.is_empty() {
            self.routes = Some(routes.join(", "));
        }
        let t = target.trim();
        self.next_url = Some(match (t.find('<'), t.find('>')) {
            (Some(a), Some(b)) if a < b => t[a + 1..b].to_owned(),
            _ => t.to_owned(),
        });
    }

    /// Nothing matched: `_unexp.main` if the scenario has one, SIPp's automatic answer to a
    /// BYE or CANCEL, or the call fails with SIPp's default tidy-up messages.
    fn unexpected(&mut self, cx: &mut Cx<'_>, _now: Instant, text: &str, msg: &Received<'_>) {
        let scn = cx.scn;
        if let Some((at, ret)) = scn.unexpected {
            let nested = ret.is_some_and(|v| self.vars.get(v).number() != 0.0);
            if !nested {
                if let Some(v) = ret {
                    self.vars
                        .set(v, super::vars::Value::Number(self.index as f64));
                }
                self.index = at;
                self.queued = Some(text.to_owned());
                self.paused_until = None;
                return;
            }
        }
        if let Some(m) = cx.tally.messages.get_mut(self.index) {
            m.unexpected += 1;
        }
        self.last_recv = Some(text.to_owned());
        let why = match msg.start {
            Start::Response(c) => Failure::UnexpectedResponse(c),
            Start::Request(m) => Failure::UnexpectedRequest(m.to_owned()),
        };
        let auto_answer = matches!(msg.start, Start::Request("BYE" | "CANCEL"));
        self.fail(cx, why);
        if auto_answer {
            self.send_default(cx, &scn.defaults.ok, "");
        } else {
            self.abort(cx);
        }
    }

    /// SIPp's `abortCall` for a UAC: ACK a final error, ACK and BYE an unacknowledged 200,
    /// CANCEL a pending INVITE, BYE an established call.
    pub(super) fn abort(&mut self, cx: &mut Cx<'_>) {
        let d = &cx.scn.defaults;
        if self.index == 0 {
            return;
        }
        let invite = self.last_send_invite;
        let last_status = self
            .last_recv
            .as_deref()
            .and_then(Received::parse)
            .and_then(|m| match m.start {
                Start::Response(c) => Some(c),
                Start::Request(_) => None,
            });
        if !self.established && invite {
            match (self.last_recv.is_some(), last_status) {
                (false, _) => {}
                (true, Some(c)) if c >= 400 => self.send_default(cx, &d.ack, "ACK"),
                (true, _) if self.ack_pending => {
                    self.ack_pending = false;
                    self.send_default(cx, &d.ack, "ACK");
                    self.send_default(cx, &d.bye, "BYE");
                }
                (true, _) => self.send_default(cx, &d.cancel, "CANCEL"),
            }
        } else if self.last_recv.is_some() {
            self.send_default(cx, &d.bye, "BYE");
        }
    }

    fn send_default(&mut self, cx: &mut Cx<'_>, t: &Template, method: &str) {
        let index = self.index as i64 - 1;
        if let Ok(s) = self.render(cx, t, method, index, self.started) {
            cx.out.push(s.into_bytes());
        }
    }
}

fn optional(cx: &Cx<'_>, i: usize) -> Optional {
    match &cx.scn.steps[i].kind {
        StepKind::Recv(r) => r.optional,
        _ => Optional::No,
    }
}
