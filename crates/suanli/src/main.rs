//! The `suanli` binary: `serve` runs the platform; the other subcommands talk to a running server over its API.

mod bench;
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
    Bench(bench::BenchCmd),
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
        Command::Bench(cmd) => bench::run(cmd, fmt).await,
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
