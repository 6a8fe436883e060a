//! The city's headline figures are one figure each: the overview, the energy page and the API agree on the new data centres over the PUE limit (named and linked) and on the accelerators in use (the tile equals its region table's sum); the lifecycle ranking never merges the best centre and names every merge's destination.

use crate::harness::{TestServer, Web};
use serde_json::{Value, json};
use std::time::Duration;

/// The text between `<tag id="{id}">` and the next `<`.
fn by_id<'a>(page: &'a str, id: &str) -> Option<&'a str> {
    let at = page.find(&format!("id=\"{id}\""))?;
    let rest = &page[at..];
    let start = rest.find('>')? + 1;
    let end = rest[start..].find('<')?;
    Some(&rest[start..start + end])
}

/// Every value of attribute `attr` on the page, in order.
fn attrs<'a>(page: &'a str, attr: &str) -> Vec<&'a str> {
    page.split(&format!("{attr}=\"")).skip(1).filter_map(|x| x.split('"').next()).collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// One PUE limit, set once (`ServeConfig::policy`, `serve --new-dc-pue-limit`): at 1.20 the
/// summary's target, the trend's limit, the energy book's judgement and the evaluation's reasons
/// all say 1.20, and the centres over it are those the evaluation fails.
#[tokio::test]
async fn a_non_default_pue_limit_is_the_one_shown_and_the_one_judged() {
    let policy = suanli_core::city::Policy { new_dc_pue_limit: 1.20, ..Default::default() };
    let s = TestServer::start_with_energy_year_and(|cfg| suanli_server::ServeConfig { policy, ..cfg }).await;
    assert_eq!(s.state.energy.read().await.config().policy.pue_below, 1.20, "the book judges by the policy's limit");
    let api = s.as_role("regulator");
    let (_, summary) = api.get("/api/v1/city/summary").await;
    assert_eq!(summary["targets"]["new_dc_pue_limit"].as_f64(), Some(1.20), "{summary}");
    let over: Vec<String> = summary["over_pue_limit"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().into()).collect();
    assert!(summary["over_pue_limit"].as_array().unwrap().iter().all(|o| o["annualised_pue"].as_f64().unwrap() >= 1.20), "{summary}");
    let (_, eval) = api.get("/api/v1/energy/evaluation").await;
    let mut failing = Vec::new();
    for a in eval["assessments"].as_array().unwrap() {
        let (outcome, reason) = (a["policy"]["outcome"].as_str().unwrap(), a["policy"]["reason"].as_str().unwrap());
        match outcome {
            "fail" => {
                assert!(reason.ends_with("is not below 1.20"), "{reason}");
                failing.push(a["dc"].as_str().unwrap().to_string());
            }
            "pass" => assert!(reason.ends_with("is below 1.20"), "{reason}"),
            _ => {}
        }
    }
    assert!(!failing.is_empty(), "the demo city has new centres at or over 1.20: {eval}");
    assert_eq!(sorted(failing), sorted(over), "the evaluation's failing checks are the summary's list");
    let (_, trends) = api.get("/api/v1/city/trends").await;
    let pue = trends["trends"].as_array().unwrap().iter().find(|t| t["key"] == "new_dc_pue").unwrap().clone();
    assert_eq!(pue["target"].as_f64(), Some(1.20), "{pue}");
    let page = Web::sign_in(&s.url, &s.tokens["regulator"]).await.unwrap().page("/energy?lang=en").await;
    assert!(page.contains("1.20"), "the energy page shows the limit");
}

