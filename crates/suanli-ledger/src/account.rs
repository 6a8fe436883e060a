//! Accounts: what kind of money an account holds, its currency, its balance rule and its four balances.

use serde::{Deserialize, Serialize};
use suanli_core::money::Fen;

/// An account id. A `u128` (as in TigerBeetle) rather than a string: fixed size, cheap to hash
/// and compare, and the store maps the platform's typed string ids (`tnt_…`, `prv_…`) onto it in
/// a table of its own. Zero is never a valid id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(pub u128);

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl AccountId {
    /// The account of `kind` that belongs to `owner` (a tenant, provider or programme id, or a
    /// fixed name such as "platform"): a 128-bit FNV-1a hash of both, so every part of the
    /// platform finds an owner's account without a lookup table. Never zero.
    pub fn derive(kind: AccountKind, owner: &str) -> AccountId {
        AccountId(fnv1a_128(&[kind.as_str().as_bytes(), b"/", owner.as_bytes()]).max(1))
    }

    /// The id as 32 lower-case hex digits (how the store and the API write it).
    pub fn to_hex(self) -> String {
        format!("{:032x}", self.0)
    }

    /// Parses 1 to 32 hex digits; `None` for anything else or zero.
    pub fn parse_hex(s: &str) -> Option<AccountId> {
        parse_u128_hex(s).filter(|v| *v != 0).map(AccountId)
    }
}

/// 128-bit FNV-1a over the concatenation of `parts`.
pub(crate) fn fnv1a_128(parts: &[&[u8]]) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut h = OFFSET;
    for b in parts.iter().flat_map(|p| p.iter()) {
        h ^= *b as u128;
        h = h.wrapping_mul(PRIME);
    }
    h
}

pub(crate) fn parse_u128_hex(s: &str) -> Option<u128> {
    if s.is_empty() || s.len() > 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(s, 16).ok()
}

/// What an account stands for in the voucher and billing flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// A voucher programme's budget for one year; vouchers are issued from it.
    ProgrammeBudget,
    /// An enterprise's voucher balance (算力券), spendable only on eligible compute.
    EnterpriseVoucher,
    /// An enterprise's own prepaid cash balance.
    EnterpriseCash,
    /// What the platform owes a compute provider until it is settled.
    ProviderReceivable,
    /// The platform's own account (fees, rounding, adjustments).
    Platform,
    /// The outside world that money comes from (the city's budget, bank top-ups).
    ExternalFunding,
    /// What has been paid out to a provider at settlement (money that left the platform).
    ProviderPayout,
    /// A model key's budget (a memo account, not money): credited with the budget when the
    /// key is made, debited by every call, so the ledger's own balance rule stops a key from
    /// spending past its budget, however many calls race.
    ModelKeyBudget,
    /// Where key budgets come from and return to (the memo accounts' counterpart).
    ModelKeyLimits,
    /// What has been paid out to an enterprise as incentive awards (money that left for its bank).
    AwardPayout,
}

impl AccountKind {
    /// The balance rule an account of this kind normally carries: accounts that hold money may
    /// not spend more than they were given; external funding may not receive back more than it
    /// paid in; the platform account is unrestricted so it can absorb adjustments.
    pub fn default_flags(self) -> AccountFlags {
        match self {
            AccountKind::ProgrammeBudget
            | AccountKind::EnterpriseVoucher
            | AccountKind::EnterpriseCash
            | AccountKind::ProviderReceivable
            | AccountKind::ModelKeyBudget => AccountFlags::DEBITS_MUST_NOT_EXCEED_CREDITS,
            AccountKind::ExternalFunding => AccountFlags::CREDITS_MUST_NOT_EXCEED_DEBITS,
            AccountKind::Platform | AccountKind::ProviderPayout | AccountKind::ModelKeyLimits | AccountKind::AwardPayout => {
                AccountFlags::NONE
            }
        }
    }

    /// Every kind, in declaration order.
    pub const ALL: [AccountKind; 10] = [
        AccountKind::ProgrammeBudget,
        AccountKind::EnterpriseVoucher,
        AccountKind::EnterpriseCash,
        AccountKind::ProviderReceivable,
        AccountKind::Platform,
        AccountKind::ExternalFunding,
        AccountKind::ProviderPayout,
        AccountKind::ModelKeyBudget,
        AccountKind::ModelKeyLimits,
        AccountKind::AwardPayout,
    ];

