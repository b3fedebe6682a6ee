//! The supervisor wall-board's feed (`GET /v1/board`, a WebSocket): one publisher per node
//! builds one snapshot per tick — agents with their state and time in it, zones, recent jobs,
//! the node's components and each zone's takeovers — and every viewer's socket forwards the
//! same shared text. A hundred viewers cost one snapshot, not a hundred queries. The
//! publisher runs only while someone watches.
//!
//! Viewers send nothing the feed needs: their frames are read only to notice a close, and
//! anything over [`VIEWER_FRAME_BYTES`] ends the connection.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use actix_ws::AggregatedMessage;
use serde::Serialize;
use tokio::sync::watch;

use super::super::error::ApiError;
use crate::actors::agent::AgentView;
use crate::handle::{ComponentStatus, JobLive, ZoneLive, ZoneTakeovers};
use crate::NodeHandle;
use outdial_core::agent::{CallState, NailState};

/// How often agents and zones are sampled.
pub const TICK: Duration = Duration::from_millis(200);
/// Jobs (storage reads) are refreshed every this many ticks.
const JOB_EVERY: u32 = 5;
/// A snapshot unchanged this many ticks is sent again anyway (clients see the feed is alive).
const KEEPALIVE_TICKS: u32 = 25;
/// Jobs shown, newest first.
const JOBS_SHOWN: usize = 20;
/// Viewers at once.
const MAX_VIEWERS: usize = 500;
/// Largest frame a viewer may send.
pub const VIEWER_FRAME_BYTES: usize = 1024;

/// The one publisher's output and who listens to it.
pub struct BoardFeed {
    tx: watch::Sender<Arc<str>>,
    running: AtomicBool,
    viewers: AtomicUsize,
}

impl Default for BoardFeed {
    fn default() -> Self {
        BoardFeed {
            tx: watch::channel(Arc::from("")).0,
            running: AtomicBool::new(false),
            viewers: AtomicUsize::new(0),
        }
    }
}

/// One agent on the board.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct AgentRow {
    agent: String,
    zone: String,
    /// `available`, `not-ready`, `unnailed`, or the call state (`talking`, `wrapup`, …).
    state: String,
    job: outdial_core::desktop::JobWire,
    /// Unix ms the agent entered `state`, as the publisher saw it.
    since_ms: u64,
    occupancy: f64,
    calls: u64,
}

#[derive(Serialize)]
struct Snapshot<'a> {
    node: &'a str,
    agents: &'a [AgentRow],
    by_state: &'a std::collections::BTreeMap<String, u32>,
    zones: &'a [ZoneLive],
    jobs: &'a [JobLive],
    components: &'a [ComponentStatus],
    takeovers: &'a [ZoneTakeovers],
}

fn state_name(v: &AgentView) -> String {
    if v.nail != NailState::Nailed {
        return "unnailed".into();
    }
    match v.call_state {
        CallState::Idle if v.ready => "available".into(),
        CallState::Idle => "not-ready".into(),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|s| s.as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("{other:?}").to_lowercase()),
    }
}

/// The publisher's memory between ticks: when each agent entered its state.
#[derive(Default)]
struct Publisher {
    since: HashMap<String, (String, u64)>,
    jobs: Vec<JobLive>,
    components: Vec<ComponentStatus>,
    takeovers: Vec<ZoneTakeovers>,
    last_body: String,
    unchanged: u32,
    tick: u32,
}

