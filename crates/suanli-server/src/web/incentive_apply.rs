//! The incentives page's application form (`POST /incentives/applications`, `multipart/form-data`): a tenant or a provider applies for itself, the operator on behalf of one — the programme, the project, the eligible cost and the amount asked, the completed year judged, the declared facts, and up to three evidence documents uploaded as files. A refusal comes back beside its field with the input kept (files are chosen again); the rules are `suanli_app::incentives`'.

use super::operate::{Kept, code_of, field_error};
use super::{Lang, LangQuery, esc, gate, labels, upload};
use crate::AppState;
use crate::error::ApiError;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use std::fmt::Write;
use suanli_app::incentives::{ApplyRequest, Document};
use suanli_core::ErrorCode;
use suanli_core::money::Fen;
use suanli_core::tenant::Role;
use suanli_incentives::programme::Rule;
use suanli_incentives::{Applicant, Facts, ProgrammeSpec};

/// The form's id, as [`Kept`] knows it.
const FORM: &str = "apply";
/// Evidence documents one form carries.
const DOCUMENTS: usize = 3;

/// Whether a role applies from the web: an enterprise for itself, the operator for one.
pub(super) fn may_apply(role: Role) -> bool {
    matches!(role, Role::Tenant | Role::Provider | Role::Operator)
}

fn input(kept: &Kept, name: &str, label: &str, attrs: &str) -> String {
    kept.input(FORM, name, label, attrs)
}

