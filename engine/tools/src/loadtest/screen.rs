//! What the operator sees while a run goes: a full screen redrawn each second when stderr is a
//! terminal (calls, rate, retransmissions, responses, a latency histogram), one progress line
//! otherwise. Pure text from a counter snapshot.

use std::fmt::Write as _;
use std::time::Duration;

use super::stat_file::Counters;

/// Everything one frame shows.
#[derive(Debug)]
pub struct Frame<'a> {
    pub elapsed: Duration,
    pub calls: u64,
    pub counters: &'a Counters,
    /// Calls started per second over the last screen period.
    pub recent_rate: f64,
    /// Messages by kind (`200`, `INVITE`, `recv 180` …) with counts.
    pub messages: &'a [(String, u64)],
    pub control: Option<std::net::SocketAddr>,
}

/// The one-line progress for a log or a pipe.
pub fn line(f: &Frame<'_>) -> String {
    let c = f.counters;
    format!(
        "[{:>6.1}s] started {}/{}  successful {}  failed {}  live {}  rate {:.0}/{:.0} cps   ",
        f.elapsed.as_secs_f64(),
        c.created,
        f.calls,
        c.successful,
        c.failed_total(),
        c.current,
        f.recent_rate,
        c.target_rate,
    )
}

const BAR: usize = 40;

/// The full screen (without the clear-screen escape; the shell adds it).
pub fn screen(f: &Frame<'_>) -> String {
    let c = f.counters;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "outdial loadtest   {:>8.1} s   target {:.1} cps   actual {:.1} cps",
        f.elapsed.as_secs_f64(),
        c.target_rate,
        f.recent_rate
    );
    if let Some(a) = f.control {
        let _ = writeln!(
            s,
            "control: udp {a} (rate N | rate +N | rate -N | stop | stats)"
        );
    }
    let _ = writeln!(
        s,
        "\ncalls    started {:>9} / {}   live {:>7}\n         successful {:>6}   failed {:>7}   retransmissions {}",
        c.created,
        f.calls,
        c.current,
        c.successful,
        c.failed_total(),
        c.retransmissions
    );
    for (reason, n) in &c.failed {
        let _ = writeln!(s, "         failed {reason:<22} {n:>9}");
    }
    if !f.messages.is_empty() {
        s.push_str("\nmessages\n");
        for (what, n) in f.messages {
            let _ = writeln!(s, "  {what:<28} {n:>10}");
        }
    }
    for (name, t) in &c.response_times {
        let _ = writeln!(s, "\nresponse time {name} (ms)");
        let buckets = t.repartition();
        let top = buckets.iter().map(|b| b.count).max().unwrap_or(0).max(1);
        for b in &buckets {
            let width = (b.count as f64 / top as f64 * BAR as f64).round() as usize;
            let _ = writeln!(s, "  {:>7} {:>10} {}", b.ms, b.count, "#".repeat(width));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadtest::stat_file::{Timing, CALL_LENGTH_BOUNDS_MS, RTD_BOUNDS_MS};
    use std::collections::BTreeMap;

    fn counters() -> Counters {
        let mut rt = Timing::new(&RTD_BOUNDS_MS);
        for ms in [1, 2, 3, 15, 500] {
            rt.record(Duration::from_millis(ms));
        }
        Counters {
            target_rate: 100.0,
            created: 50,
            current: 3,
            successful: 45,
            failed: BTreeMap::from([("486".to_owned(), 2)]),
            retransmissions: 7,
            out_of_call: 0,
            dead_call: 0,
            warnings: 0,
            response_times: vec![("1".into(), rt)],
            call_length: Timing::new(&CALL_LENGTH_BOUNDS_MS),
        }
    }

    #[test]
    fn the_screen_shows_calls_rates_failures_messages_and_a_histogram() {
        let c = counters();
        let msgs = vec![("INVITE sent".to_owned(), 50)];
        let f = Frame {
            elapsed: Duration::from_secs(2),
            calls: 100,
            counters: &c,
            recent_rate: 99.0,
            messages: &msgs,
            control: None,
        };
        let s = screen(&f);
        assert!(s.contains("target 100.0 cps   actual 99.0 cps"), "{s}");
        assert!(s.contains("retransmissions 7"), "{s}");
        assert!(s.contains("failed 486"), "{s}");
        assert!(s.contains("INVITE sent"), "{s}");
        // Three of five under 10 ms: the longest bar; one at >=200.
        let full = format!("      <10          3 {}", "#".repeat(BAR));
        assert!(s.contains(&full), "{s}");
        assert!(s.contains("    >=200          1 "), "{s}");
        let l = line(&f);
        assert!(
            l.contains("started 50/100  successful 45  failed 2  live 3"),
            "{l}"
        );
    }
}
