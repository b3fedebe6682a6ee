//! Why a datagram was refused, and what a careful element does about it.

use super::reply::ReplyContext;
use super::MAX_MESSAGE_OCTETS;

/// What exactly is wrong with a message, in the words of RFC 3261/4475.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    #[error("the start line is not terminated by CRLF")]
    UnterminatedStartLine,
    #[error("bare CR inside the start line or header section")]
    BareCr,
    #[error("the datagram ends in the middle of a header line")]
    TruncatedHeaders,
    #[error("header line without a colon, or whose name is not a token")]
    MalformedHeaderLine,
    #[error("continuation line before the first header field")]
    FoldBeforeFirstHeader,
    #[error("more than {0} header fields")]
    TooManyHeaders(usize),
    #[error("Content-Length is not a non-negative decimal number")]
    BadContentLength,
    #[error("several Content-Length header fields with different values")]
    ConflictingContentLength,
    #[error("Content-Length {declared} exceeds the {available} octets of body in the datagram")]
    ContentLengthExceedsBody { declared: u64, available: usize },
    #[error("malformed request line: {0}")]
    BadRequestLine(&'static str),
    #[error("malformed status line: {0}")]
    BadStatusLine(&'static str),
    #[error("status code {0} is outside 100-699")]
    StatusOutOfRange(u16),
    #[error("malformed Request-URI: {0}")]
    BadRequestUri(&'static str),
    #[error("required header field {0} is missing")]
    MissingHeader(&'static str),
    #[error("header field {0} appears more than once")]
    DuplicateHeader(&'static str),
    #[error("malformed {header} header field: {why}")]
    BadHeader {
        header: &'static str,
        why: &'static str,
    },
    #[error("CSeq sequence number exceeds 2^32-1")]
    CSeqOutOfRange,
    #[error("CSeq method differs from the request method")]
    CSeqMethodMismatch,
    #[error("message body without Content-Type")]
    BodyWithoutContentType,
}

/// A datagram that is not a usable SIP message.
///
/// [`status`](Self::status) says how a careful UAS answers it and
/// [`reply_context`](Self::reply_context) whether it can (`reply::stateless` builds the answer).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Only CR/LF octets: an RFC 5626 keep-alive or an empty datagram. Nothing to answer.
    #[error("empty datagram or CRLF keep-alive")]
    KeepAlive,
    /// Larger than any UDP datagram may be; not even looked at.
    #[error("message of {0} octets exceeds the {max} octet limit", max = MAX_MESSAGE_OCTETS)]
    TooLarge(usize),
    /// A malformed request: answer 400 when the context allows (never for an ACK).
    #[error("bad request: {problem}")]
    BadRequest {
        problem: Problem,
        ctx: Option<Box<ReplyContext>>,
        ack: bool,
    },
    /// A request for a SIP version other than 2.0: answer 505.
    #[error("request for SIP version {version:?}; only SIP/2.0 is supported")]
    VersionNotSupported {
        version: String,
        ctx: Option<Box<ReplyContext>>,
        ack: bool,
    },
    /// A well-formed request whose method rsip cannot represent: answer 501.
    ///
    /// rsip 0.4's `Method` is a closed enum, so an extension method cannot become an
    /// `rsip::SipMessage`; everything else about the request was checked first.
    #[error("method {method:?} is not implemented")]
    UnknownMethod {
        method: String,
        ctx: Option<Box<ReplyContext>>,
    },
    /// A malformed or out-of-range response: drop it silently (and count it).
    #[error("junk response: {problem}")]
    BadResponse { problem: Problem },
}

impl ParseError {
    /// The status a careful UAS sends back, `None` when the datagram must only be dropped
    /// (keep-alives, responses, anything about an ACK).
    pub fn status(&self) -> Option<u16> {
        match self {
            ParseError::KeepAlive | ParseError::BadResponse { .. } => None,
            ParseError::TooLarge(_) => Some(513),
            ParseError::BadRequest { ack: true, .. }
            | ParseError::VersionNotSupported { ack: true, .. } => None,
            ParseError::BadRequest { .. } => Some(400),
            ParseError::VersionNotSupported { .. } => Some(505),
            ParseError::UnknownMethod { .. } => Some(501),
        }
    }

    /// The parts of the request a stateless answer copies, when they could be read.
    pub fn reply_context(&self) -> Option<&ReplyContext> {
        match self {
            ParseError::BadRequest { ctx, .. }
            | ParseError::VersionNotSupported { ctx, .. }
            | ParseError::UnknownMethod { ctx, .. } => ctx.as_deref(),
            _ => None,
        }
    }

    /// The specific defect, where there is one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ParseError::BadRequest { problem, .. } | ParseError::BadResponse { problem } => {
                Some(problem)
            }
            _ => None,
        }
    }

    /// Whether the datagram was a response (which is never answered).
    pub fn is_response(&self) -> bool {
        matches!(self, ParseError::BadResponse { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let bad = |ack| ParseError::BadRequest {
            problem: Problem::BareCr,
            ctx: None,
            ack,
        };
        assert_eq!(bad(false).status(), Some(400));
        assert_eq!(bad(true).status(), None);
        assert_eq!(ParseError::KeepAlive.status(), None);
        assert_eq!(ParseError::TooLarge(70_000).status(), Some(513));
        let r = ParseError::BadResponse {
            problem: Problem::StatusOutOfRange(700),
        };
        assert_eq!(r.status(), None);
        assert!(r.is_response());
        assert_eq!(
            r.to_string(),
            "junk response: status code 700 is outside 100-699"
        );
    }
}
