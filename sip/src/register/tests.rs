//! Tests of the registration client in virtual time: an endpoint hosting one registration
//! against a small registrar written here, the clock jumping from deadline to deadline.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::*;
use crate::build::ResponseSpec;
use crate::dialog::Raw;
use crate::endpoint::{Endpoint, EndpointConfig, Event, RegKey};
use crate::msg;
use crate::peer::Transport;

const REALM: &str = "trunk.test";
const NONCE: &str = "n0nce";

/// A registrar that answers what each test tells it to, recording every REGISTER.
struct Rig {
    ep: Endpoint,
    start: Instant,
    now: Instant,
    registrar: SocketAddr,
    /// (seconds since start, the REGISTER's text), in order.
    seen: Vec<(u64, String)>,
    states: Vec<(u64, RegState)>,
    key: Option<RegKey>,
}

impl Rig {
    fn new() -> Self {
        let start = crate::time::virtual_epoch();
        let local: SocketAddr = "127.0.0.1:5070".parse().expect("addr");
        Self {
            ep: Endpoint::new(EndpointConfig::new(local)),
            start,
            now: start,
            registrar: "127.0.0.9:5060".parse().expect("addr"),
            seen: Vec::new(),
            states: Vec::new(),
            key: None,
        }
    }

    fn params(&self, expires: u64, password: &str) -> RegisterParams {
        RegisterParams {
            next_hop: Peer::udp(self.registrar),
            request_uri: format!("sip:{REALM}"),
            aor: format!("sip:trunk1@{REALM}"),
            route: Vec::new(),
            credentials: Some(Credentials {
                username: "trunk1".into(),
                password: password.into(),
            }),
            expires: Duration::from_secs(expires),
            retry_min: Duration::from_secs(2),
            retry_max: Duration::from_secs(60),
        }
    }

    fn secs(&self) -> u64 {
        (self.now - self.start).as_secs()
    }

    /// Runs until `until` seconds, answering each REGISTER with `answer(index, text)`:
    /// `None` drops it.
    fn run(
        &mut self,
        until: u64,
        mut answer: impl FnMut(usize, &str) -> Option<(u16, Vec<String>)>,
    ) {
        let end = self.start + Duration::from_secs(until);
        loop {
            while let Some(t) = self.ep.poll_transmit() {
                assert_eq!(t.dest, Peer::udp(self.registrar));
                let text = String::from_utf8(t.payload.clone()).expect("utf-8");
                self.seen.push((self.secs(), text.clone()));
                let idx = self.seen.len() - 1;
                if let Some((status, extra)) = answer(idx, &text) {
                    let resp = respond(&t.payload, status, &extra);
                    self.ep.handle_datagram(self.now, self.registrar, &resp);
                }
            }
            while let Some(e) = self.ep.poll_event() {
                if let Event::Registration { state, .. } = e {
                    self.states.push((self.secs(), state));
                }
            }
            match self.ep.poll_timeout() {
                Some(at) if at <= end => {
                    self.now = self.now.max(at);
                    self.ep.handle_timeout(self.now);
                }
                _ => break,
            }
        }
        self.now = end;
    }

    fn start(&mut self, expires: u64, password: &str) {
        let p = self.params(expires, password);
        self.key = Some(self.ep.register(self.now, p).expect("register"));
    }

    fn state(&self) -> Option<RegState> {
        self.key.and_then(|k| self.ep.registration(k))
    }
}

/// A response to `request` with extra header lines (`"Name: value"`).
fn respond(request: &[u8], status: u16, extra: &[String]) -> Vec<u8> {
    let inc = msg::parse_datagram(request).expect("our REGISTER parses");
    let r = Raw::of(&inc.msg);
    let pairs: Vec<(&str, &str)> = extra.iter().filter_map(|l| l.split_once(": ")).collect();
    ResponseSpec {
        status,
        reason: msg::reason_phrase(status),
        vias: &r.vias,
        from: r.from,
        to: r.to,
        to_tag: Some("reg"),
        call_id: r.call_id,
        cseq: r.cseq,
        contact: None,
        extra: &pairs,
        body: None,
    }
    .to_bytes()
}

fn header<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn challenge(stale: bool) -> (u16, Vec<String>) {
    let stale = if stale { ", stale=true" } else { "" };
    (
        401,
        vec![format!(
            "WWW-Authenticate: Digest realm=\"{REALM}\", nonce=\"{NONCE}\", qop=\"auth\"{stale}"
        )],
    )
}

