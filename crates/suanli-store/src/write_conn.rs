//! SQLite's writer connection: one connection held by the store itself, not lent by a pool, so a write never waits for the previous one's return to the pool; and its transactions sent as scripts, so a commit costs a round trip or two to SQLite's worker thread, not one a statement.
//!
//! sqlx's pool tests every connection given back to it with a ping, in a task of its own, and
//! only then lends it again: for SQLite a round trip to the connection's worker thread between
//! any two writes of the store (the energy writer's commits waited 165 µs at the median and
//! 1.2 ms at p90 to acquire it). Here the writer lock owns the connection: whoever holds the
//! lock writes on it at once.
//!
//! Each statement sent is a round trip to the connection's worker thread, and under load (two
//! cores shared by the HTTP workers, the engine and SQLite) each took about a millisecond of
//! the writer lock: the ledger's commits held it 10 ms at the median for 2.5 ms of SQL. So a
//! transaction's statements that answer nothing (literal inserts and upserts) wait in its
//! script, with its BEGIN, and go together with the next statement that answers something or
//! with the COMMIT. A transaction dropped without a commit is rolled back before the
//! connection's next statement; a connection whose rollback fails is closed, and the next
//! writer opens a new one from the writer pool.

use crate::StoreResult;
use sqlx::{Any, AnyConnection, AnyPool, Transaction};
use std::ops::{Deref, DerefMut};
use tokio::sync::{Mutex, MutexGuard};

/// SQLite's writer connection, and whether a transaction left on it must be rolled back
/// before its next statement.
#[derive(Debug)]
pub(crate) struct Conn {
    conn: AnyConnection,
    rollback: bool,
}

/// The writer lock and the connection it owns (opened from `pool` when first needed).
#[derive(Debug)]
pub(crate) struct Writer {
    pool: AnyPool,
    conn: Mutex<Option<Conn>>,
}

impl Writer {
    pub(crate) fn new(pool: AnyPool) -> Self {
        Writer { pool, conn: Mutex::new(None) }
    }

    /// Takes the writer lock and answers its connection, opening one if there is none, with
    /// a transaction left open by a dropped writer rolled back.
    pub(crate) async fn lock(&self) -> StoreResult<Held<'_>> {
        let mut guard = self.conn.lock().await;
        if let Some(c) = guard.as_mut().filter(|c| c.rollback) {
            // "no transaction is active" when its BEGIN never ran: nothing to undo then.
            match sqlx::raw_sql("ROLLBACK").execute(&mut c.conn).await {
                Ok(_) => c.rollback = false,
                Err(e) if e.to_string().contains("no transaction is active") => c.rollback = false,
                Err(e) => {
                    tracing::warn!(error = %e, "rolling back a dropped write transaction failed; reopening the writer's connection");
                    guard.take();
                }
            }
        }
        if guard.is_none() {
            *guard = Some(Conn { conn: self.pool.acquire().await?.detach(), rollback: false });
        }
        Ok(Held(guard))
    }

    /// Takes the writer lock for a transaction that begins with `statement`. Nothing is sent
    /// yet: the statement leads the transaction's first script (see [`OwnTx`]).
    pub(crate) async fn begin(&self, statement: &'static str) -> StoreResult<OwnTx<'_>> {
        let held = self.lock().await?;
        let mut script = String::with_capacity(4096);
        script.push_str(statement);
        script.push_str(";\n");
        Ok(OwnTx { held, script, open: false, eager: false })
    }

    /// Closes the connection (the pool it came from is closed by the store).
    pub(crate) async fn close(&self) {
        if let Some(c) = self.conn.lock().await.take() {
            let _ = sqlx::Connection::close(c.conn).await;
        }
    }
}

/// The writer lock, held, with its connection.
pub(crate) struct Held<'w>(MutexGuard<'w, Option<Conn>>);

impl Held<'_> {
    /// Closes the connection after a failure it may not have recovered from; the next writer
    /// opens a new one.
    pub(crate) fn discard(mut self) {
        self.0.take();
    }
}

impl Deref for Held<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.0.as_ref().expect("the writer lock holds a connection").conn
    }
}

impl DerefMut for Held<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.0.as_mut().expect("the writer lock holds a connection").conn
    }
}

/// A transaction on the writer's connection. Statements that answer nothing are kept in its
/// script ([`OwnTx::defer`]) and go to the connection together, with the next statement that
/// answers something or with the COMMIT: one round trip to SQLite's worker thread instead of
/// one each (under load each took about a millisecond of the writer lock). It is rolled back
/// before the connection's next use when dropped uncommitted.
pub(crate) struct OwnTx<'w> {
    held: Held<'w>,
    /// Statements not sent yet, each ending in `;`; the BEGIN leads the first script.
    script: String,
    /// Whether a script (with the BEGIN) has been sent.
    open: bool,
    /// Whether each deferred statement is sent at once (see [`crate::WriteTx::send_each_statement`]).
    eager: bool,
}

