//! What the fuzzers hold the campaign JSON and the CSV importer to, in one place: the seeded
//! mutation run of `cargo test` (`tests/fuzz_inputs.rs`) and the cargo-fuzz targets
//! (`fuzz/fuzz_targets/`, which include this file by path) check the same rules.
//!
//! Both take hostile bytes as the API does: a campaign as the body of `POST /v1/campaigns`, a
//! contact list as the body of `POST /v1/jobs/{id}/contacts`.
#![allow(dead_code)] // each driver uses its half

use std::path::{Path, PathBuf};

use outdial_core::campaign::CampaignSpec;
use outdial_core::domain::{CampaignId, JobId};
use outdial_node::import::{import_reader, ImportError, ImportLimits, ImportOptions};
use outdial_node::storage::{Job, JobState, SledStore, Store, Write};

/// A campaign definition as the API reads it: no panic; a spec that parses prints JSON that
/// parses back to the same spec and resolves the same way; a prompt name never leads out of
/// the media directory.
pub fn campaign_json(data: &[u8], media_dir: &Path) {
    let Ok(text) = std::str::from_utf8(data) else {
        return; // 400 "body is not UTF-8"
    };
    let spec = match CampaignSpec::from_json(text) {
        Ok(s) => s,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let stored = spec.to_json();
    let again = CampaignSpec::from_json(&stored)
        .unwrap_or_else(|e| panic!("the stored form does not parse: {e}\n{stored}"));
    assert_eq!(
        again, spec,
        "the stored form reads back differently: {stored}"
    );
    let problems = |s: CampaignSpec| match s.resolve() {
        Ok(c) => Ok(format!("{c:?}")),
        Err(errs) => Err(errs.iter().map(|e| e.to_string()).collect::<Vec<_>>()),
    };
    assert_eq!(problems(spec.clone()), problems(again), "{stored}");
    if let Some(name) = &spec.abandon_message {
        if let Ok(path) = outdial_node::prompt_path(Some(media_dir), name) {
            let root = media_dir
                .canonicalize()
                .expect("the media directory exists");
            assert!(
                path.starts_with(&root),
                "{name:?} led to {} outside {}",
                path.display(),
                root.display()
            );
        }
    }
}

/// A media directory with one good prompt, `sorry.wav`, and a file beside it that no name
/// may reach.
pub fn media_dir(base: &Path) -> PathBuf {
    let dir = base.join("media");
    std::fs::create_dir_all(&dir).expect("media dir");
    let wav = |samples: u32| {
        let data = samples * 2;
        let mut w = b"RIFF".to_vec();
        w.extend_from_slice(&(36 + data).to_le_bytes());
        w.extend_from_slice(b"WAVEfmt ");
        w.extend_from_slice(&16u32.to_le_bytes());
        for v in [1u16, 1] {
            w.extend_from_slice(&v.to_le_bytes());
        }
        for v in [8000u32, 16000] {
            w.extend_from_slice(&v.to_le_bytes());
        }
        for v in [2u16, 16] {
            w.extend_from_slice(&v.to_le_bytes());
        }
        w.extend_from_slice(b"data");
        w.extend_from_slice(&data.to_le_bytes());
        w.resize(w.len() + data as usize, 0);
        w
    };
    std::fs::write(dir.join("sorry.wav"), wav(800)).expect("prompt");
    std::fs::write(base.join("secret.wav"), wav(800)).expect("outside");
    dir
}

/// The importer's limits while fuzzing: small, so mutated inputs reach every one of them.
pub fn fuzz_import_options() -> ImportOptions {
    ImportOptions {
        batch_size: 7,
        max_errors: 20,
        limits: ImportLimits {
            max_line_bytes: 512,
            max_columns: 12,
            max_field_bytes: 48,
        },
        ..ImportOptions::default()
    }
}

/// A sled store the CSV inputs are imported into, each into a job of its own.
pub struct CsvTarget {
    _dir: tempfile::TempDir,
    store: SledStore,
    next_job: u64,
    opts: ImportOptions,
}

impl CsvTarget {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SledStore::open_with_cache(&dir.path().join("db"), 8 << 20).expect("sled");
        CsvTarget {
            _dir: dir,
            store,
            next_job: 1,
            opts: fuzz_import_options(),
        }
    }

    /// Imports `data` into a fresh job: no panic, and the report agrees with the store and
    /// the file (every contact stored is E.164, no more rows than lines, errors in file order
    /// on lines the file has).
    pub fn check(&mut self, data: &[u8]) {
        let job = JobId(self.next_job);
        self.next_job += 1;
        self.store
            .commit(&[Write::Job(Job {
                id: job,
                campaign: CampaignId(1),
                zone: "z".into(),
                state: JobState::Created,
                created_at: 0,
                updated_at: 0,
            })])
            .expect("job");
        // Records end at LF, CR or CRLF: an upper bound on records and on line numbers.
        let lines = data.iter().filter(|&&b| b == b'\n' || b == b'\r').count() as u64 + 1;
        let result = import_reader(&self.store, job, data, &self.opts);
        let stored = self.store.contact_counts(job).expect("counts").total;
        let mut bad = Vec::new();
        self.store
            .for_each_contact(job, &mut |c| {
                let digits = c.phone.strip_prefix('+').unwrap_or("");
                if digits.is_empty()
                    || digits.len() > 15
                    || !digits.bytes().all(|b| b.is_ascii_digit())
                {
                    bad.push(c.phone.clone());
                }
            })
            .expect("contacts");
        assert!(bad.is_empty(), "stored phones not in E.164: {bad:?}");
        assert!(stored < lines, "{stored} contacts from {lines} lines");
        match result {
            Ok(r) => {
                assert_eq!(r.imported, stored, "{r:?}");
                assert!(r.imported + r.rejected < lines, "{r:?} from {lines} lines");
                assert!(r.duplicates <= r.rejected, "{r:?}");
                assert!(r.errors.len() <= self.opts.max_errors, "{r:?}");
                assert_eq!(
                    r.errors.len() as u64,
                    r.rejected.min(self.opts.max_errors as u64),
                    "{r:?}"
                );
                let at: Vec<u64> = r.errors.iter().map(|e| e.line).collect();
                // In file order. Not strictly: a lone CR ends a record (as the csv reader
                // reads it) but not a line (as an editor shows it), so two rows may share one.
                assert!(
                    at.windows(2).all(|w| w[0] <= w[1]),
                    "errors out of order: {at:?}"
                );
                // After the header's line (on it, when a lone CR ended the header).
                let mut first = 1;
                if !has_lone_cr(data) {
                    assert!(at.windows(2).all(|w| w[0] < w[1]), "one row a line: {at:?}");
                    first = 2;
                }
                assert!(
                    at.iter().all(|&l| (first..=lines).contains(&l)),
                    "{at:?} of {lines} lines"
                );
                let _ = serde_json::to_string(&r).expect("the report serialises");
            }
            Err(ImportError::Store { source, .. }) => panic!("storage failed: {source}"),
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
}

/// Whether `data` has a CR not followed by LF.
fn has_lone_cr(data: &[u8]) -> bool {
    data.iter()
        .enumerate()
        .any(|(i, &b)| b == b'\r' && data.get(i + 1) != Some(&b'\n'))
}
