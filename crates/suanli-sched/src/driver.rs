//! The round driver: what happens around a scheduling round, shared by the live engine and the simulator so that the two cannot drift — the pools' loads as a round sees them, the fair-share account (decay and charging), and what a run that stops early costs its tenant.
//!
//! A round ([`crate::round::schedule`]) is a pure decision over a snapshot. Around it, both the
//! live engine (`suanli-dispatch`) and the discrete-event replay (`suanli-sim`) must:
//!
//! 1. build the pools' loads from the jobs in flight ([`Loads::occupy`]);
//! 2. show the round the fair-share account decayed to its start, with the work in flight
//!    counted in full until it ends ([`FairShare::view`]);
//! 3. apply the outcome: preemptions first (they free accelerators that placements may take),
//!    then placements ([`Loads::release`], [`Loads::occupy`]);
//! 4. when a run ends, charge what it received to its tenant's account and bill it, by
//!    [`run_cost`]: a run lost to preemption is neither billed nor charged, since its tenant
//!    keeps nothing of it; a run whose progress is kept (a time-sliced lease, a preemption
//!    under time-slicing, a finished run) is both.

use crate::round::{PoolLoad, RunningJob, TenantUsage};
use std::collections::HashMap;
use suanli_core::catalogue::Accelerator;
use suanli_core::centre::Pool;
use suanli_core::id::{JobId, PoolId, TenantId};
use suanli_core::time::UnixMs;

/// The fair-share account's half-life, hours: compute received this long ago counts half.
pub const FAIR_SHARE_HALF_LIFE_H: f64 = 6.0;

/// FP16 PFLOP-seconds that `accelerators` of `acc` deliver in `seconds`: the fair-share unit,
/// which weighs an hour on a fast accelerator above an hour on a slow one.
pub fn pflop_s(acc: &Accelerator, accelerators: u32, seconds: f64) -> f64 {
    acc.fp16_tflops / 1000.0 * f64::from(accelerators) * seconds
}

/// The pools' loads as a round sees them: free accelerators and the runs holding the rest.
#[derive(Debug, Clone, Default)]
pub struct Loads {
    pub pools: Vec<PoolLoad>,
    index: HashMap<PoolId, usize>,
}

impl Loads {
    /// Every pool empty.
    pub fn idle(pools: &[Pool]) -> Loads {
        Loads {
            pools: pools.iter().map(PoolLoad::idle).collect(),
            index: pools.iter().enumerate().map(|(i, p)| (p.id.clone(), i)).collect(),
        }
    }

    /// The position of a pool in [`Loads::pools`].
    pub fn position(&self, pool: &PoolId) -> Option<usize> {
        self.index.get(pool).copied()
    }

    /// A run takes its accelerators on the pool at `at` (none below zero: a pool over-committed
    /// by a stale view shows no free accelerators, not a wrapped count).
    pub fn occupy(&mut self, at: usize, run: RunningJob) {
        let p = &mut self.pools[at];
        p.free = p.free.saturating_sub(run.accelerators);
        p.running.push(run);
    }

    /// A run on the pool at `at` ends or is stopped: its accelerators are free again.
    pub fn release(&mut self, at: usize, job: &JobId) -> Option<RunningJob> {
        let p = &mut self.pools[at];
        let i = p.running.iter().position(|r| &r.job == job)?;
        let run = p.running.swap_remove(i);
        // Free is what the runs left hold short of the capacity: runs of a stale view may
        // overlap, and freeing one of them must not count accelerators twice.
        let held: u32 = p.running.iter().map(|r| r.accelerators).sum();
        p.free = p.pool.capacity().saturating_sub(held);
        Some(run)
    }
}

/// What each tenant has received, decayed with a half-life: the account the rounds' fair share
/// reads. Charged when a run ends, with what the run delivered; a round also counts the work
/// still in flight ([`FairShare::view`]), so a tenant with long jobs running is not treated as
/// if it had received nothing.
#[derive(Debug, Clone)]
pub struct FairShare {
    received: HashMap<TenantId, f64>,
    /// When the account was last decayed (0: never charged).
    at_ms: UnixMs,
    half_life_ms: f64,
}

impl Default for FairShare {
    fn default() -> FairShare {
        FairShare::new(FAIR_SHARE_HALF_LIFE_H * 3_600_000.0)
    }
}

impl FairShare {
    pub fn new(half_life_ms: f64) -> FairShare {
        FairShare { received: HashMap::new(), at_ms: 0, half_life_ms: half_life_ms.max(1.0) }
    }

    /// How much a receipt from `from_ms` still counts at `to_ms`.
    fn decay(&self, from_ms: UnixMs, to_ms: UnixMs) -> f64 {
        if from_ms > 0 && to_ms > from_ms { 0.5f64.powf((to_ms - from_ms) as f64 / self.half_life_ms) } else { 1.0 }
    }

    /// Charges `tenant` with `pflop_s` received at `at_ms`, decaying what came before. Charges
    /// must come in time order, as runs end; an earlier one counts as if at the last.
    pub fn charge(&mut self, tenant: &TenantId, pflop_s: f64, at_ms: UnixMs) {
        let d = self.decay(self.at_ms, at_ms);
        if d < 1.0 {
            self.received.values_mut().for_each(|v| *v *= d);
        }
        self.at_ms = self.at_ms.max(at_ms);
        *self.received.entry(tenant.clone()).or_insert(0.0) += pflop_s;
    }

