//! The route table against the gate: every endpoint refuses a caller without credentials
//! (401) and one whose role is too small (403), walked from `routes::endpoints()` so a new
//! route is checked the day it is added. Also Host, Origin, CSRF and body checks, on an app
//! with the gate and no node behind it (a request that gets past the gate reaches a handler
//! that finds no node: a 500, which is neither 401 nor 403).

use std::sync::Arc;

use actix_web::http::{Method, StatusCode};
use actix_web::middleware::from_fn;
use actix_web::{test, web, App};

use super::gate::{self, Gatekeeper};
use super::routes::{self, Access as Needs, Body};
use crate::auth::{Access, AccessSettings, Role};
use crate::storage::SledStore;

struct Fixture {
    _dir: tempfile::TempDir,
    access: Arc<Access>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SledStore::open(dir.path()).expect("open"));
    let access = Access::new(
        store,
        Arc::new(outdial_core::clock::SystemClock),
        &[],
        AccessSettings::default(),
    )
    .expect("access");
    Fixture {
        _dir: dir,
        access: Arc::new(access),
    }
}

fn gatekeeper(access: &Arc<Access>) -> web::Data<Gatekeeper> {
    web::Data::new(Gatekeeper {
        access: Arc::clone(access),
        names: vec!["node.example.com".into()],
        origins: vec!["https://wall.example.com".into()],
        max_json: 1 << 20,
        max_csv: 1 << 20,
        tls: false,
    })
}

macro_rules! app {
    ($gk:expr) => {
        test::init_service(
            App::new()
                .app_data($gk.clone())
                .wrap(from_fn(gate::outer))
                .configure(routes::configure)
                .default_service(web::to(super::api::not_found)),
        )
        .await
    };
}

fn request(e: &routes::Endpoint, bearer: Option<&str>) -> test::TestRequest {
    let path = e
        .path
        .split('/')
        .map(|seg| match seg {
            "{action}" => "start",
            s if s.starts_with('{') => "1",
            s => s,
        })
        .collect::<Vec<_>>()
        .join("/");
    let mut r = test::TestRequest::default()
        .method(e.method.clone())
        .uri(&path)
        .insert_header(("Host", "127.0.0.1:8080"))
        .peer_addr("127.0.0.1:40000".parse().unwrap_or_else(|_| unreachable!()));
    r = match e.body {
        Body::None => r,
        Body::Json => r
            .insert_header(("Content-Type", "application/json"))
            .set_payload("{}"),
        Body::Csv => r
            .insert_header(("Content-Type", "text/csv"))
            .set_payload("phone\n"),
    };
    if let Some(b) = bearer {
        r = r.insert_header(("Authorization", format!("Bearer {b}")));
    }
    r
}

