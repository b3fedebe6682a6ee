//! The HTTP API (actix-web): versioned JSON paths over [`NodeHandle`], `/metrics` in the
//! Prometheus text format. Every bad request gets a 4xx with a JSON body saying what is wrong.

use std::fmt::Write as _;
use std::net::SocketAddr;

use actix_web::{
    error, http::StatusCode, web, App, HttpRequest, HttpResponse, HttpServer, ResponseError,
};
use serde::Serialize;
use serde_json::json;

use crate::actors::director::JobAction;
use crate::{NodeError, NodeHandle};
use outdial_core::campaign::CampaignSpec;
use outdial_core::domain::{CampaignId, JobId};

/// An API error: a status and a JSON body `{"error": ..., "details": [...]}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    details: Vec<String>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            details: Vec::new(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status)
            .json(json!({ "error": self.message, "details": self.details }))
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        match e {
            NodeError::NotFound(what) => ApiError::new(StatusCode::NOT_FOUND, what.to_string()),
            NodeError::Conflict(why) => ApiError::new(StatusCode::CONFLICT, why),
            NodeError::Invalid(problems) => ApiError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                message: "the request is not valid".into(),
                details: problems.iter().map(ToString::to_string).collect(),
            },
            e @ NodeError::Unavailable { .. } => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
            NodeError::Forbidden(why) => ApiError::new(StatusCode::FORBIDDEN, why),
            other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        }
    }
}

type ApiResult = Result<HttpResponse, ApiError>;

fn job_id(raw: &str) -> Result<JobId, ApiError> {
    raw.parse::<u64>().map(JobId).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("job id must be a number, got {raw:?}"),
        )
    })
}

fn campaign_id(raw: &str) -> Result<CampaignId, ApiError> {
    raw.parse::<u64>().map(CampaignId).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("campaign id must be a number, got {raw:?}"),
        )
    })
}

async fn create_campaign(node: web::Data<NodeHandle>, body: web::Bytes) -> ApiResult {
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "body is not UTF-8"))?;
    let spec = CampaignSpec::from_json(text)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("campaign JSON: {e}")))?;
    let (campaign, job) = node.create_campaign(spec).await?;
    Ok(HttpResponse::Created().json(json!({ "campaign": campaign, "job": job })))
}

#[derive(Serialize)]
struct CampaignView {
    id: CampaignId,
    name: String,
    created_at: u64,
    spec: serde_json::Value,
    jobs: Vec<crate::storage::Job>,
}

fn campaign_view(
    node: &NodeHandle,
    rec: crate::storage::CampaignRecord,
) -> Result<CampaignView, ApiError> {
    let jobs = node
        .store()
        .jobs()
        .map_err(NodeError::from)?
        .into_iter()
        .filter(|j| j.campaign == rec.id)
        .collect();
    Ok(CampaignView {
        id: rec.id,
        name: rec.name,
        created_at: rec.created_at,
        spec: serde_json::from_str(&rec.spec).unwrap_or(serde_json::Value::Null),
        jobs,
    })
}

async fn list_campaigns(node: web::Data<NodeHandle>) -> ApiResult {
    let recs = node.store().campaigns().map_err(NodeError::from)?;
    let views = recs
        .into_iter()
        .map(|r| campaign_view(&node, r))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(views))
}

async fn get_campaign(node: web::Data<NodeHandle>, path: web::Path<String>) -> ApiResult {
    let id = campaign_id(&path)?;
    let rec = node
        .store()
        .campaign(id)
        .map_err(NodeError::from)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("campaign {id} does not exist"),
            )
        })?;
    Ok(HttpResponse::Ok().json(campaign_view(&node, rec)?))
}

async fn campaign_stats(node: web::Data<NodeHandle>, path: web::Path<String>) -> ApiResult {
    let id = campaign_id(&path)?;
    let jobs: Vec<_> = node
        .store()
        .jobs()
        .map_err(NodeError::from)?
        .into_iter()
        .filter(|j| j.campaign == id)
        .collect();
    if jobs.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("campaign {id} does not exist"),
        ));
    }
    let mut reports = Vec::new();
    for j in jobs {
        reports.push(node.job_report(j.id).await?);
    }
    Ok(HttpResponse::Ok().json(json!({ "campaign": id, "jobs": reports })))
}

async fn import_contacts(
    node: web::Data<NodeHandle>,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult {
    let job = job_id(&path)?;
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !(ct.starts_with("text/csv") || ct.starts_with("application/octet-stream") || ct.is_empty())
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("contacts must be uploaded as text/csv, not {ct}"),
        ));
    }
    let report = node
        .import_csv(job, std::io::Cursor::new(body.to_vec()), false)
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

