//! Money across the platform's earnings: settling a provider for a period (job bills, model calls and data deliveries, paid in one transfer with its statement) and reconciling every bill, usage record and delivery against the ledger. The API and the CLI (through it) call these.

use crate::caller::Caller;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{AuditId, BillId, ProviderId, StatementId, TenantId};
use suanli_core::money::Fen;
use suanli_core::time::UnixMs;
use suanli_dispatch::ids::Ids;
use suanli_ledger::records::{Bill, Statement};
use suanli_ledger::{ReasonCode, Transfer, TransferId, chart};
use suanli_store::reconciliation::ReconciliationRecords;
use suanli_store::{Audit, BillFilter, Effect, LedgerRequest, LedgerService, Store, StoreError, StoredAccount};

/// The latest a model call can still be recorded after it started (its hold's timeout).
pub use suanli_gateway::MAX_CALL_MS;

/// One record the ledger disagrees with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Mismatch {
    /// The job, model call (`req_…`) or data request (`drq_…`) it is about.
    pub subject: String,
    pub bill_id: Option<String>,
    pub problem: String,
}

/// What the reconciliation found.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Reconciliation {
    pub bills: usize,
    pub bills_matched: usize,
    pub charged: Fen,
    pub posted_voucher: Fen,
    pub posted_cash: Fen,
    pub outstanding: Fen,
    pub model_calls: usize,
    pub model_calls_matched: usize,
    pub model_calls_charged: Fen,
    pub data_deliveries: usize,
    pub data_deliveries_matched: usize,
    pub data_fees: Fen,
    pub mismatches: Vec<Mismatch>,
}

/// What a settlement pays: the records it takes and their sums.
#[derive(Debug, Clone)]
pub struct SettlementPlan {
    pub bills: Vec<Bill>,
    pub calls: u32,
    /// Model calls are taken up to here (at most [`MAX_CALL_MS`] before now).
    pub calls_until: UnixMs,
    pub deliveries: u32,
    pub charge: Fen,
    pub voucher: Fen,
    pub cash: Fen,
    /// What tenants still owe on the bills (not paid to the provider now).
    pub outstanding: Fen,
    /// Paid to the provider: the vouchers' and the tenants' parts.
    pub settled: Fen,
}

/// Settlement and reconciliation.
#[derive(Clone)]
pub struct Money {
    store: Store,
    ledger: LedgerService,
    ids: Ids,
    /// One settlement at a time, so nothing joins two statements.
    settle: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Money")
    }
}

fn err(code: ErrorCode, why: impl Into<String>) -> StoreError {
    Error::new(code, why).into()
}

/// Who may read a bill: the enterprise it bills, the provider whose centre ran the job, the
/// operator and the regulator; an expert none. The one rule the API's bills and the web's bill
/// page follow (`tenant` is the job's enterprise, `provider` the bill's provider if it has one).
pub fn may_read_bill(caller: &Caller, tenant: &TenantId, provider: Option<&ProviderId>) -> bool {
    match caller {
        Caller::Operator { .. } | Caller::Regulator { .. } => true,
        Caller::Tenant { tenant: own, .. } => own == tenant,
        Caller::Provider { provider: own, .. } => provider == Some(own),
        Caller::Expert { .. } => false,
    }
}

impl Money {
    pub fn new(store: Store, ledger: LedgerService, ids: Ids) -> Money {
        Money { store, ledger, ids, settle: Arc::default() }
    }

    /// A bill by its id for `caller` ([`may_read_bill`]); `bill_not_found` when there is none or
    /// the caller may not read it, so another enterprise's bill does not show that it exists.
    pub async fn bill(&self, caller: &Caller, id: &BillId) -> Result<Bill, StoreError> {
        match self.store.bill(id).await? {
            Some(b) if may_read_bill(caller, &b.tenant_id, b.provider_id.as_ref()) => Ok(b),
            _ => Err(err(ErrorCode::BillNotFound, format!("no bill {id}"))),
        }
    }

    /// What settling a provider for `[from, to)` would pay now (the operator; the web UI shows it
    /// on the confirmation page): the same sums [`Money::settle`] commits, nothing written.
    pub async fn preview(&self, caller: &Caller, provider: &ProviderId, from: UnixMs, to: UnixMs) -> Result<SettlementPlan, StoreError> {
        self.check(caller, provider, from, to).await?;
        self.plan(provider, from, to).await
    }

