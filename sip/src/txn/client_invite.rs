//! INVITE client transaction (RFC 3261 §17.1.1, with RFC 6026's Accepted state).

use std::time::{Duration, Instant};

use super::timers::{Timer, TimerConfig};

/// Where an INVITE client transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientInviteState {
    /// INVITE sent, no response yet: Timer A retransmits, Timer B gives up.
    Calling,
    /// A provisional arrived: retransmits stop; the TU's ring timeout governs.
    Proceeding,
    /// A non-2xx final arrived and was ACKed; Timer D absorbs its retransmissions.
    Completed,
    /// A 2xx arrived; Timer M keeps the transaction so 2xx retransmits are re-ACKed.
    Accepted,
    /// Done; the layer removes it.
    Terminated,
}

/// What the transaction asks for after an input.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientInviteAction {
    /// Nothing to do (e.g. a stray response absorbed).
    None,
    /// Send the INVITE again.
    Retransmit,
    /// Hand the response to the TU (each provisional, the first final).
    Deliver,
    /// Send (or resend) the ACK for a non-2xx final; deliver to the TU only if `first`.
    AckNon2xx { first: bool },
    /// A retransmitted 2xx: resend the ACK the TU built for the first one.
    ReAck2xx,
    /// Timer B fired in Calling: the peer never answered.
    TimedOut,
    /// The transaction is over; remove it.
    Terminated,
}

/// An INVITE client transaction on an unreliable transport.
#[derive(Debug)]
pub struct ClientInvite {
    state: ClientInviteState,
    cfg: TimerConfig,
    /// Next Timer A firing and the interval that produced it.
    timer_a: Option<(Instant, Duration)>,
    timer_b: Instant,
    /// Timer D or M, whichever the state arms.
    linger: Option<(Instant, Timer)>,
    retransmissions: u32,
}

impl ClientInvite {
    /// Starts the transaction; the caller sends the INVITE once now.
    pub fn new(now: Instant, cfg: TimerConfig) -> Self {
        Self {
            state: ClientInviteState::Calling,
            cfg,
            timer_a: Some((now + cfg.t1, cfg.t1)),
            timer_b: now + cfg.timeout(),
            linger: None,
            retransmissions: 0,
        }
    }

    pub fn state(&self) -> ClientInviteState {
        self.state
    }

    /// Retransmissions sent so far.
    pub fn retransmissions(&self) -> u32 {
        self.retransmissions
    }

    /// A response matched this transaction.
    pub fn on_response(&mut self, now: Instant, status: u16) -> ClientInviteAction {
        use ClientInviteState::*;
        match (self.state, status) {
            (Calling | Proceeding, 100..=199) => {
                self.state = Proceeding;
                self.timer_a = None;
                ClientInviteAction::Deliver
            }
            (Calling | Proceeding, 200..=299) => {
                self.state = Accepted;
                self.timer_a = None;
                self.linger = Some((now + self.cfg.timeout(), Timer::M));
                ClientInviteAction::Deliver
            }
            (Calling | Proceeding, _) => {
                self.state = Completed;
                self.timer_a = None;
                self.linger = Some((now + self.cfg.timer_d(), Timer::D));
                ClientInviteAction::AckNon2xx { first: true }
            }
            (Completed, 300..=699) => ClientInviteAction::AckNon2xx { first: false },
            (Accepted, 200..=299) => ClientInviteAction::ReAck2xx,
            _ => ClientInviteAction::None,
        }
    }

    /// The earliest armed timer.
    pub fn deadline(&self) -> Option<(Instant, Timer)> {
        match self.state {
            ClientInviteState::Calling => {
                let b = (self.timer_b, Timer::B);
                match self.timer_a {
                    Some((a, _)) if a < self.timer_b => Some((a, Timer::A)),
                    _ => Some(b),
                }
            }
            ClientInviteState::Completed | ClientInviteState::Accepted => self.linger,
            ClientInviteState::Proceeding | ClientInviteState::Terminated => None,
        }
    }

