//! Tenants (SMEs and labs) and users with their bearer tokens.

use crate::auth::{Caller, new_token, token_hash};
use crate::dto::*;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::{AppState, audit};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::json;
use suanli_core::centre::check_name;
use suanli_core::error::ErrorCode;
use suanli_core::id::{ProviderId, TenantId, UserId};
use suanli_core::ident::Uscc;
use suanli_core::tenant::{NewTenant, Role, Tenant};
use suanli_store::NewUser;

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
    c.require(&[Role::Operator])?;
    let new = NewTenant {
        name: body.name.trim().to_string(),
        name_en: body.name_en.trim().to_string(),
        uscc: Uscc::parse(&body.uscc)?,
        sme: body.sme,
        region: body.region,
    };
    new.validate(&s.regions)?;
    let (t, e) = s.ids.parts();
    let tenant = Tenant {
        id: TenantId::generate(t, e),
        name: new.name,
        name_en: new.name_en,
        uscc: new.uscc,
        sme: new.sme,
        region: new.region,
        created_ms: t,
    };
    let mut tx = s.store.begin().await?;
    tx.insert_tenant(&tenant).await?;
    tx.audit(&audit(&s, &c, "tenant.create", tenant.id.as_str(), json!({"name": tenant.name, "uscc": tenant.uscc}))).await?;
    tx.commit().await?;
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
    c.require(&[Role::Operator])?;
    check_name("name", &body.name)?;
    let tenant_id = body.tenant_id.as_deref().map(TenantId::parse).transpose()?;
    let provider_id = body.provider_id.as_deref().map(ProviderId::parse).transpose()?;
    match body.role {
        Role::Tenant => {
            let t = tenant_id.as_ref().ok_or_else(|| ApiError::new(ErrorCode::InvalidBody, "a tenant user needs tenant_id"))?;
            s.store.tenant(t).await?.ok_or_else(|| ApiError::new(ErrorCode::TenantNotFound, format!("no tenant {t}")))?;
        }
        Role::Provider => {
            let p = provider_id.as_ref().ok_or_else(|| ApiError::new(ErrorCode::InvalidBody, "a provider user needs provider_id"))?;
            s.store.provider(p).await?.ok_or_else(|| ApiError::new(ErrorCode::UnknownProvider, format!("no provider {p}")))?;
        }
        Role::Operator | Role::Regulator => {}
        Role::Expert => {
            return Err(ApiError::new(
                ErrorCode::InvalidBody,
                "experts join the review pool with their employer's credit code: POST /api/v1/incentives/experts",
            ));
        }
    }
    if (body.role != Role::Tenant && tenant_id.is_some()) || (body.role != Role::Provider && provider_id.is_some()) {
        return Err(ApiError::new(ErrorCode::InvalidBody, "tenant_id goes only with role tenant, provider_id only with role provider"));
    }
    let (t, e) = s.ids.parts();
    let token = new_token(&s.ids);
    let user = NewUser {
        id: UserId::generate(t, e),
        name: body.name.trim().to_string(),
        role: body.role,
        tenant_id,
        provider_id,
        token_sha256_hex: token_hash(&token),
        created_ms: t,
    };
    let mut tx = s.store.begin().await?;
    tx.insert_user(&user).await?;
    tx.audit(&audit(&s, &c, "user.create", user.id.as_str(), json!({"name": user.name, "role": user.role}))).await?;
    tx.commit().await?;
    let me = Me {
        user_id: user.id.to_string(),
        name: user.name,
        role: user.role,
        tenant_id: user.tenant_id.map(|t| t.to_string()),
        provider_id: user.provider_id.map(|p| p.to_string()),
    };
    Ok((StatusCode::CREATED, Json(UserCreated { user: me, token })))
}

/// Who the bearer token belongs to.
#[utoipa::path(get, path = "/api/v1/me", tag = "tenants", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = crate::error::Problem)))]
pub async fn me(c: Caller) -> Json<Me> {
    Json(Me::from(&c.0))
}
