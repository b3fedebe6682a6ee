//! SIP messages on the receive path: strict framing and validation in front of rsip.
//!
//! ```text
//!   bytes ── frame ── validate ──> Incoming { rsip::SipMessage, Head }
//!              │          │
//!              └──────────┴──> ParseError { status() 400/505/501/513 or drop, reply_context() }
//!   Incoming ── check_uas_acceptable ──> Reject { 405/416/420/415/406 }
//!   reply: stateless answers from a ReplyContext, response_to, to_bytes
//!   stream: TCP/TLS octets ── StreamFramer ──> whole messages (then as above), pings, pongs
//! ```
//!
//! rsip 0.4 parses leniently (no compact names, no Content-Length, no folding, IPv6 hosts
//! split at the first colon), so rsip's own parser is not used here: the framer and validator
//! build rsip's `Request`/`Response` directly from checked parts, and
//! [`uri`](self::uri::to_string)/[`to_bytes`] write what rsip's `Display` gets wrong.
//! Building directly is also the cheaper design: the re-serialising one would add a print and
//! rsip's own parse (together about as much again as framing and validating) to every
//! datagram; `bench/benches/sip_parse.rs` measures both halves (`sip_print`, `rsip_try_from`).

mod error;
mod frame;
mod grammar;
mod lex;
mod name;
mod print;
pub mod reply;
pub mod stream;
mod uas;
pub mod uri;
mod validate;

pub use rsip;

pub use error::{ParseError, Problem};
pub use frame::MAX_HEADERS;
pub use print::{reason_phrase, to_bytes};
pub use reply::{response_to, ReplyContext};
pub use stream::{Frame, FrameError, Origin, StreamFramer};
pub use uas::{check_uas_acceptable, check_uas_acceptable_with, Reject, SUPPORTED_EXTENSIONS};

/// The largest datagram looked at; nothing larger fits in UDP anyway.
pub const MAX_MESSAGE_OCTETS: usize = 65_535;

/// A received message that passed framing and validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub msg: rsip::SipMessage,
    pub head: Head,
}

/// What routing needs, read once during validation so nobody parses a header twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub call_id: String,
    pub cseq: u32,
    pub cseq_method: rsip::Method,
    /// Requests only.
    pub method: Option<rsip::Method>,
    /// Responses only.
    pub status: Option<u16>,
    pub top_via_branch: Option<String>,
    /// `host[:port]` of the top Via, host in lower case, IPv6 in brackets.
    pub top_via_sent_by: String,
    /// The top Via carries `rport` (RFC 3581): answer to the source port.
    pub top_via_rport: bool,
    pub top_via_received: Option<String>,
    pub from_tag: Option<String>,
    pub to_tag: Option<String>,
    /// Length of the body as framed (Content-Length, or the rest of the datagram).
    pub content_length: usize,
    /// `type/subtype` of Content-Type in lower case, parameters dropped.
    pub content_type: Option<String>,
    /// URI of the first Contact (the remote target), unless it is `*`. URI headers
    /// (`?Route=...`) are checked but not kept: rsip's `Uri` has no room for them.
    pub contact: Option<rsip::Uri>,
    pub max_forwards: Option<u8>,
    /// Retry-After seconds, `None` when absent or beyond 2^32-1.
    pub retry_after: Option<u32>,
    /// Octets after the body that Content-Length made us ignore (RFC 3261 §18.3).
    pub trailing_octets: usize,
}

impl Incoming {
    pub fn is_request(&self) -> bool {
        self.head.method.is_some()
    }

    pub fn body(&self) -> &[u8] {
        match &self.msg {
            rsip::SipMessage::Request(r) => &r.body,
            rsip::SipMessage::Response(r) => &r.body,
        }
    }

    pub fn headers(&self) -> &rsip::Headers {
        match &self.msg {
            rsip::SipMessage::Request(r) => &r.headers,
            rsip::SipMessage::Response(r) => &r.headers,
        }
    }
}

