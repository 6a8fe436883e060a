//! Lines over calendar time for the web UI: the x axis in Beijing time (hours or dates), the value axis with its unit, an optional limit line, every measurement a point with its value on hover, and an HTML legend.

use super::{Limit, W, limit_line, open};
use crate::axis::{fit, step_at_least, ticks};
use crate::legend::{Key, legend};
use crate::text::esc;
use crate::time::{HOUR, moment, tick_label, time_ticks};
use std::fmt::Write;

/// Lines, in order.
pub const LINE_COLOURS: [&str; 5] = ["#2e6fdb", "#b54708", "#067647", "#7a2e98", "#475467"];

const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 262.0;
const HEIGHT: f64 = BOTTOM + 42.0;

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

/// The words a chart over time writes, in the page's language.
#[derive(Debug, Clone, Copy)]
pub struct TimeWords<'a> {
    /// Shown in place of the plot when no point falls in the window.
    pub no_data: &'a str,
    /// The time axis's caption (its time zone).
    pub time_axis: &'a str,
}

/// A chart of lines over time. `fmt.tick` writes an axis tick (the unit is written once, above
/// the axis); `fmt.value` a measured value with its unit, for hover titles. With a `window`
/// the time axis spans it and points outside it are left out; without, it spans the data.
#[derive(Debug, Clone, Copy)]
pub struct TimeChart<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub unit: &'a str,
    pub lines: &'a [Line],
    pub scale: Scale,
    pub limit: Option<&'a Limit>,
    pub fmt: Formats<'a>,
    pub window: Option<(i64, i64)>,
    pub words: TimeWords<'a>,
}

impl TimeChart<'_> {
    fn inside(&self, t: i64) -> bool {
        self.window.is_none_or(|(a, b)| (a..=b).contains(&t))
    }

    /// Every point in the window, measured or not.
    fn in_window(&self) -> impl Iterator<Item = &(i64, f64)> + '_ {
        self.lines.iter().flat_map(|l| l.points.iter()).filter(|p| self.inside(p.0))
    }

    /// A line's points that the chart draws: measured, and in the window.
    pub fn shown<'b>(&'b self, line: &'b Line) -> impl Iterator<Item = &'b (i64, f64)> + 'b {
        line.points.iter().filter(|p| p.1.is_finite() && self.inside(p.0))
    }

    /// The time axis's ends: the window when a point falls in it, else the data's; an hour
    /// either side of a single moment. `None` when no point falls in the window (no data).
    pub fn time_span(&self) -> Option<(i64, i64)> {
        let (t0, t1) = match self.window {
            Some((a, b)) if self.in_window().next().is_some() => (a, b),
            _ => (self.in_window().map(|p| p.0).min()?, self.in_window().map(|p| p.0).max()?),
        };
        Some(if t1 > t0 { (t0, t1) } else { (t0 - HOUR, t1 + HOUR) })
    }

    /// The value axis: (min, max, step) by the chart's scale, the limit counted as data.
    pub fn value_axis(&self) -> (f64, f64, f64) {
        let values = || self.in_window().map(|p| p.1).filter(|v| v.is_finite()).chain(self.limit.map(|l| l.value));
        let lo = values().fold(f64::INFINITY, f64::min);
        let hi = values().fold(f64::NEG_INFINITY, f64::max);
        match self.scale {
            Scale::Fixed(a, b) => (a, b, step_at_least((b - a) / 5.0)),
            Scale::Fit => fit(lo, hi, 0.1),
            Scale::FromZero => {
                let (_, top, step) = fit(0.0, hi.max(0.0), 0.05);
                (0.0, top, step)
            }
        }
    }
}

/// Where times and values fall on the plot.
struct Plot {
    t0: i64,
    t1: i64,
    min: f64,
    max: f64,
}

impl Plot {
    fn x(&self, t: i64) -> f64 {
        LEFT + (t - self.t0) as f64 / (self.t1 - self.t0) as f64 * (W - LEFT - RIGHT)
    }

