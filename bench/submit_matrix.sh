#!/usr/bin/env bash
# Times `atelier submit` (process start included) and `--dry-run` for a spec
# whose matrix expands to N jobs (default 10,000), 5 runs each, each submit in
# a fresh workspace. Usage: bash bench/submit_matrix.sh [BUILD_DIR] [N]
set -euo pipefail
BUILD=${1:-build}
N=${2:-10000}
BIN="$(cd "$BUILD" && pwd)/cli/atelier"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
python3 - "$N" > "$TMP/matrix.yaml" <<'PY'
import sys
n = int(sys.argv[1])
a = 100
b = n // a
print("version: 1\nname: matrix\nstages:\n  - id: render\n    kind: sleep\n    with: {ms: 0, label: \"{product} in {scene}\"}")
print("    matrix:\n      product: [" + ", ".join(f"p{i}" for i in range(a)) + "]")
print("      scene: [" + ", ".join(f"s{i}" for i in range(b)) + "]")
PY
ms() { python3 -c 'import time; print(int(time.time()*1000))'; }
echo "jobs: $N"
for mode in submit dry-run; do
  times=()
  for i in 1 2 3 4 5; do
    "$BIN" init "$TMP/ws$i-$mode" >/dev/null
    args=(-w "$TMP/ws$i-$mode" submit "$TMP/matrix.yaml")
    [ "$mode" = dry-run ] && args+=(--dry-run --json)
    t0=$(ms); "$BIN" "${args[@]}" >/dev/null; t1=$(ms)
    times+=($((t1 - t0)))
  done
  echo "$mode ms: ${times[*]}"
done
