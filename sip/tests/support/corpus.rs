//! The shared torture data and fuzz corpus, as the integration tests read them.
//!
//! The data is read from `$OUTDIAL_TORTURE_DIR` (default `../shared/torture` beside the
//! workspace) and never copied into the project; without it the tests that use it fail.
#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};

/// `$OUTDIAL_TORTURE_DIR`, or `../shared/torture` beside the workspace.
pub fn torture_dir() -> PathBuf {
    match std::env::var_os("OUTDIAL_TORTURE_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/torture"),
    }
}

pub fn corpus_dir() -> PathBuf {
    torture_dir().join("fuzz-corpus")
}

pub fn missing(path: &Path, e: std::io::Error) -> ! {
    panic!(
        "cannot read the fuzz corpus at {}: {e}. Set OUTDIAL_TORTURE_DIR to the shared/torture \
         directory (default: ../shared/torture beside the workspace).",
        path.display()
    )
}

/// Every regular file under `dir`, sorted, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| missing(dir, e));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| missing(dir, e)).path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| missing(path, e))
}

/// PROTOS case files: `<len> <INVITE template><len> <teardown template>`, placeholders to be
/// substituted (see the corpus README and rtckit/php-sip's ProtosTest.php).
pub mod protos {
    /// One length-prefixed PDU at `pos`: the bytes and where the next one starts.
    fn pdu(raw: &[u8], pos: usize) -> Option<(&[u8], usize)> {
        let rest = raw.get(pos..)?;
        let sp = rest.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(rest.get(..sp)?).ok()?.parse().ok()?;
        let start = pos + sp + 1;
        let end = start.checked_add(len)?;
        Some((raw.get(start..end)?, end))
    }

    fn replace_all(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(hay.len());
        let mut i = 0;
        while i < hay.len() {
            if hay[i..].starts_with(from) {
                out.extend_from_slice(to);
                i += from.len();
            } else {
                out.push(hay[i]);
                i += 1;
            }
        }
        out
    }

    /// Fixed values where php-sip uses random ones, so failures reproduce.
    const SUBSTITUTIONS: &[(&str, &str)] = &[
        ("<To>", "bob@biloxi.example.com"),
        ("<From>", "alice@atlanta.example.com"),
        ("<From-Address>", "pc33.atlanta.example.com"),
        ("<From-IP>", "192.0.2.33"),
        ("<Local-Port>", "5060"),
        ("<Branch-ID>", "a1b2c3d4e5f60718"),
        ("<Call-ID>", "0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
        ("<CSeq>", "8000"),
        ("<Teardown-Method>", "CANCEL"),
    ];

    fn substitute(template: &[u8]) -> Vec<u8> {
        let mut m = template.to_vec();
        for (from, to) in SUBSTITUTIONS {
            m = replace_all(&m, from.as_bytes(), to.as_bytes());
        }
        // Content-Length counts what follows the first CRLFCRLF, after substitution; a case
        // whose mutation removed the empty line gets 0.
        let body = m
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(0, |p| m.len() - p - 4);
        replace_all(&m, b"<Content-Length>", body.to_string().as_bytes())
    }

    /// The INVITE and teardown datagrams of one case file.
    pub fn datagrams(raw: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
        let (invite, next) = pdu(raw, 0)?;
        let (teardown, _) = pdu(raw, next)?;
        Some((substitute(invite), substitute(teardown)))
    }
}

/// The datagrams of one corpus file, named for the report.
pub fn datagrams_of(path: &Path) -> Vec<(String, Vec<u8>)> {
    let raw = read(path);
    let name = path
        .strip_prefix(corpus_dir())
        .unwrap_or(path)
        .display()
        .to_string();
    if name.starts_with("protos-c07-sip/cases/") {
        let (invite, teardown) = protos::datagrams(&raw)
            .unwrap_or_else(|| panic!("{name}: not in the PROTOS two-PDU format"));
        vec![
            (name.clone(), invite),
            (format!("{name} (teardown)"), teardown),
        ]
    } else if name.starts_with("protos-c07-sip/") || name.ends_with(".md") {
        Vec::new()
    } else {
        vec![(name, raw)]
    }
}
