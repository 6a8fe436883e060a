//! The leader lease in the store: one conditional statement acquires or renews it by the database's clock, and fenced write transactions check it first.
//!
//! PostgreSQL: `leader_lease` holds one row per lease (`dispatch`); a replica takes it when it
//! is free or expired (the term, the fencing token, goes up by one) in one `INSERT … ON CONFLICT
//! DO UPDATE … WHERE` statement, and renews it while it holds it in an `UPDATE` of its expiry,
//! both timed by `clock_timestamp()`, so the replicas' own clocks do not matter. A fenced store begins every write transaction by
//! locking that row `FOR KEY SHARE` and checking that it still carries this replica's term and
//! has not expired: a lease cannot change hands while such a transaction is open, and an
//! ex-leader's transaction begun after the change fails with `not_leader`.
//!
//! The term is a key column (a unique index holds it), so only a change of term, a new holder
//! or a lapsed lease taken again, conflicts with those locks and waits for the transactions open.
//! The holder's renewal sets a later expiry alone, which does not wait for them. (With `FOR
//! SHARE`, a renewal waited until no write at all was open: about 240 ms a time under `bench e2e`
//! on PostgreSQL, and a lease renewed too late under more load would lapse.)
//! SQLite has one process, which is always leader with term 1; the table exists there but is not
//! used.

use crate::{Dialect, Store, StoreError, StoreResult};
use sqlx::Row;
use std::sync::Mutex;
use std::time::Instant;
use suanli_core::error::{Error, ErrorCode};
use suanli_core::lease::{Belief, LeaseTerms};

/// The one lease this slice uses: who runs the dispatch engine's rounds and sweeps.
pub const DISPATCH_LEASE: &str = "dispatch";

/// The database's clock in unix ms (PostgreSQL).
const PG_NOW_MS: &str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT";

/// A replica's hold on the lease: its id, what it believes, and the clock it believes it by.
#[derive(Debug)]
pub struct Fence {
    name: String,
    holder: String,
    terms: LeaseTerms,
    /// SQLite: always leader, term 1.
    always: bool,
    origin: Instant,
    belief: Mutex<Belief>,
    /// The address this replica serves at, written into the lease while it leads.
    url: Mutex<String>,
    /// The current leader as last read from the lease: (holder, url); none when it has expired.
    leader: Mutex<Option<(String, String)>>,
}

impl Fence {
    /// A replica `holder` that leads only while the store grants it the lease.
    pub fn new(holder: impl Into<String>, terms: LeaseTerms) -> Fence {
        Fence {
            name: DISPATCH_LEASE.into(),
            holder: holder.into(),
            terms,
            always: false,
            origin: Instant::now(),
            belief: Mutex::new(Belief::default()),
            url: Mutex::default(),
            leader: Mutex::default(),
        }
    }

    /// The one process of an embedded store: always leader, term 1.
    pub fn always(holder: impl Into<String>) -> Fence {
        Fence {
            always: true,
            belief: Mutex::new(Belief { term: 1, until_ms: Some(i64::MAX) }),
            ..Fence::new(holder, LeaseTerms::default())
        }
    }

    fn now_ms(&self) -> i64 {
        self.origin.elapsed().as_millis() as i64
    }

