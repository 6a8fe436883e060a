//! City-wide views: totals against the policy's targets, the catalogue, regions, the audit trail, health.

use crate::AppState;
use crate::auth::Caller;
use crate::dto::*;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use axum::Json;
use axum::extract::State;
use suanli_app::figures::Registry;
use suanli_core::job::JobState;

/// The city's totals against the policy's targets.
#[utoipa::path(get, path = "/api/v1/city/summary", tag = "city", security(("bearer" = [])),
    responses((status = 200, body = CitySummary), (status = 401, body = crate::error::Problem)))]
pub async fn summary(State(s): State<AppState>, _c: Caller) -> ApiResult<Json<CitySummary>> {
    Ok(Json(city_summary(&s, &Registry::read(&s.store).await?).await?))
}

/// The policy's targets month by month over the last twelve calendar months (Beijing time): open
/// compute and its high-performance share at each month's end, the worst monthly PUE of the new
/// data centres against the limit, and the year's voucher spending against the budget; each with
/// its target and whether the latest month meets it.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TrendsQuery {
    /// Which calendar months (Beijing time): `12m` (the default), `24m`, `ytd` (January to now)
    /// or `custom` with `from` and `to`.
    pub span: Option<String>,
    /// A custom span's first month, `YYYY-MM`.
    pub from: Option<String>,
    /// A custom span's last month, `YYYY-MM` (at most 120 months in all, none after this one).
    pub to: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/city/trends", tag = "city", security(("bearer" = [])), params(TrendsQuery),
    responses((status = 200, body = CityTrends), (status = 401, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn trends(State(s): State<AppState>, _c: Caller, Query(q): Query<TrendsQuery>) -> ApiResult<Json<CityTrends>> {
    let span = suanli_app::trends::MonthSpan::parse(
        q.span.as_deref().unwrap_or_default(),
        q.from.as_deref().unwrap_or_default(),
        q.to.as_deref().unwrap_or_default(),
        s.ids.now_ms(),
    )?;
    Ok(Json(trends_out(city_trends(&s, &Registry::read(&s.store).await?, span).await?)))
}

fn trends_out(t: suanli_app::trends::Trends) -> CityTrends {
    CityTrends {
        months: t.months.into_iter().map(|m| m.month).collect(),
        trends: t
            .trends
            .into_iter()
            .map(|x| TrendOut {
                key: x.key.to_string(),
                unit: x.unit.to_string(),
                target: trend_value(x.target),
                rule: serde_json::to_value(x.rule).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
                values: x.values.into_iter().map(|v| v.map(trend_value)).collect(),
                met: x.met,
            })
            .collect(),
    }
}

/// A figure as a number, money as the wire's yuan string.
fn trend_value(a: suanli_app::trends::Amount) -> TrendValue {
    match a {
        suanli_app::trends::Amount::Figure(x) => TrendValue::Number(x),
        suanli_app::trends::Amount::Money(f) => TrendValue::Yuan(f.to_yuan_string()),
    }
}

/// The trends the API serves and the overview draws, over the registry as `registry` read it.
pub async fn city_trends(s: &AppState, registry: &Registry, span: suanli_app::trends::MonthSpan) -> ApiResult<suanli_app::trends::Trends> {
    Ok(suanli_app::trends::city_trends(&s.store, registry, &s.catalogue, &s.regions, &s.policy, &s.energy, span, s.ids.now_ms()).await?)
}

/// The city's summary, over the registry as `registry` read it.
pub async fn city_summary(s: &AppState, registry: &Registry) -> ApiResult<CitySummary> {
    let centres = &registry.centres;
    // Independent reads, at once so that they overlap.
    let figures =
        async { Ok::<_, ApiError>(suanli_app::figures::compute_with(&s.store, registry, &s.catalogue, &s.regions, &s.policy).await?) };
    let counts = async { Ok::<_, ApiError>(s.store.job_counts().await?) };
    let tenants = async { Ok::<_, ApiError>(s.store.tenants().await?.len() as u32) };
    let over = async {
        s.energy.sync_with(centres).await?;
        let book = s.energy.read().await;
        Ok::<_, ApiError>(suanli_app::figures::over_pue_limit(&book, s.ids.now_ms(), centres))
    };
    let (t, counts, tenants, over, vouchers) = tokio::try_join!(figures, counts, tenants, over, voucher_summary(s))?;
    let mut jobs = JobCounts::default();
    for (state, n) in counts {
        match state {
            JobState::Pending => jobs.pending = n,
            JobState::Placed => jobs.placed = n,
            JobState::Running => jobs.running = n,
            JobState::Succeeded => jobs.succeeded = n,
            JobState::Failed => jobs.failed = n,
            JobState::Cancelled => jobs.cancelled = n,
        }
    }
    Ok(CitySummary {
        open_compute_pflops_fp16: round(t.open_compute_pflops_fp16, 3),
        high_performance_share: round(t.high_performance_share, 4),
        domestic_share: round(t.domestic_share, 4),
        open_compute_progress: round(t.open_compute_pflops_fp16 / s.policy.open_compute_target_pflops, 4),
        targets: Targets {
            open_compute_pflops_fp16: s.policy.open_compute_target_pflops,
            high_performance_share: s.policy.high_performance_share_target,
            monitoring_coverage: s.policy.monitoring_coverage_target,
            new_dc_pue_limit: s.policy.new_dc_pue_limit,
            voucher_budget: s.policy.voucher_budget.to_yuan_string(),
        },
        centres: t.centres,
        partner_centres: t.partner_centres,
        pools: t.pools,
        accelerators: t.accelerators,
        accelerators_in_use: t.accelerators_in_use,
        tenants,
        new_centres_over_pue_limit: over.iter().map(|o| o.id.to_string()).collect(),
        over_pue_limit: over
            .into_iter()
            .map(|o| OverPueLimitOut { id: o.id.to_string(), name: o.name, name_en: o.name_en, annualised_pue: o.annualised_pue })
            .collect(),
        jobs,
        by_region: t.by_region,
        by_scope: t.by_scope,
        by_vendor: t.by_vendor,
        by_class: t.by_class,
        vouchers,
    })
}

/// The open voucher programme's figures, if one is open now.
async fn voucher_summary(s: &AppState) -> ApiResult<Option<VoucherSummary>> {
    Ok(match s.store.programme_open_at(s.ids.now_ms()).await? {
        Some(p) => {
            let o = crate::api::vouchers::programme_out(s, &p).await?;
            Some(VoucherSummary {
                programme_id: o.id,
                year: o.year,
                budget: o.budget,
                issued: o.issued,
                spent: o.spent,
                held: o.held,
                remaining: o.remaining,
                spent_share: o.spent_share,
                enterprises: o.enterprises,
                pending_applications: o.pending_applications,
            })
        }
        None => None,
    })
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// The accelerator catalogue.
#[utoipa::path(get, path = "/api/v1/accelerators", tag = "city", security(("bearer" = [])),
    responses((status = 200, body = AcceleratorList)))]
pub async fn accelerators(State(s): State<AppState>, _c: Caller) -> Json<AcceleratorList> {
    Json(AcceleratorList { items: s.catalogue.all().to_vec() })
}

/// The region tree (district -> Hangzhou -> Zhejiang -> Yangtze River Delta -> East China).
#[utoipa::path(get, path = "/api/v1/regions", tag = "city", security(("bearer" = [])),
    responses((status = 200, body = RegionList)))]
