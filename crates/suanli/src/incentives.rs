//! `suanli incentives …`: programmes, applications with evidence files, reviews, ranking, objections, decisions, explanations and the city's totals, as a client of the API.

use crate::client::Client;
use crate::output::{self, Format};
use base64::Engine;
use clap::Subcommand;
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum IncentivesCmd {
    /// The programmes (the policy's nine are seeded): caps, quotas, evidence, window.
    Programmes,
    /// Apply (an enterprise), with evidence files as KIND=PATH.
    Apply {
        programme: String,
        #[arg(long)]
        project: String,
        /// Eligible cost or investment, yuan.
        #[arg(long)]
        cost: String,
        /// Amount asked, yuan.
        #[arg(long)]
        requested: String,
        /// Evidence, repeat: --doc rd_cost_audit=audit.pdf
        #[arg(long = "doc", value_parser = parse_doc)]
        docs: Vec<(String, PathBuf)>,
        /// Declared facts as JSON (parameters_b, evaluation_rank, first_recognitions, excellent_evaluation).
        #[arg(long)]
        declared: Option<String>,
    },
    /// Applications you may see.
    Applications,
    /// One application: its reviews, rank, publicity, objections and why it stands where it does.
    Explain { id: String },
    /// Record an expert's scores (the operator): --score innovation=90 (repeat).
    Review {
        id: String,
        #[arg(long)]
        expert: String,
        /// The expert's employer's unified social credit code.
        #[arg(long)]
        organisation: String,
        #[arg(long = "score", value_parser = parse_score)]
        scores: Vec<(String, f64)>,
    },
    /// Rank a programme's reviewed applications into publicity (the operator).
    Rank { programme: String },
    /// Object to an application in publicity.
    Object {
        id: String,
        #[arg(long)]
        text: String,
    },
    /// Resolve objection N (the operator).
    Resolve {
        id: String,
        n: usize,
        #[arg(long)]
        uphold: bool,
        #[arg(long)]
        reason: String,
    },
    /// Decide after publicity (the operator): arbitration, then payment.
    Decide { id: String },
    /// Carry a closed programme's undecided applications to a successor (the operator).
    Carry {
        programme: String,
        #[arg(long)]
        to: String,
    },
    /// Compute-partner scores from measured data (算力伙伴遴选), best first.
    Partners,
    /// Per programme this year: budget, committed, disbursed, city and district shares
    /// (`--output csv` for a spreadsheet).
    Totals {
        /// One row per programme and district instead.
        #[arg(long)]
        by_district: bool,
    },
}

fn parse_doc(s: &str) -> Result<(String, PathBuf), String> {
    let (k, p) = s.split_once('=').ok_or("evidence is KIND=PATH")?;
    Ok((k.to_string(), PathBuf::from(p)))
}

fn parse_score(s: &str) -> Result<(String, f64), String> {
    let (k, v) = s.split_once('=').ok_or("a score is CRITERION=0..100")?;
    Ok((k.to_string(), v.parse().map_err(|_| format!("'{v}' is not a number"))?))
}

const APP_COLS: &[(&str, &str)] = &[
    ("id", "id"),
    ("programme", "programme"),
    ("project", "project"),
    ("stage 阶段", "stage"),
    ("requested ¥", "requested"),
    ("score", "score"),
    ("rank", "rank"),
    ("paid ¥", "paid"),
];

