//! A bill's page: what the job was quoted and metered, the accelerator-hours, the billing rule in words, the voucher and cash parts to the fen, the job and enterprise, and whether the provider has been settled, for those the money service lets read it.

use super::{Lang, LangQuery, esc, gate, labels, page, with_cookie};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use std::fmt::Write;
use suanli_core::id::BillId;
use suanli_core::money::Fen;
use suanli_ledger::records::Bill;
use suanli_ledger::voucher::ChargeRule;

/// `GET /bills/{id}`: the bill, if the money service lets the caller read it (its enterprise,
/// the provider whose centre ran the job, the operator, the regulator); else a 404 page that
/// does not say whether it exists.
pub async fn bill_page(State(s): State<AppState>, Path(id): Path<String>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let (lang, set, c) = match gate(&s, &q, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let found = async {
        let caller = suanli_app::Caller::of(&c.0)?;
        let bill = s.money.bill(&caller, &BillId::parse(&id)?).await?;
        Ok::<_, crate::error::ApiError>(bill)
    }
    .await;
    let title = lang.t("账单", "Bill");
    let response = match found {
        Ok(bill) => Html(page(lang, title, Some(&c), &render(&s, lang, &bill).await)).into_response(),
        Err(crate::error::ApiError::Internal(m)) => {
            tracing::error!(error = %m, bill = %id, "a bill's page could not be read");
            super::failure::server_error(lang)
        }
        Err(e) => {
            let body = format!("<h1>{}</h1>{}", lang.t("找不到账单", "No such bill"), super::error_notice(lang, &e));
            (StatusCode::NOT_FOUND, Html(page(lang, title, Some(&c), &body))).into_response()
        }
    };
    with_cookie(response, set)
}

/// The bill's lines as a table of facts, and the rule that decided it in a sentence.
async fn render(s: &AppState, lang: Lang, b: &Bill) -> String {
    let job = s.store.job(&b.job_id).await.ok().flatten();
    let decision = s.jobs.decision(&b.job_id).await.ok().flatten().map(crate::dto::DecisionOut::from);
    let quoted = decision.and_then(|d| Fen::parse_yuan(&d.chosen.compute_cost).ok());
    let tenant = s.store.tenant(&b.tenant_id).await.ok().flatten().map(|t| lang.name(&t.name, &t.name_en).to_string());
    let provider = match &b.provider_id {
        Some(p) => s.store.provider(p).await.ok().flatten().map(|p| lang.name(&p.name, &p.name_en).to_string()),
        None => None,
    };
    let centre = match &b.centre_id {
        Some(id) => s.store.centre(id).await.ok().flatten().map(|c| (id.to_string(), lang.name(&c.name, &c.name_en).to_string())),
        None => None,
    };
    let programme = match &b.programme_id {
        Some(p) => s.store.programme(p).await.ok().flatten().map(|p| p.name),
        None => None,
    };
    let job_name = job.as_ref().map_or_else(|| b.job_id.to_string(), |j| j.spec.name.clone());
    let acc_hours = b.usage_s as f64 * f64::from(b.accelerators) / 3600.0;
    let dash = || "-".to_string();
    let rows: Vec<(&str, &str, String)> = vec![
        ("bill-id", lang.t("账单编号", "Bill id"), esc(b.id.as_str())),
        ("job", lang.t("作业", "Job"), format!(r#"<a href="/jobs/{id}" title="{id}">{}</a>"#, esc(&job_name), id = esc(b.job_id.as_str()))),
        ("tenant", lang.t("企业", "Enterprise"), tenant.map_or_else(dash, |t| esc(&t))),
        (
            "centre",
            lang.t("算力中心", "Centre"),
            centre.map_or_else(dash, |(id, n)| format!(r#"<a href="/centres/{id}">{}</a>"#, esc(&n), id = esc(&id))),
        ),
        ("provider", lang.t("算力服务商", "Provider"), provider.map_or_else(dash, |p| esc(&p))),
        ("quoted", lang.t("报价（所在资源池）", "Quoted (for its pool)"), quoted.map_or_else(dash, |f| lang.fen(f))),
        (
            "metered",
            lang.t("按用量计价", "Metered at the pool's price"),
            job.as_ref().and_then(|j| j.cost).map_or_else(dash, |f| lang.fen(f)),
        ),
        ("acc-hours", lang.t("卡时", "Accelerator-hours"), accelerator_hours(lang, acc_hours, b.accelerators, b.usage_s)),
        ("price", lang.t("单价（元/卡时）", "Price (¥ per accelerator-hour)"), lang.fen(b.price_per_hour)),
        ("discount", lang.t("折扣", "Discount"), format!("{}%", b.discount_pct)),
        ("rule", lang.t("计费规则", "Billing rule"), labels::charge_rule(lang, b.rule).to_string()),
        ("charge", lang.t("账单金额", "Billed"), lang.fen(b.charge)),
        ("voucher", lang.t("算力券支付", "Paid by voucher"), voucher_part(lang, b, programme.as_deref())),
        ("cash", lang.t("现金支付", "Paid in cash"), lang.fen(b.cash)),
        ("outstanding", lang.t("未付（现金余额不足）", "Unpaid (cash balance too low)"), lang.fen(b.outstanding)),
        ("settled", lang.t("与服务商结算", "Settled with the provider"), settled(lang, b)),
        ("created", lang.t("出账时间", "Billed at"), labels::when(Some(b.created_ms))),
        ("started", lang.t("开始时间", "Started"), labels::when(job.as_ref().and_then(|j| j.started_ms))),
        ("finished", lang.t("结束时间", "Finished"), labels::when(job.as_ref().and_then(|j| j.finished_ms))),
    ];
    let mut body = format!("<h1>{}</h1><p id=\"bill-rule\">{}</p>", lang.t("账单", "Bill"), rule_sentence(lang, b));
    body.push_str(r#"<div class="scroll"><table class="facts" id="bill"><tbody>"#);
    for (id, k, v) in rows {
        let _ = write!(body, r#"<tr id="bill-{id}"><th scope="row">{k}</th><td>{v}</td></tr>"#);
    }
    body.push_str("</tbody></table></div>");
    body
}

/// "12.50 卡时（8 卡 × 1.56 小时）".
fn accelerator_hours(lang: Lang, acc_hours: f64, accelerators: u32, usage_s: i64) -> String {
    let h = usage_s as f64 / 3600.0;
    match lang {
        Lang::Zh => format!("{acc_hours:.2} 卡时（{accelerators} 卡 × {h:.2} 小时）"),
        Lang::En => format!("{acc_hours:.2} accelerator-hours ({accelerators} × {h:.2} h)"),
    }
}

/// What the vouchers paid, their share of the bill, and the programme they came from.
fn voucher_part(lang: Lang, b: &Bill, programme: Option<&str>) -> String {
    let share = match lang {
        Lang::Zh => format!("（比例 {}%）", b.ratio_pct),
        Lang::En => format!(" ({}% ratio)", b.ratio_pct),
    };
    let from = programme.map_or(String::new(), |p| format!(" · <span class=\"user-text\">{}</span>", esc(p)));
    format!("{}{share}{from}", lang.fen(b.voucher))
}

/// Whether the provider has been paid for this bill (it is on a settlement statement).
fn settled(lang: Lang, b: &Bill) -> String {
    match &b.statement_id {
        Some(st) => format!(r#"<span title="{}">{}</span>"#, esc(st.as_str()), lang.t("已结算", "settled")),
        None => lang.t("尚未结算", "not settled yet").to_string(),
    }
}

/// The billing rule in a sentence: what was charged for and how the bill was paid.
fn rule_sentence(lang: Lang, b: &Bill) -> String {
    let charges = !matches!(b.rule, ChargeRule::CentreFault | ChargeRule::NeverRan);
    let rule = labels::charge_rule(lang, b.rule);
    match (lang, charges) {
        (Lang::Zh, true) => format!(
            "{rule}：卡时 × 单价 {}/卡时{}，共 {}；其中算力券支付 {}，现金支付 {}。",
            lang.fen(b.price_per_hour),
            if b.discount_pct > 0 { format!("，折扣 {}%", b.discount_pct) } else { String::new() },
            lang.fen(b.charge),
            lang.fen(b.voucher),
            lang.fen(b.cash)
        ),
        (Lang::En, true) => format!(
            "{rule}: accelerator-hours × {} per accelerator-hour{}: {} in all; vouchers paid {} and cash {}",
            lang.fen(b.price_per_hour),
            if b.discount_pct > 0 { format!(", less {}%", b.discount_pct) } else { String::new() },
            lang.fen(b.charge),
            lang.fen(b.voucher),
            lang.fen(b.cash)
        ),
        (Lang::Zh, false) => format!("{rule}：账单金额 {}，企业无需支付。", lang.fen(b.charge)),
        (Lang::En, false) => format!("{rule}: the bill is {} and the enterprise pays nothing", lang.fen(b.charge)),
    }
}

/// The link to a bill from a job's page.
pub(super) fn link(lang: Lang, b: &Bill) -> String {
    format!(r#"<a id="bill-link" href="/bills/{id}" title="{id}">{}</a>"#, lang.t("查看账单", "see the bill"), id = esc(b.id.as_str()))
}
