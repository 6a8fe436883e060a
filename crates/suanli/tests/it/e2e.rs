//! End-to-end: the real `suanli` binary serving the demo city, the CLI against it, and SIGKILL durability.

use crate::harness::Api;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_suanli");

/// A `suanli serve` child process, killed (SIGKILL) when dropped.
pub(crate) struct Served {
    child: Child,
    pub(crate) url: String,
}

impl Served {
    pub(crate) fn start(data_dir: &Path, extra: &[&str]) -> Served {
        // A week of demo energy telemetry is enough here; a year makes each first start slower.
        let mut args = vec!["--demo", "--demo-energy-days", "0"];
        args.extend_from_slice(extra);
        Served::start_plain(data_dir, &args)
    }

    fn start_plain(data_dir: &Path, extra: &[&str]) -> Served {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("SUANLI_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the suanli binary starts");
        let url = crate::harness::printed_url(&mut child, Duration::from_secs(30));
        Served { child, url }
    }

    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cli(url: &str, token: &str, args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(["--server", url, "--token", token]).args(args).output().expect("the CLI runs")
}

pub(crate) fn tokens(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("demo-tokens.json")).unwrap()).unwrap()
}

#[test]
fn serve_demo_answers_and_a_cli_job_succeeds_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    // No simulated node failures: a job's fate would otherwise follow its random id (2% fail).
    let server = Served::start(dir.path(), &["--time-scale", "7200", "--demo-failure-rate", "0"]);
    let health: Value = loop {
        if let Ok(r) = reqwest::blocking::get(format!("{}/healthz", server.url)) {
            break r.json().unwrap();
        }
        assert!(started.elapsed() < Duration::from_secs(30), "healthz did not answer within 30 s");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(health["status"], "ok");
    let t = tokens(dir.path());
    let tenant = t["tenant"].as_str().unwrap();

    let out = cli(
        &server.url,
        tenant,
        &[
            "--output",
            "json",
            "jobs",
            "submit",
            "--name",
            "bert-finetune",
            "--accelerators",
            "8",
            "--min-tflops",
            "300",
            "--duration",
            "1h",
            "--wait",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let job: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(job["state"], "succeeded", "{job}");
    // On SQLite the writers that stored, placed, started and billed it run on threads of their
    // own, not on the request handlers' runtime.
    let threads: Vec<String> = std::fs::read_dir(format!("/proc/{}/task", server.child.id()))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|c| c.trim().to_string())
        .collect();
    for name in ["job-writer", "engine", "ledger-commits"] {
        assert!(threads.iter().any(|t| t == name), "no thread {name}: {threads:?}");
    }

    // Why it went where it did, and a quote before the next one.
    let out = cli(&server.url, tenant, &["--output", "json", "jobs", "explain", job["id"].as_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ex: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ex["decision"]["chosen"]["pool_id"], job["pool_id"]);
    let out = cli(&server.url, tenant, &["jobs", "explain", job["id"].as_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("chosen"), "{}", String::from_utf8_lossy(&out.stdout));
    let out = cli(
        &server.url,
        tenant,
        &[
            "quote",
            "--accelerators",
            "16",
            "--min-tflops",
            "300",
            "--duration",
            "8h",
            "--data-region",
            "hz-xihu",
            "--data-gb",
            "500",
            "--goal",
            "greenest",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cheapest") && text.contains("fastest") && text.contains("greenest") && text.contains("recommended"), "{text}");

    // Table output for people, JSON for programs.
    let out = cli(&server.url, tenant, &["jobs", "list"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(job["id"].as_str().unwrap()) && text.contains("succeeded"), "{text}");
    let out = cli(&server.url, t["regulator"].as_str().unwrap(), &["city"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("PFLOPS"));

    // One-line errors with the code, exit 1 for refusals, 3 when the server cannot be reached.
    let out = cli(
        &server.url,
        t["operator"].as_str().unwrap(),
        &["tenants", "create", "--name", "x", "--uscc", "91330106MA2CXXXX0Z", "--region", "hz-xihu"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: ") && err.contains("[invalid_uscc]") && err.lines().count() == 1, "{err}");
    let out = cli(&server.url, tenant, &["centres", "partner-status", "ctr_00000000000000000000ff", "partner"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[forbidden]"));
    let out = cli("http://127.0.0.1:9", tenant, &["jobs", "list"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach"));
    let out = Command::new(BIN).args(["jobs", "submit", "--accelerators", "1", "--duration", "5x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
}

#[test]
fn sigkill_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let mut acknowledged: Vec<String> = Vec::new();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    for round in 0..3u64 {
        let server = Served::start(dir.path(), &["--time-scale", "3600", "--no-stream"]);
        let tenant = tokens(dir.path())["tenant"].as_str().unwrap().to_string();
        let api = Api::new(&server.url, Some(tenant));
        // Everything acknowledged before is still there, in a state the machine allows.
        for id in &acknowledged {
            let (st, v) = rt.block_on(api.get(&format!("/api/v1/jobs/{id}")));
            assert_eq!(st.as_u16(), 200, "acknowledged job {id} lost after SIGKILL: {v}");
        }
        // Concurrent writers; the kill lands while they are mid-flight.
        let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let api = api.clone();
                let acked = acked.clone();
                rt.spawn(async move {
                    for n in 0..1000 {
                        let body = json!({"name": format!("crash-{w}-{n}"), "kind": "batch", "accelerators": 1 + (n % 4), "duration_s": 600 + n as i64});
                        let resp = reqwest::Client::new().post(format!("{}/api/v1/jobs", api_url(&api))).bearer_auth(api_token(&api)).json(&body).send().await;
                        match resp {
                            Ok(r) if r.status().as_u16() == 201 => {
                                let v: Value = match r.json().await {
                                    Ok(v) => v,
                                    Err(_) => return,
                                };
                                acked.lock().unwrap().push(v["id"].as_str().unwrap().to_string());
                            }
                            _ => return,
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300 + 200 * round));
        server.kill();
        for w in writers {
            rt.block_on(w).unwrap();
        }
        let n = acked.lock().unwrap().len();
        assert!(n > 0, "round {round}: some writes were acknowledged before the kill");
        acknowledged.extend(acked.lock().unwrap().drain(..));
    }
    // A final restart: all acknowledged jobs are there exactly once, and the engine resumes them.
    let server = Served::start(dir.path(), &["--time-scale", "3600", "--no-stream", "--demo-failure-rate", "0"]);
    let op = Api::new(&server.url, Some(tokens(dir.path())["operator"].as_str().unwrap().to_string()));
    let mut seen = std::collections::HashMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/jobs?limit=1000&cursor={c}"),
            None => "/api/v1/jobs?limit=1000".to_string(),
        };
        let (_, page) = rt.block_on(op.get(&path));
        for j in page["items"].as_array().unwrap() {
            *seen.entry(j["id"].as_str().unwrap().to_string()).or_insert(0) += 1;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    for id in &acknowledged {
        assert_eq!(seen.get(id), Some(&1), "acknowledged job {id} present exactly once");
    }
    let last = acknowledged.last().unwrap();
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, v) = rt.block_on(op.get(&format!("/api/v1/jobs/{last}")));
        if v["state"] == "succeeded" {
            break;
        }
        assert!(Instant::now() < end, "after restart the engine resumes work: {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn api_url(api: &Api) -> String {
    api.url().to_string()
}

fn api_token(api: &Api) -> String {
    api.token().unwrap_or_default().to_string()
}

#[test]
fn bootstrap_creates_the_first_operator_of_an_empty_city() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN).args(["bootstrap", "--name", "市平台运营", "--data-dir"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("sl_"));
    let server = Served::start_plain(dir.path(), &[]);
    let out = cli(&server.url, &token, &["--output", "json", "me"]);
    let me: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((me["role"].as_str(), me["name"].as_str()), (Some("operator"), Some("市平台运营")));
    let out = cli(&server.url, &token, &["--output", "json", "centres", "list"]);
    let centres: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(centres["items"].as_array().unwrap().len(), 0, "no demo data without --demo");
    let out = cli(&server.url, &token, &["--output", "json", "providers", "create", "--name", "之江算力"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// The ledger under SIGKILL: concurrent voucher charges through the API, the server killed
/// at random moments 20 times and restarted; afterwards `suanli ledger verify --data-dir`
/// passes offline and every acknowledged transfer is in the ledger exactly once, as sent.
#[test]
fn ledger_sigkill_loses_no_acknowledged_transfer() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261129);
    let first = Served::start(dir.path(), &["--no-stream"]);
    let token = tokens(dir.path())["operator"].as_str().unwrap().to_string();
    let http = reqwest::blocking::Client::new();
    let accounts: Vec<Value> =
        http.get(format!("{}/api/v1/ledger/accounts", first.url)).bearer_auth(&token).send().unwrap().json::<Vec<Value>>().unwrap();
    let vouchers: Vec<String> = accounts
        .iter()
        .filter(|a| a["kind"] == "enterprise_voucher" && a["available"].as_str().unwrap().parse::<f64>().unwrap() > 1000.0)
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    let receivables: Vec<String> =
        accounts.iter().filter(|a| a["kind"] == "provider_receivable").map(|a| a["id"].as_str().unwrap().to_string()).collect();
    assert!(vouchers.len() >= 4 && receivables.len() >= 2, "the demo funds vouchers and names providers");
    let acked: std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>> = Default::default();
    let mut server = Some(first);
    let kills = 20;
    for round in 0..kills {
        let s = server.take().unwrap_or_else(|| Served::start(dir.path(), &["--no-stream"]));
        // After a restart, a retry of an acknowledged transfer answers `exists`.
        if let Some((id, body)) = acked.lock().unwrap().last().cloned() {
            let r = http.post(format!("{}/api/v1/ledger/transfers", s.url)).bearer_auth(&token).json(&body).send().unwrap();
            let v: Value = r.json().unwrap();
            assert_eq!(v[0]["outcome"], "exists", "retry of {id} after restart: {v}");
        }
        let writers: Vec<_> = (0..6)
            .map(|w| {
                let (url, token, acked) = (s.url.clone(), token.clone(), acked.clone());
                let (vouchers, receivables) = (vouchers.clone(), receivables.clone());
                let seed: u64 = rng.random();
                std::thread::spawn(move || {
                    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
                    let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
                    for n in 0u32.. {
                        let id = format!("{:02x}{:02x}{:08x}", round + 1, w, n);
                        let body = json!({"transfers": [{
                            "id": id,
                            "debit_account": vouchers[rng.random_range(0..vouchers.len())],
                            "credit_account": receivables[rng.random_range(0..receivables.len())],
                            "amount": format!("0.{:02}", rng.random_range(1..100)),
                            "reason": "voucher_spend",
                            "reference": format!("crash-{round}"),
                        }]});
                        match http.post(format!("{url}/api/v1/ledger/transfers")).bearer_auth(&token).json(&body).send() {
                            Ok(r) if r.status() == reqwest::StatusCode::CREATED => acked.lock().unwrap().push((id, body)),
                            Ok(r) => panic!("transfer {id} refused: {}", r.text().unwrap_or_default()),
                            Err(_) => return, // the server is gone
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.random_range(150..900)));
        s.kill();
        for w in writers {
            w.join().unwrap();
        }
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > kills as usize * 10, "only {} transfers were acknowledged", acked.len());

    // Offline verification of the embedded store, by the CLI.
    let out = Command::new(BIN).args(["ledger", "verify", "--output", "json", "--data-dir"]).arg(dir.path()).output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(out.status.success(), "ledger verify failed: {report} {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(report["ok"], true);

    // Every acknowledged transfer exactly once, as sent.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (ledger, _) = rt.block_on(async {
        let store = suanli_store::Store::open_dir(dir.path()).await.unwrap();
        let l = store.ledger_load().await.unwrap();
        store.close().await;
        l
    });
    let mut count: std::collections::HashMap<u128, u32> = std::collections::HashMap::new();
    for t in ledger.transfers() {
        *count.entry(t.id.0).or_insert(0) += 1;
    }
    for (id, body) in &acked {
        let tid = suanli_ledger::TransferId::parse_hex(id).unwrap();
        assert_eq!(count.get(&tid.0), Some(&1), "acknowledged transfer {id} present exactly once");
        let t = ledger.transfer(tid).unwrap();
        let sent = &body["transfers"][0];
        assert_eq!(t.debit_account.to_hex(), sent["debit_account"].as_str().unwrap());
        assert_eq!(t.amount.to_yuan_string(), sent["amount"].as_str().unwrap());
    }
    eprintln!("{} kills, {} acknowledged transfers, {} in the ledger, verify: {report}", kills, acked.len(), ledger.transfers().len());
}

/// Energy telemetry under SIGKILL: six senders (four JSON, two Prometheus remote write), each
/// with its own data centre, push 15-minute counters while the server is killed at random
/// moments 12 times and restarted; a sender resends its unacknowledged batch after a restart.
/// Afterwards every acknowledged reading is stored exactly once with its value, and the book
/// rebuilt from the store gives each centre the PUE its counters were built with.
#[test]
fn energy_sigkill_loses_no_acknowledged_reading() {
    use prost::Message;
    use rand::{Rng, SeedableRng};
    use suanli_server::api::energy::remote::{Label, Sample, TimeSeries, WriteRequest};
    const QUARTER: i64 = 900_000;
    const BATCH: i64 = 8;
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261130);
    let first = Served::start(dir.path(), &["--no-stream"]);
    let token = tokens(dir.path())["operator"].as_str().unwrap().to_string();
    let http = reqwest::blocking::Client::new();
    let provider =
        http.get(format!("{}/api/v1/providers", first.url)).bearer_auth(&token).send().unwrap().json::<Value>().unwrap()["items"][0]["id"]
            .clone();
    let senders = 6usize;
    let centres: Vec<String> = (0..senders)
        .map(|i| {
            let body = json!({"provider_id": provider, "name": format!("断电测试 {i}"), "name_en": format!("Crash test {i}"), "kind": "cloud",
                "region": "hz-qiantang", "commissioned": "2024-06-01", "declared_pue": 1.3, "racks": 200});
            let v: Value = http.post(format!("{}/api/v1/centres", first.url)).bearer_auth(&token).json(&body).send().unwrap().json().unwrap();
            v["id"].as_str().unwrap().to_string()
        })
        .collect();
    // Counters from a year ago: IT +100 kWh a quarter hour, facility PUE times that.
    let t0 = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 - 365 * 86_400_000) / QUARTER
        * QUARTER;
    let pue_of = |w: usize| 1.2 + 0.05 * w as f64;
    let reading = move |w: usize, k: i64| (t0 + k * QUARTER, 100.0 * k as f64 * pue_of(w), 100.0 * k as f64);
    let next: std::sync::Arc<std::sync::Mutex<Vec<i64>>> = std::sync::Arc::new(std::sync::Mutex::new(vec![0; senders]));
    let mut server = Some(first);
    let kills = 12;
    for _ in 0..kills {
        let s = server.take().unwrap_or_else(|| Served::start(dir.path(), &["--no-stream"]));
        let threads: Vec<_> = (0..senders)
            .map(|w| {
                let (url, token, next, centre) = (s.url.clone(), token.clone(), next.clone(), centres[w].clone());
                std::thread::spawn(move || {
                    let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
                    loop {
                        let k0 = next.lock().unwrap()[w];
                        let ks = k0..k0 + BATCH;
                        let sent = if w < 4 {
                            let readings: Vec<Value> = ks
                                .clone()
                                .flat_map(|k| {
                                    let (ts, f, it) = reading(w, k);
                                    [
                                        json!({"centre_id": centre, "meter": "facility", "ts_ms": ts, "kwh": f}),
                                        json!({"centre_id": centre, "meter": "it", "ts_ms": ts, "kwh": it}),
                                    ]
                                })
                                .collect();
                            http.post(format!("{url}/api/v1/energy/readings"))
                                .bearer_auth(&token)
                                .json(&json!({ "readings": readings }))
                                .send()
                        } else {
                            let series = |name: &str, pick: fn((i64, f64, f64)) -> f64| TimeSeries {
                                labels: vec![Label::new("__name__", name), Label::new("centre", &centre)],
                                samples: ks.clone().map(|k| Sample { value: pick(reading(w, k)), timestamp: reading(w, k).0 }).collect(),
                            };
                            let req = WriteRequest {
                                timeseries: vec![
                                    series("suanli_facility_energy_kwh_total", |r| r.1),
                                    series("suanli_it_energy_kwh_total", |r| r.2),
                                ],
                            };
                            let body = snap::raw::Encoder::new().compress_vec(&req.encode_to_vec()).unwrap();
                            http.post(format!("{url}/api/v1/energy/prometheus/write"))
                                .bearer_auth(&token)
                                .header("content-type", "application/x-protobuf")
                                .header("content-encoding", "snappy")
                                .body(body)
                                .send()
                        };
                        match sent {
                            Ok(r) if r.status().is_success() => {
                                if w < 4 {
                                    let v: Value = r.json().unwrap();
                                    assert!(v["rejected"].as_array().unwrap().is_empty(), "sender {w}: {v}");
                                }
                                next.lock().unwrap()[w] = ks.end;
                            }
                            Ok(r) => panic!("sender {w} refused: {} {}", r.status(), r.text().unwrap_or_default()),
                            Err(_) => return, // the server is gone; resend after the restart
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(rng.random_range(200..900)));
        s.kill();
        for t in threads {
            t.join().unwrap();
        }
    }
    let acked = next.lock().unwrap().clone();
    assert!(acked.iter().all(|k| *k >= 4 * BATCH), "each sender had batches acknowledged: {acked:?}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = suanli_store::Store::open_dir(dir.path()).await.unwrap();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
        let book = suanli_app::energy::build_book(&store, &suanli_app::energy::config_for(&Default::default()), now).await.unwrap().book;
        for (w, centre) in centres.iter().enumerate() {
            let id = suanli_core::id::CentreId::parse(centre).unwrap();
            let stored = store.energy_readings_between(&id, i64::MIN, i64::MAX).await.unwrap();
            let mut seen = std::collections::HashSet::new();
            for (meter, ts, v) in &stored {
                assert!(seen.insert((meter.clone(), *ts)), "{meter}@{ts} of sender {w} stored twice");
                let k = (ts - t0) / QUARTER;
                let (_, f, it) = reading(w, k);
                assert_eq!(*v, if meter == "facility" { f } else { it }, "{meter}@{ts} of sender {w}");
            }
            // Every acknowledged reading is there (and at most the one unacknowledged batch more).
            let n = stored.len() as i64 / 2;
            assert!(n >= acked[w] && n <= acked[w] + BATCH, "sender {w}: {n} readings a meter stored, {} acknowledged", acked[w]);
            let p = book.pue(&id, t0, t0 + (acked[w] - 1) * QUARTER).unwrap();
            assert!((p.value.unwrap() - pue_of(w)).abs() < 1e-9, "sender {w}: {p:?}");
        }
        store.close().await;
    });
    eprintln!("{kills} kills; readings acknowledged per sender and meter: {acked:?}");
}

/// Vouchers end to end in `serve --demo`, from the CLI: the demo's job stream is billed,
/// the operator approves a pending application and settles a provider, the city summary shows
/// the programme's spending, and the ledger verifies and reconciles.
#[test]
fn demo_vouchers_flow_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let server = Served::start(dir.path(), &["--time-scale", "36000", "--tick-ms", "50"]);
    let t = tokens(dir.path());
    let (op, tenant) = (t["operator"].as_str().unwrap(), t["tenant"].as_str().unwrap());
    let json = |out: std::process::Output| -> Value {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };

    // The operator approves an application the demo left pending.
    let pending = json(cli(&server.url, op, &["--output", "json", "vouchers", "applications", "--state", "pending"]));
    let app = pending.as_array().unwrap().first().expect("the demo leaves applications pending").clone();
    let approved = json(cli(&server.url, op, &["--output", "json", "vouchers", "approve", app["id"].as_str().unwrap(), "--reason", "ok"]));
    assert_eq!(approved["state"], "approved");

    // The demo's stream of jobs runs and is billed; vouchers pay part.
    let end = Instant::now() + Duration::from_secs(60);
    let bills = loop {
        let bills = json(cli(&server.url, op, &["--output", "json", "bills"]));
        let paid_by_voucher = bills.as_array().unwrap().iter().filter(|b| b["voucher"].as_str().unwrap() != "0.00").count();
        if paid_by_voucher >= 1 {
            break bills;
        }
        assert!(Instant::now() < end, "the demo billed no voucher-paid jobs within 60 s: {bills}");
        std::thread::sleep(Duration::from_millis(300));
    };
    let provider = bills.as_array().unwrap().iter().find(|b| b["voucher"].as_str().unwrap() != "0.00").unwrap()["provider_id"].clone();

    // A tenant sees its own balance; CSV for the spreadsheet.
    let out = cli(&server.url, tenant, &["balance"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("算力券可用"), "{}", String::from_utf8_lossy(&out.stdout));
    let out = cli(&server.url, op, &["--output", "csv", "bills"]);
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(csv.starts_with("bill,job,tenant,provider,rule,") && csv.lines().count() >= 2, "{csv}");

    // Settle the provider from yesterday to tomorrow: Beijing days, as settlement reads dates
    // (UTC dates missed the bills made between 16:00 and 24:00 UTC, already tomorrow in Beijing).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let beijing = |ms: i64| suanli_core::time::format_date(ms + suanli_core::time::CST_OFFSET_MS);
    let (from, to) = (beijing(now - 86_400_000), beijing(now + 86_400_000));
    let stmt = json(cli(&server.url, op, &["--output", "json", "settle", provider.as_str().unwrap(), "--from", &from, "--to", &to]));
    assert!(stmt["settled"].as_str().unwrap().parse::<f64>().unwrap() > 0.0, "{stmt}");
    let statements = json(cli(&server.url, op, &["--output", "json", "statements"]));
    assert!(statements.as_array().unwrap().iter().any(|s| s["id"] == stmt["id"]));

    // The city's spent vs budget; verify and reconcile both pass (exit 0).
    let city = json(cli(&server.url, op, &["--output", "json", "city"]));
    assert_eq!(city["vouchers"]["budget"], "50000000.00");
    assert!(city["vouchers"]["spent"].as_str().unwrap().parse::<f64>().unwrap() > 0.0, "{}", city["vouchers"]);
    let out = cli(&server.url, op, &["city"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("算力券已使用"));
    let verify = json(cli(&server.url, op, &["--output", "json", "ledger", "verify"]));
    assert_eq!(verify["ok"], true, "{verify}");
    let rec = json(cli(&server.url, op, &["--output", "json", "ledger", "reconcile"]));
    assert_eq!(rec["mismatches"], serde_json::json!([]), "{rec}");
}

/// Reconciliation with a real Slurm: `suanli serve` is killed (SIGKILL) while its job runs on
/// Slurm, the job finishes while Suanli is down, and after the restart the job is marked
/// finished, metered from Slurm's record and billed, once; Slurm ran it once.
#[test]
fn slurm_job_finished_while_suanli_was_down_is_metered_once() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = Command::new("bash").arg("scripts/slurm-local.sh").arg("start").current_dir(root).env_remove("SLURM_JWT").output().unwrap();
    if !out.status.success() {
        let why = format!("scripts/slurm-local.sh start failed: {}", String::from_utf8_lossy(&out.stderr));
        crate::harness::missing("slurm_job_finished_while_suanli_was_down_is_metered_once", &why);
        return;
    }
    let vars: std::collections::HashMap<String, String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let first = Served::start(dir.path(), &["--no-stream"]);
    let t = tokens(dir.path());
    let (op, tenant) = (t["operator"].as_str().unwrap(), t["tenant"].as_str().unwrap());
    let http = reqwest::blocking::Client::new();
    let post = |url: &str, token: &str, path: &str, body: Value| -> Value {
        http.post(format!("{url}{path}")).bearer_auth(token).json(&body).send().unwrap().json().unwrap()
    };
    let get = |url: &str, token: &str, path: &str| -> Value {
        http.get(format!("{url}{path}")).bearer_auth(token).send().unwrap().json().unwrap()
    };
    let provider = get(&first.url, op, "/api/v1/providers")["items"][0]["id"].clone();
    let centre = post(
        &first.url,
        op,
        "/api/v1/centres",
        json!({"provider_id": provider, "name": "重启测试", "kind": "intelligent-computing", "region": "hz-xihu", "partner_status": "partner", "commissioned": "2024-06-01", "declared_pue": 1.2, "racks": 120}),
    );
    let cid = centre["id"].as_str().unwrap().to_string();
    post(
        &first.url,
        op,
        &format!("/api/v1/centres/{cid}/pools"),
        json!({"accelerator": "h100-sxm", "nodes": 1, "accelerators_per_node": 8, "price_per_hour": "2.00"}),
    );
    first.kill();

    let backend = format!(
        "{cid}={}?user={}&partition={}&time_scale=1800",
        vars["SLURM_REST_URL"].replace("http://", "slurm+http://"),
        vars["SLURM_USER"],
        vars["SLURM_PARTITION"]
    );
    let start = || {
        let mut c = Command::new(BIN);
        c.args(["serve", "--listen", "127.0.0.1:0", "--no-stream", "--demo", "--tick-ms", "100", "--backend", &backend, "--data-dir"])
            .arg(dir.path())
            .env("SLURM_JWT", &vars["SLURM_JWT"])
            .env("SUANLI_LOG", "warn")
            .stdout(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let url = crate::harness::printed_url(&mut child, Duration::from_secs(30));
        Served { child, url }
    };
    let second = start();
    // 22,824 s on the reference A100 is 7,200 s on an H100 (989 / 312 TFLOPS); at 1,800x four
    // seconds in Slurm. No demo pool has H100s, so the job goes to Slurm.
    let job = post(
        &second.url,
        tenant,
        "/api/v1/jobs",
        json!({"name": "restart", "kind": "training", "accelerators": 2, "models": ["h100-sxm"], "duration_s": 22_824}),
    );
    let id = job["id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    while get(&second.url, tenant, &format!("/api/v1/jobs/{id}"))["state"] != "running" {
        assert!(t0.elapsed() < Duration::from_secs(30), "never ran on Slurm");
        std::thread::sleep(Duration::from_millis(100));
    }
    second.kill();
    std::thread::sleep(Duration::from_secs(6)); // Slurm finishes the job while Suanli is down.
    let third = start();
    let t0 = Instant::now();
    let done = loop {
        let v = get(&third.url, tenant, &format!("/api/v1/jobs/{id}"));
        if v["state"] == "succeeded" {
            break v;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "not reconciled after the restart: {v}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let usage = done["usage_s"].as_i64().unwrap();
    let run_s = get(&third.url, tenant, &format!("/api/v1/jobs/{id}/explain"))["decision"]["chosen"]["run_s"].as_f64().unwrap() as i64;
    assert!((run_s - 3600..=run_s + 3600).contains(&usage), "metered from Slurm's record: {usage}, run {run_s} s");
    let t0 = Instant::now();
    let bill = loop {
        let b = get(&third.url, tenant, &format!("/api/v1/jobs/{id}/bill"));
        if b["id"].is_string() {
            break b;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "not billed: {b}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(bill["usage_s"].as_i64(), Some(usage));
    let bills = get(&third.url, op, "/api/v1/bills?limit=10000");
    assert_eq!(bills.as_array().unwrap().iter().filter(|b| b["job_id"] == id.as_str()).count(), 1, "one bill");
    // Accounting lags slurmctld by a moment: poll until it records the run.
    let t0 = Instant::now();
    let n = loop {
        let sacct = Command::new("sacct")
            .args(["-X", "-n", "-o", "JobID", "--name", &format!("suanli-{id}")])
            .env_remove("SLURM_JWT")
            .output()
            .unwrap();
        let n = String::from_utf8_lossy(&sacct.stdout).lines().filter(|l| !l.trim().is_empty()).count();
        if n > 0 || t0.elapsed() > Duration::from_secs(20) {
            break n;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(n, 1, "Slurm ran the job once");
}
