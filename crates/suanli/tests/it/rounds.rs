//! The engine's rounds over the store: jobs written by another writer (a batch of new jobs, a cancellation) and a pool it adds are seen by the next round, on SQLite and on PostgreSQL; a round starts the jobs in flight while it places and hands the new ones over in the same round; a long queue is decided over its head, and every job behind it runs in turn; the billing sweep reads every ended job once, then only what changed.

use crate::harness::{pg_url, unique_schema};
use std::collections::BTreeMap;
use std::sync::Arc;
use suanli_core::catalogue::Catalogue;
use suanli_core::centre::{Centre, CentreKind, PartnerStatus, Pool, Provider};
use suanli_core::id::{AuditId, CentreId, JobId, PoolId, ProviderId, TenantId};
use suanli_core::ident::Uscc;
use suanli_core::job::{Job, JobKind, JobSpec, JobState};
use suanli_core::money::Fen;
use suanli_core::region::Regions;
use suanli_core::tenant::Tenant;
use suanli_core::time::Clock;
use suanli_dispatch::engine::{Engine, QueueHead, SchedContext, SnapshotRead};
use suanli_dispatch::ids::Ids;
use suanli_dispatch::sim::{SimBackend, SimConfig};
use suanli_store::{Audit, Store};

const NOW: i64 = 1_800_000_000_000;

