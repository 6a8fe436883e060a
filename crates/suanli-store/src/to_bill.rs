//! What billing reads about many ended jobs at once: each job with its time-sliced segments and its ledger history, in four statements however many jobs.

use crate::ledger::{TRANSFER_SELECT, transfer_from_row};
use crate::rows::{self, job_from_row};
use crate::segments::{SEGMENT_SELECT, segment_from_row};
use crate::{Store, StoreResult};
use sqlx::{AssertSqlSafe, Row};
use std::collections::{HashMap, HashSet};
use suanli_core::id::JobId;
use suanli_core::job::{Job, Segment};
use suanli_ledger::Transfer;

/// An ended job that has no bill yet, with what its bill is made of.
#[derive(Debug, Clone)]
pub struct ToBill {
    pub job: Job,
    /// Its time-sliced runs before the last, oldest first.
    pub segments: Vec<Segment>,
    /// The ledger transfers that name it (its holds and their top-ups), in history order.
    pub history: Vec<Transfer>,
}

/// `$from, $from+1, …` for `n` bound values.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

impl Store {
    /// The jobs of `ids` that exist and have no bill, each with its segments and history, in
    /// the order of `ids`. A job billed meanwhile is left out (billing it again would be refused).
    pub async fn to_bill(&self, ids: &[JobId]) -> StoreResult<Vec<ToBill>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = placeholders(1, ids.len());
        let bind_all = |sql: String| {
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for id in ids {
                q = q.bind(id.to_string());
            }
            q
        };
        let billed: HashSet<String> = bind_all(format!("SELECT job_id FROM bills WHERE job_id IN ({list})"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?;
        let mut jobs: HashMap<JobId, Job> = HashMap::with_capacity(ids.len());
        for r in bind_all(format!("{} WHERE j.id IN ({list})", rows::JOB_SELECT)).fetch_all(&self.pool).await? {
            let j = job_from_row(&r)?;
            if !billed.contains(j.id.as_str()) {
                jobs.insert(j.id.clone(), j);
            }
        }
        let mut segments: HashMap<JobId, Vec<Segment>> = HashMap::new();
        for r in bind_all(format!("{SEGMENT_SELECT} WHERE s.job_id IN ({list}) ORDER BY s.job_id, s.seq")).fetch_all(&self.pool).await? {
            let s = segment_from_row(&r)?;
            segments.entry(s.job_id.clone()).or_default().push(s);
        }
        let mut history: HashMap<String, Vec<Transfer>> = HashMap::new();
        // On PostgreSQL each reference is looked up in its index (the subquery kept apart by its
        // OFFSET): as one IN list, statistics that lag a growing ledger made it scan the table.
        let history_sql = match self.dialect {
            crate::Dialect::Sqlite => format!("{TRANSFER_SELECT} WHERE reference IN ({list}) ORDER BY seq"),
            crate::Dialect::Postgres => {
                let refs = (1..=ids.len()).map(|i| format!("(${i})")).collect::<Vec<_>>().join(", ");
                format!(
                    "SELECT t.* FROM (VALUES {refs}) AS r (reference) CROSS JOIN LATERAL ({TRANSFER_SELECT} WHERE reference = r.reference OFFSET 0) t ORDER BY t.seq"
                )
            }
        };
        for r in bind_all(history_sql).fetch_all(&self.pool).await? {
            let (_, t) = transfer_from_row(&r)?;
            history.entry(t.reference.clone()).or_default().push(t);
        }
        Ok(ids
            .iter()
            .filter_map(|id| {
                let job = jobs.remove(id)?;
                Some(ToBill {
                    segments: segments.remove(id).unwrap_or_default(),
                    history: history.remove(id.as_str()).unwrap_or_default(),
                    job,
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_number_from_where_they_start() {
        assert_eq!(super::placeholders(1, 3), "$1, $2, $3");
        assert_eq!(super::placeholders(4, 1), "$4");
    }
}
