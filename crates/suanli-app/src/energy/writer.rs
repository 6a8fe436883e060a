//! The energy writer: one task that group-commits judged batches of readings in the order they were judged, and answers each after the commit.

use std::time::{Duration, Instant};
use suanli_core::id::CentreId;
use suanli_energy::Meter;
use suanli_store::energy::EncodedReadings;
use suanli_store::{Audit, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// At most this many batches go into one commit.
pub const MAX_GROUP: usize = 64;

/// A batch's accepted readings, encoded, and its audit record; or why they could not be.
pub(super) type Payload = Result<(EncodedReadings, Option<Audit>), String>;

/// Accepted readings on their way to the store, and who waits for the commit.
pub(super) struct WriteJob {
    pub new_meters: Vec<(CentreId, Vec<Meter>)>,
    /// The payload, prepared by the sender once it has let the book's lock go: the job takes
    /// its place in the queue (judging order) under the lock, and the encoding is done outside
    /// it, so the one writer only joins what it receives.
    pub payload: oneshot::Receiver<Payload>,
    pub reply: oneshot::Sender<Result<(), String>>,
}

/// A job whose payload has arrived.
struct Ready {
    new_meters: Vec<(CentreId, Vec<Meter>)>,
    readings: EncodedReadings,
    audit: Option<Audit>,
    reply: oneshot::Sender<Result<(), String>>,
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
    let mut idle_from = Instant::now();
    while let Some(first) = jobs.recv().await {
        let idle = idle_from.elapsed();
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        let mut ready = Vec::with_capacity(group.len());
        for WriteJob { new_meters, payload, reply } in group {
            match payload.await {
                Ok(Ok((readings, audit))) => ready.push(Ready { new_meters, readings, audit, reply }),
                // Not stored: its sender's book is rebuilt from the store when it hears so.
                Ok(Err(e)) => drop(reply.send(Err(e))),
                Err(_) => drop(reply.send(Err("the batch's readings never reached the writer".into()))),
            }
        }
        if !ready.is_empty() {
            let result = commit(&store, &ready, idle).await.map_err(|e| e.to_string());
            for j in ready {
                let _ = j.reply.send(result.clone());
            }
        }
        idle_from = Instant::now();
    }
}

/// One group's transaction (see [`Store::append_energy`]); its time is logged at debug level
/// (`suanli_app::energy`), with how long the writer waited for the group.
async fn commit(store: &Store, group: &[Ready], idle: Duration) -> Result<(), StoreError> {
    let t0 = Instant::now();
    let meters: Vec<(&CentreId, &[Meter])> = group.iter().flat_map(|j| j.new_meters.iter().map(|(c, m)| (c, m.as_slice()))).collect();
    let readings: Vec<&EncodedReadings> = group.iter().map(|j| &j.readings).collect();
    let audits: Vec<&Audit> = group.iter().filter_map(|j| j.audit.as_ref()).collect();
    store.append_energy(&meters, &readings, &audits).await?;
    tracing::debug!(
        batches = group.len(),
        readings = readings.iter().map(|r| r.len()).sum::<usize>(),
        idle_us = idle.as_micros() as u64,
        commit_us = t0.elapsed().as_micros() as u64,
        "energy commit"
    );
    Ok(())
}
