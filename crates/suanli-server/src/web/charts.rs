//! The web UI's charts, drawn by `suanli-charts` in the page's language: PUE bars against the new-data-centre limit, and lines over calendar time in Asia/Shanghai; each with its unit, an HTML legend (readable at any width), limit lines, an axis fitted to the data, and the value of every bar and point on hover (an SVG `<title>`). Lines over time follow the page's time range (`?range=`, see `range.rs`), export their points as CSV, and carry their data as JSON for `assets/charts.js`, which redraws them with Apache ECharts (hover, zoom, a time range brushed) where the server embeds it.

use super::{Lang, esc};
use std::fmt::Write;
use suanli_charts::figure::{self, HBar, TimeChart, TimeWords};
use suanli_charts::time::moment;

pub use suanli_charts::figure::{Formats, Limit, Line, Scale};
pub use suanli_charts::legend::{Key, legend};

/// Colours: compliant, over the limit where the rule applies, over it where it does not.
pub const GREEN: &str = "#067647";
pub const RED: &str = "#b42318";
pub const AMBER: &str = "#b54708";

/// A data centre's bar: its PUE and how it stands against the limit.
#[derive(Debug, Clone)]
pub struct PueBar {
    pub id: String,
    pub name: String,
    pub pue: f64,
    /// New and at or over the limit: fails the city's rule.
    pub fails_rule: bool,
}

