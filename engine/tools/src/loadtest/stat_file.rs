//! Run counters in SIPp's shape: response times with their repartition buckets, and the
//! `-trace_stat` file (`--stats-csv`): SIPp's header, `;`-separated, periodic (P) and
//! cumulative (C) columns, so plotting scripts written for SIPp's stat files read ours.
//!
//! Pure formatting: the shell hands in wall-clock microseconds and counter snapshots.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

/// SIPp's default `<ResponseTimeRepartition>` bounds, ms (its built-in UAC's).
pub const RTD_BOUNDS_MS: [u64; 8] = [10, 20, 30, 40, 50, 100, 150, 200];
/// SIPp's default `<CallLengthRepartition>` bounds, ms.
pub const CALL_LENGTH_BOUNDS_MS: [u64; 7] = [10, 50, 100, 500, 1000, 5000, 10000];

/// Durations seen so far: count, sums for the mean and deviation, and buckets.
#[derive(Debug, Clone, PartialEq)]
pub struct Timing {
    pub count: u64,
    sum_ms: f64,
    sum_sq_ms: f64,
    bounds_ms: Vec<u64>,
    /// One per bound (`< bound`), then one for `>=` the last.
    buckets: Vec<u64>,
}

/// One repartition bucket of the JSON report: `"<10"` … `">=200"` (ms) and its count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    pub ms: String,
    pub count: u64,
}

impl Timing {
    pub fn new(bounds_ms: &[u64]) -> Self {
        Self {
            count: 0,
            sum_ms: 0.0,
            sum_sq_ms: 0.0,
            bounds_ms: bounds_ms.to_vec(),
            buckets: vec![0; bounds_ms.len() + 1],
        }
    }

    pub fn record(&mut self, d: Duration) {
        let ms = d.as_secs_f64() * 1000.0;
        self.count += 1;
        self.sum_ms += ms;
        self.sum_sq_ms += ms * ms;
        let whole = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let i = self.bounds_ms.partition_point(|b| *b <= whole);
        if let Some(b) = self.buckets.get_mut(i) {
            *b += 1;
        }
    }

    /// Adds another run's timings with the same bounds (the sockets of a `--threads` run).
    pub fn merge(&mut self, other: &Timing) {
        if other.bounds_ms != self.bounds_ms {
            return;
        }
        self.count += other.count;
        self.sum_ms += other.sum_ms;
        self.sum_sq_ms += other.sum_sq_ms;
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
    }

    fn mean_ms(count: u64, sum: f64) -> f64 {
        if count == 0 {
            0.0
        } else {
            sum / count as f64
        }
    }

    fn stdev_ms(count: u64, sum: f64, sum_sq: f64) -> f64 {
        if count == 0 {
            return 0.0;
        }
        let mean = sum / count as f64;
        (sum_sq / count as f64 - mean * mean).max(0.0).sqrt()
    }

    /// The buckets labelled as SIPp's stat file names them (`<10`, …, `>=200`).
    pub fn repartition(&self) -> Vec<Bucket> {
        let last = self.bounds_ms.last().copied().unwrap_or(0);
        self.buckets
            .iter()
            .enumerate()
            .map(|(i, n)| Bucket {
                ms: match self.bounds_ms.get(i) {
                    Some(b) => format!("<{b}"),
                    None => format!(">={last}"),
                },
                count: *n,
            })
            .collect()
    }
}

/// A cumulative snapshot of the run, as both call shapes count it.
#[derive(Debug, Clone, PartialEq)]
pub struct Counters {
    pub target_rate: f64,
    pub created: u64,
    pub current: u64,
    pub successful: u64,
    /// Failed calls by reason: a status code or a failure's key (`timeout`, `recv-timeout`…).
    pub failed: BTreeMap<String, u64>,
    pub retransmissions: u64,
    pub out_of_call: u64,
    pub dead_call: u64,
    pub warnings: u64,
    /// Response times by name (`"1"` for the fixed shape's INVITE → 2xx).
    pub response_times: Vec<(String, Timing)>,
    pub call_length: Timing,
}

impl Counters {
    pub fn failed_total(&self) -> u64 {
        self.failed.values().sum()
    }
}

/// SIPp's failure columns, in its order.
const FAILURES: [&str; 17] = [
    "FailedCannotSendMessage",
    "FailedMaxUDPRetrans",
    "FailedTcpConnect",
    "FailedTcpClosed",
    "FailedUnexpectedMessage",
    "FailedCallRejected",
    "FailedCmdNotSent",
    "FailedRegexpDoesntMatch",
    "FailedRegexpShouldntMatch",
    "FailedRegexpHdrNotFound",
    "FailedOutboundCongestion",
    "FailedTimeoutOnRecv",
    "FailedTimeoutOnSend",
    "FailedTestDoesntMatch",
    "FailedTestShouldntMatch",
    "FailedStrcmpDoesntMatch",
    "FailedStrcmpShouldntMatch",
];

