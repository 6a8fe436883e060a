//! `suanli bench ledger`: durable transfers per second on the embedded store and on PostgreSQL, in batches and as concurrent API requests, against a naive SQL ledger run in the same command.

use crate::progress::{bar, spinner};
use crate::stats::median;
use anyhow::Context;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use suanli_core::money::Fen;
use suanli_ledger::{Account, AccountId, AccountKind, ReasonCode, Transfer, TransferId};
use suanli_server::{AppState, ServeConfig};
use suanli_store::{LedgerRequest, LedgerService, Store, StoreOptions, StoredAccount};

/// What to run.
#[derive(Debug, Clone)]
pub struct LedgerBench {
    pub batch_size: usize,
    pub batches: usize,
    pub accounts: usize,
    /// Concurrent clients of the API and of the naive ledger.
    pub concurrency: usize,
    /// How long each concurrent phase runs.
    pub seconds: f64,
    /// PostgreSQL to measure as well; `None` skips it.
    pub pg_url: Option<String>,
}

/// SplitMix64: the benchmark's seeded randomness.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn account(i: usize) -> AccountId {
    AccountId::derive(AccountKind::EnterpriseCash, &format!("bench-{i}"))
}

/// Runs every phase on one store and returns its figures.
async fn run_on(label: &str, store: Store, b: &LedgerBench, json_out: bool) -> anyhow::Result<Value> {
    let cfg = ServeConfig { tick: Duration::from_secs(3600), seed: 1, ..ServeConfig::at(std::env::temp_dir()) };
    let state = suanli_server::state_for_store(&cfg, store.clone()).await?;
    fund_accounts(&state.ledger, b.accounts).await?;
    let (batch_median, batch_overall) = batches(&state.ledger, label, b, json_out).await?;
    let (api_rate, api_p50, api_p99, commits) = api_requests(&state, &store, label, b, json_out).await?;
    let (naive_rate, naive_p50, naive_p99) = naive_requests(&store, label, b, json_out).await?;
    let verify = suanli_server::api::ledger::verify_store(&store).await?;
    anyhow::ensure!(verify.ok, "the ledger failed verification after the benchmark: {:?}", verify.violations);
    Ok(json!({
        "store": label,
        "batch_size": b.batch_size,
        "batches": b.batches,
        "batch_transfers_per_s_median": batch_median.round(),
        "batch_transfers_per_s_overall": batch_overall.round(),
        "api_concurrency": b.concurrency,
        "api_transfers_per_s": api_rate.round(),
        "api_p50_ms": api_p50,
        "api_p99_ms": api_p99,
        "api_requests_per_commit": if commits > 0 { ((api_rate * b.seconds) / commits as f64 * 10.0).round() / 10.0 } else { 0.0 },
        "naive_transfers_per_s": naive_rate.round(),
        "naive_p50_ms": naive_p50,
        "naive_p99_ms": naive_p99,
        "batch_vs_naive": (batch_median / naive_rate.max(1e-9) * 10.0).round() / 10.0,
        "api_vs_naive": (api_rate / naive_rate.max(1e-9) * 10.0).round() / 10.0,
        "verified_transfers": verify.transfers,
    }))
}

/// The bank and `n` accounts, each funded with far more than the benchmark moves.
async fn fund_accounts(ledger: &LedgerService, n: usize) -> anyhow::Result<()> {
    let bank = suanli_ledger::chart::enterprise_banks();
    let mut accounts = vec![StoredAccount { account: bank.account(), owner: bank.owner.clone(), created_ms: 0 }];
    accounts.extend((0..n).map(|i| StoredAccount {
        account: Account::cny(account(i), AccountKind::EnterpriseCash),
        owner: format!("bench-{i}"),
        created_ms: 0,
    }));
    let funding: Vec<Transfer> = (0..n)
        .map(|i| {
            Transfer::single(
                TransferId(0xfeed_0000 + i as u128),
                bank.id,
                account(i),
                Fen(1_000_000_000_000),
                ReasonCode::CashTopUp,
                "bench",
                1,
            )
        })
        .collect();
    ledger.submit_all(LedgerRequest { accounts, transfers: funding, ..LedgerRequest::default() }).await?;
    Ok(())
}

