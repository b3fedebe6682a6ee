//! Load check: 1000 concurrent legs (500 pairs) in one process keep 20 ms pacing without loss.
//! Heavy, so ignored by default:
//! `cargo test -p media --release --test many_legs -- --ignored --nocapture`

mod support;

use std::time::Duration;

use media::{Codec, MediaError, PortPool, Prompt, RtpLeg};
use support::LOCALHOST;

const PAIRS: usize = 500;
/// Frames each receiver must get: 2 s of audio.
const FRAMES: usize = 100;

/// Binds a leg, skipping ports another process happens to hold.
fn bind(pool: &PortPool, codec: Codec) -> RtpLeg {
    for _ in 0..16 {
        match RtpLeg::bind(pool.acquire().unwrap(), LOCALHOST, codec) {
            Ok(leg) => return leg,
            Err(MediaError::Bind { .. }) => continue,
            Err(e) => panic!("{e}"),
        }
    }
    panic!("no bindable port");
}

/// User + system CPU time of this process, from /proc (Linux).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

#[test]
#[ignore = "load check: 1000 sockets for 2 s"]
fn a_thousand_legs_keep_pace() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pool = PortPool::new(47_000, 47_000 + 4 * PAIRS as u16).unwrap();
        let tone = Prompt::tone(440.0, 1000, Codec::Pcmu).looped(true);
        let mut pairs = Vec::new();
        for _ in 0..PAIRS {
            let a = bind(&pool, Codec::Pcmu);
            let b = bind(&pool, Codec::Pcmu);
            a.set_remote(b.local_addr());
            b.set_remote(a.local_addr());
            pairs.push((a, b));
        }
        let cpu_before = cpu_time();
        let mut waiters = Vec::new();
        for (a, b) in &pairs {
            let mut tap = b.audio_tap(FRAMES + 16);
            a.play(tone.clone());
            b.play(None);
            waiters.push(tokio::spawn(async move {
                for _ in 0..FRAMES {
                    tap.recv().await.expect("leg alive");
                }
            }));
        }
        for w in waiters {
            tokio::time::timeout(Duration::from_secs(30), w)
                .await
                .expect("every leg received 2 s of audio in time")
                .unwrap();
        }
        let cpu = cpu_time().zip(cpu_before).map(|(after, before)| after - before);
        let (mut received, mut lost, mut skipped, mut worst_jitter) = (0u64, 0i64, 0u64, 0f64);
        for (a, b) in pairs {
            for s in [a.stop().await, b.stop().await] {
                received += s.packets_received;
                lost += s.packets_lost;
                skipped += s.frames_skipped;
                worst_jitter = worst_jitter.max(s.jitter_ms);
            }
        }
        println!(
            "legs={} received={received} lost={lost} skipped={skipped} worst_jitter_ms={worst_jitter:.2} cpu={cpu:?}",
            2 * PAIRS
        );
        assert_eq!(pool.in_use(), 0);
        assert!(lost as f64 <= 0.001 * received as f64, "lost {lost} of {received}");
        assert!(skipped as f64 <= 0.01 * received as f64, "skipped {skipped} frames");
    });
}
