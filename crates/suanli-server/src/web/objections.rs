//! An incentive application's publicity on its page: when publicity ends, the objections with how each was resolved, the form to object (`POST /incentives/applications/{id}/object`), and for the operator the forms to resolve objection N (`POST …/objections/{n}/resolve`) and to decide after publicity (`POST …/decide`), both after a confirmation. The rules are `suanli_app::incentives`'.

use super::operate::{Kept, code_of, field_error};
use super::{Lang, LangQuery, confirm, esc, gate, labels, thead_id};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::fmt::Write;
use suanli_core::ErrorCode;
use suanli_core::tenant::Role;
use suanli_incentives::{Application, Stage};

/// The publicity part of an application's page.
pub(super) fn section(lang: Lang, role: Role, a: &Application, kept: &Kept) -> String {
    let mut out = format!(r#"<h2 id="publicity">{}</h2>"#, lang.t("公示与异议", "Publicity and objections"));
    if let Some(until) = a.publicity_until {
        let _ = write!(
            out,
            r#"<p>{} <span id="publicity-until">{}</span></p>"#,
            lang.t("公示截止（北京时间）：", "Publicity ends (Beijing time):"),
            labels::when(Some(until))
        );
    }
    out.push_str(&thead_id(
        "objections",
        &[
            lang.t("序号", "No."),
            lang.t("异议", "Objection"),
            lang.t("提出人", "By"),
            lang.t("提出时间", "When"),
            lang.t("处理结果", "Resolution"),
        ],
    ));
    for (n, o) in a.objections.iter().enumerate() {
        let resolution = match &o.resolution {
            Some((upheld, reason, _, at)) => format!(
                r#"{} — <span class="user-text">{}</span> ({})"#,
                if *upheld {
                    lang.t("成立，申请撤回", "upheld, the application withdrawn")
                } else {
                    lang.t("不成立", "dismissed")
                },
                esc(reason),
                labels::when(Some(*at))
            ),
            None if role == Role::Operator => resolve_form(lang, a, n, kept),
            None => lang.t("待处理", "open").to_string(),
        };
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td><span class="user-text">{}</span></td><td>{}</td><td>{}</td><td>{resolution}</td></tr>"#,
            n + 1,
            esc(&o.text),
            super::centres::actor(lang, &o.by),
            labels::when(Some(o.at_ms)),
        );
    }
    out.push_str("</tbody></table></div>");
    if a.stage == Stage::Publicity && role != Role::Expert {
        out.push_str(&object_form(lang, a, kept));
    }
    if a.stage == Stage::Publicity && role == Role::Operator {
        let _ = write!(
            out,
            r#"<form method="post" action="/incentives/applications/{}/decide" id="decide-form">{}<p><button type="submit">{}</button></p></form>"#,
            esc(&a.id),
            kept.error("decide", ""),
            lang.t("公示期满后决定：裁决并拨付", "Decide after publicity: arbitrate, then pay"),
        );
    }
    out
}

fn object_form(lang: Lang, a: &Application, kept: &Kept) -> String {
    format!(
        r#"<form method="post" action="/incentives/applications/{id}/object" id="object-form">{top}<label for="object-text">{l}</label><textarea id="object-text" name="text" required maxlength="2000" rows="3"{inv}>{v}</textarea>{e}<p><button type="submit">{go}</button></p></form>"#,
        id = esc(&a.id),
        top = kept.error("object", ""),
        l = lang.t("提出异议（说明理由，4 至 2000 字）", "Object (give your reason, 4 to 2,000 characters)"),
        inv = kept.invalid("object", "text", "object-text"),
        v = kept.value("object", "text"),
        e = kept.error("object", "text"),
        go = lang.t("提交异议", "Submit the objection"),
    )
}

/// The operator's form for one open objection: upheld or dismissed, and why.
fn resolve_form(lang: Lang, a: &Application, n: usize, kept: &Kept) -> String {
    let form = format!("resolve-{n}");
    let upheld = kept.value(&form, "uphold") == "1";
    format!(
        r#"<form method="post" action="/incentives/applications/{id}/objections/{number}/resolve"><select id="{form}-uphold" name="uphold" aria-label="{dl}"><option value="0"{d}>{dismiss}</option><option value="1"{u}>{uphold}</option></select><label for="{form}-reason">{rl}</label><input id="{form}-reason" name="reason" required maxlength="2000" value="{v}"{inv}>{e}<button type="submit">{go}</button></form>"#,
        id = esc(&a.id),
        number = n + 1,
        dl = lang.t("处理结果", "Resolution"),
        d = if upheld { "" } else { " selected" },
        u = if upheld { " selected" } else { "" },
        dismiss = lang.t("不成立", "Dismiss"),
        uphold = lang.t("成立（撤回申请）", "Uphold (withdraw the application)"),
        rl = lang.t("理由", "Reason"),
        v = kept.value(&form, "reason"),
        inv = kept.invalid(&form, "reason", &format!("{form}-reason")),
        e = kept.error(&form, "reason"),
        go = lang.t("下一步：确认", "Next: confirm"),
    )
}

/// The application's page again with a refused form's error beside its field (403 with the
/// error at the top for a role that may not use the form).
async fn refused(s: &AppState, lang: Lang, c: &Caller, id: &str, e: &ApiError, kept: Kept) -> Response {
    let (status, top, kept) = if code_of(e) == ErrorCode::Forbidden {
        (StatusCode::FORBIDDEN, super::error_notice(lang, e), Kept::default())
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, String::new(), kept)
    };
    let (found, body) = super::review::render(s, lang, c, id, &top, &kept).await;
    let status = if found == StatusCode::OK { status } else { found };
    (status, Html(super::page(lang, lang.t("奖补申请", "Incentive application"), Some(c), &body))).into_response()
}

