//! The fixed call shape: INVITE with an SDP offer, hold, BYE, through the `sip` crate's endpoint.
//!
//! One task owns the socket and the sans-IO endpoint, so the whole call path runs without a
//! lock or a cross-thread hop; the pacing is deadline-based ([`Pace`]), so a late wake-up
//! launches the calls it owes instead of drifting, and the rate may change mid-run.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::time::{Duration, Instant};

use sip::transport::UdpTransport;
use sip::{CallEvent, CallKey, Dial, EndReason, Endpoint, EndpointConfig, Event};

use super::monitor::{Monitor, Order};
use super::pace::Pace;
use super::stat_file::{Counters, Timing, CALL_LENGTH_BOUNDS_MS, RTD_BOUNDS_MS};
use super::{LoadReport, LoadTestConfig};
use crate::media_legs::MediaLegs;
use crate::stats::Samples;
use outdial_core::clock;
use outdial_node::cpu::process_cpu_seconds;

struct Live {
    invited: Instant,
}

/// One run's state between the loop's wakes.
struct Run {
    cfg: LoadTestConfig,
    ep: Endpoint,
    media: Option<MediaLegs>,
    local: std::net::SocketAddr,
    pace: Pace,
    stopped: bool,
    launched: u64,
    live: HashMap<CallKey, Live>,
    hangups: BinaryHeap<Reverse<(Instant, CallKey)>>,
    report: LoadReport,
    successful: u64,
    setup: Samples,
    setup_timing: Timing,
    call_length: Timing,
    /// Final responses and provisional ones by status (200 counts answers).
    responses: BTreeMap<u16, u64>,
    last_answer: Instant,
}

impl Run {
    fn may_launch(&self) -> bool {
        !self.stopped
            && self.launched < self.cfg.calls
            && (self.live.len() as u64) < self.cfg.concurrency
    }

    /// Launches every call whose slot has come, as long as concurrency allows.
    fn launch_due(&mut self, now: Instant) -> std::io::Result<()> {
        while self.may_launch() && self.pace.due(self.launched) <= now {
            let n = self.launched;
            self.launched += 1;
            let sdp = match self.media.as_mut() {
                Some(m) => m.offer(n, self.local.ip()),
                None => Some(sip::sdp::offer(n, 1, self.local.ip(), 4000)),
            };
            let target = self.cfg.target;
            let dial = Dial {
                id: n,
                target,
                request_uri: format!("sip:{}{}@{}", self.cfg.user_prefix, n, target),
                from_uri: format!("sip:outdial@{}", self.local),
                to_uri: None,
                sdp_offer: sdp.map(String::into_bytes),
                ring_timeout: Some(self.cfg.ring_timeout),
                extra_headers: Vec::new(),
            };
            self.report.attempted += 1;
            match self.ep.dial(now, dial) {
                Ok(key) => {
                    self.live.insert(key, Live { invited: now });
                    if let Some(m) = self.media.as_mut() {
                        m.bind_call(n, key);
                    }
                }
                Err(sip::Error::Backoff { .. }) => {
                    *self.report.failed.entry("503-backoff".into()).or_default() += 1;
                    if let Some(m) = self.media.as_mut() {
                        m.forget_offer(n);
                    }
                }
                Err(e) => return Err(std::io::Error::other(e.to_string())),
            }
        }
        Ok(())
    }

    /// Hangs up calls whose hold time is over.
    fn hang_up_due(&mut self, now: Instant) {
        while let Some(Reverse((at, key))) = self.hangups.peek().copied() {
            if at > now {
                break;
            }
            self.hangups.pop();
            let _ = self.ep.hang_up(now, key);
        }
    }

