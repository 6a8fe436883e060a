//! The operator's programme steps on the incentives page: ranking a programme's reviewed applications into publicity (`POST /incentives/programmes/{code}/rank`) and carrying a closed programme's undecided applications to a successor (`POST /incentives/programmes/carry`), each after a confirmation; and the expert pool with the form that adds an expert (`POST /incentives/experts`), whose token is shown once. The rules are `suanli_app::incentives`'.

use super::operate::{Kept, code_of, field_error};
use super::{Lang, LangQuery, confirm, esc, gate, labels, thead_id};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::fmt::Write;
use suanli_core::ErrorCode;
use suanli_incentives::{Expert, ProgrammeSpec};

/// A `<select>` of the programmes by their titles, the kept one selected.
fn programme_select(lang: Lang, kept: &Kept, form: &str, name: &str, label: &str, programmes: &[ProgrammeSpec]) -> String {
    let choices: Vec<(String, String)> =
        programmes.iter().map(|p| (p.code.clone(), lang.name(&p.title, &p.title_en).to_string())).collect();
    kept.select(form, name, label, &choices)
}

/// The operator's forms: rank a programme, carry a closed one, and the expert pool.
pub(super) fn operator_section(lang: Lang, programmes: &[ProgrammeSpec], experts: &[Expert], kept: &Kept) -> String {
    let mut out = format!(r#"<h2 id="steps">{}</h2>"#, lang.t("项目操作", "Programme steps"));
    let _ = write!(
        out,
        r#"<form method="post" action="/incentives/programmes/rank" id="rank-form">{sel}<p><button type="submit">{go}</button></p></form>"#,
        sel = programme_select(
            lang,
            kept,
            "rank",
            "programme",
            lang.t("将已评审的申请排名并进入公示", "Rank the reviewed applications into publicity"),
            programmes
        ),
        go = lang.t("下一步：确认排名", "Next: confirm the ranking"),
    );
    let _ = write!(
        out,
        r#"<form method="post" action="/incentives/programmes/carry" id="carry-form">{from}{to}<p><button type="submit">{go}</button></p></form>"#,
        from = programme_select(lang, kept, "carry", "from", lang.t("已结束的项目", "The closed programme"), programmes),
        to = programme_select(lang, kept, "carry", "to", lang.t("转入的后续项目", "The successor it carries to"), programmes),
        go = lang.t("下一步：确认结转", "Next: confirm the carry-over"),
    );
    out.push_str(&experts_section(lang, experts, kept));
    out
}

/// The expert pool and the form that adds one.
fn experts_section(lang: Lang, experts: &[Expert], kept: &Kept) -> String {
    let mut out = format!(r#"<h2 id="experts">{}</h2>"#, lang.t("评审专家库", "The expert pool"));
    out.push_str(&thead_id(
        "expert-pool",
        &[lang.t("姓名", "Name"), lang.t("单位统一社会信用代码", "Employer's credit code"), lang.t("加入时间", "Joined")],
    ));
    for x in experts {
        let _ = write!(
            out,
            r#"<tr><td><span class="user-text">{}</span></td><td><code>{}</code></td><td>{}</td></tr>"#,
            esc(&x.name),
            esc(&x.organisation_uscc),
            labels::when(Some(x.created_ms)),
        );
    }
    out.push_str("</tbody></table></div>");
    let _ = write!(
        out,
        r#"<form method="post" action="/incentives/experts" id="expert-form">{top}<label for="expert-name">{n}</label><input id="expert-name" name="name" required maxlength="100" value="{nv}"{ni}>{ne}<label for="expert-organisation">{o}</label><input id="expert-organisation" name="organisation" required maxlength="18" placeholder="91330106MA27XY7K92" value="{ov}"{oi}>{oe}<p><button type="submit">{go}</button></p></form>"#,
        top = kept.error("expert", ""),
        n = lang.t("姓名", "Name"),
        o = lang.t("所在单位的统一社会信用代码", "Its employer's unified social credit code"),
        nv = kept.value("expert", "name"),
        ni = kept.invalid("expert", "name", "expert-name"),
        ne = kept.error("expert", "name"),
        ov = kept.value("expert", "organisation"),
        oi = kept.invalid("expert", "organisation", "expert-organisation"),
        oe = kept.error("expert", "organisation"),
        go = lang.t("加入专家库", "Add to the pool"),
    );
    out
}

fn form(body: &str) -> std::collections::HashMap<String, String> {
    super::operate::fields(body)
}

/// The page again with a refused form's error beside its field; a role that may not use the
/// form at all gets the error at the top (403).
async fn refused(s: &AppState, lang: Lang, c: &Caller, e: &ApiError, kept: Kept) -> Response {
    if code_of(e) == ErrorCode::Forbidden {
        return (StatusCode::FORBIDDEN, super::incentives::render(s, lang, c, &super::error_notice(lang, e), &Kept::default()).await)
            .into_response();
    }
    (StatusCode::UNPROCESSABLE_ENTITY, super::incentives::render(s, lang, c, "", &kept).await).into_response()
}

/// The page with what was done at the top.
async fn done(s: &AppState, lang: Lang, c: &Caller, what: &str) -> Response {
    let top = format!(r#"<p class="ok" role="status">{}</p>"#, esc(what));
    super::incentives::render(s, lang, c, &top, &Kept::default()).await.into_response()
}

/// `POST /incentives/programmes/rank` (form): the operator ranks a programme, after confirming.
pub async fn rank(State(s): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let code = form(&body).remove("programme").unwrap_or_default();
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        if !confirm::confirmed(&body) {
            let (p, ready) = s.incentives.check_rank(&caller, &code).await?;
            let facts = [
                (lang.t("项目", "Programme"), esc(lang.name(&p.title, &p.title_en))),
                (lang.t("已完成评审的申请", "Applications with their reviews"), format!(r#"<strong id="confirm-count">{ready}</strong>"#)),
                (lang.t("年度名额", "Quota a year"), p.quota_per_year.map_or("-".to_string(), |q| q.to_string())),
                (lang.t("年度预算", "Budget a year"), lang.fen(p.budget_per_year)),
            ];
            return Ok(confirm::ask(
                lang,
                &c,
                &confirm::Ask {
                    title: lang.t("确认排名并进入公示？", "Rank them into publicity?"),
                    facts: &facts,
                    outcome: lang.t(
                        "确认后按评分在名额和预算内排名：入选的申请进入五个工作日的公示，其余为未入选；排名不能撤销。",
                        "They are ranked by score within the quota and the budget left: those chosen go into five working days of publicity, the rest are not selected; a ranking cannot be undone.",
                    ),
                    action: "/incentives/programmes/rank",
                    body: &body,
                    go: lang.t("确认排名", "Yes, rank them"),
                    back: "/incentives#steps",
                },
            ));
        }
        let ranked = s.incentives.rank(&caller, &code).await?;
        let chosen = ranked.iter().filter(|a| a.stage == suanli_incentives::Stage::Publicity).count();
        let what = match lang {
            Lang::Zh => format!("已排名 {} 份申请，其中 {chosen} 份进入公示。", ranked.len()),
            Lang::En => format!("Ranked {} applications; {chosen} went into publicity.", ranked.len()),
        };
        Ok::<_, ApiError>(done(&s, lang, &c, &what).await)
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => {
            let kept = Kept::new("rank", &body, "programme", field_error(lang, &e, "rank-programme"));
            refused(&s, lang, &c, &e, kept).await
        }
    }
}

/// `POST /incentives/programmes/carry` (form): the operator carries a closed programme's
/// undecided applications to a successor, after confirming.
pub async fn carry(State(s): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut f = form(&body);
    let (from, to) = (f.remove("from").unwrap_or_default(), f.remove("to").unwrap_or_default());
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        if !confirm::confirmed(&body) {
            let (old, new, n) = s.incentives.check_carry(&caller, &from, &to).await?;
            let facts = [
                (lang.t("已结束的项目", "The closed programme"), esc(lang.name(&old.title, &old.title_en))),
                (lang.t("转入项目", "The successor"), esc(lang.name(&new.title, &new.title_en))),
                (lang.t("未决定的申请", "Undecided applications"), format!(r#"<strong id="confirm-count">{n}</strong>"#)),
            ];
            return Ok(confirm::ask(
                lang,
                &c,
                &confirm::Ask {
                    title: lang.t("确认结转未决定的申请？", "Carry the undecided applications over?"),
                    facts: &facts,
                    outcome: lang.t(
                        "确认后评审中和公示中的申请转入后续项目并回到评审阶段（评审标准相同则保留评分）；已向后续项目申报过的保持不动。结转不能撤销。",
                        "Applications under review or in publicity move to the successor and go back to review (keeping their scores when the criteria are the same); any whose subject already applied to the successor stays. A carry-over cannot be undone.",
                    ),
                    action: "/incentives/programmes/carry",
                    body: &body,
                    go: lang.t("确认结转", "Yes, carry them over"),
                    back: "/incentives#steps",
                },
            ));
        }
        let moved = s.incentives.carry(&caller, &from, &to).await?;
        let what = match lang {
            Lang::Zh => format!("已结转 {} 份申请。", moved.len()),
            Lang::En => format!("Carried {} applications over.", moved.len()),
        };
        Ok::<_, ApiError>(done(&s, lang, &c, &what).await)
    }
    .await;
    match result {
        Ok(r) => r,
        Err(e) => {
            let field = if code_of(&e) == ErrorCode::ProgrammeClosed { "to" } else { "from" };
            let kept = Kept::new("carry", &body, field, field_error(lang, &e, &format!("carry-{field}")));
            refused(&s, lang, &c, &e, kept).await
        }
    }
}

/// `POST /incentives/experts` (form): the operator adds an expert; its token is shown once.
pub async fn add_expert(State(s): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let f = form(&body);
    let (name, org) = (f.get("name").cloned().unwrap_or_default(), f.get("organisation").cloned().unwrap_or_default());
    let token = crate::auth::new_token(&s.ids);
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        Ok::<_, ApiError>(s.incentives.add_expert(&caller, &name, &org, crate::auth::token_hash(&token)).await?)
    }
    .await;
    match result {
        Ok(x) => {
            let top = format!(
                r#"<p class="ok" role="status">{} <code id="new-token">{}</code></p>"#,
                esc(&format!(
                    "{} {} — {}",
                    lang.t("已加入专家库：", "Added to the pool:"),
                    x.name,
                    lang.t(
                        "请立即把登录令牌交给该专家，令牌只显示这一次：",
                        "give the expert its sign-in token now; it is shown only this once:"
                    )
                )),
                esc(&token)
            );
            super::incentives::render(&s, lang, &c, &top, &Kept::default()).await.into_response()
        }
        Err(e) => {
            let field = match code_of(&e) {
                ErrorCode::InvalidUscc => "organisation",
                ErrorCode::InvalidName => "name",
                _ => "",
            };
            let kept = Kept::new("expert", &body, field, field_error(lang, &e, &format!("expert-{field}")));
            refused(&s, lang, &c, &e, kept).await
        }
    }
}
