//! The time-sliced replay: Gavel trace jobs on a cluster of GPU types, in rounds of leases decided by `suanli_sched::timeslice`.
//!
//! Time is simulated seconds from 0. Rounds start at multiples of the lease length. At a
//! round's start the jobs that have arrived are planned; a leased job runs from the start
//! (after its restore, when it resumes or moved) until it ends or the lease does. A job that
//! arrives mid-round waits for the next round and GPUs freed mid-round idle until then, as in
//! Gavel's simulator, unless `fill_mid_round` lets waiting jobs take idle GPUs at once (never
//! preempting anyone). A job's progress is the fraction of its steps done, so moving between
//! types keeps the work done: its remaining time on a type is the rest of that fraction times
//! its run time alone there.

use crate::city::{GAVEL_WORKERS, SimCity};
use crate::engine::Rejected;
use crate::gavel::Throughputs;
use crate::gavel_trace::GavelJob;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use suanli_sched::timeslice::{GpuType, Lease, SliceConfig, SliceJob, SlicePolicy, fill_idle, plan_round};

/// A job of the replay.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceSimJob {
    /// Gavel's job id (the trace's line order).
    pub id: u64,
    pub arrival_s: f64,
    pub gpus: u32,
    /// Run time alone on each GPU type (the cluster's order); `None` where it cannot run.
    pub run_s: Vec<Option<f64>>,
    pub weight: f64,
    pub preemptible: bool,
}

/// The cluster's GPU types, one per pool, named by Gavel's worker names.
pub fn gpu_types(city: &SimCity) -> Vec<GpuType> {
    city.pools
        .iter()
        .map(|p| {
            let name = GAVEL_WORKERS.iter().find(|(_, m)| *m == p.accelerator).map_or(p.accelerator.as_str(), |(w, _)| w);
            GpuType { name: name.to_string(), gpus: p.capacity() }
        })
        .collect()
}

/// Turns a Gavel trace into replay jobs: a job's run time on a type is its total steps over
/// the whole job's throughput at its scale factor there. A job that can run on no type of
/// the cluster (no figure, or a gang larger than every type) is an error naming its line.
pub fn gavel_jobs(trace: &[GavelJob], throughputs: &Throughputs, types: &[GpuType]) -> Result<Vec<SliceSimJob>, Rejected> {
    let mut jobs = Vec::with_capacity(trace.len());
    for g in trace {
        let run_s: Vec<Option<f64>> = types
            .iter()
            .map(|t| {
                (t.gpus >= g.scale_factor).then(|| throughputs.run_time_s(&g.job_type, g.scale_factor, &t.name, g.total_steps)).flatten()
            })
            .collect();
        if run_s.iter().all(Option::is_none) {
            return Err(Rejected {
                line: g.line,
                reason: format!(
                    "no GPU type of the cluster runs ('{}', {}): the throughput file has no figure for it, or the gang is larger than every type",
                    g.job_type, g.scale_factor
                ),
            });
        }
        jobs.push(SliceSimJob {
            id: g.id,
            arrival_s: g.arrival_s,
            gpus: g.scale_factor,
            run_s,
            weight: g.priority_weight,
            preemptible: true,
        });
    }
    Ok(jobs)
}

#[derive(Debug, Clone, PartialEq)]
pub struct SliceSimOptions {
    pub policy: SlicePolicy,
    pub cfg: SliceConfig,
    /// Let waiting jobs take GPUs that fall idle mid-round (an arrival, an end).
    pub fill_mid_round: bool,
}

/// What happened to one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceOutcome {
    pub id: u64,
    pub arrival_s: f64,
    pub start_s: Option<f64>,
    pub end_s: Option<f64>,
    pub gpus: u32,
    /// Seconds of leases held (restores included), per GPU.
    pub busy_s: f64,
    /// Run time alone on its fastest type.
    pub best_run_s: f64,
}

/// What one replay produced.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceRun {
    pub outcomes: Vec<SliceOutcome>,
    pub rounds: u64,
    pub preemptions: u64,
    pub migrations: u64,
    pub restores: u64,
}

/// A job's state between rounds.
#[derive(Debug, Clone, Default)]
struct Progress {
    done: f64,
    holding: Option<usize>,
    started: bool,
    attained_gpu_s: f64,
    finished: bool,
}

