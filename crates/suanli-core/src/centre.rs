//! Compute providers, compute centres and their resource pools, with the validation of new ones.

use crate::catalogue::Catalogue;
use crate::error::{Error, ErrorCode};
use crate::id::{CentreId, PoolId, ProviderId};
use crate::money::Fen;
use crate::region::Regions;
use crate::time::UnixMs;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Largest pool accepted: a sanity bound that catches typos, far above any real centre.
pub const MAX_POOL_ACCELERATORS: u64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum CentreKind {
    Cloud,
    IntelligentComputing,
    Edge,
}

impl CentreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CentreKind::Cloud => "cloud",
            CentreKind::IntelligentComputing => "intelligent-computing",
            CentreKind::Edge => "edge",
        }
    }
    pub fn parse(s: &str) -> Option<CentreKind> {
        [CentreKind::Cloud, CentreKind::IntelligentComputing, CentreKind::Edge].into_iter().find(|k| k.as_str() == s)
    }
}

/// Admission state of a centre in the city's partner scheme (算力伙伴).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum PartnerStatus {
    Applicant,
    Partner,
    Suspended,
}

impl PartnerStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PartnerStatus::Applicant => "applicant",
            PartnerStatus::Partner => "partner",
            PartnerStatus::Suspended => "suspended",
        }
    }
    pub fn parse(s: &str) -> Option<PartnerStatus> {
        [PartnerStatus::Applicant, PartnerStatus::Partner, PartnerStatus::Suspended].into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provider {
    pub id: ProviderId,
    pub name: String,
    pub name_en: String,
    /// Its registration as an enterprise, when the operator recorded it: what incentive
    /// programmes judge a provider applying on.
    #[serde(default)]
    pub registration: Option<Registration>,
}

/// An enterprise's registration: its unified social credit code, the district it pays taxes in
/// (a region id) and whether it is a small or medium enterprise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub uscc: crate::ident::Uscc,
    pub region: String,
    pub sme: bool,
}

