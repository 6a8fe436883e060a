//! The ledger's own precise errors, each with a stable snake_case code and its nearest code in the platform's error table.

use crate::account::{AccountId, Currency};
use crate::transfer::TransferId;
use suanli_core::error::{Error, ErrorCode};

/// Why the ledger refused an account or a transfer. A refused request changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("account id {0} is invalid: zero is not an id")]
    InvalidAccountId(AccountId),
    #[error("account {0} is invalid: {1}")]
    InvalidAccount(AccountId, &'static str),
    #[error("account {0} already exists with a different kind, currency or balance rule")]
    AccountExistsDiffers(AccountId),
    #[error("transfer id {0} is invalid: zero and ids with the top bit set are not client ids")]
    InvalidTransferId(TransferId),
    #[error("transfer {0} already exists with a different body")]
    DuplicateTransferDiffers(TransferId),
    #[error("a transfer must debit and credit two different accounts")]
    SameAccount,
    #[error("the amount must be positive, not zero")]
    ZeroAmount,
    #[error("the amount must be positive, not {0} fen")]
    NegativeAmount(i64),
    #[error("account {0} does not exist")]
    UnknownAccount(AccountId),
    #[error("the debit account is in {debit} and the credit account in {credit}")]
    CurrencyMismatch { debit: Currency, credit: Currency },
    #[error("a pending transfer's timeout must be positive and its deadline representable")]
    InvalidTimeout,
    #[error("pending transfer {0} does not exist")]
    PendingNotFound(TransferId),
    #[error("transfer {0} is not a pending transfer")]
    NotPending(TransferId),
    #[error("the post or void must repeat pending transfer {0}'s accounts and amount")]
    PendingDiffers(TransferId),
    #[error("pending transfer {0} was already posted")]
    AlreadyPosted(TransferId),
    #[error("pending transfer {0} was already voided")]
    AlreadyVoided(TransferId),
    #[error("pending transfer {0} has expired")]
    PendingExpired(TransferId),
    #[error("cannot post {requested} fen of a pending transfer of {pending} fen")]
    ExceedsPending { pending: i64, requested: i64 },
    #[error("account {account} has {available} fen available, {requested} fen requested")]
    InsufficientFunds { account: AccountId, available: i128, requested: i64 },
    #[error("account {0} may not be credited beyond its debits")]
    CreditsExceedDebits(AccountId),
    #[error("the transfer would take account {0}'s balances beyond what an i64 of fen holds")]
    AmountOverflow(AccountId),
    #[error("another transfer in the linked batch failed, so none was applied")]
    LinkedFailed,
}

impl LedgerError {
    /// The error's row in the platform's one error table.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            LedgerError::InvalidAccountId(_) => ErrorCode::InvalidAccountId,
            LedgerError::InvalidAccount(..) => ErrorCode::InvalidAccount,
            LedgerError::AccountExistsDiffers(_) => ErrorCode::AccountExistsDiffers,
            LedgerError::InvalidTransferId(_) => ErrorCode::InvalidTransferId,
            LedgerError::DuplicateTransferDiffers(_) => ErrorCode::DuplicateTransferDiffers,
            LedgerError::SameAccount => ErrorCode::SameAccount,
            LedgerError::ZeroAmount => ErrorCode::ZeroAmount,
            LedgerError::NegativeAmount(_) => ErrorCode::NegativeAmount,
            LedgerError::UnknownAccount(_) => ErrorCode::UnknownAccount,
            LedgerError::CurrencyMismatch { .. } => ErrorCode::CurrencyMismatch,
            LedgerError::InvalidTimeout => ErrorCode::InvalidTimeout,
            LedgerError::PendingNotFound(_) => ErrorCode::PendingNotFound,
            LedgerError::NotPending(_) => ErrorCode::NotPending,
            LedgerError::PendingDiffers(_) => ErrorCode::PendingDiffers,
            LedgerError::AlreadyPosted(_) => ErrorCode::AlreadyPosted,
            LedgerError::AlreadyVoided(_) => ErrorCode::AlreadyVoided,
            LedgerError::PendingExpired(_) => ErrorCode::PendingExpired,
            LedgerError::ExceedsPending { .. } => ErrorCode::ExceedsPending,
            LedgerError::InsufficientFunds { .. } => ErrorCode::InsufficientFunds,
            LedgerError::CreditsExceedDebits(_) => ErrorCode::CreditsExceedDebits,
            LedgerError::AmountOverflow(_) => ErrorCode::AmountOutOfRange,
            LedgerError::LinkedFailed => ErrorCode::LinkedFailed,
        }
    }

    /// The stable code clients match on (the error table's).
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }
}

impl From<LedgerError> for Error {
    fn from(e: LedgerError) -> Error {
        Error::new(e.error_code(), e.to_string())
    }
}
