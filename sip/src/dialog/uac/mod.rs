//! Our side of a call we place: the INVITE and its digest retries, CANCEL, the 2xx and its
//! ACK, BYE. Each state keeps only what exists in it.

use std::mem;
use std::time::{Duration, Instant};

use super::{EndReason, Local, Request};
use crate::auth::{self, Challenge, Credentials};
use crate::build;
use crate::ids::{DialogIds, IdGen};
use crate::peer::Peer;
use crate::txn::{MethodClass, TimerOutcome, TxnId};

mod requests;

/// What every request of a call we place repeats; fixed for the call's life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UacParams {
    /// The caller's id (an attempt id): the endpoint maps it to the call, and the Call-ID
    /// starts with it (`ids::call_id_prefix`); everything else in the identifiers is random.
    pub id: u64,
    /// The next hop every request of the call goes to.
    pub target: Peer,
    pub request_uri: String,
    pub from_uri: String,
    pub to_uri: String,
    /// SDP offer of the INVITE, repeated as the answer to a re-INVITE.
    pub offer: Option<Vec<u8>>,
    pub extra: Vec<(String, String)>,
}

/// Our side of a call we placed.
#[derive(Debug)]
pub struct Uac {
    call: UacParams,
    ids: DialogIds,
    /// CSeq of our latest request.
    cseq: u32,
    state: State,
}

#[derive(Debug)]
enum State {
    Inviting(Inviting),
    /// 2xx received and ACKed.
    Confirmed(Established),
    /// Our BYE is out, waiting for its final response.
    Terminating(Established),
}

/// Our INVITE has no final response yet.
#[derive(Debug)]
struct Inviting {
    txn: TxnId,
    branch: String,
    /// Digest retries so far.
    auth_tries: u8,
    progress: Progress,
    wish: Wish,
}

/// The provisional responses to the current INVITE so far.
#[derive(Debug, PartialEq, Eq)]
enum Progress {
    /// None: a CANCEL has to wait for one (RFC 3261 §9.1).
    Calling,
    /// 100 Trying only.
    Trying,
    /// One above 100: an early dialog when it carried a To-tag.
    Early { remote_tag: Option<String> },
}

/// Whether we still want the call answered.
#[derive(Debug)]
enum Wish {
    /// Yes, until the ring timeout if there is one.
    Ringing { deadline: Option<Instant> },
    /// No: the CANCEL is out (or waits for a provisional); with no final response by `guard`
    /// the INVITE is abandoned.
    Cancelling { reason: EndReason, guard: Instant },
}

/// The dialog a 2xx established.
#[derive(Debug, Default)]
struct Established {
    remote_tag: Option<String>,
    /// Contact of the 2xx: where in-dialog requests go.
    remote_target: Option<String>,
    /// Record-Route of the 2xx, reversed.
    route: Vec<String>,
}

/// What hanging up (or the ring timeout) asks the endpoint to do.
#[derive(Debug, PartialEq, Eq)]
pub enum HangUp {
    /// Nothing: the call is already being cancelled or ended.
    Nothing,
    /// The CANCEL waits for a provisional; arm the call's deadline (the guard).
    CancelDeferred,
    /// Send this CANCEL and arm the call's deadline (the guard).
    Cancel(Request),
    /// The call was answered: send this BYE.
    Bye(Request),
}

/// What the call's own deadline meant when it came.
#[derive(Debug, PartialEq, Eq)]
pub enum Expired {
    /// Not due, or nothing armed (a stale timer entry).
    NotDue,
    /// The ring timeout: the call is being cancelled.
    RingTimeout(HangUp),
    /// No final response within the guard after our CANCEL: abandon the INVITE and end (§9.1).
    Abandon { invite: TxnId, reason: EndReason },
}

/// What a 2xx to our INVITE asks for.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    /// The ACK, for the INVITE transaction to send and keep for 2xx retransmits.
    pub ack: Vec<u8>,
    /// A BYE to send at once: we had given up on the call before the answer came.
    pub bye: Option<Request>,
}

