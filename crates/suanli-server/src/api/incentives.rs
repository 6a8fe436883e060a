//! Incentive programmes under `/api/v1/incentives` (programmes, applications by tenants and providers with evidence, the expert pool, experts assigned by the operator and scoring as themselves, ranking into publicity, objections, decisions and the city's totals), and partner selection under `/api/v1/partners` and `/api/v1/centres/{id}/…` (scores, configuration, rounds, alerts, declared certifications and green power). Every rule is in `suanli_app::incentives`, `suanli_app::partners` and `suanli_incentives`.

use crate::AppState;
use crate::api::billing::{csv, csv_response, wants_csv};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::extract::Query;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use suanli_api::incentives::{
    ApplicationOut, ApplyIn, AssignmentIn, Breach, CarryIn, CertificationIn, CertificationOut, DistrictTotalsOut, ExpertCreated, ExpertIn,
    ExpertOut, ExportQuery, GreenPowerIn, GreenPowerOut, HolidaysIn, ObjectionIn, PartnerConfig, PartnerScoreOut, ProgrammeSpec,
    ResolutionIn, ReviewIn, RoundChangeOut, RoundIn, TotalsOut,
};
use suanli_app::incentives::{ApplyRequest, DistrictTotals, Document, ProgrammeTotals};
use suanli_core::error::ErrorCode;
use suanli_core::money::Fen;
use suanli_core::time::format_rfc3339;
use suanli_incentives::Applicant;

fn app(c: &Caller) -> ApiResult<suanli_app::Caller> {
    Ok(suanli_app::Caller::of(&c.0)?)
}

/// Programmes (every role), the policy's own seeded.
#[utoipa::path(get, operation_id = "list_incentive_programmes", path = "/api/v1/incentives/programmes", tag = "incentives", security(("bearer" = [])),
    responses((status = 200, body = Vec<ProgrammeSpec>, description = "programme definitions")))]
pub async fn list_programmes(State(s): State<AppState>, _c: Caller) -> ApiResult<Json<Vec<ProgrammeSpec>>> {
    Ok(Json(s.incentives.programmes().await?))
}

