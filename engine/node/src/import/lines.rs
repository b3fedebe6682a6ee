//! What the importer watches in the bytes under the CSV reader: where the newlines are (for
//! the true line of each record) and how long the record being read has grown (to stop a
//! hostile file before it grows one record without end). Both are bounded: newlines are kept
//! as one entry per run of CR/LF bytes (64 MiB of newlines is one entry), and only those of
//! the reader's read-ahead window and the current record.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::rc::Rc;

/// One run of CR/LF bytes.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: u64,
    /// One past its last byte.
    end: u64,
    /// Bit i set: byte `start + i` is `\n` (the first 64 bytes).
    lf_mask: u64,
    /// Its `\n` bytes, in all.
    lf: u64,
}

/// Where the `\n` bytes are, for [`Newlines::skipped_at`].
#[derive(Debug, Default)]
pub(super) struct Newlines {
    offset: u64,
    in_run: bool,
    runs: VecDeque<Run>,
}

impl Newlines {
    fn byte(&mut self, b: u8) {
        if b == b'\n' || b == b'\r' {
            if !self.in_run {
                self.runs.push_back(Run {
                    start: self.offset,
                    end: self.offset,
                    lf_mask: 0,
                    lf: 0,
                });
                self.in_run = true;
            }
            if let Some(run) = self.runs.back_mut() {
                run.end = self.offset + 1;
                if b == b'\n' {
                    let rel = self.offset - run.start;
                    if rel < 64 {
                        run.lf_mask |= 1 << rel;
                    }
                    run.lf += 1;
                }
            }
        } else {
            self.in_run = false;
        }
        self.offset += 1;
    }

    /// How many `\n` lie between byte `at` and the first byte after it that is neither CR
    /// nor LF: the blank lines (and pending CRLF half) in front of a record read from `at`.
    /// Runs that end before `at` are dropped: the reader never goes back.
    pub(super) fn skipped_at(&mut self, at: u64) -> u64 {
        while self.runs.front().is_some_and(|r| r.end <= at) {
            self.runs.pop_front();
        }
        match self.runs.front() {
            Some(r) if r.start <= at => {
                let before = at - r.start;
                let lf_before = if before < 64 {
                    u64::from((r.lf_mask & ((1u64 << before) - 1)).count_ones())
                } else {
                    u64::from(r.lf_mask.count_ones()) + (before - 64)
                };
                r.lf.saturating_sub(lf_before)
            }
            _ => 0,
        }
    }

    /// Runs kept now (for tests of the bound).
    #[cfg(test)]
    pub(super) fn runs(&self) -> usize {
        self.runs.len()
    }
}

/// Where a CSV record is, as the csv crate's reader sees quotes and terminators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Before a record: CR/LF here are blank lines.
    RecordStart,
    FieldStart,
    Unquoted,
    Quoted,
    /// A `"` inside quotes: the end of the quotes, or the first half of `""`.
    QuoteInQuoted,
}

/// The length of the record being read, against the limit.
#[derive(Debug)]
pub(super) struct RecordLength {
    max: usize,
    state: Place,
    len: usize,
    /// `\n` seen so far, and the line the current record started on.
    lf: u64,
    line: u64,
    /// The line of a record over the limit, once one is met.
    pub(super) too_long: Option<u64>,
}

impl RecordLength {
    pub(super) fn new(max: usize) -> Self {
        RecordLength {
            max,
            state: Place::RecordStart,
            len: 0,
            lf: 0,
            line: 1,
            too_long: None,
        }
    }

    /// False once the record under way is longer than the limit.
    fn byte(&mut self, b: u8) -> bool {
        use Place::*;
        let newline = b == b'\n' || b == b'\r';
        if b == b'\n' {
            self.lf += 1;
        }
        self.state = match (self.state, b) {
            (RecordStart, _) if newline => return true,
            (RecordStart, _) => {
                self.line = self.lf + 1;
                self.len = 0;
                match b {
                    b'"' => Quoted,
                    b',' => FieldStart,
                    _ => Unquoted,
                }
            }
            (FieldStart, b'"') => Quoted,
            (FieldStart | Unquoted | QuoteInQuoted, b',') => FieldStart,
            (FieldStart | Unquoted | QuoteInQuoted, _) if newline => {
                self.state = RecordStart;
                return true;
            }
            (Quoted, b'"') => QuoteInQuoted,
            (Quoted, _) => Quoted,
            (QuoteInQuoted, b'"') => Quoted,
            _ => Unquoted,
        };
        self.len += 1;
        if self.len > self.max {
            self.too_long = Some(self.line);
            return false;
        }
        true
    }
}

/// What the reader under the CSV reader tracks.
#[derive(Debug)]
pub(super) struct Tracking {
    pub(super) newlines: Newlines,
    pub(super) record: RecordLength,
}

/// A reader that shows every byte the csv reader pulls through it to a [`Tracking`], and
/// fails once a record is over its limit.
pub(super) struct LineTracker<R> {
    inner: R,
    tracking: Rc<RefCell<Tracking>>,
}

impl<R> LineTracker<R> {
    pub(super) fn new(inner: R, tracking: Rc<RefCell<Tracking>>) -> Self {
        LineTracker { inner, tracking }
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut t = self.tracking.borrow_mut();
        for &b in &buf[..n.min(buf.len())] {
            t.newlines.byte(b);
            if !t.record.byte(b) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a CSV record is over import.max_line_bytes",
                ));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn newlines(bytes: &[u8]) -> Newlines {
        let mut n = Newlines::default();
        for &b in bytes {
            n.byte(b);
        }
        n
    }

    #[test]
    fn a_run_of_newlines_is_one_entry_and_counts_from_inside() {
        let mut n = newlines(&[b"a".as_slice(), &[b'\n'; 1 << 20], b"b"].concat());
        assert_eq!(n.runs(), 1);
        assert_eq!(n.skipped_at(1), 1 << 20);
        assert_eq!(n.skipped_at(2), (1 << 20) - 1);
        let mut n = newlines(b"x\r\n\r\ny");
        assert_eq!(n.skipped_at(1), 2, "from the CR");
        assert_eq!(n.skipped_at(2), 2, "from the pending LF");
        assert_eq!(n.skipped_at(3), 1);
        assert_eq!(n.skipped_at(5), 0, "past the run");
        assert_eq!(n.runs(), 0);
    }

    fn record_length(bytes: &[u8], max: usize) -> Option<u64> {
        let mut r = RecordLength::new(max);
        bytes.iter().all(|&b| r.byte(b));
        r.too_long
    }

    #[test]
    fn records_are_measured_as_the_csv_reader_splits_them() {
        assert_eq!(record_length(b"phone\n12345\n1234567\n", 7), None);
        assert_eq!(record_length(b"phone\n12345\n12345678\n", 7), Some(3));
        // Blank lines before a record are not part of it; the line is where it starts.
        assert_eq!(record_length(b"a\n\n\n\n\n12345678", 7), Some(6));
        assert_eq!(record_length(&[b'\n'; 10_000], 7), None);
        // A quoted field's newlines are the record's own.
        assert_eq!(record_length(b"\"a\n\n\n\n\nb\"", 7), Some(1));
        assert_eq!(
            record_length(b"\"a\"\"b\",c\nxx", 9),
            None,
            "an escaped quote"
        );
        assert_eq!(
            record_length(b"\"a\"\"\nb\",c\nxx", 7),
            Some(1),
            "still quoted after an escaped quote"
        );
        // A quote inside an unquoted field is a plain byte: the record ends at its newline.
        assert_eq!(record_length(b"ab\"c\nabcdef\n", 7), None);
    }
}
