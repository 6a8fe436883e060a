//! `suanli bench dispatch`: jobs dispatched per second through the engine (placement, hold, submit) on the simulated backend and on a real Slurm, and what Suanli adds per job over Slurm's own REST submit.

use crate::progress::bar;
use indicatif::ProgressBar;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use suanli_core::id::{CentreId, JobId, TenantId};
use suanli_core::job::{Job, JobKind, JobSpec, JobState};
use suanli_dispatch::Backend;
use suanli_dispatch::slurm::{SlurmBackend, SlurmConfig};
use suanli_server::{AppState, ServeConfig};

/// What to run.
#[derive(Debug, Clone)]
pub struct DispatchBench {
    pub jobs: usize,
    /// slurmrestd to measure against (`slurm+http://…`, token from SLURM_JWT); `None` skips it.
    pub slurm: Option<String>,
}

async fn scratch_state() -> anyhow::Result<(AppState, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let cfg = ServeConfig { demo: true, tick: Duration::from_secs(3600), time_scale: Some(1e9), seed: 7, ..ServeConfig::at(dir.path()) };
    let state = suanli_server::build_state(&cfg).await?;
    suanli_server::demo::seed(&state, dir.path(), "http://127.0.0.1:0").await?;
    Ok((state, dir))
}

async fn submit_jobs(s: &AppState, n: usize, model: Option<&str>) -> anyhow::Result<Vec<JobId>> {
    let tenants: Vec<TenantId> = s.store.tenants().await?.into_iter().map(|t| t.id).collect();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let mut spec = JobSpec::new(&format!("bench-{i}"), JobKind::Batch, 1, 600);
        spec.models = model.map(|m| vec![m.to_string()]).unwrap_or_default();
        let job = suanli_server::api::jobs::create_job(s, "system:bench", tenants[i % tenants.len()].clone(), spec)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        ids.push(job.id);
    }
    Ok(ids)
}

/// Runs engine rounds until none of `ids` is pending or placed; returns the seconds it took.
async fn dispatch_all(s: &AppState, ids: &[JobId], pb: &ProgressBar) -> anyhow::Result<f64> {
    let started = Instant::now();
    loop {
        s.engine.round().await?;
        let waiting = s.store.jobs_in_states(&[JobState::Pending, JobState::Placed]).await?.iter().filter(|j| ids.contains(&j.id)).count();
        pb.set_position((ids.len() - waiting) as u64);
        if waiting == 0 {
            break;
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(600), "{waiting} jobs still not dispatched after 10 minutes");
    }
    pb.finish_and_clear();
    Ok(started.elapsed().as_secs_f64())
}

