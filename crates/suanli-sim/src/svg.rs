//! A small standalone SVG writer for the simulator's charts: line charts (linear or log x) and bar charts.
//!
//! Hand-written rather than a plotting crate because the charts are few and fixed, and the
//! output must stay byte-for-byte deterministic for a given input. Every number written is
//! finite: points that cannot be drawn (NaN, infinities, absurd magnitudes, non-positive x on
//! a log axis) are dropped, and empty inputs draw empty axes with a "no data" note.

use std::fmt::Write;

/// One line of a line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 420.0;
const PLOT_LEFT: f64 = 78.0;
const PLOT_RIGHT: f64 = 548.0;
const PLOT_TOP: f64 = 50.0;
const PLOT_BOTTOM: f64 = 360.0;
const LEGEND_X: f64 = 562.0;
/// Legend rows that fit between the top of the plot and the bottom of the canvas.
const LEGEND_ROWS: usize = 17;
/// Legend names are cut to this many characters so they stay on the canvas.
const LEGEND_CHARS: usize = 20;

/// Covers Chinese on Linux, macOS and Windows before falling back to the generic family.
const FONT_FAMILY: &str = "Noto Sans CJK SC, PingFang SC, Microsoft YaHei, sans-serif";

/// Okabe-Ito, ordered so the first few are the most distinct on white (yellow last but one:
/// it is faint as a thin line).
const COLOURS: [&str; 8] = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"];

/// After eight series the colours repeat, so the dash pattern tells the cycles apart.
const DASHES: [&str; 3] = ["", "6 3", "2 3"];

/// Beyond this magnitude a value is treated as corrupt: nice-number arithmetic on it would
/// overflow to infinity.
const MAX_MAGNITUDE: f64 = 1e100;

/// A line chart; with `log_x`, points with x <= 0 are dropped and ticks sit at powers of ten.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series], log_x: bool) -> String {
    let clean: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| s.points.iter().copied().filter(|&(x, y)| plottable(x) && plottable(y) && (!log_x || x > 0.0)).collect())
        .collect();
    let all = || clean.iter().flatten();
    let xs = bounds(all().map(|p| p.0));
    let ys = bounds(all().map(|p| p.1));
    let x_axis = match (xs, log_x) {
        (Some((lo, hi)), true) => Axis::log(lo, hi),
        (Some((lo, hi)), false) => Axis::linear(lo, hi),
        (None, true) => Axis::log(1.0, 10.0),
        (None, false) => Axis::linear(0.0, 1.0),
    };
    let y_axis = match ys {
        Some((lo, hi)) => Axis::linear(lo.min(0.0), hi),
        None => Axis::linear(0.0, 1.0),
    };

    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    let desc = format!(
        "Line chart of {} against {}{}; series: {}.",
        y_label,
        x_label,
        if log_x { " (logarithmic)" } else { "" },
        if names.is_empty() { "none".to_string() } else { names.join(", ") }
    );
    let mut out = open(title, &desc);
    frame(&mut out, &x_axis, &y_axis, x_label, y_label);
    for (i, (s, pts)) in series.iter().zip(&clean).enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let dash = DASHES[(i / COLOURS.len()) % DASHES.len()];
        let _ = write!(out, "<g><title>{}</title>", esc(&s.name));
        let coords: Vec<(f64, f64)> =
            pts.iter().map(|&(x, y)| (x_axis.to_px(x, PLOT_LEFT, PLOT_RIGHT), y_axis.to_px(y, PLOT_BOTTOM, PLOT_TOP))).collect();
        if coords.len() >= 2 {
            let list: Vec<String> = coords.iter().map(|&(x, y)| format!("{},{}", px(x), px(y))).collect();
            let _ = write!(
                out,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" stroke-linejoin=\"round\"{}/>",
                list.join(" "),
                dash_attr(dash)
            );
        } else if let Some(&(x, y)) = coords.first() {
            let _ = write!(out, "<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{colour}\"/>", px(x), px(y));
        }
        out.push_str("</g>\n");
    }
    if clean.iter().all(Vec::is_empty) {
        no_data(&mut out);
    }
    legend(&mut out, series.iter().enumerate().map(|(i, s)| (s.name.clone(), i)), true);
    close(out)
}