/// One pool of eight accelerators and one tenant.
pub(crate) async fn seed(store: &Store) -> TenantId {
    let provider = Provider { id: ProviderId::generate(1, 1), name: "测试云".into(), name_en: "Test Cloud".into(), registration: None };
    let centre = Centre {
        id: seeded_centre_id(),
        provider_id: provider.id.clone(),
        name: "滨江智算中心".into(),
        name_en: "Binjiang AI".into(),
        kind: CentreKind::IntelligentComputing,
        region: "hz-binjiang".into(),
        partner_status: PartnerStatus::Partner,
        commissioned_ms: 1_700_000_000_000,
        declared_pue: 1.2,
        racks: 10,
        rtt_ms: BTreeMap::from([("hangzhou".to_string(), 2)]),
        created_ms: 5,
    };
    let pool = seeded_centre_pool(3, "h800", 2000, 6);
    let tenant = Tenant {
        id: TenantId::generate(4, 4),
        name: "杭州测试科技有限公司".into(),
        name_en: "HZ Test".into(),
        uscc: Uscc::parse("9144030071526726XG").unwrap(),
        sme: true,
        region: "hz-xihu".into(),
        created_ms: 7,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_provider(&provider, 1).await.unwrap();
    tx.insert_centre(&centre, "system:test").await.unwrap();
    tx.insert_pool(&pool).await.unwrap();
    tx.insert_tenant(&tenant).await.unwrap();
    tx.commit().await.unwrap();
    tenant.id
}

/// The id of the centre [`seed`] stores.
fn seeded_centre_id() -> CentreId {
    CentreId::generate(2, 2)
}

/// A pool of eight accelerators of `model` at the seeded centre (id number `n`).
fn seeded_centre_pool(n: u64, model: &str, price: i64, created_ms: i64) -> Pool {
    Pool {
        id: PoolId::generate(3, n),
        centre_id: seeded_centre_id(),
        accelerator: model.into(),
        nodes: 1,
        accelerators_per_node: 8,
        price_per_hour: Fen(price),
        partner_discount_pct: 0,
        created_ms,
    }
}

/// An engine over `store` on the simulated backend (no failures, real time), its ids and time
/// from `clock`.
pub(crate) fn sim_engine(store: &Store, clock: Arc<dyn Clock>) -> Engine {
    sim_engine_starting_after(store, clock, 0)
}

/// [`sim_engine`], its runs beginning `start_delay_ms` after their hand-over.
fn sim_engine_starting_after(store: &Store, clock: Arc<dyn Clock>, start_delay_ms: i64) -> Engine {
    let catalogue = Arc::new(Catalogue::builtin());
    let sim = Arc::new(SimBackend::new(SimConfig { time_scale: 1.0, start_delay_ms, failure_rate: 0.0, seed: 1 }));
    let sched = Arc::new(SchedContext::new(&catalogue));
    Engine::new(store.clone(), catalogue, Arc::new(Regions::builtin()), Ids::seeded(clock, 1), Some(sim), sched)
}

/// A job that takes the whole pool for a day.
fn whole_pool(n: u64, tenant: &TenantId) -> Job {
    let mut spec = JobSpec::new(&format!("job-{n}"), JobKind::Training, 8, 86_400);
    spec.models = vec!["h800".into()];
    Job::pending(JobId::generate(NOW + n as i64, n), tenant.clone(), spec, NOW)
}

async fn state(store: &Store, id: &JobId) -> JobState {
    store.job(id).await.unwrap().unwrap().state
}

/// The first of `engine`'s rounds that reads a change (within a minute).
async fn changes_seen(engine: &Engine) -> (suanli_dispatch::engine::RoundReport, suanli_dispatch::engine::RoundPhases) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (r, phases) = engine.round_timed().await.unwrap();
        if !matches!(phases.snapshot, Some(SnapshotRead::Changes { jobs: 0 })) || std::time::Instant::now() > deadline {
            return (r, phases);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// `engine_store` runs the engine; `other` is another connection pool on the same database, as
/// an API replica would be.
async fn other_writers_are_seen(engine_store: Store, other: Store) {
    let tenant = seed(&other).await;
    let engine = sim_engine(&engine_store, Arc::new(suanli_core::time::ManualClock::new(NOW)));
    let (a, b) = (whole_pool(1, &tenant), whole_pool(2, &tenant));

    let mut tx = other.begin().await.unwrap();
    tx.insert_jobs(std::slice::from_ref(&a)).await.unwrap();
    tx.commit().await.unwrap();
    let (r, phases) = engine.round_timed().await.unwrap();
    assert!(matches!(phases.snapshot, Some(SnapshotRead::Full { jobs: 1 })), "{:?}", phases.snapshot);
    assert_eq!(r.placed, 1);
    assert_ne!(state(&engine_store, &a.id).await, JobState::Pending);

    // A batch from another writer: a round reads it as a change (and only it: the engine's own
    // placement and start of `a` are not read back) and finds the pool full. On PostgreSQL the
    // rounds before may read nothing: a reader stops below every transaction open on the
    // server (another test's, here), and the batch is read once they end.
    let mut tx = other.begin().await.unwrap();
    tx.insert_jobs(std::slice::from_ref(&b)).await.unwrap();
    tx.commit().await.unwrap();
    let (r, phases) = changes_seen(&engine).await;
    assert!(matches!(phases.snapshot, Some(SnapshotRead::Changes { jobs: 1 })), "{:?}", phases.snapshot);
    assert_eq!((r.placed, r.waiting), (0, 1), "{r:?}");
    assert_eq!(state(&engine_store, &b.id).await, JobState::Pending);

    // A cancellation by another writer frees the pool: the next round places the waiting job.
    let audit = Audit {
        id: AuditId::generate(NOW, 9),
        at_ms: NOW,
        actor: "test:api".into(),
        action: "job.cancelled".into(),
        subject: a.id.to_string(),
        detail: serde_json::json!({}),
    };
    other.transition_job(&a.id, JobState::Cancelled, audit, |x| x.finished_ms = Some(NOW)).await.unwrap();
    let (r, phases) = changes_seen(&engine).await;
    assert!(matches!(phases.snapshot, Some(SnapshotRead::Changes { .. })), "{:?}", phases.snapshot);
    assert_eq!(r.placed, 1, "{r:?}");
    assert_ne!(state(&engine_store, &b.id).await, JobState::Pending);
    assert_eq!(state(&engine_store, &a.id).await, JobState::Cancelled);

    // A pool another writer adds moves the registry's change number (a job write does not), so
    // the next round reads the registry again and places on it a job the full pool leaves waiting
    // (the job read first, on PostgreSQL once the transactions open before it have ended).
    let mark = other.registry_mark().await.unwrap();
    let c = whole_pool(3, &tenant);
    let mut tx = other.begin().await.unwrap();
    tx.insert_jobs(std::slice::from_ref(&c)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(other.registry_mark().await.unwrap(), mark, "a job write is not a registry change");
    let (r, _) = changes_seen(&engine).await;
    assert_eq!((r.placed, r.waiting), (0, 1), "{r:?}");
    let second = seeded_centre_pool(5, "h800", 2000, 8);
    let mut tx = other.begin().await.unwrap();
    tx.insert_pool(&second).await.unwrap();
    tx.commit().await.unwrap();
    assert!(other.registry_mark().await.unwrap() > mark);
    let (r, _) = engine.round_timed().await.unwrap();
    assert_eq!(r.placed, 1, "{r:?}");
    assert_eq!(engine_store.job(&c.id).await.unwrap().unwrap().pool_id, Some(second.id.clone()));

    // Asked to forget (as on becoming leader), the engine reads everything again.
    engine.forget_jobs();
    let (_, phases) = engine.round_timed().await.unwrap();
    assert!(matches!(phases.snapshot, Some(SnapshotRead::Full { jobs: 2 })), "{:?}", phases.snapshot);
}

#[tokio::test]
async fn engine_rounds_see_other_writers_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let engine_store = Store::open_dir(dir.path()).await.unwrap();
    let other = Store::open_dir(dir.path()).await.unwrap();
    other_writers_are_seen(engine_store, other).await;
}

/// Two stores (two connection pools) on one scratch PostgreSQL schema, and the schema's name.
async fn pg_pair(prefix: &str) -> (Store, Store, String) {
    let schema = unique_schema(prefix);
    let one = crate::harness::pg_store(&schema).await;
    let two = crate::harness::pg_store(&schema).await;
    (one, two, schema)
}

/// Closes both stores of [`pg_pair`] and drops their schema.
async fn drop_pg_pair(one: Store, two: Store, schema: &str) {
    one.close().await;
    two.close().await;
    Store::drop_schema(&pg_url(), schema).await.unwrap();
}

#[tokio::test]
async fn engine_rounds_see_other_writers_postgres() {
    let (engine_store, other, schema) = pg_pair("rounds").await;
    other_writers_are_seen(engine_store.clone(), other.clone()).await;
    drop_pg_pair(engine_store, other, &schema).await;
}

/// A queue longer than the round's head: each round decides over the head only (the jobs
/// behind it keep the reason they had: none yet), and as the jobs ahead run and end, every job
/// behind moves into the head and runs, in the queue's order.
#[tokio::test]
async fn engine_rounds_decide_over_the_queue_head_and_every_job_behind_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    let tenant = seed(&store).await;
    let clock = Arc::new(suanli_core::time::ManualClock::new(NOW));
    let engine = sim_engine(&store, clock.clone());
    engine.set_queue_head(QueueHead { floor: 2, per_free_accelerator: 1, cap: 2, blocked: 2 });
    // Six jobs that each take the whole pool for ten minutes.
    let jobs: Vec<Job> = (1..=6)
        .map(|n| {
            let mut j = whole_pool(n, &tenant);
            j.spec.duration_s = 600;
            j
        })
        .collect();
    let mut tx = store.begin().await.unwrap();
    tx.insert_jobs(&jobs).await.unwrap();
    tx.commit().await.unwrap();

    let r = engine.round().await.unwrap();
    assert_eq!((r.placed, r.waiting, r.behind), (1, 1, 4), "{r:?}");
    let second = store.job(&jobs[1].id).await.unwrap().unwrap();
    assert!(second.reason.is_some(), "the head's waiting job is told why: {second:?}");
    for j in &jobs[2..] {
        let j = store.job(&j.id).await.unwrap().unwrap();
        assert_eq!((j.state, j.reason.as_ref()), (JobState::Pending, None), "behind the head, nothing written: {j:?}");
    }
    let mut placed_at: Vec<i64> = Vec::new();
    for _ in 0..20 {
        clock.advance(3_600_000);
        engine.round().await.unwrap();
        let mut done = 0;
        for j in &jobs {
            done += usize::from(store.job(&j.id).await.unwrap().unwrap().state == JobState::Succeeded);
        }
        if done == jobs.len() {
            break;
        }
    }
    for j in &jobs {
        let j = store.job(&j.id).await.unwrap().unwrap();
        assert_eq!(j.state, JobState::Succeeded, "no job behind the head starves: {j:?}");
        placed_at.push(j.placed_ms.unwrap());
    }
    assert!(placed_at.windows(2).all(|w| w[0] < w[1]), "placed in the queue's order: {placed_at:?}");
}

/// A round hands the jobs already in flight to their backend and writes what it reports while
/// it writes its placements, and hands the jobs it placed over in the same round: the job placed
/// the round before starts, the new one is placed and its run begins counting from this round.
#[tokio::test]
async fn a_round_starts_the_jobs_in_flight_while_it_places_and_hands_the_new_ones_over() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    let tenant = seed(&store).await;
    let clock = Arc::new(suanli_core::time::ManualClock::new(NOW));
    // A run begins a second after its hand-over, so a round's hand-over and the start it
    // reports are told apart.
    let engine = sim_engine_starting_after(&store, clock.clone(), 1_000);
    let half = |n: u64| {
        let mut j = whole_pool(n, &tenant);
        j.spec.accelerators = 4;
        j
    };
    let (a, b) = (half(1), half(2));
    let mut tx = store.begin().await.unwrap();
    tx.insert_jobs(std::slice::from_ref(&a)).await.unwrap();
    tx.commit().await.unwrap();
    let r = engine.round().await.unwrap();
    assert_eq!((r.placed, r.started), (1, 0), "{r:?}");
    assert_eq!(state(&store, &a.id).await, JobState::Placed);

    clock.advance(2_000);
    let mut tx = store.begin().await.unwrap();
    tx.insert_jobs(std::slice::from_ref(&b)).await.unwrap();
    tx.commit().await.unwrap();
    let r = engine.round().await.unwrap();
    assert_eq!((r.placed, r.started, r.backend_errors), (1, 1, 0), "{r:?}");
    let a_now = store.job(&a.id).await.unwrap().unwrap();
    assert_eq!((a_now.state, a_now.started_ms), (JobState::Running, Some(NOW + 1_000)), "{a_now:?}");
    assert_eq!(state(&store, &b.id).await, JobState::Placed);

    clock.advance(2_000);
    let r = engine.round().await.unwrap();
    assert_eq!(r.started, 1, "{r:?}");
    let b_now = store.job(&b.id).await.unwrap().unwrap();
    // Handed over in the round that placed it (at NOW + 2 s), not in this one (NOW + 4 s).
    assert_eq!((b_now.state, b_now.started_ms), (JobState::Running, Some(NOW + 3_000)), "{b_now:?}");
}

