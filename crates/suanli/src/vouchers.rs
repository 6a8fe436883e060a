//! `suanli vouchers` and `suanli ledger`: voucher programmes, applications and balances, bills, statements and settlement, and the ledger's replay checks, as clients of the API (or, for `ledger verify --data-dir`, of the store offline).

use crate::output::{self, Format, cell, to_value};
use crate::{list, show};
use anyhow::{Context, bail};
use clap::Subcommand;
use serde_json::Value;
use std::path::{Path, PathBuf};
use suanli_api::money::{ApplicationIn, ApproveIn, ProgrammeIn, RejectIn, SettlementIn, TopUpIn};
use suanli_api::{BillsQuery, Client};

#[derive(Debug, Subcommand)]
pub(crate) enum VouchersCmd {
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
pub(crate) enum LedgerCmd {
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

pub(crate) const BILL_COLUMNS: &[(&str, &str)] = &[
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

pub(crate) const STATEMENT_COLUMNS: &[(&str, &str)] = &[
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

pub(crate) const PROGRAMME_COLUMNS: &[(&str, &str)] = &[
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

pub(crate) const APPLICATION_COLUMNS: &[(&str, &str)] = &[
    ("application", "id"),
    ("tenant 企业", "tenant_name"),
    ("requested ¥", "requested"),
    ("purpose 用途", "purpose"),
    ("state", "state"),
    ("approved ¥", "approved"),
    ("reason", "decision_reason"),
];

pub(crate) async fn vouchers(c: Client, cmd: VouchersCmd, fmt: Format) -> anyhow::Result<()> {
    match cmd {
        VouchersCmd::Programmes => list(&to_value(&c.programmes().await?), fmt, PROGRAMME_COLUMNS),
        VouchersCmd::CreateProgramme { year, name, budget, ratio_domestic, ratio_other, cap } => {
            let body = ProgrammeIn {
                year,
                name,
                budget,
                ratio_domestic_pct: ratio_domestic,
                ratio_other_pct: ratio_other,
                cap_per_enterprise: cap,
                ..ProgrammeIn::default()
            };
            show(&to_value(&c.create_programme(&body).await?), fmt, PROGRAMME_COLUMNS);
        }
        VouchersCmd::Close { id } => show(&to_value(&c.close_programme(&id).await?), fmt, PROGRAMME_COLUMNS),
        VouchersCmd::Apply { amount, purpose, programme, tenant } => {
            let body = ApplicationIn { amount, purpose, programme_id: programme, tenant_id: tenant };
            show(&to_value(&c.apply_for_vouchers(&body).await?), fmt, APPLICATION_COLUMNS);
        }
        VouchersCmd::Applications { state, tenant } => {
            list(&to_value(&c.applications(state.as_deref(), tenant.as_deref()).await?), fmt, APPLICATION_COLUMNS);
        }
        VouchersCmd::Approve { id, amount, reason } => {
            show(&to_value(&c.approve_application(&id, &ApproveIn { amount, reason }).await?), fmt, APPLICATION_COLUMNS);
        }
        VouchersCmd::Reject { id, reason } => {
            show(&to_value(&c.reject_application(&id, &RejectIn { reason }).await?), fmt, APPLICATION_COLUMNS)
        }
    }
    Ok(())
}

/// `suanli balance`: an enterprise's balances, the token's own tenant's by default.
pub(crate) async fn balance(c: Client, tenant: Option<String>, fmt: Format) -> anyhow::Result<()> {
    let tenant = match tenant {
        Some(t) => t,
        None => c.me().await?.tenant_id.context("this token is not a tenant's: pass --tenant")?,
    };
    show_balance(&to_value(&c.balance(&tenant).await?), fmt);
    Ok(())
}

/// `suanli top-up`.
pub(crate) async fn top_up(c: Client, tenant: &str, body: &TopUpIn, fmt: Format) -> anyhow::Result<()> {
    show_balance(&to_value(&c.top_up(tenant, body).await?), fmt);
    Ok(())
}

/// `suanli bills`.
pub(crate) async fn bills(c: Client, query: &BillsQuery, fmt: Format) -> anyhow::Result<()> {
    list(&to_value(&c.bills(query).await?), fmt, BILL_COLUMNS);
    Ok(())
}

/// `suanli settle`.
pub(crate) async fn settle(c: Client, body: &SettlementIn, fmt: Format) -> anyhow::Result<()> {
    show(&to_value(&c.settle(body).await?), fmt, STATEMENT_COLUMNS);
    Ok(())
}

/// `suanli statements`.
pub(crate) async fn statements(c: Client, provider: Option<&str>, fmt: Format) -> anyhow::Result<()> {
    list(&to_value(&c.statements(provider).await?), fmt, STATEMENT_COLUMNS);
    Ok(())
}

pub(crate) fn show_balance(v: &Value, fmt: Format) {
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

pub(crate) async fn ledger(client: impl Fn() -> anyhow::Result<Client>, cmd: LedgerCmd, fmt: Format) -> anyhow::Result<()> {
    match cmd {
        LedgerCmd::Verify { data_dir } => verify(client, data_dir, fmt).await,
        LedgerCmd::Accounts { owner } => {
            let v = to_value(&client()?.accounts(owner.as_deref()).await?);
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
        LedgerCmd::Reconcile => reconcile(client()?, fmt).await,
    }
}

/// `ledger verify`: checks the ledger's invariants, through the server or, given a data
/// directory, on the store itself; an error when it fails.
async fn verify(client: impl Fn() -> anyhow::Result<Client>, data_dir: Option<PathBuf>, fmt: Format) -> anyhow::Result<()> {
    let v = match data_dir {
        Some(dir) => verify_store(&dir).await?,
        None => to_value(&client()?.verify_ledger().await?),
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

/// The ledger's verification run on the store in `dir` (or on PostgreSQL when DATABASE_URL
/// names one), without a server.
async fn verify_store(dir: &Path) -> anyhow::Result<Value> {
    let store = match std::env::var("DATABASE_URL").ok().filter(|u| u.starts_with("postgres")) {
        Some(url) => suanli_store::Store::connect(&url, suanli_store::StoreOptions::default()).await?,
        None => {
            if !dir.join("suanli.db").is_file() {
                bail!("{} holds no Suanli store (suanli.db)", dir.display());
            }
            suanli_store::Store::open_dir(dir).await?
        }
    };
    let out = suanli_server::api::ledger::verify_store(&store).await?;
    store.close().await;
    Ok(to_value(&out))
}

/// `ledger reconcile`: bills and model calls against the ledger's postings; an error when any
/// mismatch.
async fn reconcile(c: Client, fmt: Format) -> anyhow::Result<()> {
    let v = to_value(&c.reconciliation().await?);
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
