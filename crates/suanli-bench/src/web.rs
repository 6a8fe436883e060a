//! `suanli bench web`: server-side render time of every web page with a big city in the store (by default 1,000 centres and 100,000 jobs), against the 100 ms budget.
//!
//! The demo city is seeded into a scratch embedded store, then grown to `centres` centres (two
//! pools each, a day of 15-minute energy readings each) and `jobs` jobs (mostly finished with a
//! cost, some running, some queued). The server answers on loopback in this process (no engine
//! rounds run, so the store holds still) and one client fetches each page `runs` times in turn,
//! signed in as the role that sees most there. A page's time is from request to the last byte,
//! so it includes loopback HTTP (well under a millisecond).
//!
//! Each page reports its cold request beside its median, p95 and maximum: the first request to
//! that page once the data is loaded and the server answers, with no warm-up request before it
//! (the sessions are opened in process, not by fetching a page). Pages are fetched in the order
//! listed, so only the first page's cold request is also the server's first (and opens the
//! client's connection); a later page's cold request follows the earlier pages' requests, which
//! may have warmed what they share with it. The cold request counts in the median, p95 and
//! maximum too.

use crate::progress::bar;
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use suanli_core::centre::{Centre, CentreKind, PartnerStatus, Pool};
use suanli_core::id::{CentreId, JobId, PoolId, ProviderId};
use suanli_core::job::{Job, JobKind, JobSpec, JobState};
use suanli_core::money::Fen;
use suanli_energy::{MeterId, Reading, ReadingValue};
use suanli_server::{AppState, ServeConfig};

/// What to run.
#[derive(Debug, Clone)]
pub struct WebBench {
    pub centres: usize,
    pub jobs: usize,
    pub runs: usize,
    /// Keep the store in this directory (made new) rather than in a scratch one.
    pub keep: Option<std::path::PathBuf>,
}

const BUDGET_MS: f64 = 100.0;
const QUARTER: i64 = 900_000;

/// One page's timings, in milliseconds, over its `runs` requests.
struct PageTime {
    name: String,
    path: String,
    role: String,
    /// The first request to the page.
    cold_ms: f64,
    median_ms: f64,
    p95_ms: f64,
    max_ms: f64,
    bytes: usize,
}

