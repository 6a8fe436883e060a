//! Keeping up with Suanli's jobs in slurmctld without listing every job it keeps each poll: the view of them, Slurm's clock as its own answers show it, and the reads that refresh the view (one job at a time, or one listing asked with `update_time`).
//!
//! slurmctld keeps every ended job for `MinJobAge` (3600 s on the local cluster), so a listing
//! grows with everything the cluster ran in the last hour, whoever ran it: 15,202 kept jobs made
//! one `GET /slurm/v0.0.38/jobs` 48 MB and 3-3.8 s. A poll now reads only the jobs it follows,
//! one `GET /slurm/v0.0.38/job/{id}` each. The full listing is still what finds jobs this
//! process did not submit (adoption after a restart, strays, strangers): it is read on first
//! need, then at most once a minute (`SlurmConfig::discover_every`), and when too many jobs are
//! to be read one by one.
//!
//! slurmctld 22.05 answers `?update_time=T` all or nothing: HTTP 304 with no body when no job
//! changed since `T`, otherwise every job (not only the changed ones). So the later listings ask
//! with `T` = Slurm's clock when the previous listing was asked, less a margin: an idle cluster
//! answers 304, a busy one the full listing, and neither loses a change. Slurm's clock is read
//! from its answers (a submit time; a start or end once past) and carried forward on this
//! process's monotonic clock, never compared with Suanli's wall clock, so skew between the two
//! cannot hide a change.

use super::answers::SlurmJob;
use super::{API_VERSION, SlurmBackend};
use crate::BackendError;
use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use suanli_core::id::JobId;

/// More jobs to read than this: one listing instead of a request each.
pub(super) const PER_JOB_MAX: usize = 64;
/// Jobs read one at a time, this many requests at once.
const PER_JOB_PARALLEL: usize = 8;
/// The listing that finds jobs this process did not submit is read again after this long.
pub(super) const DISCOVER_EVERY: Duration = Duration::from_secs(60);
/// A job read this recently is not read again for `active` (the round's `status` just read it)
/// nor a listing asked this recently for a burst of submissions.
pub(super) const FRESH_FOR: Duration = Duration::from_secs(1);
/// `update_time` is Slurm's clock when the previous listing was asked, less this.
const STAMP_MARGIN_S: i64 = 2;

/// A time slurmctld's clock had surely reached, from its own answers, and when this process
/// read it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct SlurmClock(Option<(i64, Instant)>);

impl SlurmClock {
    /// An answer read at `read` shows Slurm's clock had reached `at_least_s`.
    pub(super) fn observe(&mut self, at_least_s: i64, read: Instant) {
        if at_least_s <= 0 {
            return;
        }
        let Some((s, seen)) = self.0 else {
            self.0 = Some((at_least_s, read));
            return;
        };
        // Compare both at the later instant: the one showing the later Slurm time wins.
        let later = read.max(seen);
        let candidate = at_least_s + later.duration_since(read).as_secs() as i64;
        if candidate > s + later.duration_since(seen).as_secs() as i64 {
            self.0 = Some((at_least_s, read));
        }
    }

    /// A time Slurm's clock has surely reached at `now` (whole seconds, rounded down).
    pub(super) fn floor_s(&self, now: Instant) -> Option<i64> {
        self.0.map(|(s, seen)| s + now.saturating_duration_since(seen).as_secs() as i64)
    }
}

/// A Slurm job as last read.
#[derive(Debug, Clone)]
pub(super) struct Seen {
    pub(super) job: SlurmJob,
    /// When it was read.
    pub(super) at: Instant,
    /// To be read again before it is believed (just submitted, or just cancelled).
    pub(super) outdated: bool,
}

/// What this process knows of the Slurm jobs carrying a Suanli id.
#[derive(Debug, Default)]
pub(super) struct View {
    jobs: HashMap<u64, Seen>,
    by_suanli: HashMap<JobId, Vec<u64>>,
    /// When the last listing (or a 304 for it) was asked.
    listed: Option<Instant>,
    /// The `update_time` of the next listing.
    stamp: Option<i64>,
    pub(super) clock: SlurmClock,
}

