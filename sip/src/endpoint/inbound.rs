//! The receive side of the endpoint: responses to our transactions and requests from peers.

use std::time::{Duration, Instant};

use super::{
    local, me, register, CallKey, Endpoint, Event, IncomingCall, InvitePolicy, PROBE_OWNER,
};
use crate::auth;
use crate::build::{ResponseSpec, ALLOW};
use crate::dialog::{CallEvent, Dialog, EndReason, Raw, Uas};
use crate::ids;
use crate::msg::{self, Incoming};
use crate::peer::Peer;
use crate::txn::{MethodClass, ResponseOutcome, ServerKey, TxnId};

/// The methods our UAS implements, for `check_uas_acceptable`.
const METHODS: [rsip::Method; 6] = [
    rsip::Method::Invite,
    rsip::Method::Ack,
    rsip::Method::Cancel,
    rsip::Method::Bye,
    rsip::Method::Options,
    rsip::Method::Update,
];

fn body(msg: &rsip::SipMessage) -> Option<Vec<u8>> {
    let b = msg.body();
    (!b.is_empty()).then(|| b.clone())
}

/// Retry-After's delta-seconds, ignoring its comment and parameters; bounded to a day.
pub(super) fn retry_after(value: Option<&str>) -> Option<Duration> {
    let v = value?.trim();
    let digits: &str = v.split(|c: char| !c.is_ascii_digit()).next()?;
    let secs: u64 = digits.parse().ok()?;
    Some(Duration::from_secs(secs.min(86_400)))
}

impl Endpoint {
    /// Builds a response to a request (`r`, its raw headers) echoing its
    /// Via/From/To/Call-ID/CSeq.
    fn reply(
        &self,
        r: &Raw<'_>,
        status: u16,
        to_tag: Option<&str>,
        contact: Option<Peer>,
        extra: &[(&str, &str)],
        sdp: Option<&[u8]>,
    ) -> Vec<u8> {
        ResponseSpec {
            status,
            reason: msg::reason_phrase(status),
            vias: &r.vias,
            from: r.from,
            to: r.to,
            to_tag,
            call_id: r.call_id,
            cseq: r.cseq,
            contact,
            extra,
            body: sdp.map(|b| ("application/sdp", b)),
        }
        .to_bytes()
    }

    /// Answers a request inside one of our dialogs through a fresh server transaction (which
    /// absorbs the request's retransmissions after the dialog is gone).
    fn answer_in_new_txn(
        &mut self,
        now: Instant,
        key: ServerKey,
        from: Peer,
        inc: &Incoming,
        status: u16,
        extra: &[(&str, &str)],
    ) {
        let tag = self.ids.tag();
        let bytes = self.reply(&Raw::of(&inc.msg), status, Some(&tag), None, extra, None);
        let txn = self.layer.start_server(key, from, 0);
        self.layer.respond(now, txn, status, bytes, &mut self.out);
        self.arm_txn(txn);
    }

    /// Answers a request that is no business of any dialog of ours: one response, no state,
    /// nothing retransmitted (a retransmitted request gets the same answer again, with the same
    /// To-tag), and nothing at all for a source over the guard's rate.
    fn answer_stateless(
        &mut self,
        now: Instant,
        from: Peer,
        inc: &Incoming,
        status: u16,
        extra: &[(&str, &str)],
    ) {
        if !self.admit(now, from) {
            return;
        }
        let head = &inc.head;
        let tag = self.ids.stateless_tag(
            &head.call_id,
            head.from_tag.as_deref(),
            head.top_via_branch.as_deref(),
        );
        let bytes = self.reply(&Raw::of(&inc.msg), status, Some(&tag), None, extra, None);
        self.stats.answered_stateless += 1;
        self.out.push(crate::txn::Transmit {
            dest: from,
            payload: bytes,
        });
    }

