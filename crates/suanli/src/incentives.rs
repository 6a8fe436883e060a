//! `suanli incentives …`: programmes, applications with evidence files (by a tenant, a provider, or the operator on their behalf), the expert pool, assignments and an expert's own scores, ranking, objections, decisions, explanations, the city's totals, and partner selection — scores and a centre's declared certifications and green power — as a client of the API.

use crate::output::{self, Format};
use base64::Engine;
use clap::Subcommand;
use output::to_value;
use serde_json::json;
use std::path::PathBuf;
use suanli_api::Client;
use suanli_api::incentives::{
    ApplyIn, AssignmentIn, CarryIn, CertificationIn, DocumentIn, ExpertIn, Facts, GreenPowerIn, ObjectionIn, ResolutionIn, ReviewIn,
};

#[derive(Debug, Subcommand)]
pub enum IncentivesCmd {
    /// The programmes (the policy's nine are seeded): caps, quotas, evidence, window.
    Programmes,
    /// Apply (a tenant or a provider for itself, the operator with --on-behalf-of), with
    /// evidence files as KIND=PATH.
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
        /// The operator applies for this tenant (tnt_…) or provider (prv_…).
        #[arg(long)]
        on_behalf_of: Option<String>,
        /// The completed year (年度) whose platform volume and supplier rank count; the
        /// previous calendar year when left out.
        #[arg(long)]
        volume_year: Option<i32>,
    },
    /// Applications you may see.
    Applications,
    /// One application: its reviews, rank, publicity, objections and why it stands where it does.
    Explain { id: String },
    /// Score an application assigned to you (an expert, with its own token): --score innovation=90 (repeat).
    Review {
        id: String,
        #[arg(long = "score", value_parser = parse_score)]
        scores: Vec<(String, f64)>,
    },
    /// The expert pool (the operator and the regulator).
    Experts,
    /// Add an expert to the pool (the operator); prints its token once.
    AddExpert {
        #[arg(long)]
        name: String,
        /// Its employer's unified social credit code.
        #[arg(long)]
        organisation: String,
    },
    /// Assign an expert (usr_…) from the pool to an application under review (the operator).
    Assign {
        id: String,
        #[arg(long)]
        expert: String,
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
    /// Declare a centre's certification (its provider or the operator): mlps_3 (等保三级),
    /// mlps_4, iso_27001, trusted_cloud (可信云), dc_tier_3 or dc_tier_4.
    Certify {
        centre: String,
        #[arg(long)]
        kind: String,
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        number: String,
        /// The last day it is valid, YYYY-MM-DD.
        #[arg(long)]
        expires: String,
        /// The certificate document (its SHA-256 is declared; the file stays with you) ...
        #[arg(long, conflicts_with = "sha256", required_unless_present = "sha256")]
        document: Option<PathBuf>,
        /// ... or its SHA-256 directly.
        #[arg(long)]
        sha256: Option<String>,
    },
    /// Declare a centre's green-power contract: its renewable share over a period.
    GreenPower {
        centre: String,
        /// Percent of the centre's energy from renewables, 0-100.
        #[arg(long)]
        share: f64,
        /// First and last day covered, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        #[arg(long)]
        until: String,
        /// The contract or green certificates (hashed here) ...
        #[arg(long, conflicts_with = "sha256", required_unless_present = "sha256")]
        evidence: Option<PathBuf>,
        /// ... or their SHA-256 directly.
        #[arg(long)]
        sha256: Option<String>,
    },
    /// A centre's declared certifications and green-power contracts, and whether each counts now.
    Declarations { centre: String },
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

/// The SHA-256 of a file, or the one given.
fn digest(path: Option<PathBuf>, given: Option<String>) -> anyhow::Result<String> {
    use sha2::Digest;
    match (path, given) {
        (Some(p), _) => {
            let body = std::fs::read(&p).map_err(|e| anyhow::anyhow!("reading {}: {e}", p.display()))?;
            Ok(hex::encode(sha2::Sha256::digest(&body)))
        }
        (None, Some(h)) => Ok(h),
        (None, None) => anyhow::bail!("give the document or its --sha256"),
    }
}

fn parse_score(s: &str) -> Result<(String, f64), String> {
    let (k, v) = s.split_once('=').ok_or("a score is CRITERION=0..100")?;
    Ok((k.to_string(), v.parse().map_err(|_| format!("'{v}' is not a number"))?))
}

const APP_COLS: &[(&str, &str)] = &[
    ("id", "id"),
    ("programme", "programme"),
    ("applicant", "applicant_name"),
    ("kind", "applicant_kind"),
    ("project", "project"),
    ("stage 阶段", "stage"),
    ("requested ¥", "requested"),
    ("score", "score"),
    ("rank", "rank"),
    ("paid ¥", "paid"),
];

pub async fn run(c: Client, cmd: IncentivesCmd, fmt: Format) -> anyhow::Result<()> {
    use IncentivesCmd as I;
    match cmd {
        I::Programmes => super::list(&to_value(&c.incentive_programmes().await?), fmt, PROGRAMME_COLS),
        I::Apply { programme, project, cost, requested, docs, declared, on_behalf_of, volume_year } => {
            let documents = docs.into_iter().map(|(kind, path)| document(kind, &path)).collect::<anyhow::Result<Vec<_>>>()?;
            let declared: Option<Facts> = declared
                .map(|d| serde_json::from_str(&d))
                .transpose()
                .map_err(|e| anyhow::anyhow!("--declared is not a set of declared facts: {e}"))?;
            let body = ApplyIn { programme, project, cost, requested, declared, documents, on_behalf_of, volume_year };
            super::show(&to_value(&c.apply_for_incentive(&body).await?), fmt, APP_COLS);
        }
        I::Applications => super::list(&to_value(&c.incentive_applications().await?), fmt, APP_COLS),
        I::Explain { id } => explain(&to_value(&c.incentive_application(&id).await?), fmt),
        I::Review { id, scores } => {
            let body = ReviewIn { scores: scores.into_iter().collect() };
            super::show(&to_value(&c.review_application(&id, &body).await?), fmt, APP_COLS);
        }
        I::Experts => super::list(&to_value(&c.experts().await?), fmt, EXPERT_COLS),
        I::AddExpert { name, organisation } => {
            let v = to_value(&c.add_expert(&ExpertIn { name, organisation_uscc: organisation }).await?);
            super::show(&v, fmt, EXPERT_CREATED_COLS);
        }
        I::Assign { id, expert } => super::show(&to_value(&c.assign_expert(&id, &AssignmentIn { expert }).await?), fmt, APP_COLS),
        I::Rank { programme } => super::list(&to_value(&c.rank_programme(&programme).await?), fmt, APP_COLS),
        I::Object { id, text } => super::show(&to_value(&c.object_to_application(&id, &ObjectionIn { text }).await?), fmt, APP_COLS),
        I::Resolve { id, n, uphold, reason } => {
            super::show(&to_value(&c.resolve_objection(&id, n, &ResolutionIn { uphold, reason }).await?), fmt, APP_COLS)
        }
        I::Decide { id } => super::show(&to_value(&c.decide_application(&id).await?), fmt, APP_COLS),
        I::Carry { programme, to } => super::list(&to_value(&c.carry_programme(&programme, &CarryIn { to }).await?), fmt, APP_COLS),
        I::Partners => super::list(&to_value(&c.partner_scores().await?), fmt, PARTNER_COLS),
        I::Certify { centre, kind, issuer, number, expires, document, sha256 } => {
            let body = CertificationIn { kind, issuer, number, expires_on: expires, document_sha256: digest(document, sha256)? };
            super::show(&to_value(&c.declare_certification(&centre, &body).await?), fmt, CERTIFIED_COLS);
        }
        I::GreenPower { centre, share, from, until, evidence, sha256 } => {
            let body = GreenPowerIn { share_pct: share, evidence_sha256: digest(evidence, sha256)?, from, until };
            super::show(&to_value(&c.declare_green_power(&centre, &body).await?), fmt, GREEN_DECLARED_COLS);
        }
        I::Declarations { centre } => declarations(&c, &centre, fmt).await?,
        I::Totals { by_district: true } => super::list(&to_value(&c.incentive_totals_by_district().await?), fmt, DISTRICT_TOTALS_COLS),
        I::Totals { by_district: false } => super::list(&to_value(&c.incentive_totals().await?), fmt, TOTALS_COLS),
    }
    Ok(())
}

/// An evidence file as the application carries it.
fn document(kind: String, path: &std::path::Path) -> anyhow::Result<DocumentIn> {
    let body = std::fs::read(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    let name = path.file_name().map_or("document".into(), |n| n.to_string_lossy().into_owned());
    Ok(DocumentIn { kind, name, content_base64: base64::engine::general_purpose::STANDARD.encode(body) })
}

/// One application and why it stands where it does.
fn explain(v: &serde_json::Value, fmt: Format) {
    if fmt == Format::Json {
        return output::json(v);
    }
    output::record(
        v,
        &[
            ("id", "id"),
            ("programme", "programme"),
            ("policy", "policy"),
            ("stage 阶段", "stage"),
            ("score", "score"),
            ("rank", "rank"),
            ("volume year 年度", "facts.volume_year"),
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

/// A centre's declared certifications and green-power contracts, each with whether it counts now.
async fn declarations(c: &Client, centre: &str, fmt: Format) -> anyhow::Result<()> {
    let certs = to_value(&c.certifications(centre).await?);
    let green = to_value(&c.green_power(centre).await?);
    if fmt == Format::Json {
        output::json(&json!({"certifications": certs, "green_power": green}));
        return Ok(());
    }
    super::list(&certs, fmt, CERTIFICATION_COLS);
    super::list(&green, fmt, GREEN_POWER_COLS);
    Ok(())
}

const PROGRAMME_COLS: &[(&str, &str)] = &[
    ("code", "code"),
    ("title", "title"),
    ("kind", "kind"),
    ("ratio %", "ratio_pct"),
    ("cap/award (fen)", "cap_per_award"),
    ("quota", "quota_per_year"),
    ("evidence", "evidence"),
];

const EXPERT_COLS: &[(&str, &str)] =
    &[("id", "id"), ("name 姓名", "name"), ("organisation 单位", "organisation_uscc"), ("since", "created")];

const EXPERT_CREATED_COLS: &[(&str, &str)] =
    &[("id", "expert.id"), ("name", "expert.name"), ("organisation", "expert.organisation_uscc"), ("token (shown once)", "token")];

const PARTNER_COLS: &[(&str, &str)] = &[
    ("centre", "score.name"),
    ("performance", "score.performance"),
    ("security", "score.security"),
    ("green", "score.green"),
    ("price", "score.price"),
    ("service", "score.service"),
    ("total", "score.total"),
    ("certifications", "measures.certifications"),
    ("renewable share", "measures.renewable_share"),
    ("admitted", "score.admitted"),
    ("reasons", "score.reasons"),
];

const CERTIFIED_COLS: &[(&str, &str)] =
    &[("id", "declaration.id"), ("kind", "declaration.kind"), ("expires", "declaration.expires_on"), ("in force", "in_force")];

const GREEN_DECLARED_COLS: &[(&str, &str)] = &[
    ("id", "declaration.id"),
    ("share %", "declaration.share_pct"),
    ("from", "declaration.from"),
    ("until", "declaration.until"),
    ("in force", "in_force"),
];

const CERTIFICATION_COLS: &[(&str, &str)] = &[
    ("kind", "declaration.kind"),
    ("issuer", "declaration.issuer"),
    ("number", "declaration.number"),
    ("expires", "declaration.expires_on"),
    ("sha256", "declaration.document_sha256"),
    ("in force", "in_force"),
];

const GREEN_POWER_COLS: &[(&str, &str)] = &[
    ("share %", "declaration.share_pct"),
    ("from", "declaration.from"),
    ("until", "declaration.until"),
    ("sha256", "declaration.evidence_sha256"),
    ("in force", "in_force"),
];

const DISTRICT_TOTALS_COLS: &[(&str, &str)] = &[
    ("programme", "programme"),
    ("district", "district"),
    ("year", "year"),
    ("awards", "awards"),
    ("paid ¥", "paid"),
    ("city ¥", "city"),
    ("district ¥", "district_part"),
];

const TOTALS_COLS: &[(&str, &str)] = &[
    ("programme", "programme"),
    ("year", "year"),
    ("budget ¥", "budget"),
    ("applications", "applications"),
    ("committed ¥", "committed"),
    ("disbursed ¥", "disbursed"),
    ("city ¥", "city"),
    ("district ¥", "district"),
];
