//! Time-sliced leases in the live engine on the simulated backend: a preemptible job moves to a faster type freed later, two tenants' preemptible jobs share one pool by turns, and every run segment is billed once and reconciles.

use crate::harness::{Api, TestServer, partner_centre, wait_for_final};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use suanli_dispatch::engine::Timeslicing;
use suanli_sched::timeslice::SlicePolicy;

/// Waits until a job is in `state`.
async fn wait_state(api: &Api, id: &str, state: &str, within: Duration) -> Value {
    let t0 = Instant::now();
    loop {
        let (_, v) = api.get(&format!("/api/v1/jobs/{id}")).await;
        if v["state"] == state {
            return v;
        }
        assert!(t0.elapsed() < within, "job {id} never became {state}: {v}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The job's bill, once the sweep has made it.
async fn bill_of(api: &Api, id: &str) -> Value {
    let t0 = Instant::now();
    loop {
        let (st, b) = api.get(&format!("/api/v1/jobs/{id}/bill")).await;
        if st == StatusCode::OK {
            return b;
        }
        assert!(t0.elapsed() < Duration::from_secs(15), "job {id} not billed: {b}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn fen(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a yuan string: {v}"));
    let (y, f) = s.split_once('.').unwrap();
    y.parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap()
}

/// A job's runs as (start, end) in ms: its segments, then its last run.
fn runs(explain: &Value, job: &Value) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = explain["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["started_ms"].as_i64().unwrap(), s["ended_ms"].as_i64().unwrap()))
        .collect();
    out.push((job["started_ms"].as_i64().unwrap(), job["finished_ms"].as_i64().unwrap()));
    out
}

/// The bill charges every segment at what it cost plus the last run, its usage is theirs
/// summed, and the ledger's reconciliation and verification find nothing wrong.
async fn assert_billed_whole(op: &Api, tenant: &Api, id: &str) -> Value {
    let job = tenant.get(&format!("/api/v1/jobs/{id}")).await.1;
    let (_, explain) = tenant.get(&format!("/api/v1/jobs/{id}/explain")).await;
    let segs = explain["segments"].as_array().unwrap();
    let bill = bill_of(tenant, id).await;
    let seg_cost: i64 = segs.iter().map(|s| fen(&s["cost"])).sum();
    let seg_usage: i64 = segs.iter().map(|s| s["usage_s"].as_i64().unwrap()).sum();
    assert_eq!(fen(&bill["charge"]), seg_cost + fen(&job["cost"]), "bill {bill} of job {job} with segments {segs:?}");
    assert_eq!(bill["usage_s"].as_i64().unwrap(), seg_usage + job["usage_s"].as_i64().unwrap(), "{bill}");
    assert_eq!(fen(&bill["voucher"]) + fen(&bill["cash"]) + fen(&bill["outstanding"]), fen(&bill["charge"]), "{bill}");
    let (_, rec) = op.get("/api/v1/ledger/reconciliation").await;
    assert_eq!(rec["mismatches"], json!([]), "{rec}");
    let (st, verify) = op.get("/api/v1/ledger/verify").await;
    assert_eq!(st, StatusCode::OK, "{verify}");
    explain
}

/// A preemptible job placed on a slow type (the fast one is busy with a job that cannot be
/// interrupted) moves to the fast type at the first lease's end after it is freed: its first
/// run is a `migrated` segment, the rest of its work runs there with the restore added, and
/// the bill charges both runs at their own pools' prices.
#[tokio::test]
async fn engine_timeslice_migrates_a_preemptible_job_to_a_faster_type_freed_later() {
    let s = TestServer::start().await;
    let (op, tenant) = (s.as_role("operator"), s.as_role("tenant"));
    let provider = op.get("/api/v1/providers").await.1["items"][0]["id"].clone();
    let centre = partner_centre(&op, &provider, "ts-migrate", "p100", "0.01").await;
    let fast = json!({"accelerator": "h100-sxm", "nodes": 1, "accelerators_per_node": 8, "price_per_hour": "5.00"});
    let (st, fast) = op.post(&format!("/api/v1/centres/{centre}/pools"), &fast).await;
    assert_eq!(st, StatusCode::CREATED, "{fast}");
    let fast_pool = fast["id"].as_str().unwrap().to_string();
    // Leases of 0.4 s wall (4 simulated hours at 36,000x).
    s.state.engine.set_timeslicing(Some(Timeslicing::new(0.4, SlicePolicy::Suanli)));

    // A job that cannot be interrupted holds every H100 for about 1.5 s.
    let blocker = json!({"name": "blocker", "kind": "training", "accelerators": 8, "models": ["h100-sxm"], "duration_s": 171_000});
    let (_, blocker) = tenant.post("/api/v1/jobs", &blocker).await;
    let blocker = blocker["id"].as_str().unwrap().to_string();
    wait_state(&tenant, &blocker, "running", Duration::from_secs(10)).await;
    // The preemptible job fits only the P100s now (cheapest there): 23 s of wall time on them,
    // under half a second on the H100s.
    let body = json!({"name": "mover", "kind": "training", "accelerators": 8, "models": ["p100", "h100-sxm"], "duration_s": 50_000,
                      "preemptible": true, "goal": "cheapest"});
    let (st, mover) = tenant.post("/api/v1/jobs", &body).await;
    assert_eq!(st, StatusCode::CREATED, "{mover}");
    let id = mover["id"].as_str().unwrap().to_string();
    let first = wait_state(&tenant, &id, "running", Duration::from_secs(10)).await;
    assert_ne!(first["pool_id"].as_str(), Some(fast_pool.as_str()), "it started on the busy H100s: {first}");

    let done = wait_for_final(&tenant, &id, Duration::from_secs(20)).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["pool_id"].as_str(), Some(fast_pool.as_str()), "it finished on the H100s: {done}");
    let blocked = wait_for_final(&tenant, &blocker, Duration::from_secs(10)).await;
    let explain = assert_billed_whole(&op, &tenant, &id).await;
    let segs = explain["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 1, "one stop, the move: {explain}");
    assert_eq!(segs[0]["ended_by"], "migrated", "{explain}");
    assert_eq!(segs[0]["pool_id"], first["pool_id"], "{explain}");
    assert!(segs[0]["reason"].as_str().unwrap().contains("moved from"), "{explain}");
    // Why it stopped, typed: the move's pools and accelerators as data.
    let why = &segs[0]["reason_detail"];
    assert_eq!((segs[0]["reason_code"].as_str(), why["code"].as_str()), (Some("lease_moved"), Some("lease_moved")), "{explain}");
    assert_eq!(
        (&why["from_pool"], why["to_pool"].as_str(), why["to_accelerator"].as_str()),
        (&first["pool_id"], Some(fast_pool.as_str()), Some("h100-sxm")),
        "{explain}"
    );
    // The job's page lists the run, how and why it ended, in each language.
    let web = crate::harness::Web::sign_in(&s.url, &s.tokens["tenant"]).await.unwrap();
    let zh = web.page(&format!("/jobs/{id}?lang=zh")).await;
    assert!(zh.contains(r#"id="segments""#) && zh.contains("租期结束，迁移到其他型号") && zh.contains("租期结束，作业从资源池 "), "{zh}");
    assert!(zh.contains(r#"data-code="lease_moved""#) && !zh.contains("原文"), "{zh}");
    let en = web.page(&format!("/jobs/{id}?lang=en")).await;
    assert!(en.contains("lease ended: moved to another type") && en.contains("its lease ended and it moved from "), "{en}");
    // The rest of the work ran on the H100s, plus the 30 s restore: 50,000 reference seconds
    // less what the P100s did, at the H100's speed (989 / 312 TFLOPS).
    let left = 50_000.0 - segs[0]["work_ref_s"].as_f64().unwrap();
    let expected = left / (989.0 / 312.0) + 30.0;
    let usage = done["usage_s"].as_f64().unwrap();
    assert!((usage - expected).abs() <= 2.0, "last run {usage} s, expected {expected:.0} s: {done} {explain}");
    // Nothing ran twice at once, and it took the H100s only after the blocker had finished.
    let r = runs(&explain, &done);
    assert!(r[0].1 <= r[1].0, "the runs overlap: {r:?}");
    assert!(r[1].0 >= blocked["finished_ms"].as_i64().unwrap(), "it shared the H100s with the blocker: {r:?} {blocked}");
    // The job that cannot be interrupted was placed once and never stopped.
    let (_, b) = tenant.get(&format!("/api/v1/jobs/{blocker}/explain")).await;
    assert_eq!(b["segments"], json!([]), "{b}");
    let (_, audit) = op.get(&format!("/api/v1/audit?subject={id}")).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"job.migrated") && actions.contains(&"job.leased"), "{actions:?}");
}

/// Two tenants' preemptible jobs on one pool of eight P100s, least attained service first:
/// they take turns across leases (each yields at least once), never run at the same time,
/// both finish, and every segment is billed once.
#[tokio::test]
async fn engine_timeslice_two_tenants_share_one_pool_by_turns() {
    let s = TestServer::start().await;
    let op = s.as_role("operator");
    let provider = op.get("/api/v1/providers").await.1["items"][0]["id"].clone();
    let centre = partner_centre(&op, &provider, "ts-turns", "p100", "1.00").await;
    let (_, tenants) = op.get("/api/v1/tenants").await;
    let tenants: Vec<String> = tenants["items"].as_array().unwrap().iter().take(2).map(|t| t["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(tenants.len(), 2, "the demo city has two tenants");
    for (i, t) in tenants.iter().enumerate() {
        let top_up = json!({"amount": "100000.00", "reference": format!("ts-turns-{i}")});
        let (st, v) = op.post(&format!("/api/v1/tenants/{t}/top-ups"), &top_up).await;
        assert!(st.is_success(), "{v}");
    }
    s.state.engine.set_timeslicing(Some(Timeslicing::new(0.3, SlicePolicy::FairAgnostic)));
    // Each runs about 1.7 s of wall time alone on the P100s.
    let mut ids = Vec::new();
    for (i, t) in tenants.iter().enumerate() {
        let body = json!({"tenant_id": t, "name": format!("turn-{i}"), "kind": "batch", "accelerators": 8, "models": ["p100"],
                          "duration_s": 3_600, "preemptible": true});
        let (st, v) = op.post("/api/v1/jobs", &body).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    let mut all_runs = Vec::new();
    for id in &ids {
        let done = wait_for_final(&op, id, Duration::from_secs(30)).await;
        assert_eq!((done["state"].as_str(), done["centre_id"].as_str()), (Some("succeeded"), Some(centre.as_str())), "{done}");
        let explain = assert_billed_whole(&op, &op, id).await;
        let segs = explain["segments"].as_array().unwrap();
        assert!(segs.iter().any(|s| s["ended_by"] == "yielded"), "job {id} never gave its turn: {explain}");
        // Its work adds up: the segments' work and the last run's (less its restore) make the job.
        let work: f64 = segs.iter().map(|s| s["work_ref_s"].as_f64().unwrap()).sum::<f64>()
            + (done["usage_s"].as_f64().unwrap() - 30.0) * (18.7 / 312.0);
        assert!((work - 3_600.0).abs() < 5.0, "job {id} did {work:.0} s of its 3,600: {explain} {done}");
        all_runs.extend(runs(&explain, &done));
    }
    all_runs.sort();
    for w in all_runs.windows(2) {
        assert!(w[0].1 <= w[1].0, "two runs on the one pool at once: {all_runs:?}");
    }
}
