#!/usr/bin/env bash
# Runs schemathesis (from PyPI) against the committed OpenAPI document and a real
# `suanli serve --demo` on loopback, as the operator and as a tenant: no server error and no
# status code the document does not declare. Bounded: a fixed number of examples per operation.
# Prometheus remote write (protobuf) is left out: schemathesis cannot build its bodies; the
# test binary's fuzz module covers it.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if ! command -v schemathesis >/dev/null 2>&1; then
  log "installing schemathesis"
  python3 -m pip install -q schemathesis
fi
bin=target/debug/suanli
[ -x "$bin" ] || cargo build --locked -p suanli
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --demo --no-stream --demo-energy-days 0 --listen "127.0.0.1:$port" --data-dir "$data" >"$data/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  [ -f "$data/demo-tokens.json" ] && python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=2)" "http://127.0.0.1:$port/healthz" 2>/dev/null && break
  sleep 0.2
done
for role in operator tenant; do
  token=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$data/demo-tokens.json" "$role")
  log "schemathesis as the $role"
  schemathesis run docs/openapi.json --url "http://127.0.0.1:$port" -H "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance --max-examples "${SCHEMATHESIS_EXAMPLES:-25}" \
    --phases examples,fuzzing --exclude-path /api/v1/energy/prometheus/write --seed 1 --no-color
done
