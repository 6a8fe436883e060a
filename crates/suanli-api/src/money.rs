//! The money API's bodies: voucher programmes and applications, balances and top-ups, bills, statements, settlement, reconciliation and the ledger.
//!
//! Money is a yuan decimal string on the wire (`"1234.50"`) and i64 fen inside; [`yuan`] is
//! the one way out.

use serde::{Deserialize, Serialize};
use suanli_core::money::Fen;
use suanli_core::time::format_rfc3339;
use suanli_ledger::records::{Application, Bill, Statement};
use utoipa::ToSchema;

/// Fen as the wire's yuan string, to the fen.
pub fn yuan(f: Fen) -> String {
    f.to_yuan_string()
}

/// A new voucher programme; every field but `year` defaults to Hangzhou's rules.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeIn {
    pub year: i32,
    pub name: Option<String>,
    /// Yuan; default 50000000.
    pub budget: Option<String>,
    pub ratio_domestic_pct: Option<u8>,
    pub ratio_other_pct: Option<u8>,
    pub ratio_model_calls_pct: Option<u8>,
    pub ratio_data_pct: Option<u8>,
    /// Yuan per enterprise per year; default 8000000.
    pub cap_per_enterprise: Option<String>,
    pub sme_only: Option<bool>,
    /// Credit-code division prefix of eligible enterprises; default "3301" (Hangzhou).
    pub division_prefix: Option<String>,
    pub partner_only: Option<bool>,
}

/// A programme with its money: budget, issued, spent, held and what is left.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProgrammeOut {
    pub id: String,
    pub year: i32,
    pub name: String,
    pub state: String,
    pub budget: String,
    /// Vouchers issued to enterprises (approved applications).
    pub issued: String,
    /// Paid by vouchers for compute (posted).
    pub spent: String,
    /// Reserved by vouchers for jobs still running.
    pub held: String,
    /// Unspent vouchers returned to the budget at the end of the year.
    pub expired: String,
    /// What the budget can still issue.
    pub remaining: String,
    /// spent / budget.
    pub spent_share: f64,
    pub ratio_domestic_pct: u8,
    pub ratio_other_pct: u8,
    pub ratio_model_calls_pct: u8,
    pub ratio_data_pct: u8,
    pub cap_per_enterprise: String,
    pub sme_only: bool,
    pub division_prefix: String,
    pub partner_only: bool,
    pub applications: i64,
    pub pending_applications: i64,
    pub enterprises: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationIn {
    /// Default: the programme open now.
    pub programme_id: Option<String>,
    /// Only when the operator applies on a tenant's behalf.
    pub tenant_id: Option<String>,
    /// Yuan.
    pub amount: String,
    pub purpose: String,
}

