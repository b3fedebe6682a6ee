//! INVITE client transaction (RFC 3261 §17.1.1, with RFC 6026's Accepted state).
//!
//! One type per state, each holding only the timers that run in it, so Timer A cannot be armed
//! in Proceeding and Timer D exists only in Completed. Transitions consume the state they
//! leave. Over a reliable transport (TCP, TLS) Calling arms no Timer A and Timer D is zero. [`ClientInvite`] carries the state for the layer, which keeps its machines in one map.
//!
//! Retransmitting from Calling is a method of [`Calling`]:
//!
//! ```
//! # use sip::txn::{client_invite::Calling, TimerConfig};
//! let calling = Calling::new(sip::time::virtual_epoch(), TimerConfig::default());
//! let calling = calling.retransmitted();
//! let _proceeding = calling.on_provisional();
//! ```
//!
//! and Proceeding has no Timer A to fire:
//!
//! ```compile_fail
//! # use sip::txn::{client_invite::Calling, TimerConfig};
//! let calling = Calling::new(sip::time::virtual_epoch(), TimerConfig::default());
//! let _ = calling.on_provisional().retransmitted();
//! ```

use std::time::Instant;

use super::timers::{earliest, Retransmit, Timer, TimerConfig};
use crate::peer::Transport;

/// INVITE sent, no response yet: Timer A retransmits (on UDP), Timer B gives up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calling {
    timer_a: Retransmit,
    timer_b: Instant,
}

/// A provisional arrived: retransmits stop and nothing is armed; the TU's ring timeout governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proceeding;

/// A non-2xx final arrived and was ACKed; Timer D absorbs its retransmissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completed {
    timer_d: Instant,
}

/// A 2xx arrived; Timer M keeps the transaction so 2xx retransmits are re-ACKed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    timer_m: Instant,
}

/// Where an INVITE client transaction stands; each variant carries only its own timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientInviteState {
    Calling(Calling),
    Proceeding(Proceeding),
    Completed(Completed),
    Accepted(Accepted),
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

impl Calling {
    /// The INVITE has just been sent (once, by the caller) over UDP.
    pub fn new(now: Instant, cfg: TimerConfig) -> Self {
        Self::over(now, cfg, Transport::Udp)
    }

    /// The INVITE has just been sent over `transport`.
    pub fn over(now: Instant, cfg: TimerConfig, transport: Transport) -> Self {
        let timer_b = now + cfg.timeout();
        Self {
            timer_a: Retransmit::first_over(now, cfg, transport, timer_b),
            timer_b,
        }
    }

    /// Timer A or, once A would fire after it (or without A), Timer B.
    #[inline]
    pub fn deadline(&self) -> (Instant, Timer) {
        earliest((self.timer_a.at, Timer::A), (self.timer_b, Timer::B))
    }

    /// Timer A fired: the INVITE goes again and the interval doubles, without the T2 cap that
    /// non-INVITE requests have (§17.1.1.2).
    #[inline]
    pub fn retransmitted(self) -> Self {
        Self {
            timer_a: self.timer_a.doubled(None),
            ..self
        }
    }

    pub fn on_provisional(self) -> Proceeding {
        Proceeding
    }

    /// A final response: 2xx to Accepted, anything else to Completed.
    pub fn on_final(
        self,
        now: Instant,
        status: u16,
        cfg: TimerConfig,
        transport: Transport,
    ) -> ClientInviteState {
        final_response(now, status, cfg, transport)
    }
}

impl Proceeding {
    pub fn on_final(
        self,
        now: Instant,
        status: u16,
        cfg: TimerConfig,
        transport: Transport,
    ) -> ClientInviteState {
        final_response(now, status, cfg, transport)
    }
}

fn final_response(
    now: Instant,
    status: u16,
    cfg: TimerConfig,
    transport: Transport,
) -> ClientInviteState {
    if (200..300).contains(&status) {
        // Timer M is 64·T1 on every transport (RFC 6026 §8.4): the 2xx may be retransmitted
        // end to end by the UAS core even when this hop is reliable.
        ClientInviteState::Accepted(Accepted {
            timer_m: now + cfg.timeout(),
        })
    } else {
        ClientInviteState::Completed(Completed {
            timer_d: now + cfg.timer_d_over(transport),
        })
    }
}

