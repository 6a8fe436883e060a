//! The audit trail as the operator and the regulator read it: the API's `GET /api/v1/audit` (and so `suanli audit`) and the web's audit page ask here, under one rule of who may read it.

use crate::Caller;
use suanli_core::error::{Error, ErrorCode};
use suanli_store::listing::{AuditListing, Cut, Listed};
use suanli_store::{Audit, Store, StoreError};

/// Only the operator and the regulator read the audit trail.
fn may_read(caller: &Caller) -> Result<(), Error> {
    match caller {
        Caller::Operator { .. } | Caller::Regulator { .. } => Ok(()),
        _ => Err(Error::new(ErrorCode::Forbidden, "only the operator and the regulator read the audit trail")),
    }
}

/// The latest `limit` records (1..=1000), of one subject or all, newest first.
pub async fn latest(store: &Store, caller: &Caller, subject: Option<&str>, limit: u32) -> Result<Vec<Audit>, StoreError> {
    may_read(caller)?;
    store.audit_log(subject, limit.clamp(1, 1000)).await
}

/// One page of the records matching a listing (actions, actors and subjects containing its
/// words, over its window), counted in all.
pub async fn listing(store: &Store, caller: &Caller, l: AuditListing) -> Result<Listed<Audit>, StoreError> {
    may_read(caller)?;
    store.audit_listing(&AuditListing { cut: Cut { limit: l.cut.limit.max(1), ..l.cut }, ..l }).await
}
