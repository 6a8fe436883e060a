//! A centre's certifications (等保三级 and the others the partner criteria count) and green-power contracts on the centre's page: each with whether it counts now, for the operator, the regulator and the centre's provider; and the forms that declare new ones (`POST /centres/{id}/certifications`, `POST /centres/{id}/green-power`, `multipart/form-data`) for the provider of the centre and the operator, the document's SHA-256 computed from an uploaded file or given directly. The rules are `suanli_app::partners`'.

use super::operate::{Kept, code_of, field_error};
use super::{Lang, LangQuery, esc, gate, thead_id, upload};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use sha2::Digest;
use std::fmt::Write;
use suanli_app::partners::{NewCertification, NewGreenPower};
use suanli_core::ErrorCode;
use suanli_core::centre::Centre;
use suanli_incentives::certification::CertificationKind;

/// Whether a declaration counts now, in words.
fn counts(lang: Lang, live: bool) -> &'static str {
    if live {
        lang.t("有效", "counts now")
    } else {
        lang.t("不计入（已过期或未开始）", "does not count (expired or not begun)")
    }
}

/// A certification kind by its label.
fn kind_label(lang: Lang, k: CertificationKind) -> &'static str {
    lang.t(k.title().0, k.title().1)
}

/// The centre's declarations and, for whoever may declare, the forms (nothing for a caller who
/// may not read them).
pub(super) async fn section(s: &AppState, lang: Lang, c: &Caller, ctr: &Centre, kept: &Kept) -> String {
    let Ok(caller) = suanli_app::Caller::of(&c.0) else { return String::new() };
    let Ok(d) = s.partners.declarations(&caller, &ctr.id).await else { return String::new() };
    let may_declare = s.partners.declarable(&caller, &ctr.id).await.is_ok();
    let mut out =
        format!(r#"<h2 id="certifications">{}</h2>"#, lang.t("认证（计入算力伙伴评分）", "Certifications (counted in the partner scores)"));
    out.push_str(&thead_id(
        "certification-list",
        &[
            lang.t("认证", "Certification"),
            lang.t("发证机构", "Issuer"),
            lang.t("证书编号", "Number"),
            lang.t("有效期至", "Valid until"),
            lang.t("证书文件 SHA-256", "Document SHA-256"),
            lang.t("是否计入", "Counts"),
        ],
    ));
    for (cert, live) in &d.certifications {
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td><span class="user-text">{}</span></td><td><code>{}</code></td><td>{}</td><td><code>{}…</code></td><td>{}</td></tr>"#,
            esc(kind_label(lang, cert.kind)),
            esc(&cert.issuer),
            esc(&cert.number),
            esc(&cert.expires_on),
            esc(&cert.document_sha256[..12.min(cert.document_sha256.len())]),
            counts(lang, *live),
        );
    }
    out.push_str("</tbody></table></div>");
    if may_declare {
        out.push_str(&certification_form(lang, ctr, kept));
    }
    let _ = write!(out, r#"<h2 id="green-power">{}</h2>"#, lang.t("绿电合同", "Green-power contracts"));
    out.push_str(&thead_id(
        "green-power-list",
        &[
            lang.t("绿电占比", "Renewable share"),
            lang.t("起始日", "From"),
            lang.t("截止日", "Until"),
            lang.t("证明文件 SHA-256", "Evidence SHA-256"),
            lang.t("是否计入", "Counts"),
        ],
    ));
    for (g, live) in &d.green_power {
        let _ = write!(
            out,
            r#"<tr><td>{:.1}%</td><td>{}</td><td>{}</td><td><code>{}…</code></td><td>{}</td></tr>"#,
            g.share_pct,
            esc(&g.from),
            esc(&g.until),
            esc(&g.evidence_sha256[..12.min(g.evidence_sha256.len())]),
            counts(lang, *live),
        );
    }
    out.push_str("</tbody></table></div>");
    if may_declare {
        out.push_str(&green_power_form(lang, ctr, kept));
    }
    out
}

/// The document: a file to hash here, or its SHA-256.
fn document_inputs(lang: Lang, kept: &Kept, form: &str) -> String {
    format!(
        r#"<label for="{form}-file">{f}</label><input type="file" id="{form}-file" name="file">{sha}"#,
        f = lang.t("文件（在此计算 SHA-256，文件不上传保存）", "The file (its SHA-256 is computed here; the file is not kept)"),
        sha =
            kept.input(form, "sha256", lang.t("或直接填写其 SHA-256", "or its SHA-256 directly"), r#" maxlength="64" spellcheck="false""#),
    )
}

fn certification_form(lang: Lang, ctr: &Centre, kept: &Kept) -> String {
    const F: &str = "certify";
    let chosen = kept.value(F, "kind");
    let mut kinds = String::new();
    for k in CertificationKind::ALL {
        let sel = if chosen == k.as_str() { " selected" } else { "" };
        let _ = write!(kinds, r#"<option value="{}"{sel}>{}</option>"#, k.as_str(), esc(kind_label(lang, k)));
    }
    format!(
        r#"<form method="post" action="/centres/{id}/certifications" enctype="multipart/form-data" id="certify-form"><h3>{h}</h3>{top}<label for="certify-kind">{kl}</label><select id="certify-kind" name="kind"{ki}>{kinds}</select>{ke}{issuer}{number}{expires}{doc}<p><button type="submit">{go}</button></p></form>"#,
        id = esc(ctr.id.as_str()),
        h = lang.t("申报认证", "Declare a certification"),
        top = kept.error(F, ""),
        kl = lang.t("认证", "Certification"),
        ki = kept.invalid(F, "kind", "certify-kind"),
        ke = kept.error(F, "kind"),
        issuer = kept.input(F, "issuer", lang.t("发证机构", "Issuer"), r#" required maxlength="200""#),
        number = kept.input(F, "number", lang.t("证书编号", "Certificate number"), r#" required maxlength="200""#),
        expires = kept.input(F, "expires_on", lang.t("有效期最后一天", "Last day it is valid"), r#" type="date" required"#),
        doc = document_inputs(lang, kept, F),
        go = lang.t("申报", "Declare"),
    )
}

fn green_power_form(lang: Lang, ctr: &Centre, kept: &Kept) -> String {
    const F: &str = "green";
    format!(
        r#"<form method="post" action="/centres/{id}/green-power" enctype="multipart/form-data" id="green-form"><h3>{h}</h3>{top}{share}{from}{until}{doc}<p><button type="submit">{go}</button></p></form>"#,
        id = esc(ctr.id.as_str()),
        h = lang.t("申报绿电合同", "Declare a green-power contract"),
        top = kept.error(F, ""),
        share = kept.input(
            F,
            "share_pct",
            lang.t("绿电占中心用电的百分比（0–100）", "Percent of the centre's energy from renewables (0-100)"),
            r#" required inputmode="decimal" placeholder="60""#
        ),
        from = kept.input(F, "from", lang.t("合同起始日", "First day covered"), r#" type="date" required"#),
        until = kept.input(F, "until", lang.t("合同截止日", "Last day covered"), r#" type="date" required"#),
        doc = document_inputs(lang, kept, F),
        go = lang.t("申报", "Declare"),
    )
}

/// The form's parts, its text fields as a urlencoded body (what [`Kept`] keeps), and the
/// SHA-256 of its file when one was chosen, else the one typed.
fn read(headers: &HeaderMap, body: &[u8]) -> (Vec<upload::Part>, String, String) {
    let boundary = upload::boundary(headers);
    let parts = boundary.and_then(|b| upload::parts(body, &b)).unwrap_or_default();
    let file = parts.iter().find(|p| p.name == "file" && p.filename.as_deref().is_some_and(|f| !f.is_empty()) && !p.body.is_empty());
    let sha = file.map_or_else(|| upload::field(&parts, "sha256"), |f| hex::encode(sha2::Sha256::digest(&f.body)));
    let typed = upload::urlencoded(&parts);
    (parts, typed, sha)
}

/// The centre's page again with the refusal beside its field, or at the top (403) for a caller
/// who may not declare.
async fn refused(s: &AppState, lang: Lang, c: &Caller, id: &str, e: &ApiError, kept: Kept) -> Response {
    let (status, top, kept) = if code_of(e) == ErrorCode::Forbidden {
        (StatusCode::FORBIDDEN, super::error_notice(lang, e), Kept::default())
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, String::new(), kept)
    };
    let mut r = super::render_centre(s, lang, c, id, &top, &kept).await;
    if r.status() == StatusCode::OK {
        *r.status_mut() = status;
    }
    r
}

/// `POST /centres/{id}/certifications` (upload form): the centre's provider or the operator
/// declares a certification.
pub async fn certify(State(s): State<AppState>, Path(id): Path<String>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (parts, typed, sha) = read(&headers, &body);
    let new = NewCertification {
        kind: upload::field(&parts, "kind"),
        issuer: upload::field(&parts, "issuer"),
        number: upload::field(&parts, "number"),
        expires_on: upload::field(&parts, "expires_on"),
        document_sha256: sha,
    };
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        s.partners.declare_certification(&caller, &suanli_core::id::CentreId::parse(&id)?, new).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/centres/{id}?done=certified#certifications")).into_response(),
        Err(e) => {
            let field = match (code_of(&e), &e) {
                (ErrorCode::InvalidSha256, _) => "sha256",
                (ErrorCode::CertificationExpired | ErrorCode::InvalidDate, _) => "expires_on",
                (ErrorCode::InvalidCertification, ApiError::Domain(d)) if d.message.contains("issuer") => "issuer",
                (ErrorCode::InvalidCertification, ApiError::Domain(d)) if d.message.contains("number") => "number",
                (ErrorCode::InvalidCertification, _) => "kind",
                _ => "",
            };
            refused(&s, lang, &c, &id, &e, Kept::new("certify", &typed, field, field_error(lang, &e, &format!("certify-{field}")))).await
        }
    }
}

/// `POST /centres/{id}/green-power` (upload form): the centre's provider or the operator
/// declares a green-power contract.
pub async fn green_power(State(s): State<AppState>, Path(id): Path<String>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let (parts, typed, sha) = read(&headers, &body);
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let share = upload::field(&parts, "share_pct");
        let share_pct = share
            .trim()
            .parse::<f64>()
            .map_err(|_| ApiError::new(ErrorCode::InvalidShare, format!("a renewable share is a percentage, not '{}'", share.trim())))?;
        let new =
            NewGreenPower { share_pct, evidence_sha256: sha, from: upload::field(&parts, "from"), until: upload::field(&parts, "until") };
        s.partners.declare_green_power(&caller, &suanli_core::id::CentreId::parse(&id)?, new).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/centres/{id}?done=green#green-power")).into_response(),
        Err(e) => {
            let field = match code_of(&e) {
                ErrorCode::InvalidSha256 => "sha256",
                ErrorCode::InvalidShare => "share_pct",
                ErrorCode::InvalidPeriod => "until",
                ErrorCode::InvalidDate => "from",
                _ => "",
            };
            refused(&s, lang, &c, &id, &e, Kept::new("green", &typed, field, field_error(lang, &e, &format!("green-{field}")))).await
        }
    }
}
