//! The node's SIP plant: one task owning the UDP socket and the sans-IO endpoint, on the same
//! arbiter as the call actors it serves, so a call's SIP events reach its actor without a
//! cross-thread hop. Commands arrive on a bounded channel (`try_send`: a full channel is
//! counted and the attempt fails over to its retry rule, never blocks the pacing loop).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use sip::transport::{SocketConfig, UdpTransport};
use sip::{CallEvent, CallKey, Dial, Endpoint, EndpointConfig, Event, TimerConfig};
use tokio::sync::mpsc;

use crate::faults::SipFaults;
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
}

/// Counters of the plant, readable from anywhere.
#[derive(Debug, Default)]
pub struct SipCounters {
    pub invites: AtomicU64,
    pub commands_refused: AtomicU64,
    pub retransmissions: AtomicU64,
    pub rejected_malformed: AtomicU64,
    pub dropped_junk: AtomicU64,
}

/// A handle to send commands to the plant.
#[derive(Clone)]
pub struct SipHandle {
    tx: mpsc::Sender<SipCommand>,
    pub local: SocketAddr,
    pub counters: Arc<SipCounters>,
}

impl SipHandle {
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
    faults: Option<Arc<SipFaults>>,
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
    let (tx, rx) = mpsc::channel(65_536);
    let counters = Arc::new(SipCounters::default());
    actix::spawn(run(
        transport,
        Endpoint::new(cfg),
        rx,
        Arc::clone(&counters),
        faults,
    ));
    Ok(SipHandle {
        tx,
        local,
        counters,
    })
}

