//! GB 40879-2021 energy-efficiency grades from annualised PUE, and the city's PUE rule for new data centres.
//!
//! # Rules
//!
//! - PUE is compared as reported: rounded to two decimals (half away from zero) first.
//! - A rounded PUE **at or below** a threshold earns that grade: with the default thresholds
//!   1.20 / 1.30 / 1.50, 1.20 is grade 1, 1.21 to 1.30 grade 2, 1.31 to 1.50 grade 3 (the limit
//!   value), above 1.50 does not meet the standard. Thresholds are configuration: the standard's
//!   figures are unverified here.
//! - Edge data centres (registered as edge, or with at most 100 standard racks) are outside
//!   the standard and not graded. A data centre without an annualised PUE is not graded yet.
//! - The city's rule (杭政办函〔2023〕55号, "新建数据中心 PUE 低于 1.25"): a data centre
//!   commissioned on or after the policy date (default 2023-08-25, the day the policy took
//!   effect) must have an annualised PUE strictly below 1.25; at or above fails. Older data
//!   centres are not subject to it; edge sites are not either unless the configuration says so.
//!   Until a new data centre has an annualised PUE the check is undecided.

use crate::error::EnergyError;
use crate::meter::DataCentre;
use serde::{Deserialize, Serialize};
use suanli_core::time::{UnixMs, format_date, parse_date};

/// Upper PUE bounds of GB 40879 grades 1, 2 and 3.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GradeThresholds {
    pub grade1: f64,
    pub grade2: f64,
    pub grade3: f64,
}

impl Default for GradeThresholds {
    fn default() -> GradeThresholds {
        GradeThresholds { grade1: 1.20, grade2: 1.30, grade3: 1.50 }
    }
}

impl GradeThresholds {
    pub fn validate(&self) -> Result<(), EnergyError> {
        let ok = self.grade1.is_finite()
            && self.grade1 >= 1.0
            && self.grade1 < self.grade2
            && self.grade2 < self.grade3
            && self.grade3.is_finite();
        if !ok {
            return Err(EnergyError::config(format!(
                "grade thresholds must rise from at least 1.0: {} < {} < {}",
                self.grade1, self.grade2, self.grade3
            )));
        }
        Ok(())
    }
}

/// The city's PUE rule for new data centres.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Data centres commissioned on or after this date ("YYYY-MM-DD", UTC) are new.
    pub new_since: String,
    /// New data centres' annualised PUE must be strictly below this.
    pub pue_below: f64,
    /// Whether edge sites are held to the rule.
    pub include_edge: bool,
}

impl Default for PolicyConfig {
    fn default() -> PolicyConfig {
        PolicyConfig { new_since: "2023-08-25".into(), pue_below: 1.25, include_edge: false }
    }
}

impl PolicyConfig {
    /// The policy date as unix ms.
    pub fn new_since_ms(&self) -> Result<UnixMs, EnergyError> {
        parse_date(&self.new_since).map_err(|e| EnergyError::config(format!("policy.new_since: {}", e.message)))
    }

    pub fn validate(&self) -> Result<(), EnergyError> {
        self.new_since_ms()?;
        if !(self.pue_below.is_finite() && self.pue_below > 1.0) {
            return Err(EnergyError::config(format!("policy.pue_below must be above 1.0, not {}", self.pue_below)));
        }
        Ok(())
    }
}

/// A GB 40879 outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Gb40879 {
    Grade1,
    Grade2,
    Grade3,
    /// Above the grade 3 limit value.
    DoesNotMeet,
    /// An edge site: the standard does not apply.
    OutOfScope,
    /// No annualised PUE yet.
    NotGraded,
}

impl Gb40879 {
    pub fn code(self) -> &'static str {
        match self {
            Gb40879::Grade1 => "grade_1",
            Gb40879::Grade2 => "grade_2",
            Gb40879::Grade3 => "grade_3",
            Gb40879::DoesNotMeet => "does_not_meet",
            Gb40879::OutOfScope => "out_of_scope",
            Gb40879::NotGraded => "not_graded",
        }
    }
}

/// A grade with the PUE it was given for and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grading {
    pub outcome: Gb40879,
    /// The annualised PUE as compared (rounded to two decimals).
    pub pue: Option<f64>,
    pub reason: String,
}

/// PUE rounded to two decimals, as it is reported and compared.
pub fn reported(pue: f64) -> f64 {
    (pue * 100.0).round() / 100.0
}

/// Grades a data centre from its annualised PUE.
pub fn grade(dc: &DataCentre, annualised: Option<f64>, t: &GradeThresholds) -> Grading {
    let pue = annualised.map(reported);
    let (outcome, reason) = match pue {
        _ if !dc.in_gb40879_scope() => {
            (Gb40879::OutOfScope, format!("edge site ({} racks): GB 40879 covers data centres of more than 100 racks", dc.racks))
        }
        None => (Gb40879::NotGraded, "no annualised PUE yet".to_owned()),
        Some(p) if p <= t.grade1 => (Gb40879::Grade1, format!("PUE {p:.2} is at or below {:.2}", t.grade1)),
        Some(p) if p <= t.grade2 => (Gb40879::Grade2, format!("PUE {p:.2} is above {:.2} and at or below {:.2}", t.grade1, t.grade2)),
        Some(p) if p <= t.grade3 => {
            (Gb40879::Grade3, format!("PUE {p:.2} is above {:.2} and at or below the limit value {:.2}", t.grade2, t.grade3))
        }
        Some(p) => (Gb40879::DoesNotMeet, format!("PUE {p:.2} is above the limit value {:.2}", t.grade3)),
    };
    Grading { outcome, pue, reason }
}

/// Outcome of the new-data-centre rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PolicyOutcome {
    Pass,
    Fail,
    /// Commissioned before the policy date (or an edge site).
    NotApplicable,
    /// New, but no annualised PUE yet.
    Undecided,
}

impl PolicyOutcome {
    pub fn code(self) -> &'static str {
        match self {
            PolicyOutcome::Pass => "pass",
            PolicyOutcome::Fail => "fail",
            PolicyOutcome::NotApplicable => "not_applicable",
            PolicyOutcome::Undecided => "undecided",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyCheck {
    pub outcome: PolicyOutcome,
    pub reason: String,
}

/// The new-data-centre rule for one data centre; `since_ms` is [`PolicyConfig::new_since_ms`].
pub fn policy_check(dc: &DataCentre, annualised: Option<f64>, policy: &PolicyConfig, since_ms: UnixMs) -> PolicyCheck {
    let commissioned = format_date(dc.commissioned_ms);
    let (outcome, reason) = if dc.commissioned_ms < since_ms {
        (PolicyOutcome::NotApplicable, format!("commissioned {commissioned}, before {}", policy.new_since))
    } else if dc.edge && !policy.include_edge {
        (PolicyOutcome::NotApplicable, "edge site: the rule covers data centres, not edge sites".to_owned())
    } else {
        match annualised.map(reported) {
            None => {
                (PolicyOutcome::Undecided, format!("commissioned {commissioned}, on or after {}: no annualised PUE yet", policy.new_since))
            }
            Some(p) if p < policy.pue_below => (
                PolicyOutcome::Pass,
                format!("commissioned {commissioned}, on or after {}: PUE {p:.2} is below {:.2}", policy.new_since, policy.pue_below),
            ),
            Some(p) => (
                PolicyOutcome::Fail,
                format!("commissioned {commissioned}, on or after {}: PUE {p:.2} is not below {:.2}", policy.new_since, policy.pue_below),
            ),
        }
    };
    PolicyCheck { outcome, reason }
}
