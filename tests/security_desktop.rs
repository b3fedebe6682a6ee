//! The desktop WebSocket's attacks of the security review, replayed against a real node: a
//! frame announcing a gigabyte before any login, floods of connections, silent connections,
//! password guessing on one connection, phones anywhere on the internet, passwords over
//! plain HTTP off loopback. Each is refused cheaply; the figures go to stderr.

mod support;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;
use support::attack::*;
use support::desktop::*;
use support::node::*;
use support::*;

fn node(dir: &std::path::Path, name: &str, desktop: &str) -> Node {
    node_with(dir, name, desktop, "")
}

/// A node with ten agents, `[desktop]` keys `desktop` and more TOML `extra`.
fn node_with(dir: &std::path::Path, name: &str, desktop: &str, extra: &str) -> Node {
    // The MPP is never dialed here; OPTIONS to a closed port just mark it down.
    let mpp = format!("127.0.0.1:{}", free_udp_port())
        .parse()
        .expect("addr");
    let toml = format!("{}\n{extra}", agents_toml(10, desktop));
    Node::start_with(dir, name, &[MppConf::new("none", mpp, 60_000)], &toml)
}

/// Reads until the node sends a WebSocket close frame (or closes the connection); returns the
/// code of the close frame, if one came.
fn close_code(s: &mut std::net::TcpStream) -> Option<u16> {
    let mut buf = Vec::new();
    let mut b = [0u8; 4096];
    loop {
        if let Some(code) = find_close(&buf) {
            return Some(code);
        }
        match s.read(&mut b) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&b[..n]),
        }
    }
}

/// The code of the first close frame in `buf`, server frames (unmasked, short payloads).
fn find_close(buf: &[u8]) -> Option<u16> {
    let mut i = 0;
    while i + 2 <= buf.len() {
        let (op, len) = (buf[i] & 0x0f, usize::from(buf[i + 1] & 0x7f));
        if op == 8 && len >= 2 && i + 4 <= buf.len() {
            return Some(u16::from_be_bytes([buf[i + 2], buf[i + 3]]));
        }
        i += 2 + len;
    }
    None
}

/// Reads until the node closes the connection (EOF or reset).
fn wait_eof(s: &mut std::net::TcpStream) {
    let mut b = [0u8; 4096];
    while matches!(s.read(&mut b), Ok(n) if n > 0) {}
}

#[test]
fn a_frame_announcing_a_gigabyte_is_refused_from_its_header() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = node(dir.path(), "sec-frame", "");
    // From a foreign page, as probed: the upgrade itself is refused.
    let (line, ws) = ws_open(node.api, Some("http://evil.example"));
    assert!(ws.is_none() && line.contains(" 403 "), "{line}");
    // From a client that sends no Origin: the header is read, the payload never buffered.
    let (line, ws) = ws_open(node.api, None);
    let mut ws = ws.unwrap_or_else(|| panic!("upgrade refused: {line}"));
    let total: u64 = 256 << 20;
    let ((code, took, sent, closed), rss, peak) = growth(&node, || {
        let started = wall_now();
        let mut w = ws.try_clone().expect("clone");
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let writer = {
            let sent = std::sync::Arc::clone(&sent);
            std::thread::spawn(move || {
                if w.write_all(&ws_frame_header(1, 1 << 30)).is_err() {
                    return;
                }
                let block = vec![0u8; 64 * 1024];
                let mut left = total;
                while left > 0 && w.write_all(&block).is_ok() {
                    left = left.saturating_sub(block.len() as u64);
                    sent.fetch_add(block.len() as u64, std::sync::atomic::Ordering::Relaxed);
                }
            })
        };
        let code = close_code(&mut ws);
        let took = started.elapsed();
        let sent_then = sent.load(std::sync::atomic::Ordering::Relaxed);
        // The node hangs up too: it does not go on reading (and discarding) the payload.
        wait_eof(&mut ws);
        let closed = started.elapsed();
        let _ = ws.shutdown(std::net::Shutdown::Both);
        let _ = writer.join();
        (code, took, sent_then, closed)
    });
    eprintln!(
        "a frame announcing 1 GiB before login: close {code:?} after {took:?} ({} KiB of payload sent by then), connection closed after {closed:?}; node RSS {rss:+} KiB, peak {peak:+} KiB",
        sent >> 10
    );
    assert_eq!(code, Some(1009), "closed as too big");
    assert!(took < Duration::from_millis(500), "{took:?}");
    assert!(closed < Duration::from_secs(2), "{closed:?}");
    assert!(peak < 8 * 1024, "the node grew {peak} KiB at its peak");
    // A message made of many small frames is counted whole.
    let (_, ws) = ws_open(node.api, None);
    let mut ws = ws.expect("upgrade");
    let mut first = vec![0x01u8, 0x80 | 126, 0x80, 0x00, 1, 2, 3, 4]; // text, not FIN, 32768 bytes
    first.extend(std::iter::repeat_n(b'x', 32_768));
    let mut more = vec![0x00u8, 0x80 | 126, 0x80, 0x00, 1, 2, 3, 4]; // continuation, not FIN
    more.extend(std::iter::repeat_n(b'x', 32_768));
    let _ = ws.write_all(&first);
    let _ = ws.write_all(&more);
    let _ = ws.write_all(&more);
    assert_eq!(
        close_code(&mut ws),
        Some(1009),
        "96 KiB in three frames is over 64 KiB"
    );
}

