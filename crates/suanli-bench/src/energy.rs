//! `suanli bench energy-ingest`: meter samples per second into Suanli through Prometheus remote write and through JSON batches, and the same remote-write load into Prometheus and VictoriaMetrics in the same run.
//!
//! Every target is a separate process started fresh for each round on a scratch directory:
//! `suanli serve` (embedded store) with the centres registered through its API, Debian's
//! `prometheus --web.enable-remote-write-receiver` and `victoria-metrics`. The load generator
//! is this process: `clients` concurrent senders, each owning a shard of the series (as
//! Prometheus's own remote-write shards do, so every series arrives in time order), sending
//! pre-encoded snappy protobuf `WriteRequest`s of about `samples_per_request` samples. The
//! payloads are the same bytes for every target. Each series is a cumulative kWh counter of a
//! data centre's facility or IT meter with a sample every `interval_s` seconds over the last
//! `minutes` minutes (inside Prometheus's one-hour head window, and not in Suanli's future).
//!
//! A round counts only if every request was answered 2xx and, afterwards, the target holds
//! every sample: Suanli's stored readings are counted; Prometheus and VictoriaMetrics are asked
//! `count_over_time` over the window.
//!
//! Beside each rate, the CPU time the target's process used while the load ran, per sample
//! (the sum of its threads' time on a CPU, from `/proc`): on a shared machine a round's rate
//! swings with what else runs, its CPU per sample much less. Suanli's work for a sample is done
//! when it answers (judged, stored, committed); the peers buffer what they take and write it out
//! later, so their figure leaves out their flushing and merging, which favours them.

use crate::progress::bar;
use crate::stats::median;
use indicatif::ProgressBar;
use prost::Message;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use suanli_server::api::energy::remote::{Label, Sample, TimeSeries, WriteRequest};
use tokio::process::{Child, Command};

/// What to run.
#[derive(Debug, Clone)]
pub struct EnergyIngestBench {
    pub centres: usize,
    pub minutes: i64,
    pub interval_s: i64,
    pub clients: usize,
    pub samples_per_request: usize,
    pub rounds: usize,
    /// Measure Prometheus and VictoriaMetrics too (skipped, with a note, when not installed).
    pub peers: bool,
}

const PROMETHEUS: &str = "/usr/bin/prometheus";
const VICTORIA_METRICS: &str = "/usr/bin/victoria-metrics";

/// The load: per client, the encoded requests in send order.
struct Load {
    payloads: Vec<Vec<Vec<u8>>>,
    /// JSON batches of the same readings, per client (Suanli only).
    json: Vec<Vec<Vec<u8>>>,
    samples: u64,
    from_ms: i64,
    to_ms: i64,
}

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Facility and IT power of centre `c` at `t`: a steady IT load between 150 and 400 kW with a
/// diurnal swing, and cooling that makes PUE 1.2–1.45.
fn power_kw(c: usize, t_ms: i64) -> (f64, f64) {
    let base = 150.0 + (c % 11) as f64 * 25.0;
    let phase = (t_ms as f64 / 86_400_000.0) * std::f64::consts::TAU;
    let it = base * (1.0 + 0.15 * phase.sin());
    let pue = 1.2 + (c % 6) as f64 * 0.05;
    (it * pue, it)
}

