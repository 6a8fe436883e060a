//! `suanli energy`: import meter readings from CSV, and read PUE, monitoring coverage and the lifecycle report.

use crate::output::{Format, cell, field, to_value};
use anyhow::Context;
use clap::Subcommand;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use suanli_api::Client;
use suanli_api::energy::{FactsIn, MeterIn, MetersIn, ReadingIn, ReadingsIn};
use suanli_core::id::CentreId;

/// Readings per request when importing (well under the 1 MiB body limit).
const IMPORT_BATCH: usize = 5_000;

#[derive(Debug, Subcommand)]
pub enum EnergyCmd {
    /// Send meter readings from a CSV file: `centre_id,meter,ts,kwh` (or `kw`, `m3`; `ts_ms` for
    /// unix ms); the header row names the value column. Operator, or a provider for its own centres.
    Import { file: PathBuf },
    /// PUE of a centre over a window (default: the last 24 hours).
    Pue {
        centre: String,
        /// Unix ms, RFC 3339 or YYYY-MM-DD.
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
    },
    /// Monitoring coverage against the policy's 75%, with the silent centres.
    Coverage,
    /// A centre's meters with what each reported; with --set FILE, register meters first (a JSON
    /// list of {"id", "kind", "point" or "category" for IT, "unit"}; it replaces unused ones).
    Meters {
        centre: String,
        #[arg(long)]
        set: Option<PathBuf>,
    },
    /// Register a centre's cooling (air, chilled_water, free_cooling, liquid, immersion) and rated capacity in kW.
    Facts {
        centre: String,
        #[arg(long)]
        cooling: String,
        #[arg(long)]
        rated_kw: f64,
    },
    /// The lifecycle evaluation: annualised PUE, GB 40879 grade, the new-DC rule, score and recommendation, ranked.
    Report {
        /// Evaluate as at the end of this year (or now, if earlier).
        #[arg(long)]
        year: Option<i32>,
    },
}

const REPORT_COLUMNS: &[(&str, &str)] = &[
    ("rank", "rank"),
    ("centre", "dc"),
    ("name", "name"),
    ("annualised PUE", "kpis.pue.value"),
    ("year measured", "kpis.pue.completeness"),
    ("PUE 30 d", "recent_pue.value"),
    ("30 d measured", "recent_pue.completeness"),
    ("GB 40879", "grading.outcome"),
    ("policy", "policy.outcome"),
    ("score", "lifecycle.score"),
    ("recommendation", "lifecycle.recommendation"),
    ("merge into", "lifecycle.merge_into_name"),
];

const SILENT_COLUMNS: &[(&str, &str)] = &[("centre", "dc"), ("silent meters", "silent_meters"), ("unmetered", "unmetered")];

fn markdown(items: &[Value], cols: &[(&str, &str)]) {
    println!("| {} |", cols.iter().map(|(h, _)| *h).collect::<Vec<_>>().join(" | "));
    println!("|{}", "---|".repeat(cols.len()));
    for item in items {
        println!("| {} |", cols.iter().map(|(_, p)| cell(field(item, p)).replace('|', "\\|")).collect::<Vec<_>>().join(" | "));
    }
}

fn rows(items: &[Value], fmt: Format, cols: &[(&str, &str)]) {
    match fmt {
        Format::Markdown => markdown(items, cols),
        _ => crate::list(&Value::Array(items.to_vec()), fmt, cols),
    }
}

pub async fn run(c: Client, cmd: EnergyCmd, fmt: Format) -> anyhow::Result<()> {
    match cmd {
        EnergyCmd::Import { file } => import(&c, &file, fmt).await,
        EnergyCmd::Pue { centre, from, to } => {
            let v = to_value(&c.energy_pue(&CentreId::parse(&centre)?, from.as_deref(), to.as_deref()).await?);
            crate::show(
                &v,
                fmt,
                &[
                    ("centre", "centre_id"),
                    ("PUE", "display"),
                    ("value", "value"),
                    ("label", "label"),
                    ("kind", "kind"),
                    ("facility kWh", "facility_kwh"),
                    ("IT kWh", "it_kwh"),
                    ("completeness", "completeness"),
                    ("no value because", "no_value"),
                ],
            );
            Ok(())
        }
        EnergyCmd::Meters { centre, set } => meters(&c, &centre, set, fmt).await,
        EnergyCmd::Facts { centre, cooling, rated_kw } => {
            let v = to_value(&c.energy_set_facts(&CentreId::parse(&centre)?, &FactsIn { cooling, rated_kw }).await?);
            crate::show(
                &v,
                fmt,
                &[("centre", "centre_id"), ("cooling", "cooling"), ("rated kW", "rated_kw"), ("racks", "racks"), ("edge", "edge")],
            );
            Ok(())
        }
        EnergyCmd::Coverage => coverage(&c, fmt).await,
        EnergyCmd::Report { year } => {
            let v = to_value(&c.energy_evaluation(year).await?);
            if fmt == Format::Json {
                crate::output::json(&v);
                return Ok(());
            }
            rows(v["assessments"].as_array().map_or(&[][..], |a| a), fmt, REPORT_COLUMNS);
            Ok(())
        }
    }
}

