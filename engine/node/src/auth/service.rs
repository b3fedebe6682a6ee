//! [`Access`]: the node's one place for credentials. It checks bearer tokens and session
//! cookies per request (tokens from an in-memory table, so a flood of guesses never reaches
//! storage), checks passwords off the I/O threads with a bounded number at once, throttles
//! logins, and keeps users, tokens and the audit log in storage.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::one_time::OneTimeLogins;
use super::password::{PasswordError, PasswordHash};
use super::role::{valid_name, Principal, Role, Via};
use super::session::{NewSession, SessionSettings, Sessions};
use super::throttle::{LoginThrottle, ThrottleSettings};
use super::token::{self, IssuedToken};
use crate::storage::{AccessStore, AuditEntry, AuditRecord, StoreError, TokenRecord, UserRecord};
use outdial_core::agent::AgentId;
use outdial_core::clock::Clock;

/// An agent the config lets log in from a desktop (`[[agent]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentAccount {
    pub id: AgentId,
    pub password: PasswordHash,
    /// Zones it may log in to; empty is any zone of the node.
    pub zones: Vec<String>,
}

/// How the node checks logins (`[auth]`, `[http]` session keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessSettings {
    pub throttle: ThrottleSettings,
    pub sessions: SessionSettings,
    /// Password checks running at once (each takes ~19 MiB and tens of ms of one core).
    pub hashing_at_once: usize,
}

impl Default for AccessSettings {
    fn default() -> Self {
        AccessSettings {
            throttle: ThrottleSettings::default(),
            sessions: SessionSettings::default(),
            hashing_at_once: 2,
        }
    }
}

/// Why a login was refused. `Wrong` is the one answer for an unknown name and a wrong
/// password alike, given after the same work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginRefused {
    #[error("unknown name or wrong password")]
    Wrong,
    #[error("too many failed logins; try again in {} s", retry_after.as_secs().max(1))]
    Throttled { retry_after: Duration },
    #[error("credentials cannot be checked now: {0}")]
    Unavailable(#[source] StoreError),
}

/// Why managing users or tokens failed, by who is to blame.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    #[error("name {0:?}: letters, digits, '-', '_', '.', '@' only, 1 to 64 of them")]
    BadName(String),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("agents are given zones; {0} is not an agent")]
    ZonesNotAgent(Role),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a good login is worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub role: Role,
    /// For agents: zones it may use; empty is any.
    pub zones: Vec<String>,
}

/// Who is asking for a login: a person (any role) or an agent at its desktop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginKind {
    User,
    Agent,
}

pub struct Access {
    store: Arc<dyn AccessStore>,
    clock: Arc<dyn Clock>,
    agents: HashMap<String, AgentAccount>,
    /// Live (not revoked) tokens by id.
    tokens: RwLock<HashMap<String, TokenRecord>>,
    throttle: Mutex<LoginThrottle>,
    sessions: Mutex<Sessions>,
    one_time: Mutex<OneTimeLogins>,
    decoy: PasswordHash,
    hashing: Arc<Semaphore>,
}

impl Access {
    /// The service over `store`, with the config's agents; loads the tokens.
    pub fn new(
        store: Arc<dyn AccessStore>,
        clock: Arc<dyn Clock>,
        agents: &[AgentAccount],
        settings: AccessSettings,
    ) -> Result<Access, AccessError> {
        let access = Access {
            store,
            clock,
            agents: agents.iter().map(|a| (a.id.0.clone(), a.clone())).collect(),
            tokens: RwLock::new(HashMap::new()),
            throttle: Mutex::new(LoginThrottle::new(settings.throttle)),
            sessions: Mutex::new(Sessions::new(settings.sessions)),
            one_time: Mutex::new(OneTimeLogins::default()),
            decoy: PasswordHash::decoy()?,
            hashing: Arc::new(Semaphore::new(settings.hashing_at_once.max(1))),
        };
        access.reload_tokens()?;
        Ok(access)
    }

