//! Value axes: "nice" tick steps (1, 2 or 5 times a power of ten), linear and logarithmic axes with their tick labels, and axes fitted to the data with a margin.

use crate::text::format_number;

/// The nice step nearest `raw` (1, 2, 5 or 10 times its power of ten); 1 for a step that is
/// not a positive number.
pub fn nice_step(raw: f64) -> f64 {
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

/// The smallest nice step (1, 2 or 5 times a power of ten) that is at least `raw`.
pub fn step_at_least(raw: f64) -> f64 {
    let raw = raw.max(1e-9);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag)
}

/// An axis over `[lo, hi]` widened by `margin` of the span on each side and rounded out to its
/// step (about five ticks): (min, max, step). A flat range gets a span of its own.
pub fn fit(lo: f64, hi: f64, margin: f64) -> (f64, f64, f64) {
    let span = if hi > lo { hi - lo } else { (lo.abs() * 0.1).max(0.05) };
    let (lo, hi) = (lo - span * margin, hi + span * margin);
    let step = step_at_least((hi - lo) / 5.0);
    ((lo / step).floor() * step, (hi / step).ceil() * step, step)
}

/// The ticks from `min` to `max` every `step`.
pub fn ticks(min: f64, max: f64, step: f64) -> Vec<f64> {
    let n = ((max - min) / step).round() as i64;
    (0..=n).map(|i| min + i as f64 * step).collect()
}

/// The decimals a tick label needs at this step.
pub fn decimals(step: f64) -> usize {
    if step >= 1.0 { 0 } else { (-step.log10().floor()) as usize }
}

/// An axis range with its tick positions, for the reports' charts.
#[derive(Debug, Clone)]
pub struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    pub ticks: Vec<f64>,
    /// Tick spacing for a linear axis, to choose how many decimals its labels need.
    step: f64,
}

impl Axis {
    /// Rounds the range out to nice ticks of 1, 2 or 5 times a power of ten.
    pub fn linear(lo: f64, hi: f64) -> Axis {
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
    pub fn log(lo: f64, hi: f64) -> Axis {
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

    /// Where `v` falls between the pixels `p0` (the axis's low end) and `p1` (its high end).
    pub fn to_px(&self, v: f64, p0: f64, p1: f64) -> f64 {
        let f = if self.log {
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        let f = if f.is_finite() { f } else { 0.0 };
        p0 + f * (p1 - p0)
    }

    /// A tick's label: decades as 0.1, 1, 1k, 1M; linear ticks scaled to k, M or G for big ranges.
    pub fn label(&self, v: f64) -> String {
        if self.log {
            return decade_label(v);
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

fn decade_label(v: f64) -> String {
    let e = v.log10().round() as i32;
    match e {
        -3..=-1 => format!("{:.*}", (-e) as usize, v),
        0..=2 => format!("{v:.0}"),
        3..=5 => format!("{:.0}k", 10f64.powi(e - 3)),
        6..=8 => format!("{:.0}M", 10f64.powi(e - 6)),
        9..=11 => format!("{:.0}G", 10f64.powi(e - 9)),
        _ => format!("1e{e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn steps_at_least_the_ask() {
        for (raw, want) in [(0.03, 0.05), (1.0, 1.0), (1.1, 2.0), (2.5, 5.0), (7.0, 10.0), (240.0, 500.0)] {
            assert!((step_at_least(raw) - want).abs() < 1e-12, "{raw}");
        }
    }
}