impl Completed {
    #[inline]
    pub fn deadline(&self) -> (Instant, Timer) {
        (self.timer_d, Timer::D)
    }

    /// A response in Completed: the non-2xx final again needs the ACK again.
    pub fn on_response(&self, status: u16) -> ClientInviteAction {
        match status {
            300..=699 => ClientInviteAction::AckNon2xx { first: false },
            _ => ClientInviteAction::None,
        }
    }
}

impl Accepted {
    #[inline]
    pub fn deadline(&self) -> (Instant, Timer) {
        (self.timer_m, Timer::M)
    }

    /// A response in Accepted: a retransmitted 2xx is ACKed again by the transaction.
    pub fn on_response(&self, status: u16) -> ClientInviteAction {
        match status {
            200..=299 => ClientInviteAction::ReAck2xx,
            _ => ClientInviteAction::None,
        }
    }
}

impl ClientInviteState {
    /// The earliest armed timer.
    #[inline]
    pub fn deadline(&self) -> Option<(Instant, Timer)> {
        match self {
            Self::Calling(s) => Some(s.deadline()),
            Self::Completed(s) => Some(s.deadline()),
            Self::Accepted(s) => Some(s.deadline()),
            Self::Proceeding(_) | Self::Terminated => None,
        }
    }
}

/// An INVITE client transaction: its state and what outlives a state.
#[derive(Debug)]
pub struct ClientInvite {
    state: ClientInviteState,
    cfg: TimerConfig,
    transport: Transport,
    retransmissions: u32,
}

impl ClientInvite {
    /// Starts the transaction over UDP; the caller sends the INVITE once now.
    pub fn new(now: Instant, cfg: TimerConfig) -> Self {
        Self::over(now, cfg, Transport::Udp)
    }

    /// Starts the transaction over `transport`; the caller sends the INVITE once now.
    pub fn over(now: Instant, cfg: TimerConfig, transport: Transport) -> Self {
        Self {
            state: ClientInviteState::Calling(Calling::over(now, cfg, transport)),
            cfg,
            transport,
            retransmissions: 0,
        }
    }

    pub fn state(&self) -> &ClientInviteState {
        &self.state
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ClientInviteState::Terminated
    }

    /// Retransmissions sent so far.
    pub fn retransmissions(&self) -> u32 {
        self.retransmissions
    }

    /// A response matched this transaction.
    pub fn on_response(&mut self, now: Instant, status: u16) -> ClientInviteAction {
        use ClientInviteState as S;
        let provisional = (100..200).contains(&status);
        let (next, action) = match self.state {
            S::Calling(s) if provisional => (
                S::Proceeding(s.on_provisional()),
                ClientInviteAction::Deliver,
            ),
            S::Proceeding(s) if provisional => (S::Proceeding(s), ClientInviteAction::Deliver),
            S::Calling(s) => first_final(s.on_final(now, status, self.cfg, self.transport)),
            S::Proceeding(s) => first_final(s.on_final(now, status, self.cfg, self.transport)),
            S::Completed(s) => {
                let action = s.on_response(status);
                (S::Completed(s), action)
            }
            S::Accepted(s) => {
                let action = s.on_response(status);
                (S::Accepted(s), action)
            }
            S::Terminated => (S::Terminated, ClientInviteAction::None),
        };
        self.state = next;
        action
    }

    /// The earliest armed timer.
    #[inline]
    pub fn deadline(&self) -> Option<(Instant, Timer)> {
        self.state.deadline()
    }

    /// Fires whatever is due at `now`.
    pub fn on_timeout(&mut self, now: Instant) -> ClientInviteAction {
        use ClientInviteState as S;
        let Some((at, timer)) = self.state.deadline() else {
            return ClientInviteAction::None;
        };
        if now < at {
            return ClientInviteAction::None;
        }
        match &mut self.state {
            // Timer A: Calling again, in place.
            S::Calling(s) if timer == Timer::A => {
                *s = s.retransmitted();
                self.retransmissions += 1;
                ClientInviteAction::Retransmit
            }
            S::Calling(_) => {
                self.state = S::Terminated;
                ClientInviteAction::TimedOut
            }
            // Timer D or M: the lingering is over.
            _ => {
                self.state = S::Terminated;
                ClientInviteAction::Terminated
            }
        }
    }

