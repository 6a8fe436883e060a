//! Verification: replaying history from an empty ledger and checking every invariant against the current state.

use crate::account::{Account, AccountId, Balances};
use crate::error::LedgerError;
use crate::ledger::{Ledger, Outcome, PendingState};
use crate::transfer::{Transfer, TransferId, TransferKind};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

/// What a passing verification saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    pub accounts: usize,
    pub transfers: usize,
    /// Pending transfers neither posted, voided nor expired.
    pub open_pending: usize,
    /// The sum of posted debits, equal to the sum of posted credits.
    pub posted_total: i128,
    /// The sum of pending debits, equal to the sum of pending credits.
    pub pending_total: i128,
}

/// A broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// All posted debits do not add up to all posted credits.
    PostedTotalsDiffer { debits: i128, credits: i128 },
    /// All pending debits do not add up to all pending credits.
    PendingTotalsDiffer { debits: i128, credits: i128 },
    /// A rule-bound account is across its rule.
    RuleCrossed { account: AccountId, rule: &'static str },
    /// An account's balances differ from the replay of history.
    BalanceMismatch { account: AccountId, stored: Balances, replayed: Balances },
    /// A post or void names no earlier pending transfer.
    DanglingPendingReference { index: usize, id: TransferId, pending_id: TransferId },
    /// The same id appears twice in history.
    DuplicateId { index: usize, id: TransferId },
    /// A history record the ledger refuses when replayed.
    ReplayRefused { index: usize, id: TransferId, error: LedgerError },
    /// A stored account the ledger would not create.
    InvalidAccount { account: AccountId, error: LedgerError },
    /// An account exists in one of the stored state and the replay but not the other.
    AccountMissing { account: AccountId },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::PostedTotalsDiffer { debits, credits } => write!(f, "posted debits {debits} != posted credits {credits}"),
            Violation::PendingTotalsDiffer { debits, credits } => write!(f, "pending debits {debits} != pending credits {credits}"),
            Violation::RuleCrossed { account, rule } => write!(f, "account {} breaks {rule}", account.0),
            Violation::BalanceMismatch { account, stored, replayed } => {
                write!(f, "account {} holds {stored:?} but replay gives {replayed:?}", account.0)
            }
            Violation::DanglingPendingReference { index, id, pending_id } => {
                write!(f, "transfer {} (#{index}) resolves {} which is no earlier pending transfer", id.0, pending_id.0)
            }
            Violation::DuplicateId { index, id } => write!(f, "transfer {} (#{index}) repeats an earlier id", id.0),
            Violation::ReplayRefused { index, id, error } => write!(f, "transfer {} (#{index}) is refused on replay: {error}", id.0),
            Violation::InvalidAccount { account, error } => write!(f, "account {} is invalid: {error}", account.0),
            Violation::AccountMissing { account } => write!(f, "account {} is missing from the stored state or the replay", account.0),
        }
    }
}

impl Ledger {
    /// Replays `transfers` in order over `accounts` with their balances reset to zero,
    /// through the same checks as [`Ledger::apply`] (expiry records included). This is what
    /// `suanli ledger verify` runs on stored data.
    pub fn replay<'t>(accounts: &[Account], transfers: impl IntoIterator<Item = &'t Transfer>) -> Result<Ledger, Vec<Violation>> {
        let mut ledger = Ledger::new();
        let fresh: Vec<Account> = accounts.iter().map(|a| Account::new(a.id, a.kind, a.currency, a.flags)).collect();
        let mut violations = Vec::new();
        for (r, a) in ledger.create_accounts(&fresh).into_iter().zip(&fresh) {
            if let Err(error) = r {
                violations.push(Violation::InvalidAccount { account: a.id, error });
            }
        }
        for (index, t) in transfers.into_iter().enumerate() {
            match ledger.apply_one(t, true) {
                Ok((Outcome::Created, _)) => {}
                Ok((Outcome::Exists, _)) | Err(LedgerError::DuplicateTransferDiffers(_)) => {
                    violations.push(Violation::DuplicateId { index, id: t.id })
                }
                Err(error) => violations.push(Violation::ReplayRefused { index, id: t.id, error }),
            }
        }
        if violations.is_empty() { Ok(ledger) } else { Err(violations) }
    }

    /// Checks every invariant: posted and pending totals balance, no rule-bound account is
    /// across its rule, every post or void names an earlier pending transfer, and every
    /// account's balances equal the replay of history from an empty ledger.
    pub fn verify(&self) -> Result<VerifyReport, Vec<Violation>> {
        let mut violations = Vec::new();
        let (mut dp, mut dpo, mut cp, mut cpo) = (0i128, 0i128, 0i128, 0i128);
        for a in self.accounts() {
            dp += a.debits_pending;
            dpo += a.debits_posted;
            cp += a.credits_pending;
            cpo += a.credits_posted;
            if let Some(rule) = a.crossed_rule() {
                violations.push(Violation::RuleCrossed { account: a.id, rule });
            }
        }
        if dpo != cpo {
            violations.push(Violation::PostedTotalsDiffer { debits: dpo, credits: cpo });
        }
        if dp != cp {
            violations.push(Violation::PendingTotalsDiffer { debits: dp, credits: cp });
        }
        // Checked on its own, not only through replay, so the report names the record.
        let mut seen: HashMap<TransferId, &Transfer> = HashMap::new();
        for (index, t) in self.transfers().iter().enumerate() {
            if let Some(pending_id) = t.pending_id()
                && !seen.get(&pending_id).is_some_and(|p| matches!(p.kind, TransferKind::Pending { .. }))
            {
                violations.push(Violation::DanglingPendingReference { index, id: t.id, pending_id });
            }
            seen.entry(t.id).or_insert(t);
        }
        let accounts: Vec<Account> = self.accounts().cloned().collect();
        match Ledger::replay(&accounts, self.transfers()) {
            Err(vs) => violations.extend(vs),
            Ok(replayed) => {
                for a in &accounts {
                    match replayed.account(a.id) {
                        Some(r) if r.balances() == a.balances() => {}
                        Some(r) => {
                            violations.push(Violation::BalanceMismatch { account: a.id, stored: a.balances(), replayed: r.balances() })
                        }
                        None => violations.push(Violation::AccountMissing { account: a.id }),
                    }
                }
            }
        }
        if !violations.is_empty() {
            return Err(violations);
        }
        let open_pending = self.transfers().iter().filter(|t| matches!(self.pending_state(t.id), Some(PendingState::Open { .. }))).count();
        Ok(VerifyReport { accounts: accounts.len(), transfers: self.transfers().len(), open_pending, posted_total: dpo, pending_total: dp })
    }
}