/// A tenant's backlog on a model that is all busy does not stall its own later jobs behind the
/// head: the backlog's first jobs ride along in the head (`blocked`), the rest are passed over,
/// and the later jobs, which another model's free pool can run, count towards the head and run
/// in the next rounds while the backlog still waits.
#[tokio::test]
async fn a_backlog_on_a_busy_model_does_not_stall_the_tenants_other_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    let tenant = seed(&store).await;
    let a800 = seeded_centre_pool(4, "a800", 900, 6);
    let mut tx = store.begin().await.unwrap();
    tx.insert_pool(&a800).await.unwrap();
    tx.commit().await.unwrap();
    let clock = Arc::new(suanli_core::time::ManualClock::new(NOW));
    let engine = sim_engine(&store, clock.clone());
    engine.set_queue_head(QueueHead { floor: 2, per_free_accelerator: 1, cap: 2, blocked: 2 });
    // The h800 pool taken for a day, twenty more whole-pool h800 jobs behind it, then three jobs
    // of one accelerator of the a800's kind, all of one tenant.
    let backlog: Vec<Job> = (1..=21).map(|n| whole_pool(n, &tenant)).collect();
    let later: Vec<Job> = (30..33)
        .map(|n| {
            let mut spec = JobSpec::new(&format!("later-{n}"), JobKind::Batch, 1, 600);
            spec.models = vec!["a800".into()];
            Job::pending(JobId::generate(NOW + n as i64, n), tenant.clone(), spec, NOW)
        })
        .collect();
    let mut tx = store.begin().await.unwrap();
    tx.insert_jobs(&backlog).await.unwrap();
    tx.insert_jobs(&later).await.unwrap();
    tx.commit().await.unwrap();

    let first = engine.round().await.unwrap();
    assert_eq!(first.placed, 1, "the first h800 job takes its pool: {first:?}");
    for _ in 0..3 {
        clock.advance(1_000);
        engine.round().await.unwrap();
    }
    for j in &later {
        let state = state(&store, &j.id).await;
        assert!(matches!(state, JobState::Placed | JobState::Running | JobState::Succeeded), "{} {state:?}", j.spec.name);
    }
    assert_eq!(state(&store, &backlog[0].id).await, JobState::Running);
    for j in &backlog[1..] {
        assert_eq!(state(&store, &j.id).await, JobState::Pending, "the backlog waits for its model");
    }
}

