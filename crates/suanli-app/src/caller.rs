//! The typed caller every service takes: one variant per role, carrying the tenant or provider it acts for.

use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{ProviderId, TenantId, UserId};
use suanli_core::tenant::{Principal, Role};

/// Who asks, with what they act for. A tenant user bound to no tenant (or a provider user bound
/// to no provider) cannot be made into a `Caller`, so no rule below can fail open for one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Operator {
        user: UserId,
    },
    Regulator {
        user: UserId,
    },
    Tenant {
        user: UserId,
        tenant: TenantId,
    },
    Provider {
        user: UserId,
        provider: ProviderId,
    },
    /// A reviewer of incentive applications: sees and scores only what it is assigned.
    Expert {
        user: UserId,
    },
}

impl Caller {
    /// The caller an authenticated principal is; `forbidden` for a user bound to nothing.
    pub fn of(p: &Principal) -> Result<Caller, Error> {
        let user = p.user_id.clone();
        Ok(match p.role {
            Role::Operator => Caller::Operator { user },
            Role::Regulator => Caller::Regulator { user },
            Role::Expert => Caller::Expert { user },
            Role::Tenant => Caller::Tenant {
                user,
                tenant: p.tenant_id.clone().ok_or_else(|| Error::new(ErrorCode::Forbidden, "this tenant user is bound to no tenant"))?,
            },
            Role::Provider => Caller::Provider {
                user,
                provider: p
                    .provider_id
                    .clone()
                    .ok_or_else(|| Error::new(ErrorCode::Forbidden, "this provider user is bound to no provider"))?,
            },
        })
    }

    pub fn role(&self) -> Role {
        match self {
            Caller::Operator { .. } => Role::Operator,
            Caller::Regulator { .. } => Role::Regulator,
            Caller::Tenant { .. } => Role::Tenant,
            Caller::Provider { .. } => Role::Provider,
            Caller::Expert { .. } => Role::Expert,
        }
    }

    pub fn user(&self) -> &UserId {
        match self {
            Caller::Operator { user }
            | Caller::Regulator { user }
            | Caller::Expert { user }
            | Caller::Tenant { user, .. }
            | Caller::Provider { user, .. } => user,
        }
    }

    /// The audit trail's actor: `role:usr_…`.
    pub fn actor(&self) -> String {
        format!("{}:{}", self.role().as_str(), self.user())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, tenant: Option<TenantId>) -> Principal {
        Principal { user_id: UserId::generate(1, 1), name: "u".into(), role, tenant_id: tenant, provider_id: None }
    }

    #[test]
    fn a_user_bound_to_nothing_is_no_caller() {
        assert_eq!(Caller::of(&principal(Role::Tenant, None)).unwrap_err().code, ErrorCode::Forbidden);
        assert_eq!(Caller::of(&principal(Role::Provider, None)).unwrap_err().code, ErrorCode::Forbidden);
        let t = TenantId::generate(1, 2);
        assert!(matches!(Caller::of(&principal(Role::Tenant, Some(t.clone()))), Ok(Caller::Tenant { tenant, .. }) if tenant == t));
        assert_eq!(Caller::of(&principal(Role::Regulator, None)).unwrap().role(), Role::Regulator);
    }
}
