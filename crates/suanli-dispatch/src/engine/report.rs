//! A round's dispatch step: in-flight jobs handed to their backends (placed jobs every round, running ones in rotating slices), what the backends report believed or refused and written many rows a statement, and strays stopped.

use super::{Engine, RoundReport, WRITES_PER_TX, cost_of};
use crate::{Backend, RunStatus};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use suanli_core::centre::Pool;
use suanli_core::id::{AuditId, JobId, PoolId};
use suanli_core::job::{Fault, Job, JobState, RunBounds, RunClaim, UsageRefused};
use suanli_core::money::Fen;
use suanli_core::reason::JobReason;
use suanli_store::{Audit, EndRow, StoreError, Writer};

/// Running jobs handed over and asked about in one round, at most (placed jobs are, every
/// round): with more running, each waits its turn, and a round over 100,000 running jobs asks
/// about each once every 50 rounds. A job's end is seen that much later; what it ran is what
/// its backend reports, so its bill does not change.
pub(super) const RUNNING_PER_ROUND: usize = 2_000;

/// The in-flight jobs a round hands over and asks about: every placed job (it is to start), and
/// the running ones in turn, `per_round` at a time in id order from after `cursor` (the last
/// one asked about, moved on here). With no more running than that, all of them: a restarted
/// agent learns its running jobs only from these hand-overs, so within a few rounds at most.
fn this_turn<'j>(in_flight: &'j [Job], cursor: &mut Option<JobId>, per_round: usize) -> Vec<&'j Job> {
    let mut running: Vec<&JobId> = in_flight.iter().filter(|j| j.state == JobState::Running).map(|j| &j.id).collect();
    if running.len() <= per_round {
        return in_flight.iter().collect();
    }
    running.sort_unstable();
    let from = cursor.as_ref().map_or(0, |c| running.partition_point(|id| *id <= c));
    let turn: HashSet<&JobId> = running.iter().cycle().skip(from).take(per_round).copied().collect();
    *cursor = Some(running[(from + per_round - 1) % running.len()].clone());
    in_flight.iter().filter(|j| j.state != JobState::Running || turn.contains(&j.id)).collect()
}