/// Builds the requests: the counters of every centre, sharded by centre across clients.
fn build_load(b: &EnergyIngestBench, centre_ids: &[String]) -> anyhow::Result<Load> {
    let end = now_ms() / 1000 * 1000 - 60_000;
    let step = b.interval_s * 1000;
    let points = (b.minutes * 60 / b.interval_s).max(2) as usize;
    let from_ms = end - (points as i64 - 1) * step;
    let clients = b.clients.max(1);
    let mut payloads = vec![Vec::new(); clients];
    let mut json = vec![Vec::new(); clients];
    let mut samples = 0u64;
    for (client, (out, jout)) in payloads.iter_mut().zip(json.iter_mut()).enumerate() {
        let mine: Vec<usize> = (0..centre_ids.len()).filter(|c| c % clients == client).collect();
        if mine.is_empty() {
            continue;
        }
        let per_request = (b.samples_per_request / (2 * mine.len())).max(1);
        let mut counters: Vec<(f64, f64)> = mine.iter().map(|c| (10_000.0 + *c as f64, 8_000.0 + *c as f64)).collect();
        let mut k = 0;
        while k < points {
            let ks = k..(k + per_request).min(points);
            let mut series = Vec::with_capacity(2 * mine.len());
            let mut readings = Vec::with_capacity(2 * mine.len() * ks.len());
            for (i, c) in mine.iter().enumerate() {
                let mut fs = Vec::with_capacity(ks.len());
                let mut is = Vec::with_capacity(ks.len());
                for j in ks.clone() {
                    let t = from_ms + j as i64 * step;
                    if j > 0 {
                        let (f, it) = power_kw(*c, t);
                        counters[i].0 += f * b.interval_s as f64 / 3600.0;
                        counters[i].1 += it * b.interval_s as f64 / 3600.0;
                    }
                    fs.push(Sample { value: counters[i].0, timestamp: t });
                    is.push(Sample { value: counters[i].1, timestamp: t });
                    readings.push(json!({"centre_id": centre_ids[*c], "meter": "facility", "ts_ms": t, "kwh": counters[i].0}));
                    readings.push(json!({"centre_id": centre_ids[*c], "meter": "it", "ts_ms": t, "kwh": counters[i].1}));
                }
                samples += (fs.len() + is.len()) as u64;
                for (name, s) in [("suanli_facility_energy_kwh_total", fs), ("suanli_it_energy_kwh_total", is)] {
                    series.push(TimeSeries {
                        labels: vec![Label::new("__name__", name), Label::new("centre", &centre_ids[*c]), Label::new("job", "dcim")],
                        samples: s,
                    });
                }
            }
            let raw = WriteRequest { timeseries: series }.encode_to_vec();
            out.push(snap::raw::Encoder::new().compress_vec(&raw)?);
            jout.push(serde_json::to_vec(&json!({ "readings": readings }))?);
            k = ks.end;
        }
    }
    Ok(Load { payloads, json, samples, from_ms, to_ms: end })
}

/// One target process, ended when dropped.
struct Target {
    name: &'static str,
    child: Child,
    base: String,
    write_url: String,
    token: Option<String>,
    _dir: tempfile::TempDir,
}

pub(crate) async fn wait_ready(client: &reqwest::Client, url: &str, child: &mut Child, what: &str) -> anyhow::Result<()> {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("{what} exited before it was ready ({status})");
        }
        if Instant::now() > end {
            anyhow::bail!("{what} was not ready within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A fresh `suanli serve` on a scratch store, with `centres` centres registered; its log (under
/// `SUANLI_BENCH_LOG`) is `bench-{log}.log`.
async fn start_suanli(client: &reqwest::Client, centres: usize, log: &str) -> anyhow::Result<(Target, Vec<String>)> {
    let dir = tempfile::tempdir()?;
    let cfg = suanli_server::ServeConfig::at(dir.path());
    let token = suanli_server::bootstrap_operator(&cfg, "bench").await?;
    let port = free_port()?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir.path())
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .kill_on_drop(true);
    crate::server_log(&mut cmd, log)?;
    let mut child = cmd.spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(client, &format!("{base}/healthz"), &mut child, "suanli serve").await?;
    let post = |path: &str, body: Value| client.post(format!("{base}{path}")).bearer_auth(&token).json(&body).send();
    let provider: Value = post("/api/v1/providers", json!({"name": "基准测试数据中心"})).await?.error_for_status()?.json().await?;
    let provider = provider["id"].as_str().unwrap_or_default().to_string();
    let mut ids = Vec::with_capacity(centres);
    for i in 0..centres {
        let body = json!({"provider_id": provider, "name": format!("基准中心 {i}"), "name_en": format!("Bench centre {i}"), "kind": "cloud",
            "region": "hz-qiantang", "commissioned": "2024-06-01", "declared_pue": 1.3, "racks": 200});
        let v: Value = post("/api/v1/centres", body).await?.error_for_status()?.json().await?;
        ids.push(v["id"].as_str().unwrap_or_default().to_string());
    }
    let target =
        Target { name: "suanli", child, write_url: format!("{base}/api/v1/energy/prometheus/write"), base, token: Some(token), _dir: dir };
    Ok((target, ids))
}

async fn start_prometheus(client: &reqwest::Client) -> anyhow::Result<Target> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("prometheus.yml"), "global:\n  scrape_interval: 1m\n")?;
    let port = free_port()?;
    let mut child = Command::new(PROMETHEUS)
        .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(client, &format!("{base}/-/ready"), &mut child, "prometheus").await?;
    Ok(Target { name: "prometheus", child, write_url: format!("{base}/api/v1/write"), base, token: None, _dir: dir })
}

