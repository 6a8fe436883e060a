//! Jobs in the store: reading them (one, filtered, by state, counts), their state transitions with audit records, explanations and waiting reasons, and new jobs written many rows a statement.

use crate::job_changes::JOBS_COUNTER;
use crate::rows::{self, job_from_row};
use crate::{Audit, Dialect, JobFilter, Store, StoreError, StoreResult, WriteTx};
use sqlx::{AssertSqlSafe, Row};
use std::fmt::Write;
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{CentreId, JobId, TenantId};
use suanli_core::job::{Job, JobState};
use suanli_core::reason::JobReason;

impl Store {
    pub async fn job(&self, id: &JobId) -> StoreResult<Option<Job>> {
        let row = sqlx::query(rows::JOB_SELECT_ONE).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(job_from_row).transpose()
    }

    /// Lists jobs newest first, with the filter's conditions; returns at most `limit` (1..=1000).
    pub async fn jobs(&self, filter: &JobFilter) -> StoreResult<Vec<Job>> {
        // Only placeholders and fixed fragments go into the SQL text; every value is bound.
        let mut binds = crate::listing::Binds::default();
        let conds = crate::listing::job_conds(filter, &mut binds);
        let mut sql = String::from(rows::JOB_SELECT);
        if !conds.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conds.join(" AND "));
        }
        sql.push_str(&format!(" ORDER BY j.id DESC LIMIT {}", filter.limit.clamp(1, 1000)));
        let q = binds.apply(sqlx::query(AssertSqlSafe(sql)));
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(job_from_row).collect()
    }

    /// Accelerator-milliseconds each centre's jobs ran in `[from_ms, to_ms)` (running jobs up to
    /// `to_ms`), and the earliest start of any job: the scheduler's record of how busy centres were.
    pub async fn busy_accelerator_ms(&self, from_ms: i64, to_ms: i64) -> StoreResult<(Option<i64>, Vec<(CentreId, i64)>)> {
        let rows = sqlx::query(
            "SELECT centre_id, CAST(SUM(accelerators * ((CASE WHEN finished_ms IS NULL OR finished_ms > $2 THEN $2 ELSE finished_ms END) \
               - (CASE WHEN started_ms < $1 THEN $1 ELSE started_ms END))) AS BIGINT) \
             FROM jobs WHERE started_ms IS NOT NULL AND centre_id IS NOT NULL AND started_ms < $2 \
               AND (finished_ms IS NULL OR finished_ms > $1) GROUP BY centre_id",
        )
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: String = r.get(0);
            let ms: Option<i64> = r.try_get(1)?;
            out.push((CentreId::parse(&id).map_err(|e| StoreError::Corrupt(format!("jobs.centre_id {id}: {e}")))?, ms.unwrap_or(0)));
        }
        let first: Option<i64> = sqlx::query("SELECT MIN(started_ms) FROM jobs WHERE started_ms IS NOT NULL")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)
            .ok()
            .flatten();
        Ok((first, out))
    }

    /// Jobs in any of the given states, oldest first (for the dispatch loop).
    pub async fn jobs_in_states(&self, states: &[JobState]) -> StoreResult<Vec<Job>> {
        if states.is_empty() {
            return Ok(Vec::new());
        }
        // One statement, so one consistent read: a job that moves between two of the states
        // while it runs is read once, in one of them (a statement per state read it twice, or not at all).
        let list: Vec<String> = states.iter().map(|s| format!("'{}'", s.as_str())).collect();
        let sql = format!("{} IN ({})", rows::JOB_SELECT_BY_STATE, list.join(", "));
        let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(&self.pool).await?;
        let mut all = rows.iter().map(job_from_row).collect::<StoreResult<Vec<Job>>>()?;
        all.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(all)
    }

    /// Number of jobs in each state.
    pub async fn job_counts(&self) -> StoreResult<Vec<(JobState, i64)>> {
        let rows = sqlx::query("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetch_all(&self.pool).await?;
        let mut out = Vec::new();
        for r in rows {
            let s: String = r.get(0);
            out.push((JobState::parse(&s).ok_or_else(|| StoreError::Corrupt(format!("state '{s}'")))?, r.get::<i64, _>(1)));
        }
        Ok(out)
    }

    /// Number of jobs in any of `states`: a range of the state index each, not every job grouped.
    pub async fn job_count_in(&self, states: &[JobState]) -> StoreResult<i64> {
        if states.is_empty() {
            return Ok(0);
        }
        let list = states.iter().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT COUNT(*) FROM jobs WHERE state IN ({list})");
        Ok(sqlx::query(AssertSqlSafe(sql)).fetch_one(&self.pool).await?.try_get::<i64, _>(0)?)
    }

    /// Moves a job from its current state to `to`, applying `change` to the record, in one
    /// transaction with its audit record. An illegal move is an error and changes nothing.
    pub async fn transition_job(&self, id: &JobId, to: JobState, audit: Audit, change: impl FnOnce(&mut Job)) -> StoreResult<Job> {
        let mut tx = self.begin().await?;
        let job = tx.transition_job(id, to, change).await?;
        tx.audit(&audit).await?;
        tx.commit().await?;
        Ok(job)
    }

    /// The scheduler's explanation of a job's placement (JSON), if it has one.
    pub async fn explanation(&self, id: &JobId) -> StoreResult<Option<serde_json::Value>> {
        let row = sqlx::query("SELECT explain_json FROM job_explanations WHERE job_id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        let Some(text) = row.and_then(|r| r.get::<Option<String>, _>(0)) else { return Ok(None) };
        serde_json::from_str(&text).map(Some).map_err(|e| StoreError::Corrupt(format!("explanation: {e}")))
    }

    /// Records why a pending job waits (not a state change, so no audit record).
    pub async fn set_job_reason(&self, id: &JobId, reason: &JobReason) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.set_job_reason(id, reason).await?;
        tx.commit().await
    }

    /// Records the metered usage and cost of a job that ended without a backend report
    /// (a cancelled job stopped later), once: a job already metered is left alone.
    pub async fn record_usage(&self, id: &JobId, usage_s: i64, cost: suanli_core::Fen, audit: Audit) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let seq = tx.job_change_seq().await?;
        let done = sqlx::query("UPDATE jobs SET usage_s = $1, cost_fen = $2, change_seq = $3 WHERE id = $4 AND usage_s IS NULL")
            .bind(usage_s)
            .bind(cost.0)
            .bind(seq)
            .bind(id.to_string())
            .execute(tx.tx.conn().await?)
            .await?;
        if done.rows_affected() == 1 {
            tx.audit(&audit).await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }
}

