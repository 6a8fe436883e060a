//! Suanli's double-entry ledger, in the spirit of TigerBeetle: accounts, idempotent single and two-phase transfers, linked batches, expiry and verification.
//!
//! This crate is pure: it does no I/O, reads no clock (timestamps arrive as unix
//! milliseconds in each [`Transfer`] and in [`Ledger::expire_pending`]) and draws no random
//! numbers. The store persists [`Account`]s and the history ([`Ledger::transfers`]); loading
//! is [`Ledger::from_stored`], and `suanli ledger verify` is [`Ledger::verify`] on that.
//!
//! # Model
//!
//! - An [`Account`] has a [`AccountKind`], a [`Currency`] (CNY for now), at most one balance
//!   rule ([`AccountFlags`]) and four balances in fen: pending and posted debits and credits.
//!   Ids are `u128` ([`AccountId`], [`TransferId`]): fixed size and cheap to index; the store
//!   maps the platform's string ids onto them.
//! - A [`Transfer`] debits one account and credits another by a positive amount, with a
//!   [`ReasonCode`] and a reference (job, bill or application id). It is single (posted at
//!   once) or two-phase: a pending transfer reserves (counted in the pending balances and
//!   against the debit account's rule), then is posted (possibly for less; the rest is
//!   released), voided, or expired by [`Ledger::expire_pending`] after its timeout.
//! - Transfer ids are chosen by the client: the same id with the same body (timestamp aside)
//!   answers [`Outcome::Exists`]; with a different body, `duplicate_transfer_differs`.
//! - [`Ledger::apply`] with `linked = true` commits a batch all or nothing.
//! - Every balance stays within i64 fen (the store's column type): beyond, `amount_overflow`.
//!
//! # Error codes
//!
//! [`LedgerError::code`] gives each refusal a precise snake_case code (`insufficient_funds`,
//! `currency_mismatch`, `duplicate_transfer_differs`, `pending_not_found`, `already_posted`,
//! `already_voided`, `pending_expired`, `exceeds_pending`, `amount_overflow`,
//! `unknown_account`, `linked_failed`, `zero_amount`, ...). The platform's one error table
//! (`suanli_core::error`) does not have them yet and this crate may not add them, so
//! [`LedgerError::error_code`] maps each onto the nearest existing code (`invalid_amount`,
//! `invalid_id`, `not_found`, `illegal_transition`, `invalid_body`, `invalid_duration`).
//! **When the server wires the ledger in, it must add the ledger's codes to the error table**
//! (with their HTTP statuses: 409 for state conflicts such as `insufficient_funds` and
//! `already_posted`, 422 for bad amounts, 404 for unknown accounts) and answer with them.
//!
//! # How the voucher programme will sit on top
//!
//! Not built here; this is the plan. Each programme year has a `ProgrammeBudget` account,
//! funded by a single transfer from the city's `ExternalFunding` account (`BudgetFunding`).
//! Approving an application issues a voucher: budget -> the enterprise's `EnterpriseVoucher`
//! account (`VoucherIssue`), linked with any cap bookkeeping so it is all or nothing. When a
//! job is placed, a pending transfer reserves its estimated cost from the voucher (the
//! subsidised share, `VoucherSpend`) and from `EnterpriseCash` (the rest, `JobCharge`) to the
//! provider's `ProviderReceivable`, as one linked batch with a timeout; when the job is
//! metered, the pendings are posted for the actual charge (less than the reservation: the
//! rest is released) or voided if nothing ran. Settlement moves the receivable out to the
//! provider (`Settlement`). At the end of the programme year, unspent voucher balances go
//! back to the budget (`VoucherExpiry`). Transfer ids are derived from the job or
//! application id, so one bill per job is enforced by idempotency.

pub mod account;
pub mod chart;
pub mod error;
pub mod history;
pub mod ledger;
pub mod records;
pub mod transfer;
pub mod verify;
pub mod voucher;

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;

pub use account::{Account, AccountFlags, AccountId, AccountKind, Balances, Currency};
pub use error::LedgerError;
pub use history::History;
pub use ledger::{AccountResult, Ledger, Outcome, PendingState, TransferResult};
pub use transfer::{ReasonCode, Transfer, TransferId, TransferKind};
pub use verify::{VerifyReport, Violation};
