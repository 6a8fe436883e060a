//! Suanli's HTTP edge: the axum router, bearer-token auth, problem+json errors, OpenAPI, metrics, and `serve`.
//!
//! `serve` owns the process: it opens the store (SQLite in the data directory, or
//! PostgreSQL from `DATABASE_URL`), starts the dispatch engine, seeds and animates the demo
//! city when asked, and answers HTTP until it is told to stop.

pub mod api;
pub mod auth;
mod background;
pub mod demo;
pub mod demo_data;
pub mod demo_incentives;
pub mod demo_models;
/// The API's bodies live in the contract crate, `suanli-api`; `crate::dto` names them here.
pub use suanli_api::dto;
pub mod error;
pub mod extract;
pub mod gateway;
pub mod ha;
pub mod metrics;
pub mod openapi;
pub mod web;

use background::Background;
pub use background::refresh_measured_pue;

use axum::Router;
use axum::routing::{get, post, put};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use suanli_core::catalogue::Catalogue;
use suanli_core::city::Policy;
use suanli_core::id::AuditId;
use suanli_core::region::Regions;
use suanli_core::time::{Clock, UnixMs};
use suanli_dispatch::billing::Billing;
use suanli_dispatch::engine::{Engine, SchedContext};
use suanli_dispatch::ids::Ids;
use suanli_dispatch::sim::{SimBackend, SimConfig};
use suanli_store::{Audit, LedgerService, Store, StoreOptions};

/// Everything a request handler needs: one shared [`Services`], so that the clone each
/// request and extractor takes is one reference count, not one per service.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

impl From<Services> for AppState {
    fn from(s: Services) -> AppState {
        AppState(Arc::new(s))
    }
}

/// The services and settings behind [`AppState`].
pub struct Services {
    pub store: Store,
    pub catalogue: Arc<Catalogue>,
    pub regions: Arc<Regions>,
    pub policy: Arc<Policy>,
    pub ids: Ids,
    pub engine: Arc<Engine>,
    pub metrics: Arc<metrics::Metrics>,
    /// The ledger's one writer (group commit).
    pub ledger: LedgerService,
    /// Recently authenticated tokens.
    pub tokens: Arc<auth::TokenCache>,
    /// What centre agents are told and what they last reported.
    pub agents: Arc<suanli_dispatch::agent::AgentHub>,
    /// Data-centre energy telemetry: the energy book over the store's readings.
    pub energy: suanli_app::Energy,
    /// Which backend each centre is bound to.
    pub backends: suanli_app::Backends,
    /// Job submissions (one or a batch), checked once for every edge, group-committed.
    pub jobs: suanli_app::Jobs,
    /// Models as a service: the catalogue, keys, usage, and the gateway behind `/v1`.
    pub models: suanli_app::Models,
    /// Data sharing: suppliers, the catalogue, requests, deliveries.
    pub data: suanli_app::DataSharing,
    /// Settlement and reconciliation.
    pub money: suanli_app::Money,
    /// A provider's earnings from every source, by period, source and centre.
    pub earnings: suanli_app::Earnings,
    /// Voucher decisions and cash top-ups.
    pub vouchers: suanli_app::Vouchers,
    /// Incentive programmes: applications, reviews, publicity, decisions, awards.
    pub incentives: suanli_app::Incentives,
    /// Compute-partner scores from measured data.
    pub partners: suanli_app::Partners,
    /// The registry's changes after creation (a provider's registration).
    pub registry: suanli_app::Registry,
    /// This replica's hold on the leader lease (always leader on SQLite).
    pub fence: Arc<suanli_store::Fence>,
}

/// Builds an audit record for a change made by a caller.
pub fn audit(s: &AppState, caller: &auth::Caller, action: &str, subject: &str, detail: serde_json::Value) -> Audit {
    audit_as(s, &caller.0.actor(), action, subject, detail)
}

