#!/usr/bin/env bash
# Runs the real-browser tests of the web UI (tests/browser/): installs Debian's Chromium and CJK
# fonts if they are missing, installs playwright-core from the lock file, then runs the tests with
# Node's test runner against a `suanli serve --demo` that the tests start and stop themselves.
# The suanli binary comes from SUANLI_BIN (default target/debug/suanli, which the test suite builds);
# the interactive charts' tests need it built after `npm ci --prefix web` (scripts/web-assets.sh,
# which scripts/test.sh runs first), so that it embeds Apache ECharts.
# Screenshots land in target/browser-screenshots/. Arguments go to Node's test runner, e.g.
# `scripts/browser-test.sh --test-name-pattern='map|custom range'` runs only the tests so named.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }

ensure_chromium() {
  if [ -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    return
  fi
  log "installing Chromium and CJK fonts (the browser tests drive Debian's Chromium)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
}

ensure_node_modules() {
  local dir=tests/browser
  if [ ! -d "$dir/node_modules/playwright-core" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    log "installing the browser tests' npm packages (npm ci)"
    (cd "$dir" && npm ci --no-audit --no-fund)
    touch "$dir/node_modules"
  fi
}

SUANLI_BIN=${SUANLI_BIN:-target/debug/suanli}
if [ ! -x "$SUANLI_BIN" ]; then
  echo "error: no suanli binary at $SUANLI_BIN; build it first (cargo build, or scripts/test.sh builds it) or set SUANLI_BIN" >&2
  exit 1
fi
SUANLI_BIN=$(cd "$(dirname "$SUANLI_BIN")" && pwd)/$(basename "$SUANLI_BIN")
export SUANLI_BIN

ensure_chromium
ensure_node_modules
mkdir -p target/browser-screenshots
log "running the browser tests against $SUANLI_BIN"
exec node --test --test-reporter=spec "$@" tests/browser/
