//! Energy telemetry through the API: JSON batches and Prometheus remote write in, PUE, coverage, evaluation and alerts out.

use crate::harness::{Api, TestServer, cli};
use prost::Message;
use reqwest::StatusCode;
use serde_json::{Value, json};
use suanli_core::id::CentreId;
use suanli_server::api::energy::remote::{Label, Sample, TimeSeries, WriteRequest};

const DAY: i64 = 86_400_000;
const QUARTER: i64 = 900_000;
const PROM_FACILITY: &str = suanli_server::api::energy::PROM_FACILITY_METRIC;
const PROM_IT: &str = suanli_server::api::energy::PROM_IT_METRIC;

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A fresh centre of the demo provider (200 racks: rated 4,000 kW), so no telemetry yet.
pub(crate) async fn new_centre(s: &TestServer) -> String {
    let (_, me) = s.as_role("provider").get("/api/v1/me").await;
    let provider = me["provider_id"].as_str().unwrap().to_string();
    let body = json!({"provider_id": provider, "name": "能耗测试中心", "name_en": "Energy test centre", "kind": "cloud", "region": "hz-qiantang",
        "commissioned": "2024-06-01", "declared_pue": 1.3, "racks": 200});
    let (st, v) = s.as_role("operator").post("/api/v1/centres", &body).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_string()
}

/// A day of 15-minute counter readings: facility 1000 → 2300 kWh, IT 500 → 1500 kWh (PUE 1.30).
pub(crate) fn day_of_readings(centre: &str, d0: i64) -> Vec<Value> {
    let mut out = Vec::new();
    for k in 0..=96i64 {
        let ts = d0 + k * QUARTER;
        out.push(json!({"centre_id": centre, "meter": "facility", "ts_ms": ts, "kwh": 1000.0 + 1300.0 * k as f64 / 96.0}));
        out.push(json!({"centre_id": centre, "meter": "it", "ts_ms": ts, "kwh": 500.0 + 1000.0 * k as f64 / 96.0}));
    }
    out
}

