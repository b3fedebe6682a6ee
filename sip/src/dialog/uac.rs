//! Our side of a call we place: the INVITE and its digest retries, CANCEL, the 2xx and its
//! ACK, BYE. Each state keeps only what exists in it.

use std::mem;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{EndReason, Local, Request};
use crate::auth::{self, Challenge, Credentials};
use crate::build::{self, RequestSpec, ALLOW};
use crate::ids::{self, DialogIds};
use crate::txn::{MethodClass, TimerOutcome, TxnId};

/// What every request of a call we place repeats; fixed for the call's life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UacParams {
    /// The caller's id (an attempt id): Call-ID, From-tag and branches derive from it.
    pub id: u64,
    pub target: SocketAddr,
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
    /// Places a call: writes the first INVITE and hands it to `start`, which starts its client
    /// transaction and names it.
    pub fn new(
        call: UacParams,
        ring_deadline: Option<Instant>,
        local: Local<'_>,
        start: impl FnOnce(Request) -> TxnId,
    ) -> (Self, TxnId) {
        let ids = ids::dialog_ids(local.namespace, call.id, &local.addr.ip().to_string());
        let cseq = 1;
        let branch = ids::branch(local.namespace, call.id, cseq, false);
        let bytes = invite(&call, &ids, local, &branch, cseq, None);
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

    pub fn target(&self) -> SocketAddr {
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
    pub fn hang_up(&mut self, now: Instant, guard: Duration, local: Local<'_>) -> HangUp {
        match self.bye(local) {
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
            HangUp::Cancel(cancel_request(
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
            Wish::Cancelling { reason, guard } if *guard <= now => {
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
        cancel_waiting.then(|| cancel_request(&self.call, &self.ids, &i.branch, self.cseq, local))
    }

    /// A 2xx to the current INVITE: the dialog is confirmed with the 2xx's tag, Contact and
    /// Record-Route. `None` when no INVITE is outstanding.
    pub fn on_2xx(
        &mut self,
        to_tag: Option<&str>,
        contact: Option<&str>,
        record_route: &[&str],
        local: Local<'_>,
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
        let ack = ack_2xx(&self.call, &self.ids, self.cseq, &dialog, local);
        self.state = State::Confirmed(dialog);
        // A hang-up or the ring timeout raced the answer: ACK it, then BYE at once.
        let bye = if gave_up { self.bye(local) } else { None };
        Some(Answer { ack, bye })
    }

    /// The ACK for a non-2xx final to the current INVITE (the transaction sends it).
    pub fn ack_non_2xx(&self, to_tag: Option<&str>, local: Local<'_>) -> Option<Vec<u8>> {
        let State::Inviting(i) = &self.state else {
            return None;
        };
        Some(
            RequestSpec {
                method: "ACK",
                request_uri: &self.call.request_uri,
                local: local.addr,
                branch: &i.branch,
                from_uri: &self.call.from_uri,
                from_tag: &self.ids.from_tag,
                to_uri: &self.call.to_uri,
                to_tag,
                call_id: &self.ids.call_id,
                cseq: self.cseq,
                cseq_method: None,
                route: &[],
                contact: false,
                extra: &[],
                body: None,
                user_agent: "",
            }
            .to_bytes(),
        )
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
    /// (nothing sent) when [`may_retry_auth`](Self::may_retry_auth) says no.
    pub fn retry_with_auth(
        &mut self,
        header: &str,
        challenge: &Challenge,
        creds: &Credentials,
        cnonce: &str,
        local: Local<'_>,
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
        i.branch = ids::branch(local.namespace, self.call.id, self.cseq, false);
        let uri = &self.call.request_uri;
        let authz = auth::authorization(challenge, creds, "INVITE", uri, cnonce, 1);
        let bytes = invite(
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
    pub fn bye(&mut self, local: Local<'_>) -> Option<Request> {
        let placeholder = State::Terminating(Established::default());
        let dialog = match mem::replace(&mut self.state, placeholder) {
            State::Confirmed(d) => d,
            other => {
                self.state = other;
                return None;
            }
        };
        self.cseq += 1;
        let branch = ids::branch(local.namespace, self.call.id, self.cseq, false);
        let bytes = RequestSpec {
            method: "BYE",
            request_uri: dialog
                .remote_target
                .as_deref()
                .unwrap_or(&self.call.request_uri),
            local: local.addr,
            branch: &branch,
            from_uri: &self.call.from_uri,
            from_tag: &self.ids.from_tag,
            to_uri: &self.call.to_uri,
            to_tag: dialog.remote_tag.as_deref(),
            call_id: &self.ids.call_id,
            cseq: self.cseq,
            cseq_method: None,
            route: &dialog.route,
            contact: false,
            extra: &[],
            body: None,
            user_agent: local.user_agent,
        }
        .to_bytes();
        self.state = State::Terminating(dialog);
        Some(Request {
            method: MethodClass::Other,
            branch,
            dest: self.call.target,
            bytes,
        })
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

fn invite(
    call: &UacParams,
    ids: &DialogIds,
    local: Local<'_>,
    branch: &str,
    cseq: u32,
    authorization: Option<(&str, &str)>,
) -> Vec<u8> {
    let mut extra: Vec<(&str, &str)> = call
        .extra
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    extra.push(("Allow", ALLOW));
    if let Some(a) = authorization {
        extra.push(a);
    }
    RequestSpec {
        method: "INVITE",
        request_uri: &call.request_uri,
        local: local.addr,
        branch,
        from_uri: &call.from_uri,
        from_tag: &ids.from_tag,
        to_uri: &call.to_uri,
        to_tag: None,
        call_id: &ids.call_id,
        cseq,
        cseq_method: None,
        route: &[],
        contact: true,
        extra: &extra,
        body: call.offer.as_deref().map(|b| ("application/sdp", b)),
        user_agent: local.user_agent,
    }
    .to_bytes()
}

/// The CANCEL of the INVITE with `branch` (it shares the INVITE's branch and CSeq number).
fn cancel_request(
    call: &UacParams,
    ids: &DialogIds,
    branch: &str,
    cseq: u32,
    local: Local<'_>,
) -> Request {
    let bytes = RequestSpec {
        method: "CANCEL",
        request_uri: &call.request_uri,
        local: local.addr,
        branch,
        from_uri: &call.from_uri,
        from_tag: &ids.from_tag,
        to_uri: &call.to_uri,
        to_tag: None,
        call_id: &ids.call_id,
        cseq,
        cseq_method: None,
        route: &[],
        contact: false,
        extra: &[],
        body: None,
        user_agent: local.user_agent,
    }
    .to_bytes();
    Request {
        method: MethodClass::Cancel,
        branch: branch.to_owned(),
        dest: call.target,
        bytes,
    }
}

/// The ACK for the 2xx that established `dialog`: a transaction of its own (§13.2.2.4).
fn ack_2xx(
    call: &UacParams,
    ids: &DialogIds,
    cseq: u32,
    dialog: &Established,
    local: Local<'_>,
) -> Vec<u8> {
    let branch = ids::branch(local.namespace, call.id, cseq, true);
    RequestSpec {
        method: "ACK",
        request_uri: dialog.remote_target.as_deref().unwrap_or(&call.request_uri),
        local: local.addr,
        branch: &branch,
        from_uri: &call.from_uri,
        from_tag: &ids.from_tag,
        to_uri: &call.to_uri,
        to_tag: dialog.remote_tag.as_deref(),
        call_id: &ids.call_id,
        cseq,
        cseq_method: None,
        route: &dialog.route,
        contact: false,
        extra: &[],
        body: None,
        user_agent: "",
    }
    .to_bytes()
}
