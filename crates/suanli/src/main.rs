//! The `suanli` binary: `serve` runs the platform; the other subcommands talk to a running server over its API.

mod agent;
mod bench;
mod city;
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

use clap::{Parser, Subcommand};
use jobs::{JobsCmd, SubmitArgs, jobs};
use output::{Format, record, table};
use registry::{CentresCmd, PoolsCmd, ProvidersCmd, TenantsCmd, UsersCmd, centres};
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use suanli_api::money::{SettlementIn, TopUpIn};
use suanli_api::{ApiFailure, BillsQuery, Client};
use vouchers::{LedgerCmd, VouchersCmd, ledger, vouchers};

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
        /// From this Beijing calendar day, YYYY-MM-DD (00:00 China Standard Time), inclusive; or an RFC 3339 instant.
        #[arg(long)]
        from: Option<String>,
        /// Before this Beijing calendar day, YYYY-MM-DD (00:00 China Standard Time), exclusive; or an RFC 3339 instant.
        #[arg(long)]
        to: Option<String>,
        #[arg(long, default_value_t = 1000)]
        limit: u32,
    },
    /// Settle a provider for a period: a statement and the payment (operator).
    Settle {
        provider: String,
        /// The period's first Beijing calendar day, YYYY-MM-DD (00:00 China Standard Time), inclusive; or an RFC 3339 instant.
        #[arg(long)]
        from: String,
        /// The Beijing calendar day after the period, YYYY-MM-DD, exclusive; or an RFC 3339 instant.
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
    Bench(bench::BenchCmd),
}

#[derive(Debug, Subcommand)]
enum PartnersCmd {
    /// Every centre's score on the policy's four criteria and measured service, with its
    /// admission and the reasons in words (`--output json` for the figures).
    Scores,
}

/// mimalloc instead of the system allocator: the server allocates and frees many small values
/// on several threads at once (request bodies, readings, rows), where glibc's malloc spent about
/// a third of the energy ingest path's time in locks and free-list upkeep. Built without
/// transparent huge pages (`no_thp`): mimalloc otherwise asks the kernel for them, and the first
/// touch of each 2 MB page is zeroed at once in the allocating thread. `perf` put that in the
/// ledger writer's decisions (5-8 ms of CPU for one request, every few seconds, while every
/// model call waited for its hold), the gateway's tail at 2,000 calls a second.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        Command::Bootstrap { name, data_dir } => serve::bootstrap(&name, data_dir).await,
        Command::Openapi => {
            print!("{}", suanli_server::openapi::document());
            Ok(())
        }
        Command::Vouchers(cmd) => vouchers(client()?, cmd, fmt).await,
        Command::Balance { tenant } => vouchers::balance(client()?, tenant, fmt).await,
        Command::TopUp { tenant, amount, reference, transfer_id } => {
            vouchers::top_up(client()?, &tenant, &TopUpIn { amount, reference, transfer_id }, fmt).await
        }
        Command::Bills { tenant, provider, from, to, limit } => {
            vouchers::bills(client()?, &BillsQuery { tenant, provider, from, to, limit }, fmt).await
        }
        Command::Settle { provider, from, to } => vouchers::settle(client()?, &SettlementIn { provider_id: provider, from, to }, fmt).await,
        Command::Statements { provider } => vouchers::statements(client()?, provider.as_deref(), fmt).await,
        Command::Ledger(cmd) => ledger(client, cmd, fmt).await,
        Command::Agent { centre, backend, poll_ms, lease_s } => {
            agent::run(&cli.server, cli.token.clone(), &centre, &backend, poll_ms, lease_s).await
        }
        Command::Energy(cmd) => energy::run(client()?, cmd, fmt).await,
        Command::Data(data::DataCmd::Sharing(cmd)) => data_sharing::run(client()?, cmd, fmt).await,
        Command::Data(cmd) => data::run(cmd, fmt),
        Command::City => city::city(client()?, fmt).await,
        Command::Accelerators => city::accelerators(client()?, fmt).await,
        Command::Regions => city::regions(client()?, fmt).await,
        Command::Audit { subject, limit } => city::audit(client()?, subject.as_deref(), limit, fmt).await,
        Command::Me => city::me(client()?, fmt).await,
        Command::Providers(cmd) => registry::providers(client()?, cmd, fmt).await,
        Command::Centres(cmd) => centres(client()?, cmd, fmt).await,
        Command::Models(cmd) => models::run(client()?, cmd, fmt).await,
        Command::Incentives(cmd) => incentives::run(client()?, cmd, fmt).await,
        // One listing, also reachable as `suanli incentives partners`.
        Command::Partners(PartnersCmd::Scores) => incentives::run(client()?, incentives::IncentivesCmd::Partners, fmt).await,
        Command::Pools(cmd) => registry::pools(client()?, cmd, fmt).await,
        Command::Tenants(cmd) => registry::tenants(client()?, cmd, fmt).await,
        Command::Users(cmd) => registry::users(client()?, cmd, fmt).await,
        Command::Jobs(cmd) => jobs(client()?, cmd, fmt).await,
        Command::Simulate(a) => tokio::task::block_in_place(|| simulate::simulate(*a, fmt)),
        Command::Bench(cmd) => bench::run(cmd, fmt).await,
        Command::Quote(a) => jobs::quote(client()?, &a, fmt).await,
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
