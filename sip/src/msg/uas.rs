//! The application-layer verdicts of an endpoint on a well-formed request (RFC 3261 §8.2,
//! RFC 4475 §3.3): which method, URI scheme, extensions and bodies it can take.

use rsip::headers::untyped::{self as h, UntypedHeader};
use rsip::{Header, Method, Scheme};

use super::grammar::{media_type, tokens};
use super::lex::split_list;
use super::Incoming;

/// Option tags this endpoint implements, for [`check_uas_acceptable`]. None yet: a Require
/// naming any option is refused with 420.
pub const SUPPORTED_EXTENSIONS: &[&str] = &[];

/// Why an endpoint refuses a request, and the header fields the answer must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub status: u16,
    pub reason: &'static str,
    pub extra_headers: Vec<Header>,
}

impl Reject {
    fn new(status: u16, reason: &'static str, extra: Option<Header>) -> Self {
        Self {
            status,
            reason,
            extra_headers: extra.into_iter().collect(),
        }
    }
}

/// [`check_uas_acceptable_with`] for the extensions in [`SUPPORTED_EXTENSIONS`].
pub fn check_uas_acceptable(inc: &Incoming, allow: &[Method]) -> Result<(), Reject> {
    check_uas_acceptable_with(inc, allow, SUPPORTED_EXTENSIONS)
}

/// Checks, in RFC 3261 §8.2's order: method (405 with Allow; extension methods rsip cannot
/// represent were already answered 501 by the parser), Request-URI scheme (416 unless sip,
/// sips or tel), Require (420 with Unsupported; Proxy-Require is a proxy's business), an INVITE
/// body that is not `application/sdp` or is encoded (415 with Accept / Accept-Encoding), and
/// Accept on INVITE/OPTIONS that excludes SDP (406). Max-Forwards 0 is fine for an endpoint.
/// Responses, ACKs and CANCELs always pass: they are never answered with these.
pub fn check_uas_acceptable_with(
    inc: &Incoming,
    allow: &[Method],
    supported: &[&str],
) -> Result<(), Reject> {
    let rsip::SipMessage::Request(req) = &inc.msg else {
        return Ok(());
    };
    if matches!(req.method, Method::Ack | Method::Cancel) {
        return Ok(());
    }
    if !allow.contains(&req.method) {
        return Err(Reject::new(
            405,
            "Method Not Allowed",
            Some(allow_header(allow)),
        ));
    }

    let scheme_ok = match &req.uri.scheme {
        Some(Scheme::Sip | Scheme::Sips) | None => true,
        Some(Scheme::Other(s)) => s.eq_ignore_ascii_case("tel"),
    };
    if !scheme_ok {
        return Err(Reject::new(416, "Unsupported URI Scheme", None));
    }

    let mut unsupported = String::new();
    for r in req.headers.iter() {
        if let Header::Require(r) = r {
            for opt in tokens(r.value()) {
                if !supported.iter().any(|s| s.eq_ignore_ascii_case(opt)) {
                    if !unsupported.is_empty() {
                        unsupported.push_str(", ");
                    }
                    unsupported.push_str(opt);
                }
            }
        }
    }
    if !unsupported.is_empty() {
        let h = Header::Unsupported(h::Unsupported::new(unsupported));
        return Err(Reject::new(420, "Bad Extension", Some(h)));
    }

    if req.method == Method::Invite && !req.body.is_empty() {
        if inc.head.content_type.as_deref() != Some("application/sdp") {
            let h = Header::Accept(h::Accept::new("application/sdp"));
            return Err(Reject::new(415, "Unsupported Media Type", Some(h)));
        }
        let encoded = req.headers.iter().any(|h| match h {
            Header::ContentEncoding(e) => {
                tokens(e.value()).any(|t| !t.eq_ignore_ascii_case("identity"))
            }
            _ => false,
        });
        if encoded {
            let h = Header::AcceptEncoding(h::AcceptEncoding::new("identity"));
            return Err(Reject::new(415, "Unsupported Media Type", Some(h)));
        }
    }

    if matches!(req.method, Method::Invite | Method::Options) {
        let mut accept = req.headers.iter().filter_map(|h| match h {
            Header::Accept(a) => Some(a.value()),
            _ => None,
        });
        let first = accept.next();
        let empty_ok = req.method == Method::Options;
        if let Some(first) = first {
            let values = std::iter::once(first).chain(accept);
            if !accepts_sdp(values, empty_ok) {
                let w = Header::Warning(h::Warning::new(
                    "399 outdial \"Only application/sdp bodies are supported\"",
                ));
                return Err(Reject::new(406, "Not Acceptable", Some(w)));
            }
        }
    }
    Ok(())
}

fn allow_header(allow: &[Method]) -> Header {
    let list = allow
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    Header::Allow(h::Allow::new(list))
}

