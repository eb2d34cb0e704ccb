#!/usr/bin/env bash
# The dashboard under held connections: starts `atelier serve` (default limits,
# no workers, an empty workspace) and runs bench/held_connections_bench.cpp
# against it (no request rate limit, so the client is never told to slow
# down): the latency of GETs from 127.0.0.1 with no attack, with 500
# connections from 127.0.0.2 held open, and with those reopened as the server
# closes them. Prints one row per phase (p50, p99, max, unanswered).
#
#   bash bench/run_held_connections_bench.sh [BUILD_DIR]     (default: build)
#   env: REQUESTS (2000 per phase) HELD (500) TIMEOUT_MS (5000)
#        SERVE_ARGS (extra `atelier serve` flags, e.g. "--max-connections-per-client 64")
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build}
if [[ "$build" != /* && ! -d "$build" ]]; then build="$repo/$build"; fi
build=$(cd "$build" && pwd)
for f in "$build/cli/atelier" "$build/bench/atelier_held_connections_bench"; do
  [[ -x "$f" ]] || { echo "missing $f: build it first" >&2; exit 2; }
done

ws=$(mktemp -d)
log="$ws/serve.log"
"$build/cli/atelier" -w "$ws" init >/dev/null
# shellcheck disable=SC2086
# No request rate limit: the client sends as fast as it is answered, and what is
# measured is the connection handling.
"$build/cli/atelier" -w "$ws" serve --port 0 --workers sleep=0,generate=0,check=0,video=0 \
  --rate-limit 0 ${SERVE_ARGS:-} >"$log" 2>&1 &
serve=$!
trap 'kill $serve 2>/dev/null; wait $serve 2>/dev/null; rm -rf "$ws"' EXIT
for _ in $(seq 100); do grep -q "dashboard: " "$log" && break; sleep 0.1; done
port=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1 | sed 's/.*://')
[[ -n "$port" ]] || { cat "$log" >&2; exit 1; }

echo "load before: $(uptime)" >&2
"$build/bench/atelier_held_connections_bench" "$port" "${REQUESTS:-2000}" "${HELD:-500}" \
  "${TIMEOUT_MS:-5000}"
echo "load after: $(uptime)" >&2
