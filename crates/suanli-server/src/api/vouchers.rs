//! Voucher programmes (算力券), applications and their approval, enterprise balances and cash top-ups.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Query};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
pub use suanli_api::money::{
    ApplicationIn, ApplicationOut, ApproveIn, BalanceOut, ProgrammeIn, ProgrammeOut, RejectIn, TopUpIn, VoucherBalance, yuan,
};
use suanli_core::error::ErrorCode;
use suanli_core::id::{ApplicationId, ProgrammeId, TenantId};
use suanli_core::money::Fen;
use suanli_core::tenant::Role;
use suanli_ledger::TransferId;
use suanli_ledger::records::{Application, ApplicationState, Programme};
use utoipa::IntoParams;

pub async fn programme_out(s: &AppState, p: &Programme) -> ApiResult<ProgrammeOut> {
    let money = s.store.voucher_money(p.id.as_str()).await?;
    let totals = s.store.programme_totals(&p.id).await?;
    let r = &p.rules;
    Ok(ProgrammeOut {
        id: p.id.to_string(),
        year: r.year,
        name: p.name.clone(),
        state: p.state.as_str().to_string(),
        budget: yuan(r.budget),
        issued: yuan(money.issued),
        spent: yuan(money.spent),
        held: yuan(money.held),
        expired: yuan(money.expired),
        remaining: yuan(money.remaining),
        spent_share: if r.budget.0 > 0 { (money.spent.0 as f64 / r.budget.0 as f64 * 1e6).round() / 1e6 } else { 0.0 },
        ratio_domestic_pct: r.ratio_domestic_pct,
        ratio_other_pct: r.ratio_other_pct,
        ratio_model_calls_pct: r.ratio_model_calls_pct,
        ratio_data_pct: r.ratio_data_pct,
        cap_per_enterprise: yuan(r.cap_per_enterprise),
        sme_only: r.sme_only,
        division_prefix: r.division_prefix.clone(),
        partner_only: r.partner_only,
        applications: totals.applications,
        pending_applications: totals.pending_applications,
        enterprises: totals.enterprises,
    })
}

