//! `suanli simulate --format gavel`: Gavel's experiment (its trace format, its V100/P100/K80 cluster, 360 s rounds) under Suanli's time-sliced policy and baselines.

use crate::simulate::SimulateArgs;
use anyhow::{Context, bail};
use std::time::Instant;
use suanli_core::catalogue::Catalogue;
use suanli_sched::timeslice::{SliceConfig, SlicePolicy};
use suanli_sim::city::{SimCity, parse_triple};
use suanli_sim::gavel::parse_gavel;
use suanli_sim::gavel_trace::read_gavel_trace;
use suanli_sim::timesliced::{JobWindow, SliceResult, SliceSimOptions, gavel_jobs, gpu_types, replay, slice_table, summarize_slices};

pub fn simulate_gavel(a: SimulateArgs, output: crate::output::Format) -> anyhow::Result<()> {
    use crate::output::Format;
    let policies: Vec<SlicePolicy> = if a.policy == "all" {
        SlicePolicy::ALL.to_vec()
    } else {
        a.policy
            .split(',')
            .map(|p| {
                SlicePolicy::parse(p.trim()).with_context(|| format!("unknown policy '{p}' (suanli, fifo-perf, fifo, fair-agnostic, all)"))
            })
            .collect::<anyhow::Result<_>>()?
    };
    let Some(cluster) = &a.gavel_cluster else { bail!("--format gavel needs --gavel-cluster V100:P100:K80 (e.g. 36:36:36)") };
    let Some(thr_path) = &a.throughputs else { bail!("--format gavel needs --throughputs (Gavel's simulation_throughputs.json)") };
    if a.city.is_some() || a.synthetic_centres.is_some() {
        bail!("--format gavel runs on --gavel-cluster only; drop --city / --synthetic-centres");
    }
    let gpus = parse_triple(cluster).map_err(|e| anyhow::anyhow!("--gavel-cluster: {e}"))?;
    let per_server = parse_triple(&a.gpus_per_server).map_err(|e| anyhow::anyhow!("--gpus-per-server: {e}"))?;
    let city = SimCity::gavel(gpus, per_server, &Catalogue::builtin()).map_err(|e| anyhow::anyhow!("--gavel-cluster: {e}"))?;
    let types = gpu_types(&city);
    let throughputs = parse_gavel(&std::fs::read_to_string(thr_path).with_context(|| format!("reading {}", thr_path.display()))?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", thr_path.display()))?;
    let text = std::fs::read_to_string(&a.trace).with_context(|| format!("reading {}", a.trace.display()))?;
    let mut trace = read_gavel_trace(&text).map_err(|e| anyhow::anyhow!("{}: {e}", a.trace.display()))?;
    if let Some(n) = a.jobs {
        trace.truncate(n);
    }
    trace.sort_by(|x, y| x.arrival_s.total_cmp(&y.arrival_s).then(x.id.cmp(&y.id)));
    let jobs =
        gavel_jobs(&trace, &throughputs, &types).map_err(|r| anyhow::anyhow!("{}: line {}: {}", a.trace.display(), r.line, r.reason))?;
    let window = JobWindow { start: a.window_start, end: a.window_end };
    let cfg = SliceConfig { lease_s: a.lease_s, restore_s: a.restore_s, aging_s: a.aging_h * 3600.0 };
    if !(cfg.lease_s.is_finite() && cfg.lease_s > 0.0 && cfg.restore_s.is_finite() && cfg.restore_s >= 0.0 && cfg.aging_s > 0.0) {
        bail!("--lease-s and --aging-h must be positive and --restore-s not negative");
    }
    let capacity = city.capacity();
    let mut results: Vec<SliceResult> = Vec::new();
    for policy in policies {
        let opts = SliceSimOptions { policy, cfg: cfg.clone(), fill_mid_round: a.fill_mid_round };
        let t0 = Instant::now();
        let run = replay(&types, &jobs, &opts);
        let wall_s = t0.elapsed().as_secs_f64();
        results.push(SliceResult { wall_s, ..summarize_slices(policy.as_str(), &run, window, capacity) });
    }
    let mut json = serde_json::json!({
        "policies": results.iter().map(|r| (r.policy.clone(), serde_json::to_value(r).unwrap_or_default())).collect::<serde_json::Map<_, _>>(),
        "trace": {"file": a.trace.file_name().map(|f| f.to_string_lossy().to_string()), "format": "gavel", "jobs": jobs.len()},
        "cluster": {"v100": gpus[0], "p100": gpus[1], "k80": gpus[2], "gpus_per_server": per_server, "gpus": capacity},
        "rounds": {"lease_s": cfg.lease_s, "restore_s": cfg.restore_s, "aging_h": a.aging_h, "fill_mid_round": a.fill_mid_round},
    });
    json["window"] = serde_json::to_value(window)?;
    let md = format!(
        "# Gavel's experiment: {} ({} jobs)\n\nCluster {}:{}:{} V100:P100:K80 ({} GPUs a server), leases of {} s, restore {} s, jobs {}..{}.\n\n{}",
        a.trace.display(),
        jobs.len(),
        gpus[0],
        gpus[1],
        gpus[2],
        a.gpus_per_server,
        cfg.lease_s,
        cfg.restore_s,
        window.start,
        window.end.map_or("end".to_string(), |e| e.to_string()),
        slice_table(&results)
    );
    std::fs::create_dir_all(&a.report_dir).with_context(|| format!("creating {}", a.report_dir.display()))?;
    std::fs::write(a.report_dir.join("report.md"), &md)?;
    std::fs::write(a.report_dir.join("report.json"), serde_json::to_string_pretty(&json)?)?;
    match output {
        Format::Json => println!("{}", serde_json::to_string_pretty(&json)?),
        _ => println!("{md}"),
    }
    Ok(())
}
