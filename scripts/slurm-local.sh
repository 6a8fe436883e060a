#!/usr/bin/env bash
# slurm-local.sh — a real single-node Slurm 22.05 (Debian 12 packages) on this machine, for
# Suanli's Slurm backend tests: munged, a private MariaDB + slurmdbd (so `sacct` works),
# slurmctld, slurmd with fake GPUs as GRES, and slurmrestd (REST API v0.0.38, JWT auth)
# on 127.0.0.1. Must run as root.
#
# Usage: scripts/slurm-local.sh start|stop|status|env|reset
#   start   install the packages if missing, write the configuration, start what is not running,
#           wait until the node is idle and the REST API answers, then print (stdout only):
#             SLURM_REST_URL=http://127.0.0.1:6820
#             SLURM_JWT=<token for SLURM_USER>
#             SLURM_USER=root
#             SLURM_PARTITION=gpu
#           so `eval "$(scripts/slurm-local.sh start)"` works. Progress goes to stderr.
#           Idempotent: when everything is already up it only prints those lines (fresh token).
#   env     the same lines for a running instance (mints a fresh token); exit 1 if not running.
#   status  exit 0 when every daemon is up and `GET /slurm/v0.0.38/diag` answers, else 1.
#   stop    cancel this cluster's jobs, stop the daemons this script started (by pid file),
#           exit 0 also when nothing was running. Never touches other processes.
#   reset   stop, forget every job slurmctld kept (its saved job state: finished and cancelled
#           jobs stay for MinJobAge, an hour, and tens of thousands of them make slurmrestd's
#           job listings take seconds), then start as `start` does. Accounting (sacct) keeps
#           its records.
#
# Environment (all optional):
#   SUANLI_SLURM_DIR        state: configs, logs, spool, pid files, jwt key, database
#                           (default /tmp/suanli-slurm)
#   SUANLI_SLURM_PORT       slurmrestd port on 127.0.0.1 (default 6820)
#   SUANLI_SLURM_DB_PORT    private MariaDB port on 127.0.0.1 (default 6829)
#   SUANLI_SLURM_GPUS       fake GPUs on the node (default 8)
#   SUANLI_SLURM_CPUS       CPUs the node advertises (default 16, see SlurmdParameters below)
#   SUANLI_SLURM_PARTITION  partition name (default gpu)
#   SUANLI_SLURM_TOKEN_LIFESPAN  JWT lifetime in seconds (default 2592000 = 30 days)
#
# Choices, and why:
# - Where the config is found. The daemons run with SLURM_CONF=$SUANLI_SLURM_DIR/etc/slurm.conf
#   (gres.conf and slurmdbd.conf sit beside it). A byte-identical copy of slurm.conf is written
#   to /etc/slurm/slurm.conf, Debian's compiled-in default, so that `squeue`, `sbatch`, `scancel`,
#   `sacct`, `scontrol` run by any other process find the cluster without sourcing anything.
#   An /etc/slurm/slurm.conf that this script did not write is never overwritten (start fails).
# - Accounting. Slurm 22.05 has no file-based accounting storage: without slurmdbd, `sacct`
#   only says "accounting storage is disabled" (jobcomp/filetxt is readable only with
#   `sacct --completion`). So `start` runs slurmdbd against a PRIVATE mariadbd (datadir, socket
#   and port under $SUANLI_SLURM_DIR, 127.0.0.1:$SUANLI_SLURM_DB_PORT); the machine's own
#   MariaDB/PostgreSQL are not used or touched. Cost: ~120 MB RSS, and about 1.5 s of the
#   start (measured here: start ~3 s with an empty state dir, ~2 s after a stop, 0.1 s when
#   already up, ~17 s when the packages must be installed first; stop ~2 s).
#   slurmrestd also loads openapi/dbv0.0.38, so /slurmdb/v0.0.38/job/{id} gives history.
# - Packages: slurm-wlm-jwt-plugin must be named (auth/jwt lives there and is only a Recommends).
#   Installs use --no-install-recommends; package scripts are kept from starting services.
# - munged uses the system paths (/etc/munge/munge.key, /run/munge) so every client finds it.
#   A munged that already answers is reused and, not being ours, never stopped.
# - Fake GPUs: character devices made with `mknod <dir>/nvidia<i> c 1 3` (same numbers as
#   /dev/null) and gres.conf AutoDetect=off; without device files slurmctld drains the node.
# - No systemd and no cgroups here: proctrack/linuxproc, task/none, jobacct_gather/none.
# - SlurmdParameters=config_overrides lets the node advertise SUANLI_SLURM_CPUS CPUs on a
#   2-core machine, so that 8 one-GPU jobs can run at once. Memory is not a consumable
#   (CR_Core), so jobs need not ask for memory.
# - slurmrestd refuses to run as root: it runs as the system user `slurmrest` (created if
#   missing) via setpriv; it only forwards each request's JWT to slurmctld/slurmdbd.
# - Jobs are submitted as root (SLURM_USER=root): tokens are minted with
#   `scontrol token username=root lifespan=...`. Note: a shell that has SLURM_JWT exported makes
#   the Slurm CLI tools authenticate with that token instead of munge (works too, as root).
# - MinJobAge=3600: a finished job stays visible to `scontrol show job` and
#   GET /slurm/v0.0.38/job/{id} for an hour (default 300 s); after that use sacct or /slurmdb.
# - MaxJobCount=200000 (default 10,000, which counts finished jobs still within MinJobAge):
#   `suanli bench e2e` submits thousands of jobs a run through sbatch and slurmrestd, and
#   Slurm's high-throughput guide raises this limit for such loads.
# - Daemons are detached (own session, stdio to log files), so `$(... start)` returns and
#   they outlive the calling shell. Ports: slurmctld 6817, slurmd 6818, slurmdbd 6819 (the
#   defaults; the configured addresses are all 127.0.0.1).
#
# REST API v0.0.38 facts verified against this setup: see docs/slurm-v0.0.38-notes.md (with
# sample answers). In short (headers on every request: X-SLURM-USER-NAME: root,
# X-SLURM-USER-TOKEN: <jwt>):
#   Both headers are required (token alone: 401); a bad/expired token gives HTTP 500, not 401.
#   Success is HTTP 200 with "errors": []; failures: 400 (body parse, e.g. unknown key) or 500
#   (Slurm refused: errors[].error_code/error_number + .error).
#
#   POST /slurm/v0.0.38/job/submit   body:
#     {"job": {"name": "suanli-<id>", "comment": "suanli:<id>", "partition": "gpu",
#              "current_working_directory": "/tmp", "environment": {"PATH": "/usr/bin:/bin"},
#              "gres": "gpu:2", "time_limit": 5},          <- GPUs: "gres" (or "gpus_per_node": "2");
#      "script": "#!/bin/bash\nsleep 3\n"}                  "tres_per_node" is REJECTED (400);
#                                                          "environment" is required; minutes.
#     answer: {"job_id": 3, "step_id": "BATCH", "errors": [], ...}; success = job_id present
#     (a held job comes back with a job_id AND an errors entry 2042).
#   GET /slurm/v0.0.38/job/{id} -> jobs[0]:
#     job_state  PENDING|RUNNING|COMPLETED|FAILED|CANCELLED|TIMEOUT, state_reason
#     submit_time, start_time, end_time  (Unix s; while RUNNING end_time = start + limit, while
#                                         PENDING 0 or an estimate: real only in a final state)
#     exit_code  raw wait status (768 = exit 3; 15 = signal 15, cancelled/timeout)
#     tres_per_node "gres:gpu:2" (asked), tres_alloc_str "cpu=1,node=1,billing=1,gres/gpu=2"
#     (given), gres_detail ["gpu:2(IDX:0-1)"] while running ([] after), name, comment, nodes.
#     Finished jobs stay for MinJobAge (3600 s), then 500 + error_number 2017.
#   GET /slurmdb/v0.0.38/job/{id} -> jobs[0]: state.current, time.{submission,start,end},
#     comment.job, tres.allocated[] {"type": "gres", "name": "gpu", "count": 2}. Its exit_code is
#     wrong in 22.05.8 for failed jobs (always SUCCESS/0): use /slurm or sacct for exit codes.
#   DELETE /slurm/v0.0.38/job/{id} -> 200, errors []; job_state CANCELLED within ~1-2 s
#     (also 200 for a job that already ended).
#   GET /slurm/v0.0.38/nodes -> nodes[]: gres "gpu:8" (total), gres_used "gpu:2" (in use;
#     free = total - used), tres / tres_used ("cpu=1,gres/gpu=2" or null), state
#     (idle|mixed|allocated|...), state_flags, cpus, alloc_cpus, idle_cpus, partitions.
#   The id travels in job.name and job.comment: both come back in /slurm and /slurmdb answers,
#   squeue (%j, %k) and sacct (JobName, Comment); /slurmdb/v0.0.38/jobs?job_name= filters.
set -euo pipefail
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

