//! Against a scripted node: a tokio-tungstenite server in the test that plays the node's
//! side message by message. Nothing sleeps; every wait is for a message, with a timeout.

use std::collections::BTreeMap;

use tokio::sync::watch;

use super::*;
use outdial_core::agent::{CallState, EndedBy, LogoutReason, NailState};
use outdial_core::desktop::{parse_client, ContactCard, JobWire};
use outdial_core::domain::{AttemptId, CompletionCode};
use outdial_core::domain::{ContactId, JobId};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

const WAIT: Duration = Duration::from_secs(5);
const A1: AttemptId = AttemptId(4711);

/// The node's end of one desktop connection.
struct Node {
    ws: WebSocketStream<TcpStream>,
}

impl Node {
    async fn send(&mut self, m: &ServerMessage) {
        self.ws
            .send(Message::Text(m.to_json()))
            .await
            .expect("node send");
    }

    async fn send_all(&mut self, ms: &[ServerMessage]) {
        for m in ms {
            self.send(m).await;
        }
    }

    /// The next message from the desktop, heartbeats included.
    async fn recv_any(&mut self) -> ClientMessage {
        loop {
            let frame = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("the desktop said nothing")
                .expect("the desktop closed")
                .expect("node read");
            if let Message::Text(t) = frame {
                return parse_client(&t).expect("the node's parser accepts it");
            }
        }
    }

    /// The next message from the desktop that is not a heartbeat.
    async fn recv(&mut self) -> ClientMessage {
        loop {
            match self.recv_any().await {
                ClientMessage::Heartbeat { .. } => {}
                m => return m,
            }
        }
    }

