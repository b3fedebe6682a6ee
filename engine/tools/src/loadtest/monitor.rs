//! The run's live side, shared by both call shapes: the ramp, the control socket, the stat
//! file and the screen. The run's loop asks [`Monitor::poll_timeout`], and when it is due hands
//! over a counter snapshot; the monitor answers with orders (a new rate, stop).
//!
//! Shell glue: it writes to a file, stderr and a socket, but reads no clock; wall-clock times
//! in the stat file are the run's start plus `now - start`.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::control::{Command, ControlSocket};
use super::pace::{Ramp, MIN_RATE};
use super::screen::{self, Frame};
use super::stat_file::{self, Counters, Times};

/// The ramp's settings: `--rate-increase`, `--rate-interval`, `--rate-max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RampConfig {
    pub increase: f64,
    pub interval: Duration,
    pub max: Option<f64>,
}

/// The monitor's settings, from the command line.
#[derive(Debug, Clone, Default)]
pub struct MonitorConfig {
    pub ramp: Option<RampConfig>,
    /// A loopback address for the control socket.
    pub control: Option<SocketAddr>,
    pub stats_csv: Option<PathBuf>,
    /// Period of the stat file's lines (SIPp's `-fd`, default 60 s).
    pub stats_interval: Duration,
}

/// What the run must do after a tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Order {
    SetRate(f64),
    Stop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Display {
    Off,
    Line,
    Screen,
}

#[derive(Debug)]
struct StatsOut {
    file: BufWriter<File>,
    interval: Duration,
    next: Instant,
    prev: Option<Counters>,
    last_reset_us: u64,
}

/// How often the control socket is read (and the earliest any tick comes).
const TICK: Duration = Duration::from_millis(100);
const REDRAW: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct Monitor {
    start: Instant,
    unix_start_us: u64,
    calls: u64,
    rate: f64,
    ramp: Option<Ramp>,
    control: Option<ControlSocket>,
    stats: Option<StatsOut>,
    display: Display,
    next_tick: Instant,
    next_draw: Instant,
    last_draw: (Instant, u64),
}

impl Monitor {
    /// `progress` asks for the screen (on a terminal) or the progress line (otherwise).
    pub fn new(
        cfg: &MonitorConfig,
        rate: f64,
        calls: u64,
        progress: bool,
        start: Instant,
        unix_start_us: u64,
    ) -> io::Result<Self> {
        let control = cfg.control.map(ControlSocket::bind).transpose()?;
        let stats = match &cfg.stats_csv {
            Some(p) => Some(StatsOut {
                file: BufWriter::new(File::create(p).map_err(|e| {
                    io::Error::new(e.kind(), format!("--stats-csv {}: {e}", p.display()))
                })?),
                interval: cfg.stats_interval.max(Duration::from_millis(100)),
                next: start,
                prev: None,
                last_reset_us: unix_start_us,
            }),
            None => None,
        };
        let display = match (progress, io::stderr().is_terminal()) {
            (false, _) => Display::Off,
            (true, false) => Display::Line,
            (true, true) => Display::Screen,
        };
        Ok(Self {
            start,
            unix_start_us,
            calls,
            rate,
            ramp: cfg
                .ramp
                .map(|r| Ramp::new(r.increase, r.interval, r.max, start)),
            control,
            stats,
            display,
            next_tick: start,
            next_draw: start + REDRAW,
            last_draw: (start, 0),
        })
    }

    pub fn control_addr(&self) -> Option<SocketAddr> {
        self.control.as_ref().and_then(|c| c.local_addr().ok())
    }

    /// When the next tick is due; the loop sleeps no longer than this.
    pub fn poll_timeout(&self) -> Instant {
        let ramp = self.ramp.as_ref().map(Ramp::poll_timeout);
        ramp.map_or(self.next_tick, |r| r.min(self.next_tick))
    }

    fn unix_us(&self, now: Instant) -> u64 {
        let since = now.saturating_duration_since(self.start).as_micros();
        self.unix_start_us + u64::try_from(since).unwrap_or(u64::MAX / 2)
    }

    /// One tick at `now`, with the run's counters. Pushes orders for the run to carry out.
    pub fn tick(
        &mut self,
        now: Instant,
        c: &Counters,
        messages: &[(String, u64)],
        orders: &mut Vec<Order>,
    ) -> io::Result<()> {
        self.next_tick = now + TICK;
        if let Some(ramp) = self.ramp.as_mut() {
            if let Some(r) = ramp.handle_timeout(now, self.rate) {
                self.rate = r.max(MIN_RATE);
                orders.push(Order::SetRate(self.rate));
            }
        }
        self.read_commands(c, orders);
        if self.stats.as_ref().is_some_and(|s| now >= s.next) {
            self.write_stats(now, c)?;
        }
        if self.display != Display::Off && now >= self.next_draw {
            self.draw(now, c, messages);
        }
        Ok(())
    }