/// Builds an audit record for a change made by a named actor ("system:demo", ...).
pub fn audit_as(s: &AppState, actor: &str, action: &str, subject: &str, detail: serde_json::Value) -> Audit {
    let (t, e) = s.ids.parts();
    Audit {
        id: AuditId::generate(t, e),
        at_ms: t,
        actor: actor.to_string(),
        action: action.to_string(),
        subject: subject.to_string(),
        detail,
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    use api::city;
    let api = Router::new()
        .merge(city_routes())
        .merge(registry_routes())
        .merge(jobs_routes())
        .merge(money_routes())
        .merge(energy_routes())
        .merge(models_routes())
        .merge(data_routes())
        .merge(incentives_routes());
    // A panic or an internal error inside: the web UI's 500 page, the API's `internal` problem.
    let api = api.layer(axum::middleware::from_fn(web::failure::api));
    let web = web::routes::routes()
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), web::session::guard))
        .layer(axum::middleware::from_fn(web::failure::pages))
        .route("/assets/suanli.js", get(web::script))
        .route("/assets/charts.js", get(web::charts_script))
        .route("/assets/echarts.min.js", get(web::echarts))
        .layer(compression());
    Router::new()
        .route("/healthz", get(city::healthz))
        .route("/metrics", get(metrics::render))
        .merge(web)
        .merge(gateway::router())
        .nest("/api/v1", api.layer(compression()))
        .fallback(web::not_found)
        .method_not_allowed_fallback(web::not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), ha::followers_forward))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .with_state(state)
}

/// Bodies of 1 KiB or more compressed with brotli or gzip when the client asks (`Accept-Encoding`,
/// answered with `Vary: Accept-Encoding`); never an event stream, an image or gRPC. Layered on the
/// web UI's pages, CSVs and scripts and on the JSON API only: the model gateway (`/v1`) streams
/// its tokens as they come and `/metrics` is small and scraped, so both stay as they are.
/// Signed-in pages carry the form token beside text echoed from the query; guessing it from
/// compressed sizes (BREACH) needs another site to make the browser fetch such pages with its
/// session, which the session cookies' `SameSite=Strict` refuses (`web/session.rs`).
fn compression() -> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
    let predicate = SizeAbove::new(1024).and(NotForContentType::GRPC).and(NotForContentType::IMAGES).and(NotForContentType::SSE);
    tower_http::compression::CompressionLayer::new().br(true).gzip(true).compress_when(predicate)
}

/// The city's figures, the catalogue and regions, the audit log and the OpenAPI document.
fn city_routes() -> Router<AppState> {
    use api::city;
    Router::new()
        .route("/openapi.json", get(|| async { ([(axum::http::header::CONTENT_TYPE, "application/json")], openapi::document()) }))
        .route("/city/summary", get(city::summary))
        .route("/city/trends", get(city::trends))
        .route("/accelerators", get(city::accelerators))
        .route("/regions", get(city::regions))
        .route("/audit", get(city::audit_log))
}

/// The registry (providers, centres, pools, backends, tenants, users) and the centres' agents.
fn registry_routes() -> Router<AppState> {
    use api::{centres, tenants};
    Router::new()
        .route("/providers", get(centres::list_providers).post(centres::create_provider))
        .route("/providers/{id}", axum::routing::patch(centres::update_provider))
        .route("/centres", get(centres::list_centres).post(centres::create_centre))
        .route("/centres/{id}", get(centres::get_centre))
        .route("/centres/{id}/pools", post(centres::create_pool))
        .route("/centres/{id}/partner-status", post(centres::set_partner_status))
        .route("/centres/{id}/partner-history", get(centres::partner_history))
        .route("/centres/{id}/backend", get(centres::get_backend).put(centres::bind_backend).delete(centres::unbind_backend))
        .route("/pools/{id}/price", put(centres::set_pool_price))
        .route("/tenants", get(tenants::list_tenants).post(tenants::create_tenant))
        .route("/tenants/{id}", get(tenants::get_tenant))
        .route("/users", post(tenants::create_user))
        .route("/me", get(tenants::me))
        .route("/agents", get(api::agents::list))
        .route("/agents/{id}/assignments", get(api::agents::assignments))
        .route("/agents/{id}/reports", post(api::agents::report))
}

/// Jobs: submissions, one or a batch, cancellation, explanations, fair share and quotes.
fn jobs_routes() -> Router<AppState> {
    use api::jobs;
    Router::new()
        .route("/jobs", get(jobs::list_jobs).post(jobs::submit_job))
        .route("/jobs:batch", post(jobs::submit_batch))
        .route("/jobs/{id}", get(jobs::get_job))
        .route("/jobs/{id}/cancel", post(jobs::cancel_job))
        .route("/jobs/{id}/explain", get(jobs::explain_job))
        .route("/fair-share", get(jobs::fair_share))
        .route("/quotes", post(jobs::quote))
}

