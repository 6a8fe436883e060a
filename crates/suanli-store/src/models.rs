//! Models as a service in the store: the catalogue, deployments, model keys (hashed) and metered calls, with the usage queries built on them.

use crate::rows::parse_id;
use crate::{Store, StoreError, StoreResult, WriteTx};
use serde::Serialize;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use suanli_core::id::{ProviderId, TenantId};
use suanli_core::model::{CallStatus, Deployment, Endpoint, KeySpec, Model, ModelCall, ModelKey, ModelSpec, UsageSource};
use suanli_core::money::Fen;
use suanli_core::time::UnixMs;

/// China Standard Time, in which usage is counted by day.
use suanli_core::time::CST_OFFSET_MS;

const MODEL_SELECT: &str = "SELECT name, provider_id, spec_json, created_ms FROM models";
const DEPLOYMENT_SELECT: &str = "SELECT id, model, spec_json, created_ms FROM model_deployments WHERE removed_ms IS NULL";
const KEY_SELECT: &str = "SELECT id, tenant_id, secret_sha256, prefix, spec_json, created_ms, revoked_ms FROM model_keys";
const CALL_SELECT: &str = "SELECT id, key_id, tenant_id, model, endpoint, deployment, provider_id, status, input_tokens, output_tokens, \
     usage_source, charge_fen, voucher_fen, cash_fen, programme_id, started_ms, ttft_ms, duration_ms, route_json, error_code FROM model_calls";

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} '{}'", value.chars().take(80).collect::<String>()))
}

fn json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|_| corrupt(what, s))
}

fn model_from_row(r: &AnyRow) -> StoreResult<Model> {
    let spec: String = r.try_get(2)?;
    Ok(Model {
        name: r.try_get(0)?,
        provider_id: parse_id(r.try_get(1)?)?,
        spec: json::<ModelSpec>("model spec", &spec)?,
        created_ms: r.try_get(3)?,
    })
}

fn deployment_from_row(r: &AnyRow) -> StoreResult<Deployment> {
    let spec: String = r.try_get(2)?;
    Ok(Deployment { id: r.try_get(0)?, model: r.try_get(1)?, spec: json("deployment spec", &spec)?, created_ms: r.try_get(3)? })
}

fn key_from_row(r: &AnyRow) -> StoreResult<ModelKey> {
    let spec: String = r.try_get(4)?;
    Ok(ModelKey {
        id: r.try_get(0)?,
        tenant_id: parse_id(r.try_get(1)?)?,
        secret_sha256: r.try_get(2)?,
        prefix: r.try_get(3)?,
        spec: json::<KeySpec>("key spec", &spec)?,
        created_ms: r.try_get(5)?,
        revoked_ms: r.try_get(6)?,
    })
}

/// [`Store::model_calls`] on a connection (a snapshot's, see [`Store::read_snapshot`]).
pub(crate) async fn model_calls_on(c: &mut AnyConnection, filter: &UsageFilter, limit: u32) -> StoreResult<Vec<ModelCall>> {
    let (clause, texts, nums) = filter.clause();
    let sql = format!("{CALL_SELECT}{clause} ORDER BY started_ms DESC, id DESC LIMIT {limit}");
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for t in texts {
        q = q.bind(t);
    }
    for n in nums {
        q = q.bind(n);
    }
    let rows = q.fetch_all(c).await?;
    rows.iter().map(call_from_row).collect()
}

fn call_from_row(r: &AnyRow) -> StoreResult<ModelCall> {
    let endpoint: String = r.try_get(4)?;
    let status: String = r.try_get(7)?;
    let source: String = r.try_get(10)?;
    let route: String = r.try_get(18)?;
    let provider: Option<String> = r.try_get(6)?;
    Ok(ModelCall {
        id: r.try_get(0)?,
        key_id: r.try_get(1)?,
        tenant_id: parse_id(r.try_get(2)?)?,
        model: r.try_get(3)?,
        endpoint: Endpoint::parse(&endpoint).ok_or_else(|| corrupt("endpoint", &endpoint))?,
        deployment: r.try_get(5)?,
        provider_id: provider.map(parse_id).transpose()?,
        status: CallStatus::parse(&status).ok_or_else(|| corrupt("call status", &status))?,
        input_tokens: r.try_get::<i64, _>(8)? as u64,
        output_tokens: r.try_get::<i64, _>(9)? as u64,
        usage_source: UsageSource::parse(&source).ok_or_else(|| corrupt("usage source", &source))?,
        charge: Fen(r.try_get(11)?),
        voucher: Fen(r.try_get(12)?),
        cash: Fen(r.try_get(13)?),
        programme_id: r.try_get(14)?,
        started_ms: r.try_get(15)?,
        ttft_ms: r.try_get(16)?,
        duration_ms: r.try_get(17)?,
        route: json("route", &route)?,
        error_code: r.try_get(19)?,
    })
}

