//! TLS settings for SIP over TLS (RFC 3261 §26.2), turned into rustls configurations: trust
//! anchors from a PEM CA bundle and/or the webpki roots, an optional client certificate for
//! mutual TLS, and the server's certificate with an optional demand for client certificates.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::error::Error;

/// How we check servers, and what we show them.
#[derive(Debug, Clone, Default)]
pub struct TlsClientSettings {
    /// CA certificates (PEM) trusted in addition to, or instead of, the webpki roots.
    pub ca_pem: Option<Vec<u8>>,
    /// Trust the Mozilla roots shipped by `webpki-roots` as well; default false, since a PBX
    /// or trunk usually has a private CA.
    pub webpki_roots: bool,
    /// Our certificate chain and private key (PEM), for servers that demand one.
    pub client_identity: Option<Identity>,
}

/// A certificate chain and its private key, both PEM.
#[derive(Debug, Clone)]
pub struct Identity {
    pub cert_chain_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

/// What a TLS listener presents, and whom it admits.
#[derive(Debug, Clone)]
pub struct TlsServerSettings {
    pub identity: Identity,
    /// When set, clients must present a certificate issued by one of these CAs (PEM).
    pub client_ca_pem: Option<Vec<u8>>,
}

/// rustls on ring. rustls 0.23.48 deprecates ring's provider for lacking post-quantum key
/// exchange; aws-lc-rs has it but needs cmake and a C build of aws-lc on every machine, so the
/// switch is left for when SIP peers offer hybrid groups at all.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certs(pem: &[u8], what: &'static str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| Error::Pem { what, source })?;
    if certs.is_empty() {
        return Err(Error::Pem {
            what,
            source: rustls::pki_types::pem::Error::NoItemsFound,
        });
    }
    Ok(certs)
}

fn roots(pem: &[u8], what: &'static str) -> Result<RootCertStore, Error> {
    let mut store = RootCertStore::empty();
    for cert in certs(pem, what)? {
        store.add(cert)?;
    }
    Ok(store)
}

fn identity(
    id: &Identity,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), Error> {
    let chain = certs(&id.cert_chain_pem, "certificate chain")?;
    let key = PrivateKeyDer::from_pem_slice(&id.key_pem).map_err(|source| Error::Pem {
        what: "private key",
        source,
    })?;
    Ok((chain, key))
}

/// The rustls client configuration for `settings`. Server names are checked against the
/// certificate by rustls (webpki), for host names and IP addresses alike.
pub fn client_config(settings: &TlsClientSettings) -> Result<Arc<ClientConfig>, Error> {
    let mut store = match &settings.ca_pem {
        Some(pem) => roots(pem, "CA bundle")?,
        None => RootCertStore::empty(),
    };
    if settings.webpki_roots {
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(store);
    let config = match &settings.client_identity {
        Some(id) => {
            let (chain, key) = identity(id)?;
            builder.with_client_auth_cert(chain, key)?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The rustls server configuration for `settings`.
pub fn server_config(settings: &TlsServerSettings) -> Result<Arc<ServerConfig>, Error> {
    let (chain, key) = identity(&settings.identity)?;
    let builder =
        ServerConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
    let builder = match &settings.client_ca_pem {
        Some(pem) => {
            let store = Arc::new(roots(pem, "client CA bundle")?);
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(store, provider())
                    .build()?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(builder.with_single_cert(chain, key)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_pem_is_a_configuration_error() {
        let settings = TlsClientSettings {
            ca_pem: Some(b"not a certificate".to_vec()),
            ..TlsClientSettings::default()
        };
        assert!(matches!(
            client_config(&settings),
            Err(Error::Pem {
                what: "CA bundle",
                ..
            })
        ));
        let server = TlsServerSettings {
            identity: Identity {
                cert_chain_pem: Vec::new(),
                key_pem: Vec::new(),
            },
            client_ca_pem: None,
        };
        assert!(matches!(
            server_config(&server),
            Err(Error::Pem {
                what: "certificate chain",
                ..
            })
        ));
        // The webpki roots alone make a working client configuration.
        let roots_only = TlsClientSettings {
            webpki_roots: true,
            ..TlsClientSettings::default()
        };
        assert!(client_config(&roots_only).is_ok());
    }
}