    fn y(&self, v: f64) -> f64 {
        BOTTOM - (v.clamp(self.min, self.max) - self.min) / (self.max - self.min) * (BOTTOM - TOP)
    }
}

/// The chart in its box with the legend under it.
pub fn time_lines(c: &TimeChart<'_>) -> String {
    let mut svg = open(c.id, W, HEIGHT, c.title);
    let _ = write!(svg, r#"<text x="4" y="14">{}</text>"#, esc(c.unit));
    let Some((t0, t1)) = c.time_span() else {
        let _ = write!(svg, r#"<text x="{}" y="{}" text-anchor="middle">{}</text></svg>"#, W / 2.0, HEIGHT / 2.0, c.words.no_data);
        return format!(r#"<div class="chart">{svg}</div>"#);
    };
    let (min, max, step) = c.value_axis();
    let plot = Plot { t0, t1, min, max };
    value_ticks(&mut svg, &plot, ticks(min, max, step), c.fmt.tick);
    time_axis(&mut svg, &plot, c.words.time_axis);
    if let Some(l) = c.limit {
        let py = format!("{:.1}", plot.y(l.value));
        limit_line(&mut svg, (LEFT.to_string(), py.clone()), ((W - RIGHT).to_string(), py), &l.label);
    }
    let mut keys = draw_lines(&mut svg, c, &plot);
    if let Some(l) = c.limit {
        keys.push(Key::Dashed(l.label.clone()));
    }
    svg.push_str("</svg>");
    format!(r#"<div class="chart">{svg}</div>{}"#, legend(&keys))
}

/// Grid lines across the plot at each value tick, labelled left of the axis.
fn value_ticks(svg: &mut String, plot: &Plot, ticks: Vec<f64>, tick: &dyn Fn(f64) -> String) {
    for v in ticks {
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{r}" y1="{py:.1}" y2="{py:.1}" stroke="#eaecf0"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{}</text>"##,
            esc(&tick(v)),
            r = W - RIGHT,
            py = plot.y(v),
            tx = LEFT - 6.0,
            ty = plot.y(v) + 4.0,
        );
    }
}

/// The time axis: ticks on Beijing hours, days or months with their labels, the axis line and its caption.
fn time_axis(svg: &mut String, plot: &Plot, caption: &str) {
    let (xt, unit) = time_ticks(plot.t0, plot.t1);
    for t in xt {
        let _ = write!(
            svg,
            r##"<line x1="{px:.1}" x2="{px:.1}" y1="{BOTTOM}" y2="{b2}" stroke="#475467"/><text x="{px:.1}" y="{ly}" text-anchor="middle">{label}</text>"##,
            px = plot.x(t),
            b2 = BOTTOM + 4.0,
            ly = BOTTOM + 18.0,
            label = tick_label(t, unit),
        );
    }
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" x2="{r}" y1="{BOTTOM}" y2="{BOTTOM}" stroke="#475467"/><text x="{r}" y="{ly}" text-anchor="end">{caption}</text>"##,
        r = W - RIGHT,
        ly = BOTTOM + 36.0,
    );
}

/// Each line and its points (a value on hover at every measurement in the window); the legend's keys.
fn draw_lines<'a>(svg: &mut String, c: &'a TimeChart<'_>, plot: &Plot) -> Vec<Key<'a>> {
    let mut keys = Vec::new();
    for (i, line) in c.lines.iter().enumerate() {
        let colour = LINE_COLOURS[i % LINE_COLOURS.len()];
        let shown = || c.shown(line);
        let pts: Vec<String> = shown().map(|&(t, v)| format!("{:.1},{:.1}", plot.x(t), plot.y(v))).collect();
        let _ = write!(svg, r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#, pts.join(" "));
        for &(t, v) in shown() {
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{} · {}: {}</title></circle>"#,
                plot.x(t),
                plot.y(v),
                moment(t),
                esc(&line.name),
                esc(&(c.fmt.value)(v)),
            );
        }
        keys.push(Key::Swatch(colour, line.name.clone()));
    }
    keys
}