// Its own schema name: the incentive programmes' `ApplicationOut` would otherwise replace it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = VoucherApplicationOut)]
pub struct ApplicationOut {
    pub id: String,
    pub programme_id: String,
    pub tenant_id: String,
    pub tenant_name: Option<String>,
    pub requested: String,
    pub purpose: String,
    pub state: String,
    pub approved: Option<String>,
    pub decision_reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_ms: Option<i64>,
    pub created_ms: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveIn {
    /// Yuan, at most what was requested; default all of it.
    pub amount: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectIn {
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VoucherBalance {
    pub programme_id: String,
    pub year: i32,
    pub issued: String,
    pub spent: String,
    pub held: String,
    pub available: String,
}

/// An enterprise's money: cash (prepaid), vouchers per programme, and what it owes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BalanceOut {
    pub tenant_id: String,
    pub cash_available: String,
    pub cash_held: String,
    pub cash_posted: String,
    pub vouchers: Vec<VoucherBalance>,
    pub voucher_available: String,
    pub outstanding: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopUpIn {
    /// Yuan.
    pub amount: String,
    /// The payment's reference (bank transaction number).
    pub reference: Option<String>,
    /// A client-chosen transfer id (1-32 hex digits) so a retried top-up applies once.
    pub transfer_id: Option<String>,
}

impl ApplicationOut {
    pub fn new(a: &Application, tenant_name: Option<String>) -> ApplicationOut {
        ApplicationOut {
            id: a.id.to_string(),
            programme_id: a.programme_id.to_string(),
            tenant_id: a.tenant_id.to_string(),
            tenant_name,
            requested: yuan(a.requested),
            purpose: a.purpose.clone(),
            state: a.state.as_str().to_string(),
            approved: a.approved.map(yuan),
            decision_reason: a.decision_reason.clone(),
            decided_by: a.decided_by.clone(),
            decided_ms: a.decided_ms,
            created_ms: a.created_ms,
        }
    }
}
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BillOut {
    pub id: String,
    pub job_id: String,
    pub tenant_id: String,
    pub provider_id: Option<String>,
    pub centre_id: Option<String>,
    pub pool_id: Option<String>,
    pub programme_id: Option<String>,
    /// completed, cancelled_ran, failed_ran, centre_fault or never_ran.
    pub rule: String,
    pub usage_s: i64,
    pub accelerators: u32,
    pub accelerator_hours: f64,
    pub price_per_hour: String,
    pub discount_pct: u8,
    pub ratio_pct: u8,
    pub charge: String,
    pub voucher: String,
    pub cash: String,
    pub outstanding: String,
    pub created_ms: i64,
    pub statement_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatementOut {
    pub id: String,
    pub provider_id: String,
    pub from: String,
    pub to: String,
    pub bills: u32,
    /// Metered model calls included (their charges are in the sums).
    pub model_calls: u32,
    /// Data deliveries included (their fees are in the sums).
    pub data_deliveries: u32,
    pub charge: String,
    pub voucher: String,
    pub cash: String,
    pub outstanding: String,
    pub settled: String,
    pub transfer_id: Option<String>,
    pub created_ms: i64,
}

/// A provider's earnings over a window of Beijing calendar days
/// (`GET /api/v1/providers/{id}/earnings`): per day (per calendar month beyond 30 days) by
/// source, and by centre. Earned is what the ledger posted to the provider's receivable: a
/// bill's voucher and cash parts, a model call's charge, a data delivery's fee; settled is
/// what statements took of it (their `settled`), unsettled the rest.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EarningsOut {
    pub provider_id: String,
    /// The window's first day, YYYY-MM-DD (Beijing time), inclusive.
    pub from: String,
    /// The day after its last, YYYY-MM-DD (Beijing time), exclusive.
    pub to: String,
    /// `day` or `month`.
    pub period: String,
    pub periods: Vec<EarningsPeriodOut>,
    /// `jobs`, `model_calls`, `data_deliveries`, in that order.
    pub sources: Vec<EarningsSourceOut>,
    /// By centre and source (jobs it ran, calls its deployments served); data deliveries have no centre.
    pub centres: Vec<EarningsCentreOut>,
    pub earned: String,
    pub settled: String,
    pub unsettled: String,
    /// What tenants still owe on the window's bills: charged, never paid, so not earned.
    pub outstanding: String,
    /// What the ledger credited to the provider's receivable over the window's days.
    pub posted: String,
}

/// One day (`2026-11-03`) or month (`2026-11`) of earnings, by source.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EarningsPeriodOut {
    pub period: String,
    pub jobs: String,
    pub model_calls: String,
    pub data_deliveries: String,
    pub earned: String,
}

/// One source's earnings over the window.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EarningsSourceOut {
    /// `jobs`, `model_calls` or `data_deliveries`.
    pub source: String,
    /// Bills, charged model calls or deliveries.
    pub records: u64,
    pub earned: String,
    pub settled: String,
    pub unsettled: String,
    /// Owed by tenants on bills (jobs only).
    pub outstanding: String,
    /// Credited to the receivable for this source by the ledger, by the day it posted.
    pub posted: String,
}

/// One centre's earnings from one source.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EarningsCentreOut {
    pub centre_id: String,
    /// `jobs` or `model_calls`.
    pub source: String,
    pub records: u64,
    pub earned: String,
    pub settled: String,
    pub unsettled: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettlementIn {
    pub provider_id: String,
    /// The period's first Beijing calendar day, inclusive: YYYY-MM-DD is 00:00 China Standard
    /// Time (Asia/Shanghai, 16:00 UTC the day before); an RFC 3339 instant is taken as it is.
    pub from: String,
    /// The Beijing calendar day after the period, exclusive: YYYY-MM-DD is 00:00 China Standard
    /// Time; an RFC 3339 instant is taken as it is.
    pub to: String,
}

/// One way a bill and the ledger disagree.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Mismatch {
    /// The job, the model call (`req_…`) or the data request (`drq_…`) the problem is about.
    pub job_id: String,
    pub bill_id: Option<String>,
    pub problem: String,
}

