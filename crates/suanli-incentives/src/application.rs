//! An application's record and its stages: submitted and reviewed, ranked into publicity (公示) or not, objections raised and resolved, decided and arbitrated, paid.

use crate::programme::{Evidence, Facts};
use crate::review::Review;
use serde::{Deserialize, Serialize};
use suanli_core::money::Fen;
use suanli_core::time::UnixMs;

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Complete and eligible; experts score it.
    UnderReview,
    /// Selected within the quota and the budget, shown to the public until `publicity_until`.
    Publicity,
    /// Ranked below the quota or the budget.
    NotSelected,
    /// An objection was upheld during publicity.
    Withdrawn,
    /// The subject keeps a higher award for the same thing (从优、就高、不重复).
    Superseded,
    /// Decided and paid through the ledger.
    Awarded,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::UnderReview => "under_review",
            Stage::Publicity => "publicity",
            Stage::NotSelected => "not_selected",
            Stage::Withdrawn => "withdrawn",
            Stage::Superseded => "superseded",
            Stage::Awarded => "awarded",
        }
    }

    pub fn parse(s: &str) -> Option<Stage> {
        [Stage::UnderReview, Stage::Publicity, Stage::NotSelected, Stage::Withdrawn, Stage::Superseded, Stage::Awarded]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// An objection raised during publicity, and how the operator resolved it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objection {
    pub by: String,
    pub text: String,
    pub at_ms: UnixMs,
    /// (upheld, reason, by, at): None while open.
    #[serde(default)]
    pub resolution: Option<(bool, String, String, UnixMs)>,
}

/// An application with everything that happened to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub id: String,
    pub programme: String,
    pub policy: String,
    pub tenant_id: String,
    /// What "the same thing" is for 不重复: the enterprise's credit code and the project.
    pub subject: String,
    pub project: String,
    pub applicant_uscc: String,
    /// The applicant's district, which pays the district's share.
    pub district: String,
    pub year: i32,
    pub cost: Fen,
    pub requested: Fen,
    pub facts: Facts,
    pub evidence: Vec<Evidence>,
    pub stage: Stage,
    pub reviews: Vec<Review>,
    pub score: Option<f64>,
    pub rank: Option<u32>,
    pub publicity_until: Option<UnixMs>,
    pub objections: Vec<Objection>,
    /// Paid when awarded (less what the subject had for the same thing), and its city/district parts.
    pub paid: Fen,
    pub city_part: Fen,
    pub district_part: Fen,
    /// Why it stands where it does (ranking, objections, arbitration).
    pub notes: Vec<String>,
    pub created_ms: UnixMs,
    pub updated_ms: UnixMs,
}
