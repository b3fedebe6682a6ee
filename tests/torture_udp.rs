//! Every RFC 4475 torture message over real UDP to `outdial peer`: the verdict of
//! ../shared/torture/rfc4475/EXPECTED.tsv holds, and the endpoint still answers OPTIONS
//! after each one. The data is found through OUTDIAL_TORTURE_DIR (default ../shared/torture)
//! and its absence fails the test.

mod support;

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;
use support::*;

fn torture_dir() -> PathBuf {
    let dir = std::env::var_os("OUTDIAL_TORTURE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("..").join("shared").join("torture"));
    assert!(
        dir.join("rfc4475").join("EXPECTED.tsv").exists(),
        "torture data missing at {} (set OUTDIAL_TORTURE_DIR)",
        dir.display()
    );
    dir
}

/// The first final (non-1xx) response status arriving on `sock` within `limit`.
fn final_status(sock: &UdpSocket, limit: Duration) -> Option<u16> {
    let deadline = wall_now() + limit;
    let mut buf = [0u8; 65_535];
    loop {
        let left = deadline.checked_duration_since(wall_now())?;
        sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .ok()?;
        let (n, _) = sock.recv_from(&mut buf).ok()?;
        let text = String::from_utf8_lossy(&buf[..n]);
        let status: u16 = text.strip_prefix("SIP/2.0 ")?.get(..3)?.parse().ok()?;
        if status >= 200 {
            return Some(status);
        }
    }
}

fn options_answered(peer: SocketAddr) -> bool {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let local = sock.local_addr().expect("addr");
    let msg = format!(
        "OPTIONS sip:{peer} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKprobe{port}\r\nMax-Forwards: 70\r\nFrom: <sip:t@{local}>;tag=t1\r\nTo: <sip:{peer}>\r\nCall-ID: probe-{port}@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
        port = local.port()
    );
    sock.send_to(msg.as_bytes(), peer).expect("send OPTIONS");
    final_status(&sock, Duration::from_secs(2)) == Some(200)
}

#[test]
fn rfc4475_verdicts_over_udp_and_the_endpoint_survives() {
    let dir = torture_dir().join("rfc4475");
    let (mut peer, addr) = outdial_peer(None, None);
    let expected = std::fs::read_to_string(dir.join("EXPECTED.tsv")).expect("EXPECTED.tsv");
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in expected.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, verdict, note) = (cols[0], cols[1], cols.get(4).copied().unwrap_or(""));
        let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let is_response = bytes.starts_with(b"SIP/");
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
        sock.send_to(&bytes, addr).expect("send");
        // Requests get an answer quickly; dropped input is waited for a bounded while.
        let status = final_status(
            &sock,
            Duration::from_millis(if is_response { 200 } else { 700 }),
        );
        let ok = match (verdict, is_response, status) {
            // A response is never answered, whatever its verdict.
            (_, true, s) => s.is_none(),
            ("valid", false, Some(s)) => s != 505 && (s != 400 || note.contains("400")),
            ("valid", false, None) => false,
            // Invalid requests are rejected or dropped, never accepted.
            (_, false, Some(s)) => s >= 400,
            (_, false, None) => true,
        };
        if !ok {
            failures.push(format!("{file} ({verdict}): answered {status:?}"));
        }
        assert!(
            options_answered(addr),
            "endpoint stopped answering OPTIONS after {file}"
        );
        assert!(
            matches!(peer.child.try_wait(), Ok(None)),
            "peer died after {file}"
        );
        checked += 1;
    }
    assert!(checked >= 50, "only {checked} torture files checked");
    assert!(
        failures.is_empty(),
        "verdicts not met:\n{}",
        failures.join("\n")
    );
}
