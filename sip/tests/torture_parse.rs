//! RFC 4475 and RFC 5118 torture messages through `parse_datagram` and
//! `check_uas_acceptable`: every file in EXPECTED.tsv gets the RFC's verdict.
//!
//! The data is read from `$OUTDIAL_TORTURE_DIR` (default `../shared/torture` beside the
//! workspace) and never copied into the project; without it these tests fail.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sip::msg::rsip::headers::UntypedHeader;
use sip::msg::rsip::{self, Header, Method};
use sip::msg::{check_uas_acceptable, parse_datagram, reply, Incoming, ParseError, Problem};
use sip::sdp::{self, MediaAnswer, SdpError};

fn torture_dir() -> PathBuf {
    match std::env::var_os("OUTDIAL_TORTURE_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/torture"),
    }
}

fn read(rel: &str) -> Vec<u8> {
    let path = torture_dir().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read torture data {}: {e}. Set OUTDIAL_TORTURE_DIR to the shared/torture \
             directory (default: ../shared/torture beside the workspace).",
            path.display()
        )
    })
}

/// An endpoint that implements every method rsip knows, so only RFC 4475 §3.3's verdicts fire.
fn allow_all() -> Vec<Method> {
    Method::all()
}

/// What this element does with a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Parses, and the endpoint takes it.
    Accept,
    /// Parses; the endpoint answers with this status.
    Refuse(u16),
    /// Parse error; `status()` gives this (None: dropped).
    Reject(Option<u16>),
}

use Outcome::{Accept, Refuse, Reject};

/// This element's verdict per file, from RFC 4475's text and the note column of EXPECTED.tsv.
const RFC4475: &[(&str, Outcome)] = &[
    ("wsinv.dat", Accept),
    // Deliberate deviation: rsip 0.4's Method cannot hold an extension method, so a
    // well-formed request with one is a ParseError::UnknownMethod with status 501 and a
    // reply context; the wire result is the 501 the RFC asks of an endpoint.
    ("intmeth.dat", Reject(Some(501))),
    ("esc01.dat", Accept),
    ("escnull.dat", Accept),
    ("esc02.dat", Reject(Some(501))),
    ("lwsdisp.dat", Accept),
    ("longreq.dat", Accept),
    ("dblreq.dat", Accept),
    ("semiuri.dat", Accept),
    ("transports.dat", Accept),
    ("mpart01.dat", Accept),
    ("unreason.dat", Accept),
    ("noreason.dat", Accept),
    ("badinv01.dat", Reject(Some(400))),
    ("clerr.dat", Reject(Some(400))),
    ("ncl.dat", Reject(Some(400))),
    ("scalar02.dat", Reject(Some(400))),
    ("scalarlg.dat", Reject(None)),
    ("quotbal.dat", Reject(Some(400))),
    ("ltgtruri.dat", Reject(Some(400))),
    ("lwsruri.dat", Reject(Some(400))),
    ("lwsstart.dat", Reject(Some(400))),
    ("trws.dat", Reject(Some(400))),
    ("escruri.dat", Reject(Some(400))),
    ("baddate.dat", Reject(Some(400))),
    ("regbadct.dat", Reject(Some(400))),
    ("badaspec.dat", Reject(Some(400))),
    ("baddn.dat", Reject(Some(400))),
    ("badvers.dat", Reject(Some(505))),
    ("mismatch01.dat", Reject(Some(400))),
    ("mismatch02.dat", Reject(Some(501))),
    ("bigcode.dat", Reject(None)),
    ("badbranch.dat", Accept),
    ("insuf.dat", Reject(Some(400))),
    ("unkscm.dat", Refuse(416)),
    ("novelsc.dat", Refuse(416)),
    ("unksm2.dat", Accept),
    ("bext01.dat", Refuse(420)),
    ("invut.dat", Refuse(415)),
    ("regaut01.dat", Accept),
    ("multi01.dat", Reject(Some(400))),
    ("mcl01.dat", Reject(Some(400))),
    ("bcast.dat", Accept),
    ("zeromf.dat", Accept),
    ("cparam01.dat", Accept),
    ("cparam02.dat", Accept),
    ("regescrt.dat", Accept),
    ("sdp01.dat", Refuse(406)),
    ("inv2543.dat", Accept),
    ("test.dat", Reject(Some(400))),
];

