//! Tests of the scheduler: feasibility reasons, the objective's choices, fairness, preemption, backfill, deferral, quotes, the exact solver, and allocation invariants.

use super::*;
use crate::costing::SchedConfig;
use crate::round::{PolicyKind, PoolLoad, RunningJob, Snapshot, TenantUsage, schedule};
use crate::speed::SpeedModel;
use proptest::prelude::*;
use std::collections::HashMap;
use suanli_core::centre::CentreKind;
use suanli_core::id::{JobId, PoolId, ProviderId, TenantId};
use suanli_core::job::{Goal, Job, JobKind};
use suanli_core::money::Fen;

fn centre(n: u64, region: &str, status: PartnerStatus, pue: f64) -> Centre {
    Centre {
        id: CentreId::generate(0, n),
        provider_id: ProviderId::generate(0, 0),
        name: format!("c{n}"),
        name_en: String::new(),
        kind: CentreKind::IntelligentComputing,
        region: region.into(),
        partner_status: status,
        commissioned_ms: 0,
        declared_pue: pue,
        racks: 200,
        rtt_ms: [("hangzhou".to_string(), 3), ("yrd".to_string(), 20)].into(),
        created_ms: 0,
    }
}

fn pool(c: &Centre, n: u64, model: &str, capacity: u32, price: i64) -> Pool {
    Pool {
        id: PoolId::generate(0, n),
        centre_id: c.id.clone(),
        accelerator: model.into(),
        nodes: capacity,
        accelerators_per_node: 1,
        price_per_hour: Fen(price),
        partner_discount_pct: 0,
        created_ms: 0,
    }
}

fn load(p: &Pool) -> PoolLoad {
    PoolLoad::idle(p)
}

fn job(n: u64, tenant: u64, gang: u32, priority: u8) -> Job {
    let mut spec = JobSpec::new("j", JobKind::Training, gang, 3600);
    spec.priority = priority;
    Job::pending(JobId::generate(n as i64 + 1, 0), TenantId::generate(0, tenant), spec, 0)
}

struct World {
    cat: Catalogue,
    reg: Regions,
    speeds: SpeedModel,
    cfg: SchedConfig,
    usage: TenantUsage,
}

impl World {
    fn new() -> World {
        let cat = Catalogue::builtin();
        let speeds = SpeedModel::new(&cat, "a100-80g");
        World { cat, reg: Regions::builtin(), speeds, cfg: SchedConfig::default(), usage: TenantUsage::default() }
    }
    fn snap<'a>(&'a self, centres: &'a [Centre], pools: &'a [PoolLoad], now_ms: i64) -> Snapshot<'a> {
        Snapshot {
            now_ms,
            centres,
            pools,
            catalogue: &self.cat,
            regions: &self.reg,
            speeds: &self.speeds,
            cfg: &self.cfg,
            usage: &self.usage,
        }
    }
}

#[test]
fn reasons_name_the_furthest_check() {
    let (cat, reg) = (Catalogue::builtin(), Regions::builtin());
    let c = centre(1, "hz-binjiang", PartnerStatus::Partner, 1.2);
    let pools = [pool(&c, 1, "h800", 8, 2000)];
    let mut s = job(1, 0, 16, 0).spec;
    assert_eq!(ever_feasible(&s, std::slice::from_ref(&c), &pools, &cat, &reg), Err(Misfit::TooSmall));
    s.accelerators = 8;
    s.max_price_per_hour = Some(Fen(1000));
    assert_eq!(ever_feasible(&s, std::slice::from_ref(&c), &pools, &cat, &reg), Err(Misfit::TooExpensive));
    s.max_price_per_hour = None;
    s.latency_slo_ms = Some(5);
    s.users_region = Some("shanghai".into());
    assert_eq!(ever_feasible(&s, std::slice::from_ref(&c), &pools, &cat, &reg), Err(Misfit::TooFar));
    s.users_region = Some("hz-xihu".into());
    assert_eq!(ever_feasible(&s, std::slice::from_ref(&c), &pools, &cat, &reg), Ok(()));
    let applicant = centre(2, "hz-xihu", PartnerStatus::Applicant, 1.2);
    let pools = [pool(&applicant, 2, "h800", 8, 2000)];
    assert_eq!(ever_feasible(&s, &[applicant], &pools, &cat, &reg), Err(Misfit::CentreNotPartner));
}

