//! A small strict SDP (RFC 4566) for one G.711 audio stream: a borrowed parser, the offer we
//! send, and the reading of an answer (RFC 3264) that the media layer needs.
//!
//! ```text
//!   sdp        parser, Offer, parse_answer (plain RTP/AVP)
//!   negotiate  answer_offer (answer with what both sides support), read_answer (to our Offer)
//!   crypto     SDES a=crypto lines (RFC 4568) for RTP/SAVP
//!   events     telephone-event lists of a=fmtp (RFC 4733)
//! ```

mod crypto;
mod events;
mod negotiate;

pub use crypto::{Crypto, CryptoProblem, CryptoSuite, InlineKey, Mki, KEY_SALT_LEN};
pub use events::{EventSet, DTMF_EVENTS};
pub use negotiate::{answer_offer, read_answer, Answer, LocalAudio, SrtpKeys, SrtpPolicy};

use std::net::{IpAddr, SocketAddr};

/// Larger bodies are refused unread; a real audio offer is a few hundred octets.
pub const MAX_SDP_OCTETS: usize = 16 * 1024;
/// At most this many lines, and at most [`MAX_MEDIA`] media descriptions.
pub const MAX_LINES: usize = 512;
pub const MAX_MEDIA: usize = 16;

/// Payload types we offer: PCMU and PCMA (RFC 3551 static types).
pub const PT_PCMU: u8 = 0;
pub const PT_PCMA: u8 = 8;
/// The dynamic payload type we give telephone-event (RFC 4733) in offers.
pub const PT_TELEPHONE_EVENT: u8 = 101;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    #[error("session description larger than {MAX_SDP_OCTETS} octets or {MAX_LINES} lines")]
    TooLarge,
    #[error("session description line {line}: {why}")]
    Malformed { line: usize, why: &'static str },
    #[error("session description lacks a {0}= line")]
    Missing(char),
    #[error("no m=audio line")]
    NoAudio,
    #[error(
        "audio stream's profile is not ours: RTP/AVP, or RTP/SAVP where SRTP is offered or enabled"
    )]
    UnsupportedTransport,
    #[error("no c= line for the audio stream")]
    NoConnection,
    #[error("connection address is not an IP literal")]
    UnsupportedAddress,
    #[error("the answer chose none of the payload types offered (PCMU, PCMA)")]
    NoCommonCodec,
    #[error(transparent)]
    Crypto(CryptoProblem),
    #[error("RTP/SAVP audio stream without an a=crypto line")]
    NoCrypto,
    #[error("no a=crypto line of the offer is usable; the first refused: {0}")]
    NoCommonCrypto(CryptoProblem),
    #[error("the answer's SRTP does not match our offer: {0}")]
    CryptoMismatch(&'static str),
    #[error("the offer is plain RTP/AVP and SRTP is required")]
    SrtpRequired,
}

/// Media direction attributes (RFC 3264 §5.1); `sendrecv` when absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn from_attr(name: &str) -> Option<Self> {
        Some(match name {
            "sendrecv" => Self::SendRecv,
            "sendonly" => Self::SendOnly,
            "recvonly" => Self::RecvOnly,
            "inactive" => Self::Inactive,
            _ => return None,
        })
    }

    fn attr(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    /// The direction that answers this one (RFC 3264 §6.1).
    pub fn reversed(self) -> Self {
        match self {
            Self::SendOnly => Self::RecvOnly,
            Self::RecvOnly => Self::SendOnly,
            other => other,
        }
    }
}

/// `o=<username> <sess-id> <sess-version> IN <addrtype> <unicast-address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin<'a> {
    pub username: &'a str,
    pub session_id: &'a str,
    pub session_version: &'a str,
    /// An IP literal or a host name, as written.
    pub address: &'a str,
}

/// An `a=` line: `name` or `name:value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    pub name: &'a str,
    pub value: Option<&'a str>,
}

/// `c=IN IP4|IP6 <address>`, reduced to the address; a host name is kept as `None`
/// (we never resolve names on the media path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connection {
    pub address: Option<IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media<'a> {
    pub kind: &'a str,
    /// 0 rejects the stream (RFC 3264 §6).
    pub port: u16,
    pub proto: &'a str,
    pub formats: Vec<&'a str>,
    pub connection: Option<Connection>,
    pub attributes: Vec<Attribute<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription<'a> {
    pub origin: Origin<'a>,
    pub session_name: &'a str,
    pub connection: Option<Connection>,
    pub attributes: Vec<Attribute<'a>>,
    pub media: Vec<Media<'a>>,
}