/// Our registrar: challenges an unauthenticated REGISTER, grants `grant` seconds to a good one.
fn registrar(grant: u64) -> impl FnMut(usize, &str) -> Option<(u16, Vec<String>)> {
    move |_, text| {
        match header(text, "Authorization") {
        Some(a) if auth::verify(a, "secret", "REGISTER", REALM, NONCE) => Some((
            200,
            vec![format!(
                "Contact: <sip:outdial@127.0.0.1:5070>;expires={grant}, <sip:other@192.0.2.1>;expires=9"
            )],
        )),
        Some(_) => Some(challenge(false)),
        None => Some(challenge(false)),
    }
    }
}

#[test]
fn answers_the_challenge_and_honours_the_granted_expiry() {
    let mut rig = Rig::new();
    rig.start(3600, "secret");
    rig.run(1, registrar(120));
    assert_eq!(rig.seen.len(), 2, "a REGISTER, then its answer to the 401");
    assert!(header(&rig.seen[0].1, "Authorization").is_none());
    assert_eq!(header(&rig.seen[0].1, "Expires"), Some("3600"));
    let first_call_id = header(&rig.seen[0].1, "Call-ID").map(str::to_owned);
    assert_eq!(header(&rig.seen[1].1, "Call-ID"), first_call_id.as_deref());
    assert_eq!(header(&rig.seen[1].1, "CSeq"), Some("2 REGISTER"));
    assert_eq!(
        rig.state(),
        Some(RegState::Registered {
            expires: Duration::from_secs(120),
            until: rig.start + Duration::from_secs(120),
        })
    );
    // 120 s granted: refreshed 32 s before it lapses, at 88 s, with the cached challenge
    // answered again (no second 401).
    rig.run(100, registrar(120));
    assert_eq!(rig.seen.len(), 3);
    assert_eq!(rig.seen[2].0, 88);
    assert!(header(&rig.seen[2].1, "Authorization").is_some_and(|a| a.contains("nc=00000002")));
    assert_eq!(header(&rig.seen[2].1, "Call-ID"), first_call_id.as_deref());
    assert_eq!(header(&rig.seen[2].1, "CSeq"), Some("3 REGISTER"));
}

#[test]
fn short_bindings_refresh_at_half_life() {
    let mut rig = Rig::new();
    rig.start(40, "secret");
    rig.run(75, registrar(40));
    let times: Vec<u64> = rig.seen.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, vec![0, 0, 20, 40, 60]);
}

#[test]
fn a_refused_password_backs_off_exponentially_up_to_the_ceiling() {
    let mut rig = Rig::new();
    rig.start(3600, "wrong");
    rig.run(300, registrar(3600));
    // Each attempt: a REGISTER and one answer to its challenge; a second fresh challenge
    // means refusal. Retries after 2, 4, 8, 16, 32, 60, 60 ... seconds.
    let starts: Vec<u64> = rig.seen.iter().step_by(2).map(|(t, _)| *t).collect();
    assert_eq!(starts, vec![0, 2, 6, 14, 30, 62, 122, 182, 242]);
    assert!(matches!(
        rig.state(),
        Some(RegState::Failed {
            status: Some(401),
            ..
        })
    ));
}

#[test]
fn a_stale_nonce_is_answered_again() {
    let mut rig = Rig::new();
    rig.start(600, "secret");
    rig.run(1, |i, text| match i {
        0 => Some(challenge(false)),
        1 => Some(challenge(true)),
        _ => registrar(600)(i, text),
    });
    assert_eq!(rig.seen.len(), 3);
    assert!(matches!(rig.state(), Some(RegState::Registered { .. })));
}

#[test]
fn no_answer_fails_after_timer_f_and_retries() {
    let mut rig = Rig::new();
    rig.start(600, "secret");
    rig.run(40, |_, _| None);
    // Timer F is 64·T1 = 32 s; the retry comes retry_min (2 s) later.
    assert!(rig.states.iter().any(|(t, s)| *t == 32
        && matches!(
            s,
            RegState::Failed {
                status: None,
                failures: 1,
                ..
            }
        )));
    let retry = rig.seen.iter().find(|(t, _)| *t >= 34).map(|(t, _)| *t);
    assert_eq!(retry, Some(34));
}

