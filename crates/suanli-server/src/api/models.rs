//! The model catalogue, deployments, model keys, usage and call explanations under `/api/v1` (the OpenAI-compatible calls themselves are under `/v1`, in `crate::gateway`).

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Query};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use suanli_api::models::{CallOut, DeploymentIn, DeploymentOut, HealthOut, KeyIn, KeyOut, KeyTopUpIn, ModelOut, UsageOut, UsageQuery};
use suanli_app::models::{CatalogueEntry, DeploymentView};
use suanli_core::error::ErrorCode;
use suanli_core::id::CentreId;
use suanli_core::model::{DeploymentSpec, KeySpec, ModelSpec};
use suanli_core::money::Fen;
use suanli_core::time::{cst_day_start, format_rfc3339, parse_date};
use suanli_store::models::{UsageFilter, UsageRow};

fn deployment_out(d: &DeploymentView) -> DeploymentOut {
    DeploymentOut {
        id: d.id.clone(),
        centre_id: d.centre_id.clone(),
        region: d.region.clone(),
        price_input_per_m: d.price_input_per_m.to_yuan_string(),
        price_output_per_m: d.price_output_per_m.to_yuan_string(),
        weight: d.weight,
        max_concurrency: d.max_concurrency,
        base_url: d.base_url.clone(),
        upstream_model: d.upstream_model.clone(),
    }
}

fn model_out(e: &CatalogueEntry) -> ModelOut {
    ModelOut {
        provider_id: e.model.provider_id.to_string(),
        spec: e.model.spec.clone(),
        created: format_rfc3339(e.model.created_ms),
        deployments: e.deployments.iter().map(deployment_out).collect(),
    }
}

fn usage_out(r: UsageRow) -> UsageOut {
    UsageOut {
        day: r.day,
        tenant_id: r.tenant_id,
        key_id: r.key_id,
        model: r.model,
        calls: r.calls,
        failed_calls: r.failed_calls,
        input_tokens: r.input_tokens,
        output_tokens: r.output_tokens,
        charge: r.charge.to_yuan_string(),
        voucher: r.voucher.to_yuan_string(),
        cash: r.cash.to_yuan_string(),
    }
}

const CST_MS: i64 = 8 * 3_600_000;

fn filter(q: &UsageQuery) -> ApiResult<UsageFilter> {
    let from_ms = q.from.as_deref().map(cst_day_start).transpose()?;
    let to_ms = q.to.as_deref().map(cst_day_start).transpose()?.map(|d| d + 86_400_000);
    if let (Some(a), Some(b)) = (from_ms, to_ms)
        && a >= b
    {
        return Err(ApiError::new(ErrorCode::InvalidWindow, "'from' must be on or before 'to'"));
    }
    Ok(UsageFilter { key: q.key.clone(), model: q.model.clone(), from_ms, to_ms, ..UsageFilter::default() })
}

/// The model catalogue (every role).
#[utoipa::path(get, path = "/api/v1/models", tag = "models", security(("bearer" = [])), responses((status = 200, body = Vec<ModelOut>)))]
pub async fn list_models(State(s): State<AppState>, c: Caller) -> ApiResult<Json<Vec<ModelOut>>> {
    let entries = s.models.catalogue(&suanli_app::Caller::of(&c.0)?).await?;
    Ok(Json(entries.iter().map(model_out).collect()))
}

/// One model of the catalogue.
#[utoipa::path(get, path = "/api/v1/models/{name}", tag = "models", security(("bearer" = [])),
    params(("name" = String, Path, description = "model name")), responses((status = 200, body = ModelOut)))]
pub async fn get_model(State(s): State<AppState>, c: Caller, Path(name): Path<String>) -> ApiResult<Json<ModelOut>> {
    let entries = s.models.catalogue(&suanli_app::Caller::of(&c.0)?).await?;
    let e = entries.iter().find(|e| e.model.name == name).ok_or_else(|| {
        ApiError::new(ErrorCode::ModelNotFound, format!("no model named '{}'", name.chars().take(64).collect::<String>()))
    })?;
    Ok(Json(model_out(e)))
}

/// A provider registers a model it offers.
#[utoipa::path(post, path = "/api/v1/models", tag = "models", security(("bearer" = [])), request_body = ModelSpec,
    responses((status = 201, body = ModelOut), (status = 409, body = crate::error::Problem)))]
pub async fn register_model(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(spec): JsonBody<ModelSpec>,
) -> ApiResult<(StatusCode, Json<ModelOut>)> {
    let caller = suanli_app::Caller::of(&c.0)?;
    let m = s.models.register(&caller, spec).await?;
    let out = CatalogueEntry { model: m, deployments: Vec::new() };
    Ok((StatusCode::CREATED, Json(model_out(&out))))
}

