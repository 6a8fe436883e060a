//! Migrations 12 onwards: indexes, daily sums and table layouts that later workloads asked for, each named for why.

/// (version, name, statements separated by ';').
pub(super) const MIGRATIONS: &[super::Migration] = &[
    (
        12,
        "the leader lease: one row per lease, its holder, its term (the fencing token) and its end by the database's clock",
        r#"
CREATE TABLE leader_lease (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    term BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
)
"#,
    ),
    (
        13,
        "time-sliced run segments: each stopped run of a preemptible job, where it ran, what it metered and cost, the work it did and why it stopped",
        r#"
CREATE TABLE job_segments (
    job_id TEXT NOT NULL REFERENCES jobs (id),
    seq BIGINT NOT NULL,
    centre_id TEXT NOT NULL REFERENCES centres (id),
    pool_id TEXT NOT NULL REFERENCES pools (id),
    accelerator TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    ended_ms BIGINT NOT NULL,
    usage_s BIGINT NOT NULL,
    work_ref_s BIGINT NOT NULL,
    cost_fen BIGINT NOT NULL,
    ended_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
)
"#,
    ),
    (
        14,
        "idempotency keys of job submissions: a tenant's key names one job, with the fingerprint of the spec it was sent with",
        r#"
CREATE TABLE job_keys (
    tenant_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    job_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, idem_key)
)
"#,
    ),
    (
        15,
        "the incentive programmes' expert pool: users with the expert role and the organisation each works for",
        r#"
CREATE TABLE incentive_experts (
    user_id TEXT PRIMARY KEY REFERENCES users (id),
    name TEXT NOT NULL,
    organisation_uscc TEXT NOT NULL,
    created_ms BIGINT NOT NULL
)
"#,
    ),
    (
        16,
        "the leader's address in its lease, so that followers forward the writes they are sent to it",
        "ALTER TABLE leader_lease ADD COLUMN url TEXT NOT NULL DEFAULT ''",
    ),
    (
        17,
        "the jobs' change sequence: every write to a job stamps the number its transaction took from one counter row, so the dispatch engine reads only the jobs changed since its last round",
        r#"
ALTER TABLE jobs ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX jobs_by_change ON jobs (change_seq);
CREATE TABLE job_changes (
    name TEXT PRIMARY KEY,
    seq BIGINT NOT NULL
);
INSERT INTO job_changes (name, seq) VALUES ('jobs', 0)
"#,
    ),
    (
        18,
        "reading blocks numbered in commit order, so that a follower's energy book replays only the blocks stored since it last read (SQLite numbers them by rowid)",
        r#"
{postgres} ALTER TABLE energy_blocks ADD COLUMN seq BIGSERIAL;
{postgres} CREATE INDEX energy_blocks_by_seq ON energy_blocks (seq)
"#,
    ),
    (
        19,
        "posted money per account, China Standard Time day, direction and reason, kept by the ledger's writer in the commit of its transfers: what account statements and yearly volumes sum, instead of two indexes on the history that every transfer had to update",
        r#"
CREATE TABLE ledger_daily_flows (
    account TEXT NOT NULL,
    day BIGINT NOT NULL,
    credit BIGINT NOT NULL,
    reason TEXT NOT NULL,
    amount BIGINT NOT NULL,
    PRIMARY KEY (account, day, credit, reason)
);
INSERT INTO ledger_daily_flows (account, day, credit, reason, amount)
    SELECT credit, (ts_ms + 28800000) / 86400000, 1, reason, SUM(COALESCE(post_amount, amount))
    FROM ledger_transfers WHERE kind IN ('single', 'post') GROUP BY credit, (ts_ms + 28800000) / 86400000, reason;
INSERT INTO ledger_daily_flows (account, day, credit, reason, amount)
    SELECT debit, (ts_ms + 28800000) / 86400000, 0, reason, SUM(COALESCE(post_amount, amount))
    FROM ledger_transfers WHERE kind IN ('single', 'post') GROUP BY debit, (ts_ms + 28800000) / 86400000, reason;
DROP INDEX ledger_transfers_by_credit;
DROP INDEX ledger_transfers_by_debit
"#,
    ),
    (
        20,
        "a job's reason typed: its code and arguments as JSON beside the English text (rows written before keep the text alone)",
        "ALTER TABLE jobs ADD COLUMN reason_json TEXT",
    ),
    (
        21,
        "jobs by start: the first job's start (where the utilisation window begins) is one index lookup, not a scan of every job",
        "CREATE INDEX jobs_by_started ON jobs (started_ms)",
    ),
    (
        22,
        "the busy accelerator-time per centre (the utilisation behind the lifecycle evaluation) read from one covering index in centre order: no row lookups and no sort of every started job",
        "CREATE INDEX jobs_busy ON jobs (centre_id, started_ms, finished_ms, accelerators)",
    ),
    (
        23,
        "a run segment's reason typed: its code and arguments as JSON beside the English text (segments written before keep the text alone)",
        "ALTER TABLE job_segments ADD COLUMN reason_json TEXT",
    ),
    (
        24,
        "each centre's partner-status history: every change (the registration first) with who made it, when and why, written in the commit that changes the status. Centres registered before this migration get one entry, at their creation, with the status they have now: their history before the migration is not known",
        r#"
CREATE TABLE centre_partner_changes (
    centre_id TEXT NOT NULL REFERENCES centres (id),
    seq BIGINT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT,
    reasons_json TEXT,
    PRIMARY KEY (centre_id, seq)
);
INSERT INTO centre_partner_changes (centre_id, seq, from_status, to_status, at_ms, actor, reason, reasons_json)
    SELECT id, 0, NULL, partner_status, created_ms, 'migration', NULL, NULL FROM centres
"#,
    ),
    (
        25,
        "jobs in bill order: the jobs table sorted by charge or voucher over every job reads one page of the bills' index instead of joining and sorting every job",
        r#"
CREATE INDEX bills_by_charge ON bills (charge_fen, job_id);
CREATE INDEX bills_by_voucher ON bills (voucher_fen, job_id)
"#,
    ),
    (
        26,
        "each centre's service figures (the partner scores) from covering indexes: the started jobs' start latencies in centre order, and the ended runs by state and fault",
        r#"
CREATE INDEX jobs_start_latency ON jobs (centre_id, (started_ms - placed_ms)) WHERE centre_id IS NOT NULL AND placed_ms IS NOT NULL
    AND started_ms IS NOT NULL AND started_ms >= placed_ms AND state IN ('running', 'succeeded', 'failed', 'cancelled');
CREATE INDEX jobs_service ON jobs (centre_id, state, fault)
"#,
    ),
    (
        27,
        "a provider's earnings from one covering index in the report's own order (the provider, the China Standard Time day, the centre, settled or not, then the date and the amounts): a year of bills is summed by day and centre in one pass, with no row read and no sort",
        r#"
CREATE INDEX bills_earnings ON bills (provider_id, ((created_ms + 28800000) / 86400000), centre_id,
    (CAST(CASE WHEN statement_id IS NULL THEN 0 ELSE 1 END AS BIGINT)), created_ms, voucher_fen, cash_fen, outstanding_fen)
"#,
    ),
    (
        28,
        "the registry's change number, a second counter row beside the jobs': every write to a centre or a pool moves it in its transaction, so the dispatch engine reads the registry again only when it changed",
        "INSERT INTO job_changes (name, seq) VALUES ('registry', 0)",
    ),
    (
        29,
        "a provider's job earnings by China Standard Time day, centre and settled, kept with the bills (a bill adds itself in the commit that inserts it; a statement moves the bills it settles): an earnings report's whole days read one row a day and centre, not every bill; and the running jobs' accelerators by centre and pool from a partial covering index",
        r#"
CREATE TABLE bill_earnings_daily (
    provider_id TEXT NOT NULL,
    day BIGINT NOT NULL,
    centre_id TEXT NOT NULL,
    settled BIGINT NOT NULL,
    bills BIGINT NOT NULL,
    earned_fen BIGINT NOT NULL,
    outstanding_fen BIGINT NOT NULL,
    PRIMARY KEY (provider_id, day, centre_id, settled)
);
INSERT INTO bill_earnings_daily (provider_id, day, centre_id, settled, bills, earned_fen, outstanding_fen)
    SELECT provider_id, (created_ms + 28800000) / 86400000, COALESCE(centre_id, ''), CAST(CASE WHEN statement_id IS NULL THEN 0 ELSE 1 END AS BIGINT),
        COUNT(*), SUM(voucher_fen + cash_fen), SUM(outstanding_fen)
    FROM bills WHERE provider_id IS NOT NULL
    GROUP BY provider_id, (created_ms + 28800000) / 86400000, COALESCE(centre_id, ''), CAST(CASE WHEN statement_id IS NULL THEN 0 ELSE 1 END AS BIGINT);
CREATE INDEX jobs_running_by_pool ON jobs (centre_id, pool_id, accelerators) WHERE state = 'running'
"#,
    ),
    (
        30,
        "SQLite: the ledger's history keyed by its sequence number alone (the table's own row id), without a unique index on the transfer id. Transfer ids are hashes, so that index took every insert to a random page: a group of a thousand transfers rewrote about a thousand pages of it, half of the ledger's commit work. The ledger's writer is the history's only writer and refuses a transfer id it holds; a duplicate that reached the store anyway is reported by the replay at load and by the ledger check (DuplicateId). PostgreSQL keeps its unique index",
        r#"
{sqlite} CREATE TABLE ledger_transfers_by_seq (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    debit TEXT NOT NULL,
    credit TEXT NOT NULL,
    amount BIGINT NOT NULL,
    reason TEXT NOT NULL,
    reference TEXT NOT NULL,
    ts_ms BIGINT NOT NULL,
    kind TEXT NOT NULL,
    pending_id TEXT,
    post_amount BIGINT,
    timeout_ms BIGINT
);
{sqlite} INSERT INTO ledger_transfers_by_seq SELECT seq, id, debit, credit, amount, reason, reference, ts_ms, kind, pending_id, post_amount, timeout_ms
    FROM ledger_transfers ORDER BY seq;
{sqlite} DROP TABLE ledger_transfers;
{sqlite} ALTER TABLE ledger_transfers_by_seq RENAME TO ledger_transfers;
{sqlite} CREATE INDEX ledger_transfers_reference ON ledger_transfers (reference)
"#,
    ),
    (
        31,
        "jobs without the index on (centre_id, state): the index on (centre_id, state, fault) serves every query it served, and each job's placement and each change of its state update one B-tree fewer",
        "DROP INDEX IF EXISTS jobs_by_centre_state",
    ),
    (
        32,
        "reading blocks packed in binary (a third of their text's size): new rows hold their readings in packed and an empty data; rows written before keep their text",
        "ALTER TABLE energy_blocks ADD COLUMN packed {blob}",
    ),
    (
        33,
        "the scheduler's explanations in a table of their own, written once at placement: in the jobs row (about 2 KB each) they took every later write of the job (its start, its end) to rewrite a page shared with one other job instead of a dozen, and the WAL and its checkpoints with it",
        r#"
CREATE TABLE job_explanations (
    job_id TEXT PRIMARY KEY REFERENCES jobs (id),
    explain_json TEXT NOT NULL
);
INSERT INTO job_explanations (job_id, explain_json) SELECT id, explain_json FROM jobs WHERE explain_json IS NOT NULL;
ALTER TABLE jobs DROP COLUMN explain_json
"#,
    ),
    (
        34,
        "voucher spending summed by clock hour and by China Standard Time day, by tenant and provider, kept with the bills (a bill adds itself in the commit that inserts it): the spending chart over any range reads a row per hour or day and pair instead of every bill, and the first bill's hour is one read of the key",
        r#"
CREATE TABLE voucher_spending_sums (
    grain_ms BIGINT NOT NULL,
    start_ms BIGINT NOT NULL,
    tenant_id TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    bills BIGINT NOT NULL,
    voucher_fen BIGINT NOT NULL,
    PRIMARY KEY (grain_ms, start_ms, tenant_id, provider_id)
);
INSERT INTO voucher_spending_sums (grain_ms, start_ms, tenant_id, provider_id, bills, voucher_fen)
    SELECT 3600000, (created_ms / 3600000) * 3600000, tenant_id, COALESCE(provider_id, ''), COUNT(*), CAST(SUM(voucher_fen) AS BIGINT)
    FROM bills GROUP BY (created_ms / 3600000) * 3600000, tenant_id, COALESCE(provider_id, '');
INSERT INTO voucher_spending_sums (grain_ms, start_ms, tenant_id, provider_id, bills, voucher_fen)
    SELECT 86400000, ((created_ms + 28800000) / 86400000) * 86400000 - 28800000, tenant_id, COALESCE(provider_id, ''), COUNT(*),
        CAST(SUM(voucher_fen) AS BIGINT)
    FROM bills GROUP BY ((created_ms + 28800000) / 86400000) * 86400000 - 28800000, tenant_id, COALESCE(provider_id, '')
"#,
    ),
    (
        35,
        "the lease's term made a key column (a unique index holds it): fenced writers lock the lease row FOR KEY SHARE, which a change of holder (a new term) waits for but a renewal (a later expiry, the same term) does not, so a renewal no longer stalls every write behind the longest one open",
        "CREATE UNIQUE INDEX leader_lease_term ON leader_lease (name, term)",
    ),
    (
        36,
        "jobs' start and service indexes partial: the starts (and the busy accelerator-time) hold only the jobs that started, the service figures only the jobs placed. Every query they serve asks for those alone; a job's submission now adds five index entries where it added eight, and its placement six where it added eight",
        r#"
DROP INDEX jobs_by_started;
CREATE INDEX jobs_by_started ON jobs (started_ms) WHERE started_ms IS NOT NULL;
DROP INDEX jobs_busy;
CREATE INDEX jobs_busy ON jobs (centre_id, started_ms, finished_ms, accelerators) WHERE started_ms IS NOT NULL;
DROP INDEX jobs_service;
CREATE INDEX jobs_service ON jobs (centre_id, state, fault) WHERE centre_id IS NOT NULL
"#,
    ),
    (
        37,
        "jobs' centre index partial: it holds the jobs placed, the only ones a listing by centre (or by a provider's centres) can return. A submission now adds four index entries where it added five, and a placement no longer removes the job's entry under no centre",
        r#"
DROP INDEX jobs_centre;
CREATE INDEX jobs_centre ON jobs (centre_id, id) WHERE centre_id IS NOT NULL
"#,
    ),
];
