//! `suanli bench gateway`: the model gateway's added latency and sustained rate, against calling the upstream directly and against LiteLLM's proxy, on the same simulated upstream and the same load generator in one run.
//!
//! One simulated upstream (answers at once: no time to first token, no per-token pace) serves
//! every target. Suanli runs in this process on a scratch embedded store with the demo city, one
//! model deployed on that upstream, a tenant key with a budget, and metering on: every call
//! holds, charges and records its usage in the ledger. LiteLLM's proxy (from PyPI, started by
//! `scripts/litellm.sh` with its production settings) routes the same model name to the same
//! upstream; it runs without its database, so without budgets or spend tracking, which favours
//! it. Each target gets the same requests:
//!
//! 1. a cold first request (a new connection);
//! 2. a fixed offered load, open loop (`--rate` requests a second for `--seconds`); latency
//!    counts from each request's scheduled time, so a target that falls behind is charged for
//!    its queue; p50, p99 and the maximum, and the 100 ms windows the slowest 1% fell in (one
//!    stall puts many calls in one window). The phase runs in `--slices` slices, the targets
//!    taking turns (direct, Suanli, LiteLLM, direct, …), and each target's latencies are pooled
//!    over its slices: a shared machine's drift over a run then falls on every target alike,
//!    instead of on whichever ran while a neighbour was busy;
//! 3. with `--trace`, a replay of the Azure LLM inference trace: its arrival gaps (sped up
//!    `--trace-speedup` times) and its prompt and output sizes;
//! 4. the sustained rate: `--concurrency` closed-loop clients for `--seconds`. Last, so that the
//!    latency phases measure a target at a steady load, not one working off an overload (the
//!    ledger's last groups and SQLite's checkpoint after a minute at full speed).
//!
//! Between phases the bench waits until the target answers a single call within a second
//! again (at most a minute).
//!
//! The added latency is the target's percentile minus the direct one at the same load. The
//! load generator shares the machine's two cores with every target; the figures are for this
//! machine, and the ratio is the honest part.

use indicatif::ProgressBar;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use suanli_core::id::TenantId;
use suanli_core::model::{DeploymentSpec, Endpoint, KeySpec, Modality, ModelKind, ModelSpec, Strategy};
use suanli_core::money::Fen;
use suanli_gateway::sim::SimConfig;
use suanli_ledger::{ReasonCode, Transfer, TransferId, chart};
use suanli_server::{AppState, ServeConfig};

/// What to run.
#[derive(Debug, Clone)]
pub struct GatewayBench {
    pub rate: u32,
    pub seconds: f64,
    /// The fixed-rate phase in this many turns per target.
    pub slices: usize,
    pub concurrency: usize,
    /// Run LiteLLM through this script (`scripts/litellm.sh`); none: Suanli and direct only.
    pub litellm_script: Option<std::path::PathBuf>,
    /// The Azure trace CSV (`TIMESTAMP,ContextTokens,GeneratedTokens`).
    pub trace: Option<std::path::PathBuf>,
    pub trace_requests: usize,
    pub trace_speedup: f64,
}

const MODEL: &str = "bench-chat";

/// One place to send calls.
struct Target {
    name: &'static str,
    url: String,
    key: String,
}

/// Latency figures of one phase, ms.
#[derive(Debug, Clone, Default)]
struct Figures {
    ok: usize,
    errors: usize,
    p50: f64,
    p99: f64,
    max: f64,
    rps: f64,
    /// The slowest 1% of a fixed-rate phase: (seconds into the phase it was due, ms).
    slowest: Vec<(f64, f64)>,
}

fn figures(mut lat: Vec<f64>, errors: usize, elapsed_s: f64) -> Figures {
    lat.sort_by(f64::total_cmp);
    let pick = |q: f64| if lat.is_empty() { f64::NAN } else { lat[((lat.len() - 1) as f64 * q).round() as usize] };
    Figures {
        ok: lat.len(),
        errors,
        p50: pick(0.5),
        p99: pick(0.99),
        max: lat.last().copied().unwrap_or(f64::NAN),
        rps: lat.len() as f64 / elapsed_s,
        slowest: Vec::new(),
    }
}

fn body(prompt_words: usize, max_tokens: u64) -> Vec<u8> {
    let words = ["compute", "voucher", "Hangzhou", "model", "token", "centre", "energy", "data"];
    let prompt: Vec<&str> = (0..prompt_words.max(1)).map(|i| words[i % words.len()]).collect();
    serde_json::to_vec(&json!({"model": MODEL, "messages": [{"role": "user", "content": prompt.join(" ")}], "max_tokens": max_tokens}))
        .unwrap_or_default()
}

