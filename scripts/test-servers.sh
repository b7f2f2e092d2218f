#!/usr/bin/env bash
# Starts (start) or stops (stop) the real servers the tests talk to, and prints
# the environment variables that point the tests at them:
#
#   eval "$(bash scripts/test-servers.sh start)"   # stdout is only `export` lines
#   bash scripts/test-servers.sh stop
#
# PostgreSQL: a throw-away cluster in a temp dir, on a free 127.0.0.1 port, with
# its unix socket in that dir, logical replication on (for the CDC connector) and
# durability left at the defaults (fsync on). Authentication is trust, except
# for the role conduit_password_test (password conduit-test-secret) which must
# give its password, so tests can check what an authentication failure looks like.
#
# `start` is idempotent: when the cluster in the state file is still running it
# only prints the exports again. The state file is .cache/test-servers/postgres.env
# unless CONDUIT_TEST_SERVERS_STATE names another (test/servers/postgres.ts uses a
# private one so a single test file can own its cluster).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
state="${CONDUIT_TEST_SERVERS_STATE:-$root/.cache/test-servers/postgres.env}"
password_role=conduit_password_test
password_secret=conduit-test-secret

log() { echo "test-servers: $*" >&2; }

# initdb and postgres refuse to run as root, so the cluster belongs to the postgres OS user.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

find_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
      echo "$d"
      return 0
    fi
  done
  if command -v pg_config >/dev/null 2>&1; then
    d="$(pg_config --bindir)"
    if [ -x "$d/initdb" ]; then
      echo "$d"
      return 0
    fi
  fi
  return 1
}

ensure_postgres() {
  if bindir="$(find_bindir)"; then return 0; fi
  log "PostgreSQL server binaries not found; installing the Debian package postgresql"
  if [ "$(id -u)" != 0 ]; then
    log "run as root, or install PostgreSQL yourself (apt-get install -y postgresql)"
    exit 1
  fi
  apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
  bindir="$(find_bindir)" || {
    log "postgresql installed but initdb not found under /usr/lib/postgresql/*/bin"
    exit 1
  }
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}

print_exports() {
  echo "export CONDUIT_TEST_PG_URL=postgres://postgres@127.0.0.1:${CONDUIT_TEST_PG_PORT}/postgres"
  echo "export CONDUIT_TEST_PG_DIR=${CONDUIT_TEST_PG_DIR}"
}

# Refuses to delete anything that does not look like a directory this script made.
remove_dir() {
  case "$1" in
    */conduit-pg.*) rm -rf "$1" ;;
    *) log "not removing $1: not a conduit-pg temp dir" ;;
  esac
}

start() {
  ensure_postgres
  if [ -f "$state" ]; then
    # shellcheck disable=SC1090
    . "$state"
    if as_pg "$bindir/pg_ctl" status -D "$CONDUIT_TEST_PG_DIR/data" >/dev/null 2>&1; then
      print_exports
      return 0
    fi
    log "cluster in $state is not running; starting a new one"
    remove_dir "$CONDUIT_TEST_PG_DIR"
    rm -f "$state"
  fi

  local dir locale_opt port attempt started=0
  dir="$(mktemp -d "${TMPDIR:-/tmp}/conduit-pg.XXXXXX")"
  chmod 755 "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; fi
  if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then locale_opt=--locale=C.UTF-8; else locale_opt=--no-locale; fi
  # --no-sync only skips flushing initdb's own files (the cluster is thrown away
  # anyway); the running server keeps fsync on.
  as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 "$locale_opt" --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    remove_dir "$dir"
    exit 1
  }
  as_pg tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF
# conduit-ts test cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
max_slot_wal_keep_size = 1GB
fsync = on
synchronous_commit = on
max_connections = 200
EOF
  as_pg tee "$dir/data/pg_hba.conf" >/dev/null <<EOF
# TYPE  DATABASE     USER                 ADDRESS        METHOD
local   all          all                                 trust
host    all          $password_role       127.0.0.1/32   scram-sha-256
host    all          all                  127.0.0.1/32   trust
local   replication  all                                 trust
host    replication  all                  127.0.0.1/32   trust
EOF
  # A free port can be taken between choosing it and binding it; try a few.
  for attempt in 1 2 3 4 5; do
    port="$(free_port)"
    if as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "-p $port" -w -t 60 start >&2; then
      started=1
      break
    fi
    log "start on port $port failed (attempt $attempt)"
  done
  if [ "$started" != 1 ]; then
    tail -n 30 "$dir/server.log" >&2 || true
    remove_dir "$dir"
    exit 1
  fi
  as_pg "$bindir/psql" -h "$dir" -p "$port" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE $password_role LOGIN PASSWORD '$password_secret'" \
    -c "GRANT CREATE ON SCHEMA public TO $password_role" >&2

  mkdir -p "$(dirname "$state")"
  cat >"$state" <<EOF
CONDUIT_TEST_PG_PORT=$port
CONDUIT_TEST_PG_DIR=$dir
EOF
  CONDUIT_TEST_PG_PORT="$port"
  CONDUIT_TEST_PG_DIR="$dir"
  print_exports
}

stop() {
  if [ ! -f "$state" ]; then
    log "no test servers recorded in $state"
    return 0
  fi
  # shellcheck disable=SC1090
  . "$state"
  bindir="$(find_bindir)" || true
  if [ -n "${bindir:-}" ] && [ -d "$CONDUIT_TEST_PG_DIR/data" ]; then
    as_pg "$bindir/pg_ctl" -D "$CONDUIT_TEST_PG_DIR/data" -m fast -w stop >&2 || true
  fi
  remove_dir "$CONDUIT_TEST_PG_DIR"
  rm -f "$state"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