/// A tenant's idempotency key for one job submission: a retry with the same key and the same
/// spec answers the job stored the first time, whichever replica stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobKey {
    pub tenant_id: TenantId,
    pub key: String,
    pub job_id: JobId,
    /// A digest of the submission's spec, so a key sent again with another spec is told apart.
    pub fingerprint: String,
    pub created_ms: i64,
}

impl Store {
    /// The job a tenant's idempotency key names, if the key was used.
    pub async fn job_key(&self, tenant: &TenantId, key: &str) -> StoreResult<Option<JobKey>> {
        let row = sqlx::query("SELECT job_id, fingerprint, created_ms FROM job_keys WHERE tenant_id = $1 AND idem_key = $2")
            .bind(tenant.to_string())
            .bind(key.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(JobKey {
                tenant_id: tenant.clone(),
                key: key.to_owned(),
                job_id: JobId::parse(&r.get::<String, _>(0))?,
                fingerprint: r.get(1),
                created_ms: r.get(2),
            })
        })
        .transpose()
    }
}

impl WriteTx<'_> {
    /// Records idempotency keys; a key already used by its tenant fails the transaction.
    pub async fn insert_job_keys(&mut self, keys: &[&JobKey]) -> StoreResult<()> {
        for k in keys {
            sqlx::query("INSERT INTO job_keys (tenant_id, idem_key, job_id, fingerprint, created_ms) VALUES ($1, $2, $3, $4, $5)")
                .bind(k.tenant_id.to_string())
                .bind(k.key.clone())
                .bind(k.job_id.to_string())
                .bind(k.fingerprint.clone())
                .bind(k.created_ms)
                .execute(self.tx.conn().await?)
                .await?;
        }
        Ok(())
    }

    pub async fn insert_job(&mut self, j: &Job) -> StoreResult<()> {
        self.insert_jobs(std::slice::from_ref(j)).await
    }

    /// Stores new jobs, a few hundred rows a statement (one round trip to the database for
    /// many jobs, which is what lets the job writer's group commits grow cheap). On SQLite the
    /// rows are literals, as the round's batched writes are (sqlx's SQLite driver slows with a
    /// statement's parameters).
    pub async fn insert_jobs(&mut self, jobs: &[impl std::borrow::Borrow<Job>]) -> StoreResult<()> {
        const COLUMNS: usize = 20;
        if jobs.is_empty() {
            return Ok(());
        }
        // 500 rows of 20 parameters stay well inside SQLite's and PostgreSQL's limits.
        for chunk in jobs.chunks(500) {
            let mut sql = String::with_capacity(256 + chunk.len() * COLUMNS * 16);
            sql.push_str(
                "INSERT INTO jobs (id, tenant_id, name, kind, state, accelerators, priority, spec_json, pool_id, centre_id, submitted_ms, placed_ms, started_ms, finished_ms, reason, usage_s, cost_fen, fault, change_seq, reason_json) VALUES ",
            );
            if self.dialect == Dialect::Sqlite {
                // A number read from the counter row is read once for the statement: as a
                // subquery in each row's VALUES it was compiled once a row (0.4 ms more for 70).
                let seq = self.job_change_number().await?;
                if seq.is_none() {
                    sql.truncate(sql.len() - " VALUES ".len());
                    let _ = write!(sql, " SELECT {VALUES_BEFORE_SEQ}, ({JOBS_COUNTER}), column19 FROM (VALUES ");
                }
                for (r, j) in chunk.iter().enumerate() {
                    sql.push_str(if r == 0 { "(" } else { ",(" });
                    job_literals(&mut sql, j.borrow(), seq)?;
                    sql.push(')');
                }
                if seq.is_none() {
                    sql.push(')');
                }
                self.tx.defer(&sql).await?;
                continue;
            }
            let seq = self.job_change_seq().await?;
            rows::push_placeholder_rows(&mut sql, chunk.len(), COLUMNS);
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for j in chunk {
                let j: &Job = j.borrow();
                let spec = serde_json::to_string(&j.spec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let (reason, reason_json) = rows::reason_columns(j.reason.as_ref());
                q = q
                    .bind(j.id.to_string())
                    .bind(j.tenant_id.to_string())
                    .bind(j.spec.name.clone())
                    .bind(j.spec.kind.as_str())
                    .bind(j.state.as_str())
                    .bind(j.spec.accelerators as i64)
                    .bind(j.spec.priority as i64)
                    .bind(spec)
                    .bind(j.pool_id.as_ref().map(|p| p.to_string()))
                    .bind(j.centre_id.as_ref().map(|c| c.to_string()))
                    .bind(j.submitted_ms)
                    .bind(j.placed_ms)
                    .bind(j.started_ms)
                    .bind(j.finished_ms)
                    .bind(reason)
                    .bind(j.usage_s)
                    .bind(j.cost.map(|c| c.0))
                    .bind(j.fault.map(|f| f.as_str()))
                    .bind(seq)
                    .bind(reason_json);
            }
            q.execute(self.tx.conn().await?).await?;
        }
        Ok(())
    }

    /// Records why a pending job waits (not a state change, so no audit record).
    pub async fn set_job_reason(&mut self, id: &JobId, reason: &JobReason) -> StoreResult<()> {
        let seq = self.job_change_seq().await?;
        sqlx::query("UPDATE jobs SET reason = $1, reason_json = $4, change_seq = $2 WHERE id = $3 AND state = 'pending'")
            .bind(reason.to_string())
            .bind(seq)
            .bind(id.to_string())
            .bind(serde_json::to_string(reason).ok())
            .execute(self.tx.conn().await?)
            .await?;
        Ok(())
    }

    /// Reads a job (locking its row on PostgreSQL), checks the move, applies `change` and writes it back.
    pub async fn transition_job(&mut self, id: &JobId, to: JobState, change: impl FnOnce(&mut Job)) -> StoreResult<Job> {
        // The counter row before the job's row: every job writer locks in that order.
        let seq = self.job_change_seq().await?;
        let sql = match self.dialect {
            Dialect::Postgres => rows::JOB_SELECT_ONE_FOR_UPDATE,
            Dialect::Sqlite => rows::JOB_SELECT_ONE,
        };
        let row = sqlx::query(sql).bind(id.to_string()).fetch_optional(self.tx.conn().await?).await?;
        let mut job = job_from_row(&row.ok_or_else(|| Error::new(ErrorCode::JobNotFound, format!("no job {id}")))?)?;
        let from = job.state;
        job.state = from.transition(to)?;
        change(&mut job);
        job.state = to;
        let (reason, reason_json) = rows::reason_columns(job.reason.as_ref());
        let done = sqlx::query(
            "UPDATE jobs SET state = $1, pool_id = $2, centre_id = $3, placed_ms = $4, started_ms = $5, finished_ms = $6, reason = $7, usage_s = $8, cost_fen = $9, fault = $10, change_seq = $11, reason_json = $14 \
             WHERE id = $12 AND state = $13",
        )
        .bind(job.state.as_str())
        .bind(job.pool_id.as_ref().map(|p| p.to_string()))
        .bind(job.centre_id.as_ref().map(|c| c.to_string()))
        .bind(job.placed_ms)
        .bind(job.started_ms)
        .bind(job.finished_ms)
        .bind(reason)
        .bind(job.usage_s)
        .bind(job.cost.map(|c| c.0))
        .bind(job.fault.map(|f| f.as_str()))
        .bind(seq)
        .bind(id.to_string())
        .bind(from.as_str())
        .bind(reason_json)
        .execute(self.tx.conn().await?)
        .await?;
        if done.rows_affected() != 1 {
            return Err(Error::new(ErrorCode::IllegalTransition, format!("job {id} changed state concurrently; try again")).into());
        }
        Ok(job)
    }
}

