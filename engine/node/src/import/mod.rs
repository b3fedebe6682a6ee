//! Contact-list import: a CSV streamed record by record into a job's contacts, with every
//! bad row reported by line and reason while the good rows still go in.
//!
//! Memory stays bounded by one commit batch plus one `u64` per phone of the job (for the
//! duplicate check), whatever the size of the file: a million rows take ~16 MB of it. A
//! hostile file is bounded too: records longer than `max_line_bytes` stop the import, a header
//! of more than `max_columns` is refused, a field over `max_field_bytes` rejects its row, and
//! blank lines cost nothing (see `lines`).

mod lines;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::{Duration, Instant};

use chrono_tz::Tz;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Serialize, Serializer};

use crate::storage::{Store, StoreError, Write};
use lines::{LineTracker, Newlines, RecordLength, Tracking};
use outdial_core::contacts::phone::{self, PhoneError};
use outdial_core::domain::{Contact, ContactId, ContactState, JobId};

/// How to read a contact list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Header of the phone column, matched case-insensitively. Required. Default `phone`.
    pub phone_column: String,
    /// Header of the optional time-zone column (IANA names), matched case-insensitively.
    /// Rows without one get the zone inferred from the phone number. Default `tz`.
    pub tz_column: String,
    /// Contacts per storage commit. Default 5,000; at least 1.
    pub batch_size: usize,
    /// Row errors kept with their details; the rest are only counted. Default 1,000.
    pub max_errors: usize,
    /// Draw a progress bar on stderr (for the CLI; off for tests and the API).
    pub progress: bool,
    /// Bounds on lines, columns and fields.
    pub limits: ImportLimits,
}

/// How big a contact list's parts may be (`[import]` in the node's config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLimits {
    /// Longest record, bytes; a longer one stops the import.
    pub max_line_bytes: usize,
    /// Most columns in the header.
    pub max_columns: usize,
    /// Longest field value, bytes; a row with a longer one is rejected.
    pub max_field_bytes: usize,
}

impl Default for ImportLimits {
    fn default() -> Self {
        ImportLimits {
            max_line_bytes: 65_536,
            max_columns: 256,
            max_field_bytes: 4096,
        }
    }
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            phone_column: "phone".into(),
            tz_column: "tz".into(),
            batch_size: 5_000,
            max_errors: 1_000,
            progress: false,
            limits: ImportLimits::default(),
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub imported: u64,
    /// Rows not imported, duplicates included.
    pub rejected: u64,
    /// The first `max_errors` rejected rows, in file order.
    pub errors: Vec<RowError>,
    /// Rows refused because the job already had their phone number.
    pub duplicates: u64,
    #[serde(rename = "elapsed_ms", serialize_with = "millis")]
    pub elapsed: Duration,
}

/// One refused row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// 1-based line of the file where the row starts (the header is line 1).
    pub line: u64,
    #[serde(serialize_with = "display")]
    pub reason: RowProblem,
}

/// Why a row was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RowProblem {
    #[error("bad phone number: {0}")]
    BadPhone(PhoneError),
    #[error("unknown time zone {0:?}")]
    BadTz(String),
    #[error("expected {expected} fields, found {found}")]
    ColumnCount { expected: u64, found: u64 },
    #[error("column {0:?} is not valid UTF-8")]
    InvalidUtf8(String),
    #[error("column {column:?} is longer than {max} bytes (import.max_field_bytes)")]
    FieldTooLong { column: String, max: usize },
    #[error("duplicate phone number: the job already has it")]
    Duplicate,
}

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    #[error("cannot open {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot read the CSV (near line {line}): {source}")]
    Read { line: u64, source: csv::Error },
    #[error("no header row: the file is empty")]
    NoHeader,
    #[error("the header row is not valid UTF-8")]
    HeaderNotUtf8,
    #[error("no {wanted:?} column in the header (columns: {found})")]
    NoPhoneColumn { wanted: String, found: String },
    #[error("column {0:?} appears more than once in the header")]
    DuplicateColumn(String),
    #[error("the header has {found} columns, more than {max} (import.max_columns)")]
    TooManyColumns { found: usize, max: usize },
    #[error("line {line} is longer than {max} bytes (import.max_line_bytes); the rows before it were imported")]
    LineTooLong { line: u64, max: usize },
    #[error("job {0} does not exist")]
    NoSuchJob(JobId),
    #[error("storage failed after {imported} contacts were imported: {source}")]
    Store { imported: u64, source: StoreError },
}