fn outcome(bytes: &[u8]) -> (Outcome, Result<Incoming, ParseError>) {
    let parsed = parse_datagram(bytes);
    let o = match &parsed {
        Ok(inc) => match check_uas_acceptable(inc, &allow_all()) {
            Ok(()) => Accept,
            Err(r) => Refuse(r.status),
        },
        Err(e) => Reject(e.status()),
    };
    (o, parsed)
}

fn parse_ok(rel: &str) -> Incoming {
    parse_datagram(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn parse_err(rel: &str) -> ParseError {
    match parse_datagram(&read(rel)) {
        Ok(_) => panic!("{rel}: accepted"),
        Err(e) => e,
    }
}

fn expected_tsv() -> BTreeMap<String, String> {
    let tsv = String::from_utf8(read("rfc4475/EXPECTED.tsv")).expect("EXPECTED.tsv is UTF-8");
    tsv.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut f = l.split('\t');
            let file = f.next().unwrap_or_default().to_owned();
            let verdict = f.next().unwrap_or_default().to_owned();
            (file, verdict)
        })
        .collect()
}

#[test]
fn every_rfc4475_file_gets_its_verdict() {
    let expected = expected_tsv();
    assert_eq!(expected.len(), 50, "EXPECTED.tsv should list 50 files");
    let ours: BTreeMap<_, _> = RFC4475.iter().copied().collect();
    let mut failures = Vec::new();
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for (file, verdict) in &expected {
        let Some(&want) = ours.get(file.as_str()) else {
            failures.push(format!("{file}: no verdict in this test"));
            continue;
        };
        // Our table must agree with the RFC's valid/invalid split.
        let consistent = match (verdict.as_str(), want) {
            ("valid", Accept | Refuse(_)) | ("invalid", Reject(_)) => true,
            // The closed-enum deviation, documented in RFC4475 above.
            ("valid", Reject(Some(501))) => matches!(file.as_str(), "intmeth.dat" | "esc02.dat"),
            _ => false,
        };
        if !consistent {
            failures.push(format!(
                "{file}: table says {want:?} but EXPECTED.tsv says {verdict}"
            ));
        }
        let bytes = read(&format!("rfc4475/{file}"));
        let (got, parsed) = outcome(&bytes);
        if got != want {
            let detail = match &parsed {
                Err(e) => e.to_string(),
                Ok(_) => "parsed".into(),
            };
            failures.push(format!("{file}: want {want:?}, got {got:?} ({detail})"));
        }
        *tally.entry(format!("{verdict} -> {got:?}")).or_default() += 1;
    }
    for file in ours.keys() {
        if !expected.contains_key(*file) {
            failures.push(format!("{file}: not in EXPECTED.tsv"));
        }
    }
    eprintln!("RFC 4475 verdicts: {tally:#?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_dat_file_is_listed() {
    let expected = expected_tsv();
    let dir = torture_dir().join("rfc4475");
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let name = entry.expect("directory entry").file_name();
        let name = name.to_string_lossy();
        if name.ends_with(".dat") {
            assert!(
                expected.contains_key(name.as_ref()),
                "{name} missing from EXPECTED.tsv"
            );
        }
    }
}

fn header_values<'a>(inc: &'a Incoming, pred: impl Fn(&Header) -> bool + 'a) -> Vec<String> {
    inc.headers()
        .iter()
        .filter(|h| pred(h))
        .map(|h| h.to_string())
        .collect()
}

