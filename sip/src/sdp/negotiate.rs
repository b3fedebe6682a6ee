//! Offer/answer (RFC 3264) for one audio stream: answering a peer's offer with only what both
//! sides support, and reading the answer to ours, with SDES keys (RFC 4568) and telephone-events
//! (RFC 4733).

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use super::crypto::{Crypto, CryptoSuite, InlineKey};
use super::events::{EventSet, DTMF_EVENTS};
use super::{
    digits, parse, AudioAnswer, Direction, Media, MediaAnswer, Offer, SdpError, SessionDescription,
    PT_PCMA, PT_PCMU,
};

/// The SRTP keys of an agreed `a=crypto` line: one per direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SrtpKeys {
    pub suite: CryptoSuite,
    /// The tag of the accepted line.
    pub tag: u32,
    /// Our key: protects what we send.
    pub local: InlineKey,
    /// The peer's key: unprotects what it sends.
    pub remote: InlineKey,
}

/// Whether we answer with SRTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrtpPolicy {
    /// RTP/AVP only; an RTP/SAVP offer is refused.
    Off,
    /// RTP/SAVP when offered, with this key; RTP/AVP otherwise.
    Accept(InlineKey),
    /// RTP/SAVP only, with this key; an RTP/AVP offer is refused.
    Require(InlineKey),
}

/// What we can do, for answering an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalAudio {
    pub session_id: u64,
    pub version: u64,
    pub ip: IpAddr,
    pub rtp_port: u16,
    /// Take telephone-events (DTMF 0-15) when offered.
    pub telephone_event: bool,
    pub ptime_ms: u32,
    pub srtp: SrtpPolicy,
}

impl LocalAudio {
    /// PCMU, PCMA and telephone-events, 20 ms packets, no SRTP.
    pub fn new(session_id: u64, version: u64, ip: IpAddr, rtp_port: u16) -> LocalAudio {
        LocalAudio {
            session_id,
            version,
            ip,
            rtp_port,
            telephone_event: true,
            ptime_ms: 20,
            srtp: SrtpPolicy::Off,
        }
    }
}

/// Our answer and what it agreed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub sdp: String,
    /// The peer's side of the agreed stream (where to send, which codec, its keys), or
    /// `Rejected` when the offer disabled the stream.
    pub media: MediaAnswer,
}

/// Answers `offer` with only what both sides support (RFC 3264 §6.1): the offer's PCMU/PCMA in
/// its order, telephone-events under its payload type with the common events, the first
/// `a=crypto` line of a suite we speak answered with our key and its tag, the mirrored
/// direction. Every other media stream is declined with port 0.
///
/// Errors say why the call should be refused with 488: no common codec, a transport or SRTP
/// requirement the two sides do not share, no usable `a=crypto` line.
pub fn answer_offer(offer: &[u8], local: &LocalAudio) -> Result<Answer, SdpError> {
    let sd = parse(offer)?;
    let audio = sd
        .media
        .iter()
        .position(|m| m.kind == "audio")
        .ok_or(SdpError::NoAudio)?;
    let m = &sd.media[audio];
    let mut sdp = session_lines(local.session_id, local.version, local.ip);
    if m.port == 0 {
        for each in &sd.media {
            declined_line(&mut sdp, each);
        }
        return Ok(Answer {
            sdp,
            media: MediaAnswer::Rejected,
        });
    }
    let secure = match (is_secure(m)?, local.srtp) {
        (true, SrtpPolicy::Off) => return Err(SdpError::UnsupportedTransport),
        (false, SrtpPolicy::Require(_)) => return Err(SdpError::SrtpRequired),
        (secure, _) => secure,
    };
    let remote = remote_address(&sd, m)?;
    let offered = formats(m)?;
    let codecs = offered.codecs;
    let payload_type = *codecs.first().ok_or(SdpError::NoCommonCodec)?;
    let telephone_event = match offered.telephone_event.filter(|_| local.telephone_event) {
        None => None,
        Some(pt) => Some((pt, events_of(m, pt)?.intersect(DTMF_EVENTS))),
    }
    .filter(|(_, events)| !events.is_empty());
    let srtp = match local.srtp {
        SrtpPolicy::Accept(key) | SrtpPolicy::Require(key) if secure => {
            Some(choose_crypto(m, key)?)
        }
        _ => None,
    };
    let crypto: Vec<Crypto> = srtp
        .iter()
        .map(|k| Crypto::new(k.tag, k.suite, k.local))
        .collect();
    let direction = direction(&sd, m);
    for (i, each) in sd.media.iter().enumerate() {
        if i != audio {
            declined_line(&mut sdp, each);
            continue;
        }
        audio_lines(
            &mut sdp,
            &AudioLines {
                port: local.rtp_port,
                codecs: &codecs,
                telephone_event,
                crypto: &crypto,
                ptime_ms: local.ptime_ms,
                direction: direction.reversed(),
            },
        );
    }
    Ok(Answer {
        sdp,
        media: MediaAnswer::Accepted(AudioAnswer {
            remote,
            payload_type,
            telephone_event: telephone_event.map(|(pt, _)| pt),
            ptime_ms: ptime(&sd, m)?,
            direction,
            srtp,
        }),
    })
}

