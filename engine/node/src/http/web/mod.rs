//! The browser pages: the supervisor wall-board (`/`), the agent desktop (`/agent`), the
//! administration (`/admin`: campaigns, contact uploads, do-not-call) and their
//! scripts and styles (`/assets/{name}`), embedded in the binary at build time — no build
//! step besides `cargo build`. Every answer carries a strict Content-Security-Policy (scripts,
//! styles and connections to this origin only; no inline code, no frames) and `nosniff`.
//! The pages hold no data: they load it through the API with the viewer's credentials.
//!
//! ```text
//!   board      the wall-board's one publisher and its WebSocket (GET /v1/board)
//!   assets/    the HTML, JavaScript and CSS
//! ```

pub mod board;

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::error::{ApiError, ApiResult};
use super::gate::{self, Gatekeeper, CSRF_COOKIE, SESSION_COOKIE};
use crate::auth::{Access, Account, Role};
use crate::storage::AuditRecord;

/// The policy of every page and asset.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

macro_rules! asset {
    ($name:literal, $ty:expr) => {
        Asset {
            name: $name,
            content_type: $ty,
            body: include_str!(concat!("assets/", $name)),
        }
    };
}

/// Everything under `/assets/`.
const ASSETS: &[Asset] = &[
    asset!("style.css", CSS),
    asset!("common.js", JS),
    asset!("agent.js", JS),
    asset!("agent-view.js", JS),
    asset!("board.js", JS),
    asset!("board-view.js", JS),
    asset!("admin.js", JS),
    asset!("logo.svg", SVG),
];

const BOARD_PAGE: &str = include_str!("assets/board.html");
const AGENT_PAGE: &str = include_str!("assets/agent.html");
const ADMIN_PAGE: &str = include_str!("assets/admin.html");

fn serve(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(body)
}

/// `GET /`: the wall-board page.
pub async fn board_page() -> HttpResponse {
    serve(HTML, BOARD_PAGE)
}

/// `GET /agent`: the agent desktop page.
pub async fn agent_page() -> HttpResponse {
    serve(HTML, AGENT_PAGE)
}

/// `GET /admin`: campaigns, contact uploads and the do-not-call list.
pub async fn admin_page() -> HttpResponse {
    serve(HTML, ADMIN_PAGE)
}

/// `GET /assets/{name}`: one embedded script, style or image.
pub async fn asset(path: web::Path<String>) -> ApiResult {
    let name = path.into_inner();
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map(|a| serve(a.content_type, a.body))
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no asset {name:?}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkQuery {
    token: String,
}

/// How long a one-time link stays good.
pub const LINK_TTL: Duration = Duration::from_secs(3600);

/// A supervisor's one-time link to the wall-board (`outdial demo` prints one), for `name`.
pub fn one_time_link(access: &Access, base: &str, name: &str) -> Option<String> {
    let account = Account {
        name: name.to_owned(),
        role: Role::Supervisor,
        zones: Vec::new(),
    };
    let secret = access.issue_one_time_login(account, LINK_TTL)?;
    Some(format!("{base}/v1/login/link?token={secret}"))
}

/// `GET /v1/login/link?token=…`: spends a one-time link, starts its session and sends the
/// browser to the wall-board. A spent, expired or made-up link gets 401.
pub async fn redeem_link(
    req: HttpRequest,
    gate: web::Data<Gatekeeper>,
    q: web::Query<LinkQuery>,
) -> ApiResult {
    let access: Arc<Access> = Arc::clone(&gate.access);
    let account = access.redeem_one_time_login(q.token.trim());
    let source = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let rec = AuditRecord {
        at: access.unix_ms(),
        who: format!(
            "link {}",
            account.as_ref().map_or("(refused)", |a| a.name.as_str())
        ),
        role: account.as_ref().map(|a| a.role),
        action: "GET /v1/login/link".into(),
        outcome: if account.is_some() { 303 } else { 401 },
        source,
    };
    gate::record(Arc::clone(&access), rec).await;
    let account = account.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this login link is spent, expired or unknown",
        )
    })?;
    let s = access
        .start_session(&account)
        .ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "sessions unavailable"))?;
    Ok(HttpResponse::SeeOther()
        .append_header((header::LOCATION, "/"))
        .append_header((
            header::SET_COOKIE,
            gate::set_cookie(SESSION_COOKIE, &s.id, true, gate.tls, None),
        ))
        .append_header((
            header::SET_COOKIE,
            gate::set_cookie(CSRF_COOKIE, &s.csrf, false, gate.tls, None),
        ))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_and_asset_is_embedded_and_typed() {
        for page in [BOARD_PAGE, AGENT_PAGE, ADMIN_PAGE] {
            assert!(page.contains("<html"));
        }
        for a in ASSETS {
            assert!(!a.body.is_empty(), "{}", a.name);
            let ext = a.name.rsplit('.').next().unwrap_or("");
            let want = match ext {
                "js" => JS,
                "css" => CSS,
                "svg" => SVG,
                _ => "",
            };
            assert_eq!(a.content_type, want, "{}", a.name);
        }
        // Pages load only what is embedded, and carry no inline script or style.
        for page in [BOARD_PAGE, AGENT_PAGE, ADMIN_PAGE] {
            for src in page
                .split("src=\"")
                .skip(1)
                .chain(page.split("href=\"").skip(1))
            {
                let path = src.split('"').next().unwrap_or("");
                if let Some(name) = path.strip_prefix("/assets/") {
                    assert!(ASSETS.iter().any(|a| a.name == name), "{path}");
                }
            }
            assert!(!page.contains("<script>") && !page.contains("style=\""));
            assert!(!page.contains(" onclick="));
        }
    }
}