/// A bar chart of one value per bar; `unit` labels the y axis. Non-finite values draw as 0.
pub fn bar_chart(title: &str, unit: &str, bars: &[(String, f64)]) -> String {
    let values: Vec<f64> = bars.iter().map(|(_, v)| if plottable(*v) { *v } else { 0.0 }).collect();
    let (lo, hi) = bounds(values.iter().copied()).unwrap_or((0.0, 0.0));
    let y_axis = Axis::linear(lo.min(0.0), hi.max(0.0));

    let desc = format!(
        "Bar chart in {unit}: {}.",
        if bars.is_empty() {
            "no bars".to_string()
        } else {
            bars.iter()
                .zip(&values)
                .map(|((n, _), v)| format!("{n} {}", format_number(*v, value_decimals(*v))))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let mut out = open(title, &desc);
    frame_y(&mut out, &y_axis, unit);
    let _ = writeln!(
        out,
        "<line x1=\"{l}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#333333\"/>",
        l = px(PLOT_LEFT),
        r = px(PLOT_RIGHT),
        b = px(PLOT_BOTTOM)
    );
    let slot = (PLOT_RIGHT - PLOT_LEFT) / bars.len().max(1) as f64;
    let zero = y_axis.to_px(0.0, PLOT_BOTTOM, PLOT_TOP);
    // Roughly 6.5 px per character at 11 px: enough to decide when to cut a category name.
    let label_chars = ((slot / 6.5) as usize).max(3);
    for (i, ((name, _), &v)) in bars.iter().zip(&values).enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let x = PLOT_LEFT + slot * i as f64 + slot * 0.15;
        let w = slot * 0.7;
        let top = y_axis.to_px(v, PLOT_BOTTOM, PLOT_TOP);
        let (y, h) = (top.min(zero), (top - zero).abs());
        let shown = format_number(v, value_decimals(v));
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{colour}\"><title>{}: {} {}</title></rect>",
            px(x),
            px(y),
            px(w),
            px(h),
            esc(name),
            esc(&shown),
            esc(unit)
        );
        let label_y = if v < 0.0 { y + h + 13.0 } else { y - 4.0 };
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">{}</text>",
            px(x + w / 2.0),
            px(label_y),
            esc(&shown)
        );
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">{}</text>",
            px(x + w / 2.0),
            px(PLOT_BOTTOM + 16.0),
            esc(&cut(name, label_chars))
        );
    }
    if bars.is_empty() {
        no_data(&mut out);
    }
    legend(&mut out, bars.iter().enumerate().map(|(i, (n, _))| (n.clone(), i)), false);
    close(out)
}

/// Formats `v` with `decimals` decimals and thin-free ASCII thousands separators ("1,234.50").
pub(crate) fn format_number(v: f64, decimals: usize) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut grouped = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    // "-0.00" would read as a loss of nothing; only print a sign for a visible amount.
    let negative = v < 0.0 && s.bytes().any(|b| (b'1'..=b'9').contains(&b));
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&grouped);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// Escapes text for XML element content and attribute values, dropping the control
/// characters XML 1.0 cannot carry at all.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

fn value_decimals(v: f64) -> usize {
    if v.abs() >= 100.0 { 0 } else { 2 }
}

fn plottable(v: f64) -> bool {
    v.is_finite() && v.abs() < MAX_MAGNITUDE
}

fn bounds(it: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    it.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// A pixel coordinate, one decimal, never NaN.
fn px(v: f64) -> String {
    let v = if v.is_finite() { v.clamp(-1e6, 1e6) } else { 0.0 };
    let s = format!("{v:.1}");
    if s == "-0.0" { "0.0".to_string() } else { s }
}

fn dash_attr(dash: &str) -> String {
    if dash.is_empty() { String::new() } else { format!(" stroke-dasharray=\"{dash}\"") }
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(max.saturating_sub(1)).collect();
        c.push('…');
        c
    }
}

/// An axis range with its tick positions.
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    ticks: Vec<f64>,
    /// Tick spacing for a linear axis, to choose how many decimals its labels need.
    step: f64,
}