    fn belief(&self) -> Belief {
        *self.belief.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Sets the address this replica serves at (written into the lease from its next renewal).
    pub fn advertise(&self, url: impl Into<String>) {
        *self.url.lock().unwrap_or_else(|e| e.into_inner()) = url.into();
    }

    fn url(&self) -> String {
        self.url.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The leader as the lease named it at the last attempt: (replica, url), or none while the
    /// lease is expired or its holder has not yet said where it serves.
    pub fn leader(&self) -> Option<(String, String)> {
        if self.leads() {
            return Some((self.holder.clone(), self.url()));
        }
        self.leader.lock().unwrap_or_else(|e| e.into_inner()).clone().filter(|(_, url)| !url.is_empty())
    }

    pub fn terms(&self) -> LeaseTerms {
        self.terms
    }

    /// Whether this replica may act as leader now.
    pub fn leads(&self) -> bool {
        self.belief().leads(self.now_ms())
    }

    /// The term of the lease it holds or last held (0: never held one).
    pub fn term(&self) -> i64 {
        self.belief().term
    }

    /// The term to fence writes with now; 0 when not leading.
    fn fencing_term(&self) -> i64 {
        self.belief().fencing_term(self.now_ms())
    }
}

impl Store {
    /// The same store, with every write transaction fenced by `fence`'s lease (PostgreSQL).
    pub fn fenced(&self, fence: std::sync::Arc<Fence>) -> Store {
        Store { fence: Some(fence), ..self.clone() }
    }

    /// The lease term this store's replica believes it holds or last held (0 unfenced).
    pub fn fence_term(&self) -> i64 {
        self.fence.as_ref().map_or(0, |f| f.term())
    }

    /// Whether this store's replica may write now: unfenced stores always may.
    pub fn leads(&self) -> bool {
        self.fence.as_ref().is_none_or(|f| f.leads())
    }

    /// Acquires the lease when it is free or expired, renews it when `fence`'s replica holds
    /// it; records the answer in `fence` and answers whether it leads now.
    pub async fn lease_attempt(&self, fence: &Fence) -> bool {
        if fence.always {
            return true;
        }
        let sent = fence.now_ms();
        let granted = match self.lease_grant(fence).await {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!(error = %e, "the lease could not be acquired or renewed");
                None
            }
        };
        let (before, after) = {
            let mut b = fence.belief.lock().unwrap_or_else(|e| e.into_inner());
            let before = *b;
            *b = b.after_attempt(granted, sent, fence.terms);
            (before, *b)
        };
        let now = fence.now_ms();
        if !after.leads(now) {
            let leader = self.lease_leader().await.unwrap_or_else(|e| {
                tracing::warn!(error = %e, "the lease could not be read");
                None
            });
            *fence.leader.lock().unwrap_or_else(|e| e.into_inner()) = leader;
        }
        match (before.until_ms.is_some() && before.term == after.term, after.leads(now)) {
            (false, true) => tracing::info!(replica = %fence.holder, term = after.term, "this replica leads"),
            (true, false) => tracing::warn!(replica = %fence.holder, term = before.term, "this replica lost the lease; rounds stop"),
            _ => {}
        }
        after.leads(now)
    }

    /// The renewal, or else the conditional statement: the granted term, or `None` when another
    /// holds the lease.
    async fn lease_grant(&self, fence: &Fence) -> StoreResult<Option<i64>> {
        if self.dialect != Dialect::Postgres {
            return Ok(Some(1));
        }
        // The renewal first: the same term, so it does not wait for the writes open.
        let renew = format!(
            "UPDATE leader_lease SET expires_ms = {PG_NOW_MS} + $3, url = $4 WHERE name = $1 AND holder = $2 AND expires_ms > {PG_NOW_MS} \
             RETURNING term"
        );
        let take = format!(
            "INSERT INTO leader_lease (name, holder, term, expires_ms, url) VALUES ($1, $2, 1, {PG_NOW_MS} + $3, $4) \
             ON CONFLICT (name) DO UPDATE SET \
               term = CASE WHEN leader_lease.holder = EXCLUDED.holder AND leader_lease.expires_ms > {PG_NOW_MS} \
                      THEN leader_lease.term ELSE leader_lease.term + 1 END, \
               holder = EXCLUDED.holder, expires_ms = EXCLUDED.expires_ms, url = EXCLUDED.url \
             WHERE leader_lease.holder = EXCLUDED.holder OR leader_lease.expires_ms <= {PG_NOW_MS} \
             RETURNING term"
        );
        for sql in [renew, take] {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(fence.name.clone())
                .bind(fence.holder.clone())
                .bind(fence.terms.lease_ms)
                .bind(fence.url())
                .fetch_optional(&self.pool)
                .await?;
            if let Some(r) = row {
                return Ok(Some(r.get::<i64, _>(0)));
            }
        }
        Ok(None)
    }

    /// The lease's holder and its address while the lease runs (PostgreSQL); the address is
    /// empty until the holder has said where it serves.
    pub async fn lease_leader(&self) -> StoreResult<Option<(String, String)>> {
        if self.dialect != Dialect::Postgres {
            return Ok(None);
        }
        let sql = format!("SELECT holder, url FROM leader_lease WHERE name = $1 AND expires_ms > {PG_NOW_MS}");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(DISPATCH_LEASE).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }

    /// Gives the lease up (at a clean shutdown), so another replica takes over at once.
    pub async fn lease_release(&self, fence: &Fence) -> StoreResult<()> {
        *fence.belief.lock().unwrap_or_else(|e| e.into_inner()) = Belief { term: fence.term(), until_ms: None };
        if self.dialect != Dialect::Postgres || fence.always {
            return Ok(());
        }
        sqlx::query("UPDATE leader_lease SET expires_ms = 0 WHERE name = $1 AND holder = $2")
            .bind(fence.name.clone())
            .bind(fence.holder.clone())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The lease as the store holds it: (holder, term, expires_ms), for tests and tools.
    pub async fn lease_row(&self) -> StoreResult<Option<(String, i64, i64)>> {
        let row = sqlx::query("SELECT holder, term, expires_ms FROM leader_lease WHERE name = $1")
            .bind(DISPATCH_LEASE)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
    }
}

/// The first statements of a fenced write transaction: an ex-leader's transaction fails here.
pub(crate) async fn check(tx: &mut sqlx::Transaction<'static, sqlx::Any>, fence: &Fence) -> StoreResult<()> {
    let refused = || {
        StoreError::Domain(Error::new(
            ErrorCode::NotLeader,
            format!("replica {} does not hold the leader lease (term {}); the write was refused", fence.holder, fence.term()),
        ))
    };
    let term = fence.fencing_term();
    if term == 0 {
        return Err(refused());
    }
    // A paused process must not keep the lease row locked past its lease: the server ends a
    // transaction left idle this long.
    let idle = format!("SET LOCAL idle_in_transaction_session_timeout = {}", fence.terms.lease_ms.max(1_000));
    sqlx::query(sqlx::AssertSqlSafe(idle)).execute(&mut **tx).await?;
    let sql =
        format!("SELECT term FROM leader_lease WHERE name = $1 AND holder = $2 AND term = $3 AND expires_ms > {PG_NOW_MS} FOR KEY SHARE");
    let held = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(fence.name.clone())
        .bind(fence.holder.clone())
        .bind(term)
        .fetch_optional(&mut **tx)
        .await?;
    if held.is_none() {
        return Err(refused());
    }
    Ok(())
}
