//! Time-sliced rounds: each round leases GPUs of one type to whole gangs for a fixed time, and may preempt or move jobs between types.
//!
//! The one-shot placement of [`crate::round`] puts a job on a pool once and leaves it there.
//! Here, as in Gavel (Narayanan et al., OSDI 2020), the scheduler decides again every round
//! (a lease, 360 s by default) which jobs hold which GPU type: a job may be stopped at a round's
//! end and resumed later, or moved to another type, and pays [`SliceConfig::restore_s`] of
//! checkpoint-restore time whenever it resumes or moves. Gangs are all or nothing: a job holds
//! `gpus` GPUs of one type for the whole lease, or none. A job that cannot be interrupted
//! (`preemptible == false`) keeps the type it holds until it ends.
//!
//! The caller passes each job's remaining run time alone on every type (from measured
//! throughputs) and gets leases back; nothing here reads a clock or draws a random number, and
//! ties break on job ids, so a round is a function of its input.
//!
//! Policies:
//! - [`SlicePolicy::Suanli`]: heterogeneity-aware shortest-remaining-time. A job's claim on a
//!   type is `weight x (1 + age / aging_s) / (gpus x remaining time on that type, restore
//!   included)`; claims are granted greedily from the largest, then pairs of jobs swap types
//!   (and jobs move to idle types) while the sum of granted claims grows. Short jobs finish
//!   first (what minimises average JCT), each job tends to the type where it gains most over
//!   the others, and age lifts every waiting job so none starves.
//! - [`SlicePolicy::Fifo`]: Gavel's `fifo`: arrival order, the head of the queue blocks, never
//!   preempts; blind to speed (the type with most free GPUs stands in for Gavel's random pick).
//! - [`SlicePolicy::FifoPerf`]: Gavel's `fifo_perf`: every round, in arrival order, each job to
//!   its fastest type with room; the head blocks.
//! - [`SlicePolicy::FairAgnostic`]: least attained service first (max-min fair time shares),
//!   preemptive, blind to speed (the type with most free GPUs).

/// One GPU type of the cluster, e.g. 36 V100s.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuType {
    pub name: String,
    pub gpus: u32,
}

/// Which policy decides a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlicePolicy {
    Suanli,
    Fifo,
    FifoPerf,
    FairAgnostic,
}

impl SlicePolicy {
    pub const ALL: [SlicePolicy; 4] = [SlicePolicy::Suanli, SlicePolicy::FifoPerf, SlicePolicy::Fifo, SlicePolicy::FairAgnostic];

    pub fn as_str(self) -> &'static str {
        match self {
            SlicePolicy::Suanli => "suanli",
            SlicePolicy::Fifo => "fifo",
            SlicePolicy::FifoPerf => "fifo-perf",
            SlicePolicy::FairAgnostic => "fair-agnostic",
        }
    }

    pub fn parse(s: &str) -> Option<SlicePolicy> {
        SlicePolicy::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Whether a running job may be stopped or moved at a round's end.
    fn preempts(self) -> bool {
        !matches!(self, SlicePolicy::Fifo)
    }
}

/// The knobs of time-sliced rounds.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceConfig {
    /// Length of a lease (a round), seconds. Gavel's default is 360 s.
    pub lease_s: f64,
    /// Seconds lost to save a checkpoint and restore it whenever a job resumes or changes type.
    pub restore_s: f64,
    /// Age at which a waiting job's claim has doubled, seconds (Suanli's policy).
    pub aging_s: f64,
}

impl Default for SliceConfig {
    fn default() -> SliceConfig {
        SliceConfig { lease_s: 360.0, restore_s: 30.0, aging_s: 48.0 * 3600.0 }
    }
}

/// A job as one round sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceJob {
    /// Ids order arrival (Gavel's job ids); ties break on them.
    pub id: u64,
    /// GPUs held at once, all of one type.
    pub gpus: u32,
    /// Seconds of work left if the job ran alone on each type (index as the cluster's types);
    /// `None` where it cannot run.
    pub remaining_s: Vec<Option<f64>>,
    /// The type it holds under the lease ending now, if any.
    pub holding: Option<usize>,
    /// Whether it ran before, so resuming needs a restore.
    pub started: bool,
    pub preemptible: bool,
    /// Seconds since it arrived.
    pub age_s: f64,
    /// GPU-seconds of leases it received so far.
    pub attained_gpu_s: f64,
    /// Gavel's priority weight (1 for every job of the shared traces).
    pub weight: f64,
}

/// One job's lease for the coming round.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lease {
    pub job: u64,
    pub gpu_type: usize,
    /// Whether the job first restores a checkpoint (it resumes or changed type).
    pub restore: bool,
}

