//! A round's placing step: one scheduling decision, every placement's hold sent to the ledger at once, then the placements, explanations, audit records and waiting reasons written in batches.

use super::chunked::Chunked;
use super::{Engine, Placing, RoundReport};
use serde_json::json;
use std::collections::HashMap;
use suanli_core::id::JobId;
use suanli_core::job::{Job, JobState};
use suanli_sched::round::schedule;
use suanli_store::StoreError;

impl Engine {
    /// Places, preempts, reserves and defers: one scheduling decision over the live city,
    /// then each placement held on the ledger and committed with its explanation; returns how
    /// long the decision took.
    pub(super) async fn place(
        &self,
        at: &Placing<'_>,
        pending: &[Job],
        in_flight: &mut Vec<Job>,
        report: &mut RoundReport,
    ) -> Result<std::time::Duration, StoreError> {
        let decide = std::time::Instant::now();
        let now = self.ids.now_ms();
        let loads = self.build_loads(at.pools, in_flight, now);
        let usage = self.fair_usage(in_flight, at.pool_by_id);
        let outcome = schedule(self.snapshot(now, at.centres, &loads, &usage), pending, self.sched.policy);
        let pending_by_id: HashMap<&JobId, &Job> = pending.iter().map(|j| (&j.id, j)).collect();
        let slicing = self.timeslicing().is_some();
        let decided = decide.elapsed();
        for pre in &outcome.preemptions {
            // Under time-slicing the victim's progress is kept: its run so far is a segment.
            if let Some(victim) = in_flight.iter().find(|j| j.id == pre.victim && slicing).cloned() {
                let why = format!("preempted by higher-priority job {}; it resumes with its progress kept", pre.by);
                if self.end_segment(at, &victim, suanli_core::job::SegmentEnd::Preempted, why, now).await? {
                    report.preempted += 1;
                }
                in_flight.retain(|j| j.id != pre.victim);
                continue;
            }
            let centre = in_flight.iter().find(|j| j.id == pre.victim).and_then(|j| j.centre_id.clone());
            let ran = self.cancel_on(centre.as_ref(), &pre.victim, now).await;
            let audit = self.audit("job.preempted", &pre.victim, json!({"by": pre.by, "pool": pre.pool, "lost_s": ran}));
            let reason = format!("preempted by higher-priority job {}; it restarts when placed again", pre.by);
            if self.back_to_pending(&pre.victim, now, audit, reason).await?.is_some() {
                report.preempted += 1;
            }
            in_flight.retain(|j| j.id != pre.victim);
        }
        // Every placement's charge is held first, all at once, so the ledger's writer takes them
        // in one or a few commits; then the placements, explanations, audit records and the
        // waiting jobs' reasons are written in one transaction.
        let chosen: Vec<(&Job, &suanli_sched::round::Placement)> =
            outcome.placements.iter().filter_map(|p| pending_by_id.get(&p.job).map(|j| (*j, p))).collect();
        let held = futures_util::future::join_all(chosen.iter().map(|(job, p)| self.hold_placement(at, job, p, now))).await;
        let mut refused = Vec::new();
        let mut placed = Vec::new();
        let mut tx = Chunked::new(&self.store);
        for ((job, p), held) in chosen.into_iter().zip(held) {
            match held? {
                Ok(()) => placed.extend(self.commit_placement(tx.tx().await?, p, now).await?),
                Err(why) => refused.push((job, why)),
            }
            tx.done_one().await?;
        }
        for w in &outcome.waits {
            report.waiting += 1;
            if pending_by_id.get(&w.job).is_some_and(|j| j.reason.as_deref() != Some(w.reason.as_str())) {
                tx.tx().await?.set_job_reason(&w.job, &w.reason).await?;
                tx.done_one().await?;
            }
        }
        for (job, why) in &refused {
            report.waiting += 1;
            if job.reason.as_deref() != Some(why.0.as_str()) {
                tx.tx().await?.set_job_reason(&job.id, &why.0).await?;
                tx.done_one().await?;
            }
        }
        tx.commit().await?;
        {
            let mut unfunded = self.unfunded.lock().unwrap_or_else(|e| e.into_inner());
            for j in &placed {
                unfunded.forget(&j.id);
            }
        }
        report.placed += placed.len() as u32;
        in_flight.extend(placed);
        if let (Some(b), false) = (&self.billing, refused.is_empty()) {
            // Left out of rounds until their tenant's money grows; the capacity they were planned
            // on goes to others in a round run at once.
            for (job, _) in refused {
                let spendable = b.spendable(&job.tenant_id, now).await?;
                self.unfunded.lock().unwrap_or_else(|e| e.into_inner()).mark(&job.id, &job.tenant_id, spendable, now);
            }
            self.wake();
        }
        Ok(decided)
    }

    /// Holds a placement's charge on the ledger; the refusal when the tenant's money falls short.
    async fn hold_placement(
        &self,
        at: &Placing<'_>,
        job: &Job,
        p: &suanli_sched::round::Placement,
        now: i64,
    ) -> Result<Result<(), crate::billing::HoldRefused>, StoreError> {
        let (pool, centre) = (&p.chosen.pool, &p.chosen.centre);
        match (&self.billing, at.pool_by_id.get(pool), at.centres.iter().find(|c| &c.id == centre)) {
            (Some(b), Some(pl), Some(c)) => b.hold(job, pl, c, self.run_estimate_s(job, Some(pl)), now).await,
            _ => Ok(Ok(())),
        }
    }

    /// Writes one placement with its explanation and audit record into `tx`; `None` when the
    /// job moved on since the snapshot (cancelled), which changes nothing.
    async fn commit_placement(
        &self,
        tx: &mut suanli_store::WriteTx<'_>,
        p: &suanli_sched::round::Placement,
        now: i64,
    ) -> Result<Option<Job>, StoreError> {
        let (pool, centre) = (p.chosen.pool.clone(), p.chosen.centre.clone());
        let explanation = json!({
            "decided_ms": now,
            "policy": self.sched.policy.as_str(),
            "chosen": p.chosen.view(),
            "alternatives": p.alternatives.iter().map(|a| a.view()).collect::<Vec<_>>(),
            "preempted": p.preempted,
            "backfilled": p.backfilled,
            "fair_share_pflop_s": p.fair_share,
        });
        let audit = self.audit("job.placed", &p.job, json!({"pool": pool, "centre": centre, "price_per_hour": p.chosen.price_per_hour.to_yuan_string(), "score_yuan": p.chosen.score_yuan}));
        let placed = tx
            .transition_job(&p.job, JobState::Placed, |j| {
                j.pool_id = Some(pool.clone());
                j.centre_id = Some(centre.clone());
                j.placed_ms = Some(now);
                j.reason = None;
            })
            .await;
        match placed {
            Ok(j) => {
                tx.set_explanation(&p.job, &explanation).await?;
                tx.audit(&audit).await?;
                Ok(Some(j))
            }
            // Cancelled between the snapshot and now: nothing to do.
            Err(StoreError::Domain(e)) => {
                tracing::debug!(job = %p.job, error = %e, "not placed");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
