//! CPU per 20 ms frame of answering-machine detection: ours (`AmdDetector`) and Asterisk's
//! app_amd algorithm (`ClassicAmd`), each fed five seconds of a call through a fresh detector.

use std::f32::consts::TAU;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use media::amd::{AmdConfig, AmdDetector, ClassicAmd, ClassicConfig, Detector};

const FRAMES: usize = 250;

/// A seeded noise sample in -1..1.
fn noise(seed: &mut u32) -> f32 {
    *seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    (*seed >> 8) as f32 / (1u32 << 23) as f32 - 1.0
}

/// Five seconds: line noise at `noise_amp`, and from 0.5 s syllables (160 ms of harmonics 3–16
/// of a 125 Hz voice, 40 ms dips) at `voice_amp`, then a 1 kHz beep from 4 s to 4.5 s.
fn call(voice_amp: f32, noise_amp: f32) -> Vec<[i16; 160]> {
    let mut seed = 7;
    (0..FRAMES)
        .map(|k| {
            std::array::from_fn(|n| {
                let t = (k * 160 + n) as f32 / 8000.0;
                let mut v = noise_amp * noise(&mut seed);
                if (25..200).contains(&k) && k % 10 < 8 {
                    v += (3..=16)
                        .map(|h| {
                            voice_amp * (TAU * 125.0 * h as f32 * t + h as f32).sin() / h as f32
                        })
                        .sum::<f32>();
                }
                if (200..225).contains(&k) {
                    v += 6000.0 * (TAU * 1000.0 * t).sin();
                }
                v.round().clamp(-32768.0, 32767.0) as i16
            })
        })
        .collect()
}

fn feed(mut detector: impl Detector, frames: &[[i16; 160]]) -> usize {
    let mut events = 0;
    for (k, f) in frames.iter().enumerate() {
        detector.handle_frame(Duration::from_millis(20 * k as u64), f);
        while detector.poll_event().is_some() {
            events += 1;
        }
    }
    events
}

fn amd_frame(c: &mut Criterion) {
    let clean = call(3000.0, 30.0);
    // Speech 4–5 dB above loud noise: the level alone cannot decide, so every speech frame is
    // also measured for voicing.
    let noisy = call(1000.0, 900.0);
    // A detector kept in its first-phrase state for the whole noisy call, whose level test
    // never decides alone, so every frame pays for the level and the tone, and every frame a
    // little above the noise for the voicing too: the worst case per frame.
    let never_decides = AmdConfig {
        max_human_greeting_ms: 5000,
        max_greeting_ms: 10_000,
        speech_margin_db: 30.0,
        max_human_syllables: 30,
        short_greeting_silence_ms: 3000,
        greeting_silence_ms: 3000,
        ..AmdConfig::default()
    };
    let mut g = c.benchmark_group("amd_frame");
    g.throughput(Throughput::Elements(FRAMES as u64));
    g.bench_function("ours_clean_machine_call", |b| {
        b.iter(|| feed(AmdDetector::default(), black_box(&clean)))
    });
    g.bench_function("ours_noisy_machine_call", |b| {
        b.iter(|| feed(AmdDetector::default(), black_box(&noisy)))
    });
    g.bench_function("ours_worst_case", |b| {
        b.iter(|| {
            let d = AmdDetector::new(&never_decides).expect("a valid config");
            feed(d, black_box(&noisy))
        })
    });
    g.bench_function("classic_clean_machine_call", |b| {
        b.iter(|| feed(ClassicAmd::default(), black_box(&clean)))
    });
    g.bench_function("classic_noisy_machine_call", |b| {
        b.iter(|| feed(ClassicAmd::default(), black_box(&noisy)))
    });
    // app_amd analysing every frame of the call (it stops at its verdict otherwise).
    let classic_never_decides = ClassicConfig {
        initial_silence_ms: 100_000,
        greeting_ms: 100_000,
        after_greeting_silence_ms: 100_000,
        total_analysis_ms: 100_000,
        maximum_number_of_words: 1000,
        maximum_word_length_ms: 100_000,
        ..ClassicConfig::default()
    };
    g.bench_function("classic_worst_case", |b| {
        b.iter(|| {
            let d = ClassicAmd::new(classic_never_decides.clone());
            feed(d, black_box(&clean))
        })
    });
    g.finish();
}

criterion_group!(benches, amd_frame);
criterion_main!(benches);
