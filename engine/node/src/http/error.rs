//! The API's error answer: a status and a JSON body `{"error": ..., "details": [...]}`, and
//! how the node's errors map onto it.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde_json::json;

use crate::NodeError;

/// An API error: a status and a JSON body `{"error": ..., "details": [...]}`.
#[derive(Debug)]
pub struct ApiError {
    pub(super) status: StatusCode,
    pub(super) message: String,
    pub(super) details: Vec<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// 401: no credentials, or ones the node does not know.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "credentials required: an API token (Authorization: Bearer ...) or a session cookie",
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status);
        if self.status == StatusCode::UNAUTHORIZED {
            r.insert_header(("WWW-Authenticate", "Bearer"));
        }
        r.json(json!({ "error": self.message, "details": self.details }))
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::NotFound(what) => ApiError::new(StatusCode::NOT_FOUND, what.to_string()),
            NodeError::Conflict(why) => ApiError::new(StatusCode::CONFLICT, why),
            NodeError::Invalid(problems) => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                message: "the request is not valid".into(),
                details: problems.iter().map(ToString::to_string).collect(),
            },
            e @ NodeError::Unavailable { .. } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
            NodeError::Forbidden(why) => ApiError::new(StatusCode::FORBIDDEN, why),
            other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        }
    }
}

impl From<crate::storage::StoreError> for ApiError {
    fn from(e: crate::storage::StoreError) -> Self {
        NodeError::from(e).into()
    }
}

pub type ApiResult = Result<HttpResponse, ApiError>;
