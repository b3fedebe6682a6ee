//! The HTTP attacks of the security review, replayed against a real node started from a
//! generated config: every one is now refused, before the node does the work it asked for,
//! and cheaply. Each test prints its figures (time to refuse, growth of the node's memory)
//! on stderr (`cargo test -- --nocapture`).

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::attack::*;
use support::node::*;
use support::*;

const MIB: i64 = 1024;

/// A node whose MPP is an `outdial peer` recording every INVITE dialog to `record`.
fn node_with_record(
    dir: &std::path::Path,
    name: &str,
    extra: &str,
) -> (Proc, Node, std::path::PathBuf) {
    let record = dir.join("invites.tsv");
    let (peer, addr) = outdial_peer(None, Some(&record));
    let node = Node::start_with(dir, name, &[MppConf::new("gw", addr, 600_000)], extra);
    (peer, node, record)
}

fn campaign() -> Value {
    agentless_campaign("attack", 50.0, 10, 3000, &[])
}

#[test]
fn nothing_happens_without_credentials_or_with_too_small_a_role() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_peer, node, record) = node_with_record(dir.path(), "sec-anon", "");
    let api = node.api;
    // The probe as it was: define a campaign, upload contacts without a Content-Type, start
    // the job, force a takeover — all without credentials.
    let (s, body) = http(
        api,
        "POST",
        "/v1/campaigns",
        Some("application/json"),
        campaign().to_string().as_bytes(),
    );
    assert_eq!(s, 401, "{body}");
    assert!(body.contains("credentials"), "{body}");
    let (s, _) = http(
        api,
        "POST",
        "/v1/jobs/1/contacts",
        None,
        contacts_csv(3).as_bytes(),
    );
    assert_eq!(s, 401);
    let (s, _) = http(api, "POST", "/v1/jobs/1/start", None, b"");
    assert_eq!(s, 401);
    let (s, _) = http(api, "POST", "/v1/admin/zones/default/switchover", None, b"");
    assert_eq!(s, 401);
    let (s, _) = http(api, "GET", "/v1/jobs/1/attempts", None, b"");
    assert_eq!(s, 401);
    let (s, _) = http(api, "GET", "/v1/no/such/thing", None, b"");
    assert_eq!(s, 401, "strangers do not learn the route map");
    // A viewer reads status; it cannot define campaigns or force takeovers.
    let viewer = node.token_for("viewer");
    let (s, _) = http_auth(api, &viewer, "GET", "/v1/node", None, b"");
    assert_eq!(s, 200);
    let (s, body) = http_auth(
        api,
        &viewer,
        "POST",
        "/v1/campaigns",
        Some("application/json"),
        campaign().to_string().as_bytes(),
    );
    assert_eq!(s, 403, "{body}");
    let supervisor = node.token_for("supervisor");
    let (s, body) = http_auth(
        api,
        &supervisor,
        "POST",
        "/v1/admin/zones/default/switchover",
        None,
        b"",
    );
    assert_eq!(s, 403, "a switchover is an admin's: {body}");
    let agent = node.token_for("agent");
    let (s, _) = http_auth(api, &agent, "GET", "/v1/node", None, b"");
    assert_eq!(s, 403, "an agent's token reaches only its desktop");
    // Nothing was created, started or taken over; the gateway saw no INVITE.
    assert_eq!(
        node.get_json("/v1/campaigns").as_array().map(Vec::len),
        Some(0)
    );
    let status = node.get_json("/v1/node");
    assert!(
        status["zones"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|z| z["takeovers"] == 0),
        "{status}"
    );
    let invites = std::fs::read_to_string(&record).unwrap_or_default();
    assert!(
        invites.trim().is_empty(),
        "the gateway got INVITEs: {invites}"
    );
    // And the refused admin calls of the supervisor are in the audit log, with who and what.
    let log = node.get_json("/v1/audit");
    let refused =
        log.as_array().into_iter().flatten().find(|e| {
            e["action"] == "POST /v1/admin/zones/default/switchover" && e["outcome"] == 403
        });
    assert!(
        refused.is_some_and(|e| e["who"]
            .as_str()
            .is_some_and(|w| w.contains("test-supervisor"))),
        "{log}"
    );
}