/// A lease running in the current round.
struct Running {
    job: usize,
    gpu_type: usize,
    from_s: f64,
    /// When work starts (after a restore).
    work_from_s: f64,
}

/// The leases of one round and the GPUs they leave free.
struct Round {
    end_s: f64,
    restore_s: f64,
    free: Vec<u32>,
    running: Vec<Running>,
    /// Ends within the round: (time as bits, index into `running`). Non-negative finite f64s
    /// order like their bit patterns.
    ends: BinaryHeap<Reverse<(u64, usize)>>,
}

impl Round {
    /// Starts lease `l` of job `i` at `now`.
    fn start(&mut self, i: usize, l: Lease, now: f64, job: &SliceSimJob, st: &mut Progress, out: &mut SliceRun) {
        let Some(run) = job.run_s.get(l.gpu_type).copied().flatten() else { return };
        if self.free[l.gpu_type] < job.gpus {
            return;
        }
        self.free[l.gpu_type] -= job.gpus;
        if l.restore {
            out.restores += 1;
        }
        let work_from_s = now + if l.restore { self.restore_s } else { 0.0 };
        st.holding = Some(l.gpu_type);
        st.started = true;
        out.outcomes[i].start_s.get_or_insert(now);
        let end = work_from_s + (1.0 - st.done) * run;
        self.running.push(Running { job: i, gpu_type: l.gpu_type, from_s: now, work_from_s });
        if end <= self.end_s {
            self.ends.push(Reverse((end.max(0.0).to_bits(), self.running.len() - 1)));
        }
    }
}

/// Replays `jobs` (sorted by arrival, then id) on `types`. Stops when every job has ended.
pub fn replay(types: &[GpuType], jobs: &[SliceSimJob], opts: &SliceSimOptions) -> SliceRun {
    let n = jobs.len();
    let lease = opts.cfg.lease_s.max(1.0);
    let mut state = vec![Progress::default(); n];
    let mut out = SliceRun {
        outcomes: jobs
            .iter()
            .map(|j| SliceOutcome {
                id: j.id,
                arrival_s: j.arrival_s,
                start_s: None,
                end_s: None,
                gpus: j.gpus,
                busy_s: 0.0,
                best_run_s: j.run_s.iter().flatten().copied().fold(f64::INFINITY, f64::min),
            })
            .collect(),
        rounds: 0,
        preemptions: 0,
        migrations: 0,
        restores: 0,
    };
    let mut next = 0usize;
    let mut active: Vec<usize> = Vec::new();
    let mut t = jobs.first().map_or(0.0, |j| (j.arrival_s / lease).floor() * lease);
    while next < n || !active.is_empty() {
        while next < n && jobs[next].arrival_s <= t {
            active.push(next);
            next += 1;
        }
        if active.is_empty() && (!opts.fill_mid_round || jobs[next].arrival_s >= t + lease) {
            // Nothing to do until the next arrival: skip to its round.
            t = ((jobs[next].arrival_s / lease).floor() * lease).max(t + lease);
            continue;
        }
        out.rounds += 1;
        let views: Vec<SliceJob> = active.iter().map(|&i| view(&jobs[i], &state[i], t)).collect();
        let plan = plan_round(types, &views, opts.policy, &opts.cfg);
        out.preemptions += plan.preempted.len() as u64;
        out.migrations += plan.migrated.len() as u64;
        let mut round = Round {
            end_s: t + lease,
            restore_s: opts.cfg.restore_s.max(0.0),
            free: types.iter().map(|g| g.gpus).collect(),
            running: Vec::new(),
            ends: BinaryHeap::new(),
        };
        for &i in &active {
            state[i].holding = None;
        }
        let index: std::collections::HashMap<u64, usize> = active.iter().map(|&i| (jobs[i].id, i)).collect();
        for l in &plan.leases {
            if let Some(&i) = index.get(&l.job) {
                round.start(i, *l, t, &jobs[i], &mut state[i], &mut out);
            }
        }
        mid_round(&mut round, jobs, &mut state, &mut active, &mut next, opts, &mut out);
        for r in &round.running {
            let i = r.job;
            if state[i].finished {
                continue;
            }
            if let Some(run) = jobs[i].run_s[r.gpu_type] {
                state[i].done = (state[i].done + (round.end_s - r.work_from_s).max(0.0) / run).min(1.0);
            }
            state[i].attained_gpu_s += f64::from(jobs[i].gpus) * (round.end_s - r.from_s);
            out.outcomes[i].busy_s += round.end_s - r.from_s;
        }
        active.retain(|&i| !state[i].finished);
        t = round.end_s;
    }
    out
}