#[test]
fn heterogeneity_aware_choice_prefers_cheaper_work_not_cheaper_hours() {
    let w = World::new();
    let c = centre(1, "hz-binjiang", PartnerStatus::Partner, 1.2);
    // A T4 hour is cheap, but an H800 does the job 15x faster: the whole job costs less there.
    let pools = [load(&pool(&c, 1, "t4", 8, 300)), load(&pool(&c, 2, "h800", 8, 2000))];
    let out = schedule(w.snap(std::slice::from_ref(&c), &pools, 0), &[job(1, 0, 8, 4)], PolicyKind::Suanli);
    assert_eq!(out.placements[0].chosen.model, "h800", "{:?}", out.placements[0]);
    assert_eq!(out.placements[0].alternatives[0].model, "t4");
    // The broker baseline picks the cheaper hourly price.
    let out = schedule(w.snap(std::slice::from_ref(&c), &pools, 0), &[job(1, 0, 8, 4)], PolicyKind::CheapestFirst);
    assert_eq!(out.placements[0].chosen.model, "t4");
}

#[test]
fn goals_change_the_choice() {
    let w = World::new();
    let dirty = centre(1, "shandong", PartnerStatus::Partner, 1.6);
    let clean = centre(2, "hz-xihu", PartnerStatus::Partner, 1.1);
    let pools = [load(&pool(&dirty, 1, "a800", 8, 700)), load(&pool(&clean, 2, "a800", 8, 760))];
    let centres = [dirty, clean];
    let mut j = job(1, 0, 8, 4);
    j.spec.goal = Goal::Cheapest;
    let cheap = schedule(w.snap(&centres, &pools, 0), std::slice::from_ref(&j), PolicyKind::Suanli);
    assert_eq!(cheap.placements[0].chosen.pool, pools[0].pool.id);
    j.spec.goal = Goal::Greenest;
    let green = schedule(w.snap(&centres, &pools, 0), &[j], PolicyKind::Suanli);
    assert_eq!(green.placements[0].chosen.pool, pools[1].pool.id);
    assert!(green.placements[0].chosen.carbon_kg < cheap.placements[0].chosen.carbon_kg);
}

#[test]
fn data_gravity_and_latency() {
    let w = World::new();
    let near = centre(1, "hz-xihu", PartnerStatus::Partner, 1.2);
    let mut far = centre(2, "shandong", PartnerStatus::Partner, 1.2);
    far.rtt_ms = [("east-china".to_string(), 30)].into();
    let pools = [load(&pool(&near, 1, "a800", 8, 900)), load(&pool(&far, 2, "a800", 8, 850))];
    let centres = [near, far];
    let mut j = job(1, 0, 8, 4);
    j.spec.data_region = Some("hz-xihu".into());
    j.spec.data_gb = Some(5000.0);
    let out = schedule(w.snap(&centres, &pools, 0), std::slice::from_ref(&j), PolicyKind::Suanli);
    let chosen = &out.placements[0].chosen;
    assert_eq!(chosen.pool, pools[0].pool.id, "5 TB of data stays near: {chosen:?}");
    assert!(out.placements[0].alternatives[0].transfer_cost > Fen(0));
    // Latency-bound inference goes only where the RTT fits.
    j.spec.data_gb = None;
    j.spec.latency_slo_ms = Some(5);
    j.spec.users_region = Some("hz-binjiang".into());
    let far_only = [pools[1].clone()];
    let out = schedule(w.snap(&centres, &far_only, 0), &[j], PolicyKind::Suanli);
    assert!(out.placements.is_empty());
    assert!(out.waits[0].reason.to_string().contains("latency"), "{}", out.waits[0].reason);
}

