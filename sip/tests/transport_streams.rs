//! Calls over TCP and TLS between two endpoints on loopback, each behind a real `Shell`: a
//! test CA made at test time, server-name checks, mutual TLS, and a connection dropped
//! mid-call replaced by a new one for the next request.

use std::time::Duration;

use sip::transport::{Identity, Shell, ShellConfig, TlsClientSettings, TlsServerSettings};
use sip::{CallEvent, Dial, Endpoint, Event, Peer, TimerConfig, Transport};

struct Side {
    ep: Endpoint,
    shell: Shell,
    events: Vec<Event>,
}

impl Side {
    async fn new(cfg: ShellConfig) -> Side {
        let shell = Shell::bind(cfg).await.expect("bind");
        let mut ep_cfg = shell.endpoint_config();
        // Short timers, so a call that cannot connect ends in 640 ms (Timer B = 64·T1).
        ep_cfg.timers = TimerConfig {
            t1: Duration::from_millis(10),
            ..TimerConfig::default()
        };
        Side {
            ep: Endpoint::new(ep_cfg),
            shell,
            events: Vec::new(),
        }
    }

    fn drain(&mut self) {
        while let Some(e) = self.ep.poll_event() {
            self.events.push(e);
        }
    }
}

fn now() -> std::time::Instant {
    sip::time::now()
}

/// Drives both sides until `done` holds, answering incoming calls with 200; panics after
/// `limit`.
async fn run_until(
    a: &mut Side,
    b: &mut Side,
    limit: Duration,
    mut done: impl FnMut(&Side, &Side) -> bool,
) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        for s in [&mut *a, &mut *b] {
            s.ep.handle_timeout(now());
            s.shell.flush(&mut s.ep).await;
            s.drain();
            let incoming: Vec<_> = s
                .events
                .iter()
                .filter_map(|e| match e {
                    Event::Incoming(i) => Some(i.call),
                    _ => None,
                })
                .collect();
            for call in incoming {
                // Answer each incoming call once.
                let _ = s.ep.respond(now(), call, 200, None);
            }
            s.shell.flush(&mut s.ep).await;
        }
        if done(a, b) {
            return;
        }
        let wake = [a.ep.poll_timeout(), b.ep.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .map(tokio::time::Instant::from_std)
            .unwrap_or(deadline)
            .min(deadline);
        assert!(tokio::time::Instant::now() < deadline, "timed out");
        tokio::select! {
            r = a.shell.ready() => { let r = r.expect("ready"); a.shell.handle(&mut a.ep, now(), r).await.expect("handle"); }
            r = b.shell.ready() => { let r = r.expect("ready"); b.shell.handle(&mut b.ep, now(), r).await.expect("handle"); }
            _ = tokio::time::sleep_until(wake) => {}
        }
    }
}

fn answered(s: &Side) -> bool {
    s.events.iter().any(|e| {
        matches!(
            e,
            Event::Call {
                event: CallEvent::Answered { .. },
                ..
            }
        )
    })
}

fn ended(s: &Side) -> bool {
    s.events.iter().any(|e| {
        matches!(
            e,
            Event::Call {
                event: CallEvent::Ended(_),
                ..
            }
        )
    })
}

fn dial(
    a: &mut Side,
    id: u64,
    target: std::net::SocketAddr,
    uri: String,
    transport: Transport,
) -> sip::CallKey {
    let d = Dial {
        id,
        target,
        request_uri: uri,
        from_uri: "sip:outdial@127.0.0.1".into(),
        to_uri: None,
        sdp_offer: None,
        ring_timeout: None,
        extra_headers: Vec::new(),
    };
    a.ep.dial_via(now(), d, transport).expect("dial")
}

fn loopback() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().expect("addr")
}

#[tokio::test]
async fn a_call_over_tcp_and_a_dropped_connection_replaced_for_the_bye() {
    let mut a = Side::new(ShellConfig {
        tcp: Some(loopback()),
        ..ShellConfig::default()
    })
    .await;
    let mut b = Side::new(ShellConfig {
        tcp: Some(loopback()),
        ..ShellConfig::default()
    })
    .await;
    let b_tcp = b.shell.local_addrs().1.expect("tcp listener");
    // The transport comes from the Request-URI.
    let d = Dial {
        id: 1,
        target: b_tcp,
        request_uri: format!("sip:+15550001@{b_tcp};transport=tcp"),
        from_uri: "sip:outdial@127.0.0.1".into(),
        to_uri: None,
        sdp_offer: None,
        ring_timeout: None,
        extra_headers: Vec::new(),
    };
    let key = a.ep.dial(now(), d).expect("dial");
    run_until(&mut a, &mut b, Duration::from_secs(5), |a, b| {
        answered(a) && answered(b)
    })
    .await;
    let incoming = b.events.iter().find_map(|e| match e {
        Event::Incoming(i) => Some(i.clone()),
        _ => None,
    });
    assert_eq!(incoming.map(|i| i.transport), Some(Transport::Tcp));
    assert_eq!(a.shell.stats().connections_opened, 1);
    assert_eq!(b.shell.stats().connections_accepted, 1);
    // INVITE and ACK went over the one connection; 100 and 200 came back on it.
    assert_eq!(a.shell.stats().stream_messages_out, 2);
    assert_eq!(b.shell.stats().stream_messages_out, 2);

    // The far end drops the connection mid-call; A notices it closed.
    let a_peer = b_connection_peer(&b);
    b.shell.close(a_peer);
    run_until(&mut a, &mut b, Duration::from_secs(5), |a, _| {
        a.shell.connections() == 0
    })
    .await;

    // The BYE opens a new connection and ends the call on both sides.
    a.ep.hang_up(now(), key).expect("bye");
    run_until(&mut a, &mut b, Duration::from_secs(5), |a, b| {
        ended(a) && ended(b)
    })
    .await;
    assert_eq!(
        a.shell.stats().connections_opened,
        2,
        "a new connection for the BYE"
    );
    assert_eq!(b.shell.stats().connections_accepted, 2);
}