impl Registration {
    pub fn validate(&self, regions: &Regions) -> Result<(), Error> {
        regions.require(&self.region).map(|_| ())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Centre {
    pub id: CentreId,
    pub provider_id: ProviderId,
    pub name: String,
    pub name_en: String,
    pub kind: CentreKind,
    pub region: String,
    pub partner_status: PartnerStatus,
    pub commissioned_ms: UnixMs,
    pub declared_pue: f64,
    pub racks: u32,
    /// Round-trip time in ms from this centre to users in a region (keyed by region id).
    pub rtt_ms: BTreeMap<String, u32>,
    pub created_ms: UnixMs,
}

impl Centre {
    /// RTT to users in `region`: the entry for the region itself or its nearest ancestor.
    /// A centre is 1 ms from users in its own district when no entry says otherwise.
    pub fn rtt_to(&self, regions: &Regions, region: &str) -> Option<u32> {
        if region == self.region {
            return Some(self.rtt_ms.get(region).copied().unwrap_or(1));
        }
        regions.ancestry(region).find_map(|r| self.rtt_ms.get(&r.id).copied())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pool {
    pub id: PoolId,
    pub centre_id: CentreId,
    pub accelerator: String,
    pub nodes: u32,
    pub accelerators_per_node: u32,
    pub price_per_hour: Fen,
    pub partner_discount_pct: u8,
    pub created_ms: UnixMs,
}

impl Pool {
    /// Accelerators in the pool.
    pub fn capacity(&self) -> u32 {
        self.nodes.saturating_mul(self.accelerators_per_node)
    }

    /// Price per accelerator-hour after the partner discount, in fen (rounded half up).
    pub fn effective_price(&self) -> Fen {
        Fen::charge(self.price_per_hour, 1, 3600, self.partner_discount_pct)
    }
}

/// The fields of a centre a provider or operator registers, before it has an id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCentre {
    pub provider_id: ProviderId,
    pub name: String,
    pub name_en: String,
    pub kind: CentreKind,
    pub region: String,
    pub partner_status: PartnerStatus,
    pub commissioned_ms: UnixMs,
    pub declared_pue: f64,
    pub racks: u32,
    pub rtt_ms: BTreeMap<String, u32>,
}

impl NewCentre {
    pub fn validate(&self, regions: &Regions) -> Result<(), Error> {
        check_name("name", &self.name)?;
        if !self.name_en.is_empty() {
            check_name("name_en", &self.name_en)?;
        }
        regions.require(&self.region)?;
        if !(self.declared_pue.is_finite() && (1.0..=4.0).contains(&self.declared_pue)) {
            return Err(Error::new(
                ErrorCode::InvalidPue,
                format!("declared_pue {} is outside 1.0..=4.0 (PUE = facility energy / IT energy is never below 1)", self.declared_pue),
            ));
        }
        if self.racks == 0 || self.racks > 1_000_000 {
            return Err(Error::new(ErrorCode::InvalidCount, format!("racks must be between 1 and 1000000, not {}", self.racks)));
        }
        if self.kind == CentreKind::Edge && self.racks > 100 {
            return Err(Error::new(
                ErrorCode::InvalidCount,
                format!("an edge site has at most 100 racks (GB 40879 scope), not {}", self.racks),
            ));
        }
        for (region, rtt) in &self.rtt_ms {
            regions.require(region)?;
            if *rtt == 0 || *rtt > 10_000 {
                return Err(Error::new(ErrorCode::InvalidCount, format!("rtt_ms to '{region}' must be 1..=10000, not {rtt}")));
            }
        }
        Ok(())
    }
}

/// The fields of a pool before it has an id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPool {
    pub accelerator: String,
    pub nodes: u32,
    pub accelerators_per_node: u32,
    pub price_per_hour: Fen,
    pub partner_discount_pct: u8,
}

impl NewPool {
    pub fn validate(&self, catalogue: &Catalogue) -> Result<(), Error> {
        catalogue.require(&self.accelerator)?;
        if self.nodes == 0 || self.accelerators_per_node == 0 {
            return Err(Error::new(ErrorCode::InvalidCount, "nodes and accelerators_per_node must both be at least 1"));
        }
        if self.accelerators_per_node > 64 {
            return Err(Error::new(
                ErrorCode::InvalidCount,
                format!("accelerators_per_node is at most 64, not {}", self.accelerators_per_node),
            ));
        }
        if self.nodes as u64 * self.accelerators_per_node as u64 > MAX_POOL_ACCELERATORS {
            return Err(Error::new(ErrorCode::InvalidCount, format!("a pool holds at most {MAX_POOL_ACCELERATORS} accelerators")));
        }
        check_price(self.price_per_hour, self.partner_discount_pct)
    }
}

/// A pool's price per accelerator-hour and partner discount, when it is added and whenever it is
/// changed: a positive price of at most ¥1,000,000, a discount of at most 90%.
pub fn check_price(price_per_hour: Fen, partner_discount_pct: u8) -> Result<(), Error> {
    if !price_per_hour.is_positive() {
        return Err(Error::new(
            ErrorCode::InvalidAmount,
            format!("price per accelerator-hour must be positive, not {}", price_per_hour.to_yuan_string()),
        ));
    }
    if price_per_hour > Fen(100_000_000) {
        return Err(Error::new(ErrorCode::InvalidAmount, "price per accelerator-hour is at most ¥1,000,000"));
    }
    if partner_discount_pct > 90 {
        return Err(Error::new(ErrorCode::InvalidAmount, format!("partner discount is at most 90%, not {partner_discount_pct}%")));
    }
    Ok(())
}

/// Names are non-empty, at most 200 characters, without control characters.
pub fn check_name(field: &str, value: &str) -> Result<(), Error> {
    let n = value.trim().chars().count();
    if n == 0 || n > 200 || value.chars().any(char::is_control) {
        return Err(Error::new(ErrorCode::InvalidName, format!("{field} must be 1 to 200 printable characters")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_centre() -> NewCentre {
        NewCentre {
            provider_id: ProviderId::generate(0, 1),
            name: "测试中心".into(),
            name_en: "Test".into(),
            kind: CentreKind::Edge,
            region: "hz-binjiang".into(),
            partner_status: PartnerStatus::Partner,
            commissioned_ms: 0,
            declared_pue: 1.3,
            racks: 20,
            rtt_ms: [("hangzhou".to_string(), 3)].into(),
        }
    }

    #[test]
    fn centre_validation_table() {
        let regions = Regions::builtin();
        assert!(new_centre().validate(&regions).is_ok());
        type Mutation = Box<dyn Fn(&mut NewCentre)>;
        let cases: Vec<(Mutation, ErrorCode)> = vec![
            (Box::new(|c| c.name = " ".into()), ErrorCode::InvalidName),
            (Box::new(|c| c.region = "mars".into()), ErrorCode::InvalidRegion),
            (Box::new(|c| c.declared_pue = 0.9), ErrorCode::InvalidPue),
            (Box::new(|c| c.declared_pue = f64::NAN), ErrorCode::InvalidPue),
            (Box::new(|c| c.racks = 500), ErrorCode::InvalidCount),
            (Box::new(|c| c.rtt_ms.insert("hangzhou".into(), 0).map(|_| ()).unwrap_or(())), ErrorCode::InvalidCount),
        ];
        for (i, (mutate, code)) in cases.into_iter().enumerate() {
            let mut c = new_centre();
            mutate(&mut c);
            assert_eq!(c.validate(&regions).unwrap_err().code, code, "case {i}");
        }
    }

    #[test]
    fn rtt_falls_back_to_enclosing_region() {
        let regions = Regions::builtin();
        let c = Centre {
            id: CentreId::generate(0, 0),
            provider_id: ProviderId::generate(0, 0),
            name: "x".into(),
            name_en: "x".into(),
            kind: CentreKind::Edge,
            region: "hz-binjiang".into(),
            partner_status: PartnerStatus::Partner,
            commissioned_ms: 0,
            declared_pue: 1.3,
            racks: 10,
            rtt_ms: [("hangzhou".to_string(), 4), ("yrd".to_string(), 15)].into(),
            created_ms: 0,
        };
        assert_eq!(c.rtt_to(&regions, "hz-binjiang"), Some(1));
        assert_eq!(c.rtt_to(&regions, "hz-xihu"), Some(4));
        assert_eq!(c.rtt_to(&regions, "shanghai"), Some(15));
        assert_eq!(c.rtt_to(&regions, "fujian"), None);
    }

    #[test]
    fn pool_validation_and_price() {
        let cat = Catalogue::builtin();
        let ok =
            NewPool { accelerator: "h800".into(), nodes: 4, accelerators_per_node: 8, price_per_hour: Fen(2000), partner_discount_pct: 10 };
        assert!(ok.validate(&cat).is_ok());
        for (p, code) in [
            (NewPool { nodes: 0, ..ok.clone() }, ErrorCode::InvalidCount),
            (NewPool { accelerator: "gtx-9999".into(), ..ok.clone() }, ErrorCode::UnknownAccelerator),
            (NewPool { price_per_hour: Fen(0), ..ok.clone() }, ErrorCode::InvalidAmount),
            (NewPool { partner_discount_pct: 95, ..ok.clone() }, ErrorCode::InvalidAmount),
        ] {
            assert_eq!(p.validate(&cat).unwrap_err().code, code);
        }
        let pool = Pool {
            id: PoolId::generate(0, 0),
            centre_id: CentreId::generate(0, 0),
            accelerator: "h800".into(),
            nodes: 4,
            accelerators_per_node: 8,
            price_per_hour: Fen(2000),
            partner_discount_pct: 10,
            created_ms: 0,
        };
        assert_eq!(pool.capacity(), 32);
        assert_eq!(pool.effective_price(), Fen(1800));
    }
}