    /// Waits for the desktop to close the connection, then drops it.
    async fn closed(mut self) {
        loop {
            // After the desktop's close frame, reading on sends the reply and ends.
            match tokio::time::timeout(WAIT, self.ws.next()).await {
                Err(_) => panic!("the desktop did not close"),
                Ok(None | Some(Err(_))) => return,
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}

async fn listen() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = desktop_url(l.local_addr().expect("local addr"));
    (l, url)
}

async fn accept(l: &TcpListener) -> Node {
    let (tcp, _) = l.accept().await.expect("accept");
    let ws = tokio_tungstenite::accept_async(tcp)
        .await
        .expect("handshake");
    Node { ws }
}

async fn pair() -> (DesktopClient, Node) {
    let (l, url) = listen().await;
    let (client, node) = tokio::join!(DesktopClient::connect(&url), accept(&l));
    (client.expect("connect"), node)
}

fn logged_in(heartbeat_ms: u64) -> ServerMessage {
    ServerMessage::LoggedIn {
        id: Some(1),
        agent: "alice".into(),
        zone: "z1".into(),
        heartbeat_ms,
        missed_heartbeats: 3,
        wrapup_timeout_ms: None,
    }
}

fn state(call_state: CallState, ready: bool, attempt: Option<AttemptId>) -> ServerMessage {
    ServerMessage::State {
        call_state,
        ready,
        not_ready_reason: (!ready).then(|| "login".to_owned()),
        nail: NailState::Nailed,
        job: JobWire::Attached { job: JobId(3) },
        attempt,
    }
}

fn card(attempt: AttemptId) -> ContactCard {
    ContactCard {
        attempt,
        job: JobId(3),
        contact: ContactId(9),
        phone: "+441632960123".into(),
        fields: BTreeMap::new(),
    }
}

fn ended(by: EndedBy) -> ServerMessage {
    ServerMessage::CallEnded {
        attempt: A1,
        by,
        code: None,
    }
}

fn error(code: &str) -> ServerMessage {
    ServerMessage::error(None, code, "refused")
}

// ---- DesktopClient --------------------------------------------------------------------

#[test]
fn every_client_message_is_what_the_node_parses() {
    let msgs = [
        ClientMessage::Login {
            id: Some(1),
            agent: "alice".into(),
            password: "secret".into(),
            zone: "z1".into(),
            phone: "sip:alice@127.0.0.1:5070".into(),
        },
        ClientMessage::Ready { id: None },
        ClientMessage::NotReady {
            id: Some(2),
            reason: Some("lunch".into()),
        },
        ClientMessage::AcceptPreview {
            id: None,
            attempt: Some(A1),
        },
        ClientMessage::SkipPreview {
            id: None,
            attempt: None,
        },
        ClientMessage::Hold { id: None },
        ClientMessage::Unhold { id: None },
        ClientMessage::HangUp {
            id: None,
            attempt: Some(A1),
        },
        ClientMessage::Dispose {
            id: Some(3),
            attempt: Some(A1),
            code: CompletionCode::Busy,
            callback_at_ms: Some(1_767_261_600_000),
        },
        ClientMessage::Logout { id: None },
        ClientMessage::Heartbeat { id: None },
    ];
    for m in msgs {
        let text = serde_json::to_string(&m).expect("encode");
        assert_eq!(parse_client(&text).ok(), Some(m.clone()), "{text}");
        let mut with_id = m.clone();
        with_id.set_id(77);
        assert_eq!(with_id.id(), Some(77));
    }
}

#[test]
fn wire_type_is_the_serialized_type() {
    let msgs = [
        logged_in(5000),
        ServerMessage::Ok { id: None },
        state(CallState::Idle, true, None),
        ServerMessage::Call(card(A1)),
        ServerMessage::Preview(card(A1)),
        ended(EndedBy::Customer),
        ServerMessage::Service { available: true },
        ServerMessage::LoggedOut {
            reason: LogoutReason::Requested,
        },
        error("auth"),
        ServerMessage::Heartbeat,
    ];
    for m in msgs {
        let v: serde_json::Value = serde_json::from_str(&m.to_json()).expect("json");
        assert_eq!(v["type"], wire_type(&m), "{m:?}");
    }
    let e = ClientError::Unexpected {
        expected: "logged-in",
        got: Box::new(ServerMessage::Call(card(A1))),
    };
    assert!(
        !e.to_string().contains("+44"),
        "no personal data in errors: {e}"
    );
}

#[test]
fn desktop_url_is_the_v1_desktop_path() {
    assert_eq!(
        desktop_url("127.0.0.1:8080"),
        "ws://127.0.0.1:8080/v1/desktop"
    );
}

#[tokio::test]
async fn recv_returns_heartbeats_and_times_out() {
    let (mut client, mut node) = pair().await;
    node.send(&ServerMessage::Heartbeat).await;
    assert_eq!(
        client.recv(WAIT).await.expect("recv"),
        ServerMessage::Heartbeat
    );
    let e = client.recv(Duration::from_millis(20)).await;
    assert!(matches!(e, Err(ClientError::Timeout(_))), "{e:?}");
    // A timed-out recv lost nothing: the next message still arrives.
    node.send(&ServerMessage::Service { available: true }).await;
    assert_eq!(
        client.recv(WAIT).await.expect("recv"),
        ServerMessage::Service { available: true }
    );
}

#[tokio::test]
async fn wait_for_answers_heartbeats_and_skips_the_rest() {
    let (mut client, mut node) = pair().await;
    node.send_all(&[
        ServerMessage::Heartbeat,
        ServerMessage::Service { available: false },
        ServerMessage::Heartbeat,
        state(CallState::Idle, true, None),
    ])
    .await;
    let got = client
        .wait_for(WAIT, |m| matches!(m, ServerMessage::State { .. }))
        .await
        .expect("state");
    assert_eq!(got, state(CallState::Idle, true, None));
    for _ in 0..2 {
        assert_eq!(node.recv_any().await, ClientMessage::Heartbeat { id: None });
    }
    node.send_all(&[ServerMessage::Heartbeat, ServerMessage::Ok { id: None }])
        .await;
    assert_eq!(
        client.recv_skip_heartbeats(WAIT).await.expect("recv"),
        ServerMessage::Ok { id: None }
    );
    assert_eq!(node.recv_any().await, ClientMessage::Heartbeat { id: None });
    let e = client.wait_for(Duration::from_millis(20), |_| true).await;
    assert!(matches!(e, Err(ClientError::Timeout(_))), "{e:?}");
}

#[tokio::test]
async fn login_is_accepted() {
    let (mut client, mut node) = pair().await;
    let script = async {
        let m = node.recv().await;
        let ClientMessage::Login {
            id,
            agent,
            password,
            zone,
            phone,
        } = m
        else {
            panic!("not a login: {m:?}");
        };
        assert_eq!(
            (agent.as_str(), password.as_str(), zone.as_str()),
            ("alice", "secret", "z1")
        );
        assert_eq!(phone, "sip:alice@127.0.0.1:5070");
        node.send(&state(CallState::Idle, false, None)).await;
        node.send(&ServerMessage::LoggedIn {
            id,
            agent,
            zone,
            heartbeat_ms: 1500,
            missed_heartbeats: 3,
            wrapup_timeout_ms: None,
        })
        .await;
    };
    let (got, ()) = tokio::join!(
        client.login("alice", "secret", "z1", "sip:alice@127.0.0.1:5070", WAIT),
        script
    );
    assert_eq!(
        got.expect("login"),
        LoginAccepted {
            agent: "alice".into(),
            zone: "z1".into(),
            heartbeat: Duration::from_millis(1500),
            missed_heartbeats: 3,
        }
    );
}

#[tokio::test]
async fn login_refused_is_a_server_error() {
    let (mut client, mut node) = pair().await;
    let script = async {
        let id = node.recv().await.id();
        node.send(&ServerMessage::error(id, "auth", "wrong password"))
            .await;
    };
    let (got, ()) = tokio::join!(client.login("alice", "bad", "z1", "sip:a@h", WAIT), script);
    let e = got.expect_err("refused");
    assert_eq!(e.server_code(), Some("auth"));
    assert!(e.to_string().contains("wrong password"), "{e}");
}

#[tokio::test]
async fn request_matches_its_reply_by_id() {
    let (mut client, mut node) = pair().await;
    let script = async {
        let m = node.recv().await;
        assert!(matches!(m, ClientMessage::Hold { .. }), "{m:?}");
        let id = m.id().expect("request sets an id");
        // Someone else's reply first, then ours.
        node.send(&ServerMessage::Ok { id: Some(id + 100) }).await;
        node.send(&ServerMessage::error(Some(id), "not-in-state", "idle"))
            .await;
        let m = node.recv().await;
        node.send(&ServerMessage::Ok { id: m.id() }).await;
    };
    let (first, second) = async {
        let a = client.request(ClientMessage::Hold { id: None }, WAIT).await;
        let b = client
            .request(ClientMessage::Ready { id: None }, WAIT)
            .await;
        (a, b)
    }
    .then_join(script)
    .await;
    assert_eq!(
        first.expect_err("refused").server_code(),
        Some("not-in-state")
    );
    second.expect("ok");
}

/// `tokio::join!` for two futures where the second returns `()`.
trait ThenJoin: std::future::Future + Sized {
    async fn then_join(self, other: impl std::future::Future<Output = ()>) -> Self::Output {
        tokio::join!(self, other).0
    }
}
impl<F: std::future::Future> ThenJoin for F {}

#[tokio::test]
async fn malformed_and_binary_frames_are_protocol_errors() {
    let (mut client, mut node) = pair().await;
    node.ws
        .send(Message::Text("{\"type\":\"no-such\"}".into()))
        .await
        .expect("send");
    node.ws
        .send(Message::Binary(vec![1, 2, 3]))
        .await
        .expect("send");
    let e = client.recv(WAIT).await;
    assert!(
        matches!(&e, Err(ClientError::Malformed { text, .. }) if text.contains("no-such")),
        "{e:?}"
    );
    let e = client.recv(WAIT).await;
    assert!(matches!(e, Err(ClientError::BinaryFrame)), "{e:?}");
    // The connection survives both.
    node.send(&ServerMessage::Heartbeat).await;
    assert_eq!(
        client.recv(WAIT).await.expect("recv"),
        ServerMessage::Heartbeat
    );
}

#[tokio::test]
async fn a_close_from_the_node_is_closed_with_its_reason() {
    let (mut client, mut node) = pair().await;
    node.ws
        .close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "logged out".into(),
        }))
        .await
        .expect("close");
    let e = client.recv(WAIT).await;
    assert!(
        matches!(&e, Err(ClientError::Closed { reason: Some(r) }) if r == "logged out"),
        "{e:?}"
    );
}

