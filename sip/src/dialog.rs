//! Dialog state for both sides. Plain data and state enums: the endpoint feeds them
//! transaction outcomes; a dialog never reaches into a transaction, it only names one.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::ids::DialogIds;
use crate::txn::TxnId;

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

/// UAC dialog progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UacState {
    /// INVITE sent, nothing above 100 yet.
    Calling,
    /// A provisional above 100 arrived (early dialog when it carried a To-tag).
    Early,
    /// 2xx received and ACKed.
    Confirmed,
    /// BYE sent, waiting for its final response.
    Terminating,
    Ended,
}

/// A CANCEL's progress on an INVITE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancel {
    None,
    /// Wanted, but no provisional has arrived yet (§9.1 forbids CANCEL before one).
    Pending(EndReason),
    /// Sent; if no final response arrives by `guard` the INVITE is abandoned.
    Sent(EndReason),
}

/// Our side of a call we placed.
#[derive(Debug)]
pub struct Uac {
    pub id: u64,
    pub target: SocketAddr,
    pub request_uri: String,
    pub from_uri: String,
    pub to_uri: String,
    pub ids: DialogIds,
    pub remote_tag: Option<String>,
    /// Contact of the 2xx: where in-dialog requests go.
    pub remote_target: Option<String>,
    /// Record-Route of the 2xx, reversed.
    pub route: Vec<String>,
    pub cseq: u32,
    pub invite_txn: Option<TxnId>,
    pub invite_branch: String,
    pub offer: Option<Vec<u8>>,
    pub extra: Vec<(String, String)>,
    pub state: UacState,
    pub got_provisional: bool,
    pub ring_deadline: Option<Instant>,
    pub cancel: Cancel,
    pub cancel_guard: Option<Instant>,
    /// The ACK for the 2xx, resent on each retransmitted 2xx.
    pub ack_2xx: Option<Vec<u8>>,
    pub auth_tries: u8,
    pub started: Instant,
}

impl Uac {
    /// The call's own deadline: ring timeout, or the guard after a CANCEL.
    pub fn deadline(&self) -> Option<Instant> {
        match self.state {
            UacState::Calling | UacState::Early => match (&self.cancel, self.cancel_guard) {
                (Cancel::None, _) => self.ring_deadline,
                (_, guard) => guard,
            },
            _ => None,
        }
    }
}

/// UAS dialog progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UasState {
    /// INVITE received; the application has not sent a final response.
    Incoming,
    /// 2xx sent, waiting for ACK.
    Answered,
    Confirmed,
    Terminating,
    Ended,
}

/// Our side of a call we answer.
#[derive(Debug)]
pub struct Uas {
    pub source: SocketAddr,
    pub call_id: String,
    pub remote_tag: Option<String>,
    pub local_tag: String,
    /// Raw header values of the INVITE, echoed in every response to it.
    pub vias: Vec<String>,
    pub from: String,
    pub to: String,
    pub cseq: String,
    pub remote_target: Option<String>,
    pub route: Vec<String>,
    pub invite_txn: TxnId,
    pub state: UasState,
    pub local_cseq: u32,
    pub local_sdp: Option<Vec<u8>>,
}

/// Either side of a call.
#[derive(Debug)]
pub enum Dialog {
    Uac(Uac),
    Uas(Uas),
}
