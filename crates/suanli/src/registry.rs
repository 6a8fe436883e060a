//! `suanli providers|centres|pools|tenants|users`: the registry's commands, as clients of the API.

use crate::output::{self, Format, record, table, to_value, wire};
use crate::{list, show};
use clap::Subcommand;
use serde_json::json;
use suanli_api::Client;
use suanli_api::dto::{
    NewCentreIn, NewPoolIn, NewProviderIn, NewTenantIn, NewUserIn, PartnerStatusIn, PoolPriceIn, ProviderRegistrationIn,
};
use suanli_core::centre::{CentreKind, PartnerStatus};
use suanli_core::tenant::Role;

#[derive(Debug, Subcommand)]
pub(crate) enum ProvidersCmd {
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
    /// A provider's earnings from job bills, model calls and data deliveries: per day (per
    /// month beyond 30 days) by source, by centre, settled and not (the provider itself, the
    /// operator, the regulator).
    Earnings {
        /// prv_…
        id: String,
        /// First day, YYYY-MM-DD (Beijing time); default: the last 30 days, or since the first earning.
        #[arg(long)]
        from: Option<String>,
        /// The day after the last, YYYY-MM-DD (Beijing time); default: tomorrow.
        #[arg(long)]
        to: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum CentresCmd {
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
        #[arg(long, value_parser = wire::<CentreKind>)]
        kind: CentreKind,
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
        #[arg(long, value_parser = wire::<PartnerStatus>)]
        partner_status: Option<PartnerStatus>,
    },
    /// Admit, suspend or reinstate a partner (operator).
    PartnerStatus {
        id: String,
        /// applicant, partner or suspended.
        #[arg(value_parser = wire::<PartnerStatus>)]
        status: PartnerStatus,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// A centre's partner-status changes, newest first: who made each, when and why.
    PartnerHistory { id: String },
    /// Bind a centre to the backend its jobs go to (operator, or the centre's provider):
    /// slurm+http://HOST:PORT[?partition=P] (token from the server's SLURM_JWT), or agent.
    Bind { id: String, url: String },
    /// Unbind a centre: it takes no more jobs (refused while jobs run there).
    Unbind { id: String },
    /// Show a centre's binding.
    Backend { id: String },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PoolsCmd {
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
pub(crate) enum TenantsCmd {
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
pub(crate) enum UsersCmd {
    /// Create a user and print its token (operator).
    Create {
        #[arg(long)]
        name: String,
        /// operator, provider, tenant or regulator.
        #[arg(long, value_parser = wire::<Role>)]
        role: Role,
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long)]
        provider: Option<String>,
    },
}

pub(crate) fn parse_rtt(s: &str) -> Result<(String, u32), String> {
    let (region, ms) = s.split_once('=').ok_or_else(|| format!("'{s}' is not REGION=MS"))?;
    Ok((region.to_string(), ms.parse().map_err(|_| format!("'{ms}' is not a whole number of ms"))?))
}

pub(crate) const POOL_FIELDS: [(&str, &str); 8] = [
    ("pool", "id"),
    ("accelerator", "accelerator"),
    ("vendor", "vendor"),
    ("nodes", "nodes"),
    ("per node", "accelerators_per_node"),
    ("capacity", "capacity"),
    ("¥/accel-hour", "price_per_hour"),
    ("after discount", "effective_price_per_hour"),
];

/// `suanli providers …`.
pub(crate) async fn providers(c: Client, cmd: ProvidersCmd, fmt: Format) -> anyhow::Result<()> {
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
        ProvidersCmd::Earnings { id, from, to } => {
            earnings(&to_value(&c.provider_earnings(&id, from.as_deref(), to.as_deref()).await?), fmt)
        }
    }
    Ok(())
}

/// Earnings: JSON whole, CSV the periods, and for people the totals by source, the periods
/// and the centres.
fn earnings(v: &serde_json::Value, fmt: Format) {
    const PERIODS: &[(&str, &str)] =
        &[("period", "period"), ("jobs", "jobs"), ("model calls", "model_calls"), ("data", "data_deliveries"), ("earned", "earned")];
    match fmt {
        Format::Json => output::json(v),
        Format::Csv => output::csv(v["periods"].as_array().map_or(&[][..], |a| a), PERIODS),
        Format::Table | Format::Markdown => {
            record(
                v,
                &[
                    ("provider", "provider_id"),
                    ("from", "from"),
                    ("to", "to"),
                    ("earned ¥", "earned"),
                    ("settled ¥", "settled"),
                    ("unsettled ¥", "unsettled"),
                    ("outstanding ¥", "outstanding"),
                    ("posted ¥", "posted"),
                ],
            );
            let rows = |k: &str| v[k].as_array().cloned().unwrap_or_default();
            table(
                &rows("sources"),
                &[
                    ("source", "source"),
                    ("records", "records"),
                    ("earned", "earned"),
                    ("settled", "settled"),
                    ("unsettled", "unsettled"),
                    ("posted", "posted"),
                ],
            );
            table(&rows("periods"), PERIODS);
            table(
                &rows("centres"),
                &[
                    ("centre", "centre_id"),
                    ("source", "source"),
                    ("records", "records"),
                    ("earned", "earned"),
                    ("settled", "settled"),
                    ("unsettled", "unsettled"),
                ],
            );
        }
    }
}

/// `suanli pools …`.
pub(crate) async fn pools(c: Client, cmd: PoolsCmd, fmt: Format) -> anyhow::Result<()> {
    let v = match cmd {
        PoolsCmd::Add { centre, accelerator, nodes, per_node, price, discount } => {
            let body =
                NewPoolIn { accelerator, nodes, accelerators_per_node: per_node, price_per_hour: price, partner_discount_pct: discount };
            to_value(&c.create_pool(&centre, &body).await?)
        }
        PoolsCmd::Price { pool, price, discount } => {
            to_value(&c.set_pool_price(&pool, &PoolPriceIn { price_per_hour: price, partner_discount_pct: discount }).await?)
        }
    };
    show(&v, fmt, &POOL_FIELDS);
    Ok(())
}

/// `suanli tenants …`.
pub(crate) async fn tenants(c: Client, cmd: TenantsCmd, fmt: Format) -> anyhow::Result<()> {
    let fields = [("id", "id"), ("名称", "name"), ("name", "name_en"), ("credit code", "uscc"), ("SME", "sme"), ("region", "region")];
    match cmd {
        TenantsCmd::List => list(&to_value(&c.tenants().await?), fmt, &fields),
        TenantsCmd::Show { id } => show(&to_value(&c.tenant(&id).await?), fmt, &fields),
        TenantsCmd::Create { name, name_en, uscc, sme, region } => {
            show(&to_value(&c.create_tenant(&NewTenantIn { name, name_en, uscc, sme, region }).await?), fmt, &fields)
        }
    }
    Ok(())
}

/// `suanli users …`.
pub(crate) async fn users(c: Client, cmd: UsersCmd, fmt: Format) -> anyhow::Result<()> {
    let UsersCmd::Create { name, role, tenant, provider } = cmd;
    let v = to_value(&c.create_user(&NewUserIn { name, role, tenant_id: tenant, provider_id: provider }).await?);
    show(&v, fmt, &[("user", "user.user_id"), ("role", "user.role"), ("token (shown once)", "token")]);
    Ok(())
}

pub(crate) async fn centres(c: Client, cmd: CentresCmd, fmt: Format) -> anyhow::Result<()> {
    match cmd {
        CentresCmd::List { provider } => {
            let v = to_value(&c.centres(provider.as_deref()).await?);
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
        CentresCmd::Show { id } => show_centre(&c, &id, fmt).await?,
        CentresCmd::Create { provider, name, name_en, kind, region, commissioned, pue, racks, rtt, partner_status } => {
            let body = NewCentreIn {
                provider_id: provider,
                name,
                name_en,
                kind,
                region,
                partner_status,
                commissioned,
                declared_pue: pue,
                racks,
                rtt_ms: rtt.into_iter().collect(),
            };
            let v = to_value(&c.create_centre(&body).await?);
            show(&v, fmt, &[("id", "id"), ("name", "name"), ("status", "partner_status")]);
        }
        CentresCmd::Bind { id, url } => {
            let v = to_value(&c.bind_backend(&id, &url).await?);
            show(&v, fmt, &[("centre", "centre_id"), ("backend", "url"), ("bound by", "bound_by")]);
        }
        CentresCmd::Unbind { id } => {
            c.unbind_backend(&id).await?;
            if fmt == Format::Json {
                output::json(&json!({"centre_id": id, "unbound": true}));
            } else {
                println!("{id} is bound to no backend now: it takes no jobs");
            }
        }
        CentresCmd::Backend { id } => {
            let v = to_value(&c.backend(&id).await?);
            show(&v, fmt, &[("centre", "centre_id"), ("backend", "url"), ("bound by", "bound_by"), ("bound", "bound_ms")]);
        }
        CentresCmd::PartnerHistory { id } => partner_history(&c, &id, fmt).await?,
        CentresCmd::PartnerStatus { id, status, reason } => {
            let v = to_value(&c.set_partner_status(&id, &PartnerStatusIn { status, reason }).await?);
            show(&v, fmt, &[("id", "id"), ("name", "name"), ("status", "partner_status")]);
        }
    }
    Ok(())
}

/// `centres partner-history`: the changes as the API answers them (JSON), or a table with
/// times in UTC and each change's reasons in words.
async fn partner_history(c: &Client, id: &str, fmt: Format) -> anyhow::Result<()> {
    let changes = c.partner_history(id).await?;
    if fmt == Format::Json {
        output::json(&to_value(&changes));
        return Ok(());
    }
    let rows: Vec<serde_json::Value> = changes
        .iter()
        .map(|ch| {
            let why: Vec<String> = ch.reason.iter().filter(|r| !r.is_empty()).cloned().chain(ch.reasons.iter().map(ToString::to_string)).collect();
            json!({"at": output::time(&json!(ch.at_ms)), "from": ch.from.map(PartnerStatus::as_str), "to": ch.to.as_str(), "by": ch.by, "why": why.join("; ")})
        })
        .collect();
    table(&rows, &[("at (UTC)", "at"), ("from", "from"), ("to", "to"), ("by", "by"), ("reason", "why")]);
    Ok(())
}

/// `centres show`: a centre's facts and its pools.
async fn show_centre(c: &Client, id: &str, fmt: Format) -> anyhow::Result<()> {
    let v = to_value(&c.centre(id).await?);
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
    Ok(())
}
