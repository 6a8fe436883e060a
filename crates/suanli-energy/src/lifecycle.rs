//! Lifecycle evaluation (全生命周期评价): a 0-100 score per data centre, a keep / retrofit / merge / retire recommendation with reasons, and the ranking.
//!
//! # Score
//!
//! Five components, each from 0 (worst) to 1 (best), weighted (defaults in brackets):
//!
//! | component | 1 when | 0 when | weight |
//! |---|---|---|---|
//! | annualised PUE | at or below `pue_best` (1.20) | at or above `pue_worst` (2.00), or unknown | 0.40 |
//! | utilisation (from the scheduler) | at or above `utilisation_target` (0.70) | 0 | 0.25 |
//! | age | new | `design_life_years` (15) or older | 0.15 |
//! | data quality | all readings accepted and the year fully measured | none | 0.10 |
//! | on-site renewable share | at or above `renewable_target` (0.20) | 0, or not metered | 0.10 |
//!
//! Between the ends each component is linear. Data quality = accepted / (accepted + rejected)
//! readings × the lower of facility and IT completeness over the annualised window. An unknown
//! utilisation (the data centre is not scheduled by the platform) is left out and the other
//! weights rescaled; an unknown PUE scores 0, because a monitored data centre without a year
//! of usable data is itself a finding. Score = 100 × Σ weight × component / Σ weight.
//!
//! # Recommendation
//!
//! The first rule that holds decides:
//!
//! 1. **Retire**: score below `retire_below_score` (35) and at least `retire_min_age_years` (10)
//!    old: inefficient and near the end of its life.
//! 2. **Merge**: utilisation known and below `merge_below_utilisation` (0.30), and a named
//!    destination nearby with better PUE and the spare capacity for its load (the rule and its
//!    order are in [`crate::merge`]; the best-ranked data centre never merges). Without a
//!    destination the low utilisation stays a reason (`no_merge_destination`) and the next rule
//!    decides.
//! 3. **Retrofit**: annualised PUE above `retrofit_above_pue` (1.30, the grade 2 bound and the
//!    national target for new large data centres).
//! 4. **Keep** otherwise.
//!
//! Every finding is listed as a reason with a stable code, whichever rule decided:
//! `low_score`, `old`, `pue_fails_gb40879` (above the grade 3 limit), `pue_above_target`,
//! `pue_unknown`, `low_utilisation`, `no_merge_destination`, `utilisation_unknown`,
//! `poor_data_quality` (below 0.80),
//! `air_cooled` (advice with a retrofit), and `efficient` when a kept data centre has no other.
//!
//! # Ranking
//!
//! Best score first; ties by data centre id. Ranks start at 1.

use crate::book::EnergyBook;
use crate::error::EnergyError;
use crate::grade::{GradeThresholds, Grading, PolicyCheck, PolicyOutcome, grade, policy_check, reported};
use crate::merge::{self, Candidate, Load};
use crate::meter::Channel;
use crate::meter::Cooling;
use crate::pue::Kpis;
use crate::pue::YEAR_BUCKETS;
use crate::series::{BUCKET_MS, bucket_of};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use suanli_core::id::CentreId;
use suanli_core::time::UnixMs;

/// Component weights; they need not sum to 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Weights {
    pub pue: f64,
    pub utilisation: f64,
    pub age: f64,
    pub data_quality: f64,
    pub renewable: f64,
}

