//! The sans-IO SIP endpoint: messages and timeouts in, messages and call events out.
//!
//! # Contract
//! After every `handle_datagram`/`handle_message`, `handle_timeout` or command (`dial`,
//! `hang_up`, `respond`, `probe`), drain `poll_transmit` and `poll_event` until they return
//! `None`, then re-arm the timer from `poll_timeout`. Nothing here reads the clock or touches a
//! socket; time going backwards is ignored.
//!
//! Every message names its [`Peer`]: the transport it came on and the address at the other
//! end. Over TCP and TLS a message is one the shell's [`StreamFramer`](crate::msg::StreamFramer)
//! cut out whole; responses go back to the peer a request came from (its connection), and
//! transactions on those transports run without retransmissions (RFC 3261 §17).
//!
//! # Facing strangers
//! - Identifiers (branches, tags, Call-IDs) are random ([`crate::ids`]), and a response is
//!   taken only from the peer (transport and address) its request went to; any other is counted
//!   (`EndpointStats::foreign_responses`) and dropped.
//! - A request that matches no transaction and no dialog of ours (OPTIONS, a BYE or CANCEL for
//!   nothing, malformed bytes, and under [`InvitePolicy::Refuse`] every new INVITE) is answered
//!   statelessly: one response per request, nothing kept, nothing retransmitted. With a
//!   [`Guard`] configured, a source over its rate gets no answer at all.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::auth::Credentials;
use crate::build::{self, RequestSpec};
use crate::dialog::{
    CallEvent, Dialog, EndReason, Expired, HangUp, Local, Request, Uac, UacParams,
};
use crate::error::Error;
use crate::guard::{Guard, GuardConfig, GuardStats, Verdict};
use crate::ids::IdGen;
use crate::msg;
use crate::peer::{Peer, Transport};
use crate::register::{RegState, Registration};
use crate::resolve;
use crate::txn::{
    ClientRequest, Layer, MethodClass, TimerConfig, TimerOutcome, Transmit, TxnId, TxnStats,
};

mod inbound;
mod register;
mod session;

pub use register::RegKey;

/// Names a call inside one endpoint. Not the attempt id: a slot, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallKey(pub u64);

/// Owners at or above this are OPTIONS probes, not calls.
const PROBE_OWNER: u64 = 1 << 63;

/// How an endpoint behaves. See `configs/` for the keys' units and bounds.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// The address written in Via and Contact: the UDP socket's (and the streams', unless
    /// they have their own below).
    pub local: SocketAddr,
    /// The TCP listener's address, for Via and Contact of calls over TCP.
    pub local_tcp: Option<SocketAddr>,
    /// The TLS listener's address, for Via and Contact of calls over TLS.
    pub local_tls: Option<SocketAddr>,
    /// Keeps Call-IDs and branches of different nodes or runs apart.
    pub namespace: String,
    pub timers: TimerConfig,
    pub user_agent: String,
    /// Digest credentials per peer address.
    pub credentials: HashMap<SocketAddr, Credentials>,
    /// Credentials for any peer without its own entry.
    pub default_credentials: Option<Credentials>,
    /// What a new INVITE from outside gets. Default [`InvitePolicy::Accept`].
    pub invites: InvitePolicy,
    /// A session timer (RFC 4028) offered on our INVITEs: `Session-Expires` with this
    /// interval and `Supported: timer`; the answer's interval and refresher then rule. Default
    /// `None`: no timer offered (one a peer imposes in its 2xx is still kept).
    pub session_expires: Option<Duration>,
    /// The shortest session interval (RFC 4028 Min-SE) we accept on an incoming INVITE;
    /// shorter ones get 422 with this. Default `None`: any interval accepted.
    pub min_se: Option<Duration>,
    /// Per-source rate limits on what is answered statelessly (see [`crate::guard`] for the
    /// knobs' units, defaults and bounds). Default `None`: an endpoint facing only its own
    /// test network (the peer, the load tester) answers whatever it is sent; a node facing
    /// other networks sets one.
    pub guard: Option<GuardConfig>,
}

