//! The web forms of the tasks the CLI offers providers and the operator, through the real router: a centre's meters, facts and readings imported from a CSV file; a supplier's data set listed and its content uploaded; the operator admitting a supplier (after a confirmation) and setting a grade's policy. Each: success, bad input refused beside its field with nothing changed, a wrong role refused.

use crate::harness::{TestServer, Web};
use reqwest::StatusCode;
use serde_json::{Value, json};
use suanli_core::id::CentreId;

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

async fn provider_id(s: &TestServer) -> String {
    s.as_role("provider").get("/api/v1/me").await.1["provider_id"].as_str().unwrap().to_string()
}

/// A fresh centre of the demo provider, with no telemetry yet.
async fn new_centre(s: &TestServer) -> String {
    let body = json!({"provider_id": provider_id(s).await, "name": "网页能耗中心", "name_en": "Web energy centre", "kind": "cloud",
        "region": "hz-qiantang", "commissioned": "2024-06-01", "declared_pue": 1.3, "racks": 100});
    let (st, v) = s.as_role("operator").post("/api/v1/centres", &body).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_string()
}

async fn meters(s: &TestServer, centre: &str) -> Value {
    s.as_role("operator").get(&format!("/api/v1/energy/centres/{centre}/meters")).await.1
}

fn meter_ids(v: &Value) -> Vec<String> {
    v["meters"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_string()).collect()
}

async fn stored(s: &TestServer, centre: &str) -> i64 {
    s.state.store.energy_reading_count(&CentreId::parse(centre).unwrap()).await.unwrap()
}

