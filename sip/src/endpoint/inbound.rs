//! The receive side of the endpoint: responses to our transactions and requests from peers.

use std::time::{Duration, Instant};

use rsip::headers::UntypedHeader;

use super::{CallKey, Endpoint, Event, IncomingCall, PROBE_OWNER};
use crate::auth;
use crate::build::{self, RequestSpec, ResponseSpec, ALLOW};
use crate::dialog::{CallEvent, Cancel, Dialog, EndReason, UacState, Uas, UasState};
use crate::ids;
use crate::msg::{self, Incoming};
use crate::txn::{ClientRequest, MethodClass, ResponseOutcome, ServerKey, TxnId};

/// The methods our UAS implements, for `check_uas_acceptable`.
const METHODS: [rsip::Method; 5] = [
    rsip::Method::Invite,
    rsip::Method::Ack,
    rsip::Method::Cancel,
    rsip::Method::Bye,
    rsip::Method::Options,
];

/// Raw values of the headers dialogs need, read once from rsip's untyped headers.
#[derive(Default)]
pub(super) struct Raw<'a> {
    pub vias: Vec<&'a str>,
    pub from: &'a str,
    pub to: &'a str,
    pub call_id: &'a str,
    pub cseq: &'a str,
    pub contact: Option<&'a str>,
    pub record_route: Vec<&'a str>,
    pub www_auth: Option<&'a str>,
    pub proxy_auth: Option<&'a str>,
    pub retry_after: Option<&'a str>,
}

pub(super) fn raw(msg: &rsip::SipMessage) -> Raw<'_> {
    let headers = match msg {
        rsip::SipMessage::Request(r) => &r.headers,
        rsip::SipMessage::Response(r) => &r.headers,
    };
    let mut r = Raw::default();
    for h in headers.iter() {
        match h {
            rsip::Header::Via(v) => r.vias.push(v.value()),
            rsip::Header::From(v) => r.from = v.value(),
            rsip::Header::To(v) => r.to = v.value(),
            rsip::Header::CallId(v) => r.call_id = v.value(),
            rsip::Header::CSeq(v) => r.cseq = v.value(),
            rsip::Header::Contact(v) if r.contact.is_none() => r.contact = Some(v.value()),
            rsip::Header::RecordRoute(v) => r.record_route.push(v.value()),
            rsip::Header::WwwAuthenticate(v) => r.www_auth = Some(v.value()),
            rsip::Header::ProxyAuthenticate(v) => r.proxy_auth = Some(v.value()),
            rsip::Header::RetryAfter(v) => r.retry_after = Some(v.value()),
            _ => {}
        }
    }
    r
}

fn body(msg: &rsip::SipMessage) -> Option<Vec<u8>> {
    let b = msg.body();
    (!b.is_empty()).then(|| b.clone())
}

/// Retry-After's delta-seconds, ignoring its comment and parameters; bounded to a day.
fn retry_after(value: Option<&str>) -> Option<Duration> {
    let v = value?.trim();
    let digits: &str = v.split(|c: char| !c.is_ascii_digit()).next()?;
    let secs: u64 = digits.parse().ok()?;
    Some(Duration::from_secs(secs.min(86_400)))
}

impl Endpoint {
    /// Builds a response to `inc` echoing its Via/From/To/Call-ID/CSeq.
    fn reply(
        &self,
        inc: &Incoming,
        status: u16,
        to_tag: Option<&str>,
        contact: bool,
        extra: &[(&str, &str)],
        sdp: Option<&[u8]>,
    ) -> Vec<u8> {
        let r = raw(&inc.msg);
        ResponseSpec {
            status,
            reason: msg::reason_phrase(status),
            vias: &r.vias,
            from: r.from,
            to: r.to,
            to_tag,
            call_id: r.call_id,
            cseq: r.cseq,
            contact: contact.then_some(self.cfg.local),
            extra,
            body: sdp.map(|b| ("application/sdp", b)),
        }
        .to_bytes()
    }

    /// Answers a request through a fresh server transaction.
    fn answer_in_new_txn(
        &mut self,
        now: Instant,
        key: ServerKey,
        from: std::net::SocketAddr,
        inc: &Incoming,
        status: u16,
        extra: &[(&str, &str)],
    ) {
        let tag = ids::local_tag(self.stats.datagrams);
        let bytes = self.reply(inc, status, Some(&tag), false, extra, None);
        let txn = self.layer.start_server(key, from, 0);
        self.layer.respond(now, txn, status, bytes, &mut self.out);
        self.arm_txn(txn);
    }

