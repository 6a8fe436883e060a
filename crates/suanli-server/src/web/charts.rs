//! The web UI's charts, drawn on the server as SVG: PUE bars against the new-data-centre limit, and lines over calendar time in Asia/Shanghai; each with its unit, an HTML legend (readable at any width), limit lines, an axis fitted to the data, and the value of every bar and point on hover (an SVG `<title>`). Lines over time follow the page's time range (`?range=`, chosen by [`range_picker`]'s links) and export their points as CSV.

use super::labels::SHANGHAI_OFFSET_MS;
use super::{Lang, esc};
use std::fmt::Write;
use suanli_core::time::{MS_PER_DAY, civil_from_days};

/// The drawing's width in user units; the box shows it at least 640 px wide (see `chart`), so
/// 12 px text stays 12 px on a phone.
const W: f64 = 640.0;
const HOUR: i64 = 3_600_000;

/// Colours: compliant, over the limit where the rule applies, over it where it does not.
pub const GREEN: &str = "#067647";
pub const RED: &str = "#b42318";
pub const AMBER: &str = "#b54708";
/// Lines, in order.
pub const LINE_COLOURS: [&str; 5] = ["#2e6fdb", "#b54708", "#067647", "#7a2e98", "#475467"];

/// One entry of a legend: a filled swatch, or a dashed line (a limit).
#[derive(Debug)]
pub enum Key<'a> {
    Swatch(&'a str, String),
    Dashed(String),
}

