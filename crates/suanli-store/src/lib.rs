//! Suanli's persistence: one store over SQLite (embedded default) or PostgreSQL, with one SQL dialect.
//!
//! Every statement is written once with `$1`-style placeholders, which both SQLite and
//! PostgreSQL accept through sqlx's `Any` driver. Money is BIGINT fen, time BIGINT unix ms,
//! flags BIGINT 0/1, structured fields JSON text, so no type differs between the two.
//!
//! Every state change commits in one transaction together with its audit record
//! (who, what, when). On SQLite, write transactions are serialised by a lock in this
//! process (SQLite has one writer anyway, and a deferred transaction that upgrades to a
//! writer can fail without retry); readers run concurrently in WAL mode.

pub mod backends;
mod checkpoint;
pub mod data;
pub mod earnings;
pub mod energy;
pub mod hosts;
pub mod incentives;
mod job_changes;
pub mod job_writer;
mod jobs;
pub mod lease;
pub mod ledger;
pub mod listing;
mod migrations;
pub mod models;
mod own_thread;
mod packed;
pub mod partners;
mod pool;
mod priority;
pub mod reconciliation;
mod rows;
mod segments;
pub mod spending;
mod to_bill;
pub mod vouchers;
mod write_conn;
pub mod write_stats;

pub use backends::BackendBinding;
pub use earnings::{EarningsRecords, EarningsRow, Source};
pub use job_changes::{EndRow, JobChanges, PlacementRow};
pub use job_writer::{JobWriter, WrittenJobs};
pub use jobs::{EndedRun, JobKey};
pub use lease::Fence;
pub use ledger::{Effect, LedgerAnswer, LedgerRequest, LedgerService, Plan, Precondition, ProgrammeClose, StoredAccount};
pub use own_thread::spawn_writer;
use pool::open_pool;
use rows::{centre_from_row, pool_from_row, tenant_from_row};
use serde::Serialize;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, AssertSqlSafe, Row, Transaction};
use std::path::Path;
use std::sync::Arc;
use suanli_core::centre::{Centre, PartnerStatus, Pool, Provider};
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{AuditId, CentreId, JobId, PoolId, ProviderId, TenantId, UserId};
use suanli_core::job::JobState;
use suanli_core::money::Fen;
use suanli_core::tenant::{Principal, Role, Tenant};
use suanli_core::time::UnixMs;
pub use to_bill::ToBill;
pub use vouchers::{BillFilter, ProgrammeTotals, TenantMoney, VoucherMoney};
pub use write_stats::{WriteFigures, Writer};

/// What went wrong in the store: a domain error the caller should show, or a database failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Domain(#[from] Error),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Whether the database could not be reached or could not take writes at the moment (its
    /// connection broke, no connection could be had, it is shutting down, starting up or is a
    /// standby): a condition that passes, so a client should retry rather than give up.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Db(e) => match e {
                sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => true,
                // Connection exceptions (08…), operator intervention (57P01-57P03: shutdown,
                // crash, cannot connect now), and a read-only transaction on a standby (25006).
                sqlx::Error::Database(d) => {
                    d.code().is_some_and(|c| c.starts_with("08") || ["57P01", "57P02", "57P03", "25006"].contains(&c.as_ref()))
                }
                _ => false,
            },
            _ => false,
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// One audit record, written in the same transaction as the change it describes.
#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    pub id: AuditId,
    pub at_ms: UnixMs,
    /// Who: "operator:usr_…", "system:dispatch", ...
    pub actor: String,
    /// What: "job.submit", "job.placed", "centre.create", ...
    pub action: String,
    /// The id of the thing changed.
    pub subject: String,
    pub detail: serde_json::Value,
}

/// A user and the hash of one bearer token for it.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub name: String,
    pub role: Role,
    pub tenant_id: Option<TenantId>,
    pub provider_id: Option<ProviderId>,
    pub token_sha256_hex: String,
    pub created_ms: UnixMs,
}

/// Filters for listing jobs; results come newest first.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub states: Vec<JobState>,
    pub tenant_id: Option<TenantId>,
    pub centre_id: Option<CentreId>,
    /// Only jobs placed in centres of this provider.
    pub provider_id: Option<ProviderId>,
    /// Only jobs with ids below this one (the previous page's last id).
    pub before: Option<JobId>,
    pub limit: u32,
}

