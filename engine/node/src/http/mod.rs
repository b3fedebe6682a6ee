//! The node's HTTP face: the JSON API and the agents' desktop WebSocket.

pub mod api;
pub mod desktop_ws;
