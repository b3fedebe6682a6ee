//! The fixed call shape: INVITE with an SDP offer, hold, BYE, through the `sip` crate's endpoint.
//!
//! One task owns the socket and the sans-IO endpoint, so the whole call path runs without a
//! lock or a cross-thread hop; the pacing below is deadline-based, so a late wake-up launches
//! the calls it owes instead of drifting.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::Write;
use std::time::{Duration, Instant};

use sip::transport::UdpTransport;
use sip::{CallEvent, CallKey, Dial, EndReason, Endpoint, EndpointConfig, Event};

use super::{LoadReport, LoadTestConfig};
use crate::media_legs::MediaLegs;
use crate::stats::Samples;
use outdial_core::clock;
use outdial_node::cpu::process_cpu_seconds;

struct Live {
    invited: Instant,
}

/// Runs the fixed-shape load test to completion. Must run inside a tokio runtime.
pub(super) async fn run(cfg: LoadTestConfig) -> std::io::Result<LoadReport> {
    let mut transport = UdpTransport::bind(cfg.bind, cfg.socket)?;
    let local = transport.local_addr()?;
    let mut ep_cfg = EndpointConfig::new(local);
    ep_cfg.timers = cfg.timers;
    ep_cfg.namespace = format!("load{}", std::process::id());
    ep_cfg.default_credentials = cfg.credentials.clone();
    ep_cfg.session_expires = cfg.session_expires;
    let mut ep = Endpoint::new(ep_cfg);
    let mut media = if cfg.media {
        Some(MediaLegs::new(local.ip(), 20_000, 39_998)?)
    } else {
        None
    };

    let cpu_start = process_cpu_seconds().unwrap_or(0.0);
    let start = clock::now();
    let interval = Duration::from_secs_f64(1.0 / cfg.rate.max(0.001));
    let mut launched = 0u64;
    let mut live: HashMap<CallKey, Live> = HashMap::new();
    let mut hangups: BinaryHeap<Reverse<(Instant, CallKey)>> = BinaryHeap::new();
    let mut report = LoadReport::default();
    let mut setup = Samples::default();
    let mut last_answer = start;
    let mut next_progress = start + Duration::from_secs(1);
    let mut last_read = start;
    let offer_ip = local.ip();

    loop {
        let now = clock::now();
        // Launch every call whose slot has come, as long as concurrency allows.
        while launched < cfg.calls && (live.len() as u64) < cfg.concurrency {
            let due = start + interval.mul_f64(launched as f64);
            if due > now {
                break;
            }
            let n = launched;
            launched += 1;
            let sdp = match media.as_mut() {
                Some(m) => m.offer(n, offer_ip),
                None => Some(sip::sdp::offer(n, 1, offer_ip, 4000)),
            };
            let dial = Dial {
                id: n,
                target: cfg.target,
                request_uri: format!("sip:{}{}@{}", cfg.user_prefix, n, cfg.target),
                from_uri: format!("sip:outdial@{local}"),
                to_uri: None,
                sdp_offer: sdp.map(String::into_bytes),
                ring_timeout: Some(cfg.ring_timeout),
                extra_headers: Vec::new(),
            };
            match ep.dial(now, dial) {
                Ok(key) => {
                    live.insert(key, Live { invited: now });
                    report.attempted += 1;
                    if let Some(m) = media.as_mut() {
                        m.bind_call(n, key);
                    }
                }
                Err(sip::Error::Backoff { .. }) => {
                    report.attempted += 1;
                    *report.failed.entry("503-backoff".into()).or_default() += 1;
                    if let Some(m) = media.as_mut() {
                        m.forget_offer(n);
                    }
                }
                Err(e) => return Err(std::io::Error::other(e.to_string())),
            }
        }
        // Hang up calls whose hold time is over.
        while let Some(Reverse((at, key))) = hangups.peek().copied() {
            if at > now {
                break;
            }
            hangups.pop();
            let _ = ep.hang_up(now, key);
        }
        ep.handle_timeout(now);
        transport.flush(&mut ep).await;

        while let Some(ev) = ep.poll_event() {
            match ev {
                Event::Call {
                    call,
                    event: CallEvent::Answered { sdp },
                } => {
                    if let Some(l) = live.get(&call) {
                        setup.record(now.saturating_duration_since(l.invited));
                    }
                    report.answered += 1;
                    last_answer = now;
                    if let (Some(m), Some(sdp)) = (media.as_mut(), sdp) {
                        m.answered(call, &sdp).await;
                    }
                    hangups.push(Reverse((now + cfg.hold, call)));
                }
                Event::Call {
                    event: CallEvent::Progress { sdp: Some(_), .. },
                    ..
                } => {
                    report.early_media += 1;
                }
                Event::Call {
                    call,
                    event: CallEvent::Ended(reason),
                } => {
                    live.remove(&call);
                    if let Some(m) = media.as_mut() {
                        m.ended(call).await;
                    }
                    let key = match reason {
                        EndReason::Rejected { status, .. } => Some(status.to_string()),
                        EndReason::TimedOut => Some("timeout".to_owned()),
                        EndReason::RingTimeout => Some("ring-timeout".to_owned()),
                        EndReason::RemoteHangup => {
                            report.remote_hangups += 1;
                            None
                        }
                        _ => None,
                    };
                    if let Some(k) = key {
                        *report.failed.entry(k).or_default() += 1;
                    }
                }
                _ => {}
            }
        }

        if cfg.progress && now >= next_progress {
            next_progress = now + Duration::from_secs(1);
            let secs = (now - start).as_secs_f64();
            eprint!(
                "\r[{:>6.1}s] attempted {}/{}  answered {}  failed {}  live {}  {:.0} cps   ",
                secs,
                report.attempted,
                cfg.calls,
                report.answered,
                report.failed.values().sum::<u64>(),
                live.len(),
                report.answered as f64 / secs.max(0.001)
            );
            let _ = std::io::stderr().flush();
        }

        if launched >= cfg.calls && live.is_empty() {
            break;
        }

        // Sleep until the next thing is due: a launch, a hang-up, or a SIP timer.
        let mut wake = now + Duration::from_millis(100);
        if launched < cfg.calls && (live.len() as u64) < cfg.concurrency {
            wake = wake.min(start + interval.mul_f64(launched as f64));
        }
        if let Some(Reverse((at, _))) = hangups.peek() {
            wake = wake.min(*at);
        }
        if let Some(at) = ep.poll_timeout() {
            wake = wake.min(at);
        }
        if wake > now {
            if cfg.coalesce > Duration::ZERO && now < last_read + cfg.coalesce {
                // Datagrams arrived a moment ago: let more gather rather than wake for each.
                tokio::time::sleep_until(wake.min(last_read + cfg.coalesce).into()).await;
            } else {
                tokio::select! {
                    r = transport.readable() => { r?; }
                    _ = tokio::time::sleep_until(wake.into()) => {}
                }
            }
        }
        let t = clock::now();
        if transport.pump(&mut ep, t, 1024).await? > 0 {
            last_read = t;
        }
    }
    if cfg.progress {
        eprintln!();
    }

    let end = clock::now();
    let stats = ep.stats();
    report.retransmissions = stats.txn.client_retransmissions + stats.txn.server_retransmissions;
    report.stray_responses = stats.stray_responses;
    report.dropped_junk = stats.dropped_junk;
    report.setup_ms = setup.percentiles();
    let active = last_answer.saturating_duration_since(start).as_secs_f64();
    report.cps = if active > 0.0 {
        report.answered as f64 / active
    } else {
        0.0
    };
    report.wall_seconds = (end - start).as_secs_f64();
    report.cpu_seconds = process_cpu_seconds().unwrap_or(0.0) - cpu_start;
    report.media = match media {
        Some(m) => Some(m.summary().await),
        None => None,
    };
    Ok(report)
}
