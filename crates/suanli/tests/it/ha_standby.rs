//! The database's own failover: a `suanli serve` replica on a PostgreSQL primary with a synchronous streaming standby (`scripts/pg-standby.sh`), a load of job submissions and ledger transfers, the primary SIGKILLed and the standby promoted by hand; the replica follows the promotion by itself and no acknowledged write is lost.
//!
//! `DATABASE_URL` names both hosts (`…@127.0.0.1:P,127.0.0.1:S/postgres?target_session_attrs=read-write`).
//! The primary acknowledges a commit only once the standby has it, so everything the platform
//! acknowledged before the kill is on the standby. The test prints the time from the kill to
//! the first acknowledged write after it, and from the promotion to that write.

use crate::ha::{Replica, leads_within, tenant_token};
use crate::ha_balancer::{read, stored_once_placed_at_most_once, until_answered};
use crate::harness::{missing, unique_schema};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use suanli_core::id::TenantId;
use suanli_store::{Store, StoreOptions};
use tokio::sync::Mutex;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-standby.sh")
}

/// A primary and its synchronous standby, stopped and removed when dropped.
struct Pair {
    dir: PathBuf,
    url: String,
    standby_port: u16,
}

impl Pair {
    fn start(dir: PathBuf) -> Result<Pair, String> {
        let out = Command::new(script()).arg("start").arg(&dir).output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let field = |k: &str| text.lines().find_map(|l| l.strip_prefix(&format!("{k}="))).map(str::to_owned);
        Ok(Pair {
            dir,
            url: field("DATABASE_URL").ok_or("no DATABASE_URL printed")?,
            standby_port: field("STANDBY_PORT").and_then(|p| p.parse().ok()).ok_or("no STANDBY_PORT printed")?,
        })
    }

