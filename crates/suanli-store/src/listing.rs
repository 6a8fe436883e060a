//! Pages of jobs, bills and audit records for the web's tables: filtered, searched, sorted, counted and cut in SQL, so a page covers every row the caller may see rather than the newest few.
//!
//! Every value is bound; only placeholders and fixed fragments reach the SQL text. The default
//! order (newest first) walks the primary key or the `(tenant_id, id)` / `(centre_id, id)` /
//! `(state, id)` indexes; the other orders sort the filtered set.

use crate::rows::{self, job_from_row};
use crate::{Audit, JobFilter, Store, StoreResult};
use sqlx::{AssertSqlSafe, Row};
use suanli_core::id::{AuditId, BillId, ProviderId, TenantId};
use suanli_core::job::Job;
use suanli_core::money::Fen;
use suanli_core::time::UnixMs;
use suanli_ledger::records::Bill;

/// The most rows one page (or one CSV export) may read.
pub const MAX_ROWS: u32 = 100_000;

/// A page of rows and how many match in all.
#[derive(Debug, Clone)]
pub struct Listed<T> {
    pub total: u64,
    pub rows: Vec<T>,
}

impl<T> Default for Listed<T> {
    fn default() -> Listed<T> {
        Listed { total: 0, rows: Vec::new() }
    }
}

/// Where a page starts, how long it is, and which way it is sorted.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cut {
    pub offset: u32,
    pub limit: u32,
    pub desc: bool,
}

/// What a job listing sorts by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum JobOrder {
    /// Submission order (ids are time-sortable).
    #[default]
    Id,
    Name,
    /// The lifecycle's order: pending, placed, running, succeeded, failed, cancelled.
    State,
    /// The centre's name (`centre_en`: its English name).
    Centre,
    /// What the tenant is billed.
    Charge,
    Voucher,
}

/// A job listing: the visibility filter, a search over ids and names, the order and the page.
#[derive(Debug, Clone, Default)]
pub struct JobListing {
    pub filter: JobFilter,
    /// Matches a job whose id starts with it (`job_…`), else whose name contains it (ASCII case
    /// ignored).
    pub search: String,
    /// Matches a job placed at a centre whose Chinese or English name contains it (ASCII case
    /// ignored).
    pub centre_name: String,
    pub order: JobOrder,
    pub centre_en: bool,
    pub cut: Cut,
}

/// A listed job with its centre's names and its bill, if any.
#[derive(Debug, Clone)]
pub struct JobLine {
    pub job: Job,
    /// The centre's Chinese and English names.
    pub centre: Option<(String, String)>,
    pub bill: Option<BilledPart>,
}

/// What a job's bill says the tenant pays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BilledPart {
    pub id: BillId,
    pub charge: Fen,
    pub voucher: Fen,
}

/// Placeholders for bound values.
#[derive(Default)]
pub(crate) struct Binds(Vec<String>);

impl Binds {
    pub(crate) fn push(&mut self, v: String) -> String {
        self.0.push(v);
        format!("${}", self.0.len())
    }

    pub(crate) fn apply<'q>(
        self,
        mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        for b in self.0 {
            q = q.bind(b);
        }
        q
    }
}