/// Reads the answer to `offer`: the profile must be the one offered, an RTP/SAVP answer must
/// accept exactly one of our `a=crypto` lines by tag and suite, telephone-events count only if
/// we offered them.
pub fn read_answer(answer: &[u8], offer: &Offer) -> Result<MediaAnswer, SdpError> {
    read_audio(answer, &offer.crypto, offer.telephone_event.is_some())
}

/// The first `m=audio` of a description answering an offer with `offered_crypto` lines.
pub(super) fn read_audio(
    body: &[u8],
    offered_crypto: &[Crypto],
    offered_telephone_event: bool,
) -> Result<MediaAnswer, SdpError> {
    let sd = parse(body)?;
    let m = sd
        .media
        .iter()
        .find(|m| m.kind == "audio")
        .ok_or(SdpError::NoAudio)?;
    if m.port == 0 {
        return Ok(MediaAnswer::Rejected);
    }
    if is_secure(m)? == offered_crypto.is_empty() {
        return Err(SdpError::UnsupportedTransport);
    }
    let remote = remote_address(&sd, m)?;
    let offered = formats(m)?;
    let payload_type = *offered.codecs.first().ok_or(SdpError::NoCommonCodec)?;
    let srtp = if offered_crypto.is_empty() {
        None
    } else {
        Some(accepted_crypto(m, offered_crypto)?)
    };
    Ok(MediaAnswer::Accepted(AudioAnswer {
        remote,
        payload_type,
        telephone_event: offered.telephone_event.filter(|_| offered_telephone_event),
        ptime_ms: ptime(&sd, m)?,
        direction: direction(&sd, m),
        srtp,
    }))
}

/// `RTP/AVP` or `RTP/SAVP`; anything else is refused.
fn is_secure(m: &Media<'_>) -> Result<bool, SdpError> {
    if m.proto.eq_ignore_ascii_case("RTP/AVP") {
        Ok(false)
    } else if m.proto.eq_ignore_ascii_case("RTP/SAVP") {
        Ok(true)
    } else {
        Err(SdpError::UnsupportedTransport)
    }
}

/// Where to send RTP: the media-level c= address, else the session-level one.
fn remote_address(sd: &SessionDescription<'_>, m: &Media<'_>) -> Result<SocketAddr, SdpError> {
    let conn = m
        .connection
        .or(sd.connection)
        .ok_or(SdpError::NoConnection)?;
    let ip = conn.address.ok_or(SdpError::UnsupportedAddress)?;
    Ok(SocketAddr::new(ip, m.port))
}

/// The formats of a stream that we can use.
struct Formats {
    /// PCMU and PCMA, in the stream's order.
    codecs: Vec<u8>,
    /// telephone-event/8000, listed and mapped.
    telephone_event: Option<u8>,
}

fn formats(m: &Media<'_>) -> Result<Formats, SdpError> {
    let listed: Vec<u8> = m.formats.iter().filter_map(|f| digits::<u8>(f)).collect();
    let mut telephone_event = None;
    let mut mapped_elsewhere = [false; 2];
    for map in m.rtpmaps() {
        let map = map?;
        if map.encoding.eq_ignore_ascii_case("telephone-event")
            && map.clock_rate == 8000
            && listed.contains(&map.payload_type)
        {
            telephone_event.get_or_insert(map.payload_type);
        }
        // A static type remapped to another codec is not the codec we speak.
        for (i, (pt, name)) in [(PT_PCMU, "PCMU"), (PT_PCMA, "PCMA")]
            .into_iter()
            .enumerate()
        {
            if map.payload_type == pt
                && !(map.encoding.eq_ignore_ascii_case(name) && map.clock_rate == 8000)
            {
                mapped_elsewhere[i] = true;
            }
        }
    }
    let codecs = listed
        .iter()
        .copied()
        .filter(|&pt| {
            (pt == PT_PCMU && !mapped_elsewhere[0]) || (pt == PT_PCMA && !mapped_elsewhere[1])
        })
        .collect();
    Ok(Formats {
        codecs,
        telephone_event,
    })
}