fn done(id: &str, what: &str) -> Response {
    Redirect::to(&format!("/incentives/applications/{id}?done={what}")).into_response()
}

/// `POST /incentives/applications/{id}/object` (form): whoever the service lets objects.
pub async fn object(State(s): State<AppState>, Path(id): Path<String>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let text = super::operate::fields(&body).remove("text").unwrap_or_default();
    let result = async {
        s.incentives.object(&suanli_app::Caller::of(&c.0)?, &id, text).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => done(&id, "objected"),
        Err(e) => {
            let field = if code_of(&e) == ErrorCode::InvalidBody { "text" } else { "" };
            let kept = Kept::new("object", &body, field, field_error(lang, &e, &format!("object-{field}")));
            refused(&s, lang, &c, &id, &e, kept).await
        }
    }
}

/// `POST /incentives/applications/{id}/objections/{n}/resolve` (form; `n` counts from 1): the
/// operator resolves an objection, after confirming.
pub async fn resolve(State(s): State<AppState>, Path((id, n)): Path<(String, usize)>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f = super::operate::fields(&body);
    let uphold = f.get("uphold").is_some_and(|v| v == "1");
    let reason = f.get("reason").cloned().unwrap_or_default();
    let index = n.saturating_sub(1);
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        if !confirm::confirmed(&body) {
            let a = s.incentives.check_resolve(&caller, &id, index, &reason).await?;
            let text = a.objections.get(index).map_or(String::new(), |o| o.text.clone());
            let facts = [
                (lang.t("申请", "Application"), format!(r#"<span class="user-text">{}</span>"#, esc(&a.project))),
                (lang.t("异议", "Objection"), format!(r#"<span class="user-text">{}</span>"#, esc(&text))),
                (
                    lang.t("处理结果", "Resolution"),
                    format!(
                        r#"<strong id="confirm-resolution">{}</strong>"#,
                        if uphold { lang.t("成立，申请撤回", "upheld: the application is withdrawn") } else { lang.t("不成立", "dismissed") }
                    ),
                ),
                (lang.t("理由", "Reason"), format!(r#"<span class="user-text">{}</span>"#, esc(reason.trim()))),
            ];
            return Ok(Some(confirm::ask(
                lang,
                &c,
                &confirm::Ask {
                    title: lang.t("确认处理此异议？", "Resolve this objection?"),
                    facts: &facts,
                    outcome: lang.t(
                        "确认后处理结果和理由记入申请，申请人和异议人都能看到；异议成立则申请撤回。处理不能撤销。",
                        "The resolution and its reason are recorded on the application for the applicant and the objector to read; an upheld objection withdraws the application. This cannot be undone.",
                    ),
                    action: &format!("/incentives/applications/{id}/objections/{n}/resolve"),
                    body: &body,
                    go: lang.t("确认处理", "Yes, resolve it"),
                    back: &format!("/incentives/applications/{id}#publicity"),
                },
            )));
        }
        s.incentives.resolve(&caller, &id, index, uphold, reason.clone()).await?;
        Ok::<_, ApiError>(None)
    }
    .await;
    match result {
        Ok(Some(r)) => r,
        Ok(None) => done(&id, "resolved"),
        Err(e) => {
            let form = format!("resolve-{index}");
            let field = if code_of(&e) == ErrorCode::InvalidBody { "reason" } else { "" };
            let kept = Kept::new(form.clone(), &body, field, field_error(lang, &e, &format!("{form}-{field}")));
            refused(&s, lang, &c, &id, &e, kept).await
        }
    }
}

/// `POST /incentives/applications/{id}/decide` (form): the operator decides after publicity,
/// after confirming: the subject's awards are arbitrated and the kept one is paid.
pub async fn decide(State(s): State<AppState>, Path(id): Path<String>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        if !confirm::confirmed(&body) {
            let a = s.incentives.check_decide(&caller, &id).await?;
            let facts = [
                (lang.t("申请", "Application"), format!(r#"<span class="user-text">{}</span>"#, esc(&a.project))),
                (lang.t("申请主体", "Applicant"), format!(r#"<span class="user-text">{}</span>"#, esc(&a.applicant_name))),
                (lang.t("申请金额", "Requested"), format!(r#"<strong id="confirm-amount">{}</strong>"#, lang.fen(a.requested))),
            ];
            return Ok(Some(confirm::ask(
                lang,
                &c,
                &confirm::Ask {
                    title: lang.t("确认决定并拨付？", "Decide and pay?"),
                    facts: &facts,
                    outcome: lang.t(
                        "确认后按“从优、就高、不重复”裁决该主体的各项奖补，保留的一项由市、区财政按比例立即拨付；决定和拨付都不能撤销。",
                        "The subject's awards are arbitrated (the higher award, never two for the same thing) and the kept one is paid at once from the city's and the district's budgets; neither can be undone.",
                    ),
                    action: &format!("/incentives/applications/{id}/decide"),
                    body: &body,
                    go: lang.t("确认决定", "Yes, decide"),
                    back: &format!("/incentives/applications/{id}#publicity"),
                },
            )));
        }
        s.incentives.decide(&caller, &id).await?;
        Ok::<_, ApiError>(None)
    }
    .await;
    match result {
        Ok(Some(r)) => r,
        Ok(None) => done(&id, "decided"),
        Err(e) => {
            let kept = Kept::new("decide", &body, "", field_error(lang, &e, "decide-"));
            refused(&s, lang, &c, &id, &e, kept).await
        }
    }
}
