//! Who writes the store, and for how long: each write transaction is counted under the part of the platform that opened it, with the time it waited to begin and the time it was open.
//!
//! On SQLite one transaction writes at a time (the writer lock), so the time open, summed over
//! every writer, over the wall time is how busy the store's one writer is, and each writer's
//! part says who keeps it busy. That is the figure that bounds job submissions: in `bench e2e`
//! the lock was held 88% of the time, a quarter each by the ledger's commits, the job writer and
//! the backends' reports, a sixth by the rounds' placements. On PostgreSQL transactions run side
//! by side, so the sums may pass the wall time; the wait is for a pooled connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The part of the platform a write transaction is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    /// New jobs, a group commit at a time (the job writer).
    Jobs,
    /// A scheduling round's placements and explanations.
    Placement,
    /// Backends' reports: runs started and ended.
    Reports,
    /// The ledger's group commits: holds, charges, bills.
    Ledger,
    /// Meter readings.
    Energy,
    /// Everything else (registrations, decisions, settings, migrations).
    Other,
}

impl Writer {
    pub const ALL: [Writer; 6] = [Writer::Jobs, Writer::Placement, Writer::Reports, Writer::Ledger, Writer::Energy, Writer::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Writer::Jobs => "jobs",
            Writer::Placement => "placement",
            Writer::Reports => "reports",
            Writer::Ledger => "ledger",
            Writer::Energy => "energy",
            Writer::Other => "other",
        }
    }
}

/// One writer's totals since the store was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WriteFigures {
    /// Write transactions begun.
    pub transactions: u64,
    /// Seconds spent waiting to begin (SQLite: for the writer lock).
    pub wait_s: f64,
    /// Seconds from begun to committed or rolled back (SQLite: the writer lock held).
    pub open_s: f64,
}

#[derive(Debug, Default)]
struct Counters {
    transactions: AtomicU64,
    wait_ns: AtomicU64,
    open_ns: AtomicU64,
}

/// Every writer's counters; shared by the copies of a store.
#[derive(Debug, Default)]
pub(crate) struct WriteStats([Counters; Writer::ALL.len()]);

impl WriteStats {
    fn of(&self, w: Writer) -> &Counters {
        &self.0[w as usize]
    }

    /// Counts a transaction that waited `since.elapsed()` to begin; the timer it answers adds
    /// the time it is open when dropped (with the transaction).
    pub(crate) fn begun(self: &Arc<Self>, writer: Writer, since: Instant) -> OpenTimer {
        let c = self.of(writer);
        c.transactions.fetch_add(1, Ordering::Relaxed);
        c.wait_ns.fetch_add(nanos(since), Ordering::Relaxed);
        OpenTimer { stats: self.clone(), writer, since: Instant::now() }
    }

    pub(crate) fn figures(&self) -> Vec<(Writer, WriteFigures)> {
        Writer::ALL
            .iter()
            .map(|&w| {
                let c = self.of(w);
                let s = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64 / 1e9;
                (w, WriteFigures { transactions: c.transactions.load(Ordering::Relaxed), wait_s: s(&c.wait_ns), open_s: s(&c.open_ns) })
            })
            .collect()
    }
}

fn nanos(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Adds the time a write transaction was open to its writer's total when dropped.
pub(crate) struct OpenTimer {
    stats: Arc<WriteStats>,
    writer: Writer,
    since: Instant,
}

impl Drop for OpenTimer {
    fn drop(&mut self) {
        self.stats.of(self.writer).open_ns.fetch_add(nanos(self.since), Ordering::Relaxed);
    }
}
