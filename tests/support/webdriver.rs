//! A small W3C WebDriver client (https://www.w3.org/TR/webdriver2/) over the helpers' plain
//! HTTP: it starts Debian's `chromedriver` on a free port, opens one headless Chromium session,
//! and offers what the page tests need — navigate, find, click, type, keys, run a script,
//! screenshots, tabs. The driver is killed by its own pid when the [`Browser`] is dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use super::node::{parse_json, pause};
use super::{wall_now, Proc};

/// The W3C name of an element reference in JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One request to the driver. chromedriver keeps its connections open whatever the request
/// says, so the answer is read by its Content-Length, not to the end of the stream.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect to chromedriver at {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).expect("send to chromedriver");
    s.write_all(body).expect("send to chromedriver");
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).expect("chromedriver's status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: bad status line {line:?}"));
    let mut length = 0usize;
    loop {
        line.clear();
        r.read_line(&mut line).expect("chromedriver's headers");
        let l = line.trim();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0u8; length];
    r.read_exact(&mut body)
        .unwrap_or_else(|e| panic!("{method} {path}: reading the answer: {e}"));
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Fails (never skips) naming the Debian packages when a binary is missing.
fn binary(name: &str, package: &str) -> PathBuf {
    let p = PathBuf::from("/usr/bin").join(name);
    assert!(
        p.exists(),
        "{name} is required for the browser tests: apt-get install -y {package}"
    );
    p
}

/// One headless Chromium driven through its own chromedriver.
pub struct Browser {
    driver: Option<Proc>,
    addr: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
}

