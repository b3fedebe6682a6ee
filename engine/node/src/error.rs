//! Errors of the node's control surface, grouped by who is to blame; the API maps each
//! group to its HTTP status. Where another error is the cause, it is kept as the source.

use std::fmt;

use outdial_core::campaign::SpecError;
use outdial_core::domain::{AttemptId, CampaignId, JobId};

use crate::storage::StoreError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    // The caller's: the request cannot be done as asked.
    /// The caller named something that does not exist here (404).
    #[error("{0}")]
    NotFound(Missing),
    /// The request is well-formed but the object's state forbids it now (409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The request itself is wrong; every problem is listed (422).
    #[error("invalid: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
    /// The node's configuration does not allow it (403).
    #[error("forbidden: {0}")]
    Forbidden(String),

    // The node's: it cannot serve the request now.
    /// The node is starting or stopping, an actor is gone, or the zone is being taken over
    /// (503).
    #[error("unavailable: {why}")]
    Unavailable {
        why: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// Storage failed (500).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl NodeError {
    /// Unavailable for `why`, with no underlying error (a takeover under way).
    pub fn unavailable(why: impl Into<String>) -> Self {
        Self::Unavailable {
            why: why.into(),
            source: None,
        }
    }

    /// Unavailable for `why`, caused by `source`.
    pub fn unavailable_by(
        why: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Unavailable {
            why: why.into(),
            source: Some(Box::new(source)),
        }
    }

    /// A request with one problem.
    pub fn invalid(p: Problem) -> Self {
        Self::Invalid(vec![p])
    }
}

/// An actor of the node did not take or answer a request (it is restarting or stopped).
impl From<actix::MailboxError> for NodeError {
    fn from(e: actix::MailboxError) -> Self {
        Self::unavailable_by("a component of the node did not answer", e)
    }
}

/// What a request named that the node does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Missing {
    Job(JobId),
    Campaign(CampaignId),
    Zone(String),
    /// No agent of that id is logged in.
    Agent(String),
    /// No call of that attempt is in flight.
    Attempt(AttemptId),
    /// No call at all is in flight.
    AnyCall,
    MediaServer(String),
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::Job(j) => write!(f, "job {j} does not exist"),
            Missing::Campaign(c) => write!(f, "campaign {c} does not exist"),
            Missing::Zone(z) => write!(f, "zone {z} does not exist on this node"),
            Missing::Agent(a) => write!(f, "agent {a} is not logged in"),
            Missing::Attempt(a) => write!(f, "attempt {a} is not in flight"),
            Missing::AnyCall => write!(f, "no call is in flight"),
            Missing::MediaServer(m) => write!(f, "mpp {m} does not exist"),
        }
    }
}

/// One thing wrong with a request, with what it is about and the cause when there is one.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// A campaign definition's problem.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A field of the request or the config, and what is wrong with it.
    #[error("{field}: {why}")]
    Field { field: String, why: String },
    /// A field whose value could not be used, because of `source`.
    #[error("{field}: {source}")]
    Cause {
        field: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Problem {
    pub fn field(field: impl Into<String>, why: impl Into<String>) -> Self {
        Self::Field {
            field: field.into(),
            why: why.into(),
        }
    }

    pub fn cause(
        field: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Cause {
            field: field.into(),
            source: Box::new(source),
        }
    }
}
