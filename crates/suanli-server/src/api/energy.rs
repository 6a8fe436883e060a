//! Data-centre energy monitoring: meter readings in (JSON batches and Prometheus remote write), PUE, series, coverage, evaluation and alerts out.
//!
//! # Prometheus remote write
//!
//! `POST /api/v1/energy/prometheus/write` takes remote-write 1.0: a snappy-compressed (raw
//! block format) protobuf `WriteRequest`, with the usual bearer token (in Prometheus,
//! `remote_write: [{url: …, authorization: {credentials: TOKEN}}]`). Series map to meters:
//!
//! - the label `centre` is the Suanli centre id (`ctr_…`); series without it are ignored;
//! - `suanli_facility_energy_kwh_total` is the centre's `facility` meter and
//!   `suanli_it_energy_kwh_total` its `it` meter (the default meters: cumulative kWh);
//! - `suanli_meter_reading` with a `meter` label feeds that meter, in the meter's unit;
//!   on the two energy metrics a `meter` label also names the meter;
//! - every other series (`up`, `scrape_duration_seconds`, …) is ignored, and so are stale
//!   markers (NaN samples).
//!
//! Readings go through the same rules as JSON batches; refused ones are counted in the
//! centre's data-quality tally and logged, and the answer is still 204 (Prometheus would only
//! resend the batch). An undecodable body is 400 `malformed_payload`; a centre the caller may not
//! write is 403 and writes nothing.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Query};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::Deserialize;
use std::collections::BTreeMap;
use suanli_api::energy::{
    AlertsOut, AssessmentOut, CentreMetersOut, CentrePueOut, CoverageReport, EvaluationOut, Facts, FactsIn, FactsOut, IngestOut, MeterIn,
    MetersIn, MetersOut, ReadingIn, ReadingsIn, RejectionOut, RemoteWriteOut, SeriesOut,
};
use suanli_core::error::ErrorCode;
use suanli_core::id::CentreId;
use suanli_core::time::{MS_PER_DAY, UnixMs, days_from_civil};
use suanli_energy::{IngestReport, Meter, MeterId, Reading, ReadingValue, Step};
use utoipa::IntoParams;

/// Metric of the facility meter in Prometheus remote write.
pub const PROM_FACILITY_METRIC: &str = "suanli_facility_energy_kwh_total";
/// Metric of the IT meter in Prometheus remote write.
pub const PROM_IT_METRIC: &str = "suanli_it_energy_kwh_total";
/// Metric of any meter (label `meter`) in its own unit.
pub const PROM_METER_METRIC: &str = "suanli_meter_reading";
/// Label naming the centre.
pub const PROM_CENTRE_LABEL: &str = "centre";

/// Prometheus remote-write 1.0 messages as a sender encodes them (the fields Suanli reads), for
/// the benchmark and the tests. The server does not decode into them: it reads a body in place
/// with [`super::remote_write::read`].
pub mod remote {
    /// `prometheus.WriteRequest`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct WriteRequest {
        #[prost(message, repeated, tag = "1")]
        pub timeseries: Vec<TimeSeries>,
    }

    /// `prometheus.TimeSeries`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TimeSeries {
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<Label>,
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<Sample>,
    }

    /// `prometheus.Label`. Its strings are bytes, so a test can send one that is not UTF-8.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Label {
        #[prost(bytes = "bytes", tag = "1")]
        pub name: prost::bytes::Bytes,
        #[prost(bytes = "bytes", tag = "2")]
        pub value: prost::bytes::Bytes,
    }

    impl Label {
        pub fn new(name: &str, value: &str) -> Label {
            Label {
                name: prost::bytes::Bytes::copy_from_slice(name.as_bytes()),
                value: prost::bytes::Bytes::copy_from_slice(value.as_bytes()),
            }
        }
    }

    /// `prometheus.Sample`: value and unix milliseconds.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        #[prost(double, tag = "1")]
        pub value: f64,
        #[prost(int64, tag = "2")]
        pub timestamp: i64,
    }
}

/// A time window: `from` and `to` as unix ms, RFC 3339 or YYYY-MM-DD (UTC midnight).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WindowQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    /// `quarter_hour`, `hour` (default), `day` or `month` (series only).
    pub step: Option<String>,
}