async fn pue(api: &Api, centre: &str, from: i64, to: i64) -> Value {
    let (st, v) = api.get(&format!("/api/v1/energy/centres/{centre}/pue?from={from}&to={to}")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v
}

async fn stored(s: &TestServer, centre: &str) -> i64 {
    s.state.store.energy_reading_count(&CentreId::parse(centre).unwrap()).await.unwrap()
}

#[tokio::test]
async fn energy_json_ingest_pue_rejections_and_duplicates() {
    let s = TestServer::start().await;
    let centre = new_centre(&s).await;
    let provider = s.as_role("provider");
    let d0 = (now_ms() / DAY - 3) * DAY;
    let batch = json!({"readings": day_of_readings(&centre, d0)});

    // Tenants and regulators do not send readings; the provider sends for its own centre.
    for role in ["tenant", "regulator"] {
        let (st, v) = s.as_role(role).post("/api/v1/energy/readings", &batch).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{role}: {v}");
    }
    assert_eq!(stored(&s, &centre).await, 0);
    let (st, v) = provider.post("/api/v1/energy/readings", &batch).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!((v["accepted"].as_u64(), v["duplicates"].as_u64()), (Some(194), Some(0)), "{v}");
    assert_eq!(v["rejected"], json!([]));
    assert_eq!(stored(&s, &centre).await, 194);

    // (2300 - 1000) / (1500 - 500) = 1.30, category 2 (PDU output), fully measured.
    let p = pue(&s.as_role("regulator"), &centre, d0, d0 + DAY).await;
    assert!((p["value"].as_f64().unwrap() - 1.30).abs() < 1e-6, "{p}");
    assert_eq!(p["label"], "PUE2");
    assert_eq!(p["completeness"].as_f64(), Some(1.0), "{p}");
    assert!((p["facility_kwh"].as_f64().unwrap() - 1300.0).abs() < 1e-3, "{p}");

    // The same batch again: all duplicates, nothing new stored.
    let (st, v) = provider.post("/api/v1/energy/readings", &batch).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!((v["accepted"].as_u64(), v["duplicates"].as_u64()), (Some(0), Some(194)), "{v}");
    assert_eq!(stored(&s, &centre).await, 194);

    // Each batch has one audit record by its sender: the totals, and by centre only the
    // centres with duplicates or refusals (the first batch had none, the second only those).
    let trail = s.state.store.audit_log(Some(&centre), 50).await.unwrap();
    let ingests: Vec<&suanli_store::Audit> = trail.iter().filter(|a| a.action == "energy.ingest").collect();
    assert_eq!(ingests.len(), 2, "{trail:?}");
    let detail = |dups: u64| {
        json!({"centres": 1, "accepted": 194 - dups, "duplicates": dups, "rejected": 0,
        "by_centre": if dups == 0 { json!({}) } else { json!({ centre.as_str(): {"accepted": 0, "duplicates": dups, "rejected": 0} }) }})
    };
    let mut details: Vec<&Value> = ingests.iter().map(|a| &a.detail).collect();
    details.sort_by_key(|d| d["duplicates"].as_u64());
    assert_eq!(details, vec![&detail(0), &detail(194)]);
    assert!(ingests.iter().all(|a| a.actor.starts_with("provider:")), "{ingests:?}");

    // Bad data: each reading refused with its code, naming meter and time; nothing stored.
    let t = d0 + DAY + QUARTER;
    let bad = json!({"readings": [
        {"centre_id": centre, "meter": "facility", "ts_ms": t, "kwh": -5.0},
        {"centre_id": centre, "meter": "it", "ts_ms": t, "kw": 300.0},
        {"centre_id": centre, "meter": "facility", "ts_ms": t + QUARTER, "kwh": 2300.0 + 5000.0},
        {"centre_id": centre, "meter": "chiller", "ts_ms": t, "kwh": 10.0},
        {"centre_id": centre, "meter": "it", "ts_ms": t + QUARTER, "kwh": 1e13},
        {"centre_id": centre, "meter": "it", "ts_ms": now_ms() + DAY, "kwh": 1600.0},
    ]});
    let (st, v) = provider.post("/api/v1/energy/readings", &bad).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["accepted"].as_u64(), Some(0), "{v}");
    let mut codes: Vec<(String, String, i64)> = v["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["meter"].as_str().unwrap().into(), r["code"].as_str().unwrap().into(), r["ts_ms"].as_i64().unwrap()))
        .collect();
    codes.sort();
    let mut want = vec![
        ("facility".to_string(), "reading_negative".to_string(), t),
        ("it".into(), "reading_unit_mismatch".into(), t),
        ("facility".into(), "power_over_capacity".into(), t + QUARTER),
        ("chiller".into(), "meter_not_found".into(), t),
        ("it".into(), "reading_not_finite".into(), t + QUARTER),
    ];
    want.sort();
    assert_eq!(codes.len(), 6, "{v}");
    for w in &want {
        assert!(codes.contains(w), "{w:?} missing in {codes:?}");
    }
    assert!(codes.iter().any(|(m, c, _)| m == "it" && c == "reading_time_implausible"), "{codes:?}");
    assert_eq!(stored(&s, &centre).await, 194);

    // JSON has no NaN: such a body is malformed, and a reading needs exactly one value.
    let nan = format!(r#"{{"readings":[{{"centre_id":"{centre}","meter":"it","ts_ms":{t},"kwh":NaN}}]}}"#);
    let (st, v) = provider.post_raw("/api/v1/energy/readings", &nan, Some("application/json")).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed_json")), "{v}");
    let two = json!({"readings": [{"centre_id": centre, "meter": "it", "ts_ms": t, "kwh": 1.0, "kw": 2.0}]});
    let (st, v) = provider.post("/api/v1/energy/readings", &two).await;
    assert_eq!(v["code"], "invalid_body", "{st} {v}");
    // An RFC 3339 time works like ts_ms; an unknown centre is data_centre_not_found.
    let rfc = json!({"readings": [{"centre_id": centre, "meter": "it", "ts": suanli_core::time::format_rfc3339(d0), "kwh": 500.0}]});
    let (_, v) = provider.post("/api/v1/energy/readings", &rfc).await;
    assert_eq!(v["duplicates"].as_u64(), Some(1), "{v}");
    let ghost = json!({"readings": [{"centre_id": "ctr_00000000000000000000ff", "meter": "it", "ts_ms": t, "kwh": 1.0}]});
    let (st, v) = s.as_role("operator").post("/api/v1/energy/readings", &ghost).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("data_centre_not_found")), "{v}");
    assert_eq!(stored(&s, &centre).await, 194);
    let p = pue(&s.as_role("tenant"), &centre, d0, d0 + DAY).await;
    assert!((p["value"].as_f64().unwrap() - 1.30).abs() < 1e-6, "{p}");

    // The book rebuilt from the store (as on restart) gives the same PUE.
    let book =
        suanli_app::energy::build_book(&s.state.store, &suanli_app::energy::config_for(&s.state.policy), now_ms()).await.unwrap().book;
    let rebuilt = book.pue(&CentreId::parse(&centre).unwrap(), d0, d0 + DAY).unwrap();
    assert!((rebuilt.value.unwrap() - 1.30).abs() < 1e-6, "{rebuilt:?}");

    // Series by hour over the day: 24 points, each PUE 1.30.
    let (st, v) = s.as_role("tenant").get(&format!("/api/v1/energy/centres/{centre}/series?from={d0}&to={}&step=hour", d0 + DAY)).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 24, "{v}");
    assert!(points.iter().all(|p| (p["pue"].as_f64().unwrap() - 1.30).abs() < 1e-6), "{v}");
}

fn series(name: &str, centre: &str, samples: Vec<(i64, f64)>) -> TimeSeries {
    TimeSeries {
        labels: vec![Label::new("__name__", name), Label::new("centre", centre), Label::new("job", "dcim")],
        samples: samples.into_iter().map(|(timestamp, value)| Sample { value, timestamp }).collect(),
    }
}

async fn remote_write(api: &Api, body: Vec<u8>) -> (StatusCode, String) {
    post_remote_write(&format!("{}/api/v1/energy/prometheus/write", api.url()), api.token(), body).await
}

/// Posts a snappy-compressed remote-write body to `url` as Prometheus does.
async fn post_remote_write(url: &str, token: Option<&str>, body: Vec<u8>) -> (StatusCode, String) {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "snappy")
        .header("x-prometheus-remote-write-version", "0.1.0")
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

