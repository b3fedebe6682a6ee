//! Cuts whole SIP messages out of a byte stream (TCP, TLS): RFC 3261 §18.3 framing by
//! Content-Length, RFC 5626 §3.5.1 CRLF keep-alives, and bounded buffering.
//!
//! Sans-IO: [`StreamFramer::push`] the octets a connection read, then call
//! [`StreamFramer::poll`] until it returns `Ok(None)`. Each message comes out whole, exactly as
//! framed, for [`parse_datagram`](super::parse_datagram) to validate: the framer reads only
//! what framing needs (the start line's first octets and Content-Length), so a message that is
//! framed but malformed still gets the 400 the datagram path would give it.
//!
//! A stream cannot be resynchronised once its framing is lost: a missing or unreadable
//! Content-Length, a header section or body over the configured maximum, or octets that cannot
//! begin a start line end the stream with a [`FrameError`]; the connection must be closed.
//! Memory stays bounded: the framer never holds more than the maximum message size plus the
//! octets of the last `push`.

use super::lex::{is_token, is_wsp};
use super::name::{lookup, Name};

/// What a stream yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// One whole message: start line, header section and Content-Length octets of body.
    Message(Vec<u8>),
    /// A double-CRLF keep-alive ping (RFC 5626 §3.5.1): answer with [`PONG`].
    Ping,
    /// A single-CRLF pong answering our ping (on connections we opened).
    Pong,
}

/// The keep-alive ping a client sends on an idle connection.
pub const PING: &[u8] = b"\r\n\r\n";
/// The answer to a ping.
pub const PONG: &[u8] = b"\r\n";

/// Who opened the connection; it decides what a lone CRLF means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The peer connected to us: it may ping, and a CRLF before a start line is ignored
    /// (RFC 3261 §7.5) unless a second one makes it a ping.
    Inbound,
    /// We connected: we ping, and a lone CRLF is the peer's pong.
    Outbound,
}

/// Why a stream's framing was lost; the connection must be closed. The peer's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    #[error("header section exceeds the {max} octet message limit")]
    HeadersTooLarge { max: usize },
    #[error("Content-Length {declared} makes the message exceed the {max} octet limit")]
    BodyTooLarge { declared: u64, max: usize },
    #[error("message without Content-Length, which streams require (RFC 3261 §18.3)")]
    MissingContentLength,
    #[error("Content-Length is not a non-negative decimal number")]
    BadContentLength,
    #[error("several Content-Length header fields with different values")]
    ConflictingContentLength,
    #[error("octet {byte:#04x} at stream offset {offset} cannot be part of a start line")]
    Garbage { offset: u64, byte: u8 },
    #[error("the stream ended inside a message ({buffered} octets buffered)")]
    Truncated { buffered: usize },
}

/// Frames one connection's byte stream. See the module documentation for the contract.
#[derive(Debug)]
pub struct StreamFramer {
    origin: Origin,
    max: usize,
    buf: Vec<u8>,
    /// Where the current message (or keep-alive) starts in `buf`.
    start: usize,
    /// Octets of the current header section already searched for its end.
    scanned: usize,
    /// The current message's end in `buf`, once its header section and length are known.
    end: Option<usize>,
    /// The current message's start line has been seen whole and checked.
    start_line_checked: bool,
    /// Stream offset of `buf[0]`, for error reports.
    offset: u64,
    failed: Option<FrameError>,
}

impl StreamFramer {
    /// A framer that refuses messages over `max_message` octets (header section and body).
    pub fn new(origin: Origin, max_message: usize) -> Self {
        Self {
            origin,
            max: max_message,
            buf: Vec::new(),
            start: 0,
            scanned: 0,
            end: None,
            start_line_checked: false,
            offset: 0,
            failed: None,
        }
    }

