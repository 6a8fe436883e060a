//! A provider's own page: its centres in one table (pools, prices, utilisation, partner status and backend binding), and its earnings from every source as suanli-app's `earnings` reports them — a trend by calendar day (or month) stacked by source, the totals by source and by centre — and its statements.

use super::range::{Choice, Range, range_picker};
use super::*;
use std::collections::HashMap;
use suanli_app::earnings::{EarningsReport, Source};
use suanli_core::centre::Centre;
use suanli_core::id::CentreId;

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
    // The centres' table and the earnings are read at once. One report for the trend, the tables
    // and the "not yet settled" tile: one figure each.
    let choice = Range::chosen(Range::All, s.ids.now_ms());
    let reports = async {
        let report = insight::earnings_report(&s, &c, &provider, (None, None)).await;
        let ranged = match earnings_window(&s, choice.range) {
            (None, None) => report.clone(),
            window => insight::earnings_report(&s, &c, &provider, window).await,
        };
        (report, ranged)
    };
    let (table, (report, ranged)) = tokio::join!(centres_table(&s, lang, &centres), reports);
    if centres.is_empty() {
        let _ = write!(body, "<p>{}</p>", lang.t("尚未登记算力中心。", "No centres registered yet."));
    } else {
        body.push_str(&table);
    }
    body.push_str(&earnings(lang, ranged.as_ref(), &centres, &choice));
    body.push_str(&insight::provider_earnings(&s, lang, report.as_ref(), &provider).await);
    with_cookie(Html(page(lang, title, Some(&c), &body)).into_response(), set)
}

