//! Data sharing over HTTP as its users do it: the operator admits a supplier, the supplier lists and uploads graded data sets, consumers request them, approvals deliver de-identified extracts behind short-lived links, fees move through the ledger, and suppliers are ranked.

use crate::harness::{Api, TestServer, cli};
use reqwest::StatusCode;
use serde_json::{Value, json};
use suanli_data::corpus::{Rng, value};
use suanli_data::{Kind, scan};

const HEADER: &str = "姓名,身份证号,手机,地址,年龄,诊断";

/// Patients with checksum-valid identifiers; answers the CSV and every identifier written.
pub(crate) fn patients(rows: usize, seed: u64) -> (String, Vec<String>) {
    let mut r = Rng::new(seed);
    let mut csv = format!("{HEADER}\n");
    let mut secrets = Vec::new();
    for i in 0..rows {
        let (name, id, phone, addr) =
            (value(&mut r, Kind::Name), value(&mut r, Kind::ResidentId), value(&mut r, Kind::Mobile), value(&mut r, Kind::Address));
        csv.push_str(&format!("{name},{id},{phone},{addr},{},{}\n", 20 + (i % 50), ["感冒", "高血压", "糖尿病"][i % 3]));
        secrets.extend([id, phone]);
    }
    (csv, secrets)
}