async fn job_action(node: web::Data<NodeHandle>, path: web::Path<(String, String)>) -> ApiResult {
    let (raw, action) = path.into_inner();
    let job = job_id(&raw)?;
    let action = match action.as_str() {
        "start" => JobAction::Start,
        "pause" => JobAction::Pause,
        "resume" => JobAction::Resume,
        "stop" => JobAction::Stop,
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("unknown job action {other:?}: use start, pause, resume or stop"),
            ))
        }
    };
    let state = node.control(job, action).await?;
    Ok(HttpResponse::Ok().json(json!({ "job": job, "state": state })))
}

async fn get_job(node: web::Data<NodeHandle>, path: web::Path<String>) -> ApiResult {
    let job = job_id(&path)?;
    Ok(HttpResponse::Ok().json(node.job_report(job).await?))
}

async fn job_attempts(node: web::Data<NodeHandle>, path: web::Path<String>) -> ApiResult {
    let job = job_id(&path)?;
    if node.store().job(job).map_err(NodeError::from)?.is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("job {job} does not exist"),
        ));
    }
    Ok(HttpResponse::Ok().json(node.store().attempts(job).map_err(NodeError::from)?))
}

async fn node_status(node: web::Data<NodeHandle>) -> ApiResult {
    Ok(HttpResponse::Ok().json(node.status()))
}

async fn add_dnc(node: web::Data<NodeHandle>, body: web::Json<Vec<String>>) -> ApiResult {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for (i, n) in body.into_inner().into_iter().enumerate() {
        match outdial_core::contacts::phone::normalize(&n) {
            Ok(e164) => ok.push(e164),
            Err(e) => bad.push(format!("[{i}] {n:?}: {e}")),
        }
    }
    if !bad.is_empty() {
        return Err(ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: "some numbers are not valid E.164".into(),
            details: bad,
        });
    }
    let total = node.add_do_not_call(ok).await?;
    Ok(HttpResponse::Ok().json(json!({ "do_not_call": total })))
}

