//! Billing: holds on the ledger when a job is placed, and the one bill when it ends, by the rule in `suanli_ledger::voucher`.
//!
//! Every transfer id here is derived from the job (and, for holds, the placement time), so a
//! step retried after a crash or a lost answer is applied once. The bill itself commits in
//! the same store transaction as its transfers (a ledger effect), and a job has at most one.

use crate::ids::Ids;
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use suanli_core::catalogue::Catalogue;
use suanli_core::centre::{Centre, PartnerStatus, Pool};
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{AuditId, BillId, CentreId, JobId, PoolId};
use suanli_core::job::{Fault, Job, JobState, Segment, SegmentTotals};
use suanli_core::money::Fen;
use suanli_core::time::UnixMs;
use suanli_ledger::Ledger;
use suanli_ledger::chart::{self, ChartAccount};
use suanli_ledger::records::{Bill, Programme};
use suanli_ledger::voucher::{self, ChargeRule, HOLD_FACTOR, Holds, Payment};
use suanli_ledger::{ReasonCode, Transfer, TransferId, TransferKind};
use suanli_store::{Audit, Effect, LedgerRequest, LedgerService, Plan, Store, StoreError, StoredAccount, ToBill};

/// How long a hold lives past the job's estimated run (a safety net: orphaned holds expire).
const HOLD_SLACK_MS: i64 = 24 * 3_600_000;

/// The most jobs one sweep bills (the rest are billed by the next rounds).
const BILLS_PER_SWEEP: u32 = 4000;

/// Bills whose jobs, segments and holds are read in one go (bound values stay far below
/// SQLite's and PostgreSQL's limits).
const BILLS_PER_READ: usize = 256;

/// How long a job cancelled while running waits for its usage to be metered before it is
/// billed without it.
const METERING_GRACE_MS: i64 = 60_000;

/// A sweep reads every ended job this often even when the sweeps between missed nothing: a
/// safety net, not the mechanism.
const FULL_SWEEP_EVERY: Duration = Duration::from_secs(600);

/// What the billing sweeps keep between rounds, so that a round does not scan every job that
/// ever ended: the change number their last read was up to (`None`: the next sweep reads every
/// ended job), when the last full read was, and the ended jobs waiting for their usage to be
/// metered, with when each finished.
#[derive(Debug, Default)]
struct Sweeps {
    upto: Option<i64>,
    full_at: Option<Instant>,
    waiting: BTreeMap<JobId, UnixMs>,
}

/// Why a job may not be placed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRefused(pub suanli_core::reason::JobReason);

#[derive(Clone)]
pub struct Billing {
    store: Store,
    ledger: LedgerService,
    catalogue: Arc<Catalogue>,
    ids: Ids,
    /// Who closes the voucher programmes whose year has ended (set once, after start).
    year_end: Arc<OnceLock<Arc<dyn YearEnd>>>,
    sweeps: Arc<tokio::sync::Mutex<Sweeps>>,
}

/// Closing the voucher programmes whose year has ended, as the system. The workflow lives in
/// the application layer's vouchers service (`suanli_app::Vouchers`), which this crate cannot
/// call; the server hands it in with [`Billing::set_year_end`], and every round's sweep calls
/// it, so only the leader closes programmes. Answers how many it closed.
pub trait YearEnd: Send + Sync {
    fn close_ended(&self, now: UnixMs) -> Pin<Box<dyn Future<Output = Result<u32, StoreError>> + Send + '_>>;
}

impl std::fmt::Debug for Billing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Billing")
    }
}

impl Billing {
    pub fn new(store: Store, ledger: LedgerService, catalogue: Arc<Catalogue>, ids: Ids) -> Billing {
        Billing { store, ledger, catalogue, ids, year_end: Arc::default(), sweeps: Arc::default() }
    }

    /// Sets who closes ended programmes in each sweep; a second call is ignored.
    pub fn set_year_end(&self, year_end: Arc<dyn YearEnd>) {
        if self.year_end.set(year_end).is_err() {
            tracing::warn!("the year-end hook was set already");
        }
    }

    pub fn ledger(&self) -> &LedgerService {
        &self.ledger
    }

