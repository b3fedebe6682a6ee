//! URIs: a strict parser into rsip's `Uri` (rsip's own splits an IPv6 host at its first colon
//! and drops unknown schemes' structure) and a writer that brackets IPv6 hosts.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rsip::common::uri::param::{Maddr, OtherParam, OtherParamValue, Ttl, User};
use rsip::{Auth, Host, HostWithPort, Param, Scheme, Transport, Uri};

use super::lex::{escapes_ok, is_unreserved};

/// Where a URI stands decides what it may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// The Request-URI: escaped headers are not allowed (RFC 4475 §3.1.2.11).
    RequestLine,
    /// Inside `<>` in a header: escaped headers are allowed (and dropped from the rsip `Uri`).
    Header,
}

fn is_user_char(b: u8) -> bool {
    is_unreserved(b)
        || matches!(
            b,
            b'%' | b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/'
        )
}

fn is_password_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'%' | b'&' | b'=' | b'+' | b'$' | b',')
}

fn is_param_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'%' | b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$')
}

fn is_header_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'%' | b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$')
}

/// Characters of an opaque (non-SIP) URI: visible ASCII minus the delimiters that would end it
/// in a header.
fn is_opaque_char(b: u8) -> bool {
    b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"')
}

/// First position of any of the ASCII bytes in `set`; a char-set `str::find` is several
/// times slower on these short strings.
fn find_any(s: &str, set: &[u8]) -> Option<usize> {
    s.bytes().position(|b| set.contains(&b))
}

/// Length of a leading `scheme ":"`, if the string has one.
pub(crate) fn scheme_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if !b.first()?.is_ascii_alphabetic() {
        return None;
    }
    let n = b
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))?;
    (b.get(n) == Some(&b':')).then_some(n)
}

/// Parses an absolute URI. SIP and SIPS URIs are checked against RFC 3261 §19.1 (with RFC 5954's
/// IPv6 fix); other schemes only need a scheme and visible characters, since whether they are
/// acceptable is an application verdict (416), not a syntax one.
pub(crate) fn parse(s: &str, place: Place) -> Result<Uri, &'static str> {
    walk(s, place, true)?.ok_or("malformed URI")
}

/// Same checks as [`parse`] without building anything (no allocation).
pub(crate) fn check(s: &str, place: Place) -> Result<(), &'static str> {
    walk(s, place, false).map(drop)
}

fn walk(s: &str, place: Place, build: bool) -> Result<Option<Uri>, &'static str> {
    let n = scheme_len(s).ok_or("URI has no scheme")?;
    let (scheme, rest) = (s.get(..n).unwrap_or(""), s.get(n + 1..).unwrap_or(""));
    if scheme.eq_ignore_ascii_case("sip") {
        parse_sip(rest, Scheme::Sip, place, build)
    } else if scheme.eq_ignore_ascii_case("sips") {
        parse_sip(rest, Scheme::Sips, place, build)
    } else {
        if rest.is_empty() || !rest.bytes().all(is_opaque_char) {
            return Err("malformed URI");
        }
        Ok(build.then(|| Uri {
            scheme: Some(Scheme::Other(scheme.into())),
            auth: None,
            host_with_port: HostWithPort {
                host: Host::Domain(rest.into()),
                port: None,
            },
            params: Vec::new(),
            headers: Vec::new(),
        }))
    }
}

fn parse_sip(
    rest: &str,
    scheme: Scheme,
    place: Place,
    build: bool,
) -> Result<Option<Uri>, &'static str> {
    // `@` cannot appear unescaped in user, password, parameters or headers, so the first one
    // ends the userinfo even when the user part holds `;` or `?` (RFC 4475 §3.1.1.9).
    let (userinfo, hostpart) = match rest.split_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    let mut auth = None;
    if let Some(u) = userinfo {
        let (user, password) = match u.split_once(':') {
            Some((user, pw)) => (user, Some(pw)),
            None => (u, None),
        };
        if user.is_empty() || !user.bytes().all(is_user_char) || !escapes_ok(user) {
            return Err("malformed user part in SIP URI");
        }
        if let Some(pw) = password {
            if !pw.bytes().all(is_password_char) || !escapes_ok(pw) {
                return Err("malformed password in SIP URI");
            }
        }
        if build {
            auth = Some(Auth {
                user: user.into(),
                password: password.map(Into::into),
            });
        }
    }

    let (host, after_host) = split_host(hostpart)?;
    let mut tail = after_host;
    let mut port = None;
    if let Some(p) = tail.strip_prefix(':') {
        let end = find_any(p, b";?").unwrap_or(p.len());
        let digits = p.get(..end).unwrap_or("");
        port = Some(parse_port(digits)?);
        tail = p.get(end..).unwrap_or("");
    }

    let (params_part, headers_part) = match tail.split_once('?') {
        Some((p, h)) => (p, Some(h)),
        None => (tail, None),
    };
    let mut params = Vec::new();
    if !params_part.is_empty() {
        let body = params_part
            .strip_prefix(';')
            .ok_or("unexpected characters after host in SIP URI")?;
        for p in body.split(';') {
            let (name, value) = match p.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (p, None),
            };
            let ok = |s: &str| !s.is_empty() && s.bytes().all(is_param_char) && escapes_ok(s);
            if !ok(name) || value.is_some_and(|v| !ok(v)) {
                return Err("malformed URI parameter");
            }
            if build {
                params.push(uri_param(name, value));
            }
        }
    }
    if let Some(h) = headers_part {
        if place == Place::RequestLine {
            return Err("Request-URI carries escaped headers");
        }
        for pair in h.split('&') {
            let (name, value) = pair.split_once('=').ok_or("malformed URI header")?;
            let ok = |s: &str| s.bytes().all(is_header_char) && escapes_ok(s);
            if name.is_empty() || !ok(name) || !ok(value) {
                return Err("malformed URI header");
            }
        }
    }

    Ok(build.then(|| Uri {
        scheme: Some(scheme),
        auth,
        host_with_port: HostWithPort {
            host: host.into_host(),
            port: port.map(Into::into),
        },
        params,
        headers: Vec::new(),
    }))
}

