//! The jobs' change sequence (each write stamps a number, read back as "what changed since n") and the dispatch engine's batched job writes: placements, waiting reasons, starts and ends, many rows a statement.
//!
//! A reader keeps the highest number it has read and asks for the jobs written above it. For
//! that to miss nothing, no job may later be committed under a number at or below what a reader
//! has already passed.
//!
//! - **SQLite**: a transaction takes the next number from a counter row. The single writer
//!   commits them in the order they are taken, so a reader that has seen n has seen every job
//!   written under a smaller number.
//! - **PostgreSQL**: a transaction stamps its jobs with its own transaction id
//!   (`pg_current_xact_id()`, plus a fixed base, see below), which it holds from its first
//!   write. Writers commit in any order, so a reader reads only up to a mark below every
//!   transaction still open: the oldest open id of its snapshot, less one
//!   (`pg_snapshot_xmin(pg_current_snapshot())`). Every id below it has committed or rolled
//!   back, so no job can appear under it later; what is above it is read once the mark passes
//!   it (the transactional-outbox pattern).
//!
//!   PostgreSQL used the counter row too, at first. Each transaction held
//!   its row lock from its first job write to its commit, so the job writer, placements and
//!   reports ran one at a time: under `bench e2e` at 512 connections, 5 to 6 s of every 10 s
//!   of statement time was spent waiting for that row, and submissions stopped near 4,000/s.
//!   The base is the counter's last value (read when the store opens; nothing moves it on
//!   PostgreSQL any more), so numbers stamped since stay above those stamped before.
//!
//!   Writers of job rows no longer take one lock first, so two transactions that lock the
//!   same jobs in different orders could deadlock. None do: the only transactions that write
//!   many existing jobs are the dispatch engine's batches (placements, reasons, starts and
//!   ends), one after another within its round. The job writer only inserts, and every other
//!   write of an existing job (a cancellation, a requeue, a time slice, a metering) is one row
//!   in its transaction.

use crate::ledger::sql_text;
use crate::rows::{self, job_from_row};
use crate::{Dialect, Store, StoreResult, WriteTx};
use sqlx::{AssertSqlSafe, Row};
use std::collections::HashSet;
use std::fmt::Write;
use suanli_core::id::{CentreId, JobId, PoolId};
use suanli_core::job::{Fault, Job};
use suanli_core::reason::JobReason;

/// The change number a write transaction stamps on the jobs it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stamp {
    /// No job written yet.
    None,
    /// Taken (on SQLite from the counter row, on PostgreSQL the transaction's id).
    Known(i64),
    /// SQLite: the counter's increment waits in the transaction's script, and the rows written
    /// read the number from the counter row (see [`WriteTx::stamp_jobs_in_script`]).
    InScript,
}

/// The jobs' counter (SQLite's change numbers; PostgreSQL's base).
pub(crate) const JOBS_COUNTER: &str = "SELECT seq FROM job_changes WHERE name = 'jobs'";

/// Rows in one batched UPDATE: a few thousand parameters, well inside both databases' limits.
const ROWS_PER_STATEMENT: usize = 500;

/// Jobs changed since a change number, and the highest number among them.
#[derive(Debug, Default)]
pub struct JobChanges {
    pub jobs: Vec<Job>,
    /// The highest change number read; the caller's next "since".
    pub upto: i64,
}

impl Store {
    /// The registry's change number: every write to a centre or a pool takes the next one in its
    /// transaction ([`WriteTx::registry_changed`]), so a reader that keeps the registry reads it
    /// again only when this moved. Read it before the registry: a write that commits after
    /// the read moves it again.
    pub async fn registry_mark(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT seq FROM job_changes WHERE name = 'registry'").fetch_one(&self.pool).await?;
        Ok(row.try_get(0)?)
    }