#[test]
fn foreign_hosts_origins_and_missing_content_types_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_peer, node, _) = node_with_record(dir.path(), "sec-origin", "");
    let api = node.api;
    let auth = format!("Bearer {}", node.token);
    // DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1.
    let (s, body) = http_with(
        api,
        &[("Host", "evil.example:8080"), ("Authorization", &auth)],
        "GET",
        "/v1/node",
        None,
        b"",
    );
    // (The helper also sends the real Host first; the node reads the first.)
    assert!(s == 421 || s == 400, "{s} {body}");
    let raw = {
        use std::io::{Read, Write};
        let mut t = std::net::TcpStream::connect(api).expect("connect");
        write!(t, "GET /v1/node HTTP/1.1\r\nHost: evil.example\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n").expect("send");
        let mut out = String::new();
        let _ = t.read_to_string(&mut out);
        out
    };
    assert!(raw.starts_with("HTTP/1.1 421"), "{raw}");
    // A page of another origin driving the API with a stolen token, and a cross-site form.
    let (s, _) = http_with(
        api,
        &[("Authorization", &auth), ("Origin", "http://evil.example")],
        "POST",
        "/v1/dnc",
        Some("application/json"),
        b"[]",
    );
    assert_eq!(s, 403);
    let (s, _) = http_with(
        api,
        &[("Authorization", &auth)],
        "POST",
        "/v1/dnc",
        Some("application/x-www-form-urlencoded"),
        b"a=1",
    );
    assert_eq!(s, 415);
    // Contacts without a Content-Type: refused before the importer sees them.
    let (_, job) = node.create_campaign(&campaign());
    let (s, body) = node.post(
        &format!("/v1/jobs/{job}/contacts"),
        None,
        contacts_csv(5).as_bytes(),
    );
    assert_eq!(s, 415, "{body}");
    assert_eq!(node.job(job)["contacts"]["total"], 0);
    // The desktop WebSocket from a foreign page: refused at the upgrade; its own origin and a
    // client that sends none (not a browser) get through.
    let (line, ws) = ws_open(api, Some("http://evil.example"));
    assert!(ws.is_none() && line.starts_with("HTTP/1.1 403"), "{line}");
    let (line, ws) = ws_open(api, Some(&format!("http://{api}")));
    assert!(ws.is_some(), "{line}");
    let (line, ws) = ws_open(api, None);
    assert!(ws.is_some(), "{line}");
}

#[test]
fn a_300_mb_upload_without_credentials_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_peer, node, _) = node_with_record(dir.path(), "sec-upload-anon", "");
    let total: u64 = 300 << 20;
    for chunked in [false, true] {
        let h = head(
            "POST",
            "/v1/jobs/1/contacts",
            node.api,
            &[("Content-Type", "text/csv")],
            (!chunked).then_some(total),
        );
        let (r, rss, peak) = growth(&node, || {
            stream_request(node.api, &h, b"+12125550100,x\n", total, chunked)
        });
        eprintln!(
            "300 MB upload without credentials ({}): {} after {:?}, {} KiB of body sent by then; node RSS {rss:+} KiB, peak {peak:+} KiB",
            if chunked { "chunked" } else { "Content-Length" },
            r.status,
            r.answered_after,
            r.sent_before_answer >> 10
        );
        assert_eq!(r.status, 401, "{}", r.answer);
        assert!(
            r.answered_after < Duration::from_secs(2),
            "{:?}",
            r.answered_after
        );
        assert!(peak < 16 * MIB, "the node grew {peak} KiB at its peak");
    }
}

#[test]
fn uploads_stream_through_the_importer_and_stop_at_the_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_peer, node, _) = node_with_record(
        dir.path(),
        "sec-upload",
        "[http]\nmax_csv_upload_bytes = 67108864\n",
    );
    let (_, job) = node.create_campaign(&campaign());
    let path = format!("/v1/jobs/{job}/contacts");
    let auth = format!("Bearer {}", node.token);
    let headers = [
        ("Content-Type", "text/csv"),
        ("Authorization", auth.as_str()),
    ];
    // Declared over the limit: refused from the header.
    let h = head("POST", &path, node.api, &headers, Some(100 << 20));
    let (r, _, peak) = growth(&node, || {
        stream_request(node.api, &h, b"x", 100 << 20, false)
    });
    eprintln!(
        "declared 100 MB over a 64 MiB limit: {} after {:?}; peak {peak:+} KiB",
        r.status, r.answered_after
    );
    assert_eq!(r.status, 413, "{}", r.answer);
    assert!(peak < 16 * MIB, "{peak} KiB");
    // Chunked, so the size is not declared: read up to the limit, then refused.
    let row = format!("not-a-phone,{}\n", "n".repeat(100));
    let h = head("POST", &path, node.api, &headers, None);
    let (r, _, peak) = growth(&node, || {
        stream_request_with_prefix(
            node.api,
            &h,
            b"phone,notes\n",
            row.as_bytes(),
            100 << 20,
            true,
        )
    });
    eprintln!(
        "chunked 100 MB over a 64 MiB limit: {} after {:?} ({} MiB sent); peak {peak:+} KiB",
        r.status,
        r.answered_after,
        r.sent_before_answer >> 20
    );
    assert_eq!(r.status, 413, "{}", r.answer);
    assert!(peak < 48 * MIB, "streamed, not buffered: {peak} KiB");
    // Within the limit: 60 MB of rows, each rejected (not a phone number), streamed through
    // the importer with the node's memory flat.
    let header = b"phone,notes\n";
    let rows = (60u64 << 20) / row.len() as u64;
    let size = rows * row.len() as u64;
    let h = head(
        "POST",
        &path,
        node.api,
        &headers,
        Some(header.len() as u64 + size),
    );
    let (r, _, peak) = growth(&node, || {
        stream_request_with_prefix(node.api, &h, header, row.as_bytes(), size, false)
    });
    eprintln!(
        "60 MB of rows streamed in: {} after {:?}; peak {peak:+} KiB",
        r.status, r.answered_after
    );
    assert_eq!(r.status, 200, "{}", r.answer);
    assert!(
        r.answer.contains(&format!("\"rejected\":{rows}")),
        "{}",
        &r.answer[..r.answer.len().min(400)]
    );
    assert!(peak < 48 * MIB, "streamed, not buffered: {peak} KiB");
}

