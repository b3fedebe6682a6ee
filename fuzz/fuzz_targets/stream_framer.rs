//! Fuzzes the stream framer as a TCP/TLS connection feeds it: the input is cut into chunks
//! (sizes taken from its first octets), framed, and every message that comes out goes through
//! the datagram receive path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sip::msg::{parse_datagram, Frame, Origin, StreamFramer};

/// Small, so the size limits are reached often.
const MAX: usize = 4096;

fn run(origin: Origin, chunks: &[&[u8]]) -> (Vec<Frame>, Option<sip::msg::FrameError>) {
    let mut f = StreamFramer::new(origin, MAX);
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
        // Bounded: never more than the limit plus the chunk just pushed.
        assert!(f.buffered() <= MAX + chunk.len(), "framer holds too much");
    }
    (frames, f.finish().err())
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, data)) = data.split_first() else {
        return;
    };
    let origin = if control & 1 == 0 {
        Origin::Inbound
    } else {
        Origin::Outbound
    };
    let step = usize::from(control >> 1) + 1;
    let chunks: Vec<&[u8]> = data.chunks(step).collect();
    let split = run(origin, &chunks);
    // However the stream is cut, the same frames come out.
    assert_eq!(split, run(origin, &[data]), "chunking changed the frames");
    for frame in split.0 {
        if let Frame::Message(m) = frame {
            assert!(m.len() <= MAX, "a message over the limit came out");
            let _ = parse_datagram(&m);
        }
    }
});
