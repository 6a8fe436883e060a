//! The job writer: new jobs from every caller are stored by one task that commits whatever is waiting in one transaction (group commit), and answers each caller only after the commit.
//!
//! As with the ledger's writer, durability is unchanged: an acknowledged job is in the store.
//! What changes is the cost: one commit (one fsync on SQLite) for many submissions. If a
//! group's commit fails, its jobs are stored again one at a time, so a job that cannot be
//! stored fails alone and its neighbours are not refused for it; a job found already stored
//! then (the group's commit went through but its answer was lost) is acknowledged.
//!
//! Each committed group is also handed, with the change number it was stamped with, to the
//! engine of the same process ([`WrittenJobs`]), which takes the new jobs in without reading
//! them back from the store.

use crate::{Audit, JobKey, Store, StoreError, WriteTx};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use suanli_core::job::Job;
use tokio::sync::{mpsc, oneshot};

/// The most jobs one commit takes.
const MAX_GROUP: usize = 2048;
/// Submissions waiting for the writer; callers wait for a place beyond this.
const QUEUE: usize = 8192;
/// New jobs kept for the engine until it takes them; past this the oldest groups are dropped
/// (a replica that does not lead runs no rounds), and the engine reads their jobs from the
/// store as it would without them.
const WRITTEN_KEPT: usize = 50_000;

/// New jobs as this process's job writer committed them, each group with the change number it
/// was stamped with, until the engine takes them ([`WrittenJobs::take`]). The jobs are exactly
/// the rows committed, so the engine may take them in instead of reading them back, and skip
/// those numbers in its next read of the changes (other writers', and other processes', are
/// read as usual). Cheap to clone: the copies share one buffer.
#[derive(Clone, Debug, Default)]
pub struct WrittenJobs(Arc<Mutex<Kept>>);

/// The groups kept, oldest first, and how many jobs they hold.
#[derive(Debug, Default)]
struct Kept {
    groups: VecDeque<Written>,
    jobs: usize,
}

/// A committed group: its change number and its jobs.
type Written = (i64, Vec<Job>);

impl WrittenJobs {
    fn push(&self, seq: i64, jobs: Vec<Job>) {
        let mut k = self.0.lock().unwrap_or_else(|e| e.into_inner());
        k.jobs += jobs.len();
        k.groups.push_back((seq, jobs));
        while k.jobs > WRITTEN_KEPT {
            let Some((_, dropped)) = k.groups.pop_front() else { break };
            k.jobs -= dropped.len();
        }
    }

    /// The groups committed since the last call, oldest first.
    pub fn take(&self) -> Vec<Written> {
        let mut k = self.0.lock().unwrap_or_else(|e| e.into_inner());
        k.jobs = 0;
        k.groups.drain(..).collect()
    }
}

type Reply = oneshot::Sender<Result<(), StoreError>>;
/// One submission: the job, its audit record, its idempotency key if the caller sent one.
type Entry = (Job, Audit, Option<JobKey>, Reply);

/// A handle on the job writer; cheap to clone.
#[derive(Clone, Debug)]
pub struct JobWriter {
    queue: mpsc::Sender<Entry>,
}

impl JobWriter {
    /// Starts the writer task over `store`, handing each committed group to `written`.
    pub fn start(store: Store, written: WrittenJobs) -> JobWriter {
        let (queue, rx) = mpsc::channel(QUEUE);
        // On SQLite on a thread of its own, woken as soon as each statement is answered (see
        // [`crate::spawn_writer`]); it ends when the last handle is dropped.
        let task = writer(store.clone(), rx, written);
        crate::spawn_writer(&store, "job-writer", task);
        JobWriter { queue }
    }

    /// Stores a new job with its audit record (and its idempotency key, which fails the insert
    /// if its tenant used it already); returns once it is committed.
    pub async fn insert(&self, job: Job, audit: Audit, key: Option<JobKey>) -> Result<(), StoreError> {
        let (reply, done) = oneshot::channel();
        self.queue.send((job, audit, key, reply)).await.map_err(|_| StoreError::Corrupt("the job writer has stopped".into()))?;
        done.await.unwrap_or_else(|_| Err(StoreError::Corrupt("the job writer stopped before answering".into())))
    }
}

