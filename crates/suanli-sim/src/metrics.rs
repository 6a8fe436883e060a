//! Per-policy results of a replay: what happened to each job, and the summary figures of a policy.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What happened to one job in a replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobOutcome {
    pub tenant: String,
    pub arrival_s: f64,
    /// When the job first started; `None` if it never did.
    pub start_s: Option<f64>,
    /// When it finished; `None` if it was still running or waiting when the replay ended.
    pub end_s: Option<f64>,
    pub gpus: u32,
    pub cost_fen: i64,
    pub carbon_g: f64,
    pub slo_violated: bool,
    /// Whether it ran outside the home city (Hangzhou).
    pub outside_home: bool,
    /// Accelerator-busy seconds per accelerator actually received (less than `demand_s` for an
    /// unfinished job, and different from it when the job ran on faster or slower hardware).
    pub run_s: f64,
    /// Seconds of work per accelerator the job asked for (its trace duration on the
    /// reference hardware): the denominator of the fairness index.
    pub demand_s: f64,
}

/// The summary of one policy over one replay. Durations in seconds, money in yuan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyResult {
    pub policy: String,
    pub jobs: usize,
    pub completed: usize,
    pub unfinished: usize,
    pub avg_jct_s: f64,
    pub p50_jct_s: f64,
    pub p99_jct_s: f64,
    pub avg_queue_s: f64,
    pub p99_queue_s: f64,
    pub makespan_s: f64,
    pub utilisation: f64,
    pub cost_yuan: f64,
    pub carbon_kg: f64,
    pub slo_violations: usize,
    pub jain_fairness: f64,
    pub share_outside_home: f64,
    /// Up to [`CDF_POINTS`] points `(jct_s, fraction of completed jobs with JCT <= jct_s)`.
    pub jct_cdf: Vec<(f64, f64)>,
}

/// Enough points for a smooth curve in a chart, few enough to keep JSON reports small.
pub const CDF_POINTS: usize = 200;

/// Summarises the outcomes of one policy on a city of `capacity_accelerators` accelerators.
///
/// - JCT = end - arrival over completed jobs; queueing = start - arrival over started jobs;
///   percentiles by nearest rank.
/// - makespan = last end - first arrival (0 when nothing completed).
/// - utilisation = sum(gpus * run_s) / (capacity * makespan). Unfinished jobs' partial work
///   counts in the numerator, so the figure is not clamped to 1: a value above 1 says the
///   replay kept running well after its last completion.
/// - share_outside_home = share of the accelerator-seconds (gpus * run_s) of started jobs
///   spent outside the home city.
/// - jain_fairness: Jain's index `(sum x)^2 / (n * sum x^2)` over tenants of
///   `x_t = sum(gpus * run_s) / sum(gpus * demand_s)`, the fraction of the work each tenant
///   asked for that it received. It was chosen over mean slowdown because it is defined for
///   unfinished jobs too (a starved tenant has x near 0, which a slowdown over completed jobs
///   would hide). Tenants that demanded nothing are left out; 0.0 when no tenant received
///   anything, as fairness of nothing is meaningless.
///
/// Non-finite inputs never produce NaN: every figure that would be undefined is 0.0.
pub fn summarize(policy: &str, outcomes: &[JobOutcome], capacity_accelerators: u64) -> PolicyResult {
    let mut jct: Vec<f64> = outcomes.iter().filter_map(|o| o.end_s.map(|e| e - o.arrival_s)).filter(|v| v.is_finite()).collect();
    jct.sort_by(f64::total_cmp);
    let mut queue: Vec<f64> = outcomes.iter().filter_map(|o| o.start_s.map(|s| s - o.arrival_s)).filter(|v| v.is_finite()).collect();
    queue.sort_by(f64::total_cmp);

    let completed = outcomes.iter().filter(|o| o.end_s.is_some()).count();
    let first_arrival = min_finite(outcomes.iter().map(|o| o.arrival_s));
    let last_end = max_finite(outcomes.iter().filter_map(|o| o.end_s));
    let makespan_s = match (first_arrival, last_end) {
        (Some(a), Some(e)) => (e - a).max(0.0),
        _ => 0.0,
    };

    let work = |o: &JobOutcome| f64::from(o.gpus) * finite(o.run_s);
    let busy: f64 = outcomes.iter().map(work).sum();
    let utilisation = ratio(busy, capacity_accelerators as f64 * makespan_s);

    let started_work: f64 = outcomes.iter().filter(|o| o.start_s.is_some()).map(work).sum();
    let outside_work: f64 = outcomes.iter().filter(|o| o.start_s.is_some() && o.outside_home).map(work).sum();

    PolicyResult {
        policy: policy.to_string(),
        jobs: outcomes.len(),
        completed,
        unfinished: outcomes.len() - completed,
        avg_jct_s: mean(&jct),
        p50_jct_s: nearest_rank(&jct, 50.0),
        p99_jct_s: nearest_rank(&jct, 99.0),
        avg_queue_s: mean(&queue),
        p99_queue_s: nearest_rank(&queue, 99.0),
        makespan_s: finite(makespan_s),
        utilisation,
        cost_yuan: outcomes.iter().map(|o| o.cost_fen as f64).sum::<f64>() / 100.0,
        carbon_kg: finite(outcomes.iter().map(|o| finite(o.carbon_g)).sum::<f64>() / 1000.0),
        slo_violations: outcomes.iter().filter(|o| o.slo_violated).count(),
        jain_fairness: jain(outcomes),
        share_outside_home: ratio(outside_work, started_work),
        jct_cdf: cdf(&jct),
    }
}

