//! The city's headline figures, each defined once and shown alike by the overview, the energy page and the API: open compute with the accelerators in use (in all and by region, and on the map with each region's worst PUE), the new data centres over the PUE limit (named), and what the platform schedules at each centre (the lifecycle rule's load).

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use suanli_core::catalogue::Catalogue;
use suanli_core::centre::{Centre, Pool};
use suanli_core::city::{CityTotals, ComputeSlice, Policy, city_totals};
use suanli_core::id::{CentreId, PoolId};
use suanli_core::region::{HOME_CITY, RegionKind, Regions};
use suanli_core::time::UnixMs;
use suanli_energy::{EnergyBook, Load};
use suanli_store::{Store, StoreError};

/// The registry's centres and pools, read once for a view that needs them several times (the
/// overview's tiles, trends and map; each used to read them again, which with 1,000 centres was
/// most of the page's time).
#[derive(Debug, Clone, Default)]
pub struct Registry {
    pub centres: Vec<Centre>,
    pub pools: Vec<Pool>,
}

impl Registry {
    pub async fn read(store: &Store) -> Result<Registry, StoreError> {
        Ok(Registry { centres: store.centres(None).await?, pools: store.pools().await? })
    }
}

/// Accelerators running jobs now, per pool, as the store records running jobs.
pub async fn busy_by_pool(store: &Store) -> Result<HashMap<PoolId, u64>, StoreError> {
    let mut busy: HashMap<PoolId, u64> = HashMap::new();
    for (_, pool, n) in store.busy_accelerators(None).await? {
        *busy.entry(pool).or_default() += n.max(0) as u64;
    }
    Ok(busy)
}

/// The registry's centres and the city's compute totals over them: open compute (partner
/// centres' pools) and, of its accelerators, those in use now. The overview's tile, its region
/// table and `GET /api/v1/city/summary` all read `accelerators_in_use` from here, so the regions
/// sum to the tile.
pub async fn compute(
    store: &Store,
    catalogue: &Catalogue,
    regions: &Regions,
    policy: &Policy,
) -> Result<(Vec<Centre>, CityTotals), StoreError> {
    let registry = Registry::read(store).await?;
    let totals = compute_with(store, &registry, catalogue, regions, policy).await?;
    Ok((registry.centres, totals))
}

/// [`compute`] over a registry already read.
pub async fn compute_with(
    store: &Store,
    registry: &Registry,
    catalogue: &Catalogue,
    regions: &Regions,
    policy: &Policy,
) -> Result<CityTotals, StoreError> {
    let busy = busy_by_pool(store).await?;
    Ok(city_totals(&registry.centres, &registry.pools, &busy, catalogue, regions, policy))
}

/// A new data centre whose annualised PUE is at or over the limit, named for pages and the API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverPueLimit {
    pub id: CentreId,
    pub name: String,
    pub name_en: String,
    /// As reported: rounded to two decimals.
    pub annualised_pue: f64,
}

/// The new data centres over the PUE limit at `now_ms`: the energy book's one rule
/// ([`EnergyBook::over_new_dc_limit`], the same check as the evaluation's `policy`), named from
/// the registry, worst first (ties by id).
pub fn over_pue_limit(book: &EnergyBook, now_ms: UnixMs, centres: &[Centre]) -> Vec<OverPueLimit> {
    let by_id: HashMap<&CentreId, &Centre> = centres.iter().map(|c| (&c.id, c)).collect();
    let mut out: Vec<OverPueLimit> = book
        .over_new_dc_limit(now_ms)
        .into_iter()
        .map(|(id, pue)| {
            let (name, name_en) = by_id.get(&id).map_or_else(|| (id.to_string(), id.to_string()), |c| (c.name.clone(), c.name_en.clone()));
            OverPueLimit { id, name, name_en, annualised_pue: pue }
        })
        .collect();
    out.sort_by(|a, b| b.annualised_pue.total_cmp(&a.annualised_pue).then_with(|| a.id.cmp(&b.id)));
    out
}

/// A region's figures on the city map: its centres, open compute's accelerators and those in
/// use (partner centres, as the overview's region table counts them), and the worst PUE of its
/// centres over the last 30 days.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RegionFigures {
    pub centres: Vec<CentreId>,
    pub accelerators: u64,
    pub accelerators_in_use: u64,
    pub worst_pue_30d: Option<f64>,
}

/// Every region with a centre, keyed as the overview's region table (`city::region_bucket`: a
/// district of the home city, else the enclosing city or province); `open` is that table
/// ([`CityTotals::by_region`]); `points` are the city's centres ([`centre_points`]), whose
/// worst 30-day PUE is their region's.
pub fn by_region(open: &BTreeMap<String, ComputeSlice>, points: &[CentrePoint]) -> BTreeMap<String, RegionFigures> {
    let mut out: BTreeMap<String, RegionFigures> = BTreeMap::new();
    for c in points {
        let r = out.entry(c.region.clone()).or_default();
        r.centres.push(c.id.clone());
        if let Some(p) = c.pue_30d {
            r.worst_pue_30d = Some(r.worst_pue_30d.map_or(p, |w: f64| w.max(p)));
        }
    }
    for (k, slice) in open {
        let r = out.entry(k.clone()).or_default();
        r.accelerators = slice.accelerators;
        r.accelerators_in_use = slice.accelerators_in_use;
    }
    out
}

/// A centre's PUE over the last 30 days as reported (two decimals), if measured: each centre's
/// point on the map, and the figure whose worst is its region's.
fn pue_30d(book: &EnergyBook, centre: &CentreId, now_ms: UnixMs) -> Option<f64> {
    let p = book.pue(centre, now_ms - 30 * suanli_core::time::MS_PER_DAY, now_ms).ok()?.value?;
    Some(suanli_energy::grade::reported(p))
}