async fn start_victoria_metrics(client: &reqwest::Client) -> anyhow::Result<Target> {
    let dir = tempfile::tempdir()?;
    let port = free_port()?;
    let mut child = Command::new(VICTORIA_METRICS)
        .arg(format!("-storageDataPath={}", dir.path().join("data").display()))
        .arg(format!("-httpListenAddr=127.0.0.1:{port}"))
        .arg("-retentionPeriod=1y")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(client, &format!("{base}/health"), &mut child, "victoria-metrics").await?;
    Ok(Target { name: "victoria-metrics", child, write_url: format!("{base}/api/v1/write"), base, token: None, _dir: dir })
}

/// CPU time a process's threads have had, in nanoseconds (the first field of each thread's
/// `/proc/{pid}/task/*/schedstat`); `None` where there is no such file.
fn cpu_ns(pid: Option<u32>) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{}/task", pid?)).ok()?;
    let on_cpu =
        |t: std::fs::DirEntry| -> Option<u64> { std::fs::read_to_string(t.path().join("schedstat")).ok()?.split(' ').next()?.parse().ok() };
    Some(tasks.filter_map(Result::ok).filter_map(on_cpu).sum())
}

/// [`blast`] at `target`, with the CPU time the target's process used meanwhile (ns).
async fn blast_at(
    client: &reqwest::Client,
    target: &Target,
    url: &str,
    bodies: &[Vec<Vec<u8>>],
    json_body: bool,
    pb: &ProgressBar,
) -> anyhow::Result<(Duration, Option<u64>)> {
    let pid = target.child.id();
    let before = cpu_ns(pid);
    let took = blast(client, url, target.token.as_deref(), bodies, json_body, pb).await?;
    Ok((took, before.zip(cpu_ns(pid)).map(|(a, b)| b.saturating_sub(a))))
}

