//! How fast each accelerator model runs a job, relative to the reference accelerator.
//!
//! By default the speed is the ratio of dense FP16 TFLOPS (a job's `duration_s` is its run
//! time on the reference model). Measured data — per job class and model, such as the
//! Gavel throughput matrix — overrides the ratio where it exists.

use std::collections::BTreeMap;
use suanli_core::catalogue::{Accelerator, Catalogue};

#[derive(Debug, Clone, PartialEq)]
pub struct SpeedModel {
    /// The model whose speed is 1.0.
    pub reference: String,
    reference_tflops: f64,
    /// job class -> accelerator model -> speed relative to the reference model.
    overrides: BTreeMap<String, BTreeMap<String, f64>>,
}

impl SpeedModel {
    /// Speeds from FP16 TFLOPS relative to `reference` (falls back to 312 TFLOPS, an A100, if unknown).
    pub fn new(catalogue: &Catalogue, reference: &str) -> SpeedModel {
        let reference_tflops = catalogue.get(reference).map_or(312.0, |a| a.fp16_tflops);
        SpeedModel { reference: reference.to_string(), reference_tflops, overrides: BTreeMap::new() }
    }

    /// Sets a measured speed for a job class on a model (relative to the reference model).
    pub fn set_override(&mut self, job_class: &str, model: &str, speed: f64) {
        if speed.is_finite() && speed > 0.0 {
            self.overrides.entry(job_class.to_string()).or_default().insert(model.to_string(), speed);
        }
    }

    pub fn job_classes(&self) -> impl Iterator<Item = &str> {
        self.overrides.keys().map(String::as_str)
    }

    /// The speed of `acc` for a job of `class` (1.0 = the reference model).
    pub fn speed(&self, class: Option<&str>, acc: &Accelerator) -> f64 {
        if let Some(s) = class.and_then(|c| self.overrides.get(c)).and_then(|m| m.get(&acc.model)) {
            return *s;
        }
        (acc.fp16_tflops / self.reference_tflops).max(1e-6)
    }

    /// Run time on `acc` of a job that takes `duration_s` on the reference model.
    pub fn run_seconds(&self, class: Option<&str>, acc: &Accelerator, duration_s: f64) -> f64 {
        duration_s / self.speed(class, acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tflops_ratio_by_default_measured_speed_when_known() {
        let cat = Catalogue::builtin();
        let mut m = SpeedModel::new(&cat, "a100-80g");
        let h800 = cat.get("h800").unwrap();
        assert!((m.speed(None, h800) - 989.0 / 312.0).abs() < 1e-9);
        assert!((m.run_seconds(None, h800, 3170.0) - 1000.0).abs() < 1.0);
        m.set_override("resnet", "h800", 2.0);
        assert_eq!(m.speed(Some("resnet"), h800), 2.0);
        assert!((m.speed(Some("other"), h800) - 989.0 / 312.0).abs() < 1e-9);
        m.set_override("resnet", "t4", f64::NAN);
        assert!((m.speed(Some("resnet"), cat.get("t4").unwrap()) - 65.0 / 312.0).abs() < 1e-9);
    }
}