#[test]
fn connections_are_capped_and_silent_ones_closed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let total = node(
        dir.path(),
        "sec-total",
        "max_connections = 4\nlogin_timeout_ms = 10000",
    );
    let open: Vec<_> = (0..4)
        .map(|_| ws_open(total.api, None).1.expect("within the cap"))
        .collect();
    let (line, ws) = ws_open(total.api, None);
    assert!(
        ws.is_none() && line.contains(" 503 "),
        "the fifth of four: {line}"
    );
    drop(open);
    let per = node(
        dir.path(),
        "sec-source",
        "max_connections_per_source = 3\nlogin_timeout_ms = 1000",
    );
    let open: Vec<_> = (0..3)
        .map(|_| ws_open(per.api, None).1.expect("within the cap"))
        .collect();
    let (line, ws) = ws_open(per.api, None);
    assert!(
        ws.is_none() && line.contains(" 429 "),
        "the fourth from one address: {line}"
    );
    // Silent connections are closed after the login timeout, and their places given back.
    let started = wall_now();
    for mut s in open {
        assert_eq!(close_code(&mut s), Some(1008), "policy: no login in time");
    }
    let took = started.elapsed();
    eprintln!("three silent connections closed {took:?} after the cap was reached (login_timeout_ms = 1000)");
    assert!(took < Duration::from_secs(3), "{took:?}");
    let (line, ws) = ws_open(per.api, None);
    assert!(ws.is_some(), "places are given back: {line}");
}

fn login(agent: &str, pw: &str) -> serde_json::Value {
    json!({"type": "login", "agent": agent, "password": pw, "zone": "default", "phone": "sip:a@127.0.0.1:5999"})
}

#[test]
fn an_unknown_agent_and_a_wrong_password_get_the_same_answer_in_the_same_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = node(dir.path(), "sec-timing", "");
    // 8 of each, alternating (16 failures: within the source's budget of 20).
    let mut d = Desktop::connect(node.api);
    let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
    for i in 0..8u64 {
        for (agent, times) in [
            (format!("ghost-{i}"), &mut unknown),
            (format!("agent-{}", i + 1), &mut wrong),
        ] {
            let t = wall_now();
            let r = d.request(login(&agent, "not the password"), 100 + i);
            times.push(t.elapsed());
            assert_eq!(
                (r["code"].as_str(), r["message"].as_str()),
                (Some("auth"), Some("unknown agent or wrong password")),
                "{agent}: {r}"
            );
        }
    }
    unknown.sort();
    wrong.sort();
    let (mu, mw) = (unknown[4], wrong[4]);
    eprintln!("median login answer: unknown agent {mu:?}, wrong password {mw:?}");
    let ratio = mu.as_secs_f64() / mw.as_secs_f64();
    assert!(
        (0.5..2.0).contains(&ratio),
        "unknown {mu:?} vs wrong {mw:?}"
    );
}