/// The operator defines a programme (this policy's or another of the city's).
#[utoipa::path(post, operation_id = "create_incentive_programme", path = "/api/v1/incentives/programmes", tag = "incentives", security(("bearer" = [])),
    request_body(content = ProgrammeSpec, description = "a programme definition, as GET answers them"),
    responses((status = 201, body = ProgrammeSpec), (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn create_programme(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(p): JsonBody<ProgrammeSpec>,
) -> ApiResult<(StatusCode, Json<ProgrammeSpec>)> {
    Ok((StatusCode::CREATED, Json(s.incentives.create_programme(&app(&c)?, p).await?)))
}

/// An enterprise — a tenant, or a provider on its platform volume and data-service rank —
/// applies with its evidence, or the operator on its behalf (refused with a clear code when
/// incomplete, ineligible, over the cap, late or a duplicate; nothing is stored then).
#[utoipa::path(post, operation_id = "apply_for_incentive", path = "/api/v1/incentives/applications", tag = "incentives", security(("bearer" = [])), request_body = ApplyIn,
    responses((status = 201, body = ApplicationOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn apply(State(s): State<AppState>, c: Caller, JsonBody(b): JsonBody<ApplyIn>) -> ApiResult<(StatusCode, Json<ApplicationOut>)> {
    let mut documents = Vec::new();
    for d in b.documents {
        let body = base64::engine::general_purpose::STANDARD
            .decode(d.content_base64.as_bytes())
            .map_err(|_| ApiError::new(ErrorCode::MissingEvidence, format!("'{}' is not base64", d.kind)))?;
        documents.push(Document { kind: d.kind, name: d.name, body });
    }
    let req = ApplyRequest {
        programme: b.programme,
        project: b.project,
        cost: Fen::parse_yuan(&b.cost)?,
        requested: Fen::parse_yuan(&b.requested)?,
        declared: b.declared.unwrap_or_default(),
        documents,
        on_behalf_of: b.on_behalf_of.as_deref().map(Applicant::parse).transpose()?,
        volume_year: b.volume_year,
    };
    let a = s.incentives.apply(&app(&c)?, req).await?;
    Ok((StatusCode::CREATED, Json((&a).into())))
}

/// Applications: a tenant's own; a provider's own and those in publicity; all for the operator
/// and the regulator (every award with its evidence hashes). CSV with `?format=csv`.
#[utoipa::path(get, operation_id = "list_incentive_applications", path = "/api/v1/incentives/applications", tag = "incentives", security(("bearer" = [])), params(ExportQuery),
    responses((status = 200, body = Vec<ApplicationOut>, description = "JSON, or text/csv")))]
pub async fn list_applications(
    State(s): State<AppState>,
    c: Caller,
    headers: HeaderMap,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Response> {
    let apps = s.incentives.applications(&app(&c)?).await?;
    if wants_csv(q.format.as_deref(), &headers)? {
        let rows = apps.iter().map(|a| {
            vec![
                a.id.clone(),
                a.programme.clone(),
                a.policy.clone(),
                a.applicant.kind().into(),
                a.applicant.id().into(),
                a.project.clone(),
                a.district.clone(),
                a.stage.as_str().into(),
                a.requested.to_yuan_string(),
                a.score.map_or(String::new(), |s| format!("{s:.2}")),
                a.rank.map_or(String::new(), |r| r.to_string()),
                a.paid.to_yuan_string(),
                a.city_part.to_yuan_string(),
                a.district_part.to_yuan_string(),
                a.evidence.iter().map(|e| format!("{}:{}", e.kind, e.sha256)).collect::<Vec<_>>().join(" "),
                a.notes.join(" | "),
            ]
        });
        let head = [
            "id",
            "programme",
            "policy",
            "applicant_kind",
            "applicant_id",
            "project",
            "district",
            "stage",
            "requested",
            "score",
            "rank",
            "paid",
            "city",
            "district_part",
            "evidence",
            "notes",
        ];
        return Ok(csv_response("incentive-applications", csv(&head, rows)));
    }
    Ok(Json(apps.iter().map(ApplicationOut::from).collect::<Vec<_>>()).into_response())
}

/// One application with why it stands where it does (`suanli incentives explain`).
#[utoipa::path(get, operation_id = "get_incentive_application", path = "/api/v1/incentives/applications/{id}", tag = "incentives", security(("bearer" = [])),
    params(("id" = String, Path, description = "inc_…")), responses((status = 200, body = ApplicationOut), (status = 404, body = crate::error::Problem)))]
pub async fn get_application(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<Json<ApplicationOut>> {
    Ok(Json((&s.incentives.application(&app(&c)?, &id).await?).into()))
}

/// An expert scores an application it is assigned (signed in as itself; never its own
/// company's, once).
#[utoipa::path(post, path = "/api/v1/incentives/applications/{id}/reviews", tag = "incentives", security(("bearer" = [])), request_body = ReviewIn,
    params(("id" = String, Path, description = "inc_…")),
    responses((status = 201, body = ApplicationOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn review(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ReviewIn>,
) -> ApiResult<(StatusCode, Json<ApplicationOut>)> {
    let a = s.incentives.review(&app(&c)?, &id, b.scores).await?;
    Ok((StatusCode::CREATED, Json((&a).into())))
}

/// The operator adds an expert to the pool: a user with the expert role, who signs in with the
/// token answered here (API and web) and sees only the applications assigned to it.
#[utoipa::path(post, path = "/api/v1/incentives/experts", tag = "incentives", security(("bearer" = [])), request_body = ExpertIn,
    responses((status = 201, body = ExpertCreated), (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn add_expert(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(b): JsonBody<ExpertIn>,
) -> ApiResult<(StatusCode, Json<ExpertCreated>)> {
    let token = crate::auth::new_token(&s.ids);
    let e = s.incentives.add_expert(&app(&c)?, &b.name, &b.organisation_uscc, crate::auth::token_hash(&token)).await?;
    Ok((StatusCode::CREATED, Json(ExpertCreated { expert: (&e).into(), token })))
}

/// The expert pool (the operator and the regulator).
#[utoipa::path(get, path = "/api/v1/incentives/experts", tag = "incentives", security(("bearer" = [])),
    responses((status = 200, body = Vec<ExpertOut>), (status = 403, body = crate::error::Problem)))]
pub async fn experts(State(s): State<AppState>, c: Caller) -> ApiResult<Json<Vec<ExpertOut>>> {
    Ok(Json(s.incentives.experts(&app(&c)?).await?.iter().map(ExpertOut::from).collect()))
}

/// The operator assigns an expert from the pool to an application under review (never one who
/// works for the applicant: `conflict_of_interest`; never twice: `already_assigned`).
#[utoipa::path(post, path = "/api/v1/incentives/applications/{id}/assignments", tag = "incentives", security(("bearer" = [])), request_body = AssignmentIn,
    params(("id" = String, Path, description = "inc_…")),
    responses((status = 201, body = ApplicationOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem),
        (status = 409, body = crate::error::Problem)))]
pub async fn assign(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<AssignmentIn>,
) -> ApiResult<(StatusCode, Json<ApplicationOut>)> {
    let a = s.incentives.assign(&app(&c)?, &id, &b.expert).await?;
    Ok((StatusCode::CREATED, Json((&a).into())))
}

/// An evidence document by its SHA-256: the operator, the regulator, and an expert assigned to
/// an application that holds it.
#[utoipa::path(get, path = "/api/v1/incentives/documents/{sha256}", tag = "incentives", security(("bearer" = [])),
    params(("sha256" = String, Path, description = "the document's SHA-256")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn document(State(s): State<AppState>, c: Caller, Path(sha256): Path<String>) -> ApiResult<Response> {
    let body = s.incentives.document(&app(&c)?, &sha256).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/octet-stream")], body).into_response())
}

/// The operator ranks a programme's reviewed applications into publicity.
#[utoipa::path(post, path = "/api/v1/incentives/programmes/{code}/ranking", tag = "incentives", security(("bearer" = [])),
    params(("code" = String, Path, description = "programme code")),
    responses((status = 200, body = Vec<ApplicationOut>), (status = 409, body = crate::error::Problem)))]
pub async fn rank(State(s): State<AppState>, c: Caller, Path(code): Path<String>) -> ApiResult<Json<Vec<ApplicationOut>>> {
    Ok(Json(s.incentives.rank(&app(&c)?, &code).await?.iter().map(ApplicationOut::from).collect()))
}

/// Anyone signed in objects to an application in publicity.
#[utoipa::path(post, path = "/api/v1/incentives/applications/{id}/objections", tag = "incentives", security(("bearer" = [])), request_body = ObjectionIn,
    params(("id" = String, Path, description = "inc_…")), responses((status = 201, body = ApplicationOut), (status = 409, body = crate::error::Problem)))]
