//! Energy telemetry rows: the meters of each data centre and the readings the energy book accepted.
//!
//! Only accepted readings are stored; the book is rebuilt on start by replaying them in time
//! order per meter. The readings of one commit are one appended row of `energy_blocks`: since
//! migration 32 packed in binary in its `packed` column (see [`crate::packed`]); rows written
//! before hold each centre's and meter's readings as `dt:value` text in `data`, and the
//! single-reading rows of `energy_readings` that the earliest stores hold are still read too.
//! Readers keep one reading per meter and time, so a retried batch changes nothing.

use crate::packed;
use crate::{Store, StoreError, StoreResult, WriteTx};
use sqlx::AnyConnection;
use sqlx::{AssertSqlSafe, Row};
use std::collections::HashMap;
use std::fmt::Write;
use suanli_core::id::CentreId;
use suanli_energy::{Category, Meter, MeterId, MeterKind, MeterUnit, Reading, ReadingValue};

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
    /// The highest block number among the blocks read: the readings stored after it are
    /// [`Store::energy_readings_after`] this mark.
    pub mark: i64,
}

/// [`Store::energy_meters`] on a connection (a snapshot's, see [`Store::read_snapshot`]).
async fn energy_meters_on(c: &mut AnyConnection) -> StoreResult<Vec<(CentreId, Meter)>> {
    let rows =
        sqlx::query("SELECT centre_id, meter, kind, category, unit FROM energy_meters ORDER BY centre_id, meter").fetch_all(c).await?;
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

impl Store {
    /// The stored meters of every data centre.
    pub async fn energy_meters(&self) -> StoreResult<Vec<(CentreId, Meter)>> {
        energy_meters_on(&mut *self.pool.acquire().await?).await
    }

    /// The registered energy facts of data centres: cooling (as its snake_case name) and rated
    /// facility capacity in kW.
    pub async fn energy_facts(&self) -> StoreResult<Vec<(CentreId, String, f64)>> {
        let rows = sqlx::query("SELECT centre_id, cooling, rated_kw FROM energy_facts ORDER BY centre_id").fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((crate::rows::parse_id(r.get::<String, _>(0))?, r.get::<String, _>(1), r.get::<f64, _>(2)))).collect()
    }

    /// Meters and accepted readings (by data centre, meter and time), to rebuild the energy book,
    /// in one snapshot: read apart, a meter registered with its first readings between the two
    /// reads would make its readings look like those of an unregistered meter.
    pub async fn energy_rows(&self) -> StoreResult<EnergyRows> {
        let mut tx = self.read_snapshot().await?;
        let meters = energy_meters_on(&mut tx).await?;
        let (raw, mark) = self.raw_readings(&mut tx, None, i64::MIN, i64::MAX).await?;
        tx.rollback().await?;
        let units: HashMap<(String, String), MeterUnit> = meters.iter().map(|(c, m)| ((c.to_string(), m.id.to_string()), m.unit)).collect();
        let mut readings = Vec::with_capacity(raw.len());
        let mut last: Option<(&str, &str, MeterUnit, CentreId, MeterId)> = None;
        for (centre, meter, ts, v) in &raw {
            let cached = last.as_ref().is_some_and(|(c, m, ..)| c == centre && m == meter);
            if !cached {
                let unit = *units
                    .get(&(centre.clone(), meter.clone()))
                    .ok_or_else(|| StoreError::Corrupt(format!("reading of unregistered meter {centre}/{meter}")))?;
                let id: CentreId = crate::rows::parse_id(centre.clone())?;
                let mid = MeterId::parse(meter).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                last = Some((centre, meter, unit, id, mid));
            }
            let Some((_, _, unit, id, mid)) = &last else { continue };
            readings.push((id.clone(), Reading { meter: mid.clone(), ts_ms: *ts, value: value_of(*unit, *v) }));
        }
        Ok(EnergyRows { meters, readings, mark })
    }

    /// Stored readings (of one centre, or all) with `from_ms <= ts <= to_ms` as (centre, meter,
    /// ts, value), from blocks and from single-reading rows, by centre, meter and time, each
    /// (centre, meter, time) once; with the highest number of the blocks read.
    async fn raw_readings(
        &self,
        c: &mut AnyConnection,
        centre: Option<&CentreId>,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<(Vec<(String, String, i64, f64)>, i64)> {
        let (legacy, blocks) = match centre {
            Some(centre) => (
                sqlx::query(
                    "SELECT centre_id, meter, ts_ms, value FROM energy_readings WHERE centre_id = $1 AND ts_ms >= $2 AND ts_ms <= $3",
                )
                .bind(centre.to_string())
                .bind(from_ms)
                .bind(to_ms)
                .fetch_all(&mut *c)
                .await?,
                sqlx::query(
                    AssertSqlSafe(format!(
                        "SELECT centre_id, meter, first_ms, data, packed, {} FROM energy_blocks WHERE (centre_id = $1 OR centre_id = '*') AND first_ms <= $2 AND last_ms >= $3",
                        self.block_seq()
                    )),
                )
                .bind(centre.to_string())
                .bind(to_ms)
                .bind(from_ms)
                .fetch_all(&mut *c)
                .await?,
            ),
            None => (
                sqlx::query("SELECT centre_id, meter, ts_ms, value FROM energy_readings").fetch_all(&mut *c).await?,
                sqlx::query(AssertSqlSafe(format!("SELECT centre_id, meter, first_ms, data, packed, {} FROM energy_blocks", self.block_seq())))
                    .fetch_all(&mut *c)
                    .await?,
            ),
        };
        let mut out: Vec<(String, String, i64, f64)> = legacy.iter().map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))).collect();
        let mark = blocks.iter().map(|r| r.get::<i64, _>(5)).max().unwrap_or(0);
        for row in &blocks {
            decode_block_row(&BlockRow::of(row), centre.map(|c| c.as_str()), from_ms, to_ms, &mut out)?;
        }
        out.sort_by(|a, b| (&a.0, &a.1, a.2).cmp(&(&b.0, &b.1, b.2)));
        out.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1 && a.2 == b.2);
        Ok((out, mark))
    }

    /// The highest sequence number of the stored reading blocks (0 when there are none): a
    /// follower's energy book has replayed the blocks up to a mark, and reads on from it.
    pub async fn energy_block_mark(&self) -> StoreResult<i64> {
        let sql = format!("SELECT COALESCE(MAX({}), 0) FROM energy_blocks", self.block_seq());
        Ok(sqlx::query(AssertSqlSafe(sql)).fetch_one(&self.pool).await?.get::<i64, _>(0))
    }

    /// Accepted readings of the blocks stored after `mark` and up to `upto`, in the order they
    /// were committed, as (centre, reading). The leader's one energy writer commits blocks one
    /// transaction after another, and a fenced ex-leader's transaction ends before the lease
    /// can change hands, so block numbers grow in commit order and a reader that has seen up to
    /// a mark misses nothing below it.
    pub async fn energy_readings_after(&self, mark: i64, upto: i64) -> StoreResult<Vec<(CentreId, Reading)>> {
        let sql = format!(
            "SELECT centre_id, meter, first_ms, data, packed FROM energy_blocks WHERE {seq} > $1 AND {seq} <= $2 ORDER BY {seq}",
            seq = self.block_seq()
        );
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(mark).bind(upto).fetch_all(&self.pool).await?;
        let mut raw = Vec::new();
        for row in &rows {
            decode_block_row(&BlockRow::of(row), None, i64::MIN, i64::MAX, &mut raw)?;
        }
        let units: HashMap<(String, String), MeterUnit> =
            self.energy_meters().await?.iter().map(|(c, m)| ((c.to_string(), m.id.to_string()), m.unit)).collect();
        raw.iter()
            .map(|(centre, meter, ts, v)| {
                let unit = units
                    .get(&(centre.clone(), meter.clone()))
                    .ok_or_else(|| StoreError::Corrupt(format!("reading of unregistered meter {centre}/{meter}")))?;
                let mid = MeterId::parse(meter).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok((crate::rows::parse_id(centre.clone())?, Reading { meter: mid, ts_ms: *ts, value: value_of(*unit, *v) }))
            })
            .collect()
    }

    /// The column that numbers reading blocks in commit order: PostgreSQL's `seq` (migration
    /// 18), SQLite's rowid (one process, which appends).
    fn block_seq(&self) -> &'static str {
        match self.dialect {
            crate::Dialect::Sqlite => "rowid",
            crate::Dialect::Postgres => "seq",
        }
    }

    /// Stored readings of a data centre with `from_ms <= ts_ms <= to_ms`: (meter, ts_ms, value).
    pub async fn energy_readings_between(&self, centre: &CentreId, from_ms: i64, to_ms: i64) -> StoreResult<Vec<(String, i64, f64)>> {
        Ok(self
            .raw_readings(&mut *self.pool.acquire().await?, Some(centre), from_ms, to_ms)
            .await?
            .0
            .into_iter()
            .map(|(_, m, t, v)| (m, t, v))
            .collect())
    }

    /// How many readings are stored for a data centre (tests and diagnostics).
    pub async fn energy_reading_count(&self, centre: &CentreId) -> StoreResult<i64> {
        Ok(self.raw_readings(&mut *self.pool.acquire().await?, Some(centre), i64::MIN, i64::MAX).await?.0.len() as i64)
    }

    /// How many readings are stored, over all centres.
    pub async fn energy_reading_total(&self) -> StoreResult<i64> {
        Ok(self.raw_readings(&mut *self.pool.acquire().await?, None, i64::MIN, i64::MAX).await?.0.len() as i64)
    }
}

