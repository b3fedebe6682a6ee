//! The fuzz targets' seeded, bounded run on stable: each seed input mutated (bit flips,
//! insertions of the characters that matter to JSON and CSV, deletions, repeats, splices of
//! two seeds) a fixed number of times from a fixed RNG seed, and every mutant checked against
//! the properties in `fuzz_props` — the same ones `fuzz/fuzz_targets/{campaign_json,csv_import}`
//! check under libFuzzer. Deterministic, so a failure replays; `OUTDIAL_FUZZ_ITERS` sets the
//! mutants per seed (a longer run), `OUTDIAL_FUZZ_SEED` the RNG seed.
//!
//! This is no substitute for coverage-guided fuzzing (see fuzz/README.md); it keeps every
//! `cargo test` honest about the inputs a fuzzer starts from and their near neighbours.

mod fuzz_props;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Byte strings that mean something to JSON or CSV, or to the checks behind them.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b",",
    b"\n",
    b"\r\n",
    b"\r",
    b"\"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b"null",
    b"true",
    b"-1",
    b"0",
    b"1e308",
    b"18446744073709551616",
    b"0.5",
    b"\\u0000",
    b"\\ud800",
    b"\0",
    b"\xff",
    b"\xc3\xa9",
    b"+",
    b"+1",
    b"+44 20 7946 0000",
    b"tz",
    b"phone",
    b"Phone",
    b"America/New_York",
    b"Mars/Olympus",
    b"../",
    b"/etc/passwd",
    b".wav",
    b"sorry.wav",
    b"mode",
    b"agentless",
    b"predictive",
    b"\"target\":",
    b"\"abandon_message\":",
];

/// One mutant of `seed`, sometimes spliced with `other`; never longer than `max` bytes.
fn mutate(rng: &mut SmallRng, seed: &[u8], other: &[u8], max: usize) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..rng.gen_range(1..=4) {
        let at = if v.is_empty() {
            0
        } else {
            rng.gen_range(0..=v.len())
        };
        match rng.gen_range(0..7) {
            0 if !v.is_empty() => {
                let i = rng.gen_range(0..v.len());
                v[i] ^= 1 << rng.gen_range(0..8);
            }
            1 => {
                let t = TOKENS[rng.gen_range(0..TOKENS.len())];
                v.splice(at..at, t.iter().copied());
            }
            2 if !v.is_empty() => {
                let end = (at + rng.gen_range(1..=16)).min(v.len());
                v.drain(at.min(end)..end);
            }
            3 if at < v.len() => {
                // A piece repeated: long lines, many columns, deep nesting.
                let end = (at + rng.gen_range(1..=32)).min(v.len());
                let piece = v[at..end].to_vec();
                for _ in 0..rng.gen_range(2..=200) {
                    v.splice(end..end, piece.iter().copied());
                }
            }
            4 if !other.is_empty() => {
                let from = rng.gen_range(0..other.len());
                let to = (from + rng.gen_range(1..=64)).min(other.len());
                v.splice(at..at, other[from..to].iter().copied());
            }
            5 => v.truncate(at),
            _ => {
                if !v.is_empty() {
                    let i = rng.gen_range(0..v.len());
                    v[i] = rng.gen();
                }
            }
        }
    }
    v.truncate(max);
    v
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `check` on every seed and `per_seed` mutants of each; a panic is reported with the
/// seed, the mutant's number and its bytes, so it can become a named regression test.
#[allow(clippy::disallowed_methods)] // how long one input took: hostile input is bounded in time
fn run(name: &str, seeds: &[Vec<u8>], per_seed: u64, max: usize, mut check: impl FnMut(&[u8])) {
    let rng_seed = env_u64("OUTDIAL_FUZZ_SEED", 14);
    let mut rng = SmallRng::seed_from_u64(rng_seed);
    let mut slowest = Duration::ZERO;
    let mut count = 0u64;
    for (s, seed) in seeds.iter().enumerate() {
        for n in 0..=per_seed {
            let other = &seeds[rng.gen_range(0..seeds.len())];
            let input = if n == 0 {
                seed.clone()
            } else {
                mutate(&mut rng, seed, other, max)
            };
            let started = Instant::now();
            if let Err(e) = catch_unwind(AssertUnwindSafe(|| check(&input))) {
                eprintln!(
                    "{name}: OUTDIAL_FUZZ_SEED={rng_seed}, seed {s}, mutant {n} failed on {} bytes:\n{:?}",
                    input.len(),
                    String::from_utf8_lossy(&input)
                );
                std::panic::resume_unwind(e);
            }
            let took = started.elapsed();
            slowest = slowest.max(took);
            assert!(
                took < Duration::from_secs(5),
                "{name}: seed {s} mutant {n} took {took:?}"
            );
            count += 1;
        }
    }
    eprintln!("{name}: {count} inputs (RNG seed {rng_seed}), slowest {slowest:?}");
}

/// Campaign definitions: the repository's campaign files as the API's JSON, and the bodies
/// the tests post.
fn campaign_seeds() -> Vec<Vec<u8>> {
    let configs = concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(configs)
        .expect("configs/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("campaign-"))
        })
        .map(|p| {
            outdial_core::campaign::CampaignSpec::load(&p)
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
                .to_json()
                .into_bytes()
        })
        .collect();
    seeds.sort();
    assert!(
        seeds.len() >= 4,
        "campaign files in configs/: {}",
        seeds.len()
    );
    seeds.push(
        br#"{"name":"attack","mode":"agentless","agentless":{"rate_per_s":50,"max_concurrent":10},"abandon_message":"sorry.wav","target":"203.0.113.7:5060"}"#.to_vec(),
    );
    seeds.push(br#"{"name":"x","mode":"preview","abandon_message":"../secret.wav"}"#.to_vec());
    seeds
}

/// Contact lists: the shapes the importer's tests and users send.
fn csv_seeds() -> Vec<Vec<u8>> {
    [
        "phone\n+12125550100\n+12125550101\n",
        "Phone,first_name,tz,notes\r\n+1 (212) 555-0100,Ann,America/New_York,\"multi\nline\"\r\n+12125550100,dup,,\r\n",
        "name,phone,\n\"Smith, J\",+44 20 7946 0000,\n\n\nbad,12,\n,+33 1 23 45 67 89,\n",
        "phone,tz\n+12125550102,Mars/Olympus\n+12125550103,Europe/Paris\n\"+12125550104\",\n",
        "a,b,a\n1,2,3\n",
        "phone,x\n+12125550105\n+12125550106,1,2\n+12125550107,\"unterminated\n",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

#[test]
fn campaign_json_mutants_hold_their_properties() {
    let dir = tempfile::tempdir().expect("temp dir");
    let media = fuzz_props::media_dir(dir.path());
    let per_seed = env_u64("OUTDIAL_FUZZ_ITERS", 3000);
    run(
        "campaign_json",
        &campaign_seeds(),
        per_seed,
        16 << 10,
        |data| fuzz_props::campaign_json(data, &media),
    );
}

#[test]
fn csv_import_mutants_hold_their_properties() {
    let mut target = fuzz_props::CsvTarget::new();
    let per_seed = env_u64("OUTDIAL_FUZZ_ITERS", 3000) / 8;
    run("csv_import", &csv_seeds(), per_seed, 8 << 10, |data| {
        target.check(data)
    });
}
