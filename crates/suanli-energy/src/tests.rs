//! Unit tests with hand-computed figures: ingest rules, PUE and KPIs, grades, policy, coverage, lifecycle, alerts, errors and configuration.

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

// ---------------------------------------------------------------- PUE and KPIs

#[test]
fn a_day_of_1300_over_1000_kwh_is_pue2_1_30() {
    let mut b = book_with(vec![centre(1)]);
    feed_days(&mut b, &id(1), t0(), 1, 1_300.0, 1_000.0);
    let f = b.pue(&id(1), t0(), t0() + MS_PER_DAY).unwrap();
    assert_eq!(f.facility_kwh, 1_300.0);
    assert_eq!(f.it_kwh, 1_000.0);
    assert_eq!(f.value, Some(1.3));
    assert_eq!(f.label, "PUE2");
    assert_eq!(f.category, Some(Category::Category2));
    assert_eq!(f.kind, PueKind::Interim);
    assert_eq!(f.completeness, 1.0);
    assert_eq!(f.to_string(), "interim PUE2 1.30");
    // The same day as a daily series point (local day), and per hour.
    let days = b.series(&id(1), t0(), t0() + MS_PER_DAY, Step::Day).unwrap();
    assert_eq!(days.len(), 1);
    assert_eq!((days[0].from_ms, days[0].to_ms, days[0].pue), (t0(), t0() + MS_PER_DAY, Some(1.3)));
    let hours = b.series(&id(1), t0(), t0() + MS_PER_DAY, Step::Hour).unwrap();
    assert_eq!(hours.len(), 24);
    assert!(hours.iter().all(|p| (p.facility_kwh - 1_300.0 / 24.0).abs() < 1e-6 && (p.it_kwh - 1_000.0 / 24.0).abs() < 1e-6));
    // The next day has no data: no value, and why.
    let next = b.pue(&id(1), t0() + MS_PER_DAY, t0() + 2 * MS_PER_DAY).unwrap();
    assert_eq!((next.value, next.no_value, next.completeness), (None, Some(NoValue::Incomplete), 0.0));
    assert_eq!(next.to_string(), "interim PUE2 unavailable (incomplete, 0% measured)");
}

#[test]
fn windows_widen_to_whole_buckets_and_bad_windows_are_refused() {
    let mut b = book_with(vec![centre(1)]);
    feed_days(&mut b, &id(1), t0(), 1, 1_300.0, 1_000.0);
    // 10:05 to 10:20 widens to 10:00 to 10:30: two buckets.
    let f = b.pue(&id(1), t0() + 10 * HOUR + 5 * MIN, t0() + 10 * HOUR + 20 * MIN).unwrap();
    assert_eq!((f.from_ms, f.to_ms), (t0() + 10 * HOUR, t0() + 10 * HOUR + 30 * MIN));
    assert!((f.facility_kwh - 1_300.0 / 48.0).abs() < 1e-6);
    for (from, to) in [(t0(), t0()), (t0() + 1, t0()), (0, t0()), (t0(), t0() + 21 * 366 * MS_PER_DAY)] {
        assert_eq!(b.pue(&id(1), from, to).unwrap_err().code(), "invalid_window");
    }
    assert_eq!(b.pue(&id(9), t0(), t0() + HOUR).unwrap_err().code(), "data_centre_not_found");
}

#[test]
fn annualised_pue_over_a_year_of_hourly_readings() {
    let mut b = book_with(vec![centre(1)]);
    let start = t0();
    let n = 365 * 24;
    let mut readings = counter("main", start, HOUR, n, 0.0, 125.0);
    readings.extend(counter("pdu", start, HOUR, n, 0.0, 100.0));
    let now = start + 365 * MS_PER_DAY;
    let r = b.ingest(&id(1), now, &readings).unwrap();
    assert_eq!((r.accepted, r.rejected.len()), (2 * (n as u32 + 1), 0));
    let f = b.annualised(&id(1), now).unwrap();
    assert_eq!((f.from_ms, f.to_ms), (start, now));
    assert_eq!(f.kind, PueKind::Annualised);
    assert_eq!(f.value, Some(1.25));
    assert_eq!(f.facility_kwh, 125.0 * n as f64);
    assert_eq!(f.to_string(), "PUE2 1.25");
    // Half a year later only half the trailing year is measured: no annualised value.
    let later = b.annualised(&id(1), now + 183 * MS_PER_DAY).unwrap();
    assert_eq!(later.no_value, Some(NoValue::Incomplete));
    assert!((later.completeness - 182.0 / 365.0).abs() < 1e-9);
    // Monthly interim figures: March 2025 local month has 31 days.
    let months = b.series(&id(1), start, start + 60 * MS_PER_DAY, Step::Month).unwrap();
    assert_eq!(months.len(), 2);
    assert_eq!(months[0].to_ms - months[0].from_ms, 31 * MS_PER_DAY);
    assert_eq!(months[1].from_ms, parse_date("2025-04-01").unwrap() - 8 * HOUR);
    assert_eq!(months[0].facility_kwh, 125.0 * 24.0 * 31.0);
    assert_eq!(months[0].pue, Some(1.25));
}

#[test]
fn completeness_below_ninety_percent_gives_no_pue() {
    let mut b = book_with(vec![centre(1)]);
    // Facility metered for the whole day; IT only for the first 21 of 24 hours (87.5%).
    let mut readings = counter("main", t0(), Q, 96, 0.0, 13.0);
    readings.extend(counter("pdu", t0(), Q, 84, 0.0, 10.0));
    b.ingest(&id(1), t0() + MS_PER_DAY, &readings).unwrap();
    let f = b.pue(&id(1), t0(), t0() + MS_PER_DAY).unwrap();
    assert_eq!((f.value, f.no_value), (None, Some(NoValue::Incomplete)));
    assert!((f.completeness - 0.875).abs() < 1e-12);
    // Over the first 21 hours it is complete.
    assert_eq!(b.pue(&id(1), t0(), t0() + 21 * HOUR).unwrap().value, Some(1.3));
    // 22 of 24 hours is 91.7%: enough.
    b.ingest(&id(1), t0() + MS_PER_DAY, &counter("pdu", t0() + 21 * HOUR, Q, 4, 840.0, 10.0)).unwrap();
    let f = b.pue(&id(1), t0(), t0() + MS_PER_DAY).unwrap();
    assert!((f.completeness - 22.0 / 24.0).abs() < 1e-12);
    assert_eq!(f.value, Some(1_248.0 / 880.0));
}

