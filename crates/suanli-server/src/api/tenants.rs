//! Tenants (SMEs and labs) and users with their bearer tokens.

use crate::AppState;
use crate::auth::Caller;
use crate::dto::*;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use suanli_core::error::ErrorCode;
use suanli_core::id::TenantId;
use suanli_core::tenant::Role;

/// Lists tenants: all of them for the operator and regulator, only itself for a tenant.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", security(("bearer" = [])),
    responses((status = 200, body = Page<TenantOut>), (status = 403, body = crate::error::Problem)))]
pub async fn list_tenants(State(s): State<AppState>, c: Caller) -> ApiResult<Json<Page<TenantOut>>> {
    c.require(&[Role::Operator, Role::Regulator, Role::Tenant])?;
    let mut tenants = s.store.tenants().await?;
    if c.role() == Role::Tenant {
        tenants.retain(|t| Some(&t.id) == c.0.tenant_id.as_ref());
    }
    Ok(Json(Page { items: tenants.iter().map(TenantOut::from).collect(), next_cursor: None }))
}

/// One tenant (a tenant sees only itself).
#[utoipa::path(get, path = "/api/v1/tenants/{id}", tag = "tenants", security(("bearer" = [])),
    params(("id" = String, Path, description = "tenant id, tnt_…")),
    responses((status = 200, body = TenantOut), (status = 404, body = crate::error::Problem)))]
pub async fn get_tenant(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<Json<TenantOut>> {
    c.require(&[Role::Operator, Role::Regulator, Role::Tenant])?;
    let id = TenantId::parse(&id)?;
    let not_found = || ApiError::new(ErrorCode::TenantNotFound, format!("no tenant {id}"));
    if c.role() == Role::Tenant && c.0.tenant_id.as_ref() != Some(&id) {
        return Err(not_found());
    }
    let t = s.store.tenant(&id).await?.ok_or_else(not_found)?;
    Ok(Json(TenantOut::from(&t)))
}

/// Registers a tenant enterprise (operator). The credit code is checked (GB 32100) and unique.
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants", security(("bearer" = [])), request_body = NewTenantIn,
    responses((status = 201, body = TenantOut), (status = 403, body = crate::error::Problem), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create_tenant(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(body): JsonBody<NewTenantIn>,
) -> ApiResult<(StatusCode, Json<TenantOut>)> {
    let spec =
        suanli_app::registry::TenantSpec { name: body.name, name_en: body.name_en, uscc: body.uscc, sme: body.sme, region: body.region };
    let tenant = s.registry.create_tenant(&suanli_app::Caller::of(&c.0)?, &spec).await?;
    Ok((StatusCode::CREATED, Json(TenantOut::from(&tenant))))
}

/// Creates a user and its first bearer token (operator). The token is shown once.
#[utoipa::path(post, path = "/api/v1/users", tag = "tenants", security(("bearer" = [])), request_body = NewUserIn,
    responses((status = 201, body = UserCreated), (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create_user(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(body): JsonBody<NewUserIn>,
) -> ApiResult<(StatusCode, Json<UserCreated>)> {
    let spec =
        suanli_app::registry::UserSpec { name: body.name, role: body.role, tenant_id: body.tenant_id, provider_id: body.provider_id };
    let created = s.registry.create_user(&suanli_app::Caller::of(&c.0)?, &spec).await?;
    let u = created.user;
    let me = Me {
        user_id: u.id.to_string(),
        name: u.name,
        role: u.role,
        tenant_id: u.tenant_id.map(|t| t.to_string()),
        provider_id: u.provider_id.map(|p| p.to_string()),
    };
    Ok((StatusCode::CREATED, Json(UserCreated { user: me, token: created.token })))
}

/// Who the bearer token belongs to.
#[utoipa::path(get, path = "/api/v1/me", tag = "tenants", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = crate::error::Problem)))]
pub async fn me(c: Caller) -> Json<Me> {
    Json(Me::from(&c.0))
}
