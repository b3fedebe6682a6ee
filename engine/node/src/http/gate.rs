//! The gate every request passes. Around the whole app ([`outer`]): the `Host` must be an IP
//! literal, `localhost` or one of `[http] names` (DNS rebinding), an `Origin`, when a browser
//! sends one, must be the API's own or one of `[http] allowed_origins` (every WebSocket
//! included), and error answers are JSON. Around each endpoint ([`check`], from its entry in
//! the route table): credentials (401), role (403), the CSRF token of a cookie session on a
//! state-changing request (403), the body's type (415) and declared size (413) — all before
//! the handler reads a byte — and afterwards the audit record of a state-changing call.

use std::future::{ready, Ready};
use std::net::IpAddr;
use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::routes::{Access as Needs, Body};
use crate::auth::{Access, Principal, Via};
use crate::storage::AuditRecord;

/// The session cookie (HttpOnly) and the CSRF cookie a page reads to echo in [`CSRF_HEADER`].
pub const SESSION_COOKIE: &str = "outdial_session";
pub const CSRF_COOKIE: &str = "outdial_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// What the gate checks against, shared by every worker.
pub struct Gatekeeper {
    pub access: Arc<Access>,
    /// Host names answered besides IP literals and `localhost`, lower-case.
    pub names: Vec<String>,
    /// Origins allowed besides the API's own, lower-case.
    pub origins: Vec<String>,
    pub max_json: usize,
    pub max_csv: u64,
    /// Whether the API is served over TLS (cookies are then `Secure`).
    pub tls: bool,
}

/// One endpoint's entry, as its gate enforces it.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub access: Needs,
    pub body: Body,
}

/// The caller, for handlers behind a gate that required credentials.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl FromRequest for Caller {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Principal>()
                .cloned()
                .map(Caller)
                .ok_or_else(|| ApiError::unauthenticated().into()),
        )
    }
}

fn gatekeeper(req: &HttpRequest) -> Result<&Gatekeeper, ApiError> {
    req.app_data::<web::Data<Gatekeeper>>()
        .map(|d| d.get_ref())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the gate is not configured",
            )
        })
}

/// Host and Origin for every request; error answers as JSON.
pub async fn outer(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let refused = gatekeeper(req.request()).and_then(|gk| {
        let host = host_of(req.request())
            .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "a Host header is required"))?;
        if !host_allowed(&host, gk) {
            return Err(ApiError::new(
                StatusCode::MISDIRECTED_REQUEST,
                format!("this node does not answer to the host name {:?}", host.name),
            ));
        }
        if let Some(origin) = req.headers().get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("null");
            if !origin_allowed(origin, &host, gk) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!("requests from the origin {origin:?} are not allowed"),
                ));
            }
        }
        Ok(())
    });
    if let Err(e) = refused {
        return Ok(req.into_response(e.error_response()));
    }
    let res = next.call(req).await?;
    Ok(json_errors(res).await)
}

/// An error answer made by actix itself (a body over its limit, a bad header) as the API's
/// JSON error.
async fn json_errors<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> ServiceResponse<BoxBody> {
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.as_u16() < 400 || is_json {
        return res.map_into_boxed_body();
    }
    let (req, res) = res.into_parts();
    let text = actix_web::body::to_bytes_limited(res.into_body(), 4096)
        .await
        .ok()
        .and_then(Result::ok)
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    ServiceResponse::new(req, ApiError::new(status, text).error_response())
}

/// Credentials, role, CSRF, body type and size for one endpoint; then its audit record.
pub async fn check(
    rule: Rule,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let gk = match gatekeeper(req.request()) {
        Ok(gk) => gk,
        Err(e) => return Ok(req.into_response(e.error_response())),
    };
    let access = Arc::clone(&gk.access);
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let action = format!("{} {}", req.method(), req.path());
    let source = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let audit = |p: Principal, outcome: StatusCode| AuditRecord {
        at: access.unix_ms(),
        who: p.who(),
        role: Some(p.role),
        action: action.clone(),
        outcome: outcome.as_u16(),
        source: source.clone(),
    };
    let (caller, admitted) = admit(rule, &req, gk);
    if let Err(e) = admitted {
        // A known caller refused a change is worth a record (an agent's token probing the
        // admin routes); strangers are not, or anyone could fill the log.
        if let (true, Some(p)) = (changes, caller) {
            record(Arc::clone(&access), audit(p, e.status_code())).await;
        }
        return Ok(req.into_response(e.error_response()));
    }
    if let Some(p) = &caller {
        req.extensions_mut().insert(p.clone());
    }
    let res = next.call(req).await?.map_into_boxed_body();
    if let (true, Some(p)) = (changes, caller) {
        record(Arc::clone(&access), audit(p, res.status())).await;
    }
    Ok(res)
}

/// Appends an audit record off the I/O thread; a failure is logged, not the caller's.
pub async fn record(access: Arc<Access>, rec: AuditRecord) {
    match web::block(move || access.audit(&rec)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "cannot write the audit log"),
        Err(e) => tracing::error!(error = %e, "cannot write the audit log"),
    }
}

/// Everything checked before the handler: the caller, if the endpoint needs one and it is
/// known (even when refused, for the audit record), and whether it may go on.
fn admit(
    rule: Rule,
    req: &ServiceRequest,
    gk: &Gatekeeper,
) -> (Option<Principal>, Result<(), ApiError>) {
    match rule.access {
        Needs::Public | Needs::InBandLogin => (None, check_body(rule.body, req, gk)),
        Needs::Authenticated | Needs::Role(_) => {
            let Some(p) = authenticate(req.request(), gk) else {
                return (None, Err(ApiError::unauthenticated()));
            };
            let ok = check_role(rule, req, &p).and_then(|()| check_body(rule.body, req, gk));
            (Some(p), ok)
        }
    }
}

