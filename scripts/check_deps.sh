#!/usr/bin/env bash
# Fails on an #include that breaks the folders' dependency rules
# (docs/architecture.md). Each folder may include its own headers and those of
# the folders listed for it; tests/, bench/ and fuzz/ may include any.
#
#   scripts/check_deps.sh [ROOT]     # exit 0: clean; 1: prints each bad include
set -euo pipefail
ROOT=${1:-"$(cd "$(dirname "$0")/.." && pwd)"}
cd "$ROOT"

declare -A ALLOWED=(
  [common]=""
  [kinds]="common"
  [schema]=""
  [media]="common kinds"
  [checks]="common media"
  [ml]="common media"
  [orchestrator]="common media schema"
  [provenance]="common media orchestrator"
  [pipelines]="common kinds media orchestrator"
  [workers]="common kinds media checks ml orchestrator pipelines provenance"
  [dashboard]="common kinds media orchestrator pipelines provenance"
  [cli]="common kinds media checks ml orchestrator pipelines provenance workers dashboard"
)
PROJECT_DIRS=" ${!ALLOWED[*]} tests bench fuzz "

bad=0
for dir in "${!ALLOWED[@]}"; do
  [ -d "$dir" ] || continue
  while IFS= read -r hit; do
    file=${hit%%:*}
    rest=${hit#*:}
    line=${rest%%:*}
    target=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/' <<<"${rest#*:}")
    if [[ "$target" == ../* ]]; then
      # Resolve a relative include against the including file's folder.
      resolved=$(realpath -m --relative-to="$ROOT" "$(dirname "$file")/$target")
      top=${resolved%%/*}
    else
      top=${target%%/*}
      [[ "$target" == */* ]] || continue  # a header beside the file
      [[ "$PROJECT_DIRS" == *" $top "* ]] || continue  # a folder of its own (sql/, hash/)
    fi
    [ "$top" = "$dir" ] && continue
    if [[ " ${ALLOWED[$dir]} " != *" $top "* ]]; then
      echo "$file:$line: includes \"$target\": $dir/ may depend on: ${ALLOWED[$dir]:-nothing}"
      bad=1
    fi
  done < <(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$dir" \
             --include='*.h' --include='*.cpp' --include='*.hpp' || true)
done
if [ "$bad" -ne 0 ]; then
  echo "check_deps: folder dependency rules broken (docs/architecture.md)" >&2
  exit 1
fi
echo "check_deps: every include follows the folder rules"