#[test]
fn cue_wue_and_renewable_share_over_a_day() {
    let mut dc = centre(1);
    dc.meters.push(meter("pv", MeterKind::Renewable, MeterUnit::CumulativeKwh));
    dc.meters.push(meter("water", MeterKind::Water, MeterUnit::CumulativeM3));
    let mut b = book_with(vec![dc]);
    feed_days(&mut b, &id(1), t0(), 1, 1_300.0, 1_000.0);
    let mut readings = counter("pv", t0(), Q, 96, 0.0, 100.0 / 96.0);
    readings.extend((0..=96).map(|i| Reading {
        meter: mid("water"),
        ts_ms: t0() + i * Q,
        value: ReadingValue::CumulativeM3(i as f64 / 48.0),
    }));
    let r = b.ingest(&id(1), t0() + MS_PER_DAY, &readings).unwrap();
    assert!(r.rejected.is_empty());
    let k = b.kpis(&id(1), t0(), t0() + MS_PER_DAY).unwrap();
    assert_eq!(k.pue.value, Some(1.3));
    // (1,300 - 100) kWh x 0.5366 / 1,000 kWh.
    assert!((k.cue.unwrap() - 0.64392).abs() < 1e-9, "{:?}", k.cue);
    // 2 m³ = 2,000 L over 1,000 kWh.
    assert!((k.wue.unwrap() - 2.0).abs() < 1e-9);
    assert!((k.renewable_share.unwrap() - 100.0 / 1_300.0).abs() < 1e-9);
    assert_eq!(k.cooling_kwh, None);
    // Without the renewable offset: 1,300 x 0.5366 / 1,000.
    let mut cfg = EnergyConfig { cue_subtracts_onsite_renewable: false, ..EnergyConfig::default() };
    cfg.grid_emission_kg_per_kwh = 0.6;
    let mut b2 = EnergyBook::new(cfg).unwrap();
    b2.register(centre(1)).unwrap();
    feed_days(&mut b2, &id(1), t0(), 1, 1_300.0, 1_000.0);
    assert!((b2.kpis(&id(1), t0(), t0() + MS_PER_DAY).unwrap().cue.unwrap() - 0.78).abs() < 1e-9);
}

#[test]
fn pue_without_meters_says_which_is_missing() {
    let mut dc = centre(1);
    dc.meters.retain(|m| m.kind == MeterKind::FacilityTotal);
    let b = book_with(vec![dc.clone()]);
    let f = b.pue(&id(1), t0(), t0() + HOUR).unwrap();
    assert_eq!((f.no_value, f.label.as_str(), f.category), (Some(NoValue::NoItMeter), "PUE", None));
    dc.meters.clear();
    let b = book_with(vec![dc]);
    assert_eq!(b.pue(&id(1), t0(), t0() + HOUR).unwrap().no_value, Some(NoValue::NoFacilityMeter));
}

// ---------------------------------------------------------------- ingest rules

#[test]
fn counter_energy_is_spread_over_buckets_in_proportion_to_time() {
    let mut b = book_with(vec![centre(1)]);
    // 10:00 -> 10:40, 40 kWh: 15 + 15 + 10 over three buckets.
    let start = t0() + 10 * HOUR;
    b.ingest(&id(1), start + HOUR, &[kwh("main", start, 100.0), kwh("main", start + 40 * MIN, 140.0)]).unwrap();
    assert_eq!(micro(&b, &id(1), Channel::Facility, start), 15_000_000);
    assert_eq!(micro(&b, &id(1), Channel::Facility, start + Q), 15_000_000);
    assert_eq!(micro(&b, &id(1), Channel::Facility, start + 2 * Q), 10_000_000);
    assert_eq!(b.rollup(&id(1)).unwrap().total(Channel::Facility, 0, i64::MAX / BUCKET_MS), 40.0);
}

#[test]
fn instant_kw_uses_the_trapezoid() {
    let mut dc = centre(1);
    dc.meters[0].unit = MeterUnit::InstantKw;
    let mut b = book_with(vec![dc]);
    // 100 kW at 10:00 rising linearly to 200 kW at 10:30: 75 kWh, 31.25 in the first quarter
    // (100 -> 150 kW) and 43.75 in the second (150 -> 200 kW).
    let start = t0() + 10 * HOUR;
    let r = b.ingest(&id(1), start + HOUR, &[kw("main", start + 30 * MIN, 200.0), kw("main", start, 100.0)]).unwrap();
    assert_eq!(r.accepted, 2);
    assert_eq!(micro(&b, &id(1), Channel::Facility, start), 31_250_000);
    assert_eq!(micro(&b, &id(1), Channel::Facility, start + Q), 43_750_000);
    // A kWh reading on a kW meter is refused.
    let r = b.ingest(&id(1), start + HOUR, &[kwh("main", start + 45 * MIN, 5.0)]).unwrap();
    assert_eq!(codes(&r), ["reading_unit_mismatch"]);
}

#[test]
fn counter_reset_counts_from_zero_and_jitter_is_held() {
    let mut b = book_with(vec![centre(1)]);
    let s = t0();
    // 1000 -> 1010 -> reset to 5 -> 12: 10 + 5 + 7 = 22 kWh.
    let r = b
        .ingest(
            &id(1),
            s + HOUR,
            &[kwh("main", s, 1_000.0), kwh("main", s + Q, 1_010.0), kwh("main", s + 2 * Q, 5.0), kwh("main", s + 3 * Q, 12.0)],
        )
        .unwrap();
    assert_eq!((r.accepted, r.rejected.len()), (4, 0));
    assert_eq!(micro(&b, &id(1), Channel::Facility, s), 10_000_000);
    assert_eq!(micro(&b, &id(1), Channel::Facility, s + Q), 5_000_000);
    assert_eq!(micro(&b, &id(1), Channel::Facility, s + 2 * Q), 7_000_000);
    // Jitter: 10,000 -> 9,995 (0.05% down) -> 10,004: 0 then 4 kWh (not 9).
    let s = t0() + 5 * HOUR;
    let r = b.ingest(&id(1), s + HOUR, &[kwh("pdu", s, 10_000.0), kwh("pdu", s + Q, 9_995.0), kwh("pdu", s + 2 * Q, 10_004.0)]).unwrap();
    assert_eq!(r.accepted, 3);
    assert_eq!(micro(&b, &id(1), Channel::It, s), 0);
    assert_eq!(micro(&b, &id(1), Channel::It, s + Q), 4_000_000);
}

#[test]
fn implausible_decreases_and_jumps_are_refused() {
    let mut b = book_with(vec![centre(1)]);
    let s = t0();
    b.ingest(&id(1), s + HOUR, &[kwh("main", s, 100_000.0)]).unwrap();
    // Down 10% to 90,000: not jitter, and 90,000 kWh in 15 minutes is no reset for 1,000 kW
    // (at most 1,000 x 1.1 x 0.25 = 275 kWh).
    let r = b.ingest(&id(1), s + HOUR, &[kwh("main", s + Q, 90_000.0)]).unwrap();
    assert_eq!(codes(&r), ["counter_decrease"]);
    let msg = r.rejected[0].error.to_string();
    assert!(msg.contains("meter 'main'") && msg.contains("2025-02-28T16:15:00Z"), "{msg}");
    // A rise of 276 kWh in 15 minutes implies 1,104 kW > 1,100 kW.
    let r = b.ingest(&id(1), s + HOUR, &[kwh("main", s + Q, 100_276.0)]).unwrap();
    assert_eq!(codes(&r), ["power_over_capacity"]);
    // 275 kWh is exactly the limit: accepted. Over 5 minutes the limit is still judged over 15.
    let r = b.ingest(&id(1), s + HOUR, &[kwh("main", s + Q, 100_275.0), kwh("main", s + Q + 5 * MIN, 100_500.0)]).unwrap();
    assert_eq!((r.accepted, r.rejected.len()), (2, 0));
    // A plausible reset (to 3 kWh) is accepted.
    let r = b.ingest(&id(1), s + HOUR, &[kwh("main", s + 2 * Q, 3.0)]).unwrap();
    assert_eq!(r.accepted, 1);
}

