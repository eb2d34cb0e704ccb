#!/usr/bin/env bash
# The main job: installs and builds Atelier, makes a workspace and runs the
# example pipeline end to end, then prints where its outputs are. Safe to
# re-run: the same workspace is reused and each run gets a fresh key.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
BIN="$PWD/${BUILD_DIR:-build}/cli/atelier"
WS=${ATELIER_WORKSPACE:-$PWD/atelier-demo}
SPEC=${1:-pipelines/examples/hello.yaml}

"$BIN" init "$WS" >/dev/null
echo "workspace: $WS"
echo "running $SPEC"
rc=0
"$BIN" -w "$WS" run "$SPEC" || rc=$?
echo
"$BIN" -w "$WS" status || true
echo
echo "outputs (content-addressed, by sha256):"
"$BIN" -w "$WS" assets --run "$("$BIN" -w "$WS" status --json | sed -E 's/.*"run":"(r[0-9]+)".*/\1/')" | head -20
echo
echo "asset store: $WS/assets    job logs: $WS/logs"
echo "more: $BIN -w $WS jobs | logs JOB | status --json"
exit $rc
