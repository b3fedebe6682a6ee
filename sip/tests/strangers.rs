//! What an endpoint does with strangers: responses forged from elsewhere than where a request
//! went are dropped (a dead media server is not revived by a forged 200, nor silenced for a day
//! by a forged 503); identifiers are random, not derived; unsolicited requests get one
//! stateless answer each (nothing kept, nothing retransmitted), and a source over its rate gets
//! none, while dialogs already under way carry on.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sip::guard::GuardConfig;
use sip::ids;
use sip::{CallEvent, Dial, Endpoint, EndpointConfig, Event, InvitePolicy, Peer, Transmit};

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("addr")
}

fn us() -> SocketAddr {
    addr("127.0.0.1:5060")
}

fn far() -> SocketAddr {
    addr("127.0.0.2:5070")
}

/// One origin for the whole test binary: virtual time starts here.
fn t0() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(sip::time::virtual_epoch)
}

fn drain(ep: &mut Endpoint) -> (Vec<Transmit>, Vec<Event>) {
    let mut out = Vec::new();
    while let Some(t) = ep.poll_transmit() {
        out.push(t);
    }
    let mut events = Vec::new();
    while let Some(e) = ep.poll_event() {
        events.push(e);
    }
    (out, events)
}

fn text(t: &Transmit) -> String {
    String::from_utf8_lossy(&t.payload).into_owned()
}

/// The value of header `name` (first occurrence) in a message's text.
fn header<'a>(msg: &'a str, name: &str) -> &'a str {
    msg.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then_some(v.trim())
        })
        .unwrap_or_else(|| panic!("no {name} in {msg}"))
}

/// A response to request `req`, as its peer would write it.
fn response_to(req: &str, status: u16, to_tag: &str, extra: &str) -> Vec<u8> {
    format!(
        "SIP/2.0 {status} Whatever\r\nVia: {}\r\nFrom: {}\r\nTo: {};tag={to_tag}\r\nCall-ID: {}\r\nCSeq: {}\r\nContact: <sip:far@{}>\r\n{extra}Content-Length: 0\r\n\r\n",
        header(req, "Via"),
        header(req, "From"),
        header(req, "To"),
        header(req, "Call-ID"),
        header(req, "CSeq"),
        far(),
    )
    .into_bytes()
}

fn dial(ep: &mut Endpoint, id: u64) -> (sip::CallKey, String) {
    let key = ep
        .dial(
            t0(),
            Dial {
                id,
                target: far(),
                request_uri: format!("sip:+15550100@{}", far()),
                from_uri: format!("sip:outdial@{}", us()),
                to_uri: None,
                sdp_offer: None,
                ring_timeout: None,
                extra_headers: Vec::new(),
            },
        )
        .expect("dial");
    let (out, _) = drain(ep);
    assert_eq!(out.len(), 1);
    (key, text(&out[0]))
}

fn answered(events: &[Event]) -> bool {
    events.iter().any(|e| {
        matches!(
            e,
            Event::Call {
                event: CallEvent::Answered { .. },
                ..
            }
        )
    })
}

#[test]
fn a_forged_200_from_elsewhere_answers_nothing() {
    let mut ep = Endpoint::new(EndpointConfig::new(us()));
    let (_, invite) = dial(&mut ep, 7);
    let ok = response_to(&invite, 200, "far1", "");
    for forger in [
        Peer::udp(addr("127.0.0.9:5070")),
        Peer::udp(addr("127.0.0.2:5071")),
        Peer::tcp(far()),
    ] {
        ep.handle_message(t0(), forger, &ok);
        let (out, events) = drain(&mut ep);
        assert!(out.is_empty(), "no ACK for a forgery from {forger}");
        assert!(!answered(&events), "answered by {forger}");
    }
    assert_eq!(ep.stats().foreign_responses, 3);
    // The real peer's 200 still answers the call.
    ep.handle_datagram(t0(), far(), &ok);
    let (out, events) = drain(&mut ep);
    assert!(answered(&events));
    assert!(text(&out[0]).starts_with("ACK "));
    assert_eq!(ep.stats().foreign_responses, 3);
}

