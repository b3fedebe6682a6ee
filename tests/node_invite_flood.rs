//! A flood of unsolicited INVITEs at a running node, from one raw UDP socket on loopback: the
//! node answers at most once per request (no 100 Trying, no retransmitted 403s: it must not be
//! a reflector), a source over its rate is dropped silently while another source is still
//! answered, and the node's resident memory does not grow with the flood (no transaction or
//! dialog is kept for a stranger's INVITE). The figures go to stderr for bench/README.md.

mod support;

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc;
use std::time::Duration;

use support::node::{MppConf, Node};
use support::wall_now;

/// INVITEs in the flood.
const FLOOD: usize = 5_000;
/// Replies are counted until the node has been silent this long: longer than T2 (4 s), the
/// longest gap between two retransmissions of a final response, so none is missed.
const QUIET: Duration = Duration::from_millis(4_500);
/// The most the node's resident memory may grow over the flood.
const MAX_RSS_GROWTH_KIB: u64 = 4 * 1024;

fn invite(from: SocketAddr, to: SocketAddr, i: usize) -> Vec<u8> {
    format!(
        "INVITE sip:+15550{i:05}@{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {from};branch=z9hG4bKflood{i}x\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:attacker@{from}>;tag=f{i}\r\n\
         To: <sip:+15550{i:05}@{to}>\r\n\
         Call-ID: flood-{i}@{from}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:attacker@{from}>\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// VmRSS of `pid` in KiB, from /proc.
fn vm_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in /proc/{pid}/status"))
}

/// What the reader thread saw: replies by status, and when the last one came.
struct Replies {
    by_status: BTreeMap<u16, u64>,
    total: u64,
}

/// Counts every datagram on `sock` until it has been silent for [`QUIET`] after `go` fires
/// (the flood is out), bounded by `limit`.
fn count_replies(sock: UdpSocket, go: mpsc::Receiver<()>, limit: Duration) -> Replies {
    let mut r = Replies {
        by_status: BTreeMap::new(),
        total: 0,
    };
    let start = wall_now();
    let mut flood_done = false;
    let mut buf = [0u8; 65_535];
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .expect("read timeout");
    let mut last = wall_now();
    while wall_now().duration_since(start) < limit {
        if !flood_done && go.try_recv().is_ok() {
            flood_done = true;
            last = wall_now();
        }
        match sock.recv_from(&mut buf) {
            Ok((n, _)) => {
                last = wall_now();
                r.total += 1;
                let status = std::str::from_utf8(&buf[..n])
                    .ok()
                    .and_then(|t| t.strip_prefix("SIP/2.0 "))
                    .and_then(|t| t.get(..3))
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                *r.by_status.entry(status).or_default() += 1;
            }
            Err(_) if flood_done && wall_now().duration_since(last) >= QUIET => break,
            Err(_) => {}
        }
    }
    r
}

/// One INVITE from a fresh socket on `ip`: the first final status that comes back.
fn one_invite_from(ip: &str, node: SocketAddr) -> Option<u16> {
    let sock = UdpSocket::bind(format!("{ip}:0")).expect("bind a second source");
    let me = sock.local_addr().expect("addr");
    sock.send_to(&invite(me, node, 99_999), node)
        .expect("send INVITE");
    sock.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("read timeout");
    let mut buf = [0u8; 65_535];
    while let Ok((n, _)) = sock.recv_from(&mut buf) {
        let status: u16 = std::str::from_utf8(&buf[..n])
            .ok()?
            .strip_prefix("SIP/2.0 ")?
            .get(..3)?
            .parse()
            .ok()?;
        if status >= 200 {
            return Some(status);
        }
    }
    None
}

#[test]
fn an_invite_flood_is_not_amplified_and_does_not_grow_the_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The node's media server: a socket that takes its OPTIONS and never answers.
    let mpp = UdpSocket::bind("127.0.0.1:0").expect("bind the media server");
    let mpp_addr = mpp.local_addr().expect("addr");
    let node = Node::start(dir.path(), "flood", &[MppConf::new("gw", mpp_addr, 5_000)]);
    let pid = node.pid().expect("the node runs");
    let rss_before = vm_rss_kib(pid);

    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind the flooder");
    let me = sock.local_addr().expect("addr");
    let (go_tx, go_rx) = mpsc::channel();
    let reader = {
        let sock = sock.try_clone().expect("clone the socket");
        std::thread::spawn(move || count_replies(sock, go_rx, Duration::from_secs(90)))
    };
    let started = wall_now();
    for i in 0..FLOOD {
        sock.send_to(&invite(me, node.sip, i), node.sip)
            .expect("send INVITE");
    }
    let sent_in = wall_now().duration_since(started);
    let _ = go_tx.send(());
    let replies = reader.join().expect("the reader thread");
    let quiet_at = wall_now().duration_since(started);
    let rss_after = vm_rss_kib(pid);
    let second_source = one_invite_from("127.0.0.2", node.sip);

    let growth = rss_after.saturating_sub(rss_before);
    eprintln!(
        "invite_flood,requests,{FLOOD}\ninvite_flood,replies,{}\ninvite_flood,replies_per_request,{:.4}\n\
         invite_flood,replies_by_status,{:?}\ninvite_flood,send_ms,{}\ninvite_flood,silent_after_ms,{}\n\
         invite_flood,rss_before_kib,{rss_before}\ninvite_flood,rss_after_kib,{rss_after}\n\
         invite_flood,rss_growth_kib,{growth}\ninvite_flood,second_source,{second_source:?}",
        replies.total,
        replies.total as f64 / FLOOD as f64,
        replies.by_status,
        sent_in.as_millis(),
        // The quiet period itself is not the node's time.
        quiet_at.saturating_sub(QUIET).as_millis(),
    );
    assert!(
        replies.total <= FLOOD as u64,
        "{} replies to {FLOOD} INVITEs: the node amplifies a flood ({:?})",
        replies.total,
        replies.by_status
    );
    assert!(
        replies.by_status.keys().all(|s| *s == 403),
        "only stateless 403s are sent to a stranger: {:?}",
        replies.by_status
    );
    assert!(
        replies.total > 0,
        "the first INVITEs of a source are answered"
    );
    assert!(
        replies.total < FLOOD as u64 / 10,
        "a source over its rate is dropped: {} replies",
        replies.total
    );
    assert_eq!(
        second_source,
        Some(403),
        "another source is still answered while the flooder is dropped"
    );
    let dropped = node.metric("outdial_sip_guard_dropped_total");
    assert!(
        dropped > 0 && node.metric("outdial_sip_guard_bans_total") >= 1,
        "the guard's drops ({dropped}) and its ban show in /metrics"
    );
    assert!(
        growth <= MAX_RSS_GROWTH_KIB,
        "the node grew by {growth} KiB over the flood ({rss_before} → {rss_after} KiB)"
    );
    drop(mpp);
}
