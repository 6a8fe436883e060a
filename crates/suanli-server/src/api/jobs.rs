//! Jobs: submit, list, show, cancel — each role sees only what it may.

use crate::AppState;
use crate::auth::Caller;
use crate::dto::*;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, OptionalJsonBody, Query};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use suanli_core::error::ErrorCode;
use suanli_core::id::{CentreId, JobId, TenantId};
use suanli_core::job::{Job, JobSpec, JobState};
use suanli_core::money::Fen;
use suanli_core::tenant::Role;
use suanli_store::JobFilter;

/// Submits a job. A tenant submits for itself; the operator names the tenant. A job that
/// no pool in the city could ever run is refused (`job_unsatisfiable`) with the reason.
/// With an `Idempotency-Key`, a retry with the same key and spec answers the job stored the
/// first time (`Idempotent-Replayed: true`) on any replica, so retrying after a timeout or a
/// failover never submits twice.
#[utoipa::path(post, path = "/api/v1/jobs", tag = "jobs", security(("bearer" = [])), request_body = JobIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 200 visible ASCII characters (a UUID, say), unique per tenant")),
    responses((status = 201, body = JobOut, headers(("Idempotent-Replayed" = String, description = "`true` when this answers an earlier submission with the same key"))),
        (status = 400, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 409, description = "unfunded_jobs_limit: too many of the tenant's jobs wait for funds", body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn submit_job(
    State(s): State<AppState>,
    c: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<JobIn>,
) -> ApiResult<(StatusCode, [(&'static str, &'static str); 1], Json<JobOut>)> {
    let tenant_id = submitting_tenant(&s, &c, body.tenant_id.as_deref()).await?;
    let spec = spec_from(body)?;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(v.to_str().map_err(|_| {
            ApiError::new(ErrorCode::InvalidIdempotencyKey, "an Idempotency-Key is 1 to 200 visible ASCII characters, such as a UUID")
        })?),
    };
    let (job, replayed) = match key {
        None => (s.jobs.create(&c.0.actor(), tenant_id, spec).await?, false),
        Some(key) => s.jobs.create_idempotent(&c.0.actor(), tenant_id, spec, key).await?,
    };
    if !replayed {
        s.metrics.jobs_submitted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    Ok((StatusCode::CREATED, [("idempotent-replayed", if replayed { "true" } else { "false" })], Json(JobOut::from(&job))))
}

/// The tenant a submission is for: a tenant's own, or the one the operator names.
async fn submitting_tenant(s: &AppState, c: &Caller, named: Option<&str>) -> ApiResult<TenantId> {
    c.require(&[Role::Tenant, Role::Operator])?;
    let body_tenant = named;
    Ok(match c.role() {
        Role::Tenant => {
            let own = c.0.tenant_id.clone().ok_or_else(|| ApiError::new(ErrorCode::Forbidden, "this tenant user is bound to no tenant"))?;
            if body_tenant.is_some_and(|t| t != own.as_str()) {
                return Err(ApiError::new(ErrorCode::Forbidden, "a tenant submits jobs only for itself"));
            }
            own
        }
        _ => {
            let t = TenantId::parse(
                body_tenant
                    .ok_or_else(|| ApiError::new(ErrorCode::InvalidBody, "tenant_id is required when the operator submits a job"))?,
            )?;
            s.store.tenant(&t).await?.ok_or_else(|| ApiError::new(ErrorCode::TenantNotFound, format!("no tenant {t}")))?;
            t
        }
    })
}

/// A sweep of jobs submitted at once.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobBatchIn {
    /// Up to 1,000 job specs (each as for `POST /api/v1/jobs`; `tenant_id` here, not in the specs).
    pub jobs: Vec<JobIn>,
    /// `true`: all or nothing (one bad spec stores none); `false` (default): each on its own.
    #[serde(default)]
    pub atomic: bool,
    /// Required when the operator submits; a tenant submits for itself.
    #[serde(default)]
    pub tenant_id: Option<String>,
}

/// A spec of a batch that was refused: its place in the batch and why.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct BatchRefusal {
    pub index: usize,
    pub code: String,
    pub detail: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct JobBatchOut {
    /// The jobs stored, in the order of their specs.
    pub created: Vec<JobOut>,
    pub refused: Vec<BatchRefusal>,
}

/// Submits up to 1,000 jobs in one request and one commit (with their audit records). Each
/// refused spec says its index and code; with `atomic`, one refused spec stores nothing (422).
#[utoipa::path(post, path = "/api/v1/jobs:batch", tag = "jobs", security(("bearer" = [])), request_body = JobBatchIn,
    responses((status = 201, body = JobBatchOut),
        (status = 422, description = "invalid_count, or batch_refused: all or nothing, and some spec was refused; the problem's `refused` lists each with its index and code; nothing stored", body = crate::error::Problem)))]