#[test]
fn invalid_values_are_rejected_with_codes_naming_meter_and_time() {
    let mut b = book_with(vec![centre(1)]);
    let s = t0();
    let now = s + HOUR;
    let mut dc = centre(1);
    dc.meters.push(meter("ups", MeterKind::Cooling, MeterUnit::InstantKw));
    b.register(dc).unwrap();
    let cases: Vec<(Reading, &str)> = vec![
        (kwh("main", s, -1.0), "reading_negative"),
        (kwh("main", s, f64::NAN), "reading_not_finite"),
        (kwh("main", s, f64::INFINITY), "reading_not_finite"),
        (kwh("main", s, 2e12), "reading_not_finite"),
        (kwh("main", now + 6 * MIN, 1.0), "reading_time_implausible"),
        (kwh("main", 900_000_000_000, 1.0), "reading_time_implausible"),
        (kw("ups", s, 1_100.5), "power_over_capacity"),
        (kw("main", s, 10.0), "reading_unit_mismatch"),
        (kwh("nope", s, 1.0), "meter_not_found"),
    ];
    for (reading, code) in cases {
        let r = b.ingest(&id(1), now, std::slice::from_ref(&reading)).unwrap();
        assert_eq!(codes(&r), [code], "{reading:?}");
        assert_eq!(r.rejected[0].meter, reading.meter);
        assert_eq!(r.rejected[0].ts_ms, reading.ts_ms);
        assert!(r.rejected[0].error.to_string().contains(&format!("'{}'", reading.meter)));
    }
    // At the edges: 1,100 kW and 5 minutes ahead are accepted.
    let r = b.ingest(&id(1), now, &[kw("ups", s, 1_100.0), kwh("main", now + 5 * MIN, 1.0)]).unwrap();
    assert_eq!((r.accepted, r.rejected.len()), (2, 0));
    // Nine rejections were data-quality issues of this centre.
    let tally = b.quality(&id(1), now - HOUR, now + HOUR).unwrap();
    assert_eq!(tally.total, 9);
    assert_eq!(tally.by_code["reading_not_finite"], 3);
    assert_eq!(tally.by_code["reading_time_implausible"], 2);
    assert_eq!(tally.by_code["meter_not_found"], 1);
    assert_eq!(b.quality(&id(1), now + HOUR, now + 2 * HOUR).unwrap().total, 0);
    let status = b.meters(&id(1)).unwrap();
    let main = status.iter().find(|m| m.meter == mid("main")).unwrap();
    assert_eq!((main.accepted, main.rejected), (1, 7));
}

#[test]
fn duplicates_are_ignored_and_conflicts_refused() {
    let mut b = book_with(vec![centre(1)]);
    let s = t0();
    let r = b.ingest(&id(1), s + HOUR, &[kwh("main", s, 10.0), kwh("main", s, 10.0), kwh("main", s + Q, 20.0)]).unwrap();
    assert_eq!((r.accepted, r.duplicates, r.rejected.len()), (2, 1, 0));
    let r = b.ingest(&id(1), s + HOUR, &[kwh("main", s + Q, 20.0), kwh("main", s + Q, 21.0)]).unwrap();
    assert_eq!((r.accepted, r.duplicates), (0, 1));
    assert_eq!(codes(&r), ["reading_conflict"]);
    assert_eq!(r.rejected[0].error.error_code().http_status(), 409);
    assert_eq!(micro(&b, &id(1), Channel::Facility, s), 10_000_000);
    // Duplicates are not data-quality issues; the conflict is.
    assert_eq!(b.quality(&id(1), s, s + 2 * HOUR).unwrap().total, 1);
}

#[test]
fn late_readings_are_inserted_within_the_reorder_window() {
    let s = t0();
    let in_order = [kwh("main", s, 0.0), kwh("main", s + Q, 30.0), kwh("main", s + 2 * Q, 40.0), kwh("main", s + 3 * Q, 100.0)];
    let mut a = book_with(vec![centre(1)]);
    a.ingest(&id(1), s + HOUR, &in_order).unwrap();
    let mut b = book_with(vec![centre(1)]);
    for i in [0, 3, 2, 1] {
        let r = b.ingest(&id(1), s + HOUR, std::slice::from_ref(&in_order[i])).unwrap();
        assert_eq!(r.accepted, 1);
    }
    for q in 0..4 {
        assert_eq!(micro(&a, &id(1), Channel::Facility, s + q * Q), micro(&b, &id(1), Channel::Facility, s + q * Q), "bucket {q}");
    }
    assert_eq!(micro(&b, &id(1), Channel::Facility, s + Q), 10_000_000);
    // A late reading inconsistent with its neighbours is refused and changes nothing: 100,000
    // at 00:20 is 99,970 kWh in 5 minutes; 250 at 00:20 would turn 40 at 00:30 into a reset.
    for (value, code) in [(100_000.0, "power_over_capacity"), (250.0, "counter_decrease")] {
        let r = b.ingest(&id(1), s + HOUR, &[kwh("main", s + 20 * MIN, value)]).unwrap();
        assert_eq!(codes(&r), [code]);
    }
    assert_eq!(micro(&b, &id(1), Channel::Facility, s + Q), 10_000_000);
    // A consistent one is inserted: 35 at 00:20 leaves the buckets' totals unchanged.
    assert_eq!(b.ingest(&id(1), s + HOUR, &[kwh("main", s + 20 * MIN, 35.0)]).unwrap().accepted, 1);
    assert_eq!(micro(&b, &id(1), Channel::Facility, s + Q), 10_000_000);
    // Beyond the 6-hour window: too old.
    b.ingest(&id(1), s + 11 * HOUR, &[kwh("main", s + 10 * HOUR, 1_000.0)]).unwrap();
    let r = b.ingest(&id(1), s + 11 * HOUR, &[kwh("main", s + 4 * HOUR - 1, 500.0)]).unwrap();
    assert_eq!(codes(&r), ["reading_too_old"]);
    let r = b.ingest(&id(1), s + 11 * HOUR, &[kwh("main", s + 4 * HOUR, 500.0)]).unwrap();
    assert_eq!(r.accepted, 1);
}

#[test]
fn a_late_reading_can_cascade_through_held_jitter() {
    let mut b = book_with(vec![centre(1)]);
    let s = t0();
    // 1000 at 00:00, 999.5 at 00:30 (jitter: held at 1000), 1010 at 00:45: 0 + 0 + 10.
    b.ingest(&id(1), s + HOUR, &[kwh("main", s, 1_000.0), kwh("main", s + 2 * Q, 999.5), kwh("main", s + 3 * Q, 1_010.0)]).unwrap();
    // Late 1000.4 at 00:15: 0.4, then 999.5 is jitter against 1000.4 (held there), then 9.6.
    b.ingest(&id(1), s + HOUR, &[kwh("main", s + Q, 1_000.4)]).unwrap();
    let got: Vec<i64> = (0..3).map(|q| micro(&b, &id(1), Channel::Facility, s + q * Q)).collect();
    assert_eq!(got, [400_000, 0, 9_600_000]);
}

