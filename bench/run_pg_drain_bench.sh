#!/usr/bin/env bash
# Queue drain on PostgreSQL: Atelier's workers against graphile-worker
# (bench/peer_graphile) on the same PostgreSQL server in one invocation, with
# Atelier on its default SQLite store beside them. For each worker count and
# round it runs atelier-pg, graphile-worker, atelier-sqlite one after the
# other, prints every round's JSON and then a table of medians.
#
#   bash bench/run_pg_drain_bench.sh [BUILD_DIR]     (default: build)
#   env: JOBS (20000) ROUNDS (3) WORKERS ("2 8") PG_PORT (55499) KEEP=1 (keep the temp dir)
#
# The server is Debian's PostgreSQL (/usr/lib/postgresql/*/bin) with its
# default settings (fsync, synchronous_commit and full_page_writes on), its own
# data directory under the temp dir, loopback only, on PG_PORT; it is stopped on
# exit. As root it runs as the `postgres` user (scripts/test_postgres.sh does
# the same for the test server, which has durability off; this one has not).
#
# Drain, both sides: N no-op jobs are enqueued first (not timed), then W worker
# processes are started and the clock runs until all N jobs are done, polled
# every 20 ms over one database connection. Atelier: `atelier -w WS submit`
# (kind `sleep`, `ms: 0`), then W `atelier -w WS worker --kinds sleep`; the
# clock starts just before the first worker is spawned and stops when
# `SELECT state FROM runs WHERE id = 1` is no longer 'running'. graphile-worker:
# see bench/peer_graphile/README.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build}
# A relative build dir may be given from the repo root or from the current directory.
if [[ "$build" != /* && ! -d "$build" ]]; then build="$repo/$build"; fi
build=$(cd "$build" && pwd)
jobs=${JOBS:-20000}
rounds=${ROUNDS:-3}
workers_list=${WORKERS:-"2 8"}
port=${PG_PORT:-55499}

[[ -x "$build/cli/atelier" ]] || { echo "missing $build/cli/atelier: build it first (ninja -C $build atelier)" >&2; exit 2; }
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -n "$pgbin" && -x "$pgbin/initdb" ]] || { echo "no PostgreSQL server installed (apt-get install postgresql)" >&2; exit 2; }
command -v psql >/dev/null || { echo "psql not found" >&2; exit 2; }

peer="$repo/bench/peer_graphile"
if [[ ! -d "$peer/node_modules" ]]; then
  (cd "$peer" && npm ci --silent)
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pg-drain-bench-XXXXXX")
chmod 711 "$tmp" # the server's user must reach its data dir inside
pgdata="$tmp/pgdata"
as_pg() { if [[ "$(id -u)" -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  if [[ -f "$pgdata/postmaster.pid" ]]; then
    as_pg "$pgbin/pg_ctl" -D "$pgdata" -m fast stop >/dev/null 2>&1 || true
  fi
  if [[ "${KEEP:-0}" == 1 ]]; then echo "temp dir kept: $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# A copy of the binary, so that a rebuild during the run cannot swap it.
cp "$build/cli/atelier" "$tmp/atelier"
atelier="$tmp/atelier"

mkdir -p "$pgdata"
[[ "$(id -u)" -eq 0 ]] && chown postgres: "$pgdata"
as_pg "$pgbin/initdb" -D "$pgdata" -A trust -U atelier -E UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$pgbin/pg_ctl" -D "$pgdata" -w -l "$pgdata/server.log" \
  -o "-p $port -k $pgdata -c listen_addresses=127.0.0.1" start >/dev/null
base="postgresql://atelier@127.0.0.1:$port"
psql_admin() { psql "$base/postgres" -qAtX -v ON_ERROR_STOP=1 "$@"; }
echo "server: $(psql_admin -c 'SHOW server_version'), $(psql_admin -c "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync','synchronous_commit','full_page_writes','shared_buffers','max_connections')")" >&2

# The spec: one stage of N no-op jobs (a matrix of one list of N numbers).
{
  printf 'version: 1\nname: drain\nstages:\n  - id: noop\n    kind: sleep\n'
  printf '    matrix: {i: [%s]}\n' "$(seq -s, 1 "$jobs")"
  printf '    with: {ms: 0}\n'
} >"$tmp/drain.yaml"

# One Atelier drain: STORE is "pg" or "sqlite"; prints one JSON line.
atelier_drain() {
  local store=$1 w=$2 r=$3 ws="$tmp/ws-$1-w$2-r$3" url=""
  if [[ "$store" == pg ]]; then
    psql_admin -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS atelier_bench WITH (FORCE)" -c "CREATE DATABASE atelier_bench"
    url="$base/atelier_bench"
    "$atelier" init "$ws" --db "$url" >/dev/null
  else
    "$atelier" init "$ws" >/dev/null
  fi
  python3 - "$atelier" "$ws" "$store" "$url" "$jobs" "$w" "$tmp/drain.yaml" <<'PY'
import json, os, signal, sqlite3, subprocess, sys, time
atelier, ws, store, url, n, w, spec = sys.argv[1:8]
n, w = int(n), int(w)
ts = time.perf_counter()
sub = subprocess.run([atelier, "-w", ws, "submit", spec], capture_output=True, text=True)
submit_ms = (time.perf_counter() - ts) * 1000
if sub.returncode != 0:
    sys.exit(f"submit failed: {sub.stdout}{sub.stderr}")

if store == "pg":
    psql = subprocess.Popen(["psql", "-qAtX", "-v", "ON_ERROR_STOP=1", url], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, bufsize=1)
    def query(sql):
        psql.stdin.write(sql + ";\n"); psql.stdin.flush()
        return psql.stdout.readline().strip()
    query("CHECKPOINT; SELECT 1")  # flush the enqueue's pages before the clock starts (the peer does the same)
else:
    db = sqlite3.connect(f"file:{os.path.join(ws, 'atelier.db')}?mode=ro", uri=True, isolation_level=None)
    def query(sql):
        row = db.execute(sql).fetchone()
        return "" if row is None else "|".join(str(x) for x in row)
if query("SELECT count(*) FROM jobs") != str(n):
    sys.exit("submit did not enqueue the expected number of jobs")

logs = [open(os.path.join(ws, f"worker{i}.log"), "w") for i in range(w)]
t0 = time.perf_counter()
procs = [subprocess.Popen([atelier, "-w", ws, "worker", "--kinds", "sleep"], stdout=logs[i],
                          stderr=subprocess.STDOUT) for i in range(w)]
polls = 0
while True:
    state = query("SELECT state FROM runs WHERE id = 1")
    polls += 1
    if state != "running":
        break
    if any(p.poll() is not None for p in procs):
        sys.exit(f"a worker exited during the drain; see {ws}/worker*.log")
    time.sleep(0.02)
t1 = time.perf_counter()
for p in procs:
    p.send_signal(signal.SIGTERM)
rcs = [p.wait(timeout=120) for p in procs]
counts = query("SELECT string_agg(state || '=' || n, ',') FROM (SELECT state, count(*) AS n FROM jobs GROUP BY state ORDER BY state) s"
               if store == "pg" else
               "SELECT group_concat(state || '=' || n, ',') FROM (SELECT state, count(*) AS n FROM jobs GROUP BY state ORDER BY state)")
span_ms = int(query("SELECT max(finished_at) - min(started_at) FROM jobs"))
attempts = query("SELECT count(*) FROM attempts")
# Jobs one worker claims in one transaction share started_at: claims ~ distinct (pid, started_at).
claims = query("SELECT count(*) FROM (SELECT DISTINCT pid, started_at FROM attempts) s")
per_worker = query("SELECT string_agg(n::text, '/' ORDER BY n) FROM (SELECT pid, count(*) AS n FROM attempts GROUP BY pid) s"
                   if store == "pg" else
                   "SELECT group_concat(n, '/') FROM (SELECT pid, count(*) AS n FROM attempts GROUP BY pid ORDER BY n)")
errors = []
for i in range(w):
    with open(os.path.join(ws, f"worker{i}.log")) as f:
        errors += [l.rstrip() for l in f if " info " not in l]
ok = state == "succeeded" and counts == f"succeeded={n}" and all(rc == 0 for rc in rcs) and not errors
out = {
    "system": f"atelier-{store}", "jobs": n, "workers": w,
    "drain_s": round(t1 - t0, 3), "drain_jobs_per_s": round(n / (t1 - t0)),
    "db_span_jobs_per_s": round(n / (span_ms / 1000)) if span_ms > 0 else None,
    "ok": ok,
    "notes": f"run state {state}; jobs {counts}; attempts {attempts}; worker exit codes {rcs}; "
             f"non-info worker log lines {len(errors)}{(': ' + ' | '.join(errors[:3])) if errors else ''}; "
             f"per-worker attempts {per_worker}; claim transactions ~{claims}; `atelier submit` {submit_ms:.0f} ms (not timed); {polls} polls 20 ms apart; "
             f"DB span (max finished_at - min started_at) {span_ms} ms",
}
print(json.dumps(out), flush=True)
if not ok:
    sys.exit(f"atelier-{store} drain did not finish cleanly; worker logs in {ws}")
PY
}

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $(nproc)"
  echo "load before: $(uptime)"
  echo "node: $(node --version)"
} >&2
for w in $workers_list; do
  for ((r = 1; r <= rounds; r++)); do
    echo "workers $w, round $r/$rounds: atelier on PostgreSQL (load average $(uptime | sed "s/.*average: //"))" >&2
    atelier_drain pg "$w" "$r" | tee -a "$tmp/results.jsonl"
    echo "workers $w, round $r/$rounds: graphile-worker" >&2
    (cd "$peer" && node bench.js --url "$base" --db graphile_bench --jobs "$jobs" --workers "$w") |
      tee -a "$tmp/results.jsonl"
    echo "workers $w, round $r/$rounds: atelier on SQLite" >&2
    atelier_drain sqlite "$w" "$r" | tee -a "$tmp/results.jsonl"
  done
done
echo "load after: $(uptime)" >&2

python3 - "$tmp/results.jsonl" "$jobs" "$rounds" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
jobs, rounds = sys.argv[2], sys.argv[3]
by = {}
for r in rows:
    by.setdefault((r["workers"], r.get("system") or r.get("peer")), []).append(r["drain_jobs_per_s"])
def med(w, s):
    v = by.get((w, s), [])
    return statistics.median(v) if v else float("nan")
print(f"\nmedians of {rounds} round(s), {jobs} no-op jobs, drain jobs/s (each round's figures in brackets)\n")
print("| workers | Atelier, PostgreSQL | graphile-worker | Atelier / graphile-worker | Atelier, SQLite |")
print("|---:|---:|---:|---:|---:|")
for w in sorted({r["workers"] for r in rows}):
    a, g, s = med(w, "atelier-pg"), med(w, "graphile-worker"), med(w, "atelier-sqlite")
    runs = lambda k: ", ".join(str(x) for x in by.get((w, k), []))
    print(f"| {w} | {a:,.0f} ({runs('atelier-pg')}) | {g:,.0f} ({runs('graphile-worker')}) | {a / g:.2f}x | {s:,.0f} ({runs('atelier-sqlite')}) |")
PY
