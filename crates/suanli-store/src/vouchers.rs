//! Voucher programmes, applications, bills and statements: their rows, reads, and the writes that commit with ledger transfers.

use crate::rows::parse_id;
use crate::{Audit, Store, StoreError, StoreResult, WriteTx};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::{ApplicationId, BillId, JobId, ProgrammeId, ProviderId, StatementId, TenantId};
use suanli_core::money::Fen;
use suanli_core::time::{UnixMs, cst_day};
use suanli_ledger::records::{Application, ApplicationState, Bill, Programme, ProgrammeState, Statement};
use suanli_ledger::voucher::{ChargeRule, ProgrammeRules};

/// (provider, China Standard Time day, centre, settled) → (bills, earned, outstanding), in fen.
type DailySums = std::collections::BTreeMap<(String, i64, String, bool), (i64, i64, i64)>;
/// Bills a statement inserts: 19 parameters each, under every dialect's limit.
const BILLS_PER_INSERT: usize = 500;
const PROGRAMME_SELECT: &str = "SELECT id, name, rules_json, state, created_ms, closed_ms FROM voucher_programmes";
const APPLICATION_SELECT: &str = "SELECT id, programme_id, tenant_id, requested_fen, purpose, state, approved_fen, decision_reason, decided_by, decided_ms, created_ms FROM voucher_applications";
pub(crate) const BILL_SELECT: &str = "SELECT id, job_id, tenant_id, provider_id, centre_id, pool_id, programme_id, rule, usage_s, accelerators, price_fen_per_hour, discount_pct, ratio_pct, charge_fen, voucher_fen, cash_fen, outstanding_fen, created_ms, statement_id FROM bills";
const STATEMENT_SELECT: &str = "SELECT id, provider_id, from_ms, to_ms, bills, charge_fen, voucher_fen, cash_fen, outstanding_fen, settled_fen, transfer_id, created_ms, model_calls, data_deliveries FROM statements";

fn corrupt(what: &str, v: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} '{v}'"))
}

fn opt_id<T: TryFrom<String, Error = suanli_core::Error>>(v: Option<String>) -> StoreResult<Option<T>> {
    v.map(parse_id).transpose()
}

fn programme_from_row(r: &AnyRow) -> StoreResult<Programme> {
    let rules: String = r.try_get(2)?;
    let state: String = r.try_get(3)?;
    Ok(Programme {
        id: parse_id(r.try_get(0)?)?,
        name: r.try_get(1)?,
        rules: serde_json::from_str::<ProgrammeRules>(&rules).map_err(|e| StoreError::Corrupt(format!("programme rules: {e}")))?,
        state: ProgrammeState::parse(&state).ok_or_else(|| corrupt("programme state", &state))?,
        created_ms: r.try_get(4)?,
        closed_ms: r.try_get(5)?,
    })
}

fn application_from_row(r: &AnyRow) -> StoreResult<Application> {
    let state: String = r.try_get(5)?;
    Ok(Application {
        id: parse_id(r.try_get(0)?)?,
        programme_id: parse_id(r.try_get(1)?)?,
        tenant_id: parse_id(r.try_get(2)?)?,
        requested: Fen(r.try_get(3)?),
        purpose: r.try_get(4)?,
        state: ApplicationState::parse(&state).ok_or_else(|| corrupt("application state", &state))?,
        approved: r.try_get::<Option<i64>, _>(6)?.map(Fen),
        decision_reason: r.try_get(7)?,
        decided_by: r.try_get(8)?,
        decided_ms: r.try_get(9)?,
        created_ms: r.try_get(10)?,
    })
}

fn rule_parse(s: &str) -> Option<ChargeRule> {
    [ChargeRule::Completed, ChargeRule::CancelledRan, ChargeRule::FailedRan, ChargeRule::CentreFault, ChargeRule::NeverRan]
        .into_iter()
        .find(|r| r.as_str() == s)
}

