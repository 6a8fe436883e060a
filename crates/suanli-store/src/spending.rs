//! Voucher spending over time: bills summed by clock hour and by China Standard Time day, by tenant and provider (migration 34), kept in the commit that inserts the bills, and the charts' reads of them.

use crate::{Store, StoreResult, WriteTx};
use sqlx::Row;
use std::collections::BTreeMap;
use suanli_core::id::{ProviderId, TenantId};
use suanli_core::time::{MS_PER_DAY, MS_PER_HOUR as HOUR_MS, UnixMs, cst_day, cst_midnight};
use suanli_ledger::records::Bill;

/// The grains the sums are kept at: a clock hour (China Standard Time is a whole number of hours
/// from UTC, so its hours are UTC's) and a China Standard Time day.
const GRAINS: [i64; 2] = [HOUR_MS, MS_PER_DAY];

/// The start of the hour, or of the China Standard Time day, that holds `ms`.
pub fn grain_start(grain_ms: i64, ms: UnixMs) -> UnixMs {
    if grain_ms == MS_PER_DAY { cst_midnight(cst_day(ms)) } else { ms.div_euclid(HOUR_MS) * HOUR_MS }
}

/// Bills and voucher fen by (grain, start, tenant, provider or '').
type Sums = BTreeMap<(i64, UnixMs, String, String), (i64, i64)>;

impl WriteTx<'_> {
    /// Adds bills the transaction inserted to the spending sums: one row update per grain,
    /// period, tenant and provider, however many bills share it.
    pub(crate) async fn add_spending(&mut self, bills: &[&Bill]) -> StoreResult<()> {
        let mut sums = Sums::new();
        for b in bills {
            let provider = b.provider_id.as_ref().map(|p| p.to_string()).unwrap_or_default();
            for grain in GRAINS {
                let e = sums.entry((grain, grain_start(grain, b.created_ms), b.tenant_id.to_string(), provider.clone())).or_default();
                *e = (e.0 + 1, e.1 + b.voucher.0);
            }
        }
        for ((grain, start, tenant, provider), (n, fen)) in sums {
            // Literals (ids quoted by `sql_text`), so that on SQLite the row waits in the
            // transaction's script for its next round trip.
            let sql = format!(
                "INSERT INTO voucher_spending_sums (grain_ms, start_ms, tenant_id, provider_id, bills, voucher_fen) \
                 VALUES ({grain}, {start}, {}, {}, {n}, {fen}) ON CONFLICT (grain_ms, start_ms, tenant_id, provider_id) DO UPDATE SET \
                 bills = voucher_spending_sums.bills + excluded.bills, voucher_fen = voucher_spending_sums.voucher_fen + excluded.voucher_fen",
                crate::ledger::sql_text(&tenant),
                crate::ledger::sql_text(&provider),
            );
            self.tx.defer(&sql).await?;
        }
        Ok(())
    }
}

impl Store {
    /// The start of the clock hour of the first bill, if there is one: one read of the sums'
    /// key, however many bills there are.
    pub async fn first_bill_hour(&self) -> StoreResult<Option<UnixMs>> {
        let r =
            sqlx::query("SELECT MIN(start_ms) FROM voucher_spending_sums WHERE grain_ms = $1").bind(HOUR_MS).fetch_one(&self.pool).await?;
        Ok(r.try_get::<Option<i64>, _>(0).ok().flatten())
    }

    /// Voucher spending from `from_ms` until `to_ms` in buckets of `step_ms`: (bucket start,
    /// tenant, provider, voucher fen), for charts of spending over time by enterprise and
    /// provider. Read from the daily sums when `from_ms` is a China Standard Time midnight and
    /// `step_ms` whole days, else from the hourly ones: `from_ms` then counts from the start of
    /// its hour and `step_ms` is rounded up to whole hours. The bucket that holds `to_ms` holds
    /// every bill of its period (the periods are whole hours or days).
    pub async fn voucher_spending(
        &self,
        from_ms: UnixMs,
        to_ms: UnixMs,
        step_ms: i64,
    ) -> StoreResult<Vec<(UnixMs, TenantId, Option<ProviderId>, i64)>> {
        let daily = step_ms > 0 && step_ms % MS_PER_DAY == 0 && grain_start(MS_PER_DAY, from_ms) == from_ms;
        let (grain, from) = if daily { (MS_PER_DAY, from_ms) } else { (HOUR_MS, grain_start(HOUR_MS, from_ms)) };
        let step = (step_ms.max(1) + grain - 1) / grain * grain;
        let rows = sqlx::query(
            "SELECT (start_ms - $2) / $3, tenant_id, provider_id, CAST(SUM(voucher_fen) AS BIGINT) FROM voucher_spending_sums \
             WHERE grain_ms = $1 AND start_ms >= $2 AND start_ms < $4 AND voucher_fen > 0 GROUP BY (start_ms - $2) / $3, tenant_id, provider_id",
        )
        .bind(grain)
        .bind(from)
        .bind(step)
        .bind(to_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let k: i64 = r.get(0);
                let tenant = crate::rows::parse_id(r.get::<String, _>(1))?;
                let provider = Some(r.get::<String, _>(2)).filter(|p| !p.is_empty()).map(crate::rows::parse_id).transpose()?;
                Ok((from + k * step, tenant, provider, r.get::<i64, _>(3)))
            })
            .collect()
    }
}
