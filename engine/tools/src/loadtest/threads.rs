//! `--threads N`: the fixed call shape spread over N sockets, each played by its own thread
//! with its own endpoint and runtime (nothing shared on the call path), the rate and the calls
//! split between them; their reports merged into one.

use std::io;

use super::fixed::{self, Part};
use super::{LoadReport, LoadTestConfig};

/// Most threads accepted: more than any machine's cores this runs on, fewer than its ports.
pub const MAX_THREADS: usize = 256;

/// Thread `i`'s share of `cfg` when it is split `n` ways.
fn share(cfg: &LoadTestConfig, i: usize, n: usize) -> LoadTestConfig {
    let (i64_, n64) = (i as u64, n as u64);
    let mut c = cfg.clone();
    c.thread = i;
    c.threads = 1;
    c.rate = cfg.rate / n as f64;
    c.calls = cfg.calls / n64 + u64::from(i64_ < cfg.calls % n64);
    c.concurrency = (cfg.concurrency / n64).max(1);
    c.user_prefix = format!("{}t{i}-", cfg.user_prefix);
    // One screen for N threads would show one thread's counts: none while they run.
    c.progress = false;
    if cfg.bind.port() != 0 {
        c.bind.set_port(cfg.bind.port().saturating_add(i as u16));
    }
    c
}

/// Runs `cfg.threads` shares of the fixed shape at once and merges their reports.
pub(super) async fn run(cfg: LoadTestConfig) -> io::Result<LoadReport> {
    let n = cfg.threads.clamp(1, MAX_THREADS);
    let handles = (0..n)
        .map(|i| {
            let part = share(&cfg, i, n);
            std::thread::Builder::new()
                .name(format!("loadtest-{i}"))
                .spawn(move || {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?
                        .block_on(fixed::run_part(part))
                })
        })
        .collect::<io::Result<Vec<_>>>()?;
    let parts = tokio::task::spawn_blocking(move || {
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| io::Error::other("a load test thread panicked"))?
            })
            .collect::<io::Result<Vec<Part>>>()
    })
    .await
    .map_err(io::Error::other)??;
    Ok(merge(parts))
}

/// One report from the parts: counts summed, samples pooled, the slowest part's times.
fn merge(parts: Vec<Part>) -> LoadReport {
    let mut parts = parts.into_iter();
    let Some(mut all) = parts.next() else {
        return LoadReport::default();
    };
    for p in parts {
        let (a, r) = (&mut all.report, p.report);
        a.attempted += r.attempted;
        a.answered += r.answered;
        for (k, v) in r.failed {
            *a.failed.entry(k).or_default() += v;
        }
        a.retransmissions += r.retransmissions;
        a.early_media += r.early_media;
        a.remote_hangups += r.remote_hangups;
        a.stray_responses += r.stray_responses;
        a.dropped_junk += r.dropped_junk;
        // Each part measured the whole process's CPU over its own run: the longest counts.
        a.cpu_seconds = a.cpu_seconds.max(r.cpu_seconds);
        a.wall_seconds = a.wall_seconds.max(r.wall_seconds);
        all.setup.merge(p.setup);
        all.setup_timing.merge(&p.setup_timing);
        all.call_length.merge(&p.call_length);
        all.active_seconds = all.active_seconds.max(p.active_seconds);
    }
    all.into_report()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    #[test]
    fn shares_split_rate_calls_and_names() {
        let mut cfg = LoadTestConfig::new(SocketAddr::from(([127, 0, 0, 1], 5060)));
        cfg.rate = 1000.0;
        cfg.calls = 1001;
        cfg.threads = 2;
        cfg.bind = SocketAddr::from(([127, 0, 0, 1], 7000));
        let (a, b) = (share(&cfg, 0, 2), share(&cfg, 1, 2));
        assert_eq!((a.rate, b.rate), (500.0, 500.0));
        assert_eq!(a.calls + b.calls, 1001);
        assert_eq!((a.thread, b.thread, a.threads), (0, 1, 1));
        assert_ne!(a.user_prefix, b.user_prefix);
        assert_eq!((a.bind.port(), b.bind.port()), (7000, 7001));
    }
}