/// Runs the benchmark and prints the table (or JSON).
pub async fn web(b: WebBench, json_out: bool) -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let dir = match &b.keep {
        Some(d) if d.exists() => anyhow::bail!("{} exists: --keep wants a new directory", d.display()),
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.as_path()
        }
        None => scratch.path(),
    };
    let cfg = ServeConfig { demo: true, tick: Duration::from_secs(3600), time_scale: Some(600.0), seed: 3, ..ServeConfig::at(dir) };
    let state = suanli_server::build_state(&cfg).await?;
    let (_, tokens) = suanli_server::demo::seed(&state, dir, "http://127.0.0.1:0").await?;
    // One "now" for everything added, as the demo's clock runs fast.
    let now = state.ids.now_ms();
    // The centres added are the signed-in provider's, so that its page shows a big provider's
    // (the demo has several providers, and which one sorts first varies from run to run).
    let provider_token = tokens.iter().find(|(r, _)| r == "provider").map(|(_, t)| t.as_str()).unwrap_or_default();
    let provider = suanli_server::auth::principal(&state, provider_token)
        .await?
        .and_then(|p| p.provider_id)
        .ok_or_else(|| anyhow::anyhow!("the demo's provider token names no provider"))?;
    let pools = add_centres(&state, &provider, b.centres, now, json_out).await?;
    add_jobs(&state, b.jobs, &pools, now, json_out).await?;
    bill_jobs(&state, now, json_out).await?;
    let centres = state.store.centres(None).await?;
    add_readings(&state, &centres, now, json_out).await?;
    // The ledger page shows the latest check, as the server's hourly one would have left it: run
    // one and report what it took (the work a page view no longer does).
    let check = state.money.check_ledger_on_schedule(now).await?;
    // Likewise the centres' loads, which `serve` computes at start and every minute.
    state.energy.refresh_loads(&state.regions, state.ids.now_ms()).await;

    // Serve and measure.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(suanli_server::serve_api(listener, state.clone(), async {
        let _ = stop_rx.await;
    }));
    let sessions = sessions(&state, &tokens).await?;
    let a_centre = centres.last().map(|c| c.id.to_string()).unwrap_or_default();
    let pages = pages(&state, &a_centre).await?;
    let results = measure(&url, &pages, &sessions, b.runs, json_out).await?;
    let _ = stop_tx.send(());
    let _ = server.await;
    let job_count = state.store.jobs_count().await?;
    if json_out {
        let pages: Vec<_> = results
            .iter()
            .map(|t| {
                json!({"page": t.name, "path": t.path, "role": t.role, "cold_ms": t.cold_ms, "median_ms": t.median_ms, "p95_ms": t.p95_ms,
                    "max_ms": t.max_ms, "bytes": t.bytes, "within_budget": t.median_ms < BUDGET_MS})
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({"centres": centres.len(), "jobs": job_count, "runs": b.runs, "budget_ms": BUDGET_MS, "pages": pages,
                    "ledger_check": {"transfers": check.check.transfers, "bills": check.reconciliation.bills, "ok": check.check.ok,
                        "mismatches": check.mismatches_total, "elapsed_ms": check.elapsed_ms}})
            )?
        );
        return Ok(());
    }
    println!(
        "{} centres, {} jobs in the store; {} requests a page, one at a time; cold is each page's first request",
        centres.len(),
        job_count,
        b.runs
    );
    print_table(&results);
    println!(
        "the ledger check behind /ledger (hourly and on demand, not per view): {} transfers replayed, {} bills reconciled, {} ms{}",
        check.check.transfers,
        check.reconciliation.bills,
        check.elapsed_ms,
        if check.check.ok && check.mismatches_total == 0 { "" } else { " (it found problems)" }
    );
    for problem in check.check.violations.iter().chain(check.reconciliation.mismatches.iter().map(|m| &m.problem)).take(3) {
        println!("  {problem}");
    }
    Ok(())
}

/// Grows the demo city to `centres` centres of two pools each; every pool, with its centre.
async fn add_centres(state: &AppState, provider: &ProviderId, centres: usize, now: i64, json_out: bool) -> anyhow::Result<Vec<Pool>> {
    let existing = state.store.centres(None).await?.len();
    let add = centres.saturating_sub(existing);
    let pb = bar(json_out, add as u64, "centres and pools", 28, "centres");
    let regions = ["hz-xihu", "hz-binjiang", "hz-yuhang", "hz-xiaoshan", "ningbo", "shanghai", "suzhou", "nanjing"];
    let models = ["ascend-910b2", "h800", "a800", "mlu370-x8"];
    let mut pools = state.store.pools().await?;
    for chunk in (0..add).collect::<Vec<_>>().chunks(200) {
        let mut tx = state.store.begin().await?;
        for &i in chunk {
            let (t, e) = state.ids.parts();
            let c = Centre {
                id: CentreId::generate(t, e),
                provider_id: provider.clone(),
                name: format!("基准中心 {i}"),
                name_en: format!("Bench centre {i}"),
                kind: if i % 5 == 0 { CentreKind::Edge } else { CentreKind::IntelligentComputing },
                region: regions[i % regions.len()].to_string(),
                partner_status: PartnerStatus::Partner,
                commissioned_ms: now - (i as i64 % 3000) * 86_400_000,
                declared_pue: 1.2 + (i % 5) as f64 * 0.05,
                racks: 100 + (i as u32 % 400),
                rtt_ms: Default::default(),
                created_ms: now,
            };
            tx.insert_centre(&c, "system:bench").await?;
            for k in 0..2 {
                let (t, e) = state.ids.parts();
                let p = Pool {
                    id: PoolId::generate(t, e),
                    centre_id: c.id.clone(),
                    accelerator: models[(i + k) % models.len()].to_string(),
                    nodes: 4 + (i as u32 % 16),
                    accelerators_per_node: 8,
                    price_per_hour: Fen(800 + (i as i64 % 20) * 50),
                    partner_discount_pct: 10,
                    created_ms: now,
                };
                tx.insert_pool(&p).await?;
                pools.push(p);
            }
        }
        tx.commit().await?;
        pb.inc(chunk.len() as u64);
    }
    pb.finish();
    Ok(pools)
}

