//! Page sections drawn from what the platform recorded: voucher spending over time by enterprise and provider, a tenant's bills, utilisation, the PUE distribution and recent alerts.

use super::charts::{AMBER, Formats, GREEN, Key, Line, RED, Scale, legend, time_lines};
use super::range::{Choice, Range, range_picker};
use super::{Lang, esc, thead};
use crate::AppState;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use suanli_app::earnings::EarningsReport;
use suanli_core::id::{CentreId, ProviderId, TenantId};
use suanli_core::time::{MS_PER_DAY, MS_PER_HOUR as HOUR};

/// A bucket size that cuts `span_ms` into at most about 30 steps: minutes, hours or days.
fn step_for(span_ms: i64) -> i64 {
    if span_ms <= 6 * HOUR {
        ((span_ms / 30).max(60_000) / 60_000) * 60_000
    } else if span_ms <= 4 * MS_PER_DAY {
        (span_ms / 30 / HOUR).max(1) * HOUR
    } else {
        (span_ms / 30 / MS_PER_DAY).max(1) * MS_PER_DAY
    }
}

/// Every provider's name in the page's language, by id.
pub async fn provider_names(s: &AppState, lang: Lang) -> HashMap<String, String> {
    s.store
        .providers()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.id.to_string(), lang.name(&p.name, &p.name_en).to_string()))
        .collect()
}

/// The operator's and regulator's view of spending over the page's time range: cumulative
/// voucher spending (a line per top provider and the total), and totals by enterprise and by
/// provider.
pub async fn spending(s: &AppState, lang: Lang, choice: &Choice) -> String {
    let now = s.ids.now_ms();
    let range = choice.range;
    let Ok(Some(first)) = s.store.first_bill_hour().await else {
        return format!(
            "<h2>{}</h2><p>{}</p>",
            lang.t("算力券使用趋势", "Voucher spending over time"),
            lang.t("尚无账单。", "No bills yet.")
        );
    };
    let (from, to) = range.window(now, first);
    // Spending is summed by whole hours and China Standard Time days: the chart steps by whole
    // ones, from the start of the one the range begins in.
    let step = step_for((to - first.max(from)).max(60_000)).max(HOUR);
    let grain = if step % MS_PER_DAY == 0 { MS_PER_DAY } else { HOUR };
    let first = suanli_store::spending::grain_start(grain, first.max(from));
    let rows = s.store.voucher_spending(first, to, step).await.unwrap_or_default();
    let mut by_tenant: HashMap<TenantId, i64> = HashMap::new();
    let mut by_provider: HashMap<String, i64> = HashMap::new();
    let mut per_bucket: BTreeMap<i64, HashMap<String, i64>> = BTreeMap::new();
    for (at, tenant, provider, fen) in &rows {
        *by_tenant.entry(tenant.clone()).or_default() += fen;
        let p = provider.as_ref().map_or_else(|| "-".to_string(), |p| p.to_string());
        *by_provider.entry(p.clone()).or_default() += fen;
        *per_bucket.entry(*at).or_default().entry(p).or_default() += fen;
    }
    let providers = provider_names(s, lang).await;
    let mut top: Vec<(&String, &i64)> = by_provider.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let cumulative = |filter: Option<&str>| {
        let mut acc = 0i64;
        let mut pts = vec![(first, 0.0)];
        for (at, m) in &per_bucket {
            acc += m.iter().filter(|(p, _)| filter.is_none_or(|f| f == p.as_str())).map(|(_, f)| f).sum::<i64>();
            pts.push(((at + step).min(to), acc as f64 / 100.0));
        }
        pts
    };
    let mut series = vec![Line { name: lang.t("合计", "Total").to_string(), points: cumulative(None) }];
    for (p, _) in top.iter().take(3) {
        series.push(Line { name: providers.get(*p).cloned().unwrap_or_else(|| (*p).clone()), points: cumulative(Some(p.as_str())) });
    }
    let mut out = format!(
        "<h2>{} · {}</h2>{}",
        lang.t("算力券使用趋势（累计，元）", "Voucher spending over time (cumulative, yuan)"),
        range.label(lang),
        range_picker(lang, choice)
    );
    out.push_str(&time_lines(
        lang,
        "spending",
        lang.t("算力券累计使用", "Cumulative voucher spending"),
        lang.t("元", "yuan"),
        &series,
        Scale::FromZero,
        None,
        Formats {
            tick: &|v| if v.fract().abs() < 1e-9 { super::labels::group(v) } else { format!("{v:.2}") },
            value: &|v| lang.fen(suanli_core::money::Fen((v * 100.0).round() as i64)),
        },
        Some((first.min(from), to)),
    ));
    // The top ten by spending, then their names (one read each, however many enterprises spent).
    let mut top_tenants: Vec<(TenantId, i64)> = by_tenant.into_iter().collect();
    top_tenants.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut tenants: Vec<(String, i64)> = Vec::with_capacity(10);
    for (t, fen) in top_tenants.into_iter().take(10) {
        let name = s.store.tenant(&t).await.ok().flatten().map_or_else(|| t.to_string(), |x| x.name);
        tenants.push((name, fen));
    }
    let table = |title: &str, who: &str, rows: Vec<(String, i64)>| {
        let mut t = format!("<h3>{}</h3>{}", esc(title), thead(&[who, lang.t("算力券使用", "Vouchers spent")]));
        for (name, fen) in rows.into_iter().take(10) {
            let _ = write!(t, "<tr><td>{}</td><td>{}</td></tr>", esc(&name), lang.fen(suanli_core::money::Fen(fen)));
        }
        t.push_str("</tbody></table></div>");
        t
    };
    out.push_str(&table(lang.t("按企业（前 10）", "By enterprise (top 10)"), lang.t("企业", "Enterprise"), tenants));
    let provider_rows = top.iter().map(|(p, f)| (providers.get(*p).cloned().unwrap_or_else(|| (*p).clone()), **f)).collect();
    out.push_str(&table(lang.t("按算力服务商", "By provider"), lang.t("服务商", "Provider"), provider_rows));
    out
}

