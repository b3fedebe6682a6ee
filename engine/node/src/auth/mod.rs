//! Who may use the node and how they prove it: roles, passwords (argon2id), API tokens,
//! browser sessions with CSRF tokens, login throttling, the first-start admin token, and
//! [`Access`], the service the HTTP API, the desktop WebSocket and the CLI go through.
//!
//! ```text
//!   role       Role (admin ⊃ supervisor ⊃ viewer; agent apart), Principal
//!   password   argon2id PHC hashes, the decoy for unknown names
//!   token      odt_<id>_<secret>; SHA-256 of the secret at rest
//!   session    cookie sessions and their CSRF tokens (sans-IO)
//!   throttle   per-name lock-out and per-source budget (sans-IO)
//!   service    Access: the above over storage::AccessStore
//!   bootstrap  the admin token of a first start
//!   one_time   one-time login links (the demo's wall-board link)
//! ```

mod bootstrap;
mod one_time;
mod password;
mod role;
mod service;
mod session;
mod throttle;
mod token;

pub use bootstrap::{bootstrap, BootstrapError, ADMIN_TOKEN_FILE, BOOTSTRAP_TOKEN_NAME};
pub use password::{PasswordError, PasswordHash, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};
pub use role::{valid_name, Principal, Role, UnknownRole, Via};
pub use service::{
    Access, AccessError, AccessSettings, Account, AgentAccount, LoginKind, LoginRefused,
};
pub use session::{NewSession, SessionSettings};
pub use throttle::{ThrottleSettings, Throttled};
pub use token::IssuedToken;

/// How often a cluster node reads the token table again: a token revoked through another node
/// stops working here within this.
pub const TOKEN_RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