impl Uac {
    /// Places a call: writes the first INVITE (its identifiers fresh from `gen`) and hands it
    /// to `start`, which starts its client transaction and names it.
    pub fn new(
        call: UacParams,
        ring_deadline: Option<Instant>,
        local: Local<'_>,
        gen: &mut IdGen,
        start: impl FnOnce(Request) -> TxnId,
    ) -> (Self, TxnId) {
        let ids = gen.dialog(local.namespace, call.id, &local.addr.ip().to_string());
        let cseq = 1;
        let branch = gen.branch();
        let bytes = requests::invite(&call, &ids, local, &branch, cseq, None);
        let txn = start(Request {
            method: MethodClass::Invite,
            branch: branch.clone(),
            dest: call.target,
            bytes,
        });
        let inviting = Inviting {
            txn,
            branch,
            auth_tries: 0,
            progress: Progress::Calling,
            wish: Wish::Ringing {
                deadline: ring_deadline,
            },
        };
        let uac = Self {
            call,
            ids,
            cseq,
            state: State::Inviting(inviting),
        };
        (uac, txn)
    }

    pub fn id(&self) -> u64 {
        self.call.id
    }

    pub fn call_id(&self) -> &str {
        &self.ids.call_id
    }

    pub fn target(&self) -> Peer {
        self.call.target
    }

    /// Whether `txn` is the INVITE we are waiting on (not an earlier, challenged one).
    pub fn is_current_invite(&self, txn: TxnId) -> bool {
        matches!(&self.state, State::Inviting(i) if i.txn == txn)
    }

    /// The peer's tag: from a provisional that carried one, or from the 2xx.
    pub fn remote_tag(&self) -> Option<&str> {
        match &self.state {
            State::Inviting(Inviting {
                progress: Progress::Early { remote_tag },
                ..
            }) => remote_tag.as_deref(),
            State::Inviting(_) => None,
            State::Confirmed(d) | State::Terminating(d) => d.remote_tag.as_deref(),
        }
    }

    pub fn is_terminating(&self) -> bool {
        matches!(self.state, State::Terminating(_))
    }

    /// The call's own deadline: the ring timeout, or the guard once cancelling.
    pub fn deadline(&self) -> Option<Instant> {
        match &self.state {
            State::Inviting(i) => match &i.wish {
                Wish::Ringing { deadline } => *deadline,
                Wish::Cancelling { guard, .. } => Some(*guard),
            },
            _ => None,
        }
    }

    /// We hang up: CANCEL before a final response, BYE after the 2xx.
    pub fn hang_up(
        &mut self,
        now: Instant,
        guard: Duration,
        local: Local<'_>,
        gen: &mut IdGen,
    ) -> HangUp {
        match self.bye(local, gen) {
            Some(bye) => HangUp::Bye(bye),
            None => self.cancel(now, EndReason::LocalHangup, guard, local),
        }
    }

    /// Gives up on an unanswered call for `reason`. The CANCEL goes now if a provisional has
    /// arrived, else with the first one; with no final response within `guard` the call ends.
    pub fn cancel(
        &mut self,
        now: Instant,
        reason: EndReason,
        guard: Duration,
        local: Local<'_>,
    ) -> HangUp {
        let State::Inviting(i) = &mut self.state else {
            return HangUp::Nothing;
        };
        if let Wish::Cancelling { .. } = i.wish {
            return HangUp::Nothing;
        }
        i.wish = Wish::Cancelling {
            reason,
            guard: now + guard,
        };
        if i.progress == Progress::Calling {
            HangUp::CancelDeferred
        } else {
            HangUp::Cancel(requests::cancel(
                &self.call, &self.ids, &i.branch, self.cseq, local,
            ))
        }
    }

    /// The call's deadline came (ring timeout or cancel guard).
    pub fn on_deadline(&mut self, now: Instant, guard: Duration, local: Local<'_>) -> Expired {
        let State::Inviting(i) = &self.state else {
            return Expired::NotDue;
        };
        match &i.wish {
            Wish::Ringing { deadline: Some(at) } if *at <= now => {}
            Wish::Cancelling { reason, guard: at } if *at <= now => {
                return Expired::Abandon {
                    invite: i.txn,
                    reason: reason.clone(),
                };
            }
            _ => return Expired::NotDue,
        }
        Expired::RingTimeout(self.cancel(now, EndReason::RingTimeout, guard, local))
    }

