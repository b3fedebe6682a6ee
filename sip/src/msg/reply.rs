//! Answers: stateless replies to requests that failed to parse (RFC 3261 §8.2.6 from whatever
//! could be read), and responses built from a parsed request.

use std::fmt::Write as _;

use rsip::headers::untyped::{To, UntypedHeader};
use rsip::{Header, Method, StatusCode};

use super::frame::skip_keepalive;
use super::name::{lookup, Name};
use super::print::reason_phrase;
use super::{Incoming, ParseError};

/// The parts of a rejected request that a stateless answer copies: every Via, From, To,
/// Call-ID and CSeq, as received (unfolded). Gathered leniently, on the error path only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyContext {
    vias: Vec<String>,
    from: String,
    to: String,
    call_id: String,
    cseq: String,
    method: String,
    warning: String,
}

impl ReplyContext {
    pub fn vias(&self) -> &[String] {
        &self.vias
    }

    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    pub fn cseq(&self) -> &str {
        &self.cseq
    }

    /// The method as written in the request line.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// Reads what it can of `msg`'s header section. `None` unless at least one Via and all of
    /// From, To, Call-ID and CSeq are there and free of CR: a value holding one is never
    /// echoed, so a reply cannot be turned into header injection. (Other control characters
    /// may legally sit in quoted-pairs, RFC 4475 §3.1.1.2, and are copied.)
    pub(crate) fn scan(msg: &[u8], warning: &str) -> Option<Box<ReplyContext>> {
        let msg = skip_keepalive(msg);
        let mut lines = msg.split(|&b| b == b'\n').map(|l| match l {
            [head @ .., b'\r'] => head,
            l => l,
        });
        let first = lines.next()?;
        let method = first.split(|&b| b == b' ').next().unwrap_or(&[]);

        let mut vias = Vec::new();
        let (mut from, mut to, mut call_id, mut cseq) = (None, None, None, None);
        // The field a continuation line belongs to, if it is one we copy.
        let mut current: Option<&mut String> = None;
        let mut via_count_at_fold = usize::MAX;
        for line in lines {
            if line.is_empty() {
                break;
            }
            if let [b' ' | b'\t', ..] = line {
                let more = String::from_utf8_lossy(line);
                let more = more.trim_matches([' ', '\t']);
                if vias.len() == via_count_at_fold {
                    if let Some(last) = vias.last_mut() {
                        push_folded(last, more);
                    }
                } else if let Some(v) = current.as_deref_mut() {
                    push_folded(v, more);
                }
                continue;
            }
            current = None;
            via_count_at_fold = usize::MAX;
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let (name, value) = line.split_at(colon);
            let name = String::from_utf8_lossy(name);
            let value = String::from_utf8_lossy(value.get(1..).unwrap_or(&[]));
            let value = value.trim_matches([' ', '\t']).to_owned();
            let slot = match lookup(name.trim_end_matches([' ', '\t'])) {
                Name::Via => {
                    vias.push(value);
                    via_count_at_fold = vias.len();
                    continue;
                }
                Name::From => &mut from,
                Name::To => &mut to,
                Name::CallId => &mut call_id,
                Name::CSeq => &mut cseq,
                _ => continue,
            };
            if slot.is_none() {
                current = Some(slot.insert(value));
            }
        }
        let clean = |s: &String| !s.is_empty() && !s.bytes().any(|b| b == b'\r' || b == b'\n');
        if vias.is_empty() || !vias.iter().all(clean) {
            return None;
        }
        let (from, to, call_id, cseq) = (from?, to?, call_id?, cseq?);
        if ![&from, &to, &call_id, &cseq].into_iter().all(clean) {
            return None;
        }
        Some(Box::new(ReplyContext {
            vias,
            from,
            to,
            call_id,
            cseq,
            method: String::from_utf8_lossy(method).into_owned(),
            warning: warning.to_owned(),
        }))
    }

