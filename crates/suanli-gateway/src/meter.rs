//! Metering a model call into the ledger: a hold before the call is forwarded, and one linked charge with its usage record when it ends.
//!
//! The hold is three linked pending transfers decided in the ledger's writer (so nothing can
//! change in between): the key's budget (a memo account: the ledger's balance rule is what stops
//! a key from spending past its budget, however many calls race), the voucher's share of the
//! estimate at the programme's model-call ratio as far as the voucher has money, and the rest
//! from the tenant's cash. Money is held in the platform's model-call clearing account, since
//! which provider serves is known only after routing. When the call ends, the charge (the
//! upstream's usage at the serving deployment's price, capped at the hold) is posted against
//! the holds by the billing rule of `suanli_ledger::voucher`, moved from clearing to the
//! provider's receivable (paid at settlement like compute), and the usage record is written in
//! the same commit. Transfer ids derive from the call id, so a retried step applies once.

use std::sync::Arc;
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{ProviderId, TenantId};
use suanli_core::model::ModelCall;
use suanli_core::money::Fen;
use suanli_core::time::UnixMs;
use suanli_ledger::chart::{self, ChartAccount};
use suanli_ledger::voucher::{self, Holds};
use suanli_ledger::{AccountId, AccountKind, Ledger, ReasonCode, Transfer, TransferId};
use suanli_store::{Effect, LedgerRequest, LedgerService, StoredAccount};

/// The platform's clearing account for model calls.
pub fn clearing() -> ChartAccount {
    chart::ChartAccount {
        id: suanli_ledger::AccountId::derive(AccountKind::Platform, "model-calls"),
        kind: AccountKind::Platform,
        owner: "model-calls".into(),
    }
}

/// The voucher programme a call may be paid by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherTerms {
    pub programme: String,
    pub ratio_pct: u8,
    /// Vouchers pay only at partner centres.
    pub partner_only: bool,
}

/// A call's hold, as placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub call: String,
    pub tenant: TenantId,
    pub key: String,
    pub estimate: Fen,
    pub terms: Option<VoucherTerms>,
    pub budget: Option<Transfer>,
    pub voucher: Option<Transfer>,
    pub cash: Option<Transfer>,
}

impl Hold {
    /// A hold not yet placed.
    pub fn new(call: &str, tenant: &TenantId, key: &str, estimate: Fen, terms: Option<VoucherTerms>) -> Hold {
        Hold {
            call: call.to_string(),
            tenant: tenant.clone(),
            key: key.to_string(),
            estimate,
            terms,
            budget: None,
            voucher: None,
            cash: None,
        }
    }
}

fn available(ledger: &Ledger, a: &ChartAccount) -> Fen {
    ledger.account(a.id).map_or(Fen::ZERO, |x| x.available())
}