    pub(super) fn on_response(&mut self, now: Instant, from: Peer, inc: &Incoming) {
        let Some(status) = inc.head.status else {
            return;
        };
        let class = MethodClass::of(&inc.head.cseq_method);
        let matched = inc
            .head
            .top_via_branch
            .as_deref()
            .and_then(|b| self.layer.match_response(b, class));
        let Some((txn, owner)) = matched else {
            self.stats.stray_responses += 1;
            return;
        };
        // Only the peer the request went to may answer it: a forged response from anywhere
        // else (a revived media server, a day-long 503 back-off) is dropped.
        if !self
            .layer
            .dest(txn)
            .is_some_and(|dest| same_peer(dest, from))
        {
            self.stats.foreign_responses += 1;
            return;
        }
        let outcome = self.layer.on_response(now, txn, status, &mut self.out);
        self.arm_txn(txn);
        if outcome == ResponseOutcome::Absorbed {
            return;
        }
        if register::is_registration(owner) {
            if status >= 200 {
                self.on_register_response(now, owner, status, inc);
            }
            return;
        }
        if owner >= PROBE_OWNER {
            if status >= 200 {
                let ra = retry_after(Raw::of(&inc.msg).retry_after);
                if let (503, Some(ra), Some(dest)) = (status, ra, self.layer.dest(txn)) {
                    self.note_backoff(now, dest.addr, ra);
                }
                self.events.push_back(Event::ProbeResult {
                    token: owner & !PROBE_OWNER,
                    status: Some(status),
                    retry_after: ra,
                });
            }
            return;
        }
        let key = CallKey(owner);
        match class {
            MethodClass::Invite => self.on_invite_response(now, key, txn, inc, status),
            // A refused session refresh ends the call (RFC 4028 §10).
            MethodClass::Other if status >= 300 && inc.head.cseq_method == rsip::Method::Update => {
                self.refresh_failed(now, key)
            }
            // The final response to our BYE ends the call.
            MethodClass::Other
                if status >= 200 && self.calls.get(&key).is_some_and(Dialog::is_terminating) =>
            {
                self.end_call(key, EndReason::LocalHangup)
            }
            _ => {}
        }
    }

    fn note_backoff(&mut self, now: Instant, peer: std::net::SocketAddr, retry_after: Duration) {
        self.backoff.insert(peer, now + retry_after);
        self.events
            .push_back(Event::PeerBackoff { peer, retry_after });
    }

    fn on_invite_response(
        &mut self,
        now: Instant,
        key: CallKey,
        txn: TxnId,
        inc: &Incoming,
        status: u16,
    ) {
        let Some(Dialog::Uac(u)) = self.calls.get_mut(&key) else {
            return;
        };
        if !u.is_current_invite(txn) {
            return;
        }
        let to_tag = inc.head.to_tag.as_deref();
        match status {
            100..=199 => {
                let local = local(&self.cfg, u.target().transport);
                let cancel = u.on_provisional(status, to_tag, local);
                if status > 100 {
                    self.events.push_back(Event::Call {
                        call: key,
                        event: CallEvent::Progress {
                            status,
                            sdp: body(&inc.msg),
                        },
                    });
                }
                if let Some(cancel) = cancel {
                    self.send_request(now, key, cancel);
                }
            }
            200..=299 => {
                let r = Raw::of(&inc.msg);
                let local = local(&self.cfg, u.target().transport);
                let rr = &r.record_route;
                let Some(answer) = u.on_2xx(to_tag, r.contact, rr, local, &mut self.ids) else {
                    return;
                };
                self.layer.send_ack(txn, answer.ack, &mut self.out);
                self.events.push_back(Event::Call {
                    call: key,
                    event: CallEvent::Answered {
                        sdp: body(&inc.msg),
                    },
                });
                self.start_session(now, key, inc);
                if let Some(bye) = answer.bye {
                    self.send_request(now, key, bye);
                }
            }
            _ => self.on_invite_rejected(now, key, txn, inc, status),
        }
    }

