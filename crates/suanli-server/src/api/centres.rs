//! Providers, compute centres and their pools: the city's registry.

use crate::AppState;
use crate::auth::Caller;
use crate::dto::*;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use std::collections::HashMap;
use suanli_api::incentives::PartnerChange;
use suanli_core::centre::{Centre, Pool};
use suanli_core::error::ErrorCode;
use suanli_core::id::{CentreId, PoolId, ProviderId};
use suanli_core::money::Fen;
use suanli_core::tenant::Role;

/// Lists the compute providers.
#[utoipa::path(get, path = "/api/v1/providers", tag = "registry", security(("bearer" = [])),
    responses((status = 200, body = Page<ProviderOut>), (status = 401, body = crate::error::Problem)))]
pub async fn list_providers(State(s): State<AppState>, _c: Caller) -> ApiResult<Json<Page<ProviderOut>>> {
    let items = s.store.providers().await?.iter().map(ProviderOut::from).collect();
    Ok(Json(Page { items, next_cursor: None }))
}

/// Registers a compute provider (operator).
#[utoipa::path(post, path = "/api/v1/providers", tag = "registry", security(("bearer" = [])), request_body = NewProviderIn,
    responses((status = 201, body = ProviderOut), (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create_provider(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(body): JsonBody<NewProviderIn>,
) -> ApiResult<(StatusCode, Json<ProviderOut>)> {
    let spec =
        suanli_app::registry::ProviderSpec { name: body.name, name_en: body.name_en, uscc: body.uscc, region: body.region, sme: body.sme };
    let p = s.registry.create_provider(&suanli_app::Caller::of(&c.0)?, &spec).await?;
    Ok((StatusCode::CREATED, Json(ProviderOut::from(&p))))
}

/// The operator corrects or completes a provider's registration as an enterprise (credit code,
/// district, SME flag): fields left out keep their value; the whole registration is checked
/// before anything is written, and the change is audited with what it was.
#[utoipa::path(patch, path = "/api/v1/providers/{id}", tag = "registry", security(("bearer" = [])), request_body = ProviderRegistrationIn,
    params(("id" = String, Path, description = "provider id, prv_…")),
    responses((status = 200, body = ProviderOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn update_provider(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ProviderRegistrationIn>,
) -> ApiResult<Json<ProviderOut>> {
    let id = ProviderId::parse(&id)?;
    let change = suanli_app::registry::RegistrationChange { uscc: body.uscc, region: body.region, sme: body.sme };
    let p = s.registry.update_provider(&suanli_app::Caller::of(&c.0)?, &id, &change).await?;
    Ok(Json(ProviderOut::from(&p)))
}

/// Lists compute centres with their pools (the public catalogue every role may read).
#[utoipa::path(get, path = "/api/v1/centres", tag = "registry", security(("bearer" = [])),
    params(("provider_id" = Option<String>, Query, description = "only this provider's centres")),
    responses((status = 200, body = Page<CentreOut>), (status = 401, body = crate::error::Problem)))]
pub async fn list_centres(
    State(s): State<AppState>,
    _c: Caller,
    crate::extract::Query(q): crate::extract::Query<CentreQuery>,
) -> ApiResult<Json<Page<CentreOut>>> {
    let provider = q.provider_id.as_deref().map(ProviderId::parse).transpose()?;
    let centres = s.store.centres(provider.as_ref()).await?;
    let pools = s.store.pools().await?;
    let mut by_centre: HashMap<&CentreId, Vec<&Pool>> = HashMap::new();
    for p in &pools {
        by_centre.entry(&p.centre_id).or_default().push(p);
    }
    let now = s.ids.now_ms();
    let items = centres
        .iter()
        .map(|c| CentreOut::new(c, by_centre.get(&c.id).map_or(&[][..], |v| v), &s.catalogue).with_reach(s.backends.reach(&c.id, now)))
        .collect();
    Ok(Json(Page { items, next_cursor: None }))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CentreQuery {
    pub provider_id: Option<String>,
}

/// One centre with its pools.
#[utoipa::path(get, path = "/api/v1/centres/{id}", tag = "registry", security(("bearer" = [])),
    params(("id" = String, Path, description = "centre id, ctr_…")),
    responses((status = 200, body = CentreOut), (status = 404, body = crate::error::Problem)))]
pub async fn get_centre(State(s): State<AppState>, _c: Caller, Path(id): Path<String>) -> ApiResult<Json<CentreOut>> {
    let centre = load_centre(&s, &id).await?;
    let pools = s.store.pools_of(&centre.id).await?;
    let refs: Vec<&Pool> = pools.iter().collect();
    Ok(Json(CentreOut::new(&centre, &refs, &s.catalogue).with_reach(s.backends.reach(&centre.id, s.ids.now_ms()))))
}

/// A centre's partner-status changes, newest first: its registration, admissions, suspensions
/// and reinstatements, each with who made it, when and why (every role that may see the centre).
#[utoipa::path(get, path = "/api/v1/centres/{id}/partner-history", tag = "registry", security(("bearer" = [])),
    params(("id" = String, Path, description = "centre id, ctr_…")),
    responses((status = 200, body = Vec<PartnerChange>), (status = 401, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn partner_history(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<Json<Vec<PartnerChange>>> {
    let id = CentreId::parse(&id)?;
    Ok(Json(s.partners.history(&suanli_app::Caller::of(&c.0)?, &id).await?))
}

/// Binds a centre to the backend its jobs go to (the operator, or the centre's provider at real
/// time); an unbound centre takes no jobs outside the demo.
#[utoipa::path(put, path = "/api/v1/centres/{id}/backend", tag = "registry", security(("bearer" = [])), request_body = BackendIn,
    params(("id" = String, Path, description = "centre id, ctr_…")),
    responses((status = 200, body = BackendOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn bind_backend(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<BackendIn>,
) -> ApiResult<Json<BackendOut>> {
    let id = CentreId::parse(&id)?;
    Ok(Json(backend_out(s.backends.bind(&suanli_app::Caller::of(&c.0)?, &id, &body.url).await?)))
}

/// A centre's binding (the operator, the regulator, the centre's provider).
#[utoipa::path(get, path = "/api/v1/centres/{id}/backend", tag = "registry", security(("bearer" = [])),
    params(("id" = String, Path, description = "centre id, ctr_…")),
    responses((status = 200, body = BackendOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn get_backend(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<Json<BackendOut>> {
    let centre = load_centre(&s, &id).await?;
    if c.role() == Role::Tenant || (c.role() == Role::Provider && c.0.provider_id.as_ref() != Some(&centre.provider_id)) {
        return Err(ApiError::new(ErrorCode::Forbidden, "a centre's binding is for the operator, the regulator and its provider"));
    }
    let binding = s.store.backend_binding(&centre.id).await?;
    Ok(Json(backend_out(
        binding.ok_or_else(|| ApiError::new(ErrorCode::NotFound, format!("centre {} is bound to no backend", centre.id)))?,
    )))
}

fn backend_out(b: suanli_store::BackendBinding) -> BackendOut {
    BackendOut { centre_id: b.centre_id.to_string(), url: b.url, bound_by: b.bound_by, bound_ms: b.bound_ms }
}

/// Unbinds a centre: it takes no more jobs (refused with `centre_busy` while jobs run there).
#[utoipa::path(delete, path = "/api/v1/centres/{id}/backend", tag = "registry", security(("bearer" = [])),
    params(("id" = String, Path, description = "centre id, ctr_…")),
    responses((status = 204), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn unbind_backend(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let id = CentreId::parse(&id)?;
    s.backends.unbind(&suanli_app::Caller::of(&c.0)?, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn load_centre(s: &AppState, id: &str) -> ApiResult<Centre> {
    let id = CentreId::parse(id)?;
    s.store.centre(&id).await?.ok_or_else(|| ApiError::new(ErrorCode::CentreNotFound, format!("no centre {id}")))
}

/// Registers a centre: the operator for any provider (any partner status), a provider for itself (as an applicant).
#[utoipa::path(post, path = "/api/v1/centres", tag = "registry", security(("bearer" = [])), request_body = NewCentreIn,
    responses((status = 201, body = CentreOut), (status = 400, body = crate::error::Problem), (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create_centre(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(body): JsonBody<NewCentreIn>,
) -> ApiResult<(StatusCode, Json<CentreOut>)> {
    let spec = suanli_app::registry::CentreSpec {
        provider_id: body.provider_id,
        name: body.name,
        name_en: body.name_en,
        kind: body.kind,
        region: body.region,
        partner_status: body.partner_status,
        commissioned: body.commissioned,
        declared_pue: body.declared_pue,
        racks: body.racks,
        rtt_ms: body.rtt_ms,
    };
    let centre = s.registry.create_centre(&suanli_app::Caller::of(&c.0)?, &spec).await?;
    Ok((StatusCode::CREATED, Json(CentreOut::new(&centre, &[], &s.catalogue))))
}

/// Adds a resource pool to a centre (the operator, or the provider that owns the centre).
#[utoipa::path(post, path = "/api/v1/centres/{id}/pools", tag = "registry", security(("bearer" = [])), request_body = NewPoolIn,
    params(("id" = String, Path, description = "centre id")),
    responses((status = 201, body = PoolOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create_pool(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<NewPoolIn>,
) -> ApiResult<(StatusCode, Json<PoolOut>)> {
    c.require(&[Role::Operator, Role::Provider])?;
    let spec = suanli_app::registry::PoolSpec {
        accelerator: body.accelerator,
        nodes: body.nodes,
        accelerators_per_node: body.accelerators_per_node,
        price_per_hour: body.price_per_hour,
        partner_discount_pct: body.partner_discount_pct,
    };
    let pool = s.registry.create_pool(&suanli_app::Caller::of(&c.0)?, &CentreId::parse(&id)?, &spec).await?;
    s.engine.wake();
    Ok((StatusCode::CREATED, Json(PoolOut::new(&pool, &s.catalogue))))
}

/// Sets a pool's price per accelerator-hour and partner discount (the operator, or the provider
/// that owns the pool's centre). The next rounds place and bills charge at the new price; bills
/// already made keep theirs.
#[utoipa::path(put, path = "/api/v1/pools/{id}/price", tag = "registry", security(("bearer" = [])), request_body = PoolPriceIn,
    params(("id" = String, Path, description = "pool id")),
    responses((status = 200, body = PoolOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn set_pool_price(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PoolPriceIn>,
) -> ApiResult<Json<PoolOut>> {
    let price = Fen::parse_yuan(&body.price_per_hour)?;
    let pool = s.registry.set_pool_price(&suanli_app::Caller::of(&c.0)?, &PoolId::parse(&id)?, price, body.partner_discount_pct).await?;
    s.engine.wake();
    Ok(Json(PoolOut::new(&pool, &s.catalogue)))
}

/// Admits, suspends or reinstates a centre in the partner scheme (operator).
#[utoipa::path(post, path = "/api/v1/centres/{id}/partner-status", tag = "registry", security(("bearer" = [])), request_body = PartnerStatusIn,
    params(("id" = String, Path, description = "centre id")),
    responses((status = 200, body = CentreOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn set_partner_status(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<PartnerStatusIn>,
) -> ApiResult<Json<CentreOut>> {
    let id = CentreId::parse(&id)?;
    s.partners.set_status(&suanli_app::Caller::of(&c.0)?, &id, body.status, Some(body.reason.clone())).await?;
    s.engine.wake();
    get_centre(State(s), c, Path(id.to_string())).await
}