/// Every posted charge tied to a bill, and every bill to the job's metered usage.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReconciliationOut {
    pub bills: usize,
    pub matched: usize,
    pub charged: String,
    pub posted_voucher: String,
    pub posted_cash: String,
    pub outstanding: String,
    /// Metered model calls (their usage records) and how many the ledger agrees with.
    pub model_calls: usize,
    pub model_calls_matched: usize,
    /// What the model calls charged, by their usage records.
    pub model_calls_charged: String,
    /// Data deliveries and how many the ledger agrees with.
    pub data_deliveries: usize,
    pub data_deliveries_matched: usize,
    /// Their fees.
    pub data_fees: String,
    pub mismatches: Vec<Mismatch>,
}

impl From<&Bill> for BillOut {
    fn from(b: &Bill) -> BillOut {
        BillOut {
            id: b.id.to_string(),
            job_id: b.job_id.to_string(),
            tenant_id: b.tenant_id.to_string(),
            provider_id: b.provider_id.as_ref().map(|x| x.to_string()),
            centre_id: b.centre_id.as_ref().map(|x| x.to_string()),
            pool_id: b.pool_id.as_ref().map(|x| x.to_string()),
            programme_id: b.programme_id.as_ref().map(|x| x.to_string()),
            rule: b.rule.as_str().to_string(),
            usage_s: b.usage_s,
            accelerators: b.accelerators,
            accelerator_hours: (b.usage_s as f64 * b.accelerators as f64 / 3600.0 * 1000.0).round() / 1000.0,
            price_per_hour: yuan(b.price_per_hour),
            discount_pct: b.discount_pct,
            ratio_pct: b.ratio_pct,
            charge: yuan(b.charge),
            voucher: yuan(b.voucher),
            cash: yuan(b.cash),
            outstanding: yuan(b.outstanding),
            created_ms: b.created_ms,
            statement_id: b.statement_id.as_ref().map(|x| x.to_string()),
        }
    }
}

impl From<&Statement> for StatementOut {
    fn from(st: &Statement) -> StatementOut {
        StatementOut {
            id: st.id.to_string(),
            provider_id: st.provider_id.to_string(),
            from: format_rfc3339(st.from_ms),
            to: format_rfc3339(st.to_ms),
            bills: st.bills,
            model_calls: st.model_calls,
            data_deliveries: st.data_deliveries,
            charge: yuan(st.charge),
            voucher: yuan(st.voucher),
            cash: yuan(st.cash),
            outstanding: yuan(st.outstanding),
            settled: yuan(st.settled),
            transfer_id: st.transfer_id.clone(),
            created_ms: st.created_ms,
        }
    }
}
/// The result of replaying and checking the whole ledger.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VerifyOut {
    pub ok: bool,
    pub accounts: usize,
    pub transfers: usize,
    pub open_pending: usize,
    /// Sum of posted debits (= sum of posted credits), yuan.
    pub posted_total: String,
    pub pending_total: String,
    pub violations: Vec<String>,
    pub elapsed_ms: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountOut {
    pub id: String,
    pub kind: String,
    pub owner: String,
    pub currency: String,
    pub debits_pending: String,
    pub debits_posted: String,
    pub credits_pending: String,
    pub credits_posted: String,
    /// Posted credits less posted and pending debits.
    pub available: String,
}

/// One transfer of a batch.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferIn {
    /// 1-32 hex digits, chosen by the client: a retry with the same id and body answers `exists`.
    pub id: String,
    /// single (default), pending, post or void.
    pub kind: Option<String>,
    /// Account ids (32 hex digits); for post and void, those of the pending transfer.
    pub debit_account: String,
    pub credit_account: String,
    /// Yuan; for post, at most the pending amount.
    pub amount: String,
    /// budget_funding, voucher_issue, voucher_spend, voucher_expiry, cash_top_up, job_charge, refund, settlement, adjustment.
    pub reason: String,
    #[serde(default)]
    pub reference: String,
    /// For post and void: the pending transfer's id.
    pub pending_id: Option<String>,
    /// For pending: milliseconds until it times out.
    pub timeout_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBatchIn {
    /// All or nothing.
    #[serde(default)]
    pub linked: bool,
    pub transfers: Vec<TransferIn>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TransferResultOut {
    pub id: String,
    /// created or exists; absent when refused.
    pub outcome: Option<String>,
    pub code: Option<String>,
    pub message: Option<String>,
}
