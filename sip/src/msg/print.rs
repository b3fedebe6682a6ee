//! Wire form of rsip messages: a correct Content-Length, raw bodies and IPv6-safe URIs, which
//! rsip's `Display` (lossy UTF-8 bodies, `183 SessionProgress`) does not give.

use std::fmt::Write as _;

use rsip::{Header, SipMessage, StatusCode};

use super::uri;

/// The standard reason phrase for `status` (RFC 3261 §21 and later RFCs), or a class phrase.
pub fn reason_phrase(status: u16) -> &'static str {
    standard_phrase(status).unwrap_or(match status {
        100..=199 => "Session Progress",
        200..=299 => "OK",
        300..=399 => "Redirection",
        400..=499 => "Client Error",
        500..=599 => "Server Error",
        _ => "Global Failure",
    })
}

fn standard_phrase(status: u16) -> Option<&'static str> {
    Some(match status {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        199 => "Early Dialog Terminated",
        200 => "OK",
        202 => "Accepted",
        204 => "No Notification",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        305 => "Use Proxy",
        380 => "Alternative Service",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        410 => "Gone",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        421 => "Extension Required",
        422 => "Session Interval Too Small",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        484 => "Address Incomplete",
        485 => "Ambiguous",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        489 => "Bad Event",
        491 => "Request Pending",
        493 => "Undecipherable",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        580 => "Precondition Failure",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        606 => "Not Acceptable",
        _ => return None,
    })
}

/// Writes `msg` for the wire. Any Content-Length header in `msg` is ignored and the real body
/// length written instead, so callers may change bodies freely. Header values must not hold
/// CR or LF; values copied from parsed messages never do.
pub fn to_bytes(msg: &SipMessage) -> Vec<u8> {
    let (headers, body) = match msg {
        SipMessage::Request(r) => (&r.headers, &r.body),
        SipMessage::Response(r) => (&r.headers, &r.body),
    };
    let mut s = String::with_capacity(512);
    // fmt::Write into a String cannot fail; the results are ignored for that reason.
    match msg {
        SipMessage::Request(r) => {
            let _ = write!(s, "{} ", r.method);
            uri::write(&mut s, &r.uri);
            let _ = write!(s, " {}\r\n", r.version);
        }
        SipMessage::Response(r) => {
            let code = r.status_code.code();
            let reason = match &r.status_code {
                StatusCode::Other(_, reason) => reason.as_str(),
                _ => reason_phrase(code),
            };
            let _ = write!(s, "{} {code} {reason}\r\n", r.version);
        }
    }
    for h in headers.iter() {
        if !matches!(h, Header::ContentLength(_)) {
            let _ = write!(s, "{h}\r\n");
        }
    }
    let _ = write!(s, "Content-Length: {}\r\n\r\n", body.len());
    let mut out = s.into_bytes();
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::parse_datagram;

    #[test]
    fn round_trip_keeps_binary_bodies_and_fixes_content_length() {
        let m = b"MESSAGE sip:[2001:db8::1]:5070 SIP/2.0\r\n\
v: SIP/2.0/UDP h.example;branch=z9hG4bK1\r\n\
f: <sip:a@h.example>;tag=1\r\nt: <sip:b@h.example>\r\ni: x@y\r\nCSeq: 1 MESSAGE\r\n\
c: application/octet-stream\r\nl: 4\r\n\r\n\0\xff\r\x01";
        let inc = parse_datagram(m).unwrap();
        let mut msg = inc.msg.clone();
        let bytes = to_bytes(&msg);
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.starts_with("MESSAGE sip:[2001:db8::1]:5070 SIP/2.0\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nCall-ID: x@y\r\n"));
        assert!(bytes.ends_with(b"Content-Length: 4\r\n\r\n\0\xff\r\x01"));
        let again = parse_datagram(&bytes).unwrap();
        assert_eq!(again.msg, inc.msg);

        if let SipMessage::Request(r) = &mut msg {
            r.body = b"abc".to_vec();
        }
        let bytes = to_bytes(&msg);
        assert!(bytes.ends_with(b"Content-Length: 3\r\n\r\nabc"));
        assert_eq!(
            bytes
                .windows(15)
                .filter(|w| w == b"Content-Length:")
                .count(),
            1
        );
    }

    #[test]
    fn reason_phrases() {
        assert_eq!(reason_phrase(183), "Session Progress");
        assert_eq!(reason_phrase(481), "Call/Transaction Does Not Exist");
        assert_eq!(reason_phrase(499), "Client Error");
    }
}
