//! The OpenAPI 3.1 document, generated from the handlers' annotations; `docs/openapi.json` is its committed copy.

use crate::api::{billing, centres, city, energy, jobs, ledger, tenants, vouchers};
use crate::dto::*;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Suanli API", description = "算力 — the city compute platform: registry, jobs, city totals. Errors are application/problem+json with a stable `code`.", license(name = "Apache-2.0")),
    paths(
        city::healthz,
        city::summary,
        city::accelerators,
        city::regions,
        city::audit_log,
        centres::list_providers,
        centres::create_provider,
        centres::list_centres,
        centres::get_centre,
        centres::create_centre,
        centres::create_pool,
        centres::set_partner_status,
        centres::bind_backend,
        centres::get_backend,
        centres::unbind_backend,
        tenants::list_tenants,
        tenants::get_tenant,
        tenants::create_tenant,
        tenants::create_user,
        tenants::me,
        jobs::submit_job,
        jobs::list_jobs,
        jobs::get_job,
        jobs::cancel_job,
        jobs::explain_job,
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
    ),
    components(schemas(crate::error::Problem, JobIn, JobOut, CentreOut, PoolOut, TenantOut, CitySummary)),
    modifiers(&BearerAuth),
    tags(
        (name = "registry", description = "Providers, compute centres and resource pools"),
        (name = "tenants", description = "Tenants, users and tokens"),
        (name = "jobs", description = "Submitting and following jobs"),
        (name = "city", description = "City totals, catalogue, regions, audit"),
        (name = "vouchers", description = "Voucher programmes (算力券), applications, balances and top-ups"),
        (name = "billing", description = "Bills, provider settlement and reconciliation"),
        (name = "ledger", description = "The double-entry ledger: verification, accounts, transfers"),
        (name = "energy", description = "Data-centre energy monitoring: meter readings (JSON, Prometheus remote write), PUE, coverage, evaluation, alerts"),
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
    let mut s = serde_json::to_string_pretty(&doc).expect("the OpenAPI document serialises");
    s.push('\n');
    s
}