/// The centre and meter of a row of `energy_blocks` that holds a whole batch.
const BATCH_ROW: &str = "*";

/// Appends a batch row (centre and meter [`BATCH_ROW`]); binds first, last, n and the packed
/// block, which is bound rather than spliced in, so SQLite tokenises no statement of megabytes.
const INSERT_BATCH_ROW: &str =
    "INSERT INTO energy_blocks (centre_id, meter, first_ms, last_ms, n, data, packed) VALUES ('*', '*', $1, $2, $3, '', $4)";

/// A text block's readings (rows written before migration 32): `dt:value` pairs joined by
/// commas, `dt` the milliseconds after the block's first reading `first`.
fn decode_block(first: i64, data: &str) -> Result<Vec<(i64, f64)>, String> {
    data.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (dt, v) = p.split_once(':').ok_or_else(|| format!("'{p}' is not dt:value"))?;
            let dt: i64 = dt.parse().map_err(|e| format!("'{dt}': {e}"))?;
            let v: f64 = v.parse().map_err(|e| format!("'{v}': {e}"))?;
            Ok((first + dt, v))
        })
        .collect()
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
            .execute(self.tx.conn().await?)
            .await?;
        }
        Ok(())
    }

    /// Registers (or replaces) a data centre's cooling and rated capacity.
    pub async fn upsert_energy_facts(&mut self, centre: &CentreId, cooling: &str, rated_kw: f64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO energy_facts (centre_id, cooling, rated_kw) VALUES ($1, $2, $3) \
             ON CONFLICT (centre_id) DO UPDATE SET cooling = excluded.cooling, rated_kw = excluded.rated_kw",
        )
        .bind(centre.to_string())
        .bind(cooling.to_owned())
        .bind(rated_kw)
        .execute(self.tx.conn().await?)
        .await?;
        Ok(())
    }

    /// Replaces a data centre's registered meters with `meters` (the caller keeps every meter
    /// that has readings).
    pub async fn replace_energy_meters(&mut self, centre: &CentreId, meters: &[Meter]) -> StoreResult<()> {
        sqlx::query("DELETE FROM energy_meters WHERE centre_id = $1").bind(centre.to_string()).execute(self.tx.conn().await?).await?;
        self.upsert_energy_meters(centre, meters).await
    }

    /// Inserts accepted readings of a data centre; one already stored (same meter and time) is
    /// left as it is. Values must be finite (the book refuses the others).
    pub async fn insert_energy_readings(&mut self, centre: &CentreId, readings: &[Reading]) -> StoreResult<()> {
        self.insert_energy_readings_many(&[(centre, readings)]).await
    }

    /// As [`WriteTx::insert_energy_readings`] for many centres, as one appended row of
    /// `energy_blocks`; see [`EncodedReadings`].
    pub async fn insert_energy_readings_many(&mut self, batches: &[(&CentreId, &[Reading])]) -> StoreResult<()> {
        let encoded = EncodedReadings::encode(batches)?;
        self.insert_energy_blocks(&[&encoded]).await
    }

    /// Appends encoded readings as one row of `energy_blocks` (nothing when they hold none).
    pub async fn insert_energy_blocks(&mut self, parts: &[&EncodedReadings]) -> StoreResult<()> {
        let Some(row) = EncodedReadings::joined(parts) else {
            return Ok(());
        };
        sqlx::query(INSERT_BATCH_ROW)
            .bind(row.first)
            .bind(row.last)
            .bind(row.n as i64)
            .bind(row.data)
            .execute(self.tx.conn().await?)
            .await?;
        Ok(())
    }
}

