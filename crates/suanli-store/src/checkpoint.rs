//! SQLite's WAL checkpoints off the writer's path: the writer connection never checkpoints on commit; a background task copies the WAL back into the database from a reader connection.
//!
//! By default SQLite checkpoints inside the commit that takes the WAL past 1,000 pages, so
//! one commit in some seventy also copies four megabytes into the database file and syncs it
//! while the store's one writer waits. A `PASSIVE` checkpoint from another connection does the
//! same work without blocking writers (it copies what no reader still needs). The task stops
//! when the last copy of its store is dropped or the pool is closed.

use sqlx::AnyPool;
use std::time::Duration;

/// How often the task checkpoints; a checkpoint with nothing to copy costs a few microseconds.
const EVERY: Duration = Duration::from_millis(200);

/// Stops the checkpoint task when dropped (held by every copy of the store).
pub(crate) struct Checkpointer(tokio::task::JoinHandle<()>);

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts checkpointing the database of `pool` (whose connections must not be the writer's).
pub(crate) fn start(pool: AnyPool) -> Checkpointer {
    Checkpointer(tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if pool.is_closed() {
                return;
            }
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                if pool.is_closed() {
                    return;
                }
                tracing::warn!(error = %e, "checkpointing the SQLite WAL failed; trying again");
            }
        }
    }))
}