/// `a=rtpmap:<pt> <encoding>/<clock>[/<channels>]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpMap<'a> {
    pub payload_type: u8,
    pub encoding: &'a str,
    pub clock_rate: u32,
}

impl<'a> Media<'a> {
    /// The well-formed rtpmap lines of this stream; malformed ones are errors.
    pub fn rtpmaps(&self) -> impl Iterator<Item = Result<RtpMap<'a>, SdpError>> + '_ {
        self.attributes
            .iter()
            .filter(|a| a.name == "rtpmap")
            .map(|a| parse_rtpmap(a.value.unwrap_or("")))
    }
}

fn parse_rtpmap(v: &str) -> Result<RtpMap<'_>, SdpError> {
    let bad = SdpError::Malformed {
        line: 0,
        why: "malformed rtpmap attribute",
    };
    let (pt, rest) = v.split_once(' ').ok_or(bad.clone())?;
    let mut parts = rest.split('/');
    let (encoding, clock) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let payload_type: u8 = digits(pt).ok_or(bad.clone())?;
    let clock_rate: u32 = digits(clock).ok_or(bad.clone())?;
    if encoding.is_empty() || payload_type > 127 || parts.count() > 1 {
        return Err(bad);
    }
    Ok(RtpMap {
        payload_type,
        encoding,
        clock_rate,
    })
}

/// Only ASCII digits (no sign, no space), within `T`.
fn digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_connection(v: &str, line: usize) -> Result<Connection, SdpError> {
    let bad = |why| SdpError::Malformed { line, why };
    let mut f = v.split(' ');
    let (net, atype, addr, extra) = (f.next(), f.next(), f.next(), f.next());
    let (Some("IN"), Some(atype), Some(addr), None) = (net, atype, addr, extra) else {
        return Err(bad("c= is not 'IN <addrtype> <address>'"));
    };
    // Multicast suffixes: IP4 `/ttl[/n]`, IP6 `/n`.
    let mut parts = addr.split('/');
    let host = parts.next().unwrap_or("");
    let suffixes: Vec<&str> = parts.collect();
    if suffixes.len() > 2 || suffixes.iter().any(|s| digits::<u32>(s).is_none()) {
        return Err(bad("malformed multicast suffix in c="));
    }
    let address = match (atype, host.parse::<IpAddr>()) {
        ("IP4", Ok(ip @ IpAddr::V4(_))) | ("IP6", Ok(ip @ IpAddr::V6(_))) => Some(ip),
        ("IP4" | "IP6", Ok(_)) => return Err(bad("address does not match its address type")),
        ("IP4" | "IP6", Err(_)) if crate::msg::uri::is_hostname(host) => None,
        ("IP4" | "IP6", Err(_)) => return Err(bad("malformed connection address")),
        _ => return Err(bad("unknown address type")),
    };
    Ok(Connection { address })
}

fn parse_origin(v: &str, line: usize) -> Result<Origin<'_>, SdpError> {
    let bad = |why| SdpError::Malformed { line, why };
    let f: Vec<&str> = v.split(' ').collect();
    let [username, session_id, session_version, net, atype, address] = f[..] else {
        return Err(bad("o= does not have six fields"));
    };
    if username.is_empty()
        || digits::<u128>(session_id).is_none()
        || digits::<u128>(session_version).is_none()
        || net != "IN"
        || !matches!(atype, "IP4" | "IP6")
        || address.is_empty()
    {
        return Err(bad("malformed o= line"));
    }
    Ok(Origin {
        username,
        session_id,
        session_version,
        address,
    })
}

fn parse_media(v: &str, line: usize) -> Result<Media<'_>, SdpError> {
    let bad = |why| SdpError::Malformed { line, why };
    let mut f = v.split(' ');
    let kind = f.next().unwrap_or("");
    let port_field = f.next().unwrap_or("");
    let proto = f.next().unwrap_or("");
    let formats: Vec<&str> = f.collect();
    let port_text = port_field.split_once('/').map_or(port_field, |(p, n)| {
        if digits::<u16>(n).is_none() {
            ""
        } else {
            p
        }
    });
    let port = digits::<u16>(port_text).ok_or(bad("malformed port in m="))?;
    if kind.is_empty() || proto.is_empty() || formats.is_empty() || formats.contains(&"") {
        return Err(bad("m= is not '<media> <port> <proto> <fmt> ...'"));
    }
    if formats.len() > 64 {
        return Err(SdpError::TooLarge);
    }
    Ok(Media {
        kind,
        port,
        proto,
        formats,
        connection: None,
        attributes: Vec::new(),
    })
}

