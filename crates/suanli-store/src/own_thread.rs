//! Threads of their own for the tasks that write the store: on SQLite the job writer, the dispatch engine and the ledger's commits each run on a thread and runtime of their own, never behind the request handlers.
//!
//! SQLite has one writer: while a task holds it, every other writer waits. On the server's
//! runtime a task holding it waits for a worker thread after each statement, behind every
//! request handler queued there, and under load it held the lock for half again the time its
//! statements took. A thread of its own is woken by the operating system as soon as the
//! statement's answer comes. Each such task talks to SQLite's connections, which have threads
//! of their own and belong to no runtime, so any runtime may drive them.
//!
//! PostgreSQL's connections belong to the runtime that opened them (its reactor drives their
//! sockets), so on PostgreSQL these tasks stay on the caller's runtime.

use crate::{Dialect, Store};
use std::future::Future;
use tokio::task::JoinHandle;

/// Runs `task` to its end: on SQLite on a thread named `name` with a runtime of its own, on
/// PostgreSQL (or if that thread cannot start) on the caller's runtime. The handle ends when
/// the task does.
pub fn spawn_writer<F>(store: &Store, name: &str, task: F) -> JoinHandle<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    if store.dialect() != Dialect::Sqlite {
        return tokio::spawn(task);
    }
    match on_own_thread(name, task) {
        Ok(handle) => handle,
        Err((task, e)) => {
            tracing::warn!(error = %e, task = name, "no thread of its own; the task runs on the caller's runtime");
            tokio::spawn(task)
        }
    }
}

/// A runtime on a thread of its own that lives as long as the process, for tasks spawned onto
/// it one by one (the ledger's commits).
pub(crate) fn runtime(name: &str) -> std::io::Result<tokio::runtime::Handle> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let handle = rt.handle().clone();
    std::thread::Builder::new().name(name.into()).spawn(move || rt.block_on(std::future::pending::<()>()))?;
    Ok(handle)
}

/// `task` on a new thread with a current-thread runtime; the task back if either cannot start.
fn on_own_thread<F>(name: &str, task: F) -> Result<JoinHandle<()>, (F, std::io::Error)>
where
    F: Future<Output = ()> + Send + 'static,
{
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return Err((task, e)),
    };
    // The task is handed over once the thread runs, so that it is still here if it does not.
    let (give, take) = std::sync::mpsc::channel::<F>();
    let (done, finished) = tokio::sync::oneshot::channel::<()>();
    let started = std::thread::Builder::new().name(name.into()).spawn(move || {
        if let Ok(task) = take.recv() {
            rt.block_on(task);
        }
        let _ = done.send(());
    });
    if let Err(e) = started {
        return Err((task, e));
    }
    let _ = give.send(task);
    Ok(tokio::spawn(async move {
        let _ = finished.await;
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn on_sqlite_the_task_runs_on_its_own_named_thread_to_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_dir(dir.path()).await.unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let caller = std::thread::current().id();
        let task_store = store.clone();
        let handle = spawn_writer(&store, "writer-test", async move {
            let store = task_store;
            // A write through the store from that thread's runtime, and a timer of its own.
            store.set_meta("own-thread", "yes").await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            let me = std::thread::current();
            let _ = tx.send((me.name().map(str::to_string), me.id(), store.meta("own-thread").await.unwrap()));
        });
        let (name, id, meta) = rx.await.unwrap();
        assert_eq!(name.as_deref(), Some("writer-test"));
        assert_ne!(id, caller);
        assert_eq!(meta.as_deref(), Some("yes"));
        tokio::time::timeout(std::time::Duration::from_secs(5), handle).await.expect("the handle ends with the task").unwrap();
    }
}
