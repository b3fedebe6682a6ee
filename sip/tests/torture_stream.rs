//! The RFC 4475 torture messages and the whole fuzz corpus fed through the stream framer as a
//! TCP/TLS connection would deliver them: whole, cut at every octet boundary, one octet at a
//! time and in random chunks. A message the framer cuts out gets exactly the verdict the
//! datagram path gives; the only differences are the ones RFC 3261 §18.3 makes (a stream needs
//! a usable Content-Length and a complete message), each listed below with its reason.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use sip::msg::rsip::Method;
use sip::msg::{
    check_uas_acceptable, parse_datagram, Frame, FrameError, Origin, StreamFramer,
    MAX_MESSAGE_OCTETS,
};

mod support;
use support::corpus::{corpus_dir, datagrams_of, files_under, read, torture_dir};

/// What the receive path does with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Accept,
    Refuse(u16),
    Reject(Option<u16>),
}

fn verdict(bytes: &[u8]) -> Verdict {
    match parse_datagram(bytes) {
        Ok(inc) => match check_uas_acceptable(&inc, &Method::all()) {
            Ok(()) => Verdict::Accept,
            Err(r) => Verdict::Refuse(r.status),
        },
        Err(e) => Verdict::Reject(e.status()),
    }
}

/// What a connection carrying `chunks` yields: its frames, and the error that closed it.
fn frame_chunks<'a>(
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> (Vec<Frame>, Option<FrameError>) {
    let mut f = StreamFramer::new(Origin::Inbound, MAX_MESSAGE_OCTETS);
    let mut frames = Vec::new();
    for chunk in chunks {
        f.push(chunk);
        loop {
            match f.poll() {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(e) => return (frames, Some(e)),
            }
        }
    }
    (frames, f.finish().err())
}

fn frame_whole(bytes: &[u8]) -> (Vec<Frame>, Option<FrameError>) {
    frame_chunks([bytes])
}

fn messages(frames: &[Frame]) -> Vec<&[u8]> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::Message(m) => Some(m.as_slice()),
            _ => None,
        })
        .collect()
}

/// Where the stream path must differ from the datagram path, and why.
fn stream_only(file: &str) -> Option<FrameError> {
    Some(match file {
        // No Content-Length: over UDP the body runs to the datagram's end; a stream has none.
        "inv2543.dat" => FrameError::MissingContentLength,
        // Content-Length: -999 cannot frame anything.
        "ncl.dat" => FrameError::BadContentLength,
        // Content-Length 9999 with 154 octets of body: the stream waits, then ends mid-body.
        "clerr.dat" => FrameError::Truncated { buffered: 0 },
        // Two different Content-Lengths: no way to know where the next message starts.
        "mcl01.dat" => FrameError::ConflictingContentLength,
        // The archived copy has no empty line: the header section never ends.
        "baddn.dat" => FrameError::Truncated { buffered: 0 },
        _ => return None,
    })
}

fn same_kind(a: &FrameError, b: &FrameError) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

fn rfc4475_files() -> Vec<(String, Vec<u8>)> {
    let dir = torture_dir().join("rfc4475");
    let files: Vec<_> = files_under(&dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dat"))
        .collect();
    assert_eq!(files.len(), 50, "RFC 4475 has 50 .dat files");
    files
        .iter()
        .map(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            (name.unwrap_or_default(), read(p))
        })
        .collect()
}

