#!/usr/bin/env bash
# Stable Diffusion on CPU: the C++ forward passes (atelier_sd_bench) against
# the plain-torch reference run eagerly (bench/sd/sd_bench_ref.py), on the same
# random-weight full-size fp16 checkpoint and the same inputs, at each thread
# count. Each process loads the model once and times `REPEATS` runs of each
# part (one guided UNet step = batch 2; a 77-token text encoding; a VAE
# decode); the median is reported. Outputs are saved and compared (max abs
# diff <= 1e-3). Peak RSS is /usr/bin/time -v's maximum resident set size of
# each whole process (model load included).
#
#   bash bench/sd/run_sd_bench.sh [BUILD_DIR]          (default: build-sd)
#   env: FAMILY (sd15 | sdxl)  THREADS ("1 2")  REPEATS (3)  PARTS (unet,text,vae)
#        LATENT (64 for sd15, 128 for sdxl)  WORK (/tmp/atelier-sd-bench)
#        PYTHON (/usr/bin/python3)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-build-sd}
if [[ "$build" != /* ]]; then build="$repo/$build"; fi
bench="$build/bench/atelier_sd_bench"
[[ -x "$bench" ]] || { echo "missing $bench: ninja -C $build atelier_sd_bench" >&2; exit 2; }
family=${FAMILY:-sd15}
threads=${THREADS:-"1 2"}
repeats=${REPEATS:-3}
parts=${PARTS:-unet,text,vae}
python=${PYTHON:-/usr/bin/python3}
work=${WORK:-/tmp/atelier-sd-bench}
if [[ $family == sdxl ]]; then latent=${LATENT:-128}; else latent=${LATENT:-64}; fi
mkdir -p "$work"
ckpt="$work/${family}_full_fp16.safetensors"
inputs="$work/${family}_inputs_${latent}.safetensors"
ref="$repo/bench/sd/sd_bench_ref.py"

[[ -f "$ckpt" ]] || "$bench" --write-checkpoint "$family" "$ckpt"
[[ -f "$inputs" ]] || "$python" "$ref" make-inputs "$ckpt" "$inputs" --latent "$latent"

echo "# $(date -Is) $(uname -m) $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for t in $threads; do
  for side in cpp python; do
    out="$work/${family}_${side}_t${t}.safetensors"
    if [[ $side == cpp ]]; then
      cmd=("$bench" --checkpoint "$ckpt" --inputs "$inputs" --out "$out" --threads "$t"
           --repeats "$repeats" --parts "$parts")
    else
      cmd=("$python" "$ref" run "$ckpt" "$inputs" "$out" --threads "$t" --repeats "$repeats"
           --parts "$parts")
    fi
    /usr/bin/time -v "${cmd[@]}" 2> "$work/time_${side}_t${t}.txt"
    echo "{\"impl\":\"$side\",\"threads\":$t,\"time_v_max_rss_mb\":$(awk '/Maximum resident/ {print $6/1024}' "$work/time_${side}_t${t}.txt")}"
  done
  "$python" "$ref" compare "$work/${family}_cpp_t${t}.safetensors" "$work/${family}_python_t${t}.safetensors"
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
