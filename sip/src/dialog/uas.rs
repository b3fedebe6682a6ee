//! Our side of a call we answer: responses to the INVITE, its ACK, a CANCEL before the
//! answer, BYE after it. Each state keeps only what exists in it.

use super::{EndReason, Local, Raw, Request};
use crate::build::{self, RequestSpec, ResponseSpec};
use crate::error::Error;
use crate::ids::IdGen;
use crate::msg::{self, Head};
use crate::peer::Peer;
use crate::txn::{MethodClass, TimerOutcome, TxnId};

/// Our side of a call we answer.
#[derive(Debug)]
pub struct Uas {
    /// Where the INVITE came from: responses and our requests go back there.
    source: Peer,
    call_id: String,
    remote_tag: Option<String>,
    local_tag: String,
    /// From and To of the INVITE as received: echoed in responses, swapped in our BYE.
    from: String,
    to: String,
    /// Contact of the INVITE: where our in-dialog requests go.
    remote_target: Option<String>,
    /// Record-Route of the INVITE, in order.
    route: Vec<String>,
    /// The server transaction of the INVITE that created the dialog.
    invite_txn: TxnId,
    /// CSeq of our latest in-dialog request.
    local_cseq: u32,
    state: State,
}

#[derive(Debug)]
enum State {
    /// No final response yet; every response to the INVITE echoes its Vias and CSeq.
    Incoming { vias: Vec<String>, cseq: String },
    /// Our 2xx (with our session description) is out, waiting for the ACK.
    Answered { local_sdp: Option<Vec<u8>> },
    /// The ACK came.
    Confirmed { local_sdp: Option<Vec<u8>> },
    /// Our BYE is out, waiting for its final response.
    Terminating,
}

impl Uas {
    /// A dialog for a new INVITE (`head` and `raw` of it) from `source`, in server
    /// transaction `invite_txn`.
    pub fn new(
        source: Peer,
        head: &Head,
        raw: &Raw<'_>,
        local_tag: String,
        invite_txn: TxnId,
    ) -> Self {
        Self {
            source,
            call_id: head.call_id.clone(),
            remote_tag: head.from_tag.clone(),
            local_tag,
            from: raw.from.to_owned(),
            to: raw.to.to_owned(),
            remote_target: raw.contact.map(|c| build::uri_of(c).to_owned()),
            route: raw.record_route.iter().map(|s| s.to_string()).collect(),
            invite_txn,
            local_cseq: 0,
            state: State::Incoming {
                vias: raw.vias.iter().map(|s| s.to_string()).collect(),
                cseq: raw.cseq.to_owned(),
            },
        }
    }

    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// Where the INVITE came from, and over which transport.
    pub fn source(&self) -> Peer {
        self.source
    }

    /// From of the INVITE, as received.
    pub fn from(&self) -> &str {
        &self.from
    }

    /// To of the INVITE, as received.
    pub fn to(&self) -> &str {
        &self.to
    }

    pub fn invite_txn(&self) -> TxnId {
        self.invite_txn
    }

    /// No final response sent yet.
    pub fn is_incoming(&self) -> bool {
        matches!(self.state, State::Incoming { .. })
    }

    pub fn is_terminating(&self) -> bool {
        matches!(self.state, State::Terminating)
    }

    /// Writes a response to the INVITE: a provisional keeps the call incoming, a 2xx (with
    /// our SDP) waits for the ACK. After a final one, responses are refused. `local` is our
    /// address on the call's transport, for the Contact.
    pub fn respond(
        &mut self,
        local: Peer,
        status: u16,
        sdp: Option<Vec<u8>>,
        extra: &[(&str, &str)],
    ) -> Result<Vec<u8>, Error> {
        let State::Incoming { vias, cseq } = &self.state else {
            return Err(Error::Usage("the call already has a final response"));
        };
        let vias: Vec<&str> = vias.iter().map(String::as_str).collect();
        let body = match (&sdp, status) {
            (Some(b), 180..=299) => Some(("application/sdp", b.as_slice())),
            _ => None,
        };
        let bytes = ResponseSpec {
            status,
            reason: msg::reason_phrase(status),
            vias: &vias,
            from: &self.from,
            to: &self.to,
            to_tag: (status > 100).then_some(self.local_tag.as_str()),
            call_id: &self.call_id,
            cseq,
            contact: (status > 100 && status < 300).then_some(local),
            extra,
            body,
        }
        .to_bytes();
        if (200..300).contains(&status) {
            self.state = State::Answered { local_sdp: sdp };
        }
        Ok(bytes)
    }

    /// Whether a CANCEL matching INVITE transaction `txn` cancels this call: only before our
    /// final response.
    pub fn is_cancelled_by(&self, txn: TxnId) -> bool {
        self.is_incoming() && self.invite_txn == txn
    }

