//! Transfers: single, pending (a reservation), and the post or void that resolves a pending one.

use crate::account::AccountId;
use serde::{Deserialize, Serialize};
use suanli_core::money::Fen;

/// A transfer id, chosen by the client so that a retry after a lost answer is recognised.
///
/// Zero is invalid, and ids with the top bit set are reserved for the ledger's own expiry
/// records (see [`TransferId::expiry_of`]), so they can never collide with a client's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TransferId(pub u128);

impl std::fmt::Display for TransferId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl TransferId {
    const RESERVED_BIT: u128 = 1 << 127;

    /// The id of the record the ledger writes when the pending transfer `pending` times out.
    pub fn expiry_of(pending: TransferId) -> TransferId {
        TransferId(pending.0 | Self::RESERVED_BIT)
    }

    /// The platform's own transfer for `purpose` (e.g. "hold-voucher") of `reference` (e.g. a
    /// job id): a 128-bit FNV-1a hash with the reserved bit cleared, so a retried step of a
    /// flow always carries the same id and the ledger applies it once. Never zero.
    pub fn derive(purpose: &str, reference: &str) -> TransferId {
        TransferId((crate::account::fnv1a_128(&[purpose.as_bytes(), b"/", reference.as_bytes()]) & !Self::RESERVED_BIT).max(1))
    }

    /// The id as 32 lower-case hex digits.
    pub fn to_hex(self) -> String {
        format!("{:032x}", self.0)
    }

    /// Parses 1 to 32 hex digits; `None` for anything else, zero, or a reserved id.
    pub fn parse_hex(s: &str) -> Option<TransferId> {
        crate::account::parse_u128_hex(s).map(TransferId).filter(|t| t.0 != 0 && !t.is_reserved())
    }

    /// Whether this id is in the ledger's reserved range.
    pub fn is_reserved(self) -> bool {
        self.0 & Self::RESERVED_BIT != 0
    }
}

/// Why money moved, in the domain's words. Stored with every transfer for statements and audits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// External funding pays into a programme budget.
    BudgetFunding,
    /// An approved application: programme budget to an enterprise's voucher account.
    VoucherIssue,
    /// A voucher pays (part of) a job's charge.
    VoucherSpend,
    /// Unspent voucher money returns to the programme budget at the end of the year.
    VoucherExpiry,
    /// An enterprise tops up its cash balance.
    CashTopUp,
    /// A job's charge paid from the enterprise's cash balance.
    JobCharge,
    /// Money returned to whoever paid it.
    Refund,
    /// A provider is paid what its centres earned.
    Settlement,
    /// A correction by the operator, with the reference saying why.
    Adjustment,
    /// The ledger voided a pending transfer whose timeout passed.
    PendingTimeout,
    /// A model call's charge paid from the enterprise's cash balance.
    ModelCall,
    /// A model key's budget set, raised or spent (memo accounts only).
    KeyBudget,
    /// A data set's delivery fee paid from the enterprise's cash balance (held until approval).
    DataPurchase,
    /// An incentive award paid from the city's or a district's budget.
    IncentiveAward,
}

impl ReasonCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::BudgetFunding => "budget_funding",
            ReasonCode::VoucherIssue => "voucher_issue",
            ReasonCode::VoucherSpend => "voucher_spend",
            ReasonCode::VoucherExpiry => "voucher_expiry",
            ReasonCode::CashTopUp => "cash_top_up",
            ReasonCode::JobCharge => "job_charge",
            ReasonCode::Refund => "refund",
            ReasonCode::Settlement => "settlement",
            ReasonCode::Adjustment => "adjustment",
            ReasonCode::PendingTimeout => "pending_timeout",
            ReasonCode::ModelCall => "model_call",
            ReasonCode::KeyBudget => "key_budget",
            ReasonCode::DataPurchase => "data_purchase",
            ReasonCode::IncentiveAward => "incentive_award",
        }
    }

    pub const ALL: [ReasonCode; 14] = [
        ReasonCode::BudgetFunding,
        ReasonCode::VoucherIssue,
        ReasonCode::VoucherSpend,
        ReasonCode::VoucherExpiry,
        ReasonCode::CashTopUp,
        ReasonCode::JobCharge,
        ReasonCode::Refund,
        ReasonCode::Settlement,
        ReasonCode::Adjustment,
        ReasonCode::PendingTimeout,
        ReasonCode::ModelCall,
        ReasonCode::KeyBudget,
        ReasonCode::DataPurchase,
        ReasonCode::IncentiveAward,
    ];

    pub fn parse(s: &str) -> Option<ReasonCode> {
        ReasonCode::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// What a transfer does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum TransferKind {
    /// Moves the amount at once (posted).
    Single,
    /// Reserves the amount (counted in the pending balances) until posted, voided or timed out
    /// `timeout_ms` after the transfer's timestamp.
    Pending { timeout_ms: Option<i64> },
    /// Posts a pending transfer: `amount` (default: all of it) moves to the posted balances
    /// and the rest of the reservation is released.
    PostPending { pending_id: TransferId, amount: Option<Fen> },
    /// Releases a pending transfer's reservation.
    VoidPending { pending_id: TransferId },
}

