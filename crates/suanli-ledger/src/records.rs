//! The voucher programme's records: programmes, applications, bills and provider statements, as the store keeps them.

use crate::voucher::{ChargeRule, ProgrammeRules};
use serde::{Deserialize, Serialize};
use suanli_core::id::{ApplicationId, BillId, CentreId, JobId, PoolId, ProgrammeId, ProviderId, StatementId, TenantId};
use suanli_core::money::Fen;
use suanli_core::time::UnixMs;

/// Whether a programme still issues and pays vouchers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgrammeState {
    Open,
    /// Closed at the end of its year: unspent vouchers went back to the budget.
    Closed,
}

impl ProgrammeState {
    pub fn as_str(self) -> &'static str {
        match self {
            ProgrammeState::Open => "open",
            ProgrammeState::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<ProgrammeState> {
        [ProgrammeState::Open, ProgrammeState::Closed].into_iter().find(|x| x.as_str() == s)
    }
}

/// A voucher programme: one year's rules and budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Programme {
    pub id: ProgrammeId,
    pub name: String,
    pub rules: ProgrammeRules,
    pub state: ProgrammeState,
    pub created_ms: UnixMs,
    pub closed_ms: Option<UnixMs>,
}

impl Programme {
    /// Whether the programme is open and its year contains `at_ms`.
    pub fn is_open_at(&self, at_ms: UnixMs) -> bool {
        let (start, end) = self.rules.year_bounds_ms();
        self.state == ProgrammeState::Open && (start..end).contains(&at_ms)
    }
}

/// Where an application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationState {
    Pending,
    Approved,
    Rejected,
}

impl ApplicationState {
    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationState::Pending => "pending",
            ApplicationState::Approved => "approved",
            ApplicationState::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Option<ApplicationState> {
        [ApplicationState::Pending, ApplicationState::Approved, ApplicationState::Rejected].into_iter().find(|x| x.as_str() == s)
    }
}

/// An enterprise's application for vouchers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub id: ApplicationId,
    pub programme_id: ProgrammeId,
    pub tenant_id: TenantId,
    pub requested: Fen,
    pub purpose: String,
    pub state: ApplicationState,
    pub approved: Option<Fen>,
    pub decision_reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_ms: Option<UnixMs>,
    pub created_ms: UnixMs,
}

/// The one bill of a job: its metered usage, the charge, and who paid it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bill {
    pub id: BillId,
    pub job_id: JobId,
    pub tenant_id: TenantId,
    pub provider_id: Option<ProviderId>,
    pub centre_id: Option<CentreId>,
    pub pool_id: Option<PoolId>,
    pub programme_id: Option<ProgrammeId>,
    pub rule: ChargeRule,
    /// Accelerator-seconds are this times `accelerators`.
    pub usage_s: i64,
    pub accelerators: u32,
    pub price_per_hour: Fen,
    pub discount_pct: u8,
    pub ratio_pct: u8,
    pub charge: Fen,
    pub voucher: Fen,
    pub cash: Fen,
    /// What the enterprise's cash balance could not cover.
    pub outstanding: Fen,
    pub created_ms: UnixMs,
    pub statement_id: Option<StatementId>,
}

/// A provider's settlement statement: what its centres earned in a period, and what was paid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    pub id: StatementId,
    pub provider_id: ProviderId,
    pub from_ms: UnixMs,
    pub to_ms: UnixMs,
    pub bills: u32,
    /// Metered model calls its centres served in the period (their charges are in the sums).
    #[serde(default)]
    pub model_calls: u32,
    /// Data deliveries of its data sets in the period (their fees are in the sums).
    #[serde(default)]
    pub data_deliveries: u32,
    pub charge: Fen,
    pub voucher: Fen,
    pub cash: Fen,
    pub outstanding: Fen,
    /// Paid to the provider: the voucher and cash parts.
    pub settled: Fen,
    pub transfer_id: Option<String>,
    pub created_ms: UnixMs,
}
