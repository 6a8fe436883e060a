//! Jobs that wait for funds: kept out of the scheduler until their tenant's money changes, limited per tenant, and cancelled when they have waited too long.
//!
//! A job whose hold fails would otherwise be planned every round, and a big one would keep a
//! reservation on a whole pool that funded jobs could have used. Instead the engine marks it
//! here and leaves it out of the snapshot; it comes back when what its tenant can spend (cash
//! and vouchers available) has grown since the mark, which the engine checks at most once a
//! second per tenant. Nothing here reads a clock or the store: the engine passes both in.

use std::collections::HashMap;
use suanli_core::id::{JobId, TenantId};
use suanli_core::money::Fen;
use suanli_core::time::UnixMs;

/// How long a job may wait for funds before it is cancelled.
pub const DEFAULT_EXPIRY_MS: i64 = 72 * 3_600_000;
/// How many jobs one tenant may have waiting for funds; more are refused at submission.
pub const DEFAULT_PER_TENANT: usize = 100;
/// A marked tenant's funds are looked at again after this long.
const RECHECK_MS: i64 = 1_000;

#[derive(Debug, Clone, Copy)]
struct Mark {
    /// What the tenant could spend when its last job was marked.
    spendable: Fen,
    checked_ms: UnixMs,
}

/// The engine's record of jobs waiting for funds.
#[derive(Debug, Default)]
pub struct Unfunded {
    tenants: HashMap<TenantId, Mark>,
    /// Each waiting job's tenant and when it first failed to be funded.
    jobs: HashMap<JobId, (TenantId, UnixMs)>,
}

impl Unfunded {
    /// Records that a job's hold failed while its tenant could spend `spendable`.
    pub fn mark(&mut self, job: &JobId, tenant: &TenantId, spendable: Fen, now: UnixMs) {
        self.jobs.entry(job.clone()).or_insert((tenant.clone(), now));
        self.tenants.insert(tenant.clone(), Mark { spendable, checked_ms: now });
    }

    /// Whether the scheduler should leave this job out: it waits for funds, and its tenant's
    /// money has not grown since.
    pub fn holds_back(&self, job: &JobId, tenant: &TenantId) -> bool {
        self.jobs.contains_key(job) && self.tenants.contains_key(tenant)
    }

    /// Tenants whose funds are due a look.
    pub fn due(&self, now: UnixMs) -> Vec<TenantId> {
        self.tenants.iter().filter(|(_, m)| now - m.checked_ms >= RECHECK_MS).map(|(t, _)| t.clone()).collect()
    }

    /// What a due tenant can spend now: if more than when marked, its jobs are planned again.
    pub fn checked(&mut self, tenant: &TenantId, spendable: Fen, now: UnixMs) {
        match self.tenants.get_mut(tenant) {
            Some(m) if spendable > m.spendable => {
                self.tenants.remove(tenant);
            }
            Some(m) => m.checked_ms = now,
            None => {}
        }
    }

    /// A job left the pending state (placed, cancelled): it no longer waits.
    pub fn forget(&mut self, job: &JobId) {
        self.jobs.remove(job);
    }

    /// Jobs that have waited for funds longer than `expiry_ms`.
    pub fn expired(&self, now: UnixMs, expiry_ms: i64) -> Vec<JobId> {
        self.jobs.iter().filter(|(_, (_, since))| now - since > expiry_ms).map(|(j, _)| j.clone()).collect()
    }

    /// How many jobs a tenant has waiting for funds.
    pub fn waiting(&self, tenant: &TenantId) -> usize {
        self.jobs.values().filter(|(t, _)| t == tenant).count()
    }

    /// No job is held back.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Drops jobs that are no longer pending (the store says), so the record stays bounded.
    pub fn retain_pending(&mut self, pending: &std::collections::HashSet<&JobId>) {
        self.jobs.retain(|j, _| pending.contains(j));
        let live: std::collections::HashSet<&TenantId> = self.jobs.values().map(|(t, _)| t).collect();
        let keep: Vec<TenantId> = self.tenants.keys().filter(|t| live.contains(t)).cloned().collect();
        self.tenants.retain(|t, _| keep.contains(t));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_jobs_come_back_only_when_money_grows() {
        let (t, j, j2) = (TenantId::generate(1, 1), JobId::generate(1, 2), JobId::generate(1, 3));
        let mut u = Unfunded::default();
        u.mark(&j, &t, Fen(100), 1_000);
        u.mark(&j2, &t, Fen(100), 1_500);
        assert!(u.holds_back(&j, &t) && u.holds_back(&j2, &t));
        assert_eq!(u.waiting(&t), 2);
        assert!(u.due(1_500).is_empty(), "checked at most once a second");
        assert_eq!(u.due(2_600), vec![t.clone()]);
        u.checked(&t, Fen(100), 2_600);
        assert!(u.holds_back(&j, &t), "no new money, still held back");
        u.checked(&t, Fen(5_000), 3_700);
        assert!(!u.holds_back(&j, &t), "a top-up brings its jobs back");
        // A failed hold again marks it, keeping when it first waited.
        u.mark(&j, &t, Fen(5_000), 4_000);
        assert_eq!(u.expired(1_000 + DEFAULT_EXPIRY_MS + 1, DEFAULT_EXPIRY_MS), vec![j.clone()]);
        u.forget(&j);
        assert_eq!(u.waiting(&t), 1);
        u.retain_pending(&std::collections::HashSet::new());
        assert_eq!(u.waiting(&t), 0);
        assert!(!u.holds_back(&j2, &t));
    }
}
