//! `--faults N`: faults injected into the running demo every couple of seconds, zone faults
//! every other time and agents, the director and the campaign manager taking turns between.

use std::time::Duration;

use tokio::task::JoinHandle;

use outdial_core::domain::JobId;
use outdial_node::faults::Fault;
use outdial_node::storage::JobState;
use outdial_node::NodeHandle;

/// How often `--faults` injects one.
const FAULT_EVERY: Duration = Duration::from_secs(2);

/// What was injected, and how long the director and campaign manager took to come back.
#[derive(Debug, Default)]
pub(super) struct Injected {
    pub count: u32,
    pub director_ms: Vec<f64>,
    pub manager_ms: Vec<f64>,
}

/// Starts injecting `n` faults while `job` runs; the run may end before all are made.
pub(super) fn start(
    node: NodeHandle,
    job: JobId,
    n: u32,
    agents: Vec<String>,
) -> JoinHandle<Injected> {
    tokio::task::spawn_local(async move {
        let mut done = Injected::default();
        for i in 0..n {
            tokio::time::sleep(FAULT_EVERY).await;
            let over = node
                .job_report(job)
                .await
                .map(|r| matches!(r.job.state, JobState::Finished | JobState::Stopped));
            if over.unwrap_or(true) {
                break;
            }
            let fault = pick(i, &agents);
            let control = match fault {
                Fault::PanicDirector => Some("director"),
                Fault::PanicCampaignManager => Some("campaign-manager"),
                _ => None,
            };
            match node.inject(fault) {
                Ok(_) => done.count += 1,
                // The agent may be between sessions; the next fault goes on.
                Err(e) => tracing::warn!(error = %e, "fault not injected"),
            }
            if let Some(c) = control {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let ms = node
                    .status()
                    .components
                    .iter()
                    .find(|x| x.component == c)
                    .and_then(|x| x.last_restart_ms);
                match (ms, c) {
                    (Some(ms), "director") => done.director_ms.push(ms),
                    (Some(ms), _) => done.manager_ms.push(ms),
                    _ => {}
                }
            }
        }
        done
    })
}

/// The `i`-th fault: the zone's pacing actor every other time; in between an agent, the
/// director and the campaign manager in turn.
fn pick(i: u32, agents: &[String]) -> Fault {
    match (i % 2, (i / 2) % 3) {
        (0, _) => Fault::PanicZone {
            zone: "default".into(),
        },
        (_, 0) => match agents.get(i as usize % agents.len().max(1)) {
            Some(agent) => Fault::PanicAgent {
                agent: agent.clone(),
            },
            None => Fault::PanicDirector,
        },
        (_, 1) => Fault::PanicDirector,
        _ => Fault::PanicCampaignManager,
    }
}