/// What a round decided.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoundPlan {
    /// In job order.
    pub leases: Vec<Lease>,
    /// Jobs that held a type and get no lease.
    pub preempted: Vec<u64>,
    /// Jobs that hold a different type from the one they held.
    pub migrated: Vec<u64>,
}

/// Decides one round: which job holds which type for the next lease.
pub fn plan_round(types: &[GpuType], jobs: &[SliceJob], policy: SlicePolicy, cfg: &SliceConfig) -> RoundPlan {
    let mut free: Vec<u32> = types.iter().map(|t| t.gpus).collect();
    let mut chosen: Vec<Option<usize>> = vec![None; jobs.len()];
    for (i, j) in jobs.iter().enumerate() {
        if let Some(t) = j.holding
            && (!j.preemptible || !policy.preempts())
            && t < free.len()
            && free[t] >= j.gpus
        {
            free[t] -= j.gpus;
            chosen[i] = Some(t);
        }
    }
    assign(jobs, &mut free, &mut chosen, policy, cfg);
    let mut plan = RoundPlan::default();
    for (i, j) in jobs.iter().enumerate() {
        match (j.holding, chosen[i]) {
            (Some(_), None) => plan.preempted.push(j.id),
            (Some(h), Some(t)) if h != t => plan.migrated.push(j.id),
            _ => {}
        }
        if let Some(t) = chosen[i] {
            plan.leases.push(Lease { job: j.id, gpu_type: t, restore: j.started && j.holding != Some(t) });
        }
    }
    plan
}

/// What the end of a lease means for one job, as the live engine applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseEnd {
    /// It holds its type for another lease.
    Keep,
    /// It stops and resumes on type `to` (checkpoint-restore).
    Move { to: usize },
    /// It stops and waits for a later lease, its progress kept.
    Yield,
    /// A waiting job takes a lease on type `on`.
    Start { on: usize },
    /// A waiting job waits on.
    Wait,
}

/// Decides one round of lease ends for the live engine: [`plan_round`] over the jobs whose
/// lease ends now and the jobs waiting for one, then each job's [`LeaseEnd`], in job order.
pub fn lease_ends(types: &[GpuType], jobs: &[SliceJob], policy: SlicePolicy, cfg: &SliceConfig) -> Vec<(u64, LeaseEnd)> {
    let plan = plan_round(types, jobs, policy, cfg);
    jobs.iter()
        .map(|j| {
            let lease = plan.leases.iter().find(|l| l.job == j.id).map(|l| l.gpu_type);
            let end = match (j.holding, lease) {
                (Some(h), Some(t)) if h == t => LeaseEnd::Keep,
                (Some(_), Some(t)) => LeaseEnd::Move { to: t },
                (Some(_), None) => LeaseEnd::Yield,
                (None, Some(t)) => LeaseEnd::Start { on: t },
                (None, None) => LeaseEnd::Wait,
            };
            (j.id, end)
        })
        .collect()
}

/// Reference seconds of work a stopped run did: its metered seconds less the checkpoint
/// restore it began with (if it resumed), at its type's speed relative to the reference.
pub fn work_done_ref_s(usage_s: f64, restored: bool, restore_s: f64, speed: f64) -> f64 {
    let useful = usage_s - if restored { restore_s } else { 0.0 };
    useful.max(0.0) * speed.max(0.0)
}

/// Leases idle GPUs (`free`, per type) to waiting jobs in the middle of a round, preempting
/// nothing; `free` is reduced by what is granted. Used when a job ends or arrives mid-round.
pub fn fill_idle(free: &mut [u32], waiting: &[SliceJob], policy: SlicePolicy, cfg: &SliceConfig) -> Vec<Lease> {
    let mut chosen: Vec<Option<usize>> = vec![None; waiting.len()];
    assign(waiting, free, &mut chosen, policy, cfg);
    waiting
        .iter()
        .zip(&chosen)
        .filter_map(|(j, c)| c.map(|t| Lease { job: j.id, gpu_type: t, restore: j.started && j.holding != Some(t) }))
        .collect()
}