impl View {
    pub(super) fn listed_within(&self, age: Duration, now: Instant) -> bool {
        self.listed.is_some_and(|at| now.saturating_duration_since(at) < age)
    }

    pub(super) fn stamp(&self) -> Option<i64> {
        self.stamp
    }

    /// A full listing asked at `asked` and read at `read` replaces what was known, except jobs
    /// first read after it was asked (a submission it may predate).
    pub(super) fn listed(&mut self, jobs: Vec<SlurmJob>, asked: Instant, read: Instant) {
        // Older readings speak for Slurm's clock when the listing was asked; this listing's
        // times are at most its own moment, which is later.
        let before = self.clock.floor_s(asked);
        let newest = jobs.iter().map(SlurmJob::surely_past_s).max();
        for j in &jobs {
            self.clock.observe(j.surely_past_s(), read);
        }
        let mut kept: HashMap<u64, Seen> =
            jobs.into_iter().filter(|j| j.suanli.is_some()).map(|j| (j.id, Seen { job: j, at: read, outdated: false })).collect();
        for (id, seen) in self.jobs.drain() {
            if seen.at > asked {
                kept.entry(id).or_insert(seen);
            }
        }
        self.jobs = kept;
        self.reindex();
        self.listed = Some(asked);
        self.stamp = before.max(newest).filter(|s| *s > 0).map(|s| s - STAMP_MARGIN_S);
    }

    /// A listing asked at `asked` with the stamp was answered 304: no job changed since.
    pub(super) fn unchanged(&mut self, asked: Instant) {
        for seen in self.jobs.values_mut() {
            seen.at = seen.at.max(asked);
        }
        self.listed = Some(asked);
        if let Some(now) = self.clock.floor_s(asked) {
            self.stamp = self.stamp.max(Some(now - STAMP_MARGIN_S));
        }
    }

    /// One job as read at `at`.
    pub(super) fn read(&mut self, job: SlurmJob, at: Instant) {
        self.clock.observe(job.surely_past_s(), at);
        if let Some(id) = &job.suanli {
            let ids = self.by_suanli.entry(id.clone()).or_default();
            if !ids.contains(&job.id) {
                ids.push(job.id);
            }
        }
        self.jobs.insert(job.id, Seen { job, at, outdated: false });
    }

    /// slurmctld no longer knows the job (purged after `MinJobAge`).
    pub(super) fn gone(&mut self, slurm_id: u64) {
        if let Some(seen) = self.jobs.remove(&slurm_id)
            && let Some(id) = &seen.job.suanli
            && let Some(ids) = self.by_suanli.get_mut(id)
        {
            ids.retain(|x| *x != slurm_id);
            if ids.is_empty() {
                self.by_suanli.remove(id);
            }
        }
    }

    /// The job must be read again before it is believed.
    pub(super) fn outdated(&mut self, slurm_id: u64) {
        if let Some(seen) = self.jobs.get_mut(&slurm_id) {
            seen.outdated = true;
        }
    }

    pub(super) fn get(&self, slurm_id: u64) -> Option<&SlurmJob> {
        self.jobs.get(&slurm_id).map(|s| &s.job)
    }

    /// The Slurm jobs carrying the Suanli id.
    pub(super) fn carrying(&self, id: &JobId) -> Vec<SlurmJob> {
        self.by_suanli.get(id).into_iter().flatten().filter_map(|x| self.jobs.get(x)).map(|s| s.job.clone()).collect()
    }

    /// Live (pending or running) jobs, by Slurm id.
    pub(super) fn live(&self) -> Vec<&SlurmJob> {
        let mut live: Vec<&SlurmJob> = self.jobs.values().map(|s| &s.job).filter(|j| j.is_active()).collect();
        live.sort_unstable_by_key(|j| j.id);
        live
    }

    /// Live jobs last read before `cutoff` (or outdated).
    pub(super) fn live_read_before(&self, cutoff: Instant) -> Vec<u64> {
        let mut ids: Vec<u64> =
            self.jobs.values().filter(|s| s.job.is_active() && (s.outdated || s.at < cutoff)).map(|s| s.job.id).collect();
        ids.sort_unstable();
        ids
    }