impl Axis {
    /// Rounds the range out to "nice" ticks of 1, 2 or 5 times a power of ten.
    fn linear(lo: f64, hi: f64) -> Axis {
        let (mut lo, mut hi) = (lo, hi);
        if hi <= lo {
            let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
            if lo >= 0.0 && lo - pad < 0.0 {
                lo = 0.0;
            } else {
                lo -= pad;
            }
            hi += pad;
        }
        let step = nice_step((hi - lo) / 5.0);
        let first = (lo / step).floor();
        let last = (hi / step).ceil();
        let lo = first * step;
        let hi = last * step;
        let n = (last - first).clamp(1.0, 50.0) as usize;
        let ticks = (0..=n)
            .map(|i| {
                let t = (first + i as f64) * step;
                if t.abs() < step * 1e-9 { 0.0 } else { t }
            })
            .collect();
        Axis { lo, hi, log: false, ticks, step }
    }

    /// Whole decades around the positive range `lo..=hi`.
    fn log(lo: f64, hi: f64) -> Axis {
        let lo_e = lo.log10().floor() as i32;
        let mut hi_e = hi.log10().ceil() as i32;
        if hi_e <= lo_e {
            hi_e = lo_e + 1;
        }
        // Keep at most ~8 labels: wide ranges get a tick every few decades.
        let every = (((hi_e - lo_e) as f64 / 8.0).ceil() as i32).max(1);
        let ticks = (lo_e..=hi_e).filter(|e| (e - lo_e) % every == 0).map(|e| 10f64.powi(e)).collect();
        Axis { lo: 10f64.powi(lo_e), hi: 10f64.powi(hi_e), log: true, ticks, step: 0.0 }
    }

    fn to_px(&self, v: f64, p0: f64, p1: f64) -> f64 {
        let f = if self.log {
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        let f = if f.is_finite() { f } else { 0.0 };
        p0 + f * (p1 - p0)
    }

    fn label(&self, v: f64) -> String {
        if self.log {
            let e = v.log10().round() as i32;
            return match e {
                -3..=-1 => format!("{:.*}", (-e) as usize, v),
                0..=2 => format!("{v:.0}"),
                3..=5 => format!("{:.0}k", 10f64.powi(e - 3)),
                6..=8 => format!("{:.0}M", 10f64.powi(e - 6)),
                9..=11 => format!("{:.0}G", 10f64.powi(e - 9)),
                _ => format!("1e{e}"),
            };
        }
        if v == 0.0 {
            return "0".to_string();
        }
        let big = self.lo.abs().max(self.hi.abs());
        let (scale, suffix) = if big >= 1e9 {
            (1e9, "G")
        } else if big >= 1e6 {
            (1e6, "M")
        } else if big >= 1e4 {
            (1e3, "k")
        } else {
            (1.0, "")
        };
        let decimals = (-(self.step / scale).log10().floor()).clamp(0.0, 6.0) as usize;
        format!("{}{suffix}", format_number(v / scale, decimals))
    }
}

fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f < 1.5 {
        1.0
    } else if f < 3.0 {
        2.0
    } else if f < 7.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn open(title: &str, desc: &str) -> String {
    let mut out = String::with_capacity(8192);
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" font-family=\"{FONT_FAMILY}\" font-size=\"12\" fill=\"#222222\">",
        w = WIDTH,
        h = HEIGHT
    );
    let _ = writeln!(out, "<title>{}</title>\n<desc>{}</desc>", esc(title), esc(desc));
    let _ = writeln!(out, "<rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#ffffff\"/>");
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"28\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">{}</text>",
        px(WIDTH / 2.0),
        esc(title)
    );
    out
}

fn close(mut out: String) -> String {
    out.push_str("</svg>\n");
    out
}

