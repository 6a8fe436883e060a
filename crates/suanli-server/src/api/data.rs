//! Data sharing under `/api/v1/data`: suppliers and their ranking, the graded catalogue with content uploads, access requests and decisions, deliveries and their short-lived download links. Every rule is in `suanli_app::data`.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Query};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use suanli_api::data::{
    ColumnOut, ContentQuery, DataSetIn, DataSetOut, DecisionIn, DecisionOut, DeliveryOut, LinkOut, ListQuery, PolicyOut, RankOut,
    RankingQuery, RequestIn, RequestOut, SupplierIn, SupplierOut,
};
use suanli_app::data::RankRow;
use suanli_core::error::ErrorCode;
use suanli_core::id::ProviderId;
use suanli_core::time::{format_rfc3339, parse_date};
use suanli_data::catalogue::{self as cat, DataRequest, DataSet, DataSetSpec, Delivery, RequestSpec, Supplier, SupplierStatus};
use suanli_data::{Encoding, OpeningMode};

/// The most a content upload may be, in bytes.
pub const MAX_UPLOAD_BYTES: usize = cat::MAX_CONTENT_BYTES;
const CST_MS: i64 = 8 * 3_600_000;

fn app(c: &Caller) -> ApiResult<suanli_app::Caller> {
    Ok(suanli_app::Caller::of(&c.0)?)
}

fn supplier_out(s: &Supplier) -> SupplierOut {
    SupplierOut {
        provider_id: s.provider_id.to_string(),
        status: s.status.as_str().into(),
        domains: s.domains.clone(),
        reason: s.reason.clone(),
        decided_by: s.decided_by.clone(),
        decided: format_rfc3339(s.decided_ms),
    }
}

/// Admitted and suspended data suppliers (every role).
#[utoipa::path(get, path = "/api/v1/data/suppliers", tag = "data", security(("bearer" = [])), responses((status = 200, body = Vec<SupplierOut>)))]
pub async fn list_suppliers(State(s): State<AppState>, _c: Caller) -> ApiResult<Json<Vec<SupplierOut>>> {
    Ok(Json(s.data.suppliers().await?.iter().map(supplier_out).collect()))
}

/// The operator admits a provider as a data supplier (市级数据开放共享供应商) or suspends it.
#[utoipa::path(put, path = "/api/v1/data/suppliers/{provider_id}", tag = "data", security(("bearer" = [])), request_body = SupplierIn,
    params(("provider_id" = String, Path, description = "prv_…")),
    responses((status = 200, body = SupplierOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn set_supplier(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<SupplierIn>,
) -> ApiResult<Json<SupplierOut>> {
    let provider = ProviderId::parse(&id)?;
    let status = SupplierStatus::parse(&b.status)
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidBody, format!("'{}' is not a status: use admitted or suspended", b.status)))?;
    let sup = s.data.set_supplier(&app(&c)?, &provider, status, b.domains, b.reason).await?;
    Ok(Json(supplier_out(&sup)))
}

fn rank_out(r: RankRow) -> RankOut {
    RankOut {
        rank: r.rank,
        supplier_id: r.supplier_id.to_string(),
        name: r.name,
        deliveries: r.deliveries,
        volume: r.volume.to_yuan_string(),
        top: r.top,
    }
}

/// Suppliers by data-service volume in a year, the top five marked (every role).
#[utoipa::path(get, path = "/api/v1/data/suppliers/ranking", tag = "data", security(("bearer" = [])), params(RankingQuery),
    responses((status = 200, body = Vec<RankOut>), (status = 422, body = crate::error::Problem)))]
pub async fn ranking(State(s): State<AppState>, _c: Caller, Query(q): Query<RankingQuery>) -> ApiResult<Json<Vec<RankOut>>> {
    let year = match q.year {
        Some(y) => y,
        None => suanli_core::time::civil_from_days((s.ids.now_ms() + CST_MS).div_euclid(86_400_000)).0 as i32,
    };
    Ok(Json(s.data.ranking(year).await?.into_iter().map(rank_out).collect()))
}

fn bad(why: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidDataSet, why)
}

/// The data set a listing describes.
fn spec(b: DataSetIn) -> ApiResult<DataSetSpec> {
    let listing = suanli_app::data::Listing {
        name: b.name,
        title: b.title,
        title_en: b.title_en,
        description: b.description,
        domain: b.domain,
        mode: b.mode,
        grade: b.grade,
        licence: b.licence,
        update_frequency: b.update_frequency,
        price: b.price,
        quasi: b.quasi,
    };
    Ok(listing.spec()?)
}