    fn reindex(&mut self) {
        self.by_suanli.clear();
        for seen in self.jobs.values() {
            if let Some(id) = &seen.job.suanli {
                self.by_suanli.entry(id.clone()).or_default().push(seen.job.id);
            }
        }
    }
}

/// What a Slurm backend asked slurmrestd since it was made.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SlurmStats {
    /// Listings of every job slurmctld keeps, answered in full (`GET /slurm/v0.0.38/jobs`).
    pub listings: u64,
    /// Listings asked with `update_time` that slurmctld answered 304: no job changed.
    pub listings_unchanged: u64,
    /// Single jobs read (`GET /slurm/v0.0.38/job/{id}`).
    pub job_reads: u64,
    /// Every request, whatever it asked.
    pub requests: u64,
    /// The bytes of every answer's body.
    pub bytes: u64,
}

#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) listings: AtomicU64,
    pub(super) listings_unchanged: AtomicU64,
    pub(super) job_reads: AtomicU64,
    pub(super) requests: AtomicU64,
    pub(super) bytes: AtomicU64,
}

impl Counters {
    pub(super) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> SlurmStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SlurmStats {
            listings: get(&self.listings),
            listings_unchanged: get(&self.listings_unchanged),
            job_reads: get(&self.job_reads),
            requests: get(&self.requests),
            bytes: get(&self.bytes),
        }
    }
}

impl SlurmBackend {
    /// What this backend asked slurmrestd since it was made.
    pub fn stats(&self) -> SlurmStats {
        self.counters.snapshot()
    }

    pub(super) fn view(&self) -> std::sync::MutexGuard<'_, View> {
        self.view.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lists every job slurmctld keeps, unless a listing was asked within `max_age`; after the
    /// first, with `update_time`, so that an unchanged cluster answers 304 and no body.
    pub(super) async fn discover(&self, max_age: Duration) -> Result<(), BackendError> {
        let stamp = {
            let view = self.view();
            if view.listed_within(max_age, Instant::now()) {
                return Ok(());
            }
            view.stamp()
        };
        let path = match stamp {
            Some(t) => format!("/slurm/{API_VERSION}/jobs?update_time={t}"),
            None => format!("/slurm/{API_VERSION}/jobs"),
        };
        let asked = Instant::now();
        let (status, answer) = self.call(Method::GET, &path, None).await?;
        if status == StatusCode::NOT_MODIFIED {
            Counters::add(&self.counters.listings_unchanged, 1);
            self.view().unchanged(asked);
            return Ok(());
        }
        if status != StatusCode::OK {
            return Err(self.refused(&Method::GET, &path, status, &answer));
        }
        let jobs = answer.get("jobs").and_then(Value::as_array).ok_or_else(|| self.unexpected(&path, "no \"jobs\" list"))?;
        let jobs: Vec<SlurmJob> = jobs.iter().filter_map(SlurmJob::from_ctld).collect();
        Counters::add(&self.counters.listings, 1);
        tracing::debug!(jobs = jobs.len(), ms = asked.elapsed().as_millis() as u64, "slurm: listed every job slurmctld keeps");
        self.view().listed(jobs, asked, Instant::now());
        Ok(())
    }

    /// Reads these jobs again: a request each, or one listing when there are many.
    pub(super) async fn reread(&self, slurm_ids: &[u64]) -> Result<(), BackendError> {
        if slurm_ids.is_empty() {
            return Ok(());
        }
        if slurm_ids.len() > PER_JOB_MAX {
            return self.discover(Duration::ZERO).await;
        }
        let reads: Vec<(u64, Result<Option<SlurmJob>, BackendError>, Instant)> = futures_util::stream::iter(slurm_ids.iter().copied())
            .map(|id| async move {
                let read = self.get_job(id).await;
                (id, read, Instant::now())
            })
            .buffer_unordered(PER_JOB_PARALLEL)
            .collect()
            .await;
        let mut first_error = None;
        let mut view = self.view();
        for (id, read, at) in reads {
            match read {
                Ok(Some(job)) => view.read(job, at),
                Ok(None) => view.gone(id),
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}