/// Money: bills, settlements, statements, the ledger, voucher programmes and applications, balances and top-ups.
fn money_routes() -> Router<AppState> {
    use api::{billing, ledger, vouchers};
    Router::new()
        .route("/jobs/{id}/bill", get(billing::get_job_bill).post(billing::bill_job))
        .route("/bills", get(billing::list_bills))
        .route("/settlements", post(billing::settle))
        .route("/statements", get(billing::list_statements))
        .route("/providers/{id}/earnings", get(billing::provider_earnings))
        .route("/ledger/reconciliation", get(billing::reconciliation))
        .route("/ledger/verify", get(ledger::verify))
        .route("/ledger/accounts", get(ledger::accounts))
        .route("/ledger/transfers", post(ledger::transfers))
        .route("/voucher-programmes", get(vouchers::list_programmes).post(vouchers::create_programme))
        .route("/voucher-programmes/{id}", get(vouchers::get_programme))
        .route("/voucher-programmes/{id}/close", post(vouchers::close_programme))
        .route("/voucher-applications", get(vouchers::list_applications).post(vouchers::apply))
        .route("/voucher-applications/{id}", get(vouchers::get_application))
        .route("/voucher-applications/{id}/approve", post(vouchers::approve))
        .route("/voucher-applications/{id}/reject", post(vouchers::reject))
        .route("/tenants/{id}/balance", get(vouchers::balance))
        .route("/tenants/{id}/top-ups", post(vouchers::top_up))
}

/// Energy: readings (JSON and Prometheus remote write), meters, facts, PUE, series, coverage, evaluation, alerts.
fn energy_routes() -> Router<AppState> {
    use api::energy;
    Router::new()
        .route("/energy/readings", post(energy::ingest_readings))
        .route("/energy/prometheus/write", post(energy::prometheus_write))
        .route("/energy/centres/{id}/meters", get(energy::centre_meters).post(energy::register_meters))
        .route("/energy/centres/{id}/facts", put(energy::set_facts))
        .route("/energy/centres/{id}/pue", get(energy::centre_pue))
        .route("/energy/centres/{id}/series", get(energy::centre_series))
        .route("/energy/coverage", get(energy::coverage))
        .route("/energy/evaluation", get(energy::evaluation))
        .route("/energy/alerts", get(energy::alerts))
}

/// Models as a service: models, deployments, keys, usage, health and calls.
fn models_routes() -> Router<AppState> {
    use api::models;
    Router::new()
        .route("/models", get(models::list_models).post(models::register_model))
        .route("/models/{name}", get(models::get_model))
        .route("/models/{name}/deployments", post(models::deploy))
        .route("/models/{name}/deployments/{n}", axum::routing::delete(models::undeploy))
        .route("/model-keys", get(models::list_keys).post(models::create_key))
        .route("/model-keys/{id}", axum::routing::delete(models::revoke_key))
        .route("/model-keys/{id}/top-up", post(models::top_up_key))
        .route("/model-keys/{id}/rotate", post(models::rotate_key))
        .route("/model-usage", get(models::usage))
        .route("/model-health", get(models::health))
        .route("/model-calls", get(models::list_calls))
        .route("/model-calls/{id}", get(models::get_call))
}

/// Data sharing: suppliers, policies, sets and their content, requests, deliveries and downloads.
fn data_routes() -> Router<AppState> {
    use api::data;
    Router::new()
        .route("/data/suppliers", get(data::list_suppliers))
        .route("/data/suppliers/ranking", get(data::ranking))
        .route("/data/suppliers/{id}", put(data::set_supplier))
        .route("/data/policies", get(data::list_policies).put(data::set_policy))
        .route("/data/sets", get(data::list_sets).post(data::register_set))
        .route("/data/sets/{id}", get(data::get_set))
        .route("/data/sets/{id}/content", put(data::upload_content).layer(axum::extract::DefaultBodyLimit::max(data::MAX_UPLOAD_BYTES + 1)))
        .route("/data/requests", get(data::list_requests).post(data::create_request))
        .route("/data/requests/{id}", get(data::get_request))
        .route("/data/requests/{id}/decision", post(data::decide))
        .route("/data/deliveries", get(data::list_deliveries))
        .route("/data/deliveries/{id}", get(data::get_delivery))
        .route("/data/deliveries/{id}/links", post(data::create_link))
        .route("/data/downloads/{token}", get(data::download))
}