/// The evaluation's moment: the end of a year (UTC+8) or now.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EvaluationQuery {
    /// Evaluate as at the end of this year (or now, if earlier).
    pub year: Option<i32>,
}

pub use suanli_core::time::parse_rfc3339;

/// A time as unix ms, RFC 3339 or a date.
fn parse_time(s: &str, what: &str) -> ApiResult<UnixMs> {
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    if s.len() == 10 {
        return Ok(suanli_core::time::parse_date(s)?);
    }
    parse_rfc3339(s)
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidQuery, format!("{what} must be unix ms, RFC 3339 or YYYY-MM-DD, not '{s}'")))
}

fn window(q: &WindowQuery, now: UnixMs, default_ms: i64) -> ApiResult<(UnixMs, UnixMs)> {
    let to = q.to.as_deref().map(|t| parse_time(t, "to")).transpose()?.unwrap_or(now);
    let from = q.from.as_deref().map(|t| parse_time(t, "from")).transpose()?.unwrap_or(to.saturating_sub(default_ms));
    Ok((from, to))
}

/// A data centre id from the path; a malformed one is simply not found.
fn dc_id(id: &str) -> ApiResult<CentreId> {
    CentreId::parse(id).map_err(|_| ApiError::new(ErrorCode::DataCentreNotFound, format!("no data centre {id}")))
}

/// The caller as the application layer types it.
fn caller(c: &Caller) -> ApiResult<suanli_app::Caller> {
    Ok(suanli_app::Caller::of(&c.0)?)
}

fn reading_of(r: &ReadingIn) -> ApiResult<(CentreId, Reading)> {
    let centre = CentreId::parse(&r.centre_id)?;
    let meter = MeterId::parse(&r.meter).map_err(ApiError::from_energy)?;
    let ts_ms = match (r.ts_ms, r.ts.as_deref()) {
        (Some(ms), None) => ms,
        (None, Some(ts)) => parse_rfc3339(ts)
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidBody, format!("ts must be RFC 3339 (2026-05-01T08:00:00+08:00), not '{ts}'")))?,
        _ => return Err(ApiError::new(ErrorCode::InvalidBody, "each reading has exactly one of ts_ms and ts")),
    };
    let value = match (r.kwh, r.kw, r.m3) {
        (Some(v), None, None) => ReadingValue::CumulativeKwh(v),
        (None, Some(v), None) => ReadingValue::InstantKw(v),
        (None, None, Some(v)) => ReadingValue::CumulativeM3(v),
        _ => return Err(ApiError::new(ErrorCode::InvalidBody, "each reading has exactly one of kwh, kw and m3")),
    };
    Ok((centre, Reading { meter, ts_ms, value }))
}

/// The reports of a batch's centres, merged.
fn ingest_out(reports: Vec<(CentreId, IngestReport)>) -> IngestOut {
    let mut out = IngestOut { accepted: 0, duplicates: 0, rejected: Vec::new(), issues: Vec::new() };
    for (centre, report) in reports {
        out.accepted += report.accepted;
        out.duplicates += report.duplicates;
        out.rejected.extend(report.rejected.into_iter().map(|r| RejectionOut {
            centre_id: centre.to_string(),
            meter: r.meter.to_string(),
            ts_ms: r.ts_ms,
            code: r.error.code().to_string(),
            message: r.error.to_string(),
        }));
        out.issues.extend(report.issues);
    }
    out
}

/// Sends meter readings (the operator for any centre, a provider for its own). Each reading is
/// judged by the ingest rules; accepted ones are stored before the answer, refused ones are
/// listed with their code. Resending a batch is harmless (duplicates).
#[utoipa::path(post, path = "/api/v1/energy/readings", tag = "energy", security(("bearer" = [])), request_body = ReadingsIn,
    responses((status = 200, body = IngestOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem), (status = 429, description = "ingest_busy: the writer's queue is full; Retry-After says when to send again", body = crate::error::Problem)))]