    /// A change number at or below which every job write has committed (on SQLite, the last
    /// one's; on PostgreSQL, the one below the oldest transaction open): a full read that starts
    /// after this call misses nothing written at or below it.
    pub async fn job_change_mark(&self) -> StoreResult<i64> {
        let sql = match self.dialect {
            Dialect::Sqlite => JOBS_COUNTER,
            Dialect::Postgres => "SELECT CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS TEXT) AS BIGINT) - 1",
        };
        let row = sqlx::query(sql).fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>(0)? + self.job_seq_base)
    }

    /// The base added to PostgreSQL's transaction ids to make change numbers: the counter row's
    /// value, which only SQLite moves. 0 on SQLite.
    pub(crate) async fn read_job_seq_base(&self) -> StoreResult<i64> {
        if self.dialect == Dialect::Sqlite {
            return Ok(0);
        }
        let row = sqlx::query(JOBS_COUNTER).fetch_one(&self.pool).await?;
        Ok(row.try_get(0)?)
    }

    /// Whether a job was written under a number above `seen` and at or below the mark
    /// ([`Store::job_change_mark`]), with the mark, the next `seen`; always true without a
    /// `seen`. One index probe: a follower's test of whether its jobs-derived books are stale.
    /// (On PostgreSQL the mark alone moves with every transaction on the server, a lease
    /// renewal's too.)
    pub async fn jobs_written_since(&self, seen: Option<i64>) -> StoreResult<(bool, i64)> {
        let mark = self.job_change_mark().await?;
        let Some(seen) = seen else { return Ok((true, mark)) };
        let any = sqlx::query("SELECT 1 FROM jobs WHERE change_seq > $1 AND change_seq <= $2 LIMIT 1")
            .bind(seen)
            .bind(mark)
            .fetch_optional(&self.pool)
            .await?;
        Ok((any.is_some(), mark))
    }

    /// Every job written (inserted or updated) under a change number above `since`, terminal
    /// ones too (so a reader learns that a job ended), except those whose last write is under a
    /// number in `skip` (the reader's own writes, committed before this call, which it already
    /// knows). `upto` is the next `since`: every job write at or below it has been read or
    /// skipped. On SQLite that is the highest number read or skipped (numbers commit in order);
    /// on PostgreSQL the mark ([`Store::job_change_mark`]), read first, and only jobs at or
    /// below it are read.
    pub async fn jobs_changed_since(&self, since: i64, skip: &[i64]) -> StoreResult<JobChanges> {
        let mark = match self.dialect {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some(self.job_change_mark().await?),
        };
        let mut sql = rows::JOB_SELECT_CHANGED.to_string();
        if let Some(m) = mark {
            sql = sql.replace("ORDER BY", &format!("AND j.change_seq <= {m} ORDER BY"));
        }
        if !skip.is_empty() {
            let list: Vec<String> = skip.iter().map(i64::to_string).collect();
            sql = sql.replace("ORDER BY", &format!("AND j.change_seq NOT IN ({}) ORDER BY", list.join(",")));
        }
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(since).fetch_all(&self.pool).await?;
        let mut out = JobChanges { jobs: Vec::with_capacity(rows.len()), upto: since };
        for r in &rows {
            out.upto = out.upto.max(r.try_get::<i64, _>(15)?);
            out.jobs.push(job_from_row(r)?);
        }
        out.upto = match mark {
            Some(m) => out.upto.max(m),
            None => skip.iter().copied().fold(out.upto, i64::max),
        };
        Ok(out)
    }
}

/// One placement to write: the pool and centre chosen, when, and the scheduler's explanation.
#[derive(Debug)]
pub struct PlacementRow<'a> {
    pub id: &'a JobId,
    pub pool: &'a PoolId,
    pub centre: &'a CentreId,
    pub placed_ms: i64,
    pub explanation: String,
}

/// The end of a run as a backend reported it.
#[derive(Debug)]
pub struct EndRow<'a> {
    pub id: &'a JobId,
    /// When it started, if the same report brought its start: the job moves from placed to its
    /// end in one update (its row and indexes written once, not twice). `None` ends a running job.
    pub started_ms: Option<i64>,
    pub failed: bool,
    pub finished_ms: i64,
    pub usage_s: i64,
    pub cost_fen: i64,
    pub fault: Option<Fault>,
    pub reason: Option<JobReason>,
}