/// Phase 1: batches of random transfers through the ledger writer, each durable before the
/// next is sent; (median, overall) transfers per second.
async fn batches(ledger: &LedgerService, label: &str, b: &LedgerBench, json_out: bool) -> anyhow::Result<(f64, f64)> {
    let mut rng = Mix(0x5ca1_ab1e);
    let mut next_id: u128 = 1 << 64;
    let mut transfer = |rng: &mut Mix| {
        let d = rng.below(b.accounts);
        let c = (d + 1 + rng.below(b.accounts - 1)) % b.accounts;
        next_id += 1;
        Transfer::single(TransferId(next_id), account(d), account(c), Fen(1 + rng.below(10_000) as i64), ReasonCode::JobCharge, "bench", 2)
    };
    let pb = bar(json_out, b.batches as u64, format!("{label}: batches of {}", b.batch_size), 0, "batches");
    let mut rates = Vec::new();
    let started = Instant::now();
    for _ in 0..b.batches {
        let batch: Vec<Transfer> = (0..b.batch_size).map(|_| transfer(&mut rng)).collect();
        let t = Instant::now();
        let answer = ledger.submit(LedgerRequest { transfers: batch, ..LedgerRequest::default() }).await?;
        anyhow::ensure!(answer.results.iter().all(|r| r.is_ok()), "a benchmark transfer was refused");
        rates.push(b.batch_size as f64 / t.elapsed().as_secs_f64());
        pb.inc(1);
    }
    pb.finish_and_clear();
    let overall = (b.batches * b.batch_size) as f64 / started.elapsed().as_secs_f64();
    Ok((median(rates), overall))
}

/// Phase 2: concurrent single-transfer requests through the HTTP API, signed in as a new
/// operator; (transfers per second, p50 ms, p99 ms, ledger commits).
async fn api_requests(
    state: &AppState,
    store: &Store,
    label: &str,
    b: &LedgerBench,
    json_out: bool,
) -> anyhow::Result<(f64, f64, f64, u64)> {
    let (t, e) = state.ids.parts();
    let token = suanli_server::auth::new_token(&state.ids);
    let mut tx = store.begin().await?;
    tx.insert_user(&suanli_store::NewUser {
        id: suanli_core::id::UserId::generate(t, e),
        name: "bench".into(),
        role: suanli_core::tenant::Role::Operator,
        tenant_id: None,
        provider_id: None,
        token_sha256_hex: suanli_server::auth::token_hash(&token),
        created_ms: t,
    })
    .await?;
    tx.commit().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/api/v1/ledger/transfers", listener.local_addr()?);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(suanli_server::serve_api(listener, state.clone(), async {
        let _ = stop_rx.await;
    }));
    let pb = spinner(json_out, format!("{label}: {} concurrent API clients for {:.0} s", b.concurrency, b.seconds));
    let commits_before = state.ledger.stats().commits.load(Ordering::Relaxed);
    let (http, accounts) = (reqwest::Client::new(), b.accounts);
    let (rate, p50, p99) = concurrent(b, move |i, n| {
        let (http, url, token) = (http.clone(), url.clone(), token.clone());
        async move {
            let d = (i * 7919 + n as usize) % accounts;
            let c = (d + 1 + (n as usize % (accounts - 1))) % accounts;
            let body = json!({"transfers": [{"id": format!("a{i:05x}{n:010x}"), "debit_account": account(d).to_hex(), "credit_account": account(c).to_hex(), "amount": "0.01", "reason": "job_charge"}]});
            let r = http.post(&url).bearer_auth(&token).json(&body).send().await.context("API request")?;
            anyhow::ensure!(r.status() == reqwest::StatusCode::CREATED, "API answered {}", r.status());
            Ok(())
        }
    })
    .await?;
    let commits = state.ledger.stats().commits.load(Ordering::Relaxed) - commits_before;
    pb.finish_and_clear();
    let _ = stop_tx.send(());
    let _ = server.await;
    Ok((rate, p50, p99, commits))
}

/// Phase 3: the naive SQL ledger (one transaction and row lock per transfer) from the same
/// clients; (transfers per second, p50 ms, p99 ms).
async fn naive_requests(store: &Store, label: &str, b: &LedgerBench, json_out: bool) -> anyhow::Result<(f64, f64, f64)> {
    let pb = spinner(json_out, format!("{label}: naive SQL ledger, {} concurrent clients", b.concurrency));
    crate::naive::setup(store, b.accounts, 1_000_000_000_000).await?;
    let (naive_store, accounts) = (store.clone(), b.accounts);
    let figures = concurrent(b, move |i, n| {
        let store = naive_store.clone();
        async move {
            let d = (i * 7919 + n as usize) % accounts;
            let c = (d + 1 + (n as usize % (accounts - 1))) % accounts;
            anyhow::ensure!(
                crate::naive::transfer(&store, &format!("n{i:05x}{n:010x}"), d as i64, c as i64, 1).await?,
                "naive transfer refused"
            );
            Ok(())
        }
    })
    .await?;
    pb.finish_and_clear();
    Ok(figures)
}

