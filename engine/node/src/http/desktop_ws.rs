//! The desktop WebSocket shell (`GET /v1/desktop`): frames in, [`ClientMessage`]s to the
//! agent's actor; the actor's events out as JSON; heartbeats both ways. A desktop that stays
//! silent for `missed_heartbeats` intervals, or whose connection drops, is logged out with
//! reason desktop-lost (an active call gets desktop-error: docs/design.md §5.2 rule 5).

use std::time::Duration;

use actix::Addr;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Message};
use tokio::sync::mpsc;

use crate::actors::agent::{AgentActor, Desktop, ForceLogout};
use crate::NodeHandle;
use outdial_core::agent::LogoutReason;
use outdial_core::desktop::{parse_client, ClientMessage, ServerMessage};
use outdial_core::error_chain;

/// Events a desktop may have queued before it counts as not reading them.
const DESKTOP_QUEUE: usize = 256;

pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    node: web::Data<NodeHandle>,
) -> Result<HttpResponse, actix_web::Error> {
    let (resp, session, stream) = actix_ws::handle(&req, body)?;
    let node = node.get_ref().clone();
    actix_web::rt::spawn(run(node, session, stream));
    Ok(resp)
}

async fn send(ws: &mut actix_ws::Session, msg: &ServerMessage) -> bool {
    ws.text(msg.to_json()).await.is_ok()
}

async fn run(node: NodeHandle, mut ws: actix_ws::Session, mut stream: actix_ws::MessageStream) {
    let settings = node.desktop_settings();
    let heartbeat = settings.heartbeat;
    let silence_limit = heartbeat * settings.missed_heartbeats.max(1);
    let (tx, mut rx) = mpsc::channel::<ServerMessage>(DESKTOP_QUEUE);
    let mut agent: Option<Addr<AgentActor>> = None;
    let mut last_heard = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(heartbeat);
    tick.tick().await;
    let close = loop {
        tokio::select! {
            frame = stream.recv() => {
                let text = match frame {
                    None | Some(Err(_)) => break None,
                    Some(Ok(Message::Close(_))) => break None,
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Ping(p))) => {
                        last_heard = tokio::time::Instant::now();
                        if ws.pong(&p).await.is_err() { break None; }
                        continue;
                    }
                    Some(Ok(Message::Pong(_))) => {
                        last_heard = tokio::time::Instant::now();
                        continue;
                    }
                    Some(Ok(Message::Binary(_))) => {
                        let m = ServerMessage::error(None, "malformed", "binary frames are not part of the protocol; send JSON text");
                        if !send(&mut ws, &m).await { break None; }
                        continue;
                    }
                    Some(Ok(_)) => continue,
                };
                last_heard = tokio::time::Instant::now();
                let reply = handle_text(&node, &text, &mut agent, &tx).await;
                if let Some(r) = reply {
                    if !send(&mut ws, &r).await { break None; }
                }
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
        ) => match node.login_agent(name, password, zone, phone, tx.clone()) {
            Ok(addr) => {
                *agent = Some(addr);
                let s = node.desktop_settings();
                Some(ServerMessage::LoggedIn {
                    id,
                    agent: name.clone(),
                    zone: zone.clone(),
                    heartbeat_ms: u64::try_from(s.heartbeat.as_millis()).unwrap_or(u64::MAX),
                    missed_heartbeats: s.missed_heartbeats,
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
