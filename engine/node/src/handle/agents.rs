//! The node's agent surface: desktop logins (credentials, zone, phone) and the supervisor's
//! view and moves of agents.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use actix::dev::channel;
use actix::prelude::*;
use tokio::sync::mpsc;

use super::NodeHandle;
use crate::actors::agent::{AgentActor, AgentView, AttachTo, ForceLogout, Phone, View};
use crate::auth::{LoginKind, LoginRefused};
use crate::config::DesktopSettings;
use crate::error::{Missing, NodeError};
use outdial_core::agent::{AgentId, AgentSession, LogoutReason};
use outdial_core::desktop::ServerMessage;
use outdial_core::domain::JobId;
use outdial_core::pacing::PacingPolicy;

use crate::job::RunState;

/// A refused login, with the desktop protocol's error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LoginError {
    pub code: &'static str,
    pub message: String,
}

fn refuse(code: &'static str, message: impl Into<String>) -> LoginError {
    LoginError {
        code,
        message: message.into(),
    }
}

/// `sip:user@192.0.2.1:5062` (or without the user, or without the port: 5060). The host must
/// be an IP literal: the node resolves no names on the login path.
pub fn parse_phone(uri: &str) -> Result<Phone, LoginError> {
    let bad = |why: &str| refuse("bad-phone", format!("phone {uri:?}: {why}"));
    let rest = uri
        .strip_prefix("sip:")
        .ok_or_else(|| bad("must be a sip: URI"))?;
    let host_port = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    let host_port = host_port.split(';').next().unwrap_or(host_port);
    let addr = if let Ok(a) = host_port.parse::<SocketAddr>() {
        a
    } else if let Ok(ip) = host_port.trim_matches(['[', ']']).parse::<IpAddr>() {
        SocketAddr::new(ip, 5060)
    } else {
        return Err(bad(
            "the host must be an IP address (with an optional port)",
        ));
    };
    if addr.port() == 0 || addr.ip().is_unspecified() {
        return Err(bad("needs a real address and port"));
    }
    Ok(Phone {
        uri: uri.to_owned(),
        addr,
    })
}

/// A desktop's login: who, with what password, where from, into which zone, with which phone.
#[derive(Debug, Clone, Copy)]
pub struct AgentLogin<'a> {
    pub agent: &'a str,
    pub password: &'a str,
    pub zone: &'a str,
    pub phone: &'a str,
    /// The desktop's address, for login throttling.
    pub source: IpAddr,
}

impl From<LoginRefused> for LoginError {
    fn from(e: LoginRefused) -> Self {
        match e {
            // One answer for an unknown agent and a wrong password.
            LoginRefused::Wrong => refuse("auth", "unknown agent or wrong password"),
            e @ LoginRefused::Throttled { .. } => refuse("throttled", e.to_string()),
            e => refuse("unavailable", e.to_string()),
        }
    }
}

impl NodeHandle {
    pub fn desktop_settings(&self) -> DesktopSettings {
        self.parts.desktop
    }

    /// Logs an agent in: checks its password (throttled, the same work for an unknown agent),
    /// zone and phone, registers it on the zone's board (one session per agent) and starts
    /// its actor, which nails the phone. Events for the desktop arrive on `desktop`.
    pub async fn login_agent(
        &self,
        login: AgentLogin<'_>,
        desktop: mpsc::Sender<ServerMessage>,
    ) -> Result<Addr<AgentActor>, LoginError> {
        let AgentLogin {
            agent, zone, phone, ..
        } = login;
        let account = self
            .parts
            .access
            .login(LoginKind::Agent, agent, login.password, login.source)
            .await?;
        let id = AgentId(agent.to_owned());
        let handle = self.parts.zones.get(zone).ok_or_else(|| {
            refuse(
                "unknown-zone",
                format!("zone {zone:?} is not mastered here"),
            )
        })?;
        let board = handle.board();
        if self.parts.writer.clustered() && !handle.lease().held() {
            // Smart failover: the desktop looks for the node that reports the zone in service.
            return Err(refuse(
                "not-master",
                format!("zone {zone:?} is mastered by another node of the cluster; log in there"),
            ));
        }
        if !board.in_service() {
            return Err(refuse(
                "unavailable",
                format!("zone {zone:?} is being taken over; log in when it is back"),
            ));
        }
        if !account.zones.is_empty() && !account.zones.iter().any(|z| z == zone) {
            return Err(refuse(
                "unknown-zone",
                format!("agent {agent} may not log in to zone {zone:?}"),
            ));
        }
        let phone = parse_phone(phone)?;
        self.check_phone(&phone)?;
        // The actor's address exists before the actor runs, so the board can refuse a second
        // session atomically, before anything is started.
        let (tx, rx) = channel::channel(64);
        let addr = Addr::new(tx);
        board
            .register(id.clone(), addr.clone())
            .map_err(|e| refuse("already-logged-in", e.to_string()))?;
        let deps = Arc::clone(&self.parts.agent_deps);
        let handle = Arc::clone(handle);
        let settings = self.parts.desktop.session;
        self.parts.home.spawn_fn(move || {
            let now = deps.clock.now();
            let session = AgentSession::new(id, handle.name().to_owned(), settings, now);
            let actor = AgentActor::new(deps, handle, session, phone, desktop);
            let ctx = Context::with_receiver(rx);
            actix::spawn(ctx.into_future(actor));
        });
        Ok(addr)
    }

