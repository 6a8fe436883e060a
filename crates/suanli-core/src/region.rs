//! Regions nested district -> Hangzhou -> Zhejiang -> Yangtze River Delta -> East China, loaded from a data file.

use crate::error::{Error, ErrorCode};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The built-in region table (`data/regions.toml`), compiled into the binary.
pub const BUILTIN_REGIONS_TOML: &str = include_str!("../../../data/regions.toml");

/// The region id of the city whose policy the platform serves.
pub const HOME_CITY: &str = "hangzhou";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum RegionKind {
    District,
    City,
    Province,
    Megaregion,
    Macroregion,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Region {
    pub id: String,
    pub name_zh: String,
    pub name_en: String,
    pub kind: RegionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division_code: Option<String>,
    /// Grid emission factor in kgCO2e/kWh; inherited by children that have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid_emission_kg_per_kwh: Option<f64>,
}

/// The region tree. Every parent appears before its children in the source file.
#[derive(Debug, Clone)]
pub struct Regions {
    list: Vec<Region>,
    index: HashMap<String, usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionsFile {
    region: Vec<Region>,
}

impl Regions {
    /// Parses a region table; fails on duplicate ids and on parents that are not defined earlier.
    pub fn from_toml(text: &str) -> Result<Regions, String> {
        let file: RegionsFile = toml::from_str(text).map_err(|e| format!("regions: {e}"))?;
        let mut index = HashMap::new();
        for (i, r) in file.region.iter().enumerate() {
            if let Some(p) = &r.parent
                && !index.contains_key(p)
            {
                return Err(format!("regions: '{}' names parent '{p}', which is not defined before it", r.id));
            }
            if index.insert(r.id.clone(), i).is_some() {
                return Err(format!("regions: '{}' is defined twice", r.id));
            }
        }
        Ok(Regions { list: file.region, index })
    }

    /// The built-in table. Panics only if the file compiled into the binary is broken, which a test rules out.
    pub fn builtin() -> Regions {
        Regions::from_toml(BUILTIN_REGIONS_TOML).expect("built-in regions.toml is valid")
    }

    pub fn all(&self) -> &[Region] {
        &self.list
    }

    pub fn get(&self, id: &str) -> Option<&Region> {
        self.index.get(id).map(|&i| &self.list[i])
    }

    /// Looks a region up for validation, with an error a person understands.
    pub fn require(&self, id: &str) -> Result<&Region, Error> {
        self.get(id).ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidRegion,
                format!(
                    "'{}' is not a known region (try 'hangzhou', 'hz-binjiang', 'zhejiang', 'yrd')",
                    id.chars().take(40).collect::<String>()
                ),
            )
        })
    }

    /// The region itself, then its parent, up to the root.
    pub fn ancestry<'a>(&'a self, id: &str) -> impl Iterator<Item = &'a Region> + use<'a> {
        let mut next = self.get(id);
        std::iter::from_fn(move || {
            let current = next?;
            next = current.parent.as_deref().and_then(|p| self.get(p));
            Some(current)
        })
    }

    /// True when `id` is `ancestor` or lies inside it.
    pub fn is_within(&self, id: &str, ancestor: &str) -> bool {
        self.ancestry(id).any(|r| r.id == ancestor)
    }

    /// The most specific region with this administrative division code, falling back to
    /// the city (first four digits + "00") and the province (first two digits + "0000").
    pub fn by_division_code(&self, code: &str) -> Option<&Region> {
        let find = |c: &str| self.list.iter().find(|r| r.division_code.as_deref() == Some(c));
        if code.len() != 6 {
            return None;
        }
        find(code).or_else(|| find(&format!("{}00", &code[..4]))).or_else(|| find(&format!("{}0000", &code[..2])))
    }

    /// The grid emission factor of a region, inherited from the nearest ancestor that has one.
    pub fn grid_emission(&self, id: &str) -> Option<f64> {
        self.ancestry(id).find_map(|r| r.grid_emission_kg_per_kwh)
    }

    /// The ancestor (or self) of the given kind, e.g. the city a district belongs to.
    pub fn enclosing(&self, id: &str, kind: RegionKind) -> Option<&Region> {
        self.ancestry(id).find(|r| r.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_nests_as_the_policy_says() {
        let r = Regions::builtin();
        let chain: Vec<&str> = r.ancestry("hz-binjiang").map(|r| r.id.as_str()).collect();
        assert_eq!(chain, ["hz-binjiang", "hangzhou", "zhejiang", "yrd", "east-china"]);
        assert!(r.is_within("shanghai", "yrd"));
        assert!(!r.is_within("shanghai", "zhejiang"));
        assert_eq!(r.by_division_code("330108").unwrap().id, "hz-binjiang");
        assert_eq!(r.enclosing("hz-xihu", RegionKind::City).unwrap().id, "hangzhou");
        assert!(r.grid_emission("hz-xihu").is_some());
        assert_eq!(r.require("atlantis").unwrap_err().code, ErrorCode::InvalidRegion);
    }

    #[test]
    fn bad_tables_are_rejected() {
        let orphan = "[[region]]\nid='a'\nname_zh='a'\nname_en='a'\nkind='city'\nparent='b'\n";
        assert!(Regions::from_toml(orphan).unwrap_err().contains("not defined before"));
    }
}
