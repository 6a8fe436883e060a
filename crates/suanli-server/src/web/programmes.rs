//! The operator's voucher programmes on the vouchers page: the programmes with their state, a form that opens a year's programme (Hangzhou's rules as the defaults) and a button that closes one, each asked for again on a confirmation page before money moves; a refused form comes back with its error beside the field and what was typed kept.

use super::operate::{Kept, code_of, field_error, fields, money_moves, refused};
use super::*;
use crate::error::ApiError;
use suanli_app::vouchers::ProgrammeDraft;
use suanli_core::ErrorCode;
use suanli_core::id::ProgrammeId;
use suanli_ledger::records::ProgrammeState;
use suanli_ledger::voucher::ProgrammeRules;

/// The programmes table (with a close button on an open one) and the form that opens one.
pub(super) async fn section(s: &AppState, lang: Lang, kept: &Kept) -> String {
    let mut programmes = s.store.programmes().await.unwrap_or_default();
    programmes.sort_by_key(|p| std::cmp::Reverse(p.rules.year));
    let mut html = format!(
        "<h2 id=\"programmes\">{}</h2>{}",
        lang.t("算力券计划", "Voucher programmes"),
        thead_id(
            "programme-list",
            &[lang.t("年度", "Year"), lang.t("名称", "Name"), lang.t("预算", "Budget"), lang.t("状态", "State"), lang.t("操作", "Action")]
        )
    );
    for p in &programmes {
        let action = if p.state == ProgrammeState::Open {
            format!(
                r#"<form method="post" action="/vouchers/programmes/{id}/close"><button type="submit" class="danger" id="close-{id}">{}</button></form>{}"#,
                lang.t("结束计划", "Close"),
                kept.error(&format!("close-{}", p.id), "programme"),
                id = esc(p.id.as_str()),
            )
        } else {
            String::new()
        };
        let state = match p.state {
            ProgrammeState::Open => lang.t("进行中", "Open"),
            ProgrammeState::Closed => lang.t("已结束", "Closed"),
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{state}</td><td>{action}</td></tr>",
            p.rules.year,
            esc(&p.name),
            lang.fen(p.rules.budget)
        );
    }
    html.push_str("</tbody></table></div>");
    html.push_str(&open_form(lang, s, kept, &programmes));
    html
}

fn open_form(lang: Lang, s: &AppState, kept: &Kept, programmes: &[suanli_ledger::records::Programme]) -> String {
    // The year after the newest programme's, with Hangzhou's rules, unless a refused form is kept.
    let this_year = suanli_core::time::civil_from_days((s.ids.now_ms() + 8 * 3_600_000).div_euclid(86_400_000)).0 as i32;
    let year = programmes.iter().map(|p| p.rules.year).max().map_or(this_year, |y| y + 1);
    let d = ProgrammeRules::hangzhou(year);
    let value = |name: &str, default: String| if kept.is("programme") { kept.value("programme", name) } else { esc(&default) };
    let checked = |name: &str, default: bool| {
        let on = if kept.is("programme") { kept.value("programme", name) == "1" } else { default };
        if on { " checked" } else { "" }
    };
    let input = |name: &str, label: &str, v: String, mode: &str| {
        let id = format!("programme-{name}");
        format!(
            r#"<label for="{id}">{}</label><input id="{id}" name="{name}" inputmode="{mode}" required value="{v}"{}>{}"#,
            esc(label),
            kept.invalid("programme", name, &id),
            kept.error("programme", name)
        )
    };
    let check = |name: &str, label: &str, default: bool| {
        let id = format!("programme-{name}");
        format!(
            r#"<p><input id="{id}" name="{name}" type="checkbox" value="1"{}> <label for="{id}">{}</label></p>"#,
            checked(name, default),
            esc(label)
        )
    };
    let mut form = format!(
        r#"<h3>{}</h3><form method="post" action="/vouchers/programmes" id="open-programme">"#,
        lang.t("开启新计划", "Open a programme")
    );
    form.push_str(&input("year", lang.t("年度", "Year"), value("year", year.to_string()), "numeric"));
    let name_id = "programme-name";
    let _ = write!(
        form,
        r#"<label for="{name_id}">{}</label><input id="{name_id}" name="name" maxlength="200" value="{}"{}>{}"#,
        lang.t("名称（可选）", "Name (optional)"),
        value("name", String::new()),
        kept.invalid("programme", "name", name_id),
        kept.error("programme", "name")
    );
    // The programme's rules, each prefilled with Hangzhou's default or what was typed.
    for (name, label, default, mode) in rule_fields(lang, &d) {
        form.push_str(&input(name, label, value(name, default), mode));
    }
    form.push_str(&check("sme_only", lang.t("仅限中小企业", "Small and medium enterprises only"), d.sme_only));
    form.push_str(&check("partner_only", lang.t("仅在合作伙伴中心使用", "Spent at partner centres only"), d.partner_only));
    let _ = write!(
        form,
        r#"<p><button type="submit" id="open-programme-submit">{}</button></p></form>"#,
        lang.t("开启计划", "Open the programme")
    );
    form
}

