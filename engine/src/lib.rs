//! outdial's engine: the dialer's domain, and the tools built on the `sip` and `media` crates.
//!
//! Today it holds the two protocol-level tools — [`peer`] (a UAS with a seeded mix of
//! outcomes, the embedded customer network) and [`loadtest`] (the SIPp-style load harness) —
//! plus the injected [`clock`] every later engine part takes. The `outdial` binary is a thin
//! CLI over this library.
#![forbid(unsafe_code)]

pub mod actors;
pub mod agent;
pub mod api;
pub mod board;
pub mod campaign;
pub mod clock;
pub mod config;
pub mod cpu;
pub mod demo;
pub mod desktop;
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
pub mod retry;
pub mod stats;
pub mod store;
pub mod sync;
