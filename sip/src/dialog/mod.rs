//! Dialogs on both sides of a call. The endpoint feeds a dialog transaction outcomes and the
//! headers it needs; the dialog performs the transition and says what to send. A dialog never
//! reaches into a transaction, it only names one.
//!
//! Each dialog keeps its state as an enum of per-state data, so what only exists in one state
//! (the CANCEL's guard while cancelling, the remote target and route set once confirmed, the
//! INVITE's Vias while it is unanswered) cannot be read or set in another; a transition asked
//! for in the wrong state is refused (`None`, [`HangUp::Nothing`], or an error).

use std::net::SocketAddr;
use std::time::Duration;

use rsip::headers::UntypedHeader;

use crate::peer::{Peer, Transport};

use crate::txn::{ClientRequest, MethodClass, TimerOutcome, TxnId};

mod uac;
mod uas;

pub use uac::{Answer, Expired, HangUp, Uac, UacParams};
pub use uas::Uas;

/// Why a call ended. Every call ends exactly once, with one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// A final non-2xx to our INVITE (after any digest retry). `retry_after` from a 503/4xx.
    Rejected {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// Our INVITE got no response at all (Timer B).
    TimedOut,
    /// The ring timeout expired and we cancelled (487, or no final answer to the CANCEL).
    RingTimeout,
    /// We hung up: CANCEL before answer, or BYE after.
    LocalHangup,
    /// The far end sent BYE.
    RemoteHangup,
    /// The far end cancelled the INVITE before we answered (UAS side).
    RemoteCancel,
    /// We answered but the ACK never came (Timer H / 2xx retransmits exhausted).
    AckTimeout,
    /// We rejected an incoming call with this status (UAS side).
    LocalReject { status: u16 },
}

/// What happened to a call, reported through `Event::Call`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallEvent {
    /// A provisional response above 100 (180, 183 ...), with its SDP body if any (early media).
    Progress { status: u16, sdp: Option<Vec<u8>> },
    /// UAC: a 2xx arrived and was ACKed (with the SDP answer, if any).
    /// UAS: our 2xx was ACKed.
    Answered { sdp: Option<Vec<u8>> },
    /// The call is over; the endpoint has forgotten it (apart from absorbing retransmits).
    Ended(EndReason),
}

/// What a dialog needs to know about the endpoint it lives in to write a request.
#[derive(Debug, Clone, Copy)]
pub struct Local<'a> {
    /// Written in Via (sent-by) and Contact.
    pub addr: SocketAddr,
    /// The call's transport: Via's sent-protocol and Contact's form.
    pub transport: Transport,
    /// Keeps branches of different nodes or runs apart.
    pub namespace: &'a str,
    pub user_agent: &'a str,
}

/// A request a dialog wants sent in a new client transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: MethodClass,
    pub branch: String,
    pub dest: Peer,
    pub bytes: Vec<u8>,
}

impl Request {
    /// The transaction layer's form of this request; `owner` hears about its outcome.
    pub fn owned_by(self, owner: u64) -> ClientRequest {
        ClientRequest {
            method: self.method,
            branch: self.branch,
            dest: self.dest,
            request: self.bytes,
            owner,
        }
    }
}

/// Either side of a call.
#[derive(Debug)]
pub enum Dialog {
    Uac(Uac),
    Uas(Uas),
}

impl Dialog {
    pub fn call_id(&self) -> &str {
        match self {
            Dialog::Uac(u) => u.call_id(),
            Dialog::Uas(u) => u.call_id(),
        }
    }

    /// Our BYE is out, waiting for its final response.
    pub fn is_terminating(&self) -> bool {
        match self {
            Dialog::Uac(u) => u.is_terminating(),
            Dialog::Uas(u) => u.is_terminating(),
        }
    }

    /// Whether a BYE with this From-tag ends this dialog (it must name the peer's tag, and the
    /// dialog must have been answered).
    pub fn accepts_bye(&self, from_tag: Option<&str>) -> bool {
        match self {
            Dialog::Uac(u) => u.accepts_bye(from_tag),
            Dialog::Uas(u) => u.accepts_bye(from_tag),
        }
    }

    /// Our tag and session description, for answering a re-INVITE in a confirmed dialog.
    pub fn reinvite_answer(&self) -> Option<(&str, Option<&[u8]>)> {
        match self {
            Dialog::Uac(u) => u.reinvite_answer(),
            Dialog::Uas(u) => u.reinvite_answer(),
        }
    }

    /// A transaction of this call timed out: the reason the call ends, if it does.
    pub fn on_txn_timeout(&self, txn: TxnId, outcome: TimerOutcome) -> Option<EndReason> {
        match self {
            Dialog::Uac(u) => u.on_txn_timeout(txn, outcome),
            Dialog::Uas(u) => u.on_txn_timeout(txn, outcome),
        }
    }
}

/// Raw values of the headers dialogs need, read once from rsip's untyped headers.
#[derive(Debug, Default)]
pub struct Raw<'a> {
    pub vias: Vec<&'a str>,
    pub from: &'a str,
    pub to: &'a str,
    pub call_id: &'a str,
    pub cseq: &'a str,
    pub contact: Option<&'a str>,
    pub record_route: Vec<&'a str>,
    pub www_auth: Option<&'a str>,
    pub proxy_auth: Option<&'a str>,
    pub retry_after: Option<&'a str>,
}

impl<'a> Raw<'a> {
    pub fn of(msg: &'a rsip::SipMessage) -> Self {
        let headers = match msg {
            rsip::SipMessage::Request(r) => &r.headers,
            rsip::SipMessage::Response(r) => &r.headers,
        };
        let mut r = Raw::default();
        for h in headers.iter() {
            match h {
                rsip::Header::Via(v) => r.vias.push(v.value()),
                rsip::Header::From(v) => r.from = v.value(),
                rsip::Header::To(v) => r.to = v.value(),
                rsip::Header::CallId(v) => r.call_id = v.value(),
                rsip::Header::CSeq(v) => r.cseq = v.value(),
                rsip::Header::Contact(v) if r.contact.is_none() => r.contact = Some(v.value()),
                rsip::Header::RecordRoute(v) => r.record_route.push(v.value()),
                rsip::Header::WwwAuthenticate(v) => r.www_auth = Some(v.value()),
                rsip::Header::ProxyAuthenticate(v) => r.proxy_auth = Some(v.value()),
                rsip::Header::RetryAfter(v) => r.retry_after = Some(v.value()),
                _ => {}
            }
        }
        r
    }
}
