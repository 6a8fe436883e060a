//! The discrete-event replay: trace jobs arrive, rounds of a policy place them, they run at their model's speed and finish.
//!
//! Time is simulated (ms since `start_ms`); events at one instant are handled together —
//! finishes first (they free capacity), then arrivals — and then one scheduling round runs, at
//! most one per `round_s` of simulated time (later arrivals wait for the next round, as in a
//! batching scheduler). A round is also scheduled an hour after any round that left jobs
//! waiting, so deferred and reserved jobs always get another look. Everything is determined by
//! the trace, the city and the options: the same inputs give the same report.
//!
//! Mapping a trace onto the city (documented, not pretended): trace durations are run times on
//! `trace_model` (V100-class for Philly and the Alibaba cluster), converted to the scheduler's
//! reference model by the speed model; a job with no model constraint needs at least
//! `min_fp16_tflops` per accelerator (GPU-class, as the traces' jobs are deep learning); an
//! Alibaba `gpu_spec` becomes the minimum TFLOPS and memory of the listed models; a fractional
//! GPU counts as one accelerator; Alibaba QoS maps to priority (LS 6, Burstable 4, BE 2 and
//! preemptible).

use crate::city::SimCity;
use crate::metrics::JobOutcome;
use crate::rng::hash_str;
use crate::trace::{Trace, TraceJob};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use suanli_core::catalogue::Catalogue;
use suanli_core::centre::PartnerStatus;
use suanli_core::id::{JobId, TenantId};
use suanli_core::job::{Job, JobKind, JobSpec};
use suanli_core::region::{HOME_CITY, RegionKind, Regions};
use suanli_sched::driver::{FairShare, Loads, RunEnd, pflop_s, run_cost};
use suanli_sched::round::{PolicyKind, RunningJob, Snapshot, schedule};
use suanli_sched::{Estimate, SchedConfig, SpeedModel};

#[derive(Debug, Clone)]
pub struct SimOptions {
    pub policy: PolicyKind,
    pub sched: SchedConfig,
    pub speeds: SpeedModel,
    /// The catalogue model the trace's durations were measured on.
    pub trace_model: String,
    /// Minimum FP16 TFLOPS per accelerator of a job without a model constraint.
    pub min_fp16_tflops: f64,
    /// At most one round per this many simulated seconds.
    pub round_s: f64,
    /// Unix ms of the simulation's start (sets the hour of day for the grid).
    pub start_ms: i64,
    /// A job meets its SLO if it ends within max(factor x its reference run time, run time + 1 h) of arriving.
    pub slo_factor: f64,
    /// Skip (and count) jobs no pool can ever hold, instead of failing.
    pub skip_invalid: bool,
    /// Half-life of the fair-share account, seconds.
    pub fair_share_half_life_s: f64,
}

impl SimOptions {
    pub fn new(policy: PolicyKind, catalogue: &Catalogue) -> SimOptions {
        SimOptions {
            policy,
            sched: SchedConfig::default(),
            speeds: SpeedModel::new(catalogue, "a100-80g"),
            trace_model: "v100-32g".into(),
            min_fp16_tflops: 60.0,
            round_s: 30.0,
            // 2026-01-05 00:00 in Hangzhou.
            start_ms: 1_767_542_400_000,
            slo_factor: 2.0,
            skip_invalid: false,
            fair_share_half_life_s: suanli_sched::driver::FAIR_SHARE_HALF_LIFE_H * 3600.0,
        }
    }
}

/// A trace row the replay could not use.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub line: usize,
    pub reason: String,
}

/// The jobs of a trace, as Suanli jobs, ready to replay.
#[derive(Debug, Clone)]
pub struct Workload {
    pub jobs: Vec<Job>,
    /// Tenant name per job (the trace's), for reports.
    pub tenants: Vec<String>,
    /// Arrival, seconds since the start.
    pub arrivals_s: Vec<f64>,
    pub rejected: Vec<Rejected>,
}

fn alibaba_model(spec: &str) -> Option<&'static str> {
    match spec {
        "V100M16" => Some("v100-16g"),
        "V100M32" => Some("v100-32g"),
        "P100" => Some("p100"),
        "T4" => Some("t4"),
        "A10" => Some("a10"),
        "K80" => Some("k80"),
        _ => None,
    }
}

