//! Data sharing in the store: admitted suppliers, the catalogue with each set's content, access requests, deliveries (with their extracts) and short-lived download links.

use crate::rows::parse_id;
use crate::{Store, StoreError, StoreResult, WriteTx};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use suanli_core::id::{DataRequestId, DataSetId, DeliveryId, ProviderId, TenantId};
use suanli_core::money::Fen;
use suanli_core::time::UnixMs;
use suanli_data::catalogue::{DataRequest, DataSet, Delivery, RequestState, Supplier, SupplierStatus};

const SUPPLIER_SELECT: &str = "SELECT provider_id, status, domains_json, reason, decided_by, decided_ms FROM data_suppliers";
const SET_SELECT: &str = "SELECT id, supplier_id, spec_json, format, columns_json, preview, row_count, content_sha256, content_bytes, \
     created_ms, updated_ms FROM data_sets";
const REQUEST_SELECT: &str = "SELECT id, data_set_id, tenant_id, supplier_id, spec_json, state, fee_fen, voucher_fen, cash_fen, \
     programme_id, decisions_json, created_ms, expires_ms, updated_ms FROM data_requests";
const DELIVERY_SELECT: &str = "SELECT record_json, statement_id FROM data_deliveries";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} '{}'", value.chars().take(80).collect::<String>()))
}

fn json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|_| corrupt(what, s))
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn supplier_from_row(r: &AnyRow) -> StoreResult<Supplier> {
    let status: String = r.try_get(1)?;
    let domains: String = r.try_get(2)?;
    Ok(Supplier {
        provider_id: parse_id(r.try_get(0)?)?,
        status: SupplierStatus::parse(&status).ok_or_else(|| corrupt("supplier status", &status))?,
        domains: json("supplier domains", &domains)?,
        reason: r.try_get(3)?,
        decided_by: r.try_get(4)?,
        decided_ms: r.try_get(5)?,
    })
}

fn set_from_row(r: &AnyRow) -> StoreResult<DataSet> {
    let spec: String = r.try_get(2)?;
    let columns: String = r.try_get(4)?;
    Ok(DataSet {
        id: parse_id(r.try_get(0)?)?,
        supplier_id: parse_id(r.try_get(1)?)?,
        spec: json("data set spec", &spec)?,
        format: r.try_get(3)?,
        columns: json("data set columns", &columns)?,
        preview: r.try_get(5)?,
        rows: r.try_get::<i64, _>(6)? as u64,
        content_sha256: r.try_get(7)?,
        content_bytes: r.try_get::<i64, _>(8)? as u64,
        created_ms: r.try_get(9)?,
        updated_ms: r.try_get(10)?,
    })
}

fn request_from_row(r: &AnyRow) -> StoreResult<DataRequest> {
    let spec: String = r.try_get(4)?;
    let state: String = r.try_get(5)?;
    let decisions: String = r.try_get(10)?;
    Ok(DataRequest {
        id: parse_id(r.try_get(0)?)?,
        data_set_id: parse_id(r.try_get(1)?)?,
        tenant_id: parse_id(r.try_get(2)?)?,
        supplier_id: parse_id(r.try_get(3)?)?,
        spec: json("request spec", &spec)?,
        state: RequestState::parse(&state).ok_or_else(|| corrupt("request state", &state))?,
        fee: Fen(r.try_get(6)?),
        voucher: Fen(r.try_get(7)?),
        cash: Fen(r.try_get(8)?),
        programme_id: r.try_get(9)?,
        decisions: json("request decisions", &decisions)?,
        created_ms: r.try_get(11)?,
        expires_ms: r.try_get(12)?,
        updated_ms: r.try_get(13)?,
    })
}

/// Rows of `select` that `filter` keeps, newest first, mapped by `row`.
async fn filtered_on<T>(
    c: &mut AnyConnection,
    select: &str,
    filter: &DataFilter,
    limit: u32,
    row: fn(&AnyRow) -> StoreResult<T>,
) -> StoreResult<Vec<T>> {
    let (clause, args) = filter.clause();
    let mut q = sqlx::query(AssertSqlSafe(format!("{select}{clause} ORDER BY created_ms DESC, id DESC LIMIT {limit}")));
    for a in args {
        q = q.bind(a);
    }
    q.fetch_all(c).await?.iter().map(row).collect()
}

