//! The transaction and dialog layers without sockets: whole calls between two sans-IO
//! endpoints (INVITE, 100, 200, ACK, BYE, 200: every message built, parsed and matched), and
//! the bare transaction machines' retransmission bookkeeping.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sip::txn::{ClientInvite, TimerConfig};
use sip::{CallEvent, Dial, Endpoint, EndpointConfig, Event};

fn pump(
    a: &mut Endpoint,
    b: &mut Endpoint,
    a_addr: SocketAddr,
    b_addr: SocketAddr,
    now: std::time::Instant,
) {
    loop {
        let mut moved = false;
        while let Some(t) = a.poll_transmit() {
            b.handle_datagram(now, a_addr, &t.payload);
            moved = true;
        }
        while let Some(t) = b.poll_transmit() {
            a.handle_datagram(now, b_addr, &t.payload);
            moved = true;
        }
        if !moved {
            break;
        }
    }
}

fn full_calls(c: &mut Criterion) {
    let a_addr: SocketAddr = "127.0.0.1:5060".parse().expect("addr");
    let b_addr: SocketAddr = "127.0.0.1:5070".parse().expect("addr");
    let offer = sip::sdp::offer(1, 1, a_addr.ip(), 40000).into_bytes();
    let answer = sip::sdp::offer(2, 1, b_addr.ip(), 30000).into_bytes();
    let mut g = c.benchmark_group("endpoint");
    const CALLS: u64 = 100;
    g.throughput(Throughput::Elements(CALLS));
    g.bench_function("call_setup_and_teardown_x100", |bench| {
        let mut id = 0u64;
        bench.iter(|| {
            let now = sip::time::virtual_epoch();
            let mut uac = Endpoint::new(EndpointConfig::new(a_addr));
            let mut uas = Endpoint::new(EndpointConfig::new(b_addr));
            for _ in 0..CALLS {
                id += 1;
                let dial = Dial {
                    id,
                    target: b_addr,
                    request_uri: format!("sip:+1555{id}@{b_addr}"),
                    from_uri: format!("sip:outdial@{a_addr}"),
                    to_uri: None,
                    sdp_offer: Some(offer.clone()),
                    ring_timeout: Some(Duration::from_secs(30)),
                    extra_headers: Vec::new(),
                };
                let key = uac.dial(now, dial).expect("dial");
                pump(&mut uac, &mut uas, a_addr, b_addr, now);
                while let Some(ev) = uas.poll_event() {
                    if let Event::Incoming(inc) = ev {
                        uas.respond(now, inc.call, 200, Some(answer.clone()))
                            .expect("answer");
                    }
                }
                pump(&mut uac, &mut uas, a_addr, b_addr, now);
                uac.hang_up(now, key).expect("bye");
                pump(&mut uac, &mut uas, a_addr, b_addr, now);
                let mut ended = false;
                while let Some(ev) = uac.poll_event() {
                    ended |= matches!(
                        ev,
                        Event::Call {
                            event: CallEvent::Ended(_),
                            ..
                        }
                    );
                }
                while uas.poll_event().is_some() {}
                assert!(ended, "call {id} did not end");
            }
            black_box((uac.stats(), uas.stats()))
        })
    });
    g.finish();
}

fn invite_retransmit_schedule(c: &mut Criterion) {
    c.bench_function("txn/client_invite_to_timer_b", |bench| {
        let cfg = TimerConfig::default();
        bench.iter(|| {
            let start = sip::time::virtual_epoch();
            let mut t = ClientInvite::new(start, cfg);
            while let Some((at, _)) = t.deadline() {
                black_box(t.on_timeout(at));
            }
            t.retransmissions()
        })
    });
}

criterion_group!(benches, full_calls, invite_retransmit_schedule);
criterion_main!(benches);
