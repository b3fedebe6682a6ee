//! A simulated agent on the desktop client: logs in, goes ready, takes and works calls for
//! its talk and wrap-up times, disposes, and reports what its desktop saw (takeovers too).

use super::*;
use outdial_core::agent::CallState;
use outdial_core::agent::{EndedBy, LogoutReason, NailState};
use outdial_core::desktop::{ClientMessage, ServerMessage};
use outdial_core::domain::{AttemptId, CompletionCode};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// How long a simulated agent talks before hanging up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TalkTime {
    Fixed(Duration),
    /// Exponentially distributed with this mean, from a generator seeded with `seed`.
    Exponential {
        mean: Duration,
        seed: u64,
    },
}

/// A [`SimulatedAgent`]'s behaviour.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedAgentConfig {
    /// The node's desktop endpoint ([`desktop_url`]).
    pub url: String,
    pub agent: String,
    pub password: String,
    pub zone: String,
    /// The agent's phone, `sip:user@host:port`, which the node nails.
    pub phone: String,
    pub talk: TalkTime,
    /// Time spent in wrap-up before disposing.
    pub wrap: Duration,
    /// The code every call is disposed with.
    pub disposition: CompletionCode,
    /// Heartbeat interval; `None` follows the node's `heartbeat_ms`. A longer one than the
    /// node's lets a test watch the node give up on a silent desktop.
    pub heartbeat: Option<Duration>,
    /// How long to wait for the node's answer to login and, when stopping, to logout.
    pub reply_timeout: Duration,
    /// The CAs to trust for a `wss://` URL (default: the public web's roots).
    pub tls: Option<TlsTrust>,
}

impl SimulatedAgentConfig {
    /// Talks 20 s, wraps up 5 s, disposes `answered-human`, heartbeats at the node's rate.
    pub fn new(url: &str, agent: &str, password: &str, zone: &str, phone: &str) -> Self {
        Self {
            url: url.to_owned(),
            agent: agent.to_owned(),
            password: password.to_owned(),
            zone: zone.to_owned(),
            phone: phone.to_owned(),
            talk: TalkTime::Fixed(Duration::from_secs(20)),
            wrap: Duration::from_secs(5),
            disposition: CompletionCode::AnsweredHuman,
            heartbeat: None,
            reply_timeout: Duration::from_secs(10),
            tls: None,
        }
    }
}

/// What a [`SimulatedAgent`] did, for the demo's summary and the tests' assertions.
#[derive(Debug, Default)]
pub struct AgentRunReport {
    pub agent: String,
    /// `call` events (screen pops), preview calls that were answered included.
    pub calls: u64,
    /// Calls the customer (or the phone leg) ended before the agent hung up.
    pub customer_ended: u64,
    /// Calls the agent hung up after its talk time.
    pub agent_hung_up: u64,
    pub previews_accepted: u64,
    /// `dispose` messages sent.
    pub dispositions: u64,
    /// `error` messages received.
    pub errors: u64,
    /// The same, by code.
    pub error_codes: BTreeMap<String, u64>,
    /// Messages from the node that could not be read.
    pub malformed: u64,
    /// From `logged-in` to `logged-out` (or to the connection's end).
    pub logged_in: Duration,
    /// Why the node ended the session, if it said.
    pub logged_out: Option<LogoutReason>,
    /// `service` events saying the zone went out of service (takeovers lived through).
    pub service_outages: u64,
    /// `state-check` requests answered.
    pub state_checks: u64,
    /// Each takeover as this desktop saw it: its state before and after, and what it was told.
    pub takeovers: Vec<TakeoverSeen>,
    /// What ended the run early: connect or login failure, a lost connection.
    pub failure: Option<ClientError>,
}

/// One takeover from the desktop's side (docs/design.md §5.3, Table 9): what its last `state`
/// said when the service went down, whether it was told its call dropped meanwhile, and
/// the `state` it was in when asked to confirm.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TakeoverSeen {
    pub before: (CallState, Option<AttemptId>),
    /// Attached to a job when the service went down (Table 9 applies only then).
    pub attached: bool,
    /// A `call-ended` with `by: failover` came.
    pub call_lost: bool,
    /// The nail in the `state` that preceded the check.
    pub nail: Option<NailState>,
    pub after: Option<(CallState, Option<AttemptId>)>,
}

impl TakeoverSeen {
    /// Whether the state after the takeover is Table 9's for the state before and the
    /// column this desktop's view gives (an agent with no job keeps its state).
    pub fn follows_table9(&self) -> bool {
        use outdial_core::agent::takeover::{after_takeover, Column, ConsultRole};
        let Some((after, _)) = self.after else {
            return false;
        };
        let before = self.before.0;
        if !self.attached {
            return after == before;
        }
        let nailed = self.nail == Some(NailState::Nailed);
        after
            == after_takeover(
                before,
                Column::of(!self.call_lost, nailed),
                ConsultRole::Owner,
            )
    }
}

