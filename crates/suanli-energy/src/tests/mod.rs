//! Unit tests with hand-computed figures: helpers shared by the ingest and the assessment tests.

use crate::grade::{GradeThresholds, PolicyConfig, grade, policy_check};
use crate::lifecycle::{LifecycleConfig, LifecycleInput, assess};
use crate::*;
use std::collections::BTreeMap;
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::CentreId;
use suanli_core::time::{MS_PER_DAY, parse_date};

const MIN: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const Q: i64 = 15 * MIN;

/// 2025-03-01T00:00 in Beijing (UTC+8): a local midnight, so local days start at T0 + n days.
fn t0() -> i64 {
    parse_date("2025-03-01").unwrap() - 8 * HOUR
}

fn id(n: u64) -> CentreId {
    CentreId::generate(0, n)
}

fn mid(s: &str) -> MeterId {
    MeterId::parse(s).unwrap()
}

fn meter(name: &str, kind: MeterKind, unit: MeterUnit) -> Meter {
    Meter::new(name, kind, unit).unwrap()
}

const IT2: MeterKind = MeterKind::It { category: Category::Category2 };

/// A 1,000 kW, 500-rack centre commissioned 2020-06-01 with a facility and a category-2 IT counter.
fn centre(n: u64) -> DataCentre {
    DataCentre {
        id: id(n),
        rated_kw: 1_000.0,
        racks: 500,
        commissioned_ms: parse_date("2020-06-01").unwrap(),
        cooling: Cooling::ChilledWater,
        edge: false,
        meters: vec![meter("main", MeterKind::FacilityTotal, MeterUnit::CumulativeKwh), meter("pdu", IT2, MeterUnit::CumulativeKwh)],
    }
}

fn book_with(dcs: Vec<DataCentre>) -> EnergyBook {
    let mut b = EnergyBook::new(EnergyConfig::default()).unwrap();
    for dc in dcs {
        b.register(dc).unwrap();
    }
    b
}

fn kwh(m: &str, ts: i64, v: f64) -> Reading {
    Reading { meter: mid(m), ts_ms: ts, value: ReadingValue::CumulativeKwh(v) }
}

fn kw(m: &str, ts: i64, v: f64) -> Reading {
    Reading { meter: mid(m), ts_ms: ts, value: ReadingValue::InstantKw(v) }
}

/// Readings of a counter every `step` over `[from, from + n * step]`, rising by `per_step`.
fn counter(m: &str, from: i64, step: i64, n: i64, start: f64, per_step: f64) -> Vec<Reading> {
    (0..=n).map(|i| kwh(m, from + i * step, start + per_step * i as f64)).collect()
}

/// Facility and IT counters over `days` days from `from` at 15-minute readings, with the
/// given energy per day.
fn feed_days(b: &mut EnergyBook, dc: &CentreId, from: i64, days: i64, facility_per_day: f64, it_per_day: f64) {
    let n = days * 96;
    let mut readings = counter("main", from, Q, n, 50_000.0, facility_per_day / 96.0);
    readings.extend(counter("pdu", from, Q, n, 20_000.0, it_per_day / 96.0));
    let r = b.ingest(dc, from + days * MS_PER_DAY, &readings).unwrap();
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
}

fn codes(r: &IngestReport) -> Vec<&'static str> {
    r.rejected.iter().map(|x| x.error.code()).collect()
}

fn micro(b: &EnergyBook, dc: &CentreId, channel: Channel, bucket_ms: i64) -> i64 {
    b.rollup(dc).unwrap().bucket(channel, bucket_ms / BUCKET_MS)
}

mod assessment;
mod ingest;
