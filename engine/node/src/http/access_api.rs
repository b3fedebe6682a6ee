//! The API's credential endpoints: `POST /v1/login` (a browser session for a user with a
//! password), `POST /v1/logout`, `GET /v1/whoami`, and for admins users, tokens and the
//! audit log.

use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiError, ApiResult};
use super::gate::{self, Caller, Gatekeeper, CSRF_COOKIE, SESSION_COOKIE};
use crate::auth::{Access, AccessError, LoginKind, LoginRefused, Role, Via};
use crate::storage::AuditRecord;

fn parse<T: serde::de::DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("body must be {shape}: {e}"),
        )
    })
}

/// Runs blocking credential work (hashing, storage) off the I/O thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AccessError> + Send + 'static,
) -> Result<T, ApiError> {
    web::block(f)
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?
        .map_err(|e| match e {
            AccessError::Store(s) => s.into(),
            other => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, other.to_string()),
        })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    name: String,
    password: String,
}

/// `POST /v1/login` `{"name", "password"}`: a session cookie (HttpOnly, SameSite=Strict) and
/// the CSRF token to echo in `X-CSRF-Token` (also in a readable cookie). One answer, after
/// the same work, for an unknown name and a wrong password; 429 when throttled.
pub async fn login(req: HttpRequest, gate: web::Data<Gatekeeper>, body: web::Bytes) -> ApiResult {
    let l: Login = parse(&body, r#"{"name": ..., "password": ...}"#)?;
    let source = req
        .peer_addr()
        .map(|a| a.ip())
        .ok_or_else(|| ApiError::new(StatusCode::BAD_REQUEST, "no peer address"))?;
    let access = Arc::clone(&gate.access);
    let outcome = access
        .login(LoginKind::User, &l.name, &l.password, source)
        .await;
    let (status, role) = match &outcome {
        Ok(a) => (StatusCode::OK, Some(a.role)),
        Err(LoginRefused::Throttled { .. }) => (StatusCode::TOO_MANY_REQUESTS, None),
        Err(LoginRefused::Wrong) => (StatusCode::UNAUTHORIZED, None),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, None),
    };
    if status != StatusCode::TOO_MANY_REQUESTS {
        // Throttled attempts are not written: a flood must not become a flood of writes.
        let rec = AuditRecord {
            at: access.unix_ms(),
            who: format!("login {}", l.name.chars().take(64).collect::<String>()),
            role,
            action: "POST /v1/login".into(),
            outcome: status.as_u16(),
            source: source.to_string(),
        };
        gate::record(Arc::clone(&access), rec).await;
    }
    let account = match outcome {
        Ok(a) => a,
        Err(e @ LoginRefused::Throttled { retry_after }) => {
            let mut r = ApiError::new(StatusCode::TOO_MANY_REQUESTS, e.to_string()).into_response();
            if let Ok(v) = header::HeaderValue::from_str(&retry_after.as_secs().max(1).to_string())
            {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return Ok(r);
        }
        Err(e) => return Err(ApiError::new(status, e.to_string())),
    };
    let s = access
        .start_session(&account)
        .ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "sessions unavailable"))?;
    Ok(HttpResponse::Ok()
        .append_header((
            header::SET_COOKIE,
            gate::set_cookie(SESSION_COOKIE, &s.id, true, gate.tls, None),
        ))
        .append_header((
            header::SET_COOKIE,
            gate::set_cookie(CSRF_COOKIE, &s.csrf, false, gate.tls, None),
        ))
        .json(json!({ "user": account.name, "role": account.role, "csrf_token": s.csrf })))
}

impl ApiError {
    fn into_response(self) -> HttpResponse {
        actix_web::ResponseError::error_response(&self)
    }
}

/// `POST /v1/logout`: ends the caller's session (a token stays valid; revoke it instead).
pub async fn logout(caller: Caller, gate: web::Data<Gatekeeper>) -> ApiResult {
    if let Via::Session { id_hash, .. } = &caller.0.via {
        gate.access.end_session(id_hash);
    }
    Ok(HttpResponse::Ok()
        .append_header((
            header::SET_COOKIE,
            gate::set_cookie(SESSION_COOKIE, "", true, gate.tls, Some(0)),
        ))
        .append_header((
            header::SET_COOKIE,
            gate::set_cookie(CSRF_COOKIE, "", false, gate.tls, Some(0)),
        ))
        .json(json!({ "logged_out": true })))
}

