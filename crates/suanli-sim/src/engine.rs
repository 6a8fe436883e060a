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
use suanli_core::id::{CentreId, JobId, TenantId};
use suanli_core::job::{Job, JobKind, JobSpec};
use suanli_core::region::{HOME_CITY, RegionKind, Regions};
use suanli_sched::driver::{FairShare, Loads, RunEnd, pflop_s, run_cost};
use suanli_sched::round::{Placement, PolicyKind, RunningJob, Snapshot, schedule};
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
    let mut replay = Replay::new(city, work, catalogue, regions, opts);
    progress(0, n);
    while let Some(Reverse((t, ev))) = replay.events.pop() {
        match ev {
            Event::Finish { job, epoch } => replay.finish(t, job, epoch, progress),
            Event::Arrive { job } => replay.arrive(t, job),
            Event::Round => replay.round(t),
        }
    }
    progress(n, n);
    SimRun { outcomes: replay.outcomes, rounds: replay.rounds, evaluated: replay.evaluated, preemptions: replay.preemptions }
}

/// The replay's state between events.
struct Replay<'a> {
    city: &'a SimCity,
    work: &'a Workload,
    catalogue: &'a Catalogue,
    regions: &'a Regions,
    opts: &'a SimOptions,
    loads: Loads,
    centre_region: HashMap<CentreId, String>,
    job_index: HashMap<&'a JobId, usize>,
    outcomes: Vec<JobOutcome>,
    events: BinaryHeap<Reverse<(i64, Event)>>,
    pending: Vec<usize>,
    running: HashMap<usize, Runtime>,
    /// Each job's run count: a Finish event of an earlier, preempted run is stale.
    epoch: Vec<u32>,
    fair: FairShare,
    /// When the next round should run, if one is wanted.
    next_round: Option<i64>,
    /// The earliest Round event in the heap that is still wanted; later ones are ignored when popped.
    scheduled_round: Option<i64>,
    last_round: i64,
    round_ms: i64,
    rounds: u64,
    evaluated: u64,
    preemptions: u64,
    done: usize,
    /// The pending jobs handed to a round (kept to reuse its allocation).
    jobs_now: Vec<Job>,
}

