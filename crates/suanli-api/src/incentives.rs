//! The incentives API's bodies: programmes, applications with evidence, the expert pool, reviews, objections, totals, and partner selection (scores, configuration, rounds, alerts, declared certifications and green power).
//!
//! Programmes, partner configuration, measures, reasons, alerts and declarations are
//! `suanli-incentives`' own types (with `ToSchema` behind its `openapi` feature), so none of
//! these answers is an untyped object in the OpenAPI document. A partner score is answered as
//! [`PartnerScoreBody`]: each shortfall both in English (`reasons`, as it always was) and typed.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use suanli_core::centre::PartnerStatus;
use suanli_core::time::format_rfc3339;
use suanli_incentives::{Applicant, Application, Assignment, Evidence, Expert, Review};
use utoipa::ToSchema;

pub use suanli_incentives::ProgrammeSpec;
pub use suanli_incentives::certification::{Certification, GreenPower};
pub use suanli_incentives::partner::{Breach, Config as PartnerConfig, Measures, PartnerChange, PartnerReason, Score};
pub use suanli_incentives::programme::Facts;

/// An evidence document, its content base64-encoded.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentIn {
    /// The kind the programme asks for (`rd_cost_audit`, `evaluation_report` …).
    pub kind: String,
    pub name: String,
    pub content_base64: String,
}

/// An application.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplyIn {
    pub programme: String,
    /// The project (for recognitions, the title); with the enterprise, what is awarded once.
    pub project: String,
    /// Eligible cost or investment, yuan.
    pub cost: String,
    /// Amount asked, yuan.
    pub requested: String,
    /// Declared facts beyond the registry: parameters_b, evaluation_rank, first_recognitions, excellent_evaluation.
    #[serde(default)]
    pub declared: Option<Facts>,
    pub documents: Vec<DocumentIn>,
    /// The operator applies on behalf of a tenant (`tnt_…`) or a provider (`prv_…`); the others
    /// apply for themselves and leave it out.
    #[serde(default)]
    pub on_behalf_of: Option<String>,
    /// The completed calendar year (年度) whose platform volume and data-service rank a provider
    /// is judged on: the previous year when left out, or the one before it.
    #[serde(default)]
    pub volume_year: Option<i32>,
}

/// An application with its reviews, ranking, publicity, objections and what it was paid.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApplicationOut {
    pub id: String,
    pub programme: String,
    pub policy: String,
    /// `tenant` or `provider`.
    pub applicant_kind: String,
    pub applicant_id: String,
    pub applicant_name: String,
    /// The applicant's tenant id when a tenant applied (kept for clients that read it).
    pub tenant_id: Option<String>,
    pub project: String,
    pub district: String,
    pub year: i32,
    /// under_review, publicity, not_selected, withdrawn, superseded or awarded.
    pub stage: String,
    pub cost: String,
    pub requested: String,
    pub score: Option<f64>,
    pub rank: Option<u32>,
    pub reviews: usize,
    /// The experts assigned to score it (an expert sees only itself).
    pub assigned: Vec<Assignment>,
    /// The scores given (an expert sees only its own).
    pub scored: Vec<Review>,
    pub publicity_until: Option<String>,
    /// What the eligibility was judged on: registered and declared facts, and for a provider
    /// its yearly service volume (yuan fen) and data-service rank from the platform's ledger.
    pub facts: Facts,
    pub evidence: Vec<Evidence>,
    /// Objections raised in publicity: `{by, text, at_ms, resolution}`, the resolution
    /// `[upheld, reason, by, at_ms]` or null while open.
    #[schema(value_type = Vec<Object>)]
    pub objections: serde_json::Value,
    pub paid: String,
    pub city_part: String,
    pub district_part: String,
    /// Why it stands where it does: ranking, objections, the arbitration (从优、就高、不重复).
    pub notes: Vec<String>,
    pub created: String,
}

impl From<&Application> for ApplicationOut {
    fn from(a: &Application) -> ApplicationOut {
        ApplicationOut {
            id: a.id.clone(),
            programme: a.programme.clone(),
            policy: a.policy.clone(),
            applicant_kind: a.applicant.kind().into(),
            applicant_id: a.applicant.id().into(),
            applicant_name: a.applicant_name.clone(),
            tenant_id: match &a.applicant {
                Applicant::Tenant(id) => Some(id.clone()),
                Applicant::Provider(_) => None,
            },
            project: a.project.clone(),
            district: a.district.clone(),
            year: a.year,
            stage: a.stage.as_str().into(),
            cost: a.cost.to_yuan_string(),
            requested: a.requested.to_yuan_string(),
            score: a.score,
            rank: a.rank,
            reviews: a.reviews.len(),
            assigned: a.assigned.clone(),
            scored: a.reviews.clone(),
            publicity_until: a.publicity_until.map(format_rfc3339),
            facts: a.facts.clone(),
            evidence: a.evidence.clone(),
            objections: serde_json::to_value(&a.objections).unwrap_or_default(),
            paid: a.paid.to_yuan_string(),
            city_part: a.city_part.to_yuan_string(),
            district_part: a.district_part.to_yuan_string(),
            notes: a.notes.clone(),
            created: format_rfc3339(a.created_ms),
        }
    }
}

/// What the applications and totals lists answer.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// json (default) or csv.
    pub format: Option<String>,
    /// Totals only: `district` for one row per programme and district.
    pub by: Option<String>,
}