    fn audit(&self, action: &str, subject: &JobId, detail: serde_json::Value) -> Audit {
        let (t, e) = self.ids.parts();
        Audit {
            id: AuditId::generate(t, e),
            at_ms: t,
            actor: "system:billing".into(),
            action: action.into(),
            subject: subject.to_string(),
            detail,
        }
    }

    /// The voucher ratio for a job on this pool at this centre, in the programme among
    /// `programmes` open at `at_ms`.
    fn ratio_in(&self, programmes: &[Programme], pool: &Pool, centre: &Centre, at_ms: UnixMs) -> (Option<Programme>, u8) {
        let Some(p) = programmes.iter().find(|p| p.is_open_at(at_ms)) else { return (None, 0) };
        let domestic = self.catalogue.get(&pool.accelerator).is_some_and(|a| a.domestic);
        let ratio = p.rules.compute_ratio_pct(domestic, centre.partner_status == PartnerStatus::Partner);
        (Some(p.clone()), ratio)
    }

    /// Reserves a job's estimated charge before it is placed: the voucher's share (in the
    /// programme among `programmes`, the store's, open now) and the rest from
    /// cash, as two linked pending transfers to the provider's receivable.
    pub async fn hold(
        &self,
        job: &Job,
        pool: &Pool,
        centre: &Centre,
        est_run_s: f64,
        programmes: &[Programme],
        now: UnixMs,
    ) -> Result<Result<(), HoldRefused>, StoreError> {
        let hold_s = (est_run_s * HOLD_FACTOR).ceil().max(1.0) as i64;
        let estimate = Fen::charge(pool.price_per_hour, job.spec.accelerators, hold_s, pool.partner_discount_pct);
        self.hold_amount(job, centre, estimate, hold_s, self.ratio_in(programmes, pool, centre, now), now).await
    }

    /// Tops a time-sliced job's holds up before its next lease on `pool`: what its earlier runs
    /// cost (`spent`) plus the rest of its work there, less what its open holds to this
    /// provider already reserve.
    pub async fn hold_top_up(
        &self,
        job: &Job,
        pool: &Pool,
        centre: &Centre,
        est_run_s: f64,
        spent: Fen,
        now: UnixMs,
    ) -> Result<Result<(), HoldRefused>, StoreError> {
        let hold_s = (est_run_s * HOLD_FACTOR).ceil().max(1.0) as i64;
        let needed = Fen::charge(pool.price_per_hour, job.spec.accelerators, hold_s, pool.partner_discount_pct).0 + spent.0;
        let receivable = chart::receivable(centre.provider_id.as_str()).id;
        let history = self.store.ledger_transfers_by_reference(job.id.as_str()).await?;
        let held: i64 = open_holds(&history).iter().filter(|h| h.credit_account == receivable).map(|h| h.amount.0).sum();
        let ratio = self.ratio_in(&self.store.programmes().await?, pool, centre, now);
        self.hold_amount(job, centre, Fen(needed - held), hold_s, ratio, now).await
    }

