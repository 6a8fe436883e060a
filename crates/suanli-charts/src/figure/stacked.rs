//! Vertical bars per period stacked by series for the web UI (a provider's earnings by centre): a value axis from 0, calendar periods along the bottom, each part's value on hover, and a legend row under the axis.

use super::open;
use crate::axis::{decimals, step_at_least};
use crate::text::{esc, format_number};
use std::fmt::Write;

/// The series' colours, in turn.
pub const COLOURS: [&str; 6] = ["#2e6fdb", "#f79009", "#12b76a", "#b42318", "#7a5af8", "#475467"];

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 70.0;
const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;

/// Bars per period, stacked by series. Values are whole counts of a minor unit (fen),
/// `per_unit` of which make one `unit` on the axis (100 fen to the yuan), so that the sums are
/// exact; the axis and hover values are whole units with thousands separators.
pub fn stacked_bars(
    id: &str,
    title: &str,
    x_label: &str,
    unit: &str,
    per_unit: f64,
    periods: &[String],
    series: &[(String, Vec<i64>)],
) -> String {
    let totals: Vec<i64> = (0..periods.len()).map(|i| series.iter().map(|(_, v)| v[i]).sum()).collect();
    // The axis fits the tallest bar, however small (a few fen of earnings); 0 to 1 when there is none.
    let tallest = totals.iter().copied().max().unwrap_or(0) as f64 / per_unit;
    let max = if tallest > 0.0 { tallest } else { 1.0 };
    let step = step_at_least(max / 4.0);
    let y_max = (max / step - 1e-9).ceil() * step;
    let y = |v: f64| TOP + PLOT_H - PLOT_H * v / y_max;
    let mut svg = open(id, WIDTH, HEIGHT, title);
    value_axis(&mut svg, step, y_max, unit);
    let slot = PLOT_W / periods.len().max(1) as f64;
    // Label about one period in 40 px, and always the last.
    let every = ((40.0 / slot).ceil() as usize).max(1);
    for (i, p) in periods.iter().enumerate() {
        let x = LEFT + slot * i as f64;
        let mut acc = 0.0;
        for (k, (name, values)) in series.iter().enumerate() {
            let v = values[i] as f64 / per_unit;
            if v > 0.0 {
                let (y0, y1) = (y(acc), y(acc + v));
                let _ = write!(
                    svg,
                    r#"<rect x="{:.1}" y="{y1:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{} {}: {}</title></rect>"#,
                    x + slot * 0.15,
                    slot * 0.7,
                    (y0 - y1).max(0.5),
                    COLOURS[k % COLOURS.len()],
                    esc(p),
                    esc(name),
                    format_number(v, minor_decimals(per_unit)),
                );
                acc += v;
            }
        }
        if i % every == 0 || i + 1 == periods.len() {
            let _ = write!(svg, r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#, x + slot / 2.0, TOP + PLOT_H + 16.0, esc(p));
        }
    }
    period_axis(&mut svg, x_label);
    legend_row(&mut svg, series);
    svg.push_str("</svg>");
    svg
}

/// The decimals of a value counted in a minor unit, `per_unit` of which make one (2 for fen).
fn minor_decimals(per_unit: f64) -> usize {
    if per_unit > 1.0 { per_unit.log10().ceil() as usize } else { 0 }
}

/// Grid lines from 0 to `y_max` every `step`, labelled with the decimals the step needs (so no
/// two ticks read alike), and the unit along the axis.
fn value_axis(svg: &mut String, step: f64, y_max: f64, unit: &str) {
    let y = |v: f64| TOP + PLOT_H - PLOT_H * v / y_max;
    let places = decimals(step);
    let n = (y_max / step).round() as i64;
    for i in 0..=n {
        let tick = i as f64 * step;
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{x2}" y2="{yy:.1}" stroke="#d0d5dd"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{}</text>"##,
            format_number(tick, places),
            yy = y(tick),
            x2 = WIDTH - RIGHT,
            tx = LEFT - 6.0,
            ty = y(tick) + 4.0,
        );
    }
    let _ = write!(
        svg,
        r#"<text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle">{}</text>"#,
        TOP + PLOT_H / 2.0,
        TOP + PLOT_H / 2.0,
        esc(unit)
    );
}

/// The axis line under the bars and its caption.
fn period_axis(svg: &mut String, x_label: &str) {
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{b}" x2="{r}" y2="{b}" stroke="#333333"/><text x="{cx}" y="{ly}" text-anchor="middle">{}</text>"##,
        esc(x_label),
        b = TOP + PLOT_H,
        r = WIDTH - RIGHT,
        cx = LEFT + PLOT_W / 2.0,
        ly = TOP + PLOT_H + 34.0,
    );
}

/// Each series' swatch and name in a row along the bottom.
fn legend_row(svg: &mut String, series: &[(String, Vec<i64>)]) {
    let mut lx = LEFT;
    for (k, (name, _)) in series.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<rect x="{lx:.1}" y="{}" width="12" height="12" fill="{}"/><text x="{:.1}" y="{}">{}</text>"#,
            HEIGHT - 22.0,
            COLOURS[k % COLOURS.len()],
            lx + 16.0,
            HEIGHT - 12.0,
            esc(name)
        );
        lx += 28.0 + 13.0 * name.chars().count() as f64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value axis's tick labels, bottom to top.
    fn ticks(svg: &str) -> Vec<String> {
        svg.split(r#"text-anchor="end">"#).skip(1).map(|t| t.split('<').next().unwrap().to_string()).collect()
    }

    #[test]
    fn ticks_are_distinct_and_readable_for_small_and_large_sums() {
        let periods = vec!["11-30".to_string(), "12-01".to_string()];
        for (fen, want) in [
            (vec![13, 40], vec!["0.0", "0.1", "0.2", "0.3", "0.4"]),
            (vec![3, 7], vec!["0.00", "0.02", "0.04", "0.06", "0.08"]),
            (vec![50, 100], vec!["0.0", "0.5", "1.0"]),
            (vec![0, 0], vec!["0.0", "0.5", "1.0"]),
            (vec![213_107, 100_000], vec!["0", "1,000", "2,000", "3,000"]),
        ] {
            let svg = stacked_bars("e", "t", "day", "yuan", 100.0, &periods, &[("a".into(), fen.clone())]);
            let got = ticks(&svg);
            assert_eq!(got, want, "{fen:?}");
            let distinct: std::collections::BTreeSet<_> = got.iter().collect();
            assert_eq!(distinct.len(), got.len(), "{fen:?}: {got:?}");
        }
        let svg = stacked_bars("e", "t", "day", "yuan", 100.0, &periods, &[("a".into(), vec![13, 40])]);
        assert!(svg.contains("<title>12-01 a: 0.40</title>"), "hover values to the fen: {svg}");
    }
}