/// An automated agent: logs in, gets ready once nailed, talks, hangs up, wraps up, disposes,
/// accepts every preview, heartbeats, and logs out when told to stop.
#[derive(Debug)]
pub struct SimulatedAgent {
    cfg: SimulatedAgentConfig,
    rng: Option<SmallRng>,
}

/// The next thing the agent does on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    HangUp(AttemptId),
    Dispose(AttemptId),
}

/// What the agent knows while it runs.
#[derive(Debug, Default)]
struct Run {
    /// The call state and attempt of the node's last `state`.
    seen: Option<(CallState, Option<AttemptId>)>,
    /// The nail and job of the node's last `state`.
    nail: Option<NailState>,
    attached: bool,
    /// A takeover under way, as this desktop lives it.
    outage: Option<TakeoverSeen>,
    plan: Option<(Instant, Plan)>,
    /// The last call command sent, so none is sent twice for one attempt.
    last_sent: Option<Sent>,
    /// `ready` was sent and not yet confirmed or refused.
    ready_sent: bool,
    /// The node ended the session.
    ended: bool,
}

impl Run {
    fn planned(&self) -> Option<Plan> {
        self.plan.map(|(_, p)| p)
    }
}

/// A call command the agent sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    Accept(AttemptId),
    HangUp(AttemptId),
    Dispose(AttemptId),
}

enum Step {
    Heartbeat,
    Plan,
    Message(Result<ServerMessage, ClientError>),
}

impl SimulatedAgent {
    pub fn new(cfg: SimulatedAgentConfig) -> Self {
        let rng = match cfg.talk {
            TalkTime::Exponential { seed, .. } => Some(SmallRng::seed_from_u64(seed)),
            TalkTime::Fixed(_) => None,
        };
        Self { cfg, rng }
    }

    /// The next call's talk time.
    pub(super) fn talk_time(&mut self) -> Duration {
        match (self.cfg.talk, self.rng.as_mut()) {
            (TalkTime::Exponential { mean, .. }, Some(rng)) => {
                // Inverse transform: -mean·ln(1-u) with u in [0, 1).
                let u: f64 = rng.gen();
                mean.mul_f64(-(1.0 - u).ln())
            }
            (TalkTime::Fixed(d), _) | (TalkTime::Exponential { mean: d, .. }, None) => d,
        }
    }

