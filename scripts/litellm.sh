#!/usr/bin/env bash
# litellm.sh — a LiteLLM proxy (PyPI litellm[proxy], in its own venv) on loopback, for the
# model gateway's benchmark: routes one model name to an OpenAI-compatible upstream, set up the
# way LiteLLM's "Best Practices for Production" page says for throughput (no database, no spend or
# error logs, LITELLM_LOG=ERROR, LITELLM_MODE=PRODUCTION, uvicorn workers = CPU count,
# simple-shuffle routing), with a master key.
#
#   scripts/litellm.sh start <upstream_base_url> <model_name> [port]
#        install once (reused after), write the config, start the proxy on 127.0.0.1:port (default:
#        a free port), wait until it answers, print LITELLM_URL=http://127.0.0.1:PORT and
#        LITELLM_KEY=<master key> (stdout carries only these lines: `eval "$(...)"` works).
#        <upstream_base_url> is the upstream's OpenAI base, e.g. http://127.0.0.1:8080/v1.
#   scripts/litellm.sh env       print those lines again (exit 1 if the proxy is not running)
#   scripts/litellm.sh stop      kill the proxy that `start` started (by its PID)
#   scripts/litellm.sh install   only install
#
# Environment (all optional):
#   SUANLI_TOOLS_DIR         where the venv and run state live (default $HOME/.cache/suanli-tools)
#   LITELLM_VERSION          litellm version to install (default: the one pinned below)
#   LITELLM_MASTER_KEY       master key (default: a random sk-... made at start)
#   LITELLM_NUM_WORKERS      uvicorn worker processes (default: nproc, as LiteLLM recommends)
#   LITELLM_UPSTREAM_KEY     API key sent to the upstream (default "none")
#   LITELLM_UPSTREAM_MODEL   model name sent to the upstream (default: <model_name>)
#   LITELLM_START_TIMEOUT    seconds to wait for readiness (default 180)
set -euo pipefail

TOOLS_DIR="${SUANLI_TOOLS_DIR:-$HOME/.cache/suanli-tools}"
VENV="$TOOLS_DIR/litellm-venv"
RUN_DIR="$TOOLS_DIR/run"
STATE="$RUN_DIR/litellm.env"
PIDFILE="$RUN_DIR/litellm.pid"
LOG="$RUN_DIR/litellm.log"
CONFIG="$RUN_DIR/litellm.yaml"
# 1.108.7: the newest whose [proxy] extra installs from the registry here (1.108.8 and later need
# litellm-enterprise or litellm-proxy releases the registry does not serve).
VERSION="${LITELLM_VERSION:-1.108.7}"
START_TIMEOUT="${LITELLM_START_TIMEOUT:-180}"

say() { echo "litellm: $*" >&2; }
die() { say "error: $*"; exit 1; }

installed() {
    [[ -x "$VENV/bin/litellm" && -f "$VENV/.suanli-installed" ]] &&
        [[ "$(cat "$VENV/.suanli-installed")" == "litellm[proxy]==$VERSION prisma" ]]
}

install() {
    if installed; then
        return 0
    fi
    ! running_pid >/dev/null || die "a proxy started from $VENV is running: scripts/litellm.sh stop first"
    mkdir -p "$TOOLS_DIR" "$RUN_DIR"
    local log="$RUN_DIR/litellm-install.log" t0
    say "installing litellm[proxy]==$VERSION into $VENV (log: $log)"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    t0=$SECONDS
    {
        "$VENV/bin/pip" install --upgrade pip
        # prisma (from litellm's extra-proxy) only so that a request without a key gets 401:
        # without the module, LiteLLM's error handler fails on `import prisma` and answers 500.
        # No database is configured, so the Prisma client is never generated nor used.
        "$VENV/bin/pip" install "litellm[proxy]==$VERSION" "prisma>=0.11,<1"
    } >"$log" 2>&1 || die "install failed, see $log"
    echo "litellm[proxy]==$VERSION prisma" >"$VENV/.suanli-installed"
    say "installed in $((SECONDS - t0)) s"
}

# free_port, running_pid, print_env.
source "$(dirname "${BASH_SOURCE[0]}")/lib/service.sh"

