//! The node's SIP plant: one task owning the UDP socket and the sans-IO endpoint, on the same
//! arbiter as the call actors it serves, so a call's SIP events reach its actor without a
//! cross-thread hop. Commands arrive on a bounded channel (`try_send`: a full channel is
//! counted and the attempt fails over to its retry rule, never blocks the pacing loop).
//!
//! A node takes no calls: its endpoint refuses every INVITE from outside statelessly (one 403
//! per request, nothing kept or retransmitted) and drops a source over the guard's rate
//! (`sip::GuardConfig::default()`: 30 requests per 2 s, banned 60 s, 4096 sources tracked).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::dev::SendError;
use actix::prelude::*;
use sip::register::RegisterParams;
use sip::transport::{SocketConfig, UdpTransport};
use sip::{
    CallEvent, CallKey, Dial, Endpoint, EndpointConfig, Event, GuardConfig, InvitePolicy, RegKey,
    TimerConfig,
};
use tokio::sync::mpsc;

use crate::config::Trunk;
use crate::faults::SipFaults;
use crate::trunk::TrunkTable;
pub use outdial_core::attempt::flow::Signal;
use outdial_core::clock;
use outdial_core::domain::AttemptId;
use outdial_core::sync::{AtomicU64, Ordering};

/// What a call (or a nailing call's agent) hears from SIP.
#[derive(Debug, Clone, PartialEq, Eq, Message)]
#[rtype(result = "()")]
pub struct CallSignal(pub Signal);

/// An OPTIONS probe's outcome, for an MPP actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Message)]
#[rtype(result = "()")]
pub struct ProbeResult {
    pub token: u64,
    pub status: Option<u16>,
    pub retry_after: Option<Duration>,
}

/// Requests to the SIP plant.
pub enum SipCommand {
    Dial {
        attempt: AttemptId,
        target: SocketAddr,
        request_uri: String,
        from_uri: String,
        sdp_offer: Option<Vec<u8>>,
        ring_timeout: Duration,
        /// Headers a trunk adds (Route to its proxy, P-Asserted-Identity, Privacy).
        extra_headers: Vec<(String, String)>,
        /// The trunk's transport to `target`; `None`: the one the Request-URI names.
        transport: Option<sip::Transport>,
        call: Recipient<CallSignal>,
    },
    HangUp {
        attempt: AttemptId,
    },
    /// Ends every call in progress (BYE, or CANCEL before an answer): a stopping node leaves
    /// no customer on a line nobody will hang up. `done` hears how many, once they are sent.
    HangUpAll {
        done: std::sync::mpsc::Sender<usize>,
    },
    Probe {
        target: SocketAddr,
        token: u64,
        reply: Recipient<ProbeResult>,
    },
    /// Takes every trunk's binding off its registrar (`Expires: 0`); `done` hears how many
    /// un-REGISTERs were sent, once they have left.
    UnregisterAll {
        done: std::sync::mpsc::Sender<usize>,
    },
}

/// Counters of the plant, readable from anywhere.
#[derive(Debug, Default)]
pub struct SipCounters {
    pub invites: AtomicU64,
    pub commands_refused: AtomicU64,
    pub retransmissions: AtomicU64,
    pub rejected_malformed: AtomicU64,
    pub dropped_junk: AtomicU64,
    /// Signals a call's full mailbox could not take at once (delivered later, in order).
    pub signals_deferred: AtomicU64,
    /// Socket errors the receive loop survived.
    pub socket_errors: AtomicU64,
    /// Responses that matched a transaction but came from elsewhere than its request went.
    pub foreign_responses: AtomicU64,
    /// INVITEs from outside, refused (a stateless 403, or dropped over the guard's rate).
    pub refused_invites: AtomicU64,
    /// Requests answered without a transaction.
    pub answered_stateless: AtomicU64,
    /// Requests the guard dropped, and the sources it banned.
    pub guard_dropped: AtomicU64,
    pub guard_bans: AtomicU64,
}

/// A handle to send commands to the plant.
#[derive(Clone)]
pub struct SipHandle {
    tx: mpsc::Sender<SipCommand>,
    pub local: SocketAddr,
    pub counters: Arc<SipCounters>,
    /// The trunks and their registration state.
    pub trunks: Arc<TrunkTable>,
}