/// A user from `id, name, role, tenant_id, provider_id`.
fn principal_from_row(r: &sqlx::any::AnyRow) -> StoreResult<Principal> {
    let role: String = r.get(2);
    Ok(Principal {
        user_id: rows::parse_id(r.get::<String, _>(0))?,
        name: r.get(1),
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role '{role}'")))?,
        tenant_id: r.get::<Option<String>, _>(3).map(rows::parse_id).transpose()?,
        provider_id: r.get::<Option<String>, _>(4).map(rows::parse_id).transpose()?,
    })
}

/// An audit record from `id, at_ms, actor, action, subject, detail`.
pub(crate) fn audit_from_row(r: &sqlx::any::AnyRow) -> StoreResult<Audit> {
    let detail: String = r.get(5);
    Ok(Audit {
        id: rows::parse_id(r.get::<String, _>(0))?,
        at_ms: r.get(1),
        actor: r.get(2),
        action: r.get(3),
        subject: r.get(4),
        detail: serde_json::from_str(&detail).map_err(|e| StoreError::Corrupt(e.to_string()))?,
    })
}

/// Connection settings beyond the URL.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// PostgreSQL only: a schema to create and use (tests isolate themselves this way).
    pub pg_schema: Option<String>,
    pub max_connections: Option<u32>,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    /// Where write transactions run. SQLite: a pool that opens the one connection of their own
    /// (held by `write_lock`), so that its page cache lives from one commit to the next (in WAL
    /// mode a connection drops its whole cache when it begins after another connection's
    /// commit, and the pool's connections take turns). PostgreSQL: the pool itself.
    writer: AnyPool,
    dialect: Dialect,
    /// SQLite: the writer lock, which owns the writer's connection (opened from `writer`; see
    /// write_conn.rs). PostgreSQL serialises writers with row locks.
    write_lock: Option<Arc<write_conn::Writer>>,
    /// When set (PostgreSQL), every write transaction first checks this replica's lease.
    fence: Option<Arc<Fence>>,
    /// SQLite: the task that checkpoints the WAL (see checkpoint.rs), stopped with the last copy.
    _checkpoints: Option<Arc<checkpoint::Checkpointer>>,
    /// Write transactions by writer: how many, their wait to begin, their time open.
    write_stats: Arc<write_stats::WriteStats>,
    /// PostgreSQL: what is added to a transaction id to make a job change number (see
    /// job_changes.rs); 0 on SQLite.
    job_seq_base: i64,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dialect", &self.dialect).finish()
    }
}

/// The write transaction of a store: holds the SQLite writer lock while it lives.
pub struct WriteTx<'s> {
    /// On SQLite it holds the writer lock while it lives.
    tx: write_conn::TxConn<'s>,
    dialect: Dialect,
    /// The change sequence number this transaction stamps on the jobs it writes, taken at its
    /// first job write (see [`WriteTx::job_change_seq`]) or read with its commit.
    job_seq: job_changes::Stamp,
    /// The store's [`Store::job_seq_base`].
    job_seq_base: i64,
    /// Adds the time this transaction is open to its writer's total when it ends.
    _open: write_stats::OpenTimer,
}

/// [`Store::pools`] on a connection (a snapshot's, see [`Store::read_snapshot`]).
pub(crate) async fn pools_on(c: &mut sqlx::AnyConnection) -> StoreResult<Vec<Pool>> {
    let rows = sqlx::query(rows::POOL_SELECT_ALL).fetch_all(c).await?;
    rows.iter().map(pool_from_row).collect()
}