pub async fn regions(State(s): State<AppState>, _c: Caller) -> Json<RegionList> {
    Json(RegionList { items: s.regions.all().to_vec() })
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only records about this id.
    pub subject: Option<String>,
    /// At most this many, newest first (1..=1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The audit trail: who changed what, when (operator and regulator).
#[utoipa::path(get, path = "/api/v1/audit", tag = "city", security(("bearer" = [])), params(AuditQuery),
    responses((status = 200, body = Page<AuditOut>), (status = 403, body = crate::error::Problem)))]
pub async fn audit_log(State(s): State<AppState>, c: Caller, Query(q): Query<AuditQuery>) -> ApiResult<Json<Page<AuditOut>>> {
    let items = suanli_app::audit::latest(&s.store, &suanli_app::Caller::of(&c.0)?, q.subject.as_deref(), q.limit.unwrap_or(100))
        .await?
        .into_iter()
        .map(|a| AuditOut { id: a.id.to_string(), at_ms: a.at_ms, actor: a.actor, action: a.action, subject: a.subject, detail: a.detail })
        .collect();
    Ok(Json(Page { items, next_cursor: None }))
}

/// Liveness and store reachability (no token needed).
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health), (status = 503, body = crate::error::Problem)))]
pub async fn healthz(State(s): State<AppState>) -> ApiResult<Json<Health>> {
    s.store
        .ping()
        .await
        .map_err(|e| crate::error::ApiError::new(suanli_core::ErrorCode::Unavailable, format!("the store does not answer: {e}")))?;
    Ok(Json(Health {
        status: "ok".into(),
        store: match s.store.dialect() {
            suanli_store::Dialect::Sqlite => "sqlite",
            suanli_store::Dialect::Postgres => "postgres",
        }
        .into(),
        version: env!("CARGO_PKG_VERSION").into(),
        replica: s.fence.holder().to_string(),
        leader: s.fence.leads(),
        term: s.fence.term(),
    }))
}
