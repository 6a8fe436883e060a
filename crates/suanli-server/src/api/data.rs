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
use serde::{Deserialize, Serialize};
use suanli_app::data::RankRow;
use suanli_core::error::ErrorCode;
use suanli_core::id::ProviderId;
use suanli_core::money::Fen;
use suanli_core::time::{format_rfc3339, parse_date};
use suanli_data::catalogue::{
    self as cat, DataRequest, DataSet, DataSetSpec, Delivery, RequestSpec, Supplier, SupplierStatus, UpdateFrequency,
};
use suanli_data::{Encoding, Grade, OpeningMode};
use utoipa::{IntoParams, ToSchema};

/// The most a content upload may be, in bytes.
pub const MAX_UPLOAD_BYTES: usize = cat::MAX_CONTENT_BYTES;
const CST_MS: i64 = 8 * 3_600_000;

fn app(c: &Caller) -> ApiResult<suanli_app::Caller> {
    Ok(suanli_app::Caller::of(&c.0)?)
}

/// A supplier's admission.
#[derive(Debug, Serialize, ToSchema)]
pub struct SupplierOut {
    pub provider_id: String,
    /// admitted or suspended.
    pub status: String,
    pub domains: Vec<String>,
    pub reason: String,
    pub decided_by: String,
    pub decided: String,
}

impl From<&Supplier> for SupplierOut {
    fn from(s: &Supplier) -> SupplierOut {
        SupplierOut {
            provider_id: s.provider_id.to_string(),
            status: s.status.as_str().into(),
            domains: s.domains.clone(),
            reason: s.reason.clone(),
            decided_by: s.decided_by.clone(),
            decided: format_rfc3339(s.decided_ms),
        }
    }
}

/// The operator's decision on a supplier.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupplierIn {
    /// `admitted` or `suspended`.
    pub status: String,
    /// Domains it may supply data in (see `GET /api/v1/data/sets` for the list).
    #[serde(default)]
    pub domains: Vec<String>,
    pub reason: String,
}