/// Which of SIPp's failure columns a failure reason counts in (none: only in FailedCall).
fn failure_column(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "timeout" | "max-retransmissions" => "FailedMaxUDPRetrans",
        "recv-timeout" | "ring-timeout" => "FailedTimeoutOnRecv",
        "503-backoff" => "FailedOutboundCongestion",
        "regexp-mismatch" => "FailedRegexpDoesntMatch",
        "regexp-should-not-match" => "FailedRegexpShouldntMatch",
        "regexp-header-missing" => "FailedRegexpHdrNotFound",
        "test-failed" => "FailedTestDoesntMatch",
        "strcmp-failed" => "FailedStrcmpDoesntMatch",
        r if r.starts_with("unexpected-") || r.bytes().all(|b| b.is_ascii_digit()) => {
            "FailedUnexpectedMessage"
        }
        _ => return None,
    })
}

fn failures_in(c: &Counters, column: &str) -> u64 {
    c.failed
        .iter()
        .filter(|(r, _)| failure_column(r) == Some(column))
        .map(|(_, n)| n)
        .sum()
}

/// The stat file's header line for these counters' response-time names and bounds.
pub fn header(c: &Counters) -> String {
    let mut h = String::from(
        "StartTime;LastResetTime;CurrentTime;ElapsedTime(P);ElapsedTime(C);TargetRate;\
         CallRate(P);CallRate(C);IncomingCall(P);IncomingCall(C);OutgoingCall(P);OutgoingCall(C);\
         TotalCallCreated;CurrentCall;SuccessfulCall(P);SuccessfulCall(C);FailedCall(P);FailedCall(C);",
    );
    let pc = |h: &mut String, name: &str| {
        let _ = write!(h, "{name}(P);{name}(C);");
    };
    for f in FAILURES {
        pc(&mut h, f);
    }
    for name in [
        "OutOfCallMsgs",
        "DeadCallMsgs",
        "Retransmissions",
        "AutoAnswered",
        "Warnings",
        "FatalErrors",
        "WatchdogMajor",
        "WatchdogMinor",
    ] {
        pc(&mut h, name);
    }
    for (name, _) in &c.response_times {
        pc(&mut h, &format!("ResponseTime{name}"));
        pc(&mut h, &format!("ResponseTime{name}StDev"));
    }
    pc(&mut h, "CallLength");
    pc(&mut h, "CallLengthStDev");
    let buckets = |h: &mut String, name: &str, t: &Timing| {
        h.push_str(name);
        h.push(';');
        for b in t.repartition() {
            let _ = write!(h, "{name}_{};", b.ms);
        }
    };
    for (name, t) in &c.response_times {
        buckets(&mut h, &format!("ResponseTimeRepartition{name}"), t);
    }
    buckets(&mut h, "CallLengthRepartition", &c.call_length);
    h
}

/// Wall-clock microseconds since the Unix epoch as SIPp writes a date: local date, time and
/// epoch seconds separated by tabs (here in UTC).
fn date(unix_us: u64) -> String {
    let secs = i64::try_from(unix_us / 1_000_000).unwrap_or(0);
    let us = unix_us % 1_000_000;
    let t = chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default();
    format!("{}.{us:06}\t{secs}.{us:06}", t.format("%Y-%m-%d\t%H:%M:%S"))
}

/// `HH:MM:SS`, SIPp's elapsed time.
fn hms(us: u64) -> String {
    let s = us / 1_000_000;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// `HH:MM:SS:uuuuuu`, SIPp's response times.
fn hms_us(ms: f64) -> String {
    let us = (ms.max(0.0) * 1000.0).round() as u64;
    format!("{}:{:06}", hms(us), us % 1_000_000)
}

/// Wall-clock times of one stat line, µs since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    pub start: u64,
    pub last_reset: u64,
    pub now: u64,
}

