#!/usr/bin/env bash
# The main job: installs and builds Atelier, makes a workspace and runs the
# example campaign end to end (pipelines/examples/campaign.yaml: learn a brand's
# style from 60 images, draw product shots in it, check them, cut videos for
# three channels, write the report), then says where everything is.
#
#   ./scripts/quickstart.sh                 # the campaign
#   ./scripts/quickstart.sh SPEC.yaml       # any other spec, e.g. pipelines/examples/hello.yaml
#
# Safe to re-run: the workspace, its inputs and registry are reused, and each run
# is a new run with a fresh key. Workspace: $ATELIER_WORKSPACE, else ./atelier-demo.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh atelier atelier-ml   # only what the main job runs; test.sh builds the rest
./scripts/fetch_datasets.sh   # the emoji sets the campaign's inputs come from
BIN="$PWD/${BUILD_DIR:-build}/cli/atelier"
WS=${ATELIER_WORKSPACE:-$PWD/atelier-demo}
SPEC=${1:-pipelines/examples/campaign.yaml}

"$BIN" init "$WS" >/dev/null
echo "workspace: $WS"
SETS=()
NAMES="{stage}_{job}_{index}"
if [[ "$(basename "$SPEC")" == campaign.yaml ]]; then
  NAMES="{product}_{scene}_{aspect}_{seed}"
  # The brand's images and the protected works the copyright check compares against.
  "$BIN" example-data "$WS/campaign-data"
  "$BIN" -w "$WS" registry add "$WS/campaign-data/protected" --label "held-out Twemoji" | head -1
  SETS=(--set "data=$WS/campaign-data")
fi

echo "running $SPEC"
start=$(date +%s)
rc=0
"$BIN" -w "$WS" run "$SPEC" "${SETS[@]}" || rc=$?
echo "took $(( $(date +%s) - start )) s"
echo
RUN=$("$BIN" -w "$WS" status --json | sed -E 's/.*"run":"(r[0-9]+)".*/\1/')
"$BIN" -w "$WS" status "$RUN" || true
echo

REPORT="$WS/reports/$RUN.html"
"$BIN" -w "$WS" report "$RUN" --out "$REPORT" >/dev/null
OUT="$WS/deliverables/$RUN"
"$BIN" -w "$WS" export "$RUN" "$OUT" --name "$NAMES" >/dev/null
videos=$(find "$OUT" -name '*.mp4' | wc -l)
images=$(find "$OUT" -name '*.png' | wc -l)
echo "report:      $REPORT"
echo "deliverables: $OUT ($images images and $videos videos with human names, each with a signed manifest)"
echo "provenance:  $BIN -w $WS provenance FILE     (any image or video: back to the brand images)"
echo "dashboard:   $BIN -w $WS serve               (then open http://127.0.0.1:8080/)"
exit $rc
