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

use crate::costing::{Env, Estimate, Figures, Link, NetworkTable, SchedConfig, figures, goal_weights, grid_factor, named};
use crate::misfit;
use crate::speed::SpeedModel;
use serde::Serialize;
use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use suanli_core::catalogue::{Accelerator, Catalogue};
use suanli_core::centre::{Centre, PartnerStatus, Pool};
use suanli_core::id::{JobId, PoolId, TenantId};
use suanli_core::job::{Goal, Job};
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
    pub reason: String,
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

struct ReservationState {
    start_ms: UnixMs,
    /// Accelerators free at `start_ms` beyond what the reserved job needs.
    spare: i64,
}

/// See [`Board::bounds`].
struct Bounds {
    slot: usize,
    wt: f64,
    tv: f64,
    accel: f64,
    d: Option<usize>,
    transfer: [f64; 6],
}

/// Per model group (in `group_accs` order): its pools split by link class (0..6), each list with a head past full pools.
type ClassLists = Vec<[(Vec<usize>, usize); 6]>;

/// The round's working state over the snapshot.
pub(crate) struct Board<'a> {
    pub(crate) snap: Snapshot<'a>,
    pub(crate) env: Env<'a>,
    pub(crate) centre_of: Vec<&'a Centre>,
    pub(crate) acc_of: Vec<&'a Accelerator>,
    pub(crate) free: Vec<u32>,
    pub(crate) running: Vec<Vec<RunningJob>>,
    reservations: Vec<Option<ReservationState>>,
    /// accelerator model -> pool indexes of partner centres, sorted by per-goal unit rate.
    groups: BTreeMap<&'a str, [Vec<usize>; 4]>,
    /// Per pool and goal: weighted money + carbon per accelerator-hour (a lower bound, carbon at the cleanest hour).
    unit_keys: Vec<[f64; 4]>,
    /// Per (data region, goal): each model's pools split by link class, with a head past full pools.
    by_class: HashMap<usize, ClassLists>,
    /// The accelerator of each model group, in the groups' order.
    group_accs: Vec<&'a Accelerator>,
    /// The lowest objective bound among busy pools the last search passed over.
    last_busy_bound: f64,
    /// The grid factor of each pool's region (kg/kWh), before the hourly profile.
    grid_base: Vec<f64>,
    region_index: HashMap<&'a str, usize>,
    region_count: usize,
    pool_region: Vec<usize>,
    link_cache: Vec<Option<Link>>,
    pool_index: HashMap<&'a PoolId, usize>,
    evaluated: u64,
}

fn goal_slot(g: Goal) -> usize {
    match g {
        Goal::Balanced => 0,
        Goal::Cheapest => 1,
        Goal::Fastest => 2,
        Goal::Greenest => 3,
    }
}