#[test]
fn priority_then_fair_share_decide_the_order() {
    let mut w = World::new();
    let c = centre(1, "hz-xihu", PartnerStatus::Partner, 1.2);
    let pools = [load(&pool(&c, 1, "h800", 8, 2000))];
    // Tenant 1 has received a lot; tenant 2 nothing: with equal priority, tenant 2 goes first.
    w.usage.received.insert(TenantId::generate(0, 1), 1.0e9);
    let jobs = [job(1, 1, 8, 4), job(2, 2, 8, 4)];
    let out = schedule(w.snap(std::slice::from_ref(&c), &pools, 0), &jobs, PolicyKind::Suanli);
    assert_eq!(out.placements[0].job, jobs[1].id);
    // Higher priority beats fair share.
    let jobs = [job(1, 1, 8, 7), job(2, 2, 8, 4)];
    let out = schedule(w.snap(std::slice::from_ref(&c), &pools, 0), &jobs, PolicyKind::Suanli);
    assert_eq!(out.placements[0].job, jobs[0].id);
}

fn running(n: u64, gang: u32, priority: u8, preemptible: bool, started_ms: i64, end_ms: i64) -> RunningJob {
    RunningJob {
        job: JobId::generate(1_000_000 + n as i64, n),
        tenant: TenantId::generate(0, 9),
        accelerators: gang,
        priority,
        preemptible,
        started_ms,
        est_end_ms: end_ms,
    }
}

#[test]
fn preemption_stops_only_lower_priority_preemptible_jobs_with_bounded_loss() {
    let w = World::new();
    let c = centre(1, "hz-xihu", PartnerStatus::Partner, 1.2);
    let p = pool(&c, 1, "h800", 8, 2000);
    let now = 10_000_000;
    let full = |preemptible: bool, started: i64| {
        vec![PoolLoad { pool: p.clone(), free: 0, running: vec![running(1, 8, 2, preemptible, started, now + 3_600_000)] }]
    };
    let urgent = job(1, 0, 8, 9);
    let pools = full(true, now - 60_000);
    let out = schedule(w.snap(std::slice::from_ref(&c), &pools, now), std::slice::from_ref(&urgent), PolicyKind::Suanli);
    assert_eq!(out.preemptions.len(), 1);
    assert_eq!(out.placements[0].preempted, vec![pools[0].running[0].job.clone()]);
    // Not preemptible, or too much work lost: the job waits (with a reservation).
    for pools in [full(false, now - 60_000), full(true, now - 2 * 3_600_000)] {
        let out = schedule(w.snap(std::slice::from_ref(&c), &pools, now), std::slice::from_ref(&urgent), PolicyKind::Suanli);
        assert!(out.preemptions.is_empty() && out.placements.is_empty());
        assert!(out.waits[0].reservation.is_some(), "{:?}", out.waits[0]);
    }
    // Equal priority never preempts.
    let mut peer = urgent.clone();
    peer.spec.priority = 2;
    let out = schedule(w.snap(std::slice::from_ref(&c), &full(true, now - 60_000), now), &[peer], PolicyKind::Suanli);
    assert!(out.preemptions.is_empty());
}

#[test]
fn backfill_never_delays_a_reservation() {
    let w = World::new();
    let c = centre(1, "hz-xihu", PartnerStatus::Partner, 1.2);
    let p = pool(&c, 1, "a800", 16, 800);
    let now = 0;
    // 12 busy for another 2 hours: 4 free now.
    let pools = [PoolLoad { pool: p.clone(), free: 4, running: vec![running(1, 12, 4, false, 0, 2 * 3_600_000)] }];
    let big = job(1, 0, 16, 6);
    let mut short = job(2, 1, 4, 4);
    short.spec.duration_s = 1800; // ends well before the big job can start
    let mut long = job(3, 2, 4, 4);
    long.spec.duration_s = 10 * 3600; // would hold 4 accelerators past the reservation
    let out = schedule(w.snap(std::slice::from_ref(&c), &pools, now), &[big.clone(), long.clone(), short.clone()], PolicyKind::Suanli);
    let res = out.waits.iter().find(|x| x.job == big.id).unwrap();
    assert_eq!(res.reservation.as_ref().unwrap().start_ms, 2 * 3_600_000);
    let placed: Vec<&JobId> = out.placements.iter().map(|p| &p.job).collect();
    assert_eq!(placed, vec![&short.id], "only the job that ends before the reservation backfills");
    assert!(out.placements[0].backfilled);
    // FIFO blocks behind the head instead.
    let out = schedule(w.snap(std::slice::from_ref(&c), &pools, now), &[big, long, short], PolicyKind::FifoFirstFit);
    assert!(out.placements.is_empty());
}