#[test]
fn hostile_csv_files_are_refused_fast_with_flat_memory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_peer, node, _) = node_with_record(dir.path(), "sec-csv", "");
    let (_, job) = node.create_campaign(&campaign());
    let path = format!("/v1/jobs/{job}/contacts");
    let auth = format!("Bearer {}", node.token);
    let headers = [
        ("Content-Type", "text/csv"),
        ("Authorization", auth.as_str()),
    ];
    // 64 MiB of newlines: nothing to import, and no memory per newline.
    let n = 64u64 << 20;
    let h = head("POST", &path, node.api, &headers, Some(6 + n));
    let (r, _, peak) = growth(&node, || {
        stream_request_with_prefix(node.api, &h, b"phone\n", b"\n", n, false)
    });
    eprintln!(
        "64 MiB of newlines: {} after {:?}; peak {peak:+} KiB",
        r.status, r.answered_after
    );
    assert_eq!(r.status, 200, "{}", r.answer);
    assert!(peak < 32 * MIB, "{peak} KiB");
    // 80,000 columns: refused at once (its header is over the line limit before the column
    // limit is even reached).
    let header: String = (0..80_000).map(|i| format!("c{i},")).collect::<String>() + "phone\n";
    let started = wall_now();
    let (s, body) = node.post(&path, Some("text/csv"), header.as_bytes());
    let took = started.elapsed();
    eprintln!("80,000 columns: {s} after {took:?}");
    assert_eq!(s, 422, "{body}");
    assert!(
        body.contains("max_line_bytes") || body.contains("max_columns"),
        "{body}"
    );
    assert!(took < Duration::from_secs(2), "{took:?}");
    // One 100 MB line: refused at the line limit.
    let h = head("POST", &path, node.api, &headers, Some(12 + (100 << 20)));
    let (r, _, peak) = growth(&node, || {
        stream_request_with_prefix(node.api, &h, b"phone,notes\n", b"x", 100 << 20, false)
    });
    eprintln!(
        "one 100 MB line: {} after {:?} ({} KiB sent); peak {peak:+} KiB",
        r.status,
        r.answered_after,
        r.sent_before_answer >> 10
    );
    assert_eq!(r.status, 422, "{}", r.answer);
    assert!(r.answer.contains("max_line_bytes"), "{}", r.answer);
    assert!(peak < 16 * MIB, "{peak} KiB");
    assert_eq!(node.job(job)["contacts"]["total"], 0);
}

/// As [`stream_request`], with `prefix` sent first as part of the body (not chunked) or as
/// its first chunk.
fn stream_request_with_prefix(
    api: std::net::SocketAddr,
    head: &str,
    prefix: &[u8],
    unit: &[u8],
    total: u64,
    chunked: bool,
) -> Streamed {
    let mut h = head.to_owned();
    if chunked && !prefix.is_empty() {
        h.push_str(&format!("{:x}\r\n", prefix.len()));
        h.push_str(&String::from_utf8_lossy(prefix));
        h.push_str("\r\n");
    } else {
        h.push_str(&String::from_utf8_lossy(prefix));
    }
    stream_request(api, &h, unit, total, chunked)
}