/// Every bill the caller may see (a tenant its own), a page at a time from the store: searched
/// by bill or job id, filtered by charge rule, sorted by any column.
pub async fn bills_table(s: &AppState, lang: Lang, c: &crate::auth::Caller) -> String {
    use suanli_ledger::voucher::ChargeRule;
    use suanli_store::listing::{BillListing, BillOrder, Cut, MAX_ROWS};
    let Ok(caller) = suanli_app::Caller::of(&c.0) else { return String::new() };
    let view = super::table::served_view("bills", MAX_ROWS);
    let (order, desc) = match view.sort {
        None => (BillOrder::Created, true),
        Some((col, asc)) => {
            let order = [BillOrder::Created, BillOrder::Job, BillOrder::Charge, BillOrder::Voucher, BillOrder::Cash, BillOrder::Rule];
            (order.get(col).copied().unwrap_or_default(), !asc)
        }
    };
    let rule = view.cols.iter().find(|(c, _)| *c == 5).map(|(_, v)| v.clone());
    let mut l = BillListing {
        search: view.search.clone(),
        rule,
        order,
        cut: Cut { offset: view.offset, limit: view.limit, desc },
        ..Default::default()
    };
    let mut listed = suanli_app::jobs::bill_listing(&s.store, &caller, l.clone()).await.unwrap_or_default();
    if listed.rows.is_empty() && listed.total > 0 {
        l.cut.offset = ((listed.total - 1) / super::table::PAGE_ROWS as u64 * super::table::PAGE_ROWS as u64) as u32;
        listed = suanli_app::jobs::bill_listing(&s.store, &caller, l).await.unwrap_or_default();
    }
    let rules = [ChargeRule::Completed, ChargeRule::CancelledRan, ChargeRule::FailedRan, ChargeRule::CentreFault, ChargeRule::NeverRan];
    let choices = rules.iter().map(|r| (r.as_str().to_string(), super::labels::charge_rule(lang, *r).to_string())).collect();
    super::table::serve("bills", super::table::Served { total: listed.total, choices: vec![(5, choices)] });
    let mut out = format!(
        "<h2>{}</h2>{}",
        lang.t("我的账单", "My bills"),
        super::thead_id(
            "bills",
            &[
                lang.t("出账时间", "Billed at"),
                lang.t("作业", "Job"),
                lang.t("账单金额（应付）", "Billed amount"),
                lang.t("算力券", "Vouchers"),
                lang.t("现金", "Cash"),
                lang.t("计费规则", "Rule"),
            ]
        )
    );
    for b in &listed.rows {
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td><a class="id" href="/jobs/{id}">{id}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            super::labels::when(Some(b.created_ms)),
            lang.fen(b.charge),
            lang.fen(b.voucher),
            lang.fen(b.cash),
            super::labels::charge_rule(lang, b.rule),
            id = esc(b.job_id.as_str()),
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

/// Busy and total accelerators now, city-wide and per centre.
pub async fn busy_now(s: &AppState) -> (u32, u32, HashMap<CentreId, (u32, u32)>) {
    let pools = s.store.pools().await.unwrap_or_default();
    let running = s.store.busy_accelerators(None).await.unwrap_or_default();
    let mut per: HashMap<CentreId, (u32, u32)> = HashMap::new();
    for p in &pools {
        per.entry(p.centre_id.clone()).or_default().1 += p.capacity();
    }
    for (c, _, n) in &running {
        per.entry(c.clone()).or_default().0 += *n as u32;
    }
    let busy = per.values().map(|v| v.0).sum();
    let total = per.values().map(|v| v.1).sum();
    (busy, total, per)
}

/// Centres by their PUE over the last 30 days, in bands around the GB 40879 grades and the 1.25
/// limit, as bars.
pub async fn pue_distribution(s: &AppState, lang: Lang) -> String {
    let now = s.ids.now_ms();
    let values: Vec<f64> = {
        let book = s.energy.read().await;
        book.data_centres().filter_map(|dc| book.pue(&dc.id, now - 30 * MS_PER_DAY, now).ok().and_then(|p| p.value)).collect()
    };
    let bands: [(&str, f64, f64); 6] = [
        ("< 1.20", 0.0, 1.20),
        ("1.20–1.25", 1.20, 1.25),
        ("1.25–1.30", 1.25, 1.30),
        ("1.30–1.40", 1.30, 1.40),
        ("1.40–1.50", 1.40, 1.50),
        ("≥ 1.50", 1.50, f64::INFINITY),
    ];
    let counts: Vec<usize> = bands.iter().map(|(_, lo, hi)| values.iter().filter(|v| **v >= *lo && **v < *hi).count()).collect();
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let (w, row_h, left) = (640.0, 24.0, 110.0);
    let title = lang.t("近 30 天 PUE 分布（数据中心数）", "PUE over the last 30 days (number of data centres)");
    let mut svg = format!(
        r#"<svg viewBox="0 0 {w} {h}" width="100%" role="img" aria-labelledby="t-pue-dist"><title id="t-pue-dist">{t}</title>"#,
        h = row_h * bands.len() as f64 + 10.0,
        t = esc(title)
    );
    for (i, ((label, lo, _), n)) in bands.iter().zip(&counts).enumerate() {
        let y = 5.0 + i as f64 * row_h;
        let colour = if *lo < 1.25 {
            GREEN
        } else if *lo < 1.5 {
            AMBER
        } else {
            RED
        };
        let bw = (w - left - 60.0) * *n as f64 / max;
        let _ = write!(
            svg,
            r#"<text x="{tx}" y="{ty}" text-anchor="end">{label}</text><rect x="{left}" y="{y}" width="{bw:.1}" height="{bh}" fill="{colour}"><title>PUE {label}: {n}</title></rect><text x="{vx:.1}" y="{ty}">{n}</text>"#,
            tx = left - 6.0,
            ty = y + 16.0,
            bh = row_h - 8.0,
            vx = left + bw + 4.0,
        );
    }
    svg.push_str("</svg>");
    let keys = [
        Key::Swatch(GREEN, lang.t("低于 1.25（新建数据中心限值）", "below 1.25 (the limit for new data centres)").to_string()),
        Key::Swatch(AMBER, lang.t("1.25 至 1.50", "1.25 to 1.50").to_string()),
        Key::Swatch(RED, lang.t("1.50 及以上（GB 40879 3 级限值以上）", "1.50 and above (over the GB 40879 grade 3 limit)").to_string()),
    ];
    format!("<h2>{}</h2>{}{}", esc(title), super::chart(&svg), legend(&keys))
}

/// The most severe energy alerts now (at most `limit`), with centre names.
pub async fn recent_alerts(s: &AppState, lang: Lang, limit: usize) -> String {
    let now = s.ids.now_ms();
    let mut alerts = s.energy.read().await.alerts(now);
    alerts.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.dc.cmp(&b.dc)));
    let mut out = format!("<h2>{}</h2>", lang.t("最新告警", "Recent alerts"));
    if alerts.is_empty() {
        out.push_str(&format!("<p>{}</p>", lang.t("当前没有告警。", "No alerts now.")));
        return out;
    }
    out.push_str(&thead(&[lang.t("数据中心", "Data centre"), lang.t("级别", "Severity"), lang.t("内容", "What")]));
    let total = alerts.len();
    for a in alerts.into_iter().take(limit) {
        let name =
            s.store.centre(&a.dc).await.ok().flatten().map_or_else(|| a.dc.to_string(), |c| lang.name(&c.name, &c.name_en).to_string());
        let _ = write!(
            out,
            r#"<tr><td><a href="/centres/{id}">{}</a></td><td>{}</td><td>{}</td></tr>"#,
            esc(&name),
            super::labels::severity(lang, a.severity),
            super::labels::alert(lang, &a),
            id = esc(a.dc.as_str())
        );
    }
    let _ = write!(
        out,
        "</tbody></table></div><p>{} {total} · <a href=\"/energy\">{}</a></p>",
        lang.t("共", "In all:"),
        lang.t("能耗监测", "Energy")
    );
    out
}