pub async fn submit_batch(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(body): JsonBody<JobBatchIn>,
) -> Result<(StatusCode, Json<JobBatchOut>), axum::response::Response> {
    use axum::response::IntoResponse;
    submit_batch_inner(s, c, body).await.map_err(|e| match e {
        Refusal::Api(e) => e.into_response(),
        Refusal::Batch(r) => r,
    })
}

/// Why a batch was refused as a whole.
enum Refusal {
    Api(ApiError),
    Batch(axum::response::Response),
}

impl<E: Into<ApiError>> From<E> for Refusal {
    fn from(e: E) -> Refusal {
        Refusal::Api(e.into())
    }
}

/// The problem document of an all-or-nothing batch with refused specs: `refused` lists each.
fn batch_refused(refused: Vec<BatchRefusal>) -> Refusal {
    use axum::response::IntoResponse;
    let mut p = serde_json::to_value(crate::error::problem(
        ErrorCode::BatchRefused,
        format!("{} spec(s) of the batch were refused, so none was stored; `refused` says which and why", refused.len()),
    ))
    .unwrap_or_default();
    p["refused"] = serde_json::to_value(&refused).unwrap_or_default();
    let mut r = (StatusCode::UNPROCESSABLE_ENTITY, Json(p)).into_response();
    r.headers_mut().insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/problem+json"));
    Refusal::Batch(r)
}

async fn submit_batch_inner(s: AppState, c: Caller, body: JobBatchIn) -> Result<(StatusCode, Json<JobBatchOut>), Refusal> {
    let tenant_id = submitting_tenant(&s, &c, body.tenant_id.as_deref()).await?;
    let specs = body
        .jobs
        .into_iter()
        .map(|job| {
            if job.tenant_id.is_some() {
                return Err(suanli_core::Error::new(ErrorCode::InvalidBody, "tenant_id belongs to the batch, not to its specs"));
            }
            spec_from(job).map_err(|e| match e {
                ApiError::Domain(e) => e,
                other => suanli_core::Error::new(ErrorCode::InvalidBody, other.code_and_detail().1),
            })
        })
        .collect();
    let out = s.jobs.create_batch(&c.0.actor(), &tenant_id, specs, body.atomic).await?;
    let refused: Vec<BatchRefusal> =
        out.refused.into_iter().map(|(index, e)| BatchRefusal { index, code: e.code.as_str().to_string(), detail: e.message }).collect();
    if out.created.is_empty() && body.atomic && !refused.is_empty() {
        return Err(batch_refused(refused));
    }
    s.metrics.jobs_submitted.fetch_add(out.created.len() as u64, std::sync::atomic::Ordering::Relaxed);
    Ok((StatusCode::CREATED, Json(JobBatchOut { created: out.created.iter().map(JobOut::from).collect(), refused })))
}