impl<'a> Replay<'a> {
    fn new(city: &'a SimCity, work: &'a Workload, catalogue: &'a Catalogue, regions: &'a Regions, opts: &'a SimOptions) -> Replay<'a> {
        let n = work.jobs.len();
        let outcomes = (0..n)
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
        let events = work.jobs.iter().enumerate().map(|(i, j)| Reverse((j.submitted_ms, Event::Arrive { job: i }))).collect();
        Replay {
            city,
            work,
            catalogue,
            regions,
            opts,
            loads: Loads::idle(&city.pools),
            centre_region: city.centres.iter().map(|c| (c.id.clone(), c.region.clone())).collect(),
            job_index: work.jobs.iter().enumerate().map(|(i, j)| (&j.id, i)).collect(),
            outcomes,
            events,
            pending: Vec::new(),
            running: HashMap::new(),
            epoch: vec![0u32; n],
            fair: FairShare::new(opts.fair_share_half_life_s * 1000.0),
            next_round: None,
            scheduled_round: None,
            last_round: i64::MIN / 2,
            round_ms: (opts.round_s * 1000.0).max(1.0) as i64,
            rounds: 0,
            evaluated: 0,
            preemptions: 0,
            done: 0,
            jobs_now: Vec::new(),
        }
    }

    /// Wants a round at `at`, or earlier if one is already wanted.
    fn round_by(&mut self, at: i64) {
        self.next_round = Some(self.next_round.map_or(at, |r| r.min(at)));
    }

    /// Wants a round as soon as the round interval allows after `t`.
    fn round_soon(&mut self, t: i64) {
        self.round_by(t.max(self.last_round + self.round_ms));
    }

    /// Puts the wanted round in the event heap unless an earlier one is already there. Every
    /// event that changes the state ends with it; a stale one returns before.
    fn book_next_round(&mut self) {
        if let Some(r) = self.next_round
            && self.scheduled_round.is_none_or(|s| r < s)
        {
            self.events.push(Reverse((r, Event::Round)));
            self.scheduled_round = Some(r);
        }
    }

    /// A run ends (unless it is a stale event of a preempted run): its pool is freed, its tenant
    /// charged, its end and SLO recorded; waiting jobs get a round.
    fn finish(&mut self, t: i64, job: usize, epoch: u32, progress: &mut dyn FnMut(usize, usize)) {
        if self.epoch[job] != epoch {
            return;
        }
        let work = self.work;
        if let Some(rt) = self.running.remove(&job) {
            self.loads.release(rt.pool, &work.jobs[job].id);
            if run_cost(RunEnd::Ended).fair_share {
                self.fair.charge(&work.jobs[job].tenant_id, rt.pflop_s, t);
            }
            let o = &mut self.outcomes[job];
            o.end_s = Some((t - self.opts.start_ms) as f64 / 1000.0);
            let jct = t - work.jobs[job].submitted_ms;
            let ideal = work.jobs[job].spec.duration_s * 1000;
            o.slo_violated = jct as f64 > (self.opts.slo_factor * ideal as f64).max((ideal + 3_600_000) as f64);
            self.done += 1;
            if self.done.is_multiple_of(1000) {
                progress(self.done, work.jobs.len());
            }
        }
        if !self.pending.is_empty() {
            self.round_soon(t);
        }
        self.book_next_round();
    }

    fn arrive(&mut self, t: i64, job: usize) {
        self.pending.push(job);
        self.round_soon(t);
        self.book_next_round();
    }

    /// One scheduling round at `t` (if it is still the wanted one): the policy sees the pending
    /// jobs and the pools' loads, its preemptions and placements are applied, and jobs left
    /// waiting get another look in an hour.
    fn round(&mut self, t: i64) {
        if self.scheduled_round == Some(t) {
            self.scheduled_round = None;
        }
        if self.next_round != Some(t) {
            return;
        }
        self.next_round = None;
        self.last_round = t;
        self.rounds += 1;
        let work = self.work;
        // The fair-share account decayed to now, with the runs in flight counted in full.
        let usage = self.fair.view(t, self.running.iter().map(|(&i, rt)| (&work.jobs[i].tenant_id, rt.pflop_s)));
        self.jobs_now.clear();
        self.jobs_now.extend(self.pending.iter().map(|&i| work.jobs[i].clone()));
        let snap = Snapshot {
            now_ms: t,
            centres: &self.city.centres,
            pools: &self.loads.pools,
            catalogue: self.catalogue,
            regions: self.regions,
            speeds: &self.opts.speeds,
            cfg: &self.opts.sched,
            usage: &usage,
        };
        let out = schedule(snap, &self.jobs_now, self.opts.policy);
        self.evaluated += out.evaluated;
        for pre in &out.preemptions {
            self.preempt(t, &pre.victim);
        }
        let placed: std::collections::HashSet<usize> = out.placements.iter().filter_map(|p| self.job_index.get(&p.job).copied()).collect();
        for p in out.placements {
            self.start(t, p);
        }
        self.pending.retain(|i| !placed.contains(i));
        if !self.pending.is_empty() {
            // Look again in an hour even if nothing else happens (deferrals, reservations).
            self.round_by(t + 3_600_000);
        }
        self.book_next_round();
    }

    /// A running job stopped at `t` to make room: it starts again from the beginning. What ran
    /// was used (its time and carbon count), but by the round driver's rule a run lost to
    /// preemption is neither billed nor charged to the fair-share account.
    fn preempt(&mut self, t: i64, victim: &JobId) {
        let Some(&v) = self.job_index.get(victim) else { return };
        let Some(rt) = self.running.remove(&v) else { return };
        self.loads.release(rt.pool, victim);
        let ran = (t - rt.start_ms).max(0) as f64 / 1000.0;
        let share = if rt.estimate.run_s > 0.0 { (ran / rt.estimate.run_s).min(1.0) } else { 0.0 };
        let cost = run_cost(RunEnd::Preempted { progress_kept: false });
        let billed = if cost.billed { share } else { 0.0 };
        self.outcomes[v].cost_fen -= ((1.0 - billed) * rt.estimate.compute_cost.0 as f64) as i64;
        if cost.fair_share {
            self.fair.charge(&self.work.jobs[v].tenant_id, rt.pflop_s * share, t);
        }
        self.outcomes[v].carbon_g -= (1.0 - share) * rt.estimate.carbon_kg * 1000.0;
        self.outcomes[v].run_s -= rt.estimate.run_s - ran;
        self.epoch[v] += 1;
        self.pending.push(v);
        self.preemptions += 1;
    }

    /// A placement starts its job on the chosen pool once its data has moved, and books its end.
    fn start(&mut self, t: i64, p: Placement) {
        let Some(&i) = self.job_index.get(&p.job) else { return };
        let Some(pi) = self.loads.position(&p.chosen.pool) else { return };
        let e = p.chosen;
        let start = t + (e.transfer_s * 1000.0) as i64;
        let end = start + (e.run_s * 1000.0).ceil().max(1.0) as i64;
        let job = &self.work.jobs[i];
        let spec = &job.spec;
        self.loads.occupy(
            pi,
            RunningJob {
                job: job.id.clone(),
                tenant: job.tenant_id.clone(),
                accelerators: spec.accelerators,
                priority: spec.priority,
                preemptible: spec.preemptible,
                started_ms: start,
                est_end_ms: end,
            },
        );
        let pflop = self.catalogue.get(&e.model).map_or(0.0, |a| pflop_s(a, spec.accelerators, e.run_s));
        let o = &mut self.outcomes[i];
        o.start_s.get_or_insert((start - self.opts.start_ms) as f64 / 1000.0);
        o.cost_fen += e.total_cost().0;
        o.carbon_g += e.carbon_kg * 1000.0;
        o.run_s += e.run_s;
        o.outside_home = self.centre_region.get(&e.centre).is_some_and(|r| !self.regions.is_within(r, HOME_CITY));
        self.events.push(Reverse((end, Event::Finish { job: i, epoch: self.epoch[i] })));
        self.running.insert(i, Runtime { pool: pi, start_ms: start, estimate: e, pflop_s: pflop });
    }
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