/// Grants types to the jobs not yet `chosen`, within `free`.
fn assign(jobs: &[SliceJob], free: &mut [u32], chosen: &mut [Option<usize>], policy: SlicePolicy, cfg: &SliceConfig) {
    match policy {
        SlicePolicy::Suanli => {
            let pinned: Vec<bool> = chosen.iter().map(Option::is_some).collect();
            greedy_claims(jobs, free, chosen, cfg);
            improve(jobs, free, chosen, &pinned, cfg);
        }
        SlicePolicy::Fifo | SlicePolicy::FifoPerf => {
            let mut order: Vec<usize> = (0..jobs.len()).filter(|&i| chosen[i].is_none()).collect();
            order.sort_by_key(|&i| jobs[i].id);
            for i in order {
                let pick = if policy == SlicePolicy::Fifo { most_free(&jobs[i], free) } else { fastest(&jobs[i], free) };
                let Some(t) = pick else { break };
                free[t] -= jobs[i].gpus;
                chosen[i] = Some(t);
            }
        }
        SlicePolicy::FairAgnostic => {
            let mut order: Vec<usize> = (0..jobs.len()).filter(|&i| chosen[i].is_none()).collect();
            order.sort_by(|&a, &b| jobs[a].attained_gpu_s.total_cmp(&jobs[b].attained_gpu_s).then(jobs[a].id.cmp(&jobs[b].id)));
            for i in order {
                if let Some(t) = most_free(&jobs[i], free) {
                    free[t] -= jobs[i].gpus;
                    chosen[i] = Some(t);
                }
            }
        }
    }
}

/// Seconds until the job would end on type `t` from the next lease, restore included.
fn time_on(j: &SliceJob, t: usize, cfg: &SliceConfig) -> Option<f64> {
    let r = (*j.remaining_s.get(t)?)?;
    let restore = if j.started && j.holding != Some(t) { cfg.restore_s } else { 0.0 };
    Some(r.max(0.0) + restore)
}

/// The job's claim on type `t` under Suanli's policy (larger is more urgent).
fn claim(j: &SliceJob, t: usize, cfg: &SliceConfig) -> Option<f64> {
    let time = time_on(j, t, cfg)?;
    let aging = 1.0 + j.age_s.max(0.0) / cfg.aging_s.max(1.0);
    Some(j.weight.max(0.0) * aging / (f64::from(j.gpus.max(1)) * time.max(1e-3)))
}

fn greedy_claims(jobs: &[SliceJob], free: &mut [u32], chosen: &mut [Option<usize>], cfg: &SliceConfig) {
    let mut claims: Vec<(f64, u64, usize, usize)> = Vec::with_capacity(jobs.len() * free.len());
    for (i, j) in jobs.iter().enumerate().filter(|(i, _)| chosen[*i].is_none()) {
        for t in 0..free.len() {
            if let Some(c) = claim(j, t, cfg) {
                claims.push((c, j.id, t, i));
            }
        }
    }
    claims.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    for (_, _, t, i) in claims {
        if chosen[i].is_none() && free[t] >= jobs[i].gpus {
            free[t] -= jobs[i].gpus;
            chosen[i] = Some(t);
        }
    }
}

