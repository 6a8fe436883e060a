//! Centres behind a firewall: the platform's side of an agent (a hub of assignments and reports, and a `Backend` over it) and the agent's own loop.
//!
//! An agent runs inside a centre (`suanli agent --server … --centre ctr_… --backend
//! slurm+http://…`). It connects out to the platform, long-polls its assignments (jobs to
//! submit, jobs to cancel), applies them to its local backend, and reports every job's status,
//! the jobs its backend holds, and its capacity, which is also its heartbeat. The platform
//! keeps only what agents reported, in memory: after a platform restart the engine re-submits
//! what the store says is in flight and the agent's backend adopts it (same Suanli job id).

use crate::slurm::Capacity;
use crate::{Backend, BackendError, RunStatus};
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use suanli_api::agent::v1::AgentJob;
use suanli_core::id::{CentreId, JobId};
use suanli_core::job::{Fault, Job};
use suanli_core::time::UnixMs;
use tokio::sync::Notify;

pub use suanli_api::agent::v1::{Assigned, Assignments, JobReport, Report, RunState};

/// One job's status in the protocol's wire form.
pub fn report_of(job_id: JobId, s: &RunStatus) -> JobReport {
    let (state, started_ms, ended_ms, usage_s) = match s {
        RunStatus::Queued => (RunState::Queued, None, None, None),
        RunStatus::Unknown => (RunState::Unknown, None, None, None),
        RunStatus::Running { started_ms } => (RunState::Running, Some(*started_ms), None, None),
        RunStatus::Succeeded { started_ms, ended_ms, usage_s } => (RunState::Succeeded, Some(*started_ms), Some(*ended_ms), Some(*usage_s)),
        RunStatus::Failed { started_ms, ended_ms, usage_s, .. } => (RunState::Failed, Some(*started_ms), Some(*ended_ms), Some(*usage_s)),
    };
    let (fault, reason) = match s {
        RunStatus::Failed { fault, reason, .. } => (Some(*fault), Some(reason.to_string())),
        _ => (None, None),
    };
    JobReport { job_id, state, started_ms, ended_ms, usage_s, fault, reason }
}

/// The status a report states; `None` if a time it needs is missing.
pub fn status_of(r: &JobReport) -> Option<RunStatus> {
    Some(match r.state {
        RunState::Queued => RunStatus::Queued,
        RunState::Unknown => RunStatus::Unknown,
        RunState::Running => RunStatus::Running { started_ms: r.started_ms? },
        RunState::Succeeded => RunStatus::Succeeded { started_ms: r.started_ms?, ended_ms: r.ended_ms?, usage_s: r.usage_s? },
        RunState::Failed => RunStatus::Failed {
            started_ms: r.started_ms?,
            ended_ms: r.ended_ms?,
            usage_s: r.usage_s?,
            fault: r.fault.unwrap_or(Fault::Job),
            reason: suanli_core::reason::JobReason::Failed { detail: r.reason.clone().unwrap_or_default() },
        },
    })
}

#[derive(Debug, Default)]
struct CentreState {
    submits: BTreeMap<JobId, Assigned>,
    cancels: BTreeSet<JobId>,
    statuses: HashMap<JobId, RunStatus>,
    active: Vec<JobId>,
    capacity: Option<Capacity>,
    last_seen_ms: Option<UnixMs>,
}

/// The platform's side of all agents: what each is told, and what each last said.
#[derive(Debug, Default)]
pub struct AgentHub {
    centres: Mutex<HashMap<CentreId, CentreState>>,
    changed: Notify,
}

pub use suanli_api::agent::AgentView;

impl AgentHub {
    fn with<R>(&self, centre: &CentreId, f: impl FnOnce(&mut CentreState) -> R) -> R {
        let mut map = self.centres.lock().unwrap_or_else(|e| e.into_inner());
        f(map.entry(centre.clone()).or_default())
    }