/// A transfer as the client submits it and as history stores it.
///
/// For a post or void, `debit_account`, `credit_account` and `amount` repeat the pending
/// transfer's (checked), so every history record names the accounts it touches; build one
/// with [`Transfer::post`] or [`Transfer::void`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Transfer {
    pub id: TransferId,
    pub debit_account: AccountId,
    pub credit_account: AccountId,
    /// Must be positive.
    pub amount: Fen,
    pub reason: ReasonCode,
    /// The job, bill or application this transfer belongs to.
    pub reference: String,
    /// Unix milliseconds, from the caller's clock: the ledger reads none.
    pub timestamp_ms: i64,
    pub kind: TransferKind,
}

impl Transfer {
    /// A single (immediately posted) transfer.
    pub fn single(
        id: TransferId,
        debit_account: AccountId,
        credit_account: AccountId,
        amount: Fen,
        reason: ReasonCode,
        reference: impl Into<String>,
        timestamp_ms: i64,
    ) -> Transfer {
        Transfer {
            id,
            debit_account,
            credit_account,
            amount,
            reason,
            reference: reference.into(),
            timestamp_ms,
            kind: TransferKind::Single,
        }
    }

    /// A pending transfer (a reservation), optionally timing out.
    #[allow(clippy::too_many_arguments)] // The fields of a transfer; a builder would hide nothing.
    pub fn pending(
        id: TransferId,
        debit_account: AccountId,
        credit_account: AccountId,
        amount: Fen,
        reason: ReasonCode,
        reference: impl Into<String>,
        timestamp_ms: i64,
        timeout_ms: Option<i64>,
    ) -> Transfer {
        Transfer {
            kind: TransferKind::Pending { timeout_ms },
            ..Transfer::single(id, debit_account, credit_account, amount, reason, reference, timestamp_ms)
        }
    }

    /// Posts `pending` (all of it when `amount` is `None`), keeping its accounts and reason.
    pub fn post(id: TransferId, pending: &Transfer, amount: Option<Fen>, timestamp_ms: i64) -> Transfer {
        Transfer { id, timestamp_ms, kind: TransferKind::PostPending { pending_id: pending.id, amount }, ..pending.clone() }
    }

    /// Voids `pending`, keeping its accounts and reason.
    pub fn void(id: TransferId, pending: &Transfer, timestamp_ms: i64) -> Transfer {
        Transfer { id, timestamp_ms, kind: TransferKind::VoidPending { pending_id: pending.id }, ..pending.clone() }
    }

    /// Whether `other` is the same request: every field but the timestamp, because a retry
    /// carries the time it was retried while the first answer's time stands.
    pub fn same_body(&self, other: &Transfer) -> bool {
        self.id == other.id
            && self.debit_account == other.debit_account
            && self.credit_account == other.credit_account
            && self.amount == other.amount
            && self.reason == other.reason
            && self.reference == other.reference
            && self.kind == other.kind
    }

    /// The pending transfer this one resolves, if it is a post or a void.
    pub fn pending_id(&self) -> Option<TransferId> {
        match self.kind {
            TransferKind::PostPending { pending_id, .. } | TransferKind::VoidPending { pending_id } => Some(pending_id),
            TransferKind::Single | TransferKind::Pending { .. } => None,
        }
    }
}
