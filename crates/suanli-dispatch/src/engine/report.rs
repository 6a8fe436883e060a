//! A round's dispatch step: in-flight jobs handed to their backends, what the backends report believed or refused and written in batches, and strays stopped.

use super::chunked::Chunked;
use super::{Engine, RoundReport, cost_of};
use crate::{Backend, RunStatus};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use suanli_core::centre::Pool;
use suanli_core::id::{AuditId, JobId, PoolId};
use suanli_core::job::{Fault, Job, JobState, RunBounds, RunClaim, UsageRefused};
use suanli_store::{Audit, StoreError};

impl Engine {
    /// Hands in-flight jobs to their backends (idempotent: a backend adopts what it has), then
    /// applies what each backend says of them.
    pub(super) async fn dispatch(
        &self,
        in_flight: &[Job],
        pool_by_id: &HashMap<&PoolId, &Pool>,
        report: &mut RoundReport,
    ) -> Result<(), StoreError> {
        let mut by_backend: HashMap<usize, (Arc<dyn Backend>, Vec<&Job>)> = HashMap::new();
        for j in in_flight {
            let Some(b) = self.backend_for(j.centre_id.as_ref()) else { continue };
            by_backend.entry(Arc::as_ptr(&b) as *const () as usize).or_insert_with(|| (b, Vec::new())).1.push(j);
        }
        for (backend, jobs) in by_backend.values() {
            let now = self.ids.now_ms();
            for j in jobs {
                let run_s = self.run_estimate_s(j, j.pool_id.as_ref().and_then(|p| pool_by_id.get(p)).copied());
                if let Err(e) = backend.submit(j, run_s, now).await {
                    report.backend_errors += 1;
                    tracing::warn!(job = %j.id, backend = backend.name(), error = %e, "submit failed");
                }
            }
            let ids: Vec<JobId> = jobs.iter().map(|j| j.id.clone()).collect();
            let statuses = match backend.status(&ids, self.ids.now_ms()).await {
                Ok(s) => s,
                Err(e) => {
                    report.backend_errors += 1;
                    tracing::warn!(backend = backend.name(), error = %e, "status failed");
                    continue;
                }
            };
            // What the backend says of them, a few hundred jobs a transaction.
            let mut tx = Chunked::new(&self.store);
            for j in jobs {
                let Some(status) = statuses.get(&j.id) else { continue };
                if matches!(status, RunStatus::Queued | RunStatus::Unknown)
                    || (j.state == JobState::Running && matches!(status, RunStatus::Running { .. }))
                {
                    continue;
                }
                let pool = j.pool_id.as_ref().and_then(|p| pool_by_id.get(p)).copied();
                let (status, alert) = self.believable(j, status, pool, backend.time_scale());
                if let Some(alert) = alert {
                    tx.tx().await?.audit(&alert).await?;
                }
                self.apply(tx.tx().await?, j, &status, pool, report).await?;
                tx.done_one().await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// Stops what the store says is over but a backend still runs (metering what it ran, once);
    /// a job a backend runs that Suanli does not know is reported, not killed.
    pub(super) async fn stop_strays(
        &self,
        in_flight: &[Job],
        pool_by_id: &HashMap<&PoolId, &Pool>,
        report: &mut RoundReport,
    ) -> Result<(), StoreError> {
        let in_flight_ids: HashSet<&JobId> = in_flight.iter().map(|j| &j.id).collect();
        let mut backends: Vec<Arc<dyn Backend>> = self.default_backend.iter().cloned().collect();
        backends.extend(self.backends.read().unwrap_or_else(|e| e.into_inner()).values().cloned());
        for backend in &backends {
            let now = self.ids.now_ms();
            let active = match backend.active(now).await {
                Ok(a) => a,
                Err(e) => {
                    report.backend_errors += 1;
                    tracing::warn!(backend = backend.name(), error = %e, "listing active jobs failed");
                    continue;
                }
            };
            for id in active.iter().filter(|id| !in_flight_ids.contains(id)) {
                match self.store.job(id).await? {
                    Some(job) if job.state.is_terminal() => {
                        let ran = backend.cancel(id, now).await.unwrap_or_else(|e| {
                            tracing::warn!(job = %id, error = %e, "cancel failed");
                            None
                        });
                        report.stopped += 1;
                        if job.usage_s.is_none() {
                            let usage = ran.unwrap_or(0);
                            let cost = cost_of(&job, job.pool_id.as_ref().and_then(|p| pool_by_id.get(p)).copied(), usage);
                            let detail = json!({"usage_s": usage, "cost": cost.to_yuan_string(), "why": "stopped after cancel"});
                            self.store.record_usage(id, usage, cost, self.audit("job.metered", id, detail)).await?;
                        }
                    }
                    Some(_) => {}
                    None => {
                        tracing::warn!(job = %id, backend = backend.name(), "backend runs a job Suanli does not know; reported, not killed")
                    }
                }
            }
        }
        Ok(())
    }

    /// A backend's report as the platform bills it: a finished run whose claim contradicts itself
    /// (see [`RunBounds::check`]) fails as the centre's fault and bills nothing; one past its time
    /// limit is billed up to the limit. Either is recorded as an alert against the centre.
    fn believable(&self, j: &Job, status: &RunStatus, pool: Option<&Pool>, time_scale: f64) -> (RunStatus, Option<Audit>) {
        let (RunStatus::Succeeded { started_ms, ended_ms, usage_s } | RunStatus::Failed { started_ms, ended_ms, usage_s, .. }) = status
        else {
            return (status.clone(), None);
        };
        let bounds =
            RunBounds { placed_ms: j.placed_ms, now_ms: self.ids.now_ms(), time_scale, run_estimate_s: self.run_estimate_s(j, pool) };
        let claim = RunClaim { started_ms: *started_ms, ended_ms: *ended_ms, usage_s: *usage_s };
        let (believed, alert) = match bounds.check(claim) {
            Ok((usage, false)) if usage == *usage_s => return (status.clone(), None),
            Ok((usage, _)) => {
                let why = format!("usage {usage_s} s is past the time limit of {} s; billed up to the limit", bounds.limit_s());
                let mut capped = status.clone();
                if let RunStatus::Succeeded { usage_s, .. } | RunStatus::Failed { usage_s, .. } = &mut capped {
                    *usage_s = usage;
                }
                (capped, ("usage_over_time_limit", why))
            }
            Err(UsageRefused(why)) => {
                let refused = RunStatus::Failed {
                    started_ms: *started_ms,
                    ended_ms: (*ended_ms).clamp(*started_ms, bounds.now_ms),
                    usage_s: 0,
                    fault: Fault::Centre,
                    reason: format!("the centre's report was refused ({why}); nothing is billed [usage_report_refused]"),
                };
                (refused, ("usage_report_refused", why))
            }
        };
        let centre = j.centre_id.as_ref().map_or_else(String::new, |c| c.to_string());
        tracing::warn!(job = %j.id, centre, code = alert.0, why = %alert.1, "a backend's usage report was not believed");
        let (t, e) = self.ids.parts();
        let record = Audit {
            id: AuditId::generate(t, e),
            at_ms: t,
            actor: "system:dispatch".into(),
            action: "centre.alert".into(),
            subject: centre,
            detail: json!({"code": alert.0, "job": j.id, "detail": alert.1, "claimed_usage_s": usage_s, "started_ms": started_ms, "ended_ms": ended_ms}),
        };
        (believed, Some(record))
    }

    /// Writes what a backend says of a job into `tx`: its start, its end with usage and cost.
    async fn apply(
        &self,
        tx: &mut suanli_store::WriteTx<'_>,
        j: &Job,
        status: &RunStatus,
        pool: Option<&Pool>,
        report: &mut RoundReport,
    ) -> Result<(), StoreError> {
        let (started, ended, usage, failure) = match status {
            RunStatus::Queued | RunStatus::Unknown => return Ok(()),
            RunStatus::Running { started_ms } => (*started_ms, None, None, None),
            RunStatus::Succeeded { started_ms, ended_ms, usage_s } => (*started_ms, Some(*ended_ms), Some(*usage_s), None),
            RunStatus::Failed { started_ms, ended_ms, usage_s, fault, reason } => {
                (*started_ms, Some(*ended_ms), Some(*usage_s), Some((*fault, reason.clone())))
            }
        };
        if j.state == JobState::Placed {
            match tx.transition_job(&j.id, JobState::Running, |x| x.started_ms = Some(started)).await {
                Ok(_) => {}
                Err(StoreError::Domain(_)) => return Ok(()), // cancelled meanwhile
                Err(e) => return Err(e),
            }
            tx.audit(&self.audit("job.started", &j.id, json!({"started_ms": started}))).await?;
            report.started += 1;
        }
        if let (Some(ended), Some(usage)) = (ended, usage) {
            let to = if failure.is_some() { JobState::Failed } else { JobState::Succeeded };
            let cost = cost_of(j, pool, usage);
            match tx
                .transition_job(&j.id, to, |x| {
                    x.finished_ms = Some(ended);
                    x.usage_s = Some(usage);
                    x.cost = Some(cost);
                    x.fault = failure.as_ref().map(|f| f.0);
                    x.reason = failure.as_ref().map(|f| f.1.clone());
                })
                .await
            {
                Ok(_) => {}
                Err(StoreError::Domain(_)) => return Ok(()),
                Err(e) => return Err(e),
            }
            tx.audit(&self.audit(
                if failure.is_some() { "job.failed" } else { "job.succeeded" },
                &j.id,
                json!({"usage_s": usage, "cost": cost.to_yuan_string(), "fault": failure.as_ref().map(|f| f.0), "reason": failure.as_ref().map(|f| &f.1)}),
            ))
            .await?;
            if failure.is_some() {
                report.failed += 1;
            } else {
                report.succeeded += 1;
            }
            if let Some(acc) = pool.and_then(|p| self.catalogue.get(&p.accelerator)) {
                // Usage is seconds on the pool's own accelerator.
                self.account(&j.tenant_id, acc.fp16_tflops / 1000.0 * j.spec.accelerators as f64 * usage as f64, ended);
            }
        }
        Ok(())
    }
}
