//! `suanli simulate` and `suanli bench` as a user runs them: bad traces, skipped rows, reports, determinism.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_suanli");

fn philly() -> Option<PathBuf> {
    let dir = std::env::var_os("SUANLI_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let f = dir.join("traces/philly-jobs.csv");
    f.exists().then_some(f)
}

fn simulate(args: &[&str]) -> std::process::Output {
    Command::new(BIN).arg("simulate").args(args).output().expect("suanli simulate runs")
}

#[test]
fn simulate_reports_bad_trace_rows_with_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("bad.csv");
    std::fs::write(&trace, "timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-01 10:00:00,600.0,1,600.0,a\n2017-10-01 10:05:00,-5.0,1,5.0,b\n2017-10-01 10:06:00,60.0,2,120.0,c\n").unwrap();
    let report = dir.path().join("report");
    let out = simulate(&["--trace", trace.to_str().unwrap(), "--format", "philly", "--report-dir", report.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3") && err.contains("duration"), "{err}");
    // With --skip-invalid the row is counted and the rest replays.
    let out = Command::new(BIN)
        .args([
            "--output",
            "json",
            "simulate",
            "--skip-invalid",
            "--policy",
            "suanli,fifo-firstfit",
            "--trace",
            trace.to_str().unwrap(),
            "--format",
            "philly",
            "--report-dir",
            report.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["trace"]["skipped_rows"], 1);
    assert_eq!(v["policies"]["suanli"]["completed"], 2);
    assert!(v["policies"]["fifo-firstfit"].is_object());
    for f in ["report.md", "report.json", "jct-cdf.svg", "cost.svg", "carbon.svg"] {
        assert!(report.join(f).exists(), "{f} written");
    }
    // An unknown column, a bad format name and a job bigger than any pool are clear errors.
    std::fs::write(&trace, "timestamp,duration,num_gpus,gpu_time,colour\n").unwrap();
    let err = String::from_utf8_lossy(&simulate(&["--trace", trace.to_str().unwrap(), "--format", "philly"]).stderr).to_string();
    assert!(err.contains("line 1") && err.contains("colour"), "{err}");
    let err = String::from_utf8_lossy(&simulate(&["--trace", trace.to_str().unwrap(), "--format", "slurm-log"]).stderr).to_string();
    assert!(err.contains("slurm-log"), "{err}");
    std::fs::write(&trace, "timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-01 10:00:00,600.0,100000,600.0,a\n").unwrap();
    let out = simulate(&["--trace", trace.to_str().unwrap(), "--format", "philly", "--capacity-scale", "0.01"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn simulate_philly_is_deterministic_and_compares_policies() {
    let Some(trace) = philly() else {
        crate::harness::missing(
            "simulate_philly_is_deterministic_and_compares_policies",
            "shared/data/traces/philly-jobs.csv is not beside the repository",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let out = Command::new(BIN)
            .args([
                "--output",
                "json",
                "simulate",
                "--format",
                "philly",
                "--jobs",
                "3000",
                "--capacity-scale",
                "0.05",
                "--skip-invalid",
                "--trace",
            ])
            .arg(&trace)
            .arg("--report-dir")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_object_mut().unwrap().remove("timings");
        v.as_object_mut().unwrap().remove("wall_seconds");
        v
    };
    let a = run();
    assert_eq!(a, run(), "the same inputs give the same report");
    let p = &a["policies"];
    for name in ["suanli", "fifo-firstfit", "cheapest-first", "fair-agnostic"] {
        assert!(p[name]["completed"].as_u64().unwrap() > 2500, "{name}: {}", p[name]);
    }
    // Heterogeneity-aware placement finishes jobs sooner than the agnostic baselines.
    let jct = |n: &str| p[n]["avg_jct_s"].as_f64().unwrap();
    assert!(jct("suanli") < jct("fifo-firstfit") && jct("suanli") < jct("cheapest-first"), "{p}");
}

#[test]
fn bench_optimality_prints_one_json_object() {
    let out = Command::new(BIN).args(["--output", "json", "bench", "optimality", "--instances", "5", "--seed", "3"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["instances"], 5);
    for r in v["per_instance"].as_array().unwrap() {
        assert!(r["optimum"].as_f64().unwrap() <= r["heuristic"].as_f64().unwrap() + 1e-6, "the optimum is never worse: {r}");
    }
    let out = Command::new(BIN)
        .args(["--output", "json", "bench", "scheduler", "--centres", "20", "--pools", "60", "--jobs", "2000", "--runs", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["placements_per_second"].as_f64().unwrap() > 0.0);
    assert_eq!(v["pools"], 60);
}
