//! The accelerator catalogue: models, vendors, domestic flag, dense FP16 TFLOPS, memory and class, from a data file.

use crate::error::{Error, ErrorCode};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The built-in catalogue (`data/accelerators.toml`); operators may load their own.
pub const BUILTIN_CATALOGUE_TOML: &str = include_str!("../../../data/accelerators.toml");

/// The policy's classification of compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum AcceleratorClass {
    /// General-purpose (CPU) compute.
    General,
    /// Intelligent compute: AI accelerators.
    Intelligent,
    /// Supercomputing: HPC accelerators.
    Supercomputing,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Accelerator {
    /// Stable key, e.g. "ascend-910b2".
    pub model: String,
    pub name: String,
    pub vendor: String,
    /// Made in China (国产); voucher rules use it.
    pub domestic: bool,
    /// Dense FP16/BF16 peak, no sparsity.
    pub fp16_tflops: f64,
    pub memory_gb: u32,
    pub class: AcceleratorClass,
    /// Typical board power in watts (approximate).
    pub power_w: u32,
}

#[derive(Debug, Clone)]
pub struct Catalogue {
    models: Vec<Accelerator>,
    index: HashMap<String, usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    accelerator: Vec<Accelerator>,
}

impl Catalogue {
    pub fn from_toml(text: &str) -> Result<Catalogue, String> {
        let file: CatalogueFile = toml::from_str(text).map_err(|e| format!("accelerators: {e}"))?;
        let mut index = HashMap::new();
        for (i, a) in file.accelerator.iter().enumerate() {
            if !(a.fp16_tflops.is_finite() && a.fp16_tflops > 0.0) || a.memory_gb == 0 {
                return Err(format!("accelerators: '{}' needs positive fp16_tflops and memory_gb", a.model));
            }
            if index.insert(a.model.clone(), i).is_some() {
                return Err(format!("accelerators: '{}' is defined twice", a.model));
            }
        }
        Ok(Catalogue { models: file.accelerator, index })
    }

    /// The built-in catalogue. Panics only if the compiled-in file is broken, which a test rules out.
    pub fn builtin() -> Catalogue {
        Catalogue::from_toml(BUILTIN_CATALOGUE_TOML).expect("built-in accelerators.toml is valid")
    }

    pub fn all(&self) -> &[Accelerator] {
        &self.models
    }

    pub fn get(&self, model: &str) -> Option<&Accelerator> {
        self.index.get(model).map(|&i| &self.models[i])
    }

    pub fn require(&self, model: &str) -> Result<&Accelerator, Error> {
        self.get(model).ok_or_else(|| {
            Error::new(
                ErrorCode::UnknownAccelerator,
                format!(
                    "'{}' is not in the accelerator catalogue (GET /api/v1/accelerators lists it)",
                    model.chars().take(40).collect::<String>()
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalogue_has_domestic_and_nvidia_models() {
        let c = Catalogue::builtin();
        assert!(c.all().len() >= 20);
        assert!(c.all().iter().any(|a| a.domestic && a.class == AcceleratorClass::Intelligent));
        assert!(c.all().iter().any(|a| a.vendor == "NVIDIA"));
        assert!(c.all().iter().any(|a| a.class == AcceleratorClass::General));
        let h800 = c.get("h800").expect("h800 in catalogue");
        assert_eq!(h800.fp16_tflops, 989.0);
        assert_eq!(c.require("nope").unwrap_err().code, ErrorCode::UnknownAccelerator);
    }
}