impl SipHandle {
    /// A handle whose commands go to `rx` rather than to a plant: a unit test stands in for
    /// the plant with it.
    #[cfg(test)]
    pub(crate) fn detached(local: SocketAddr) -> (Self, mpsc::Receiver<SipCommand>) {
        let (tx, rx) = mpsc::channel(64);
        let handle = Self {
            tx,
            local,
            counters: Arc::new(SipCounters::default()),
            trunks: Arc::new(TrunkTable::default()),
        };
        (handle, rx)
    }

    /// Hands a command over without waiting; false (and counted) when the plant is saturated
    /// or gone.
    pub fn send(&self, cmd: SipCommand) -> bool {
        if self.tx.try_send(cmd).is_ok() {
            true
        } else {
            self.counters
                .commands_refused
                .fetch_add(1, Ordering::Relaxed);
            false
        }
    }
}

/// Binds the socket and spawns the plant on the current arbiter.
/// `faults` is set only when the node accepts fault injection.
pub fn start(
    bind: SocketAddr,
    namespace: &str,
    t1: Duration,
    buffers: usize,
    guard: GuardConfig,
    faults: Option<Arc<SipFaults>>,
    trunks: &[Arc<Trunk>],
) -> std::io::Result<SipHandle> {
    let transport = UdpTransport::bind(
        bind,
        SocketConfig {
            recv_buffer_bytes: buffers,
            send_buffer_bytes: buffers,
        },
    )?;
    let local = transport.local_addr()?;
    let mut cfg = EndpointConfig::new(local);
    cfg.namespace = namespace.to_owned();
    cfg.timers = TimerConfig {
        t1,
        ..TimerConfig::default()
    };
    cfg.invites = InvitePolicy::Refuse { status: 403 };
    cfg.guard = Some(guard);
    let streams = crate::sip_streams::bind(trunks, local, &mut cfg)
        .map_err(|e| std::io::Error::other(format!("SIP over TCP/TLS for the trunks: {e}")))?;
    for t in trunks {
        if let Some(c) = &t.credentials {
            // Challenges from the trunk's next hop are answered with the trunk's credentials.
            cfg.credentials.insert(t.next_hop, c.clone());
        }
    }
    let (tx, rx) = mpsc::channel(65_536);
    let counters = Arc::new(SipCounters::default());
    let table = Arc::new(TrunkTable::new(trunks));
    let mut plant = Plant {
        transport,
        streams,
        ep: Endpoint::new(cfg),
        counters: Arc::clone(&counters),
        faults,
        calls: HashMap::new(),
        probes: HashMap::new(),
        next_probe_token: 0,
        hung_up: None,
        undelivered: VecDeque::new(),
        trunks: Arc::clone(&table),
        registrations: HashMap::new(),
    };
    plant.register_trunks(trunks, clock::now());
    actix::spawn(plant.run(rx));
    Ok(SipHandle {
        tx,
        local,
        counters,
        trunks: table,
    })
}

/// Most signals kept for calls whose mailbox was full; past it, progress reports are dropped
/// (counted) while answers and ends still wait their turn, so no call is left without its end.
const MAX_UNDELIVERED: usize = 65_536;

/// How long the loop waits after a socket error before reading again.
const SOCKET_ERROR_PAUSE: Duration = Duration::from_millis(10);

/// Where one call's signals go.
struct Route {
    to: Recipient<CallSignal>,
}

/// The plant's state: the socket, the endpoint, and who hears about each call and probe.
struct Plant {
    transport: UdpTransport,
    /// TCP and TLS, when a trunk uses them.
    streams: Option<sip::transport::Shell>,
    ep: Endpoint,
    counters: Arc<SipCounters>,
    faults: Option<Arc<SipFaults>>,
    calls: HashMap<CallKey, Route>,
    /// Plant token → (the MPP's own token, who asked).
    probes: HashMap<u64, (u64, Recipient<ProbeResult>)>,
    next_probe_token: u64,
    /// A `HangUpAll` to answer once its requests have left.
    hung_up: Option<(std::sync::mpsc::Sender<usize>, usize)>,
    /// Signals waiting for room in their call's mailbox, oldest first.
    undelivered: VecDeque<(Recipient<CallSignal>, CallSignal)>,
    trunks: Arc<TrunkTable>,
    /// Each trunk registration's index in `trunks`.
    registrations: HashMap<RegKey, usize>,
}