pub(crate) async fn admit(op: &Api, provider: &str, domains: &[&str]) {
    let (s, v) = op
        .put(&format!("/api/v1/data/suppliers/{provider}"), &json!({"status": "admitted", "domains": domains, "reason": "2026 年度遴选"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

pub(crate) async fn register(prov: &Api, name: &str, domain: &str, mode: &str, grade: &str, price: &str) -> Value {
    let body = json!({
        "name": name, "title": format!("测试数据 {name}"), "domain": domain, "mode": mode, "grade": grade,
        "licence": "杭州市公共数据授权运营协议", "update_frequency": "monthly", "price": price, "quasi": ["年龄"],
    });
    let (s, v) = prov.post("/api/v1/data/sets", &body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

pub(crate) async fn upload(prov: &Api, id: &str, csv: &str) -> (StatusCode, Value) {
    prov.put_raw(&format!("/api/v1/data/sets/{id}/content?format=csv"), csv.as_bytes().to_vec(), "text/csv").await
}

async fn provider_id(ts: &TestServer) -> String {
    ts.as_role("provider").get("/api/v1/me").await.1["provider_id"].as_str().unwrap().to_string()
}

async fn cash(ts: &TestServer, tenant: &str) -> String {
    ts.as_role("tenant").get(&format!("/api/v1/tenants/{tenant}/balance")).await.1["cash_available"].as_str().unwrap().to_string()
}

/// A day 90 days from now, `YYYY-MM-DD`.
fn in_90_days() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    suanli_core::time::format_rfc3339(now + 90 * 86_400_000)[..10].to_string()
}

pub(crate) fn request_body(set: &str, fields: &[&str]) -> Value {
    json!({"data_set": set, "purpose": "慢病管理模型研究", "fields": fields, "to": in_90_days()})
}

/// Downloads a delivery through a fresh link (anonymously, as a browser would).
async fn fetch(ts: &TestServer, delivery: &str) -> String {
    let (s, link) = ts.as_role("tenant").post(&format!("/api/v1/data/deliveries/{delivery}/links"), &json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{link}");
    let (s, ctype, body) = ts.anonymous().get_bytes(link["url"].as_str().unwrap()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    String::from_utf8(body).unwrap()
}

/// A wider table for the every-grade test: every direct identifier the detectors know, in its own
/// column and again inside a free-text note; answers the CSV, every identifier written, and the names.
fn contacts(rows: usize, seed: u64) -> (String, Vec<String>, Vec<String>) {
    let mut r = Rng::new(seed);
    let mut csv = String::from("姓名,身份证号,手机,座机,邮箱,银行卡,车牌,护照,地址,年龄,备注\n");
    let (mut secrets, mut names) = (Vec::new(), Vec::new());
    for i in 0..rows {
        let mut v = |k| value(&mut r, k);
        let (name, id, mobile, landline, email) = (v(Kind::Name), v(Kind::ResidentId), v(Kind::Mobile), v(Kind::Landline), v(Kind::Email));
        let (card, plate, passport, addr) = (v(Kind::BankCard), v(Kind::Plate), v(Kind::Passport), v(Kind::Address));
        let (note_id, note_phone) = (v(Kind::ResidentId), v(Kind::Mobile));
        let note = format!("家属身份证{note_id}，联系电话{note_phone}，复诊");
        csv.push_str(&format!("{name},{id},{mobile},{landline},{email},{card},{plate},{passport},{addr},{},{note}\n", 20 + (i % 50)));
        secrets.extend([id, mobile, landline, email, card, plate, passport, note_id, note_phone]);
        names.push(name);
    }
    (csv, secrets, names)
}

/// The kinds that identify a person directly: no delivery of any grade may carry one the detectors find.
const DIRECT: [Kind; 7] = [Kind::ResidentId, Kind::Mobile, Kind::Landline, Kind::Email, Kind::BankCard, Kind::Passport, Kind::Plate];

fn assert_no_secret(extract: &str, secrets: &[String], what: &str) {
    for s in secrets {
        assert!(!extract.contains(s.as_str()), "{what}: '{s}' was delivered as it is");
    }
    // A page's ids (`ds_01a2…`, 22 hex digits) can hold eleven decimal digits in a row that read
    // as a mobile number; a run glued to the letters of such a token is an id, not a number.
    let in_token = |i: usize| extract.as_bytes().get(i).is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_');
    let raw: Vec<_> = scan(extract)
        .into_iter()
        .filter(|s| matches!(s.kind, Kind::ResidentId | Kind::Mobile | Kind::BankCard))
        .filter(|s| !(s.start.checked_sub(1).is_some_and(in_token) || in_token(s.end)))
        .collect();
    assert!(raw.is_empty(), "{what}: the detectors still find {:?}", raw.iter().map(|s| &extract[s.start..s.end]).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn important_data_is_approved_twice_delivered_deidentified_and_paid_through_the_ledger() {
    important_data_flow(&TestServer::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn important_data_flow_on_postgresql() {
    let (ts, schema) = TestServer::start_pg().await;
    important_data_flow(&ts).await;
    drop(ts);
    suanli_store::Store::drop_schema(&crate::harness::pg_url(), &schema).await.unwrap();
}

async fn important_data_flow(ts: &TestServer) {
    let (op, prov, ten) = (ts.as_role("operator"), ts.as_role("provider"), ts.as_role("tenant"));
    let pid = provider_id(ts).await;
    let tenant = ten.get("/api/v1/me").await.1["tenant_id"].as_str().unwrap().to_string();

    // Not admitted yet: the supplier cannot list anything, and only the operator admits.
    let spec = json!({"name": "hz-clinic-visits", "title": "社区医院就诊记录", "domain": "healthcare", "mode": "conditional",
        "grade": "important", "licence": "授权运营", "update_frequency": "monthly", "price": "1000.00", "quasi": ["年龄"]});
    let (s, v) = prov.post("/api/v1/data/sets", &spec).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("supplier_not_admitted")), "{v}");
    let (s, _) =
        prov.put(&format!("/api/v1/data/suppliers/{pid}"), &json!({"status": "admitted", "domains": ["healthcare"], "reason": "x1"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    admit(&op, &pid, &["healthcare", "traffic"]).await;
    let set = register(&prov, "hz-clinic-visits", "healthcare", "conditional", "important", "1000.00").await;
    let sid = set["id"].as_str().unwrap().to_string();
    assert_eq!(set["requestable"], false, "no content yet");
    let (s, v) = prov.post("/api/v1/data/sets", &spec).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("data_set_exists")));

    // A request before the content exists, and a ragged upload, change nothing.
    let (s, v) = ten.post("/api/v1/data/requests", &request_body(&sid, &["年龄"])).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("not_deliverable")), "{v}");
    let (good, secrets) = patients(120, 7);
    let ragged = good.replacen("感冒\n", "感冒,多余\n", 1);
    let (s, v) = upload(&prov, &sid, &ragged).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("malformed_data")), "{v}");
    assert!(v["detail"].as_str().unwrap().contains("line 2"), "{v}");
    assert_eq!(ts.as_role("regulator").get(&format!("/api/v1/data/sets/{sid}")).await.1["rows"], 0);
    let (s, v) = ten.put_raw(&format!("/api/v1/data/sets/{sid}/content"), good.clone().into_bytes(), "text/csv").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only the supplier uploads: {v}");

    let (s, set) = upload(&prov, &sid, &good).await;
    assert_eq!(s, StatusCode::OK, "{set}");
    assert_eq!((set["rows"].as_u64(), set["requestable"].as_bool()), (Some(120), Some(true)));
    let kinds: Vec<&str> = set["columns"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap_or("-")).collect();
    assert_eq!(&kinds[..3], &["name", "resident_id", "mobile"], "{set}");
    let preview = set["preview"].as_str().unwrap();
    assert_eq!(preview.lines().count(), 6, "a header and five rows: {preview}");
    assert_no_secret(preview, &secrets, "the preview");

    // The request holds the fee: the voucher pays its data ratio (30%) as far as it has money
    // (the demo gives most tenants a voucher, not all), cash the rest.
    let yuan = |s: &str| s.replace(',', "").parse::<f64>().unwrap();
    let (_, balance) = ten.get(&format!("/api/v1/tenants/{tenant}/balance")).await;
    let share = yuan(balance["voucher_available"].as_str().unwrap()).min(300.0);
    let before = cash(ts, &tenant).await;
    let (s, r) = ten.post("/api/v1/data/requests", &request_body("hz-clinic-visits", &["身份证号", "手机", "年龄", "诊断"])).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!((r["state"].as_str(), r["fee"].as_str()), (Some("awaiting_supplier"), Some("1000.00")));
    assert_eq!((yuan(r["voucher"].as_str().unwrap()), yuan(r["cash"].as_str().unwrap())), (share, 1000.0 - share), "{r}");
    let held = cash(ts, &tenant).await;
    assert!((yuan(&before) - yuan(&held) - (1000.0 - share)).abs() < 0.001, "{before} -> {held}");
    let rid = r["id"].as_str().unwrap().to_string();

    // Important data: the supplier first, then the operator; nobody else, and never twice.
    let decide = |who: &Api, approve: bool| {
        let (who, rid) = (who.clone(), rid.clone());
        async move { who.post(&format!("/api/v1/data/requests/{rid}/decision"), &json!({"approve": approve, "reason": "符合用途"})).await }
    };
    assert_eq!(decide(&ten, true).await.0, StatusCode::FORBIDDEN);
    let (s, v) = decide(&op, true).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("data_request_decided")), "{v}");
    let (s, v) = decide(&prov, true).await;
    assert_eq!((s, v["state"].as_str()), (StatusCode::OK, Some("awaiting_operator")), "{v}");
    assert_eq!(decide(&prov, true).await.0, StatusCode::CONFLICT);
    let (s, v) = decide(&op, true).await;
    assert_eq!((s, v["state"].as_str()), (StatusCode::OK, Some("delivered")), "{v}");
    let delivery = v["delivery"].clone();
    assert_eq!(delivery["columns"], json!(["身份证号", "手机", "年龄", "诊断"]));
    assert_eq!((delivery["grade"].as_str(), delivery["k"].as_u64()), (Some("important"), Some(10)));
    assert_eq!(decide(&op, false).await.0, StatusCode::CONFLICT, "a delivered request stays delivered");
    assert_eq!(cash(ts, &tenant).await, held, "the hold was posted, not charged again");

    // The extract: only the asked columns, no identifier as it was, k-anonymous over age.
    let dlv = delivery["id"].as_str().unwrap().to_string();
    let extract = fetch(ts, &dlv).await;
    assert!(extract.starts_with("身份证号,手机,年龄,诊断\r\n"), "{}", &extract[..80.min(extract.len())]);
    assert!(!extract.contains("姓名") && !extract.contains("地址"));
    assert_no_secret(&extract, &secrets, "the extract");
    let k = &delivery["report"]["k_anonymity"];
    assert_eq!(k["k_target"], 10, "{delivery}");
    assert!(k["k_reached"].as_u64().unwrap() >= 10 && k["max_risk"].as_f64().unwrap() <= 0.1, "{k}");
    let (s, _, _) = ts.anonymous().get_bytes("/api/v1/data/downloads/dl_0000").await;
    assert_eq!(s, StatusCode::GONE, "an unknown link");
    assert_eq!(ts.as_role("provider").post(&format!("/api/v1/data/deliveries/{dlv}/links"), &json!({})).await.0, StatusCode::FORBIDDEN);

    // The audit trail says who got which columns under which policy.
    let (_, audit) = op.get(&format!("/api/v1/audit?subject={dlv}")).await;
    let made = audit["items"].as_array().unwrap().iter().find(|a| a["action"] == "data_delivery.create").expect("delivery audited").clone();
    assert_eq!(made["detail"]["columns"], delivery["columns"]);
    assert_eq!(made["detail"]["policy"]["grade"], json!("important"));
    assert!(audit["items"].as_array().unwrap().iter().any(|a| a["action"] == "data_delivery.download"));

    // A rejection releases the hold.
    let (_, r2) = ten.post("/api/v1/data/requests", &request_body(&sid, &["年龄"])).await;
    let held2 = yuan(&cash(ts, &tenant).await);
    assert!((yuan(&held) - held2 - yuan(r2["cash"].as_str().unwrap())).abs() < 0.001, "{r2}");
    let (s, v) = prov
        .post(&format!("/api/v1/data/requests/{}/decision", r2["id"].as_str().unwrap()), &json!({"approve": false, "reason": "用途不符"}))
        .await;
    assert_eq!((s, v["state"].as_str()), (StatusCode::OK, Some("rejected")), "{v}");
    assert_eq!(cash(ts, &tenant).await, held, "the rejected request's hold is back");

    // The supplier's yearly volume ranks it; its statement includes the delivery.
    let (_, rank) = ts.as_role("regulator").get("/api/v1/data/suppliers/ranking").await;
    let me = rank.as_array().unwrap().iter().find(|r| r["supplier_id"] == json!(pid)).expect("ranked").clone();
    assert_eq!((me["volume"].as_str(), me["deliveries"].as_u64(), me["top"].as_bool()), (Some("1000.00"), Some(1), Some(true)), "{rank}");
    let (s, v) = ts.as_role("regulator").get("/api/v1/data/suppliers/ranking?year=1999").await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_date")));
    let (s, st) = op.post("/api/v1/settlements", &json!({"provider_id": pid, "from": "2000-01-01", "to": "2099-01-01"})).await;
    assert_eq!(s, StatusCode::CREATED, "{st}");
    assert_eq!(st["data_deliveries"], 1, "{st}");
    let (_, rec) = op.get("/api/v1/ledger/reconciliation").await;
    assert!(rec["data_deliveries"].as_u64().unwrap() >= 1, "{rec}");
    assert_eq!(rec["data_deliveries"], rec["data_deliveries_matched"], "{rec}");
    assert_eq!(rec["mismatches"], json!([]), "{rec}");
    let (_, verify) = op.get("/api/v1/ledger/verify").await;
    assert_eq!(verify["ok"], true, "{verify}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_grade_is_delivered_without_identifiers_and_pseudonyms_hold_per_consumer() {
    let ts = TestServer::start().await;
    let (op, prov, ten) = (ts.as_role("operator"), ts.as_role("provider"), ts.as_role("tenant"));
    admit(&op, &provider_id(&ts).await, &["healthcare"]).await;
    let (csv, secrets, names) = contacts(60, 11);
    let all = ["姓名", "身份证号", "手机", "座机", "邮箱", "银行卡", "车牌", "护照", "地址", "年龄", "备注"];
    for (mode, grade) in [
        ("conditional", "general-1"),
        ("conditional", "general-2"),
        ("conditional", "general-3"),
        ("conditional", "general-4"),
        ("unconditional", "general-1"),
        ("unconditional", "general-2"),
    ] {
        let name = format!("p-{mode}-{grade}");
        let set = register(&prov, &name, "healthcare", mode, grade, "10.00").await;
        assert_eq!(upload(&prov, set["id"].as_str().unwrap(), &csv).await.0, StatusCode::OK);
        let (s, r) = ten.post("/api/v1/data/requests", &request_body(&name, &all)).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        let r = if mode == "unconditional" {
            assert_eq!(r["state"], "delivered", "unconditional data is delivered at once: {r}");
            r
        } else {
            prov.post(&format!("/api/v1/data/requests/{}/decision", r["id"].as_str().unwrap()), &json!({"approve": true, "reason": "同意"}))
                .await
                .1
        };
        let extract = fetch(&ts, r["delivery"]["id"].as_str().unwrap_or_else(|| panic!("{mode} {grade}: {r}"))).await;
        let what = format!("{mode} {grade}");
        assert_no_secret(&extract, &secrets, &what);
        let found: Vec<_> =
            scan(&extract).into_iter().filter(|s| DIRECT.contains(&s.kind)).map(|s| (s.kind, &extract[s.start..s.end])).collect();
        assert!(found.is_empty(), "{what}: scanned again, the delivery still holds {found:?}");
        let delivered_names: Vec<_> = extract.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
        assert_eq!(delivered_names.len(), names.len(), "{what}: every row is delivered");
        for (got, name) in delivered_names.iter().zip(&names) {
            assert_ne!(got, name, "{what}: a name was delivered as it is");
        }
    }

    // Pseudonyms are stable across one consumer's deliveries.
    let ids = |extract: &str| extract.lines().skip(1).map(|l| l.split(',').next().unwrap().to_string()).collect::<Vec<_>>();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let (_, r) = ten.post("/api/v1/data/requests", &request_body("p-conditional-general-1", &["身份证号"])).await;
        let (_, r) = prov
            .post(&format!("/api/v1/data/requests/{}/decision", r["id"].as_str().unwrap()), &json!({"approve": true, "reason": "同意"}))
            .await;
        seen.push(ids(&fetch(&ts, r["delivery"]["id"].as_str().unwrap()).await));
    }
    assert_eq!(seen[0], seen[1], "one consumer gets the same pseudonyms every time");
    assert!(seen[0].iter().all(|p| !secrets.contains(p)));

    // Core data and data not open are listed, never requested.
    for (mode, grade) in [("conditional", "core"), ("not-open", "general-1")] {
        let name = format!("closed-{grade}-{mode}");
        let set = register(&prov, &name, "healthcare", mode, grade, "0").await;
        assert_eq!(set["requestable"], false);
        let (s, v) = ten.post("/api/v1/data/requests", &request_body(&name, &["年龄"])).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("not_deliverable")), "{v}");
    }

    // Bad requests are refused with their code and store nothing.
    let (_, before) = ten.get("/api/v1/data/requests").await;
    for (body, code) in [
        (request_body("p-conditional-general-1", &["工资"]), "invalid_data_request"),
        (request_body("p-conditional-general-1", &[]), "invalid_data_request"),
        (json!({"data_set": "p-conditional-general-1", "purpose": "x", "fields": ["年龄"], "to": in_90_days()}), "invalid_data_request"),
        (
            json!({"data_set": "p-conditional-general-1", "purpose": "研究用途", "fields": ["年龄"], "to": "2099-01-01"}),
            "invalid_data_request",
        ),
        (
            json!({"data_set": "p-conditional-general-1", "purpose": "研究用途", "fields": ["年龄"], "to": "2001-01-01"}),
            "invalid_data_request",
        ),
        (request_body("no-such-set", &["年龄"]), "data_set_not_found"),
        (
            json!({"data_set": "p-conditional-general-1", "purpose": "研究用途", "fields": ["年龄"], "to": in_90_days(), "extra": 1}),
            "unknown_field",
        ),
    ] {
        let (s, v) = ten.post("/api/v1/data/requests", &body).await;
        assert_eq!(v["code"].as_str(), Some(code), "{s} {v}");
    }
    assert_eq!(ten.get("/api/v1/data/requests").await.1, before, "refused requests store nothing");

    // A suspended supplier delivers nothing more, and its listing stays.
    let pid = provider_id(&ts).await;
    let (s, v) = op.put(&format!("/api/v1/data/suppliers/{pid}"), &json!({"status": "suspended", "reason": "年度复核未通过"})).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("suspended")), "{v}");
    let (s, v) = ten.post("/api/v1/data/requests", &request_body("p-conditional-general-1", &["年龄"])).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("supplier_not_admitted")), "{v}");
    assert_eq!(ten.get("/api/v1/data/requests").await.1, before);
    let (s, v) = prov.post("/api/v1/data/requests", &request_body("p-conditional-general-1", &["年龄"])).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_pages_list_preview_request_approve_and_download_in_both_languages() {
    use crate::harness::Web;
    let ts = TestServer::start().await;
    let (op, prov) = (ts.as_role("operator"), ts.as_role("provider"));
    admit(&op, &provider_id(&ts).await, &["healthcare"]).await;
    let set = register(&prov, "web-patients", "healthcare", "conditional", "general-2", "88.00").await;
    let (csv, secrets) = patients(30, 3);
    assert_eq!(upload(&prov, set["id"].as_str().unwrap(), &csv).await.0, StatusCode::OK);

    let tenant = Web::sign_in(&ts.url, &ts.tokens["tenant"]).await.unwrap();
    let zh = tenant.page("/data").await;
    for want in
        ["数据目录", "web-patients", "西湖景区客流统计", "一般数据（2 级）", "有条件开放", "核心数据", "供应方年度数据服务交易额排名"]
    {
        assert!(zh.contains(want), "the Chinese catalogue shows {want}");
    }
    assert!(!zh.contains("本年度还没有交付"), "the demo made one delivery, so the ranking has a row");
    let en = tenant.page("/data?lang=en").await;
    for want in ["Catalogue", "General data (level 2)", "Open on approval", "Not open", "Suppliers by data-service volume"] {
        assert!(en.contains(want), "the English catalogue shows {want}");
    }
    assert!(!en.contains("有条件开放"), "no Chinese enum on the English page");
    let detail = tenant.page("/data/sets/web-patients?lang=zh-CN").await;
    assert!(detail.contains("居民身份证号") || detail.contains("身份证"), "the schema names the detected kinds");
    assert!(detail.contains("预览（已按分级策略脱敏）") && detail.contains(r#"action="/data/requests""#));
    assert_no_secret(&detail, &secrets, "the set's page");

    // A refused form keeps its input and says why in Chinese, beside the form.
    let r = tenant
        .post("/data/requests", "data_set=web-patients&purpose=%E7%A0%94%E7%A9%B6%E7%94%A8%E9%80%94&to=2001-01-01&field=%E5%B9%B4%E9%BE%84")
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = r.text().await.unwrap();
    assert!(
        refused.contains("数据申请无效") && refused.contains(r#"value="2001-01-01""#) && refused.contains("checked"),
        "kept and explained"
    );

    let form = format!(
        "data_set=web-patients&purpose=%E7%A0%94%E7%A9%B6%E7%94%A8%E9%80%94&to={}&field=%E8%BA%AB%E4%BB%BD%E8%AF%81%E5%8F%B7&field=%E5%B9%B4%E9%BE%84",
        in_90_days()
    );
    let r = tenant.post("/data/requests", &form).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let rid = ts.as_role("tenant").get("/api/v1/data/requests").await.1[0]["id"].as_str().unwrap().to_string();

    let supplier = Web::sign_in(&ts.url, &ts.tokens["provider"]).await.unwrap();
    let page = supplier.page("/data").await;
    assert!(page.contains(&format!("/data/requests/{rid}/decision")), "the supplier sees the request to decide");
    // Deciding asks first: the set, the fee, the decision and what follows; nothing is decided yet.
    let r = supplier.post(&format!("/data/requests/{rid}/decision"), "approve=1&reason=%E5%90%8C%E6%84%8F").await;
    assert_eq!(r.status(), StatusCode::OK);
    let ask = r.text().await.unwrap();
    for want in
        ["确认批准此数据申请？", "web-patients", "¥88.00", r#"id="confirm-decision">批准"#, "批准后立即交付", r#"href="/data#requests""#]
    {
        assert!(ask.contains(want), "the confirmation shows {want}: {ask}");
    }
    assert!(ask.contains(r#"name="confirmed" value="1""#) && ask.contains(r#"name="approve" value="1""#), "{ask}");
    let undecided = ts.as_role("tenant").get(&format!("/api/v1/data/requests/{rid}")).await.1;
    assert_eq!(undecided["state"], "awaiting_supplier", "decided before the confirmation");
    // A reason too short is refused before any confirmation.
    let r = supplier.post(&format!("/data/requests/{rid}/decision"), "approve=0&reason=x").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = supplier.post(&format!("/data/requests/{rid}/decision"), "approve=1&reason=%E5%90%8C%E6%84%8F&confirmed=1").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let mine = tenant.page("/data").await;
    let dlv = ts.as_role("tenant").get("/api/v1/data/deliveries").await.1[0]["id"].as_str().unwrap().to_string();
    assert!(mine.contains("已交付") && mine.contains(&format!("/data/deliveries/{dlv}/link")), "the consumer can download");
    let r = tenant.post(&format!("/data/deliveries/{dlv}/link"), "").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let (s, _, body) = ts.anonymous().get_bytes(&to).await;
    assert_eq!(s, StatusCode::OK);
    let extract = String::from_utf8(body).unwrap();
    assert!(extract.starts_with("身份证号,年龄"), "{extract}");
    assert_no_secret(&extract, &secrets, "the web download");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_admits_lists_uploads_requests_decides_and_downloads() {
    let ts = TestServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pid = provider_id(&ts).await;
    let (ok, _, err) = cli(&ts, "operator", &["data", "admit", &pid, "--domains", "healthcare,traffic", "--reason", "年度遴选"]).await;
    assert!(ok, "{err}");
    let spec = dir.path().join("set.json");
    std::fs::write(&spec, r#"{"name":"cli-patients","title":"门诊","domain":"healthcare","mode":"conditional","grade":"general-2","licence":"授权","update_frequency":"weekly","price":"12.50"}"#).unwrap();
    let (ok, out, err) = cli(&ts, "provider", &["data", "register", "--file", spec.to_str().unwrap()]).await;
    assert!(ok && out.contains("cli-patients"), "{out}{err}");
    let (csv, secrets) = patients(40, 5);
    let (bad, good) = (dir.path().join("bad.csv"), dir.path().join("good.csv"));
    std::fs::write(&bad, csv.replacen("感冒\n", "感冒,多\n", 1)).unwrap();
    std::fs::write(&good, &csv).unwrap();
    let (ok, _, err) = cli(&ts, "provider", &["data", "upload", "cli-patients", "--input", bad.to_str().unwrap()]).await;
    assert!(!ok && err.contains("malformed_data") && err.contains("line 2"), "{err}");
    let (ok, out, err) = cli(&ts, "provider", &["data", "upload", "cli-patients", "--input", good.to_str().unwrap()]).await;
    assert!(ok && out.contains("40"), "{out}{err}");
    let (ok, out, _) = cli(&ts, "tenant", &["--output", "json", "data", "sets"]).await;
    assert!(ok && serde_json::from_str::<Value>(&out).unwrap().as_array().unwrap().iter().any(|s| s["name"] == "cli-patients"));
    let until = in_90_days();
    let (ok, out, err) = cli(
        &ts,
        "tenant",
        &["--output", "json", "data", "request", "cli-patients", "--fields", "身份证号,诊断", "--purpose", "门诊量预测", "--until", &until],
    )
    .await;
    assert!(ok, "{err}");
    let rid = serde_json::from_str::<Value>(&out).unwrap()["id"].as_str().unwrap().to_string();
    let (ok, _, err) = cli(&ts, "provider", &["data", "decide", &rid, "--approve", "--reason", "同意"]).await;
    assert!(ok, "{err}");
    let (ok, out, _) = cli(&ts, "tenant", &["--output", "json", "data", "deliveries"]).await;
    let dlv = serde_json::from_str::<Value>(&out).unwrap()[0]["id"].as_str().unwrap().to_string();
    assert!(ok);
    let file = dir.path().join("extract.csv");
    let (ok, _, err) = cli(&ts, "tenant", &["data", "download", &dlv, "--out", file.to_str().unwrap()]).await;
    assert!(ok, "{err}");
    let extract = std::fs::read_to_string(&file).unwrap();
    assert!(extract.starts_with("身份证号,诊断"));
    assert_no_secret(&extract, &secrets, "the CLI download");
    let (ok, out, _) = cli(&ts, "regulator", &["data", "ranking"]).await;
    assert!(ok && out.contains("12.50"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_configures_a_sub_levels_policy_and_deliveries_follow_it() {
    let ts = TestServer::start().await;
    let (op, prov, ten) = (ts.as_role("operator"), ts.as_role("provider"), ts.as_role("tenant"));
    admit(&op, &provider_id(&ts).await, &["healthcare"]).await;
    let (_, all) = ten.get("/api/v1/data/policies").await;
    let row = all.as_array().unwrap().iter().find(|p| p["grade"] == "general-2" && p["mode"] == "conditional").unwrap().clone();
    assert_eq!((row["configured"].as_bool(), row["policy"]["actions"]["mobile"].as_str()), (Some(false), Some("mask")), "{row}");
    assert!(!all.as_array().unwrap().iter().any(|p| p["grade"] == "core"), "core data has no delivery policy");

    // Keeping a mobile number as it is is refused, by role and by rule; changing nothing.
    let mut policy = row["policy"].clone();
    policy["actions"]["mobile"] = json!("keep");
    assert_eq!(prov.put("/api/v1/data/policies", &policy).await.0, StatusCode::FORBIDDEN);
    let (s, v) = op.put("/api/v1/data/policies", &policy).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_data_policy")), "{v}");
    policy["actions"]["mobile"] = json!("redact");
    let (s, v) = op.put("/api/v1/data/policies", &policy).await;
    assert_eq!((s, v["configured"].as_bool()), (StatusCode::OK, Some(true)), "{v}");

    let set = register(&prov, "policy-patients", "healthcare", "conditional", "general-2", "1.00").await;
    let (csv, secrets) = patients(20, 9);
    let (_, set) = upload(&prov, set["id"].as_str().unwrap(), &csv).await;
    assert!(set["preview"].as_str().unwrap().contains("[手机号]"), "the preview follows the configured policy: {set}");
    let (_, r) = ten.post("/api/v1/data/requests", &request_body("policy-patients", &["手机"])).await;
    let (_, r) = prov
        .post(&format!("/api/v1/data/requests/{}/decision", r["id"].as_str().unwrap()), &json!({"approve": true, "reason": "同意"}))
        .await;
    let extract = fetch(&ts, r["delivery"]["id"].as_str().unwrap()).await;
    assert_eq!(extract.lines().skip(1).filter(|l| *l == "[手机号]").count(), 20, "{extract}");
    assert_no_secret(&extract, &secrets, "the configured policy's extract");
    let (_, audit) = op.get("/api/v1/audit?subject=data.policy.general-2.conditional").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "one change, audited");
}