    /// A provisional to the current INVITE. Returns the CANCEL that was waiting for one.
    pub fn on_provisional(
        &mut self,
        status: u16,
        to_tag: Option<&str>,
        local: Local<'_>,
    ) -> Option<Request> {
        let State::Inviting(i) = &mut self.state else {
            return None;
        };
        let cancel_waiting =
            i.progress == Progress::Calling && matches!(i.wish, Wish::Cancelling { .. });
        if status == 100 {
            if i.progress == Progress::Calling {
                i.progress = Progress::Trying;
            }
        } else if let (Progress::Early { .. }, None) = (&i.progress, to_tag) {
            // A later provisional without a tag keeps the tag an earlier one gave.
        } else {
            i.progress = Progress::Early {
                remote_tag: to_tag.map(str::to_owned),
            };
        }
        cancel_waiting.then(|| requests::cancel(&self.call, &self.ids, &i.branch, self.cseq, local))
    }

    /// A 2xx to the current INVITE: the dialog is confirmed with the 2xx's tag, Contact and
    /// Record-Route. `None` when no INVITE is outstanding.
    pub fn on_2xx(
        &mut self,
        to_tag: Option<&str>,
        contact: Option<&str>,
        record_route: &[&str],
        local: Local<'_>,
        gen: &mut IdGen,
    ) -> Option<Answer> {
        let State::Inviting(i) = &self.state else {
            return None;
        };
        let gave_up = matches!(i.wish, Wish::Cancelling { .. });
        let dialog = Established {
            remote_tag: to_tag.map(str::to_owned),
            remote_target: contact.map(|c| build::uri_of(c).to_owned()),
            route: record_route.iter().rev().map(|s| s.to_string()).collect(),
        };
        let branch = gen.branch();
        let ack = requests::ack_2xx(&self.call, &self.ids, &branch, self.cseq, &dialog, local);
        self.state = State::Confirmed(dialog);
        // A hang-up or the ring timeout raced the answer: ACK it, then BYE at once.
        let bye = if gave_up { self.bye(local, gen) } else { None };
        Some(Answer { ack, bye })
    }

    /// The ACK for a non-2xx final to the current INVITE (the transaction sends it).
    pub fn ack_non_2xx(&self, to_tag: Option<&str>, local: Local<'_>) -> Option<Vec<u8>> {
        let State::Inviting(i) = &self.state else {
            return None;
        };
        let (call, ids, cseq) = (&self.call, &self.ids, self.cseq);
        Some(requests::ack_non_2xx(
            call, ids, &i.branch, cseq, to_tag, local,
        ))
    }

    /// Whether a 401/407 may be answered with credentials: not while cancelling, at most
    /// twice, and a second challenge only if `stale` (a fresh nonce that is not stale means
    /// our credentials were refused).
    pub fn may_retry_auth(&self, stale: bool) -> bool {
        match &self.state {
            State::Inviting(i) => {
                matches!(i.wish, Wish::Ringing { .. })
                    && i.auth_tries < 2
                    && (i.auth_tries == 0 || stale)
            }
            _ => false,
        }
    }