    /// Appends octets read from the connection. Ignored once framing has failed.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Octets held that have not come out as frames yet.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next frame, `Ok(None)` when more octets are needed. After an error every call
    /// returns the same error.
    pub fn poll(&mut self) -> Result<Option<Frame>, FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let step = self.step();
        match &step {
            Err(e) => {
                self.failed = Some(e.clone());
                self.buf = Vec::new();
                self.start = 0;
            }
            Ok(None) => self.compact(),
            Ok(Some(_)) => {}
        }
        step
    }

    /// The peer closed its side: an error if it stopped inside a message.
    pub fn finish(&self) -> Result<(), FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let rest = self.buf.get(self.start..).unwrap_or(&[]);
        if rest.iter().all(|&b| b == b'\r' || b == b'\n') {
            Ok(())
        } else {
            Err(FrameError::Truncated {
                buffered: rest.len(),
            })
        }
    }

    fn step(&mut self) -> Result<Option<Frame>, FrameError> {
        loop {
            if let Some(end) = self.end {
                let Some(msg) = self.buf.get(self.start..end) else {
                    return Ok(None);
                };
                let msg = msg.to_vec();
                self.start = end;
                self.scanned = end;
                self.end = None;
                self.start_line_checked = false;
                return Ok(Some(Frame::Message(msg)));
            }
            if self.scanned == self.start {
                match self.keepalive() {
                    KeepAlive::Frame(f) => return Ok(Some(f)),
                    KeepAlive::Skipped => continue,
                    KeepAlive::Wait => return Ok(None),
                    KeepAlive::None => {}
                }
            }
            let Some(head_end) = self.find_head_end()? else {
                if self.buffered() > self.max {
                    return Err(FrameError::HeadersTooLarge { max: self.max });
                }
                return Ok(None);
            };
            let head = self.buf.get(self.start..head_end).unwrap_or(&[]);
            if head.len() > self.max {
                return Err(FrameError::HeadersTooLarge { max: self.max });
            }
            let declared = content_length(head)?;
            let room = (self.max - head.len()) as u64;
            if declared > room {
                return Err(FrameError::BodyTooLarge {
                    declared,
                    max: self.max,
                });
            }
            // `declared` fits in the room left under `max`, a usize.
            self.end = Some(head_end + declared as usize);
        }
    }

    /// CR/LF octets where a message would start: pings, pongs, or stray line ends.
    fn keepalive(&mut self) -> KeepAlive {
        let rest = self.buf.get(self.start..).unwrap_or(&[]);
        let (skip, frame) = match rest {
            [] | [b'\r'] | [b'\r', b'\n', b'\r'] => return KeepAlive::Wait,
            [b'\r', b'\n', b'\r', b'\n', ..] => (4, Some(Frame::Ping)),
            [b'\r', b'\n', ..] if self.origin == Origin::Outbound => (2, Some(Frame::Pong)),
            // Inbound, a lone CRLF may be half a ping.
            [b'\r', b'\n'] => return KeepAlive::Wait,
            [b'\r', b'\n', ..] => (2, None),
            [b'\r' | b'\n', ..] => (1, None),
            _ => return KeepAlive::None,
        };
        self.start += skip;
        self.scanned = self.start;
        match frame {
            Some(f) => KeepAlive::Frame(f),
            None => KeepAlive::Skipped,
        }
    }

    /// Searches on from where the last call stopped for the empty line ending the header
    /// section (CRLF CRLF, or bare LFs as the datagram path accepts), checking the start line
    /// on the way. Linear in the octets pushed, however they were split.
    fn find_head_end(&mut self) -> Result<Option<usize>, FrameError> {
        let mut i = self.scanned;
        while let Some(&b) = self.buf.get(i) {
            if !self.start_line_checked {
                if !start_line_octet(b, i == self.start) {
                    return Err(FrameError::Garbage {
                        offset: self.offset + i as u64,
                        byte: b,
                    });
                }
                self.start_line_checked = b == b'\n';
            }
            if b == b'\n' {
                match self.buf.get(i + 1..i + 3) {
                    Some([b'\n', _]) => return Ok(Some(i + 2)),
                    Some([b'\r', b'\n']) => return Ok(Some(i + 3)),
                    Some(_) => {}
                    None if self.buf.get(i + 1) == Some(&b'\n') => return Ok(Some(i + 2)),
                    // The octets that decide are not here yet: look at this LF again.
                    None => break,
                }
            }
            i += 1;
        }
        self.scanned = i;
        Ok(None)
    }

    /// Drops consumed octets so the buffer holds only the message in progress.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.offset += self.start as u64;
            self.scanned -= self.start;
            self.end = self.end.map(|e| e - self.start);
            self.start = 0;
        }
    }
}

