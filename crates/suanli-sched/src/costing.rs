//! What a placement costs: money, carbon (as money), network transfer and time, in one estimate per pool.
//!
//! Every estimate is in yuan so that the objective can add them: compute at the pool's price
//! after partner discount; data moved from the job's data region at the link's price; carbon
//! from accelerator power x run time x the centre's PUE x the grid factor of its region at that
//! hour, priced per kg; time as a value per accelerator-hour of completion time. The tenant's
//! goal reweights the three.

use serde::Serialize;
use suanli_core::catalogue::Accelerator;
use suanli_core::centre::{Centre, Pool};
use suanli_core::id::{CentreId, PoolId};
use suanli_core::job::{Goal, JobSpec};
use suanli_core::money::Fen;
use suanli_core::region::{RegionKind, Regions};
use suanli_core::time::UnixMs;

use crate::speed::SpeedModel;

/// A network link class between two regions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Link {
    pub gbps: f64,
    pub yuan_per_gb: f64,
}

/// Bandwidth and price of moving data, by the smallest region both ends share
/// (算网协同: nearer is faster and cheaper). Defaults are planning figures, configurable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkTable {
    pub same_district: Link,
    pub same_city: Link,
    pub same_province: Link,
    pub same_megaregion: Link,
    pub same_macroregion: Link,
    pub farther: Link,
}

impl Default for NetworkTable {
    fn default() -> NetworkTable {
        NetworkTable {
            same_district: Link { gbps: 40.0, yuan_per_gb: 0.0 },
            same_city: Link { gbps: 20.0, yuan_per_gb: 0.0 },
            same_province: Link { gbps: 10.0, yuan_per_gb: 0.05 },
            same_megaregion: Link { gbps: 5.0, yuan_per_gb: 0.10 },
            same_macroregion: Link { gbps: 2.0, yuan_per_gb: 0.20 },
            farther: Link { gbps: 1.0, yuan_per_gb: 0.40 },
        }
    }
}

impl NetworkTable {
    /// The link between two regions: by the kind of their lowest common ancestor.
    pub fn link(&self, regions: &Regions, a: &str, b: &str) -> Link {
        self.of_class(Self::class(regions, a, b))
    }

    /// 0 (same district) to 5 (farther than East China): nearer classes are never slower or dearer.
    pub fn class(regions: &Regions, a: &str, b: &str) -> usize {
        if a == b {
            return 0;
        }
        let ancestors: Vec<&str> = regions.ancestry(a).map(|r| r.id.as_str()).collect();
        match regions.ancestry(b).find(|r| ancestors.contains(&r.id.as_str())).map(|r| r.kind) {
            Some(RegionKind::District) => 0,
            Some(RegionKind::City) => 1,
            Some(RegionKind::Province) => 2,
            Some(RegionKind::Megaregion) => 3,
            Some(RegionKind::Macroregion) => 4,
            None => 5,
        }
    }

    pub fn of_class(&self, class: usize) -> Link {
        match class {
            0 => self.same_district,
            1 => self.same_city,
            2 => self.same_province,
            3 => self.same_megaregion,
            4 => self.same_macroregion,
            _ => self.farther,
        }
    }
}

/// The scheduler's configuration: the prices of carbon and time, the grid, the network, the rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SchedConfig {
    /// Yuan per kg CO2e (default ¥0.10/kg = ¥100/t; configurable).
    pub carbon_price_yuan_per_kg: f64,
    /// Value of one accelerator-hour of completion time, yuan.
    pub time_value_yuan_per_accel_hour: f64,
    /// In the batch objective, leaving a job unplaced this round costs its time value for this many hours.
    pub wait_penalty_hours: f64,
    /// Multipliers of the regional grid factor by local hour (UTC+8), 0..24. There is no public
    /// hourly Chinese series; the default is a solar-shaped profile (cleaner at midday).
    pub grid_hourly_profile: [f64; 24],
    /// Grid factor where the region table has none, kg CO2e/kWh.
    pub default_grid_kg_per_kwh: f64,
    pub network: NetworkTable,
    /// Preemption never discards more work than this (seconds since the victim started).
    pub max_restart_loss_s: i64,
    /// How many blocked jobs get a reservation per round (backfill never delays them).
    pub reservations: usize,
    /// How far ahead a deadline-bound job may be deferred to a cleaner hour.
    pub deferral_max_hours: u32,
    /// Defer only if the cleaner hour cuts carbon by at least this share.
    pub deferral_min_saving: f64,
    /// Alternatives recorded with each decision.
    pub top_alternatives: usize,
}