async fn one(http: &reqwest::Client, t: &Target, body: Vec<u8>) -> bool {
    let r = http
        .post(format!("{}/chat/completions", t.url))
        .bearer_auth(&t.key)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    match r {
        Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
        _ => false,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().pool_max_idle_per_host(4096).tcp_nodelay(true).timeout(Duration::from_secs(30)).build().unwrap_or_default()
}

/// Open loop at `rate` for `seconds`: request i is due at i/rate; its latency counts from then.
/// Each call that succeeded as (seconds into the slice it was due, ms), and the errors.
async fn fixed_rate(t: &Target, rate: u32, seconds: f64, pb: &ProgressBar) -> (Vec<(f64, f64)>, usize) {
    let http = client();
    // Warm the pool so the phase measures steady state (the cold request is measured apart).
    for _ in 0..8 {
        one(&http, t, body(32, 16)).await;
    }
    let n = (rate as f64 * seconds) as usize;
    let start = Instant::now() + Duration::from_millis(50);
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let (http, url, key, errors) = (http.clone(), t.url.clone(), t.key.clone(), errors.clone());
        let t = Target { name: "", url, key };
        tasks.push(tokio::spawn(async move {
            let ok = one(&http, &t, body(32, 16)).await;
            if !ok {
                errors.fetch_add(1, Ordering::Relaxed);
            }
            ok.then(|| due.elapsed().as_secs_f64() * 1000.0)
        }));
        if i % 100 == 99 {
            pb.inc(100);
        }
    }
    let mut when = Vec::with_capacity(n);
    for (i, task) in tasks.into_iter().enumerate() {
        if let Ok(Some(ms)) = task.await {
            when.push((i as f64 / rate as f64, ms));
        }
    }
    (when, errors.load(Ordering::Relaxed) as usize)
}

/// A target's fixed-rate figures pooled over its slices, and each slice's p99.
struct Fixed {
    figures: Figures,
    slice_p99: Vec<f64>,
}

/// One target's fixed-rate calls over its slices.
#[derive(Default)]
struct Pool {
    /// (seconds into the target's fixed phase it was due, ms) of each call that succeeded.
    when: Vec<(f64, f64)>,
    errors: usize,
    slice_p99: Vec<f64>,
}

/// The fixed-rate phase of every target, in `b.slices` turns (see the module's note).
async fn fixed_slices(targets: &[Target], b: &GatewayBench, json_out: bool) -> Vec<Fixed> {
    let http = client();
    let per = b.seconds / b.slices as f64;
    let total = (b.rate as f64 * per) as u64 * (b.slices * targets.len()) as u64;
    let names: Vec<&str> = targets.iter().map(|t| t.name).collect();
    let pb = crate::progress::bar(json_out, total, format!("{} at {} req/s, taking turns", names.join(", "), b.rate), 32, "");
    let mut pooled: Vec<Pool> = targets.iter().map(|_| Pool::default()).collect();
    for slice in 0..b.slices {
        for (t, pool) in targets.iter().zip(pooled.iter_mut()) {
            let (when, errors) = fixed_rate(t, b.rate, per, &pb).await;
            pool.slice_p99.push(figures(when.iter().map(|w| w.1).collect(), errors, per).p99);
            pool.when.extend(when.into_iter().map(|(at, ms)| (at + slice as f64 * per, ms)));
            pool.errors += errors;
            recover(&http, t).await;
        }
    }
    pb.finish_and_clear();
    pooled
        .into_iter()
        .map(|Pool { mut when, errors, slice_p99 }| {
            let n = when.len() + errors;
            let mut f = figures(when.iter().map(|w| w.1).collect(), errors, b.seconds);
            // Where the slow calls fell: a stall shows as many at once.
            when.sort_by(|a, b| b.1.total_cmp(&a.1));
            f.slowest = when.into_iter().take(1 + n / 100).collect();
            Fixed { figures: f, slice_p99 }
        })
        .collect()
}