    /// A non-2xx final to our INVITE: ACK it, then retry with credentials or end the call.
    fn on_invite_rejected(
        &mut self,
        now: Instant,
        key: CallKey,
        txn: TxnId,
        inc: &Incoming,
        status: u16,
    ) {
        let Some(Dialog::Uac(u)) = self.calls.get(&key) else {
            return;
        };
        let local = local(&self.cfg, u.target().transport);
        if let Some(ack) = u.ack_non_2xx(inc.head.to_tag.as_deref(), local) {
            self.layer.send_ack(txn, ack, &mut self.out);
        }
        let r = Raw::of(&inc.msg);
        if status == 422 {
            if let Some(retry) = self.retry_with_interval(now, key, inc) {
                self.arm_txn(retry);
                return;
            }
        }
        if let Some(retry) = self.retry_with_auth(now, key, status, &r) {
            self.arm_txn(retry);
            return;
        }
        let Some(Dialog::Uac(u)) = self.calls.get(&key) else {
            return;
        };
        let reason = u.rejection(status, retry_after(r.retry_after));
        if let EndReason::Rejected {
            status: 503,
            retry_after: Some(ra),
        } = reason
        {
            self.note_backoff(now, u.target().addr, ra);
        }
        self.end_call(key, reason);
    }

    /// Answers a 401/407 with credentials, when we have some for the peer and the dialog
    /// allows another try. Returns the new INVITE's transaction.
    fn retry_with_auth(
        &mut self,
        now: Instant,
        key: CallKey,
        status: u16,
        r: &Raw<'_>,
    ) -> Option<TxnId> {
        let (header, challenge) = match status {
            401 => ("Authorization", r.www_auth?),
            407 => ("Proxy-Authorization", r.proxy_auth?),
            _ => return None,
        };
        let Some(Dialog::Uac(u)) = self.calls.get_mut(&key) else {
            return None;
        };
        let target = u.target();
        let creds =
            (self.cfg.credentials.get(&target.addr)).or(self.cfg.default_credentials.as_ref())?;
        let challenge = auth::parse_challenge(challenge).ok()?;
        if !u.may_retry_auth(challenge.stale) {
            return None;
        }
        let (layer, out) = (&mut self.layer, &mut self.out);
        u.retry_with_auth(
            header,
            &challenge,
            creds,
            local(&self.cfg, target.transport),
            &mut self.ids,
            |req| layer.start_client(now, req.owned_by(key.0), out),
        )
    }

    pub(super) fn on_request(&mut self, now: Instant, from: Peer, inc: &Incoming) {
        let Some(method) = inc.head.method.as_ref() else {
            return;
        };
        let class = MethodClass::of(method);
        // RFC 2543 peers send no magic-cookie branch: key their transactions by Call-ID and CSeq.
        let branch = match inc.head.top_via_branch.as_deref() {
            Some(b) if b.len() > ids::BRANCH_COOKIE.len() && b.starts_with(ids::BRANCH_COOKIE) => {
                b.to_owned()
            }
            _ => format!("2543:{}:{}", inc.head.call_id, inc.head.cseq),
        };
        let key = ServerKey {
            branch,
            sent_by: inc.head.top_via_sent_by.clone(),
            method: if class == MethodClass::Ack {
                MethodClass::Invite
            } else {
                class
            },
        };
        if let Some((txn, owner)) = self.layer.match_request(&key) {
            if class == MethodClass::Ack {
                if self.layer.on_ack(now, txn) {
                    self.confirm_uas(CallKey(owner));
                }
                self.arm_txn(txn);
            } else {
                self.layer
                    .on_retransmitted_request(txn, from, &mut self.out);
            }
            return;
        }
        match class {
            MethodClass::Ack => {
                // ACK for a 2xx: its own branch; the dialog finds the INVITE transaction.
                let Some(&call) = self.by_call_id.get(inc.head.call_id.as_str()) else {
                    return;
                };
                let awaiting = match self.calls.get(&call) {
                    Some(Dialog::Uas(u)) => u.awaiting_ack(),
                    _ => None,
                };
                let txn = match awaiting {
                    Some(txn) => txn,
                    None => match self.reinvites.remove(inc.head.call_id.as_str()) {
                        Some(t) => {
                            self.layer.on_ack(now, t);
                            self.arm_txn(t);
                            return;
                        }
                        None => return,
                    },
                };
                if self.layer.on_ack(now, txn) {
                    self.confirm_uas(call);
                }
                self.arm_txn(txn);
            }
            MethodClass::Cancel => self.on_cancel(now, key, from, inc),
            _ => {
                if let Err(rej) = msg::check_uas_acceptable(inc, &METHODS) {
                    let extra: Vec<(String, String)> = rej
                        .extra_headers
                        .iter()
                        .filter_map(|h| {
                            h.to_string()
                                .split_once(':')
                                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                        })
                        .collect();
                    let extra: Vec<(&str, &str)> = extra
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    self.answer_stateless(now, from, inc, rej.status, &extra);
                    return;
                }
                match method {
                    rsip::Method::Invite if inc.head.to_tag.is_none() => {
                        self.on_new_invite(now, key, from, inc)
                    }
                    rsip::Method::Invite => self.on_reinvite(now, key, from, inc),
                    rsip::Method::Bye => self.on_bye(now, key, from, inc),
                    rsip::Method::Update => self.on_update(now, key, from, inc),
                    rsip::Method::Options => self.answer_stateless(
                        now,
                        from,
                        inc,
                        200,
                        &[("Allow", ALLOW), ("Accept", "application/sdp")],
                    ),
                    _ => self.answer_stateless(now, from, inc, 501, &[("Allow", ALLOW)]),
                }
            }
        }
    }