    async fn check(&self, caller: &Caller, provider: &ProviderId, from: UnixMs, to: UnixMs) -> Result<(), StoreError> {
        crate::vouchers::operator_only(caller, "settling providers")?;
        self.store.provider(provider).await?.ok_or_else(|| err(ErrorCode::ProviderNotFound, format!("no provider {provider}")))?;
        if from >= to {
            return Err(err(ErrorCode::InvalidPeriod, "the period is empty"));
        }
        Ok(())
    }

    /// The provider's unsettled bills, model calls (up to [`MAX_CALL_MS`] before now) and data
    /// deliveries in the period, and their sums; `nothing_to_settle` when there are none.
    async fn plan(&self, provider: &ProviderId, from: UnixMs, to: UnixMs) -> Result<SettlementPlan, StoreError> {
        let filter = BillFilter {
            provider_id: Some(provider.clone()),
            from_ms: Some(from),
            to_ms: Some(to),
            unsettled: true,
            limit: 100_000,
            ..BillFilter::default()
        };
        let bills = self.store.bills(&filter).await?;
        // Calls are taken up to a moment safely past, so that no call still running can land
        // before it. A delivery committed after this read would land in the period: the store
        // checks every count again when the statement commits (`settlement_changed`).
        let calls_until = to.min(self.ids.now_ms() - MAX_CALL_MS);
        let (calls, mc_charge, mc_voucher, mc_cash) = if calls_until > from {
            self.store.model_calls_unsettled(provider, from, calls_until).await?
        } else {
            (0, Fen::ZERO, Fen::ZERO, Fen::ZERO)
        };
        let (deliveries, dl_fee, dl_voucher, dl_cash) = self.store.data_fees_unsettled(provider, from, to).await?;
        if bills.is_empty() && calls == 0 && deliveries == 0 {
            return Err(err(
                ErrorCode::NothingToSettle,
                format!("provider {provider} has no unsettled bills, model calls or data deliveries in the period"),
            ));
        }
        let sum = |f: fn(&Bill) -> Fen| Fen(bills.iter().map(|b| f(b).0).sum());
        let (charge, voucher, cash) = (
            Fen(sum(|b| b.charge).0 + mc_charge.0 + dl_fee.0),
            Fen(sum(|b| b.voucher).0 + mc_voucher.0 + dl_voucher.0),
            Fen(sum(|b| b.cash).0 + mc_cash.0 + dl_cash.0),
        );
        let outstanding = sum(|b| b.outstanding);
        Ok(SettlementPlan { bills, calls, calls_until, deliveries, charge, voucher, cash, outstanding, settled: Fen(voucher.0 + cash.0) })
    }

    /// Settles a provider for `[from, to)` (the operator): a statement of its unsettled job bills,
    /// the model calls its centres served (up to [`MAX_CALL_MS`] before now, so no call can still
    /// land in the period) and its data sets' deliveries, with one transfer paying it what the
    /// vouchers and tenants paid, committed together.
    pub async fn settle(&self, caller: &Caller, provider: &ProviderId, from: UnixMs, to: UnixMs) -> Result<Statement, StoreError> {
        self.settle_expecting(caller, provider, from, to, None).await
    }