/// The events an `a=fmtp:<pt>` line lists, or 0-15 without one (RFC 4733 §2.4.1). Only an
/// offer's is read, to answer with the common events; reading an answer ignores it.
fn events_of(m: &Media<'_>, pt: u8) -> Result<EventSet, SdpError> {
    let fmtp = m
        .attributes
        .iter()
        .filter(|a| a.name == "fmtp")
        .filter_map(|a| a.value?.split_once(' '))
        .find(|(p, _)| digits::<u8>(p) == Some(pt));
    match fmtp {
        None => Ok(DTMF_EVENTS),
        Some((_, list)) => EventSet::parse(list.trim()).ok_or(SdpError::Malformed {
            line: 0,
            why: "malformed telephone-event fmtp (expected a list like 0-15)",
        }),
    }
}

fn ptime(sd: &SessionDescription<'_>, m: &Media<'_>) -> Result<Option<u32>, SdpError> {
    let attr = m
        .attributes
        .iter()
        .chain(&sd.attributes)
        .find(|a| a.name == "ptime");
    match attr {
        None => Ok(None),
        Some(a) => a
            .value
            .and_then(digits::<u32>)
            .filter(|p| (1..=1000).contains(p))
            .map(Some)
            .ok_or(SdpError::Malformed {
                line: 0,
                why: "malformed ptime attribute",
            }),
    }
}

/// The stream's direction attribute, else the session's, else `sendrecv`.
fn direction(sd: &SessionDescription<'_>, m: &Media<'_>) -> Direction {
    m.attributes
        .iter()
        .find_map(|a| Direction::from_attr(a.name))
        .or_else(|| {
            sd.attributes
                .iter()
                .find_map(|a| Direction::from_attr(a.name))
        })
        .unwrap_or(Direction::SendRecv)
}

/// The first offered `a=crypto` line we can take. Lines asking for what we do not do (another
/// suite, session parameters) are passed over, as RFC 4568's offer/answer rules let the
/// answerer; a broken line is refused outright.
fn choose_crypto(m: &Media<'_>, ours: InlineKey) -> Result<SrtpKeys, SdpError> {
    let mut first_refusal = None;
    for a in m.attributes.iter().filter(|a| a.name == "crypto") {
        match Crypto::parse(a.value.unwrap_or("")) {
            Ok(c) => {
                return Ok(SrtpKeys {
                    suite: c.suite,
                    tag: c.tag,
                    local: ours,
                    remote: c.key,
                })
            }
            Err(p) if p.is_unsupported() => {
                first_refusal.get_or_insert(p);
            }
            Err(p) => return Err(SdpError::Crypto(p)),
        }
    }
    Err(first_refusal.map_or(SdpError::NoCrypto, SdpError::NoCommonCrypto))
}

/// The one `a=crypto` line of an answer, matched to the offered line with its tag.
fn accepted_crypto(m: &Media<'_>, offered: &[Crypto]) -> Result<SrtpKeys, SdpError> {
    let mut lines = m.attributes.iter().filter(|a| a.name == "crypto");
    let (Some(line), None) = (lines.next(), lines.next()) else {
        return Err(SdpError::CryptoMismatch(
            "an RTP/SAVP answer must carry exactly one a=crypto line",
        ));
    };
    let theirs = Crypto::parse(line.value.unwrap_or("")).map_err(SdpError::Crypto)?;
    let ours = offered
        .iter()
        .find(|c| c.tag == theirs.tag)
        .ok_or(SdpError::CryptoMismatch(
            "the answer's a=crypto tag was not offered",
        ))?;
    if ours.suite != theirs.suite {
        return Err(SdpError::CryptoMismatch(
            "the answer's crypto suite is not the one offered under its tag",
        ));
    }
    Ok(SrtpKeys {
        suite: theirs.suite,
        tag: theirs.tag,
        local: ours.key,
        remote: theirs.key,
    })
}

