//! The demo's job stream follows the real Philly trace: its parameters re-derived from the trace, and the generator's draws.

use std::path::PathBuf;
use suanli_server::demo::{DemoCity, JobGenerator};

/// The shared data directory beside the repository (tests and benchmarks only; the product never reads it).
fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("SUANLI_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    dir.join("traces/philly-jobs.csv").exists().then_some(dir)
}

#[test]
fn workload_parameters_match_the_philly_trace() {
    let Some(dir) = shared_data() else {
        let why = "shared/data/traces/philly-jobs.csv is not beside the repository; set SUANLI_SHARED_DATA";
        crate::harness::missing("workload_parameters_match_the_philly_trace", why);
        return;
    };
    // Provenance: Microsoft Philly traces (CC-BY-4.0), job-level extract; see shared/data/SOURCES.md.
    let text = std::fs::read_to_string(dir.join("traces/philly-jobs.csv")).unwrap();
    let w = DemoCity::builtin().workload;
    let mut counts = vec![0u64; w.gang_sizes.len()];
    let mut logs = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = line.split(',').collect();
        let duration: f64 = cols[1].parse().unwrap();
        let gpus: u32 = cols[2].parse().unwrap();
        if let Some(i) = w.gang_sizes.iter().position(|&g| g >= gpus) {
            counts[i] += 1;
        }
        if duration > 0.0 {
            logs.push(duration.ln());
        }
    }
    let total: u64 = counts.iter().sum();
    for (i, c) in counts.iter().enumerate() {
        let share = *c as f64 / total as f64;
        assert!((share - w.gang_weights[i]).abs() < 0.0005, "gang {}: trace {share:.4}, file {}", w.gang_sizes[i], w.gang_weights[i]);
    }
    let mu = logs.iter().sum::<f64>() / logs.len() as f64;
    let sigma = (logs.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / logs.len() as f64).sqrt();
    assert!((mu - w.duration_lognormal_mu).abs() < 0.001, "mu: trace {mu:.4}, file {}", w.duration_lognormal_mu);
    assert!((sigma - w.duration_lognormal_sigma).abs() < 0.001, "sigma: trace {sigma:.4}, file {}", w.duration_lognormal_sigma);
}

#[test]
fn generator_draws_follow_the_parameters_and_are_seeded() {
    let w = DemoCity::builtin().workload;
    let mut g = JobGenerator::new(w.clone(), 7);
    let n = 20_000;
    let gangs: Vec<u32> = (0..n).map(|_| g.gang()).collect();
    let ones = gangs.iter().filter(|&&x| x == 1).count() as f64 / n as f64;
    assert!((ones - w.gang_weights[0]).abs() < 0.01, "share of 1-GPU jobs {ones}");
    let mut durations: Vec<i64> = (0..n).map(|_| g.duration_s()).collect();
    durations.sort();
    let median = durations[n / 2] as f64;
    let expected = w.duration_lognormal_mu.exp();
    assert!((median / expected - 1.0).abs() < 0.1, "median duration {median} vs e^mu {expected}");
    assert!(durations[0] >= w.duration_min_s && durations[n - 1] <= w.duration_max_s);
    let a: Vec<_> = (0..50).map(|i| JobGenerator::new(w.clone(), 3).spec(i, "hz-xihu")).collect();
    let b: Vec<_> = (0..50).map(|i| JobGenerator::new(w.clone(), 3).spec(i, "hz-xihu")).collect();
    assert_eq!(a, b, "the same seed gives the same jobs");
}