/// Within a round: ends free GPUs; with `fill_mid_round`, arrivals and freed GPUs start
/// waiting jobs at once.
fn mid_round(
    round: &mut Round,
    jobs: &[SliceSimJob],
    state: &mut [Progress],
    active: &mut Vec<usize>,
    next: &mut usize,
    opts: &SliceSimOptions,
    out: &mut SliceRun,
) {
    loop {
        let end_at = round.ends.peek().map(|Reverse((bits, _))| f64::from_bits(*bits));
        let arrive_at = (opts.fill_mid_round && *next < jobs.len() && jobs[*next].arrival_s < round.end_s).then(|| jobs[*next].arrival_s);
        let now = match (end_at, arrive_at) {
            (Some(e), Some(a)) => e.min(a),
            (Some(e), None) => e,
            (None, Some(a)) => a,
            (None, None) => return,
        };
        if end_at == Some(now) {
            let Some(Reverse((_, r))) = round.ends.pop() else { return };
            let (i, gpu_type, from_s) = (round.running[r].job, round.running[r].gpu_type, round.running[r].from_s);
            round.free[gpu_type] += jobs[i].gpus;
            out.outcomes[i].busy_s += now - from_s;
            out.outcomes[i].end_s = Some(now);
            state[i].finished = true;
            state[i].done = 1.0;
            state[i].holding = None;
        } else {
            active.push(*next);
            *next += 1;
        }
        if opts.fill_mid_round && round.free.iter().any(|f| *f > 0) {
            let waiting: Vec<usize> = active.iter().copied().filter(|&i| !state[i].finished && state[i].holding.is_none()).collect();
            let views: Vec<SliceJob> = waiting.iter().map(|&i| view(&jobs[i], &state[i], now)).collect();
            let mut free = round.free.clone();
            for l in fill_idle(&mut free, &views, opts.policy, &opts.cfg) {
                if let Some(&i) = waiting.iter().find(|&&i| jobs[i].id == l.job) {
                    round.start(i, l, now, &jobs[i], &mut state[i], out);
                }
            }
        }
    }
}

/// How a job looks to the round planner at `now`.
fn view(job: &SliceSimJob, st: &Progress, now: f64) -> SliceJob {
    SliceJob {
        id: job.id,
        gpus: job.gpus,
        remaining_s: job.run_s.iter().map(|r| r.map(|r| (1.0 - st.done).max(0.0) * r)).collect(),
        holding: st.holding,
        started: st.started,
        preemptible: job.preemptible,
        age_s: (now - job.arrival_s).max(0.0),
        attained_gpu_s: st.attained_gpu_s,
        weight: job.weight,
    }
}

/// Jobs whose ids are in `start..end` (Gavel's `-s`/`-e` window); `None` ends at the last job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JobWindow {
    pub start: u64,
    pub end: Option<u64>,
}

impl JobWindow {
    pub fn contains(&self, id: u64) -> bool {
        id >= self.start && self.end.is_none_or(|e| id < e)
    }
}

/// The figures Gavel reports for a policy, and a few more. Durations in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceResult {
    pub policy: String,
    pub jobs: usize,
    pub window: JobWindow,
    /// Jobs in the window, and of those the ones that ended.
    pub window_jobs: usize,
    pub completed: usize,
    /// Average JCT (end - arrival) over the window's completed jobs.
    pub avg_jct_s: f64,
    pub p50_jct_s: f64,
    pub p99_jct_s: f64,
    pub max_jct_s: f64,
    /// Average of JCT / run time alone on the job's fastest type, over the window.
    pub avg_slowdown: f64,
    /// Last end - first arrival, over all jobs (a static trace's makespan).
    pub makespan_s: f64,
    /// GPU-seconds leased (restores included) over capacity x makespan.
    pub utilisation: f64,
    pub rounds: u64,
    pub preemptions: u64,
    pub migrations: u64,
    pub restores: u64,
    /// Wall-clock seconds of the replay, measured by the caller; 0 until set.
    pub wall_s: f64,
}