/// The rules' fields: (name, label, the default, the input mode).
fn rule_fields(lang: Lang, d: &ProgrammeRules) -> [(&'static str, &'static str, String, &'static str); 7] {
    [
        ("budget", lang.t("由市财政划入的预算（元）", "Budget from the city treasury (¥)"), d.budget.to_yuan_string(), "decimal"),
        (
            "ratio_domestic_pct",
            lang.t("国产算力补贴比例（%）", "Share paid on domestic accelerators (%)"),
            d.ratio_domestic_pct.to_string(),
            "numeric",
        ),
        (
            "ratio_other_pct",
            lang.t("其他算力补贴比例（%）", "Share paid on other accelerators (%)"),
            d.ratio_other_pct.to_string(),
            "numeric",
        ),
        (
            "ratio_model_calls_pct",
            lang.t("模型调用补贴比例（%）", "Share paid on model calls (%)"),
            d.ratio_model_calls_pct.to_string(),
            "numeric",
        ),
        ("ratio_data_pct", lang.t("数据服务补贴比例（%）", "Share paid on data (%)"), d.ratio_data_pct.to_string(), "numeric"),
        ("cap_per_enterprise", lang.t("每家企业上限（元）", "Cap per enterprise (¥)"), d.cap_per_enterprise.to_yuan_string(), "decimal"),
        (
            "division_prefix",
            lang.t("注册地行政区划代码前缀", "Division code prefix of the credit code"),
            d.division_prefix.clone(),
            "numeric",
        ),
    ]
}

/// The field a refusal of the open form is about.
fn field_at_fault(e: &ApiError) -> &'static str {
    let msg = match e {
        ApiError::Domain(d) => d.message.as_str(),
        ApiError::Internal(_) => "",
    };
    match code_of(e) {
        ErrorCode::InvalidName => "name",
        ErrorCode::InvalidRatio => ["ratio_other_pct", "ratio_model_calls_pct", "ratio_data_pct"]
            .into_iter()
            .find(|f| msg.contains(f))
            .unwrap_or("ratio_domestic_pct"),
        ErrorCode::InvalidAmount if msg.contains("cap") => "cap_per_enterprise",
        ErrorCode::InvalidAmount => "budget",
        _ if msg.contains("division") => "division_prefix",
        _ if msg.contains("cap") => "cap_per_enterprise",
        _ if msg.contains("budget") => "budget",
        _ => "year",
    }
}

fn draft_of(body: &str) -> Result<ProgrammeDraft, ApiError> {
    let f = fields(body);
    let get = |k: &str| f.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let pct = |k: &str| -> Result<Option<u8>, ApiError> {
        get(k)
            .map(|v| v.parse::<u8>().map_err(|_| ApiError::new(ErrorCode::InvalidRatio, format!("{k} '{v}' is not a whole percentage"))))
            .transpose()
    };
    let year = get("year").unwrap_or_default();
    Ok(ProgrammeDraft {
        year: year.parse().map_err(|_| ApiError::new(ErrorCode::InvalidDate, format!("year '{year}' is not a year")))?,
        name: get("name"),
        budget: get("budget"),
        ratio_domestic_pct: pct("ratio_domestic_pct")?,
        ratio_other_pct: pct("ratio_other_pct")?,
        ratio_model_calls_pct: pct("ratio_model_calls_pct")?,
        ratio_data_pct: pct("ratio_data_pct")?,
        cap_per_enterprise: get("cap_per_enterprise"),
        sme_only: Some(f.contains_key("sme_only")),
        division_prefix: Some(get("division_prefix").unwrap_or_default()),
        partner_only: Some(f.contains_key("partner_only")),
    })
}