    fn run(&self, what: &str) {
        let out = Command::new(script()).arg(what).arg(&self.dir).output().unwrap();
        assert!(out.status.success(), "pg-standby.sh {what}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = Command::new(script()).arg("stop").arg(&self.dir).output();
    }
}

#[derive(Default)]
struct Acknowledged {
    jobs: BTreeMap<String, String>,
    transfers: Vec<String>,
    /// When each acknowledgement arrived.
    times: Vec<Instant>,
}

/// A replica on a primary and its synchronous standby; the primary SIGKILLed under load, the
/// standby promoted; the replica moves to it by itself, every acknowledged job and transfer is
/// on it exactly once, jobs are placed again, and the ledger verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ha_standby_promotion_after_primary_kill_loses_no_acknowledged_write() {
    let test = "ha_standby_promotion_after_primary_kill_loses_no_acknowledged_write";
    let dir = tempfile::tempdir().unwrap();
    let pair = match Pair::start(dir.path().join("pg")) {
        Ok(p) => p,
        Err(e) => {
            missing(test, &format!("a PostgreSQL primary with a standby cannot start (scripts/pg-standby.sh): {e}"));
            return;
        }
    };
    let schema = unique_schema("ha_sb");
    let replica = Replica::start_on(dir.path(), &schema, "replica-0", "127.0.0.1:0", &pair.url);
    leads_within(&replica, Duration::from_secs(20)).await;
    let url = replica.url().to_string();
    let tokens: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("demo-tokens.json")).unwrap()).unwrap();
    let (tenant, operator) = (tenant_token(dir.path()), tokens["operator"].as_str().unwrap().to_string());
    let http = reqwest::Client::new();
    let me = read(&http, &format!("{url}/api/v1/me"), &tenant).await;
    let tenant_id = me["tenant_id"].as_str().unwrap().to_string();
    let all = read(&http, &format!("{url}/api/v1/tenants?limit=1000"), &operator).await;
    let others: Vec<&str> =
        all["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).filter(|t| *t != tenant_id).collect();
    let (payer, payee) = (suanli_ledger::chart::cash(others[0]).id.to_hex(), suanli_ledger::chart::cash(others[1]).id.to_hex());

    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for w in 0..2 {
        let (http, url, token, acked, stop) = (http.clone(), url.clone(), tenant.clone(), acked.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("sb-{w}-{n}");
                let body = json!({"name": key, "kind": "training", "accelerators": 1, "duration_s": 1200});
                let (s, v, _) = until_answered(&key, || {
                    http.post(format!("{url}/api/v1/jobs")).bearer_auth(&token).header("idempotency-key", &key).json(&body)
                })
                .await;
                assert_eq!(s, StatusCode::CREATED, "{key}: {v}");
                let mut a = acked.lock().await;
                a.jobs.insert(key, v["id"].as_str().unwrap().to_string());
                a.times.push(Instant::now());
                drop(a);
                n += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }));
    }
    {
        let (http, url, token, acked, stop) = (http.clone(), url.clone(), operator.clone(), acked.clone(), stop.clone());
        let (payer, payee) = (payer.clone(), payee.clone());
        load.push(tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let id = format!("5b{n:06x}");
                let body = json!({"transfers": [{"id": id, "debit_account": payer, "credit_account": payee, "amount": "0.01", "reason": "adjustment", "reference": "ha-standby"}]});
                let (s, v, _) =
                    until_answered(&id, || http.post(format!("{url}/api/v1/ledger/transfers")).bearer_auth(&token).json(&body)).await;
                assert_eq!(s, StatusCode::CREATED, "transfer {id}: {v}");
                assert!(["created", "exists"].contains(&v[0]["outcome"].as_str().unwrap_or("")), "transfer {id}: {v}");
                let mut a = acked.lock().await;
                a.transfers.push(id);
                a.times.push(Instant::now());
                drop(a);
                n += 1;
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        }));
    }

    tokio::time::sleep(Duration::from_secs(3)).await;
    let before_kill = { acked.lock().await.times.len() };
    pair.run("kill-primary");
    let killed = Instant::now();
    // The operator's reaction (or a failover manager's): a second, then the promotion.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let promoting = Instant::now();
    pair.run("promote");
    let promoted = promoting.elapsed();
    // The first write acknowledged after the kill.
    let first = loop {
        if let Some(t) = acked.lock().await.times.iter().find(|t| **t > killed) {
            break *t;
        }
        assert!(killed.elapsed() < Duration::from_secs(60), "no write acknowledged within 60 s of the primary's kill");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // A job submitted after the promotion is placed.
    let body = json!({"name": "after-promotion", "kind": "training", "accelerators": 1, "duration_s": 1200});
    let (s, v, _) = until_answered("probe", || {
        http.post(format!("{url}/api/v1/jobs")).bearer_auth(&tenant).header("idempotency-key", "after-promotion").json(&body)
    })
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let probe = v["id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    loop {
        let j = read(&http, &format!("{url}/api/v1/jobs/{probe}"), &tenant).await;
        if j["state"] != "pending" {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "the job submitted after the promotion is not placed: {j}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let placed_after = killed.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }
    eprintln!(
        "primary SIGKILLed; promoted 1 s later (pg_ctl promote took {:.2} s); first write acknowledged {:.2} s after the kill \
         ({:.2} s after the promotion began); a new job placed {:.2} s after the kill",
        promoted.as_secs_f64(),
        (first - killed).as_secs_f64(),
        first.saturating_duration_since(promoting).as_secs_f64(),
        placed_after.as_secs_f64(),
    );

    // Everything acknowledged is on the promoted standby, read directly.
    let acked = acked.lock().await;
    let standby = format!("postgres://postgres@127.0.0.1:{}/postgres", pair.standby_port);
    let store = Store::connect(&standby, StoreOptions { pg_schema: Some(schema.clone()), ..Default::default() }).await.unwrap();
    let mut keys = acked.jobs.clone();
    keys.insert("after-promotion".into(), probe.clone());
    let (_, placed) = stored_once_placed_at_most_once(&store, &TenantId::parse(&tenant_id).unwrap(), &keys).await;
    let again: Vec<Value> = acked.transfers.iter().map(|id| json!({"id": id, "debit_account": payer, "credit_account": payee, "amount": "0.01", "reason": "adjustment", "reference": "ha-standby"})).collect();
    let (s, v, _) = until_answered("transfers again", || {
        http.post(format!("{url}/api/v1/ledger/transfers")).bearer_auth(&operator).json(&json!({"transfers": again}))
    })
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v.as_array().unwrap().iter().all(|r| r["outcome"] == "exists"), "an acknowledged transfer was lost: {v}");
    let verify = read(&http, &format!("{url}/api/v1/ledger/verify"), &operator).await;
    assert_eq!(verify["ok"], true, "{verify}");
    eprintln!(
        "acknowledged: {} jobs ({placed} placed once each), {} transfers, {before_kill} of them before the kill; all on the promoted standby; ledger verified",
        acked.jobs.len(),
        acked.transfers.len(),
    );
    drop(replica);
    store.close().await;
}
