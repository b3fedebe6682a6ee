//! RFC 3263: which transport, address and port a SIP URI is reached at.
//!
//! Sans-IO: the shell does DNS; this module only decides from a URI and from records it is
//! given.

use crate::peer::Transport;

/// The parts of a SIP or SIPS URI that target selection reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTarget<'a> {
    /// `sips:` (TLS required end to end).
    pub secure: bool,
    /// The host, without brackets around an IPv6 literal.
    pub host: &'a str,
    pub port: Option<u16>,
    /// The `transport` URI parameter, as written.
    pub transport_param: Option<&'a str>,
    /// The `maddr` URI parameter, which overrides the host.
    pub maddr: Option<&'a str>,
}

/// Reads the scheme, host, port and `transport`/`maddr` parameters of `uri` (a Request-URI or
/// the URI of a name-addr, brackets allowed). `None` when it is not a `sip:`/`sips:` URI.
pub fn uri_target(uri: &str) -> Option<UriTarget<'_>> {
    let uri = uri.trim().trim_start_matches('<');
    let uri = uri.split('>').next().unwrap_or(uri);
    let (secure, rest) = if let Some(r) = strip_prefix_ci(uri, "sips:") {
        (true, r)
    } else {
        (false, strip_prefix_ci(uri, "sip:")?)
    };
    // URI headers (`?...`) end the parameters; a user part may hold `;` and `?`-free params.
    let rest = rest.split('?').next().unwrap_or(rest);
    let hostport_params = match rest.rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    let mut parts = hostport_params.split(';');
    let hostport = parts.next().unwrap_or_default();
    let (host, port) = split_host_port(hostport)?;
    let mut target = UriTarget {
        secure,
        host,
        port,
        transport_param: None,
        maddr: None,
    };
    for p in parts {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        if k.trim().eq_ignore_ascii_case("transport") {
            target.transport_param = Some(v.trim());
        } else if k.trim().eq_ignore_ascii_case("maddr") {
            target.maddr = Some(v.trim());
        }
    }
    Some(target)
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

/// `host[:port]`, the host of an IPv6 reference without its brackets.
fn split_host_port(hostport: &str) -> Option<(&str, Option<u16>)> {
    if let Some(v6) = hostport.strip_prefix('[') {
        let (host, rest) = v6.split_once(']')?;
        let port = match rest.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if rest.is_empty() => None,
            None => return None,
        };
        return Some((host, port));
    }
    match hostport.split_once(':') {
        Some((host, port)) => Some((host, Some(port.parse().ok()?))),
        None => Some((hostport, None)),
    }
    .filter(|(host, _)| !host.is_empty())
}

/// The transport RFC 3263 §4.1 picks for `uri` without asking DNS: its `transport` parameter
/// if it names one we speak (TLS whenever the URI is `sips:`), else TLS for `sips:` and UDP
/// for `sip:`. Anything unreadable is UDP, as before this crate spoke streams.
pub fn uri_transport(uri: &str) -> Transport {
    // The dialer's hot path: a `sip:` URI with no parameter at all is UDP, found with one
    // scan for `;` rather than a parse.
    let bytes = uri.as_bytes();
    if !bytes.contains(&b';')
        && bytes
            .get(..4)
            .is_some_and(|s| s.eq_ignore_ascii_case(b"sip:"))
    {
        return Transport::Udp;
    }
    let Some(t) = uri_target(uri) else {
        return Transport::Udp;
    };
    if t.secure {
        return Transport::Tls;
    }
    t.transport_param
        .and_then(Transport::from_name)
        .unwrap_or(Transport::Udp)
}
