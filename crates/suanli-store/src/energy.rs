//! Energy telemetry rows: the meters of each data centre and the readings the energy book accepted.
//!
//! Only accepted readings are stored; the book is rebuilt on start by replaying them in time
//! order per meter. Inserts are idempotent (`ON CONFLICT DO NOTHING`), so a retried batch or a
//! duplicate reading writes nothing new. Readings go in as literal multi-row INSERTs like the
//! ledger's history: every value is a number, a validated id (ASCII letters, digits and `-_.:/`)
//! quoted by [`sql_text`], so nothing else reaches the SQL text.

use crate::ledger::sql_text;
use crate::{Store, StoreError, StoreResult, WriteTx};
use sqlx::{AssertSqlSafe, Row};
use std::fmt::Write;
use suanli_core::id::CentreId;
use suanli_energy::{Category, Meter, MeterId, MeterKind, MeterUnit, Reading, ReadingValue};

const ROWS_PER_INSERT: usize = 1_000;

/// A meter's kind as stored: its name and, for IT meters, the measurement category.
fn kind_to_row(kind: MeterKind) -> (&'static str, Option<i64>) {
    match kind {
        MeterKind::FacilityTotal => ("facility_total", None),
        MeterKind::It { category } => ("it", Some(category.number() as i64)),
        MeterKind::Cooling => ("cooling", None),
        MeterKind::Renewable => ("renewable", None),
        MeterKind::Water => ("water", None),
    }
}

fn kind_from_row(kind: &str, category: Option<i64>) -> StoreResult<MeterKind> {
    Ok(match kind {
        "facility_total" => MeterKind::FacilityTotal,
        "it" => {
            let n = category.and_then(|c| u8::try_from(c).ok()).unwrap_or(0);
            MeterKind::It { category: Category::try_from(n).map_err(StoreError::Corrupt)? }
        }
        "cooling" => MeterKind::Cooling,
        "renewable" => MeterKind::Renewable,
        "water" => MeterKind::Water,
        other => return Err(StoreError::Corrupt(format!("unknown meter kind '{other}'"))),
    })
}

fn unit_to_row(unit: MeterUnit) -> &'static str {
    match unit {
        MeterUnit::CumulativeKwh => "cumulative_kwh",
        MeterUnit::InstantKw => "instant_kw",
        MeterUnit::CumulativeM3 => "cumulative_m3",
    }
}

fn unit_from_row(unit: &str) -> StoreResult<MeterUnit> {
    Ok(match unit {
        "cumulative_kwh" => MeterUnit::CumulativeKwh,
        "instant_kw" => MeterUnit::InstantKw,
        "cumulative_m3" => MeterUnit::CumulativeM3,
        other => return Err(StoreError::Corrupt(format!("unknown meter unit '{other}'"))),
    })
}

/// A reading's value in the meter's unit.
pub fn value_of(unit: MeterUnit, v: f64) -> ReadingValue {
    match unit {
        MeterUnit::CumulativeKwh => ReadingValue::CumulativeKwh(v),
        MeterUnit::InstantKw => ReadingValue::InstantKw(v),
        MeterUnit::CumulativeM3 => ReadingValue::CumulativeM3(v),
    }
}

/// Everything stored about energy, for rebuilding the book on start.
#[derive(Debug, Default)]
pub struct EnergyRows {
    /// Meters by data centre, in meter order.
    pub meters: Vec<(CentreId, Meter)>,
    /// Accepted readings, by data centre, meter and time.
    pub readings: Vec<(CentreId, Reading)>,
}