#[tokio::test]
async fn energy_prometheus_remote_write_payload() {
    let s = TestServer::start().await;
    let centre = new_centre(&s).await;
    let d0 = (now_ms() / DAY - 2) * DAY;
    let steps = 0..=96i64;
    let facility = steps.clone().map(|k| (d0 + k * QUARTER, 1000.0 + 1300.0 * k as f64 / 96.0)).collect();
    let mut it: Vec<(i64, f64)> = steps.map(|k| (d0 + k * QUARTER, 500.0 + 1000.0 * k as f64 / 96.0)).collect();
    it.push((d0 + DAY + QUARTER, f64::from_bits(0x7ff0_0000_0000_0002))); // a stale marker
    let up = TimeSeries {
        labels: vec![Label::new("__name__", "up"), Label::new("job", "dcim")],
        samples: vec![Sample { value: 1.0, timestamp: d0 }],
    };
    let req = WriteRequest {
        timeseries: vec![
            series("suanli_facility_energy_kwh_total", &centre, facility),
            series("suanli_it_energy_kwh_total", &centre, it),
            up,
        ],
    };
    let body = snap::raw::Encoder::new().compress_vec(&req.encode_to_vec()).unwrap();

    let (st, text) = remote_write(&s.as_role("tenant"), body.clone()).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{text}");
    let (st, text) = remote_write(&s.as_role("provider"), body.clone()).await;
    assert_eq!(st, StatusCode::OK, "{text}");
    // The answer says what happened to every sample: the stale marker was dropped, `up` ignored.
    let out: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (out["accepted"].as_u64(), out["dropped_not_a_number"].as_u64(), out["ignored_series"].as_u64()),
        (Some(194), Some(1), Some(1)),
        "{out}"
    );
    assert_eq!(stored(&s, &centre).await, 194);
    let p = pue(&s.as_role("regulator"), &centre, d0, d0 + DAY).await;
    assert!((p["value"].as_f64().unwrap() - 1.30).abs() < 1e-6, "{p}");
    // Prometheus resends on failure: a resent batch changes nothing.
    let (st, text) = remote_write(&s.as_role("operator"), body).await;
    assert_eq!(st, StatusCode::OK, "{text}");
    assert_eq!(stored(&s, &centre).await, 194);

    // A provider writes only its own centres: a request naming another provider's centre is
    // refused whole, its own centre's samples included, and nothing is stored.
    let operator = s.as_role("operator");
    let (_, other) = operator.post("/api/v1/providers", &json!({"name": "另一家数据中心"})).await;
    let body = json!({"provider_id": other["id"], "name": "他人中心", "name_en": "Someone else's centre", "kind": "cloud",
        "region": "hz-qiantang", "commissioned": "2024-06-01", "declared_pue": 1.3, "racks": 200});
    let (st, v) = operator.post("/api/v1/centres", &body).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let theirs = v["id"].as_str().unwrap().to_string();
    let at = d0 + DAY + 3 * QUARTER;
    let both = WriteRequest {
        timeseries: vec![
            series("suanli_facility_energy_kwh_total", &centre, vec![(at, 2400.0)]),
            series("suanli_facility_energy_kwh_total", &theirs, vec![(at, 100.0)]),
        ],
    };
    let (st, text) = remote_write(&s.as_role("provider"), snap::raw::Encoder::new().compress_vec(&both.encode_to_vec()).unwrap()).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{text}");
    assert_eq!((stored(&s, &centre).await, stored(&s, &theirs).await), (194, 0));

    // A decompression bomb: 2 MB of snappy that expands to millions of empty series is refused
    // with 413 before it is decoded, and changes nothing.
    let bomb = snap::raw::Encoder::new().compress_vec(&[0x0a, 0x00].repeat(5_000_000)).unwrap();
    let (st, text) = remote_write(&s.as_role("provider"), bomb).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    assert!(text.contains("payload_too_large"), "{text}");
    let wide = snap::raw::Encoder::new().compress_vec(&[0x0a, 0x00].repeat(60_000)).unwrap();
    let (st, text) = remote_write(&s.as_role("provider"), wide).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE, "{text}");
    assert_eq!(stored(&s, &centre).await, 194);

    // Not snappy, snappy but not protobuf, or a label that is not UTF-8 (protobuf strings are):
    // 400 with a problem body, and nothing stored.
    let mut not_utf8 = series("suanli_facility_energy_kwh_total", &centre, vec![(d0 + DAY + 2 * QUARTER, 5000.0)]);
    not_utf8.labels[2].value = prost::bytes::Bytes::from_static(b"dc\xffim");
    let not_utf8 = snap::raw::Encoder::new().compress_vec(&WriteRequest { timeseries: vec![not_utf8] }.encode_to_vec()).unwrap();
    for garbage in [b"not snappy at all".to_vec(), snap::raw::Encoder::new().compress_vec(&[0xff; 40]).unwrap(), not_utf8] {
        let (st, text) = remote_write(&s.as_role("operator"), garbage).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["code"], "malformed_payload", "{v}");
    }
    assert_eq!(stored(&s, &centre).await, 194);
}

/// Remote writes are mapped by the meters a centre has now: meters registered after its first
/// readings feed through `suanli_meter_reading`, in their own units, and a meter it no longer
/// has is ignored, not refused.
#[tokio::test]
async fn energy_remote_write_follows_registered_meters() {
    let s = TestServer::start().await;
    let centre = new_centre(&s).await;
    let d0 = (now_ms() / DAY - 1) * DAY;
    let provider = s.as_role("provider");
    let counter = |k: i64| (d0 + k * QUARTER, 1000.0 + 10.0 * k as f64);
    let first = WriteRequest { timeseries: vec![series(PROM_FACILITY, &centre, vec![counter(0)])] };
    let (st, text) = remote_write(&provider, snap::raw::Encoder::new().compress_vec(&first.encode_to_vec()).unwrap()).await;
    assert_eq!(st, StatusCode::OK, "{text}");

    let meters = json!({"meters": [
        {"id": "grid", "kind": "facility_total", "unit": "cumulative_kwh"},
        {"id": "pv", "kind": "renewable", "unit": "instant_kw"}]});
    let (st, v) = provider.post(&format!("/api/v1/energy/centres/{centre}/meters"), &meters).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let named = |meter: &str, samples: Vec<(i64, f64)>| {
        let mut t = series("suanli_meter_reading", &centre, samples);
        t.labels.push(Label::new("meter", meter));
        t
    };
    let req = WriteRequest {
        timeseries: vec![
            named("grid", (0..4).map(counter).collect()),
            named("pv", vec![(d0, 120.0), (d0 + QUARTER, 130.0)]),
            named("it", vec![(d0, 5.0)]),
            named("nope", vec![(d0, 5.0)]),
            series(PROM_FACILITY, &centre, vec![counter(1)]),
        ],
    };
    let (st, text) = remote_write(&provider, snap::raw::Encoder::new().compress_vec(&req.encode_to_vec()).unwrap()).await;
    assert_eq!(st, StatusCode::OK, "{text}");
    let out: Value = serde_json::from_str(&text).unwrap();
    // `facility` had a reading, so it stays; `it` never had one and went with the new meters.
    assert_eq!((out["accepted"].as_u64(), out["rejected"].as_u64(), out["ignored_series"].as_u64()), (Some(7), Some(0), Some(2)), "{out}");
    assert_eq!(stored(&s, &centre).await, 8);
}

