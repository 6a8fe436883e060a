//! Horizontal bars of one value each for the web UI, scaled to the largest, each labelled and with its value written after it and on hover.

use super::{W, open};
use crate::text::esc;
use std::fmt::Write;

const ROW: f64 = 26.0;
const LEFT: f64 = 190.0;
/// Room right of the longest bar for its value.
const VALUE_ROOM: f64 = 80.0;
const COLOUR: &str = "#2e6fdb";

/// One bar: its label, its value (written to one decimal) and its words on hover.
#[derive(Debug, Clone)]
pub struct ValueBar {
    pub label: String,
    pub value: f64,
    pub hover: String,
}

/// The bars in the order given, the longest the largest value.
pub fn value_bars(id: &str, title: &str, bars: &[ValueBar]) -> String {
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max).max(1e-9);
    let h = ROW * bars.len() as f64 + 10.0;
    let mut svg = open(id, W, h, title);
    for (i, b) in bars.iter().enumerate() {
        let y = 5.0 + i as f64 * ROW;
        let bw = (W - LEFT - VALUE_ROOM) * b.value / max;
        let _ = write!(
            svg,
            r##"<text x="{tx}" y="{ty}" text-anchor="end">{name}</text><rect x="{LEFT}" y="{y}" width="{bw:.1}" height="{bh}" fill="{COLOUR}"><title>{hover}</title></rect><text x="{vx:.1}" y="{ty}">{val:.1}</text>"##,
            tx = LEFT - 6.0,
            ty = y + 16.0,
            name = esc(&b.label),
            bh = ROW - 8.0,
            hover = esc(&b.hover),
            vx = LEFT + bw + 4.0,
            val = b.value,
        );
    }
    svg.push_str("</svg>");
    svg
}