pub async fn object(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ObjectionIn>,
) -> ApiResult<(StatusCode, Json<ApplicationOut>)> {
    Ok((StatusCode::CREATED, Json((&s.incentives.object(&app(&c)?, &id, b.text).await?).into())))
}

/// The operator resolves objection `n` (0-based): upheld withdraws the application.
#[utoipa::path(post, path = "/api/v1/incentives/applications/{id}/objections/{n}/resolution", tag = "incentives", security(("bearer" = [])),
    request_body = ResolutionIn, params(("id" = String, Path, description = "inc_…"), ("n" = usize, Path, description = "objection number, from 0")),
    responses((status = 200, body = ApplicationOut), (status = 409, body = crate::error::Problem)))]
pub async fn resolve(
    State(s): State<AppState>,
    c: Caller,
    Path((id, n)): Path<(String, usize)>,
    JsonBody(b): JsonBody<ResolutionIn>,
) -> ApiResult<Json<ApplicationOut>> {
    Ok(Json((&s.incentives.resolve(&app(&c)?, &id, n, b.uphold, b.reason).await?).into()))
}

/// The operator decides after publicity: arbitration, then payment from the city's and the district's budgets.
#[utoipa::path(post, operation_id = "decide_incentive_application", path = "/api/v1/incentives/applications/{id}/decision", tag = "incentives", security(("bearer" = [])),
    params(("id" = String, Path, description = "inc_…")), responses((status = 200, body = ApplicationOut), (status = 409, body = crate::error::Problem)))]