/// What an endpoint does with an INVITE that creates a dialog (no To-tag, no transaction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvitePolicy {
    /// A server transaction and a dialog, `100 Trying`, and [`Event::Incoming`] for the owner to
    /// answer (a UAS: the peer, SIPp's stand-ins).
    #[default]
    Accept,
    /// Nothing kept and no event: one stateless response with `status` (400..=699) to each
    /// INVITE (and to each retransmission of it), within the guard's limits. For an endpoint
    /// that takes no calls (a dialer node), so an INVITE flood costs neither memory nor
    /// retransmissions.
    Refuse { status: u16 },
}

impl EndpointConfig {
    pub fn new(local: SocketAddr) -> Self {
        Self {
            local,
            local_tcp: None,
            local_tls: None,
            namespace: "outdial".into(),
            timers: TimerConfig::default(),
            user_agent: concat!("outdial/", env!("CARGO_PKG_VERSION")).into(),
            credentials: HashMap::new(),
            default_credentials: None,
            invites: InvitePolicy::Accept,
            guard: None,
            session_expires: None,
            min_se: None,
        }
    }

    /// Our address on `transport`, as Via and Contact write it.
    #[inline]
    pub fn local_for(&self, transport: Transport) -> SocketAddr {
        let own = match transport {
            Transport::Udp => None,
            Transport::Tcp => self.local_tcp,
            Transport::Tls => self.local_tls,
        };
        own.unwrap_or(self.local)
    }
}

/// A call to place.
#[derive(Debug, Clone)]
pub struct Dial {
    /// The caller's id (an attempt id): one live dialog per id ([`Endpoint::call_of`]), and
    /// the Call-ID starts with it ([`crate::ids::call_id_prefix`]); the rest is random.
    pub id: u64,
    /// The next hop (the callee, or an outbound proxy). The transport is the one the
    /// Request-URI names (see [`Endpoint::dial`]) unless [`Endpoint::dial_via`] picks one.
    pub target: SocketAddr,
    pub request_uri: String,
    pub from_uri: String,
    /// Defaults to the Request-URI.
    pub to_uri: Option<String>,
    /// SDP offer for the INVITE body.
    pub sdp_offer: Option<Vec<u8>>,
    /// CANCEL when no final response arrives within this long.
    pub ring_timeout: Option<Duration>,
    pub extra_headers: Vec<(String, String)>,
}

/// A new INVITE reached us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingCall {
    pub call: CallKey,
    pub source: SocketAddr,
    /// The transport the INVITE came on.
    pub transport: Transport,
    pub request_uri: String,
    pub from: String,
    pub to: String,
    pub call_id: String,
    /// The SDP offer, if the INVITE carried one.
    pub sdp: Option<Vec<u8>>,
}

/// What the endpoint reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    Call {
        call: CallKey,
        event: CallEvent,
    },
    Incoming(IncomingCall),
    /// An OPTIONS probe finished: a status, or `None` when it timed out.
    ProbeResult {
        token: u64,
        status: Option<u16>,
        retry_after: Option<Duration>,
    },
    /// A registration's state changed (see [`crate::register`]).
    Registration {
        key: RegKey,
        state: RegState,
    },
    /// A peer answered 503 with Retry-After: no new requests to it until then.
    PeerBackoff {
        peer: SocketAddr,
        retry_after: Duration,
    },
}

/// Counters of what crossed the endpoint.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EndpointStats {
    pub datagrams: u64,
    /// Requests that failed to parse and were answered statelessly (400, 505 ...).
    pub rejected_malformed: u64,
    /// Malformed bytes dropped without an answer (junk, broken responses).
    pub dropped_junk: u64,
    /// Well-formed responses matching no transaction.
    pub stray_responses: u64,
    /// Responses matching a transaction but coming from elsewhere than its request went
    /// (another address, port or transport): forged or misrouted, dropped.
    pub foreign_responses: u64,
    /// Requests answered without a transaction (one response each, never retransmitted).
    pub answered_stateless: u64,
    /// New INVITEs refused under [`InvitePolicy::Refuse`] (answered or, over the guard's
    /// limit, dropped).
    pub refused_invites: u64,
    /// What the guard admitted and dropped (zero without a guard).
    pub guard: GuardStats,
    pub calls_started: u64,
    pub calls_ended: u64,
    pub txn: TxnStats,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimerRef {
    Txn(TxnId),
    Call(CallKey),
    Reg(RegKey),
    Session(CallKey),
}

