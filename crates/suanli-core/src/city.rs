//! City totals against the policy's targets: open FP16 compute, high-performance share, per region and vendor.

use crate::catalogue::{AcceleratorClass, Catalogue};
use crate::centre::{Centre, PartnerStatus, Pool};
use crate::id::PoolId;
use crate::money::Fen;
use crate::region::{HOME_CITY, RegionKind, Regions};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The policy's targets and classification, as configuration (杭政办函〔2023〕55号 defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    /// 全市可开放算力规模 FP16 达到 5000 PFLOPS 以上.
    pub open_compute_target_pflops: f64,
    /// 高性能算力占比达到 60% 以上.
    pub high_performance_share_target: f64,
    /// Classes counted as high-performance compute.
    pub high_performance_classes: Vec<AcceleratorClass>,
    /// 纳入平台监测率不低于 75%.
    pub monitoring_coverage_target: f64,
    /// 新建数据中心 PUE 低于 1.25.
    pub new_dc_pue_limit: f64,
    /// 算力券 每年总额不超过 5000 万元.
    pub voucher_budget: Fen,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            open_compute_target_pflops: 5000.0,
            high_performance_share_target: 0.60,
            high_performance_classes: vec![AcceleratorClass::Intelligent, AcceleratorClass::Supercomputing],
            monitoring_coverage_target: 0.75,
            new_dc_pue_limit: 1.25,
            voucher_budget: Fen(5_000_000_000),
        }
    }
}

/// Open compute of one slice of the city.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComputeSlice {
    pub pflops_fp16: f64,
    pub accelerators: u64,
    /// Of `accelerators`, those running jobs now.
    #[serde(default)]
    pub accelerators_in_use: u64,
}

/// The city's compute totals over partner pools.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CityTotals {
    /// Dense FP16 peak of all pools in partner centres.
    pub open_compute_pflops_fp16: f64,
    /// High-performance classes' share of the open compute (0..=1).
    pub high_performance_share: f64,
    /// Domestic accelerators' share of the open compute (0..=1).
    pub domestic_share: f64,
    pub partner_centres: u32,
    pub centres: u32,
    pub pools: u32,
    pub accelerators: u64,
    /// Of `accelerators`, those running jobs now: the one "accelerators in use" figure (the
    /// regions' `accelerators_in_use` sum to it).
    pub accelerators_in_use: u64,
    /// Keyed by the district inside the home city, else the enclosing city or province.
    pub by_region: BTreeMap<String, ComputeSlice>,
    /// "hangzhou", "zhejiang" (rest of), "yrd" (rest of), "east-china" (rest of), "other".
    pub by_scope: BTreeMap<String, ComputeSlice>,
    pub by_vendor: BTreeMap<String, ComputeSlice>,
    pub by_class: BTreeMap<String, ComputeSlice>,
}

/// Sums the open compute of partner pools, with the accelerators running jobs now (`busy`: per
/// pool, as the store counts them). Pools of unknown models or centres are skipped, and so are
/// their busy accelerators, so every slice's `accelerators_in_use` is within its
/// `accelerators` and the slices of one breakdown sum to the totals.
pub fn city_totals(
    centres: &[Centre],
    pools: &[Pool],
    busy: &HashMap<PoolId, u64>,
    catalogue: &Catalogue,
    regions: &Regions,
    policy: &Policy,
) -> CityTotals {
    let by_id: HashMap<&str, &Centre> = centres.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut t = CityTotals { centres: centres.len() as u32, ..Default::default() };
    t.partner_centres = centres.iter().filter(|c| c.partner_status == PartnerStatus::Partner).count() as u32;
    let (mut hp, mut domestic) = (0.0, 0.0);
    for pool in pools {
        let (Some(centre), Some(acc)) = (by_id.get(pool.centre_id.as_str()), catalogue.get(&pool.accelerator)) else {
            continue;
        };
        if centre.partner_status != PartnerStatus::Partner {
            continue;
        }
        let n = pool.capacity() as u64;
        let in_use = busy.get(&pool.id).copied().unwrap_or(0).min(n);
        let pflops = n as f64 * acc.fp16_tflops / 1000.0;
        let add = |map: &mut BTreeMap<String, ComputeSlice>, key: &str| {
            let s = map.entry(key.to_string()).or_default();
            s.pflops_fp16 += pflops;
            s.accelerators += n;
            s.accelerators_in_use += in_use;
        };
        t.pools += 1;
        t.accelerators += n;
        t.accelerators_in_use += in_use;
        t.open_compute_pflops_fp16 += pflops;
        if policy.high_performance_classes.contains(&acc.class) {
            hp += pflops;
        }
        if acc.domestic {
            domestic += pflops;
        }
        add(&mut t.by_vendor, &acc.vendor);
        add(
            &mut t.by_class,
            match acc.class {
                AcceleratorClass::General => "general",
                AcceleratorClass::Intelligent => "intelligent",
                AcceleratorClass::Supercomputing => "supercomputing",
            },
        );
        add(&mut t.by_region, &region_bucket(regions, &centre.region));
        add(&mut t.by_scope, scope_of(regions, &centre.region));
    }
    if t.open_compute_pflops_fp16 > 0.0 {
        t.high_performance_share = hp / t.open_compute_pflops_fp16;
        t.domestic_share = domestic / t.open_compute_pflops_fp16;
    }
    t
}