/// A centre on the city map: the region's square it sits in (keyed as [`by_region`]), the dense
/// FP16 peak of all its pools (partner or not), and its PUE over the last 30 days.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CentrePoint {
    pub id: CentreId,
    pub name: String,
    pub name_en: String,
    pub region: String,
    pub pflops_fp16: f64,
    pub pue_30d: Option<f64>,
}

/// Every centre as a point on the map, in id order; pools of models the catalogue does not know
/// count for nothing.
pub fn centre_points(
    centres: &[Centre],
    pools: &[Pool],
    catalogue: &Catalogue,
    book: &EnergyBook,
    regions: &Regions,
    now_ms: UnixMs,
) -> Vec<CentrePoint> {
    let mut pflops: HashMap<&CentreId, f64> = HashMap::new();
    for p in pools {
        let tflops = catalogue.get(&p.accelerator).map_or(0.0, |a| a.fp16_tflops);
        *pflops.entry(&p.centre_id).or_default() += f64::from(p.capacity()) * tflops / 1000.0;
    }
    let mut out: Vec<CentrePoint> = centres
        .iter()
        .map(|c| CentrePoint {
            id: c.id.clone(),
            name: c.name.clone(),
            name_en: c.name_en.clone(),
            region: suanli_core::city::region_bucket(regions, &c.region),
            pflops_fp16: pflops.get(&c.id).copied().unwrap_or(0.0),
            pue_30d: pue_30d(book, &c.id, now_ms),
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// Which centres are near enough to take each other's load: Hangzhou for its districts, else
/// the enclosing province (or the region itself when it has none).
pub fn area(regions: &Regions, region: &str) -> String {
    if regions.is_within(region, HOME_CITY) {
        return HOME_CITY.to_string();
    }
    regions.enclosing(region, RegionKind::Province).map_or_else(|| region.to_string(), |r| r.id.clone())
}

/// What the platform schedules at each centre with pools, for the lifecycle score and its merge
/// rule: utilisation (accelerator-time its jobs ran over the last 30 days, or since the first
/// job if later, against its pools' capacity over that time), accelerators and area. Empty
/// (utilisation unknown) until the platform has started a job.
pub async fn loads(store: &Store, regions: &Regions, now_ms: UnixMs) -> Result<BTreeMap<CentreId, Load>, StoreError> {
    let (first, busy) = store.busy_accelerator_ms(suanli_energy::utilisation::window_start(now_ms), now_ms).await?;
    if first.is_none() {
        return Ok(BTreeMap::new());
    }
    let mut capacity: HashMap<CentreId, u32> = HashMap::new();
    for p in store.pools().await? {
        *capacity.entry(p.centre_id.clone()).or_default() += p.capacity();
    }
    let utilisation =
        suanli_energy::utilisation::utilisation(now_ms, first, &busy, capacity.iter().map(|(c, n)| (c.clone(), f64::from(*n))));
    let mut out = BTreeMap::new();
    for centre in store.centres(None).await? {
        let (Some(&u), Some(&accelerators)) = (utilisation.get(&centre.id), capacity.get(&centre.id)) else { continue };
        out.insert(centre.id.clone(), Load { utilisation: u, accelerators, area: area(regions, &centre.region) });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The limit the pages and the API show (the city policy) is the one the energy book judges
    /// by, and the two crates' defaults agree.
    #[test]
    fn the_shown_pue_limit_is_the_judged_one() {
        let judged = crate::energy::config_for(&Policy::default()).policy;
        assert_eq!(Policy::default().new_dc_pue_limit, judged.pue_below);
        assert_eq!(suanli_energy::EnergyConfig::default().policy, judged);
    }

    /// Another limit is judged too: a centre at 1.27 passes under 1.30 and fails under 1.25.
    #[test]
    fn a_non_default_pue_limit_is_the_judged_one() {
        let policy = Policy { new_dc_pue_limit: 1.30, ..Policy::default() };
        let config = crate::energy::config_for(&policy);
        assert_eq!(config.policy.pue_below, 1.30);
        let book = suanli_energy::EnergyBook::new(config.clone()).unwrap();
        assert_eq!(book.config().policy.pue_below, policy.new_dc_pue_limit);
        let dc = suanli_energy::DataCentre {
            id: CentreId::generate(1, 1),
            rated_kw: 500.0,
            racks: 20,
            commissioned_ms: suanli_core::time::parse_date("2025-01-01").unwrap(),
            cooling: suanli_energy::Cooling::Air,
            edge: false,
            meters: Vec::new(),
        };
        let since = config.policy.new_since_ms().unwrap();
        let check = |limit: f64| {
            let judged = crate::energy::config_for(&Policy { new_dc_pue_limit: limit, ..Policy::default() }).policy;
            suanli_energy::grade::policy_check(&dc, Some(1.27), &judged, since).outcome
        };
        assert_eq!(check(1.30), suanli_energy::grade::PolicyOutcome::Pass);
        assert_eq!(check(1.25), suanli_energy::grade::PolicyOutcome::Fail);
    }

    #[test]
    fn areas_are_hangzhou_for_its_districts_and_the_province_elsewhere() {
        let regions = Regions::builtin();
        assert_eq!(area(&regions, "hz-xihu"), HOME_CITY);
        assert_eq!(area(&regions, "hz-binjiang"), HOME_CITY);
        let shanghai = area(&regions, "shanghai");
        assert_ne!(shanghai, HOME_CITY);
        assert_eq!(area(&regions, "no-such-region"), "no-such-region");
    }
}