#[test]
fn gaps_keep_their_energy_but_count_as_unmeasured() {
    let mut b = book_with(vec![centre(1)]);
    let s = t0();
    // 00:00, 00:15, then 03:15: the 3-hour gap carries 120 kWh, 10 per bucket.
    let r = b.ingest(&id(1), s + 4 * HOUR, &[kwh("main", s, 0.0), kwh("main", s + Q, 10.0), kwh("main", s + 13 * Q, 130.0)]).unwrap();
    assert_eq!(r.accepted, 3);
    for q in 1..13 {
        assert_eq!(micro(&b, &id(1), Channel::Facility, s + q * Q), 10_000_000, "bucket {q}");
    }
    let state = &b.centres[&id(1)];
    assert_eq!(state.meters[&mid("main")].gaps(), [(s + Q, s + 13 * Q)]);
    assert!((state.completeness(Channel::Facility, s, s + 13 * Q) - 1.0 / 13.0).abs() < 1e-12);
    // Filling the gap late (within the window) removes it.
    b.ingest(&id(1), s + 4 * HOUR, &counter("main", s + 2 * Q, Q, 10, 20.0, 10.0)).unwrap();
    let state = &b.centres[&id(1)];
    assert!(state.meters[&mid("main")].gaps().is_empty());
    assert_eq!(state.completeness(Channel::Facility, s, s + 13 * Q), 1.0);
    assert_eq!(micro(&b, &id(1), Channel::Facility, s + 5 * Q), 10_000_000);
}

#[test]
fn it_above_facility_over_an_hour_is_a_quality_issue_with_its_window() {
    let mut b = book_with(vec![centre(1)]);
    let s = t0() + 2 * HOUR;
    let mut readings = counter("main", s, Q, 4, 0.0, 25.0);
    readings.extend(counter("pdu", s, Q, 4, 0.0, 30.0));
    let r = b.ingest(&id(1), s + HOUR, &readings).unwrap();
    assert_eq!(r.issues, [QualityIssue::ItExceedsFacility { from_ms: s, to_ms: s + HOUR, facility_kwh: 100.0, it_kwh: 120.0 }]);
    assert_eq!(r.issues[0].code(), "it_exceeds_facility");
    let f = b.pue(&id(1), s, s + HOUR).unwrap();
    assert_eq!((f.value, f.no_value), (None, Some(NoValue::ItExceedsFacility)));
    // Reported once per window; the next (balanced) hour raises nothing.
    let mut more = counter("main", s + HOUR, Q, 4, 100.0, 40.0);
    more.extend(counter("pdu", s + HOUR, Q, 4, 120.0, 30.0));
    let r = b.ingest(&id(1), s + 2 * HOUR, &more).unwrap();
    assert!(r.issues.is_empty(), "{:?}", r.issues);
    let tally = b.quality(&id(1), s, s + 3 * HOUR).unwrap();
    assert_eq!((tally.total, tally.by_code["it_exceeds_facility"]), (1, 1));
}

#[test]
fn old_readings_are_pruned_but_gaps_and_counts_persist() {
    let mut b = book_with(vec![centre(1)]);
    let s = t0();
    // Three days of 5-minute readings: the series keeps about the last 6 hours.
    let readings = counter("main", s, 5 * MIN, 3 * 288, 0.0, 1.0);
    b.ingest(&id(1), s + 3 * MS_PER_DAY, &readings).unwrap();
    let kept = b.centres[&id(1)].meters[&mid("main")].kept();
    assert!((73..=73 + 64).contains(&kept), "{kept}");
    assert_eq!(b.meters(&id(1)).unwrap()[0].accepted, 3 * 288 + 1);
    assert_eq!(b.rollup(&id(1)).unwrap().total(Channel::Facility, s / BUCKET_MS, (s + 3 * MS_PER_DAY) / BUCKET_MS), 864.0);
}

// ---------------------------------------------------------------- registration

#[test]
fn registration_is_validated() {
    let mut b = book_with(vec![]);
    let mut mixed = centre(1);
    mixed.meters.push(meter("pdu-b", MeterKind::It { category: Category::Category3 }, MeterUnit::CumulativeKwh));
    assert_eq!(b.register(mixed).unwrap_err().code(), "invalid_data_centre");
    let mut twice = centre(1);
    twice.meters.push(meter("main", MeterKind::Cooling, MeterUnit::InstantKw));
    assert_eq!(b.register(twice).unwrap_err().code(), "invalid_data_centre");
    assert_eq!(b.register(DataCentre { rated_kw: 0.0, ..centre(1) }).unwrap_err().code(), "invalid_data_centre");
    assert_eq!(b.register(DataCentre { racks: 0, ..centre(1) }).unwrap_err().code(), "invalid_data_centre");
    assert_eq!(Meter::new("w", MeterKind::Water, MeterUnit::CumulativeKwh).unwrap_err().code(), "invalid_meter");
    assert_eq!(Meter::new("pv", MeterKind::Renewable, MeterUnit::CumulativeM3).unwrap_err().code(), "invalid_meter");
    assert_eq!(MeterId::parse("bad id").unwrap_err().code(), "invalid_meter");
    assert_eq!(MeterId::parse("").unwrap_err().code(), "invalid_meter");
    b.register(centre(1)).unwrap();
    // Re-registering updates facts and adds meters; a meter keeps its kind and stays.
    let mut more = centre(1);
    more.racks = 600;
    more.meters.push(meter("chiller", MeterKind::Cooling, MeterUnit::InstantKw));
    b.register(more.clone()).unwrap();
    assert_eq!(b.data_centre(&id(1)).unwrap().racks, 600);
    let mut changed = more.clone();
    changed.meters[0].unit = MeterUnit::InstantKw;
    assert_eq!(b.register(changed).unwrap_err().code(), "meter_exists");
    // A meter without readings may be dropped; one with readings may not.
    let mut fewer = more.clone();
    let chiller = fewer.meters.pop().unwrap();
    b.register(fewer.clone()).unwrap();
    assert!(b.data_centre(&id(1)).unwrap().meter(&chiller.id).is_none());
    let t = parse_date("2026-05-01").unwrap();
    assert_eq!(b.ingest(&id(1), t, &[kwh(fewer.meters[0].id.as_str(), t, 10.0)]).unwrap().accepted, 1);
    let used = fewer.meters.remove(0);
    assert_eq!(b.register(fewer).unwrap_err().code(), "invalid_data_centre", "{used:?} has a reading");
    assert_eq!(b.ingest(&id(2), 0, &[]).unwrap_err().code(), "data_centre_not_found");
}