/// Closed loop: `concurrency` clients back to back for `seconds`.
async fn sustained(t: &Target, concurrency: usize, seconds: f64) -> Figures {
    let http = client();
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, url, key) = (http.clone(), t.url.clone(), t.key.clone());
        tasks.push(tokio::spawn(async move {
            let t = Target { name: "", url, key };
            let (mut lat, mut errors) = (Vec::new(), 0usize);
            while Instant::now() < deadline {
                let t0 = Instant::now();
                if one(&http, &t, body(32, 16)).await {
                    lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let (mut lat, mut errors) = (Vec::new(), 0);
    for task in tasks {
        if let Ok((l, e)) = task.await {
            lat.extend(l);
            errors += e;
        }
    }
    figures(lat, errors, start.elapsed().as_secs_f64())
}

/// The first `n` requests of the Azure trace: (offset from the first, ms; prompt tokens; output tokens).
fn read_trace(path: &std::path::Path, n: usize) -> anyhow::Result<Vec<(f64, u64, u64)>> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    let mut out = Vec::new();
    let mut first: Option<f64> = None;
    for line in text.lines().skip(1).take(n) {
        let f: Vec<&str> = line.split(',').collect();
        anyhow::ensure!(f.len() == 3, "{}: expected TIMESTAMP,ContextTokens,GeneratedTokens", path.display());
        // 2023-11-16 18:15:46.6805900: seconds of the day are enough for gaps within a day.
        let time = f[0].split(' ').nth(1).unwrap_or("0:0:0");
        let hms: Vec<f64> = time.split(':').map(|x| x.parse().unwrap_or(0.0)).collect();
        let s = hms.first().unwrap_or(&0.0) * 3600.0 + hms.get(1).unwrap_or(&0.0) * 60.0 + hms.get(2).unwrap_or(&0.0);
        let t0 = *first.get_or_insert(s);
        out.push(((s - t0) * 1000.0, f[1].trim().parse()?, f[2].trim().parse()?));
    }
    Ok(out)
}

/// Replays trace requests at their (sped-up) arrival times.
async fn replay(t: &Target, trace: &[(f64, u64, u64)], speedup: f64) -> Figures {
    let http = client();
    let start = Instant::now() + Duration::from_millis(50);
    let mut tasks = Vec::new();
    for &(at_ms, prompt, out) in trace {
        let due = start + Duration::from_secs_f64(at_ms / 1000.0 / speedup);
        tokio::time::sleep_until(due.into()).await;
        // Words of about 1.6 tokens each by the gateway's estimate; prompts capped to the context.
        let b = body((prompt.min(24_000) as f64 / 1.6) as usize, out.clamp(1, 2_048));
        let (http, url, key) = (http.clone(), t.url.clone(), t.key.clone());
        tasks.push(tokio::spawn(async move {
            let t = Target { name: "", url, key };
            one(&http, &t, b).await.then(|| due.elapsed().as_secs_f64() * 1000.0)
        }));
    }
    let (mut lat, mut errors) = (Vec::new(), 0);
    for task in tasks {
        match task.await {
            Ok(Some(ms)) => lat.push(ms),
            _ => errors += 1,
        }
    }
    let span = trace.last().map_or(1.0, |x| x.0 / 1000.0 / speedup).max(0.001);
    figures(lat, errors, span)
}

/// Waits until the target answers one call within a second (at most a minute).
async fn recover(http: &reqwest::Client, t: &Target) {
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        let t0 = Instant::now();
        if one(http, t, body(32, 16)).await && t0.elapsed() < Duration::from_secs(1) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Starts the upstream, Suanli with metering, and (if asked) LiteLLM; answers the targets.
async fn targets(b: &GatewayBench, dir: &std::path::Path) -> anyhow::Result<(Vec<Target>, Option<std::path::PathBuf>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let upstream = format!("http://{}/v1", listener.local_addr()?);
    let cfg = SimConfig {
        models: vec![MODEL.into()],
        ttft: Duration::ZERO,
        per_token: Duration::ZERO,
        default_tokens: 16,
        ..SimConfig::default()
    };
    tokio::spawn(suanli_gateway::sim::serve(listener, cfg));
    let suanli = suanli_target(dir, &upstream).await?;
    let mut out = vec![Target { name: "direct", url: upstream.clone(), key: "none".into() }, suanli];
    let mut stop = None;
    if let Some(script) = &b.litellm_script {
        out.push(start_litellm(script, &upstream).await?);
        stop = Some(script.clone());
    }
    Ok((out, stop))
}

/// The demo's platform serving the model on `upstream`, with a funded tenant's key.
async fn suanli_target(dir: &std::path::Path, upstream: &str) -> anyhow::Result<Target> {
    let scfg = ServeConfig { demo: true, tick: Duration::from_secs(3600), seed: 5, ..ServeConfig::at(dir) };
    let state = suanli_server::build_state(&scfg).await?;
    suanli_server::demo::seed(&state, dir, "http://127.0.0.1:0").await?;
    deploy_model(&state, upstream).await?;
    let tenant = state.store.tenants().await?.into_iter().next().ok_or_else(|| anyhow::anyhow!("no tenant"))?;
    fund(&state, &tenant.id).await?;
    let key = KeySpec {
        name: "bench".into(),
        models: vec![],
        budget: Fen(5_000_000_000),
        rpm: 0,
        tpm: 0,
        expires_ms: None,
        regions: vec![],
        fallbacks: vec![],
    };
    let (_, secret) = state.models.create_key_as_system(&tenant.id, key).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let suanli_url = format!("http://{}/v1", listener.local_addr()?);
    let app = suanli_server::router(state.clone());
    tokio::spawn(suanli_server::serve_listener(
        listener,
        app,
        suanli_server::ConnLimits { max_connections: 65_536, ..Default::default() },
        std::future::pending(),
    ));
    Ok(Target { name: "suanli", url: suanli_url, key: secret })
}

/// The first provider registers the benchmark's model and deploys it at its first centre on `upstream`.
async fn deploy_model(state: &AppState, upstream: &str) -> anyhow::Result<()> {
    let provider = state.store.providers().await?.into_iter().next().ok_or_else(|| anyhow::anyhow!("no provider"))?;
    let centre = state.store.centres(Some(&provider.id)).await?.into_iter().next().ok_or_else(|| anyhow::anyhow!("no centre"))?;
    let caller = suanli_app::Caller::Provider { user: suanli_core::id::UserId::generate(0, 0), provider: provider.id.clone() };
    let spec = ModelSpec {
        name: MODEL.into(),
        kind: ModelKind::General,
        domain: "general".into(),
        parameters_b: 7.0,
        licence: "Apache-2.0".into(),
        context_tokens: 32_768,
        modalities: vec![Modality::Text],
        endpoints: vec![Endpoint::Chat],
        evaluation: None,
        description: "benchmark model on the simulated upstream".into(),
        routing: Strategy::Weighted,
    };
    state.models.register(&caller, spec).await?;
    let dep = DeploymentSpec {
        centre_id: centre.id.clone(),
        base_url: upstream.to_string(),
        upstream_model: MODEL.into(),
        price_input_per_m: Fen(100),
        price_output_per_m: Fen(200),
        weight: 100,
        max_concurrency: 100_000,
        upstream_key: None,
    };
    state.models.deploy(&caller, MODEL, dep).await?;
    Ok(())
}

/// Enough cash that no call of the run is refused for money.
async fn fund(state: &AppState, tenant: &TenantId) -> anyhow::Result<()> {
    let now = state.ids.now_ms();
    let (cash, banks) = (chart::cash(tenant.as_str()), chart::enterprise_banks());
    state
        .ledger
        .submit_all(suanli_store::LedgerRequest {
            accounts: vec![suanli_store::StoredAccount::of(&cash, now), suanli_store::StoredAccount::of(&banks, now)],
            transfers: vec![Transfer::single(
                TransferId::derive("bench-top-up", tenant.as_str()),
                banks.id,
                cash.id,
                Fen(10_000_000_000),
                ReasonCode::CashTopUp,
                "bench",
                now,
            )],
            ..Default::default()
        })
        .await?;
    Ok(())
}

/// LiteLLM in front of `upstream`, started by its script (which prints its URL and key).
async fn start_litellm(script: &std::path::Path, upstream: &str) -> anyhow::Result<Target> {
    let o = tokio::process::Command::new("bash").arg(script).args(["start", upstream, MODEL]).output().await?;
    anyhow::ensure!(o.status.success(), "LiteLLM did not start: {}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let get = |k: &str| text.lines().find_map(|l| l.strip_prefix(&format!("{k}="))).map(str::to_string);
    let (Some(url), Some(key)) = (get("LITELLM_URL"), get("LITELLM_KEY")) else {
        anyhow::bail!("LiteLLM's script printed no URL and key: {text}")
    };
    Ok(Target { name: "litellm", url: format!("{url}/v1"), key })
}

/// Runs the benchmark and prints the table (or JSON).
pub async fn gateway(b: GatewayBench, json_out: bool) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let trace = match &b.trace {
        Some(p) => Some(read_trace(p, b.trace_requests)?),
        None => None,
    };
    let (targets, litellm) = targets(&b, dir.path()).await?;
    let mut results: Vec<(String, Value)> = Vec::new();
    let run = async {
        // Each target's cold first call, before anything else reaches it.
        let http = client();
        let mut cold = Vec::new();
        for t in &targets {
            let t0 = Instant::now();
            let ok = one(&http, t, body(32, 16)).await;
            cold.push((t0.elapsed().as_secs_f64() * 1000.0, ok));
        }
        let fixed = fixed_slices(&targets, &b, json_out).await;
        for ((t, fixed), cold) in targets.iter().zip(fixed).zip(cold) {
            results.push((t.name.to_string(), measure(t, &b, cold, fixed, trace.as_deref(), json_out).await));
        }
        anyhow::Ok(())
    };
    let outcome = run.await;
    if let Some(script) = litellm {
        let _ = tokio::process::Command::new("bash").arg(script).arg("stop").output().await;
    }
    outcome?;
    let summary = summarise(&b, &results);
    if json_out {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    print_table(&b, &results);
    let get = |name: &str| results.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or(Value::Null);
    let (suanli, litellm) = (get("suanli"), get("litellm"));
    println!(
        "Suanli adds {:.2} ms at p50 and {:.2} ms at p99 over calling the upstream directly at {} req/s, with metering on (goal: p99 under 1 ms at 2,000 req/s); slice by slice, p99 added {} ms (median {:.2}).",
        summary["gateway_p50_overhead_ms"].as_f64().unwrap_or(f64::NAN),
        summary["gateway_p99_overhead_ms"].as_f64().unwrap_or(f64::NAN),
        b.rate,
        summary["gateway_p99_overhead_by_slice_ms"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| format!("{:.2}", d.as_f64().unwrap_or(f64::NAN)))
            .collect::<Vec<_>>()
            .join(", "),
        summary["gateway_p99_overhead_median_of_slices_ms"].as_f64().unwrap_or(f64::NAN),
    );
    if let Some(r) = summary["ratio_vs_litellm"].as_f64() {
        println!(
            "Sustained rate: Suanli {:.0} req/s, LiteLLM {:.0} req/s: {r:.1}× (goal: 20×).",
            at(&suanli, &["sustained", "rps"]),
            at(&litellm, &["sustained", "rps"])
        );
    }
    Ok(())
}

/// One target's figures: its cold call and fixed-rate latencies (measured before), the trace
/// replayed, and the sustained rate.
async fn measure(
    t: &Target,
    b: &GatewayBench,
    (cold_ms, cold_ok): (f64, bool),
    fixed: Fixed,
    trace: Option<&[(f64, u64, u64)]>,
    json_out: bool,
) -> Value {
    let http = client();
    let (slice_p99, fixed) = (fixed.slice_p99, fixed.figures);
    // The overload last (see the module's note on the order).
    let replayed = match trace {
        Some(tr) => Some(replay(t, tr, b.trace_speedup).await),
        None => None,
    };
    recover(&http, t).await;
    if !json_out {
        eprintln!("{}: sustained rate with {} clients…", t.name, b.concurrency);
    }
    let max = sustained(t, b.concurrency, b.seconds).await;
    json!({
        "cold_ms": cold_ms, "cold_ok": cold_ok,
        "fixed": {"rate": b.rate, "ok": fixed.ok, "errors": fixed.errors, "p50_ms": fixed.p50, "p99_ms": fixed.p99, "max_ms": fixed.max,
                  "slices": b.slices, "slice_p99_ms": slice_p99, "slow_windows": slow_windows(&fixed.slowest)},
        "sustained": {"concurrency": b.concurrency, "rps": max.rps, "ok": max.ok, "errors": max.errors, "p50_ms": max.p50, "p99_ms": max.p99},
        "trace": replayed.map(|r| json!({"requests": r.ok + r.errors, "errors": r.errors, "p50_ms": r.p50, "p99_ms": r.p99, "max_ms": r.max})),
    })
}

/// The 100 ms windows the slowest 1% of calls were due in, most crowded first (at most 5):
/// `[start s, calls, max ms]`. One stall puts many in one window; queueing spreads them.
fn slow_windows(slowest: &[(f64, f64)]) -> Value {
    let mut windows: std::collections::BTreeMap<i64, (usize, f64)> = std::collections::BTreeMap::new();
    for &(at_s, ms) in slowest {
        let w = windows.entry((at_s * 10.0).floor() as i64).or_default();
        w.0 += 1;
        w.1 = w.1.max(ms);
    }
    let mut v: Vec<_> = windows.into_iter().collect();
    v.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    Value::Array(v.into_iter().take(5).map(|(w, (n, max))| json!([w as f64 / 10.0, n, (max * 100.0).round() / 100.0])).collect())
}

/// A figure at `path` in a target's results; NaN when it is missing.
fn at(v: &Value, path: &[&str]) -> f64 {
    path.iter().fold(v, |v, k| &v[*k]).as_f64().unwrap_or(f64::NAN)
}

/// A target's p99 minus the direct one, slice by slice (each pair ran back to back).
fn by_slice(target: &Value, direct: &Value) -> Vec<f64> {
    let p99s = |v: &Value| -> Vec<f64> { v["fixed"]["slice_p99_ms"].as_array().into_iter().flatten().filter_map(Value::as_f64).collect() };
    p99s(target).iter().zip(p99s(direct)).map(|(t, d)| t - d).collect()
}

/// The gateway's overhead over the upstream alone and its ratio to LiteLLM, with every target's figures.
fn summarise(b: &GatewayBench, results: &[(String, Value)]) -> Value {
    let get = |name: &str| results.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or(Value::Null);
    let (direct, suanli, litellm) = (get("direct"), get("suanli"), get("litellm"));
    let f = at;
    let slices = by_slice(&suanli, &direct);
    json!({
        "rate": b.rate,
        "seconds": b.seconds,
        "gateway_p50_overhead_ms": f(&suanli, &["fixed", "p50_ms"]) - f(&direct, &["fixed", "p50_ms"]),
        "gateway_p99_overhead_ms": f(&suanli, &["fixed", "p99_ms"]) - f(&direct, &["fixed", "p99_ms"]),
        "gateway_p99_overhead_median_of_slices_ms": crate::stats::median(slices.clone()),
        "gateway_p99_overhead_by_slice_ms": slices,
        "gateway_max_rps": f(&suanli, &["sustained", "rps"]),
        "direct_max_rps": f(&direct, &["sustained", "rps"]),
        "litellm_max_rps": litellm.get("sustained").map(|_| f(&litellm, &["sustained", "rps"])),
        "litellm_p99_overhead_ms": litellm.get("fixed").map(|_| f(&litellm, &["fixed", "p99_ms"]) - f(&direct, &["fixed", "p99_ms"])),
        "ratio_vs_litellm": litellm.get("sustained").map(|_| f(&suanli, &["sustained", "rps"]) / f(&litellm, &["sustained", "rps"])),
        "targets": results.iter().map(|(n, v)| (n.clone(), v.clone())).collect::<serde_json::Map<_, _>>(),
    })
}

fn print_table(b: &GatewayBench, results: &[(String, Value)]) {
    let f = at;
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED).set_header(vec![
        "target",
        "cold ms",
        &format!("p50 ms @{}/s", b.rate),
        "p99 ms",
        "max ms",
        "errors",
        &format!("max req/s ({} clients)", b.concurrency),
        "trace p50 / p99 ms",
    ]);
    for (name, v) in results {
        let trace = if v["trace"].is_null() {
            "-".to_string()
        } else {
            format!("{:.1} / {:.1}", f(v, &["trace", "p50_ms"]), f(v, &["trace", "p99_ms"]))
        };
        table.add_row(vec![
            name.clone(),
            format!("{:.1}", f(v, &["cold_ms"])),
            format!("{:.2}", f(v, &["fixed", "p50_ms"])),
            format!("{:.2}", f(v, &["fixed", "p99_ms"])),
            format!("{:.1}", f(v, &["fixed", "max_ms"])),
            format!("{}", v["fixed"]["errors"].as_u64().unwrap_or(0) + v["sustained"]["errors"].as_u64().unwrap_or(0)),
            format!("{:.0}", f(v, &["sustained", "rps"])),
            trace,
        ]);
    }
    println!("{table}");
    for (name, v) in results {
        let windows: Vec<String> = v["fixed"]["slow_windows"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| {
                format!("{:.1} s: {} calls, up to {:.1} ms", w[0].as_f64().unwrap_or(f64::NAN), w[1], w[2].as_f64().unwrap_or(f64::NAN))
            })
            .collect();
        if !windows.is_empty() {
            println!("{name}: the slowest 1% at {} req/s fell in {}", b.rate, windows.join("; "));
        }
    }
}