    /// Holds `estimate` for a job: the voucher's share and the rest from cash, as two linked
    /// pending transfers to the provider's receivable, keyed by the job and `now`.
    async fn hold_amount(
        &self,
        job: &Job,
        centre: &Centre,
        estimate: Fen,
        hold_s: i64,
        (programme, ratio): (Option<Programme>, u8),
        now: UnixMs,
    ) -> Result<Result<(), HoldRefused>, StoreError> {
        if !estimate.is_positive() {
            return Ok(Ok(()));
        }
        let tenant = job.tenant_id.as_str();
        let cash = chart::cash(tenant);
        let receivable = chart::receivable(centre.provider_id.as_str());
        let mut accounts = vec![StoredAccount::of(&cash, now), StoredAccount::of(&receivable, now)];
        let voucher = programme.as_ref().map(|p| chart::voucher(tenant, p.id.as_str()));
        if let Some(v) = &voucher {
            accounts.push(StoredAccount::of(v, now));
        }
        let timeout = Some(hold_s.saturating_mul(1000).saturating_mul(4).saturating_add(HOLD_SLACK_MS));
        let key = format!("{}/{now}", job.id);
        let (job_ref, voucher_id, cash_id, receivable_id) = (job.id.to_string(), voucher.as_ref().map(|v| v.id), cash.id, receivable.id);
        // The split between the voucher and cash is decided in the ledger's writer from what the
        // voucher has left at that moment, so holds placed at once for one tenant never count
        // the same voucher money twice.
        let plan: Plan = Box::new(move |l: &Ledger| {
            let voucher_available = voucher_id.and_then(|v| l.account(v)).map_or(Fen::ZERO, |a| a.available());
            let held: Holds = voucher::holds(estimate, ratio, voucher_available);
            let mut transfers = Vec::new();
            if let (Some(v), true) = (voucher_id, held.voucher.is_positive()) {
                let id = TransferId::derive("hold-voucher", &key);
                transfers.push(Transfer::pending(id, v, receivable_id, held.voucher, ReasonCode::VoucherSpend, &job_ref, now, timeout));
            }
            if held.cash.is_positive() {
                let id = TransferId::derive("hold-cash", &key);
                transfers.push(Transfer::pending(id, cash_id, receivable_id, held.cash, ReasonCode::JobCharge, &job_ref, now, timeout));
            }
            Ok(transfers)
        });
        let request = LedgerRequest {
            accounts,
            plan: Some(plan),
            linked: true,
            audit: Some(self.audit("job.hold", &job.id, json!({"estimate": estimate.to_yuan_string(), "ratio_pct": ratio}))),
            ..LedgerRequest::default()
        };
        match self.ledger.submit_all(request).await {
            Ok(_) => Ok(Ok(())),
            Err(e) if e.code == ErrorCode::InsufficientFunds => {
                let available = self.store.ledger_account(cash.id).await?.map_or(Fen::ZERO, |a| a.account.available());
                Ok(Err(HoldRefused(suanli_core::reason::JobReason::WaitingForFunds {
                    estimate,
                    voucher_pct: ratio,
                    cash_available: available,
                })))
            }
            Err(e) => Err(StoreError::Domain(e)),
        }
    }

    /// What a tenant can spend now: cash available plus the vouchers of the programme open now.
    pub async fn spendable(&self, tenant: &suanli_core::id::TenantId, now: UnixMs) -> Result<Fen, StoreError> {
        let cash = self.store.ledger_account(chart::cash(tenant.as_str()).id).await?.map_or(Fen::ZERO, |a| a.account.available());
        let voucher = match self.store.programme_open_at(now).await? {
            Some(p) => {
                let v = chart::voucher(tenant.as_str(), p.id.as_str());
                self.store.ledger_account(v.id).await?.map_or(Fen::ZERO, |a| a.account.available())
            }
            None => Fen::ZERO,
        };
        Ok(Fen(cash.0.saturating_add(voucher.0)))
    }

    /// Releases every open hold of a job (it was preempted and will be placed again).
    pub async fn release(&self, job: &JobId, now: UnixMs) -> Result<(), StoreError> {
        let history = self.store.ledger_transfers_by_reference(job.as_str()).await?;
        let transfers: Vec<Transfer> =
            open_holds(&history).into_iter().map(|h| Transfer::void(TransferId::derive("release", &h.id.to_hex()), h, now)).collect();
        if transfers.is_empty() {
            return Ok(());
        }
        let audit = self.audit("job.hold_released", job, json!({"holds": transfers.len()}));
        self.ledger
            .submit_all(LedgerRequest { transfers, linked: true, audit: Some(audit), ..LedgerRequest::default() })
            .await
            .map_err(StoreError::Domain)?;
        Ok(())
    }

    /// Bills a job that has ended: posts what it owes against its holds, releases the rest,
    /// charges any overrun to cash, and records the one bill. `bill_exists` if it has one.
    pub async fn bill(&self, job_id: &JobId, now: UnixMs) -> Result<Bill, StoreError> {
        // `to_bill` reads the job with what its bill needs; only when it answers nothing is the
        // job read again, to tell a missing job from a billed one.
        let Some(due) = self.store.to_bill(std::slice::from_ref(job_id)).await?.pop() else {
            return Err(match self.store.job(job_id).await? {
                None => Error::new(ErrorCode::JobNotFound, format!("no job {job_id}")),
                Some(_) => Error::new(ErrorCode::BillExists, format!("job {job_id} already has a bill")),
            }
            .into());
        };
        if !due.job.state.is_terminal() {
            return Err(Error::new(
                ErrorCode::IllegalTransition,
                format!("job {job_id} is {} and is billed only when it ends", due.job.state.as_str()),
            )
            .into());
        }
        let programmes = self.store.programmes().await?;
        let (pool, centre) = Places::default().of(&self.store, &due).await?;
        let bill = self.bill_one(due, pool, centre, &programmes, now).await?;
        // A concurrent biller may have won: answer with the stored bill.
        Ok(self.store.bill_for_job(job_id).await?.unwrap_or(bill))
    }

