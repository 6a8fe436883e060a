//! Compute-partner selection (算力伙伴遴选): each centre scored on the policy's four criteria — performance, security and control, green, price — and on the service the platform measured, with weights and thresholds as configuration; every shortfall is said in words.

use crate::certification::CertificationKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod history;
mod reason;
pub use history::{PartnerChange, status_at};
pub use reason::PartnerReason;

/// What the platform measured or registered of one centre.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = PartnerMeasures))]
pub struct Measures {
    pub centre_id: String,
    pub name: String,
    /// Dense FP16 peak of its pools, TFLOPS.
    pub fp16_tflops: f64,
    /// Share of that compute on high-performance classes (intelligent, supercomputing), 0-1.
    pub high_performance_share: f64,
    /// Share on domestic accelerators, 0-1.
    pub domestic_share: f64,
    /// Security certifications declared and in force (等保, ISO/IEC 27001, 可信云, tier).
    pub certifications: Vec<CertificationKind>,
    /// Measured PUE (annualised, else the last 30 days when complete); None when not metered.
    pub measured_pue: Option<f64>,
    /// Share of its energy from renewables, 0-1, by the green-power contract in force.
    pub renewable_share: Option<f64>,
    /// Its effective price (after the partner discount) over the city's median for the same
    /// accelerators, weighted by capacity: 0.9 is 10% cheaper than the city.
    pub price_index: Option<f64>,
    /// Jobs that started there, and the median seconds from placement to start.
    pub jobs_started: u32,
    pub start_latency_p50_s: Option<f64>,
    /// Of the runs that ended there, the share failed by the centre's fault.
    pub centre_fault_share: Option<f64>,
}

/// Weights (adding up to 100) and the admission thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = PartnerConfig))]
pub struct Config {
    pub weight_performance: u32,
    pub weight_security: u32,
    pub weight_green: u32,
    pub weight_price: u32,
    pub weight_service: u32,
    /// The least total score admitted.
    pub min_total: f64,
    /// A measured PUE above this is refused (GB 40879's limit value, grade 3).
    pub max_pue: f64,
    /// A share of centre-fault failures above this is refused.
    pub max_centre_fault_share: f64,
    /// The unified service standard (统一服务标准) every partner keeps: the median time from
    /// placement to start, at most this many seconds ...
    #[serde(default = "default_sla_start_s")]
    pub sla_max_start_latency_s: f64,
    /// ... judged once a partner has started at least this many jobs.
    #[serde(default = "default_sla_min_jobs")]
    pub sla_min_jobs: u32,
    /// Of the security criterion, the percent given by certifications (the rest by the
    /// domestic share of its compute).
    #[serde(default = "default_certifications_pct")]
    pub security_certifications_pct: u32,
    /// Points per certification in force (0-100 each; their sum counts up to 100).
    #[serde(default = "default_certification_points")]
    pub certification_points: BTreeMap<CertificationKind, u32>,
    /// Of the green criterion, the percent given by the renewable share (the rest by measured PUE).
    #[serde(default = "default_renewable_pct")]
    pub green_renewable_pct: u32,
}

fn default_certifications_pct() -> u32 {
    30
}

fn default_renewable_pct() -> u32 {
    30
}

fn default_certification_points() -> BTreeMap<CertificationKind, u32> {
    use CertificationKind::*;
    [(Mlps3, 40), (Mlps4, 60), (Iso27001, 30), (TrustedCloud, 20), (DcTier3, 10), (DcTier4, 20)].into_iter().collect()
}

fn default_sla_start_s() -> f64 {
    900.0
}

fn default_sla_min_jobs() -> u32 {
    10
}

/// A partner falling short of the service standard: an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = PartnerBreach))]
pub struct Breach {
    pub centre_id: String,
    pub name: String,
    /// `start_latency` or `centre_faults`.
    pub what: String,
    pub measured: f64,
    pub limit: f64,
}