impl Default for SchedConfig {
    fn default() -> SchedConfig {
        SchedConfig {
            carbon_price_yuan_per_kg: 0.10,
            time_value_yuan_per_accel_hour: 3.0,
            wait_penalty_hours: 1.0,
            grid_hourly_profile: [
                1.05, 1.05, 1.05, 1.05, 1.05, 1.05, 1.0, 0.98, 0.95, 0.9, 0.85, 0.82, 0.8, 0.82, 0.85, 0.9, 0.95, 1.0, 1.08, 1.1, 1.1,
                1.08, 1.06, 1.05,
            ],
            default_grid_kg_per_kwh: 0.58,
            network: NetworkTable::default(),
            max_restart_loss_s: 3600,
            reservations: 8,
            deferral_max_hours: 12,
            deferral_min_saving: 0.10,
            top_alternatives: 3,
        }
    }
}

/// Weights on (money, carbon, time) for a goal.
pub fn goal_weights(goal: Goal) -> (f64, f64, f64) {
    match goal {
        Goal::Balanced => (1.0, 1.0, 1.0),
        Goal::Cheapest => (1.0, 0.1, 0.1),
        Goal::Fastest => (0.2, 0.1, 5.0),
        Goal::Greenest => (0.1, 40.0, 0.2),
    }
}

/// One pool's estimate for one job, with the breakdown an explanation shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub pool: PoolId,
    pub centre: CentreId,
    pub region: String,
    pub model: String,
    /// Run time on this model, seconds.
    pub run_s: f64,
    /// Time to move the data set here, seconds.
    pub transfer_s: f64,
    /// Seconds until the gang can start (0 when it fits now).
    pub wait_s: f64,
    pub compute_cost: Fen,
    pub transfer_cost: Fen,
    pub carbon_kg: f64,
    pub carbon_cost_yuan: f64,
    pub time_cost_yuan: f64,
    /// The weighted objective: lower is better.
    pub score_yuan: f64,
    /// Price per accelerator-hour after discount.
    pub price_per_hour: Fen,
    pub rtt_ms: Option<u32>,
}

/// An estimate as clients see it: money as yuan strings, times in seconds, carbon in kg.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EstimateView {
    pub pool_id: String,
    pub centre_id: String,
    pub region: String,
    pub accelerator: String,
    /// Seconds until the gang can start (0: room now).
    pub wait_s: f64,
    pub transfer_s: f64,
    pub run_s: f64,
    pub completion_s: f64,
    /// Compute plus data transfer, yuan.
    pub cost: String,
    pub compute_cost: String,
    pub transfer_cost: String,
    pub carbon_kg: f64,
    pub carbon_cost_yuan: f64,
    pub time_cost_yuan: f64,
    /// The weighted objective (lower is better), yuan.
    pub score_yuan: f64,
    /// Yuan per accelerator-hour after the partner discount.
    pub price_per_hour: String,
    pub rtt_ms: Option<u32>,
}

fn round_to(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

impl From<&Estimate> for EstimateView {
    fn from(e: &Estimate) -> EstimateView {
        EstimateView {
            pool_id: e.pool.to_string(),
            centre_id: e.centre.to_string(),
            region: e.region.clone(),
            accelerator: e.model.clone(),
            wait_s: round_to(e.wait_s, 1),
            transfer_s: round_to(e.transfer_s, 1),
            run_s: round_to(e.run_s, 1),
            completion_s: round_to(e.completion_s(), 1),
            cost: e.total_cost().to_yuan_string(),
            compute_cost: e.compute_cost.to_yuan_string(),
            transfer_cost: e.transfer_cost.to_yuan_string(),
            carbon_kg: round_to(e.carbon_kg, 3),
            carbon_cost_yuan: round_to(e.carbon_cost_yuan, 2),
            time_cost_yuan: round_to(e.time_cost_yuan, 2),
            score_yuan: round_to(e.score_yuan, 2),
            price_per_hour: e.price_per_hour.to_yuan_string(),
            rtt_ms: e.rtt_ms,
        }
    }
}

impl Estimate {
    pub fn view(&self) -> EstimateView {
        EstimateView::from(self)
    }

    pub fn total_cost(&self) -> Fen {
        Fen(self.compute_cost.0.saturating_add(self.transfer_cost.0))
    }
    pub fn completion_s(&self) -> f64 {
        self.wait_s + self.transfer_s + self.run_s
    }
}

/// The grid factor of a region at an instant (kg CO2e/kWh).
pub fn grid_factor(cfg: &SchedConfig, regions: &Regions, region: &str, at_ms: UnixMs) -> f64 {
    let hour = ((at_ms.div_euclid(3_600_000) + 8).rem_euclid(24)) as usize;
    regions.grid_emission(region).unwrap_or(cfg.default_grid_kg_per_kwh) * cfg.grid_hourly_profile[hour]
}

/// Everything the estimate needs that does not change between jobs.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    pub cfg: &'a SchedConfig,
    pub regions: &'a Regions,
    pub speeds: &'a SpeedModel,
    pub now_ms: UnixMs,
}