/// Frames, validates and converts one UDP datagram. Never panics; work is linear in the
/// datagram's length and bounded by [`MAX_MESSAGE_OCTETS`] and [`MAX_HEADERS`].
pub fn parse_datagram(bytes: &[u8]) -> Result<Incoming, ParseError> {
    if bytes.len() > MAX_MESSAGE_OCTETS {
        return Err(ParseError::TooLarge(bytes.len()));
    }
    let msg = frame::skip_keepalive(bytes);
    if msg.is_empty() {
        return Err(ParseError::KeepAlive);
    }
    frame::frame(msg)
        .map_err(|p| validate::Fault::for_start_line(msg, p))
        .and_then(validate::message)
        .map_err(|f| f.into_error(msg))
}

/// RFC 3261 methods are case-sensitive; rsip's `FromStr` is not, so this matches exactly.
pub(crate) fn method_from_str(s: &str) -> Option<rsip::Method> {
    use rsip::Method as M;
    Some(match s {
        "INVITE" => M::Invite,
        "ACK" => M::Ack,
        "BYE" => M::Bye,
        "CANCEL" => M::Cancel,
        "OPTIONS" => M::Options,
        "REGISTER" => M::Register,
        "INFO" => M::Info,
        "MESSAGE" => M::Message,
        "NOTIFY" => M::Notify,
        "PRACK" => M::PRack,
        "PUBLISH" => M::Publish,
        "REFER" => M::Refer,
        "SUBSCRIBE" => M::Subscribe,
        "UPDATE" => M::Update,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP PC33.Atlanta.example.com:5062;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@[2001:db8::1]:5062;transport=udp>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\n";

    #[test]
    fn head_is_extracted() {
        let inc = parse_datagram(INVITE).unwrap();
        let h = &inc.head;
        assert_eq!(h.method, Some(rsip::Method::Invite));
        assert_eq!(h.status, None);
        assert_eq!(h.cseq, 314159);
        assert_eq!(h.cseq_method, rsip::Method::Invite);
        assert_eq!(h.call_id, "a84b4c76e66710@pc33.atlanta.example.com");
        assert_eq!(h.top_via_branch.as_deref(), Some("z9hG4bK776asdhds"));
        assert_eq!(h.top_via_sent_by, "pc33.atlanta.example.com:5062");
        assert!(h.top_via_rport);
        assert_eq!(h.from_tag.as_deref(), Some("1928301774"));
        assert_eq!(h.to_tag, None);
        assert_eq!(h.content_length, 4);
        assert_eq!(h.content_type.as_deref(), Some("application/sdp"));
        assert_eq!(h.max_forwards, Some(70));
        let contact = h.contact.as_ref().unwrap();
        assert_eq!(
            uri::to_string(contact),
            "sip:alice@[2001:db8::1]:5062;transport=UDP"
        );
        assert_eq!(inc.body(), b"v=0\n");
        assert!(inc.is_request());
    }

    #[test]
    fn keepalives_and_oversize() {
        assert!(matches!(
            parse_datagram(b"\r\n\r\n"),
            Err(ParseError::KeepAlive)
        ));
        assert!(matches!(parse_datagram(b""), Err(ParseError::KeepAlive)));
        let big = vec![b'a'; MAX_MESSAGE_OCTETS + 1];
        assert!(matches!(parse_datagram(&big), Err(ParseError::TooLarge(_))));
        // Leading CRLFs before a real message are tolerated.
        let mut m = b"\r\n\r\n".to_vec();
        m.extend_from_slice(INVITE);
        assert!(parse_datagram(&m).is_ok());
    }

    #[test]
    fn methods_are_case_sensitive() {
        assert_eq!(method_from_str("INVITE"), Some(rsip::Method::Invite));
        assert_eq!(method_from_str("invite"), None);
        assert_eq!(method_from_str("PRACK"), Some(rsip::Method::PRack));
    }
}
