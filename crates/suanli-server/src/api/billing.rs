//! Bills, provider settlement statements and the reconciliation report, as JSON or CSV.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Query};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
pub use suanli_api::money::{
    BillOut, EarningsCentreOut, EarningsOut, EarningsPeriodOut, EarningsSourceOut, Mismatch, ReconciliationOut, SettlementIn, StatementOut,
    yuan,
};
use suanli_core::error::ErrorCode;
use suanli_core::id::{JobId, ProviderId, TenantId};
use suanli_core::tenant::Role;
use suanli_core::time::{format_rfc3339, parse_cst_day_or_instant};
use suanli_ledger::records::Bill;
use suanli_store::BillFilter;
use utoipa::IntoParams;

/// RFC 4180 CSV: a header row, then one row per record; fields quoted when they need it.
pub fn csv(header_row: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let field = |f: &str| if f.contains([',', '"', '\n', '\r']) { format!("\"{}\"", f.replace('"', "\"\"")) } else { f.to_string() };
    let mut out = header_row.iter().map(|h| field(h)).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    for r in rows {
        out.push_str(&r.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

pub fn wants_csv(format: Option<&str>, headers: &HeaderMap) -> ApiResult<bool> {
    match format {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(other) => Err(ApiError::new(ErrorCode::InvalidQuery, format!("format must be json or csv, not '{other}'"))),
        None => Ok(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/csv"))),
    }
}

pub fn csv_response(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}.csv\"")),
        ],
        body,
    )
        .into_response()
}

/// A money date parameter: `YYYY-MM-DD` is that Beijing calendar day's start (00:00 China
/// Standard Time), an RFC 3339 instant is itself.
fn date_ms(field: &str, v: Option<&str>) -> ApiResult<Option<i64>> {
    v.map(|d| parse_cst_day_or_instant(d).map_err(|e| ApiError::new(ErrorCode::InvalidQuery, format!("{field}: {}", e.message))))
        .transpose()
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BillQuery {
    pub tenant_id: Option<String>,
    pub provider_id: Option<String>,
    /// Bills created from this Beijing calendar day (YYYY-MM-DD: 00:00 China Standard Time,
    /// Asia/Shanghai), inclusive; or an RFC 3339 instant.
    pub from: Option<String>,
    /// Bills created before this Beijing calendar day (YYYY-MM-DD: 00:00 China Standard Time),
    /// exclusive; or an RFC 3339 instant.
    pub to: Option<String>,
    /// json (default) or csv; `Accept: text/csv` also gives CSV.
    pub format: Option<String>,
    #[param(minimum = 1, maximum = 100000)]
    pub limit: Option<u32>,
}

/// Lists bills newest first: a tenant its own, a provider those of its centres, the operator
/// and regulator all. CSV with `?format=csv`.
#[utoipa::path(get, path = "/api/v1/bills", tag = "billing", security(("bearer" = [])), params(BillQuery),
    responses((status = 200, body = Vec<BillOut>, description = "JSON, or text/csv"), (status = 400, body = crate::error::Problem)))]
pub async fn list_bills(State(s): State<AppState>, c: Caller, headers: HeaderMap, Query(q): Query<BillQuery>) -> ApiResult<Response> {
    let mut f = BillFilter {
        tenant_id: q.tenant_id.as_deref().map(TenantId::parse).transpose()?,
        provider_id: q.provider_id.as_deref().map(ProviderId::parse).transpose()?,
        from_ms: date_ms("from", q.from.as_deref())?,
        to_ms: date_ms("to", q.to.as_deref())?,
        limit: q.limit.unwrap_or(1000).clamp(1, 100_000),
        ..BillFilter::default()
    };
    match c.role() {
        Role::Tenant => f.tenant_id = Some(crate::api::vouchers::acting_tenant(&s, &c, q.tenant_id.as_deref()).await?),
        Role::Provider => {
            let own =
                c.0.provider_id.clone().ok_or_else(|| ApiError::new(ErrorCode::Forbidden, "this provider user is bound to no provider"))?;
            if f.provider_id.as_ref().is_some_and(|p| *p != own) {
                return Err(ApiError::new(ErrorCode::Forbidden, "a provider sees only its own bills"));
            }
            f.provider_id = Some(own);
        }
        Role::Operator | Role::Regulator => {}
        Role::Expert => return Err(ApiError::new(ErrorCode::Forbidden, "an expert sees only the applications assigned to it")),
    }
    let bills = s.store.bills(&f).await?;
    if wants_csv(q.format.as_deref(), &headers)? {
        return Ok(csv_response("bills", bills_csv(&bills)));
    }
    Ok(Json(bills.iter().map(BillOut::from).collect::<Vec<_>>()).into_response())
}

