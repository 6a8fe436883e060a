//! Migrations over databases as earlier versions left them: migration 24 starts each centre's partner history, migration 30 rebuilds SQLite's ledger history keyed by its sequence number, migrations 36 and 37 make the jobs' start, service and centre indexes partial.

use std::collections::BTreeMap;
use suanli_core::centre::{Centre, CentreKind, PartnerStatus, Provider};
use suanli_core::id::{CentreId, ProviderId};
use suanli_incentives::partner::PartnerChange;
use suanli_store::Store;

/// Migration 24 gives each centre it finds one history entry: at its creation, with the status
/// it has then, made by the migration (what came before is not known).
#[tokio::test]
async fn migration_24_starts_each_centres_history_from_its_status_then() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    let provider = Provider { id: ProviderId::generate(1, 1), name: "旧云".into(), name_en: String::new(), registration: None };
    let centre = Centre {
        id: CentreId::generate(2, 2),
        provider_id: provider.id.clone(),
        name: "旧中心".into(),
        name_en: String::new(),
        kind: CentreKind::Cloud,
        region: "hz-xihu".into(),
        partner_status: PartnerStatus::Suspended,
        commissioned_ms: 1,
        declared_pue: 1.3,
        racks: 10,
        rtt_ms: BTreeMap::new(),
        created_ms: 5,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_provider(&provider, 1).await.unwrap();
    tx.insert_centre(&centre, "operator:usr_a").await.unwrap();
    tx.commit().await.unwrap();
    store.close().await;
    // The database as it was at migration 23: no history table.
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("suanli.db").display())).await.unwrap();
    for stmt in [
        "DROP TABLE centre_partner_changes",
        "DROP INDEX bills_by_charge",
        "DROP INDEX bills_by_voucher",
        "DROP INDEX jobs_start_latency",
        "DROP INDEX jobs_service",
        "DROP INDEX bills_earnings",
        "DELETE FROM job_changes WHERE name = 'registry'",
        "DROP TABLE bill_earnings_daily",
        "DROP INDEX jobs_running_by_pool",
        "ALTER TABLE energy_blocks DROP COLUMN packed",
        "DROP TABLE job_explanations",
        "DROP TABLE voucher_spending_sums",
        "ALTER TABLE jobs ADD COLUMN explain_json TEXT",
        "DROP INDEX leader_lease_term",
        "DELETE FROM schema_migrations WHERE version >= 24",
    ] {
        sqlx::query(stmt).execute(&raw).await.unwrap();
    }
    raw.close().await;
    let store = Store::open_dir(dir.path()).await.unwrap();
    let entry = PartnerChange {
        centre_id: centre.id.to_string(),
        from: None,
        to: PartnerStatus::Suspended,
        at_ms: 5,
        by: "migration".into(),
        reason: None,
        reasons: vec![],
    };
    assert_eq!(store.partner_history(None).await.unwrap(), [entry]);
}

/// seq, id, reference, kind, pending_id, post_amount, timeout_ms of a stored transfer.
type HistoryRow = (i64, String, String, String, Option<String>, Option<i64>, Option<i64>);