#[test]
fn every_rfc4475_message_gets_its_datagram_verdict_over_a_stream() {
    let mut failures = Vec::new();
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for (file, bytes) in rfc4475_files() {
        let want = verdict(&bytes);
        let (frames, error) = frame_whole(&bytes);
        let msgs = messages(&frames);
        match (stream_only(&file), msgs.first(), &error) {
            (Some(expected), _, Some(got)) if same_kind(&expected, got) => {
                *tally.entry(format!("closed: {got}")).or_default() += 1;
            }
            (None, Some(first), _) => {
                let got = verdict(first);
                if got != want {
                    failures.push(format!("{file}: datagram {want:?}, stream {got:?}"));
                }
                *tally.entry(format!("{got:?}")).or_default() += 1;
            }
            other => failures.push(format!("{file}: unexpected {other:?}")),
        }
        // Only dblreq.dat carries a second message (see below); nothing else may leave
        // octets behind or fail after its first message.
        if stream_only(&file).is_none()
            && file != "dblreq.dat"
            && (msgs.len(), &error) != (1, &None)
        {
            failures.push(format!("{file}: {} messages, {error:?}", msgs.len()));
        }
    }
    eprintln!("RFC 4475 over a stream: {tally:#?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn dblreq_is_two_messages_on_a_stream() {
    let bytes = read(&torture_dir().join("rfc4475/dblreq.dat"));
    let (frames, error) = frame_whole(&bytes);
    // The INVITE declares 150 octets of body and carries 155: on a stream the last five
    // start a third message, which has no Content-Length.
    assert_eq!(error, Some(FrameError::MissingContentLength));
    let msgs = messages(&frames);
    let heads: Vec<_> = msgs
        .iter()
        .map(|m| parse_datagram(m).map(|i| i.head.method))
        .collect();
    assert!(
        matches!(
            heads.as_slice(),
            [Ok(Some(Method::Register)), Ok(Some(Method::Invite))]
        ),
        "{heads:?}"
    );
}

#[test]
fn torture_messages_frame_the_same_cut_at_every_octet() {
    let all = rfc4475_files();
    // Folding and compact forms, a binary body, two messages in one stream, escapes.
    for name in [
        "wsinv.dat",
        "mpart01.dat",
        "dblreq.dat",
        "esc01.dat",
        "unreason.dat",
    ] {
        let (_, bytes) = all
            .iter()
            .find(|(f, _)| f == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        let whole = frame_whole(bytes);
        for cut in 0..=bytes.len() {
            let (a, b) = bytes.split_at(cut);
            assert_eq!(frame_chunks([a, b]), whole, "{name} cut at {cut}");
        }
        let one_by_one = frame_chunks(bytes.chunks(1));
        assert_eq!(one_by_one, whole, "{name} one octet at a time");
    }
    // Every file, one octet at a time, frames as it does whole.
    for (name, bytes) in &all {
        assert_eq!(frame_chunks(bytes.chunks(1)), frame_whole(bytes), "{name}");
    }
}

#[test]
fn the_torture_set_back_to_back_on_one_connection() {
    let mut stream = Vec::new();
    let mut want = Vec::new();
    for (file, bytes) in rfc4475_files() {
        if stream_only(&file).is_some() || file == "dblreq.dat" {
            continue;
        }
        let (frames, _) = frame_whole(&bytes);
        let first = messages(&frames)[0].to_vec();
        want.push((file, verdict(&first)));
        stream.extend_from_slice(&first);
        // A keep-alive between some of them, as an idle client would send.
        if want.len() % 7 == 0 {
            stream.extend_from_slice(b"\r\n\r\n");
        }
    }
    let (frames, error) = frame_chunks(stream.chunks(1000));
    assert_eq!(error, None);
    let got: Vec<_> = messages(&frames).into_iter().map(verdict).collect();
    let want_verdicts: Vec<_> = want.iter().map(|(_, v)| *v).collect();
    assert_eq!(got, want_verdicts);
    let pings = frames.iter().filter(|f| **f == Frame::Ping).count();
    assert_eq!(pings, want.len() / 7);
}

/// xorshift64*, so a failing chunking reproduces.
fn chunk_sizes(mut state: u64) -> impl FnMut() -> usize {
    move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) % 97) as usize + 1
    }
}

fn chunked(bytes: &[u8], next: &mut impl FnMut() -> usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (a, b) = rest.split_at(next().min(rest.len()));
        out.push(a.to_vec());
        rest = b;
    }
    out
}

#[test]
fn the_fuzz_corpus_over_a_stream() {
    let mut next = chunk_sizes(0x9e37_79b9_7f4a_7c15);
    let mut failures = Vec::new();
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    let mut datagrams = 0;
    for path in files_under(&corpus_dir()) {
        for (name, bytes) in datagrams_of(&path) {
            datagrams += 1;
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let whole = frame_whole(&bytes);
                let chunks = chunked(&bytes, &mut next);
                let split = frame_chunks(chunks.iter().map(Vec::as_slice));
                (whole, split)
            }));
            let Ok((whole, split)) = outcome else {
                failures.push(format!("{name}: panicked"));
                continue;
            };
            if whole != split {
                failures.push(format!("{name}: chunking changed the frames"));
            }
            let (frames, error) = whole;
            match messages(&frames).first() {
                Some(first) => {
                    let (want, got) = (verdict(&bytes), verdict(first));
                    if want != got {
                        failures.push(format!("{name}: datagram {want:?}, stream {got:?}"));
                    }
                    *tally.entry("framed, same verdict".into()).or_default() += 1;
                }
                None => {
                    let e = format!("{error:?}");
                    let kind = e.split([' ', '{', '(', ')']).nth(1).unwrap_or_default();
                    *tally.entry(format!("closed: {kind}")).or_default() += 1;
                }
            }
        }
    }
    eprintln!("{datagrams} corpus datagrams over a stream: {tally:#?}");
    assert!(datagrams > 8000, "corpus looks incomplete: {datagrams}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