pub async fn decide(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<Json<ApplicationOut>> {
    Ok(Json((&s.incentives.decide(&app(&c)?, &id).await?).into()))
}

fn totals_out(t: ProgrammeTotals) -> TotalsOut {
    TotalsOut {
        programme: t.programme,
        year: t.year,
        budget: t.budget.to_yuan_string(),
        applications: t.applications,
        committed: t.committed.to_yuan_string(),
        disbursed: t.disbursed.to_yuan_string(),
        city: t.city.to_yuan_string(),
        district: t.district.to_yuan_string(),
    }
}

fn district_totals_out(t: DistrictTotals) -> DistrictTotalsOut {
    DistrictTotalsOut {
        programme: t.programme,
        district: t.district,
        year: t.year,
        awards: t.awards,
        paid: t.paid.to_yuan_string(),
        city: t.city.to_yuan_string(),
        district_part: t.district_part.to_yuan_string(),
    }
}

/// Per programme this year: budget, committed, disbursed, and the city's and districts' shares;
/// with `?by=district` one row per programme and district (every role). CSV with `?format=csv`.
#[utoipa::path(get, path = "/api/v1/incentives/totals", tag = "incentives", security(("bearer" = [])), params(ExportQuery),
    responses((status = 200, body = Vec<TotalsOut>, description = "JSON (DistrictTotalsOut rows with by=district), or text/csv"), (status = 400, body = crate::error::Problem)))]
pub async fn totals(State(s): State<AppState>, _c: Caller, headers: HeaderMap, Query(q): Query<ExportQuery>) -> ApiResult<Response> {
    let now = s.ids.now_ms();
    let as_csv = wants_csv(q.format.as_deref(), &headers)?;
    match q.by.as_deref() {
        Some("district") => {
            let rows: Vec<DistrictTotalsOut> = s.incentives.totals_by_district(now).await?.into_iter().map(district_totals_out).collect();
            if as_csv {
                let head = ["programme", "district", "year", "awards", "paid", "city", "district_part"];
                let body = csv(
                    &head,
                    rows.iter().map(|r| {
                        vec![
                            r.programme.clone(),
                            r.district.clone(),
                            r.year.to_string(),
                            r.awards.to_string(),
                            r.paid.clone(),
                            r.city.clone(),
                            r.district_part.clone(),
                        ]
                    }),
                );
                return Ok(csv_response("incentive-totals-by-district", body));
            }
            Ok(Json(rows).into_response())
        }
        None | Some("programme") => {
            let rows: Vec<TotalsOut> = s.incentives.totals(now).await?.into_iter().map(totals_out).collect();
            if as_csv {
                let head = ["programme", "year", "budget", "applications", "committed", "disbursed", "city", "district"];
                let body = csv(
                    &head,
                    rows.iter().map(|r| {
                        vec![
                            r.programme.clone(),
                            r.year.to_string(),
                            r.budget.clone(),
                            r.applications.to_string(),
                            r.committed.clone(),
                            r.disbursed.clone(),
                            r.city.clone(),
                            r.district.clone(),
                        ]
                    }),
                );
                return Ok(csv_response("incentive-totals", body));
            }
            Ok(Json(rows).into_response())
        }
        Some(other) => Err(ApiError::new(ErrorCode::InvalidQuery, format!("by must be programme or district, not '{other}'"))),
    }
}

/// Every centre scored for partner selection (算力伙伴遴选) from measured data, best first (the operator and the regulator).
#[utoipa::path(get, path = "/api/v1/partners/scores", tag = "incentives", security(("bearer" = [])),
    responses((status = 200, body = Vec<PartnerScoreOut>), (status = 403, body = crate::error::Problem)))]
pub async fn partner_scores(State(s): State<AppState>, c: Caller) -> ApiResult<Json<Vec<PartnerScoreOut>>> {
    let pues = s.energy.measured_pues(s.ids.now_ms()).await;
    let (measures, scores) = s.partners.scores(&app(&c)?, &s.catalogue, &s.policy.high_performance_classes, &pues).await?;
    let by_centre: std::collections::HashMap<&str, &suanli_incentives::partner::Measures> =
        measures.iter().map(|m| (m.centre_id.as_str(), m)).collect();
    Ok(Json(
        scores
            .iter()
            .map(|sc| PartnerScoreOut { score: sc.into(), measures: by_centre.get(sc.centre_id.as_str()).map(|m| (*m).clone()) })
            .collect(),
    ))
}