/// Imports the CSV file at `path` into `job`; see [`import_reader`].
pub fn import_csv(
    store: &dyn Store,
    job: JobId,
    path: &Path,
    opts: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let open_err = |source| ImportError::Open {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(open_err)?;
    let len = file.metadata().map_err(open_err)?.len();
    import_inner(store, job, file, Some(len), opts)
}

/// Imports CSV read from `reader` into `job`. Rows go in as `Ready { not_before: 0 }` with
/// ids from `allocate_ids("contact", n)`, committed `opts.batch_size` at a time; a failure
/// after some batches leaves those committed (the error says how many).
pub fn import_reader(
    store: &dyn Store,
    job: JobId,
    reader: impl Read,
    opts: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    import_inner(store, job, reader, None, opts)
}

/// A good row waiting for its batch.
struct Row {
    phone: String,
    tz: Option<String>,
    fields: BTreeMap<String, String>,
}

/// Which columns mean what.
struct Columns {
    names: Vec<String>,
    phone: usize,
    tz: Option<usize>,
}

/// The reading side of an import: rows parsed and checked, batches handed to the committer.
struct Importer<'a> {
    opts: &'a ImportOptions,
    batch: Vec<Row>,
    /// To the committer; fails once it has stopped (a storage error it will report).
    commit: SyncSender<Vec<Row>>,
    /// Phones of the job as numbers: E.164 digits (at most 15, never a leading zero) fit a
    /// `u64` exactly, so this is a lossless key with no collisions, at 8 bytes a phone.
    seen: HashSet<u64>,
    report: ImportReport,
}

fn import_inner(
    store: &dyn Store,
    job: JobId,
    reader: impl Read,
    size: Option<u64>,
    opts: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let started = now();
    let stored = |source| ImportError::Store {
        imported: 0,
        source,
    };
    if store.job(job).map_err(stored)?.is_none() {
        return Err(ImportError::NoSuchJob(job));
    }
    let mut seen = HashSet::new();
    if store.contact_counts(job).map_err(stored)?.total > 0 {
        // A second list for the same job must not bring back phones it already has.
        store
            .for_each_contact(job, &mut |c| {
                if let Some(k) = phone_key(&c.phone) {
                    seen.insert(k);
                }
            })
            .map_err(stored)?;
    }
    // Reading and committing overlap: the committer writes one batch while the next is
    // parsed (storage is most of an import's time, and waits on the disk).
    let (commit, batches) = sync_channel::<Vec<Row>>(1);
    let (read, committed) = std::thread::scope(|scope| {
        let committer = scope.spawn(move || commit_batches(store, job, batches));
        let imp = Importer {
            opts,
            batch: Vec::with_capacity(opts.batch_size.clamp(1, 100_000)),
            commit,
            seen,
            report: ImportReport {
                imported: 0,
                rejected: 0,
                errors: Vec::new(),
                duplicates: 0,
                elapsed: Duration::ZERO,
            },
        };
        let read = read_rows(imp, reader, size);
        let committed = committer.join().unwrap_or_else(|_| {
            Err(ImportError::Store {
                imported: 0,
                source: StoreError::io_failed("the import's commit thread panicked"),
            })
        });
        (read, committed)
    });
    // A storage failure is what stopped the reading, if both failed.
    let imported = committed?;
    let mut report = read?;
    report.imported = imported;
    report.elapsed = now().saturating_duration_since(started);
    Ok(report)
}