impl Store {
    /// Opens (creating if needed) the embedded SQLite store in a data directory.
    pub async fn open_dir(dir: &Path) -> StoreResult<Store> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Corrupt(format!("cannot create data directory {}: {e}", dir.display())))?;
        let file = dir.join("suanli.db");
        Store::connect(&format!("sqlite://{}?mode=rwc", file.display()), StoreOptions::default()).await
    }

    /// Connects to `sqlite://…` or `postgres://…` and runs the migrations.
    pub async fn connect(url: &str, options: StoreOptions) -> StoreResult<Store> {
        install_default_drivers();
        let dialect = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else {
            return Err(StoreError::Domain(Error::new(ErrorCode::Internal, "DATABASE_URL must start with postgres:// or sqlite:")));
        };
        // A PostgreSQL URL may name several hosts (a primary and its standbys): the store writes
        // to whichever is the primary and follows a promotion (see hosts.rs).
        let hosts = match dialect {
            Dialect::Postgres => Some(hosts::Hosts::parse(url)?),
            Dialect::Sqlite => None,
        };
        let (url, current) = match &hosts {
            Some(h) if h.urls.len() > 1 => {
                let i = hosts::find_primary(h, 0).await.ok_or_else(|| {
                    StoreError::Domain(Error::new(ErrorCode::Unavailable, "DATABASE_URL: none of its hosts accepts writes (no primary)"))
                })?;
                (h.urls[i].clone(), i)
            }
            Some(h) => (h.urls[0].clone(), 0),
            None => (url.to_owned(), 0),
        };
        if let (Dialect::Postgres, Some(schema)) = (dialect, &options.pg_schema) {
            check_schema_name(schema)?;
            let admin = AnyPoolOptions::new().max_connections(1).connect(&url).await?;
            sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {schema}"))).execute(&admin).await?;
            admin.close().await;
        }
        let pool = open_pool(&url, dialect, &options, true).await?;
        if let Some(h) = hosts.filter(|h| h.urls.len() > 1) {
            hosts::watch(pool.clone(), h, current);
        }
        let writer = match dialect {
            Dialect::Sqlite => open_pool(&url, dialect, &StoreOptions { max_connections: Some(1), ..options.clone() }, false).await?,
            Dialect::Postgres => pool.clone(),
        };
        let checkpoints = (dialect == Dialect::Sqlite).then(|| Arc::new(checkpoint::start(pool.clone())));
        let write_lock = (dialect == Dialect::Sqlite).then(|| Arc::new(write_conn::Writer::new(writer.clone())));
        let mut store = Store {
            pool,
            writer,
            dialect,
            write_lock,
            fence: None,
            _checkpoints: checkpoints,
            write_stats: Arc::default(),
            job_seq_base: 0,
        };
        migrations::run(&store).await?;
        store.job_seq_base = store.read_job_seq_base().await?;
        Ok(store)
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The clause that tells SQLite which index a query reads (with no statistics gathered it
    /// may pick a worse one); nothing on PostgreSQL, which plans from its statistics.
    pub(crate) fn indexed_by(&self, index: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!(" INDEXED BY {index}"),
            Dialect::Postgres => String::new(),
        }
    }

    /// Drops a test schema (PostgreSQL). Used by tests to clean up after themselves.
    pub async fn drop_schema(url: &str, schema: &str) -> StoreResult<()> {
        check_schema_name(schema)?;
        install_default_drivers();
        let admin = AnyPoolOptions::new().max_connections(1).connect(url).await?;
        sqlx::query(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))).execute(&admin).await?;
        admin.close().await;
        Ok(())
    }

    pub async fn close(&self) {
        if let Some(w) = &self.write_lock {
            w.close().await;
        }
        self.writer.close().await;
        self.pool.close().await;
    }

    /// Begins a write transaction (taking the SQLite writer lock first; PostgreSQL writers run
    /// concurrently); on a fenced store it fails with `not_leader` unless this replica leads.
    pub async fn begin(&self) -> StoreResult<WriteTx<'_>> {
        self.begin_as(Writer::Other).await
    }

    /// [`Store::begin`] for `writer`, whose transactions are counted apart ([`Store::write_figures`]).
    pub async fn begin_as(&self, writer: Writer) -> StoreResult<WriteTx<'_>> {
        let asked = std::time::Instant::now();
        // SQLite: take the database's write lock at BEGIN, waiting for it (busy_timeout). A
        // deferred transaction that reads first and then writes fails at once with `database is
        // locked` when another connection still holds the lock (a dropped transaction's rollback
        // runs later, on its connection), because SQLite does not wait to upgrade a reader.
        let tx = match &self.write_lock {
            Some(w) => write_conn::TxConn::Own(w.begin("BEGIN IMMEDIATE").await?),
            None => {
                let mut tx = self.writer.begin().await?;
                if let Some(fence) = &self.fence {
                    lease::check(&mut tx, fence).await?;
                }
                write_conn::TxConn::Pooled(tx)
            }
        };
        Ok(WriteTx {
            tx,
            dialect: self.dialect,
            job_seq: job_changes::Stamp::None,
            job_seq_base: self.job_seq_base,
            _open: self.write_stats.begun(writer, asked),
        })
    }

    /// Every writer's write transactions since the store was opened (shared by its copies).
    pub fn write_figures(&self) -> Vec<(Writer, WriteFigures)> {
        self.write_stats.figures()
    }

    /// Begins a read-only transaction whose statements all see one committed state: reads that
    /// are compared or combined (balances with their history, bills with their postings, a
    /// programme's spent with its held) must not straddle a writer's commit. PostgreSQL's default
    /// (read committed) takes a new snapshot per statement, so this asks for repeatable read; a
    /// SQLite read transaction in WAL mode keeps the snapshot of its first read. End it with
    /// `rollback` (it wrote nothing).
    pub(crate) async fn read_snapshot(&self) -> StoreResult<Transaction<'static, Any>> {
        let mut tx = self.pool.begin().await?;
        if self.dialect == Dialect::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
        }
        Ok(tx)
    }

    /// Answers whether the database is reachable.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    // ----- meta -----

    pub async fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = $1").bind(key.to_owned()).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.get::<String, _>(0)))
    }

    /// Sets a meta value in a transaction of its own.
    pub async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.set_meta(key, value).await?;
        tx.commit().await
    }

    // ----- providers -----

    pub async fn providers(&self) -> StoreResult<Vec<Provider>> {
        let rows = sqlx::query("SELECT id, name, name_en, uscc, region, sme FROM providers ORDER BY id").fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let registration = match (r.try_get::<Option<String>, _>(3)?, r.try_get::<Option<String>, _>(4)?) {
                    (Some(uscc), Some(region)) => Some(suanli_core::centre::Registration {
                        uscc: suanli_core::ident::Uscc::parse(&uscc)
                            .map_err(|_| StoreError::Corrupt(format!("provider credit code '{uscc}'")))?,
                        region,
                        sme: r.try_get::<i64, _>(5)? != 0,
                    }),
                    _ => None,
                };
                Ok(Provider { id: rows::parse_id(r.get::<String, _>(0))?, name: r.get(1), name_en: r.get(2), registration })
            })
            .collect()
    }

    pub async fn provider(&self, id: &ProviderId) -> StoreResult<Option<Provider>> {
        Ok(self.providers().await?.into_iter().find(|p| &p.id == id))
    }

    // ----- centres and pools -----

    pub async fn centres(&self, provider: Option<&ProviderId>) -> StoreResult<Vec<Centre>> {
        let rows = match provider {
            Some(p) => sqlx::query(rows::CENTRE_SELECT_BY_PROVIDER).bind(p.to_string()).fetch_all(&self.pool).await?,
            None => sqlx::query(rows::CENTRE_SELECT_ALL).fetch_all(&self.pool).await?,
        };
        rows.iter().map(centre_from_row).collect()
    }

    pub async fn centre(&self, id: &CentreId) -> StoreResult<Option<Centre>> {
        let row = sqlx::query(rows::CENTRE_SELECT_ONE).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(centre_from_row).transpose()
    }

    pub async fn pools(&self) -> StoreResult<Vec<Pool>> {
        pools_on(&mut *self.pool.acquire().await?).await
    }

    pub async fn pools_of(&self, centre: &CentreId) -> StoreResult<Vec<Pool>> {
        let rows = sqlx::query(rows::POOL_SELECT_BY_CENTRE).bind(centre.to_string()).fetch_all(&self.pool).await?;
        rows.iter().map(pool_from_row).collect()
    }

    // ----- tenants -----

    /// Accelerators held by running jobs, per centre and pool (of one centre, or of all): read
    /// from the running jobs' partial covering index (migration 29) in its order, which SQLite
    /// is told.
    pub async fn busy_accelerators(&self, centre: Option<&CentreId>) -> StoreResult<Vec<(CentreId, PoolId, i64)>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT centre_id, pool_id, CAST(SUM(accelerators) AS BIGINT) FROM jobs{} \
             WHERE state = 'running' AND pool_id IS NOT NULL{} GROUP BY centre_id, pool_id",
            self.indexed_by("jobs_running_by_pool"),
            if centre.is_some() { " AND centre_id = $1" } else { "" }
        )));
        let rows = match centre {
            Some(c) => rows.bind(c.to_string()),
            None => rows,
        }
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((rows::parse_id(r.get::<String, _>(0))?, rows::parse_id(r.get::<String, _>(1))?, r.get::<i64, _>(2))))
            .collect()
    }

    /// How many jobs the store holds.
    pub async fn jobs_count(&self) -> StoreResult<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM jobs").fetch_one(&self.pool).await?.get::<i64, _>(0))
    }

    pub async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        let rows = sqlx::query(rows::TENANT_SELECT_ALL).fetch_all(&self.pool).await?;
        rows.iter().map(tenant_from_row).collect()
    }

    pub async fn tenant(&self, id: &TenantId) -> StoreResult<Option<Tenant>> {
        let row = sqlx::query(rows::TENANT_SELECT_ONE).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(tenant_from_row).transpose()
    }

    // ----- users and tokens -----

    /// The principal a token hash belongs to, if any.
    pub async fn principal_by_token(&self, token_sha256_hex: &str) -> StoreResult<Option<Principal>> {
        let row = sqlx::query(
            "SELECT u.id, u.name, u.role, u.tenant_id, u.provider_id FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = $1",
        )
        .bind(token_sha256_hex.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(principal_from_row).transpose()
    }

    /// The user of a live web session (not revoked, not expired at `now_ms`), by the session id's SHA-256.
    pub async fn session_principal(&self, id_sha256_hex: &str, now_ms: i64) -> StoreResult<Option<Principal>> {
        let row = sqlx::query(
            "SELECT u.id, u.name, u.role, u.tenant_id, u.provider_id FROM web_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.revoked_ms IS NULL AND s.expires_ms > $2",
        )
        .bind(id_sha256_hex.to_owned())
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(principal_from_row).transpose()
    }

    pub async fn user_count(&self) -> StoreResult<i64> {
        Ok(sqlx::query("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?.get::<i64, _>(0))
    }

    // ----- audit -----

    /// The newest audit records, optionally about one subject.
    pub async fn audit_log(&self, subject: Option<&str>, limit: u32) -> StoreResult<Vec<Audit>> {
        let limit = limit.clamp(1, 1000);
        let rows = match subject {
            Some(s) => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT id, at_ms, actor, action, subject, detail FROM audit WHERE subject = $1 ORDER BY id DESC LIMIT {limit}"
                )))
                .bind(s.to_owned())
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT id, at_ms, actor, action, subject, detail FROM audit ORDER BY id DESC LIMIT {limit}"
                )))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(audit_from_row).collect()
    }
}