#[test]
fn data_centres_come_from_core_centres() {
    use suanli_core::centre::{Centre, CentreKind, PartnerStatus};
    let c = Centre {
        id: id(5),
        provider_id: suanli_core::id::ProviderId::generate(0, 1),
        name: "滨江边缘".into(),
        name_en: "Binjiang edge".into(),
        kind: CentreKind::Edge,
        region: "hz-binjiang".into(),
        partner_status: PartnerStatus::Partner,
        commissioned_ms: parse_date("2024-01-10").unwrap(),
        declared_pue: 1.4,
        racks: 40,
        rtt_ms: BTreeMap::new(),
        created_ms: 0,
    };
    let dc = DataCentre::from_centre(&c, 300.0, Cooling::Air, vec![]);
    assert!(dc.edge && !dc.in_gb40879_scope());
    assert_eq!((dc.racks, dc.commissioned_ms), (40, c.commissioned_ms));
    assert!((dc.age_years(c.commissioned_ms + 730 * MS_PER_DAY + MS_PER_DAY / 2) - 2.0).abs() < 1e-9);
    // Not registered as edge but 100 racks: still outside GB 40879.
    assert!(!DataCentre { racks: 100, ..centre(1) }.in_gb40879_scope());
    assert!(DataCentre { racks: 101, ..centre(1) }.in_gb40879_scope());
}

// ---------------------------------------------------------------- grades and policy

#[test]
fn gb40879_grade_boundaries_are_inclusive_at_two_decimals() {
    let t = GradeThresholds::default();
    let dc = centre(1);
    let cases = [
        (1.10, Gb40879::Grade1),
        (1.20, Gb40879::Grade1),
        (1.2049, Gb40879::Grade1),
        (1.2051, Gb40879::Grade2),
        (1.21, Gb40879::Grade2),
        (1.30, Gb40879::Grade2),
        (1.31, Gb40879::Grade3),
        (1.50, Gb40879::Grade3),
        (1.51, Gb40879::DoesNotMeet),
        (2.40, Gb40879::DoesNotMeet),
    ];
    for (pue, outcome) in cases {
        assert_eq!(grade(&dc, Some(pue), &t).outcome, outcome, "{pue}");
    }
    assert_eq!(grade(&dc, Some(1.2049), &t).pue, Some(1.2));
    assert_eq!(grade(&dc, None, &t).outcome, Gb40879::NotGraded);
    let edge = DataCentre { racks: 80, ..centre(1) };
    let g = grade(&edge, Some(1.9), &t);
    assert_eq!((g.outcome, g.outcome.code()), (Gb40879::OutOfScope, "out_of_scope"));
    assert!(g.reason.contains("80 racks"));
    let strict = GradeThresholds { grade1: 1.15, grade2: 1.25, grade3: 1.40 };
    assert_eq!(grade(&dc, Some(1.30), &strict).outcome, Gb40879::Grade3);
}

#[test]
fn new_data_centres_must_stay_below_1_25() {
    let p = PolicyConfig::default();
    let since = p.new_since_ms().unwrap();
    assert_eq!(since, parse_date("2023-08-25").unwrap());
    let new = DataCentre { commissioned_ms: since, ..centre(1) };
    let old = DataCentre { commissioned_ms: since - MS_PER_DAY, ..centre(1) };
    let cases = [
        (&new, Some(1.24), PolicyOutcome::Pass),
        (&new, Some(1.2449), PolicyOutcome::Pass),
        (&new, Some(1.25), PolicyOutcome::Fail),
        (&new, Some(1.31), PolicyOutcome::Fail),
        (&new, None, PolicyOutcome::Undecided),
        (&old, Some(1.6), PolicyOutcome::NotApplicable),
    ];
    for (dc, pue, outcome) in cases {
        assert_eq!(policy_check(dc, pue, &p, since).outcome, outcome, "{pue:?}");
    }
    let fail = policy_check(&new, Some(1.25), &p, since);
    assert_eq!(fail.reason, "commissioned 2023-08-25, on or after 2023-08-25: PUE 1.25 is not below 1.25");
    let edge = DataCentre { edge: true, racks: 20, ..new.clone() };
    assert_eq!(policy_check(&edge, Some(1.4), &p, since).outcome, PolicyOutcome::NotApplicable);
    let p_edge = PolicyConfig { include_edge: true, ..p.clone() };
    assert_eq!(policy_check(&edge, Some(1.4), &p_edge, since).outcome, PolicyOutcome::Fail);
}

// ---------------------------------------------------------------- coverage

#[test]
fn coverage_counts_centres_with_facility_and_it_data_in_the_last_day() {
    let mut b = book_with((1..=5).map(centre).collect());
    let now = t0() + 2 * MS_PER_DAY;
    let yesterday = now - MS_PER_DAY;
    for n in 1..=3 {
        feed_days(&mut b, &id(n), yesterday, 1, 1_300.0, 1_000.0);
    }
    // Centre 4: facility only today; its IT meter stopped two days ago.
    let mut r = counter("main", yesterday, Q, 96, 0.0, 10.0);
    r.extend(counter("pdu", t0(), Q, 4, 0.0, 10.0));
    b.ingest(&id(4), now, &r).unwrap();
    // Centre 5: nothing at all.
    let c = b.coverage(now);
    assert_eq!((c.registered, c.monitored, c.coverage, c.meets_target), (5, 3, 0.6, false));
    assert_eq!(c.silent.iter().map(|s| s.dc.clone()).collect::<Vec<_>>(), [id(4), id(5)]);
    assert_eq!(c.silent[0].silent_meters, [mid("pdu")]);
    assert_eq!(c.silent[1].silent_meters, [mid("main"), mid("pdu")]);
    // Centre 4's IT meter catches up: 4 of 5 = 0.8 meets the 0.75 target.
    b.ingest(&id(4), now, &counter("pdu", now - 2 * HOUR, Q, 8, 100.0, 10.0)).unwrap();
    let c = b.coverage(now);
    assert_eq!((c.monitored, c.coverage, c.meets_target), (4, 0.8, true));
    // A centre without an IT meter is never monitored, and says why.
    let mut bare = centre(6);
    bare.meters.truncate(1);
    b.register(bare).unwrap();
    let c = b.coverage(now);
    assert_eq!(c.silent.last().unwrap().unmetered, [Channel::It]);
    assert_eq!((c.registered, c.monitored), (6, 4));
    // Exactly 3 of 4 meets the target.
    let mut four = book_with((1..=4).map(centre).collect());
    for n in 1..=3 {
        feed_days(&mut four, &id(n), yesterday, 1, 1_300.0, 1_000.0);
    }
    assert!(four.coverage(now).meets_target);
    assert_eq!(book_with(vec![]).coverage(now).coverage, 0.0);
}

// ---------------------------------------------------------------- lifecycle

fn input(
    pue: Option<f64>,
    utilisation: Option<f64>,
    age_years: f64,
    data_quality: f64,
    renewable: Option<f64>,
    cooling: Cooling,
) -> LifecycleInput {
    LifecycleInput { annualised_pue: pue, utilisation, age_years, data_quality, renewable_share: renewable, cooling, merge_into: None }
}

