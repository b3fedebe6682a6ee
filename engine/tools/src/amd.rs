//! `outdial amd FILE...`: answering-machine detection on recordings, offline, with the same
//! detector the node runs on live calls. One line per file; with `--json`, one JSON object
//! per line (`file`, `verdict`, `decided_ms`, `beep_end_ms`). After a machine verdict the
//! detector keeps listening for the beep, as a campaign that leaves a message must.

use std::io::Write;
use std::path::Path;

use media::amd::{classify_wav, AmdConfig, AmdReport};
use serde::Serialize;

/// One file's result, as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct FileVerdict<'a> {
    pub file: &'a str,
    /// `human`, `machine` or `notsure`.
    pub verdict: String,
    /// Milliseconds from the start of the file when the verdict was reached.
    pub decided_ms: u64,
    /// Milliseconds from the start of the file when a machine's beep ended, if one was heard.
    pub beep_end_ms: Option<u64>,
}

impl<'a> FileVerdict<'a> {
    fn new(file: &'a str, r: &AmdReport) -> Self {
        Self {
            file,
            verdict: r.verdict.as_str().to_lowercase(),
            decided_ms: r.decided_ms,
            beep_end_ms: r.beep_end_ms,
        }
    }
}

/// Classifies every file, writing a line for each to `out` and every refusal to `err`;
/// returns how many files could not be classified.
pub fn run(
    files: &[impl AsRef<Path>],
    json: bool,
    out: &mut impl Write,
    err: &mut impl Write,
) -> std::io::Result<usize> {
    let config = AmdConfig::default();
    let mut failed = 0;
    for f in files {
        let path = f.as_ref();
        let name = path.display().to_string();
        match classify_wav(path, &config) {
            Ok(r) => {
                let v = FileVerdict::new(&name, &r);
                if json {
                    writeln!(out, "{}", serde_json::to_string(&v).unwrap_or_default())?;
                } else {
                    let beep = v
                        .beep_end_ms
                        .map(|b| format!(", beep ended at {b} ms"))
                        .unwrap_or_default();
                    writeln!(
                        out,
                        "{name}: {} at {} ms ({}){beep}",
                        v.verdict,
                        v.decided_ms,
                        r.cause.as_str().to_lowercase()
                    )?;
                }
            }
            Err(e) => {
                failed += 1;
                writeln!(
                    err,
                    "outdial amd: {name}: {}",
                    outdial_core::error_chain(&e)
                )?;
            }
        }
    }
    Ok(failed)
}
