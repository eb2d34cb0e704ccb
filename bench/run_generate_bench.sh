#!/usr/bin/env bash
# Generation benchmark: images per second of `atelier generate` (C++/libtorch) and of
# its PyTorch peer bench/python/atelier_model.py (same model file, same request,
# same pixels), at each thread count, in one invocation so both see the same
# machine state. Prints every run and then a markdown table of medians.
#
#   bash bench/run_generate_bench.sh [BUILD_DIR]        (default: build)
#   env: MODEL (models/twemoji-base-32.safetensors)  PROMPT ("grinning face")
#        COUNT (16, one batch of COUNT)  STEPS (40)  SAMPLER ("DDIM")  CFG (5)
#        SEED (0)  THREADS ("1 2")  ROUNDS (3)  PYTHON (/usr/bin/python3)  KEEP=1
#
# Fairness: each run is a fresh process for both sides; model loading is outside
# the timed region for both (the C++ command times ml::generate and prints it on
# stderr; the peer times only its generate() call the same way). Before the timed
# rounds of each thread count, one untimed warm-up run of each side is made. Rounds
# alternate which side goes first. Both inherit the caller's environment and
# nothing else: each side runs as it ships (`atelier` sets OMP_WAIT_POLICY=PASSIVE
# for itself unless the caller set it, docs/models.md; Python's libgomp spins by
# default, which is its faster setting at 2 threads). Any OMP_/MKL_ variable the
# caller exports applies to both.
# Peak memory is /usr/bin/time -v's "Maximum resident set size" of each process
# (model load included).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build}
if [[ "$build" != /* && ! -d "$build" ]]; then build="$repo/$build"; fi
build=$(cd "$build" && pwd)
atelier="$build/cli/atelier"
[[ -x "$atelier" ]] || { echo "missing $atelier: build it first (ninja -C $build atelier)" >&2; exit 2; }

model=${MODEL:-$repo/models/twemoji-base-32.safetensors}
[[ -f "$model" ]] || { echo "missing model $model (set MODEL=...)" >&2; exit 2; }
prompt=${PROMPT:-grinning face}
count=${COUNT:-16}
steps=${STEPS:-40}
sampler=${SAMPLER:-DDIM}
cfg=${CFG:-5}
seed=${SEED:-0}
threads_list=${THREADS:-1 2}
rounds=${ROUNDS:-3}
python=${PYTHON:-/usr/bin/python3}
peer="$repo/bench/python/atelier_model.py"
[[ -x /usr/bin/time ]] || { echo "missing /usr/bin/time (apt-get install time)" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/generate-bench-XXXXXX")
if [[ "${KEEP:-0}" != 1 ]]; then trap 'rm -rf "$tmp"' EXIT; fi
results="$tmp/results.tsv"
: >"$results"

# run SIDE THREADS ROUND: one process; appends "side threads round images/s secs rss_kb"
run() {
  local side=$1 t=$2 r=$3 out="$tmp/out-$1-$2-$3" err="$tmp/err-$1-$2-$3" tv="$tmp/time-$1-$2-$3"
  local args=("$prompt" --model "$model" --count "$count" --batch "$count" --seed "$seed"
    --steps "$steps" --sampler "$sampler" --cfg "$cfg" --threads "$t" --out "$out" --prefix img_)
  local cmd=("$atelier" generate)
  [[ $side == atelier ]] || cmd=("$python" "$peer" generate)
  if ! /usr/bin/time -v -o "$tv" "${cmd[@]}" "${args[@]}" >/dev/null 2>"$err"; then
    echo "$side failed:" >&2; cat "$err" "$tv" >&2; exit 1
  fi
  local line rate secs rss
  line=$(grep -E 'image\(s\) in .* images/s' "$err" | tail -1)
  secs=$(sed -E 's/.* in ([0-9.e+-]+) s .*/\1/' <<<"$line")
  rate=$(sed -E 's/.*\(([0-9.e+-]+) images\/s.*/\1/' <<<"$line")
  rss=$(sed -nE 's/.*Maximum resident set size \(kbytes\): ([0-9]+).*/\1/p' "$tv")
  [[ $r == warmup ]] || printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$side" "$t" "$r" "$rate" "$secs" "$rss" >>"$results"
  printf '%-8s threads %s round %-6s %10s images/s  %8s s  peak RSS %s KiB\n' \
    "$side" "$t" "$r" "$rate" "$secs" "$rss" >&2
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" >&2
echo "load before: $(uptime)" >&2
echo "request: '$prompt' count $count (one batch) steps $steps sampler '$sampler' cfg $cfg seed $seed" >&2
omp_env=$(env | grep -E '^(OMP|MKL|GOMP|KMP)_' | sort | tr '\n' ' ' || true)
echo "environment for both sides: ${omp_env:-no OMP_/MKL_/GOMP_/KMP_ variables set}" >&2
for t in $threads_list; do
  run atelier "$t" warmup
  run python "$t" warmup
  for ((r = 1; r <= rounds; r++)); do
    if ((r % 2)); then run atelier "$t" "$r"; run python "$t" "$r"
    else run python "$t" "$r"; run atelier "$t" "$r"; fi
  done
  # Same request, same thread count: the peer must reproduce the C++ pixels.
  diff=$("$python" - "$tmp/out-atelier-$t-1" "$tmp/out-python-$t-1" <<'EOF'
import sys, os, numpy as np
from PIL import Image
a, b = sys.argv[1], sys.argv[2]
worst = 0
for f in sorted(os.listdir(a)):
    x = np.asarray(Image.open(os.path.join(a, f)).convert("RGB")).astype(int)
    y = np.asarray(Image.open(os.path.join(b, f)).convert("RGB")).astype(int)
    worst = max(worst, int(np.abs(x - y).max()))
print(worst)
EOF
)
  printf 'pixel\t%s\t-\t%s\t-\t-\n' "$t" "$diff" >>"$results"
  echo "threads $t: max pixel difference C++ vs Python: $diff" >&2
done
echo "load after: $(uptime)" >&2
[[ "${KEEP:-0}" == 1 ]] && echo "raw results kept in $tmp" >&2

"$python" - "$results" "$count" "$steps" "$sampler" "$cfg" "${omp_env:-none}" <<'EOF'
import sys, statistics
path, count, steps, sampler, cfg, env = sys.argv[1:7]
runs, pixel = {}, {}
for line in open(path):
    side, t, r, rate, secs, rss = line.rstrip("\n").split("\t")
    if side == "pixel":
        pixel[int(t)] = rate
        continue
    runs.setdefault((side, int(t)), []).append((float(rate), float(secs), int(rss)))
med = {k: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v),
           max(x[2] for x in v), len(v)) for k, v in runs.items()}
