//! The node's HTTP face: the JSON API, the agents' desktop WebSocket and the browser pages, every route behind
//! the gate its entry in the route table asks for.
//!
//! ```text
//!   server     serve(): TLS (rustls), connection and time limits, the app
//!   routes     the route table: each endpoint, the role it needs, the body it takes
//!   gate       Host, Origin, credentials, role, CSRF, body type and size; the audit record
//!   api, access_api, metrics   the handlers
//!   upload     CSV bodies streamed into the importer
//!   desktop_ws, ws_guard       the desktop WebSocket and its frame-size guard
//!   openapi    the OpenAPI 3 document, held to the route table by a test
//!   web        the browser pages (wall-board, agent desktop) and the wall-board's feed
//! ```

mod access_api;
pub mod api;
pub mod desktop_ws;
mod error;
pub mod gate;
mod metrics;
mod openapi;
pub mod routes;
pub mod server;
mod upload;
pub mod web;
pub mod ws_guard;

pub use error::ApiError;
pub use server::{serve, ServeError, Served};

#[cfg(test)]
mod tests;