#[tokio::test]
async fn close_ends_the_connection() {
    let (client, node) = pair().await;
    let (closed, ()) = tokio::join!(client.close(), node.closed());
    closed.expect("close");
}

#[tokio::test]
async fn connecting_to_nothing_is_a_connect_error() {
    let (l, url) = listen().await;
    drop(l);
    let e = DesktopClient::connect(&url).await.expect_err("refused");
    assert!(
        matches!(&e, ClientError::Connect { url: u, .. } if *u == url),
        "{e:?}"
    );
    let e = DesktopClient::connect("not a url")
        .await
        .expect_err("bad url");
    assert!(matches!(e, ClientError::Connect { .. }), "{e:?}");
}

// ---- SimulatedAgent ---------------------------------------------------------------------

fn agent_cfg(url: &str) -> SimulatedAgentConfig {
    SimulatedAgentConfig {
        talk: TalkTime::Fixed(Duration::from_millis(30)),
        wrap: Duration::from_millis(10),
        disposition: CompletionCode::Busy,
        ..SimulatedAgentConfig::new(url, "alice", "secret", "z1", "sip:alice@127.0.0.1:5070")
    }
}

/// Starts `cfg`'s agent against a scripted node and plays the login up to ready.
async fn logged_in_agent(
    cfg: impl FnOnce(&str) -> SimulatedAgentConfig,
    heartbeat_ms: u64,
) -> (
    Node,
    watch::Sender<bool>,
    tokio::task::JoinHandle<AgentRunReport>,
) {
    let (l, url) = listen().await;
    let (stop_tx, stop_rx) = watch::channel(false);
    let agent = tokio::spawn(SimulatedAgent::new(cfg(&url)).run(stop_rx));
    let mut node = accept(&l).await;
    let m = node.recv().await;
    assert!(matches!(m, ClientMessage::Login { .. }), "{m:?}");
    node.send(&logged_in(heartbeat_ms)).await;
    // Not nailed yet: the agent waits.
    node.send(&ServerMessage::State {
        call_state: CallState::Idle,
        ready: false,
        not_ready_reason: Some("login".into()),
        nail: NailState::Nailing,
        job: JobWire::Unattached,
        attempt: None,
    })
    .await;
    node.send(&state(CallState::Idle, false, None)).await;
    assert_eq!(node.recv().await, ClientMessage::Ready { id: None });
    node.send(&state(CallState::Idle, true, None)).await;
    (node, stop_tx, agent)
}

