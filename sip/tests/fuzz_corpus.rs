//! Replays the whole SIP robustness corpus (PROTOS c07-sip, pjsip and Kamailio seeds,
//! RFC 5118) through the receive path: no input may panic or take unbounded time.
//!
//! The corpus is read from `$OUTDIAL_TORTURE_DIR/fuzz-corpus` (default `../shared/torture`
//! beside the workspace) and never copied into the project; without it these tests fail.
//! With `OUTDIAL_FUZZ_SEED_DIR` set, `write_fuzz_seeds` writes every case as a ready datagram
//! there, to seed `fuzz/` (see fuzz/README.md).
//!
//! The PROTOS reader lives in `tests/support/corpus.rs` rather than in the `sip` crate: it is
//! test-corpus plumbing, and the fuzz target wants datagrams, not templates, so it is fed what
//! this file writes.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sip::msg::rsip::Method;
use sip::msg::{check_uas_acceptable, parse_datagram, reply, response_to, to_bytes};
use sip::sdp;

mod support;
use support::corpus::{corpus_dir, datagrams_of, files_under, missing, protos, read};

/// Every method rsip knows, so the application-layer checks run as far as they can.
fn allow() -> Vec<Method> {
    Method::all()
}

/// The whole receive path an endpoint runs on a datagram. `true` when it parsed.
fn exercise(bytes: &[u8], allow: &[Method]) -> bool {
    match parse_datagram(bytes) {
        Ok(inc) => {
            let _ = check_uas_acceptable(&inc, allow);
            let _ = sdp::parse_answer(inc.body());
            let _ = sdp::parse(inc.body());
            // The printer and the parser agree: what we print parses to the same head (unless
            // the added Content-Length pushed it past the size limit).
            let printed = to_bytes(&inc.msg);
            match parse_datagram(&printed) {
                Err(sip::msg::ParseError::TooLarge(_)) => {}
                Ok(again) => {
                    let mut head = inc.head.clone();
                    head.trailing_octets = 0;
                    assert_eq!(again.head, head, "re-parse of printed message differs");
                }
                Err(e) => panic!("re-parse of printed message failed: {e}"),
            }
            if inc.is_request() {
                let r = response_to(&inc, 200, "OK", Some("tag1"));
                let _ = to_bytes(&r.into());
            }
            true
        }
        Err(e) => {
            let _ = e.status();
            let _ = e.to_string();
            if let Some(bytes) = reply::for_error(&e) {
                // What we send back must itself parse whenever the copied fields were sound;
                // at the least it must not panic.
                let _ = parse_datagram(&bytes);
            }
            false
        }
    }
}

/// Measuring this test's own run time is test glue, not protocol logic.
#[allow(clippy::disallowed_methods)]
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

/// Generous for a debug build on a loaded 2-core machine; a quadratic scan of a 20 KB case
/// would blow through it.
const PER_DATAGRAM_BUDGET: Duration = Duration::from_millis(500);

#[test]
fn whole_corpus_replays_without_panic_in_bounded_time() {
    let allow = allow();
    let files = files_under(&corpus_dir());
    let mut panicked = Vec::new();
    let mut slow = Vec::new();
    let mut tally: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut datagrams = 0;
    let mut slowest = (Duration::ZERO, String::new());
    for path in &files {
        for (name, bytes) in datagrams_of(path) {
            datagrams += 1;
            let (result, took) =
                timed(|| catch_unwind(AssertUnwindSafe(|| exercise(&bytes, &allow))));
            let source = name.split('/').next().unwrap_or("");
            let source = [
                "protos-c07-sip",
                "pjsip-oss-fuzz-seeds",
                "kamailio-test-misc-sip",
                "rfc5118",
            ]
            .into_iter()
            .find(|s| *s == source)
            .unwrap_or("other");
            match result {
                Ok(parsed) => {
                    let t = tally.entry(source).or_default();
                    if parsed {
                        t.0 += 1;
                    } else {
                        t.1 += 1;
                    }
                }
                Err(_) => panicked.push(name.clone()),
            }
            if took > PER_DATAGRAM_BUDGET {
                slow.push(format!("{name}: {took:?}"));
            }
            if took > slowest.0 {
                slowest = (took, name);
            }
        }
    }
    eprintln!(
        "replayed {datagrams} datagrams from {} files; (parsed, refused) by source: {tally:?}; \
         slowest {:?} ({})",
        files.len(),
        slowest.0,
        slowest.1
    );
    assert!(
        datagrams > 8000,
        "corpus looks incomplete: {datagrams} datagrams"
    );
    assert!(
        panicked.is_empty(),
        "panicked on {} inputs:\n{}",
        panicked.len(),
        panicked.join("\n")
    );
    assert!(slow.is_empty(), "over budget:\n{}", slow.join("\n"));
}

