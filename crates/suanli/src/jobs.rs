//! `suanli jobs`: submitting (with the quote's options), listing, showing, explaining and cancelling jobs, as clients of the API.

use crate::output::{self, Format, field, record, table, time, to_value};
use crate::{list, show};
use anyhow::bail;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::time::Duration;
use suanli_api::Client;
use suanli_api::dto::JobIn;
use suanli_core::job::{Goal, JobKind};

#[derive(Debug, Subcommand)]
pub(crate) enum JobsCmd {
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
pub(crate) struct SubmitArgs {
    #[arg(long, default_value = "job")]
    name: String,
    /// training, inference or batch.
    #[arg(long, default_value = "training", value_parser = parse_kind)]
    kind: JobKind,
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
    #[arg(long, value_parser = parse_goal)]
    goal: Option<Goal>,
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

pub(crate) fn job_body(a: &SubmitArgs) -> JobIn {
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    JobIn {
        tenant_id: a.tenant.clone(),
        name: a.name.clone(),
        kind: a.kind,
        accelerators: a.accelerators,
        models: a.models.clone(),
        min_fp16_tflops: a.min_tflops,
        min_memory_gb: a.min_memory_gb,
        duration_s: a.duration,
        deadline_ms: a.deadline_in.map(|s| now_ms + s * 1000),
        latency_slo_ms: a.latency_slo_ms,
        users_region: a.users_region.clone(),
        data_region: a.data_region.clone(),
        priority: a.priority,
        max_price_per_hour: a.max_price.clone(),
        job_class: a.job_class.clone(),
        data_gb: a.data_gb,
        preemptible: Some(a.preemptible),
        restartable: Some(a.restartable),
        goal: a.goal,
    }
}

fn parse_kind(s: &str) -> Result<JobKind, String> {
    JobKind::parse(s).ok_or_else(|| format!("'{s}' is not a job kind (training, inference or batch)"))
}

fn parse_goal(s: &str) -> Result<Goal, String> {
    Goal::ALL.into_iter().find(|g| g.as_str() == s).ok_or_else(|| format!("'{s}' is not a goal (balanced, cheapest, fastest or greenest)"))
}

pub(crate) fn parse_duration(s: &str) -> Result<i64, String> {
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

pub(crate) const JOB_FIELDS: [(&str, &str); 12] = [
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

pub(crate) const OPTION_COLS: [(&str, &str); 10] = [
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

pub(crate) fn hours(s: &Value) -> String {
    s.as_f64().map_or("-".into(), |s| if s < 3600.0 { format!("{:.0} min", s / 60.0) } else { format!("{:.1} h", s / 3600.0) })
}

pub(crate) fn option_row(label: &str, o: &Value) -> Value {
    json!({
        "label": label, "centre": o["centre_id"], "region": o["region"], "accelerator": o["accelerator"],
        "wait": hours(&o["wait_s"]), "run": hours(&o["run_s"]), "cost": o["cost"], "carbon": o["carbon_kg"],
        "price": o["price_per_hour"], "score": o["score_yuan"],
    })
}

/// `suanli quote`: the recommended, cheapest, fastest and greenest options, then every option.
pub(crate) async fn quote(c: Client, a: &SubmitArgs, fmt: Format) -> anyhow::Result<()> {
    let v = to_value(&c.quote(&job_body(a)).await?);
    if fmt == Format::Json {
        output::json(&v);
        return Ok(());
    }
    let mut rows = Vec::new();
    for (label, key) in
        [("recommended 推荐", "recommended"), ("cheapest 最便宜", "cheapest"), ("fastest 最快", "fastest"), ("greenest 最绿色", "greenest")]
    {
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

pub(crate) async fn jobs(c: Client, cmd: JobsCmd, fmt: Format) -> anyhow::Result<()> {
    match cmd {
        JobsCmd::Submit(a) => submit(&c, &a, fmt).await?,
        JobsCmd::List { state, tenant, centre, limit } => {
            let v = to_value(&c.jobs(state.as_deref(), tenant.as_deref(), centre.as_deref(), limit).await?);
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
        JobsCmd::Show { id } => show_job(&c, &id, fmt).await?,
        JobsCmd::Explain { id } => explain(&c, &id, fmt).await?,
        JobsCmd::Cancel { id, reason } => {
            show(&to_value(&c.cancel_job(&id, reason).await?), fmt, &JOB_FIELDS);
        }
    }
    Ok(())
}

/// `jobs submit`: submits a job and shows it, after waiting (up to an hour) for it to end
/// when asked to.
async fn submit(c: &Client, a: &SubmitArgs, fmt: Format) -> anyhow::Result<()> {
    let mut job = c.submit_job(&job_body(a)).await?;
    if a.wait {
        let deadline = std::time::Instant::now() + Duration::from_secs(3600);
        while !job.state.is_terminal() {
            if std::time::Instant::now() > deadline {
                bail!("job {} has not ended after an hour; it is {}", job.id, job.state.as_str());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            job = c.job(&job.id).await?;
        }
    }
    show(&to_value(&job), fmt, &JOB_FIELDS);
    Ok(())
}

/// `jobs show`: a job, with its times readable and the quote of the pool it was placed on.
async fn show_job(c: &Client, id: &str, fmt: Format) -> anyhow::Result<()> {
    let v = to_value(&c.job(id).await?);
    if fmt == Format::Json {
        output::json(&v);
    } else {
        let mut v2 = v.clone();
        for k in ["submitted_ms", "placed_ms", "started_ms", "finished_ms"] {
            v2[k.replace("_ms", "")] = json!(time(field(&v, k)));
        }
        // The quote of the pool it was placed on, beside what it cost.
        if !v["placed_ms"].is_null()
            && let Ok(e) = c.explain_job(id).await.map(|e| to_value(&e))
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
    Ok(())
}

/// `jobs explain`: why a job was placed where it was or why it waits, with the options it had
/// and has now.
async fn explain(c: &Client, id: &str, fmt: Format) -> anyhow::Result<()> {
    let v = to_value(&c.explain_job(id).await?);
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
    Ok(())
}
