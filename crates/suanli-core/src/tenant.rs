//! Tenants (enterprises and labs that run jobs), users and their roles.

use crate::centre::check_name;
use crate::error::Error;
use crate::id::{ProviderId, TenantId, UserId};
use crate::ident::Uscc;
use crate::region::Regions;
use crate::time::UnixMs;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub name_en: String,
    pub uscc: Uscc,
    /// Small or medium enterprise: the voucher programme's main target.
    pub sme: bool,
    pub region: String,
    pub created_ms: UnixMs,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewTenant {
    pub name: String,
    pub name_en: String,
    pub uscc: Uscc,
    pub sme: bool,
    pub region: String,
}

impl NewTenant {
    pub fn validate(&self, regions: &Regions) -> Result<(), Error> {
        check_name("name", &self.name)?;
        if !self.name_en.is_empty() {
            check_name("name_en", &self.name_en)?;
        }
        regions.require(&self.region)?;
        Ok(())
    }
}

/// Who a user is to the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The city's platform operator: sees and manages everything.
    Operator,
    /// A compute provider: manages its own centres and pools.
    Provider,
    /// An SME or lab: submits and sees its own jobs.
    Tenant,
    /// Energy and data supervision: reads, never writes.
    Regulator,
    /// A reviewer from the incentive programmes' expert pool: sees only the applications the
    /// operator assigned to it and scores them; nothing else of the platform.
    Expert,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Operator, Role::Provider, Role::Tenant, Role::Regulator, Role::Expert];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Provider => "provider",
            Role::Tenant => "tenant",
            Role::Regulator => "regulator",
            Role::Expert => "expert",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// An authenticated caller: the user and what it is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub user_id: UserId,
    pub name: String,
    pub role: Role,
    /// Set for tenant users.
    pub tenant_id: Option<TenantId>,
    /// Set for provider users.
    pub provider_id: Option<ProviderId>,
}

impl Principal {
    /// The audit trail's name for this caller, e.g. "tenant:usr_…".
    pub fn actor(&self) -> String {
        format!("{}:{}", self.role.as_str(), self.user_id)
    }
}