    /// Composes one job's bill from what was read and commits it with its transfers. A job
    /// runs where it was placed; a time-sliced job's earlier runs are charged in full (their
    /// work was kept) at the centre they all ran at, and a job cancelled between leases is
    /// billed where it last ran.
    async fn bill_one(
        &self,
        due: ToBill,
        pool: Option<Pool>,
        centre: Option<Centre>,
        programmes: &[Programme],
        now: UnixMs,
    ) -> Result<Bill, StoreError> {
        let ToBill { job, segments, history } = due;
        let job_id = &job.id;
        let holds = open_holds(&history);
        let done = SegmentTotals::of(&segments);
        let (pool_id, centre_id) = ran_at(&job, &segments);
        let usage_s = done.usage_s + job.usage_s.unwrap_or(0);
        let rule = charge_rule(&job);
        let charge = Fen(done.cost.0 + rule.charge(job.cost.unwrap_or(Fen::ZERO)).0);
        let tenant = job.tenant_id.as_str();
        let cash = chart::cash(tenant);
        let receivable = centre.as_ref().map(|c| chart::receivable(c.provider_id.as_str()));
        let placed_ms = job.placed_ms.or_else(|| segments.first().map(|s| s.started_ms)).unwrap_or(now);
        let (programme, ratio) = match (&pool, &centre) {
            (Some(p), Some(c)) => self.ratio_in(programmes, p, c, placed_ms),
            _ => (None, 0),
        };
        let (pay, mut transfers) = settle_holds(&holds, receivable.as_ref(), charge, ratio, now);
        let mut accounts = vec![StoredAccount::of(&cash, now)];
        let overrun_paid = match (pay.cash_overrun.is_positive(), &receivable) {
            (true, Some(r)) => {
                accounts.push(StoredAccount::of(r, now));
                self.pay_overrun(&cash, r, pay.cash_overrun, job_id, now, &mut transfers).await?
            }
            _ => Fen::ZERO,
        };
        let (t, e) = self.ids.parts();
        let bill = Bill {
            id: BillId::generate(t, e),
            job_id: job_id.clone(),
            tenant_id: job.tenant_id.clone(),
            provider_id: centre.as_ref().map(|c| c.provider_id.clone()),
            centre_id,
            pool_id,
            programme_id: programme.as_ref().filter(|_| pay.voucher.is_positive()).map(|p| p.id.clone()),
            rule,
            usage_s,
            accelerators: job.spec.accelerators,
            price_per_hour: pool.as_ref().map_or(Fen::ZERO, |p| p.price_per_hour),
            discount_pct: pool.as_ref().map_or(0, |p| p.partner_discount_pct),
            ratio_pct: ratio,
            charge,
            voucher: pay.voucher,
            cash: Fen(pay.cash_from_hold.0 + overrun_paid.0),
            outstanding: Fen(pay.cash_overrun.0 - overrun_paid.0),
            created_ms: now,
            statement_id: None,
        };
        let audit = self.audit(
            "job.billed",
            job_id,
            json!({"bill": bill.id, "rule": rule.as_str(), "charge": charge.to_yuan_string(), "voucher": bill.voucher.to_yuan_string(), "cash": bill.cash.to_yuan_string(), "outstanding": bill.outstanding.to_yuan_string()}),
        );
        self.ledger
            .submit_all(LedgerRequest {
                accounts,
                transfers,
                linked: true,
                effects: vec![Effect::InsertBill(bill.clone())],
                audit: Some(audit),
                ..LedgerRequest::default()
            })
            .await
            .map_err(StoreError::Domain)?;
        Ok(bill)
    }

