//! Two sans-IO endpoints joined by a simulated network, driven in virtual time: the driver
//! jumps from deadline to deadline, so a 32-second Timer B takes microseconds and every
//! assertion is exact to the millisecond.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sip::{CallEvent, CallKey, Dial, EndReason, Endpoint, EndpointConfig, Event, Peer, Transport};

const UAC: usize = 0;
const UAS: usize = 1;

/// What crossed the wire, for assertions: (ms since start, sender, first line).
type WireLog = Vec<(u64, usize, String)>;

/// A message on its way: (delivery time, sequence for ties, receiver, transport, bytes).
type InFlight = Reverse<(Instant, u64, usize, Transport, Vec<u8>)>;

/// Decides whether to drop a datagram: (sender, first line, how many such lines sent before).
type DropRule = Box<dyn FnMut(usize, &str, usize) -> bool>;

struct Net {
    eps: [Endpoint; 2],
    addrs: [SocketAddr; 2],
    start: Instant,
    now: Instant,
    latency: Duration,
    in_flight: BinaryHeap<InFlight>,
    seq: u64,
    drop: DropRule,
    /// The UAS is not there at all: datagrams to it vanish.
    uas_dead: bool,
    wire: WireLog,
    /// Every message sent: (sender, destination, bytes).
    sent_raw: Vec<(usize, Peer, Vec<u8>)>,
    events: Vec<(u64, usize, Event)>,
    /// The transport calls are dialled over (through the Request-URI).
    transport: Transport,
}

impl Net {
    fn new() -> Self {
        let addrs: [SocketAddr; 2] = [
            "127.0.0.1:5060".parse().unwrap(),
            "127.0.0.2:5060".parse().unwrap(),
        ];
        let start = sip::time::virtual_epoch();
        Self {
            eps: [
                Endpoint::new(EndpointConfig::new(addrs[0])),
                Endpoint::new(EndpointConfig::new(addrs[1])),
            ],
            addrs,
            start,
            now: start,
            latency: Duration::from_millis(10),
            in_flight: BinaryHeap::new(),
            seq: 0,
            drop: Box::new(|_, _, _| false),
            uas_dead: false,
            wire: Vec::new(),
            sent_raw: Vec::new(),
            events: Vec::new(),
            transport: Transport::Udp,
        }
    }

    fn ms(&self) -> u64 {
        (self.now - self.start).as_millis() as u64
    }

    /// Moves every endpoint's output onto the wire and records its events.
    fn drain(&mut self) {
        for i in 0..2 {
            while let Some(t) = self.eps[i].poll_transmit() {
                let line = String::from_utf8_lossy(&t.payload)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_owned();
                let nth = self
                    .wire
                    .iter()
                    .filter(|(_, s, l)| *s == i && *l == line)
                    .count();
                self.wire.push((self.ms(), i, line.clone()));
                self.sent_raw.push((i, t.dest, t.payload.clone()));
                let to = if t.dest.addr == self.addrs[UAC] {
                    UAC
                } else {
                    UAS
                };
                if (self.uas_dead && to == UAS) || (self.drop)(i, &line, nth) {
                    continue;
                }
                self.seq += 1;
                let (at, tr) = (self.now + self.latency, t.dest.transport);
                self.in_flight
                    .push(Reverse((at, self.seq, to, tr, t.payload)));
            }
            while let Some(e) = self.eps[i].poll_event() {
                self.events.push((self.ms(), i, e));
            }
        }
    }