#[tokio::test]
async fn a_provider_registers_meters_sets_facts_and_imports_readings_on_its_centres_page() {
    let s = TestServer::start().await;
    let centre = new_centre(&s).await;
    let prov = Web::sign_in(&s.url, &s.tokens["provider"]).await.unwrap();
    let page = prov.page(&format!("/centres/{centre}")).await;
    for want in [
        format!(r#"action="/centres/{centre}/meters""#),
        format!(r#"action="/centres/{centre}/energy-facts""#),
        format!(r#"action="/centres/{centre}/readings" enctype="multipart/form-data""#),
        r#"data-meter="facility""#.into(),
        "数据中心总耗电".into(),
    ] {
        assert!(page.contains(&want), "the provider's centre page has {want}");
    }
    let tenant = Web::sign_in(&s.url, &s.tokens["tenant"]).await.unwrap();
    let seen = tenant.page(&format!("/centres/{centre}")).await;
    assert!(seen.contains(r#"data-meter="facility""#) && !seen.contains("/meters\""), "a tenant sees the meters, not the forms");

    // Meters: an IT meter without its metering point is refused beside its row, typed input kept, nothing changed.
    let before = meters(&s, &centre).await;
    let bad = "id-0=facility&kind-0=facility_total&point-0=&unit-0=cumulative_kwh&id-1=it-pdu&kind-1=it&point-1=&unit-1=cumulative_kwh";
    let r = prov.post(&format!("/centres/{centre}/meters"), bad).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains(r#"id="meter-id-1-error""#) && page.contains(r#"data-code="invalid_meter""#) && page.contains("电表定义无效"),
        "{page}"
    );
    assert!(page.contains(r#"value="it-pdu""#), "what was typed is kept");
    assert_eq!(meters(&s, &centre).await, before, "a refused form changes nothing");
    // Registered: the list replaces the unused default `it`.
    let good = "id-0=facility&kind-0=facility_total&point-0=&unit-0=cumulative_kwh&id-1=it-pdu&kind-1=it&point-1=pdu_output&unit-1=cumulative_kwh&id-2=chiller&kind-2=cooling&point-2=&unit-2=instant_kw&id-3=&kind-3=&point-3=&unit-3=cumulative_kwh";
    let r = prov.post(&format!("/centres/{centre}/meters"), good).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], format!("/centres/{centre}?done=meters#energy").as_str());
    let now = meters(&s, &centre).await;
    assert_eq!(meter_ids(&now), ["chiller", "facility", "it-pdu"], "{now}");
    let en = prov.page(&format!("/centres/{centre}?lang=en")).await;
    assert!(en.contains("PDU output (category 2)") && en.contains("Instantaneous power (kW)"), "the kinds in words");

    // Facts: a capacity that is not a number is refused beside its field; then cooling and capacity are saved.
    let r = prov.post(&format!("/centres/{centre}/energy-facts"), "cooling=liquid&rated_kw=lots").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="facts-rated-error""#) && page.contains(r#"value="lots""#), "{page}");
    assert_eq!(meters(&s, &centre).await["data_centre"], now["data_centre"], "nothing changed");
    let r = prov.post(&format!("/centres/{centre}/energy-facts"), "cooling=liquid&rated_kw=1500").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let facts = meters(&s, &centre).await["data_centre"].clone();
    assert_eq!((facts["cooling"].as_str(), facts["rated_kw"].as_f64()), (Some("liquid"), Some(1500.0)), "{facts}");
    assert!(prov.page(&format!("/centres/{centre}")).await.contains("冷板液冷"), "the cooling in Chinese");

    // Import: a malformed file is refused whole, naming its line, and stores nothing.
    let t0 = (now_ms() - 3 * 3_600_000) / 900_000 * 900_000;
    let bad = format!("centre_id,meter,ts_ms,kwh\n{centre},facility,{t0},100\n{centre},facility,{},abc\n", t0 + 900_000);
    let r = prov.post_file(&format!("/centres/{centre}/readings"), &[], "file", "bad.csv", bad.as_bytes()).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"data-line="3""#) && page.contains("第 3 行") && page.contains(r#"id="import-file-error""#), "{page}");
    assert_eq!(stored(&s, &centre).await, 0, "a refused file stores nothing");
    // A good one: readings taken, a duplicate counted once, a reading of an unknown meter refused with its line.
    let mut csv = String::from("centre_id,meter,ts_ms,kwh\n");
    for k in 0..4i64 {
        let ts = t0 + k * 900_000;
        csv.push_str(&format!("{centre},facility,{ts},{}\n{centre},it-pdu,{ts},{}\n", 1000 + 130 * k, 500 + 100 * k));
    }
    csv.push_str(&format!("{centre},facility,{t0},1000\n{centre},ghost,{t0},5\n"));
    let r = prov.post_file(&format!("/centres/{centre}/readings?lang=en"), &[], "file", "readings.csv", csv.as_bytes()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    for want in
        [r#"id="imported-readings">10<"#, r#"id="imported-accepted">8<"#, r#"id="imported-duplicates">1<"#, r#"id="imported-refused">1<"#]
    {
        assert!(page.contains(want), "the summary shows {want}: {page}");
    }
    let refused = page.split(r#"id="import-refused""#).nth(1).and_then(|t| t.split("</table>").next()).unwrap_or("");
    assert!(refused.contains(">11</td>") && refused.contains("<code>ghost</code>"), "the refusal names line 11: {refused}");
    assert_eq!(stored(&s, &centre).await, 8);
    assert!(prov.page(&format!("/centres/{centre}")).await.contains(r#"data-meter="it-pdu""#));

    // Other roles are refused and change nothing.
    for (role, path, form) in [
        ("tenant", "meters", "id-0=x&kind-0=water&point-0=&unit-0=cumulative_m3"),
        ("regulator", "energy-facts", "cooling=air&rated_kw=10"),
    ] {
        let web = Web::sign_in(&s.url, &s.tokens[role]).await.unwrap();
        let r = web.post(&format!("/centres/{centre}/{path}"), form).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{role} {path}");
    }
    let r = tenant.post_file(&format!("/centres/{centre}/readings"), &[], "file", "r.csv", csv.as_bytes()).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(meter_ids(&meters(&s, &centre).await), ["chiller", "facility", "it-pdu"]);
    assert_eq!(meters(&s, &centre).await["data_centre"]["cooling"], "liquid");
    assert_eq!(stored(&s, &centre).await, 8);
}

async fn supplier_of(s: &TestServer, provider: &str) -> Option<Value> {
    let all = s.as_role("operator").get("/api/v1/data/suppliers").await.1;
    all.as_array().unwrap().iter().find(|x| x["provider_id"] == provider).cloned()
}

async fn set_count(s: &TestServer) -> usize {
    s.as_role("operator").get("/api/v1/data/sets").await.1.as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_admits_a_supplier_which_lists_and_uploads_a_data_set() {
    let s = TestServer::start().await;
    let provider = provider_id(&s).await;
    let op = Web::sign_in(&s.url, &s.tokens["operator"]).await.unwrap();
    let page = op.page("/data").await;
    assert!(page.contains(r#"action="/data/suppliers""#) && page.contains(r#"action="/data/policies""#), "the operator's forms");
    let before = supplier_of(&s, &provider).await;

    // Admitting: a reason too short is refused beside its field; a good one asks first, then admits.
    let r = op.post("/data/suppliers", &format!("provider={provider}&status=admitted&domain=healthcare&reason=x")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="supplier-reason-error""#) && page.contains(r#"value="x""#), "{page}");
    let form =
        format!("provider={provider}&status=admitted&domain=healthcare&domain=traffic&reason=2026+%E5%B9%B4%E5%BA%A6%E9%81%B4%E9%80%89");
    let r = op.post("/data/suppliers", &form).await;
    assert_eq!(r.status(), StatusCode::OK);
    let ask = r.text().await.unwrap();
    assert!(ask.contains("确认遴选该供应方？") && ask.contains("医疗健康") && ask.contains(r#"name="confirmed" value="1""#), "{ask}");
    assert_eq!(supplier_of(&s, &provider).await, before, "nothing decided before the confirmation");
    let r = op.post("/data/suppliers", &format!("{form}&confirmed=1")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let sup = supplier_of(&s, &provider).await.unwrap();
    assert_eq!((sup["status"].as_str(), sup["domains"].clone()), (Some("admitted"), json!(["healthcare", "traffic"])), "{sup}");
    let prov = Web::sign_in(&s.url, &s.tokens["provider"]).await.unwrap();
    let r = prov.post("/data/suppliers", &format!("{form}&confirmed=1")).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "only the operator admits suppliers");

    // Listing: a bad name is refused beside its field with the input kept; a good listing goes to its page.
    let n = set_count(&s).await;
    let listing = |name: &str| {
        format!(
            "name={name}&title=%E7%A4%BE%E5%8C%BA%E9%97%A8%E8%AF%8A&title_en=Clinic+visits&description=&domain=healthcare&mode=conditional&grade=important&licence=%E6%8E%88%E6%9D%83%E5%8D%8F%E8%AE%AE&update_frequency=monthly&price=66.50&quasi=%E5%B9%B4%E9%BE%84"
        )
    };
    let r = prov.post("/data/sets", &listing("Bad+Name")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="listing-name-error""#) && page.contains(r#"value="社区门诊""#), "{page}");
    assert_eq!(set_count(&s).await, n, "nothing listed");
    let r = prov.post("/data/sets", &listing("web-clinic-visits")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/data/sets/web-clinic-visits?done=listed#upload");
    let set = s.as_role("provider").get("/api/v1/data/sets/web-clinic-visits").await.1;
    assert_eq!((set["grade"].as_str(), set["price"].as_str(), set["rows"].as_u64()), (Some("important"), Some("66.50"), Some(0)), "{set}");
    let page = prov.page("/data/sets/web-clinic-visits").await;
    assert!(
        page.contains(r#"action="/data/sets/web-clinic-visits/content""#) && page.contains("每月"),
        "the upload form, the frequency in words"
    );
    let tenant = Web::sign_in(&s.url, &s.tokens["tenant"]).await.unwrap();
    assert_eq!(tenant.post("/data/sets", &listing("tenant-set")).await.status(), StatusCode::FORBIDDEN);

    // Upload: a ragged row refuses the file whole, naming its row; a good file is taken.
    let (csv, _) = crate::data_sharing::patients(20, 7);
    let mut ragged: Vec<&str> = csv.lines().collect();
    ragged[2] = "张三,只有两列";
    let ragged = ragged.join("\n");
    let path = "/data/sets/web-clinic-visits/content";
    let r = prov.post_file(path, &[("format", "csv"), ("encoding", "utf-8")], "file", "visits.csv", ragged.as_bytes()).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="upload-file-error""#) && page.contains("第 3 行"), "{page}");
    assert_eq!(s.as_role("provider").get("/api/v1/data/sets/web-clinic-visits").await.1["rows"], 0, "nothing stored");
    let r = tenant.post_file(path, &[("format", "csv")], "file", "visits.csv", csv.as_bytes()).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "only its supplier uploads");
    let r = prov.post_file(path, &[("format", "csv"), ("encoding", "utf-8")], "file", "visits.csv", csv.as_bytes()).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(s.as_role("provider").get("/api/v1/data/sets/web-clinic-visits").await.1["rows"], 20);
    assert!(prov.page("/data/sets/web-clinic-visits").await.contains("替换内容"), "the form now replaces the content");
}

async fn policy_of(s: &TestServer, grade: &str, mode: &str) -> Value {
    let all = s.as_role("operator").get("/api/v1/data/policies").await.1;
    all.as_array().unwrap().iter().find(|p| p["grade"] == grade && p["mode"] == mode).cloned().unwrap()
}

#[tokio::test]
async fn the_operator_sets_a_grades_policy_from_the_built_in_one() {
    let s = TestServer::start().await;
    let op = Web::sign_in(&s.url, &s.tokens["operator"]).await.unwrap();
    let page = op.page("/data?policy=general-2.conditional").await;
    assert!(
        page.contains(r#"name="which" value="general-2.conditional""#) && page.contains("当前为内置策略"),
        "the built-in policy as the start"
    );
    let before = policy_of(&s, "general-2", "conditional").await;
    assert_eq!(before["configured"], false);
    // The form as shown (codes only, so nothing to escape), with the mobile number suppressed and k 5.
    let mut form: Vec<(String, String)> = vec![("which".into(), "general-2.conditional".into())];
    for (kind, op) in before["policy"]["actions"].as_object().unwrap() {
        form.push((kind.clone(), if kind == "mobile" { "suppress".into() } else { op.as_str().unwrap().to_string() }));
    }
    let encode = |extra: &[(&str, &str)]| {
        let mut f = form.clone();
        f.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        f.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
    };
    let r = op.post("/data/policies", &encode(&[("k", "many"), ("max_suppressed_share", "0.05")])).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="policy-k-error""#) && page.contains(r#"value="many""#), "{page}");
    // A person's identifier kept is refused by the service's rule.
    let keep_id = encode(&[("k", "5"), ("max_suppressed_share", "0.05")]).replace("resident_id=pseudonym", "resident_id=keep");
    let r = op.post("/data/policies", &keep_id).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains(r#"data-code="invalid_data_policy""#));
    assert_eq!(policy_of(&s, "general-2", "conditional").await, before, "refused forms change nothing");
    let prov = Web::sign_in(&s.url, &s.tokens["provider"]).await.unwrap();
    assert_eq!(prov.post("/data/policies", &encode(&[("k", "5"), ("max_suppressed_share", "0.05")])).await.status(), StatusCode::FORBIDDEN);

    let r = op.post("/data/policies", &encode(&[("k", "5"), ("max_suppressed_share", "0.05")])).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let now = policy_of(&s, "general-2", "conditional").await;
    assert_eq!(
        (now["configured"].as_bool(), now["policy"]["actions"]["mobile"].as_str(), now["policy"]["k"].as_u64()),
        (Some(true), Some("suppress"), Some(5))
    );
    let page = op.page("/data?policy=general-2.conditional&lang=en").await;
    assert!(page.contains("configured policy") && page.contains("General data (level 2)"), "the page says it is configured");
}