    /// A phone must be in `[desktop] phone_networks`, and must not be one of the node's media
    /// servers or the node itself (nailing would then place a call through the trunk, or
    /// loop back).
    fn check_phone(&self, phone: &Phone) -> Result<(), LoginError> {
        let ip = phone.addr.ip();
        if !self.parts.phone_networks.iter().any(|n| n.contains(ip)) {
            return Err(refuse(
                "bad-phone",
                format!("phone address {ip} is outside the networks agents' phones may be in ([desktop] phone_networks)"),
            ));
        }
        let sip = self.parts.sip.local;
        let own = phone.addr == sip
            || (phone.addr.port() == sip.port() && (sip.ip().is_unspecified() || ip.is_loopback()));
        let mpp = self
            .parts
            .mpps
            .slots()
            .iter()
            .any(|m| m.config.address == phone.addr);
        if own || mpp {
            return Err(refuse(
                "bad-phone",
                "a phone cannot be one of the node's media servers or the node itself",
            ));
        }
        Ok(())
    }

    /// Each zone's agent and call counts, as its pacing loop sees them.
    pub fn zone_counts(&self) -> Vec<(String, outdial_core::pacing::ZoneSnapshot)> {
        let mut v: Vec<_> = self
            .parts
            .zones
            .iter()
            .map(|z| (z.name().to_owned(), z.board().counts()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Supervisor changes made while a zone is being taken over are refused, not lost
    /// (docs/design.md §5.2 rule 3): the caller hears so and may try again.
    pub(crate) fn refuse_during_takeover(&self, zone: &str) -> Result<(), NodeError> {
        if self.parts.zones.in_service(zone) {
            Ok(())
        } else {
            Err(NodeError::unavailable(format!(
                "zone {zone} is being taken over; the change was not made, try again when it is back"
            )))
        }
    }

    fn agent_addr(&self, agent: &str) -> Option<Addr<AgentActor>> {
        let id = AgentId(agent.to_owned());
        self.parts.zones.iter().find_map(|z| z.board().handle(&id))
    }

    /// Every logged-in agent, as its actor sees it now.
    pub async fn agents(&self) -> Vec<AgentView> {
        let mut out = Vec::new();
        for z in self.parts.zones.iter() {
            for (_, addr) in z.board().handles() {
                if let Ok(v) = addr.send(View).await {
                    out.push(v);
                }
            }
        }
        out.sort_by(|a, b| a.agent.cmp(&b.agent));
        out
    }

    /// A supervisor moves an agent to a job of its zone; a busy agent moves when next idle.
    pub async fn move_agent(&self, agent: &str, job: JobId) -> Result<(), NodeError> {
        let addr = self
            .agent_addr(agent)
            .ok_or_else(|| NodeError::NotFound(Missing::Agent(agent.to_owned())))?;
        let view = addr.send(View).await?;
        self.refuse_during_takeover(&view.zone)?;
        // The job's runtime exists as soon as its start is accepted, before its zone's pacing
        // loop attaches it: a move made right after a start is not refused for that race.
        let running = self.runtime(job).await.is_some_and(|rt| {
            rt.run_state() == RunState::Running
                && rt.campaign.zone() == view.zone
                && !matches!(rt.campaign.mode(), PacingPolicy::Agentless { .. })
        });
        if !running {
            return Err(NodeError::Conflict(format!(
                "job {job} is not running with agents in zone {}",
                view.zone
            )));
        }
        addr.send(AttachTo(job)).await.map_err(NodeError::from)
    }

    /// A supervisor logs an agent out.
    pub async fn logout_agent(&self, agent: &str) -> Result<(), NodeError> {
        let addr = self
            .agent_addr(agent)
            .ok_or_else(|| NodeError::NotFound(Missing::Agent(agent.to_owned())))?;
        let view = addr.send(View).await?;
        self.refuse_during_takeover(&view.zone)?;
        addr.send(ForceLogout(LogoutReason::Supervisor))
            .await
            .map_err(NodeError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_parse_to_addresses() {
        let p = parse_phone("sip:1001@127.0.0.1:5090").map(|p| p.addr);
        assert_eq!(p, Ok(SocketAddr::from(([127, 0, 0, 1], 5090))));
        let p = parse_phone("sip:127.0.0.1").map(|p| p.addr);
        assert_eq!(p, Ok(SocketAddr::from(([127, 0, 0, 1], 5060))));
        let p = parse_phone("sip:a@[::1]:5070;transport=udp").map(|p| p.addr);
        assert_eq!(
            p,
            Ok("[::1]:5070".parse().unwrap_or_else(|_| unreachable!()))
        );
        for bad in [
            "tel:+441234",
            "sip:phone.example.com",
            "sip:a@0.0.0.0:5060",
            "sip:",
            "sip:1.2.3.4:0",
        ] {
            assert_eq!(
                parse_phone(bad).map(|p| p.addr).map_err(|e| e.code),
                Err("bad-phone"),
                "{bad}"
            );
        }
    }
}