/// One cell of a batched statement's rows.
enum Cell {
    Text(Option<String>),
    Int(Option<i64>),
}

/// The query `sql` with `{v}` replaced by `(VALUES (…), (…)) AS v` holding `rows`, `{state}`
/// by the jobs' state as no index reads it, and `$1` bound to `seq`. On PostgreSQL every cell is a parameter (integers cast so it types them); on
/// SQLite every cell is written as a literal, because sqlx's SQLite driver slows with a
/// statement's parameters (a first round over 100,000 jobs took minutes with 2,500 of them per
/// statement). Literals are numbers, NULL, or text through `sql_text`.
impl WriteTx<'_> {
    /// Runs `sql` with `{v}` replaced by `(VALUES (…), (…)) AS v` holding `rows` (each row's
    /// first cell a job's id), `{state}` by the jobs' state as no index reads it (on PostgreSQL
    /// with the rows' ids looked up in the primary key) and `$1` by `seq`; the rows it answers. On SQLite every cell, and
    /// `seq`, is a literal, and the statement goes with the transaction's deferred ones in one
    /// round trip.
    async fn batch(&mut self, sql: &str, seq: i64, rows: Vec<Vec<Cell>>) -> StoreResult<Vec<sqlx::any::AnyRow>> {
        let (width, n) = (rows.first().map_or(1, Vec::len), rows.len());
        let (list, binds) = values(self.dialect, rows, 2);
        let v = format!("(VALUES {list}) AS v");
        // The state test must not use an index: a planner would then walk every job in that
        // state for each statement (quadratic over a round) instead of finding each by id.
        if self.dialect == Dialect::Sqlite {
            let sql = sql.replace("$1", &seq.to_string()).replace("{state}", "+jobs.state").replace("{v}", &v);
            return self.tx.fetch_all(&sql).await;
        }
        // PostgreSQL's planner, its statistics taken before a burst of jobs arrived, thought few
        // were pending and hashed every pending job for each statement (100,000 behind a backlog:
        // 40-50 ms of a 65 ms statement). Here the jobs are found in the primary key by the ids
        // of the VALUES (their own parameters, `jobs.id IN (…)`), and the state test is an
        // expression no index answers. Its selectivity is a guess (one row in two hundred), so
        // the planner expects about one job and would loop over the VALUES for each job found
        // (quadratic: 50-125 ms for 300 rows): joins by nested loop are off for the rest of this
        // transaction, whose other statements join nothing, so the ids and the VALUES are joined
        // by hash.
        let ids: Vec<String> = (0..n).map(|r| format!("${}", 2 + r * width)).collect();
        let state = format!("jobs.id IN ({}) AND (jobs.state || '')", ids.join(", "));
        sqlx::query("SET LOCAL enable_nestloop = off").execute(self.tx.conn().await?).await?;
        let q = sqlx::query(AssertSqlSafe(sql.replace("{v}", &v).replace("{state}", &state))).bind(seq);
        Ok(bind_cells(q, binds).fetch_all(self.tx.conn().await?).await?)
    }
}

