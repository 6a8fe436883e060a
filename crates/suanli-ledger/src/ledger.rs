//! The ledger state machine: account creation, idempotent and linked transfer batches, two-phase transfers and expiry.

use crate::account::{Account, AccountId, Balances};
use crate::error::LedgerError;
use crate::history::{History, IdMap};
use crate::transfer::{ReasonCode, Transfer, TransferId, TransferKind};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use suanli_core::money::Fen;

/// The answer to a successful account creation or transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Applied now.
    Created,
    /// The same request was applied before; nothing changed this time.
    Exists,
}

/// The answer to an account creation.
pub type AccountResult = Outcome;
/// The answer to a transfer.
pub type TransferResult = Outcome;

/// Where a pending transfer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum PendingState {
    /// Still reserving; `expires_at_ms` is its deadline, if it has one.
    Open {
        expires_at_ms: Option<i64>,
    },
    Posted {
        amount: Fen,
    },
    Voided,
    Expired,
}

/// What undoes one applied transfer, so a linked batch can be rolled back when a later
/// member fails (cheaper than cloning the ledger for every batch).
pub(crate) struct Undo {
    debit: (AccountId, Balances),
    credit: (AccountId, Balances),
    pending: (TransferId, Option<PendingState>),
    id: TransferId,
}

/// The ledger: accounts, the append-only history of transfers, and the state of pending ones.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    accounts: BTreeMap<AccountId, Account>,
    history: History,
    by_id: IdMap<usize>,
    pending: IdMap<PendingState>,
    /// Open pending transfers with a deadline, ordered by (deadline, id): expiry order.
    deadlines: BTreeSet<(i64, TransferId)>,
}

impl Ledger {
    pub fn new() -> Ledger {
        Ledger::default()
    }

    /// Creates accounts, each independently. An account must have a non-zero id, at most one
    /// balance rule and zero balances; creating the same account again answers `Exists`.
    pub fn create_accounts(&mut self, accounts: &[Account]) -> Vec<Result<AccountResult, LedgerError>> {
        accounts.iter().map(|a| self.create_account(a)).collect()
    }

    fn create_account(&mut self, a: &Account) -> Result<AccountResult, LedgerError> {
        if a.id.0 == 0 {
            return Err(LedgerError::InvalidAccountId(a.id));
        }
        if a.flags.debits_must_not_exceed_credits && a.flags.credits_must_not_exceed_debits {
            return Err(LedgerError::InvalidAccount(a.id, "an account carries at most one balance rule"));
        }
        if a.balances() != Balances::default() {
            return Err(LedgerError::InvalidAccount(a.id, "balances start at zero: only transfers move them"));
        }
        if let Some(existing) = self.accounts.get(&a.id) {
            return if existing.same_definition(a) { Ok(Outcome::Exists) } else { Err(LedgerError::AccountExistsDiffers(a.id)) };
        }
        self.accounts.insert(a.id, a.clone());
        Ok(Outcome::Created)
    }

    /// Applies a batch of transfers in order. Unlinked, each stands alone. Linked, they commit
    /// all or nothing: if one fails, it answers its own error, every other member answers
    /// [`LedgerError::LinkedFailed`], and the ledger is as it was before the batch.
    pub fn apply(&mut self, batch: &[Transfer], linked: bool) -> Vec<Result<TransferResult, LedgerError>> {
        if !linked {
            return batch.iter().map(|t| self.apply_one(t, false).map(|(r, _)| r)).collect();
        }
        let mut undo = Vec::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        for (i, t) in batch.iter().enumerate() {
            match self.apply_one(t, false) {
                Ok((outcome, u)) => {
                    outcomes.push(Ok(outcome));
                    undo.extend(u);
                }
                Err(e) => {
                    for u in undo.into_iter().rev() {
                        self.undo(u);
                    }
                    return (0..batch.len()).map(|j| Err(if j == i { e.clone() } else { LedgerError::LinkedFailed })).collect();
                }
            }
        }
        // Every member succeeded; a retried member answers Exists like any retry.
        outcomes
    }