    async fn handle_events(&mut self, now: Instant) {
        while let Some(ev) = self.ep.poll_event() {
            let Event::Call { call, event } = ev else {
                continue;
            };
            match event {
                CallEvent::Answered { sdp } => {
                    if let Some(l) = self.live.get(&call) {
                        let d = now.saturating_duration_since(l.invited);
                        self.setup.record(d);
                        self.setup_timing.record(d);
                    }
                    *self.responses.entry(200).or_default() += 1;
                    self.report.answered += 1;
                    self.last_answer = now;
                    if let (Some(m), Some(sdp)) = (self.media.as_mut(), sdp) {
                        m.answered(call, &sdp).await;
                    }
                    self.hangups.push(Reverse((now + self.cfg.hold, call)));
                }
                CallEvent::Progress { status, sdp } => {
                    *self.responses.entry(status).or_default() += 1;
                    if sdp.is_some() {
                        self.report.early_media += 1;
                    }
                }
                CallEvent::Ended(reason) => self.ended(now, call, reason).await,
                _ => {}
            }
        }
    }

    async fn ended(&mut self, now: Instant, call: CallKey, reason: EndReason) {
        if let Some(l) = self.live.remove(&call) {
            self.call_length
                .record(now.saturating_duration_since(l.invited));
        }
        if let Some(m) = self.media.as_mut() {
            m.ended(call).await;
        }
        let key = match reason {
            EndReason::Rejected { status, .. } => {
                *self.responses.entry(status).or_default() += 1;
                Some(status.to_string())
            }
            EndReason::TimedOut => Some("timeout".to_owned()),
            EndReason::RingTimeout => Some("ring-timeout".to_owned()),
            EndReason::RemoteHangup => {
                self.report.remote_hangups += 1;
                None
            }
            _ => None,
        };
        match key {
            Some(k) => *self.report.failed.entry(k).or_default() += 1,
            None => self.successful += 1,
        }
    }

    fn counters(&self) -> Counters {
        let stats = self.ep.stats();
        Counters {
            target_rate: self.pace.rate(),
            created: self.report.attempted,
            current: self.live.len() as u64,
            successful: self.successful,
            failed: self.report.failed.clone(),
            retransmissions: stats.txn.client_retransmissions + stats.txn.server_retransmissions,
            out_of_call: stats.stray_responses,
            dead_call: 0,
            warnings: 0,
            response_times: vec![("1".into(), self.setup_timing.clone())],
            call_length: self.call_length.clone(),
        }
    }

    fn messages(&self) -> Vec<(String, u64)> {
        let mut m = vec![("INVITE sent".to_owned(), self.report.attempted)];
        m.extend(
            self.responses
                .iter()
                .map(|(s, n)| (format!("{s} received"), *n)),
        );
        m
    }

    fn is_done(&self) -> bool {
        (self.stopped || self.launched >= self.cfg.calls) && self.live.is_empty()
    }

    /// The next thing due: a launch, a hang-up, or a SIP timer (at most 100 ms away).
    fn wake(&self, now: Instant) -> Instant {
        let mut wake = now + Duration::from_millis(100);
        if self.may_launch() {
            wake = wake.min(self.pace.due(self.launched));
        }
        if let Some(Reverse((at, _))) = self.hangups.peek() {
            wake = wake.min(*at);
        }
        if let Some(at) = self.ep.poll_timeout() {
            wake = wake.min(at);
        }
        wake
    }

    fn obey(&mut self, now: Instant, orders: &mut Vec<Order>) {
        for o in orders.drain(..) {
            match o {
                Order::SetRate(r) => self.pace.set_rate(now, self.launched, r),
                Order::Stop => self.stopped = true,
            }
        }
    }
}

/// One socket's share of a run, with the samples a merge of several needs.
pub(super) struct Part {
    pub report: LoadReport,
    pub setup: Samples,
    pub setup_timing: Timing,
    pub call_length: Timing,
    /// First INVITE to last answer, seconds.
    pub active_seconds: f64,
}

impl Part {
    /// The report with its percentiles, repartitions and rate filled in.
    pub fn into_report(mut self) -> LoadReport {
        let mut r = self.report;
        r.setup_ms = self.setup.percentiles();
        r.response_time_repartition
            .insert("1".into(), self.setup_timing.repartition());
        r.call_length_repartition = self.call_length.repartition();
        r.cps = if self.active_seconds > 0.0 {
            r.answered as f64 / self.active_seconds
        } else {
            0.0
        };
        r
    }
}