async fn run(
    mut transport: UdpTransport,
    mut ep: Endpoint,
    mut rx: mpsc::Receiver<SipCommand>,
    counters: Arc<SipCounters>,
    faults: Option<Arc<SipFaults>>,
) {
    let mut calls: HashMap<CallKey, (AttemptId, Recipient<CallSignal>)> = HashMap::new();
    let mut by_attempt: HashMap<AttemptId, CallKey> = HashMap::new();
    // Plant token → (the MPP's own token, who asked).
    let mut probes: HashMap<u64, (u64, Recipient<ProbeResult>)> = HashMap::new();
    let mut next_probe_token = 0u64;
    // A `HangUpAll` to answer once its requests have left.
    let mut hung_up: Option<(std::sync::mpsc::Sender<usize>, usize)> = None;
    loop {
        let now = clock::now();
        ep.handle_timeout(now);
        while let Some(ev) = ep.poll_event() {
            match ev {
                Event::Call { call, event } => {
                    let ended = matches!(event, CallEvent::Ended(_));
                    if let Some((attempt, r)) = calls.get(&call) {
                        let signal = match event {
                            CallEvent::Progress { status, sdp } => Signal::Progress {
                                status,
                                early_media: sdp.is_some(),
                            },
                            CallEvent::Answered { sdp } => Signal::Answered { sdp },
                            CallEvent::Ended(reason) => Signal::Ended(reason),
                            _ => continue,
                        };
                        r.do_send(CallSignal(signal));
                        if ended {
                            by_attempt.remove(attempt);
                        }
                    }
                    if ended {
                        calls.remove(&call);
                    }
                }
                Event::ProbeResult {
                    token,
                    status,
                    retry_after,
                } => {
                    if let Some((theirs, r)) = probes.remove(&token) {
                        r.do_send(ProbeResult {
                            token: theirs,
                            status,
                            retry_after,
                        });
                    }
                }
                // Incoming calls are not ours to take: refuse them.
                Event::Incoming(inc) => {
                    let _ = ep.respond(now, inc.call, 403, None);
                }
                _ => {}
            }
        }
        // Only a node with fault injection on pays for looking at the fault windows.
        let (stalled, dropping) = match &faults {
            Some(f) => {
                let t = clock::now();
                (f.stalled_until(t), f.dropping(t).then_some(f))
            }
            None => (None, None),
        };
        match (stalled, dropping) {
            // Held: the endpoint keeps its datagrams until the stall ends.
            (Some(_), _) => {}
            (None, Some(f)) => {
                let mut n = 0;
                while ep.poll_transmit().is_some() {
                    n += 1;
                }
                f.count_dropped(n);
            }
            (None, None) => transport.flush(&mut ep).await,
        }
        if let Some((done, n)) = hung_up.take() {
            let _ = done.send(n);
        }
        let s = ep.stats();
        counters.retransmissions.store(
            s.txn.client_retransmissions + s.txn.server_retransmissions,
            Ordering::Relaxed,
        );
        counters
            .rejected_malformed
            .store(s.rejected_malformed, Ordering::Relaxed);
        counters
            .dropped_junk
            .store(s.dropped_junk, Ordering::Relaxed);

        let mut wake = ep
            .poll_timeout()
            .unwrap_or(now + Duration::from_millis(100))
            .min(now + Duration::from_millis(100));
        if let Some(t) = stalled {
            wake = wake.min(t);
        }
        tokio::select! {
            r = transport.readable(), if stalled.is_none() => {
                if let Err(e) = r {
                    tracing::error!(error = %e, "SIP socket failed; the plant stops");
                    return;
                }
            }
            cmd = rx.recv() => {
                let Some(cmd) = cmd else { return };
                let mut next = Some(cmd);
                // Take every queued command in one go: the pacing loop sends in bursts.
                while let Some(cmd) = next.take() {
                    let now = clock::now();
                    match cmd {
                        SipCommand::Dial { attempt, target, request_uri, from_uri, sdp_offer, ring_timeout, call } => {
                            if faults.as_ref().is_some_and(|f| f.rejecting(target, now)) {
                                // An injected fault: the media server answers 503 at once.
                                call.do_send(CallSignal(Signal::Sent));
                                call.do_send(CallSignal(Signal::Ended(sip::EndReason::Rejected {
                                    status: 503,
                                    retry_after: Some(Duration::from_secs(1)),
                                })));
                                next = rx.try_recv().ok();
                                continue;
                            }
                            let dial = Dial {
                                id: attempt.0,
                                target,
                                request_uri,
                                from_uri,
                                to_uri: None,
                                sdp_offer,
                                ring_timeout: Some(ring_timeout),
                                extra_headers: Vec::new(),
                            };
                            match ep.dial(now, dial) {
                                Ok(key) => {
                                    counters.invites.fetch_add(1, Ordering::Relaxed);
                                    call.do_send(CallSignal(Signal::Sent));
                                    calls.insert(key, (attempt, call));
                                    by_attempt.insert(attempt, key);
                                }
                                Err(sip::Error::Backoff { .. }) => call.do_send(CallSignal(Signal::NotSent { backoff: true })),
                                Err(e) => {
                                    tracing::warn!(%attempt, error = %e, "dial refused");
                                    call.do_send(CallSignal(Signal::NotSent { backoff: false }));
                                }
                            }
                        }
                        SipCommand::HangUp { attempt } => {
                            if let Some(key) = by_attempt.get(&attempt) {
                                let _ = ep.hang_up(now, *key);
                            }
                        }
                        SipCommand::HangUpAll { done } => {
                            let n = by_attempt
                                .values()
                                .filter(|key| ep.hang_up(now, **key).is_ok())
                                .count();
                            hung_up = Some((done, n));
                        }
                        SipCommand::Probe { target, token, reply } => {
                            next_probe_token += 1;
                            let t = next_probe_token;
                            if ep.probe(now, target, &format!("sip:{target}"), t).is_ok() {
                                probes.insert(t, (token, reply));
                            }
                        }
                    }
                    next = rx.try_recv().ok();
                }
            }
            _ = tokio::time::sleep_until(wake.into()) => {}
        }
        let now = clock::now();
        if faults
            .as_ref()
            .is_some_and(|f| f.stalled_until(now).is_some())
        {
            continue;
        }
        if let Some(f) = faults.as_ref().filter(|f| f.dropping(now)) {
            match transport.discard(512) {
                Ok(n) => f.count_dropped(n as u64),
                Err(e) => {
                    tracing::error!(error = %e, "SIP receive failed; the plant stops");
                    return;
                }
            }
            continue;
        }
        if let Err(e) = transport.pump(&mut ep, now, 512).await {
            tracing::error!(error = %e, "SIP receive failed; the plant stops");
            return;
        }
    }
}