/// Where a centre breaks the service standard (nothing until it has started enough jobs).
pub fn breaches(m: &Measures, cfg: &Config) -> Vec<Breach> {
    if m.jobs_started < cfg.sla_min_jobs {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut add = |what: &str, measured: f64, limit: f64| {
        out.push(Breach { centre_id: m.centre_id.clone(), name: m.name.clone(), what: what.into(), measured, limit })
    };
    if let Some(s) = m.start_latency_p50_s.filter(|s| *s > cfg.sla_max_start_latency_s) {
        add("start_latency", s, cfg.sla_max_start_latency_s);
    }
    if let Some(f) = m.centre_fault_share.filter(|f| *f > cfg.max_centre_fault_share) {
        add("centre_faults", f, cfg.max_centre_fault_share);
    }
    out
}

impl Default for Config {
    fn default() -> Config {
        Config {
            weight_performance: 30,
            weight_security: 20,
            weight_green: 20,
            weight_price: 15,
            weight_service: 15,
            min_total: 60.0,
            max_pue: 1.5,
            max_centre_fault_share: 0.05,
            sla_max_start_latency_s: default_sla_start_s(),
            sla_min_jobs: default_sla_min_jobs(),
            security_certifications_pct: default_certifications_pct(),
            certification_points: default_certification_points(),
            green_renewable_pct: default_renewable_pct(),
        }
    }
}

/// A centre's score, 0-100 per criterion and in total, and the verdict with its reasons (the
/// API answers it with each reason's English text beside its typed form: suanli-api's
/// `PartnerScoreBody`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub centre_id: String,
    pub name: String,
    pub performance: f64,
    pub security: f64,
    pub green: f64,
    pub price: f64,
    pub service: f64,
    pub total: f64,
    pub admitted: bool,
    pub reasons: Vec<PartnerReason>,
}

/// `x` mapped linearly from `worst` (0) to `best` (100), clamped.
fn scale(x: f64, worst: f64, best: f64) -> f64 {
    (100.0 * (x - worst) / (best - worst)).clamp(0.0, 100.0)
}

/// Scores every centre (performance is relative to the city's largest).
pub fn score_all(centres: &[Measures], cfg: &Config) -> Vec<Score> {
    let largest = centres.iter().map(|m| m.fp16_tflops).fold(0.0_f64, f64::max);
    let mut out: Vec<Score> = centres.iter().map(|m| score(m, cfg, largest)).collect();
    out.sort_by(|a, b| b.total.total_cmp(&a.total).then(a.centre_id.cmp(&b.centre_id)));
    out
}

fn score(m: &Measures, cfg: &Config, largest: f64) -> Score {
    let mut reasons = Vec::new();
    let size = if largest > 0.0 { m.fp16_tflops / largest } else { 0.0 };
    let performance = 60.0 * size.clamp(0.0, 1.0) + 40.0 * m.high_performance_share.clamp(0.0, 1.0);
    let part = |pct: u32| pct.min(100) as f64 / 100.0;
    let certified = m.certifications.iter().map(|k| cfg.certification_points.get(k).copied().unwrap_or(0)).sum::<u32>().min(100);
    let security = (1.0 - part(cfg.security_certifications_pct)) * 100.0 * m.domestic_share.clamp(0.0, 1.0)
        + part(cfg.security_certifications_pct) * certified as f64;
    let green = match m.measured_pue {
        Some(pue) => {
            if pue > cfg.max_pue {
                reasons.push(PartnerReason::PueAboveLimit { pue, limit: cfg.max_pue });
            }
            (1.0 - part(cfg.green_renewable_pct)) * scale(pue, 2.0, 1.2)
                + part(cfg.green_renewable_pct) * 100.0 * m.renewable_share.unwrap_or(0.0).clamp(0.0, 1.0)
        }
        None => {
            reasons.push(PartnerReason::NoMeasuredPue);
            0.0
        }
    };
    let price = m.price_index.map_or(0.0, |p| scale(p, 1.2, 0.8));
    let service = if m.jobs_started == 0 {
        // No record yet: neither rewarded nor held against a new centre.
        50.0
    } else {
        let fault = m.centre_fault_share.unwrap_or(0.0);
        if fault > cfg.max_centre_fault_share {
            reasons.push(PartnerReason::CentreFaultsAboveMax { share_pct: fault * 100.0, max_pct: cfg.max_centre_fault_share * 100.0 });
        }
        0.6 * scale(fault, 0.05, 0.0) + 0.4 * m.start_latency_p50_s.map_or(50.0, |s| scale(s, 3600.0, 60.0))
    };
    let w = |x: f64, weight: u32| x * weight as f64 / 100.0;
    let total = w(performance, cfg.weight_performance)
        + w(security, cfg.weight_security)
        + w(green, cfg.weight_green)
        + w(price, cfg.weight_price)
        + w(service, cfg.weight_service);
    if total < cfg.min_total {
        reasons.push(PartnerReason::TotalBelowAdmission { total, min: cfg.min_total });
    }
    Score {
        centre_id: m.centre_id.clone(),
        name: m.name.clone(),
        performance,
        security,
        green,
        price,
        service,
        total,
        admitted: reasons.is_empty(),
        reasons,
    }
}