/// A host as found, not yet allocated.
enum HostRef<'a> {
    Ip(IpAddr),
    Name(&'a str),
}

impl HostRef<'_> {
    fn into_host(self) -> Host {
        match self {
            HostRef::Ip(ip) => Host::IpAddr(ip),
            HostRef::Name(n) => Host::Domain(n.into()),
        }
    }
}

/// Splits `host` (a name, IPv4 or `[IPv6]`) from what follows it.
fn split_host(s: &str) -> Result<(HostRef<'_>, &str), &'static str> {
    if let Some(v6) = s.strip_prefix('[') {
        let (inner, after) = v6.split_once(']').ok_or("unterminated IPv6 reference")?;
        let ip: Ipv6Addr = inner.parse().map_err(|_| "malformed IPv6 reference")?;
        return Ok((HostRef::Ip(IpAddr::V6(ip)), after));
    }
    let end = find_any(s, b":;?").unwrap_or(s.len());
    let host = host_ref(s.get(..end).unwrap_or(""))?;
    Ok((host, s.get(end..).unwrap_or("")))
}

/// A hostname or IPv4 address (RFC 3261 §25.1). Underscores are tolerated in labels because
/// deployed equipment uses them; everything else follows the grammar.
fn host_ref(s: &str) -> Result<HostRef<'_>, &'static str> {
    if s.is_empty() {
        return Err("empty host");
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let ip: Ipv4Addr = s.parse().map_err(|_| "malformed IPv4 address")?;
        return Ok(HostRef::Ip(IpAddr::V4(ip)));
    }
    if !is_hostname(s) {
        return Err("malformed host name");
    }
    Ok(HostRef::Name(s))
}

/// Checks a hostname or IPv4 address without allocating.
pub(crate) fn parse_host(s: &str) -> Result<(), &'static str> {
    host_ref(s).map(drop)
}

pub(crate) fn is_hostname(s: &str) -> bool {
    if s.len() > 255 {
        return false;
    }
    let s = s.strip_suffix('.').unwrap_or(s);
    let mut last = "";
    for label in s.split('.') {
        let b = label.as_bytes();
        let ok = (1..=63).contains(&b.len())
            && b.iter()
                .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
            && b.first() != Some(&b'-')
            && b.last() != Some(&b'-');
        if !ok {
            return false;
        }
        last = label;
    }
    last.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
}

pub(crate) fn parse_port(digits: &str) -> Result<u16, &'static str> {
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("malformed port");
    }
    digits.parse().map_err(|_| "port out of range")
}

fn uri_param(name: &str, value: Option<&str>) -> Param {
    let is = |n: &str| name.eq_ignore_ascii_case(n);
    match value {
        Some(v) if is("transport") => match transport(v) {
            Some(t) => Param::Transport(t),
            None => other(name, value),
        },
        Some(v) if is("user") => Param::User(User::new(v)),
        Some(v) if is("ttl") => Param::Ttl(Ttl::new(v)),
        Some(v) if is("maddr") => Param::Maddr(Maddr::new(v)),
        Some(v) if is("method") => match super::method_from_str(v) {
            Some(m) => Param::Method(m),
            None => other(name, value),
        },
        None if is("lr") => Param::Lr,
        _ => other(name, value),
    }
}

fn other(name: &str, value: Option<&str>) -> Param {
    Param::Other(OtherParam::new(name), value.map(OtherParamValue::new))
}

/// rsip's own `FromStr` formats an error string on every miss; this does not allocate.
pub(crate) fn transport(s: &str) -> Option<Transport> {
    [
        ("UDP", Transport::Udp),
        ("TCP", Transport::Tcp),
        ("TLS", Transport::Tls),
        ("SCTP", Transport::Sctp),
        ("TLS-SCTP", Transport::TlsSctp),
        ("WS", Transport::Ws),
        ("WSS", Transport::Wss),
    ]
    .into_iter()
    .find(|(n, _)| n.eq_ignore_ascii_case(s))
    .map(|(_, t)| t)
}