/// Whether Accept values admit `application/sdp` (`*/*` and `application/*` do, unless
/// `q=0`). An empty Accept means "no body": fine for OPTIONS, whose answer needs none.
fn accepts_sdp<'a>(values: impl Iterator<Item = &'a str>, empty_ok: bool) -> bool {
    let mut any = false;
    for v in values {
        for range in split_list(v) {
            if range.trim().is_empty() {
                continue;
            }
            any = true;
            let Ok((t, st)) = media_type(range) else {
                continue;
            };
            let type_ok = t == "*" || t.eq_ignore_ascii_case("application");
            let sub_ok = st == "*" || (st.eq_ignore_ascii_case("sdp") && t != "*");
            if type_ok && sub_ok && !q_zero(range) {
                return true;
            }
        }
    }
    !any && empty_ok
}

fn q_zero(range: &str) -> bool {
    range.split(';').skip(1).any(|p| {
        p.split_once('=').is_some_and(|(n, v)| {
            n.trim().eq_ignore_ascii_case("q") && v.trim().parse::<f32>().is_ok_and(|q| q == 0.0)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::parse_datagram;

    const ALLOW: &[Method] = &[
        Method::Invite,
        Method::Ack,
        Method::Bye,
        Method::Cancel,
        Method::Options,
    ];

    fn req(method: &str, uri: &str, extra: &str, body: &str) -> Incoming {
        let m = format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP h.example;branch=z9hG4bK1\r\n\
From: <sip:a@h.example>;tag=1\r\nTo: <sip:b@h.example>\r\nCall-ID: c\r\nCSeq: 1 {method}\r\n\
{extra}Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        parse_datagram(m.as_bytes()).unwrap()
    }

    fn verdict(inc: &Incoming) -> Option<u16> {
        check_uas_acceptable(inc, ALLOW).err().map(|r| r.status)
    }

    #[test]
    fn verdicts() {
        assert_eq!(verdict(&req("OPTIONS", "sip:b@h.example", "", "")), None);
        let r =
            check_uas_acceptable(&req("SUBSCRIBE", "sip:b@h.example", "", ""), ALLOW).unwrap_err();
        assert_eq!(r.status, 405);
        assert_eq!(
            r.extra_headers[0].to_string(),
            "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS"
        );
        assert_eq!(
            verdict(&req("OPTIONS", "tel:+1-212-555-0100", "", "")),
            None
        );
        assert_eq!(verdict(&req("OPTIONS", "mailto:a@b", "", "")), Some(416));
        let r = check_uas_acceptable(
            &req(
                "OPTIONS",
                "sip:b@h.example",
                "Require: foo, bar\r\nProxy-Require: baz\r\n",
                "",
            ),
            ALLOW,
        )
        .unwrap_err();
        assert_eq!(
            (r.status, r.extra_headers[0].to_string()),
            (420, "Unsupported: foo, bar".to_string())
        );
        assert!(check_uas_acceptable_with(
            &req("OPTIONS", "sip:b@h.example", "Require: timer\r\n", ""),
            ALLOW,
            &["timer"]
        )
        .is_ok());
        assert_eq!(
            verdict(&req(
                "OPTIONS",
                "sip:b@h.example",
                "Proxy-Require: baz\r\n",
                ""
            )),
            None
        );
        assert_eq!(
            verdict(&req(
                "INVITE",
                "sip:b@h.example",
                "Content-Type: text/plain\r\n",
                "hi"
            )),
            Some(415)
        );
        assert_eq!(
            verdict(&req(
                "INVITE",
                "sip:b@h.example",
                "Content-Type: application/SDP\r\n",
                "v=0"
            )),
            None
        );
        assert_eq!(
            verdict(&req(
                "INVITE",
                "sip:b@h.example",
                "Content-Type: application/sdp\r\nContent-Encoding: gzip\r\n",
                "v=0"
            )),
            Some(415)
        );
        assert_eq!(
            verdict(&req(
                "INVITE",
                "sip:b@h.example",
                "Accept: text/nobodyKnowsThis\r\n",
                ""
            )),
            Some(406)
        );
        assert_eq!(
            verdict(&req(
                "INVITE",
                "sip:b@h.example",
                "Accept: application/*\r\n",
                ""
            )),
            None
        );
        assert_eq!(
            verdict(&req(
                "INVITE",
                "sip:b@h.example",
                "Accept: application/sdp;q=0\r\n",
                ""
            )),
            Some(406)
        );
        assert_eq!(
            verdict(&req("OPTIONS", "sip:b@h.example", "Accept:\r\n", "")),
            None
        );
        assert_eq!(
            verdict(&req("INVITE", "sip:b@h.example", "Accept:\r\n", "")),
            Some(406)
        );
        assert_eq!(
            verdict(&req(
                "OPTIONS",
                "sip:b@h.example",
                "Max-Forwards: 0\r\n",
                ""
            )),
            None
        );
        // ACK is never rejected, whatever it carries.
        assert_eq!(
            verdict(&req("ACK", "mailto:a@b", "Require: x\r\n", "")),
            None
        );
    }
}
