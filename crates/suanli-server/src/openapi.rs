//! The OpenAPI 3.1 document, generated from the handlers' annotations; `docs/openapi.json` is its committed copy.

use crate::api::{agents, billing, centres, city, data, energy, incentives, jobs, ledger, models, tenants, vouchers};
use crate::dto::*;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Suanli API", description = "算力 — the city compute platform: registry, jobs, city totals. Errors are application/problem+json with a stable `code`.", license(name = "Apache-2.0")),
    paths(
        city::healthz,
        city::summary,
        city::trends,
        city::accelerators,
        city::regions,
        city::audit_log,
        centres::list_providers,
        centres::create_provider,
        centres::update_provider,
        centres::list_centres,
        centres::get_centre,
        centres::create_centre,
        centres::create_pool,
        centres::set_pool_price,
        centres::set_partner_status,
        centres::partner_history,
        centres::bind_backend,
        centres::get_backend,
        centres::unbind_backend,
        tenants::list_tenants,
        tenants::get_tenant,
        tenants::create_tenant,
        tenants::create_user,
        tenants::me,
        jobs::submit_job,
        jobs::submit_batch,
        jobs::list_jobs,
        jobs::get_job,
        jobs::cancel_job,
        jobs::explain_job,
        jobs::fair_share,
        agents::assignments,
        agents::report,
        agents::list,
        jobs::quote,
        vouchers::create_programme,
        vouchers::list_programmes,
        vouchers::get_programme,
        vouchers::close_programme,
        vouchers::apply,
        vouchers::list_applications,
        vouchers::get_application,
        vouchers::approve,
        vouchers::reject,
        vouchers::balance,
        vouchers::top_up,
        billing::list_bills,
        billing::get_job_bill,
        billing::bill_job,
        billing::settle,
        billing::list_statements,
        billing::provider_earnings,
        billing::reconciliation,
        ledger::verify,
        ledger::accounts,
        ledger::transfers,
        energy::ingest_readings,
        energy::prometheus_write,
        energy::register_meters,
        energy::set_facts,
        energy::centre_meters,
        energy::centre_pue,
        energy::centre_series,
        energy::coverage,
        energy::evaluation,
        energy::alerts,
        models::list_models,
        models::get_model,
        models::register_model,
        models::deploy,
        models::undeploy,
        models::create_key,
        models::list_keys,
        models::revoke_key,
        models::top_up_key,
        models::rotate_key,
        models::health,
        models::usage,
        models::list_calls,
        models::get_call,
        data::list_suppliers,
        data::set_supplier,
        data::ranking,
        data::list_policies,
        data::set_policy,
        data::list_sets,
        data::register_set,
        data::get_set,
        data::upload_content,
        data::create_request,
        data::list_requests,
        data::get_request,
        data::decide,
        data::list_deliveries,
        data::get_delivery,
        data::create_link,
        data::download,
        incentives::list_programmes,
        incentives::create_programme,
        incentives::apply,
        incentives::list_applications,
        incentives::get_application,
        incentives::review,
        incentives::assign,
        incentives::add_expert,
        incentives::experts,
        incentives::document,
        incentives::rank,
        incentives::object,
        incentives::resolve,
        incentives::decide,
        incentives::totals,
        incentives::carry,
        incentives::holidays,
        incentives::set_holidays,
        incentives::partner_scores,
        incentives::partner_round,
        incentives::partner_alerts,
        incentives::partner_config,
        incentives::set_partner_config,
        incentives::declare_certification,
        incentives::certifications,
        incentives::declare_green_power,
        incentives::green_power,
    ),
    components(schemas(crate::error::Problem, JobIn, JobOut, CentreOut, PoolOut, TenantOut, CitySummary, CityTrends)),
    modifiers(&BearerAuth),
    tags(
        (name = "registry", description = "Providers, compute centres and resource pools"),
        (name = "tenants", description = "Tenants, users and tokens"),
        (name = "jobs", description = "Submitting and following jobs"),
        (name = "agents", description = "Centre agents behind firewalls: assignments, reports and who is connected (the agent protocol, versioned)"),
        (name = "city", description = "City totals, catalogue, regions, audit"),
        (name = "vouchers", description = "Voucher programmes (算力券), applications, balances and top-ups"),
        (name = "billing", description = "Bills, provider settlement and reconciliation"),
        (name = "ledger", description = "The double-entry ledger: verification, accounts, transfers"),
        (name = "energy", description = "Data-centre energy monitoring: meter readings (JSON, Prometheus remote write), PUE, coverage, evaluation, alerts"),
        (name = "models", description = "Models as a service: the catalogue, deployments, model keys, usage and call explanations (the OpenAI-compatible calls are under /v1, authenticated by model keys)"),
        (name = "data", description = "Data sharing (数据开放共享): admitted suppliers and their yearly ranking, the graded catalogue (GB/T 43697), access requests and approvals, de-identified deliveries and their download links"),
        (name = "incentives", description = "Incentive programmes (奖补) as data: applications with evidence, expert reviews, ranking into publicity (公示), objections, decisions arbitrated 从优、就高、不重复 and paid from the city's and districts' budgets"),
        (name = "ops", description = "Health"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some("An opaque token (sl_…)")).build()),
        );
    }
}

