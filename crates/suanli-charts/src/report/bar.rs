//! A report's bar chart: one value per bar, labelled with its value above and its name below.

use super::{PLOT_BOTTOM, PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, bounds, close, colour, frame_y, legend, no_data, open, plottable};
use crate::axis::Axis;
use crate::text::{cut, esc, format_number, px};
use std::fmt::Write;

/// A bar chart of one value per bar; `unit` labels the y axis. Non-finite values draw as 0.
pub fn bar_chart(title: &str, unit: &str, bars: &[(String, f64)]) -> String {
    let values: Vec<f64> = bars.iter().map(|(_, v)| if plottable(*v) { *v } else { 0.0 }).collect();
    let (lo, hi) = bounds(values.iter().copied()).unwrap_or((0.0, 0.0));
    let y_axis = Axis::linear(lo.min(0.0), hi.max(0.0));
    let mut out = open(title, &describe(unit, bars, &values));
    frame_y(&mut out, &y_axis, unit);
    let _ = writeln!(
        out,
        "<line x1=\"{l}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#333333\"/>",
        l = px(PLOT_LEFT),
        r = px(PLOT_RIGHT),
        b = px(PLOT_BOTTOM)
    );
    let slot = (PLOT_RIGHT - PLOT_LEFT) / bars.len().max(1) as f64;
    for (i, ((name, _), &v)) in bars.iter().zip(&values).enumerate() {
        draw_bar(&mut out, &y_axis, slot, i, name, v, unit);
    }
    if bars.is_empty() {
        no_data(&mut out);
    }
    legend(&mut out, bars.iter().enumerate().map(|(i, (n, _))| (n.clone(), i)), false);
    close(out)
}

/// The chart's description: every bar's name and value.
fn describe(unit: &str, bars: &[(String, f64)], values: &[f64]) -> String {
    format!(
        "Bar chart in {unit}: {}.",
        if bars.is_empty() {
            "no bars".to_string()
        } else {
            bars.iter()
                .zip(values)
                .map(|((n, _), v)| format!("{n} {}", format_number(*v, value_decimals(*v))))
                .collect::<Vec<_>>()
                .join(", ")
        }
    )
}

/// The `i`th bar in its slot: the bar with its value on hover, the value beside its end, its name below the axis.
fn draw_bar(out: &mut String, y_axis: &Axis, slot: f64, i: usize, name: &str, v: f64, unit: &str) {
    let zero = y_axis.to_px(0.0, PLOT_BOTTOM, PLOT_TOP);
    // Roughly 6.5 px per character at 11 px: enough to decide when to cut a category name.
    let label_chars = ((slot / 6.5) as usize).max(3);
    let x = PLOT_LEFT + slot * i as f64 + slot * 0.15;
    let w = slot * 0.7;
    let top = y_axis.to_px(v, PLOT_BOTTOM, PLOT_TOP);
    let (y, h) = (top.min(zero), (top - zero).abs());
    let shown = format_number(v, value_decimals(v));
    let _ = write!(
        out,
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}: {} {}</title></rect>",
        px(x),
        px(y),
        px(w),
        px(h),
        colour(i),
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

fn value_decimals(v: f64) -> usize {
    if v.abs() >= 100.0 { 0 } else { 2 }
}

#[cfg(test)]
mod tests {
    use super::super::tests::ok;
    use super::*;

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
}
