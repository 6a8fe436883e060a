//! Time-sliced leases for preemptible jobs in the live engine: at a lease's end `suanli-sched`'s timeslice policy decides whether a job keeps its pool, moves to another accelerator type of its centre, or yields; the engine stops, records and requeues.
//!
//! A preemptible job is first placed like any other (the one-shot round, cost-aware). Its run
//! is then a lease of [`Timeslicing::lease_ms`] wall milliseconds. At the lease's end the jobs
//! whose leases end and the preemptible jobs waiting for accelerators go to
//! [`suanli_sched::timeslice::lease_ends`] with each live pool as one accelerator type (its
//! capacity less what other jobs hold). A job that ran before stays at its centre (its
//! checkpoint is there), so it is offered only that centre's pools. A job that stops is
//! stopped at its backend, its run recorded as a [`Segment`] (metered seconds, cost at its pool's
//! price, the reference work it did) in the transaction that sends it back to pending; its
//! holds stay open, and the one bill at its end charges its segments and its last run. The
//! next run's estimate is what is left of the work on the new type plus the restore.

use super::{Engine, Placing, RoundReport, cost_of, requeued};
use serde_json::json;
use std::collections::HashMap;
use suanli_core::centre::{Centre, Pool};
use suanli_core::id::JobId;
use suanli_core::job::{Job, JobState, Segment, SegmentEnd, SegmentTotals};
use suanli_core::reason::{JobReason, whole};
use suanli_sched::timeslice::{GpuType, LeaseEnd, SliceConfig, SliceJob, SlicePolicy, lease_ends, work_done_ref_s};
use suanli_store::{StoreError, Writer};

/// The operator's time-slicing: lease length, the policy that decides lease ends, and the
/// checkpoint-restore cost a resumed or moved job pays.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeslicing {
    /// Wall milliseconds of a lease.
    pub lease_ms: i64,
    pub policy: SlicePolicy,
    /// `restore_s` (the job's own seconds) and `aging_s` are used; `lease_s` is `lease_ms`.
    pub cfg: SliceConfig,
}

impl Timeslicing {
    /// Leases of `lease_s` wall seconds under `policy`, with the default restore cost (30 s).
    pub fn new(lease_s: f64, policy: SlicePolicy) -> Timeslicing {
        Timeslicing { lease_ms: (lease_s * 1000.0).round().max(1.0) as i64, policy, cfg: SliceConfig { lease_s, ..SliceConfig::default() } }
    }
}

/// One job in a lease decision, and what the engine needs to apply its outcome.
struct Candidate<'a> {
    job: &'a Job,
    done: SegmentTotals,
    /// The centre it must stay at (it ran there before), if any.
    home: Option<suanli_core::id::CentreId>,
}

impl Engine {
    /// Turns time-slicing on (`Some`) or off for the rounds that follow.
    pub fn set_timeslicing(&self, t: Option<Timeslicing>) {
        *self.timeslicing.write().unwrap_or_else(|e| e.into_inner()) = t;
    }