/// `GET /v1/whoami`: the caller's name, role and how it authenticated.
pub async fn whoami(caller: Caller) -> ApiResult {
    let p = caller.0;
    let via = match &p.via {
        Via::Token { id } => json!({ "token": id }),
        Via::Session { .. } => json!("session"),
    };
    Ok(HttpResponse::Ok().json(json!({ "name": p.name, "role": p.role, "via": via })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    role: Role,
    /// Without one, a password is generated and shown once.
    #[serde(default)]
    password: Option<String>,
    /// An agent's zones (empty: any).
    #[serde(default)]
    zones: Vec<String>,
}

/// `POST /v1/users` `{"name", "role", "password"?, "zones"?}`: creates or replaces a user.
pub async fn put_user(gate: web::Data<Gatekeeper>, body: web::Bytes) -> ApiResult {
    let u: NewUser = parse(
        &body,
        r#"{"name": ..., "role": "admin|supervisor|agent|viewer", "password"?: ..., "zones"?: [...]}"#,
    )?;
    let access: Arc<Access> = Arc::clone(&gate.access);
    let (user, generated) =
        blocking(move || access.put_user(&u.name, u.role, u.password.as_deref(), u.zones)).await?;
    let mut out = json!({ "name": user.name, "role": user.role, "zones": user.zones });
    if let Some(p) = generated {
        out["password"] = json!(p);
    }
    Ok(HttpResponse::Created().json(out))
}

/// `GET /v1/users`: names, roles and zones (never the hashes).
pub async fn list_users(gate: web::Data<Gatekeeper>) -> ApiResult {
    let access = Arc::clone(&gate.access);
    let users = blocking(move || Ok(access.users()?)).await?;
    let view: Vec<_> = users
        .into_iter()
        .map(|u| json!({ "name": u.name, "role": u.role, "zones": u.zones, "created_at": u.created_at }))
        .collect();
    Ok(HttpResponse::Ok().json(view))
}

/// `DELETE /v1/users/{name}`: removes a user and ends its sessions.
pub async fn remove_user(gate: web::Data<Gatekeeper>, path: web::Path<String>) -> ApiResult {
    let name = path.into_inner();
    let access = Arc::clone(&gate.access);
    let n = name.clone();
    if blocking(move || Ok(access.remove_user(&n)?)).await? {
        Ok(HttpResponse::Ok().json(json!({ "name": name, "removed": true })))
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no user {name:?}"),
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    role: Role,
    #[serde(default)]
    name: Option<String>,
}

/// `POST /v1/tokens` `{"role", "name"?}`: issues a token; its secret is in this answer only.
pub async fn create_token(
    caller: Caller,
    gate: web::Data<Gatekeeper>,
    body: web::Bytes,
) -> ApiResult {
    let t: NewToken = parse(
        &body,
        r#"{"role": "admin|supervisor|agent|viewer", "name"?: ...}"#,
    )?;
    let name = t.name.unwrap_or_else(|| format!("{}-token", t.role));
    let access = Arc::clone(&gate.access);
    let (rec, issued) = blocking(move || access.issue_token(&name, t.role)).await?;
    tracing::info!(id = %rec.id, name = %rec.name, role = %rec.role, by = %caller.0.who(), "API token issued");
    Ok(HttpResponse::Created().json(json!({
        "id": rec.id, "name": rec.name, "role": rec.role, "created_at": rec.created_at,
        "token": issued.bearer(),
    })))
}

/// `GET /v1/tokens`: every token's id, name, role and revocation (never a secret).
pub async fn list_tokens(gate: web::Data<Gatekeeper>) -> ApiResult {
    let access = Arc::clone(&gate.access);
    Ok(HttpResponse::Ok().json(blocking(move || Ok(access.tokens()?)).await?))
}

/// `DELETE /v1/tokens/{id}`: revokes a token at once (on every node of a cluster within
/// `auth::TOKEN_RELOAD_EVERY`).
pub async fn revoke_token(gate: web::Data<Gatekeeper>, path: web::Path<String>) -> ApiResult {
    let id = path.into_inner();
    let access = Arc::clone(&gate.access);
    let i = id.clone();
    if blocking(move || Ok(access.revoke_token(&i)?)).await? {
        Ok(HttpResponse::Ok().json(json!({ "id": id, "revoked": true })))
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no token {id:?}"),
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default)]
    after: u64,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

/// `GET /v1/audit?after=SEQ&limit=N`: the audit log from `after` on, oldest first (N ≤ 1000).
pub async fn audit_log(gate: web::Data<Gatekeeper>, q: web::Query<AuditQuery>) -> ApiResult {
    let (after, limit) = (q.after, q.limit.min(1000));
    let access = Arc::clone(&gate.access);
    Ok(HttpResponse::Ok().json(blocking(move || Ok(access.audit_log(after, limit)?)).await?))
}
