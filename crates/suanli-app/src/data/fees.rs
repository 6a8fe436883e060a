//! A data request's fee in the ledger: how it splits between the voucher's data share and cash, the holds made when a request is made, and the payments made when it is delivered.

use super::{DataSharing, REQUEST_WINDOW_MS, err};
use suanli_core::error::{Error, ErrorCode};
use suanli_core::money::Fen;
use suanli_core::time::UnixMs;
use suanli_data::catalogue::DataRequest;
use suanli_ledger::voucher;
use suanli_ledger::{ReasonCode, Transfer, TransferId, chart};
use suanli_store::{StoreError, StoredAccount};

impl DataSharing {
    /// How a fee splits: (programme, voucher part, cash part), the voucher paying its data
    /// ratio as far as it has money, and cash the rest (which it must have).
    pub(super) async fn split_fee(&self, tenant: &str, fee: Fen) -> Result<(Option<String>, Fen, Fen), StoreError> {
        if !fee.is_positive() {
            return Ok((None, Fen::ZERO, Fen::ZERO));
        }
        self.ledger.barrier().await?;
        let now = self.ids.now_ms();
        let programme = self.store.programme_open_at(now).await?;
        let (pid, ratio) = programme.map_or((None, 0), |p| (Some(p.id.to_string()), p.rules.ratio_data_pct));
        let available = |a: Option<suanli_store::StoredAccount>| a.map_or(Fen::ZERO, |a| a.account.available());
        let v_avail = match &pid {
            Some(p) => available(self.store.ledger_account(chart::voucher(tenant, p).id).await?),
            None => Fen::ZERO,
        };
        let h = voucher::holds(fee, ratio, v_avail);
        let cash = available(self.store.ledger_account(chart::cash(tenant).id).await?);
        if cash < h.cash {
            return Err(err(
                ErrorCode::InsufficientFunds,
                format!(
                    "the fee is {fee}: vouchers pay {} and cash must pay {}, but the balance is {cash}; top up first",
                    h.voucher, h.cash
                ),
            ));
        }
        Ok((pid.filter(|_| h.voucher.is_positive()), h.voucher, h.cash))
    }

    pub(super) fn accounts(&self, r: &DataRequest, now: UnixMs) -> Vec<StoredAccount> {
        let mut a = vec![
            StoredAccount::of(&chart::cash(r.tenant_id.as_str()), now),
            StoredAccount::of(&chart::data_purchases(), now),
            StoredAccount::of(&chart::receivable(r.supplier_id.as_str()), now),
        ];
        if let Some(p) = &r.programme_id {
            a.push(StoredAccount::of(&chart::voucher(r.tenant_id.as_str(), p), now));
        }
        a
    }

    /// The fee's parts a tenant pays: (the voucher or cash account, amount, reason, id tag),
    /// empty parts left out.
    fn fee_parts(r: &DataRequest) -> Vec<(suanli_ledger::AccountId, Fen, ReasonCode, &'static str)> {
        let mut v = Vec::new();
        if let (Some(p), true) = (&r.programme_id, r.voucher.is_positive()) {
            v.push((chart::voucher(r.tenant_id.as_str(), p).id, r.voucher, ReasonCode::VoucherSpend, "voucher"));
        }
        if r.cash.is_positive() {
            v.push((chart::cash(r.tenant_id.as_str()).id, r.cash, ReasonCode::DataPurchase, "cash"));
        }
        v
    }

    /// The fee's pending transfers into clearing (ids derived from the request).
    pub(super) fn holds(&self, r: &DataRequest) -> Vec<Transfer> {
        let clear = chart::data_purchases().id;
        Self::fee_parts(r)
            .into_iter()
            .map(|(from, amount, reason, tag)| {
                let id = TransferId::derive(&format!("data-hold-{tag}"), r.id.as_str());
                Transfer::pending(id, from, clear, amount, reason, r.id.as_str(), r.created_ms, Some(REQUEST_WINDOW_MS))
            })
            .collect()
    }

    /// Pays an unconditional delivery at once, by the same road as an approved one: voucher and
    /// cash into clearing, clearing to the supplier (so one reconciliation rule covers both).
    pub(super) fn pay_at_once(&self, r: &DataRequest) -> Vec<Transfer> {
        let clear = chart::data_purchases().id;
        let mut v: Vec<Transfer> = Self::fee_parts(r)
            .into_iter()
            .map(|(from, amount, reason, tag)| {
                let id = TransferId::derive(&format!("data-pay-{tag}"), r.id.as_str());
                Transfer::single(id, from, clear, amount, reason, r.id.as_str(), r.created_ms)
            })
            .collect();
        v.extend(self.pay_supplier(r, r.created_ms));
        v
    }

    /// Clearing to the supplier's receivable: the whole fee, settled with its other earnings.
    pub(super) fn pay_supplier(&self, r: &DataRequest, now: UnixMs) -> Option<Transfer> {
        r.fee.is_positive().then(|| {
            Transfer::single(
                TransferId::derive("data-pay", r.id.as_str()),
                chart::data_purchases().id,
                chart::receivable(r.supplier_id.as_str()).id,
                r.fee,
                ReasonCode::DataPurchase,
                r.id.as_str(),
                now,
            )
        })
    }
}

/// The ledger's refusal of a fee, in the data service's words.
pub(super) fn insufficient(e: Error) -> StoreError {
    match e.code {
        ErrorCode::InsufficientFunds | ErrorCode::LinkedFailed => {
            err(ErrorCode::InsufficientFunds, "the voucher or the cash balance no longer covers the fee; top up and ask again")
        }
        _ => e.into(),
    }
}