/// [`Store::bills`] on a connection (a snapshot's, see [`Store::read_snapshot`]).
/// A limit of 0 reads 100; the public listing caps it at 100,000, the reconciliation reads all.
pub(crate) async fn bills_on(c: &mut AnyConnection, f: &BillFilter) -> StoreResult<Vec<Bill>> {
    let limit = if f.limit == 0 { 100 } else { f.limit };
    let rows = sqlx::query(AssertSqlSafe(format!(
        "{BILL_SELECT} WHERE ($1 = '' OR tenant_id = $1) AND ($2 = '' OR provider_id = $2) AND created_ms >= $3 AND created_ms < $4 \
         AND ($5 = 0 OR statement_id IS NULL) AND ($6 = '' OR id < $6) ORDER BY id DESC LIMIT {limit}"
    )))
    .bind(f.tenant_id.as_ref().map(|t| t.to_string()).unwrap_or_default())
    .bind(f.provider_id.as_ref().map(|p| p.to_string()).unwrap_or_default())
    .bind(f.from_ms.unwrap_or(i64::MIN))
    .bind(f.to_ms.unwrap_or(i64::MAX))
    .bind(f.unsettled as i64)
    .bind(f.before.as_ref().map(|b| b.to_string()).unwrap_or_default())
    .fetch_all(c)
    .await?;
    rows.iter().map(bill_from_row).collect()
}

pub(crate) fn bill_from_row(r: &AnyRow) -> StoreResult<Bill> {
    let rule: String = r.try_get(7)?;
    Ok(Bill {
        id: parse_id(r.try_get(0)?)?,
        job_id: parse_id(r.try_get(1)?)?,
        tenant_id: parse_id(r.try_get(2)?)?,
        provider_id: opt_id(r.try_get(3)?)?,
        centre_id: opt_id(r.try_get(4)?)?,
        pool_id: opt_id(r.try_get(5)?)?,
        programme_id: opt_id(r.try_get(6)?)?,
        rule: rule_parse(&rule).ok_or_else(|| corrupt("charge rule", &rule))?,
        usage_s: r.try_get(8)?,
        accelerators: r.try_get::<i64, _>(9)? as u32,
        price_per_hour: Fen(r.try_get(10)?),
        discount_pct: r.try_get::<i64, _>(11)? as u8,
        ratio_pct: r.try_get::<i64, _>(12)? as u8,
        charge: Fen(r.try_get(13)?),
        voucher: Fen(r.try_get(14)?),
        cash: Fen(r.try_get(15)?),
        outstanding: Fen(r.try_get(16)?),
        created_ms: r.try_get(17)?,
        statement_id: opt_id(r.try_get(18)?)?,
    })
}

fn statement_from_row(r: &AnyRow) -> StoreResult<Statement> {
    Ok(Statement {
        id: parse_id(r.try_get(0)?)?,
        provider_id: parse_id(r.try_get(1)?)?,
        from_ms: r.try_get(2)?,
        to_ms: r.try_get(3)?,
        bills: r.try_get::<i64, _>(4)? as u32,
        charge: Fen(r.try_get(5)?),
        voucher: Fen(r.try_get(6)?),
        cash: Fen(r.try_get(7)?),
        outstanding: Fen(r.try_get(8)?),
        settled: Fen(r.try_get(9)?),
        transfer_id: r.try_get(10)?,
        created_ms: r.try_get(11)?,
        model_calls: r.try_get::<i64, _>(12)? as u32,
        data_deliveries: r.try_get::<i64, _>(13)? as u32,
    })
}

/// Filters for listing bills; newest first.
#[derive(Debug, Clone, Default)]
pub struct BillFilter {
    pub tenant_id: Option<TenantId>,
    pub provider_id: Option<ProviderId>,
    pub from_ms: Option<UnixMs>,
    pub to_ms: Option<UnixMs>,
    /// Only bills not yet on a statement.
    pub unsettled: bool,
    pub before: Option<BillId>,
    pub limit: u32,
}

/// Sums of a programme's money, for the city summary and the programme page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProgrammeTotals {
    pub applications: i64,
    pub pending_applications: i64,
    pub approved: Fen,
    pub enterprises: i64,
}

