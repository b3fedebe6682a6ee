//! Hostile clients for the security tests: a request whose body is streamed from a thread
//! (to see when the node answers, and how much it read first), a raw WebSocket that announces
//! a huge frame, and the node's memory around an attack.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::node::Node;
use super::wall_now;

/// What the node did with a streamed request.
#[derive(Debug)]
pub struct Streamed {
    /// The status it answered (0 if none).
    pub status: u16,
    /// The answer's text (head and body).
    pub answer: String,
    /// From the first byte sent to the first byte of the answer.
    pub answered_after: Duration,
    /// Body bytes written before the answer came (what the node could have read).
    pub sent_before_answer: u64,
}

/// Sends `head` (ending in a blank line), then streams `total` body bytes made of `unit`
/// repeated, `chunked` or raw; reads the answer while still sending.
pub fn stream_request(
    api: SocketAddr,
    head: &str,
    unit: &[u8],
    total: u64,
    chunked: bool,
) -> Streamed {
    let mut s = TcpStream::connect_timeout(&api, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(120)))
        .expect("timeout");
    let start = wall_now();
    s.write_all(head.as_bytes()).expect("send the head");
    let sent = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut w = s.try_clone().expect("clone");
    // Whole units per block, so the body is `unit` repeated however it is cut.
    let per_block = (64 * 1024 / unit.len().max(1)).max(1) * unit.len();
    let block: Vec<u8> = unit.iter().copied().cycle().take(per_block).collect();
    let writer = {
        let (sent, stop) = (Arc::clone(&sent), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut left = total;
            while left > 0 && !stop.load(Ordering::Relaxed) {
                let n = left.min(block.len() as u64) as usize;
                let ok = if chunked {
                    w.write_all(format!("{n:x}\r\n").as_bytes())
                        .and_then(|()| w.write_all(&block[..n]))
                        .and_then(|()| w.write_all(b"\r\n"))
                } else {
                    w.write_all(&block[..n])
                };
                if ok.is_err() {
                    return;
                }
                left -= n as u64;
                sent.fetch_add(n as u64, Ordering::Relaxed);
            }
            if chunked && !stop.load(Ordering::Relaxed) {
                let _ = w.write_all(b"0\r\n\r\n");
            }
        })
    };
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    let mut first = None;
    let mut sent_before = 0;
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if first.is_none() {
                    first = Some(wall_now());
                    sent_before = sent.load(Ordering::Relaxed);
                }
                answer.extend_from_slice(&buf[..n]);
                if complete(&answer) {
                    break;
                }
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = s.shutdown(Shutdown::Both);
    let _ = writer.join();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Streamed {
        status,
        answer,
        answered_after: first.map_or(Duration::MAX, |f| f.duration_since(start)),
        sent_before_answer: sent_before,
    }
}

/// Whether an HTTP answer has arrived whole (by its Content-Length).
fn complete(raw: &[u8]) -> bool {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    len.is_some_and(|n| raw.len() >= end + 4 + n)
}

/// A request head for `path` with a body of `len` bytes (None: chunked).
pub fn head(
    method: &str,
    path: &str,
    api: SocketAddr,
    headers: &[(&str, &str)],
    len: Option<u64>,
) -> String {
    let mut h = format!("{method} {path} HTTP/1.1\r\nHost: {api}\r\n");
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    match len {
        Some(n) => h.push_str(&format!("Content-Length: {n}\r\n")),
        None => h.push_str("Transfer-Encoding: chunked\r\n"),
    }
    h.push_str("\r\n");
    h
}

/// A WebSocket opened by hand: the upgrade's status line, and the stream if it was accepted.
pub fn ws_open(api: SocketAddr, origin: Option<&str>) -> (String, Option<TcpStream>) {
    let mut s = TcpStream::connect_timeout(&api, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut req = format!(
        "GET /v1/desktop HTTP/1.1\r\nHost: {api}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    );
    if let Some(o) = origin {
        req.push_str(&format!("Origin: {o}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("send the upgrade");
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => break,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let line = head.lines().next().unwrap_or("").to_owned();
    if line.contains(" 101 ") {
        (line, Some(s))
    } else {
        (head, None)
    }
}

/// A masked client frame header (FIN, `opcode`) announcing `len` payload bytes.
pub fn ws_frame_header(opcode: u8, len: u64) -> Vec<u8> {
    let mut h = vec![0x80 | opcode];
    if len < 126 {
        h.push(0x80 | len as u8);
    } else if len <= u64::from(u16::MAX) {
        h.push(0x80 | 126);
        h.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        h.push(0x80 | 127);
        h.extend_from_slice(&len.to_be_bytes());
    }
    h.extend_from_slice(&[0x11, 0x22, 0x33, 0x44]);
    h
}

/// A masked text frame carrying `text`.
pub fn ws_text(text: &str) -> Vec<u8> {
    let mut f = ws_frame_header(1, text.len() as u64);
    let mask = [0x11, 0x22, 0x33, 0x44];
    f.extend(text.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// Growth of the node's resident memory across `attack`: (RSS after - before, peak during -
/// before), KiB. The peak is reset first (`/proc/PID/clear_refs` 5), so it is this attack's.
pub fn growth<T>(node: &Node, attack: impl FnOnce() -> T) -> (T, i64, i64) {
    let pid = node.pid().expect("the node runs");
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
        .unwrap_or_else(|e| panic!("cannot reset the node's peak memory: {e}"));
    let (rss0, _) = node.memory_kib();
    let out = attack();
    let (rss1, hwm1) = node.memory_kib();
    (out, rss1 as i64 - rss0 as i64, hwm1 as i64 - rss0 as i64)
}