/// The caller's role, and the CSRF token of a cookie session on a state-changing request.
fn check_role(rule: Rule, req: &ServiceRequest, p: &Principal) -> Result<(), ApiError> {
    if let Needs::Role(needed) = rule.access {
        if !p.role.grants(needed) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("this needs the {needed} role; {} has {}", p.who(), p.role),
            ));
        }
    }
    let changes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if let (true, Via::Session { csrf, .. }) = (changes, &p.via) {
        let sent = req
            .headers()
            .get(CSRF_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !bool::from(sent.ct_eq(csrf.as_bytes())) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                format!("a request made with a session cookie must carry its CSRF token in {CSRF_HEADER}"),
            ));
        }
    }
    Ok(())
}

/// The body's declared type and size.
fn check_body(body: Body, req: &ServiceRequest, gk: &Gatekeeper) -> Result<(), ApiError> {
    let (wanted, limit): (&[&str], u64) = match body {
        Body::None => return Ok(()),
        Body::Json => (&["application/json"], gk.max_json as u64),
        Body::Csv => (&["text/csv"], gk.max_csv),
    };
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if !ct.as_deref().is_some_and(|c| wanted.contains(&c)) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "this endpoint takes {} (Content-Type), not {}",
                wanted.join(" or "),
                ct.as_deref().unwrap_or("a body without a Content-Type")
            ),
        ));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    Ok(())
}

pub fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the body is larger than this endpoint's limit of {limit} bytes"),
    )
}

/// The caller of a request: a bearer token first, else a session cookie.
pub fn authenticate(req: &HttpRequest, gk: &Gatekeeper) -> Option<Principal> {
    if let Some(v) = req.headers().get(header::AUTHORIZATION) {
        let v = v.to_str().ok()?;
        let (scheme, value) = v.split_once(' ')?;
        return if scheme.eq_ignore_ascii_case("bearer") {
            gk.access.bearer(value.trim())
        } else {
            None
        };
    }
    let id = cookie(req, SESSION_COOKIE)?;
    gk.access.session(&id)
}

/// The value of cookie `name`, if the request sends it.
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The `Host` a request names: its name (lower-case, without brackets) and its port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub name: String,
    pub port: Option<u16>,
}

fn host_of(req: &HttpRequest) -> Option<Host> {
    let raw = match req.headers().get(header::HOST) {
        Some(h) => h.to_str().ok()?.to_owned(),
        None => req.uri().authority()?.as_str().to_owned(),
    };
    parse_host(&raw)
}

/// `name`, `name:port`, `[v6]`, `[v6]:port`.
pub fn parse_host(raw: &str) -> Option<Host> {
    let raw = raw.trim().to_ascii_lowercase();
    let (name, port) = if let Some(rest) = raw.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        (v6.to_owned(), port)
    } else {
        match raw.rsplit_once(':') {
            Some((n, p)) => (n.to_owned(), Some(p.parse().ok()?)),
            None => (raw.clone(), None),
        }
    };
    (!name.is_empty()).then_some(Host { name, port })
}

fn host_allowed(host: &Host, gk: &Gatekeeper) -> bool {
    host.name.parse::<IpAddr>().is_ok() || host.name == "localhost" || gk.names.contains(&host.name)
}

/// Whether a browser page at `origin` may use the API reached at `host`.
fn origin_allowed(origin: &str, host: &Host, gk: &Gatekeeper) -> bool {
    let origin = origin.trim().to_ascii_lowercase();
    if gk.origins.contains(&origin) {
        return true;
    }
    let scheme = if gk.tls { "https" } else { "http" };
    let default_port = if gk.tls { 443 } else { 80 };
    let Some(rest) = origin.strip_prefix(&format!("{scheme}://")) else {
        return false;
    };
    let Some(o) = parse_host(rest) else {
        return false;
    };
    o.name == host.name && o.port.unwrap_or(default_port) == host.port.unwrap_or(default_port)
}

/// A `Set-Cookie` value: SameSite=Strict, Path=/, Secure over TLS, HttpOnly when asked.
pub fn set_cookie(
    name: &str,
    value: &str,
    http_only: bool,
    tls: bool,
    max_age_s: Option<u64>,
) -> String {
    let mut c = format!("{name}={value}; Path=/; SameSite=Strict");
    if http_only {
        c.push_str("; HttpOnly");
    }
    if tls {
        c.push_str("; Secure");
    }
    if let Some(s) = max_age_s {
        c.push_str(&format!("; Max-Age={s}"));
    }
    c
}

/// `WWW-Authenticate`-style refusal for the default service: 401 without credentials (the
/// route map is not shown to strangers), 404 with them.
pub fn unknown_endpoint(req: &HttpRequest) -> HttpResponse {
    let known = gatekeeper(req).ok().and_then(|gk| authenticate(req, gk));
    let e = match known {
        None => ApiError::unauthenticated(),
        Some(_) => ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no such endpoint: {} {}", req.method(), req.path()),
        ),
    };
    e.error_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse_with_and_without_ports() {
        let h = |name: &str, port| {
            Some(Host {
                name: name.into(),
                port,
            })
        };
        assert_eq!(parse_host("127.0.0.1:8080"), h("127.0.0.1", Some(8080)));
        assert_eq!(parse_host("LocalHost"), h("localhost", None));
        assert_eq!(parse_host("[::1]:80"), h("::1", Some(80)));
        assert_eq!(parse_host("[::1]"), h("::1", None));
        assert_eq!(parse_host("evil.example:x"), None);
        assert_eq!(parse_host("[::1]x"), None);
        assert_eq!(parse_host(""), None);
    }
}