start() {
    local upstream="${1:-}" model="${2:-}" port="${3:-}"
    [[ -n "$upstream" && -n "$model" ]] || die "usage: $0 start <upstream_base_url> <model_name> [port]"
    install
    if running_pid >/dev/null; then
        die "already running (pid $(cat "$PIDFILE")); scripts/litellm.sh stop first"
    fi
    port="${port:-$(free_port)}"
    local key="${LITELLM_MASTER_KEY:-sk-$(python3 -c 'import secrets; print(secrets.token_hex(16))')}"
    local workers="${LITELLM_NUM_WORKERS:-$(nproc)}"
    # LiteLLM resolves "os.environ/NAME" values at start: the master key and the upstream key stay
    # out of the file.
    MODEL="$model" UPSTREAM_MODEL="openai/${LITELLM_UPSTREAM_MODEL:-$model}" UPSTREAM="$upstream" \
        python3 - "$CONFIG" <<'EOF'
# Writes the LiteLLM proxy config (YAML; strings are written as JSON strings, which YAML reads).
import json, os, sys
q = json.dumps
config = f"""# LiteLLM proxy config written by scripts/litellm.sh start.
model_list:
  - model_name: {q(os.environ["MODEL"])}
    litellm_params:
      model: {q(os.environ["UPSTREAM_MODEL"])}
      api_base: {q(os.environ["UPSTREAM"])}
      api_key: os.environ/SUANLI_LITELLM_UPSTREAM_KEY

general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  # No database_url: no Postgres, nothing is written per request.
  disable_spend_logs: true
  disable_error_logs: true

litellm_settings:
  set_verbose: false
  json_logs: true
  request_timeout: 600

router_settings:
  routing_strategy: simple-shuffle   # the default, LiteLLM's recommendation for throughput
"""
open(sys.argv[1], "w").write(config)
EOF
    say "starting the LiteLLM proxy on 127.0.0.1:$port, $workers workers, upstream $upstream (log: $LOG)"
    (
        export LITELLM_MASTER_KEY="$key"
        export SUANLI_LITELLM_UPSTREAM_KEY="${LITELLM_UPSTREAM_KEY:-none}"
        export LITELLM_LOG=ERROR              # no per-request info logs
        export LITELLM_MODE=PRODUCTION        # no load_dotenv()
        export LITELLM_LOCAL_MODEL_COST_MAP=True  # the cost map bundled in the package, no fetch
        export NO_PROXY="127.0.0.1,localhost${NO_PROXY:+,$NO_PROXY}"
        cd "$RUN_DIR"
        exec nohup "$VENV/bin/litellm" --config "$CONFIG" --host 127.0.0.1 --port "$port" \
            --num_workers "$workers" >"$LOG" 2>&1 </dev/null
    ) &
    local pid=$! deadline=$((SECONDS + START_TIMEOUT)) url="http://127.0.0.1:$port"
    echo "$pid" >"$PIDFILE"
    # Ready when every worker has logged its start-up (one line each) and the proxy answers.
    until [[ "$(grep -c "Proxy initialized" "$LOG" 2>/dev/null)" -ge "$workers" ]] &&
        curl -fsS -o /dev/null -H "Authorization: Bearer $key" "$url/v1/models" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || { tail -30 "$LOG" >&2; rm -f "$PIDFILE"; die "proxy exited"; }
        ((SECONDS < deadline)) || { stop; tail -30 "$LOG" >&2; die "no answer from $url in ${START_TIMEOUT}s"; }
        sleep 0.3
    done
    printf 'LITELLM_URL=%s\nLITELLM_KEY=%s\n' "$url" "$key" >"$STATE"
    say "ready (pid $pid)"
    cat "$STATE"
}

stop() {
    local pid
    if pid="$(running_pid)"; then
        # The parent (uvicorn's supervisor when workers > 1) stops its workers on SIGTERM.
        kill "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            pkill -9 -P "$pid" 2>/dev/null || true
            kill -9 "$pid" 2>/dev/null || true
        fi
        say "stopped (pid $pid)"
    else
        say "not running"
    fi
    rm -f "$PIDFILE" "$STATE"
}

case "${1:-}" in
    start) shift; start "$@" ;;
    env) print_env ;;
    stop) stop ;;
    install) install ;;
    *) echo "usage: $0 start <upstream_base_url> <model_name> [port] | env | stop | install" >&2; exit 2 ;;
esac
