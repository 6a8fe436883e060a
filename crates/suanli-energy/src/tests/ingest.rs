//! Ingest rules, PUE and KPIs over hand-computed readings, and registration of centres and meters.

use super::*;

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
