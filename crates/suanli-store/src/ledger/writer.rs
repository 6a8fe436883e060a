//! The ledger's one writer: decides queued requests in memory, group after group, and commits each group in one store transaction while it decides the next.

use super::{
    Effect, LedgerAnswer, LedgerRequest, MAX_GROUP_TRANSFERS, Precondition, ProgrammeClose, Queued, Reply, Stats, StoredAccount, When,
    commit_refusal,
};
use crate::{Audit, Store, StoreError, StoreResult};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use suanli_core::error::{Error, ErrorCode};
use suanli_core::id::ProgrammeId;
use suanli_core::time::{Clock, UnixMs};
use suanli_ledger::records::ProgrammeState;
use suanli_ledger::{Account, AccountId, AccountKind, Ledger, LedgerError, Outcome, ReasonCode, Transfer, TransferId};
use tokio::sync::mpsc;

/// What the writer knows of a voucher programme, to check effects before they are written.
#[derive(Debug, Clone)]
struct KnownProgramme {
    year: i32,
    open: bool,
}

async fn known_programmes(store: &Store) -> StoreResult<HashMap<ProgrammeId, KnownProgramme>> {
    Ok(store
        .programmes()
        .await?
        .into_iter()
        .map(|p| (p.id, KnownProgramme { year: p.rules.year, open: p.state == ProgrammeState::Open }))
        .collect())
}

/// What applying one request produced: its answer, and the effects and audit record to write.
struct Applied {
    answer: LedgerAnswer,
    effects: Vec<Effect>,
    audit: Option<Audit>,
}

pub(super) struct Writer {
    store: Store,
    ledger: Ledger,
    /// Owner and creation time of every account (for inserting new ones).
    owners: HashMap<AccountId, (String, UnixMs)>,
    /// Every programme, as committed or applied in the group being built.
    programmes: HashMap<ProgrammeId, KnownProgramme>,
    clock: Arc<dyn Clock>,
    stats: Arc<Stats>,
    /// The lease term under which the ledger was last loaded (0 on an unfenced store): a replica
    /// that leads under another term reloads before deciding, because another may have written.
    loaded_term: i64,
    /// Where group commits run (SQLite: a thread of their own, so that building a group's
    /// statements never holds up a request handler); none: on the writer's own runtime.
    pub(super) commits_on: Option<tokio::runtime::Handle>,
}

/// Requests decided in memory whose commit has not started: the next group to write.
#[derive(Default)]
struct Batch {
    /// The history's length before the first of them.
    before: usize,
    requests: Vec<LedgerRequest>,
    /// Taken for requests answered when decided.
    replies: Vec<Option<Reply>>,
    answers: Vec<Result<LedgerAnswer, Error>>,
    new_accounts: Vec<AccountId>,
    effects: Vec<Effect>,
    audits: Vec<Audit>,
    transfers: usize,
}

impl Batch {
    /// When the batch's commit may start, the last one having started at `last` (while the
    /// writer takes requests): at once when a request waits for its commit, when the batch is
    /// full or holds only expiries (no request); otherwise [`EARLY_PACE`] after `last`.
    fn commit_at(&self, last: tokio::time::Instant, open: bool) -> tokio::time::Instant {
        let waits = self.replies.iter().any(Option::is_some) || self.requests.is_empty();
        if !open || waits || self.transfers >= MAX_GROUP_TRANSFERS { last } else { last + EARLY_PACE }
    }
}

/// The least time between the starts of two group commits when every request of the later
/// group was already answered (a model call's hold and charge): such a group loses nothing by
/// waiting, and a bigger group writes each hot page (the history's and the indexes' last
/// pages, the touched balances) once instead of once per small group, with one sync of the
/// log. A request that waits for its commit starts one at once.
const EARLY_PACE: Duration = Duration::from_millis(10);

/// A group's commit, running.
type CommitFuture = std::pin::Pin<Box<dyn std::future::Future<Output = StoreResult<()>> + Send>>;

/// A group being committed, with what to answer when it is durable.
struct Writing {
    commit: CommitFuture,
    requests: Vec<LedgerRequest>,
    replies: Vec<Option<Reply>>,
    answers: Vec<Result<LedgerAnswer, Error>>,
    transfers: usize,
}

