//! The API's handlers over [`NodeHandle`]: campaigns, jobs and their contacts, agents,
//! do-not-call, node and cluster status, fault injection. Each is mounted behind its gate
//! by the route table (`routes`); every bad request gets a 4xx with a JSON body saying what
//! is wrong.

use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
use serde::Serialize;
use serde_json::json;

use super::error::{ApiError, ApiResult};
use super::gate::Gatekeeper;
use crate::actors::director::JobAction;
use crate::{NodeError, NodeHandle};
use outdial_core::campaign::CampaignSpec;
use outdial_core::domain::{CampaignId, JobId};

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

pub async fn create_campaign(node: web::Data<NodeHandle>, body: web::Bytes) -> ApiResult {
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

pub async fn list_campaigns(node: web::Data<NodeHandle>) -> ApiResult {
    let recs = node.store().campaigns().map_err(NodeError::from)?;
    let views = recs
        .into_iter()
        .map(|r| campaign_view(&node, r))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(views))
}

pub async fn get_campaign(node: web::Data<NodeHandle>, path: web::Path<String>) -> ApiResult {
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

pub async fn campaign_stats(node: web::Data<NodeHandle>, path: web::Path<String>) -> ApiResult {
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

/// `POST /v1/jobs/{id}/contacts`: the body (`text/csv`, checked by the gate) streamed into
/// the importer.
pub async fn import_contacts(
    node: web::Data<NodeHandle>,
    gate: web::Data<Gatekeeper>,
    path: web::Path<String>,
    body: web::Payload,
) -> ApiResult {
    let job = job_id(&path)?;
    let report = super::upload::import(&node, job, body, gate.max_csv).await?;
    Ok(HttpResponse::Ok().json(report))
}

pub async fn job_action(
    node: web::Data<NodeHandle>,
    path: web::Path<(String, String)>,
) -> ApiResult {
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

pub async fn get_job(node: web::Data<NodeHandle>, path: web::Path<String>) -> ApiResult {
    let job = job_id(&path)?;
    Ok(HttpResponse::Ok().json(node.job_report(job).await?))
}

pub async fn job_attempts(node: web::Data<NodeHandle>, path: web::Path<String>) -> ApiResult {
    let job = job_id(&path)?;
    if node.store().job(job).map_err(NodeError::from)?.is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("job {job} does not exist"),
        ));
    }
    Ok(HttpResponse::Ok().json(node.store().attempts(job).map_err(NodeError::from)?))
}

pub async fn node_status(node: web::Data<NodeHandle>) -> ApiResult {
    Ok(HttpResponse::Ok().json(node.status()))
}

pub async fn add_dnc(node: web::Data<NodeHandle>, body: web::Json<Vec<String>>) -> ApiResult {
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

pub async fn list_agents(node: web::Data<NodeHandle>) -> ApiResult {
    Ok(HttpResponse::Ok().json(node.agents().await))
}

/// `{"job": N}`: the job of the agent's zone it works for next.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveAgent {
    job: u64,
}

pub async fn move_agent(
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

pub async fn logout_agent(node: web::Data<NodeHandle>, path: web::Path<String>) -> ApiResult {
    node.logout_agent(&path).await?;
    Ok(
        HttpResponse::Ok()
            .json(serde_json::json!({"agent": path.into_inner(), "logged_out": true})),
    )
}

/// `POST /v1/admin/faults`: injects a fault (only when `[chaos] enabled`).
pub async fn inject_fault(node: web::Data<NodeHandle>, body: web::Bytes) -> ApiResult {
    let fault: crate::faults::Fault = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("body must be a fault such as {{\"kind\": \"panic-zone\", \"zone\": \"default\"}}: {e}"),
        )
    })?;
    Ok(HttpResponse::Ok().json(node.inject(fault)?))
}

/// `POST /v1/admin/zones/{zone}/switchover`: a planned switchover of the zone's agent manager.
pub async fn switchover(node: web::Data<NodeHandle>, path: web::Path<String>) -> ApiResult {
    node.switchover(&path)?;
    Ok(
        HttpResponse::Accepted()
            .json(json!({ "zone": path.into_inner(), "switchover": "started" })),
    )
}

/// `GET /v1/cluster`: leases, nodes and zone assignments as this node sees them.
pub async fn cluster_view(node: web::Data<NodeHandle>) -> ApiResult {
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
pub async fn assign_zone(
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

/// Any path or method the route table does not have: 401 to a caller without credentials
/// (the route map is not shown to strangers), a JSON 404 otherwise.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    super::gate::unknown_endpoint(&req)
}
