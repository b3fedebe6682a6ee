//! The offline classifier on WAV files made by espeak-ng and sox: a 500 ms "hello" in each
//! accepted encoding, against Asterisk's app_amd, and the formats it must refuse.

mod amd_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use amd_support::build::{build_one, Labelled};
use amd_support::plan::{CallPlan, Encoding, Kind, NoiseColour, Utterance};
use media::amd::{classify_wav, classify_wav_with, AmdConfig, ClassicAmd, Verdict};
use media::{Blame, MediaError};

fn dir(test: &str) -> PathBuf {
    amd_support::cache_root().join(format!("amd-wav-{test}"))
}

/// "Hello?" after 600 ms, then three seconds of a quiet line.
fn hello(dir: &Path, encoding: Encoding) -> Labelled {
    let call = CallPlan {
        name: format!("hello-{encoding:?}"),
        kind: Kind::Human,
        lead_ms: 600,
        first: Utterance {
            voice: "en-us".to_string(),
            speed: 150,
            pitch: 50,
            text: "Hello?",
        },
        second: None,
        beep: None,
        tail_ms: 3000,
        level_dbfs: -20.0,
        noise: Some((NoiseColour::White, 30.0)),
        encoding,
    };
    build_one(dir, &call)
}

#[test]
fn a_half_second_hello_is_a_person_within_900_ms_and_app_amd_takes_1_3_s() {
    let dir = dir("hello");
    let pcm = hello(&dir, Encoding::Pcm16);
    let length = pcm.first_phrase_end_ms - pcm.speech_start_ms;
    assert!((450..=550).contains(&length), "the hello lasts {length} ms");

    let ours = classify_wav(&pcm.path, &AmdConfig::default()).expect("a valid file");
    assert_eq!(ours.verdict, Verdict::Human, "{ours:?}");
    let ours_ms = ours.decided_ms - pcm.speech_start_ms;
    assert!(ours_ms < 900, "ours: {ours_ms} ms after the hello started");

    let classic = classify_wav_with(&pcm.path, ClassicAmd::default()).expect("a valid file");
    assert_eq!(classic.verdict, Verdict::Human, "{classic:?}");
    let classic_ms = classic.decided_ms - pcm.speech_start_ms;
    println!("a {length} ms hello: ours {ours_ms} ms, app_amd {classic_ms} ms after it started");
    assert!(
        (1200..=1400).contains(&classic_ms),
        "app_amd: {classic_ms} ms after the hello started (the hello plus 800 ms of silence)"
    );
}

#[test]
fn the_three_encodings_give_the_same_verdict() {
    let dir = dir("encodings");
    let reports: Vec<_> = [Encoding::Pcm16, Encoding::Ulaw, Encoding::Alaw]
        .into_iter()
        .map(|e| {
            let file = hello(&dir, e);
            classify_wav(&file.path, &AmdConfig::default()).expect("a valid file")
        })
        .collect();
    for r in &reports {
        assert_eq!(r.verdict, Verdict::Human, "{reports:?}");
        assert!(
            r.decided_ms.abs_diff(reports[0].decided_ms) <= 40,
            "{reports:?}"
        );
    }
}

/// Converts `from` with sox, `args` going before the output file.
fn sox(from: &Path, to: &Path, args: &[&str]) {
    let status = Command::new("sox")
        .arg(from)
        .args(args)
        .arg(to)
        .status()
        .expect("run sox (Debian package `sox`)");
    assert!(status.success(), "sox {args:?} failed");
}

#[test]
fn other_formats_are_refused_naming_what_is_wrong() {
    let dir = dir("refused");
    let pcm = hello(&dir, Encoding::Pcm16);
    let cases: [(&str, &[&str], &str); 4] = [
        ("16k.wav", &["-r", "16000"], "sample rate is 16000 Hz"),
        ("stereo.wav", &["-c", "2"], "2 channels"),
        (
            "float.wav",
            &["-e", "floating-point", "-b", "32"],
            "format tag 0x0003",
        ),
        (
            "u8.wav",
            &["-e", "unsigned-integer", "-b", "8"],
            "PCM with 8 bits",
        ),
    ];
    for (name, args, problem) in cases {
        let file = dir.join(name);
        sox(&pcm.path, &file, args);
        let err = classify_wav(&file, &AmdConfig::default()).expect_err(name);
        assert!(
            matches!(err, MediaError::BadRecording { .. }),
            "{name}: {err}"
        );
        assert_eq!(err.blame(), Blame::InputFile);
        let text = err.to_string();
        assert!(
            text.contains(name) && text.contains(problem),
            "{name}: {text}"
        );
    }
    let text = dir.join("text.wav");
    std::fs::write(&text, "not audio at all").expect("write a file");
    let err = classify_wav(&text, &AmdConfig::default()).expect_err("text");
    assert!(err.to_string().contains("not a RIFF file"), "{err}");
}
