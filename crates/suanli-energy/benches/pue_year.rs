//! Benchmark: PUE over random windows of a year of 15-minute buckets for 1,000 data centres (`cargo bench -p suanli-energy`).
//!
//! Prints figures; asserts nothing about time (tests never do). Part 1 builds the rollups
//! directly from bucket totals (as a restore from stored totals would) and times window
//! queries on them. Part 2 ingests a year of hourly facility and IT counter readings for 1,000
//! data centres into an `EnergyBook` (17.5 million readings) and times `EnergyBook::pue`, which
//! adds the completeness rule. Memory: two channels × 35,040 buckets × 8 bytes × 1,000 ≈ 560 MB
//! per part.

use std::hint::black_box;
use std::time::Instant;
use suanli_core::id::CentreId;
use suanli_energy::{
    Category, Cooling, DataCentre, EnergyBook, EnergyConfig, Meter, MeterId, MeterKind, MeterUnit, Reading, ReadingValue, Rollup,
};

const CENTRES: usize = 1_000;
const BUCKETS: usize = 35_040;
const BASE: i64 = 1_735_660_800_000 / 900_000;

/// A small deterministic generator (xorshift64*), so the bench needs no dependency.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn main() {
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    let rollups: Vec<Rollup> = (0..CENTRES)
        .map(|_| {
            let it: Vec<f64> = (0..BUCKETS).map(|_| 100.0 + g.below(5_000) as f64 / 100.0).collect();
            let facility: Vec<f64> = it.iter().map(|x| x * (1.15 + g.below(30) as f64 / 100.0)).collect();
            Rollup::from_kwh(BASE, &facility, &it)
        })
        .collect();
    println!("built {CENTRES} rollups of {BUCKETS} buckets in {:.2?}", started.elapsed());

    let windows: Vec<(i64, i64)> = (0..CENTRES)
        .map(|_| {
            let a = g.below(BUCKETS as u64) as i64;
            let b = g.below(BUCKETS as u64) as i64;
            (BASE + a.min(b), BASE + a.max(b) + 1)
        })
        .collect();
    for round in 0..5 {
        let t = Instant::now();
        let mut acc = 0.0;
        for (r, (from, to)) in rollups.iter().zip(&windows) {
            acc += black_box(r.ratio(*from, *to)).unwrap_or(0.0);
        }
        let random = t.elapsed();
        let t = Instant::now();
        for r in &rollups {
            acc += black_box(r.ratio(BASE, BASE + BUCKETS as i64)).unwrap_or(0.0);
        }
        let year = t.elapsed();
        println!(
            "round {round}: PUE over a random window for {CENTRES} centres {random:.2?}; over the whole year {year:.2?} (checksum {acc:.3})"
        );
    }

    // Naive reference for scale: summing every bucket of the year for each centre.
    let t = Instant::now();
    let mut acc = 0i64;
    for r in rollups.iter().take(100) {
        for b in BASE..BASE + BUCKETS as i64 {
            acc += r.bucket(suanli_energy::Channel::Facility, b);
        }
    }
    println!("per-bucket lookups over one year for 100 centres: {:.2?} (checksum {acc})", t.elapsed());
    drop(rollups);
    book(&mut g);
}

fn book(g: &mut Gen) {
    let start = BASE * 900_000;
    let hours = 365 * 24;
    let now = start + hours * 3_600_000;
    let mut book = EnergyBook::new(EnergyConfig::default()).unwrap();
    let (main, pdu) = (MeterId::parse("main").unwrap(), MeterId::parse("pdu").unwrap());
    let ids: Vec<CentreId> = (0..CENTRES as u64).map(|n| CentreId::generate(0, n)).collect();
    let t = Instant::now();
    let mut readings = Vec::with_capacity(2 * hours as usize + 2);
    for id in &ids {
        let dc = DataCentre {
            id: id.clone(),
            rated_kw: 2_000.0,
            racks: 300,
            commissioned_ms: 0,
            cooling: Cooling::ChilledWater,
            edge: false,
            meters: vec![
                Meter::new("main", MeterKind::FacilityTotal, MeterUnit::CumulativeKwh).unwrap(),
                Meter::new("pdu", MeterKind::It { category: Category::Category2 }, MeterUnit::CumulativeKwh).unwrap(),
            ],
        };
        book.register(dc).unwrap();
        readings.clear();
        let (mut facility, mut it) = (0.0, 0.0);
        for h in 0..=hours {
            let ts = start + h * 3_600_000;
            readings.push(Reading::new(&main, ts, ReadingValue::CumulativeKwh(facility)));
            readings.push(Reading::new(&pdu, ts, ReadingValue::CumulativeKwh(it)));
            let load = 800.0 + g.below(400) as f64;
            it += load;
            facility += load * (1.15 + g.below(30) as f64 / 100.0);
        }
        let report = book.ingest(id, now, &readings).unwrap();
        assert!(report.rejected.is_empty());
    }
    let ingest = t.elapsed();
    let n = CENTRES as f64 * 2.0 * (hours + 1) as f64;
    println!("ingested {n} readings in {ingest:.2?} ({:.0} readings/s)", n / ingest.as_secs_f64());
    for round in 0..3 {
        let t = Instant::now();
        let mut acc = 0.0;
        for id in &ids {
            acc += black_box(book.annualised(id, now)).unwrap().value.unwrap_or(0.0);
        }
        let year = t.elapsed();
        let t = Instant::now();
        for id in &ids {
            let a = g.below(hours as u64 - 1) as i64;
            let from = start + a * 3_600_000;
            acc += black_box(book.pue(id, from, from + 24 * 3_600_000)).unwrap().value.unwrap_or(0.0);
        }
        println!(
            "round {round}: EnergyBook annualised PUE for {CENTRES} centres {year:.2?}; a random day each {:.2?} (checksum {acc:.3})",
            t.elapsed()
        );
    }
}