/// A centre's share of busy accelerators over the page's time range (Beijing time, in about 30
/// steps), from its jobs; everything recorded starts at its first job (else its registration).
pub async fn centre_utilisation(s: &AppState, lang: Lang, centre: &CentreId, capacity: u32, range: Range, since: i64) -> String {
    let now = s.ids.now_ms();
    let f = suanli_store::JobFilter { centre_id: Some(centre.clone()), limit: 1000, ..Default::default() };
    let jobs = s.store.jobs(&f).await.unwrap_or_default();
    let earliest = jobs.iter().filter_map(|j| j.started_ms).min().unwrap_or(since);
    let (from, to) = range.window(now, earliest);
    let span = to - from;
    let step = step_for(span);
    let mut pts = Vec::new();
    let mut t = to - (span / step + 1) * step;
    while t < to {
        let end = (t + step).min(to);
        let busy_ms: i64 = jobs
            .iter()
            .filter_map(|j| {
                let a = j.started_ms?.max(t);
                let b = j.finished_ms.unwrap_or(now).min(end);
                (b > a).then(|| (b - a) * j.spec.accelerators as i64)
            })
            .sum();
        let share = if capacity == 0 { 0.0 } else { busy_ms as f64 / ((end - t) as f64 * capacity as f64) * 100.0 };
        pts.push((end, share.min(100.0)));
        t = end;
    }
    let title = lang.t("加速卡使用率（%）", "Accelerators in use (%)");
    let line = super::charts::Line { name: lang.t("使用率", "In use").to_string(), points: pts };
    let chart = time_lines(
        lang,
        "utilisation",
        title,
        "%",
        &[line],
        Scale::Fixed(0.0, 100.0),
        None,
        Formats::same(&|v| format!("{v:.0}%")),
        Some((from, to)),
    );
    format!("<h2>{} · {}</h2>{chart}", lang.t("使用率变化", "Utilisation over time"), range.label(lang))
}

