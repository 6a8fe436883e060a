//! The typed client's calls for money: voucher programmes and applications, balances, top-ups, bills, settlement and the ledger's checks.

use super::{Client, Result, query, urlencode};
use crate::money::{
    AccountOut, ApplicationIn, ApplicationOut, ApproveIn, BalanceOut, BillOut, EarningsOut, ProgrammeIn, ProgrammeOut, ReconciliationOut,
    RejectIn, SettlementIn, StatementOut, TopUpIn, VerifyOut,
};
use serde_json::json;

/// Which bills to list.
#[derive(Debug, Clone, Default)]
pub struct BillsQuery {
    pub tenant: Option<String>,
    pub provider: Option<String>,
    /// YYYY-MM-DD, inclusive.
    pub from: Option<String>,
    /// YYYY-MM-DD, exclusive.
    pub to: Option<String>,
    pub limit: u32,
}

impl Client {
    pub async fn programmes(&self) -> Result<Vec<ProgrammeOut>> {
        self.get_as("/api/v1/voucher-programmes").await
    }

    /// Opens a year's voucher programme (operator).
    pub async fn create_programme(&self, p: &ProgrammeIn) -> Result<ProgrammeOut> {
        self.post_as("/api/v1/voucher-programmes", p).await
    }

    /// Closes a programme: unspent vouchers return to its budget (operator).
    pub async fn close_programme(&self, id: &str) -> Result<ProgrammeOut> {
        self.post_as(&format!("/api/v1/voucher-programmes/{}/close", urlencode(id)), &json!({})).await
    }

    pub async fn apply_for_vouchers(&self, a: &ApplicationIn) -> Result<ApplicationOut> {
        self.post_as("/api/v1/voucher-applications", a).await
    }

    pub async fn applications(&self, state: Option<&str>, tenant: Option<&str>) -> Result<Vec<ApplicationOut>> {
        self.get_as(&format!("/api/v1/voucher-applications{}", query(&[("state", state), ("tenant_id", tenant)]))).await
    }

    pub async fn approve_application(&self, id: &str, a: &ApproveIn) -> Result<ApplicationOut> {
        self.post_as(&format!("/api/v1/voucher-applications/{}/approve", urlencode(id)), a).await
    }

    pub async fn reject_application(&self, id: &str, r: &RejectIn) -> Result<ApplicationOut> {
        self.post_as(&format!("/api/v1/voucher-applications/{}/reject", urlencode(id)), r).await
    }

    /// A tenant's cash and vouchers.
    pub async fn balance(&self, tenant: &str) -> Result<BalanceOut> {
        self.get_as(&format!("/api/v1/tenants/{}/balance", urlencode(tenant))).await
    }

    /// Records a tenant's cash payment (operator); the answer is the balance after it.
    pub async fn top_up(&self, tenant: &str, t: &TopUpIn) -> Result<BalanceOut> {
        self.post_as(&format!("/api/v1/tenants/{}/top-ups", urlencode(tenant)), t).await
    }

    pub async fn bills(&self, q: &BillsQuery) -> Result<Vec<BillOut>> {
        let limit = q.limit.to_string();
        let params = [
            ("limit", Some(limit.as_str())),
            ("tenant_id", q.tenant.as_deref()),
            ("provider_id", q.provider.as_deref()),
            ("from", q.from.as_deref()),
            ("to", q.to.as_deref()),
        ];
        self.get_as(&format!("/api/v1/bills{}", query(&params))).await
    }

    /// Settles a provider's bills over a period into a statement (operator).
    pub async fn settle(&self, s: &SettlementIn) -> Result<StatementOut> {
        self.post_as("/api/v1/settlements", s).await
    }

    pub async fn statements(&self, provider: Option<&str>) -> Result<Vec<StatementOut>> {
        self.get_as(&format!("/api/v1/statements{}", query(&[("provider_id", provider)]))).await
    }

    /// A provider's earnings by day (or month), source and centre; `from`/`to` are Beijing
    /// calendar days, YYYY-MM-DD (the provider itself, the operator, the regulator).
    pub async fn provider_earnings(&self, provider: &str, from: Option<&str>, to: Option<&str>) -> Result<EarningsOut> {
        self.get_as(&format!("/api/v1/providers/{}/earnings{}", urlencode(provider), query(&[("from", from), ("to", to)]))).await
    }

    /// Replays and checks the whole ledger.
    pub async fn verify_ledger(&self) -> Result<VerifyOut> {
        self.get_as("/api/v1/ledger/verify").await
    }

    pub async fn accounts(&self, owner: Option<&str>) -> Result<Vec<AccountOut>> {
        self.get_as(&format!("/api/v1/ledger/accounts{}", query(&[("owner", owner)]))).await
    }

    /// Ties every bill and model call to the ledger's transfers.
    pub async fn reconciliation(&self) -> Result<ReconciliationOut> {
        self.get_as("/api/v1/ledger/reconciliation").await
    }
}