    /// Waits up to `wait` for assignments for `centre` and takes them (a heartbeat too).
    pub async fn take(&self, centre: &CentreId, now_ms: UnixMs, wait: Duration) -> Assignments {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.changed.notified();
            let a = self.with(centre, |c| {
                c.last_seen_ms = Some(now_ms);
                // Submits stay until the agent reports the job; cancels go once.
                Assignments::new(c.submits.values().cloned().collect(), std::mem::take(&mut c.cancels).into_iter().collect())
            });
            if !a.is_empty() || tokio::time::Instant::now() >= deadline {
                return a;
            }
            let _ = tokio::time::timeout_at(deadline, notified).await;
        }
    }

    /// Records an agent's report. Duplicate and late reports are harmless: the newest status
    /// of a job replaces the older, and a final status is never replaced by an earlier one.
    pub fn report(&self, centre: &CentreId, now_ms: UnixMs, r: Report) -> usize {
        self.with(centre, |c| {
            c.last_seen_ms = Some(now_ms);
            c.capacity = r.capacity.or(c.capacity.take());
            c.active = r.active;
            let mut n = 0;
            for jr in r.statuses {
                let Some(s) = status_of(&jr) else { continue };
                let final_before = matches!(c.statuses.get(&jr.job_id), Some(RunStatus::Succeeded { .. } | RunStatus::Failed { .. }));
                if final_before && !matches!(s, RunStatus::Succeeded { .. } | RunStatus::Failed { .. }) {
                    continue;
                }
                if !matches!(s, RunStatus::Unknown) {
                    c.submits.remove(&jr.job_id);
                }
                c.statuses.insert(jr.job_id, s);
                n += 1;
            }
            n
        })
    }

    pub fn view(&self) -> Vec<AgentView> {
        let map = self.centres.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<AgentView> = map
            .iter()
            .map(|(id, c)| AgentView {
                centre_id: id.clone(),
                last_seen_ms: c.last_seen_ms,
                capacity: c.capacity.clone(),
                waiting_submits: c.submits.len(),
                waiting_cancels: c.cancels.len(),
                active: c.active.len(),
            })
            .collect();
        v.sort_by(|a, b| a.centre_id.cmp(&b.centre_id));
        v
    }
}

/// The platform's backend for a centre reached through its agent.
#[derive(Debug)]
pub struct AgentBackend {
    hub: Arc<AgentHub>,
    centre: CentreId,
    time_scale: f64,
}

impl AgentBackend {
    pub fn new(hub: Arc<AgentHub>, centre: CentreId) -> AgentBackend {
        AgentBackend { hub, centre, time_scale: 1.0 }
    }

    /// An agent whose cluster runs jobs `time_scale` times faster than the wall clock (tests and
    /// rehearsals); set by whoever binds the centre, never by the agent's own reports.
    pub fn with_time_scale(mut self, time_scale: f64) -> AgentBackend {
        self.time_scale = time_scale;
        self
    }
}

#[async_trait]
impl Backend for AgentBackend {
    fn name(&self) -> &str {
        "agent"
    }

    fn time_scale(&self) -> f64 {
        self.time_scale
    }

    async fn submit(&self, job: &Job, run_s: f64, _now_ms: UnixMs) -> Result<(), BackendError> {
        // Every in-flight job is handed to the agent again until it reports it final, so a
        // restarted agent learns (and its backend adopts) what it was running.
        let queued = self.hub.with(&self.centre, |c| {
            if matches!(c.statuses.get(&job.id), Some(RunStatus::Succeeded { .. } | RunStatus::Failed { .. })) {
                false
            } else {
                c.submits.insert(job.id.clone(), Assigned { job: AgentJob::of(job), run_s }).is_none()
            }
        });
        if queued {
            self.hub.changed.notify_waiters();
        }
        Ok(())
    }

    async fn status(&self, jobs: &[JobId], _now_ms: UnixMs) -> Result<HashMap<JobId, RunStatus>, BackendError> {
        Ok(self.hub.with(&self.centre, |c| {
            jobs.iter()
                .map(|id| {
                    let s = c.statuses.get(id).cloned().unwrap_or(if c.submits.contains_key(id) {
                        RunStatus::Queued
                    } else {
                        RunStatus::Unknown
                    });
                    (id.clone(), s)
                })
                .collect()
        }))
    }

    async fn cancel(&self, job: &JobId, now_ms: UnixMs) -> Result<Option<i64>, BackendError> {
        let ran = self.hub.with(&self.centre, |c| {
            c.submits.remove(job);
            c.cancels.insert(job.clone());
            match c.statuses.get(job) {
                Some(RunStatus::Running { started_ms }) => Some(((now_ms - started_ms) / 1000).max(0)),
                Some(RunStatus::Succeeded { usage_s, .. } | RunStatus::Failed { usage_s, .. }) => Some(*usage_s),
                _ => None,
            }
        });
        self.hub.changed.notify_waiters();
        Ok(ran)
    }