/// Sends every client's requests concurrently; the wall time from the first send to the last answer.
async fn blast(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    bodies: &[Vec<Vec<u8>>],
    json_body: bool,
    pb: &ProgressBar,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for shard in bodies {
        let (client, url, token, pb) = (client.clone(), url.to_string(), token.map(str::to_string), pb.clone());
        let shard = shard.clone();
        tasks.push(tokio::spawn(async move {
            for body in shard {
                let mut req = client.post(&url).body(body);
                req = if json_body {
                    req.header("content-type", "application/json")
                } else {
                    req.header("content-type", "application/x-protobuf")
                        .header("content-encoding", "snappy")
                        .header("x-prometheus-remote-write-version", "0.1.0")
                };
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                let resp = req.send().await?;
                let status = resp.status();
                if !status.is_success() {
                    let text = resp.text().await.unwrap_or_default();
                    anyhow::bail!("{url} answered {status}: {}", text.chars().take(300).collect::<String>());
                }
                if json_body {
                    let v: Value = resp.json().await?;
                    if v["rejected"].as_array().is_some_and(|r| !r.is_empty()) {
                        anyhow::bail!("{url} refused readings: {}", v["rejected"][0]);
                    }
                } else {
                    let _ = resp.bytes().await;
                }
                pb.inc(1);
            }
            Ok::<(), anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(started.elapsed())
}

/// How many samples a Prometheus-API target holds for the load's window.
async fn stored_samples(client: &reqwest::Client, t: &Target, load: &Load) -> anyhow::Result<u64> {
    if t.name == "victoria-metrics" {
        client.get(format!("{}/internal/force_flush", t.base)).send().await?;
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    let span_s = (load.to_ms - load.from_ms) / 1000 + 1;
    let q = format!(
        "sum(count_over_time(suanli_facility_energy_kwh_total[{span_s}s])) + sum(count_over_time(suanli_it_energy_kwh_total[{span_s}s]))"
    );
    let v: Value = client
        .get(format!("{}/api/v1/query", t.base))
        .query(&[("query", q.as_str()), ("time", &format!("{:.3}", load.to_ms as f64 / 1000.0))])
        .send()
        .await?
        .json()
        .await?;
    let n = v["data"]["result"][0]["value"][1].as_str().and_then(|s| s.parse::<f64>().ok());
    n.map(|n| n as u64).ok_or_else(|| anyhow::anyhow!("{}: {q} answered {v}", t.name))
}

/// Stored readings of a Suanli target (from its store, read after the server stopped).
async fn suanli_stored(t: Target) -> anyhow::Result<u64> {
    let Target { mut child, _dir: dir, .. } = t;
    let _ = child.kill().await;
    let store = suanli_store::Store::open_dir(dir.path()).await?;
    Ok(store.energy_reading_total().await? as u64)
}

/// Each target's ingest rates, one per round, by target name.
type Rates = std::collections::BTreeMap<&'static str, Vec<f64>>;

/// What one round of one target came to: samples a second, the CPU time its process used per
/// sample while the load ran (ns), and the samples sent.
struct Round {
    per_s: f64,
    cpu_ns_per_sample: Option<f64>,
    samples: u64,
}

impl Round {
    /// `samples` taken in `took`, with `cpu` ns of the target's CPU time.
    fn new(samples: u64, took: Duration, cpu: Option<u64>) -> Round {
        Round { per_s: samples as f64 / took.as_secs_f64(), cpu_ns_per_sample: cpu.map(|ns| ns as f64 / samples as f64), samples }
    }
}

/// Runs the benchmark and prints the table (or JSON).
pub async fn energy_ingest(b: EnergyIngestBench, json_out: bool) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(b.clients.max(1) * 2).build()?;
    let peers = installed_peers(b.peers);
    let mut rates = Rates::default();
    let mut cpu = Rates::default();
    let mut samples = 0;
    let mut keep = |name: &'static str, r: Round| {
        samples = r.samples;
        rates.entry(name).or_default().push(r.per_s);
        if let Some(ns) = r.cpu_ns_per_sample {
            cpu.entry(name).or_default().push(ns);
        }
    };
    for round in 1..=b.rounds.max(1) {
        for mode in ["suanli", "suanli-json"] {
            keep(mode, suanli_round(&client, &b, round, mode, json_out).await?);
        }
        for peer in &peers {
            keep(peer, peer_round(&client, &b, round, peer, json_out).await?);
        }
    }
    let med = |k: &str| median_of(&rates, k);
    let (rw, js, prom, vm) = (med("suanli"), med("suanli-json"), med("prometheus"), med("victoria-metrics"));
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    let cpu_med = |k: &str| median_of(&cpu, k);
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "centres": b.centres, "series": 2 * b.centres, "samples_per_round": samples, "interval_s": b.interval_s,
                "clients": b.clients, "samples_per_request": b.samples_per_request, "rounds": b.rounds,
                "suanli_remote_write_per_s": rw, "suanli_json_per_s": js, "prometheus_per_s": prom, "victoria_metrics_per_s": vm,
                "ratio_vs_prometheus": ratio(rw, prom), "ratio_vs_victoria_metrics": ratio(rw, vm),
                "cpu_ns_per_sample": cpu.keys().map(|k| (*k, cpu_med(k))).collect::<std::collections::BTreeMap<_, _>>(),
                "cpu_ratio_vs_victoria_metrics": ratio(cpu_med("victoria-metrics"), cpu_med("suanli")),
                "runs": rates, "cpu_runs": cpu,
            }))?
        );
        return Ok(());
    }
    println!(
        "{} centres, {} series, {} samples per round ({} s apart), {} clients, about {} samples per request, {} rounds",
        b.centres,
        2 * b.centres,
        samples,
        b.interval_s,
        b.clients,
        b.samples_per_request,
        b.rounds
    );
    print_table(&rates, &cpu);
    Ok(())
}