impl Plant {
    async fn run(mut self, mut rx: mpsc::Receiver<SipCommand>) {
        loop {
            let now = clock::now();
            self.ep.handle_timeout(now);
            self.retry_undelivered();
            self.take_events();
            self.send_out().await;
            self.publish_counters();
            let stalled = self.faults.as_ref().and_then(|f| f.stalled_until(now));
            let wake = self.next_wake(now, stalled);
            tokio::select! {
                r = self.transport.readable(), if stalled.is_none() => {
                    if let Err(e) = r {
                        self.socket_error(&e).await;
                    }
                }
                r = crate::sip_streams::ready(&mut self.streams), if stalled.is_none() => {
                    self.on_stream(r, clock::now());
                }
                cmd = rx.recv() => {
                    let Some(cmd) = cmd else { return };
                    let mut next = Some(cmd);
                    // Take every queued command in one go: the pacing loop sends in bursts.
                    while let Some(cmd) = next.take() {
                        self.command(cmd, clock::now());
                        next = rx.try_recv().ok();
                    }
                }
                _ = tokio::time::sleep_until(wake.into()) => {}
            }
            self.receive(clock::now()).await;
        }
    }

    fn next_wake(&self, now: Instant, stalled: Option<Instant>) -> Instant {
        let mut wake = self
            .ep
            .poll_timeout()
            .unwrap_or(now + Duration::from_millis(100))
            .min(now + Duration::from_millis(100));
        if let Some(t) = stalled {
            wake = wake.min(t);
        }
        if !self.undelivered.is_empty() {
            wake = wake.min(now + Duration::from_millis(1));
        }
        wake
    }

    /// A call's signal, without waiting: a full mailbox defers it, a gone actor drops it.
    fn deliver(&mut self, to: &Recipient<CallSignal>, signal: CallSignal) {
        if !self.undelivered.is_empty() {
            // Keep the call's signals in order behind those already waiting.
            self.defer(to.clone(), signal);
            return;
        }
        match to.try_send(signal) {
            Ok(()) => {}
            Err(SendError::Full(signal)) => self.defer(to.clone(), signal),
            Err(SendError::Closed(_)) => {}
        }
    }

    fn defer(&mut self, to: Recipient<CallSignal>, signal: CallSignal) {
        self.counters
            .signals_deferred
            .fetch_add(1, Ordering::Relaxed);
        let progress = matches!(signal.0, Signal::Progress { .. } | Signal::Sent);
        if progress && self.undelivered.len() >= MAX_UNDELIVERED {
            return;
        }
        self.undelivered.push_back((to, signal));
    }

    fn retry_undelivered(&mut self) {
        while let Some((to, signal)) = self.undelivered.pop_front() {
            match to.try_send(signal) {
                Ok(()) | Err(SendError::Closed(_)) => {}
                Err(SendError::Full(signal)) => {
                    self.undelivered.push_front((to, signal));
                    return;
                }
            }
        }
    }

    /// The endpoint's events, to the calls and probes they are for.
    fn take_events(&mut self) {
        while let Some(ev) = self.ep.poll_event() {
            match ev {
                Event::Call { call, event } => {
                    let ended = matches!(event, CallEvent::Ended(_));
                    let signal = match event {
                        CallEvent::Progress { status, sdp } => Signal::Progress {
                            status,
                            early_media: sdp.is_some(),
                        },
                        CallEvent::Answered { sdp } => Signal::Answered { sdp },
                        CallEvent::Ended(reason) => Signal::Ended(reason),
                        _ => continue,
                    };
                    let route = if ended {
                        self.calls.remove(&call)
                    } else {
                        self.calls.get(&call).map(|r| Route { to: r.to.clone() })
                    };
                    if let Some(r) = route {
                        self.deliver(&r.to, CallSignal(signal));
                    }
                }
                Event::ProbeResult {
                    token,
                    status,
                    retry_after,
                } => {
                    if let Some((theirs, r)) = self.probes.remove(&token) {
                        r.do_send(ProbeResult {
                            token: theirs,
                            status,
                            retry_after,
                        });
                    }
                }
                Event::Registration { key, state } => {
                    if let Some(&i) = self.registrations.get(&key) {
                        self.trunks.record(i, &state);
                        if let Some(slot) = self.trunks.slots().get(i) {
                            tracing::info!(trunk = %slot.config.name, ?state, "trunk registration");
                        }
                    }
                }
                // Incoming calls are not ours to take. The endpoint refuses them itself
                // (InvitePolicy::Refuse): one stateless 403 per INVITE within the guard's rate,
                // no transaction, no retransmission, so this is never raised.
                Event::Incoming(_) => {}
                _ => {}
            }
        }
    }