/// A programme's voucher money as the ledger holds it, at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VoucherMoney {
    /// Issued from the programme's budget to enterprises' vouchers.
    pub issued: Fen,
    /// Left in the programme's budget.
    pub remaining: Fen,
    /// Posted voucher payments for compute.
    pub spent: Fen,
    /// Reserved by open holds.
    pub held: Fen,
    /// Returned to the budget when the programme closed.
    pub expired: Fen,
}

/// An enterprise's money at one moment (see [`Store::tenant_money`]).
#[derive(Debug, Clone, Default)]
pub struct TenantMoney {
    /// Its accounts and its sub-accounts' (`tenant/…`), by id.
    pub accounts: Vec<crate::StoredAccount>,
    /// What each of its voucher accounts paid for compute (posted); absent when nothing.
    pub voucher_spent: std::collections::HashMap<suanli_ledger::AccountId, Fen>,
    /// What its bills left unpaid.
    pub outstanding: Fen,
}

impl Store {
    /// What a programme's budget issued and has left, and what its vouchers paid, hold and
    /// returned, in one snapshot: a hold posted between two reads would count neither as held
    /// (read after) nor as spent (read before).
    pub async fn voucher_money(&self, programme: &str) -> StoreResult<VoucherMoney> {
        let owner = format!("%/{programme}");
        let mut tx = self.read_snapshot().await?;
        let budget = crate::ledger::ledger_account_on(&mut tx, suanli_ledger::chart::programme_budget(programme).id).await?;
        let (issued, remaining) = budget.map_or((Fen::ZERO, Fen::ZERO), |a| (Fen(a.account.debits_posted as i64), a.account.available()));
        let r = sqlx::query(
            "SELECT CAST(COALESCE(SUM(CASE WHEN f.reason = 'voucher_spend' THEN f.amount ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN f.reason = 'voucher_expiry' THEN f.amount ELSE 0 END), 0) AS BIGINT) \
             FROM ledger_daily_flows f JOIN ledger_accounts a ON a.id = f.account \
             WHERE a.kind = 'enterprise_voucher' AND a.owner LIKE $1 AND f.credit = 0",
        )
        .bind(owner.clone())
        .fetch_one(&mut *tx)
        .await?;
        let held =
            sqlx::query("SELECT CAST(COALESCE(SUM(debits_pending), 0) AS BIGINT) FROM ledger_accounts WHERE kind = 'enterprise_voucher' AND owner LIKE $1")
                .bind(owner)
                .fetch_one(&mut *tx)
                .await?;
        tx.rollback().await?;
        Ok(VoucherMoney { issued, remaining, spent: Fen(r.try_get(0)?), expired: Fen(r.try_get(1)?), held: Fen(held.try_get(0)?) })
    }

    /// An enterprise's accounts (cash and vouchers), what each voucher paid for compute, and what
    /// its bills left unpaid, in one snapshot: read apart, a hold posted between the read of the
    /// balances and the read of the spending would count as both held and spent.
    pub async fn tenant_money(&self, tenant: &TenantId) -> StoreResult<TenantMoney> {
        let mut tx = self.read_snapshot().await?;
        let accounts = crate::ledger::ledger_accounts_on(&mut tx, Some(tenant.as_str())).await?;
        let rows = sqlx::query(
            "SELECT f.account, CAST(COALESCE(SUM(f.amount), 0) AS BIGINT) FROM ledger_daily_flows f JOIN ledger_accounts a ON a.id = f.account \
             WHERE a.kind = 'enterprise_voucher' AND a.owner LIKE $1 AND f.credit = 0 AND f.reason = 'voucher_spend' GROUP BY f.account",
        )
        .bind(format!("{tenant}/%"))
        .fetch_all(&mut *tx)
        .await?;
        let outstanding = sqlx::query("SELECT CAST(COALESCE(SUM(outstanding_fen), 0) AS BIGINT) FROM bills WHERE tenant_id = $1")
            .bind(tenant.to_string())
            .fetch_one(&mut *tx)
            .await?;
        tx.rollback().await?;
        let mut voucher_spent = std::collections::HashMap::new();
        for r in &rows {
            let account: String = r.try_get(0)?;
            let id = suanli_ledger::AccountId::parse_hex(&account).ok_or_else(|| corrupt("account id", &account))?;
            voucher_spent.insert(id, Fen(r.try_get(1)?));
        }
        Ok(TenantMoney { accounts, voucher_spent, outstanding: Fen(outstanding.try_get(0)?) })
    }

