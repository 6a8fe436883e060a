//! A round's placing step: one scheduling decision over the head of the queue, then batch by batch until the round's write budget is spent, the placements' holds sent to the ledger at once and the placements, explanations and audit records written many rows a statement (the round hands its jobs in flight to their backends meanwhile); then the waiting reasons that changed.

use super::{Engine, PLACEMENTS_PER_TX, Placing, RoundReport, WRITES_PER_TX};
use crate::billing::HoldRefused;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use suanli_core::id::JobId;
use suanli_core::job::{Job, JobState};
use suanli_core::reason::JobReason;
use suanli_sched::driver::{RunEnd, run_cost};
use suanli_sched::round::{Placement, Preemption, RoundOutcome, Wait, queue_head, schedule};
use suanli_store::{Audit, PlacementRow, StoreError, Writer};

/// How many waiting jobs a round decides over when more wait than it could place: a few per
/// free accelerator (a job takes at least one), no fewer than `floor` (blocked jobs still
/// preempt, reserve and backfill) and no more than `cap` (about what a round can write within
/// its budget, a few times over). Besides those, up to `blocked` jobs that no pool has room for
/// now (see [`queue_head`]), in order, and every job no pool could ever run. The rest wait
/// behind them, keeping the reason they last had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueHead {
    pub floor: usize,
    pub per_free_accelerator: usize,
    pub cap: usize,
    pub blocked: usize,
}

impl Default for QueueHead {
    fn default() -> QueueHead {
        QueueHead { floor: 1_000, per_free_accelerator: 4, cap: 5 * PLACEMENTS_PER_TX, blocked: 1_000 }
    }
}

impl QueueHead {
    /// Every waiting job, every round: no head (as rounds decided before there was one).
    pub const WHOLE_QUEUE: QueueHead = QueueHead { floor: usize::MAX, per_free_accelerator: 0, cap: usize::MAX, blocked: usize::MAX };

    /// The head's length for a city with `free` accelerators free.
    pub fn size(&self, free: u64) -> usize {
        let by_free = usize::try_from(free).unwrap_or(usize::MAX).saturating_mul(self.per_free_accelerator);
        by_free.clamp(self.floor, self.cap.max(self.floor))
    }
}

/// What a round's writing of placements did.
pub(super) struct Written<'j> {
    /// The jobs placed, in their new state.
    placed: Vec<Job>,
    /// The jobs whose charge the ledger refused, and why.
    refused: Vec<(&'j Job, HoldRefused)>,
    /// How many chosen placements the write budget left for the next round.
    deferred: usize,
}

/// A round's scheduling decision, its preemptions carried out, its placements not yet written.
pub(super) struct Decided {
    /// The jobs it decided over.
    deciding: Vec<Job>,
    outcome: RoundOutcome,
    /// How many waiting jobs it left behind the queue's head.
    behind: usize,
    now: i64,
    /// How long the decision took.
    pub(super) took: std::time::Duration,
}

impl Decided {
    /// The jobs it decided over, by id.
    fn by_id(&self) -> HashMap<&JobId, &Job> {
        self.deciding.iter().map(|j| (&j.id, j)).collect()
    }
}

impl Engine {
    /// Decides over the live city (places, preempts, reserves and defers) and carries out the
    /// preemptions: each victim leaves `in_flight`.
    pub(super) async fn decide_round(
        &self,
        at: &Placing<'_>,
        pending: &[Arc<Job>],
        in_flight: &mut Vec<Job>,
        report: &mut RoundReport,
    ) -> Result<Decided, StoreError> {
        let t0 = std::time::Instant::now();
        let now = self.ids.now_ms();
        let (deciding, behind, outcome) = self.decide(at, pending, in_flight, now);
        report.behind += behind as u32;
        let took = t0.elapsed();
        self.preempt(at, &outcome.preemptions, in_flight, now, report).await?;
        Ok(Decided { deciding, outcome, behind, now, took })
    }

    /// Writes a decision's placements, each held on the ledger and committed with its
    /// explanation, a batch at a time within the round's write budget.
    pub(super) async fn write_decided<'d>(&self, at: &Placing<'_>, d: &'d Decided) -> Result<Written<'d>, StoreError> {
        let pending_by_id = d.by_id();
        let chosen: Vec<(&Job, &Placement)> =
            d.outcome.placements.iter().filter_map(|p| pending_by_id.get(&p.job).map(|j| (*j, p))).collect();
        self.write_placements(at, &chosen, d.now).await
    }