    fn command(&mut self, cmd: SipCommand, now: Instant) {
        match cmd {
            SipCommand::Dial {
                attempt,
                target,
                request_uri,
                from_uri,
                sdp_offer,
                ring_timeout,
                extra_headers,
                transport,
                call,
            } => {
                let dial = Dial {
                    id: attempt.0,
                    target,
                    request_uri,
                    from_uri,
                    to_uri: None,
                    sdp_offer,
                    ring_timeout: Some(ring_timeout),
                    extra_headers,
                };
                self.dial(now, attempt, dial, transport, call);
            }
            SipCommand::HangUp { attempt } => {
                if let Some(key) = self.ep.call_of(attempt.0) {
                    let _ = self.ep.hang_up(now, key);
                }
            }
            SipCommand::HangUpAll { done } => {
                let keys: Vec<CallKey> = self.calls.keys().copied().collect();
                let n = keys
                    .into_iter()
                    .filter(|key| self.ep.hang_up(now, *key).is_ok())
                    .count();
                self.hung_up = Some((done, n));
            }
            SipCommand::UnregisterAll { done } => {
                let keys: Vec<RegKey> = self.registrations.keys().copied().collect();
                let mut n = 0;
                for key in keys {
                    // Registered, or a REGISTER out that may have made a binding.
                    if self.ep.registration(key).is_some() && self.ep.unregister(now, key).is_ok() {
                        n += 1;
                    }
                }
                self.hung_up = Some((done, n));
            }
            SipCommand::Probe {
                target,
                token,
                reply,
            } => {
                self.next_probe_token += 1;
                let t = self.next_probe_token;
                if self
                    .ep
                    .probe(now, target, &format!("sip:{target}"), t)
                    .is_ok()
                {
                    self.probes.insert(t, (token, reply));
                }
            }
        }
    }

    /// Starts the registration of every trunk that registers.
    fn register_trunks(&mut self, trunks: &[Arc<Trunk>], now: Instant) {
        for (i, t) in trunks.iter().enumerate() {
            let (Some(reg), Some(creds), Some(aor)) = (&t.registration, &t.credentials, t.aor())
            else {
                continue;
            };
            let params = RegisterParams {
                next_hop: sip::Peer {
                    transport: t.transport,
                    addr: t.next_hop,
                },
                request_uri: format!("sip:{}", t.domain),
                aor,
                route: t.route().into_iter().collect(),
                credentials: Some(creds.clone()),
                expires: reg.expires,
                retry_min: reg.retry_min,
                retry_max: reg.retry_max,
            };
            match self.ep.register(now, params) {
                Ok(key) => {
                    self.registrations.insert(key, i);
                }
                Err(e) => tracing::warn!(trunk = %t.name, error = %e, "cannot register"),
            }
        }
        self.take_events();
    }

    fn dial(
        &mut self,
        now: Instant,
        attempt: AttemptId,
        dial: Dial,
        transport: Option<sip::Transport>,
        call: Recipient<CallSignal>,
    ) {
        if self
            .faults
            .as_ref()
            .is_some_and(|f| f.rejecting(dial.target, now))
        {
            // An injected fault: the media server answers 503 at once.
            self.deliver(&call, CallSignal(Signal::Sent));
            let rejected = sip::EndReason::Rejected {
                status: 503,
                retry_after: Some(Duration::from_secs(1)),
            };
            self.deliver(&call, CallSignal(Signal::Ended(rejected)));
            return;
        }
        let placed = match transport {
            Some(t) => self.ep.dial_via(now, dial, t),
            None => self.ep.dial(now, dial),
        };
        match placed {
            Ok(key) => {
                self.counters.invites.fetch_add(1, Ordering::Relaxed);
                self.deliver(&call, CallSignal(Signal::Sent));
                self.calls.insert(key, Route { to: call });
            }
            Err(sip::Error::Backoff { .. }) => {
                self.deliver(&call, CallSignal(Signal::NotSent { backoff: true }));
            }
            Err(e) => {
                tracing::warn!(%attempt, error = %e, "dial refused");
                self.deliver(&call, CallSignal(Signal::NotSent { backoff: false }));
            }
        }
    }