/// Places the hold for a call (nothing if the estimate is zero). `insufficient_quota` says
/// whether the key's budget or the tenant's balance falls short.
pub async fn reserve(ledger: &LedgerService, mut hold: Hold, now: UnixMs, timeout_ms: i64) -> Result<Hold, Error> {
    let (call, tenant, key, estimate) = (hold.call.clone(), hold.tenant.clone(), hold.key.clone(), hold.estimate);
    let (call, tenant, key) = (call.as_str(), &tenant, key.as_str());
    if !estimate.is_positive() {
        return Ok(hold);
    }
    let budget_acct = chart::model_key_budget(key);
    let limits = chart::model_key_limits();
    let cash_acct = chart::cash(tenant.as_str());
    let clear = clearing();
    let voucher_acct = hold.terms.as_ref().map(|t| chart::voucher(tenant.as_str(), &t.programme));
    let ratio = hold.terms.as_ref().map_or(0, |t| t.ratio_pct);
    let budget = Transfer::pending(
        TransferId::derive("call-hold-budget", call),
        budget_acct.id,
        limits.id,
        estimate,
        ReasonCode::KeyBudget,
        call,
        now,
        Some(timeout_ms),
    );
    let holds = HoldPlan {
        call: call.to_string(),
        tenant: tenant.to_string(),
        estimate,
        ratio,
        budget: budget_acct.clone(),
        voucher: voucher_acct.clone(),
        cash: cash_acct.clone(),
        clearing: clear.id,
        now,
        timeout_ms,
    };
    // The holds the writer planned: (voucher, cash).
    let planned: std::sync::Arc<std::sync::Mutex<(Option<Transfer>, Option<Transfer>)>> = std::sync::Arc::default();
    let out = planned.clone();
    let plan = Box::new(move |l: &Ledger| {
        let (voucher, cash) = holds.plan(l)?;
        let v: Vec<Transfer> = voucher.iter().chain(&cash).cloned().collect();
        *out.lock().unwrap_or_else(|e| e.into_inner()) = (voucher, cash);
        Ok(v)
    });
    let mut accounts = vec![StoredAccount::of(&cash_acct, now), StoredAccount::of(&clear, now)];
    if let Some(v) = &voucher_acct {
        accounts.push(StoredAccount::of(v, now));
    }
    // Decided is enough to forward: the writer's decision binds every later request (so the
    // budget holds however many calls race); a crash before the commit loses only the hold.
    ledger
        .submit_all_decided(LedgerRequest {
            accounts,
            transfers: vec![budget.clone()],
            plan: Some(plan),
            linked: true,
            ..LedgerRequest::default()
        })
        .await
        .map_err(|e| match e.code {
            ErrorCode::InsufficientFunds | ErrorCode::UnknownAccount => {
                Error::new(ErrorCode::InsufficientQuota, format!("the key's budget or the tenant's balance does not cover {estimate}"))
            }
            _ => e,
        })?;
    hold.budget = Some(budget);
    (hold.voucher, hold.cash) = std::mem::take(&mut *planned.lock().unwrap_or_else(|e| e.into_inner()));
    Ok(hold)
}

/// What the ledger's writer needs to plan a call's voucher and cash holds.
struct HoldPlan {
    call: String,
    tenant: String,
    estimate: Fen,
    /// The voucher's share of a model call, percent.
    ratio: u8,
    budget: ChartAccount,
    voucher: Option<ChartAccount>,
    cash: ChartAccount,
    clearing: AccountId,
    now: UnixMs,
    timeout_ms: i64,
}

impl HoldPlan {
    /// The call's voucher and cash holds, decided on the ledger as it stands: the voucher's share
    /// as far as it has money, the rest from cash; insufficient_quota when the key's budget or
    /// the tenant's cash falls short.
    fn plan(&self, l: &Ledger) -> Result<(Option<Transfer>, Option<Transfer>), Error> {
        let (estimate, call) = (self.estimate, self.call.as_str());
        let left = available(l, &self.budget);
        if left < estimate {
            return Err(Error::new(
                ErrorCode::InsufficientQuota,
                format!("the key's budget has {left} left and this call may cost up to {estimate}; raise the budget or use another key"),
            ));
        }
        let v_avail = self.voucher.as_ref().map_or(Fen::ZERO, |v| available(l, v));
        let h = voucher::holds(estimate, self.ratio, v_avail);
        let cash_avail = available(l, &self.cash);
        if cash_avail < h.cash {
            return Err(Error::new(
                ErrorCode::InsufficientQuota,
                format!(
                    "tenant {} has {cash_avail} in cash (and vouchers pay {}); this call may cost up to {estimate}: top up",
                    self.tenant, h.voucher
                ),
            ));
        }
        let hold = |tag: &str, from: AccountId, amount: Fen, reason: ReasonCode| {
            Transfer::pending(TransferId::derive(tag, call), from, self.clearing, amount, reason, call, self.now, Some(self.timeout_ms))
        };
        let voucher = match (&self.voucher, h.voucher.is_positive()) {
            (Some(va), true) => Some(hold("call-hold-voucher", va.id, h.voucher, ReasonCode::VoucherSpend)),
            _ => None,
        };
        let cash = h.cash.is_positive().then(|| hold("call-hold-cash", self.cash.id, h.cash, ReasonCode::ModelCall));
        Ok((voucher, cash))
    }
}

