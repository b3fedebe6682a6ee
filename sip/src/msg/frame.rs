//! Frames one UDP datagram: start line, unfolded header fields with compact names expanded, and
//! the body cut to Content-Length. One pass over the bytes, bounded by the header cap.

use std::borrow::Cow;

use super::error::Problem;
use super::lex::{is_token, is_wsp};
use super::name::{lookup, Name};

/// Header fields beyond this are refused rather than parsed.
pub const MAX_HEADERS: usize = 256;

/// One header field after unfolding.
#[derive(Debug)]
pub(crate) struct RawHeader<'a> {
    pub name: Name,
    /// As on the wire (`v`, `MaX-fOrWaRdS`), for opaque names.
    pub raw_name: &'a str,
    /// Trimmed; each fold became one SP. Octets that are not UTF-8 become U+FFFD, which the
    /// grammar of every field we interpret then rejects.
    pub value: Cow<'a, str>,
}

#[derive(Debug)]
pub(crate) struct Framed<'a> {
    /// Without its line terminator.
    pub start_line: &'a [u8],
    pub headers: Vec<RawHeader<'a>>,
    pub body: &'a [u8],
    /// Octets after the body that Content-Length told us to ignore (RFC 3261 §18.3).
    pub trailing: usize,
}

/// Leading CR/LF octets are keep-alives or stray line ends (RFC 3261 §7.5); they are skipped.
pub(crate) fn skip_keepalive(bytes: &[u8]) -> &[u8] {
    let n = bytes
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(bytes.len());
    bytes.get(n..).unwrap_or(&[])
}

/// The next line of `bytes` from `from`: its content without CRLF/LF, and where the next line
/// starts. `None` when no LF is left. A CR anywhere but before the LF is an error.
fn next_line(bytes: &[u8], from: usize) -> Option<Result<(&[u8], usize), Problem>> {
    let rest = bytes.get(from..)?;
    let lf = rest.iter().position(|&b| b == b'\n')?;
    let (mut line, _) = rest.split_at(lf);
    if let [head @ .., b'\r'] = line {
        line = head;
    }
    if line.contains(&b'\r') {
        return Some(Err(Problem::BareCr));
    }
    Some(Ok((line, from + lf + 1)))
}

