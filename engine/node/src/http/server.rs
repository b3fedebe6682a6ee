//! Serving the API: plain HTTP on loopback (or where the config allows it), HTTPS with the
//! configured certificate otherwise (rustls on ring), with bounded connections, a deadline
//! for a request's head, and the gate around the app.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::{error, web, App, HttpResponse, HttpServer};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;

use super::desktop_ws::DesktopSlots;
use super::gate::{self, Gatekeeper};
use super::web::board::BoardFeed;
use super::{api, routes};
use crate::config::{HttpSettings, TlsFiles};
use crate::NodeHandle;

/// A running API server.
pub struct Served {
    /// The bound address (port 0 in the config picks one).
    pub addr: SocketAddr,
    pub server: actix_web::dev::Server,
    pub tls: bool,
}

impl Served {
    /// `http://ADDR` or `https://ADDR`.
    pub fn url(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.addr
        )
    }
}

/// Why the API could not be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    #[error(
        "http.bind: {0} is not a loopback address and the API has no TLS: set \
         http.tls_cert_file and http.tls_key_file, or http.allow_plain_http = true"
    )]
    PlainHttp(SocketAddr),
    #[error("http.tls_cert_file / http.tls_key_file: {path}: {why}")]
    TlsFile { path: PathBuf, why: String },
    #[error("the TLS certificate and key do not make a server configuration: {0}")]
    Tls(#[source] rustls::Error),
    #[error("cannot listen on {bind}: {source}")]
    Bind {
        bind: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// The rustls server configuration of `tls` (HTTP/1.1 only).
pub fn tls_config(tls: &TlsFiles) -> Result<rustls::ServerConfig, ServeError> {
    let file_err = |path: &Path, why: String| ServeError::TlsFile {
        path: path.to_owned(),
        why,
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.cert)
        .map_err(|e| file_err(&tls.cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| file_err(&tls.cert, e.to_string()))?;
    if certs.is_empty() {
        return Err(file_err(&tls.cert, "no certificate in it".into()));
    }
    let key =
        PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| file_err(&tls.key, e.to_string()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(ServeError::Tls)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(ServeError::Tls)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// rustls on ring, as sip's TLS: rustls 0.23.48 deprecates ring's provider for lacking
/// post-quantum key exchange, but aws-lc-rs would need cmake and a C build on every machine.
#[allow(deprecated)]
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Serves the API for `node` on `bind`.
pub fn serve(
    node: NodeHandle,
    http: &HttpSettings,
    bind: SocketAddr,
) -> Result<Served, ServeError> {
    if http.tls.is_none() && !http.allow_plain_http && !bind.ip().is_loopback() {
        return Err(ServeError::PlainHttp(bind));
    }
    let tls = http.tls.as_ref().map(tls_config).transpose()?;
    let gatekeeper = web::Data::new(Gatekeeper {
        access: Arc::clone(node.access()),
        names: http.names.clone(),
        origins: http.allowed_origins.clone(),
        max_json: http.max_json_body_bytes,
        max_csv: http.max_csv_upload_bytes,
        tls: tls.is_some(),
    });
    let slots = web::Data::new(DesktopSlots::default());
    let board = web::Data::new(BoardFeed::default());
    let data = web::Data::new(node);
    let max_json = http.max_json_body_bytes;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(gatekeeper.clone())
            .app_data(slots.clone())
            .app_data(board.clone())
            .app_data(web::PayloadConfig::new(max_json))
            .app_data(
                web::JsonConfig::default()
                    .limit(max_json)
                    .error_handler(|err, _| {
                        let msg = format!("JSON body: {err}");
                        error::InternalError::from_response(
                            err,
                            HttpResponse::BadRequest().json(json!({ "error": msg, "details": [] })),
                        )
                        .into()
                    }),
            )
            .wrap(from_fn(gate::outer))
            .configure(routes::configure)
            .default_service(web::to(api::not_found))
    })
    .workers(1)
    .max_connections(http.max_connections)
    .client_request_timeout(http.request_timeout)
    .client_disconnect_timeout(Duration::from_secs(1))
    .tls_handshake_timeout(http.request_timeout)
    .disable_signals();
    let server = match tls {
        Some(config) => server.bind_rustls_0_23(bind, config),
        None => server.bind(bind),
    }
    .map_err(|source| ServeError::Bind { bind, source })?;
    let addr = server.addrs().first().copied().unwrap_or(bind);
    Ok(Served {
        addr,
        server: server.run(),
        tls: http.tls.is_some(),
    })
}