/// Horizontal PUE bars, names linked to their centres; the axis fits the data (it does not start
/// at 0) and a dashed line marks `limit`. Red: a new data centre at or over the limit (fails the
/// rule); amber: at or over it but commissioned before the policy (not held to it); green: below.
pub fn pue_bars(lang: Lang, id: &str, title: &str, bars: &[PueBar], limit: f64) -> String {
    let bars: Vec<HBar> = bars.iter().map(|b| pue_bar(lang, b, limit)).collect();
    let line = Limit { value: limit, label: limit_label(lang, limit) };
    let svg = figure::hbars(id, title, "PUE", &bars, &line);
    let keys = [
        Key::Swatch(GREEN, format!("{} {limit:.2}", lang.t("低于", "below"))),
        Key::Swatch(RED, lang.t("新建数据中心超过限值（不达标）", "new data centre over the limit (not met)").to_string()),
        Key::Swatch(
            AMBER,
            lang.t("超过限值，政策前建成（不适用）", "over the limit, built before the policy (not held to it)").to_string(),
        ),
        Key::Dashed(line.label),
    ];
    format!(r#"<div class="chart">{svg}</div>{}"#, legend(&keys))
}

/// A centre's bar: linked to its page, coloured and described by how it stands against the limit.
fn pue_bar(lang: Lang, b: &PueBar, limit: f64) -> HBar {
    let (colour, status) = if b.fails_rule {
        (RED, lang.t("新建数据中心，超过限值", "new data centre, over the limit"))
    } else if b.pue >= limit {
        (AMBER, lang.t("超过限值（政策前建成，不适用新建限值）", "over the limit (built before the policy: not held to it)"))
    } else {
        (GREEN, lang.t("低于限值", "below the limit"))
    };
    HBar { href: format!("/centres/{}", b.id), name: b.name.clone(), value: b.pue, colour, status: status.to_string() }
}

/// The limit line's words.
pub fn limit_label(lang: Lang, limit: f64) -> String {
    format!("{} {limit:.2}", lang.t("新建数据中心 PUE 限值", "PUE limit for new data centres"))
}

/// A chart's points as a table (time in Beijing time, a column per line) when the request asks
/// for it as CSV (`?format=csv&table={id}-data`, which the table code then answers), else the
/// link that asks for it with the page's query (so the CSV covers the chosen range).
fn points_csv(lang: Lang, id: &str, lines: &[Line], window: Option<(i64, i64)>, value: &dyn Fn(f64) -> String) -> String {
    let table = format!("{id}-data");
    let asked = super::table::param("format").as_deref() == Some("csv") && super::table::param("table").as_deref() == Some(table.as_str());
    if !asked {
        let href = super::table::relink(&[("format".to_string(), Some("csv".into())), ("table".to_string(), Some(table))]);
        return format!(
            r#"<p class="chart-csv"><a href="{}" download>{}</a></p>"#,
            esc(&href),
            lang.t("导出图表数据 (CSV)", "Chart data (CSV)")
        );
    }
    let inside = |t: i64| window.is_none_or(|(a, b)| (a..=b).contains(&t));
    let mut times: Vec<i64> = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)).filter(|t| inside(*t)).collect();
    times.sort_unstable();
    times.dedup();
    let when = lang.t("时间（北京时间 UTC+8）", "Time (Beijing, UTC+8)");
    let cols: Vec<&str> = std::iter::once(when).chain(lines.iter().map(|l| l.name.as_str())).collect();
    let mut out = super::thead_id(&table, &cols);
    for t in times {
        let _ = write!(out, "<tr><td>{}</td>", moment(t));
        for l in lines {
            let v = l.points.iter().find(|p| p.0 == t && p.1.is_finite()).map_or("-".to_string(), |p| value(p.1));
            let _ = write!(out, "<td>{}</td>", esc(&v));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

/// Lines over calendar time: the x axis in Beijing time (hours or dates), the value axis with
/// its unit, an optional limit line, a point with its value on hover at every measurement, and
/// the legend. `fmt.tick` writes an axis tick (the unit is written once, above the axis);
/// `fmt.value` a measured value with its unit, for hover titles (money to the fen). With a
/// `window` (the page's time range) the time axis spans it and points outside it are left out;
/// without, it spans the data. Under the chart, a link exports its points as CSV.
#[allow(clippy::too_many_arguments)]
pub fn time_lines(
    lang: Lang,
    id: &str,
    title: &str,
    unit: &str,
    lines: &[Line],
    scale: Scale,
    limit: Option<&Limit>,
    fmt: Formats<'_>,
    window: Option<(i64, i64)>,
) -> String {
    let csv = points_csv(lang, id, lines, window, fmt.value);
    let words =
        TimeWords { no_data: lang.t("暂无数据", "No data yet"), time_axis: lang.t("北京时间 (UTC+8)", "Beijing time (UTC+8)") };
    let chart = TimeChart { id, title, unit, lines, scale, limit, fmt, window, words };
    let data = chart_data(lang, &chart)
        .map_or(String::new(), |json| format!(r#"<script type="application/json" class="{DATA_CLASS}">{json}</script>"#));
    let table = points_table(lang, &chart);
    format!(r#"<div class="tchart" data-chart="{}">{}{data}{table}</div>{csv}"#, esc(id), figure::time_lines(&chart))
}

/// Every point a chart over time shows, as a table for screen readers (visually hidden, class
/// `vh`): the time in Beijing time, then each line's value as the page writes it ("-" where a
/// line has none). The SVG's per-point titles and the ECharts canvas are no table a screen reader
/// can walk; this is, with or without script. Empty when no point is shown.
fn points_table(lang: Lang, c: &TimeChart<'_>) -> String {
    let mut rows: std::collections::BTreeMap<i64, Vec<Option<String>>> = std::collections::BTreeMap::new();
    for (i, line) in c.lines.iter().enumerate() {
        for &(t, v) in c.shown(line) {
            rows.entry(t).or_insert_with(|| vec![None; c.lines.len()])[i] = Some((c.fmt.value)(v));
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    let mut out = format!(
        r#"<div class="vh"><table><caption>{}</caption><thead><tr><th scope="col">{}</th>"#,
        esc(c.title),
        lang.t("时间（北京时间 UTC+8）", "Time (Beijing, UTC+8)")
    );
    for line in c.lines {
        let _ = write!(out, r#"<th scope="col">{}</th>"#, esc(&line.name));
    }
    out.push_str("</tr></thead><tbody>");
    for (t, values) in rows {
        let _ = write!(out, r#"<tr><th scope="row">{}</th>"#, moment(t));
        for v in values {
            let _ = write!(out, "<td>{}</td>", esc(v.as_deref().unwrap_or("-")));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

/// What a screen reader says of the interactive chart (its `aria-label`, through ECharts' `aria`
/// option), in the page's language: the title, the time span in Beijing time, the unit, each
/// line's lowest, highest and latest point with its time, the limit, and where every point's
/// value is (the table after the chart, and its CSV).
fn describe(lang: Lang, c: &TimeChart<'_>, (t0, t1): (i64, i64)) -> String {
    let mut out = match lang {
        Lang::Zh => format!("{}。北京时间（UTC+8）{} 至 {}，单位：{}。", c.title, moment(t0), moment(t1), c.unit),
        Lang::En => format!("{}. Beijing time (UTC+8), {} to {}, in {}.", c.title, moment(t0), moment(t1), c.unit),
    };
    let at = |p: &(i64, f64)| match lang {
        Lang::Zh => format!("{}（{}）", (c.fmt.value)(p.1), moment(p.0)),
        Lang::En => format!("{} ({})", (c.fmt.value)(p.1), moment(p.0)),
    };
    for line in c.lines {
        let points: Vec<&(i64, f64)> = c.shown(line).collect();
        let (Some(lo), Some(hi), Some(last)) =
            (points.iter().min_by(|a, b| a.1.total_cmp(&b.1)), points.iter().max_by(|a, b| a.1.total_cmp(&b.1)), points.last())
        else {
            continue;
        };
        let _ = match lang {
            Lang::Zh => write!(out, "{}：{} 个点，最低 {}，最高 {}，最新 {}。", line.name, points.len(), at(lo), at(hi), at(last)),
            Lang::En => {
                let n = if points.len() == 1 { "1 point".to_string() } else { format!("{} points", points.len()) };
                write!(out, " {}: {n}, lowest {}, highest {}, latest {}.", line.name, at(lo), at(hi), at(last))
            }
        };
    }
    if let Some(l) = c.limit {
        out.push_str(&match lang {
            Lang::Zh => format!("{}。", l.label),
            Lang::En => format!(" {}.", l.label),
        });
    }
    out.push_str(lang.t(
        "每个点的数值见图表后的数据表，也可导出图表数据 (CSV)。",
        " Every point's value is in the table after the chart and in the chart's data (CSV).",
    ));
    out
}

/// The class of a chart's data (`<script type="application/json">`): a page that has one loads
/// the interactive charts' scripts (`assets.rs`).
pub const DATA_CLASS: &str = "chart-data";

/// What `assets/charts.js` needs to draw a chart over time with ECharts, the same as the SVG
/// shows: the time axis's span and the value axis's ends and step (suanli-charts' rules), the
/// unit and the words in the page's language, the limit, and each line with its points in the
/// window (unix ms, the value, the value as the page writes it), and what a screen reader says
/// of it (`describe`). `None` when no point is shown.
/// `<` is escaped so the JSON cannot close its `<script>`.
fn chart_data(lang: Lang, c: &TimeChart<'_>) -> Option<String> {
    let (t0, t1) = c.time_span()?;
    let lines: Vec<serde_json::Value> = c
        .lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let points: Vec<serde_json::Value> = c.shown(line).map(|&(t, v)| serde_json::json!([t, v, (c.fmt.value)(v)])).collect();
            serde_json::json!({ "name": line.name, "colour": figure::LINE_COLOURS[i % figure::LINE_COLOURS.len()], "points": points })
        })
        .collect();
    if lines.iter().all(|l| l["points"].as_array().is_none_or(Vec::is_empty)) {
        return None;
    }
    let (min, max, step) = c.value_axis();
    let data = serde_json::json!({
        "title": c.title,
        "description": describe(lang, c, (t0, t1)),
        "unit": c.unit,
        "timeAxis": c.words.time_axis,
        "x": [t0, t1],
        "y": [min, max, step],
        "limit": c.limit.map(|l| serde_json::json!({ "value": l.value, "label": l.label, "text": (c.fmt.value)(l.value) })),
        "lines": lines,
    });
    Some(data.to_string().replace('<', "\\u003c"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use suanli_core::time::MS_PER_DAY;

    #[test]
    fn a_window_bounds_the_points_and_the_csv_link_is_there() {
        let lines = [Line { name: "x".into(), points: vec![(0, 1.0), (MS_PER_DAY, 2.0), (2 * MS_PER_DAY, 3.0)] }];
        let fmt = |v: f64| format!("{v:.1}");
        let svg = time_lines(Lang::En, "x", "x", "u", &lines, Scale::Fit, None, Formats::same(&fmt), Some((MS_PER_DAY, 3 * MS_PER_DAY)));
        assert_eq!(svg.matches("<circle").count(), 2, "the point before the window is left out");
        assert!(svg.contains("table=x-data") && svg.contains("Chart data (CSV)"), "{svg}");
    }

    #[test]
    fn a_chart_carries_its_data_which_cannot_close_its_script() {
        let lines = [Line { name: "</script><b>".into(), points: vec![(0, 1.5), (MS_PER_DAY, f64::NAN), (2 * MS_PER_DAY, 2.25)] }];
        let limit = Limit { value: 2.0, label: "limit".into() };
        let fmt = |v: f64| format!("{v:.2} kW");
        let html = time_lines(Lang::En, "x", "x", "kW", &lines, Scale::FromZero, Some(&limit), Formats::same(&fmt), None);
        let open = r#"<script type="application/json" class="chart-data">"#;
        let json = &html[html.find(open).unwrap() + open.len()..];
        let json = &json[..json.find("</script>").unwrap()];
        assert!(!json.contains('<'), "{json}");
        let data: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(data["lines"][0]["name"], "</script><b>");
        assert_eq!(
            data["lines"][0]["points"],
            serde_json::json!([[0, 1.5, "1.50 kW"], [2 * MS_PER_DAY, 2.25, "2.25 kW"]]),
            "measured points only"
        );
        assert_eq!(data["limit"], serde_json::json!({ "value": 2.0, "label": "limit", "text": "2.00 kW" }));
        assert_eq!(data["x"], serde_json::json!([0, 2 * MS_PER_DAY]));
        assert_eq!(data["y"][0], 0.0, "from zero, as the SVG's axis");
        let empty = [Line { name: "x".into(), points: vec![] }];
        let html = time_lines(Lang::En, "e", "e", "u", &empty, Scale::Fit, None, Formats::same(&fmt), None);
        assert!(!html.contains("chart-data"), "no data, nothing to draw: {html}");
    }

    /// The JSON data a chart carries.
    fn data_of(html: &str) -> serde_json::Value {
        let open = r#"<script type="application/json" class="chart-data">"#;
        let json = &html[html.find(open).unwrap() + open.len()..];
        serde_json::from_str(&json[..json.find("</script>").unwrap()]).unwrap()
    }

    #[test]
    fn a_chart_over_time_is_described_and_tabled_for_screen_readers_in_the_pages_language() {
        let points = vec![(0, 1.30), (MS_PER_DAY, f64::NAN), (2 * MS_PER_DAY, 1.20), (3 * MS_PER_DAY, 1.22)];
        let fmt = |v: f64| format!("{v:.2}");
        for (lang, name, limit, want) in [
            (
                Lang::Zh,
                "每日 PUE",
                "新建数据中心 PUE 限值 1.25",
                "每日 PUE。北京时间（UTC+8）1970-01-01 08:00 至 1970-01-04 08:00，单位：PUE。每日 PUE：3 个点，最低 1.20（1970-01-03 08:00），\
                 最高 1.30（1970-01-01 08:00），最新 1.22（1970-01-04 08:00）。新建数据中心 PUE 限值 1.25。每个点的数值见图表后的数据表，也可导出图表数据 (CSV)。",
            ),
            (
                Lang::En,
                "Daily PUE",
                "PUE limit for new data centres 1.25",
                "Daily PUE. Beijing time (UTC+8), 1970-01-01 08:00 to 1970-01-04 08:00, in PUE. Daily PUE: 3 points, lowest 1.20 (1970-01-03 08:00), \
                 highest 1.30 (1970-01-01 08:00), latest 1.22 (1970-01-04 08:00). PUE limit for new data centres 1.25. \
                 Every point's value is in the table after the chart and in the chart's data (CSV).",
            ),
        ] {
            let lines = [Line { name: name.into(), points: points.clone() }];
            let limit = Limit { value: 1.25, label: limit.into() };
            let html = time_lines(lang, "p", name, "PUE", &lines, Scale::Fit, Some(&limit), Formats::same(&fmt), None);
            assert_eq!(data_of(&html)["description"], want);
            let head = lang.t("时间（北京时间 UTC+8）", "Time (Beijing, UTC+8)");
            assert!(
                html.contains(&format!(
                    r#"<div class="vh"><table><caption>{name}</caption><thead><tr><th scope="col">{head}</th><th scope="col">{name}</th></tr></thead><tbody><tr><th scope="row">1970-01-01 08:00</th><td>1.30</td></tr><tr><th scope="row">1970-01-03 08:00</th><td>1.20</td></tr>"#
                )),
                "the measured points in a hidden table: {html}"
            );
            assert_eq!(html.matches(r#"<th scope="row">"#).count(), 3, "no row for the gap");
        }
        let empty = [Line { name: "x".into(), points: vec![] }];
        let html = time_lines(Lang::En, "e", "e", "u", &empty, Scale::Fit, None, Formats::same(&fmt), None);
        assert!(!html.contains("<table"), "no points, no table");
    }

    #[test]
    fn charts_have_hover_values_legends_and_limits() {
        let lines = [Line { name: "使用率".into(), points: vec![(0, 10.0), (3_600_000, 55.5)] }];
        let svg =
            time_lines(Lang::Zh, "u", "使用率", "%", &lines, Scale::Fixed(0.0, 100.0), None, Formats::same(&|v| format!("{v:.0}%")), None);
        assert!(svg.contains(">100%<") && svg.contains(">0%<") && svg.contains("<title>1970-01-01 09:00 · 使用率: 56%</title>"), "{svg}");
        assert!(svg.contains("北京时间") && svg.contains(r#"class="legend""#));
        let bars = [
            PueBar { id: "a".into(), name: "甲".into(), pue: 1.31, fails_rule: true },
            PueBar { id: "b".into(), name: "乙".into(), pue: 1.18, fails_rule: false },
        ];
        let svg = pue_bars(Lang::Zh, "p", "PUE", &bars, 1.25);
        assert!(
            svg.contains(RED) && svg.contains(GREEN) && svg.contains("新建数据中心 PUE 限值 1.25") && svg.contains("href=\"/centres/a\"")
        );
        assert!(!svg.contains(">0.00<"), "the axis does not start at 0: {svg}");
    }
}