/// The weights must add up to 100 and the thresholds be sensible. A refusal names the field
/// at fault first (`weights`, `min_total`, `certification_points.mlps_3`, ...), so that a form
/// can show it beside that field.
pub fn check_config(cfg: &Config) -> Result<(), String> {
    let sum = cfg.weight_performance + cfg.weight_security + cfg.weight_green + cfg.weight_price + cfg.weight_service;
    if sum != 100 {
        return Err(format!("weights: the weights add up to {sum}, not 100"));
    }
    let ranges = [
        ("min_total", cfg.min_total, 0.0, 100.0, "a score is 0-100"),
        ("max_pue", cfg.max_pue, 1.0, 4.0, "a PUE is 1-4"),
        ("max_centre_fault_share", cfg.max_centre_fault_share, 0.0, 1.0, "a share is 0-1"),
        ("sla_max_start_latency_s", cfg.sla_max_start_latency_s, 0.0, 86_400.0, "a start latency is 0-86,400 s"),
    ];
    if let Some((field, _, _, _, why)) = ranges.iter().find(|(_, v, lo, hi, _)| !(*lo..=*hi).contains(v)) {
        return Err(format!("{field}: {why}"));
    }
    if cfg.security_certifications_pct > 100 {
        return Err("security_certifications_pct: the certifications' part is 0-100%".into());
    }
    if cfg.green_renewable_pct > 100 {
        return Err("green_renewable_pct: the renewables' part is 0-100%".into());
    }
    if let Some((kind, _)) = cfg.certification_points.iter().find(|(_, p)| **p > 100) {
        return Err(format!("certification_points.{}: a certification is worth 0-100 points", kind.as_str()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn centre(id: &str, fp16: f64, pue: Option<f64>, price: f64, fault: f64) -> Measures {
        Measures {
            centre_id: id.into(),
            name: id.into(),
            fp16_tflops: fp16,
            high_performance_share: 1.0,
            domestic_share: 0.5,
            certifications: vec![CertificationKind::Mlps3, CertificationKind::Iso27001],
            measured_pue: pue,
            renewable_share: Some(0.2),
            price_index: Some(price),
            jobs_started: 100,
            start_latency_p50_s: Some(30.0),
            centre_fault_share: Some(fault),
        }
    }

    #[test]
    fn a_green_cheap_reliable_centre_outranks_a_big_wasteful_one_and_shortfalls_are_said() {
        let cfg = Config::default();
        let scores = score_all(
            &[
                centre("big-hot", 1000.0, Some(1.6), 1.1, 0.08),
                centre("lean", 600.0, Some(1.2), 0.85, 0.0),
                centre("unmetered", 800.0, None, 1.0, 0.0),
            ],
            &cfg,
        );
        assert_eq!(scores[0].centre_id, "lean", "{scores:?}");
        assert!(scores[0].admitted, "{:?}", scores[0].reasons);
        let hot = scores.iter().find(|s| s.centre_id == "big-hot").unwrap();
        assert!(!hot.admitted);
        let said: Vec<String> = hot.reasons.iter().map(ToString::to_string).collect();
        assert!(said.iter().any(|r| r.contains("PUE 1.60")) && said.iter().any(|r| r.contains("8.0%")), "{said:?}");
        assert_eq!(hot.reasons[0], PartnerReason::PueAboveLimit { pue: 1.6, limit: 1.5 });
        let dark = scores.iter().find(|s| s.centre_id == "unmetered").unwrap();
        assert!(!dark.admitted && dark.green == 0.0 && dark.reasons[0] == PartnerReason::NoMeasuredPue);
        assert!((hot.performance - 100.0).abs() < 1e-9, "the largest centre scores full size");
    }

    #[test]
    fn a_partner_slower_or_faultier_than_the_standard_is_an_alert_once_it_has_a_record() {
        let cfg = Config { sla_max_start_latency_s: 20.0, ..Config::default() };
        let slow = centre("slow", 100.0, Some(1.2), 1.0, 0.06);
        let b = breaches(&slow, &cfg);
        assert_eq!(b.iter().map(|x| x.what.as_str()).collect::<Vec<_>>(), ["start_latency", "centre_faults"]);
        assert_eq!((b[0].measured, b[0].limit), (30.0, 20.0));
        assert!(breaches(&Measures { jobs_started: 3, ..slow }, &cfg).is_empty(), "too few jobs to judge");
    }

    #[test]
    fn certifications_in_force_and_the_renewable_share_score_under_the_operators_weights() {
        let bare = Measures { certifications: vec![], renewable_share: None, ..centre("c", 100.0, Some(1.2), 1.0, 0.0) };
        let cfg = Config::default();
        let s0 = &score_all(std::slice::from_ref(&bare), &cfg)[0];
        assert!((s0.security - 35.0).abs() < 1e-9, "70% of a half-domestic share: {}", s0.security);
        assert!((s0.green - 70.0).abs() < 1e-9, "PUE 1.2 scores full on its 70%: {}", s0.green);
        let declared = Measures {
            certifications: vec![CertificationKind::Mlps3, CertificationKind::Iso27001, CertificationKind::TrustedCloud],
            renewable_share: Some(0.5),
            ..bare.clone()
        };
        let s1 = &score_all(std::slice::from_ref(&declared), &cfg)[0];
        assert!((s1.security - (35.0 + 0.3 * 90.0)).abs() < 1e-9, "40 + 30 + 20 points: {}", s1.security);
        assert!((s1.green - (70.0 + 15.0)).abs() < 1e-9, "half renewable on its 30%: {}", s1.green);
        assert!(s1.total > s0.total);
        // The operator's weights: certifications worth more, and points capped at 100.
        let heavy = Config {
            security_certifications_pct: 50,
            certification_points: [(CertificationKind::Mlps3, 80), (CertificationKind::Iso27001, 80)].into_iter().collect(),
            green_renewable_pct: 0,
            ..Config::default()
        };
        let s2 = &score_all(std::slice::from_ref(&declared), &heavy)[0];
        assert!((s2.security - (25.0 + 50.0)).abs() < 1e-9, "{}", s2.security);
        assert!((s2.green - 100.0).abs() < 1e-9, "{}", s2.green);
        assert!(check_config(&Config { green_renewable_pct: 101, ..Config::default() }).is_err());
        // A configuration stored before these weights existed reads with the defaults.
        let mut old = serde_json::to_value(Config::default()).unwrap();
        for k in ["security_certifications_pct", "certification_points", "green_renewable_pct"] {
            old.as_object_mut().unwrap().remove(k);
        }
        assert_eq!(serde_json::from_value::<Config>(old).unwrap(), Config::default());
    }

    #[test]
    fn weights_must_add_up() {
        assert!(check_config(&Config::default()).is_ok());
        assert!(check_config(&Config { weight_price: 20, ..Config::default() }).unwrap_err().contains("105"));
    }
}