/// Waits until the agent has read everything sent so far: a not-ready `state` gets a
/// `ready` back (messages are handled in order), and is then made ready again.
async fn sync(node: &mut Node, call_state: CallState, attempt: Option<AttemptId>) {
    node.send(&state(call_state, false, attempt)).await;
    assert_eq!(node.recv().await, ClientMessage::Ready { id: None });
    node.send(&state(call_state, true, attempt)).await;
}

/// Stops the agent from idle and plays the logout.
async fn stop_idle(
    mut node: Node,
    stop: watch::Sender<bool>,
    agent: tokio::task::JoinHandle<AgentRunReport>,
) -> AgentRunReport {
    sync(&mut node, CallState::Idle, None).await;
    stop.send(true).expect("the agent is running");
    assert_eq!(node.recv().await, ClientMessage::Logout { id: None });
    node.send(&ServerMessage::LoggedOut {
        reason: LogoutReason::Requested,
    })
    .await;
    node.closed().await;
    let report = agent.await.expect("the agent task");
    assert_eq!(report.logged_out, Some(LogoutReason::Requested));
    assert!(report.failure.is_none(), "{:?}", report.failure);
    report
}

#[tokio::test]
async fn simulated_agent_talks_hangs_up_wraps_up_and_disposes() {
    let (mut node, stop, agent) = logged_in_agent(agent_cfg, 60_000).await;
    let offered = Instant::now();
    node.send(&ServerMessage::Call(card(A1))).await;
    node.send(&state(CallState::Talking, true, Some(A1))).await;
    assert_eq!(
        node.recv().await,
        ClientMessage::HangUp {
            id: None,
            attempt: Some(A1)
        }
    );
    assert!(
        offered.elapsed() >= Duration::from_millis(30),
        "talked too little"
    );
    let hung_up = Instant::now();
    node.send(&ended(EndedBy::Agent)).await;
    node.send(&state(CallState::Wrapup, true, Some(A1))).await;
    assert_eq!(
        node.recv().await,
        ClientMessage::Dispose {
            id: None,
            attempt: Some(A1),
            code: CompletionCode::Busy,
            callback_at_ms: None
        }
    );
    assert!(
        hung_up.elapsed() >= Duration::from_millis(10),
        "wrapped too little"
    );
    node.send(&state(CallState::Idle, true, None)).await;

    let r = stop_idle(node, stop, agent).await;
    assert_eq!(r.agent, "alice");
    assert_eq!(
        (r.calls, r.agent_hung_up, r.customer_ended, r.dispositions),
        (1, 1, 0, 1)
    );
    assert_eq!((r.previews_accepted, r.errors, r.malformed), (0, 0, 0));
    assert!(r.logged_in >= Duration::from_millis(40));
}

