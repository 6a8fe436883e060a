//! The energy page: monitoring coverage against its target, the new data centres over the PUE limit (named and linked, the same list as the overview's and the API's), the city's data centres' annualised PUE against the limit, and the lifecycle ranking with each recommendation (a merge names its destination).

use super::*;

/// `GET /energy`: monitoring coverage, and the city's data centres ranked with annualised PUE,
/// GB 40879 grade, the new-data-centre rule and the lifecycle recommendation.
pub async fn energy_page(State(s): State<AppState>, Query(q): Query<LangQuery>, headers: HeaderMap) -> Response {
    let (lang, set, c) = match gate(&s, &q, &headers).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let centres = match s.energy.sync_centres().await {
        Ok(c) => c,
        Err(e) => {
            return (StatusCode::SERVICE_UNAVAILABLE, Html(page(lang, "Suanli", Some(&c), &notice(Some(&e.to_string()), true))))
                .into_response();
        }
    };
    let now = s.ids.now_ms();
    let loads = s.energy.loads_recent(&s.regions, now).await;
    let assessments = s.energy.evaluation_recent(&s.regions, now).await;
    let (coverage, over) = {
        let book = s.energy.read().await;
        (book.coverage(now), suanli_app::figures::over_pue_limit(&book, now, &centres))
    };
    let utilisation: BTreeMap<String, f64> = loads.iter().map(|(id, l)| (id.to_string(), l.utilisation)).collect();
    let names: BTreeMap<String, String> = centres.iter().map(|c| (c.id.to_string(), lang.name(&c.name, &c.name_en).to_string())).collect();
    let mut body = format!("<h1>{}</h1>", lang.t("数据中心能耗监测", "Data-centre energy monitoring"));
    body.push_str(&coverage_tile(lang, &coverage));
    body.push_str(&super::pue_limit_tile(lang, &over, s.policy.new_dc_pue_limit));
    body.push_str("</section>");
    body.push_str(&super::over_limit_list(lang, &over));
    body.push_str(&pue_chart(&s, lang, &assessments, &names));
    body.push_str(&ranking(lang, &assessments, &names, &utilisation));
    let _ = write!(
        body,
        "<p class=\"t\">{}</p>",
        lang.t(
            "整合：使用率低于 30%，且同一地区有 PUE 更低、容量足以承接其负载的数据中心；最优的数据中心不会被建议整合。",
            "Merge: utilisation under 30%, and a data centre in the same area with lower PUE has the spare capacity for its load; the best data centre is never recommended to merge."
        )
    );
    with_cookie(Html(page(lang, lang.t("能耗监测", "Energy"), Some(&c), &body)).into_response(), set)
}

/// Opens the tiles with monitoring coverage against its target (the caller closes the section).
fn coverage_tile(lang: Lang, coverage: &suanli_energy::CoverageReport) -> String {
    let met = coverage.coverage >= coverage.target;
    format!(
        r#"<section class="tiles"><div class="tile"><div class="t">{}</div><div class="v">{:.1}% {}</div><progress value="{:.3}" max="1" aria-label="coverage">{:.1}%</progress><div class="t">{} {}/{} · {} ≥ {:.0}%</div></div>"#,
        lang.t("监测覆盖率（24 小时内有有效数据）", "Monitoring coverage (valid data in the last 24 h)"),
        coverage.coverage * 100.0,
        super::target_badge(lang, met),
        coverage.coverage,
        coverage.coverage * 100.0,
        lang.t("已监测", "monitored"),
        coverage.monitored,
        coverage.registered,
        lang.t("目标", "target"),
        coverage.target * 100.0,
    )
}

/// Annualised PUE per data centre, lowest first, against the new-data-centre limit; nothing when none is measured.
fn pue_chart(s: &AppState, lang: Lang, assessments: &[suanli_energy::Assessment], names: &BTreeMap<String, String>) -> String {
    let mut bars: Vec<charts::PueBar> = assessments
        .iter()
        .filter_map(|a| {
            Some(charts::PueBar {
                id: a.dc.to_string(),
                name: names.get(a.dc.as_str()).cloned().unwrap_or_else(|| a.dc.to_string()),
                pue: a.kpis.pue.value.map(suanli_energy::grade::reported)?,
                fails_rule: a.policy.outcome == suanli_energy::PolicyOutcome::Fail,
            })
        })
        .collect();
    bars.sort_by(|a, b| a.pue.total_cmp(&b.pue).then_with(|| a.name.cmp(&b.name)));
    if bars.is_empty() {
        return String::new();
    }
    let title = lang.t("年化 PUE（近一年实测）", "Annualised PUE (measured over the last year)");
    format!("<h2>{}</h2>{}", esc(title), charts::pue_bars(lang, "pue", title, &bars, s.policy.new_dc_pue_limit))
}

/// The lifecycle ranking: each data centre's PUE, grade, the new-DC rule, utilisation, score and recommendation.
fn ranking(
    lang: Lang,
    assessments: &[suanli_energy::Assessment],
    names: &BTreeMap<String, String>,
    utilisation: &BTreeMap<String, f64>,
) -> String {
    let rows: Vec<serde_json::Value> = assessments.iter().filter_map(|a| serde_json::to_value(a).ok()).collect();
    let mut body = format!("<h2>{}</h2>", esc(lang.t("全生命周期评价排名", "Lifecycle evaluation ranking")));
    body.push_str(&thead_id(
        "ranking",
        &[
            "#",
            lang.t("数据中心", "Data centre"),
            "PUE",
            "GB 40879",
            lang.t("新建限值 1.25", "New-DC limit 1.25"),
            lang.t("使用率", "Utilisation"),
            lang.t("得分", "Score"),
            lang.t("建议", "Recommendation"),
        ],
    ));
    for a in &rows {
        let id = path(a, "dc").as_str().unwrap_or("");
        let policy = path(a, "policy.outcome").as_str().unwrap_or("-");
        let _ = write!(
            body,
            r#"<tr data-dc="{id}" data-policy="{policy}"><td>{}</td><td><a href="/centres/{id}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td></tr>"#,
            path(a, "rank"),
            esc(names.get(id).map_or(id, String::as_str)),
            path(a, "kpis.pue.value").as_f64().map_or("-".to_string(), |p| format!("{p:.2}")),
            state_name(lang, path(a, "grading.outcome").as_str().unwrap_or("-")),
            state_name(lang, policy),
            utilisation.get(id).map_or("-".to_string(), |u| format!("{:.0}%", u * 100.0)),
            path(a, "lifecycle.score").as_f64().unwrap_or(0.0),
            recommendation(lang, a, names),
            id = esc(id),
        );
    }
    body.push_str("</tbody></table></div>");
    body
}

/// A recommendation in words; a merge names and links its destination.
pub(super) fn recommendation(lang: Lang, a: &serde_json::Value, names: &BTreeMap<String, String>) -> String {
    let rec = state_name(lang, path(a, "lifecycle.recommendation").as_str().unwrap_or("-"));
    match path(a, "lifecycle.merge_into").as_str() {
        Some(to) => format!(r#"{rec} → <a href="/centres/{id}">{}</a>"#, esc(names.get(to).map_or(to, String::as_str)), id = esc(to)),
        None => rec,
    }
}