#[test]
fn protos_baseline_case_parses() {
    let path = corpus_dir().join("protos-c07-sip/cases/0000000");
    let (invite, teardown) = protos::datagrams(&read(&path)).expect("two PDUs");
    let inc = parse_datagram(&invite).unwrap_or_else(|e| panic!("0000000 INVITE: {e}"));
    assert_eq!(inc.head.method, Some(Method::Invite));
    assert_eq!(inc.head.cseq, 8000);
    assert_eq!(
        inc.head.call_id,
        "0f1e2d3c4b5a69788796a5b4c3d2e1f0@pc33.atlanta.example.com"
    );
    assert_eq!(check_uas_acceptable(&inc, &allow()), Ok(()));
    match sdp::parse_answer(inc.body()) {
        Ok(sdp::MediaAnswer::Accepted(a)) => {
            assert_eq!(a.remote, "192.0.2.33:9876".parse().unwrap());
            assert_eq!(a.payload_type, 0);
        }
        other => panic!("0000000 SDP: {other:?}"),
    }
    let cancel = parse_datagram(&teardown).unwrap_or_else(|e| panic!("0000000 CANCEL: {e}"));
    assert_eq!(cancel.head.method, Some(Method::Cancel));
}

/// Per PROTOS group: how many INVITEs parsed. Not a verdict (PROTOS has none; GROUPS.tsv's
/// column is one library's policy) but it shows where this parser draws its lines.
#[test]
fn protos_groups_report() {
    let groups = String::from_utf8(read(&corpus_dir().join("protos-c07-sip/GROUPS.tsv")))
        .expect("GROUPS.tsv is UTF-8");
    let mut report = Vec::new();
    for line in groups.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let [group, first, last, ..] = f[..] else {
            continue;
        };
        let (first, last): (u32, u32) = (first.parse().unwrap(), last.parse().unwrap());
        let (mut ok, mut refused, mut absent) = (0, 0, 0);
        for case in first..=last {
            let path = corpus_dir().join(format!("protos-c07-sip/cases/{case:07}"));
            if !path.exists() {
                absent += 1;
                continue;
            }
            let (invite, _) = protos::datagrams(&read(&path)).expect("two PDUs");
            if parse_datagram(&invite).is_ok() {
                ok += 1;
            } else {
                refused += 1;
            }
        }
        report.push(format!(
            "{group:32} parsed {ok:4} refused {refused:4} (over 20 KB, not stored: {absent})"
        ));
    }
    eprintln!("{}", report.join("\n"));
    assert!(!report.is_empty());
}

/// `OUTDIAL_FUZZ_SEED_DIR=$PWD/fuzz/corpus/receive cargo test -p sip --test fuzz_corpus
/// write_fuzz_seeds` materialises the corpus as datagrams for `cargo fuzz run receive`.
#[test]
fn write_fuzz_seeds() {
    let Some(dir) = std::env::var_os("OUTDIAL_FUZZ_SEED_DIR") else {
        return;
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| missing(&dir, e));
    let mut n = 0;
    for path in files_under(&corpus_dir()) {
        for (name, bytes) in datagrams_of(&path) {
            let file = name.replace(['/', ' ', '(', ')'], "_");
            std::fs::write(dir.join(file), bytes).unwrap_or_else(|e| missing(&dir, e));
            n += 1;
        }
    }
    eprintln!("wrote {n} seeds to {}", dir.display());
}