    /// After the placements are written: the waiting reasons that changed, the jobs the ledger
    /// refused marked unfunded, and the next round woken at once if more waits to be written.
    /// The jobs placed, in their new state.
    pub(super) async fn settle_placed(&self, d: &Decided, written: Written<'_>, report: &mut RoundReport) -> Result<Vec<Job>, StoreError> {
        let Written { placed, refused, deferred } = written;
        report.deferred += deferred as u32;
        let pending_by_id = d.by_id();
        self.record_wait_reasons(&d.outcome.waits, &pending_by_id, &refused, report).await?;
        {
            let mut unfunded = self.unfunded.lock().unwrap_or_else(|e| e.into_inner());
            for j in &placed {
                unfunded.forget(&j.id);
            }
        }
        report.placed += placed.len() as u32;
        // More to write, or jobs behind a head that placed some: the next round runs at once.
        if deferred > 0 || (d.behind > 0 && !placed.is_empty()) {
            self.wake();
        }
        self.mark_unfunded(&refused, d.now).await?;
        Ok(placed)
    }

    /// The round's scheduling decision over the live city: the jobs it decided over (the queue's
    /// head, or every waiting job when they are no more than the head's length), how many it
    /// left behind the head, and the outcome.
    fn decide(&self, at: &Placing<'_>, pending: &[Arc<Job>], in_flight: &[Job], now: i64) -> (Vec<Job>, usize, RoundOutcome) {
        let loads = self.build_loads(at.pools, in_flight, now);
        let usage = self.fair_usage(in_flight, at.pool_by_id, now);
        let snap = self.snapshot(now, at.centres, &loads, &usage);
        // Over a long queue the round decides over its head only, in the policy's own order;
        // the jobs behind it are not looked at, and keep the reason they last had.
        let free: u64 = loads.iter().map(|l| u64::from(l.free)).sum();
        let shape = self.queue_head();
        let head_len = shape.size(free);
        let head: Vec<Job> = queue_head(&snap, pending, self.sched.policy, head_len, shape.blocked).into_iter().cloned().collect();
        let outcome = schedule(snap, &head, self.sched.policy);
        let behind = pending.len() - head.len();
        (head, behind, outcome)
    }

    /// Carries out the decision's preemptions: each victim leaves `in_flight`, either ending a
    /// segment (time-slicing) or going back to pending having lost its run.
    async fn preempt(
        &self,
        at: &Placing<'_>,
        preemptions: &[Preemption],
        in_flight: &mut Vec<Job>,
        now: i64,
        report: &mut RoundReport,
    ) -> Result<(), StoreError> {
        let slicing = self.timeslicing().is_some();
        for pre in preemptions {
            // Under time-slicing the victim's progress is kept: its run so far is a segment,
            // billed and counted. Otherwise the run is lost: the job restarts from the beginning,
            // and by the round driver's rule the lost run is neither billed (its holds are
            // released) nor charged to the fair-share account.
            let victim = in_flight.iter().find(|j| j.id == pre.victim).cloned();
            let kept = slicing && victim.is_some();
            if let (true, Some(victim)) = (run_cost(RunEnd::Preempted { progress_kept: kept }).billed, victim.as_ref()) {
                let why = JobReason::Preempted { by: pre.by.clone(), progress_kept: true };
                if self.end_segment(at, victim, suanli_core::job::SegmentEnd::Preempted, why, now).await? {
                    report.preempted += 1;
                }
                in_flight.retain(|j| j.id != pre.victim);
                continue;
            }
            let centre = victim.and_then(|j| j.centre_id);
            let ran = self.cancel_on(centre.as_ref(), &pre.victim, now).await;
            let audit = self.audit("job.preempted", &pre.victim, json!({"by": pre.by, "pool": pre.pool, "lost_s": ran}));
            let reason = JobReason::Preempted { by: pre.by.clone(), progress_kept: false };
            if self.back_to_pending(&pre.victim, now, audit, reason).await?.is_some() {
                report.preempted += 1;
            }
            in_flight.retain(|j| j.id != pre.victim);
        }
        Ok(())
    }