/// A `LIKE` pattern that finds `s` anywhere, its wildcards escaped (`ESCAPE '\'`).
fn contains(s: &str) -> String {
    let mut p = String::from("%");
    for c in s.trim().to_ascii_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The conditions of a job filter (shared with [`Store::jobs`]).
pub(crate) fn job_conds(filter: &JobFilter, b: &mut Binds) -> Vec<String> {
    let mut conds = Vec::new();
    if !filter.states.is_empty() {
        let ps: Vec<String> = filter.states.iter().map(|s| b.push(s.as_str().to_owned())).collect();
        conds.push(format!("j.state IN ({})", ps.join(", ")));
    }
    if let Some(t) = &filter.tenant_id {
        conds.push(format!("j.tenant_id = {}", b.push(t.to_string())));
    }
    if let Some(c) = &filter.centre_id {
        conds.push(format!("j.centre_id = {}", b.push(c.to_string())));
    }
    if let Some(p) = &filter.provider_id {
        conds.push(format!("j.centre_id IN (SELECT id FROM centres WHERE provider_id = {})", b.push(p.to_string())));
    }
    if let Some(before) = &filter.before {
        conds.push(format!("j.id < {}", b.push(before.to_string())));
    }
    conds
}

fn where_clause(conds: &[String]) -> String {
    if conds.is_empty() { String::new() } else { format!(" WHERE {}", conds.join(" AND ")) }
}

/// `ORDER BY` a key, then the newest first; a key that may be missing (`nullable`) puts the
/// missing last either way. The primary key alone (`key == tie`) is a plain index order.
fn order_by(key: &str, nullable: bool, desc: bool, tie: &str) -> String {
    let dir = if desc { "DESC" } else { "ASC" };
    if key == tie {
        format!(" ORDER BY {key} {dir}")
    } else if nullable {
        format!(" ORDER BY ({key}) IS NULL, {key} {dir}, {tie} DESC")
    } else {
        format!(" ORDER BY {key} {dir}, {tie} DESC")
    }
}

impl Store {
    /// Matching that ignores ASCII case without a function call per row: SQLite's `LIKE`
    /// already does; PostgreSQL's is `ILIKE`.
    fn like(&self) -> &'static str {
        match self.dialect() {
            crate::Dialect::Sqlite => "LIKE",
            crate::Dialect::Postgres => "ILIKE",
        }
    }

    /// One page of the jobs a filter (already narrowed to what the caller may see) matches.
    pub async fn job_listing(&self, l: &JobListing) -> StoreResult<Listed<JobLine>> {
        let mut b = Binds::default();
        let mut conds = job_conds(&l.filter, &mut b);
        let search = l.search.trim();
        if search.starts_with("job_") {
            // An id, or the start of one: a range of the primary key.
            let (lo, hi) = (b.push(search.to_ascii_lowercase()), b.push(format!("{}~", search.to_ascii_lowercase())));
            conds.push(format!("j.id >= {lo} AND j.id < {hi}"));
        } else if !search.is_empty() {
            conds.push(format!("j.name {} {} ESCAPE '\\'", self.like(), b.push(contains(search))));
        }
        if !l.centre_name.trim().is_empty() {
            let (like, p) = (self.like(), b.push(contains(&l.centre_name)));
            conds.push(format!(
                "j.centre_id IN (SELECT id FROM centres WHERE name {like} {p} ESCAPE '\\' OR name_en {like} {p} ESCAPE '\\')"
            ));
        }
        let w = where_clause(&conds);
        let count = AssertSqlSafe(format!("SELECT COUNT(*) FROM jobs j{w}"));
        let total: i64 = Binds(b.0.clone()).apply(sqlx::query(count)).fetch_one(&self.pool).await?.try_get(0)?;
        let centre = if l.centre_en { "c.name_en" } else { "c.name" };
        // The key, whether it may be missing, and the join it needs.
        const CENTRES: &str = " LEFT JOIN centres c ON c.id = j.centre_id";
        const BILLS: &str = " LEFT JOIN bills b ON b.job_id = j.id";
        let (key, nullable, join) = match l.order {
            JobOrder::Id => ("j.id", false, ""),
            JobOrder::Name => ("j.name", false, ""),
            JobOrder::State => (
                "CASE j.state WHEN 'pending' THEN 0 WHEN 'placed' THEN 1 WHEN 'running' THEN 2 WHEN 'succeeded' THEN 3 WHEN 'failed' THEN 4 ELSE 5 END",
                false,
                "",
            ),
            JobOrder::Centre => (centre, true, CENTRES),
            JobOrder::Charge => ("b.charge_fen", true, BILLS),
            JobOrder::Voucher => ("b.voucher_fen", true, BILLS),
        };
        let order = order_by(key, nullable, l.cut.desc, "j.id");
        // The page's ids first, over the jobs (and only the join its order needs), so that the
        // rows an offset skips are never joined; then those rows with their centre and bill.
        let bill_key = match l.order {
            JobOrder::Charge => Some("charge_fen"),
            JobOrder::Voucher => Some("voucher_fen"),
            _ => None,
        };
        let page = match bill_key {
            // Every job in bill order: the page's ids from the bills' index, not every job joined.
            Some(column) if conds.is_empty() => {
                let ids = self.ids_by_bill(column, &l.cut).await?;
                if ids.is_empty() {
                    return Ok(Listed { total: total.max(0) as u64, rows: Vec::new() });
                }
                ids.into_iter().map(|id| b.push(id)).collect::<Vec<_>>().join(", ")
            }
            _ => format!("SELECT j.id FROM jobs j{join}{w}{order} LIMIT {} OFFSET {}", l.cut.limit.clamp(1, MAX_ROWS), l.cut.offset),
        };
        let select = rows::JOB_SELECT.replacen(
            " FROM jobs j",
            &format!(", c.name, c.name_en, b.id, b.charge_fen, b.voucher_fen FROM jobs j{CENTRES}{BILLS}"),
            1,
        );
        let sql = format!("{select} WHERE j.id IN ({page}){order}");
        let rows = b.apply(sqlx::query(AssertSqlSafe(sql))).fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let centre = r.try_get::<Option<String>, _>(15)?.zip(r.try_get::<Option<String>, _>(16)?);
            let bill = match r.try_get::<Option<String>, _>(17)? {
                Some(id) => Some(BilledPart {
                    id: rows::parse_id(id)?,
                    charge: Fen(r.try_get::<i64, _>(18)?),
                    voucher: Fen(r.try_get::<i64, _>(19)?),
                }),
                None => None,
            };
            out.push(JobLine { job: job_from_row(r)?, centre, bill });
        }
        Ok(Listed { total: total.max(0) as u64, rows: out })
    }
}