impl WriteTx<'_> {
    /// Opens a web session: only the SHA-256 of its id is stored.
    pub async fn insert_session(&mut self, id_sha256_hex: &str, user: &UserId, created_ms: i64, expires_ms: i64) -> StoreResult<()> {
        sqlx::query("INSERT INTO web_sessions (id_hash, user_id, created_ms, expires_ms) VALUES ($1, $2, $3, $4)")
            .bind(id_sha256_hex.to_owned())
            .bind(user.to_string())
            .bind(created_ms)
            .bind(expires_ms)
            .execute(self.tx.conn().await?)
            .await?;
        Ok(())
    }

    /// Revokes a web session; whether it was live.
    pub async fn revoke_session(&mut self, id_sha256_hex: &str, at_ms: i64) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE web_sessions SET revoked_ms = $1 WHERE id_hash = $2 AND revoked_ms IS NULL")
            .bind(at_ms)
            .bind(id_sha256_hex.to_owned())
            .execute(self.tx.conn().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn commit(self) -> StoreResult<()> {
        self.tx.commit().await?;
        Ok(())
    }

    /// The transaction's connection, for SQL that is not the product's: the ledger benchmark's
    /// naive ledger runs its own tables in a scratch store, under the same writer lock.
    pub async fn connection(&mut self) -> StoreResult<&mut sqlx::AnyConnection> {
        self.tx.conn().await
    }

    pub async fn audit(&mut self, a: &Audit) -> StoreResult<()> {
        sqlx::query("INSERT INTO audit (id, at_ms, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(a.id.to_string())
            .bind(a.at_ms)
            .bind(a.actor.clone())
            .bind(a.action.clone())
            .bind(a.subject.clone())
            .bind(a.detail.to_string())
            .execute(self.tx.conn().await?)
            .await?;
        Ok(())
    }

    pub async fn set_meta(&mut self, key: &str, value: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key.to_owned())
            .bind(value.to_owned())
            .execute(self.tx.conn().await?)
            .await?;
        Ok(())
    }

    pub async fn insert_provider(&mut self, p: &Provider, created_ms: UnixMs) -> StoreResult<()> {
        let reg = p.registration.as_ref();
        sqlx::query("INSERT INTO providers (id, name, name_en, created_ms, uscc, region, sme) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(p.id.to_string())
            .bind(p.name.clone())
            .bind(p.name_en.clone())
            .bind(created_ms)
            .bind(reg.map(|r| r.uscc.as_str().to_string()))
            .bind(reg.map(|r| r.region.clone()))
            .bind(reg.map_or(0_i64, |r| i64::from(r.sme)))
            .execute(self.tx.conn().await?)
            .await?;
        Ok(())
    }

    /// Sets a provider's enterprise registration (its credit code, district and SME flag).
    pub async fn set_provider_registration(&mut self, id: &ProviderId, r: &suanli_core::centre::Registration) -> StoreResult<()> {
        let done = sqlx::query("UPDATE providers SET uscc = $1, region = $2, sme = $3 WHERE id = $4")
            .bind(r.uscc.as_str().to_string())
            .bind(r.region.clone())
            .bind(i64::from(r.sme))
            .bind(id.to_string())
            .execute(self.tx.conn().await?)
            .await?;
        if done.rows_affected() == 1 {
            Ok(())
        } else {
            Err(StoreError::Domain(Error::new(ErrorCode::ProviderNotFound, format!("no provider {id}"))))
        }
    }

    /// Registers a centre; its initial partner status is the first entry of its history, at its
    /// creation, made `by` whoever registered it.
    pub async fn insert_centre(&mut self, c: &Centre, by: &str) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO centres (id, provider_id, name, name_en, kind, region, partner_status, commissioned_ms, declared_pue, racks, rtt_json, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(c.id.to_string())
        .bind(c.provider_id.to_string())
        .bind(c.name.clone())
        .bind(c.name_en.clone())
        .bind(c.kind.as_str())
        .bind(c.region.clone())
        .bind(c.partner_status.as_str())
        .bind(c.commissioned_ms)
        .bind(c.declared_pue)
        .bind(c.racks as i64)
        .bind(serde_json::to_string(&c.rtt_ms).unwrap_or_default())
        .bind(c.created_ms)
        .execute(self.tx.conn().await?)
        .await?;
        self.registry_changed().await?;
        self.record_partner_change(
            &c.id,
            None,
            c.partner_status,
            &partners::ChangeBy { at_ms: c.created_ms, by, reason: None, reasons: &[] },
        )
        .await
    }

    /// Sets a centre's partner status and records the change in its history, with who made it,
    /// when and why; returns the status it had.
    pub async fn set_partner_status(
        &mut self,
        id: &CentreId,
        status: PartnerStatus,
        change: &partners::ChangeBy<'_>,
    ) -> StoreResult<PartnerStatus> {
        let row = sqlx::query("SELECT partner_status FROM centres WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.tx.conn().await?)
            .await?;
        let old: String = row.ok_or_else(|| Error::new(ErrorCode::CentreNotFound, format!("no centre {id}")))?.get(0);
        sqlx::query("UPDATE centres SET partner_status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(id.to_string())
            .execute(self.tx.conn().await?)
            .await?;
        self.registry_changed().await?;
        let old = PartnerStatus::parse(&old).ok_or_else(|| StoreError::Corrupt(format!("partner status '{old}'")))?;
        self.record_partner_change(id, Some(old), status, change).await?;
        Ok(old)
    }

    /// Sets a pool's price and partner discount; the pool as it was before (`pool_not_found` if
    /// there is none). Bills keep the price they were charged at.
    pub async fn set_pool_price(&mut self, id: &PoolId, price_per_hour: Fen, partner_discount_pct: u8) -> StoreResult<Pool> {
        let row = sqlx::query(
            "SELECT id, centre_id, accelerator, nodes, accelerators_per_node, price_fen_per_hour, partner_discount_pct, created_ms \
             FROM pools WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(self.tx.conn().await?)
        .await?
        .ok_or_else(|| Error::new(ErrorCode::PoolNotFound, format!("no pool {id}")))?;
        let before = pool_from_row(&row)?;
        sqlx::query("UPDATE pools SET price_fen_per_hour = $1, partner_discount_pct = $2 WHERE id = $3")
            .bind(price_per_hour.0)
            .bind(partner_discount_pct as i64)
            .bind(id.to_string())
            .execute(self.tx.conn().await?)
            .await?;
        self.registry_changed().await?;
        Ok(before)
    }

    pub async fn insert_pool(&mut self, p: &Pool) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO pools (id, centre_id, accelerator, nodes, accelerators_per_node, price_fen_per_hour, partner_discount_pct, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(p.id.to_string())
        .bind(p.centre_id.to_string())
        .bind(p.accelerator.clone())
        .bind(p.nodes as i64)
        .bind(p.accelerators_per_node as i64)
        .bind(p.price_per_hour.0)
        .bind(p.partner_discount_pct as i64)
        .bind(p.created_ms)
        .execute(self.tx.conn().await?)
        .await?;
        self.registry_changed().await
    }

    /// Inserts a tenant; a second tenant with the same credit code is `duplicate_uscc`.
    pub async fn insert_tenant(&mut self, t: &Tenant) -> StoreResult<()> {
        let exists = sqlx::query("SELECT id FROM tenants WHERE uscc = $1")
            .bind(t.uscc.as_str().to_owned())
            .fetch_optional(self.tx.conn().await?)
            .await?;
        if let Some(r) = exists {
            let other: String = r.get(0);
            return Err(Error::new(
                ErrorCode::DuplicateUscc,
                format!("unified social credit code {} is already registered as tenant {other}", t.uscc.as_str()),
            )
            .into());
        }
        sqlx::query("INSERT INTO tenants (id, name, name_en, uscc, sme, region, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(t.id.to_string())
            .bind(t.name.clone())
            .bind(t.name_en.clone())
            .bind(t.uscc.as_str().to_owned())
            .bind(t.sme as i64)
            .bind(t.region.clone())
            .bind(t.created_ms)
            .execute(self.tx.conn().await?)
            .await?;
        Ok(())
    }

    pub async fn insert_user(&mut self, u: &NewUser) -> StoreResult<()> {
        sqlx::query("INSERT INTO users (id, name, role, tenant_id, provider_id, created_ms) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(u.id.to_string())
            .bind(u.name.clone())
            .bind(u.role.as_str())
            .bind(u.tenant_id.as_ref().map(|t| t.to_string()))
            .bind(u.provider_id.as_ref().map(|p| p.to_string()))
            .bind(u.created_ms)
            .execute(self.tx.conn().await?)
            .await?;
        self.insert_token(&u.id, &u.token_sha256_hex, u.created_ms).await
    }

    pub async fn insert_token(&mut self, user: &UserId, token_sha256_hex: &str, created_ms: UnixMs) -> StoreResult<()> {
        sqlx::query("INSERT INTO tokens (hash, user_id, created_ms) VALUES ($1, $2, $3)")
            .bind(token_sha256_hex.to_owned())
            .bind(user.to_string())
            .bind(created_ms)
            .execute(self.tx.conn().await?)
            .await?;
        Ok(())
    }

    /// The users with a role (and, for demo token minting, their bindings).
    pub async fn users_with_role(&mut self, role: Role) -> StoreResult<Vec<(UserId, Option<TenantId>, Option<ProviderId>)>> {
        let rows = sqlx::query("SELECT id, tenant_id, provider_id FROM users WHERE role = $1 ORDER BY id")
            .bind(role.as_str())
            .fetch_all(self.tx.conn().await?)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    rows::parse_id(r.get::<String, _>(0))?,
                    r.get::<Option<String>, _>(1).map(rows::parse_id).transpose()?,
                    r.get::<Option<String>, _>(2).map(rows::parse_id).transpose()?,
                ))
            })
            .collect()
    }
}

fn check_schema_name(schema: &str) -> StoreResult<()> {
    if schema.is_empty() || schema.len() > 60 || !schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
        return Err(Error::new(ErrorCode::Internal, "schema names are lowercase letters, digits and underscores").into());
    }
    Ok(())
}
