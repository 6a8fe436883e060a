//! An application's record and its stages: submitted and reviewed, ranked into publicity (公示) or not, objections raised and resolved, decided and arbitrated, paid.

use crate::programme::{Evidence, Facts};
use crate::review::Review;
use serde::{Deserialize, Deserializer, Serialize};
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{ProviderId, TenantId};
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

/// Who applies: an enterprise using the platform (a tenant), or a compute provider or data
/// supplier (a provider), whose volumes and ranks come from the platform's own ledger.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Applicant {
    Tenant(String),
    Provider(String),
}

impl Applicant {
    /// `tenant` or `provider`.
    pub fn kind(&self) -> &'static str {
        match self {
            Applicant::Tenant(_) => "tenant",
            Applicant::Provider(_) => "provider",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Applicant::Tenant(id) | Applicant::Provider(id) => id,
        }
    }

    /// An applicant by its id, typed by the id's prefix (`tnt_…` or `prv_…`).
    pub fn parse(id: &str) -> Result<Applicant, Error> {
        if id.starts_with(TenantId::PREFIX) {
            Ok(Applicant::Tenant(TenantId::parse(id)?.to_string()))
        } else if id.starts_with(ProviderId::PREFIX) {
            Ok(Applicant::Provider(ProviderId::parse(id)?.to_string()))
        } else {
            Err(Error::new(ErrorCode::InvalidId, "an applicant is a tenant (tnt_…) or a provider (prv_…)"))
        }
    }
}

/// Records written before providers applied name their tenant as `tenant_id: "tnt_…"`.
fn applicant_or_tenant<'de, D: Deserializer<'de>>(d: D) -> Result<Applicant, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Typed(Applicant),
        Tenant(String),
    }
    Ok(match Either::deserialize(d)? {
        Either::Typed(a) => a,
        Either::Tenant(id) => Applicant::Tenant(id),
    })
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
    #[serde(alias = "tenant_id", deserialize_with = "applicant_or_tenant")]
    pub applicant: Applicant,
    /// The applicant's name when it applied.
    #[serde(default)]
    pub applicant_name: String,
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
    /// The experts the operator assigned to score it (only they see it and score it).
    #[serde(default)]
    pub assigned: Vec<crate::review::Assignment>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_applicant_is_typed_by_its_id_and_older_records_read_as_tenants() {
        let t = TenantId::generate(1, 1).to_string();
        let p = ProviderId::generate(1, 2).to_string();
        assert_eq!(Applicant::parse(&t).unwrap(), Applicant::Tenant(t.clone()));
        assert_eq!(Applicant::parse(&p).unwrap().kind(), "provider");
        assert_eq!(Applicant::parse("ctr_x").unwrap_err().code, ErrorCode::InvalidId);
        let typed = serde_json::to_value(Applicant::Provider(p.clone())).unwrap();
        assert_eq!(typed, serde_json::json!({"kind": "provider", "id": p}));
        #[derive(Deserialize)]
        struct Old {
            #[serde(alias = "tenant_id", deserialize_with = "applicant_or_tenant")]
            applicant: Applicant,
        }
        let old: Old = serde_json::from_value(serde_json::json!({"tenant_id": t})).unwrap();
        assert_eq!(old.applicant, Applicant::Tenant(t));
        let new: Old = serde_json::from_value(serde_json::json!({"applicant": typed})).unwrap();
        assert_eq!(new.applicant, Applicant::Provider(p));
    }
}
