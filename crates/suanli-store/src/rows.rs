//! Row mapping: the SELECT lists and the conversions from database rows to domain records.

use crate::{StoreError, StoreResult};
use sqlx::Row;
use sqlx::any::AnyRow;
use suanli_core::centre::{Centre, CentreKind, PartnerStatus, Pool};
use suanli_core::ident::Uscc;
use suanli_core::job::{Fault, Job, JobSpec, JobState};
use suanli_core::money::Fen;
use suanli_core::reason::{JobReason, StatedReason};
use suanli_core::tenant::Tenant;

/// Appends `rows` rows of `cols` numbered parameters each, `($1,…,$cols),($cols+1,…)`, to a
/// multi-row INSERT's `VALUES`, numbering from `$1`.
pub(crate) fn push_placeholder_rows(sql: &mut String, rows: usize, cols: usize) {
    use std::fmt::Write;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ",(" });
        for c in 0..cols {
            let _ = write!(sql, "{}${}", if c == 0 { "" } else { "," }, r * cols + c + 1);
        }
        sql.push(')');
    }
}

pub const CENTRE_SELECT_ALL: &str = "SELECT id, provider_id, name, name_en, kind, region, partner_status, commissioned_ms, declared_pue, racks, rtt_json, created_ms FROM centres ORDER BY id";
pub const CENTRE_SELECT_BY_PROVIDER: &str = "SELECT id, provider_id, name, name_en, kind, region, partner_status, commissioned_ms, declared_pue, racks, rtt_json, created_ms FROM centres WHERE provider_id = $1 ORDER BY id";
pub const CENTRE_SELECT_ONE: &str = "SELECT id, provider_id, name, name_en, kind, region, partner_status, commissioned_ms, declared_pue, racks, rtt_json, created_ms FROM centres WHERE id = $1";

pub const POOL_SELECT_ALL: &str = "SELECT id, centre_id, accelerator, nodes, accelerators_per_node, price_fen_per_hour, partner_discount_pct, created_ms FROM pools ORDER BY id";
pub const POOL_SELECT_BY_CENTRE: &str = "SELECT id, centre_id, accelerator, nodes, accelerators_per_node, price_fen_per_hour, partner_discount_pct, created_ms FROM pools WHERE centre_id = $1 ORDER BY id";

pub const TENANT_SELECT_ALL: &str = "SELECT id, name, name_en, uscc, sme, region, created_ms FROM tenants ORDER BY id";
pub const TENANT_SELECT_ONE: &str = "SELECT id, name, name_en, uscc, sme, region, created_ms FROM tenants WHERE id = $1";

pub const JOB_SELECT: &str = "SELECT j.id, j.tenant_id, j.state, j.spec_json, j.pool_id, j.centre_id, j.submitted_ms, j.placed_ms, j.started_ms, j.finished_ms, j.reason, j.usage_s, j.cost_fen, j.fault, j.reason_json FROM jobs j";
pub const JOB_SELECT_ONE: &str = "SELECT j.id, j.tenant_id, j.state, j.spec_json, j.pool_id, j.centre_id, j.submitted_ms, j.placed_ms, j.started_ms, j.finished_ms, j.reason, j.usage_s, j.cost_fen, j.fault, j.reason_json FROM jobs j WHERE j.id = $1";
pub const JOB_SELECT_ONE_FOR_UPDATE: &str = "SELECT j.id, j.tenant_id, j.state, j.spec_json, j.pool_id, j.centre_id, j.submitted_ms, j.placed_ms, j.started_ms, j.finished_ms, j.reason, j.usage_s, j.cost_fen, j.fault, j.reason_json FROM jobs j WHERE j.id = $1 FOR UPDATE";
/// Jobs written since a change number, with the number (column 14) last.
pub const JOB_SELECT_CHANGED: &str = "SELECT j.id, j.tenant_id, j.state, j.spec_json, j.pool_id, j.centre_id, j.submitted_ms, j.placed_ms, j.started_ms, j.finished_ms, j.reason, j.usage_s, j.cost_fen, j.fault, j.reason_json, j.change_seq FROM jobs j WHERE j.change_seq > $1 ORDER BY j.change_seq";
/// Jobs by state: completed with ` IN ('pending', …)` ([`crate::Store::jobs_in_states`]).
pub const JOB_SELECT_BY_STATE: &str = "SELECT j.id, j.tenant_id, j.state, j.spec_json, j.pool_id, j.centre_id, j.submitted_ms, j.placed_ms, j.started_ms, j.finished_ms, j.reason, j.usage_s, j.cost_fen, j.fault, j.reason_json FROM jobs j WHERE j.state";