    /// Advances to the next deadline or delivery; false when nothing is left to happen.
    fn step(&mut self, until: Instant) -> bool {
        self.drain();
        let mut next = self.in_flight.peek().map(|Reverse((at, ..))| *at);
        for ep in &self.eps {
            if let Some(t) = ep.poll_timeout() {
                next = Some(next.map_or(t, |n: Instant| n.min(t)));
            }
        }
        let Some(next) = next.filter(|n| *n <= until) else {
            return false;
        };
        self.now = self.now.max(next);
        while let Some(Reverse((at, ..))) = self.in_flight.peek() {
            if *at > self.now {
                break;
            }
            let Some(Reverse((_, _, to, transport, bytes))) = self.in_flight.pop() else {
                break;
            };
            let from = Peer {
                transport,
                addr: self.addrs[1 - to],
            };
            self.eps[to].handle_message(self.now, from, &bytes);
        }
        for ep in &mut self.eps {
            ep.handle_timeout(self.now);
        }
        self.drain();
        true
    }

    fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        while self.step(until) {}
        self.now = until;
    }

    /// Runs until `pred` holds for some event, or `limit` of virtual time passes.
    fn run_until(
        &mut self,
        limit: Duration,
        mut pred: impl FnMut(usize, &Event) -> bool,
    ) -> Option<u64> {
        let until = self.now + limit;
        loop {
            if let Some((at, ..)) = self.events.iter().find(|(_, who, e)| pred(*who, e)) {
                return Some(*at);
            }
            if !self.step(until) {
                return None;
            }
        }
    }

    fn dial(&mut self, id: u64, ring: Option<Duration>) -> CallKey {
        let now = self.now;
        let d = Dial {
            id,
            target: self.addrs[UAS],
            request_uri: match self.transport {
                Transport::Udp => format!("sip:+15551230{id}@{}", self.addrs[UAS]),
                Transport::Tcp => format!("sip:+15551230{id}@{};transport=tcp", self.addrs[UAS]),
                Transport::Tls => format!("sips:+15551230{id}@{}", self.addrs[UAS]),
            },
            from_uri: format!("sip:outdial@{}", self.addrs[UAC]),
            to_uri: None,
            sdp_offer: Some(sip::sdp::offer(id, 1, self.addrs[UAC].ip(), 40000).into_bytes()),
            ring_timeout: ring,
            extra_headers: Vec::new(),
        };
        let key = self.eps[UAC].dial(now, d).expect("dial");
        self.drain();
        key
    }

    fn sent(&self, who: usize, prefix: &str) -> Vec<u64> {
        self.wire
            .iter()
            .filter(|(_, s, l)| *s == who && l.starts_with(prefix))
            .map(|(t, ..)| *t)
            .collect()
    }

    fn incoming(&self) -> Option<CallKey> {
        self.events.iter().find_map(|(_, who, e)| match e {
            Event::Incoming(i) if *who == UAS => Some(i.call),
            _ => None,
        })
    }

    fn ended(&self, who: usize) -> Option<(u64, EndReason)> {
        self.events.iter().find_map(|(t, w, e)| match e {
            Event::Call {
                event: CallEvent::Ended(r),
                ..
            } if *w == who => Some((*t, r.clone())),
            _ => None,
        })
    }
}

#[test]
fn invite_to_a_silent_peer_follows_timer_a_and_ends_at_timer_b() {
    let mut net = Net::new();
    net.uas_dead = true;
    net.dial(1, None);
    net.run_for(Duration::from_secs(40));
    assert_eq!(
        net.sent(UAC, "INVITE"),
        vec![0, 500, 1500, 3500, 7500, 15500, 31500]
    );
    assert_eq!(
        net.ended(UAC),
        Some((32_000, EndReason::TimedOut)),
        "Timer B = 64·T1"
    );
    assert_eq!(net.eps[UAC].active_calls(), 0);
}

