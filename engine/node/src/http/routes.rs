//! The route table: every endpoint of the API with who may call it and what body it takes,
//! in this one place. [`configure`] mounts each behind the gate that enforces its entry, and
//! the tests walk [`endpoints`] to check that each one refuses a caller without credentials
//! (401) or with too small a role (403): a route cannot be added open by mistake.

use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::{guard, web, Route};

use super::{access_api, api, desktop_ws, gate, metrics, openapi, web as pages};
use crate::auth::Role;

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: the logins that hand out credentials, and the pages and their assets (which
    /// hold no data: they fetch it with the viewer's credentials).
    Public,
    /// The desktop WebSocket: the agent logs in inside it, within a few seconds, throttled.
    InBandLogin,
    /// Any valid credentials, whatever the role.
    Authenticated,
    /// Credentials whose role grants this one.
    Role(Role),
}

/// What an endpoint's request body must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// None is read.
    None,
    /// `application/json`, at most `[http] max_json_body_bytes`.
    Json,
    /// `text/csv`, streamed, at most `[http] max_csv_upload_bytes`.
    Csv,
}

/// One endpoint.
pub struct Endpoint {
    pub method: Method,
    /// The path pattern, `{name}` for a segment.
    pub path: &'static str,
    pub access: Access,
    pub body: Body,
    route: fn() -> Route,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} ({:?}, {:?})",
            self.method, self.path, self.access, self.body
        )
    }
}

fn ep(
    method: Method,
    path: &'static str,
    access: Access,
    body: Body,
    route: fn() -> Route,
) -> Endpoint {
    Endpoint {
        method,
        path,
        access,
        body,
        route,
    }
}

/// Every endpoint, in matching order (a literal segment before a `{name}` in its place).
pub fn endpoints() -> Vec<Endpoint> {
    use Access::{Authenticated, InBandLogin, Public};
    use Body::{Csv, Json, None as Empty};
    const ADMIN: Access = Access::Role(Role::Admin);
    const SUPERVISOR: Access = Access::Role(Role::Supervisor);
    const VIEWER: Access = Access::Role(Role::Viewer);
    let (get, post, put, delete) = (Method::GET, Method::POST, Method::PUT, Method::DELETE);
    vec![
        ep(post.clone(), "/v1/login", Public, Json, || {
            web::to(access_api::login)
        }),
        ep(get.clone(), "/v1/login/link", Public, Empty, || {
            web::to(pages::redeem_link)
        }),
        ep(get.clone(), "/", Public, Empty, || {
            web::to(pages::board_page)
        }),
        ep(get.clone(), "/agent", Public, Empty, || {
            web::to(pages::agent_page)
        }),
        ep(get.clone(), "/admin", Public, Empty, || {
            web::to(pages::admin_page)
        }),
        ep(get.clone(), "/assets/{name}", Public, Empty, || {
            web::to(pages::asset)
        }),
        ep(get.clone(), "/v1/board", VIEWER, Empty, || {
            web::to(pages::board::upgrade)
        }),
        ep(post.clone(), "/v1/logout", Authenticated, Empty, || {
            web::to(access_api::logout)
        }),
        ep(
            get.clone(),
            "/v1/openapi.json",
            Authenticated,
            Empty,
            || web::to(openapi::document),
        ),
        ep(get.clone(), "/v1/whoami", Authenticated, Empty, || {
            web::to(access_api::whoami)
        }),
        ep(get.clone(), "/v1/desktop", InBandLogin, Empty, || {
            web::to(desktop_ws::upgrade)
        }),
        ep(post.clone(), "/v1/campaigns", SUPERVISOR, Json, || {
            web::to(api::create_campaign)
        }),
        ep(get.clone(), "/v1/campaigns", SUPERVISOR, Empty, || {
            web::to(api::list_campaigns)
        }),
        ep(get.clone(), "/v1/campaigns/{id}", SUPERVISOR, Empty, || {
            web::to(api::get_campaign)
        }),
        ep(
            get.clone(),
            "/v1/campaigns/{id}/stats",
            VIEWER,
            Empty,
            || web::to(api::campaign_stats),
        ),
        ep(get.clone(), "/v1/jobs/{id}", VIEWER, Empty, || {
            web::to(api::get_job)
        }),
        ep(
            post.clone(),
            "/v1/jobs/{id}/contacts",
            SUPERVISOR,
            Csv,
            || web::to(api::import_contacts),
        ),
        ep(
            get.clone(),
            "/v1/jobs/{id}/attempts",
            SUPERVISOR,
            Empty,
            || web::to(api::job_attempts),
        ),
        ep(
            post.clone(),
            "/v1/jobs/{id}/{action}",
            SUPERVISOR,
            Empty,
            || web::to(api::job_action),
        ),
        ep(get.clone(), "/v1/node", VIEWER, Empty, || {
            web::to(api::node_status)
        }),
        ep(get.clone(), "/metrics", VIEWER, Empty, || {
            web::to(metrics::metrics)
        }),
        ep(get.clone(), "/v1/cluster", VIEWER, Empty, || {
            web::to(api::cluster_view)
        }),
        ep(put.clone(), "/v1/cluster/zones/{zone}", ADMIN, Json, || {
            web::to(api::assign_zone)
        }),
        ep(post.clone(), "/v1/admin/faults", ADMIN, Json, || {
            web::to(api::inject_fault)
        }),
        ep(
            post.clone(),
            "/v1/admin/zones/{zone}/switchover",
            ADMIN,
            Empty,
            || web::to(api::switchover),
        ),
        ep(post.clone(), "/v1/dnc", SUPERVISOR, Json, || {
            web::to(api::add_dnc)
        }),
        ep(get.clone(), "/v1/agents", SUPERVISOR, Empty, || {
            web::to(api::list_agents)
        }),
        ep(
            post.clone(),
            "/v1/agents/{id}/move",
            SUPERVISOR,
            Json,
            || web::to(api::move_agent),
        ),
        ep(
            post.clone(),
            "/v1/agents/{id}/logout",
            SUPERVISOR,
            Empty,
            || web::to(api::logout_agent),
        ),
        ep(get.clone(), "/v1/users", ADMIN, Empty, || {
            web::to(access_api::list_users)
        }),
        ep(post.clone(), "/v1/users", ADMIN, Json, || {
            web::to(access_api::put_user)
        }),
        ep(delete.clone(), "/v1/users/{name}", ADMIN, Empty, || {
            web::to(access_api::remove_user)
        }),
        ep(get.clone(), "/v1/tokens", ADMIN, Empty, || {
            web::to(access_api::list_tokens)
        }),
        ep(post, "/v1/tokens", ADMIN, Json, || {
            web::to(access_api::create_token)
        }),
        ep(delete, "/v1/tokens/{id}", ADMIN, Empty, || {
            web::to(access_api::revoke_token)
        }),
        ep(get, "/v1/audit", ADMIN, Empty, || {
            web::to(access_api::audit_log)
        }),
    ]
}

/// Mounts every endpoint behind its gate.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for e in endpoints() {
        let rule = gate::Rule {
            access: e.access,
            body: e.body,
        };
        cfg.service(
            web::resource(e.path)
                .guard(guard::Method(e.method.clone()))
                .wrap(from_fn(move |req, next| gate::check(rule, req, next)))
                .route((e.route)()),
        );
    }
}