/// Accepted readings of many centres packed for one appended row of `energy_blocks` (centre
/// and meter `*`): one segment of [`crate::packed`], each run of a centre's readings of one
/// meter a part. One short statement however many centres and meters, and few pages a batch.
/// A reading stored twice is read once (readers keep the first of a meter and time), so a
/// batch sent again changes nothing. Senders encode their own batches, so the one writer only
/// joins their segments.
#[derive(Debug, Clone, Default)]
pub struct EncodedReadings {
    /// One segment; a joined row begins with the version byte.
    data: Vec<u8>,
    first: i64,
    last: i64,
    n: usize,
}

impl EncodedReadings {
    /// Encodes readings by centre; a value that is not finite is refused (the book refuses them).
    pub fn encode(batches: &[(&CentreId, &[Reading])]) -> StoreResult<Self> {
        let all = || batches.iter().flat_map(|(_, r)| r.iter());
        if let Some(r) = all().find(|r| !r.value.value().is_finite()) {
            return Err(StoreError::Corrupt(format!("reading {} at {} is not finite", r.meter, r.ts_ms)));
        }
        let (first, last, n) = all().fold((i64::MAX, i64::MIN, 0), |(f, l, n), r| (f.min(r.ts_ms), l.max(r.ts_ms), n + 1));
        let mut out = EncodedReadings { data: Vec::new(), first, last, n };
        if n == 0 {
            return Ok(out);
        }
        let mut segment = packed::Segment::new(first, n);
        for (centre, readings) in batches {
            for run in readings.chunk_by(|a, b| a.meter == b.meter) {
                segment.part(centre.as_str(), run[0].meter.as_str(), run.iter().map(|r| (r.ts_ms, r.value.value())));
            }
        }
        segment.finish(&mut out.data);
        Ok(out)
    }

