//! The chart of accounts: which ledger account holds whose money, derived from the owner's id so every part of the platform finds it without a lookup.

use crate::account::{Account, AccountId, AccountKind};

/// An account of the chart: its id, kind and owner (what the store's `owner` column holds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartAccount {
    pub id: AccountId,
    pub kind: AccountKind,
    pub owner: String,
}

impl ChartAccount {
    fn new(kind: AccountKind, owner: String) -> ChartAccount {
        ChartAccount { id: AccountId::derive(kind, &owner), kind, owner }
    }

    /// The ledger account, with zero balances and its kind's balance rule.
    pub fn account(&self) -> Account {
        Account::cny(self.id, self.kind)
    }
}

/// The city treasury: where voucher programme budgets come from.
pub fn city_treasury() -> ChartAccount {
    ChartAccount::new(AccountKind::ExternalFunding, "city-treasury".to_string())
}

/// Enterprises' banks: where cash top-ups come from.
pub fn enterprise_banks() -> ChartAccount {
    ChartAccount::new(AccountKind::ExternalFunding, "enterprise-banks".to_string())
}

/// A programme's budget.
pub fn programme_budget(programme: &str) -> ChartAccount {
    ChartAccount::new(AccountKind::ProgrammeBudget, programme.to_string())
}

/// An enterprise's voucher balance in one programme. Its owner is `tenant/programme`.
pub fn voucher(tenant: &str, programme: &str) -> ChartAccount {
    ChartAccount::new(AccountKind::EnterpriseVoucher, format!("{tenant}/{programme}"))
}

/// An enterprise's prepaid cash balance.
pub fn cash(tenant: &str) -> ChartAccount {
    ChartAccount::new(AccountKind::EnterpriseCash, tenant.to_string())
}

/// What the platform owes a provider until settlement.
pub fn receivable(provider: &str) -> ChartAccount {
    ChartAccount::new(AccountKind::ProviderReceivable, provider.to_string())
}

/// What has been paid out to a provider.
pub fn payout(provider: &str) -> ChartAccount {
    ChartAccount::new(AccountKind::ProviderPayout, provider.to_string())
}

/// A model key's budget (a memo account).
pub fn model_key_budget(key: &str) -> ChartAccount {
    ChartAccount::new(AccountKind::ModelKeyBudget, key.to_string())
}

/// The counterpart of every model key's budget.
pub fn model_key_limits() -> ChartAccount {
    ChartAccount::new(AccountKind::ModelKeyLimits, "model-keys".to_string())
}

/// The platform's clearing account for data purchases: fees held there until a request is decided.
pub fn data_purchases() -> ChartAccount {
    ChartAccount::new(AccountKind::Platform, "data-purchases".to_string())
}

/// A district's treasury: its share of incentive awards ("按财政体制").
pub fn district_treasury(district: &str) -> ChartAccount {
    ChartAccount::new(AccountKind::ExternalFunding, format!("district-treasury/{district}"))
}

/// What an enterprise has been paid in incentive awards.
pub fn award_payout(tenant: &str) -> ChartAccount {
    ChartAccount::new(AccountKind::AwardPayout, tenant.to_string())
}
