//! Checks what rsip does not (start lines, RFC 3261 §8.2 and §20, RFC 4475 §3.1.2), then builds
//! the rsip message and the routing [`Head`] from the framed parts in the same pass.

use rsip::headers::untyped::{UntypedHeader, Via};
use rsip::{Header, Method, StatusCode, Version};

use super::error::{ParseError, Problem};
use super::frame::{Framed, RawHeader};
use super::grammar::{addr, call_id_ok, cseq, date_ok, decimal_u32, media_type, via_parm, ViaParm};
use super::lex::{is_token_str, split_list};
use super::name::Name;
use super::reply::ReplyContext;
use super::uri::{self, Place};
use super::{method_from_str, Head, Incoming};

/// Why validation stopped, before the reply context is attached.
#[derive(Debug)]
pub(crate) enum Fault {
    Request { problem: Problem, ack: bool },
    Version { version: String, ack: bool },
    UnknownMethod(String),
    Response(Problem),
}

fn is_status_line(line: &[u8]) -> bool {
    line.get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
}

/// An ACK is never answered, malformed or not (RFC 3261 §17.2.3).
fn is_ack(line: &[u8]) -> bool {
    line.starts_with(b"ACK ")
}

impl Fault {
    /// A framing problem, attributed by the start line to a request or a response.
    pub(crate) fn for_start_line(msg: &[u8], problem: Problem) -> Fault {
        if is_status_line(msg) {
            Fault::Response(problem)
        } else {
            Fault::Request {
                problem,
                ack: is_ack(msg),
            }
        }
    }

    /// Attaches what a stateless answer needs; only here, on the error path, is it gathered.
    pub(crate) fn into_error(self, msg: &[u8]) -> ParseError {
        match self {
            Fault::Request { problem, ack } => ParseError::BadRequest {
                ctx: ReplyContext::scan(msg, &problem.to_string()),
                problem,
                ack,
            },
            Fault::Version { version, ack } => ParseError::VersionNotSupported {
                ctx: ReplyContext::scan(msg, "only SIP/2.0 is supported"),
                version,
                ack,
            },
            Fault::UnknownMethod(method) => ParseError::UnknownMethod {
                ctx: ReplyContext::scan(msg, "method not implemented"),
                method,
            },
            Fault::Response(problem) => ParseError::BadResponse { problem },
        }
    }
}

pub(crate) fn message(f: Framed<'_>) -> Result<Incoming, Fault> {
    if is_status_line(f.start_line) {
        response(f).map_err(Fault::Response)
    } else {
        request(f)
    }
}

struct RequestLine<'a> {
    method_text: &'a str,
    method: Option<Method>,
    uri: rsip::Uri,
}

/// `Method SP Request-URI SP SIP-Version`, single SPs only (RFC 4475 §3.1.2.7-§3.1.2.11).
fn request_line(line: &[u8]) -> Result<RequestLine<'_>, Fault> {
    let ack = is_ack(line);
    let bad = |why| Fault::Request {
        problem: Problem::BadRequestLine(why),
        ack,
    };
    if line.iter().any(|&b| !(0x20..0x7f).contains(&b)) {
        return Err(bad("control character or non-ASCII octet"));
    }
    let s = std::str::from_utf8(line).map_err(|_| bad("not ASCII"))?;
    if s.ends_with(' ') {
        return Err(bad("whitespace at the end of the request line"));
    }
    let mut parts = s.split(' ');
    let (method_text, uri_text, version, extra) =
        (parts.next(), parts.next(), parts.next(), parts.next());
    if [method_text, uri_text, version].contains(&Some("")) {
        return Err(bad("more than one SP between request-line elements"));
    }
    if extra.is_some() {
        return Err(bad("whitespace inside the Request-URI"));
    }
    let (Some(method_text), Some(uri_text), Some(version)) = (method_text, uri_text, version)
    else {
        return Err(bad("missing Request-URI or SIP-Version"));
    };
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        return Err(if is_sip_version(version) {
            Fault::Version {
                version: clip(version),
                ack,
            }
        } else {
            bad("malformed SIP-Version")
        });
    }
    if !is_token_str(method_text) {
        return Err(bad("method is not a token"));
    }
    let uri_fault = |why| Fault::Request {
        problem: Problem::BadRequestUri(why),
        ack,
    };
    if uri_text.starts_with('<') {
        return Err(uri_fault("enclosed in <>"));
    }
    let uri = uri::parse(uri_text, Place::RequestLine).map_err(uri_fault)?;
    Ok(RequestLine {
        method_text,
        method: method_from_str(method_text),
        uri,
    })
}