threads = sorted({t for _, t in med})
print()
print("Batch of %s, %s steps, %s, cfg %s; medians of %d rounds (sampling time only; "
      "peak RSS is the whole process); OpenMP/MKL environment: %s." % (
          count, steps, sampler, cfg, max(m[3] for m in med.values()), env.strip()))
print()
print("| threads | Atelier (images/s) | Python peer (images/s) | Atelier / Python | target | met "
      "| Atelier peak RSS (MiB) | Python peak RSS (MiB) | max pixel diff |")
print("|---:|---:|---:|---:|---|---|---:|---:|---:|")
for t in threads:
    a, p = med.get(("atelier", t)), med.get(("python", t))
    ratio = a[0] / p[0]
    print("| %d | %.2f | %.2f | %.2fx | >= 1.1x | %s | %.0f | %.0f | %s |" % (
        t, a[0], p[0], ratio, "yes" if ratio >= 1.1 else "no", a[2] / 1024, p[2] / 1024,
        pixel.get(t, "?")))
if len(threads) >= 2:
    lo, hi = threads[0], threads[-1]
    s_a = med[("atelier", hi)][0] / med[("atelier", lo)][0]
    s_p = med[("python", hi)][0] / med[("python", lo)][0]
    print()
    print("| speed-up %d -> %d threads | Atelier | Python peer | target (Atelier) | met |" % (lo, hi))
    print("|---|---:|---:|---|---|")
    print("| images/s ratio | %.2fx | %.2fx | >= 1.7x | %s |" % (s_a, s_p, "yes" if s_a >= 1.7 else "no"))
EOF