/// The district inside the home city; elsewhere the enclosing city, or province.
pub fn region_bucket(regions: &Regions, region: &str) -> String {
    if regions.is_within(region, HOME_CITY) {
        return regions.enclosing(region, RegionKind::District).map_or(HOME_CITY, |r| r.id.as_str()).to_string();
    }
    regions
        .enclosing(region, RegionKind::City)
        .or_else(|| regions.enclosing(region, RegionKind::Province))
        .map_or_else(|| region.to_string(), |r| r.id.clone())
}

/// Which ring around the home city a region is in.
pub fn scope_of(regions: &Regions, region: &str) -> &'static str {
    if regions.is_within(region, HOME_CITY) {
        "hangzhou"
    } else if regions.is_within(region, "zhejiang") {
        "zhejiang"
    } else if regions.is_within(region, "yrd") {
        "yrd"
    } else if regions.is_within(region, "east-china") {
        "east-china"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::centre::CentreKind;
    use crate::id::{CentreId, ProviderId};

    fn centre(n: u64, region: &str, status: PartnerStatus) -> Centre {
        Centre {
            id: CentreId::generate(0, n),
            provider_id: ProviderId::generate(0, 0),
            name: format!("c{n}"),
            name_en: String::new(),
            kind: CentreKind::IntelligentComputing,
            region: region.into(),
            partner_status: status,
            commissioned_ms: 0,
            declared_pue: 1.2,
            racks: 200,
            rtt_ms: Default::default(),
            created_ms: 0,
        }
    }

    fn pool(c: &Centre, n: u64, model: &str, count: u32) -> Pool {
        Pool {
            id: PoolId::generate(0, n),
            centre_id: c.id.clone(),
            accelerator: model.into(),
            nodes: count,
            accelerators_per_node: 1,
            price_per_hour: Fen(100),
            partner_discount_pct: 0,
            created_ms: 0,
        }
    }

    #[test]
    fn totals_count_only_partner_pools() {
        let (cat, regions) = (Catalogue::builtin(), Regions::builtin());
        let a = centre(1, "hz-binjiang", PartnerStatus::Partner);
        let b = centre(2, "shanghai", PartnerStatus::Partner);
        let c = centre(3, "hz-xihu", PartnerStatus::Applicant);
        // 1000 H800 = 989 PFLOPS (NVIDIA); 1000 x 910B2 = 376 PFLOPS (domestic).
        let pools = [pool(&a, 1, "h800", 1000), pool(&b, 2, "ascend-910b2", 1000), pool(&c, 3, "h800", 1000)];
        // 300 busy in a's pool, 50 in c's (not a partner: not counted), 2000 claimed in b's (capped at its 1000).
        let busy = HashMap::from([(pools[0].id.clone(), 300), (pools[1].id.clone(), 2000), (pools[2].id.clone(), 50)]);
        let t = city_totals(&[a, b, c], &pools, &busy, &cat, &regions, &Policy::default());
        assert_eq!(t.accelerators_in_use, 1300);
        assert_eq!(t.by_region.values().map(|s| s.accelerators_in_use).sum::<u64>(), t.accelerators_in_use);
        assert_eq!(t.by_scope["hangzhou"].accelerators_in_use, 300);
        assert!((t.open_compute_pflops_fp16 - 1365.0).abs() < 1e-6, "{}", t.open_compute_pflops_fp16);
        assert!((t.high_performance_share - 1.0).abs() < 1e-9);
        assert!((t.domestic_share - 376.0 / 1365.0).abs() < 1e-9);
        assert_eq!(t.partner_centres, 2);
        assert_eq!(t.pools, 2);
        assert!((t.by_scope["hangzhou"].pflops_fp16 - 989.0).abs() < 1e-6);
        assert!((t.by_scope["yrd"].pflops_fp16 - 376.0).abs() < 1e-6);
        assert!(t.by_region.contains_key("hz-binjiang"));
        assert!(t.by_region.contains_key("shanghai"));
    }

    #[test]
    fn general_compute_lowers_the_high_performance_share() {
        let (cat, regions) = (Catalogue::builtin(), Regions::builtin());
        let general = cat.all().iter().find(|a| a.class == AcceleratorClass::General).unwrap();
        let a = centre(1, "hz-binjiang", PartnerStatus::Partner);
        let pools = [pool(&a, 1, "h800", 10), pool(&a, 2, &general.model, 100)];
        let t = city_totals(&[a], &pools, &HashMap::new(), &cat, &regions, &Policy::default());
        let expected = 9.89 / (9.89 + 100.0 * general.fp16_tflops / 1000.0);
        assert!((t.high_performance_share - expected).abs() < 1e-9);
    }
}