/// Migration 30 rebuilds SQLite's history keyed by its sequence number (the row id) without the
/// transfer id's unique index, and keeps every row as it was.
#[tokio::test]
async fn migration_30_keeps_the_history_and_drops_the_random_index() {
    let dir = tempfile::tempdir().unwrap();
    Store::open_dir(dir.path()).await.unwrap().close().await;
    // The history as it was before migration 30, with two transfers.
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("suanli.db").display())).await.unwrap();
    for stmt in [
        "DROP TABLE ledger_transfers",
        "CREATE TABLE ledger_transfers (seq BIGINT PRIMARY KEY, id TEXT NOT NULL UNIQUE, debit TEXT NOT NULL, credit TEXT NOT NULL, \
         amount BIGINT NOT NULL, reason TEXT NOT NULL, reference TEXT NOT NULL, ts_ms BIGINT NOT NULL, kind TEXT NOT NULL, pending_id TEXT, \
         post_amount BIGINT, timeout_ms BIGINT)",
        "CREATE INDEX ledger_transfers_reference ON ledger_transfers (reference)",
        "INSERT INTO ledger_transfers VALUES (0, 'a1', 'd', 'c', 5, 'top_up', 'r''1', 10, 'pending', NULL, NULL, 600), \
         (1, 'b2', 'd', 'c', 4, 'top_up', 'r2', 11, 'post', 'a1', 4, NULL)",
        "DELETE FROM schema_migrations WHERE version = 30",
    ] {
        sqlx::query(stmt).execute(&raw).await.unwrap();
    }
    raw.close().await;
    Store::open_dir(dir.path()).await.unwrap().close().await;
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("suanli.db").display())).await.unwrap();
    let rows: Vec<HistoryRow> =
        sqlx::query_as("SELECT seq, id, reference, kind, pending_id, post_amount, timeout_ms FROM ledger_transfers ORDER BY seq")
            .fetch_all(&raw)
            .await
            .unwrap();
    assert_eq!(
        rows,
        [
            (0, "a1".into(), "r'1".into(), "pending".into(), None, None, Some(600)),
            (1, "b2".into(), "r2".into(), "post".into(), Some("a1".into()), Some(4), None)
        ]
    );
    let indexes: Vec<(String,)> =
        sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ledger_transfers' ORDER BY name")
            .fetch_all(&raw)
            .await
            .unwrap();
    assert_eq!(indexes, [("ledger_transfers_reference".to_string(),)], "the row id is the key; only the reference is indexed");
    raw.close().await;
}

/// Migration 36: the jobs' start and service indexes hold only the jobs that started (or were
/// placed), and the queries they serve still read them.
#[tokio::test]
async fn migrations_36_and_37_make_the_start_service_and_centre_indexes_partial_and_they_are_still_read() {
    let dir = tempfile::tempdir().unwrap();
    Store::open_dir(dir.path()).await.unwrap().close().await;
    let raw = sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.path().join("suanli.db").display())).await.unwrap();
    for (index, only) in [
        ("jobs_by_started", "started_ms IS NOT NULL"),
        ("jobs_busy", "started_ms IS NOT NULL"),
        ("jobs_service", "centre_id IS NOT NULL"),
        ("jobs_centre", "centre_id IS NOT NULL"),
    ] {
        let (sql,): (String,) =
            sqlx::query_as("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = $1").bind(index).fetch_one(&raw).await.unwrap();
        assert!(sql.ends_with(&format!("WHERE {only}")), "{index}: {sql}");
    }
    // The first start, the busy time and the service figures, as the store asks for them.
    for (query, index) in [
        ("SELECT MIN(started_ms) FROM jobs WHERE started_ms IS NOT NULL", "jobs_by_started"),
        (
            "SELECT centre_id, SUM(accelerators * (finished_ms - started_ms)) FROM jobs \
             WHERE started_ms IS NOT NULL AND centre_id IS NOT NULL AND started_ms < 5 AND (finished_ms IS NULL OR finished_ms > 1) GROUP BY centre_id",
            "jobs_busy",
        ),
        (
            "SELECT centre_id, COUNT(*) FROM jobs INDEXED BY jobs_service WHERE centre_id IS NOT NULL AND state IN ('succeeded', 'failed') GROUP BY centre_id",
            "jobs_service",
        ),
        // A listing by centre and by a provider's centres (the listing's own conditions).
        ("SELECT id FROM jobs j WHERE j.centre_id = 'c' ORDER BY j.id DESC LIMIT 20", "jobs_centre"),
        (
            "SELECT id FROM jobs j WHERE j.centre_id IN (SELECT id FROM centres WHERE provider_id = 'p') ORDER BY j.id DESC LIMIT 20",
            "jobs_centre",
        ),
    ] {
        let plan: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {query}"))).fetch_all(&raw).await.unwrap();
        assert!(plan.iter().any(|(_, _, _, d)| d.contains(index)), "{query}: {plan:?}");
    }
    raw.close().await;
}
