//! The head of the queue: the first waiting jobs in the order a policy considers them, so that a round over a long backlog decides over about as many jobs as it could place rather than over every waiting one.

use super::{PolicyKind, Snapshot, arrival_order, fair_order};
use std::collections::HashMap;
use suanli_core::centre::PartnerStatus;
use suanli_core::id::CentreId;
use suanli_core::job::Job;
use suanli_core::money::Fen;

/// The first `n` of `pending` in the order `policy` considers them: for `suanli`, priority,
/// then weighted fair share (grown as each job is taken), then age; for the baselines, their own
/// order. All of them, in their given order, when there are no more than `n`.
///
/// A round over the head considers its jobs in the same order as a round over every job (a
/// tenant's share grows only as its own jobs are taken, and each tenant's jobs are taken oldest
/// first, so the head's own order is the full order's prefix): where free capacity rather than
/// the queue is the limit, it places the same jobs. A job beyond the head moves into it as the
/// jobs ahead of it are placed or leave. Jobs no pool of the city could run even when empty
/// ride along in the head without counting towards `n`, so that they cannot fill it and stall
/// the queue (they are told why in the round).
pub fn queue_head<'j>(snap: &Snapshot<'_>, pending: &'j [Job], policy: PolicyKind, n: usize) -> Vec<&'j Job> {
    if pending.len() <= n {
        return pending.iter().collect();
    }
    let reach = Reach::of(snap);
    let counts = |j: &Job| reach.may_run(snap, j);
    match policy {
        PolicyKind::Suanli => fair_order(pending, snap, false, n, &counts).into_iter().map(|(j, _)| j).collect(),
        PolicyKind::FairAgnostic => fair_order(pending, snap, true, n, &counts).into_iter().map(|(j, _)| j).collect(),
        PolicyKind::FifoFirstFit | PolicyKind::CheapestFirst => arrival_order(pending, n, &counts),
    }
}

/// Per accelerator model, the largest pool and the lowest price per accelerator-hour at partner
/// centres: enough to rule out, cheaply, a job no pool could ever run. It over-approximates (the
/// largest and the cheapest pool may differ; the latency SLO is not checked), so a job it lets
/// through may still never fit, but a job it rules out never fits.
struct Reach<'a> {
    by_model: HashMap<&'a str, (u32, Fen)>,
}

impl<'a> Reach<'a> {
    fn of(snap: &Snapshot<'a>) -> Reach<'a> {
        let partners: HashMap<&CentreId, bool> = snap.centres.iter().map(|c| (&c.id, c.partner_status == PartnerStatus::Partner)).collect();
        let mut by_model: HashMap<&str, (u32, Fen)> = HashMap::new();
        for p in snap.pools.iter().map(|l| &l.pool).filter(|p| partners.get(&p.centre_id).copied().unwrap_or(false)) {
            let e = by_model.entry(p.accelerator.as_str()).or_insert((0, p.effective_price()));
            *e = (e.0.max(p.capacity()), e.1.min(p.effective_price()));
        }
        Reach { by_model }
    }

    fn may_run(&self, snap: &Snapshot<'_>, job: &Job) -> bool {
        snap.catalogue.all().iter().filter(|a| job.spec.accepts(a)).any(|a| {
            self.by_model.get(a.model.as_str()).is_some_and(|(largest, cheapest)| {
                *largest >= job.spec.accelerators && job.spec.max_price_per_hour.is_none_or(|max| *cheapest <= max)
            })
        })
    }
}