#[tokio::test]
async fn energy_demo_city_coverage_evaluation_alerts() {
    let s = TestServer::start().await;
    let api = s.as_role("regulator");
    let (st, cov) = api.get("/api/v1/energy/coverage").await;
    assert_eq!(st, StatusCode::OK, "{cov}");
    let (registered, monitored) = (cov["registered"].as_u64().unwrap(), cov["monitored"].as_u64().unwrap());
    assert_eq!(registered, 26, "{cov}");
    assert_eq!(monitored, registered - suanli_server::demo::SILENT_CENTRES as u64, "{cov}");
    let c = cov["coverage"].as_f64().unwrap();
    assert!((0.75..1.0).contains(&c), "{cov}");
    assert_eq!(cov["meets_target"], true);
    assert_eq!(cov["silent"].as_array().unwrap().len(), suanli_server::demo::SILENT_CENTRES, "{cov}");

    // Before any job ran, utilisation is unknown and left out of the score.
    let (_, ev) = s.as_role("tenant").get("/api/v1/energy/evaluation").await;
    assert!(ev["assessments"].as_array().unwrap().iter().all(|a| a["lifecycle"]["components"]["utilisation"].is_null()), "{ev}");
    // Once jobs ran, the scheduler's record gives each centre with pools its utilisation.
    let job = json!({"name": "util", "kind": "training", "accelerators": 64, "duration_s": 36_000});
    let (st, j) = s.as_role("tenant").post("/api/v1/jobs", &job).await;
    assert_eq!(st, StatusCode::CREATED, "{j}");
    let done = crate::harness::wait_for_final(&s.as_role("tenant"), j["id"].as_str().unwrap(), std::time::Duration::from_secs(30)).await;
    let ran_at = done["centre_id"].as_str().unwrap().to_string();
    let (st, ev) = s.as_role("tenant").get("/api/v1/energy/evaluation").await;
    assert_eq!(st, StatusCode::OK, "{ev}");
    let list = ev["assessments"].as_array().unwrap();
    let util = |a: &Value| a["lifecycle"]["components"]["utilisation"].as_f64();
    let here = list.iter().find(|a| a["dc"] == ran_at.as_str()).unwrap();
    assert!(util(here).is_some_and(|u| u > 0.0), "{here}");
    assert!(list.iter().filter(|a| a["dc"] != ran_at.as_str()).all(|a| util(a).is_none_or(|u| u == 0.0)), "{ev}");
    assert_eq!(list.len(), 26);
    for (i, a) in list.iter().enumerate() {
        assert_eq!(a["rank"].as_u64(), Some(i as u64 + 1), "{a}");
        assert!(
            a["grading"]["outcome"].is_string() && a["policy"]["outcome"].is_string() && a["lifecycle"]["recommendation"].is_string(),
            "{a}"
        );
        assert!(a["name"].is_string(), "{a}");
        assert!(a["recent_pue"]["label"].is_string(), "{a}");
    }
    let (st, ev) = api.get("/api/v1/energy/evaluation?year=2025").await;
    assert_eq!(st, StatusCode::OK, "{ev}");

    let (st, al) = api.get("/api/v1/energy/alerts").await;
    assert_eq!(st, StatusCode::OK, "{al}");
    assert!(!al["alerts"].as_array().unwrap().is_empty(), "silent centres raise alerts: {al}");

    // A live demo centre's PUE over the last day is near its declared PUE.
    let (_, centres) = api.get("/api/v1/centres").await;
    let items = centres.as_array().or_else(|| centres["items"].as_array()).unwrap().clone();
    let silent: Vec<&str> = cov["silent"].as_array().unwrap().iter().map(|x| x["dc"].as_str().unwrap()).collect();
    let live = items.iter().find(|c| !silent.contains(&c["id"].as_str().unwrap())).unwrap();
    let now = now_ms();
    let p = pue(&api, live["id"].as_str().unwrap(), now - 2 * DAY, now - DAY).await;
    let declared = live["declared_pue"].as_f64().unwrap();
    let value = p["value"].as_f64().unwrap_or_else(|| panic!("a live centre has a PUE: {p}"));
    assert!((value - declared).abs() < 0.15, "PUE {value} vs declared {declared}: {p}");
    let (st, v) = api.get(&format!("/api/v1/energy/centres/{}/series?step=day", live["id"].as_str().unwrap())).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(v["points"].as_array().unwrap().len() >= 7, "{v}");
    let (st, v) = api.get("/api/v1/energy/centres/ctr_00000000000000000000ff/pue").await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("data_centre_not_found")), "{v}");
}