/// Adds `n` jobs of the demo's tenants: 90% finished with a cost, 5% running, 5% queued.
async fn add_jobs(state: &AppState, n: usize, pools: &[Pool], now: i64, json_out: bool) -> anyhow::Result<()> {
    let tenants: Vec<_> = state.store.tenants().await?.into_iter().map(|t| t.id).collect();
    let pb = bar(json_out, n as u64, "jobs", 28, "jobs");
    for chunk in (0..n).collect::<Vec<_>>().chunks(2000) {
        let mut tx = state.store.begin().await?;
        for &i in chunk {
            let (t, e) = state.ids.parts();
            let mut spec = JobSpec::new(&format!("bench-{i}"), JobKind::Training, 1 << (i % 4), 3600);
            spec.min_fp16_tflops = None;
            let mut j = Job::pending(JobId::generate(t, e), tenants[i % tenants.len()].clone(), spec, now - 86_400_000 + i as i64 * 500);
            match i % 20 {
                0 => {}
                1 => {
                    let p = &pools[i % pools.len()];
                    j.state = JobState::Running;
                    (j.pool_id, j.centre_id, j.placed_ms) = (Some(p.id.clone()), Some(p.centre_id.clone()), Some(j.submitted_ms));
                    j.started_ms = Some(j.submitted_ms + (i as i64 % 120) * 1000);
                }
                _ => {
                    let p = &pools[i % pools.len()];
                    j.state = JobState::Succeeded;
                    (j.pool_id, j.centre_id, j.placed_ms) = (Some(p.id.clone()), Some(p.centre_id.clone()), Some(j.submitted_ms));
                    // Started a while after its placement (the partner scores' start latency).
                    j.started_ms = Some(j.submitted_ms + (i as i64 % 120) * 1000);
                    j.finished_ms = j.started_ms.map(|s| s + 3_600_000);
                    j.usage_s = Some(3600);
                    // What the engine charges for the hour on this pool, so that the bills reconcile.
                    j.cost = Some(Fen::charge(p.price_per_hour, j.spec.accelerators, 3600, p.partner_discount_pct));
                }
            }
            tx.insert_job(&j).await?;
        }
        tx.commit().await?;
        pb.inc(chunk.len() as u64);
    }
    pb.finish();
    Ok(())
}

/// Bills every finished job as the engine's billing sweep does (a bill, its voucher and cash
/// parts and their ledger transfers), so that the jobs table's bill column and its sort by amount
/// read real bills.
async fn bill_jobs(state: &AppState, now: i64, json_out: bool) -> anyhow::Result<()> {
    let billing = state.engine.billing().ok_or_else(|| anyhow::anyhow!("the engine has no billing"))?;
    let ended = suanli_store::JobFilter { states: vec![JobState::Succeeded, JobState::Failed, JobState::Cancelled], ..Default::default() };
    let listing = suanli_store::listing::JobListing {
        filter: ended,
        cut: suanli_store::listing::Cut { limit: 1, ..Default::default() },
        ..Default::default()
    };
    let due = state.store.job_listing(&listing).await?.total;
    let pb = bar(json_out, due, "bills", 28, "bills");
    loop {
        let n = billing.sweep(now).await.map_err(|e| anyhow::anyhow!("billing: {e}"))?;
        if n == 0 {
            break;
        }
        pb.inc(n as u64);
    }
    pb.finish();
    Ok(())
}