/// Grid, axes, ticks and labels of both axes.
fn frame(out: &mut String, x: &Axis, y: &Axis, x_label: &str, y_label: &str) {
    frame_y(out, y, y_label);
    out.push_str("<g class=\"x-axis\">");
    for &t in &x.ticks {
        let p = px(x.to_px(t, PLOT_LEFT, PLOT_RIGHT));
        let _ = write!(
            out,
            "<line x1=\"{p}\" y1=\"{top}\" x2=\"{p}\" y2=\"{b}\" stroke=\"#e6e6e6\"/><line x1=\"{p}\" y1=\"{b}\" x2=\"{p}\" y2=\"{b5}\" stroke=\"#333333\"/><text x=\"{p}\" y=\"{ty}\" text-anchor=\"middle\">{}</text>",
            esc(&x.label(t)),
            top = px(PLOT_TOP),
            b = px(PLOT_BOTTOM),
            b5 = px(PLOT_BOTTOM + 5.0),
            ty = px(PLOT_BOTTOM + 19.0)
        );
    }
    let _ = writeln!(
        out,
        "<line x1=\"{l}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#333333\"/></g>",
        l = px(PLOT_LEFT),
        r = px(PLOT_RIGHT),
        b = px(PLOT_BOTTOM)
    );
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\">{}</text>",
        px((PLOT_LEFT + PLOT_RIGHT) / 2.0),
        px(PLOT_BOTTOM + 44.0),
        esc(x_label)
    );
}

fn frame_y(out: &mut String, y: &Axis, y_label: &str) {
    out.push_str("<g class=\"y-axis\">");
    for &t in &y.ticks {
        let p = px(y.to_px(t, PLOT_BOTTOM, PLOT_TOP));
        let _ = write!(
            out,
            "<line x1=\"{l}\" y1=\"{p}\" x2=\"{r}\" y2=\"{p}\" stroke=\"#e6e6e6\"/><line x1=\"{l5}\" y1=\"{p}\" x2=\"{l}\" y2=\"{p}\" stroke=\"#333333\"/><text x=\"{tx}\" y=\"{p}\" text-anchor=\"end\" dominant-baseline=\"middle\">{}</text>",
            esc(&y.label(t)),
            l = px(PLOT_LEFT),
            r = px(PLOT_RIGHT),
            l5 = px(PLOT_LEFT - 5.0),
            tx = px(PLOT_LEFT - 9.0)
        );
    }
    let _ = writeln!(
        out,
        "<line x1=\"{l}\" y1=\"{t}\" x2=\"{l}\" y2=\"{b}\" stroke=\"#333333\"/></g>",
        l = px(PLOT_LEFT),
        t = px(PLOT_TOP),
        b = px(PLOT_BOTTOM)
    );
    let cy = px((PLOT_TOP + PLOT_BOTTOM) / 2.0);
    let _ = writeln!(
        out,
        "<text x=\"20\" y=\"{cy}\" text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 20 {cy})\">{}</text>",
        esc(y_label)
    );
}

fn no_data(out: &mut String) {
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#777777\">no data</text>",
        px((PLOT_LEFT + PLOT_RIGHT) / 2.0),
        px((PLOT_TOP + PLOT_BOTTOM) / 2.0)
    );
}