    /// Holds and writes the chosen placements a batch at a time until the round's write budget
    /// is spent; what was placed, what the ledger refused, and how many were left for later.
    async fn write_placements<'j>(&self, at: &Placing<'_>, chosen: &[(&'j Job, &Placement)], now: i64) -> Result<Written<'j>, StoreError> {
        // Placements are written a batch at a time until the round's write budget is spent (at
        // least one batch, so every round makes progress): each batch's charges are held first,
        // all at once, so the ledger's writer takes them in one or a few commits; then the
        // placements with their explanations and audit records are written many rows a
        // statement. A batch's holds are taken while the batch before it is committed, so the
        // ledger's writer and the store's work at once. What the budget leaves stays pending,
        // unchanged, for the next round, which runs at once: a round stays short however many
        // jobs a decision places.
        let mut refused = Vec::new();
        let mut placed = Vec::with_capacity(chosen.len().min(PLACEMENTS_PER_TX * 4));
        let mut batches = chosen.chunks(PLACEMENTS_PER_TX);
        // The voucher programmes, read once for the round's holds.
        let programmes = if self.billing.is_some() && !chosen.is_empty() { self.store.programmes().await? } else { Vec::new() };
        let mut held = match batches.next() {
            Some(batch) => {
                // The first batch's holds overlap no commit: how long they take is a round's own cost.
                let t0 = std::time::Instant::now();
                let holds = self.hold_batch(at, batch, &programmes, now).await;
                tracing::debug!(jobs = batch.len(), hold_us = t0.elapsed().as_micros() as u64, "first placement batch held");
                Some((batch, holds))
            }
            None => None,
        };
        let mut pace = std::time::Duration::ZERO;
        while let Some((batch, holds)) = held.take() {
            let mut holding = Vec::with_capacity(batch.len());
            for ((job, p), h) in batch.iter().zip(holds) {
                match h? {
                    Ok(()) => holding.push((*job, *p)),
                    Err(why) => refused.push((*job, why)),
                }
            }
            // The next batch is held beside this one's commit only if it would be written
            // within the budget, at the pace of the batch before (a batch held is always written).
            let t0 = std::time::Instant::now();
            let next = if t0 + pace < at.writes_until { batches.next() } else { None };
            let committed = match next {
                Some(next) => {
                    let (committed, holds) =
                        tokio::join!(self.commit_placements(&holding, now), self.hold_batch(at, next, &programmes, now));
                    held = Some((next, holds));
                    committed?
                }
                None => self.commit_placements(&holding, now).await?,
            };
            pace = t0.elapsed();
            tracing::debug!(jobs = batch.len(), commit_us = pace.as_micros() as u64, "placement batch");
            placed.extend(committed);
        }
        let deferred: usize = batches.map(<[_]>::len).sum();
        Ok(Written { placed, refused, deferred })
    }

    /// Holds a batch's charges on the ledger all at once, in the batch's order.
    async fn hold_batch(
        &self,
        at: &Placing<'_>,
        batch: &[(&Job, &Placement)],
        programmes: &[suanli_ledger::records::Programme],
        now: i64,
    ) -> Vec<Result<Result<(), HoldRefused>, StoreError>> {
        futures_util::future::join_all(batch.iter().map(|(job, p)| self.hold_placement(at, job, p, programmes, now))).await
    }

    /// Counts the jobs left waiting and writes the waiting reasons that changed: the decision's
    /// and the ledger's refusals.
    async fn record_wait_reasons(
        &self,
        waits: &[Wait],
        pending_by_id: &HashMap<&JobId, &Job>,
        refused: &[(&Job, HoldRefused)],
        report: &mut RoundReport,
    ) -> Result<(), StoreError> {
        let mut reasons: Vec<(&JobId, &JobReason)> = Vec::new();
        let stale = |j: &Job, r: &JobReason| !j.reason.as_ref().is_some_and(|s| s.is(r));
        for w in waits {
            report.waiting += 1;
            if pending_by_id.get(&w.job).is_some_and(|j| stale(j, &w.reason)) {
                reasons.push((&w.job, &w.reason));
            }
        }
        for (job, why) in refused {
            report.waiting += 1;
            if stale(job, &why.0) {
                reasons.push((&job.id, &why.0));
            }
        }
        for chunk in reasons.chunks(WRITES_PER_TX) {
            let mut tx = self.store.begin_as(Writer::Placement).await?;
            tx.set_job_reasons(chunk).await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Leaves the jobs whose charge the ledger refused out of rounds until their tenant's money
    /// grows; the capacity they were planned on goes to others in a round run at once.
    async fn mark_unfunded(&self, refused: &[(&Job, HoldRefused)], now: i64) -> Result<(), StoreError> {
        if let (Some(b), false) = (&self.billing, refused.is_empty()) {
            for (job, _) in refused {
                let spendable = b.spendable(&job.tenant_id, now).await?;
                self.unfunded.lock().unwrap_or_else(|e| e.into_inner()).mark(&job.id, &job.tenant_id, spendable, now);
            }
            self.wake();
        }
        Ok(())
    }

    /// Holds a placement's charge on the ledger; the refusal when the tenant's money falls short.
    async fn hold_placement(
        &self,
        at: &Placing<'_>,
        job: &Job,
        p: &suanli_sched::round::Placement,
        programmes: &[suanli_ledger::records::Programme],
        now: i64,
    ) -> Result<Result<(), crate::billing::HoldRefused>, StoreError> {
        let (pool, centre) = (&p.chosen.pool, &p.chosen.centre);
        match (&self.billing, at.pool_by_id.get(pool), at.centres.iter().find(|c| &c.id == centre)) {
            (Some(b), Some(pl), Some(c)) => b.hold(job, pl, c, self.run_estimate_s(job, Some(pl)), programmes, now).await,
            _ => Ok(Ok(())),
        }
    }

    /// Writes placements with their explanations and audit records, [`WRITES_PER_TX`] jobs a
    /// transaction; the jobs placed. A job that moved on since the snapshot (cancelled) is not
    /// placed and changes nothing.
    async fn commit_placements(&self, chosen: &[(&Job, &suanli_sched::round::Placement)], now: i64) -> Result<Vec<Job>, StoreError> {
        let mut placed = Vec::with_capacity(chosen.len());
        for chunk in chosen.chunks(WRITES_PER_TX) {
            let rows: Vec<PlacementRow<'_>> = chunk
                .iter()
                .map(|(_, p)| PlacementRow {
                    id: &p.job,
                    pool: &p.chosen.pool,
                    centre: &p.chosen.centre,
                    placed_ms: now,
                    explanation: suanli_sched::Decision::of(p, now, self.sched.policy.as_str()).packed(),
                })
                .collect();
            // Built before the write lock is taken, so other writers are not held up for it; a job
            // not placed after all (cancelled since the snapshot) has its record dropped.
            let audits: Vec<Audit> = chunk
                .iter()
                .map(|(_, p)| {
                    let detail = json!({"pool": p.chosen.pool, "centre": p.chosen.centre, "price_per_hour": p.chosen.price_per_hour.to_yuan_string(), "score_yuan": p.chosen.score_yuan});
                    self.audit("job.placed", &p.job, detail)
                })
                .collect();
            let mut tx = self.store.begin_as(Writer::Placement).await?;
            let done = tx.place_jobs(&rows).await?;
            let audits: Vec<&Audit> = audits.iter().zip(chunk).filter(|(_, (_, p))| done.contains(&p.job)).map(|(a, _)| a).collect();
            tx.audit_many(&audits).await?;
            let seq = tx.stamped_job_seq();
            tx.commit().await?;
            let first = placed.len();
            for (job, p) in chunk {
                if !done.contains(&p.job) {
                    tracing::debug!(job = %p.job, "not placed: it moved on since the round's snapshot");
                    continue;
                }
                let mut j = (*job).clone();
                j.state = JobState::Placed;
                j.pool_id = Some(p.chosen.pool.clone());
                j.centre_id = Some(p.chosen.centre.clone());
                j.placed_ms = Some(now);
                j.reason = None;
                placed.push(j);
            }
            self.wrote_jobs(seq, placed[first..].to_vec()).await;
        }
        Ok(placed)
    }
}