    pub(super) fn on_response(&mut self, now: Instant, inc: &Incoming) {
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
        let outcome = self.layer.on_response(now, txn, status, &mut self.out);
        self.arm_txn(txn);
        if outcome == ResponseOutcome::Absorbed {
            return;
        }
        if owner >= PROBE_OWNER {
            if status >= 200 {
                let ra = retry_after(raw(&inc.msg).retry_after);
                if let (503, Some(ra), Some(dest)) = (status, ra, self.layer.dest(txn)) {
                    self.note_backoff(now, dest, ra);
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
            MethodClass::Other if status >= 200 => {
                let terminating = match self.calls.get(&key) {
                    Some(Dialog::Uac(u)) => u.state == UacState::Terminating,
                    Some(Dialog::Uas(u)) => u.state == UasState::Terminating,
                    None => false,
                };
                if terminating {
                    self.end_call(key, EndReason::LocalHangup);
                }
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
        let local = self.cfg.local;
        let Some(Dialog::Uac(u)) = self.calls.get_mut(&key) else {
            return;
        };
        if u.invite_txn != Some(txn) {
            return;
        }
        match status {
            100..=199 => {
                u.got_provisional = true;
                let mut send_cancel = false;
                if let Cancel::Pending(r) = &u.cancel {
                    u.cancel = Cancel::Sent(r.clone());
                    send_cancel = true;
                }
                if status > 100 {
                    if u.state == UacState::Calling {
                        u.state = UacState::Early;
                    }
                    if let Some(tag) = &inc.head.to_tag {
                        u.remote_tag = Some(tag.clone());
                    }
                    self.events.push_back(Event::Call {
                        call: key,
                        event: CallEvent::Progress {
                            status,
                            sdp: body(&inc.msg),
                        },
                    });
                }
                if send_cancel {
                    self.send_cancel(now, key);
                }
            }
            200..=299 => {
                let r = raw(&inc.msg);
                u.remote_tag = inc.head.to_tag.clone();
                u.remote_target = r.contact.map(|c| build::uri_of(c).to_owned());
                u.route = r.record_route.iter().rev().map(|s| s.to_string()).collect();
                u.state = UacState::Confirmed;
                let branch = ids::branch(&self.cfg.namespace, u.id, u.cseq, true);
                let ruri = u
                    .remote_target
                    .clone()
                    .unwrap_or_else(|| u.request_uri.clone());
                let ack = RequestSpec {
                    method: "ACK",
                    request_uri: &ruri,
                    local,
                    branch: &branch,
                    from_uri: &u.from_uri,
                    from_tag: &u.ids.from_tag,
                    to_uri: &u.to_uri,
                    to_tag: u.remote_tag.as_deref(),
                    call_id: &u.ids.call_id,
                    cseq: u.cseq,
                    cseq_method: None,
                    route: &u.route,
                    contact: false,
                    extra: &[],
                    body: None,
                    user_agent: "",
                }
                .to_bytes();
                let hang_up = u.cancel != Cancel::None;
                self.layer.send_ack(txn, ack, &mut self.out);
                self.events.push_back(Event::Call {
                    call: key,
                    event: CallEvent::Answered {
                        sdp: body(&inc.msg),
                    },
                });
                if hang_up {
                    // We had already given up on this call (ring timeout or hang-up raced the
                    // answer): answer's ACK, then BYE at once.
                    self.send_bye(now, key);
                }
            }
            _ => {
                let r = raw(&inc.msg);
                let ack = RequestSpec {
                    method: "ACK",
                    request_uri: &u.request_uri,
                    local,
                    branch: &u.invite_branch,
                    from_uri: &u.from_uri,
                    from_tag: &u.ids.from_tag,
                    to_uri: &u.to_uri,
                    to_tag: inc.head.to_tag.as_deref(),
                    call_id: &u.ids.call_id,
                    cseq: u.cseq,
                    cseq_method: None,
                    route: &[],
                    contact: false,
                    extra: &[],
                    body: None,
                    user_agent: "",
                }
                .to_bytes();
                self.layer.send_ack(txn, ack, &mut self.out);
                let challenge = match status {
                    401 => r.www_auth.map(|c| ("Authorization", c)),
                    407 => r.proxy_auth.map(|c| ("Proxy-Authorization", c)),
                    _ => None,
                };
                if let Some((header, challenge)) = challenge {
                    if u.cancel == Cancel::None && u.auth_tries < 2 {
                        if let Some(creds) = self
                            .cfg
                            .credentials
                            .get(&u.target)
                            .or(self.cfg.default_credentials.as_ref())
                        {
                            if let Ok(c) = auth::parse_challenge(challenge) {
                                // A second challenge with a fresh nonce that is not `stale`
                                // means our credentials were refused: stop.
                                if u.auth_tries == 0 || c.stale {
                                    let creds = creds.clone();
                                    self.retry_with_auth(now, key, header, &c, &creds);
                                    return;
                                }
                            }
                        }
                    }
                }
                let reason = match (&u.cancel, status) {
                    (Cancel::Sent(r) | Cancel::Pending(r), 487) => r.clone(),
                    _ => EndReason::Rejected {
                        status,
                        retry_after: retry_after(r.retry_after),
                    },
                };
                let target = u.target;
                if let EndReason::Rejected {
                    status: 503,
                    retry_after: Some(ra),
                } = reason
                {
                    self.note_backoff(now, target, ra);
                }
                self.end_call(key, reason);
            }
        }
    }

    fn retry_with_auth(
        &mut self,
        now: Instant,
        key: CallKey,
        header: &str,
        c: &auth::Challenge,
        creds: &auth::Credentials,
    ) {
        self.cnonce_counter += 1;
        let cnonce = format!("{:x}{:x}", self.cnonce_counter, key.0);
        let Some(Dialog::Uac(u)) = self.calls.get_mut(&key) else {
            return;
        };
        u.cseq += 1;
        u.auth_tries += 1;
        u.got_provisional = false;
        u.state = UacState::Calling;
        u.invite_branch = ids::branch(&self.cfg.namespace, u.id, u.cseq, false);
        let authz = auth::authorization(c, creds, "INVITE", &u.request_uri, &cnonce, 1);
        let bytes = super::invite_bytes(&self.cfg, u, Some((header, &authz)));
        let txn = self.layer.start_client(
            now,
            ClientRequest {
                method: MethodClass::Invite,
                branch: u.invite_branch.clone(),
                dest: u.target,
                request: bytes,
                owner: key.0,
            },
            &mut self.out,
        );
        u.invite_txn = Some(txn);
        self.arm_txn(txn);
    }

    pub(super) fn on_request(&mut self, now: Instant, from: std::net::SocketAddr, inc: &Incoming) {
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
                let txn = match self.calls.get(&call) {
                    Some(Dialog::Uas(u)) if u.state == UasState::Answered => u.invite_txn,
                    _ => match self.reinvites.remove(inc.head.call_id.as_str()) {
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
                    self.answer_in_new_txn(now, key, from, inc, rej.status, &extra);
                    return;
                }
                match method {
                    rsip::Method::Invite if inc.head.to_tag.is_none() => {
                        self.on_new_invite(now, key, from, inc)
                    }
                    rsip::Method::Invite => self.on_reinvite(now, key, from, inc),
                    rsip::Method::Bye => self.on_bye(now, key, from, inc),
                    rsip::Method::Options => self.answer_in_new_txn(
                        now,
                        key,
                        from,
                        inc,
                        200,
                        &[("Allow", ALLOW), ("Accept", "application/sdp")],
                    ),
                    _ => self.answer_in_new_txn(now, key, from, inc, 501, &[("Allow", ALLOW)]),
                }
            }
        }
    }

    fn confirm_uas(&mut self, call: CallKey) {
        if let Some(Dialog::Uas(u)) = self.calls.get_mut(&call) {
            if u.state == UasState::Answered {
                u.state = UasState::Confirmed;
                self.events.push_back(Event::Call {
                    call,
                    event: CallEvent::Answered { sdp: None },
                });
            }
        }
    }

    fn on_cancel(
        &mut self,
        now: Instant,
        key: ServerKey,
        from: std::net::SocketAddr,
        inc: &Incoming,
    ) {
        let invite_key = ServerKey {
            method: MethodClass::Invite,
            ..key.clone()
        };
        let target = self
            .layer
            .match_request(&invite_key)
            .and_then(|(itxn, owner)| match self.calls.get(&CallKey(owner)) {
                Some(Dialog::Uas(u)) if u.state == UasState::Incoming && u.invite_txn == itxn => {
                    Some(CallKey(owner))
                }
                _ => None,
            });
        let Some(call) = target else {
            self.answer_in_new_txn(now, key, from, inc, 481, &[]);
            return;
        };
        self.answer_in_new_txn(now, key, from, inc, 200, &[]);
        let Some(Dialog::Uas(u)) = self.calls.get(&call) else {
            return;
        };
        let vias: Vec<&str> = u.vias.iter().map(String::as_str).collect();
        let bytes = ResponseSpec {
            status: 487,
            reason: "Request Terminated",
            vias: &vias,
            from: &u.from,
            to: &u.to,
            to_tag: Some(&u.local_tag),
            call_id: &u.call_id,
            cseq: &u.cseq,
            contact: None,
            extra: &[],
            body: None,
        }
        .to_bytes();
        let txn = u.invite_txn;
        self.layer.respond(now, txn, 487, bytes, &mut self.out);
        self.arm_txn(txn);
        self.end_call(call, EndReason::RemoteCancel);
    }

    fn on_new_invite(
        &mut self,
        now: Instant,
        key: ServerKey,
        from: std::net::SocketAddr,
        inc: &Incoming,
    ) {
        if self.by_call_id.contains_key(inc.head.call_id.as_str()) {
            // Same Call-ID, new transaction, no To-tag: a merged request (§8.2.2.2).
            self.answer_in_new_txn(now, key, from, inc, 482, &[]);
            return;
        }
        self.next_call += 1;
        let call = CallKey(self.next_call);
        let txn = self.layer.start_server(key, from, call.0);
        let r = raw(&inc.msg);
        let uas = Uas {
            source: from,
            call_id: inc.head.call_id.clone(),
            remote_tag: inc.head.from_tag.clone(),
            local_tag: ids::local_tag(call.0 ^ self.stats.datagrams.rotate_left(32)),
            vias: r.vias.iter().map(|s| s.to_string()).collect(),
            from: r.from.to_owned(),
            to: r.to.to_owned(),
            cseq: r.cseq.to_owned(),
            remote_target: r.contact.map(|c| build::uri_of(c).to_owned()),
            route: r.record_route.iter().map(|s| s.to_string()).collect(),
            invite_txn: txn,
            state: UasState::Incoming,
            local_cseq: 0,
            local_sdp: None,
        };
        let trying = self.reply(inc, 100, None, false, &[], None);
        self.layer.respond(now, txn, 100, trying, &mut self.out);
        let request_uri = match &inc.msg {
            rsip::SipMessage::Request(req) => req.uri.to_string(),
            rsip::SipMessage::Response(_) => String::new(),
        };
        self.events.push_back(Event::Incoming(IncomingCall {
            call,
            source: from,
            request_uri,
            from: uas.from.clone(),
            to: uas.to.clone(),
            call_id: uas.call_id.clone(),
            sdp: body(&inc.msg),
        }));
        self.by_call_id.insert(uas.call_id.clone(), call);
        self.calls.insert(call, Dialog::Uas(uas));
        self.stats.calls_started += 1;
    }

    fn on_reinvite(
        &mut self,
        now: Instant,
        key: ServerKey,
        from: std::net::SocketAddr,
        inc: &Incoming,
    ) {
        let call = self.by_call_id.get(inc.head.call_id.as_str()).copied();
        let (tag, sdp) = match call.and_then(|c| self.calls.get(&c)) {
            Some(Dialog::Uas(u)) if u.state == UasState::Confirmed => {
                (u.local_tag.clone(), u.local_sdp.clone())
            }
            Some(Dialog::Uac(u)) if u.state == UacState::Confirmed => {
                (u.ids.from_tag.clone(), u.offer.clone())
            }
            _ => {
                self.answer_in_new_txn(now, key, from, inc, 481, &[]);
                return;
            }
        };
        // Our media does not change, so the answer repeats our session description (RFC 3264 §8).
        let bytes = self.reply(
            inc,
            200,
            Some(&tag),
            true,
            &[("Allow", ALLOW)],
            sdp.as_deref(),
        );
        let txn = self.layer.start_server(key, from, 0);
        self.layer.respond(now, txn, 200, bytes, &mut self.out);
        self.arm_txn(txn);
        self.reinvites.insert(inc.head.call_id.clone(), txn);
    }

    fn on_bye(&mut self, now: Instant, key: ServerKey, from: std::net::SocketAddr, inc: &Incoming) {
        let call = self.by_call_id.get(inc.head.call_id.as_str()).copied();
        let matches = call
            .and_then(|c| self.calls.get(&c))
            .is_some_and(|d| match d {
                Dialog::Uas(u) => {
                    u.remote_tag == inc.head.from_tag
                        && matches!(
                            u.state,
                            UasState::Answered | UasState::Confirmed | UasState::Terminating
                        )
                }
                Dialog::Uac(u) => {
                    u.remote_tag.is_some()
                        && u.remote_tag == inc.head.from_tag
                        && matches!(u.state, UacState::Confirmed | UacState::Terminating)
                }
            });
        match (call, matches) {
            (Some(call), true) => {
                self.answer_in_new_txn(now, key, from, inc, 200, &[]);
                self.end_call(call, EndReason::RemoteHangup);
            }
            _ => self.answer_in_new_txn(now, key, from, inc, 481, &[]),
        }
    }
}
