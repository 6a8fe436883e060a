//! Incentive programmes in the store: programmes as data, the expert pool, applications kept whole as JSON (with their programme, applicant — a tenant or a provider —, subject, year and stage as columns to query), evidence by its SHA-256 (content-addressed, so never altered), and what the ledger paid a provider in a period.

use crate::{Store, StoreError, StoreResult, WriteTx};
use sqlx::{AssertSqlSafe, Row};
use suanli_core::money::Fen;
use suanli_core::time::UnixMs;
use suanli_incentives::{Applicant, Application, Expert, ProgrammeSpec};
use suanli_ledger::{AccountId, ReasonCode};

fn json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|_| StoreError::Corrupt(format!("{what} '{}'", s.chars().take(80).collect::<String>())))
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// One row rewritten, or the application changed since it was read.
fn changed_meanwhile(rows: u64, a: &Application) -> StoreResult<()> {
    if rows == 1 {
        return Ok(());
    }
    Err(StoreError::Domain(suanli_core::error::Error::new(
        suanli_core::error::ErrorCode::WrongStage,
        format!("application {} changed meanwhile", a.id),
    )))
}

const APP_SELECT: &str = "SELECT record_json FROM incentive_applications";

impl Store {
    pub async fn incentive_programmes(&self) -> StoreResult<Vec<ProgrammeSpec>> {
        let rows = sqlx::query("SELECT spec_json FROM incentive_programmes ORDER BY created_ms, code").fetch_all(&self.pool).await?;
        rows.iter().map(|r| json("programme", &r.try_get::<String, _>(0)?)).collect()
    }

    pub async fn incentive_programme(&self, code: &str) -> StoreResult<Option<ProgrammeSpec>> {
        let row = sqlx::query("SELECT spec_json FROM incentive_programmes WHERE code = $1")
            .bind(code.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| json("programme", &r.try_get::<String, _>(0)?)).transpose()
    }

    /// Applications, newest first: all, or a tenant's, a provider's, a programme's or a subject's.
    pub async fn incentive_applications(&self, column: Option<(&str, &str)>) -> StoreResult<Vec<Application>> {
        let (sql, arg) = match column {
            Some((col @ ("tenant_id" | "provider_id" | "programme" | "subject"), v)) => {
                (format!("{APP_SELECT} WHERE {col} = $1 ORDER BY created_ms DESC, id"), Some(v))
            }
            _ => (format!("{APP_SELECT} ORDER BY created_ms DESC, id"), None),
        };
        let mut q = sqlx::query(AssertSqlSafe(sql));
        if let Some(v) = arg {
            q = q.bind(v.to_owned());
        }
        q.fetch_all(&self.pool).await?.iter().map(|r| json("application", &r.try_get::<String, _>(0)?)).collect()
    }

    pub async fn incentive_application(&self, id: &str) -> StoreResult<Option<Application>> {
        let row = sqlx::query(AssertSqlSafe(format!("{APP_SELECT} WHERE id = $1"))).bind(id.to_owned()).fetch_optional(&self.pool).await?;
        row.map(|r| json("application", &r.try_get::<String, _>(0)?)).transpose()
    }

    /// Posted money into and out of `account` over the China Standard Time days from the day of
    /// `from` up to the day of `to` (excluded), summed by direction and reason: `(credit,
    /// reason, sum)` rows (holds count only once posted, at what was posted). Whole days: with
    /// bounds at midnight in China, as a year's are, the sum is of `[from, to)` exactly.
    pub async fn ledger_flows(&self, account: AccountId, from: UnixMs, to: UnixMs) -> StoreResult<Vec<(bool, ReasonCode, Fen)>> {
        let rows = sqlx::query(
            "SELECT credit, reason, CAST(SUM(amount) AS BIGINT) FROM ledger_daily_flows \
             WHERE account = $1 AND day >= $2 AND day < $3 GROUP BY credit, reason",
        )
        .bind(account.to_hex())
        .bind(suanli_core::time::cst_day(from))
        .bind(suanli_core::time::cst_day(to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let reason: String = r.try_get(1)?;
                let reason = ReasonCode::parse(&reason).ok_or_else(|| StoreError::Corrupt(format!("transfer reason '{reason}'")))?;
                Ok((r.try_get::<i64, _>(0)? == 1, reason, Fen(r.try_get(2)?)))
            })
            .collect()
    }

