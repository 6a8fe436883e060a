//! The ledger's own precise errors, each with a stable snake_case code and its nearest code in the platform's error table.

use crate::account::{AccountId, Currency};
use crate::transfer::TransferId;
use suanli_core::error::{Error, ErrorCode};

/// Why the ledger refused an account or a transfer. A refused request changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("account id {0:?} is invalid: zero is not an id")]
    InvalidAccountId(AccountId),
    #[error("account {0:?} is invalid: {1}")]
    InvalidAccount(AccountId, &'static str),
    #[error("account {0:?} already exists with a different kind, currency or balance rule")]
    AccountExistsDiffers(AccountId),
    #[error("transfer id {0:?} is invalid: zero and ids with the top bit set are not client ids")]
    InvalidTransferId(TransferId),
    #[error("transfer {0:?} already exists with a different body")]
    DuplicateTransferDiffers(TransferId),
    #[error("a transfer must debit and credit two different accounts")]
    SameAccount,
    #[error("the amount must be positive, not zero")]
    ZeroAmount,
    #[error("the amount must be positive, not {0} fen")]
    NegativeAmount(i64),
    #[error("account {0:?} does not exist")]
    UnknownAccount(AccountId),
    #[error("the debit account is in {debit} and the credit account in {credit}")]
    CurrencyMismatch { debit: Currency, credit: Currency },
    #[error("a pending transfer's timeout must be positive and its deadline representable")]
    InvalidTimeout,
    #[error("pending transfer {0:?} does not exist")]
    PendingNotFound(TransferId),
    #[error("transfer {0:?} is not a pending transfer")]
    NotPending(TransferId),
    #[error("the post or void must repeat pending transfer {0:?}'s accounts and amount")]
    PendingDiffers(TransferId),
    #[error("pending transfer {0:?} was already posted")]
    AlreadyPosted(TransferId),
    #[error("pending transfer {0:?} was already voided")]
    AlreadyVoided(TransferId),
    #[error("pending transfer {0:?} has expired")]
    PendingExpired(TransferId),
    #[error("cannot post {requested} fen of a pending transfer of {pending} fen")]
    ExceedsPending { pending: i64, requested: i64 },
    #[error("account {account:?} has {available} fen available, {requested} fen requested")]
    InsufficientFunds { account: AccountId, available: i128, requested: i64 },
    #[error("account {0:?} may not be credited beyond its debits")]
    CreditsExceedDebits(AccountId),
    #[error("the transfer would take account {0:?}'s balances beyond what an i64 of fen holds")]
    AmountOverflow(AccountId),
    #[error("another transfer in the linked batch failed, so none was applied")]
    LinkedFailed,
}

impl LedgerError {
    /// The ledger's stable code. The platform's error table does not have these yet: when the
    /// server wires the ledger in, it must add them there (see the crate docs).
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::InvalidAccountId(_) => "invalid_account_id",
            LedgerError::InvalidAccount(..) => "invalid_account",
            LedgerError::AccountExistsDiffers(_) => "account_exists_differs",
            LedgerError::InvalidTransferId(_) => "invalid_transfer_id",
            LedgerError::DuplicateTransferDiffers(_) => "duplicate_transfer_differs",
            LedgerError::SameAccount => "same_account",
            LedgerError::ZeroAmount => "zero_amount",
            LedgerError::NegativeAmount(_) => "negative_amount",
            LedgerError::UnknownAccount(_) => "unknown_account",
            LedgerError::CurrencyMismatch { .. } => "currency_mismatch",
            LedgerError::InvalidTimeout => "invalid_timeout",
            LedgerError::PendingNotFound(_) => "pending_not_found",
            LedgerError::NotPending(_) => "not_pending",
            LedgerError::PendingDiffers(_) => "pending_differs",
            LedgerError::AlreadyPosted(_) => "already_posted",
            LedgerError::AlreadyVoided(_) => "already_voided",
            LedgerError::PendingExpired(_) => "pending_expired",
            LedgerError::ExceedsPending { .. } => "exceeds_pending",
            LedgerError::InsufficientFunds { .. } => "insufficient_funds",
            LedgerError::CreditsExceedDebits(_) => "credits_exceed_debits",
            LedgerError::AmountOverflow(_) => "amount_overflow",
            LedgerError::LinkedFailed => "linked_failed",
        }
    }

    /// The nearest existing code in the platform's one error table, until the ledger's own
    /// codes are added there.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            LedgerError::InvalidAccountId(_) | LedgerError::InvalidTransferId(_) => ErrorCode::InvalidId,
            LedgerError::ZeroAmount
            | LedgerError::NegativeAmount(_)
            | LedgerError::ExceedsPending { .. }
            | LedgerError::InsufficientFunds { .. }
            | LedgerError::CreditsExceedDebits(_)
            | LedgerError::AmountOverflow(_) => ErrorCode::InvalidAmount,
            LedgerError::InvalidAccount(..)
            | LedgerError::SameAccount
            | LedgerError::CurrencyMismatch { .. }
            | LedgerError::PendingDiffers(_)
            | LedgerError::DuplicateTransferDiffers(_)
            | LedgerError::AccountExistsDiffers(_) => ErrorCode::InvalidBody,
            LedgerError::InvalidTimeout => ErrorCode::InvalidDuration,
            LedgerError::UnknownAccount(_) | LedgerError::PendingNotFound(_) => ErrorCode::NotFound,
            LedgerError::NotPending(_)
            | LedgerError::AlreadyPosted(_)
            | LedgerError::AlreadyVoided(_)
            | LedgerError::PendingExpired(_)
            | LedgerError::LinkedFailed => ErrorCode::IllegalTransition,
        }
    }
}

impl From<LedgerError> for Error {
    fn from(e: LedgerError) -> Error {
        Error::new(e.error_code(), format!("{e} ({})", e.code()))
    }
}