DIR=${SUANLI_SLURM_DIR:-/tmp/suanli-slurm}
PORT=${SUANLI_SLURM_PORT:-6820}
DB_PORT=${SUANLI_SLURM_DB_PORT:-6829}
GPUS=${SUANLI_SLURM_GPUS:-8}
CPUS=${SUANLI_SLURM_CPUS:-16}
PARTITION=${SUANLI_SLURM_PARTITION:-gpu}
LIFESPAN=${SUANLI_SLURM_TOKEN_LIFESPAN:-2592000}
CLUSTER=suanli
SLURM_USER_NAME=root
REST_USER=slurmrest
API=v0.0.38
HOST=$(hostname -s)
ETC=$DIR/etc
CONF=$ETC/slurm.conf
SYS_CONF=/etc/slurm/slurm.conf
MARK="# Written by Suanli's scripts/slurm-local.sh"
REST_URL="http://127.0.0.1:$PORT"
PKGS=(munge slurm-wlm slurm-client slurmctld slurmd slurmdbd slurmrestd slurm-wlm-jwt-plugin
    mariadb-server curl)

log() { echo "slurm-local: $*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------- pid files and daemons

# running PID COMM: that process exists, is not a zombie, and its command is COMM (so a
# recycled pid is never taken for ours).
running() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    [[ $stat == "$1 ($2) "* && $stat != "$1 ($2) Z"* && $stat != "$1 ($2) X"* ]]
}