/// Peer-supplied text kept in an error is cut short: errors get logged. The texts clipped
/// are ASCII tokens, so any length is a character boundary.
fn clip(s: &str) -> String {
    s.get(..64).unwrap_or(s).to_owned()
}

/// `"SIP/" 1*DIGIT "." 1*DIGIT`, any numbers.
fn is_sip_version(v: &str) -> bool {
    let Some(rest) = v
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("SIP/"))
        .and(v.get(4..))
    else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    rest.split_once('.')
        .is_some_and(|(a, b)| digits(a) && digits(b))
}

/// `SIP-Version SP Status-Code SP Reason-Phrase`. A missing SP before an empty reason phrase
/// is tolerated: dropping a final response for that would cost a call.
fn status_line(line: &[u8]) -> Result<(u16, &[u8]), Problem> {
    let bad = Problem::BadStatusLine;
    let (version, rest) = split_sp(line);
    if !version.eq_ignore_ascii_case(b"SIP/2.0") {
        return Err(bad("version is not SIP/2.0"));
    }
    let (code, reason) = split_sp(rest);
    let [a, b, c] = code else {
        return Err(bad("status code is not three digits"));
    };
    if ![a, b, c].iter().all(|d| d.is_ascii_digit()) {
        return Err(bad("status code is not three digits"));
    }
    let code = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
    if !(100..=699).contains(&code) {
        return Err(Problem::StatusOutOfRange(code));
    }
    if reason
        .iter()
        .any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f)
    {
        return Err(bad("control character in reason phrase"));
    }
    Ok((code, reason))
}

fn split_sp(s: &[u8]) -> (&[u8], &[u8]) {
    match s.iter().position(|&b| b == b' ') {
        Some(i) => (s.get(..i).unwrap_or(&[]), s.get(i + 1..).unwrap_or(&[])),
        None => (s, &[]),
    }
}

/// Single-valued headers seen so far (RFC 3261 §7.3.1; RFC 4475 §3.3.8).
#[derive(Default)]
struct Once(u8);

impl Once {
    fn mark(&mut self, bit: u8, name: &'static str) -> Result<(), Problem> {
        if self.0 & bit != 0 {
            return Err(Problem::DuplicateHeader(name));
        }
        self.0 |= bit;
        Ok(())
    }
}

/// What the header walk found.
#[derive(Default)]
struct Seen {
    once: Once,
    vias: usize,
    top_via_branch: Option<String>,
    top_via_sent_by: String,
    top_via_rport: bool,
    top_via_received: Option<String>,
    from: bool,
    from_tag: Option<String>,
    to: bool,
    to_tag: Option<String>,
    call_id: Option<String>,
    cseq: Option<(u32, Option<Method>, bool)>,
    max_forwards: Option<u8>,
    content_type: Option<String>,
    contact_seen: bool,
    contact: Option<rsip::Uri>,
    retry_after: Option<u32>,
}

fn bad(header: &'static str) -> impl Fn(&'static str) -> Problem {
    move |why| Problem::BadHeader { header, why }
}

impl Seen {
    fn top_via(&mut self, v: &ViaParm<'_>) {
        let mut sent_by = v.host.to_ascii_lowercase();
        if let Some(p) = v.port {
            sent_by.push(':');
            sent_by.push_str(&p.to_string());
        }
        self.top_via_sent_by = sent_by;
        self.top_via_branch = v.branch.map(Into::into);
        self.top_via_rport = v.rport;
        self.top_via_received = v.received.map(Into::into);
    }
}

