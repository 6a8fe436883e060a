//! `suanli bench rounds`: the live engine's rounds over a large store (100,000 pending jobs on 10,000 pools by default), seeded through the store API on SQLite and on PostgreSQL, with each round's read, decide, write, dispatch and bill phases timed.
//!
//! The first round reads the whole store, decides over the head of the queue and writes as many
//! of its placements as its write budget allows; the rounds right after it write the rest and
//! take the jobs behind the head (reported as the backlog: how many rounds, how long each, when
//! the last placement was written). `--whole-queue` measures rounds that decide over every
//! waiting job and ask about every running one, as before, for a baseline in the same build. The later rounds see a few new
//! jobs arrive between them (written by another writer, as an API replica would) and must read
//! only what changed. The jobs run on the simulated backend; billing is left out (holds go
//! through the ledger's writer, measured by `suanli bench ledger`).

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use suanli_core::catalogue::Catalogue;
use suanli_core::centre::Provider;
use suanli_core::id::TenantId;
use suanli_core::job::Job;
use suanli_core::region::Regions;
use suanli_core::tenant::Tenant;
use suanli_dispatch::engine::{Engine, QueueHead, RoundPhases, SchedContext};
use suanli_dispatch::ids::Ids;
use suanli_dispatch::sim::{SimBackend, SimConfig};
use suanli_sim::city::SimCity;
use suanli_store::{Store, StoreOptions};

/// What to run.
#[derive(Debug, Clone)]
pub struct RoundsBench {
    pub jobs: usize,
    pub pools: usize,
    pub centres: usize,
    /// Timed rounds after the first.
    pub rounds: usize,
    /// New pending jobs written between two rounds.
    pub arrivals: usize,
    /// `sqlite`, `postgres` or both, in order.
    pub stores: Vec<String>,
    pub database_url: String,
    /// Every round decides over every waiting job and asks about every running one (the
    /// behaviour before the queue head and the running jobs' turns), for a baseline.
    pub whole_queue: bool,
}

const TENANTS: u64 = 200;
/// Rounds after the first that may write what it left before the benchmark moves on.
const MAX_BACKLOG_ROUNDS: usize = 1000;

