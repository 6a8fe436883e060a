//! Bounded mutational fuzzing of every parser that takes outside input: trace files (Philly, Alibaba, Gavel), Gavel's throughput matrix, the city file, CSV meter readings, the de-identification readers, and over HTTP the JSON readings and Prometheus remote write.
//!
//! Stable Rust has no libFuzzer here, so this is a small mutator of its own: valid seeds are
//! flipped, truncated, spliced, repeated and salted with random bytes, deterministically from a
//! seed (`SUANLI_FUZZ_SEED`, default 1) and for a bounded number of cases each
//! (`SUANLI_FUZZ_CASES`, default 400), so CI spends seconds. A parser may refuse anything; it
//! must never panic, hang or (over HTTP) answer a server error.

use crate::harness::TestServer;
use std::io::Cursor;
use std::time::Duration;

/// xorshift64*: deterministic, seeded, enough for mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn cases() -> usize {
    std::env::var("SUANLI_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400)
}

fn rng(target: &str) -> Rng {
    let seed: u64 = std::env::var("SUANLI_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ target.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3))
        | 1)
}

const INTERESTING: &[&[u8]] = &[
    b"\0",
    b"\xff\xfe",
    b"\"",
    b",",
    b"\t",
    b"\n",
    b"\r\n",
    b"-1",
    b"1e309",
    b"NaN",
    b"-9223372036854775808",
    b"18446744073709551616",
    b"\xe4\xb8",
    b"\xc0\x80",
    b"{",
    b"}",
    b"[",
    b"]",
    b"0.000000000000000000001",
    b"  ",
    b"=",
    b"[[",
    b"\"\"\"",
];

/// One mutation of a seed: a few edits of different kinds.
fn mutate(r: &mut Rng, seeds: &[&[u8]]) -> Vec<u8> {
    let mut v = seeds[r.below(seeds.len())].to_vec();
    for _ in 0..1 + r.below(6) {
        let at = r.below(v.len() + 1);
        match r.below(8) {
            0 if !v.is_empty() => {
                let i = r.below(v.len());
                v[i] ^= 1 << r.below(8);
            }
            1 => v.insert(at, r.next() as u8),
            2 if !v.is_empty() => {
                let end = (at + 1 + r.below(16)).min(v.len());
                v.drain(at.min(end)..end);
            }
            3 => v.truncate(at),
            4 => {
                let other = seeds[r.below(seeds.len())];
                let from = r.below(other.len() + 1);
                let take = r.below(64);
                v.splice(at..at, other[from..].iter().copied().take(take));
            }
            5 => {
                v.splice(at..at, INTERESTING[r.below(INTERESTING.len())].iter().copied());
            }
            6 if !v.is_empty() => {
                let (a, n) = (r.below(v.len()), 1 + r.below(32));
                let chunk: Vec<u8> = v[a..(a + n).min(v.len())].to_vec();
                for _ in 0..r.below(8) {
                    let at = at.min(v.len());
                    v.splice(at..at, chunk.iter().copied());
                }
            }
            _ => {
                let n = r.below(16);
                v.extend((0..n).map(|_| r.next() as u8));
            }
        }
    }
    v
}

/// Runs a pure parser over mutated seeds; any panic fails the test with the input.
fn fuzz_pure(target: &str, seeds: &[&[u8]], parse: impl Fn(&[u8])) {
    let mut r = rng(target);
    for case in 0..cases() {
        let input = mutate(&mut r, seeds);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse(&input)));
        assert!(outcome.is_ok(), "{target}: case {case} panicked on {:?}", String::from_utf8_lossy(&input));
    }
}

#[test]
fn fuzz_trace_readers_and_city_files() {
    use suanli_sim::trace::{ReadOptions, TraceFormat, read_trace};
    let philly: &[u8] = b"timestamp,duration,num_gpus,gpu_time,cluster\n2017-10-09 07:01:55,66.0,1,66.0,11cb48\n2017-10-09 06:13:03,2951.0,8,23608.0,6214e9\n";
    let alibaba: &[u8] = b"name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\nopenb-pod-0000,12000,16384,1,1000,,LS,Running,0,12537496,0\nopenb-pod-0001,6000,12288,1,460,V100M16|V100M32,LS,Running,427061,12902960,427061\n";
    for (format, seed) in [(TraceFormat::Philly, philly), (TraceFormat::AlibabaOpenb, alibaba)] {
        for skip_invalid in [false, true] {
            let opts = ReadOptions { skip_invalid, max_jobs: None };
            fuzz_pure(format.as_str(), &[philly, alibaba, seed], |b| {
                let _ = read_trace(&String::from_utf8_lossy(b), format, &opts);
            });
        }
    }
    let gavel: &[u8] = b"ResNet-18 (batch size 16)\tcd image_classification/cifar10 && python3 main.py --data_dir=%s/cifar10\tcifar10\t--num_steps\t1\t34310\t1\t1.000000\t-1\t0.000000\nLM (batch size 80)\tcd language_modeling && python main.py\twikitext2\t--steps\t1\t12345\t4\t1.0\t-1\t1200.5\n";
    fuzz_pure("gavel-trace", &[gavel], |b| {
        let _ = suanli_sim::gavel_trace::read_gavel_trace(&String::from_utf8_lossy(b));
    });
    let matrix: &[u8] = br#"{"v100": {"('ResNet-18 (batch size 16)', 1)": {"null": 12.5, "('LM (batch size 80)', 1)": [1.0, 2.0]}}, "k80": {"('ResNet-18 (batch size 16)', 2)": {"null": 3.25}}}"#;
    fuzz_pure("gavel-throughputs", &[matrix], |b| {
        let _ = suanli_sim::gavel::parse_gavel(&String::from_utf8_lossy(b));
    });
    let city = include_bytes!("../../../../data/demo-city.toml");
    let head = &city[..city.len().min(6000)];
    fuzz_pure("city-file", &[head, city], |b| {
        let _ = suanli_sim::city::DemoCity::from_toml(&String::from_utf8_lossy(b));
    });
}