#[actix_web::test]
async fn every_route_refuses_strangers_and_too_small_roles() {
    let f = fixture();
    let gk = gatekeeper(&f.access);
    let app = app!(gk);
    let tokens: Vec<(Role, String)> = Role::ALL
        .into_iter()
        .map(|r| {
            let (_, t) = f.access.issue_token(&format!("t-{r}"), r).expect("token");
            (r, t.bearer())
        })
        .collect();
    let endpoints = routes::endpoints();
    assert!(endpoints.len() >= 29, "{endpoints:#?}");
    let open: Vec<String> = endpoints
        .iter()
        .filter(|e| matches!(e.access, Needs::Public | Needs::InBandLogin))
        .map(|e| format!("{} {}", e.method, e.path))
        .collect();
    assert_eq!(
        open,
        [
            "POST /v1/login",
            "GET /v1/login/link",
            "GET /",
            "GET /agent",
            "GET /admin",
            "GET /assets/{name}",
            "GET /v1/desktop"
        ],
        "only the logins and the data-free pages are reachable without credentials; review any other before adding it"
    );
    for e in endpoints
        .iter()
        .filter(|e| !open.contains(&format!("{} {}", e.method, e.path)))
    {
        let res = test::call_service(&app, request(e, None).to_request()).await;
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "{e:?} without credentials"
        );
        let res = test::call_service(
            &app,
            request(e, Some("odt_0123456789abcdef_nope")).to_request(),
        )
        .await;
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "{e:?} with a made-up token"
        );
        for (role, bearer) in &tokens {
            let allowed = match e.access {
                Needs::Role(needed) => role.grants(needed),
                _ => true,
            };
            let res = test::call_service(&app, request(e, Some(bearer)).to_request()).await;
            let s = res.status();
            if allowed {
                assert!(
                    s != StatusCode::UNAUTHORIZED && s != StatusCode::FORBIDDEN,
                    "{e:?} as {role}: {s}"
                );
            } else {
                assert_eq!(s, StatusCode::FORBIDDEN, "{e:?} as {role}");
            }
        }
    }
    // A revoked token is refused at once.
    let (rec, t) = f
        .access
        .issue_token("short-lived", Role::Admin)
        .expect("token");
    let e = endpoints
        .iter()
        .find(|e| e.path == "/v1/users")
        .expect("users");
    let ok = test::call_service(&app, request(e, Some(&t.bearer())).to_request()).await;
    assert_ne!(ok.status(), StatusCode::UNAUTHORIZED);
    f.access.revoke_token(&rec.id).expect("revoke");
    let res = test::call_service(&app, request(e, Some(&t.bearer())).to_request()).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Unknown paths: 401 to strangers (no route map), 404 to callers with credentials.
    let stranger = test::TestRequest::get()
        .uri("/v1/secret")
        .insert_header(("Host", "localhost"))
        .to_request();
    assert_eq!(
        test::call_service(&app, stranger).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let known = test::TestRequest::get()
        .uri("/v1/secret")
        .insert_header(("Host", "localhost"))
        .insert_header(("Authorization", format!("Bearer {}", tokens[3].1)))
        .to_request();
    assert_eq!(
        test::call_service(&app, known).await.status(),
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn foreign_hosts_origins_and_bodies_are_refused_before_any_handler() {
    let f = fixture();
    let gk = gatekeeper(&f.access);
    let app = app!(gk);
    let (_, admin) = f.access.issue_token("a", Role::Admin).expect("token");
    let bearer = format!("Bearer {}", admin.bearer());
    let call = |method: Method, uri: &str, headers: &[(&str, &str)], body: &'static str| {
        let mut r = test::TestRequest::default()
            .method(method)
            .uri(uri)
            .peer_addr("127.0.0.1:40000".parse().unwrap_or_else(|_| unreachable!()))
            .set_payload(body);
        for (k, v) in headers {
            r = r.insert_header((*k, *v));
        }
        r.to_request()
    };
    let cases = vec![
        (
            "a rebinding host",
            call(
                Method::GET,
                "/v1/node",
                &[("Host", "evil.example:8080"), ("Authorization", &bearer)],
                "",
            ),
            StatusCode::MISDIRECTED_REQUEST,
        ),
        (
            "a configured name",
            call(
                Method::GET,
                "/v1/nope",
                &[("Host", "node.example.com"), ("Authorization", &bearer)],
                "",
            ),
            StatusCode::NOT_FOUND,
        ),
        (
            "a foreign origin",
            call(
                Method::POST,
                "/v1/campaigns",
                &[
                    ("Host", "127.0.0.1:8080"),
                    ("Origin", "http://evil.example"),
                    ("Authorization", &bearer),
                    ("Content-Type", "application/json"),
                ],
                "{}",
            ),
            StatusCode::FORBIDDEN,
        ),
        (
            "a null origin",
            call(
                Method::GET,
                "/v1/desktop",
                &[("Host", "127.0.0.1:8080"), ("Origin", "null")],
                "",
            ),
            StatusCode::FORBIDDEN,
        ),
        (
            "a foreign origin on the WebSocket",
            call(
                Method::GET,
                "/v1/desktop",
                &[
                    ("Host", "127.0.0.1:8080"),
                    ("Origin", "http://127.0.0.1:9999"),
                ],
                "",
            ),
            StatusCode::FORBIDDEN,
        ),
        (
            "no content type",
            call(
                Method::POST,
                "/v1/jobs/1/contacts",
                &[("Host", "127.0.0.1:8080"), ("Authorization", &bearer)],
                "phone\n",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "JSON where CSV is due",
            call(
                Method::POST,
                "/v1/jobs/1/contacts",
                &[
                    ("Host", "127.0.0.1:8080"),
                    ("Authorization", &bearer),
                    ("Content-Type", "application/json"),
                ],
                "[]",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "a form posted cross-site",
            call(
                Method::POST,
                "/v1/campaigns",
                &[
                    ("Host", "127.0.0.1:8080"),
                    ("Authorization", &bearer),
                    ("Content-Type", "application/x-www-form-urlencoded"),
                ],
                "a=b",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "a declared 2 MiB JSON body",
            call(
                Method::POST,
                "/v1/campaigns",
                &[
                    ("Host", "127.0.0.1:8080"),
                    ("Authorization", &bearer),
                    ("Content-Type", "application/json"),
                    ("Content-Length", "2097152"),
                ],
                "",
            ),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (what, req, want) in cases {
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), want, "{what}");
        let body = test::read_body(res).await;
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert!(v["error"].is_string(), "{what}: a JSON error: {body:?}");
    }
    // The API's own origin and a configured one pass the origin check (and then need a login).
    for origin in ["http://127.0.0.1:8080", "https://wall.example.com"] {
        let req = call(
            Method::GET,
            "/v1/node",
            &[("Host", "127.0.0.1:8080"), ("Origin", origin)],
            "",
        );
        assert_eq!(
            test::call_service(&app, req).await.status(),
            StatusCode::UNAUTHORIZED,
            "{origin}"
        );
    }
}

#[actix_web::test]
async fn a_cookie_session_must_echo_its_csrf_token_to_change_anything() {
    let f = fixture();
    f.access
        .put_user(
            "sue",
            Role::Supervisor,
            Some("sue's long password"),
            Vec::new(),
        )
        .expect("user");
    let gk = gatekeeper(&f.access);
    let app = app!(gk);
    let login = test::TestRequest::post()
        .uri("/v1/login")
        .insert_header(("Host", "localhost"))
        .insert_header(("Content-Type", "application/json"))
        .peer_addr("127.0.0.1:40000".parse().unwrap_or_else(|_| unreachable!()))
        .set_payload(r#"{"name":"sue","password":"sue's long password"}"#)
        .to_request();
    let res = test::call_service(&app, login).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cookies: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("outdial_session="))
        .expect("session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    let body: serde_json::Value = test::read_body_json(res).await;
    let csrf = body["csrf_token"].as_str().expect("csrf").to_owned();
    let cookie = session.split(';').next().expect("pair").to_owned();
    let whoami = test::TestRequest::get()
        .uri("/v1/whoami")
        .insert_header(("Host", "localhost"))
        .insert_header(("Cookie", cookie.clone()))
        .to_request();
    let v: serde_json::Value = test::call_and_read_body_json(&app, whoami).await;
    assert_eq!(
        (v["name"].as_str(), v["role"].as_str()),
        (Some("sue"), Some("supervisor"))
    );
    let post = |csrf: Option<&str>| {
        let mut r = test::TestRequest::post()
            .uri("/v1/jobs/1/start")
            .insert_header(("Host", "localhost"))
            .insert_header(("Cookie", cookie.clone()))
            .peer_addr("127.0.0.1:40000".parse().unwrap_or_else(|_| unreachable!()));
        if let Some(c) = csrf {
            r = r.insert_header(("X-CSRF-Token", c));
        }
        r.to_request()
    };
    assert_eq!(
        test::call_service(&app, post(None)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        test::call_service(&app, post(Some("forged")))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let s = test::call_service(&app, post(Some(&csrf))).await.status();
    assert!(
        s != StatusCode::FORBIDDEN && s != StatusCode::UNAUTHORIZED,
        "{s}"
    );
    // A wrong password and an unknown name get the same answer.
    for body in [
        r#"{"name":"sue","password":"wrong password!"}"#,
        r#"{"name":"nobody","password":"wrong password!"}"#,
    ] {
        let req = test::TestRequest::post()
            .uri("/v1/login")
            .insert_header(("Host", "localhost"))
            .insert_header(("Content-Type", "application/json"))
            .peer_addr("127.0.0.1:40000".parse().unwrap_or_else(|_| unreachable!()))
            .set_payload(body)
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{body}");
        let v: serde_json::Value = test::read_body_json(res).await;
        assert_eq!(v["error"], "unknown name or wrong password");
    }
    // The login and the refused logins are in the audit log; so is the started job.
    let log = f.access.audit_log(0, 100).expect("audit");
    let actions: Vec<(String, u16)> = log
        .iter()
        .map(|e| (e.record.action.clone(), e.record.outcome))
        .collect();
    assert!(
        actions.contains(&("POST /v1/login".into(), 200)),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("POST /v1/login".into(), 401)),
        "{actions:?}"
    );
    assert!(
        log.iter()
            .any(|e| e.record.action == "POST /v1/jobs/1/start" && e.record.who == "user sue"),
        "{actions:?}"
    );
}

#[actix_web::test]
async fn a_one_time_link_is_refused_without_its_secret_and_good_only_once() {
    let f = fixture();
    let gk = gatekeeper(&f.access);
    let app = app!(gk);
    let get = |uri: String| {
        test::TestRequest::get()
            .uri(&uri)
            .insert_header(("Host", "127.0.0.1:8080"))
            .peer_addr("127.0.0.1:40000".parse().unwrap_or_else(|_| unreachable!()))
            .to_request()
    };
    let refused = test::call_service(&app, get("/v1/login/link".into())).await;
    assert!(refused.status().is_client_error(), "{}", refused.status());
    let made_up = test::call_service(&app, get("/v1/login/link?token=nope".into())).await;
    assert_eq!(made_up.status(), StatusCode::UNAUTHORIZED);
    let link = super::web::one_time_link(&f.access, "", "sup").expect("a link");
    let first = test::call_service(&app, get(link.clone())).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert!(
        first.headers().contains_key("set-cookie"),
        "a session starts"
    );
    let again = test::call_service(&app, get(link)).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED, "spent");
}
