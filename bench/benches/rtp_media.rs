//! Per-packet costs of the media cores: G.711, RTP build/parse, receive statistics, relay, pacer.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use media::relay::{BridgeSide, Side};
use media::rtp::{self, Pacer};
use media::{Bridge, Codec, ReceiveStats, RtpSender, Ssrc};

/// An origin for virtual time; only offsets from it matter.
#[allow(clippy::disallowed_methods)] // a bench needs some Instant to add offsets to
fn epoch() -> Instant {
    Instant::now()
}

fn frame_pcm() -> Vec<i16> {
    (0..160)
        .map(|n| ((n as f64 * 0.35).sin() * 8000.0) as i16)
        .collect()
}

fn g711(c: &mut Criterion) {
    let pcm = frame_pcm();
    let mut g = c.benchmark_group("g711_frame");
    g.throughput(Throughput::Elements(160));
    for codec in [Codec::Pcmu, Codec::Pcma] {
        let codes = codec.encode(&pcm);
        g.bench_function(format!("encode_{}", codec.name()), |b| {
            b.iter(|| codec.encode(black_box(&pcm)))
        });
        g.bench_function(format!("decode_{}", codec.name()), |b| {
            b.iter(|| codec.decode(black_box(&codes)))
        });
    }
    let mut codes = Codec::Pcmu.encode(&pcm);
    g.bench_function("transcode_PCMU_to_PCMA", |b| {
        b.iter(|| Codec::Pcmu.transcode_in_place(Codec::Pcma, black_box(&mut codes)))
    });
    g.finish();
}

fn rtp_packets(c: &mut Criterion) {
    let t0 = epoch();
    let payload = [0xFFu8; 160];
    let mut sender = RtpSender::new(Codec::Pcmu, Ssrc(1), 0, 0);
    let mut out = [0u8; 172];
    c.bench_function("rtp_sender_write", |b| {
        b.iter(|| sender.write(black_box(&payload), t0, &mut out).unwrap())
    });
    let packet = RtpSender::new(Codec::Pcmu, Ssrc(1), 0, 0).packet(&payload, t0);
    c.bench_function("rtp_parse", |b| {
        b.iter(|| rtp::parse(black_box(&packet)).unwrap().seq)
    });

    let mut stats = ReceiveStats::new(8000);
    let mut src = RtpSender::new(Codec::Pcmu, Ssrc(2), 0, 0);
    let mut k = 0u32;
    c.bench_function("receive_stats_record", |b| {
        b.iter(|| {
            k = k.wrapping_add(1);
            let bytes = src.packet(&payload, t0);
            stats.handle_datagram(
                black_box(&bytes),
                t0 + Duration::from_millis(20) * (k % 1_000_000),
            )
        })
    });

    let mut pacer = Pacer::g711(t0);
    let mut at = t0;
    c.bench_function("pacer_tick", |b| {
        b.iter(|| {
            at += Duration::from_millis(20);
            pacer.handle_timeout(black_box(at))
        })
    });
}

fn relay(c: &mut Criterion) {
    let t0 = epoch();
    let customer: SocketAddr = ([127, 0, 0, 1], 5000).into();
    let agent: SocketAddr = ([127, 0, 0, 1], 6000).into();
    for (name, a, b) in [
        ("same_codec", Codec::Pcmu, Codec::Pcmu),
        ("transcoding", Codec::Pcmu, Codec::Pcma),
    ] {
        let mut bridge = Bridge::new(
            BridgeSide {
                remote: Some(customer),
                codec: a,
                sender: RtpSender::new(a, Ssrc(1), 0, 0),
            },
            BridgeSide {
                remote: Some(agent),
                codec: b,
                sender: RtpSender::new(b, Ssrc(2), 0, 0),
            },
        );
        let mut src = RtpSender::new(a, Ssrc(3), 0, 0);
        let packets: Vec<Vec<u8>> = (0..1024).map(|_| src.packet(&[0x55; 160], t0)).collect();
        let mut i = 0usize;
        c.bench_function(&format!("bridge_relay_{name}"), |bch| {
            bch.iter(|| {
                i = (i + 1) % packets.len();
                bridge
                    .handle_datagram(t0, Side::A, customer, &packets[i])
                    .unwrap();
                bridge.poll_transmit().map(|t| t.payload.len())
            })
        });
    }
}

criterion_group!(benches, g711, rtp_packets, relay);
criterion_main!(benches);
