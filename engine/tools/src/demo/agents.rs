//! The demo's simulated agents: they log in over the node's real desktop WebSocket with
//! phones the node nails, work calls for their talk and wrap-up times, and report what their
//! desktops saw.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::desktop_client::{
    desktop_url, AgentRunReport, SimulatedAgent, SimulatedAgentConfig, TakeoverSeen, TalkTime,
};
use outdial_core::agent::NailState;
use outdial_node::NodeHandle;

use super::report::AgentsReport;
use super::DemoOptions;

/// Agents logged in and working.
pub(super) struct Agents {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<AgentRunReport>>,
}

/// What the agents' sessions and desktops saw, once they stopped.
#[derive(Default)]
pub(super) struct AgentsSeen {
    pub report: AgentsReport,
    pub takeovers: Vec<TakeoverSeen>,
    /// HA time accounted to the agents, all together, seconds.
    pub ha_seconds: f64,
}

impl Agents {
    /// Logs `credentials` in at the node's API `http` with phones at `phones`, and waits
    /// (bounded) until every one is nailed and ready.
    pub(super) async fn start(
        node: &NodeHandle,
        http: SocketAddr,
        phones: SocketAddr,
        credentials: &[(String, String)],
        opts: &DemoOptions,
        progress: bool,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let (stop, stop_rx) = watch::channel(false);
        let url = desktop_url(http);
        let tasks = credentials
            .iter()
            .enumerate()
            .map(|(i, (id, pw))| {
                let mut c = SimulatedAgentConfig::new(
                    &url,
                    id,
                    pw,
                    "default",
                    &format!("sip:{id}@{phones}"),
                );
                c.talk = TalkTime::Exponential {
                    mean: opts.talk_mean,
                    seed: 7 + i as u64,
                };
                c.wrap = opts.wrap;
                tokio::task::spawn_local(SimulatedAgent::new(c).run(stop_rx.clone()))
            })
            .collect();
        wait_until_ready(node, credentials.len(), progress).await?;
        Ok(Self { stop, tasks })
    }

    /// Stops the agents; occupancy and HA time come from the node's own sessions, read
    /// before they leave.
    pub(super) async fn stop(self, node: &NodeHandle, agents: u32) -> AgentsSeen {
        let views = node.agents().await;
        let _ = self.stop.send(true);
        let mut seen = AgentsSeen {
            ha_seconds: views.iter().map(|v| v.times.ha.as_secs_f64()).sum(),
            ..AgentsSeen::default()
        };
        seen.report.agents = agents;
        let (busy, logged): (f64, f64) = views.iter().fold((0.0, 0.0), |acc, v| {
            (
                acc.0 + (v.times.talk + v.times.wrap).as_secs_f64(),
                acc.1 + v.times.logged_in.as_secs_f64(),
            )
        });
        seen.report.occupancy = if logged > 0.0 { busy / logged } else { 0.0 };
        for t in self.tasks {
            if let Ok(r) = t.await {
                seen.report.calls += r.calls;
                seen.report.dispositions += r.dispositions;
                seen.report.desktop_errors += r.errors;
                seen.takeovers.extend(r.takeovers);
            }
        }
        seen
    }
}

/// Waits (bounded) until `n` agents are nailed and ready.
async fn wait_until_ready(
    node: &NodeHandle,
    n: usize,
    progress: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    for _ in 0..200 {
        let views = node.agents().await;
        let ready = views
            .iter()
            .filter(|v| v.ready && v.nail == NailState::Nailed)
            .count();
        if progress {
            eprint!("\ragents nailed and ready: {ready}/{n}   ");
            let _ = std::io::stderr().flush();
        }
        if ready >= n {
            if progress {
                eprintln!();
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("the demo's {n} agents were not all nailed and ready within 20 s").into())
}
