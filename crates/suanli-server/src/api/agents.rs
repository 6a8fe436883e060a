//! Centre agents: long-polled assignments, status reports (also heartbeats), and the operator's view of who is connected.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, Query};
use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use std::time::Duration;
use suanli_core::error::ErrorCode;
use suanli_core::id::CentreId;
use suanli_core::tenant::Role;
use suanli_dispatch::agent::{AgentView, Assignments, Report};
use utoipa::IntoParams;

/// The centre an agent speaks for, if the caller may run its agent (its provider, or the operator).
async fn agent_centre(s: &AppState, c: &Caller, id: &str) -> ApiResult<CentreId> {
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
/// is work, or empty after `wait_ms`. Also counts as a heartbeat.
pub async fn assignments(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Query(q): Query<WaitQuery>,
) -> ApiResult<Json<Assignments>> {
    let centre = agent_centre(&s, &c, &id).await?;
    let wait = Duration::from_millis(q.wait_ms.unwrap_or(20_000).min(30_000));
    Ok(Json(s.agents.take(&centre, s.ids.now_ms(), wait).await))
}

#[derive(Debug, serde::Serialize)]
pub struct ReportAck {
    pub accepted: usize,
}

/// An agent's report: each job's status, what its backend holds, its capacity.
pub async fn report(
    State(s): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    JsonBody(r): JsonBody<Report>,
) -> ApiResult<Json<ReportAck>> {
    let centre = agent_centre(&s, &c, &id).await?;
    let accepted = s.agents.report(&centre, s.ids.now_ms(), r);
    s.engine.wake();
    Ok(Json(ReportAck { accepted }))
}

/// Connected agents: last heartbeat, capacity, work waiting (operator, regulator; a provider its own).
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
