//! `suanli bench e2e`: the user's path as a user meets it: a real `suanli serve --demo` (on SQLite, then on PostgreSQL) takes job submissions over HTTP from many connections for a fixed time, the jobs run on the demo's simulated backend, and the same jobs go through the local Slurm (`sbatch` and slurmrestd's submit) in the same run.
//!
//! Every target gets the same work: one job a request, one accelerator, the same duration, for
//! the same number of seconds from the same number of clients (Slurm's `sbatch` from as many
//! processes at once). A submission counts once it is acknowledged: Suanli answers 201 after
//! the commit, `sbatch` prints the job id after slurmctld stored it, slurmrestd answers with
//! the job id. Each target's first request is reported apart (cold) and the latency maximum
//! beside the median. Placement and start come from the jobs' own timestamps in the store,
//! read after the run: `placed_per_s` and `started_per_s` count the jobs placed (started)
//! between the first submission and the last placement (start).
//!
//! Slurm keeps every job it was given (cancelled ones too) for `MinJobAge` (an hour on the
//! cluster of `scripts/slurm-local.sh`), and a cluster holding tens of thousands of records
//! answers its job listings slowly: run this against a cluster the tests are not using, or
//! give it a fresh state afterwards (`scripts/slurm-local.sh reset`).

use crate::energy::{free_port, wait_ready};
use crate::h1::H1;
use crate::progress::spinner;
use indicatif::ProgressBar;
use serde_json::{Value, json};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use suanli_core::job::{Job, JobState};
use suanli_dispatch::slurm::SlurmConfig;
use suanli_store::{Store, StoreOptions};
use tokio::process::{Child, Command};

/// What to run.
#[derive(Debug, Clone)]
pub struct E2eBench {
    /// How long each target takes submissions.
    pub seconds: f64,
    /// Clients submitting at once (HTTP connections; `sbatch` processes).
    pub connections: usize,
    /// `sqlite`, `postgres` or both, in order.
    pub stores: Vec<String>,
    /// The PostgreSQL to use (a scratch schema is made in it and dropped after).
    pub database_url: String,
    /// slurmrestd (`slurm+http://…?partition=…&user=…`, token from SLURM_JWT); `None` leaves Slurm out.
    pub slurm: Option<String>,
    /// How long to wait after the submissions for every job to start.
    pub settle_seconds: f64,
    /// Each job's simulated duration in seconds.
    pub job_seconds: i64,
    /// Jobs made to wait before the load (see [`preload_waiting`]); 0 for none.
    pub waiting: usize,
    /// Slurm is also measured from these many clients at once (besides `connections`), and
    /// compared at its best.
    pub slurm_connections: Vec<usize>,
}

/// Simulated seconds a wall second in `serve --demo` (the demo city's time scale): a job's run
/// lasts its duration over this on the reference accelerator, so with the demo's 5,984
/// accelerators and jobs of 60 s the city can start tens of thousands of jobs a second, and the
/// benchmark measures the platform rather than the city's capacity (jobs of 600 s held
/// placement to about 3,000 a second, the accelerators' rate of freeing up).
const DEMO_TIME_SCALE: f64 = 600.0;
/// The Slurm jobs' name, so that the run cancels exactly its own.
const SLURM_NAME: &str = "suanli-bench-e2e";

/// Latencies of one target's submissions.
#[derive(Debug, Default)]
struct Submits {
    ok: usize,
    errors: usize,
    /// The first error's text, to say why.
    first_error: Option<String>,
    cold_ms: f64,
    lat_ms: Vec<f64>,
    seconds: f64,
}