/// Admitted and suspended data suppliers (every role).
#[utoipa::path(get, path = "/api/v1/data/suppliers", tag = "data", security(("bearer" = [])), responses((status = 200, body = Vec<SupplierOut>)))]
pub async fn list_suppliers(State(s): State<AppState>, _c: Caller) -> ApiResult<Json<Vec<SupplierOut>>> {
    Ok(Json(s.data.suppliers().await?.iter().map(SupplierOut::from).collect()))
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
    Ok(Json((&sup).into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RankingQuery {
    /// The year (China Standard Time); default: this year.
    pub year: Option<i32>,
}

/// One supplier in the year's ranking.
#[derive(Debug, Serialize, ToSchema)]
pub struct RankOut {
    pub rank: usize,
    pub supplier_id: String,
    pub name: String,
    pub deliveries: u64,
    /// Delivery fees in the year, yuan.
    pub volume: String,
    /// Among the year's top five by volume.
    pub top: bool,
}

impl From<RankRow> for RankOut {
    fn from(r: RankRow) -> RankOut {
        RankOut {
            rank: r.rank,
            supplier_id: r.supplier_id.to_string(),
            name: r.name,
            deliveries: r.deliveries,
            volume: r.volume.to_yuan_string(),
            top: r.top,
        }
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
    Ok(Json(s.data.ranking(year).await?.into_iter().map(RankOut::from).collect()))
}

/// A data set to list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DataSetIn {
    /// Lowercase letters, digits and `-`.
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub title_en: Option<String>,
    #[serde(default)]
    pub description: String,
    /// traffic, healthcare, commerce, education, tourism, elder_care, finance, government, environment or manufacturing.
    pub domain: String,
    /// unconditional, conditional or not-open.
    pub mode: String,
    /// GB/T 43697: core, important, general-1 … general-4.
    pub grade: String,
    pub licence: String,
    /// once, realtime, daily, weekly, monthly, quarterly or yearly.
    pub update_frequency: String,
    /// Fee per delivery, yuan ("0" for free).
    pub price: String,
    /// Quasi-identifier columns for k-anonymity.
    #[serde(default)]
    pub quasi: Vec<String>,
}

fn bad(why: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidDataSet, why)
}

impl DataSetIn {
    fn spec(self) -> ApiResult<DataSetSpec> {
        let freq: UpdateFrequency = serde_json::from_value(serde_json::Value::String(self.update_frequency.clone()))
            .map_err(|_| bad(format!("'{}' is not an update frequency", self.update_frequency)))?;
        Ok(DataSetSpec {
            name: self.name,
            title: self.title,
            title_en: self.title_en,
            description: self.description,
            domain: self.domain,
            mode: OpeningMode::parse(&self.mode).map_err(|e| bad(e.to_string()))?,
            grade: Grade::parse(&self.grade).map_err(|e| bad(e.to_string()))?,
            licence: self.licence,
            update_frequency: freq,
            price: Fen::parse_yuan(&self.price)?,
            quasi: self.quasi,
        })
    }
}

/// A column of a data set with what a sample of it held.
#[derive(Debug, Serialize, ToSchema)]
pub struct ColumnOut {
    pub name: String,
    /// The kind of personal data the column holds (resident_id, mobile, name, address, …), if any.
    pub kind: Option<String>,
    /// Identifiers found in the sampled cells, by kind.
    #[schema(value_type = Object)]
    pub found: serde_json::Value,
    pub sampled: u64,
}

/// A data set of the catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct DataSetOut {
    pub id: String,
    pub name: String,
    pub supplier_id: String,
    pub title: String,
    pub title_en: Option<String>,
    pub description: String,
    pub domain: String,
    pub mode: String,
    pub grade: String,
    pub licence: String,
    pub update_frequency: String,
    pub price: String,
    pub quasi: Vec<String>,
    /// Whether consumers may request it (not core, open, content uploaded).
    pub requestable: bool,
    pub format: Option<String>,
    pub rows: u64,
    pub content_bytes: u64,
    pub content_sha256: Option<String>,
    pub columns: Vec<ColumnOut>,
    /// The first rows, already de-identified under the set's policy.
    pub preview: Option<String>,
    pub created: String,
    pub updated: String,
}

pub fn mode_str(m: OpeningMode) -> &'static str {
    match m {
        OpeningMode::Unconditional => "unconditional",
        OpeningMode::Conditional => "conditional",
        OpeningMode::NotOpen => "not-open",
    }
}

impl From<&DataSet> for DataSetOut {
    fn from(d: &DataSet) -> DataSetOut {
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
}

/// The catalogue (every role).
#[utoipa::path(get, path = "/api/v1/data/sets", tag = "data", security(("bearer" = [])), responses((status = 200, body = Vec<DataSetOut>)))]
pub async fn list_sets(State(s): State<AppState>, _c: Caller) -> ApiResult<Json<Vec<DataSetOut>>> {
    Ok(Json(s.data.catalogue().await?.iter().map(DataSetOut::from).collect()))
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
    let d = s.data.register(&caller, b.spec()?).await?;
    Ok((StatusCode::CREATED, Json((&d).into())))
}

/// One data set, by id or name.
#[utoipa::path(get, path = "/api/v1/data/sets/{id}", tag = "data", security(("bearer" = [])),
    params(("id" = String, Path, description = "ds_… or the set's name")), responses((status = 200, body = DataSetOut), (status = 404, body = crate::error::Problem)))]
