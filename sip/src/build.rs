//! Builders for the requests a UA sends: INVITE (with an SDP offer), ACK, CANCEL, BYE, OPTIONS.
//!
//! They print straight to bytes: the hot path builds one INVITE, one ACK and one BYE per call,
//! and a typed detour through rsip would only allocate. Every builder's output is parsed back
//! through `msg::parse_datagram` (and so rsip) in the tests below.

use std::fmt::Write;
use std::net::SocketAddr;

use crate::peer::{Peer, Transport};

/// Everything a request line and its mandatory headers need.
#[derive(Debug, Clone)]
pub struct RequestSpec<'a> {
    pub method: &'a str,
    pub request_uri: &'a str,
    /// Our address as written in Via (sent-by) and Contact.
    pub local: SocketAddr,
    /// The transport the request goes over: Via's sent-protocol, and Contact's form.
    pub transport: Transport,
    pub branch: &'a str,
    pub from_uri: &'a str,
    pub from_tag: &'a str,
    pub to_uri: &'a str,
    pub to_tag: Option<&'a str>,
    pub call_id: &'a str,
    pub cseq: u32,
    /// CSeq method when it differs from `method` (never, except for tests of mismatches).
    pub cseq_method: Option<&'a str>,
    /// Route set, in order (already reversed for a UAC from Record-Route).
    pub route: &'a [String],
    pub contact: bool,
    /// Extra headers, written as given: `("Authorization", "Digest ...")`.
    pub extra: &'a [(&'a str, &'a str)],
    /// Content-Type and body.
    pub body: Option<(&'a str, &'a [u8])>,
    pub user_agent: &'a str,
}

impl<'a> RequestSpec<'a> {
    /// The request's bytes, with an exact Content-Length.
    pub fn to_bytes(&self) -> Vec<u8> {
        let body_len = self.body.map_or(0, |(_, b)| b.len());
        let mut s = String::with_capacity(512 + body_len);
        // INVARIANT: writing to a String cannot fail; the results are ignored below.
        let _ = write!(
            s,
            "{m} {ruri} SIP/2.0\r\nVia: SIP/2.0/{t} {local};branch={branch};rport\r\nMax-Forwards: 70\r\n",
            m = self.method,
            ruri = self.request_uri,
            t = self.transport.via_name(),
            local = self.local,
            branch = self.branch
        );
        for r in self.route {
            let _ = write!(s, "Route: {r}\r\n");
        }
        // A From given as a name-addr (`"Acme" <sip:...>`) is written as given.
        if self.from_uri.contains('<') {
            let _ = write!(s, "From: {};tag={}\r\n", self.from_uri, self.from_tag);
        } else {
            let _ = write!(s, "From: <{}>;tag={}\r\n", self.from_uri, self.from_tag);
        }
        match self.to_tag {
            Some(t) => {
                let _ = write!(s, "To: <{}>;tag={}\r\n", self.to_uri, t);
            }
            None => {
                let _ = write!(s, "To: <{}>\r\n", self.to_uri);
            }
        }
        let _ = write!(
            s,
            "Call-ID: {}\r\nCSeq: {} {}\r\n",
            self.call_id,
            self.cseq,
            self.cseq_method.unwrap_or(self.method)
        );
        if self.contact {
            write_contact(&mut s, self.local, self.transport);
        }
        for (k, v) in self.extra {
            let _ = write!(s, "{k}: {v}\r\n");
        }
        if !self.user_agent.is_empty() {
            let _ = write!(s, "User-Agent: {}\r\n", self.user_agent);
        }
        if let Some((ct, _)) = self.body {
            let _ = write!(s, "Content-Type: {ct}\r\n");
        }
        let _ = write!(s, "Content-Length: {body_len}\r\n\r\n");
        let mut bytes = s.into_bytes();
        if let Some((_, b)) = self.body {
            bytes.extend_from_slice(b);
        }
        bytes
    }
}