/// `POST /vouchers/programmes` (form): the operator opens a year's programme, after a
/// confirmation of its budget and rules (`confirmed=1`).
pub async fn open(State(s): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let checked = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        suanli_app::vouchers::operator_only(&caller, "opening a voucher programme")?;
        let draft = draft_of(&body)?;
        let rules = suanli_app::Vouchers::rules_of(&draft)?;
        rules.validate()?;
        Ok::<_, ApiError>((caller, draft, rules))
    }
    .await;
    let result = match checked {
        Ok((caller, draft, rules)) if confirm::confirmed(&body) => {
            s.vouchers.open_programme(&caller, rules, draft.name).await.map(|_| ()).map_err(ApiError::from)
        }
        Ok((_, draft, r)) => {
            let yes_no = |b: bool| if b { lang.t("是", "yes") } else { lang.t("否", "no") }.to_string();
            let facts = [
                (lang.t("年度", "Year"), r.year.to_string()),
                (lang.t("名称", "Name"), esc(draft.name.as_deref().unwrap_or(lang.t("（默认）", "(default)")))),
                (lang.t("由市财政划入预算", "Budget from the city treasury"), lang.fen(r.budget)),
                (
                    lang.t("补贴比例：国产 / 其他 / 模型 / 数据", "Shares: domestic / other / models / data"),
                    format!("{}% / {}% / {}% / {}%", r.ratio_domestic_pct, r.ratio_other_pct, r.ratio_model_calls_pct, r.ratio_data_pct),
                ),
                (lang.t("每家企业上限", "Cap per enterprise"), lang.fen(r.cap_per_enterprise)),
                (lang.t("仅限中小企业", "Small and medium enterprises only"), yes_no(r.sme_only)),
                (lang.t("行政区划代码前缀", "Division code prefix"), esc(&r.division_prefix)),
                (lang.t("仅在合作伙伴中心使用", "Partner centres only"), yes_no(r.partner_only)),
            ];
            return confirm::ask(
                lang,
                &c,
                &confirm::Ask {
                    title: lang.t("确认开启算力券计划？", "Open this voucher programme?"),
                    facts: &facts,
                    outcome: money_moves(lang),
                    action: "/vouchers/programmes",
                    body: &body,
                    go: lang.t("确认开启", "Open it"),
                    back: "/vouchers#programmes",
                },
            );
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Redirect::to("/vouchers?done=programme-opened#programmes").into_response(),
        Err(e) => {
            let field = field_at_fault(&e);
            refused(&s, lang, &c, &e, Kept::new("programme", &body, field, field_error(lang, &e, &format!("programme-{field}")))).await
        }
    }
}

/// `POST /vouchers/programmes/{id}/close` (form): the operator closes a programme, after a
/// confirmation (vouchers not yet spent expire back to its budget).
pub async fn close(
    State(s): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let (lang, _, c) = match gate(&s, &LangQuery { lang: None }, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let result = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        suanli_app::vouchers::operator_only(&caller, "closing a voucher programme")?;
        let pid = ProgrammeId::parse(&id)?;
        let p = s
            .store
            .programme(&pid)
            .await?
            .ok_or_else(|| ApiError::new(ErrorCode::ProgrammeNotFound, format!("no voucher programme {pid}")))?;
        if !confirm::confirmed(&body) {
            let facts = [
                (lang.t("年度", "Year"), p.rules.year.to_string()),
                (lang.t("名称", "Name"), esc(&p.name)),
                (lang.t("预算", "Budget"), lang.fen(p.rules.budget)),
                (
                    lang.t("结束之后", "Once closed"),
                    lang.t(
                        "不再受理申请，未使用的算力券作废并退回预算。",
                        "no applications are taken, and unspent vouchers expire back to the budget.",
                    )
                    .to_string(),
                ),
            ];
            let action = format!("/vouchers/programmes/{}/close", esc(&id));
            return Ok(Some(confirm::ask(
                lang,
                &c,
                &confirm::Ask {
                    title: lang.t("确认结束算力券计划？", "Close this voucher programme?"),
                    facts: &facts,
                    outcome: lang
                        .t("确认后计划立即结束，不能撤销。", "The programme closes as soon as you confirm; this cannot be undone."),
                    action: &action,
                    body: &body,
                    go: lang.t("确认结束", "Close it"),
                    back: "/vouchers#programmes",
                },
            )));
        }
        s.vouchers.close_programme(&caller, &pid).await?;
        Ok::<_, ApiError>(None)
    }
    .await;
    match result {
        Ok(Some(page)) => page,
        Ok(None) => Redirect::to("/vouchers?done=programme-closed#programmes").into_response(),
        Err(e) => {
            refused(&s, lang, &c, &e, Kept::new(format!("close-{id}"), "", "programme", field_error(lang, &e, &format!("close-{id}"))))
                .await
        }
    }
}