/// Who served a call, for paying the provider and the voucher rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub provider: ProviderId,
    pub partner: bool,
}

/// Queues a call's charge against its hold with its usage record, to be decided and committed
/// together by the ledger's writer, and returns without waiting for either. The
/// charge is capped at the hold (an estimate that fell short is the platform's loss, never the
/// tenant's surprise); `record` gets the amounts filled in. The usage record is the call's
/// audit trail (who, what, how much, where it was routed and why).
pub async fn settle(
    ledger: &LedgerService,
    hold: &Hold,
    charge: Fen,
    server: Option<&Server>,
    mut record: ModelCall,
    now: UnixMs,
) -> Result<Arc<ModelCall>, Error> {
    let charge = Fen(charge.0.clamp(0, hold.estimate.0.max(0)));
    let ratio = match (&hold.terms, server) {
        (Some(t), Some(s)) if !t.partner_only || s.partner => t.ratio_pct,
        _ => 0,
    };
    let held =
        Holds { voucher: hold.voucher.as_ref().map_or(Fen::ZERO, |t| t.amount), cash: hold.cash.as_ref().map_or(Fen::ZERO, |t| t.amount) };
    let mut pay = voucher::pay(charge, ratio, held);
    // The charge is capped at the hold, so it fits the holds unless the voucher paid less
    // than its hold: then the cash hold takes what it can and the rest is the voucher's.
    if pay.cash_overrun.is_positive() {
        let extra = pay.cash_overrun.min(Fen(held.voucher.0 - pay.voucher.0));
        pay.voucher = Fen(pay.voucher.0 + extra.0);
        pay.cash_overrun = Fen(pay.cash_overrun.0 - extra.0);
    }
    let billed = Fen(pay.voucher.0 + pay.cash_from_hold.0);
    let mut transfers = Vec::new();
    let call = hold.call.as_str();
    for (h, amount) in [(&hold.budget, billed), (&hold.voucher, pay.voucher), (&hold.cash, pay.cash_from_hold)] {
        if let Some(h) = h {
            let id = TransferId::derive("call-charge", &h.id.to_hex());
            transfers.push(if amount.is_positive() { Transfer::post(id, h, Some(amount), now) } else { Transfer::void(id, h, now) });
        }
    }
    let mut accounts = Vec::new();
    if let (Some(s), true) = (server, billed.is_positive()) {
        let r = chart::receivable(s.provider.as_str());
        accounts.push(StoredAccount::of(&r, now));
        transfers.push(Transfer::single(
            TransferId::derive("call-pay-provider", call),
            clearing().id,
            r.id,
            billed,
            ReasonCode::ModelCall,
            call,
            now,
        ));
    }
    record.charge = billed;
    record.voucher = pay.voucher;
    record.cash = pay.cash_from_hold;
    record.programme_id = hold.terms.as_ref().filter(|_| pay.voucher.is_positive()).map(|t| t.programme.clone());
    let record = Arc::new(record);
    // Queued, not awaited: the call's answer goes out at once. The writer decides the charge
    // before anything queued after it (a barrier, the key's next hold), and it cannot be
    // refused (posting against the call's own holds, capped at them); it is durable with the
    // writer's next commit, so a crash in between loses the charge of a call that was served
    // (the platform's loss, never the tenant's: its holds time out).
    ledger
        .submit_detached(LedgerRequest {
            accounts,
            transfers,
            linked: true,
            effects: vec![Effect::InsertModelCall(record.clone())],
            ..LedgerRequest::default()
        })
        .await?;
    Ok(record)
}