/// The domain spec of a request body (money parsed exactly; defaults filled in).
fn spec_from(body: JobIn) -> ApiResult<JobSpec> {
    Ok(JobSpec {
        name: body.name.trim().to_string(),
        kind: body.kind,
        accelerators: body.accelerators,
        models: body.models,
        min_fp16_tflops: body.min_fp16_tflops,
        min_memory_gb: body.min_memory_gb,
        duration_s: body.duration_s,
        deadline_ms: body.deadline_ms,
        latency_slo_ms: body.latency_slo_ms,
        users_region: body.users_region,
        data_region: body.data_region,
        priority: body.priority.unwrap_or(4),
        max_price_per_hour: body.max_price_per_hour.as_deref().map(Fen::parse_yuan).transpose()?,
        job_class: body.job_class,
        data_gb: body.data_gb,
        preemptible: body.preemptible.unwrap_or(false),
        restartable: body.restartable.unwrap_or(false),
        goal: body.goal.unwrap_or_default(),
    })
}

/// Submits a job through the jobs service (checks, group commit, the engine woken) and counts it.
pub async fn create_job(s: &AppState, actor: &str, tenant_id: TenantId, spec: JobSpec) -> ApiResult<Job> {
    let job = s.jobs.create(actor, tenant_id, spec).await?;
    s.metrics.jobs_submitted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(job)
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct JobQuery {
    /// One state or several separated by commas, e.g. `running,placed`.
    pub state: Option<String>,
    pub tenant_id: Option<String>,
    pub centre_id: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1..=1000 (default 50).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Lists jobs newest first: the operator and regulator see all, a tenant its own, a provider those on its centres.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", security(("bearer" = [])), params(JobQuery),
    responses((status = 200, body = Page<JobOut>), (status = 400, body = crate::error::Problem), (status = 401, body = crate::error::Problem)))]
pub async fn list_jobs(State(s): State<AppState>, c: Caller, Query(q): Query<JobQuery>) -> ApiResult<Json<Page<JobOut>>> {
    let mut filter = JobFilter { limit: q.limit.unwrap_or(50), ..Default::default() };
    if filter.limit == 0 || filter.limit > 1000 {
        return Err(ApiError::new(ErrorCode::InvalidQuery, "limit must be between 1 and 1000"));
    }
    if let Some(states) = &q.state {
        for st in states.split(',').map(str::trim).filter(|x| !x.is_empty()) {
            filter.states.push(JobState::parse(st).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidQuery,
                    format!("'{st}' is not a job state (pending, placed, running, succeeded, failed, cancelled)"),
                )
            })?);
        }
    }
    filter.tenant_id = q.tenant_id.as_deref().map(TenantId::parse).transpose()?;
    filter.centre_id = q.centre_id.as_deref().map(CentreId::parse).transpose()?;
    filter.before = q.cursor.as_deref().map(JobId::parse).transpose()?;
    suanli_app::jobs::scope(&suanli_app::Caller::of(&c.0)?, &mut filter)?;
    let jobs = s.store.jobs(&filter).await?;
    let next_cursor = (jobs.len() as u32 == filter.limit).then(|| jobs.last().map(|j| j.id.to_string())).flatten();
    Ok(Json(Page { items: jobs.iter().map(JobOut::from).collect(), next_cursor }))
}

/// Loads a job the caller may see; others' jobs are "not found", so their existence does not leak.
pub(crate) async fn visible_job(s: &AppState, c: &Caller, id: &str) -> ApiResult<Job> {
    Ok(suanli_app::jobs::visible_job(&s.store, &suanli_app::Caller::of(&c.0)?, &JobId::parse(id)?).await?)
}

/// One job.
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", security(("bearer" = [])),
    params(("id" = String, Path, description = "job id, job_…")),
    responses((status = 200, body = JobOut), (status = 404, body = crate::error::Problem)))]
