//! Which backend each centre is bound to (`slurm+http://…`, `agent`, `sim` in the demo): rows, reads and the writes that commit with their audit record.

use crate::rows::parse_id;
use crate::{Store, StoreResult, WriteTx};
use serde::Serialize;
use sqlx::Row;
use suanli_core::id::CentreId;
use suanli_core::time::UnixMs;

/// A centre's stored binding: where its jobs go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackendBinding {
    pub centre_id: CentreId,
    /// `slurm+http(s)://host:port?partition=…`, `agent`, or `sim` (only under `--demo`).
    pub url: String,
    /// The actor who bound it (`operator:usr_…`, `provider:usr_…`, `system:demo`).
    pub bound_by: String,
    pub bound_ms: UnixMs,
}

const SELECT: &str = "SELECT centre_id, url, bound_by, bound_ms FROM centre_backends";

fn binding_from_row(r: &sqlx::any::AnyRow) -> StoreResult<BackendBinding> {
    Ok(BackendBinding { centre_id: parse_id(r.try_get(0)?)?, url: r.try_get(1)?, bound_by: r.try_get(2)?, bound_ms: r.try_get(3)? })
}

impl Store {
    /// Every stored binding, by centre id.
    pub async fn backend_bindings(&self) -> StoreResult<Vec<BackendBinding>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} ORDER BY centre_id"))).fetch_all(&self.pool).await?;
        rows.iter().map(binding_from_row).collect()
    }

    /// One centre's binding, if it has one.
    pub async fn backend_binding(&self, centre: &CentreId) -> StoreResult<Option<BackendBinding>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE centre_id = $1")))
            .bind(centre.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(binding_from_row).transpose()
    }
}

impl WriteTx<'_> {
    /// Binds a centre (replacing an earlier binding).
    pub async fn bind_backend(&mut self, b: &BackendBinding) -> StoreResult<()> {
        sqlx::query("DELETE FROM centre_backends WHERE centre_id = $1")
            .bind(b.centre_id.to_string())
            .execute(self.tx.conn().await?)
            .await?;
        sqlx::query("INSERT INTO centre_backends (centre_id, url, bound_by, bound_ms) VALUES ($1, $2, $3, $4)")
            .bind(b.centre_id.to_string())
            .bind(b.url.clone())
            .bind(b.bound_by.clone())
            .bind(b.bound_ms)
            .execute(self.tx.conn().await?)
            .await?;
        Ok(())
    }

    /// Unbinds a centre; whether it was bound.
    pub async fn unbind_backend(&mut self, centre: &CentreId) -> StoreResult<bool> {
        let done =
            sqlx::query("DELETE FROM centre_backends WHERE centre_id = $1").bind(centre.to_string()).execute(self.tx.conn().await?).await?;
        Ok(done.rows_affected() > 0)
    }
}
