#!/usr/bin/env bash
# The README's first command: set up, then run the demo pipeline on the
# embedded SQLite store for DEMO_SECONDS (default 15), then show what arrived.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
seconds="${DEMO_SECONDS:-15}"
echo "Running pipelines/demo.yaml for ${seconds}s (Ctrl-C stops it earlier; state in ./conduit.db)..."
node bin/conduit.js run --pipelines.path pipelines --exit-after "${seconds}s"
echo
echo "demo-output.jsonl now holds $(wc -l < demo-output.jsonl) records; the last one:"
tail -n 1 demo-output.jsonl