/// Our Contact for `transport`: `sip:` for UDP as always, `;transport=tcp` for TCP, and a
/// `sips:` URI for TLS (RFC 3261 §19.1.1, §26.2.1).
fn write_contact(s: &mut String, local: SocketAddr, transport: Transport) {
    // INVARIANT: writing to a String cannot fail.
    let _ = match transport {
        Transport::Udp => write!(s, "Contact: <sip:outdial@{local}>\r\n"),
        Transport::Tcp => write!(s, "Contact: <sip:outdial@{local};transport=tcp>\r\n"),
        Transport::Tls => write!(s, "Contact: <sips:outdial@{local}>\r\n"),
    };
}

/// Allow header value for what our endpoint implements.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE";

/// Writes a response to a request, copying Via, From, To, Call-ID and CSeq verbatim from the
/// request's raw header values (§8.2.6.2), adding our To-tag when the request's To lacks one.
#[derive(Debug, Clone)]
pub struct ResponseSpec<'a> {
    pub status: u16,
    pub reason: &'a str,
    pub vias: &'a [&'a str],
    pub from: &'a str,
    pub to: &'a str,
    pub to_tag: Option<&'a str>,
    pub call_id: &'a str,
    pub cseq: &'a str,
    /// Our address and the transport the response goes over, for a Contact.
    pub contact: Option<Peer>,
    pub extra: &'a [(&'a str, &'a str)],
    pub body: Option<(&'a str, &'a [u8])>,
}

impl<'a> ResponseSpec<'a> {
    pub fn to_bytes(&self) -> Vec<u8> {
        let body_len = self.body.map_or(0, |(_, b)| b.len());
        let mut s = String::with_capacity(384 + body_len);
        let _ = write!(s, "SIP/2.0 {} {}\r\n", self.status, self.reason);
        for v in self.vias {
            let _ = write!(s, "Via: {v}\r\n");
        }
        let _ = write!(s, "From: {}\r\n", self.from);
        let has_tag = has_tag_param(self.to);
        match (self.to_tag, has_tag) {
            (Some(t), false) => {
                let _ = write!(s, "To: {};tag={}\r\n", self.to, t);
            }
            _ => {
                let _ = write!(s, "To: {}\r\n", self.to);
            }
        }
        let _ = write!(s, "Call-ID: {}\r\nCSeq: {}\r\n", self.call_id, self.cseq);
        if let Some(c) = self.contact {
            write_contact(&mut s, c.addr, c.transport);
        }
        for (k, v) in self.extra {
            let _ = write!(s, "{k}: {v}\r\n");
        }
        if let Some((ct, _)) = self.body {
            let _ = write!(s, "Content-Type: {ct}\r\n");
        }
        let _ = write!(s, "Content-Length: {body_len}\r\n\r\n");
        let mut bytes = s.into_bytes();
        if let Some((_, b)) = self.body {
            bytes.extend_from_slice(b);
        }
        bytes
    }
}

/// Whether a From/To value carries a `tag` parameter outside its `<...>` URI.
pub fn has_tag_param(value: &str) -> bool {
    tag_param(value).is_some()
}

/// The `tag` parameter of a From/To value, looking only after the URI's closing `>` when
/// the URI is bracketed (a `;tag=` inside the URI is a URI parameter, not the tag).
pub fn tag_param(value: &str) -> Option<&str> {
    let params = match value.rfind('>') {
        Some(i) => &value[i + 1..],
        None => value,
    };
    params.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim().eq_ignore_ascii_case("tag").then(|| v.trim())
    })
}

/// The URI inside a name-addr (`"Bob" <sip:b@h>;tag=x` → `sip:b@h`), or the addr-spec
/// up to its parameters.
pub fn uri_of(value: &str) -> &str {
    if let (Some(a), Some(b)) = (value.find('<'), value.rfind('>')) {
        if a < b {
            return &value[a + 1..b];
        }
    }
    value.split(';').next().unwrap_or(value).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_is_found_only_outside_the_uri() {
        assert_eq!(tag_param("<sip:a@b;tag=no>;tag=yes"), Some("yes"));
        assert_eq!(tag_param("<sip:a@b;tag=no>"), None);
        assert_eq!(tag_param("sip:a@b;tag=x"), Some("x"));
        assert_eq!(uri_of("\"A\" <sip:a@b;lr>;tag=1"), "sip:a@b;lr");
        assert_eq!(uri_of("sip:a@b;tag=1"), "sip:a@b");
    }
}
