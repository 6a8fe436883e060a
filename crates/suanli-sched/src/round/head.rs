//! The head of the queue: the first waiting jobs in the order a policy considers them, so that a round over a long backlog decides over about as many jobs as it could place rather than over every waiting one.

use super::{PolicyKind, Snapshot, Take, arrival_order, fair_order};
use std::borrow::Borrow;
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
/// jobs ahead of it are placed or leave.
///
/// Two kinds of job do not count towards `n`, so that a flood of them cannot fill the head and
/// stall the jobs behind:
/// - a job no pool of the city could run even when empty rides along (it is told why in the
///   round);
/// - a job that some pool could run, but none has room for now (every pool of the only model
///   it accepts is busy), is *blocked*. The first `blocked` of them in order ride along, so that
///   they still preempt, reserve and backfill as they would in a round over every job; those
///   behind them are passed over and keep the reason they last had. No pool has room for a
///   passed-over job, so only a preemption could place it, and the blocked jobs ahead of it in
///   the order have that chance first.
///
/// `pending` may hold the jobs or shared references to them (`Arc<Job>`): the head borrows.
pub fn queue_head<'j, J: Borrow<Job>>(snap: &Snapshot<'_>, pending: &'j [J], policy: PolicyKind, n: usize, blocked: usize) -> Vec<&'j Job> {
    if pending.len() <= n {
        return pending.iter().map(Borrow::borrow).collect();
    }
    let reach = Reach::of(snap);
    let mut kept_blocked = 0;
    // A long queue holds few shapes of job (sweeps): each shape's standing is worked out once.
    let mut standings: HashMap<Shape<'j>, Standing> = HashMap::new();
    let mut take = |j: &'j Job| match *standings.entry(Shape::of(j)).or_insert_with(|| reach.standing(snap, j)) {
        Standing::RunsNow => Take::Counts,
        Standing::Never => Take::RidesAlong,
        Standing::Blocked if kept_blocked < blocked => {
            kept_blocked += 1;
            Take::RidesAlong
        }
        Standing::Blocked => Take::PassedOver,
    };
    match policy {
        PolicyKind::Suanli => fair_order(pending, snap, false, n, &mut take).into_iter().map(|(j, _)| j).collect(),
        PolicyKind::FairAgnostic => fair_order(pending, snap, true, n, &mut take).into_iter().map(|(j, _)| j).collect(),
        PolicyKind::FifoFirstFit | PolicyKind::CheapestFirst => arrival_order(pending, n, &mut take),
    }
}

/// What [`Reach::standing`] reads of a job's spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Shape<'j> {
    models: &'j [String],
    accelerators: u32,
    min_fp16_tflops: Option<u64>,
    min_memory_gb: Option<u32>,
    max_price_per_hour: Option<Fen>,
}

impl<'j> Shape<'j> {
    fn of(j: &'j Job) -> Shape<'j> {
        let s = &j.spec;
        Shape {
            models: &s.models,
            accelerators: s.accelerators,
            min_fp16_tflops: s.min_fp16_tflops.map(f64::to_bits),
            min_memory_gb: s.min_memory_gb,
            max_price_per_hour: s.max_price_per_hour,
        }
    }
}

/// Where a job stands against the city as the round found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    /// Some partner pool it accepts has room for it now (as far as [`Reach`] can tell).
    RunsNow,
    /// Some partner pool it accepts could run it, but none has room now.
    Blocked,
    /// No pool of the city could run it even when empty.
    Never,
}

/// Per accelerator model, the largest pool, the most free accelerators of one pool and the
/// lowest price per accelerator-hour at partner centres: enough to tell, cheaply, a job no pool
/// could ever run and a job no pool has room for now. It over-approximates (the largest, the
/// freest and the cheapest pool may differ; the latency SLO is not checked), so a job it lets
/// through may still not fit, but a job it rules out does not fit.
struct Reach<'a> {
    by_model: HashMap<&'a str, Models>,
}

/// What [`Reach`] keeps of one accelerator model.
#[derive(Debug, Clone, Copy)]
struct Models {
    largest: u32,
    freest: u32,
    cheapest: Fen,
}

impl<'a> Reach<'a> {
    fn of(snap: &Snapshot<'a>) -> Reach<'a> {
        let partners: HashMap<&CentreId, bool> = snap.centres.iter().map(|c| (&c.id, c.partner_status == PartnerStatus::Partner)).collect();
        let mut by_model: HashMap<&str, Models> = HashMap::new();
        for l in snap.pools.iter().filter(|l| partners.get(&l.pool.centre_id).copied().unwrap_or(false)) {
            let p = &l.pool;
            let e = by_model.entry(p.accelerator.as_str()).or_insert(Models { largest: 0, freest: 0, cheapest: p.effective_price() });
            e.largest = e.largest.max(p.capacity());
            e.freest = e.freest.max(l.free);
            e.cheapest = e.cheapest.min(p.effective_price());
        }
        Reach { by_model }
    }

    fn standing(&self, snap: &Snapshot<'_>, job: &Job) -> Standing {
        let mut out = Standing::Never;
        for a in snap.catalogue.all().iter().filter(|a| job.spec.accepts(a)) {
            let Some(m) = self.by_model.get(a.model.as_str()) else { continue };
            if m.largest < job.spec.accelerators || job.spec.max_price_per_hour.is_some_and(|max| m.cheapest > max) {
                continue;
            }
            if m.freest >= job.spec.accelerators {
                return Standing::RunsNow;
            }
            out = Standing::Blocked;
        }
        out
    }
}
