//! The `suanli` binary: `serve` runs the platform; the other subcommands talk to a running server over its API.

mod bench;
mod bench_deid;
mod bench_dispatch;
mod bench_e2e;
mod bench_energy;
mod bench_gateway;
mod bench_ledger;
mod bench_rounds;
mod bench_web;
mod data;
mod data_sharing;
mod energy;
mod incentives;
mod jobs;
mod models;
mod output;
mod registry;
mod serve;
mod simulate;
mod simulate_gavel;
mod vouchers;

use anyhow::Context;
use clap::{Parser, Subcommand};
use jobs::{JobsCmd, OPTION_COLS, SubmitArgs, job_body, jobs, option_row};
use output::{Format, cell, record, table, time, to_value};
use registry::{CentresCmd, POOL_FIELDS, PoolsCmd, ProvidersCmd, TenantsCmd, UsersCmd, centres};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use suanli_api::dto::{NewPoolIn, NewProviderIn, NewTenantIn, NewUserIn, PoolPriceIn, ProviderRegistrationIn};
use suanli_api::money::{SettlementIn, TopUpIn};
use suanli_api::{ApiFailure, BillsQuery, Client};
use vouchers::{BILL_COLUMNS, LedgerCmd, STATEMENT_COLUMNS, VouchersCmd, ledger, show_balance, vouchers};

