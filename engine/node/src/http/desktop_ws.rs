//! The desktop WebSocket shell (`GET /v1/desktop`): frames in, [`ClientMessage`]s to the
//! agent's actor; the actor's events out as JSON; heartbeats both ways. A desktop that stays
//! silent for `missed_heartbeats` intervals, or whose connection drops, is logged out with
//! reason desktop-lost (an active call gets desktop-error: docs/design.md §5.2 rule 5).
//!
//! Hostile input stays cheap: connections are capped in all and per source address before
//! the upgrade, a frame or message over `[desktop] max_message_bytes` is refused from its
//! header ([`super::ws_guard`]), a connection that does not log in within `login_timeout_ms`
//! is closed, and logins are throttled and checked off this thread (`auth`). The gate has
//! already refused a foreign `Origin`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::Addr;
use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, ProtocolError};
use tokio::sync::mpsc;

use super::error::ApiError;
use super::ws_guard::FrameGuard;
use crate::actors::agent::{AgentActor, Desktop, ForceLogout};
use crate::handle::AgentLogin;
use crate::NodeHandle;
use outdial_core::agent::LogoutReason;
use outdial_core::desktop::{parse_client, ClientMessage, ServerMessage};
use outdial_core::error_chain;

/// Events a desktop may have queued before it counts as not reading them.
const DESKTOP_QUEUE: usize = 256;

/// Desktop connections open now, in all and by source address.
#[derive(Debug, Default)]
pub struct DesktopSlots {
    open: Mutex<(u32, HashMap<IpAddr, u32>)>,
}

/// One open connection's place; given back when dropped.
pub struct Slot {
    slots: Arc<DesktopSlots>,
    source: IpAddr,
}

impl DesktopSlots {
    fn take(
        self: &Arc<Self>,
        source: IpAddr,
        total: u32,
        per_source: u32,
    ) -> Result<Slot, ApiError> {
        let Ok(mut open) = self.open.lock() else {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "desktop service unavailable",
            ));
        };
        if open.0 >= total {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "the node has its most desktop connections open ({total}); try again later"
                ),
            ));
        }
        let mine = open.1.entry(source).or_insert(0);
        if *mine >= per_source {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!("{source} has its most desktop connections open ({per_source})"),
            ));
        }
        *mine += 1;
        open.0 += 1;
        Ok(Slot {
            slots: Arc::clone(self),
            source,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.slots.open.lock() {
            open.0 = open.0.saturating_sub(1);
            if let Some(n) = open.1.get_mut(&self.source) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    open.1.remove(&self.source);
                }
            }
        }
    }
}

pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    node: web::Data<NodeHandle>,
    slots: web::Data<DesktopSlots>,
) -> Result<HttpResponse, actix_web::Error> {
    let settings = node.desktop_settings();
    let Some(source) = req.peer_addr().map(|a| a.ip()) else {
        return Ok(ApiError::new(StatusCode::BAD_REQUEST, "no peer address").error_response());
    };
    let slot = match slots.into_inner().take(
        source,
        settings.max_connections,
        settings.max_connections_per_source,
    ) {
        Ok(s) => s,
        Err(e) => return Ok(e.error_response()),
    };
    // Every byte the client sends passes the frame-size guard before the decoder buffers it.
    let max = settings.max_message_bytes;
    let guarded = FrameGuard::new(body.into_inner(), max as u64);
    type Boxed =
        std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<web::Bytes, PayloadError>>>>;
    let mut payload = actix_web::dev::Payload::from(Box::pin(guarded) as Boxed);
    let body = web::Payload::from_request(&req, &mut payload).await?;
    let (resp, session, stream) = actix_ws::handle(&req, body)?;
    let stream = stream
        .max_frame_size(max)
        .aggregate_continuations()
        .max_continuation_size(max);
    let node = node.get_ref().clone();
    actix_web::rt::spawn(async move {
        run(node, session, stream, source).await;
        drop(slot);
    });
    Ok(resp)
}

/// How a stream error closes the connection: too big (1009) or a protocol error (1002).
fn closing(e: &ProtocolError) -> CloseReason {
    let too_big = match e {
        ProtocolError::Overflow => true,
        ProtocolError::Io(io) => io
            .get_ref()
            .and_then(|x| x.downcast_ref::<PayloadError>())
            .is_some_and(|p| matches!(p, PayloadError::Overflow)),
        _ => false,
    };
    if too_big {
        CloseReason {
            code: CloseCode::Size,
            description: Some(super::ws_guard::TOO_BIG.into()),
        }
    } else {
        CloseReason {
            code: CloseCode::Protocol,
            description: Some("not a well-formed WebSocket stream".into()),
        }
    }
}

async fn send(ws: &mut actix_ws::Session, msg: &ServerMessage) -> bool {
    ws.text(msg.to_json()).await.is_ok()
}