/// Runs the fixed-shape load test to completion. Must run inside a tokio runtime.
pub(super) async fn run(cfg: LoadTestConfig) -> std::io::Result<LoadReport> {
    run_part(cfg).await.map(Part::into_report)
}

/// Runs one socket's share of the fixed-shape load test. Must run inside a tokio runtime.
pub(super) async fn run_part(cfg: LoadTestConfig) -> std::io::Result<Part> {
    let mut transport = UdpTransport::bind(cfg.bind, cfg.socket)?;
    let local = transport.local_addr()?;
    let mut ep_cfg = EndpointConfig::new(local);
    ep_cfg.timers = cfg.timers;
    // Call-IDs must differ between the sockets of one run (`--threads`).
    ep_cfg.namespace = format!("load{}t{}", std::process::id(), cfg.thread);
    ep_cfg.default_credentials = cfg.credentials.clone();
    ep_cfg.session_expires = cfg.session_expires;
    let media = if cfg.media {
        Some(MediaLegs::new(local.ip(), 20_000, 39_998)?)
    } else {
        None
    };
    let cpu_start = process_cpu_seconds().unwrap_or(0.0);
    let start = clock::now();
    let mut monitor = Monitor::new(
        &cfg.monitor,
        cfg.rate,
        cfg.calls,
        cfg.progress,
        start,
        clock::unix_ms() * 1000,
    )?;
    let mut run = Run {
        ep: Endpoint::new(ep_cfg),
        media,
        local,
        pace: Pace::new(cfg.rate, start),
        stopped: false,
        launched: 0,
        live: HashMap::new(),
        hangups: BinaryHeap::new(),
        report: LoadReport::default(),
        successful: 0,
        setup: Samples::default(),
        setup_timing: Timing::new(&RTD_BOUNDS_MS),
        call_length: Timing::new(&CALL_LENGTH_BOUNDS_MS),
        responses: BTreeMap::new(),
        last_answer: start,
        cfg,
    };
    let mut orders = Vec::new();
    let mut last_read = start;
    loop {
        let now = clock::now();
        run.launch_due(now)?;
        run.hang_up_due(now);
        run.ep.handle_timeout(now);
        transport.flush(&mut run.ep).await;
        run.handle_events(now).await;
        if now >= monitor.poll_timeout() {
            monitor.tick(now, &run.counters(), &run.messages(), &mut orders)?;
            run.obey(now, &mut orders);
        }
        if run.is_done() {
            break;
        }
        let wake = run.wake(now).min(monitor.poll_timeout());
        if wake > now {
            if run.cfg.coalesce > Duration::ZERO && now < last_read + run.cfg.coalesce {
                // Datagrams arrived a moment ago: let more gather rather than wake for each.
                tokio::time::sleep_until(wake.min(last_read + run.cfg.coalesce).into()).await;
            } else {
                tokio::select! {
                    r = transport.readable() => { r?; }
                    _ = tokio::time::sleep_until(wake.into()) => {}
                }
            }
        }
        let t = clock::now();
        if transport.pump(&mut run.ep, t, 1024).await? > 0 {
            last_read = t;
        }
    }
    let end = clock::now();
    monitor.finish(end, &run.counters(), &run.messages())?;
    finish_report(run, start, end, cpu_start).await
}

async fn finish_report(
    mut run: Run,
    start: Instant,
    end: Instant,
    cpu_start: f64,
) -> std::io::Result<Part> {
    let stats = run.ep.stats();
    let mut report = std::mem::take(&mut run.report);
    report.retransmissions = stats.txn.client_retransmissions + stats.txn.server_retransmissions;
    report.stray_responses = stats.stray_responses;
    report.dropped_junk = stats.dropped_junk;
    report.wall_seconds = (end - start).as_secs_f64();
    report.cpu_seconds = process_cpu_seconds().unwrap_or(0.0) - cpu_start;
    report.media = match run.media {
        Some(m) => Some(m.summary().await),
        None => None,
    };
    Ok(Part {
        report,
        setup: run.setup,
        setup_timing: run.setup_timing,
        call_length: run.call_length,
        active_seconds: run
            .last_answer
            .saturating_duration_since(start)
            .as_secs_f64(),
    })
}