fn trim_wsp(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_wsp(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_wsp(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// Header octets as text. The strict check first: it is much faster than the lossy
/// conversion on the (usual) all-ASCII value.
fn text(v: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(v) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(v),
    }
}

/// `name HCOLON value`: the name is a token, LWS may precede the colon (RFC 3261 §7.3.1).
fn split_header(line: &[u8]) -> Result<(&str, &[u8]), Problem> {
    let name_len = line
        .iter()
        .position(|&b| !is_token(b))
        .unwrap_or(line.len());
    let (name, rest) = line.split_at(name_len);
    let rest = trim_wsp(rest);
    match rest {
        [b':', value @ ..] if !name.is_empty() => {
            // Token octets are ASCII, so this cannot fail; the error arm keeps it panic-free.
            let name = std::str::from_utf8(name).map_err(|_| Problem::MalformedHeaderLine)?;
            Ok((name, trim_wsp(value)))
        }
        _ => Err(Problem::MalformedHeaderLine),
    }
}

/// Frames `bytes`, which must already have had keep-alive CRLFs skipped.
pub(crate) fn frame(bytes: &[u8]) -> Result<Framed<'_>, Problem> {
    let (start_line, mut pos) = match next_line(bytes, 0) {
        Some(r) => r?,
        None => return Err(Problem::UnterminatedStartLine),
    };

    let mut headers: Vec<RawHeader<'_>> = Vec::with_capacity(16);
    let body_start = loop {
        let (line, next) = match next_line(bytes, pos) {
            Some(r) => r?,
            None => {
                // No empty line. If the datagram stops right after a complete header line,
                // the datagram boundary ends the header section (RFC 5118's vectors and
                // RFC 4475's baddn.dat are stored that way); a partial line means truncation.
                if pos < bytes.len() {
                    return Err(Problem::TruncatedHeaders);
                }
                break bytes.len();
            }
        };
        pos = next;
        match line {
            [] => break next,
            [b' ' | b'\t', ..] => {
                let last = headers.last_mut().ok_or(Problem::FoldBeforeFirstHeader)?;
                let more = trim_wsp(line);
                if !more.is_empty() {
                    let v = last.value.to_mut();
                    if !v.is_empty() {
                        v.push(' ');
                    }
                    v.push_str(&text(more));
                }
            }
            _ => {
                if headers.len() >= MAX_HEADERS {
                    return Err(Problem::TooManyHeaders(MAX_HEADERS));
                }
                let (raw_name, value) = split_header(line)?;
                headers.push(RawHeader {
                    name: lookup(raw_name),
                    raw_name,
                    value: text(value),
                });
            }
        }
    };

    let content_length = content_length(&headers)?;
    let available = bytes.len().saturating_sub(body_start);
    let rest = bytes.get(body_start..).unwrap_or(&[]);
    let (body, trailing) = match content_length {
        // Over UDP a missing Content-Length means the body runs to the end (RFC 3261 §18.3).
        None => (rest, 0),
        Some(n) => match usize::try_from(n) {
            Ok(n) if n <= available => (rest.get(..n).unwrap_or(&[]), available - n),
            _ => {
                return Err(Problem::ContentLengthExceedsBody {
                    declared: n,
                    available,
                })
            }
        },
    };
    Ok(Framed {
        start_line,
        headers,
        body,
        trailing,
    })
}

/// The declared body length. Repeats with one value are left for the validator to refuse;
/// repeats that disagree make the framing itself ambiguous (RFC 4475 §3.3.9).
fn content_length(headers: &[RawHeader<'_>]) -> Result<Option<u64>, Problem> {
    let mut found = None;
    for h in headers.iter().filter(|h| h.name == Name::ContentLength) {
        let v = h.value.as_bytes();
        if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
            return Err(Problem::BadContentLength);
        }
        // Leading zeros are legal; a value too long for u64 is certainly too large.
        let n = h.value.parse::<u64>().unwrap_or(u64::MAX);
        match found {
            Some(prev) if prev != n => return Err(Problem::ConflictingContentLength),
            _ => found = Some(n),
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(f: &Framed<'_>) -> Vec<(Name, String)> {
        f.headers
            .iter()
            .map(|h| (h.name, h.value.to_string()))
            .collect()
    }

    #[test]
    fn folds_become_one_space_and_compact_names_expand() {
        let m = b"INVITE sip:a@b SIP/2.0\r\nTO :\r\n sip:x@y ;\r\n\ttag = 1\r\nv:  SIP/2.0/UDP h\r\nl: 0\r\n\r\n";
        let f = frame(m).unwrap();
        assert_eq!(f.start_line, b"INVITE sip:a@b SIP/2.0");
        assert_eq!(
            names(&f),
            [
                (Name::To, "sip:x@y ; tag = 1".to_string()),
                (Name::Via, "SIP/2.0/UDP h".to_string()),
                (Name::ContentLength, "0".to_string()),
            ]
        );
        assert!(f.body.is_empty());
    }

    #[test]
    fn bare_lf_line_ends_are_accepted() {
        let f = frame(b"OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\n\nbody").unwrap();
        assert_eq!(f.headers.len(), 1);
        assert_eq!(f.body, b"body");
    }

    #[test]
    fn content_length_cuts_and_bounds_the_body() {
        let f = frame(b"X sip:a SIP/2.0\r\nl: 2\r\n\r\nabcd").unwrap();
        assert_eq!((f.body, f.trailing), (&b"ab"[..], 2));
        assert_eq!(
            frame(b"X sip:a SIP/2.0\r\nl: 9\r\n\r\nabcd").unwrap_err(),
            Problem::ContentLengthExceedsBody {
                declared: 9,
                available: 4
            }
        );
        for bad in ["-1", "1x", "", "+3"] {
            let m = format!("X sip:a SIP/2.0\r\nContent-Length: {bad}\r\n\r\n");
            assert_eq!(frame(m.as_bytes()).unwrap_err(), Problem::BadContentLength);
        }
        let m = b"X sip:a SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab";
        assert_eq!(frame(m).unwrap_err(), Problem::ConflictingContentLength);
        let m = b"X sip:a SIP/2.0\r\nl: 99999999999999999999999\r\n\r\nab";
        assert!(matches!(
            frame(m).unwrap_err(),
            Problem::ContentLengthExceedsBody { .. }
        ));
        // Leading zeros are fine.
        assert_eq!(
            frame(b"X sip:a SIP/2.0\r\nl: 002\r\n\r\nab").unwrap().body,
            b"ab"
        );
    }

    #[test]
    fn binary_bodies_frame_by_length_only() {
        let m = b"X sip:a SIP/2.0\r\nl: 6\r\n\r\n\0\r\r\n\0\n";
        let f = frame(m).unwrap();
        assert_eq!(f.body, b"\0\r\r\n\0\n");
    }

    #[test]
    fn header_section_errors() {
        assert_eq!(frame(b"X").unwrap_err(), Problem::UnterminatedStartLine);
        assert_eq!(
            frame(b"X sip:a SIP/2.0\rVia: x\r\n\r\n").unwrap_err(),
            Problem::BareCr
        );
        assert_eq!(
            frame(b"X sip:a SIP/2.0\r\nNo colon here\r\n\r\n").unwrap_err(),
            Problem::MalformedHeaderLine
        );
        assert_eq!(
            frame(b"X sip:a SIP/2.0\r\n folded: x\r\n\r\n").unwrap_err(),
            Problem::FoldBeforeFirstHeader
        );
        assert_eq!(
            frame(b"X sip:a SIP/2.0\r\nVia: x").unwrap_err(),
            Problem::TruncatedHeaders
        );
        // A header section cut at a line boundary ends with the datagram.
        assert!(frame(b"X sip:a SIP/2.0\r\nVia: x\r\n")
            .unwrap()
            .body
            .is_empty());
    }

    #[test]
    fn header_count_is_capped() {
        let mut m = b"X sip:a SIP/2.0\r\n".to_vec();
        for _ in 0..=MAX_HEADERS {
            m.extend_from_slice(b"X-A: b\r\n");
        }
        m.extend_from_slice(b"\r\n");
        assert_eq!(frame(&m).unwrap_err(), Problem::TooManyHeaders(MAX_HEADERS));
    }

    #[test]
    fn keepalives_are_skipped() {
        assert_eq!(skip_keepalive(b"\r\n\r\nINVITE"), b"INVITE");
        assert!(skip_keepalive(b"\r\n\n").is_empty());
    }
}