# live_pid NAME COMM: print the pid in $DIR/run/NAME.pid if that process is running as COMM.
live_pid() {
    local f=$DIR/run/$1.pid pid
    pid=$(tr -dc 0-9 2>/dev/null <"$f") || return 1
    [[ -n $pid ]] && running "$pid" "$2" || return 1
    echo "$pid"
}

pid_alive() { live_pid "$1" "$2" >/dev/null; }

# stop_pid NAME COMM: SIGTERM the daemon of that pid file (only if it is ours), wait, SIGKILL.
stop_pid() {
    local name=$1 comm=$2 pid i
    if pid=$(live_pid "$name" "$comm"); then
        log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 200; i++)); do
            running "$pid" "$comm" || break
            sleep 0.1
        done
        if running "$pid" "$comm"; then
            log "$name did not stop in 20 s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
        fi
    fi
    rm -f "$DIR/run/$name.pid"
}

# Slurm client commands of this script always use our config and munge, never a caller's JWT.
sl() { env -u SLURM_JWT SLURM_CONF="$CONF" "$@"; }

munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

rest_ok() {
    local tok=$1
    curl -sf -m 5 -o /dev/null \
        -H "X-SLURM-USER-NAME: $SLURM_USER_NAME" -H "X-SLURM-USER-TOKEN: $tok" \
        "$REST_URL/slurm/$API/diag"
}

