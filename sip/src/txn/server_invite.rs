//! INVITE server transaction (RFC 3261 §17.2.1, with RFC 6026's Accepted state).
//!
//! One type per state, each holding only the timers that run in it: G and H exist only in
//! Completed, I only in Confirmed, the 2xx retransmit and L only in Accepted. Transitions
//! consume the state they leave. Over a reliable transport (TCP, TLS) Timer G is never armed
//! and Timer I is zero; the 2xx is still retransmitted until the ACK, because RFC 3261
//! §13.3.1.4 makes that the UAS core's job end to end, whatever this hop's transport.
//!
//! Only Proceeding can send a final, so a second final response has no method to call:
//!
//! ```compile_fail
//! # use sip::txn::{server_invite::Proceeding, TimerConfig};
//! let (now, cfg) = (sip::time::virtual_epoch(), TimerConfig::default());
//! let udp = sip::Transport::Udp;
//! let _ = Proceeding.on_send_non_2xx(now, cfg, udp).on_send_2xx(now, cfg);
//! ```

use std::time::Instant;

use super::timers::{earliest, Retransmit, Timer, TimerConfig};
use crate::peer::Transport;

/// Request received, no final sent; retransmitted INVITEs get the last provisional again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proceeding;

/// A non-2xx final sent: Timer G retransmits it (UDP only), Timer H waits for the ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completed {
    timer_g: Retransmit,
    timer_h: Instant,
}

/// The ACK arrived; Timer I absorbs ACK retransmissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confirmed {
    timer_i: Instant,
}

/// A 2xx sent: retransmitted until the dialog's ACK, Timer L bounds the wait (RFC 6026).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// The 2xx retransmit (RFC 3261 §13.3.1.4, kept here); `None` once the ACK came.
    retransmit_2xx: Option<Retransmit>,
    timer_l: Instant,
}

/// Where an INVITE server transaction stands; each variant carries only its own timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerInviteState {
    Proceeding(Proceeding),
    Completed(Completed),
    Confirmed(Confirmed),
    Accepted(Accepted),
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

impl Proceeding {
    /// The TU sent a 2xx.
    pub fn on_send_2xx(self, now: Instant, cfg: TimerConfig) -> Accepted {
        Accepted {
            retransmit_2xx: Some(Retransmit::first(now, cfg)),
            timer_l: now + cfg.timeout(),
        }
    }

    /// The TU sent a final above 299.
    pub fn on_send_non_2xx(
        self,
        now: Instant,
        cfg: TimerConfig,
        transport: Transport,
    ) -> Completed {
        let timer_h = now + cfg.timeout();
        Completed {
            timer_g: Retransmit::first_over(now, cfg, transport, timer_h),
            timer_h,
        }
    }
}

impl Completed {
    #[inline]
    pub fn deadline(&self) -> (Instant, Timer) {
        earliest((self.timer_g.at, Timer::G), (self.timer_h, Timer::H))
    }

    /// Timer G fired: the final goes again, the interval doubling up to T2.
    #[inline]
    pub fn retransmitted(self, cfg: TimerConfig) -> Self {
        Self {
            timer_g: self.timer_g.doubled(Some(cfg.t2)),
            ..self
        }
    }

    pub fn on_ack(self, now: Instant, cfg: TimerConfig, transport: Transport) -> Confirmed {
        Confirmed {
            timer_i: now + cfg.linger(transport),
        }
    }
}

impl Confirmed {
    #[inline]
    pub fn deadline(&self) -> (Instant, Timer) {
        (self.timer_i, Timer::I)
    }
}

impl Accepted {
    #[inline]
    pub fn deadline(&self) -> (Instant, Timer) {
        let limit = (self.timer_l, Timer::L);
        match self.retransmit_2xx {
            Some(r) => earliest((r.at, Timer::Retransmit2xx), limit),
            None => limit,
        }
    }

