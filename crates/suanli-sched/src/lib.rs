//! Placement: which pools could ever run a job, and the choice of a pool for each pending job.
//!
//! This is the first, simple policy: every pending job, highest priority first and then
//! oldest first, goes to the cheapest pool (after partner discount) that is feasible and has
//! enough free accelerators for the whole gang. The scheduler issue replaces the choice with
//! a cost-, carbon- and latency-aware optimiser; the feasibility rules stay.
//!
//! Pure: the caller passes a snapshot (centres, pools, free capacity) and gets decisions back.

use std::collections::HashMap;
use suanli_core::catalogue::Catalogue;
use suanli_core::centre::{Centre, PartnerStatus, Pool};
use suanli_core::id::{CentreId, JobId, PoolId};
use suanli_core::job::{Job, JobSpec};
use suanli_core::money::Fen;
use suanli_core::region::Regions;

/// Why a pool cannot run a job even when empty, in the order the checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Misfit {
    CentreNotPartner,
    ModelNotAccepted,
    TooSmall,
    TooExpensive,
    TooFar,
}

impl Misfit {
    pub fn describe(self) -> &'static str {
        match self {
            Misfit::CentreNotPartner => {
                "no partner centre offers it (applicant and suspended centres take no jobs)"
            }
            Misfit::ModelNotAccepted => {
                "no pool has an accelerator model that meets the requirement"
            }
            Misfit::TooSmall => {
                "no pool of an acceptable model has enough accelerators for the whole gang"
            }
            Misfit::TooExpensive => {
                "every pool that fits costs more than the job's max price per accelerator-hour"
            }
            Misfit::TooFar => "no pool that fits is within the latency SLO of the users' region",
        }
    }
}

/// The static checks, ignoring current load.
pub fn misfit(
    spec: &JobSpec,
    pool: &Pool,
    centre: &Centre,
    catalogue: &Catalogue,
    regions: &Regions,
) -> Option<Misfit> {
    if centre.partner_status != PartnerStatus::Partner {
        return Some(Misfit::CentreNotPartner);
    }
    if !catalogue
        .get(&pool.accelerator)
        .is_some_and(|a| spec.accepts(a))
    {
        return Some(Misfit::ModelNotAccepted);
    }
    if pool.capacity() < spec.accelerators {
        return Some(Misfit::TooSmall);
    }
    if spec
        .max_price_per_hour
        .is_some_and(|max| pool.effective_price() > max)
    {
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
pub fn ever_feasible(
    spec: &JobSpec,
    centres: &[Centre],
    pools: &[Pool],
    catalogue: &Catalogue,
    regions: &Regions,
) -> Result<(), Misfit> {
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

/// One pending job's outcome in a round.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Place {
        job: JobId,
        pool: PoolId,
        centre: CentreId,
        price_per_hour: Fen,
    },
    Wait {
        job: JobId,
        reason: String,
    },
}

/// Places pending jobs in priority order on the cheapest feasible pool with room, updating `free`.
///
/// `free` maps each pool to its free accelerators; pools missing from it count as full.
/// Ties on price go to the pool with more free accelerators, then the smaller id, so the
/// result depends only on the inputs.
pub fn place_round(
    pending: &[Job],
    centres: &[Centre],
    pools: &[Pool],
    free: &mut HashMap<PoolId, u32>,
    catalogue: &Catalogue,
    regions: &Regions,
) -> Vec<Decision> {
    let by_id: HashMap<&CentreId, &Centre> = centres.iter().map(|c| (&c.id, c)).collect();
    let mut order: Vec<&Job> = pending.iter().collect();
    order.sort_by(|a, b| {
        b.spec
            .priority
            .cmp(&a.spec.priority)
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut out = Vec::with_capacity(order.len());
    for job in order {
        let mut best: Option<(&Pool, Fen, u32)> = None;
        let mut fits_when_free = false;
        for pool in pools {
            let Some(centre) = by_id.get(&pool.centre_id) else {
                continue;
            };
            if misfit(&job.spec, pool, centre, catalogue, regions).is_some() {
                continue;
            }
            fits_when_free = true;
            let room = free.get(&pool.id).copied().unwrap_or(0);
            if room < job.spec.accelerators {
                continue;
            }
            let price = pool.effective_price();
            let better = match best {
                None => true,
                Some((bp, bprice, broom)) => {
                    (price, std::cmp::Reverse(room), &pool.id)
                        < (bprice, std::cmp::Reverse(broom), &bp.id)
                }
            };
            if better {
                best = Some((pool, price, room));
            }
        }
        match best {
            Some((pool, price, _)) => {
                *free.entry(pool.id.clone()).or_insert(0) -= job.spec.accelerators;
                out.push(Decision::Place {
                    job: job.id.clone(),
                    pool: pool.id.clone(),
                    centre: pool.centre_id.clone(),
                    price_per_hour: price,
                });
            }
            None => {
                let reason = if fits_when_free {
                    format!(
                        "waiting for {} free accelerators in a feasible pool",
                        job.spec.accelerators
                    )
                } else {
                    let all: Vec<Centre> = centres.to_vec();
                    match ever_feasible(&job.spec, &all, pools, catalogue, regions) {
                        Err(m) => m.describe().to_string(),
                        Ok(()) => "no feasible pool".to_string(),
                    }
                };
                out.push(Decision::Wait {
                    job: job.id.clone(),
                    reason,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
