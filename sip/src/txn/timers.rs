//! RFC 3261 §17 timer values and the closed set of timers a transaction can arm.

use std::time::{Duration, Instant};

use crate::peer::Transport;

/// T1, T2 and T4 of RFC 3261 §17.1.1.1 / Table 4; every other timer derives from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// RTT estimate; default 500 ms.
    pub t1: Duration,
    /// Cap on non-INVITE and response retransmit intervals; default 4 s.
    pub t2: Duration,
    /// Longest time a message stays in the network; default 5 s.
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl TimerConfig {
    /// Timers B, F, H, J (and RFC 6026's L and M): 64·T1.
    pub fn timeout(&self) -> Duration {
        self.t1 * 64
    }

    /// Timer D on an unreliable transport: at least 32 s, and never shorter than 64·T1.
    pub fn timer_d(&self) -> Duration {
        Duration::from_secs(32).max(self.timeout())
    }

    /// Timer D on `transport`: zero on a reliable one, where no final is retransmitted.
    #[inline]
    pub fn timer_d_over(&self, transport: Transport) -> Duration {
        if transport.is_reliable() {
            Duration::ZERO
        } else {
            self.timer_d()
        }
    }

    /// Timers I and K: T4 to absorb retransmissions on an unreliable transport, zero on a
    /// reliable one.
    #[inline]
    pub fn linger(&self, transport: Transport) -> Duration {
        if transport.is_reliable() {
            Duration::ZERO
        } else {
            self.t4
        }
    }

    /// Timer J: 64·T1 on an unreliable transport, zero on a reliable one.
    #[inline]
    pub fn timer_j(&self, transport: Transport) -> Duration {
        if transport.is_reliable() {
            Duration::ZERO
        } else {
            self.timeout()
        }
    }
}

/// Every timer a transaction can arm. Closed, so `poll_timeout` can say which one is next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// INVITE client retransmit.
    A,
    /// INVITE client transaction timeout.
    B,
    /// INVITE client wait for final-response retransmits after a non-2xx.
    D,
    /// non-INVITE client retransmit.
    E,
    /// non-INVITE client transaction timeout.
    F,
    /// non-INVITE client wait for response retransmits.
    K,
    /// INVITE server final-response retransmit.
    G,
    /// INVITE server wait for ACK.
    H,
    /// INVITE server wait for ACK retransmits.
    I,
    /// non-INVITE server wait for request retransmits.
    J,
    /// INVITE server: 2xx retransmit until the ACK (RFC 3261 §13.3.1.4, kept here by RFC 6026).
    Retransmit2xx,
    /// INVITE server Accepted state lifetime (RFC 6026 Timer L).
    L,
    /// INVITE client Accepted state lifetime (RFC 6026 Timer M).
    M,
}

/// A retransmit timer (A, E, G or the 2xx one): when it fires next and the interval that led
/// there. Lives only inside the states that retransmit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retransmit {
    pub at: Instant,
    pub interval: Duration,
}

impl Retransmit {
    /// The first firing, T1 after `now`.
    #[inline]
    pub fn first(now: Instant, cfg: TimerConfig) -> Self {
        Self {
            at: now + cfg.t1,
            interval: cfg.t1,
        }
    }

    /// The first firing on `transport`. A reliable transport retransmits nothing (no Timer A,
    /// E or G): the timer is parked at `end`, the timer that ends its state, which wins every
    /// tie ([`earliest`]), so it never fires. Parking rather than an `Option` keeps the UDP
    /// path's deadline arithmetic exactly as it was.
    #[inline]
    pub fn first_over(now: Instant, cfg: TimerConfig, transport: Transport, end: Instant) -> Self {
        if transport.is_reliable() {
            Self {
                at: end,
                interval: Duration::ZERO,
            }
        } else {
            Self::first(now, cfg)
        }
    }

    /// The firing after this one: the interval doubles, up to `cap` when there is one.
    #[inline]
    pub fn doubled(self, cap: Option<Duration>) -> Self {
        let doubled = self.interval * 2;
        let interval = cap.map_or(doubled, |cap| doubled.min(cap));
        Self {
            at: self.at + interval,
            interval,
        }
    }

    /// The firing after this one at a fixed interval.
    #[inline]
    pub fn every(self, interval: Duration) -> Self {
        Self {
            at: self.at + interval,
            interval,
        }
    }
}

/// The earlier of two armed timers; on a tie the second (the one that ends the state) wins.
#[inline]
pub(super) fn earliest(a: (Instant, Timer), b: (Instant, Timer)) -> (Instant, Timer) {
    if a.0 < b.0 {
        a
    } else {
        b
    }
}
