//! Suanli's scheduler: feasibility, per-pool estimates (money, carbon, network, time), rounds, quotes, and the exact batch solver.
//!
//! - [`misfit`] / [`ever_feasible`]: the static rules (partner centre, accepted model, gang fits
//!   one pool, max price, latency SLO).
//! - [`speed`]: heterogeneity: run time per accelerator model.
//! - [`costing`]: the estimate of one job on one pool and the objective.
//! - [`round`]: one scheduling round for the `suanli` policy and the baselines.
//! - [`timeslice`]: time-sliced rounds (leases, preemption, migration with a restore cost).
//! - [`quote`]: options for a job before it is submitted.
//! - [`explain`]: a placement's explanation, packed for the store and read back.
//! - [`exact`]: the batch objective, the MILP optimum (good_lp), and the optimality gap.
//!
//! Pure: the caller passes a snapshot and gets decisions back; no I/O, no clock, no randomness.

pub mod costing;
pub mod driver;
pub mod exact;
pub mod explain;
pub mod quote;
pub mod round;
pub mod speed;
pub mod timeslice;

pub use costing::{Estimate, EstimateView, SchedConfig};
pub use explain::Decision;
pub use round::{Placement, PolicyKind, PoolLoad, RoundOutcome, RunningJob, Snapshot, TenantUsage, Wait, schedule};
pub use speed::SpeedModel;

use std::collections::HashMap;
use suanli_core::catalogue::Catalogue;
use suanli_core::centre::{Centre, PartnerStatus, Pool};
use suanli_core::id::CentreId;
use suanli_core::job::JobSpec;
use suanli_core::region::Regions;

/// Why a pool cannot run a job even when empty (defined with the job reasons it becomes).
pub use suanli_core::reason::Misfit;

/// The static checks, ignoring current load.
pub fn misfit(spec: &JobSpec, pool: &Pool, centre: &Centre, catalogue: &Catalogue, regions: &Regions) -> Option<Misfit> {
    if centre.partner_status != PartnerStatus::Partner {
        return Some(Misfit::CentreNotPartner);
    }
    if !catalogue.get(&pool.accelerator).is_some_and(|a| spec.accepts(a)) {
        return Some(Misfit::ModelNotAccepted);
    }
    if pool.capacity() < spec.accelerators {
        return Some(Misfit::TooSmall);
    }
    if spec.max_price_per_hour.is_some_and(|max| pool.effective_price() > max) {
        return Some(Misfit::TooExpensive);
    }
    if let (Some(slo), Some(users)) = (spec.latency_slo_ms, spec.users_region.as_deref())
        && centre.rtt_to(regions, users).is_none_or(|rtt| rtt > slo)
    {
        return Some(Misfit::TooFar);
    }
    None
}

/// Ok when at least one pool could run the job when empty; otherwise the furthest check any pool reached.
pub fn ever_feasible(spec: &JobSpec, centres: &[Centre], pools: &[Pool], catalogue: &Catalogue, regions: &Regions) -> Result<(), Misfit> {
    let by_id: HashMap<&CentreId, &Centre> = centres.iter().map(|c| (&c.id, c)).collect();
    let mut furthest = Misfit::CentreNotPartner;
    for pool in pools {
        let Some(centre) = by_id.get(&pool.centre_id) else {
            continue;
        };
        match misfit(spec, pool, centre, catalogue, regions) {
            None => return Ok(()),
            Some(m) => furthest = furthest.max(m),
        }
    }
    Err(furthest)
}

#[cfg(test)]
mod tests;