impl OwnTx<'_> {
    /// Sends what the script holds; the connection, for a statement that answers.
    async fn flushed(&mut self) -> StoreResult<&mut AnyConnection> {
        if !self.script.is_empty() {
            let script = self.take_script();
            sqlx::raw_sql(sqlx::AssertSqlSafe(script)).execute(&mut *self.held).await?;
        }
        Ok(&mut self.held)
    }

    /// The script not sent yet, to be sent by the caller ahead of its own statement in one
    /// query; the transaction counts as begun from here.
    fn take_script(&mut self) -> String {
        self.open = true;
        std::mem::take(&mut self.script)
    }

    async fn commit(mut self) -> StoreResult<()> {
        let mut script = self.take_script();
        script.push_str("COMMIT;");
        sqlx::raw_sql(sqlx::AssertSqlSafe(script)).execute(&mut *self.held).await?;
        self.open = false;
        Ok(())
    }

    /// Commits with `sql` (literals only) run last before the COMMIT, in the same round trip;
    /// `sql`'s rows.
    async fn commit_fetching(mut self, sql: &str) -> StoreResult<Vec<sqlx::any::AnyRow>> {
        let mut script = self.take_script();
        script.push_str(sql);
        script.push_str(";\nCOMMIT;");
        let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(script)).fetch_all(&mut *self.held).await?;
        self.open = false;
        Ok(rows)
    }
}

impl Drop for OwnTx<'_> {
    fn drop(&mut self) {
        if self.open
            && let Some(c) = self.held.0.as_mut()
        {
            c.rollback = true;
        }
    }
}

/// A write transaction's connection: SQLite's writer connection, or one of PostgreSQL's pool
/// (whose writers run concurrently).
pub(crate) enum TxConn<'w> {
    Own(OwnTx<'w>),
    Pooled(Transaction<'static, Any>),
}

impl TxConn<'_> {
    pub(crate) async fn commit(self) -> StoreResult<()> {
        match self {
            TxConn::Own(tx) => tx.commit().await,
            TxConn::Pooled(tx) => Ok(tx.commit().await?),
        }
    }

    /// Runs `sql` (literals only) and commits: on SQLite in one round trip, after the deferred
    /// statements; `sql`'s rows.
    pub(crate) async fn commit_fetching(self, sql: &str) -> StoreResult<Vec<sqlx::any::AnyRow>> {
        match self {
            TxConn::Own(tx) => tx.commit_fetching(sql).await,
            TxConn::Pooled(mut tx) => {
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).fetch_all(&mut *tx).await?;
                tx.commit().await?;
                Ok(rows)
            }
        }
    }

    /// The connection for a statement, after every deferred one has been sent.
    pub(crate) async fn conn(&mut self) -> StoreResult<&mut AnyConnection> {
        match self {
            TxConn::Own(tx) => tx.flushed().await,
            TxConn::Pooled(tx) => Ok(&mut **tx),
        }
    }

    /// Runs `sql`, a statement of literals that answers nothing: on SQLite it waits in the
    /// script for the next statement that answers something, or the commit (an error in it is
    /// then that statement's or the commit's); on PostgreSQL it runs now.
    pub(crate) async fn defer(&mut self, sql: &str) -> StoreResult<()> {
        match self {
            TxConn::Own(tx) => {
                tx.script.push_str(sql);
                tx.script.push_str(";\n");
                if tx.eager {
                    tx.flushed().await?;
                }
            }
            TxConn::Pooled(tx) => {
                sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut **tx).await?;
            }
        }
        Ok(())
    }

    /// The deferred statements followed by `sql` (literals only), as one query whose rows are
    /// `sql`'s: on SQLite one round trip. On PostgreSQL `sql` alone.
    pub(crate) async fn fetch_all(&mut self, sql: &str) -> StoreResult<Vec<sqlx::any::AnyRow>> {
        match self {
            TxConn::Own(tx) => {
                let mut script = tx.take_script();
                script.push_str(sql);
                Ok(sqlx::raw_sql(sqlx::AssertSqlSafe(script)).fetch_all(&mut *tx.held).await?)
            }
            TxConn::Pooled(tx) => Ok(sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).fetch_all(&mut **tx).await?),
        }
    }
}

impl crate::WriteTx<'_> {
    /// Sends each of this transaction's statements as it comes (the BEGIN with the first)
    /// instead of keeping those that answer nothing for one script: a big script runs as one
    /// long burst of SQLite's thread, which a writer beside latency-bound work may not want.
    pub(crate) fn send_each_statement(&mut self) {
        if let TxConn::Own(tx) = &mut self.tx {
            tx.eager = true;
        }
    }
}