    /// As [`Money::settle`], refused with `settlement_changed` (nothing written) unless it pays
    /// `expected`, the amount a person confirmed from [`Money::preview`].
    pub async fn settle_expecting(
        &self,
        caller: &Caller,
        provider: &ProviderId,
        from: UnixMs,
        to: UnixMs,
        expected: Option<Fen>,
    ) -> Result<Statement, StoreError> {
        self.check(caller, provider, from, to).await?;
        let _one = self.settle.lock().await;
        // A record that lands between the plan and its commit refuses the commit; without an
        // amount confirmed by a person, plan again (a few times: records keep arriving).
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.settle_once(caller, provider, from, to, expected).await {
                Err(StoreError::Domain(e)) if e.code == ErrorCode::SettlementChanged && expected.is_none() && attempt < 3 => continue,
                done => return done,
            }
        }
    }

    /// One plan and its commit, under the settlement lock.
    async fn settle_once(
        &self,
        caller: &Caller,
        provider: &ProviderId,
        from: UnixMs,
        to: UnixMs,
        expected: Option<Fen>,
    ) -> Result<Statement, StoreError> {
        let SettlementPlan { bills, calls, calls_until, deliveries, charge, voucher, cash, outstanding, settled } =
            self.plan(provider, from, to).await?;
        if let Some(x) = expected
            && x != settled
        {
            return Err(err(ErrorCode::SettlementChanged, format!("the settlement would now pay {settled}, not the {x} confirmed")));
        }
        let (t, e) = self.ids.parts();
        let id = StatementId::generate(t, e);
        let tid = TransferId::derive("settle", id.as_str());
        let (receivable, payout) = (chart::receivable(provider.as_str()), chart::payout(provider.as_str()));
        let transfers = if settled.is_positive() {
            vec![Transfer::single(tid, receivable.id, payout.id, settled, ReasonCode::Settlement, id.as_str(), t)]
        } else {
            Vec::new()
        };
        let st = Statement {
            id: id.clone(),
            provider_id: provider.clone(),
            from_ms: from,
            to_ms: to,
            bills: bills.len() as u32,
            model_calls: calls,
            data_deliveries: deliveries,
            charge,
            voucher,
            cash,
            outstanding,
            settled,
            transfer_id: settled.is_positive().then(|| tid.to_hex()),
            created_ms: t,
        };
        let audit = Audit {
            id: AuditId::generate(t, e),
            at_ms: t,
            actor: caller.actor(),
            action: "provider.settle".into(),
            subject: id.to_string(),
            detail: serde_json::json!({"provider": provider, "bills": bills.len(), "model_calls": calls, "data_deliveries": deliveries, "settled": settled.to_yuan_string()}),
        };
        self.ledger
            .submit_all(LedgerRequest {
                accounts: vec![StoredAccount::of(&receivable, t), StoredAccount::of(&payout, t)],
                transfers,
                linked: true,
                effects: vec![Effect::InsertStatement {
                    statement: st.clone(),
                    bills: bills.iter().map(|b| b.id.clone()).collect(),
                    model_calls_until: (calls_until > from).then_some(calls_until),
                }],
                audit: Some(audit),
                ..LedgerRequest::default()
            })
            .await?;
        Ok(st)
    }

    /// Replays the stored ledger and checks every invariant (the operator and the regulator).
    pub async fn verify(&self, caller: &Caller) -> Result<crate::ledger::LedgerCheck, StoreError> {
        if !matches!(caller, Caller::Operator { .. } | Caller::Regulator { .. }) {
            return Err(err(ErrorCode::Forbidden, "the ledger's verification is for the operator and the regulator"));
        }
        crate::ledger::verify_store(&self.store).await
    }

    /// Verifies the ledger and reconciles every record now, and keeps the result as the latest
    /// check (the operator and the regulator; the web page's "verify now").
    pub async fn check_ledger(&self, caller: &Caller, now: UnixMs) -> Result<crate::ledger::StoredCheck, StoreError> {
        let user = match caller {
            Caller::Operator { user } | Caller::Regulator { user } => user.to_string(),
            _ => return Err(err(ErrorCode::Forbidden, "the ledger's verification is for the operator and the regulator")),
        };
        self.run_check(user, now).await
    }

    /// The server's own check (hourly, and once the demo is seeded): as [`Money::check_ledger`].
    pub async fn check_ledger_on_schedule(&self, now: UnixMs) -> Result<crate::ledger::StoredCheck, StoreError> {
        self.run_check("schedule".into(), now).await
    }

    async fn run_check(&self, by: String, now: UnixMs) -> Result<crate::ledger::StoredCheck, StoreError> {
        let started = std::time::Instant::now();
        let check = crate::ledger::verify_store(&self.store).await?;
        let mut reconciliation = self.reconcile_all().await?;
        let mismatches_total = reconciliation.mismatches.len();
        reconciliation.mismatches.truncate(crate::ledger::KEPT_MISMATCHES);
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let stored = crate::ledger::StoredCheck { at: now, by, check, reconciliation, mismatches_total, elapsed_ms };
        let json = serde_json::to_string(&stored).map_err(|e| StoreError::Corrupt(format!("a ledger check as JSON: {e}")))?;
        self.store.set_meta(crate::ledger::LAST_CHECK_KEY, &json).await?;
        Ok(stored)
    }

    /// The latest check kept, if one has run (the operator and the regulator).
    pub async fn last_check(&self, caller: &Caller) -> Result<Option<crate::ledger::StoredCheck>, StoreError> {
        if !matches!(caller, Caller::Operator { .. } | Caller::Regulator { .. }) {
            return Err(err(ErrorCode::Forbidden, "the ledger's verification is for the operator and the regulator"));
        }
        let Some(json) = self.store.meta(crate::ledger::LAST_CHECK_KEY).await? else { return Ok(None) };
        serde_json::from_str(&json).map(Some).map_err(|e| StoreError::Corrupt(format!("the latest ledger check: {e}")))
    }

    /// Ledger accounts a caller may see: the operator and the regulator every account (or one
    /// owner's, with its sub-accounts), a tenant or a provider its own; an expert none.
    pub async fn accounts(&self, caller: &Caller, owner: Option<&str>) -> Result<Vec<StoredAccount>, StoreError> {
        let own = match caller {
            Caller::Operator { .. } | Caller::Regulator { .. } => return self.store.ledger_accounts(owner).await,
            Caller::Tenant { tenant, .. } => tenant.to_string(),
            Caller::Provider { provider, .. } => provider.to_string(),
            Caller::Expert { .. } => return Err(err(ErrorCode::Forbidden, "an expert sees only the applications assigned to it")),
        };
        if owner.is_some_and(|o| o != own) {
            return Err(err(ErrorCode::Forbidden, "you see only your own accounts"));
        }
        self.store.ledger_accounts(Some(&own)).await
    }

    /// Ties every bill to its job's metered usage and to the ledger's postings, every model call's
    /// usage record and every data delivery to theirs, and lists postings with no record (the
    /// operator and the regulator).
    pub async fn reconcile(&self, caller: &Caller) -> Result<Reconciliation, StoreError> {
        if !matches!(caller, Caller::Operator { .. } | Caller::Regulator { .. }) {
            return Err(err(ErrorCode::Forbidden, "the reconciliation is for the operator and the regulator"));
        }
        self.reconcile_all().await
    }

    async fn reconcile_all(&self) -> Result<Reconciliation, StoreError> {
        // Model calls are charged when the ledger decides: read once everything decided is durable.
        self.ledger.barrier().await?;
        // Records and postings from one snapshot: the ledger's writer keeps committing bills with
        // their postings while this reads, and a commit between two reads is not a mismatch.
        let records = self.store.reconciliation_records().await?;
        let mut r = Reconciliation::default();
        Self::reconcile_bills(&records, &mut r);
        Self::reconcile_calls(&records, &mut r);
        Self::reconcile_deliveries(&records, &mut r);
        Ok(r)
    }

    fn reconcile_bills(records: &ReconciliationRecords, r: &mut Reconciliation) {
        let (bills, sums) = (&records.bills, &records.job_postings);
        let pools: BTreeMap<String, &suanli_core::centre::Pool> = records.pools.iter().map(|p| (p.id.to_string(), p)).collect();
        let mut billed = BTreeSet::new();
        let mut bad_bills = BTreeSet::new();
        for b in bills {
            billed.insert(b.job_id.to_string());
            r.charged = Fen(r.charged.0 + b.charge.0);
            r.outstanding = Fen(r.outstanding.0 + b.outstanding.0);
            let job = records.jobs.get(&b.job_id);
            let mut bad = |problem: String| {
                bad_bills.insert(b.id.to_string());
                r.mismatches.push(Mismatch { subject: b.job_id.to_string(), bill_id: Some(b.id.to_string()), problem });
            };
            // At the price the bill was charged at (a pool's price may have changed since).
            let metered = match (&job, b.pool_id.as_ref().and_then(|p| pools.get(p.as_str()))) {
                (Some(j), Some(_)) => Fen::charge(b.price_per_hour, j.spec.accelerators, j.usage_s.unwrap_or(0), b.discount_pct),
                _ => Fen::ZERO,
            };
            // A time-sliced job's earlier runs are charged in full, each at what it cost when it stopped.
            let mut segments_charge = 0;
            for seg in records.segments.get(&b.job_id).into_iter().flatten() {
                if job.is_some() && pools.contains_key(seg.pool_id.as_str()) {
                    segments_charge += seg.cost.0;
                }
            }
            let expected = Fen(segments_charge + b.rule.charge(metered).0);
            if expected != b.charge {
                bad(format!("the bill charges {} but the metered usage under rule {} gives {}", b.charge, b.rule.as_str(), expected));
            }
            let v = sums.get(&(b.job_id.to_string(), ReasonCode::VoucherSpend.as_str().to_string())).copied().unwrap_or(0);
            let cash = sums.get(&(b.job_id.to_string(), ReasonCode::JobCharge.as_str().to_string())).copied().unwrap_or(0);
            r.posted_voucher = Fen(r.posted_voucher.0 + v);
            r.posted_cash = Fen(r.posted_cash.0 + cash);
            if v != b.voucher.0 || cash != b.cash.0 {
                bad(format!("the ledger posted voucher {} and cash {}, the bill says {} and {}", Fen(v), Fen(cash), b.voucher, b.cash));
            }
            if b.voucher.0 + b.cash.0 + b.outstanding.0 != b.charge.0 {
                bad("voucher + cash + outstanding differs from the charge".into());
            }
        }
        for ((reference, reason), amount) in sums {
            if (reason == ReasonCode::VoucherSpend.as_str() || reason == ReasonCode::JobCharge.as_str())
                && !billed.contains(reference)
                && *amount != 0
            {
                r.mismatches.push(Mismatch {
                    subject: reference.clone(),
                    bill_id: None,
                    problem: format!("{} of {reason} posted without a bill", Fen(*amount)),
                });
            }
        }
        r.bills = bills.len();
        r.bills_matched = bills.len() - bad_bills.len();
    }

    /// Each usage record's charge is split into its voucher and cash parts, and the ledger posted
    /// those, the provider's part and the key's budget for it.
    fn reconcile_calls(records: &ReconciliationRecords, r: &mut Reconciliation) {
        let (calls, sums) = (&records.calls, &records.call_postings);
        let mut bad_calls = BTreeSet::new();
        for c in calls {
            r.model_calls_charged = Fen(r.model_calls_charged.0 + c.charge.0);
            let mut bad = |problem: String| {
                bad_calls.insert(c.id.clone());
                r.mismatches.push(Mismatch { subject: c.id.clone(), bill_id: None, problem });
            };
            let posted = |reason: ReasonCode| sums.get(&(c.id.clone(), reason.as_str().to_string())).copied().unwrap_or(0);
            if c.voucher.0 + c.cash.0 != c.charge.0 {
                bad(format!("the call's voucher {} and cash {} do not add up to its charge {}", c.voucher, c.cash, c.charge));
            }
            if posted(ReasonCode::VoucherSpend) != c.voucher.0 {
                bad(format!(
                    "the ledger posted {} from vouchers, the usage record says {}",
                    Fen(posted(ReasonCode::VoucherSpend)),
                    c.voucher
                ));
            }
            // The tenant's cash part and the provider's whole part both carry the model_call reason.
            if posted(ReasonCode::ModelCall) != c.cash.0 + c.charge.0 {
                bad(format!(
                    "the ledger posted {} for the call (cash and the provider's part), the usage record says {} + {}",
                    Fen(posted(ReasonCode::ModelCall)),
                    c.cash,
                    c.charge
                ));
            }
            if posted(ReasonCode::KeyBudget) != c.charge.0 {
                bad(format!("the key's budget was charged {}, the usage record says {}", Fen(posted(ReasonCode::KeyBudget)), c.charge));
            }
        }
        r.model_calls = calls.len();
        r.model_calls_matched = calls.len() - bad_calls.len();
    }

    /// Each delivery's fee is its voucher and cash parts; the ledger posted the voucher part, and
    /// under `data_purchase` the cash part and the supplier's whole fee. A request with postings
    /// and no delivery (money taken, nothing delivered) is listed.
    fn reconcile_deliveries(records: &ReconciliationRecords, r: &mut Reconciliation) {
        let (deliveries, sums) = (&records.deliveries, &records.delivery_postings);
        let mut delivered = BTreeSet::new();
        let mut bad_ones = BTreeSet::new();
        for d in deliveries {
            let req = d.request_id.to_string();
            delivered.insert(req.clone());
            r.data_fees = Fen(r.data_fees.0 + d.fee.0);
            let mut bad = |problem: String| {
                bad_ones.insert(req.clone());
                r.mismatches.push(Mismatch { subject: req.clone(), bill_id: None, problem });
            };
            let posted = |reason: ReasonCode| sums.get(&(req.clone(), reason.as_str().to_string())).copied().unwrap_or(0);
            if d.voucher.0 + d.cash.0 != d.fee.0 {
                bad(format!("the delivery's voucher {} and cash {} do not add up to its fee {}", d.voucher, d.cash, d.fee));
            }
            if posted(ReasonCode::VoucherSpend) != d.voucher.0 {
                bad(format!("the ledger posted {} from vouchers, the delivery says {}", Fen(posted(ReasonCode::VoucherSpend)), d.voucher));
            }
            if posted(ReasonCode::DataPurchase) != d.cash.0 + d.fee.0 {
                bad(format!(
                    "the ledger posted {} for the purchase (cash and the supplier's fee), the delivery says {} + {}",
                    Fen(posted(ReasonCode::DataPurchase)),
                    d.cash,
                    d.fee
                ));
            }
        }
        for ((reference, reason), amount) in sums {
            if !delivered.contains(reference) && *amount != 0 {
                r.mismatches.push(Mismatch {
                    subject: reference.clone(),
                    bill_id: None,
                    problem: format!("{} of {reason} posted without a delivery", Fen(*amount)),
                });
            }
        }
        r.data_deliveries = deliveries.len();
        r.data_deliveries_matched = deliveries.len() - bad_ones.len();
    }
}
