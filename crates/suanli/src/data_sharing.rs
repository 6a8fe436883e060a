//! `suanli data sets|register|upload|request|requests|decide|deliveries|download|suppliers|admit|ranking`: data sharing as a client of the API (the rules are the server's).

use crate::output::to_value;
use crate::output::{self, Format};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use suanli_api::Client;
use suanli_api::data::{DataSetIn, DecisionIn, RequestIn, SupplierIn};

#[derive(Debug, Subcommand)]
pub enum SharingCmd {
    /// The data catalogue (every role).
    Sets,
    /// One data set: its grade, schema with detected kinds, and de-identified preview.
    Set { id: String },
    /// List a data set (an admitted supplier), from a JSON file: name, title, domain, mode,
    /// grade, licence, update_frequency, price, quasi.
    Register {
        #[arg(long)]
        file: PathBuf,
    },
    /// Upload (or replace) a data set's content (its supplier). Refused whole if a row is malformed.
    Upload {
        id: String,
        /// The file: CSV with a header row, or JSON Lines.
        #[arg(long)]
        input: PathBuf,
        /// csv or jsonl (default: from the extension).
        #[arg(long)]
        format: Option<String>,
        #[arg(long, default_value = "utf-8")]
        encoding: String,
    },
    /// Request a data set's fields for a purpose until a day (a tenant); the fee is held now.
    Request {
        data_set: String,
        /// Columns wanted (comma-separated).
        #[arg(long, value_delimiter = ',', required = true)]
        fields: Vec<String>,
        #[arg(long)]
        purpose: String,
        /// Last day of access, YYYY-MM-DD.
        #[arg(long)]
        until: String,
    },
    /// Requests you may see.
    Requests,
    /// Approve or reject a request (its supplier; then the operator for important data).
    Decide {
        id: String,
        #[arg(long, conflicts_with = "reject")]
        approve: bool,
        #[arg(long)]
        reject: bool,
        #[arg(long)]
        reason: String,
    },
    /// Deliveries you may see: who got which columns under which policy.
    Deliveries,
    /// Download a delivery's extract through a fresh short-lived link (its consumer).
    Download {
        delivery: String,
        /// Where to write the extract.
        #[arg(long = "out")]
        out: PathBuf,
    },
    /// Admitted and suspended data suppliers.
    Suppliers,
    /// Admit a provider as a data supplier for domains, or suspend it (the operator).
    Admit {
        provider: String,
        /// Domains (comma-separated): traffic, healthcare, commerce, education, tourism,
        /// elder_care, finance, government, environment, manufacturing.
        #[arg(long, value_delimiter = ',')]
        domains: Vec<String>,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        suspend: bool,
    },
    /// The policy each deliverable grade and opening uses (configured or built in).
    Policies,
    /// Configure a grade's policy for an opening (the operator), from a file as `suanli data policy` prints it.
    SetPolicy {
        #[arg(long)]
        file: PathBuf,
    },
    /// Suppliers by data-service volume in a year, the top five marked.
    Ranking {
        #[arg(long)]
        year: Option<i32>,
    },
}

const SET_COLS: &[(&str, &str)] = &[
    ("name", "name"),
    ("title 标题", "title"),
    ("domain 领域", "domain"),
    ("grade 分级", "grade"),
    ("mode 开放", "mode"),
    ("rows", "rows"),
    ("fee ¥", "price"),
    ("requestable", "requestable"),
];

const REQUEST_COLS: &[(&str, &str)] = &[
    ("id", "id"),
    ("data set", "data_set_id"),
    ("fields", "fields"),
    ("state 状态", "state"),
    ("fee ¥", "fee"),
    ("voucher ¥", "voucher"),
    ("cash ¥", "cash"),
    ("delivery", "delivery.id"),
];

const DELIVERY_COLS: &[(&str, &str)] = &[
    ("id", "id"),
    ("consumer", "tenant_id"),
    ("data set", "data_set_id"),
    ("columns", "columns"),
    ("grade", "grade"),
    ("k", "k"),
    ("bytes", "bytes"),
    ("fee ¥", "fee"),
    ("sha256", "sha256"),
];