impl Submits {
    fn json(&mut self) -> Value {
        self.lat_ms.sort_by(f64::total_cmp);
        let q = |p: f64| pct(&self.lat_ms, p);
        json!({
            "acknowledged": self.ok, "errors": self.errors, "first_error": self.first_error,
            "per_s": round_to(self.ok as f64 / self.seconds, 1), "seconds": round_to(self.seconds, 1),
            "cold_ms": round_to(self.cold_ms, 2), "p50_ms": round_to(q(0.5), 2), "p99_ms": round_to(q(0.99), 2),
            "max_ms": round_to(self.lat_ms.last().copied().unwrap_or(f64::NAN), 2),
        })
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() { f64::NAN } else { sorted[((sorted.len() - 1) as f64 * p).round() as usize] }
}

/// `x` to `digits` decimal places.
fn round_to(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

/// Runs `one` from `clients` tasks at once for `seconds`, each task with its own state from
/// `state` (its connection) handed to each call and back; each call answers its error text on
/// failure.
async fn load<S, F, Fut>(clients: usize, seconds: f64, pb: &ProgressBar, state: impl Fn() -> S, one: F) -> Submits
where
    S: Send + 'static,
    F: Fn(S, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = (S, Result<(), String>)> + Send + 'static,
{
    let one = Arc::new(one);
    // The cold request, alone.
    let t = Instant::now();
    let (_, cold) = one(state(), 0).await;
    let mut out = Submits { cold_ms: t.elapsed().as_secs_f64() * 1000.0, ..Submits::default() };
    match cold {
        Ok(()) => out.ok += 1,
        Err(e) => {
            out.errors += 1;
            out.first_error = Some(e);
        }
    }
    let started = Instant::now();
    let end = started + Duration::from_secs_f64(seconds);
    let done = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (one, done, mut state) = (one.clone(), done.clone(), state());
            tokio::spawn(async move {
                let (mut lat, mut errors, mut first) = (Vec::new(), 0usize, None);
                let mut i = 1 + c;
                while Instant::now() < end {
                    let t = Instant::now();
                    let (back, answer) = one(state, i).await;
                    state = back;
                    match answer {
                        Ok(()) => lat.push(t.elapsed().as_secs_f64() * 1000.0),
                        Err(e) => {
                            errors += 1;
                            first.get_or_insert(e);
                        }
                    }
                    done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    i += clients;
                }
                (lat, errors, first)
            })
        })
        .collect();
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(250)).await;
        pb.set_position(done.load(std::sync::atomic::Ordering::Relaxed));
    }
    for t in tasks {
        if let Ok((lat, errors, first)) = t.await {
            out.ok += lat.len();
            out.lat_ms.extend(lat);
            out.errors += errors;
            if out.first_error.is_none() {
                out.first_error = first;
            }
        }
    }
    out.seconds = started.elapsed().as_secs_f64();
    out
}

/// One `suanli serve --demo` on a scratch store, with its tenant funded for the run.
struct Server {
    child: Child,
    base: String,
    tenant_token: String,
    store: Store,
    dir: tempfile::TempDir,
    schema: Option<String>,
}

