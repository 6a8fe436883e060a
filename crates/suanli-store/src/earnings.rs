//! A provider's earnings as its records and the ledger hold them: job bills, metered model calls and data deliveries summed by China Standard Time day, centre and whether a statement took them, and what the ledger posted to its receivable by reason, all in one read snapshot.

use crate::{Store, StoreError, StoreResult, WriteTx};
use sqlx::{AssertSqlSafe, Row};
use std::collections::BTreeMap;
use suanli_core::id::{CentreId, ProviderId};
use suanli_core::money::Fen;
use suanli_core::time::{CST_OFFSET_MS, MS_PER_DAY, UnixMs, cst_day, cst_midnight};
use suanli_ledger::ReasonCode;

/// Where a provider's earnings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// Job bills: the voucher's and the tenant's parts of each bill.
    Jobs,
    /// Model calls its deployments served: each call's charge.
    ModelCalls,
    /// Deliveries of its data sets: each delivery's fee.
    DataDeliveries,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::Jobs, Source::ModelCalls, Source::DataDeliveries];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Jobs => "jobs",
            Source::ModelCalls => "model_calls",
            Source::DataDeliveries => "data_deliveries",
        }
    }

    /// The source whose money the ledger posts to a provider's receivable under `reason` (a
    /// job's voucher part and cash part; a call's and a delivery's whole amount from clearing).
    pub fn of_reason(reason: ReasonCode) -> Option<Source> {
        match reason {
            ReasonCode::VoucherSpend | ReasonCode::JobCharge => Some(Source::Jobs),
            ReasonCode::ModelCall => Some(Source::ModelCalls),
            ReasonCode::DataPurchase => Some(Source::DataDeliveries),
            _ => None,
        }
    }
}

/// One day's earnings of one source at one centre, taken by a statement or not yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarningsRow {
    pub source: Source,
    /// The China Standard Time day (days since 1970-01-01) the record is dated: a bill's
    /// creation, a call's start, a delivery's creation (the dates settlement goes by).
    pub day: i64,
    /// The centre that ran the job or served the call; none for data deliveries.
    pub centre_id: Option<CentreId>,
    pub settled: bool,
    pub records: u64,
    /// What was posted to the provider's receivable for them: a bill's voucher and cash parts,
    /// a call's charge, a delivery's fee (what a statement pays for each).
    pub earned: Fen,
    /// What tenants still owe on the bills (never posted, so not earned; zero for the others).
    pub outstanding: Fen,
}

/// A provider's earning records in a window, and the ledger's postings to its receivable.
#[derive(Debug, Clone, Default)]
pub struct EarningsRecords {
    pub rows: Vec<EarningsRow>,
    /// Posted to the receivable over the window's China Standard Time days, by source.
    pub posted: BTreeMap<Source, Fen>,
}

/// One source's query, answering in order: the day, the centre, settled (0 or 1), the records,
/// earned, outstanding. `$2` and `$3` bound the records' time, `$4` and `$5` their days (the
/// first and the last, both included): the bills are read by day from their covering index
/// (migration 27, whose expressions these are, letter for letter, and which SQLite is told to
/// read), already in the order they are grouped in.
fn source_sql(source: Source, store: &Store) -> String {
    let day = |col: &str| format!("({col} + {CST_OFFSET_MS}) / 86400000");
    let settled = |col: &str| format!("CAST(CASE WHEN {col} IS NULL THEN 0 ELSE 1 END AS BIGINT)");
    let in_days = |col: &str| format!("{} >= $4 AND {} <= $5 AND {col} >= $2 AND {col} < $3", day(col), day(col));
    match source {
        Source::Jobs => format!(
            "SELECT {}, centre_id, {}, COUNT(*), CAST(SUM(voucher_fen + cash_fen) AS BIGINT), CAST(SUM(outstanding_fen) AS BIGINT) \
             FROM bills{} WHERE provider_id = $1 AND {} GROUP BY 1, 2, 3",
            day("created_ms"),
            settled("statement_id"),
            store.indexed_by("bills_earnings"),
            in_days("created_ms"),
        ),
        // As settlement counts them: calls that charged something.
        Source::ModelCalls => format!(
            "SELECT {}, d.centre_id, {}, COUNT(*), CAST(SUM(c.charge_fen) AS BIGINT), CAST(0 AS BIGINT) \
             FROM model_calls c LEFT JOIN model_deployments d ON d.id = c.deployment \
             WHERE c.provider_id = $1 AND c.charge_fen > 0 AND {} GROUP BY 1, 2, 3",
            day("c.started_ms"),
            settled("c.statement_id"),
            in_days("c.started_ms"),
        ),
        Source::DataDeliveries => format!(
            "SELECT {}, CAST(NULL AS TEXT), {}, COUNT(*), CAST(SUM(fee_fen) AS BIGINT), CAST(0 AS BIGINT) \
             FROM data_deliveries WHERE supplier_id = $1 AND {} GROUP BY 1, 3",
            day("created_ms"),
            settled("statement_id"),
            in_days("created_ms"),
        ),
    }
}

