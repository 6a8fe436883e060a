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
mod client;
mod data;
mod data_sharing;
mod energy;
mod incentives;
mod models;
mod output;
mod serve;
mod simulate;
mod simulate_gavel;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use client::{ApiFailure, Client};
use output::{Format, cell, field, record, table, time};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

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
enum VouchersCmd {
    /// Programmes with their budget, issued, spent and remaining.
    Programmes,
    /// Open a year's programme, funded from the city treasury (operator). Defaults: Hangzhou's rules.
    CreateProgramme {
        #[arg(long)]
        year: i32,
        #[arg(long)]
        name: Option<String>,
        /// Yuan (default 50000000).
        #[arg(long)]
        budget: Option<String>,
        /// Percent of a bill on domestic accelerators (default 30).
        #[arg(long)]
        ratio_domestic: Option<u8>,
        /// Percent of a bill on other accelerators (default 20).
        #[arg(long)]
        ratio_other: Option<u8>,
        /// Yuan per enterprise per year (default 8000000).
        #[arg(long)]
        cap: Option<String>,
    },
    /// Close a programme: unspent vouchers return to its budget (operator).
    Close { id: String },
    /// Apply for vouchers (a tenant; the operator with --tenant).
    Apply {
        /// Yuan.
        #[arg(long)]
        amount: String,
        #[arg(long)]
        purpose: String,
        #[arg(long)]
        programme: Option<String>,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Applications, newest first.
    Applications {
        /// pending, approved or rejected.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Approve an application, issuing the vouchers (operator).
    Approve {
        id: String,
        /// Yuan, at most what was requested (default: all of it).
        #[arg(long)]
        amount: Option<String>,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Reject an application with a reason (operator).
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
enum LedgerCmd {
    /// Replay and check every invariant. With --data-dir, offline on the embedded store
    /// (or DATABASE_URL); otherwise through the server. Exits 1 on any violation.
    Verify {
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Ledger accounts and their balances.
    Accounts {
        #[arg(long)]
        owner: Option<String>,
    },
    /// Tie every bill to metered usage and to posted transfers.
    Reconcile,
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

#[derive(Debug, Subcommand)]
enum ProvidersCmd {
    List,
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        name_en: String,
        /// Its unified social credit code (with --region: what incentive programmes judge it on).
        #[arg(long, requires = "region")]
        uscc: Option<String>,
        /// The district it is registered in (a region id).
        #[arg(long, requires = "uscc")]
        region: Option<String>,
        /// A small or medium enterprise.
        #[arg(long)]
        sme: bool,
    },
    /// Corrects or completes a provider's registration (the operator); what is left out is kept.
    Update {
        /// prv_…
        id: String,
        /// Its unified social credit code.
        #[arg(long)]
        uscc: Option<String>,
        /// The district it is registered in (a region id).
        #[arg(long)]
        region: Option<String>,
        /// Whether it is a small or medium enterprise (true or false).
        #[arg(long)]
        sme: Option<bool>,
    },
}

#[derive(Debug, Subcommand)]
enum CentresCmd {
    /// List centres.
    List {
        #[arg(long)]
        provider: Option<String>,
    },
    /// Show a centre and its pools.
    Show { id: String },
    /// Register a centre.
    Create {
        #[arg(long)]
        provider: Option<String>,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        name_en: String,
        /// cloud, intelligent-computing or edge.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        region: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        commissioned: String,
        #[arg(long)]
        pue: f64,
        #[arg(long)]
        racks: u32,
        /// RTT to a region as REGION=MS (repeatable).
        #[arg(long = "rtt", value_parser = parse_rtt)]
        rtt: Vec<(String, u32)>,
        /// applicant, partner or suspended (operator only).
        #[arg(long)]
        partner_status: Option<String>,
    },
    /// Admit, suspend or reinstate a partner (operator).
    PartnerStatus {
        id: String,
        /// applicant, partner or suspended.
        status: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Bind a centre to the backend its jobs go to (operator, or the centre's provider):
    /// slurm+http://HOST:PORT[?partition=P] (token from the server's SLURM_JWT), or agent.
    Bind { id: String, url: String },
    /// Unbind a centre: it takes no more jobs (refused while jobs run there).
    Unbind { id: String },
    /// Show a centre's binding.
    Backend { id: String },
}

#[derive(Debug, Subcommand)]
enum PoolsCmd {
    /// Add a pool to a centre.
    Add {
        centre: String,
        #[arg(long)]
        accelerator: String,
        #[arg(long)]
        nodes: u32,
        #[arg(long)]
        per_node: u32,
        /// Yuan per accelerator-hour, e.g. 9.80.
        #[arg(long)]
        price: String,
        #[arg(long, default_value_t = 0)]
        discount: u8,
    },
    /// Change a pool's price (the operator, or the pool's provider); bills already made keep theirs.
    Price {
        pool: String,
        /// Yuan per accelerator-hour, e.g. 9.80.
        #[arg(long)]
        price: String,
        /// Partner discount in percent; unchanged when left out.
        #[arg(long)]
        discount: Option<u8>,
    },
}

#[derive(Debug, Subcommand)]
enum TenantsCmd {
    List,
    Show {
        id: String,
    },
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        name_en: String,
        /// Unified social credit code (18 characters).
        #[arg(long)]
        uscc: String,
        /// Whether the tenant is a small or medium enterprise.
        #[arg(long, action = clap::ArgAction::Set, default_value_t = true)]
        sme: bool,
        #[arg(long)]
        region: String,
    },
}

#[derive(Debug, Subcommand)]
enum UsersCmd {
    /// Create a user and print its token (operator).
    Create {
        #[arg(long)]
        name: String,
        /// operator, provider, tenant or regulator.
        #[arg(long)]
        role: String,
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        provider: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum JobsCmd {
    /// Submit a job.
    Submit(Box<SubmitArgs>),
    /// List jobs (newest first).
    List {
        /// pending, placed, running, succeeded, failed, cancelled (comma-separated).
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        centre: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Show one job.
    Show { id: String },
    /// Why the scheduler placed a job where it did (or why it waits).
    Explain { id: String },
    /// Cancel a job.
    Cancel {
        id: String,
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, Args)]
struct SubmitArgs {
    #[arg(long, default_value = "job")]
    name: String,
    /// training, inference or batch.
    #[arg(long, default_value = "training")]
    kind: String,
    /// Accelerators needed at once (one gang).
    #[arg(long)]
    accelerators: u32,
    /// An acceptable accelerator model (repeatable); none means any that meets the minimums.
    #[arg(long = "model")]
    models: Vec<String>,
    #[arg(long)]
    min_tflops: Option<f64>,
    #[arg(long)]
    min_memory_gb: Option<u32>,
    /// Estimated run time: 90s, 30m, 2h, 1d or plain seconds.
    #[arg(long, value_parser = parse_duration)]
    duration: i64,
    #[arg(long)]
    priority: Option<u8>,
    /// Most you pay per accelerator-hour, yuan.
    #[arg(long)]
    max_price: Option<String>,
    #[arg(long)]
    latency_slo_ms: Option<u32>,
    #[arg(long)]
    users_region: Option<String>,
    #[arg(long)]
    data_region: Option<String>,
    /// Input data set size in GB (moved from --data-region to the chosen centre).
    #[arg(long)]
    data_gb: Option<f64>,
    /// balanced, cheapest, fastest or greenest.
    #[arg(long)]
    goal: Option<String>,
    /// Let higher-priority jobs preempt this one.
    #[arg(long)]
    preemptible: bool,
    /// Let the platform start it again elsewhere if its centre goes dark while it runs.
    #[arg(long)]
    restartable: bool,
    /// A measured job class whose per-model speeds override the TFLOPS ratio.
    #[arg(long)]
    job_class: Option<String>,
    /// Finish within this long from now (90s, 30m, 2h, 1d); lets the job wait for a cleaner hour.
    #[arg(long, value_parser = parse_duration)]
    deadline_in: Option<i64>,
    /// Tenant to submit for (operator only).
    #[arg(long)]
    tenant: Option<String>,
    /// Wait until the job ends and print its final state.
    #[arg(long)]
    wait: bool,
}

fn job_body(a: &SubmitArgs) -> Value {
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    json!({
        "name": a.name, "kind": a.kind, "accelerators": a.accelerators, "models": a.models,
        "min_fp16_tflops": a.min_tflops, "min_memory_gb": a.min_memory_gb, "duration_s": a.duration,
        "priority": a.priority, "max_price_per_hour": a.max_price, "latency_slo_ms": a.latency_slo_ms,
        "users_region": a.users_region, "data_region": a.data_region, "tenant_id": a.tenant,
        "data_gb": a.data_gb, "goal": a.goal, "preemptible": a.preemptible, "restartable": a.restartable, "job_class": a.job_class,
        "deadline_ms": a.deadline_in.map(|s| now_ms + s * 1000),
    })
}

fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (num, unit) = s.find(|c: char| !c.is_ascii_digit()).map_or((s, ""), |i| s.split_at(i));
    let n: i64 = num.parse().map_err(|_| format!("'{s}' is not a duration like 90s, 30m, 2h or 1d"))?;
    let mul = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("'{s}': unit must be s, m, h or d")),
    };
    n.checked_mul(mul).ok_or_else(|| format!("'{s}' is too long"))
}

fn parse_rtt(s: &str) -> Result<(String, u32), String> {
    let (region, ms) = s.split_once('=').ok_or_else(|| format!("'{s}' is not REGION=MS"))?;
    Ok((region.to_string(), ms.parse().map_err(|_| format!("'{ms}' is not a whole number of ms"))?))
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
    let client = || Client::new(&cli.server, cli.token.clone());
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
                None => {
                    c.get("/api/v1/me").await?["tenant_id"].as_str().context("this token is not a tenant's: pass --tenant")?.to_string()
                }
            };
            let v = c.get(&format!("/api/v1/tenants/{tenant}/balance")).await?;
            show_balance(&v, fmt);
            Ok(())
        }
        Command::TopUp { tenant, amount, reference, transfer_id } => {
            let v = client()?
                .post(
                    &format!("/api/v1/tenants/{tenant}/top-ups"),
                    &json!({"amount": amount, "reference": reference, "transfer_id": transfer_id}),
                )
                .await?;
            show_balance(&v, fmt);
            Ok(())
        }
        Command::Bills { tenant, provider, from, to, limit } => {
            let mut q = vec![format!("limit={limit}")];
            for (k, v) in [("tenant_id", tenant), ("provider_id", provider), ("from", from), ("to", to)] {
                if let Some(v) = v {
                    q.push(format!("{k}={v}"));
                }
            }
            let v = client()?.get(&format!("/api/v1/bills?{}", q.join("&"))).await?;
            list(&v, fmt, BILL_COLUMNS);
            Ok(())
        }
        Command::Settle { provider, from, to } => {
            let v = client()?.post("/api/v1/settlements", &json!({"provider_id": provider, "from": from, "to": to})).await?;
            show(&v, fmt, STATEMENT_COLUMNS);
            Ok(())
        }
        Command::Statements { provider } => {
            let path = provider.map_or_else(|| "/api/v1/statements".to_string(), |p| format!("/api/v1/statements?provider_id={p}"));
            let v = client()?.get(&path).await?;
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
            let v = client()?.get("/api/v1/city/summary").await?;
            show_city(&v, fmt);
            Ok(())
        }
        Command::Accelerators => {
            let v = client()?.get("/api/v1/accelerators").await?;
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
            let v = client()?.get("/api/v1/regions").await?;
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
            let mut path = format!("/api/v1/audit?limit={limit}");
            if let Some(s) = subject {
                path.push_str(&format!("&subject={s}"));
            }
            let v = client()?.get(&path).await?;
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
            let v = client()?.get("/api/v1/me").await?;
            show(&v, fmt, &[("user", "user_id"), ("name", "name"), ("role", "role"), ("tenant", "tenant_id"), ("provider", "provider_id")]);
            Ok(())
        }
        Command::Providers(cmd) => {
            let c = client()?;
            match cmd {
                ProvidersCmd::List => {
                    list(&c.get("/api/v1/providers").await?, fmt, &[("id", "id"), ("名称", "name"), ("name", "name_en"), ("uscc", "uscc")])
                }
                ProvidersCmd::Create { name, name_en, uscc, region, sme } => show(
                    &c.post("/api/v1/providers", &json!({"name": name, "name_en": name_en, "uscc": uscc, "region": region, "sme": sme}))
                        .await?,
                    fmt,
                    &[("id", "id"), ("name", "name"), ("uscc", "uscc"), ("region", "region")],
                ),
                ProvidersCmd::Update { id, uscc, region, sme } => {
                    let mut body = serde_json::Map::new();
                    for (k, v) in [("uscc", uscc.map(Value::from)), ("region", region.map(Value::from)), ("sme", sme.map(Value::from))] {
                        if let Some(v) = v {
                            body.insert(k.into(), v);
                        }
                    }
                    show(
                        &c.patch(&format!("/api/v1/providers/{id}"), &body).await?,
                        fmt,
                        &[("id", "id"), ("name", "name"), ("uscc", "uscc"), ("region", "region"), ("sme", "sme")],
                    )
                }
            }
            Ok(())
        }
        Command::Centres(cmd) => centres(client()?, cmd, fmt).await,
        Command::Models(cmd) => models::run(client()?, cmd, fmt).await,
        Command::Incentives(cmd) => incentives::run(client()?, cmd, fmt).await,
        // One listing, also reachable as `suanli incentives partners`.
        Command::Partners(PartnersCmd::Scores) => incentives::run(client()?, incentives::IncentivesCmd::Partners, fmt).await,
        Command::Pools(PoolsCmd::Add { centre, accelerator, nodes, per_node, price, discount }) => {
            let body = json!({"accelerator": accelerator, "nodes": nodes, "accelerators_per_node": per_node, "price_per_hour": price, "partner_discount_pct": discount});
            let v = client()?.post(&format!("/api/v1/centres/{centre}/pools"), &body).await?;
            show(&v, fmt, &POOL_FIELDS);
            Ok(())
        }
        Command::Pools(PoolsCmd::Price { pool, price, discount }) => {
            let body = json!({"price_per_hour": price, "partner_discount_pct": discount});
            let v = client()?.put(&format!("/api/v1/pools/{pool}/price"), &body).await?;
            show(&v, fmt, &POOL_FIELDS);
            Ok(())
        }
        Command::Tenants(cmd) => {
            let c = client()?;
            let fields =
                [("id", "id"), ("名称", "name"), ("name", "name_en"), ("credit code", "uscc"), ("SME", "sme"), ("region", "region")];
            match cmd {
                TenantsCmd::List => list(&c.get("/api/v1/tenants").await?, fmt, &fields),
                TenantsCmd::Show { id } => show(&c.get(&format!("/api/v1/tenants/{id}")).await?, fmt, &fields),
                TenantsCmd::Create { name, name_en, uscc, sme, region } => show(
                    &c.post("/api/v1/tenants", &json!({"name": name, "name_en": name_en, "uscc": uscc, "sme": sme, "region": region}))
                        .await?,
                    fmt,
                    &fields,
                ),
            }
            Ok(())
        }
        Command::Users(UsersCmd::Create { name, role, tenant, provider }) => {
            let v =
                client()?.post("/api/v1/users", &json!({"name": name, "role": role, "tenant_id": tenant, "provider_id": provider})).await?;
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
        Command::Bench(BenchCmd::Rounds { jobs, pools, centres, rounds, arrivals, stores, database_url }) => {
            let b = bench_rounds::RoundsBench { jobs: jobs.max(1), pools: pools.max(1), centres, rounds, arrivals, stores, database_url };
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
            let v = client()?.post("/api/v1/quotes", &job_body(&a)).await?;
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

const POOL_FIELDS: [(&str, &str); 8] = [
    ("pool", "id"),
    ("accelerator", "accelerator"),
    ("vendor", "vendor"),
    ("nodes", "nodes"),
    ("per node", "accelerators_per_node"),
    ("capacity", "capacity"),
    ("¥/accel-hour", "price_per_hour"),
    ("after discount", "effective_price_per_hour"),
];

const JOB_FIELDS: [(&str, &str); 12] = [
    ("job", "id"),
    ("name", "name"),
    ("state", "state"),
    ("kind", "kind"),
    ("accelerators", "accelerators"),
    ("duration s", "duration_s"),
    ("priority", "priority"),
    ("tenant", "tenant_id"),
    ("centre", "centre_id"),
    ("pool", "pool_id"),
    ("cost ¥", "cost"),
    ("reason", "reason"),
];

const OPTION_COLS: [(&str, &str); 10] = [
    ("", "label"),
    ("centre", "centre"),
    ("region", "region"),
    ("accelerator", "accelerator"),
    ("starts in", "wait"),
    ("runs", "run"),
    ("cost ¥", "cost"),
    ("carbon kg", "carbon"),
    ("¥/accel-h", "price"),
    ("score ¥", "score"),
];

fn hours(s: &Value) -> String {
    s.as_f64().map_or("-".into(), |s| if s < 3600.0 { format!("{:.0} min", s / 60.0) } else { format!("{:.1} h", s / 3600.0) })
}

fn option_row(label: &str, o: &Value) -> Value {
    json!({
        "label": label, "centre": o["centre_id"], "region": o["region"], "accelerator": o["accelerator"],
        "wait": hours(&o["wait_s"]), "run": hours(&o["run_s"]), "cost": o["cost"], "carbon": o["carbon_kg"],
        "price": o["price_per_hour"], "score": o["score_yuan"],
    })
}

const BILL_COLUMNS: &[(&str, &str)] = &[
    ("bill", "id"),
    ("job", "job_id"),
    ("tenant", "tenant_id"),
    ("provider", "provider_id"),
    ("rule", "rule"),
    ("accel-h", "accelerator_hours"),
    ("¥/h", "price_per_hour"),
    ("charge ¥", "charge"),
    ("voucher ¥", "voucher"),
    ("cash ¥", "cash"),
    ("outstanding ¥", "outstanding"),
    ("statement", "statement_id"),
];

const STATEMENT_COLUMNS: &[(&str, &str)] = &[
    ("statement", "id"),
    ("provider", "provider_id"),
    ("from", "from"),
    ("to", "to"),
    ("bills", "bills"),
    ("charge ¥", "charge"),
    ("voucher ¥", "voucher"),
    ("cash ¥", "cash"),
    ("outstanding ¥", "outstanding"),
    ("settled ¥", "settled"),
];

const PROGRAMME_COLUMNS: &[(&str, &str)] = &[
    ("programme", "id"),
    ("year", "year"),
    ("name 名称", "name"),
    ("state", "state"),
    ("budget ¥ 预算", "budget"),
    ("issued ¥ 已发放", "issued"),
    ("spent ¥ 已使用", "spent"),
    ("held ¥", "held"),
    ("remaining ¥ 剩余", "remaining"),
    ("domestic %", "ratio_domestic_pct"),
    ("other %", "ratio_other_pct"),
    ("cap ¥", "cap_per_enterprise"),
    ("pending apps", "pending_applications"),
];

const APPLICATION_COLUMNS: &[(&str, &str)] = &[
    ("application", "id"),
    ("tenant 企业", "tenant_name"),
    ("requested ¥", "requested"),
    ("purpose 用途", "purpose"),
    ("state", "state"),
    ("approved ¥", "approved"),
    ("reason", "decision_reason"),
];

async fn vouchers(c: Client, cmd: VouchersCmd, fmt: Format) -> anyhow::Result<()> {
    match cmd {
        VouchersCmd::Programmes => list(&c.get("/api/v1/voucher-programmes").await?, fmt, PROGRAMME_COLUMNS),
        VouchersCmd::CreateProgramme { year, name, budget, ratio_domestic, ratio_other, cap } => {
            let body = json!({"year": year, "name": name, "budget": budget, "ratio_domestic_pct": ratio_domestic, "ratio_other_pct": ratio_other, "cap_per_enterprise": cap});
            show(&c.post("/api/v1/voucher-programmes", &body).await?, fmt, PROGRAMME_COLUMNS);
        }
        VouchersCmd::Close { id } => {
            show(&c.post(&format!("/api/v1/voucher-programmes/{id}/close"), &json!({})).await?, fmt, PROGRAMME_COLUMNS)
        }
        VouchersCmd::Apply { amount, purpose, programme, tenant } => {
            let body = json!({"amount": amount, "purpose": purpose, "programme_id": programme, "tenant_id": tenant});
            show(&c.post("/api/v1/voucher-applications", &body).await?, fmt, APPLICATION_COLUMNS);
        }
        VouchersCmd::Applications { state, tenant } => {
            let mut q = Vec::new();
            if let Some(s) = state {
                q.push(format!("state={s}"));
            }
            if let Some(t) = tenant {
                q.push(format!("tenant_id={t}"));
            }
            list(&c.get(&format!("/api/v1/voucher-applications?{}", q.join("&"))).await?, fmt, APPLICATION_COLUMNS);
        }
        VouchersCmd::Approve { id, amount, reason } => {
            let v = c.post(&format!("/api/v1/voucher-applications/{id}/approve"), &json!({"amount": amount, "reason": reason})).await?;
            show(&v, fmt, APPLICATION_COLUMNS);
        }
        VouchersCmd::Reject { id, reason } => {
            show(&c.post(&format!("/api/v1/voucher-applications/{id}/reject"), &json!({"reason": reason})).await?, fmt, APPLICATION_COLUMNS)
        }
    }
    Ok(())
}

fn show_balance(v: &Value, fmt: Format) {
    if fmt == Format::Json {
        return output::json(v);
    }
    show(
        v,
        fmt,
        &[
            ("tenant", "tenant_id"),
            ("cash available ¥ 现金可用", "cash_available"),
            ("cash held ¥", "cash_held"),
            ("vouchers available ¥ 算力券可用", "voucher_available"),
            ("outstanding ¥ 欠费", "outstanding"),
        ],
    );
    if fmt != Format::Csv {
        list(
            &v["vouchers"],
            fmt,
            &[
                ("programme", "programme_id"),
                ("year", "year"),
                ("issued ¥", "issued"),
                ("spent ¥", "spent"),
                ("held ¥", "held"),
                ("available ¥", "available"),
            ],
        );
    }
}

async fn ledger(client: impl Fn() -> anyhow::Result<Client>, cmd: LedgerCmd, fmt: Format) -> anyhow::Result<()> {
    match cmd {
        LedgerCmd::Verify { data_dir } => {
            let v = match data_dir {
                Some(dir) => {
                    let store = match std::env::var("DATABASE_URL").ok().filter(|u| u.starts_with("postgres")) {
                        Some(url) => suanli_store::Store::connect(&url, suanli_store::StoreOptions::default()).await?,
                        None => {
                            if !dir.join("suanli.db").is_file() {
                                bail!("{} holds no Suanli store (suanli.db)", dir.display());
                            }
                            suanli_store::Store::open_dir(&dir).await?
                        }
                    };
                    let out = suanli_server::api::ledger::verify_store(&store).await?;
                    store.close().await;
                    serde_json::to_value(out)?
                }
                None => client()?.get("/api/v1/ledger/verify").await?,
            };
            if fmt == Format::Json {
                output::json(&v);
            } else {
                show(
                    &v,
                    fmt,
                    &[
                        ("ok", "ok"),
                        ("accounts", "accounts"),
                        ("transfers", "transfers"),
                        ("open pending", "open_pending"),
                        ("posted total ¥ (debits = credits)", "posted_total"),
                        ("pending total ¥", "pending_total"),
                        ("took ms", "elapsed_ms"),
                    ],
                );
                for violation in v["violations"].as_array().into_iter().flatten() {
                    eprintln!("violation: {}", cell(violation));
                }
            }
            if v["ok"] != true {
                bail!("the ledger failed verification: {} violation(s)", v["violations"].as_array().map_or(0, Vec::len));
            }
            Ok(())
        }
        LedgerCmd::Accounts { owner } => {
            let path = owner.map_or_else(|| "/api/v1/ledger/accounts".to_string(), |o| format!("/api/v1/ledger/accounts?owner={o}"));
            let v = client()?.get(&path).await?;
            list(
                &v,
                fmt,
                &[
                    ("account", "id"),
                    ("kind", "kind"),
                    ("owner", "owner"),
                    ("debits posted ¥", "debits_posted"),
                    ("credits posted ¥", "credits_posted"),
                    ("pending debits ¥", "debits_pending"),
                    ("available ¥", "available"),
                ],
            );
            Ok(())
        }
        LedgerCmd::Reconcile => {
            let v = client()?.get("/api/v1/ledger/reconciliation").await?;
            if fmt == Format::Json {
                output::json(&v);
            } else {
                show(
                    &v,
                    fmt,
                    &[
                        ("bills", "bills"),
                        ("matched", "matched"),
                        ("charged ¥", "charged"),
                        ("posted voucher ¥", "posted_voucher"),
                        ("posted cash ¥", "posted_cash"),
                        ("outstanding ¥", "outstanding"),
                        ("model calls", "model_calls"),
                        ("model calls matched", "model_calls_matched"),
                        ("model calls charged ¥", "model_calls_charged"),
                    ],
                );
                list(&v["mismatches"], fmt, &[("job", "job_id"), ("bill", "bill_id"), ("problem", "problem")]);
            }
            if v["mismatches"].as_array().is_some_and(|m| !m.is_empty()) {
                bail!("reconciliation found mismatches");
            }
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
        json!({"metric": "accelerators in partner pools", "now": cell(&v["accelerators"]), "target": "", "progress": ""}),
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

async fn centres(c: Client, cmd: CentresCmd, fmt: Format) -> anyhow::Result<()> {
    match cmd {
        CentresCmd::List { provider } => {
            let path = provider.map_or_else(|| "/api/v1/centres".to_string(), |p| format!("/api/v1/centres?provider_id={p}"));
            let v = c.get(&path).await?;
            list(
                &v,
                fmt,
                &[
                    ("id", "id"),
                    ("名称", "name"),
                    ("kind", "kind"),
                    ("region", "region"),
                    ("status", "partner_status"),
                    ("PUE", "declared_pue"),
                    ("accelerators", "accelerators"),
                    ("PFLOPS", "pflops_fp16"),
                ],
            );
        }
        CentresCmd::Show { id } => {
            let v = c.get(&format!("/api/v1/centres/{id}")).await?;
            if fmt == Format::Json {
                output::json(&v);
            } else {
                record(
                    &v,
                    &[
                        ("id", "id"),
                        ("名称", "name"),
                        ("name", "name_en"),
                        ("kind", "kind"),
                        ("region", "region"),
                        ("partner status", "partner_status"),
                        ("commissioned", "commissioned"),
                        ("declared PUE", "declared_pue"),
                        ("racks", "racks"),
                        ("PFLOPS FP16", "pflops_fp16"),
                        ("backend", "backend"),
                        ("takes no jobs", "not_taking_jobs"),
                    ],
                );
                table(v["pools"].as_array().map_or(&[][..], |a| a), &POOL_FIELDS);
            }
        }
        CentresCmd::Create { provider, name, name_en, kind, region, commissioned, pue, racks, rtt, partner_status } => {
            let rtt: serde_json::Map<String, Value> = rtt.into_iter().map(|(k, v)| (k, json!(v))).collect();
            let body = json!({"provider_id": provider, "name": name, "name_en": name_en, "kind": kind, "region": region, "commissioned": commissioned, "declared_pue": pue, "racks": racks, "rtt_ms": rtt, "partner_status": partner_status});
            let v = c.post("/api/v1/centres", &body).await?;
            show(&v, fmt, &[("id", "id"), ("name", "name"), ("status", "partner_status")]);
        }
        CentresCmd::Bind { id, url } => {
            let v = c.put(&format!("/api/v1/centres/{id}/backend"), &json!({"url": url})).await?;
            show(&v, fmt, &[("centre", "centre_id"), ("backend", "url"), ("bound by", "bound_by")]);
        }
        CentresCmd::Unbind { id } => {
            c.delete(&format!("/api/v1/centres/{id}/backend")).await?;
            if fmt == Format::Json {
                output::json(&json!({"centre_id": id, "unbound": true}));
            } else {
                println!("{id} is bound to no backend now: it takes no jobs");
            }
        }
        CentresCmd::Backend { id } => {
            let v = c.get(&format!("/api/v1/centres/{id}/backend")).await?;
            show(&v, fmt, &[("centre", "centre_id"), ("backend", "url"), ("bound by", "bound_by"), ("bound", "bound_ms")]);
        }
        CentresCmd::PartnerStatus { id, status, reason } => {
            let v = c.post(&format!("/api/v1/centres/{id}/partner-status"), &json!({"status": status, "reason": reason})).await?;
            show(&v, fmt, &[("id", "id"), ("name", "name"), ("status", "partner_status")]);
        }
    }
    Ok(())
}

async fn jobs(c: Client, cmd: JobsCmd, fmt: Format) -> anyhow::Result<()> {
    match cmd {
        JobsCmd::Submit(a) => {
            let body = job_body(&a);
            let mut v = c.post("/api/v1/jobs", &body).await?;
            if a.wait {
                let id = v["id"].as_str().context("the server returned no job id")?.to_string();
                let deadline = std::time::Instant::now() + Duration::from_secs(3600);
                while !matches!(v["state"].as_str(), Some("succeeded" | "failed" | "cancelled")) {
                    if std::time::Instant::now() > deadline {
                        bail!("job {id} has not ended after an hour; it is {}", cell(&v["state"]));
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    v = c.get(&format!("/api/v1/jobs/{id}")).await?;
                }
            }
            show(&v, fmt, &JOB_FIELDS);
        }
        JobsCmd::List { state, tenant, centre, limit } => {
            let mut q = vec![format!("limit={limit}")];
            q.extend(state.map(|s| format!("state={s}")));
            q.extend(tenant.map(|s| format!("tenant_id={s}")));
            q.extend(centre.map(|s| format!("centre_id={s}")));
            let v = c.get(&format!("/api/v1/jobs?{}", q.join("&"))).await?;
            list(
                &v,
                fmt,
                &[
                    ("job", "id"),
                    ("name", "name"),
                    ("state", "state"),
                    ("accelerators", "accelerators"),
                    ("centre", "centre_id"),
                    ("cost ¥", "cost"),
                    ("reason", "reason"),
                ],
            );
        }
        JobsCmd::Show { id } => {
            let v = c.get(&format!("/api/v1/jobs/{id}")).await?;
            if fmt == Format::Json {
                output::json(&v);
            } else {
                let mut v2 = v.clone();
                for k in ["submitted_ms", "placed_ms", "started_ms", "finished_ms"] {
                    v2[k.replace("_ms", "")] = json!(time(field(&v, k)));
                }
                // The quote of the pool it was placed on, beside what it cost.
                if !v["placed_ms"].is_null()
                    && let Ok(e) = c.get(&format!("/api/v1/jobs/{id}/explain")).await
                {
                    v2["quoted"] = e["decision"]["chosen"]["compute_cost"].clone();
                    v2["quoted_run_s"] = json!(e["decision"]["chosen"]["run_s"].as_f64().map(|r| r.round() as i64));
                }
                let mut fields = JOB_FIELDS.to_vec();
                fields.extend([
                    ("submitted", "submitted"),
                    ("placed", "placed"),
                    ("started", "started"),
                    ("finished", "finished"),
                    ("usage s", "usage_s"),
                    ("quoted (its pool)", "quoted"),
                    ("quoted run s", "quoted_run_s"),
                    ("fault", "fault"),
                ]);
                record(&v2, &fields);
            }
        }
        JobsCmd::Explain { id } => {
            let v = c.get(&format!("/api/v1/jobs/{id}/explain")).await?;
            if fmt == Format::Json {
                output::json(&v);
                return Ok(());
            }
            record(
                &v,
                &[
                    ("job", "job_id"),
                    ("state", "state"),
                    ("reason", "reason"),
                    ("policy", "decision.policy"),
                    ("backfilled", "decision.backfilled"),
                    ("preempted", "decision.preempted"),
                    ("fair share (PFLOP-s)", "decision.fair_share_pflop_s"),
                ],
            );
            let mut rows = Vec::new();
            if let Some(ch) = v["decision"].get("chosen") {
                rows.push(option_row("chosen 选定", ch));
            }
            for a in v["decision"]["alternatives"].as_array().into_iter().flatten() {
                rows.push(option_row("alternative 备选", a));
            }
            for a in v["options_now"]["options"].as_array().into_iter().flatten() {
                rows.push(option_row("option now 当前可选", a));
            }
            table(&rows, &OPTION_COLS);
        }
        JobsCmd::Cancel { id, reason } => {
            let v = c.post(&format!("/api/v1/jobs/{id}/cancel"), &json!({"reason": reason})).await?;
            show(&v, fmt, &JOB_FIELDS);
        }
    }
    Ok(())
}