/// The model's provider deploys it at one of its centres.
#[utoipa::path(post, path = "/api/v1/models/{name}/deployments", tag = "models", security(("bearer" = [])), request_body = DeploymentIn,
    params(("name" = String, Path, description = "model name")), responses((status = 201, body = DeploymentOut)))]
pub async fn deploy(
    State(s): State<AppState>,
    c: Caller,
    Path(name): Path<String>,
    JsonBody(body): JsonBody<DeploymentIn>,
) -> ApiResult<(StatusCode, Json<DeploymentOut>)> {
    let caller = suanli_app::Caller::of(&c.0)?;
    let spec = DeploymentSpec {
        centre_id: CentreId::parse(&body.centre_id)?,
        base_url: body.base_url,
        upstream_model: body.upstream_model,
        price_input_per_m: Fen::parse_yuan(&body.price_input_per_m)?,
        price_output_per_m: Fen::parse_yuan(&body.price_output_per_m)?,
        weight: body.weight.unwrap_or(100),
        max_concurrency: body.max_concurrency.unwrap_or(64),
        upstream_key: body.upstream_key,
    };
    let d = s.models.deploy(&caller, &name, spec).await?;
    let region = s.store.centre(&d.spec.centre_id).await?.map(|c| c.region).unwrap_or_default();
    Ok((
        StatusCode::CREATED,
        Json(DeploymentOut {
            id: d.id,
            centre_id: d.spec.centre_id.to_string(),
            region,
            price_input_per_m: d.spec.price_input_per_m.to_yuan_string(),
            price_output_per_m: d.spec.price_output_per_m.to_yuan_string(),
            weight: d.spec.weight,
            max_concurrency: d.spec.max_concurrency,
            base_url: Some(d.spec.base_url),
            upstream_model: Some(d.spec.upstream_model),
        }),
    ))
}

/// Takes a deployment out of service.
#[utoipa::path(delete, path = "/api/v1/models/{name}/deployments/{n}", tag = "models", security(("bearer" = [])),
    params(("name" = String, Path, description = "model name"), ("n" = u32, Path, description = "the deployment's number (its id is name#n)")),
    responses((status = 204)))]
pub async fn undeploy(State(s): State<AppState>, c: Caller, Path((name, n)): Path<(String, u32)>) -> ApiResult<StatusCode> {
    s.models.undeploy(&suanli_app::Caller::of(&c.0)?, &name, &format!("{name}#{n}")).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The end of a key's last day (`YYYY-MM-DD`, China Standard Time), as its expiry.
pub(crate) fn expiry_of(day: &str) -> Result<i64, ApiError> {
    Ok(parse_date(day)? - CST_MS + 86_400_000)
}

/// A tenant makes a model key; the answer's `key` is the secret, shown this once.
#[utoipa::path(post, path = "/api/v1/model-keys", tag = "models", security(("bearer" = [])), request_body = KeyIn,
    responses((status = 201, body = KeyOut)))]
pub async fn create_key(State(s): State<AppState>, c: Caller, JsonBody(body): JsonBody<KeyIn>) -> ApiResult<(StatusCode, Json<KeyOut>)> {
    let caller = suanli_app::Caller::of(&c.0)?;
    let expires_ms = body.expires.as_deref().map(expiry_of).transpose()?;
    let spec = KeySpec {
        name: body.name,
        models: body.models,
        budget: Fen::parse_positive("budget", &body.budget)?,
        rpm: body.rpm,
        tpm: body.tpm,
        expires_ms,
        regions: body.regions,
        fallbacks: body.fallbacks,
    };
    let (key, secret) = s.models.create_key(&caller, spec).await?;
    let budget = key.spec.budget;
    Ok((StatusCode::CREATED, Json(KeyOut::of(&key, budget, Some(secret)))))
}

/// Model keys: a tenant's own, or all for the operator.
#[utoipa::path(get, path = "/api/v1/model-keys", tag = "models", security(("bearer" = [])), responses((status = 200, body = Vec<KeyOut>)))]
pub async fn list_keys(State(s): State<AppState>, c: Caller) -> ApiResult<Json<Vec<KeyOut>>> {
    let keys = s.models.keys(&suanli_app::Caller::of(&c.0)?).await?;
    Ok(Json(keys.iter().map(|(k, left)| KeyOut::of(k, *left, None)).collect()))
}