    /// A stable To tag for a request answered without state, so retransmissions of the request
    /// get the same tag (RFC 3261 §8.2.6.2). FNV-1a over the transaction's identity.
    fn stateless_tag(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let top_via = self.vias.first().map_or("", String::as_str);
        for part in [self.call_id.as_str(), &self.from, &self.cseq, top_via] {
            for b in part.bytes().chain([0]) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("sl{h:016x}")
    }
}

fn push_folded(v: &mut String, more: &str) {
    if !more.is_empty() {
        if !v.is_empty() {
            v.push(' ');
        }
        v.push_str(more);
    }
}

/// Whether a From/To value carries a `tag` parameter (outside quotes and `<>`).
fn has_tag(v: &str) -> bool {
    let b = v.as_bytes();
    let (mut quote, mut angle) = (false, false);
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' if quote => i += 1,
            b'"' => quote = !quote,
            b'<' if !quote => angle = true,
            b'>' if !quote => angle = false,
            b';' if !quote && !angle => {
                let rest = v.get(i + 1..).unwrap_or("").trim_start_matches([' ', '\t']);
                let is_tag = rest.get(..3).is_some_and(|t| t.eq_ignore_ascii_case("tag"))
                    && rest
                        .get(3..)
                        .is_some_and(|r| r.trim_start_matches([' ', '\t']).starts_with('='));
                if is_tag {
                    return true;
                }
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// Control characters in a caller-supplied reason phrase would break the status line.
fn push_clean(out: &mut String, s: &str) {
    out.extend(s.chars().filter(|c| !c.is_control() || *c == '\t'));
}

/// A stateless response to a request that could not be parsed: the Vias, From, To (with a
/// to-tag unless it had one, or the status is 100), Call-ID and CSeq copied, a Warning
/// naming the problem for error statuses, and `Content-Length: 0`.
pub fn stateless(ctx: &ReplyContext, status: u16, reason: &str) -> Vec<u8> {
    stateless_with(ctx, status, reason, &[])
}

/// [`stateless`] with extra header fields, such as `Allow` on a 501.
pub fn stateless_with(ctx: &ReplyContext, status: u16, reason: &str, extra: &[Header]) -> Vec<u8> {
    let mut s = String::with_capacity(256 + ctx.vias.iter().map(String::len).sum::<usize>());
    // fmt::Write into a String cannot fail; the results are ignored for that reason.
    let _ = write!(s, "SIP/2.0 {status} ");
    push_clean(&mut s, reason);
    s.push_str("\r\n");
    for v in &ctx.vias {
        let _ = write!(s, "Via: {v}\r\n");
    }
    let _ = write!(s, "From: {}\r\nTo: {}", ctx.from, ctx.to);
    if status > 100 && !has_tag(&ctx.to) {
        let _ = write!(s, ";tag={}", ctx.stateless_tag());
    }
    let _ = write!(s, "\r\nCall-ID: {}\r\nCSeq: {}\r\n", ctx.call_id, ctx.cseq);
    if status >= 300 && !ctx.warning.is_empty() {
        s.push_str("Warning: 399 outdial \"");
        for c in ctx.warning.chars().filter(|c| !c.is_control()) {
            if c == '"' || c == '\\' {
                s.push('\\');
            }
            s.push(c);
        }
        s.push_str("\"\r\n");
    }
    for h in extra {
        let _ = write!(s, "{h}\r\n");
    }
    s.push_str("Content-Length: 0\r\n\r\n");
    s.into_bytes()
}

/// The stateless answer a careful UAS sends for `err`, if any: its status, the standard
/// reason phrase, and the request's identity from the error's context.
pub fn for_error(err: &ParseError) -> Option<Vec<u8>> {
    let status = err.status()?;
    let ctx = err.reply_context()?;
    Some(stateless(ctx, status, reason_phrase(status)))
}

/// A response to `req` per RFC 3261 §8.2.6: Via, From, To, Call-ID and CSeq copied in order,
/// `to_tag` added to To unless the request's To has a tag already. Also copies Timestamp into
/// a 100 (§8.2.6.1) and Record-Route into 101-299 answers to INVITE/SUBSCRIBE (§12.1.1).
/// A reason differing from the standard phrase is kept via `StatusCode::Other`.
/// No Content-Length is added: [`to_bytes`](super::to_bytes) writes the real one.
pub fn response_to(
    req: &Incoming,
    status: u16,
    reason: &str,
    to_tag: Option<&str>,
) -> rsip::Response {
    let dialog_creating = matches!(req.head.method, Some(Method::Invite | Method::Subscribe))
        && (101..300).contains(&status);
    let mut headers = Vec::with_capacity(8);
    for h in req.headers().iter() {
        match h {
            Header::Via(_) | Header::From(_) | Header::CallId(_) | Header::CSeq(_) => {
                headers.push(h.clone());
            }
            Header::To(to) => match to_tag {
                Some(tag) if req.head.to_tag.is_none() => {
                    let mut v = to.value().to_owned();
                    v.push_str(";tag=");
                    v.push_str(tag);
                    headers.push(Header::To(To::new(v)));
                }
                _ => headers.push(h.clone()),
            },
            Header::Timestamp(_) if status == 100 => headers.push(h.clone()),
            Header::RecordRoute(_) if dialog_creating => headers.push(h.clone()),
            _ => {}
        }
    }
    let status_code = match StatusCode::from(status) {
        StatusCode::Other(..) => StatusCode::Other(status, reason.to_owned()),
        known if reason.is_empty() || reason == reason_phrase(status) => known,
        _ => StatusCode::Other(status, reason.to_owned()),
    };
    rsip::Response {
        status_code,
        version: rsip::Version::V2,
        headers: headers.into(),
        body: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{parse_datagram, to_bytes};

    const BAD: &[u8] = b"INVITE sip:a@b.example SIP/2.0\r\n\
Via: SIP/2.0/UDP h1.example;branch=z9hG4bK1\r\n\
v: SIP/2.0/UDP h2.example;branch=z9hG4bK2,\r\n SIP/2.0/UDP h3.example\r\n\
From: <sip:c@d.example>;tag=9\r\nTo: \"x <sip:a@b.example>\r\ni: cid\r\nCSeq: 4 INVITE\r\n\
Content-Length: 0\r\n\r\n";

    #[test]
    fn stateless_reply_copies_the_request_identity() {
        let err = parse_datagram(BAD).unwrap_err();
        assert_eq!(err.status(), Some(400));
        let ctx = err.reply_context().unwrap();
        assert_eq!(ctx.vias().len(), 2);
        let bytes = for_error(&err).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("SIP/2.0 400 Bad Request\r\nVia: SIP/2.0/UDP h1.example;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP h2.example;branch=z9hG4bK2, SIP/2.0/UDP h3.example\r\n"), "{text}");
        assert!(
            text.contains("\r\nTo: \"x <sip:a@b.example>;tag=sl"),
            "{text}"
        );
        assert!(text.contains("\r\nWarning: 399 outdial \"malformed To header field: unterminated quoted string\"\r\n"), "{text}");
        assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
        // Retransmissions get the same tag.
        assert_eq!(for_error(&parse_datagram(BAD).unwrap_err()).unwrap(), bytes);
    }

    #[test]
    fn stateless_replies_parse_when_the_copied_fields_do() {
        let m =
            b"OPTIONS sip:a@b.example SIP/2.0\r\nVia: SIP/2.0/UDP h1.example;branch=z9hG4bK1\r\n\
From: <sip:c@d.example>;tag=9\r\nTo: <sip:a@b.example>\r\ni: cid\r\nCSeq: 4 INVITE\r\n\r\n";
        let err = parse_datagram(m).unwrap_err();
        let parsed = parse_datagram(&for_error(&err).unwrap()).unwrap();
        assert_eq!(parsed.head.status, Some(400));
        assert_eq!(parsed.head.call_id, "cid");
        assert!(parsed.head.to_tag.is_some());
        assert_eq!(parsed.head.top_via_branch.as_deref(), Some("z9hG4bK1"));
    }

    #[test]
    fn nothing_to_copy_means_no_context() {
        let err = parse_datagram(b"INVITE sip:a@b.example SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n")
            .unwrap_err();
        assert_eq!(err.status(), Some(400));
        assert!(err.reply_context().is_none());
        assert!(for_error(&err).is_none());
        // Values with a bare CR are never echoed.
        let m = b"X sip:a@b.example SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: a\rb\r\nTo: t\r\ni: c\r\nCSeq: 1 X\r\n\r\n";
        assert!(parse_datagram(m).unwrap_err().reply_context().is_none());
    }

    #[test]
    fn reason_phrases_are_sanitised() {
        let err = parse_datagram(BAD).unwrap_err();
        let bytes = stateless(err.reply_context().unwrap(), 400, "Bad\r\nX-Injected: 1");
        assert!(bytes.starts_with(b"SIP/2.0 400 BadX-Injected: 1\r\nVia:"));
    }

    #[test]
    fn tag_detection() {
        assert!(has_tag("<sip:a@b>;tag=1"));
        assert!(has_tag("sip:a@b ; TAG = 1"));
        assert!(!has_tag("<sip:a@b;tag=1>"));
        assert!(!has_tag("\"a;tag=1\" <sip:a@b>"));
        assert!(!has_tag("<sip:a@b>;tagx=1"));
    }

    #[test]
    fn response_to_copies_and_tags() {
        let req = b"INVITE sip:bob@b.example SIP/2.0\r\n\
Via: SIP/2.0/UDP p1.example;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP p2.example;branch=z9hG4bK2\r\n\
Record-Route: <sip:p1.example;lr>\r\nFrom: A <sip:a@a.example>;tag=1\r\nTo: B <sip:bob@b.example>\r\n\
Call-ID: c1\r\nCSeq: 1 INVITE\r\nTimestamp: 54\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
        let inc = parse_datagram(req).unwrap();
        let trying = response_to(&inc, 100, "Trying", None);
        let text = String::from_utf8(to_bytes(&trying.into())).unwrap();
        assert_eq!(
            text,
            "SIP/2.0 100 Trying\r\nVia: SIP/2.0/UDP p1.example;branch=z9hG4bK1\r\n\
Via: SIP/2.0/UDP p2.example;branch=z9hG4bK2\r\nFrom: A <sip:a@a.example>;tag=1\r\n\
To: B <sip:bob@b.example>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nTimestamp: 54\r\n\
Content-Length: 0\r\n\r\n"
        );
        let ok = response_to(&inc, 200, "OK", Some("t9"));
        assert_eq!(ok.status_code, StatusCode::OK);
        let text = String::from_utf8(to_bytes(&ok.into())).unwrap();
        assert!(text.contains("\r\nRecord-Route: <sip:p1.example;lr>\r\n"));
        assert!(text.contains("\r\nTo: B <sip:bob@b.example>;tag=t9\r\n"));
        assert!(!text.contains("Timestamp"));
        let busy = response_to(&inc, 486, "Agent Busy", Some("t9"));
        assert_eq!(busy.status_code.code(), 486);
        let text = String::from_utf8(to_bytes(&busy.into())).unwrap();
        assert!(text.starts_with("SIP/2.0 486 Agent Busy\r\n"));
        assert!(!text.contains("Record-Route"));
    }
}
