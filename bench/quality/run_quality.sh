#!/usr/bin/env bash
# Quality benchmark of a base model: category accuracy of generated images (by a
# separate classifier trained on real images) and their distance to the nearest
# training image. See docs/quality.md.
#
#   bash bench/quality/run_quality.sh [options] MODEL [OUTDIR]
#
#   MODEL    a .safetensors model file
#   OUTDIR   where quality.json, quality.md, grid.png and images/ go
#            (default: bench/quality/out/<model file name without .safetensors>)
# options:
#   --steps N (40)  --sampler NAME ("DDIM")  --cfg X (5)  --seed S (0)
#   --train-prompts N (300)  --heldout-prompts N (100)  --prompt-seed S (0)
#   --threshold RMSE (10)    memorisation: count images closer than this to a training image
#   --threads N (0 = all cores, per atelier generate / classifier training)
#   --jobs N (1)             atelier generate processes at once
#   --build DIR (build)      where cli/atelier is
#   --classifier PATH (~/.cache/atelier/bench/classifier.pt)
#   --retrain                train the classifier even if PATH exists
#   --classifier-args "..."  extra arguments for train_classifier.py
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${PYTHON:-/usr/bin/python3}
steps=40 sampler="DDIM" cfg=5 seed=0 ntrain=300 nheld=100 pseed=0 threshold=10
threads=0 jobs=1 build=build retrain=0 clf_args=""
classifier="${ATELIER_BENCH_CACHE:-$HOME/.cache/atelier/bench}/classifier.pt"
cmdline="bash bench/quality/run_quality.sh"
for arg in "$@"; do
  if [[ "$arg" =~ [^A-Za-z0-9_./=:+-] ]]; then cmdline+=" '${arg//\'/\'\\\'\'}'"; else cmdline+=" $arg"; fi
done

pos=()
while (($#)); do
  case "$1" in
    --steps) steps=$2; shift 2 ;;
    --sampler) sampler=$2; shift 2 ;;
    --cfg) cfg=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --train-prompts) ntrain=$2; shift 2 ;;
    --heldout-prompts) nheld=$2; shift 2 ;;
    --prompt-seed) pseed=$2; shift 2 ;;
    --threshold) threshold=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --classifier) classifier=$2; shift 2 ;;
    --retrain) retrain=1; shift ;;
    --classifier-args) clf_args=$2; shift 2 ;;
    -h|--help) sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) pos+=("$1"); shift ;;
  esac
done
((${#pos[@]} >= 1 && ${#pos[@]} <= 2)) || { echo "usage: run_quality.sh [options] MODEL [OUTDIR] (--help)" >&2; exit 2; }
model=${pos[0]}
[[ -f "$model" ]] || { echo "model $model not found" >&2; exit 2; }
stem=$(basename "$model" .safetensors)
outdir=${pos[1]:-$here/out/$stem}
if [[ "$build" != /* && ! -d "$build" ]]; then build="$repo/$build"; fi
atelier="$(cd "$build" && pwd)/cli/atelier"
[[ -x "$atelier" ]] || { echo "missing $atelier: build it first" >&2; exit 2; }
mkdir -p "$outdir"

# 1. the classifier: reuse the cached one if it has the current recipe version
need_train=$retrain
if [[ $need_train == 0 ]]; then
  if [[ ! -f "$classifier" ]]; then
    need_train=1
  else
    v=$(cd "$here" && "$python" -c "import sys, torch, train_classifier as t; print(int(torch.load(sys.argv[1]).get('recipe', {}).get('version') == t.RECIPE_VERSION))" "$classifier")
    [[ $v == 1 ]] || { echo "classifier $classifier is from an older recipe: retraining" >&2; need_train=1; }
  fi
fi
if [[ $need_train == 1 ]]; then
  echo "training the classifier -> $classifier" >&2
  # shellcheck disable=SC2086
  "$python" "$here/train_classifier.py" --out "$classifier" --threads "$threads" $clf_args
else
  echo "reusing classifier $classifier" >&2
fi

# 2-5. prompts, images, classification, memorisation, report
"$python" "$here/evaluate.py" --model "$model" --outdir "$outdir" --atelier "$atelier" \
  --classifier "$classifier" --steps "$steps" --sampler "$sampler" --cfg "$cfg" --seed "$seed" \
  --train-prompts "$ntrain" --heldout-prompts "$nheld" --prompt-seed "$pseed" \
  --threshold "$threshold" --threads "$threads" --jobs "$jobs" --command "$cmdline"
echo "wrote $outdir/quality.json, $outdir/quality.md, $outdir/grid.png" >&2