    pub async fn programmes(&self) -> StoreResult<Vec<Programme>> {
        let rows = sqlx::query(AssertSqlSafe(format!("{PROGRAMME_SELECT} ORDER BY year DESC"))).fetch_all(&self.pool).await?;
        rows.iter().map(programme_from_row).collect()
    }

    pub async fn programme(&self, id: &ProgrammeId) -> StoreResult<Option<Programme>> {
        let row =
            sqlx::query(AssertSqlSafe(format!("{PROGRAMME_SELECT} WHERE id = $1"))).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(programme_from_row).transpose()
    }

    /// The open programme whose year contains `at_ms`, if any.
    pub async fn programme_open_at(&self, at_ms: UnixMs) -> StoreResult<Option<Programme>> {
        Ok(self.programmes().await?.into_iter().find(|p| p.is_open_at(at_ms)))
    }

    pub async fn programme_totals(&self, id: &ProgrammeId) -> StoreResult<ProgrammeTotals> {
        let r = sqlx::query(
            "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN state = 'approved' THEN approved_fen ELSE 0 END), 0) AS BIGINT), \
             COUNT(DISTINCT CASE WHEN state = 'approved' THEN tenant_id END) FROM voucher_applications WHERE programme_id = $1",
        )
        .bind(id.to_string())
        .fetch_one(&self.pool)
        .await?;
        Ok(ProgrammeTotals {
            applications: r.try_get(0)?,
            pending_applications: r.try_get(1)?,
            approved: Fen(r.try_get(2)?),
            enterprises: r.try_get(3)?,
        })
    }

    pub async fn application(&self, id: &ApplicationId) -> StoreResult<Option<Application>> {
        let row = sqlx::query(AssertSqlSafe(format!("{APPLICATION_SELECT} WHERE id = $1")))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(application_from_row).transpose()
    }