enum KeepAlive {
    Frame(Frame),
    Skipped,
    Wait,
    None,
}

/// Whether `b` may appear in a start line: a method or `SIP/` starts with a token octet, and
/// no control octet but HTAB and the CR of the line end belongs in one (UTF-8 reason phrases
/// do).
fn start_line_octet(b: u8, first: bool) -> bool {
    if first {
        return is_token(b);
    }
    !(b < 0x20 && b != b'\t' && b != b'\r' && b != b'\n') && b != 0x7f
}

/// The body length the header section `head` declares. Header lines are unfolded as the
/// datagram framer does; lines that are not `name: value` are left for the validator.
fn content_length(head: &[u8]) -> Result<u64, FrameError> {
    let mut found: Option<u64> = None;
    let mut lines = head.split(|&b| b == b'\n').skip(1).peekable();
    while let Some(line) = lines.next() {
        let Some(value) = content_length_value(line) else {
            continue;
        };
        let mut value = trim(value).to_vec();
        while let Some(fold) = lines.next_if(|l| matches!(l.first(), Some(b' ' | b'\t'))) {
            let more = trim(fold);
            if !more.is_empty() {
                if !value.is_empty() {
                    value.push(b' ');
                }
                value.extend_from_slice(more);
            }
        }
        if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
            return Err(FrameError::BadContentLength);
        }
        // Leading zeros are legal; too many digits for u64 is certainly too large.
        let n = value
            .iter()
            .try_fold(0u64, |n, d| {
                n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            })
            .unwrap_or(u64::MAX);
        match found {
            Some(prev) if prev != n => return Err(FrameError::ConflictingContentLength),
            _ => found = Some(n),
        }
    }
    found.ok_or(FrameError::MissingContentLength)
}

