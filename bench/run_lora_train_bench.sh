#!/usr/bin/env bash
# LoRA training speed: steps per second of `atelier train-lora` (C++/libtorch)
# against its PyTorch peer bench/python/lora_peer.py (same model file, images,
# targets, loss and optimiser), at each thread count, in one invocation.
#
#   bash bench/run_lora_train_bench.sh [BUILD_DIR]          (default: build)
#   env: MODEL (models/twemoji-base-32.safetensors)  STEPS (60)  BATCH (8)
#        RANK (8)  CONV (1: adapt the convolutions too, as the example campaign does)
#        THREADS ("1 2")  ROUNDS (3)  PYTHON (/usr/bin/python3)
#
# The images are the LoRA benchmark's 60 Noto brand images (bench/lora/brand_set.py),
# uncaptioned but for the trigger word. Each run is a fresh process; model and image
# loading are outside the timed loop on both sides. Rounds alternate which side goes
# first, after one untimed warm-up run of each.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-build}
[[ "$build" = /* ]] || build="$repo/$build"
atelier="$build/cli/atelier"
[[ -x "$atelier" ]] || { echo "missing $atelier: build it first" >&2; exit 2; }
model=${MODEL:-$repo/models/twemoji-base-32.safetensors}
steps=${STEPS:-60} batch=${BATCH:-8} rank=${RANK:-8} conv=${CONV:-1}
threads_list=${THREADS:-1 2} rounds=${ROUNDS:-3}
python=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lora-bench-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$python" "$repo/bench/lora/brand_set.py" --out "$tmp/brand" >/dev/null
results="$tmp/results.tsv"
: >"$results"
convflag=()
[[ $conv == 1 ]] && convflag=(--conv)

run() {  # side threads round
  local side=$1 t=$2 r=$3 err="$tmp/err-$1-$2-$3" rate
  if [[ $side == atelier ]]; then
    "$atelier" train-lora --model "$model" --images "$tmp/brand" --out "$tmp/l-$t-$r.safetensors" \
      --steps "$steps" --batch "$batch" --rank "$rank" --trigger acme --threads "$t" \
      --checkpoint-every 1000000 --fresh "${convflag[@]}" >/dev/null 2>"$err"
    rate=$(sed -nE 's/.*\(([0-9.e+-]+) steps\/s\).*/\1/p' "$err" | tail -1)
  else
    "$python" "$repo/bench/python/lora_peer.py" train --model "$model" --images "$tmp/brand" \
      --steps "$steps" --batch "$batch" --rank "$rank" --trigger acme --threads "$t" \
      "${convflag[@]}" >/dev/null 2>"$err"
    rate=$(sed -nE 's/.*\(([0-9.e+-]+) steps\/s.*/\1/p' "$err" | tail -1)
  fi
  [[ -n "$rate" ]] || { echo "$side failed:" >&2; cat "$err" >&2; exit 1; }
  [[ $r == warmup ]] || printf '%s\t%s\t%s\t%s\n' "$side" "$t" "$r" "$rate" >>"$results"
  printf '%-8s threads %s round %-6s %8s steps/s\n' "$side" "$t" "$r" "$rate" >&2
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" >&2
echo "load before: $(uptime)" >&2
for t in $threads_list; do
  run atelier "$t" warmup
  run python "$t" warmup
  for ((r = 1; r <= rounds; r++)); do
    if ((r % 2)); then run atelier "$t" "$r"; run python "$t" "$r"
    else run python "$t" "$r"; run atelier "$t" "$r"; fi
  done
done
"$python" - "$results" "$steps" "$batch" "$rank" "$conv" <<'PY'
import sys, statistics
path, steps, batch, rank, conv = sys.argv[1:6]
runs = {}
for line in open(path):
    side, t, r, rate = line.split("\t")
    runs.setdefault((side, int(t)), []).append(float(rate))
print()
print("LoRA training, %s steps, batch %s, rank %s%s; medians of %d rounds." % (
    steps, batch, rank, ", convolutions adapted too" if conv == "1" else "",
    max(len(v) for v in runs.values())))
print()
print("| threads | Atelier (steps/s) | Python peer (steps/s) | Atelier / Python | target | met |")
print("|---:|---:|---:|---:|---|---|")
for t in sorted({t for _, t in runs}):
    a, p = statistics.median(runs[("atelier", t)]), statistics.median(runs[("python", t)])
    print("| %d | %.2f | %.2f | %.2fx | >= 1.0x | %s |" % (t, a, p, a / p, "yes" if a >= p else "no"))
PY
