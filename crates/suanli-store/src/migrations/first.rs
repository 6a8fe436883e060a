//! Migrations 1 to 11: the foundation, the ledger and vouchers, energy telemetry, sessions, models as a service, data sharing and incentives.

/// (version, name, statements separated by ';').
pub(super) const MIGRATIONS: &[super::Migration] = &[
    (
        1,
        "foundation",
        r#"
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE audit (
    id TEXT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX audit_subject ON audit (subject, id);
CREATE TABLE providers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE centres (
    id TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES providers (id),
    name TEXT NOT NULL,
    name_en TEXT NOT NULL,
    kind TEXT NOT NULL,
    region TEXT NOT NULL,
    partner_status TEXT NOT NULL,
    commissioned_ms BIGINT NOT NULL,
    declared_pue DOUBLE PRECISION NOT NULL,
    racks BIGINT NOT NULL,
    rtt_json TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX centres_provider ON centres (provider_id);
CREATE TABLE pools (
    id TEXT PRIMARY KEY,
    centre_id TEXT NOT NULL REFERENCES centres (id),
    accelerator TEXT NOT NULL,
    nodes BIGINT NOT NULL CHECK (nodes > 0),
    accelerators_per_node BIGINT NOT NULL CHECK (accelerators_per_node > 0),
    price_fen_per_hour BIGINT NOT NULL CHECK (price_fen_per_hour > 0),
    partner_discount_pct BIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX pools_centre ON pools (centre_id);
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL,
    uscc TEXT NOT NULL UNIQUE,
    sme BIGINT NOT NULL,
    region TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    tenant_id TEXT REFERENCES tenants (id),
    provider_id TEXT REFERENCES providers (id),
    created_ms BIGINT NOT NULL
);
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    created_ms BIGINT NOT NULL
);
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    accelerators BIGINT NOT NULL CHECK (accelerators > 0),
    priority BIGINT NOT NULL,
    spec_json TEXT NOT NULL,
    pool_id TEXT REFERENCES pools (id),
    centre_id TEXT REFERENCES centres (id),
    submitted_ms BIGINT NOT NULL,
    placed_ms BIGINT,
    started_ms BIGINT,
    finished_ms BIGINT,
    reason TEXT,
    usage_s BIGINT,
    cost_fen BIGINT
);
CREATE INDEX jobs_state ON jobs (state, id);
CREATE INDEX jobs_tenant ON jobs (tenant_id, id);
CREATE INDEX jobs_centre ON jobs (centre_id, id)
"#,
    ),
    (
        2,
        "scheduler explanations",
        r#"
ALTER TABLE jobs ADD COLUMN explain_json TEXT
"#,
    ),
    (
        3,
        "ledger, vouchers, bills and statements",
        r#"
CREATE TABLE ledger_accounts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    currency TEXT NOT NULL,
    flags BIGINT NOT NULL,
    owner TEXT NOT NULL,
    debits_pending BIGINT NOT NULL,
    debits_posted BIGINT NOT NULL,
    credits_pending BIGINT NOT NULL,
    credits_posted BIGINT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX ledger_accounts_owner ON ledger_accounts (owner);
CREATE TABLE ledger_transfers (
    seq BIGINT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    debit TEXT NOT NULL,
    credit TEXT NOT NULL,
    amount BIGINT NOT NULL,
    reason TEXT NOT NULL,
    reference TEXT NOT NULL,
    ts_ms BIGINT NOT NULL,
    kind TEXT NOT NULL,
    pending_id TEXT,
    post_amount BIGINT,
    timeout_ms BIGINT
);
CREATE INDEX ledger_transfers_reference ON ledger_transfers (reference);
CREATE TABLE voucher_programmes (
    id TEXT PRIMARY KEY,
    year BIGINT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    rules_json TEXT NOT NULL,
    state TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    closed_ms BIGINT
);
CREATE TABLE voucher_applications (
    id TEXT PRIMARY KEY,
    programme_id TEXT NOT NULL REFERENCES voucher_programmes (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    requested_fen BIGINT NOT NULL CHECK (requested_fen > 0),
    purpose TEXT NOT NULL,
    state TEXT NOT NULL,
    approved_fen BIGINT,
    decision_reason TEXT,
    decided_by TEXT,
    decided_ms BIGINT,
    created_ms BIGINT NOT NULL
);
CREATE INDEX voucher_applications_tenant ON voucher_applications (tenant_id, id);
CREATE INDEX voucher_applications_state ON voucher_applications (state, id);
CREATE TABLE bills (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL UNIQUE REFERENCES jobs (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    provider_id TEXT REFERENCES providers (id),
    centre_id TEXT REFERENCES centres (id),
    pool_id TEXT REFERENCES pools (id),
    programme_id TEXT REFERENCES voucher_programmes (id),
    rule TEXT NOT NULL,
    usage_s BIGINT NOT NULL,
    accelerators BIGINT NOT NULL,
    price_fen_per_hour BIGINT NOT NULL,
    discount_pct BIGINT NOT NULL,
    ratio_pct BIGINT NOT NULL,
    charge_fen BIGINT NOT NULL,
    voucher_fen BIGINT NOT NULL,
    cash_fen BIGINT NOT NULL,
    outstanding_fen BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    statement_id TEXT
);
CREATE INDEX bills_tenant ON bills (tenant_id, id);
CREATE INDEX bills_provider ON bills (provider_id, created_ms);
CREATE TABLE statements (
    id TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES providers (id),
    from_ms BIGINT NOT NULL,
    to_ms BIGINT NOT NULL,
    bills BIGINT NOT NULL,
    charge_fen BIGINT NOT NULL,
    voucher_fen BIGINT NOT NULL,
    cash_fen BIGINT NOT NULL,
    outstanding_fen BIGINT NOT NULL,
    settled_fen BIGINT NOT NULL,
    transfer_id TEXT,
    created_ms BIGINT NOT NULL
);
CREATE INDEX statements_provider ON statements (provider_id, id)
"#,
    ),
    (
        4,
        "energy telemetry",
        r#"
CREATE TABLE energy_meters (
    centre_id TEXT NOT NULL REFERENCES centres(id),
    meter TEXT NOT NULL,
    kind TEXT NOT NULL,
    category BIGINT NULL,
    unit TEXT NOT NULL,
    PRIMARY KEY (centre_id, meter)
);
CREATE TABLE energy_readings (
    centre_id TEXT NOT NULL,
    meter TEXT NOT NULL,
    ts_ms BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (centre_id, meter, ts_ms)
)
"#,
    ),
    (
        5,
        "energy reading blocks and data-centre facts",
        r#"
CREATE TABLE energy_blocks (
    centre_id TEXT NOT NULL,
    meter TEXT NOT NULL,
    first_ms BIGINT NOT NULL,
    last_ms BIGINT NOT NULL,
    n BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX energy_blocks_time ON energy_blocks (last_ms);
CREATE TABLE energy_facts (
    centre_id TEXT PRIMARY KEY REFERENCES centres(id),
    cooling TEXT NOT NULL,
    rated_kw DOUBLE PRECISION NOT NULL
)
"#,
    ),
    (
        6,
        "typed failure causes and stored backend bindings",
        r#"
ALTER TABLE jobs ADD COLUMN fault TEXT;
UPDATE jobs SET fault = 'centre', reason = SUBSTR(reason, 15) WHERE state = 'failed' AND reason LIKE 'centre fault: %';
UPDATE jobs SET fault = 'job' WHERE state = 'failed' AND fault IS NULL;
CREATE TABLE centre_backends (
    centre_id TEXT PRIMARY KEY REFERENCES centres (id),
    url TEXT NOT NULL,
    bound_by TEXT NOT NULL,
    bound_ms BIGINT NOT NULL
)
"#,
    ),
    (
        7,
        "web sessions",
        r#"
CREATE TABLE web_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);
CREATE INDEX web_sessions_expiry ON web_sessions (expires_ms)
"#,
    ),
    (
        8,
        "models as a service: catalogue, deployments, model keys, metered calls",
        r#"
CREATE TABLE models (
    name TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL REFERENCES providers (id),
    spec_json TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE model_deployments (
    id TEXT PRIMARY KEY,
    model TEXT NOT NULL REFERENCES models (name),
    centre_id TEXT NOT NULL REFERENCES centres (id),
    spec_json TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    removed_ms BIGINT
);
CREATE INDEX model_deployments_by_model ON model_deployments (model);
CREATE TABLE model_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    secret_sha256 TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);
CREATE INDEX model_keys_by_tenant ON model_keys (tenant_id);
CREATE TABLE model_calls (
    id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES model_keys (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    model TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    deployment TEXT,
    provider_id TEXT,
    status TEXT NOT NULL,
    input_tokens BIGINT NOT NULL CHECK (input_tokens >= 0),
    output_tokens BIGINT NOT NULL CHECK (output_tokens >= 0),
    usage_source TEXT NOT NULL,
    charge_fen BIGINT NOT NULL CHECK (charge_fen >= 0),
    voucher_fen BIGINT NOT NULL CHECK (voucher_fen >= 0),
    cash_fen BIGINT NOT NULL CHECK (cash_fen >= 0),
    programme_id TEXT,
    started_ms BIGINT NOT NULL,
    ttft_ms BIGINT,
    duration_ms BIGINT NOT NULL,
    route_json TEXT NOT NULL,
    error_code TEXT,
    statement_id TEXT REFERENCES statements (id)
);
ALTER TABLE statements ADD COLUMN model_calls BIGINT NOT NULL DEFAULT 0;
CREATE INDEX model_calls_by_tenant ON model_calls (tenant_id, started_ms);
CREATE INDEX model_calls_by_provider ON model_calls (provider_id, started_ms)
"#,
    ),
    (
        9,
        "data sharing: suppliers, the catalogue, contents, requests, deliveries, download links",
        r#"
CREATE TABLE data_suppliers (
    provider_id TEXT PRIMARY KEY REFERENCES providers (id),
    status TEXT NOT NULL,
    domains_json TEXT NOT NULL,
    reason TEXT NOT NULL,
    decided_by TEXT NOT NULL,
    decided_ms BIGINT NOT NULL
);
CREATE TABLE data_sets (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    supplier_id TEXT NOT NULL REFERENCES providers (id),
    spec_json TEXT NOT NULL,
    format TEXT,
    columns_json TEXT NOT NULL,
    preview TEXT,
    row_count BIGINT NOT NULL,
    content_sha256 TEXT,
    content_bytes BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE TABLE data_contents (
    data_set_id TEXT PRIMARY KEY REFERENCES data_sets (id),
    body {blob} NOT NULL
);
CREATE TABLE data_requests (
    id TEXT PRIMARY KEY,
    data_set_id TEXT NOT NULL REFERENCES data_sets (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    supplier_id TEXT NOT NULL REFERENCES providers (id),
    spec_json TEXT NOT NULL,
    state TEXT NOT NULL,
    fee_fen BIGINT NOT NULL CHECK (fee_fen >= 0),
    voucher_fen BIGINT NOT NULL CHECK (voucher_fen >= 0),
    cash_fen BIGINT NOT NULL CHECK (cash_fen >= 0),
    programme_id TEXT,
    decisions_json TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX data_requests_by_tenant ON data_requests (tenant_id, created_ms);
CREATE INDEX data_requests_by_supplier ON data_requests (supplier_id, created_ms);
CREATE TABLE data_deliveries (
    id TEXT PRIMARY KEY,
    request_id TEXT NOT NULL UNIQUE REFERENCES data_requests (id),
    data_set_id TEXT NOT NULL REFERENCES data_sets (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    supplier_id TEXT NOT NULL REFERENCES providers (id),
    record_json TEXT NOT NULL,
    body {blob} NOT NULL,
    fee_fen BIGINT NOT NULL CHECK (fee_fen >= 0),
    voucher_fen BIGINT NOT NULL CHECK (voucher_fen >= 0),
    cash_fen BIGINT NOT NULL CHECK (cash_fen >= 0),
    created_ms BIGINT NOT NULL,
    statement_id TEXT REFERENCES statements (id)
);
CREATE INDEX data_deliveries_by_supplier ON data_deliveries (supplier_id, created_ms);
CREATE INDEX data_deliveries_by_tenant ON data_deliveries (tenant_id, created_ms);
CREATE TABLE data_links (
    token_sha256 TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES data_deliveries (id),
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
ALTER TABLE statements ADD COLUMN data_deliveries BIGINT NOT NULL DEFAULT 0
"#,
    ),
    (
        10,
        "incentive programmes, their applications (one per subject, programme and year) and evidence by SHA-256",
        r#"
CREATE TABLE incentive_programmes (
    code TEXT PRIMARY KEY,
    spec_json TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE incentive_documents (
    sha256 TEXT PRIMARY KEY,
    body {blob} NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE incentive_applications (
    id TEXT PRIMARY KEY,
    programme TEXT NOT NULL REFERENCES incentive_programmes (code),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    subject TEXT NOT NULL,
    year BIGINT NOT NULL,
    stage TEXT NOT NULL,
    record_json TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    UNIQUE (programme, subject, year)
);
CREATE INDEX incentive_applications_by_subject ON incentive_applications (subject)
"#,
    ),
    (
        11,
        "providers as incentive applicants (their registration; an application's applicant a tenant or a provider), centres' declared certifications and green power, and indexes for the partner and volume aggregates",
        r#"
ALTER TABLE providers ADD COLUMN uscc TEXT;
ALTER TABLE providers ADD COLUMN region TEXT;
ALTER TABLE providers ADD COLUMN sme BIGINT NOT NULL DEFAULT 0;
CREATE TABLE incentive_applications_v11 (
    id TEXT PRIMARY KEY,
    programme TEXT NOT NULL REFERENCES incentive_programmes (code),
    tenant_id TEXT REFERENCES tenants (id),
    provider_id TEXT REFERENCES providers (id),
    subject TEXT NOT NULL,
    year BIGINT NOT NULL,
    stage TEXT NOT NULL,
    record_json TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    UNIQUE (programme, subject, year),
    CHECK ((tenant_id IS NULL AND provider_id IS NOT NULL) OR (tenant_id IS NOT NULL AND provider_id IS NULL))
);
INSERT INTO incentive_applications_v11 (id, programme, tenant_id, provider_id, subject, year, stage, record_json, created_ms, updated_ms)
    SELECT id, programme, tenant_id, NULL, subject, year, stage, record_json, created_ms, updated_ms FROM incentive_applications;
DROP TABLE incentive_applications;
ALTER TABLE incentive_applications_v11 RENAME TO incentive_applications;
CREATE INDEX incentive_applications_by_subject ON incentive_applications (subject);
CREATE INDEX incentive_applications_by_tenant ON incentive_applications (tenant_id);
CREATE INDEX incentive_applications_by_provider ON incentive_applications (provider_id);
CREATE TABLE centre_certifications (
    id TEXT PRIMARY KEY,
    centre_id TEXT NOT NULL REFERENCES centres (id),
    kind TEXT NOT NULL,
    expires_on TEXT NOT NULL,
    record_json TEXT NOT NULL,
    declared_ms BIGINT NOT NULL
);
CREATE INDEX centre_certifications_by_centre ON centre_certifications (centre_id, declared_ms);
CREATE TABLE centre_green_power (
    id TEXT PRIMARY KEY,
    centre_id TEXT NOT NULL REFERENCES centres (id),
    share_pct DOUBLE PRECISION NOT NULL CHECK (share_pct >= 0 AND share_pct <= 100),
    record_json TEXT NOT NULL,
    declared_ms BIGINT NOT NULL
);
CREATE INDEX centre_green_power_by_centre ON centre_green_power (centre_id, declared_ms);
CREATE INDEX jobs_by_centre_state ON jobs (centre_id, state);
CREATE INDEX ledger_transfers_by_credit ON ledger_transfers (credit, ts_ms);
CREATE INDEX ledger_transfers_by_debit ON ledger_transfers (debit, ts_ms)
"#,
    ),
];
