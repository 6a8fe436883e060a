//! Failover behind a real balancer: three `suanli serve` replicas on one PostgreSQL schema behind HAProxy (round robin; followers forward writes to the leader), a bounded load of job submissions, ledger transfers and energy readings, and the leader SIGKILLed five times; every acknowledged write is there exactly once.
//!
//! HAProxy sends each request to any replica that answers its health check; a follower
//! forwards writes to the leader named in the lease. A client retries a refused or broken
//! request with the same identity (an `Idempotency-Key` for a
//! job, the transfer's own id, the reading's meter and time), as a client of any replicated
//! service must. The time from each kill to the next placement is printed.

use crate::ha::{Replica, postgres, tenant_token};
use crate::harness::{missing, pg_url, unique_schema};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use suanli_core::id::{CentreId, JobId, TenantId};
use suanli_store::{JobFilter, Store};
use tokio::sync::Mutex;

const KILLS: usize = 5;

/// A loopback port free at the moment of asking, below the kernel's ephemeral range (32768 and
/// up): a port from that range, bound later by a replica, could meanwhile become the source port
/// of some connection (HAProxy's health checks, another test's client), and the replica then
/// failed to listen (`Address already in use`).
pub(crate) fn free_port() -> u16 {
    use rand::Rng;
    let mut rng = rand::rng();
    loop {
        let port = rng.random_range(20_000..32_000);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// HAProxy in the foreground, round robin over the replicas that answer `/healthz`: a follower
/// serves reads and forwards writes to the leader.
struct Balancer {
    child: Child,
    url: String,
}

impl Balancer {
    fn start(dir: &Path, ports: &[u16]) -> Option<Balancer> {
        let bin = ["/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"].into_iter().find(|p| Path::new(p).exists())?;
        let port = free_port();
        let servers =
            |opts: &str| ports.iter().enumerate().map(|(i, p)| format!("    server r{i} 127.0.0.1:{p} check {opts}\n")).collect::<String>();
        let cfg = format!(
            "global\n    maxconn 2048\n\
             defaults\n    mode http\n    timeout connect 500ms\n    timeout client 30s\n    timeout server 30s\n    retries 2\n    option redispatch\n\
             frontend api\n    bind 127.0.0.1:{port}\n    default_backend replicas\n\
             backend replicas\n    balance roundrobin\n    option httpchk GET /healthz\n    http-check expect status 200\n{}",
            servers("inter 200ms fall 1 rise 1"),
        );
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, cfg).unwrap();
        let check = Command::new(bin).arg("-c").arg("-f").arg(&path).output().unwrap();
        assert!(check.status.success(), "haproxy refuses its configuration: {}", String::from_utf8_lossy(&check.stderr));
        let child = Command::new(bin).arg("-db").arg("-f").arg(&path).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        Some(Balancer { child, url: format!("http://127.0.0.1:{port}") })
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends a write until the platform answers it (not a broken connection, a balancer with no
/// leader, or a replica that no longer leads); answers the status and body.
pub(crate) async fn until_answered(what: &str, send: impl Fn() -> reqwest::RequestBuilder) -> (StatusCode, Value, bool) {
    let t0 = Instant::now();
    loop {
        match send().timeout(Duration::from_secs(10)).send().await {
            Ok(r) if ![502, 503, 504].contains(&r.status().as_u16()) => {
                let status = r.status();
                let replayed = r.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
                let body = r.json::<Value>().await.unwrap_or(Value::Null);
                return (status, body, replayed);
            }
            _ => {}
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "{what}: no answer through the balancer within 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A read through the balancer, retried while no replica can answer it (a follower that does
/// not know the leader yet answers 503 `not_leader`).
pub(crate) async fn read(http: &reqwest::Client, url: &str, token: &str) -> Value {
    let (s, v, _) = until_answered(url, || http.get(url).bearer_auth(token)).await;
    assert_eq!(s, StatusCode::OK, "{url}: {v}");
    v
}

/// What the load had acknowledged.
#[derive(Default)]
struct Acknowledged {
    jobs: BTreeMap<String, String>,
    transfers: Vec<String>,
    readings: usize,
    readings_sent: usize,
}

/// Three replicas behind HAProxy, round robin, followers forwarding writes; a bounded load of submissions, transfers and readings through
/// it; the leader SIGKILLed five times (and started again). Afterwards every acknowledged job is
/// stored once under its key and placed at most once, every acknowledged transfer applied once,
/// every acknowledged reading stored, and the ledger verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ha_three_replicas_behind_haproxy_lose_nothing_over_five_leader_kills() {
    let test = "ha_three_replicas_behind_haproxy_lose_nothing_over_five_leader_kills";
    let schema = unique_schema("ha_lb");
    let Some(store) = postgres(test, &schema).await else { return };
    let dir = tempfile::tempdir().unwrap();
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let Some(lb) = Balancer::start(dir.path(), &ports) else {
        missing(test, "HAProxy is not installed (scripts/test.sh installs it)");
        return;
    };
    let start = |i: usize| Replica::start_at(dir.path(), &schema, &format!("replica-{i}"), &format!("127.0.0.1:{}", ports[i]));
    // The first seeds the demo city; the others join it.
    let mut replicas = vec![start(0)];
    crate::ha::leads_within(&replicas[0], Duration::from_secs(15)).await;
    replicas.push(start(1));
    replicas.push(start(2));
    let replicas = Arc::new(Mutex::new(replicas));

    let tokens: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("demo-tokens.json")).unwrap()).unwrap();
    let (tenant, operator, provider) =
        (tenant_token(dir.path()), tokens["operator"].as_str().unwrap(), tokens["provider"].as_str().unwrap());
    let http = reqwest::Client::new();
    let me = read(&http, &format!("{}/api/v1/me", lb.url), &tenant).await;
    let tenant_id = me["tenant_id"].as_str().unwrap().to_string();
    // Money moves between two other tenants, so the jobs' bills never meet it.
    let all = read(&http, &format!("{}/api/v1/tenants?limit=1000", lb.url), operator).await;
    let others: Vec<&str> =
        all["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).filter(|t| *t != tenant_id).collect();
    let (payer, payee) = (suanli_ledger::chart::cash(others[0]).id.to_hex(), suanli_ledger::chart::cash(others[1]).id.to_hex());
    let pme = read(&http, &format!("{}/api/v1/me", lb.url), provider).await;
    // A centre of its own for the readings, so the demo's telemetry never meets them.
    let body = json!({"provider_id": pme["provider_id"], "name": "容灾测试中心", "name_en": "Failover test centre", "kind": "cloud",
        "region": "hz-qiantang", "commissioned": "2024-06-01", "declared_pue": 1.3, "racks": 200});
    let (s, v, _) = until_answered("centre", || http.post(format!("{}/api/v1/centres", lb.url)).bearer_auth(operator).json(&body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let centre = v["id"].as_str().unwrap().to_string();
    let readings_before = store.energy_reading_count(&CentreId::parse(&centre).unwrap()).await.unwrap();
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for w in 0..3 {
        let (http, url, token, acked, stop) = (http.clone(), lb.url.clone(), tenant.clone(), acked.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("lb-{w}-{n}");
                let body = json!({"name": key, "kind": "training", "accelerators": 1, "duration_s": 1200});
                let (s, v, _) = until_answered(&key, || {
                    http.post(format!("{url}/api/v1/jobs")).bearer_auth(&token).header("idempotency-key", &key).json(&body)
                })
                .await;
                assert_eq!(s, StatusCode::CREATED, "{key}: {v}");
                acked.lock().await.jobs.insert(key, v["id"].as_str().unwrap().to_string());
                n += 1;
                tokio::time::sleep(Duration::from_millis(60)).await;
            }
        }));
    }
    {
        let (http, url, token, acked, stop) = (http.clone(), lb.url.clone(), operator.to_string(), acked.clone(), stop.clone());
        let (payer, payee) = (payer.clone(), payee.clone());
        load.push(tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let id = format!("1b{n:06x}");
                let body = json!({"transfers": [{"id": id, "debit_account": payer, "credit_account": payee, "amount": "0.01", "reason": "adjustment", "reference": "ha-lb"}]});
                let (s, v, _) =
                    until_answered(&id, || http.post(format!("{url}/api/v1/ledger/transfers")).bearer_auth(&token).json(&body)).await;
                assert_eq!(s, StatusCode::CREATED, "transfer {id}: {v}");
                assert!(["created", "exists"].contains(&v[0]["outcome"].as_str().unwrap_or("")), "transfer {id}: {v}");
                acked.lock().await.transfers.push(id);
                n += 1;
                tokio::time::sleep(Duration::from_millis(80)).await;
            }
        }));
    }
    {
        let (http, url, token, acked, stop, centre) =
            (http.clone(), lb.url.clone(), provider.to_string(), acked.clone(), stop.clone(), centre.clone());
        load.push(tokio::spawn(async move {
            let mut k = 0i64;
            while !stop.load(Ordering::Relaxed) {
                // Now, as a meter reports (the platform takes readings within its reorder window).
                let ts = suanli_now();
                acked.lock().await.readings_sent += 2;
                let body = json!({"readings": [
                    {"centre_id": centre, "meter": "facility", "ts_ms": ts, "kwh": 1000.0 + 0.013 * k as f64},
                    {"centre_id": centre, "meter": "it", "ts_ms": ts, "kwh": 500.0 + 0.010 * k as f64}]});
                let (s, v, _) =
                    until_answered("readings", || http.post(format!("{url}/api/v1/energy/readings")).bearer_auth(&token).json(&body)).await;
                assert_eq!(s, StatusCode::OK, "readings at {ts}: {v}");
                assert_eq!(v["rejected"], json!([]), "readings at {ts}: {v}");
                acked.lock().await.readings += 2;
                k += 1;
                tokio::time::sleep(Duration::from_millis(80)).await;
            }
        }));
    }

    // Five kills of whoever leads; the time from each kill to the next placement.
    let mut takeovers = Vec::new();
    for kill in 0..KILLS {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let leader = {
            let rs = replicas.lock().await;
            let mut found = None;
            let t0 = Instant::now();
            while found.is_none() {
                for (i, r) in rs.iter().enumerate() {
                    if r.health().await["leader"] == true {
                        found = Some(i);
                    }
                }
                assert!(t0.elapsed() < Duration::from_secs(30), "no replica leads");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            found.unwrap()
        };
        let killed = Instant::now();
        replicas.lock().await[leader].signal("-KILL");
        let key = format!("probe-{kill}");
        let body = json!({"name": key, "kind": "training", "accelerators": 1, "duration_s": 1200});
        let (s, v, _) = until_answered(&key, || {
            http.post(format!("{}/api/v1/jobs", lb.url)).bearer_auth(&tenant).header("idempotency-key", &key).json(&body)
        })
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = JobId::parse(v["id"].as_str().unwrap()).unwrap();
        loop {
            if store.job(&id).await.unwrap().is_some_and(|j| j.placed_ms.is_some()) {
                break;
            }
            assert!(killed.elapsed() < Duration::from_secs(60), "kill {kill}: the probe job is not placed within 60 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        takeovers.push(killed.elapsed());
        acked.lock().await.jobs.insert(key, id.to_string());
        // The killed replica comes back on its port, as a supervisor would start it.
        let again = start(leader);
        replicas.lock().await[leader] = again;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }
    let mut secs: Vec<f64> = takeovers.iter().map(|d| d.as_secs_f64()).collect();
    eprintln!("takeovers (SIGKILL of the leader to the placement of the next job, through HAProxy): {secs:.2?} s");
    secs.sort_by(f64::total_cmp);
    eprintln!("takeover median {:.2} s, max {:.2} s", secs[secs.len() / 2], secs[secs.len() - 1]);

    let acked = acked.lock().await;
    // Jobs: every acknowledged key names one stored job with its name, and no name is stored twice.
    let (stored, placed) = stored_once_placed_at_most_once(&store, &TenantId::parse(&tenant_id).unwrap(), &acked.jobs).await;
    assert!(stored >= acked.jobs.len());
    // Transfers: sent again, each is found applied (exists), none applied now for the first time.
    let again: Vec<Value> = acked.transfers.iter().map(|id| json!({"id": id, "debit_account": payer, "credit_account": payee, "amount": "0.01", "reason": "adjustment", "reference": "ha-lb"})).collect();
    let (s, v, _) = until_answered("transfers again", || {
        http.post(format!("{}/api/v1/ledger/transfers", lb.url)).bearer_auth(operator).json(&json!({"transfers": again}))
    })
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v.as_array().unwrap().iter().all(|r| r["outcome"] == "exists"), "an acknowledged transfer was lost: {v}");
    // Readings: every acknowledged one stored, none twice (at most what was sent).
    let readings = store.energy_reading_count(&CentreId::parse(&centre).unwrap()).await.unwrap() - readings_before;
    assert!(
        (acked.readings as i64..=acked.readings_sent as i64).contains(&readings),
        "{readings} new readings stored; {} acknowledged of {} sent",
        acked.readings,
        acked.readings_sent
    );
    let verify = read(&http, &format!("{}/api/v1/ledger/verify", lb.url), operator).await;
    assert_eq!(verify["ok"], true, "{verify}");
    eprintln!(
        "acknowledged through the balancer: {} jobs ({placed} placed once each), {} transfers, {} readings; ledger verified",
        acked.jobs.len(),
        acked.transfers.len(),
        acked.readings
    );
    drop(replicas);
    drop(lb);
    store.close().await;
    let _ = Store::drop_schema(&pg_url(), &schema).await;
}

pub(crate) fn suanli_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Reads every job of `tenant` from `store`: each acknowledged key (a job's name) names exactly
/// the one job acknowledged for it, and no job was placed more than once (its `job.placed`
/// audits). Answers how many jobs are stored and how many placements there were.
pub(crate) async fn stored_once_placed_at_most_once(store: &Store, tenant: &TenantId, acked: &BTreeMap<String, String>) -> (usize, usize) {
    let mut stored: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut before = None;
    loop {
        let page = store
            .jobs(&JobFilter { tenant_id: Some(tenant.clone()), before: before.clone(), limit: 1000, ..Default::default() })
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        before = Some(last.id.clone());
        for j in &page {
            stored.entry(j.spec.name.clone()).or_default().push(j.id.to_string());
        }
    }
    for (key, id) in acked {
        assert_eq!(stored.get(key), Some(&vec![id.clone()]), "job {key}: acknowledged as {id}");
    }
    let mut placed = 0;
    for id in stored.values().flatten() {
        let n = store.audit_log(Some(id), 100).await.unwrap().iter().filter(|a| a.action == "job.placed").count();
        assert!(n <= 1, "job {id} was placed {n} times");
        placed += n;
    }
    (stored.values().map(Vec::len).sum(), placed)
}
