//! The four roles and what each grants; who is asking (a [`Principal`]) and how they proved it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What an identity may do. Admin includes supervisor, supervisor includes viewer; an agent
/// is apart from the others: it drives its own desktop session and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Configuration, faults, the cluster, users and tokens; and everything a supervisor does.
    Admin,
    /// Campaigns, jobs, contacts, agents, do-not-call; and everything a viewer does.
    Supervisor,
    /// Its own desktop session only (the desktop WebSocket).
    Agent,
    /// Read-only status and metrics.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Supervisor, Role::Agent, Role::Viewer];

    /// Whether this role may do what `needed` may.
    pub fn grants(self, needed: Role) -> bool {
        matches!(
            (self, needed),
            (Role::Admin, Role::Admin | Role::Supervisor | Role::Viewer)
                | (Role::Supervisor, Role::Supervisor | Role::Viewer)
                | (Role::Viewer, Role::Viewer)
                | (Role::Agent, Role::Agent)
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
            Role::Agent => "agent",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is none of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: use admin, supervisor, agent or viewer")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// Who is asking: a user or token name and its role, with how it proved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user's name, or the token's `name (id)`.
    pub name: String,
    pub role: Role,
    pub via: Via,
}

/// How a request proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// `Authorization: Bearer ...` with this token id.
    Token { id: String },
    /// A browser session cookie; state-changing requests must echo its CSRF token.
    Session { id_hash: String, csrf: String },
}

impl Principal {
    /// The audit log's "who": `user alice`, `token ci (3f2a...)`.
    pub fn who(&self) -> String {
        match &self.via {
            Via::Token { id } => format!("token {} ({id})", self.name),
            Via::Session { .. } => format!("user {}", self.name),
        }
    }
}

/// Names of users, tokens and agents: what the config has always allowed for agent ids.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_nest_except_the_agent() {
        assert!(Role::Admin.grants(Role::Supervisor));
        assert!(Role::Admin.grants(Role::Viewer));
        assert!(Role::Supervisor.grants(Role::Viewer));
        assert!(!Role::Supervisor.grants(Role::Admin));
        assert!(!Role::Viewer.grants(Role::Supervisor));
        for r in [Role::Admin, Role::Supervisor, Role::Viewer] {
            assert!(!Role::Agent.grants(r), "agent must not reach {r}");
            assert!(!r.grants(Role::Agent), "{r} is not an agent");
        }
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn names_are_bounded_and_plain() {
        assert!(valid_name("alice.b-1@x_y"));
        assert!(!valid_name(""));
        assert!(!valid_name("a b"));
        assert!(!valid_name("../x"));
        assert!(!valid_name(&"a".repeat(65)));
    }
}