async fn metrics(node: web::Data<NodeHandle>) -> ApiResult {
    let st = node.status();
    let mut out = String::new();
    let _ = writeln!(out, "# HELP outdial_invites_sent_total INVITEs sent by this node.\n# TYPE outdial_invites_sent_total counter\noutdial_invites_sent_total {}", st.invites_sent);
    for (name, help, v) in [
        ("legs", "Call legs ended.", st.media.legs),
        (
            "packets_sent",
            "RTP packets sent by call legs that have ended.",
            st.media.packets_sent,
        ),
        (
            "packets_received",
            "RTP packets received by call legs that have ended.",
            st.media.packets_received,
        ),
        (
            "packets_lost",
            "RTP packets lost (RFC 3550) on call legs that have ended.",
            st.media.packets_lost,
        ),
        (
            "unexpected_source",
            "RTP datagrams dropped for coming from an address other than the far end's SDP named.",
            st.media.unexpected_source,
        ),
        (
            "malformed",
            "Datagrams from the far end that were not RTP.",
            st.media.malformed,
        ),
    ] {
        let _ = writeln!(out, "# HELP outdial_rtp_{name}_total {help}\n# TYPE outdial_rtp_{name}_total counter\noutdial_rtp_{name}_total {v}");
    }
    let _ = writeln!(out, "# HELP outdial_sip_retransmissions_total SIP retransmissions sent.\n# TYPE outdial_sip_retransmissions_total counter\noutdial_sip_retransmissions_total {}", st.sip_retransmissions);
    let _ = writeln!(out, "# HELP outdial_recovered_attempts_total Attempts resolved recovered-after-failover at start-up.\n# TYPE outdial_recovered_attempts_total counter\noutdial_recovered_attempts_total {}", st.recovered_attempts);
    let _ = writeln!(out, "# HELP outdial_calls_in_flight Calls in progress.\n# TYPE outdial_calls_in_flight gauge\noutdial_calls_in_flight {}", st.load.calls_in_flight);
    let _ = writeln!(out, "# HELP outdial_cpu_cores CPU cores used by this process.\n# TYPE outdial_cpu_cores gauge\noutdial_cpu_cores {}", st.load.cpu_cores);
    // Each metric family is written whole (HELP, TYPE, then every sample): the text format
    // does not allow a family's samples to be interleaved with another's.
    let _ = writeln!(out, "# HELP outdial_mpp_up Whether a media server answers its health probes.\n# TYPE outdial_mpp_up gauge");
    for m in &st.mpps {
        let _ = writeln!(
            out,
            "outdial_mpp_up{{mpp=\"{}\"}} {}",
            m.name,
            u8::from(m.healthy)
        );
    }
    let _ = writeln!(out, "# HELP outdial_mpp_ports_in_use Calls a media server is carrying.\n# TYPE outdial_mpp_ports_in_use gauge");
    for m in &st.mpps {
        let _ = writeln!(
            out,
            "outdial_mpp_ports_in_use{{mpp=\"{}\"}} {}",
            m.name, m.in_use
        );
    }
    let mut views = Vec::new();
    if let Ok(jobs) = node.store().jobs() {
        for j in jobs {
            if let Some(rt) = node.runtime(j.id).await {
                views.push((j.id, rt.stats.view(outdial_core::clock::unix_ms())));
            }
        }
    }
    let _ = writeln!(out, "# HELP outdial_attempts_total Attempts completed, by job and completion code.\n# TYPE outdial_attempts_total counter");
    for (job, v) in &views {
        for (code, n) in &v.by_code {
            let _ = writeln!(
                out,
                "outdial_attempts_total{{job=\"{job}\",code=\"{code}\"}} {n}"
            );
        }
    }
    let _ = writeln!(out, "# HELP outdial_nuisance_rate_percent Nuisance calls per live-answered call.\n# TYPE outdial_nuisance_rate_percent gauge");
    for (job, v) in &views {
        let _ = writeln!(
            out,
            "outdial_nuisance_rate_percent{{job=\"{job}\",window=\"calendar-day\"}} {}",
            v.nuisance_rate_day_pct
        );
        let _ = writeln!(
            out,
            "outdial_nuisance_rate_percent{{job=\"{job}\",window=\"rolling-30-days\"}} {}",
            v.nuisance_rate_30d_pct
        );
    }
    let _ = writeln!(out, "# HELP outdial_nuisance_window Live answers, nuisance calls and machine verdicts in each nuisance window, with the people the detector is estimated to have called machines (counted as abandoned).\n# TYPE outdial_nuisance_window gauge");
    for (job, v) in &views {
        let c = &v.nuisance_counts;
        for (window, live, nuisance, machine, estimate) in [
            (
                "calendar-day",
                c.live_day,
                c.nuisance_day,
                c.machine_day,
                v.amd_estimate_day,
            ),
            (
                "rolling-30-days",
                c.live_30d,
                c.nuisance_30d,
                c.machine_30d,
                v.amd_estimate_30d,
            ),
        ] {
            for (kind, n) in [
                ("live", live),
                ("nuisance", nuisance),
                ("machine", machine),
                ("amd-estimate", estimate),
            ] {
                let _ = writeln!(
                    out,
                    "outdial_nuisance_window{{job=\"{job}\",window=\"{window}\",kind=\"{kind}\"}} {n}"
                );
            }
        }
    }
    let _ = writeln!(out, "# HELP outdial_held_back_total Contacts the rules of law held back, by job and rule.\n# TYPE outdial_held_back_total counter");
    for (job, v) in &views {
        for (rule, n) in &v.held_back {
            let _ = writeln!(
                out,
                "outdial_held_back_total{{job=\"{job}\",rule=\"{rule}\"}} {n}"
            );
        }
    }
    let _ = writeln!(out, "# HELP outdial_zone_agents Agents logged in to the zone, and those free for a call.\n# TYPE outdial_zone_agents gauge");
    let zones = node.zone_counts();
    for (zone, c) in &zones {
        let _ = writeln!(
            out,
            "outdial_zone_agents{{zone=\"{zone}\",state=\"logged-in\"}} {}",
            c.agents_total
        );
        let _ = writeln!(
            out,
            "outdial_zone_agents{{zone=\"{zone}\",state=\"ready\"}} {}",
            c.agents_ready
        );
    }
    let _ = writeln!(out, "# HELP outdial_zone_calls_without_agent Calls holding a line without an agent, by stage.\n# TYPE outdial_zone_calls_without_agent gauge");
    for (zone, c) in &zones {
        for (stage, n) in [
            ("dialing", c.calls_dialing),
            ("ringing", c.calls_ringing),
            ("waiting", c.calls_waiting),
        ] {
            let _ = writeln!(
                out,
                "outdial_zone_calls_without_agent{{zone=\"{zone}\",stage=\"{stage}\"}} {n}"
            );
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out))
}

async fn list_agents(node: web::Data<NodeHandle>) -> ApiResult {
    Ok(HttpResponse::Ok().json(node.agents().await))
}

/// `{"job": N}`: the job of the agent's zone it works for next.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveAgent {
    job: u64,
}

async fn move_agent(
    node: web::Data<NodeHandle>,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult {
    let m: MoveAgent = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("body must be {{\"job\": <job id>}}: {e}"),
        )
    })?;
    node.move_agent(&path, JobId(m.job)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"agent": path.into_inner(), "job": m.job})))
}