/// A day of 15-minute energy readings per centre.
async fn add_readings(state: &AppState, centres: &[Centre], now: i64, json_out: bool) -> anyhow::Result<()> {
    let pb = bar(json_out, centres.len() as u64, "energy readings (1 day each)", 28, "centres");
    let (f, it) = (MeterId::parse("facility")?, MeterId::parse("it")?);
    let start = now / QUARTER * QUARTER - 96 * QUARTER;
    for group in centres.chunks(100) {
        let mut batches = std::collections::BTreeMap::new();
        for (n, c) in group.iter().enumerate() {
            let pue = 1.15 + (n % 8) as f64 * 0.05;
            let readings: Vec<Reading> = (0..=96)
                .flat_map(|k| {
                    let ts = start + k * QUARTER;
                    [
                        Reading::new(&f, ts, ReadingValue::CumulativeKwh(50.0 * pue * k as f64)),
                        Reading::new(&it, ts, ReadingValue::CumulativeKwh(50.0 * k as f64)),
                    ]
                })
                .collect();
            batches.insert(c.id.clone(), readings);
        }
        state.energy.ingest_as(None, batches, now).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
        pb.inc(group.len() as u64);
    }
    pb.finish();
    Ok(())
}

/// One web session per role, opened as sign-in opens them: the role's cookie.
async fn sessions(state: &AppState, tokens: &[(String, String)]) -> anyhow::Result<HashMap<&'static str, String>> {
    let token = |role: &str| tokens.iter().find(|(r, _)| r == role).map(|(_, t)| t.clone()).unwrap_or_default();
    let mut sessions = HashMap::new();
    for role in ["operator", "tenant", "regulator", "provider"] {
        let who = suanli_server::auth::principal(state, &token(role)).await?.ok_or_else(|| anyhow::anyhow!("no {role} token"))?;
        let set = suanli_server::web::session::open(state, &who, &no_headers()).await?;
        sessions.insert(role, set.split(';').next().unwrap_or_default().to_string());
    }
    Ok(sessions)
}

/// The pages timed: (name, path, the role that sees most there).
async fn pages(state: &AppState, a_centre: &str) -> anyhow::Result<Vec<(String, String, &'static str)>> {
    let a_job = state.store.jobs(&suanli_store::JobFilter { limit: 1, ..Default::default() }).await?.into_iter().next();
    let mut pages: Vec<(String, String, &str)> = vec![
        ("overview".into(), "/".into(), "operator"),
        ("centres".into(), "/centres".into(), "operator"),
        ("centre".into(), format!("/centres/{a_centre}"), "operator"),
        ("jobs (operator)".into(), "/jobs".into(), "operator"),
        ("jobs (tenant)".into(), "/jobs".into(), "tenant"),
        // The served table's other orders and its search (columns: id, name, state, centre, bill).
        ("jobs by name (operator)".into(), "/jobs?jobs.sort=1".into(), "operator"),
        ("jobs by name (tenant)".into(), "/jobs?jobs.sort=1&jobs.dir=desc".into(), "tenant"),
        ("jobs by bill (operator)".into(), "/jobs?jobs.sort=4&jobs.dir=desc".into(), "operator"),
        ("jobs by bill (tenant)".into(), "/jobs?jobs.sort=4".into(), "tenant"),
        ("jobs by centre (tenant)".into(), "/jobs?jobs.sort=3".into(), "tenant"),
        ("jobs named (tenant)".into(), "/jobs?jobs.q=bench-4242".into(), "tenant"),
        ("jobs, last page (tenant)".into(), "/jobs?jobs.sort=1&jobs.page=1000".into(), "tenant"),
        ("vouchers (operator)".into(), "/vouchers".into(), "operator"),
        ("vouchers (tenant)".into(), "/vouchers".into(), "tenant"),
        ("energy".into(), "/energy".into(), "regulator"),
    ];
    if let Some(j) = &a_job {
        pages.push(("job".into(), format!("/jobs/{}", j.id), "operator"));
    }
    let a_bill = state.store.bill_listing(&suanli_store::listing::BillListing::default()).await?.rows.into_iter().next();
    if let Some(b) = &a_bill {
        pages.push(("bill".into(), format!("/bills/{}", b.id), "operator"));
    }
    pages.extend([
        ("wall display".into(), "/wall".into(), "operator"),
        ("my centres (provider)".into(), "/my-centres".into(), "provider"),
        ("registry".into(), "/registry".into(), "operator"),
        ("models (tenant)".into(), "/models".into(), "tenant"),
        ("partners".into(), "/partners".into(), "operator"),
        ("ledger".into(), "/ledger".into(), "operator"),
        ("data (tenant)".into(), "/data".into(), "tenant"),
        ("incentives (operator)".into(), "/incentives".into(), "operator"),
        ("incentives (tenant)".into(), "/incentives".into(), "tenant"),
        ("audit".into(), "/audit".into(), "operator"),
        ("API docs".into(), "/api".into(), "tenant"),
    ]);
    let an_application = state.store.incentive_applications(None).await?.into_iter().next();
    if let Some(a) = &an_application {
        pages.push(("incentive application".into(), format!("/incentives/applications/{}", a.id), "operator"));
    }
    Ok(pages)
}

