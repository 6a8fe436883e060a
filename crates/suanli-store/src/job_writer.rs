//! The job writer: new jobs from every caller are stored by one task that commits whatever is waiting in one transaction (group commit), and answers each caller only after the commit.
//!
//! As with the ledger's writer, durability is unchanged: an acknowledged job is in the store.
//! What changes is the cost: one commit (one fsync on SQLite) for many submissions. If a
//! group's commit fails, its jobs are stored again one at a time, so a job that cannot be
//! stored fails alone and its neighbours are not refused for it; a job found already stored
//! then (the group's commit went through but its answer was lost) is acknowledged.

use crate::{Audit, JobKey, Store, StoreError, WriteTx};
use suanli_core::job::Job;
use tokio::sync::{mpsc, oneshot};

/// The most jobs one commit takes.
const MAX_GROUP: usize = 2048;
/// Submissions waiting for the writer; callers wait for a place beyond this.
const QUEUE: usize = 8192;

type Reply = oneshot::Sender<Result<(), StoreError>>;
/// One submission: the job, its audit record, its idempotency key if the caller sent one.
type Entry = (Job, Audit, Option<JobKey>, Reply);

/// A handle on the job writer; cheap to clone.
#[derive(Clone, Debug)]
pub struct JobWriter {
    queue: mpsc::Sender<Entry>,
}

impl JobWriter {
    /// Starts the writer task over `store`.
    pub fn start(store: Store) -> JobWriter {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(writer(store, rx));
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

async fn writer(store: Store, mut rx: mpsc::Receiver<Entry>) {
    while let Some(first) = rx.recv().await {
        // The write lock first, then the group: every submission that arrives while the writer
        // waits for the lock (other writers hold it for a round's placements or a backend's
        // report) joins this commit instead of waiting for the next one.
        let tx = store.begin().await;
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
        if let Err(e) = stored {
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
        for (_, _, _, reply) in group {
            let _ = reply.send(Ok(()));
        }
    }
}

async fn commit(store: &Store, jobs: &[(&Job, &Audit, Option<&JobKey>)]) -> Result<(), StoreError> {
    write(store.begin().await?, jobs).await
}

async fn write(mut tx: WriteTx<'_>, jobs: &[(&Job, &Audit, Option<&JobKey>)]) -> Result<(), StoreError> {
    let rows: Vec<&Job> = jobs.iter().map(|e| e.0).collect();
    let audits: Vec<&Audit> = jobs.iter().map(|e| e.1).collect();
    let keys: Vec<&JobKey> = jobs.iter().filter_map(|e| e.2).collect();
    tx.insert_jobs(&rows).await?;
    tx.audit_many(&audits).await?;
    tx.insert_job_keys(&keys).await?;
    tx.commit().await
}
