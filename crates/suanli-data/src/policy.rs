//! Policies as data: what each kind of identifier becomes for a catalogue grade (GB/T 43697) and an opening mode.

use crate::error::DataError;
use crate::kind::Kind;
use crate::ops::Operator;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A data set's grade under GB/T 43697-2024. General data has configurable sub-levels, 1 (least
/// sensitive) to 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    Core,
    Important,
    General { level: u8 },
}

impl Grade {
    /// `core`, `important`, `general` (level 1) or `general-1` … `general-4`.
    pub fn parse(s: &str) -> Result<Grade, DataError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "core" | "核心" => Ok(Grade::Core),
            "important" | "重要" => Ok(Grade::Important),
            "general" | "一般" => Ok(Grade::General { level: 1 }),
            other => match other.strip_prefix("general-").and_then(|l| l.parse::<u8>().ok()) {
                Some(level @ 1..=4) => Ok(Grade::General { level }),
                _ => Err(DataError::InvalidPolicy(format!("'{s}' is not a grade: use core, important, general or general-1 to general-4"))),
            },
        }
    }

    pub fn label(self) -> String {
        match self {
            Grade::Core => "core".into(),
            Grade::Important => "important".into(),
            Grade::General { level } => format!("general-{level}"),
        }
    }
}

/// How public data is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpeningMode {
    /// Anyone may download it: no consumer key, so no pseudonyms.
    Unconditional,
    /// Delivered to an approved consumer under an agreement: pseudonyms keyed per consumer.
    Conditional,
    NotOpen,
}

impl OpeningMode {
    pub fn parse(s: &str) -> Result<OpeningMode, DataError> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "unconditional" | "无条件开放" => Ok(OpeningMode::Unconditional),
            "conditional" | "有条件开放" => Ok(OpeningMode::Conditional),
            "not-open" | "不予开放" => Ok(OpeningMode::NotOpen),
            _ => Err(DataError::InvalidPolicy(format!("'{s}' is not an opening mode: use unconditional, conditional or not-open"))),
        }
    }
}

/// What a delivery does to each kind, and the k-anonymity it must reach over its quasi-identifiers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub grade: Grade,
    pub mode: OpeningMode,
    pub actions: BTreeMap<Kind, Operator>,
    /// The k every equivalence class over the quasi-identifiers must reach (None: no k-anonymity step).
    pub k: Option<usize>,
    /// At most this share of rows may be suppressed to reach k (the rest is done by generalising).
    pub max_suppressed_share: f64,
}

/// Strictness tiers of the built-in table: general-1, general-2, and general-3/4 with important.
#[derive(Clone, Copy)]
enum Tier {
    Low,
    Mid,
    High,
}

/// The built-in action for a kind: (conditional, unconditional) per tier.
fn builtin(kind: Kind, tier: Tier) -> (Operator, Operator) {
    use Operator::*;
    match (kind, tier) {
        (Kind::ResidentId, Tier::Low) => (Pseudonym, Mask),
        (Kind::ResidentId, Tier::Mid) => (Pseudonym, Redact),
        (Kind::Name, Tier::Low | Tier::Mid) => (Pseudonym, Mask),
        (Kind::ResidentId | Kind::Name, Tier::High) => (Pseudonym, Suppress),
        (Kind::BankCard | Kind::Passport, Tier::Low) => (Mask, Mask),
        (Kind::BankCard | Kind::Passport, Tier::Mid) => (Redact, Redact),
        (Kind::Mobile | Kind::Landline | Kind::Email | Kind::Plate, Tier::Low | Tier::Mid) => (Mask, Mask),
        (Kind::Ipv4 | Kind::Ipv6 | Kind::Address, Tier::Low | Tier::Mid) => (Generalise, Generalise),
        (Kind::Uscc, Tier::Low | Tier::Mid) => (Keep, Keep),
        (Kind::Uscc, Tier::High) => (Pseudonym, Mask),
        (Kind::Age, Tier::Low) => (Keep, Keep),
        (Kind::BirthDate | Kind::Age, _) => (Generalise, Generalise),
        (Kind::Gender, _) => (Keep, Keep),
        (_, Tier::High) => (Suppress, Suppress),
    }
}

