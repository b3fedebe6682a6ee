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
    /// A TCP or TLS peer's byte stream lost its framing; its connection was closed (the
    /// peer's fault).
    #[error("stream framing: {0}")]
    Framing(#[from] crate::msg::FrameError),
    /// A certificate, key or CA bundle in the TLS configuration could not be read (our
    /// configuration's fault).
    #[error("TLS configuration: cannot read {what}: {source}")]
    Pem {
        what: &'static str,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// rustls refused the TLS configuration, or a handshake (configuration or peer).
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// The client-certificate verifier could not be built from the client CA bundle (our
    /// configuration's fault).
    #[error("TLS client verifier: {0}")]
    TlsVerifier(#[from] rustls::server::VerifierBuilderError),
    /// The operating system refused (nobody's fault, or the machine's).
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}
