//! The ledger itself: verification, accounts, and idempotent transfer batches for the operator.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Query};
use crate::{AppState, audit};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::json;
pub use suanli_api::money::{AccountOut, TransferBatchIn, TransferIn, TransferResultOut, VerifyOut};
use suanli_app::ledger::LedgerCheck;
use suanli_core::error::ErrorCode;
use suanli_core::money::Fen;
use suanli_core::tenant::Role;
use suanli_ledger::{AccountId, Outcome, ReasonCode, Transfer, TransferId, TransferKind};
use suanli_store::{LedgerRequest, Store, StoreError};
use utoipa::IntoParams;

/// Loads the stored ledger and checks every invariant: the sums balance, no account crosses
/// its rule, every balance equals the replay of history, history has no gap.
pub async fn verify_store(store: &Store) -> Result<VerifyOut, StoreError> {
    Ok(verify_out(suanli_app::ledger::verify_store(store).await?))
}

fn verify_out(r: LedgerCheck) -> VerifyOut {
    VerifyOut {
        ok: r.ok,
        accounts: r.accounts,
        transfers: r.transfers,
        open_pending: r.open_pending,
        posted_total: r.posted_total.to_yuan_string(),
        pending_total: r.pending_total.to_yuan_string(),
        violations: r.violations,
        elapsed_ms: r.elapsed_ms,
    }
}

/// Replays and checks the whole ledger (operator). `ok` is false, with the violations, if any invariant is broken.
#[utoipa::path(get, path = "/api/v1/ledger/verify", tag = "ledger", security(("bearer" = [])), responses((status = 200, body = VerifyOut)))]
pub async fn verify(State(s): State<AppState>, c: Caller) -> ApiResult<Json<VerifyOut>> {
    Ok(Json(verify_out(s.money.verify(&suanli_app::Caller::of(&c.0)?).await?)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AccountQuery {
    /// A tenant, provider or programme id (with its sub-accounts).
    pub owner: Option<String>,
}

/// Lists ledger accounts (operator, regulator; a tenant or provider sees its own).
#[utoipa::path(get, path = "/api/v1/ledger/accounts", tag = "ledger", security(("bearer" = [])), params(AccountQuery),
    responses((status = 200, body = Vec<AccountOut>)))]
pub async fn accounts(State(s): State<AppState>, c: Caller, Query(q): Query<AccountQuery>) -> ApiResult<Json<Vec<AccountOut>>> {
    let y = |v: i128| Fen(v as i64).to_yuan_string();
    Ok(Json(
        s.money
            .accounts(&suanli_app::Caller::of(&c.0)?, q.owner.as_deref())
            .await?
            .into_iter()
            .map(|a| AccountOut {
                id: a.account.id.to_hex(),
                kind: a.account.kind.as_str().to_string(),
                owner: a.owner,
                currency: a.account.currency.to_string(),
                debits_pending: y(a.account.debits_pending),
                debits_posted: y(a.account.debits_posted),
                credits_pending: y(a.account.credits_pending),
                credits_posted: y(a.account.credits_posted),
                available: a.account.available().to_yuan_string(),
            })
            .collect(),
    ))
}

fn parse_transfer(t: &TransferIn, now: i64) -> Result<Transfer, ApiError> {
    let id = TransferId::parse_hex(&t.id)
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidTransferId, format!("'{}' is not a transfer id", t.id)))?;
    let account =
        |s: &str| AccountId::parse_hex(s).ok_or_else(|| ApiError::new(ErrorCode::InvalidAccountId, format!("'{s}' is not an account id")));
    let reason = ReasonCode::parse(&t.reason)
        .filter(|r| *r != ReasonCode::PendingTimeout)
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidBody, format!("unknown reason '{}'", t.reason)))?;
    let amount = Fen::parse_positive("amount", &t.amount)?;
    let pending_id = || {
        t.pending_id
            .as_deref()
            .and_then(TransferId::parse_hex)
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidTransferId, "post and void need pending_id, the pending transfer's id"))
    };
    let kind = match t.kind.as_deref().unwrap_or("single") {
        "single" => TransferKind::Single,
        "pending" => TransferKind::Pending { timeout_ms: t.timeout_ms },
        "post" => TransferKind::PostPending { pending_id: pending_id()?, amount: None },
        "void" => TransferKind::VoidPending { pending_id: pending_id()? },
        other => return Err(ApiError::new(ErrorCode::InvalidBody, format!("kind must be single, pending, post or void, not '{other}'"))),
    };
    if t.reference.chars().count() > 200 {
        return Err(ApiError::new(ErrorCode::InvalidBody, "reference is at most 200 characters"));
    }
    Ok(Transfer {
        id,
        debit_account: account(&t.debit_account)?,
        credit_account: account(&t.credit_account)?,
        amount,
        reason,
        reference: t.reference.clone(),
        timestamp_ms: now,
        kind,
    })
}

/// Applies a batch of transfers (operator). Each applies once per id. A linked batch, or a
/// batch of one, is refused as a whole with the first refusal's code; otherwise each
/// transfer gets its own result. Answers only once the batch is durable.
#[utoipa::path(post, path = "/api/v1/ledger/transfers", tag = "ledger", security(("bearer" = [])), request_body = TransferBatchIn,
    responses((status = 201, body = Vec<TransferResultOut>), (status = 409, body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
pub async fn transfers(
    State(s): State<AppState>,
    c: Caller,
    JsonBody(b): JsonBody<TransferBatchIn>,
) -> ApiResult<(StatusCode, Json<Vec<TransferResultOut>>)> {
    c.require(&[Role::Operator])?;
    if b.transfers.is_empty() || b.transfers.len() > 8_190 {
        return Err(ApiError::new(ErrorCode::InvalidCount, "a batch holds 1 to 8190 transfers"));
    }
    let now = s.ids.now_ms();
    let parsed: Vec<Transfer> = b.transfers.iter().map(|t| parse_transfer(t, now)).collect::<Result<_, _>>()?;
    let whole = b.linked || parsed.len() == 1;
    // One audit record per batch, not per transfer.
    let a = audit(&s, &c, "ledger.transfers", &parsed[0].id.to_hex(), json!({"transfers": parsed.len(), "linked": b.linked}));
    let answer =
        s.ledger.submit(LedgerRequest { transfers: parsed.clone(), linked: b.linked, audit: Some(a), ..LedgerRequest::default() }).await?;
    if whole {
        answer.clone().into_result()?;
    }
    let out = parsed
        .iter()
        .zip(answer.results)
        .map(|(t, r)| match r {
            Ok(o) => TransferResultOut {
                id: t.id.to_hex(),
                outcome: Some(if o == Outcome::Created { "created" } else { "exists" }.into()),
                code: None,
                message: None,
            },
            Err(e) => {
                TransferResultOut { id: t.id.to_hex(), outcome: None, code: Some(e.code().to_string()), message: Some(e.to_string()) }
            }
        })
        .collect();
    Ok((StatusCode::CREATED, Json(out)))
}