/// Incentive programmes, applications and their review, and compute partners' scores, certifications and green power.
fn incentives_routes() -> Router<AppState> {
    use api::incentives;
    Router::new()
        .route("/incentives/programmes", get(incentives::list_programmes).post(incentives::create_programme))
        .route("/incentives/programmes/{code}/ranking", post(incentives::rank))
        .route("/incentives/programmes/{code}/carry", post(incentives::carry))
        .route("/incentives/totals", get(incentives::totals))
        .route("/incentives/holidays", get(incentives::holidays).put(incentives::set_holidays))
        .route("/partners/scores", get(incentives::partner_scores))
        .route("/partners/rounds", post(incentives::partner_round))
        .route("/partners/alerts", get(incentives::partner_alerts))
        .route("/partners/config", get(incentives::partner_config).put(incentives::set_partner_config))
        .route("/centres/{id}/certifications", get(incentives::certifications).post(incentives::declare_certification))
        .route("/centres/{id}/green-power", get(incentives::green_power).post(incentives::declare_green_power))
        .route(
            "/incentives/applications",
            get(incentives::list_applications).post(incentives::apply).layer(axum::extract::DefaultBodyLimit::max(32 << 20)),
        )
        .route("/incentives/applications/{id}", get(incentives::get_application))
        .route("/incentives/applications/{id}/reviews", post(incentives::review))
        .route("/incentives/applications/{id}/assignments", post(incentives::assign))
        .route("/incentives/experts", get(incentives::experts).post(incentives::add_expert))
        .route("/incentives/documents/{sha256}", get(incentives::document))
        .route("/incentives/applications/{id}/objections", post(incentives::object))
        .route("/incentives/applications/{id}/objections/{n}/resolution", post(incentives::resolve))
        .route("/incentives/applications/{id}/decision", post(incentives::decide))
}

/// The wall clock, the one place the server reads time, plus a fixed offset (zero unless a test
/// or a replay runs the server ahead of or behind the wall).
#[derive(Debug, Default)]
pub struct SystemClock {
    pub offset_ms: i64,
}

impl Clock for SystemClock {
    fn now_ms(&self) -> UnixMs {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64) + self.offset_ms
    }
}

/// How to run the server.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL; otherwise SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// With PostgreSQL: the schema holding the tables (created if missing); `None`, the default.
    pub pg_schema: Option<String>,
    pub demo: bool,
    /// How often the dispatch engine runs a round.
    pub tick: Duration,
    /// Simulated seconds per wall second in the simulated backend; `None` takes the demo city's.
    pub time_scale: Option<f64>,
    /// Seed of the demo's job stream (and the simulated failures).
    pub seed: u64,
    /// Share of jobs the demo's simulated centre fails part-way (a job's fate follows its id).
    pub sim_failure_rate: f64,
    /// Whether the demo keeps submitting a stream of jobs.
    pub demo_stream: bool,
    /// Centres reached through their own cluster: (centre id, backend URL such as
    /// `slurm+http://127.0.0.1:6820?partition=gpu`). The others run on the simulated backend.
    pub backends: Vec<(String, String)>,
    /// With `demo`: days of hourly energy history to seed before the last week (365 gives
    /// every centre an annualised PUE and a grade).
    pub demo_energy_days: i64,
    /// The server's clock is the wall clock plus this (0 in production; tests that compress
    /// time, such as an hour of meter readings stamped by an exporter, run the server ahead).
    pub clock_offset_ms: i64,
    /// Connection limits and timeouts.
    pub limits: ConnLimits,
    /// This replica's id in the leader lease; `None` takes `hostname:pid`.
    pub replica: Option<String>,
    /// The address other replicas reach this one at, to forward writes while it leads
    /// (`None`: the address it listens on).
    pub advertise_url: Option<String>,
    /// Time-sliced leases for preemptible jobs (`None`, the default: every job placed once).
    pub timeslicing: Option<suanli_dispatch::engine::Timeslicing>,
    /// Judged batches of meter readings that may wait for the energy writer; one more is
    /// refused with 429 `ingest_busy` and Retry-After.
    pub energy_queue: usize,
    /// The city's policy targets. Its new data centres' PUE limit is the one setting of that
    /// limit: the pages and the API show it, and the energy book judges by it.
    pub policy: Policy,
}

