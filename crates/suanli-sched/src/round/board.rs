//! The round's working state over a snapshot: free accelerators per pool, estimates per job and pool, reservations, and the lower bounds that prune the search.

use super::*;
pub(crate) struct ReservationState {
    pub(crate) start_ms: UnixMs,
    /// Accelerators free at `start_ms` beyond what the reserved job needs.
    pub(crate) spare: i64,
}

/// See [`Board::bounds`].
pub(crate) struct Bounds {
    pub(crate) slot: usize,
    pub(crate) wt: f64,
    pub(crate) tv: f64,
    pub(crate) accel: f64,
    pub(crate) d: Option<usize>,
    pub(crate) transfer: [f64; 6],
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
    pub(crate) reservations: Vec<Option<ReservationState>>,
    /// accelerator model -> pool indexes of partner centres, sorted by per-goal unit rate.
    pub(crate) groups: BTreeMap<&'a str, [Vec<usize>; 4]>,
    /// Per pool and goal: weighted money + carbon per accelerator-hour (a lower bound, carbon at the cleanest hour).
    pub(crate) unit_keys: Vec<[f64; 4]>,
    /// Per (data region, goal): each model's pools split by link class, with a head past full pools.
    pub(crate) by_class: HashMap<usize, ClassLists>,
    /// The accelerator of each model group, in the groups' order.
    pub(crate) group_accs: Vec<&'a Accelerator>,
    /// The lowest objective bound among busy pools the last search passed over.
    pub(crate) last_busy_bound: f64,
    /// The grid factor of each pool's region (kg/kWh), before the hourly profile.
    pub(crate) grid_base: Vec<f64>,
    pub(crate) region_index: HashMap<&'a str, usize>,
    pub(crate) region_count: usize,
    pub(crate) pool_region: Vec<usize>,
    pub(crate) link_cache: Vec<Option<Link>>,
    pub(crate) pool_index: HashMap<&'a PoolId, usize>,
    pub(crate) evaluated: u64,
}

pub(crate) fn goal_slot(g: Goal) -> usize {
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
    pub(crate) fn quick_ok(&self, job: &Job, i: usize) -> bool {
        let pool = &self.snap.pools[i].pool;
        pool.capacity() >= job.spec.accelerators
            && job.spec.max_price_per_hour.is_none_or(|max| pool.effective_price() <= max)
            && match (job.spec.latency_slo_ms, job.spec.users_region.as_deref()) {
                (Some(slo), Some(users)) => self.centre_of[i].rtt_to(self.snap.regions, users).is_some_and(|rtt| rtt <= slo),
                _ => true,
            }
    }

    pub(crate) fn static_ok(&self, job: &Job, i: usize) -> bool {
        misfit(&job.spec, &self.snap.pools[i].pool, self.centre_of[i], self.snap.catalogue, self.snap.regions).is_none()
    }

    pub(crate) fn take(&mut self, i: usize, job: &Job, e: &Estimate) -> bool {
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
    pub(crate) fn link_to(&mut self, data_region: Option<&str>, i: usize) -> Option<Link> {
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
    pub(crate) fn figures_on(&mut self, job: &Job, i: usize, wait_s: f64) -> Figures {
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
    pub(crate) fn ensure_order(&mut self, slot: usize) {
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

    pub(crate) fn class_lists(&mut self, d: usize, slot: usize) -> &mut ClassLists {
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
    pub(crate) fn best_with_room(&mut self, job: &Job, keep: usize) -> Vec<(usize, Estimate)> {
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
    pub(crate) fn bounds(&self, job: &Job) -> Bounds {
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
    pub(crate) fn preemption_plan(&self, job: &Job) -> Option<(usize, Vec<RunningJob>)> {
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
    pub(crate) fn reservation_plan(&mut self, job: &Job) -> Option<(usize, UnixMs, i64, Estimate)> {
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
    pub(crate) fn cleaner_hour(&self, job: &Job, e: &Estimate) -> Option<(u32, f64)> {
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
