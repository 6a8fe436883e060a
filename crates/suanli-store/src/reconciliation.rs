//! What the reconciliation compares, read in one snapshot: bills with their jobs, runs and ledger postings, model calls' and data deliveries' records with theirs.
//!
//! A bill and its postings commit together, as do a usage record or a delivery and theirs; read
//! in separate statements while the ledger's writer runs, a bill committed between the read of
//! the bills and the read of the postings would show as money "posted without a bill".

use crate::data::{DataFilter, data_deliveries_on};
use crate::ledger::ledger_sums_by_reference_prefix_on;
use crate::models::{UsageFilter, model_calls_on};
use crate::rows::{JOB_SELECT, job_from_row};
use crate::segments::{SEGMENT_SELECT, segment_from_row};
use crate::vouchers::bills_on;
use crate::{BillFilter, Store, StoreResult, pools_on};
use sqlx::AssertSqlSafe;
use std::collections::{BTreeMap, HashMap};
use suanli_core::centre::Pool;
use suanli_core::id::{CallId, DataRequestId, JobId};
use suanli_core::job::{Job, Segment};
use suanli_core::model::ModelCall;
use suanli_data::catalogue::Delivery;
use suanli_ledger::records::Bill;

/// Posted sums by (reference, reason), of `single` and `post` transfers.
pub type Postings = BTreeMap<(String, String), i64>;

/// Every record the reconciliation ties to the ledger, as of one moment.
#[derive(Debug, Clone, Default)]
pub struct ReconciliationRecords {
    /// Newest first, at most the limit asked.
    pub bills: Vec<Bill>,
    /// The billed jobs, by id.
    pub jobs: HashMap<JobId, Job>,
    /// The billed jobs' earlier runs (time-sliced jobs), oldest first.
    pub segments: HashMap<JobId, Vec<Segment>>,
    pub pools: Vec<Pool>,
    /// Postings whose reference is a job.
    pub job_postings: Postings,
    /// Model calls' usage records, newest first.
    pub calls: Vec<ModelCall>,
    /// Postings whose reference is a model call.
    pub call_postings: Postings,
    /// Data deliveries, newest first.
    pub deliveries: Vec<Delivery>,
    /// Postings whose reference is a data request.
    pub delivery_postings: Postings,
}

impl Store {
    /// Every bill, model call and data delivery with their jobs, pools and the ledger's
    /// postings, all from one read snapshot. All of them: the postings are summed over the whole
    /// ledger, so a record left out would show its postings as money without a record.
    pub async fn reconciliation_records(&self) -> StoreResult<ReconciliationRecords> {
        let limit = u32::MAX;
        let mut tx = self.read_snapshot().await?;
        let bills = bills_on(&mut tx, &BillFilter { limit, ..BillFilter::default() }).await?;
        let jobs = sqlx::query(AssertSqlSafe(format!("{JOB_SELECT} WHERE j.id IN (SELECT job_id FROM bills)")))
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| job_from_row(r).map(|j| (j.id.clone(), j)))
            .collect::<StoreResult<_>>()?;
        let mut segments: HashMap<JobId, Vec<Segment>> = HashMap::new();
        let rows =
            sqlx::query(AssertSqlSafe(format!("{SEGMENT_SELECT} WHERE s.job_id IN (SELECT job_id FROM bills) ORDER BY s.job_id, s.seq")))
                .fetch_all(&mut *tx)
                .await?;
        for r in &rows {
            let s = segment_from_row(r)?;
            segments.entry(s.job_id.clone()).or_default().push(s);
        }
        let records = ReconciliationRecords {
            bills,
            jobs,
            segments,
            pools: pools_on(&mut tx).await?,
            job_postings: ledger_sums_by_reference_prefix_on(&mut tx, JobId::PREFIX).await?,
            calls: model_calls_on(&mut tx, &UsageFilter::default(), limit).await?,
            call_postings: ledger_sums_by_reference_prefix_on(&mut tx, CallId::PREFIX).await?,
            deliveries: data_deliveries_on(&mut tx, &DataFilter::default(), limit).await?,
            delivery_postings: ledger_sums_by_reference_prefix_on(&mut tx, DataRequestId::PREFIX).await?,
        };
        tx.rollback().await?;
        Ok(records)
    }
}
