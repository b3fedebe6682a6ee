//! Credentials from the command line, against a running node: `outdial token create`,
//! `token list`, `token revoke`, `user add` (with a password on stdin, or generated), found
//! with the node's first-start admin token found through `--config`; then a user's browser session
//! (cookie and CSRF token) and a stored agent's desktop login; and the audit log of it all.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};
use support::desktop::Desktop;
use support::node::*;
use support::*;

/// `outdial ARGS --config CONFIG --api URL` with `stdin`; (success, stdout, stderr).
fn outdial(node: &Node, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_outdial"))
        .args(args)
        .arg("--config")
        .arg(&node.config)
        // The node was given port 0, so its config cannot say where the API is.
        .args(["--api", &format!("http://{}", node.api)])
        .env_remove("OUTDIAL_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run outdial");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("outdial output");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn tokens_and_users_from_the_command_line_and_a_users_browser_session() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_phones, phones) = outdial_peer(Some("peer-agent-phones.toml"), None);
    let mpp = format!("127.0.0.1:{}", free_udp_port())
        .parse()
        .expect("addr");
    let node = Node::start(
        dir.path(),
        "cli-creds",
        &[MppConf::new("none", mpp, 60_000)],
    );
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(node.data_dir.join("admin.token"))
            .expect("admin.token")
            .permissions()
            .mode()
    };
    assert_eq!(
        mode & 0o777,
        0o600,
        "the first-start token is its owner's only"
    );

    // A viewer token for a wallboard: reads status, changes nothing.
    let (ok, token, err) = outdial(
        &node,
        &["token", "create", "--role", "viewer", "--name", "wallboard"],
        "",
    );
    assert!(ok, "{err}");
    let token = token.trim().to_owned();
    let id = err
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("no token id in {err:?}"))
        .to_owned();
    assert_eq!(
        http_auth(node.api, &token, "GET", "/v1/node", None, b"").0,
        200
    );
    assert_eq!(
        http_auth(
            node.api,
            &token,
            "POST",
            "/v1/dnc",
            Some("application/json"),
            b"[]"
        )
        .0,
        403
    );
    let (ok, list, err) = outdial(&node, &["token", "list"], "");
    assert!(ok, "{err}");
    assert!(
        list.contains("wallboard") && !list.contains("secret_sha256"),
        "{list}"
    );
    let (ok, _, err) = outdial(&node, &["token", "revoke", &id], "");
    assert!(ok, "{err}");
    assert_eq!(
        http_auth(node.api, &token, "GET", "/v1/node", None, b"").0,
        401,
        "revoked at once"
    );

    // A supervisor with the password given on stdin, logging in from a browser.
    let (ok, out, err) = outdial(
        &node,
        &[
            "user",
            "add",
            "sue",
            "--role",
            "supervisor",
            "--password-stdin",
        ],
        "sue's long password\n",
    );
    assert!(
        ok && out.contains("user sue (supervisor) created"),
        "{out} {err}"
    );
    let (status, head_and_body) = login(node.api, "sue", "sue's long password");
    assert_eq!(status, 200, "{head_and_body}");
    let cookie = head_and_body
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: outdial_session=")
                .or_else(|| l.strip_prefix("Set-Cookie: outdial_session="))
        })
        .and_then(|v| v.split(';').next())
        .map(|v| format!("outdial_session={v}"))
        .unwrap_or_else(|| panic!("no session cookie: {head_and_body}"));
    assert!(
        head_and_body.contains("HttpOnly") && head_and_body.contains("SameSite=Strict"),
        "{head_and_body}"
    );
    let body = &head_and_body[head_and_body.find("\r\n\r\n").map_or(0, |i| i + 4)..];
    let csrf = serde_json::from_str::<Value>(body).expect("login JSON")["csrf_token"]
        .as_str()
        .expect("csrf")
        .to_owned();
    let (s, who) = http_with(
        node.api,
        &[("Cookie", &cookie)],
        "GET",
        "/v1/whoami",
        None,
        b"",
    );
    assert_eq!(s, 200, "{who}");
    assert!(who.contains("\"sue\""), "{who}");
    let dnc = br#"["+12125550100"]"#;
    let (s, _) = http_with(
        node.api,
        &[("Cookie", &cookie)],
        "POST",
        "/v1/dnc",
        Some("application/json"),
        dnc,
    );
    assert_eq!(s, 403, "a cookie without its CSRF token changes nothing");
    let (s, body) = http_with(
        node.api,
        &[("Cookie", &cookie), ("X-CSRF-Token", &csrf)],
        "POST",
        "/v1/dnc",
        Some("application/json"),
        dnc,
    );
    assert_eq!(s, 200, "{body}");
    let (s, _) = login(node.api, "sue", "a wrong password!");
    assert_eq!(s, 401);

    // An agent kept in storage, password generated: it logs in at the desktop with it.
    let (ok, out, err) = outdial(
        &node,
        &["user", "add", "ann", "--role", "agent", "--zone", "default"],
        "",
    );
    assert!(ok, "{err}");
    let password = out
        .rsplit_once("password (shown once): ")
        .map(|(_, p)| p.trim().to_owned())
        .unwrap_or_else(|| panic!("no generated password in {out:?}"));
    let mut d = Desktop::connect(node.api);
    let r = d.request(
        json!({"type":"login","agent":"ann","password":password,"zone":"default","phone":format!("sip:ann@{phones}")}),
        1,
    );
    assert_eq!(r["type"], "logged-in", "{r}");
    d.close();

    // Who did what, when, and how it ended.
    let log = node.get_json("/v1/audit?limit=1000");
    let entries: Vec<(String, String, u64)> = log
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["who"].as_str().unwrap_or("").to_owned(),
                e["action"].as_str().unwrap_or("").to_owned(),
                e["outcome"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    for (who, action, outcome) in [
        ("token bootstrap-admin", "POST /v1/tokens", 201),
        (
            "token bootstrap-admin",
            &*format!("DELETE /v1/tokens/{id}"),
            200,
        ),
        ("token bootstrap-admin", "POST /v1/users", 201),
        ("login sue", "POST /v1/login", 200),
        ("login sue", "POST /v1/login", 401),
        ("user sue", "POST /v1/dnc", 403),
        ("user sue", "POST /v1/dnc", 200),
    ] {
        assert!(
            entries
                .iter()
                .any(|(w, a, o)| w.starts_with(who) && a == action && *o == outcome),
            "no audit entry ({who}, {action}, {outcome}) in {entries:#?}"
        );
    }
    assert!(log
        .as_array()
        .into_iter()
        .flatten()
        .all(|e| e["at"].as_u64().is_some_and(|t| t > 0)));
}

/// `POST /v1/login`; returns the status and the whole answer (head and body).
fn login(api: std::net::SocketAddr, name: &str, password: &str) -> (u16, String) {
    use std::io::Read;
    let body = json!({"name": name, "password": password}).to_string();
    let mut s = std::net::TcpStream::connect(api).expect("connect");
    write!(
        s,
        "POST /v1/login HTTP/1.1\r\nHost: {api}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, out)
}