    /// Voids every open pending transfer whose deadline is at or before `now_ms`, writing an
    /// expiry record for each (id [`TransferId::expiry_of`], reason `PendingTimeout`) so a
    /// replay of history reproduces it. Returns the expired pending ids in (deadline, id) order.
    pub fn expire_pending(&mut self, now_ms: i64) -> Vec<TransferId> {
        let due: Vec<(i64, TransferId)> = self.deadlines.range(..(now_ms.saturating_add(1), TransferId(0))).copied().collect();
        let mut expired = Vec::with_capacity(due.len());
        for (_, pending_id) in due {
            let Some(&i) = self.by_id.get(&pending_id) else { continue };
            let Some(p) = self.history.get(i) else { continue };
            let record = Transfer {
                id: TransferId::expiry_of(pending_id),
                reason: ReasonCode::PendingTimeout,
                timestamp_ms: now_ms,
                kind: TransferKind::VoidPending { pending_id },
                ..p.clone()
            };
            // An open pending transfer past its deadline always voids: releasing cannot break a rule.
            if self.apply_one(&record, true).is_ok() {
                expired.push(pending_id);
            }
        }
        expired
    }

    /// Forgets an account that was created but never used, so a refused request that created
    /// it leaves no trace. Refuses (returns false) if any balance is non-zero; the caller
    /// guarantees no transfer names it (true of an account created by a request none of whose
    /// transfers applied).
    pub fn forget_unused_account(&mut self, id: AccountId) -> bool {
        match self.accounts.get(&id) {
            Some(a) if a.balances() == crate::account::Balances::default() => {
                self.accounts.remove(&id);
                true
            }
            _ => false,
        }
    }

    pub fn account(&self, id: AccountId) -> Option<&Account> {
        self.accounts.get(&id)
    }

