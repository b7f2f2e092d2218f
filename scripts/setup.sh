#!/usr/bin/env bash
# Installs what the project needs on a fresh machine, and does nothing when it is done.
set -euo pipefail
cd "$(dirname "$0")/.."
# better-sqlite3 compiles from source here (no prebuilt downloads); node-gyp needs Node's headers.
if [ -z "${npm_config_nodedir:-}" ]; then
  for d in /usr /usr/local "$(dirname "$(dirname "$(command -v node)")")"; do
    if [ -f "$d/include/node/node.h" ]; then export npm_config_nodedir="$d"; break; fi
  done
fi
stamp=node_modules/.install-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi
  touch "$stamp"
fi
node scripts/build.mjs