impl Store {
    /// One page of every job's id in the order [`order_by`] gives a bill's `column` (billed jobs
    /// by it, ties newest first; then the unbilled jobs, newest first), read from the bills' index
    /// on `(column, job_id)` (migration 25) and, past the billed jobs, the jobs' primary key.
    async fn ids_by_bill(&self, column: &str, cut: &Cut) -> StoreResult<Vec<String>> {
        let (limit, offset) = (i64::from(cut.limit.clamp(1, MAX_ROWS)), i64::from(cut.offset));
        let billed: i64 = sqlx::query("SELECT COUNT(*) FROM bills").fetch_one(&self.pool).await?.try_get(0)?;
        let mut ids = Vec::new();
        if offset < billed {
            let dir = if cut.desc { "DESC" } else { "ASC" };
            let sql = format!("SELECT job_id FROM bills ORDER BY {column} {dir}, job_id DESC LIMIT {limit} OFFSET {offset}");
            for r in sqlx::query(AssertSqlSafe(sql)).fetch_all(&self.pool).await? {
                ids.push(r.try_get::<String, _>(0)?);
            }
        }
        let rest = limit - ids.len() as i64;
        if rest > 0 {
            let skip = (offset - billed).max(0);
            let sql = format!(
                "SELECT j.id FROM jobs j WHERE NOT EXISTS (SELECT 1 FROM bills b WHERE b.job_id = j.id) ORDER BY j.id DESC LIMIT {rest} OFFSET {skip}"
            );
            for r in sqlx::query(AssertSqlSafe(sql)).fetch_all(&self.pool).await? {
                ids.push(r.try_get::<String, _>(0)?);
            }
        }
        Ok(ids)
    }
}

/// What a bill listing sorts by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BillOrder {
    /// When billed (ids are time-sortable).
    #[default]
    Created,
    Job,
    Charge,
    Voucher,
    Cash,
    Rule,
}

/// A bill listing: whose, a search by bill or job id, a charge rule, the order and the page.
#[derive(Debug, Clone, Default)]
pub struct BillListing {
    pub tenant_id: Option<TenantId>,
    pub provider_id: Option<ProviderId>,
    pub search: String,
    /// A charge rule's code.
    pub rule: Option<String>,
    pub order: BillOrder,
    pub cut: Cut,
}

