#!/usr/bin/env bash
# Installs the web UI's npm packages (web/package-lock.json: Apache ECharts) when they are
# missing or the lock file changed since they were installed, so that the next cargo build
# embeds ECharts in the server (crates/suanli-server/build.rs) and pages draw their charts over
# time interactively. Without them the server builds all the same and its charts stay SVG only.
# .ci/run and scripts/test.sh call it before they build; by hand: `npm ci --prefix web`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -f web/node_modules/echarts/dist/echarts.min.js ] && [ ! web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm is missing: install Node.js and npm (Debian: apt-get install nodejs npm) for the interactive charts" >&2
  exit 1
fi
printf '\033[1m==> %s\033[0m\n' "installing the web UI's npm packages (npm ci --prefix web)"
npm ci --prefix web --no-audit --no-fund