fn reason_codes(l: &Lifecycle) -> Vec<&str> {
    l.reasons.iter().map(|r| r.code.as_str()).collect()
}

#[test]
fn lifecycle_recommendations_with_hand_computed_scores() {
    let cfg = LifecycleConfig::default();
    let g = GradeThresholds::default();
    // Keep: 0.4x1 + 0.25x(0.65/0.7) + 0.15x0.8 + 0.1x1 + 0.1x0.25 = 0.87714 -> 87.7.
    let keep = assess(&input(Some(1.18), Some(0.65), 3.0, 1.0, Some(0.05), Cooling::Liquid), &cfg, &g);
    assert_eq!((keep.score, keep.recommendation), (87.7, Recommendation::Keep));
    assert_eq!(reason_codes(&keep), ["efficient"]);
    // Retrofit: 0.4x0.6875 + 0.25x(0.6/0.7) + 0.15x(2/3) + 0.1 = 0.68929 -> 68.9.
    let retrofit = assess(&input(Some(1.45), Some(0.6), 5.0, 1.0, None, Cooling::Air), &cfg, &g);
    assert_eq!((retrofit.score, retrofit.recommendation), (68.9, Recommendation::Retrofit));
    assert_eq!(reason_codes(&retrofit), ["pue_above_target", "air_cooled"]);
    // Merge: 0.4x0.9375 + 0.25x(0.1/0.7) + 0.15x(11/15) + 0.1 = 0.62071 -> 62.1.
    let under_used = input(Some(1.25), Some(0.1), 4.0, 1.0, None, Cooling::Liquid);
    let merge = assess(&LifecycleInput { merge_into: Some(id(9)), ..under_used.clone() }, &cfg, &g);
    assert_eq!((merge.score, merge.recommendation, merge.merge_into.clone()), (62.1, Recommendation::Merge, Some(id(9))));
    assert_eq!(reason_codes(&merge), ["low_utilisation"]);
    // The same centre with nowhere to go is kept, and says why.
    let stays = assess(&under_used, &cfg, &g);
    assert_eq!((stays.score, stays.recommendation, stays.merge_into.clone()), (62.1, Recommendation::Keep, None));
    assert_eq!(reason_codes(&stays), ["low_utilisation", "no_merge_destination"]);
    // Retire: 0.4x0.125 + 0.25x(0.2/0.7) + 0.15x(1/15) + 0.1x0.9 = 0.22143 -> 22.1.
    let retire = assess(&input(Some(1.9), Some(0.2), 14.0, 0.9, None, Cooling::Air), &cfg, &g);
    assert_eq!((retire.score, retire.recommendation), (22.1, Recommendation::Retire));
    assert_eq!(reason_codes(&retire), ["low_score", "old", "pue_fails_gb40879", "low_utilisation"]);
    assert_eq!(retire.reasons[2].message, "annualised PUE 1.90 is above the GB 40879 limit value 1.50");
    // Young and poor is retrofitted, not retired: 0.4x0.125 + 0.25x(0.5/0.7) + 0.15x(13/15) + 0.1x0.5 = 0.40857 -> 40.9.
    let young = assess(&input(Some(1.9), Some(0.5), 2.0, 0.5, None, Cooling::ChilledWater), &cfg, &g);
    assert_eq!((young.score, young.recommendation), (40.9, Recommendation::Retrofit));
    assert_eq!(reason_codes(&young), ["pue_fails_gb40879", "poor_data_quality"]);
    // Unknown utilisation is left out: (0.4x1 + 0.15x1 + 0.1x1 + 0.1x1) / 0.75 = 1 -> 100.
    let unknown = assess(&input(Some(1.2), None, 0.0, 1.0, Some(0.2), Cooling::FreeCooling), &cfg, &g);
    assert_eq!((unknown.score, unknown.recommendation), (100.0, Recommendation::Keep));
    assert_eq!(reason_codes(&unknown), ["efficient", "utilisation_unknown"]);
    // Unknown PUE scores 0 on that component: (0.15x1 + 0.1x1) / 0.75 = 33.3, new so not retired.
    let no_pue = assess(&input(None, None, 0.0, 1.0, None, Cooling::Air), &cfg, &g);
    assert_eq!((no_pue.score, no_pue.recommendation), (33.3, Recommendation::Keep));
    assert_eq!(reason_codes(&no_pue), ["low_score", "pue_unknown", "utilisation_unknown"]);
}

#[test]
fn evaluate_ranks_centres_and_grades_them() {
    let mut b = book_with(vec![centre(1), centre(2), DataCentre { commissioned_ms: parse_date("2024-01-01").unwrap(), ..centre(3) }]);
    let start = t0();
    let now = start + 365 * MS_PER_DAY;
    for (n, facility) in [(1, 118.0), (2, 160.0), (3, 124.0)] {
        let mut r = counter("main", start, HOUR, 365 * 24, 0.0, facility);
        r.extend(counter("pdu", start, HOUR, 365 * 24, 0.0, 100.0));
        assert!(b.ingest(&id(n), now, &r).unwrap().rejected.is_empty());
    }
    let load = |utilisation: f64| Load { utilisation, accelerators: 1000, area: "hangzhou".into() };
    let util = BTreeMap::from([(id(1), load(0.7)), (id(2), load(0.5)), (id(3), load(0.1))]);
    let a = b.evaluate(now, &util);
    assert_eq!(a.iter().map(|x| (x.dc.clone(), x.rank)).collect::<Vec<_>>(), [(id(1), 1), (id(3), 2), (id(2), 3)]);
    let by = |n| a.iter().find(|x| x.dc == id(n)).unwrap();
    assert_eq!(by(1).grading.outcome, Gb40879::Grade1);
    assert_eq!(by(1).kpis.pue.to_string(), "PUE2 1.18");
    assert_eq!(by(1).lifecycle.recommendation, Recommendation::Keep);
    assert_eq!(by(1).policy.outcome, PolicyOutcome::NotApplicable);
    assert_eq!(by(2).grading.outcome, Gb40879::DoesNotMeet);
    assert_eq!(by(2).lifecycle.recommendation, Recommendation::Retrofit);
    assert_eq!(by(3).grading.outcome, Gb40879::Grade2);
    assert_eq!(by(3).policy.outcome, PolicyOutcome::Pass);
    // Centre 3 is under-used, but centre 1 (better PUE) is full at 70% and centre 2's PUE is worse.
    assert_eq!((by(3).lifecycle.recommendation, by(3).lifecycle.merge_into.clone()), (Recommendation::Keep, None));
    assert_eq!(b.over_new_dc_limit(now), []);
    // With room at centre 1, centre 3 merges into it, and only centre 3.
    let roomy = BTreeMap::from([(id(1), load(0.5)), (id(2), load(0.5)), (id(3), load(0.1))]);
    let merged = b.evaluate(now, &roomy);
    let merging: Vec<_> = merged.iter().filter_map(|a| Some((a.dc.clone(), a.lifecycle.merge_into.clone()?))).collect();
    assert_eq!(merging, [(id(3), id(1))]);
    assert_eq!(merged.iter().find(|x| x.dc == id(3)).unwrap().lifecycle.recommendation, Recommendation::Merge);
    assert_eq!(b.evaluate_one(&id(3), now, &roomy).unwrap().lifecycle.merge_into, Some(id(1)));
    assert_eq!(by(1).lifecycle.components.data_quality, 1.0);
    // Centre 1: PUE 1.18 -> 1; util 1; age (2020-06-01 to 2026-03-01) 5.75 y -> 1 - 5.75/15; quality 1; renewable 0.
    let age = b.data_centre(&id(1)).unwrap().age_years(now);
    let expected = 100.0 * (0.4 + 0.25 + 0.15 * (1.0 - age / 15.0) + 0.1);
    assert!((by(1).lifecycle.score - (expected * 10.0).round() / 10.0).abs() < 1e-9);
}