/// A provider's earnings over its default window (from its first earning to today), as
/// suanli-app's `earnings` service reports them to this caller; `None` (logged) when they cannot
/// be computed.
pub async fn earnings_report(
    s: &AppState,
    c: &crate::auth::Caller,
    provider: &ProviderId,
    window: (Option<i64>, Option<i64>),
) -> Option<EarningsReport> {
    let caller = suanli_app::Caller::of(&c.0).map_err(|e| tracing::warn!(error = %e, "a provider's page without a caller")).ok()?;
    s.earnings
        .report(&caller, provider, window.0, window.1)
        .await
        .map_err(|e| tracing::warn!(error = %e, "a provider's earnings could not be computed"))
        .ok()
}

/// A provider's money: what it earned from every source and is not yet settled (the earnings
/// service's figure, the one the page's tables show), and its statements.
pub async fn provider_earnings(s: &AppState, lang: Lang, r: Option<&EarningsReport>, provider: &ProviderId) -> String {
    let (value, detail) = match r {
        Some(r) => {
            let by_source: Vec<String> =
                r.sources.iter().map(|x| format!("{} {}", super::provider::source_name(lang, x.source), lang.fen(x.unsettled))).collect();
            (lang.fen(r.unsettled()), by_source.join(" · "))
        }
        None => ("—".to_string(), lang.t("收入暂时无法计算。", "The earnings cannot be computed right now.").to_string()),
    };
    let mut out = format!(
        r#"<h2>{}</h2><section class="tiles"><div class="tile" id="earnings-unsettled"><div class="t">{}</div><div class="v">{}</div><div class="t">{}</div></div></section>"#,
        lang.t("我的收入", "My earnings"),
        lang.t("待结算", "Not yet settled"),
        value,
        esc(&detail),
    );
    let statements = s.store.statements(Some(provider)).await.unwrap_or_default();
    out.push_str(&format!("<h3>{}</h3>", esc(lang.t("结算单", "Statements"))));
    out.push_str(&thead(&[
        lang.t("结算单", "Statement"),
        lang.t("账单数", "Bills"),
        lang.t("金额", "Charged"),
        lang.t("算力券", "Vouchers"),
        lang.t("已支付", "Paid out"),
    ]));
    for st in statements.iter().take(20) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(st.id.as_str()),
            st.bills,
            lang.fen(st.charge),
            lang.fen(st.voucher),
            lang.fen(st.settled),
        );
    }
    if statements.is_empty() {
        let _ = write!(out, r#"<tr><td colspan="5">{}</td></tr>"#, lang.t("尚无结算单。", "No statements yet."));
    }
    out.push_str("</tbody></table></div>");
    out
}