/// `energy import`: sends a CSV file's readings in batches and shows how many were taken,
/// duplicated or refused, and why each refused one was.
async fn import(c: &Client, file: &Path, fmt: Format) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let parsed = suanli_energy::csv::parse_readings(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let readings: Vec<ReadingIn> = serde_json::from_value(Value::Array(parsed)).context("a parsed reading")?;
    let (mut accepted, mut duplicates, mut rejected) = (0u64, 0u64, Vec::new());
    for chunk in readings.chunks(IMPORT_BATCH) {
        let out = c.energy_ingest(&ReadingsIn { readings: chunk.to_vec() }).await?;
        accepted += u64::from(out.accepted);
        duplicates += u64::from(out.duplicates);
        rejected.extend(out.rejected.iter().map(to_value));
    }
    let summary = json!({"readings": readings.len(), "accepted": accepted, "duplicates": duplicates, "rejected": rejected.len()});
    if fmt == Format::Json {
        crate::output::json(&json!({"summary": summary, "rejected": rejected}));
        return Ok(());
    }
    crate::show(
        &summary,
        fmt,
        &[("readings", "readings"), ("accepted", "accepted"), ("duplicates", "duplicates"), ("rejected", "rejected")],
    );
    if !rejected.is_empty() {
        rows(&rejected, fmt, &[("centre", "centre_id"), ("meter", "meter"), ("ts_ms", "ts_ms"), ("code", "code"), ("message", "message")]);
    }
    Ok(())
}

/// `energy meters`: registers the meters in `set` first, if given, then shows the centre's
/// meters and what each reported.
async fn meters(c: &Client, centre: &str, set: Option<PathBuf>, fmt: Format) -> anyhow::Result<()> {
    let centre = CentreId::parse(centre)?;
    if let Some(file) = set {
        let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        let meters: Vec<MeterIn> =
            serde_json::from_str(&text).with_context(|| format!("{} is not a JSON list of meters", file.display()))?;
        c.energy_register_meters(&centre, &MetersIn { meters }).await?;
    }
    let v = to_value(&c.energy_meters(&centre).await?);
    if fmt == Format::Json {
        crate::output::json(&v);
        return Ok(());
    }
    crate::show(&v, fmt, &[("centre", "centre_id"), ("cooling", "data_centre.cooling"), ("rated kW", "data_centre.rated_kw")]);
    rows(
        v["status"].as_array().map(Vec::as_slice).unwrap_or_default(),
        fmt,
        &[
            ("meter", "meter"),
            ("channel", "channel"),
            ("unit", "unit"),
            ("first", "first_ms"),
            ("last", "last_ms"),
            ("accepted", "accepted"),
            ("duplicates", "duplicates"),
            ("refused", "rejected"),
        ],
    );
    Ok(())
}

/// `energy coverage`: monitoring coverage against the target, and the silent centres.
async fn coverage(c: &Client, fmt: Format) -> anyhow::Result<()> {
    let v = to_value(&c.energy_coverage().await?);
    if fmt == Format::Json {
        crate::output::json(&v);
        return Ok(());
    }
    crate::show(
        &v,
        fmt,
        &[
            ("registered", "registered"),
            ("monitored", "monitored"),
            ("coverage", "coverage"),
            ("target", "target"),
            ("meets target", "meets_target"),
        ],
    );
    let silent = v["silent"].as_array().cloned().unwrap_or_default();
    if !silent.is_empty() && fmt != Format::Csv {
        rows(&silent, fmt, SILENT_COLUMNS);
    }
    Ok(())
}