    /// The expert pool, by name.
    pub async fn incentive_experts(&self) -> StoreResult<Vec<Expert>> {
        let rows = sqlx::query("SELECT user_id, name, organisation_uscc, created_ms FROM incentive_experts ORDER BY name, user_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(expert_from_row).collect()
    }

    pub async fn incentive_expert(&self, user_id: &str) -> StoreResult<Option<Expert>> {
        let row = sqlx::query("SELECT user_id, name, organisation_uscc, created_ms FROM incentive_experts WHERE user_id = $1")
            .bind(user_id.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(expert_from_row).transpose()
    }

    pub async fn incentive_document(&self, sha256: &str) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT body FROM incentive_documents WHERE sha256 = $1")
            .bind(sha256.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get::<Vec<u8>, _>(0)).transpose()?)
    }
}

fn expert_from_row(r: &sqlx::any::AnyRow) -> StoreResult<Expert> {
    Ok(Expert { id: r.try_get(0)?, name: r.try_get(1)?, organisation_uscc: r.try_get(2)?, created_ms: r.try_get(3)? })
}

impl WriteTx<'_> {
    /// Adds a user (already inserted, with the expert role) to the expert pool.
    pub async fn insert_incentive_expert(&mut self, e: &Expert) -> StoreResult<()> {
        sqlx::query("INSERT INTO incentive_experts (user_id, name, organisation_uscc, created_ms) VALUES ($1, $2, $3, $4)")
            .bind(e.id.clone())
            .bind(e.name.clone())
            .bind(e.organisation_uscc.clone())
            .bind(e.created_ms)
            .execute(self.tx.conn().await?)
            .await?;
        Ok(())
    }

    pub async fn insert_incentive_programme(&mut self, p: &ProgrammeSpec, at_ms: UnixMs) -> StoreResult<()> {
        sqlx::query("INSERT INTO incentive_programmes (code, spec_json, created_ms) VALUES ($1, $2, $3)")
            .bind(p.code.clone())
            .bind(to_json(p))
            .bind(at_ms)
            .execute(self.tx.conn().await?)
            .await?;
        Ok(())
    }

    /// Stores a document under its SHA-256 (a second upload of the same bytes is the same document).
    pub async fn insert_incentive_document(&mut self, sha256: &str, body: &[u8], at_ms: UnixMs) -> StoreResult<()> {
        sqlx::query("INSERT INTO incentive_documents (sha256, body, created_ms) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING")
            .bind(sha256.to_owned())
            .bind(body.to_vec())
            .bind(at_ms)
            .execute(self.tx.conn().await?)
            .await?;
        Ok(())
    }

    pub async fn insert_incentive_application(&mut self, a: &Application) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO incentive_applications (id, programme, tenant_id, provider_id, subject, year, stage, record_json, created_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(a.id.clone())
        .bind(a.programme.clone())
        .bind(match &a.applicant {
            Applicant::Tenant(id) => Some(id.clone()),
            Applicant::Provider(_) => None,
        })
        .bind(match &a.applicant {
            Applicant::Provider(id) => Some(id.clone()),
            Applicant::Tenant(_) => None,
        })
        .bind(a.subject.clone())
        .bind(a.year as i64)
        .bind(a.stage.as_str())
        .bind(to_json(a))
        .bind(a.created_ms)
        .bind(a.updated_ms)
        .execute(self.tx.conn().await?)
        .await?;
        Ok(())
    }

    /// Moves an application to another programme (a successor policy's), only from `from`.
    pub async fn move_incentive_application(&mut self, a: &Application, from: &str) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE incentive_applications SET programme = $1, year = $2, stage = $3, record_json = $4, updated_ms = $5 WHERE id = $6 AND programme = $7",
        )
        .bind(a.programme.clone())
        .bind(a.year as i64)
        .bind(a.stage.as_str())
        .bind(to_json(a))
        .bind(a.updated_ms)
        .bind(a.id.clone())
        .bind(from.to_owned())
        .execute(self.tx.conn().await?)
        .await?;
        changed_meanwhile(done.rows_affected(), a)
    }

    /// Rewrites an application, only if it is still at the stage it was read at.
    pub async fn update_incentive_application(&mut self, a: &Application, was: suanli_incentives::Stage) -> StoreResult<()> {
        let done =
            sqlx::query("UPDATE incentive_applications SET stage = $1, record_json = $2, updated_ms = $3 WHERE id = $4 AND stage = $5")
                .bind(a.stage.as_str())
                .bind(to_json(a))
                .bind(a.updated_ms)
                .bind(a.id.clone())
                .bind(was.as_str())
                .execute(self.tx.conn().await?)
                .await?;
        changed_meanwhile(done.rows_affected(), a)
    }
}
