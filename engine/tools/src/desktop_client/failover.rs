//! Smart failover for the desktops of a cluster ("smart failover", docs/design.md §8): a desktop
//! is given every node's address, and after losing its session it moves to the node that
//! reports itself master of the agent's zone *and* in service, never to one still taking the
//! zone over, then logs in again there.
//!
//! Client glue, like [`crate::desktop_client`]: it reads each node's `GET /v1/node`, which
//! needs a token with the viewer role (the desktop's deployment gives it one).

use std::time::Duration;

use serde_json::Value;
use tokio::sync::watch;

use crate::desktop_client::{
    desktop_url_for, AgentRunReport, SimulatedAgent, SimulatedAgentConfig,
};
use crate::status::Reach;

/// How often a desktop without a session asks the nodes where its zone is.
pub const LOOK_EVERY: Duration = Duration::from_millis(100);

/// Whether a node's status (`GET /v1/node`) says it masters `zone` and has it in service.
pub fn serves(status: &Value, zone: &str) -> bool {
    let master = status["components"].as_array().is_some_and(|cs| {
        cs.iter().any(|c| {
            c["component"] == "agent-manager" && c["role"] == "MASTER" && c["zone"] == zone
        })
    });
    let in_service = status["zones"].as_array().is_some_and(|zs| {
        zs.iter()
            .any(|z| z["zone"] == zone && z["in_service"].as_bool() == Some(true))
    });
    master && in_service
}

/// The API address (as given in `nodes`) of the first node that serves `zone` now; the
/// nodes' status is read with `reach` (a viewer token is enough).
pub async fn find_master(nodes: &[String], zone: &str, reach: &Reach) -> Option<String> {
    let apis = nodes.to_vec();
    let reach = reach.clone();
    let cols = tokio::task::spawn_blocking(move || crate::status::collect(&apis, &reach))
        .await
        .ok()?;
    cols.into_iter()
        .find(|c| c.status.as_ref().is_some_and(|s| serves(s, zone)))
        .map(|c| c.api)
}

/// One session of a desktop that follows its zone across the cluster.
#[derive(Debug)]
pub struct Session {
    /// The node's API address the session was on.
    pub node: String,
    pub report: AgentRunReport,
}

/// Runs a [`SimulatedAgent`] that, whenever its session ends (the node died, logged it out
/// as its zone moved, or refused the login because it is not the master), looks for the
/// node serving its zone and logs in there; until `stop`. Returns every session. `reach`
/// reads the nodes' status (a viewer token).
pub async fn run_with_failover(
    cfg: SimulatedAgentConfig,
    nodes: Vec<String>,
    reach: Reach,
    mut stop: watch::Receiver<bool>,
) -> Vec<Session> {
    let mut sessions = Vec::new();
    loop {
        if *stop.borrow() {
            return sessions;
        }
        let Some(node) = find_master(&nodes, &cfg.zone, &reach).await else {
            // Nobody serves the zone yet (a failover under way): look again shortly.
            if wait_or_stop(&mut stop, LOOK_EVERY).await {
                return sessions;
            }
            continue;
        };
        let mut c = cfg.clone();
        c.url = desktop_url_for(&node);
        let report = SimulatedAgent::new(c).run(stop.clone()).await;
        let failed = report.failure.is_some() && report.calls == 0;
        sessions.push(Session { node, report });
        if failed && wait_or_stop(&mut stop, LOOK_EVERY).await {
            return sessions;
        }
    }
}

/// Waits `d`, or until `stop` turns true (then returns true).
async fn wait_or_stop(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    match tokio::time::timeout(d, stop.changed()).await {
        Ok(Ok(())) => *stop.borrow(),
        Ok(Err(_)) => true,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_desktop_moves_only_to_a_master_in_service() {
        let status = |role: &str, in_service: bool| {
            json!({
                "components": [
                    {"component": "director", "role": "MASTER"},
                    {"component": "agent-manager", "role": role, "zone": "zone2"}
                ],
                "zones": [{"zone": "zone2", "in_service": in_service}]
            })
        };
        assert!(serves(&status("MASTER", true), "zone2"));
        // Taking the zone over: not yet.
        assert!(!serves(&status("MASTER", false), "zone2"));
        assert!(!serves(&status("DORMANT", true), "zone2"));
        // Another zone's master.
        assert!(!serves(&status("MASTER", true), "zone1"));
        // A dormant node lists no zone at all.
        let dormant = json!({
            "components": [{"component": "agent-manager", "role": "DORMANT"}],
            "zones": []
        });
        assert!(!serves(&dormant, "zone2"));
        assert!(!serves(&json!({}), "zone2"));
    }
}