    pub fn acked(&self) -> bool {
        self.retransmit_2xx.is_none()
    }

    /// The 2xx retransmit fired: the 2xx goes again, the interval doubling up to T2.
    #[inline]
    pub fn retransmitted(self, cfg: TimerConfig) -> Self {
        Self {
            retransmit_2xx: self.retransmit_2xx.map(|r| r.doubled(Some(cfg.t2))),
            ..self
        }
    }

    /// The dialog's ACK stops the 2xx retransmits; the transaction stays to absorb INVITE
    /// retransmits until Timer L. True the first time.
    pub fn on_ack(&mut self) -> bool {
        self.retransmit_2xx.take().is_some()
    }
}

impl ServerInviteState {
    #[inline]
    pub fn deadline(&self) -> Option<(Instant, Timer)> {
        match self {
            Self::Completed(s) => Some(s.deadline()),
            Self::Confirmed(s) => Some(s.deadline()),
            Self::Accepted(s) => Some(s.deadline()),
            Self::Proceeding(_) | Self::Terminated => None,
        }
    }
}

/// An INVITE server transaction.
#[derive(Debug)]
pub struct ServerInvite {
    state: ServerInviteState,
    cfg: TimerConfig,
    transport: Transport,
    retransmissions: u32,
}

impl ServerInvite {
    /// A new INVITE arrived over UDP; the TU answers it through `on_send`.
    pub fn new(cfg: TimerConfig) -> Self {
        Self::over(cfg, Transport::Udp)
    }

    /// A new INVITE arrived over `transport`.
    pub fn over(cfg: TimerConfig, transport: Transport) -> Self {
        Self {
            state: ServerInviteState::Proceeding(Proceeding),
            cfg,
            transport,
            retransmissions: 0,
        }
    }

    pub fn state(&self) -> &ServerInviteState {
        &self.state
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ServerInviteState::Terminated
    }

    /// Whether a final response has gone out.
    pub fn has_final(&self) -> bool {
        !matches!(self.state, ServerInviteState::Proceeding(_))
    }

    pub fn retransmissions(&self) -> u32 {
        self.retransmissions
    }

    /// The TU sent a response with `status`; only the first final moves the machine.
    pub fn on_send(&mut self, now: Instant, status: u16) {
        use ServerInviteState as S;
        self.state = match self.state {
            S::Proceeding(s) => match status {
                100..=199 => S::Proceeding(s),
                200..=299 => S::Accepted(s.on_send_2xx(now, self.cfg)),
                _ => S::Completed(s.on_send_non_2xx(now, self.cfg, self.transport)),
            },
            other => other,
        };
    }

    /// The INVITE arrived again (same transaction key).
    pub fn on_retransmitted_request(&mut self) -> ServerInviteAction {
        match self.state {
            ServerInviteState::Proceeding(_)
            | ServerInviteState::Completed(_)
            | ServerInviteState::Accepted(_) => ServerInviteAction::ResendLast,
            _ => ServerInviteAction::None,
        }
    }

    /// An ACK for our final response: for a non-2xx it matches the transaction key; for a
    /// 2xx the dialog matched it and passes it here.
    pub fn on_ack(&mut self, now: Instant) -> ServerInviteAction {
        use ServerInviteState as S;
        let (next, action) = match self.state {
            S::Completed(s) => (
                S::Confirmed(s.on_ack(now, self.cfg, self.transport)),
                ServerInviteAction::Acked,
            ),
            S::Accepted(mut s) => {
                let action = if s.on_ack() {
                    ServerInviteAction::Acked
                } else {
                    ServerInviteAction::None
                };
                (S::Accepted(s), action)
            }
            other => (other, ServerInviteAction::None),
        };
        self.state = next;
        action
    }

    #[inline]
    pub fn deadline(&self) -> Option<(Instant, Timer)> {
        self.state.deadline()
    }