/// What one client can hold of the server: connections and the time to send a request.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Connections served at once; one more is closed as soon as it is accepted.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers, and how long a kept-alive
    /// connection may sit idle before its next request (hyper measures both with one timer).
    pub header_read_timeout: Duration,
}

impl Default for ConnLimits {
    fn default() -> ConnLimits {
        ConnLimits { max_connections: 4096, header_read_timeout: Duration::from_secs(15) }
    }
}

impl ServeConfig {
    /// A platform on the embedded store in `data_dir`, listening on a free loopback port: no
    /// demo, engine rounds every 250 ms, the wall clock. Callers change what they need.
    pub fn at(data_dir: impl Into<PathBuf>) -> ServeConfig {
        ServeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.into(),
            database_url: None,
            pg_schema: None,
            demo: false,
            tick: Duration::from_millis(250),
            time_scale: None,
            seed: 0,
            sim_failure_rate: 0.02,
            demo_stream: false,
            backends: Vec::new(),
            demo_energy_days: 0,
            clock_offset_ms: 0,
            limits: ConnLimits::default(),
            replica: None,
            advertise_url: None,
            timeslicing: None,
            energy_queue: suanli_app::energy::WRITE_QUEUE,
            policy: Policy::default(),
        }
    }
}

/// Opens the store and builds the state (without listening), so tests and `serve` share it.
pub async fn build_state(cfg: &ServeConfig) -> anyhow::Result<AppState> {
    let store = match &cfg.database_url {
        Some(url) if url.starts_with("postgres") => {
            Store::connect(url, StoreOptions { pg_schema: cfg.pg_schema.clone(), ..StoreOptions::default() }).await?
        }
        _ => Store::open_dir(&cfg.data_dir).await?,
    };
    state_for_store(cfg, store).await
}

/// Builds the state over a store the caller opened (benchmarks use a scratch schema).
/// The simulated centre: it exists only in the demo, where it runs every centre bound to nothing.
fn demo_backend(cfg: &ServeConfig) -> Option<Arc<dyn suanli_dispatch::Backend>> {
    let demo_city = demo::DemoCity::builtin();
    cfg.demo.then(|| {
        Arc::new(SimBackend::new(SimConfig {
            time_scale: cfg.time_scale.unwrap_or(demo_city.workload.time_scale),
            failure_rate: cfg.sim_failure_rate,
            seed: cfg.seed,
            ..SimConfig::default()
        })) as Arc<dyn suanli_dispatch::Backend>
    })
}