/// A run that ended, as the fair-share account counts it.
#[derive(Debug, Clone, PartialEq)]
pub struct EndedRun {
    pub tenant_id: TenantId,
    pub pool_id: suanli_core::id::PoolId,
    pub accelerators: u32,
    pub usage_s: i64,
    pub finished_ms: suanli_core::time::UnixMs,
}

impl Store {
    /// Jobs that succeeded or failed at or after `since`, oldest end first, with the pool they
    /// ran on (what the engine charged each tenant's fair-share account with when they ended).
    pub async fn runs_ended_since(&self, since: suanli_core::time::UnixMs) -> StoreResult<Vec<EndedRun>> {
        let rows = sqlx::query(
            "SELECT tenant_id, pool_id, accelerators, usage_s, finished_ms FROM jobs \
             WHERE state IN ('succeeded', 'failed') AND finished_ms >= $1 AND pool_id IS NOT NULL ORDER BY finished_ms, id",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(EndedRun {
                    tenant_id: rows::parse_id(r.get::<String, _>(0))?,
                    pool_id: rows::parse_id(r.get::<String, _>(1))?,
                    accelerators: u32::try_from(r.get::<i64, _>(2)).map_err(|_| StoreError::Corrupt("accelerators".into()))?,
                    usage_s: r.get::<Option<i64>, _>(3).unwrap_or(0),
                    finished_ms: r.get(4),
                })
            })
            .collect()
    }
}