mint_token() {
    local out
    out=$(sl scontrol token username="$SLURM_USER_NAME" lifespan="$LIFESPAN") ||
        die "scontrol token failed"
    out=${out#SLURM_JWT=}
    [[ -n $out ]] || die "scontrol token printed nothing"
    printf '%s' "$out"
}

node_state() { sl sinfo -h -N -n "$HOST" -o %T 2>/dev/null | head -n1; }

# every_up: 0 when all daemons are up (munged may be anyone's), else 1 with the missing ones
# in $DOWN.
DOWN=
every_up() {
    DOWN=
    munge_ok || DOWN+=" munged"
    pid_alive mariadb mariadbd || DOWN+=" mariadbd"
    pid_alive slurmdbd slurmdbd || DOWN+=" slurmdbd"
    pid_alive slurmctld slurmctld || DOWN+=" slurmctld"
    pid_alive slurmd slurmd || DOWN+=" slurmd"
    pid_alive slurmrestd slurmrestd || DOWN+=" slurmrestd"
    DOWN=${DOWN# }
    [[ -z $DOWN ]]
}

print_env() {
    local tok=$1
    echo "SLURM_REST_URL=$REST_URL"
    echo "SLURM_JWT=$tok"
    echo "SLURM_USER=$SLURM_USER_NAME"
    echo "SLURM_PARTITION=$PARTITION"
}

need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and starts daemons)"; }

# ---------------------------------------------------------------- install

install_packages() {
    local missing=() p st
    for p in "${PKGS[@]}"; do
        st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [[ $st == "install ok installed" ]] || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    log "installing ${missing[*]}"
    # Keep package scripts from starting munge/slurm/mariadb services themselves: a temporary
    # policy-rc.d that denies starts, only when the machine has none.
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        made_policy=1
    fi
    local rc=0
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 || {
        apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
    } || rc=$?
    ((made_policy)) && rm -f "$policy"
    ((rc == 0)) || die "apt-get install failed"
}

# ---------------------------------------------------------------- configuration

write_if_changed() { # FILE MODE: content on stdin
    local f=$1 mode=$2 tmp
    tmp=$(mktemp "$f.XXXXXX")
    cat >"$tmp"
    chmod "$mode" "$tmp"
    if [[ -f $f ]] && cmp -s "$tmp" "$f"; then rm -f "$tmp"; else mv -f "$tmp" "$f"; fi
}

write_config() {
    [[ $GPUS =~ ^[1-9][0-9]*$ ]] || die "SUANLI_SLURM_GPUS must be a positive integer"
    [[ $CPUS =~ ^[1-9][0-9]*$ ]] || die "SUANLI_SLURM_CPUS must be a positive integer"
    mkdir -p "$DIR"
    chmod 755 "$DIR"
    mkdir -p "$ETC" "$DIR/log" "$DIR/run" "$DIR/dev" "$DIR/spool/slurmctld" "$DIR/spool/slurmd"
    chmod 755 "$ETC" "$DIR/log" "$DIR/run" "$DIR/dev"
    chmod 700 "$DIR/spool/slurmctld" "$DIR/spool/slurmd"

    if [[ -e $SYS_CONF ]] && ! grep -qF "$MARK" "$SYS_CONF"; then
        die "$SYS_CONF exists and was not written by this script; not overwriting it"
    fi

    # Secrets, made once and kept.
    if [[ ! -s $ETC/jwt.key ]]; then
        (umask 077 && head -c 32 /dev/urandom >"$ETC/jwt.key")
    fi
    chown root:root "$ETC/jwt.key"
    chmod 600 "$ETC/jwt.key"
    if [[ ! -s $ETC/db.pass ]]; then
        (umask 077 && head -c 18 /dev/urandom | base64 | tr -dc A-Za-z0-9 >"$ETC/db.pass")
    fi
    chmod 600 "$ETC/db.pass"

    # Fake GPU device files.
    local i
    for ((i = 0; i < GPUS; i++)); do
        [[ -c $DIR/dev/nvidia$i ]] || { rm -f "$DIR/dev/nvidia$i"; mknod "$DIR/dev/nvidia$i" c 1 3; }
        chmod 666 "$DIR/dev/nvidia$i"
    done

    local mem
    mem=$(awk '/^MemTotal:/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)

    write_if_changed "$CONF" 644 <<EOF
$MARK (state in $DIR).
# Regenerated by every start: edit the script, not this file. The daemons read $CONF,
# other processes read the identical copy at $SYS_CONF.
ClusterName=$CLUSTER
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
CredType=cred/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$ETC/jwt.key
StateSaveLocation=$DIR/spool/slurmctld
SlurmdSpoolDir=$DIR/spool/slurmd
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No systemd, no cgroups in this container.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
# Report the configured CPUs, not the machine's (see the script's header).
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=3600
MaxJobCount=200000
KillWait=5
# Accounting through slurmdbd (private MariaDB): sacct and /slurmdb/v0.0.38 see finished jobs.
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=6819
AccountingStorageTRES=gres/gpu
# Store the job comment in the database, so sacct/slurmdb show it too.
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
NodeName=$HOST NodeAddr=127.0.0.1 NodeHostname=$HOST CPUs=$CPUS RealMemory=$mem Gres=gpu:$GPUS State=UNKNOWN
PartitionName=$PARTITION Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF

    write_if_changed "$ETC/gres.conf" 644 <<EOF
$MARK.
AutoDetect=off
NodeName=$HOST Name=gpu File=$DIR/dev/nvidia[0-$((GPUS - 1))]
EOF

    write_if_changed "$ETC/slurmdbd.conf" 600 <<EOF
$MARK.
AuthType=auth/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$ETC/jwt.key
DbdHost=$HOST
DbdAddr=127.0.0.1
DbdPort=6819
SlurmUser=root
LogFile=$DIR/log/slurmdbd.log
PidFile=$DIR/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$(cat "$ETC/db.pass")
StorageLoc=slurm_acct_db
EOF
    chown root:root "$ETC/slurmdbd.conf"

    mkdir -p /etc/slurm
    write_if_changed "$SYS_CONF" 644 <"$CONF"
}

# ---------------------------------------------------------------- starting

wait_for() { # SECONDS DESCRIPTION COMMAND...: poll every 0.2 s
    local secs=$1 what=$2 i
    shift 2
    for ((i = 0; i < secs * 5; i++)); do
        "$@" && return 0
        sleep 0.2
    done
    die "timed out after ${secs}s waiting for $what (logs in $DIR/log)"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_munge() {
    if munge_ok; then return 0; fi
    log "starting munged"
    mkdir -p /etc/munge /run/munge /var/log/munge /var/lib/munge
    if [[ ! -s /etc/munge/munge.key ]]; then
        head -c 1024 /dev/urandom >/etc/munge/munge.key
    fi
    chown munge:munge /etc/munge /etc/munge/munge.key /run/munge /var/log/munge /var/lib/munge
    chmod 700 /etc/munge
    chmod 400 /etc/munge/munge.key
    chmod 755 /run/munge
    # --force: start even if a dead munged left its socket behind.
    setsid setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --force \
        </dev/null 9>&- >>"$DIR/log/munged.out" 2>&1
    wait_for 15 munged munge_ok
    if [[ -s /run/munge/munged.pid ]]; then
        cat /run/munge/munged.pid >"$DIR/run/munged.pid"
    fi
}

# mariadbd runs as mysql: its socket and pid file live in its own datadir; the pid is then
# copied to $DIR/run like the others.
mariadb_ready() {
    mariadb-admin --no-defaults -S "$DIR/db/mysqld.sock" -u root ping >/dev/null 2>&1 &&
        [[ -s $DIR/db/mariadbd.pid ]] && cat "$DIR/db/mariadbd.pid" >"$DIR/run/mariadb.pid" &&
        pid_alive mariadb mariadbd
}

dbd_ready() { sl sacctmgr -n -P show cluster >/dev/null 2>&1; }

ctld_ready() { sl scontrol ping 2>/dev/null | grep -q 'is UP'; }

mysql_root() { mariadb --no-defaults -S "$DIR/db/mysqld.sock" -u root "$@"; }

start_mariadb() {
    pid_alive mariadb mariadbd && return 0
    port_free "$DB_PORT" || die "port $DB_PORT (SUANLI_SLURM_DB_PORT) is taken by another process"
    local data=$DIR/db
    if [[ ! -d $data/mysql ]]; then
        log "initialising the private MariaDB in $data"
        rm -rf "$data"
        mkdir -p "$data"
        chown mysql:mysql "$data"
        mariadb-install-db --no-defaults --user=mysql --datadir="$data" \
            --auth-root-authentication-method=socket --skip-test-db \
            >"$DIR/log/mariadb-install.log" 2>&1 || die "mariadb-install-db failed, see $DIR/log"
    fi
    log "starting the private mariadbd on 127.0.0.1:$DB_PORT"
    touch "$DIR/log/mariadb.err"
    chown mysql:mysql "$DIR/log/mariadb.err"
    setsid /usr/sbin/mariadbd --no-defaults --user=mysql --datadir="$data" \
        --socket="$DIR/db/mysqld.sock" --port="$DB_PORT" --bind-address=127.0.0.1 \
        --skip-name-resolve --pid-file="$DIR/db/mariadbd.pid" --log-error="$DIR/log/mariadb.err" \
        --innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
        </dev/null 9>&- >/dev/null 2>&1 &
    wait_for 30 mariadbd mariadb_ready
    local pass
    pass=$(cat "$ETC/db.pass")
    mysql_root -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
        CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$pass';
        ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$pass';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';" ||
        die "could not create the slurm database user"
}

start_slurmdbd() {
    if ! pid_alive slurmdbd slurmdbd; then
        port_free 6819 || die "port 6819 (slurmdbd) is taken by another process"
        log "starting slurmdbd"
        SLURM_CONF=$CONF setsid /usr/sbin/slurmdbd </dev/null 9>&- >>"$DIR/log/slurmdbd.out" 2>&1
    fi
    wait_for 30 slurmdbd dbd_ready
    if ! sl sacctmgr -n -P show cluster format=cluster 2>/dev/null | grep -qx "$CLUSTER"; then
        sl sacctmgr -i add cluster "$CLUSTER" >&2 || die "sacctmgr add cluster failed"
    fi
}

start_slurmctld() {
    if ! pid_alive slurmctld slurmctld; then
        port_free 6817 || die "port 6817 (slurmctld) is taken by another process"
        log "starting slurmctld"
        SLURM_CONF=$CONF setsid /usr/sbin/slurmctld </dev/null 9>&- >>"$DIR/log/slurmctld.out" 2>&1
    fi
    wait_for 30 slurmctld ctld_ready
}

node_ready() {
    local st
    st=$(node_state)
    case $st in
        idle | mixed | allocated | completing) return 0 ;;
        *drain* | *down* | *fail*)
            sl scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
            return 1
            ;;
        *) return 1 ;;
    esac
}