/// Parses a session description strictly: `v=0` first, then `o=` and `s=`, at least one `t=`
/// before the first `m=`, one `<letter>=` per line, only RFC 4566's letters. CRLF or bare LF
/// line ends. An empty `s=` is tolerated (RFC 5118's examples have one).
pub fn parse(body: &[u8]) -> Result<SessionDescription<'_>, SdpError> {
    if body.len() > MAX_SDP_OCTETS {
        return Err(SdpError::TooLarge);
    }
    let text = std::str::from_utf8(body).map_err(|_| SdpError::Malformed {
        line: 1,
        why: "not UTF-8",
    })?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    let mut origin = None;
    let mut session_name = None;
    let mut connection = None;
    let mut attributes = Vec::new();
    let mut media: Vec<Media<'_>> = Vec::new();
    let mut timing = false;
    for (i, raw) in text.split('\n').enumerate() {
        let line = i + 1;
        if line > MAX_LINES {
            return Err(SdpError::TooLarge);
        }
        let bad = |why| SdpError::Malformed { line, why };
        let l = raw.strip_suffix('\r').unwrap_or(raw);
        let (kind, value) = match l.as_bytes() {
            [k @ b'a'..=b'z', b'=', ..] => (*k, l.get(2..).unwrap_or("")),
            _ => return Err(bad("not '<letter>=<value>'")),
        };
        match (line, kind) {
            (1, b'v') if value == "0" => continue,
            (1, _) => return Err(bad("first line is not v=0")),
            (2, b'o') => origin = Some(parse_origin(value, line)?),
            (2, _) => return Err(SdpError::Missing('o')),
            (3, b's') => session_name = Some(value),
            (3, _) => return Err(SdpError::Missing('s')),
            (_, b'v' | b'o' | b's') => return Err(bad("v=, o= or s= repeated")),
            (_, b'm') => {
                if !timing {
                    return Err(SdpError::Missing('t'));
                }
                if media.len() >= MAX_MEDIA {
                    return Err(SdpError::TooLarge);
                }
                media.push(parse_media(value, line)?);
            }
            (_, b'c') => {
                let c = parse_connection(value, line)?;
                match media.last_mut() {
                    Some(m) => {
                        m.connection.get_or_insert(c);
                    }
                    None if connection.is_some() => return Err(bad("second session-level c=")),
                    None => connection = Some(c),
                }
            }
            (_, b't') => {
                let mut f = value.split(' ');
                let ok = matches!(
                    (f.next(), f.next(), f.next()),
                    (Some(a), Some(b), None) if digits::<u64>(a).is_some() && digits::<u64>(b).is_some()
                );
                if !ok || !media.is_empty() {
                    return Err(bad("malformed or misplaced t= line"));
                }
                timing = true;
            }
            (_, b'a') => {
                let (name, v) = match value.split_once(':') {
                    Some((n, v)) => (n, Some(v)),
                    None => (value, None),
                };
                if name.is_empty() || name.contains(' ') {
                    return Err(bad("malformed attribute"));
                }
                let a = Attribute { name, value: v };
                match media.last_mut() {
                    Some(m) => m.attributes.push(a),
                    None => attributes.push(a),
                }
            }
            (_, b'i' | b'u' | b'e' | b'p' | b'b' | b'r' | b'z' | b'k') => {}
            _ => return Err(bad("unknown line type")),
        }
    }
    let origin = origin.ok_or(SdpError::Missing('o'))?;
    let session_name = session_name.ok_or(SdpError::Missing('s'))?;
    if !timing {
        return Err(SdpError::Missing('t'));
    }
    Ok(SessionDescription {
        origin,
        session_name,
        connection,
        attributes,
        media,
    })
}

/// Our offer, as [`offer`] writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub session_id: u64,
    pub version: u64,
    pub ip: IpAddr,
    pub rtp_port: u16,
    /// Offer RFC 4733 events (DTMF 0-15) under this payload type, or not at all.
    pub telephone_event: Option<u8>,
    pub ptime_ms: u32,
    /// SDES lines to offer: none is plain RTP/AVP, any makes the stream RTP/SAVP.
    pub crypto: Vec<Crypto>,
}

impl Offer {
    /// PCMU, PCMA and telephone-event 101, 20 ms packets.
    pub fn new(session_id: u64, version: u64, ip: IpAddr, rtp_port: u16) -> Self {
        Self {
            session_id,
            version,
            ip,
            rtp_port,
            telephone_event: Some(PT_TELEPHONE_EVENT),
            ptime_ms: 20,
            crypto: Vec::new(),
        }
    }