pub async fn state_for_store(cfg: &ServeConfig, store: Store) -> anyhow::Result<AppState> {
    let catalogue = Arc::new(Catalogue::builtin());
    let regions = Arc::new(Regions::builtin());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock { offset_ms: cfg.clock_offset_ms });
    let ids = Ids::new(clock.clone());
    let fence = ha::hold_lease(&store, cfg.replica.clone()).await;
    // Every write of the engine, the ledger and the services is fenced: on PostgreSQL only the
    // lease's holder commits it (see ARCHITECTURE.md, high availability). Reads, and the demo's
    // seeding, use the plain store.
    let fenced = store.fenced(fence.clone());
    let ledger = LedgerService::start(fenced.clone(), clock.clone(), Duration::from_secs(1)).await?;
    let demo_sim = demo_backend(cfg);
    let sched = Arc::new(SchedContext::new(&catalogue));
    let billing = Billing::new(fenced.clone(), ledger.clone(), catalogue.clone(), ids.clone());
    let engine = Arc::new(
        Engine::new(fenced.clone(), catalogue.clone(), regions.clone(), ids.clone(), demo_sim.clone(), sched).with_billing(billing),
    );
    engine.set_timeslicing(cfg.timeslicing.clone());
    let energy = suanli_app::Energy::load(fenced.clone(), ids.clone(), cfg.energy_queue, &cfg.policy).await?;
    ha::renew_lease(&store, &fence, &engine, &ledger, &energy);
    let agents: Arc<suanli_dispatch::agent::AgentHub> = Arc::default();
    let backends = suanli_app::Backends::new(fenced.clone(), engine.clone(), agents.clone(), ids.clone(), demo_sim);
    let jobs = suanli_app::Jobs::new(fenced.clone(), engine.clone(), catalogue.clone(), regions.clone(), ids.clone());
    let gateway = suanli_gateway::Gateway::start(
        store.clone(),
        ledger.clone(),
        regions.clone(),
        clock.clone(),
        ids.clone(),
        suanli_gateway::Config::default(),
    )
    .await?;
    let models = suanli_app::Models::new(fenced.clone(), ledger.clone(), regions.clone(), ids.clone(), gateway);
    let data = suanli_app::DataSharing::open(fenced.clone(), ledger.clone(), ids.clone()).await?;
    let money = suanli_app::Money::new(fenced.clone(), ledger.clone(), ids.clone());
    let vouchers = suanli_app::Vouchers::new(fenced.clone(), ledger.clone(), ids.clone());
    // The engine's sweep closes programmes at the end of their year through the vouchers service.
    if let Some(billing) = engine.billing() {
        billing.set_year_end(Arc::new(vouchers.clone()));
    }
    let incentives = suanli_app::Incentives::open(fenced.clone(), ledger.clone(), ids.clone()).await?;
    let (store_for_partners, ids_for_partners) = (fenced.clone(), ids.clone());
    let (store_for_earnings, ids_for_earnings) = (store.clone(), ids.clone());
    let (store_for_registry, ids_for_registry, regions_for_registry, catalogue_for_registry) =
        (fenced.clone(), ids.clone(), regions.clone(), catalogue.clone());
    let connected = backends.connect_stored().await?;
    if connected > 0 {
        tracing::info!(centres = connected, "centres connected to their stored backends");
    }
    Ok(AppState::from(Services {
        store,
        catalogue,
        regions,
        policy: Arc::new(cfg.policy.clone()),
        ids,
        engine,
        metrics: Arc::default(),
        ledger,
        tokens: Arc::default(),
        agents,
        energy,
        backends,
        jobs,
        models,
        data,
        money,
        earnings: suanli_app::Earnings::new(store_for_earnings, ids_for_earnings),
        vouchers,
        incentives,
        partners: suanli_app::Partners::new(store_for_partners, ids_for_partners),
        registry: suanli_app::Registry::new(store_for_registry, ids_for_registry, regions_for_registry, catalogue_for_registry),
        fence,
    }))
}

/// Runs the platform until `shutdown` resolves.
pub async fn serve(cfg: ServeConfig, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
    let state = build_state(&cfg).await?;
    connect_backends(&state, &cfg.backends).await?;
    let listener = tokio::net::TcpListener::bind(cfg.listen).await.map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", cfg.listen))?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    state.fence.advertise(cfg.advertise_url.clone().unwrap_or_else(|| url.clone()));
    if state.fence.leads() {
        // Say where it serves now, not at the next renewal, so followers can relay at once.
        state.store.lease_attempt(&state.fence).await;
    }
    announce(&state, &cfg, &url).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let background = Background::spawn(&state, &cfg, &stop_rx);
    serve_listener(listener, router(state.clone()), cfg.limits, shutdown).await?;
    let _ = stop_tx.send(true);
    background.join().await;
    if let Err(e) = state.store.lease_release(&state.fence).await {
        tracing::warn!(error = %e, "the leader lease was not released; another replica takes over when it expires");
    }
    state.store.close().await;
    Ok(())
}