#[test]
fn lost_ack_makes_the_uas_retransmit_200_and_the_uac_re_acks() {
    let mut net = Net::new();
    // Drop the first ACK only.
    net.drop = Box::new(|who, line, nth| who == UAC && line.starts_with("ACK") && nth == 0);
    net.dial(2, None);
    net.run_until(Duration::from_secs(1), |w, e| {
        matches!(e, Event::Incoming(_)) && w == UAS
    });
    let call = net.incoming().expect("INVITE reached the UAS");
    let now = net.now;
    net.eps[UAS].respond(now, call, 200, Some(b"v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\n".to_vec())).expect("answer");
    let confirmed = net.run_until(Duration::from_secs(5), |w, e| {
        w == UAS
            && matches!(
                e,
                Event::Call {
                    event: CallEvent::Answered { .. },
                    ..
                }
            )
    });
    // Answer at 10 ms; 200 arrives at 20, ACK lost; 200 retransmitted at 10 + T1 = 510,
    // arrives 520, re-ACK arrives 530.
    assert_eq!(net.sent(UAS, "SIP/2.0 200"), vec![10, 510]);
    assert_eq!(net.sent(UAC, "ACK"), vec![20, 520]);
    assert_eq!(confirmed, Some(530));
    // Exactly one Answered on the UAC side, however many 200s arrived.
    let answered = net
        .events
        .iter()
        .filter(|(_, w, e)| {
            *w == UAC
                && matches!(
                    e,
                    Event::Call {
                        event: CallEvent::Answered { .. },
                        ..
                    }
                )
        })
        .count();
    assert_eq!(answered, 1);
}

#[test]
fn ring_timeout_cancels_and_the_487_ends_the_call() {
    let mut net = Net::new();
    net.dial(3, Some(Duration::from_secs(15)));
    net.run_until(Duration::from_secs(1), |w, e| {
        matches!(e, Event::Incoming(_)) && w == UAS
    });
    let call = net.incoming().expect("incoming");
    let now = net.now;
    net.eps[UAS].respond(now, call, 180, None).expect("ring");
    net.run_for(Duration::from_secs(20));
    assert_eq!(net.sent(UAC, "CANCEL"), vec![15_000]);
    assert_eq!(net.sent(UAS, "SIP/2.0 487"), vec![15_010]);
    assert_eq!(net.ended(UAC), Some((15_020, EndReason::RingTimeout)));
    assert_eq!(net.ended(UAS), Some((15_010, EndReason::RemoteCancel)));
    // The 487 was ACKed on the INVITE's transaction.
    assert_eq!(net.sent(UAC, "ACK"), vec![15_020]);
}

#[test]
fn hang_up_before_any_provisional_waits_for_one_before_cancelling() {
    let mut net = Net::new();
    net.latency = Duration::from_millis(50);
    let key = net.dial(4, None);
    let now = net.now;
    net.eps[UAC].hang_up(now, key).expect("hang up");
    net.drain();
    assert!(
        net.sent(UAC, "CANCEL").is_empty(),
        "no CANCEL before a provisional (RFC 3261 §9.1)"
    );
    net.run_for(Duration::from_secs(2));
    // The UAS's 100 Trying leaves at 50 ms and arrives at 100: the CANCEL goes then.
    assert_eq!(net.sent(UAC, "CANCEL"), vec![100]);
    assert_eq!(net.ended(UAC).map(|(_, r)| r), Some(EndReason::LocalHangup));
}

#[test]
fn bye_retransmits_on_timer_e_until_answered() {
    let mut net = Net::new();
    net.drop = Box::new(|who, line, nth| who == UAC && line.starts_with("BYE") && nth < 2);
    let key = net.dial(5, None);
    net.run_until(Duration::from_secs(1), |w, e| {
        matches!(e, Event::Incoming(_)) && w == UAS
    });
    let call = net.incoming().expect("incoming");
    let now = net.now;
    net.eps[UAS].respond(now, call, 200, None).expect("answer");
    net.run_until(Duration::from_secs(1), |w, e| {
        w == UAC
            && matches!(
                e,
                Event::Call {
                    event: CallEvent::Answered { .. },
                    ..
                }
            )
    });
    let t0 = net.ms();
    let now = net.now;
    net.eps[UAC].hang_up(now, key).expect("bye");
    net.run_for(Duration::from_secs(5));
    let byes: Vec<u64> = net.sent(UAC, "BYE").iter().map(|t| t - t0).collect();
    assert_eq!(byes, vec![0, 500, 1500], "Timer E: T1, then 2·T1");
    assert_eq!(net.ended(UAC), Some((t0 + 1520, EndReason::LocalHangup)));
    assert_eq!(net.ended(UAS), Some((t0 + 1510, EndReason::RemoteHangup)));
}

