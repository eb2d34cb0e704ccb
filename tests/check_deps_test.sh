#!/usr/bin/env bash
# scripts/check_deps.sh on a planted tree: it passes a clean include and fails,
# naming the file and line, on one that breaks the rules.
set -euo pipefail
script="$(cd "$(dirname "$0")/.." && pwd)/scripts/check_deps.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/common" "$tmp/media" "$tmp/workers"
printf '#pragma once\n#include <string>\n' >"$tmp/common/text.h"
printf '#include "common/text.h"\n#include "png_io.h"\n' >"$tmp/media/png_io.cpp"
"$script" "$tmp" >/dev/null
printf '#pragma once\n' >"$tmp/workers/job_kind.h"
printf '#include "common/text.h"\n#include "workers/job_kind.h"\n' >"$tmp/media/bad.cpp"
if out=$("$script" "$tmp" 2>&1); then
  echo "check_deps passed a media/ -> workers/ include"
  exit 1
fi
grep -q 'media/bad.cpp:2: includes "workers/job_kind.h"' <<<"$out" || { echo "$out"; exit 1; }
echo "check_deps: planted bad include refused"