    /// Runs until `stop` turns true (or its sender is dropped), then logs out; or until the
    /// node logs the agent out or the connection fails.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) -> AgentRunReport {
        let mut report = AgentRunReport {
            agent: self.cfg.agent.clone(),
            ..AgentRunReport::default()
        };
        if *stop.borrow() {
            return report;
        }
        let mut client =
            match DesktopClient::connect_with(&self.cfg.url, self.cfg.tls.as_ref()).await {
                Ok(c) => c,
                Err(e) => {
                    report.failure = Some(e);
                    return report;
                }
            };
        let cfg = &self.cfg;
        let login = client
            .login(
                &cfg.agent,
                &cfg.password,
                &cfg.zone,
                &cfg.phone,
                cfg.reply_timeout,
            )
            .await;
        let accepted = match login {
            Ok(a) => a,
            Err(e) => {
                if let Some(code) = e.server_code() {
                    count_error(&mut report, code);
                }
                report.failure = Some(e);
                return report;
            }
        };
        let since = Instant::now();
        let period = (cfg.heartbeat)
            .unwrap_or(accepted.heartbeat)
            .max(Duration::from_millis(1));
        let mut heartbeat = tokio::time::interval_at(since + period, period);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        let mut run = Run::default();
        while !run.ended {
            let due = run.plan.map(|(t, _)| t);
            // What the node said comes first: a stop or a timer acts on an up-to-date state.
            let step = tokio::select! {
                biased;
                m = client.read() => Step::Message(m),
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        break;
                    }
                    continue;
                }
                _ = heartbeat.tick() => Step::Heartbeat,
                () = sleep_until_opt(due) => Step::Plan,
            };
            let done = match step {
                Step::Heartbeat => client.send(&ClientMessage::Heartbeat { id: None }).await,
                Step::Plan => self.act(&mut client, &mut run, &mut report).await,
                Step::Message(Err(ClientError::Malformed { .. })) => {
                    report.malformed += 1;
                    Ok(())
                }
                Step::Message(Err(e)) => Err(e),
                Step::Message(Ok(msg)) => {
                    self.on_message(&mut client, msg, &mut run, &mut report)
                        .await
                }
            };
            if let Err(e) = done {
                report.failure = Some(e);
                report.logged_in = since.elapsed();
                return report;
            }
        }

        if !run.ended {
            self.log_out(&mut client, &mut run, &mut report).await;
        }
        report.logged_in = since.elapsed();
        // The node may already have closed its side; nothing is left to report.
        let _ = client.close().await;
        report
    }

    /// Carries out the plan that fell due.
    async fn act(
        &self,
        client: &mut DesktopClient,
        run: &mut Run,
        report: &mut AgentRunReport,
    ) -> Result<(), ClientError> {
        match run.plan.take() {
            Some((_, Plan::HangUp(attempt))) => {
                report.agent_hung_up += 1;
                run.last_sent = Some(Sent::HangUp(attempt));
                run.plan = Some((Instant::now() + self.cfg.wrap, Plan::Dispose(attempt)));
                client
                    .send(&ClientMessage::HangUp {
                        id: None,
                        attempt: Some(attempt),
                    })
                    .await
            }
            Some((_, Plan::Dispose(attempt))) => {
                report.dispositions += 1;
                run.last_sent = Some(Sent::Dispose(attempt));
                client.send(&self.dispose(attempt)).await
            }
            None => Ok(()),
        }
    }

    async fn on_message(
        &mut self,
        client: &mut DesktopClient,
        msg: ServerMessage,
        run: &mut Run,
        report: &mut AgentRunReport,
    ) -> Result<(), ClientError> {
        let now = Instant::now();
        match msg {
            ServerMessage::State {
                call_state,
                ready,
                nail,
                attempt,
                job,
                ..
            } => {
                run.seen = Some((call_state, attempt));
                run.nail = Some(nail);
                run.attached = matches!(
                    job,
                    outdial_core::desktop::JobWire::Attached { .. }
                        | outdial_core::desktop::JobWire::PendingMove { .. }
                );
                if ready {
                    run.ready_sent = false;
                }
                match (call_state, attempt) {
                    // A wrap-up whose call-ended we did not see (after a takeover, say).
                    (CallState::Wrapup, Some(a))
                        if run.planned() != Some(Plan::Dispose(a))
                            && run.last_sent != Some(Sent::Dispose(a)) =>
                    {
                        run.plan = Some((now + self.cfg.wrap, Plan::Dispose(a)));
                    }
                    // The node disposed on its own (its wrap-up timeout).
                    (CallState::Idle, _) => run.plan = None,
                    _ => {}
                }
                if nail == NailState::Nailed && !ready && !run.ready_sent {
                    run.ready_sent = true;
                    return client.send(&ClientMessage::Ready { id: None }).await;
                }
            }
            ServerMessage::Call(card) => {
                report.calls += 1;
                let talk = self.talk_time();
                run.plan = Some((now + talk, Plan::HangUp(card.attempt)));
            }
            ServerMessage::Preview(card) => {
                report.previews_accepted += 1;
                run.last_sent = Some(Sent::Accept(card.attempt));
                return client
                    .send(&ClientMessage::AcceptPreview {
                        id: None,
                        attempt: Some(card.attempt),
                    })
                    .await;
            }
            ServerMessage::CallEnded { attempt, by, .. } => match by {
                EndedBy::Failover => {
                    if let Some(o) = run.outage.as_mut() {
                        o.call_lost = true;
                    }
                    if run.planned() == Some(Plan::HangUp(attempt)) {
                        report.customer_ended += 1;
                        run.plan = Some((now + self.cfg.wrap, Plan::Dispose(attempt)));
                    }
                }
                EndedBy::Customer | EndedBy::PhoneLost => {
                    if run.planned() == Some(Plan::HangUp(attempt)) {
                        report.customer_ended += 1;
                        run.plan = Some((now + self.cfg.wrap, Plan::Dispose(attempt)));
                    }
                }
                // Our own hang-up (the disposition is planned), or an unanswered preview.
                EndedBy::Agent | EndedBy::NotAnswered => {}
            },
            ServerMessage::Error { code, .. } if code == "unavailable" => {
                // A takeover is under way: do it again a little later.
                *report.error_codes.entry(code).or_default() += 1;
                match run.last_sent.take() {
                    Some(Sent::Dispose(a)) => {
                        run.plan = Some((now + self.cfg.wrap, Plan::Dispose(a)))
                    }
                    Some(Sent::HangUp(a)) => {
                        run.plan = Some((now + self.cfg.wrap, Plan::HangUp(a)))
                    }
                    _ => run.ready_sent = false,
                }
            }
            ServerMessage::Error { code, .. } => {
                count_error(report, &code);
                // A refused `ready` is sent again on the next nailed state.
                run.ready_sent = false;
            }
            ServerMessage::LoggedOut { reason } => {
                report.logged_out = Some(reason);
                run.ended = true;
            }
            ServerMessage::StateCheck => {
                // Report what the last `state` event said, as the protocol asks.
                report.state_checks += 1;
                let (call_state, attempt) = run.seen.unwrap_or((CallState::Idle, None));
                if let Some(mut o) = run.outage.take() {
                    o.nail = run.nail;
                    o.after = run.seen;
                    report.takeovers.push(o);
                }
                return client
                    .send(&ClientMessage::StateReport {
                        id: None,
                        call_state,
                        attempt,
                    })
                    .await;
            }
            ServerMessage::Service { available } => {
                if !available {
                    report.service_outages += 1;
                    run.outage = Some(TakeoverSeen {
                        before: run.seen.unwrap_or((CallState::Idle, None)),
                        attached: run.attached,
                        call_lost: false,
                        nail: None,
                        after: None,
                    });
                }
            }
            ServerMessage::LoggedIn { .. }
            | ServerMessage::Ok { .. }
            | ServerMessage::Heartbeat => {}
        }
        Ok(())
    }

    fn dispose(&self, attempt: AttemptId) -> ClientMessage {
        ClientMessage::Dispose {
            id: None,
            attempt: Some(attempt),
            code: self.cfg.disposition,
            callback_at_ms: None,
        }
    }

    /// Ends whatever is up (hangs up, disposes, skips a preview), logs out and waits for
    /// `logged-out`, all within `reply_timeout`.
    async fn log_out(
        &self,
        client: &mut DesktopClient,
        run: &mut Run,
        report: &mut AgentRunReport,
    ) {
        let deadline = Instant::now() + self.cfg.reply_timeout;
        // The state last acted on: each state gets at most one command.
        let mut acted = None;
        let mut retries = 3u32;
        loop {
            let now_state = run.seen.unwrap_or((CallState::Idle, None));
            if acted != Some(now_state) {
                acted = Some(now_state);
                if let Some(msg) = self.closing_step(now_state, run, report) {
                    if let Err(e) = client.send(&msg).await {
                        report.failure = Some(e);
                        return;
                    }
                }
            }
            let msg = match tokio::time::timeout_at(deadline, client.read()).await {
                Err(_) => {
                    report.failure = Some(ClientError::Timeout(self.cfg.reply_timeout));
                    return;
                }
                Ok(Err(ClientError::Malformed { .. })) => {
                    report.malformed += 1;
                    continue;
                }
                Ok(Err(e)) => {
                    report.failure = Some(e);
                    return;
                }
                Ok(Ok(m)) => m,
            };
            match msg {
                ServerMessage::LoggedOut { reason } => {
                    report.logged_out = Some(reason);
                    return;
                }
                ServerMessage::State {
                    call_state,
                    attempt,
                    ..
                } => run.seen = Some((call_state, attempt)),
                // Too late to work it: counted, then hung up when its state arrives.
                ServerMessage::Call(_) => report.calls += 1,
                ServerMessage::Error { code, .. } => {
                    count_error(report, &code);
                    if retries == 0 {
                        return;
                    }
                    retries -= 1;
                    acted = None;
                    run.last_sent = None;
                }
                ServerMessage::Heartbeat => {
                    if let Err(e) = client.send(&ClientMessage::Heartbeat { id: None }).await {
                        report.failure = Some(e);
                        return;
                    }
                }
                _ => {}
            }
        }
    }
}

