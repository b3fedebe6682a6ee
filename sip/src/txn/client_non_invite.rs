//! Non-INVITE client transaction (RFC 3261 §17.1.2): BYE, CANCEL, OPTIONS.
//!
//! One type per state, each holding only the timers that run in it (E and F until a final,
//! K after it); transitions consume the state they leave. Over a reliable transport (TCP, TLS)
//! Timer E is never armed and Timer K is zero.
//!
//! Completed has no Timer E, so a retransmission after the final does not compile:
//!
//! ```compile_fail
//! # use sip::txn::{client_non_invite::Trying, TimerConfig};
//! let (now, cfg) = (sip::time::virtual_epoch(), TimerConfig::default());
//! let _ = Trying::new(now, cfg).on_final(now, cfg, sip::Transport::Udp).retransmitted(cfg);
//! ```

use std::time::Instant;

use super::timers::{earliest, Retransmit, Timer, TimerConfig};
use crate::peer::Transport;

/// Request sent: Timer E retransmits (doubling to T2, UDP only), Timer F gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trying {
    timer_e: Retransmit,
    timer_f: Instant,
}

/// A provisional arrived: retransmits continue every T2 until F.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proceeding {
    timer_e: Retransmit,
    timer_f: Instant,
}

/// A final arrived; Timer K absorbs its retransmissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completed {
    timer_k: Instant,
}

/// Where a non-INVITE client transaction stands; each variant carries only its own timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientNonInviteState {
    Trying(Trying),
    Proceeding(Proceeding),
    Completed(Completed),
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

impl Trying {
    /// The request has just been sent (once, by the caller) over UDP.
    pub fn new(now: Instant, cfg: TimerConfig) -> Self {
        Self::over(now, cfg, Transport::Udp)
    }

    /// The request has just been sent over `transport`.
    pub fn over(now: Instant, cfg: TimerConfig, transport: Transport) -> Self {
        let timer_f = now + cfg.timeout();
        Self {
            timer_e: Retransmit::first_over(now, cfg, transport, timer_f),
            timer_f,
        }
    }

    #[inline]
    pub fn deadline(&self) -> (Instant, Timer) {
        earliest((self.timer_e.at, Timer::E), (self.timer_f, Timer::F))
    }

    /// Timer E fired: the interval doubles up to T2 (§17.1.2.2).
    #[inline]
    pub fn retransmitted(self, cfg: TimerConfig) -> Self {
        Self {
            timer_e: self.timer_e.doubled(Some(cfg.t2)),
            ..self
        }
    }

    /// A provisional: the armed E still fires; the ones after it come every T2.
    pub fn on_provisional(self) -> Proceeding {
        Proceeding {
            timer_e: self.timer_e,
            timer_f: self.timer_f,
        }
    }

    pub fn on_final(self, now: Instant, cfg: TimerConfig, transport: Transport) -> Completed {
        Completed::new(now, cfg, transport)
    }
}

impl Proceeding {
    #[inline]
    pub fn deadline(&self) -> (Instant, Timer) {
        earliest((self.timer_e.at, Timer::E), (self.timer_f, Timer::F))
    }

    /// Timer E fired: the next one comes T2 later.
    #[inline]
    pub fn retransmitted(self, cfg: TimerConfig) -> Self {
        Self {
            timer_e: self.timer_e.every(cfg.t2),
            ..self
        }
    }

    pub fn on_final(self, now: Instant, cfg: TimerConfig, transport: Transport) -> Completed {
        Completed::new(now, cfg, transport)
    }
}

impl Completed {
    fn new(now: Instant, cfg: TimerConfig, transport: Transport) -> Self {
        Self {
            timer_k: now + cfg.linger(transport),
        }
    }

    #[inline]
    pub fn deadline(&self) -> (Instant, Timer) {
        (self.timer_k, Timer::K)
    }
}

impl ClientNonInviteState {
    #[inline]
    pub fn deadline(&self) -> Option<(Instant, Timer)> {
        match self {
            Self::Trying(s) => Some(s.deadline()),
            Self::Proceeding(s) => Some(s.deadline()),
            Self::Completed(s) => Some(s.deadline()),
            Self::Terminated => None,
        }
    }
}

/// A non-INVITE client transaction.
#[derive(Debug)]
pub struct ClientNonInvite {
    state: ClientNonInviteState,
    cfg: TimerConfig,
    transport: Transport,
    retransmissions: u32,
}

impl ClientNonInvite {
    /// Starts the transaction over UDP; the caller sends the request once now.
    pub fn new(now: Instant, cfg: TimerConfig) -> Self {
        Self::over(now, cfg, Transport::Udp)
    }

