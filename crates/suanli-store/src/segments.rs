//! Time-sliced run segments in the store: a stopped run written with the job's transition, a job's segments, and the segments of every job still in flight.

use crate::rows::{parse_id, reason_columns, stated_reason};
use crate::{Store, StoreError, StoreResult, WriteTx};
use sqlx::Row;
use std::collections::HashMap;
use suanli_core::id::JobId;
use suanli_core::job::{Segment, SegmentEnd};
use suanli_core::money::Fen;

pub(crate) const SEGMENT_SELECT: &str = "SELECT s.job_id, s.seq, s.centre_id, s.pool_id, s.accelerator, s.started_ms, s.ended_ms, s.usage_s, \
     s.work_ref_s, s.cost_fen, s.ended_by, s.reason, s.reason_json FROM job_segments s";

pub(crate) fn segment_from_row(r: &sqlx::any::AnyRow) -> StoreResult<Segment> {
    let end: String = r.get(10);
    Ok(Segment {
        job_id: parse_id(r.get::<String, _>(0))?,
        seq: u32::try_from(r.get::<i64, _>(1)).map_err(|_| StoreError::Corrupt("segment seq".into()))?,
        centre_id: parse_id(r.get::<String, _>(2))?,
        pool_id: parse_id(r.get::<String, _>(3))?,
        accelerator: r.get(4),
        started_ms: r.get(5),
        ended_ms: r.get(6),
        usage_s: r.get(7),
        work_ref_s: r.get(8),
        cost: Fen(r.get(9)),
        end: SegmentEnd::parse(&end).ok_or_else(|| StoreError::Corrupt(format!("segment end '{end}'")))?,
        reason: stated_reason(r.get(11), r.get(12)).ok_or_else(|| StoreError::Corrupt("segment reason".into()))?,
    })
}

impl Store {
    /// A job's segments, oldest first.
    pub async fn job_segments(&self, job: &JobId) -> StoreResult<Vec<Segment>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{SEGMENT_SELECT} WHERE s.job_id = $1 ORDER BY s.seq")))
            .bind(job.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(segment_from_row).collect()
    }

    /// The segments of every job that has not ended, by job, oldest first.
    pub async fn open_job_segments(&self) -> StoreResult<HashMap<JobId, Vec<Segment>>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SEGMENT_SELECT} JOIN jobs j ON j.id = s.job_id WHERE j.state IN ('pending', 'placed', 'running') ORDER BY s.job_id, s.seq"
        )))
        .fetch_all(&self.pool)
        .await?;
        let mut out: HashMap<JobId, Vec<Segment>> = HashMap::new();
        for r in &rows {
            let s = segment_from_row(r)?;
            out.entry(s.job_id.clone()).or_default().push(s);
        }
        Ok(out)
    }
}

impl WriteTx<'_> {
    /// Records a stopped run (in the transaction that moves its job on).
    pub async fn insert_segment(&mut self, s: &Segment) -> StoreResult<()> {
        let (reason, reason_json) = reason_columns(Some(&s.reason));
        sqlx::query(
            "INSERT INTO job_segments (job_id, seq, centre_id, pool_id, accelerator, started_ms, ended_ms, usage_s, work_ref_s, cost_fen, ended_by, reason, reason_json) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(s.job_id.to_string())
        .bind(i64::from(s.seq))
        .bind(s.centre_id.to_string())
        .bind(s.pool_id.to_string())
        .bind(s.accelerator.clone())
        .bind(s.started_ms)
        .bind(s.ended_ms)
        .bind(s.usage_s)
        .bind(s.work_ref_s)
        .bind(s.cost.0)
        .bind(s.end.as_str())
        .bind(reason)
        .bind(reason_json)
        .execute(self.tx.conn().await?)
        .await?;
        Ok(())
    }
}