/// The document as pretty JSON with a trailing newline (the form committed in docs/openapi.json).
pub fn document() -> String {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    let mut doc = serde_json::to_value(&doc).expect("the OpenAPI document serialises");
    add_error_responses(&mut doc);
    let mut s = serde_json::to_string_pretty(&doc).expect("the OpenAPI document serialises");
    s.push('\n');
    s
}

/// Declares on every operation the errors the shared machinery can answer, so that no status
/// a client meets is undocumented: bearer auth (401, 403), path ids and queries (400, 404),
/// request bodies (400 malformed or unknown field, 413 too large, 415 not JSON, 422 invalid),
/// and the server's own trouble (500, 503). Each is a problem+json body with its `code`.
fn add_error_responses(doc: &mut serde_json::Value) {
    let problem = |what: &str| {
        serde_json::json!({"description": what,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
    };
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else { return };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, op) in item.iter_mut() {
            if !matches!(method.as_str(), "get" | "post" | "put" | "delete" | "patch") {
                continue;
            }
            let has_query = op["parameters"].as_array().is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
            let has_body = op.get("requestBody").is_some();
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            let mut codes: Vec<(&str, &str)> = vec![("500", "An internal error (logged; no details)"), ("503", "Temporarily unavailable")];
            if secured {
                codes.extend([("401", "No valid bearer token"), ("403", "The caller's role may not do this")]);
            }
            if path.contains('{') || has_query || has_body {
                codes.push(("400", "A malformed id, query or body"));
            }
            if path.contains('{') {
                codes.push(("404", "No such resource that the caller can see"));
            }
            if has_body {
                codes.extend([
                    ("413", "The body is larger than this endpoint accepts"),
                    ("415", "The body is not of the expected media type"),
                    ("422", "The body is well-formed but invalid"),
                ]);
            }
            let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) else { continue };
            for (code, what) in codes {
                responses.entry(code).or_insert_with(|| problem(what));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;
    use utoipa::{__dev::SchemaReferences, Path, ToSchema};

    /// What one handler or one listed component registers: every schema with its name, in the
    /// order the derive collects them before it keys them by name (where a second type of the
    /// same name silently replaces the first).
    struct Registration {
        by: String,
        operations: Vec<String>,
        schemas: Vec<(String, RefOr<Schema>)>,
    }

    fn handler<H: Path + SchemaReferences>() -> Registration {
        let mut schemas = Vec::new();
        H::schemas(&mut schemas);
        let path = H::path();
        let operations = H::methods().iter().map(|m| format!("{} {path}", serde_json::to_value(m).unwrap().as_str().unwrap())).collect();
        Registration { by: std::any::type_name::<H>().replace("__path_", ""), operations, schemas }
    }

    fn component<T: ToSchema>() -> Registration {
        let mut schemas = Vec::new();
        T::schemas(&mut schemas);
        schemas.push((T::name().into_owned(), T::schema()));
        Registration { by: std::any::type_name::<T>().to_string(), operations: Vec::new(), schemas }
    }

    /// ApiDoc's handlers and components again, as the types the derive reads; the test checks
    /// that this list and ApiDoc's stay the same.
    fn registrations() -> Vec<Registration> {
        let mut all = vec![
            handler::<city::__path_healthz>(),
            handler::<city::__path_summary>(),
            handler::<city::__path_trends>(),
            handler::<city::__path_accelerators>(),
            handler::<city::__path_regions>(),
            handler::<city::__path_audit_log>(),
            handler::<centres::__path_list_providers>(),
            handler::<centres::__path_create_provider>(),
            handler::<centres::__path_update_provider>(),
            handler::<centres::__path_list_centres>(),
            handler::<centres::__path_get_centre>(),
            handler::<centres::__path_create_centre>(),
            handler::<centres::__path_create_pool>(),
            handler::<centres::__path_set_pool_price>(),
            handler::<centres::__path_set_partner_status>(),
            handler::<centres::__path_partner_history>(),
            handler::<centres::__path_bind_backend>(),
            handler::<centres::__path_get_backend>(),
            handler::<centres::__path_unbind_backend>(),
            handler::<tenants::__path_list_tenants>(),
            handler::<tenants::__path_get_tenant>(),
            handler::<tenants::__path_create_tenant>(),
            handler::<tenants::__path_create_user>(),
            handler::<tenants::__path_me>(),
            handler::<jobs::__path_submit_job>(),
            handler::<jobs::__path_submit_batch>(),
            handler::<jobs::__path_list_jobs>(),
            handler::<jobs::__path_get_job>(),
            handler::<jobs::__path_cancel_job>(),
            handler::<jobs::__path_explain_job>(),
            handler::<jobs::__path_fair_share>(),
            handler::<agents::__path_assignments>(),
            handler::<agents::__path_report>(),
            handler::<agents::__path_list>(),
            handler::<jobs::__path_quote>(),
            handler::<vouchers::__path_create_programme>(),
            handler::<vouchers::__path_list_programmes>(),
            handler::<vouchers::__path_get_programme>(),
            handler::<vouchers::__path_close_programme>(),
            handler::<vouchers::__path_apply>(),
            handler::<vouchers::__path_list_applications>(),
            handler::<vouchers::__path_get_application>(),
            handler::<vouchers::__path_approve>(),
            handler::<vouchers::__path_reject>(),
            handler::<vouchers::__path_balance>(),
            handler::<vouchers::__path_top_up>(),
            handler::<billing::__path_list_bills>(),
            handler::<billing::__path_get_job_bill>(),
            handler::<billing::__path_bill_job>(),
            handler::<billing::__path_settle>(),
            handler::<billing::__path_list_statements>(),
            handler::<billing::__path_provider_earnings>(),
            handler::<billing::__path_reconciliation>(),
            handler::<ledger::__path_verify>(),
            handler::<ledger::__path_accounts>(),
            handler::<ledger::__path_transfers>(),
            handler::<energy::__path_ingest_readings>(),
            handler::<energy::__path_prometheus_write>(),
            handler::<energy::__path_register_meters>(),
            handler::<energy::__path_set_facts>(),
            handler::<energy::__path_centre_meters>(),
            handler::<energy::__path_centre_pue>(),
            handler::<energy::__path_centre_series>(),
            handler::<energy::__path_coverage>(),
            handler::<energy::__path_evaluation>(),
            handler::<energy::__path_alerts>(),
            handler::<models::__path_list_models>(),
            handler::<models::__path_get_model>(),
            handler::<models::__path_register_model>(),
            handler::<models::__path_deploy>(),
            handler::<models::__path_undeploy>(),
            handler::<models::__path_create_key>(),
            handler::<models::__path_list_keys>(),
            handler::<models::__path_revoke_key>(),
            handler::<models::__path_top_up_key>(),
            handler::<models::__path_rotate_key>(),
            handler::<models::__path_health>(),
            handler::<models::__path_usage>(),
            handler::<models::__path_list_calls>(),
            handler::<models::__path_get_call>(),
            handler::<data::__path_list_suppliers>(),
            handler::<data::__path_set_supplier>(),
            handler::<data::__path_ranking>(),
            handler::<data::__path_list_policies>(),
            handler::<data::__path_set_policy>(),
            handler::<data::__path_list_sets>(),
            handler::<data::__path_register_set>(),
            handler::<data::__path_get_set>(),
            handler::<data::__path_upload_content>(),
            handler::<data::__path_create_request>(),
            handler::<data::__path_list_requests>(),
            handler::<data::__path_get_request>(),
            handler::<data::__path_decide>(),
            handler::<data::__path_list_deliveries>(),
            handler::<data::__path_get_delivery>(),
            handler::<data::__path_create_link>(),
            handler::<data::__path_download>(),
            handler::<incentives::__path_list_programmes>(),
            handler::<incentives::__path_create_programme>(),
            handler::<incentives::__path_apply>(),
            handler::<incentives::__path_list_applications>(),
            handler::<incentives::__path_get_application>(),
            handler::<incentives::__path_review>(),
            handler::<incentives::__path_assign>(),
            handler::<incentives::__path_add_expert>(),
            handler::<incentives::__path_experts>(),
            handler::<incentives::__path_document>(),
            handler::<incentives::__path_rank>(),
            handler::<incentives::__path_object>(),
            handler::<incentives::__path_resolve>(),
            handler::<incentives::__path_decide>(),
            handler::<incentives::__path_totals>(),
            handler::<incentives::__path_carry>(),
            handler::<incentives::__path_holidays>(),
            handler::<incentives::__path_set_holidays>(),
            handler::<incentives::__path_partner_scores>(),
            handler::<incentives::__path_partner_round>(),
            handler::<incentives::__path_partner_alerts>(),
            handler::<incentives::__path_partner_config>(),
            handler::<incentives::__path_set_partner_config>(),
            handler::<incentives::__path_declare_certification>(),
            handler::<incentives::__path_certifications>(),
            handler::<incentives::__path_declare_green_power>(),
            handler::<incentives::__path_green_power>(),
        ];
        all.extend([
            component::<crate::error::Problem>(),
            component::<JobIn>(),
            component::<JobOut>(),
            component::<CentreOut>(),
            component::<PoolOut>(),
            component::<TenantOut>(),
            component::<CitySummary>(),
            component::<CityTrends>(),
        ]);
        all
    }

    /// Two Rust types with one schema name overwrite each other in `components.schemas`, and
    /// every `$ref` to that name then describes whichever came last. Each name must stand for
    /// one schema wherever it is registered.
    #[test]
    fn no_two_types_share_a_schema_name() {
        let all = registrations();
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let documented: BTreeSet<String> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                let methods =
                    item.as_object().unwrap().keys().filter(|k| matches!(k.as_str(), "get" | "put" | "post" | "delete" | "patch"));
                methods.map(move |method| format!("{method} {path}"))
            })
            .collect();
        let listed: BTreeSet<String> = all.iter().flat_map(|r| r.operations.clone()).collect();
        assert_eq!(listed, documented, "the handlers listed here must be ApiDoc's paths");
        let mut by_name: BTreeMap<&str, BTreeMap<String, Vec<&str>>> = BTreeMap::new();
        for r in &all {
            for (name, schema) in &r.schemas {
                let users = by_name.entry(name).or_default().entry(serde_json::to_string(schema).unwrap()).or_default();
                if !users.contains(&r.by.as_str()) {
                    users.push(&r.by);
                }
            }
        }
        let components: BTreeSet<&str> = doc["components"]["schemas"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(by_name.keys().copied().collect::<BTreeSet<_>>(), components, "the schemas collected here must be ApiDoc's");
        let collisions: Vec<String> = by_name
            .iter()
            .filter(|(_, schemas)| schemas.len() > 1)
            .map(|(name, schemas)| {
                let each = schemas.iter().map(|(schema, by)| format!("  {:.160}… through {}", schema, by.join(", "))).collect::<Vec<_>>();
                format!("{name} names {} different schemas:\n{}", schemas.len(), each.join("\n"))
            })
            .collect();
        assert!(
            collisions.is_empty(),
            "schema names shared by different types (give one a #[schema(as = ...)] name of its own):\n{}",
            collisions.join("\n")
        );
    }

    /// Generated clients name a method after each operationId, and the OpenAPI specification
    /// requires them unique: utoipa takes the handler's function name, so `vouchers::apply` and
    /// `incentives::apply` would both be `apply` unless one says `operation_id = "..."`.
    #[test]
    fn no_two_operations_share_an_operation_id() {
        let handler_of: BTreeMap<String, String> =
            registrations().into_iter().flat_map(|r| r.operations.into_iter().map(move |op| (op, r.by.clone()))).collect();
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut by_id: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let Some(id) = op["operationId"].as_str() else { continue };
                let operation = format!("{method} {path}");
                let by = handler_of.get(&operation).map_or("?", String::as_str);
                by_id.entry(id.to_string()).or_default().push(format!("{operation} ({by})"));
            }
        }
        let shared: Vec<String> =
            by_id.iter().filter(|(_, ops)| ops.len() > 1).map(|(id, ops)| format!("{id}: {}", ops.join(", "))).collect();
        assert!(
            shared.is_empty(),
            "operationIds used by more than one operation (give each its own #[utoipa::path(operation_id = ...)]):\n{}",
            shared.join("\n")
        );
    }
}