#[test]
fn retry_after_503_blocks_new_calls_until_it_expires() {
    let mut net = Net::new();
    net.dial(6, None);
    net.run_until(Duration::from_secs(1), |w, e| {
        matches!(e, Event::Incoming(_)) && w == UAS
    });
    let call = net.incoming().expect("incoming");
    let now = net.now;
    net.eps[UAS]
        .respond_with(now, call, 503, None, &[("Retry-After", "5")])
        .expect("503");
    net.run_for(Duration::from_millis(100));
    assert_eq!(
        net.ended(UAC).map(|(_, r)| r),
        Some(EndReason::Rejected {
            status: 503,
            retry_after: Some(Duration::from_secs(5))
        })
    );
    let refused = Dial {
        id: 7,
        target: net.addrs[UAS],
        request_uri: "sip:x@127.0.0.2".into(),
        from_uri: "sip:y@127.0.0.1".into(),
        to_uri: None,
        sdp_offer: None,
        ring_timeout: None,
        extra_headers: Vec::new(),
    };
    let now = net.now;
    assert!(matches!(
        net.eps[UAC].dial(now, refused.clone()),
        Err(sip::Error::Backoff { .. })
    ));
    net.run_for(Duration::from_secs(5));
    let now = net.now;
    assert!(
        net.eps[UAC].dial(now, refused).is_ok(),
        "back-off is over after Retry-After"
    );
}

#[test]
fn one_id_can_never_become_two_dialogs() {
    let mut net = Net::new();
    net.dial(8, None);
    let now = net.now;
    let again = Dial {
        id: 8,
        target: net.addrs[UAS],
        request_uri: "sip:x@127.0.0.2".into(),
        from_uri: "sip:y@127.0.0.1".into(),
        to_uri: None,
        sdp_offer: None,
        ring_timeout: None,
        extra_headers: Vec::new(),
    };
    assert!(matches!(
        net.eps[UAC].dial(now, again),
        Err(sip::Error::Usage(_))
    ));
}

#[test]
fn nothing_leaks_after_many_calls() {
    let mut net = Net::new();
    for id in 100..150 {
        net.dial(id, None);
    }
    net.run_for(Duration::from_millis(100));
    let calls: Vec<CallKey> = net
        .events
        .iter()
        .filter_map(|(_, w, e)| match e {
            Event::Incoming(i) if *w == UAS => Some(i.call),
            _ => None,
        })
        .collect();
    assert_eq!(calls.len(), 50);
    for c in calls {
        let now = net.now;
        net.eps[UAS].respond(now, c, 200, None).expect("answer");
    }
    net.run_for(Duration::from_millis(100));
    let now = net.now;
    let keys: Vec<CallKey> = net
        .events
        .iter()
        .filter_map(|(_, w, e)| match e {
            Event::Call {
                call,
                event: CallEvent::Answered { .. },
            } if *w == UAC => Some(*call),
            _ => None,
        })
        .collect();
    for k in keys {
        net.eps[UAC].hang_up(now, k).expect("bye");
    }
    // After every lingering timer (D, K, J, M, L: at most 64·T1) nothing is left.
    net.run_for(Duration::from_secs(40));
    for ep in &net.eps {
        assert_eq!(ep.active_calls(), 0);
        assert_eq!(ep.live_transactions(), 0);
        assert_eq!(ep.poll_timeout(), None, "no timer left armed");
    }
}

