//! Receive-path costs of the SIP message layer: parsing typical dialer traffic, printing an
//! INVITE, and rsip's own parser on the same bytes (the alternative design: frame, re-print,
//! `rsip::SipMessage::try_from`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sip::msg::rsip;
use sip::msg::{check_uas_acceptable, parse_datagram, to_bytes};
use sip::sdp;

const SDP: &str = "v=0\r\n\
o=outdial 4711 1 IN IP4 10.0.0.2\r\n\
s=-\r\n\
c=IN IP4 10.0.0.2\r\n\
t=0 0\r\n\
m=audio 40000 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

fn with_body(head: &str, body: &str) -> Vec<u8> {
    format!("{head}Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

fn invite() -> Vec<u8> {
    with_body(
        "INVITE sip:+15551230001@10.0.0.9:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-od-7f3a9c1e5b2d;rport\r\n\
Max-Forwards: 70\r\n\
From: \"Campaign 17\" <sip:outdial@10.0.0.2>;tag=od-8c41f2\r\n\
To: <sip:+15551230001@10.0.0.9>\r\n\
Call-ID: od-3f2a7c9e11d04b6a@10.0.0.2\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:outdial@10.0.0.2:5060>\r\n\
Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, NOTIFY\r\n\
Supported: replaces\r\n\
User-Agent: outdial/0.1\r\n\
Content-Type: application/sdp\r\n",
        SDP,
    )
}

fn ok_200() -> Vec<u8> {
    with_body(
        "SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-od-7f3a9c1e5b2d;rport=5060;received=10.0.0.2\r\n\
From: \"Campaign 17\" <sip:outdial@10.0.0.2>;tag=od-8c41f2\r\n\
To: <sip:+15551230001@10.0.0.9>;tag=1234SIPpTag011\r\n\
Call-ID: od-3f2a7c9e11d04b6a@10.0.0.2\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:10.0.0.9:5060;transport=UDP>\r\n\
Content-Type: application/sdp\r\n",
        &SDP.replace("10.0.0.2", "10.0.0.9").replace("40000", "6000"),
    )
}

fn trying_100() -> Vec<u8> {
    with_body(
        "SIP/2.0 100 Trying\r\n\
Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK-od-7f3a9c1e5b2d;rport=5060;received=10.0.0.2\r\n\
From: \"Campaign 17\" <sip:outdial@10.0.0.2>;tag=od-8c41f2\r\n\
To: <sip:+15551230001@10.0.0.9>\r\n\
Call-ID: od-3f2a7c9e11d04b6a@10.0.0.2\r\n\
CSeq: 1 INVITE\r\n",
        "",
    )
}

fn bye() -> Vec<u8> {
    with_body(
        "BYE sip:outdial@10.0.0.2:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bK-5f1c-2\r\n\
From: <sip:+15551230001@10.0.0.9>;tag=1234SIPpTag011\r\n\
To: \"Campaign 17\" <sip:outdial@10.0.0.2>;tag=od-8c41f2\r\n\
Call-ID: od-3f2a7c9e11d04b6a@10.0.0.2\r\n\
CSeq: 2 BYE\r\n\
Max-Forwards: 70\r\n",
        "",
    )
}

fn parse(c: &mut Criterion) {
    let cases = [
        ("invite_sdp", invite()),
        ("200_ok_sdp", ok_200()),
        ("100_trying", trying_100()),
        ("bye", bye()),
    ];
    let mut g = c.benchmark_group("sip_parse");
    for (name, bytes) in &cases {
        assert!(parse_datagram(bytes).is_ok(), "{name}");
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(*name, |b| b.iter(|| parse_datagram(black_box(bytes))));
    }
    g.finish();

    // rsip's own parser on the same bytes: the extra cost the re-serialise design would add
    // on top of framing (and it still gets compact forms, folding and Content-Length wrong).
    let mut g = c.benchmark_group("rsip_try_from");
    for (name, bytes) in &cases {
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(*name, |b| {
            b.iter(|| rsip::SipMessage::try_from(black_box(bytes.as_slice())))
        });
    }
    g.finish();
}

fn print(c: &mut Criterion) {
    let inc = parse_datagram(&invite()).expect("bench INVITE parses");
    let mut g = c.benchmark_group("sip_print");
    g.bench_function("invite_to_bytes", |b| {
        b.iter(|| to_bytes(black_box(&inc.msg)))
    });
    g.bench_function("invite_rsip_display", |b| {
        b.iter(|| black_box(&inc.msg).to_string())
    });
    g.finish();
}

fn endpoint_path(c: &mut Criterion) {
    let bytes = ok_200();
    let inv = parse_datagram(&invite()).expect("bench INVITE parses");
    let allow = [
        rsip::Method::Invite,
        rsip::Method::Ack,
        rsip::Method::Bye,
        rsip::Method::Cancel,
        rsip::Method::Options,
    ];
    let mut g = c.benchmark_group("sip_endpoint");
    g.bench_function("200_ok_parse_and_sdp_answer", |b| {
        b.iter(|| {
            let inc = parse_datagram(black_box(&bytes)).ok()?;
            sdp::parse_answer(inc.body()).ok()
        })
    });
    g.bench_function("invite_uas_checks", |b| {
        b.iter(|| check_uas_acceptable(black_box(&inv), &allow))
    });
    g.bench_function("sdp_offer", |b| {
        b.iter(|| sdp::offer(black_box(4711), 1, "10.0.0.2".parse().expect("ip"), 40000))
    });
    g.finish();
}

criterion_group!(benches, parse, print, endpoint_path);
criterion_main!(benches);
