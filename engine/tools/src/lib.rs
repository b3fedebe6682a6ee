//! The tools built on outdial's core and node, each behind an `outdial` subcommand:
//!
//! ```text
//!   amd             answering-machine detection on recordings, offline
//!   demo            a node dialing a campaign into the embedded customer network, with
//!                   simulated agents on the real desktop WebSocket, and its report
//!   simulate        a zone's agents, campaign and pacing in virtual time (the core's own
//!                   zone, pacers and agent sessions), with the baselines and chaos
//!   peer            the embedded customer network: a SIP UAS with a seeded mix of outcomes
//!   loadtest        the SIP load tester
//!   status          the component table of one or more nodes
//!   api_client, tls a blocking client of the node's API (http and https, with a token)
//!   desktop_client  a simulated agent on the desktop WebSocket, and smart failover
//!   media_legs, stats  RTP legs and percentiles for the reports
//! ```
#![forbid(unsafe_code)]

pub mod amd;
pub mod api_client;
pub mod demo;
pub mod desktop_client;
pub mod loadtest;
pub mod media_legs;
pub mod peer;
pub mod simulate;
pub mod stats;
pub mod status;
pub mod tls;
