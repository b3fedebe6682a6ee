//! When the next call is due: a rate that may change mid-run (the ramp, the control socket),
//! and SIPp's ramp (`-rate_increase`, `-rate_interval`, `-rate_max`). Both take `now`.

use std::time::{Duration, Instant};

/// Call launches at a rate. Launch `n` is due at `anchor + (n - base) / rate`; a rate change
/// re-anchors at the change, so calls already owed are not launched in a burst and a lower
/// rate does not wait out the old schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    rate: f64,
    anchor: Instant,
    base: u64,
}

/// Slowest rate accepted: one call in about 17 minutes; a lower rate would overflow the
/// deadline arithmetic long before it mattered.
pub const MIN_RATE: f64 = 0.001;
/// Fastest rate accepted, far above anything one socket carries.
pub const MAX_RATE: f64 = 1e7;

impl Pace {
    pub fn new(rate: f64, start: Instant) -> Self {
        Self {
            rate: clamp_rate(rate),
            anchor: start,
            base: 0,
        }
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// When launch number `launched` (0-based) is due.
    pub fn due(&self, launched: u64) -> Instant {
        let owed = launched.saturating_sub(self.base) as f64;
        self.anchor + Duration::from_secs_f64(owed / self.rate)
    }

    /// Changes the rate at `now`, `launched` calls having been started. The next call is due
    /// one new interval after the later of `now` and the last launch slot.
    pub fn set_rate(&mut self, now: Instant, launched: u64, rate: f64) {
        let last_slot = if launched > self.base {
            self.due(launched - 1)
        } else {
            self.anchor
        };
        let rate = clamp_rate(rate);
        self.anchor = now.max(last_slot) + Duration::from_secs_f64(1.0 / rate);
        self.base = launched;
        self.rate = rate;
    }
}

fn clamp_rate(rate: f64) -> f64 {
    if rate.is_finite() {
        rate.clamp(MIN_RATE, MAX_RATE)
    } else {
        MIN_RATE
    }
}

/// SIPp's ramp: every `interval`, the rate grows by `increase` until it reaches `max`, where
/// it stays (SIPp quits there unless `-no_rate_quit`; a load tester that keeps the plateau
/// lets the calls asked for run at the peak).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ramp {
    pub increase: f64,
    pub interval: Duration,
    pub max: Option<f64>,
    next: Instant,
}

impl Ramp {
    pub fn new(increase: f64, interval: Duration, max: Option<f64>, start: Instant) -> Self {
        let interval = interval.max(Duration::from_millis(1));
        Self {
            increase,
            interval,
            max,
            next: start + interval,
        }
    }

    pub fn poll_timeout(&self) -> Instant {
        self.next
    }

    /// The new rate when a step is due at `now` (one step per call however late the wake:
    /// a stalled loop should not jump the rate several steps at once).
    pub fn handle_timeout(&mut self, now: Instant, rate: f64) -> Option<f64> {
        if now < self.next {
            return None;
        }
        self.next = now.max(self.next) + self.interval;
        let mut new = rate + self.increase;
        if let Some(max) = self.max {
            new = new.min(max);
        }
        (new != rate).then_some(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outdial_core::clock::{Clock, VirtualClock};

    fn t0() -> Instant {
        VirtualClock::new().now()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn launches_are_spaced_by_the_rate() {
        let t0 = t0();
        let p = Pace::new(100.0, t0);
        assert_eq!(p.due(0), t0);
        assert_eq!(p.due(1), t0 + ms(10));
        assert_eq!(p.due(250), t0 + ms(2500));
    }

    #[test]
    fn a_rate_change_reanchors_without_a_burst_or_a_wait() {
        let t0 = t0();
        let mut p = Pace::new(10.0, t0);
        // 5 calls launched by 400 ms (slots 0..400 ms); at 450 ms the rate goes to 100/s.
        p.set_rate(t0 + ms(450), 5, 100.0);
        assert_eq!(p.due(5), t0 + ms(460));
        assert_eq!(p.due(6), t0 + ms(470));
        // Back down to 1/s: the next call one second after the change, not after the old plan.
        p.set_rate(t0 + ms(470), 7, 1.0);
        assert_eq!(p.due(7), t0 + ms(1470));
        // A change while behind schedule does not grant the owed calls all at once.
        let mut q = Pace::new(1000.0, t0);
        q.set_rate(t0 + ms(100), 3, 1000.0);
        assert_eq!(q.due(3), t0 + ms(101));
    }

    #[test]
    fn nonsense_rates_are_clamped() {
        let t0 = t0();
        assert_eq!(Pace::new(0.0, t0).rate(), MIN_RATE);
        assert_eq!(Pace::new(f64::NAN, t0).rate(), MIN_RATE);
        assert_eq!(Pace::new(1e12, t0).rate(), MAX_RATE);
    }

    #[test]
    fn the_ramp_steps_each_interval_up_to_its_max() {
        let t0 = t0();
        let mut r = Ramp::new(10.0, Duration::from_secs(2), Some(35.0), t0);
        let mut rate = 10.0;
        let mut steps = Vec::new();
        let mut now = t0;
        for _ in 0..5 {
            now = r.poll_timeout();
            if let Some(new) = r.handle_timeout(now, rate) {
                rate = new;
                steps.push(((now - t0).as_secs(), rate));
            }
        }
        assert_eq!(steps, vec![(2, 20.0), (4, 30.0), (6, 35.0)]);
        assert_eq!((now - t0).as_secs(), 10);
        assert_eq!(r.handle_timeout(now, rate), None, "not due again yet");
    }

    #[test]
    fn a_late_wake_steps_once() {
        let t0 = t0();
        let mut r = Ramp::new(5.0, Duration::from_secs(1), None, t0);
        assert_eq!(r.handle_timeout(t0 + ms(3500), 5.0), Some(10.0));
        assert_eq!(r.poll_timeout(), t0 + ms(4500));
    }
}
