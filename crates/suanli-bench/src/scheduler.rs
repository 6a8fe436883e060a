//! `suanli bench scheduler` and `suanli bench optimality`: the scheduler's hot path at city scale, and the live heuristic's optimality gap against the exact MILP.

use crate::stats::median;
use anyhow::bail;
use indicatif::ProgressBar;
use serde_json::json;
use std::time::Instant;
use suanli_core::catalogue::Catalogue;
use suanli_core::id::{JobId, TenantId};
use suanli_core::job::{Job, JobKind, JobSpec};
use suanli_core::region::Regions;
use suanli_sched::exact;
use suanli_sched::round::{PolicyKind, PoolLoad, Snapshot, TenantUsage, schedule};
use suanli_sched::{SchedConfig, SpeedModel};
use suanli_server::demo::{DemoCity, JobGenerator};
use suanli_sim::city::SimCity;
use suanli_sim::rng::SplitMix;

/// Documented peers (not run here): kube-scheduler's ClusterLoader2 threshold and Slurm's sustained rate.
const KUBE_SCHEDULER_PODS_PER_S: f64 = 400.0;
const SLURM_JOBS_PER_S: f64 = 500.0;

/// The benchmarks' "now": 2026-01-05 00:00 in Hangzhou.
const NOW_MS: i64 = 1_767_542_400_000;

pub(crate) fn pending_jobs(n: usize, tenants: u64, seed: u64, regions: &[&str]) -> Vec<Job> {
    let mut generator = JobGenerator::new(DemoCity::builtin().workload, seed);
    let mut rng = SplitMix::new(seed ^ 0x5eed);
    (0..n)
        .map(|i| {
            let region = regions[rng.below(regions.len())];
            let mut spec = generator.spec(i as u64, region);
            spec.latency_slo_ms = None;
            spec.users_region = None;
            Job::pending(
                JobId::generate(1_000_000 + i as i64, i as u64),
                TenantId::generate(0, rng.below(tenants as usize) as u64),
                spec,
                NOW_MS,
            )
        })
        .collect()
}

/// Places `jobs` pending jobs on a synthetic city of `centres` centres and `pools` pools, in rounds.
pub fn scheduler(centres: usize, pools: usize, jobs: usize, seed: u64, runs: usize, json_out: bool) -> anyhow::Result<()> {
    if centres == 0 || pools < centres || jobs == 0 {
        bail!("need at least one centre, at least one pool per centre, and some jobs");
    }
    let (catalogue, regions) = (Catalogue::builtin(), Regions::builtin());
    let city = SimCity::synthetic(centres, pools / centres, seed, &catalogue, &regions);
    let districts: Vec<&str> =
        regions.all().iter().filter(|r| r.kind == suanli_core::region::RegionKind::District).map(|r| r.id.as_str()).collect();
    let pending = pending_jobs(jobs, 200, seed, &districts);
    let loads: Vec<PoolLoad> = city.pools.iter().map(PoolLoad::idle).collect();
    let (cfg, speeds, usage) = (SchedConfig::default(), SpeedModel::new(&catalogue, "a100-80g"), TenantUsage::default());
    let snap = Snapshot {
        now_ms: NOW_MS,
        centres: &city.centres,
        pools: &loads,
        catalogue: &catalogue,
        regions: &regions,
        speeds: &speeds,
        cfg: &cfg,
        usage: &usage,
    };
    let (secs, placed, evaluated) = whole_queue_rounds(snap, &pending, runs, json_out);
    let (sustained_placed, sustained_s) = sustained_rounds(snap, &pending);
    let round_s = median(secs.clone());
    let rate = placed as f64 / round_s;
    let sustained_rate = sustained_placed as f64 / sustained_s;
    let capacity: u64 = city.pools.iter().map(|p| p.capacity() as u64).sum();
    let v = json!({
        "benchmark": "scheduler",
        "centres": city.centres.len(), "pools": city.pools.len(), "accelerators": capacity, "pending_jobs": jobs,
        "runs": runs, "round_seconds_median": round_s, "round_seconds_all": secs,
        "placed": placed, "estimates": evaluated,
        "placements_per_second": rate,
        "sustained_rounds_of_1000": {"placed": sustained_placed, "seconds": sustained_s, "placements_per_second": sustained_rate},
        // Context only: other systems' documented figures, for other work on other machines.
        // They are not a ratio; `bench dispatch` and `bench e2e` measure Slurm in the same run.
        "context_documented_elsewhere": {"kube_scheduler_pods_per_second": KUBE_SCHEDULER_PODS_PER_S, "slurm_jobs_per_second": SLURM_JOBS_PER_S},
    });
    if json_out {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "scheduler benchmark: {} centres, {} pools ({} accelerators), {} pending jobs",
            city.centres.len(),
            city.pools.len(),
            capacity,
            jobs
        );
        println!("  one round over the whole queue: median {:.3} s of {runs} runs; {placed} placed, {evaluated} estimates", round_s);
        println!("  placements per second: {rate:.0}");
        println!(
            "  context, not a ratio (other work, other machines): kube-scheduler documents {KUBE_SCHEDULER_PODS_PER_S:.0} pods/s, \
             Slurm about {SLURM_JOBS_PER_S:.0} jobs/s; `bench e2e --slurm` measures Slurm here"
        );
        println!(
            "  sustained, rounds of 1,000 arrivals: {:.0} placements per second ({sustained_placed} placed in {:.3} s)",
            sustained_rate, sustained_s
        );
    }
    Ok(())
}