    /// Applications, newest first, optionally of one tenant and in one state.
    pub async fn applications(
        &self,
        tenant: Option<&TenantId>,
        state: Option<ApplicationState>,
        limit: u32,
    ) -> StoreResult<Vec<Application>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{APPLICATION_SELECT} WHERE ($1 = '' OR tenant_id = $1) AND ($2 = '' OR state = $2) ORDER BY id DESC LIMIT {}",
            limit.clamp(1, 1000)
        )))
        .bind(tenant.map(|t| t.to_string()).unwrap_or_default())
        .bind(state.map(|s| s.as_str()).unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(application_from_row).collect()
    }

    /// Records a new application with its audit record.
    pub async fn insert_application(&self, a: &Application, audit: &Audit) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO voucher_applications (id, programme_id, tenant_id, requested_fen, purpose, state, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(a.id.to_string())
        .bind(a.programme_id.to_string())
        .bind(a.tenant_id.to_string())
        .bind(a.requested.0)
        .bind(a.purpose.clone())
        .bind(a.state.as_str())
        .bind(a.created_ms)
        .execute(tx.tx.conn().await?)
        .await?;
        tx.audit(audit).await?;
        tx.commit().await
    }

    pub async fn bill_for_job(&self, job: &JobId) -> StoreResult<Option<Bill>> {
        let row =
            sqlx::query(AssertSqlSafe(format!("{BILL_SELECT} WHERE job_id = $1"))).bind(job.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(bill_from_row).transpose()
    }

    pub async fn bill(&self, id: &BillId) -> StoreResult<Option<Bill>> {
        let row =
            sqlx::query(AssertSqlSafe(format!("{BILL_SELECT} WHERE id = $1"))).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(bill_from_row).transpose()
    }

    pub async fn bills(&self, f: &BillFilter) -> StoreResult<Vec<Bill>> {
        bills_on(&mut *self.pool.acquire().await?, &BillFilter { limit: f.limit.min(100_000), ..f.clone() }).await
    }

    /// Ended jobs without a bill that touched money (metered, placed, or holding transfers), in
    /// id order, at most `limit`: every one, or (`since`) only those written under a change
    /// number above it (a range of the change index, not a scan of every ended job). Each comes
    /// with when it finished if its usage is not metered yet (a job cancelled while running
    /// waits a while for it: the billing sweep decides).
    pub async fn bill_candidates(&self, since: Option<i64>, limit: u32) -> StoreResult<Vec<(JobId, Option<UnixMs>)>> {
        // SQLite, with no statistics, would rather read the state index: it is told the change index.
        let (index, changed) = match since {
            None => (String::new(), ""),
            Some(_) => (self.indexed_by("jobs_by_change"), " AND j.change_seq > $1"),
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT j.id, CASE WHEN j.usage_s IS NULL THEN COALESCE(j.finished_ms, 0) END FROM jobs j{index} LEFT JOIN bills b ON b.job_id = j.id \
             WHERE j.state IN ('succeeded', 'failed', 'cancelled') AND b.id IS NULL AND (j.usage_s IS NOT NULL OR j.placed_ms IS NOT NULL \
             OR EXISTS (SELECT 1 FROM ledger_transfers t WHERE t.reference = j.id)){changed} ORDER BY j.id LIMIT {}",
            limit.clamp(1, 10_000)
        )));
        let rows = match since {
            Some(mark) => rows.bind(mark),
            None => rows,
        };
        rows.fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| Ok((parse_id(r.get::<String, _>(0))?, r.try_get::<Option<i64>, _>(1)?)))
            .collect()
    }

    pub async fn statements(&self, provider: Option<&ProviderId>) -> StoreResult<Vec<Statement>> {
        let rows = sqlx::query(AssertSqlSafe(format!("{STATEMENT_SELECT} WHERE ($1 = '' OR provider_id = $1) ORDER BY id DESC")))
            .bind(provider.map(|p| p.to_string()).unwrap_or_default())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(statement_from_row).collect()
    }

    pub async fn statement(&self, id: &StatementId) -> StoreResult<Option<Statement>> {
        let row =
            sqlx::query(AssertSqlSafe(format!("{STATEMENT_SELECT} WHERE id = $1"))).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(statement_from_row).transpose()
    }
}