async fn logout_agent(node: web::Data<NodeHandle>, path: web::Path<String>) -> ApiResult {
    node.logout_agent(&path).await?;
    Ok(
        HttpResponse::Ok()
            .json(serde_json::json!({"agent": path.into_inner(), "logged_out": true})),
    )
}

/// `POST /v1/admin/faults`: injects a fault (only when `[chaos] enabled`).
async fn inject_fault(node: web::Data<NodeHandle>, body: web::Bytes) -> ApiResult {
    let fault: crate::faults::Fault = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("body must be a fault such as {{\"kind\": \"panic-zone\", \"zone\": \"default\"}}: {e}"),
        )
    })?;
    Ok(HttpResponse::Ok().json(node.inject(fault)?))
}

/// `POST /v1/admin/zones/{zone}/switchover`: a planned switchover of the zone's agent manager.
async fn switchover(node: web::Data<NodeHandle>, path: web::Path<String>) -> ApiResult {
    node.switchover(&path)?;
    Ok(
        HttpResponse::Accepted()
            .json(json!({ "zone": path.into_inner(), "switchover": "started" })),
    )
}

/// `GET /v1/cluster`: leases, nodes and zone assignments as this node sees them.
async fn cluster_view(node: web::Data<NodeHandle>) -> ApiResult {
    match node.cluster() {
        Some(v) => Ok(HttpResponse::Ok().json(v)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "this node is not part of a cluster (no [cluster] in its config)".to_owned(),
        )),
    }
}

/// The body of `PUT /v1/cluster/zones/{zone}`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ZoneAssignment {
    node: String,
    /// false: "save" (record the choice); true: "save and apply" (move the zone now).
    #[serde(default)]
    apply: bool,
}

/// `PUT /v1/cluster/zones/{zone}`: the zone-assignment API.
async fn assign_zone(
    node: web::Data<NodeHandle>,
    path: web::Path<String>,
    body: web::Bytes,
) -> ApiResult {
    let a: ZoneAssignment = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("body must be {{\"node\": \"pom2\", \"apply\": true|false}}: {e}"),
        )
    })?;
    node.assign_zone(&path, &a.node, a.apply)?;
    let zone = path.into_inner();
    Ok(HttpResponse::Accepted().json(json!({
        "zone": zone,
        "node": a.node,
        "saved": true,
        "applied": a.apply,
    })))
}

async fn not_found(req: HttpRequest) -> ApiResult {
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no such endpoint: {} {}", req.method(), req.path()),
    ))
}

/// Mounts the API on a configured app.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(1 << 20)
            .error_handler(|err, _| {
                let msg = format!("JSON body: {err}");
                error::InternalError::from_response(
                    err,
                    HttpResponse::BadRequest().json(json!({ "error": msg, "details": [] })),
                )
                .into()
            }),
    )
    .app_data(web::PayloadConfig::new(512 << 20))
    .route("/v1/campaigns", web::post().to(create_campaign))
    .route("/v1/campaigns", web::get().to(list_campaigns))
    .route("/v1/campaigns/{id}", web::get().to(get_campaign))
    .route("/v1/campaigns/{id}/stats", web::get().to(campaign_stats))
    .route("/v1/jobs/{id}", web::get().to(get_job))
    .route("/v1/jobs/{id}/contacts", web::post().to(import_contacts))
    .route("/v1/jobs/{id}/attempts", web::get().to(job_attempts))
    .route("/v1/jobs/{id}/{action}", web::post().to(job_action))
    .route("/v1/node", web::get().to(node_status))
    .route("/v1/cluster", web::get().to(cluster_view))
    .route("/v1/cluster/zones/{zone}", web::put().to(assign_zone))
    .route("/v1/admin/faults", web::post().to(inject_fault))
    .route(
        "/v1/admin/zones/{zone}/switchover",
        web::post().to(switchover),
    )
    .route("/v1/dnc", web::post().to(add_dnc))
    .route("/v1/agents", web::get().to(list_agents))
    .route("/v1/agents/{id}/move", web::post().to(move_agent))
    .route("/v1/agents/{id}/logout", web::post().to(logout_agent))
    .route(
        "/v1/desktop",
        web::get().to(crate::http::desktop_ws::upgrade),
    )
    .route("/metrics", web::get().to(metrics));
}

/// Serves the API for `node` on `bind`; returns the bound address (port 0 picks one).
pub fn serve(
    node: NodeHandle,
    bind: SocketAddr,
) -> std::io::Result<(SocketAddr, actix_web::dev::Server)> {
    let data = web::Data::new(node);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .configure(configure)
            .default_service(web::to(not_found))
    })
    .workers(1)
    .disable_signals()
    .bind(bind)?;
    let addr = server.addrs().first().copied().unwrap_or(bind);
    Ok((addr, server.run()))
}
