#!/usr/bin/env bash
# pg-standby.sh — a PostgreSQL primary with a synchronous streaming standby on loopback (Debian's
# PostgreSQL packages), and the manual promotion an operator performs when the primary is lost.
# The failover test of the database (crates/suanli/tests/it/ha_standby.rs) drives it; an operator
# reads it as the runbook. It never touches the machine's own cluster (port 5432).
#
# Usage: scripts/pg-standby.sh start DIR | kill-primary DIR | promote DIR | stop DIR
#   start         initdb a primary in DIR/primary, clone it with pg_basebackup into DIR/standby,
#                 start both on free ports, make the primary commit synchronously to the standby
#                 (synchronous_standby_names = 'standby1', synchronous_commit = on: a commit
#                 is acknowledged only once the standby has it on disk), wait until the standby
#                 streams in sync, then print (stdout only):
#                   PRIMARY_PORT=…  STANDBY_PORT=…
#                   DATABASE_URL=postgres://postgres@127.0.0.1:P,127.0.0.1:S/postgres?target_session_attrs=read-write
#   kill-primary  SIGKILL the primary's postmaster and every backend (a machine lost, not a shutdown).
#   promote       the manual promotion: `pg_ctl promote` on the standby, then drop its
#                 synchronous requirement (it has no standby of its own until one is attached;
#                 until then it commits alone), and wait until it accepts writes.
#   stop          stop both servers (immediate) and remove DIR.
# Runs as root (the servers then run as the postgres user) or as an ordinary user.
set -euo pipefail

die() { echo "pg-standby.sh: $*" >&2; exit 1; }
log() { echo "pg-standby.sh: $*" >&2; }

BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -n "$BIN" && -x "$BIN/initdb" ]] || die "PostgreSQL's server binaries are missing (apt-get install postgresql)"

# Runs a command as the servers' owner.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

sql() { # port, statement
    as_owner "$BIN/psql" -X -q -h 127.0.0.1 -p "$1" -U postgres -d postgres -tAc "$2"
}

start() {
    local dir=$1 primary=$1/primary standby=$1/standby pport sport
    [[ -e "$dir/primary" ]] && die "$dir already holds a pair (stop it first)"
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
    pport=$(free_port)
    sport=$(free_port)
    while [[ "$sport" == "$pport" ]]; do sport=$(free_port); done
    log "initdb the primary (port $pport)"
    as_owner "$BIN/initdb" -D "$primary" -U postgres --auth=trust >/dev/null
    cat >>"$primary/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $pport
unix_socket_directories = '$dir'
wal_level = replica
max_wal_senders = 4
wal_keep_size = '256MB'
hot_standby = on
fsync = on
max_connections = 60
shared_buffers = '64MB'
EOF
    echo "host replication all 127.0.0.1/32 trust" >>"$primary/pg_hba.conf"
    as_owner "$BIN/pg_ctl" -D "$primary" -l "$dir/primary.log" -w start >/dev/null
    log "clone the standby (port $sport)"
    as_owner "$BIN/pg_basebackup" -h 127.0.0.1 -p "$pport" -U postgres -D "$standby" -R -X stream -c fast
    # The clone's settings name the primary's port; the standby gets its own, and a name the
    # primary waits for.
    sed -i "s/^port = $pport/port = $sport/" "$standby/postgresql.conf"
    sed -i "s/primary_conninfo = '/primary_conninfo = 'application_name=standby1 /" "$standby/postgresql.auto.conf"
    as_owner "$BIN/pg_ctl" -D "$standby" -l "$dir/standby.log" -w start >/dev/null
    # Synchronous from now on: set on the primary only, so a promoted standby does not wait
    # for a standby it does not have.
    sql "$pport" "ALTER SYSTEM SET synchronous_standby_names = 'standby1'" >/dev/null
    sql "$pport" "ALTER SYSTEM SET synchronous_commit = 'on'" >/dev/null
    sql "$pport" "SELECT pg_reload_conf()" >/dev/null
    for _ in $(seq 1 100); do
        [[ $(sql "$pport" "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'") == sync ]] && break
        sleep 0.2
    done
    [[ $(sql "$pport" "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'") == sync ]] \
        || die "the standby does not stream in sync (see $dir/standby.log)"
    echo "$pport" >"$dir/primary.port"
    echo "$sport" >"$dir/standby.port"
    log "primary on $pport, synchronous standby on $sport"
    echo "PRIMARY_PORT=$pport"
    echo "STANDBY_PORT=$sport"
    echo "DATABASE_URL=postgres://postgres@127.0.0.1:$pport,127.0.0.1:$sport/postgres?target_session_attrs=read-write"
}

kill_primary() {
    local dir=$1 pid
    pid=$(head -1 "$dir/primary/postmaster.pid" 2>/dev/null) || die "no primary running in $dir"
    local children
    children=$(pgrep -P "$pid" || true)
    kill -KILL "$pid" $children 2>/dev/null || true
    log "killed the primary (postmaster $pid and its backends)"
}

promote() {
    local dir=$1 port
    port=$(cat "$dir/standby.port")
    as_owner "$BIN/pg_ctl" -D "$dir/standby" -w promote >/dev/null
    sql "$port" "ALTER SYSTEM SET synchronous_standby_names = ''" >/dev/null
    sql "$port" "SELECT pg_reload_conf()" >/dev/null
    for _ in $(seq 1 100); do
        [[ $(sql "$port" "SELECT pg_is_in_recovery()") == f ]] && { log "the standby on $port is the primary"; return; }
        sleep 0.1
    done
    die "the standby did not leave recovery"
}

stop() {
    local dir=$1 which
    for which in primary standby; do
        if [[ -f "$dir/$which/postmaster.pid" ]]; then
            as_owner "$BIN/pg_ctl" -D "$dir/$which" -m immediate -w stop >/dev/null 2>&1 || true
        fi
    done
    rm -rf "$dir"
}

[[ $# -eq 2 ]] || die "usage: $0 start|kill-primary|promote|stop DIR"
case "$1" in
    start) start "$2" ;;
    kill-primary) kill_primary "$2" ;;
    promote) promote "$2" ;;
    stop) stop "$2" ;;
    *) die "usage: $0 start|kill-primary|promote|stop DIR" ;;
esac