async fn run(
    node: NodeHandle,
    mut ws: actix_ws::Session,
    mut stream: actix_ws::AggregatedMessageStream,
    source: IpAddr,
) {
    let settings = node.desktop_settings();
    let heartbeat = settings.heartbeat;
    let silence_limit = heartbeat * settings.missed_heartbeats.max(1);
    let (tx, mut rx) = mpsc::channel::<ServerMessage>(DESKTOP_QUEUE);
    let mut agent: Option<Addr<AgentActor>> = None;
    let mut last_heard = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(heartbeat);
    tick.tick().await;
    let login_by = tokio::time::sleep(settings.login_timeout);
    tokio::pin!(login_by);
    let mut logged_in = false;
    let close = loop {
        tokio::select! {
            frame = stream.recv() => {
                let text = match frame {
                    None => break None,
                    Some(Err(e)) => break Some(closing(&e)),
                    Some(Ok(AggregatedMessage::Close(_))) => break None,
                    Some(Ok(AggregatedMessage::Text(t))) => t,
                    Some(Ok(AggregatedMessage::Ping(p))) => {
                        last_heard = tokio::time::Instant::now();
                        if ws.pong(&p).await.is_err() { break None; }
                        continue;
                    }
                    Some(Ok(AggregatedMessage::Pong(_))) => {
                        last_heard = tokio::time::Instant::now();
                        continue;
                    }
                    Some(Ok(AggregatedMessage::Binary(_))) => {
                        let m = ServerMessage::error(None, "malformed", "binary frames are not part of the protocol; send JSON text");
                        if !send(&mut ws, &m).await { break None; }
                        continue;
                    }
                };
                last_heard = tokio::time::Instant::now();
                let reply = handle_text(&node, &text, &mut agent, &tx, source).await;
                logged_in |= agent.is_some();
                if let Some(r) = reply {
                    if !send(&mut ws, &r).await { break None; }
                }
            }
            _ = &mut login_by, if !logged_in => {
                break Some(CloseReason {
                    code: CloseCode::Policy,
                    description: Some("no login in time".into()),
                });
            }
            Some(ev) = rx.recv() => {
                let ended = matches!(ev, ServerMessage::LoggedOut { .. });
                if !send(&mut ws, &ev).await { break None; }
                if ended {
                    // The session is over; the desktop may log in again on a new connection.
                    agent = None;
                    break Some(CloseReason { code: CloseCode::Normal, description: Some("logged out".into()) });
                }
            }
            _ = tick.tick() => {
                if last_heard.elapsed() > silence_limit {
                    tracing::info!("desktop missed its heartbeats; treating it as disconnected");
                    break Some(CloseReason { code: CloseCode::Policy, description: Some("missed heartbeats".into()) });
                }
                if !send(&mut ws, &ServerMessage::Heartbeat).await { break None; }
            }
        }
    };
    if let Some(a) = agent {
        a.do_send(ForceLogout(LogoutReason::DesktopLost));
        // Tell the desktop why, if it still listens.
        let deadline = tokio::time::sleep(Duration::from_millis(500));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                Some(ev) = rx.recv() => {
                    let ended = matches!(ev, ServerMessage::LoggedOut { .. });
                    if !send(&mut ws, &ev).await || ended { break; }
                }
                _ = &mut deadline => break,
            }
        }
    }
    let _ = ws.close(close).await;
}

/// One text frame. Returns the direct reply (`ok`, `logged-in` or `error`), if any.
async fn handle_text(
    node: &NodeHandle,
    text: &str,
    agent: &mut Option<Addr<AgentActor>>,
    tx: &mpsc::Sender<ServerMessage>,
    source: IpAddr,
) -> Option<ServerMessage> {
    let msg = match parse_client(text) {
        Ok(m) => m,
        Err(e) => return Some(ServerMessage::error(None, "malformed", error_chain(&e))),
    };
    let id = msg.id();
    match (&msg, agent.as_ref()) {
        (ClientMessage::Heartbeat { .. }, _) => None,
        (
            ClientMessage::Login {
                agent: name,
                password,
                zone,
                phone,
                ..
            },
            None,
        ) => match node
            .login_agent(
                AgentLogin {
                    agent: name,
                    password,
                    zone,
                    phone,
                    source,
                },
                tx.clone(),
            )
            .await
        {
            Ok(addr) => {
                *agent = Some(addr);
                let s = node.desktop_settings();
                Some(ServerMessage::LoggedIn {
                    id,
                    agent: name.clone(),
                    zone: zone.clone(),
                    heartbeat_ms: u64::try_from(s.heartbeat.as_millis()).unwrap_or(u64::MAX),
                    missed_heartbeats: s.missed_heartbeats,
                    wrapup_timeout_ms: u64::try_from(s.session.wrapup_timeout.as_millis()).ok(),
                })
            }
            Err(e) => Some(ServerMessage::error(id, e.code, e.message)),
        },
        (ClientMessage::Login { .. }, Some(_)) => Some(ServerMessage::error(
            id,
            "already-logged-in",
            "this connection already has a session; log out first",
        )),
        (_, None) => Some(ServerMessage::error(id, "not-logged-in", "log in first")),
        (_, Some(a)) => match a.send(Desktop(msg)).await {
            Ok(reply) => Some(reply),
            Err(_) => {
                *agent = None;
                Some(ServerMessage::error(
                    id,
                    "logged-out",
                    "the session has ended",
                ))
            }
        },
    }
}
