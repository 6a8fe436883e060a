//! The ledger's own checks: the stored ledger replayed and every invariant tested (the sums balance, no account crosses its rule, every balance equals the replay of history, history has no gap or repeat). The API, the web page and `suanli ledger verify` (offline too) call these.

use suanli_core::money::Fen;
use suanli_ledger::Ledger;
use suanli_store::{Store, StoreError};

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LedgerCheck {
    /// Every invariant holds.
    pub ok: bool,
    pub accounts: usize,
    pub transfers: usize,
    /// Pending transfers neither posted, voided nor expired.
    pub open_pending: usize,
    /// The sum of posted debits (equal to the posted credits when `ok`).
    pub posted_total: Fen,
    pub pending_total: Fen,
    /// Each broken invariant, in English words.
    pub violations: Vec<String>,
    pub elapsed_ms: u64,
}

/// The meta key the latest check is stored under.
pub const LAST_CHECK_KEY: &str = "ledger_last_check";

/// At most this many mismatches are kept with a stored check (their count is kept whole).
pub const KEPT_MISMATCHES: usize = 500;

/// A verification and a reconciliation run together, kept so that a page can show the latest
/// without replaying the ledger on every view.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredCheck {
    /// When it ran (ms since the epoch).
    pub at: suanli_core::time::UnixMs,
    /// Who asked: a user's id, or `schedule` for the server's own hourly check.
    pub by: String,
    pub check: LedgerCheck,
    pub reconciliation: crate::money::Reconciliation,
    /// How many mismatches the reconciliation found (the first [`KEPT_MISMATCHES`] are kept).
    pub mismatches_total: usize,
    /// The whole run (the replay and the reconciliation), in milliseconds.
    pub elapsed_ms: u64,
}

/// Loads the stored ledger and checks every invariant.
pub async fn verify_store(store: &Store) -> Result<LedgerCheck, StoreError> {
    let started = std::time::Instant::now();
    match store.ledger_load().await {
        Ok((ledger, _)) => Ok(verify_ledger(&ledger, started)),
        Err(StoreError::Corrupt(m)) => Ok(LedgerCheck {
            ok: false,
            accounts: 0,
            transfers: 0,
            open_pending: 0,
            posted_total: Fen::ZERO,
            pending_total: Fen::ZERO,
            violations: vec![m],
            elapsed_ms: started.elapsed().as_millis() as u64,
        }),
        Err(e) => Err(e),
    }
}

fn verify_ledger(ledger: &Ledger, started: std::time::Instant) -> LedgerCheck {
    let total = |v: i128| Fen(v.clamp(i64::MIN as i128, i64::MAX as i128) as i64);
    match ledger.verify() {
        Ok(r) => LedgerCheck {
            ok: true,
            accounts: r.accounts,
            transfers: r.transfers,
            open_pending: r.open_pending,
            posted_total: total(r.posted_total),
            pending_total: total(r.pending_total),
            violations: Vec::new(),
            elapsed_ms: started.elapsed().as_millis() as u64,
        },
        Err(vs) => LedgerCheck {
            ok: false,
            accounts: ledger.accounts().count(),
            transfers: ledger.transfers().len(),
            open_pending: 0,
            posted_total: Fen::ZERO,
            pending_total: Fen::ZERO,
            violations: vs.iter().map(ToString::to_string).collect(),
            elapsed_ms: started.elapsed().as_millis() as u64,
        },
    }
}
