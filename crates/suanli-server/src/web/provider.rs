//! A provider's own page: its centres with their pools, prices, utilisation, partner status and backend binding, and its earnings — a trend by calendar day (or month) split by centre, the split's totals, and its statements.

use super::*;
use std::collections::HashMap;
use suanli_core::centre::Centre;
use suanli_core::id::{CentreId, ProviderId};
use suanli_core::money::Fen;
use suanli_core::time::{MS_PER_DAY, format_rfc3339};
use suanli_ledger::records::Bill;

/// `GET /my-centres`: a provider's centres and earnings; other roles are told it is the provider's page.
pub async fn my_centres_page(State(s): State<AppState>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let (lang, set, c) = match gate(&s, &q, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let title = lang.t("我的算力中心", "My centres");
    let Some(provider) = c.0.provider_id.clone().filter(|_| c.role() == suanli_core::tenant::Role::Provider) else {
        let body = format!(
            r#"<h1>{title}</h1><p class="error" role="alert">{}</p><p><a href="/centres">{}</a></p>"#,
            lang.t("此页面供算力服务商查看自己的中心和收入。", "This page shows a compute provider its own centres and earnings."),
            lang.t("查看全部算力中心", "See every centre"),
        );
        return with_cookie((StatusCode::FORBIDDEN, Html(page(lang, title, Some(&c), &body))).into_response(), set);
    };
    let centres: Vec<Centre> = s.store.centres(None).await.unwrap_or_default().into_iter().filter(|x| x.provider_id == provider).collect();
    let mut body = format!("<h1>{title}</h1>");
    if centres.is_empty() {
        let _ = write!(body, "<p>{}</p>", lang.t("尚未登记算力中心。", "No centres registered yet."));
    }
    for ctr in &centres {
        body.push_str(&centre_section(&s, lang, ctr).await);
    }
    body.push_str(&earnings(&s, lang, &provider, &centres).await);
    body.push_str(&insight::provider_earnings(&s, lang, &provider).await);
    with_cookie(Html(page(lang, title, Some(&c), &body)).into_response(), set)
}

/// One centre: its facts, binding and pools.
async fn centre_section(s: &AppState, lang: Lang, ctr: &Centre) -> String {
    let now = s.ids.now_ms();
    let (_, _, per_centre) = insight::busy_now(s).await;
    let (busy, total) = per_centre.get(&ctr.id).copied().unwrap_or((0, 0));
    let binding = s.store.backend_binding(&ctr.id).await.ok().flatten();
    let (_, reach) = reach_text(s, lang, &ctr.id, now);
    let id = esc(ctr.id.as_str());
    let mut out = format!(
        r#"<h2><a href="/centres/{id}">{}</a></h2><div class='scroll'><table class="facts" id="centre-{id}"><tbody>"#,
        esc(lang.name(&ctr.name, &ctr.name_en)),
    );
    let rows = [
        (lang.t("区域", "Region"), labels::region(s, lang, &ctr.region)),
        (lang.t("类型", "Kind"), labels::centre_kind(lang, ctr.kind)),
        (
            lang.t("合作状态", "Partner status"),
            format!(r#"<span data-state="{}">{}</span>"#, ctr.partner_status.as_str(), labels::partner_status(lang, ctr.partner_status)),
        ),
        (
            lang.t("集群后端", "Cluster backend"),
            match &binding {
                Some(b) => format!(r#"<code class="user-text">{}</code> · {reach}"#, esc(&b.url)),
                None => format!("{} · {reach}", lang.t("未绑定", "not bound")),
            },
        ),
        (
            lang.t("加速卡使用率", "Accelerators in use"),
            format!("{busy} / {total} ({:.1}%)", if total == 0 { 0.0 } else { busy as f64 / total as f64 * 100.0 }),
        ),
    ];
    for (k, v) in rows {
        let _ = write!(out, r#"<tr><th scope="row">{}</th><td>{v}</td></tr>"#, esc(k));
    }
    out.push_str("</tbody></table></div>");
    let pools = s.store.pools_of(&ctr.id).await.unwrap_or_default();
    let running = s.store.busy_accelerators().await.unwrap_or_default();
    out.push_str(&thead(&[
        lang.t("加速卡型号", "Accelerator"),
        lang.t("使用中 / 总数", "Busy / total"),
        lang.t("价格（元/卡时）", "Price (¥ per accelerator-hour)"),
        lang.t("伙伴折扣", "Partner discount"),
        lang.t("伙伴价（元/卡时）", "Partner price (¥ per accelerator-hour)"),
    ]));
    for p in &pools {
        let busy: i64 = running.iter().filter(|(_, pool, _)| *pool == p.id).map(|(_, _, n)| n).sum();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{busy} / {}</td><td>{}</td><td>{}%</td><td>{}</td></tr>",
            labels::accelerator(s, &p.accelerator),
            p.capacity(),
            lang.fen(p.price_per_hour),
            p.partner_discount_pct,
            lang.fen(Fen::charge(p.price_per_hour, 1, 3600, p.partner_discount_pct)),
        );
    }
    if pools.is_empty() {
        let _ = write!(out, r#"<tr><td colspan="5">{}</td></tr>"#, lang.t("尚无资源池。", "No pools yet."));
    }
    out.push_str("</tbody></table></div>");
    out
}

/// A calendar day in Beijing time: its index since 1970-01-01 (UTC+8).
fn beijing_day(ms: i64) -> i64 {
    (ms + labels::SHANGHAI_OFFSET_MS).div_euclid(MS_PER_DAY)
}

/// The periods of the trend, by label: the last 30 calendar days (Beijing time) when the bills fit
/// in them, else the calendar months since the first bill; and whether they are months.
fn periods(first_ms: i64, now: i64) -> (Vec<String>, bool) {
    let (first, today) = (beijing_day(first_ms), beijing_day(now));
    if today - first < 30 {
        let from = today - 29;
        ((from..=today).map(|d| format_rfc3339(d * MS_PER_DAY)[5..10].to_string()).collect(), false)
    } else {
        let mut months: Vec<String> = Vec::new();
        for d in first..=today {
            let m = format_rfc3339(d * MS_PER_DAY)[..7].to_string();
            if months.last() != Some(&m) {
                months.push(m);
            }
        }
        (months, true)
    }
}

/// The label of the period a moment falls in.
fn period_of(ms: i64, monthly: bool) -> String {
    let day = format_rfc3339(beijing_day(ms) * MS_PER_DAY);
    if monthly { day[..7].to_string() } else { day[5..10].to_string() }
}

/// Earnings from job bills: the trend split by centre, and the totals per centre.
async fn earnings(s: &AppState, lang: Lang, provider: &ProviderId, centres: &[Centre]) -> String {
    let f = suanli_store::BillFilter { provider_id: Some(provider.clone()), limit: 100_000, ..Default::default() };
    let bills = s.store.bills(&f).await.unwrap_or_default();
    let mut out = format!("<h2>{}</h2>", lang.t("收入趋势（作业账单）", "Earnings over time (job bills)"));
    let Some(first) = bills.iter().map(|b| b.created_ms).min() else {
        let _ = write!(out, "<p>{}</p>", lang.t("尚无账单。", "No bills yet."));
        return out;
    };
    let now = s.ids.now_ms();
    let (labels_, monthly) = periods(first, now);
    let name_of =
        |id: &CentreId| centres.iter().find(|c| &c.id == id).map_or_else(|| id.to_string(), |c| lang.name(&c.name, &c.name_en).to_string());
    let mut order: Vec<CentreId> = centres.iter().map(|c| c.id.clone()).collect();
    let mut by: HashMap<(String, CentreId), i64> = HashMap::new();
    let mut split: HashMap<CentreId, (usize, Fen, Fen, Fen, Fen)> = HashMap::new();
    for b in &bills {
        let Some(cid) = b.centre_id.clone() else { continue };
        if !order.contains(&cid) {
            order.push(cid.clone());
        }
        *by.entry((period_of(b.created_ms, monthly), cid.clone())).or_default() += b.charge.0;
        let e = split.entry(cid).or_insert((0, Fen::ZERO, Fen::ZERO, Fen::ZERO, Fen::ZERO));
        add(e, b);
    }
    let series: Vec<(String, Vec<i64>)> = order
        .iter()
        .map(|c| (name_of(c), labels_.iter().map(|p| by.get(&(p.clone(), c.clone())).copied().unwrap_or(0)).collect()))
        .collect();
    let title = if monthly {
        lang.t("每月收入（元），按中心", "Earnings per month (yuan), by centre")
    } else {
        lang.t("近 30 天每日收入（元），按中心", "Earnings per day, last 30 days (yuan), by centre")
    };
    let x_label = if monthly {
        lang.t("月份（北京时间）", "Month (Beijing time)")
    } else {
        lang.t("日期（北京时间）", "Day (Beijing time)")
    };
    out.push_str(&chart(&suanli_charts::figure::stacked_bars("earnings", title, x_label, lang.t("元", "yuan"), 100.0, &labels_, &series)));
    out.push_str(&format!("<h3>{}</h3>", esc(lang.t("按中心", "By centre"))));
    out.push_str(&thead_id(
        "earnings-by-centre",
        &[
            lang.t("算力中心", "Centre"),
            lang.t("账单数", "Bills"),
            lang.t("金额", "Charged"),
            lang.t("算力券", "Vouchers"),
            lang.t("现金", "Cash"),
            lang.t("欠费", "Outstanding"),
        ],
    ));
    for cid in &order {
        let (n, charge, voucher, cash, owed) = split.get(cid).copied().unwrap_or((0, Fen::ZERO, Fen::ZERO, Fen::ZERO, Fen::ZERO));
        let _ = write!(
            out,
            r#"<tr data-centre="{}"><td>{}</td><td>{n}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            esc(cid.as_str()),
            esc(&name_of(cid)),
            lang.fen(charge),
            lang.fen(voucher),
            lang.fen(cash),
            lang.fen(owed),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

fn add(e: &mut (usize, Fen, Fen, Fen, Fen), b: &Bill) {
    e.0 += 1;
    e.1 = Fen(e.1.0 + b.charge.0);
    e.2 = Fen(e.2.0 + b.voucher.0);
    e.3 = Fen(e.3.0 + b.cash.0);
    e.4 = Fen(e.4.0 + b.outstanding.0);
}