/// A job that ran an hour on the seeded pool and ended at `at` (its usage metered, or not yet).
fn ended(n: u64, tenant: &TenantId, pool: &Pool, state: JobState, at: i64, metered: bool) -> Job {
    let mut j = whole_pool(n, tenant);
    j.state = state;
    (j.pool_id, j.centre_id, j.placed_ms, j.started_ms) = (Some(pool.id.clone()), Some(pool.centre_id.clone()), Some(NOW), Some(NOW));
    j.finished_ms = Some(at);
    if metered {
        j.usage_s = Some(3600);
        j.cost = Some(Fen::charge(pool.price_per_hour, 8, 3600, 0));
    }
    j
}

/// The billing sweep reads every ended job once, then only the jobs written since (another
/// writer's included): each is billed by the next sweep, a job cancelled while running with no
/// usage metered waits out the grace first, and a full read finds nothing left behind.
async fn sweeps_bill_what_changed(store: Store, other: Store) {
    use suanli_dispatch::billing::Billing;
    use suanli_store::LedgerService;
    let tenant = seed(&other).await;
    let pool = store.pools().await.unwrap().remove(0);
    let clock: Arc<dyn suanli_core::time::Clock> = Arc::new(suanli_core::time::ManualClock::new(NOW));
    let ledger = LedgerService::start(store.clone(), clock.clone(), std::time::Duration::from_secs(3600)).await.unwrap();
    let billing = Billing::new(store.clone(), ledger, Arc::new(Catalogue::builtin()), Ids::seeded(clock, 1));
    let insert = |jobs: Vec<Job>| {
        let other = other.clone();
        async move {
            let mut tx = other.begin().await.unwrap();
            tx.insert_jobs(&jobs).await.unwrap();
            tx.commit().await.unwrap();
        }
    };
    let billed = |id: JobId| {
        let store = store.clone();
        async move { store.bill_for_job(&id).await.unwrap().is_some() }
    };
    let later = NOW + 7_200_000;
    let (a, b) = (ended(11, &tenant, &pool, JobState::Succeeded, later, true), ended(12, &tenant, &pool, JobState::Failed, later, true));
    insert(vec![a.clone(), b.clone()]).await;
    assert_eq!(billing.sweep(later).await.unwrap(), 2, "the first sweep reads every ended job");
    assert!(billed(a.id.clone()).await && billed(b.id.clone()).await);
    assert_eq!(billing.sweep(later).await.unwrap(), 0, "nothing written since");

    // Another writer's job ends after the sweep's read: the next sweep bills it.
    let c = ended(13, &tenant, &pool, JobState::Succeeded, later, true);
    insert(vec![c.clone()]).await;
    assert_eq!(billing.sweep(later).await.unwrap(), 1);
    assert!(billed(c.id.clone()).await);

    // Cancelled while running, its usage not metered: billed once the grace is over, not before,
    // though nothing about it is written again.
    let d = ended(14, &tenant, &pool, JobState::Cancelled, later, false);
    insert(vec![d.clone()]).await;
    assert_eq!(billing.sweep(later + 1_000).await.unwrap(), 0, "within the grace");
    assert!(!billed(d.id.clone()).await);
    assert_eq!(billing.sweep(later + 30_000).await.unwrap(), 0, "still within the grace");
    assert_eq!(billing.sweep(later + 61_000).await.unwrap(), 1, "the grace is over");
    assert!(billed(d.id.clone()).await);
    assert_eq!(billing.sweep(later + 62_000).await.unwrap(), 0);
    // Every ended job has its bill: a full read (as on becoming leader) finds none left.
    let fresh = Billing::new(
        store.clone(),
        billing.ledger().clone(),
        Arc::new(Catalogue::builtin()),
        Ids::seeded(Arc::new(suanli_core::time::ManualClock::new(NOW)), 2),
    );
    assert_eq!(fresh.sweep(later + 63_000).await.unwrap(), 0);
}

#[tokio::test]
async fn billing_sweeps_bill_what_changed_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    let other = Store::open_dir(dir.path()).await.unwrap();
    sweeps_bill_what_changed(store, other).await;
}

#[tokio::test]
async fn billing_sweeps_bill_what_changed_postgres() {
    let (store, other, schema) = pg_pair("sweeps").await;
    sweeps_bill_what_changed(store.clone(), other.clone()).await;
    drop_pg_pair(store, other, &schema).await;
}