/// The audio section we write, in an offer or an answer.
pub(super) struct AudioLines<'a> {
    pub port: u16,
    pub codecs: &'a [u8],
    pub telephone_event: Option<(u8, EventSet)>,
    pub crypto: &'a [Crypto],
    pub ptime_ms: u32,
    pub direction: Direction,
}

// fmt::Write into a String cannot fail; the results below are ignored for that reason.

/// `v=`, `o=`, `s=`, `c=`, `t=`.
pub(super) fn session_lines(session_id: u64, version: u64, ip: IpAddr) -> String {
    let atype = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let mut s = String::with_capacity(384);
    let _ = write!(
        s,
        "v=0\r\no=outdial {session_id} {version} IN {atype} {ip}\r\ns=-\r\nc=IN {atype} {ip}\r\nt=0 0\r\n"
    );
    s
}

pub(super) fn audio_lines(s: &mut String, a: &AudioLines<'_>) {
    let proto = if a.crypto.is_empty() {
        "RTP/AVP"
    } else {
        "RTP/SAVP"
    };
    let _ = write!(s, "m=audio {} {proto}", a.port);
    for pt in a.codecs {
        let _ = write!(s, " {pt}");
    }
    if let Some((te, _)) = a.telephone_event {
        let _ = write!(s, " {te}");
    }
    s.push_str("\r\n");
    for &pt in a.codecs {
        let name = if pt == PT_PCMU { "PCMU" } else { "PCMA" };
        let _ = write!(s, "a=rtpmap:{pt} {name}/8000\r\n");
    }
    if let Some((te, events)) = a.telephone_event {
        let _ = write!(
            s,
            "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} {events}\r\n"
        );
    }
    for c in a.crypto {
        let _ = write!(s, "a=crypto:{c}\r\n");
    }
    let _ = write!(s, "a=ptime:{}\r\na={}\r\n", a.ptime_ms, a.direction.attr());
}

/// A stream we decline: port 0, its own profile and formats (RFC 3264 §6).
fn declined_line(s: &mut String, m: &Media<'_>) {
    let _ = write!(s, "m={} 0 {} {}\r\n", m.kind, m.proto, m.formats.join(" "));
}

#[cfg(test)]
mod tests {
    use super::super::{offer, parse_answer, CryptoProblem};
    use super::*;
    use std::net::Ipv4Addr;

    const KEY_A: &str = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