/// A legend as an HTML list under the chart.
pub fn legend(keys: &[Key<'_>]) -> String {
    let mut out = String::from(r#"<ul class="legend">"#);
    for k in keys {
        match k {
            Key::Swatch(colour, label) => {
                let _ = write!(out, r#"<li><span class="sw" style="background:{colour}"></span>{}</li>"#, esc(label));
            }
            Key::Dashed(label) => {
                let _ = write!(out, r#"<li><span class="ln"></span>{}</li>"#, esc(label));
            }
        }
    }
    out.push_str("</ul>");
    out
}

/// A round step for about `n` ticks over `span`.
fn nice_step(span: f64, n: f64) -> f64 {
    let raw = (span / n).max(1e-9);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag)
}

/// An axis over `[lo, hi]` widened by `margin` of the span on each side and rounded out to its
/// step: (min, max, step). A flat range gets a span of its own.
pub fn fit(lo: f64, hi: f64, margin: f64) -> (f64, f64, f64) {
    let span = if hi > lo { hi - lo } else { (lo.abs() * 0.1).max(0.05) };
    let (lo, hi) = (lo - span * margin, hi + span * margin);
    let step = nice_step(hi - lo, 5.0);
    ((lo / step).floor() * step, (hi / step).ceil() * step, step)
}

fn ticks(min: f64, max: f64, step: f64) -> Vec<f64> {
    let n = ((max - min) / step).round() as i64;
    (0..=n).map(|i| min + i as f64 * step).collect()
}

fn decimals(step: f64) -> usize {
    if step >= 1.0 { 0 } else { (-step.log10().floor()) as usize }
}

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
    let (left, right, top, row_h) = (232.0, 52.0, 22.0, 22.0);
    let lo = bars.iter().map(|b| b.pue).fold(limit, f64::min);
    let hi = bars.iter().map(|b| b.pue).fold(limit, f64::max);
    let (min, max, step) = fit(lo, hi, 0.1);
    let h = top + row_h * bars.len() as f64 + 34.0;
    let x = |v: f64| left + (v - min) / (max - min) * (W - left - right);
    let mut svg =
        format!(r#"<svg viewBox="0 0 {W} {h}" width="100%" role="img" aria-labelledby="t-{id}"><title id="t-{id}">{}</title>"#, esc(title));
    let bottom = top + row_h * bars.len() as f64;
    for t in ticks(min, max, step) {
        let _ = write!(
            svg,
            r##"<line x1="{tx:.1}" x2="{tx:.1}" y1="{top}" y2="{bottom}" stroke="#eaecf0"/><text x="{tx:.1}" y="{ly}" text-anchor="middle">{t:.d$}</text>"##,
            tx = x(t),
            ly = bottom + 16.0,
            d = decimals(step).max(2),
        );
    }
    let _ = write!(svg, r#"<text x="{}" y="{}" text-anchor="end">PUE</text>"#, W - 4.0, bottom + 30.0);
    for (i, b) in bars.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let (colour, status) = if b.fails_rule {
            (RED, lang.t("新建数据中心，超过限值", "new data centre, over the limit"))
        } else if b.pue >= limit {
            (AMBER, lang.t("超过限值（政策前建成，不适用新建限值）", "over the limit (built before the policy: not held to it)"))
        } else {
            (GREEN, lang.t("低于限值", "below the limit"))
        };
        let name: String = if b.name.chars().count() > 32 { b.name.chars().take(31).chain(['…']).collect() } else { b.name.clone() };
        let _ = write!(
            svg,
            r#"<a href="/centres/{cid}"><text x="{tx}" y="{ty}" text-anchor="end">{n}<title>{full}</title></text></a><rect x="{left}" y="{ry}" width="{bw:.1}" height="{bh}" fill="{colour}"><title>{full}: PUE {pue:.2} · {status}</title></rect><text x="{vx:.1}" y="{ty}">{pue:.2}</text>"#,
            cid = esc(&b.id),
            tx = left - 6.0,
            ty = y + 15.0,
            n = esc(&name),
            full = esc(&b.name),
            ry = y + 3.0,
            bw = (x(b.pue.clamp(min, max)) - left).max(1.0),
            bh = row_h - 6.0,
            pue = b.pue,
            vx = x(b.pue.clamp(min, max)) + 4.0,
            status = esc(status),
        );
    }
    let _ = write!(
        svg,
        r##"<line x1="{lx:.1}" x2="{lx:.1}" y1="{y1}" y2="{bottom}" stroke="#1a1a1a" stroke-width="1.5" stroke-dasharray="5 3"><title>{t}</title></line><text x="{lx:.1}" y="14" text-anchor="middle">{limit:.2}</text></svg>"##,
        lx = x(limit),
        y1 = top - 4.0,
        t = esc(&limit_label(lang, limit)),
    );
    let keys = [
        Key::Swatch(GREEN, format!("{} {limit:.2}", lang.t("低于", "below"))),
        Key::Swatch(RED, lang.t("新建数据中心超过限值（不达标）", "new data centre over the limit (not met)").to_string()),
        Key::Swatch(
            AMBER,
            lang.t("超过限值，政策前建成（不适用）", "over the limit, built before the policy (not held to it)").to_string(),
        ),
        Key::Dashed(limit_label(lang, limit)),
    ];
    format!(r#"<div class="chart">{svg}</div>{}"#, legend(&keys))
}

/// The limit line's words.
pub fn limit_label(lang: Lang, limit: f64) -> String {
    format!("{} {limit:.2}", lang.t("新建数据中心 PUE 限值", "PUE limit for new data centres"))
}

/// One line over time: points at unix ms.
#[derive(Debug, Clone)]
pub struct Line {
    pub name: String,
    pub points: Vec<(i64, f64)>,
}

/// How the value axis runs.
#[derive(Debug, Clone, Copy)]
pub enum Scale {
    /// Fixed ends, e.g. 0 to 100 %.
    Fixed(f64, f64),
    /// Fitted to the data (and the limit) with a margin; not from 0.
    Fit,
    /// From 0 to the data's maximum (amounts that add up, like money).
    FromZero,
}

/// A horizontal limit line and its words.
#[derive(Debug, Clone)]
pub struct Limit {
    pub value: f64,
    pub label: String,
}

/// How a chart writes its values: ticks on the axis, and measured values on hover.
#[derive(Clone, Copy)]
pub struct Formats<'a> {
    pub tick: &'a dyn Fn(f64) -> String,
    pub value: &'a dyn Fn(f64) -> String,
}

impl std::fmt::Debug for Formats<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Formats").finish_non_exhaustive()
    }
}

impl<'a> Formats<'a> {
    /// The same words for ticks and values.
    pub fn same(f: &'a dyn Fn(f64) -> String) -> Formats<'a> {
        Formats { tick: f, value: f }
    }
}

/// Unix ms as Beijing time: (year, month, day, hour, minute).
fn local(ms: i64) -> (i64, i64, i64, i64, i64) {
    let t = ms + SHANGHAI_OFFSET_MS;
    let (y, m, d) = civil_from_days(t.div_euclid(MS_PER_DAY));
    let in_day = t.rem_euclid(MS_PER_DAY);
    (y, m, d, in_day / HOUR, in_day % HOUR / 60_000)
}

/// A moment for a hover title: "2026-12-01 14:05".
pub fn moment(ms: i64) -> String {
    let (y, m, d, h, min) = local(ms);
    format!("{y}-{m:02}-{d:02} {h:02}:{min:02}")
}

/// Ticks on calendar boundaries in Beijing time (hours or days), at most about six.
fn time_ticks(from: i64, to: i64) -> (Vec<i64>, bool) {
    let steps =
        [HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, MS_PER_DAY, 2 * MS_PER_DAY, 7 * MS_PER_DAY, 14 * MS_PER_DAY, 28 * MS_PER_DAY];
    let span = (to - from).max(1);
    let step = steps.iter().copied().find(|s| span / s <= 6).unwrap_or(((span / 6 / MS_PER_DAY) + 1) * MS_PER_DAY);
    let first = (from + SHANGHAI_OFFSET_MS).div_euclid(step) * step - SHANGHAI_OFFSET_MS;
    let ticks = (0..).map(|i| first + i * step).skip_while(|t| *t < from).take_while(|t| *t <= to).collect();
    (ticks, step < MS_PER_DAY)
}

/// The time range a page's charts over time show: `?range=24h|7d|30d|all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Day,
    Week,
    Month,
    All,
}

impl Range {
    pub const EVERY: [Range; 4] = [Range::Day, Range::Week, Range::Month, Range::All];

    /// Its value in the query.
    pub fn param(self) -> &'static str {
        match self {
            Range::Day => "24h",
            Range::Week => "7d",
            Range::Month => "30d",
            Range::All => "all",
        }
    }

    /// The range the request asks for (`?range=`), else `default`.
    pub fn chosen(default: Range) -> Range {
        let asked = super::table::param("range");
        Range::EVERY.into_iter().find(|r| asked.as_deref() == Some(r.param())).unwrap_or(default)
    }

    /// Its length, or none for everything recorded.
    pub fn span_ms(self) -> Option<i64> {
        match self {
            Range::Day => Some(MS_PER_DAY),
            Range::Week => Some(7 * MS_PER_DAY),
            Range::Month => Some(30 * MS_PER_DAY),
            Range::All => None,
        }
    }

    /// Its name on a page.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Range::Day => lang.t("近 24 小时", "Last 24 h"),
            Range::Week => lang.t("近 7 天", "Last 7 days"),
            Range::Month => lang.t("近 30 天", "Last 30 days"),
            Range::All => lang.t("全部", "All"),
        }
    }

    /// The window it shows up to `now`: from `earliest` (the first thing recorded) for everything.
    pub fn window(self, now: i64, earliest: i64) -> (i64, i64) {
        match self.span_ms() {
            Some(span) => (now - span, now),
            None => (earliest.min(now - HOUR), now),
        }
    }
}