#[test]
fn over_the_new_dc_limit_is_the_evaluations_failing_policy_check() {
    let new = |n| DataCentre { commissioned_ms: parse_date("2024-01-01").unwrap(), ..centre(n) };
    let mut b = book_with(vec![centre(1), new(2), new(3)]);
    let start = t0();
    let now = start + 365 * MS_PER_DAY;
    // 1 is old at 1.40 (not subject), 2 new at 1.25 (at the limit fails), 3 new at 1.24.
    for (n, facility) in [(1, 140.0), (2, 125.0), (3, 124.0)] {
        let mut r = counter("main", start, HOUR, 365 * 24, 0.0, facility);
        r.extend(counter("pdu", start, HOUR, 365 * 24, 0.0, 100.0));
        assert!(b.ingest(&id(n), now, &r).unwrap().rejected.is_empty());
    }
    assert_eq!(b.over_new_dc_limit(now), [(id(2), 1.25)]);
    let failing: Vec<CentreId> =
        b.evaluate(now, &BTreeMap::new()).into_iter().filter(|a| a.policy.outcome == PolicyOutcome::Fail).map(|a| a.dc).collect();
    assert_eq!(failing, [id(2)]);
    // A month's interim PUE by the same rule: the old centre is left out, the new ones judged.
    assert_eq!(b.new_dc_pue_in(now - 30 * MS_PER_DAY, now), [(id(2), 1.25, true), (id(3), 1.24, false)]);
}

// ---------------------------------------------------------------- alerts

