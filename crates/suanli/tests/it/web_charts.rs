//! Dashboards that behave like dashboards: the time-range picker drives a page's charts over time (their axis, points and CSV) through links and a custom range's form that work without script (a refused custom range answered on the page beside the form, the input kept), the policy's targets month by month are one figure for the overview and `GET /api/v1/city/trends`, the overview's map shows each region's figures and links to its centres, with a point per centre linked to its page, and a column of few labels filters by them; a chart over time carries its data for the interactive charts, whose scripts a page loads only where the server embeds Apache ECharts.

use crate::harness::{TestServer, Web};

/// The rows of a CSV answer (after its byte-order mark and header).
async fn csv_rows(web: &Web, path: &str) -> Vec<String> {
    let r = web.get(path).await;
    assert_eq!(r.status(), 200, "{path}");
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"), "{path}");
    let bytes = r.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xef\xbb\xbf", "{path}: a byte-order mark");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    text.lines().skip(1).filter(|l| !l.trim().is_empty()).map(String::from).collect()
}

#[tokio::test]
async fn the_time_range_picker_sets_the_charts_window_axis_and_csv() {
    let s = TestServer::start_with_energy_year().await;
    // A day's chart of a silent centre is empty (the first centre listed may be one of them).
    let id = live_centre(&s).await;
    let web = Web::sign_in(&s.url, &s.tokens["operator"]).await.unwrap();

    // Without a choice: the last 30 days, marked; every range is a link that keeps the language.
    let page = web.page(&format!("/centres/{id}?lang=en")).await;
    assert!(page.contains(r#"data-range="30d" aria-current="true""#), "30 days by default");
    for r in ["24h", "7d", "30d", "1y", "all"] {
        assert!(page.contains(&format!("?lang=en&amp;range={r}#range")), "the {r} link keeps the language");
    }
    assert!(page.contains("Daily PUE · Last 30 days"), "the heading names the range");

    // Each range: marked, its heading, and the PUE chart's points as CSV at its step.
    for (range, words, rows) in [
        ("24h", "每小时 PUE · 近 24 小时", 18..=25),
        ("7d", "每日 PUE · 近 7 天", 6..=8),
        ("30d", "每日 PUE · 近 30 天", 28..=31),
        ("all", "每月 PUE · 全部", 11..=14),
    ] {
        let page = web.page(&format!("/centres/{id}?range={range}")).await;
        assert!(page.contains(&format!(r#"data-range="{range}" aria-current="true""#)), "{range} marked");
        assert_eq!(page.matches("aria-current=\"true\"").count(), 1, "{range}: one range marked");
        assert!(page.contains(words), "{range}: {words}");
        assert!(page.contains(&format!("range={range}&amp;format=csv&amp;table=daily-pue-data")), "{range}: the CSV link covers the range");
        let csv = csv_rows(&web, &format!("/centres/{id}?range={range}&format=csv&table=daily-pue-data")).await;
        assert!(rows.contains(&csv.len()), "{range}: {} points: {csv:?}", csv.len());
        let util = csv_rows(&web, &format!("/centres/{id}?range={range}&format=csv&table=utilisation-data")).await;
        assert!((5..=35).contains(&util.len()), "{range}: {} utilisation points", util.len());
    }
    // The axis follows: hours over a day, dates over a month.
    let day = web.page(&format!("/centres/{id}?range=24h")).await;
    let month = web.page(&format!("/centres/{id}?range=30d")).await;
    let hour_ticks = |p: &str| p.matches(":00</text>").count();
    assert!(hour_ticks(&day) >= 3, "hourly ticks over 24 h");
    assert_eq!(hour_ticks(&month), 0, "date ticks over 30 days");

    // An unknown range is the default.
    let page = web.page(&format!("/centres/{id}?range=bogus")).await;
    assert!(page.contains(r#"data-range="30d" aria-current="true""#));
}

/// The JSON data that a chart over time carries (`data-chart="{id}"`) in a page.
fn chart_data(page: &str, id: &str) -> serde_json::Value {
    let open = r#"<script type="application/json" class="chart-data">"#;
    let at = page.find(&format!(r#"data-chart="{id}""#)).unwrap_or_else(|| panic!("no chart {id}"));
    let from = at + page[at..].find(open).expect("the chart's data") + open.len();
    serde_json::from_str(&page[from..from + page[from..].find("</script>").unwrap()]).unwrap()
}

#[tokio::test]
async fn a_chart_over_time_carries_its_data_and_pages_load_echarts_where_the_server_embeds_it() {
    let s = TestServer::start_with_energy_year().await;
    let id = live_centre(&s).await;
    let web = Web::sign_in(&s.url, &s.tokens["operator"]).await.unwrap();
    let page = web.page(&format!("/centres/{id}?lang=en")).await;
    // The daily PUE: the CSV's points, each with its value as the page writes it, the limit and the axes.
    let data = chart_data(&page, "daily-pue");
    let csv = csv_rows(&web, &format!("/centres/{id}?lang=en&format=csv&table=daily-pue-data")).await;
    let line = &data["lines"][0];
    assert_eq!(line["name"], "Daily PUE");
    let points = line["points"].as_array().unwrap();
    assert_eq!(points.len(), csv.len(), "the points of the CSV");
    for p in points {
        let (t, v, text) = (p[0].as_i64().unwrap(), p[1].as_f64().unwrap(), p[2].as_str().unwrap());
        assert_eq!(text, format!("{v:.2}"));
        assert!(data["x"][0].as_i64().unwrap() <= t && t <= data["x"][1].as_i64().unwrap(), "inside the time axis");
    }
    assert_eq!(data["limit"]["value"], 1.25);
    assert_eq!(data["limit"]["label"], "PUE limit for new data centres 1.25");
    let y: Vec<f64> = data["y"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert!(y[0] < 1.25 && 1.25 < y[1] && y[2] > 0.0, "the value axis holds the limit: {y:?}");
    assert_eq!((data["unit"].as_str(), data["timeAxis"].as_str()), (Some("PUE"), Some("Beijing time (UTC+8)")));
    // For screen readers: a description in the page's language, and every point in a hidden table after the chart.
    let description = data["description"].as_str().unwrap();
    assert!(description.starts_with(&format!("{}. Beijing time (UTC+8), ", data["title"].as_str().unwrap())), "{description}");
    assert!(description.contains(&format!("Daily PUE: {} points, lowest ", points.len())), "{description}");
    let chart = &page[page.find(r#"data-chart="daily-pue""#).unwrap()..];
    let table = &chart[chart.find(r#"<div class="vh"><table>"#).expect("the points' table")..];
    assert_eq!(table[..table.find("</table>").unwrap()].matches(r#"<th scope="row">"#).count(), points.len());
    let zh = chart_data(&web.page(&format!("/centres/{id}")).await, "daily-pue");
    assert!(zh["description"].as_str().unwrap().contains("北京时间（UTC+8）"), "{}", zh["description"]);
    // The scripts: ECharts and charts.js where the server embeds ECharts, served for a year; none on a page without such a chart.
    let embedded = suanli_server::web::interactive_charts();
    assert_eq!(page.contains(r#"<script src="/assets/echarts.min.js?v="#), embedded, "{page}");
    assert_eq!(page.contains(r#"<script src="/assets/charts.js?v="#), embedded);
    assert!(!web.page("/centres").await.contains("echarts"), "no chart over time, no ECharts");
    let r = web.get("/assets/echarts.min.js").await;
    if embedded {
        assert_eq!(r.headers()["cache-control"], "public, max-age=31536000, immutable");
        assert!(r.text().await.unwrap().len() > 500_000, "the whole library");
    } else {
        assert_eq!(r.status(), 404);
    }
    assert!(web.get("/assets/charts.js").await.text().await.unwrap().starts_with("// charts.js"));
}

/// A Beijing calendar day `days_ago` days before today, as `YYYY-MM-DD`.
fn beijing_day(days_ago: i64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    suanli_core::time::format_date(now + suanli_core::time::CST_OFFSET_MS - days_ago * suanli_core::time::MS_PER_DAY)
}

/// A centre whose meters report now (two demo centres fall silent 26 hours before the start).
async fn live_centre(s: &TestServer) -> String {
    let (_, coverage) = s.as_role("operator").get("/api/v1/energy/coverage").await;
    let silent: Vec<&str> = coverage["silent"].as_array().unwrap().iter().filter_map(|x| x["dc"].as_str()).collect();
    let (_, centres) = s.as_role("operator").get("/api/v1/centres").await;
    let live = centres["items"].as_array().unwrap().iter().find(|c| !silent.contains(&c["id"].as_str().unwrap()));
    live.expect("a centre whose meters report")["id"].as_str().unwrap().to_string()
}

/// The labels of an SVG's text elements that read as a month ("2026-03").
fn month_ticks(page: &str) -> Vec<&str> {
    page.split("</text>")
        .filter_map(|t| t.rsplit('>').next())
        .filter(|t| t.len() == 7 && t.as_bytes()[4] == b'-' && t.starts_with("20"))
        .collect()
}

#[tokio::test]
async fn a_year_or_a_custom_range_of_days_sets_the_step_the_axis_and_bounds_the_csv_rows() {
    let s = TestServer::start_with_energy_year().await;
    let id = live_centre(&s).await;
    let web = Web::sign_in(&s.url, &s.tokens["operator"]).await.unwrap();

    // The year: monthly PUE, the axis on months.
    let page = web.page(&format!("/centres/{id}?range=1y")).await;
    assert!(page.contains(r#"data-range="1y" aria-current="true""#) && page.contains("每月 PUE · 近一年"), "the year is marked");
    assert!(month_ticks(&page).len() >= 4, "ticks on months: {:?}", month_ticks(&page));
    let csv = csv_rows(&web, &format!("/centres/{id}?range=1y&format=csv&table=daily-pue-data")).await;
    assert!((12..=13).contains(&csv.len()), "a point a month: {csv:?}");

    // Eight whole Beijing days, ending three days ago: daily points on those days only, in the
    // charts and their CSV; the form is marked and holds the days; links to the fixed ranges drop them.
    let (from, to) = (beijing_day(10), beijing_day(3));
    let q = format!("range=custom&from={from}&to={to}");
    let page = web.page(&format!("/centres/{id}?{q}")).await;
    assert!(page.contains(r#"data-range="custom" aria-current="true""#), "the custom form is marked");
    assert_eq!(page.matches("aria-current=\"true\"").count(), 1, "one range marked");
    assert!(page.contains(&format!(r#"name="from" value="{from}""#)) && page.contains(&format!(r#"name="to" value="{to}""#)));
    assert!(page.contains(&format!("每日 PUE · {from} 至 {to}")), "the heading names the days");
    assert!(page.contains(&format!("{}&amp;format=csv&amp;table=daily-pue-data", q.replace('&', "&amp;"))), "the CSV link covers the days");
    assert!(page.contains(r#"href="?range=7d#range""#), "the fixed ranges' links drop the days");
    let csv = csv_rows(&web, &format!("/centres/{id}?{q}&format=csv&table=daily-pue-data")).await;
    let days: Vec<&str> = csv.iter().map(|r| &r[..10]).collect();
    assert_eq!(days.len(), 8, "a point a day: {csv:?}");
    assert_eq!((days[0], days[7]), (from.as_str(), to.as_str()), "{csv:?}");
    let (start, end) = (format!("{from} 00:00"), format!("{} 00:00", beijing_day(2)));
    for table in ["utilisation-data", "daily-pue-data"] {
        let rows = csv_rows(&web, &format!("/centres/{id}?{q}&format=csv&table={table}")).await;
        assert!(!rows.is_empty() && rows.iter().all(|r| r[..16] >= *start && r[..16] <= *end), "{table} within the days: {rows:?}");
    }
    // Voucher spending over the same days (once the demo has billed): every point inside them.
    if web.page(&format!("/vouchers?{q}")).await.contains("table=spending-data") {
        let rows = csv_rows(&web, &format!("/vouchers?{q}&format=csv&table=spending-data")).await;
        assert!(rows.iter().all(|r| r[..16] >= *start && r[..16] <= *end), "spending within the days: {rows:?}");
    }
    // Two days: hourly.
    let page = web.page(&format!("/centres/{id}?range=custom&from={}&to={}", beijing_day(2), beijing_day(1))).await;
    assert!(page.contains("每小时 PUE ·"), "hourly over two days");
}

#[tokio::test]
async fn a_refused_custom_range_is_answered_beside_the_form_in_the_pages_language_with_the_input_kept() {
    let s = TestServer::start_with_energy_year().await;
    let id = live_centre(&s).await;
    let web = Web::sign_in(&s.url, &s.tokens["operator"]).await.unwrap();
    let today = beijing_day(0);
    for (from, to, code, zh, en) in [
        (
            "2026-13-01",
            today.as_str(),
            "invalid_date",
            "开始日期须为 YYYY-MM-DD 格式的有效日期",
            "The first day must be a date written YYYY-MM-DD",
        ),
        ("2026-11-30", "yesterday", "invalid_date", "结束日期须为", "The last day must be a date"),
        (today.as_str(), "2026-01-01", "invalid_window", "开始日期不能晚于结束日期", "The first day may not be after the last"),
        ("2000-01-01", today.as_str(), "invalid_window", "时间范围最长 20 年", "A range may span at most 20 years"),
        ("1999-06-01", "2000-06-01", "invalid_window", "开始日期不能早于 2000-01-01", "The first day may not be before 2000-01-01"),
        ("2026-01-01", "2199-01-01", "invalid_window", "结束日期不能晚于今天", "The last day may not be after today"),
    ] {
        for (lang, words) in [("zh", zh), ("en", en)] {
            let r = web.get(&format!("/centres/{id}?lang={lang}&range=custom&from={from}&to={to}")).await;
            assert_eq!(r.status(), 200, "{from}..{to}: the page, not an error");
            assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{from}..{to}");
            let page = r.text().await.unwrap();
            let at = page.find(r#"<form method="get" class="range-custom""#).expect("the form");
            let form = &page[at..at + page[at..].find("</form>").unwrap()];
            assert!(form.contains(&format!(r#"role="alert" id="range-error" data-code="{code}">{words}"#)), "{lang} {from}..{to}: {form}");
            assert!(
                form.contains(&format!(r#"name="from" value="{from}""#)) && form.contains(&format!(r#"name="to" value="{to}""#)),
                "kept: {form}"
            );
            assert!(
                form.contains(r#"aria-invalid="true""#) && form.contains(&format!(r#"<input type="hidden" name="lang" value="{lang}">"#))
            );
            assert!(page.contains(r#"data-range="30d" aria-current="true""#), "the default range is shown and marked");
        }
    }
    // Without a custom range there is no error.
    assert!(!web.page(&format!("/centres/{id}")).await.contains("range-error"));
}

#[tokio::test]
async fn the_targets_month_by_month_are_one_figure_for_the_api_and_the_overview() {
    let s = TestServer::start_with_energy_year().await;
    let api = s.as_role("regulator");
    let (status, t) = api.get("/api/v1/city/trends").await;
    assert_eq!(status, 200, "{t}");
    let months = t["months"].as_array().unwrap();
    assert_eq!(months.len(), 12, "{t}");
    let keys: Vec<&str> = t["trends"].as_array().unwrap().iter().map(|x| x["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["open_compute", "high_performance_share", "new_dc_pue", "voucher_spending"]);
    let (_, summary) = api.get("/api/v1/city/summary").await;
    let trend = |k: &str| t["trends"].as_array().unwrap().iter().find(|x| x["key"] == k).unwrap().clone();
    for x in t["trends"].as_array().unwrap() {
        assert_eq!(x["values"].as_array().unwrap().len(), 12, "{x}");
    }
    // This month's open compute is the overview's tile; met as the tile says.
    let open = trend("open_compute");
    let now = open["values"][11].as_f64().unwrap();
    assert!((now - summary["open_compute_pflops_fp16"].as_f64().unwrap()).abs() < 1e-6, "{open} vs {summary}");
    assert_eq!(open["met"].as_bool().unwrap(), now >= 5000.0);
    assert_eq!(open["target"].as_f64().unwrap(), 5000.0);
    // Money is a yuan string, as everywhere in the API.
    let vouchers = trend("voucher_spending");
    assert_eq!((vouchers["unit"].as_str(), vouchers["target"].as_str()), (Some("yuan"), Some("50000000.00")), "{vouchers}");
    for v in vouchers["values"].as_array().unwrap().iter().filter(|v| !v.is_null()) {
        assert!(suanli_core::money::Fen::parse_yuan(v.as_str().unwrap_or_else(|| panic!("{v} is not a yuan string"))).is_ok(), "{v}");
    }
    // The new data centres' PUE has a year of months, judged below the limit.
    let pue = trend("new_dc_pue");
    let values: Vec<f64> = pue["values"].as_array().unwrap().iter().filter_map(|v| v.as_f64()).collect();
    assert!(values.len() >= 11, "a year of telemetry: {pue}");
    assert_eq!(pue["rule"], "below");
    assert_eq!(pue["met"].as_bool().unwrap(), *values.last().unwrap() < 1.25);

    // The overview states each in words, with the same verdict.
    let web = Web::sign_in(&s.url, &s.tokens["regulator"]).await.unwrap();
    for (path, met_word, not_met_word) in [("/", "达标", "未达标"), ("/?lang=en", "met", "not met")] {
        let page = web.page(path).await;
        assert!(page.contains(r#"id="trends""#), "{path}");
        for k in &keys {
            let met = trend(k)["met"].as_bool();
            let at = page.find(&format!(r#"data-trend="{k}""#)).unwrap_or_else(|| panic!("{path}: {k} stated"));
            let state = &page[at..at + page[at..].find("</p>").unwrap()];
            match met {
                Some(true) => {
                    assert!(state.contains(&format!(">{met_word}<")) && state.contains(r#"data-met="true""#), "{path} {k}: {state}")
                }
                Some(false) => assert!(state.contains(&format!(">{not_met_word}<")), "{path} {k}: {state}"),
                None => {}
            }
        }
        assert!(page.contains("t-trend-new-dc-pue"), "{path}: the PUE trend is drawn");
    }
    let (_, doc) = api.get("/api/v1/openapi.json").await;
    assert!(doc["paths"]["/api/v1/city/trends"]["get"].is_object() && doc["components"]["schemas"]["CityTrends"].is_object());
}

#[tokio::test]
async fn the_map_has_a_labelled_square_per_region_linked_to_its_centres_with_the_summarys_figures() {
    let s = TestServer::start_with_energy_year().await;
    let (_, summary) = s.as_role("regulator").get("/api/v1/city/summary").await;
    let web = Web::sign_in(&s.url, &s.tokens["regulator"]).await.unwrap();
    let zh = web.page("/").await;
    assert!(zh.contains(r#"id="map""#) && zh.contains(r#"data-map="use" aria-current="true""#), "coloured by use by default");
    // Every region of the summary's table with open compute has a linked square showing its share in use.
    for (region, slice) in summary["by_region"].as_object().unwrap() {
        let link = format!(r#"<a href="/centres?region={region}" data-region="{region}">"#);
        let at = zh.find(&link).unwrap_or_else(|| panic!("{region} has a linked square"));
        let tile = &zh[at..at + zh[at..].find("</a>").unwrap()];
        let (busy, total) = (slice["accelerators_in_use"].as_f64().unwrap(), slice["accelerators"].as_f64().unwrap());
        if total > 0.0 {
            assert!(tile.contains(&format!(">{:.0}%</text>", busy / total * 100.0)), "{region}: {tile}");
        }
    }
    assert!(zh.contains(">滨江区</text>") && zh.contains(">上海市</text>"), "Chinese names");
    let en = web.page("/?lang=en&map=pue").await;
    assert!(en.contains(">Binjiang</text>") && en.contains(">Shanghai</text>"), "English names");
    assert!(en.contains(r#"data-map="pue" aria-current="true""#) && en.contains("1.50 and above"), "coloured by PUE with its legend");
    // A square's link lists that region's centres.
    let centres = web.page("/centres?region=hz-binjiang").await;
    assert!(centres.contains("滨江区") && !centres.contains("西湖区</td>"), "the district's centres only");
}

#[tokio::test]
async fn the_map_has_a_point_per_centre_linked_to_its_page_sized_by_pflops_and_titled_in_the_pages_language() {
    let s = TestServer::start_with_energy_year().await;
    let (_, centres) = s.as_role("regulator").get("/api/v1/centres").await;
    let centres = centres["items"].as_array().unwrap().clone();
    let web = Web::sign_in(&s.url, &s.tokens["regulator"]).await.unwrap();
    let zh = web.page("/").await;
    let en = web.page("/?lang=en&map=pue").await;
    assert_eq!(zh.matches("data-centre=").count(), centres.len(), "one point per centre");
    let point = |page: &str, id: &str| {
        let link = format!(r#"<a href="/centres/{id}" data-centre="{id}"><circle "#);
        assert_eq!(page.matches(&link).count(), 1, "{id}: one linked point");
        let at = page.find(&link).unwrap();
        page[at..at + page[at..].find("</a>").unwrap()].to_string()
    };
    let radius = |p: &str| p.split(r#" r=""#).nth(1).and_then(|x| x.split('"').next()).unwrap().parse::<f64>().unwrap();
    for c in &centres {
        let id = c["id"].as_str().unwrap();
        let (p, e) = (point(&zh, id), point(&en, id));
        assert!(p.contains(&format!("<title>{} · ", xml(c["name"].as_str().unwrap()))) && p.contains(" PFLOPS · PUE"), "{p}");
        assert!(e.contains(&format!("<title>{} · ", xml(c["name_en"].as_str().unwrap()))), "{e}");
        assert!(p.contains("PUE 暂无实测") == p.contains(r##"fill="#ffffff""##), "no measurement is hollow: {p}");
        // A measured point stands out from a square of its own colour: a white ring outside its
        // dark edge; only an unmeasured one is hollow and dashed.
        assert!(p.contains("PUE 暂无实测") != p.contains(r#"<circle class="halo""#), "a measured point is ringed: {p}");
        assert!(p.contains("PUE 暂无实测") == p.contains("stroke-dasharray"), "only an unmeasured point is dashed: {p}");
        assert!(e.contains("PUE not measured") || e.contains("PUE 1.") || e.contains("PUE 2."), "{e}");
        assert_eq!(radius(&p), radius(&e), "the same point in either language");
    }
    // Area follows PFLOPS: more PFLOPS, no smaller a point.
    let mut sized: Vec<(f64, f64)> = centres
        .iter()
        .map(|c| {
            let p = point(&zh, c["id"].as_str().unwrap());
            let title = p.split("<title>").nth(1).unwrap();
            let pflops: f64 = title.split(" · ").nth(1).unwrap().trim_end_matches(" PFLOPS").parse().unwrap();
            (pflops, radius(&p))
        })
        .collect();
    sized.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(sized.windows(2).all(|w| w[0].1 <= w[1].1 + 0.05), "{sized:?}");
    assert!(sized.last().unwrap().1 > sized.first().unwrap().1, "sizes differ: {sized:?}");
    assert!(zh.contains(r#"id="map-points""#) && en.contains("no PUE measured in 30 days"), "the points' legend");
    // Deterministic: the same map twice.
    let again = web.page("/").await;
    let points = |p: &str| p[p.find(r#"<g class="centres">"#).unwrap()..p.find("</g></svg>").unwrap()].to_string();
    assert_eq!(points(&zh), points(&again));
    // A point's link opens the centre.
    let first = centres[0]["id"].as_str().unwrap();
    assert!(web.page(&format!("/centres/{first}")).await.contains(centres[0]["name"].as_str().unwrap()));
}

#[tokio::test]
async fn a_column_of_few_labels_filters_the_rows_by_them_and_the_csv_follows() {
    let s = TestServer::start().await;
    let web = Web::sign_in(&s.url, &s.tokens["operator"]).await.unwrap();
    let page = web.page("/centres").await;
    let rows = |p: &str| p.split(r#"data-rows=""#).nth(1).and_then(|x| x.split('"').next()).unwrap().parse::<usize>().unwrap();
    let all = rows(&page);
    // The kind column (3rd) has a filter of its labels, "All" first; names (unique) have none.
    let at = page.find(r#"name="t1.c2""#).expect("a filter on the kind column");
    assert!(!page.contains(r#"name="t1.c0""#), "no filter on the names");
    assert!(page.contains(r#"<label for="t1-c2">类型</label>"#));
    let options = &page[at..at + page[at..].find("</select>").unwrap()];
    assert!(options.contains(r#"<option value="">全部</option>"#));
    let label = options.split(r#"<option value=""#).nth(2).and_then(|x| x.split('"').next()).unwrap().to_string();
    let q = format!("/centres?t1.c2={}", url_encode(&label));
    let narrowed = web.page(&q).await;
    let n = rows(&narrowed);
    assert!(n > 0 && n < all, "{label}: {n} of {all}");
    assert!(narrowed.contains(&format!(r#"<option value="{label}" selected>"#)), "the choice is kept");
    let csv = web.get(&format!("{q}&format=csv&table=t1")).await.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().skip(1).filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), n, "the CSV follows the column's filter");
    assert!(lines.iter().all(|l| l.contains(&label)), "{lines:?}");
}

/// Text as the pages escape it in SVG.
fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&apos;")
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(
            |b| {
                if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' { (b as char).to_string() } else { format!("%{b:02X}") }
            },
        )
        .collect()
}