impl Default for Weights {
    fn default() -> Weights {
        Weights { pue: 0.40, utilisation: 0.25, age: 0.15, data_quality: 0.10, renewable: 0.10 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LifecycleConfig {
    pub weights: Weights,
    pub pue_best: f64,
    pub pue_worst: f64,
    pub utilisation_target: f64,
    pub design_life_years: f64,
    pub renewable_target: f64,
    pub retire_below_score: f64,
    pub retire_min_age_years: f64,
    pub merge_below_utilisation: f64,
    pub retrofit_above_pue: f64,
    pub poor_data_quality_below: f64,
}

impl Default for LifecycleConfig {
    fn default() -> LifecycleConfig {
        LifecycleConfig {
            weights: Weights::default(),
            pue_best: 1.20,
            pue_worst: 2.00,
            utilisation_target: 0.70,
            design_life_years: 15.0,
            renewable_target: 0.20,
            retire_below_score: 35.0,
            retire_min_age_years: 10.0,
            merge_below_utilisation: 0.30,
            retrofit_above_pue: 1.30,
            poor_data_quality_below: 0.80,
        }
    }
}

impl LifecycleConfig {
    pub fn validate(&self) -> Result<(), EnergyError> {
        let w = &self.weights;
        let weights = [w.pue, w.utilisation, w.age, w.data_quality, w.renewable];
        if weights.iter().any(|x| !x.is_finite() || *x < 0.0) || weights.iter().sum::<f64>() <= 0.0 {
            return Err(EnergyError::config("lifecycle weights must be non-negative with a positive sum"));
        }
        let positive = [self.utilisation_target, self.design_life_years, self.renewable_target];
        if !(self.pue_best >= 1.0 && self.pue_worst > self.pue_best) || positive.iter().any(|x| !(x.is_finite() && *x > 0.0)) {
            return Err(EnergyError::config(
                "lifecycle: pue_best must be at least 1 and below pue_worst; utilisation_target, design_life_years and renewable_target positive",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    Keep,
    Retrofit,
    Merge,
    Retire,
}

/// One finding behind a recommendation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Reason {
    /// Stable snake_case code.
    pub code: String,
    /// The finding in plain English, with its figures.
    pub message: String,
}

fn reason(code: &str, message: String) -> Reason {
    Reason { code: code.to_owned(), message }
}

/// What lifecycle evaluation needs of one data centre.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LifecycleInput {
    pub annualised_pue: Option<f64>,
    /// 0 to 1, from the scheduler; `None` when the platform does not schedule this centre.
    pub utilisation: Option<f64>,
    pub age_years: f64,
    /// 0 to 1 (see the module docs).
    pub data_quality: f64,
    /// 0 to 1; `None` when no renewable generation is metered (scored as 0).
    pub renewable_share: Option<f64>,
    pub cooling: Cooling,
    /// Where its load could go, decided by [`crate::merge::plan`]; `None` when nowhere.
    #[serde(default)]
    pub merge_into: Option<CentreId>,
}

/// Each component's 0..1 value; `None` when left out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Components {
    pub pue: f64,
    pub utilisation: Option<f64>,
    pub age: f64,
    pub data_quality: f64,
    pub renewable: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Lifecycle {
    /// 0 to 100, one decimal.
    pub score: f64,
    pub components: Components,
    pub recommendation: Recommendation,
    /// The destination of a merge: a data centre nearby with better PUE and spare capacity.
    pub merge_into: Option<CentreId>,
    pub reasons: Vec<Reason>,
}

fn linear(x: f64, zero_at: f64, one_at: f64) -> f64 {
    ((x - zero_at) / (one_at - zero_at)).clamp(0.0, 1.0)
}

/// Scores one data centre and recommends what to do with it.
pub fn assess(input: &LifecycleInput, cfg: &LifecycleConfig, grades: &GradeThresholds) -> Lifecycle {
    let components = components(input, cfg);
    let score = score(&components, &cfg.weights);

    let pue = input.annualised_pue.map(reported);
    let retire = score < cfg.retire_below_score && input.age_years >= cfg.retire_min_age_years;
    let low_utilisation = input.utilisation.is_some_and(|u| u < cfg.merge_below_utilisation);
    let merge = low_utilisation && input.merge_into.is_some();
    let retrofit = pue.is_some_and(|p| p > cfg.retrofit_above_pue);
    let recommendation = if retire {
        Recommendation::Retire
    } else if merge {
        Recommendation::Merge
    } else if retrofit {
        Recommendation::Retrofit
    } else {
        Recommendation::Keep
    };

    let mut reasons = Vec::new();
    if score < cfg.retire_below_score {
        reasons.push(reason("low_score", format!("lifecycle score {score:.1} is below {:.0}", cfg.retire_below_score)));
    }
    if input.age_years >= cfg.retire_min_age_years {
        reasons.push(reason("old", format!("{:.1} years in service, {:.0} or more", input.age_years, cfg.retire_min_age_years)));
    }
    reasons.extend(pue_reason(pue, cfg, grades));
    reasons.extend(utilisation_reasons(input, cfg, retire));
    if input.data_quality < cfg.poor_data_quality_below {
        reasons.push(reason(
            "poor_data_quality",
            format!("data quality {:.0}% is below {:.0}%", input.data_quality * 100.0, cfg.poor_data_quality_below * 100.0),
        ));
    }
    if recommendation == Recommendation::Retrofit && input.cooling == Cooling::Air {
        reasons.push(reason("air_cooled", "air-cooled: free cooling or liquid cooling is the usual retrofit".into()));
    }
    if let Some(p) = pue
        && recommendation == Recommendation::Keep
        && reasons.iter().all(|r| r.code == "utilisation_unknown")
    {
        reasons.insert(
            0,
            reason("efficient", format!("annualised PUE {p:.2} is at or below {:.2}; score {score:.1}", cfg.retrofit_above_pue)),
        );
    }
    let merge_into = if merge { input.merge_into.clone() } else { None };
    Lifecycle { score, components, recommendation, merge_into, reasons }
}

/// Each part of the score, from 0 (worst) to 1 (best); utilisation only when it is known.
fn components(input: &LifecycleInput, cfg: &LifecycleConfig) -> Components {
    Components {
        pue: input.annualised_pue.map_or(0.0, |p| linear(p, cfg.pue_worst, cfg.pue_best)),
        utilisation: input.utilisation.map(|u| linear(u, 0.0, cfg.utilisation_target)),
        age: linear(input.age_years, cfg.design_life_years, 0.0),
        data_quality: input.data_quality.clamp(0.0, 1.0),
        renewable: linear(input.renewable_share.unwrap_or(0.0), 0.0, cfg.renewable_target),
    }
}

/// The lifecycle score out of 100, to one decimal: the components' weighted mean, over the
/// weights of the components known.
fn score(components: &Components, w: &Weights) -> f64 {
    let mut parts = vec![
        (w.pue, components.pue),
        (w.age, components.age),
        (w.data_quality, components.data_quality),
        (w.renewable, components.renewable),
    ];
    if let Some(u) = components.utilisation {
        parts.push((w.utilisation, u));
    }
    let total: f64 = parts.iter().map(|(w, _)| w).sum();
    let raw = if total > 0.0 { 100.0 * parts.iter().map(|(w, c)| w * c).sum::<f64>() / total } else { 0.0 };
    (raw * 10.0).round() / 10.0
}

/// What the annualised PUE (as reported) says against GB 40879 and the retrofit target, if
/// anything.
fn pue_reason(pue: Option<f64>, cfg: &LifecycleConfig, grades: &GradeThresholds) -> Option<Reason> {
    match pue {
        None => Some(reason("pue_unknown", "no annualised PUE: less than a year of sufficiently complete data".into())),
        Some(p) if p > grades.grade3 => {
            Some(reason("pue_fails_gb40879", format!("annualised PUE {p:.2} is above the GB 40879 limit value {:.2}", grades.grade3)))
        }
        Some(p) if p > cfg.retrofit_above_pue => {
            Some(reason("pue_above_target", format!("annualised PUE {p:.2} is above {:.2}", cfg.retrofit_above_pue)))
        }
        Some(_) => None,
    }
}

/// What utilisation says: unknown, or low with where its load could go (nowhere said only
/// when the centre is not to be retired anyway).
fn utilisation_reasons(input: &LifecycleInput, cfg: &LifecycleConfig, retire: bool) -> Vec<Reason> {
    match input.utilisation {
        None => vec![reason("utilisation_unknown", "utilisation is not known to the platform; left out of the score".into())],
        Some(u) if u < cfg.merge_below_utilisation => {
            let low = format!("utilisation {:.0}% is below {:.0}%", u * 100.0, cfg.merge_below_utilisation * 100.0);
            match &input.merge_into {
                Some(to) => vec![reason("low_utilisation", format!("{low}: its load fits in {to}"))],
                None if retire => vec![reason("low_utilisation", low)],
                None => vec![
                    reason("low_utilisation", low),
                    reason("no_merge_destination", "no data centre nearby with better PUE has spare capacity for its load".into()),
                ],
            }
        }
        Some(_) => Vec::new(),
    }
}

/// One data centre's evaluation: the figures a regulator reads together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Assessment {
    pub dc: CentreId,
    /// 1 = best score.
    pub rank: usize,
    /// KPIs over the annualised window.
    pub kpis: Kpis,
    pub grading: Grading,
    pub policy: PolicyCheck,
    pub lifecycle: Lifecycle,
}

/// Orders assessments best score first (ties by id) and numbers their ranks from 1.
pub fn rank(assessments: &mut [Assessment]) {
    assessments.sort_by(|a, b| b.lifecycle.score.total_cmp(&a.lifecycle.score).then_with(|| a.dc.cmp(&b.dc)));
    for (i, a) in assessments.iter_mut().enumerate() {
        a.rank = i + 1;
    }
}

impl EnergyBook {
    /// Evaluates every data centre at `now_ms` over the annualised window: KPIs, GB 40879 grade,
    /// the new-data-centre rule and the lifecycle score, ranked best first. `loads` maps data
    /// centres to what the platform schedules there (utilisation, accelerators, area), for the
    /// score and the merge rule; missing ones are unknown.
    pub fn evaluate(&self, now_ms: UnixMs, loads: &BTreeMap<CentreId, Load>) -> Vec<Assessment> {
        let c = &self.config;
        let firsts: Vec<(Assessment, LifecycleInput)> =
            self.in_order().into_iter().map(|(id, state)| self.assess_state(id, state, now_ms, loads.get(id))).collect();
        let candidates: Vec<Candidate<'_>> = firsts
            .iter()
            .map(|(a, input)| Candidate {
                dc: &a.dc,
                pue: input.annualised_pue,
                score: a.lifecycle.score,
                retiring: a.lifecycle.recommendation == Recommendation::Retire,
                load: loads.get(&a.dc),
            })
            .collect();
        let plan = merge::plan(&candidates, &c.lifecycle);
        let mut out: Vec<Assessment> = firsts
            .into_iter()
            .map(|(mut a, mut input)| {
                if let Some(to) = plan.get(&a.dc) {
                    input.merge_into = Some(to.clone());
                    a.lifecycle = assess(&input, &c.lifecycle, &c.grades);
                }
                a
            })
            .collect();
        rank(&mut out);
        out
    }

    /// As [`EnergyBook::evaluate`] for one data centre (ranked among all, since where an
    /// under-used one could merge depends on the others); `None` for an unknown one.
    pub fn evaluate_one(&self, dc: &CentreId, now_ms: UnixMs, loads: &BTreeMap<CentreId, Load>) -> Option<Assessment> {
        self.centres.get(dc)?;
        self.evaluate(now_ms, loads).into_iter().find(|a| &a.dc == dc)
    }

    /// The new-data-centre rule for every data centre at `now_ms`, on its annualised PUE: the
    /// one definition behind every "over the PUE limit" figure (the evaluation's `policy` is the
    /// same check). Those failing it, by id, with their annualised PUE as reported.
    pub fn over_new_dc_limit(&self, now_ms: UnixMs) -> Vec<(CentreId, f64)> {
        let end = bucket_of(now_ms);
        self.in_order()
            .into_iter()
            .filter_map(|(id, state)| {
                let pue = state.pue_buckets(end - YEAR_BUCKETS, end, self.config.min_completeness).value;
                let check = policy_check(&state.dc, pue, &self.config.policy, self.policy_since_ms);
                (check.outcome == PolicyOutcome::Fail).then(|| (id.clone(), pue.map_or(0.0, reported)))
            })
            .collect()
    }

    /// The new data centres' PUE over `[from_ms, to_ms)` (an interim PUE, such as a month's),
    /// judged by the rule of [`EnergyBook::over_new_dc_limit`] (`policy_check`) on that window:
    /// each data centre the rule covers and that has a value there, with its PUE as reported and
    /// whether it is at or over the limit. By id.
    pub fn new_dc_pue_in(&self, from_ms: UnixMs, to_ms: UnixMs) -> Vec<(CentreId, f64, bool)> {
        let (b0, b1) = (bucket_of(from_ms), bucket_of(to_ms));
        self.in_order()
            .into_iter()
            .filter_map(|(id, state)| {
                let pue = state.pue_buckets(b0, b1, self.config.min_completeness).value?;
                match policy_check(&state.dc, Some(pue), &self.config.policy, self.policy_since_ms).outcome {
                    PolicyOutcome::Pass => Some((id.clone(), reported(pue), false)),
                    PolicyOutcome::Fail => Some((id.clone(), reported(pue), true)),
                    PolicyOutcome::NotApplicable | PolicyOutcome::Undecided => None,
                }
            })
            .collect()
    }

    fn assess_state(
        &self,
        id: &CentreId,
        state: &crate::book::CentreState,
        now_ms: UnixMs,
        load: Option<&Load>,
    ) -> (Assessment, LifecycleInput) {
        let c = &self.config;
        let end = bucket_of(now_ms);
        let (b0, b1) = (end - YEAR_BUCKETS, end);
        let kpis = self.kpis_buckets(state, b0, b1);
        let pue = kpis.pue.value;
        let (accepted, rejected) = state.meters.values().fold((0u64, 0u64), |(a, r), m| (a + m.accepted, r + m.rejected));
        let acceptance = if accepted + rejected == 0 { 0.0 } else { accepted as f64 / (accepted + rejected) as f64 };
        let (from_ms, to_ms) = (b0 * BUCKET_MS, b1 * BUCKET_MS);
        let completeness = state.completeness(Channel::Facility, from_ms, to_ms).min(state.completeness(Channel::It, from_ms, to_ms));
        let input = LifecycleInput {
            annualised_pue: pue,
            utilisation: load.map(|l| l.utilisation.clamp(0.0, 1.0)),
            age_years: state.dc.age_years(now_ms),
            data_quality: acceptance * completeness,
            renewable_share: kpis.renewable_share,
            cooling: state.dc.cooling,
            merge_into: None,
        };
        let a = Assessment {
            dc: id.clone(),
            rank: 0,
            grading: grade(&state.dc, pue, &c.grades),
            policy: policy_check(&state.dc, pue, &c.policy, self.policy_since_ms),
            lifecycle: assess(&input, &c.lifecycle, &c.grades),
            kpis,
        };
        (a, input)
    }
}