/// The peers asked for whose binaries are installed (a note for each that is not).
fn installed_peers(asked: bool) -> Vec<&'static str> {
    if !asked {
        return Vec::new();
    }
    [("prometheus", PROMETHEUS), ("victoria-metrics", VICTORIA_METRICS)]
        .into_iter()
        .filter(|(name, bin)| {
            let ok = Path::new(bin).exists();
            if !ok {
                eprintln!("note: {bin} is missing (apt-get install {name}); {name} is not measured");
            }
            ok
        })
        .map(|(n, _)| n)
        .collect()
}

/// One round's load into a fresh Suanli, as remote write (`mode` "suanli") or JSON batches
/// ("suanli-json"), every sample checked stored.
async fn suanli_round(client: &reqwest::Client, b: &EnergyIngestBench, round: usize, mode: &str, json_out: bool) -> anyhow::Result<Round> {
    let (target, ids) = start_suanli(client, b.centres, &format!("energy-{mode}")).await?;
    let load = build_load(b, &ids)?;
    let (bodies, json_body) = if mode == "suanli" { (&load.payloads, false) } else { (&load.json, true) };
    let url = if json_body { format!("{}/api/v1/energy/readings", target.base) } else { target.write_url.clone() };
    let n: usize = bodies.iter().map(Vec::len).sum();
    let label = if json_body { "Suanli, JSON batches" } else { "Suanli, remote write" };
    let pb = bar(json_out, n as u64, format!("round {round}: {label}"), 44, "requests");
    let (took, cpu) = blast_at(client, &target, &url, bodies, json_body, &pb).await?;
    pb.finish();
    let stored = suanli_stored(target).await?;
    anyhow::ensure!(stored == load.samples, "{label}: {stored} of {} samples stored", load.samples);
    Ok(Round::new(load.samples, took, cpu))
}

/// One round's load into a fresh peer by remote write, every sample checked queryable.
async fn peer_round(client: &reqwest::Client, b: &EnergyIngestBench, round: usize, peer: &str, json_out: bool) -> anyhow::Result<Round> {
    let ids: Vec<String> = (0..b.centres).map(|i| format!("ctr_bench{i:06}")).collect();
    let load = build_load(b, &ids)?;
    let target = if peer == "prometheus" { start_prometheus(client).await? } else { start_victoria_metrics(client).await? };
    let n: usize = load.payloads.iter().map(Vec::len).sum();
    let pb = bar(json_out, n as u64, format!("round {round}: {peer}, remote write"), 44, "requests");
    let (took, cpu) = blast_at(client, &target, &target.write_url, &load.payloads, false, &pb).await?;
    pb.finish();
    let stored = stored_samples(client, &target, &load).await?;
    anyhow::ensure!(stored == load.samples, "{peer}: {stored} of {} samples queryable after the load", load.samples);
    drop(target);
    Ok(Round::new(load.samples, took, cpu))
}

/// The median of target `k`'s figures, if it ran.
fn median_of(figures: &Rates, k: &str) -> Option<f64> {
    figures.get(k).map(|v| median(v.clone()))
}

fn print_table(rates: &Rates, cpu: &Rates) {
    let med = |k: &str| median_of(rates, k);
    let rw = med("suanli");
    let cpu_med = |k: &str| median_of(cpu, k);
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED).set_header(vec![
        "target",
        "samples/s (median)",
        "runs",
        "Suanli remote write ÷ this",
        "CPU ns/sample (median)",
    ]);
    let fmt = |x: f64| format!("{x:.0}");
    for (k, label) in [
        ("suanli", "Suanli, remote write"),
        ("suanli-json", "Suanli, JSON batches"),
        ("prometheus", "Prometheus 2.42, remote-write receiver"),
        ("victoria-metrics", "VictoriaMetrics 1.79, /api/v1/write"),
    ] {
        if let Some(v) = rates.get(k) {
            let runs: Vec<String> = v.iter().map(|x| fmt(*x)).collect();
            let r = rw.zip(med(k)).map(|(a, b)| a / b).map_or("-".into(), |r| format!("{r:.2}x"));
            let ns = cpu_med(k).map_or("-".into(), |ns| format!("{ns:.0}"));
            t.add_row(vec![label.to_string(), fmt(median(v.clone())), runs.join(" "), r, ns]);
        }
    }
    println!("{t}");
}