/// Walks the header fields once: checks the ones routing depends on, records what [`Head`]
/// needs, and converts every field to its rsip variant. `req_method` is the request line's
/// method, for the CSeq comparison.
fn headers(
    raw: Vec<RawHeader<'_>>,
    req_method: Option<&str>,
) -> Result<(Vec<Header>, Seen), Problem> {
    let mut out = Vec::with_capacity(raw.len() + 2);
    let mut s = Seen::default();
    for h in raw {
        let value: &str = &h.value;
        match h.name {
            Name::Via => {
                // One rsip header per via-parm, canonical spelling: rsip's typed Via wants it.
                for elem in split_list(value) {
                    let v = via_parm(elem).map_err(bad("Via"))?;
                    if s.vias == 0 {
                        s.top_via(&v);
                    }
                    s.vias += 1;
                    out.push(Header::Via(Via::new(v.canonical)));
                }
                continue;
            }
            Name::From => {
                s.once.mark(1, "From")?;
                s.from = true;
                s.from_tag = addr(value).map_err(bad("From"))?.tag.map(Into::into);
            }
            Name::To => {
                s.once.mark(2, "To")?;
                s.to = true;
                s.to_tag = addr(value).map_err(bad("To"))?.tag.map(Into::into);
            }
            Name::CallId => {
                s.once.mark(4, "Call-ID")?;
                if !call_id_ok(value) {
                    return Err(bad("Call-ID")("not word[@word]"));
                }
                s.call_id = Some(value.into());
            }
            Name::CSeq => {
                s.once.mark(8, "CSeq")?;
                let (n, m) = cseq(value).map_err(bad("CSeq"))?;
                let n = n.ok_or(Problem::CSeqOutOfRange)?;
                s.cseq = Some((
                    n,
                    method_from_str(m),
                    !matches!(req_method, Some(r) if r != m),
                ));
            }
            Name::MaxForwards => {
                s.once.mark(16, "Max-Forwards")?;
                let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
                let mf = decimal_u32(value)
                    .filter(|_| digits)
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or(bad("Max-Forwards")("not a number from 0 to 255"))?;
                s.max_forwards = Some(mf);
            }
            Name::ContentLength => s.once.mark(32, "Content-Length")?,
            Name::ContentType => {
                s.once.mark(64, "Content-Type")?;
                let (t, st) = media_type(value).map_err(bad("Content-Type"))?;
                let mut ct = String::with_capacity(t.len() + st.len() + 1);
                ct.push_str(t);
                ct.push('/');
                ct.push_str(st);
                ct.make_ascii_lowercase();
                s.content_type = Some(ct);
            }
            Name::Contact => {
                for elem in split_list(value) {
                    if elem.trim() == "*" {
                        s.contact_seen = true;
                        continue;
                    }
                    let a = addr(elem).map_err(bad("Contact"))?;
                    if !s.contact_seen {
                        s.contact = uri::parse(a.uri, Place::Header).ok();
                        s.contact_seen = true;
                    }
                }
            }
            Name::Date if !date_ok(value) => {
                return Err(bad("Date")("time zone is not GMT"));
            }
            Name::RetryAfter => {
                let digits = value.split(|c: char| !c.is_ascii_digit()).next();
                s.retry_after = digits.and_then(decimal_u32);
            }
            _ => {}
        }
        out.push(h.name.into_header(h.raw_name, h.value.into_owned()));
    }
    if s.vias == 0 {
        return Err(Problem::MissingHeader("Via"));
    }
    for (present, name) in [
        (s.from, "From"),
        (s.to, "To"),
        (s.call_id.is_some(), "Call-ID"),
        (s.cseq.is_some(), "CSeq"),
    ] {
        if !present {
            return Err(Problem::MissingHeader(name));
        }
    }
    Ok((out, s))
}

/// A body of nothing but line ends after a header section without Content-Type is stray
/// CRLFs (common over UDP without Content-Length), not content.
fn effective_body<'a>(body: &'a [u8], content_type: Option<&str>) -> Result<&'a [u8], Problem> {
    if content_type.is_some() || body.is_empty() {
        return Ok(body);
    }
    if body
        .iter()
        .all(|&b| matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
    {
        Ok(&[])
    } else {
        Err(Problem::BodyWithoutContentType)
    }
}

fn head(
    s: Seen,
    method: Option<Method>,
    status: Option<u16>,
    cseq_method: Method,
    body_len: usize,
    trailing: usize,
) -> Head {
    Head {
        call_id: s.call_id.unwrap_or_default(),
        cseq: s.cseq.map_or(0, |c| c.0),
        cseq_method,
        method,
        status,
        top_via_branch: s.top_via_branch,
        top_via_sent_by: s.top_via_sent_by,
        top_via_rport: s.top_via_rport,
        top_via_received: s.top_via_received,
        from_tag: s.from_tag,
        to_tag: s.to_tag,
        content_length: body_len,
        content_type: s.content_type,
        contact: s.contact,
        max_forwards: s.max_forwards,
        retry_after: s.retry_after,
        trailing_octets: trailing,
    }
}

fn request(f: Framed<'_>) -> Result<Incoming, Fault> {
    let line = request_line(f.start_line)?;
    let ack = line.method_text == "ACK";
    let fail = |problem| Fault::Request { problem, ack };
    let (headers, seen) = headers(f.headers, Some(line.method_text)).map_err(fail)?;
    let body = effective_body(f.body, seen.content_type.as_deref()).map_err(fail)?;
    // Extension methods pass every other check first, so 501 means "well-formed but not
    // implemented"; an unknown method also explains a CSeq mismatch (RFC 4475 §3.1.2.18).
    let Some(method) = line.method else {
        return Err(Fault::UnknownMethod(clip(line.method_text)));
    };
    let Some((_, Some(cseq_method), true)) = seen.cseq else {
        return Err(fail(Problem::CSeqMethodMismatch));
    };
    let head = head(
        seen,
        Some(method),
        None,
        cseq_method,
        body.len(),
        f.trailing,
    );
    Ok(Incoming {
        msg: rsip::SipMessage::Request(rsip::Request {
            method,
            uri: line.uri,
            version: Version::V2,
            headers: headers.into(),
            body: body.to_vec(),
        }),
        head,
    })
}

