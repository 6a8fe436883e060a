//! Voucher spending over time from the sums kept with the bills (migration 34): by hour and by China Standard Time day they add up to the bills' voucher parts, and the migration's rebuild of them from the bills gives the same sums.

use crate::earnings::billed_job;
use crate::harness::TestServer;
use std::collections::BTreeMap;
use suanli_core::time::{MS_PER_DAY, MS_PER_HOUR as HOUR_MS, UnixMs};
use suanli_store::spending::grain_start;
use suanli_store::{BillFilter, Store};

/// Voucher fen by (bucket start, tenant, provider), as the store answers them.
type Spent = BTreeMap<(UnixMs, String, String), i64>;

async fn spent(store: &Store, from: UnixMs, step: i64) -> Spent {
    let mut out = Spent::new();
    for (at, tenant, provider, fen) in store.voucher_spending(from, i64::MAX, step).await.unwrap() {
        assert!(at >= grain_start(HOUR_MS, from) && at.rem_euclid(HOUR_MS) == 0, "a bucket starts on an hour: {at} from {from}");
        *out.entry((at, tenant.to_string(), provider.map(|p| p.to_string()).unwrap_or_default())).or_default() += fen;
    }
    out
}

#[tokio::test]
async fn voucher_spending_sums_are_the_bills_by_hour_and_by_day_and_the_migration_rebuilds_them() {
    let ts = TestServer::start().await;
    for _ in 0..3 {
        billed_job(&ts).await;
    }
    let store = &ts.state.store;
    let bills = store.bills(&BillFilter { limit: 100_000, ..Default::default() }).await.unwrap();
    assert!(bills.iter().any(|b| b.voucher.is_positive()), "a bill paid by voucher: {bills:?}");
    let first = bills.iter().map(|b| b.created_ms).min().unwrap();
    assert_eq!(store.first_bill_hour().await.unwrap(), Some(grain_start(HOUR_MS, first)), "the first bill's hour");

    // What the bills say, bucketed by hour and by Beijing day.
    let by = |grain: i64| {
        let mut want = Spent::new();
        for b in bills.iter().filter(|b| b.voucher.is_positive()) {
            let provider = b.provider_id.as_ref().map(|p| p.to_string()).unwrap_or_default();
            *want.entry((grain_start(grain, b.created_ms), b.tenant_id.to_string(), provider)).or_default() += b.voucher.0;
        }
        want
    };
    let (hour0, day0) = (grain_start(HOUR_MS, first), grain_start(MS_PER_DAY, first));
    let hourly = spent(store, hour0, HOUR_MS).await;
    let daily = spent(store, day0, MS_PER_DAY).await;
    assert_eq!(hourly, by(HOUR_MS), "by hour");
    assert_eq!(daily, by(MS_PER_DAY), "by day");
    assert!(!hourly.is_empty());
    // A start inside an hour counts from the start of that hour; steps of 90 minutes are two hours.
    assert_eq!(spent(store, hour0 + 1, HOUR_MS).await, hourly);
    let two = spent(store, hour0, 2 * HOUR_MS).await;
    assert_eq!(spent(store, hour0, 90 * 60_000).await, two);
    assert_eq!(two.values().sum::<i64>(), hourly.values().sum::<i64>());

    // The sums as migration 34 builds them from the bills of a database that had none.
    let db = sqlx::SqlitePool::connect(&format!("sqlite://{}", ts.data_dir().join("suanli.db").display())).await.unwrap();
    for stmt in ["DROP TABLE voucher_spending_sums", "DELETE FROM schema_migrations WHERE version = 34"] {
        sqlx::query(stmt).execute(&db).await.unwrap();
    }
    db.close().await;
    let reopened = Store::open_dir(ts.data_dir()).await.unwrap();
    assert_eq!(spent(&reopened, hour0, HOUR_MS).await, hourly, "rebuilt by hour");
    assert_eq!(spent(&reopened, day0, MS_PER_DAY).await, daily, "rebuilt by day");
    assert_eq!(reopened.first_bill_hour().await.unwrap(), Some(hour0));
    reopened.close().await;
}