#[tokio::test]
async fn overview_energy_page_and_api_agree_on_the_figures() {
    let s = TestServer::start_with_energy_year().await;
    let api = s.as_role("regulator");
    let web = Web::sign_in(&s.url, &s.tokens["regulator"]).await.unwrap();

    // New data centres over the PUE limit: the API's summary, its evaluation and both pages.
    let (_, summary) = api.get("/api/v1/city/summary").await;
    let ids: Vec<String> = summary["new_centres_over_pue_limit"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().into()).collect();
    assert!(!ids.is_empty(), "the demo city has new centres over 1.25: {summary}");
    let named: Vec<String> = summary["over_pue_limit"].as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().into()).collect();
    assert_eq!(sorted(named), sorted(ids.clone()));
    assert!(summary["over_pue_limit"].as_array().unwrap().iter().all(|o| o["annualised_pue"].as_f64().unwrap() >= 1.25 && o["name"] != ""));
    let (_, eval) = api.get("/api/v1/energy/evaluation").await;
    let failing: Vec<String> = eval["assessments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["policy"]["outcome"] == "fail")
        .map(|a| a["dc"].as_str().unwrap().into())
        .collect();
    assert_eq!(sorted(failing), sorted(ids.clone()), "the evaluation's failing checks are the summary's list");
    for path in ["/", "/energy", "/?lang=en", "/energy?lang=en"] {
        let page = web.page(path).await;
        assert_eq!(by_id(&page, "pue-over-count"), Some(ids.len().to_string().as_str()), "{path}");
        assert_eq!(sorted(attrs(&page, "data-over").into_iter().map(String::from).collect()), sorted(ids.clone()), "{path}: named");
        for id in &ids {
            assert!(page.contains(&format!("<a href=\"/centres/{id}\" data-over=\"{id}\">")), "{path}: {id} linked");
        }
        assert!(page.contains("未达标") || page.contains("not met"), "{path}: the tile says the target is not met");
    }
    let energy = web.page("/energy").await;
    assert_eq!(attrs(&energy, "data-policy").iter().filter(|p| **p == "fail").count(), ids.len(), "the ranking marks the same centres");

    // Accelerators in use: a long job runs, then the tile, the region table and the API agree.
    let tenant = s.as_role("tenant");
    let body = json!({"name": "resnet-50", "kind": "training", "accelerators": 8, "min_fp16_tflops": 300.0, "duration_s": 400 * 3600});
    let (_, job) = tenant.post("/api/v1/jobs", &body).await;
    let jid = job["id"].as_str().unwrap().to_string();
    let end = tokio::time::Instant::now() + Duration::from_secs(20);
    while tenant.get(&format!("/api/v1/jobs/{jid}")).await.1["state"] != "running" {
        assert!(tokio::time::Instant::now() < end, "the job never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut agreed = false;
    for _ in 0..50 {
        let page = web.page("/").await;
        let (_, summary) = api.get("/api/v1/city/summary").await;
        let num = |id: &str| by_id(&page, id).and_then(|x| x.parse::<u64>().ok()).unwrap();
        let (busy, total) = (num("acc-busy"), num("acc-total"));
        let sum = |attr: &str| attrs(&page, attr).iter().map(|x| x.parse::<u64>().unwrap()).sum::<u64>();
        assert_eq!((sum("data-busy"), sum("data-total")), (busy, total), "the region table sums to the tile");
        let regions: u64 = summary["by_region"].as_object().unwrap().values().map(|r| r["accelerators_in_use"].as_u64().unwrap()).sum();
        assert_eq!(regions, summary["accelerators_in_use"].as_u64().unwrap(), "{summary}");
        assert!(busy <= total);
        if (busy, total) == (summary["accelerators_in_use"].as_u64().unwrap(), summary["accelerators"].as_u64().unwrap()) {
            agreed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(agreed, "the overview and the API never showed the same accelerators in use");
    let (_, j) = tenant.get(&format!("/api/v1/jobs/{jid}")).await;
    let (_, centre) = api.get(&format!("/api/v1/centres/{}", j["centre_id"].as_str().unwrap_or("-"))).await;
    if centre["partner_status"] == "partner" {
        let (_, summary) = api.get("/api/v1/city/summary").await;
        assert!(summary["accelerators_in_use"].as_u64().unwrap() >= 8, "the running job counts: {summary}");
    }

    // The lifecycle rule: the best centre never merges; a merge names a destination with a better PUE.
    let (_, eval) = api.get("/api/v1/energy/evaluation").await;
    let list = eval["assessments"].as_array().unwrap();
    assert_ne!(list[0]["lifecycle"]["recommendation"], "merge", "{}", list[0]);
    let merges: Vec<&Value> = list.iter().filter(|a| a["lifecycle"]["recommendation"] == "merge").collect();
    assert!(merges.len() < list.len(), "not every centre merges");
    for a in merges {
        let to = a["lifecycle"]["merge_into"].as_str().expect("a merge names its destination");
        let dest = list.iter().find(|d| d["dc"] == to).unwrap();
        let pue = |x: &Value| x["kpis"]["pue"]["value"].as_f64();
        assert!(pue(dest).unwrap() < pue(a).unwrap_or(f64::INFINITY), "{a} -> {dest}");
        assert_ne!(dest["lifecycle"]["recommendation"], "merge");
    }
}