    /// Reads the token table again (a cluster node does so every few seconds, to see tokens
    /// made and revoked through the other nodes).
    pub fn reload_tokens(&self) -> Result<(), StoreError> {
        let live: HashMap<String, TokenRecord> = self
            .store
            .tokens()?
            .into_iter()
            .filter(|t| t.revoked_at.is_none())
            .map(|t| (t.id.clone(), t))
            .collect();
        if let Ok(mut t) = self.tokens.write() {
            *t = live;
        }
        Ok(())
    }

    /// The principal of an `Authorization: Bearer` value, if it is a live token.
    pub fn bearer(&self, value: &str) -> Option<Principal> {
        let (id, secret) = token::parse(value)?;
        let rec = self.tokens.read().ok()?.get(id).cloned()?;
        let good = token::matches(secret, &rec.secret_sha256);
        good.then_some(Principal {
            name: rec.name,
            role: rec.role,
            via: Via::Token { id: rec.id },
        })
    }

    /// The principal of a session cookie's value, if the session is live.
    pub fn session(&self, cookie: &str) -> Option<Principal> {
        let now = self.clock.now();
        let (id_hash, s) = self.sessions.lock().ok()?.touch(now, cookie)?;
        Some(Principal {
            name: s.user,
            role: s.role,
            via: Via::Session {
                id_hash,
                csrf: s.csrf,
            },
        })
    }

    pub fn start_session(&self, account: &Account) -> Option<NewSession> {
        let now = self.clock.now();
        Some(
            self.sessions
                .lock()
                .ok()?
                .start(now, &account.name, account.role),
        )
    }

    /// A one-time login link's secret for `account`, good until `ttl` from now.
    pub fn issue_one_time_login(&self, account: Account, ttl: Duration) -> Option<String> {
        let now = self.clock.now();
        Some(self.one_time.lock().ok()?.issue(now, account, ttl))
    }

    /// The account of a one-time link's secret, spending it.
    pub fn redeem_one_time_login(&self, secret: &str) -> Option<Account> {
        let now = self.clock.now();
        self.one_time.lock().ok()?.redeem(now, secret)
    }

    pub fn end_session(&self, id_hash: &str) {
        if let Ok(mut s) = self.sessions.lock() {
            s.end(id_hash);
        }
    }