    pub fn timeslicing(&self) -> Option<Timeslicing> {
        self.timeslicing.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Seconds a resumed or moved job spends restoring its checkpoint.
    pub(super) fn restore_s(&self) -> f64 {
        self.timeslicing().map_or(SliceConfig::default().restore_s, |t| t.cfg.restore_s)
    }

    /// The sums over a job's stopped runs (zero for a job that never stopped).
    pub(super) fn segment_totals(&self, job: &JobId) -> SegmentTotals {
        self.segments.read().unwrap_or_else(|e| e.into_inner()).get(job).map_or_else(SegmentTotals::default, |s| SegmentTotals::of(s))
    }

    fn home_of(&self, job: &JobId) -> Option<suanli_core::id::CentreId> {
        self.segments.read().unwrap_or_else(|e| e.into_inner()).get(job).and_then(|s| s.last()).map(|s| s.centre_id.clone())
    }

    /// Whether a running time-sliced job's lease has ended.
    fn lease_over(&self, j: &Job, now: i64, lease_ms: i64) -> bool {
        let Some(started) = j.started_ms else { return false };
        let from = self.lease_from.lock().unwrap_or_else(|e| e.into_inner()).get(&j.id).copied().unwrap_or(started).max(started);
        now >= from + lease_ms
    }

    /// The lease step of a round: decides the ends of the leases that are over and the turns
    /// of the preemptible jobs that wait, and applies them.
    pub(super) async fn lease_step(
        &self,
        at: &Placing<'_>,
        ts: &Timeslicing,
        waiting: Vec<Job>,
        in_flight: &mut Vec<Job>,
        report: &mut RoundReport,
    ) -> Result<(), StoreError> {
        let now = self.ids.now_ms();
        let over: Vec<Job> = in_flight
            .iter()
            .filter(|j| j.spec.preemptible && j.state == JobState::Running && self.lease_over(j, now, ts.lease_ms))
            .cloned()
            .collect();
        let waiting: Vec<Job> = waiting.into_iter().filter(|j| j.spec.preemptible).collect();
        if over.is_empty() && waiting.is_empty() {
            return Ok(());
        }
        let cands = self.candidates(&over, &waiting);
        let index: HashMap<&suanli_core::id::PoolId, usize> = at.pools.iter().enumerate().map(|(i, p)| (&p.id, i)).collect();
        let types = free_types(at, &index, in_flight, &over);
        let jobs: Vec<SliceJob> = cands.iter().enumerate().map(|(i, c)| self.slice_job(at, &index, i as u64, c, now)).collect();
        let decided = lease_ends(&types, &jobs, ts.policy, &ts.cfg);
        for ((_, end), (c, sj)) in decided.iter().zip(cands.iter().zip(&jobs)) {
            match *end {
                LeaseEnd::Keep => {
                    self.lease_from.lock().unwrap_or_else(|e| e.into_inner()).insert(c.job.id.clone(), now);
                }
                LeaseEnd::Yield => {
                    if self.end_segment(at, c.job, SegmentEnd::Yielded, yielded_why(ts, sj), now).await? {
                        report.yielded += 1;
                        in_flight.retain(|j| j.id != c.job.id);
                    }
                }
                LeaseEnd::Move { to } => {
                    let why = moved_why(at, ts, sj, to);
                    if self.end_segment(at, c.job, SegmentEnd::Migrated, why.clone(), now).await? {
                        report.migrated += 1;
                        in_flight.retain(|j| j.id != c.job.id);
                        in_flight.extend(self.start_lease(at, &c.job.id, &at.pools[to], why, now).await?);
                    }
                }
                LeaseEnd::Start { on } => {
                    let why = lease_why(at, ts, on);
                    if let Some(j) = self.start_lease(at, &c.job.id, &at.pools[on], why, now).await? {
                        report.placed += 1;
                        in_flight.push(j);
                    }
                }
                LeaseEnd::Wait if c.done.segments > 0 => {
                    let why = waiting_why(c);
                    if !c.job.reason.as_ref().is_some_and(|r| r.is(&why)) {
                        self.store.set_job_reason(&c.job.id, &why).await?;
                    }
                }
                LeaseEnd::Wait => {}
            }
        }
        Ok(())
    }

    /// The jobs a lease decision is over, by id: those whose lease is over, at the centre they
    /// run at, and the waiting ones, at the centre of their checkpoint if they ran before.
    fn candidates<'j>(&self, over: &'j [Job], waiting: &'j [Job]) -> Vec<Candidate<'j>> {
        let mut cands: Vec<Candidate> = over
            .iter()
            .map(|j| Candidate { job: j, done: self.segment_totals(&j.id), home: j.centre_id.clone() })
            .chain(waiting.iter().map(|j| Candidate { job: j, done: self.segment_totals(&j.id), home: self.home_of(&j.id) }))
            .collect();
        cands.sort_by(|a, b| a.job.id.cmp(&b.job.id));
        cands
    }

    /// A job as the timeslice policy sees it: its remaining run alone on each live pool (none
    /// where it may not run, or away from its home centre), what it holds and has received.
    fn slice_job(&self, at: &Placing<'_>, index: &HashMap<&suanli_core::id::PoolId, usize>, id: u64, c: &Candidate, now: i64) -> SliceJob {
        let j = c.job;
        let holding = j.pool_id.as_ref().and_then(|p| index.get(p)).copied().filter(|_| j.state == JobState::Running);
        // The running lease's work so far, as its backend's clock runs.
        let (run_s, run_work) = match (holding, j.started_ms) {
            (Some(h), Some(started)) => {
                let scale = self.backend_for(j.centre_id.as_ref()).map_or(1.0, |b| b.time_scale());
                let ran = (now - started).max(0) as f64 / 1000.0 * scale;
                let speed =
                    self.catalogue.get(&at.pools[h].accelerator).map_or(1.0, |a| self.sched.speeds.speed(j.spec.job_class.as_deref(), a));
                (ran, work_done_ref_s(ran, c.done.segments > 0, self.restore_s(), speed))
            }
            _ => (0.0, 0.0),
        };
        let left_ref = (c.done.remaining_ref_s(j.spec.duration_s) as f64 - run_work).max(1.0);
        let centre_of = |p: &Pool| at.centres.iter().find(|x| x.id == p.centre_id);
        let remaining_s = at
            .pools
            .iter()
            .map(|p| {
                let centre: &Centre = centre_of(p)?;
                if c.home.as_ref().is_some_and(|h| h != &p.centre_id)
                    || suanli_sched::misfit(&j.spec, p, centre, &self.catalogue, &self.regions).is_some()
                {
                    return None;
                }
                let acc = self.catalogue.get(&p.accelerator)?;
                Some(self.sched.speeds.run_seconds(j.spec.job_class.as_deref(), acc, left_ref))
            })
            .collect();
        SliceJob {
            id,
            gpus: j.spec.accelerators,
            remaining_s,
            holding,
            started: c.done.segments > 0 || holding.is_some(),
            preemptible: true,
            age_s: (now - j.submitted_ms).max(0) as f64 / 1000.0,
            attained_gpu_s: (c.done.usage_s as f64 + run_s) * f64::from(j.spec.accelerators),
            weight: 1.0,
        }
    }

    /// Stops a running job at its backend and records the run as a segment in the transaction
    /// that sends the job back to pending (its holds stay open for the one bill at its end);
    /// false if the job had moved on meanwhile.
    pub(super) async fn end_segment(
        &self,
        at: &Placing<'_>,
        job: &Job,
        end: SegmentEnd,
        why: JobReason,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (Some(pool), Some(centre)) = (job.pool_id.as_ref().and_then(|p| at.pool_by_id.get(p)).copied(), job.centre_id.clone()) else {
            return Ok(false);
        };
        let ran = self.cancel_on(Some(&centre), &job.id, now).await.unwrap_or(0).max(0);
        let done = self.segment_totals(&job.id);
        let speed = self.catalogue.get(&pool.accelerator).map_or(1.0, |a| self.sched.speeds.speed(job.spec.job_class.as_deref(), a));
        let segment = Segment {
            job_id: job.id.clone(),
            seq: done.segments + 1,
            centre_id: centre.clone(),
            pool_id: pool.id.clone(),
            accelerator: pool.accelerator.clone(),
            started_ms: job.started_ms.unwrap_or(now),
            ended_ms: now,
            usage_s: ran,
            work_ref_s: work_done_ref_s(ran as f64, done.segments > 0, self.restore_s(), speed).round() as i64,
            cost: cost_of(job, Some(pool), ran),
            end,
            reason: why.clone().into(),
        };
        let mut tx = self.store.begin_as(Writer::Placement).await?;
        let moved = tx.transition_job(&job.id, JobState::Pending, |x| requeued(x, why.clone())).await;
        match moved {
            Ok(_) => {}
            Err(StoreError::Domain(e)) => {
                tracing::debug!(job = %job.id, error = %e, "a time-sliced run was not stopped: the job moved on");
                return Ok(false);
            }
            Err(e) => return Err(e),
        }
        tx.insert_segment(&segment).await?;
        let detail = json!({"seq": segment.seq, "pool": pool.id, "usage_s": ran, "work_ref_s": segment.work_ref_s, "cost": segment.cost.to_yuan_string(), "why": why.to_string(), "why_detail": why});
        tx.audit(&self.audit(&format!("job.{}", end.as_str()), &job.id, detail)).await?;
        tx.commit().await?;
        self.lease_from.lock().unwrap_or_else(|e| e.into_inner()).remove(&job.id);
        self.segments.write().unwrap_or_else(|e| e.into_inner()).entry(job.id.clone()).or_default().push(segment);
        Ok(true)
    }

    /// Gives a pending job a lease on a pool: its hold topped up to cover what its runs cost so
    /// far and the rest of its work there, then placed with an audit record saying why.
    async fn start_lease(&self, at: &Placing<'_>, id: &JobId, pool: &Pool, why: JobReason, now: i64) -> Result<Option<Job>, StoreError> {
        let Some(job) = self.store.job(id).await?.filter(|j| j.state == JobState::Pending) else { return Ok(None) };
        let Some(centre) = at.centres.iter().find(|c| c.id == pool.centre_id) else { return Ok(None) };
        if let Some(b) = &self.billing {
            let spent = self.segment_totals(id).cost;
            if let Err(refused) = b.hold_top_up(&job, pool, centre, self.run_estimate_s(&job, Some(pool)), spent, now).await? {
                self.store.set_job_reason(id, &refused.0).await?;
                return Ok(None);
            }
        }
        let audit = self.audit("job.leased", id, json!({"pool": pool.id, "centre": centre.id, "why": why.to_string()}));
        let placed = self
            .store
            .transition_job(id, JobState::Placed, audit, |j| {
                j.pool_id = Some(pool.id.clone());
                j.centre_id = Some(centre.id.clone());
                j.placed_ms = Some(now);
                j.reason = None;
            })
            .await;
        match placed {
            Ok(j) => Ok(Some(j)),
            Err(StoreError::Domain(e)) => {
                tracing::debug!(job = %id, error = %e, "no lease: the job moved on");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// Each live pool as one accelerator type, with its capacity less what the jobs in flight hold
/// (those whose lease is `over` hold nothing: the decision is theirs again).
fn free_types(at: &Placing<'_>, index: &HashMap<&suanli_core::id::PoolId, usize>, in_flight: &[Job], over: &[Job]) -> Vec<GpuType> {
    let mut free: Vec<u32> = at.pools.iter().map(Pool::capacity).collect();
    for j in in_flight.iter().filter(|j| !over.iter().any(|o| o.id == j.id)) {
        if let Some(&i) = j.pool_id.as_ref().and_then(|p| index.get(p)) {
            free[i] = free[i].saturating_sub(j.spec.accelerators);
        }
    }
    at.pools.iter().zip(&free).map(|(p, &gpus)| GpuType { name: p.id.to_string(), gpus }).collect()
}

/// A job's remaining seconds on pool `t` (NaN where it may not run).
fn remaining_on(sj: &SliceJob, t: usize) -> f64 {
    sj.remaining_s.get(t).copied().flatten().unwrap_or(f64::NAN)
}

/// Why a job yielded its accelerators at its lease's end.
fn yielded_why(ts: &Timeslicing, sj: &SliceJob) -> JobReason {
    JobReason::LeaseYielded { policy: ts.policy.as_str().into(), left_s: whole(sj.holding.map_or(f64::NAN, |t| remaining_on(sj, t))) }
}

/// Why a job moved to pool `to` at its lease's end.
fn moved_why(at: &Placing<'_>, ts: &Timeslicing, sj: &SliceJob, to: usize) -> JobReason {
    let from = sj.holding.unwrap_or(to);
    JobReason::LeaseMoved {
        from_pool: at.pools[from].id.clone(),
        from_accelerator: at.pools[from].accelerator.clone(),
        to_pool: at.pools[to].id.clone(),
        to_accelerator: at.pools[to].accelerator.clone(),
        there_s: whole(remaining_on(sj, to) + ts.cfg.restore_s),
        here_s: whole(remaining_on(sj, from)),
        restore_s: whole(ts.cfg.restore_s),
    }
}

/// Why a waiting job starts a lease on pool `on`.
fn lease_why(at: &Placing<'_>, ts: &Timeslicing, on: usize) -> JobReason {
    JobReason::Lease {
        lease_s: ts.lease_ms / 1000,
        pool: at.pools[on].id.clone(),
        accelerator: at.pools[on].accelerator.clone(),
        policy: ts.policy.as_str().into(),
    }
}

/// Why a job that ran before waits: its next lease must be at its checkpoint's centre.
fn waiting_why(c: &Candidate<'_>) -> JobReason {
    JobReason::WaitingForLease { centre: c.home.clone(), runs: c.done.segments }
}
