//! Quotes: the options for a job before it is submitted — cheapest, fastest, greenest, recommended — like a price comparison.

use crate::costing::Estimate;
use crate::round::{Board, Snapshot};
use serde::Serialize;
use suanli_core::id::{JobId, TenantId};
use suanli_core::job::{Job, JobSpec};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quote {
    /// Every feasible pool's estimate (starting when its gang fits), best objective first.
    pub options: Vec<Estimate>,
    /// Indexes into `options`.
    pub cheapest: Option<usize>,
    pub fastest: Option<usize>,
    pub greenest: Option<usize>,
    pub recommended: Option<usize>,
}

/// Estimates a job on every feasible pool. A pool without room now is quoted with the wait until
/// enough running jobs are expected to end; a pool that can never hold the gang is left out.
pub fn quote(snap: Snapshot<'_>, tenant: &TenantId, spec: &JobSpec, limit: usize) -> Quote {
    let empty = Quote { options: Vec::new(), cheapest: None, fastest: None, greenest: None, recommended: None };
    if snap.pools.is_empty() || snap.centres.is_empty() || snap.catalogue.all().is_empty() {
        return empty;
    }
    let job = Job::pending(JobId::generate(snap.now_ms, 0), tenant.clone(), spec.clone(), snap.now_ms);
    let mut board = Board::new(snap);
    let mut options = Vec::new();
    for i in board.feasible(&job) {
        let wait_s = if board.free[i] >= spec.accelerators {
            0.0
        } else {
            let mut ends: Vec<(i64, u32)> = board.running[i].iter().map(|r| (r.est_end_ms.max(snap.now_ms), r.accelerators)).collect();
            ends.sort();
            let mut free = board.free[i];
            match ends.into_iter().find(|(_, a)| {
                free += a;
                free >= spec.accelerators
            }) {
                Some((t, _)) => (t - snap.now_ms) as f64 / 1000.0,
                None => continue,
            }
        };
        options.push(board.estimate_on(&job, i, wait_s));
    }
    options.sort_by(|a, b| a.score_yuan.total_cmp(&b.score_yuan).then_with(|| a.pool.cmp(&b.pool)));
    // Keep the winners of each criterion even when the list is cut.
    let pick = |key: &dyn Fn(&Estimate) -> f64, opts: &[Estimate]| {
        opts.iter().enumerate().min_by(|a, b| key(a.1).total_cmp(&key(b.1))).map(|(i, _)| i)
    };
    let winners = [pick(&|e| e.total_cost().0 as f64, &options), pick(&|e| e.completion_s(), &options), pick(&|e| e.carbon_kg, &options)];
    let mut kept: Vec<Estimate> = Vec::new();
    for (i, e) in options.iter().enumerate() {
        if kept.len() < limit || winners.contains(&Some(i)) {
            kept.push(e.clone());
        }
    }
    Quote {
        cheapest: pick(&|e| e.total_cost().0 as f64, &kept),
        fastest: pick(&|e| e.completion_s(), &kept),
        greenest: pick(&|e| e.carbon_kg, &kept),
        recommended: (!kept.is_empty()).then_some(0),
        options: kept,
    }
}