fn response(f: Framed<'_>) -> Result<Incoming, Problem> {
    let (code, reason) = status_line(f.start_line)?;
    let (headers, seen) = headers(f.headers, None)?;
    let body = effective_body(f.body, seen.content_type.as_deref())?;
    let Some((_, Some(cseq_method), _)) = seen.cseq else {
        return Err(Problem::BadHeader {
            header: "CSeq",
            why: "method unknown to this element",
        });
    };
    let status_code = match StatusCode::from(code) {
        StatusCode::Other(..) => {
            StatusCode::Other(code, String::from_utf8_lossy(reason).into_owned())
        }
        known => known,
    };
    let head = head(seen, None, Some(code), cseq_method, body.len(), f.trailing);
    Ok(Incoming {
        msg: rsip::SipMessage::Response(rsip::Response {
            status_code,
            version: Version::V2,
            headers: headers.into(),
            body: body.to_vec(),
        }),
        head,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req_line(s: &str) -> Result<RequestLine<'_>, Fault> {
        request_line(s.as_bytes())
    }

    fn line_problem(s: &str) -> Problem {
        match req_line(s) {
            Err(Fault::Request { problem, .. }) => problem,
            Err(other) => panic!("{s}: {other:?}"),
            Ok(_) => panic!("{s}: accepted"),
        }
    }

    #[test]
    fn request_lines() {
        assert!(req_line("INVITE sip:a@b.example SIP/2.0").is_ok());
        assert!(req_line("INVITE sip:a@b.example sip/2.0").is_ok());
        assert_eq!(
            line_problem("INVITE  sip:a@b.example  SIP/2.0"),
            Problem::BadRequestLine("more than one SP between request-line elements")
        );
        assert_eq!(
            line_problem("OPTIONS sip:a@b.example SIP/2.0  "),
            Problem::BadRequestLine("whitespace at the end of the request line")
        );
        assert_eq!(
            line_problem("INVITE sip:a@b.example; lr SIP/2.0"),
            Problem::BadRequestLine("whitespace inside the Request-URI")
        );
        assert_eq!(
            line_problem("INVITE <sip:a@b.example> SIP/2.0"),
            Problem::BadRequestUri("enclosed in <>")
        );
        assert_eq!(
            line_problem("INVITE sip:alan@jasomi.com"),
            Problem::BadRequestLine("missing Request-URI or SIP-Version")
        );
        assert!(matches!(
            req_line("OPTIONS sip:a@b.example SIP/7.0"),
            Err(Fault::Version { .. })
        ));
        assert_eq!(
            line_problem("OPTIONS sip:a@b.example HTTP/1.1"),
            Problem::BadRequestLine("malformed SIP-Version")
        );
        assert!(matches!(
            req_line("ACK sip:a@b.example SIP/2.0 x"),
            Err(Fault::Request { ack: true, .. })
        ));
        let l = req_line("NEWMETHOD sip:a@b.example SIP/2.0").unwrap();
        assert!(l.method.is_none());
    }

    #[test]
    fn status_lines() {
        assert_eq!(status_line(b"SIP/2.0 100 ").unwrap(), (100, &b""[..]));
        assert_eq!(status_line(b"SIP/2.0 200").unwrap().0, 200);
        assert_eq!(
            status_line(b"SIP/2.0 183 Session Progress").unwrap().1,
            b"Session Progress"
        );
        assert_eq!(
            status_line(b"SIP/2.0 4294967301 better not break the receiver").unwrap_err(),
            Problem::BadStatusLine("status code is not three digits")
        );
        assert_eq!(
            status_line(b"SIP/2.0 700 X").unwrap_err(),
            Problem::StatusOutOfRange(700)
        );
        assert_eq!(
            status_line(b"SIP/2.0 099 X").unwrap_err(),
            Problem::StatusOutOfRange(99)
        );
        assert!(status_line(b"SIP/3.0 200 OK").is_err());
    }

    #[test]
    fn sip_versions() {
        assert!(is_sip_version("SIP/7.0"));
        assert!(is_sip_version("sip/2.1"));
        assert!(!is_sip_version("SIP/7"));
        assert!(!is_sip_version("SIP/a.b"));
        assert!(!is_sip_version("SI"));
    }
}
