//! The energy writer: one task that group-commits judged batches of readings in the order they were judged, and answers each after the commit.

use suanli_core::id::CentreId;
use suanli_energy::{Meter, Reading};
use suanli_store::{Audit, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// At most this many batches go into one commit.
pub const MAX_GROUP: usize = 64;

/// Accepted readings on their way to the store, and who waits for the commit.
pub(super) struct WriteJob {
    pub new_meters: Vec<(CentreId, Vec<Meter>)>,
    pub readings: Vec<(CentreId, Vec<Reading>)>,
    pub audit: Option<Audit>,
    pub reply: oneshot::Sender<Result<(), String>>,
}

/// Starts the writer with a queue of `capacity` batches (at least one); answers its sender.
pub(super) fn start(store: Store, capacity: usize) -> mpsc::Sender<WriteJob> {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    tokio::spawn(run(store, rx));
    tx
}

/// Takes every queued batch (up to [`MAX_GROUP`]), writes them in the order they were judged
/// in one transaction, commits, then answers each.
async fn run(store: Store, mut jobs: mpsc::Receiver<WriteJob>) {
    while let Some(first) = jobs.recv().await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        let result = commit(&store, &group).await.map_err(|e| e.to_string());
        for j in group {
            let _ = j.reply.send(result.clone());
        }
    }
}

async fn commit(store: &Store, group: &[WriteJob]) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    for j in group {
        for (centre, meters) in &j.new_meters {
            tx.upsert_energy_meters(centre, meters).await?;
        }
    }
    let rows: Vec<(&CentreId, &[Reading])> = group.iter().flat_map(|j| j.readings.iter().map(|(c, r)| (c, r.as_slice()))).collect();
    tx.insert_energy_readings_many(&rows).await?;
    let audits: Vec<Audit> = group.iter().filter_map(|j| j.audit.clone()).collect();
    tx.audit_many(&audits).await?;
    tx.commit().await
}