#[test]
fn alerts_for_pue_silence_and_data_quality() {
    let new_dc = DataCentre { commissioned_ms: parse_date("2024-05-01").unwrap(), ..centre(1) };
    let mut dc2 = centre(2);
    dc2.meters.push(meter("chiller", MeterKind::Cooling, MeterUnit::InstantKw));
    let mut b = book_with(vec![new_dc, dc2]);
    let now = t0() + MS_PER_DAY;
    // Centre 1: a day at PUE 1.30 ending now: interim over 1.25 -> warning.
    feed_days(&mut b, &id(1), t0(), 1, 1_300.0, 1_000.0);
    // Centre 2: meters stop 2 hours (main) and 25 hours before now (pdu); chiller never reports.
    b.ingest(&id(2), now, &counter("main", now - 4 * HOUR, Q, 8, 0.0, 30.0)).unwrap();
    b.ingest(&id(2), now, &counter("pdu", now - 26 * HOUR, Q, 4, 0.0, 20.0)).unwrap();
    // Six bad readings at centre 2 within the day -> data-quality warning.
    let bad: Vec<Reading> = (0..6).map(|i| kwh("main", now - HOUR + i, -1.0)).collect();
    b.ingest(&id(2), now - HOUR, &bad).unwrap();
    let alerts = b.alerts(now);
    let summary: Vec<(CentreId, Severity, &str)> = alerts.iter().map(|a| (a.dc.clone(), a.severity, a.alert.code())).collect();
    assert_eq!(
        summary,
        [
            (id(2), Severity::Critical, "meter_silent"),
            (id(1), Severity::Warning, "pue_over_threshold"),
            (id(2), Severity::Warning, "data_quality"),
            (id(2), Severity::Warning, "meter_silent"),
            (id(2), Severity::Warning, "meter_silent"),
        ]
    );
    match &alerts[1].alert {
        AlertKind::PueOverThreshold { label, kind, value, threshold, .. } => {
            assert_eq!((label.as_str(), *kind, *value, *threshold), ("PUE2", PueKind::Interim, 1.3, 1.25));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(alerts[1].message, "interim PUE2 1.30 is at or above 1.25");
    match &alerts[0].alert {
        AlertKind::MeterSilent { meter, last_seen_ms, silent_for_ms } => {
            assert_eq!((meter.as_str(), *last_seen_ms, *silent_for_ms), ("pdu", Some(now - 25 * HOUR), Some(25 * HOUR)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(alerts[2].alert, AlertKind::DataQuality { count: 6, from_ms: now - MS_PER_DAY, to_ms: now });
    let silent: Vec<_> = alerts[3..]
        .iter()
        .map(|a| match &a.alert {
            AlertKind::MeterSilent { meter, silent_for_ms, .. } => (meter.to_string(), *silent_for_ms),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(silent, [("chiller".to_owned(), None), ("main".to_owned(), Some(2 * HOUR))]);
    // Serialised with the code.
    let json = serde_json::to_value(&alerts[0]).unwrap();
    assert_eq!(json["alert"]["code"], "meter_silent");
    assert_eq!(json["severity"], "critical");
}

// ---------------------------------------------------------------- errors and configuration

#[test]
fn every_energy_error_is_a_row_of_the_error_table() {
    let m = mid("main");
    let errors = [
        (EnergyError::DataCentreNotFound { dc: id(1) }, 404),
        (EnergyError::MeterNotFound { meter: m.clone(), ts_ms: 0 }, 404),
        (EnergyError::InvalidDataCentre { dc: id(1), reason: "x".into() }, 422),
        (EnergyError::InvalidMeter { meter: "x".into(), reason: "x".into() }, 422),
        (EnergyError::MeterExists { meter: m.clone(), existing: "a".into(), requested: "b".into() }, 409),
        (EnergyError::ReadingNotFinite { meter: m.clone(), ts_ms: 0 }, 422),
        (EnergyError::ReadingNegative { meter: m.clone(), ts_ms: 0, value: -1.0 }, 422),
        (
            EnergyError::ReadingUnitMismatch { meter: m.clone(), ts_ms: 0, expected: MeterUnit::InstantKw, got: MeterUnit::CumulativeKwh },
            422,
        ),
        (EnergyError::ReadingTimeImplausible { meter: m.clone(), ts_ms: 0, latest_ms: 0 }, 422),
        (EnergyError::PowerOverCapacity { meter: m.clone(), ts_ms: 0, kw: 2.0, limit_kw: 1.0 }, 422),
        (EnergyError::CounterDecrease { meter: m.clone(), ts_ms: 0, before_ms: 0, before: 2.0, after_ms: 0, after: 1.0 }, 422),
        (EnergyError::ReadingConflict { meter: m.clone(), ts_ms: 0, accepted: 1.0, got: 2.0 }, 409),
        (EnergyError::ReadingTooOld { meter: m.clone(), ts_ms: 0, window_start_ms: 0 }, 409),
        (EnergyError::InvalidWindow { from_ms: 0, to_ms: 0, reason: "x" }, 422),
        (EnergyError::InvalidConfig { reason: "x".into() }, 422),
    ];
    let mut seen = std::collections::HashSet::new();
    for (e, status) in errors {
        assert_eq!(ErrorCode::ALL.iter().filter(|c| c.as_str() == e.code()).count(), 1, "{} is one row of the table", e.code());
        assert_eq!(e.code(), e.error_code().as_str());
        assert_eq!(e.error_code().http_status(), status, "{}", e.code());
        assert!(seen.insert(e.code()), "{} twice", e.code());
        let platform: Error = e.clone().into();
        assert_eq!((platform.code, platform.message), (e.error_code(), e.to_string()));
    }
    let e = EnergyError::ReadingNegative { meter: m, ts_ms: t0(), value: -3.5 };
    assert_eq!(e.to_string(), "meter 'main' reading at 2025-02-28T16:00:00Z: the value -3.5 is negative");
}

#[test]
fn configuration_defaults_partial_documents_and_validation() {
    let d = EnergyConfig::default();
    d.validate().unwrap();
    assert_eq!((d.max_gap_ms, d.min_completeness, d.grid_emission_kg_per_kwh), (HOUR, 0.9, 0.5366));
    assert_eq!((d.grades.grade1, d.grades.grade2, d.grades.grade3), (1.2, 1.3, 1.5));
    assert_eq!((d.policy.new_since.as_str(), d.policy.pue_below, d.coverage.target), ("2023-08-25", 1.25, 0.75));
    let partial: EnergyConfig = serde_json::from_str(r#"{"min_completeness": 0.95, "grades": {"grade1": 1.15}}"#).unwrap();
    assert_eq!((partial.min_completeness, partial.grades.grade1, partial.grades.grade2), (0.95, 1.15, 1.3));
    assert_eq!(partial.max_gap_ms, HOUR);
    assert!(serde_json::from_str::<EnergyConfig>(r#"{"min_completenes": 0.95}"#).is_err());
    let round: EnergyConfig = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
    assert_eq!(round, d);
    let bad = [
        EnergyConfig { min_completeness: 0.0, ..d.clone() },
        EnergyConfig { balance_window_ms: 20 * MIN, ..d.clone() },
        EnergyConfig { utc_offset_minutes: 7, ..d.clone() },
        EnergyConfig { capacity_margin: 0.9, ..d.clone() },
        EnergyConfig { grades: GradeThresholds { grade1: 1.3, grade2: 1.2, grade3: 1.5 }, ..d.clone() },
        EnergyConfig { policy: PolicyConfig { new_since: "2023-02-30".into(), ..PolicyConfig::default() }, ..d.clone() },
    ];
    for c in bad {
        assert_eq!(EnergyBook::new(c).unwrap_err().code(), "invalid_energy_config");
    }
}

#[test]
fn readings_and_reports_serialise_plainly() {
    let r: Reading = serde_json::from_str(r#"{"meter": "pdu-a3", "ts_ms": 1740758400000, "value": {"cumulative_kwh": 12.5}}"#).unwrap();
    assert_eq!(r, kwh("pdu-a3", 1_740_758_400_000, 12.5));
    assert!(serde_json::from_str::<Reading>(r#"{"meter": "bad id", "ts_ms": 0, "value": {"instant_kw": 1}}"#).is_err());
    let m: Meter = serde_json::from_str(r#"{"id": "pdu", "kind": {"kind": "it", "category": 2}, "unit": "cumulative_kwh"}"#).unwrap();
    assert_eq!(m, meter("pdu", IT2, MeterUnit::CumulativeKwh));
    assert!(serde_json::from_str::<Meter>(r#"{"id": "pdu", "kind": {"kind": "it", "category": 4}, "unit": "cumulative_kwh"}"#).is_err());
    let mut b = book_with(vec![centre(1)]);
    let report = b.ingest(&id(1), t0() + HOUR, &[kwh("main", t0(), -2.0)]).unwrap();
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["rejected"][0]["code"], "reading_negative");
    assert_eq!(json["rejected"][0]["meter"], "main");
    assert_eq!(json["accepted"], 0);
}

// ---------------------------------------------------------------- rollup

#[test]
fn rollup_grows_both_ways_and_keeps_values() {
    let mut r = Rollup::new();
    r.add(Channel::Facility, 1_000, 5);
    r.add(Channel::Facility, 1_010, 7);
    r.add(Channel::It, 1_005, 3);
    assert_eq!((r.base(), r.len()), (1_000, 11));
    // Data before the base: the rollup rebases with slack and keeps every value.
    r.add(Channel::Facility, 990, 11);
    assert!(r.base() <= 990);
    assert_eq!((r.bucket(Channel::Facility, 990), r.bucket(Channel::Facility, 1_000), r.bucket(Channel::Facility, 1_010)), (11, 5, 7));
    assert_eq!(r.sum(Channel::Facility, 0, 2_000), 23);
    assert_eq!(r.sum(Channel::It, 1_005, 1_006), 3);
    assert_eq!(r.sum(Channel::Water, 0, 2_000), 0);
    assert!(!r.has(Channel::Water));
    // Far ahead.
    r.add(Channel::It, 40_000, 1);
    assert_eq!(r.sum(Channel::It, 0, 50_000), 4);
    assert_eq!(r.sum(Channel::Facility, 991, 1_010), 5);
    assert_eq!(r.ratio(1_000, 1_006), Some(5.0 / 3.0));
    assert_eq!(r.ratio(1_006, 1_009), None);
}

#[test]
fn a_year_of_buckets_for_many_centres_matches_naive_sums() {
    // Correctness at the benchmark's shape (a year of 15-minute buckets), at 20 centres rather
    // than 1,000 to keep the test small; `cargo bench -p suanli-energy` runs the full size.
    let n = 35_040usize;
    for c in 0..20u64 {
        let it: Vec<f64> = (0..n).map(|i| 100.0 + ((i as u64 * 7 + c * 13) % 50) as f64).collect();
        let facility: Vec<f64> = it.iter().enumerate().map(|(i, x)| x * (1.1 + ((i as u64 + c) % 40) as f64 / 100.0)).collect();
        let base = 2_000_000 + c as i64;
        let r = Rollup::from_kwh(base, &facility, &it);
        let micro = |v: f64| (v * 1e6).round() as i64;
        for (a, z) in [(0usize, n), (0, 1), (n - 1, n), (1_234, 30_000), (96 * 100, 96 * 131)] {
            let naive_f: i64 = facility[a..z].iter().map(|v| micro(*v)).sum();
            let naive_i: i64 = it[a..z].iter().map(|v| micro(*v)).sum();
            let (from, to) = (base + a as i64, base + z as i64);
            assert_eq!(r.sum(Channel::Facility, from, to), naive_f);
            assert_eq!(r.sum(Channel::It, from, to), naive_i);
            assert_eq!(r.ratio(from, to), Some(naive_f as f64 / naive_i as f64));
        }
    }
}