impl WriteTx<'_> {
    pub(crate) async fn insert_programme(&mut self, p: &Programme) -> StoreResult<()> {
        sqlx::query("INSERT INTO voucher_programmes (id, year, name, rules_json, state, created_ms, closed_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING")
            .bind(p.id.to_string())
            .bind(p.rules.year as i64)
            .bind(p.name.clone())
            .bind(serde_json::to_string(&p.rules).map_err(|e| StoreError::Corrupt(e.to_string()))?)
            .bind(p.state.as_str())
            .bind(p.created_ms)
            .bind(p.closed_ms)
            .execute(self.tx.conn().await?)
            .await?;
        Ok(())
    }

    /// Inserts bills, many to a statement (a second bill of a job, stored or in `bills`, is
    /// ignored), and adds those inserted to their providers' daily earnings, one row update per
    /// provider, day, centre and settled, and to the voucher spending sums
    /// ([`WriteTx::add_spending`]).
    pub(crate) async fn insert_bills(&mut self, bills: &[&Bill]) -> StoreResult<()> {
        let mut earned = DailySums::new();
        let mut inserted: Vec<&Bill> = Vec::with_capacity(bills.len());
        for chunk in bills.chunks(BILLS_PER_INSERT) {
            let rows = match self.dialect {
                // SQLite: literal rows. sqlx binds each parameter after looking up its name, a
                // scan of the statement's parameters, so binding n of them costs n²: bound, 130
                // bills a statement took 155 µs a bill under `bench e2e`, literal 22 µs. They go
                // with the transaction's deferred statements, in one round trip.
                crate::Dialect::Sqlite => self.tx.fetch_all(&bills_insert_literal(chunk)).await?,
                crate::Dialect::Postgres => bills_insert_bound(chunk).fetch_all(self.tx.conn().await?).await?,
            };
            let ids: std::collections::HashSet<String> = rows.iter().map(|r| r.get::<String, _>(0)).collect();
            inserted.extend(chunk.iter().copied().filter(|b| ids.contains(&b.id.to_string())));
        }
        for b in &inserted {
            let Some(provider) = &b.provider_id else { continue };
            let centre = b.centre_id.as_ref().map(|c| c.to_string()).unwrap_or_default();
            let e = earned.entry((provider.to_string(), cst_day(b.created_ms), centre, b.statement_id.is_some())).or_default();
            *e = (e.0 + 1, e.1 + b.voucher.0 + b.cash.0, e.2 + b.outstanding.0);
        }
        self.add_spending(&inserted).await?;
        for ((provider, day, centre, settled), (n, fen, outstanding)) in earned {
            crate::earnings::add_daily(self, &provider, day, &centre, settled, n, Fen(fen), Fen(outstanding)).await?;
        }
        Ok(())
    }

    /// Inserts a statement and marks what it settles: its bills, the provider's unsettled data
    /// deliveries in its period and its model calls from its start until `model_calls_until`. Each mark must
    /// meet the statement's counts (the plan read them before): a record that arrived or was
    /// settled since would otherwise be marked unpaid, or counted twice; then nothing is
    /// written and the caller is told `settlement_changed`.
    pub(crate) async fn insert_statement(&mut self, s: &Statement, bills: &[BillId], model_calls_until: Option<UnixMs>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO statements (id, provider_id, from_ms, to_ms, bills, charge_fen, voucher_fen, cash_fen, outstanding_fen, settled_fen, transfer_id, created_ms, model_calls, data_deliveries) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (id) DO NOTHING",
        )
        .bind(s.id.to_string())
        .bind(s.provider_id.to_string())
        .bind(s.from_ms)
        .bind(s.to_ms)
        .bind(s.bills as i64)
        .bind(s.charge.0)
        .bind(s.voucher.0)
        .bind(s.cash.0)
        .bind(s.outstanding.0)
        .bind(s.settled.0)
        .bind(s.transfer_id.clone())
        .bind(s.created_ms)
        .bind(s.model_calls as i64)
        .bind(s.data_deliveries as i64)
        .execute(self.tx.conn().await?)
        .await?;
        let marked = |what: &str, n: u64, planned: u64| {
            if n == planned {
                Ok(())
            } else {
                Err(StoreError::Domain(Error::new(
                    ErrorCode::SettlementChanged,
                    format!("the statement counted {planned} {what} but {n} were unsettled when it was written; settle again"),
                )))
            }
        };
        let deliveries = sqlx::query(
            "UPDATE data_deliveries SET statement_id = $1 WHERE supplier_id = $2 AND statement_id IS NULL AND created_ms >= $3 AND created_ms < $4",
        )
        .bind(s.id.to_string())
        .bind(s.provider_id.to_string())
        .bind(s.from_ms)
        .bind(s.to_ms)
        .execute(self.tx.conn().await?)
        .await?;
        marked("data deliveries", deliveries.rows_affected(), u64::from(s.data_deliveries))?;
        let calls = sqlx::query(
            "UPDATE model_calls SET statement_id = $1 WHERE provider_id = $2 AND statement_id IS NULL AND started_ms >= $3 AND started_ms < $4",
        )
        .bind(s.id.to_string())
        .bind(s.provider_id.to_string())
        .bind(s.from_ms)
        .bind(model_calls_until.unwrap_or(s.from_ms))
        .execute(self.tx.conn().await?)
        .await?;
        marked("model calls", calls.rows_affected(), u64::from(s.model_calls))?;
        let mut moved = Vec::with_capacity(bills.len());
        for b in bills {
            let row = sqlx::query(
                "UPDATE bills SET statement_id = $1 WHERE id = $2 AND statement_id IS NULL \
                 RETURNING provider_id, created_ms, centre_id, voucher_fen + cash_fen, outstanding_fen",
            )
            .bind(s.id.to_string())
            .bind(b.to_string())
            .fetch_optional(self.tx.conn().await?)
            .await?;
            if let Some(r) = row {
                moved.push(crate::earnings::SettledBill {
                    provider: r.try_get(0)?,
                    created_ms: r.try_get(1)?,
                    centre: r.try_get(2)?,
                    earned: Fen(r.try_get(3)?),
                    outstanding: Fen(r.try_get(4)?),
                });
            }
        }
        marked("bills", moved.len() as u64, bills.len() as u64)?;
        self.settle_bill_earnings(&moved).await
    }
}

