//! The connection pools of a store: one database's pool with the settings every connection needs.

use crate::{Dialect, StoreOptions, StoreResult, priority};
use sqlx::AnyPool;
use sqlx::AssertSqlSafe;
use sqlx::any::AnyPoolOptions;
use std::time::Duration;

/// Opens a pool on one database, with the settings every connection of the store needs.
/// On SQLite, `checkpoints` is false for the writer's connection alone: a commit there does not
/// checkpoint the WAL (a background task does, see checkpoint.rs), and its page cache is smaller.
pub(crate) async fn open_pool(url: &str, dialect: Dialect, options: &StoreOptions, checkpoints: bool) -> StoreResult<AnyPool> {
    let schema = options.pg_schema.clone();
    let pool = AnyPoolOptions::new()
        .max_connections(options.max_connections.unwrap_or(match dialect {
            Dialect::Sqlite => 4,
            Dialect::Postgres => 8,
        }))
        .acquire_timeout(Duration::from_secs(10))
        // A SQLite connection lives in this process and does not go stale, and the ping before
        // each acquire was a round trip to its worker thread (p50 0.3 ms, p90 2 ms of the energy
        // writer's commits under load). A PostgreSQL connection is pinged as before.
        .test_before_acquire(dialect == Dialect::Postgres)
        .after_connect(move |conn, _meta| {
            let schema = schema.clone();
            Box::pin(async move {
                match dialect {
                    Dialect::Sqlite => {
                        // WAL for concurrent readers; FULL sync so an acknowledged commit survives power loss;
                        // foreign keys are off by default in SQLite. Memory-mapped reads (256 MiB) per
                        // connection keep page reads out of read() system calls.
                        // Statement journals (kept while a statement of many rows may need undoing
                        // inside its transaction) and temporary sorts stay in memory: over 64 KiB
                        // SQLite spilled them to a temporary file, a write() per page, about a
                        // tenth of the writer thread's time while jobs were submitted and placed.
                        for pragma in [
                            "PRAGMA journal_mode = WAL",
                            "PRAGMA synchronous = FULL",
                            "PRAGMA foreign_keys = ON",
                            "PRAGMA busy_timeout = 10000",
                            "PRAGMA mmap_size = 268435456",
                            "PRAGMA temp_store = MEMORY",
                        ] {
                            sqlx::query(pragma).execute(&mut *conn).await?;
                        }
                        // A 64 MiB page cache for a reader, 8 MiB for the writer. When a B-tree
                        // rebalance swaps page numbers, SQLite parks a page under the locking page's
                        // number (page 262,145), and the commit after it walks the writer's whole
                        // cache to drop pages past the end: with 64 MiB, about 7% of the writer
                        // thread's time while jobs were submitted (perf, `bench e2e`). Pages it
                        // reads come from the memory map all the same.
                        let cache = if checkpoints { "PRAGMA cache_size = -65536" } else { "PRAGMA cache_size = -8192" };
                        sqlx::query(cache).execute(&mut *conn).await?;
                        if !checkpoints {
                            sqlx::query("PRAGMA wal_autocheckpoint = 0").execute(&mut *conn).await?;
                        }
                        // The connection's thread is new.
                        priority::raise_sqlite_threads();
                    }
                    Dialect::Postgres => {
                        if let Some(s) = schema {
                            sqlx::query(AssertSqlSafe(format!("SET search_path TO {s}"))).execute(&mut *conn).await?;
                        }
                    }
                }
                Ok(())
            })
        })
        .connect(url)
        .await?;
    Ok(pool)
}