async fn writer(store: Store, mut rx: mpsc::Receiver<Entry>, written: WrittenJobs) {
    while let Some(first) = rx.recv().await {
        // The write lock first, then the group: every submission that arrives while the writer
        // waits for the lock (other writers hold it for a round's placements or a backend's
        // report) joins this commit instead of waiting for the next one.
        let tx = store.begin_as(crate::Writer::Jobs).await;
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(x) => group.push(x),
                Err(_) => break,
            }
        }
        let all: Vec<(&Job, &Audit, Option<&JobKey>)> = group.iter().map(|(j, a, k, _)| (j, a, k.as_ref())).collect();
        let stored = match tx {
            Ok(tx) => write(tx, &all).await,
            Err(e) => Err(e),
        };
        let seq = match stored {
            Ok(seq) => seq,
            Err(e) => {
                tracing::warn!(error = %e, jobs = group.len(), "a group of new jobs failed to commit; storing them one at a time");
                for (job, audit, key, reply) in group {
                    let one = match commit(&store, &[(&job, &audit, key.as_ref())]).await {
                        Ok(()) => Ok(()),
                        // A commit whose answer was lost (the connection broke while it committed,
                        // or the database failed over) may have stored the group after all: then
                        // the job is there, under its own id, and the caller gets its answer.
                        Err(e) if matches!(store.job(&job.id).await, Ok(Some(_))) => {
                            tracing::warn!(job = %job.id, error = %e, "the group had stored this job before its commit's answer was lost");
                            Ok(())
                        }
                        Err(e) => {
                            tracing::error!(job = %job.id, error = %e, "storing a new job failed");
                            Err(e)
                        }
                    };
                    let _ = reply.send(one);
                }
                continue;
            }
        };
        let mut jobs = Vec::with_capacity(group.len());
        for (job, _, _, reply) in group {
            let _ = reply.send(Ok(()));
            jobs.push(job);
        }
        written.push(seq, jobs);
    }
}

async fn commit(store: &Store, jobs: &[(&Job, &Audit, Option<&JobKey>)]) -> Result<(), StoreError> {
    write(store.begin_as(crate::Writer::Jobs).await?, jobs).await.map(drop)
}

/// Stores the jobs in one transaction; the change number they were stamped with.
async fn write(mut tx: WriteTx<'_>, jobs: &[(&Job, &Audit, Option<&JobKey>)]) -> Result<i64, StoreError> {
    let rows: Vec<&Job> = jobs.iter().map(|e| e.0).collect();
    let audits: Vec<&Audit> = jobs.iter().map(|e| e.1).collect();
    let keys: Vec<&JobKey> = jobs.iter().filter_map(|e| e.2).collect();
    tx.stamp_jobs_in_script().await?;
    tx.insert_jobs(&rows).await?;
    tx.audit_many(&audits).await?;
    tx.insert_job_keys(&keys).await?;
    tx.commit_stamped().await?.ok_or_else(|| StoreError::Corrupt("a group of new jobs was stamped with no change number".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use suanli_core::id::{JobId, TenantId};
    use suanli_core::job::{JobKind, JobSpec};

    fn jobs(n: usize) -> Vec<Job> {
        (0..n)
            .map(|i| Job::pending(JobId::generate(1, i as u64), TenantId::generate(1, 1), JobSpec::new("j", JobKind::Batch, 1, 60), 1))
            .collect()
    }

    #[test]
    fn groups_are_taken_once_in_order_and_the_oldest_dropped_past_the_bound() {
        let w = WrittenJobs::default();
        w.push(7, jobs(2));
        w.push(9, jobs(3));
        let taken = w.take();
        assert_eq!(taken.iter().map(|(s, j)| (*s, j.len())).collect::<Vec<_>>(), vec![(7, 2), (9, 3)]);
        assert!(w.take().is_empty(), "taken once");
        // Past the bound the oldest groups go (the engine reads those jobs from the store).
        w.push(10, jobs(WRITTEN_KEPT - 1));
        w.push(11, jobs(2));
        assert_eq!(w.take().iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![11]);
    }
}