    async fn active(&self, _now_ms: UnixMs) -> Result<Vec<JobId>, BackendError> {
        Ok(self.hub.with(&self.centre, |c| c.active.clone()))
    }

    /// An agent that never connected, or whose last poll or report is older than the timeout,
    /// leaves its centre unavailable.
    fn available(&self, now_ms: UnixMs, heartbeat_timeout_ms: i64) -> bool {
        self.silent_ms(now_ms).is_some_and(|s| s <= heartbeat_timeout_ms)
    }

    fn silent_ms(&self, now_ms: UnixMs) -> Option<i64> {
        Some(self.hub.with(&self.centre, |c| c.last_seen_ms.map_or(i64::MAX, |t| now_ms - t)))
    }
}

/// How an agent reaches the platform.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub server: String,
    pub token: String,
    pub centre: CentreId,
    /// How long each long-poll waits for work before the agent reports anyway.
    pub poll: Duration,
    /// After this long without reaching the platform the agent cancels the jobs it runs, so
    /// that the platform may start restartable ones elsewhere without running them twice
    /// (the platform waits longer: see `Engine::set_restart_after`).
    pub lease: Duration,
}

/// The agent's loop: take assignments, apply them to the local backend, report; forever (or
/// until the platform's answers say the token or centre is wrong). Connection failures are
/// retried with a back-off: a network cut only delays reports.
pub async fn run_agent(
    cfg: AgentConfig,
    local: Arc<dyn Backend>,
    slurm: Option<Arc<crate::slurm::SlurmBackend>>,
) -> Result<(), BackendError> {
    let api = suanli_api::Client::with_timeout(&cfg.server, Some(cfg.token.clone()), cfg.poll + Duration::from_secs(10))
        .map_err(|e| BackendError(format!("HTTP client: {e}")))?;
    // Jobs this agent reports until the platform has seen their final status.
    let mut watched: BTreeSet<JobId> = BTreeSet::new();
    let mut backoff = Duration::from_millis(200);
    let mut last_ok = std::time::Instant::now();
    let mut fenced = false;
    loop {
        if !fenced && last_ok.elapsed() > cfg.lease {
            fence(local.as_ref(), &watched, cfg.lease).await;
            fenced = true;
        }
        let a: Assignments = match api.agent_assignments(&cfg.centre, cfg.poll).await {
            Ok(a) => a,
            Err(e) if e.is_refusal() => return Err(BackendError(format!("the platform refused this agent: {e}"))),
            Err(e) => {
                tracing::warn!(error = %e, "cannot reach the platform, or it failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        backoff = Duration::from_millis(200);
        last_ok = std::time::Instant::now();
        fenced = false;
        apply_assignments(local.as_ref(), &a, &mut watched).await;
        send_report(&api, &cfg.centre, local.as_ref(), slurm.as_deref(), &mut watched).await;
    }
}

/// The wall clock in unix milliseconds, as the agent's backend reads it.
fn wall_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// When the lease ran out without contact with the platform: cancels every job the agent
/// watches or its backend holds, since the platform will place them again.
async fn fence(local: &dyn Backend, watched: &BTreeSet<JobId>, lease: Duration) {
    let now = wall_ms();
    let mut ids: BTreeSet<JobId> = watched.clone();
    ids.extend(local.active(now).await.unwrap_or_default());
    tracing::error!(
        jobs = ids.len(),
        lease_s = lease.as_secs(),
        "no contact with the platform for the whole lease: cancelling this centre's jobs"
    );
    for id in &ids {
        let _ = local.cancel(id, now).await;
    }
}

/// Submits and cancels on the local backend what the platform assigned, and watches each job
/// it touched.
async fn apply_assignments(local: &dyn Backend, a: &Assignments, watched: &mut BTreeSet<JobId>) {
    for Assigned { job, run_s } in &a.submit {
        match local.submit(&job.to_job(), *run_s, wall_ms()).await {
            Ok(()) => {
                watched.insert(job.id.clone());
            }
            Err(e) => tracing::warn!(job = %job.id, error = %e, "local submit failed; the platform will ask again"),
        }
    }
    for id in &a.cancel {
        if let Err(e) = local.cancel(id, wall_ms()).await {
            tracing::warn!(job = %id, error = %e, "local cancel failed");
        }
        watched.insert(id.clone());
    }
}

/// Reports the watched jobs' statuses, the jobs the backend holds and its capacity; once
/// delivered, stops watching the jobs that ended and left the backend.
async fn send_report(
    api: &suanli_api::Client,
    centre: &CentreId,
    local: &dyn Backend,
    slurm: Option<&crate::slurm::SlurmBackend>,
    watched: &mut BTreeSet<JobId>,
) {
    let ids: Vec<JobId> = watched.iter().cloned().collect();
    let statuses = match local.status(&ids, wall_ms()).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "local status failed");
            HashMap::new()
        }
    };
    let active = local.active(wall_ms()).await.unwrap_or_default();
    let report = Report {
        statuses: statuses.iter().map(|(id, s)| report_of(id.clone(), s)).collect(),
        active: active.clone(),
        capacity: match slurm {
            Some(b) => b.capacity().await.ok(),
            None => None,
        },
    };
    match api.agent_report(centre, &report).await {
        Ok(_) => {
            // Final statuses were delivered; stop watching those jobs unless the backend still holds them.
            for (id, s) in &statuses {
                if matches!(s, RunStatus::Succeeded { .. } | RunStatus::Failed { .. } | RunStatus::Unknown) && !active.contains(id) {
                    watched.remove(id);
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "report not delivered or refused; it is sent again next time"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use suanli_core::id::TenantId;
    use suanli_core::job::{JobKind, JobSpec};

    fn job(n: i64) -> Job {
        Job::pending(JobId::generate(n, 1), TenantId::generate(1, 1), JobSpec::new("a", JobKind::Batch, 1, 60), n)
    }

    #[tokio::test]
    async fn duplicate_and_late_reports_never_undo_a_final_status() {
        let hub = Arc::new(AgentHub::default());
        let centre = CentreId::generate(1, 1);
        let b = AgentBackend::new(hub.clone(), centre.clone());
        assert!(!b.available(1_000, 30_000), "an agent that never connected leaves its centre unavailable");
        let j = job(5);
        b.submit(&j, 60.0, 1_000).await.unwrap();
        let a = hub.take(&centre, 1_000, Duration::ZERO).await;
        assert_eq!(a.submit.len(), 1);
        assert!(b.available(2_000, 30_000) && !b.available(40_000, 30_000));
        let done = RunStatus::Succeeded { started_ms: 1_100, ended_ms: 1_200, usage_s: 60 };
        let running = RunStatus::Running { started_ms: 1_100 };
        let report = |s: &RunStatus| Report { statuses: vec![report_of(j.id.clone(), s)], active: vec![], capacity: None };
        hub.report(&centre, 1_300, report(&done));
        hub.report(&centre, 1_300, report(&done));
        hub.report(&centre, 1_400, report(&running));
        assert_eq!(b.status(std::slice::from_ref(&j.id), 1_500).await.unwrap()[&j.id], done);
        // A final job is not handed out again; a malformed report is ignored.
        b.submit(&j, 60.0, 1_600).await.unwrap();
        assert!(hub.take(&centre, 1_600, Duration::ZERO).await.submit.is_empty());
        // What the agent is told rebuilds the job its backend needs, and nothing more.
        let told = AgentJob::of(&j).to_job();
        assert_eq!((&told.id, &told.tenant_id, told.spec.accelerators, told.spec.duration_s), (&j.id, &j.tenant_id, 1, 60));
        // A final state without the times it needs says nothing.
        let bad = JobReport { started_ms: None, ..report_of(j.id.clone(), &done) };
        assert_eq!(hub.report(&centre, 1_700, Report { statuses: vec![bad], ..Report::default() }), 0);
        // Round trip of the wire form.
        for s in [
            RunStatus::Queued,
            running,
            done,
            RunStatus::Failed {
                started_ms: 1,
                ended_ms: 2,
                usage_s: 3,
                fault: Fault::Centre,
                reason: suanli_core::reason::JobReason::Failed { detail: "x".into() },
            },
        ] {
            assert_eq!(status_of(&report_of(j.id.clone(), &s)), Some(s));
        }
    }
}