/// Parses every row of `reader` into `imp`'s batches; the report without `imported`.
fn read_rows(
    mut imp: Importer<'_>,
    reader: impl Read,
    size: Option<u64>,
) -> Result<ImportReport, ImportError> {
    let opts = imp.opts;
    let tracking = Rc::new(RefCell::new(Tracking {
        newlines: Newlines::default(),
        record: RecordLength::new(opts.limits.max_line_bytes),
    }));
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::Headers)
        .buffer_capacity(64 * 1024)
        .from_reader(LineTracker::new(reader, Rc::clone(&tracking)));
    let too_long = |tracking: &RefCell<Tracking>| {
        tracking
            .borrow()
            .record
            .too_long
            .map(|line| ImportError::LineTooLong {
                line,
                max: opts.limits.max_line_bytes,
            })
    };
    let cols = columns(&mut rdr, opts).map_err(|e| too_long(&tracking).unwrap_or(e))?;
    let bar = progress_bar(opts.progress, size);
    let mut rec = csv::ByteRecord::new();
    let mut rows: u64 = 0;
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                let line = true_line(&tracking, rec.position());
                match parse_row(&rec, &cols, opts.limits.max_field_bytes) {
                    Ok(row) => imp.accept(line, row)?,
                    Err(p) => imp.reject(line, p),
                }
            }
            Err(e) => match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    pos,
                    expected_len,
                    len,
                } => {
                    let line = true_line(&tracking, pos.as_ref());
                    imp.reject(
                        line,
                        RowProblem::ColumnCount {
                            expected: *expected_len,
                            found: *len,
                        },
                    );
                }
                _ => {
                    // The rows before the bad place still go in.
                    imp.flush()?;
                    return Err(too_long(&tracking).unwrap_or(ImportError::Read {
                        line: rdr.position().line(),
                        source: e,
                    }));
                }
            },
        }
        rows += 1;
        if rows.is_multiple_of(4096) {
            bar.set_position(rdr.position().byte());
        }
    }
    imp.flush()?;
    bar.finish_and_clear();
    Ok(imp.report)
}

/// The committing side: each batch, in file order, gets its ids and is committed.
fn commit_batches(
    store: &dyn Store,
    job: JobId,
    batches: Receiver<Vec<Row>>,
) -> Result<u64, ImportError> {
    let mut imported = 0;
    for batch in batches {
        let n = batch.len() as u64;
        let stored = |source| ImportError::Store { imported, source };
        let first = store.allocate_ids("contact", n).map_err(stored)?;
        let writes: Vec<Write> = batch
            .into_iter()
            .zip(first..)
            .map(|(row, id)| Write::Contact {
                contact: Contact {
                    id: ContactId(id),
                    job,
                    phone: row.phone,
                    tz: row.tz,
                    fields: row.fields,
                    attempts: 0,
                    state: ContactState::Ready { not_before: 0 },
                    last_code: None,
                },
                was: None,
            })
            .collect();
        store.commit(&writes).map_err(stored)?;
        imported += n;
    }
    Ok(imported)
}

/// Reads the header row and finds the phone and time-zone columns.
fn columns<R: Read>(
    rdr: &mut csv::Reader<R>,
    opts: &ImportOptions,
) -> Result<Columns, ImportError> {
    let header = rdr
        .byte_headers()
        .map_err(|source| ImportError::Read { line: 1, source })?
        .clone();
    if header.is_empty() {
        return Err(ImportError::NoHeader);
    }
    if header.len() > opts.limits.max_columns {
        return Err(ImportError::TooManyColumns {
            found: header.len(),
            max: opts.limits.max_columns,
        });
    }
    let mut names = Vec::with_capacity(header.len());
    let mut seen = HashSet::with_capacity(header.len());
    for raw in header.iter() {
        let name = std::str::from_utf8(raw).map_err(|_| ImportError::HeaderNotUtf8)?;
        if !name.is_empty() && !seen.insert(name) {
            return Err(ImportError::DuplicateColumn(name.to_owned()));
        }
        names.push(name.to_owned());
    }
    let find = |wanted: &str| -> Result<Option<usize>, ImportError> {
        let wanted = wanted.to_lowercase();
        let mut hits = names
            .iter()
            .enumerate()
            .filter(|(_, n)| n.to_lowercase() == wanted);
        let first = hits.next().map(|(i, _)| i);
        match hits.next() {
            Some((_, n)) => Err(ImportError::DuplicateColumn(n.clone())),
            None => Ok(first),
        }
    };
    let phone = find(&opts.phone_column)?.ok_or_else(|| ImportError::NoPhoneColumn {
        wanted: opts.phone_column.clone(),
        found: names.join(", "),
    })?;
    let tz = find(&opts.tz_column)?.filter(|&i| i != phone);
    Ok(Columns { names, phone, tz })
}

