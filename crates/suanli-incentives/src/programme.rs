//! A programme as the operator defines it (the policy's own are seeded): eligibility rules over an applicant's registered facts, the award's ratio and caps, the quota, required evidence, review criteria, the city's share, and the window it accepts applications in.

use serde::{Deserialize, Serialize};
use suanli_core::error::{Error, ErrorCode};
use suanli_core::money::Fen;
use suanli_core::time::{UnixMs, days_from_civil};

/// What a programme rewards (the policy's instruments; `Other` for another policy of the city).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProgrammeKind {
    GeneralModel,
    SpecialModel,
    Demonstration,
    Park,
    Recognition,
    ServicePlatform,
    DataSupplier,
    DataPurchase,
    Other,
}

/// A condition an applicant must meet, judged against its [`Facts`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = EligibilityRule))]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum Rule {
    /// Registered in the city: the credit code's division code starts with this ("3301").
    Division { prefix: String },
    /// A small or medium enterprise.
    Sme,
    /// A model of at least this many billion parameters.
    MinParametersB { billions: f64 },
    /// A third-party evaluation ranks the model at most this (1 = first) nationally.
    EvaluationRankAtMost { rank: u32 },
    /// The platform's ledger shows at least this yearly service volume.
    MinYearlyVolume {
        #[cfg_attr(feature = "openapi", schema(value_type = i64))]
        amount: Fen,
    },
    /// Among the year's top suppliers by data-service volume.
    SupplierRankAtMost { rank: u32 },
    /// Recognised for the first time with this title (单项冠军, 专精特新"小巨人", 隐形冠军 …).
    FirstRecognition { title: String },
    /// An excellent performance evaluation (parks).
    ExcellentEvaluation,
}

/// What the platform knows of an applicant and its project when it applies. Volumes and ranks
/// come from the platform's own ledger; the rest from registered records and evidence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ApplicantFacts))]
pub struct Facts {
    pub division_code: String,
    pub sme: bool,
    #[serde(default)]
    pub parameters_b: Option<f64>,
    #[serde(default)]
    pub evaluation_rank: Option<u32>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub yearly_volume: Option<Fen>,
    #[serde(default)]
    pub supplier_rank: Option<u32>,
    /// The completed calendar year (年度) `yearly_volume` and `supplier_rank` count, set by the
    /// platform from what the application declares (the previous year unless it says otherwise).
    #[serde(default)]
    pub volume_year: Option<i32>,
    #[serde(default)]
    pub first_recognitions: Vec<String>,
    #[serde(default)]
    pub excellent_evaluation: bool,
}

/// A document an applicant uploads: stored by its SHA-256, so it can never be altered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = EvidenceDocument))]
pub struct Evidence {
    /// What it is, as the programme names it (`evaluation_report`, `rd_cost_audit` …).
    pub kind: String,
    pub name: String,
    pub sha256: String,
    pub bytes: u64,
}

/// A review criterion and its weight (weights of a programme add up to 100).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = ReviewCriterion))]
pub struct Criterion {
    pub key: String,
    pub title: String,
    pub weight: u32,
}

/// A programme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ProgrammeSpec {
    /// Lowercase letters, digits and `-`; unique.
    pub code: String,
    pub title: String,
    #[serde(default)]
    pub title_en: String,
    /// The policy it belongs to (杭政办函〔2023〕55号); arbitration spans policies.
    pub policy: String,
    pub kind: ProgrammeKind,
    pub rules: Vec<Rule>,
    /// Share of the eligible cost paid, in percent; None pays `cap_per_award` outright.
    #[serde(default)]
    pub ratio_pct: Option<u8>,
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub cap_per_award: Fen,
    /// The most the programme pays in a year.
    #[cfg_attr(feature = "openapi", schema(value_type = i64))]
    pub budget_per_year: Fen,
    /// The most awards a year (None: as many as the budget allows).
    #[serde(default)]
    pub quota_per_year: Option<u32>,
    /// Evidence every application must carry, by kind.
    pub evidence: Vec<String>,
    pub criteria: Vec<Criterion>,
    /// Reviews an application needs before it is ranked.
    pub min_reviews: u32,
    /// The city's share of each award, in percent; the applicant's district pays the rest
    /// ("按财政体制").
    pub city_share_pct: u8,
    /// Working days of publicity (公示) before a decision.
    pub publicity_days: u32,
    /// Applications are accepted from … until (unix ms, China Standard Time days).
    pub open_from_ms: UnixMs,
    pub open_until_ms: UnixMs,
}