    fn ip() -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))
    }

    fn our_key() -> InlineKey {
        InlineKey::new([7; 30])
    }

    /// A peer's offer: PCMA before PCMU, events on 96, two crypto lines (one we cannot do).
    fn peer_offer(extra: &str) -> String {
        format!(
            "v=0\r\no=peer 5 5 IN IP4 198.51.100.9\r\ns=-\r\nc=IN IP4 198.51.100.9\r\nt=0 0\r\n\
m=audio 7000 RTP/SAVP 18 8 0 96\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\n\
a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:{KEY_A}{KEY_A}\r\n\
a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:{KEY_A}|2^31\r\n\
a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:{KEY_A}\r\na=sendonly\r\n{extra}"
        )
    }

    fn accepted(m: MediaAnswer) -> AudioAnswer {
        match m {
            MediaAnswer::Accepted(a) => a,
            MediaAnswer::Rejected => panic!("rejected"),
        }
    }

    #[test]
    fn our_offer_with_srtp_reads_back_through_an_answer() {
        let mut rng = rand::rngs::OsRng;
        let o = Offer::new(9, 1, ip(), 40000).with_srtp(&mut rng);
        let sdp = o.to_sdp();
        assert!(sdp.contains("m=audio 40000 RTP/SAVP 0 8 101\r\n"));
        assert!(sdp.contains("a=fmtp:101 0-15\r\n"));
        assert!(sdp.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"));
        assert!(sdp.contains("a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"));
        assert_ne!(o.crypto[0].key, o.crypto[1].key);

        // The peer answers our offer: it takes tag 1 with its own key.
        let theirs = InlineKey::new([9; 30]);
        let mut peer = LocalAudio::new(77, 1, "198.51.100.4".parse().unwrap(), 6000);
        peer.srtp = SrtpPolicy::Require(theirs);
        let answer = answer_offer(sdp.as_bytes(), &peer).unwrap();
        assert!(answer.sdp.contains("m=audio 6000 RTP/SAVP 0 8 101\r\n"));
        let peer_view = accepted(answer.media).srtp.unwrap();
        assert_eq!((peer_view.tag, peer_view.remote), (1, o.crypto[0].key));

        let a = accepted(read_answer(answer.sdp.as_bytes(), &o).unwrap());
        assert_eq!(a.remote, "198.51.100.4:6000".parse().unwrap());
        assert_eq!(a.telephone_event, Some(101));
        let keys = a.srtp.unwrap();
        assert_eq!(keys.suite, CryptoSuite::AesCm128HmacSha1_80);
        assert_eq!((keys.local, keys.remote), (o.crypto[0].key, theirs));
    }

    #[test]
    fn answering_takes_only_what_both_sides_offered() {
        let mut local = LocalAudio::new(3, 4, ip(), 5000);
        local.srtp = SrtpPolicy::Accept(our_key());
        let answer = answer_offer(peer_offer("").as_bytes(), &local).unwrap();
        let expected_start =
            "v=0\r\no=outdial 3 4 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
m=audio 5000 RTP/SAVP 8 0 96\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\n";
        assert!(answer.sdp.starts_with(expected_start), "{}", answer.sdp);
        assert!(answer.sdp.ends_with("a=ptime:20\r\na=recvonly\r\n"));
        let crypto: Vec<&str> = answer
            .sdp
            .lines()
            .filter(|l| l.starts_with("a=crypto"))
            .collect();
        // Line 1's suite is not ours; line 2 is the first we can take, lifetime and all.
        let ours = Crypto::new(2, CryptoSuite::AesCm128HmacSha1_32, our_key());
        assert_eq!(crypto, [format!("a=crypto:{ours}")]);
        let a = accepted(answer.media);
        assert_eq!(a.remote, "198.51.100.9:7000".parse().unwrap());
        assert_eq!(a.payload_type, PT_PCMA);
        assert_eq!(a.telephone_event, Some(96));
        assert_eq!(a.direction, Direction::SendOnly);
        let keys = a.srtp.unwrap();
        assert_eq!(
            (keys.tag, keys.suite),
            (2, CryptoSuite::AesCm128HmacSha1_32)
        );
        assert_eq!(keys.remote.key_salt()[..6], *b"YS___s");
        assert_eq!(keys.remote.lifetime, Some(1 << 31));
        assert_eq!(keys.local, our_key());
        // The answer parses, and reads back against an offer holding the peer's lines.
        assert!(parse(answer.sdp.as_bytes()).is_ok());

        // Without telephone-events on our side, or with none in common, none is answered.
        local.telephone_event = false;
        let a = answer_offer(peer_offer("").as_bytes(), &local).unwrap();
        assert!(!a.sdp.contains("telephone-event"));
        local.telephone_event = true;
        let flash_only = peer_offer("").replace("fmtp:96 0-16", "fmtp:96 16");
        let a = answer_offer(flash_only.as_bytes(), &local).unwrap();
        assert!(!a.sdp.contains("96"));
        assert_eq!(accepted(a.media).telephone_event, None);
    }

    #[test]
    fn plain_offers_get_plain_answers_and_other_streams_are_declined() {
        let o = offer(1, 1, "198.51.100.3".parse().unwrap(), 4000)
            + "m=video 5002 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";
        let mut local = LocalAudio::new(2, 2, ip(), 6000);
        local.srtp = SrtpPolicy::Accept(our_key());
        let answer = answer_offer(o.as_bytes(), &local).unwrap();
        assert!(answer.sdp.contains("m=audio 6000 RTP/AVP 0 8 101\r\n"));
        assert!(answer
            .sdp
            .ends_with("a=sendrecv\r\nm=video 0 RTP/AVP 96\r\n"));
        assert!(!answer.sdp.contains("crypto"));
        assert_eq!(accepted(answer.media).srtp, None);
        // Reads back as an answer to our plain offer.
        let ours = Offer::new(1, 1, ip(), 4000);
        assert_eq!(
            accepted(read_answer(answer.sdp.as_bytes(), &ours).unwrap()).payload_type,
            PT_PCMU
        );

        let disabled = o.replace("m=audio 4000", "m=audio 0");
        let answer = answer_offer(disabled.as_bytes(), &local).unwrap();
        assert_eq!(answer.media, MediaAnswer::Rejected);
        assert!(answer
            .sdp
            .contains("m=audio 0 RTP/AVP 0 8 101\r\nm=video 0 RTP/AVP 96\r\n"));
    }

    #[test]
    fn offers_we_cannot_take_are_refused_with_the_reason() {
        let mut local = LocalAudio::new(1, 1, ip(), 6000);
        // SRTP offered, SRTP off here.
        assert_eq!(
            answer_offer(peer_offer("").as_bytes(), &local),
            Err(SdpError::UnsupportedTransport)
        );
        // Plain offered, SRTP required here.
        local.srtp = SrtpPolicy::Require(our_key());
        let plain = offer(1, 1, ip(), 4000);
        assert_eq!(
            answer_offer(plain.as_bytes(), &local),
            Err(SdpError::SrtpRequired)
        );
        // No suite we speak.
        let unsupported = peer_offer("")
            .replace(
                "a=crypto:2 AES_CM_128_HMAC_SHA1_32",
                "a=crypto:2 AEAD_AES_128_GCM",
            )
            .replace(
                &format!("inline:{KEY_A}\r\na=sendonly"),
                &format!("inline:{KEY_A} KDR=4\r\na=sendonly"),
            );
        match answer_offer(unsupported.as_bytes(), &local) {
            Err(SdpError::NoCommonCrypto(CryptoProblem::UnsupportedSuite(s))) => {
                assert_eq!(s, "AES_256_CM_HMAC_SHA1_80")
            }
            other => panic!("{other:?}"),
        }
        // A broken key on a suite we speak is malformed, not skipped.
        let broken = peer_offer("").replace(
            &format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY_A}"),
            "2 AES_CM_128_HMAC_SHA1_32 inline:AAAA",
        );
        assert_eq!(
            answer_offer(broken.as_bytes(), &local),
            Err(SdpError::Crypto(CryptoProblem::KeyLength { got: 3 }))
        );
        let none = peer_offer("")
            .lines()
            .filter(|l| !l.starts_with("a=crypto"))
            .collect::<Vec<_>>()
            .join("\r\n");
        assert_eq!(
            answer_offer(none.as_bytes(), &local),
            Err(SdpError::NoCrypto)
        );
        let no_codec = peer_offer("").replace("RTP/SAVP 18 8 0 96", "RTP/SAVP 18 96");
        assert_eq!(
            answer_offer(no_codec.as_bytes(), &local),
            Err(SdpError::NoCommonCodec)
        );
        let bad_fmtp = peer_offer("").replace("fmtp:96 0-16", "fmtp:96 0-x");
        assert!(matches!(
            answer_offer(bad_fmtp.as_bytes(), &local),
            Err(SdpError::Malformed { .. })
        ));
        assert_eq!(
            answer_offer(b"v=0\r\n", &local),
            Err(SdpError::Missing('o'))
        );
    }

    #[test]
    fn answers_that_do_not_match_our_offer_are_refused() {
        let mut rng = rand::rngs::OsRng;
        let o = Offer::new(9, 1, ip(), 40000).with_srtp(&mut rng);
        let good = format!(
            "v=0\r\no=- 1 1 IN IP4 198.51.100.1\r\ns=-\r\nc=IN IP4 198.51.100.1\r\nt=0 0\r\n\
m=audio 3000 RTP/SAVP 0\r\na=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:{KEY_A}\r\n"
        );
        let a = accepted(read_answer(good.as_bytes(), &o).unwrap());
        assert_eq!(a.srtp.unwrap().local, o.crypto[1].key);
        assert_eq!(a.telephone_event, None);
        let cases = [
            (good.replace("crypto:2", "crypto:5"), "tag"),
            (
                good.replace(
                    "crypto:2 AES_CM_128_HMAC_SHA1_32",
                    "crypto:2 AES_CM_128_HMAC_SHA1_80",
                ),
                "suite",
            ),
            (
                good.replace(
                    &format!("a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:{KEY_A}\r\n"),
                    "",
                ),
                "none",
            ),
            (
                format!("{good}a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_A}\r\n"),
                "two",
            ),
        ];
        for (body, what) in cases {
            assert!(
                matches!(
                    read_answer(body.as_bytes(), &o),
                    Err(SdpError::CryptoMismatch(_))
                ),
                "{what}"
            );
        }
        let plain = good.replace("RTP/SAVP", "RTP/AVP");
        assert_eq!(
            read_answer(plain.as_bytes(), &o),
            Err(SdpError::UnsupportedTransport)
        );
        assert_eq!(
            parse_answer(good.as_bytes()),
            Err(SdpError::UnsupportedTransport)
        );
        let bad_key = good.replace(KEY_A, "short");
        assert!(matches!(
            read_answer(bad_key.as_bytes(), &o),
            Err(SdpError::Crypto(_))
        ));
    }
}