    /// All accounts, in id order.
    pub fn accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }

    /// The history, in apply order. Append-only: nothing in it is ever changed or removed.
    pub fn transfers(&self) -> &History {
        &self.history
    }

    pub fn transfer(&self, id: TransferId) -> Option<&Transfer> {
        self.by_id.get(&id).and_then(|&i| self.history.get(i))
    }

    /// Where a pending transfer stands (`None` if `id` is not a pending transfer).
    pub fn pending_state(&self, id: TransferId) -> Option<PendingState> {
        self.pending.get(&id).copied()
    }

    /// Applies one transfer. `system` admits the ledger's own expiry records (reserved ids);
    /// clients never get it.
    pub(crate) fn apply_one(&mut self, t: &Transfer, system: bool) -> Result<(TransferResult, Option<Undo>), LedgerError> {
        if t.id.0 == 0 || (t.id.is_reserved() && !system) {
            return Err(LedgerError::InvalidTransferId(t.id));
        }
        // Idempotency comes before validation, so a retry of an applied transfer always
        // answers Exists even if the same request would be refused now.
        if let Some(&i) = self.by_id.get(&t.id) {
            return if self.history.get(i).is_some_and(|h| h.same_body(t)) {
                Ok((Outcome::Exists, None))
            } else {
                Err(LedgerError::DuplicateTransferDiffers(t.id))
            };
        }
        let expiry = t.id.is_reserved();
        if expiry && !matches!(t.kind, TransferKind::VoidPending { pending_id } if TransferId::expiry_of(pending_id) == t.id) {
            return Err(LedgerError::InvalidTransferId(t.id));
        }
        if t.debit_account == t.credit_account {
            return Err(LedgerError::SameAccount);
        }
        check_positive(t.amount)?;
        let debit = self.accounts.get(&t.debit_account).ok_or(LedgerError::UnknownAccount(t.debit_account))?;
        let credit = self.accounts.get(&t.credit_account).ok_or(LedgerError::UnknownAccount(t.credit_account))?;
        if debit.currency != credit.currency {
            return Err(LedgerError::CurrencyMismatch { debit: debit.currency, credit: credit.currency });
        }
        let (d_pending, d_posted, new_state) = self.balance_change(t, expiry)?;
        let mut new_debit = debit.clone();
        new_debit.debits_pending += d_pending;
        new_debit.debits_posted += d_posted;
        let mut new_credit = credit.clone();
        new_credit.credits_pending += d_pending;
        new_credit.credits_posted += d_posted;
        check_balances(t, debit, &new_debit, &new_credit)?;
        // Checked: commit.
        let undo = Undo {
            debit: (debit.id, debit.balances()),
            credit: (credit.id, credit.balances()),
            pending: match new_state {
                Some((pid, _)) => (pid, self.pending.get(&pid).copied()),
                None => (t.id, None),
            },
            id: t.id,
        };
        self.accounts.insert(new_debit.id, new_debit);
        self.accounts.insert(new_credit.id, new_credit);
        if let Some((pid, state)) = new_state {
            self.set_pending(pid, Some(state));
        }
        self.by_id.insert(t.id, self.history.len());
        self.history.push(t.clone());
        Ok((Outcome::Created, Some(undo)))
    }

    /// What a transfer changes on both sides, pending and posted, and the pending state it
    /// sets; refused when its timeout is invalid or the pending transfer it resolves is not open.
    fn balance_change(&self, t: &Transfer, expiry: bool) -> Result<BalanceChange, LedgerError> {
        let amount = t.amount.0 as i128;
        Ok(match t.kind {
            TransferKind::Single => (0, amount, None),
            TransferKind::Pending { timeout_ms } => {
                let expires_at_ms = match timeout_ms {
                    None => None,
                    Some(ms) if ms > 0 => Some(t.timestamp_ms.checked_add(ms).ok_or(LedgerError::InvalidTimeout)?),
                    Some(_) => return Err(LedgerError::InvalidTimeout),
                };
                (amount, 0, Some((t.id, PendingState::Open { expires_at_ms })))
            }
            TransferKind::PostPending { pending_id, amount: post } => {
                self.check_open(t, pending_id, false)?;
                let posted = match post {
                    None => t.amount,
                    Some(p) => {
                        check_positive(p)?;
                        if p.0 > t.amount.0 {
                            return Err(LedgerError::ExceedsPending { pending: t.amount.0, requested: p.0 });
                        }
                        p
                    }
                };
                (-amount, posted.0 as i128, Some((pending_id, PendingState::Posted { amount: posted })))
            }
            TransferKind::VoidPending { pending_id } => {
                self.check_open(t, pending_id, expiry)?;
                (-amount, 0, Some((pending_id, if expiry { PendingState::Expired } else { PendingState::Voided })))
            }
        })
    }

    /// Checks that `pending_id` names an open pending transfer that `t` repeats faithfully,
    /// and that its deadline has not passed (or, for an expiry record, that it has).
    fn check_open(&self, t: &Transfer, pending_id: TransferId, expiry: bool) -> Result<(), LedgerError> {
        let p = self.transfer(pending_id).ok_or(LedgerError::PendingNotFound(pending_id))?;
        let Some(state) = self.pending.get(&pending_id) else { return Err(LedgerError::NotPending(pending_id)) };
        if p.debit_account != t.debit_account || p.credit_account != t.credit_account || p.amount != t.amount {
            return Err(LedgerError::PendingDiffers(pending_id));
        }
        match *state {
            PendingState::Posted { .. } => Err(LedgerError::AlreadyPosted(pending_id)),
            PendingState::Voided => Err(LedgerError::AlreadyVoided(pending_id)),
            PendingState::Expired => Err(LedgerError::PendingExpired(pending_id)),
            PendingState::Open { expires_at_ms } => {
                let past_deadline = expires_at_ms.is_some_and(|at| t.timestamp_ms >= at);
                if past_deadline != expiry {
                    // A client's post or void after the deadline is too late; an expiry
                    // record before it is too early (corrupt history).
                    return Err(LedgerError::PendingExpired(pending_id));
                }
                Ok(())
            }
        }
    }

    fn set_pending(&mut self, id: TransferId, state: Option<PendingState>) {
        if let Some(PendingState::Open { expires_at_ms: Some(at) }) = self.pending.get(&id) {
            self.deadlines.remove(&(*at, id));
        }
        match state {
            Some(s) => {
                if let PendingState::Open { expires_at_ms: Some(at) } = s {
                    self.deadlines.insert((at, id));
                }
                self.pending.insert(id, s);
            }
            None => {
                self.pending.remove(&id);
            }
        }
    }

    fn undo(&mut self, u: Undo) {
        // Undo runs in reverse apply order, so the last history entry is this transfer's.
        self.history.pop();
        self.by_id.remove(&u.id);
        self.set_pending(u.pending.0, u.pending.1);
        for (id, b) in [u.debit, u.credit] {
            if let Some(a) = self.accounts.get_mut(&id) {
                a.set_balances(b);
            }
        }
    }

    /// Builds a ledger from stored accounts and history as they are, without checking them
    /// (the indexes are rebuilt from history). Call [`Ledger::verify`] on it to check stored data.
    pub fn from_stored(accounts: Vec<Account>, transfers: Vec<Transfer>) -> Ledger {
        let mut l = Ledger { accounts: accounts.into_iter().map(|a| (a.id, a)).collect(), ..Ledger::default() };
        for t in transfers {
            match t.kind {
                TransferKind::Pending { timeout_ms } => {
                    let expires_at_ms = timeout_ms.and_then(|ms| t.timestamp_ms.checked_add(ms));
                    l.set_pending(t.id, Some(PendingState::Open { expires_at_ms }));
                }
                TransferKind::PostPending { pending_id, amount } => {
                    l.set_pending(pending_id, Some(PendingState::Posted { amount: amount.unwrap_or(t.amount) }))
                }
                TransferKind::VoidPending { pending_id } => {
                    l.set_pending(pending_id, Some(if t.id.is_reserved() { PendingState::Expired } else { PendingState::Voided }))
                }
                TransferKind::Single => {}
            }
            l.by_id.insert_if_absent(t.id, l.history.len());
            l.history.push(t);
        }
        l
    }
}

