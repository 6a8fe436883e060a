//! Centre agents: long-polled assignments, status reports (also heartbeats), and the operator's view of who is connected.
//!
//! The bodies are the agent protocol's (`suanli_api::agent::v1`), versioned by the
//! `suanli-agent-protocol` header; see that module.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Query};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Deserialize;
use std::time::Duration;
use suanli_api::agent::{PROTOCOL_HEADER, requested_version, v1};
use suanli_core::error::ErrorCode;
use suanli_core::id::CentreId;
use suanli_core::tenant::Role;
use suanli_dispatch::agent::AgentView;
use utoipa::IntoParams;

/// The centre an agent speaks for, if the caller may run its agent (its provider, or the
/// operator) and speaks a protocol this platform does.
async fn agent_centre(s: &AppState, c: &Caller, headers: &HeaderMap, id: &str) -> ApiResult<CentreId> {
    let header = headers.get(PROTOCOL_HEADER).map(|v| v.to_str().unwrap_or("?"));
    requested_version(header).map_err(|e| ApiError::new(ErrorCode::AgentProtocolUnsupported, e))?;
    c.require(&[Role::Provider, Role::Operator])?;
    let id = CentreId::parse(id)?;
    let centre = s.store.centre(&id).await?.ok_or_else(|| ApiError::new(ErrorCode::CentreNotFound, format!("no centre {id}")))?;
    if c.role() == Role::Provider && c.0.provider_id.as_ref() != Some(&centre.provider_id) {
        return Err(ApiError::new(ErrorCode::Forbidden, "a provider runs agents only for its own centres"));
    }
    // An unbound centre whose agent connects is bound to it; one bound elsewhere refuses it.
    s.backends.agent_connected(&suanli_app::Caller::of(&c.0)?, &id).await?;
    Ok(id)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WaitQuery {
    /// How long to wait for work, in ms (at most 30,000; default 20,000).
    pub wait_ms: Option<u64>,
}

/// An agent's long-poll: the jobs its centre should run or cancel. Answers as soon as there
/// is work, or empty after `wait_ms`. Also counts as a heartbeat; the first poll of an unbound
/// centre binds it to its agent.
#[utoipa::path(get, path = "/api/v1/agents/{id}/assignments", tag = "agents", security(("bearer" = [])),
    params(("id" = String, Path), WaitQuery, ("suanli-agent-protocol" = Option<String>, Header, description = "The agent protocol's version (1 when absent)")),
    responses((status = 200, body = v1::Assignments), (status = 400, body = crate::error::Problem), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem)))]
pub async fn assignments(
    State(s): State<AppState>,
    c: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<WaitQuery>,
) -> ApiResult<Json<v1::Assignments>> {
    let centre = agent_centre(&s, &c, &headers, &id).await?;
    let wait = Duration::from_millis(q.wait_ms.unwrap_or(20_000).min(30_000));
    Ok(Json(s.agents.take(&centre, s.ids.now_ms(), wait).await))
}

/// An agent's report: each job's status, what its cluster holds, its capacity. A status that
/// lacks a time its state needs is not taken (`accepted` counts those that were).
#[utoipa::path(post, path = "/api/v1/agents/{id}/reports", tag = "agents", security(("bearer" = [])),
    params(("id" = String, Path), ("suanli-agent-protocol" = Option<String>, Header, description = "The agent protocol's version (1 when absent)")),
    request_body = v1::Report,
    responses((status = 200, body = v1::ReportAck), (status = 400, body = crate::error::Problem), (status = 401, body = crate::error::Problem),
        (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem), (status = 409, body = crate::error::Problem),
        (status = 422, body = crate::error::Problem)))]
pub async fn report(
    State(s): State<AppState>,
    c: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    JsonBody(r): JsonBody<v1::Report>,
) -> ApiResult<Json<v1::ReportAck>> {
    let centre = agent_centre(&s, &c, &headers, &id).await?;
    let accepted = s.agents.report(&centre, s.ids.now_ms(), r);
    s.engine.wake();
    Ok(Json(v1::ReportAck { accepted }))
}

/// Connected agents: last heartbeat, capacity, work waiting (operator, regulator; a provider its own).
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", security(("bearer" = [])),
    responses((status = 200, body = Vec<AgentView>), (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem)))]
pub async fn list(State(s): State<AppState>, c: Caller) -> ApiResult<Json<Vec<AgentView>>> {
    let mut views = s.agents.view();
    if c.role() == Role::Provider {
        let own: Vec<CentreId> = s.store.centres(c.0.provider_id.as_ref()).await?.into_iter().map(|x| x.id).collect();
        views.retain(|v| own.contains(&v.centre_id));
    } else {
        c.require(&[Role::Operator, Role::Regulator])?;
    }
    Ok(Json(views))
}
