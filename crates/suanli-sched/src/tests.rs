//! Tests of the first placement policy: feasibility reasons, cheapest choice, gangs never split, pools never over-allocated.

use super::*;
use proptest::prelude::*;
use suanli_core::centre::CentreKind;
use suanli_core::id::{ProviderId, TenantId};
use suanli_core::job::{JobKind, JobState};

fn centre(n: u64, status: PartnerStatus) -> Centre {
    Centre {
        id: CentreId::generate(0, n),
        provider_id: ProviderId::generate(0, 0),
        name: format!("c{n}"),
        name_en: String::new(),
        kind: CentreKind::IntelligentComputing,
        region: "hz-binjiang".into(),
        partner_status: status,
        commissioned_ms: 0,
        declared_pue: 1.2,
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

fn job(n: u64, gang: u32, priority: u8) -> Job {
    Job {
        id: JobId::generate(n as i64, 0),
        tenant_id: TenantId::generate(0, 0),
        spec: JobSpec {
            name: "j".into(),
            kind: JobKind::Training,
            accelerators: gang,
            models: vec![],
            min_fp16_tflops: None,
            min_memory_gb: None,
            duration_s: 60,
            deadline_ms: None,
            latency_slo_ms: None,
            users_region: None,
            data_region: None,
            priority,
            max_price_per_hour: None,
        },
        state: JobState::Pending,
        pool_id: None,
        centre_id: None,
        submitted_ms: 0,
        placed_ms: None,
        started_ms: None,
        finished_ms: None,
        reason: None,
        usage_s: None,
        cost: None,
    }
}

#[test]
fn reasons_name_the_furthest_check() {
    let (cat, reg) = (Catalogue::builtin(), Regions::builtin());
    let c = centre(1, PartnerStatus::Partner);
    let pools = [pool(&c, 1, "h800", 8, 2000)];
    let mut s = job(1, 16, 0).spec;
    assert_eq!(
        ever_feasible(&s, std::slice::from_ref(&c), &pools, &cat, &reg),
        Err(Misfit::TooSmall)
    );
    s.accelerators = 8;
    s.max_price_per_hour = Some(Fen(1000));
    assert_eq!(
        ever_feasible(&s, std::slice::from_ref(&c), &pools, &cat, &reg),
        Err(Misfit::TooExpensive)
    );
    s.max_price_per_hour = None;
    s.latency_slo_ms = Some(5);
    s.users_region = Some("shanghai".into());
    assert_eq!(
        ever_feasible(&s, std::slice::from_ref(&c), &pools, &cat, &reg),
        Err(Misfit::TooFar)
    );
    s.users_region = Some("hz-xihu".into());
    assert_eq!(
        ever_feasible(&s, std::slice::from_ref(&c), &pools, &cat, &reg),
        Ok(())
    );
    let applicant = centre(2, PartnerStatus::Applicant);
    let pools = [pool(&applicant, 2, "h800", 8, 2000)];
    assert_eq!(
        ever_feasible(&s, &[applicant], &pools, &cat, &reg),
        Err(Misfit::CentreNotPartner)
    );
}

#[test]
fn cheapest_pool_with_room_wins_and_priority_goes_first() {
    let (cat, reg) = (Catalogue::builtin(), Regions::builtin());
    let c = centre(1, PartnerStatus::Partner);
    let cheap = pool(&c, 1, "ascend-910b2", 8, 800);
    let dear = pool(&c, 2, "h800", 8, 2000);
    let pools = [cheap.clone(), dear.clone()];
    let mut free: HashMap<PoolId, u32> =
        pools.iter().map(|p| (p.id.clone(), p.capacity())).collect();
    let jobs = [job(1, 8, 0), job(2, 8, 9)];
    let d = place_round(&jobs, &[c], &pools, &mut free, &cat, &reg);
    // The later, higher-priority job takes the cheap pool; the older one gets the dear one.
    assert_eq!(
        d[0],
        Decision::Place {
            job: jobs[1].id.clone(),
            pool: cheap.id.clone(),
            centre: cheap.centre_id.clone(),
            price_per_hour: Fen(800)
        }
    );
    assert!(matches!(&d[1], Decision::Place { pool, .. } if *pool == dear.id));
    assert_eq!(free[&cheap.id], 0);
}

#[test]
fn full_pools_make_jobs_wait_with_a_reason() {
    let (cat, reg) = (Catalogue::builtin(), Regions::builtin());
    let c = centre(1, PartnerStatus::Partner);
    let pools = [pool(&c, 1, "h800", 8, 2000)];
    let mut free = HashMap::from([(pools[0].id.clone(), 4)]);
    let d = place_round(&[job(1, 8, 0)], &[c], &pools, &mut free, &cat, &reg);
    assert!(
        matches!(&d[0], Decision::Wait { reason, .. } if reason.contains("waiting for 8 free"))
    );
}

proptest! {
    #[test]
    fn no_pool_is_over_allocated_and_gangs_stay_whole(
        caps in prop::collection::vec(1u32..64, 1..6),
        gangs in prop::collection::vec((1u32..80, 0u8..10), 0..40),
    ) {
        let (cat, reg) = (Catalogue::builtin(), Regions::builtin());
        let c = centre(1, PartnerStatus::Partner);
        let pools: Vec<Pool> = caps.iter().enumerate().map(|(i, &cap)| pool(&c, i as u64, "h800", cap, 1000 + i as i64)).collect();
        let mut free: HashMap<PoolId, u32> = pools.iter().map(|p| (p.id.clone(), p.capacity())).collect();
        let jobs: Vec<Job> = gangs.iter().enumerate().map(|(i, &(g, p))| job(i as u64, g, p)).collect();
        let decisions = place_round(&jobs, &[c], &pools, &mut free, &cat, &reg);
        prop_assert_eq!(decisions.len(), jobs.len());
        let mut used: HashMap<PoolId, u32> = HashMap::new();
        for d in &decisions {
            if let Decision::Place { job, pool, .. } = d {
                let j = jobs.iter().find(|j| &j.id == job).unwrap();
                *used.entry(pool.clone()).or_default() += j.spec.accelerators;
            }
        }
        for p in &pools {
            let u = used.get(&p.id).copied().unwrap_or(0);
            prop_assert!(u <= p.capacity(), "pool over-allocated: {} > {}", u, p.capacity());
            prop_assert_eq!(free[&p.id], p.capacity() - u);
        }
    }
}
