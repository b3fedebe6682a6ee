//! A blocking desktop client for end-to-end tests: a WebSocket to the node's `/v1/desktop`,
//! JSON messages as `serde_json::Value`, bounded waits for the event a test expects.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::{json, Value};
use tungstenite::{stream::MaybeTlsStream, Message, WebSocket};

use super::wall_now;

pub struct Desktop {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    /// Every message received, in order (for assertions after the fact).
    pub seen: Vec<Value>,
}

impl Desktop {
    pub fn connect(api: SocketAddr) -> Desktop {
        let (ws, _) = tungstenite::connect(format!("ws://{api}/v1/desktop"))
            .unwrap_or_else(|e| panic!("cannot open the desktop WebSocket at {api}: {e}"));
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_millis(50)))
                .expect("read timeout");
        }
        Desktop {
            ws,
            seen: Vec::new(),
        }
    }

    pub fn send(&mut self, msg: Value) {
        self.ws
            .send(Message::Text(msg.to_string()))
            .unwrap_or_else(|e| panic!("cannot send {msg}: {e}"));
    }

    pub fn send_raw(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.to_owned()))
            .unwrap_or_else(|e| panic!("cannot send {text:?}: {e}"));
    }

    /// The next message other than a heartbeat, if one arrives within `limit`; `None` on
    /// timeout or when the node closed the connection.
    pub fn next(&mut self, limit: Duration) -> Option<Value> {
        let deadline = wall_now() + limit;
        loop {
            match self.ws.read() {
                Ok(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(&t)
                        .unwrap_or_else(|e| panic!("the node sent non-JSON {t:?}: {e}"));
                    if v["type"] == "heartbeat" {
                        // Answer, so a slow test never looks like a dead desktop.
                        let _ = self
                            .ws
                            .send(Message::Text(r#"{"type":"heartbeat"}"#.into()));
                        continue;
                    }
                    self.seen.push(v.clone());
                    return Some(v);
                }
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if wall_now() >= deadline {
                        return None;
                    }
                }
                Err(_) => return None,
            }
        }
    }

    /// Waits (bounded) for the first message `pred` accepts; panics with what came instead.
    pub fn expect(&mut self, limit: Duration, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = wall_now() + limit;
        let mut other = Vec::new();
        while wall_now() < deadline {
            if let Some(v) = self.next(Duration::from_millis(100)) {
                if pred(&v) {
                    return v;
                }
                other.push(v);
            }
        }
        panic!("no {what} within {limit:?}; got instead: {other:?}");
    }

    /// The first message `pred` accepts within `limit`, or `None`; others are kept in `seen`.
    pub fn next_matching(
        &mut self,
        limit: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = wall_now() + limit;
        while wall_now() < deadline {
            let left = deadline.saturating_duration_since(wall_now());
            if let Some(v) = self.next(left.min(Duration::from_millis(100))) {
                if pred(&v) {
                    return Some(v);
                }
            }
        }
        None
    }

    /// Sends a command with an id and returns the node's direct reply (`ok` or `error`) to it.
    pub fn request(&mut self, mut msg: Value, id: u64) -> Value {
        msg["id"] = json!(id);
        self.send(msg);
        self.expect(Duration::from_secs(5), "reply", |v| {
            (v["type"] == "ok" || v["type"] == "error" || v["type"] == "logged-in") && v["id"] == id
        })
    }

    /// Logs in and waits until the phone is nailed.
    pub fn login(&mut self, agent: &str, password: &str, phone: &str) -> Value {
        let r = self.request(
            json!({"type": "login", "agent": agent, "password": password, "zone": "default", "phone": phone}),
            1,
        );
        assert_eq!(r["type"], "logged-in", "login of {agent}: {r}");
        self.expect(Duration::from_secs(10), "nailed state", |v| {
            v["type"] == "state" && v["nail"] == "nailed"
        });
        r
    }

    pub fn close(mut self) {
        let _ = self.ws.close(None);
        let _ = self.ws.flush();
    }
}

/// `[[agent]]` sections for `n` agents `agent-0`.. with password `password-<i>` (argon2id,
/// as an operator's `outdial hash-password` makes them), plus `[desktop]`.
pub fn agents_toml(n: usize, desktop: &str) -> String {
    let mut s = format!("[desktop]\n{desktop}\n");
    for i in 0..n {
        let hash = outdial_node::auth::PasswordHash::new(&format!("password-{i}"))
            .expect("hash an agent's password");
        s.push_str(&format!(
            "\n[[agent]]\nid = \"agent-{i}\"\npassword_argon2 = \"{}\"\n",
            hash.as_str()
        ));
    }
    s
}