#[test]
fn a_registrar_retry_after_is_honoured_within_the_ceiling() {
    let mut rig = Rig::new();
    rig.start(600, "secret");
    rig.run(50, |i, text| match i {
        0 => Some((503, vec!["Retry-After: 30".to_owned()])),
        _ => registrar(600)(i, text),
    });
    assert_eq!(rig.seen[1].0, 30);
    assert!(matches!(rig.state(), Some(RegState::Registered { .. })));
}

#[test]
fn interval_too_brief_asks_again_with_min_expires() {
    let mut rig = Rig::new();
    rig.start(30, "secret");
    rig.run(1, |i, text| match i {
        0 => Some((423, vec!["Min-Expires: 300".to_owned()])),
        _ => registrar(300)(i, text),
    });
    assert_eq!(header(&rig.seen[1].1, "Expires"), Some("300"));
    assert!(matches!(
        rig.state(),
        Some(RegState::Registered { expires, .. }) if expires == Duration::from_secs(300)
    ));
}

#[test]
fn shutdown_removes_the_binding_with_expires_zero() {
    let mut rig = Rig::new();
    rig.start(600, "secret");
    rig.run(1, registrar(600));
    let key = rig.key.expect("started");
    rig.ep.unregister(rig.now, key).expect("unregister");
    rig.run(2, registrar(0));
    let last = &rig.seen.last().expect("un-REGISTER").1;
    assert_eq!(header(last, "Expires"), Some("0"));
    assert_eq!(rig.states.last().map(|(_, s)| *s), Some(RegState::Stopped));
    assert_eq!(rig.state(), None, "a stopped registration is forgotten");
}

#[test]
fn the_binding_travels_over_the_transport_of_the_next_hop() {
    let mut ep = Endpoint::new(EndpointConfig {
        local_tcp: Some("127.0.0.1:5071".parse().expect("addr")),
        ..EndpointConfig::new("127.0.0.1:5070".parse().expect("addr"))
    });
    let mut params = Rig::new().params(600, "secret");
    params.next_hop = Peer {
        transport: Transport::Tcp,
        addr: "127.0.0.9:5060".parse().expect("addr"),
    };
    params.route = vec!["<sip:127.0.0.9:5060;transport=tcp;lr>".into()];
    ep.register(crate::time::virtual_epoch(), params)
        .expect("register");
    let t = ep.poll_transmit().expect("a REGISTER");
    assert_eq!(t.dest.transport, Transport::Tcp);
    let text = String::from_utf8(t.payload).expect("utf-8");
    assert!(text.contains("Via: SIP/2.0/TCP 127.0.0.1:5071;"));
    assert!(text.contains("Contact: <sip:outdial@127.0.0.1:5071;transport=tcp>"));
    assert!(text.contains("Route: <sip:127.0.0.9:5060;transport=tcp;lr>"));
}

#[test]
fn contacts_split_outside_brackets_and_quotes() {
    assert_eq!(
        split_contacts("\"a, b\" <sip:x@h;p=1,2>;expires=5, <sip:y@h>"),
        vec!["\"a, b\" <sip:x@h;p=1,2>;expires=5", "<sip:y@h>"]
    );
    assert_eq!(contact_expires("<sip:x@h;expires=1>;expires=7"), Some(7));
    assert_eq!(contact_expires("<sip:x@h>"), None);
    assert_eq!(
        backoff(Duration::from_secs(2), Duration::from_secs(60), 40),
        Duration::from_secs(60)
    );
}

#[test]
fn a_refresh_reports_only_its_outcome() {
    let mut rig = Rig::new();
    // Asking more than is granted: the report while a refresh is out must keep the grant.
    rig.start(3600, "secret");
    rig.run(200, registrar(120));
    // Registering at 0, registered at 0, then one report per answered refresh (88 s, 176 s):
    // sending a refresh changes nothing the owner sees.
    let seen: Vec<(u64, Option<u64>)> = rig
        .states
        .iter()
        .map(|(t, s)| match s {
            RegState::Registered { until, .. } => (*t, Some((*until - rig.start).as_secs())),
            _ => (*t, None),
        })
        .collect();
    assert_eq!(
        seen,
        vec![(0, None), (0, Some(120)), (88, Some(208)), (176, Some(296))]
    );
}