#[test]
fn wsinv_folding_compact_forms_and_lws() {
    let inc = parse_ok("rfc4475/wsinv.dat");
    let h = &inc.head;
    assert_eq!(h.method, Some(Method::Invite));
    assert_eq!(h.to_tag.as_deref(), Some("1918181833n"));
    assert_eq!(h.from_tag.as_deref(), Some("98asjd8"));
    assert_eq!(h.max_forwards, Some(68));
    assert_eq!((h.cseq, h.cseq_method), (9, Method::Invite));
    assert_eq!(h.call_id, "wsinv.ndaksdj@192.0.2.1");
    assert_eq!(h.top_via_branch.as_deref(), Some("390skdjuw"));
    assert_eq!(h.top_via_sent_by, "192.0.2.2");
    let vias = header_values(&inc, |h| matches!(h, Header::Via(_)));
    assert_eq!(
        vias,
        [
            "Via: SIP/2.0/UDP 192.0.2.2;branch=390skdjuw",
            "Via: SIP/2.0/TCP spindle.example.com;branch=z9hG4bK9ikj8",
            "Via: SIP/2.0/UDP 192.168.255.111;branch=z9hG4bK30239",
        ]
    );
    let text: Vec<String> = inc.headers().iter().map(ToString::to_string).collect();
    assert!(text.contains(&"NewFangledHeader: newfangled value continued newfangled value".into()));
    assert!(
        text.contains(&"UnknownHeaderWithUnusualValue: ;;,,;;,;".into()),
        "{text:#?}"
    );
    assert!(
        text.contains(&"Subject: ".into()),
        "s: expands to Subject: {text:#?}"
    );
    assert!(text
        .iter()
        .any(|t| t.starts_with("Contact: \"Quoted string \\\"\\\"\" <sip:jdrosen@example.com>")));
    assert!(text.contains(
        &"Route: <sip:services.example.com;lr;unknownwith=value;unknown-no-value>".into()
    ));
    assert_eq!(h.content_length, 150);
    assert_eq!(h.content_type.as_deref(), Some("application/sdp"));
}

#[test]
fn dblreq_trailing_invite_is_ignored() {
    let bytes = read("rfc4475/dblreq.dat");
    let inc = parse_datagram(&bytes).unwrap();
    assert_eq!(inc.head.method, Some(Method::Register));
    assert_eq!(inc.head.call_id, "dblreq.0ha0isndaksdj99sdfafnl3lk233412");
    assert!(inc.body().is_empty());
    let invite_at = bytes
        .windows(6)
        .position(|w| w == b"INVITE")
        .expect("trailing INVITE");
    assert!(inc.head.trailing_octets >= bytes.len() - invite_at);
    assert!(!header_values(&inc, |_| true)
        .iter()
        .any(|h| h.contains("dblreq.0ha0isnda977644900765")));
}

#[test]
fn inv2543_body_is_the_rest_of_the_datagram() {
    let bytes = read("rfc4475/inv2543.dat");
    let inc = parse_datagram(&bytes).unwrap();
    let start = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(inc.body(), &bytes[start..]);
    assert_eq!(inc.head.content_length, bytes.len() - start);
    assert_eq!(inc.head.top_via_branch, None);
    assert_eq!(inc.head.from_tag, None);
    assert_eq!(inc.head.max_forwards, None);
}