pub fn mode_str(m: OpeningMode) -> &'static str {
    match m {
        OpeningMode::Unconditional => "unconditional",
        OpeningMode::Conditional => "conditional",
        OpeningMode::NotOpen => "not-open",
    }
}

pub fn data_set_out(d: &DataSet) -> DataSetOut {
    let s = &d.spec;
    DataSetOut {
        id: d.id.to_string(),
        name: s.name.clone(),
        supplier_id: d.supplier_id.to_string(),
        title: s.title.clone(),
        title_en: s.title_en.clone(),
        description: s.description.clone(),
        domain: s.domain.clone(),
        mode: mode_str(s.mode).into(),
        grade: s.grade.label(),
        licence: s.licence.clone(),
        update_frequency: serde_json::to_value(s.update_frequency).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
        price: s.price.to_yuan_string(),
        quasi: s.quasi.clone(),
        requestable: s.requestable().is_ok() && d.rows > 0,
        format: d.format.clone(),
        rows: d.rows,
        content_bytes: d.content_bytes,
        content_sha256: d.content_sha256.clone(),
        columns: d
            .columns
            .iter()
            .map(|c| ColumnOut {
                name: c.name.clone(),
                kind: c.kind.map(|k| k.as_str().to_string()),
                found: serde_json::to_value(&c.found).unwrap_or_default(),
                sampled: c.sampled,
            })
            .collect(),
        preview: d.preview.clone(),
        created: format_rfc3339(d.created_ms),
        updated: format_rfc3339(d.updated_ms),
    }
}

/// The catalogue (every role).
#[utoipa::path(get, path = "/api/v1/data/sets", tag = "data", security(("bearer" = [])), responses((status = 200, body = Vec<DataSetOut>)))]
pub async fn list_sets(State(s): State<AppState>, _c: Caller) -> ApiResult<Json<Vec<DataSetOut>>> {
    Ok(Json(s.data.catalogue().await?.iter().map(data_set_out).collect()))
}

/// An admitted supplier lists a data set; upload its content next.
#[utoipa::path(post, path = "/api/v1/data/sets", tag = "data", security(("bearer" = [])), request_body = DataSetIn,
    responses((status = 201, body = DataSetOut), (status = 403, body = crate::error::Problem), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn register_set(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(b): JsonBody<DataSetIn>,
) -> ApiResult<(StatusCode, Json<DataSetOut>)> {
    let caller = app(&c)?;
    let d = s.data.register(&caller, spec(b)?).await?;
    Ok((StatusCode::CREATED, Json(data_set_out(&d))))
}

/// One data set, by id or name.
#[utoipa::path(get, path = "/api/v1/data/sets/{id}", tag = "data", security(("bearer" = [])),
    params(("id" = String, Path, description = "ds_… or the set's name")), responses((status = 200, body = DataSetOut), (status = 404, body = crate::error::Problem)))]
pub async fn get_set(State(s): State<AppState>, _c: Caller, Path(id): Path<String>) -> ApiResult<Json<DataSetOut>> {
    Ok(Json(data_set_out(&s.data.data_set(&id).await?)))
}