#[test]
fn deadline_jobs_wait_for_a_cleaner_hour() {
    let w = World::new();
    let c = centre(1, "hz-xihu", PartnerStatus::Partner, 1.2);
    let pools = [load(&pool(&c, 1, "a800", 8, 800))];
    // 12:00 UTC is 20:00 in Hangzhou (dirty evening); the deadline is two days away.
    let now = 12 * 3_600_000;
    let mut j = job(1, 0, 8, 4);
    j.spec.deadline_ms = Some(now + 48 * 3_600_000);
    let out = schedule(w.snap(std::slice::from_ref(&c), &pools, now), std::slice::from_ref(&j), PolicyKind::Suanli);
    assert!(out.placements.is_empty());
    assert!(out.waits[0].reason.to_string().contains("cleaner hour"), "{}", out.waits[0].reason);
    // Without slack it runs now.
    j.spec.deadline_ms = Some(now + 2 * 3_600_000);
    let out = schedule(w.snap(std::slice::from_ref(&c), &pools, now), &[j], PolicyKind::Suanli);
    assert_eq!(out.placements.len(), 1);
}

#[test]
fn quotes_name_cheapest_fastest_greenest() {
    let w = World::new();
    let a = centre(1, "hz-xihu", PartnerStatus::Partner, 1.1);
    let b = centre(2, "shandong", PartnerStatus::Partner, 1.6);
    let pools = [load(&pool(&a, 1, "h800", 8, 2500)), load(&pool(&b, 2, "a800", 8, 500)), load(&pool(&a, 3, "ascend-910b2", 8, 700))];
    let centres = [a, b];
    let spec = job(1, 0, 8, 4).spec;
    let q = quote::quote(w.snap(&centres, &pools, 0), &TenantId::generate(0, 0), &spec, 10);
    assert_eq!(q.options.len(), 3);
    let name = |i: Option<usize>| q.options[i.unwrap()].model.clone();
    assert_eq!(name(q.fastest), "h800");
    assert_eq!(name(q.cheapest), "a800");
    assert_eq!(q.recommended, Some(0));
    assert!(q.options.windows(2).all(|w| w[0].score_yuan <= w[1].score_yuan));
}

#[test]
fn exact_solver_is_never_worse_than_the_heuristic() {
    let w = World::new();
    let c1 = centre(1, "hz-xihu", PartnerStatus::Partner, 1.2);
    let c2 = centre(2, "ningbo", PartnerStatus::Partner, 1.3);
    let pools = [load(&pool(&c1, 1, "h800", 8, 2000)), load(&pool(&c2, 2, "a800", 12, 800)), load(&pool(&c1, 3, "ascend-910b2", 6, 600))];
    let centres = [c1, c2];
    let jobs: Vec<Job> = (0..9).map(|n| job(n, n % 3, [2, 4, 6][n as usize % 3], 4)).collect();
    let snap = w.snap(&centres, &pools, 0);
    let inst = exact::instance(snap, &jobs);
    let out = schedule(snap, &jobs, PolicyKind::Suanli);
    let h = exact::objective(&inst, &exact::assignment_of(&inst, snap, &out)).expect("the heuristic respects capacity");
    let opt_assign = exact::solve_exact(&inst).unwrap();
    let opt = exact::objective(&inst, &opt_assign).expect("the optimum respects capacity");
    assert!(opt <= h + 1e-6, "optimum {opt} vs heuristic {h}");
    assert!(exact::gap(h, opt) < 0.05, "gap {}", exact::gap(h, opt));
}

