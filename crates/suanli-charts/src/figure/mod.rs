//! SVG figures for the web UI's pages: as wide as the page (the box that holds them is at least 640 px wide and scrolls on a phone), titled by an id so a page's charts never borrow each other's titles, and with every value on hover (an SVG `<title>`).
//!
//! Words in the page's language (no data, the time axis's caption, a bar's status) come from
//! the caller: this crate knows no language.

mod hbars;
mod stacked;
mod time_lines;
mod value_bars;

pub use hbars::{HBar, hbars};
pub use stacked::stacked_bars;
pub use time_lines::{Formats, LINE_COLOURS, Line, Scale, TimeChart, TimeWords, time_lines};
pub use value_bars::{ValueBar, value_bars};

use crate::text::esc;
use std::fmt::Write;

/// The drawing's width in user units; the box shows it at least 640 px wide, so 12 px text
/// stays 12 px on a phone.
pub const W: f64 = 640.0;

/// A horizontal limit line and its words.
#[derive(Debug, Clone)]
pub struct Limit {
    pub value: f64,
    pub label: String,
}

/// A figure's opening: full width, labelled by its `<title>` (id `t-{id}`).
fn open(id: &str, width: f64, height: f64, title: &str) -> String {
    format!(
        r#"<svg viewBox="0 0 {width} {height}" width="100%" role="img" aria-labelledby="t-{id}"><title id="t-{id}">{}</title>"#,
        esc(title)
    )
}

/// A dashed limit line from (x1, y1) to (x2, y2), its words on hover.
fn limit_line(out: &mut String, (x1, y1): (String, String), (x2, y2): (String, String), label: &str) {
    let _ = write!(
        out,
        r##"<line x1="{x1}" x2="{x2}" y1="{y1}" y2="{y2}" stroke="#1a1a1a" stroke-width="1.5" stroke-dasharray="5 3"><title>{}</title></line>"##,
        esc(label)
    );
}
