#!/usr/bin/env bash
# deid-peers.sh — the Python side of `suanli bench deid`: Faker (zh_CN people, addresses, resident
# IDs), python-stdnum (credit-code checks) and Microsoft Presidio's analyzer with a blank spaCy
# pipeline (`spacy.blank("zh")`, no trained model), in one venv, pinned. Nothing is downloaded
# when the corpus is generated or Presidio runs: only this install reaches the package registry.
#
#   scripts/deid-peers.sh install   install once (reused after) and print SUANLI_DEID_PYTHON=<venv>/bin/python
#   scripts/deid-peers.sh env       print that line (exit 1 if not installed)
#
# stdout carries only the SUANLI_DEID_PYTHON line (`eval "$(...)"` works); progress goes to stderr.
#
# Environment (all optional):
#   SUANLI_TOOLS_DIR   where the venv lives (default $HOME/.cache/suanli-tools)
set -euo pipefail

TOOLS_DIR="${SUANLI_TOOLS_DIR:-$HOME/.cache/suanli-tools}"
VENV="$TOOLS_DIR/deid-venv"
# Pinned together: presidio-analyzer's own pins accept this spaCy; Faker's zh_CN provider makes
# GB 11643-valid resident IDs.
PACKAGES=(
    "faker==40.63.0"
    "python-stdnum==2.2"
    "presidio-analyzer==2.2.366"
    "spacy==3.8.18"
)

say() { echo "deid-peers: $*" >&2; }
die() { say "error: $*"; exit 1; }

installed() {
    [[ -x "$VENV/bin/python" && -f "$VENV/.suanli-installed" ]] &&
        [[ "$(cat "$VENV/.suanli-installed")" == "${PACKAGES[*]}" ]]
}

print_env() {
    installed || die "not installed: scripts/deid-peers.sh install"
    echo "SUANLI_DEID_PYTHON=$VENV/bin/python"
}

install() {
    if ! installed; then
        mkdir -p "$TOOLS_DIR"
        local log="$TOOLS_DIR/deid-install.log" t0=$SECONDS
        say "installing ${PACKAGES[*]} into $VENV (log: $log)"
        rm -rf "$VENV"
        python3 -m venv "$VENV"
        {
            "$VENV/bin/pip" install --upgrade pip
            "$VENV/bin/pip" install "${PACKAGES[@]}"
            # A blank Chinese pipeline must build without a download (char segmenter, no model).
            "$VENV/bin/python" -c 'import spacy; spacy.blank("zh")("测试")'
        } >"$log" 2>&1 || die "install failed, see $log"
        echo "${PACKAGES[*]}" >"$VENV/.suanli-installed"
        say "installed in $((SECONDS - t0)) s"
    fi
    print_env
}

case "${1:-install}" in
    install) install ;;
    env) print_env ;;
    *) echo "usage: $0 install | env" >&2; exit 2 ;;
esac