    /// Checks a password: throttled first (no hashing then), the same work for an unknown
    /// name as for a wrong password, at most `hashing_at_once` checks at a time.
    pub async fn login(
        self: &Arc<Self>,
        kind: LoginKind,
        name: &str,
        password: &str,
        source: IpAddr,
    ) -> Result<Account, LoginRefused> {
        if let Ok(mut t) = self.throttle.lock() {
            t.check(self.clock.now(), name, source)
                .map_err(|t| LoginRefused::Throttled {
                    retry_after: t.retry_after,
                })?;
        }
        let permit = Arc::clone(&self.hashing)
            .acquire_owned()
            .await
            .map_err(|_| LoginRefused::Unavailable(StoreError::Closed))?;
        let me = Arc::clone(self);
        let (n, p) = (name.to_owned(), password.to_owned());
        let checked = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            me.check_password(kind, &n, &p)
        })
        .await
        .map_err(|_| LoginRefused::Unavailable(StoreError::Closed))?;
        let good = checked.map_err(LoginRefused::Unavailable)?;
        if let Ok(mut t) = self.throttle.lock() {
            match &good {
                Some(_) => t.succeeded(name),
                None => t.failed(self.clock.now(), name, source),
            }
        }
        good.ok_or(LoginRefused::Wrong)
    }

    /// The account if `password` is its password. Blocking and CPU-heavy.
    fn check_password(
        &self,
        kind: LoginKind,
        name: &str,
        password: &str,
    ) -> Result<Option<Account>, StoreError> {
        let found = match (kind, self.agents.get(name)) {
            (LoginKind::Agent, Some(a)) => Some((
                a.password.clone(),
                Account {
                    name: name.to_owned(),
                    role: Role::Agent,
                    zones: a.zones.clone(),
                },
            )),
            _ => self.stored_account(kind, name)?,
        };
        match found {
            Some((hash, account)) => Ok(hash.verify(password).then_some(account)),
            None => {
                // The same work as a real check, so the time does not tell the name is unknown.
                let _ = self.decoy.verify(password);
                Ok(None)
            }
        }
    }

    fn stored_account(
        &self,
        kind: LoginKind,
        name: &str,
    ) -> Result<Option<(PasswordHash, Account)>, StoreError> {
        if !valid_name(name) {
            return Ok(None);
        }
        let Some(u) = self.store.user(name)? else {
            return Ok(None);
        };
        if kind == LoginKind::Agent && u.role != Role::Agent {
            return Ok(None);
        }
        let Ok(hash) = PasswordHash::parse(&u.password) else {
            tracing::warn!(user = %u.name, "stored password is not a usable argon2id hash");
            return Ok(None);
        };
        Ok(Some((
            hash,
            Account {
                name: u.name,
                role: u.role,
                zones: u.zones,
            },
        )))
    }

    /// Creates or replaces a user. Without a password one is generated and returned (shown
    /// once). Blocking: hashes the password.
    pub fn put_user(
        &self,
        name: &str,
        role: Role,
        password: Option<&str>,
        zones: Vec<String>,
    ) -> Result<(UserRecord, Option<String>), AccessError> {
        if !valid_name(name) {
            return Err(AccessError::BadName(name.to_owned()));
        }
        if !zones.is_empty() && role != Role::Agent {
            return Err(AccessError::ZonesNotAgent(role));
        }
        let generated = password
            .is_none()
            .then(|| token::random_b64()[..24].to_owned());
        let plain = password.or(generated.as_deref()).unwrap_or_default();
        let hash = PasswordHash::new(plain)?;
        let user = UserRecord {
            name: name.to_owned(),
            role,
            password: hash.as_str().to_owned(),
            zones,
            created_at: self.clock.unix_ms(),
        };
        self.store.put_user(&user)?;
        if let Ok(mut s) = self.sessions.lock() {
            s.end_user(name);
        }
        Ok((user, generated))
    }

    pub fn remove_user(&self, name: &str) -> Result<bool, StoreError> {
        let had = self.store.remove_user(name)?;
        if let Ok(mut s) = self.sessions.lock() {
            s.end_user(name);
        }
        Ok(had)
    }

    pub fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.store.users()
    }

    /// Issues a token (its secret is in the returned [`IssuedToken`] only).
    pub fn issue_token(
        &self,
        name: &str,
        role: Role,
    ) -> Result<(TokenRecord, IssuedToken), AccessError> {
        if !valid_name(name) {
            return Err(AccessError::BadName(name.to_owned()));
        }
        loop {
            let issued = IssuedToken::generate();
            let rec = TokenRecord {
                id: issued.id.clone(),
                name: name.to_owned(),
                role,
                secret_sha256: issued.digest(),
                created_at: self.clock.unix_ms(),
                revoked_at: None,
            };
            if self.store.insert_token(&rec)? {
                if let Ok(mut t) = self.tokens.write() {
                    t.insert(rec.id.clone(), rec.clone());
                }
                return Ok((rec, issued));
            }
            // 64 random bits collided with an existing id: draw again.
        }
    }

    /// Revokes a token; false if there is none of that id.
    pub fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        let found = self.store.revoke_token(id, self.clock.unix_ms())?;
        if let Ok(mut t) = self.tokens.write() {
            t.remove(id);
        }
        Ok(found)
    }

    /// Every token, without its secret's hash.
    pub fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        Ok(self
            .store
            .tokens()?
            .into_iter()
            .map(|t| TokenRecord {
                secret_sha256: String::new(),
                ..t
            })
            .collect())
    }

    /// Whether any live credential can administer the node.
    pub fn has_admin(&self) -> Result<bool, StoreError> {
        let token = self
            .store
            .tokens()?
            .iter()
            .any(|t| t.role == Role::Admin && t.revoked_at.is_none());
        Ok(token || self.store.users()?.iter().any(|u| u.role == Role::Admin))
    }

    /// Appends to the audit log (blocking; durable when it returns).
    pub fn audit(&self, rec: &AuditRecord) -> Result<u64, StoreError> {
        self.store.append_audit(rec)
    }

    pub fn audit_log(&self, after: u64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.store.audit(after, limit)
    }

    pub fn unix_ms(&self) -> u64 {
        self.clock.unix_ms()
    }
}