/// Which calls a usage query counts.
#[derive(Debug, Clone, Default)]
pub struct UsageFilter {
    pub tenant: Option<TenantId>,
    pub provider: Option<ProviderId>,
    pub key: Option<String>,
    pub model: Option<String>,
    pub from_ms: Option<UnixMs>,
    pub to_ms: Option<UnixMs>,
}

/// Usage of one key on one model on one day (China Standard Time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageRow {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub tenant_id: String,
    pub key_id: String,
    pub model: String,
    pub calls: u64,
    pub failed_calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub charge: Fen,
    pub voucher: Fen,
    pub cash: Fen,
}

impl UsageFilter {
    /// The WHERE clause and its text arguments, numbered from `$1`.
    fn clause(&self) -> (String, Vec<String>, Vec<i64>) {
        let mut parts = Vec::new();
        let mut texts = Vec::new();
        for (col, v) in [
            ("tenant_id", self.tenant.as_ref().map(|t| t.to_string())),
            ("provider_id", self.provider.as_ref().map(|p| p.to_string())),
            ("key_id", self.key.clone()),
            ("model", self.model.clone()),
        ] {
            if let Some(v) = v {
                texts.push(v);
                parts.push(format!("{col} = ${}", texts.len()));
            }
        }
        let mut nums = Vec::new();
        for (op, v) in [(">=", self.from_ms), ("<", self.to_ms)] {
            if let Some(v) = v {
                nums.push(v);
                parts.push(format!("started_ms {op} ${}", texts.len() + nums.len()));
            }
        }
        let clause = if parts.is_empty() { String::new() } else { format!(" WHERE {}", parts.join(" AND ")) };
        (clause, texts, nums)
    }
}

impl Store {
    pub async fn models(&self) -> StoreResult<Vec<Model>> {
        let rows = sqlx::query(AssertSqlSafe(format!("{MODEL_SELECT} ORDER BY name"))).fetch_all(&self.pool).await?;
        rows.iter().map(model_from_row).collect()
    }