/// Fetches each page `runs` times in turn, signed in as its role; the first of them is the page's
/// cold request, so nothing may fetch a page before this.
async fn measure(
    url: &str,
    pages: &[(String, String, &str)],
    sessions: &HashMap<&str, String>,
    runs: usize,
    json_out: bool,
) -> anyhow::Result<Vec<PageTime>> {
    let http = reqwest::Client::new();
    let cookie = |role: &str| sessions.get(role).cloned().unwrap_or_default();
    let pb = bar(json_out, (pages.len() * runs) as u64, "rendering pages", 28, "requests");
    let mut results = Vec::new();
    for (name, path, role) in pages {
        let mut ms = Vec::with_capacity(runs);
        let mut bytes = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let r = http.get(format!("{url}{path}")).header("cookie", cookie(role)).send().await?;
            anyhow::ensure!(r.status().is_success(), "{path} as {role}: {}", r.status());
            bytes = r.bytes().await?.len();
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
            pb.inc(1);
        }
        let cold_ms = ms[0];
        ms.sort_by(f64::total_cmp);
        results.push(PageTime {
            name: name.clone(),
            path: path.clone(),
            role: role.to_string(),
            cold_ms,
            median_ms: ms[ms.len() / 2],
            p95_ms: ms[((ms.len() as f64 * 0.95).ceil() as usize).clamp(1, ms.len()) - 1],
            max_ms: ms[ms.len() - 1],
            bytes,
        });
    }
    pb.finish_and_clear();
    Ok(results)
}

fn print_table(results: &[PageTime]) {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED).set_header(vec![
        "page",
        "as",
        "cold ms",
        "median ms",
        "p95 ms",
        "max ms",
        "KiB",
        "median under 100 ms",
    ]);
    for p in results {
        t.add_row(vec![
            p.name.clone(),
            p.role.clone(),
            format!("{:.1}", p.cold_ms),
            format!("{:.1}", p.median_ms),
            format!("{:.1}", p.p95_ms),
            format!("{:.1}", p.max_ms),
            format!("{:.0}", p.bytes as f64 / 1024.0),
            if p.median_ms < BUDGET_MS { "yes".into() } else { "NO".into() },
        ]);
    }
    println!("{t}");
}

/// Request headers as a plain HTTP client sends them (no TLS gateway in front).
fn no_headers() -> reqwest::header::HeaderMap {
    reqwest::header::HeaderMap::new()
}