/// The columns of a `VALUES` list of [`job_literals`] rows without the change number, up to
/// where it goes (`column19` is the last, `reason_json`).
const VALUES_BEFORE_SEQ: &str = "column1, column2, column3, column4, column5, column6, column7, column8, column9, \
     column10, column11, column12, column13, column14, column15, column16, column17, column18";

/// One job's row as SQL literals, in [`WriteTx::insert_jobs`]'s column order: numbers, NULL, or
/// text quoted by `sql_text`; without the change number when `seq` is `None` (the statement
/// reads it from the counter row).
fn job_literals(sql: &mut String, j: &Job, seq: Option<i64>) -> StoreResult<()> {
    use crate::ledger::sql_text;
    let text = |t: Option<&str>| t.map_or_else(|| "NULL".to_string(), sql_text);
    let int = |i: Option<i64>| i.map_or_else(|| "NULL".to_string(), |i| i.to_string());
    let spec = serde_json::to_string(&j.spec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let (reason, reason_json) = rows::reason_columns(j.reason.as_ref());
    let _ = write!(
        sql,
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},",
        sql_text(j.id.as_str()),
        sql_text(j.tenant_id.as_str()),
        sql_text(&j.spec.name),
        sql_text(j.spec.kind.as_str()),
        sql_text(j.state.as_str()),
        j.spec.accelerators as i64,
        j.spec.priority as i64,
        sql_text(&spec),
        text(j.pool_id.as_ref().map(|p| p.as_str())),
        text(j.centre_id.as_ref().map(|c| c.as_str())),
        j.submitted_ms,
        int(j.placed_ms),
        int(j.started_ms),
        int(j.finished_ms),
        text(reason.as_deref()),
        int(j.usage_s),
        int(j.cost.map(|c| c.0)),
        text(j.fault.map(|f| f.as_str())),
    );
    if let Some(seq) = seq {
        let _ = write!(sql, "{seq},");
    }
    sql.push_str(&text(reason_json.as_deref()));
    Ok(())
}