    fn confirm_uas(&mut self, call: CallKey) {
        if let Some(Dialog::Uas(u)) = self.calls.get_mut(&call) {
            if u.on_ack() {
                self.events.push_back(Event::Call {
                    call,
                    event: CallEvent::Answered { sdp: None },
                });
            }
        }
    }

    fn on_cancel(&mut self, now: Instant, key: ServerKey, from: Peer, inc: &Incoming) {
        let invite_key = ServerKey {
            method: MethodClass::Invite,
            ..key.clone()
        };
        let target = self
            .layer
            .match_request(&invite_key)
            .and_then(|(itxn, owner)| match self.calls.get(&CallKey(owner)) {
                Some(Dialog::Uas(u)) if u.is_cancelled_by(itxn) => Some(CallKey(owner)),
                _ => None,
            });
        let Some(call) = target else {
            self.answer_stateless(now, from, inc, 481, &[]);
            return;
        };
        self.answer_in_new_txn(now, key, from, inc, 200, &[]);
        let Some(Dialog::Uas(u)) = self.calls.get(&call) else {
            return;
        };
        let Some(bytes) = u.request_terminated() else {
            return;
        };
        let txn = u.invite_txn();
        self.layer.respond(now, txn, 487, bytes, &mut self.out);
        self.arm_txn(txn);
        self.end_call(call, EndReason::RemoteCancel);
    }

    fn on_new_invite(&mut self, now: Instant, key: ServerKey, from: Peer, inc: &Incoming) {
        if let InvitePolicy::Refuse { status } = self.cfg.invites {
            self.stats.refused_invites += 1;
            self.answer_stateless(now, from, inc, status.clamp(400, 699), &[]);
            return;
        }
        if let Some(min_se) = self.too_brief(inc) {
            // RFC 4028 §8.1: a session interval below our floor gets 422 with our Min-SE,
            // in a transaction that absorbs the ACK.
            let min_se = min_se.as_secs().to_string();
            self.answer_in_new_txn(now, key, from, inc, 422, &[("Min-SE", &min_se)]);
            return;
        }
        if self.by_call_id.contains_key(inc.head.call_id.as_str()) {
            // Same Call-ID, new transaction, no To-tag: a merged request (§8.2.2.2).
            self.answer_stateless(now, from, inc, 482, &[]);
            return;
        }
        self.next_call += 1;
        let call = CallKey(self.next_call);
        let txn = self.layer.start_server(key, from, call.0);
        let r = Raw::of(&inc.msg);
        let local_tag = self.ids.tag();
        let uas = Uas::new(from, &inc.head, &r, local_tag, txn);
        let trying = self.reply(&r, 100, None, None, &[], None);
        self.layer.respond(now, txn, 100, trying, &mut self.out);
        let request_uri = match &inc.msg {
            rsip::SipMessage::Request(req) => req.uri.to_string(),
            rsip::SipMessage::Response(_) => String::new(),
        };
        self.events.push_back(Event::Incoming(IncomingCall {
            call,
            source: from.addr,
            transport: from.transport,
            request_uri,
            from: uas.from().to_owned(),
            to: uas.to().to_owned(),
            call_id: uas.call_id().to_owned(),
            sdp: body(&inc.msg),
        }));
        self.by_call_id.insert(uas.call_id().to_owned(), call);
        self.calls.insert(call, Dialog::Uas(uas));
        self.stats.calls_started += 1;
    }

