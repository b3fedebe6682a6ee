//! outdial's engine: the dialer's domain on top of the `sip` and `media` crates.
//!
//! It owns campaigns and their jobs ([`campaign`], [`retry`], [`hours`]), storage
//! ([`store`]), the node and its actor tree ([`node`], [`actors`]), pacing ([`pacer`],
//! [`predictive`]), agents ([`agent`] sessions, zone [`board`]s, the [`desktop`] protocol and
//! its WebSocket shell), the HTTP API ([`api`]) and the tools built on them: [`demo`],
//! [`simulate`], [`peer`] (the embedded customer network) and [`loadtest`]. Engine logic takes
//! an injected [`clock`]; the `outdial` binary is a thin CLI over this library.
#![forbid(unsafe_code)]

pub mod actors;
pub mod agent;
pub mod api;
pub mod board;
pub mod campaign;
pub mod chaos;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod cpu;
pub mod demo;
pub mod desktop;
pub mod desktop_client;
pub mod desktop_failover;
pub mod desktop_ws;
pub mod domain;
pub mod flow;
pub mod hours;
pub mod import;
pub mod loadtest;
pub mod media_legs;
pub mod mpp;
pub mod node;
pub mod pacer;
pub mod peer;
pub mod phone;
pub mod predictive;
pub mod retry;
pub mod simulate;
pub mod stats;
pub mod status;
pub mod store;
pub mod sync;
pub mod takeover;