pub async fn get_job(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<Json<JobOut>> {
    Ok(Json(JobOut::from(&visible_job(&s, &c, &id).await?)))
}

/// Cancels a job that has not finished (its tenant or the operator). A running job is stopped
/// on its backend and billed for what it ran.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/cancel", tag = "jobs", security(("bearer" = [])), request_body(content = CancelIn, description = "optional"),
    params(("id" = String, Path, description = "job id")),
    responses((status = 200, body = JobOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn cancel_job(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    OptionalJsonBody(body): OptionalJsonBody<CancelIn>,
) -> ApiResult<Json<JobOut>> {
    let job = s.jobs.cancel(&suanli_app::Caller::of(&c.0)?, &JobId::parse(&id)?, body.reason.as_deref()).await?;
    Ok(Json(JobOut::from(&job)))
}

/// Quotes a job before it is submitted: every feasible pool's cost, time and carbon, with the
/// cheapest, fastest, greenest and recommended options.
#[utoipa::path(post, path = "/api/v1/quotes", tag = "jobs", security(("bearer" = [])), request_body = JobIn,
    responses((status = 200, body = QuoteOut), (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn quote(State(s): State<AppState>, c: Caller, JsonBody(body): JsonBody<JobIn>) -> ApiResult<Json<QuoteOut>> {
    c.require(&[Role::Tenant, Role::Operator])?;
    let tenant = match (&c.0.tenant_id, &body.tenant_id) {
        (Some(t), _) => t.clone(),
        (None, Some(t)) => TenantId::parse(t)?,
        (None, None) => TenantId::generate(0, 0),
    };
    let spec = spec_from(body)?;
    spec.validate(&s.catalogue, &s.regions, s.ids.now_ms())?;
    let q = s.engine.quote(&tenant, &spec, 20).await?;
    if q.options.is_empty() {
        let centres = s.store.centres(None).await?;
        let pools = s.store.pools().await?;
        let why = suanli_sched::ever_feasible(&spec, &centres, &pools, &s.catalogue, &s.regions)
            .err()
            .map_or("every feasible pool is busy with no end in sight", |m| m.describe());
        return Err(ApiError::new(ErrorCode::JobUnsatisfiable, format!("no pool in the city could run this job: {why}")));
    }
    Ok(Json(QuoteOut::from(&q)))
}

/// The fair-share account: what each tenant received, decayed to now. The operator and the
/// regulator see every tenant, a tenant itself. On every replica: a follower's account is
/// replayed from the runs stored by the leader.
#[utoipa::path(get, path = "/api/v1/fair-share", tag = "jobs", security(("bearer" = [])),
    responses((status = 200, body = FairShareOut), (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem)))]
pub async fn fair_share(State(s): State<AppState>, c: Caller) -> ApiResult<Json<FairShareOut>> {
    c.require(&[Role::Operator, Role::Regulator, Role::Tenant])?;
    let now = s.ids.now_ms();
    let own = c.0.tenant_id.clone();
    let items = s
        .engine
        .fair_share_at(now)
        .into_iter()
        .filter(|(t, _)| c.role() != Role::Tenant || own.as_ref() == Some(t))
        .map(|(t, v)| FairShareRow { tenant_id: t.to_string(), pflop_s: v })
        .collect();
    Ok(Json(FairShareOut { as_of_ms: now, half_life_h: suanli_dispatch::engine::FAIR_SHARE_HALF_LIFE_H, items }))
}

/// Why a job is where it is: the placement decision with its alternatives and their cost,
/// carbon and time breakdown; for a pending job, the reason it waits and its options now.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/explain", tag = "jobs", security(("bearer" = [])),
    params(("id" = String, Path, description = "job id")),
    responses((status = 200, body = ExplainOut), (status = 404, body = crate::error::Problem)))]
pub async fn explain_job(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<Json<ExplainOut>> {
    let job = visible_job(&s, &c, &id).await?;
    let decision = s.jobs.decision(&job.id).await?.map(DecisionOut::from);
    let options_now =
        if job.state == JobState::Pending { Some(QuoteOut::from(&s.engine.quote(&job.tenant_id, &job.spec, 5).await?)) } else { None };
    let segments = s.store.job_segments(&job.id).await?.iter().map(SegmentOut::from).collect();
    let (reason, reason_code) = (job.reason.as_ref().map(ToString::to_string), crate::dto::reason_code(&job));
    let reason_detail = crate::dto::reason_detail(job.reason.as_ref());
    Ok(Json(ExplainOut {
        job_id: job.id.to_string(),
        state: job.state,
        reason,
        reason_code,
        reason_detail,
        decision,
        options_now,
        segments,
    }))
}