impl Policy {
    /// The built-in policy for a grade and mode. Core data and data not open are never delivered;
    /// important data only conditionally.
    pub fn for_grade(grade: Grade, mode: OpeningMode) -> Result<Policy, DataError> {
        let tier = match (grade, mode) {
            (Grade::Core, _) => return Err(DataError::NotDeliverable("core data (核心数据) is never delivered".into())),
            (_, OpeningMode::NotOpen) => return Err(DataError::NotDeliverable("this data set is not open (不予开放)".into())),
            (Grade::Important, OpeningMode::Unconditional) => {
                return Err(DataError::NotDeliverable(
                    "important data (重要数据) is opened only conditionally, to an approved consumer".into(),
                ));
            }
            (Grade::Important, _) | (Grade::General { level: 3.. }, _) => Tier::High,
            (Grade::General { level: 2 }, _) => Tier::Mid,
            (Grade::General { .. }, _) => Tier::Low,
        };
        let actions = Kind::ALL
            .iter()
            .map(|&k| {
                let (cond, uncond) = builtin(k, tier);
                (k, if mode == OpeningMode::Conditional { cond } else { uncond })
            })
            .collect();
        let k = match grade {
            Grade::Important => Some(10),
            Grade::General { level: 3.. } => Some(5),
            _ => None,
        };
        Ok(Policy { grade, mode, actions, k, max_suppressed_share: 0.05 })
    }

    /// The operator for a kind (suppress when the policy does not name it: nothing passes unexamined).
    pub fn action(&self, kind: Kind) -> Operator {
        self.actions.get(&kind).copied().unwrap_or(Operator::Suppress)
    }

    /// Refuses a policy that would deliver a person's identifier as it is, pseudonyms without a
    /// consumer, or a grade that is never delivered.
    pub fn validate(&self, has_key: bool) -> Result<(), DataError> {
        Policy::for_grade(self.grade, self.mode)?;
        for (&kind, &op) in &self.actions {
            if op == Operator::Keep && kind.is_direct() && kind != Kind::Uscc {
                return Err(DataError::InvalidPolicy(format!("{kind} identifies a person and may not be kept as it is")));
            }
            if op == Operator::Pseudonym && (self.mode != OpeningMode::Conditional || !has_key) {
                return Err(DataError::InvalidPolicy(format!(
                    "{kind} is pseudonymised, which needs conditional opening and the consumer's key"
                )));
            }
        }
        if !(0.0..=1.0).contains(&self.max_suppressed_share) || self.k == Some(0) {
            return Err(DataError::InvalidPolicy("k must be at least 1 and the suppressed share between 0 and 1".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades_and_modes() {
        use OpeningMode::*;
        let refused = [(Grade::Core, Conditional), (Grade::General { level: 1 }, NotOpen), (Grade::Important, Unconditional)];
        for (g, m) in refused {
            assert_eq!(Policy::for_grade(g, m).unwrap_err().code(), "not_deliverable", "{g:?} {m:?}");
        }
        let cases = [
            ("general", Unconditional, Kind::ResidentId, Operator::Mask, None),
            ("general", Conditional, Kind::ResidentId, Operator::Pseudonym, None),
            ("general-2", Unconditional, Kind::BankCard, Operator::Redact, None),
            ("general-4", Unconditional, Kind::Mobile, Operator::Suppress, Some(5)),
            ("important", Conditional, Kind::Name, Operator::Pseudonym, Some(10)),
            ("important", Conditional, Kind::Address, Operator::Suppress, Some(10)),
            ("general", Unconditional, Kind::Uscc, Operator::Keep, None),
        ];
        for (grade, mode, kind, op, k) in cases {
            let p = Policy::for_grade(Grade::parse(grade).unwrap(), mode).unwrap();
            assert_eq!((p.action(kind), p.k), (op, k), "{grade} {mode:?} {kind}");
            p.validate(mode == Conditional).unwrap();
        }
        assert!(Grade::parse("general-5").is_err());
    }

    #[test]
    fn invalid_policies_are_refused() {
        let mut p = Policy::for_grade(Grade::General { level: 1 }, OpeningMode::Unconditional).unwrap();
        p.actions.insert(Kind::Mobile, Operator::Keep);
        assert!(p.validate(false).unwrap_err().to_string().contains("mobile"));
        let p = Policy::for_grade(Grade::General { level: 1 }, OpeningMode::Conditional).unwrap();
        assert_eq!(p.validate(false).unwrap_err().code(), "invalid_policy");
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Policy>(&json).unwrap(), p);
    }
}