#[tokio::test]
async fn simulated_agent_disposes_when_the_customer_ends_first() {
    let cfg = |url: &str| SimulatedAgentConfig {
        talk: TalkTime::Fixed(Duration::from_secs(3600)),
        ..agent_cfg(url)
    };
    let (mut node, stop, agent) = logged_in_agent(cfg, 60_000).await;
    node.send(&ServerMessage::Call(card(A1))).await;
    node.send(&state(CallState::Talking, true, Some(A1))).await;
    node.send(&ended(EndedBy::Customer)).await;
    node.send(&state(CallState::Wrapup, true, Some(A1))).await;
    let m = node.recv().await;
    assert!(
        matches!(
            m,
            ClientMessage::Dispose {
                attempt: Some(A1),
                ..
            }
        ),
        "{m:?}"
    );
    node.send(&state(CallState::Idle, true, None)).await;
    let r = stop_idle(node, stop, agent).await;
    assert_eq!(
        (r.calls, r.agent_hung_up, r.customer_ended, r.dispositions),
        (1, 0, 1, 1)
    );
}

#[tokio::test]
async fn simulated_agent_leaves_a_timed_out_wrapup_alone() {
    let cfg = |url: &str| SimulatedAgentConfig {
        talk: TalkTime::Fixed(Duration::from_secs(3600)),
        wrap: Duration::from_secs(3600),
        ..agent_cfg(url)
    };
    let (mut node, stop, agent) = logged_in_agent(cfg, 60_000).await;
    node.send(&ServerMessage::Call(card(A1))).await;
    node.send(&ended(EndedBy::Customer)).await;
    node.send(&state(CallState::Wrapup, true, Some(A1))).await;
    // The node's wrap-up timer disposes first.
    node.send(&state(CallState::Idle, true, None)).await;
    let r = stop_idle(node, stop, agent).await;
    assert_eq!((r.calls, r.dispositions), (1, 0));
}

#[tokio::test]
async fn simulated_agent_accepts_previews_and_ends_the_call_when_stopped() {
    let cfg = |url: &str| SimulatedAgentConfig {
        talk: TalkTime::Fixed(Duration::from_secs(3600)),
        ..agent_cfg(url)
    };
    let (mut node, stop, agent) = logged_in_agent(cfg, 60_000).await;
    node.send(&ServerMessage::Preview(card(A1))).await;
    node.send(&state(CallState::Preview, true, Some(A1))).await;
    assert_eq!(
        node.recv().await,
        ClientMessage::AcceptPreview {
            id: None,
            attempt: Some(A1)
        }
    );
    node.send(&state(CallState::Dialing, true, Some(A1))).await;
    node.send(&ServerMessage::Call(card(A1))).await;
    node.send(&state(CallState::Talking, true, Some(A1))).await;
    // Mid-call (the agent would talk an hour), stop: hang up, dispose, log out.
    sync(&mut node, CallState::Talking, Some(A1)).await;
    stop.send(true).expect("running");
    assert_eq!(
        node.recv().await,
        ClientMessage::HangUp {
            id: None,
            attempt: Some(A1)
        }
    );
    node.send(&ended(EndedBy::Agent)).await;
    node.send(&state(CallState::Wrapup, true, Some(A1))).await;
    let m = node.recv().await;
    assert!(
        matches!(
            m,
            ClientMessage::Dispose {
                attempt: Some(A1),
                ..
            }
        ),
        "{m:?}"
    );
    node.send(&state(CallState::Idle, true, None)).await;
    assert_eq!(node.recv().await, ClientMessage::Logout { id: None });
    node.send(&ServerMessage::LoggedOut {
        reason: LogoutReason::Requested,
    })
    .await;
    let (r, ()) = tokio::join!(agent, node.closed());
    let r = r.expect("agent task");
    assert_eq!((r.previews_accepted, r.calls, r.dispositions), (1, 1, 1));
    assert_eq!(r.logged_out, Some(LogoutReason::Requested));
}