#[test]
fn campaigns_cannot_name_a_file_outside_the_media_directory_or_a_target() {
    let dir = tempfile::tempdir().expect("temp dir");
    let media = dir.path().join("media");
    std::fs::create_dir(&media).expect("media dir");
    std::fs::write(media.join("sorry.wav"), wav_8k_mono(800)).expect("prompt");
    std::fs::write(dir.path().join("secret.wav"), wav_8k_mono(800)).expect("outside");
    let (_peer, node, _) = node_with_record(dir.path(), "sec-prompts", "");
    // The node above has no media_dir: any prompt is refused, naming the key.
    let mut c = campaign();
    c["abandon_message"] = json!("sorry.wav");
    let (s, body) = node.post(
        "/v1/campaigns",
        Some("application/json"),
        c.to_string().as_bytes(),
    );
    assert_eq!(s, 422, "{body}");
    assert!(body.contains("media_dir"), "{body}");
    let media_node = {
        let (peer, addr) = outdial_peer(None, None);
        let n = Node::start_opts(
            dir.path(),
            "sec-media",
            &[MppConf::new("gw", addr, 600_000)],
            NodeOpts {
                node_keys: &format!("media_dir = \"{}\"\n", media.display()),
                ..NodeOpts::default()
            },
        );
        (peer, n)
    };
    let n = &media_node.1;
    for (name, why) in [
        ("/etc/passwd", ".wav"),
        ("../secret.wav", "not a path"),
        ("/etc/../etc/passwd.wav", "not a path"),
        ("absent.wav", "not in the node's media directory"),
    ] {
        let mut c = campaign();
        c["abandon_message"] = json!(name);
        let (s, body) = n.post(
            "/v1/campaigns",
            Some("application/json"),
            c.to_string().as_bytes(),
        );
        assert_eq!(s, 422, "{name}: {body}");
        assert!(
            body.contains("abandon_message") && body.contains(why),
            "{name}: {body}"
        );
    }
    let mut c = campaign();
    c["abandon_message"] = json!("sorry.wav");
    let (s, body) = n.post(
        "/v1/campaigns",
        Some("application/json"),
        c.to_string().as_bytes(),
    );
    assert_eq!(s, 201, "a prompt in the media directory: {body}");
    let mut c = campaign();
    c["target"] = json!("203.0.113.7:5060");
    let (s, body) = n.post(
        "/v1/campaigns",
        Some("application/json"),
        c.to_string().as_bytes(),
    );
    assert_eq!(s, 422, "{body}");
    assert!(body.contains("target: not supported"), "{body}");
}

/// A WAV file: 8 kHz mono 16-bit PCM, `samples` of silence.
fn wav_8k_mono(samples: u32) -> Vec<u8> {
    let data = samples * 2;
    let mut w = Vec::new();
    w.extend_from_slice(b"RIFF");
    w.extend_from_slice(&(36 + data).to_le_bytes());
    w.extend_from_slice(b"WAVEfmt ");
    w.extend_from_slice(&16u32.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes());
    w.extend_from_slice(&8000u32.to_le_bytes());
    w.extend_from_slice(&16000u32.to_le_bytes());
    w.extend_from_slice(&2u16.to_le_bytes());
    w.extend_from_slice(&16u16.to_le_bytes());
    w.extend_from_slice(b"data");
    w.extend_from_slice(&data.to_le_bytes());
    w.extend(std::iter::repeat_n(0u8, data as usize));
    w
}

#[test]
fn phone_numbers_reach_the_log_only_when_the_config_says_so() {
    for (whole, name) in [(false, "sec-log-redacted"), (true, "sec-log-whole")] {
        let dir = tempfile::tempdir().expect("temp dir");
        let (_peer, addr) = outdial_peer(None, None);
        let node = Node::start_opts(
            dir.path(),
            name,
            &[MppConf::new("gw", addr, 600_000)],
            NodeOpts {
                node_keys: &format!("log_phone_numbers = {whole}\n"),
                log: "warn,outdial_node::actors::call=debug",
                ..NodeOpts::default()
            },
        );
        let (_, job) = node.create_campaign(&campaign());
        node.upload_csv(job, &contacts_csv(1));
        node.start_job(job);
        node.wait_job_over(job, Duration::from_secs(30));
        let log = node.stderr_tail();
        let number = phone(0);
        let dialing = log
            .lines()
            .find(|l| l.contains("dialing"))
            .unwrap_or_else(|| panic!("no dialing line:\n{log}"));
        assert_eq!(
            dialing.contains(&number),
            whole,
            "log_phone_numbers = {whole}: {dialing}"
        );
        if !whole {
            assert!(dialing.contains("***00"), "{dialing}");
        }
    }
}