start_slurmd() {
    if ! pid_alive slurmd slurmd; then
        port_free 6818 || die "port 6818 (slurmd) is taken by another process"
        log "starting slurmd"
        SLURM_CONF=$CONF setsid /usr/sbin/slurmd -N "$HOST" </dev/null 9>&- >>"$DIR/log/slurmd.out" 2>&1
    fi
    wait_for 60 "node $HOST to be idle" node_ready
}

start_slurmrestd() {
    if ! id -u "$REST_USER" >/dev/null 2>&1; then
        log "creating system user $REST_USER"
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$REST_USER"
    fi
    if ! pid_alive slurmrestd slurmrestd; then
        port_free "$PORT" || die "port $PORT (SUANLI_SLURM_PORT) is taken by another process"
        log "starting slurmrestd on 127.0.0.1:$PORT as $REST_USER"
        # SLURM_JWT=daemon makes slurmrestd load auth/jwt; each request brings its own token.
        env -u SLURM_JWT SLURM_CONF="$CONF" SLURM_JWT=daemon \
            setsid setpriv --reuid="$REST_USER" --regid="$REST_USER" --clear-groups \
            /usr/sbin/slurmrestd -a rest_auth/jwt -s "openapi/$API,openapi/db$API" \
            "127.0.0.1:$PORT" </dev/null 9>&- >>"$DIR/log/slurmrestd.log" 2>&1 &
        echo $! >"$DIR/run/slurmrestd.pid"
    fi
}