proptest! {
    #[test]
    fn no_pool_is_over_allocated_and_gangs_stay_whole(
        caps in prop::collection::vec(1u32..64, 1..6),
        busy in prop::collection::vec((0u32..32, 0u8..10, any::<bool>()), 0..6),
        gangs in prop::collection::vec((1u32..80, 0u8..10, 0u64..4), 0..40),
        policy in 0usize..4,
    ) {
        let w = World::new();
        let c = centre(1, "hz-xihu", PartnerStatus::Partner, 1.2);
        let now = 5_000_000;
        let pools: Vec<PoolLoad> = caps.iter().enumerate().map(|(i, &cap)| {
            let p = pool(&c, i as u64, if i % 2 == 0 { "h800" } else { "a800" }, cap, 1000 + i as i64);
            let (b, prio, pre) = busy.get(i).copied().unwrap_or((0, 0, false));
            let b = b.min(cap);
            let running = if b > 0 { vec![running(i as u64, b, prio, pre, now - 1000, now + 3_600_000)] } else { vec![] };
            PoolLoad { pool: p, free: cap - b, running }
        }).collect();
        let jobs: Vec<Job> = gangs.iter().enumerate().map(|(i, &(g, p, t))| job(i as u64, t, g, p)).collect();
        let out = schedule(w.snap(std::slice::from_ref(&c), &pools, now), &jobs, PolicyKind::ALL[policy]);
        prop_assert_eq!(out.placements.len() + out.waits.len(), jobs.len(), "every job is decided exactly once");
        let mut used: HashMap<PoolId, i64> = HashMap::new();
        for pl in &pools {
            used.insert(pl.pool.id.clone(), pl.running.iter().map(|r| r.accelerators as i64).sum());
        }
        for pre in &out.preemptions {
            let victim = pools.iter().flat_map(|p| p.running.iter()).find(|r| r.job == pre.victim).unwrap();
            *used.get_mut(&pre.pool).unwrap() -= victim.accelerators as i64;
        }
        for p in &out.placements {
            let j = jobs.iter().find(|j| j.id == p.job).unwrap();
            *used.get_mut(&p.chosen.pool).unwrap() += j.spec.accelerators as i64;
        }
        for pl in &pools {
            let u = used[&pl.pool.id];
            prop_assert!(u <= pl.pool.capacity() as i64, "pool over-allocated: {} > {}", u, pl.pool.capacity());
            prop_assert!(u >= 0);
        }
    }
}

/// A seeded queue much longer than the city can take: the head a round decides over is the
/// prefix of the policy's full order, and a round over the head places the same jobs, in the
/// same order, on the same pools as a round over every job (capacity, not the queue, binds).
#[test]
fn a_round_over_the_queue_head_places_what_a_round_over_every_job_would() {
    use crate::round::{RoundOutcome, queue_head};
    let mut w = World::new();
    let mut rng = suanli_core::rng::SplitMix::new(11);
    let cs = [centre(1, "hz-xihu", PartnerStatus::Partner, 1.2), centre(2, "hz-binjiang", PartnerStatus::Partner, 1.3)];
    let pools = [
        load(&pool(&cs[0], 1, "h800", 8, 2000)),
        load(&pool(&cs[0], 2, "a800", 6, 900)),
        load(&pool(&cs[1], 3, "h800", 4, 1800)),
        load(&pool(&cs[1], 4, "a100-80g", 6, 1200)),
    ];
    for t in 0..6u64 {
        w.usage.received.insert(TenantId::generate(0, t), t as f64 * 1.0e3);
    }
    let jobs: Vec<Job> = (0..300).map(|n| job(n, rng.below(6) as u64, 1 + rng.below(2) as u32, rng.below(3) as u8)).collect();
    let free: usize = pools.iter().map(|p| p.free as usize).sum();
    let placed = |o: &RoundOutcome| o.placements.iter().map(|p| (p.job.clone(), p.chosen.pool.clone())).collect::<Vec<_>>();
    for policy in PolicyKind::ALL {
        let snap = w.snap(&cs, &pools, 0);
        let order: Vec<&JobId> = queue_head(&snap, &jobs, policy, jobs.len() - 1, usize::MAX).into_iter().map(|j| &j.id).collect();
        for n in [1, 10, 3 * free] {
            let head: Vec<&JobId> = queue_head(&snap, &jobs, policy, n, usize::MAX).into_iter().map(|j| &j.id).collect();
            assert_eq!(head, order[..n], "{policy:?}: the head of {n} is the full order's prefix");
        }
        let head: Vec<Job> = queue_head(&snap, &jobs, policy, 3 * free, usize::MAX).into_iter().cloned().collect();
        let (all, part) = (schedule(snap, &jobs, policy), schedule(snap, &head, policy));
        assert!(!all.placements.is_empty() && all.placements.len() < head.len(), "{policy:?}: capacity binds");
        assert_eq!(placed(&part), placed(&all), "{policy:?}");
        assert_eq!(part.placements.len() + part.waits.len(), head.len());
    }
}