fn bad(why: impl Into<String>) -> Error {
    Error::new(ErrorCode::InvalidProgramme, why)
}

impl ProgrammeSpec {
    pub fn validate(&self) -> Result<(), Error> {
        let c = &self.code;
        if !(2..=64).contains(&c.len()) || !c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(bad("the code must be 2-64 lowercase letters, digits or '-'"));
        }
        if self.title.trim().is_empty() || self.policy.trim().is_empty() {
            return Err(bad("a programme needs a title and the policy it belongs to"));
        }
        if self.ratio_pct.is_some_and(|r| r == 0 || r > 100) || self.city_share_pct > 100 {
            return Err(bad("ratios are percentages: the award's 1-100, the city's share 0-100"));
        }
        if !self.cap_per_award.is_positive() || self.budget_per_year < self.cap_per_award {
            return Err(bad("the cap per award must be positive and within the yearly budget"));
        }
        if self.criteria.is_empty() || self.criteria.iter().map(|c| c.weight).sum::<u32>() != 100 {
            return Err(bad("review criteria are needed, their weights adding up to 100"));
        }
        if self.min_reviews == 0 || self.publicity_days == 0 || self.publicity_days > 30 {
            return Err(bad("at least one review, and 1-30 working days of publicity"));
        }
        if self.open_until_ms <= self.open_from_ms {
            return Err(bad("the window must end after it opens"));
        }
        Ok(())
    }

    /// Why the applicant is not eligible, or nothing.
    pub fn check_eligible(&self, f: &Facts) -> Result<(), Error> {
        let no = |why: String| Err(Error::new(ErrorCode::NotEligible, why));
        for r in &self.rules {
            match r {
                Rule::Division { prefix } if !f.division_code.starts_with(prefix.as_str()) => {
                    return no(format!("the applicant is registered in division {}, not {prefix}…", f.division_code));
                }
                Rule::Sme if !f.sme => return no("the programme is for small and medium enterprises".into()),
                Rule::MinParametersB { billions } if f.parameters_b.unwrap_or(0.0) < *billions => {
                    return no(format!(
                        "the model has {} billion parameters; the programme asks at least {billions}",
                        f.parameters_b.unwrap_or(0.0)
                    ));
                }
                Rule::EvaluationRankAtMost { rank } if f.evaluation_rank.is_none_or(|x| x > *rank) => {
                    return no(format!("a third-party evaluation must rank the model within the top {rank}"));
                }
                Rule::MinYearlyVolume { amount } if f.yearly_volume.unwrap_or(Fen::ZERO) < *amount => {
                    return no(format!(
                        "the yearly service volume{} is {}; the programme asks at least {amount}",
                        in_year(f),
                        f.yearly_volume.unwrap_or(Fen::ZERO)
                    ));
                }
                Rule::SupplierRankAtMost { rank } if f.supplier_rank.is_none_or(|x| x > *rank) => {
                    return no(format!(
                        "the supplier must rank within the year's top {rank} by data-service volume{}{}",
                        in_year(f),
                        f.supplier_rank.map_or(String::new(), |r| format!(" (it ranked {r})"))
                    ));
                }
                Rule::FirstRecognition { title } if !f.first_recognitions.contains(title) => {
                    return no(format!("the programme rewards a first recognition as {title}"));
                }
                Rule::ExcellentEvaluation if !f.excellent_evaluation => {
                    return no("the programme asks an excellent performance evaluation".into());
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Every required kind of evidence is present.
    pub fn check_evidence(&self, docs: &[Evidence]) -> Result<(), Error> {
        let missing: Vec<&str> = self.evidence.iter().filter(|k| !docs.iter().any(|d| &d.kind == *k)).map(String::as_str).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::new(ErrorCode::MissingEvidence, format!("the application lacks: {}", missing.join(", "))))
        }
    }

    /// The most an application may be awarded for an eligible cost: the ratio of it (or the
    /// fixed amount), within the cap per award.
    pub fn max_award(&self, cost: Fen) -> Fen {
        let by_ratio = match self.ratio_pct {
            Some(r) => Fen((cost.0.max(0) as i128 * r as i128 / 100) as i64),
            None => self.cap_per_award,
        };
        by_ratio.min(self.cap_per_award)
    }

    /// Refuses a request above what the rules allow for its cost.
    pub fn check_request(&self, cost: Fen, requested: Fen) -> Result<(), Error> {
        if !requested.is_positive() {
            return Err(Error::new(ErrorCode::InvalidAmount, "the requested amount must be positive"));
        }
        let max = self.max_award(cost);
        if requested > max {
            return Err(Error::new(
                ErrorCode::CapExceeded,
                format!("{requested} asked; the programme pays at most {max} for an eligible cost of {cost}"),
            ));
        }
        Ok(())
    }

    pub fn is_open(&self, now: UnixMs) -> bool {
        (self.open_from_ms..self.open_until_ms).contains(&now)
    }

    /// The city's and the district's parts of an award (the city's rounded down).
    pub fn split(&self, award: Fen) -> (Fen, Fen) {
        let city = Fen((award.0 as i128 * self.city_share_pct as i128 / 100) as i64);
        (city, Fen(award.0 - city.0))
    }
}

/// Midnight China Standard Time of a civil date, in unix ms.
fn cst(y: i64, m: i64, d: i64) -> UnixMs {
    days_from_civil(y, m, d) * 86_400_000 - 8 * 3_600_000
}

fn criteria(items: &[(&str, &str, u32)]) -> Vec<Criterion> {
    items.iter().map(|(k, t, w)| Criterion { key: k.to_string(), title: t.to_string(), weight: *w }).collect()
}

/// The programmes of 杭政办函〔2023〕55号, open from 2023-08-25 until the policy ends (2026-12-31).
pub fn policy_programmes() -> Vec<ProgrammeSpec> {
    let policy = "杭政办函〔2023〕55号";
    let (from, until) = (cst(2023, 8, 25), cst(2027, 1, 1));
    let hz = || Rule::Division { prefix: "3301".into() };
    let tech = criteria(&[("innovation", "技术创新性", 40), ("application", "应用成效", 30), ("team", "团队与投入", 30)]);
    let base = |code: &str,
                title: &str,
                title_en: &str,
                kind: ProgrammeKind,
                rules: Vec<Rule>,
                ratio: Option<u8>,
                cap: i64,
                quota: Option<u32>,
                evidence: &[&str]| ProgrammeSpec {
        code: code.into(),
        title: title.into(),
        title_en: title_en.into(),
        policy: policy.into(),
        kind,
        rules,
        ratio_pct: ratio,
        cap_per_award: Fen(cap * 100),
        budget_per_year: Fen(cap * 100 * quota.unwrap_or(10) as i64),
        quota_per_year: quota,
        evidence: evidence.iter().map(|e| e.to_string()).collect(),
        criteria: tech.clone(),
        min_reviews: 3,
        city_share_pct: 50,
        publicity_days: 5,
        open_from_ms: from,
        open_until_ms: until,
    };
    vec![
        base(
            "hz55-general-model",
            "通用大模型训练补贴",
            "General large-model training subsidy",
            ProgrammeKind::GeneralModel,
            vec![hz(), Rule::MinParametersB { billions: 100.0 }, Rule::EvaluationRankAtMost { rank: 10 }],
            None,
            50_000_000,
            Some(2),
            &["evaluation_report", "compute_contract"],
        ),
        base(
            "hz55-special-model",
            "专用模型研发补助",
            "Special model R&D subsidy",
            ProgrammeKind::SpecialModel,
            vec![hz()],
            Some(30),
            5_000_000,
            Some(10),
            &["rd_cost_audit", "model_evaluation"],
        ),
        base(
            "hz55-demonstration",
            "标杆示范项目",
            "Benchmark demonstration projects",
            ProgrammeKind::Demonstration,
            vec![hz()],
            Some(30),
            5_000_000,
            Some(10),
            &["investment_audit", "acceptance_report"],
        ),
        base(
            "hz55-park",
            "人工智能产业园区运营补助",
            "AI industrial park operating subsidy",
            ProgrammeKind::Park,
            vec![hz(), Rule::ExcellentEvaluation],
            None,
            2_000_000,
            None,
            &["performance_evaluation"],
        ),
        base(
            "hz55-champion",
            "首次认定单项冠军奖励",
            "First recognition: single-item champion",
            ProgrammeKind::Recognition,
            vec![hz(), Rule::FirstRecognition { title: "单项冠军".into() }],
            None,
            2_000_000,
            None,
            &["recognition_certificate"],
        ),
        base(
            "hz55-little-giant",
            "首次认定专精特新“小巨人”奖励",
            "First recognition: specialised 'little giant'",
            ProgrammeKind::Recognition,
            vec![hz(), Rule::FirstRecognition { title: "专精特新小巨人".into() }],
            None,
            1_000_000,
            None,
            &["recognition_certificate"],
        ),
        base(
            "hz55-hidden-champion",
            "首次认定隐形冠军奖励",
            "First recognition: hidden champion",
            ProgrammeKind::Recognition,
            vec![hz(), Rule::FirstRecognition { title: "隐形冠军".into() }],
            None,
            1_000_000,
            None,
            &["recognition_certificate"],
        ),
        base(
            "hz55-service-platform",
            "公共服务平台奖励",
            "Public service platform award",
            ProgrammeKind::ServicePlatform,
            vec![hz(), Rule::MinYearlyVolume { amount: Fen(2_000_000_000) }],
            None,
            2_000_000,
            None,
            &["service_report"],
        ),
        base(
            "hz55-data-supplier",
            "数据服务交易额前五奖励",
            "Top-five data-service suppliers award",
            ProgrammeKind::DataSupplier,
            vec![hz(), Rule::SupplierRankAtMost { rank: 5 }],
            None,
            1_000_000,
            Some(5),
            &["service_report"],
        ),
    ]
}

/// The calendar year (China Standard Time) `now` falls in.
pub fn year_of(now: UnixMs) -> i32 {
    suanli_core::time::civil_from_days((now + 8 * 3_600_000).div_euclid(86_400_000)).0 as i32
}

/// " in YEAR" when the facts say which year their volume counts.
fn in_year(f: &Facts) -> String {
    f.volume_year.map_or(String::new(), |y| format!(" in {y}"))
}

/// The completed calendar year (年度) whose volume and rank an application made at `now` is
/// judged on: the policy awards a year's transactions once the year is over, so the year so far
/// never counts. The previous year unless the application declares the one before it (a round
/// that runs late into the next year); any other year is refused with `invalid_volume_year`.
pub fn volume_year(declared: Option<i32>, now: UnixMs) -> Result<i32, Error> {
    let this = year_of(now);
    match declared {
        None => Ok(this - 1),
        Some(y) if (this - 2..this).contains(&y) => Ok(y),
        Some(y) => Err(Error::new(
            ErrorCode::InvalidVolumeYear,
            format!("{y} is not a completed year to be judged on: declare {} (the default) or {}", this - 1, this - 2),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts { division_code: "330106".into(), sme: true, ..Facts::default() }
    }

    #[test]
    fn the_policys_programmes_are_valid_and_open_until_the_policy_ends() {
        let all = policy_programmes();
        assert_eq!(all.len(), 9);
        for p in &all {
            p.validate().unwrap_or_else(|e| panic!("{}: {e}", p.code));
            assert!(p.is_open(cst(2026, 12, 31)) && !p.is_open(cst(2027, 1, 1)) && !p.is_open(cst(2023, 8, 24)), "{}", p.code);
        }
        let general = &all[0];
        assert_eq!(general.max_award(Fen(1)), Fen(5_000_000_000), "a fixed award up to ¥50M");
        let special = &all[1];
        assert_eq!(special.max_award(Fen(1_000_000_000)), Fen(300_000_000), "30% of ¥10M");
        assert_eq!(special.max_award(Fen(100_000_000_000)), Fen(500_000_000), "capped at ¥5M");
    }

    #[test]
    fn eligibility_is_judged_rule_by_rule_on_registered_facts() {
        let general = &policy_programmes()[0];
        let mut f = facts();
        assert!(general.check_eligible(&f).unwrap_err().message.contains("billion"));
        f.parameters_b = Some(130.0);
        assert!(general.check_eligible(&f).unwrap_err().message.contains("evaluation"));
        f.evaluation_rank = Some(3);
        assert!(general.check_eligible(&f).is_ok());
        f.division_code = "110105".into();
        assert_eq!(general.check_eligible(&f).unwrap_err().code, ErrorCode::NotEligible);
        let top5 = policy_programmes().into_iter().find(|p| p.kind == ProgrammeKind::DataSupplier).unwrap();
        let why = top5.check_eligible(&Facts { supplier_rank: Some(7), volume_year: Some(2025), ..facts() }).unwrap_err().message;
        assert!(why.contains("in 2025") && why.contains("ranked 7"), "{why}");
        assert!(top5.check_eligible(&Facts { supplier_rank: Some(6), ..facts() }).is_err());
        assert!(top5.check_eligible(&Facts { supplier_rank: Some(5), ..facts() }).is_ok());
    }

    #[test]
    fn evidence_requests_and_splits() {
        let special = &policy_programmes()[1];
        let doc = |k: &str| Evidence { kind: k.into(), name: "x.pdf".into(), sha256: "0".repeat(64), bytes: 1 };
        let e = special.check_evidence(&[doc("rd_cost_audit")]).unwrap_err();
        assert_eq!((e.code, e.message.contains("model_evaluation")), (ErrorCode::MissingEvidence, true));
        assert!(special.check_evidence(&[doc("rd_cost_audit"), doc("model_evaluation")]).is_ok());
        assert_eq!(special.check_request(Fen(1_000_000), Fen(300_001)).unwrap_err().code, ErrorCode::CapExceeded);
        assert!(special.check_request(Fen(1_000_000), Fen(300_000)).is_ok());
        assert_eq!(special.split(Fen(1_001)), (Fen(500), Fen(501)));
        let mut bad = special.clone();
        bad.criteria[0].weight = 10;
        assert_eq!(bad.validate().unwrap_err().code, ErrorCode::InvalidProgramme);
    }

    #[test]
    fn volume_counts_a_completed_year_the_previous_by_default() {
        // 2026-03-02 10:00 CST: the year so far never counts.
        let now = days_from_civil(2026, 3, 2) * 86_400_000 + 2 * 3_600_000;
        assert_eq!(volume_year(None, now), Ok(2025));
        assert_eq!(volume_year(Some(2024), now), Ok(2024));
        for y in [2026, 2027, 2023] {
            assert_eq!(volume_year(Some(y), now).unwrap_err().code, ErrorCode::InvalidVolumeYear, "{y}");
        }
        // 2026-01-01 00:30 CST is already 2026 (23 December UTC would not be).
        let new_year = days_from_civil(2026, 1, 1) * 86_400_000 - 8 * 3_600_000 + 30 * 60_000;
        assert_eq!(volume_year(None, new_year), Ok(2025));
        assert_eq!(volume_year(None, new_year - 3_600_000), Ok(2024));
    }
}
