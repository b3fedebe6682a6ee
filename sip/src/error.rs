//! The crate's one error type, grouped by who is to blame.

/// Everything that can go wrong in the SIP layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes on the wire were not a valid SIP message (the sender's fault).
    #[error("malformed message: {0}")]
    Malformed(#[from] crate::msg::ParseError),
    /// A well-formed message broke the protocol (the peer's fault).
    #[error("protocol violation: {0}")]
    Protocol(&'static str),
    /// The peer answered 503 with Retry-After and that time has not passed (the peer's call).
    #[error("peer {peer} asked us to back off for {remaining:?} more")]
    Backoff {
        peer: std::net::SocketAddr,
        remaining: std::time::Duration,
    },
    /// The caller used the API wrongly (our user's fault).
    #[error("API misuse: {0}")]
    Usage(&'static str),
    /// The operating system refused (nobody's fault, or the machine's).
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}