    /// The same offer as RTP/SAVP, one `a=crypto` line per suite (tags 1, 2, ...), each with a
    /// fresh key from `rng`.
    pub fn with_srtp<R: rand::RngCore + rand::CryptoRng>(mut self, rng: &mut R) -> Self {
        self.crypto = (1..)
            .zip(CryptoSuite::ALL)
            .map(|(tag, suite)| Crypto::new(tag, suite, InlineKey::generate(rng)))
            .collect();
        self
    }

    pub fn to_sdp(&self) -> String {
        let mut s = negotiate::session_lines(self.session_id, self.version, self.ip);
        negotiate::audio_lines(
            &mut s,
            &negotiate::AudioLines {
                port: self.rtp_port,
                codecs: &[PT_PCMU, PT_PCMA],
                telephone_event: self.telephone_event.map(|pt| (pt, DTMF_EVENTS)),
                crypto: &self.crypto,
                ptime_ms: self.ptime_ms,
                direction: Direction::SendRecv,
            },
        );
        s
    }
}

/// The offer we send: PCMU (0), PCMA (8) and telephone-event (101), `a=ptime:20`,
/// `a=sendrecv`.
pub fn offer(session_id: u64, version: u64, ip: IpAddr, rtp_port: u16) -> String {
    Offer::new(session_id, version, ip, rtp_port).to_sdp()
}

/// What the answer to our offer says about the audio stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaAnswer {
    Accepted(AudioAnswer),
    /// Port 0 on the audio line: the peer declined the stream (RFC 3264 §6).
    Rejected,
}

impl MediaAnswer {
    /// Where to send RTP, if the stream was accepted.
    pub fn remote(&self) -> Option<SocketAddr> {
        match self {
            MediaAnswer::Accepted(a) => Some(a.remote),
            MediaAnswer::Rejected => None,
        }
    }
}

/// The peer's side of an agreed audio stream, from its answer (or from its offer, when we
/// answered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioAnswer {
    /// Where to send RTP: the media-level c= address, else the session-level one.
    pub remote: SocketAddr,
    /// The first of PCMU/PCMA in the answer's format list.
    pub payload_type: u8,
    pub telephone_event: Option<u8>,
    pub ptime_ms: Option<u32>,
    pub direction: Direction,
    /// The agreed keys when the stream is RTP/SAVP.
    pub srtp: Option<SrtpKeys>,
}