#[test]
fn password_guessing_on_one_connection_is_throttled() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A long first lock, so the count below does not depend on the machine's speed.
    let node = node_with(dir.path(), "sec-guess", "", "[auth]\nlockout_base_ms = 60000\nlockout_max_ms = 600000\nsource_failure_refill_ms = 3600000\n");
    let mut d = Desktop::connect(node.api);
    let started = wall_now();
    let mut codes = std::collections::BTreeMap::new();
    for i in 0..200u64 {
        let r = d.request(login("agent-0", &format!("guess-{i}")), 1000 + i);
        *codes
            .entry(r["code"].as_str().unwrap_or("?").to_owned())
            .or_insert(0u32) += 1;
    }
    let took = started.elapsed();
    eprintln!(
        "200 guesses on one connection in {took:?} ({:.0}/s answered, 5 of them checked): {codes:?}",
        200.0 / took.as_secs_f64()
    );
    assert_eq!(codes.get("auth"), Some(&5), "{codes:?}");
    assert_eq!(codes.get("throttled"), Some(&195), "{codes:?}");
    let r = d.request(login("agent-0", "password-0"), 5000);
    assert_eq!(
        r["code"], "throttled",
        "a locked agent is locked for its own password too: {r}"
    );
    // Other names from the same address: the source's budget (20 failures) runs out.
    let mut refused_at = None;
    for i in 0..30u64 {
        let r = d.request(
            login(&format!("agent-{}", 1 + i % 9), "wrong password"),
            6000 + i,
        );
        if r["code"] == "throttled" {
            refused_at = Some(i);
            break;
        }
    }
    assert_eq!(
        refused_at,
        Some(15),
        "5 + 15 failures from one address, then refused"
    );
}

#[test]
fn agents_phones_must_be_in_the_allowed_networks_and_not_the_nodes_own() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mpp = format!("127.0.0.1:{}", free_udp_port());
    let node = Node::start_with(
        dir.path(),
        "sec-phones",
        &[MppConf::new("gw", mpp.parse().expect("addr"), 60_000)],
        &agents_toml(3, ""),
    );
    let mut d = Desktop::connect(node.api);
    for (i, phone, why) in [
        (0, "sip:a@203.0.113.5:5060".to_owned(), "phone_networks"),
        (1, format!("sip:a@{mpp}"), "media servers"),
        (2, format!("sip:a@{}", node.sip), "the node itself"),
    ] {
        let r = d.request(
            json!({"type": "login", "agent": format!("agent-{i}"), "password": format!("password-{i}"), "zone": "default", "phone": phone}),
            i,
        );
        assert_eq!(r["code"], "bad-phone", "{phone}: {r}");
        assert!(
            r["message"].as_str().is_some_and(|m| m.contains(why)),
            "{phone}: {r}"
        );
    }
    assert_eq!(
        node.get_json("/v1/agents").as_array().map(Vec::len),
        Some(0)
    );
}

#[test]
fn plain_http_off_loopback_refuses_to_start_naming_the_keys() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("open.toml");
    let write = |extra: &str| {
        std::fs::write(
            &config,
            format!(
                "[node]\nname = \"open\"\ndata_dir = \"{}\"\n[sip]\nbind = \"127.0.0.1:{}\"\n[http]\nbind = \"0.0.0.0:0\"\n{extra}\n[[mpp]]\nname = \"gw\"\naddress = \"127.0.0.1:9\"\n",
                dir.path().join("data").display(),
                free_udp_port()
            ),
        )
        .expect("write config");
    };
    write("");
    let out = Command::new(env!("CARGO_BIN_EXE_outdial"))
        .args(["run", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .output()
        .expect("run outdial");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("http.bind")
            && err.contains("http.tls_cert_file")
            && err.contains("http.allow_plain_http"),
        "{err}"
    );
    // Said explicitly, it starts.
    write("allow_plain_http = true");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_outdial"));
    cmd.args(["run", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn");
    let _node = spawn_ready(
        cmd,
        "outdial run (plain HTTP allowed)",
        " running: SIP ",
        Duration::from_secs(20),
    );
}