/// The value of a `Content-Length` (or `l`) header line, `None` for any other line.
fn content_length_value(line: &[u8]) -> Option<&[u8]> {
    let name_len = line.iter().position(|&b| !is_token(b))?;
    let (name, rest) = line.split_at(name_len);
    let rest = trim(rest);
    let value = rest.strip_prefix(b":")?;
    let name = std::str::from_utf8(name).ok()?;
    (lookup(name) == Name::ContentLength).then_some(value)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_wsp(*first) && *first != b'\r' {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_wsp(*last) && *last != b'\r' {
            break;
        }
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\
Content-Length: 4\r\n\r\nbody";

    fn all(f: &mut StreamFramer) -> Result<Vec<Frame>, FrameError> {
        let mut out = Vec::new();
        while let Some(frame) = f.poll()? {
            out.push(frame);
        }
        Ok(out)
    }

    fn framer(origin: Origin) -> StreamFramer {
        StreamFramer::new(origin, 1024)
    }

    #[test]
    fn messages_come_out_whole_however_the_stream_is_cut() {
        let mut stream = OPTIONS.to_vec();
        stream.extend_from_slice(OPTIONS);
        let whole = Frame::Message(OPTIONS.to_vec());
        for cut in 0..=stream.len() {
            let mut f = framer(Origin::Inbound);
            f.push(&stream[..cut]);
            let mut got = all(&mut f).unwrap();
            f.push(&stream[cut..]);
            got.extend(all(&mut f).unwrap());
            assert_eq!(got, [whole.clone(), whole.clone()], "cut at {cut}");
            assert_eq!(f.buffered(), 0);
            assert_eq!(f.finish(), Ok(()));
        }
        // One octet at a time.
        let mut f = framer(Origin::Inbound);
        let mut got = Vec::new();
        for b in &stream {
            f.push(std::slice::from_ref(b));
            got.extend(all(&mut f).unwrap());
        }
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn compact_length_and_folded_content_length() {
        for head in ["l: 4", "content-LENGTH :\r\n 4", "Content-Length: 004"] {
            let m = format!("OPTIONS sip:a SIP/2.0\r\n{head}\r\n\r\nbodyNEXT");
            let mut f = framer(Origin::Inbound);
            f.push(m.as_bytes());
            let Ok(Some(Frame::Message(got))) = f.poll() else {
                panic!("{head}: not framed")
            };
            assert!(got.ends_with(b"\r\n\r\nbody"), "{head}");
            assert_eq!(f.buffered(), 4);
        }
        // Bare LF line ends, as the datagram path accepts them.
        let mut f = framer(Origin::Inbound);
        f.push(b"OPTIONS sip:a SIP/2.0\nl: 1\n\nxy");
        assert_eq!(
            f.poll(),
            Ok(Some(Frame::Message(
                b"OPTIONS sip:a SIP/2.0\nl: 1\n\nx".to_vec()
            )))
        );
    }

    #[test]
    fn pings_pongs_and_stray_line_ends() {
        let mut f = framer(Origin::Inbound);
        f.push(b"\r\n");
        assert_eq!(f.poll(), Ok(None), "half a ping");
        f.push(b"\r\n\r\n\r\n");
        assert_eq!(all(&mut f).unwrap(), [Frame::Ping, Frame::Ping]);
        f.push(b"\r\n");
        f.push(OPTIONS);
        assert_eq!(
            all(&mut f).unwrap(),
            [Frame::Message(OPTIONS.to_vec())],
            "a CRLF before a start line is ignored"
        );

        let mut f = framer(Origin::Outbound);
        f.push(b"\r\n");
        assert_eq!(f.poll(), Ok(Some(Frame::Pong)));
        f.push(b"\r\n");
        f.push(OPTIONS);
        assert_eq!(
            all(&mut f).unwrap(),
            [Frame::Pong, Frame::Message(OPTIONS.to_vec())]
        );
    }

    #[test]
    fn framing_errors_close_the_stream_for_good() {
        let cases: &[(&[u8], FrameError)] = &[
            (
                b"OPTIONS sip:a SIP/2.0\r\nVia: x\r\n\r\n",
                FrameError::MissingContentLength,
            ),
            (
                b"OPTIONS sip:a SIP/2.0\r\nl: -1\r\n\r\n",
                FrameError::BadContentLength,
            ),
            (
                b"OPTIONS sip:a SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\n",
                FrameError::ConflictingContentLength,
            ),
            (
                b"OPTIONS sip:a SIP/2.0\r\nl: 1021\r\n\r\n",
                FrameError::BodyTooLarge {
                    declared: 1021,
                    max: 1024,
                },
            ),
            (
                b"OPTIONS sip:a SIP/2.0\r\nl: 99999999999999999999999\r\n\r\n",
                FrameError::BodyTooLarge {
                    declared: u64::MAX,
                    max: 1024,
                },
            ),
            (
                b"\x16\x03\x01\x02\x00",
                FrameError::Garbage {
                    offset: 0,
                    byte: 0x16,
                },
            ),
            (
                b"\r\n\r\nOPTIONS sip:a\0",
                FrameError::Garbage {
                    offset: 17,
                    byte: 0,
                },
            ),
        ];
        for (bytes, want) in cases {
            let mut f = framer(Origin::Inbound);
            f.push(bytes);
            let got = all(&mut f);
            assert_eq!(
                got.as_ref().err(),
                Some(want),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
            f.push(OPTIONS);
            assert_eq!(f.poll().as_ref().err(), Some(want), "stays failed");
            assert_eq!(f.buffered(), 0, "and holds nothing");
        }
    }

    #[test]
    fn buffering_is_bounded_before_the_header_section_ends() {
        let mut f = framer(Origin::Inbound);
        f.push(b"OPTIONS sip:a SIP/2.0\r\n");
        let line = b"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        let mut result = Ok(None);
        for _ in 0..40 {
            f.push(line);
            result = f.poll();
            if result.is_err() {
                break;
            }
            assert!(f.buffered() <= 1024);
        }
        assert_eq!(result, Err(FrameError::HeadersTooLarge { max: 1024 }));
    }

    #[test]
    fn a_stream_that_stops_inside_a_message_is_truncated() {
        let mut f = framer(Origin::Inbound);
        f.push(&OPTIONS[..OPTIONS.len() - 1]);
        assert_eq!(f.poll(), Ok(None));
        assert_eq!(
            f.finish(),
            Err(FrameError::Truncated {
                buffered: OPTIONS.len() - 1
            })
        );
        let mut f = framer(Origin::Inbound);
        f.push(b"\r\n");
        assert_eq!(f.poll(), Ok(None));
        assert_eq!(f.finish(), Ok(()));
    }
}