/// [`Store::data_deliveries`] on a connection (a snapshot's, see [`Store::read_snapshot`]).
pub(crate) async fn data_deliveries_on(c: &mut AnyConnection, filter: &DataFilter, limit: u32) -> StoreResult<Vec<Delivery>> {
    filtered_on(c, DELIVERY_SELECT, filter, limit, delivery_from_row).await
}

fn delivery_from_row(r: &AnyRow) -> StoreResult<Delivery> {
    let record: String = r.try_get(0)?;
    let mut d: Delivery = json("delivery", &record)?;
    d.statement_id = r.try_get(1)?;
    Ok(d)
}

/// A delivery's extract on its way to the store (shared, not copied, when a commit is retried).
#[derive(Clone)]
pub struct Extract(pub std::sync::Arc<Vec<u8>>);

impl std::fmt::Debug for Extract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Extract({} bytes)", self.0.len())
    }
}

/// Whose requests or deliveries to list.
#[derive(Debug, Clone, Default)]
pub struct DataFilter {
    pub tenant: Option<TenantId>,
    pub supplier: Option<ProviderId>,
    pub data_set: Option<DataSetId>,
}

impl DataFilter {
    fn clause(&self) -> (String, Vec<String>) {
        let mut parts = Vec::new();
        let mut args = Vec::new();
        for (col, v) in [
            ("tenant_id", self.tenant.as_ref().map(|t| t.to_string())),
            ("supplier_id", self.supplier.as_ref().map(|p| p.to_string())),
            ("data_set_id", self.data_set.as_ref().map(|d| d.to_string())),
        ] {
            if let Some(v) = v {
                args.push(v);
                parts.push(format!("{col} = ${}", args.len()));
            }
        }
        (if parts.is_empty() { String::new() } else { format!(" WHERE {}", parts.join(" AND ")) }, args)
    }
}

/// One supplier's data-service volume in a year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplierVolume {
    pub supplier_id: ProviderId,
    pub deliveries: u64,
    pub volume: Fen,
}

impl Store {
    pub async fn data_suppliers(&self) -> StoreResult<Vec<Supplier>> {
        let rows = sqlx::query(AssertSqlSafe(format!("{SUPPLIER_SELECT} ORDER BY decided_ms, provider_id"))).fetch_all(&self.pool).await?;
        rows.iter().map(supplier_from_row).collect()
    }

    pub async fn data_supplier(&self, provider: &ProviderId) -> StoreResult<Option<Supplier>> {
        let row = sqlx::query(AssertSqlSafe(format!("{SUPPLIER_SELECT} WHERE provider_id = $1")))
            .bind(provider.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(supplier_from_row).transpose()
    }

    pub async fn data_sets(&self) -> StoreResult<Vec<DataSet>> {
        let rows = sqlx::query(AssertSqlSafe(format!("{SET_SELECT} ORDER BY created_ms, id"))).fetch_all(&self.pool).await?;
        rows.iter().map(set_from_row).collect()
    }

    /// A data set by its id or its name.
    pub async fn data_set(&self, id_or_name: &str) -> StoreResult<Option<DataSet>> {
        let row = sqlx::query(AssertSqlSafe(format!("{SET_SELECT} WHERE id = $1 OR name = $1")))
            .bind(id_or_name.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(set_from_row).transpose()
    }

    /// A data set's content (UTF-8, as normalised on upload).
    pub async fn data_content(&self, id: &DataSetId) -> StoreResult<Option<Vec<u8>>> {
        let row =
            sqlx::query("SELECT body FROM data_contents WHERE data_set_id = $1").bind(id.to_string()).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.try_get::<Vec<u8>, _>(0)).transpose()?)
    }

    pub async fn data_requests(&self, filter: &DataFilter, limit: u32) -> StoreResult<Vec<DataRequest>> {
        filtered_on(&mut *self.pool.acquire().await?, REQUEST_SELECT, filter, limit, request_from_row).await
    }

    pub async fn data_request(&self, id: &DataRequestId) -> StoreResult<Option<DataRequest>> {
        let row =
            sqlx::query(AssertSqlSafe(format!("{REQUEST_SELECT} WHERE id = $1"))).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(request_from_row).transpose()
    }