impl Publisher {
    /// One snapshot; `None` when nothing changed and no keep-alive is due.
    async fn build(&mut self, node: &NodeHandle) -> Option<String> {
        let now = node.unix_ms();
        if self.tick.is_multiple_of(JOB_EVERY) {
            match node.jobs_live(JOBS_SHOWN).await {
                Ok(j) => self.jobs = j,
                Err(e) => tracing::warn!(error = %e, "wall-board: cannot read the jobs"),
            }
            let status = node.status();
            self.components = status.components;
            self.takeovers = status.zones;
        }
        self.tick = self.tick.wrapping_add(1);
        let views = node.agents().await;
        let mut seen = HashMap::with_capacity(views.len());
        let mut by_state = std::collections::BTreeMap::new();
        let agents: Vec<AgentRow> = views
            .iter()
            .map(|v| {
                let state = state_name(v);
                let since = match self.since.get(&v.agent.0) {
                    Some((s, t)) if *s == state => *t,
                    _ => now,
                };
                seen.insert(v.agent.0.clone(), (state.clone(), since));
                *by_state.entry(state.clone()).or_insert(0u32) += 1;
                AgentRow {
                    agent: v.agent.0.clone(),
                    zone: v.zone.clone(),
                    state,
                    job: v.job,
                    since_ms: since,
                    occupancy: v.occupancy,
                    calls: v.calls,
                }
            })
            .collect();
        self.since = seen;
        let zones = node.zones_live();
        let body = serde_json::to_string(&Snapshot {
            node: node.name(),
            agents: &agents,
            by_state: &by_state,
            zones: &zones,
            jobs: &self.jobs,
            components: &self.components,
            takeovers: &self.takeovers,
        })
        .ok()?;
        if body == self.last_body && self.unchanged < KEEPALIVE_TICKS {
            self.unchanged += 1;
            return None;
        }
        self.unchanged = 0;
        // `now_ms` lets a page show times in state against the node's clock, not its own.
        let text = format!("{{\"now_ms\":{now},{}", body.get(1..).unwrap_or("}"));
        self.last_body = body;
        Some(text)
    }
}

impl BoardFeed {
    /// Starts the publisher unless it runs; it stops by itself once nobody watches.
    fn ensure_running(self: &Arc<Self>, node: NodeHandle) {
        if self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let feed = Arc::clone(self);
        actix_web::rt::spawn(async move {
            let mut p = Publisher::default();
            let mut tick = tokio::time::interval(TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tick.tick().await;
                if feed.tx.receiver_count() == 0 {
                    feed.running.store(false, Ordering::Release);
                    // A viewer that came in between the count and the store restarts us.
                    if feed.tx.receiver_count() == 0 || feed.running.swap(true, Ordering::AcqRel) {
                        return;
                    }
                }
                if let Some(text) = p.build(&node).await {
                    feed.tx.send_replace(Arc::from(text));
                }
            }
        });
    }
}

/// `GET /v1/board`: the wall-board's WebSocket.
pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    node: web::Data<NodeHandle>,
    feed: web::Data<BoardFeed>,
) -> Result<HttpResponse, actix_web::Error> {
    let feed = feed.into_inner();
    if feed.viewers.fetch_add(1, Ordering::AcqRel) >= MAX_VIEWERS {
        feed.viewers.fetch_sub(1, Ordering::AcqRel);
        return Ok(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the wall-board has its most viewers ({MAX_VIEWERS})"),
        )
        .error_response());
    }
    let viewer = Viewer(Arc::clone(&feed));
    let (resp, mut ws, stream) = actix_ws::handle(&req, body)?;
    let mut stream = stream
        .max_frame_size(VIEWER_FRAME_BYTES)
        .aggregate_continuations()
        .max_continuation_size(VIEWER_FRAME_BYTES);
    let mut rx = feed.tx.subscribe();
    feed.ensure_running(node.get_ref().clone());
    actix_web::rt::spawn(async move {
        let _viewer = viewer;
        // The latest snapshot at once, if the publisher already runs; else its first.
        let first = rx.borrow_and_update().clone();
        if !first.is_empty() && ws.text(first.to_string()).await.is_err() {
            return;
        }
        loop {
            tokio::select! {
                changed = rx.changed() => {
                    if changed.is_err() { break; }
                    let text = rx.borrow_and_update().clone();
                    if !text.is_empty() && ws.text(text.to_string()).await.is_err() { break; }
                }
                frame = stream.recv() => match frame {
                    Some(Ok(AggregatedMessage::Ping(p))) => {
                        if ws.pong(&p).await.is_err() { break; }
                    }
                    Some(Ok(AggregatedMessage::Close(_))) | Some(Err(_)) | None => break,
                    Some(Ok(_)) => {}
                },
            }
        }
        let _ = ws.close(None).await;
    });
    Ok(resp)
}

/// A viewer's place, given back when its connection ends.
struct Viewer(Arc<BoardFeed>);

impl Drop for Viewer {
    fn drop(&mut self) {
        self.0.viewers.fetch_sub(1, Ordering::AcqRel);
    }
}