    /// How much of the charge beyond the cash hold the tenant's cash balance pays now (all of
    /// it, or what is available), with the transfer that pays it to the provider.
    async fn pay_overrun(
        &self,
        cash: &ChartAccount,
        receivable: &ChartAccount,
        overrun: Fen,
        job_id: &JobId,
        now: UnixMs,
        transfers: &mut Vec<Transfer>,
    ) -> Result<Fen, StoreError> {
        let available = self.store.ledger_account(cash.id).await?.map_or(Fen::ZERO, |a| a.account.available());
        let paid = overrun.min(available);
        if paid.is_positive() {
            transfers.push(Transfer::single(
                TransferId::derive("bill-overrun", job_id.as_str()),
                cash.id,
                receivable.id,
                paid,
                ReasonCode::JobCharge,
                job_id.as_str(),
                now,
            ));
        }
        Ok(paid)
    }

    /// Bills every ended job that has no bill yet; returns how many were billed. First closes
    /// the programmes whose year has ended, through the [`YearEnd`] hook when one is set.
    pub async fn sweep(&self, now: UnixMs) -> Result<u32, StoreError> {
        let year_end = self.year_end.get().cloned();
        if let Some(year_end) = year_end {
            year_end.close_ended(now).await?;
        }
        // One sweep at a time, from its read to its bills (the engine's and any other caller's):
        // a sweep that read past jobs another was still billing would answer 0 before their
        // bills were written.
        let mut s = self.sweeps.lock().await;
        let due = self.due(&mut s, now).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let billed = self.bill_all(&due, now).await;
        if !matches!(billed, Ok((_, true))) {
            // A job left unbilled by an error is not written again: the next sweep reads all.
            s.upto = None;
        }
        billed.map(|(n, _)| n)
    }

    /// The jobs a sweep bills: every ended job without a bill in a full read (at start, after
    /// a read that reached the sweep's limit or an error, and every ten minutes), else those
    /// written since the last read and those that waited for their usage. A job whose usage is
    /// not metered yet waits [`METERING_GRACE_MS`] after it finished.
    async fn due(&self, s: &mut Sweeps, now: UnixMs) -> Result<Vec<JobId>, StoreError> {
        let since = s.upto.filter(|_| s.full_at.is_some_and(|t| t.elapsed() < FULL_SWEEP_EVERY));
        // The mark first: whatever commits after it is read again by the next sweep.
        let mark = self.store.job_change_mark().await?;
        let found = self.store.bill_candidates(since, BILLS_PER_SWEEP).await?;
        if since.is_none() {
            s.waiting.clear();
            s.full_at = Some(Instant::now());
        }
        s.upto = (found.len() < BILLS_PER_SWEEP as usize).then_some(mark);
        let mut due = Vec::with_capacity(found.len());
        for (id, unmetered) in found {
            match unmetered {
                Some(finished) => {
                    s.waiting.insert(id, finished);
                }
                None => {
                    s.waiting.remove(&id);
                    due.push(id);
                }
            }
        }
        s.waiting.retain(|id, finished| {
            let ready = *finished <= now - METERING_GRACE_MS;
            if ready {
                due.push(id.clone());
            }
            !ready
        });
        due.sort();
        Ok(due)
    }

    /// Bills `due`: how many were billed, and whether every one was (or had its bill already).
    async fn bill_all(&self, due: &[JobId], now: UnixMs) -> Result<(u32, bool), StoreError> {
        // Many bills at once: what they are made of is read a chunk at a time in four
        // statements (and the pools and centres once each), and the ledger's writer takes
        // their transfers in a few commits.
        let mut all = true;
        let programmes = self.store.programmes().await?;
        let mut places = Places::default();
        let mut n = 0;
        for chunk in due.chunks(BILLS_PER_READ) {
            let mut bills = Vec::with_capacity(chunk.len());
            for d in self.store.to_bill(chunk).await? {
                let (pool, centre) = places.of(&self.store, &d).await?;
                bills.push((d.job.id.clone(), self.bill_one(d, pool, centre, &programmes, now)));
            }
            let (ids, bills): (Vec<JobId>, Vec<_>) = bills.into_iter().unzip();
            for (id, b) in ids.iter().zip(futures_util::future::join_all(bills).await) {
                match b {
                    Ok(_) => n += 1,
                    Err(StoreError::Domain(e)) if e.code == ErrorCode::BillExists => {}
                    Err(e) => {
                        all = false;
                        tracing::warn!(job = %id, error = %e, "billing failed; retrying next round")
                    }
                }
            }
        }
        Ok((n, all))
    }
}

