//! `GET /incentives/applications/{id}`: one incentive application — its facts, evidence and the programme's criteria — with the expert's scoring form (`POST …/review`) for an expert assigned to it, the assignment form (`POST …/assign`) with the experts assigned and their scores for the operator, and its publicity with objections (`objections.rs`); every enterprise may open one in publicity. The rules are `suanli_app::incentives`'.

use super::operate::Kept;
use super::{Lang, LangQuery, error_notice, esc, gate, page, thead, with_cookie};
use crate::AppState;
use crate::error::ApiError;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use suanli_core::error::ErrorCode;
use suanli_incentives::{Application, ProgrammeSpec, Stage};

#[derive(Debug, serde::Deserialize)]
pub struct PageQuery {
    pub lang: Option<String>,
    pub done: Option<String>,
}

/// `GET /incentives/applications/{id}`.
pub async fn application_page(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let (lang, set, c) = match gate(&s, &LangQuery { lang: q.lang.clone() }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let done = match q.done.as_deref() {
        Some("scored") => format!(r#"<p class="ok" role="status">{}</p>"#, lang.t("评分已提交。", "Your scores are recorded.")),
        Some("assigned") => format!(r#"<p class="ok" role="status">{}</p>"#, lang.t("专家已分配。", "The expert is assigned.")),
        Some("applied") => format!(
            r#"<p class="ok" role="status">{}</p>"#,
            lang.t("申请已提交，等待专家评审。", "The application is in; it waits for the experts' review.")
        ),
        Some("objected") => format!(
            r#"<p class="ok" role="status">{}</p>"#,
            lang.t("异议已提交，运营方将处理。", "Your objection is recorded; the operator will resolve it.")
        ),
        Some("resolved") => format!(r#"<p class="ok" role="status">{}</p>"#, lang.t("异议已处理。", "The objection is resolved.")),
        Some("decided") => format!(r#"<p class="ok" role="status">{}</p>"#, lang.t("已作出决定。", "The decision is made.")),
        _ => String::new(),
    };
    let (status, body) = render(&s, lang, &c, &id, &done, &Kept::default()).await;
    with_cookie((status, Html(page(lang, lang.t("奖补申请", "Incentive application"), Some(&c), &body))).into_response(), set)
}

/// The page's body (or why it cannot be shown), with a refused form's input and error kept.
pub(super) async fn render(s: &AppState, lang: Lang, c: &crate::auth::Caller, id: &str, notice: &str, kept: &Kept) -> (StatusCode, String) {
    let found = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let a = s.incentives.application(&caller, id).await?;
        let p = s.incentives.programmes().await?.into_iter().find(|p| p.code == a.programme);
        Ok::<_, ApiError>((caller, a, p))
    }
    .await;
    let (caller, a, p) = match found {
        Ok((caller, a, Some(p))) => (caller, a, p),
        Ok((_, a, None)) => return (StatusCode::INTERNAL_SERVER_ERROR, format!("<p>{}</p>", esc(&a.programme))),
        Err(e) => {
            let status = if matches!(&e, ApiError::Domain(d) if d.code == ErrorCode::IncentiveApplicationNotFound) {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::FORBIDDEN
            };
            return (status, format!("<h1>{}</h1>{}", lang.t("奖补申请", "Incentive application"), error_notice(lang, &e)));
        }
    };
    let mut body = format!("<h1>{}</h1>{notice}", esc(&a.project));
    facts(&mut body, lang, &a, &p);
    match caller {
        suanli_app::Caller::Expert { user } => scoring(&mut body, lang, &a, &p, user.as_str()),
        suanli_app::Caller::Operator { .. } => {
            assignments(&mut body, lang, &a, &p);
            let experts = s.incentives.experts(&caller).await.unwrap_or_default();
            assign_form(&mut body, lang, &a, &experts);
        }
        _ => assignments(&mut body, lang, &a, &p),
    }
    body.push_str(&super::objections::section(lang, c.0.role, &a, kept));
    (StatusCode::OK, body)
}

fn facts(body: &mut String, lang: Lang, a: &Application, p: &ProgrammeSpec) {
    let _ = write!(
        body,
        r#"<table class="facts"><tbody><tr><th scope="row">{}</th><td>{}</td></tr><tr><th scope="row">{}</th><td>{}</td></tr><tr><th scope="row">{}</th><td>{}</td></tr><tr><th scope="row">{}</th><td>{}</td></tr><tr><th scope="row">{}</th><td>{}</td></tr></tbody></table>"#,
        lang.t("项目", "Programme"),
        esc(lang.name(&p.title, &p.title_en)),
        lang.t("申请主体", "Applicant"),
        esc(&a.applicant_name),
        lang.t("申请金额", "Requested"),
        lang.fen(a.requested),
        lang.t("阶段", "Stage"),
        super::labels::stage(lang, a.stage),
        lang.t("说明", "Why"),
        super::labels::application_why(lang, a),
    );
    let _ = write!(body, "<h2>{}</h2>", lang.t("证明材料", "Evidence"));
    body.push_str(&thead(&[lang.t("类型", "Kind"), lang.t("文件", "File"), "SHA-256"]));
    for e in &a.evidence {
        let _ = write!(
            body,
            r#"<tr><td>{}</td><td><span class="user-text" translate="no">{}</span></td><td><code>{}</code></td></tr>"#,
            super::labels::evidence_kind(lang, &e.kind),
            esc(&e.name),
            esc(&e.sha256)
        );
    }
    body.push_str("</tbody></table></div>");
}

/// The expert's own scores, or the form to give them while the application is under review.
fn scoring(body: &mut String, lang: Lang, a: &Application, p: &ProgrammeSpec, me: &str) {
    let _ = write!(body, r#"<h2 id="score">{}</h2>"#, lang.t("评分", "Your scores"));
    if let Some(r) = a.reviews.iter().find(|r| r.expert_id.as_deref() == Some(me)) {
        body.push_str(&thead(&[lang.t("评审标准", "Criterion"), lang.t("权重", "Weight"), lang.t("评分", "Score")]));
        for c in &p.criteria {
            let given = r.scores.get(&c.key).map_or("-".to_string(), |v| format!("{v:.0}"));
            let _ = write!(body, "<tr><td>{}</td><td>{}%</td><td>{given}</td></tr>", esc(lang.name(&c.title, &c.key)), c.weight);
        }
        body.push_str("</tbody></table></div>");
        let _ = write!(body, "<p>{} {:.2}</p>", lang.t("加权总分：", "Weighted total:"), r.total(p));
        return;
    }
    if a.stage != Stage::UnderReview {
        let _ = write!(body, "<p>{}</p>", lang.t("该申请已不在评审阶段。", "This application is no longer under review."));
        return;
    }
    let _ = write!(
        body,
        r#"<p>{}</p><form method="post" action="/incentives/applications/{id}/review">"#,
        lang.t(
            "按项目评审标准逐项打分（0–100），提交后不可修改。",
            "Score each of the programme's criteria from 0 to 100; a submitted score cannot be changed."
        ),
        id = esc(&a.id),
    );
    for c in &p.criteria {
        let _ = write!(
            body,
            r#"<label for="score_{k}">{t} ({w}%)</label><input id="score_{k}" name="score_{k}" type="number" min="0" max="100" step="1" required>"#,
            k = esc(&c.key),
            t = esc(lang.name(&c.title, &c.key)),
            w = c.weight,
        );
    }
    let _ = write!(body, r#"<p><button type="submit">{}</button></p></form>"#, lang.t("提交评分", "Submit scores"));
}

/// The experts assigned and the scores given (the operator and the regulator see them all).
fn assignments(body: &mut String, lang: Lang, a: &Application, p: &ProgrammeSpec) {
    let _ = write!(body, r#"<h2 id="experts">{}</h2>"#, lang.t("评审专家", "Experts assigned"));
    if a.assigned.is_empty() {
        let _ = write!(body, "<p>{}</p>", lang.t("尚未分配专家。", "No expert assigned yet."));
        return;
    }
    body.push_str(&thead(&[lang.t("专家", "Expert"), lang.t("加权总分", "Weighted total")]));
    for x in &a.assigned {
        let total = a.reviews.iter().find(|r| r.expert_id.as_deref() == Some(x.expert.as_str())).map(|r| r.total(p));
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td></tr>",
            esc(&x.name),
            total.map_or(lang.t("未评分", "not scored yet").to_string(), |t| format!("{t:.2}"))
        );
    }
    body.push_str("</tbody></table></div>");
}

fn assign_form(body: &mut String, lang: Lang, a: &Application, experts: &[suanli_incentives::Expert]) {
    if a.stage != Stage::UnderReview || experts.is_empty() {
        return;
    }
    let _ = write!(
        body,
        r#"<form method="post" action="/incentives/applications/{}/assign"><label for="expert">{}</label><select id="expert" name="expert">"#,
        esc(&a.id),
        lang.t("从专家库分配专家", "Assign an expert from the pool")
    );
    for x in experts.iter().filter(|x| !a.assigned.iter().any(|y| y.expert == x.id)) {
        let _ = write!(body, r#"<option value="{}">{}</option>"#, esc(&x.id), esc(&x.name));
    }
    let _ = write!(body, r#"</select><p><button type="submit">{}</button></p></form>"#, lang.t("分配", "Assign"));
}

/// The scores from a form's `score_<criterion>` fields.
fn scores_of(form: &str) -> Result<BTreeMap<String, f64>, ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(form).map_err(|e| ApiError::new(ErrorCode::InvalidBody, e.to_string()))?;
    let mut out = BTreeMap::new();
    for (k, v) in pairs {
        let Some(key) = k.strip_prefix("score_") else { continue };
        let v: f64 =
            v.trim().parse().map_err(|_| ApiError::new(ErrorCode::InvalidReview, format!("'{key}' needs a number from 0 to 100")))?;
        out.insert(key.to_string(), v);
    }
    Ok(out)
}

/// `POST /incentives/applications/{id}/review` (form): an expert submits its scores.
pub async fn review(State(s): State<AppState>, Path(id): Path<String>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = async {
        let scores = scores_of(&body)?;
        s.incentives.review(&suanli_app::Caller::of(&c.0)?, &id, scores).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    refused_or(&s, lang, &c, &id, result, "scored").await
}

#[derive(Debug, serde::Deserialize)]
struct AssignForm {
    expert: String,
}

/// `POST /incentives/applications/{id}/assign` (form): the operator assigns an expert.
pub async fn assign(State(s): State<AppState>, Path(id): Path<String>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = async {
        let f = serde_urlencoded::from_str::<AssignForm>(&body).map_err(|e| ApiError::new(ErrorCode::InvalidBody, e.to_string()))?;
        s.incentives.assign(&suanli_app::Caller::of(&c.0)?, &id, &f.expert).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    refused_or(&s, lang, &c, &id, result, "assigned").await
}

/// Back to the application's page when done; the page again with the refusal beside the form otherwise.
async fn refused_or(s: &AppState, lang: Lang, c: &crate::auth::Caller, id: &str, result: Result<(), ApiError>, done: &str) -> Response {
    match result {
        Ok(()) => Redirect::to(&format!("/incentives/applications/{id}?done={done}")).into_response(),
        Err(e) => {
            let (_, body) = render(s, lang, c, id, &error_notice(lang, &e), &Kept::default()).await;
            (StatusCode::UNPROCESSABLE_ENTITY, Html(page(lang, lang.t("奖补申请", "Incentive application"), Some(c), &body)))
                .into_response()
        }
    }
}