/// Summarises one replay on a cluster of `capacity` GPUs.
pub fn summarize_slices(policy: &str, run: &SliceRun, window: JobWindow, capacity: u64) -> SliceResult {
    let in_window: Vec<&SliceOutcome> = run.outcomes.iter().filter(|o| window.contains(o.id)).collect();
    let mut jct: Vec<f64> = in_window.iter().filter_map(|o| o.end_s.map(|e| e - o.arrival_s)).collect();
    jct.sort_by(f64::total_cmp);
    let slowdowns: Vec<f64> =
        in_window.iter().filter_map(|o| Some((o.end_s? - o.arrival_s) / o.best_run_s)).filter(|v| v.is_finite()).collect();
    let first = run.outcomes.iter().map(|o| o.arrival_s).fold(f64::INFINITY, f64::min);
    let last = run.outcomes.iter().filter_map(|o| o.end_s).fold(f64::NEG_INFINITY, f64::max);
    let makespan_s = if last.is_finite() && first.is_finite() { (last - first).max(0.0) } else { 0.0 };
    let busy: f64 = run.outcomes.iter().map(|o| f64::from(o.gpus) * o.busy_s).sum();
    let mean = |v: &[f64]| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
    let rank = |p: f64| if jct.is_empty() { 0.0 } else { jct[((p / 100.0 * jct.len() as f64).ceil() as usize).clamp(1, jct.len()) - 1] };
    SliceResult {
        policy: policy.to_string(),
        jobs: run.outcomes.len(),
        window,
        window_jobs: in_window.len(),
        completed: jct.len(),
        avg_jct_s: mean(&jct),
        p50_jct_s: rank(50.0),
        p99_jct_s: rank(99.0),
        max_jct_s: jct.last().copied().unwrap_or(0.0),
        avg_slowdown: mean(&slowdowns),
        makespan_s,
        utilisation: if makespan_s > 0.0 && capacity > 0 { busy / (capacity as f64 * makespan_s) } else { 0.0 },
        rounds: run.rounds,
        preemptions: run.preemptions,
        migrations: run.migrations,
        restores: run.restores,
        wall_s: 0.0,
    }
}