pub async fn ingest_readings(State(s): State<AppState>, c: Caller, JsonBody(body): JsonBody<ReadingsIn>) -> ApiResult<Json<IngestOut>> {
    let caller = caller(&c)?;
    s.energy.may_send(&caller)?;
    let mut batches: BTreeMap<CentreId, Vec<Reading>> = BTreeMap::new();
    for r in &body.readings {
        let (centre, reading) = reading_of(r)?;
        batches.entry(centre).or_default().push(reading);
    }
    Ok(Json(ingest_out(s.energy.ingest(&caller, batches).await?)))
}

/// The most a remote-write body may expand to (Prometheus sends about 2,000 samples a request).
pub const REMOTE_WRITE_MAX_BYTES: usize = 8 << 20;
/// The most series and samples one remote-write request may carry.
pub const REMOTE_WRITE_MAX_SERIES: usize = 50_000;
pub const REMOTE_WRITE_MAX_SAMPLES: usize = 500_000;

/// Prometheus remote write 1.0 (snappy-compressed protobuf); see the module docs for the mapping.
#[utoipa::path(post, path = "/api/v1/energy/prometheus/write", tag = "energy", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "application/x-protobuf", description = "snappy-compressed prometheus.WriteRequest"),
    responses((status = 200, body = RemoteWriteOut), (status = 400, body = crate::error::Problem), (status = 403, body = crate::error::Problem),
        (status = 413, body = crate::error::Problem), (status = 429, description = "ingest_busy: the writer's queue is full; Retry-After says when to send again", body = crate::error::Problem)))]
pub async fn prometheus_write(State(s): State<AppState>, c: Caller, body: Bytes) -> ApiResult<Json<RemoteWriteOut>> {
    use super::remote_write::WireError;
    let caller = caller(&c)?;
    s.energy.may_send(&caller)?;
    let malformed =
        |e: snap::Error| ApiError::new(ErrorCode::MalformedPayload, format!("the body is not snappy-compressed (raw block format): {e}"));
    let too_large = |what: String| ApiError::new(ErrorCode::PayloadTooLarge, what);
    let len = snap::raw::decompress_len(&body).map_err(malformed)?;
    if len > REMOTE_WRITE_MAX_BYTES {
        return Err(too_large(format!("the body expands to {len} bytes; at most {REMOTE_WRITE_MAX_BYTES} a request")));
    }
    let raw = snap::raw::Decoder::new().decompress_vec(&body).map_err(malformed)?;
    let req = super::remote_write::read(&raw, REMOTE_WRITE_MAX_SERIES, REMOTE_WRITE_MAX_SAMPLES).map_err(|e| match e {
        WireError::TooManySeries(..) | WireError::TooManySamples(..) => too_large(e.to_string()),
        WireError::Framing(_) | WireError::NotUtf8 => {
            ApiError::new(ErrorCode::MalformedPayload, format!("the body is not a prometheus WriteRequest: {e}"))
        }
    })?;
    let (series, ignored) = series_of(&req);
    let w = s.energy.remote_write(&caller, series).await?;
    let out = ingest_out(w.reports);
    let ignored = ignored + w.ignored_series;
    if !out.rejected.is_empty() || ignored > 0 {
        tracing::info!(accepted = out.accepted, rejected = out.rejected.len(), ignored_series = ignored, "prometheus remote write");
    }
    Ok(Json(RemoteWriteOut {
        accepted: out.accepted,
        duplicates: out.duplicates,
        rejected: out.rejected.len() as u32,
        dropped_not_a_number: w.not_a_number,
        ignored_series: ignored,
    }))
}

/// Series to (centre, meter) by the mapping in the module docs; answers them and how many
/// series are not Suanli's meters.
fn series_of<'a>(req: &'a super::remote_write::WriteRequest<'a>) -> (Vec<suanli_app::energy::Series<'a>>, u32) {
    let mut ignored = 0u32;
    let mut out = Vec::with_capacity(req.series.len());
    for s in &req.series {
        let meter = match (req.label(s, "__name__"), req.label(s, "meter")) {
            (Some(PROM_FACILITY_METRIC), m) => m.unwrap_or(suanli_energy::FACILITY_METER),
            (Some(PROM_IT_METRIC), m) => m.unwrap_or(suanli_energy::IT_METER),
            (Some(PROM_METER_METRIC), Some(m)) => m,
            _ => {
                ignored += 1;
                continue;
            }
        };
        let Some(centre) = req.label(s, PROM_CENTRE_LABEL) else {
            ignored += 1;
            continue;
        };
        out.push(suanli_app::energy::Series { centre, meter, samples: &req.samples[s.samples.clone()] });
    }
    (out, ignored)
}