/// The supplier uploads the set's content (the raw file as the body). Refused whole, with line
/// numbers, if any row is malformed.
#[utoipa::path(put, path = "/api/v1/data/sets/{id}/content", tag = "data", security(("bearer" = [])), params(("id" = String, Path, description = "ds_… or name"), ContentQuery),
    request_body(content = Vec<u8>, content_type = "text/csv", description = "the data set's file: CSV with a header row, or JSON Lines"),
    responses((status = 200, body = DataSetOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 413, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn upload_content(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<ContentQuery>,
    body: Bytes,
) -> ApiResult<Json<DataSetOut>> {
    let caller = app(&c)?;
    let format = cat::parse_format(q.format.as_deref().unwrap_or("csv"))?;
    let enc = q.encoding.as_deref().unwrap_or("utf-8");
    let encoding = Encoding::parse(enc).ok_or_else(|| bad(format!("'{enc}' is not an encoding: use utf-8, gbk or gb18030")))?;
    let d = s.data.upload(&caller, &id, body.to_vec(), format, encoding).await?;
    Ok(Json(data_set_out(&d)))
}

pub fn request_out(r: &DataRequest, delivery: Option<&Delivery>) -> RequestOut {
    RequestOut {
        id: r.id.to_string(),
        data_set_id: r.data_set_id.to_string(),
        tenant_id: r.tenant_id.to_string(),
        supplier_id: r.supplier_id.to_string(),
        purpose: r.spec.purpose.clone(),
        fields: r.spec.fields.clone(),
        from: format_rfc3339(r.spec.from_ms),
        to: format_rfc3339(r.spec.to_ms),
        state: r.state.as_str().into(),
        fee: r.fee.to_yuan_string(),
        voucher: r.voucher.to_yuan_string(),
        cash: r.cash.to_yuan_string(),
        decisions: r
            .decisions
            .iter()
            .map(|d| DecisionOut {
                step: d.step.clone(),
                by: d.by.clone(),
                approve: d.approve,
                reason: d.reason.clone(),
                at: format_rfc3339(d.at_ms),
            })
            .collect(),
        created: format_rfc3339(r.created_ms),
        expires: format_rfc3339(r.expires_ms),
        delivery: delivery.map(delivery_out),
    }
}

/// A consumer (tenant) requests a data set; its fee is held now. Unconditionally open data is delivered at once.
#[utoipa::path(post, path = "/api/v1/data/requests", tag = "data", security(("bearer" = [])), request_body = RequestIn,
    responses((status = 201, body = RequestOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create_request(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(b): JsonBody<RequestIn>,
) -> ApiResult<(StatusCode, Json<RequestOut>)> {
    let caller = app(&c)?;
    let now = s.ids.now_ms();
    let from_ms = match b.from.as_deref() {
        Some(d) => parse_date(d)? - CST_MS,
        None => now,
    };
    let to_ms = parse_date(&b.to)? - CST_MS + 86_400_000;
    let spec = RequestSpec { purpose: b.purpose, fields: b.fields, from_ms, to_ms };
    let (r, d) = s.data.request(&caller, &b.data_set, spec).await?;
    Ok((StatusCode::CREATED, Json(request_out(&r, d.as_ref()))))
}

/// Requests the caller may see: a tenant its own, a supplier those for its sets, the operator and regulator all.
#[utoipa::path(get, path = "/api/v1/data/requests", tag = "data", security(("bearer" = [])), params(ListQuery), responses((status = 200, body = Vec<RequestOut>)))]
pub async fn list_requests(State(s): State<AppState>, c: Caller, Query(q): Query<ListQuery>) -> ApiResult<Json<Vec<RequestOut>>> {
    let rs = s.data.requests(&app(&c)?, q.limit.unwrap_or(100).clamp(1, 1000)).await?;
    Ok(Json(rs.iter().map(|r| request_out(r, None)).collect()))
}

/// One request.
#[utoipa::path(get, path = "/api/v1/data/requests/{id}", tag = "data", security(("bearer" = [])),
    params(("id" = String, Path, description = "drq_…")), responses((status = 200, body = RequestOut), (status = 404, body = crate::error::Problem)))]
pub async fn get_request(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<Json<RequestOut>> {
    Ok(Json(request_out(&s.data.request_by_id(&app(&c)?, &id).await?, None)))
}

/// The supplier, then (for important data) the operator, approves or rejects. Approval delivers at once.
#[utoipa::path(post, operation_id = "decide_data_request", path = "/api/v1/data/requests/{id}/decision", tag = "data", security(("bearer" = [])), request_body = DecisionIn,
    params(("id" = String, Path, description = "drq_…")),
    responses((status = 200, body = RequestOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn decide(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<DecisionIn>,
) -> ApiResult<Json<RequestOut>> {
    let (r, d) = s.data.decide(&app(&c)?, &id, b.approve, b.reason).await?;
    Ok(Json(request_out(&r, d.as_ref())))
}

pub fn delivery_out(d: &Delivery) -> DeliveryOut {
    DeliveryOut {
        id: d.id.to_string(),
        request_id: d.request_id.to_string(),
        data_set_id: d.data_set_id.to_string(),
        tenant_id: d.tenant_id.to_string(),
        supplier_id: d.supplier_id.to_string(),
        columns: d.columns.clone(),
        grade: d.policy.grade.label(),
        mode: mode_str(d.policy.mode).into(),
        k: d.policy.k,
        report: d.report.clone(),
        format: d.format.clone(),
        sha256: d.sha256.clone(),
        bytes: d.bytes,
        fee: d.fee.to_yuan_string(),
        voucher: d.voucher.to_yuan_string(),
        cash: d.cash.to_yuan_string(),
        access_until: format_rfc3339(d.access_to_ms),
        created: format_rfc3339(d.created_ms),
        statement_id: d.statement_id.clone(),
    }
}

/// Deliveries the caller may see.
#[utoipa::path(get, path = "/api/v1/data/deliveries", tag = "data", security(("bearer" = [])), params(ListQuery), responses((status = 200, body = Vec<DeliveryOut>)))]
pub async fn list_deliveries(State(s): State<AppState>, c: Caller, Query(q): Query<ListQuery>) -> ApiResult<Json<Vec<DeliveryOut>>> {
    let ds = s.data.deliveries(&app(&c)?, q.limit.unwrap_or(100).clamp(1, 1000)).await?;
    Ok(Json(ds.iter().map(delivery_out).collect()))
}

/// One delivery.
#[utoipa::path(get, path = "/api/v1/data/deliveries/{id}", tag = "data", security(("bearer" = [])),
    params(("id" = String, Path, description = "dlv_…")), responses((status = 200, body = DeliveryOut), (status = 404, body = crate::error::Problem)))]
pub async fn get_delivery(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<Json<DeliveryOut>> {
    Ok(Json(delivery_out(&s.data.delivery(&app(&c)?, &id).await?)))
}

/// The consumer makes a download link for its delivery (valid 15 minutes, within its access period).
#[utoipa::path(post, path = "/api/v1/data/deliveries/{id}/links", tag = "data", security(("bearer" = [])),
    params(("id" = String, Path, description = "dlv_…")),
    responses((status = 201, body = LinkOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem), (status = 410, body = crate::error::Problem)))]
pub async fn create_link(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<(StatusCode, Json<LinkOut>)> {
    let (token, expires) = s.data.link(&app(&c)?, &id).await?;
    Ok((StatusCode::CREATED, Json(LinkOut { url: format!("/api/v1/data/downloads/{token}"), expires: format_rfc3339(expires) })))
}

/// Downloads an extract through a link while it works (410 `link_expired` after).
#[utoipa::path(get, path = "/api/v1/data/downloads/{token}", tag = "data",
    params(("token" = String, Path, description = "dl_… from a link")),
    responses((status = 200, content_type = "text/csv", body = Vec<u8>, description = "the de-identified extract (CSV or JSON Lines)"), (status = 410, body = crate::error::Problem)))]
pub async fn download(State(s): State<AppState>, Path(token): Path<String>) -> ApiResult<Response> {
    if !token.starts_with("dl_") || token.len() > 100 {
        return Err(ApiError::new(ErrorCode::LinkExpired, "this download link has expired or is unknown; make a new one"));
    }
    let (d, body) = s.data.download(&token).await?;
    let (ctype, ext) = if d.format == "jsonl" { ("application/x-ndjson", "jsonl") } else { ("text/csv; charset=utf-8", "csv") };
    Ok((
        [
            (header::CONTENT_TYPE, ctype.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}.{ext}\"", d.id)),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}

/// Every deliverable grade and opening with the policy its deliveries use (every role).
#[utoipa::path(get, path = "/api/v1/data/policies", tag = "data", security(("bearer" = [])), responses((status = 200, body = Vec<PolicyOut>)))]
pub async fn list_policies(State(s): State<AppState>, _c: Caller) -> ApiResult<Json<Vec<PolicyOut>>> {
    let out = s
        .data
        .policies()
        .await?
        .into_iter()
        .map(|(p, configured)| PolicyOut {
            grade: p.grade.label(),
            mode: mode_str(p.mode).into(),
            configured,
            policy: serde_json::to_value(&p).unwrap_or_default(),
        })
        .collect();
    Ok(Json(out))
}

/// The operator configures a grade's policy for an opening (a general sub-level's, say): the
/// body is a policy as `suanli data policy` prints it. One that would keep a person's identifier
/// is refused (`invalid_data_policy`).
#[utoipa::path(put, path = "/api/v1/data/policies", tag = "data", security(("bearer" = [])),
    request_body(content = Object, description = "a policy: grade, mode, actions (kind to operator), k, max_suppressed_share"),
    responses((status = 200, body = PolicyOut), (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn set_policy(State(s): State<AppState>, c: Caller, JsonBody(p): JsonBody<suanli_data::Policy>) -> ApiResult<Json<PolicyOut>> {
    let p = s.data.set_policy(&app(&c)?, p).await?;
    Ok(Json(PolicyOut {
        grade: p.grade.label(),
        mode: mode_str(p.mode).into(),
        configured: true,
        policy: serde_json::to_value(&p).unwrap_or_default(),
    }))
}