    /// How many readings it holds.
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The parts as one row, or `None` when they hold no reading.
    fn joined(parts: &[&EncodedReadings]) -> Option<EncodedReadings> {
        let parts: Vec<&&EncodedReadings> = parts.iter().filter(|p| !p.is_empty()).collect();
        let mut row = EncodedReadings {
            data: Vec::with_capacity(1 + parts.iter().map(|p| p.data.len()).sum::<usize>()),
            first: i64::MAX,
            last: i64::MIN,
            n: 0,
        };
        row.data.push(packed::VERSION);
        for p in &parts {
            row.data.extend_from_slice(&p.data);
            (row.first, row.last, row.n) = (row.first.min(p.first), row.last.max(p.last), row.n + p.n);
        }
        (row.n > 0).then_some(row)
    }
}

impl Store {
    /// Stores what the energy writer's group commit carries in one transaction: the meters of
    /// centres stored for the first time, the encoded readings and the audit records. On SQLite
    /// without new meters the transaction goes to the connection as one script (`BEGIN
    /// IMMEDIATE` to `COMMIT`, the readings bound to its insert), one round trip to its worker
    /// thread instead of four; it is rolled back if any statement fails. Otherwise, and on
    /// PostgreSQL (whose writes check the leader's lease), statement by statement.
    pub async fn append_energy(
        &self,
        meters: &[(&CentreId, &[Meter])],
        readings: &[&EncodedReadings],
        audits: &[&crate::Audit],
    ) -> StoreResult<()> {
        if self.dialect == crate::Dialect::Sqlite && meters.is_empty() {
            return self.append_energy_script(readings, audits).await;
        }
        let mut tx = self.begin_as(crate::Writer::Energy).await?;
        for (centre, meters) in meters {
            tx.upsert_energy_meters(centre, meters).await?;
        }
        tx.insert_energy_blocks(readings).await?;
        tx.audit_many(audits).await?;
        tx.commit().await
    }