fn check_positive(amount: Fen) -> Result<(), LedgerError> {
    match amount.0 {
        0 => Err(LedgerError::ZeroAmount),
        n if n < 0 => Err(LedgerError::NegativeAmount(n)),
        _ => Ok(()),
    }
}

/// (change to pending, change to posted) on both sides of a transfer, and the pending state it
/// sets.
type BalanceChange = (i128, i128, Option<(TransferId, PendingState)>);

/// Whether the accounts' balances after a transfer stay within i64 and within their rules; the
/// refusal otherwise. `debit` is the debit account before it.
fn check_balances(t: &Transfer, debit: &Account, new_debit: &Account, new_credit: &Account) -> Result<(), LedgerError> {
    for a in [new_debit, new_credit] {
        let max = i64::MAX as i128;
        let b = a.balances();
        if [b.debits_pending, b.debits_posted, b.credits_pending, b.credits_posted].into_iter().any(|v| v > max)
            || b.debits_pending + b.debits_posted > max
            || b.credits_pending + b.credits_posted > max
        {
            return Err(LedgerError::AmountOverflow(a.id));
        }
    }
    if new_debit.crossed_rule() == Some("debits_must_not_exceed_credits") {
        return Err(LedgerError::InsufficientFunds { account: debit.id, available: debit.available().0 as i128, requested: t.amount.0 });
    }
    if new_credit.crossed_rule() == Some("credits_must_not_exceed_debits") {
        return Err(LedgerError::CreditsExceedDebits(new_credit.id));
    }
    Ok(())
}
