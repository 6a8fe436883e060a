//! A report's line chart: one polyline per series over a linear or logarithmic x axis.

use super::{PLOT_BOTTOM, PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, bounds, close, colour, dash_attr, frame, legend, no_data, open, plottable};
use crate::axis::Axis;
use crate::text::{esc, px};
use std::fmt::Write;

/// One line of a line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A line chart; with `log_x`, points with x <= 0 are dropped and ticks sit at powers of ten.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series], log_x: bool) -> String {
    let clean: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|s| s.points.iter().copied().filter(|&(x, y)| plottable(x) && plottable(y) && (!log_x || x > 0.0)).collect())
        .collect();
    let (x_axis, y_axis) = axes(&clean, log_x);
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
        let _ = write!(out, "<g><title>{}</title>", esc(&s.name));
        let coords: Vec<(f64, f64)> =
            pts.iter().map(|&(x, y)| (x_axis.to_px(x, PLOT_LEFT, PLOT_RIGHT), y_axis.to_px(y, PLOT_BOTTOM, PLOT_TOP))).collect();
        draw_series(&mut out, &coords, i);
        out.push_str("</g>\n");
    }
    if clean.iter().all(Vec::is_empty) {
        no_data(&mut out);
    }
    legend(&mut out, series.iter().enumerate().map(|(i, s)| (s.name.clone(), i)), true);
    close(out)
}

/// The axes that hold every drawable point: y from 0 (or below) to the top; empty data gets unit axes.
fn axes(clean: &[Vec<(f64, f64)>], log_x: bool) -> (Axis, Axis) {
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
    (x_axis, y_axis)
}

/// The `i`th series at its pixel coordinates: a line through two or more points, a dot for one.
fn draw_series(out: &mut String, coords: &[(f64, f64)], i: usize) {
    let colour = colour(i);
    if coords.len() >= 2 {
        let list: Vec<String> = coords.iter().map(|&(x, y)| format!("{},{}", px(x), px(y))).collect();
        let _ = write!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" stroke-linejoin=\"round\"{}/>",
            list.join(" "),
            dash_attr(i)
        );
    } else if let Some(&(x, y)) = coords.first() {
        let _ = write!(out, "<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{colour}\"/>", px(x), px(y));
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::ok;
    use super::*;

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
}
