//! Non-INVITE server transaction (RFC 3261 §17.2.2).

use std::time::Instant;

use super::timers::{Timer, TimerConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerNonInviteState {
    /// Received, nothing sent yet: retransmissions are absorbed.
    Trying,
    /// A provisional sent: retransmissions get it again.
    Proceeding,
    /// A final sent: retransmissions get it again until Timer J.
    Completed,
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
    timer_j: Option<Instant>,
}

impl ServerNonInvite {
    pub fn new(cfg: TimerConfig) -> Self {
        Self {
            state: ServerNonInviteState::Trying,
            cfg,
            timer_j: None,
        }
    }

    pub fn state(&self) -> ServerNonInviteState {
        self.state
    }

    pub fn on_send(&mut self, now: Instant, status: u16) {
        match (self.state, status) {
            (ServerNonInviteState::Trying | ServerNonInviteState::Proceeding, 100..=199) => {
                self.state = ServerNonInviteState::Proceeding;
            }
            (ServerNonInviteState::Trying | ServerNonInviteState::Proceeding, _) => {
                self.state = ServerNonInviteState::Completed;
                self.timer_j = Some(now + self.cfg.timeout());
            }
            _ => {}
        }
    }

    pub fn on_retransmitted_request(&self) -> ServerNonInviteAction {
        match self.state {
            ServerNonInviteState::Proceeding | ServerNonInviteState::Completed => {
                ServerNonInviteAction::ResendLast
            }
            _ => ServerNonInviteAction::None,
        }
    }

    pub fn deadline(&self) -> Option<(Instant, Timer)> {
        match self.state {
            ServerNonInviteState::Completed => self.timer_j.map(|j| (j, Timer::J)),
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
}