    pub async fn data_deliveries(&self, filter: &DataFilter, limit: u32) -> StoreResult<Vec<Delivery>> {
        data_deliveries_on(&mut *self.pool.acquire().await?, filter, limit).await
    }

    pub async fn data_delivery(&self, id: &DeliveryId) -> StoreResult<Option<Delivery>> {
        let row =
            sqlx::query(AssertSqlSafe(format!("{DELIVERY_SELECT} WHERE id = $1"))).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(delivery_from_row).transpose()
    }

    /// A delivery's extract, exactly as delivered.
    pub async fn delivery_body(&self, id: &DeliveryId) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT body FROM data_deliveries WHERE id = $1").bind(id.to_string()).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.try_get::<Vec<u8>, _>(0)).transpose()?)
    }

    /// The delivery a link's token (by its SHA-256) opens, and until when.
    pub async fn data_link(&self, token_sha256: &str) -> StoreResult<Option<(DeliveryId, UnixMs)>> {
        let row = sqlx::query("SELECT delivery_id, expires_ms FROM data_links WHERE token_sha256 = $1")
            .bind(token_sha256.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((parse_id(r.try_get(0)?)?, r.try_get(1)?))).transpose()
    }

    /// Each supplier's deliveries and fees from `from` until `to`, largest volume first.
    pub async fn data_volumes(&self, from: UnixMs, to: UnixMs) -> StoreResult<Vec<SupplierVolume>> {
        let rows = sqlx::query(
            "SELECT supplier_id, COUNT(*), CAST(COALESCE(SUM(fee_fen), 0) AS BIGINT) FROM data_deliveries \
             WHERE created_ms >= $1 AND created_ms < $2 GROUP BY supplier_id ORDER BY 3 DESC, 1",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SupplierVolume {
                    supplier_id: parse_id(r.try_get(0)?)?,
                    deliveries: r.try_get::<i64, _>(1)? as u64,
                    volume: Fen(r.try_get(2)?),
                })
            })
            .collect()
    }

    /// A supplier's unsettled deliveries in a period: (count, fees, voucher part, cash part).
    pub async fn data_fees_unsettled(&self, supplier: &ProviderId, from: UnixMs, to: UnixMs) -> StoreResult<(u32, Fen, Fen, Fen)> {
        let r = sqlx::query(
            "SELECT COUNT(*), CAST(COALESCE(SUM(fee_fen), 0) AS BIGINT), CAST(COALESCE(SUM(voucher_fen), 0) AS BIGINT), \
             CAST(COALESCE(SUM(cash_fen), 0) AS BIGINT) FROM data_deliveries \
             WHERE supplier_id = $1 AND statement_id IS NULL AND created_ms >= $2 AND created_ms < $3",
        )
        .bind(supplier.to_string())
        .bind(from)
        .bind(to)
        .fetch_one(&self.pool)
        .await?;
        Ok((r.try_get::<i64, _>(0)? as u32, Fen(r.try_get(1)?), Fen(r.try_get(2)?), Fen(r.try_get(3)?)))
    }
}

