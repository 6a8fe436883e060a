//! Horizontal bars against a limit for the web UI: one row per item, its name linked, on an axis fitted to the data (not from 0) with a dashed line at the limit.

use super::{Limit, W, limit_line, open};
use crate::axis::{decimals, fit, ticks};
use crate::text::{cut, esc};
use std::fmt::Write;

const LEFT: f64 = 232.0;
const RIGHT: f64 = 52.0;
const TOP: f64 = 22.0;
const ROW: f64 = 22.0;
/// Names longer than this are cut; the whole name is on hover.
const NAME_CHARS: usize = 32;

/// One bar: its name (linked to `href`), its value, its colour and its status in words for the hover title.
#[derive(Debug, Clone)]
pub struct HBar {
    pub href: String,
    pub name: String,
    pub value: f64,
    pub colour: &'static str,
    pub status: String,
}

/// The bars in rows, values written to two decimals after `unit` (e.g. "PUE"), which also
/// captions the axis; the limit's value is written above its line, its words on hover.
pub fn hbars(id: &str, title: &str, unit: &str, bars: &[HBar], limit: &Limit) -> String {
    let lo = bars.iter().map(|b| b.value).fold(limit.value, f64::min);
    let hi = bars.iter().map(|b| b.value).fold(limit.value, f64::max);
    let (min, max, step) = fit(lo, hi, 0.1);
    let bottom = TOP + ROW * bars.len() as f64;
    let x = |v: f64| LEFT + (v - min) / (max - min) * (W - LEFT - RIGHT);
    let mut svg = open(id, W, bottom + 34.0, title);
    for t in ticks(min, max, step) {
        let _ = write!(
            svg,
            r##"<line x1="{tx:.1}" x2="{tx:.1}" y1="{TOP}" y2="{bottom}" stroke="#eaecf0"/><text x="{tx:.1}" y="{ly}" text-anchor="middle">{t:.d$}</text>"##,
            tx = x(t),
            ly = bottom + 16.0,
            d = decimals(step).max(2),
        );
    }
    let _ = write!(svg, r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#, W - 4.0, bottom + 30.0, esc(unit));
    for (i, b) in bars.iter().enumerate() {
        let end = x(b.value.clamp(min, max));
        row(&mut svg, TOP + i as f64 * ROW, b, end, unit);
    }
    let lx = format!("{:.1}", x(limit.value));
    limit_line(&mut svg, (lx.clone(), (TOP - 4.0).to_string()), (lx.clone(), bottom.to_string()), &limit.label);
    let _ = write!(svg, r#"<text x="{lx}" y="14" text-anchor="middle">{:.2}</text></svg>"#, limit.value);
    svg
}

/// One row at `y`: the linked name right-aligned left of the axis, the bar to `end`, its value after it.
fn row(svg: &mut String, y: f64, b: &HBar, end: f64, unit: &str) {
    let _ = write!(
        svg,
        r#"<a href="{href}"><text x="{tx}" y="{ty}" text-anchor="end">{n}<title>{full}</title></text></a><rect x="{LEFT}" y="{ry}" width="{bw:.1}" height="{bh}" fill="{colour}"><title>{full}: {unit} {v:.2} · {status}</title></rect><text x="{vx:.1}" y="{ty}">{v:.2}</text>"#,
        href = esc(&b.href),
        tx = LEFT - 6.0,
        ty = y + 15.0,
        n = esc(&cut(&b.name, NAME_CHARS)),
        full = esc(&b.name),
        ry = y + 3.0,
        bw = (end - LEFT).max(1.0),
        bh = ROW - 6.0,
        colour = b.colour,
        unit = esc(unit),
        v = b.value,
        vx = end + 4.0,
        status = esc(&b.status),
    );
}
