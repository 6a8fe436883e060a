//! Property tests: rollup window sums equal naive sums; ingest gives the same buckets whatever the arrival order.

use crate::*;
use proptest::prelude::*;
use suanli_core::id::CentreId;
use suanli_core::time::parse_date;

fn naive(values: &[i64], from: usize, to: usize) -> i64 {
    values[from..to].iter().sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// PUE from the Fenwick rollup equals facility over IT summed bucket by bucket, for any window,
    /// also after random updates.
    #[test]
    fn rollup_windows_equal_naive_sums(
        facility in prop::collection::vec(0i64..10_000_000_000, 1..3_000),
        it_scale in 50i64..100,
        updates in prop::collection::vec((0usize..3_000, -1_000_000i64..1_000_000), 0..50),
        windows in prop::collection::vec((0usize..3_000, 0usize..3_000), 1..40),
    ) {
        let n = facility.len();
        let mut it: Vec<i64> = facility.iter().map(|f| f * it_scale / 100).collect();
        let mut facility = facility;
        let base = 1_900_000;
        let kwh = |v: &[i64]| v.iter().map(|x| *x as f64 / 1e6).collect::<Vec<_>>();
        let mut r = Rollup::from_kwh(base, &kwh(&facility), &kwh(&it));
        for (i, delta) in updates {
            let i = i % n;
            facility[i] += delta;
            it[i] += delta / 2;
            r.add(Channel::Facility, base + i as i64, delta);
            r.add(Channel::It, base + i as i64, delta / 2);
        }
        for (a, b) in windows {
            let (a, b) = (a % n, b % n);
            let (from, to) = (a.min(b), a.max(b) + 1);
            let (f, i) = (naive(&facility, from, to), naive(&it, from, to));
            prop_assert_eq!(r.sum(Channel::Facility, base + from as i64, base + to as i64), f);
            prop_assert_eq!(r.sum(Channel::It, base + from as i64, base + to as i64), i);
            let expected = if i > 0 { Some(f as f64 / i as f64) } else { None };
            prop_assert_eq!(r.ratio(base + from as i64, base + to as i64), expected);
        }
    }

    /// A meter's buckets do not depend on the order readings arrive in (within the reorder
    /// window), and a monotonic counter's buckets add up to its total rise.
    #[test]
    fn ingest_order_does_not_change_buckets(
        steps in prop::collection::vec((1i64..7_200, 0u32..5_000), 2..120),
        swaps in prop::collection::vec(0usize..120, 0..60),
        instant in any::<bool>(),
    ) {
        let t0 = parse_date("2025-06-01").unwrap();
        let mut ts = t0;
        let mut value = 0.0;
        let mut readings = Vec::new();
        for (dt_s, rise) in &steps {
            ts += dt_s * 1_000;
            value += *rise as f64 / 100.0;
            let v = if instant { ReadingValue::InstantKw(*rise as f64 / 10.0) } else { ReadingValue::CumulativeKwh(value) };
            readings.push(Reading { meter: MeterId::parse("m").unwrap(), ts_ms: ts, value: v });
        }
        let now = ts + 1;
        let unit = if instant { MeterUnit::InstantKw } else { MeterUnit::CumulativeKwh };
        let dc = DataCentre {
            id: CentreId::generate(0, 1),
            rated_kw: 1_000.0,
            racks: 200,
            commissioned_ms: 0,
            cooling: Cooling::Liquid,
            edge: false,
            meters: vec![Meter::new("m", MeterKind::FacilityTotal, unit).unwrap()],
        };
        let mut sorted = EnergyBook::new(EnergyConfig::default()).unwrap();
        sorted.register(dc.clone()).unwrap();
        let r = sorted.ingest(&dc.id, now, &readings).unwrap();
        prop_assert_eq!(r.accepted as usize, readings.len());

        // Disjoint adjacent swaps: each reading moves at most one place, so it arrives at most
        // one interval (2 hours) late: inside the 6-hour reorder window.
        let mut shuffled = readings.clone();
        let mut moved = vec![false; shuffled.len()];
        for s in swaps {
            let i = s % (shuffled.len() - 1);
            if !moved[i] && !moved[i + 1] {
                shuffled.swap(i, i + 1);
                (moved[i], moved[i + 1]) = (true, true);
            }
        }
        let mut late = EnergyBook::new(EnergyConfig::default()).unwrap();
        late.register(dc.clone()).unwrap();
        for reading in &shuffled {
            let r = late.ingest(&dc.id, now, std::slice::from_ref(reading)).unwrap();
            prop_assert_eq!(r.accepted, 1, "{:?}", r.rejected);
        }
        let (a, b) = (sorted.rollup(&dc.id).unwrap(), late.rollup(&dc.id).unwrap());
        let (first, last) = (t0 / BUCKET_MS, ts / BUCKET_MS + 1);
        for bucket in first..last {
            prop_assert_eq!(a.bucket(Channel::Facility, bucket), b.bucket(Channel::Facility, bucket), "bucket {}", bucket - first);
        }
        if !instant {
            let first_value = match readings[0].value { ReadingValue::CumulativeKwh(v) => v, _ => 0.0 };
            // Counter values are rounded to µkWh before subtracting: the intervals telescope.
            let total = (value * 1e6).round() as i64 - (first_value * 1e6).round() as i64;
            prop_assert_eq!(a.sum(Channel::Facility, first, last), total);
        }
    }
}