/// Priority comes first in the head too: a high-priority job submitted last is in a head of one.
#[test]
fn the_queue_head_takes_priority_first() {
    use crate::round::queue_head;
    let w = World::new();
    let c = centre(1, "hz-xihu", PartnerStatus::Partner, 1.2);
    let pools = [load(&pool(&c, 1, "h800", 8, 2000))];
    let mut jobs: Vec<Job> = (0..50).map(|n| job(n, n % 3, 1, 2)).collect();
    jobs.push(job(50, 1, 1, 9));
    let head = queue_head(&w.snap(std::slice::from_ref(&c), &pools, 0), &jobs, PolicyKind::Suanli, 1, usize::MAX);
    assert_eq!(head.iter().map(|j| &j.id).collect::<Vec<_>>(), vec![&jobs[50].id]);
}

/// Jobs no pool could ever run ride along in the head without counting: a flood of them at the
/// top of the order does not stall the jobs behind.
#[test]
fn jobs_no_pool_could_run_do_not_fill_the_queue_head() {
    use crate::round::queue_head;
    let w = World::new();
    let c = centre(1, "hz-xihu", PartnerStatus::Partner, 1.2);
    let pools = [load(&pool(&c, 1, "h800", 8, 2000))];
    let mut jobs: Vec<Job> = (0..20).map(|n| job(n, 1, 16, 9)).collect();
    jobs.extend((20..40).map(|n| job(n, 2, 1, 2)));
    let snap = w.snap(std::slice::from_ref(&c), &pools, 0);
    let head = queue_head(&snap, &jobs, PolicyKind::Suanli, 3, usize::MAX);
    assert_eq!(head.len(), 23, "the twenty gangs of 16 ride along, three that fit count");
    let out = schedule(snap, &head.into_iter().cloned().collect::<Vec<_>>(), PolicyKind::Suanli);
    assert_eq!(out.placements.len(), 3, "{:?}", out.waits.first());
}

/// A tenant's backlog on a model that is all busy does not stall its own later jobs: the first
/// `blocked` of the backlog ride along (they still reserve and preempt), the rest are passed
/// over, and the jobs any free pool could run count towards the head and are placed.
#[test]
fn a_backlog_on_a_busy_model_does_not_fill_the_queue_head() {
    use crate::round::queue_head;
    let w = World::new();
    let c = centre(1, "hz-xihu", PartnerStatus::Partner, 1.2);
    let busy = PoolLoad { free: 0, ..load(&pool(&c, 1, "h800", 8, 2000)) };
    let pools = [busy, load(&pool(&c, 2, "a800", 6, 900))];
    let mut jobs: Vec<Job> = (0..50)
        .map(|n| {
            let mut j = job(n, 1, 1, 2);
            j.spec.models = vec!["h800".into()];
            j
        })
        .collect();
    jobs.extend((50..60).map(|n| job(n, 1, 1, 2)));
    let snap = w.snap(std::slice::from_ref(&c), &pools, 0);
    let head = queue_head(&snap, &jobs, PolicyKind::Suanli, 3, 5);
    let ids: Vec<&JobId> = head.iter().map(|j| &j.id).collect();
    let want: Vec<&JobId> = jobs[..5].iter().chain(&jobs[50..53]).map(|j| &j.id).collect();
    assert_eq!(ids, want, "five of the backlog ride along, then three jobs a free pool can run");
    let out = schedule(snap, &head.into_iter().cloned().collect::<Vec<_>>(), PolicyKind::Suanli);
    let placed: Vec<&JobId> = out.placements.iter().map(|p| &p.job).collect();
    assert_eq!(placed, want[5..], "{:?}", out.waits.first());
    for policy in PolicyKind::ALL {
        let stalled = queue_head(&snap, &jobs, policy, 3, usize::MAX);
        assert_eq!(stalled.len(), 53, "{policy:?}: with no bound the whole backlog rides along");
    }
}