/// The links that choose the page's time range (they keep the rest of the query), the chosen
/// one marked `aria-current`; they work without script.
pub fn range_picker(lang: Lang, chosen: Range) -> String {
    let mut out = format!(
        r#"<nav class="range" id="range" aria-label="{}"><span>{}</span>"#,
        lang.t("时间范围", "Time range"),
        lang.t("时间范围：", "Time range:")
    );
    for r in Range::EVERY {
        let href = super::table::relink(&[("range".to_string(), Some(r.param().to_string()))]);
        let mark = if r == chosen { r#" aria-current="true""# } else { "" };
        let _ = write!(out, r##"<a href="{}#range" data-range="{}"{mark}>{}</a>"##, esc(&href), r.param(), r.label(lang));
    }
    out.push_str("</nav>");
    out
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
    format!("{}{csv}", draw_lines(lang, id, title, unit, lines, scale, limit, fmt, window))
}

#[allow(clippy::too_many_arguments)]
fn draw_lines(
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
    let (left, right, top, bottom) = (72.0, 16.0, 24.0, 262.0);
    let h = bottom + 42.0;
    let inside = move |t: i64| window.is_none_or(|(a, b)| (a..=b).contains(&t));
    let all = || lines.iter().flat_map(|l| l.points.iter()).filter(move |p| inside(p.0));
    let (t0, t1) = match window {
        Some((a, b)) if all().next().is_some() => (Some(a), Some(b)),
        _ => (all().map(|p| p.0).min(), all().map(|p| p.0).max()),
    };
    let mut svg =
        format!(r#"<svg viewBox="0 0 {W} {h}" width="100%" role="img" aria-labelledby="t-{id}"><title id="t-{id}">{}</title>"#, esc(title));
    let _ = write!(svg, r#"<text x="4" y="14">{}</text>"#, esc(unit));
    let (Some(t0), Some(t1)) = (t0, t1) else {
        let _ =
            write!(svg, r#"<text x="{}" y="{}" text-anchor="middle">{}</text></svg>"#, W / 2.0, h / 2.0, lang.t("暂无数据", "No data yet"));
        return format!(r#"<div class="chart">{svg}</div>"#);
    };
    let (t0, t1) = if t1 > t0 { (t0, t1) } else { (t0 - HOUR, t1 + HOUR) };
    let values = || all().map(|p| p.1).filter(|v| v.is_finite()).chain(limit.map(|l| l.value));
    let lo = values().fold(f64::INFINITY, f64::min);
    let hi = values().fold(f64::NEG_INFINITY, f64::max);
    let (min, max, step) = match scale {
        Scale::Fixed(a, b) => (a, b, nice_step(b - a, 5.0)),
        Scale::Fit => fit(lo, hi, 0.1),
        Scale::FromZero => {
            let (_, top, step) = fit(0.0, hi.max(0.0), 0.05);
            (0.0, top, step)
        }
    };
    let x = |t: i64| left + (t - t0) as f64 / (t1 - t0) as f64 * (W - left - right);
    let y = |v: f64| bottom - (v.clamp(min, max) - min) / (max - min) * (bottom - top);
    for v in ticks(min, max, step) {
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{r}" y1="{py:.1}" y2="{py:.1}" stroke="#eaecf0"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{}</text>"##,
            esc(&(fmt.tick)(v)),
            r = W - right,
            py = y(v),
            tx = left - 6.0,
            ty = y(v) + 4.0,
        );
    }
    let (xt, hourly) = time_ticks(t0, t1);
    for t in xt {
        let (_, m, d, hh, mm) = local(t);
        let label = if hourly && (hh, mm) != (0, 0) { format!("{hh:02}:{mm:02}") } else { format!("{m:02}-{d:02}") };
        let _ = write!(
            svg,
            r##"<line x1="{px:.1}" x2="{px:.1}" y1="{bottom}" y2="{b2}" stroke="#475467"/><text x="{px:.1}" y="{ly}" text-anchor="middle">{label}</text>"##,
            px = x(t),
            b2 = bottom + 4.0,
            ly = bottom + 18.0,
        );
    }
    let _ = write!(
        svg,
        r##"<line x1="{left}" x2="{r}" y1="{bottom}" y2="{bottom}" stroke="#475467"/><text x="{r}" y="{ly}" text-anchor="end">{}</text>"##,
        lang.t("北京时间 (UTC+8)", "Beijing time (UTC+8)"),
        r = W - right,
        ly = bottom + 36.0,
    );
    if let Some(l) = limit {
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{r}" y1="{py:.1}" y2="{py:.1}" stroke="#1a1a1a" stroke-width="1.5" stroke-dasharray="5 3"><title>{t}</title></line>"##,
            r = W - right,
            py = y(l.value),
            t = esc(&l.label),
        );
    }
    let mut keys = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let colour = LINE_COLOURS[i % LINE_COLOURS.len()];
        let shown = || line.points.iter().filter(move |p| p.1.is_finite() && inside(p.0));
        let pts: Vec<String> = shown().map(|&(t, v)| format!("{:.1},{:.1}", x(t), y(v))).collect();
        let _ = write!(svg, r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#, pts.join(" "));
        for &(t, v) in shown() {
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{} · {}: {}</title></circle>"#,
                x(t),
                y(v),
                moment(t),
                esc(&line.name),
                esc(&(fmt.value)(v)),
            );
        }
        keys.push(Key::Swatch(colour, line.name.clone()));
    }
    if let Some(l) = limit {
        keys.push(Key::Dashed(l.label.clone()));
    }
    svg.push_str("</svg>");
    format!(r#"<div class="chart">{svg}</div>{}"#, legend(&keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pue_axis_fits_the_data_with_a_margin_and_does_not_start_at_zero() {
        let (min, max, step) = fit(1.12, 1.48, 0.1);
        assert!((1.0 - 1e-9..=1.12 - 0.036 + 1e-9).contains(&min), "{min}");
        assert!((1.48 + 0.036 - 1e-9..1.7).contains(&max), "{max}");
        assert!(step > 0.0 && step <= 0.1);
        let (min, max, _) = fit(1.25, 1.25, 0.1);
        assert!(min < 1.25 && max > 1.25);
        let (min, max, _) = fit(1.30, 1.50, 0.1);
        assert!((min - 1.25).abs() < 1e-9 && (max - 1.55).abs() < 1e-9, "{min} {max}");
    }

    #[test]
    fn time_ticks_fall_on_beijing_hours_and_days() {
        // 2026-12-01 00:00 Beijing is 2026-11-30 16:00 UTC.
        let midnight = suanli_core::time::parse_date("2026-12-01").unwrap() - SHANGHAI_OFFSET_MS;
        assert_eq!(moment(midnight), "2026-12-01 00:00");
        let (t, hourly) = time_ticks(midnight + 30 * 60_000, midnight + 10 * HOUR);
        assert!(hourly);
        assert_eq!(t.first().map(|t| moment(*t)), Some("2026-12-01 02:00".to_string()));
        let (t, hourly) = time_ticks(midnight, midnight + 29 * MS_PER_DAY);
        assert!(!hourly && t.iter().all(|t| moment(*t).ends_with("00:00")), "{:?}", t.iter().map(|t| moment(*t)).collect::<Vec<_>>());
    }

    #[test]
    fn a_time_range_marks_its_link_and_bounds_the_axis_and_the_points() {
        assert_eq!(Range::chosen(Range::Month), Range::Month, "no request: the default");
        let picker = range_picker(Lang::Zh, Range::Day);
        assert_eq!(picker.matches("<a href=").count(), 4);
        assert!(picker.contains(r#"data-range="24h" aria-current="true">近 24 小时</a>"#), "{picker}");
        assert_eq!(Range::Week.window(10 * MS_PER_DAY, 0), (3 * MS_PER_DAY, 10 * MS_PER_DAY));
        assert_eq!(Range::All.window(10 * MS_PER_DAY, 5), (5, 10 * MS_PER_DAY));
        let lines = [Line { name: "x".into(), points: vec![(0, 1.0), (MS_PER_DAY, 2.0), (2 * MS_PER_DAY, 3.0)] }];
        let fmt = |v: f64| format!("{v:.1}");
        let svg = time_lines(Lang::En, "x", "x", "u", &lines, Scale::Fit, None, Formats::same(&fmt), Some((MS_PER_DAY, 3 * MS_PER_DAY)));
        assert_eq!(svg.matches("<circle").count(), 2, "the point before the window is left out");
        assert!(svg.contains("table=x-data") && svg.contains("Chart data (CSV)"), "{svg}");
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
