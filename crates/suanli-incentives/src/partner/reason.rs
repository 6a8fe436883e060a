//! Why a centre's partner score falls short, typed: one variant per shortfall, each with a stable code and its English and Chinese text from one table.
//!
//! The English (`Display`) is the text the partner scores have always said; the Chinese (`zh`)
//! is what Chinese pages show. Both come from [`PartnerReason::forms`], in the form of
//! `suanli_core::reason`'s job reasons, so a reworded message cannot lose its translation.

use serde::{Deserialize, Serialize};
use std::fmt;
use suanli_core::reason::{Arg, Forms, fill, plain};

/// A shortfall of a centre against the partner criteria. Serialised as an object tagged by its
/// `code`, with its figures beside it (a PUE, a percentage 0-100, a score 0-100).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum PartnerReason {
    /// Its measured PUE is above the configured limit.
    PueAboveLimit { pue: f64, limit: f64 },
    /// Its energy is not metered on the platform, so it has no measured PUE.
    NoMeasuredPue,
    /// Of its runs, a larger percentage than allowed failed by the centre's fault.
    CentreFaultsAboveMax { share_pct: f64, max_pct: f64 },
    /// Its total score is below the admission score.
    TotalBelowAdmission { total: f64, min: f64 },
}

impl PartnerReason {
    /// The stable snake_case code (also the `code` of its JSON).
    pub fn code(&self) -> &'static str {
        match self {
            PartnerReason::PueAboveLimit { .. } => "pue_above_limit",
            PartnerReason::NoMeasuredPue => "no_measured_pue",
            PartnerReason::CentreFaultsAboveMax { .. } => "centre_faults_above_max",
            PartnerReason::TotalBelowAdmission { .. } => "total_below_admission",
        }
    }

    /// The one table of the partner reasons: English and Chinese side by side.
    pub fn forms(&self) -> Forms<'static> {
        use Arg::Fixed;
        let f = |en, zh, args| Forms { en, zh, args };
        match *self {
            PartnerReason::PueAboveLimit { pue, limit } => {
                f("measured PUE {0} is above the limit {1}", "实测 PUE {0} 高于限值 {1}", vec![Fixed(pue, 2), Fixed(limit, 2)])
            }
            PartnerReason::NoMeasuredPue => {
                f("no measured PUE: the centre's energy is not metered on the platform", "无实测 PUE：该中心的能耗未接入平台计量", vec![])
            }
            PartnerReason::CentreFaultsAboveMax { share_pct, max_pct } => f(
                "{0}% of its runs failed by the centre's fault (at most {1}%)",
                "{0}% 的运行因中心故障失败（上限 {1}%）",
                vec![Fixed(share_pct, 1), Fixed(max_pct, 1)],
            ),
            PartnerReason::TotalBelowAdmission { total, min } => {
                f("total {0} is below the admission score {1}", "总分 {0} 低于准入分 {1}", vec![Fixed(total, 1), Fixed(min, 1)])
            }
        }
    }

    /// The Chinese text.
    pub fn zh(&self) -> String {
        let forms = self.forms();
        fill(forms.zh, &forms.args, plain)
    }
}

impl fmt::Display for PartnerReason {
    /// The English text: what a partner score's `reasons` has always said.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let forms = self.forms();
        f.write_str(&fill(forms.en, &forms.args, plain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each variant with the English the partner scores have always written for it.
    fn examples() -> Vec<(PartnerReason, &'static str, &'static str)> {
        vec![
            (
                PartnerReason::PueAboveLimit { pue: 1.6, limit: 1.5 },
                "measured PUE 1.60 is above the limit 1.50",
                "实测 PUE 1.60 高于限值 1.50",
            ),
            (
                PartnerReason::NoMeasuredPue,
                "no measured PUE: the centre's energy is not metered on the platform",
                "无实测 PUE：该中心的能耗未接入平台计量",
            ),
            (
                PartnerReason::CentreFaultsAboveMax { share_pct: 8.0, max_pct: 5.0 },
                "8.0% of its runs failed by the centre's fault (at most 5.0%)",
                "8.0% 的运行因中心故障失败（上限 5.0%）",
            ),
            (
                PartnerReason::TotalBelowAdmission { total: 55.04, min: 60.0 },
                "total 55.0 is below the admission score 60.0",
                "总分 55.0 低于准入分 60.0",
            ),
        ]
    }

    /// Makes adding a variant without an example here a compile error (no wildcard arm).
    fn variant_index(r: &PartnerReason) -> usize {
        match r {
            PartnerReason::PueAboveLimit { .. } => 0,
            PartnerReason::NoMeasuredPue => 1,
            PartnerReason::CentreFaultsAboveMax { .. } => 2,
            PartnerReason::TotalBelowAdmission { .. } => 3,
        }
    }

    #[test]
    fn every_partner_reason_has_a_code_its_english_and_chinese() {
        let mut codes = std::collections::BTreeMap::new();
        for (reason, english, chinese) in examples() {
            let code = reason.code();
            assert!(!code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{code}");
            assert_eq!(codes.insert(code, variant_index(&reason)), None, "{code}: one example per variant, one code each");
            assert_eq!(reason.to_string(), english, "{code}: the English is the text clients have always read");
            assert_eq!(reason.zh(), chinese, "{code}");
            // The Chinese, its figures left out and the unit PUE allowed, has no Latin letters;
            // and it uses every figure the English uses.
            let forms = reason.forms();
            let bare_zh = fill(forms.zh, &forms.args, |_| String::new()).replace("PUE", "");
            assert!(!bare_zh.chars().any(|c| c.is_ascii_alphabetic()), "{code}: English in the Chinese: {bare_zh}");
            assert!(bare_zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{code}: {bare_zh}");
            for i in 0..forms.args.len() {
                let mark = format!("{{{i}}}");
                assert!(forms.en.contains(&mark) && forms.zh.contains(&mark), "{code}: {mark} in both forms");
            }
            // Pages put the forms into HTML as they are.
            assert!(!forms.en.contains(['&', '<', '>']) && !forms.zh.contains(['&', '<', '>']), "{code}");
        }
        assert_eq!(codes.len(), 4, "an example of every variant");
    }

    #[test]
    fn a_partner_reason_is_json_tagged_by_its_code_with_its_figures() {
        for (reason, _, _) in examples() {
            let json = serde_json::to_value(&reason).unwrap();
            assert_eq!(json["code"], reason.code());
            assert_eq!(serde_json::from_value::<PartnerReason>(json).unwrap(), reason);
        }
        let json = serde_json::to_value(PartnerReason::PueAboveLimit { pue: 1.6, limit: 1.5 }).unwrap();
        assert_eq!(json, serde_json::json!({"code": "pue_above_limit", "pue": 1.6, "limit": 1.5}));
    }
}
