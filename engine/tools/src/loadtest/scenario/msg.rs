//! A lenient view of a received SIP message, read the way SIPp reads one: the start line, then
//! headers found by name (compact forms too) only when a keyword or an action asks for them.
//!
//! SIPp does not validate what it receives beyond the start line, and neither does this view:
//! a scenario must be able to look at whatever the peer sent. Nothing here allocates except
//! [`Received::joined`], and every lookup is bounded by the message's length.

/// The start line: a request's method or a response's status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start<'a> {
    Request(&'a str),
    Response(u16),
}

/// A received message split into head and body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Received<'a> {
    pub start: Start<'a>,
    /// Header lines, after the start line, without the blank line.
    head: &'a str,
    body: Option<&'a str>,
}

/// SIPp's compact header names (RFC 3261 §7.3.3), the ones it knows.
fn compact(name: &str) -> Option<&'static str> {
    const PAIRS: [(&str, &str); 8] = [
        ("call-id", "i"),
        ("contact", "m"),
        ("content-encoding", "e"),
        ("content-length", "l"),
        ("content-type", "c"),
        ("from", "f"),
        ("to", "t"),
        ("via", "v"),
    ];
    PAIRS
        .iter()
        .find(|(long, _)| long.eq_ignore_ascii_case(name))
        .map(|(_, short)| *short)
}

fn name_matches(line_name: &str, wanted: &str, wanted_compact: Option<&str>) -> bool {
    line_name.eq_ignore_ascii_case(wanted)
        || wanted_compact.is_some_and(|c| line_name.eq_ignore_ascii_case(c))
}

impl<'a> Received<'a> {
    /// Splits a datagram; `None` when the start line is neither a request nor a response.
    pub fn parse(text: &'a str) -> Option<Self> {
        let (head_all, body) = match text.find("\r\n\r\n") {
            Some(i) => (&text[..i], Some(&text[i + 4..])),
            None => (text.trim_end_matches(['\r', '\n']), None),
        };
        let (first, head) = head_all.split_once('\n').unwrap_or((head_all, ""));
        let first = first.trim_end_matches('\r');
        let start = if let Some(rest) = first.strip_prefix("SIP/2.0 ") {
            let code = rest.get(..3)?.parse::<u16>().ok()?;
            if !(100..700).contains(&code) {
                return None;
            }
            Start::Response(code)
        } else {
            let (method, rest) = first.split_once(' ')?;
            if method.is_empty() || method.len() > 64 || !rest.ends_with("SIP/2.0") {
                return None;
            }
            Start::Request(method)
        };
        Some(Self { start, head, body })
    }

    /// The body after the blank line, if there is a blank line.
    pub fn body(&self) -> Option<&'a str> {
        self.body
    }

    /// Every value of header `name` (without a trailing colon), in order; folded lines are
    /// kept inside the value as they came.
    pub fn values(&self, name: &'a str) -> Values<'a> {
        Values {
            rest: self.head,
            name,
            compact: compact(name),
        }
    }

    /// The first value of header `name`, trimmed.
    pub fn first(&self, name: &'a str) -> Option<&'a str> {
        self.values(name).next()
    }

    /// All values of `name` joined with ", " and unfolded, as SIPp's `[last_Name:]` writes
    /// them; `None` when the header is absent.
    pub fn joined(&self, name: &'a str) -> Option<String> {
        let mut out: Option<String> = None;
        for v in self.values(name) {
            let s = out.get_or_insert_with(String::new);
            if !s.is_empty() {
                s.push_str(", ");
            }
            push_unfolded(s, v);
        }
        out
    }

    pub fn call_id(&self) -> Option<&'a str> {
        self.first("Call-ID")
    }

    /// CSeq number and method.
    pub fn cseq(&self) -> Option<(u32, &'a str)> {
        let v = self.first("CSeq")?;
        let mut it = v.split_ascii_whitespace();
        let n = it.next()?.parse().ok()?;
        Some((n, it.next().unwrap_or("")))
    }

    /// The `tag` parameter of To (after the URI's closing `>` when there is one).
    pub fn peer_tag(&self) -> Option<&'a str> {
        let to = self.first("To")?;
        let params = match to.find('>') {
            Some(i) => &to[i + 1..],
            None => to,
        };
        params.split(';').skip(1).find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim().eq_ignore_ascii_case("tag").then(|| v.trim())
        })
    }

    /// Whether the body is SDP (Content-Type application/sdp, or a multipart carrying it).
    pub fn has_sdp(&self) -> bool {
        let Some(body) = self.body.filter(|b| !b.is_empty()) else {
            return false;
        };
        match self.first("Content-Type") {
            Some(ct) => {
                let ct = ct.split(';').next().unwrap_or("").trim();
                ct.eq_ignore_ascii_case("application/sdp")
                    || (ct.len() >= 10
                        && ct[..10].eq_ignore_ascii_case("multipart/")
                        && body.contains("application/sdp"))
            }
            None => false,
        }
    }
}