async fn start_server(http: &reqwest::Client, b: &E2eBench, kind: &str) -> anyhow::Result<Server> {
    let dir = tempfile::tempdir()?;
    let port = free_port()?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["serve", "--demo", "--no-stream", "--seed", "1", "--demo-failure-rate", "0", "--demo-energy-days", "0"])
        .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .kill_on_drop(true);
    crate::server_log(&mut cmd, &format!("e2e-{kind}"))?;
    let schema = (kind == "postgres").then(|| format!("bench_e2e_{}", std::process::id()));
    match &schema {
        Some(s) => cmd.env("DATABASE_URL", &b.database_url).env("SUANLI_PG_SCHEMA", s),
        None => cmd.env_remove("DATABASE_URL"),
    };
    let mut child = cmd.spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(http, &format!("{base}/healthz"), &mut child, "suanli serve --demo").await?;
    let path = dir.path().join("demo-tokens.json");
    let end = Instant::now() + Duration::from_secs(120);
    while !path.exists() {
        anyhow::ensure!(Instant::now() < end, "the demo wrote no demo-tokens.json within 120 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let tokens: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    let token =
        |role: &str| tokens[role].as_str().map(str::to_string).ok_or_else(|| anyhow::anyhow!("demo-tokens.json has no {role} token"));
    let (tenant_token, operator) = (token("tenant")?, token("operator")?);
    let me: Value = http.get(format!("{base}/api/v1/me")).bearer_auth(&tenant_token).send().await?.error_for_status()?.json().await?;
    let tenant = me["tenant_id"].as_str().ok_or_else(|| anyhow::anyhow!("the demo tenant user has no tenant"))?;
    // Enough prepaid cash that no job waits for funds (each holds its price until billed).
    http.post(format!("{base}/api/v1/tenants/{tenant}/top-ups"))
        .bearer_auth(&operator)
        .json(&json!({"amount": "5000000", "reference": "bench e2e"}))
        .send()
        .await?
        .error_for_status()?;
    let store = match &schema {
        Some(s) => Store::connect(&b.database_url, StoreOptions { pg_schema: Some(s.clone()), max_connections: Some(2) }).await?,
        None => Store::open_dir(dir.path()).await?,
    };
    Ok(Server { child, base, tenant_token, store, dir, schema })
}

/// The waiting backlog of `--waiting`: `n` jobs of the load's own tenant, submitted before the
/// load through the batch endpoint (1,000 a request), each asking for one accelerator of the
/// city's scarcest model (the least of it at partner centres) for longer than the whole run.
/// The first of them take every accelerator of that model; the rest wait for the run's length,
/// older than every job of the load and of the same tenant, so that they come first in its
/// fair order. Answers the model and the jobs waiting (pending or placed) once the engine has
/// settled on them.
async fn preload_waiting(http: &reqwest::Client, b: &E2eBench, server: &Server, pb: &ProgressBar) -> anyhow::Result<(String, i64)> {
    let partners: std::collections::HashSet<_> = server
        .store
        .centres(None)
        .await?
        .into_iter()
        .filter(|c| c.partner_status == suanli_core::centre::PartnerStatus::Partner)
        .map(|c| c.id)
        .collect();
    let mut by_model: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    for p in server.store.pools().await?.into_iter().filter(|p| partners.contains(&p.centre_id)) {
        *by_model.entry(p.accelerator.clone()).or_default() += u64::from(p.capacity());
    }
    let (model, capacity) =
        by_model.into_iter().min_by_key(|(_, n)| *n).ok_or_else(|| anyhow::anyhow!("the demo city has no partner pools"))?;
    // Longer than the run, in simulated seconds: submitting, the load, the settling, a margin.
    let run_s = (b.waiting as f64 / 2_000.0 + b.seconds + b.settle_seconds + 120.0) * DEMO_TIME_SCALE;
    let duration_s = (run_s as i64).clamp(3_600, suanli_core::job::MAX_DURATION_S);
    let url = format!("{}/api/v1/jobs:batch", server.base);
    pb.set_message(format!("Suanli: jobs to wait for {model} ({capacity} accelerators at partner centres)"));
    let mut sent = 0;
    while sent < b.waiting {
        let n = (b.waiting - sent).min(1_000);
        let jobs: Vec<Value> = (sent..sent + n)
            .map(|i| json!({"name": format!("wait-{i}"), "kind": "batch", "accelerators": 1, "duration_s": duration_s, "models": [model]}))
            .collect();
        let r = http.post(&url).bearer_auth(&server.tenant_token).json(&json!({"jobs": jobs, "atomic": true})).send().await?;
        anyhow::ensure!(r.status() == reqwest::StatusCode::CREATED, "the waiting jobs' batch: {}: {}", r.status(), r.text().await?);
        sent += n;
        pb.set_position(sent as u64);
    }
    // Settled: the engine has placed what that model could take, and the count holds still.
    let (mut last, end) = (-1, Instant::now() + Duration::from_secs(120));
    loop {
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        let waiting = waiting_jobs(&server.store).await?;
        if waiting == last || Instant::now() > end {
            return Ok((model, waiting));
        }
        last = waiting;
    }
}

/// Jobs pending or placed (not yet started): polled while the engine works, so it reads those
/// jobs' entries of the state index alone (a count of every job by state cost PostgreSQL 30 ms
/// of the engine's CPU four times a second).
async fn waiting_jobs(store: &Store) -> anyhow::Result<i64> {
    Ok(store.job_count_in(&[JobState::Pending, JobState::Placed]).await?)
}

/// Suanli on one store: submissions for the window, then placement and start read from the jobs.
async fn suanli(http: &reqwest::Client, b: &E2eBench, kind: &str, json_out: bool) -> anyhow::Result<Value> {
    let mut server = start_server(http, b, kind).await?;
    let backlog = if b.waiting > 0 {
        let pb = crate::progress::bar(json_out, b.waiting as u64, format!("Suanli on {kind}: the waiting jobs"), 0, "jobs");
        let out = preload_waiting(http, b, &server, &pb).await?;
        pb.finish_and_clear();
        Some(out)
    } else {
        None
    };
    let waiting_before = backlog.as_ref().map_or(0, |(_, n)| *n);
    let before: i64 = server.store.job_counts().await?.iter().map(|(_, n)| n).sum();
    let pb = spinner(json_out, format!("Suanli on {kind}: submitting for {} s from {} connections", b.seconds, b.connections));
    let (target, job_seconds) = (crate::h1::Target::parse(&server.base)?, b.job_seconds);
    let auth: Arc<str> = format!("Bearer {}", server.tenant_token).into();
    let (writers_before, load_start) = (store_writers(http, &server.base).await?, Instant::now());
    let mut submits = load(
        b.connections,
        b.seconds,
        &pb,
        move || H1::new(target.clone()),
        move |mut c: H1, i| {
            let body = json!({"name": format!("e2e-{i}"), "kind": "batch", "accelerators": 1, "duration_s": job_seconds}).to_string();
            let auth = auth.clone();
            async move {
                let answer = match c.post_json("/api/v1/jobs", &[("Authorization", &auth)], body.as_bytes()).await {
                    Ok(a) if a.status == 201 => Ok(()),
                    Ok(a) => Err(format!("{}: {}", a.status, String::from_utf8_lossy(&a.body))),
                    Err(e) => Err(e),
                };
                (c, answer)
            }
        },
    )
    .await;
    let writers = writer_shares(&writers_before, &store_writers(http, &server.base).await?, load_start.elapsed().as_secs_f64());
    // Placement and start: wait until none of the run's jobs waits, or the settle time is up.
    // The backlog of `--waiting` waits throughout; it is counted apart.
    pb.set_message(format!("Suanli on {kind}: waiting for the jobs to start"));
    let settle_end = Instant::now() + Duration::from_secs_f64(b.settle_seconds);
    let mut max_waiting = 0i64;
    loop {
        let waiting = (waiting_jobs(&server.store).await? - waiting_before).max(0);
        max_waiting = max_waiting.max(waiting);
        if waiting == 0 || Instant::now() > settle_end {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    pb.finish_and_clear();
    let all = server.store.jobs_in_states(&JobState::ALL).await?;
    let ours: Vec<&Job> = all.iter().filter(|j| j.spec.name.starts_with("e2e-")).collect();
    let stored = all.len() as i64 - before;
    let s = submits.json();
    let mut v =
        json!({"store": kind, "submits_per_s": s["per_s"], "submit_p50_ms": s["p50_ms"], "submit_p99_ms": s["p99_ms"], "submits": s});
    v["stored"] = json!(stored);
    v["lost"] = json!(submits.ok as i64 - ours.len() as i64);
    v["max_waiting"] = json!(max_waiting);
    v["store_writers"] = writers;
    if let Some((model, n)) = backlog {
        v["backlog"] = json!({"submitted": b.waiting, "model": model, "waiting_at_load": n,
            "waiting_after": all.iter().filter(|j| j.spec.name.starts_with("wait-") && matches!(j.state, JobState::Pending | JobState::Placed)).count()});
    }
    timings(&mut v, &ours);
    let _ = server.child.start_kill();
    let _ = server.child.wait().await;
    server.store.close().await;
    if let Some(schema) = &server.schema {
        Store::drop_schema(&b.database_url, schema).await?;
    }
    drop(server.dir);
    Ok(v)
}

/// Each writer's totals as the server's `/metrics` counts them: writer → (seconds its write
/// transactions were open, transactions).
async fn store_writers(http: &reqwest::Client, base: &str) -> anyhow::Result<std::collections::BTreeMap<String, (f64, f64)>> {
    let text = http.get(format!("{base}/metrics")).send().await?.error_for_status()?.text().await?;
    let mut out = std::collections::BTreeMap::new();
    for line in text.lines() {
        for (name, open) in [("suanli_store_write_open_seconds_total", true), ("suanli_store_write_transactions_total", false)] {
            let Some((writer, value)) =
                line.strip_prefix(name).and_then(|r| r.strip_prefix("{writer=\"")).and_then(|r| r.split_once("\"} "))
            else {
                continue;
            };
            let e: &mut (f64, f64) = out.entry(writer.to_owned()).or_default();
            let v: f64 = value.trim().parse()?;
            if open { e.0 = v } else { e.1 = v }
        }
    }
    Ok(out)
}

/// How busy the store's writers were over the load's `seconds`: each writer's share of the wall
/// time with a write transaction open (on SQLite, the writer lock held) and its transactions a
/// second, and the shares' sum (on SQLite, at most 1: one writer at a time).
fn writer_shares(
    before: &std::collections::BTreeMap<String, (f64, f64)>,
    after: &std::collections::BTreeMap<String, (f64, f64)>,
    seconds: f64,
) -> Value {
    let mut by = serde_json::Map::new();
    let mut busy = 0.0;
    for (writer, (open, txs)) in after {
        let (open0, txs0) = before.get(writer).copied().unwrap_or_default();
        if txs - txs0 > 0.0 {
            let share = (open - open0) / seconds;
            busy += share;
            by.insert(writer.clone(), json!({"busy_share": round_to(share, 3), "transactions_per_s": round_to((txs - txs0) / seconds, 1)}));
        }
    }
    json!({"busy_share": round_to(busy, 3), "by_writer": by})
}

/// Placement and start rates and delays from the jobs' own timestamps.
fn timings(v: &mut Value, jobs: &[&Job]) {
    let Some(first) = jobs.iter().map(|j| j.submitted_ms).min() else { return };
    let delays = |at: fn(&Job) -> Option<i64>| {
        let mut d: Vec<f64> = jobs.iter().filter_map(|j| at(j).map(|t| (t - j.submitted_ms) as f64)).collect();
        d.sort_by(f64::total_cmp);
        let last = jobs.iter().filter_map(|j| at(j)).max().unwrap_or(first);
        let rate = d.len() as f64 / ((last - first).max(1) as f64 / 1000.0);
        (d, rate)
    };
    let (placed, placed_rate) = delays(|j| j.placed_ms);
    let (started, started_rate) = delays(|j| j.started_ms);
    v["placed"] = json!(placed.len());
    v["started"] = json!(started.len());
    v["placed_per_s"] = json!(round_to(placed_rate, 1));
    v["started_per_s"] = json!(round_to(started_rate, 1));
    v["submit_to_placed_p50_ms"] = json!(pct(&placed, 0.5));
    v["submit_to_placed_p99_ms"] = json!(pct(&placed, 0.99));
    v["submit_to_start_p50_ms"] = json!(pct(&started, 0.5));
    v["submit_to_start_p99_ms"] = json!(pct(&started, 0.99));
    v["submit_to_start_max_ms"] = json!(started.last().copied());
}

/// The same jobs through Slurm: `sbatch` from as many processes at once, then slurmrestd's
/// submit from as many connections, at the run's concurrency and at each of
/// `--slurm-connections`, so that Slurm is also measured where it does best (slurmrestd fails
/// most requests at hundreds of connections at once). Every job of a step is cancelled after
/// it, but slurmctld keeps their records (`MinJobAge`) and answers more slowly the more it
/// holds: the steps run from the fewest clients to the most, so that the concurrencies where
/// Slurm does best meet the emptiest cluster, and each step says how many jobs it found held.
async fn slurm(b: &E2eBench, url: &str, json_out: bool) -> anyhow::Result<Value> {
    let cfg = SlurmConfig::from_url(url).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut steps: Vec<usize> = b.slurm_connections.iter().copied().chain([b.connections]).collect();
    steps.sort_unstable();
    steps.dedup();
    let target = crate::h1::Target::parse(&cfg.url)?;
    let mut by_connections = Vec::new();
    for c in steps {
        by_connections.push(slurm_at(&target, b, &cfg, c, json_out).await);
    }
    let same = by_connections.iter().find(|s| s["connections"] == b.connections).cloned().unwrap_or(Value::Null);
    // Slurm's best: the fastest path at the concurrency where it went fastest.
    let mut best = json!({"per_s": 0.0});
    for step in &by_connections {
        for path in ["sbatch", "slurmrestd"] {
            if step[path]["per_s"].as_f64().unwrap_or(0.0) > best["per_s"].as_f64().unwrap_or(0.0) {
                best = json!({"per_s": step[path]["per_s"], "path": path, "connections": step["connections"]});
            }
        }
    }
    let rate = |v: &Value, path: &str| v[path]["per_s"].as_f64().unwrap_or(0.0);
    Ok(json!({"sbatch": same["sbatch"], "slurmrestd": same["slurmrestd"],
        "slurm_submits_per_s": rate(&same, "sbatch").max(rate(&same, "slurmrestd")),
        "by_connections": by_connections, "best": best, "slurm_jobs_held_before": same["jobs_held_before"]}))
}

/// Slurm's two paths from `connections` clients at once: `{"connections", "jobs_held_before", "sbatch", "slurmrestd"}`.
async fn slurm_at(target: &crate::h1::Target, b: &E2eBench, cfg: &SlurmConfig, connections: usize, json_out: bool) -> Value {
    // slurmctld counts finished jobs for MinJobAge against MaxJobCount: a cluster near it
    // refuses submissions ("temporarily unable to accept job"), which the figures would show.
    let held = Command::new("squeue")
        .args(["--noheader", "--states=all"])
        .output()
        .await
        .map(|o| o.stdout.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count())
        .ok();
    let partition = cfg.partition.clone().unwrap_or_else(|| "gpu".into());
    let wall_s = (b.job_seconds as f64 / DEMO_TIME_SCALE).ceil() as u64;
    let script = format!("#!/bin/sh\nsleep {wall_s}\n");
    let pb = spinner(json_out, format!("Slurm sbatch: submitting for {} s from {connections} processes", b.seconds));
    let part = partition.clone();
    let mut sbatch = load(
        connections,
        b.seconds,
        &pb,
        || (),
        move |(), _| {
            let mut cmd = Command::new("sbatch");
            cmd.args(["--parsable", "--job-name", SLURM_NAME, "--partition", &part, "--gres=gpu:1", "--time=1", "--output=/dev/null"])
                .args(["--wrap", &format!("sleep {wall_s}")])
                .stdin(Stdio::null())
                .kill_on_drop(true);
            async move {
                let answer = match cmd.output().await {
                    Ok(o) if o.status.success() => Ok(()),
                    Ok(o) => Err(String::from_utf8_lossy(&o.stderr).trim().to_string()),
                    Err(e) => Err(format!("sbatch: {e}")),
                };
                ((), answer)
            }
        },
    )
    .await;
    pb.finish_and_clear();
    cancel_slurm_jobs().await;
    let pb = spinner(json_out, format!("Slurm REST: submitting for {} s from {connections} connections", b.seconds));
    let target = target.clone();
    let body: Arc<[u8]> = json!({"script": script, "job": {"name": SLURM_NAME, "partition": partition, "gres": "gpu:1", "time_limit": 1,
        "current_working_directory": "/tmp", "standard_output": "/dev/null", "environment": {"PATH": "/usr/bin:/bin"}}})
    .to_string()
    .into_bytes()
    .into();
    let (user, token): (Arc<str>, Arc<str>) = (cfg.user.as_str().into(), cfg.token.as_str().into());
    let mut rest = load(
        connections,
        b.seconds,
        &pb,
        move || H1::new(target.clone()),
        move |mut c: H1, _| {
            let (body, user, token) = (body.clone(), user.clone(), token.clone());
            async move {
                let headers = [("X-SLURM-USER-NAME", &*user), ("X-SLURM-USER-TOKEN", &*token)];
                let answer = match c.post_json("/slurm/v0.0.38/job/submit", &headers, &body).await {
                    Ok(a) if (200..300).contains(&a.status) => match serde_json::from_slice::<Value>(&a.body) {
                        Ok(v) => match v["errors"].as_array() {
                            Some(e) if !e.is_empty() => Err(e[0].to_string()),
                            _ => Ok(()),
                        },
                        Err(e) => Err(format!("slurmrestd's answer is not JSON: {e}")),
                    },
                    Ok(a) => Err(format!("{}: {}", a.status, String::from_utf8_lossy(&a.body))),
                    Err(e) => Err(e),
                };
                (c, answer)
            }
        },
    )
    .await;
    pb.finish_and_clear();
    cancel_slurm_jobs().await;
    json!({"connections": connections, "jobs_held_before": held, "sbatch": sbatch.json(), "slurmrestd": rest.json()})
}

/// Cancels this benchmark's Slurm jobs (by their name) and waits until slurmctld has them gone.
async fn cancel_slurm_jobs() {
    let _ = Command::new("scancel").args(["--name", SLURM_NAME]).stdout(Stdio::null()).stderr(Stdio::null()).status().await;
    for _ in 0..100 {
        let left = Command::new("squeue").args(["--noheader", "--name", SLURM_NAME, "--states", "PENDING,RUNNING"]).output().await;
        match left {
            Ok(o) if o.status.success() && o.stdout.iter().all(u8::is_ascii_whitespace) => return,
            Ok(o) if !o.status.success() => return,
            Err(_) => return,
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// `suanli bench e2e`.
pub async fn e2e(b: E2eBench, json_out: bool) -> anyhow::Result<()> {
    let http =
        reqwest::Client::builder().pool_max_idle_per_host(b.connections * 2).tcp_nodelay(true).timeout(Duration::from_secs(60)).build()?;
    let mut suanli_runs = Vec::new();
    for kind in &b.stores {
        anyhow::ensure!(kind == "sqlite" || kind == "postgres", "--stores takes sqlite and postgres, not {kind}");
        suanli_runs.push(suanli(&http, &b, kind, json_out).await?);
    }
    let slurm_v = match &b.slurm {
        Some(url) => Some(slurm(&b, url, json_out).await?),
        None => None,
    };
    // No ratio against a Slurm that acknowledged nothing (it says why in its `first_error`).
    let slurm_rate = slurm_v.as_ref().and_then(|v| v["slurm_submits_per_s"].as_f64()).filter(|r| *r > 0.0);
    let slurm_best = slurm_v.as_ref().and_then(|v| v["best"]["per_s"].as_f64()).filter(|r| *r > 0.0);
    for r in &mut suanli_runs {
        let mine = r["submits_per_s"].as_f64();
        if let (Some(s), Some(mine)) = (slurm_rate, mine) {
            r["ratio_vs_slurm"] = json!(round_to(mine / s, 1));
        }
        if let (Some(s), Some(mine)) = (slurm_best, mine) {
            r["ratio_vs_slurm_best"] = json!(round_to(mine / s, 1));
        }
    }
    let first = suanli_runs.first().cloned().unwrap_or(Value::Null);
    let out = json!({
        "benchmark": "e2e", "seconds": b.seconds, "connections": b.connections, "job_seconds": b.job_seconds, "waiting": b.waiting,
        "submits_per_s": first["submits_per_s"], "submit_p50_ms": first["submit_p50_ms"], "submit_p99_ms": first["submit_p99_ms"],
        "placed_per_s": first["placed_per_s"], "started_per_s": first["started_per_s"],
        "submit_to_placed_p50_ms": first["submit_to_placed_p50_ms"], "submit_to_placed_p99_ms": first["submit_to_placed_p99_ms"],
        "submit_to_start_p50_ms": first["submit_to_start_p50_ms"], "submit_to_start_p99_ms": first["submit_to_start_p99_ms"],
        "slurm_submits_per_s": slurm_rate, "ratio_vs_slurm": first["ratio_vs_slurm"],
        "slurm_best_submits_per_s": slurm_best, "ratio_vs_slurm_best": first["ratio_vs_slurm_best"],
        "suanli": suanli_runs, "slurm": slurm_v,
    });
    if json_out {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    print_table(&out, &b);
    Ok(())
}

fn print_table(out: &Value, b: &E2eBench) {
    let f = |v: &Value| match v.as_f64() {
        Some(x) if x.is_finite() => format!("{x}"),
        _ => "-".into(),
    };
    let mut rows = Vec::new();
    for r in out["suanli"].as_array().into_iter().flatten() {
        let s = &r["submits"];
        rows.push(json!({"target": format!("Suanli, {}", r["store"].as_str().unwrap_or("?")), "per_s": f(&s["per_s"]),
            "p50": f(&s["p50_ms"]), "p99": f(&s["p99_ms"]), "max": f(&s["max_ms"]), "cold": f(&s["cold_ms"]), "errors": f(&s["errors"]),
            "placed": f(&r["placed_per_s"]), "started": f(&r["started_per_s"]),
            "to_placed": format!("{} / {}", f(&r["submit_to_placed_p50_ms"]), f(&r["submit_to_placed_p99_ms"])),
            "to_start": format!("{} / {}", f(&r["submit_to_start_p50_ms"]), f(&r["submit_to_start_p99_ms"])),
            "ratio": f(&r["ratio_vs_slurm"]), "ratio_best": f(&r["ratio_vs_slurm_best"])}));
    }
    for step in out["slurm"]["by_connections"].as_array().into_iter().flatten() {
        for (name, key) in [("sbatch", "sbatch"), ("slurmrestd", "slurmrestd")] {
            let s = &step[key];
            let best = out["slurm"]["best"]["path"] == key && out["slurm"]["best"]["connections"] == step["connections"];
            let target = format!("Slurm, {name}, {} clients{}", f(&step["connections"]), if best { " (best)" } else { "" });
            rows.push(json!({"target": target,
                "per_s": f(&s["per_s"]), "p50": f(&s["p50_ms"]), "p99": f(&s["p99_ms"]), "max": f(&s["max_ms"]),
                "cold": f(&s["cold_ms"]), "errors": f(&s["errors"]), "placed": "-", "started": "-", "to_placed": "-", "to_start": "-",
                "ratio": "-", "ratio_best": "-"}));
        }
    }
    println!(
        "end-to-end submissions: {} s per target, {} clients at once, jobs of 1 accelerator for {} s \
         ({:.2} s of wall time on the reference accelerator at the demo's 600 simulated seconds a second)",
        b.seconds,
        b.connections,
        b.job_seconds,
        b.job_seconds as f64 / DEMO_TIME_SCALE
    );
    crate::table::table(
        &rows,
        &[
            ("target", "target"),
            ("acknowledged/s", "per_s"),
            ("p50 ms", "p50"),
            ("p99 ms", "p99"),
            ("max ms", "max"),
            ("cold ms", "cold"),
            ("errors", "errors"),
            ("placed/s", "placed"),
            ("started/s", "started"),
            ("submit→placed p50/p99 ms", "to_placed"),
            ("submit→start p50/p99 ms", "to_start"),
            ("× Slurm, same clients", "ratio"),
            ("× Slurm's best", "ratio_best"),
        ],
    );
    for r in out["suanli"].as_array().into_iter().flatten() {
        let w = &r["backlog"];
        if !w.is_null() {
            println!(
                "  {}: {} jobs of the same tenant waiting for {} while the load ran ({} still waiting after it)",
                r["store"].as_str().unwrap_or("?"),
                f(&w["waiting_at_load"]),
                w["model"].as_str().unwrap_or("?"),
                f(&w["waiting_after"])
            );
        }
        if let Some(by) = r["store_writers"]["by_writer"].as_object() {
            let pct = |v: &Value| v.as_f64().map_or("-".into(), |x| format!("{:.0}%", x * 100.0));
            let mut parts: Vec<(&String, &Value)> = by.iter().collect();
            parts.sort_by(|a, b| b.1["busy_share"].as_f64().unwrap_or(0.0).total_cmp(&a.1["busy_share"].as_f64().unwrap_or(0.0)));
            let parts: Vec<String> = parts.iter().map(|(w, x)| format!("{w} {}", pct(&x["busy_share"]))).collect();
            println!(
                "  {}: write transactions open {} of the load's time ({})",
                r["store"].as_str().unwrap_or("?"),
                pct(&r["store_writers"]["busy_share"]),
                parts.join(", ")
            );
        }
        if let Some(e) = r["submits"]["first_error"].as_str() {
            println!("  first error on {}: {e}", r["store"].as_str().unwrap_or("?"));
        }
    }
    let steps: Vec<String> = out["slurm"]["by_connections"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| format!("{} before the {} clients", f(&s["jobs_held_before"]), f(&s["connections"])))
        .collect();
    if !steps.is_empty() {
        println!("  Slurm's jobs held (finished ones are kept for MinJobAge): {}", steps.join(", "));
    }
}