    /// Whether the account holds money (memo accounts such as key budgets do not).
    pub fn is_money(self) -> bool {
        !matches!(self, AccountKind::ModelKeyBudget | AccountKind::ModelKeyLimits)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::ProgrammeBudget => "programme_budget",
            AccountKind::EnterpriseVoucher => "enterprise_voucher",
            AccountKind::EnterpriseCash => "enterprise_cash",
            AccountKind::ProviderReceivable => "provider_receivable",
            AccountKind::Platform => "platform",
            AccountKind::ExternalFunding => "external_funding",
            AccountKind::ProviderPayout => "provider_payout",
            AccountKind::ModelKeyBudget => "model_key_budget",
            AccountKind::ModelKeyLimits => "model_key_limits",
            AccountKind::AwardPayout => "award_payout",
        }
    }

    pub fn parse(s: &str) -> Option<AccountKind> {
        AccountKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// An ISO 4217 currency code. Only CNY is used today, but the type exists so that a transfer
/// between accounts of different currencies is refused rather than silently mixing units.
/// Amounts are always in the currency's minor unit ([`Fen`] for CNY).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const CNY: Currency = Currency(*b"CNY");

    /// A currency from a three-letter upper-case code; `None` for anything else.
    pub fn new(code: &str) -> Option<Currency> {
        let bytes: [u8; 3] = code.as_bytes().try_into().ok()?;
        bytes.iter().all(u8::is_ascii_uppercase).then_some(Currency(bytes))
    }

    pub fn as_str(&self) -> &str {
        // The constructor only admits ASCII upper-case letters.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An account's balance rule. At most one may be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct AccountFlags {
    /// Pending plus posted debits may never exceed posted credits: the account cannot be
    /// overdrawn, and a reservation counts against it from the moment it is made.
    pub debits_must_not_exceed_credits: bool,
    /// Pending plus posted credits may never exceed posted debits.
    pub credits_must_not_exceed_debits: bool,
}

impl AccountFlags {
    pub const NONE: AccountFlags = AccountFlags { debits_must_not_exceed_credits: false, credits_must_not_exceed_debits: false };
    pub const DEBITS_MUST_NOT_EXCEED_CREDITS: AccountFlags =
        AccountFlags { debits_must_not_exceed_credits: true, credits_must_not_exceed_debits: false };
    pub const CREDITS_MUST_NOT_EXCEED_DEBITS: AccountFlags =
        AccountFlags { debits_must_not_exceed_credits: false, credits_must_not_exceed_debits: true };
}

/// The four balances of an account, in minor units. Kept as i128 so sums over many accounts
/// never overflow; each stays within i64 because the ledger refuses transfers that would
/// take one beyond what the store's i64 fen column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Balances {
    pub debits_pending: i128,
    pub debits_posted: i128,
    pub credits_pending: i128,
    pub credits_posted: i128,
}

/// A ledger account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Account {
    pub id: AccountId,
    pub kind: AccountKind,
    pub currency: Currency,
    pub flags: AccountFlags,
    pub debits_pending: i128,
    pub debits_posted: i128,
    pub credits_pending: i128,
    pub credits_posted: i128,
}

impl Account {
    /// A new account with zero balances: only transfers move balances.
    pub fn new(id: AccountId, kind: AccountKind, currency: Currency, flags: AccountFlags) -> Account {
        Account { id, kind, currency, flags, debits_pending: 0, debits_posted: 0, credits_pending: 0, credits_posted: 0 }
    }

    /// A new CNY account with its kind's default balance rule.
    pub fn cny(id: AccountId, kind: AccountKind) -> Account {
        Account::new(id, kind, Currency::CNY, kind.default_flags())
    }

    pub fn balances(&self) -> Balances {
        Balances {
            debits_pending: self.debits_pending,
            debits_posted: self.debits_posted,
            credits_pending: self.credits_pending,
            credits_posted: self.credits_posted,
        }
    }

    pub(crate) fn set_balances(&mut self, b: Balances) {
        self.debits_pending = b.debits_pending;
        self.debits_posted = b.debits_posted;
        self.credits_pending = b.credits_pending;
        self.credits_posted = b.credits_posted;
    }

    /// Posted credits minus posted debits: what a money-holding account (voucher, cash,
    /// budget, receivable) holds, ignoring reservations.
    pub fn credit_balance(&self) -> Fen {
        Fen(clamp_i64(self.credits_posted - self.debits_posted))
    }

    /// Posted debits minus posted credits: what external funding has paid in, net.
    pub fn debit_balance(&self) -> Fen {
        Fen(clamp_i64(self.debits_posted - self.credits_posted))
    }

    /// What can still be debited from a money-holding account: posted credits less posted
    /// and pending debits (reservations already count against it).
    pub fn available(&self) -> Fen {
        Fen(clamp_i64(self.credits_posted - self.debits_posted - self.debits_pending))
    }

    /// The balance rule this account breaks, if any.
    pub fn crossed_rule(&self) -> Option<&'static str> {
        if self.flags.debits_must_not_exceed_credits && self.debits_pending + self.debits_posted > self.credits_posted {
            return Some("debits_must_not_exceed_credits");
        }
        if self.flags.credits_must_not_exceed_debits && self.credits_pending + self.credits_posted > self.debits_posted {
            return Some("credits_must_not_exceed_debits");
        }
        None
    }

    /// The account without its balances, for comparing creation requests.
    pub(crate) fn same_definition(&self, other: &Account) -> bool {
        self.id == other.id && self.kind == other.kind && self.currency == other.currency && self.flags == other.flags
    }
}

fn clamp_i64(v: i128) -> i64 {
    // Balances stay within i64 by construction; clamp rather than wrap if stored data is corrupt.
    v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}