/// `suanli bench dispatch`.
pub async fn dispatch(b: DispatchBench, json_out: bool) -> anyhow::Result<()> {
    let mut out = json!({"jobs": b.jobs});
    // 1. The simulated backend: placement, hold, submit and start of every job, by engine rounds.
    let (s, _dir) = scratch_state().await?;
    let ids = submit_jobs(&s, b.jobs, None).await?;
    let secs = dispatch_all(&s, &ids, &bar(json_out, b.jobs as u64, "sim backend", 0, "jobs")).await?;
    out["sim_jobs_per_s"] = json!((b.jobs as f64 / secs).round());

    // 2. A real Slurm: the same path with slurmrestd as the centre's backend, against Slurm's
    //    own REST submit of as many jobs (no store, no scheduler, no ledger).
    if let Some(url) = &b.slurm {
        let (suanli_s, raw_s) = against_slurm(url, b.jobs, json_out).await?;
        out["slurm_jobs_per_s"] = json!((b.jobs as f64 / suanli_s).round());
        out["slurmrestd_alone_jobs_per_s"] = json!((b.jobs as f64 / raw_s).round());
        out["suanli_overhead_ms_per_job"] = json!(((suanli_s - raw_s) / b.jobs as f64 * 1000.0 * 100.0).round() / 100.0);
    }
    if json_out {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let fmt = |v: &Value| v.as_f64().map_or("-".to_string(), |f| format!("{f}"));
    let rows = vec![
        json!({"path": "engine -> simulated backend (place, hold, submit, start)", "rate": fmt(&out["sim_jobs_per_s"])}),
        json!({"path": "engine -> Slurm via slurmrestd (place, hold, submit)", "rate": fmt(&out["slurm_jobs_per_s"])}),
        json!({"path": "slurmrestd alone (REST submit, one after another)", "rate": fmt(&out["slurmrestd_alone_jobs_per_s"])}),
        json!({"path": "Suanli's overhead per job over slurmrestd, ms", "rate": fmt(&out["suanli_overhead_ms_per_job"])}),
    ];
    crate::table::table(&rows, &[("path", "path"), (&format!("jobs/s ({} jobs)", b.jobs), "rate")]);
    println!("for scale: Slurm documents about 500 simple batch jobs per second sustained (sbatch, tuned controller).");
    Ok(())
}

/// `n` jobs through the engine to the Slurm at `url`, then as many submitted to slurmrestd
/// alone; the seconds each took. Every benchmark job is cancelled in Slurm afterwards.
async fn against_slurm(url: &str, n: usize, json_out: bool) -> anyhow::Result<(f64, f64)> {
    let (s, _dir) = scratch_state().await?;
    let centre = slurm_centre(&s).await?;
    let mut cfg = SlurmConfig::from_url(url).map_err(|e| anyhow::anyhow!("{e}"))?;
    cfg.time_scale = 60.0;
    let slurm = Arc::new(SlurmBackend::new(cfg.clone()).map_err(|e| anyhow::anyhow!("{e}"))?);
    s.engine.set_backend(centre, slurm.clone());
    let ids = submit_jobs(&s, n, Some("k80")).await?;
    let pb = bar(json_out, n as u64, "Suanli -> Slurm", 0, "jobs");
    let started = Instant::now();
    loop {
        s.engine.round().await?;
        let submitted = ids.iter().filter(|id| slurm.slurm_id(id).is_some()).count();
        pb.set_position(submitted as u64);
        if submitted == ids.len() {
            break;
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(600), "only {submitted} jobs reached Slurm in 10 minutes");
    }
    pb.finish_and_clear();
    let suanli_s = started.elapsed().as_secs_f64();
    // Slurm alone: the same REST submit of as many jobs, one after another.
    let raw = SlurmBackend::new(cfg).map_err(|e| anyhow::anyhow!("{e}"))?;
    let pb = bar(json_out, n as u64, "slurmrestd alone", 0, "jobs");
    let now = s.ids.now_ms();
    let raw_jobs: Vec<Job> = (0..n)
        .map(|i| {
            let mut j = Job::pending(
                JobId::generate(now, i as u64 ^ 0xbe7c),
                TenantId::generate(0, 0),
                JobSpec::new("raw", JobKind::Batch, 1, 600),
                now,
            );
            j.placed_ms = Some(now);
            j
        })
        .collect();
    let started = Instant::now();
    for j in &raw_jobs {
        raw.submit(j, j.spec.duration_s as f64, now).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        pb.inc(1);
    }
    pb.finish_and_clear();
    let raw_s = started.elapsed().as_secs_f64();
    for id in ids.iter().chain(raw_jobs.iter().map(|j| &j.id)) {
        let _ = slurm.cancel(id, now).await;
        let _ = raw.cancel(id, now).await;
    }
    Ok((suanli_s, raw_s))
}

/// A centre for the Slurm cluster with one pool declared large, so the scheduler places every
/// job and Slurm queues what it cannot run.
async fn slurm_centre(s: &AppState) -> anyhow::Result<CentreId> {
    let provider = s.store.providers().await?[0].id.clone();
    let (t, e) = s.ids.parts();
    let centre = suanli_core::centre::Centre {
        id: CentreId::generate(t, e),
        provider_id: provider,
        name: "bench Slurm".into(),
        name_en: "bench Slurm".into(),
        kind: suanli_core::centre::CentreKind::IntelligentComputing,
        region: "hz-xihu".into(),
        partner_status: suanli_core::centre::PartnerStatus::Partner,
        commissioned_ms: 1_700_000_000_000,
        declared_pue: 1.2,
        racks: 120,
        rtt_ms: Default::default(),
        created_ms: t,
    };
    let pool = suanli_core::centre::Pool {
        id: suanli_core::id::PoolId::generate(t, e ^ 1),
        centre_id: centre.id.clone(),
        accelerator: "k80".into(),
        nodes: 1000,
        accelerators_per_node: 8,
        price_per_hour: suanli_core::money::Fen(100),
        partner_discount_pct: 0,
        created_ms: t,
    };
    let mut tx = s.store.begin().await?;
    tx.insert_centre(&centre, "system:bench").await?;
    tx.insert_pool(&pool).await?;
    tx.commit().await?;
    Ok(centre.id)
}