/// The provider's centres, one row each (a table like every other, so that it sorts, filters,
/// pages and exports however many centres a provider runs): its region, kind, partner status,
/// backend binding, accelerators in use, and each pool's price and partner price. Everything is
/// read once for all the rows (nothing, for no centre).
async fn centres_table(s: &AppState, lang: Lang, centres: &[Centre]) -> String {
    if centres.is_empty() {
        return String::new();
    }
    let now = s.ids.now_ms();
    let (bindings, all_pools, busy_by_pool) =
        tokio::join!(s.store.backend_bindings(), s.store.pools(), suanli_app::figures::busy_by_pool(&s.store));
    let bindings: HashMap<CentreId, String> = bindings.unwrap_or_default().into_iter().map(|b| (b.centre_id, b.url)).collect();
    let mut pools: HashMap<CentreId, Vec<suanli_core::centre::Pool>> = HashMap::new();
    for p in all_pools.unwrap_or_default() {
        pools.entry(p.centre_id.clone()).or_default().push(p);
    }
    let busy_by_pool = busy_by_pool.unwrap_or_default();
    let mut out = format!("<h2>{}</h2>", lang.t("中心与资源池", "Centres and pools"));
    out.push_str(&thead_id(
        "my-centres",
        &[
            lang.t("算力中心", "Centre"),
            lang.t("区域", "Region"),
            lang.t("类型", "Kind"),
            lang.t("合作状态", "Partner status"),
            lang.t("集群后端", "Cluster backend"),
            lang.t("加速卡使用率", "Accelerators in use"),
            lang.t(
                "资源池：使用中 / 总数，价格与伙伴价（元/卡时）",
                "Pools: busy / total, price and partner price (¥ per accelerator-hour)",
            ),
            lang.t("能耗计量", "Energy metering"),
        ],
    ));
    for ctr in centres {
        let id = esc(ctr.id.as_str());
        let centre_pools = pools.get(&ctr.id).map(Vec::as_slice).unwrap_or_default();
        let busy: u64 = centre_pools.iter().filter_map(|p| busy_by_pool.get(&p.id)).sum();
        let total: u32 = centre_pools.iter().map(|p| p.capacity()).sum();
        let (_, reach) = reach_text(s, lang, &ctr.id, now);
        let backend = match bindings.get(&ctr.id) {
            Some(url) => format!(r#"<code class="user-text">{}</code> · {reach}"#, esc(url)),
            None => format!("{} · {reach}", lang.t("未绑定", "not bound")),
        };
        let mut pool_lines = Vec::new();
        for p in centre_pools {
            let (accel, busy, cap) = (labels::accelerator(s, &p.accelerator), busy_by_pool.get(&p.id).copied().unwrap_or(0), p.capacity());
            let (price, partner, off) = (lang.fen(p.price_per_hour), lang.fen(p.effective_price()), p.partner_discount_pct);
            pool_lines.push(match lang {
                Lang::Zh => format!("{accel}：{busy} / {cap}，{price}，伙伴价 {partner}（折扣 {off}%）"),
                Lang::En => format!("{accel}: {busy} / {cap}; {price}; partner price {partner} ({off}% off)"),
            });
        }
        let pools_cell =
            if pool_lines.is_empty() { lang.t("尚无资源池。", "No pools yet.").to_string() } else { pool_lines.join("<br>") };
        let _ = write!(
            out,
            r##"<tr id="centre-{id}"><td><a href="/centres/{id}">{}</a></td><td>{}</td><td>{}</td><td><span data-state="{}">{}</span></td><td>{backend}</td><td>{busy} / {total} ({:.1}%)</td><td>{pools_cell}</td><td><a href="/centres/{id}#energy">{}</a></td></tr>"##,
            esc(lang.name(&ctr.name, &ctr.name_en)),
            labels::region(s, lang, &ctr.region),
            labels::centre_kind(lang, ctr.kind),
            ctr.partner_status.as_str(),
            labels::partner_status(lang, ctr.partner_status),
            if total == 0 { 0.0 } else { busy as f64 / total as f64 * 100.0 },
            lang.t("电表与读数", "Meters and readings"),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

/// A source's name on the page.
pub(super) fn source_name(lang: Lang, source: Source) -> &'static str {
    match source {
        Source::Jobs => lang.t("算力作业", "Compute jobs"),
        Source::ModelCalls => lang.t("模型调用", "Model calls"),
        Source::DataDeliveries => lang.t("数据交付", "Data deliveries"),
    }
}

/// Earnings from every source, as suanli-app's `earnings` reports them: the trend stacked by
/// source, the totals by source (settled or not), and the split by centre.
/// The earnings window a range asks for: the last days up to today's end, a custom range's
/// days, or (everything) the service's default, which reaches back to the first earning.
fn earnings_window(s: &AppState, range: Range) -> (Option<i64>, Option<i64>) {
    let days = match range {
        Range::All => return (None, None),
        Range::Custom(span) => {
            let (from, to) = span.window(s.ids.now_ms());
            return (Some(from), Some(to));
        }
        Range::Day => 1,
        Range::Week => 7,
        Range::Month => 30,
        Range::Year => 365,
    };
    let (from, to) = s.earnings.last_days(days);
    (Some(from), Some(to))
}

fn earnings(lang: Lang, r: Option<&EarningsReport>, centres: &[Centre], choice: &Choice) -> String {
    let mut out = format!("<h2>{}</h2>{}", lang.t("收入趋势", "Earnings over time"), range_picker(lang, choice));
    let Some(r) = r else {
        let _ = write!(out, "<p>{}</p>", lang.t("收入暂时无法计算。", "The earnings cannot be computed right now."));
        return out;
    };
    if r.sources.iter().all(|x| x.records == 0) {
        let _ = write!(out, "<p>{}</p>", lang.t("尚无收入。", "No earnings yet."));
        return out;
    }
    let periods: Vec<String> = r.periods.iter().map(|p| if r.monthly { p.label.clone() } else { p.label[5..].to_string() }).collect();
    let series: Vec<(String, Vec<i64>)> = Source::ALL
        .iter()
        .map(|&x| (source_name(lang, x).to_string(), r.periods.iter().map(|p| p.by_source[x as usize].0).collect()))
        .collect();
    // The window in words: the days the report covers (Beijing calendar days).
    let span = format!(
        "{} {} {}",
        suanli_core::time::format_date(r.from_ms + suanli_core::time::CST_OFFSET_MS),
        lang.t("至", "to"),
        suanli_core::time::format_date(r.to_ms - 1 + suanli_core::time::CST_OFFSET_MS)
    );
    let (title, x_label) = if r.monthly {
        (
            format!("{}{span}", lang.t("每月收入（元），按来源，", "Earnings per month (yuan), by source, ")),
            lang.t("月份（北京时间）", "Month (Beijing time)"),
        )
    } else {
        (
            format!("{}{span}", lang.t("每日收入（元），按来源，", "Earnings per day (yuan), by source, ")),
            lang.t("日期（北京时间）", "Day (Beijing time)"),
        )
    };
    out.push_str(&chart(&suanli_charts::figure::stacked_bars("earnings", &title, x_label, lang.t("元", "yuan"), 100.0, &periods, &series)));
    out.push_str(&by_period(lang, r));
    out.push_str(&by_source(lang, r));
    out.push_str(&by_centre(lang, r, centres));
    out
}

/// The chart's figures as a table (and so as CSV): each day or month of the window by source.
fn by_period(lang: Lang, r: &EarningsReport) -> String {
    let mut cols: Vec<&str> = vec![if r.monthly {
        lang.t("月份（北京时间）", "Month (Beijing time)")
    } else {
        lang.t("日期（北京时间）", "Day (Beijing time)")
    }];
    cols.extend(Source::ALL.iter().map(|&x| source_name(lang, x)));
    cols.push(lang.t("合计", "Total"));
    let mut out = format!("<h3>{}</h3>{}", esc(lang.t("逐期收入", "Earned per period")), thead_id("earnings-by-period", &cols));
    for p in &r.periods {
        let _ = write!(out, "<tr><td>{}</td>", esc(&p.label));
        for f in p.by_source {
            let _ = write!(out, "<td>{}</td>", lang.fen(f));
        }
        let _ = write!(out, "<td>{}</td></tr>", lang.fen(p.earned()));
    }
    out.push_str("</tbody></table></div>");
    out
}

/// The window's totals by source: records, earned, settled, not yet settled.
fn by_source(lang: Lang, r: &EarningsReport) -> String {
    let mut out = format!("<h3>{}</h3>", esc(lang.t("按来源", "By source")));
    out.push_str(&thead_id(
        "earnings-by-source",
        &[
            lang.t("来源", "Source"),
            lang.t("笔数", "Records"),
            lang.t("收入", "Earned"),
            lang.t("已结算", "Settled"),
            lang.t("待结算", "Not yet settled"),
        ],
    ));
    for x in &r.sources {
        let _ = write!(
            out,
            r#"<tr data-source="{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            x.source.as_str(),
            source_name(lang, x.source),
            x.records,
            lang.fen(x.earned()),
            lang.fen(x.settled),
            lang.fen(x.unsettled),
        );
    }
    out.push_str("</tbody></table></div>");
    if r.outstanding().is_positive() {
        let _ = write!(
            out,
            r#"<p id="earnings-outstanding">{} {}</p>"#,
            lang.t("租户在这些账单上尚欠（未计入收入）：", "Tenants still owe on these bills (not counted as earned):"),
            lang.fen(r.outstanding()),
        );
    }
    out
}

/// The split by centre and source (jobs it ran, calls its deployments served).
fn by_centre(lang: Lang, r: &EarningsReport, centres: &[Centre]) -> String {
    let names: HashMap<&CentreId, &str> = centres.iter().map(|c| (&c.id, lang.name(&c.name, &c.name_en))).collect();
    let name_of = |id: &CentreId| names.get(id).map_or_else(|| id.to_string(), |n| n.to_string());
    let mut out = format!("<h3>{}</h3>", esc(lang.t("按中心", "By centre")));
    out.push_str(&thead_id(
        "earnings-by-centre",
        &[
            lang.t("算力中心", "Centre"),
            lang.t("来源", "Source"),
            lang.t("笔数", "Records"),
            lang.t("收入", "Earned"),
            lang.t("已结算", "Settled"),
            lang.t("待结算", "Not yet settled"),
        ],
    ));
    for x in &r.centres {
        let _ = write!(
            out,
            r#"<tr data-centre="{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            esc(x.centre_id.as_str()),
            esc(&name_of(&x.centre_id)),
            source_name(lang, x.source),
            x.records,
            lang.fen(x.earned()),
            lang.fen(x.settled),
            lang.fen(x.unsettled),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}
