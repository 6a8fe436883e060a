//! Alerts computed from the book's state at a moment: PUE over its threshold, silent meters, data-quality issues.
//!
//! # Rules
//!
//! - `pue_over_threshold`: the threshold is the city's rule for new data centres (PUE must be
//!   below 1.25, so a reported PUE at or above it alerts) when the rule applies, otherwise the
//!   GB 40879 limit value (1.50, alerting above it); edge sites outside both get no PUE alert.
//!   The annualised PUE over it is **critical**; the interim PUE of the last `pue_window_ms`
//!   (default 24 hours) over it is a **warning** (raised only when the annualised one is not).
//! - `meter_silent`: a meter whose latest accepted reading is `silent_after_ms` (default 1 hour)
//!   or more before now is a **warning**, `silent_critical_after_ms` (default 24 hours) or more
//!   **critical**; a meter that never sent an accepted reading is a warning without a duration.
//! - `data_quality`: rejected readings and balance violations received within the last
//!   `quality_window_ms` (default 24 hours, counted by hour of receipt): at least
//!   `quality_warning_count` (5) is a **warning**, at least `quality_critical_count` (50)
//!   **critical**.
//!
//! Alerts are ordered critical first, then by data centre and code.

use crate::book::{CentreState, EnergyBook};
use crate::error::EnergyError;
use crate::grade::{Gb40879, PolicyOutcome, grade, policy_check, reported};
use crate::meter::MeterId;
use crate::pue::{PueFigure, PueKind, YEAR_BUCKETS};
use crate::series::bucket_of;
use serde::{Deserialize, Serialize};
use suanli_core::id::CentreId;
use suanli_core::time::{MS_PER_DAY, MS_PER_HOUR, UnixMs, format_rfc3339};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertConfig {
    pub pue_window_ms: i64,
    pub silent_after_ms: i64,
    pub silent_critical_after_ms: i64,
    pub quality_window_ms: i64,
    pub quality_warning_count: u64,
    pub quality_critical_count: u64,
}

impl Default for AlertConfig {
    fn default() -> AlertConfig {
        AlertConfig {
            pue_window_ms: MS_PER_DAY,
            silent_after_ms: MS_PER_HOUR,
            silent_critical_after_ms: MS_PER_DAY,
            quality_window_ms: MS_PER_DAY,
            quality_warning_count: 5,
            quality_critical_count: 50,
        }
    }
}