/// Local search after the greedy grant: a job moves to a type with room where its claim is
/// larger, and two jobs of the same gang size swap types when their claims' sum grows. Pinned
/// jobs stay. Bounded passes keep a round's cost predictable.
fn improve(jobs: &[SliceJob], free: &mut [u32], chosen: &mut [Option<usize>], pinned: &[bool], cfg: &SliceConfig) {
    const PASSES: usize = 3;
    let granted: Vec<usize> = (0..jobs.len()).filter(|&i| chosen[i].is_some() && !pinned[i]).collect();
    let gain = |i: usize, t: usize| claim(&jobs[i], t, cfg).unwrap_or(f64::NEG_INFINITY);
    for _ in 0..PASSES {
        let mut changed = false;
        for &a in &granted {
            let Some(ta) = chosen[a] else { continue };
            for t in 0..free.len() {
                if t != ta && free[t] >= jobs[a].gpus && gain(a, t) > gain(a, ta) * (1.0 + 1e-9) {
                    free[t] -= jobs[a].gpus;
                    free[ta] += jobs[a].gpus;
                    chosen[a] = Some(t);
                    changed = true;
                    break;
                }
            }
        }
        for (x, &a) in granted.iter().enumerate() {
            for &b in &granted[x + 1..] {
                let (Some(ta), Some(tb)) = (chosen[a], chosen[b]) else { continue };
                if ta == tb || jobs[a].gpus != jobs[b].gpus {
                    continue;
                }
                let before = gain(a, ta) + gain(b, tb);
                if gain(a, tb) + gain(b, ta) > before * (1.0 + 1e-9) {
                    chosen[a] = Some(tb);
                    chosen[b] = Some(ta);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
}

/// The type with most free GPUs that fits the gang and can run the job (ties: lower index).
fn most_free(j: &SliceJob, free: &[u32]) -> Option<usize> {
    (0..free.len())
        .filter(|&t| free[t] >= j.gpus && j.remaining_s.get(t).is_some_and(Option::is_some))
        .max_by(|&a, &b| free[a].cmp(&free[b]).then(b.cmp(&a)))
}

/// The type with room where the job would end soonest (ties: lower index).
fn fastest(j: &SliceJob, free: &[u32]) -> Option<usize> {
    (0..free.len())
        .filter_map(|t| Some((t, j.remaining_s.get(t).copied().flatten()?)))
        .filter(|&(t, _)| free[t] >= j.gpus)
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))
        .map(|(t, _)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(gpus: &[u32]) -> Vec<GpuType> {
        gpus.iter().enumerate().map(|(i, &g)| GpuType { name: format!("t{i}"), gpus: g }).collect()
    }

    fn job(id: u64, gpus: u32, remaining: &[f64]) -> SliceJob {
        SliceJob {
            id,
            gpus,
            remaining_s: remaining.iter().map(|&r| (r >= 0.0).then_some(r)).collect(),
            holding: None,
            started: false,
            preemptible: true,
            age_s: 0.0,
            attained_gpu_s: 0.0,
            weight: 1.0,
        }
    }

    fn used(plan: &RoundPlan, jobs: &[SliceJob], n_types: usize) -> Vec<u32> {
        let mut u = vec![0; n_types];
        for l in &plan.leases {
            u[l.gpu_type] += jobs.iter().find(|j| j.id == l.job).unwrap().gpus;
        }
        u
    }

    #[test]
    fn shortest_first_on_the_type_where_each_gains_most() {
        // Type 0 is fast for job 1 (3x) but barely for job 2 (1.05x): job 1 gets type 0.
        let t = types(&[1, 1]);
        let jobs = [job(1, 1, &[1000.0, 3000.0]), job(2, 1, &[950.0, 1000.0]), job(3, 1, &[50_000.0, 60_000.0])];
        let plan = plan_round(&t, &jobs, SlicePolicy::Suanli, &SliceConfig::default());
        assert_eq!(plan.leases.iter().map(|l| (l.job, l.gpu_type)).collect::<Vec<_>>(), [(1, 0), (2, 1)]);
    }

    #[test]
    fn gangs_are_all_or_nothing_and_nothing_is_over_allocated() {
        let t = types(&[4, 3, 2]);
        let jobs: Vec<SliceJob> = (0..12)
            .map(|i| job(i, [1, 2, 4, 3][i as usize % 4], &[100.0 + i as f64, 200.0, if i % 3 == 0 { -1.0 } else { 300.0 }]))
            .collect();
        for policy in SlicePolicy::ALL {
            let plan = plan_round(&t, &jobs, policy, &SliceConfig::default());
            let u = used(&plan, &jobs, 3);
            assert!(u.iter().zip(&t).all(|(u, t)| *u <= t.gpus), "{policy:?}: {u:?}");
            for l in &plan.leases {
                let j = jobs.iter().find(|j| j.id == l.job).unwrap();
                assert!(j.remaining_s[l.gpu_type].is_some(), "{policy:?}: job {} on a type it cannot run on", j.id);
            }
            let mut ids: Vec<u64> = plan.leases.iter().map(|l| l.job).collect();
            ids.dedup();
            assert_eq!(ids.len(), plan.leases.len(), "one lease per job");
        }
    }

    #[test]
    fn lease_ends_keep_move_yield_start_and_wait() {
        // Type 0 is three times faster; job 1 holds the slow type and type 0 has room: it moves.
        let t = types(&[1, 1]);
        let mut mover = job(1, 1, &[1000.0, 3000.0]);
        (mover.started, mover.holding) = (true, Some(1));
        let waiting = job(2, 1, &[900.0, 1000.0]);
        let ends = lease_ends(&t, &[mover.clone(), waiting.clone()], SlicePolicy::Suanli, &SliceConfig::default());
        assert_eq!(ends, [(1, LeaseEnd::Move { to: 0 }), (2, LeaseEnd::Start { on: 1 })]);
        // One type, least attained service first: the holder yields to the job that had none.
        let one = types(&[1]);
        let mut holder = job(1, 1, &[100.0]);
        (holder.started, holder.holding, holder.attained_gpu_s) = (true, Some(0), 360.0);
        let ends = lease_ends(&one, &[holder.clone(), job(2, 1, &[100.0])], SlicePolicy::FairAgnostic, &SliceConfig::default());
        assert_eq!(ends, [(1, LeaseEnd::Yield), (2, LeaseEnd::Start { on: 0 })]);
        // Shortest remaining first: the holder is shorter and keeps its type; the other waits.
        let ends = lease_ends(&one, &[holder, job(2, 1, &[5000.0])], SlicePolicy::Suanli, &SliceConfig::default());
        assert_eq!(ends, [(1, LeaseEnd::Keep), (2, LeaseEnd::Wait)]);
    }

    #[test]
    fn work_done_excludes_the_restore_and_scales_by_speed() {
        assert_eq!(work_done_ref_s(100.0, false, 30.0, 2.0), 200.0);
        assert_eq!(work_done_ref_s(100.0, true, 30.0, 2.0), 140.0);
        assert_eq!(work_done_ref_s(10.0, true, 30.0, 2.0), 0.0);
    }

    #[test]
    fn moving_or_resuming_costs_a_restore_and_holders_do_not() {
        let t = types(&[1, 1]);
        let mut resumed = job(1, 1, &[100.0, 100.0]);
        resumed.started = true;
        let mut kept = job(2, 1, &[200.0, 200.0]);
        (kept.started, kept.holding) = (true, Some(1));
        let fresh = job(3, 1, &[50_000.0, 50_000.0]);
        let plan = plan_round(&t, &[resumed, kept, fresh], SlicePolicy::Suanli, &SliceConfig::default());
        assert_eq!(plan.leases, [Lease { job: 1, gpu_type: 0, restore: true }, Lease { job: 2, gpu_type: 1, restore: false }]);
        assert!(plan.preempted.is_empty() && plan.migrated.is_empty());
        // A holder pushed off its type by a much shorter job is preempted; a move is a migration with a restore.
        let mut long = job(1, 1, &[90_000.0, 100_000.0]);
        (long.started, long.holding) = (true, Some(0));
        let short = job(2, 1, &[100.0, 1000.0]);
        let plan = plan_round(&t, &[long, short], SlicePolicy::Suanli, &SliceConfig::default());
        assert_eq!(plan.migrated, [1]);
        assert!(plan.leases.contains(&Lease { job: 1, gpu_type: 1, restore: true }));
        assert!(plan.leases.contains(&Lease { job: 2, gpu_type: 0, restore: false }));
    }

    #[test]
    fn a_job_that_cannot_be_interrupted_keeps_its_gpus() {
        let t = types(&[2]);
        let mut batch = job(1, 2, &[100_000.0]);
        (batch.started, batch.holding, batch.preemptible) = (true, Some(0), false);
        let short = job(2, 1, &[10.0]);
        let plan = plan_round(&t, &[batch, short], SlicePolicy::Suanli, &SliceConfig::default());
        assert_eq!(plan.leases, [Lease { job: 1, gpu_type: 0, restore: false }]);
    }

    #[test]
    fn fifo_never_preempts_and_its_head_blocks() {
        let t = types(&[2, 1]);
        let mut running = job(5, 2, &[1e6, 1e6]);
        (running.started, running.holding) = (true, Some(0));
        let head = job(6, 2, &[10.0, 10.0]);
        let behind = job(7, 1, &[10.0, 10.0]);
        let plan = plan_round(&t, &[running.clone(), head.clone(), behind.clone()], SlicePolicy::Fifo, &SliceConfig::default());
        assert_eq!(plan.leases.iter().map(|l| l.job).collect::<Vec<_>>(), [5], "job 6 fits nowhere and blocks job 7");
        // fifo-perf re-plans every round in arrival order: the long job keeps its place.
        let plan = plan_round(&t, &[running, head, behind], SlicePolicy::FifoPerf, &SliceConfig::default());
        assert_eq!(plan.leases.iter().map(|l| l.job).collect::<Vec<_>>(), [5]);
    }

    #[test]
    fn age_lifts_a_waiting_job() {
        let t = types(&[1]);
        let mut old = job(1, 1, &[10.0 * 3600.0]);
        old.age_s = 0.0;
        let young = job(2, 1, &[3600.0]);
        let pick =
            |old: &SliceJob| plan_round(&t, &[old.clone(), young.clone()], SlicePolicy::Suanli, &SliceConfig::default()).leases[0].job;
        assert_eq!(pick(&old), 2);
        old.age_s = 20.0 * 48.0 * 3600.0;
        assert_eq!(pick(&old), 1);
    }

    #[test]
    fn fill_idle_grants_only_free_gpus() {
        let mut free = vec![1, 0];
        let waiting = [job(1, 1, &[10.0, 5.0]), job(2, 1, &[20.0, 20.0])];
        let leases = fill_idle(&mut free, &waiting, SlicePolicy::Suanli, &SliceConfig::default());
        assert_eq!(leases, [Lease { job: 1, gpu_type: 0, restore: false }]);
        assert_eq!(free, [0, 0]);
    }
}