    /// Starts the transaction over `transport`; the caller sends the request once now.
    pub fn over(now: Instant, cfg: TimerConfig, transport: Transport) -> Self {
        Self {
            state: ClientNonInviteState::Trying(Trying::over(now, cfg, transport)),
            cfg,
            transport,
            retransmissions: 0,
        }
    }

    pub fn state(&self) -> &ClientNonInviteState {
        &self.state
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ClientNonInviteState::Terminated
    }

    pub fn retransmissions(&self) -> u32 {
        self.retransmissions
    }

    pub fn on_response(&mut self, now: Instant, status: u16) -> ClientNonInviteAction {
        use ClientNonInviteAction::Deliver;
        use ClientNonInviteState as S;
        let provisional = (100..200).contains(&status);
        let (next, action) = match self.state {
            S::Trying(s) if provisional => (S::Proceeding(s.on_provisional()), Deliver),
            S::Proceeding(s) if provisional => (S::Proceeding(s), Deliver),
            S::Trying(s) => (
                S::Completed(s.on_final(now, self.cfg, self.transport)),
                Deliver,
            ),
            S::Proceeding(s) => (
                S::Completed(s.on_final(now, self.cfg, self.transport)),
                Deliver,
            ),
            other => (other, ClientNonInviteAction::None),
        };
        self.state = next;
        action
    }

    #[inline]
    pub fn deadline(&self) -> Option<(Instant, Timer)> {
        self.state.deadline()
    }

    pub fn on_timeout(&mut self, now: Instant) -> ClientNonInviteAction {
        use ClientNonInviteAction as A;
        use ClientNonInviteState as S;
        let Some((at, timer)) = self.state.deadline() else {
            return ClientNonInviteAction::None;
        };
        if now < at {
            return ClientNonInviteAction::None;
        }
        let (next, action) = match (self.state, timer) {
            (S::Trying(s), Timer::E) => (S::Trying(s.retransmitted(self.cfg)), A::Retransmit),
            (S::Proceeding(s), Timer::E) => {
                (S::Proceeding(s.retransmitted(self.cfg)), A::Retransmit)
            }
            (S::Trying(_) | S::Proceeding(_), _) => (S::Terminated, A::TimedOut),
            // Timer K: the lingering is over.
            _ => (S::Terminated, A::Terminated),
        };
        if action == A::Retransmit {
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

    #[test]
    fn completed_carries_only_timer_k() {
        let start = crate::time::virtual_epoch();
        let cfg = TimerConfig::default();
        let trying = Trying::new(start, cfg).retransmitted(cfg);
        assert_eq!(
            trying.deadline(),
            (start + Duration::from_millis(1500), Timer::E)
        );
        let proceeding = trying.on_provisional().retransmitted(cfg);
        // The E armed in Trying (1.5 s) fired; the next is T2 after it.
        assert_eq!(
            proceeding.deadline(),
            (start + Duration::from_millis(5500), Timer::E)
        );
        let completed = proceeding.on_final(start + Duration::from_secs(6), cfg, Transport::Udp);
        assert_eq!(
            completed.deadline(),
            (start + Duration::from_secs(11), Timer::K)
        );
    }

    #[test]
    fn over_a_reliable_transport_no_timer_e_and_no_timer_k() {
        let start = crate::time::virtual_epoch();
        let mut t = ClientNonInvite::over(start, TimerConfig::default(), Transport::Tcp);
        assert_eq!(
            t.deadline(),
            Some((start + Duration::from_secs(32), Timer::F))
        );
        assert_eq!(
            t.on_response(start + Duration::from_millis(100), 100),
            ClientNonInviteAction::Deliver
        );
        assert_eq!(
            t.deadline(),
            Some((start + Duration::from_secs(32), Timer::F))
        );
        let at = start + Duration::from_millis(200);
        assert_eq!(t.on_response(at, 200), ClientNonInviteAction::Deliver);
        assert_eq!(t.deadline(), Some((at, Timer::K)));
        assert_eq!(t.on_timeout(at), ClientNonInviteAction::Terminated);
        assert_eq!(t.retransmissions(), 0);
    }

    #[test]
    fn terminated_absorbs_everything() {
        let start = crate::time::virtual_epoch();
        let mut t = ClientNonInvite::new(start, TimerConfig::default());
        assert_eq!(
            t.on_timeout(start + Duration::from_secs(40)),
            ClientNonInviteAction::Retransmit
        );
        while let Some((at, _)) = t.deadline() {
            t.on_timeout(at);
        }
        assert!(t.is_terminated());
        assert_eq!(t.on_response(start, 200), ClientNonInviteAction::None);
        assert_eq!(
            t.on_timeout(start + Duration::from_secs(99)),
            ClientNonInviteAction::None
        );
    }
}
