//! A desktop for the node's agent protocol (docs/desktop-protocol.md): [`DesktopClient`], a
//! thin typed WebSocket client, and [`SimulatedAgent`], an automated agent built on it that
//! `outdial demo` and the end-to-end tests log in by the dozen.
//!
//! Client glue only: it speaks the wire types of [`outdial_core::desktop`] and knows nothing of the
//! node's actors. All waiting goes through `tokio::time`, so a test with a paused runtime
//! clock drives it in virtual time.

mod agent;
pub mod failover;

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use outdial_core::desktop::{ClientMessage, ServerMessage};

/// The desktop endpoint of a node whose HTTP API listens on `http` (`host:port`).
pub fn desktop_url(http: impl std::fmt::Display) -> String {
    format!("ws://{http}/v1/desktop")
}

/// The desktop endpoint of the API at `api`: `wss://` for an `https://` API, `ws://` for
/// `http://` or a bare `host:port`.
pub fn desktop_url_for(api: &str) -> String {
    match api.strip_prefix("https://") {
        Some(h) => format!("wss://{}/v1/desktop", h.trim_end_matches('/')),
        None => desktop_url(api.trim_start_matches("http://").trim_end_matches('/')),
    }
}

/// The CAs a desktop trusts for `wss://` (a rustls client configuration; see
/// [`crate::tls::client_config`]). Equal when it is the same configuration.
#[derive(Clone)]
pub struct TlsTrust(pub Arc<rustls::ClientConfig>);

impl PartialEq for TlsTrust {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for TlsTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsTrust(..)")
    }
}

/// What went wrong talking to the node, grouped by who is to blame.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    // Connection and I/O.
    /// The WebSocket could not be opened (bad URL, refused, handshake failed).
    #[error("connecting to {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: Box<tungstenite::Error>,
    },
    /// The open connection failed.
    #[error("desktop connection: {0}")]
    Io(#[source] Box<tungstenite::Error>),

    // The node breaking the protocol.
    /// A text frame that is not a server message.
    #[error("the node sent a message this desktop does not understand: {source}")]
    Malformed {
        text: String,
        #[source]
        source: serde_json::Error,
    },
    /// The protocol is JSON text frames only.
    #[error("the node sent a binary frame")]
    BinaryFrame,
    /// A message that makes no sense here.
    #[error("the node sent `{}` where `{expected}` was expected", wire_type(got))]
    Unexpected {
        expected: &'static str,
        got: Box<ServerMessage>,
    },

    // The caller.
    /// A message could not be encoded (cannot happen for the protocol's own types).
    #[error("encoding a desktop message: {0}")]
    Encode(#[source] serde_json::Error),

    // Time.
    /// Nothing (or nothing matching) arrived in time.
    #[error("no answer from the node within {0:?}")]
    Timeout(Duration),

    // The node said no.
    /// The node answered with an `error` message.
    #[error("the node refused: {code}: {message}")]
    Server {
        id: Option<u64>,
        code: String,
        message: String,
    },

    // The end.
    /// The node closed the connection (with its close reason, if it gave one).
    #[error("the node closed the connection{}", reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Closed { reason: Option<String> },
}

impl ClientError {
    /// The `error` message's code, when the node refused.
    pub fn server_code(&self) -> Option<&str> {
        match self {
            ClientError::Server { code, .. } => Some(code),
            _ => None,
        }
    }

    fn from_ws(e: tungstenite::Error) -> Self {
        match e {
            tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed => {
                ClientError::Closed { reason: None }
            }
            e => ClientError::Io(Box::new(e)),
        }
    }
}

/// What the node said when it accepted a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAccepted {
    pub agent: String,
    pub zone: String,
    /// Send something at least this often.
    pub heartbeat: Duration,
    /// Silent intervals after which the node logs the agent out (`desktop-lost`).
    pub missed_heartbeats: u32,
}

/// One desktop's WebSocket to a node.
#[derive(Debug)]
pub struct DesktopClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl DesktopClient {
    /// Opens `ws://HOST:PORT/v1/desktop` (see [`desktop_url`]).
    pub async fn connect(url: &str) -> Result<DesktopClient, ClientError> {
        Self::connect_with(url, None).await
    }

    /// Opens `url`, `ws://` or `wss://`; over TLS the server's certificate must chain to
    /// `trust` (default: the public web's roots).
    pub async fn connect_with(
        url: &str,
        trust: Option<&TlsTrust>,
    ) -> Result<DesktopClient, ClientError> {
        let connector = trust.map(|t| tokio_tungstenite::Connector::Rustls(Arc::clone(&t.0)));
        let (ws, _response) =
            tokio_tungstenite::connect_async_tls_with_config(url, None, false, connector)
                .await
                .map_err(|source| ClientError::Connect {
                    url: url.to_owned(),
                    source: Box::new(source),
                })?;
        Ok(DesktopClient { ws, next_id: 1 })
    }

    /// A fresh request id, for messages whose `ok`/`error` the caller wants to match.
    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub async fn send(&mut self, msg: &ClientMessage) -> Result<(), ClientError> {
        let text = serde_json::to_string(msg).map_err(ClientError::Encode)?;
        self.send_raw(text).await
    }

    /// Sends a text frame as is: for tests of the node's handling of malformed input.
    pub async fn send_raw(&mut self, text: impl Into<String>) -> Result<(), ClientError> {
        self.ws
            .send(Message::Text(text.into()))
            .await
            .map_err(ClientError::from_ws)
    }

