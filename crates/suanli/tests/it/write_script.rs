//! SQLite's write transactions as scripts (statements that answer nothing go to the connection together) and the scheduler's explanations in a table of their own (migration 33).

use serde_json::json;
use suanli_core::id::{AuditId, JobId};
use suanli_store::{Audit, Store};

fn audit(id: AuditId, subject: &str) -> Audit {
    Audit { id, at_ms: 1, actor: "test".into(), action: "test.write".into(), subject: subject.into(), detail: json!({"n": 1}) }
}

/// A deferred statement that fails fails the transaction where it is sent (here at the commit):
/// nothing of the transaction is stored, neither the statements before it nor the one that
/// answered, and the next writer goes on on the same connection, before and after a reopen.
#[tokio::test]
async fn a_failed_deferred_statement_fails_its_whole_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    let taken = AuditId::generate(1, 1);
    let mut tx = store.begin().await.unwrap();
    tx.audit_many(&[audit(taken.clone(), "first")]).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    tx.audit_many(&[audit(AuditId::generate(2, 2), "lost")]).await.unwrap();
    tx.set_meta("lost", "1").await.unwrap();
    // The same id again: refused by the table's key, but only when the script is sent.
    tx.audit_many(&[audit(AuditId::generate(3, 3), "lost"), audit(taken.clone(), "again")]).await.unwrap();
    let e = tx.commit().await.expect_err("a duplicate key fails the commit");
    assert!(e.to_string().to_lowercase().contains("unique"), "{e}");

    // A failure in a script sent ahead of a statement that answers is that statement's.
    let mut tx = store.begin().await.unwrap();
    tx.audit_many(&[audit(taken.clone(), "again")]).await.unwrap();
    assert!(tx.job_change_seq().await.is_err());
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    tx.audit_many(&[audit(AuditId::generate(4, 4), "kept")]).await.unwrap();
    tx.set_meta("kept", "1").await.unwrap();
    tx.commit().await.unwrap();
    let check = |store: Store| async move {
        assert!(store.audit_log(Some("lost"), 10).await.unwrap().is_empty());
        assert!(store.audit_log(Some("again"), 10).await.unwrap().is_empty());
        assert_eq!(store.audit_log(Some("first"), 10).await.unwrap().len(), 1);
        assert_eq!(store.audit_log(Some("kept"), 10).await.unwrap().len(), 1);
        assert_eq!(store.meta("lost").await.unwrap(), None);
        assert_eq!(store.meta("kept").await.unwrap().as_deref(), Some("1"));
    };
    check(store.clone()).await;
    store.close().await;
    check(Store::open_dir(dir.path()).await.unwrap()).await;
}

/// A store written before migration 33 kept each job's explanation in its row: after the
/// upgrade it is read from the table of explanations, and the jobs have no such column.
#[tokio::test]
async fn migration_33_moves_the_explanations_out_of_the_jobs() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("suanli.db");
    Store::open_dir(dir.path()).await.unwrap().close().await;
    let job = JobId::generate(5, 5);
    let mut raw = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    for stmt in [
        "PRAGMA foreign_keys = OFF".to_string(),
        "DROP TABLE job_explanations".to_string(),
        "ALTER TABLE jobs ADD COLUMN explain_json TEXT".to_string(),
        "DELETE FROM schema_migrations WHERE version = 33".to_string(),
        "INSERT INTO tenants (id, name, name_en, uscc, sme, region, created_ms) VALUES ('ten_x', 'x', 'x', 'x', 1, 'hz', 1)".to_string(),
        format!(
            "INSERT INTO jobs (id, tenant_id, name, kind, state, accelerators, priority, spec_json, submitted_ms, explain_json) \
             VALUES ('{job}', 'ten_x', 'old', 'batch', 'succeeded', 1, 0, '{{}}', 1, '{{\"chosen\":\"pool_a\"}}')"
        ),
        "INSERT INTO jobs (id, tenant_id, name, kind, state, accelerators, priority, spec_json, submitted_ms) \
             VALUES ('job_unexplained', 'ten_x', 'old', 'batch', 'pending', 1, 0, '{}', 1)"
            .to_string(),
    ] {
        sqlx::query(sqlx::AssertSqlSafe(stmt)).execute(&mut raw).await.unwrap();
    }
    raw.close().await.unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    assert_eq!(store.explanation(&job).await.unwrap(), Some(json!({"chosen": "pool_a"})));
    assert_eq!(store.explanation(&JobId::generate(6, 6)).await.unwrap(), None);
    store.close().await;
    let mut raw = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    let columns: Vec<(String,)> = sqlx::query_as("SELECT name FROM pragma_table_info('jobs')").fetch_all(&mut raw).await.unwrap();
    assert!(!columns.iter().any(|(c,)| c == "explain_json"), "{columns:?}");
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM job_explanations").fetch_one(&mut raw).await.unwrap();
    assert_eq!(n, 1, "only the job that had an explanation");
}