impl Store {
    /// The stored meters of every data centre.
    pub async fn energy_meters(&self) -> StoreResult<Vec<(CentreId, Meter)>> {
        let rows = sqlx::query("SELECT centre_id, meter, kind, category, unit FROM energy_meters ORDER BY centre_id, meter")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let centre: CentreId = crate::rows::parse_id(r.get::<String, _>(0))?;
                let id = MeterId::parse(&r.get::<String, _>(1)).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let kind = kind_from_row(&r.get::<String, _>(2), r.get::<Option<i64>, _>(3))?;
                let unit = unit_from_row(&r.get::<String, _>(4))?;
                Ok((centre, Meter { id, kind, unit }))
            })
            .collect()
    }

    /// Meters and accepted readings (by data centre, meter and time), to rebuild the energy book.
    pub async fn energy_rows(&self) -> StoreResult<EnergyRows> {
        let meters = self.energy_meters().await?;
        let rows = sqlx::query("SELECT centre_id, meter, ts_ms, value FROM energy_readings ORDER BY centre_id, meter, ts_ms")
            .fetch_all(&self.pool)
            .await?;
        let mut readings = Vec::with_capacity(rows.len());
        let mut last: Option<(String, String, MeterUnit, CentreId, MeterId)> = None;
        for r in &rows {
            let (centre, meter): (String, String) = (r.get(0), r.get(1));
            let cached = last.as_ref().is_some_and(|(c, m, ..)| *c == centre && *m == meter);
            if !cached {
                let id: CentreId = crate::rows::parse_id(centre.clone())?;
                let mid = MeterId::parse(&meter).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let unit = meters
                    .iter()
                    .find(|(c, m)| *c == id && m.id == mid)
                    .map(|(_, m)| m.unit)
                    .ok_or_else(|| StoreError::Corrupt(format!("reading of unregistered meter {centre}/{meter}")))?;
                last = Some((centre, meter, unit, id, mid));
            }
            let Some((_, _, unit, id, mid)) = &last else { continue };
            readings
                .push((id.clone(), Reading { meter: mid.clone(), ts_ms: r.get::<i64, _>(2), value: value_of(*unit, r.get::<f64, _>(3)) }));
        }
        Ok(EnergyRows { meters, readings })
    }

    /// Stored readings of a data centre with `from_ms <= ts_ms <= to_ms`: (meter, ts_ms, value).
    pub async fn energy_readings_between(&self, centre: &CentreId, from_ms: i64, to_ms: i64) -> StoreResult<Vec<(String, i64, f64)>> {
        let rows = sqlx::query("SELECT meter, ts_ms, value FROM energy_readings WHERE centre_id = $1 AND ts_ms >= $2 AND ts_ms <= $3")
            .bind(centre.to_string())
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1), r.get::<f64, _>(2))).collect())
    }

    /// How many readings are stored for a data centre (tests and diagnostics).
    pub async fn energy_reading_count(&self, centre: &CentreId) -> StoreResult<i64> {
        let row =
            sqlx::query("SELECT COUNT(*) FROM energy_readings WHERE centre_id = $1").bind(centre.to_string()).fetch_one(&self.pool).await?;
        Ok(row.get::<i64, _>(0))
    }

    /// How many readings are stored, over all centres.
    pub async fn energy_reading_total(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM energy_readings").fetch_one(&self.pool).await?;
        Ok(row.get::<i64, _>(0))
    }
}

impl WriteTx<'_> {
    /// Registers meters of a data centre; a meter already stored is left as it is.
    pub async fn upsert_energy_meters(&mut self, centre: &CentreId, meters: &[Meter]) -> StoreResult<()> {
        for m in meters {
            let (kind, category) = kind_to_row(m.kind);
            sqlx::query(
                "INSERT INTO energy_meters (centre_id, meter, kind, category, unit) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (centre_id, meter) DO NOTHING",
            )
            .bind(centre.to_string())
            .bind(m.id.to_string())
            .bind(kind)
            .bind(category)
            .bind(unit_to_row(m.unit))
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Inserts accepted readings of a data centre; one already stored (same meter and time) is
    /// left as it is. Values must be finite (the book refuses the others).
    pub async fn insert_energy_readings(&mut self, centre: &CentreId, readings: &[Reading]) -> StoreResult<()> {
        let centre = sql_text(centre.as_str());
        for chunk in readings.chunks(ROWS_PER_INSERT) {
            let mut sql = String::with_capacity(100 + chunk.len() * 80);
            sql.push_str("INSERT INTO energy_readings (centre_id, meter, ts_ms, value) VALUES ");
            for (i, r) in chunk.iter().enumerate() {
                let v = r.value.value();
                if !v.is_finite() {
                    return Err(StoreError::Corrupt(format!("reading {} at {} is not finite", r.meter, r.ts_ms)));
                }
                if i > 0 {
                    sql.push(',');
                }
                // `{:?}` of an f64 is its shortest round-trip form with a decimal point or exponent.
                let _ = write!(sql, "({centre},{},{},{:?})", sql_text(r.meter.as_str()), r.ts_ms, v);
            }
            sql.push_str(" ON CONFLICT (centre_id, meter, ts_ms) DO NOTHING");
            sqlx::query(AssertSqlSafe(sql)).execute(&mut *self.tx).await?;
        }
        Ok(())
    }
}
