//! INVITE server transaction (RFC 3261 §17.2.1, with RFC 6026's Accepted state).

use std::time::{Duration, Instant};

use super::timers::{Timer, TimerConfig};

/// Where an INVITE server transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerInviteState {
    /// Request received; retransmitted INVITEs get the last provisional again.
    Proceeding,
    /// A non-2xx final sent: Timer G retransmits it, Timer H waits for the ACK.
    Completed,
    /// The ACK arrived; Timer I absorbs ACK retransmissions.
    Confirmed,
    /// A 2xx sent: retransmitted until the dialog's ACK, Timer L bounds the wait (RFC 6026).
    Accepted,
    Terminated,
}

/// What the transaction asks for after an input.
#[derive(Debug, PartialEq, Eq)]
pub enum ServerInviteAction {
    None,
    /// Send the last response again (provisional, final or 2xx).
    ResendLast,
    /// An ACK confirmed the final response; tell the TU once.
    Acked,
    /// No ACK came for our final response (Timer H, or 64·T1 of 2xx retransmits).
    AckTimeout,
    Terminated,
}

/// An INVITE server transaction on an unreliable transport.
#[derive(Debug)]
pub struct ServerInvite {
    state: ServerInviteState,
    cfg: TimerConfig,
    /// Retransmit timer (G, or the 2xx one) and its current interval.
    resend: Option<(Instant, Duration, Timer)>,
    /// H, I or L.
    limit: Option<(Instant, Timer)>,
    retransmissions: u32,
}

impl ServerInvite {
    /// A new INVITE arrived; the TU answers it with `on_send_*`.
    pub fn new(cfg: TimerConfig) -> Self {
        Self {
            state: ServerInviteState::Proceeding,
            cfg,
            resend: None,
            limit: None,
            retransmissions: 0,
        }
    }

    pub fn state(&self) -> ServerInviteState {
        self.state
    }

    pub fn retransmissions(&self) -> u32 {
        self.retransmissions
    }

    /// The TU sent a response with `status`.
    pub fn on_send(&mut self, now: Instant, status: u16) {
        if self.state != ServerInviteState::Proceeding {
            return;
        }
        match status {
            100..=199 => {}
            200..=299 => {
                self.state = ServerInviteState::Accepted;
                self.resend = Some((now + self.cfg.t1, self.cfg.t1, Timer::Retransmit2xx));
                self.limit = Some((now + self.cfg.timeout(), Timer::L));
            }
            _ => {
                self.state = ServerInviteState::Completed;
                self.resend = Some((now + self.cfg.t1, self.cfg.t1, Timer::G));
                self.limit = Some((now + self.cfg.timeout(), Timer::H));
            }
        }
    }

    /// The INVITE arrived again (same transaction key).
    pub fn on_retransmitted_request(&mut self) -> ServerInviteAction {
        match self.state {
            ServerInviteState::Proceeding
            | ServerInviteState::Completed
            | ServerInviteState::Accepted => ServerInviteAction::ResendLast,
            _ => ServerInviteAction::None,
        }
    }

    /// An ACK for our final response: for a non-2xx it matches the transaction key; for a
    /// 2xx the dialog matched it and passes it here.
    pub fn on_ack(&mut self, now: Instant) -> ServerInviteAction {
        match self.state {
            ServerInviteState::Completed => {
                self.state = ServerInviteState::Confirmed;
                self.resend = None;
                self.limit = Some((now + self.cfg.t4, Timer::I));
                ServerInviteAction::Acked
            }
            ServerInviteState::Accepted => {
                // The ACK stops the 2xx retransmits; the transaction stays to absorb
                // INVITE retransmits until Timer L.
                if self.resend.take().is_some() {
                    ServerInviteAction::Acked
                } else {
                    ServerInviteAction::None
                }
            }
            _ => ServerInviteAction::None,
        }
    }

    pub fn deadline(&self) -> Option<(Instant, Timer)> {
        if self.state == ServerInviteState::Terminated {
            return None;
        }
        let resend = self.resend.map(|(at, _, t)| (at, t));
        match (resend, self.limit) {
            (Some(r), Some(l)) => Some(if r.0 < l.0 { r } else { l }),
            (r, l) => r.or(l),
        }
    }

    pub fn on_timeout(&mut self, now: Instant) -> ServerInviteAction {
        let Some((at, timer)) = self.deadline() else {
            return ServerInviteAction::None;
        };
        if now < at {
            return ServerInviteAction::None;
        }
        match timer {
            Timer::G | Timer::Retransmit2xx => {
                let interval = self.resend.map_or(self.cfg.t1, |(_, i, _)| i);
                let next = (interval * 2).min(self.cfg.t2);
                self.resend = Some((at + next, next, timer));
                self.retransmissions += 1;
                ServerInviteAction::ResendLast
            }
            Timer::H => {
                self.state = ServerInviteState::Terminated;
                ServerInviteAction::AckTimeout
            }
            Timer::L => {
                let unacked = self.resend.is_some();
                self.state = ServerInviteState::Terminated;
                if unacked {
                    ServerInviteAction::AckTimeout
                } else {
                    ServerInviteAction::Terminated
                }
            }
            _ => {
                self.state = ServerInviteState::Terminated;
                ServerInviteAction::Terminated
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_2xx_final_retransmits_g_until_h() {
        let start = crate::time::virtual_epoch();
        let mut t = ServerInvite::new(TimerConfig::default());
        t.on_send(start, 486);
        let mut resends = Vec::new();
        let mut end = None;
        while let Some((at, _)) = t.deadline() {
            match t.on_timeout(at) {
                ServerInviteAction::ResendLast => resends.push((at - start).as_millis()),
                other => end = Some(((at - start).as_millis(), other)),
            }
        }
        assert_eq!(
            resends,
            vec![500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]
        );
        assert_eq!(end, Some((32_000, ServerInviteAction::AckTimeout)));
    }

    #[test]
    fn ack_confirms_then_timer_i_after_t4() {
        let start = crate::time::virtual_epoch();
        let mut t = ServerInvite::new(TimerConfig::default());
        t.on_send(start, 487);
        let at = start + Duration::from_millis(30);
        assert_eq!(t.on_ack(at), ServerInviteAction::Acked);
        assert_eq!(t.on_ack(at), ServerInviteAction::None);
        assert_eq!(t.deadline(), Some((at + Duration::from_secs(5), Timer::I)));
        assert_eq!(t.on_retransmitted_request(), ServerInviteAction::None);
    }

    #[test]
    fn two_xx_retransmits_until_ack() {
        let start = crate::time::virtual_epoch();
        let mut t = ServerInvite::new(TimerConfig::default());
        t.on_send(start, 180);
        assert_eq!(t.on_retransmitted_request(), ServerInviteAction::ResendLast);
        t.on_send(start, 200);
        assert_eq!(
            t.on_timeout(start + Duration::from_millis(500)),
            ServerInviteAction::ResendLast
        );
        assert_eq!(
            t.on_ack(start + Duration::from_millis(700)),
            ServerInviteAction::Acked
        );
        assert_eq!(
            t.deadline(),
            Some((start + Duration::from_secs(32), Timer::L))
        );
        assert_eq!(
            t.on_timeout(start + Duration::from_secs(32)),
            ServerInviteAction::Terminated
        );
    }
}
