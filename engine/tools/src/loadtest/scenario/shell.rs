//! The scenario player's I/O: one UDP socket (buffers sized like the sip transport's), the
//! clock, and the loop that feeds the [`Driver`] and sends what it yields.
//!
//! The `sip` crate's transport pumps datagrams into its own endpoint only, so the scenario
//! path binds its socket here, the same way (socket2 for the buffer sizes, then tokio).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use super::driver::{Driver, Plan};
use super::{Env, Scenario};
use crate::loadtest::monitor::{Monitor, Order};
use crate::loadtest::{LoadReport, LoadTestConfig};
use outdial_core::clock;
use outdial_node::cpu::process_cpu_seconds;

fn bind(addr: SocketAddr, cfg: sip::transport::SocketConfig) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    let _ = socket.set_recv_buffer_size(cfg.recv_buffer_bytes);
    let _ = socket.set_send_buffer_size(cfg.send_buffer_bytes);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

async fn send(socket: &UdpSocket, payload: &[u8], dest: SocketAddr) -> bool {
    loop {
        match socket.try_send_to(payload, dest) {
            Ok(_) => return true,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if socket.writable().await.is_err() {
                    return false;
                }
            }
            // An unreachable peer: the scenario's retransmissions and timeouts handle it.
            Err(_) => return false,
        }
    }
}

/// SIPp caps pauses and timeouts at INT_MAX milliseconds; so does the player.
fn cap(d: Duration) -> Duration {
    d.min(Duration::from_millis(i32::MAX as u64))
}

/// Plays `scn` against `cfg.target` to completion. Must run inside a tokio runtime.
pub(crate) async fn run(cfg: &LoadTestConfig, scn: Arc<Scenario>) -> io::Result<LoadReport> {
    let socket = bind(cfg.bind, cfg.socket)?;
    let local = socket.local_addr()?;
    // [media_port] names a bound port, so the peer's RTP meets a socket (and is dropped here)
    // rather than ICMP errors.
    let media = std::net::UdpSocket::bind(SocketAddr::new(local.ip(), 0))?;
    media.set_nonblocking(true)?;
    let mut env = Env::new(local, cfg.target, std::process::id());
    env.media_port = media.local_addr()?.port();
    env.service.clone_from(&cfg.service);
    env.default_pause = cap(cfg.hold);
    env.recv_timeout = cfg.recv_timeout.map(cap);
    env.seed = cfg.seed;
    env.unix_start = Duration::from_millis(clock::unix_ms());
    if let Some(h) = &cfg.remote_host {
        env.remote_host.clone_from(h);
    }
    let plan = Plan {
        rate: cfg.rate,
        calls: cfg.calls,
        concurrency: cfg.concurrency,
    };
    let cpu_start = process_cpu_seconds().unwrap_or(0.0);
    let start = clock::now();
    let mut monitor = Monitor::new(
        &cfg.monitor,
        cfg.rate,
        cfg.calls,
        cfg.progress,
        start,
        env.unix_start.as_micros() as u64,
    )?;
    let mut driver = Driver::new(scn, env, plan, start);
    let mut buf = vec![0u8; 65_535];
    let mut sink = [0u8; 2048];
    let mut orders = Vec::new();
    let mut last_read = start;
    let mut send_errors = 0u64;
    loop {
        let now = clock::now();
        driver.handle_timeout(now);
        while let Some(t) = driver.poll_transmit() {
            if !send(&socket, &t.payload, t.dest).await {
                send_errors += 1;
            }
        }
        while let Some((warning, text)) = driver.poll_log() {
            if warning {
                tracing::warn!(target: "outdial::scenario", "{text}");
            } else {
                tracing::info!(target: "outdial::scenario", "{text}");
            }
        }
        if now >= monitor.poll_timeout() {
            monitor.tick(now, &driver.counters(), &driver.messages(), &mut orders)?;
            for o in orders.drain(..) {
                match o {
                    Order::SetRate(r) => driver.set_rate(now, r),
                    Order::Stop => driver.stop(),
                }
            }
        }
        if driver.is_done() {
            break;
        }
        let wake = driver
            .poll_timeout()
            .map_or(now + Duration::from_millis(100), |t| {
                t.min(now + Duration::from_millis(100))
            })
            .min(monitor.poll_timeout());
        if wake > now {
            if cfg.coalesce > Duration::ZERO && now < last_read + cfg.coalesce {
                tokio::time::sleep_until(wake.min(last_read + cfg.coalesce).into()).await;
            } else {
                tokio::select! {
                    r = socket.readable() => { r?; }
                    _ = tokio::time::sleep_until(wake.into()) => {}
                }
            }
        }
        let t = clock::now();
        if receive(&socket, &mut driver, &mut buf, t)? > 0 {
            last_read = t;
        }
        while media.recv_from(&mut sink).is_ok() {}
    }
    let end = clock::now();
    monitor.finish(end, &driver.counters(), &driver.messages())?;
    report_of(driver, start, end, cpu_start, send_errors)
}

/// Reads up to 1024 waiting datagrams into the driver; how many were read.
fn receive(
    socket: &UdpSocket,
    driver: &mut Driver,
    buf: &mut [u8],
    t: Instant,
) -> io::Result<usize> {
    let mut n = 0;
    while n < 1024 {
        match socket.try_recv_from(buf) {
            Ok((len, from)) => {
                n += 1;
                driver.handle_datagram(t, from, &buf[..len]);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn report_of(
    mut driver: Driver,
    start: Instant,
    end: Instant,
    cpu_start: f64,
    send_errors: u64,
) -> io::Result<LoadReport> {
    let mut scenario = driver.report();
    scenario.send_errors = send_errors;
    let mut report = LoadReport {
        attempted: driver.launched(),
        ..LoadReport::default()
    };
    let tally = driver.tally();
    report.answered = tally.answered;
    report.failed = tally.failed.clone();
    report.setup_ms = tally.setup.percentiles();
    report.retransmissions = tally.retransmissions;
    report.early_media = tally.early_media;
    report.remote_hangups = tally.remote_hangups;
    report.stray_responses = tally.stray;
    report.dropped_junk = tally.junk;
    report.call_length_repartition = tally.call_length.repartition();
    let active = tally
        .last_answer
        .map_or(0.0, |t| t.saturating_duration_since(start).as_secs_f64());
    report.cps = if active > 0.0 {
        report.answered as f64 / active
    } else {
        0.0
    };
    report.wall_seconds = (end - start).as_secs_f64();
    report.cpu_seconds = process_cpu_seconds().unwrap_or(0.0) - cpu_start;
    report.response_time_repartition = driver.repartition();
    report.scenario = Some(scenario);
    Ok(report)
}
