//! Errors of the node's control surface, grouped by who is to blame; the API maps each
//! group to its HTTP status.

use crate::storage::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The caller named something that does not exist (404).
    #[error("not found: {0}")]
    NotFound(String),
    /// The request is well-formed but the object's state forbids it (409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request itself is wrong; every problem is listed (400/422).
    #[error("invalid: {}", .0.join("; "))]
    Invalid(Vec<String>),
    /// Storage failed (500).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The node is shutting down, an actor is gone, or the zone is being taken over (503).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The node's configuration does not allow this (403).
    #[error("forbidden: {0}")]
    Forbidden(String),
}
