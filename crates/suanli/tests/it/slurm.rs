//! Live tests of the Slurm backend against the real single-node Slurm that `scripts/slurm-local.sh` runs.
//!
//! Each test runs `scripts/slurm-local.sh start` (idempotent, ~0.1 s when already up, ~3 s from
//! cold; it needs root). When Slurm cannot start, the test prints a loud SKIPPED message to
//! stderr and passes. Slurm is never stopped here: a cluster that was running stays running,
//! and one these tests started is left running for the next tests (stop it with
//! `scripts/slurm-local.sh stop`). The cluster has one node with 8 GPUs in partition `gpu`;
//! tests running in parallel share it, so their waits are generous.
//!
//! Timings are printed to stderr as `slurm timing: ...` (run with `--nocapture` to see them).

use std::collections::HashMap;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use suanli_core::id::{JobId, TenantId};
use suanli_core::job::{Job, JobKind, JobSpec};
use suanli_core::time::UnixMs;
use suanli_dispatch::slurm::{SlurmBackend, SlurmConfig, SlurmScript};
use suanli_dispatch::{Backend, RunStatus};

#[derive(Debug, Clone)]
struct Live {
    url: String,
    jwt: String,
    user: String,
    partition: String,
}

/// Starts (or finds) the local Slurm; `None`, after a loud message, when it cannot.
fn live() -> Option<Live> {
    static LIVE: OnceLock<Option<Live>> = OnceLock::new();
    LIVE.get_or_init(|| {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let t0 = Instant::now();
        let out = Command::new("bash").arg("scripts/slurm-local.sh").arg("start").current_dir(root).env_remove("SLURM_JWT").output();
        let skip = |why: String| {
            eprintln!("\n{0}\n!!! SLURM LIVE TEST SKIPPED: {why}\n!!! (scripts/slurm-local.sh start needs root and the Debian Slurm packages)\n{0}\n", "!".repeat(100));
            None
        };
        let out = match out {
            Ok(o) => o,
            Err(e) => return skip(format!("cannot run scripts/slurm-local.sh: {e}")),
        };
        if !out.status.success() {
            return skip(format!("scripts/slurm-local.sh start failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim()));
        }
        let vars: HashMap<String, String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
            .collect();
        let get = |k: &str| vars.get(k).cloned().filter(|v| !v.is_empty());
        match (get("SLURM_REST_URL"), get("SLURM_JWT"), get("SLURM_USER"), get("SLURM_PARTITION")) {
            (Some(url), Some(jwt), Some(user), Some(partition)) => {
                eprintln!("slurm timing: scripts/slurm-local.sh start took {} ms", t0.elapsed().as_millis());
                Some(Live { url, jwt, user, partition })
            }
            _ => skip(format!("scripts/slurm-local.sh start printed no SLURM_REST_URL/SLURM_JWT/SLURM_USER/SLURM_PARTITION: {vars:?}")),
        }
    })
    .clone()
}

fn config(live: &Live, time_scale: f64) -> SlurmConfig {
    let mut c = SlurmConfig::new(&live.url, &live.user, &live.jwt);
    c.partition = Some(live.partition.clone());
    c.time_scale = time_scale;
    c
}

fn backend(live: &Live, time_scale: f64) -> SlurmBackend {
    SlurmBackend::new(config(live, time_scale)).expect("a valid config")
}

fn now_ms() -> UnixMs {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A fresh job (unique id), placed now.
fn job(gpus: u32, duration_s: i64) -> Job {
    let now = now_ms();
    let mut j = Job::pending(
        JobId::generate(now, rand::random::<u64>()),
        TenantId::generate(now, 1),
        JobSpec::new("slurm-live", JobKind::Training, gpus, duration_s),
        now,
    );
    j.placed_ms = Some(now);
    j
}

/// Runs a Slurm CLI tool (munge auth, not a token) and returns its stdout.
fn cli(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).env_remove("SLURM_JWT").output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The job's state in the accounting database (`sacct`), once it has one.
async fn sacct_state_until(slurm_id: u64, wanted: &str, timeout: Duration) -> String {
    let t0 = Instant::now();
    loop {
        let s = cli("sacct", &["-j", &slurm_id.to_string(), "-X", "--noheader", "-o", "State%30"]).trim().to_string();
        if s.starts_with(wanted) || t0.elapsed() > timeout {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn status_of(b: &SlurmBackend, id: &JobId) -> RunStatus {
    b.status(std::slice::from_ref(id), now_ms()).await.expect("status").remove(id).expect("an answer for the id")
}

/// Polls until `done` holds; returns the status and when it first held.
async fn wait_until(b: &SlurmBackend, id: &JobId, timeout: Duration, done: impl Fn(&RunStatus) -> bool) -> (RunStatus, Instant) {
    let t0 = Instant::now();
    loop {
        let s = status_of(b, id).await;
        if done(&s) {
            return (s, Instant::now());
        }
        assert!(t0.elapsed() < timeout, "job {id} still {s:?} after {timeout:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn slurm_live_job_queues_runs_succeeds_and_is_metered() {
    let Some(live) = live() else { return };
    let scale = 1800.0;
    let b = backend(&live, scale);
    let j = job(2, 3600); // 3600 s at 1800x: sleeps 2 s
    let t0 = Instant::now();
    b.submit(&j, now_ms()).await.expect("submit");
    let submit_ms = t0.elapsed().as_millis();
    let slurm_id = b.slurm_id(&j.id).expect("a slurm id");

    // squeue shows it, with the Suanli id in its name and comment.
    let name = format!("suanli-{}", j.id);
    let squeue = cli("squeue", &["-h", "-j", &slurm_id.to_string(), "-o", "%i|%j|%k|%T|%b"]);
    let line = squeue.lines().next().unwrap_or_else(|| panic!("squeue does not show job {slurm_id} just after submit (too fast?)"));
    let cols: Vec<&str> = line.split('|').collect();
    assert_eq!(cols[..3], [slurm_id.to_string().as_str(), name.as_str(), format!("suanli:{}", j.id).as_str()], "{line}");
    assert!(matches!(cols[3], "PENDING" | "RUNNING" | "CONFIGURING"), "{line}");
    assert!(cols[4].contains("gpu:2"), "asks for 2 GPUs: {line}");

    let first = status_of(&b, &j.id).await;
    assert!(matches!(first, RunStatus::Queued | RunStatus::Running { .. }), "{first:?}");
    assert!(b.active(now_ms()).await.unwrap().contains(&j.id));

    let (running, at) = wait_until(&b, &j.id, Duration::from_secs(120), |s| !matches!(s, RunStatus::Queued)).await;
    let to_running = at.duration_since(t0);
    let (done, _) =
        wait_until(&b, &j.id, Duration::from_secs(120), |s| matches!(s, RunStatus::Succeeded { .. } | RunStatus::Failed { .. })).await;
    let total = t0.elapsed();
    eprintln!(
        "slurm timing: submit call {submit_ms} ms; submit -> running seen {} ms; submit -> succeeded seen {} ms ({running:?})",
        to_running.as_millis(),
        total.as_millis()
    );

    let RunStatus::Succeeded { started_ms, ended_ms, usage_s } = done else { panic!("expected success, got {done:?}") };
    eprintln!("slurm: 3600 s job at 1800x metered usage_s = {usage_s} (slurm {slurm_id}, {} wall s)", (ended_ms - started_ms) / 1000);
    if let RunStatus::Running { started_ms: s } = running {
        assert_eq!(s, started_ms, "the start time does not move");
    }
    // Slurm meters whole seconds: 2 s of sleep reads as 2 or 3 s, times 1800.
    assert!((usage_s - 3600).abs() <= scale as i64, "usage_s {usage_s} is not 3600 within {scale}");
    assert_eq!(usage_s, (ended_ms - started_ms) / 1000 * scale as i64);
    assert!((started_ms - now_ms()).abs() < 120_000, "start {started_ms} is a real time");

    assert_eq!(sacct_state_until(slurm_id, "COMPLETED", Duration::from_secs(15)).await, "COMPLETED");
    assert!(!b.active(now_ms()).await.unwrap().contains(&j.id));
    // Submitting a finished job again adopts it (a restart that re-submits in-flight jobs).
    let again = backend(&live, scale);
    again.submit(&j, now_ms()).await.unwrap();
    assert_eq!(again.slurm_id(&j.id), Some(slurm_id));
    assert_eq!(status_of(&again, &j.id).await, done);
}

#[tokio::test]
async fn slurm_live_submit_twice_adopts_one_job() {
    let Some(live) = live() else { return };
    let a = backend(&live, 600.0);
    let j = job(1, 3600 * 10); // 60 s of sleep: still there when the checks run
    a.submit(&j, now_ms()).await.unwrap();
    let first = a.slurm_id(&j.id).unwrap();
    a.submit(&j, now_ms()).await.unwrap();
    assert_eq!(a.slurm_id(&j.id), Some(first), "the same backend keeps its job");
    // A fresh process (empty cache) finds the job in Slurm and adopts it.
    let b = backend(&live, 600.0);
    let t0 = Instant::now();
    b.submit(&j, now_ms()).await.unwrap();
    let adopt_ms = t0.elapsed().as_millis();
    assert_eq!(b.slurm_id(&j.id), Some(first), "adopted, not submitted again");
    let name = format!("suanli-{}", j.id);
    let listed = cli("squeue", &["-h", "-n", &name, "-o", "%i"]);
    assert_eq!(listed.split_whitespace().collect::<Vec<_>>(), vec![first.to_string()], "exactly one Slurm job");
    eprintln!("slurm timing: adoption by a fresh backend (GET /jobs) {adopt_ms} ms");

    // After this backend cancels it (a preemption), submitting again starts a new Slurm job...
    a.cancel(&j.id, now_ms()).await.unwrap();
    let mut replaced = j.clone();
    replaced.placed_ms = Some(now_ms() + 1500);
    a.submit(&replaced, now_ms()).await.unwrap();
    let second = a.slurm_id(&j.id).unwrap();
    assert_ne!(second, first, "a cancelled job is not adopted again");
    // ...which is what a fresh backend adopts too, not the cancelled one.
    let c = backend(&live, 600.0);
    c.submit(&replaced, now_ms()).await.unwrap();
    assert_eq!(c.slurm_id(&j.id), Some(second));
    assert!(c.cancel(&j.id, now_ms()).await.is_ok());
    assert_eq!(sacct_state_until(second, "CANCELLED", Duration::from_secs(15)).await.split_whitespace().next(), Some("CANCELLED"));
}

#[tokio::test]
async fn slurm_live_cancel_running_job_meters_what_ran() {
    let Some(live) = live() else { return };
    let scale = 60.0;
    let b = backend(&live, scale);
    let j = job(1, 3600); // 60 s of sleep
    b.submit(&j, now_ms()).await.unwrap();
    let slurm_id = b.slurm_id(&j.id).unwrap();
    let (running, _) = wait_until(&b, &j.id, Duration::from_secs(120), |s| matches!(s, RunStatus::Running { .. })).await;
    let RunStatus::Running { started_ms } = running else { unreachable!() };
    assert!(b.active(now_ms()).await.unwrap().contains(&j.id));
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let now = now_ms();
    let t0 = Instant::now();
    let ran = b.cancel(&j.id, now).await.expect("cancel").expect("it had started");
    let cancel_ms = t0.elapsed().as_millis();
    let expected = ((now - started_ms) as f64 / 1000.0 * scale).round() as i64;
    assert_eq!(ran, expected, "metered from Slurm's start to now, in the job's seconds");
    assert!(ran >= 60, "ran at least a wall second: {ran}");
    assert!(ran < 3600, "it was stopped well before the end: {ran}");

    let state = sacct_state_until(slurm_id, "CANCELLED", Duration::from_secs(20)).await;
    assert!(state.starts_with("CANCELLED"), "sacct says {state:?}");
    let scontrol = cli("scontrol", &["show", "job", &slurm_id.to_string()]);
    assert!(scontrol.contains("JobState=CANCELLED"), "{scontrol}");
    eprintln!("slurm timing: cancel call {cancel_ms} ms");
    // Cancelled through Suanli: Unknown (as the simulated centre), and a second cancel meters nothing.
    assert_eq!(status_of(&b, &j.id).await, RunStatus::Unknown);
    assert_eq!(b.cancel(&j.id, now_ms()).await.unwrap(), None);
    let t0 = Instant::now();
    while b.active(now_ms()).await.unwrap().contains(&j.id) {
        assert!(t0.elapsed() < Duration::from_secs(20), "still active after cancel");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn slurm_live_capacity_reports_the_nodes_gpus() {
    let Some(live) = live() else { return };
    let b = backend(&live, 1.0);
    let t0 = Instant::now();
    let cap = b.capacity().await.expect("capacity");
    eprintln!("slurm timing: capacity (GET /nodes) {} ms: {cap:?}", t0.elapsed().as_millis());
    assert_eq!(cap.nodes, 1);
    assert_eq!(cap.gpus_total, 8);
    assert!(cap.gpus_free <= 8);
    assert!(cap.partitions.contains(&live.partition), "{cap:?}");
    assert!(cap.per_node[0].available, "{cap:?}");
}

#[tokio::test]
async fn slurm_live_status_of_many_jobs_in_one_call() {
    let Some(live) = live() else { return };
    let scale = 1800.0;
    let b = backend(&live, scale);
    let jobs: Vec<Job> = (0..6).map(|_| job(1, 3600)).collect();
    let t0 = Instant::now();
    for j in &jobs {
        b.submit(j, now_ms()).await.unwrap();
    }
    let per_submit = t0.elapsed().as_millis() / jobs.len() as u128;
    let mut ids: Vec<JobId> = jobs.iter().map(|j| j.id.clone()).collect();
    let stranger = JobId::generate(now_ms(), 99);
    ids.push(stranger.clone());
    let t1 = Instant::now();
    let rounds = 10;
    let mut last = HashMap::new();
    for _ in 0..rounds {
        last = b.status(&ids, now_ms()).await.unwrap();
    }
    let per_status = t1.elapsed().as_micros() / rounds;
    eprintln!("slurm timing: submit {per_submit} ms each (new jobs); one status call for {} ids: {} us", ids.len(), per_status);
    assert_eq!(last.len(), ids.len());
    assert_eq!(last[&stranger], RunStatus::Unknown);
    for j in &jobs {
        assert!(matches!(last[&j.id], RunStatus::Queued | RunStatus::Running { .. } | RunStatus::Succeeded { .. }), "{:?}", last[&j.id]);
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let all = b.status(&ids, now_ms()).await.unwrap();
        if jobs.iter().all(|j| matches!(all[&j.id], RunStatus::Succeeded { .. })) {
            for j in &jobs {
                let RunStatus::Succeeded { usage_s, .. } = all[&j.id] else { unreachable!() };
                assert!((usage_s - 3600).abs() <= scale as i64, "{usage_s}");
            }
            break;
        }
        assert!(Instant::now() < deadline, "not all succeeded: {all:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn slurm_live_failures_and_refusals_are_clear() {
    let Some(live) = live() else { return };
    // A job that exits 3 fails, as the tenant's failure, with the exit code.
    let mut c = config(&live, 1800.0);
    c.script = SlurmScript::Bash("echo \"job $SUANLI_JOB_ID\"\nexit 3".into());
    let b = SlurmBackend::new(c).unwrap();
    let j = job(1, 3600);
    b.submit(&j, now_ms()).await.unwrap();
    let (done, _) =
        wait_until(&b, &j.id, Duration::from_secs(120), |s| matches!(s, RunStatus::Succeeded { .. } | RunStatus::Failed { .. })).await;
    let RunStatus::Failed { reason, .. } = &done else { panic!("expected a failure, got {done:?}") };
    assert_eq!(reason, "failed in slurm: exit code 3");

    // A gang larger than the node is refused before Slurm sees it.
    let e = b.submit(&job(16, 3600), now_ms()).await.unwrap_err();
    assert!(e.0.contains("gang of 16 GPUs") && e.0.contains("largest node has 8 GPUs"), "{e}");

    // A bad token: slurmrestd answers 500, and the message says to check the token.
    let bad = SlurmBackend::new(SlurmConfig::new(&live.url, &live.user, "not-a-jwt")).unwrap();
    let e = bad.active(now_ms()).await.unwrap_err();
    assert!(e.0.contains("HTTP 500") && e.0.contains("token"), "{e}");
    // No server: a transport error naming the URL, quickly.
    let mut gone = SlurmConfig::new("http://127.0.0.1:9", &live.user, &live.jwt);
    gone.timeout = Duration::from_secs(2);
    let t0 = Instant::now();
    let e = SlurmBackend::new(gone).unwrap().capacity().await.unwrap_err();
    assert!(e.0.contains("http://127.0.0.1:9/slurm/v0.0.38/nodes"), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    // The URL form works against the live cluster.
    let url =
        format!("{}?user={}&partition={}&token={}", live.url.replace("http://", "slurm+http://"), live.user, live.partition, live.jwt);
    let from_url = SlurmBackend::new(SlurmConfig::from_url(&url).unwrap()).unwrap();
    assert_eq!(from_url.capacity().await.unwrap().gpus_total, 8);
}