/// A found element.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// Starts chromedriver and a headless Chromium session with a fresh profile.
    pub fn start() -> Browser {
        let chromium = binary("chromium", "chromium");
        let driver_bin = binary("chromedriver", "chromium-driver");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free TCP port")
            .port();
        // The driver's and the browser's output go to a file (a pipe nobody reads would fill
        // and stall them).
        let log_path = artifacts("chromedriver").join(format!("chromedriver-{port}.log"));
        std::fs::create_dir_all(log_path.parent().expect("a parent")).expect("the log folder");
        let log = std::fs::File::create(&log_path).expect("the driver's log");
        let child = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start chromedriver: {e}"));
        let driver = Proc {
            child,
            name: "chromedriver".into(),
        };
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let deadline = wall_now() + Duration::from_secs(20);
        while !TcpStream::connect(addr).is_ok_and(|_| {
            let (status, body) = http(addr, "GET", "/status", None, b"");
            status == 200 && parse_json(&body)["value"]["ready"] == true
        }) {
            assert!(
                wall_now() < deadline,
                "chromedriver did not start: see {}",
                log_path.display()
            );
            pause(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().expect("a profile dir");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1400,1000", "--no-first-run", "--disable-extensions",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        }}});
        let (status, body) = http(
            addr,
            "POST",
            "/session",
            Some("application/json"),
            caps.to_string().as_bytes(),
        );
        assert_eq!(status, 200, "new WebDriver session: {body}");
        let v = parse_json(&body);
        let session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {v}"))
            .to_owned();
        Browser {
            driver: Some(driver),
            addr,
            session,
            _profile: profile,
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let ct = (method == "POST").then_some("application/json");
        let payload = if method == "POST" && payload.is_empty() {
            "{}".to_owned()
        } else {
            payload
        };
        let (status, text) = http(self.addr, method, &path, ct, payload.as_bytes());
        let v = parse_json(&text);
        assert_eq!(status, 200, "{method} {path}: {v}");
        v["value"].clone()
    }

    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    /// The first element matching a CSS selector, if any.
    pub fn find_opt(&self, css: &str) -> Option<Element> {
        let v = self.cmd(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        );
        v.as_array()?
            .first()
            .and_then(|e| e[ELEMENT].as_str())
            .map(|id| Element(id.to_owned()))
    }

    pub fn find(&self, css: &str) -> Element {
        self.find_opt(css)
            .unwrap_or_else(|| panic!("no element {css:?} on the page"))
    }

    pub fn click(&self, e: &Element) {
        self.cmd("POST", &format!("/element/{}/click", e.0), None);
    }

    /// Types `text` into an element (focusing it first).
    pub fn type_into(&self, e: &Element, text: &str) {
        self.cmd("POST", &format!("/element/{}/clear", e.0), None);
        self.cmd(
            "POST",
            &format!("/element/{}/value", e.0),
            Some(json!({ "text": text })),
        );
    }

    pub fn text(&self, e: &Element) -> String {
        self.cmd("GET", &format!("/element/{}/text", e.0), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Presses and releases each key in turn on whatever has the focus (a real key event).
    pub fn keys(&self, keys: &str) {
        let mut actions = Vec::new();
        for k in keys.chars() {
            actions.push(json!({"type": "keyDown", "value": k.to_string()}));
            actions.push(json!({"type": "keyUp", "value": k.to_string()}));
        }
        self.cmd(
            "POST",
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        );
        self.cmd("DELETE", "/actions", None);
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub fn run(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Waits (bounded) until `script` returns a truthy value, and returns it.
    pub fn wait_for(&self, what: &str, limit: Duration, script: &str, args: Value) -> Value {
        let deadline = wall_now() + limit;
        loop {
            let v = self.run(script, args.clone());
            if !(v.is_null() || v == json!(false) || v == json!("")) {
                return v;
            }
            assert!(wall_now() < deadline, "{what}: not within {limit:?}");
            pause(Duration::from_millis(25));
        }
    }

    /// Opens the wall-board at `api` and logs in through its own form as `name`.
    pub fn log_in_to_board(&self, api: std::net::SocketAddr, name: &str, password: &str) {
        self.goto(&format!("http://{api}/"));
        self.wait_for(
            "the login form",
            Duration::from_secs(10),
            "return !document.getElementById('login').hidden",
            json!([]),
        );
        self.type_into(&self.find("#name"), name);
        self.type_into(&self.find("#password"), &format!("{password}\n"));
    }

    /// Opens the agent desktop at `base` (`http://host:port`) and logs `agent` in with its
    /// phone, then waits until the phone is nailed.
    pub fn log_in_agent(&self, base: &str, agent: &str, password: &str, phone: &str) {
        self.goto(&format!("{base}/agent"));
        self.type_into(&self.find("#agent"), agent);
        self.type_into(&self.find("#password"), password);
        self.type_into(&self.find("#phone"), &format!("{phone}\n"));
        self.wait_for(
            "logged in and nailed",
            Duration::from_secs(15),
            "return !document.getElementById('desk').hidden \
               && document.getElementById('nail').textContent === 'Connected'",
            json!([]),
        );
    }

    /// Writes a PNG of the viewport to `path`.
    pub fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        let v = self.cmd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .expect("the screenshot is base64");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("the screenshot folder");
        }
        std::fs::write(path, png).expect("write the screenshot");
    }

    /// CPU time (user + system, clock ticks) of this browser's renderer processes: the pages'
    /// own work, found by the profile directory on their command lines.
    pub fn renderer_ticks(&self) -> u64 {
        let profile = self._profile.path().display().to_string();
        let mut total = 0;
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let cmd = String::from_utf8_lossy(&cmd);
            if !(cmd.contains("--type=renderer") && cmd.contains(&profile)) {
                continue;
            }
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
            let f: Vec<&str> = after.split_whitespace().collect();
            if f.len() > 12 {
                total += f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0);
            }
        }
        total
    }

    /// The current tab's handle.
    pub fn tab(&self) -> String {
        self.cmd("GET", "/window", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Opens a new tab and switches to it; returns its handle.
    pub fn new_tab(&self) -> String {
        let v = self.cmd("POST", "/window/new", Some(json!({"type": "tab"})));
        let h = v["handle"].as_str().unwrap_or_default().to_owned();
        self.switch_to(&h);
        h
    }

    pub fn switch_to(&self, handle: &str) {
        self.cmd("POST", "/window", Some(json!({ "handle": handle })));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let path = format!("/session/{}", self.session);
        let _ = std::panic::catch_unwind(|| http(self.addr, "DELETE", &path, None, b""));
        // Proc's drop kills chromedriver by its pid; its Chromium exits with it.
        drop(self.driver.take());
    }
}

/// Where a test's screenshots go: the target directory's scratch space.
pub fn artifacts(test: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("screenshots")
        .join(test)
}