/// Turns trace rows into jobs on this city; a job no pool could ever hold is an error naming
/// its line, or a counted rejection with `skip_invalid`.
pub fn prepare(trace: &Trace, city: &SimCity, catalogue: &Catalogue, regions: &Regions, opts: &SimOptions) -> Result<Workload, Rejected> {
    let trace_speed = catalogue.get(&opts.trace_model).map_or(1.0, |a| opts.speeds.speed(None, a));
    let districts: Vec<&str> = regions
        .all()
        .iter()
        .filter(|r| r.kind == RegionKind::District && regions.is_within(&r.id, HOME_CITY))
        .map(|r| r.id.as_str())
        .collect();
    let partner_pools: Vec<&suanli_core::centre::Pool> = {
        let partners: std::collections::HashSet<_> =
            city.centres.iter().filter(|c| c.partner_status == PartnerStatus::Partner).map(|c| &c.id).collect();
        city.pools.iter().filter(|p| partners.contains(&p.centre_id)).collect()
    };
    let mut w = Workload { jobs: Vec::with_capacity(trace.jobs.len()), tenants: Vec::new(), arrivals_s: Vec::new(), rejected: Vec::new() };
    for t in &trace.jobs {
        let spec = spec_of(t, catalogue, opts, trace_speed, &districts);
        let fits = partner_pools
            .iter()
            .any(|p| p.capacity() >= spec.accelerators && catalogue.get(&p.accelerator).is_some_and(|a| spec.accepts(a)));
        if !fits {
            let r = Rejected {
                line: t.line,
                reason: format!(
                    "job needs {} accelerators of at least {:.0} FP16 TFLOPS in one pool; no pool of this city holds that",
                    spec.accelerators,
                    spec.min_fp16_tflops.unwrap_or(0.0)
                ),
            };
            if opts.skip_invalid {
                w.rejected.push(r);
                continue;
            }
            return Err(r);
        }
        let arrival_ms = opts.start_ms + (t.arrival_s * 1000.0).round() as i64;
        w.jobs.push(Job::pending(
            JobId::generate(arrival_ms, t.id),
            TenantId::generate(0, hash_str(&t.tenant) & 0xff_ffff_ffff),
            spec,
            arrival_ms,
        ));
        w.tenants.push(t.tenant.clone());
        w.arrivals_s.push(t.arrival_s);
    }
    Ok(w)
}

fn spec_of(t: &TraceJob, catalogue: &Catalogue, opts: &SimOptions, trace_speed: f64, districts: &[&str]) -> JobSpec {
    let duration_ref = (t.duration_s * trace_speed).round().max(1.0) as i64;
    let mut spec = JobSpec::new(&format!("trace-{}", t.line), JobKind::Training, t.gpus.max(1), duration_ref);
    let listed: Vec<_> = t.gpu_models.iter().filter_map(|m| alibaba_model(m)).filter_map(|m| catalogue.get(m)).collect();
    if listed.is_empty() {
        spec.min_fp16_tflops = Some(opts.min_fp16_tflops);
    } else {
        spec.min_fp16_tflops = listed.iter().map(|a| a.fp16_tflops).reduce(f64::min);
        spec.min_memory_gb = listed.iter().map(|a| a.memory_gb).min();
    }
    if let Some(qos) = t.tenant.strip_prefix("qos:") {
        (spec.priority, spec.preemptible) = match qos {
            "LS" => (6, false),
            "BE" => (2, true),
            _ => (4, false),
        };
    }
    if !districts.is_empty() {
        spec.data_region = Some(districts[(hash_str(&t.tenant) % districts.len() as u64) as usize].to_string());
    }
    spec
}

/// What one replay produced.
#[derive(Debug, Clone)]
pub struct SimRun {
    pub outcomes: Vec<JobOutcome>,
    pub rounds: u64,
    pub evaluated: u64,
    pub preemptions: u64,
}

struct Runtime {
    pool: usize,
    start_ms: i64,
    estimate: Estimate,
    /// What the run delivers to its tenant's fair share if it ends (FP16 PFLOP-seconds).
    pflop_s: f64,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Finish { job: usize, epoch: u32 },
    Arrive { job: usize },
    Round,
}

