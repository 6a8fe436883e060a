//! `suanli models …`: the model catalogue, deployments, model keys, usage and the explanation of a call, as a client of the API.

use crate::output::{self, Format};
use clap::Subcommand;
use serde_json::{Value, json};
use suanli_api::Client;
use suanli_api::models::{DeploymentIn, KeyIn, KeyTopUpIn, ModelOut, UsageQuery};
use suanli_core::model::ModelSpec;

#[derive(Debug, Subcommand)]
pub enum ModelsCmd {
    /// The model catalogue (every role).
    List,
    /// One model with its deployments and prices.
    Show { name: String },
    /// Register a model your provider offers (a JSON file with the model's description).
    Register {
        /// JSON: name, kind (general|special), domain, parameters_b, licence, context_tokens,
        /// modalities, endpoints, evaluation {evaluator, date, score, document_sha256}, description, routing.
        #[arg(long)]
        file: std::path::PathBuf,
    },
    /// Deploy a model at one of your centres behind an OpenAI-compatible upstream.
    Deploy {
        name: String,
        #[arg(long)]
        centre: String,
        /// The upstream's base URL, e.g. http://10.1.2.3:8000/v1.
        #[arg(long)]
        base_url: String,
        /// The model name the upstream expects (default: the catalogue name).
        #[arg(long)]
        upstream_model: Option<String>,
        /// Yuan per million input tokens.
        #[arg(long)]
        price_input: String,
        /// Yuan per million output tokens.
        #[arg(long)]
        price_output: String,
        #[arg(long)]
        weight: Option<u32>,
        #[arg(long)]
        max_concurrency: Option<u32>,
    },
    /// Take a deployment out of service (`name#n`).
    Undeploy { deployment: String },
    /// Model keys.
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Usage per day, key and model.
    Usage {
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD.
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        key: Option<String>,
        #[arg(long)]
        model: Option<String>,
    },
    /// The newest calls.
    Calls {
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Why a call went where it went: candidates, exclusions, attempts.
    Explain { request_id: String },
    /// Deployments' health: the last health check, cooldown, load (provider: its own; operator: all).
    Health,
}

#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Make a key; its secret is printed once.
    Create {
        #[arg(long)]
        name: String,
        /// The most the key may spend, yuan.
        #[arg(long)]
        budget: String,
        /// Models the key may call (repeat; default: all).
        #[arg(long = "model")]
        models: Vec<String>,
        #[arg(long, default_value_t = 0)]
        rpm: u32,
        #[arg(long, default_value_t = 0)]
        tpm: u32,
        /// Last day the key works, YYYY-MM-DD.
        #[arg(long)]
        expires: Option<String>,
        /// Regions calls may be processed in (repeat), e.g. hangzhou for 数据不出域.
        #[arg(long = "region")]
        regions: Vec<String>,
        /// Models to fall back to, in order (repeat).
        #[arg(long = "fallback")]
        fallbacks: Vec<String>,
    },
    /// Your keys (all, for the operator).
    List,
    /// Revoke a key.
    Revoke { id: String },
    /// Add to a key's budget (yuan, e.g. 50.00).
    Topup {
        id: String,
        #[arg(long)]
        amount: String,
    },
    /// Give a key a new secret (printed once); the old one is refused from now on.
    Rotate { id: String },
}

const MODEL_COLS: &[(&str, &str)] = &[
    ("model", "name"),
    ("kind", "kind"),
    ("domain", "domain"),
    ("params (B)", "parameters_b"),
    ("context", "context_tokens"),
    ("provider", "provider_id"),
    ("score", "evaluation.score"),
];

const KEY_COLS: &[(&str, &str)] = &[
    ("id", "id"),
    ("name", "name"),
    ("prefix", "prefix"),
    ("budget ¥", "budget"),
    ("left ¥", "remaining"),
    ("rpm", "rpm"),
    ("tpm", "tpm"),
    ("regions", "regions"),
    ("revoked", "revoked"),
];

const USAGE_COLS: &[(&str, &str)] = &[
    ("day", "day"),
    ("key", "key_id"),
    ("model", "model"),
    ("calls", "calls"),
    ("failed", "failed_calls"),
    ("tokens in", "input_tokens"),
    ("tokens out", "output_tokens"),
    ("charge ¥", "charge"),
    ("voucher ¥", "voucher"),
    ("cash ¥", "cash"),
];