cmd_start() {
    need_root
    local t0=$SECONDS
    install_packages
    mkdir -p "$DIR"
    exec 9>"$DIR/.lock"
    flock -w 120 9 || die "another slurm-local.sh holds $DIR/.lock"
    if every_up; then
        local tok
        tok=$(mint_token)
        if rest_ok "$tok"; then
            log "already running"
            print_env "$tok"
            return 0
        fi
    fi
    write_config
    start_munge
    start_mariadb
    start_slurmdbd
    start_slurmctld
    start_slurmd
    start_slurmrestd
    local tok
    tok=$(mint_token)
    wait_for 30 "slurmrestd to answer GET /slurm/$API/diag" rest_ok "$tok"
    pid_alive slurmrestd slurmrestd || die "slurmrestd exited, see $DIR/log/slurmrestd.log"
    log "up in $((SECONDS - t0)) s: node $HOST $(node_state), partition $PARTITION, gpu:$GPUS, REST $REST_URL"
    print_env "$tok"
}

cmd_env() {
    need_root
    every_up || die "not running (down: $DOWN); run: $0 start"
    local tok
    tok=$(mint_token)
    rest_ok "$tok" || die "the REST API at $REST_URL does not answer"
    print_env "$tok"
}

cmd_status() {
    if ! every_up; then
        echo "slurm-local: not running (down: $DOWN)"
        return 1
    fi
    local tok
    if [[ $(id -u) -eq 0 ]]; then
        if ! tok=$(mint_token 2>/dev/null) || ! rest_ok "$tok"; then
            echo "slurm-local: daemons up but GET $REST_URL/slurm/$API/diag fails"
            return 1
        fi
    else # only root mints tokens for root: check that slurmrestd answers at all (401)
        if [[ $(curl -s -m 5 -o /dev/null -w '%{http_code}' "$REST_URL/slurm/$API/diag") != 401 ]]; then
            echo "slurm-local: daemons up but slurmrestd at $REST_URL does not answer"
            return 1
        fi
    fi
    echo "slurm-local: running: slurmctld $(live_pid slurmctld slurmctld)," \
        "slurmd $(live_pid slurmd slurmd), slurmrestd $(live_pid slurmrestd slurmrestd) at $REST_URL," \
        "node $HOST $(node_state), partition $PARTITION"
}