/// A tiny exporter of a data centre's meters: scrape k shows the facility and IT counters after
/// k steps of +13 kWh and +10 kWh (from 1,000 and 500), then keeps showing the last one.
async fn exporter(centre: String, steps: i64) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut k = 0i64;
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let step = k.min(steps);
            k += 1;
            let (f, it) = (1000.0 + 13.0 * step as f64, 500.0 + 10.0 * step as f64);
            let body = format!(
                "# TYPE suanli_facility_energy_kwh_total counter\nsuanli_facility_energy_kwh_total{{centre=\"{centre}\"}} {f}\n\
                 # TYPE suanli_it_energy_kwh_total counter\nsuanli_it_energy_kwh_total{{centre=\"{centre}\"}} {it}\n"
            );
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        }
    });
    addr
}

/// The real Prometheus (Debian's 2.42) remote-writes into Suanli with a provider's token, by
/// two roads, and Suanli's figures match the hand computation.
///
/// - **Scraped:** Prometheus scrapes a loopback exporter every second (the counters rise by 13
///   and 10 kWh a scrape, then stay flat) and forwards the samples, stamped with the wall
///   clock. The facility and IT energy Suanli books are whole multiples of 13 and 10 kWh in the
///   ratio 1.30 (however many scrapes Prometheus made before its remote-write queue started); being seconds apart, they make no complete 15-minute bucket, so the PUE figure
///   itself says `incomplete`.
/// - **Relayed, fast-forwarded:** Prometheus forwards only samples stamped after it started, and
///   a scrape refuses samples stamped over 10 minutes ahead, so an hour of meter readings can't
///   be scraped in seconds. The test writes 55 minutes of 5-minute counters (stamped from a second
///   ahead on) into Prometheus's own remote-write receiver, as a site's Prometheus agent or
///   federation would, and Prometheus's remote-write queue sends them on to Suanli, whose clock
///   runs two hours ahead so none is in its future. By hand: facility +13 kWh and IT +10 kWh
///   per 5 minutes, so the 30 minutes from the first whole bucket give E_DC = 78 kWh and
///   E_IT = 60 kWh: PUE2 = 1.30, complete.
///
/// Skipped, loudly, when `/usr/bin/prometheus` is not installed (`apt-get install prometheus`); fails under CI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn energy_real_prometheus_remote_write() {
    let bin = std::path::Path::new("/usr/bin/prometheus");
    if !bin.exists() {
        crate::harness::missing("energy_real_prometheus_remote_write", "/usr/bin/prometheus is missing (apt-get install -y prometheus)");
        return;
    }
    let s = TestServer::start_ahead(2 * 3_600_000).await;
    let (scraped, relayed) = (new_centre(&s).await, new_centre(&s).await);
    let target = exporter(scraped.clone(), 1000).await;

    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1m\n\
         scrape_configs:\n  - job_name: dcim\n    scrape_interval: 1s\n    static_configs:\n      - targets: ['{target}']\n\
         remote_write:\n  - url: {}/api/v1/energy/prometheus/write\n    authorization:\n      credentials: {}\n\
         \x20   queue_config:\n      batch_send_deadline: 1s\n      min_backoff: 100ms\n      max_backoff: 1s\n",
        s.url, s.tokens["provider"]
    );
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    let mut prom = tokio::process::Command::new(bin)
        .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
        .kill_on_drop(true)
        .spawn()
        .expect("prometheus starts");
    let prom_url = format!("http://127.0.0.1:{port}");
    let ready = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while !reqwest::get(format!("{prom_url}/-/ready")).await.is_ok_and(|r| r.status().is_success()) {
        assert!(tokio::time::Instant::now() < ready, "prometheus was not ready in 30 s");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // The relayed 55 minutes: 12 readings per meter, 5 minutes apart, from a second ahead (all
    // within an hour of each other, or Prometheus would refuse the scraped samples as too old).
    let t0 = now_ms() / 1000 * 1000 + 1_000;
    let hour: Vec<i64> = (0..=11).map(|k| t0 + k * 300_000).collect();
    let req = WriteRequest {
        timeseries: vec![
            series(PROM_FACILITY, &relayed, hour.iter().enumerate().map(|(k, t)| (*t, 1000.0 + 13.0 * k as f64)).collect()),
            series(PROM_IT, &relayed, hour.iter().enumerate().map(|(k, t)| (*t, 500.0 + 10.0 * k as f64)).collect()),
        ],
    };
    let body = snap::raw::Encoder::new().compress_vec(&req.encode_to_vec()).unwrap();
    let (st, text) = post_remote_write(&format!("{prom_url}/api/v1/write"), None, body).await;
    assert!(st.is_success(), "prometheus refused the relayed hour: {text}");

    // Wait for both: a dozen scraped readings a meter and the hour.
    let end = tokio::time::Instant::now() + std::time::Duration::from_secs(90);
    while stored(&s, &scraped).await < 24 || stored(&s, &relayed).await < 24 {
        if tokio::time::Instant::now() > end {
            let log = std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
            let metrics = match reqwest::get(format!("{prom_url}/metrics")).await {
                Ok(r) => r.text().await.unwrap_or_default(),
                Err(e) => e.to_string(),
            };
            let metrics: Vec<&str> = metrics
                .lines()
                .filter(|l| {
                    (l.starts_with("prometheus_remote_storage_samples") || l.starts_with("prometheus_target_scrapes"))
                        && !l.contains("bucket")
                })
                .collect();
            let _ = prom.kill().await;
            panic!(
                "Prometheus did not deliver in 90 s ({} scraped and {} relayed readings stored); its metrics:\n{}\nits log:\n{log}",
                stored(&s, &scraped).await,
                stored(&s, &relayed).await,
                metrics.join("\n")
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let _ = prom.kill().await;
    let regulator = s.as_role("regulator");

    let now = now_ms();
    let p = pue(&regulator, &scraped, now - 3_600_000, now + 60_000).await;
    let (f, it) = (p["facility_kwh"].as_f64().unwrap(), p["it_kwh"].as_f64().unwrap());
    // The first delivered scrape is the baseline; both meters rise by the same number of steps.
    assert!(f > 0.0 && (f / 13.0 - (f / 13.0).round()).abs() < 1e-6 && (it - f / 1.3).abs() < 1e-6, "{p}");
    assert!((f / it - 1.30).abs() < 1e-9, "{p}");
    assert_eq!(p["no_value"], "incomplete", "{p}");

    let from = (t0 + QUARTER - 1) / QUARTER * QUARTER;
    let p = pue(&regulator, &relayed, from, from + 2 * QUARTER).await;
    assert!((p["facility_kwh"].as_f64().unwrap() - 78.0).abs() < 1e-6, "{p}");
    assert!((p["it_kwh"].as_f64().unwrap() - 60.0).abs() < 1e-6, "{p}");
    assert!((p["value"].as_f64().expect("a PUE figure") - 1.30).abs() < 1e-9, "{p}");
    assert_eq!(p["label"], "PUE2", "{p}");
    assert!((p["completeness"].as_f64().unwrap() - 1.0).abs() < 1e-9, "{p}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn energy_cli_import_pue_coverage_report() {
    let s = TestServer::start().await;
    let centre = new_centre(&s).await;
    let d0 = (now_ms() / DAY - 2) * DAY;
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("centre_id,meter,ts,kwh\n");
    for r in day_of_readings(&centre, d0) {
        let ts = suanli_core::time::format_rfc3339(r["ts_ms"].as_i64().unwrap());
        csv.push_str(&format!("{},{},{ts},{}\n", r["centre_id"].as_str().unwrap(), r["meter"].as_str().unwrap(), r["kwh"]));
    }
    csv.push_str(&format!("{centre},it,{},-1\n", suanli_core::time::format_rfc3339(d0 + DAY + QUARTER)));
    let file = dir.path().join("readings.csv");
    std::fs::write(&file, csv).unwrap();

    let (ok, out, err) = cli(&s, "provider", &["energy", "import", file.to_str().unwrap(), "-o", "json"]).await;
    assert!(ok, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"], json!({"readings": 195, "accepted": 194, "duplicates": 0, "rejected": 1}), "{v}");
    assert_eq!(v["rejected"][0]["code"], "reading_negative", "{v}");

    let (from, to) = (suanli_core::time::format_rfc3339(d0), suanli_core::time::format_rfc3339(d0 + DAY));
    let (ok, out, err) = cli(&s, "regulator", &["energy", "pue", &centre, "--from", &from, "--to", &to, "-o", "json"]).await;
    assert!(ok, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!((v["value"].as_f64().unwrap() - 1.30).abs() < 1e-6, "{v}");
    let (ok, out, _) = cli(&s, "regulator", &["energy", "pue", &centre, "--from", &from, "--to", &to]).await;
    assert!(ok && out.contains("PUE2 1.30"), "{out}");

    let (ok, out, err) = cli(&s, "tenant", &["energy", "coverage"]).await;
    assert!(ok && out.contains("coverage"), "{out}{err}");
    let (ok, out, err) = cli(&s, "tenant", &["energy", "report", "--year", "2026", "-o", "markdown"]).await;
    assert!(ok && out.starts_with("| rank | centre |") && out.lines().count() == 2 + 27, "{out}{err}");
    let (ok, out, err) = cli(&s, "tenant", &["energy", "report", "-o", "csv"]).await;
    assert!(ok && out.starts_with("rank,centre,name,annualised PUE,year measured,PUE 30 d"), "{out}{err}");
    let (ok, _, err) = cli(&s, "tenant", &["energy", "import", file.to_str().unwrap()]).await;
    assert!(!ok && err.contains("forbidden"), "{err}");

    // Meters and facts from the CLI: a water meter added beside the two with readings.
    let meters = dir.path().join("meters.json");
    std::fs::write(&meters, r#"[{"id": "water", "kind": "water", "unit": "cumulative_m3"}]"#).unwrap();
    let (ok, out, err) = cli(&s, "provider", &["energy", "meters", &centre, "--set", meters.to_str().unwrap()]).await;
    assert!(ok && out.contains("water") && out.contains("facility") && out.contains("97"), "{out}{err}");
    let (ok, out, err) = cli(&s, "provider", &["energy", "facts", &centre, "--cooling", "free_cooling", "--rated-kw", "3500"]).await;
    assert!(ok && out.contains("free_cooling") && out.contains("3500"), "{out}{err}");
    let (ok, _, err) = cli(&s, "provider", &["energy", "facts", &centre, "--cooling", "ice", "--rated-kw", "3500"]).await;
    assert!(!ok && err.contains("invalid_data_centre"), "{err}");
}

/// The scheduler's carbon model takes a centre's measured PUE once the energy book has a
/// complete one: a centre declared at PUE 1.20 that meters 1.50 over the last 30 days quotes
/// 1.50 / 1.20 = 1.25 times the carbon for the same job.
#[tokio::test]
async fn energy_measured_pue_feeds_the_carbon_model() {
    let s = TestServer::start().await;
    let op = s.as_role("operator");
    let provider = op.get("/api/v1/providers").await.1["items"][0]["id"].clone();
    let body = json!({"provider_id": provider, "name": "实测中心", "name_en": "Metered centre", "kind": "intelligent-computing", "region": "hz-xihu",
        "partner_status": "partner", "commissioned": "2024-06-01", "declared_pue": 1.2, "racks": 120});
    let centre = op.post("/api/v1/centres", &body).await.1["id"].as_str().unwrap().to_string();
    let pool = json!({"accelerator": "ascend-910b2", "nodes": 4, "accelerators_per_node": 8, "price_per_hour": "0.01"});
    assert_eq!(op.post(&format!("/api/v1/centres/{centre}/pools"), &pool).await.0, StatusCode::CREATED);
    let job = json!({"name": "carbon", "kind": "training", "accelerators": 8, "duration_s": 7200});
    let cheapest = |q: &Value| {
        assert_eq!(q["cheapest"]["centre_id"], centre.as_str(), "the near-free pool is the cheapest: {q}");
        q["cheapest"]["carbon_kg"].as_f64().unwrap()
    };
    let (st, q) = s.as_role("tenant").post("/api/v1/quotes", &job).await;
    assert_eq!(st, StatusCode::OK, "{q}");
    let declared = cheapest(&q);

    // 31 days of 15-minute counters: IT 100 kW, facility 150 kW.
    let end = now_ms() / QUARTER * QUARTER;
    let mut readings = Vec::new();
    for k in 0..=(31 * 96) {
        let ts = end - (31 * 96 - k) * QUARTER;
        readings.push(json!({"centre_id": centre, "meter": "facility", "ts_ms": ts, "kwh": 37.5 * k as f64}));
        readings.push(json!({"centre_id": centre, "meter": "it", "ts_ms": ts, "kwh": 25.0 * k as f64}));
    }
    let (st, v) = op.post("/api/v1/energy/readings", &json!({ "readings": readings })).await;
    assert_eq!((st, v["rejected"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)), "{v}");
    suanli_server::refresh_measured_pue(&s.state).await;
    let (_, q) = s.as_role("tenant").post("/api/v1/quotes", &job).await;
    let measured = cheapest(&q);
    assert!((measured / declared - 1.25).abs() < 1e-3, "carbon {declared} kg declared, {measured} kg measured");
}

/// A provider registers its own meters: they replace the unused defaults, an IT meter at the
/// UPS output makes the PUE a PUE1, a meter with readings stays and keeps its kind, and bad
/// meters are refused with their code and change nothing.
#[tokio::test]
async fn energy_meters_are_registered_by_their_provider() {
    let s = TestServer::start().await;
    let centre = new_centre(&s).await;
    let provider = s.as_role("provider");
    let path = format!("/api/v1/energy/centres/{centre}/meters");
    let meters = json!({"meters": [
        {"id": "grid", "kind": "facility_total", "unit": "cumulative_kwh"},
        {"id": "ups", "kind": "it", "point": "ups_output", "unit": "cumulative_kwh"},
        {"id": "water", "kind": "water", "unit": "cumulative_m3"}]});
    let (st, v) = provider.post(&path, &meters).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let ids: Vec<&str> = v["meters"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["grid", "ups", "water"], "the unused defaults are replaced: {v}");

    let before = s.as_role("regulator").get(&path).await.1;
    for (body, code) in [
        (json!({"meters": [{"id": "x", "kind": "solar", "unit": "cumulative_kwh"}]}), "invalid_meter"),
        (json!({"meters": [{"id": "x", "kind": "it", "unit": "cumulative_kwh"}]}), "invalid_meter"),
        (json!({"meters": [{"id": "x", "kind": "water", "unit": "cumulative_kwh"}]}), "invalid_meter"),
        (json!({"meters": [{"id": "x", "kind": "cooling", "category": 2, "unit": "cumulative_kwh"}]}), "invalid_meter"),
        (json!({"meters": [{"id": "bad id!", "kind": "cooling", "unit": "cumulative_kwh"}]}), "invalid_meter"),
    ] {
        let (st, v) = provider.post(&path, &body).await;
        assert_eq!((st, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{body}: {v}");
    }
    assert_eq!(s.as_role("regulator").get(&path).await.1, before, "refused meters change nothing");
    assert_eq!(s.as_role("tenant").post(&path, &meters).await.0, StatusCode::FORBIDDEN);

    // A day of readings on the new meters: facility 1,000 → 2,300 kWh, UPS output 500 → 1,500 kWh.
    let d0 = (now_ms() - 2 * DAY) / DAY * DAY;
    let mut readings = Vec::new();
    for k in 0..=96i64 {
        let ts = d0 + k * QUARTER;
        readings.push(json!({"centre_id": centre, "meter": "grid", "ts_ms": ts, "kwh": 1000.0 + 1300.0 * k as f64 / 96.0}));
        readings.push(json!({"centre_id": centre, "meter": "ups", "ts_ms": ts, "kwh": 500.0 + 1000.0 * k as f64 / 96.0}));
    }
    let (st, v) = provider.post("/api/v1/energy/readings", &json!({ "readings": readings })).await;
    assert_eq!((st, v["accepted"].as_u64()), (StatusCode::OK, Some(194)), "{v}");
    let p = pue(&s.as_role("regulator"), &centre, d0, d0 + DAY).await;
    assert_eq!(p["label"], "PUE1", "{p}");
    assert!((p["value"].as_f64().unwrap() - 1.30).abs() < 1e-6, "{p}");

    // Meters with readings stay, and keep their kind.
    let (st, v) = provider.post(&path, &json!({"meters": [{"id": "ups", "kind": "it", "category": 2, "unit": "cumulative_kwh"}]})).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::CONFLICT, Some("meter_exists")), "{v}");
    let (st, v) = provider.post(&path, &json!({"meters": [{"id": "chiller", "kind": "cooling", "unit": "instant_kw"}]})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let ids: Vec<&str> = v["meters"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["chiller", "grid", "ups"], "meters with history are kept, the unused water meter goes: {v}");
    // Facts: liquid cooling and a rated 40 kW, so the next quarter hour at 54 kW is refused.
    let facts = format!("/api/v1/energy/centres/{centre}/facts");
    for (body, code) in [
        (json!({"cooling": "ice", "rated_kw": 40.0}), "invalid_data_centre"),
        (json!({"cooling": "liquid", "rated_kw": 0.0}), "invalid_data_centre"),
        (json!({"cooling": "liquid", "rated_kw": -5.0}), "invalid_data_centre"),
    ] {
        let (st, v) = s.as_role("provider").put(&facts, &body).await;
        assert_eq!((st, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(code)), "{body}: {v}");
    }
    let (st, v) = s.as_role("provider").put(&facts, &json!({"cooling": "liquid", "rated_kw": 40.0})).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (_, m) = s.as_role("regulator").get(&path).await;
    assert_eq!((m["data_centre"]["cooling"].as_str(), m["data_centre"]["rated_kw"].as_f64()), (Some("liquid"), Some(40.0)), "{m}");
    let next = json!({"readings": [{"centre_id": centre, "meter": "grid", "ts_ms": d0 + DAY + QUARTER, "kwh": 2300.0 + 1300.0 / 96.0}]});
    let (st, v) = provider.post("/api/v1/energy/readings", &next).await;
    assert_eq!((st, v["rejected"][0]["code"].as_str()), (StatusCode::OK, Some("power_over_capacity")), "{v}");
    // After a restart of the book (rebuilt from the store) the same meters, facts and PUE come back.
    let book =
        suanli_app::energy::build_book(&s.state.store, &suanli_app::energy::config_for(&s.state.policy), now_ms()).await.unwrap().book;
    let id = CentreId::parse(&centre).unwrap();
    let dc = book.data_centre(&id).unwrap();
    assert_eq!((dc.cooling, dc.rated_kw), (suanli_energy::Cooling::Liquid, 40.0));
    let mut ids: Vec<String> = dc.meters.iter().map(|m| m.id.to_string()).collect();
    ids.sort();
    assert_eq!(ids, ["chiller", "grid", "ups"]);
    assert!((book.pue(&id, d0, d0 + DAY).unwrap().value.unwrap() - 1.30).abs() < 1e-6);
}

/// Issue 12: the energy writer's queue is bounded. With a queue of two batches and the store
/// stuck (a write transaction held open), a flood of batches is refused beyond the queue with
/// 429 `ingest_busy` and Retry-After, before anything is judged; once the store moves, every
/// acknowledged reading is stored and no refused one is; the refused ones, sent again, are
/// stored too: nothing lost, nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn energy_ingest_queue_is_bounded_and_refuses_with_retry_after() {
    const QUEUE: usize = 2;
    let s = TestServer::start_with(|cfg| suanli_server::ServeConfig { energy_queue: QUEUE, ..cfg }).await;
    let centre = new_centre(&s).await;
    let token = s.tokens["provider"].clone();
    let d0 = (now_ms() / DAY - 6) * DAY;
    let ts = |k: i64| d0 + k * QUARTER;
    let body = |k: i64| json!({"readings": [{"centre_id": centre, "meter": "facility", "ts_ms": ts(k), "kwh": 1000.0 + k as f64}]});
    // Twenty quarter hours: five hours, inside the reorder window, so a refused batch sent
    // again later is still in time.
    let n = 20_i64;
    let stuck = s.state.store.begin().await.unwrap(); // SQLite's one writer: the energy writer now waits
    let http = reqwest::Client::new();
    let send = |k: i64| {
        let (http, url, token, b) = (http.clone(), s.url.clone(), token.clone(), body(k));
        tokio::spawn(async move {
            let r = http.post(format!("{url}/api/v1/energy/readings")).bearer_auth(token).json(&b).send().await.unwrap();
            let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
            let (status, v) = (r.status(), r.json::<Value>().await.unwrap());
            (k, status, retry, v)
        })
    };
    // In order: each batch is judged before the next is sent (so counters rise in order).
    let mut pending = Vec::new();
    for k in 0..n {
        pending.push(send(k));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    drop(stuck);
    let (mut acknowledged, mut refused) = (Vec::new(), Vec::new());
    for p in pending {
        let (k, status, retry, v) = p.await.unwrap();
        match status {
            StatusCode::OK => {
                assert_eq!(v["accepted"], 1, "batch {k}: {v}");
                acknowledged.push(k);
            }
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!((retry.as_deref(), v["code"].as_str()), (Some("1"), Some("ingest_busy")), "batch {k}: {v}");
                refused.push(k);
            }
            other => panic!("batch {k}: {other} {v}"),
        }
    }
    // The writer holds one group (usually one batch) while the store is stuck; the queue holds
    // two more; the rest are refused.
    assert!(acknowledged.len() < n as usize / 2 && !refused.is_empty(), "acknowledged {acknowledged:?}, refused {refused:?}");
    let id = CentreId::parse(&centre).unwrap();
    let stored_ts = || async {
        let rows = s.state.store.energy_readings_between(&id, i64::MIN, i64::MAX).await.unwrap();
        rows.into_iter().map(|(_, t, _)| t).collect::<Vec<i64>>()
    };
    let expected: Vec<i64> = acknowledged.iter().map(|k| ts(*k)).collect();
    assert_eq!(stored_ts().await, expected, "exactly the acknowledged readings are stored");
    for k in &refused {
        let r = http.post(format!("{}/api/v1/energy/readings", s.url)).bearer_auth(&token).json(&body(*k)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "batch {k} sent again");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["accepted"], 1, "batch {k} sent again: {v}");
    }
    assert_eq!(stored_ts().await, (0..n).map(ts).collect::<Vec<i64>>(), "every reading stored once");
}