#[test]
fn fuzz_csv_meter_readings() {
    let csv: &[u8] = b"centre_id,meter,ts_ms,kwh\nctr_01a22e0000000000000001,facility,1796000000000,1000.5\nctr_01a22e0000000000000001,it,1796000900000,800\n";
    let rfc: &[u8] = b"centre_id,meter,ts,kw\nctr_1,cooling,2026-11-30T10:00:00Z,12.5\n";
    fuzz_pure("csv-readings", &[csv, rfc], |b| {
        let _ = suanli_energy::csv::parse_readings(&String::from_utf8_lossy(b));
    });
}

#[test]
fn fuzz_deidentification_readers() {
    use suanli_data::{CsvReader, Encoding, JsonLinesReader, Limits};
    let csv: &[u8] = "姓名,身份证号,手机,地址\n张三,11010519491231002X,13812345678,\"浙江省杭州市西湖区文三路 1 号\"\n李四,110101199003074477,\"139 1234 5678\",\"a,\"\"b\"\"\"\n".as_bytes();
    let jsonl: &[u8] = "{\"name\":\"张三\",\"id\":\"11010519491231002X\"}\n{\"phone\":\"13812345678\",\"n\":1.5}\n".as_bytes();
    let limits = Limits { max_field_bytes: 256, max_record_bytes: 1024 };
    for encoding in [Encoding::Utf8, Encoding::Gbk, Encoding::Gb18030] {
        fuzz_pure("csv", &[csv, jsonl], |b| {
            let mut r = CsvReader::new(Cursor::new(b.to_vec()), encoding, limits);
            if r.header().is_ok() {
                let mut buf = suanli_data::reader::RecordBuf::default();
                for _ in 0..10_000 {
                    if r.read_into(&mut buf).is_none() {
                        break;
                    }
                }
            }
        });
        fuzz_pure("jsonl", &[jsonl, csv], |b| {
            let _ = JsonLinesReader::new(Cursor::new(b.to_vec()), encoding, limits).take(10_000).count();
        });
    }
}

/// Over HTTP: mutated JSON readings and remote-write bodies are refused with a code, never
/// answered with a server error, and the server keeps answering.
#[tokio::test]
async fn fuzz_energy_ingest_over_http() {
    use prost::Message;
    use suanli_server::api::energy::remote::{Label, Sample, TimeSeries, WriteRequest};
    let s = TestServer::start().await;
    let op = s.as_role("operator");
    let centre = op.get("/api/v1/centres").await.1["items"][0]["id"].as_str().unwrap().to_string();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let json_seed = serde_json::json!({"readings": [
        {"centre_id": centre, "meter": "facility", "ts_ms": now - 60_000, "kwh": 1000.5},
        {"centre_id": centre, "meter": "it", "ts": "2026-11-30T10:00:00Z", "kwh": 800},
        {"centre_id": centre, "meter": "it", "ts_ms": now, "kw": 12.0}]})
    .to_string();
    let series = |name: &str, v: f64| TimeSeries {
        labels: vec![Label::new("__name__", name), Label::new("centre", &centre)],
        samples: vec![Sample { value: v, timestamp: now - 30_000 }, Sample { value: v + 1.0, timestamp: now }],
    };
    let proto =
        WriteRequest { timeseries: vec![series("suanli_facility_energy_kwh_total", 5000.0), series("suanli_it_energy_kwh_total", 4000.0)] }
            .encode_to_vec();
    let http = reqwest::Client::new();
    let token = s.tokens["operator"].clone();
    let mut r = rng("http-energy");
    let n = cases() / 4;
    for case in 0..n {
        let body = mutate(&mut r, &[json_seed.as_bytes()]);
        let resp = http
            .post(format!("{}/api/v1/energy/readings", s.url))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body.clone())
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap();
        assert!(resp.status().as_u16() < 500, "JSON readings case {case}: {} for {:?}", resp.status(), String::from_utf8_lossy(&body));
        // Remote write: mutate the protobuf, then compress (a valid frame around broken contents),
        // or mutate the compressed frame itself.
        let raw = mutate(&mut r, &[&proto]);
        let body = if case % 2 == 0 {
            snap::raw::Encoder::new().compress_vec(&raw).unwrap()
        } else {
            mutate(&mut r, &[&snap::raw::Encoder::new().compress_vec(&proto).unwrap()])
        };
        let resp = http
            .post(format!("{}/api/v1/energy/prometheus/write", s.url))
            .bearer_auth(&token)
            .header("content-type", "application/x-protobuf")
            .header("content-encoding", "snappy")
            .body(body)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap();
        assert!(resp.status().as_u16() < 500, "remote write case {case}: {}", resp.status());
    }
    assert_eq!(http.get(format!("{}/healthz", s.url)).send().await.unwrap().status(), reqwest::StatusCode::OK);
}
