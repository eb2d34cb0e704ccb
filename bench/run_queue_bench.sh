#!/usr/bin/env bash
# Queue benchmark driver: runs atelier_queue_bench and the plainjob peer
# (bench/peer_plainjob) alternately in one invocation, so both see the same
# machine state, then prints the raw JSON of every round and a table of
# medians and ratios (bench/queue_bench_table.py).
#
#   bash bench/run_queue_bench.sh [BUILD_DIR]      (default: build)
#   env: JOBS (20000) WORKERS (2) CHAINS (500) ROUNDS (3) KEEP=1 (keep raw results)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build}
# A relative build dir may be given from the repo root or from the current directory.
if [[ "$build" != /* && ! -d "$build" ]]; then build="$repo/$build"; fi
build=$(cd "$build" && pwd)
jobs=${JOBS:-20000}
workers=${WORKERS:-2}
chains=${CHAINS:-500}
rounds=${ROUNDS:-3}

atelier="$build/cli/atelier"
bench="$build/bench/atelier_queue_bench"
for f in "$atelier" "$bench"; do
  [[ -x "$f" ]] || { echo "missing $f: build it first (ninja -C $build atelier atelier_queue_bench)" >&2; exit 2; }
done

peer="$repo/bench/peer_plainjob"
if [[ ! -d "$peer/node_modules" ]]; then
  (cd "$peer" && npm ci --silent)
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/queue-bench-XXXXXX")
if [[ "${KEEP:-0}" != 1 ]]; then trap 'rm -rf "$tmp"' EXIT; fi

echo "load before: $(uptime)" >&2
for ((r = 1; r <= rounds; r++)); do
  echo "round $r/$rounds: atelier" >&2
  "$bench" --atelier "$atelier" --jobs "$jobs" --workers "$workers" --chains "$chains" \
    --dir "$tmp" | tee -a "$tmp/atelier.jsonl"
  echo "round $r/$rounds: plainjob" >&2
  (cd "$peer" && node bench.js --jobs "$jobs" --workers "$workers" --chains "$chains" \
    --db "$tmp/plainjob.db") | tee -a "$tmp/plainjob.jsonl"
done
echo "load after: $(uptime)" >&2
[[ "${KEEP:-0}" == 1 ]] && echo "raw results kept in $tmp" >&2

python3 "$repo/bench/queue_bench_table.py" "$tmp/atelier.jsonl" "$tmp/plainjob.jsonl"
