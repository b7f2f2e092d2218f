#!/usr/bin/env bash
# Starts (start) or stops (stop) the real servers the tests talk to, and prints
# the environment variables that point the tests at them.
set -euo pipefail
case "${1:-}" in
  start) ;;
  stop) ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