    /// Sends what the endpoint queued, unless an injected fault holds or drops it.
    async fn send_out(&mut self) {
        // Only a node with fault injection on pays for looking at the fault windows.
        let (stalled, dropping) = match &self.faults {
            Some(f) => {
                let t = clock::now();
                (f.stalled_until(t), f.dropping(t).then_some(Arc::clone(f)))
            }
            None => (None, None),
        };
        match (stalled, dropping) {
            // Held: the endpoint keeps its datagrams until the stall ends.
            (Some(_), _) => {}
            (None, Some(f)) => {
                let mut n = 0;
                while self.ep.poll_transmit().is_some() {
                    n += 1;
                }
                f.count_dropped(n);
            }
            (None, None) => {
                crate::sip_streams::flush(&mut self.ep, &mut self.transport, &mut self.streams)
                    .await
            }
        }
        if let Some((done, n)) = self.hung_up.take() {
            let _ = done.send(n);
        }
    }

    fn publish_counters(&self) {
        let s = self.ep.stats();
        let c = &self.counters;
        c.retransmissions.store(
            s.txn.client_retransmissions + s.txn.server_retransmissions,
            Ordering::Relaxed,
        );
        c.rejected_malformed
            .store(s.rejected_malformed, Ordering::Relaxed);
        c.dropped_junk.store(s.dropped_junk, Ordering::Relaxed);
        c.foreign_responses
            .store(s.foreign_responses, Ordering::Relaxed);
        c.refused_invites
            .store(s.refused_invites, Ordering::Relaxed);
        c.answered_stateless
            .store(s.answered_stateless, Ordering::Relaxed);
        c.guard_dropped.store(s.guard.dropped, Ordering::Relaxed);
        c.guard_bans.store(s.guard.bans, Ordering::Relaxed);
    }

    /// Reads what arrived, unless an injected fault holds or drops it.
    async fn receive(&mut self, now: Instant) {
        if let Some(f) = self.faults.clone() {
            if f.stalled_until(now).is_some() {
                return;
            }
            if f.dropping(now) {
                match self.transport.discard(512) {
                    Ok(n) => f.count_dropped(n as u64),
                    Err(e) => self.socket_error(&e).await,
                }
                return;
            }
        }
        // Read, then send what the datagrams produced on the transport each names (the UDP
        // shell's own flush would drop what is for a stream).
        let read = self.transport.receive(&mut self.ep, now, 512);
        crate::sip_streams::flush(&mut self.ep, &mut self.transport, &mut self.streams).await;
        if let Err(e) = read {
            self.socket_error(&e).await;
        }
    }

    /// A stream event: a message in, a connection accepted or closed.
    fn on_stream(&mut self, r: Result<sip::transport::Ready, sip::Error>, now: Instant) {
        let Some(streams) = self.streams.as_mut() else {
            return;
        };
        let fed = r.and_then(|ready| streams.feed(&mut self.ep, now, ready));
        if let Err(e) = fed {
            tracing::warn!(error = %e, "SIP stream error");
        }
        for (peer, e) in streams.take_errors() {
            tracing::warn!(%peer, error = %e, "SIP connection closed");
        }
    }

    /// A socket error (an ICMP "port unreachable" reported on the next read, a full buffer)
    /// is counted and survived: the plant serves every call of the node.
    async fn socket_error(&self, e: &std::io::Error) {
        let n = self.counters.socket_errors.fetch_add(1, Ordering::Relaxed);
        if (n + 1).is_power_of_two() {
            tracing::warn!(error = %e, errors = n + 1, "SIP socket error; reading on");
        }
        tokio::time::sleep(SOCKET_ERROR_PAUSE).await;
    }
}