/// `rows` as the rows of a VALUES list, `(…),(…)`: on SQLite literals, on PostgreSQL parameters
/// numbered from `first` (answered in order, to be bound with [`bind_cells`]).
fn values(dialect: Dialect, rows: Vec<Vec<Cell>>, first: usize) -> (String, Vec<Cell>) {
    let mut v = String::with_capacity(rows.len() * 64);
    let mut binds = Vec::new();
    for (r, row) in rows.into_iter().enumerate() {
        v.push_str(if r == 0 { "(" } else { ",(" });
        for (c, cell) in row.into_iter().enumerate() {
            if c > 0 {
                v.push(',');
            }
            match (dialect, &cell) {
                (Dialect::Sqlite, Cell::Text(t)) => v.push_str(&t.as_deref().map_or_else(|| "NULL".to_string(), sql_text)),
                (Dialect::Sqlite, Cell::Int(i)) => v.push_str(&i.map_or_else(|| "NULL".to_string(), |i| i.to_string())),
                (Dialect::Postgres, Cell::Text(_)) => {
                    let _ = write!(v, "${}", binds.len() + first);
                    binds.push(cell);
                }
                (Dialect::Postgres, Cell::Int(_)) => {
                    let _ = write!(v, "CAST(${} AS BIGINT)", binds.len() + first);
                    binds.push(cell);
                }
            }
        }
        v.push(')');
    }
    (v, binds)
}

fn bind_cells<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    cells: Vec<Cell>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for b in cells {
        q = match b {
            Cell::Text(t) => q.bind(t),
            Cell::Int(i) => q.bind(i),
        };
    }
    q
}

