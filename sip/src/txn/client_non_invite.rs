//! Non-INVITE client transaction (RFC 3261 §17.1.2): BYE, CANCEL, OPTIONS.

use std::time::{Duration, Instant};

use super::timers::{Timer, TimerConfig};

/// Where a non-INVITE client transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientNonInviteState {
    /// Request sent: Timer E retransmits (doubling to T2), Timer F gives up.
    Trying,
    /// A provisional arrived: retransmits continue every T2.
    Proceeding,
    /// A final arrived; Timer K absorbs its retransmissions.
    Completed,
    Terminated,
}

/// What the transaction asks for after an input.
#[derive(Debug, PartialEq, Eq)]
pub enum ClientNonInviteAction {
    None,
    Retransmit,
    /// Hand the response to the TU.
    Deliver,
    /// Timer F fired: no final response.
    TimedOut,
    Terminated,
}

/// A non-INVITE client transaction on an unreliable transport.
#[derive(Debug)]
pub struct ClientNonInvite {
    state: ClientNonInviteState,
    cfg: TimerConfig,
    timer_e: (Instant, Duration),
    timer_f: Instant,
    timer_k: Option<Instant>,
    retransmissions: u32,
}

impl ClientNonInvite {
    /// Starts the transaction; the caller sends the request once now.
    pub fn new(now: Instant, cfg: TimerConfig) -> Self {
        Self {
            state: ClientNonInviteState::Trying,
            cfg,
            timer_e: (now + cfg.t1, cfg.t1),
            timer_f: now + cfg.timeout(),
            timer_k: None,
            retransmissions: 0,
        }
    }

    pub fn state(&self) -> ClientNonInviteState {
        self.state
    }

    pub fn retransmissions(&self) -> u32 {
        self.retransmissions
    }

    pub fn on_response(&mut self, now: Instant, status: u16) -> ClientNonInviteAction {
        use ClientNonInviteState::*;
        match (self.state, status) {
            (Trying | Proceeding, 100..=199) => {
                self.state = Proceeding;
                ClientNonInviteAction::Deliver
            }
            (Trying | Proceeding, _) => {
                self.state = Completed;
                self.timer_k = Some(now + self.cfg.t4);
                ClientNonInviteAction::Deliver
            }
            _ => ClientNonInviteAction::None,
        }
    }

    pub fn deadline(&self) -> Option<(Instant, Timer)> {
        match self.state {
            ClientNonInviteState::Trying | ClientNonInviteState::Proceeding => {
                if self.timer_e.0 < self.timer_f {
                    Some((self.timer_e.0, Timer::E))
                } else {
                    Some((self.timer_f, Timer::F))
                }
            }
            ClientNonInviteState::Completed => self.timer_k.map(|k| (k, Timer::K)),
            ClientNonInviteState::Terminated => None,
        }
    }

    pub fn on_timeout(&mut self, now: Instant) -> ClientNonInviteAction {
        let Some((at, timer)) = self.deadline() else {
            return ClientNonInviteAction::None;
        };
        if now < at {
            return ClientNonInviteAction::None;
        }
        match timer {
            Timer::E => {
                // Trying doubles up to T2; Proceeding retransmits every T2 (§17.1.2.2).
                let interval = match self.state {
                    ClientNonInviteState::Trying => (self.timer_e.1 * 2).min(self.cfg.t2),
                    _ => self.cfg.t2,
                };
                self.timer_e = (at + interval, interval);
                self.retransmissions += 1;
                ClientNonInviteAction::Retransmit
            }
            Timer::F => {
                self.state = ClientNonInviteState::Terminated;
                ClientNonInviteAction::TimedOut
            }
            _ => {
                self.state = ClientNonInviteState::Terminated;
                ClientNonInviteAction::Terminated
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retransmit_schedule_caps_at_t2_and_times_out_at_64_t1() {
        let start = crate::time::virtual_epoch();
        let mut t = ClientNonInvite::new(start, TimerConfig::default());
        let mut retransmits = Vec::new();
        let mut end = None;
        while let Some((at, _)) = t.deadline() {
            match t.on_timeout(at) {
                ClientNonInviteAction::Retransmit => retransmits.push((at - start).as_millis()),
                other => end = Some(((at - start).as_millis(), other)),
            }
        }
        // 0.5, 1.5, 3.5, 7.5 then every 4 s (T2) until F at 32 s.
        assert_eq!(
            retransmits,
            vec![500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
        );
        assert_eq!(end, Some((32_000, ClientNonInviteAction::TimedOut)));
    }

    #[test]
    fn provisional_moves_retransmits_to_t2() {
        let start = crate::time::virtual_epoch();
        let mut t = ClientNonInvite::new(start, TimerConfig::default());
        assert_eq!(
            t.on_timeout(start + Duration::from_millis(500)),
            ClientNonInviteAction::Retransmit
        );
        assert_eq!(
            t.on_response(start + Duration::from_millis(600), 100),
            ClientNonInviteAction::Deliver
        );
        // The armed E (at 1.5 s) fires, then the next one is T2 later.
        assert_eq!(
            t.on_timeout(start + Duration::from_millis(1500)),
            ClientNonInviteAction::Retransmit
        );
        assert_eq!(
            t.deadline(),
            Some((start + Duration::from_millis(5500), Timer::E))
        );
    }

    #[test]
    fn final_lingers_for_t4_and_absorbs_retransmits() {
        let start = crate::time::virtual_epoch();
        let mut t = ClientNonInvite::new(start, TimerConfig::default());
        assert_eq!(t.on_response(start, 200), ClientNonInviteAction::Deliver);
        assert_eq!(t.on_response(start, 200), ClientNonInviteAction::None);
        assert_eq!(
            t.deadline(),
            Some((start + Duration::from_secs(5), Timer::K))
        );
        assert_eq!(
            t.on_timeout(start + Duration::from_secs(5)),
            ClientNonInviteAction::Terminated
        );
    }
}