/// An expert's own scores of an application assigned to it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewIn {
    /// 0-100 per criterion of the programme.
    pub scores: BTreeMap<String, f64>,
}

/// A new member of the expert pool.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpertIn {
    pub name: String,
    /// Its employer's unified social credit code: it is never assigned that company's applications.
    pub organisation_uscc: String,
}

/// A member of the expert pool.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExpertOut {
    /// Its user id (`usr_…`).
    pub id: String,
    pub name: String,
    pub organisation_uscc: String,
    pub created: String,
}

impl From<&Expert> for ExpertOut {
    fn from(e: &Expert) -> ExpertOut {
        ExpertOut {
            id: e.id.clone(),
            name: e.name.clone(),
            organisation_uscc: e.organisation_uscc.clone(),
            created: format_rfc3339(e.created_ms),
        }
    }
}

/// An expert added, with its bearer token (shown once).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExpertCreated {
    pub expert: ExpertOut,
    pub token: String,
}

/// Whom the operator assigns.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentIn {
    /// The expert's user id (`usr_…`).
    pub expert: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionIn {
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolutionIn {
    pub uphold: bool,
    pub reason: String,
}

/// A programme's year in figures.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TotalsOut {
    pub programme: String,
    pub year: i32,
    pub budget: String,
    pub applications: u32,
    pub committed: String,
    pub disbursed: String,
    pub city: String,
    pub district: String,
}

/// What one district's enterprises were paid under one programme this year.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DistrictTotalsOut {
    pub programme: String,
    pub district: String,
    pub year: i32,
    pub awards: u32,
    pub paid: String,
    pub city: String,
    pub district_part: String,
}

/// One centre's partner score with what it was scored on.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PartnerScoreOut {
    /// The criteria, 0-100 each, the weighted total, the verdict and every shortfall.
    pub score: PartnerScoreBody,
    /// What the platform measured: compute, shares, PUE, price index, start latency, centre faults.
    pub measures: Option<Measures>,
}

/// A centre's partner score: the criteria 0-100 each, the weighted total and the verdict.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = PartnerScore)]
pub struct PartnerScoreBody {
    pub centre_id: String,
    pub name: String,
    pub performance: f64,
    pub security: f64,
    pub green: f64,
    pub price: f64,
    pub service: f64,
    pub total: f64,
    pub admitted: bool,
    /// Every shortfall in English words, as this field has always said them.
    pub reasons: Vec<String>,
    /// The same shortfalls typed, in the same order: each its stable `code`
    /// (`pue_above_limit`, `no_measured_pue`, `centre_faults_above_max`,
    /// `total_below_admission`) with its figures, for programs and translations.
    #[serde(default, deserialize_with = "crate::dto::lenient")]
    pub reason_details: Vec<PartnerReason>,
}

impl From<&Score> for PartnerScoreBody {
    fn from(s: &Score) -> PartnerScoreBody {
        PartnerScoreBody {
            centre_id: s.centre_id.clone(),
            name: s.name.clone(),
            performance: s.performance,
            security: s.security,
            green: s.green,
            price: s.price,
            service: s.service,
            total: s.total,
            admitted: s.admitted,
            reasons: s.reasons.iter().map(ToString::to_string).collect(),
            reason_details: s.reasons.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CarryIn {
    /// The successor programme's code (open now).
    pub to: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundIn {
    /// `admission` (applicants that meet the criteria become partners) or `review` (the yearly
    /// review: partners that fail are suspended, suspended ones that pass are reinstated).
    pub kind: String,
}

/// One centre's change in a partner round, with why.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoundChangeOut {
    pub centre_id: String,
    pub name: String,
    pub from: PartnerStatus,
    pub to: PartnerStatus,
    /// Its total score.
    pub total: f64,
    /// Its shortfalls in English words (none when it was admitted or reinstated).
    pub reasons: Vec<String>,
    /// The same shortfalls typed, in the same order (as in a partner score).
    #[serde(default, deserialize_with = "crate::dto::lenient")]
    pub reason_details: Vec<PartnerReason>,
}

/// Public holidays the publicity calendar skips (`YYYY-MM-DD`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HolidaysIn {
    pub dates: Vec<String>,
}

/// A certification declared for a centre.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificationIn {
    /// mlps_3 (等保三级), mlps_4, iso_27001, trusted_cloud (可信云), dc_tier_3 or dc_tier_4.
    pub kind: String,
    pub issuer: String,
    pub number: String,
    /// The last day it is valid, `YYYY-MM-DD` (China Standard Time); not past.
    pub expires_on: String,
    /// SHA-256 of the certificate document, 64 hex digits.
    pub document_sha256: String,
}

/// A green-power contract declared for a centre.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GreenPowerIn {
    /// Percent of the centre's energy from renewables, 0-100.
    pub share_pct: f64,
    /// SHA-256 of the contract or green certificates, 64 hex digits.
    pub evidence_sha256: String,
    /// First and last day covered, `YYYY-MM-DD`; the period must not have ended.
    pub from: String,
    pub until: String,
}

/// A declared certification as stored, and whether it counts in the partner score now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CertificationOut {
    pub declaration: Certification,
    pub in_force: bool,
}

/// A declared green-power contract as stored, and whether it covers today.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GreenPowerOut {
    pub declaration: GreenPower,
    pub in_force: bool,
}
