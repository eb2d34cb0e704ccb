#!/usr/bin/env bash
# Dashboard latency with a million jobs in the database: seeds a workspace
# (bench/dashboard_seed.cpp, once; kept in $BENCH_WS), starts `atelier serve`
# with no workers, and runs wrk at 32 connections against the jobs API page,
# the overview page and the overview API, with the server's own static file as
# the peer in the same run (the cost of the HTTP path alone). Prints wrk's
# latency lines and a table of p50/p99.
#
#   bash bench/run_dashboard_bench.sh [BUILD_DIR]        (default: build)
#   env: RUNS (20) JOBS (50000 per run) SECONDS_EACH (20) CONNECTIONS (32) THREADS (2)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build}
if [[ "$build" != /* && ! -d "$build" ]]; then build="$repo/$build"; fi
build=$(cd "$build" && pwd)
runs=${RUNS:-20}
jobs=${JOBS:-50000}
secs=${SECONDS_EACH:-20}
conns=${CONNECTIONS:-32}
threads=${THREADS:-2}
ws=${BENCH_WS:-/tmp/atelier-dashboard-bench-$runs-$jobs}

command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
for f in "$build/cli/atelier" "$build/bench/atelier_dashboard_seed"; do
  [[ -x "$f" ]] || { echo "missing $f: build it first" >&2; exit 2; }
done
if [[ ! -f "$ws/atelier.db" ]]; then
  "$build/bench/atelier_dashboard_seed" "$ws" --runs "$runs" --jobs "$jobs"
fi
echo "jobs in the database: $(sqlite3 "$ws/atelier.db" 'SELECT COUNT(*) FROM jobs')" >&2

log=$(mktemp)
"$build/cli/atelier" -w "$ws" serve --port 0 --workers sleep=0,generate=0,check=0,video=0 \
  --rate-limit 0 >"$log" 2>&1 &
serve=$!
trap 'kill $serve 2>/dev/null; wait $serve 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q "dashboard: " "$log" && break; sleep 0.1; done
base=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1)
[[ -n "$base" ]] || { cat "$log" >&2; exit 1; }

echo "load before: $(uptime)" >&2
printf '%-34s %10s %10s %10s %12s\n' "target" "p50 ms" "p99 ms" "req/s" "non-2xx"
for path in "/static/style.css" "/api/v1/jobs?limit=50" "/api/v1/jobs?state=dead&limit=50" \
            "/api/v1/runs" "/api/v1/overview" "/"; do
  curl -s -o /dev/null "$base$path"  # warm the caches once
  out=$(wrk -t"$threads" -c"$conns" -d"${secs}s" --latency "$base$path")
  echo "$out" >&2
  p50=$(echo "$out" | awk '$1=="50%"{print $2}')
  p99=$(echo "$out" | awk '$1=="99%"{print $2}')
  rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  bad=$(echo "$out" | awk '/Non-2xx/{print $5}')
  ms() { awk -v v="$1" 'BEGIN{ if (v ~ /us$/) {sub(/us$/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v+0} else {sub(/s$/,"",v); print v*1000} }'; }
  printf '%-34s %10s %10s %10s %12s\n' "$path" "$(ms "$p50")" "$(ms "$p99")" "$rps" "${bad:-0}"
done
echo "load after: $(uptime)" >&2
