#!/usr/bin/env bash
# Starts (start) or stops (stop) the S3-compatible server the s3 connector's tests
# and benchmark talk to: moto in server mode (see docs/decisions/2026-11-24-s3-test-server.md),
# on a free 127.0.0.1 port.
#
#   eval "$(bash scripts/servers/s3.sh start)"   # stdout is only `export CONDUIT_TEST_S3_…=` lines
#   bash scripts/servers/s3.sh stop
#
# Moto is installed on first use into a Python virtualenv under .cache/test-servers/s3-venv
# (a pinned moto[server] from PyPI, about 40 s once); afterwards `start` takes about a second,
# and only prints the exports again when the recorded server still answers. Buckets live in the
# server's memory: tests create their own bucket with a unique name. Logs go to stderr and to
# .cache/test-servers/s3.log. CONDUIT_TEST_S3_STATE names another state file (default
# .cache/test-servers/s3.env), so that a test run can own a private server.
set -euo pipefail

MOTO_VERSION=5.2.5
ACCESS_KEY=conduit-test
SECRET_KEY=conduit-test-secret
REGION=us-east-1

root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="$root/.cache/test-servers"
state="${CONDUIT_TEST_S3_STATE:-$cache/s3.env}"
venv="$cache/s3-venv"
logfile="${state%.env}.log"

log() { echo "s3-server: $*" >&2; }

ensure_moto() {
  local stamp="$venv/.moto-$MOTO_VERSION"
  if [ -x "$venv/bin/moto_server" ] && [ -f "$stamp" ]; then return 0; fi
  command -v python3 >/dev/null 2>&1 || {
    log "python3 is needed to run moto; install it (apt-get install -y python3 python3-venv)"
    exit 1
  }
  log "installing moto[server]==$MOTO_VERSION into $venv (once)"
  rm -rf "$venv"
  mkdir -p "$cache"
  if ! python3 -m venv "$venv" >&2 2>&1; then
    log "python3 -m venv failed; on Debian install python3-venv"
    exit 1
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input "moto[server]==$MOTO_VERSION" >&2
  touch "$stamp"
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}

# True when an S3 server answers ListBuckets on the port.
answers() {
  node -e '
    fetch(`http://127.0.0.1:${process.argv[1]}/`, { signal: AbortSignal.timeout(2000) })
      .then(async (r) => process.exit(r.ok && (await r.text()).includes("ListAllMyBucketsResult") ? 0 : 1))
      .catch(() => process.exit(1));' "$1"
}

# True when the pid is a live moto_server (and not a recycled pid of another program).
is_moto() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q moto_server
}

print_exports() {
  echo "export CONDUIT_TEST_S3_ENDPOINT=http://127.0.0.1:${CONDUIT_TEST_S3_PORT}"
  echo "export CONDUIT_TEST_S3_ACCESS_KEY_ID=${ACCESS_KEY}"
  echo "export CONDUIT_TEST_S3_SECRET_ACCESS_KEY=${SECRET_KEY}"
  echo "export CONDUIT_TEST_S3_REGION=${REGION}"
}

start() {
  if [ -f "$state" ]; then
    # shellcheck disable=SC1090
    . "$state"
    if is_moto "${CONDUIT_TEST_S3_PID:-}" && answers "$CONDUIT_TEST_S3_PORT"; then
      print_exports
      return 0
    fi
    log "server in $state is not running; starting a new one"
    stop_recorded
  fi
  ensure_moto
  mkdir -p "$(dirname "$state")"
  local port pid attempt i
  for attempt in 1 2 3 4 5; do
    port="$(free_port)"
    # setsid: the server outlives this script and the shell that evaluated it.
    setsid "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" </dev/null >>"$logfile" 2>&1 &
    pid=$!
    for i in $(seq 1 300); do
      if answers "$port"; then
        cat >"$state" <<EOF
CONDUIT_TEST_S3_PORT=$port
CONDUIT_TEST_S3_PID=$pid
EOF
        CONDUIT_TEST_S3_PORT="$port"
        log "moto $MOTO_VERSION listening on 127.0.0.1:$port (pid $pid)"
        print_exports
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    log "start on port $port failed (attempt $attempt)"
  done
  tail -n 30 "$logfile" >&2 || true
  exit 1
}

stop_recorded() {
  if is_moto "${CONDUIT_TEST_S3_PID:-}"; then
    kill "$CONDUIT_TEST_S3_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$CONDUIT_TEST_S3_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$state"
}

stop() {
  if [ ! -f "$state" ]; then
    log "no S3 server recorded in $state"
    return 0
  fi
  # shellcheck disable=SC1090
  . "$state"
  stop_recorded
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
