#!/usr/bin/env bash
# Helpers shared by the scripts that run a helper service on loopback (llm-upstream.sh,
# litellm.sh): a free port, the PID of the running service, and its printed settings.
# Sourced, not run; the caller sets PIDFILE and STATE and defines die.

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Prints the PID of the service this script started, if it still runs.
running_pid() {
    local pid
    [[ -f "$PIDFILE" ]] || return 1
    pid="$(cat "$PIDFILE")"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# Prints the running service's settings (NAME=value lines) again.
print_env() {
    [[ -f "$STATE" ]] && running_pid >/dev/null || die "not running ($0 start)"
    cat "$STATE"
}
