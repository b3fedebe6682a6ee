//! Per-packet cost of SRTP on a 20 ms G.711 packet (12-byte header, 160-byte payload): protect
//! and unprotect, for both SDES suites.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use media::{MasterKey, SrtpInbound, SrtpOutbound, SrtpSuite};

/// A 172-byte PCMU packet with sequence number `seq`.
fn g711_packet(seq: u16) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend(seq.to_be_bytes());
    p.extend((u32::from(seq) * 160).to_be_bytes());
    p.extend(0x1234_5678u32.to_be_bytes());
    p.extend((0..160u32).map(|i| (i * 7) as u8));
    p
}

fn srtp(c: &mut Criterion) {
    let key = MasterKey::from_key_salt(&[0x5A; 30]).expect("30 bytes");
    let mut g = c.benchmark_group("srtp_g711_packet");
    g.throughput(Throughput::Bytes(160));
    // The peer in the same run: refilling the buffer, which the protect bench does too.
    let plain = g711_packet(0);
    let mut buf = Vec::with_capacity(256);
    g.bench_function("copy_only", |b| {
        b.iter(|| {
            buf.clear();
            buf.extend_from_slice(black_box(&plain));
            buf.len()
        })
    });
    for suite in [
        SrtpSuite::AesCm128HmacSha1_80,
        SrtpSuite::AesCm128HmacSha1_32,
    ] {
        let name = suite.sdp_name();
        let plain = g711_packet(0);
        let mut out = SrtpOutbound::new(suite, &key);
        let mut buf = Vec::with_capacity(256);
        let mut seq = 0u16;
        g.bench_function(format!("protect_{name}"), |b| {
            b.iter(|| {
                // Each packet needs a fresh index: protecting one twice is refused.
                buf.clear();
                buf.extend_from_slice(&plain);
                buf[2..4].copy_from_slice(&seq.to_be_bytes());
                seq = seq.wrapping_add(1);
                out.protect_rtp(black_box(&mut buf)).expect("fresh index")
            })
        });

        let mut sender = SrtpOutbound::new(suite, &key);
        let mut inb = SrtpInbound::new(suite, &key);
        let mut seq = 0u16;
        g.bench_function(format!("unprotect_{name}"), |b| {
            // Protecting happens in the untimed setup; packets reach the receiver in order.
            b.iter_batched(
                || {
                    let mut p = g711_packet(seq);
                    seq = seq.wrapping_add(1);
                    sender.protect_rtp(&mut p).expect("fresh index");
                    p
                },
                |mut p| inb.unprotect_rtp(black_box(&mut p)).expect("authentic"),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, srtp);
criterion_main!(benches);