/// The daily sums of a provider's job bills (migration 29), in the shape of [`source_sql`]'s
/// answers, for the days from `$2` to `$3`, both included.
const DAILY_JOBS_SQL: &str = "SELECT day, NULLIF(centre_id, ''), settled, bills, earned_fen, outstanding_fen \
     FROM bill_earnings_daily WHERE provider_id = $1 AND day >= $2 AND day <= $3 AND bills <> 0";

/// A window of time, `[from, to)`.
type Window = (UnixMs, UnixMs);

/// Splits `[from, to)` into its whole China Standard Time days (from one midnight to a later
/// one) and the parts of days it cuts (none, one or two).
fn whole_days(from: UnixMs, to: UnixMs) -> (Option<Window>, Vec<Window>) {
    if from >= to {
        return (None, Vec::new());
    }
    let first = match cst_midnight(cst_day(from)) {
        m if m == from => from,
        _ => cst_midnight(cst_day(from) + 1),
    };
    let end = cst_midnight(cst_day(to));
    if first >= end {
        return (None, vec![(from, to)]);
    }
    let parts = [(from, first), (end, to)].into_iter().filter(|(f, t)| f < t).collect();
    debug_assert!((end - first) % MS_PER_DAY == 0);
    (Some((first, end)), parts)
}

/// A bill a statement took, as its provider's daily sums need it.
#[derive(Debug, Clone)]
pub(crate) struct SettledBill {
    pub provider: Option<String>,
    pub created_ms: UnixMs,
    pub centre: Option<String>,
    pub earned: Fen,
    pub outstanding: Fen,
}

impl WriteTx<'_> {
    /// Moves bills a statement took from their days' unsettled sums to the settled ones.
    pub(crate) async fn settle_bill_earnings(&mut self, moved: &[SettledBill]) -> StoreResult<()> {
        let mut sums: BTreeMap<(String, i64, String), (i64, i64, i64)> = BTreeMap::new();
        for b in moved {
            let Some(provider) = &b.provider else { continue };
            let e = sums.entry((provider.clone(), cst_day(b.created_ms), b.centre.clone().unwrap_or_default())).or_default();
            *e = (e.0 + 1, e.1 + b.earned.0, e.2 + b.outstanding.0);
        }
        for ((provider, day, centre), (n, earned, outstanding)) in sums {
            add_daily(self, &provider, day, &centre, false, -n, Fen(-earned), Fen(-outstanding)).await?;
            add_daily(self, &provider, day, &centre, true, n, Fen(earned), Fen(outstanding)).await?;
        }
        Ok(())
    }
}

/// Adds to (or subtracts from, with negative amounts) one row of the daily sums, creating it.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn add_daily(
    tx: &mut WriteTx<'_>,
    provider: &str,
    day: i64,
    centre: &str,
    settled: bool,
    bills: i64,
    earned: Fen,
    outstanding: Fen,
) -> StoreResult<()> {
    // Literals (ids quoted by `sql_text`, the rest numbers), so that on SQLite the row waits
    // in the transaction's script for its next round trip.
    let sql = format!(
        "INSERT INTO bill_earnings_daily (provider_id, day, centre_id, settled, bills, earned_fen, outstanding_fen) \
         VALUES ({}, {day}, {}, {}, {bills}, {}, {}) ON CONFLICT (provider_id, day, centre_id, settled) DO UPDATE SET \
         bills = bill_earnings_daily.bills + excluded.bills, earned_fen = bill_earnings_daily.earned_fen + excluded.earned_fen, \
         outstanding_fen = bill_earnings_daily.outstanding_fen + excluded.outstanding_fen",
        crate::ledger::sql_text(provider),
        crate::ledger::sql_text(centre),
        i64::from(settled),
        earned.0,
        outstanding.0
    );
    tx.tx.defer(&sql).await
}