#[test]
fn mpart01_binary_body_is_framed_by_content_length() {
    let inc = parse_ok("rfc4475/mpart01.dat");
    assert_eq!(inc.head.content_length, 553);
    assert_eq!(inc.body().len(), 553);
    assert_eq!(inc.body().iter().filter(|&&b| b == 0).count(), 2);
    assert_eq!(inc.head.method, Some(Method::Message));
    assert_eq!(inc.head.content_type.as_deref(), Some("multipart/mixed"));
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() + 1 {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

#[test]
fn semiuri_user_part() {
    let inc = parse_ok("rfc4475/semiuri.dat");
    let rsip::SipMessage::Request(req) = &inc.msg else {
        panic!("not a request")
    };
    let user = req.uri.user().expect("user part");
    assert_eq!(user, "user;par=u%40example.net");
    assert_eq!(percent_decode(user), b"user;par=u@example.net");
    assert_eq!(
        sip::msg::uri::to_string(&req.uri),
        "sip:user;par=u%40example.net@example.com"
    );
}

#[test]
fn escnull_and_esc01_keep_escapes() {
    let inc = parse_ok("rfc4475/escnull.dat");
    assert_eq!(
        header_values(&inc, |h| matches!(h, Header::Contact(_))).len(),
        2
    );
    let inc = parse_ok("rfc4475/esc01.dat");
    let rsip::SipMessage::Request(req) = &inc.msg else {
        panic!("not a request")
    };
    assert_eq!(req.uri.user(), Some("sips%3Auser%40example.com"));
    assert_eq!(inc.head.call_id, "esc01.239409asdfakjkn23onasd0-3234");
}

#[test]
fn transports_and_responses() {
    let inc = parse_ok("rfc4475/transports.dat");
    assert_eq!(
        header_values(&inc, |h| matches!(h, Header::Via(_))).len(),
        5
    );
    let inc = parse_ok("rfc4475/unreason.dat");
    assert_eq!(inc.head.status, Some(200));
    assert_eq!(inc.head.method, None);
    let inc = parse_ok("rfc4475/noreason.dat");
    assert_eq!(inc.head.status, Some(100));
    let inc = parse_ok("rfc4475/bcast.dat");
    assert_eq!(inc.head.top_via_sent_by, "192.0.2.198");
    assert_eq!(
        header_values(&inc, |h| matches!(h, Header::Via(_))).len(),
        2
    );
}

#[test]
fn rejections_name_the_problem_and_can_be_answered() {
    let cases: &[(&str, Problem)] = &[
        (
            "clerr.dat",
            Problem::ContentLengthExceedsBody {
                declared: 9999,
                available: 154,
            },
        ),
        ("ncl.dat", Problem::BadContentLength),
        ("mcl01.dat", Problem::ConflictingContentLength),
        ("scalar02.dat", Problem::CSeqOutOfRange),
        ("multi01.dat", Problem::DuplicateHeader("CSeq")),
        ("mismatch01.dat", Problem::CSeqMethodMismatch),
        ("insuf.dat", Problem::MissingHeader("From")),
        (
            "escruri.dat",
            Problem::BadRequestUri("Request-URI carries escaped headers"),
        ),
        ("ltgtruri.dat", Problem::BadRequestUri("enclosed in <>")),
    ];
    for (file, want) in cases {
        let e = parse_err(&format!("rfc4475/{file}"));
        assert_eq!(e.problem(), Some(want), "{file}: {e}");
    }
    // Everything an answer needs could be read from all of these but insuf.dat.
    for file in [
        "badinv01.dat",
        "clerr.dat",
        "ncl.dat",
        "scalar02.dat",
        "quotbal.dat",
        "ltgtruri.dat",
        "lwsruri.dat",
        "lwsstart.dat",
        "trws.dat",
        "escruri.dat",
        "baddate.dat",
        "regbadct.dat",
        "badaspec.dat",
        "baddn.dat",
        "badvers.dat",
        "mismatch01.dat",
        "mismatch02.dat",
        "multi01.dat",
        "mcl01.dat",
        "intmeth.dat",
        "esc02.dat",
    ] {
        let e = parse_err(&format!("rfc4475/{file}"));
        let bytes = reply::for_error(&e).unwrap_or_else(|| panic!("{file}: no reply ({e})"));
        let status = e.status().unwrap();
        assert!(
            bytes.starts_with(format!("SIP/2.0 {status} ").as_bytes()),
            "{file}"
        );
        assert!(bytes.ends_with(b"Content-Length: 0\r\n\r\n"), "{file}");
    }
    assert!(parse_err("rfc4475/insuf.dat").reply_context().is_none());
    let e = parse_err("rfc4475/badvers.dat");
    assert!(matches!(e, ParseError::VersionNotSupported { .. }), "{e}");
    let e = parse_err("rfc4475/mismatch02.dat");
    assert!(matches!(&e, ParseError::UnknownMethod { method, .. } if method == "NEWMETHOD"));
    for file in ["scalarlg.dat", "bigcode.dat"] {
        let e = parse_err(&format!("rfc4475/{file}"));
        assert!(e.is_response(), "{file}");
        assert!(reply::for_error(&e).is_none());
    }
}

#[test]
fn extension_methods_are_well_formed_501s() {
    for (file, method) in [
        ("intmeth.dat", "!interesting-Method0123456789_*+`.%indeed'~"),
        ("esc02.dat", "RE%47IST%45R"),
    ] {
        let e = parse_err(&format!("rfc4475/{file}"));
        match &e {
            ParseError::UnknownMethod { method: m, .. } => assert_eq!(m, method),
            other => panic!("{file}: {other}"),
        }
        assert_eq!(e.status(), Some(501));
        // The endpoint adds Allow to its 501.
        let allow = Header::Allow(rsip::headers::Allow::new(
            "INVITE, ACK, BYE, CANCEL, OPTIONS",
        ));
        let bytes =
            reply::stateless_with(e.reply_context().unwrap(), 501, "Not Implemented", &[allow]);
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            text.contains("\r\nAllow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n"),
            "{text}"
        );
    }
}

#[test]
fn baddn_both_readings() {
    let bytes = read("rfc4475/baddn.dat");
    assert!(
        !bytes.ends_with(b"\r\n\r\n"),
        "the RFC archive copy has no empty line"
    );
    let mut terminated = bytes.clone();
    terminated.extend_from_slice(b"\r\n");
    for (what, b) in [("as archived", &bytes), ("with CRLF appended", &terminated)] {
        let e = parse_datagram(b)
            .err()
            .unwrap_or_else(|| panic!("baddn {what}: accepted"));
        assert_eq!(e.status(), Some(400), "baddn {what}: {e}");
        assert!(
            matches!(e.problem(), Some(Problem::BadHeader { header: "From", .. })),
            "baddn {what}: {e}"
        );
        assert!(e.reply_context().is_some());
    }
}

#[test]
fn uas_verdicts_carry_their_headers() {
    let allow = allow_all();
    let r = check_uas_acceptable(&parse_ok("rfc4475/bext01.dat"), &allow).unwrap_err();
    assert_eq!(r.status, 420);
    let unsupported: Vec<String> = r.extra_headers.iter().map(ToString::to_string).collect();
    assert_eq!(
        unsupported,
        ["Unsupported: nothingSupportsThis, nothingSupportsThisEither"]
    );
    let r = check_uas_acceptable(&parse_ok("rfc4475/invut.dat"), &allow).unwrap_err();
    assert_eq!(r.extra_headers[0].to_string(), "Accept: application/sdp");
    let r = check_uas_acceptable(&parse_ok("rfc4475/sdp01.dat"), &allow).unwrap_err();
    assert_eq!(r.status, 406);
    // Max-Forwards: 0 is fine for an endpoint.
    let inc = parse_ok("rfc4475/zeromf.dat");
    assert_eq!(inc.head.max_forwards, Some(0));
}

fn answer(rel: &str) -> Result<MediaAnswer, SdpError> {
    let inc = parse_ok(rel);
    sdp::parse_answer(inc.body())
}

#[test]
fn sdp_bodies_of_the_torture_files() {
    // The RFC 4475 SDP: audio 0 and 12 on 49217, plus a video stream.
    for (file, ip) in [
        ("rfc4475/wsinv.dat", "192.0.2.4"),
        ("rfc4475/esc01.dat", "192.0.2.1"),
        ("rfc4475/unreason.dat", "192.0.2.198"),
        ("rfc4475/bcast.dat", "192.0.2.198"),
        ("rfc4475/sdp01.dat", "192.0.2.5"),
        ("rfc4475/inv2543.dat", "192.0.2.5"),
    ] {
        match answer(file) {
            Ok(MediaAnswer::Accepted(a)) => {
                assert_eq!(a.remote, format!("{ip}:49217").parse().unwrap(), "{file}");
                assert_eq!(a.payload_type, 0, "{file}");
            }
            other => panic!("{file}: {other:?}"),
        }
    }
    // mismatch02's body lacks s= and t=.
    let bytes = read("rfc4475/mismatch02.dat");
    let body_at = bytes.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(
        sdp::parse_answer(&bytes[body_at..]),
        Err(SdpError::Missing('s'))
    );
    // RFC 5118: IPv6 c= lines, media-level c=.
    let v6 = parse_datagram(&repaired("fuzz-corpus/rfc5118/ipv6-in-sdp")).unwrap();
    let sd = sdp::parse(v6.body()).unwrap();
    assert_eq!(
        sd.connection.unwrap().address,
        Some("2001:db8::20".parse().unwrap())
    );
    // G.726 only: nothing we offered.
    assert_eq!(sdp::parse_answer(v6.body()), Err(SdpError::NoCommonCodec));
    let mult = parse_datagram(&repaired("fuzz-corpus/rfc5118/mult-ip-in-sdp")).unwrap();
    match sdp::parse_answer(mult.body()) {
        Ok(MediaAnswer::Accepted(a)) => assert_eq!(a.remote, "192.0.2.1:22334".parse().unwrap()),
        other => panic!("{other:?}"),
    }
    let mapped = parse_ok("fuzz-corpus/rfc5118/ipv4-mapped-ipv6");
    let sd = sdp::parse(mapped.body()).unwrap();
    assert_eq!(
        sd.connection.unwrap().address,
        Some("::ffff:192.0.2.2".parse().unwrap())
    );
}

/// `rel` with its Content-Length set to the octets actually after the empty line.
fn repaired(rel: &str) -> Vec<u8> {
    let bytes = read(rel);
    let text = String::from_utf8(bytes).expect("RFC 5118 vectors are text");
    let (head, body) = text.split_once("\n\n").expect("an empty line");
    let head: Vec<String> = head
        .lines()
        .map(|l| match l.strip_prefix("Content-Length: ") {
            Some(_) => format!("Content-Length: {}", body.len()),
            None => l.to_owned(),
        })
        .collect();
    format!("{}\n\n{body}", head.join("\n")).into_bytes()
}

/// RFC 5118's intent: everything parses except the unbracketed IPv6 Request-URI (§4.2) and
/// the three-colon reference the RFC 3261 ABNF bug allowed (§4.10, fixed by RFC 5954).
///
/// Two vectors are refused for a reason RFC 5118 did not intend: as stored (bare LF line ends)
/// their Content-Length exceeds the body (268 vs 242 octets, 181 vs 180; with CRLF the bodies
/// would be 251 and 189, so the values were never right), and RFC 3261 §18.3 makes that a
/// 400 over UDP. `rfc5118_ipv6_vectors` checks they parse once Content-Length is repaired.
const RFC5118: &[(&str, Outcome)] = &[
    ("ipv4-mapped-ipv6", Accept),
    ("ipv6-bad", Reject(Some(400))),
    ("ipv6-bug-abnf-3-colons", Reject(Some(400))),
    ("ipv6-correct-abnf-2-colons", Accept),
    ("ipv6-good", Accept),
    ("ipv6-in-sdp", Reject(Some(400))),
    ("mult-ip-in-header", Accept),
    ("mult-ip-in-sdp", Reject(Some(400))),
    ("port-ambiguous", Accept),
    ("port-unambiguous", Accept),
    ("via-received-param-no-delim", Accept),
    ("via-received-param-with-delim", Accept),
];

#[test]
fn rfc5118_ipv6_vectors() {
    let mut failures = Vec::new();
    for (file, want) in RFC5118 {
        let (got, parsed) = outcome(&read(&format!("fuzz-corpus/rfc5118/{file}")));
        if got != *want {
            let detail = parsed.err().map(|e| e.to_string()).unwrap_or_default();
            failures.push(format!("{file}: want {want:?}, got {got:?} {detail}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for file in ["ipv6-in-sdp", "mult-ip-in-sdp"] {
        let e = parse_err(&format!("fuzz-corpus/rfc5118/{file}"));
        assert!(
            matches!(e.problem(), Some(Problem::ContentLengthExceedsBody { .. })),
            "{file}: {e}"
        );
        let fixed = repaired(&format!("fuzz-corpus/rfc5118/{file}"));
        let (got, parsed) = outcome(&fixed);
        assert_eq!(got, Accept, "{file} repaired: {:?}", parsed.err());
    }

    let inc = parse_ok("fuzz-corpus/rfc5118/port-unambiguous");
    let rsip::SipMessage::Request(req) = &inc.msg else {
        panic!()
    };
    assert_eq!(
        sip::msg::uri::to_string(&req.uri),
        "sip:[2001:db8::10]:5070"
    );
    let inc = parse_ok("fuzz-corpus/rfc5118/port-ambiguous");
    let rsip::SipMessage::Request(req) = &inc.msg else {
        panic!()
    };
    assert_eq!(
        req.uri.host_with_port.port, None,
        "2001:db8::10:5070 is one address"
    );
    let inc = parse_ok("fuzz-corpus/rfc5118/mult-ip-in-header");
    assert_eq!(inc.head.top_via_sent_by, "[2001:db8::9:1]:6050");
    let inc = parse_ok("fuzz-corpus/rfc5118/via-received-param-with-delim");
    assert_eq!(
        inc.head.top_via_received.as_deref(),
        Some("[2001:db8::9:255]")
    );
    let inc = parse_ok("fuzz-corpus/rfc5118/ipv6-good");
    assert_eq!(
        inc.head
            .contact
            .as_ref()
            .map(sip::msg::uri::to_string)
            .as_deref(),
        Some("sip:caller@[2001:db8::1]")
    );
}
