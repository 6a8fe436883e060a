//! The store's write transactions counted by writer: how many, how long each waited to begin, how long it was open; in the store and on `/metrics`.

use crate::harness::TestServer;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;
use suanli_store::{Store, WriteFigures, Writer};

fn of(store: &Store, writer: Writer) -> WriteFigures {
    store.write_figures().into_iter().find(|(w, _)| *w == writer).map(|(_, f)| f).unwrap()
}

/// A transaction counts under the writer that began it, committed or dropped, for the time it
/// was open; on SQLite a second writer waits for the first's lock, and that wait is counted.
#[tokio::test]
async fn each_writers_transactions_are_counted_with_their_wait_and_time_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    let (jobs0, other0, ledger0) = (of(&store, Writer::Jobs), of(&store, Writer::Other), of(&store, Writer::Ledger));
    assert!(other0.transactions >= 1, "the migrations' transaction counts as another writer's: {other0:?}");

    let mut tx = store.begin_as(Writer::Jobs).await.unwrap();
    tx.set_meta("a", "1").await.unwrap();
    tokio::time::sleep(Duration::from_millis(40)).await;
    // A ledger commit asked for while the job writer holds the lock waits for it.
    let waiting = {
        let store = store.clone();
        tokio::spawn(async move {
            let tx = store.begin_as(Writer::Ledger).await.unwrap();
            tx.commit().await.unwrap();
        })
    };
    tokio::time::sleep(Duration::from_millis(40)).await;
    tx.commit().await.unwrap();
    waiting.await.unwrap();
    // Dropped without a commit (rolled back): counted all the same.
    drop(store.begin_as(Writer::Jobs).await.unwrap());
    store.begin().await.unwrap().commit().await.unwrap();

    let (jobs, other, ledger) = (of(&store, Writer::Jobs), of(&store, Writer::Other), of(&store, Writer::Ledger));
    assert_eq!(jobs.transactions - jobs0.transactions, 2, "{jobs:?}");
    assert_eq!(ledger.transactions - ledger0.transactions, 1, "{ledger:?}");
    assert_eq!(other.transactions - other0.transactions, 1, "{other:?}");
    assert!(jobs.open_s - jobs0.open_s >= 0.08, "the job writer's transaction was open 80 ms at least: {jobs:?}");
    assert!(ledger.wait_s - ledger0.wait_s >= 0.03, "the ledger waited about 40 ms for the lock: {ledger:?}");
    assert!(ledger.open_s - ledger0.open_s < jobs.open_s - jobs0.open_s, "{ledger:?} {jobs:?}");
    assert_eq!(of(&store, Writer::Placement).transactions, 0, "no round ran");
    store.close().await;
}

/// A job submitted through the API is stored by the job writer, and `/metrics` says so.
#[tokio::test]
async fn metrics_count_the_job_writers_transactions() {
    let s = TestServer::start().await;
    let body = json!({"name": "counted", "kind": "batch", "accelerators": 1, "duration_s": 60});
    let (st, job) = s.as_role("tenant").post("/api/v1/jobs", &body).await;
    assert_eq!(st, StatusCode::CREATED, "{job}");
    let metrics = reqwest::get(format!("{}/metrics", s.url)).await.unwrap().text().await.unwrap();
    let value = |name: &str, writer: &str| -> f64 {
        let prefix = format!("{name}{{writer=\"{writer}\"}} ");
        let line = metrics.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no {prefix} in {metrics}"));
        line[prefix.len()..].parse().unwrap()
    };
    assert!(value("suanli_store_write_transactions_total", "jobs") >= 1.0, "{metrics}");
    assert!(value("suanli_store_write_open_seconds_total", "jobs") > 0.0, "{metrics}");
    assert!(value("suanli_store_write_wait_seconds_total", "jobs") >= 0.0, "{metrics}");
    for writer in Writer::ALL {
        assert!(metrics.contains(&format!("suanli_store_write_transactions_total{{writer=\"{}\"}}", writer.as_str())), "{metrics}");
    }
}