/// Replays the workload on the city under `opts.policy`. `progress(done, total)` is called now and then.
pub fn run(
    city: &SimCity,
    work: &Workload,
    catalogue: &Catalogue,
    regions: &Regions,
    opts: &SimOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> SimRun {
    let n = work.jobs.len();
    let mut loads = Loads::idle(&city.pools);
    let centre_region: HashMap<_, _> = city.centres.iter().map(|c| (c.id.clone(), c.region.clone())).collect();
    let job_index: HashMap<&JobId, usize> = work.jobs.iter().enumerate().map(|(i, j)| (&j.id, i)).collect();
    let mut outcomes: Vec<JobOutcome> = (0..n)
        .map(|i| JobOutcome {
            tenant: work.tenants[i].clone(),
            arrival_s: work.arrivals_s[i],
            start_s: None,
            end_s: None,
            gpus: work.jobs[i].spec.accelerators,
            cost_fen: 0,
            carbon_g: 0.0,
            slo_violated: true,
            outside_home: false,
            run_s: 0.0,
            demand_s: work.jobs[i].spec.duration_s as f64,
        })
        .collect();
    let mut events: BinaryHeap<Reverse<(i64, Event)>> = BinaryHeap::new();
    for (i, j) in work.jobs.iter().enumerate() {
        events.push(Reverse((j.submitted_ms, Event::Arrive { job: i })));
    }
    let mut pending: Vec<usize> = Vec::new();
    let mut running: HashMap<usize, Runtime> = HashMap::new();
    let mut epoch = vec![0u32; n];
    let mut fair = FairShare::new(opts.fair_share_half_life_s * 1000.0);
    let mut next_round: Option<i64> = None;
    // The earliest Round event in the heap that is still wanted; later ones are ignored when popped.
    let mut scheduled_round: Option<i64> = None;
    let mut last_round = i64::MIN / 2;
    let round_ms = (opts.round_s * 1000.0).max(1.0) as i64;
    let (mut rounds, mut evaluated, mut preemptions, mut done) = (0u64, 0u64, 0u64, 0usize);
    let mut jobs_now: Vec<Job> = Vec::new();
    progress(0, n);

    while let Some(Reverse((t, ev))) = events.pop() {
        match ev {
            Event::Finish { job, epoch: e } => {
                if epoch[job] != e {
                    continue;
                }
                if let Some(rt) = running.remove(&job) {
                    loads.release(rt.pool, &work.jobs[job].id);
                    if run_cost(RunEnd::Ended).fair_share {
                        fair.charge(&work.jobs[job].tenant_id, rt.pflop_s, t);
                    }
                    let o = &mut outcomes[job];
                    o.end_s = Some((t - opts.start_ms) as f64 / 1000.0);
                    let jct = t - work.jobs[job].submitted_ms;
                    let ideal = work.jobs[job].spec.duration_s * 1000;
                    o.slo_violated = jct as f64 > (opts.slo_factor * ideal as f64).max((ideal + 3_600_000) as f64);
                    done += 1;
                    if done % 1000 == 0 {
                        progress(done, n);
                    }
                }
                if !pending.is_empty() {
                    next_round = Some(next_round.map_or(t.max(last_round + round_ms), |r| r.min(t.max(last_round + round_ms))));
                }
            }
            Event::Arrive { job } => {
                pending.push(job);
                next_round = Some(next_round.map_or(t.max(last_round + round_ms), |r| r.min(t.max(last_round + round_ms))));
            }
            Event::Round => {
                if scheduled_round == Some(t) {
                    scheduled_round = None;
                }
                if next_round != Some(t) {
                    continue;
                }
                next_round = None;
                last_round = t;
                rounds += 1;
                // The fair-share account decayed to now, with the runs in flight counted in full.
                let usage = fair.view(t, running.iter().map(|(&i, rt)| (&work.jobs[i].tenant_id, rt.pflop_s)));
                jobs_now.clear();
                jobs_now.extend(pending.iter().map(|&i| work.jobs[i].clone()));
                let snap = Snapshot {
                    now_ms: t,
                    centres: &city.centres,
                    pools: &loads.pools,
                    catalogue,
                    regions,
                    speeds: &opts.speeds,
                    cfg: &opts.sched,
                    usage: &usage,
                };
                let out = schedule(snap, &jobs_now, opts.policy);
                evaluated += out.evaluated;
                for pre in &out.preemptions {
                    let Some(&v) = job_index.get(&pre.victim) else { continue };
                    if let Some(rt) = running.remove(&v) {
                        loads.release(rt.pool, &pre.victim);
                        // The job starts again from the beginning. What ran was used (its time
                        // and carbon count), but by the round driver's rule a run lost to
                        // preemption is neither billed nor charged to the fair-share account.
                        let ran = (t - rt.start_ms).max(0) as f64 / 1000.0;
                        let share = if rt.estimate.run_s > 0.0 { (ran / rt.estimate.run_s).min(1.0) } else { 0.0 };
                        let cost = run_cost(RunEnd::Preempted { progress_kept: false });
                        let billed = if cost.billed { share } else { 0.0 };
                        outcomes[v].cost_fen -= ((1.0 - billed) * rt.estimate.compute_cost.0 as f64) as i64;
                        if cost.fair_share {
                            fair.charge(&work.jobs[v].tenant_id, rt.pflop_s * share, t);
                        }
                        outcomes[v].carbon_g -= (1.0 - share) * rt.estimate.carbon_kg * 1000.0;
                        outcomes[v].run_s -= rt.estimate.run_s - ran;
                        epoch[v] += 1;
                        pending.push(v);
                        preemptions += 1;
                    }
                }
                let placed: std::collections::HashSet<usize> =
                    out.placements.iter().filter_map(|p| job_index.get(&p.job).copied()).collect();
                for p in out.placements {
                    let Some(&i) = job_index.get(&p.job) else { continue };
                    let Some(pi) = loads.position(&p.chosen.pool) else { continue };
                    let e = p.chosen;
                    let start = t + (e.transfer_s * 1000.0) as i64;
                    let end = start + (e.run_s * 1000.0).ceil().max(1.0) as i64;
                    let spec = &work.jobs[i].spec;
                    loads.occupy(
                        pi,
                        RunningJob {
                            job: work.jobs[i].id.clone(),
                            tenant: work.jobs[i].tenant_id.clone(),
                            accelerators: spec.accelerators,
                            priority: spec.priority,
                            preemptible: spec.preemptible,
                            started_ms: start,
                            est_end_ms: end,
                        },
                    );
                    let pflop = catalogue.get(&e.model).map_or(0.0, |a| pflop_s(a, spec.accelerators, e.run_s));
                    let o = &mut outcomes[i];
                    o.start_s.get_or_insert((start - opts.start_ms) as f64 / 1000.0);
                    o.cost_fen += e.total_cost().0;
                    o.carbon_g += e.carbon_kg * 1000.0;
                    o.run_s += e.run_s;
                    o.outside_home = centre_region.get(&e.centre).is_some_and(|r| !regions.is_within(r, HOME_CITY));
                    events.push(Reverse((end, Event::Finish { job: i, epoch: epoch[i] })));
                    running.insert(i, Runtime { pool: pi, start_ms: start, estimate: e, pflop_s: pflop });
                }
                pending.retain(|i| !placed.contains(i));
                if !pending.is_empty() {
                    // Look again in an hour even if nothing else happens (deferrals, reservations).
                    let later = t + 3_600_000;
                    next_round = Some(next_round.map_or(later, |r| r.min(later)));
                }
            }
        }
        if let Some(r) = next_round
            && scheduled_round.is_none_or(|s| r < s)
        {
            events.push(Reverse((r, Event::Round)));
            scheduled_round = Some(r);
        }
    }
    progress(n, n);
    SimRun { outcomes, rounds, evaluated, preemptions }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::TraceFormat;

    fn trace_job(id: u64, tenant: &str, arrival_s: f64, duration_s: f64) -> TraceJob {
        TraceJob {
            id,
            line: id as usize + 2,
            tenant: tenant.into(),
            arrival_s,
            duration_s,
            gpus: 1,
            gpu_fraction: 1.0,
            gpu_models: vec!["V100M16".into()],
        }
    }

    /// One V100: a best-effort job runs, a latency-sensitive one arrives and preempts it. The
    /// lost run is not billed and does not count towards its tenant's fair share, as in the
    /// live engine: the preempted job pays exactly one full run, as if alone.
    #[test]
    fn a_run_lost_to_preemption_is_not_billed_as_in_the_live_engine() {
        let (cat, reg) = (Catalogue::builtin(), Regions::builtin());
        let city = SimCity::gavel([1, 0, 0], [1, 1, 1], &cat).unwrap();
        let opts = SimOptions::new(PolicyKind::Suanli, &cat);
        let run_of = |jobs: Vec<TraceJob>| {
            let trace = Trace { format: TraceFormat::AlibabaOpenb, jobs, skipped: Vec::new() };
            let work = prepare(&trace, &city, &cat, &reg, &opts).unwrap();
            run(&city, &work, &cat, &reg, &opts, &mut |_, _| {})
        };
        let alone = run_of(vec![trace_job(0, "qos:BE", 0.0, 2_000.0)]);
        let both = run_of(vec![trace_job(0, "qos:BE", 0.0, 2_000.0), trace_job(1, "qos:LS", 600.0, 100.0)]);
        assert_eq!(both.preemptions, 1, "the latency-sensitive job preempts the best-effort one");
        let (victim, lone) = (&both.outcomes[0], &alone.outcomes[0]);
        assert!(victim.cost_fen > 0);
        assert_eq!(victim.cost_fen, lone.cost_fen, "the lost run costs nothing: one full run is billed");
        // The time it used and the carbon it emitted are real, and count.
        assert!(victim.run_s > lone.run_s + 500.0, "{} vs {}", victim.run_s, lone.run_s);
        assert!(victim.carbon_g > lone.carbon_g);
    }
}
