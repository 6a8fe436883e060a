//! SQLite's worker threads scheduled ahead of the request workers: every acknowledged write waits for one of them.
//!
//! sqlx runs each SQLite connection on a thread of its own, and a commit is a hand-off to that
//! thread and back. While both cores of a small machine judge, decode and answer requests, a
//! woken SQLite thread waited for a core behind the tokio workers: the energy writer's commit of
//! one batch took 1.1 ms at the median, of which the fsync was about 0.35 ms, and the one writer
//! was busy 90% of the load's time. At nice [`SQLITE_NICE`] the same commit took 0.53 ms.
//!
//! Raising a thread's priority needs `CAP_SYS_NICE` (root has it; under systemd,
//! `AmbientCapabilities=CAP_SYS_NICE`). Without it the threads keep the default, which is only
//! slower, and the store says so once in its log.

use std::sync::atomic::{AtomicBool, Ordering};

/// The nice value SQLite's worker threads run at when the process may raise priority.
pub const SQLITE_NICE: i32 = -10;

/// What sqlx names its SQLite worker threads (`sqlx-sqlite-worker-N`), as Linux keeps a
/// thread's name: its first 15 bytes.
const SQLITE_THREAD: &str = "sqlx-sqlite-wor";

/// Raises every SQLite worker thread of this process still above [`SQLITE_NICE`] to it, after a
/// connection is opened (its thread is new). Logs once when the process may not.
pub(crate) fn raise_sqlite_threads() {
    static REFUSED: AtomicBool = AtomicBool::new(false);
    match raise_threads(SQLITE_THREAD, SQLITE_NICE) {
        Ok(_) => {}
        Err(e) if !REFUSED.swap(true, Ordering::Relaxed) => tracing::info!(
            error = %e,
            "SQLite's threads keep the default priority (raising it needs CAP_SYS_NICE); commits wait longer for a core under load"
        ),
        Err(_) => {}
    }
}

/// Sets every thread of this process named `prefix…` whose nice value is above `nice` to
/// `nice`; answers how many it changed.
#[cfg(target_os = "linux")]
pub(crate) fn raise_threads(prefix: &str, nice: i32) -> std::io::Result<usize> {
    use rustix::process::{Pid, getpriority_process, setpriority_process};
    let mut raised = 0;
    for task in std::fs::read_dir("/proc/self/task")? {
        let task = task?;
        // A thread that ended since the listing is skipped.
        let Ok(name) = std::fs::read_to_string(task.path().join("comm")) else { continue };
        if !name.trim_end().starts_with(prefix) {
            continue;
        }
        let Some(pid) = task.file_name().to_str().and_then(|t| t.parse().ok()).and_then(Pid::from_raw) else { continue };
        // On Linux a thread id names that one thread to getpriority and setpriority.
        let Ok(current) = getpriority_process(Some(pid)) else { continue };
        if current > nice {
            setpriority_process(Some(pid), nice)?;
            raised += 1;
        }
    }
    Ok(raised)
}

/// Elsewhere the threads keep their priority.
#[cfg(not(target_os = "linux"))]
pub(crate) fn raise_threads(_prefix: &str, _nice: i32) -> std::io::Result<usize> {
    Ok(0)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use rustix::process::{Pid, getpriority_process};

    /// This thread's id, from `/proc/thread-self` (`PID/task/TID`).
    fn tid() -> Pid {
        let link = std::fs::read_link("/proc/thread-self").unwrap();
        let tid = link.file_name().and_then(|t| t.to_str()).and_then(|t| t.parse().ok()).unwrap();
        Pid::from_raw(tid).unwrap()
    }

    /// A thread of the given name is raised when the process may (CI runs as root); without
    /// the privilege the refusal is an error, not a silent success. Other threads are left alone.
    #[test]
    fn raises_named_threads_only() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let worker = std::thread::Builder::new()
            .name("suanli-prio-t".into())
            .spawn(move || {
                tx.send(tid()).unwrap();
                let _ = stop_rx.recv();
            })
            .unwrap();
        let worker_tid = rx.recv().unwrap();
        let before = getpriority_process(Some(worker_tid)).unwrap();
        let me = getpriority_process(Some(tid())).unwrap();
        match raise_threads("suanli-prio-t", before - 1) {
            Ok(n) => {
                assert_eq!(n, 1);
                assert_eq!(getpriority_process(Some(worker_tid)).unwrap(), before - 1);
                assert_eq!(raise_threads("suanli-prio-t", before - 1).unwrap(), 0, "raised already");
            }
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}"),
        }
        assert_eq!(getpriority_process(Some(tid())).unwrap(), me);
        drop(stop_tx);
        worker.join().unwrap();
    }
}