/// A tiny seeded mutator over the corpus, so CI finds panics without cargo-fuzz: flips,
/// inserts, deletes and splices bytes, favouring the characters SIP's grammar turns on.
#[test]
fn mutated_corpus_does_not_panic() {
    let mut seeds = Vec::new();
    for sub in ["kamailio-test-misc-sip", "pjsip-oss-fuzz-seeds", "rfc5118"] {
        for p in files_under(&corpus_dir().join(sub)) {
            seeds.push(read(&p));
        }
    }
    let baseline = corpus_dir().join("protos-c07-sip/cases/0000000");
    let (invite, cancel) = protos::datagrams(&read(&baseline)).expect("two PDUs");
    seeds.push(invite);
    seeds.push(cancel);
    let torture = corpus_dir().join("../rfc4475");
    for p in files_under(&torture) {
        if p.extension().is_some_and(|e| e == "dat") {
            seeds.push(read(&p));
        }
    }

    // xorshift64*: deterministic, so a failure names a reproducible iteration.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    const INTERESTING: &[u8] = b"\r\n \t:;,<>\"\\@[]=/%?0\x00\xff";
    let allow = allow();
    let mut panicked = Vec::new();
    for iter in 0..20_000u32 {
        let seed = &seeds[(next() % seeds.len() as u64) as usize];
        let mut m = seed.clone();
        for _ in 0..1 + next() % 4 {
            let at = if m.is_empty() {
                0
            } else {
                (next() % m.len() as u64) as usize
            };
            let byte = if next() % 2 == 0 {
                INTERESTING[(next() % INTERESTING.len() as u64) as usize]
            } else {
                next() as u8
            };
            match next() % 5 {
                0 if !m.is_empty() => m[at] = byte,
                1 => m.insert(at, byte),
                2 if !m.is_empty() => {
                    m.remove(at);
                }
                3 => {
                    let other = &seeds[(next() % seeds.len() as u64) as usize];
                    let from = (next() % (other.len() as u64 + 1)) as usize;
                    let len = (next() % 64) as usize;
                    let piece = &other[from..(from + len).min(other.len())];
                    m.splice(at..at, piece.iter().copied());
                }
                _ if !m.is_empty() => {
                    let len = ((next() % 32) as usize).min(m.len() - at);
                    let piece: Vec<u8> = m[at..at + len].to_vec();
                    m.splice(at..at, piece);
                }
                _ => m.push(byte),
            }
        }
        if catch_unwind(AssertUnwindSafe(|| exercise(&m, &allow))).is_err() {
            panicked.push(format!(
                "iteration {iter}: {:?}",
                String::from_utf8_lossy(&m)
            ));
        }
    }
    assert!(
        panicked.is_empty(),
        "panicked on {} mutants:\n{}",
        panicked.len(),
        panicked.join("\n")
    );
}

#[test]
fn pathological_inputs_stay_linear() {
    let max = sip::msg::MAX_MESSAGE_OCTETS;
    let head = "INVITE sip:a@b.example SIP/2.0\r\n";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("one huge folded header", {
            let mut m = format!("{head}X-Fold: a\r\n").into_bytes();
            while m.len() < max - 16 {
                m.extend_from_slice(b" b\r\n");
            }
            m.extend_from_slice(b"\r\n");
            m
        }),
        ("Via of semicolons", {
            let mut m = format!("{head}Via: SIP/2.0/UDP h").into_bytes();
            m.resize(max - 8, b';');
            m.extend_from_slice(b"\r\n\r\n");
            m
        }),
        ("Contact of commas", {
            let mut m = format!("{head}Contact: ").into_bytes();
            while m.len() < max - 32 {
                m.extend_from_slice(b"<sip:a@b>,");
            }
            m.extend_from_slice(b"<sip:a@b>\r\n\r\n");
            m
        }),
        ("unterminated quote", {
            let mut m = format!("{head}To: \"").into_bytes();
            m.resize(max - 8, b'a');
            m.extend_from_slice(b"\r\n\r\n");
            m
        }),
        ("bare LFs", vec![b'\n'; max]),
        ("all headers", {
            let mut m = head.as_bytes().to_vec();
            while m.len() < max - 16 {
                m.extend_from_slice(b"a:b\r\n");
            }
            m
        }),
        ("SDP of lines", {
            let mut m = format!("{head}Via: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n").into_bytes();
            while m.len() < max - 8 {
                m.extend_from_slice(b"a=x\r\n");
            }
            m
        }),
    ];
    let allow = allow();
    for (what, bytes) in cases {
        assert!(bytes.len() <= max, "{what}");
        let (r, took) = timed(|| catch_unwind(AssertUnwindSafe(|| exercise(&bytes, &allow))));
        assert!(r.is_ok(), "{what}: panicked");
        assert!(took < PER_DATAGRAM_BUDGET, "{what}: {took:?}");
    }
}