    /// The 487 that ends the INVITE a CANCEL stopped; `None` once a final response is out.
    pub fn request_terminated(&self) -> Option<Vec<u8>> {
        let State::Incoming { vias, cseq } = &self.state else {
            return None;
        };
        let vias: Vec<&str> = vias.iter().map(String::as_str).collect();
        let bytes = ResponseSpec {
            status: 487,
            reason: "Request Terminated",
            vias: &vias,
            from: &self.from,
            to: &self.to,
            to_tag: Some(&self.local_tag),
            call_id: &self.call_id,
            cseq,
            contact: None,
            extra: &[],
            body: None,
        }
        .to_bytes();
        Some(bytes)
    }

    /// The INVITE transaction an ACK for our 2xx belongs to, while we wait for one.
    pub fn awaiting_ack(&self) -> Option<TxnId> {
        matches!(self.state, State::Answered { .. }).then_some(self.invite_txn)
    }

    /// The ACK for our 2xx arrived: true (the call is answered) the first time.
    pub fn on_ack(&mut self) -> bool {
        let State::Answered { local_sdp } = &mut self.state else {
            return false;
        };
        self.state = State::Confirmed {
            local_sdp: local_sdp.take(),
        };
        true
    }

    /// Hangs up an answered call: BYE (its branch fresh from `gen`), and the call is
    /// terminating. `None` before our 2xx or once the BYE is out.
    pub fn bye(&mut self, local: Local<'_>, gen: &mut IdGen) -> Option<Request> {
        if !matches!(self.state, State::Answered { .. } | State::Confirmed { .. }) {
            return None;
        }
        self.state = State::Terminating;
        self.local_cseq += 1;
        let branch = gen.branch();
        let bytes = RequestSpec {
            method: "BYE",
            request_uri: self
                .remote_target
                .as_deref()
                .unwrap_or_else(|| build::uri_of(&self.from)),
            local: local.addr,
            branch: &branch,
            from_uri: build::uri_of(&self.to),
            from_tag: &self.local_tag,
            to_uri: build::uri_of(&self.from),
            to_tag: self.remote_tag.as_deref(),
            call_id: &self.call_id,
            cseq: self.local_cseq,
            cseq_method: None,
            route: &self.route,
            contact: false,
            extra: &[],
            body: None,
            user_agent: local.user_agent,
            transport: local.transport,
        }
        .to_bytes();
        Some(Request {
            method: MethodClass::Other,
            branch,
            dest: self.source,
            bytes,
        })
    }

    /// Whether a BYE with this From-tag ends the call: only once our 2xx is out.
    pub fn accepts_bye(&self, from_tag: Option<&str>) -> bool {
        self.remote_tag.as_deref() == from_tag && !self.is_incoming()
    }

    /// Our tag and session description, repeated in the 200 to a re-INVITE once confirmed.
    pub fn reinvite_answer(&self) -> Option<(&str, Option<&[u8]>)> {
        match &self.state {
            State::Confirmed { local_sdp } => Some((&self.local_tag, local_sdp.as_deref())),
            _ => None,
        }
    }

