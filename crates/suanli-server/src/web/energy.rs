//! The energy page: monitoring coverage and the city's data centres ranked by annualised PUE against GB 40879 and the policy's 1.25, with the lifecycle recommendation.

use super::*;

/// Horizontal PUE bars against the GB 40879 thresholds and the policy's 1.25.
fn pue_chart(lang: Lang, rows: &[(String, f64)]) -> String {
    let (w, row_h, left) = (640.0, 24.0, 250.0);
    let h = row_h * rows.len() as f64 + 30.0;
    let x = |pue: f64| left + (pue - 1.0).clamp(0.0, 0.8) / 0.8 * (w - left - 50.0);
    let mut svg = format!(
        r#"<svg viewBox="0 0 {w} {h}" width="100%" role="img" aria-labelledby="pue-t"><title id="pue-t">{}</title>"#,
        lang.t("年化 PUE（虚线：1.25 新建限值）", "Annualised PUE (dashed: the 1.25 limit for new data centres)")
    );
    for (i, (name, pue)) in rows.iter().enumerate() {
        let y = 5.0 + i as f64 * row_h;
        let colour = if *pue <= 1.20 {
            "#067647"
        } else if *pue <= 1.30 {
            "#2e6fdb"
        } else if *pue <= 1.50 {
            "#b54708"
        } else {
            "#b42318"
        };
        let _ = write!(
            svg,
            r#"<text x="{tx}" y="{ty}" text-anchor="end">{n}</text><rect x="{left}" y="{y}" width="{bw:.1}" height="{bh}" fill="{colour}"/><text x="{vx:.1}" y="{ty}">{pue:.2}</text>"#,
            tx = left - 6.0,
            ty = y + 15.0,
            n = esc(name),
            bw = x(*pue) - left,
            bh = row_h - 7.0,
            vx = x(*pue) + 4.0,
        );
    }
    let _ =
        write!(svg, r##"<line x1="{lx:.1}" x2="{lx:.1}" y1="0" y2="{h}" stroke="#1a1a1a" stroke-dasharray="4 3"/></svg>"##, lx = x(1.25));
    chart(&svg)
}

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
    let util = s.energy.utilisation_recent(now).await;
    let (coverage, assessments) = {
        let book = s.energy.read().await;
        (book.coverage(now), book.evaluate(now, &util))
    };
    let names: BTreeMap<String, String> = centres.iter().map(|c| (c.id.to_string(), lang.name(&c.name, &c.name_en).to_string())).collect();
    let mut body = format!("<h1>{}</h1>", lang.t("数据中心能耗监测", "Data-centre energy monitoring"));
    let _ = write!(
        body,
        r#"<section class="tiles"><div class="tile"><div class="t">{}</div><div class="v">{:.1}%</div><progress value="{:.3}" max="1" aria-label="coverage">{:.1}%</progress><div class="t">{} {}/{} · {} ≥ {:.0}%</div></div></section>"#,
        lang.t("监测覆盖率（24 小时内有有效数据）", "Monitoring coverage (valid data in the last 24 h)"),
        coverage.coverage * 100.0,
        coverage.coverage,
        coverage.coverage * 100.0,
        lang.t("已监测", "monitored"),
        coverage.monitored,
        coverage.registered,
        lang.t("目标", "target"),
        coverage.target * 100.0,
    );
    let rows: Vec<serde_json::Value> = assessments.iter().filter_map(|a| serde_json::to_value(a).ok()).collect();
    let chart: Vec<(String, f64)> = rows
        .iter()
        .filter_map(|a| {
            let id = path(a, "dc").as_str()?;
            Some((names.get(id).cloned().unwrap_or_else(|| id.to_string()), path(a, "kpis.pue.value").as_f64()?))
        })
        .collect();
    if !chart.is_empty() {
        let _ = write!(body, "<h2>{}</h2>", lang.t("年化 PUE", "Annualised PUE"));
        body.push_str(&pue_chart(lang, &chart));
    }
    body.push_str(&format!("<h2>{}</h2>", esc(lang.t("全生命周期评价排名", "Lifecycle evaluation ranking"))));
    body.push_str(&thead(&[
        "#",
        lang.t("数据中心", "Data centre"),
        "PUE",
        "GB 40879",
        lang.t("新建限值 1.25", "New-DC limit 1.25"),
        lang.t("得分", "Score"),
        lang.t("建议", "Recommendation"),
    ]));
    for a in &rows {
        let id = path(a, "dc").as_str().unwrap_or("");
        let rec = path(a, "lifecycle.recommendation").as_str().unwrap_or("-");
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td></tr>",
            path(a, "rank"),
            esc(names.get(id).map_or(id, String::as_str)),
            path(a, "kpis.pue.value").as_f64().map_or("-".to_string(), |p| format!("{p:.2}")),
            state_name(lang, path(a, "grading.outcome").as_str().unwrap_or("-")),
            state_name(lang, path(a, "policy.outcome").as_str().unwrap_or("-")),
            path(a, "lifecycle.score").as_f64().unwrap_or(0.0),
            state_name(lang, rec),
        );
    }
    body.push_str("</tbody></table></div>");
    with_cookie(Html(page(lang, lang.t("能耗监测", "Energy"), Some(&c), &body)).into_response(), set)
}
