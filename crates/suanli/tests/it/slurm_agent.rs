//! Live tests of centres reached through `suanli agent`: an agent running jobs on the local Slurm and surviving its own restart and the platform's, failover and restart of a dark centre's jobs, and self-fencing when the lease runs out.

use super::slurm::*;
use crate::harness::partner_centre;
use std::process::Command;
use std::time::{Duration, Instant};
use suanli_dispatch::Backend;

/// A `suanli agent` child process, killed (SIGKILL) when dropped.
struct AgentProcess(std::process::Child);

impl AgentProcess {
    fn start(server: &str, token: &str, centre: &str, live: &Live, time_scale: f64) -> AgentProcess {
        let url = format!(
            "{}?user={}&partition={}&time_scale={time_scale}",
            live.url.replace("http://", "slurm+http://"),
            live.user,
            live.partition
        );
        let child = Command::new(env!("CARGO_BIN_EXE_suanli"))
            .args(["--server", server, "--token", token, "agent", "--centre", centre, "--backend", &url, "--poll-ms", "300"])
            .env("SLURM_JWT", &live.jwt)
            .env("SUANLI_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("the suanli binary starts an agent");
        AgentProcess(child)
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Through an agent: the centre's agent connects out, runs the platform's job on its Slurm
/// and reports it; killed mid-job and restarted, it adopts the running Slurm job and the job
/// ends once, billed once; an agent pointed at a closed port keeps retrying instead of dying.
#[tokio::test]
async fn slurm_agent_runs_jobs_and_survives_its_own_restart() {
    use crate::harness::{TestServer, wait_for_final};
    use reqwest::StatusCode;
    use serde_json::json;
    let Some(live) = live() else { return };
    let s = TestServer::start().await;
    let (op, tenant, provider) = (s.as_role("operator"), s.as_role("tenant"), s.as_role("provider"));
    let provider_id = provider.get("/api/v1/me").await.1["provider_id"].clone();
    let body = json!({"provider_id": provider_id, "name": "防火墙后的算力中心", "name_en": "Centre behind a firewall", "kind": "intelligent-computing",
                      "region": "hz-yuhang", "partner_status": "partner", "commissioned": "2024-06-01", "declared_pue": 1.2, "racks": 120});
    let (st, centre) = op.post("/api/v1/centres", &body).await;
    assert_eq!(st, StatusCode::CREATED, "{centre}");
    let cid = centre["id"].as_str().unwrap().to_string();
    let pool = json!({"accelerator": "v100-16g", "nodes": 1, "accelerators_per_node": 8, "price_per_hour": "6.00"});
    assert_eq!(op.post(&format!("/api/v1/centres/{cid}/pools"), &pool).await.0, StatusCode::CREATED);
    let time_scale = 1800.0;
    // The operator binds the centre to its agent at the agent's time scale (a provider may not
    // set its own: usage is checked against the run's wall-clock span times it).
    let (st, b) = op.put(&format!("/api/v1/centres/{cid}/backend"), &json!({"url": format!("agent?time_scale={time_scale}")})).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let token = s.tokens["provider"].clone();
    let agent = AgentProcess::start(&s.url, &token, &cid, &live, time_scale);
    let t0 = Instant::now();
    loop {
        let (_, v) = provider.get("/api/v1/agents").await;
        if v.as_array().is_some_and(|a| a.iter().any(|x| x["centre_id"] == cid.as_str() && x["last_seen_ms"].is_i64())) {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "the agent never connected: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let submit =
        |duration: i64| json!({"name": "via-agent", "kind": "training", "accelerators": 2, "models": ["v100-16g"], "duration_s": duration});
    let (_, job) = tenant.post("/api/v1/jobs", &submit(3600)).await;
    let id = job["id"].as_str().unwrap().to_string();
    let done = wait_for_final(&tenant, &id, Duration::from_secs(60)).await;
    assert_eq!((done["state"].as_str(), done["centre_id"].as_str()), (Some("succeeded"), Some(cid.as_str())), "{done}");
    let usage = done["usage_s"].as_i64().unwrap();
    let run_s = crate::harness::run_estimate_s(&tenant, &id).await as i64;
    assert!((run_s - 2 * time_scale as i64..=run_s + 2 * time_scale as i64).contains(&usage), "usage {usage}, run {run_s} s");

    // Kill the agent while a job runs; the job keeps running in Slurm; a new agent adopts it.
    let (_, job) = tenant.post("/api/v1/jobs", &submit(14_400)).await;
    let id = job["id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    loop {
        let (_, v) = tenant.get(&format!("/api/v1/jobs/{id}")).await;
        if v["state"] == "running" {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "never ran: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(agent);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _agent = AgentProcess::start(&s.url, &token, &cid, &live, time_scale);
    let done = wait_for_final(&tenant, &id, Duration::from_secs(60)).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(sacct_runs(&id).await, 1, "one Slurm job, not two");
    let t0 = Instant::now();
    while tenant.get(&format!("/api/v1/jobs/{id}/bill")).await.0 != StatusCode::OK {
        assert!(t0.elapsed() < Duration::from_secs(20), "not billed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A network cut: an agent that cannot reach the platform retries instead of exiting.
    let mut cut = AgentProcess::start("http://127.0.0.1:9", &token, &cid, &live, time_scale);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(cut.0.try_wait().unwrap().is_none(), "the agent died on a network cut");
}

/// Failover (no Slurm needed): a centre reached through an agent that stops sending
/// heartbeats becomes unavailable; its job that had not started is placed again at another
/// centre, runs there once, is billed once, and the silent agent is told to cancel it.
#[tokio::test]
async fn agent_failover_replaces_unstarted_jobs_of_a_dark_centre() {
    use crate::harness::{TestServer, wait_for_final};
    use reqwest::StatusCode;
    use serde_json::json;
    let s = TestServer::start().await;
    let (op, tenant) = (s.as_role("operator"), s.as_role("tenant"));
    let provider = op.get("/api/v1/providers").await.1["items"][0]["id"].clone();
    let ids =
        [partner_centre(&op, &provider, "dark", "p100", "1.00").await, partner_centre(&op, &provider, "bright", "p100", "3.00").await];
    let (dark, bright) = (suanli_core::id::CentreId::parse(&ids[0]).unwrap(), ids[1].clone());
    suanli_server::connect_backends(&s.state, &[(dark.to_string(), "agent".to_string())]).await.unwrap();
    s.state.engine.set_heartbeat_timeout(Duration::from_millis(800));
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    // The agent polls once (a heartbeat) and then goes dark without ever starting the job.
    let _ = s.state.agents.take(&dark, now(), Duration::ZERO).await;
    let (_, job) =
        tenant.post("/api/v1/jobs", &json!({"name": "f", "kind": "batch", "accelerators": 2, "models": ["p100"], "duration_s": 600})).await;
    let id = job["id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    loop {
        let (_, v) = tenant.get(&format!("/api/v1/jobs/{id}")).await;
        if v["state"] == "placed" {
            assert_eq!(v["centre_id"], ids[0].as_str(), "the cheaper, live centre first: {v}");
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "not placed: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let done = wait_for_final(&tenant, &id, Duration::from_secs(20)).await;
    assert_eq!((done["state"].as_str(), done["centre_id"].as_str()), (Some("succeeded"), Some(bright.as_str())), "{done}");
    let (_, audit) = op.get(&format!("/api/v1/audit?subject={id}")).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "job.replaced").count(), 1, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "job.placed").count(), 2, "{actions:?}");
    // When the agent comes back it is told to cancel the job it never started.
    let back = s.state.agents.take(&dark, now(), Duration::ZERO).await;
    assert!(back.cancel.iter().any(|j| j.as_str() == id) && back.submit.is_empty(), "{back:?}");
    let t0 = Instant::now();
    while tenant.get(&format!("/api/v1/jobs/{id}/bill")).await.0 != StatusCode::OK {
        assert!(t0.elapsed() < Duration::from_secs(10), "not billed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, rec) = op.get("/api/v1/ledger/reconciliation").await;
    assert_eq!(rec["mismatches"], json!([]), "{rec}");
}

/// Restart policy (no Slurm needed): when a centre's agent stays silent past the restart
/// threshold, its restartable running job starts again elsewhere and succeeds, billed for the
/// new run only; a job that may not restart stays where it was.
#[tokio::test]
async fn agent_silence_restarts_only_restartable_running_jobs() {
    use crate::harness::{TestServer, wait_for_final};
    use reqwest::StatusCode;
    use serde_json::json;
    use suanli_dispatch::agent::{JobReport, Report, report_of};
    let s = TestServer::start().await;
    let (op, tenant) = (s.as_role("operator"), s.as_role("tenant"));
    let provider = op.get("/api/v1/providers").await.1["items"][0]["id"].clone();
    let ids =
        [partner_centre(&op, &provider, "silent", "p100", "1.00").await, partner_centre(&op, &provider, "other", "p100", "3.00").await];
    let silent = suanli_core::id::CentreId::parse(&ids[0]).unwrap();
    suanli_server::connect_backends(&s.state, &[(silent.to_string(), "agent".to_string())]).await.unwrap();
    s.state.engine.set_heartbeat_timeout(Duration::from_millis(500));
    s.state.engine.set_restart_after(Duration::from_millis(1200));
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let _ = s.state.agents.take(&silent, now(), Duration::ZERO).await;
    let mut jobs = Vec::new();
    for restartable in [true, false] {
        let body =
            json!({"name": "r", "kind": "training", "accelerators": 2, "models": ["p100"], "duration_s": 600, "restartable": restartable});
        let (st, job) = tenant.post("/api/v1/jobs", &body).await;
        assert_eq!(st, StatusCode::CREATED, "{job}");
        jobs.push(suanli_core::id::JobId::parse(job["id"].as_str().unwrap()).unwrap());
    }
    // The agent takes both and reports them running, then falls silent.
    let t0 = Instant::now();
    loop {
        let a = s.state.agents.take(&silent, now(), Duration::from_millis(100)).await;
        let running: Vec<JobReport> =
            a.submit.iter().map(|x| report_of(x.job.id.clone(), &suanli_dispatch::RunStatus::Running { started_ms: now() })).collect();
        s.state.agents.report(
            &silent,
            now(),
            Report { active: running.iter().map(|r| r.job_id.clone()).collect(), statuses: running, capacity: None },
        );
        let states: Vec<String> = futures_states(&tenant, &jobs).await;
        if states.iter().all(|st| st == "running") {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "not both running: {states:?}");
    }
    let done = wait_for_final(&tenant, jobs[0].as_str(), Duration::from_secs(20)).await;
    assert_eq!((done["state"].as_str(), done["centre_id"].as_str()), (Some("succeeded"), Some(ids[1].as_str())), "{done}");
    let (_, stuck) = tenant.get(&format!("/api/v1/jobs/{}", jobs[1])).await;
    assert_eq!((stuck["state"].as_str(), stuck["centre_id"].as_str()), (Some("running"), Some(ids[0].as_str())), "{stuck}");
    let (_, audit) = op.get(&format!("/api/v1/audit?subject={}", jobs[0])).await;
    assert!(audit["items"].as_array().unwrap().iter().any(|a| a["action"] == "job.restarted"), "{audit}");
    let t0 = Instant::now();
    let bill = loop {
        let (st, b) = tenant.get(&format!("/api/v1/jobs/{}/bill", jobs[0])).await;
        if st == StatusCode::OK {
            break b;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "not billed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(bill["centre_id"], ids[1].as_str(), "billed for the run that finished, at the centre that ran it: {bill}");
}

async fn futures_states(api: &crate::harness::Api, jobs: &[suanli_core::id::JobId]) -> Vec<String> {
    let mut out = Vec::new();
    for j in jobs {
        out.push(api.get(&format!("/api/v1/jobs/{j}")).await.1["state"].as_str().unwrap_or("").to_string());
    }
    out
}

/// Self-fencing: an agent that cannot reach the platform for its whole lease cancels the jobs
/// its cluster runs, so a restart elsewhere never runs a job twice.
#[tokio::test]
async fn agent_cancels_its_jobs_when_its_lease_runs_out() {
    use crate::harness::TestServer;
    use serde_json::json;
    use suanli_dispatch::agent::{AgentConfig, run_agent};
    use suanli_dispatch::sim::{SimBackend, SimConfig};
    let s = TestServer::start().await;
    let (op, tenant) = (s.as_role("operator"), s.as_role("tenant"));
    let provider = op.get("/api/v1/providers").await.1["items"][0]["id"].clone();
    let cid = partner_centre(&op, &provider, "fenced", "p100", "1.00").await;
    let local = std::sync::Arc::new(SimBackend::new(SimConfig { time_scale: 1.0, start_delay_ms: 0, ..SimConfig::default() }));
    let cfg = AgentConfig {
        server: s.url.clone(),
        token: s.tokens["operator"].clone(),
        centre: suanli_core::id::CentreId::parse(&cid).unwrap(),
        poll: Duration::from_millis(200),
        lease: Duration::from_millis(1500),
    };
    let agent = tokio::spawn(run_agent(cfg, local.clone(), None));
    let (_, job) = tenant
        .post("/api/v1/jobs", &json!({"name": "l", "kind": "training", "accelerators": 2, "models": ["p100"], "duration_s": 3600}))
        .await;
    let id = job["id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    while tenant.get(&format!("/api/v1/jobs/{id}")).await.1["state"] != "running" {
        assert!(t0.elapsed() < Duration::from_secs(15), "never ran through the agent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(local.active(now_ms()).await.unwrap().len(), 1);
    drop(s); // the platform goes away
    let t0 = Instant::now();
    while !local.active(now_ms()).await.unwrap().is_empty() {
        assert!(t0.elapsed() < Duration::from_secs(10), "the agent kept running its job past its lease");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(t0.elapsed() >= Duration::from_millis(500), "it waited for the lease");
    agent.abort();
}

/// Issue 13: the agent and the platform both die (SIGKILL) while a job runs on Slurm, and both
/// come back (the platform on its store, the agent pointed at it): the running Slurm job is
/// adopted, not started again; it ends once, is billed once, and the ledger verifies.
#[tokio::test]
async fn slurm_agent_and_platform_both_killed_mid_job_lose_nothing() {
    use crate::e2e::{Served, tokens};
    use serde_json::{Value, json};
    let Some(live) = live() else { return };
    let dir = tempfile::tempdir().unwrap();
    let first = Served::start(dir.path(), &["--no-stream", "--tick-ms", "100"]);
    let t = tokens(dir.path());
    let (op, tenant, provider) = (t["operator"].as_str().unwrap(), t["tenant"].as_str().unwrap(), t["provider"].as_str().unwrap());
    let api = |url: &str, token: &str| crate::harness::Api::new(url, Some(token.to_string()));
    let (opa, prov) = (api(&first.url, op), api(&first.url, provider));
    let provider_id = prov.get("/api/v1/me").await.1["provider_id"].clone();
    // The only H100 pool in the city, reached through an agent at 1,800x.
    let cid = partner_centre(&opa, &provider_id, "both-die", "h100-sxm", "20.00").await;
    let time_scale = 1800.0;
    let (st, b) = opa.put(&format!("/api/v1/centres/{cid}/backend"), &json!({"url": format!("agent?time_scale={time_scale}")})).await;
    assert_eq!(st, reqwest::StatusCode::OK, "{b}");
    let agent = AgentProcess::start(&first.url, provider, &cid, &live, time_scale);
    // 45,648 s on the reference A100 is 14,400 s on an H100: 8 s in Slurm.
    let body = json!({"name": "both-die", "kind": "training", "accelerators": 2, "models": ["h100-sxm"], "duration_s": 45_648});
    let (st, job) = api(&first.url, tenant).post("/api/v1/jobs", &body).await;
    assert_eq!(st, reqwest::StatusCode::CREATED, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    let t0 = Instant::now();
    while api(&first.url, tenant).get(&format!("/api/v1/jobs/{id}")).await.1["state"] != "running" {
        assert!(t0.elapsed() < Duration::from_secs(30), "never ran");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Both die at once, mid-run.
    drop(agent);
    first.kill();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let second = Served::start(dir.path(), &["--no-stream", "--tick-ms", "100"]);
    let _agent = AgentProcess::start(&second.url, provider, &cid, &live, time_scale);
    let tenant_api = api(&second.url, tenant);
    let done = crate::harness::wait_for_final(&tenant_api, &id, Duration::from_secs(60)).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(sacct_runs(&id).await, 1, "Slurm ran the job once, not twice");
    let t0 = Instant::now();
    let bill: Value = loop {
        let (st, b) = tenant_api.get(&format!("/api/v1/jobs/{id}/bill")).await;
        if st == reqwest::StatusCode::OK {
            break b;
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "not billed: {b}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(bill["usage_s"], done["usage_s"], "{bill}");
    let opb = api(&second.url, op);
    let (_, bills) = opb.get("/api/v1/bills?limit=10000").await;
    let items = bills.as_array().cloned().or_else(|| bills["items"].as_array().cloned()).unwrap_or_default();
    assert_eq!(items.iter().filter(|b| b["job_id"] == id.as_str()).count(), 1, "one bill");
    let (_, verify) = opb.get("/api/v1/ledger/verify").await;
    assert_eq!(verify["ok"], true, "{verify}");
    let (_, rec) = opb.get("/api/v1/ledger/reconciliation").await;
    assert_eq!(rec["mismatches"], json!([]), "{rec}");
}