pub fn bills_csv(bills: &[Bill]) -> String {
    csv(
        &[
            "bill_id",
            "job_id",
            "tenant_id",
            "provider_id",
            "centre_id",
            "pool_id",
            "rule",
            "usage_s",
            "accelerators",
            "price_per_hour",
            "discount_pct",
            "ratio_pct",
            "charge",
            "voucher",
            "cash",
            "outstanding",
            "created",
            "statement_id",
        ],
        bills.iter().map(|b| {
            let o = |x: &Option<String>| x.clone().unwrap_or_default();
            let b2 = BillOut::from(b);
            vec![
                b2.id,
                b2.job_id,
                b2.tenant_id,
                o(&b2.provider_id),
                o(&b2.centre_id),
                o(&b2.pool_id),
                b2.rule,
                b2.usage_s.to_string(),
                b2.accelerators.to_string(),
                b2.price_per_hour,
                b2.discount_pct.to_string(),
                b2.ratio_pct.to_string(),
                b2.charge,
                b2.voucher,
                b2.cash,
                b2.outstanding,
                format_rfc3339(b2.created_ms),
                o(&b2.statement_id),
            ]
        }),
    )
}

async fn visible_job_bill(s: &AppState, c: &Caller, id: &str) -> ApiResult<(JobId, Option<Bill>)> {
    let id = JobId::parse(id)?;
    let job = s.store.job(&id).await?.ok_or_else(|| ApiError::new(ErrorCode::JobNotFound, format!("no job {id}")))?;
    let bill = s.store.bill_for_job(&id).await?;
    // A user bound to nothing reads no bill; the rule is the money service's.
    let visible = suanli_app::Caller::of(&c.0)
        .is_ok_and(|caller| suanli_app::money::may_read_bill(&caller, &job.tenant_id, bill.as_ref().and_then(|b| b.provider_id.as_ref())));
    if !visible {
        return Err(ApiError::new(ErrorCode::JobNotFound, format!("no job {id}")));
    }
    Ok((id, bill))
}

/// The bill of a job.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/bill", tag = "billing", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = BillOut), (status = 404, body = crate::error::Problem)))]
pub async fn get_job_bill(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<Json<BillOut>> {
    let (id, bill) = visible_job_bill(&s, &c, &id).await?;
    let b = bill.ok_or_else(|| ApiError::new(ErrorCode::BillNotFound, format!("job {id} has no bill yet (it is billed when it ends)")))?;
    Ok(Json(BillOut::from(&b)))
}

/// Bills an ended job now instead of waiting for the engine's sweep (operator);
/// `bill_exists` if it already has its one bill.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/bill", tag = "billing", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 201, body = BillOut), (status = 409, body = crate::error::Problem)))]
pub async fn bill_job(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<(StatusCode, Json<BillOut>)> {
    c.require(&[Role::Operator])?;
    let (id, _) = visible_job_bill(&s, &c, &id).await?;
    let billing = s.engine.billing().ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "billing is not running"))?;
    let b = billing.bill(&id, s.ids.now_ms()).await?;
    Ok((StatusCode::CREATED, Json(BillOut::from(&b))))
}

/// Settles a provider for a period (operator): a statement of its unsettled bills, and one
/// transfer paying it what the vouchers and tenants paid, committed together.
#[utoipa::path(post, path = "/api/v1/settlements", tag = "billing", security(("bearer" = [])), request_body = SettlementIn,
    responses((status = 201, body = StatementOut), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn settle(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(b): JsonBody<SettlementIn>,
) -> ApiResult<(StatusCode, Json<StatementOut>)> {
    let provider = ProviderId::parse(&b.provider_id)?;
    let (from, to) = (parse_cst_day_or_instant(&b.from)?, parse_cst_day_or_instant(&b.to)?);
    let st = s.money.settle(&suanli_app::Caller::of(&c.0)?, &provider, from, to).await?;
    Ok((StatusCode::CREATED, Json(StatementOut::from(&st))))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatementQuery {
    pub provider_id: Option<String>,
    pub format: Option<String>,
}

/// Lists statements: a provider its own, the operator and regulator all. CSV with `?format=csv`.
#[utoipa::path(get, path = "/api/v1/statements", tag = "billing", security(("bearer" = [])), params(StatementQuery),
    responses((status = 200, body = Vec<StatementOut>, description = "JSON, or text/csv")))]