/// Runs `op(client, n)` from `b.concurrency` clients, each one operation after another, for
/// `b.seconds`; returns (operations per second, p50 ms, p99 ms).
async fn concurrent<F, Fut>(b: &LedgerBench, op: F) -> anyhow::Result<(f64, f64, f64)>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let op = Arc::new(op);
    let concurrency = b.concurrency;
    let seconds = b.seconds;
    // The clients get their own runtime and threads, as a separate load generator would, so
    // their tasks do not queue in front of the server's.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                let _ = tx.send(Err(anyhow::anyhow!("client runtime: {e}")));
                return;
            }
        };
        let result = rt.block_on(async move {
            let deadline = Instant::now() + Duration::from_secs_f64(seconds);
            let started = Instant::now();
            let handles: Vec<_> = (0..concurrency)
                .map(|i| {
                    let op = op.clone();
                    tokio::spawn(async move {
                        let mut lat = Vec::new();
                        let mut n = 0u64;
                        while Instant::now() < deadline {
                            let t = Instant::now();
                            op(i, n).await?;
                            lat.push(t.elapsed().as_secs_f64() * 1000.0);
                            n += 1;
                        }
                        anyhow::Ok(lat)
                    })
                })
                .collect();
            let mut all = Vec::new();
            for h in handles {
                all.extend(h.await??);
            }
            anyhow::Ok((all, started.elapsed().as_secs_f64()))
        });
        let _ = tx.send(result);
    });
    let (mut all, elapsed) = rx.await.map_err(|_| anyhow::anyhow!("the client thread died"))??;
    all.sort_by(f64::total_cmp);
    let pct = |p: f64| if all.is_empty() { 0.0 } else { (all[((all.len() - 1) as f64 * p) as usize] * 100.0).round() / 100.0 };
    Ok((all.len() as f64 / elapsed, pct(0.5), pct(0.99)))
}

/// `suanli bench ledger`.
pub async fn ledger(b: LedgerBench, json_out: bool) -> anyhow::Result<()> {
    let mut results = Vec::new();
    let dir = tempfile_dir()?;
    let sqlite = Store::open_dir(&dir).await?;
    results.push(run_on("sqlite", sqlite.clone(), &b, json_out).await?);
    sqlite.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(url) = &b.pg_url {
        let schema = format!("bench_ledger_{}", std::process::id());
        match Store::connect(url, StoreOptions { pg_schema: Some(schema.clone()), max_connections: Some(16) }).await {
            Ok(pg) => {
                let r = run_on("postgresql", pg.clone(), &b, json_out).await;
                pg.close().await;
                Store::drop_schema(url, &schema).await?;
                results.push(r?);
            }
            Err(e) => eprintln!("PostgreSQL at {url} is not reachable ({e}); measured the embedded store only"),
        }
    }
    if json_out {
        println!("{}", serde_json::to_string_pretty(&json!({"results": results}))?);
        return Ok(());
    }
    let rows: Vec<Value> = results
        .iter()
        .map(|r| {
            json!({
                "store": r["store"],
                "batch": format!("{:.0}/s", r["batch_transfers_per_s_median"].as_f64().unwrap_or(0.0)),
                "api": format!("{:.0}/s (p50 {:.1} ms, p99 {:.1} ms, {} per commit)", r["api_transfers_per_s"].as_f64().unwrap_or(0.0), r["api_p50_ms"].as_f64().unwrap_or(0.0), r["api_p99_ms"].as_f64().unwrap_or(0.0), r["api_requests_per_commit"]),
                "naive": format!("{:.0}/s (p50 {:.1} ms)", r["naive_transfers_per_s"].as_f64().unwrap_or(0.0), r["naive_p50_ms"].as_f64().unwrap_or(0.0)),
                "ratios": format!("batch {}x, API {}x naive", r["batch_vs_naive"], r["api_vs_naive"]),
            })
        })
        .collect();
    crate::table::table(
        &rows,
        &[
            ("store", "store"),
            (&format!("batches of {} (median)", b.batch_size), "batch"),
            (&format!("API, {} clients", b.concurrency), "api"),
            ("naive SQL ledger", "naive"),
            ("vs naive", "ratios"),
        ],
    );
    println!(
        "targets (issue #4): >= 200,000/s in batches of 8,000 and >= 20,000/s through the API; TigerBeetle reports >1M/s with batches of 8,190 on server hardware."
    );
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("suanli-bench-ledger-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