impl Store {
    /// A provider's earning records dated in `[from, to)`, summed by day, centre and settled,
    /// with what the ledger posted to its receivable over the China Standard Time days from the
    /// day of `from` to the day of `to` (excluded); read in one snapshot, so a bill committed
    /// with its postings is in both or in neither.
    pub async fn provider_earnings(&self, provider: &ProviderId, from: UnixMs, to: UnixMs) -> StoreResult<EarningsRecords> {
        let mut tx = self.read_snapshot().await?;
        let mut out = EarningsRecords::default();
        let (whole, parts) = whole_days(from, to);
        // Job bills of whole days from their daily sums, the days the window cuts from the bills.
        let mut reads: Vec<(Source, String, UnixMs, UnixMs)> =
            parts.into_iter().map(|(f, t)| (Source::Jobs, source_sql(Source::Jobs, self), f, t)).collect();
        for source in [Source::ModelCalls, Source::DataDeliveries] {
            reads.push((source, source_sql(source, self), from, to));
        }
        let mut answers = Vec::new();
        if let Some((first, end)) = whole {
            let q = sqlx::query(DAILY_JOBS_SQL).bind(provider.to_string()).bind(cst_day(first)).bind(cst_day(end) - 1);
            answers.push((Source::Jobs, q.fetch_all(&mut *tx).await?));
        }
        for (source, sql, from, to) in reads {
            let rows = sqlx::query(AssertSqlSafe(sql))
                .bind(provider.to_string())
                .bind(from)
                .bind(to)
                .bind(cst_day(from))
                .bind(cst_day(to - 1))
                .fetch_all(&mut *tx)
                .await?;
            answers.push((source, rows));
        }
        for (source, rows) in answers {
            for r in &rows {
                let centre: Option<String> = r.try_get(1)?;
                out.rows.push(EarningsRow {
                    source,
                    day: r.try_get(0)?,
                    centre_id: centre.map(|c| CentreId::parse(&c)).transpose().map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    settled: r.try_get::<i64, _>(2)? == 1,
                    records: r.try_get::<i64, _>(3)? as u64,
                    earned: Fen(r.try_get::<Option<i64>, _>(4)?.unwrap_or(0)),
                    outstanding: Fen(r.try_get::<Option<i64>, _>(5)?.unwrap_or(0)),
                });
            }
        }
        let flows = sqlx::query(
            "SELECT reason, CAST(SUM(amount) AS BIGINT) FROM ledger_daily_flows \
             WHERE account = $1 AND credit = 1 AND day >= $2 AND day < $3 GROUP BY reason",
        )
        .bind(suanli_ledger::chart::receivable(provider.as_str()).id.to_hex())
        .bind(cst_day(from))
        .bind(cst_day(to))
        .fetch_all(&mut *tx)
        .await?;
        tx.rollback().await?;
        for r in &flows {
            let reason: String = r.try_get(0)?;
            let reason = ReasonCode::parse(&reason).ok_or_else(|| StoreError::Corrupt(format!("transfer reason '{reason}'")))?;
            if let Some(source) = Source::of_reason(reason) {
                let e = out.posted.entry(source).or_insert(Fen::ZERO);
                *e = Fen(e.0 + r.try_get::<Option<i64>, _>(1)?.unwrap_or(0));
            }
        }
        Ok(out)
    }

    /// When a provider's first earning record is dated (a bill, a charged call or a delivery).
    pub async fn provider_first_earning(&self, provider: &ProviderId) -> StoreResult<Option<UnixMs>> {
        let r = sqlx::query(
            "SELECT MIN(t) FROM (SELECT MIN(created_ms) AS t FROM bills WHERE provider_id = $1 \
             UNION ALL SELECT MIN(started_ms) AS t FROM model_calls WHERE provider_id = $1 AND charge_fen > 0 \
             UNION ALL SELECT MIN(created_ms) AS t FROM data_deliveries WHERE supplier_id = $1) firsts",
        )
        .bind(provider.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok(r.try_get::<Option<i64>, _>(0)?)
    }
}