    pub async fn model(&self, name: &str) -> StoreResult<Option<Model>> {
        let row =
            sqlx::query(AssertSqlSafe(format!("{MODEL_SELECT} WHERE name = $1"))).bind(name.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(model_from_row).transpose()
    }

    /// Every live deployment, by model then id.
    pub async fn deployments(&self) -> StoreResult<Vec<Deployment>> {
        let rows = sqlx::query(AssertSqlSafe(format!("{DEPLOYMENT_SELECT} ORDER BY model, created_ms, id"))).fetch_all(&self.pool).await?;
        rows.iter().map(deployment_from_row).collect()
    }

    /// How many deployments a model ever had (removed ones too), for the next one's number.
    pub async fn deployment_count(&self, model: &str) -> StoreResult<i64> {
        let row =
            sqlx::query("SELECT COUNT(*) FROM model_deployments WHERE model = $1").bind(model.to_string()).fetch_one(&self.pool).await?;
        Ok(row.try_get(0)?)
    }

    /// Keys, of one tenant or all.
    pub async fn model_keys(&self, tenant: Option<&TenantId>) -> StoreResult<Vec<ModelKey>> {
        let rows = match tenant {
            Some(t) => {
                sqlx::query(AssertSqlSafe(format!("{KEY_SELECT} WHERE tenant_id = $1 ORDER BY created_ms, id")))
                    .bind(t.to_string())
                    .fetch_all(&self.pool)
                    .await?
            }
            None => sqlx::query(AssertSqlSafe(format!("{KEY_SELECT} ORDER BY created_ms, id"))).fetch_all(&self.pool).await?,
        };
        rows.iter().map(key_from_row).collect()
    }

    pub async fn model_key(&self, id: &str) -> StoreResult<Option<ModelKey>> {
        let row = sqlx::query(AssertSqlSafe(format!("{KEY_SELECT} WHERE id = $1"))).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(key_from_row).transpose()
    }

    pub async fn model_call(&self, id: &str) -> StoreResult<Option<ModelCall>> {
        let row =
            sqlx::query(AssertSqlSafe(format!("{CALL_SELECT} WHERE id = $1"))).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(call_from_row).transpose()
    }

    /// The newest calls matching a filter, newest first.
    pub async fn model_calls(&self, filter: &UsageFilter, limit: u32) -> StoreResult<Vec<ModelCall>> {
        model_calls_on(&mut *self.pool.acquire().await?, filter, limit.min(10_000)).await
    }

    /// Usage per day (China Standard Time), key and model.
    pub async fn model_usage(&self, filter: &UsageFilter) -> StoreResult<Vec<UsageRow>> {
        let (clause, texts, nums) = filter.clause();
        let sql = format!(
            "SELECT (started_ms + {CST_OFFSET_MS}) / 86400000 AS day, tenant_id, key_id, model, COUNT(*), \
             CAST(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END) AS BIGINT), CAST(SUM(input_tokens) AS BIGINT), CAST(SUM(output_tokens) AS BIGINT), CAST(SUM(charge_fen) AS BIGINT), CAST(SUM(voucher_fen) AS BIGINT), CAST(SUM(cash_fen) AS BIGINT) \
             FROM model_calls{clause} GROUP BY day, tenant_id, key_id, model ORDER BY day, tenant_id, key_id, model"
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for t in texts {
            q = q.bind(t);
        }
        for n in nums {
            q = q.bind(n);
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let day: i64 = r.try_get(0)?;
                let n = |i: usize| -> StoreResult<u64> { Ok(r.try_get::<Option<i64>, _>(i)?.unwrap_or(0) as u64) };
                let f = |i: usize| -> StoreResult<Fen> { Ok(Fen(r.try_get::<Option<i64>, _>(i)?.unwrap_or(0))) };
                Ok(UsageRow {
                    day: suanli_core::time::format_date(day * 86_400_000),
                    tenant_id: r.try_get(1)?,
                    key_id: r.try_get(2)?,
                    model: r.try_get(3)?,
                    calls: n(4)?,
                    failed_calls: n(5)?,
                    input_tokens: n(6)?,
                    output_tokens: n(7)?,
                    charge: f(8)?,
                    voucher: f(9)?,
                    cash: f(10)?,
                })
            })
            .collect()
    }

    /// A provider's model calls not yet settled that started in `[from, until)`:
    /// `(calls, charge, voucher, cash)`.
    pub async fn model_calls_unsettled(&self, provider: &ProviderId, from: UnixMs, until: UnixMs) -> StoreResult<(u32, Fen, Fen, Fen)> {
        let r = sqlx::query(
            "SELECT COUNT(*), CAST(SUM(charge_fen) AS BIGINT), CAST(SUM(voucher_fen) AS BIGINT), CAST(SUM(cash_fen) AS BIGINT) FROM model_calls \
             WHERE provider_id = $1 AND statement_id IS NULL AND started_ms >= $2 AND started_ms < $3 AND charge_fen > 0",
        )
        .bind(provider.to_string())
        .bind(from)
        .bind(until)
        .fetch_one(&self.pool)
        .await?;
        let f = |i: usize| -> StoreResult<Fen> { Ok(Fen(r.try_get::<Option<i64>, _>(i)?.unwrap_or(0))) };
        Ok((r.try_get::<i64, _>(0)? as u32, f(1)?, f(2)?, f(3)?))
    }

    /// What every key spent: `(key id, charge)`; for reconciliation against the key budgets.
    pub async fn model_spend_by_key(&self) -> StoreResult<Vec<(String, Fen)>> {
        let rows = sqlx::query("SELECT key_id, CAST(SUM(charge_fen) AS BIGINT) FROM model_calls GROUP BY key_id ORDER BY key_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, Fen(r.try_get::<Option<i64>, _>(1)?.unwrap_or(0))))).collect()
    }
}

impl WriteTx<'_> {
    pub async fn insert_model(&mut self, m: &Model) -> StoreResult<()> {
        sqlx::query("INSERT INTO models (name, provider_id, spec_json, created_ms) VALUES ($1, $2, $3, $4)")
            .bind(m.name.clone())
            .bind(m.provider_id.to_string())
            .bind(serde_json::to_string(&m.spec).map_err(|e| StoreError::Corrupt(e.to_string()))?)
            .bind(m.created_ms)
            .execute(self.tx.conn().await?)
            .await?;
        Ok(())
    }

    pub async fn update_model(&mut self, m: &Model) -> StoreResult<()> {
        sqlx::query("UPDATE models SET spec_json = $1 WHERE name = $2")
            .bind(serde_json::to_string(&m.spec).map_err(|e| StoreError::Corrupt(e.to_string()))?)
            .bind(m.name.clone())
            .execute(self.tx.conn().await?)
            .await?;
        Ok(())
    }

    pub async fn insert_deployment(&mut self, d: &Deployment) -> StoreResult<()> {
        sqlx::query("INSERT INTO model_deployments (id, model, centre_id, spec_json, created_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(d.id.clone())
            .bind(d.model.clone())
            .bind(d.spec.centre_id.to_string())
            .bind(serde_json::to_string(&d.spec).map_err(|e| StoreError::Corrupt(e.to_string()))?)
            .bind(d.created_ms)
            .execute(self.tx.conn().await?)
            .await?;
        Ok(())
    }

    /// Marks a deployment removed; whether it was live.
    pub async fn remove_deployment(&mut self, id: &str, at_ms: UnixMs) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE model_deployments SET removed_ms = $1 WHERE id = $2 AND removed_ms IS NULL")
            .bind(at_ms)
            .bind(id.to_string())
            .execute(self.tx.conn().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn insert_model_key(&mut self, k: &ModelKey) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO model_keys (id, tenant_id, secret_sha256, prefix, spec_json, created_ms, revoked_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(k.id.clone())
        .bind(k.tenant_id.to_string())
        .bind(k.secret_sha256.clone())
        .bind(k.prefix.clone())
        .bind(serde_json::to_string(&k.spec).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        .bind(k.created_ms)
        .bind(k.revoked_ms)
        .execute(self.tx.conn().await?)
        .await?;
        Ok(())
    }

    /// Adds a top-up to the budget a key records (the ledger's memo account holds the money).
    pub(crate) async fn add_model_key_budget(&mut self, id: &str, amount: Fen) -> StoreResult<()> {
        let row = sqlx::query("SELECT spec_json FROM model_keys WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.tx.conn().await?)
            .await?;
        let Some(row) = row else { return Ok(()) };
        let text: String = row.try_get(0)?;
        let mut spec: KeySpec = json("key spec", &text)?;
        spec.budget = Fen(spec.budget.0.saturating_add(amount.0));
        sqlx::query("UPDATE model_keys SET spec_json = $1 WHERE id = $2")
            .bind(serde_json::to_string(&spec).map_err(|e| StoreError::Corrupt(e.to_string()))?)
            .bind(id.to_string())
            .execute(self.tx.conn().await?)
            .await?;
        Ok(())
    }

    /// Gives a live key a new secret (the old one stops matching at once); whether it was live.
    pub async fn rotate_model_key(&mut self, id: &str, secret_sha256: &str, prefix: &str) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE model_keys SET secret_sha256 = $1, prefix = $2 WHERE id = $3 AND revoked_ms IS NULL")
            .bind(secret_sha256.to_string())
            .bind(prefix.to_string())
            .bind(id.to_string())
            .execute(self.tx.conn().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Revokes a key; whether it was live.
    pub async fn revoke_model_key(&mut self, id: &str, at_ms: UnixMs) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE model_keys SET revoked_ms = $1 WHERE id = $2 AND revoked_ms IS NULL")
            .bind(at_ms)
            .bind(id.to_string())
            .execute(self.tx.conn().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Inserts usage records, many to a statement (a call already recorded is left as it is).
    /// On SQLite as literal rows, like the ledger's history: sqlx's SQLite driver slows with the
    /// parameters of a statement. Every value is a number, an id or name the platform checked,
    /// an enum's name, or JSON it wrote, and every text goes through `sql_text`.
    pub(crate) async fn insert_model_calls(&mut self, calls: &[&ModelCall]) -> StoreResult<()> {
        const HEAD: &str = "INSERT INTO model_calls (id, key_id, tenant_id, model, endpoint, deployment, provider_id, status, input_tokens, \
             output_tokens, usage_source, charge_fen, voucher_fen, cash_fen, programme_id, started_ms, ttft_ms, duration_ms, route_json, error_code) VALUES ";
        if self.dialect == crate::Dialect::Postgres {
            return self.insert_model_calls_bound(HEAD, calls).await;
        }
        use crate::ledger::sql_text;
        let text = |v: Option<&str>| v.map_or_else(|| "NULL".to_string(), sql_text);
        let num = |v: Option<i64>| v.map_or_else(|| "NULL".to_string(), |x| x.to_string());
        for chunk in calls.chunks(500) {
            let mut sql = String::with_capacity(HEAD.len() + chunk.len() * 600);
            sql.push_str(HEAD);
            for (j, c) in chunk.iter().enumerate() {
                use std::fmt::Write;
                let provider = c.provider_id.as_ref().map(|p| p.to_string());
                let _ = write!(
                    sql,
                    "{}({},{},{},{},'{}',{},{},'{}',{},{},'{}',{},{},{},{},{},{},{},{},{})",
                    if j > 0 { "," } else { "" },
                    sql_text(&c.id),
                    sql_text(&c.key_id),
                    sql_text(c.tenant_id.as_str()),
                    sql_text(&c.model),
                    c.endpoint.as_str(),
                    text(c.deployment.as_deref()),
                    text(provider.as_deref()),
                    c.status.as_str(),
                    c.input_tokens.min(i64::MAX as u64),
                    c.output_tokens.min(i64::MAX as u64),
                    c.usage_source.as_str(),
                    c.charge.0,
                    c.voucher.0,
                    c.cash.0,
                    text(c.programme_id.as_deref()),
                    c.started_ms,
                    num(c.ttft_ms),
                    c.duration_ms,
                    sql_text(&c.route.to_string()),
                    text(c.error_code.as_deref()),
                );
            }
            sql.push_str(" ON CONFLICT (id) DO NOTHING");
            self.tx.defer(&sql).await?;
        }
        Ok(())
    }

    async fn insert_model_calls_bound(&mut self, head: &str, calls: &[&ModelCall]) -> StoreResult<()> {
        const COLS: usize = 20;
        for chunk in calls.chunks(400) {
            let mut sql = String::from(head);
            crate::rows::push_placeholder_rows(&mut sql, chunk.len(), COLS);
            sql.push_str(" ON CONFLICT (id) DO NOTHING");
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for c in chunk {
                q = q
                    .bind(c.id.clone())
                    .bind(c.key_id.clone())
                    .bind(c.tenant_id.to_string())
                    .bind(c.model.clone())
                    .bind(c.endpoint.as_str())
                    .bind(c.deployment.clone())
                    .bind(c.provider_id.as_ref().map(|p| p.to_string()))
                    .bind(c.status.as_str())
                    .bind(c.input_tokens.min(i64::MAX as u64) as i64)
                    .bind(c.output_tokens.min(i64::MAX as u64) as i64)
                    .bind(c.usage_source.as_str())
                    .bind(c.charge.0)
                    .bind(c.voucher.0)
                    .bind(c.cash.0)
                    .bind(c.programme_id.clone())
                    .bind(c.started_ms)
                    .bind(c.ttft_ms)
                    .bind(c.duration_ms)
                    .bind(c.route.to_string())
                    .bind(c.error_code.clone());
            }
            q.execute(self.tx.conn().await?).await?;
        }
        Ok(())
    }
}
