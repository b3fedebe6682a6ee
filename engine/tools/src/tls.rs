//! TLS for the tools' clients of a node (the desktop's wss://, the API's https://): rustls on
//! ring, trusting the CAs of a PEM file — the deployment's own CA, or the system's bundle.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// Where the system keeps its CA bundle (Debian's ca-certificates).
pub const SYSTEM_CAS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Why a trust store could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("CA file {path}: {why}")]
    CaFile { path: PathBuf, why: String },
    #[error("TLS client configuration: {0}")]
    Config(#[source] rustls::Error),
}

/// A client configuration trusting the certificates in `ca_pem` (one or more, PEM).
pub fn client_config(ca_pem: &Path) -> Result<Arc<ClientConfig>, TlsError> {
    let bad = |why: String| TlsError::CaFile {
        path: ca_pem.to_owned(),
        why,
    };
    let mut roots = RootCertStore::empty();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(ca_pem)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(e.to_string()))?;
    let (added, _) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(bad("no usable CA certificate in it".into()));
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// `ca` if given, else the system's CA bundle.
pub fn client_config_or_system(ca: Option<&Path>) -> Result<Arc<ClientConfig>, TlsError> {
    client_config(ca.unwrap_or(Path::new(SYSTEM_CAS)))
}

/// rustls on ring (see the node's `http::server::provider`).
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