    /// The account as a round at `now_ms` sees it: receipts decayed to now, plus the work in
    /// flight (tenant, FP16 PFLOP-seconds it will receive) counted in full until it ends.
    pub fn view<'a>(&self, now_ms: UnixMs, in_flight: impl IntoIterator<Item = (&'a TenantId, f64)>) -> TenantUsage {
        let d = self.decay(self.at_ms, now_ms);
        let mut received: HashMap<TenantId, f64> = self.received.iter().map(|(t, v)| (t.clone(), v * d)).collect();
        for (t, v) in in_flight {
            *received.entry(t.clone()).or_insert(0.0) += v;
        }
        TenantUsage { received, weight: HashMap::new() }
    }

    /// What each tenant received, decayed to `now_ms`, largest first.
    pub fn at(&self, now_ms: UnixMs) -> Vec<(TenantId, f64)> {
        let mut out: Vec<_> = self.view(now_ms, []).received.into_iter().collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }

    /// The account as last charged (not decayed to any later time).
    pub fn received(&self) -> &HashMap<TenantId, f64> {
        &self.received
    }
}

/// How a run ended, as far as its tenant's money and fair share go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// It ran to its end (or failed, or was cancelled: the bill's charge rule in
    /// `suanli_ledger::voucher` then says what is paid).
    Ended,
    /// A higher-priority job took its accelerators. With `progress_kept` (time-slicing, where
    /// the run is a segment it resumes from) the run counts; without, the job starts again
    /// from the beginning and the run is lost.
    Preempted { progress_kept: bool },
    /// Its time-sliced lease ended; its progress is kept.
    LeaseEnded,
}

/// What a run costs its tenant: whether it is billed and whether it is charged to the
/// fair-share account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunCost {
    pub billed: bool,
    pub fair_share: bool,
}

/// The preemption billing rule, in one place: a run lost to preemption costs its tenant
/// nothing and does not count against its fair share; every other run does.
pub fn run_cost(end: RunEnd) -> RunCost {
    let counts = !matches!(end, RunEnd::Preempted { progress_kept: false });
    RunCost { billed: counts, fair_share: counts }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(n: u64) -> TenantId {
        TenantId::generate(0, n)
    }

    #[test]
    fn receipts_halve_every_half_life_and_in_flight_work_counts_in_full() {
        let h = 3_600_000.0;
        let mut fs = FairShare::new(h);
        let (a, b) = (tenant(1), tenant(2));
        fs.charge(&a, 100.0, 1_000);
        fs.charge(&b, 10.0, 1_000 + h as i64);
        assert!((fs.received()[&a] - 50.0).abs() < 1e-9, "{:?}", fs.received());
        let v = fs.view(1_000 + 2 * h as i64, [(&b, 7.0)]);
        assert!((v.received[&a] - 25.0).abs() < 1e-9);
        assert!((v.received[&b] - (5.0 + 7.0)).abs() < 1e-9);
        assert_eq!(fs.at(1_000 + 2 * h as i64)[0].0, a);
        // An earlier charge than the last counts as at the last; nothing grows backwards.
        fs.charge(&a, 1.0, 500);
        assert!((fs.received()[&a] - 51.0).abs() < 1e-9);
    }

    #[test]
    fn a_run_lost_to_preemption_is_neither_billed_nor_charged() {
        assert_eq!(run_cost(RunEnd::Preempted { progress_kept: false }), RunCost { billed: false, fair_share: false });
        for end in [RunEnd::Ended, RunEnd::LeaseEnded, RunEnd::Preempted { progress_kept: true }] {
            assert_eq!(run_cost(end), RunCost { billed: true, fair_share: true }, "{end:?}");
        }
    }

    #[test]
    fn loads_free_what_a_run_held_and_never_wrap() {
        let pool = Pool {
            id: PoolId::generate(0, 1),
            centre_id: suanli_core::id::CentreId::generate(0, 1),
            accelerator: "a100-80g".into(),
            nodes: 1,
            accelerators_per_node: 8,
            price_per_hour: suanli_core::money::Fen(1000),
            partner_discount_pct: 0,
            created_ms: 0,
        };
        let mut loads = Loads::idle(std::slice::from_ref(&pool));
        let at = loads.position(&pool.id).unwrap();
        let run = |n: u64, accelerators| RunningJob {
            job: JobId::generate(0, n),
            tenant: tenant(1),
            accelerators,
            priority: 4,
            preemptible: false,
            started_ms: 0,
            est_end_ms: 1,
        };
        loads.occupy(at, run(1, 6));
        loads.occupy(at, run(2, 6));
        assert_eq!(loads.pools[at].free, 0);
        assert_eq!(loads.release(at, &JobId::generate(0, 1)).map(|r| r.accelerators), Some(6));
        assert_eq!(loads.pools[at].free, 2, "the other run still holds six of eight");
        loads.release(at, &JobId::generate(0, 2));
        assert_eq!(loads.pools[at].free, 8);
        assert!(loads.release(at, &JobId::generate(0, 1)).is_none());
    }
}