/// Validates one record: phone, zone, UTF-8 of every kept field. Columns with an empty
/// header are dropped (a trailing comma in every line of an export).
fn parse_row(rec: &csv::ByteRecord, cols: &Columns, max_field: usize) -> Result<Row, RowProblem> {
    let text = |i: usize| -> Result<&str, RowProblem> {
        let raw = rec.get(i).unwrap_or_default();
        if raw.len() > max_field {
            return Err(RowProblem::FieldTooLong {
                column: cols.names[i].clone(),
                max: max_field,
            });
        }
        std::str::from_utf8(raw).map_err(|_| RowProblem::InvalidUtf8(cols.names[i].clone()))
    };
    let phone = phone::normalize(text(cols.phone)?).map_err(RowProblem::BadPhone)?;
    let given_tz = match cols.tz {
        Some(i) => text(i)?.trim(),
        None => "",
    };
    let tz = if given_tz.is_empty() {
        phone::tz_for(&phone).map(|t| t.name().to_owned())
    } else {
        let t: Tz = given_tz
            .parse()
            .map_err(|_| RowProblem::BadTz(given_tz.to_owned()))?;
        Some(t.name().to_owned())
    };
    let mut fields = BTreeMap::new();
    for (i, name) in cols.names.iter().enumerate() {
        if i == cols.phone || Some(i) == cols.tz || name.is_empty() {
            continue;
        }
        fields.insert(name.clone(), text(i)?.to_owned());
    }
    Ok(Row { phone, tz, fields })
}

/// The 1-based line a record starts on. The csv crate reports the line where it *began
/// reading* the record, which is before any blank lines it skipped and before the `\n` of a
/// CRLF it had not consumed yet (so every line of a Windows file would be off by one): add the
/// newlines between that point and the record's first byte.
fn true_line(tracking: &RefCell<Tracking>, pos: Option<&csv::Position>) -> u64 {
    match pos {
        Some(p) => p.line() + tracking.borrow_mut().newlines.skipped_at(p.byte()),
        None => 0,
    }
}

/// The phone as its E.164 digits in a `u64` (exact: see `Importer::seen`).
fn phone_key(e164: &str) -> Option<u64> {
    e164.strip_prefix('+')?.parse().ok()
}

impl Importer<'_> {
    fn accept(&mut self, line: u64, row: Row) -> Result<(), ImportError> {
        if let Some(k) = phone_key(&row.phone) {
            if !self.seen.insert(k) {
                self.reject(line, RowProblem::Duplicate);
                return Ok(());
            }
        }
        self.batch.push(row);
        if self.batch.len() >= self.opts.batch_size.max(1) {
            self.flush()?;
        }
        Ok(())
    }

    fn reject(&mut self, line: u64, problem: RowProblem) {
        self.report.rejected += 1;
        if matches!(problem, RowProblem::Duplicate) {
            self.report.duplicates += 1;
        }
        if self.report.errors.len() < self.opts.max_errors {
            self.report.errors.push(RowError {
                line,
                reason: problem,
            });
        }
    }

    /// Hands the batch to the committer. If it has stopped, its error is the import's; this
    /// one only stops the reading.
    fn flush(&mut self) -> Result<(), ImportError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let cap = self.batch.capacity();
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(cap));
        self.commit.send(batch).map_err(|_| ImportError::Store {
            imported: 0,
            source: StoreError::Closed,
        })
    }
}