impl Engine {
    /// Hands in-flight jobs to their backends (idempotent: a backend adopts what it has), then
    /// applies what each backend says of them: placed jobs every round, running ones in turn.
    pub(super) async fn dispatch(
        &self,
        in_flight: &[Job],
        pool_by_id: &HashMap<&PoolId, &Pool>,
        report: &mut RoundReport,
    ) -> Result<(), StoreError> {
        let mut by_backend: HashMap<usize, (Arc<dyn Backend>, Vec<&Job>)> = HashMap::new();
        let turn = {
            let mut cursor = self.status_cursor.lock().unwrap_or_else(|e| e.into_inner());
            this_turn(in_flight, &mut cursor, self.running_per_round.load(std::sync::atomic::Ordering::Relaxed))
        };
        for j in turn {
            let Some(b) = self.backend_for(j.centre_id.as_ref()) else { continue };
            by_backend.entry(Arc::as_ptr(&b) as *const () as usize).or_insert_with(|| (b, Vec::new())).1.push(j);
        }
        for (backend, jobs) in by_backend.values() {
            let now = self.ids.now_ms();
            // A running job is handed over again in its turn (idempotent: a backend adopts what
            // it has): an agent that restarted knows its jobs only from these hand-overs
            // (leaving confirmed ones out for good broke its adoption).
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
            // What the backend says of them, many rows a statement, a few thousand jobs a transaction.
            let mut told = Vec::new();
            let mut alerts = Vec::new();
            for j in jobs {
                let Some(status) = statuses.get(&j.id) else { continue };
                if matches!(status, RunStatus::Queued | RunStatus::Unknown)
                    || (j.state == JobState::Running && matches!(status, RunStatus::Running { .. }))
                {
                    continue;
                }
                let pool = j.pool_id.as_ref().and_then(|p| pool_by_id.get(p)).copied();
                let (status, alert) = self.believable(j, status, pool, backend.time_scale());
                alerts.extend(alert);
                told.push((*j, status, pool));
            }
            if !alerts.is_empty() {
                let mut tx = self.store.begin_as(Writer::Reports).await?;
                tx.audit_many(&alerts).await?;
                tx.commit().await?;
            }
            for chunk in told.chunks(WRITES_PER_TX) {
                self.apply(chunk, report).await?;
            }
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
                            // An idle round (nothing in flight) read no pools: the stray's own centre's then.
                            let pool = match (job.pool_id.as_ref(), job.centre_id.as_ref()) {
                                (Some(p), _) if pool_by_id.contains_key(p) => pool_by_id.get(p).map(|p| (*p).clone()),
                                (Some(p), Some(c)) => self.store.pools_of(c).await?.into_iter().find(|x| x.id == *p),
                                _ => None,
                            };
                            let cost = cost_of(&job, pool.as_ref(), usage);
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
                    reason: JobReason::UsageRefused { detail: why.clone() },
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

    /// Writes what a backend says of jobs, in one transaction: their starts, their ends with
    /// usage and cost, and an audit record for each. A job that moved on meanwhile (cancelled)
    /// is left alone.
    async fn apply(&self, told: &[(&Job, RunStatus, Option<&Pool>)], report: &mut RoundReport) -> Result<(), StoreError> {
        let mut starts = Vec::new();
        let mut ends = Vec::new();
        for (j, status, pool) in told {
            let (started, end) = match status {
                RunStatus::Queued | RunStatus::Unknown => continue,
                RunStatus::Running { started_ms } => (*started_ms, None),
                RunStatus::Succeeded { started_ms, ended_ms, usage_s } => (*started_ms, Some((*ended_ms, *usage_s, None))),
                RunStatus::Failed { started_ms, ended_ms, usage_s, fault, reason } => {
                    (*started_ms, Some((*ended_ms, *usage_s, Some((*fault, reason.clone())))))
                }
            };
            let placed = j.state == JobState::Placed;
            if placed {
                starts.push((&j.id, started));
            }
            if let Some((ended, usage, failure)) = end {
                ends.push(EndRow {
                    id: &j.id,
                    started_ms: placed.then_some(started),
                    failed: failure.is_some(),
                    finished_ms: ended,
                    usage_s: usage,
                    cost_fen: cost_of(j, *pool, usage).0,
                    fault: failure.as_ref().map(|f| f.0),
                    reason: failure.map(|f| f.1),
                });
            }
        }
        // The audit records are built before the write lock is taken, so other writers are not
        // held up for them; those of jobs that moved on meanwhile are dropped.
        let start_audits: Vec<Audit> = starts.iter().map(|(id, at)| self.audit("job.started", id, json!({"started_ms": at}))).collect();
        let end_audits: Vec<Audit> = ends
            .iter()
            .map(|e| {
                let detail = json!({"usage_s": e.usage_s, "cost": Fen(e.cost_fen).to_yuan_string(), "fault": e.fault, "reason": e.reason.as_ref().map(ToString::to_string)});
                self.audit(if e.failed { "job.failed" } else { "job.succeeded" }, e.id, detail)
            })
            .collect();
        // A job that started and ended since it was last asked about is written once, from
        // placed to its end (`EndRow::started_ms`), not started and then ended.
        let through: HashSet<&JobId> = ends.iter().filter(|e| e.started_ms.is_some()).map(|e| e.id).collect();
        let only_started: Vec<(&JobId, i64)> = starts.iter().filter(|(id, _)| !through.contains(id)).copied().collect();
        let mut tx = self.store.begin_as(Writer::Reports).await?;
        let mut started = tx.start_jobs(&only_started).await?;
        let ended = tx.end_jobs(&ends).await?;
        started.extend(through.iter().filter(|id| ended.contains(**id)).map(|id| (*id).clone()));
        let audits: Vec<&Audit> = (start_audits.iter().zip(&starts).filter(|(_, (id, _))| started.contains(*id)).map(|(a, _)| a))
            .chain(end_audits.iter().zip(&ends).filter(|(_, e)| ended.contains(e.id)).map(|(a, _)| a))
            .collect();
        tx.audit_many(&audits).await?;
        let seq = tx.stamped_job_seq();
        tx.commit().await?;
        let end_of: HashMap<&JobId, &EndRow<'_>> = ends.iter().filter(|e| ended.contains(e.id)).map(|e| (e.id, e)).collect();
        self.wrote_jobs(seq, written(told, &starts, &started, &end_of)).await;
        report.started += started.len() as u32;
        for (j, _, pool) in told {
            let Some(e) = end_of.get(&j.id) else { continue };
            if e.failed {
                report.failed += 1;
            } else {
                report.succeeded += 1;
            }
            if let Some(acc) = pool.and_then(|p| self.catalogue.get(&p.accelerator)) {
                // Usage is seconds on the pool's own accelerator.
                self.account(&j.tenant_id, suanli_sched::driver::pflop_s(acc, j.spec.accelerators, e.usage_s as f64), e.finished_ms);
            }
        }
        Ok(())
    }
}

/// The jobs as [`Engine::apply`] wrote them: those started are running from when they
/// started; those ended (`end_of`) are in their final state (no longer kept), whatever else
/// they are.
fn written(
    told: &[(&Job, RunStatus, Option<&Pool>)],
    starts: &[(&JobId, i64)],
    started: &HashSet<JobId>,
    end_of: &HashMap<&JobId, &EndRow<'_>>,
) -> Vec<Job> {
    let start_of: HashMap<&JobId, i64> = starts.iter().filter(|(id, _)| started.contains(*id)).map(|(id, at)| (*id, *at)).collect();
    let mut out = Vec::with_capacity(start_of.len() + end_of.len());
    for (j, _, _) in told {
        let (start, end) = (start_of.get(&j.id), end_of.get(&j.id));
        if start.is_none() && end.is_none() {
            continue;
        }
        let mut w = (*j).clone();
        if let Some(at) = start {
            w.state = JobState::Running;
            w.started_ms = Some(*at);
        }
        if let Some(e) = end {
            w.state = if e.failed { JobState::Failed } else { JobState::Succeeded };
        }
        out.push(w);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::this_turn;
    use std::collections::HashMap;
    use suanli_core::id::{JobId, TenantId};
    use suanli_core::job::{Job, JobKind, JobSpec, JobState};

    fn job(n: i64, state: JobState) -> Job {
        let mut j = Job::pending(JobId::generate(n, n as u64), TenantId::generate(1, 1), JobSpec::new("a", JobKind::Batch, 1, 60), n);
        j.state = state;
        j
    }

    /// Placed jobs are handed over every round; running ones in turn, each once in every
    /// ceil(running / per round) rounds, whatever order they come in; few running: all, always.
    #[test]
    fn running_jobs_take_turns_and_placed_ones_go_every_round() {
        let mut in_flight: Vec<Job> = (0..25).rev().map(|n| job(n, JobState::Running)).collect();
        in_flight.extend((100..103).map(|n| job(n, JobState::Placed)));
        let mut cursor = None;
        let mut asked: HashMap<JobId, usize> = HashMap::new();
        for _ in 0..6 {
            let turn = this_turn(&in_flight, &mut cursor, 10);
            assert_eq!(turn.iter().filter(|j| j.state == JobState::Placed).count(), 3);
            assert_eq!(turn.iter().filter(|j| j.state == JobState::Running).count(), 10);
            for j in turn {
                *asked.entry(j.id.clone()).or_default() += 1;
            }
        }
        // 25 running, 10 a round: 60 turns in six rounds, each job asked about twice or three times.
        let running: Vec<usize> = in_flight.iter().filter(|j| j.state == JobState::Running).map(|j| asked[&j.id]).collect();
        assert!(running.iter().all(|n| (2..=3).contains(n)), "{running:?}");
        assert_eq!(running.iter().sum::<usize>(), 60);
        let few = &in_flight[..5];
        assert_eq!(this_turn(few, &mut cursor, 10).len(), 5);
    }
}
