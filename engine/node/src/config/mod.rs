//! Node configuration in two phases: [`NodeConfigFile`] is the raw TOML (unknown keys refused,
//! units in names); [`NodeConfig`] is the resolved form with `Duration`s and addresses, which
//! `Node::start` turns into sockets and storage.

mod file;
mod file_access;
mod net;
mod resolved;
mod resolved_access;
mod trunk;

pub use file::*;
pub use file_access::*;
pub use net::{BadNet, IpNet};
pub use resolved::*;
pub use resolved_access::{default_phone_networks, HttpSettings, TlsFiles};
pub use trunk::*;

#[cfg(test)]
mod tests;
