//! The naive SQL ledger that `suanli bench ledger` measures Suanli's against: one transaction and row lock per transfer.
//!
//! This is how a ledger is often first written: a balance column per account, and for each
//! transfer a transaction that decrements the debit row under a guard, increments the credit
//! row and inserts the transfer. It lives in its own tables (created on demand in the scratch
//! store the benchmark uses) and is never used by the product. Its transactions are the
//! store's own (`Store::begin`), so on SQLite they queue behind the same writer lock.

use sqlx::AssertSqlSafe;
use suanli_store::{Store, StoreResult};

/// Creates the naive ledger's tables with `accounts` accounts of `balance` fen each.
pub(crate) async fn setup(store: &Store, accounts: usize, balance: i64) -> StoreResult<()> {
    let mut tx = store.begin().await?;
    for sql in [
        "CREATE TABLE IF NOT EXISTS naive_accounts (id BIGINT PRIMARY KEY, balance BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS naive_transfers (id TEXT PRIMARY KEY, debit BIGINT NOT NULL, credit BIGINT NOT NULL, amount BIGINT NOT NULL)",
        "DELETE FROM naive_transfers",
        "DELETE FROM naive_accounts",
    ] {
        sqlx::query(sql).execute(tx.connection().await?).await?;
    }
    for chunk in (0..accounts as i64).collect::<Vec<_>>().chunks(500) {
        let values: Vec<String> = chunk.iter().map(|i| format!("({i}, {balance})")).collect();
        sqlx::query(AssertSqlSafe(format!("INSERT INTO naive_accounts (id, balance) VALUES {}", values.join(","))))
            .execute(tx.connection().await?)
            .await?;
    }
    tx.commit().await
}

/// One naive transfer in its own transaction; false if the debit account lacked the funds.
pub(crate) async fn transfer(store: &Store, id: &str, debit: i64, credit: i64, amount: i64) -> StoreResult<bool> {
    let mut tx = store.begin().await?;
    let done = sqlx::query("UPDATE naive_accounts SET balance = balance - $1 WHERE id = $2 AND balance >= $1")
        .bind(amount)
        .bind(debit)
        .execute(tx.connection().await?)
        .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("UPDATE naive_accounts SET balance = balance + $1 WHERE id = $2")
        .bind(amount)
        .bind(credit)
        .execute(tx.connection().await?)
        .await?;
    sqlx::query("INSERT INTO naive_transfers (id, debit, credit, amount) VALUES ($1, $2, $3, $4)")
        .bind(id.to_owned())
        .bind(debit)
        .bind(credit)
        .bind(amount)
        .execute(tx.connection().await?)
        .await?;
    tx.commit().await?;
    Ok(true)
}