const BILLS_INSERT_HEAD: &str = "INSERT INTO bills (id, job_id, tenant_id, provider_id, centre_id, pool_id, programme_id, rule, usage_s, \
     accelerators, price_fen_per_hour, discount_pct, ratio_pct, charge_fen, voucher_fen, cash_fen, outstanding_fen, created_ms, statement_id) VALUES ";
const BILLS_INSERT_TAIL: &str = " ON CONFLICT (job_id) DO NOTHING RETURNING id";

/// Bills as one INSERT of literal rows; text is quoted by [`crate::ledger::sql_text`].
fn bills_insert_literal(bills: &[&Bill]) -> String {
    use crate::ledger::sql_text;
    use std::fmt::Write;
    let text = |v: Option<String>| v.map_or_else(|| "NULL".to_string(), |s| sql_text(&s));
    let mut sql = String::with_capacity(BILLS_INSERT_HEAD.len() + bills.len() * 320);
    sql.push_str(BILLS_INSERT_HEAD);
    for (i, b) in bills.iter().enumerate() {
        let _ = write!(
            sql,
            "{}({},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{})",
            if i > 0 { "," } else { "" },
            sql_text(&b.id.to_string()),
            sql_text(&b.job_id.to_string()),
            sql_text(b.tenant_id.as_str()),
            text(b.provider_id.as_ref().map(|x| x.to_string())),
            text(b.centre_id.as_ref().map(|x| x.to_string())),
            text(b.pool_id.as_ref().map(|x| x.to_string())),
            text(b.programme_id.as_ref().map(|x| x.to_string())),
            sql_text(b.rule.as_str()),
            b.usage_s,
            b.accelerators as i64,
            b.price_per_hour.0,
            b.discount_pct as i64,
            b.ratio_pct as i64,
            b.charge.0,
            b.voucher.0,
            b.cash.0,
            b.outstanding.0,
            b.created_ms,
            text(b.statement_id.as_ref().map(|x| x.to_string())),
        );
    }
    sql.push_str(BILLS_INSERT_TAIL);
    sql
}

/// Bills as one INSERT with bound parameters, 19 a row.
fn bills_insert_bound<'q>(bills: &[&Bill]) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    const COLS: usize = 19;
    let mut sql = String::from(BILLS_INSERT_HEAD);
    crate::rows::push_placeholder_rows(&mut sql, bills.len(), COLS);
    sql.push_str(BILLS_INSERT_TAIL);
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in bills {
        q = q
            .bind(b.id.to_string())
            .bind(b.job_id.to_string())
            .bind(b.tenant_id.to_string())
            .bind(b.provider_id.as_ref().map(|x| x.to_string()))
            .bind(b.centre_id.as_ref().map(|x| x.to_string()))
            .bind(b.pool_id.as_ref().map(|x| x.to_string()))
            .bind(b.programme_id.as_ref().map(|x| x.to_string()))
            .bind(b.rule.as_str())
            .bind(b.usage_s)
            .bind(b.accelerators as i64)
            .bind(b.price_per_hour.0)
            .bind(b.discount_pct as i64)
            .bind(b.ratio_pct as i64)
            .bind(b.charge.0)
            .bind(b.voucher.0)
            .bind(b.cash.0)
            .bind(b.outstanding.0)
            .bind(b.created_ms)
            .bind(b.statement_id.as_ref().map(|x| x.to_string()));
    }
    q
}