fn facts_of(dc: &suanli_energy::DataCentre) -> Facts {
    Facts { cooling: suanli_energy::defaults::cooling_name(dc.cooling), rated_kw: dc.rated_kw, racks: dc.racks, edge: dc.edge }
}

fn meter_of(m: &MeterIn) -> ApiResult<Meter> {
    Ok(suanli_app::energy::meter_of(&m.id, &m.kind, m.point.as_deref(), m.category, &m.unit)?)
}

/// Registers a data centre's meters (the operator for any centre, a provider for its own). The
/// list replaces the current meters (the defaults `facility` and `it` included), except that a
/// meter with readings is kept and keeps its kind and unit. A PUE needs a facility-total and an
/// IT meter. Answers the meters now registered.
#[utoipa::path(post, path = "/api/v1/energy/centres/{id}/meters", tag = "energy", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = MetersIn,
    responses((status = 200, body = MetersOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn register_meters(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MetersIn>,
) -> ApiResult<Json<MetersOut>> {
    let id = dc_id(&id)?;
    let meters = body.meters.iter().map(meter_of).collect::<ApiResult<Vec<Meter>>>()?;
    let meters = s.energy.register_meters(&caller(&c)?, &id, meters).await?;
    Ok(Json(MetersOut { centre_id: id, meters }))
}

/// Registers a data centre's cooling and rated capacity (the operator for any centre, a
/// provider for its own); until then cooling is inferred from the declared PUE and capacity
/// from the racks (20 kW each).
#[utoipa::path(put, path = "/api/v1/energy/centres/{id}/facts", tag = "energy", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = FactsIn,
    responses((status = 200, body = FactsOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn set_facts(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<FactsIn>,
) -> ApiResult<Json<FactsOut>> {
    let id = dc_id(&id)?;
    let dc = s.energy.set_facts(&caller(&c)?, &id, &body.cooling, body.rated_kw).await?;
    Ok(Json(FactsOut { centre_id: id, facts: facts_of(&dc) }))
}

/// A data centre's meters with what each has reported: first and last reading, accepted,
/// duplicate and refused counts.
#[utoipa::path(get, path = "/api/v1/energy/centres/{id}/meters", tag = "energy", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = CentreMetersOut), (status = 404, body = crate::error::Problem)))]
pub async fn centre_meters(State(s): State<AppState>, _c: Caller, Path(id): Path<String>) -> ApiResult<Json<CentreMetersOut>> {
    let id = dc_id(&id)?;
    s.energy.ensure_registered(&[&id]).await?;
    let book = s.energy.read().await;
    let status = book.meters(&id)?;
    let dc = book.data_centre(&id);
    let meters = dc.map(|dc| dc.meters.clone()).unwrap_or_default();
    Ok(Json(CentreMetersOut { centre_id: id.clone(), meters, status, data_centre: dc.map(facts_of) }))
}

/// PUE over a window (default: the last 24 hours), with its ISO/IEC 30134-2 category label
/// ("PUE2"), completeness, and why it has no value when it has none.
#[utoipa::path(get, path = "/api/v1/energy/centres/{id}/pue", tag = "energy", security(("bearer" = [])), params(("id" = String, Path), WindowQuery),
    responses((status = 200, body = CentrePueOut), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn centre_pue(
    State(s): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
    Query(q): Query<WindowQuery>,
) -> ApiResult<Json<CentrePueOut>> {
    let id = dc_id(&id)?;
    s.energy.ensure_registered(&[&id]).await?;
    let (from, to) = window(&q, s.ids.now_ms(), MS_PER_DAY)?;
    let book = s.energy.read().await;
    let kpis = book.kpis(&id, from, to)?;
    Ok(Json(CentrePueOut { centre_id: id, display: kpis.pue.to_string(), pue: kpis.pue, cue: kpis.cue }))
}

/// Energy and PUE per hour (default), day or month (local UTC+8 periods) over a window
/// (default: the last 7 days).
#[utoipa::path(get, path = "/api/v1/energy/centres/{id}/series", tag = "energy", security(("bearer" = [])), params(("id" = String, Path), WindowQuery),
    responses((status = 200, body = SeriesOut), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn centre_series(
    State(s): State<AppState>,
    _c: Caller,
    Path(id): Path<String>,
    Query(q): Query<WindowQuery>,
) -> ApiResult<Json<SeriesOut>> {
    let id = dc_id(&id)?;
    let step = match q.step.as_deref().unwrap_or("hour") {
        "quarter_hour" => Step::QuarterHour,
        "hour" => Step::Hour,
        "day" => Step::Day,
        "month" => Step::Month,
        other => return Err(ApiError::new(ErrorCode::InvalidQuery, format!("step is quarter_hour, hour, day or month, not '{other}'"))),
    };
    s.energy.ensure_registered(&[&id]).await?;
    let (from, to) = window(&q, s.ids.now_ms(), 7 * MS_PER_DAY)?;
    let book = s.energy.read().await;
    let points = book.series(&id, from, to, step)?;
    Ok(Json(SeriesOut { centre_id: id, step, from_ms: from, to_ms: to, points }))
}

/// Monitoring coverage: the share of registered data centres sending valid data, against the
/// policy's 75%, with the silent ones and their silent meters.
#[utoipa::path(get, path = "/api/v1/energy/coverage", tag = "energy", security(("bearer" = [])), responses((status = 200, body = CoverageReport)))]
pub async fn coverage(State(s): State<AppState>, _c: Caller) -> ApiResult<Json<CoverageReport>> {
    s.energy.sync_centres().await?;
    let book = s.energy.read().await;
    Ok(Json(book.coverage(s.ids.now_ms())))
}

/// Lifecycle evaluation of every data centre over the annualised window: KPIs, GB 40879 grade,
/// the new-data-centre PUE rule, score and recommendation (keep, retrofit, merge into a named
/// destination, retire), ranked; with each centre's name and its interim PUE over the last 30
/// days (`recent_pue`).
#[utoipa::path(get, path = "/api/v1/energy/evaluation", tag = "energy", security(("bearer" = [])), params(EvaluationQuery),
    responses((status = 200, body = EvaluationOut)))]
pub async fn evaluation(State(s): State<AppState>, _c: Caller, Query(q): Query<EvaluationQuery>) -> ApiResult<Json<EvaluationOut>> {
    let centres = s.energy.sync_centres().await?;
    let now = s.ids.now_ms();
    let at = match q.year {
        Some(y) if !(2000..=2200).contains(&y) => return Err(ApiError::new(ErrorCode::InvalidQuery, format!("year {y} is out of range"))),
        Some(y) => now.min(days_from_civil(y as i64 + 1, 1, 1) * MS_PER_DAY - 8 * 3_600_000),
        None => now,
    };
    let names: BTreeMap<String, String> = centres.into_iter().map(|c| (c.id.to_string(), c.name_en)).collect();
    let loads = suanli_app::figures::loads(&s.store, &s.regions, at).await?;
    let book = s.energy.read().await;
    let name = |id: &CentreId| names.get(id.as_str()).cloned();
    let assessments = book
        .evaluate(at, &loads)
        .into_iter()
        .map(|a| {
            let (named, into) = (name(&a.dc), a.lifecycle.merge_into.as_ref().and_then(name));
            let recent = book.pue(&a.dc, at - 30 * MS_PER_DAY, at).ok();
            AssessmentOut::new(a, named, into, recent)
        })
        .collect();
    Ok(Json(EvaluationOut { at_ms: at, assessments }))
}

/// Open alerts: PUE over threshold, silent meters, data-quality issues.
#[utoipa::path(get, path = "/api/v1/energy/alerts", tag = "energy", security(("bearer" = [])), responses((status = 200, body = AlertsOut)))]
pub async fn alerts(State(s): State<AppState>, _c: Caller) -> ApiResult<Json<AlertsOut>> {
    s.energy.sync_centres().await?;
    let book = s.energy.read().await;
    let alerts = book.alerts(s.ids.now_ms());
    Ok(Json(AlertsOut { alerts }))
}
