//! Measures a whole delivery in MB/s on one core: read CSV, profile, de-identify every cell, write CSV.
//!
//! `cargo run --release -p suanli-data --example deidentify_speed [MB] [runs]`

use std::io::Cursor;
use std::time::Instant;
use suanli_data::corpus::{Rng, labelled_text, value};
use suanli_data::pipeline::{Options, deidentify};
use suanli_data::{Grade, Kind, OpeningMode, Policy, PseudonymKey};

fn table(r: &mut Rng, bytes: usize, notes: bool) -> Vec<u8> {
    let mut s = String::from("姓名,身份证号,手机,地址,年龄,金额,备注\n");
    while s.len() < bytes {
        let row: Vec<String> =
            [Kind::Name, Kind::ResidentId, Kind::Mobile, Kind::Address, Kind::Age].iter().map(|&k| value(r, k)).collect();
        let note = if notes { labelled_text(r, 2).0 } else { "已完成".to_string() };
        s.push_str(&format!("{},{}.{:02},{note}\n", row.join(","), r.below(100_000), r.below(100)));
    }
    s.into_bytes()
}

fn main() {
    let mb: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(64);
    let mut r = Rng::new(1);
    println!("{:<44} {:>8} {:>10} {:>8}", "input, policy", "MB", "rows out", "MB/s");
    let cases = [
        ("tagged columns, general unconditional", false, OpeningMode::Unconditional),
        ("tagged columns + free text, unconditional", true, OpeningMode::Unconditional),
        ("tagged columns + free text, conditional", true, OpeningMode::Conditional),
    ];
    let inputs: Vec<Vec<u8>> = cases.iter().map(|c| table(&mut r, mb * 1_000_000, c.1)).collect();
    // Runs per case (the best is shown): more runs make a profile of the delivery, not of the generator.
    let runs: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(1);
    for ((name, _, mode), input) in cases.into_iter().zip(inputs) {
        let mut best = f64::MAX;
        let mut rows_out = 0;
        for _ in 0..runs {
            let policy = Policy::for_grade(Grade::General { level: 1 }, mode).unwrap();
            let key = (mode == OpeningMode::Conditional).then(|| PseudonymKey::new(b"consumer"));
            let mut out = Vec::with_capacity(input.len());
            let t = Instant::now();
            let outcome = deidentify(&mut || Ok(Cursor::new(&input[..])), &mut out, policy, key, &Options::default()).unwrap();
            best = best.min(t.elapsed().as_secs_f64());
            rows_out = outcome.report.rows_out;
        }
        println!("{name:<44} {:>8.1} {rows_out:>10} {:>8.0}", input.len() as f64 / 1e6, input.len() as f64 / 1e6 / best);
    }
}
