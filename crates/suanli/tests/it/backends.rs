//! Backends bound per centre and what the platform believes of them: an unbound centre takes no jobs outside the demo, bills match quotes, and a centre cannot bill more than its jobs could have run.

use crate::harness::{TestServer, partner_centre, run_estimate_s, wait_for_final};
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

/// Outside the demo a centre bound to no backend takes no jobs, and says why; `sim` cannot be
/// bound there; a binding is stored and audited, and refused while jobs run on the centre.
#[tokio::test]
async fn unbound_centre_takes_no_jobs_outside_the_demo() {
    let s = TestServer::start_empty().await;
    let op = s.as_role("operator");
    let (st, provider) = op.post("/api/v1/providers", &json!({"name": "西湖算力"})).await;
    assert_eq!(st, StatusCode::CREATED, "{provider}");
    let cid = partner_centre(&op, &provider["id"], "unbound", "a100-80g", "10.00").await;
    let (st, tenant) = op
        .post("/api/v1/tenants", &json!({"name": "杭州新锐智能有限公司", "uscc": "9144030071526726XG", "sme": true, "region": "hz-xihu"}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{tenant}");
    let (_, user) = op.post("/api/v1/users", &json!({"name": "t", "role": "tenant", "tenant_id": tenant["id"]})).await;
    let t = op.with_token(user["token"].as_str().unwrap());
    assert_eq!(
        op.post(&format!("/api/v1/tenants/{}/top-ups", tenant["id"].as_str().unwrap()), &json!({"amount": "10000"})).await.0,
        StatusCode::OK
    );

    let (_, centre) = t.get(&format!("/api/v1/centres/{cid}")).await;
    assert!(centre["backend"].is_null(), "{centre}");
    assert!(centre["not_taking_jobs"].as_str().unwrap().contains("bound to no backend"), "{centre}");
    let (st, job) = t.post("/api/v1/jobs", &json!({"name": "j", "kind": "batch", "accelerators": 1, "duration_s": 600})).await;
    assert_eq!(st, StatusCode::CREATED, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(600)).await; // about 30 rounds
    let (_, v) = t.get(&format!("/api/v1/jobs/{id}")).await;
    assert_eq!(v["state"], "pending", "an unbound centre ran a job: {v}");

    // `sim` exists only in the demo; a bad URL is refused; neither changes anything.
    for (url, code) in [("sim", "invalid_backend"), ("http://x", "invalid_backend"), ("slurm+http://h:1?token=secret", "invalid_backend")] {
        let (st, e) = op.put(&format!("/api/v1/centres/{cid}/backend"), &json!({"url": url})).await;
        assert_eq!((st, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{url}: {e}");
    }
    assert_eq!(op.get(&format!("/api/v1/centres/{cid}/backend")).await.0, StatusCode::NOT_FOUND);
    // A tenant may not bind; the operator binds it to an agent, which has not connected yet.
    assert_eq!(t.put(&format!("/api/v1/centres/{cid}/backend"), &json!({"url": "agent"})).await.0, StatusCode::FORBIDDEN);
    let (st, b) = op.put(&format!("/api/v1/centres/{cid}/backend"), &json!({"url": "agent"})).await;
    assert_eq!((st, b["url"].as_str()), (StatusCode::OK, Some("agent")), "{b}");
    let (_, centre) = t.get(&format!("/api/v1/centres/{cid}")).await;
    assert!(centre["not_taking_jobs"].as_str().unwrap().contains("not been heard from"), "{centre}");
    let (_, audit) = op.get(&format!("/api/v1/audit?subject={cid}")).await;
    assert!(audit["items"].as_array().unwrap().iter().any(|a| a["action"] == "centre.bind_backend"), "{audit}");

    // The binding survives a restart of the platform on the same store.
    let stored = s.state.store.backend_bindings().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].url, "agent");

    // The CLI does the same: show, unbind (the centre has no job in flight), bind again.
    let cli = |args: Vec<String>| {
        let (url, token) = (s.url.clone(), s.tokens["operator"].clone());
        async move {
            // A child process: its blocking wait must not stall this test's runtime, which serves it.
            let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_suanli"))
                .args(["--server", &url, "--token", &token, "--output", "json"])
                .args(&args)
                .output()
                .await
                .unwrap();
            assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap_or_default()
        }
    };
    let args = |a: &[&str]| a.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(cli(args(&["centres", "backend", &cid])).await["url"], "agent");
    cli(args(&["centres", "unbind", &cid])).await;
    assert!(s.state.store.backend_bindings().await.unwrap().is_empty());
    assert_eq!(cli(args(&["centres", "bind", &cid, "agent"])).await["url"], "agent");
    // The centre's page says why it takes no jobs.
    let web = crate::harness::Web::sign_in(&s.url, &s.tokens["operator"]).await.unwrap();
    let page = web.page(&format!("/centres/{cid}?lang=en")).await;
    assert!(page.contains(r#"id="backend""#) && page.contains("Takes no jobs now"), "{page}");
}

/// The attack of issue 13.1: a provider's agent reports a second of running as a billion
/// seconds of usage. The platform refuses the report, fails the job as the centre's fault, bills
/// the tenant nothing, and records an alert against the centre.
#[tokio::test]
async fn an_agent_cannot_bill_more_than_the_run_it_reports() {
    let s = TestServer::start().await;
    let (op, tenant, provider) = (s.as_role("operator"), s.as_role("tenant"), s.as_role("provider"));
    let provider_id = provider.get("/api/v1/me").await.1["provider_id"].clone();
    // The only pool of this model in the demo city, so the job can only go there.
    let cid = partner_centre(&op, &provider_id, "greedy", "h100-sxm", "0.50").await;
    // The provider binds its own centre to its agent; it may not set a time scale.
    let path = format!("/api/v1/centres/{cid}/backend");
    assert_eq!(provider.put(&path, &json!({"url": "agent?time_scale=1000"})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(provider.put(&path, &json!({"url": "agent"})).await.0, StatusCode::OK);
    // Its agent polls once (a heartbeat), so the centre takes jobs.
    assert_eq!(provider.get(&format!("/api/v1/agents/{cid}/assignments?wait_ms=0")).await.0, StatusCode::OK);
    let (_, before) = tenant.get("/api/v1/me").await;
    let tenant_id = before["tenant_id"].as_str().unwrap().to_string();
    let (_, balance_before) = tenant.get(&format!("/api/v1/tenants/{tenant_id}/balance")).await;

    let (st, job) = tenant
        .post("/api/v1/jobs", &json!({"name": "victim", "kind": "batch", "accelerators": 1, "models": ["h100-sxm"], "duration_s": 3600}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let t0 = Instant::now();
    loop {
        let (st, a) = provider.get(&format!("/api/v1/agents/{cid}/assignments?wait_ms=200")).await;
        assert_eq!(st, StatusCode::OK, "{a}");
        if a["submit"].as_array().unwrap().iter().any(|x| x["job"]["id"] == id.as_str()) {
            assert!(a["submit"][0]["run_s"].as_f64().unwrap() > 0.0, "{a}");
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "never assigned");
    }
    let claim = json!({"statuses": [{"job_id": id, "state": "succeeded", "started_ms": now() - 1000, "ended_ms": now(), "usage_s": 1_000_000_000i64}],
                       "active": []});
    assert_eq!(provider.post(&format!("/api/v1/agents/{cid}/reports"), &claim).await.0, StatusCode::OK);
    let done = wait_for_final(&tenant, &id, Duration::from_secs(10)).await;
    assert_eq!(
        (done["state"].as_str(), done["fault"].as_str(), done["cost"].as_str()),
        (Some("failed"), Some("centre"), Some("0.00")),
        "{done}"
    );
    assert!(done["reason"].as_str().unwrap().contains("usage_report_refused"), "{done}");
    // The failure's code and arguments as data: a program need not read the English.
    let detail = &done["reason_detail"];
    assert_eq!((done["reason_code"].as_str(), detail["code"].as_str()), (Some("usage_refused"), Some("usage_refused")), "{done}");
    assert!(done["reason"].as_str().unwrap().contains(detail["detail"].as_str().unwrap()), "{done}");
    let (_, explain) = tenant.get(&format!("/api/v1/jobs/{id}/explain")).await;
    assert_eq!((&explain["reason_code"], &explain["reason_detail"]), (&done["reason_code"], detail), "{explain}");
    let t0 = Instant::now();
    let bill = loop {
        let (st, b) = tenant.get(&format!("/api/v1/jobs/{id}/bill")).await;
        if st == StatusCode::OK {
            break b;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "not billed: {b}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((bill["charge"].as_str(), bill["rule"].as_str()), (Some("0.00"), Some("centre_fault")), "{bill}");
    let (_, balance) = tenant.get(&format!("/api/v1/tenants/{tenant_id}/balance")).await;
    for k in ["cash_available", "cash_posted", "outstanding"] {
        assert_eq!(balance[k], balance_before[k], "the tenant paid for an impossible run: {balance} vs {balance_before}");
    }
    let (_, audit) = op.get(&format!("/api/v1/audit?subject={cid}")).await;
    let alert = audit["items"].as_array().unwrap().iter().find(|a| a["action"] == "centre.alert").cloned();
    assert_eq!(alert.as_ref().map(|a| a["detail"]["code"].clone()), Some(json!("usage_report_refused")), "{audit}");
    let (_, rec) = op.get("/api/v1/ledger/reconciliation").await;
    assert_eq!(rec["mismatches"], json!([]), "{rec}");
}

/// A finished demo job costs what its quote for the pool it ran on said, within 10%: the
/// simulated centre runs a job for its reference duration over the accelerator's speed, as the
/// quote assumes.
#[tokio::test]
async fn demo_bills_match_the_quote_of_the_pool_they_ran_on() {
    let s = TestServer::start().await;
    let tenant = s.as_role("tenant");
    let mut checked = 0;
    for (model, goal) in [("h800", "fastest"), ("l40s", "cheapest"), ("ascend-910b2", "balanced"), ("a800", "greenest")] {
        let body = json!({"name": "q", "kind": "training", "accelerators": 4, "models": [model], "duration_s": 7200, "goal": goal});
        let (st, job) = tenant.post("/api/v1/jobs", &body).await;
        if st != StatusCode::CREATED {
            continue; // the demo city has no pool of this model
        }
        let id = job["id"].as_str().unwrap().to_string();
        let done = wait_for_final(&tenant, &id, Duration::from_secs(30)).await;
        if done["state"] != "succeeded" {
            continue; // the demo's simulated failures (2%)
        }
        let (_, explain) = tenant.get(&format!("/api/v1/jobs/{id}/explain")).await;
        let quoted: f64 = explain["decision"]["chosen"]["compute_cost"].as_str().unwrap().parse().unwrap();
        let cost: f64 = done["cost"].as_str().unwrap().parse().unwrap();
        assert!((cost - quoted).abs() <= 0.10 * quoted, "{model}: billed ¥{cost} against a quote of ¥{quoted} for its pool");
        let (usage, run_s) = (done["usage_s"].as_i64().unwrap(), run_estimate_s(&tenant, &id).await);
        assert!((usage - run_s.round() as i64).abs() <= 1, "{model}: metered {usage} s, run {run_s} s");
        checked += 1;
    }
    assert!(checked >= 2, "too few demo jobs finished to compare ({checked})");
}

/// Issue 13.7: a client that never finishes its headers is disconnected after the header-read
/// timeout, and connections past the limit are closed at once; the server keeps answering.
#[tokio::test]
async fn slow_clients_and_connection_floods_are_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let cfg = suanli_server::ServeConfig::at(dir.path());
    let state = suanli_server::build_state(&cfg).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = suanli_server::ConnLimits { max_connections: 3, header_read_timeout: Duration::from_millis(800) };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(suanli_server::serve_listener(listener, suanli_server::router(state), limits, async {
        let _ = stopped.await;
    }));
    // Three slow-header (slowloris) clients take every slot.
    let mut slow = Vec::new();
    for _ in 0..3 {
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        slow.push(c);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A fourth is closed at once: it reads end-of-stream, not an answer.
    let mut extra = tokio::net::TcpStream::connect(addr).await.unwrap();
    let _ = extra.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(2), extra.read(&mut buf)).await.expect("the extra connection hung").unwrap_or(0);
    assert_eq!(n, 0, "a connection past the limit was served: {:?}", String::from_utf8_lossy(&buf[..n]));
    // The slow ones are cut off by the header-read timeout.
    let t0 = Instant::now();
    for c in &mut slow {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut rest)).await;
        assert!(read.is_ok(), "a slow-header client was held past 5 s");
    }
    assert!(t0.elapsed() < Duration::from_secs(5));
    // Their slots are free again: an ordinary request is answered.
    let http = reqwest::Client::new();
    let r = http.get(format!("http://{addr}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// Issue 13.2, the attack first: a tenant with ¥0 asks for a whole pool at priority 9. Its job
/// waits for funds without holding the pool, so a funded job runs at once; a top-up brings it
/// back; jobs waiting for funds are limited per tenant and cancelled when they wait too long.
#[tokio::test]
async fn unfunded_jobs_hold_no_capacity_and_are_bounded() {
    let s = TestServer::start().await;
    let (op, funded) = (s.as_role("operator"), s.as_role("tenant"));
    let provider = op.get("/api/v1/providers").await.1["items"][0]["id"].clone();
    // The only H100 pool in the city: 8 accelerators.
    partner_centre(&op, &provider, "h100", "h100-sxm", "20.00").await;
    let (st, t) =
        op.post("/api/v1/tenants", &json!({"name": "没钱的公司", "uscc": "91110000600037341L", "sme": true, "region": "hz-xihu"})).await;
    assert_eq!(st, StatusCode::CREATED, "{t}");
    let (_, u) = op.post("/api/v1/users", &json!({"name": "broke", "role": "tenant", "tenant_id": t["id"]})).await;
    let broke = op.with_token(u["token"].as_str().unwrap());
    let whole =
        json!({"name": "whole-pool", "kind": "training", "accelerators": 8, "models": ["h100-sxm"], "duration_s": 36_000, "priority": 9});
    let (st, big) = broke.post("/api/v1/jobs", &whole).await;
    assert_eq!(st, StatusCode::CREATED, "{big}");
    let big = big["id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    let refused = loop {
        let (_, v) = broke.get(&format!("/api/v1/jobs/{big}")).await;
        if v["reason"].as_str().unwrap_or("").contains("waiting for funds") {
            break v;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "the unfunded job never tried to be placed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Refused a hold: its code and its figures as data (money in fen), the same the English says.
    let detail = &refused["reason_detail"];
    assert_eq!(
        (refused["reason_code"].as_str(), detail["code"].as_str()),
        (Some("waiting_for_funds"), Some("waiting_for_funds")),
        "{refused}"
    );
    let (estimate, cash) = (detail["estimate"].as_i64().unwrap(), detail["cash_available"].as_i64().unwrap());
    assert!(estimate > cash && detail["voucher_pct"].is_u64(), "{refused}");
    let yuan = |fen: i64| format!("¥{}.{:02}", fen / 100, fen % 100);
    let english = refused["reason"].as_str().unwrap();
    assert!(
        english.contains(&format!("up to {}", yuan(estimate))) && english.contains(&format!("has {} available", yuan(cash))),
        "{refused}"
    );
    // A funded one-accelerator job runs at once on the idle pool.
    let small = json!({"name": "small", "kind": "batch", "accelerators": 1, "models": ["h100-sxm"], "duration_s": 600, "priority": 0});
    let (_, job) = funded.post("/api/v1/jobs", &small).await;
    let id = job["id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    let done = wait_for_final(&funded, &id, Duration::from_secs(10)).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert!(t0.elapsed() < Duration::from_secs(5), "the funded job waited {:?} behind an unfunded one", t0.elapsed());
    assert_eq!(broke.get(&format!("/api/v1/jobs/{big}")).await.1["state"], "pending");

    // At most N jobs wait for funds per tenant; the next is refused with its code.
    s.state.engine.set_unfunded_limit(2);
    let (_, second) = broke.post("/api/v1/jobs", &whole).await;
    let second = second["id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    while s.state.engine.waiting_for_funds(&suanli_core::id::TenantId::parse(t["id"].as_str().unwrap()).unwrap()) < 2 {
        assert!(t0.elapsed() < Duration::from_secs(10), "the second job was never tried");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (st, e) = broke.post("/api/v1/jobs", &whole).await;
    assert_eq!((st, e["code"].as_str()), (StatusCode::CONFLICT, Some("unfunded_jobs_limit")), "{e}");

    // A top-up brings them back: the first runs.
    let top = json!({"amount": "20000"});
    assert_eq!(op.post(&format!("/api/v1/tenants/{}/top-ups", t["id"].as_str().unwrap()), &top).await.0, StatusCode::OK);
    let t0 = Instant::now();
    while broke.get(&format!("/api/v1/jobs/{big}")).await.1["state"] == "pending" {
        assert!(t0.elapsed() < Duration::from_secs(10), "a top-up did not bring the job back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The second still cannot be funded (¥20,000 holds one 10-hour run); it expires.
    s.state.engine.set_unfunded_expiry(Duration::from_millis(200));
    let v = wait_for_final(&broke, &second, Duration::from_secs(10)).await;
    assert_eq!(v["state"], "cancelled", "{v}");
    assert!(v["reason"].as_str().unwrap().contains("waited for funds"), "{v}");
    assert_eq!(v["reason_detail"], json!({"code": "cancelled_unfunded"}), "{v}");
    let (_, b) = broke.get(&format!("/api/v1/jobs/{second}/bill")).await;
    assert!(b["charge"].is_null() || b["charge"] == "0.00", "{b}");
}

/// Issue 20: the "could any pool ever run it" check reads a registry copy up to a second old,
/// but a refusal is confirmed against the store: a job for a pool added a moment ago is taken.
#[tokio::test]
async fn a_pool_added_a_moment_ago_takes_jobs_at_once() {
    let s = TestServer::start().await;
    let (op, tenant) = (s.as_role("operator"), s.as_role("tenant"));
    let h100 = json!({"name": "needs-h100", "kind": "batch", "accelerators": 1, "models": ["h100-sxm"], "duration_s": 600});
    // Refused while the city has no H100, which also fills the registry copy.
    let (st, e) = tenant.post("/api/v1/jobs", &h100).await;
    assert_eq!((st, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("job_unsatisfiable")), "{e}");
    let (st, ok) = tenant.post("/api/v1/jobs", &json!({"name": "any", "kind": "batch", "accelerators": 1, "duration_s": 600})).await;
    assert_eq!(st, StatusCode::CREATED, "{ok}");
    let provider = op.get("/api/v1/providers").await.1["items"][0]["id"].clone();
    partner_centre(&op, &provider, "fresh-h100", "h100-sxm", "20.00").await;
    let (st, job) = tenant.post("/api/v1/jobs", &h100).await;
    assert_eq!(st, StatusCode::CREATED, "a job for a pool added just now was refused: {job}");
    // And a job nothing can run is still refused, with its reason.
    let (st, e) = tenant.post("/api/v1/jobs", &json!({"name": "too-big", "kind": "batch", "accelerators": 4096, "duration_s": 600})).await;
    assert_eq!((st, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("job_unsatisfiable")), "{e}");
}

/// The agent protocol (issue 12) is versioned apart from the core job: the typed client that
/// `suanli agent` uses speaks version 1 and is told only what its centre needs of a job; a
/// version the platform does not speak is refused with its code before the centre is bound; a
/// report with a state the protocol does not know is refused whole and changes nothing.
#[tokio::test]
async fn the_agent_protocol_is_versioned_and_a_malformed_report_changes_nothing() {
    use suanli_api::agent::v1;
    let s = TestServer::start().await;
    let (op, tenant, provider) = (s.as_role("operator"), s.as_role("tenant"), s.as_role("provider"));
    let provider_id = provider.get("/api/v1/me").await.1["provider_id"].clone();
    let cid = partner_centre(&op, &provider_id, "versioned", "h100-sxm", "0.50").await;
    let centre = suanli_core::id::CentreId::parse(&cid).unwrap();
    let poll = format!("{}/api/v1/agents/{cid}/assignments?wait_ms=0", s.url);
    let raw = reqwest::Client::new();
    for version in ["2", "v1"] {
        let r = raw.get(&poll).bearer_auth(provider.token().unwrap()).header("suanli-agent-protocol", version).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let problem: serde_json::Value = r.json().await.unwrap();
        assert_eq!(problem["code"], "agent_protocol_unsupported", "{problem}");
        assert!(problem["detail"].as_str().unwrap().contains("speaks 1"), "{problem}");
    }
    let binding = format!("/api/v1/centres/{cid}/backend");
    let (st, b) = op.get(&binding).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "a refused agent bound the centre: {b}");

    // The typed client polls (binding the unbound centre to its agent) and is assigned a job.
    let agent = suanli_api::Client::new(&s.url, provider.token().map(str::to_string)).unwrap();
    let first = agent.agent_assignments(&centre, Duration::ZERO).await.unwrap();
    assert_eq!((first.protocol, first.is_empty()), (v1::VERSION, true));
    assert_eq!(op.get(&binding).await.1["url"], "agent");
    let (st, job) = tenant
        .post("/api/v1/jobs", &json!({"name": "told", "kind": "batch", "accelerators": 1, "models": ["h100-sxm"], "duration_s": 3600}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    let told = loop {
        let a = agent.agent_assignments(&centre, Duration::from_millis(200)).await.unwrap();
        if let Some(x) = a.submit.into_iter().find(|x| x.job.id.as_str() == id) {
            break x;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "never assigned");
    };
    assert_eq!((told.job.name.as_str(), told.job.accelerators, told.job.duration_s), ("told", 1, 3600));
    assert_eq!(Some(told.job.tenant_id.as_str()), job["tenant_id"].as_str());
    assert!(told.job.placed_ms.is_some() && told.run_s > 0.0, "{told:?}");

    // A report whose state the protocol does not know is refused whole: the job stays placed.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let bad = json!({"statuses": [{"job_id": id, "state": "exploded", "started_ms": now}], "active": [id]});
    let (st, problem) = provider.post(&format!("/api/v1/agents/{cid}/reports"), &bad).await;
    assert_eq!((st, problem["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")), "{problem}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(tenant.get(&format!("/api/v1/jobs/{id}")).await.1["state"], "placed");

    // The typed report of a running job is taken, and the job runs.
    let running = v1::JobReport {
        job_id: told.job.id.clone(),
        state: v1::RunState::Running,
        started_ms: Some(now),
        ended_ms: None,
        usage_s: None,
        fault: None,
        reason: None,
    };
    let ack = agent.agent_report(&centre, &v1::Report { statuses: vec![running], active: vec![told.job.id.clone()], capacity: None }).await;
    assert_eq!(ack.unwrap().accepted, 1);
    let t0 = Instant::now();
    while tenant.get(&format!("/api/v1/jobs/{id}")).await.1["state"] != "running" {
        assert!(t0.elapsed() < Duration::from_secs(10), "the reported run never showed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
