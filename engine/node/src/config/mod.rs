//! Node configuration in two phases: [`NodeConfigFile`] is the raw TOML (unknown keys refused,
//! units in names); [`NodeConfig`] is the resolved form with `Duration`s and addresses, which
//! `Node::start` turns into sockets and storage.

mod file;
mod resolved;
mod trunk;

pub use file::*;
pub use resolved::*;
pub use trunk::*;

#[cfg(test)]
mod tests;
