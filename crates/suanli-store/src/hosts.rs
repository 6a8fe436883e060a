//! PostgreSQL with a standby: a `DATABASE_URL` naming several hosts (libpq's form,
//! `postgres://user@h1:5432,h2:5433/db?target_session_attrs=read-write`), the search for the one
//! that accepts writes, and the watch that moves the store's pool to the promoted standby when
//! the primary is lost.
//!
//! sqlx connects a pool to one host only, so this module re-points it: every half second the
//! watch asks the current host whether it is still the primary (`pg_is_in_recovery()`); when it
//! cannot answer or has become a standby, the watch tries each host in turn and gives the pool
//! the connect options of the first that is a primary. Requests
//! that fail in between get the database's error (the API answers 503 and clients retry); no
//! acknowledged write is lost as long as the primary commits synchronously to the standby.

use crate::{StoreError, StoreResult};
use sqlx::any::AnyConnectOptions;
use sqlx::{AnyConnection, AnyPool, Connection, Row};
use std::str::FromStr;
use std::time::Duration;
use suanli_core::error::{Error, ErrorCode};

/// How often the watch checks that the pool's host is still the primary.
const WATCH_EVERY: Duration = Duration::from_millis(500);
/// How long one probe of a host may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The hosts of a PostgreSQL URL, each as a URL of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hosts {
    /// One `postgres://…` URL per host, in the order given.
    pub urls: Vec<String>,
}

impl Hosts {
    /// Splits `postgres://[userinfo@]h1[:p1],h2[:p2]/db[?params]` into one URL per host.
    /// `target_session_attrs` may be `read-write` or `primary` (Suanli writes, so it always
    /// looks for the primary); it is taken out of the per-host URLs.
    pub fn parse(url: &str) -> StoreResult<Hosts> {
        let bad = |why: &str| StoreError::Domain(Error::new(ErrorCode::Internal, format!("DATABASE_URL: {why}")));
        let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (userinfo, hostlist) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (path, query) = match tail.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (tail, None),
        };
        let mut params = Vec::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("target_session_attrs", "read-write" | "primary")) => {}
                Some(("target_session_attrs", other)) => {
                    return Err(bad(&format!("target_session_attrs={other} is not supported: Suanli writes, so it needs read-write")));
                }
                _ => params.push(pair),
            }
        }
        if !hostlist.contains(',') {
            // One host (or none: a Unix socket named by `?host=`): the URL as given.
            return Ok(Hosts { urls: vec![url.to_owned()] });
        }
        let hosts: Vec<&str> = hostlist.split(',').collect();
        if hosts.iter().any(|h| h.is_empty()) {
            return Err(bad("an empty host in the host list"));
        }
        let query = if params.is_empty() { String::new() } else { format!("?{}", params.join("&")) };
        let urls = hosts
            .iter()
            .map(|host| match userinfo {
                Some(u) => format!("{scheme}://{u}@{host}{path}{query}"),
                None => format!("{scheme}://{host}{path}{query}"),
            })
            .collect();
        Ok(Hosts { urls })
    }
}

/// Answers whether a host is reachable and accepts writes.
pub(crate) async fn is_primary(url: &str) -> bool {
    let probe = async {
        let mut conn = AnyConnection::connect(url).await?;
        let row = sqlx::query("SELECT CASE WHEN pg_is_in_recovery() THEN 1 ELSE 0 END").fetch_one(&mut conn).await?;
        let standby: i32 = row.try_get(0)?;
        let _ = conn.close().await;
        Ok::<bool, sqlx::Error>(standby == 0)
    };
    matches!(tokio::time::timeout(PROBE_TIMEOUT, probe).await, Ok(Ok(true)))
}

/// The first host, from `start` round the list, that is a primary.
pub(crate) async fn find_primary(hosts: &Hosts, start: usize) -> Option<usize> {
    let n = hosts.urls.len();
    for k in 0..n {
        let i = (start + k) % n;
        if is_primary(&hosts.urls[i]).await {
            return Some(i);
        }
    }
    None
}

/// Watches the current host and points the pool at the primary when the current host is lost
/// or demoted: the pool's next connections (and the connection attempts of requests waiting
/// for one) go to the new primary; connections to the lost host fail their check and are
/// replaced. Ends when the pool is closed.
pub(crate) fn watch(pool: AnyPool, hosts: Hosts, mut current: usize) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(WATCH_EVERY).await;
            if pool.is_closed() {
                return;
            }
            let check = sqlx::query("SELECT CASE WHEN pg_is_in_recovery() THEN 1 ELSE 0 END").fetch_one(&pool);
            let fine = matches!(tokio::time::timeout(PROBE_TIMEOUT, check).await, Ok(Ok(row)) if row.try_get::<i32, _>(0).ok() == Some(0));
            if fine {
                continue;
            }
            let Some(next) = find_primary(&hosts, current + 1).await else {
                tracing::warn!(host = current, "the database's primary is unreachable and no other host accepts writes; retrying");
                continue;
            };
            if next == current {
                continue;
            }
            match AnyConnectOptions::from_str(&hosts.urls[next]) {
                Ok(options) => {
                    pool.set_connect_options(options);
                    tracing::warn!(from = current, to = next, "the database's primary moved: the store now writes to host {next}");
                    current = next;
                }
                Err(e) => tracing::warn!(host = next, "cannot read the new primary's URL: {e}"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libpq_host_lists() {
        let h = Hosts::parse("postgres://u:p@a:5432,b:5433/db?target_session_attrs=read-write&sslmode=disable").unwrap();
        assert_eq!(h.urls, vec!["postgres://u:p@a:5432/db?sslmode=disable", "postgres://u:p@b:5433/db?sslmode=disable"]);
        let one = Hosts::parse("postgres://127.0.0.1:5432/test").unwrap();
        assert_eq!(one.urls, vec!["postgres://127.0.0.1:5432/test"]);
        let socket = Hosts::parse("postgres:///suanli?host=/run/postgresql").unwrap();
        assert_eq!(socket.urls, vec!["postgres:///suanli?host=/run/postgresql"]);
        let bare = Hosts::parse("postgresql://a,b").unwrap();
        assert_eq!(bare.urls, vec!["postgresql://a", "postgresql://b"]);
        assert!(Hosts::parse("postgres://a,,b/db").is_err());
        assert!(Hosts::parse("postgres://a,b/db?target_session_attrs=read-only").is_err());
        assert!(Hosts::parse("no-scheme").is_err());
    }
}