#[derive(Debug, Parser)]
#[command(name = "suanli", version, about = "Suanli (算力): the city compute platform — serve it, or use it from the command line")]
struct Cli {
    /// Server to talk to.
    #[arg(long, global = true, env = "SUANLI_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Bearer token (the demo writes one per role to demo-tokens.json).
    #[arg(long, global = true, env = "SUANLI_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// How to print results.
    #[arg(long, short = 'o', global = true, value_enum, default_value = "table")]
    output: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the platform: API, dispatch engine and (with --demo) a living demo city.
    Serve(serve::ServeArgs),
    /// Create an operator user in the store directly and print its token (a new installation's first step).
    Bootstrap {
        /// The operator's display name.
        #[arg(long, default_value = "platform operator")]
        name: String,
        /// The data directory of the embedded store (ignored when DATABASE_URL is set).
        #[arg(long, env = "SUANLI_DATA_DIR", default_value = "suanli-data")]
        data_dir: PathBuf,
    },
    /// Print the OpenAPI 3.1 document of this build.
    Openapi,
    /// City totals against the policy's targets.
    City,
    /// Compute providers.
    #[command(subcommand)]
    Providers(ProvidersCmd),
    /// Compute centres.
    #[command(subcommand)]
    Centres(CentresCmd),
    /// Resource pools of a centre.
    #[command(subcommand)]
    Pools(PoolsCmd),
    /// Tenant enterprises.
    #[command(subcommand)]
    Tenants(TenantsCmd),
    /// Users and their tokens.
    #[command(subcommand)]
    Users(UsersCmd),
    /// Jobs.
    #[command(subcommand)]
    Jobs(JobsCmd),
    /// The accelerator catalogue.
    Accelerators,
    /// The region tree.
    Regions,
    /// The audit trail (operator, regulator).
    Audit {
        #[arg(long)]
        subject: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Who the token belongs to.
    Me,
    /// Price a job before submitting it: cheapest, fastest, greenest and recommended options.
    Quote(Box<SubmitArgs>),
    /// Replay a real trace on a city under Suanli's policy and the baselines; write a report with charts.
    Simulate(Box<simulate::SimulateArgs>),
    /// Voucher programmes (算力券) and applications.
    #[command(subcommand)]
    Vouchers(VouchersCmd),
    /// An enterprise's cash and voucher balances (a tenant's own by default).
    Balance {
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Credit an enterprise's prepaid cash balance (operator).
    TopUp {
        tenant: String,
        /// Yuan.
        amount: String,
        /// The payment's reference (bank transaction number).
        #[arg(long)]
        reference: Option<String>,
        /// A transfer id (1-32 hex digits) so a retried top-up applies once.
        #[arg(long)]
        transfer_id: Option<String>,
    },
    /// Bills, one per job (`--output csv` for a spreadsheet).
    Bills {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        provider: Option<String>,
        /// YYYY-MM-DD, inclusive.
        #[arg(long)]
        from: Option<String>,
        /// YYYY-MM-DD, exclusive.
        #[arg(long)]
        to: Option<String>,
        #[arg(long, default_value_t = 1000)]
        limit: u32,
    },
    /// Settle a provider for a period: a statement and the payment (operator).
    Settle {
        provider: String,
        /// YYYY-MM-DD, inclusive.
        #[arg(long)]
        from: String,
        /// YYYY-MM-DD, exclusive.
        #[arg(long)]
        to: String,
    },
    /// Provider settlement statements (`--output csv` for a spreadsheet).
    Statements {
        #[arg(long)]
        provider: Option<String>,
    },
    /// The double-entry ledger: verify it, list accounts, reconcile bills.
    #[command(subcommand)]
    Ledger(LedgerCmd),
    /// Data-centre energy: import readings, PUE, monitoring coverage, the lifecycle report.
    #[command(subcommand)]
    Energy(energy::EnergyCmd),
    /// Data sharing: the graded catalogue, requests, approvals and downloads through the platform,
    /// and de-identifying a file offline under its grade's policy (GB/T 43697, GB/T 37964).
    #[command(subcommand)]
    Data(data::DataCmd),
    /// Models as a service: the catalogue, deployments, model keys, usage, call explanations.
    #[command(subcommand)]
    Models(models::ModelsCmd),
    /// Incentive programmes (奖补): apply with evidence, reviews, ranking, publicity, objections,
    /// decisions arbitrated 从优、就高、不重复, totals per programme.
    #[command(subcommand)]
    Incentives(incentives::IncentivesCmd),
    /// Compute-partner selection (算力伙伴遴选): each centre scored from measured data.
    #[command(subcommand)]
    Partners(PartnersCmd),
    /// Run inside a compute centre: connect out to the platform, take the centre's jobs, run
    /// them on the local cluster, report back (see README, "Connect your cluster").
    Agent {
        #[arg(long)]
        centre: String,
        /// The local cluster, e.g. slurm+http://127.0.0.1:6820?partition=gpu (token from SLURM_JWT).
        #[arg(long)]
        backend: String,
        /// How long each long-poll waits for work before reporting anyway, ms.
        #[arg(long, default_value_t = 2000)]
        poll_ms: u64,
        /// Cancel the centre's jobs after this many seconds without reaching the platform
        /// (the platform restarts restartable jobs elsewhere only after 90 s).
        #[arg(long, default_value_t = 60)]
        lease_s: u64,
    },
    /// Measure the hot paths.
    #[command(subcommand)]
    Bench(BenchCmd),
}

#[derive(Debug, Subcommand)]
enum BenchCmd {
    /// Placements per second and round latency on a synthetic city.
    Scheduler {
        #[arg(long, default_value_t = 1000)]
        centres: usize,
        #[arg(long, default_value_t = 10000)]
        pools: usize,
        #[arg(long, default_value_t = 100000)]
        jobs: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Timed runs of the full round (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Durable ledger transfers per second: batches through the ledger writer and concurrent
    /// single-transfer API requests, on the embedded store and on PostgreSQL, against a naive
    /// one-transaction-per-transfer SQL ledger in the same run.
    Ledger {
        #[arg(long, default_value_t = 8000)]
        batch_size: usize,
        #[arg(long, default_value_t = 25)]
        batches: usize,
        #[arg(long, default_value_t = 1000)]
        accounts: usize,
        #[arg(long, default_value_t = 256)]
        concurrency: usize,
        /// Seconds each concurrent phase runs.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// PostgreSQL to measure too (a scratch schema is created and dropped); "none" skips it.
        #[arg(long, env = "DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/test")]
        pg: String,
    },
    /// The user's path: job submissions over HTTP into a real `serve --demo` (SQLite, then
    /// PostgreSQL) for a fixed time, their placement and start, and the same jobs through the
    /// local Slurm's sbatch and slurmrestd in the same run.
    E2e {
        /// Seconds each target takes submissions.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Clients submitting at once (HTTP connections; sbatch processes).
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// The stores to run Suanli on, in order.
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        stores: Vec<String>,
        /// The PostgreSQL for the `postgres` run (a scratch schema, dropped after).
        #[arg(long, env = "DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/test")]
        database_url: String,
        /// slurmrestd to compare with, e.g. slurm+http://127.0.0.1:6820?user=root&partition=gpu
        /// (token from SLURM_JWT); sbatch runs against the same cluster. Left out when not given.
        #[arg(long)]
        slurm: Option<String>,
        /// Seconds to wait after the submissions for every job to start.
        #[arg(long, default_value_t = 120.0)]
        settle_seconds: f64,
    },
    /// The live engine's rounds over a large store: a store seeded with pending jobs and pools
    /// (SQLite, then PostgreSQL), a first round and later ones with arrivals between them, each
    /// round's read, decide, write and dispatch phases timed.
    Rounds {
        #[arg(long, default_value_t = 100000)]
        jobs: usize,
        #[arg(long, default_value_t = 10000)]
        pools: usize,
        #[arg(long, default_value_t = 1000)]
        centres: usize,
        /// Timed rounds after the first.
        #[arg(long, default_value_t = 10)]
        rounds: usize,
        /// New pending jobs written between two rounds (as an API replica would).
        #[arg(long, default_value_t = 1000)]
        arrivals: usize,
        /// The stores to measure, in order.
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        stores: Vec<String>,
        /// The PostgreSQL for the `postgres` run (a scratch schema, dropped after).
        #[arg(long, env = "DATABASE_URL", default_value = "postgres://postgres@127.0.0.1:5432/test")]
        database_url: String,
        /// Rounds decide over every waiting job and ask about every running one, as before the
        /// queue head and the running jobs' turns (a baseline in the same build).
        #[arg(long)]
        whole_queue: bool,
    },
    /// Jobs dispatched per second through the engine, on the simulated backend and on a real
    /// Slurm, and Suanli's overhead per job over slurmrestd's own submit.
    Dispatch {
        #[arg(long, default_value_t = 300)]
        jobs: usize,
        /// slurmrestd to measure, e.g. slurm+http://127.0.0.1:6820?user=root&partition=gpu (token from SLURM_JWT).
        #[arg(long)]
        slurm: Option<String>,
    },
    /// Meter samples per second into Suanli through Prometheus remote write and JSON batches,
    /// with the same remote-write load sent to Prometheus 2.42 and VictoriaMetrics 1.79 (Debian's
    /// packages) in the same run; each target is a fresh process per round.
    EnergyIngest {
        /// Data centres (two counter series each: facility and IT).
        #[arg(long, default_value_t = 1000)]
        centres: usize,
        /// Minutes of samples (at most 55: Prometheus takes an hour back from its newest sample).
        #[arg(long, default_value_t = 50)]
        minutes: i64,
        /// Seconds between a series' samples.
        #[arg(long, default_value_t = 5)]
        interval_s: i64,
        /// Concurrent senders, each owning a shard of the series.
        #[arg(long, default_value_t = 4)]
        clients: usize,
        #[arg(long, default_value_t = 2000)]
        samples_per_request: usize,
        /// Rounds (the median is reported).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Skip Prometheus and VictoriaMetrics.
        #[arg(long)]
        no_peers: bool,
    },
    /// Server-side render time of every web page with a big city in the store, against 100 ms.
    Web {
        #[arg(long, default_value_t = 1000)]
        centres: usize,
        #[arg(long, default_value_t = 100_000)]
        jobs: usize,
        /// Requests per page (median and p95 are reported).
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// The model gateway against calling the upstream directly and against LiteLLM's proxy: added
    /// latency at a fixed load, sustained rate, and an Azure LLM trace replay.
    Gateway {
        /// Offered load of the fixed-rate phase, requests per second.
        #[arg(long, default_value_t = 2000)]
        rate: u32,
        /// Length of each phase.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Closed-loop clients of the sustained-rate phase.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Leave LiteLLM out (it is started with scripts/litellm.sh otherwise).
        #[arg(long)]
        no_litellm: bool,
        #[arg(long, default_value = "scripts/litellm.sh")]
        litellm_script: std::path::PathBuf,
        /// The Azure LLM inference trace to replay (TIMESTAMP,ContextTokens,GeneratedTokens).
        #[arg(long)]
        trace: Option<std::path::PathBuf>,
        #[arg(long, default_value_t = 2000)]
        trace_requests: usize,
        /// How many times faster than recorded the trace's arrivals are replayed.
        #[arg(long, default_value_t = 10.0)]
        trace_speedup: f64,
    },
    /// De-identification: F1 per kind and MB/s on one core on a labelled corpus of Chinese text
    /// (scripts/deid_corpus.py), against Microsoft Presidio on the same corpus.
    Deid {
        /// Megabytes of text to generate.
        #[arg(long, default_value_t = 2.0)]
        mb: f64,
        /// Timed runs of each measurement (the median is reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// A labelled corpus (JSON Lines of text and spans) instead of a generated one.
        #[arg(long)]
        corpus: Option<std::path::PathBuf>,
        /// Leave Presidio out.
        #[arg(long)]
        no_presidio: bool,
        /// Where deid-peers.sh, deid_corpus.py and deid_presidio.py are.
        #[arg(long, default_value = "scripts")]
        scripts: std::path::PathBuf,
    },
    /// The live heuristic's gap to the exact MILP optimum on random contended instances.
    Optimality {
        #[arg(long, default_value_t = 50)]
        instances: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
enum PartnersCmd {
    /// Every centre's score on the policy's four criteria and measured service, with its
    /// admission and the reasons in words (`--output json` for the figures).
    Scores,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match e.downcast_ref::<ApiFailure>() {
                Some(f) => {
                    eprintln!("error: {f}");
                    // 1: the server refused the request; 3: the server could not be reached or failed.
                    if f.status.is_some_and(|s| s.is_client_error()) { ExitCode::from(1) } else { ExitCode::from(3) }
                }
                None => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let client = || Client::new(&cli.server, cli.token.clone()).map_err(anyhow::Error::from);
    let fmt = cli.output;
    match cli.command {
        Command::Serve(a) => serve::serve(a).await,
        Command::Bootstrap { name, data_dir } => {
            let cfg = suanli_server::ServeConfig {
                database_url: std::env::var("DATABASE_URL").ok().filter(|u| !u.is_empty()),
                ..suanli_server::ServeConfig::at(data_dir)
            };
            let token = suanli_server::bootstrap_operator(&cfg, &name).await?;
            println!("{token}");
            eprintln!("operator '{name}' created; keep this token safe: it is shown once and stored only as a hash");
            Ok(())
        }
        Command::Openapi => {
            print!("{}", suanli_server::openapi::document());
            Ok(())
        }
        Command::Vouchers(cmd) => vouchers(client()?, cmd, fmt).await,
        Command::Balance { tenant } => {
            let c = client()?;
            let tenant = match tenant {
                Some(t) => t,
                None => c.me().await?.tenant_id.context("this token is not a tenant's: pass --tenant")?,
            };
            let v = to_value(&c.balance(&tenant).await?);
            show_balance(&v, fmt);
            Ok(())
        }
        Command::TopUp { tenant, amount, reference, transfer_id } => {
            let v = to_value(&client()?.top_up(&tenant, &TopUpIn { amount, reference, transfer_id }).await?);
            show_balance(&v, fmt);
            Ok(())
        }
        Command::Bills { tenant, provider, from, to, limit } => {
            let v = to_value(&client()?.bills(&BillsQuery { tenant, provider, from, to, limit }).await?);
            list(&v, fmt, BILL_COLUMNS);
            Ok(())
        }
        Command::Settle { provider, from, to } => {
            let v = to_value(&client()?.settle(&SettlementIn { provider_id: provider, from, to }).await?);
            show(&v, fmt, STATEMENT_COLUMNS);
            Ok(())
        }
        Command::Statements { provider } => {
            let v = to_value(&client()?.statements(provider.as_deref()).await?);
            list(&v, fmt, STATEMENT_COLUMNS);
            Ok(())
        }
        Command::Ledger(cmd) => ledger(client, cmd, fmt).await,
        Command::Agent { centre, backend, poll_ms, lease_s } => {
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("SUANLI_LOG").unwrap_or_else(|_| "info".into()))
                .with_writer(std::io::stderr)
                .init();
            let token = cli.token.clone().context("the agent needs --token (a provider's or the operator's)")?;
            let centre = suanli_core::id::CentreId::parse(&centre)?;
            let slurm = std::sync::Arc::new(
                suanli_dispatch::slurm::SlurmBackend::new(
                    suanli_dispatch::slurm::SlurmConfig::from_url(&backend).map_err(|e| anyhow::anyhow!("{e}"))?,
                )
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            );
            eprintln!("suanli agent: centre {centre}, platform {}, cluster {}", cli.server, slurm.config().url);
            let cfg = suanli_dispatch::agent::AgentConfig {
                server: cli.server.clone(),
                token,
                centre,
                poll: Duration::from_millis(poll_ms.clamp(100, 30_000)),
                lease: Duration::from_secs(lease_s.max(1)),
            };
            suanli_dispatch::agent::run_agent(cfg, slurm.clone(), Some(slurm)).await.map_err(|e| anyhow::anyhow!("{e}"))
        }
        Command::Energy(cmd) => energy::run(client()?, cmd, fmt).await,
        Command::Data(data::DataCmd::Sharing(cmd)) => data_sharing::run(client()?, cmd, fmt).await,
        Command::Data(cmd) => data::run(cmd, fmt),
        Command::City => {
            let v = to_value(&client()?.city_summary().await?);
            show_city(&v, fmt);
            Ok(())
        }
        Command::Accelerators => {
            let v = to_value(&client()?.accelerators().await?);
            list(
                &v,
                fmt,
                &[
                    ("model", "model"),
                    ("name", "name"),
                    ("vendor", "vendor"),
                    ("domestic", "domestic"),
                    ("FP16 TFLOPS", "fp16_tflops"),
                    ("memory GB", "memory_gb"),
                    ("class", "class"),
                ],
            );
            Ok(())
        }
        Command::Regions => {
            let v = to_value(&client()?.regions().await?);
            list(
                &v,
                fmt,
                &[
                    ("id", "id"),
                    ("名称", "name_zh"),
                    ("name", "name_en"),
                    ("kind", "kind"),
                    ("parent", "parent"),
                    ("code", "division_code"),
                ],
            );
            Ok(())
        }
        Command::Audit { subject, limit } => {
            let v = to_value(&client()?.audit(subject.as_deref(), limit).await?);
            if fmt == Format::Json {
                output::json(&v);
            } else {
                let items = v["items"].as_array().cloned().unwrap_or_default();
                let rows: Vec<Value> = items.iter().map(|a| json!({"at": time(&a["at_ms"]), "actor": a["actor"], "action": a["action"], "subject": a["subject"], "detail": a["detail"].to_string()})).collect();
                table(&rows, &[("at (UTC)", "at"), ("actor", "actor"), ("action", "action"), ("subject", "subject"), ("detail", "detail")]);
            }
            Ok(())
        }
        Command::Me => {
            let v = to_value(&client()?.me().await?);
            show(&v, fmt, &[("user", "user_id"), ("name", "name"), ("role", "role"), ("tenant", "tenant_id"), ("provider", "provider_id")]);
            Ok(())
        }
        Command::Providers(cmd) => {
            let c = client()?;
            match cmd {
                ProvidersCmd::List => {
                    list(&to_value(&c.providers().await?), fmt, &[("id", "id"), ("名称", "name"), ("name", "name_en"), ("uscc", "uscc")])
                }
                ProvidersCmd::Create { name, name_en, uscc, region, sme } => show(
                    &to_value(&c.create_provider(&NewProviderIn { name, name_en, uscc, region, sme }).await?),
                    fmt,
                    &[("id", "id"), ("name", "name"), ("uscc", "uscc"), ("region", "region")],
                ),
                ProvidersCmd::Update { id, uscc, region, sme } => show(
                    &to_value(&c.update_provider(&id, &ProviderRegistrationIn { uscc, region, sme }).await?),
                    fmt,
                    &[("id", "id"), ("name", "name"), ("uscc", "uscc"), ("region", "region"), ("sme", "sme")],
                ),
            }
            Ok(())
        }
        Command::Centres(cmd) => centres(client()?, cmd, fmt).await,
        Command::Models(cmd) => models::run(client()?, cmd, fmt).await,
        Command::Incentives(cmd) => incentives::run(client()?, cmd, fmt).await,
        // One listing, also reachable as `suanli incentives partners`.
        Command::Partners(PartnersCmd::Scores) => incentives::run(client()?, incentives::IncentivesCmd::Partners, fmt).await,
        Command::Pools(PoolsCmd::Add { centre, accelerator, nodes, per_node, price, discount }) => {
            let body =
                NewPoolIn { accelerator, nodes, accelerators_per_node: per_node, price_per_hour: price, partner_discount_pct: discount };
            let v = to_value(&client()?.create_pool(&centre, &body).await?);
            show(&v, fmt, &POOL_FIELDS);
            Ok(())
        }
        Command::Pools(PoolsCmd::Price { pool, price, discount }) => {
            let v =
                to_value(&client()?.set_pool_price(&pool, &PoolPriceIn { price_per_hour: price, partner_discount_pct: discount }).await?);
            show(&v, fmt, &POOL_FIELDS);
            Ok(())
        }
        Command::Tenants(cmd) => {
            let c = client()?;
            let fields =
                [("id", "id"), ("名称", "name"), ("name", "name_en"), ("credit code", "uscc"), ("SME", "sme"), ("region", "region")];
            match cmd {
                TenantsCmd::List => list(&to_value(&c.tenants().await?), fmt, &fields),
                TenantsCmd::Show { id } => show(&to_value(&c.tenant(&id).await?), fmt, &fields),
                TenantsCmd::Create { name, name_en, uscc, sme, region } => {
                    show(&to_value(&c.create_tenant(&NewTenantIn { name, name_en, uscc, sme, region }).await?), fmt, &fields)
                }
            }
            Ok(())
        }
        Command::Users(UsersCmd::Create { name, role, tenant, provider }) => {
            let v = to_value(&client()?.create_user(&NewUserIn { name, role, tenant_id: tenant, provider_id: provider }).await?);
            show(&v, fmt, &[("user", "user.user_id"), ("role", "user.role"), ("token (shown once)", "token")]);
            Ok(())
        }
        Command::Jobs(cmd) => jobs(client()?, cmd, fmt).await,
        Command::Simulate(a) => tokio::task::block_in_place(|| simulate::simulate(*a, fmt)),
        Command::Bench(BenchCmd::Scheduler { centres, pools, jobs, seed, runs }) => {
            tokio::task::block_in_place(|| bench::scheduler(centres, pools, jobs, seed, runs.max(1), fmt == Format::Json))
        }
        Command::Bench(BenchCmd::Ledger { batch_size, batches, accounts, concurrency, seconds, pg }) => {
            let b = bench_ledger::LedgerBench {
                batch_size: batch_size.clamp(1, 8190),
                batches: batches.max(1),
                accounts: accounts.max(2),
                concurrency: concurrency.max(1),
                seconds: seconds.max(0.1),
                pg_url: Some(pg).filter(|u| u != "none" && u.starts_with("postgres")),
            };
            bench_ledger::ledger(b, fmt == Format::Json).await
        }
        Command::Bench(BenchCmd::E2e { seconds, connections, stores, database_url, slurm, settle_seconds }) => {
            let b = bench_e2e::E2eBench {
                seconds: seconds.clamp(1.0, 3600.0),
                connections: connections.clamp(1, 4096),
                stores,
                database_url,
                slurm,
                settle_seconds: settle_seconds.max(0.0),
            };
            bench_e2e::e2e(b, fmt == Format::Json).await
        }
        Command::Bench(BenchCmd::Rounds { jobs, pools, centres, rounds, arrivals, stores, database_url, whole_queue }) => {
            let (jobs, pools) = (jobs.max(1), pools.max(1));
            let b = bench_rounds::RoundsBench { jobs, pools, centres, rounds, arrivals, stores, database_url, whole_queue };
            bench_rounds::rounds(b, fmt == Format::Json).await
        }
        Command::Bench(BenchCmd::Dispatch { jobs, slurm }) => {
            bench_dispatch::dispatch(bench_dispatch::DispatchBench { jobs: jobs.max(1), slurm }, fmt == Format::Json).await
        }
        Command::Bench(BenchCmd::EnergyIngest { centres, minutes, interval_s, clients, samples_per_request, rounds, no_peers }) => {
            let b = bench_energy::EnergyIngestBench {
                centres: centres.max(1),
                minutes: minutes.clamp(1, 55),
                interval_s: interval_s.max(1),
                clients: clients.max(1),
                samples_per_request: samples_per_request.max(2),
                rounds: rounds.max(1),
                peers: !no_peers,
            };
            bench_energy::energy_ingest(b, fmt == Format::Json).await
        }
        Command::Bench(BenchCmd::Web { centres, jobs, runs }) => {
            bench_web::web(bench_web::WebBench { centres, jobs, runs: runs.max(1) }, fmt == Format::Json).await
        }
        Command::Bench(BenchCmd::Gateway {
            rate,
            seconds,
            concurrency,
            no_litellm,
            litellm_script,
            trace,
            trace_requests,
            trace_speedup,
        }) => {
            let b = bench_gateway::GatewayBench {
                rate: rate.max(1),
                seconds: seconds.max(0.5),
                concurrency: concurrency.max(1),
                litellm_script: (!no_litellm).then_some(litellm_script),
                trace,
                trace_requests,
                trace_speedup: trace_speedup.max(0.001),
            };
            bench_gateway::gateway(b, fmt == Format::Json).await
        }
        Command::Bench(BenchCmd::Deid { mb, runs, seed, corpus, no_presidio, scripts }) => {
            let b = bench_deid::DeidBench { mb: mb.max(0.01), runs: runs.max(1), seed, corpus, presidio: !no_presidio, scripts };
            tokio::task::block_in_place(|| bench_deid::deid(b, fmt == Format::Json))
        }
        Command::Bench(BenchCmd::Optimality { instances, seed }) => {
            tokio::task::block_in_place(|| bench::optimality(instances.max(1), seed, fmt == Format::Json))
        }
        Command::Quote(a) => {
            let v = to_value(&client()?.quote(&job_body(&a)).await?);
            if fmt == Format::Json {
                output::json(&v);
                return Ok(());
            }
            let mut rows = Vec::new();
            for (label, key) in [
                ("recommended 推荐", "recommended"),
                ("cheapest 最便宜", "cheapest"),
                ("fastest 最快", "fastest"),
                ("greenest 最绿色", "greenest"),
            ] {
                if let Some(o) = v.get(key).filter(|o| !o.is_null()) {
                    rows.push(option_row(label, o));
                }
            }
            table(&rows, &OPTION_COLS);
            let all: Vec<Value> = v["options"].as_array().map_or_else(Vec::new, |a| a.iter().map(|o| option_row("", o)).collect());
            println!("all options ({}):", all.len());
            table(&all, &OPTION_COLS[1..]);
            Ok(())
        }
    }
}

/// Prints a list: a page's `items`, or a bare array.
fn list(v: &Value, fmt: Format, cols: &[(&str, &str)]) {
    let items = v.as_array().or_else(|| v["items"].as_array()).map_or(&[][..], |a| a);
    match fmt {
        Format::Json => output::json(v),
        Format::Csv => output::csv(items, cols),
        Format::Table | Format::Markdown => table(items, cols),
    }
}

fn show(v: &Value, fmt: Format, fields: &[(&str, &str)]) {
    match fmt {
        Format::Json => output::json(v),
        Format::Csv => output::csv(std::slice::from_ref(v), fields),
        Format::Table | Format::Markdown => record(v, fields),
    }
}

fn show_city(v: &Value, fmt: Format) {
    if fmt == Format::Json {
        return output::json(v);
    }
    let pct = |x: &Value| x.as_f64().map_or("-".into(), |f| format!("{:.1}%", f * 100.0));
    let mut rows = vec![
        json!({"metric": "open compute FP16 (PFLOPS) 可开放算力", "now": format!("{:.1}", v["open_compute_pflops_fp16"].as_f64().unwrap_or(0.0)), "target": format!(">= {}", cell(&v["targets"]["open_compute_pflops_fp16"])), "progress": pct(&v["open_compute_progress"])}),
        json!({"metric": "high-performance share 高性能算力占比", "now": pct(&v["high_performance_share"]), "target": format!(">= {}", pct(&v["targets"]["high_performance_share"])), "progress": ""}),
        json!({"metric": "domestic share 国产算力占比", "now": pct(&v["domestic_share"]), "target": "", "progress": ""}),
        json!({"metric": "partner centres 算力伙伴", "now": format!("{} of {}", cell(&v["partner_centres"]), cell(&v["centres"])), "target": "", "progress": ""}),
        json!({"metric": "accelerators in use / in partner pools 加速卡使用中", "now": format!("{} / {}", cell(&v["accelerators_in_use"]), cell(&v["accelerators"])), "target": "", "progress": ""}),
        json!({"metric": "new DCs at/over PUE limit 新建数据中心PUE超标", "now": v["new_centres_over_pue_limit"].as_array().map_or(0, Vec::len), "target": format!("PUE < {}", cell(&v["targets"]["new_dc_pue_limit"])), "progress": ""}),
        json!({"metric": "tenants 企业用户", "now": cell(&v["tenants"]), "target": "", "progress": ""}),
        json!({"metric": "jobs pending / running / succeeded / failed", "now": format!("{} / {} / {} / {}", cell(&v["jobs"]["pending"]), cell(&v["jobs"]["running"]), cell(&v["jobs"]["succeeded"]), cell(&v["jobs"]["failed"])), "target": "", "progress": ""}),
    ];
    let vch = &v["vouchers"];
    if vch.is_object() {
        rows.push(json!({"metric": format!("vouchers {} spent 算力券已使用", cell(&vch["year"])), "now": format!("¥{}", cell(&vch["spent"])), "target": format!("<= ¥{} budget", cell(&vch["budget"])), "progress": pct(&vch["spent_share"])}));
        rows.push(json!({"metric": "vouchers issued / held / remaining 已发放/冻结/剩余", "now": format!("¥{} / ¥{} / ¥{}", cell(&vch["issued"]), cell(&vch["held"]), cell(&vch["remaining"])), "target": "", "progress": ""}));
        rows.push(json!({"metric": "enterprises with vouchers / applications pending", "now": format!("{} / {}", cell(&vch["enterprises"]), cell(&vch["pending_applications"])), "target": "", "progress": ""}));
    }
    table(&rows, &[("metric", "metric"), ("now", "now"), ("target", "target"), ("progress", "progress")]);
    let scopes: Vec<Value> = v["by_scope"].as_object().map_or_else(Vec::new, |m| {
        m.iter().map(|(k, s)| json!({"scope": k, "pflops": s["pflops_fp16"], "accelerators": s["accelerators"]})).collect()
    });
    table(&scopes, &[("scope 区域", "scope"), ("PFLOPS FP16", "pflops"), ("accelerators", "accelerators")]);
    let vendors: Vec<Value> = v["by_vendor"].as_object().map_or_else(Vec::new, |m| {
        m.iter().map(|(k, s)| json!({"vendor": k, "pflops": s["pflops_fp16"], "accelerators": s["accelerators"]})).collect()
    });
    table(&vendors, &[("vendor 厂商", "vendor"), ("PFLOPS FP16", "pflops"), ("accelerators", "accelerators")]);
}