/// `suanli bench rounds`.
pub async fn rounds(b: RoundsBench, json_out: bool) -> anyhow::Result<()> {
    let mut out = json!({"benchmark": "rounds", "jobs": b.jobs, "pools": b.pools, "centres": b.centres, "arrivals_per_round": b.arrivals, "whole_queue": b.whole_queue});
    for store in &b.stores {
        let figures = match store.as_str() {
            "sqlite" => {
                let dir = tempfile::tempdir()?;
                let s = Store::open_dir(dir.path()).await?;
                one_store(&b, s).await?
            }
            "postgres" => {
                let schema = format!("bench_rounds_{}", std::process::id());
                let s =
                    Store::connect(&b.database_url, StoreOptions { pg_schema: Some(schema.clone()), max_connections: Some(16) }).await?;
                let figures = one_store(&b, s.clone()).await;
                s.close().await;
                Store::drop_schema(&b.database_url, &schema).await?;
                figures?
            }
            other => anyhow::bail!("unknown store '{other}' (sqlite or postgres)"),
        };
        if !json_out {
            print_store(&format!("{store}{}", if b.whole_queue { " (whole queue every round)" } else { "" }), &figures);
        }
        out[store.as_str()] = figures;
    }
    if json_out {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}

fn print_store(name: &str, v: &Value) {
    let f = &v["first_round"];
    let m = &v["later_rounds_median"];
    println!("{name}: seeded {} jobs, {} pools in {} s", v["seeded_jobs"], v["pools"], v["seed_s"]);
    println!(
        "  first round: {} ms (read {} / decide {} / write {} / dispatch {} ms), {} placed, {} left to the next rounds, {} waiting, {} behind the head",
        f["total_ms"], f["read_ms"], f["decide_ms"], f["write_ms"], f["dispatch_ms"], f["placed"], f["deferred"], f["waiting"], f["behind"]
    );
    let bl = &v["backlog"];
    println!(
        "  then {} rounds placed {} more ({} left), median {} ms, max {} ms; all placed {} s after the first round began",
        bl["rounds"], bl["placed"], bl["left"], bl["median_ms"], bl["max_ms"], bl["all_placed_s"]
    );
    println!(
        "  later rounds ({} with {} arrivals each), median: {} ms (read {} / decide {} / write {} / dispatch {} ms), max {} ms",
        v["later_rounds"],
        v["arrivals_per_round"],
        m["total_ms"],
        m["read_ms"],
        m["decide_ms"],
        m["write_ms"],
        m["dispatch_ms"],
        v["later_rounds_max_ms"]
    );
}

/// Seeds the store, then times a first round and `rounds` more with arrivals between them.
async fn one_store(b: &RoundsBench, store: Store) -> anyhow::Result<Value> {
    let (catalogue, regions) = (Arc::new(Catalogue::builtin()), Arc::new(Regions::builtin()));
    let centres = b.centres.clamp(1, b.pools.max(1));
    let city = SimCity::synthetic(centres, (b.pools / centres).max(1), 7, &catalogue, &regions);
    let districts: Vec<&str> =
        regions.all().iter().filter(|r| r.kind == suanli_core::region::RegionKind::District).map(|r| r.id.as_str()).collect();
    let t = Instant::now();
    seed_city(&store, &city).await?;
    let jobs = crate::scheduler::pending_jobs(b.jobs + b.arrivals * b.rounds, TENANTS, 7, &districts);
    let (initial, arriving) = jobs.split_at(b.jobs);
    insert(&store, initial).await?;
    let seed_s = t.elapsed().as_secs_f64();
    let clock: Arc<dyn suanli_core::time::Clock> = Arc::new(suanli_server::SystemClock::default());
    // Jobs start at once and run for their whole simulated duration (an hour-long job an hour),
    // so the pools stay full and the later rounds find most jobs waiting.
    let sim = Arc::new(SimBackend::new(SimConfig { time_scale: 1.0, start_delay_ms: 0, failure_rate: 0.0, seed: 7 }));
    let engine =
        Engine::new(store.clone(), catalogue.clone(), regions, Ids::new(clock), Some(sim), Arc::new(SchedContext::new(&catalogue)));
    if b.whole_queue {
        engine.set_queue_head(QueueHead::WHOLE_QUEUE);
        engine.set_running_per_round(usize::MAX);
    }
    let t = Instant::now();
    let (first, first_phases) = engine.round_timed().await?;
    let first_total = t.elapsed();
    // The rounds that write what the first round's write budget left, back to back as the
    // engine runs them (it wakes itself while placements wait to be written).
    // A round whose head placed jobs while more wait behind it also wakes the next one.
    let mut backlog: Vec<Duration> = Vec::new();
    let (mut deferred, mut backlog_placed, mut more) = (first.deferred, 0u32, first.behind > 0 && first.placed > 0);
    while (deferred > 0 || more) && backlog.len() < MAX_BACKLOG_ROUNDS {
        let t = Instant::now();
        let (r, _) = engine.round_timed().await?;
        backlog.push(t.elapsed());
        (deferred, backlog_placed, more) = (r.deferred, backlog_placed + r.placed, r.behind > 0 && r.placed > 0);
    }
    let drained_s = first_total.as_secs_f64() + backlog.iter().map(Duration::as_secs_f64).sum::<f64>();
    let mut later: Vec<(Duration, RoundPhases)> = Vec::new();
    for chunk in arriving.chunks(b.arrivals.max(1)).take(b.rounds) {
        insert(&store, chunk).await?;
        let t = Instant::now();
        let (_, phases) = engine.round_timed().await?;
        later.push((t.elapsed(), phases));
    }
    let med = |f: &dyn Fn(&(Duration, RoundPhases)) -> Duration| {
        let mut v: Vec<Duration> = later.iter().map(f).collect();
        v.sort();
        v.get(v.len() / 2).map_or(f64::NAN, |d| ms(*d))
    };
    let mut first_v = phases_json(first_total, &first_phases);
    first_v["placed"] = json!(first.placed);
    first_v["waiting"] = json!(first.waiting);
    first_v["deferred"] = json!(first.deferred);
    first_v["behind"] = json!(first.behind);
    backlog.sort();
    Ok(json!({
        "seeded_jobs": b.jobs, "pools": city.pools.len(), "centres": city.centres.len(), "seed_s": round1(seed_s),
        "arrivals_per_round": b.arrivals, "later_rounds": later.len(),
        "first_round": first_v,
        "backlog": {
            "rounds": backlog.len(), "placed": backlog_placed, "left": deferred, "all_placed_s": round1(drained_s),
            "median_ms": backlog.get(backlog.len() / 2).map_or(f64::NAN, |d| ms(*d)),
            "max_ms": backlog.last().map_or(f64::NAN, |d| ms(*d)),
        },
        "later_rounds_median": {
            "total_ms": med(&|x| x.0), "read_ms": med(&|x| x.1.read), "decide_ms": med(&|x| x.1.decide),
            "write_ms": med(&|x| x.1.write), "dispatch_ms": med(&|x| x.1.dispatch), "bill_ms": med(&|x| x.1.bill),
        },
        "later_rounds_max_ms": later.iter().map(|x| x.0).max().map_or(f64::NAN, ms),
    }))
}

fn phases_json(total: Duration, p: &RoundPhases) -> Value {
    json!({"total_ms": ms(total), "read_ms": ms(p.read), "decide_ms": ms(p.decide), "write_ms": ms(p.write), "dispatch_ms": ms(p.dispatch), "bill_ms": ms(p.bill)})
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The synthetic city's providers, centres and pools, and the tenants the jobs name.
async fn seed_city(store: &Store, city: &SimCity) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    let mut providers: Vec<_> = city.centres.iter().map(|c| c.provider_id.clone()).collect();
    providers.sort();
    providers.dedup();
    for (i, id) in providers.into_iter().enumerate() {
        let p = Provider { id, name: format!("算力商 {i}"), name_en: format!("Provider {i}"), registration: None };
        tx.insert_provider(&p, 0).await?;
    }
    for c in &city.centres {
        tx.insert_centre(c, "system:bench").await?;
    }
    for p in &city.pools {
        tx.insert_pool(p).await?;
    }
    for k in 0..TENANTS {
        let first17 = format!("91330100MA2Q{k:04}X");
        let check = suanli_core::ident::uscc_check_char(&first17).ok_or_else(|| anyhow::anyhow!("credit code {first17}"))?;
        tx.insert_tenant(&Tenant {
            id: TenantId::generate(0, k),
            name: format!("租户 {k}"),
            name_en: format!("Tenant {k}"),
            uscc: suanli_core::ident::Uscc::parse(&format!("{first17}{check}"))?,
            sme: k % 2 == 0,
            region: "hz-xihu".into(),
            created_ms: 0,
        })
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// New pending jobs, 5,000 a transaction.
async fn insert(store: &Store, jobs: &[Job]) -> anyhow::Result<()> {
    for chunk in jobs.chunks(5000) {
        let mut tx = store.begin().await?;
        tx.insert_jobs(chunk).await?;
        tx.commit().await?;
    }
    Ok(())
}