/// Reads the first `m=audio` of an answer to [`offer`] (plain RTP/AVP; [`read_answer`] reads
/// the answer to an [`Offer`] with SRTP).
pub fn parse_answer(body: &[u8]) -> Result<MediaAnswer, SdpError> {
    negotiate::read_audio(body, &[], true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn accepted(body: &str) -> AudioAnswer {
        match parse_answer(body.as_bytes()) {
            Ok(MediaAnswer::Accepted(a)) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn our_offer_reads_back_as_an_answer() {
        let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
        let o = offer(42, 1, ip, 40000);
        assert!(o.starts_with("v=0\r\no=outdial 42 1 IN IP4 192.0.2.7\r\n"));
        let a = accepted(&o);
        assert_eq!(a.remote, "192.0.2.7:40000".parse().unwrap());
        assert_eq!(a.payload_type, PT_PCMU);
        assert_eq!(a.telephone_event, Some(PT_TELEPHONE_EVENT));
        assert_eq!(a.ptime_ms, Some(20));
        assert_eq!(a.direction, Direction::SendRecv);
        let v6 = offer(1, 2, "2001:db8::5".parse().unwrap(), 5004);
        assert!(v6.contains("c=IN IP6 2001:db8::5\r\n"));
        assert_eq!(accepted(&v6).remote, "[2001:db8::5]:5004".parse().unwrap());
        let mut no_te = Offer::new(1, 1, ip, 4000);
        no_te.telephone_event = None;
        assert!(!no_te.to_sdp().contains("telephone-event"));
    }

    const ANSWER: &str = "v=0\r\no=- 1 2 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\n\
m=audio 30000 RTP/AVP 8 0 96\r\nc=IN IP4 198.51.100.2\r\na=rtpmap:96 telephone-event/8000\r\na=ptime:30\r\na=sendonly\r\n";

    #[test]
    fn answer_details() {
        let a = accepted(ANSWER);
        assert_eq!(a.remote, "198.51.100.2:30000".parse().unwrap());
        assert_eq!(a.payload_type, PT_PCMA);
        assert_eq!(a.telephone_event, Some(96));
        assert_eq!(a.ptime_ms, Some(30));
        assert_eq!(a.direction, Direction::SendOnly);
        let rejected = ANSWER.replace("m=audio 30000", "m=audio 0");
        assert_eq!(parse_answer(rejected.as_bytes()), Ok(MediaAnswer::Rejected));
        let lf = ANSWER.replace("\r\n", "\n");
        assert_eq!(accepted(&lf), a);
    }

    #[test]
    fn answer_failures() {
        let no_codec = ANSWER.replace("RTP/AVP 8 0 96", "RTP/AVP 18 96");
        assert_eq!(
            parse_answer(no_codec.as_bytes()),
            Err(SdpError::NoCommonCodec)
        );
        let remapped =
            ANSWER.replace("RTP/AVP 8 0 96", "RTP/AVP 0 96") + "a=rtpmap:0 G729/8000\r\n";
        assert_eq!(
            parse_answer(remapped.as_bytes()),
            Err(SdpError::NoCommonCodec)
        );
        let no_c = "v=0\r\no=- 1 2 IN IP4 h.example\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\n";
        assert_eq!(parse_answer(no_c.as_bytes()), Err(SdpError::NoConnection));
        let fqdn = no_c.replace("t=0 0", "c=IN IP4 media.example\r\nt=0 0");
        assert_eq!(
            parse_answer(fqdn.as_bytes()),
            Err(SdpError::UnsupportedAddress)
        );
        let video = ANSWER.replace("m=audio", "m=video");
        assert_eq!(parse_answer(video.as_bytes()), Err(SdpError::NoAudio));
        let srtp = ANSWER.replace("RTP/AVP", "RTP/SAVP");
        assert_eq!(
            parse_answer(srtp.as_bytes()),
            Err(SdpError::UnsupportedTransport)
        );
        let bad_ptime = ANSWER.replace("ptime:30", "ptime:x");
        assert!(parse_answer(bad_ptime.as_bytes()).is_err());
    }

    #[test]
    fn strictness() {
        let cases: &[(&str, &str)] = &[
            ("v=1\r\n", "version"),
            ("o=- 1 2 IN IP4 h\r\n", "v= missing"),
            ("v=0\r\ns=-\r\n", "o= missing"),
            ("v=0\r\no=- 1 2 IN IP4 h\r\nt=0 0\r\n", "s= missing"),
            (
                "v=0\r\no=- 1 2 IN IP4 h\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\n",
                "t= missing",
            ),
            (
                "v=0\r\no=- 1 2 IN IP4 h\r\ns=-\r\nt=0 0\r\nm =video 1 RTP/AVP 0\r\n",
                "space before =",
            ),
            (
                "v=0\r\no=- 1 2 IN IP4 h\r\ns=-\r\nt=0 0\r\nx=1\r\n",
                "unknown type",
            ),
            (
                "v=0\r\no=- 1 2 IN IP4 h\r\ns=-\r\nc=IN IP4 1.2.3.4.5\r\nt=0 0\r\n",
                "bad IPv4",
            ),
            (
                "v=0\r\no=- 1 2 IN IP4 h\r\ns=-\r\nc=IN IP4 2001:db8::1\r\nt=0 0\r\n",
                "type mismatch",
            ),
            (
                "v=0\r\no=- 1 2 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 70000 RTP/AVP 0\r\n",
                "port",
            ),
            (
                "v=0\r\no=- 1 2 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP\r\n",
                "no formats",
            ),
            ("v=0\r\no=- x 2 IN IP4 h\r\ns=-\r\nt=0 0\r\n", "sess-id"),
            (
                "v=0\r\n\r\no=- 1 2 IN IP4 h\r\ns=-\r\nt=0 0\r\n",
                "blank line",
            ),
        ];
        for (body, what) in cases {
            assert!(parse(body.as_bytes()).is_err(), "{what}");
        }
        let ok = "v=0\r\no=- 1 2 IN IP6 ::ffff:192.0.2.2\r\ns=\r\nc=IN IP6 ::ffff:192.0.2.2\r\nt=0 0\r\nm=audio 6000 RTP/AVP 2\r\n";
        let sd = parse(ok.as_bytes()).unwrap();
        assert_eq!(sd.media[0].port, 6000);
        assert!(parse(&vec![b'a'; MAX_SDP_OCTETS + 1]).is_err());
        let many = format!(
            "v=0\r\no=- 1 2 IN IP4 h\r\ns=-\r\nt=0 0\r\n{}",
            "a=x\r\n".repeat(MAX_LINES)
        );
        assert_eq!(parse(many.as_bytes()), Err(SdpError::TooLarge));
    }
}
