#!/usr/bin/env bash
# The README's test command: sets up everything the tests need, then runs
# format check, type check, lint and every test. Idempotent; quick when done.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }
npx tsc --noEmit -p tsconfig.json
npx eslint .
# Test servers start here, on free 127.0.0.1 ports: PostgreSQL (the state store and the postgres connector),
# an Apache Kafka broker (KRaft, from Maven Central jars) and an S3-compatible server (moto, from PyPI).
trap 'bash scripts/test-servers.sh stop; bash scripts/servers/kafka.sh stop; bash scripts/servers/s3.sh stop' EXIT
eval "$(bash scripts/test-servers.sh start)"
eval "$(bash scripts/servers/kafka.sh start)"
eval "$(bash scripts/servers/s3.sh start)"
mapfile -t files < <(find src test -name '*.test.ts' 2>/dev/null | sort)
node --import tsx --test --test-reporter=spec --test-concurrency=2 "${files[@]}"
