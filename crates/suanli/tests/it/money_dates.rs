//! Money's dates are Beijing calendar days: a bill made at 23:30 UTC on day D (07:30 on D+1 in Beijing) is in D+1's bills and settlement, not D's; RFC 3339 instants are taken as they are; the CLI's help says so.

use crate::earnings::billed_job;
use crate::harness::{TestServer, cli};
use reqwest::StatusCode;
use serde_json::{Value, json};
use suanli_core::time::{MS_PER_DAY, format_date, format_rfc3339, parse_date};

fn ids(bills: &Value) -> Vec<&str> {
    bills.as_array().unwrap_or_else(|| panic!("not a list: {bills}")).iter().map(|b| b["id"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bill_at_2330_utc_is_in_the_next_beijing_days_bills_and_settlement() {
    // The server's clock reads 23:30 UTC yesterday (07:30 today in Beijing) when the job is billed.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let day_d = now.div_euclid(MS_PER_DAY) * MS_PER_DAY - MS_PER_DAY;
    let ts = TestServer::start_ahead(day_d + 23 * 3_600_000 + 30 * 60_000 - now).await;
    let (provider, _, bill) = billed_job(&ts).await;
    let id = bill["id"].as_str().unwrap();
    let created = bill["created_ms"].as_i64().unwrap();
    assert!(format_rfc3339(created).starts_with(&format!("{}T23:3", format_date(day_d))), "{bill}");
    let (d, d1, d2) = (format_date(day_d), format_date(day_d + MS_PER_DAY), format_date(day_d + 2 * MS_PER_DAY));
    assert_eq!(parse_date(&d).unwrap(), day_d);

    let op = ts.as_role("operator");
    let bills = |from: &str, to: &str| format!("/api/v1/bills?provider_id={provider}&from={from}&to={to}");
    let (s, on_d1) = op.get(&bills(&d1, &d2)).await;
    assert_eq!(s, StatusCode::OK, "{on_d1}");
    assert!(ids(&on_d1).contains(&id), "Beijing day {d1} holds the bill: {on_d1}");
    let (_, on_d) = op.get(&bills(&d, &d1)).await;
    assert!(!ids(&on_d).contains(&id), "Beijing day {d} does not: {on_d}");
    // Instants are instants: the bill is in the UTC hour 23:00-24:00 of D.
    let (_, hour) = op.get(&bills(&format!("{d}T23:00:00Z"), &format!("{d1}T00:00:00Z"))).await;
    assert!(ids(&hour).contains(&id), "{hour}");
    let (_, before) = op.get(&bills(&format!("{d}T16:00:00Z"), &format!("{d}T23:00:00%2B00:00"))).await;
    assert!(!ids(&before).contains(&id), "{before}");

    // Settling Beijing day D leaves the bill; settling D+1 takes it.
    let (s, v) = op.post("/api/v1/settlements", &json!({"provider_id": provider, "from": d, "to": d1})).await;
    assert!(s == StatusCode::CREATED || (s == StatusCode::CONFLICT && v["code"] == "nothing_to_settle"), "{s} {v}");
    let (_, b) = op.get(&format!("/api/v1/jobs/{}/bill", bill["job_id"].as_str().unwrap())).await;
    assert_eq!(b["statement_id"], Value::Null, "day {d} did not take the bill: {b}");
    let (s, st) = op.post("/api/v1/settlements", &json!({"provider_id": provider, "from": d1, "to": d2})).await;
    assert_eq!(s, StatusCode::CREATED, "{st}");
    let (_, b) = op.get(&format!("/api/v1/jobs/{}/bill", bill["job_id"].as_str().unwrap())).await;
    assert_eq!(b["statement_id"], st["id"], "day {d1} took it: {b}");
    assert_eq!((st["from"].as_str(), st["to"].as_str()), (Some(&*format!("{d}T16:00:00Z")), Some(&*format!("{d1}T16:00:00Z"))), "{st}");

    // The CLI's help says the same.
    for cmd in ["settle", "bills"] {
        let (ok, out, err) = cli(&ts, "operator", &[cmd, "--help"]).await;
        assert!(ok, "{err}");
        assert!(out.contains("Beijing calendar day") && out.contains("RFC 3339"), "{cmd}: {out}");
    }
}