    /// Sends the INVITE again with credentials for `challenge`, through `start`; `None`
    /// (nothing sent) when [`may_retry_auth`](Self::may_retry_auth) says no. The client nonce
    /// and the new branch come from `gen`.
    pub fn retry_with_auth(
        &mut self,
        header: &str,
        challenge: &Challenge,
        creds: &Credentials,
        local: Local<'_>,
        gen: &mut IdGen,
        start: impl FnOnce(Request) -> TxnId,
    ) -> Option<TxnId> {
        if !self.may_retry_auth(challenge.stale) {
            return None;
        }
        let State::Inviting(i) = &mut self.state else {
            return None;
        };
        self.cseq += 1;
        i.auth_tries += 1;
        i.progress = Progress::Calling;
        i.branch = gen.branch();
        let uri = &self.call.request_uri;
        let authz = auth::authorization(challenge, creds, "INVITE", uri, &gen.tag(), 1);
        let bytes = requests::invite(
            &self.call,
            &self.ids,
            local,
            &i.branch,
            self.cseq,
            Some((header, &authz)),
        );
        i.txn = start(Request {
            method: MethodClass::Invite,
            branch: i.branch.clone(),
            dest: self.call.target,
            bytes,
        });
        Some(i.txn)
    }

    /// Answers a 422 (RFC 4028 §7.4): the INVITE again with a Session-Expires of `min_se`
    /// and a Min-SE, if that raises the interval we asked for (so this cannot loop) and we
    /// still want the call. Returns the new INVITE's transaction.
    pub fn retry_with_interval(
        &mut self,
        min_se: Duration,
        local: Local<'_>,
        gen: &mut IdGen,
        start: impl FnOnce(Request) -> TxnId,
    ) -> Option<TxnId> {
        let State::Inviting(i) = &mut self.state else {
            return None;
        };
        if !matches!(i.wish, Wish::Ringing { .. }) {
            return None;
        }
        let secs = min_se.as_secs().to_string();
        let asked = self
            .call
            .extra
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case("session-expires"))?;
        if asked.1.trim().parse::<u64>().ok()? >= min_se.as_secs() {
            return None;
        }
        asked.1 = secs.clone();
        self.call
            .extra
            .retain(|(k, _)| !k.eq_ignore_ascii_case("min-se"));
        self.call.extra.push(("Min-SE".into(), secs));
        self.cseq += 1;
        i.progress = Progress::Calling;
        i.branch = gen.branch();
        let bytes = requests::invite(&self.call, &self.ids, local, &i.branch, self.cseq, None);
        i.txn = start(Request {
            method: MethodClass::Invite,
            branch: i.branch.clone(),
            dest: self.call.target,
            bytes,
        });
        Some(i.txn)
    }

    /// Why the call ends on a non-2xx final: our own reason when it is the 487 our CANCEL
    /// asked for, the rejection otherwise.
    pub fn rejection(&self, status: u16, retry_after: Option<Duration>) -> EndReason {
        match &self.state {
            State::Inviting(Inviting {
                wish: Wish::Cancelling { reason, .. },
                ..
            }) if status == 487 => reason.clone(),
            _ => EndReason::Rejected {
                status,
                retry_after,
            },
        }
    }

    /// Hangs up an answered call: Confirmed to Terminating. `None` in any other state.
    pub fn bye(&mut self, local: Local<'_>, gen: &mut IdGen) -> Option<Request> {
        let State::Confirmed(dialog) = &mut self.state else {
            return None;
        };
        let dialog = mem::take(dialog);
        self.cseq += 1;
        let branch = gen.branch();
        let bye = requests::bye(&self.call, &self.ids, branch, self.cseq, &dialog, local);
        self.state = State::Terminating(dialog);
        Some(bye)
    }

    /// A session refresh (UPDATE) of an answered call; `None` otherwise.
    pub fn refresh(
        &mut self,
        interval: Duration,
        local: Local<'_>,
        gen: &mut IdGen,
    ) -> Option<Request> {
        let State::Confirmed(dialog) = &self.state else {
            return None;
        };
        self.cseq += 1;
        let (branch, cseq) = (gen.branch(), self.cseq);
        Some(requests::update(
            &self.call, &self.ids, branch, cseq, dialog, local, interval,
        ))
    }

    /// Whether a BYE with this From-tag ends the call: only an answered one, from its peer.
    pub fn accepts_bye(&self, from_tag: Option<&str>) -> bool {
        match &self.state {
            State::Confirmed(d) | State::Terminating(d) => {
                d.remote_tag.is_some() && d.remote_tag.as_deref() == from_tag
            }
            State::Inviting(_) => false,
        }
    }

    /// Our tag and offer, repeated in the 200 to a re-INVITE of a confirmed call.
    pub fn reinvite_answer(&self) -> Option<(&str, Option<&[u8]>)> {
        match self.state {
            State::Confirmed(_) => Some((&self.ids.from_tag, self.call.offer.as_deref())),
            _ => None,
        }
    }

    /// A client transaction of this call timed out: the reason the call ends, if it does.
    pub fn on_txn_timeout(&self, txn: TxnId, outcome: TimerOutcome) -> Option<EndReason> {
        if outcome != TimerOutcome::TimedOut {
            return None;
        }
        match &self.state {
            State::Inviting(i) if i.txn == txn => Some(match &i.wish {
                Wish::Cancelling { reason, .. } => reason.clone(),
                Wish::Ringing { .. } => EndReason::TimedOut,
            }),
            // The BYE got no answer: the dialog is over regardless (§15.1.1).
            State::Terminating(_) => Some(EndReason::LocalHangup),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    const GUARD: Duration = Duration::from_secs(32);

    fn local() -> Local<'static> {
        Local {
            addr: SocketAddr::from(([127, 0, 0, 1], 5060)),
            transport: crate::Transport::Udp,
            namespace: "test",
            user_agent: "outdial-test",
        }
    }

    fn g() -> IdGen {
        IdGen::new()
    }

    fn text(req: &[u8]) -> String {
        String::from_utf8_lossy(req).into_owned()
    }

    /// A call placed at the epoch; its INVITE transaction is `TxnId(1)`.
    fn placed(ring: Option<Duration>) -> (Uac, Instant, Request) {
        let now = crate::time::virtual_epoch();
        let call = UacParams {
            id: 7,
            target: SocketAddr::from(([127, 0, 0, 2], 5060)).into(),
            request_uri: "sip:+15550100@127.0.0.2".into(),
            from_uri: "sip:outdial@127.0.0.1".into(),
            to_uri: "sip:+15550100@127.0.0.2".into(),
            offer: Some(b"v=0\r\n".to_vec()),
            extra: Vec::new(),
        };
        let mut invite = None;
        let (uac, txn) = Uac::new(call, ring.map(|r| now + r), local(), &mut g(), |req| {
            invite = Some(req);
            TxnId(1)
        });
        assert_eq!(txn, TxnId(1));
        let invite = invite.expect("the INVITE went to `start`");
        (uac, now, invite)
    }

    #[test]
    fn a_placed_call_rings_until_its_ring_timeout() {
        let (mut uac, now, invite) = placed(Some(Duration::from_secs(30)));
        assert_eq!(invite.method, MethodClass::Invite);
        assert!(text(&invite.bytes).starts_with("INVITE sip:+15550100@127.0.0.2 SIP/2.0\r\n"));
        assert!(uac.is_current_invite(TxnId(1)));
        assert_eq!(uac.deadline(), Some(now + Duration::from_secs(30)));
        // Nothing that needs an answer is possible yet.
        assert_eq!(uac.bye(local(), &mut g()), None);
        assert!(!uac.accepts_bye(None));
        assert_eq!(uac.reinvite_answer(), None);
        assert_eq!(uac.remote_tag(), None);
    }

    #[test]
    fn cancel_waits_for_a_provisional_then_goes_once() {
        let (mut uac, now, invite) = placed(None);
        let hung_up = uac.hang_up(now, GUARD, local(), &mut g());
        assert_eq!(hung_up, HangUp::CancelDeferred);
        assert_eq!(uac.deadline(), Some(now + GUARD));
        assert_eq!(uac.hang_up(now, GUARD, local(), &mut g()), HangUp::Nothing);
        let cancel = uac
            .on_provisional(100, None, local())
            .expect("the waiting CANCEL goes with the first provisional");
        assert_eq!(cancel.method, MethodClass::Cancel);
        assert_eq!(cancel.branch, invite.branch);
        assert!(text(&cancel.bytes).contains("CSeq: 1 CANCEL\r\n"));
        assert_eq!(uac.on_provisional(180, Some("t1"), local()), None);
        assert_eq!(uac.rejection(487, None), EndReason::LocalHangup);
    }

    #[test]
    fn cancel_after_a_provisional_goes_at_once() {
        let (mut uac, now, _) = placed(None);
        assert_eq!(uac.on_provisional(180, Some("t1"), local()), None);
        assert_eq!(uac.remote_tag(), Some("t1"));
        // A later provisional without a tag keeps the early dialog's tag.
        uac.on_provisional(183, None, local());
        assert_eq!(uac.remote_tag(), Some("t1"));
        let HangUp::Cancel(cancel) = uac.cancel(now, EndReason::RingTimeout, GUARD, local()) else {
            panic!("a provisional arrived: the CANCEL goes now");
        };
        assert!(text(&cancel.bytes).starts_with("CANCEL sip:+15550100@127.0.0.2 SIP/2.0\r\n"));
        assert_eq!(uac.rejection(487, None), EndReason::RingTimeout);
        assert_eq!(
            uac.rejection(486, None),
            EndReason::Rejected {
                status: 486,
                retry_after: None
            }
        );
    }

    #[test]
    fn a_2xx_confirms_with_its_tag_target_and_reversed_route() {
        let (mut uac, now, _) = placed(Some(Duration::from_secs(30)));
        let contact = "<sip:b@10.0.0.9:5070;transport=udp>";
        let rr = ["<sip:p1;lr>", "<sip:p2;lr>"];
        let answer = uac
            .on_2xx(Some("t2"), Some(contact), &rr, local(), &mut g())
            .expect("an INVITE was outstanding");
        assert_eq!(answer.bye, None);
        let ack = text(&answer.ack);
        assert!(ack.starts_with("ACK sip:b@10.0.0.9:5070;transport=udp SIP/2.0\r\n"));
        assert!(ack.contains("Route: <sip:p2;lr>\r\nRoute: <sip:p1;lr>\r\n"));
        assert!(ack.contains(";tag=t2\r\n"));
        assert_eq!(uac.deadline(), None);
        assert!(!uac.is_current_invite(TxnId(1)));
        assert_eq!(
            uac.reinvite_answer(),
            Some((uac.ids.from_tag.as_str(), Some(&b"v=0\r\n"[..])))
        );
        // What belongs to an outstanding INVITE is refused now.
        assert_eq!(uac.on_provisional(180, None, local()), None);
        assert_eq!(uac.on_2xx(Some("t3"), None, &[], local(), &mut g()), None);
        assert_eq!(uac.ack_non_2xx(None, local()), None);
        assert_eq!(
            uac.cancel(now, EndReason::RingTimeout, GUARD, local()),
            HangUp::Nothing
        );
        assert!(!uac.may_retry_auth(true));
        assert!(uac.accepts_bye(Some("t2")));
        assert!(!uac.accepts_bye(Some("t3")));
        let HangUp::Bye(bye) = uac.hang_up(now, GUARD, local(), &mut g()) else {
            panic!("an answered call hangs up with BYE");
        };
        let bye = text(&bye.bytes);
        assert!(bye.starts_with("BYE sip:b@10.0.0.9:5070;transport=udp SIP/2.0\r\n"));
        assert!(bye.contains("CSeq: 2 BYE\r\n"));
        assert!(uac.is_terminating());
        assert_eq!(uac.hang_up(now, GUARD, local(), &mut g()), HangUp::Nothing);
        assert_eq!(uac.reinvite_answer(), None);
        assert!(uac.accepts_bye(Some("t2")));
    }

    #[test]
    fn an_answer_after_giving_up_is_acked_then_ended_with_bye() {
        let (mut uac, now, _) = placed(None);
        assert_eq!(
            uac.hang_up(now, GUARD, local(), &mut g()),
            HangUp::CancelDeferred
        );
        let answer = uac
            .on_2xx(Some("t2"), None, &[], local(), &mut g())
            .expect("answer");
        let bye = answer.bye.expect("we had given up: BYE at once");
        assert!(text(&bye.bytes).starts_with("BYE sip:+15550100@127.0.0.2 SIP/2.0\r\n"));
        assert!(uac.is_terminating());
    }

    #[test]
    fn ring_timeout_cancels_and_the_guard_abandons_the_invite() {
        let ring = Duration::from_secs(30);
        let (mut uac, now, _) = placed(Some(ring));
        let early = now + Duration::from_secs(10);
        assert_eq!(uac.on_deadline(early, GUARD, local()), Expired::NotDue);
        assert_eq!(
            uac.on_deadline(now + ring, GUARD, local()),
            Expired::RingTimeout(HangUp::CancelDeferred)
        );
        assert_eq!(uac.deadline(), Some(now + ring + GUARD));
        assert_eq!(uac.on_deadline(now + ring, GUARD, local()), Expired::NotDue);
        assert_eq!(
            uac.on_deadline(now + ring + GUARD, GUARD, local()),
            Expired::Abandon {
                invite: TxnId(1),
                reason: EndReason::RingTimeout
            }
        );
        let timed_out = uac.on_txn_timeout(TxnId(1), TimerOutcome::TimedOut);
        assert_eq!(timed_out, Some(EndReason::RingTimeout));
    }

    #[test]
    fn txn_timeouts_end_only_the_invite_or_our_bye() {
        let (mut uac, now, _) = placed(None);
        let t = TimerOutcome::TimedOut;
        assert_eq!(uac.on_txn_timeout(TxnId(1), t), Some(EndReason::TimedOut));
        assert_eq!(uac.on_txn_timeout(TxnId(9), t), None);
        assert_eq!(uac.on_txn_timeout(TxnId(1), TimerOutcome::AckTimeout), None);
        uac.on_2xx(Some("t2"), None, &[], local(), &mut g());
        assert_eq!(uac.on_txn_timeout(TxnId(1), t), None);
        uac.hang_up(now, GUARD, local(), &mut g());
        assert_eq!(
            uac.on_txn_timeout(TxnId(5), t),
            Some(EndReason::LocalHangup)
        );
    }

    #[test]
    fn digest_retries_at_most_twice_and_the_second_only_when_stale() {
        let (mut uac, now, first) = placed(None);
        let creds = Credentials {
            username: "alice".into(),
            password: "secret".into(),
        };
        let challenge = auth::parse_challenge(r#"Digest realm="pbx", nonce="n1""#).expect("parse");
        let mut next = 1;
        let mut retry = |uac: &mut Uac, c: &Challenge| {
            let mut sent = None;
            let txn = uac.retry_with_auth("Authorization", c, &creds, local(), &mut g(), |req| {
                sent = Some(req);
                next += 1;
                TxnId(next)
            });
            (txn, sent)
        };
        uac.on_provisional(100, None, local());
        let (txn, sent) = retry(&mut uac, &challenge);
        assert_eq!(txn, Some(TxnId(2)));
        let sent = sent.expect("a new INVITE");
        assert_ne!(sent.branch, first.branch);
        let text = text(&sent.bytes);
        assert!(text.contains("CSeq: 2 INVITE\r\n"));
        assert!(text.contains("Authorization: Digest username=\"alice\""));
        assert!(uac.is_current_invite(TxnId(2)) && !uac.is_current_invite(TxnId(1)));
        // The new INVITE starts over: a CANCEL would have to wait for its provisional.
        assert_eq!(
            uac.hang_up(now, GUARD, local(), &mut g()),
            HangUp::CancelDeferred
        );
        assert_eq!(
            retry(&mut uac, &challenge),
            (None, None),
            "not while cancelling"
        );

        let (mut uac, _, _) = placed(None);
        retry(&mut uac, &challenge);
        assert_eq!(
            retry(&mut uac, &challenge),
            (None, None),
            "refused credentials"
        );
        let stale = Challenge {
            stale: true,
            ..challenge.clone()
        };
        assert_eq!(retry(&mut uac, &stale).0, Some(TxnId(4)));
        assert!(!uac.may_retry_auth(true), "two tries at most");
    }
}