/// `runs` rounds over the whole queue on the idle city: each round's seconds, and the last
/// round's placements and estimates.
fn whole_queue_rounds(snap: Snapshot<'_>, pending: &[Job], runs: usize, json_out: bool) -> (Vec<f64>, usize, u64) {
    let bar = if json_out { ProgressBar::hidden() } else { ProgressBar::new(runs as u64) };
    let mut secs = Vec::new();
    let mut placed = 0;
    let mut evaluated = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let out = schedule(snap, pending, PolicyKind::Suanli);
        secs.push(t.elapsed().as_secs_f64());
        placed = out.placements.len();
        evaluated = out.evaluated;
        bar.inc(1);
    }
    bar.finish_and_clear();
    (secs, placed, evaluated)
}

/// The same queue arriving in rounds of 1,000 on a city that fills up: (placed, seconds).
fn sustained_rounds(snap: Snapshot<'_>, pending: &[Job]) -> (usize, f64) {
    let mut loads = snap.pools.to_vec();
    let t = Instant::now();
    let mut placed = 0usize;
    for chunk in pending.chunks(1000) {
        let snap2 = Snapshot { pools: &loads, ..snap };
        let out = schedule(snap2, chunk, PolicyKind::Suanli);
        placed += out.placements.len();
        let index: std::collections::HashMap<_, _> = loads.iter().enumerate().map(|(i, p)| (p.pool.id.clone(), i)).collect();
        let by_id: std::collections::HashMap<_, _> = chunk.iter().map(|j| (&j.id, j)).collect();
        for p in out.placements {
            if let (Some(&i), Some(j)) = (index.get(&p.chosen.pool), by_id.get(&p.job)) {
                loads[i].free -= j.spec.accelerators;
            }
        }
    }
    (placed, t.elapsed().as_secs_f64())
}

/// A small random city and a queue of about 1.5 times its capacity, so that capacity binds and
/// choices interact: (city, jobs, capacity).
fn contended_instance(
    k: usize,
    seed: u64,
    rng: &mut SplitMix,
    catalogue: &Catalogue,
    regions: &Regions,
    districts: &[&str],
) -> (SimCity, Vec<Job>, u32) {
    let centres = 2 + rng.below(4);
    let mut city = SimCity::synthetic(centres, 2, seed.wrapping_mul(1000) + k as u64, catalogue, regions);
    for p in &mut city.pools {
        p.nodes = 1 + rng.below(3) as u32;
    }
    let capacity: u32 = city.pools.iter().map(|p| p.capacity()).sum();
    let mut jobs = Vec::new();
    let mut demand = 0;
    while demand < capacity * 3 / 2 && jobs.len() < 40 {
        let gang = [1, 2, 4, 8][rng.below(4)];
        let mut spec = JobSpec::new(&format!("opt-{k}-{}", jobs.len()), JobKind::Training, gang, 600 + rng.below(6 * 3600) as i64);
        spec.priority = 3 + rng.below(3) as u8;
        spec.data_region = Some(districts[rng.below(districts.len())].to_string());
        spec.data_gb = Some(rng.below(500) as f64);
        demand += gang;
        jobs.push(Job::pending(JobId::generate(1 + jobs.len() as i64, k as u64), TenantId::generate(0, rng.below(4) as u64), spec, NOW_MS));
    }
    (city, jobs, capacity)
}

