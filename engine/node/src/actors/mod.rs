//! The node's actors (actix). Each is a thin shell over plain state that takes `now`:
//! zone (pacing loop), call (one attempt), agent (one logged-in agent: nail, bridge, desktop),
//! MPP (media-server health), campaign manager
//! (contact prefetch, finish criteria), director (job authority), rule engine (do-not-call),
//! load monitor (CPU and calls in flight). `node::Node::start` is the supervisor that
//! builds the tree.

pub mod agent;
pub mod call;
pub mod campaign_manager;
pub mod director;
pub mod load_monitor;
pub mod mpp;
pub mod rule_engine;
pub mod supervisor;
pub mod zone;
pub mod zones;