    /// Fires whatever is due at `now`.
    pub fn on_timeout(&mut self, now: Instant) -> ClientInviteAction {
        let Some((at, timer)) = self.deadline() else {
            return ClientInviteAction::None;
        };
        if now < at {
            return ClientInviteAction::None;
        }
        match timer {
            Timer::A => {
                // INVITE retransmits double without the T2 cap (§17.1.1.2).
                let interval = self.timer_a.map_or(self.cfg.t1, |(_, i)| i) * 2;
                self.timer_a = Some((at + interval, interval));
                self.retransmissions += 1;
                ClientInviteAction::Retransmit
            }
            Timer::B => {
                self.state = ClientInviteState::Terminated;
                ClientInviteAction::TimedOut
            }
            _ => {
                self.state = ClientInviteState::Terminated;
                ClientInviteAction::Terminated
            }
        }
    }

    /// The TU gave up (e.g. CANCEL got no final response in 64·T1): end without a timeout report.
    pub fn abandon(&mut self) {
        self.state = ClientInviteState::Terminated;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Drives the transaction from deadline to deadline, as a virtual-time driver would.
    fn run_until_quiet(t: &mut ClientInvite, start: Instant) -> Vec<(u64, ClientInviteAction)> {
        let mut log = Vec::new();
        while let Some((at, _)) = t.deadline() {
            let action = t.on_timeout(at);
            log.push(((at - start).as_millis() as u64, action));
        }
        log
    }

    #[test]
    fn retransmits_at_t1_doubling_and_times_out_at_64_t1() {
        let start = crate::time::virtual_epoch();
        let mut t = ClientInvite::new(start, TimerConfig::default());
        let log = run_until_quiet(&mut t, start);
        let retransmits: Vec<u64> = log
            .iter()
            .filter(|(_, a)| *a == ClientInviteAction::Retransmit)
            .map(|(at, _)| *at)
            .collect();
        // 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s: intervals 0.5, 1, 2, 4, 8, 16 s.
        assert_eq!(retransmits, vec![500, 1500, 3500, 7500, 15500, 31500]);
        assert_eq!(log.last(), Some(&(32_000, ClientInviteAction::TimedOut)));
        assert_eq!(t.state(), ClientInviteState::Terminated);
    }

    #[test]
    fn provisional_stops_retransmits_and_timer_b() {
        let start = crate::time::virtual_epoch();
        let mut t = ClientInvite::new(start, TimerConfig::default());
        assert_eq!(
            t.on_response(start + ms(100), 180),
            ClientInviteAction::Deliver
        );
        assert_eq!(t.deadline(), None);
    }

    #[test]
    fn non_2xx_is_acked_and_lingers_for_timer_d() {
        let start = crate::time::virtual_epoch();
        let mut t = ClientInvite::new(start, TimerConfig::default());
        let at = start + ms(40);
        assert_eq!(
            t.on_response(at, 486),
            ClientInviteAction::AckNon2xx { first: true }
        );
        assert_eq!(
            t.on_response(at + ms(500), 486),
            ClientInviteAction::AckNon2xx { first: false }
        );
        assert_eq!(t.deadline(), Some((at + Duration::from_secs(32), Timer::D)));
        assert_eq!(
            t.on_timeout(at + Duration::from_secs(32)),
            ClientInviteAction::Terminated
        );
    }

    #[test]
    fn retransmitted_2xx_is_re_acked_until_timer_m() {
        let start = crate::time::virtual_epoch();
        let cfg = TimerConfig {
            t1: ms(100),
            ..TimerConfig::default()
        };
        let mut t = ClientInvite::new(start, cfg);
        assert_eq!(t.on_response(start, 200), ClientInviteAction::Deliver);
        assert_eq!(
            t.on_response(start + ms(100), 200),
            ClientInviteAction::ReAck2xx
        );
        assert_eq!(t.deadline(), Some((start + ms(6400), Timer::M)));
    }

    #[test]
    fn configurable_t1_scales_the_schedule() {
        let start = crate::time::virtual_epoch();
        let cfg = TimerConfig {
            t1: ms(50),
            ..TimerConfig::default()
        };
        let mut t = ClientInvite::new(start, cfg);
        let log = run_until_quiet(&mut t, start);
        assert_eq!(log.first(), Some(&(50, ClientInviteAction::Retransmit)));
        assert_eq!(log.last(), Some(&(3200, ClientInviteAction::TimedOut)));
    }
}