/// Names with their colour swatch (a line for series, a square for bars), right of the plot.
fn legend(out: &mut String, entries: impl ExactSizeIterator<Item = (String, usize)>, lines: bool) {
    let total = entries.len();
    out.push_str("<g class=\"legend\">");
    for (row, (name, i)) in entries.enumerate() {
        if row + 1 == LEGEND_ROWS && total > LEGEND_ROWS {
            let _ =
                write!(out, "<text x=\"{}\" y=\"{}\">+{} more</text>", px(LEGEND_X), px(PLOT_TOP + 4.0 + row as f64 * 18.0), total - row);
            break;
        }
        let colour = COLOURS[i % COLOURS.len()];
        let y = PLOT_TOP + row as f64 * 18.0;
        if lines {
            let dash = DASHES[(i / COLOURS.len()) % DASHES.len()];
            let _ = write!(
                out,
                "<line x1=\"{}\" y1=\"{y0}\" x2=\"{}\" y2=\"{y0}\" stroke=\"{colour}\" stroke-width=\"3\"{}/>",
                px(LEGEND_X),
                px(LEGEND_X + 22.0),
                dash_attr(dash),
                y0 = px(y)
            );
        } else {
            let _ = write!(out, "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{colour}\"/>", px(LEGEND_X + 5.0), px(y - 6.0));
        }
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" dominant-baseline=\"middle\">{}</text>",
            px(LEGEND_X + 28.0),
            px(y),
            esc(&cut(&name, LEGEND_CHARS))
        );
    }
    out.push_str("</g>\n");
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A cheap well-formedness check: tags balance, one `svg` root, attribute quotes pair up,
    /// every `&` starts an entity, and no NaN or infinity leaked into the numbers.
    pub(crate) fn check_svg(s: &str) -> Result<(), String> {
        for bad in ["NaN", "inf"] {
            if s.contains(bad) {
                return Err(format!("contains {bad}"));
            }
        }
        let mut stack: Vec<&str> = Vec::new();
        let mut roots = 0;
        let mut rest = s;
        while let Some(i) = rest.find(['<', '&']) {
            let at = &rest[i..];
            if let Some(after) = at.strip_prefix('&') {
                let ok = ["amp;", "lt;", "gt;", "quot;", "apos;"].iter().any(|e| after.starts_with(e));
                if !ok {
                    return Err(format!("bare & before {:?}", after.chars().take(20).collect::<String>()));
                }
                rest = after;
                continue;
            }
            let end = at.find('>').ok_or("unclosed tag")?;
            let tag = &at[1..end];
            if tag.contains('<') {
                return Err(format!("'<' inside tag {tag:?}"));
            }
            if !tag.matches('"').count().is_multiple_of(2) {
                return Err(format!("unbalanced quotes in {tag:?}"));
            }
            if let Some(name) = tag.strip_prefix('/') {
                match stack.pop() {
                    Some(open) if open == name => {}
                    other => return Err(format!("</{name}> closes {other:?}")),
                }
            } else {
                let name = tag.split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or("");
                if name.is_empty() {
                    return Err("empty tag name".into());
                }
                if stack.is_empty() {
                    roots += 1;
                    if name != "svg" {
                        return Err(format!("root is {name}"));
                    }
                }
                if !tag.ends_with('/') {
                    stack.push(name);
                }
            }
            rest = &at[end + 1..];
        }
        if !stack.is_empty() {
            return Err(format!("unclosed {stack:?}"));
        }
        if roots != 1 {
            return Err(format!("{roots} roots"));
        }
        Ok(())
    }

    fn ok(s: &str) {
        if let Err(e) = check_svg(s) {
            panic!("{e}\n{s}");
        }
        assert!(s.contains("xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(s.contains("viewBox=\"0 0 720 420\""));
        assert!(s.contains("width=\"720\" height=\"420\""));
        assert!(s.contains("<title>"));
        assert!(s.contains("Noto Sans CJK SC"));
    }

    #[test]
    fn the_checker_catches_mistakes() {
        let cases = [
            "<svg><g></svg>",
            "<svg></g></svg>",
            "<svg><text>a & b</text></svg>",
            "<svg x=\"1></svg>",
            "<svg/><svg/>",
            "<svg><text>NaN</text></svg>",
            "<svg>",
        ];
        for c in cases {
            assert!(check_svg(c).is_err(), "{c}");
        }
        assert!(check_svg("<svg><g a=\"1\"/><text>a &amp; b</text></svg>").is_ok());
    }

    #[test]
    fn line_charts() {
        let s = |name: &str, points: Vec<(f64, f64)>| Series { name: name.into(), points };
        let cases: Vec<(Vec<Series>, bool)> = vec![
            (vec![], false),
            (vec![], true),
            (vec![s("empty", vec![])], true),
            (vec![s("one", vec![(5.0, 0.5)])], false),
            (vec![s("zero", vec![(0.0, 0.0), (0.0, 0.0)])], false),
            (vec![s("zero", vec![(0.0, 0.0), (0.0, 1.0)])], true),
            (vec![s("bad", vec![(f64::NAN, 1.0), (f64::INFINITY, 2.0), (1.0, f64::NEG_INFINITY), (1e300, 1.0)])], false),
            (
                vec![
                    s("fifo", vec![(30.0, 0.1), (3600.0, 0.5), (360_000.0, 1.0)]),
                    s("cost-aware", vec![(60.0, 0.2), (7200.0, 0.9), (90_000.0, 1.0)]),
                ],
                true,
            ),
            (vec![s("neg", vec![(-5.0, -2.0), (5.0, 3.0)])], false),
            ((0..20).map(|i| s(&format!("policy {i}"), vec![(1.0, f64::from(i)), (2.0, 1.0)])).collect(), false),
        ];
        for (series, log_x) in cases {
            ok(&line_chart("JCT <CDF> & \"co\"", "JCT (h)", "fraction", &series, log_x));
        }
    }

    #[test]
    fn labels_and_escaping_appear() {
        let series = [Series { name: "费用优先 <a&b>".into(), points: vec![(0.01, 0.0), (10.0, 0.5), (1000.0, 1.0)] }];
        let svg = line_chart("作业完成时间 & 'CDF'", "JCT (h)", "fraction of jobs", &series, true);
        ok(&svg);
        for want in [
            "作业完成时间 &amp; &apos;CDF&apos;",
            "JCT (h)",
            "fraction of jobs",
            "费用优先 &lt;a&amp;b&gt;",
            ">0.01<",
            ">1<",
            ">1k<",
            "<desc>",
        ] {
            assert!(svg.contains(want), "missing {want}");
        }
        assert!(!svg.contains("<a&b>"));
    }

    #[test]
    fn bar_charts() {
        let b = |v: &[(&str, f64)]| v.iter().map(|(n, x)| (n.to_string(), *x)).collect::<Vec<_>>();
        let cases = [
            b(&[]),
            b(&[("zero", 0.0)]),
            b(&[("a", 0.0), ("b", 0.0)]),
            b(&[("not a number", f64::NAN), ("huge", f64::INFINITY), ("ok", 3.0)]),
            b(&[("loss", -1234.5), ("gain", 5678.0)]),
            b(&[("fifo", 1_234_567.0), ("cost-aware", 987_654.3), ("a very long policy name indeed", 5.0)]),
        ];
        for bars in &cases {
            ok(&bar_chart("Cost per policy", "¥", bars));
        }
        let svg = bar_chart("Cost per policy", "¥", &cases[5]);
        for want in ["Cost per policy", "¥", "fifo", "1,234,567", "987,654", "<title>fifo: 1,234,567 ¥</title>"] {
            assert!(svg.contains(want), "missing {want}");
        }
    }

    #[test]
    fn nice_ticks() {
        let cases: &[(f64, f64, &[f64])] = &[
            (0.0, 1.0, &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
            (0.0, 97.0, &[0.0, 20.0, 40.0, 60.0, 80.0, 100.0]),
            (3.0, 3.0, &[2.7, 2.8, 2.9, 3.0, 3.1, 3.2, 3.3]),
            (0.0, 0.0, &[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
            (-0.3, 0.3, &[-0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3]),
        ];
        for (lo, hi, want) in cases {
            let got = Axis::linear(*lo, *hi).ticks;
            assert_eq!(got.len(), want.len(), "{lo}..{hi}: {got:?}");
            for (g, w) in got.iter().zip(*want) {
                assert!((g - w).abs() < 1e-9, "{lo}..{hi}: {got:?}");
            }
        }
        let log = Axis::log(0.5, 2000.0);
        assert_eq!(log.ticks, [0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0]);
        let labels: Vec<String> = log.ticks.iter().map(|&t| log.label(t)).collect();
        assert_eq!(labels, ["0.1", "1", "10", "100", "1k", "10k"]);
        let wide = Axis::log(1e-20, 1e20);
        assert!(wide.ticks.len() <= 9, "{:?}", wide.ticks);
        let money = Axis::linear(0.0, 1_234_567.0);
        let labels: Vec<String> = money.ticks.iter().map(|&t| money.label(t)).collect();
        assert_eq!(labels, ["0", "0.2M", "0.4M", "0.6M", "0.8M", "1.0M", "1.2M", "1.4M"]);
    }

    #[test]
    fn numbers() {
        let cases: &[(f64, usize, &str)] = &[
            (0.0, 2, "0.00"),
            (-0.001, 2, "0.00"),
            (999.0, 0, "999"),
            (1000.0, 0, "1,000"),
            (1_234_567.891, 2, "1,234,567.89"),
            (-1_234_567.0, 0, "-1,234,567"),
            (f64::NAN, 1, "0.0"),
            (12.5, 1, "12.5"),
        ];
        for (v, d, want) in cases {
            assert_eq!(format_number(*v, *d), *want, "{v}");
        }
    }
}