/// Seeds the demo city (the leader; a follower reads the leader's tokens) and says where it
/// serves and how to try it; or only where it serves.
async fn announce(state: &AppState, cfg: &ServeConfig, url: &str) -> anyhow::Result<()> {
    if cfg.demo {
        if cfg.demo_energy_days > 0 {
            println!("seeding the demo city with {} days of energy telemetry…", cfg.demo_energy_days);
        }
        let sim_base = start_simulated_upstream().await?;
        let (path, tokens, model_key) = if state.fence.leads() {
            let (path, tokens) = demo::seed_with_history(state, &cfg.data_dir, url, cfg.demo_energy_days).await?;
            let model_key = demo::seed_models(state, &path, &tokens, &sim_base).await?;
            (path, tokens, model_key)
        } else {
            println!("this replica follows; the leader seeded the demo city");
            demo::read_tokens(&cfg.data_dir)?
        };
        println!("Suanli demo city is up at {url}");
        println!("  demo tokens, one per role (also in {}):", path.display());
        for (role, token) in &tokens {
            println!("    {role:<10} {token}");
        }
        if let Some((_, t)) = tokens.iter().find(|(r, _)| r == "tenant") {
            println!("  try: suanli --server {url} --token {t} jobs submit --accelerators 8 --duration 1h");
        }
        if let Some(k) = model_key {
            println!("  models (simulated upstream at {sim_base}): OpenAI-compatible at {url}/v1 with the demo tenant's model key");
            println!("    model_key  {k}");
            println!("  try: curl {url}/v1/chat/completions -H 'Authorization: Bearer {k}' -H 'Content-Type: application/json' \\");
            println!("         -d '{{\"model\": \"hz-general-7b\", \"messages\": [{{\"role\": \"user\", \"content\": \"你好\"}}]}}'");
        }
    } else {
        println!("Suanli is up at {url}");
    }
    Ok(())
}

/// Starts the demo's simulated model upstream on a loopback port; answers its base URL.
async fn start_simulated_upstream() -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let names = demo_models::model_names();
    let app = axum::Router::new()
        .nest("/simulated", suanli_gateway::sim::router(suanli_gateway::sim::SimConfig { models: names, ..Default::default() }));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the demo's simulated model upstream stopped");
        }
    });
    Ok(format!("http://{addr}{}", demo_models::SIM_PATH))
}

/// Binds each named centre to its cluster's backend (`serve --backend CENTRE=URL`), stored like
/// a binding made through the API: `slurm+http://` / `slurm+https://` for slurmrestd (see
/// `suanli_dispatch::slurm`), or `agent` for a centre reached through its agent.
pub async fn connect_backends(state: &AppState, backends: &[(String, String)]) -> anyhow::Result<()> {
    for (centre, url) in backends {
        let id = suanli_core::id::CentreId::parse(centre)?;
        state.backends.bind_as("system:serve".into(), &id, url).await.map_err(|e| anyhow::anyhow!("--backend {centre}={url}: {e}"))?;
    }
    Ok(())
}

/// Answers HTTP for `state` on `listener` until `shutdown` resolves (no engine, no demo):
/// for benchmarks and tools that drive the API in-process.
pub async fn serve_api(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_listener(listener, router(state), ConnLimits::default(), shutdown).await
}

/// Answers HTTP/1.1 on `listener` with `app` until `shutdown` resolves, within `limits`: a
/// connection over the limit is closed at once, a client slower than the header-read timeout
/// (or idle that long between requests) is disconnected. Open requests get 10 s to finish.
pub async fn serve_listener(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::debug!(limit = limits.max_connections, "connection refused: at the connection limit");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(10), graceful.shutdown()).await.is_err() {
        tracing::warn!("open connections did not finish within 10 s of shutdown");
    }
    Ok(())
}

/// Creates an operator user directly in the store and returns its token: how a new
/// installation gets its first operator (`suanli bootstrap`).
pub async fn bootstrap_operator(cfg: &ServeConfig, name: &str) -> anyhow::Result<String> {
    use suanli_core::id::UserId;
    use suanli_core::tenant::Role;
    suanli_core::centre::check_name("name", name)?;
    let state = build_state(cfg).await?;
    let (t, e) = state.ids.parts();
    let token = auth::new_token(&state.ids);
    let user = suanli_store::NewUser {
        id: UserId::generate(t, e),
        name: name.to_string(),
        role: Role::Operator,
        tenant_id: None,
        provider_id: None,
        token_sha256_hex: auth::token_hash(&token),
        created_ms: t,
    };
    let mut tx = state.store.begin().await?;
    tx.insert_user(&user).await?;
    tx.audit(&audit_as(&state, "system:bootstrap", "user.create", user.id.as_str(), serde_json::json!({"name": name, "role": "operator"})))
        .await?;
    tx.commit().await?;
    state.store.close().await;
    Ok(token)
}