/// The form (nothing for a role that does not apply). `applicants`: for the operator, the
/// tenants and providers it may apply for, as `(id, name)`.
pub(super) fn form(lang: Lang, role: Role, programmes: &[ProgrammeSpec], applicants: &[(String, String)], kept: &Kept) -> String {
    if !may_apply(role) {
        return String::new();
    }
    let mut out = format!(
        r#"<h2 id="apply">{}</h2><p>{}</p>"#,
        lang.t("申报奖补", "Apply for an incentive"),
        lang.t(
            "选择项目并上传其要求的证明材料（见上表“证明材料”列，每份不超过 8 MB）；金额以元为单位，精确到分。",
            "Choose a programme and upload the evidence it asks for (the Evidence column above; each file at most 8 MiB); amounts in yuan, to the fen."
        )
    );
    if kept.is(FORM) {
        out.push_str(kept.error(FORM, ""));
    }
    out.push_str(r#"<form method="post" action="/incentives/applications" enctype="multipart/form-data" id="apply-form">"#);
    if role == Role::Operator {
        out.push_str(&kept.select(FORM, "on_behalf_of", lang.t("代为申报的企业或服务商", "Apply on behalf of"), applicants));
    }
    let choices: Vec<(String, String)> =
        programmes.iter().map(|p| (p.code.clone(), lang.name(&p.title, &p.title_en).to_string())).collect();
    out.push_str(&kept.select(FORM, "programme", lang.t("项目", "Programme"), &choices));
    out.push_str(&input(
        kept,
        "project",
        lang.t("申报内容（项目名称或认定称号）", "Project (or the recognition's title)"),
        r#" required maxlength="200""#,
    ));
    out.push_str(&input(
        kept,
        "cost",
        lang.t("符合条件的投入（元）", "Eligible cost or investment (yuan)"),
        r#" required inputmode="decimal" placeholder="1000000.00""#,
    ));
    out.push_str(&input(
        kept,
        "requested",
        lang.t("申请金额（元）", "Amount asked (yuan)"),
        r#" required inputmode="decimal" placeholder="300000.00""#,
    ));
    out.push_str(&input(
        kept,
        "volume_year",
        lang.t(
            "按哪一完整年度的平台交易额与排名评审（空为上一年度）",
            "The completed year whose platform volume and rank count (empty: last year)",
        ),
        r#" inputmode="numeric" maxlength="4" placeholder="2025""#,
    ));
    out.push_str(&declared(lang, programmes, kept));
    out.push_str(&documents(lang, programmes, kept));
    let _ = write!(out, r#"<p><button type="submit">{}</button></p></form>"#, lang.t("提交申请", "Submit the application"));
    out
}

/// The declared facts: the model's parameters, its evaluation rank, the first recognitions the
/// programmes ask for, and an excellent performance evaluation.
fn declared(lang: Lang, programmes: &[ProgrammeSpec], kept: &Kept) -> String {
    let mut out = format!(
        r#"<fieldset id="apply-declared"><legend>{}</legend>"#,
        lang.t("申报事实（按项目要求填写）", "Declared facts (as the programme asks)")
    );
    out.push_str(&input(
        kept,
        "parameters_b",
        lang.t("模型参数量（十亿）", "Model parameters (billions)"),
        r#" inputmode="decimal" placeholder="70""#,
    ));
    out.push_str(&input(
        kept,
        "evaluation_rank",
        lang.t("权威评测排名", "Rank in an authoritative evaluation"),
        r#" inputmode="numeric" placeholder="3""#,
    ));
    let mut titles: Vec<&str> = programmes
        .iter()
        .flat_map(|p| p.rules.iter())
        .filter_map(|r| match r {
            Rule::FirstRecognition { title } => Some(title.as_str()),
            _ => None,
        })
        .collect();
    titles.dedup();
    for (i, t) in titles.iter().enumerate() {
        let checked = if kept.value(FORM, &format!("recognition_{i}")) == "1" { " checked" } else { "" };
        let _ = write!(
            out,
            r#"<input type="checkbox" id="apply-recognition-{i}" name="recognition_{i}" value="1"{checked}><label class="inline" for="apply-recognition-{i}">{} <span class="user-text">{}</span></label><br><input type="hidden" name="recognition_{i}_title" value="{}">"#,
            lang.t("首次获评", "First recognised as"),
            esc(t),
            esc(t),
        );
    }
    let checked = if kept.value(FORM, "excellent_evaluation") == "1" { " checked" } else { "" };
    let _ = write!(
        out,
        r#"<input type="checkbox" id="apply-excellent" name="excellent_evaluation" value="1"{checked}><label class="inline" for="apply-excellent">{}</label></fieldset>"#,
        lang.t("绩效评价为优秀", "Rated excellent in its performance evaluation"),
    );
    out
}

/// Up to three documents: each its kind (the programmes' evidence, by their labels) and its file.
fn documents(lang: Lang, programmes: &[ProgrammeSpec], kept: &Kept) -> String {
    let mut kinds: Vec<&str> = Vec::new();
    for k in programmes.iter().flat_map(|p| p.evidence.iter()) {
        if !kinds.contains(&k.as_str()) {
            kinds.push(k);
        }
    }
    let mut out = format!(
        r#"<fieldset id="apply-documents"{}><legend>{}</legend>"#,
        kept.invalid(FORM, "documents", "apply-documents"),
        lang.t("证明材料（文件）", "Evidence (files)")
    );
    for n in 1..=DOCUMENTS {
        let chosen = kept.value(FORM, &format!("doc_kind_{n}"));
        let _ = write!(
            out,
            r#"<label for="apply-doc-kind-{n}">{} {n}</label><select id="apply-doc-kind-{n}" name="doc_kind_{n}">"#,
            lang.t("材料类型", "Kind of document")
        );
        for (i, k) in kinds.iter().enumerate() {
            let sel = if chosen == esc(k) || (chosen.is_empty() && i + 1 == n) { " selected" } else { "" };
            let _ = write!(out, r#"<option value="{}"{sel}>{}</option>"#, esc(k), labels::evidence_kind(lang, k));
        }
        let _ = write!(
            out,
            r#"</select><label for="apply-doc-file-{n}">{} {n}</label><input type="file" id="apply-doc-file-{n}" name="doc_file_{n}">"#,
            lang.t("文件", "File")
        );
    }
    if kept.is(FORM) && !kept.error(FORM, "documents").is_empty() {
        out.push_str(kept.error(FORM, "documents"));
    } else if kept.is(FORM) {
        let _ = write!(out, "<p>{}</p>", lang.t("请重新选择文件。", "Choose the files again."));
    }
    out.push_str("</fieldset>");
    out
}

/// The field of the form a refusal of the application is about (`""`: the form as a whole).
fn field_of(e: &ApiError) -> &'static str {
    match code_of(e) {
        ErrorCode::IncentiveProgrammeNotFound | ErrorCode::ProgrammeClosed | ErrorCode::NotEligible => "programme",
        ErrorCode::InvalidName | ErrorCode::DuplicateApplication => "project",
        ErrorCode::CapExceeded => "requested",
        ErrorCode::MissingEvidence => "documents",
        ErrorCode::InvalidVolumeYear => "volume_year",
        ErrorCode::TenantNotFound | ErrorCode::ProviderNotFound => "on_behalf_of",
        _ => "",
    }
}

/// The form's text fields as a urlencoded body (what [`Kept`] keeps), and its files.
fn read(parts: &[upload::Part]) -> (String, Vec<Document>) {
    let mut docs = Vec::new();
    for n in 1..=DOCUMENTS {
        let file = parts.iter().find(|p| p.name == format!("doc_file_{n}") && p.filename.as_deref().is_some_and(|f| !f.is_empty()));
        if let Some(f) = file {
            let kind = upload::field(parts, &format!("doc_kind_{n}"));
            docs.push(Document { kind, name: f.filename.clone().unwrap_or_default(), body: f.body.clone() });
        }
    }
    (upload::urlencoded(parts), docs)
}

/// A number the form may leave empty, or the field at fault.
fn optional<T: std::str::FromStr>(
    parts: &[upload::Part],
    name: &'static str,
    code: ErrorCode,
    why: &str,
) -> Result<Option<T>, (&'static str, ApiError)> {
    let v = upload::field(parts, name);
    if v.trim().is_empty() {
        return Ok(None);
    }
    v.trim().parse().map(Some).map_err(|_| (name, ApiError::new(code, why.to_string())))
}

/// What the form asks for, or the field at fault.
fn request(parts: &[upload::Part], documents: Vec<Document>) -> Result<ApplyRequest, (&'static str, ApiError)> {
    let yuan = |name: &'static str| Fen::parse_yuan(upload::field(parts, name).trim()).map_err(|e| (name, ApiError::from(e)));
    let recognitions = (0..50)
        .filter(|i| upload::field(parts, &format!("recognition_{i}")) == "1")
        .map(|i| upload::field(parts, &format!("recognition_{i}_title")))
        .collect();
    let declared = Facts {
        parameters_b: optional(parts, "parameters_b", ErrorCode::InvalidBody, "the parameters are a number of billions")?,
        evaluation_rank: optional(parts, "evaluation_rank", ErrorCode::InvalidBody, "the rank is a whole number")?,
        first_recognitions: recognitions,
        excellent_evaluation: upload::field(parts, "excellent_evaluation") == "1",
        ..Facts::default()
    };
    let on_behalf_of = Some(upload::field(parts, "on_behalf_of")).filter(|v| !v.trim().is_empty());
    Ok(ApplyRequest {
        programme: upload::field(parts, "programme"),
        project: upload::field(parts, "project"),
        cost: yuan("cost")?,
        requested: yuan("requested")?,
        declared,
        documents,
        on_behalf_of: on_behalf_of.as_deref().map(Applicant::parse).transpose().map_err(|e| ("on_behalf_of", ApiError::from(e)))?,
        volume_year: optional(parts, "volume_year", ErrorCode::InvalidVolumeYear, "the year is four digits, like 2025")?,
    })
}

/// `POST /incentives/applications` (upload form): the application is made, or the page
/// comes back with the refusal beside its field and the input kept.
pub async fn apply(State(s): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let boundary = upload::boundary(&headers);
    let parts = boundary.and_then(|b| upload::parts(&body, &b)).unwrap_or_default();
    let (typed, documents) = read(&parts);
    let result = async {
        let caller = suanli_app::Caller::of(&c.0).map_err(|e| ("", ApiError::from(e)))?;
        let req = request(&parts, documents)?;
        s.incentives.apply(&caller, req).await.map_err(|e| {
            let e = ApiError::from(e);
            (field_of(&e), e)
        })
    }
    .await;
    match result {
        Ok(a) => Redirect::to(&format!("/incentives/applications/{}?done=applied", a.id)).into_response(),
        Err((field, e)) => {
            let forbidden = code_of(&e) == ErrorCode::Forbidden;
            let kept =
                if forbidden { Kept::default() } else { Kept::new(FORM, &typed, field, field_error(lang, &e, &format!("apply-{field}"))) };
            let top = if forbidden { super::error_notice(lang, &e) } else { String::new() };
            let status = if forbidden { StatusCode::FORBIDDEN } else { StatusCode::UNPROCESSABLE_ENTITY };
            (status, super::incentives::render(&s, lang, &c, &top, &kept).await).into_response()
        }
    }
}