    async fn append_energy_script(&self, readings: &[&EncodedReadings], audits: &[&crate::Audit]) -> StoreResult<()> {
        let row = EncodedReadings::joined(readings);
        let mut script = String::with_capacity(256 + audits.len() * 512);
        script.push_str("BEGIN IMMEDIATE;\n");
        if row.is_some() {
            let _ = writeln!(script, "{INSERT_BATCH_ROW};");
        }
        for chunk in audits.chunks(1_000) {
            script.push_str(&crate::ledger::audit_insert(chunk));
            script.push_str(";\n");
        }
        script.push_str("COMMIT;");
        let mut query = sqlx::query(AssertSqlSafe(script)).persistent(false);
        if let Some(r) = row {
            query = query.bind(r.first).bind(r.last).bind(r.n as i64).bind(r.data);
        }
        let writer = self.write_lock.as_ref().ok_or_else(|| StoreError::Corrupt("a SQLite store without its writer".into()))?;
        let asked = std::time::Instant::now();
        let mut conn = writer.lock().await?;
        let _open = self.write_stats.begun(crate::Writer::Energy, asked);
        let result = query.execute(&mut *conn).await;
        if let Err(e) = result {
            // A statement failed inside the script: end its transaction before the next writer
            // takes the connection, or close the connection if even that fails.
            if sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.is_err() {
                conn.discard();
            }
            return Err(e.into());
        }
        Ok(())
    }
}

/// A row of `energy_blocks` as read: (centre, meter, first, data, packed) in the select.
struct BlockRow {
    centre: String,
    meter: String,
    first: i64,
    data: String,
    packed: Option<Vec<u8>>,
}

impl BlockRow {
    fn of(r: &sqlx::any::AnyRow) -> Self {
        BlockRow { centre: r.get(0), meter: r.get(1), first: r.get(2), data: r.get(3), packed: r.get(4) }
    }
}