/// Revokes a key: calls with it are refused (401) from now on.
#[utoipa::path(delete, path = "/api/v1/model-keys/{id}", tag = "models", security(("bearer" = [])),
    params(("id" = String, Path, description = "key id, mk_…")), responses((status = 204), (status = 409, body = crate::error::Problem)))]
pub async fn revoke_key(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    s.models.revoke_key(&suanli_app::Caller::of(&c.0)?, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Its tenant adds to a key's budget (the money moves into the key's budget in the ledger);
/// answers the key with its new budget and what it has left.
#[utoipa::path(post, path = "/api/v1/model-keys/{id}/top-up", tag = "models", security(("bearer" = [])), request_body = KeyTopUpIn,
    params(("id" = String, Path, description = "key id, mk_…")),
    responses((status = 200, body = KeyOut), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn top_up_key(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<KeyTopUpIn>,
) -> ApiResult<Json<KeyOut>> {
    let amount = Fen::parse_positive("amount", &body.amount)?;
    let (key, left) = s.models.top_up_key(&suanli_app::Caller::of(&c.0)?, &id, amount).await?;
    Ok(Json(KeyOut::of(&key, left, None)))
}

/// Its tenant gives a key a new secret: `key` in the answer, shown this once; the old secret
/// is refused (401) from now on. Limits, budget and usage history stay with the key.
#[utoipa::path(post, path = "/api/v1/model-keys/{id}/rotate", tag = "models", security(("bearer" = [])),
    params(("id" = String, Path, description = "key id, mk_…")),
    responses((status = 200, body = KeyOut), (status = 409, body = crate::error::Problem)))]
pub async fn rotate_key(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<Json<KeyOut>> {
    let caller = suanli_app::Caller::of(&c.0)?;
    let (key, secret) = s.models.rotate_key(&caller, &id).await?;
    let left = s.models.key_left(&key.id).await?;
    Ok(Json(KeyOut::of(&key, left, Some(secret))))
}

/// Usage per day, key and model: a tenant's own, a provider's served, all for the operator and regulator.
#[utoipa::path(get, path = "/api/v1/model-usage", tag = "models", security(("bearer" = [])), params(UsageQuery),
    responses((status = 200, body = Vec<UsageOut>)))]
pub async fn usage(State(s): State<AppState>, c: Caller, Query(q): Query<UsageQuery>) -> ApiResult<Json<Vec<UsageOut>>> {
    let rows = s.models.usage(&suanli_app::Caller::of(&c.0)?, filter(&q)?).await?;
    Ok(Json(rows.into_iter().map(usage_out).collect()))
}

/// Deployments' health (the last health check, cooldown, load): a provider's own, all for the operator.
#[utoipa::path(get, path = "/api/v1/model-health", tag = "models", security(("bearer" = [])),
    responses((status = 200, body = Vec<HealthOut>), (status = 403, body = crate::error::Problem)))]
pub async fn health(State(s): State<AppState>, c: Caller) -> ApiResult<Json<Vec<HealthOut>>> {
    let list = s.models.health(&suanli_app::Caller::of(&c.0)?)?;
    Ok(Json(
        list.into_iter()
            .map(|h| HealthOut {
                deployment: h.deployment,
                model: h.model,
                centre_id: h.centre,
                probe: h.probe.as_str().to_string(),
                probed: h.probed_ms.map(format_rfc3339),
                probe_ms: h.probe_ms,
                probe_error: h.probe_error,
                cooldown_until: h.cooldown_until_ms.map(format_rfc3339),
                in_flight: h.in_flight,
                ttft_ms: h.ewma_ttft_ms,
                served: h.served,
                failed: h.failed,
            })
            .collect(),
    ))
}

/// The newest metered calls the caller may see.
#[utoipa::path(get, path = "/api/v1/model-calls", tag = "models", security(("bearer" = [])), params(UsageQuery),
    responses((status = 200, body = Vec<CallOut>)))]
pub async fn list_calls(State(s): State<AppState>, c: Caller, Query(q): Query<UsageQuery>) -> ApiResult<Json<Vec<CallOut>>> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let calls = s.models.calls(&suanli_app::Caller::of(&c.0)?, filter(&q)?, limit).await?;
    Ok(Json(calls.into_iter().map(CallOut::from).collect()))
}

/// One call and why it went where it went (`suanli models explain`).
#[utoipa::path(get, path = "/api/v1/model-calls/{id}", tag = "models", security(("bearer" = [])),
    params(("id" = String, Path, description = "request id, req_…")), responses((status = 200, body = CallOut)))]
pub async fn get_call(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<Json<CallOut>> {
    Ok(Json(s.models.call(&suanli_app::Caller::of(&c.0)?, &id).await?.into()))
}
