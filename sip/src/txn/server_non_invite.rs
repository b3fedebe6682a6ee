//! Non-INVITE server transaction (RFC 3261 §17.2.2).
//!
//! Only Completed runs a timer (J), so only its state type carries one; over a reliable
//! transport (TCP, TLS) it is zero.

use std::time::Instant;

use super::timers::{Timer, TimerConfig};
use crate::peer::Transport;

/// A final sent: request retransmissions get it again until Timer J.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completed {
    timer_j: Instant,
}

impl Completed {
    #[inline]
    pub fn deadline(&self) -> (Instant, Timer) {
        (self.timer_j, Timer::J)
    }
}

/// Where a non-INVITE server transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerNonInviteState {
    /// Received, nothing sent yet: retransmissions are absorbed.
    Trying,
    /// A provisional sent: retransmissions get it again.
    Proceeding,
    Completed(Completed),
    Terminated,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ServerNonInviteAction {
    None,
    ResendLast,
    Terminated,
}

#[derive(Debug)]
pub struct ServerNonInvite {
    state: ServerNonInviteState,
    cfg: TimerConfig,
    transport: Transport,
}

impl ServerNonInvite {
    /// A request arrived over UDP.
    pub fn new(cfg: TimerConfig) -> Self {
        Self::over(cfg, Transport::Udp)
    }

    /// A request arrived over `transport`.
    pub fn over(cfg: TimerConfig, transport: Transport) -> Self {
        Self {
            state: ServerNonInviteState::Trying,
            cfg,
            transport,
        }
    }

    pub fn state(&self) -> &ServerNonInviteState {
        &self.state
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ServerNonInviteState::Terminated
    }

    /// Whether a final response has gone out.
    pub fn has_final(&self) -> bool {
        matches!(
            self.state,
            ServerNonInviteState::Completed(_) | ServerNonInviteState::Terminated
        )
    }

    pub fn on_send(&mut self, now: Instant, status: u16) {
        use ServerNonInviteState as S;
        if let S::Trying | S::Proceeding = self.state {
            self.state = match status {
                100..=199 => S::Proceeding,
                _ => S::Completed(Completed {
                    timer_j: now + self.cfg.timer_j(self.transport),
                }),
            };
        }
    }

    pub fn on_retransmitted_request(&self) -> ServerNonInviteAction {
        match self.state {
            ServerNonInviteState::Proceeding | ServerNonInviteState::Completed(_) => {
                ServerNonInviteAction::ResendLast
            }
            _ => ServerNonInviteAction::None,
        }
    }

    #[inline]
    pub fn deadline(&self) -> Option<(Instant, Timer)> {
        match &self.state {
            ServerNonInviteState::Completed(s) => Some(s.deadline()),
            _ => None,
        }
    }

    pub fn on_timeout(&mut self, now: Instant) -> ServerNonInviteAction {
        match self.deadline() {
            Some((at, _)) if now >= at => {
                self.state = ServerNonInviteState::Terminated;
                ServerNonInviteAction::Terminated
            }
            _ => ServerNonInviteAction::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn final_is_resent_on_retransmit_until_j() {
        let start = crate::time::virtual_epoch();
        let mut t = ServerNonInvite::new(TimerConfig::default());
        assert_eq!(t.on_retransmitted_request(), ServerNonInviteAction::None);
        t.on_send(start, 200);
        assert_eq!(
            t.on_retransmitted_request(),
            ServerNonInviteAction::ResendLast
        );
        assert_eq!(
            t.deadline(),
            Some((start + Duration::from_secs(32), Timer::J))
        );
        assert_eq!(
            t.on_timeout(start + Duration::from_millis(31_999)),
            ServerNonInviteAction::None
        );
        assert_eq!(
            t.on_timeout(start + Duration::from_secs(32)),
            ServerNonInviteAction::Terminated
        );
    }

    #[test]
    fn provisional_is_resent_and_only_the_first_final_counts() {
        let start = crate::time::virtual_epoch();
        let mut t = ServerNonInvite::new(TimerConfig::default());
        t.on_send(start, 100);
        assert_eq!(t.state(), &ServerNonInviteState::Proceeding);
        assert!(!t.has_final());
        assert_eq!(
            t.on_retransmitted_request(),
            ServerNonInviteAction::ResendLast
        );
        t.on_send(start, 200);
        t.on_send(start + Duration::from_secs(1), 500);
        assert!(t.has_final());
        assert_eq!(
            t.deadline(),
            Some((start + Duration::from_secs(32), Timer::J))
        );
    }

    #[test]
    fn over_a_reliable_transport_timer_j_is_zero() {
        let start = crate::time::virtual_epoch();
        let mut t = ServerNonInvite::over(TimerConfig::default(), Transport::Tcp);
        t.on_send(start, 200);
        assert_eq!(t.deadline(), Some((start, Timer::J)));
        assert_eq!(t.on_timeout(start), ServerNonInviteAction::Terminated);
    }
}
