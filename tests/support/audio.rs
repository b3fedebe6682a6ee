//! Recordings made by the tests themselves: speech from espeak-ng and tones from sox, at
//! 8 kHz mono 16-bit as a telephone line carries them, or raw G.711 u-law for SIPp to stream.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Fails with the Debian package to install when `tool` is missing.
pub fn need(tool: &str, package: &str) {
    let ok = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{tool} is missing: install the Debian package {package}"
    );
}

/// Both tools the recordings need.
pub fn need_tools() {
    need("espeak-ng", "espeak-ng");
    need("sox", "sox");
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `text` spoken into `dir/name.wav` (8 kHz mono 16-bit).
pub fn speech(dir: &Path, name: &str, text: &str) -> PathBuf {
    let raw = dir.join(format!("{name}-espeak.wav"));
    run(Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "170", "-w"])
        .arg(&raw)
        .arg(text));
    let out = dir.join(format!("{name}.wav"));
    run(Command::new("sox")
        .arg(&raw)
        .args(["-r", "8000", "-c", "1", "-b", "16"])
        .arg(&out));
    out
}

/// `seconds` of a `hz` tone at half scale, as a voicemail beep.
pub fn tone(dir: &Path, name: &str, hz: u32, seconds: f64) -> PathBuf {
    let out = dir.join(format!("{name}.wav"));
    run(Command::new("sox")
        .args(["-n", "-r", "8000", "-c", "1", "-b", "16"])
        .arg(&out)
        .args([
            "synth",
            &seconds.to_string(),
            "sine",
            &hz.to_string(),
            "vol",
            "0.5",
        ]));
    out
}

/// `seconds` of silence.
pub fn silence(dir: &Path, name: &str, seconds: f64) -> PathBuf {
    let out = dir.join(format!("{name}.wav"));
    run(Command::new("sox")
        .args(["-n", "-r", "8000", "-c", "1", "-b", "16"])
        .arg(&out)
        .args(["trim", "0", &seconds.to_string()]));
    out
}

/// `parts` one after the other into `out`; a `.ul` name makes raw u-law, anything else the
/// parts' own format.
pub fn join(parts: &[PathBuf], out: &Path) {
    let mut cmd = Command::new("sox");
    cmd.args(parts);
    if out.extension().is_some_and(|e| e == "ul") {
        cmd.args(["-t", "ul"]);
    }
    run(cmd.arg(out));
}

/// A recording's length in seconds.
pub fn seconds(file: &Path) -> f64 {
    let out = Command::new("soxi")
        .arg("-D")
        .arg(file)
        .output()
        .expect("soxi");
    assert!(out.status.success(), "soxi -D {}", file.display());
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("soxi prints seconds")
}