    fn read_commands(&mut self, c: &Counters, orders: &mut Vec<Order>) {
        let Some(control) = self.control.as_mut() else {
            return;
        };
        while let Some((from, cmd)) = control.poll() {
            let reply = match cmd {
                Ok(Command::Stop) => {
                    orders.push(Order::Stop);
                    "ok stopping".to_owned()
                }
                Ok(Command::Stats) => format!(
                    "rate {} started {} live {} successful {} failed {} retransmissions {}",
                    self.rate,
                    c.created,
                    c.current,
                    c.successful,
                    c.failed_total(),
                    c.retransmissions
                ),
                Ok(cmd) => match cmd.apply(self.rate) {
                    Some(r) => {
                        self.rate = r.max(MIN_RATE);
                        orders.push(Order::SetRate(self.rate));
                        format!("ok rate {}", self.rate)
                    }
                    None => "ok".to_owned(),
                },
                Err(e) => format!("error: {e}"),
            };
            control.reply(from, &reply);
        }
    }

    fn write_stats(&mut self, now: Instant, c: &Counters) -> io::Result<()> {
        let unix_now = self.unix_us(now);
        let unix_start = self.unix_start_us;
        let Some(s) = self.stats.as_mut() else {
            return Ok(());
        };
        let mut c = c.clone();
        c.target_rate = self.rate;
        let prev = match s.prev.take() {
            Some(p) => p,
            None => {
                writeln!(s.file, "{}", stat_file::header(&c))?;
                c.clone()
            }
        };
        let times = Times {
            start: unix_start,
            last_reset: s.last_reset_us,
            now: unix_now,
        };
        writeln!(s.file, "{}", stat_file::row(times, &prev, &c))?;
        s.file.flush()?;
        s.last_reset_us = unix_now;
        s.prev = Some(c);
        s.next = now + s.interval;
        Ok(())
    }

    fn draw(&mut self, now: Instant, c: &Counters, messages: &[(String, u64)]) {
        let (at, created) = self.last_draw;
        let secs = now.saturating_duration_since(at).as_secs_f64();
        let recent_rate = if secs > 0.0 {
            c.created.saturating_sub(created) as f64 / secs
        } else {
            0.0
        };
        self.last_draw = (now, c.created);
        self.next_draw = now + REDRAW;
        let mut c = c.clone();
        c.target_rate = self.rate;
        let frame = Frame {
            elapsed: now.saturating_duration_since(self.start),
            calls: self.calls,
            counters: &c,
            recent_rate,
            messages,
            control: self.control_addr(),
        };
        let mut err = io::stderr().lock();
        let _ = match self.display {
            Display::Screen => write!(err, "\x1b[H\x1b[2J{}", screen::screen(&frame)),
            Display::Line => write!(err, "\r{}", screen::line(&frame)),
            Display::Off => Ok(()),
        };
        let _ = err.flush();
    }

    /// The run is over: a last stat line and the final frame.
    pub fn finish(
        &mut self,
        now: Instant,
        c: &Counters,
        messages: &[(String, u64)],
    ) -> io::Result<()> {
        if self.stats.is_some() {
            self.write_stats(now, c)?;
        }
        if self.display != Display::Off {
            self.draw(now, c, messages);
            eprintln!();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadtest::stat_file::{Timing, CALL_LENGTH_BOUNDS_MS, RTD_BOUNDS_MS};
    use outdial_core::clock::{Clock, VirtualClock};

    fn counters(created: u64) -> Counters {
        Counters {
            target_rate: 0.0,
            created,
            current: 0,
            successful: created,
            failed: Default::default(),
            retransmissions: 0,
            out_of_call: 0,
            dead_call: 0,
            warnings: 0,
            response_times: vec![("1".into(), Timing::new(&RTD_BOUNDS_MS))],
            call_length: Timing::new(&CALL_LENGTH_BOUNDS_MS),
        }
    }

    #[test]
    fn the_ramp_raises_the_rate_and_each_stat_line_shows_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("stats.csv");
        let cfg = MonitorConfig {
            ramp: Some(RampConfig {
                increase: 10.0,
                interval: Duration::from_secs(1),
                max: Some(25.0),
            }),
            control: None,
            stats_csv: Some(path.clone()),
            stats_interval: Duration::from_secs(1),
        };
        let t0 = VirtualClock::new().now();
        let mut m = Monitor::new(&cfg, 10.0, 100, false, t0, 1_796_694_702_000_000).expect("new");
        let mut orders = Vec::new();
        for (second, created) in [(0, 0), (1, 10), (2, 30), (3, 55)] {
            let now = t0 + Duration::from_secs(second);
            m.tick(now, &counters(created), &[], &mut orders)
                .expect("tick");
        }
        let now = t0 + Duration::from_millis(3500);
        assert_eq!(orders, vec![Order::SetRate(20.0), Order::SetRate(25.0)]);
        m.finish(now, &counters(60), &[]).expect("finish");
        let text = std::fs::read_to_string(&path).expect("stats file");
        let lines: Vec<&str> = text.lines().collect();
        let names: Vec<&str> = lines[0].split(';').collect();
        let rate = names.iter().position(|n| *n == "TargetRate").expect("col");
        let created = names
            .iter()
            .position(|n| *n == "TotalCallCreated")
            .expect("col");
        let col = |l: &str, i: usize| l.split(';').nth(i).unwrap_or("").to_owned();
        let rates: Vec<String> = lines[1..].iter().map(|l| col(l, rate)).collect();
        assert_eq!(rates.first().map(String::as_str), Some("10"));
        assert_eq!(rates.last().map(String::as_str), Some("25"));
        assert_eq!(col(lines[lines.len() - 1], created), "60");
        assert!(lines[1].starts_with("2026-12-08\t01:51:42.000000\t1796694702.000000;"));
    }
}