impl Writer {
    /// The writer over the ledger as the store holds it.
    pub(super) async fn load(store: Store, clock: Arc<dyn Clock>, stats: Arc<Stats>) -> StoreResult<Writer> {
        let loaded_term = store.fence_term();
        let (ledger, owners) = store.ledger_load().await?;
        let programmes = known_programmes(&store).await?;
        Ok(Writer { store, ledger, owners, programmes, clock, stats, loaded_term, commits_on: None })
    }

    /// Decides requests as they come and commits them in groups, deciding the next group while
    /// the last one commits (at most one commit in flight). A request answered when decided is
    /// answered at once; the others when their group is durable. If a commit fails, the
    /// ledger is reloaded from the store, the failed group's requests are committed one by one
    /// (so only one whose own write fails is refused), and what was decided meanwhile is
    /// decided again.
    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Queued>, expiry_interval: Duration) {
        let mut tick = tokio::time::interval(expiry_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut batch: Option<Batch> = None;
        let mut writing: Option<Writing> = None;
        let mut open = true;
        let mut last_start = tokio::time::Instant::now() - EARLY_PACE;
        loop {
            let due = batch.as_ref().map(|b| b.commit_at(last_start, open));
            if writing.is_none()
                && due.is_some_and(|d| d <= tokio::time::Instant::now())
                && let Some(b) = batch.take()
            {
                last_start = tokio::time::Instant::now();
                writing = Some(self.start_commit(b));
            }
            if !open && writing.is_none() && batch.is_none() {
                break;
            }
            let room = batch.as_ref().is_none_or(|b| b.transfers < MAX_GROUP_TRANSFERS);
            let idle = writing.is_none();
            let committing = async {
                match writing.as_mut() {
                    Some(w) => w.commit.as_mut().await,
                    None => std::future::pending().await,
                }
            };
            let paced = async {
                match due {
                    Some(d) if idle => tokio::time::sleep_until(d).await,
                    _ => std::future::pending().await,
                }
            };
            tokio::select! {
                () = paced => {}
                done = committing => {
                    let Some(w) = writing.take() else { continue };
                    self.finish_commit(w, done, &mut batch).await;
                }
                q = rx.recv(), if open && room => match q {
                    Some(first) => {
                        let mut group = vec![first];
                        let mut n = group[0].request.transfers.len();
                        while n < MAX_GROUP_TRANSFERS {
                            match rx.try_recv() {
                                Ok(q) => {
                                    n += q.request.transfers.len();
                                    group.push(q);
                                }
                                Err(_) => break,
                            }
                        }
                        // Another term: another replica may have written since this one loaded.
                        let new_term = self.store.fence_term() != self.loaded_term;
                        if writing.is_none() && batch.is_none() && (new_term || self.stats.stale.swap(false, std::sync::atomic::Ordering::SeqCst)) {
                            self.reload().await;
                        }
                        self.decide(group, &mut batch);
                    }
                    None => open = false,
                },
                _ = tick.tick() => {
                    if writing.is_none() && batch.is_none() {
                        if self.store.fence_term() != self.loaded_term || self.stats.stale.swap(false, std::sync::atomic::Ordering::SeqCst) {
                            self.reload().await;
                        }
                        self.expire().await;
                    } else {
                        // Busy: the expiries join the next group (the history since its start).
                        let before = self.ledger.transfers().len();
                        if !self.ledger.expire_pending(self.clock.now_ms()).is_empty() {
                            batch.get_or_insert_with(|| Batch { before, ..Batch::default() });
                        }
                    }
                }
            }
        }
    }

    /// Applies a group to the in-memory ledger, answers those that wait only for the
    /// decision, and adds the group to the batch to commit next.
    fn decide(&mut self, group: Vec<Queued>, batch: &mut Option<Batch>) {
        let before = self.ledger.transfers().len();
        let b = batch.get_or_insert_with(|| Batch { before, ..Batch::default() });
        for q in group {
            let answer = self.apply_into(&q.request, b);
            let reply = match q.reply {
                When::Durable(reply) => Some(reply),
                When::Decided(reply) => {
                    let _ = reply.send(answer.clone());
                    None
                }
                When::Nobody => {
                    log_refused(&q.request, &answer);
                    None
                }
            };
            b.requests.push(q.request);
            b.replies.push(reply);
            b.answers.push(answer);
        }
    }

    /// Applies a request and adds what it does to the batch; its answer.
    fn apply_into(&mut self, request: &LedgerRequest, b: &mut Batch) -> Result<LedgerAnswer, Error> {
        b.transfers += request.transfers.len();
        self.apply_request(request, &mut b.new_accounts).map(|applied| {
            b.effects.extend(applied.effects);
            b.audits.extend(applied.audit);
            applied.answer
        })
    }

    /// Starts writing a batch: its history, the balances as they stand now (nothing else is
    /// decided until it is durable or failed), its effects and audits, in one transaction.
    fn start_commit(&mut self, b: Batch) -> Writing {
        let transfers: Vec<Transfer> = self.ledger.transfers().since(b.before).cloned().collect();
        let mut ids: Vec<AccountId> = transfers.iter().flat_map(|t| [t.debit_account, t.credit_account]).collect();
        ids.extend(b.new_accounts);
        ids.sort();
        ids.dedup();
        let rows = self.account_rows(&ids);
        let (store, from_seq, effects, audits) = (self.store.clone(), b.before, b.effects, b.audits);
        let write = async move { write_group(&store, from_seq, &rows, &transfers, &effects, &audits).await };
        let commit: CommitFuture = match &self.commits_on {
            Some(thread) => {
                let task = thread.spawn(write);
                Box::pin(
                    async move { task.await.unwrap_or_else(|e| Err(StoreError::Corrupt(format!("the ledger's commit task ended: {e}")))) },
                )
            }
            None => Box::pin(write),
        };
        Writing { commit, requests: b.requests, replies: b.replies, answers: b.answers, transfers: b.transfers }
    }

    /// The accounts as they stand now, with their owners, for writing.
    fn account_rows(&self, ids: &[AccountId]) -> Vec<StoredAccount> {
        ids.iter()
            .filter_map(|id| {
                let a = self.ledger.account(*id)?;
                let (owner, created_ms) = self.owners.get(id).cloned().unwrap_or_else(|| (String::new(), 0));
                Some(StoredAccount { account: a.clone(), owner, created_ms })
            })
            .collect()
    }

    /// Answers a written group, or recovers from its failure.
    async fn finish_commit(&mut self, w: Writing, done: StoreResult<()>, batch: &mut Option<Batch>) {
        match done {
            Ok(()) => {
                self.count(w.requests.len(), w.transfers);
                for (reply, answer) in w.replies.into_iter().zip(w.answers) {
                    if let Some(reply) = reply {
                        let _ = reply.send(answer);
                    }
                }
            }
            Err(e) => {
                // What was decided after the failed group rests on it: decide it again afterwards.
                let later = batch.take();
                self.reload().await;
                self.retry_one_by_one(w.requests, w.replies, Some(e)).await;
                if let Some(b) = later {
                    self.retry_one_by_one(b.requests, b.replies, None).await;
                }
            }
        }
    }

    /// Commits requests one at a time after a failed group commit (the ledger just reloaded):
    /// the failed group's (`failed` is its error; a group of one is refused, its own write
    /// failed), or those decided after it (`None`), which are decided again.
    async fn retry_one_by_one(&mut self, requests: Vec<LedgerRequest>, replies: Vec<Option<Reply>>, failed: Option<StoreError>) {
        if let Some(e) = &failed {
            if requests.len() == 1 {
                log_failed(&requests[0], e);
                if let Some(r) = replies.into_iter().next().flatten() {
                    let _ = r.send(Err(commit_refusal(e)));
                }
                return;
            }
            tracing::warn!(error = %e, requests = requests.len(), "a ledger group commit failed; committing its requests one by one");
        }
        for (request, reply) in requests.iter().zip(replies) {
            let answer = match self.commit_one(request).await {
                Ok(answer) => answer,
                Err(e) => {
                    log_failed(request, &e);
                    self.reload().await;
                    Err(commit_refusal(&e))
                }
            };
            if let Some(reply) = reply {
                let _ = reply.send(answer);
            }
        }
    }

    async fn expire(&mut self) {
        let before = self.ledger.transfers().len();
        let expired = self.ledger.expire_pending(self.clock.now_ms());
        if expired.is_empty() {
            return;
        }
        let w = self.start_commit(Batch { before, ..Batch::default() });
        if let Err(e) = w.commit.await {
            tracing::error!(error = %e, "persisting expired pending transfers failed; reloading the ledger");
            self.reload().await;
        } else {
            tracing::info!(count = expired.len(), "expired pending transfers");
        }
    }

    /// Applies one request and writes what it did in a transaction of its own. On an error
    /// the in-memory state is ahead of the store: the caller reloads.
    async fn commit_one(&mut self, request: &LedgerRequest) -> StoreResult<Result<LedgerAnswer, Error>> {
        let mut b = Batch { before: self.ledger.transfers().len(), ..Batch::default() };
        let answer = self.apply_into(request, &mut b);
        let transfers = b.transfers;
        self.start_commit(b).commit.await?;
        self.count(1, transfers);
        Ok(answer)
    }

    /// Counts a written group for `/metrics` and the benchmark.
    fn count(&self, requests: usize, transfers: usize) {
        use std::sync::atomic::Ordering::Relaxed;
        self.stats.commits.fetch_add(1, Relaxed);
        self.stats.requests.fetch_add(requests as u64, Relaxed);
        self.stats.transfers.fetch_add(transfers as u64, Relaxed);
    }

    /// Applies one request to the in-memory ledger. Its effects are checked first, then its
    /// guard; accounts it creates are forgotten again if nothing of it applies, so a refused
    /// request leaves no trace. Effects are written only if every transfer applied; the audit
    /// record whenever any did (with what applied and what was refused, if not all).
    fn apply_request(&mut self, request: &LedgerRequest, new_accounts: &mut Vec<AccountId>) -> Result<Applied, Error> {
        self.check_effects(&request.effects)?;
        for p in
            request.preconditions.iter().chain(request.close.as_ref().map(|c| Precondition::ProgrammeOpen(c.programme.clone())).as_ref())
        {
            self.check(p)?;
        }
        if let Some(guard) = &request.guard {
            guard(&self.ledger)?;
        }
        let mut created = Vec::new();
        if !request.accounts.is_empty() {
            let accounts: Vec<Account> = request.accounts.iter().map(|a| a.account.clone()).collect();
            for (r, sa) in self.ledger.create_accounts(&accounts).into_iter().zip(&request.accounts) {
                match r {
                    Ok(Outcome::Created) => created.push(sa),
                    Ok(_) => {}
                    Err(e) => {
                        self.forget(&created);
                        return Err(e.into());
                    }
                }
            }
        }
        let owned;
        let transfers: &[Transfer] = match (&request.close, &request.plan) {
            (Some(c), _) => {
                owned = self.expiry_transfers(c);
                &owned
            }
            (None, Some(plan)) => {
                let planned = match plan(&self.ledger) {
                    Ok(p) => p,
                    Err(e) => {
                        self.forget(&created);
                        return Err(e);
                    }
                };
                owned = request.transfers.iter().cloned().chain(planned).collect::<Vec<_>>();
                &owned
            }
            (None, None) => &request.transfers,
        };
        let results: Vec<Result<Outcome, LedgerError>> = self.ledger.apply(transfers, request.linked || request.close.is_some());
        let returned = self.sweep_closed(transfers, &results);
        if !results.is_empty() && results.iter().all(|r| r.is_err()) {
            self.forget(&created);
        } else {
            for sa in created {
                self.owners.insert(sa.account.id, (sa.owner.clone(), sa.created_ms));
                new_accounts.push(sa.account.id);
            }
        }
        let (effects, audit) = if results.iter().all(|r| r.is_ok()) {
            let mut effects = request.effects.clone();
            let mut audit = request.audit.clone();
            if let Some(c) = &request.close {
                effects.push(Effect::CloseProgramme { id: c.programme.clone(), closed_ms: c.at_ms });
                if let Some(a) = audit.as_mut().filter(|a| a.detail.is_object()) {
                    a.detail["vouchers_expired"] = transfers.len().into();
                }
            }
            self.note_effects(&effects);
            (effects, audit)
        } else if results.iter().any(|r| r.is_ok()) {
            // Part of an unlinked batch applied: money moved, so it is audited, with what
            // applied and what was refused.
            (Vec::new(), request.audit.clone().map(|a| partial_audit(a, transfers, &results)))
        } else {
            (Vec::new(), None)
        };
        let audit = audit.map(|mut a| {
            if returned > 0 && a.detail.is_object() {
                a.detail["closed_programme_vouchers_returned"] = returned.into();
            }
            a
        });
        Ok(Applied { answer: LedgerAnswer { results }, effects, audit })
    }

    /// Refuses effects the database would refuse (or that would break a rule), before anything
    /// of the request applies.
    fn check_effects(&self, effects: &[Effect]) -> Result<(), Error> {
        for e in effects {
            match e {
                Effect::InsertProgramme(p) if self.programmes.iter().any(|(id, k)| *id == p.id || k.year == p.rules.year) => {
                    return Err(Error::new(ErrorCode::ProgrammeExists, format!("a voucher programme for {} already exists", p.rules.year)));
                }
                Effect::CloseProgramme { id, .. } => self.check(&Precondition::ProgrammeOpen(id.clone()))?,
                _ => {}
            }
        }
        Ok(())
    }

    fn check(&self, p: &Precondition) -> Result<(), Error> {
        match p {
            Precondition::ProgrammeOpen(id) => match self.programmes.get(id) {
                Some(k) if k.open => Ok(()),
                Some(_) => Err(Error::new(ErrorCode::ProgrammeClosed, format!("programme {id} is closed"))),
                None => Err(Error::new(ErrorCode::ProgrammeNotFound, format!("no voucher programme {id}"))),
            },
        }
    }

    /// Records what applied effects change in what the writer knows.
    fn note_effects(&mut self, effects: &[Effect]) {
        for e in effects {
            match e {
                Effect::InsertProgramme(p) => {
                    self.programmes.insert(p.id.clone(), KnownProgramme { year: p.rules.year, open: p.state == ProgrammeState::Open });
                }
                Effect::CloseProgramme { id, .. } => {
                    if let Some(k) = self.programmes.get_mut(id) {
                        k.open = false;
                    }
                }
                _ => {}
            }
        }
    }

    /// Money that comes back to a voucher of a closed programme after its close (a hold voided
    /// or posted for less when a job ends) goes on to the programme's budget in the same
    /// commit, so no voucher of a closed programme keeps money. Returns how many were swept.
    fn sweep_closed(&mut self, transfers: &[Transfer], results: &[Result<Outcome, LedgerError>]) -> usize {
        let mut sweeps: Vec<Transfer> = Vec::new();
        for (t, _) in transfers.iter().zip(results).filter(|(_, r)| r.is_ok()) {
            for acct in [t.debit_account, t.credit_account] {
                let Some(a) = self.ledger.account(acct).filter(|a| a.kind == AccountKind::EnterpriseVoucher && a.available().is_positive())
                else {
                    continue;
                };
                let Some(programme) = self.owners.get(&acct).and_then(|(owner, _)| owner.rsplit('/').next()) else { continue };
                let Ok(id) = ProgrammeId::parse(programme) else { continue };
                if self.programmes.get(&id).is_none_or(|k| k.open) || sweeps.iter().any(|s| s.debit_account == acct) {
                    continue;
                }
                let budget = suanli_ledger::chart::programme_budget(id.as_str());
                let sweep_id = TransferId::derive("expire-after-close", &format!("{}/{}", acct.to_hex(), t.id.to_hex()));
                sweeps.push(Transfer::single(
                    sweep_id,
                    acct,
                    budget.id,
                    a.available(),
                    ReasonCode::VoucherExpiry,
                    id.as_str(),
                    t.timestamp_ms,
                ));
            }
        }
        if sweeps.is_empty() {
            return 0;
        }
        self.ledger.apply(&sweeps, false).iter().filter(|r| r.is_ok()).count()
    }

    /// One expiry transfer per voucher of the programme with money available, to its budget.
    fn expiry_transfers(&self, c: &ProgrammeClose) -> Vec<Transfer> {
        let budget = suanli_ledger::chart::programme_budget(c.programme.as_str());
        let suffix = format!("/{}", c.programme);
        self.ledger
            .accounts()
            .filter(|a| a.kind == AccountKind::EnterpriseVoucher && a.available().is_positive())
            .filter(|a| self.owners.get(&a.id).is_some_and(|(owner, _)| owner.ends_with(&suffix)))
            .map(|a| {
                let id = TransferId::derive("expire", &a.id.to_hex());
                Transfer::single(id, a.id, budget.id, a.available(), ReasonCode::VoucherExpiry, c.programme.as_str(), c.at_ms)
            })
            .collect()
    }

    fn forget(&mut self, created: &[&StoredAccount]) {
        for sa in created {
            self.ledger.forget_unused_account(sa.account.id);
        }
    }

    async fn reload(&mut self) {
        loop {
            // The term before the read: a change during it is seen at the next decision.
            let term = self.store.fence_term();
            let loaded = match self.store.ledger_load().await {
                Ok(l) => known_programmes(&self.store).await.map(|p| (l, p)),
                Err(e) => Err(e),
            };
            match loaded {
                Ok(((ledger, owners), programmes)) => {
                    self.ledger = ledger;
                    self.owners = owners;
                    self.programmes = programmes;
                    self.loaded_term = term;
                    return;
                }
                Err(e) => {
                    tracing::error!(error = %e, "reloading the ledger failed; retrying in a second");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

/// Writes a group in one transaction: the accounts' balances as they stand, the history from
/// `from_seq`, the effects and the audit records.
async fn write_group(
    store: &Store,
    from_seq: usize,
    rows: &[StoredAccount],
    transfers: &[Transfer],
    effects: &[Effect],
    audits: &[Audit],
) -> StoreResult<()> {
    // A group of model calls sends each statement on its own, not as one script: under
    // `bench gateway` at 2,000 calls/s, the whole commit as one script ran as one long burst of
    // SQLite's thread on two busy cores, and the calls' p99 rose by about a millisecond. Other
    // groups (holds, bills, top-ups) go as one script, a round trip to SQLite's thread where
    // each statement was one, each about a millisecond of the writer lock under `bench e2e`.
    let mut tx = store.begin_as(crate::Writer::Ledger).await?;
    if effects.iter().any(|e| matches!(e, Effect::InsertModelCall(_))) {
        tx.send_each_statement();
    }
    tx.upsert_ledger_accounts(rows).await?;
    tx.insert_ledger_transfers(from_seq, transfers).await?;
    tx.add_ledger_daily_flows(transfers).await?;
    // Usage records of model calls are many: written many to a statement.
    let calls: Vec<&suanli_core::model::ModelCall> =
        effects.iter().filter_map(|e| if let Effect::InsertModelCall(c) = e { Some(c.as_ref()) } else { None }).collect();
    tx.insert_model_calls(&calls).await?;
    // So are the bills of a billing sweep. A group's bills cite only programmes and jobs
    // already stored, and a statement settles only bills stored before it was planned, so they
    // go first.
    let bills: Vec<&suanli_ledger::records::Bill> =
        effects.iter().filter_map(|e| if let Effect::InsertBill(b) = e { Some(b) } else { None }).collect();
    tx.insert_bills(&bills).await?;
    for e in effects.iter().filter(|e| !matches!(e, Effect::InsertModelCall(_) | Effect::InsertBill(_))) {
        tx.apply_effect(e).await?;
    }
    tx.audit_many(audits).await?;
    tx.commit().await
}

/// Logs the refusal of a request nobody waits for (it changed nothing).
fn log_refused(request: &LedgerRequest, answer: &Result<LedgerAnswer, Error>) {
    let refusal = match answer {
        Err(e) => e.clone(),
        Ok(a) if a.results.iter().any(Result::is_err) => match a.clone().into_result() {
            Err(e) => e,
            Ok(_) => return,
        },
        Ok(_) => return,
    };
    let (action, subject) = described(request);
    tracing::error!(error = %refusal, ?request, action, subject, "the ledger refused a request nobody waits for; nothing of it was applied");
}

/// A request's audit action and subject, for the log.
fn described(request: &LedgerRequest) -> (&str, &str) {
    request.audit.as_ref().map_or(("", ""), |a| (a.action.as_str(), a.subject.as_str()))
}

/// Logs a request whose write failed, with what it was (the caller is told only that it failed).
fn log_failed(request: &LedgerRequest, e: &StoreError) {
    let (action, subject) = described(request);
    tracing::error!(error = %e, ?request, action, subject, "a ledger request could not commit; nothing of it was applied");
}

/// The audit record of a request of which some transfers applied and others were refused:
/// its detail gains `applied` (transfer ids) and `refused` (ids with their codes).
fn partial_audit(mut audit: Audit, transfers: &[Transfer], results: &[Result<Outcome, LedgerError>]) -> Audit {
    let (mut applied, mut refused) = (Vec::new(), Vec::new());
    for (t, r) in transfers.iter().zip(results) {
        match r {
            Ok(_) => applied.push(serde_json::Value::from(t.id.to_hex())),
            Err(e) => refused.push(serde_json::json!({"id": t.id.to_hex(), "code": e.code()})),
        }
    }
    if !audit.detail.is_object() {
        audit.detail = serde_json::json!({"request": audit.detail});
    }
    audit.detail["applied"] = applied.into();
    audit.detail["refused"] = refused.into();
    audit
}

// ----- rows -----
