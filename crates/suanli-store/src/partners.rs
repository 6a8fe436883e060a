//! Partner selection in the store: each centre's partner-status history, the certifications and green-power contracts declared per centre (kept whole as JSON, the centre a column), and the service each centre's jobs received — runs ended and failed by the centre, jobs started and their median wait from placement to start — aggregated in SQL, so no page reads every job.

use crate::{Store, StoreError, StoreResult, WriteTx};
use sqlx::Row;
use suanli_core::centre::PartnerStatus;
use suanli_core::id::CentreId;
use suanli_core::time::UnixMs;
use suanli_incentives::certification::{Certification, GreenPower};
use suanli_incentives::partner::{PartnerChange, PartnerReason};

/// Who changes a centre's partner status, when and why: what its history records beside the
/// change itself.
#[derive(Debug, Clone, Copy)]
pub struct ChangeBy<'a> {
    pub at_ms: UnixMs,
    /// The actor, as audit records name it.
    pub by: &'a str,
    /// The operator's words, if any.
    pub reason: Option<&'a str>,
    /// A round's typed reasons.
    pub reasons: &'a [PartnerReason],
}

const CHANGE_COLUMNS: &str = "centre_id, from_status, to_status, at_ms, actor, reason, reasons_json";

fn change_from_row(r: &sqlx::any::AnyRow) -> StoreResult<PartnerChange> {
    let status = |s: String| PartnerStatus::parse(&s).ok_or_else(|| StoreError::Corrupt(format!("partner status '{s}'")));
    let reasons: Option<String> = r.try_get(6)?;
    Ok(PartnerChange {
        centre_id: r.try_get(0)?,
        from: r.try_get::<Option<String>, _>(1)?.map(status).transpose()?,
        to: status(r.try_get(2)?)?,
        at_ms: r.try_get(3)?,
        by: r.try_get(4)?,
        reason: r.try_get(5)?,
        reasons: reasons.map(|s| json("partner reasons", &s)).transpose()?.unwrap_or_default(),
    })
}

/// The service one centre's jobs received, as the store aggregates it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CentreService {
    /// Jobs that started there (running or done) with a placement and a start on record.
    pub jobs_started: u32,
    /// Of those, the median milliseconds from placement to start (the upper one of an even count).
    pub start_latency_p50_ms: Option<i64>,
    /// Runs that ended there (succeeded or failed), and those failed by the centre's fault.
    pub ended: u32,
    pub centre_faults: u32,
}

fn json<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|_| StoreError::Corrupt(format!("{what} '{}'", s.chars().take(80).collect::<String>())))
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// Jobs whose start counts: placed, then started, in a state at or past running.
const STARTED: &str = "centre_id IS NOT NULL AND placed_ms IS NOT NULL AND started_ms IS NOT NULL AND started_ms >= placed_ms \
     AND state IN ('running', 'succeeded', 'failed', 'cancelled')";

