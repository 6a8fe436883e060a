//! The engine's jobs waiting and in flight, kept between rounds: read in full at start, after a failed round, while this replica follows, and every few minutes as a safety net; between them each round reads only the jobs written since the last (the store's change sequence).

use super::Engine;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use suanli_core::id::JobId;
use suanli_core::job::{Job, JobState};
use suanli_store::StoreError;

/// A full read this often even when nothing asked for one: a safety net, not the mechanism.
const FULL_READ_EVERY: Duration = Duration::from_secs(600);

/// The pending, placed and running jobs as of change number `upto`. Each is shared with the
/// rounds that read it, so that a round over a long queue does not copy every waiting job.
#[derive(Debug, Default)]
pub(super) struct ActiveJobs {
    jobs: BTreeMap<JobId, Arc<Job>>,
    upto: i64,
    /// Change numbers above `upto` under which this engine wrote jobs and took the result in
    /// already ([`Engine::wrote_jobs`]): the next read skips the jobs still under them.
    own: Vec<i64>,
    /// When the last full read was; `None`: the next round reads everything.
    full_at: Option<Instant>,
}

/// How a round read its jobs, for its trace line and the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotRead {
    /// Every pending, placed and running job.
    Full { jobs: usize },
    /// Only the jobs written since the last round.
    Changes { jobs: usize },
}

impl ActiveJobs {
    /// Takes in what was written since: a job still waiting or in flight replaces the kept copy,
    /// one that ended (or was cancelled) leaves.
    fn apply(&mut self, changed: Vec<Job>) {
        for j in changed {
            if matches!(j.state, JobState::Pending | JobState::Placed | JobState::Running) {
                self.jobs.insert(j.id.clone(), Arc::new(j));
            } else {
                self.jobs.remove(&j.id);
            }
        }
    }

    /// Takes in new jobs that the job writer committed under change number `seq`, unless the
    /// kept jobs were read after it (they hold those jobs as they are now) or a full read comes
    /// next; the next read skips `seq`. A job already kept is newer than its insert and stays.
    fn take_new(&mut self, seq: i64, jobs: Vec<Job>) {
        if self.full_at.is_none() || seq <= self.upto {
            return;
        }
        for j in jobs {
            self.jobs.entry(j.id.clone()).or_insert_with(|| Arc::new(j));
        }
        self.own.push(seq);
    }

    /// (in flight, pending), each oldest first: the jobs in flight copied (a round changes
    /// them), the pending ones shared.
    fn split(&self) -> (Vec<Job>, Vec<Arc<Job>>) {
        let (mut in_flight, mut pending) = (Vec::new(), Vec::with_capacity(self.jobs.len()));
        for j in self.jobs.values() {
            if j.state == JobState::Pending { pending.push(j.clone()) } else { in_flight.push(Job::clone(j)) }
        }
        (in_flight, pending)
    }
}

impl Engine {
    /// Forgets the kept jobs (and registry): the next round reads them all from the store (after this replica
    /// becomes leader, or a round failed part-way).
    pub fn forget_jobs(&self) {
        self.reread.store(true, std::sync::atomic::Ordering::Relaxed);
        self.forget_registry();
    }

    /// Takes in jobs as this engine just wrote them, in a committed transaction that stamped
    /// them with change number `seq`, so that the next round need not read them back; a job
    /// written again since under a higher number is read as usual.
    pub(super) async fn wrote_jobs(&self, seq: Option<i64>, jobs: Vec<Job>) {
        let Some(seq) = seq else { return };
        let mut a = self.active.lock().await;
        if a.full_at.is_none() || seq <= a.upto {
            // A full read comes next (it reads them), or the kept jobs were read after this write.
            return;
        }
        a.apply(jobs);
        a.own.push(seq);
    }

    /// Where the job writer of this process hands the new jobs it committed: the rounds take
    /// them in from here instead of reading them back from the store.
    pub fn written_jobs(&self) -> suanli_store::WrittenJobs {
        self.written.clone()
    }

    /// The jobs in flight and pending as the store has them now, read in full or as the changes
    /// since the last round (less the new jobs the job writer handed over, taken in first:
    /// they committed before the read begins, so the read's reasoning about the engine's own
    /// writes holds for them too).
    pub(super) async fn active_jobs(&self) -> Result<(Vec<Job>, Vec<Arc<Job>>, SnapshotRead), StoreError> {
        let mut a = self.active.lock().await;
        for (seq, jobs) in self.written.take() {
            a.take_new(seq, jobs);
        }
        let asked = self.reread.swap(false, std::sync::atomic::Ordering::Relaxed);
        let read = if asked || a.full_at.is_none_or(|t| t.elapsed() > FULL_READ_EVERY) {
            a.full_at = None;
            // The mark first: whatever commits after it is read again next round, nothing is missed.
            let mark = self.store.job_change_mark().await?;
            let jobs = self.store.jobs_in_states(&[JobState::Pending, JobState::Placed, JobState::Running]).await?;
            let n = jobs.len();
            a.jobs = jobs.into_iter().map(|j| (j.id.clone(), Arc::new(j))).collect();
            a.upto = mark;
            a.own.retain(|s| *s > mark);
            a.full_at = Some(Instant::now());
            SnapshotRead::Full { jobs: n }
        } else {
            let changes = self.store.jobs_changed_since(a.upto, &a.own).await?;
            let n = changes.jobs.len();
            // The engine's own writes committed before this read began, so the store counts
            // them as read (`upto`); those still above it (on PostgreSQL, above a transaction
            // still open) are skipped again next time.
            let upto = changes.upto;
            a.upto = upto;
            a.own.retain(|s| *s > upto);
            a.apply(changes.jobs);
            SnapshotRead::Changes { jobs: n }
        };
        let (in_flight, pending) = a.split();
        Ok((in_flight, pending, read))
    }
}
