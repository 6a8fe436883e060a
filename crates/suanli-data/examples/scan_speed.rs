//! Measures the detectors' throughput in MB/s on one core over generated Chinese text and CSV.
//!
//! `cargo run --release -p suanli-data --example scan_speed [MB]`

use std::time::Instant;
use suanli_data::corpus::{Rng, labelled_text, value};
use suanli_data::{Kind, scan_into};

fn chinese(r: &mut Rng, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 4096);
    while s.len() < bytes {
        s.push_str(&labelled_text(r, 20).0);
        s.push('\n');
    }
    s
}

fn csv(r: &mut Rng, bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 4096);
    while s.len() < bytes {
        let row: Vec<String> =
            [Kind::Name, Kind::ResidentId, Kind::Mobile, Kind::Address, Kind::Age, Kind::BankCard].iter().map(|&k| value(r, k)).collect();
        s.push_str(&row.join(","));
        s.push_str(&format!(",{}.{:02},已完成\n", r.below(100_000), r.below(100)));
    }
    s
}

/// Scans `text` line by line (as the engine scans cells); returns MB/s and the spans found.
fn measure(text: &str) -> (f64, usize) {
    let mut spans = Vec::new();
    let mut best = f64::MAX;
    let mut found = 0;
    for _ in 0..3 {
        let t = Instant::now();
        found = 0;
        for line in text.split('\n') {
            scan_into(line, &mut spans);
            found += spans.len();
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    (text.len() as f64 / 1e6 / best, found)
}

fn main() {
    let mb: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(64);
    let mut r = Rng::new(1);
    let filler =
        "根据杭州市人工智能产业发展规划，全市算力资源统一调度，数据要素有序开放，企业按规定申请使用。".repeat(1 + mb * 1_000_000 / 140);
    let cases = [
        ("Chinese text with an identifier every ~40 bytes", chinese(&mut r, mb * 1_000_000)),
        ("CSV rows of identifiers", csv(&mut r, mb * 1_000_000)),
        ("Chinese prose without identifiers", filler),
    ];
    println!("{:<50} {:>8} {:>10} {:>10}", "input", "MB", "spans", "MB/s");
    for (name, text) in &cases {
        let (rate, found) = measure(text);
        println!("{name:<50} {:>8.1} {found:>10} {rate:>10.0}", text.len() as f64 / 1e6);
    }
}