impl Store {
    /// Partner-status changes, newest first (the latest recorded first among changes at one
    /// instant): one centre's, or every centre's.
    pub async fn partner_history(&self, centre: Option<&CentreId>) -> StoreResult<Vec<PartnerChange>> {
        let rows = match centre {
            Some(c) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {CHANGE_COLUMNS} FROM centre_partner_changes WHERE centre_id = $1 ORDER BY at_ms DESC, seq DESC"
                )))
                .bind(c.to_string())
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {CHANGE_COLUMNS} FROM centre_partner_changes ORDER BY at_ms DESC, centre_id, seq DESC"
                )))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(change_from_row).collect()
    }

    /// Certifications declared, oldest first: all, or one centre's.
    pub async fn centre_certifications(&self, centre: Option<&CentreId>) -> StoreResult<Vec<Certification>> {
        let rows = match centre {
            Some(c) => {
                sqlx::query("SELECT record_json FROM centre_certifications WHERE centre_id = $1 ORDER BY declared_ms, id")
                    .bind(c.to_string())
                    .fetch_all(&self.pool)
                    .await?
            }
            None => sqlx::query("SELECT record_json FROM centre_certifications ORDER BY declared_ms, id").fetch_all(&self.pool).await?,
        };
        rows.iter().map(|r| json("certification", &r.try_get::<String, _>(0)?)).collect()
    }

    /// Green-power contracts declared, oldest first: all, or one centre's.
    pub async fn centre_green_power(&self, centre: Option<&CentreId>) -> StoreResult<Vec<GreenPower>> {
        let rows = match centre {
            Some(c) => {
                sqlx::query("SELECT record_json FROM centre_green_power WHERE centre_id = $1 ORDER BY declared_ms, id")
                    .bind(c.to_string())
                    .fetch_all(&self.pool)
                    .await?
            }
            None => sqlx::query("SELECT record_json FROM centre_green_power ORDER BY declared_ms, id").fetch_all(&self.pool).await?,
        };
        rows.iter().map(|r| json("green-power contract", &r.try_get::<String, _>(0)?)).collect()
    }

    /// Every centre's service figures, by centre id (centres without jobs are absent). Two
    /// grouped reads over indexes in centre order (migration 26): each centre's start latencies,
    /// whose middle one once sorted is its median (a window function over every started job took
    /// SQLite ten times as long), and the faults by a count.
    pub async fn centre_service(&self) -> StoreResult<std::collections::HashMap<String, CentreService>> {
        let mut out: std::collections::HashMap<String, CentreService> = std::collections::HashMap::new();
        // SQLite, with no statistics gathered, prefers the index on state and sorts every row
        // (25x slower here): it is told which index to read.
        let by = |index: &str| self.indexed_by(index);
        // One row a centre with its start latencies joined into one text: a row each would cost
        // more in the driver than the whole scan does in the database. The two scans run at once,
        // each on its own connection.
        let latencies_sql = format!(
            "SELECT centre_id, string_agg(CAST(started_ms - placed_ms AS TEXT), ',') FROM jobs{} WHERE {STARTED} GROUP BY centre_id",
            by("jobs_start_latency")
        );
        let faults_sql = format!(
            "SELECT centre_id, COUNT(*), CAST(COALESCE(SUM(CASE WHEN state = 'failed' AND fault = 'centre' THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM jobs{} WHERE centre_id IS NOT NULL AND state IN ('succeeded', 'failed') GROUP BY centre_id",
            by("jobs_service")
        );
        let (latencies, faults) = tokio::try_join!(
            sqlx::query(sqlx::AssertSqlSafe(latencies_sql)).fetch_all(&self.pool),
            sqlx::query(sqlx::AssertSqlSafe(faults_sql)).fetch_all(&self.pool),
        )?;
        for r in &latencies {
            let joined: String = r.try_get(1)?;
            let mut ms = joined
                .split(',')
                .map(|v| v.parse::<i64>().map_err(|_| crate::StoreError::Corrupt(format!("a start latency '{v}'"))))
                .collect::<Result<Vec<i64>, _>>()?;
            ms.sort_unstable();
            let s = out.entry(r.try_get(0)?).or_default();
            s.jobs_started = ms.len() as u32;
            s.start_latency_p50_ms = ms.get(ms.len() / 2).copied();
        }
        for r in &faults {
            let s = out.entry(r.try_get(0)?).or_default();
            s.ended = r.try_get::<i64, _>(1)? as u32;
            s.centre_faults = r.try_get::<i64, _>(2)? as u32;
        }
        Ok(out)
    }
}

impl WriteTx<'_> {
    /// One entry of a centre's partner-status history, numbered after the centre's last (the
    /// caller has just written the centre's row, which holds the other writers off it).
    pub(crate) async fn record_partner_change(
        &mut self,
        centre: &CentreId,
        from: Option<PartnerStatus>,
        to: PartnerStatus,
        change: &ChangeBy<'_>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO centre_partner_changes (centre_id, seq, from_status, to_status, at_ms, actor, reason, reasons_json) \
             SELECT $1, COALESCE(MAX(seq), -1) + 1, $2, $3, $4, $5, $6, $7 FROM centre_partner_changes WHERE centre_id = $1",
        )
        .bind(centre.to_string())
        .bind(from.map(|s| s.as_str().to_string()))
        .bind(to.as_str())
        .bind(change.at_ms)
        .bind(change.by.to_string())
        .bind(change.reason.map(str::to_string))
        .bind((!change.reasons.is_empty()).then(|| to_json(&change.reasons)))
        .execute(self.tx.conn().await?)
        .await?;
        Ok(())
    }

    pub async fn insert_certification(&mut self, c: &Certification) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO centre_certifications (id, centre_id, kind, expires_on, record_json, declared_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(c.id.clone())
        .bind(c.centre_id.clone())
        .bind(c.kind.as_str())
        .bind(c.expires_on.clone())
        .bind(to_json(c))
        .bind(c.declared_ms)
        .execute(self.tx.conn().await?)
        .await?;
        Ok(())
    }

    pub async fn insert_green_power(&mut self, g: &GreenPower) -> StoreResult<()> {
        sqlx::query("INSERT INTO centre_green_power (id, centre_id, share_pct, record_json, declared_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(g.id.clone())
            .bind(g.centre_id.clone())
            .bind(g.share_pct)
            .bind(to_json(g))
            .bind(g.declared_ms)
            .execute(self.tx.conn().await?)
            .await?;
        Ok(())
    }
}