/// The pool and centre a job is billed at: where it was placed or, for a job requeued between
/// time-sliced runs, where its last run was.
fn ran_at(job: &Job, segments: &[Segment]) -> (Option<PoolId>, Option<CentreId>) {
    let last = segments.last();
    (job.pool_id.clone().or_else(|| last.map(|s| s.pool_id.clone())), job.centre_id.clone().or_else(|| last.map(|s| s.centre_id.clone())))
}

/// The pools and centres that bills of one sweep name, each read once.
#[derive(Default)]
struct Places {
    pools: HashMap<CentreId, Vec<Pool>>,
    centres: HashMap<CentreId, Option<Centre>>,
}

impl Places {
    /// Where a job is billed ([`ran_at`]), read once per centre.
    async fn of(&mut self, store: &Store, due: &ToBill) -> Result<(Option<Pool>, Option<Centre>), StoreError> {
        let (pool_id, centre_id) = ran_at(&due.job, &due.segments);
        let Some(centre_id) = centre_id else { return Ok((None, None)) };
        if !self.centres.contains_key(&centre_id) {
            self.pools.insert(centre_id.clone(), store.pools_of(&centre_id).await?);
            self.centres.insert(centre_id.clone(), store.centre(&centre_id).await?);
        }
        let pool = pool_id.and_then(|p| self.pools.get(&centre_id).and_then(|ps| ps.iter().find(|x| x.id == p)).cloned());
        Ok((pool, self.centres.get(&centre_id).cloned().flatten()))
    }
}

/// Which rule a job's charge follows (see `suanli_ledger::voucher`).
pub fn charge_rule(job: &Job) -> ChargeRule {
    let ran = job.usage_s.unwrap_or(0) > 0;
    match job.state {
        JobState::Succeeded => ChargeRule::Completed,
        JobState::Failed if job.fault == Some(Fault::Centre) => ChargeRule::CentreFault,
        JobState::Failed if ran => ChargeRule::FailedRan,
        JobState::Cancelled if ran => ChargeRule::CancelledRan,
        _ => ChargeRule::NeverRan,
    }
}

/// Pending transfers in `history` that no later post, void or expiry resolved, oldest first.
pub fn open_holds(history: &[Transfer]) -> Vec<&Transfer> {
    let resolved: HashSet<TransferId> = history.iter().filter_map(|t| t.pending_id()).collect();
    history.iter().filter(|t| matches!(t.kind, TransferKind::Pending { .. }) && !resolved.contains(&t.id)).collect()
}

/// How a bill's charge is paid from the job's open holds, with the transfers that post what
/// it takes from each hold (oldest first) and void the rest.
fn settle_holds(holds: &[&Transfer], receivable: Option<&ChartAccount>, charge: Fen, ratio: u8, now: UnixMs) -> (Payment, Vec<Transfer>) {
    // The holds this bill posts against: every open one of each kind that pays this
    // provider (one of each, unless time-sliced runs topped them up), oldest first.
    let paying = |reason: ReasonCode| -> Vec<&Transfer> {
        holds.iter().filter(|h| h.reason == reason && receivable.is_some_and(|r| r.id == h.credit_account)).copied().collect()
    };
    let (voucher_holds, cash_holds) = (paying(ReasonCode::VoucherSpend), paying(ReasonCode::JobCharge));
    let sum = |hs: &[&Transfer]| Fen(hs.iter().map(|h| h.amount.0).sum());
    let held = Holds { voucher: sum(&voucher_holds), cash: sum(&cash_holds) };
    let pay = voucher::pay(charge, ratio, held);
    let mut transfers = Vec::new();
    for (hs, amount) in [(&voucher_holds, pay.voucher), (&cash_holds, pay.cash_from_hold)] {
        let mut left = amount.0;
        for h in hs.iter() {
            let id = TransferId::derive("bill", &h.id.to_hex());
            let take = left.min(h.amount.0);
            left -= take;
            transfers.push(if take > 0 { Transfer::post(id, h, Some(Fen(take)), now) } else { Transfer::void(id, h, now) });
        }
    }
    let used: HashSet<TransferId> = voucher_holds.iter().chain(&cash_holds).map(|h| h.id).collect();
    for h in holds.iter().filter(|h| !used.contains(&h.id)) {
        transfers.push(Transfer::void(TransferId::derive("bill", &h.id.to_hex()), h, now));
    }
    (pay, transfers)
}