/// Creates a year's voucher programme and funds its budget from the city treasury (operator).
#[utoipa::path(post, operation_id = "create_voucher_programme", path = "/api/v1/voucher-programmes", tag = "vouchers", security(("bearer" = [])), request_body = ProgrammeIn,
    responses((status = 201, body = ProgrammeOut), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create_programme(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(b): JsonBody<ProgrammeIn>,
) -> ApiResult<(StatusCode, Json<ProgrammeOut>)> {
    let draft = suanli_app::vouchers::ProgrammeDraft {
        year: b.year,
        name: b.name.clone(),
        budget: b.budget,
        ratio_domestic_pct: b.ratio_domestic_pct,
        ratio_other_pct: b.ratio_other_pct,
        ratio_model_calls_pct: b.ratio_model_calls_pct,
        ratio_data_pct: b.ratio_data_pct,
        cap_per_enterprise: b.cap_per_enterprise,
        sme_only: b.sme_only,
        division_prefix: b.division_prefix,
        partner_only: b.partner_only,
    };
    let rules = suanli_app::Vouchers::rules_of(&draft)?;
    let p = s.vouchers.open_programme(&suanli_app::Caller::of(&c.0)?, rules, b.name).await?;
    Ok((StatusCode::CREATED, Json(programme_out(&s, &p).await?)))
}

/// Lists voucher programmes, newest year first (everyone signed in).
#[utoipa::path(get, operation_id = "list_voucher_programmes", path = "/api/v1/voucher-programmes", tag = "vouchers", security(("bearer" = [])), responses((status = 200, body = Vec<ProgrammeOut>)))]
pub async fn list_programmes(State(s): State<AppState>, _c: Caller) -> ApiResult<Json<Vec<ProgrammeOut>>> {
    let mut out = Vec::new();
    for p in s.store.programmes().await? {
        out.push(programme_out(&s, &p).await?);
    }
    Ok(Json(out))
}

async fn load_programme(s: &AppState, id: &str) -> ApiResult<Programme> {
    let id = ProgrammeId::parse(id)?;
    s.store.programme(&id).await?.ok_or_else(|| ApiError::new(ErrorCode::ProgrammeNotFound, format!("no voucher programme {id}")))
}

#[utoipa::path(get, path = "/api/v1/voucher-programmes/{id}", tag = "vouchers", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ProgrammeOut), (status = 404, body = crate::error::Problem)))]
pub async fn get_programme(State(s): State<AppState>, _c: Caller, Path(id): Path<String>) -> ApiResult<Json<ProgrammeOut>> {
    let p = load_programme(&s, &id).await?;
    Ok(Json(programme_out(&s, &p).await?))
}

/// Closes a programme: every enterprise's unspent voucher balance returns to the budget, and
/// no voucher is issued from it any more (operator; the engine does this by itself when the
/// programme's year ends). `programme_closed` if it was closed already.
#[utoipa::path(post, path = "/api/v1/voucher-programmes/{id}/close", tag = "vouchers", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ProgrammeOut), (status = 409, body = crate::error::Problem)))]
pub async fn close_programme(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<Json<ProgrammeOut>> {
    let p = s.vouchers.close_programme(&suanli_app::Caller::of(&c.0)?, &ProgrammeId::parse(&id)?).await?;
    Ok(Json(programme_out(&s, &p).await?))
}

async fn application_out(s: &AppState, a: &Application) -> ApiResult<ApplicationOut> {
    Ok(ApplicationOut::new(a, s.store.tenant(&a.tenant_id).await?.map(|t| t.name)))
}

/// The tenant a caller acts for: its own if a tenant, the named one if the operator.
pub(crate) async fn acting_tenant(s: &AppState, c: &Caller, named: Option<&str>) -> ApiResult<TenantId> {
    Ok(s.vouchers.acting_tenant(&suanli_app::Caller::of(&c.0)?, named).await?)
}

/// Applies for vouchers (a tenant for itself, or the operator for a tenant). Eligibility
/// (SME, registered in the programme's city) and the yearly cap are checked now; the budget
/// when the operator approves.
#[utoipa::path(post, operation_id = "apply_for_voucher", path = "/api/v1/voucher-applications", tag = "vouchers", security(("bearer" = [])), request_body = ApplicationIn,
    responses((status = 201, body = ApplicationOut), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn apply(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(b): JsonBody<ApplicationIn>,
) -> ApiResult<(StatusCode, Json<ApplicationOut>)> {
    let caller = suanli_app::Caller::of(&c.0)?;
    let programme = b.programme_id.as_deref().map(ProgrammeId::parse).transpose()?;
    let amount = Fen::parse_positive("amount", &b.amount)?;
    let app = s.vouchers.apply(&caller, b.tenant_id.as_deref(), amount, &b.purpose, programme.as_ref()).await?;
    Ok((StatusCode::CREATED, Json(application_out(&s, &app).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ApplicationQuery {
    /// pending, approved or rejected.
    pub state: Option<String>,
    pub tenant_id: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// Lists applications, newest first: the operator and regulator see all, a tenant its own.
#[utoipa::path(get, operation_id = "list_voucher_applications", path = "/api/v1/voucher-applications", tag = "vouchers", security(("bearer" = [])), params(ApplicationQuery),
    responses((status = 200, body = Vec<ApplicationOut>)))]
pub async fn list_applications(
    State(s): State<AppState>,
    c: Caller,
    Query(q): Query<ApplicationQuery>,
) -> ApiResult<Json<Vec<ApplicationOut>>> {
    c.require(&[Role::Operator, Role::Regulator, Role::Tenant])?;
    let state = q
        .state
        .as_deref()
        .map(|x| ApplicationState::parse(x).ok_or_else(|| ApiError::new(ErrorCode::InvalidQuery, format!("unknown state '{x}'"))))
        .transpose()?;
    let tenant = match c.role() {
        Role::Tenant => Some(acting_tenant(&s, &c, q.tenant_id.as_deref()).await?),
        _ => q.tenant_id.as_deref().map(TenantId::parse).transpose()?,
    };
    let mut out = Vec::new();
    for a in s.store.applications(tenant.as_ref(), state, q.limit.unwrap_or(200).clamp(1, 1000)).await? {
        out.push(application_out(&s, &a).await?);
    }
    Ok(Json(out))
}

async fn visible_application(s: &AppState, c: &Caller, id: &str) -> ApiResult<Application> {
    let id = ApplicationId::parse(id)?;
    let a = s.store.application(&id).await?.ok_or_else(|| ApiError::new(ErrorCode::ApplicationNotFound, format!("no application {id}")))?;
    if c.role() == Role::Tenant && c.0.tenant_id.as_ref() != Some(&a.tenant_id) || c.role() == Role::Provider {
        return Err(ApiError::new(ErrorCode::ApplicationNotFound, format!("no application {id}")));
    }
    Ok(a)
}

#[utoipa::path(get, operation_id = "get_voucher_application", path = "/api/v1/voucher-applications/{id}", tag = "vouchers", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = ApplicationOut), (status = 404, body = crate::error::Problem)))]
pub async fn get_application(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<Json<ApplicationOut>> {
    let a = visible_application(&s, &c, &id).await?;
    Ok(Json(application_out(&s, &a).await?))
}

/// Approves an application (operator): issues the voucher from the programme's budget, only
/// if the budget and the enterprise's yearly cap allow, atomically with the decision.
#[utoipa::path(post, path = "/api/v1/voucher-applications/{id}/approve", tag = "vouchers", security(("bearer" = [])), params(("id" = String, Path)), request_body = ApproveIn,
    responses((status = 200, body = ApplicationOut), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn approve(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    crate::extract::OptionalJsonBody(b): crate::extract::OptionalJsonBody<ApproveIn>,
) -> ApiResult<Json<ApplicationOut>> {
    let amount = b.amount.as_deref().map(|x| Fen::parse_positive("amount", x)).transpose()?;
    let a = s.vouchers.approve(&suanli_app::Caller::of(&c.0)?, &ApplicationId::parse(&id)?, amount, b.reason).await?;
    Ok(Json(application_out(&s, &a).await?))
}

/// Rejects an application with a reason (operator).
#[utoipa::path(post, path = "/api/v1/voucher-applications/{id}/reject", tag = "vouchers", security(("bearer" = [])), params(("id" = String, Path)), request_body = RejectIn,
    responses((status = 200, body = ApplicationOut), (status = 409, body = crate::error::Problem)))]
pub async fn reject(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<RejectIn>,
) -> ApiResult<Json<ApplicationOut>> {
    let a = s.vouchers.reject(&suanli_app::Caller::of(&c.0)?, &ApplicationId::parse(&id)?, &b.reason).await?;
    Ok(Json(application_out(&s, &a).await?))
}

/// A tenant's balances (the tenant itself, the operator, the regulator).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/balance", tag = "vouchers", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = BalanceOut), (status = 404, body = crate::error::Problem)))]
pub async fn balance(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<Json<BalanceOut>> {
    c.require(&[Role::Operator, Role::Regulator, Role::Tenant])?;
    let t = TenantId::parse(&id)?;
    if c.role() == Role::Tenant && c.0.tenant_id.as_ref() != Some(&t) || s.store.tenant(&t).await?.is_none() {
        return Err(ApiError::new(ErrorCode::TenantNotFound, format!("no tenant {t}")));
    }
    Ok(Json(balance_of(&s, &t).await?))
}

pub async fn balance_of(s: &AppState, t: &TenantId) -> ApiResult<BalanceOut> {
    let money = s.store.tenant_money(t).await?;
    let accounts = &money.accounts;
    let cash = accounts.iter().find(|a| a.account.kind == suanli_ledger::AccountKind::EnterpriseCash);
    let programmes = s.store.programmes().await?;
    let mut vouchers = Vec::new();
    let mut voucher_available = Fen::ZERO;
    for a in accounts.iter().filter(|a| a.account.kind == suanli_ledger::AccountKind::EnterpriseVoucher) {
        let Some(p) = a.owner.split_once('/').and_then(|(_, p)| programmes.iter().find(|x| x.id.as_str() == p)) else { continue };
        let spent = money.voucher_spent.get(&a.account.id).copied().unwrap_or(Fen::ZERO);
        voucher_available = Fen(voucher_available.0 + a.account.available().0);
        vouchers.push(VoucherBalance {
            programme_id: p.id.to_string(),
            year: p.rules.year,
            issued: yuan(Fen(a.account.credits_posted as i64)),
            spent: yuan(spent),
            held: yuan(Fen(a.account.debits_pending as i64)),
            available: yuan(a.account.available()),
        });
    }
    let outstanding = money.outstanding;
    Ok(BalanceOut {
        tenant_id: t.to_string(),
        cash_available: yuan(cash.map_or(Fen::ZERO, |a| a.account.available())),
        cash_held: yuan(cash.map_or(Fen::ZERO, |a| Fen(a.account.debits_pending as i64))),
        cash_posted: yuan(cash.map_or(Fen::ZERO, |a| a.account.credit_balance())),
        vouchers,
        voucher_available: yuan(voucher_available),
        outstanding: yuan(outstanding),
    })
}

/// Records a cash top-up of an enterprise's prepaid balance (operator).
#[utoipa::path(post, path = "/api/v1/tenants/{id}/top-ups", tag = "vouchers", security(("bearer" = [])), params(("id" = String, Path)), request_body = TopUpIn,
    responses((status = 200, body = BalanceOut), (status = 422, body = crate::error::Problem)))]
pub async fn top_up(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<TopUpIn>,
) -> ApiResult<Json<BalanceOut>> {
    let caller = suanli_app::Caller::of(&c.0)?;
    let t = TenantId::parse(&id)?;
    let amount = Fen::parse_positive("amount", &b.amount)?;
    let transfer_id = b
        .transfer_id
        .as_deref()
        .map(|x| TransferId::parse_hex(x).ok_or_else(|| ApiError::new(ErrorCode::InvalidTransferId, format!("'{x}' is not a transfer id"))))
        .transpose()?;
    s.vouchers.top_up(&caller, &t, amount, transfer_id, b.reference).await?;
    Ok(Json(balance_of(&s, &t).await?))
}
