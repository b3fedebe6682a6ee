//! An outdial node: one engine process running the domain core (`outdial-core`) as a tree of
//! actors, with its storage, its cluster membership and its HTTP and desktop WebSocket API.
//!
//! ```text
//!   handle    NodeHandle: the Rust API the CLI and the HTTP API drive (campaigns, jobs,
//!             agents, status, faults, the cluster)
//!   start     Node::start: the one place the parts are wired and each actor given its own
//!   http      the JSON API and the agents' desktop WebSocket
//!   auth      roles, passwords, tokens, sessions, login throttling: who may do what
//!   actors    thin shells over the core: zone (pacing), call (one attempt), agent (nail,
//!             bridge, desktop), zone supervisor (takeovers), MPP probes, director, campaign
//!             manager, rule engine, load monitor
//!   cluster   leases with fencing epochs, heartbeats, the mastership plan and its hooks
//!   storage   the core's store contract on sled and PostgreSQL, group commit, fenced writes
//!   sip_plant, rtp, mpp   the SIP endpoint's task, RTP ports, media servers' table
//!   job, events, recovery, import, config, faults, cpu
//! ```
//!
//! Dependencies point down: the handle and `start` know the actors; an actor knows only the
//! handles it was given (a commit handle, the SIP plant, the MPP table, the clock, its zone)
//! and its neighbours' messages.
#![forbid(unsafe_code)]

pub mod actors;
pub mod auth;
pub mod cluster;
pub mod config;
pub mod cpu;
pub mod error;
pub mod events;
pub mod faults;
mod handle;
pub mod http;
pub mod import;
pub mod job;
pub mod mpp;
pub mod recovery;
pub mod rtp;
pub mod sip_plant;
mod sip_streams;
pub mod start;
pub mod storage;
pub mod trunk;

pub use error::{Missing, NodeError, Problem};
pub use events::AttemptEvent;
pub use handle::{
    parse_phone, prompt_path, AgentLogin, ComponentStatus, Injected, JobReport, LoginError,
    MppStatus, NodeHandle, NodeStatus, ZoneTakeovers,
};
pub use start::Node;