    /// The TU gave up (e.g. CANCEL got no final response in 64·T1): end without a timeout report.
    pub fn abandon(&mut self) {
        self.state = ClientInviteState::Terminated;
    }
}

/// The first final response: a 2xx goes to the TU, a non-2xx needs its ACK first.
fn first_final(next: ClientInviteState) -> (ClientInviteState, ClientInviteAction) {
    let action = match next {
        ClientInviteState::Accepted(_) => ClientInviteAction::Deliver,
        _ => ClientInviteAction::AckNon2xx { first: true },
    };
    (next, action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
        assert!(t.is_terminated());
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

    #[test]
    fn timer_a_is_gone_once_proceeding() {
        let start = crate::time::virtual_epoch();
        let mut t = ClientInvite::new(start, TimerConfig::default());
        t.on_response(start + ms(10), 100);
        assert_eq!(t.state(), &ClientInviteState::Proceeding(Proceeding));
        // Where Timer A and Timer B would have fired, nothing does.
        assert_eq!(t.on_timeout(start + ms(500)), ClientInviteAction::None);
        assert_eq!(t.on_timeout(start + ms(32_000)), ClientInviteAction::None);
        assert_eq!(t.retransmissions(), 0);
    }

    #[test]
    fn state_types_chain_by_value() {
        let start = crate::time::virtual_epoch();
        let cfg = TimerConfig::default();
        let calling = Calling::new(start, cfg);
        assert_eq!(calling.deadline(), (start + ms(500), Timer::A));
        let calling = calling.retransmitted();
        assert_eq!(calling.deadline(), (start + ms(1500), Timer::A));
        let accepted =
            calling
                .on_provisional()
                .on_final(start + ms(2000), 200, cfg, Transport::Udp);
        assert_eq!(accepted.deadline(), Some((start + ms(34_000), Timer::M)));
        let completed = Calling::new(start, cfg).on_final(start, 603, cfg, Transport::Udp);
        assert_eq!(completed.deadline(), Some((start + ms(32_000), Timer::D)));
    }

    #[test]
    fn over_a_reliable_transport_no_timer_a_and_no_timer_d() {
        let start = crate::time::virtual_epoch();
        let cfg = TimerConfig::default();
        let mut t = ClientInvite::over(start, cfg, Transport::Tcp);
        // Only Timer B is armed, at 64·T1.
        assert_eq!(t.deadline(), Some((start + ms(32_000), Timer::B)));
        let log = run_until_quiet(&mut t, start);
        assert_eq!(log, [(32_000, ClientInviteAction::TimedOut)]);
        assert_eq!(t.retransmissions(), 0);
        // A non-2xx final is ACKed and the transaction ends at once (Timer D is zero).
        let mut t = ClientInvite::over(start, cfg, Transport::Tls);
        let at = start + ms(40);
        assert_eq!(
            t.on_response(at, 486),
            ClientInviteAction::AckNon2xx { first: true }
        );
        assert_eq!(t.deadline(), Some((at, Timer::D)));
        assert_eq!(t.on_timeout(at), ClientInviteAction::Terminated);
        // A 2xx still lingers for Timer M, to re-ACK end-to-end retransmissions.
        let mut t = ClientInvite::over(start, cfg, Transport::Tcp);
        t.on_response(start, 200);
        assert_eq!(t.deadline(), Some((start + ms(32_000), Timer::M)));
    }

    #[test]
    fn finals_after_the_first_are_absorbed_by_kind() {
        let start = crate::time::virtual_epoch();
        let mut t = ClientInvite::new(start, TimerConfig::default());
        t.on_response(start, 486);
        // A 2xx after a non-2xx final does not reopen the transaction.
        assert_eq!(t.on_response(start, 200), ClientInviteAction::None);
        assert_eq!(t.on_response(start, 180), ClientInviteAction::None);
        let mut t = ClientInvite::new(start, TimerConfig::default());
        t.on_response(start, 200);
        assert_eq!(t.on_response(start, 486), ClientInviteAction::None);
        t.abandon();
        assert!(t.is_terminated());
        assert_eq!(t.on_response(start, 200), ClientInviteAction::None);
        assert_eq!(t.deadline(), None);
    }
}