/// Readings of a stored block row with `from_ms <= ts <= to_ms`, of one centre when `wanted`
/// names it, appended to `out` as (centre, meter, ts, value). A packed row is read by
/// [`packed::read`]; a text batch row (centre `*`) holds `centre|meter|first|block` parts joined
/// by `;`, and any other text row one meter's block.
fn decode_block_row(
    row: &BlockRow,
    wanted: Option<&str>,
    from_ms: i64,
    to_ms: i64,
    out: &mut Vec<(String, String, i64, f64)>,
) -> StoreResult<()> {
    let BlockRow { centre: c, meter: m, first, data, packed } = row;
    let corrupt = |e: String| StoreError::Corrupt(format!("energy block {c}/{m}@{first}: {e}"));
    if let Some(bytes) = packed {
        return packed::read(bytes, wanted, |pc, pm, ts, v| {
            if (from_ms..=to_ms).contains(&ts) {
                out.push((pc.to_string(), pm.to_string(), ts, v));
            }
        })
        .map_err(corrupt);
    }
    if c != BATCH_ROW {
        for (ts, v) in decode_block(*first, data).map_err(corrupt)? {
            if (from_ms..=to_ms).contains(&ts) {
                out.push((c.clone(), m.clone(), ts, v));
            }
        }
        return Ok(());
    }
    for part in data.split(';').filter(|p| !p.is_empty()) {
        let mut f = part.splitn(4, '|');
        let (Some(pc), Some(pm), Some(pf), Some(block)) = (f.next(), f.next(), f.next(), f.next()) else {
            return Err(corrupt(format!("'{}' is not centre|meter|first|readings", part.chars().take(80).collect::<String>())));
        };
        if wanted.is_some_and(|w| w != pc) {
            continue;
        }
        let pf: i64 = pf.parse().map_err(|e| corrupt(format!("first '{pf}': {e}")))?;
        for (ts, v) in decode_block(pf, block).map_err(corrupt)? {
            if (from_ms..=to_ms).contains(&ts) {
                out.push((pc.to_string(), pm.to_string(), ts, v));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use suanli_energy::{MeterId, ReadingValue};

    fn decoded(row: BlockRow, wanted: Option<&str>) -> Vec<(String, String, i64, f64)> {
        let mut out = Vec::new();
        decode_block_row(&row, wanted, 1_000, 20_000, &mut out).unwrap();
        out
    }

    /// Rows written before migration 32 hold text, and still read: a batch row of parts and a
    /// one-meter row; readings outside the span asked for are left out.
    #[test]
    fn text_rows_of_earlier_stores_still_read() {
        let text = |centre: &str, meter: &str, first: i64, data: &str| BlockRow {
            centre: centre.into(),
            meter: meter.into(),
            first,
            data: data.into(),
            packed: None,
        };
        let batch = text(BATCH_ROW, BATCH_ROW, 0, "ctr_a|facility|1000|0:1.5,1000:2.25e0;ctr_b|it|500|0:7,500:8");
        let t = |c: &str, m: &str, ts: i64, v: f64| (c.to_string(), m.to_string(), ts, v);
        assert_eq!(
            decoded(batch, None),
            [t("ctr_a", "facility", 1_000, 1.5), t("ctr_a", "facility", 2_000, 2.25), t("ctr_b", "it", 1_000, 8.0)]
        );
        let batch = text(BATCH_ROW, BATCH_ROW, 0, "ctr_a|facility|1000|0:1.5;ctr_b|it|1000|0:7");
        assert_eq!(decoded(batch, Some("ctr_b")), [t("ctr_b", "it", 1_000, 7.0)]);
        assert_eq!(
            decoded(text("ctr_c", "it", 19_000, "0:1,1000:2,2000:3"), None),
            [t("ctr_c", "it", 19_000, 1.0), t("ctr_c", "it", 20_000, 2.0)]
        );
        let mut out = Vec::new();
        assert!(decode_block_row(&text(BATCH_ROW, BATCH_ROW, 0, "ctr_a|it"), None, 0, 1, &mut out).is_err());
    }

    /// Encoded batches joined into a row read back as packed: every reading of every centre,
    /// whatever order its meters come in.
    #[test]
    fn joined_batches_read_back() {
        let (facility, it) = (MeterId::parse("facility").unwrap(), MeterId::parse("it").unwrap());
        let reading = |m: &MeterId, ts: i64, v: f64| Reading::new(m, ts, ReadingValue::CumulativeKwh(v));
        let a = CentreId::generate(1, 1);
        let b = CentreId::generate(2, 2);
        let one = [reading(&facility, 2_000, 1.0), reading(&it, 2_000, 0.5), reading(&facility, 3_000, 1.25)];
        let two = [reading(&it, 1_000, 0.1 + 0.2)];
        let (e1, e2) = (EncodedReadings::encode(&[(&a, &one)]).unwrap(), EncodedReadings::encode(&[(&b, &two)]).unwrap());
        let row = EncodedReadings::joined(&[&e1, &EncodedReadings::default(), &e2]).unwrap();
        assert_eq!((row.first, row.last, row.n), (1_000, 3_000, 4));
        let packed =
            BlockRow { centre: BATCH_ROW.into(), meter: BATCH_ROW.into(), first: row.first, data: String::new(), packed: Some(row.data) };
        let t = |c: &CentreId, m: &str, ts: i64, v: f64| (c.to_string(), m.to_string(), ts, v);
        assert_eq!(
            decoded(packed, None),
            [t(&a, "facility", 2_000, 1.0), t(&a, "it", 2_000, 0.5), t(&a, "facility", 3_000, 1.25), t(&b, "it", 1_000, 0.1 + 0.2)]
        );
        assert!(EncodedReadings::joined(&[&EncodedReadings::default()]).is_none());
        let nan = [reading(&it, 1_000, f64::NAN)];
        assert!(EncodedReadings::encode(&[(&a, &nan)]).is_err());
    }
}
