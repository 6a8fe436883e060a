//! The overview page (and the wall display's body): the policy's targets against what the platform measures (now, and month by month in `trends.rs`), the map (`map.rs`), compute by region and vendor, accelerators in use, vouchers, jobs, PUE and alerts; and the target and PUE-limit tiles the energy page shares.

use super::*;
use crate::dto::CitySummary;
use suanli_charts::figure::ValueBar;

/// Horizontal bars of PFLOPS by a key, largest first, as an SVG with a title and a text alternative.
fn bars(id: &str, title: &str, slices: &BTreeMap<String, ComputeSlice>, label: impl Fn(&str) -> String) -> String {
    let mut rows: Vec<(&String, &ComputeSlice)> = slices.iter().collect();
    rows.sort_by(|a, b| b.1.pflops_fp16.total_cmp(&a.1.pflops_fp16));
    let bars: Vec<ValueBar> = rows
        .iter()
        .map(|(k, v)| {
            let name = label(k);
            let hover = format!("{name}: {:.1} PFLOPS · {}", v.pflops_fp16, v.accelerators);
            ValueBar { label: name, value: v.pflops_fp16, hover }
        })
        .collect();
    chart(&suanli_charts::figure::value_bars(id, title, &bars))
}

/// `GET /`: the city overview for whoever is signed in.
pub async fn overview(State(s): State<AppState>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let (lang, set, caller) = match gate(&s, &q, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    // The registry is read once for the tiles, the trends and the map.
    let summary = match suanli_app::figures::Registry::read(&s.store).await {
        Ok(registry) => crate::api::city::city_summary(&s, &registry).await.map(|summary| (summary, registry)),
        Err(e) => Err(e.into()),
    };
    let (summary, registry) = match summary {
        Ok(x) => x,
        Err(_) => {
            return (StatusCode::SERVICE_UNAVAILABLE, Html(page(lang, "Suanli", Some(&caller), "<p>unavailable</p>"))).into_response();
        }
    };
    let mut body = String::new();
    let _ = write!(body, "<h1>{}</h1>", lang.t("城市算力总览", "City compute overview"));
    body.push_str(&kpi_tiles(lang, &summary));
    // The sections read the store each on their own: at once, so their reads overlap.
    let (trends, map, pue, alerts) = tokio::join!(
        super::trends::section(&s, lang, &registry),
        super::map::section(&s, lang, &summary.by_region, &registry),
        insight::pue_distribution(&s, lang),
        insight::recent_alerts(&s, lang, 5),
    );
    body.push_str(&trends);
    let _ = write!(body, "<h2>{}</h2>", lang.t("按区域的可开放算力 (PFLOPS)", "Open compute by region (PFLOPS)"));
    body.push_str(&bars("region", lang.t("按区域的可开放算力", "Open compute by region"), &summary.by_scope, |k| {
        labels::scope(lang, k)
    }));
    let _ = write!(body, "<h2>{}</h2>", lang.t("按厂商的可开放算力 (PFLOPS)", "Open compute by vendor (PFLOPS)"));
    body.push_str(&bars("vendor", lang.t("按厂商的可开放算力", "Open compute by vendor"), &summary.by_vendor, |k| k.to_string()));
    body.push_str(&map);
    body.push_str(&regions_table(&s, lang, &summary));
    body.push_str(&pue);
    body.push_str(&alerts);
    with_cookie(Html(page(lang, lang.t("城市算力总览", "City compute overview"), Some(&caller), &body)).into_response(), set)
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// A headline tile: its title, value (with a met or not-met badge), a progress bar towards the target, and the target in words.
fn tile(lang: Lang, title: &str, value: String, target: String, progress: Option<f64>, met: Option<bool>) -> String {
    let bar = progress.map_or(String::new(), |p| {
        format!(r#"<progress value="{:.3}" max="1" aria-label="{}">{}</progress>"#, p.clamp(0.0, 1.0), esc(title), pct(p))
    });
    format!(
        r#"<div class="tile"><div class="t">{}</div><div class="v">{} {}</div>{bar}<div class="t">{}</div></div>"#,
        esc(title),
        esc(&value),
        met.map_or(String::new(), |m| target_badge(lang, m)),
        esc(&target)
    )
}

/// The headline tiles (the policy's targets against what is measured, vouchers, jobs, accelerators in use, the PUE limit) and the centres over the limit.
fn kpi_tiles(lang: Lang, summary: &CitySummary) -> String {
    let mut body = String::from(r#"<section class="tiles" aria-label="KPI">"#);
    let compute_met = summary.open_compute_pflops_fp16 >= summary.targets.open_compute_pflops_fp16;
    body.push_str(&tile(
        lang,
        lang.t("可开放算力 (FP16)", "Open compute (FP16)"),
        format!("{:.0} PFLOPS", summary.open_compute_pflops_fp16),
        format!(
            "{} ≥ {:.0} PFLOPS · {}",
            lang.t("目标", "target"),
            summary.targets.open_compute_pflops_fp16,
            pct(summary.open_compute_progress)
        ),
        Some(summary.open_compute_progress),
        Some(compute_met),
    ));
    body.push_str(&tile(
        lang,
        lang.t("高性能算力占比", "High-performance share"),
        pct(summary.high_performance_share),
        format!("{} ≥ {}", lang.t("目标", "target"), pct(summary.targets.high_performance_share)),
        Some(summary.high_performance_share / summary.targets.high_performance_share.max(1e-9)),
        Some(summary.high_performance_share >= summary.targets.high_performance_share),
    ));
    body.push_str(&tile(
        lang,
        lang.t("国产算力占比", "Domestic share"),
        pct(summary.domestic_share),
        String::new(),
        Some(summary.domestic_share),
        None,
    ));
    if let Some(v) = &summary.vouchers {
        let spent: f64 = v.spent.parse().unwrap_or(0.0);
        let budget: f64 = v.budget.parse().unwrap_or(0.0);
        body.push_str(&tile(
            lang,
            lang.t("算力券已使用", "Compute vouchers spent"),
            lang.headline_yuan(spent),
            format!("{} {} · {} {}", lang.t("预算", "budget"), lang.headline_yuan(budget), v.enterprises, lang.t("家企业", "enterprises")),
            Some(v.spent_share),
            None,
        ));
    }
    body.push_str(&tile(
        lang,
        lang.t("作业 运行 / 排队 / 完成", "Jobs running / queued / done"),
        format!("{} / {} / {}", summary.jobs.running, summary.jobs.pending + summary.jobs.placed, summary.jobs.succeeded),
        format!("{} {}", summary.jobs.failed, lang.t("失败", "failed")),
        None,
        None,
    ));
    body.push_str(&accelerators_tile(lang, summary.accelerators_in_use, summary.accelerators));
    let over: Vec<suanli_app::figures::OverPueLimit> = summary
        .over_pue_limit
        .iter()
        .filter_map(|o| {
            Some(suanli_app::figures::OverPueLimit {
                id: suanli_core::id::CentreId::parse(&o.id).ok()?,
                name: o.name.clone(),
                name_en: o.name_en.clone(),
                annualised_pue: o.annualised_pue,
            })
        })
        .collect();
    body.push_str(&pue_limit_tile(lang, &over, summary.targets.new_dc_pue_limit));
    body.push_str("</section>");
    body.push_str(&over_limit_list(lang, &over));
    body
}

/// Accelerators running jobs at partner centres, with the counts the page's script keeps current.
fn accelerators_tile(lang: Lang, busy: u64, total: u64) -> String {
    let util = if total == 0 { 0.0 } else { busy as f64 / total as f64 };
    format!(
        r#"<div class="tile" id="accelerators-tile"><div class="t">{}</div><div class="v">{}</div><progress value="{:.3}" max="1" aria-label="{}">{}</progress><div class="t"><span id="acc-busy">{busy}</span> / <span id="acc-total">{total}</span> {}</div></div>"#,
        lang.t("加速卡使用率（开放算力）", "Accelerators in use (open compute)"),
        pct(util),
        util,
        lang.t("加速卡使用率", "Accelerators in use"),
        pct(util),
        lang.t("张卡在运行作业（合作中心）", "running jobs (partner centres)"),
    )
}

/// Districts and regions: open compute, accelerators and those in use, with the city's total.
fn regions_table(s: &AppState, lang: Lang, summary: &CitySummary) -> String {
    let mut body = format!(
        "<h2>{}</h2>{}",
        lang.t("区县与地区", "Districts and regions"),
        thead_id("regions", &[lang.t("区域", "Region"), "PFLOPS", lang.t("加速卡", "Accelerators"), lang.t("使用中", "In use")])
    );
    for (k, v) in &summary.by_region {
        let _ = write!(
            body,
            r#"<tr data-busy="{}" data-total="{}"><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td></tr>"#,
            v.accelerators_in_use,
            v.accelerators,
            region_name_html(s, lang, k),
            v.pflops_fp16,
            v.accelerators,
            v.accelerators_in_use
        );
    }
    let _ = write!(
        body,
        r#"</tbody><tfoot><tr id="regions-total"><th scope="row">{}</th><td>{:.1}</td><td>{}</td><td>{}</td></tr></tfoot></table></div>"#,
        lang.t("合计", "Total"),
        summary.open_compute_pflops_fp16,
        summary.accelerators,
        summary.accelerators_in_use
    );
    body
}

/// A target's state in words: 达标 / 未达标 (met / not met).
pub(crate) fn target_badge(lang: Lang, met: bool) -> String {
    if met {
        format!(r#"<span class="badge ok">{}</span>"#, lang.t("达标", "met"))
    } else {
        format!(r#"<span class="badge no">{}</span>"#, lang.t("未达标", "not met"))
    }
}

/// The tile of new data centres over the PUE limit (the overview's and the energy page's).
pub(crate) fn pue_limit_tile(lang: Lang, over: &[suanli_app::figures::OverPueLimit], limit: f64) -> String {
    format!(
        r##"<div class="tile" id="pue-tile"><div class="t">{}</div><div class="v"><a href="#pue-over"><span id="pue-over-count">{}</span> {}</a> {}</div><div class="t">{} &lt; {limit:.2} · {}</div></div>"##,
        lang.t("新建数据中心 PUE", "New data centres' PUE"),
        over.len(),
        lang.t("个超标", "over the limit"),
        target_badge(lang, over.is_empty()),
        lang.t("限值", "limit"),
        lang.t("近一年实测", "measured over the last year"),
    )
}

/// The new data centres over the PUE limit, named and linked to their pages.
pub(crate) fn over_limit_list(lang: Lang, over: &[suanli_app::figures::OverPueLimit]) -> String {
    if over.is_empty() {
        return format!(
            r#"<p id="pue-over">{}</p>"#,
            lang.t("没有新建数据中心超过 PUE 限值。", "No new data centre is over the PUE limit.")
        );
    }
    let mut out = format!(r#"<p id="pue-over">{}："#, lang.t("超过 PUE 限值的新建数据中心", "New data centres over the PUE limit"));
    for (i, o) in over.iter().enumerate() {
        let _ = write!(
            out,
            r#"{}<a href="/centres/{id}" data-over="{id}">{}</a> ({:.2})"#,
            if i == 0 { "" } else { lang.t("、", ", ") },
            esc(lang.name(&o.name, &o.name_en)),
            o.annualised_pue,
            id = esc(o.id.as_str())
        );
    }
    out.push_str("</p>");
    out
}