/// A Markdown table of the results, one row per policy.
pub fn slice_table(results: &[SliceResult]) -> String {
    let mut out = String::from(
        "| policy | avg JCT (h) | p50 JCT (h) | p99 JCT (h) | max JCT (h) | avg slowdown | makespan (h) | utilisation % | preemptions | migrations | wall (s) |\n|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let h = |s: f64| format!("{:.2}", s / 3600.0);
    for r in results {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.2} | {} | {:.1} | {} | {} | {:.3} |\n",
            r.policy.replace('|', "\\|"),
            h(r.avg_jct_s),
            h(r.p50_jct_s),
            h(r.p99_jct_s),
            h(r.max_jct_s),
            r.avg_slowdown,
            h(r.makespan_s),
            r.utilisation * 100.0,
            r.preemptions,
            r.migrations,
            r.wall_s
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_type(gpus: u32) -> Vec<GpuType> {
        vec![GpuType { name: "v100".into(), gpus }]
    }

    fn job(id: u64, arrival_s: f64, gpus: u32, run_s: &[f64]) -> SliceSimJob {
        SliceSimJob { id, arrival_s, gpus, run_s: run_s.iter().map(|&r| Some(r)).collect(), weight: 1.0, preemptible: true }
    }

    fn opts(policy: SlicePolicy, fill: bool) -> SliceSimOptions {
        SliceSimOptions { policy, cfg: SliceConfig { lease_s: 360.0, restore_s: 30.0, aging_s: 48.0 * 3600.0 }, fill_mid_round: fill }
    }

    fn ends(run: &SliceRun) -> Vec<f64> {
        run.outcomes.iter().map(|o| o.end_s.unwrap()).collect()
    }

    #[test]
    fn a_preempted_job_pays_its_restore_when_it_resumes() {
        let jobs = [job(0, 0.0, 1, &[1000.0]), job(1, 300.0, 1, &[100.0])];
        // Round 0: job 0 runs 0-360. Round 1: job 1 (shorter) runs 360-460; the GPU idles to 720.
        // Round 2: job 0 restores for 30 s and runs its last 640 s: it ends at 1,390.
        let run = replay(&one_type(1), &jobs, &opts(SlicePolicy::Suanli, false));
        assert_eq!(ends(&run), [1390.0, 460.0]);
        assert_eq!((run.preemptions, run.restores), (1, 1));
        // Filling idle GPUs mid-round, job 0 resumes at 460: 490 + 640.
        let run = replay(&one_type(1), &jobs, &opts(SlicePolicy::Suanli, true));
        assert_eq!(ends(&run), [1130.0, 460.0]);
        // FIFO never preempts: job 1 waits for job 0 and the round after it.
        let run = replay(&one_type(1), &jobs, &opts(SlicePolicy::Fifo, false));
        assert_eq!(ends(&run), [1000.0, 1080.0 + 100.0]);
    }

    #[test]
    fn moving_keeps_the_work_done() {
        // Job 1 takes the fast type first (its claim is larger); job 0 starts on the slow one
        // and moves when job 1 ends, paying one restore and keeping the work it did.
        let types = vec![GpuType { name: "p100".into(), gpus: 1 }, GpuType { name: "v100".into(), gpus: 1 }];
        let jobs = [job(0, 0.0, 1, &[2000.0, 1000.0]), job(1, 0.0, 1, &[720.0, 360.0])];
        let run = replay(&types, &jobs, &opts(SlicePolicy::Suanli, false));
        assert_eq!(run.outcomes[1].end_s, Some(360.0));
        // 0-360 on p100 does 18% of job 0; at 360 it moves: 30 s restore, then 82% of 1,000 s.
        assert_eq!(run.outcomes[0].end_s, Some(360.0 + 30.0 + 820.0));
        assert_eq!((run.migrations, run.restores), (1, 1));
    }

    #[test]
    fn a_gang_waits_for_all_its_gpus_and_nothing_is_over_allocated() {
        let jobs: Vec<SliceSimJob> =
            (0..40).map(|i| job(i, i as f64 * 100.0, [1, 2, 4][i as usize % 3], &[500.0 + 37.0 * i as f64])).collect();
        for policy in SlicePolicy::ALL {
            for fill in [false, true] {
                let run = replay(&one_type(4), &jobs, &opts(policy, fill));
                assert!(run.outcomes.iter().all(|o| o.end_s.is_some()), "{policy:?}: every job ends");
                let r = summarize_slices(policy.as_str(), &run, JobWindow::default(), 4);
                assert!(r.utilisation <= 1.0 + 1e-9, "{policy:?} {fill}: {}", r.utilisation);
                for o in &run.outcomes {
                    assert!(o.end_s.unwrap() - o.start_s.unwrap() >= o.best_run_s - 1e-6, "{policy:?}: no job beats its own run time");
                }
            }
        }
    }

    #[test]
    fn windows_and_summaries() {
        let jobs = [job(0, 0.0, 1, &[3600.0]), job(1, 0.0, 1, &[7200.0]), job(2, 0.0, 1, &[36_000.0])];
        let run = replay(&one_type(3), &jobs, &opts(SlicePolicy::Suanli, false));
        let all = summarize_slices("s", &run, JobWindow::default(), 3);
        let near = |a: f64, b: f64| (a - b).abs() < 1e-6 * b.abs().max(1.0);
        assert_eq!(all.completed, 3);
        assert!(near(all.avg_jct_s, 15_600.0) && near(all.makespan_s, 36_000.0), "{all:?}");
        assert!(near(all.utilisation, 46_800.0 / (3.0 * 36_000.0)));
        let w = summarize_slices("s", &run, JobWindow { start: 1, end: Some(2) }, 3);
        assert_eq!((w.window_jobs, w.completed), (1, 1));
        assert!(near(w.avg_jct_s, 7200.0) && near(w.makespan_s, 36_000.0), "{w:?}");
        assert!(slice_table(&[all, w]).lines().count() == 4);
    }
}