impl Store {
    /// One page of the bills a listing matches.
    pub async fn bill_listing(&self, l: &BillListing) -> StoreResult<Listed<Bill>> {
        let mut b = Binds::default();
        let mut conds = Vec::new();
        if let Some(t) = &l.tenant_id {
            conds.push(format!("tenant_id = {}", b.push(t.to_string())));
        }
        if let Some(p) = &l.provider_id {
            conds.push(format!("provider_id = {}", b.push(p.to_string())));
        }
        if let Some(r) = &l.rule {
            conds.push(format!("rule = {}", b.push(r.clone())));
        }
        if !l.search.trim().is_empty() {
            let p = b.push(contains(&l.search));
            let like = self.like();
            conds.push(format!("(id {like} {p} ESCAPE '\\' OR job_id {like} {p} ESCAPE '\\')"));
        }
        let w = where_clause(&conds);
        let total: i64 = Binds(b.0.clone())
            .apply(sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) FROM bills{w}"))))
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let key = match l.order {
            BillOrder::Created => "id",
            BillOrder::Job => "job_id",
            BillOrder::Charge => "charge_fen",
            BillOrder::Voucher => "voucher_fen",
            BillOrder::Cash => "cash_fen",
            BillOrder::Rule => "rule",
        };
        // The page's ids first (the skipped rows read from the index alone), then their rows.
        let order = order_by(key, false, l.cut.desc, "id");
        let page = format!("SELECT id FROM bills{w}{order} LIMIT {} OFFSET {}", l.cut.limit.clamp(1, MAX_ROWS), l.cut.offset);
        let sql = format!("{} WHERE id IN ({page}){order}", crate::vouchers::BILL_SELECT);
        let rows = b.apply(sqlx::query(AssertSqlSafe(sql))).fetch_all(&self.pool).await?;
        Ok(Listed { total: total.max(0) as u64, rows: rows.iter().map(crate::vouchers::bill_from_row).collect::<StoreResult<_>>()? })
    }
}

/// What an audit listing sorts by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuditOrder {
    /// When recorded (ids are time-sortable).
    #[default]
    Time,
    Actor,
    Action,
    Subject,
}

/// An audit listing: one action, actors containing words, one subject, any of action, actor and
/// subject containing the search, over a time window.
#[derive(Debug, Clone, Default)]
pub struct AuditListing {
    /// Exactly this action.
    pub action: Option<String>,
    pub actor: String,
    /// Exactly this subject (an id).
    pub subject: String,
    /// Matches a record whose action, actor or subject contains it.
    pub any: String,
    pub from_ms: Option<UnixMs>,
    pub to_ms: Option<UnixMs>,
    pub order: AuditOrder,
    pub cut: Cut,
}

impl Store {
    /// One page of the audit trail.
    pub async fn audit_listing(&self, l: &AuditListing) -> StoreResult<Listed<Audit>> {
        let mut b = Binds::default();
        let mut conds = Vec::new();
        if let Some(a) = &l.action {
            conds.push(format!("action = {}", b.push(a.clone())));
        }
        if !l.actor.trim().is_empty() {
            conds.push(format!("actor {} {} ESCAPE '\\'", self.like(), b.push(contains(&l.actor))));
        }
        // A subject is an id, read through its index.
        if !l.subject.trim().is_empty() {
            conds.push(format!("subject = {}", b.push(l.subject.trim().to_string())));
        }
        if !l.any.trim().is_empty() {
            let (p, like) = (b.push(contains(&l.any)), self.like());
            conds.push(format!("(action {like} {p} ESCAPE '\\' OR actor {like} {p} ESCAPE '\\' OR subject {like} {p} ESCAPE '\\')"));
        }
        // Ids start with their time, so a window is a range of the primary key as well (bound as
        // text and cast, as every other value here is text).
        if let Some(f) = l.from_ms {
            conds.push(format!("id >= {}", b.push(AuditId::generate(f, 0).as_str().to_string())));
            conds.push(format!("at_ms >= CAST({} AS BIGINT)", b.push(f.to_string())));
        }
        if let Some(t) = l.to_ms {
            conds.push(format!("id < {}", b.push(AuditId::generate(t + 1, 0).as_str().to_string())));
            conds.push(format!("at_ms < CAST({} AS BIGINT)", b.push(t.to_string())));
        }
        let w = where_clause(&conds);
        let total: i64 = Binds(b.0.clone())
            .apply(sqlx::query(AssertSqlSafe(format!("SELECT COUNT(*) FROM audit{w}"))))
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let key = match l.order {
            AuditOrder::Time => "id",
            AuditOrder::Actor => "actor",
            AuditOrder::Action => "action",
            AuditOrder::Subject => "subject",
        };
        let sql = format!(
            "SELECT id, at_ms, actor, action, subject, detail FROM audit{w}{} LIMIT {} OFFSET {}",
            order_by(key, false, l.cut.desc, "id"),
            l.cut.limit.clamp(1, MAX_ROWS),
            l.cut.offset
        );
        let rows = b.apply(sqlx::query(AssertSqlSafe(sql))).fetch_all(&self.pool).await?;
        Ok(Listed { total: total.max(0) as u64, rows: rows.iter().map(crate::audit_from_row).collect::<StoreResult<_>>()? })
    }
}