/// Parses an id column; a malformed id in the database is corruption, not user error.
pub fn parse_id<T: TryFrom<String, Error = suanli_core::Error>>(s: String) -> StoreResult<T> {
    T::try_from(s).map_err(|e| StoreError::Corrupt(e.message))
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} '{value}'"))
}

pub fn centre_from_row(r: &AnyRow) -> StoreResult<Centre> {
    let kind: String = r.try_get(4)?;
    let status: String = r.try_get(6)?;
    let rtt: String = r.try_get(10)?;
    Ok(Centre {
        id: parse_id(r.try_get(0)?)?,
        provider_id: parse_id(r.try_get(1)?)?,
        name: r.try_get(2)?,
        name_en: r.try_get(3)?,
        kind: CentreKind::parse(&kind).ok_or_else(|| corrupt("centre kind", &kind))?,
        region: r.try_get(5)?,
        partner_status: PartnerStatus::parse(&status).ok_or_else(|| corrupt("partner status", &status))?,
        commissioned_ms: r.try_get(7)?,
        declared_pue: r.try_get(8)?,
        racks: r.try_get::<i64, _>(9)? as u32,
        rtt_ms: serde_json::from_str(&rtt).map_err(|_| corrupt("rtt", &rtt))?,
        created_ms: r.try_get(11)?,
    })
}

pub fn pool_from_row(r: &AnyRow) -> StoreResult<Pool> {
    Ok(Pool {
        id: parse_id(r.try_get(0)?)?,
        centre_id: parse_id(r.try_get(1)?)?,
        accelerator: r.try_get(2)?,
        nodes: r.try_get::<i64, _>(3)? as u32,
        accelerators_per_node: r.try_get::<i64, _>(4)? as u32,
        price_per_hour: Fen(r.try_get(5)?),
        partner_discount_pct: r.try_get::<i64, _>(6)? as u8,
        created_ms: r.try_get(7)?,
    })
}

pub fn tenant_from_row(r: &AnyRow) -> StoreResult<Tenant> {
    let uscc: String = r.try_get(3)?;
    Ok(Tenant {
        id: parse_id(r.try_get(0)?)?,
        name: r.try_get(1)?,
        name_en: r.try_get(2)?,
        uscc: Uscc::parse(&uscc).map_err(|_| corrupt("uscc", &uscc))?,
        sme: r.try_get::<i64, _>(4)? != 0,
        region: r.try_get(5)?,
        created_ms: r.try_get(6)?,
    })
}

/// A job's reason from its English text and its typed JSON: typed when the JSON reads (a row
/// written before reasons were typed, or by a newer build with a code this one does not know,
/// keeps its text alone).
pub(crate) fn stated_reason(text: Option<String>, typed: Option<String>) -> Option<StatedReason> {
    match typed.and_then(|t| serde_json::from_str::<JobReason>(&t).ok()) {
        Some(r) => Some(StatedReason::Typed(r)),
        None => text.map(StatedReason::Untyped),
    }
}

/// A reason as the store writes it: its English text and, when typed, its JSON.
pub fn reason_columns(r: Option<&StatedReason>) -> (Option<String>, Option<String>) {
    (r.map(ToString::to_string), r.and_then(StatedReason::typed).and_then(|t| serde_json::to_string(t).ok()))
}

pub fn job_from_row(r: &AnyRow) -> StoreResult<Job> {
    let state: String = r.try_get(2)?;
    let spec: String = r.try_get(3)?;
    let spec: JobSpec = serde_json::from_str(&spec).map_err(|e| StoreError::Corrupt(format!("job spec: {e}")))?;
    Ok(Job {
        id: parse_id(r.try_get(0)?)?,
        tenant_id: parse_id(r.try_get(1)?)?,
        state: JobState::parse(&state).ok_or_else(|| corrupt("job state", &state))?,
        spec,
        pool_id: r.try_get::<Option<String>, _>(4)?.map(parse_id).transpose()?,
        centre_id: r.try_get::<Option<String>, _>(5)?.map(parse_id).transpose()?,
        submitted_ms: r.try_get(6)?,
        placed_ms: r.try_get(7)?,
        started_ms: r.try_get(8)?,
        finished_ms: r.try_get(9)?,
        reason: stated_reason(r.try_get(10)?, r.try_get(14)?),
        usage_s: r.try_get(11)?,
        cost: r.try_get::<Option<i64>, _>(12)?.map(Fen),
        fault: r.try_get::<Option<String>, _>(13)?.map(|f| Fault::parse(&f).ok_or_else(|| corrupt("job fault", &f))).transpose()?,
    })
}
