//! One scheduling round: order the pending jobs, place each on a pool (or preempt, reserve, defer), improve the batch.
//!
//! The `suanli` policy orders jobs by priority, then by weighted fair share (dominant resource:
//! FP16 PFLOP-seconds a tenant received, over its weight), then by age; it places each on the
//! feasible pool with the lowest objective (money + carbon money + time value, see
//! [`crate::costing`]); a blocked job may preempt lower-priority preemptible jobs whose lost
//! work is bounded, or else gets a reservation that later jobs may backfill around but never
//! delay; a job with a deadline may wait for a cleaner hour. A final local search moves and
//! swaps this round's placements while it lowers the batch objective.
//!
//! The baselines (`fifo-firstfit`, `cheapest-first`, `fair-agnostic`) share the feasibility
//! rules and differ only in order and choice, so the simulator compares like with like.

mod board;
mod head;

use crate::costing::{Env, Estimate, Figures, Link, NetworkTable, SchedConfig, figures, goal_weights, grid_factor, named};
use crate::misfit;
use crate::speed::SpeedModel;
pub(crate) use board::Board;
use board::*;
pub use head::queue_head;
use serde::Serialize;
use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use suanli_core::catalogue::{Accelerator, Catalogue};
use suanli_core::centre::{Centre, PartnerStatus, Pool};
use suanli_core::id::{JobId, PoolId, TenantId};
use suanli_core::job::{Goal, Job};
use suanli_core::reason::{JobReason, whole};
use suanli_core::region::Regions;
use suanli_core::time::UnixMs;

/// Which policy decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum PolicyKind {
    /// Heterogeneity-, cost-, carbon- and latency-aware, fair, with preemption and backfill.
    Suanli,
    /// First come, first served; the first pool (by id) with room; the queue head blocks the rest.
    FifoFirstFit,
    /// The multi-cloud broker: each job, in arrival order, to the cheapest pool with room.
    CheapestFirst,
    /// Fair share by accelerator count, blind to speed: the pool with the most free accelerators.
    FairAgnostic,
}

impl PolicyKind {
    pub const ALL: [PolicyKind; 4] = [PolicyKind::Suanli, PolicyKind::FifoFirstFit, PolicyKind::CheapestFirst, PolicyKind::FairAgnostic];

    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Suanli => "suanli",
            PolicyKind::FifoFirstFit => "fifo-firstfit",
            PolicyKind::CheapestFirst => "cheapest-first",
            PolicyKind::FairAgnostic => "fair-agnostic",
        }
    }

    pub fn parse(s: &str) -> Option<PolicyKind> {
        PolicyKind::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// A job holding accelerators of a pool.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningJob {
    pub job: JobId,
    pub tenant: TenantId,
    pub accelerators: u32,
    pub priority: u8,
    pub preemptible: bool,
    pub started_ms: UnixMs,
    /// When the scheduler expects it to end (start + estimated run time).
    pub est_end_ms: UnixMs,
}

/// A pool as the round sees it: free accelerators and who holds the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolLoad {
    pub pool: Pool,
    pub free: u32,
    pub running: Vec<RunningJob>,
}

impl PoolLoad {
    /// A pool with nothing running on it.
    pub fn idle(pool: &Pool) -> PoolLoad {
        PoolLoad { pool: pool.clone(), free: pool.capacity(), running: Vec::new() }
    }
}

/// What each tenant has received (FP16 PFLOP-seconds, decayed by the caller) and its weight.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantUsage {
    pub received: HashMap<TenantId, f64>,
    pub weight: HashMap<TenantId, f64>,
}

impl TenantUsage {
    pub fn share(&self, t: &TenantId) -> f64 {
        self.received.get(t).copied().unwrap_or(0.0) / self.weight.get(t).copied().unwrap_or(1.0).max(1e-9)
    }
}

