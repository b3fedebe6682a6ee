//! The records of who may use the node — users, API tokens — and the audit log of every
//! state-changing API call, with [`AccessStore`], the contract sled and PostgreSQL both keep
//! (a node-side trait beside the core's `Store`, as `Coordination` is).
//!
//! Secrets never reach storage in the clear: a user's password is an argon2id PHC string, a
//! token is the SHA-256 of its secret.

use serde::{Deserialize, Serialize};

use super::StoreResult;
use crate::auth::Role;
use outdial_core::domain::UnixMs;

/// A person (or an agent) who logs in with a password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    pub name: String,
    pub role: Role,
    /// argon2id PHC string.
    pub password: String,
    /// For an agent: the zones it may log in to; empty is any zone of the node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    pub created_at: UnixMs,
}

/// An API token: its public id, a name for people, its role and its secret's SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// Hex SHA-256 of the secret; never shown.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub secret_sha256: String,
    pub created_at: UnixMs,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<UnixMs>,
}

/// One state-changing API call: who, what, when and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at: UnixMs,
    /// `user alice`, `token ci (3f2a...)`, or the name a login tried.
    pub who: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Method and path: `POST /v1/jobs/7/start`.
    pub action: String,
    /// The HTTP status answered.
    pub outcome: u16,
    /// The caller's address.
    pub source: String,
}

/// An audit record with its place in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    #[serde(flatten)]
    pub record: AuditRecord,
}

/// Users, tokens and the audit log. Every write is durable when it returns `Ok`.
pub trait AccessStore: Send + Sync + 'static {
    /// Creates or replaces the user named `user.name`.
    fn put_user(&self, user: &UserRecord) -> StoreResult<()>;
    fn user(&self, name: &str) -> StoreResult<Option<UserRecord>>;
    /// Every user, by name.
    fn users(&self) -> StoreResult<Vec<UserRecord>>;
    /// Removes a user; false if there was none of that name.
    fn remove_user(&self, name: &str) -> StoreResult<bool>;

    /// Adds a token unless one with its id exists; true if added.
    fn insert_token(&self, token: &TokenRecord) -> StoreResult<bool>;
    /// Marks a token revoked at `at`; false if there is none of that id.
    fn revoke_token(&self, id: &str, at: UnixMs) -> StoreResult<bool>;
    /// Every token, revoked ones included, by id.
    fn tokens(&self) -> StoreResult<Vec<TokenRecord>>;

    /// Appends to the audit log; returns the entry's place in it.
    fn append_audit(&self, record: &AuditRecord) -> StoreResult<u64>;
    /// Up to `limit` entries after `after`, oldest first.
    fn audit(&self, after: u64, limit: usize) -> StoreResult<Vec<AuditEntry>>;
}