/// Appends a header value with its line folds (CRLF + whitespace) turned into one space.
fn push_unfolded(out: &mut String, v: &str) {
    let mut lines = v.split('\n');
    if let Some(first) = lines.next() {
        out.push_str(first.trim_end_matches('\r'));
    }
    for l in lines {
        out.push(' ');
        out.push_str(l.trim_end_matches('\r').trim_start());
    }
}

/// Iterator over one header's values.
#[derive(Debug, Clone)]
pub(crate) struct Values<'a> {
    rest: &'a str,
    name: &'a str,
    compact: Option<&'static str>,
}

impl<'a> Iterator for Values<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        while !self.rest.is_empty() {
            // One header: its line plus any continuation lines starting with SP or HTAB.
            let bytes = self.rest.as_bytes();
            let mut end = 0;
            loop {
                match self.rest[end..].find('\n') {
                    Some(i) => {
                        end += i + 1;
                        if !matches!(bytes.get(end), Some(b' ' | b'\t')) {
                            break;
                        }
                    }
                    None => {
                        end = self.rest.len();
                        break;
                    }
                }
            }
            let line = &self.rest[..end];
            self.rest = &self.rest[end..];
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            if name_matches(name.trim_end(), self.name, self.compact) {
                return Some(value.trim());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=1\r\nv: SIP/2.0/UDP b\r\n\
        To: <sip:x@y>;tag=abc\r\nCall-ID: 7-1@h\r\nCSeq: 3 INVITE\r\n\
        Content-Type: application/sdp\r\nSubject: one\r\n two\r\n\r\nv=0\r\n";

    #[test]
    fn start_line_and_headers() {
        let m = Received::parse(OK).expect("parses");
        assert_eq!(m.start, Start::Response(200));
        assert_eq!(m.call_id(), Some("7-1@h"));
        assert_eq!(m.cseq(), Some((3, "INVITE")));
        assert_eq!(m.peer_tag(), Some("abc"));
        assert!(m.has_sdp());
        assert_eq!(
            m.joined("Via").as_deref(),
            Some("SIP/2.0/UDP a;branch=1, SIP/2.0/UDP b")
        );
        assert_eq!(m.joined("Subject").as_deref(), Some("one two"));
        assert_eq!(m.joined("Record-Route"), None);
        assert_eq!(m.body(), Some("v=0\r\n"));
    }

    #[test]
    fn requests_and_junk() {
        let r = Received::parse("BYE sip:a@b SIP/2.0\r\nt: <sip:a@b>\r\n\r\n").expect("parses");
        assert_eq!(r.start, Start::Request("BYE"));
        assert_eq!(r.peer_tag(), None);
        assert!(Received::parse("hello").is_none());
        assert!(Received::parse("SIP/2.0 99 Odd\r\n\r\n").is_none());
        assert!(Received::parse("SIP/2.0 2").is_none());
        assert!(Received::parse("").is_none());
    }
}