#[test]
fn a_forged_503_or_200_to_a_probe_neither_silences_nor_revives_its_target() {
    let mut ep = Endpoint::new(EndpointConfig::new(us()));
    let start = t0();
    ep.probe(start, far(), &format!("sip:{}", far()), 1)
        .expect("probe");
    let (out, _) = drain(&mut ep);
    let options = text(&out[0]);
    let forger = addr("127.0.0.66:5070");
    let busy = response_to(&options, 503, "x", "Retry-After: 86400\r\n");
    ep.handle_datagram(start, forger, &busy);
    ep.handle_datagram(start, forger, &response_to(&options, 200, "x", ""));
    let (_, events) = drain(&mut ep);
    assert!(
        events.is_empty(),
        "no probe result from a forger: {events:?}"
    );
    assert_eq!(ep.backoff_until(far(), start), None, "no day-long back-off");
    assert_eq!(ep.stats().foreign_responses, 2);
    // The target really is dead: the probe times out (Timer F, 64·T1).
    let mut now = start;
    while let Some(at) = ep.poll_timeout() {
        now = at;
        ep.handle_timeout(at);
    }
    let (_, events) = drain(&mut ep);
    assert_eq!(now - start, Duration::from_secs(32));
    assert!(matches!(
        events[..],
        [Event::ProbeResult {
            token: 1,
            status: None,
            ..
        }]
    ));
}

#[test]
fn identifiers_are_random_and_the_call_id_keeps_the_callers_prefix() {
    let mut a = Endpoint::new(EndpointConfig::new(us()));
    let mut b = Endpoint::new(EndpointConfig::new(us()));
    let (key, first) = dial(&mut a, 42);
    let (_, second) = dial(&mut b, 42);
    let ns = &a.config().namespace;
    let call_id = header(&first, "Call-ID");
    assert!(call_id.starts_with(&ids::call_id_prefix(ns, 42)));
    assert_eq!(ids::id_of_call_id(ns, call_id), Some(42));
    assert_eq!(a.call_id(key), Some(call_id));
    // The same namespace and id in another endpoint (another run, another node of the same
    // name) share nothing an outsider could predict from one of them.
    assert_ne!(call_id, header(&second, "Call-ID"));
    assert_ne!(header(&first, "From"), header(&second, "From"));
    assert_ne!(header(&first, "Via"), header(&second, "Via"));
    let branch = header(&first, "Via")
        .split("branch=")
        .nth(1)
        .expect("a branch");
    assert!(branch.starts_with(ids::BRANCH_COOKIE) && branch.len() >= 31);
}

fn invite_from(src: SocketAddr, i: u32) -> Vec<u8> {
    format!(
        "INVITE sip:+15550100@{us} SIP/2.0\r\nVia: SIP/2.0/UDP {src};branch=z9hG4bKx{i}\r\nMax-Forwards: 70\r\nFrom: <sip:a@{src}>;tag=a{i}\r\nTo: <sip:+15550100@{us}>\r\nCall-ID: c{i}@{src}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
        us = us()
    )
    .into_bytes()
}

fn options_from(src: SocketAddr, i: u32) -> Vec<u8> {
    format!(
        "OPTIONS sip:{us} SIP/2.0\r\nVia: SIP/2.0/UDP {src};branch=z9hG4bKo{i}\r\nMax-Forwards: 70\r\nFrom: <sip:a@{src}>;tag=o{i}\r\nTo: <sip:{us}>\r\nCall-ID: o{i}@{src}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        us = us()
    )
    .into_bytes()
}

#[test]
fn a_refused_invite_gets_one_stateless_answer_and_leaves_nothing_behind() {
    let mut cfg = EndpointConfig::new(us());
    cfg.invites = InvitePolicy::Refuse { status: 403 };
    let mut ep = Endpoint::new(cfg);
    let src = addr("192.0.2.1:5060");
    ep.handle_datagram(t0(), src, &invite_from(src, 1));
    let (out, events) = drain(&mut ep);
    assert!(events.is_empty());
    assert_eq!(out.len(), 1, "no 100 Trying, one final answer");
    let refused = text(&out[0]);
    assert!(refused.starts_with("SIP/2.0 403 "), "{refused}");
    assert_eq!(out[0].dest, Peer::udp(src));
    assert!(header(&refused, "To").contains(";tag="));
    assert_eq!((ep.live_transactions(), ep.active_calls()), (0, 0));
    assert_eq!(ep.poll_timeout(), None, "nothing to retransmit");
    // A retransmission gets the same answer (same To-tag), once; its ACK gets nothing.
    ep.handle_datagram(t0() + Duration::from_millis(500), src, &invite_from(src, 1));
    let (again, _) = drain(&mut ep);
    assert_eq!(again.len(), 1);
    assert_eq!(header(&text(&again[0]), "To"), header(&refused, "To"));
    let ack = String::from_utf8_lossy(&invite_from(src, 1)).replace("INVITE", "ACK");
    ep.handle_datagram(t0() + Duration::from_secs(1), src, ack.as_bytes());
    assert!(drain(&mut ep).0.is_empty());
    let s = ep.stats();
    assert_eq!((s.refused_invites, s.answered_stateless), (2, 2));
}