impl SimulatedAgent {
    /// The command that moves a stopping agent from `state` towards logged out, unless it
    /// was sent already and the node's answer is still on its way.
    fn closing_step(
        &self,
        state: (CallState, Option<AttemptId>),
        run: &mut Run,
        report: &mut AgentRunReport,
    ) -> Option<ClientMessage> {
        let (msg, sent) = match state {
            (s, Some(a)) if s.on_call() || s == CallState::Dialing => (
                ClientMessage::HangUp {
                    id: None,
                    attempt: Some(a),
                },
                Some(Sent::HangUp(a)),
            ),
            (CallState::Wrapup, Some(a)) => (self.dispose(a), Some(Sent::Dispose(a))),
            // Accepted: it becomes Dialing, then is hung up.
            (CallState::Preview, Some(a)) if run.last_sent == Some(Sent::Accept(a)) => return None,
            (CallState::Preview, attempt) => {
                (ClientMessage::SkipPreview { id: None, attempt }, None)
            }
            _ => (ClientMessage::Logout { id: None }, None),
        };
        if sent.is_some() && sent == run.last_sent {
            return None;
        }
        if let Some(Sent::Dispose(_)) = sent {
            report.dispositions += 1;
        }
        if sent.is_some() {
            run.last_sent = sent;
        }
        Some(msg)
    }
}

fn count_error(report: &mut AgentRunReport, code: &str) {
    report.errors += 1;
    *report.error_codes.entry(code.to_owned()).or_default() += 1;
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