pub async fn run(c: Client, cmd: IncentivesCmd, fmt: Format) -> anyhow::Result<()> {
    match cmd {
        IncentivesCmd::Programmes => super::list(
            &c.get("/api/v1/incentives/programmes").await?,
            fmt,
            &[
                ("code", "code"),
                ("title", "title"),
                ("kind", "kind"),
                ("ratio %", "ratio_pct"),
                ("cap/award (fen)", "cap_per_award"),
                ("quota", "quota_per_year"),
                ("evidence", "evidence"),
            ],
        ),
        IncentivesCmd::Apply { programme, project, cost, requested, docs, declared } => {
            let mut documents = Vec::new();
            for (kind, path) in docs {
                let body = std::fs::read(&path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
                let name = path.file_name().map_or("document".into(), |n| n.to_string_lossy().into_owned());
                documents
                    .push(json!({"kind": kind, "name": name, "content_base64": base64::engine::general_purpose::STANDARD.encode(body)}));
            }
            let declared: Option<Value> =
                declared.map(|d| serde_json::from_str(&d)).transpose().map_err(|e| anyhow::anyhow!("--declared is not JSON: {e}"))?;
            let body = json!({"programme": programme, "project": project, "cost": cost, "requested": requested, "declared": declared, "documents": documents});
            super::show(&c.post("/api/v1/incentives/applications", &body).await?, fmt, APP_COLS);
        }
        IncentivesCmd::Applications => super::list(&c.get("/api/v1/incentives/applications").await?, fmt, APP_COLS),
        IncentivesCmd::Explain { id } => {
            let v = c.get(&format!("/api/v1/incentives/applications/{id}")).await?;
            if fmt == Format::Json {
                output::json(&v);
                return Ok(());
            }
            output::record(
                &v,
                &[
                    ("id", "id"),
                    ("programme", "programme"),
                    ("policy", "policy"),
                    ("stage 阶段", "stage"),
                    ("score", "score"),
                    ("rank", "rank"),
                    ("publicity until", "publicity_until"),
                    ("paid ¥", "paid"),
                    ("city ¥", "city_part"),
                    ("district ¥", "district_part"),
                ],
            );
            for n in v["notes"].as_array().map_or(&[][..], |a| a) {
                println!("- {}", n.as_str().unwrap_or(""));
            }
        }
        IncentivesCmd::Review { id, expert, organisation, scores } => {
            let scores: serde_json::Map<String, Value> = scores.into_iter().map(|(k, v)| (k, json!(v))).collect();
            let body = json!({"expert": expert, "organisation_uscc": organisation, "scores": scores});
            super::show(&c.post(&format!("/api/v1/incentives/applications/{id}/reviews"), &body).await?, fmt, APP_COLS);
        }
        IncentivesCmd::Rank { programme } => {
            super::list(&c.post(&format!("/api/v1/incentives/programmes/{programme}/ranking"), &json!({})).await?, fmt, APP_COLS)
        }
        IncentivesCmd::Object { id, text } => {
            super::show(&c.post(&format!("/api/v1/incentives/applications/{id}/objections"), &json!({"text": text})).await?, fmt, APP_COLS)
        }
        IncentivesCmd::Resolve { id, n, uphold, reason } => {
            let v = c
                .post(
                    &format!("/api/v1/incentives/applications/{id}/objections/{n}/resolution"),
                    &json!({"uphold": uphold, "reason": reason}),
                )
                .await?;
            super::show(&v, fmt, APP_COLS);
        }
        IncentivesCmd::Decide { id } => {
            super::show(&c.post(&format!("/api/v1/incentives/applications/{id}/decision"), &json!({})).await?, fmt, APP_COLS)
        }
        IncentivesCmd::Carry { programme, to } => {
            super::list(&c.post(&format!("/api/v1/incentives/programmes/{programme}/carry"), &json!({"to": to})).await?, fmt, APP_COLS)
        }
        IncentivesCmd::Partners => super::list(
            &c.get("/api/v1/partners/scores").await?,
            fmt,
            &[
                ("centre", "score.name"),
                ("performance", "score.performance"),
                ("security", "score.security"),
                ("green", "score.green"),
                ("price", "score.price"),
                ("service", "score.service"),
                ("total", "score.total"),
                ("admitted", "score.admitted"),
                ("reasons", "score.reasons"),
            ],
        ),
        IncentivesCmd::Totals { by_district: true } => super::list(
            &c.get("/api/v1/incentives/totals?by=district").await?,
            fmt,
            &[
                ("programme", "programme"),
                ("district", "district"),
                ("year", "year"),
                ("awards", "awards"),
                ("paid ¥", "paid"),
                ("city ¥", "city"),
                ("district ¥", "district_part"),
            ],
        ),
        IncentivesCmd::Totals { by_district: false } => super::list(
            &c.get("/api/v1/incentives/totals").await?,
            fmt,
            &[
                ("programme", "programme"),
                ("year", "year"),
                ("budget ¥", "budget"),
                ("applications", "applications"),
                ("committed ¥", "committed"),
                ("disbursed ¥", "disbursed"),
                ("city ¥", "city"),
                ("district ¥", "district"),
            ],
        ),
    }
    Ok(())
}