/// One stat line: `prev` is the snapshot at the last line (the period's start), `cur` now.
pub fn row(t: Times, prev: &Counters, cur: &Counters) -> String {
    let period = t.now.saturating_sub(t.last_reset);
    let total = t.now.saturating_sub(t.start);
    let per_s = |n: u64, us: u64| {
        if us == 0 {
            0.0
        } else {
            n as f64 * 1e6 / us as f64
        }
    };
    let mut r = format!(
        "{};{};{};{};{};{};",
        date(t.start),
        date(t.last_reset),
        date(t.now),
        hms(period),
        hms(total),
        cur.target_rate
    );
    let d = |a: u64, b: u64| a.saturating_sub(b);
    let created_p = d(cur.created, prev.created);
    let _ = write!(
        r,
        "{};{};0;0;{created_p};{};{};{};{};{};{};{};",
        per_s(created_p, period),
        per_s(cur.created, total),
        cur.created,
        cur.created,
        cur.current,
        d(cur.successful, prev.successful),
        cur.successful,
        d(cur.failed_total(), prev.failed_total()),
        cur.failed_total(),
    );
    for f in FAILURES {
        let (p, c) = (failures_in(prev, f), failures_in(cur, f));
        let _ = write!(r, "{};{c};", d(c, p));
    }
    for (p, c) in [
        (prev.out_of_call, cur.out_of_call),
        (prev.dead_call, cur.dead_call),
        (prev.retransmissions, cur.retransmissions),
        (0, 0),
        (prev.warnings, cur.warnings),
        (0, 0),
        (0, 0),
        (0, 0),
    ] {
        let _ = write!(r, "{};{c};", d(c, p));
    }
    let timing = |r: &mut String, p: Option<&Timing>, c: &Timing| {
        let (pn, ps, pq) = p.map_or((0, 0.0, 0.0), |p| (p.count, p.sum_ms, p.sum_sq_ms));
        let (n, s, q) = (d(c.count, pn), c.sum_ms - ps, c.sum_sq_ms - pq);
        let _ = write!(
            r,
            "{};{};{};{};",
            hms_us(Timing::mean_ms(n, s)),
            hms_us(Timing::mean_ms(c.count, c.sum_ms)),
            hms_us(Timing::stdev_ms(n, s, q)),
            hms_us(Timing::stdev_ms(c.count, c.sum_ms, c.sum_sq_ms)),
        );
    };
    for (i, (_, c)) in cur.response_times.iter().enumerate() {
        timing(&mut r, prev.response_times.get(i).map(|(_, t)| t), c);
    }
    timing(&mut r, Some(&prev.call_length), &cur.call_length);
    for t in cur
        .response_times
        .iter()
        .map(|(_, t)| t)
        .chain([&cur.call_length])
    {
        r.push(';');
        for b in &t.buckets {
            let _ = write!(r, "{b};");
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters() -> Counters {
        Counters {
            target_rate: 10.0,
            created: 0,
            current: 0,
            successful: 0,
            failed: BTreeMap::new(),
            retransmissions: 0,
            out_of_call: 0,
            dead_call: 0,
            warnings: 0,
            response_times: vec![("1".into(), Timing::new(&RTD_BOUNDS_MS))],
            call_length: Timing::new(&CALL_LENGTH_BOUNDS_MS),
        }
    }

    /// SIPp 3.6.1's header for its built-in UAC (one rtd), as `sipp -trace_stat` wrote it.
    const SIPP_UAC_HEADER: &str = "StartTime;LastResetTime;CurrentTime;ElapsedTime(P);ElapsedTime(C);TargetRate;CallRate(P);CallRate(C);IncomingCall(P);IncomingCall(C);OutgoingCall(P);OutgoingCall(C);TotalCallCreated;CurrentCall;SuccessfulCall(P);SuccessfulCall(C);FailedCall(P);FailedCall(C);FailedCannotSendMessage(P);FailedCannotSendMessage(C);FailedMaxUDPRetrans(P);FailedMaxUDPRetrans(C);FailedTcpConnect(P);FailedTcpConnect(C);FailedTcpClosed(P);FailedTcpClosed(C);FailedUnexpectedMessage(P);FailedUnexpectedMessage(C);FailedCallRejected(P);FailedCallRejected(C);FailedCmdNotSent(P);FailedCmdNotSent(C);FailedRegexpDoesntMatch(P);FailedRegexpDoesntMatch(C);FailedRegexpShouldntMatch(P);FailedRegexpShouldntMatch(C);FailedRegexpHdrNotFound(P);FailedRegexpHdrNotFound(C);FailedOutboundCongestion(P);FailedOutboundCongestion(C);FailedTimeoutOnRecv(P);FailedTimeoutOnRecv(C);FailedTimeoutOnSend(P);FailedTimeoutOnSend(C);FailedTestDoesntMatch(P);FailedTestDoesntMatch(C);FailedTestShouldntMatch(P);FailedTestShouldntMatch(C);FailedStrcmpDoesntMatch(P);FailedStrcmpDoesntMatch(C);FailedStrcmpShouldntMatch(P);FailedStrcmpShouldntMatch(C);OutOfCallMsgs(P);OutOfCallMsgs(C);DeadCallMsgs(P);DeadCallMsgs(C);Retransmissions(P);Retransmissions(C);AutoAnswered(P);AutoAnswered(C);Warnings(P);Warnings(C);FatalErrors(P);FatalErrors(C);WatchdogMajor(P);WatchdogMajor(C);WatchdogMinor(P);WatchdogMinor(C);ResponseTime1(P);ResponseTime1(C);ResponseTime1StDev(P);ResponseTime1StDev(C);CallLength(P);CallLength(C);CallLengthStDev(P);CallLengthStDev(C);ResponseTimeRepartition1;ResponseTimeRepartition1_<10;ResponseTimeRepartition1_<20;ResponseTimeRepartition1_<30;ResponseTimeRepartition1_<40;ResponseTimeRepartition1_<50;ResponseTimeRepartition1_<100;ResponseTimeRepartition1_<150;ResponseTimeRepartition1_<200;ResponseTimeRepartition1_>=200;CallLengthRepartition;CallLengthRepartition_<10;CallLengthRepartition_<50;CallLengthRepartition_<100;CallLengthRepartition_<500;CallLengthRepartition_<1000;CallLengthRepartition_<5000;CallLengthRepartition_<10000;CallLengthRepartition_>=10000;";

    #[test]
    fn the_header_is_sipps() {
        assert_eq!(header(&counters()), SIPP_UAC_HEADER);
    }

    #[test]
    fn buckets_split_at_their_bounds() {
        let mut t = Timing::new(&RTD_BOUNDS_MS);
        for ms in [0, 9, 10, 199, 200, 5000] {
            t.record(Duration::from_millis(ms));
        }
        let counts: Vec<u64> = t.repartition().iter().map(|b| b.count).collect();
        assert_eq!(counts, vec![2, 1, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(t.repartition()[8].ms, ">=200");
    }

    #[test]
    fn a_row_has_a_value_per_column_with_period_and_cumulative_counts() {
        let prev = counters();
        let mut cur = counters();
        cur.created = 20;
        cur.current = 2;
        cur.successful = 17;
        cur.failed.insert("timeout".into(), 1);
        cur.retransmissions = 3;
        cur.response_times[0].1.record(Duration::from_millis(4));
        cur.response_times[0].1.record(Duration::from_millis(8));
        let t = Times {
            start: 1_796_694_702_653_195,
            last_reset: 1_796_694_702_653_195,
            now: 1_796_694_704_653_195,
        };
        let line = row(t, &prev, &cur);
        let cols: Vec<&str> = line.split(';').collect();
        let names: Vec<&str> = SIPP_UAC_HEADER.split(';').collect();
        assert_eq!(cols.len(), names.len());
        let col = |n: &str| cols[names.iter().position(|x| *x == n).expect(n)];
        assert_eq!(
            col("StartTime"),
            "2026-12-08\t01:51:42.653195\t1796694702.653195"
        );
        assert_eq!(col("ElapsedTime(C)"), "00:00:02");
        assert_eq!(col("CallRate(P)"), "10");
        assert_eq!(col("SuccessfulCall(C)"), "17");
        assert_eq!(col("FailedCall(P)"), "1");
        assert_eq!(col("FailedMaxUDPRetrans(C)"), "1");
        assert_eq!(col("Retransmissions(P)"), "3");
        assert_eq!(col("ResponseTime1(C)"), "00:00:00:006000");
        assert_eq!(col("ResponseTime1StDev(C)"), "00:00:00:002000");
        assert_eq!(col("ResponseTimeRepartition1_<10"), "2");
        assert_eq!(col("ResponseTimeRepartition1"), "");
        // The next period starts from this line: nothing new, nothing in (P).
        let later = Times {
            last_reset: t.now,
            now: t.now + 1_000_000,
            ..t
        };
        let line = row(later, &cur, &cur);
        let cols: Vec<&str> = line.split(';').collect();
        let col = |n: &str| cols[names.iter().position(|x| *x == n).expect(n)];
        assert_eq!((col("FailedCall(P)"), col("FailedCall(C)")), ("0", "1"));
        assert_eq!(col("ResponseTime1(P)"), "00:00:00:000000");
    }

    #[test]
    fn failure_reasons_land_in_sipps_columns() {
        assert_eq!(failure_column("486"), Some("FailedUnexpectedMessage"));
        assert_eq!(
            failure_column("unexpected-BYE"),
            Some("FailedUnexpectedMessage")
        );
        assert_eq!(failure_column("recv-timeout"), Some("FailedTimeoutOnRecv"));
        assert_eq!(failure_column("looping"), None);
    }
}