fn progress_bar(on: bool, size: Option<u64>) -> ProgressBar {
    if !on {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(size, ProgressDrawTarget::stderr());
    let template = if size.is_some() {
        "importing {bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})"
    } else {
        "importing {spinner} {bytes} ({bytes_per_sec})"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

/// Wall-clock start of an import, for the elapsed time in its report only.
#[allow(clippy::disallowed_methods)] // elapsed-time reporting, never a decision input
fn now() -> Instant {
    Instant::now()
}

fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn display<S: Serializer, T: std::fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Job, JobState, SledStore};

    fn setup() -> (tempfile::TempDir, SledStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SledStore::open(dir.path()).expect("open");
        s.commit(&[Write::Job(Job {
            id: JobId(1),
            campaign: outdial_core::domain::CampaignId(1),
            zone: "z".into(),
            state: JobState::Created,
            created_at: 0,
            updated_at: 0,
        })])
        .expect("job");
        (dir, s)
    }

    fn run(s: &SledStore, csv: &[u8]) -> Result<ImportReport, ImportError> {
        import_reader(s, JobId(1), csv, &ImportOptions::default())
    }

    #[test]
    fn phone_keys_are_exact() {
        assert_eq!(phone_key("+123456789012345"), Some(123_456_789_012_345));
        assert_ne!(phone_key("+12345678"), phone_key("+123456780"));
        assert_eq!(phone_key("12345678"), None);
    }

    #[test]
    fn header_problems_are_fatal_with_clear_messages() {
        let (_d, s) = setup();
        assert!(matches!(run(&s, b""), Err(ImportError::NoHeader)));
        let e = run(&s, b"name,number\nA,+12125550100\n").expect_err("no phone column");
        assert_eq!(
            e.to_string(),
            "no \"phone\" column in the header (columns: name, number)"
        );
        assert!(matches!(
            run(&s, b"phone,PHONE\n"),
            Err(ImportError::DuplicateColumn(_))
        ));
        assert!(
            matches!(run(&s, b"phone,a,a\n"), Err(ImportError::DuplicateColumn(c)) if c == "a")
        );
        assert!(matches!(
            run(&s, b"phone,\xff\n"),
            Err(ImportError::HeaderNotUtf8)
        ));
        let e = import_reader(&s, JobId(2), &b"phone\n"[..], &ImportOptions::default())
            .expect_err("job");
        assert!(matches!(e, ImportError::NoSuchJob(JobId(2))));
    }

    #[test]
    fn columns_match_case_insensitively_and_keep_the_rest() {
        let (_d, s) = setup();
        let opts = ImportOptions {
            phone_column: "Mobile".into(),
            ..ImportOptions::default()
        };
        let csv = "\u{feff}Name , MOBILE,TZ,\nAda,+44 20 7946 0958,,x\nBob,+1 212 555 0100,America/Chicago,y\n";
        let r = import_reader(&s, JobId(1), csv.as_bytes(), &opts).expect("import");
        assert_eq!((r.imported, r.rejected), (2, 0), "{r:?}");
        let due = s.due_contacts(JobId(1), 0, 10).expect("due");
        assert_eq!(due[0].phone, "+442079460958");
        assert_eq!(due[0].tz.as_deref(), Some("Europe/London"));
        assert_eq!(due[0].fields.get("Name").map(String::as_str), Some("Ada"));
        assert_eq!(
            due[0].fields.len(),
            1,
            "the empty-named column is dropped: {:?}",
            due[0].fields
        );
        assert_eq!(
            due[1].tz.as_deref(),
            Some("America/Chicago"),
            "a given zone wins over inference"
        );
    }

    #[test]
    fn a_second_list_does_not_bring_back_known_phones() {
        let (_d, s) = setup();
        run(&s, b"phone\n+12125550100\n+12125550101\n").expect("first");
        let r = run(&s, b"phone\n+1 212 555 0101\n+12125550102\n").expect("second");
        assert_eq!((r.imported, r.duplicates), (1, 1));
        assert_eq!(r.errors[0].line, 2);
        assert_eq!(s.contact_counts(JobId(1)).expect("counts").total, 3);
    }

    #[test]
    fn errors_beyond_the_cap_are_counted() {
        let (_d, s) = setup();
        let opts = ImportOptions {
            max_errors: 3,
            ..ImportOptions::default()
        };
        let csv: String = std::iter::once("phone\n".to_string())
            .chain((0..10).map(|i| format!("bad{i}\n")))
            .collect();
        let r = import_reader(&s, JobId(1), csv.as_bytes(), &opts).expect("import");
        assert_eq!((r.rejected, r.errors.len()), (10, 3));
        assert_eq!(
            r.errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
    }

    #[test]
    fn line_numbers_survive_blank_lines_crlf_and_quoted_newlines() {
        let (_d, s) = setup();
        for csv in [
            &b"phone\nbad1\n\nbad2\n\"bad\n3\"\n\n\nbad4"[..],
            b"phone\r\nbad1\r\n\r\nbad2\r\n\"bad\r\n3\"\r\n\r\n\r\nbad4\r\n",
        ] {
            let r = run(&s, csv).expect("import");
            let lines: Vec<u64> = r.errors.iter().map(|e| e.line).collect();
            assert_eq!(
                lines,
                vec![2, 4, 5, 9],
                "{:?}",
                String::from_utf8_lossy(csv)
            );
        }
    }

    #[test]
    fn progress_bar_and_tiny_batches_change_nothing() {
        let (_d, s) = setup();
        let opts = ImportOptions {
            progress: true,
            batch_size: 0,
            ..ImportOptions::default()
        };
        let csv = b"phone\n+12125550100\n+12125550101\n+12125550102\n";
        let r = import_reader(&s, JobId(1), &csv[..], &opts).expect("import");
        assert_eq!((r.imported, r.rejected), (3, 0));
        let ids: Vec<u64> = s
            .due_contacts(JobId(1), 0, 10)
            .expect("due")
            .iter()
            .map(|c| c.id.0)
            .collect();
        assert_eq!(ids.len(), 3);
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "ids in file order: {ids:?}"
        );
    }

    #[test]
    fn hostile_files_are_bounded() {
        let (_d, s) = setup();
        // 80,000 columns: a header longer than a line may be, and more columns than allowed;
        // with both limits raised, the duplicate check is a set, not every pair of names.
        let wide: String = (0..80_000).map(|i| format!("c{i},")).collect::<String>() + "phone\n";
        let e = run(&s, wide.as_bytes()).expect_err("too long");
        assert!(matches!(e, ImportError::LineTooLong { line: 1, .. }), "{e}");
        let with = |max_line_bytes, max_columns| ImportOptions {
            limits: ImportLimits {
                max_line_bytes,
                max_columns,
                ..ImportLimits::default()
            },
            ..ImportOptions::default()
        };
        let e =
            import_reader(&s, JobId(1), wide.as_bytes(), &with(16 << 20, 256)).expect_err("wide");
        assert!(
            matches!(
                e,
                ImportError::TooManyColumns {
                    found: 80_001,
                    max: 256
                }
            ),
            "{e}"
        );
        let dup = wide.replace("c79999,", "c0,");
        let e = import_reader(&s, JobId(1), dup.as_bytes(), &with(16 << 20, 100_000))
            .expect_err("duplicate");
        assert!(
            matches!(e, ImportError::DuplicateColumn(ref c) if c == "c0"),
            "{e}"
        );
        // Millions of newlines: nothing to import, nothing kept per newline.
        let mut blank = b"phone\n".to_vec();
        blank.extend(std::iter::repeat_n(b'\n', 4 << 20));
        blank.extend_from_slice(b"+12125550100\n");
        let r = run(&s, &blank).expect("newlines");
        assert_eq!(r.imported, 1, "{r:?}");
        // A record past the line limit stops the import, naming its line; rows before stay.
        let mut long = b"phone,notes\n+12125550101,ok\n+12125550102,".to_vec();
        long.extend(std::iter::repeat_n(b'x', 100_000));
        let e = run(&s, &long).expect_err("too long");
        assert!(
            matches!(
                e,
                ImportError::LineTooLong {
                    line: 3,
                    max: 65_536
                }
            ),
            "{e}"
        );
        assert_eq!(
            s.contact_counts(JobId(1)).expect("counts").total,
            2,
            "the row before it"
        );
        // A field past its limit rejects its row only.
        let csv = format!(
            "phone,notes\n+12125550103,{}\n+12125550104,ok\n",
            "y".repeat(5000)
        );
        let r = run(&s, csv.as_bytes()).expect("import");
        assert_eq!((r.imported, r.rejected), (1, 1), "{r:?}");
        assert!(
            r.errors[0].reason.to_string().contains("max_field_bytes"),
            "{r:?}"
        );
    }

    #[test]
    fn report_serialises_reasons_as_text() {
        let e = RowError {
            line: 7,
            reason: RowProblem::BadTz("Mars/Olympus".into()),
        };
        let j = serde_json::to_string(&e).expect("json");
        assert_eq!(
            j,
            r#"{"line":7,"reason":"unknown time zone \"Mars/Olympus\""}"#
        );
    }
}
