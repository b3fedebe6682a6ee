//! A guard in front of the WebSocket decoder: it reads each frame's header as the bytes go
//! by (RFC 6455 §5.2) and fails the stream as soon as a frame, or the message it continues,
//! announces more than the limit — before any of its payload is buffered. actix-http's own
//! size check runs only once a frame has arrived whole, so without this a client announcing
//! 1 GiB could make the node buffer it.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::error::PayloadError;
use actix_web::web::Bytes;
use futures_util::Stream;

/// Why the guard stopped the stream.
pub const TOO_BIG: &str = "a WebSocket frame or message is larger than the node accepts";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a header: `have` of its bytes so far.
    Header,
    /// Skipping a payload: this many bytes left.
    Payload(u64),
    /// Refused: the stream is over.
    Failed,
}

/// The header parser, apart from the stream so it can be tested byte by byte.
#[derive(Debug, Clone)]
pub struct FrameSizes {
    max: u64,
    state: State,
    head: [u8; 14],
    have: usize,
    /// Bytes of the data message under way (text or binary and its continuations).
    message: u64,
}

impl FrameSizes {
    pub fn new(max: u64) -> Self {
        FrameSizes {
            max,
            state: State::Header,
            head: [0; 14],
            have: 0,
            message: 0,
        }
    }

    /// Follows `bytes`; false once a frame or message is over the limit.
    pub fn feed(&mut self, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() {
            match self.state {
                State::Failed => return false,
                State::Payload(left) => {
                    let n = (bytes.len() as u64).min(left);
                    bytes = &bytes[n as usize..];
                    self.state = if left == n {
                        State::Header
                    } else {
                        State::Payload(left - n)
                    };
                }
                State::Header => {
                    self.head[self.have] = bytes[0];
                    self.have += 1;
                    bytes = &bytes[1..];
                    if let Some(len) = self.header_done() {
                        self.have = 0;
                        if !self.frame(len) {
                            self.state = State::Failed;
                            return false;
                        }
                    }
                }
            }
        }
        self.state != State::Failed
    }

    /// The payload length, once the header is complete.
    fn header_done(&self) -> Option<u64> {
        if self.have < 2 {
            return None;
        }
        let masked = self.head[1] & 0x80 != 0;
        let (ext, len7) = match self.head[1] & 0x7f {
            126 => (2, None),
            127 => (8, None),
            n => (0, Some(u64::from(n))),
        };
        let total = 2 + ext + if masked { 4 } else { 0 };
        if self.have < total {
            return None;
        }
        Some(match len7 {
            Some(n) => n,
            None if ext == 2 => u64::from(u16::from_be_bytes([self.head[2], self.head[3]])),
            None => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&self.head[2..10]);
                u64::from_be_bytes(b)
            }
        })
    }

    /// Accounts a frame whose header announced `len`; false if over the limit.
    fn frame(&mut self, len: u64) -> bool {
        let fin = self.head[0] & 0x80 != 0;
        let opcode = self.head[0] & 0x0f;
        if len > self.max {
            return false;
        }
        if opcode < 8 {
            // Data: 0 continues the message, 1 (text) and 2 (binary) start one.
            self.message = if opcode == 0 {
                self.message.saturating_add(len)
            } else {
                len
            };
            if self.message > self.max {
                return false;
            }
            if fin {
                self.message = 0;
            }
        }
        self.state = if len == 0 {
            State::Header
        } else {
            State::Payload(len)
        };
        true
    }
}

/// A request body stream with [`FrameSizes`] watching it.
pub struct FrameGuard<S> {
    inner: S,
    sizes: FrameSizes,
}

impl<S> FrameGuard<S> {
    pub fn new(inner: S, max: u64) -> Self {
        FrameGuard {
            inner,
            sizes: FrameSizes::new(max),
        }
    }
}

impl<S> Stream for FrameGuard<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.sizes.state == State::Failed {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(bytes))) => {
                if this.sizes.feed(&bytes) {
                    Poll::Ready(Some(Ok(bytes)))
                } else {
                    Poll::Ready(Some(Err(PayloadError::Overflow)))
                }
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame header announcing `len` (payload not included).
    fn header(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
        let mut h = vec![if fin { 0x80 } else { 0 } | opcode];
        if len < 126 {
            h.push(0x80 | len as u8);
        } else if len <= u64::from(u16::MAX) {
            h.push(0x80 | 126);
            h.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            h.push(0x80 | 127);
            h.extend_from_slice(&len.to_be_bytes());
        }
        h.extend_from_slice(&[1, 2, 3, 4]);
        h
    }

    #[test]
    fn a_huge_frame_is_refused_from_its_header_alone() {
        let mut g = FrameSizes::new(65_536);
        let h = header(true, 1, 1 << 30);
        // Byte by byte: refused the moment the length and mask are in.
        for (i, b) in h.iter().enumerate() {
            let ok = g.feed(&[*b]);
            assert_eq!(ok, i + 1 < h.len(), "byte {i}");
        }
        assert!(!g.feed(b"more"), "stays refused");
    }

    #[test]
    fn frames_within_the_limit_pass_in_any_split() {
        let mut stream = Vec::new();
        for len in [0u64, 5, 125, 126, 65_535, 65_536] {
            stream.extend(header(true, 1, len));
            stream.extend(std::iter::repeat_n(b'x', len as usize));
        }
        stream.extend(header(true, 9, 3)); // a ping
        stream.extend_from_slice(b"abc");
        for chunk in [1, 7, 1000, stream.len()] {
            let mut g = FrameSizes::new(65_536);
            assert!(stream.chunks(chunk).all(|c| g.feed(c)), "chunks of {chunk}");
        }
    }

    #[test]
    fn a_message_in_many_small_frames_is_counted_whole() {
        let mut g = FrameSizes::new(1000);
        let mut s = header(false, 1, 600);
        s.extend(vec![b'x'; 600]);
        assert!(g.feed(&s));
        let mut s = header(true, 0, 600);
        s.extend(vec![b'x'; 600]);
        assert!(!g.feed(&s), "600 + 600 > 1000");
        let mut g = FrameSizes::new(1000);
        for _ in 0..3 {
            let mut s = header(true, 1, 600);
            s.extend(vec![b'x'; 600]);
            assert!(g.feed(&s), "separate messages each fit");
        }
    }
}