/// Everything a round reads.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a> {
    pub now_ms: UnixMs,
    pub centres: &'a [Centre],
    pub pools: &'a [PoolLoad],
    pub catalogue: &'a Catalogue,
    pub regions: &'a Regions,
    pub speeds: &'a SpeedModel,
    pub cfg: &'a SchedConfig,
    pub usage: &'a TenantUsage,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Placement {
    pub job: JobId,
    pub chosen: Estimate,
    /// The next-best pools that had room, best first.
    pub alternatives: Vec<Estimate>,
    /// Running jobs stopped to make room (they go back to pending).
    pub preempted: Vec<JobId>,
    /// Placed on a pool that holds a reservation for an earlier job, without delaying it.
    pub backfilled: bool,
    /// The job's weighted fair share when it was considered (lower goes first).
    pub fair_share: f64,
}

impl Placement {
    /// A placement made by a later improvement step: no alternatives recorded, nothing preempted.
    pub fn plain(job: JobId, chosen: Estimate) -> Placement {
        Placement { job, chosen, alternatives: Vec::new(), preempted: Vec::new(), backfilled: false, fair_share: 0.0 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reservation {
    pub pool: PoolId,
    pub start_ms: UnixMs,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Wait {
    pub job: JobId,
    pub reason: JobReason,
    pub reservation: Option<Reservation>,
    /// The best option it would have had (for explanations).
    pub best: Option<Estimate>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preemption {
    pub victim: JobId,
    pub pool: PoolId,
    pub by: JobId,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RoundOutcome {
    pub placements: Vec<Placement>,
    pub waits: Vec<Wait>,
    pub preemptions: Vec<Preemption>,
    /// (job, pool) estimates computed: the round's work.
    pub evaluated: u64,
}

/// What leaving a job unplaced this round costs: its accelerators' time value for the wait
/// horizon plus the time it has already waited (so a job never waits for a better pool forever),
/// more for higher priorities. The exact solver prices an unplaced job the same way.
pub fn wait_cost(cfg: &SchedConfig, job: &Job, now_ms: UnixMs) -> f64 {
    let waited_h = ((now_ms - job.submitted_ms).max(0) as f64) / 3_600_000.0;
    cfg.time_value_yuan_per_accel_hour
        * job.spec.accelerators as f64
        * (cfg.wait_penalty_hours + waited_h)
        * (1.0 + job.spec.priority as f64 / 3.0)
}

/// An f64 with a total order, for heaps.
#[derive(Debug, Clone, Copy, PartialEq)]
struct OrdF64(f64);
impl Eq for OrdF64 {}
impl PartialOrd for OrdF64 {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for OrdF64 {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.total_cmp(&o.0)
    }
}

/// A job's fair-share key: its tenant's share, in FP16 PFLOP-seconds per weight.
fn fp16_demand(job: &Job, reference_tflops: f64) -> f64 {
    job.spec.accelerators as f64 * reference_tflops / 1000.0 * job.spec.duration_s as f64
}

#[derive(PartialEq)]
struct HeapItem(f64, usize);
impl Eq for HeapItem {}
impl PartialOrd for HeapItem {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for HeapItem {
    fn cmp(&self, o: &Self) -> Ordering {
        // Min-heap on share, then on queue index.
        o.0.total_cmp(&self.0).then(o.1.cmp(&self.1))
    }
}

/// How an ordering takes a job: counted towards its limit, taken without counting, or passed
/// over (left out, its tenant's share grown all the same, so that the jobs taken keep the order
/// they have among every job).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Take {
    Counts,
    RidesAlong,
    PassedOver,
}

impl Take {
    /// Whether the job goes in; one that counts is added to `counted`.
    fn keeps(self, counted: &mut usize) -> bool {
        *counted += usize::from(self == Take::Counts);
        self != Take::PassedOver
    }
}

/// Every job taken, each counted: a round's own order.
fn every(_: &Job) -> Take {
    Take::Counts
}

/// The order the suanli policy considers jobs in: priority, then weighted fair share (updated as
/// jobs are taken), then age; up to the `limit`th job that [`Take::Counts`].
fn fair_order<'j, J: std::borrow::Borrow<Job>>(
    pending: &'j [J],
    snap: &Snapshot<'_>,
    count_only: bool,
    limit: usize,
    take: &mut dyn FnMut(&'j Job) -> Take,
) -> Vec<(&'j Job, f64)> {
    let reference_tflops = snap.catalogue.get(&snap.speeds.reference).map_or(312.0, |a| a.fp16_tflops);
    let mut by_priority: BTreeMap<std::cmp::Reverse<u8>, Vec<&Job>> = BTreeMap::new();
    for j in pending.iter().map(|j| j.borrow()) {
        by_priority.entry(std::cmp::Reverse(j.spec.priority)).or_default().push(j);
    }
    let mut out = Vec::with_capacity(pending.len().min(limit));
    let mut counted = 0;
    let mut share: HashMap<&TenantId, f64> = HashMap::new();
    for (_, mut jobs) in by_priority {
        if counted >= limit {
            break;
        }
        jobs.sort_by(|a, b| a.id.cmp(&b.id));
        let mut queues: Vec<(&TenantId, VecDeque<&Job>)> = Vec::new();
        let mut qi: HashMap<&TenantId, usize> = HashMap::new();
        // A tenant's jobs often come in runs (a sweep submitted at once): a run is looked up once.
        let mut last: Option<(&TenantId, usize)> = None;
        for j in jobs {
            let i = match last {
                Some((t, i)) if *t == j.tenant_id => i,
                _ => *qi.entry(&j.tenant_id).or_insert_with(|| {
                    queues.push((&j.tenant_id, VecDeque::new()));
                    queues.len() - 1
                }),
            };
            last = Some((&j.tenant_id, i));
            queues[i].1.push_back(j);
        }
        let mut heap = BinaryHeap::new();
        for (i, (t, _)) in queues.iter().enumerate() {
            let s = *share.entry(t).or_insert_with(|| snap.usage.share(t));
            heap.push(HeapItem(s, i));
        }
        while let Some(HeapItem(s, i)) = heap.pop() {
            if counted >= limit {
                break;
            }
            let (t, q) = &mut queues[i];
            let Some(j) = q.pop_front() else { continue };
            if take(j).keeps(&mut counted) {
                out.push((j, s));
            }
            let w = snap.usage.weight.get(*t).copied().unwrap_or(1.0).max(1e-9);
            let add = if count_only { j.spec.accelerators as f64 * j.spec.duration_s as f64 } else { fp16_demand(j, reference_tflops) };
            let ns = s + add / w;
            share.insert(t, ns);
            if !q.is_empty() {
                heap.push(HeapItem(ns, i));
            }
        }
    }
    out
}

/// The jobs by id (the order they arrived in), up to the `limit`th that [`Take::Counts`]: the
/// baselines' order.
fn arrival_order<'j, J: std::borrow::Borrow<Job>>(pending: &'j [J], limit: usize, take: &mut dyn FnMut(&'j Job) -> Take) -> Vec<&'j Job> {
    let mut v: Vec<&Job> = pending.iter().map(|j| j.borrow()).collect();
    v.sort_by(|a, b| a.id.cmp(&b.id));
    let mut counted = 0;
    let mut out = Vec::with_capacity(v.len().min(limit));
    for j in v {
        if counted >= limit {
            break;
        }
        if take(j).keeps(&mut counted) {
            out.push(j);
        }
    }
    out
}

/// Runs one round of `policy` over the snapshot.
pub fn schedule(snap: Snapshot<'_>, pending: &[Job], policy: PolicyKind) -> RoundOutcome {
    let mut out = RoundOutcome::default();
    if snap.pools.is_empty() || snap.centres.is_empty() || snap.catalogue.all().is_empty() {
        out.waits = pending.iter().map(|j| Wait { job: j.id.clone(), reason: JobReason::NoPools, reservation: None, best: None }).collect();
        return out;
    }
    let mut board = Board::new(snap);
    match policy {
        PolicyKind::Suanli => suanli_round(&mut board, pending, &mut out),
        _ => baseline_round(&mut board, pending, policy, &mut out),
    }
    out.evaluated = board.evaluated;
    out
}

fn suanli_round(board: &mut Board<'_>, pending: &[Job], out: &mut RoundOutcome) {
    let snap = board.snap;
    let mut round = RoundState {
        keep: snap.cfg.top_alternatives + 1,
        // Small rounds also price every job's waiting exactly, for the exchange moves at the end.
        small_round: pending.len() * snap.pools.len() <= 200_000,
        min_preemptible: snap.pools.iter().flat_map(|p| p.running.iter()).filter(|r| r.preemptible).map(|r| r.priority).min(),
        max_free: board.free.iter().copied().max().unwrap_or(0),
        reservations_made: 0,
        penalties: HashMap::new(),
    };
    for (job, share) in fair_order(pending, &snap, false, usize::MAX, &mut every) {
        place_one(board, job, share, &mut round, out);
    }
    improve(board, pending, out);
    exchange(board, pending, out, &round.penalties);
}

/// What the `suanli` round carries from one job to the next.
struct RoundState {
    /// The chosen pool and the alternatives kept with it.
    keep: usize,
    small_round: bool,
    /// The lowest priority of a preemptible running job.
    min_preemptible: Option<u8>,
    /// The most free accelerators of any pool.
    max_free: u32,
    reservations_made: usize,
    /// What leaving each considered job unplaced would cost (its best score anywhere plus waiting).
    penalties: HashMap<JobId, f64>,
}

/// One job in fair order: run now on the best free pool (unless waiting for a busy pool or a
/// cleaner hour is worth it), else preempt, else reserve, else wait with the reason.
fn place_one(board: &mut Board<'_>, job: &Job, share: f64, round: &mut RoundState, out: &mut RoundOutcome) {
    let snap = board.snap;
    // Once every pool is too full for a job, and it can neither preempt nor reserve, it waits
    // without a search: this keeps rounds over huge queues fast.
    let can_preempt = round.min_preemptible.is_some_and(|m| m < job.spec.priority);
    if round.max_free < job.spec.accelerators && round.reservations_made >= snap.cfg.reservations && !can_preempt {
        out.waits.push(Wait {
            job: job.id.clone(),
            reason: JobReason::WaitingForAccelerators { accelerators: job.spec.accelerators },
            reservation: None,
            best: None,
        });
        return;
    }
    if run_now(board, job, share, round, out) || preempt_for(board, job, share, round, out) || reserve_for(board, job, round, out) {
        return;
    }
    out.waits.push(Wait { job: job.id.clone(), reason: why_waiting(board, job), reservation: None, best: None });
}

/// The job on the best pool with room, unless a busy pool, once free, would beat it by more
/// than waiting costs, or a cleaner hour within the deadline is worth deferring to (both wait).
/// False when no pool has room.
fn run_now(board: &mut Board<'_>, job: &Job, share: f64, round: &mut RoundState, out: &mut RoundOutcome) -> bool {
    let snap = board.snap;
    let mut options = board.best_with_room(job, round.keep);
    let waiting = wait_cost(snap.cfg, job, snap.now_ms);
    // Would a busy pool, once free, beat running now by more than waiting costs?
    let threshold =
        if round.small_round { f64::INFINITY } else { options.first().map_or(f64::NEG_INFINITY, |(_, e)| e.score_yuan - waiting) };
    // Only a busy pool whose bound is below the threshold could be worth waiting for.
    let best_any = if board.last_busy_bound < threshold || round.small_round { board.best_anywhere(job, threshold) } else { None };
    if let Some(b) = best_any {
        round.penalties.insert(job.id.clone(), b + waiting);
    }
    if let (Some((_, e)), Some(b)) = (options.first(), best_any)
        && e.score_yuan > b + waiting
    {
        let best_any = b;
        // Running now on the best free pool costs more than waiting for a better one would.
        let (_, e) = options.swap_remove(0);
        out.waits.push(Wait {
            job: job.id.clone(),
            reason: JobReason::WaitingForBetterPool {
                best_free_yuan: whole(e.score_yuan),
                busy_yuan: whole(best_any),
                wait_yuan_per_hour: whole(waiting / snap.cfg.wait_penalty_hours.max(1e-9)),
            },
            reservation: None,
            best: Some(e),
        });
        return true;
    }
    if options.is_empty() {
        return false;
    }
    let (i, chosen) = options.remove(0);
    if let Some((h, saving)) = board.cleaner_hour(job, &chosen) {
        out.waits.push(Wait {
            job: job.id.clone(),
            reason: JobReason::DeferredToCleanerHour { hours: h, region: chosen.region.clone(), cleaner_pct: whole(saving * 100.0) },
            reservation: None,
            best: Some(chosen),
        });
        return true;
    }
    let backfilled = board.take(i, job, &chosen);
    if board.free[i] + job.spec.accelerators == round.max_free {
        round.max_free = board.free.iter().copied().max().unwrap_or(0);
    }
    out.placements.push(Placement {
        job: job.id.clone(),
        chosen,
        alternatives: options.into_iter().map(|(_, e)| e).collect(),
        preempted: Vec::new(),
        backfilled,
        fair_share: share,
    });
    true
}

/// The job on a pool made free by preempting lower-priority work, if a plan exists.
fn preempt_for(board: &mut Board<'_>, job: &Job, share: f64, round: &mut RoundState, out: &mut RoundOutcome) -> bool {
    let Some((i, victims)) = board.preemption_plan(job) else { return false };
    for v in &victims {
        board.running[i].retain(|r| r.job != v.job);
        board.free[i] += v.accelerators;
        round.max_free = round.max_free.max(board.free[i]);
        out.preemptions.push(Preemption { victim: v.job.clone(), pool: board.snap.pools[i].pool.id.clone(), by: job.id.clone() });
    }
    board.evaluated += 1;
    let chosen = board.estimate_on(job, i, 0.0);
    board.take(i, job, &chosen);
    out.placements.push(Placement {
        job: job.id.clone(),
        chosen,
        alternatives: Vec::new(),
        preempted: victims.into_iter().map(|v| v.job).collect(),
        backfilled: false,
        fair_share: share,
    });
    true
}

/// A reservation for the job on the pool that frees up first, while the round has reservations left.
fn reserve_for(board: &mut Board<'_>, job: &Job, round: &mut RoundState, out: &mut RoundOutcome) -> bool {
    let snap = board.snap;
    if round.reservations_made >= snap.cfg.reservations {
        return false;
    }
    let Some((i, start, spare, e)) = board.reservation_plan(job) else { return false };
    round.reservations_made += 1;
    board.reservations[i] = Some(ReservationState { start_ms: start, spare });
    let pool = snap.pools[i].pool.id.clone();
    out.waits.push(Wait {
        job: job.id.clone(),
        reason: JobReason::Reserved { accelerators: job.spec.accelerators, pool: pool.clone(), start_ms: start },
        reservation: Some(Reservation { pool, start_ms: start }),
        best: Some(e),
    });
    true
}

/// Why a job that could not be placed, preempt or reserve waits: no pool could ever run it, or none has room.
fn why_waiting(board: &Board<'_>, job: &Job) -> JobReason {
    let snap = board.snap;
    if !board.feasible(job).is_empty() {
        return JobReason::WaitingForAccelerators { accelerators: job.spec.accelerators };
    }
    match crate::ever_feasible(
        &job.spec,
        snap.centres,
        &snap.pools.iter().map(|p| p.pool.clone()).collect::<Vec<_>>(),
        snap.catalogue,
        snap.regions,
    ) {
        Err(misfit) => JobReason::Misfit { misfit },
        Ok(()) => JobReason::NoFeasiblePool,
    }
}

/// Exchange moves: a waiting job takes a pool from placed jobs of no higher priority when the
/// round's objective falls (what it gains over waiting exceeds what they lose); displaced jobs
/// then take any free pool that beats waiting. Bounded to modest rounds.
fn exchange(board: &mut Board<'_>, pending: &[Job], out: &mut RoundOutcome, penalties: &HashMap<JobId, f64>) {
    if out.waits.is_empty() || pending.len() * board.snap.pools.len() > 200_000 {
        return;
    }
    let by_id: HashMap<&JobId, &Job> = pending.iter().map(|j| (&j.id, j)).collect();
    for _pass in 0..3 {
        let mut changed = false;
        let mut order: Vec<usize> = (0..out.waits.len()).filter(|&k| waiting_for_room(&out.waits[k])).collect();
        order.sort_by_key(|&k| (Reverse(by_id.get(&out.waits[k].job).map_or(0, |j| j.spec.priority)), out.waits[k].job.clone()));
        let mut taken: Vec<usize> = Vec::new();
        for k in order {
            let Some(u) = by_id.get(&out.waits[k].job).copied() else { continue };
            let Some(&pen_u) = penalties.get(&u.id) else { continue };
            let Some((_, p, victims)) = exchange_plan(board, out, &by_id, penalties, u, pen_u) else { continue };
            displace(board, out, &by_id, u, p, victims);
            taken.push(k);
            changed = true;
        }
        taken.sort_unstable_by(|a, b| b.cmp(a));
        for k in taken {
            out.waits.swap_remove(k);
        }
        changed |= take_free_pools(board, out, &by_id, penalties);
        if !changed {
            break;
        }
    }
}

/// A wait that room alone would end (not a reservation, not a deferral).
fn waiting_for_room(w: &Wait) -> bool {
    w.reservation.is_none() && w.reason.waits_for_room()
}

/// The best exchange for waiting job `u` (whose waiting costs `pen_u`): the pool where it gains
/// most net of what the placements it displaces (no higher in priority, least loss first)
/// lose; (net gain, pool, victims as placement indexes).
fn exchange_plan(
    board: &mut Board<'_>,
    out: &RoundOutcome,
    by_id: &HashMap<&JobId, &Job>,
    penalties: &HashMap<JobId, f64>,
    u: &Job,
    pen_u: f64,
) -> Option<(f64, usize, Vec<usize>)> {
    let mut plan: Option<(f64, usize, Vec<usize>)> = None;
    for p in board.feasible(u) {
        if board.reservations[p].is_some() || board.snap.pools[p].pool.capacity() < u.spec.accelerators {
            continue;
        }
        let gain_u = pen_u - board.figures_on(u, p, 0.0).score_yuan;
        if gain_u <= 1e-9 {
            continue;
        }
        let pool_id = &board.snap.pools[p].pool.id;
        let mut victims: Vec<(f64, usize, u32)> = out
            .placements
            .iter()
            .enumerate()
            .filter(|(_, pl)| &pl.chosen.pool == pool_id && pl.preempted.is_empty() && !pl.backfilled)
            .filter_map(|(i, pl)| {
                let v = by_id.get(&pl.job)?;
                (v.spec.priority <= u.spec.priority)
                    .then(|| (penalties.get(&v.id).copied().unwrap_or(f64::INFINITY) - pl.chosen.score_yuan, i, v.spec.accelerators))
            })
            .collect();
        victims.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut freed = board.free[p];
        let mut loss = 0.0;
        let mut chosen = Vec::new();
        for (g, i, a) in victims {
            if freed >= u.spec.accelerators {
                break;
            }
            freed += a;
            loss += g;
            chosen.push(i);
        }
        if freed >= u.spec.accelerators && gain_u - loss > plan.as_ref().map_or(1e-6, |b| b.0) {
            plan = Some((gain_u - loss, p, chosen));
        }
    }
    plan
}

/// Job `u` takes pool `p` from the placements `victims`, which go back to waiting.
fn displace(board: &mut Board<'_>, out: &mut RoundOutcome, by_id: &HashMap<&JobId, &Job>, u: &Job, p: usize, mut victims: Vec<usize>) {
    for &i in &victims {
        let pl = &out.placements[i];
        let v = by_id[&pl.job];
        board.free[p] += v.spec.accelerators;
        out.waits.push(Wait {
            job: pl.job.clone(),
            reason: JobReason::Displaced { accelerators: v.spec.accelerators },
            reservation: None,
            best: Some(pl.chosen.clone()),
        });
    }
    victims.sort_unstable_by(|a, b| b.cmp(a));
    for i in victims {
        out.placements.swap_remove(i);
    }
    let e = board.estimate_on(u, p, 0.0);
    board.free[p] -= u.spec.accelerators;
    out.placements.push(Placement::plain(u.id.clone(), e));
}

/// Displaced and waiting jobs take free pools that beat waiting; whether any did.
fn take_free_pools(board: &mut Board<'_>, out: &mut RoundOutcome, by_id: &HashMap<&JobId, &Job>, penalties: &HashMap<JobId, f64>) -> bool {
    let mut placed_now = Vec::new();
    for k in 0..out.waits.len() {
        if !waiting_for_room(&out.waits[k]) {
            continue;
        }
        let Some(u) = by_id.get(&out.waits[k].job).copied() else { continue };
        let Some(&pen_u) = penalties.get(&u.id) else { continue };
        if let Some((p, e)) = board.best_with_room(u, 1).into_iter().next()
            && e.score_yuan < pen_u
        {
            board.free[p] -= u.spec.accelerators;
            out.placements.push(Placement::plain(u.id.clone(), e));
            placed_now.push(k);
        }
    }
    let changed = !placed_now.is_empty();
    placed_now.sort_unstable_by(|a, b| b.cmp(a));
    for k in placed_now {
        out.waits.swap_remove(k);
    }
    changed
}

/// Local search over this round's placements: move a job to a better pool with room, or swap
/// two jobs' pools, while the total objective falls. Bounded in passes and size.
fn improve(board: &mut Board<'_>, pending: &[Job], out: &mut RoundOutcome) {
    // The search is what a placement costs; redoing it for every placement is affordable only
    // in modest rounds (the live city's), not in a city-scale flood where greedy is near-optimal anyway.
    if out.placements.len() < 2 || pending.len() * board.snap.pools.len() > 2_000_000 {
        return;
    }
    let by_id: HashMap<&JobId, &Job> = pending.iter().map(|j| (&j.id, j)).collect();
    for _pass in 0..3 {
        let mut changed = false;
        // Moves.
        for k in 0..out.placements.len() {
            let p = &out.placements[k];
            if !p.preempted.is_empty() || p.backfilled {
                continue;
            }
            let Some(job) = by_id.get(&p.job).copied() else { continue };
            let cur = board.pool_index[&p.chosen.pool];
            board.free[cur] += job.spec.accelerators;
            let best = board.best_with_room(job, 1).into_iter().next();
            match best {
                Some((i, e))
                    if i != cur && e.score_yuan < out.placements[k].chosen.score_yuan - 1e-9 && board.reservations[i].is_none() =>
                {
                    board.free[i] -= job.spec.accelerators;
                    let old = std::mem::replace(&mut out.placements[k].chosen, e);
                    out.placements[k].alternatives.insert(0, old);
                    out.placements[k].alternatives.truncate(board.snap.cfg.top_alternatives);
                    changed = true;
                }
                _ => board.free[cur] -= job.spec.accelerators,
            }
        }
        // Swaps between placements on different pools.
        // Pairwise swaps are quadratic: only for modest rounds.
        let n = if out.placements.len() <= 200 { out.placements.len() } else { 0 };
        for a in 0..n {
            for b in (a + 1)..n {
                let (pa, pb) = (&out.placements[a], &out.placements[b]);
                if pa.chosen.pool == pb.chosen.pool
                    || !pa.preempted.is_empty()
                    || !pb.preempted.is_empty()
                    || pa.backfilled
                    || pb.backfilled
                {
                    continue;
                }
                let (Some(ja), Some(jb)) = (by_id.get(&pa.job).copied(), by_id.get(&pb.job).copied()) else { continue };
                let (ia, ib) = (board.pool_index[&pa.chosen.pool], board.pool_index[&pb.chosen.pool]);
                let (ga, gb) = (ja.spec.accelerators, jb.spec.accelerators);
                if board.reservations[ia].is_some()
                    || board.reservations[ib].is_some()
                    || board.free[ib] + gb < ga
                    || board.free[ia] + ga < gb
                    || !board.static_ok(ja, ib)
                    || !board.static_ok(jb, ia)
                {
                    continue;
                }
                board.evaluated += 2;
                let ea = board.estimate_on(ja, ib, 0.0);
                let eb = board.estimate_on(jb, ia, 0.0);
                if ea.score_yuan + eb.score_yuan < pa.chosen.score_yuan + pb.chosen.score_yuan - 1e-9 {
                    board.free[ia] = board.free[ia] + ga - gb;
                    board.free[ib] = board.free[ib] + gb - ga;
                    let olda = std::mem::replace(&mut out.placements[a].chosen, ea);
                    let oldb = std::mem::replace(&mut out.placements[b].chosen, eb);
                    out.placements[a].alternatives.insert(0, olda);
                    out.placements[b].alternatives.insert(0, oldb);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
}

fn baseline_round(board: &mut Board<'_>, pending: &[Job], policy: PolicyKind, out: &mut RoundOutcome) {
    let snap = board.snap;
    let order: Vec<(&Job, f64)> = match policy {
        PolicyKind::FairAgnostic => fair_order(pending, &snap, true, usize::MAX, &mut every),
        _ => arrival_order(pending, usize::MAX, &mut every).into_iter().map(|j| (j, 0.0)).collect(),
    };
    let mut head_blocked = false;
    for (job, share) in order {
        if head_blocked {
            out.waits.push(Wait { job: job.id.clone(), reason: JobReason::BehindHead, reservation: None, best: None });
            continue;
        }
        let feasible = board.feasible(job);
        let with_room = feasible.iter().copied().filter(|&i| board.free[i] >= job.spec.accelerators);
        let choice = match policy {
            PolicyKind::FifoFirstFit => with_room.min_by(|&a, &b| snap.pools[a].pool.id.cmp(&snap.pools[b].pool.id)),
            PolicyKind::CheapestFirst => {
                with_room.min_by(|&a, &b| snap.pools[a].pool.effective_price().cmp(&snap.pools[b].pool.effective_price()).then(a.cmp(&b)))
            }
            _ => with_room.max_by(|&a, &b| board.free[a].cmp(&board.free[b]).then(b.cmp(&a))),
        };
        match choice {
            Some(i) => {
                board.evaluated += 1;
                let e = board.estimate_on(job, i, 0.0);
                board.take(i, job, &e);
                out.placements.push(Placement {
                    job: job.id.clone(),
                    chosen: e,
                    alternatives: Vec::new(),
                    preempted: Vec::new(),
                    backfilled: false,
                    fair_share: share,
                });
            }
            None => {
                if policy == PolicyKind::FifoFirstFit && !feasible.is_empty() {
                    head_blocked = true;
                }
                let reason = if feasible.is_empty() {
                    JobReason::NoFeasiblePool
                } else {
                    JobReason::WaitingForAccelerators { accelerators: job.spec.accelerators }
                };
                out.waits.push(Wait { job: job.id.clone(), reason, reservation: None, best: None });
            }
        }
    }
}