cmd_stop() {
    need_root
    [[ -d $DIR ]] || { log "not running"; return 0; }
    exec 9>"$DIR/.lock"
    flock -w 120 9 || die "another slurm-local.sh holds $DIR/.lock"
    # Jobs of this cluster were started by it: cancel them so no job step outlives slurmd.
    if pid_alive slurmctld slurmctld; then
        local jobs
        jobs=$(sl squeue -h -o %i 2>/dev/null || true)
        if [[ -n $jobs ]]; then
            log "cancelling jobs: ${jobs//$'\n'/ }"
            # shellcheck disable=SC2086
            sl scancel $jobs 2>/dev/null || true
            local i
            for i in $(seq 50); do
                [[ -z $(sl squeue -h -o %i 2>/dev/null) ]] && break
                sleep 0.2
            done
        fi
    fi
    stop_pid slurmrestd slurmrestd
    stop_pid slurmd slurmd
    stop_pid slurmctld slurmctld
    stop_pid slurmdbd slurmdbd
    stop_pid mariadb mariadbd
    stop_pid munged munged
    log "stopped"
}

cmd_reset() {
    cmd_stop
    log "forgetting the jobs slurmctld kept"
    rm -rf "$DIR"/spool/slurmctld/job_state* "$DIR"/spool/slurmctld/hash.*
    cmd_start
}

case ${1:-} in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    reset) cmd_reset ;;
    *)
        echo "usage: $0 start|stop|status|env|reset" >&2
        exit 2
        ;;
esac