    /// The next message from the node, whatever it is (heartbeats and `error`s included).
    pub async fn recv(&mut self, timeout: Duration) -> Result<ServerMessage, ClientError> {
        match tokio::time::timeout(timeout, self.read()).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout(timeout)),
        }
    }

    /// The next message that is not a heartbeat; heartbeats met on the way are answered.
    pub async fn recv_skip_heartbeats(
        &mut self,
        timeout: Duration,
    ) -> Result<ServerMessage, ClientError> {
        self.wait_for(timeout, |_| true).await
    }

    /// The first message (other than a heartbeat) for which `pred` holds; the others are
    /// dropped. Server heartbeats met while waiting are answered with client heartbeats, so a
    /// long wait does not get the agent logged out.
    pub async fn wait_for(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&ServerMessage) -> bool,
    ) -> Result<ServerMessage, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            let msg = match tokio::time::timeout_at(deadline, self.read()).await {
                Ok(r) => r?,
                Err(_) => return Err(ClientError::Timeout(timeout)),
            };
            if msg == ServerMessage::Heartbeat {
                self.send(&ClientMessage::Heartbeat { id: None }).await?;
            } else if pred(&msg) {
                return Ok(msg);
            }
        }
    }

    /// Sends `msg` and waits for the `ok` (Ok) or `error` (Err [`ClientError::Server`])
    /// carrying its id; `msg`'s own `id` is replaced by a fresh one.
    pub async fn request(
        &mut self,
        mut msg: ClientMessage,
        timeout: Duration,
    ) -> Result<(), ClientError> {
        let want = self.next_id();
        msg.set_id(want);
        self.send(&msg).await?;
        let reply = self
            .wait_for(timeout, |m| match m {
                ServerMessage::Ok { id } | ServerMessage::Error { id, .. } => *id == Some(want),
                _ => false,
            })
            .await?;
        into_result(reply).map(|_| ())
    }

    /// Logs in and waits for `logged-in`; an `error` answer is [`ClientError::Server`]
    /// (`auth`, `already-logged-in`, `unknown-zone`, `bad-phone`, ...).
    pub async fn login(
        &mut self,
        agent: &str,
        password: &str,
        zone: &str,
        phone: &str,
        timeout: Duration,
    ) -> Result<LoginAccepted, ClientError> {
        let id = self.next_id();
        self.send(&ClientMessage::Login {
            id: Some(id),
            agent: agent.to_owned(),
            password: password.to_owned(),
            zone: zone.to_owned(),
            phone: phone.to_owned(),
        })
        .await?;
        let reply = self
            .wait_for(timeout, |m| {
                matches!(m, ServerMessage::LoggedIn { .. })
                    || matches!(m, ServerMessage::Error { id: e, .. } if e.is_none() || *e == Some(id))
            })
            .await?;
        match into_result(reply)? {
            ServerMessage::LoggedIn {
                agent,
                zone,
                heartbeat_ms,
                missed_heartbeats,
                ..
            } => Ok(LoginAccepted {
                agent,
                zone,
                heartbeat: Duration::from_millis(heartbeat_ms),
                missed_heartbeats,
            }),
            other => Err(ClientError::Unexpected {
                expected: "logged-in",
                got: Box::new(other),
            }),
        }
    }

    /// Closes the connection (a WebSocket close handshake, bounded to one second).
    pub async fn close(mut self) -> Result<(), ClientError> {
        match self.ws.close(None).await {
            Ok(()) => {}
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => {
                return Ok(())
            }
            Err(e) => return Err(ClientError::Io(Box::new(e))),
        }
        // Read up to the node's answering close frame (or the end of the stream).
        let drain = async {
            while let Some(Ok(m)) = self.ws.next().await {
                if m.is_close() {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
        Ok(())
    }

    async fn read(&mut self) -> Result<ServerMessage, ClientError> {
        loop {
            let frame = match self.ws.next().await {
                None => return Err(ClientError::Closed { reason: None }),
                Some(Err(e)) => return Err(ClientError::from_ws(e)),
                Some(Ok(m)) => m,
            };
            match frame {
                Message::Text(text) => {
                    return serde_json::from_str(&text)
                        .map_err(|source| ClientError::Malformed { text, source })
                }
                Message::Binary(_) => return Err(ClientError::BinaryFrame),
                Message::Close(frame) => {
                    let reason = frame
                        .map(|f| f.reason.into_owned())
                        .filter(|r| !r.is_empty());
                    return Err(ClientError::Closed { reason });
                }
                // Pings are answered by tungstenite itself.
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }
}

/// The `type` of a server message, for errors that must not print its (personal) data.
fn wire_type(m: &ServerMessage) -> &'static str {
    match m {
        ServerMessage::LoggedIn { .. } => "logged-in",
        ServerMessage::Ok { .. } => "ok",
        ServerMessage::State { .. } => "state",
        ServerMessage::Call(_) => "call",
        ServerMessage::Preview(_) => "preview",
        ServerMessage::CallEnded { .. } => "call-ended",
        ServerMessage::Service { .. } => "service",
        ServerMessage::StateCheck => "state-check",
        ServerMessage::LoggedOut { .. } => "logged-out",
        ServerMessage::Error { .. } => "error",
        ServerMessage::Heartbeat => "heartbeat",
    }
}

fn into_result(msg: ServerMessage) -> Result<ServerMessage, ClientError> {
    match msg {
        ServerMessage::Error { id, code, message } => {
            Err(ClientError::Server { id, code, message })
        }
        m => Ok(m),
    }
}

// ---- the simulated agent -------------------------------------------------------------------

pub use agent::{AgentRunReport, SimulatedAgent, SimulatedAgentConfig, TakeoverSeen, TalkTime};

#[cfg(test)]
mod tests;