    pub fn on_timeout(&mut self, now: Instant) -> ServerInviteAction {
        use ServerInviteAction as A;
        use ServerInviteState as S;
        let Some((at, timer)) = self.state.deadline() else {
            return A::None;
        };
        if now < at {
            return A::None;
        }
        let (next, action) = match (self.state, timer) {
            (S::Completed(s), Timer::G) => (S::Completed(s.retransmitted(self.cfg)), A::ResendLast),
            (S::Completed(_), _) => (S::Terminated, A::AckTimeout),
            (S::Accepted(s), Timer::Retransmit2xx) => {
                (S::Accepted(s.retransmitted(self.cfg)), A::ResendLast)
            }
            (S::Accepted(s), _) if !s.acked() => (S::Terminated, A::AckTimeout),
            // Timer I, or L after the ACK: the lingering is over.
            _ => (S::Terminated, A::Terminated),
        };
        if action == A::ResendLast {
            self.retransmissions += 1;
        }
        self.state = next;
        action
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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

    #[test]
    fn only_the_first_final_moves_the_machine() {
        let start = crate::time::virtual_epoch();
        let mut t = ServerInvite::new(TimerConfig::default());
        assert!(!t.has_final());
        t.on_send(start, 486);
        t.on_send(start, 200);
        assert!(t.has_final());
        assert!(matches!(t.state(), ServerInviteState::Completed(_)));
        assert_eq!(
            t.deadline(),
            Some((start + Duration::from_millis(500), Timer::G))
        );
    }

    #[test]
    fn accepted_without_ack_ends_in_ack_timeout_at_64_t1() {
        let start = crate::time::virtual_epoch();
        let mut t = ServerInvite::new(TimerConfig::default());
        t.on_send(start, 200);
        let mut end = None;
        while let Some((at, _)) = t.deadline() {
            match t.on_timeout(at) {
                ServerInviteAction::ResendLast => {}
                other => end = Some(((at - start).as_millis(), other)),
            }
        }
        assert_eq!(end, Some((32_000, ServerInviteAction::AckTimeout)));
        assert_eq!(t.retransmissions(), 10);
        assert!(t.is_terminated());
        assert_eq!(t.on_ack(start), ServerInviteAction::None);
    }

    #[test]
    fn confirmed_carries_only_timer_i() {
        let start = crate::time::virtual_epoch();
        let cfg = TimerConfig::default();
        let completed = Proceeding
            .on_send_non_2xx(start, cfg, Transport::Udp)
            .retransmitted(cfg);
        assert_eq!(
            completed.deadline(),
            (start + Duration::from_millis(1500), Timer::G)
        );
        let confirmed = completed.on_ack(start + Duration::from_secs(1), cfg, Transport::Udp);
        assert_eq!(
            confirmed.deadline(),
            (start + Duration::from_secs(6), Timer::I)
        );
    }

    #[test]
    fn over_a_reliable_transport_no_timer_g_and_no_timer_i() {
        let start = crate::time::virtual_epoch();
        let mut t = ServerInvite::over(TimerConfig::default(), Transport::Tls);
        t.on_send(start, 486);
        // Only Timer H waits for the ACK.
        assert_eq!(
            t.deadline(),
            Some((start + Duration::from_secs(32), Timer::H))
        );
        let at = start + Duration::from_millis(30);
        assert_eq!(t.on_ack(at), ServerInviteAction::Acked);
        assert_eq!(t.deadline(), Some((at, Timer::I)));
        assert_eq!(t.on_timeout(at), ServerInviteAction::Terminated);
        // The 2xx is the UAS core's to retransmit end to end (§13.3.1.4), on any transport.
        let mut t = ServerInvite::over(TimerConfig::default(), Transport::Tcp);
        t.on_send(start, 200);
        assert_eq!(
            t.deadline(),
            Some((start + Duration::from_millis(500), Timer::Retransmit2xx))
        );
    }
}