impl<'a> Board<'a> {
    pub(crate) fn new(snap: Snapshot<'a>) -> Board<'a> {
        let centre_by_id: HashMap<_, _> = snap.centres.iter().map(|c| (&c.id, c)).collect();
        let env = Env { cfg: snap.cfg, regions: snap.regions, speeds: snap.speeds, now_ms: snap.now_ms };
        let mut centre_of = Vec::with_capacity(snap.pools.len());
        let mut acc_of = Vec::with_capacity(snap.pools.len());
        let mut usable = Vec::with_capacity(snap.pools.len());
        for pl in snap.pools {
            let c = centre_by_id.get(&pl.pool.centre_id).copied();
            let a = snap.catalogue.get(&pl.pool.accelerator);
            usable.push(c.is_some() && a.is_some());
            // Unusable pools get placeholders and are never grouped.
            centre_of.push(c.unwrap_or(&snap.centres[0]));
            acc_of.push(a.unwrap_or(&snap.catalogue.all()[0]));
        }
        let min_profile = snap.cfg.grid_hourly_profile.iter().copied().fold(f64::INFINITY, f64::min);
        let mut raw: BTreeMap<&str, Vec<(usize, [f64; 4])>> = BTreeMap::new();
        let mut unit_keys = vec![[0.0; 4]; snap.pools.len()];
        for (i, pl) in snap.pools.iter().enumerate() {
            if !usable[i] || centre_of[i].partner_status != PartnerStatus::Partner {
                continue;
            }
            let price = pl.pool.effective_price().0 as f64 / 100.0;
            let carbon = acc_of[i].power_w as f64 / 1000.0
                * centre_of[i].declared_pue
                * snap.regions.grid_emission(&centre_of[i].region).unwrap_or(snap.cfg.default_grid_kg_per_kwh)
                * min_profile
                * snap.cfg.carbon_price_yuan_per_kg;
            let mut keys = [0.0; 4];
            for g in Goal::ALL {
                let (wm, wc, _) = goal_weights(g);
                keys[goal_slot(g)] = wm * price + wc * carbon;
            }
            unit_keys[i] = keys;
            raw.entry(pl.pool.accelerator.as_str()).or_default().push((i, keys));
        }
        let groups: BTreeMap<&str, [Vec<usize>; 4]> = raw
            .into_iter()
            .map(|(m, v)| {
                // The balanced order now; the other goals' orders when a job first needs them.
                let mut o = v;
                o.sort_by(|a, b| a.1[0].total_cmp(&b.1[0]).then(a.0.cmp(&b.0)));
                (m, [o.into_iter().map(|(i, _)| i).collect::<Vec<_>>(), Vec::new(), Vec::new(), Vec::new()])
            })
            .collect();
        let region_index: HashMap<&str, usize> = snap.regions.all().iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
        let region_count = snap.regions.all().len();
        let pool_region: Vec<usize> = centre_of.iter().map(|c| region_index.get(c.region.as_str()).copied().unwrap_or(0)).collect();
        let grid_base: Vec<f64> =
            centre_of.iter().map(|c| snap.regions.grid_emission(&c.region).unwrap_or(snap.cfg.default_grid_kg_per_kwh)).collect();
        let group_accs: Vec<&Accelerator> = groups.keys().filter_map(|m| snap.catalogue.get(m)).collect();
        Board {
            group_accs,
            by_class: HashMap::new(),
            last_busy_bound: f64::INFINITY,
            grid_base,
            region_index,
            region_count,
            pool_region,
            link_cache: vec![None; region_count * region_count],
            snap,
            env,
            centre_of,
            acc_of,
            free: snap.pools.iter().map(|p| p.free).collect(),
            running: snap.pools.iter().map(|p| p.running.clone()).collect(),
            reservations: snap.pools.iter().map(|_| None).collect(),
            groups,
            unit_keys,
            pool_index: snap.pools.iter().enumerate().map(|(i, p)| (&p.pool.id, i)).collect(),
            evaluated: 0,
        }
    }

    /// The static checks for a pool reached through its model group (a partner's pool of an
    /// accepted model): the gang fits, the price is within the limit, the RTT within the SLO.
    fn quick_ok(&self, job: &Job, i: usize) -> bool {
        let pool = &self.snap.pools[i].pool;
        pool.capacity() >= job.spec.accelerators
            && job.spec.max_price_per_hour.is_none_or(|max| pool.effective_price() <= max)
            && match (job.spec.latency_slo_ms, job.spec.users_region.as_deref()) {
                (Some(slo), Some(users)) => self.centre_of[i].rtt_to(self.snap.regions, users).is_some_and(|rtt| rtt <= slo),
                _ => true,
            }
    }

    fn static_ok(&self, job: &Job, i: usize) -> bool {
        misfit(&job.spec, &self.snap.pools[i].pool, self.centre_of[i], self.snap.catalogue, self.snap.regions).is_none()
    }

    fn take(&mut self, i: usize, job: &Job, e: &Estimate) -> bool {
        let backfilled = self.reservations[i].is_some();
        let ends_before =
            self.reservations[i].as_ref().is_some_and(|r| self.snap.now_ms + ((e.transfer_s + e.run_s) * 1000.0) as i64 <= r.start_ms);
        if let Some(r) = &mut self.reservations[i]
            && !ends_before
        {
            r.spare -= job.spec.accelerators as i64;
        }
        self.free[i] -= job.spec.accelerators;
        self.running[i].push(RunningJob {
            job: job.id.clone(),
            tenant: job.tenant_id.clone(),
            accelerators: job.spec.accelerators,
            priority: job.spec.priority,
            preemptible: false, // placed this round: never preempted in the same round
            started_ms: self.snap.now_ms,
            est_end_ms: self.snap.now_ms + ((e.transfer_s + e.run_s) * 1000.0) as i64,
        });
        backfilled
    }

    /// The data link from a job's data region to pool `i`'s centre, cached per region pair.
    fn link_to(&mut self, data_region: Option<&str>, i: usize) -> Option<Link> {
        let from = *self.region_index.get(data_region?)?;
        let to = self.pool_region[i];
        let n = self.region_count;
        if let Some(l) = self.link_cache[from * n + to] {
            return Some(l);
        }
        let l = self.snap.cfg.network.link(self.snap.regions, data_region?, &self.centre_of[i].region);
        self.link_cache[from * n + to] = Some(l);
        Some(l)
    }

    /// The figures of `job` on pool `i`, starting after `wait_s`.
    fn figures_on(&mut self, job: &Job, i: usize, wait_s: f64) -> Figures {
        let link = self.link_to(job.spec.data_region.as_deref(), i);
        figures(&self.env, &job.spec, &self.snap.pools[i].pool, self.centre_of[i], self.acc_of[i], wait_s, self.grid_base[i], link)
    }

    /// The full estimate of `job` on pool `i`.
    pub(crate) fn estimate_on(&mut self, job: &Job, i: usize, wait_s: f64) -> Estimate {
        self.evaluated += 1;
        let f = self.figures_on(job, i, wait_s);
        named(&self.env, &job.spec, &self.snap.pools[i].pool, self.centre_of[i], self.acc_of[i], wait_s, f)
    }

    /// Each model's pools (in the goal's order) split by link class from `data_region`: built
    /// once per data region and goal in a round.
    /// Sorts each model group's pools for a goal, the first time a job with that goal comes.
    fn ensure_order(&mut self, slot: usize) {
        if slot == 0 || self.groups.values().next().is_none_or(|o| !o[slot].is_empty()) {
            return;
        }
        let keys = &self.unit_keys;
        for orders in self.groups.values_mut() {
            let mut o = orders[0].clone();
            o.sort_by(|&a, &b| keys[a][slot].total_cmp(&keys[b][slot]).then(a.cmp(&b)));
            orders[slot] = o;
        }
    }

    fn class_lists(&mut self, d: usize, slot: usize) -> &mut ClassLists {
        self.ensure_order(slot);
        let key = d * 4 + slot;
        if !self.by_class.contains_key(&key) {
            let n = self.region_count;
            let mut classes = vec![0usize; n];
            for (r, c) in classes.iter_mut().enumerate() {
                *c = NetworkTable::class(self.snap.regions, &self.snap.regions.all()[d].id, &self.snap.regions.all()[r].id);
            }
            let mut lists: ClassLists = Vec::with_capacity(self.groups.len());
            for orders in self.groups.values() {
                let mut by: [(Vec<usize>, usize); 6] = Default::default();
                for &i in &orders[slot] {
                    by[classes[self.pool_region[i]]].0.push(i);
                }
                lists.push(by);
            }
            self.by_class.insert(key, lists);
        }
        self.by_class.get_mut(&key).expect("just built")
    }

    /// The best pools for `job` that have room now (best first, at most `keep`), by the suanli objective.
    ///
    /// Candidates come from one heap over every accepted model's pools, split by link class from
    /// the job's data region, ordered by a lower bound of the objective: price and cleanest-hour
    /// carbon per accelerator-hour times the run time on that model, plus the exact cost of moving
    /// the data over that class of link. The search stops when the bound passes the worst kept option.
    fn best_with_room(&mut self, job: &Job, keep: usize) -> Vec<(usize, Estimate)> {
        let Bounds { slot, wt, tv, accel, d, transfer } = self.bounds(job);
        let transfer = |class: usize| transfer[class];
        // (bound, model group, class, position)
        let mut heap: BinaryHeap<Reverse<(OrdF64, usize, usize, usize)>> = BinaryHeap::new();
        let mut groups: Vec<(usize, f64)> = Vec::new();
        let mut busy_bound = f64::INFINITY;
        // Take the lists out while searching (the search also borrows the board), put them back after.
        let mut lists = std::mem::take(self.class_lists(d.unwrap_or(0), slot));
        for (gi, acc) in self.group_accs.iter().enumerate() {
            if !job.spec.accepts(acc) {
                continue;
            }
            let run_h = self.snap.speeds.run_seconds(job.spec.job_class.as_deref(), acc, job.spec.duration_s as f64) / 3600.0;
            let g = groups.len();
            groups.push((gi, run_h));
            for (c, (list, head)) in lists[gi].iter().enumerate() {
                if *head > 0 {
                    // Pools skipped as full: the first has the lowest bound of them.
                    busy_bound = busy_bound.min(accel * run_h * (self.unit_keys[list[0]][slot] + wt * tv) + transfer(c));
                }
                if let Some(&i) = list.get(*head) {
                    heap.push(Reverse((OrdF64(accel * run_h * (self.unit_keys[i][slot] + wt * tv) + transfer(c)), g, c, *head)));
                }
            }
        }
        let mut best: Vec<(usize, Figures)> = Vec::with_capacity(keep + 1);
        let mut evaluated = 0u64;
        while let Some(Reverse((OrdF64(bound), g, c, pos))) = heap.pop() {
            if best.len() >= keep && best.last().is_some_and(|(_, f)| bound >= f.score_yuan - 1e-9) {
                break;
            }
            let (gi, run_h) = groups[g];
            let entry = &mut lists[gi][c];
            let i = entry.0[pos];
            if let Some(&next) = entry.0.get(pos + 1) {
                heap.push(Reverse((OrdF64(accel * run_h * (self.unit_keys[next][slot] + wt * tv) + transfer(c)), g, c, pos + 1)));
            }
            if self.free[i] == 0 && pos == entry.1 {
                // Full pools at the head of a list stay full for the rest of the round.
                entry.1 = pos + 1;
            }
            if self.free[i] < job.spec.accelerators {
                busy_bound = busy_bound.min(bound);
                continue;
            }
            if !self.quick_ok(job, i) {
                continue;
            }
            evaluated += 1;
            let f = self.figures_on(job, i, 0.0);
            if let Some(r) = &self.reservations[i]
                && !(self.snap.now_ms + ((f.transfer_s + f.run_s) * 1000.0) as i64 <= r.start_ms || r.spare >= job.spec.accelerators as i64)
            {
                continue;
            }
            let at = best.partition_point(|(_, b)| b.score_yuan <= f.score_yuan);
            if at < keep {
                best.insert(at, (i, f));
                best.truncate(keep);
            }
        }
        *self.class_lists(d.unwrap_or(0), slot) = lists;
        self.evaluated += evaluated;
        self.last_busy_bound = busy_bound;
        best.into_iter()
            .map(|(i, f)| (i, named(&self.env, &job.spec, &self.snap.pools[i].pool, self.centre_of[i], self.acc_of[i], 0.0, f)))
            .collect()
    }

    /// The pieces of a job's objective bound: its goal's slot and time weight, its gang, the
    /// region its data moves from, and the data transfer's cost over each link class.
    fn bounds(&self, job: &Job) -> Bounds {
        let slot = goal_slot(job.spec.goal);
        let (wm, _, wt) = goal_weights(job.spec.goal);
        let tv = self.snap.cfg.time_value_yuan_per_accel_hour;
        let accel = job.spec.accelerators as f64;
        let gb = job.spec.data_gb.filter(|g| *g > 0.0);
        let d = job.spec.data_region.as_deref().and_then(|r| self.region_index.get(r).copied()).filter(|_| gb.is_some());
        let mut transfer = [0.0; 6];
        if let Some(gb) = gb {
            for (c, t) in transfer.iter_mut().enumerate() {
                let l = self.snap.cfg.network.of_class(c);
                *t = wm * gb * l.yuan_per_gb + wt * tv * accel * gb * 8.0 / l.gbps.max(1e-3) / 3600.0;
            }
        }
        Bounds { slot, wt, tv, accel, d, transfer }
    }

    /// The best score of a job on any feasible pool that could hold its gang, busy or not, if it
    /// is below `threshold` (pass infinity for the plain minimum).
    pub(crate) fn best_anywhere(&mut self, job: &Job, threshold: f64) -> Option<f64> {
        let Bounds { slot, wt, tv, accel, d, transfer } = self.bounds(job);
        let transfer = |class: usize| transfer[class];
        let lists = std::mem::take(self.class_lists(d.unwrap_or(0), slot));
        let mut heap: BinaryHeap<Reverse<(OrdF64, usize, usize, usize)>> = BinaryHeap::new();
        let mut groups: Vec<(usize, f64)> = Vec::new();
        for (gi, by) in lists.iter().enumerate() {
            let acc = self.group_accs[gi];
            if !job.spec.accepts(acc) {
                continue;
            }
            let run_h = self.snap.speeds.run_seconds(job.spec.job_class.as_deref(), acc, job.spec.duration_s as f64) / 3600.0;
            for (c, (list, _)) in by.iter().enumerate() {
                if let Some(&i) = list.first() {
                    heap.push(Reverse((OrdF64(accel * run_h * (self.unit_keys[i][slot] + wt * tv) + transfer(c)), groups.len(), c, 0)));
                }
            }
            groups.push((gi, run_h));
        }
        let mut best = f64::INFINITY;
        while let Some(Reverse((OrdF64(bound), g, c, pos))) = heap.pop() {
            if bound >= best.min(threshold) {
                break;
            }
            let (gi, run_h) = groups[g];
            let list = &lists[gi][c].0;
            let i = list[pos];
            if let Some(&next) = list.get(pos + 1) {
                heap.push(Reverse((OrdF64(accel * run_h * (self.unit_keys[next][slot] + wt * tv) + transfer(c)), g, c, pos + 1)));
            }
            if !self.quick_ok(job, i) {
                continue;
            }
            self.evaluated += 1;
            best = best.min(self.figures_on(job, i, 0.0).score_yuan);
        }
        *self.class_lists(d.unwrap_or(0), slot) = lists;
        (best < threshold).then_some(best)
    }

    pub(crate) fn feasible(&self, job: &Job) -> Vec<usize> {
        self.groups
            .iter()
            .filter(|(m, _)| self.snap.catalogue.get(m).is_some_and(|a| job.spec.accepts(a)))
            .flat_map(|(_, o)| o[0].iter().copied())
            .filter(|&i| self.static_ok(job, i))
            .collect()
    }

    /// Finds running jobs to preempt so `job` fits; returns (pool, victims) with the least lost work.
    fn preemption_plan(&self, job: &Job) -> Option<(usize, Vec<RunningJob>)> {
        let mut best: Option<(i64, usize, Vec<RunningJob>)> = None;
        for i in self.feasible(job) {
            let mut victims: Vec<&RunningJob> = self.running[i]
                .iter()
                .filter(|r| {
                    r.preemptible
                        && r.priority < job.spec.priority
                        && self.snap.now_ms - r.started_ms <= self.snap.cfg.max_restart_loss_s * 1000
                })
                .collect();
            victims.sort_by(|a, b| a.priority.cmp(&b.priority).then(b.started_ms.cmp(&a.started_ms)));
            let mut freed = self.free[i];
            let mut chosen = Vec::new();
            let mut lost = 0i64;
            for v in victims {
                if freed >= job.spec.accelerators {
                    break;
                }
                freed += v.accelerators;
                lost += (self.snap.now_ms - v.started_ms) * v.accelerators as i64;
                chosen.push(v.clone());
            }
            if freed >= job.spec.accelerators && !chosen.is_empty() && best.as_ref().is_none_or(|(l, _, _)| lost < *l) {
                best = Some((lost, i, chosen));
            }
        }
        best.map(|(_, i, v)| (i, v))
    }

    /// The earliest start of `job`'s gang on each feasible pool, and the best of them by objective.
    fn reservation_plan(&mut self, job: &Job) -> Option<(usize, UnixMs, i64, Estimate)> {
        let mut best: Option<(usize, UnixMs, i64, Estimate)> = None;
        for i in self.feasible(job) {
            if self.reservations[i].is_some() {
                continue;
            }
            let mut ends: Vec<(UnixMs, u32)> =
                self.running[i].iter().map(|r| (r.est_end_ms.max(self.snap.now_ms), r.accelerators)).collect();
            ends.sort();
            let mut free = self.free[i] as i64;
            let mut start = None;
            for (t, a) in ends {
                free += a as i64;
                if free >= job.spec.accelerators as i64 {
                    start = Some((t, free));
                    break;
                }
            }
            let Some((t, free_at)) = start else { continue };
            let e = self.estimate_on(job, i, (t - self.snap.now_ms) as f64 / 1000.0);
            if best.as_ref().is_none_or(|b| e.score_yuan < b.3.score_yuan) {
                best = Some((i, t, free_at - job.spec.accelerators as i64, e));
            }
        }
        best
    }

    /// A deadline-bound job waits when a later hour within its slack is clearly cleaner.
    fn cleaner_hour(&self, job: &Job, e: &Estimate) -> Option<(u32, f64)> {
        let deadline = job.spec.deadline_ms?;
        let slack_h = ((deadline - self.snap.now_ms) as f64 / 1000.0 - e.completion_s()) / 3600.0;
        if slack_h < 1.0 {
            return None;
        }
        let now = grid_factor(self.snap.cfg, self.snap.regions, &e.region, self.snap.now_ms);
        let horizon = (slack_h.floor() as u32).min(self.snap.cfg.deferral_max_hours);
        (1..=horizon)
            .map(|h| (h, grid_factor(self.snap.cfg, self.snap.regions, &e.region, self.snap.now_ms + h as i64 * 3_600_000)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .filter(|(_, g)| *g <= now * (1.0 - self.snap.cfg.deferral_min_saving))
            .map(|(h, g)| (h, 1.0 - g / now))
    }
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

/// The order the suanli policy considers jobs in: priority, then weighted fair share (updated as
/// jobs are taken), then age.
fn fair_order<'j>(pending: &'j [Job], snap: &Snapshot<'_>, count_only: bool) -> Vec<(&'j Job, f64)> {
    let reference_tflops = snap.catalogue.get(&snap.speeds.reference).map_or(312.0, |a| a.fp16_tflops);
    let mut by_priority: BTreeMap<std::cmp::Reverse<u8>, Vec<&Job>> = BTreeMap::new();
    for j in pending {
        by_priority.entry(std::cmp::Reverse(j.spec.priority)).or_default().push(j);
    }
    let mut out = Vec::with_capacity(pending.len());
    let mut share: HashMap<&TenantId, f64> = HashMap::new();
    for (_, mut jobs) in by_priority {
        jobs.sort_by(|a, b| a.id.cmp(&b.id));
        let mut queues: Vec<(&TenantId, VecDeque<&Job>)> = Vec::new();
        let mut qi: HashMap<&TenantId, usize> = HashMap::new();
        for j in jobs {
            let i = *qi.entry(&j.tenant_id).or_insert_with(|| {
                queues.push((&j.tenant_id, VecDeque::new()));
                queues.len() - 1
            });
            queues[i].1.push_back(j);
        }
        let mut heap = BinaryHeap::new();
        for (i, (t, _)) in queues.iter().enumerate() {
            let s = *share.entry(t).or_insert_with(|| snap.usage.share(t));
            heap.push(HeapItem(s, i));
        }
        while let Some(HeapItem(s, i)) = heap.pop() {
            let (t, q) = &mut queues[i];
            let Some(j) = q.pop_front() else { continue };
            out.push((j, s));
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

/// Runs one round of `policy` over the snapshot.
pub fn schedule(snap: Snapshot<'_>, pending: &[Job], policy: PolicyKind) -> RoundOutcome {
    let mut out = RoundOutcome::default();
    if snap.pools.is_empty() || snap.centres.is_empty() || snap.catalogue.all().is_empty() {
        out.waits = pending
            .iter()
            .map(|j| Wait { job: j.id.clone(), reason: "no pools in the city".into(), reservation: None, best: None })
            .collect();
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
    let keep = snap.cfg.top_alternatives + 1;
    let mut reservations_made = 0;
    // What leaving each considered job unplaced would cost (its best score anywhere plus waiting).
    let mut penalties: HashMap<JobId, f64> = HashMap::new();
    // Small rounds also price every job's waiting exactly, for the exchange moves at the end.
    let small_round = pending.len() * snap.pools.len() <= 200_000;
    // Once every pool is too full for a job, and it can neither preempt nor reserve, it waits
    // without a search: this keeps rounds over huge queues fast.
    let min_preemptible = snap.pools.iter().flat_map(|p| p.running.iter()).filter(|r| r.preemptible).map(|r| r.priority).min();
    let mut max_free = board.free.iter().copied().max().unwrap_or(0);
    for (job, share) in fair_order(pending, &snap, false) {
        let can_preempt = min_preemptible.is_some_and(|m| m < job.spec.priority);
        if max_free < job.spec.accelerators && reservations_made >= snap.cfg.reservations && !can_preempt {
            out.waits.push(Wait {
                job: job.id.clone(),
                reason: format!("waiting for {} free accelerators in a feasible pool", job.spec.accelerators),
                reservation: None,
                best: None,
            });
            continue;
        }
        let mut options = board.best_with_room(job, keep);
        let waiting = wait_cost(snap.cfg, job, snap.now_ms);
        // Would a busy pool, once free, beat running now by more than waiting costs?
        let threshold =
            if small_round { f64::INFINITY } else { options.first().map_or(f64::NEG_INFINITY, |(_, e)| e.score_yuan - waiting) };
        // Only a busy pool whose bound is below the threshold could be worth waiting for.
        let best_any = if board.last_busy_bound < threshold || small_round { board.best_anywhere(job, threshold) } else { None };
        if let Some(b) = best_any {
            penalties.insert(job.id.clone(), b + waiting);
        }
        if let (Some((_, e)), Some(b)) = (options.first(), best_any)
            && e.score_yuan > b + waiting
        {
            let best_any = b;
            // Running now on the best free pool costs more than waiting for a better one would.
            let (_, e) = options.swap_remove(0);
            out.waits.push(Wait {
                job: job.id.clone(),
                reason: format!(
                    "waiting for a better pool: the best free one scores ¥{:.0}, a busy one ¥{:.0}, and waiting costs about ¥{:.0} an hour",
                    e.score_yuan,
                    best_any,
                    waiting / snap.cfg.wait_penalty_hours.max(1e-9)
                ),
                reservation: None,
                best: Some(e),
            });
            continue;
        }
        if !options.is_empty() {
            let (i, chosen) = options.remove(0);
            if let Some((h, saving)) = board.cleaner_hour(job, &chosen) {
                out.waits.push(Wait {
                    job: job.id.clone(),
                    reason: format!(
                        "deferred {h} h to a cleaner hour: the grid at {} is {:.0}% cleaner then, within the deadline",
                        chosen.region,
                        saving * 100.0
                    ),
                    reservation: None,
                    best: Some(chosen),
                });
                continue;
            }
            let backfilled = board.take(i, job, &chosen);
            if board.free[i] + job.spec.accelerators == max_free {
                max_free = board.free.iter().copied().max().unwrap_or(0);
            }
            out.placements.push(Placement {
                job: job.id.clone(),
                chosen,
                alternatives: options.into_iter().map(|(_, e)| e).collect(),
                preempted: Vec::new(),
                backfilled,
                fair_share: share,
            });
            continue;
        }
        if let Some((i, victims)) = board.preemption_plan(job) {
            for v in &victims {
                board.running[i].retain(|r| r.job != v.job);
                board.free[i] += v.accelerators;
                max_free = max_free.max(board.free[i]);
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
            continue;
        }
        if reservations_made < snap.cfg.reservations
            && let Some((i, start, spare, e)) = board.reservation_plan(job)
        {
            reservations_made += 1;
            board.reservations[i] = Some(ReservationState { start_ms: start, spare });
            let pool = snap.pools[i].pool.id.clone();
            out.waits.push(Wait {
                job: job.id.clone(),
                reason: format!(
                    "reserved {} accelerators of {pool} from {} (later jobs backfill without delaying it)",
                    job.spec.accelerators,
                    suanli_core::time::format_rfc3339(start)
                ),
                reservation: Some(Reservation { pool, start_ms: start }),
                best: Some(e),
            });
            continue;
        }
        let reason = if board.feasible(job).is_empty() {
            match crate::ever_feasible(
                &job.spec,
                snap.centres,
                &snap.pools.iter().map(|p| p.pool.clone()).collect::<Vec<_>>(),
                snap.catalogue,
                snap.regions,
            ) {
                Err(m) => m.describe().to_string(),
                Ok(()) => "no feasible pool".to_string(),
            }
        } else {
            format!("waiting for {} free accelerators in a feasible pool", job.spec.accelerators)
        };
        out.waits.push(Wait { job: job.id.clone(), reason, reservation: None, best: None });
    }
    improve(board, pending, out);
    exchange(board, pending, out, &penalties);
}

/// Exchange moves: a waiting job takes a pool from placed jobs of no higher priority when the
/// round's objective falls (what it gains over waiting exceeds what they lose); displaced jobs
/// then take any free pool that beats waiting. Bounded to modest rounds.
fn exchange(board: &mut Board<'_>, pending: &[Job], out: &mut RoundOutcome, penalties: &HashMap<JobId, f64>) {
    if out.waits.is_empty() || pending.len() * board.snap.pools.len() > 200_000 {
        return;
    }
    let by_id: HashMap<&JobId, &Job> = pending.iter().map(|j| (&j.id, j)).collect();
    let waiting_for_room =
        |w: &Wait| w.reservation.is_none() && (w.reason.starts_with("waiting for a better pool") || w.reason.starts_with("waiting for "));
    for _pass in 0..3 {
        let mut changed = false;
        let mut order: Vec<usize> = (0..out.waits.len()).filter(|&k| waiting_for_room(&out.waits[k])).collect();
        order.sort_by_key(|&k| (Reverse(by_id.get(&out.waits[k].job).map_or(0, |j| j.spec.priority)), out.waits[k].job.clone()));
        let mut taken: Vec<usize> = Vec::new();
        for k in order {
            let Some(u) = by_id.get(&out.waits[k].job).copied() else { continue };
            let Some(&pen_u) = penalties.get(&u.id) else { continue };
            // (net gain, pool, victims as placement indexes)
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
                        (v.spec.priority <= u.spec.priority).then(|| {
                            (penalties.get(&v.id).copied().unwrap_or(f64::INFINITY) - pl.chosen.score_yuan, i, v.spec.accelerators)
                        })
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
            let Some((_, p, victims)) = plan else { continue };
            for &i in &victims {
                let pl = &out.placements[i];
                let v = by_id[&pl.job];
                board.free[p] += v.spec.accelerators;
                out.waits.push(Wait {
                    job: pl.job.clone(),
                    reason: format!(
                        "waiting for {} free accelerators: displaced by a job that gains more from the pool",
                        v.spec.accelerators
                    ),
                    reservation: None,
                    best: Some(pl.chosen.clone()),
                });
            }
            let mut victims = victims;
            victims.sort_unstable_by(|a, b| b.cmp(a));
            for i in victims {
                out.placements.swap_remove(i);
            }
            let e = board.estimate_on(u, p, 0.0);
            board.free[p] -= u.spec.accelerators;
            out.placements.push(Placement::plain(u.id.clone(), e));
            taken.push(k);
            changed = true;
        }
        taken.sort_unstable_by(|a, b| b.cmp(a));
        for k in taken {
            out.waits.swap_remove(k);
        }
        // Displaced and waiting jobs take free pools that beat waiting.
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
                changed = true;
            }
        }
        placed_now.sort_unstable_by(|a, b| b.cmp(a));
        for k in placed_now {
            out.waits.swap_remove(k);
        }
        if !changed {
            break;
        }
    }
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
        PolicyKind::FairAgnostic => fair_order(pending, &snap, true),
        _ => {
            let mut v: Vec<&Job> = pending.iter().collect();
            v.sort_by(|a, b| a.id.cmp(&b.id));
            v.into_iter().map(|j| (j, 0.0)).collect()
        }
    };
    let mut head_blocked = false;
    for (job, share) in order {
        if head_blocked {
            out.waits.push(Wait {
                job: job.id.clone(),
                reason: "behind the head of the queue (FIFO)".into(),
                reservation: None,
                best: None,
            });
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
                    "no feasible pool".to_string()
                } else {
                    format!("waiting for {} free accelerators in a feasible pool", job.spec.accelerators)
                };
                out.waits.push(Wait { job: job.id.clone(), reason, reservation: None, best: None });
            }
        }
    }
}