/// The numbers of an estimate, without the names (cheap to compute for every candidate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub run_s: f64,
    pub transfer_s: f64,
    pub transfer_yuan: f64,
    pub compute_cost: Fen,
    pub carbon_kg: f64,
    pub carbon_cost_yuan: f64,
    pub time_cost_yuan: f64,
    pub score_yuan: f64,
}

/// The figures of a job on a pool, given the region's base grid factor and the data link.
#[allow(clippy::too_many_arguments)]
pub fn figures(
    env: &Env<'_>,
    spec: &JobSpec,
    pool: &Pool,
    centre: &Centre,
    acc: &Accelerator,
    wait_s: f64,
    grid_base: f64,
    link: Option<Link>,
) -> Figures {
    let cfg = env.cfg;
    let run_s = env.speeds.run_seconds(spec.job_class.as_deref(), acc, spec.duration_s as f64);
    let (transfer_s, transfer_yuan) = match (link, spec.data_gb) {
        (Some(link), Some(gb)) if gb > 0.0 => (gb * 8.0 / link.gbps.max(1e-3), gb * link.yuan_per_gb),
        _ => (0.0, 0.0),
    };
    let accel = spec.accelerators as f64;
    let compute_cost = Fen::charge(pool.price_per_hour, spec.accelerators, run_s.ceil() as i64, pool.partner_discount_pct);
    let start_ms = env.now_ms + ((wait_s + transfer_s) * 1000.0) as i64;
    let hour = ((start_ms.div_euclid(3_600_000) + 8).rem_euclid(24)) as usize;
    let grid = grid_base * cfg.grid_hourly_profile[hour];
    let carbon_kg = acc.power_w as f64 / 1000.0 * accel * run_s / 3600.0 * centre.declared_pue * grid;
    let carbon_cost_yuan = carbon_kg * cfg.carbon_price_yuan_per_kg;
    let time_cost_yuan = cfg.time_value_yuan_per_accel_hour * accel * (wait_s + transfer_s + run_s) / 3600.0;
    let (wm, wc, wt) = goal_weights(spec.goal);
    let money = compute_cost.0 as f64 / 100.0 + transfer_yuan;
    Figures {
        run_s,
        transfer_s,
        transfer_yuan,
        compute_cost,
        carbon_kg,
        carbon_cost_yuan,
        time_cost_yuan,
        score_yuan: wm * money + wc * carbon_cost_yuan + wt * time_cost_yuan,
    }
}

/// Names a set of figures: the estimate an explanation shows.
pub fn named(env: &Env<'_>, spec: &JobSpec, pool: &Pool, centre: &Centre, acc: &Accelerator, wait_s: f64, f: Figures) -> Estimate {
    Estimate {
        pool: pool.id.clone(),
        centre: centre.id.clone(),
        region: centre.region.clone(),
        model: acc.model.clone(),
        run_s: f.run_s,
        transfer_s: f.transfer_s,
        wait_s,
        compute_cost: f.compute_cost,
        transfer_cost: Fen((f.transfer_yuan * 100.0).round() as i64),
        carbon_kg: f.carbon_kg,
        carbon_cost_yuan: f.carbon_cost_yuan,
        time_cost_yuan: f.time_cost_yuan,
        score_yuan: f.score_yuan,
        price_per_hour: pool.effective_price(),
        rtt_ms: spec.users_region.as_deref().and_then(|u| centre.rtt_to(env.regions, u)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_by_common_ancestor() {
        let r = Regions::builtin();
        let n = NetworkTable::default();
        assert_eq!(n.link(&r, "hz-xihu", "hz-xihu"), n.same_district);
        assert_eq!(n.link(&r, "hz-xihu", "hz-binjiang"), n.same_city);
        assert_eq!(n.link(&r, "hz-xihu", "ningbo"), n.same_province);
        assert_eq!(n.link(&r, "hz-xihu", "shanghai"), n.same_megaregion);
        assert_eq!(n.link(&r, "hz-xihu", "shandong"), n.same_macroregion);
    }

    #[test]
    fn grid_is_cleaner_at_midday_local_time() {
        let r = Regions::builtin();
        let cfg = SchedConfig::default();
        // 04:00 UTC is 12:00 in Hangzhou; 12:00 UTC is 20:00.
        let noon = grid_factor(&cfg, &r, "hz-xihu", 4 * 3_600_000);
        let evening = grid_factor(&cfg, &r, "hz-xihu", 12 * 3_600_000);
        assert!(noon < evening);
    }
}