/// Writes `uri` in wire form. Unlike rsip's `Display` it brackets IPv6 hosts and writes a
/// non-SIP URI as `scheme:opaque` (rsip writes `scheme://`).
pub(crate) fn write(out: &mut String, uri: &Uri) {
    if let Some(Scheme::Other(scheme)) = &uri.scheme {
        out.push_str(scheme);
        out.push(':');
        write_host(out, &uri.host_with_port.host);
        return;
    }
    out.push_str(match uri.scheme {
        Some(Scheme::Sips) => "sips:",
        _ => "sip:",
    });
    if let Some(auth) = &uri.auth {
        out.push_str(&auth.user);
        if let Some(pw) = &auth.password {
            out.push(':');
            out.push_str(pw);
        }
        out.push('@');
    }
    write_host(out, &uri.host_with_port.host);
    if let Some(port) = &uri.host_with_port.port {
        let _ = write!(out, ":{port}");
    }
    for p in &uri.params {
        let _ = write!(out, "{p}");
    }
}

pub(crate) fn write_host(out: &mut String, host: &Host) {
    let _ = match host {
        Host::Domain(d) => write!(out, "{d}"),
        Host::IpAddr(IpAddr::V4(ip)) => write!(out, "{ip}"),
        Host::IpAddr(IpAddr::V6(ip)) => write!(out, "[{ip}]"),
    };
}

/// `uri` in wire form, as a `String`.
pub fn to_string(uri: &Uri) -> String {
    let mut s = String::with_capacity(48);
    write(&mut s, uri);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Uri {
        parse(s, Place::RequestLine).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn ipv6_hosts_and_ports() {
        let u = ok("sip:[2001:db8::10]:5070");
        assert_eq!(u.host_with_port.port, Some(5070.into()));
        assert_eq!(to_string(&u), "sip:[2001:db8::10]:5070");
        // RFC 5118 §4.3: the last group is part of the address, not a port.
        let u = ok("sip:[2001:db8::10:5070]");
        assert_eq!(u.host_with_port.port, None);
        assert!(parse("sip:2001:db8::10", Place::RequestLine).is_err());
        assert!(parse("sip:user@[2001:db8:::192.0.2.1]", Place::RequestLine).is_err());
        ok("sip:user@[2001:db8::192.0.2.1]");
    }

    #[test]
    fn user_part_may_hold_semicolons_and_question_marks() {
        let u = ok("sip:user;par=u%40example.net@example.com");
        assert_eq!(u.user(), Some("user;par=u%40example.net"));
        let u = ok("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com");
        assert_eq!(
            u.auth.unwrap().password.as_deref(),
            Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        );
    }

    #[test]
    fn params_map_to_rsip_variants() {
        let u = ok("sip:a@b.example;transport=TCP;lr;maddr=x.example;unknown=v;flag;lr=on");
        assert_eq!(u.params[0], Param::Transport(Transport::Tcp));
        assert_eq!(u.params[1], Param::Lr);
        assert!(matches!(u.params[2], Param::Maddr(_)));
        assert!(matches!(u.params[5], Param::Other(_, Some(_))));
        assert_eq!(
            to_string(&u),
            "sip:a@b.example;transport=TCP;lr;maddr=x.example;unknown=v;flag;lr=on"
        );
        assert!(parse("sip:a@b.example;;x", Place::RequestLine).is_err());
        assert!(parse("sip:a@b.example;transport=SCTP-X", Place::RequestLine).is_ok());
    }

    #[test]
    fn headers_only_outside_the_request_line() {
        let s = "sip:user@example.com?Route=%3Csip:example.com%3E";
        assert!(parse(s, Place::RequestLine).is_err());
        assert!(parse(s, Place::Header).is_ok());
    }

    #[test]
    fn other_schemes_stay_opaque() {
        for s in [
            "nobodyKnowsThisScheme:totallyopaquecontent",
            "soap.beep://192.0.2.103:3002",
            "tel:+1-212-555-0100",
            "isbn:2983792873",
        ] {
            assert_eq!(to_string(&ok(s)), s);
        }
        assert!(parse("<sip:a@b>", Place::RequestLine).is_err());
        assert!(parse("x:", Place::RequestLine).is_err());
        assert!(parse("1x:y", Place::RequestLine).is_err());
    }

    #[test]
    fn hosts() {
        assert!(is_hostname("chair-dnrc.example.com"));
        assert!(is_hostname("example.com."));
        assert!(is_hostname("host_1.example"));
        assert!(!is_hostname("a..b"));
        assert!(!is_hostname("-a.example"));
        assert!(!is_hostname("example.123"));
        assert!(parse_host("999.1.1.1").is_err());
        assert!(check("sip:a@999.1.1.1", Place::Header).is_err());
        assert!(parse_host("192.0.2.1").is_ok());
        assert!(parse_port("65536").is_err());
        assert!(parse_port("5060").is_ok());
    }
}