#[tokio::test]
async fn simulated_agent_heartbeats_at_the_node_rate() {
    let (mut node, stop, agent) = logged_in_agent(agent_cfg, 10).await;
    let since = Instant::now();
    for _ in 0..3 {
        assert_eq!(node.recv_any().await, ClientMessage::Heartbeat { id: None });
    }
    assert!(since.elapsed() >= Duration::from_millis(20));
    stop_idle(node, stop, agent).await;
}

#[tokio::test]
async fn simulated_agent_counts_errors_and_ends_when_the_node_logs_it_out() {
    let (mut node, _stop, agent) = logged_in_agent(agent_cfg, 60_000).await;
    node.send_all(&[
        error("not-in-state"),
        error("not-your-call"),
        error("not-in-state"),
        ServerMessage::LoggedOut {
            reason: LogoutReason::DesktopLost,
        },
    ])
    .await;
    let (r, ()) = tokio::join!(agent, node.closed());
    let r = r.expect("agent task");
    assert_eq!(r.errors, 3);
    assert_eq!(r.error_codes.get("not-in-state"), Some(&2));
    assert_eq!(r.error_codes.get("not-your-call"), Some(&1));
    assert_eq!(r.logged_out, Some(LogoutReason::DesktopLost));
    assert!(r.failure.is_none(), "{:?}", r.failure);
}

#[tokio::test]
async fn simulated_agent_reports_a_refused_login() {
    let (l, url) = listen().await;
    let (_stop_tx, stop_rx) = watch::channel(false);
    let agent = tokio::spawn(SimulatedAgent::new(agent_cfg(&url)).run(stop_rx));
    let mut node = accept(&l).await;
    let id = node.recv().await.id();
    node.send(&ServerMessage::error(
        id,
        "already-logged-in",
        "one session per agent",
    ))
    .await;
    let r = agent.await.expect("agent task");
    assert_eq!(
        r.failure.as_ref().and_then(ClientError::server_code),
        Some("already-logged-in")
    );
    assert_eq!(r.errors, 1);
    assert_eq!(r.logged_in, Duration::ZERO);
}

#[tokio::test]
async fn simulated_agent_reports_a_lost_connection() {
    let (node, _stop, agent) = logged_in_agent(agent_cfg, 60_000).await;
    drop(node);
    let r = agent.await.expect("agent task");
    assert!(
        matches!(
            r.failure,
            Some(ClientError::Closed { .. } | ClientError::Io(_))
        ),
        "{:?}",
        r.failure
    );
    assert_eq!(r.logged_out, None);
}

#[tokio::test]
async fn a_stopped_agent_does_not_connect() {
    let (stop_tx, stop_rx) = watch::channel(true);
    let r = SimulatedAgent::new(agent_cfg("ws://127.0.0.1:9/v1/desktop"))
        .run(stop_rx)
        .await;
    drop(stop_tx);
    assert!(r.failure.is_none());
    assert_eq!(r.calls, 0);
}

#[test]
fn exponential_talk_times_are_seeded_with_the_right_mean() {
    let cfg = |seed| SimulatedAgentConfig {
        talk: TalkTime::Exponential {
            mean: Duration::from_secs(30),
            seed,
        },
        ..agent_cfg("ws://unused")
    };
    let mut a = SimulatedAgent::new(cfg(7));
    let mut b = SimulatedAgent::new(cfg(7));
    let mut c = SimulatedAgent::new(cfg(8));
    let xs: Vec<Duration> = (0..20_000).map(|_| a.talk_time()).collect();
    let ys: Vec<Duration> = (0..20_000).map(|_| b.talk_time()).collect();
    assert_eq!(xs, ys, "same seed, same talk times");
    assert_ne!(
        xs[..10],
        (0..10).map(|_| c.talk_time()).collect::<Vec<_>>()[..]
    );
    let mean = xs.iter().map(Duration::as_secs_f64).sum::<f64>() / xs.len() as f64;
    assert!((mean - 30.0).abs() < 1.0, "mean {mean}");
    let mut fixed = SimulatedAgent::new(agent_cfg("ws://unused"));
    assert_eq!(fixed.talk_time(), Duration::from_millis(30));
}
