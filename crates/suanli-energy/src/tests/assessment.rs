//! Grades, the new-centre policy, coverage, lifecycle scores, alerts, the error table, configuration and serialisation.

use super::*;

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