    fn on_reinvite(&mut self, now: Instant, key: ServerKey, from: Peer, inc: &Incoming) {
        let call = self.by_call_id.get(inc.head.call_id.as_str()).copied();
        let answer = call
            .and_then(|c| self.calls.get(&c))
            .and_then(Dialog::reinvite_answer);
        let Some((tag, sdp)) = answer else {
            self.answer_stateless(now, from, inc, 481, &[]);
            return;
        };
        // Our media does not change, so the answer repeats our session description (RFC 3264 §8).
        let r = Raw::of(&inc.msg);
        let me = Some(me(&self.cfg, from.transport));
        let bytes = self.reply(&r, 200, Some(tag), me, &[("Allow", ALLOW)], sdp);
        let txn = self.layer.start_server(key, from, 0);
        self.layer.respond(now, txn, 200, bytes, &mut self.out);
        self.arm_txn(txn);
        self.reinvites.insert(inc.head.call_id.clone(), txn);
        self.session_refreshed(now, &inc.head.call_id);
    }

    /// An UPDATE in one of our dialogs: a session refresh (we change no media), answered 200
    /// with its Session-Expires echoed (RFC 4028 §9).
    fn on_update(&mut self, now: Instant, key: ServerKey, from: Peer, inc: &Incoming) {
        let call = self.by_call_id.get(inc.head.call_id.as_str()).copied();
        let from_tag = inc.head.from_tag.as_deref();
        let ours = call
            .and_then(|c| self.calls.get(&c))
            .is_some_and(|d| d.accepts_bye(from_tag));
        if !ours {
            self.answer_stateless(now, from, inc, 481, &[]);
            return;
        }
        let se = super::session::header(inc, "session-expires", "x").map(str::to_owned);
        let extra: Vec<(&str, &str)> = se
            .as_deref()
            .map(|v| vec![("Session-Expires", v), ("Require", "timer")])
            .unwrap_or_default();
        self.answer_in_new_txn(now, key, from, inc, 200, &extra);
        self.session_refreshed(now, &inc.head.call_id);
    }

    fn on_bye(&mut self, now: Instant, key: ServerKey, from: Peer, inc: &Incoming) {
        let call = self.by_call_id.get(inc.head.call_id.as_str()).copied();
        let from_tag = inc.head.from_tag.as_deref();
        let matches = call
            .and_then(|c| self.calls.get(&c))
            .is_some_and(|d| d.accepts_bye(from_tag));
        match (call, matches) {
            (Some(call), true) => {
                self.answer_in_new_txn(now, key, from, inc, 200, &[]);
                self.end_call(call, EndReason::RemoteHangup);
            }
            _ => self.answer_stateless(now, from, inc, 481, &[]),
        }
    }
}

/// Whether a response from `from` comes from where its request went to `dest`: the same
/// transport, port and address (an IPv4 address and its IPv4-mapped IPv6 form are one).
fn same_peer(dest: Peer, from: Peer) -> bool {
    dest.transport == from.transport
        && dest.addr.port() == from.addr.port()
        && dest.addr.ip().to_canonical() == from.addr.ip().to_canonical()
}