fn text_of(net: &Net, who: usize, prefix: &str) -> (Peer, String) {
    net.sent_raw
        .iter()
        .find(|(w, _, b)| *w == who && b.starts_with(prefix.as_bytes()))
        .map(|(_, dest, b)| (*dest, String::from_utf8_lossy(b).into_owned()))
        .unwrap_or_else(|| panic!("nothing starting {prefix:?} sent"))
}

#[test]
fn over_tcp_a_silent_peer_gets_one_invite_and_timer_b_still_ends_it() {
    let mut net = Net::new();
    net.transport = Transport::Tcp;
    net.uas_dead = true;
    net.dial(11, None);
    net.run_for(Duration::from_secs(40));
    // No Timer A on a reliable transport: the connection carries the INVITE or fails.
    assert_eq!(net.sent(UAC, "INVITE"), vec![0]);
    assert_eq!(net.ended(UAC), Some((32_000, EndReason::TimedOut)));
    let (dest, invite) = text_of(&net, UAC, "INVITE");
    assert_eq!(dest, Peer::tcp(net.addrs[UAS]));
    assert!(
        invite.contains("\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch="),
        "{invite}"
    );
    assert!(
        invite.contains("\r\nContact: <sip:outdial@127.0.0.1:5060;transport=tcp>\r\n"),
        "{invite}"
    );
}

#[test]
fn a_call_over_tls_speaks_tls_both_ways_and_leaves_nothing_lingering() {
    let mut net = Net::new();
    net.transport = Transport::Tls;
    let key = net.dial(12, None);
    net.run_until(Duration::from_secs(1), |w, e| {
        matches!(e, Event::Incoming(i) if i.transport == Transport::Tls) && w == UAS
    })
    .expect("the INVITE arrived over TLS");
    let call = net.incoming().expect("incoming");
    let now = net.now;
    net.eps[UAS].respond(now, call, 200, None).expect("answer");
    net.run_until(Duration::from_secs(1), |w, e| {
        w == UAS
            && matches!(
                e,
                Event::Call {
                    event: CallEvent::Answered { .. },
                    ..
                }
            )
    })
    .expect("confirmed");
    let (_, invite) = text_of(&net, UAC, "INVITE");
    assert!(invite.starts_with("INVITE sips:+1555123012@127.0.0.2:5060 SIP/2.0\r\n"));
    assert!(invite.contains("\r\nVia: SIP/2.0/TLS 127.0.0.1:5060;branch="));
    assert!(invite.contains("\r\nContact: <sips:outdial@127.0.0.1:5060>\r\n"));
    let (dest, ok) = text_of(&net, UAS, "SIP/2.0 200");
    assert_eq!(
        dest,
        Peer::tls(net.addrs[UAC]),
        "answered over the INVITE's transport"
    );
    assert!(
        ok.contains("\r\nContact: <sips:outdial@127.0.0.2:5060>\r\n"),
        "{ok}"
    );
    let (dest, _) = text_of(&net, UAC, "ACK");
    assert_eq!(dest, Peer::tls(net.addrs[UAS]));

    let now = net.now;
    net.eps[UAC].hang_up(now, key).expect("BYE");
    let ended = net.run_until(Duration::from_secs(1), |w, e| {
        w == UAC
            && matches!(
                e,
                Event::Call {
                    event: CallEvent::Ended(_),
                    ..
                }
            )
    });
    assert!(ended.is_some());
    net.run_for(Duration::from_millis(100));
    // The BYE's transactions ended at once (Timers K and J are zero); only the INVITE
    // transactions linger for Timers M and L, which guard end-to-end 2xx retransmissions.
    assert_eq!(net.eps[UAC].live_transactions(), 1);
    assert_eq!(net.eps[UAS].live_transactions(), 1);
    let s = net.eps[UAC].stats().txn;
    assert_eq!(s.client_retransmissions + s.server_retransmissions, 0);
}
