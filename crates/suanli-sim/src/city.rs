//! Cities to run on: the demo city's file format (shared with `serve --demo`), and synthetic cities of any size.

use crate::rng::SplitMix;
use serde::Deserialize;
use std::collections::BTreeMap;
use suanli_core::catalogue::{AcceleratorClass, Catalogue};
use suanli_core::centre::{Centre, CentreKind, NewCentre, NewPool, PartnerStatus, Pool};
use suanli_core::id::{CentreId, PoolId, ProviderId};
use suanli_core::money::Fen;
use suanli_core::region::{RegionKind, Regions};
use suanli_core::time::parse_date;

/// The demo Hangzhou (`data/demo-city.toml`), compiled in.
pub const DEMO_CITY_TOML: &str = include_str!("../../../data/demo-city.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoCity {
    pub provider: Vec<DemoProvider>,
    pub centre: Vec<DemoCentre>,
    pub tenant: Vec<DemoTenant>,
    pub workload: Workload,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoProvider {
    pub key: String,
    pub name_zh: String,
    pub name_en: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoCentre {
    pub key: String,
    pub name_zh: String,
    pub name_en: String,
    pub kind: String,
    pub region: String,
    pub provider: String,
    pub partner_status: String,
    pub commissioned: String,
    pub declared_pue: f64,
    pub racks: u32,
    pub rtt_ms: BTreeMap<String, f64>,
    pub pool: Vec<DemoPool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoPool {
    pub accelerator: String,
    pub nodes: u32,
    pub accelerators_per_node: u32,
    pub price_yuan_per_hour: String,
    pub partner_discount_pct: u8,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoTenant {
    pub name_zh: String,
    pub name_en: String,
    pub uscc: String,
    pub sme: bool,
    pub region: String,
}

/// Parameters of the demo's job stream (see the data file for how each was derived).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    pub jobs_per_minute: f64,
    pub time_scale: f64,
    pub gang_sizes: Vec<u32>,
    pub gang_weights: Vec<f64>,
    pub duration_lognormal_mu: f64,
    pub duration_lognormal_sigma: f64,
    pub duration_min_s: i64,
    pub duration_max_s: i64,
    pub kind_weights: BTreeMap<String, f64>,
}

impl DemoCity {
    /// The demo city compiled into the binary.
    pub fn builtin() -> DemoCity {
        DemoCity::from_toml(DEMO_CITY_TOML).expect("the built-in demo city parses (a test checks it)")
    }

    /// Parses a city file in the demo city's format.
    pub fn from_toml(text: &str) -> Result<DemoCity, String> {
        let city: DemoCity = toml::from_str(text).map_err(|e| format!("city file: {e}"))?;
        if city.workload.gang_sizes.len() != city.workload.gang_weights.len() {
            return Err("city file: gang_sizes and gang_weights differ in length".into());
        }
        Ok(city)
    }
}

/// Gavel's worker types and the catalogue models that stand for them (Gavel's V100s are the
/// 16 GB cloud parts; its K80 is one GK210 die, as the catalogue's `k80`).
pub const GAVEL_WORKERS: [(&str, &str); 3] = [("v100", "v100-16g"), ("p100", "p100"), ("k80", "k80")];

/// Parses Gavel's `v100:p100:k80` triple, e.g. "36:36:36".
pub fn parse_triple(s: &str) -> Result<[u32; 3], String> {
    let parts: Vec<&str> = s.split(':').collect();
    let [a, b, c] = parts[..] else {
        return Err(format!("expected V100:P100:K80 counts like 36:36:36, found '{s}'"));
    };
    let n = |x: &str| x.trim().parse::<u32>().map_err(|_| format!("'{x}' in '{s}' is not a whole number"));
    Ok([n(a)?, n(b)?, n(c)?])
}

/// The centres and pools a simulation runs on.
#[derive(Debug, Clone, PartialEq)]
pub struct SimCity {
    pub centres: Vec<Centre>,
    pub pools: Vec<Pool>,
}

impl SimCity {
    /// Builds the centres and pools of a city file, with ids numbered in file order.
    /// `capacity_scale` multiplies every pool's node count (at least one node stays), so that a
    /// trace meets a city of the size that makes it queue.
    pub fn from_demo(city: &DemoCity, catalogue: &Catalogue, regions: &Regions, capacity_scale: f64) -> Result<SimCity, String> {
        if !(capacity_scale.is_finite() && capacity_scale > 0.0) {
            return Err(format!("capacity scale must be positive, not {capacity_scale}"));
        }
        let providers: BTreeMap<&str, ProviderId> =
            city.provider.iter().enumerate().map(|(i, p)| (p.key.as_str(), ProviderId::generate(0, i as u64 + 1))).collect();
        let mut out = SimCity { centres: Vec::new(), pools: Vec::new() };
        for (ci, c) in city.centre.iter().enumerate() {
            let new = NewCentre {
                provider_id: providers
                    .get(c.provider.as_str())
                    .cloned()
                    .ok_or_else(|| format!("centre {}: unknown provider {}", c.key, c.provider))?,
                name: c.name_zh.clone(),
                name_en: c.name_en.clone(),
                kind: CentreKind::parse(&c.kind).ok_or_else(|| format!("centre {}: kind {}", c.key, c.kind))?,
                region: c.region.clone(),
                partner_status: PartnerStatus::parse(&c.partner_status)
                    .ok_or_else(|| format!("centre {}: partner status {}", c.key, c.partner_status))?,
                commissioned_ms: parse_date(&c.commissioned).map_err(|e| format!("centre {}: {}", c.key, e.message))?,
                declared_pue: c.declared_pue,
                racks: c.racks,
                rtt_ms: c.rtt_ms.iter().map(|(k, v)| (k.clone(), v.round().max(1.0) as u32)).collect(),
            };
            new.validate(regions).map_err(|e| format!("centre {}: {}", c.key, e.message))?;
            let centre = centre_of(CentreId::generate(0, ci as u64 + 1), new);
            for (pi, p) in c.pool.iter().enumerate() {
                let np = NewPool {
                    accelerator: p.accelerator.clone(),
                    nodes: ((p.nodes as f64 * capacity_scale).round() as u32).max(1),
                    accelerators_per_node: p.accelerators_per_node,
                    price_per_hour: Fen::parse_yuan(&p.price_yuan_per_hour).map_err(|e| e.message)?,
                    partner_discount_pct: p.partner_discount_pct,
                };
                np.validate(catalogue).map_err(|e| format!("centre {} pool {}: {}", c.key, p.accelerator, e.message))?;
                out.pools.push(pool_of(PoolId::generate(0, (ci * 100 + pi) as u64 + 1), &centre.id, np));
            }
            out.centres.push(centre);
        }
        Ok(out)
    }

    /// A synthetic city: `centres` partner centres spread over Hangzhou (half), the rest of
    /// Zhejiang, the Yangtze River Delta and East China, each with `pools_per_centre` pools of
    /// accelerator models drawn from the catalogue, priced from their TFLOPS with noise.
    pub fn synthetic(centres: usize, pools_per_centre: usize, seed: u64, catalogue: &Catalogue, regions: &Regions) -> SimCity {
        let mut rng = SplitMix::new(seed);
        let districts: Vec<&str> = regions.all().iter().filter(|r| r.kind == RegionKind::District).map(|r| r.id.as_str()).collect();
        let cities: Vec<&str> =
            regions.all().iter().filter(|r| r.kind == RegionKind::City && r.id != "hangzhou").map(|r| r.id.as_str()).collect();
        let provinces: Vec<&str> = regions
            .all()
            .iter()
            .filter(|r| r.kind == RegionKind::Province && !regions.is_within(&r.id, "yrd"))
            .map(|r| r.id.as_str())
            .collect();
        let models: Vec<_> = catalogue.all().iter().filter(|a| a.class != AcceleratorClass::General).collect();
        let mut out = SimCity { centres: Vec::new(), pools: Vec::new() };
        for ci in 0..centres {
            let roll = rng.next_f64();
            let region = if roll < 0.5 || cities.is_empty() {
                districts[rng.below(districts.len())]
            } else if roll < 0.9 || provinces.is_empty() {
                cities[rng.below(cities.len())]
            } else {
                provinces[rng.below(provinces.len())]
            };
            let edge = rng.next_f64() < 0.15;
            let rtt = synthetic_rtt(regions, region);
            let centre = centre_of(
                CentreId::generate(1, ci as u64 + 1),
                NewCentre {
                    provider_id: ProviderId::generate(1, (ci % 50) as u64 + 1),
                    name: format!("synthetic-{ci}"),
                    name_en: format!("synthetic-{ci}"),
                    kind: if edge { CentreKind::Edge } else { CentreKind::IntelligentComputing },
                    region: region.to_string(),
                    partner_status: PartnerStatus::Partner,
                    commissioned_ms: parse_date("2022-01-01").unwrap_or(0),
                    declared_pue: 1.1 + rng.next_f64() * 0.5,
                    racks: if edge { 20 } else { 400 },
                    rtt_ms: rtt,
                },
            );
            for pi in 0..pools_per_centre {
                let acc = models[rng.below(models.len())];
                let per_node = if edge { 4 } else { 8 };
                let nodes = if edge { 1 + rng.below(4) as u32 } else { 4 + rng.below(60) as u32 };
                // About ¥0.025 per TFLOPS-hour, +-30%: an H800 near ¥25, a 910B near ¥9.
                let price = (acc.fp16_tflops * 2.5 * (0.7 + 0.6 * rng.next_f64())).round().max(10.0) as i64;
                out.pools.push(pool_of(
                    PoolId::generate(1, (ci * 1000 + pi) as u64 + 1),
                    &centre.id,
                    NewPool {
                        accelerator: acc.model.clone(),
                        nodes,
                        accelerators_per_node: per_node,
                        price_per_hour: Fen(price),
                        partner_discount_pct: (rng.below(4) * 5) as u8,
                    },
                ));
            }
            out.centres.push(centre);
        }
        out
    }

    /// Gavel's cluster: one partner centre holding only V100, P100 and K80 servers, `gpus[i]`
    /// GPUs of each in servers of `gpus_per_server[i]` (Gavel's `-c v100:p100:k80`, one GPU a
    /// server unless told otherwise). A type with no GPUs gets no pool.
    pub fn gavel(gpus: [u32; 3], gpus_per_server: [u32; 3], catalogue: &Catalogue) -> Result<SimCity, String> {
        let centre = centre_of(
            CentreId::generate(2, 1),
            NewCentre {
                provider_id: ProviderId::generate(2, 1),
                name: "Gavel cluster".into(),
                name_en: "Gavel cluster".into(),
                kind: CentreKind::IntelligentComputing,
                region: "hz-xihu".into(),
                partner_status: PartnerStatus::Partner,
                commissioned_ms: 0,
                declared_pue: 1.2,
                racks: 10,
                rtt_ms: BTreeMap::new(),
            },
        );
        let mut pools = Vec::new();
        for (i, (worker, model)) in GAVEL_WORKERS.iter().enumerate() {
            let (n, per) = (gpus[i], gpus_per_server[i]);
            if n == 0 {
                continue;
            }
            if per == 0 || n % per != 0 {
                return Err(format!("{worker}: {n} GPUs do not fill servers of {per} GPUs"));
            }
            let np = NewPool {
                accelerator: (*model).to_string(),
                nodes: n / per,
                accelerators_per_node: per,
                price_per_hour: Fen(100),
                partner_discount_pct: 0,
            };
            np.validate(catalogue).map_err(|e| format!("{worker}: {}", e.message))?;
            pools.push(pool_of(PoolId::generate(2, i as u64 + 1), &centre.id, np));
        }
        if pools.is_empty() {
            return Err("a Gavel cluster needs at least one GPU".into());
        }
        Ok(SimCity { centres: vec![centre], pools })
    }

    /// Accelerators in pools of partner centres.
    pub fn capacity(&self) -> u64 {
        let partners: std::collections::HashSet<&CentreId> =
            self.centres.iter().filter(|c| c.partner_status == PartnerStatus::Partner).map(|c| &c.id).collect();
        self.pools.iter().filter(|p| partners.contains(&p.centre_id)).map(|p| p.capacity() as u64).sum()
    }
}

fn centre_of(id: CentreId, n: NewCentre) -> Centre {
    Centre {
        id,
        provider_id: n.provider_id,
        name: n.name,
        name_en: n.name_en,
        kind: n.kind,
        region: n.region,
        partner_status: n.partner_status,
        commissioned_ms: n.commissioned_ms,
        declared_pue: n.declared_pue,
        racks: n.racks,
        rtt_ms: n.rtt_ms,
        created_ms: 0,
    }
}

fn pool_of(id: PoolId, centre: &CentreId, n: NewPool) -> Pool {
    Pool {
        id,
        centre_id: centre.clone(),
        accelerator: n.accelerator,
        nodes: n.nodes,
        accelerators_per_node: n.accelerators_per_node,
        price_per_hour: n.price_per_hour,
        partner_discount_pct: n.partner_discount_pct,
        created_ms: 0,
    }
}

/// A synthetic centre's round-trip times to each scope, in ms: 2 from Hangzhou, 6 from the
/// rest of Zhejiang, 12 from the rest of the Yangtze River Delta, 25 from beyond; to a wider
/// scope never less than that scope's own 6, 12 or 25.
fn synthetic_rtt(regions: &Regions, region: &str) -> BTreeMap<String, u32> {
    let base = if regions.is_within(region, "hangzhou") {
        2
    } else if regions.is_within(region, "zhejiang") {
        6
    } else if regions.is_within(region, "yrd") {
        12
    } else {
        25
    };
    [
        ("hangzhou".to_string(), base),
        ("zhejiang".to_string(), base.max(6)),
        ("yrd".to_string(), base.max(12)),
        ("east-china".to_string(), base.max(25)),
    ]
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gavel_clusters() {
        let cat = Catalogue::builtin();
        let c = SimCity::gavel([36, 36, 36], [1, 1, 1], &cat).unwrap();
        assert_eq!(c.centres.len(), 1);
        let pools: Vec<(&str, u32, u32)> = c.pools.iter().map(|p| (p.accelerator.as_str(), p.nodes, p.accelerators_per_node)).collect();
        assert_eq!(pools, [("v100-16g", 36, 1), ("p100", 36, 1), ("k80", 36, 1)]);
        assert_eq!(c.capacity(), 108);
        let c = SimCity::gavel([36, 36, 0], [4, 4, 4], &cat).unwrap();
        assert_eq!(c.pools.iter().map(|p| (p.nodes, p.capacity())).collect::<Vec<_>>(), [(9, 36), (9, 36)]);
        assert!(SimCity::gavel([36, 36, 36], [5, 4, 4], &cat).unwrap_err().contains("v100"));
        assert!(SimCity::gavel([0, 0, 0], [1, 1, 1], &cat).is_err());
        assert_eq!(parse_triple("36:36:36"), Ok([36, 36, 36]));
        assert_eq!(parse_triple(" 8:0:4"), Ok([8, 0, 4]));
        for bad in ["36:36", "a:1:1", "1:2:3:4", "", "-1:2:3"] {
            assert!(parse_triple(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_demo_city_builds_and_scales() {
        let (cat, reg) = (Catalogue::builtin(), Regions::builtin());
        let city = DemoCity::builtin();
        let full = SimCity::from_demo(&city, &cat, &reg, 1.0).unwrap();
        assert_eq!(full.centres.len(), city.centre.len());
        let tenth = SimCity::from_demo(&city, &cat, &reg, 0.1).unwrap();
        assert!(tenth.capacity() < full.capacity() / 5);
        assert!(SimCity::from_demo(&city, &cat, &reg, 0.0).is_err());
    }

    #[test]
    fn synthetic_cities_are_seeded() {
        let (cat, reg) = (Catalogue::builtin(), Regions::builtin());
        let a = SimCity::synthetic(50, 3, 9, &cat, &reg);
        assert_eq!((a.centres.len(), a.pools.len()), (50, 150));
        assert_eq!(a, SimCity::synthetic(50, 3, 9, &cat, &reg));
        assert_ne!(a, SimCity::synthetic(50, 3, 10, &cat, &reg));
        for c in &a.centres {
            let new = NewCentre {
                provider_id: c.provider_id.clone(),
                name: c.name.clone(),
                name_en: c.name_en.clone(),
                kind: c.kind,
                region: c.region.clone(),
                partner_status: c.partner_status,
                commissioned_ms: 0,
                declared_pue: c.declared_pue,
                racks: c.racks,
                rtt_ms: c.rtt_ms.clone(),
            };
            assert!(new.validate(&reg).is_ok(), "{c:?}");
        }
    }
}