impl AlertConfig {
    pub fn validate(&self) -> Result<(), EnergyError> {
        let ok = self.pue_window_ms > 0
            && self.silent_after_ms > 0
            && self.silent_critical_after_ms >= self.silent_after_ms
            && self.quality_window_ms > 0
            && self.quality_warning_count > 0
            && self.quality_critical_count >= self.quality_warning_count;
        if !ok {
            return Err(EnergyError::config("alerts: windows must be positive and critical bounds at least the warning bounds"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Critical,
}

/// What an alert is about; serialised with its `code`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum AlertKind {
    PueOverThreshold { label: String, kind: PueKind, value: f64, threshold: f64, from_ms: UnixMs, to_ms: UnixMs },
    MeterSilent { meter: MeterId, last_seen_ms: Option<UnixMs>, silent_for_ms: Option<i64> },
    DataQuality { count: u64, from_ms: UnixMs, to_ms: UnixMs },
}

impl AlertKind {
    pub fn code(&self) -> &'static str {
        match self {
            AlertKind::PueOverThreshold { .. } => "pue_over_threshold",
            AlertKind::MeterSilent { .. } => "meter_silent",
            AlertKind::DataQuality { .. } => "data_quality",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    pub dc: CentreId,
    pub severity: Severity,
    pub alert: AlertKind,
    pub message: String,
}

impl EnergyBook {
    /// Every alert that holds at `now_ms`.
    pub fn alerts(&self, now_ms: UnixMs) -> Vec<Alert> {
        let mut out = Vec::new();
        for (id, state) in self.in_order() {
            self.pue_alert(id, state, now_ms, &mut out);
            self.silent_alerts(id, state, now_ms, &mut out);
            let cfg = &self.config.alerts;
            let from_ms = now_ms - cfg.quality_window_ms;
            let count = self.quality(id, from_ms, now_ms).map_or(0, |t| t.total);
            let severity = if count >= cfg.quality_critical_count {
                Some(Severity::Critical)
            } else if count >= cfg.quality_warning_count {
                Some(Severity::Warning)
            } else {
                None
            };
            if let Some(severity) = severity {
                out.push(Alert {
                    dc: id.clone(),
                    severity,
                    message: format!("{count} data-quality issues received since {}", format_rfc3339(from_ms)),
                    alert: AlertKind::DataQuality { count, from_ms, to_ms: now_ms },
                });
            }
        }
        out.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.dc.cmp(&b.dc)).then_with(|| a.alert.code().cmp(b.alert.code())));
        out
    }

    fn pue_alert(&self, id: &CentreId, state: &CentreState, now_ms: UnixMs, out: &mut Vec<Alert>) {
        let c = &self.config;
        let end = bucket_of(now_ms);
        let annual = state.pue_buckets(end - YEAR_BUCKETS, end, c.min_completeness);
        // The threshold that applies: the new-data-centre rule (at or above fails), else the GB
        // 40879 limit value (above fails), else none.
        let policy = policy_check(&state.dc, None, &c.policy, self.policy_since_ms).outcome;
        let (threshold, inclusive) = if policy != PolicyOutcome::NotApplicable {
            (c.policy.pue_below, true)
        } else if grade(&state.dc, None, &c.grades).outcome != Gb40879::OutOfScope {
            (c.grades.grade3, false)
        } else {
            return;
        };
        let over = |f: &PueFigure| f.value.map(reported).filter(|v| if inclusive { *v >= threshold } else { *v > threshold });
        let day = state.pue_buckets(bucket_of(now_ms - c.alerts.pue_window_ms), end, c.min_completeness);
        let (figure, value, severity) = match (over(&annual), over(&day)) {
            (Some(v), _) => (annual, v, Severity::Critical),
            (None, Some(v)) => (day, v, Severity::Warning),
            (None, None) => return,
        };
        let relation = if inclusive { "at or above" } else { "above" };
        out.push(Alert {
            dc: id.clone(),
            severity,
            message: format!("{figure} is {relation} {threshold:.2}"),
            alert: AlertKind::PueOverThreshold {
                label: figure.label.clone(),
                kind: figure.kind,
                value,
                threshold,
                from_ms: figure.from_ms,
                to_ms: figure.to_ms,
            },
        });
    }

    fn silent_alerts(&self, id: &CentreId, state: &CentreState, now_ms: UnixMs, out: &mut Vec<Alert>) {
        let cfg = &self.config.alerts;
        for (meter, series) in &state.meters {
            let (severity, message, last_seen_ms, silent_for_ms) = match series.last_ts() {
                None => (Severity::Warning, format!("meter '{meter}' has never sent an accepted reading"), None, None),
                Some(last) => {
                    let silent = now_ms - last;
                    if silent < cfg.silent_after_ms {
                        continue;
                    }
                    let severity = if silent >= cfg.silent_critical_after_ms { Severity::Critical } else { Severity::Warning };
                    let message = format!(
                        "meter '{meter}' silent for {:.1} hours (last reading {})",
                        silent as f64 / MS_PER_HOUR as f64,
                        format_rfc3339(last)
                    );
                    (severity, message, Some(last), Some(silent))
                }
            };
            out.push(Alert {
                dc: id.clone(),
                severity,
                message,
                alert: AlertKind::MeterSilent { meter: meter.clone(), last_seen_ms, silent_for_ms },
            });
        }
    }
}
