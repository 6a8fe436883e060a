//! The jobs' change numbers: on PostgreSQL, where writers commit side by side, a reader never passes a job still being written by a transaction open behind a later one that committed, and numbers stamped after the store opens stay above those stamped before; on SQLite, a group whose number is read with its commit carries the number it answers.

use crate::harness::{pg_store, pg_url, unique_schema};
use sqlx::Connection;
use suanli_core::id::{JobId, TenantId};
use suanli_core::job::{Job, JobKind, JobSpec};
use suanli_store::Store;

fn job(n: i64, tenant: &TenantId) -> Job {
    Job::pending(
        JobId::generate(20_000 + n, n as u64),
        tenant.clone(),
        JobSpec::new(&format!("changes-{n}"), JobKind::Batch, 1, 60),
        20_000 + n,
    )
}

/// Runs `sql` on the test's schema, outside the store.
async fn raw(schema: &str, sql: &str) {
    let mut c = sqlx::PgConnection::connect(&pg_url()).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("SET search_path TO {schema}"))).execute(&mut c).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut c).await.unwrap();
    c.close().await.unwrap();
}

fn ids(jobs: &[Job]) -> Vec<&str> {
    let mut v: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
    v.sort_unstable();
    v
}

/// Reads the changes from `since` (leaving out the reader's `own` change numbers) until the
/// reader has passed `seq`: the jobs read on the way, sorted by id, and where it stopped. Other
/// tests' transactions on the same server hold the mark back while they are open, for moments.
async fn read_past(store: &Store, mut since: i64, own: &[i64], seq: i64) -> (Vec<String>, i64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut read = Vec::new();
    loop {
        let c = store.jobs_changed_since(since, own).await.unwrap();
        read.extend(c.jobs.iter().map(|j| j.id.to_string()));
        since = c.upto;
        if since >= seq {
            read.sort_unstable();
            return (read, since);
        }
        assert!(std::time::Instant::now() < deadline, "the reader never passed {seq} (at {since})");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn pg_a_reader_waits_for_a_writer_open_behind_a_later_commit_and_numbers_stay_above_the_counters() {
    let schema = unique_schema("job_changes");
    let store = pg_store(&schema).await;
    let tenant = crate::rounds::seed(&store).await;
    let (a, b) = (job(1, &tenant), job(2, &tenant));
    let since = store.job_change_mark().await.unwrap();

    // A takes its number first and stays open; B takes a later one and commits.
    let mut open = store.begin().await.unwrap();
    open.insert_jobs(std::slice::from_ref(&a)).await.unwrap();
    let a_seq = open.stamped_job_seq().expect("a job write stamps a number");
    let mut tx = store.begin().await.unwrap();
    tx.insert_jobs(std::slice::from_ref(&b)).await.unwrap();
    let b_seq = tx.stamped_job_seq().unwrap();
    tx.commit().await.unwrap();
    assert!(b_seq > a_seq, "numbers follow the order writers began writing: {a_seq}, {b_seq}");

    // The reader stops below the open writer: B, committed above it, waits for the next read.
    let first = store.jobs_changed_since(since, &[]).await.unwrap();
    assert!(first.upto < a_seq, "the mark {} passed a number still open ({a_seq})", first.upto);
    assert!(ids(&first.jobs).is_empty(), "nothing at or below the mark was written: {:?}", ids(&first.jobs));
    assert!(store.job_change_mark().await.unwrap() < a_seq);

    // Once A commits, reading on from where the first read stopped finds both.
    open.commit().await.unwrap();
    let (read, upto) = read_past(&store, first.upto, &[], b_seq).await;
    assert_eq!(read, ids(&[a.clone(), b.clone()]));
    // The reader's own write, committed and left out, is not read again; the read still moves past it.
    let mut tx = store.begin().await.unwrap();
    tx.insert_jobs(&[job(3, &tenant)]).await.unwrap();
    let c_seq = tx.stamped_job_seq().unwrap();
    tx.commit().await.unwrap();
    let (read, past_c) = read_past(&store, upto, &[c_seq], c_seq).await;
    assert!(read.is_empty(), "{read:?}");
    // A follower's test of whether jobs changed: nothing written since it last looked, however
    // the mark moved; always yes the first time.
    assert!(!store.jobs_written_since(Some(past_c)).await.unwrap().0);
    assert!(store.jobs_written_since(None).await.unwrap().0);
    assert!(store.jobs_written_since(Some(upto)).await.unwrap().0, "job 3 was written since");
    store.close().await;

    // A database whose counter had reached far above this cluster's transaction ids (numbers
    // stamped by an earlier build): numbers stamped after the store opens are above them.
    let high = c_seq + 1_000_000_000_000;
    raw(&schema, &format!("UPDATE job_changes SET seq = {high} WHERE name = 'jobs'")).await;
    raw(&schema, &format!("UPDATE jobs SET change_seq = {high} WHERE id = '{}'", a.id)).await;
    let store = pg_store(&schema).await;
    assert!(store.job_change_mark().await.unwrap() >= high);
    let changed = store.jobs_changed_since(high - 1, &[]).await.unwrap();
    assert_eq!(ids(&changed.jobs), vec![a.id.as_str()], "the job stamped by the counter is read");
    let mut tx = store.begin().await.unwrap();
    let d = job(4, &tenant);
    tx.insert_jobs(std::slice::from_ref(&d)).await.unwrap();
    let d_seq = tx.stamped_job_seq().unwrap();
    tx.commit().await.unwrap();
    assert!(d_seq > high, "{d_seq} is not above the counter's {high}");
    let (read, _) = read_past(&store, changed.upto, &[], d_seq).await;
    assert_eq!(read, vec![d.id.to_string()]);
    store.close().await;
    let _ = Store::drop_schema(&pg_url(), &schema).await;
}

#[tokio::test]
async fn sqlite_jobs_stamped_in_the_script_carry_the_number_read_back_with_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).await.unwrap();
    let tenant = crate::rounds::seed(&store).await;
    let (a, b, c, d, e) = (job(11, &tenant), job(12, &tenant), job(13, &tenant), job(14, &tenant), job(15, &tenant));
    let mut tx = store.begin().await.unwrap();
    tx.insert_jobs(std::slice::from_ref(&a)).await.unwrap();
    let a_seq = tx.stamped_job_seq().unwrap();
    tx.commit().await.unwrap();

    // The group's number waits in its script: not known before the commit, which answers it.
    let mut tx = store.begin().await.unwrap();
    tx.stamp_jobs_in_script().await.unwrap();
    tx.insert_jobs(&[b.clone(), c.clone()]).await.unwrap();
    assert_eq!(tx.stamped_job_seq(), None);
    let bc_seq = tx.commit_stamped().await.unwrap().unwrap();
    assert_eq!(bc_seq, a_seq + 1);
    assert_eq!(store.job_change_mark().await.unwrap(), bc_seq);
    let changed = store.jobs_changed_since(a_seq, &[]).await.unwrap();
    assert_eq!((ids(&changed.jobs), changed.upto), (ids(&[b.clone(), c.clone()]), bc_seq));

    // Asked for mid-transaction, the number is read from the script's increment, and later
    // rows of the transaction carry the same one.
    let mut tx = store.begin().await.unwrap();
    tx.stamp_jobs_in_script().await.unwrap();
    tx.insert_jobs(std::slice::from_ref(&d)).await.unwrap();
    assert_eq!(tx.job_change_seq().await.unwrap(), bc_seq + 1);
    tx.insert_jobs(std::slice::from_ref(&e)).await.unwrap();
    assert_eq!(tx.commit_stamped().await.unwrap(), Some(bc_seq + 1));
    let changed = store.jobs_changed_since(bc_seq, &[]).await.unwrap();
    assert_eq!((ids(&changed.jobs), changed.upto), (ids(&[d.clone(), e.clone()]), bc_seq + 1));

    // A group rolled back takes no number: the next commit's follows the last committed.
    let mut tx = store.begin().await.unwrap();
    tx.stamp_jobs_in_script().await.unwrap();
    tx.insert_jobs(&[job(16, &tenant)]).await.unwrap();
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    tx.stamp_jobs_in_script().await.unwrap();
    tx.insert_jobs(&[job(17, &tenant)]).await.unwrap();
    assert_eq!(tx.commit_stamped().await.unwrap(), Some(bc_seq + 2));
    assert!(store.job(&job(16, &tenant).id).await.unwrap().is_none(), "the rolled-back group stored nothing");
    // A transaction that wrote no job answers no number.
    assert_eq!(store.begin().await.unwrap().commit_stamped().await.unwrap(), None);
    store.close().await;
}
