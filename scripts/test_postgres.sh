#!/usr/bin/env bash
# A PostgreSQL server for the test suite: Debian's postgresql package, its own
# data directory, loopback only, on its own port; the store tests run every
# case on it as well as on SQLite (tests/support/test_workspace.h).
#   scripts/test_postgres.sh start   prints the URL to export as ATELIER_TEST_PG
#   scripts/test_postgres.sh stop
# Durability is off (fsync, synchronous_commit): a test server's data is thrown
# away. The benchmark (bench/run_pg_drain_bench.sh) runs its own server with
# the defaults.
set -euo pipefail
PORT=${ATELIER_TEST_PG_PORT:-55432}
DATA=${ATELIER_TEST_PG_DIR:-/tmp/atelier-test-pg-$PORT}
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$BIN/initdb" ] || { echo "test_postgres: no PostgreSQL server installed (apt-get install postgresql)" >&2; exit 1; }
# The server refuses to run as root: it runs as the package's postgres user.
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
  start)
    if [ ! -f "$DATA/PG_VERSION" ]; then
      rm -rf "$DATA"
      mkdir -p "$DATA"
      [ "$(id -u)" -eq 0 ] && chown postgres: "$DATA"
      as_pg "$BIN/initdb" -D "$DATA" -A trust -U atelier -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
      as_pg "$BIN/pg_ctl" -D "$DATA" -w -l "$DATA/server.log" \
        -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null
    fi
    psql -h 127.0.0.1 -p "$PORT" -U atelier -d postgres -qAt \
      -c "SELECT 1 FROM pg_database WHERE datname = 'atelier_test'" | grep -q 1 ||
      psql -h 127.0.0.1 -p "$PORT" -U atelier -d postgres -q -c "CREATE DATABASE atelier_test"
    echo "postgresql://atelier@127.0.0.1:$PORT/atelier_test"
    ;;
  stop)
    as_pg "$BIN/pg_ctl" -D "$DATA" -m fast stop >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