fn jain(outcomes: &[JobOutcome]) -> f64 {
    let mut per_tenant: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for o in outcomes {
        let g = f64::from(o.gpus);
        let e = per_tenant.entry(o.tenant.as_str()).or_default();
        e.0 += g * finite(o.run_s);
        e.1 += g * finite(o.demand_s);
    }
    let xs: Vec<f64> =
        per_tenant.values().filter(|(_, demanded)| *demanded > 0.0).map(|(received, demanded)| received / demanded).collect();
    let sum: f64 = xs.iter().sum();
    let sum_sq: f64 = xs.iter().map(|x| x * x).sum();
    ratio(sum * sum, xs.len() as f64 * sum_sq)
}

fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

fn ratio(num: f64, den: f64) -> f64 {
    if den > 0.0 { finite(num / den) } else { 0.0 }
}

fn mean(sorted: &[f64]) -> f64 {
    ratio(sorted.iter().sum(), sorted.len() as f64)
}

fn min_finite(it: impl Iterator<Item = f64>) -> Option<f64> {
    it.filter(|v| v.is_finite()).reduce(f64::min)
}

fn max_finite(it: impl Iterator<Item = f64>) -> Option<f64> {
    it.filter(|v| v.is_finite()).reduce(f64::max)
}

/// Nearest-rank percentile: the smallest value with at least `p`% of the values at or below it.
fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn cdf(sorted: &[f64]) -> Vec<(f64, f64)> {
    let n = sorted.len();
    let points = n.min(CDF_POINTS);
    (1..=points)
        .map(|k| {
            // The k-th of `points` evenly spaced ranks; the last point is always (max, 1.0).
            let rank = (k * n).div_ceil(points);
            (sorted[rank - 1], rank as f64 / n as f64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(tenant: &str, arrival: f64, start: Option<f64>, end: Option<f64>, gpus: u32, run: f64) -> JobOutcome {
        JobOutcome {
            tenant: tenant.into(),
            arrival_s: arrival,
            start_s: start,
            end_s: end,
            gpus,
            cost_fen: 0,
            carbon_g: 0.0,
            slo_violated: false,
            outside_home: false,
            run_s: run,
            demand_s: run,
        }
    }

    fn all_finite(r: &PolicyResult) -> bool {
        [
            r.avg_jct_s,
            r.p50_jct_s,
            r.p99_jct_s,
            r.avg_queue_s,
            r.p99_queue_s,
            r.makespan_s,
            r.utilisation,
            r.cost_yuan,
            r.carbon_kg,
            r.jain_fairness,
            r.share_outside_home,
        ]
        .iter()
        .chain(r.jct_cdf.iter().flat_map(|(a, b)| [a, b]))
        .all(|v| v.is_finite())
    }

    #[test]
    fn empty_and_degenerate_inputs_give_zeros() {
        let nan = job("a", f64::NAN, Some(f64::NAN), Some(f64::INFINITY), 1, f64::NAN);
        let never = job("b", 5.0, None, None, 2, 0.0);
        let cases: Vec<(&str, Vec<JobOutcome>, u64)> = vec![
            ("empty", vec![], 10),
            ("never started", vec![never.clone()], 10),
            ("zero capacity", vec![job("a", 0.0, Some(0.0), Some(10.0), 1, 10.0)], 0),
            ("non-finite", vec![nan, never], 4),
        ];
        for (name, outcomes, cap) in cases {
            let r = summarize(name, &outcomes, cap);
            assert!(all_finite(&r), "{name}: {r:?}");
            assert_eq!(r.jobs, outcomes.len());
            assert_eq!(r.completed + r.unfinished, r.jobs);
        }
        let r = summarize("empty", &[], 10);
        assert_eq!((r.avg_jct_s, r.p99_jct_s, r.makespan_s, r.utilisation, r.jain_fairness), (0.0, 0.0, 0.0, 0.0, 0.0));
        assert!(r.jct_cdf.is_empty());
        assert!(serde_json::to_string(&r).unwrap().contains("\"policy\":\"empty\""));
    }

    #[test]
    fn a_small_replay() {
        let mut a = job("a", 0.0, Some(0.0), Some(100.0), 2, 100.0);
        a.cost_fen = 12_345;
        a.carbon_g = 1500.0;
        let mut b = job("a", 10.0, Some(50.0), Some(150.0), 1, 100.0);
        b.outside_home = true;
        b.slo_violated = true;
        b.cost_fen = 55;
        let mut c = job("b", 20.0, Some(150.0), None, 1, 30.0);
        c.demand_s = 60.0;
        let mut d = job("c", 30.0, None, None, 4, 0.0);
        d.demand_s = 50.0;
        let r = summarize("fifo", &[a, b, c, d], 4);
        assert_eq!((r.jobs, r.completed, r.unfinished), (4, 2, 2));
        // JCTs 100, 140; queues 0, 40, 130.
        assert_eq!((r.avg_jct_s, r.p50_jct_s, r.p99_jct_s), (120.0, 100.0, 140.0));
        assert_eq!((r.avg_queue_s, r.p99_queue_s), (170.0 / 3.0, 130.0));
        assert_eq!(r.makespan_s, 150.0);
        assert_eq!(r.utilisation, 330.0 / 600.0);
        assert_eq!(r.cost_yuan, 124.0);
        assert_eq!(r.carbon_kg, 1.5);
        assert_eq!(r.slo_violations, 1);
        assert_eq!(r.share_outside_home, 100.0 / 330.0);
        // Tenants: a received all it asked for (1), b half (0.5), c nothing (0).
        assert_eq!(r.jain_fairness, 1.5 * 1.5 / (3.0 * 1.25));
        assert_eq!(r.jct_cdf, vec![(100.0, 0.5), (140.0, 1.0)]);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let cases = [(0.0, 1.0), (10.0, 1.0), (11.0, 2.0), (50.0, 5.0), (99.0, 10.0), (100.0, 10.0)];
        for (p, want) in cases {
            assert_eq!(nearest_rank(&v, p), want, "p{p}");
        }
        assert_eq!(nearest_rank(&[7.0], 99.0), 7.0);
    }

    #[test]
    fn jain_extremes() {
        let equal = [job("a", 0.0, Some(0.0), Some(1.0), 1, 1.0), job("b", 0.0, Some(0.0), Some(1.0), 8, 1.0)];
        assert_eq!(summarize("p", &equal, 8).jain_fairness, 1.0);
        let mut starved = job("b", 0.0, None, None, 1, 0.0);
        starved.demand_s = 10.0;
        let one_of_two = [job("a", 0.0, Some(0.0), Some(1.0), 1, 1.0), starved];
        assert_eq!(summarize("p", &one_of_two, 8).jain_fairness, 0.5);
    }

    #[test]
    fn cdf_is_capped_and_ends_at_one() {
        let outcomes: Vec<JobOutcome> = (1..=1000).map(|i| job("a", 0.0, Some(0.0), Some(f64::from(i)), 1, 1.0)).collect();
        let r = summarize("p", &outcomes, 1);
        assert_eq!(r.jct_cdf.len(), CDF_POINTS);
        assert_eq!(r.jct_cdf[0], (5.0, 0.005));
        assert_eq!(*r.jct_cdf.last().unwrap(), (1000.0, 1.0));
        assert!(r.jct_cdf.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 < w[1].1));
    }

    #[test]
    fn serde_round_trip() {
        let r = summarize("fifo", &[job("a", 0.0, Some(1.0), Some(3.0), 1, 2.0)], 1);
        let back: PolicyResult = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}