    /// A transaction of this call timed out: the reason the call ends, if it does.
    pub fn on_txn_timeout(&self, txn: TxnId, outcome: TimerOutcome) -> Option<EndReason> {
        match outcome {
            TimerOutcome::AckTimeout if txn == self.invite_txn => Some(EndReason::AckTimeout),
            // Our BYE got no answer: the dialog is over regardless (§15.1.1).
            TimerOutcome::TimedOut if self.is_terminating() => Some(EndReason::LocalHangup),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:agent@127.0.0.1:5060 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 10.0.0.2:5070;branch=z9hG4bK-1\r\n\
        Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-0\r\n\
        Max-Forwards: 70\r\n\
        Record-Route: <sip:p1;lr>\r\n\
        From: \"Caller\" <sip:caller@10.0.0.1>;tag=rt\r\n\
        To: <sip:agent@127.0.0.1>\r\n\
        Call-ID: uas-test-1\r\n\
        CSeq: 4 INVITE\r\n\
        Contact: <sip:caller@10.0.0.1:5062>\r\n\
        Content-Length: 0\r\n\r\n";

    fn local() -> Local<'static> {
        Local {
            addr: SocketAddr::from(([127, 0, 0, 1], 5060)),
            transport: crate::Transport::Udp,
            namespace: "test",
            user_agent: "outdial-test",
        }
    }

    use std::net::SocketAddr;

    fn me() -> Peer {
        Peer::udp(local().addr)
    }

    fn incoming() -> Uas {
        let inc = msg::parse_datagram(INVITE.as_bytes()).expect("a valid INVITE");
        let raw = Raw::of(&inc.msg);
        let source = SocketAddr::from(([10, 0, 0, 2], 5070)).into();
        Uas::new(source, &inc.head, &raw, "lt".into(), TxnId(1))
    }

    fn text(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    #[test]
    fn responses_echo_the_invite_until_the_final_one() {
        let mut uas = incoming();
        let ringing = text(&uas.respond(me(), 180, None, &[]).expect("180"));
        assert!(ringing.starts_with("SIP/2.0 180 Ringing\r\n"));
        assert!(ringing.contains("Via: SIP/2.0/UDP 10.0.0.2:5070;branch=z9hG4bK-1\r\n"));
        assert!(ringing.contains("CSeq: 4 INVITE\r\n"));
        assert!(uas.is_incoming());
        let ok = uas.respond(me(), 200, Some(b"v=0\r\n".to_vec()), &[]);
        assert!(text(&ok.expect("200")).ends_with("\r\n\r\nv=0\r\n"));
        assert_eq!(uas.awaiting_ack(), Some(TxnId(1)));
        assert!(matches!(
            uas.respond(me(), 486, None, &[]),
            Err(Error::Usage(_))
        ));
        // A CANCEL after the answer cancels nothing.
        assert!(!uas.is_cancelled_by(TxnId(1)));
        assert_eq!(uas.request_terminated(), None);
    }

    #[test]
    fn cancel_stops_only_an_unanswered_invite_with_487() {
        let uas = incoming();
        assert!(uas.is_cancelled_by(TxnId(1)));
        assert!(!uas.is_cancelled_by(TxnId(2)));
        let terminated = text(&uas.request_terminated().expect("487"));
        assert!(terminated.starts_with("SIP/2.0 487 Request Terminated\r\n"));
        assert!(terminated.contains(";tag=lt"));
    }

    #[test]
    fn the_ack_confirms_once_and_then_re_invites_get_our_sdp() {
        let mut uas = incoming();
        assert!(!uas.on_ack(), "no 2xx yet");
        assert_eq!(uas.awaiting_ack(), None);
        assert_eq!(uas.reinvite_answer(), None);
        uas.respond(me(), 200, Some(b"v=0\r\n".to_vec()), &[])
            .expect("200");
        assert_eq!(uas.reinvite_answer(), None, "not before the ACK");
        assert!(uas.on_ack());
        assert!(!uas.on_ack());
        assert_eq!(uas.reinvite_answer(), Some(("lt", Some(&b"v=0\r\n"[..]))));
    }

    #[test]
    fn bye_only_after_our_2xx_and_only_once() {
        let mut uas = incoming();
        let mut gen = IdGen::new();
        assert_eq!(uas.bye(local(), &mut gen), None);
        assert!(!uas.accepts_bye(Some("rt")), "not before our 2xx");
        uas.respond(me(), 200, None, &[]).expect("200");
        assert!(uas.accepts_bye(Some("rt")));
        assert!(!uas.accepts_bye(Some("other")));
        let bye = uas.bye(local(), &mut gen).expect("BYE");
        assert!(bye.branch.starts_with(crate::ids::BRANCH_COOKIE));
        assert_eq!(bye.dest, Peer::udp(SocketAddr::from(([10, 0, 0, 2], 5070))));
        let bye = text(&bye.bytes);
        assert!(bye.starts_with("BYE sip:caller@10.0.0.1:5062 SIP/2.0\r\n"));
        assert!(bye.contains("Route: <sip:p1;lr>\r\n"));
        assert!(bye.contains("From: <sip:agent@127.0.0.1>;tag=lt\r\n"));
        assert!(bye.contains("To: <sip:caller@10.0.0.1>;tag=rt\r\n"));
        assert!(uas.is_terminating());
        assert_eq!(uas.bye(local(), &mut gen), None);
        assert!(!uas.on_ack(), "an ACK after our BYE confirms nothing");
    }

    #[test]
    fn txn_timeouts_end_the_call_for_a_missing_ack_or_an_unanswered_bye() {
        let mut uas = incoming();
        let ack = TimerOutcome::AckTimeout;
        assert_eq!(
            uas.on_txn_timeout(TxnId(1), ack),
            Some(EndReason::AckTimeout)
        );
        assert_eq!(uas.on_txn_timeout(TxnId(2), ack), None);
        let timed_out = TimerOutcome::TimedOut;
        assert_eq!(uas.on_txn_timeout(TxnId(2), timed_out), None);
        uas.respond(me(), 200, None, &[]).expect("200");
        uas.bye(local(), &mut IdGen::new()).expect("BYE");
        let ended = uas.on_txn_timeout(TxnId(2), timed_out);
        assert_eq!(ended, Some(EndReason::LocalHangup));
    }
}
