//! Standalone SVG documents for the simulator's reports: a fixed 720×420 canvas with its title, description, axes, grid and a legend right of the plot.
//!
//! Every number written is finite: points that cannot be drawn (NaN, infinities, absurd
//! magnitudes, non-positive x on a log axis) are dropped, and empty inputs draw empty axes
//! with a "no data" note.

mod bar;
mod line;

pub use bar::bar_chart;
pub use line::{Series, line_chart};

use crate::axis::Axis;
use crate::text::{cut, esc, px};
use std::fmt::Write;

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

fn plottable(v: f64) -> bool {
    v.is_finite() && v.abs() < MAX_MAGNITUDE
}

fn bounds(it: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    it.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

fn colour(i: usize) -> &'static str {
    COLOURS[i % COLOURS.len()]
}

/// The dash attribute of the `i`th series: none for the first eight.
fn dash_attr(i: usize) -> String {
    let dash = DASHES[(i / COLOURS.len()) % DASHES.len()];
    if dash.is_empty() { String::new() } else { format!(" stroke-dasharray=\"{dash}\"") }
}

/// The document's opening: the root, its title and description, the background and the heading.
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

/// Grid, axis, ticks and label of the value axis.
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
        let y = PLOT_TOP + row as f64 * 18.0;
        if lines {
            let _ = write!(
                out,
                "<line x1=\"{}\" y1=\"{y0}\" x2=\"{}\" y2=\"{y0}\" stroke=\"{}\" stroke-width=\"3\"{}/>",
                px(LEGEND_X),
                px(LEGEND_X + 22.0),
                colour(i),
                dash_attr(i),
                y0 = px(y)
            );
        } else {
            let _ =
                write!(out, "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>", px(LEGEND_X + 5.0), px(y - 6.0), colour(i));
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
    use crate::check::check_svg;

    /// Well formed, a standalone document of the report's size, titled, with the CJK fonts.
    pub(crate) fn ok(s: &str) {
        if let Err(e) = check_svg(s) {
            panic!("{e}\n{s}");
        }
        assert!(s.contains("xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(s.contains("viewBox=\"0 0 720 420\""));
        assert!(s.contains("width=\"720\" height=\"420\""));
        assert!(s.contains("<title>"));
        assert!(s.contains("Noto Sans CJK SC"));
    }
}
