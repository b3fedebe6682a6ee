//! `outdial amd` on recordings made here with espeak-ng and sox: a person who says hello and
//! waits, and an answering machine's greeting followed by its beep. One line per file, JSON
//! with the documented keys, and a clear refusal (exit status 1) for a file it cannot read.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::audio::{join, need_tools, silence, speech, tone};

/// Says `text`, then `silence_s` of silence, with a `beep` (seconds of a 1 kHz tone) between
/// if asked.
fn recording(dir: &Path, name: &str, text: &str, silence_s: f64, beep: Option<f64>) -> PathBuf {
    let mut parts = vec![speech(dir, &format!("{name}-voice"), text)];
    if let Some(b) = beep {
        parts.push(tone(dir, &format!("{name}-beep"), 1000, b));
    }
    parts.push(silence(dir, &format!("{name}-quiet"), silence_s));
    let out = dir.join(format!("{name}.wav"));
    join(&parts, &out);
    out
}

#[test]
fn a_person_and_a_machine_are_told_apart_and_a_bad_file_is_refused() {
    need_tools();
    let dir = tempfile::tempdir().expect("tempdir");
    let person = recording(dir.path(), "person", "Hello?", 3.0, None);
    let machine = recording(
        dir.path(),
        "machine",
        "Hi, you have reached the Smith family. We cannot come to the phone right now. \
         Please leave your name, number and a short message after the tone, and we will \
         call you back as soon as we can.",
        2.0,
        Some(0.6),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_outdial"))
        .arg("amd")
        .arg("--json")
        .arg(&person)
        .arg(&machine)
        .output()
        .expect("outdial amd");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["verdict"], "human", "{}", lines[0]);
    assert!(
        lines[0]["decided_ms"].as_u64().is_some_and(|ms| ms < 2_000),
        "{}",
        lines[0]
    );
    assert!(lines[0]["beep_end_ms"].is_null());
    assert_eq!(lines[1]["verdict"], "machine", "{}", lines[1]);
    let decided = lines[1]["decided_ms"].as_u64().expect("decided_ms");
    let beep = lines[1]["beep_end_ms"]
        .as_u64()
        .expect("the beep's end is found");
    assert!(decided < beep, "{}", lines[1]);
    assert!(lines[1]["file"]
        .as_str()
        .is_some_and(|f| f.ends_with("machine.wav")));

    // Not a WAV: named on stderr, exit status 1, the other file still classified.
    let bad = dir.path().join("notes.txt");
    std::fs::write(&bad, "not audio").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_outdial"))
        .arg("amd")
        .arg(&bad)
        .arg(&person)
        .output()
        .expect("outdial amd");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("notes.txt"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("person.wav: human"));
}
