//! Bearer-token authentication and role checks.
//!
//! Tokens are opaque: `sl_` and 43 base64url characters (32 random bytes). Only their
//! SHA-256 is stored, so a copy of the database does not reveal working tokens.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use suanli_core::error::ErrorCode;
use suanli_core::tenant::{Principal, Role};

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    /// Fails with `forbidden` unless the caller has one of the roles.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.0.role) {
            return Ok(());
        }
        let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("a {} may not do this; it needs the role {}", self.0.role.as_str(), allowed.join(" or ")),
        ))
    }

    pub fn role(&self) -> Role {
        self.0.role
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let Some(header) = header else {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "send 'Authorization: Bearer <token>' (suanli serve --demo writes demo tokens to demo-tokens.json)",
            ));
        };
        let token = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")).map(str::trim).unwrap_or("");
        if token.is_empty() {
            return Err(ApiError::new(ErrorCode::Unauthenticated, "the Authorization header must be 'Bearer <token>'"));
        }
        let c = principal(state, token)
            .await?
            .map(Caller)
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "the bearer token is not valid"))?;
        if c.role() == Role::Expert && !expert_may_call(&parts.method, parts.uri.path()) {
            return Err(ApiError::new(ErrorCode::Forbidden, "an expert reads and scores only the incentive applications assigned to it"));
        }
        Ok(c)
    }
}

/// What an expert may call: who it is, the programmes (their criteria), the applications
/// assigned to it, their evidence, and its own scores. Everything else is refused at the edge,
/// before any handler's own role check (which would be the second line of defence). The path
/// is as the API's router sees it, `/api/v1` stripped by the nesting (or not).
fn expert_may_call(method: &axum::http::Method, path: &str) -> bool {
    let rest = path.strip_prefix("/api/v1").unwrap_or(path);
    let parts: Vec<&str> = rest.split('/').skip(1).collect();
    let get = method == axum::http::Method::GET;
    match parts.as_slice() {
        ["me"] | ["incentives", "programmes"] | ["incentives", "applications"] | ["incentives", "applications", _] => get,
        ["incentives", "documents", _] => get,
        ["incentives", "applications", _, "reviews"] => method == axum::http::Method::POST,
        _ => false,
    }
}

/// Whom a token belongs to (through the token cache), for the API's bearer tokens and the web
/// UI's session cookie alike.
pub async fn principal(state: &AppState, token: &str) -> Result<Option<Principal>, suanli_store::StoreError> {
    let hash = token_hash(token);
    if let Some(p) = state.tokens.get(&hash) {
        return Ok(Some(p));
    }
    let p = state.store.principal_by_token(&hash).await?;
    if let Some(p) = &p {
        state.tokens.put(hash, p.clone());
    }
    Ok(p)
}

pub use suanli_app::tokens::{new_token, token_hash};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expert_calls_only_its_assignments_and_scores() {
        use axum::http::Method;
        for (m, p) in [
            (Method::GET, "/api/v1/me"),
            (Method::GET, "/api/v1/incentives/applications"),
            (Method::GET, "/api/v1/incentives/applications/inc_1"),
            (Method::POST, "/api/v1/incentives/applications/inc_1/reviews"),
            (Method::GET, "/api/v1/incentives/documents/ab12"),
            (Method::GET, "/api/v1/incentives/programmes"),
            (Method::GET, "/incentives/applications/inc_1"),
        ] {
            assert!(expert_may_call(&m, p), "{m} {p}");
        }
        for (m, p) in [
            (Method::GET, "/api/v1/jobs"),
            (Method::GET, "/api/v1/tenants"),
            (Method::POST, "/api/v1/incentives/applications"),
            (Method::POST, "/api/v1/incentives/applications/inc_1/assignments"),
            (Method::POST, "/api/v1/incentives/applications/inc_1/decision"),
            (Method::GET, "/api/v1/incentives/experts"),
            (Method::GET, "/api/v1/incentives/totals"),
            (Method::GET, "/jobs"),
            (Method::POST, "/incentives/applications/inc_1/decision"),
        ] {
            assert!(!expert_may_call(&m, p), "{m} {p}");
        }
    }
}

/// Principals of recently seen tokens, for a few seconds, so a busy client does not cost a
/// database read per request. Tokens are never revoked today; when they are, the cache's
/// lifetime bounds how long a revoked token keeps working.
#[derive(Debug, Default)]
pub struct TokenCache {
    map: std::sync::RwLock<std::collections::HashMap<String, (Principal, std::time::Instant)>>,
}

impl TokenCache {
    const TTL: std::time::Duration = std::time::Duration::from_secs(10);

    pub fn get(&self, hash: &str) -> Option<Principal> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        map.get(hash).filter(|(_, at)| at.elapsed() < Self::TTL).map(|(p, _)| p.clone())
    }

    pub fn put(&self, hash: String, p: Principal) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, (_, at)| at.elapsed() < Self::TTL);
        }
        map.insert(hash, (p, std::time::Instant::now()));
    }
}