pub async fn list_statements(
    State(s): State<AppState>,
    c: Caller,
    headers: HeaderMap,
    Query(q): Query<StatementQuery>,
) -> ApiResult<Response> {
    c.require(&[Role::Operator, Role::Regulator, Role::Provider])?;
    let mut provider = q.provider_id.as_deref().map(ProviderId::parse).transpose()?;
    if c.role() == Role::Provider {
        let own =
            c.0.provider_id.clone().ok_or_else(|| ApiError::new(ErrorCode::Forbidden, "this provider user is bound to no provider"))?;
        if provider.as_ref().is_some_and(|p| *p != own) {
            return Err(ApiError::new(ErrorCode::Forbidden, "a provider sees only its own statements"));
        }
        provider = Some(own);
    }
    let statements = s.store.statements(provider.as_ref()).await?;
    if wants_csv(q.format.as_deref(), &headers)? {
        let body = csv(
            &[
                "statement_id",
                "provider_id",
                "from",
                "to",
                "bills",
                "charge",
                "voucher",
                "cash",
                "outstanding",
                "settled",
                "transfer_id",
                "created",
            ],
            statements.iter().map(|st| {
                let o = StatementOut::from(st);
                vec![
                    o.id,
                    o.provider_id,
                    o.from,
                    o.to,
                    o.bills.to_string(),
                    o.charge,
                    o.voucher,
                    o.cash,
                    o.outstanding,
                    o.settled,
                    o.transfer_id.unwrap_or_default(),
                    format_rfc3339(o.created_ms),
                ]
            }),
        );
        return Ok(csv_response("statements", body));
    }
    Ok(Json(statements.iter().map(StatementOut::from).collect::<Vec<_>>()).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EarningsQuery {
    /// YYYY-MM-DD (a Beijing calendar day: 00:00 China Standard Time), inclusive; default: 30
    /// days before `to`, or the day of the provider's first earning when that is earlier.
    pub from: Option<String>,
    /// YYYY-MM-DD (a Beijing calendar day: 00:00 China Standard Time), exclusive; default: tomorrow.
    pub to: Option<String>,
}

/// A provider's earnings from job bills, model calls and data deliveries, per Beijing calendar
/// day (per calendar month when the window is longer than 30 days), by source and by centre,
/// settled and unsettled, with what the ledger posted to its receivable (the provider itself,
/// the operator, the regulator).
#[utoipa::path(get, path = "/api/v1/providers/{id}/earnings", tag = "billing", security(("bearer" = [])),
    params(("id" = String, Path, description = "prv_…"), EarningsQuery),
    responses((status = 200, body = EarningsOut), (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn provider_earnings(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<EarningsQuery>,
) -> ApiResult<Json<EarningsOut>> {
    let provider = ProviderId::parse(&id)?;
    let day = |field: &str, v: Option<&str>| {
        v.map(|d| {
            suanli_core::time::parse_cst_day_or_instant(d)
                .map_err(|e| ApiError::new(ErrorCode::InvalidQuery, format!("{field}: {}", e.message)))
        })
        .transpose()
    };
    let (from, to) = (day("from", q.from.as_deref())?, day("to", q.to.as_deref())?);
    let r = s.earnings.report(&suanli_app::Caller::of(&c.0)?, &provider, from, to).await?;
    Ok(Json(earnings_out(&r)))
}

fn earnings_out(r: &suanli_app::earnings::EarningsReport) -> EarningsOut {
    let (from, to) = r.dates();
    EarningsOut {
        provider_id: r.provider_id.to_string(),
        from,
        to,
        period: if r.monthly { "month" } else { "day" }.to_string(),
        periods: r
            .periods
            .iter()
            .map(|p| EarningsPeriodOut {
                period: p.label.clone(),
                jobs: yuan(p.by_source[0]),
                model_calls: yuan(p.by_source[1]),
                data_deliveries: yuan(p.by_source[2]),
                earned: yuan(p.earned()),
            })
            .collect(),
        sources: r
            .sources
            .iter()
            .map(|x| EarningsSourceOut {
                source: x.source.as_str().to_string(),
                records: x.records,
                earned: yuan(x.earned()),
                settled: yuan(x.settled),
                unsettled: yuan(x.unsettled),
                outstanding: yuan(x.outstanding),
                posted: yuan(x.posted),
            })
            .collect(),
        centres: r
            .centres
            .iter()
            .map(|x| EarningsCentreOut {
                centre_id: x.centre_id.to_string(),
                source: x.source.as_str().to_string(),
                records: x.records,
                earned: yuan(x.earned()),
                settled: yuan(x.settled),
                unsettled: yuan(x.unsettled),
            })
            .collect(),
        earned: yuan(r.earned()),
        settled: yuan(r.settled()),
        unsettled: yuan(r.unsettled()),
        outstanding: yuan(r.outstanding()),
        posted: yuan(r.posted()),
    }
}

/// The reconciliation report (operator, regulator): for every bill, the job's metered usage
/// gives the charge, and the ledger's posted voucher and cash transfers for the job add up
/// to what the bill says was paid; posted job charges without a bill are listed too.
#[utoipa::path(get, path = "/api/v1/ledger/reconciliation", tag = "billing", security(("bearer" = [])),
    responses((status = 200, body = ReconciliationOut)))]
pub async fn reconciliation(State(s): State<AppState>, c: Caller) -> ApiResult<Json<ReconciliationOut>> {
    let r = s.money.reconcile(&suanli_app::Caller::of(&c.0)?).await?;
    Ok(Json(ReconciliationOut {
        bills: r.bills,
        matched: r.bills_matched,
        charged: yuan(r.charged),
        posted_voucher: yuan(r.posted_voucher),
        posted_cash: yuan(r.posted_cash),
        outstanding: yuan(r.outstanding),
        model_calls: r.model_calls,
        model_calls_matched: r.model_calls_matched,
        model_calls_charged: yuan(r.model_calls_charged),
        data_deliveries: r.data_deliveries,
        data_deliveries_matched: r.data_deliveries_matched,
        data_fees: yuan(r.data_fees),
        mismatches: r.mismatches.into_iter().map(|m| Mismatch { job_id: m.subject, bill_id: m.bill_id, problem: m.problem }).collect(),
    }))
}
