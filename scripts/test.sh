#!/usr/bin/env bash
# The README's test command: sets up everything the tests need, then runs
# format check, type check, lint and every test. Idempotent; quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }
npx tsc --noEmit -p tsconfig.json
npx eslint .
# Test servers (Postgres for the postgres state store) start here, on free ports.
eval "$(bash scripts/test-servers.sh start)"
trap 'bash scripts/test-servers.sh stop' EXIT
mapfile -t files < <(find src test -name '*.test.ts' 2>/dev/null | sort)
node --import tsx --test --test-reporter=spec --test-concurrency=2 "${files[@]}"