pub async fn run(c: Client, cmd: SharingCmd, fmt: Format) -> anyhow::Result<()> {
    match cmd {
        SharingCmd::Sets => super::list(&to_value(&c.data_sets().await?), fmt, SET_COLS),
        SharingCmd::Set { id } => print_set(&to_value(&c.data_set(&id).await?), fmt),
        SharingCmd::Register { file } => {
            let text = std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
            let body: DataSetIn =
                serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{} is not a data set's listing: {e}", file.display()))?;
            super::show(&to_value(&c.register_data_set(&body).await?), fmt, SET_COLS);
        }
        SharingCmd::Upload { id, input, format, encoding } => upload(&c, &id, &input, format, &encoding, fmt).await?,
        SharingCmd::Request { data_set, fields, purpose, until } => {
            let body = RequestIn { data_set, purpose, fields, from: None, to: until };
            super::show(&to_value(&c.request_data(&body).await?), fmt, REQUEST_COLS);
        }
        SharingCmd::Requests => super::list(&to_value(&c.data_requests().await?), fmt, REQUEST_COLS),
        SharingCmd::Decide { id, approve, reject, reason } => {
            anyhow::ensure!(approve != reject, "say --approve or --reject");
            let v = c.decide_data_request(&id, &DecisionIn { approve, reason }).await?;
            super::show(&to_value(&v), fmt, REQUEST_COLS);
        }
        SharingCmd::Deliveries => super::list(&to_value(&c.data_deliveries().await?), fmt, DELIVERY_COLS),
        SharingCmd::Download { delivery, out } => {
            let link = c.data_link(&delivery).await?;
            let body = c.get_bytes(&link.url).await?;
            std::fs::write(&out, &body).map_err(|e| anyhow::anyhow!("writing {}: {e}", out.display()))?;
            let v = json!({"delivery": delivery, "out": out.display().to_string(), "bytes": body.len()});
            super::show(&v, fmt, &[("delivery", "delivery"), ("written to", "out"), ("bytes", "bytes")]);
        }
        SharingCmd::Suppliers => super::list(
            &to_value(&c.data_suppliers().await?),
            fmt,
            &[("provider", "provider_id"), ("status", "status"), ("domains", "domains"), ("reason", "reason"), ("decided", "decided")],
        ),
        SharingCmd::Admit { provider, domains, reason, suspend } => {
            let status = if suspend { "suspended" } else { "admitted" }.to_string();
            let v = c.set_data_supplier(&provider, &SupplierIn { status, domains, reason }).await?;
            super::show(&to_value(&v), fmt, &[("provider", "provider_id"), ("status", "status"), ("domains", "domains")]);
        }
        SharingCmd::Policies => super::list(
            &to_value(&c.data_policies().await?),
            fmt,
            &[("grade", "grade"), ("mode", "mode"), ("configured", "configured"), ("k", "policy.k"), ("actions", "policy.actions")],
        ),
        SharingCmd::SetPolicy { file } => {
            let text = std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
            let body: Value = serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{} is not JSON: {e}", file.display()))?;
            super::show(
                &to_value(&c.set_data_policy(&body).await?),
                fmt,
                &[("grade", "grade"), ("mode", "mode"), ("configured", "configured")],
            );
        }
        SharingCmd::Ranking { year } => {
            super::list(
                &to_value(&c.data_ranking(year).await?),
                fmt,
                &[
                    ("rank", "rank"),
                    ("supplier", "name"),
                    ("id", "supplier_id"),
                    ("deliveries", "deliveries"),
                    ("volume ¥", "volume"),
                    ("top 5", "top"),
                ],
            );
        }
    }
    Ok(())
}

/// One data set: its fields, its columns with the kinds found, and its de-identified preview.
fn print_set(v: &Value, fmt: Format) {
    if fmt == Format::Json {
        return output::json(v);
    }
    let mut fields = SET_COLS.to_vec();
    fields.extend([("id", "id"), ("supplier", "supplier_id"), ("licence", "licence"), ("sha256", "content_sha256")]);
    output::record(v, &fields);
    output::table(
        v["columns"].as_array().map_or(&[][..], |a| a),
        &[("column 字段", "name"), ("kind 类型", "kind"), ("sampled", "sampled")],
    );
    if let Some(p) = v["preview"].as_str() {
        println!("preview (de-identified) 预览（已脱敏）:\n{p}");
    }
}

/// Uploads a data set's content (the format from the extension unless given) behind a spinner.
async fn upload(c: &Client, id: &str, input: &Path, format: Option<String>, encoding: &str, fmt: Format) -> anyhow::Result<()> {
    let format = format.unwrap_or_else(|| {
        let ext = input.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        if matches!(ext.as_str(), "jsonl" | "ndjson") { "jsonl".into() } else { "csv".into() }
    });
    let body = std::fs::read(input).map_err(|e| anyhow::anyhow!("reading {}: {e}", input.display()))?;
    let bar = ProgressBar::new_spinner().with_style(ProgressStyle::with_template("{spinner} {msg}")?);
    bar.set_message(format!("uploading {} ({} bytes) and checking every row", input.display(), body.len()));
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let v = c.upload_data_set(id, body, &format, encoding).await;
    bar.finish_and_clear();
    super::show(&to_value(&v?), fmt, &[("name", "name"), ("rows", "rows"), ("bytes", "content_bytes"), ("sha256", "content_sha256")]);
    Ok(())
}