const HEALTH_COLS: &[(&str, &str)] = &[
    ("deployment", "deployment"),
    ("health check", "probe"),
    ("checked", "probed"),
    ("ms", "probe_ms"),
    ("why", "probe_error"),
    ("cooling until", "cooldown_until"),
    ("in flight", "in_flight"),
    ("served", "served"),
    ("failed", "failed"),
];

const CALL_COLS: &[(&str, &str)] = &[
    ("request", "id"),
    ("model", "model"),
    ("deployment", "deployment"),
    ("status", "status"),
    ("in", "input_tokens"),
    ("out", "output_tokens"),
    ("charge ¥", "charge"),
    ("ttft ms", "ttft_ms"),
    ("ms", "duration_ms"),
    ("started", "started"),
];

pub async fn run(c: Client, cmd: ModelsCmd, fmt: Format) -> anyhow::Result<()> {
    match cmd {
        ModelsCmd::List => print_catalogue(&c.models().await?, fmt),
        ModelsCmd::Show { name } => print_model(&output::to_value(&c.model(&name).await?), fmt),
        ModelsCmd::Register { file } => {
            let text = std::fs::read_to_string(&file).map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
            let spec: ModelSpec =
                serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{} is not a model's description: {e}", file.display()))?;
            let v = output::to_value(&c.register_model(&spec).await?);
            super::show(&v, fmt, MODEL_COLS);
        }
        ModelsCmd::Deploy { name, centre, base_url, upstream_model, price_input, price_output, weight, max_concurrency } => {
            let upstream_model = upstream_model.unwrap_or_else(|| name.clone());
            let body = DeploymentIn {
                centre_id: centre,
                base_url,
                upstream_model,
                price_input_per_m: price_input,
                price_output_per_m: price_output,
                weight,
                max_concurrency,
                upstream_key: None,
            };
            let v = output::to_value(&c.deploy_model(&name, &body).await?);
            super::show(&v, fmt, &[("deployment", "id"), ("centre", "centre_id"), ("region", "region"), ("base url", "base_url")]);
        }
        ModelsCmd::Undeploy { deployment } => {
            let (name, n) =
                deployment.rsplit_once('#').ok_or_else(|| anyhow::anyhow!("a deployment is named model#n, e.g. hz-general-7b#1"))?;
            c.undeploy_model(name, n).await?;
            println!("{deployment} is out of service");
        }
        ModelsCmd::Keys(k) => keys(c, k, fmt).await?,
        ModelsCmd::Usage { from, to, key, model } => {
            let v = output::to_value(&c.model_usage(&UsageQuery { from, to, key, model, limit: None }).await?);
            super::list(&v, fmt, USAGE_COLS);
        }
        ModelsCmd::Health => {
            let v = output::to_value(&c.model_health().await?);
            super::list(&v, fmt, HEALTH_COLS);
        }
        ModelsCmd::Calls { limit } => {
            let v = output::to_value(&c.model_calls(&UsageQuery { limit: Some(limit), ..UsageQuery::default() }).await?);
            super::list(&v, fmt, CALL_COLS);
        }
        ModelsCmd::Explain { request_id } => {
            let v = output::to_value(&c.model_call(&request_id).await?);
            if fmt == Format::Json {
                output::json(&v);
                return Ok(());
            }
            explain(&v);
        }
    }
    Ok(())
}

/// The catalogue: each model with how many deployments it has and their prices.
fn print_catalogue(models: &[ModelOut], fmt: Format) {
    if fmt == Format::Json {
        return output::json(&output::to_value(&models));
    }
    let rows: Vec<Value> = models
        .iter()
        .map(|m| {
            let prices: Vec<String> = m.deployments.iter().map(|d| format!("¥{}/¥{}", d.price_input_per_m, d.price_output_per_m)).collect();
            let mut v = output::to_value(m);
            v["prices"] = json!(prices.join(" "));
            v["deployed"] = json!(m.deployments.len());
            v
        })
        .collect();
    let mut cols = MODEL_COLS.to_vec();
    cols.extend([("deployments", "deployed"), ("¥ per M in/out", "prices")]);
    super::list(&Value::Array(rows), fmt, &cols);
}

/// One model with its deployments.
fn print_model(v: &Value, fmt: Format) {
    if fmt == Format::Json {
        return output::json(v);
    }
    let mut fields = MODEL_COLS.to_vec();
    fields.extend([
        ("licence", "licence"),
        ("endpoints", "endpoints"),
        ("routing", "routing"),
        ("evaluator", "evaluation.evaluator"),
        ("description", "description"),
    ]);
    output::record(v, &fields);
    println!();
    output::table(
        v["deployments"].as_array().map_or(&[][..], |a| a),
        &[
            ("deployment", "id"),
            ("centre", "centre_id"),
            ("region", "region"),
            ("¥/M in", "price_input_per_m"),
            ("¥/M out", "price_output_per_m"),
            ("weight", "weight"),
            ("concurrency", "max_concurrency"),
        ],
    );
}