#[test]
fn a_flooding_source_gets_no_answer_while_others_and_dialogs_carry_on() {
    let mut cfg = EndpointConfig::new(us());
    cfg.invites = InvitePolicy::Refuse { status: 403 };
    cfg.guard = Some(GuardConfig {
        rate: 10,
        window: Duration::from_secs(1),
        ban: Duration::from_secs(30),
        table_size: 64,
    });
    let mut ep = Endpoint::new(cfg);
    // A call of ours to `far`, answered.
    let (key, invite) = dial(&mut ep, 1);
    ep.handle_datagram(t0(), far(), &response_to(&invite, 200, "far1", ""));
    assert!(answered(&drain(&mut ep).1));

    // `far`'s host floods us from another port: INVITEs and OPTIONS.
    let flooder = addr("127.0.0.2:6000");
    let mut answers = 0;
    for i in 0..1_000 {
        let now = t0() + Duration::from_millis(u64::from(i));
        ep.handle_datagram(now, flooder, &invite_from(flooder, i));
        ep.handle_datagram(now, flooder, &options_from(flooder, i));
        answers += drain(&mut ep).0.len();
    }
    assert_eq!(answers, 10, "the rate's worth, then nothing");
    assert_eq!(ep.live_transactions(), 1, "only our INVITE's, lingering");
    let s = ep.stats();
    assert_eq!(
        (s.guard.admitted, s.guard.dropped, s.guard.bans),
        (10, 1_990, 1)
    );

    // Another source is answered meanwhile.
    let other = addr("198.51.100.7:5060");
    let now = t0() + Duration::from_secs(1);
    ep.handle_datagram(now, other, &options_from(other, 1));
    let (out, _) = drain(&mut ep);
    assert!(text(&out[0]).starts_with("SIP/2.0 200 "));

    // The banned host's BYE for our call still ends it: dialogs are not rate-limited.
    let bye = format!(
        "BYE sip:outdial@{us} SIP/2.0\r\nVia: SIP/2.0/UDP {far};branch=z9hG4bKbye1\r\nMax-Forwards: 70\r\nFrom: {to};tag=far1\r\nTo: {from}\r\nCall-ID: {cid}\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
        us = us(),
        far = far(),
        to = header(&invite, "To"),
        from = header(&invite, "From"),
        cid = ep.call_id(key).expect("the call lasts"),
    );
    ep.handle_datagram(now, far(), bye.as_bytes());
    let (out, events) = drain(&mut ep);
    assert!(text(&out[0]).starts_with("SIP/2.0 200 "));
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Call {
            event: CallEvent::Ended(_),
            ..
        }
    )));

    // Quiet for the ban, the host is answered again.
    let later = t0() + Duration::from_millis(999 + 30_000);
    ep.handle_datagram(later, flooder, &invite_from(flooder, 5_000));
    assert_eq!(drain(&mut ep).0.len(), 1);
}

#[test]
fn without_a_guard_every_unsolicited_request_gets_exactly_one_answer() {
    let mut ep = Endpoint::new(EndpointConfig::new(us()));
    let src = addr("192.0.2.1:5060");
    let mut answers = 0;
    for i in 0..500 {
        ep.handle_datagram(t0(), src, &options_from(src, i));
        let bye = String::from_utf8_lossy(&options_from(src, i)).replace("OPTIONS", "BYE");
        ep.handle_datagram(t0(), src, bye.as_bytes());
        answers += drain(&mut ep).0.len();
    }
    assert_eq!(answers, 1_000);
    assert_eq!(ep.live_transactions(), 0, "nothing kept for them");
    assert_eq!(ep.poll_timeout(), None);
}
