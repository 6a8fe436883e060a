//! The registry page through the real router: the operator registers a provider, an enterprise, a user (whose token, shown once, works), a centre and a pool; a provider registers its own centre as an applicant; bad input comes back beside its field with what was typed kept and stores nothing (nor an audit record); other roles are refused.

use crate::harness::{TestServer, Web};
use reqwest::StatusCode;
use serde_json::Value;

fn uscc(first17: &str) -> String {
    format!("{first17}{}", suanli_core::ident::uscc_check_char(first17).unwrap())
}

/// The id a registration redirected to (`/registry?done=…&id=…`).
fn done_id(r: &reqwest::Response) -> String {
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "a registration answers with the page again");
    let to = r.headers()["location"].to_str().unwrap().to_string();
    to.split("&id=").nth(1).unwrap_or_else(|| panic!("no id in {to}")).to_string()
}

async fn count(s: &TestServer, path: &str) -> usize {
    s.as_role("operator").get(path).await.1["items"].as_array().map_or(0, Vec::len)
}

async fn audits(s: &TestServer) -> usize {
    s.state.store.audit_log(None, 100_000).await.unwrap().len()
}

#[tokio::test]
async fn the_registry_page_registers_providers_enterprises_users_centres_and_pools() {
    let s = TestServer::start().await;
    let op = Web::sign_in(&s.url, &s.tokens["operator"]).await.unwrap();
    let page = op.page("/registry").await;
    for form in ["providers", "tenants", "users", "centres", "pools"] {
        assert!(page.contains(&format!(r#"action="/registry/{form}""#)), "the operator's page has the {form} form");
    }
    assert!(page.contains(r#"href="/registry" aria-current="page""#), "the nav marks the page");

    // Bad input: beside its field, typed input kept, nothing stored, no audit record.
    let (tenants, trail) = (count(&s, "/api/v1/tenants").await, audits(&s).await);
    let r = op
        .post("/registry/tenants", "name=%E6%B5%8B%E8%AF%95%E4%BC%81%E4%B8%9A&name_en=Test&uscc=91330106MA27XY7KL0&region=hz-xihu&sme=1")
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="tenants-uscc-error""#) && page.contains(r#"data-code="invalid_uscc""#), "{page}");
    assert!(page.contains(r#"value="测试企业""#) && page.contains(r#"value="91330106MA27XY7KL0""#), "what was typed is kept");
    assert!(page.contains("统一社会信用代码无效"), "the error is in Chinese");
    assert_eq!((count(&s, "/api/v1/tenants").await, audits(&s).await), (tenants, trail), "a refused form changes nothing");

    // An enterprise and a provider.
    let code = uscc("91330106MA27XY7KL");
    let r = op
        .post("/registry/tenants", &format!("name=%E6%B5%8B%E8%AF%95%E4%BC%81%E4%B8%9A&name_en=Test+Co&uscc={code}&region=hz-xihu&sme=1"))
        .await;
    let tenant = done_id(&r);
    let t = s.as_role("operator").get(&format!("/api/v1/tenants/{tenant}")).await.1;
    assert_eq!((t["name"].as_str(), t["sme"].as_bool(), t["region"].as_str()), (Some("测试企业"), Some(true), Some("hz-xihu")), "{t}");
    let r = op.post("/registry/providers", "name=%E6%96%B0%E7%AE%97%E5%8A%9B&name_en=New+Compute&uscc=&region=hz-xihu").await;
    let provider = done_id(&r);

    // A user of the enterprise: the token is shown once and signs in to the API as that tenant.
    let r = op.post("/registry/users", &format!("name=%E5%BC%A0%E4%B8%89&role=tenant&tenant_id={tenant}&provider_id=")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    let token = page.split(r#"<code id="new-token" class="user-text">"#).nth(1).unwrap().split('<').next().unwrap().to_string();
    let me = crate::harness::Api::new(&s.url, Some(token)).get("/api/v1/me").await.1;
    assert_eq!((me["role"].as_str(), me["tenant_id"].as_str()), (Some("tenant"), Some(tenant.as_str())), "{me}");
    // A provider user named without its provider is refused beside that field.
    let r = op.post("/registry/users", "name=x&role=provider&tenant_id=&provider_id=").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains(r#"id="users-provider_id-error""#));

    // A centre of the new provider, and a pool in it; a bad price is refused beside its field.
    let r = op
        .post(
            "/registry/centres",
            &format!("provider_id={provider}&name=%E6%96%B0%E4%B8%AD%E5%BF%83&name_en=New+centre&kind=cloud&region=hz-xihu&partner_status=partner&commissioned=2025-03-01&declared_pue=1.25&racks=120"),
        )
        .await;
    let centre = done_id(&r);
    let c: Value = s.as_role("operator").get(&format!("/api/v1/centres/{centre}")).await.1;
    assert_eq!((c["partner_status"].as_str(), c["racks"].as_u64()), (Some("partner"), Some(120)), "{c}");
    let pool = |price: &str| format!("centre={centre}&accelerator=h800&nodes=4&accelerators_per_node=8&price={price}&discount=10");
    let r = op.post("/registry/pools", &pool("20%E4%B8%87")).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="pools-price-error""#) && page.contains(r#"value="20万""#), "{page}");
    let r = op.post("/registry/pools", &pool("18.50")).await;
    assert_eq!(done_id(&r), centre);
    let c: Value = s.as_role("operator").get(&format!("/api/v1/centres/{centre}")).await.1;
    assert_eq!(c["pools"][0]["price_per_hour"].as_str(), Some("18.50"), "{c}");

    // A provider registers its own centre, always as an applicant; it sees no operator forms.
    let prov = Web::sign_in(&s.url, &s.tokens["provider"]).await.unwrap();
    let page = prov.page("/registry").await;
    assert!(!page.contains(r#"action="/registry/tenants""#) && page.contains(r#"action="/registry/centres""#));
    let r = prov
        .post(
            "/registry/centres",
            "name=%E8%87%AA%E6%9C%89%E4%B8%AD%E5%BF%83&name_en=&kind=edge&region=hz-xihu&commissioned=2025-06-01&declared_pue=1.4&racks=20",
        )
        .await;
    let own = done_id(&r);
    let c: Value = s.as_role("provider").get(&format!("/api/v1/centres/{own}")).await.1;
    assert_eq!(c["partner_status"].as_str(), Some("applicant"), "{c}");
    // ... and may not register enterprises, nor add pools to another's centre.
    assert_eq!(
        prov.post("/registry/tenants", &format!("name=x&name_en=&uscc={code}&region=hz-xihu")).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(prov.post("/registry/pools", &pool("18.50")).await.status(), StatusCode::FORBIDDEN);

    // Tenants and regulators have no registry.
    for role in ["tenant", "regulator"] {
        let web = Web::sign_in(&s.url, &s.tokens[role]).await.unwrap();
        assert_eq!(web.get("/registry").await.status(), StatusCode::FORBIDDEN, "{role}");
        assert_eq!(web.post("/registry/providers", "name=x").await.status(), StatusCode::FORBIDDEN, "{role}");
        assert!(!web.page("/").await.contains(r#"href="/registry""#), "{role}'s nav has no registry");
    }
}