impl WriteTx<'_> {
    /// Moves the registry's change number ([`Store::registry_mark`]): every write to the
    /// centres or pools tables calls this in its transaction.
    pub(crate) async fn registry_changed(&mut self) -> StoreResult<()> {
        sqlx::query("UPDATE job_changes SET seq = seq + 1 WHERE name = 'registry'").execute(self.tx.conn().await?).await?;
        Ok(())
    }

    /// The number this transaction stamps on every job it writes, taken at its first job write:
    /// on SQLite from the counter row, on PostgreSQL its transaction id plus the base.
    pub async fn job_change_seq(&mut self) -> StoreResult<i64> {
        let sql = match (self.job_seq, self.dialect) {
            (Stamp::Known(s), _) => return Ok(s),
            // Its increment is in the script already: the number it made, with the script.
            (Stamp::InScript, _) => JOBS_COUNTER,
            // On SQLite with the transaction's BEGIN, in one round trip.
            (Stamp::None, Dialect::Sqlite) => "UPDATE job_changes SET seq = seq + 1 WHERE name = 'jobs' RETURNING seq",
            (Stamp::None, Dialect::Postgres) => "SELECT CAST(CAST(pg_current_xact_id() AS TEXT) AS BIGINT)",
        };
        let rows = self.tx.fetch_all(sql).await?;
        let row = rows.first().ok_or_else(|| crate::StoreError::Corrupt("the jobs' change counter row is missing".into()))?;
        let s = row.try_get::<i64, _>(0)? + self.job_seq_base;
        self.job_seq = Stamp::Known(s);
        Ok(s)
    }

    /// On SQLite, has the jobs this transaction writes read their change number from the
    /// counter row as they are written, its increment waiting in the transaction's script with
    /// them, instead of taking the number in a round trip of its own before the first job
    /// write; [`WriteTx::commit_stamped`] reads the number back with the COMMIT. So the job
    /// writer's group commit is one round trip to SQLite's thread where it was two, each
    /// about a millisecond of the writer lock under load. Nothing changes on PostgreSQL, or
    /// once the transaction has its number.
    pub async fn stamp_jobs_in_script(&mut self) -> StoreResult<()> {
        if self.dialect == Dialect::Sqlite && self.job_seq == Stamp::None {
            self.tx.defer("UPDATE job_changes SET seq = seq + 1 WHERE name = 'jobs'").await?;
            self.job_seq = Stamp::InScript;
        }
        Ok(())
    }

    /// The change number a job row stamps; `None` on SQLite under
    /// [`WriteTx::stamp_jobs_in_script`], where the statement reads it from the counter row.
    pub(crate) async fn job_change_number(&mut self) -> StoreResult<Option<i64>> {
        match self.job_seq {
            Stamp::InScript => Ok(None),
            _ => self.job_change_seq().await.map(Some),
        }
    }

    /// The change number this transaction stamped on the jobs it wrote; `None` if it wrote
    /// none, or if the number waits in its script (see [`WriteTx::commit_stamped`]).
    pub fn stamped_job_seq(&self) -> Option<i64> {
        match self.job_seq {
            Stamp::Known(s) => Some(s),
            Stamp::None | Stamp::InScript => None,
        }
    }

    /// Commits, and answers the change number the transaction took (`None` if it took none):
    /// under [`WriteTx::stamp_jobs_in_script`] read in the same round trip as the COMMIT.
    pub async fn commit_stamped(self) -> StoreResult<Option<i64>> {
        if self.job_seq != Stamp::InScript {
            let seq = self.stamped_job_seq();
            self.commit().await?;
            return Ok(seq);
        }
        let base = self.job_seq_base;
        let rows = self.tx.commit_fetching(JOBS_COUNTER).await?;
        let row = rows.first().ok_or_else(|| crate::StoreError::Corrupt("the jobs' change counter row is missing".into()))?;
        Ok(Some(row.try_get::<i64, _>(0)? + base))
    }

    /// Places pending jobs, many a statement; the ids placed. A job no longer pending (cancelled
    /// since the round's snapshot) is left alone and not among them.
    pub async fn place_jobs(&mut self, placements: &[PlacementRow<'_>]) -> StoreResult<HashSet<JobId>> {
        let mut placed = HashSet::with_capacity(placements.len());
        if placements.is_empty() {
            return Ok(placed);
        }
        let seq = self.job_change_seq().await?;
        for chunk in placements.chunks(ROWS_PER_STATEMENT) {
            let rows = chunk
                .iter()
                .map(|p| {
                    vec![
                        Cell::Text(Some(p.id.to_string())),
                        Cell::Text(Some(p.pool.to_string())),
                        Cell::Text(Some(p.centre.to_string())),
                        Cell::Int(Some(p.placed_ms)),
                    ]
                })
                .collect();
            let placed_rows = self.batch(
                "UPDATE jobs SET state = 'placed', pool_id = v.column2, centre_id = v.column3, placed_ms = v.column4, reason = NULL, reason_json = NULL, \
                 change_seq = $1 FROM {v} WHERE jobs.id = v.column1 AND {state} = 'pending' RETURNING id",
                seq,
                rows,
            )
            .await?;
            for r in placed_rows {
                placed.insert(rows::parse_id(r.try_get::<String, _>(0)?)?);
            }
        }
        // The explanations of the jobs placed, in their own table (a job placed again replaces
        // its earlier one).
        let explained: Vec<&PlacementRow> = placements.iter().filter(|p| placed.contains(p.id)).collect();
        for chunk in explained.chunks(ROWS_PER_STATEMENT) {
            let rows = chunk.iter().map(|p| vec![Cell::Text(Some(p.id.to_string())), Cell::Text(Some(p.explanation.clone()))]).collect();
            let (list, binds) = values(self.dialect, rows, 1);
            let sql = format!(
                "INSERT INTO job_explanations (job_id, explain_json) VALUES {list} ON CONFLICT (job_id) DO UPDATE SET explain_json = excluded.explain_json"
            );
            match self.dialect {
                Dialect::Sqlite => self.tx.defer(&sql).await?,
                Dialect::Postgres => {
                    bind_cells(sqlx::query(AssertSqlSafe(sql)), binds).execute(self.tx.conn().await?).await?;
                }
            }
        }
        Ok(placed)
    }

    /// Records why pending jobs wait, many a statement (not a state change: no audit record).
    pub async fn set_job_reasons(&mut self, reasons: &[(&JobId, &JobReason)]) -> StoreResult<()> {
        if reasons.is_empty() {
            return Ok(());
        }
        let seq = self.job_change_seq().await?;
        for chunk in reasons.chunks(ROWS_PER_STATEMENT) {
            let rows = chunk
                .iter()
                .map(|(id, reason)| {
                    vec![
                        Cell::Text(Some(id.to_string())),
                        Cell::Text(Some(reason.to_string())),
                        Cell::Text(serde_json::to_string(reason).ok()),
                    ]
                })
                .collect();
            self.batch(
                "UPDATE jobs SET reason = v.column2, reason_json = v.column3, change_seq = $1 FROM {v} WHERE jobs.id = v.column1 AND {state} = 'pending'",
                seq,
                rows,
            )
            .await?;
        }
        Ok(())
    }

    /// Marks placed jobs running from when their backend started them; the ids moved (a job
    /// cancelled meanwhile is left alone).
    pub async fn start_jobs(&mut self, starts: &[(&JobId, i64)]) -> StoreResult<HashSet<JobId>> {
        let mut started = HashSet::with_capacity(starts.len());
        if starts.is_empty() {
            return Ok(started);
        }
        let seq = self.job_change_seq().await?;
        for chunk in starts.chunks(ROWS_PER_STATEMENT) {
            let rows = chunk.iter().map(|(id, at)| vec![Cell::Text(Some(id.to_string())), Cell::Int(Some(*at))]).collect();
            let moved = self
                .batch(
                    "UPDATE jobs SET state = 'running', started_ms = v.column2, change_seq = $1 FROM {v} \
                 WHERE jobs.id = v.column1 AND {state} = 'placed' RETURNING id",
                    seq,
                    rows,
                )
                .await?;
            for r in moved {
                started.insert(rows::parse_id(r.try_get::<String, _>(0)?)?);
            }
        }
        Ok(started)
    }

    /// Ends jobs (succeeded or failed) with their usage and cost: running jobs, and placed ones
    /// whose start the same report brought (`started_ms`), each in one update. The ids moved (a
    /// job no longer running, or no longer placed, is left alone).
    pub async fn end_jobs(&mut self, ends: &[EndRow<'_>]) -> StoreResult<HashSet<JobId>> {
        let mut ended = HashSet::with_capacity(ends.len());
        if ends.is_empty() {
            return Ok(ended);
        }
        let seq = self.job_change_seq().await?;
        // Two statements, so that an end of a running job leaves its start's index entries alone.
        let (ran, ran_through): (Vec<&EndRow>, Vec<&EndRow>) = ends.iter().partition(|e| e.started_ms.is_none());
        let set = "state = v.column2, finished_ms = v.column3, usage_s = v.column4, cost_fen = v.column5, fault = v.column6, \
                   reason = v.column7, reason_json = v.column8, change_seq = $1";
        for (group, sql) in [
            (ran, format!("UPDATE jobs SET {set} FROM {{v}} WHERE jobs.id = v.column1 AND {{state}} = 'running' RETURNING id")),
            (
                ran_through,
                format!(
                    "UPDATE jobs SET {set}, started_ms = v.column9 FROM {{v}} WHERE jobs.id = v.column1 AND {{state}} = 'placed' RETURNING id"
                ),
            ),
        ] {
            for chunk in group.chunks(ROWS_PER_STATEMENT) {
                let rows = chunk
                    .iter()
                    .map(|e| {
                        let mut row = vec![
                            Cell::Text(Some(e.id.to_string())),
                            Cell::Text(Some(if e.failed { "failed" } else { "succeeded" }.to_string())),
                            Cell::Int(Some(e.finished_ms)),
                            Cell::Int(Some(e.usage_s)),
                            Cell::Int(Some(e.cost_fen)),
                            Cell::Text(e.fault.map(|f| f.as_str().to_string())),
                            Cell::Text(e.reason.as_ref().map(ToString::to_string)),
                            Cell::Text(e.reason.as_ref().and_then(|r| serde_json::to_string(r).ok())),
                        ];
                        if let Some(at) = e.started_ms {
                            row.push(Cell::Int(Some(at)));
                        }
                        row
                    })
                    .collect();
                for r in self.batch(&sql, seq, rows).await? {
                    ended.insert(rows::parse_id(r.try_get::<String, _>(0)?)?);
                }
            }
        }
        Ok(ended)
    }
}