/// The one connection B holds (an accepted one from A).
fn b_connection_peer(b: &Side) -> Peer {
    let call = b.events.iter().find_map(|e| match e {
        Event::Incoming(i) => Some(Peer {
            transport: i.transport,
            addr: i.source,
        }),
        _ => None,
    });
    call.expect("an incoming call")
}

/// A CA and leaf certificates made for one test.
struct Pki {
    ca_pem: Vec<u8>,
    server: Identity,
    client: Identity,
}

fn pki(server_name: &str) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).expect("CA cert");
    let leaf = |names: Vec<String>| {
        let key = KeyPair::generate().expect("leaf key");
        let params = CertificateParams::new(names).expect("leaf params");
        let cert = params
            .signed_by(&key, &ca_cert, &ca_key)
            .expect("leaf cert");
        Identity {
            cert_chain_pem: cert.pem().into_bytes(),
            key_pem: key.serialize_pem().into_bytes(),
        }
    };
    Pki {
        ca_pem: ca_cert.pem().into_bytes(),
        server: leaf(vec![server_name.to_owned()]),
        client: leaf(vec!["outdial.test".to_owned()]),
    }
}

async fn tls_pair(pki: &Pki, require_client: bool, present_client: bool) -> (Side, Side) {
    let a = Side::new(ShellConfig {
        tcp: Some(loopback()),
        tls_client: Some(TlsClientSettings {
            ca_pem: Some(pki.ca_pem.clone()),
            webpki_roots: false,
            client_identity: present_client.then(|| pki.client.clone()),
        }),
        ..ShellConfig::default()
    })
    .await;
    let b = Side::new(ShellConfig {
        tls: Some((
            loopback(),
            TlsServerSettings {
                identity: pki.server.clone(),
                client_ca_pem: require_client.then(|| pki.ca_pem.clone()),
            },
        )),
        ..ShellConfig::default()
    })
    .await;
    (a, b)
}

#[tokio::test]
async fn a_call_over_tls_checks_the_server_name() {
    let pki = pki("pbx.test");
    let (mut a, mut b) = tls_pair(&pki, false, false).await;
    let b_tls = b.shell.local_addrs().2.expect("tls listener");
    a.shell.set_server_name(b_tls, "pbx.test").expect("name");
    let key = dial(
        &mut a,
        2,
        b_tls,
        "sips:+15550002@pbx.test".into(),
        Transport::Tls,
    );
    run_until(&mut a, &mut b, Duration::from_secs(5), |a, b| {
        answered(a) && answered(b)
    })
    .await;
    let incoming = b.events.iter().find_map(|e| match e {
        Event::Incoming(i) => Some(i.transport),
        _ => None,
    });
    assert_eq!(incoming, Some(Transport::Tls));
    a.ep.hang_up(now(), key).expect("bye");
    run_until(&mut a, &mut b, Duration::from_secs(5), |a, b| {
        ended(a) && ended(b)
    })
    .await;
    assert_eq!(
        a.shell.stats().connections_opened,
        1,
        "one connection for the whole call"
    );
}

#[tokio::test]
async fn a_wrong_server_name_is_refused() {
    let pki = pki("pbx.test");
    let (mut a, mut b) = tls_pair(&pki, false, false).await;
    let b_tls = b.shell.local_addrs().2.expect("tls listener");
    a.shell.set_server_name(b_tls, "other.test").expect("name");
    dial(
        &mut a,
        3,
        b_tls,
        "sips:+15550003@other.test".into(),
        Transport::Tls,
    );
    // Nothing reaches B; the call ends at Timer B (640 ms here).
    run_until(&mut a, &mut b, Duration::from_secs(5), |a, _| ended(a)).await;
    assert!(b.events.is_empty(), "B heard nothing: {:?}", b.events);
    let errors = a.shell.take_errors();
    assert!(
        errors
            .iter()
            .any(|(_, e)| matches!(e, sip::Error::Tls(rustls::Error::InvalidCertificate(_)))),
        "{errors:?}"
    );
}

#[tokio::test]
async fn a_required_client_certificate_must_be_presented() {
    let pki = pki("pbx.test");
    // Without one, the server refuses the handshake.
    let (mut a, mut b) = tls_pair(&pki, true, false).await;
    let b_tls = b.shell.local_addrs().2.expect("tls listener");
    a.shell.set_server_name(b_tls, "pbx.test").expect("name");
    dial(
        &mut a,
        4,
        b_tls,
        "sips:+15550004@pbx.test".into(),
        Transport::Tls,
    );
    run_until(&mut a, &mut b, Duration::from_secs(5), |a, _| ended(a)).await;
    assert!(!b.events.iter().any(|e| matches!(e, Event::Incoming(_))));
    assert!(
        b.shell.stats().connection_errors >= 1,
        "{:?}",
        b.shell.take_errors()
    );

    // With one, the call goes through.
    let (mut a, mut b) = tls_pair(&pki, true, true).await;
    let b_tls = b.shell.local_addrs().2.expect("tls listener");
    a.shell.set_server_name(b_tls, "pbx.test").expect("name");
    dial(
        &mut a,
        5,
        b_tls,
        "sips:+15550005@pbx.test".into(),
        Transport::Tls,
    );
    run_until(&mut a, &mut b, Duration::from_secs(5), |a, b| {
        answered(a) && answered(b)
    })
    .await;
}