/// The SIP endpoint core (both UAC and UAS).
#[derive(Debug)]
pub struct Endpoint {
    cfg: EndpointConfig,
    layer: Layer,
    last_now: Option<Instant>,
    next_call: u64,
    calls: HashMap<CallKey, Dialog>,
    by_call_id: HashMap<String, CallKey>,
    /// Caller ids in use: one id can never become two dialogs.
    by_id: HashMap<u64, CallKey>,
    timers: BinaryHeap<Reverse<(Instant, TimerRef)>>,
    backoff: HashMap<SocketAddr, Instant>,
    /// Server transactions of re-INVITEs we answered, waiting for their ACK, by Call-ID.
    reinvites: HashMap<String, TxnId>,
    out: Vec<Transmit>,
    ready: VecDeque<Transmit>,
    events: VecDeque<Event>,
    stats: EndpointStats,
    /// Every identifier we write comes from here.
    ids: IdGen,
    guard: Option<Guard>,
    next_registration: u64,
    registrations: HashMap<RegKey, Registration>,
    /// The last state reported per registration, so only changes become events.
    reported: HashMap<RegKey, RegState>,
    /// Each registration's outstanding REGISTER transaction.
    register_txns: HashMap<RegKey, TxnId>,
    /// Session timers of answered calls.
    sessions: HashMap<CallKey, session::SessionTimer>,
}

impl Endpoint {
    pub fn new(cfg: EndpointConfig) -> Self {
        Self {
            layer: Layer::new(cfg.timers),
            guard: cfg.guard.map(Guard::new),
            cfg,
            last_now: None,
            next_call: 0,
            calls: HashMap::new(),
            by_call_id: HashMap::new(),
            by_id: HashMap::new(),
            timers: BinaryHeap::new(),
            backoff: HashMap::new(),
            reinvites: HashMap::new(),
            out: Vec::new(),
            ready: VecDeque::new(),
            events: VecDeque::new(),
            stats: EndpointStats::default(),
            ids: IdGen::new(),
            next_registration: 0,
            registrations: HashMap::new(),
            reported: HashMap::new(),
            register_txns: HashMap::new(),
            sessions: HashMap::new(),
        }
    }

    pub fn config(&self) -> &EndpointConfig {
        &self.cfg
    }

    pub fn stats(&self) -> EndpointStats {
        EndpointStats {
            txn: self.layer.stats(),
            guard: self.guard.as_ref().map(Guard::stats).unwrap_or_default(),
            ..self.stats
        }
    }