async fn keys(c: Client, cmd: KeysCmd, fmt: Format) -> anyhow::Result<()> {
    match cmd {
        KeysCmd::Create { name, budget, models, rpm, tpm, expires, regions, fallbacks } => {
            let body = KeyIn { name, models, budget, rpm, tpm, expires, regions, fallbacks };
            let v = output::to_value(&c.create_model_key(&body).await?);
            if fmt == Format::Json {
                output::json(&v);
                return Ok(());
            }
            output::record(&v, KEY_COLS);
            println!("\nkey (shown once; keep it secret): {}", output::cell(&v["key"]));
        }
        KeysCmd::List => {
            let v = output::to_value(&c.model_keys().await?);
            super::list(&v, fmt, KEY_COLS);
        }
        KeysCmd::Revoke { id } => {
            c.revoke_model_key(&id).await?;
            println!("{id} is revoked: calls with it are refused");
        }
        KeysCmd::Topup { id, amount } => {
            let v = output::to_value(&c.top_up_model_key(&id, &KeyTopUpIn { amount }).await?);
            if fmt == Format::Json {
                output::json(&v);
                return Ok(());
            }
            output::record(&v, KEY_COLS);
        }
        KeysCmd::Rotate { id } => {
            let v = output::to_value(&c.rotate_model_key(&id).await?);
            if fmt == Format::Json {
                output::json(&v);
                return Ok(());
            }
            output::record(&v, KEY_COLS);
            println!("\nnew key (shown once; keep it secret; the old one no longer works): {}", output::cell(&v["key"]));
        }
    }
    Ok(())
}

/// Prints a call's route: for each model of the chain, its candidates and why some were left
/// out, then every attempt in order.
fn explain(v: &Value) {
    output::record(
        v,
        &[
            ("request", "id"),
            ("model", "model"),
            ("status", "status"),
            ("served by", "deployment"),
            ("tokens in", "input_tokens"),
            ("tokens out", "output_tokens"),
            ("usage from", "usage_source"),
            ("charge ¥", "charge"),
            ("voucher ¥", "voucher"),
            ("cash ¥", "cash"),
            ("hold ¥", "route.hold"),
            ("ttft ms", "ttft_ms"),
            ("error", "error_code"),
        ],
    );
    for step in v["route"]["chain"].as_array().map_or(&[][..], |a| a) {
        println!("\nmodel {} — routing {}", output::cell(&step["model"]), output::cell(&step["strategy"]));
        let excluded: Vec<(String, String)> =
            step["excluded"].as_array().map_or(&[][..], |a| a).iter().map(|e| (output::cell(&e[0]), output::cell(&e[1]))).collect();
        let rows: Vec<Value> = step["candidates"]
            .as_array()
            .map_or(&[][..], |a| a)
            .iter()
            .map(|c| {
                let id = output::cell(&c["deployment"]);
                let order = step["order"].as_array().and_then(|o| o.iter().position(|x| x.as_str() == Some(&id)));
                let verdict = match (order, excluded.iter().find(|(d, _)| *d == id)) {
                    (Some(i), _) => format!("#{}", i + 1),
                    (None, Some((_, why))) => format!("left out: {why}"),
                    _ => "not tried".into(),
                };
                json!({"deployment": id, "region": c["region"], "weight": c["weight"], "in flight": c["in_flight"], "ttft ms": c["ewma_ttft_ms"], "health": c["probe"], "verdict": verdict})
            })
            .collect();
        output::table(
            &rows,
            &[
                ("deployment", "deployment"),
                ("region", "region"),
                ("weight", "weight"),
                ("in flight", "in flight"),
                ("avg ttft ms", "ttft ms"),
                ("health check", "health"),
                ("order", "verdict"),
            ],
        );
    }
    let attempts = v["route"]["attempts"].as_array().map_or(&[][..], |a| a);
    if !attempts.is_empty() {
        println!("\nattempts:");
        output::table(attempts, &[("deployment", "deployment"), ("outcome", "outcome"), ("error", "error"), ("why", "why"), ("ms", "ms")]);
    }
}