/// The live heuristic against the MILP optimum on small, contended random instances.
///
/// Reservations are off here: they deliberately hold capacity for blocked large jobs (so
/// backfill never starves them), a constraint the batch MILP does not model. Priorities stay on.
pub fn optimality(instances: usize, seed: u64, json_out: bool) -> anyhow::Result<()> {
    let (catalogue, regions) = (Catalogue::builtin(), Regions::builtin());
    let cfg = SchedConfig { reservations: 0, ..SchedConfig::default() };
    let (speeds, usage) = (SpeedModel::new(&catalogue, "a100-80g"), TenantUsage::default());
    let districts: Vec<&str> =
        regions.all().iter().filter(|r| r.kind == suanli_core::region::RegionKind::District).map(|r| r.id.as_str()).collect();
    let mut rng = SplitMix::new(seed);
    let bar = if json_out { ProgressBar::hidden() } else { ProgressBar::new(instances as u64) };
    let mut gaps = Vec::new();
    let mut rows = Vec::new();
    let (mut heuristic_s, mut exact_s) = (0.0, 0.0);
    for k in 0..instances {
        let (city, jobs, capacity) = contended_instance(k, seed, &mut rng, &catalogue, &regions, &districts);
        let loads: Vec<PoolLoad> = city.pools.iter().map(PoolLoad::idle).collect();
        let snap = Snapshot {
            now_ms: NOW_MS,
            centres: &city.centres,
            pools: &loads,
            catalogue: &catalogue,
            regions: &regions,
            speeds: &speeds,
            cfg: &cfg,
            usage: &usage,
        };
        let inst = exact::instance(snap, &jobs);
        let t = Instant::now();
        let out = schedule(snap, &jobs, PolicyKind::Suanli);
        heuristic_s += t.elapsed().as_secs_f64();
        let h = exact::objective(&inst, &exact::assignment_of(&inst, snap, &out))
            .ok_or_else(|| anyhow::anyhow!("instance {k}: the heuristic broke capacity"))?;
        let t = Instant::now();
        let best = exact::solve_exact(&inst).map_err(|e| anyhow::anyhow!("instance {k}: {e}"))?;
        exact_s += t.elapsed().as_secs_f64();
        let o = exact::objective(&inst, &best).ok_or_else(|| anyhow::anyhow!("instance {k}: the MILP broke capacity"))?;
        let g = exact::gap(h, o);
        gaps.push(g);
        let placed_h = out.placements.len();
        let placed_o = best.iter().filter(|a| a.is_some()).count();
        rows.push(json!({"instance": k, "pools": city.pools.len(), "jobs": jobs.len(), "capacity": capacity, "heuristic": h, "optimum": o, "gap": g, "placed_by_heuristic": placed_h, "placed_at_optimum": placed_o, "waits": out.waits.iter().map(|w| w.reason.to_string()).collect::<Vec<_>>()}));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mean = gaps.iter().sum::<f64>() / gaps.len().max(1) as f64;
    let worst = gaps.iter().copied().fold(0.0, f64::max);
    let exact_hits = gaps.iter().filter(|g| **g < 1e-9).count();
    let v = json!({
        "benchmark": "optimality", "instances": instances, "seed": seed,
        "mean_gap": mean, "worst_gap": worst, "instances_at_optimum": exact_hits,
        "heuristic_seconds_total": heuristic_s, "exact_seconds_total": exact_s,
        "solver": exact::solver_name(),
        "per_instance": rows,
    });
    if json_out {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("optimality benchmark: {instances} random contended instances (seed {seed}), live heuristic vs MILP optimum");
        println!("  mean gap {:.3}%, worst gap {:.3}%, {exact_hits} of {instances} at the optimum", mean * 100.0, worst * 100.0);
        println!(
            "  time: heuristic {:.3} s in all, exact solver {:.3} s in all ({:.0}x slower)",
            heuristic_s,
            exact_s,
            exact_s / heuristic_s.max(1e-9)
        );
    }
    Ok(())
}