    /// Calls not yet ended.
    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }

    /// Live transactions (including those lingering to absorb retransmissions).
    pub fn live_transactions(&self) -> usize {
        self.layer.len()
    }

    /// When `peer` may be sent new requests again, if it asked us to back off.
    pub fn backoff_until(&self, peer: SocketAddr, now: Instant) -> Option<Instant> {
        self.backoff.get(&peer).copied().filter(|u| *u > now)
    }

    fn clamp(&mut self, now: Instant) -> Instant {
        let now = match self.last_now {
            Some(last) if now < last => last,
            _ => now,
        };
        self.last_now = Some(now);
        now
    }

    // ---- sans-IO surface -------------------------------------------------------------

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.flush();
        self.ready.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The earliest instant `handle_timeout` has work (it may find a stale entry and do nothing).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    fn flush(&mut self) {
        if !self.out.is_empty() {
            self.ready.extend(self.out.drain(..));
        }
    }

    fn arm_txn(&mut self, id: TxnId) {
        if let Some(at) = self.layer.deadline(id) {
            self.timers.push(Reverse((at, TimerRef::Txn(id))));
        }
    }

    fn arm_call(&mut self, key: CallKey) {
        if let Some(Dialog::Uac(u)) = self.calls.get(&key) {
            if let Some(at) = u.deadline() {
                self.timers.push(Reverse((at, TimerRef::Call(key))));
            }
        }
    }

    /// Fires every due timer.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clamp(now);
        while let Some(Reverse((at, r))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            match r {
                TimerRef::Txn(id) => {
                    // Stale entries (the machine moved on) are skipped by comparing deadlines.
                    if self.layer.deadline(id).is_some_and(|d| d <= now) {
                        let outcome = self.layer.on_timeout(now, id, &mut self.out);
                        self.arm_txn(id);
                        if let Some((owner, outcome)) = outcome {
                            self.on_txn_timer(now, owner, id, outcome);
                        }
                    }
                }
                TimerRef::Call(key) => self.on_call_timer(now, key),
                TimerRef::Reg(key) => self.on_registration_timer(now, key),
                TimerRef::Session(key) => self.on_session_timer(now, key),
            }
        }
        self.flush();
    }

    /// Feeds one received UDP datagram.
    #[inline]
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        self.handle_message(now, Peer::udp(from), bytes)
    }

    /// Feeds one received message: a UDP datagram, or a message a stream framer cut out of a
    /// TCP or TLS connection (pings and pongs are the shell's business, not the endpoint's).
    pub fn handle_message(&mut self, now: Instant, from: Peer, bytes: &[u8]) {
        let now = self.clamp(now);
        self.stats.datagrams += 1;
        // Keep-alive CRLFs (RFC 5626 §4.4.1) are not messages.
        if bytes
            .iter()
            .all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
        {
            return;
        }
        match msg::parse_datagram(bytes) {
            Ok(inc) => {
                if inc.head.status.is_some() {
                    self.on_response(now, from, &inc);
                } else {
                    self.on_request(now, from, &inc);
                }
            }
            Err(e) => match (e.status(), e.reply_context()) {
                (Some(status), Some(ctx)) if self.admit(now, from) => {
                    self.stats.rejected_malformed += 1;
                    self.stats.answered_stateless += 1;
                    // A method we do not know gets 501 with what we do allow (RFC 3261 §8.2.1).
                    let allow: Vec<rsip::Header> = if status == 501 {
                        use rsip::headers::UntypedHeader;
                        vec![rsip::Header::Allow(rsip::headers::Allow::new(build::ALLOW))]
                    } else {
                        Vec::new()
                    };
                    let reply =
                        msg::reply::stateless_with(ctx, status, msg::reason_phrase(status), &allow);
                    self.out.push(Transmit {
                        dest: from,
                        payload: reply,
                    });
                }
                _ => self.stats.dropped_junk += 1,
            },
        }
        self.flush();
    }

    /// Whether the guard lets `from` have a stateless answer now (always, without a guard).
    fn admit(&mut self, now: Instant, from: Peer) -> bool {
        let Some(guard) = self.guard.as_mut() else {
            return true;
        };
        match guard.check(now, from.addr.ip()) {
            Verdict::Admit => true,
            Verdict::Banned => {
                tracing::warn!(source = %from.addr.ip(), "SIP: source over its request rate; dropping it");
                false
            }
            Verdict::Drop => false,
        }
    }

    // ---- commands ----------------------------------------------------------------------

    /// Places a call over the transport its Request-URI names (RFC 3263 §4.1 for a target
    /// given as an address: `;transport=` if present, TLS for `sips:`, else UDP). Fails if
    /// `dial.id` already has a live dialog or the peer asked us to back off.
    pub fn dial(&mut self, now: Instant, dial: Dial) -> Result<CallKey, Error> {
        let transport = resolve::uri_transport(&dial.request_uri);
        self.dial_via(now, dial, transport)
    }

    /// Places a call over `transport`, as chosen by RFC 3263 resolution or configuration.
    pub fn dial_via(
        &mut self,
        now: Instant,
        mut dial: Dial,
        transport: Transport,
    ) -> Result<CallKey, Error> {
        let now = self.clamp(now);
        if let Some(se) = self.cfg.session_expires {
            dial.extra_headers
                .push(("Session-Expires".into(), se.as_secs().to_string()));
            dial.extra_headers
                .push(("Supported".into(), "timer".into()));
        }
        if self.by_id.contains_key(&dial.id) {
            return Err(Error::Usage("this id already has a live dialog"));
        }
        if let Some(until) = self.backoff_until(dial.target, now) {
            return Err(Error::Backoff {
                peer: dial.target,
                remaining: until - now,
            });
        }
        self.next_call += 1;
        let key = CallKey(self.next_call);
        let call = UacParams {
            id: dial.id,
            target: Peer {
                transport,
                addr: dial.target,
            },
            to_uri: dial.to_uri.unwrap_or_else(|| dial.request_uri.clone()),
            request_uri: dial.request_uri,
            from_uri: dial.from_uri,
            offer: dial.sdp_offer,
            extra: dial.extra_headers,
        };
        let ring_deadline = dial.ring_timeout.map(|t| now + t);
        let (layer, out) = (&mut self.layer, &mut self.out);
        let local = local(&self.cfg, transport);
        let (uac, txn) = Uac::new(call, ring_deadline, local, &mut self.ids, |req| {
            layer.start_client(now, req.owned_by(key.0), out)
        });
        self.by_call_id.insert(uac.call_id().to_owned(), key);
        self.by_id.insert(uac.id(), key);
        self.calls.insert(key, Dialog::Uac(uac));
        self.stats.calls_started += 1;
        self.arm_txn(txn);
        self.arm_call(key);
        self.flush();
        Ok(key)
    }

    /// The call placed under the caller's id `id` (see [`Dial::id`]), while it lasts.
    pub fn call_of(&self, id: u64) -> Option<CallKey> {
        self.by_id.get(&id).copied()
    }

    /// The Call-ID of a call, while it lasts (a caller keeping its own record of Call-IDs
    /// takes it here; they are random, not derived).
    pub fn call_id(&self, key: CallKey) -> Option<&str> {
        self.calls.get(&key).map(Dialog::call_id)
    }

    /// Ends a call: CANCEL before an answer, BYE after, a 480 for an unanswered incoming call.
    pub fn hang_up(&mut self, now: Instant, key: CallKey) -> Result<(), Error> {
        let now = self.clamp(now);
        let guard = self.cfg.timers.timeout();
        match self.calls.get_mut(&key) {
            None => return Err(Error::Usage("no such call")),
            Some(Dialog::Uac(u)) => {
                let local = local(&self.cfg, u.target().transport);
                let hang_up = u.hang_up(now, guard, local, &mut self.ids);
                self.on_hang_up(now, key, hang_up);
            }
            Some(Dialog::Uas(u)) if u.is_incoming() => return self.respond(now, key, 480, None),
            Some(Dialog::Uas(u)) => {
                let local = local(&self.cfg, u.source().transport);
                if let Some(bye) = u.bye(local, &mut self.ids) {
                    self.send_request(now, key, bye);
                }
            }
        }
        self.flush();
        Ok(())
    }

    /// Answers an incoming call: 1xx, 2xx (with our SDP) or a rejection.
    pub fn respond(
        &mut self,
        now: Instant,
        key: CallKey,
        status: u16,
        sdp: Option<Vec<u8>>,
    ) -> Result<(), Error> {
        self.respond_with(now, key, status, sdp, &[])
    }

    /// [`respond`](Self::respond) with extra headers (e.g. `Retry-After` on a 503).
    pub fn respond_with(
        &mut self,
        now: Instant,
        key: CallKey,
        status: u16,
        sdp: Option<Vec<u8>>,
        extra: &[(&str, &str)],
    ) -> Result<(), Error> {
        let now = self.clamp(now);
        if !(100..=699).contains(&status) {
            return Err(Error::Usage("status must be 100..=699"));
        }
        let Some(Dialog::Uas(u)) = self.calls.get_mut(&key) else {
            return Err(Error::Usage("no such incoming call"));
        };
        let me = me(&self.cfg, u.source().transport);
        let bytes = u.respond(me, status, sdp, extra)?;
        let txn = u.invite_txn();
        self.layer.respond(now, txn, status, bytes, &mut self.out);
        self.arm_txn(txn);
        if status >= 300 {
            self.end_call(key, EndReason::LocalReject { status });
        }
        self.flush();
        Ok(())
    }

    /// Sends an out-of-dialog OPTIONS (a health probe) over the transport `request_uri`
    /// names, as [`dial`](Self::dial) does; the answer comes as `Event::ProbeResult`.
    pub fn probe(
        &mut self,
        now: Instant,
        target: SocketAddr,
        request_uri: &str,
        token: u64,
    ) -> Result<(), Error> {
        let transport = resolve::uri_transport(request_uri);
        self.probe_via(
            now,
            Peer {
                transport,
                addr: target,
            },
            request_uri,
            token,
        )
    }

    /// [`probe`](Self::probe) to an explicit transport and address.
    pub fn probe_via(
        &mut self,
        now: Instant,
        target: Peer,
        request_uri: &str,
        token: u64,
    ) -> Result<(), Error> {
        let now = self.clamp(now);
        if token >= PROBE_OWNER {
            return Err(Error::Usage("probe token must be below 2^63"));
        }
        let id = token | PROBE_OWNER;
        let me = me(&self.cfg, target.transport);
        let branch = self.ids.branch();
        let from_tag = self.ids.tag();
        let call_id = self.ids.call_id(&me.addr.ip().to_string());
        let bytes = RequestSpec {
            method: "OPTIONS",
            request_uri,
            local: me.addr,
            transport: me.transport,
            branch: &branch,
            from_uri: &format!("sip:outdial@{}", me.addr),
            from_tag: &from_tag,
            to_uri: request_uri,
            to_tag: None,
            call_id: &call_id,
            cseq: 1,
            cseq_method: None,
            route: &[],
            contact: true,
            extra: &[("Accept", "application/sdp")],
            body: None,
            user_agent: &self.cfg.user_agent,
        }
        .to_bytes();
        let txn = self.layer.start_client(
            now,
            ClientRequest {
                method: MethodClass::Other,
                branch,
                dest: target,
                request: bytes,
                owner: id,
            },
            &mut self.out,
        );
        self.arm_txn(txn);
        self.flush();
        Ok(())
    }

    // ---- dialog outcomes ---------------------------------------------------------------

    /// Starts a client transaction for a dialog's request and arms its timer.
    fn send_request(&mut self, now: Instant, key: CallKey, req: Request) -> TxnId {
        let txn = self
            .layer
            .start_client(now, req.owned_by(key.0), &mut self.out);
        self.arm_txn(txn);
        txn
    }

    fn on_hang_up(&mut self, now: Instant, key: CallKey, hang_up: HangUp) {
        match hang_up {
            HangUp::Nothing => {}
            HangUp::CancelDeferred => self.arm_call(key),
            HangUp::Cancel(cancel) => {
                self.send_request(now, key, cancel);
                self.arm_call(key);
            }
            HangUp::Bye(bye) => {
                self.send_request(now, key, bye);
            }
        }
    }

    fn end_call(&mut self, key: CallKey, reason: EndReason) {
        let Some(d) = self.calls.remove(&key) else {
            return;
        };
        self.by_call_id.remove(d.call_id());
        self.sessions.remove(&key);
        if let Dialog::Uac(u) = &d {
            self.by_id.remove(&u.id());
        }
        // 2xx retransmits after this are re-ACKed by the INVITE transaction itself
        // (Accepted state, Timer M), which kept a copy of the ACK.
        self.stats.calls_ended += 1;
        self.events.push_back(Event::Call {
            call: key,
            event: CallEvent::Ended(reason),
        });
    }

    fn on_call_timer(&mut self, now: Instant, key: CallKey) {
        let guard = self.cfg.timers.timeout();
        let Some(Dialog::Uac(u)) = self.calls.get_mut(&key) else {
            return;
        };
        match u.on_deadline(now, guard, local(&self.cfg, u.target().transport)) {
            Expired::NotDue => {}
            Expired::RingTimeout(hang_up) => self.on_hang_up(now, key, hang_up),
            Expired::Abandon { invite, reason } => {
                self.layer.abandon(invite);
                self.end_call(key, reason);
            }
        }
    }

    fn on_txn_timer(&mut self, now: Instant, owner: u64, txn: TxnId, outcome: TimerOutcome) {
        if register::is_registration(owner) {
            self.on_register_timeout(now, owner, txn);
            return;
        }
        if owner >= PROBE_OWNER {
            self.events.push_back(Event::ProbeResult {
                token: owner & !PROBE_OWNER,
                status: None,
                retry_after: None,
            });
            return;
        }
        let key = CallKey(owner);
        let reason = self
            .calls
            .get(&key)
            .and_then(|d| d.on_txn_timeout(txn, outcome));
        if let Some(reason) = reason {
            self.end_call(key, reason);
        }
    }
}

/// Our own address on `transport`, for a Contact.
#[inline]
fn me(cfg: &EndpointConfig, transport: Transport) -> Peer {
    Peer {
        transport,
        addr: cfg.local_for(transport),
    }
}

/// What dialogs need of the configuration to write their requests over `transport`.
#[inline]
fn local(cfg: &EndpointConfig, transport: Transport) -> Local<'_> {
    Local {
        addr: cfg.local_for(transport),
        transport,
        namespace: &cfg.namespace,
        user_agent: &cfg.user_agent,
    }
}