/// The partner criteria's weights and thresholds in force (every role).
#[utoipa::path(get, path = "/api/v1/partners/config", tag = "incentives", security(("bearer" = [])), responses((status = 200, body = PartnerConfig)))]
pub async fn partner_config(State(s): State<AppState>, _c: Caller) -> ApiResult<Json<PartnerConfig>> {
    Ok(Json(s.partners.config().await?))
}

/// The operator sets the weights (adding up to 100) and thresholds.
#[utoipa::path(put, path = "/api/v1/partners/config", tag = "incentives", security(("bearer" = [])), request_body(content = PartnerConfig, description = "weights and thresholds, as GET answers them"),
    responses((status = 200, body = PartnerConfig), (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn set_partner_config(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(cfg): JsonBody<PartnerConfig>,
) -> ApiResult<Json<PartnerConfig>> {
    Ok(Json(s.partners.set_config(&app(&c)?, cfg).await?))
}

/// After a policy's window closed, the operator carries a programme's undecided applications to a successor programme.
#[utoipa::path(post, path = "/api/v1/incentives/programmes/{code}/carry", tag = "incentives", security(("bearer" = [])), request_body = CarryIn,
    params(("code" = String, Path, description = "the closed programme's code")),
    responses((status = 200, body = Vec<ApplicationOut>), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn carry(
    State(s): State<AppState>,
    c: Caller,
    Path(code): Path<String>,
    JsonBody(b): JsonBody<CarryIn>,
) -> ApiResult<Json<Vec<ApplicationOut>>> {
    Ok(Json(s.incentives.carry(&app(&c)?, &code, &b.to).await?.iter().map(ApplicationOut::from).collect()))
}

/// The operator runs a partner round over every centre's score; answers the changes with why.
#[utoipa::path(post, path = "/api/v1/partners/rounds", tag = "incentives", security(("bearer" = [])), request_body = RoundIn,
    responses((status = 200, body = Vec<RoundChangeOut>), (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn partner_round(State(s): State<AppState>, c: Caller, JsonBody(b): JsonBody<RoundIn>) -> ApiResult<Json<Vec<RoundChangeOut>>> {
    let kind = suanli_app::partners::RoundKind::parse(&b.kind)
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidBody, format!("kind must be admission or review, not '{}'", b.kind)))?;
    let pues = s.energy.measured_pues(s.ids.now_ms()).await;
    let changes = s.partners.round(&app(&c)?, kind, &s.catalogue, &s.policy.high_performance_classes, &pues).await?;
    s.engine.wake();
    Ok(Json(changes.into_iter().map(round_change_out).collect()))
}

/// Partners breaking the unified service standard (统一服务标准): alerts with the measured value and the limit (the operator and the regulator).
#[utoipa::path(get, path = "/api/v1/partners/alerts", tag = "incentives", security(("bearer" = [])),
    responses((status = 200, body = Vec<Breach>), (status = 403, body = crate::error::Problem)))]
pub async fn partner_alerts(State(s): State<AppState>, c: Caller) -> ApiResult<Json<Vec<Breach>>> {
    let pues = s.energy.measured_pues(s.ids.now_ms()).await;
    Ok(Json(s.partners.alerts(&app(&c)?, &s.catalogue, &s.policy.high_performance_classes, &pues).await?))
}

fn day_strings(days: &[i64]) -> Vec<String> {
    days.iter().map(|d| format_rfc3339(d * 86_400_000)[..10].to_string()).collect()
}

/// The public holidays publicity skips (every role).
#[utoipa::path(get, path = "/api/v1/incentives/holidays", tag = "incentives", security(("bearer" = [])), responses((status = 200, body = HolidaysIn)))]
pub async fn holidays(State(s): State<AppState>, _c: Caller) -> ApiResult<Json<HolidaysIn>> {
    Ok(Json(HolidaysIn { dates: day_strings(&s.incentives.holidays().await?) }))
}

/// The operator sets the public holidays (replacing the list).
#[utoipa::path(put, path = "/api/v1/incentives/holidays", tag = "incentives", security(("bearer" = [])), request_body = HolidaysIn,
    responses((status = 200, body = HolidaysIn), (status = 403, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn set_holidays(State(s): State<AppState>, c: Caller, JsonBody(b): JsonBody<HolidaysIn>) -> ApiResult<Json<HolidaysIn>> {
    let days = s.incentives.set_holidays(&app(&c)?, &b.dates).await?;
    Ok(Json(HolidaysIn { dates: day_strings(&days) }))
}

fn round_change_out(c: suanli_app::partners::RoundChange) -> RoundChangeOut {
    let reasons = c.reasons.iter().map(ToString::to_string).collect();
    RoundChangeOut { centre_id: c.centre_id, name: c.name, from: c.from, to: c.to, total: c.total, reasons, reason_details: c.reasons }
}

fn centre_id(id: &str) -> ApiResult<suanli_core::id::CentreId> {
    Ok(suanli_core::id::CentreId::parse(id)?)
}

/// A provider (its own centre) or the operator declares a certification; refused with a code, changing nothing, when invalid.
#[utoipa::path(post, path = "/api/v1/centres/{id}/certifications", tag = "incentives", security(("bearer" = [])), request_body = CertificationIn,
    params(("id" = String, Path, description = "ctr_…")),
    responses((status = 201, body = CertificationOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn declare_certification(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<CertificationIn>,
) -> ApiResult<(StatusCode, Json<CertificationOut>)> {
    let new = suanli_app::partners::NewCertification {
        kind: b.kind,
        issuer: b.issuer,
        number: b.number,
        expires_on: b.expires_on,
        document_sha256: b.document_sha256,
    };
    let cert = s.partners.declare_certification(&app(&c)?, &centre_id(&id)?, new).await?;
    Ok((StatusCode::CREATED, Json(CertificationOut { declaration: cert, in_force: true })))
}

/// A centre's declared certifications, each with whether it is in force (the operator, the regulator, the centre's provider).
#[utoipa::path(get, path = "/api/v1/centres/{id}/certifications", tag = "incentives", security(("bearer" = [])),
    params(("id" = String, Path, description = "ctr_…")),
    responses((status = 200, body = Vec<CertificationOut>), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn certifications(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<Json<Vec<CertificationOut>>> {
    let d = s.partners.declarations(&app(&c)?, &centre_id(&id)?).await?;
    Ok(Json(d.certifications.into_iter().map(|(declaration, in_force)| CertificationOut { declaration, in_force }).collect()))
}

/// A provider (its own centre) or the operator declares a green-power contract (the renewable share over a period).
#[utoipa::path(post, path = "/api/v1/centres/{id}/green-power", tag = "incentives", security(("bearer" = [])), request_body = GreenPowerIn,
    params(("id" = String, Path, description = "ctr_…")),
    responses((status = 201, body = GreenPowerOut), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn declare_green_power(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<GreenPowerIn>,
) -> ApiResult<(StatusCode, Json<GreenPowerOut>)> {
    let new =
        suanli_app::partners::NewGreenPower { share_pct: b.share_pct, evidence_sha256: b.evidence_sha256, from: b.from, until: b.until };
    let g = s.partners.declare_green_power(&app(&c)?, &centre_id(&id)?, new).await?;
    let live = g.in_force(s.ids.now_ms());
    Ok((StatusCode::CREATED, Json(GreenPowerOut { declaration: g, in_force: live })))
}

/// A centre's green-power contracts, each with whether it covers today (the operator, the regulator, the centre's provider).
#[utoipa::path(get, path = "/api/v1/centres/{id}/green-power", tag = "incentives", security(("bearer" = [])),
    params(("id" = String, Path, description = "ctr_…")),
    responses((status = 200, body = Vec<GreenPowerOut>), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
pub async fn green_power(State(s): State<AppState>, c: Caller, Path(id): Path<String>) -> ApiResult<Json<Vec<GreenPowerOut>>> {
    let d = s.partners.declarations(&app(&c)?, &centre_id(&id)?).await?;
    Ok(Json(d.green_power.into_iter().map(|(declaration, in_force)| GreenPowerOut { declaration, in_force }).collect()))
}