impl WriteTx<'_> {
    pub async fn upsert_data_supplier(&mut self, s: &Supplier) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO data_suppliers (provider_id, status, domains_json, reason, decided_by, decided_ms) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (provider_id) DO UPDATE SET status = excluded.status, domains_json = excluded.domains_json, \
             reason = excluded.reason, decided_by = excluded.decided_by, decided_ms = excluded.decided_ms",
        )
        .bind(s.provider_id.to_string())
        .bind(s.status.as_str())
        .bind(to_json(&s.domains))
        .bind(s.reason.clone())
        .bind(s.decided_by.clone())
        .bind(s.decided_ms)
        .execute(self.tx.conn().await?)
        .await?;
        Ok(())
    }

    pub async fn insert_data_set(&mut self, d: &DataSet) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO data_sets (id, name, supplier_id, spec_json, format, columns_json, preview, row_count, content_sha256, content_bytes, \
             created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(d.id.to_string())
        .bind(d.spec.name.clone())
        .bind(d.supplier_id.to_string())
        .bind(to_json(&d.spec))
        .bind(d.format.clone())
        .bind(to_json(&d.columns))
        .bind(d.preview.clone())
        .bind(d.rows as i64)
        .bind(d.content_sha256.clone())
        .bind(d.content_bytes as i64)
        .bind(d.created_ms)
        .bind(d.updated_ms)
        .execute(self.tx.conn().await?)
        .await?;
        Ok(())
    }

    /// Replaces a data set's content and what was derived from it (schema, preview, counts).
    pub async fn set_data_content(&mut self, d: &DataSet, body: &[u8]) -> StoreResult<()> {
        sqlx::query(
            "UPDATE data_sets SET format = $1, columns_json = $2, preview = $3, row_count = $4, content_sha256 = $5, content_bytes = $6, \
             updated_ms = $7 WHERE id = $8",
        )
        .bind(d.format.clone())
        .bind(to_json(&d.columns))
        .bind(d.preview.clone())
        .bind(d.rows as i64)
        .bind(d.content_sha256.clone())
        .bind(d.content_bytes as i64)
        .bind(d.updated_ms)
        .bind(d.id.to_string())
        .execute(self.tx.conn().await?)
        .await?;
        sqlx::query("DELETE FROM data_contents WHERE data_set_id = $1").bind(d.id.to_string()).execute(self.tx.conn().await?).await?;
        sqlx::query("INSERT INTO data_contents (data_set_id, body) VALUES ($1, $2)")
            .bind(d.id.to_string())
            .bind(body.to_vec())
            .execute(self.tx.conn().await?)
            .await?;
        Ok(())
    }

    pub async fn insert_data_link(
        &mut self,
        token_sha256: &str,
        delivery: &DeliveryId,
        created_ms: UnixMs,
        expires_ms: UnixMs,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO data_links (token_sha256, delivery_id, created_ms, expires_ms) VALUES ($1, $2, $3, $4)")
            .bind(token_sha256.to_owned())
            .bind(delivery.to_string())
            .bind(created_ms)
            .bind(expires_ms)
            .execute(self.tx.conn().await?)
            .await?;
        Ok(())
    }

    pub(crate) async fn insert_data_request(&mut self, r: &DataRequest) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO data_requests (id, data_set_id, tenant_id, supplier_id, spec_json, state, fee_fen, voucher_fen, cash_fen, programme_id, \
             decisions_json, created_ms, expires_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(r.id.to_string())
        .bind(r.data_set_id.to_string())
        .bind(r.tenant_id.to_string())
        .bind(r.supplier_id.to_string())
        .bind(to_json(&r.spec))
        .bind(r.state.as_str())
        .bind(r.fee.0)
        .bind(r.voucher.0)
        .bind(r.cash.0)
        .bind(r.programme_id.clone())
        .bind(to_json(&r.decisions))
        .bind(r.created_ms)
        .bind(r.expires_ms)
        .bind(r.updated_ms)
        .execute(self.tx.conn().await?)
        .await?;
        Ok(())
    }

    /// Moves a request on, only from the state it was read in (a concurrent decision loses).
    pub(crate) async fn update_data_request(&mut self, r: &DataRequest, from: RequestState) -> StoreResult<()> {
        let done = sqlx::query("UPDATE data_requests SET state = $1, decisions_json = $2, updated_ms = $3 WHERE id = $4 AND state = $5")
            .bind(r.state.as_str())
            .bind(to_json(&r.decisions))
            .bind(r.updated_ms)
            .bind(r.id.to_string())
            .bind(from.as_str())
            .execute(self.tx.conn().await?)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Domain(suanli_core::error::Error::new(
                suanli_core::error::ErrorCode::DataRequestDecided,
                format!("request {} was decided meanwhile", r.id),
            )));
        }
        Ok(())
    }

    pub(crate) async fn insert_delivery(&mut self, d: &Delivery, body: &[u8]) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO data_deliveries (id, request_id, data_set_id, tenant_id, supplier_id, record_json, body, fee_fen, voucher_fen, cash_fen, \
             created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(d.id.to_string())
        .bind(d.request_id.to_string())
        .bind(d.data_set_id.to_string())
        .bind(d.tenant_id.to_string())
        .bind(d.supplier_id.to_string())
        .bind(to_json(d))
        .bind(body.to_vec())
        .bind(d.fee.0)
        .bind(d.voucher.0)
        .bind(d.cash.0)
        .bind(d.created_ms)
        .execute(self.tx.conn().await?)
        .await?;
        Ok(())
    }
}