pub async fn get_set(State(s): State<AppState>, _c: Caller, Path(id): Path<String>) -> ApiResult<Json<DataSetOut>> {
    Ok(Json((&s.data.data_set(&id).await?).into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContentQuery {
    /// csv (default) or jsonl.
    pub format: Option<String>,
    /// utf-8 (default), gbk or gb18030.
    pub encoding: Option<String>,
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
    Ok(Json((&d).into()))
}

/// A request for a data set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestIn {
    /// ds_… or the set's name.
    pub data_set: String,
    pub purpose: String,
    /// The columns wanted.
    pub fields: Vec<String>,
    /// First day of access, YYYY-MM-DD (China Standard Time); default today.
    #[serde(default)]
    pub from: Option<String>,
    /// Last day of access, inclusive.
    pub to: String,
}

/// One step of a request's review.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionOut {
    /// open (unconditional data), supplier or operator.
    pub step: String,
    pub by: String,
    pub approve: bool,
    pub reason: String,
    pub at: String,
}

/// A data request.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestOut {
    pub id: String,
    pub data_set_id: String,
    pub tenant_id: String,
    pub supplier_id: String,
    pub purpose: String,
    pub fields: Vec<String>,
    pub from: String,
    pub to: String,
    /// awaiting_supplier, awaiting_operator, delivered, rejected or expired.
    pub state: String,
    pub fee: String,
    /// The voucher's share of the fee (SME data-purchase support).
    pub voucher: String,
    pub cash: String,
    pub decisions: Vec<DecisionOut>,
    pub created: String,
    pub expires: String,
    /// The delivery, once made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryOut>,
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
        delivery: delivery.map(DeliveryOut::from),
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

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
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

/// A decision on a request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionIn {
    pub approve: bool,
    pub reason: String,
}

/// The supplier, then (for important data) the operator, approves or rejects. Approval delivers at once.
#[utoipa::path(post, path = "/api/v1/data/requests/{id}/decision", tag = "data", security(("bearer" = [])), request_body = DecisionIn,
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

/// A delivery: who got which columns under which policy, and what it cost.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    pub id: String,
    pub request_id: String,
    pub data_set_id: String,
    pub tenant_id: String,
    pub supplier_id: String,
    pub columns: Vec<String>,
    pub grade: String,
    pub mode: String,
    /// The k-anonymity the policy asks over the set's quasi-identifiers.
    pub k: Option<usize>,
    /// What de-identification found and did.
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
    pub format: String,
    pub sha256: String,
    pub bytes: u64,
    pub fee: String,
    pub voucher: String,
    pub cash: String,
    pub access_until: String,
    pub created: String,
    pub statement_id: Option<String>,
}

impl From<&Delivery> for DeliveryOut {
    fn from(d: &Delivery) -> DeliveryOut {
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
}

/// Deliveries the caller may see.
#[utoipa::path(get, path = "/api/v1/data/deliveries", tag = "data", security(("bearer" = [])), params(ListQuery), responses((status = 200, body = Vec<DeliveryOut>)))]
pub async fn list_deliveries(State(s): State<AppState>, c: Caller, Query(q): Query<ListQuery>) -> ApiResult<Json<Vec<DeliveryOut>>> {
    let ds = s.data.deliveries(&app(&c)?, q.limit.unwrap_or(100).clamp(1, 1000)).await?;
    Ok(Json(ds.iter().map(DeliveryOut::from).collect()))
}

/// One delivery.
#[utoipa::path(get, path = "/api/v1/data/deliveries/{id}", tag = "data", security(("bearer" = [])),
    params(("id" = String, Path, description = "dlv_…")), responses((status = 200, body = DeliveryOut), (status = 404, body = crate::error::Problem)))]
pub async fn get_delivery(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<Json<DeliveryOut>> {
    Ok(Json((&s.data.delivery(&app(&c)?, &id).await?).into()))
}

/// A short-lived download link.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkOut {
    /// The path to GET (no bearer token needed; the link is the credential).
    pub url: String,
    pub expires: String,
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

/// A grade's de-identification policy for an opening, as deliveries use it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyOut {
    /// core, important, general-1 … general-4.
    pub grade: String,
    pub mode: String,
    /// Whether the operator configured it (else it is the built-in one).
    pub configured: bool,
    /// The policy, as `suanli data policy` prints it (PUT it back changed to configure it).
    #[schema(value_type = Object)]
    pub policy: serde_json::Value,
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
