#!/usr/bin/env bash
# LoRA effect: a LoRA trained on 60 Noto-style brand images (bench/lora/
# brand_style.yaml, the example campaign's settings) should move the base model's
# outputs to the Noto style on subjects none of the 60 show. A style classifier
# trained on real images (Twemoji vs Noto) labels the base model's images and the
# LoRA's, same prompts and seeds. Targets: base <= 30% Noto, LoRA >= 70% Noto.
#
#   bash bench/lora/run_lora_effect.sh [--build DIR] [--scale 1.0] [--seeds 2]
#       [--spec bench/lora/brand_style.yaml] [OUTDIR]
#
# Writes OUTDIR/effect.json, effect.md and grid.png (base | LoRA, side by side);
# default OUTDIR bench/lora/out.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
python=${PYTHON:-/usr/bin/python3}
build=build scale=1.0 seeds=2 out="" spec=""
while (($#)); do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --scale) scale=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --spec) spec=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) out=$1; shift ;;
  esac
done
out=${out:-$here/out}
spec=$(cd "$(dirname "${spec:-$here/brand_style.yaml}")" && pwd)/$(basename "${spec:-brand_style.yaml}")
[[ "$build" = /* ]] || build="$repo/$build"
atelier="$build/cli/atelier"
[[ -x "$atelier" ]] || { echo "missing $atelier: build it first" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)

# 1. the style classifier (trained once, cached)
classifier="${ATELIER_BENCH_CACHE:-$HOME/.cache/atelier/bench}/style_classifier.pt"
[[ -f "$classifier" ]] || "$python" "$here/style_classifier.py" --out "$classifier"

# 2. the brand images and the evaluation prompts
rm -rf "$out/brand"
"$python" "$here/brand_set.py" --out "$out/brand" >"$out/brand.json"

# 3. captions + LoRA exactly as the example spec makes them
ws="$out/ws"
rm -rf "$ws"
"$atelier" init "$ws" >/dev/null
t0=$(date +%s)
"$atelier" -w "$ws" run "$spec" --set "brand=$out/brand" \
  --workers caption=1,train_lora=1,generate=1 >&2
t1=$(date +%s)
lora=$("$atelier" -w "$ws" --json assets --run r1 | "$python" -c \
  'import json,sys; print([a["path"] for a in json.load(sys.stdin) if a["path"].endswith(".safetensors")][0])')
trigger=$(sed -nE 's/^  trigger: *([^ #]+).*/\1/p' "$spec")

# 4. the same prompts and seeds without and with the LoRA
"$python" - "$out" "$atelier" "$lora" "$scale" "$seeds" "$trigger" "$classifier" "$((t1 - t0))" "$here" <<'PY'
import json, os, subprocess, sys
out, atelier, lora, scale, seeds, trigger, classifier, secs, here = sys.argv[1:10]
seeds = int(seeds)
prompts = json.load(open(os.path.join(out, "brand.json")))["eval_prompts"]
files = {"base": [], "lora": []}
for k, p in enumerate(prompts):
    prompt = "%s, %s" % (trigger, p["prompt"])
    for side in ("base", "lora"):
        d = os.path.join(out, side)
        cmd = [atelier, "generate", prompt, "--count", str(seeds), "--seed", "0",
               "--out", d, "--prefix", "p%03d_" % k]
        if side == "lora":
            cmd += ["--lora", "%s:%s" % (lora, scale)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        files[side] += [os.path.join(d, "p%03d_%d.png" % (k, s)) for s in range(seeds)]
res = {}
for side in ("base", "lora"):
    r = subprocess.run([sys.executable, os.path.join(here, "style_classifier.py"), "--out", classifier,
                        "--classify"] + files[side], check=True, capture_output=True, text=True)
    ps = [float(line.split("\t")[0]) for line in r.stdout.splitlines()]
    res[side] = {"images": len(ps), "noto_share": sum(p > 0.5 for p in ps) / len(ps),
                 "mean_p_noto": sum(ps) / len(ps)}
import torch  # noqa: E402
ck = torch.load(classifier)
summary = {"lora": lora, "scale": float(scale), "seeds": seeds, "prompts": len(prompts),
           "trigger": trigger, "pipeline_seconds": int(secs), "classifier": ck["results"],
           "base": res["base"], "with_lora": res["lora"],
           "targets": {"base_noto_at_most": 0.30, "lora_noto_at_least": 0.70},
           "met": res["base"]["noto_share"] <= 0.30 and res["lora"]["noto_share"] >= 0.70}
json.dump(summary, open(os.path.join(out, "effect.json"), "w"), indent=1)
L = ["| images (%d prompts x %d seeds) | labelled Noto | target | met |" % (len(prompts), seeds),
     "|---|---:|---|---|",
     "| base model | %.1f%% | <= 30%% | %s |" % (100 * res["base"]["noto_share"],
                                              "yes" if res["base"]["noto_share"] <= 0.30 else "no"),
     "| with the LoRA (scale %s) | %.1f%% | >= 70%% | %s |" % (scale, 100 * res["lora"]["noto_share"],
                                                           "yes" if res["lora"]["noto_share"] >= 0.70 else "no"),
     "", "Style classifier on held-out real images: %.1f%% correct (%d images)." % (
         100 * ck["results"]["held_out_accuracy"], ck["results"]["held_out_images"]),
     "Caption + LoRA training + preview pipeline: %s s." % secs]
open(os.path.join(out, "effect.md"), "w").write("\n".join(L) + "\n")
print("\n".join(L))
# side-by-side grid: base | LoRA for the first 12 prompts, seed 0
from PIL import Image, ImageDraw
n = min(12, len(prompts))
cell, label = 96, 170
g = Image.new("RGB", (label + 2 * (cell + 4), n * (cell + 4) + 16), "white")
d = ImageDraw.Draw(g)
d.text((label, 2), "base", fill="black")
d.text((label + cell + 4, 2), "LoRA", fill="black")
for i in range(n):
    y = 16 + i * (cell + 4)
    d.text((4, y + cell // 2 - 6), prompts[i]["prompt"][:26], fill="black")
    for j, side in enumerate(("base", "lora")):
        im = Image.open(files[side][i * seeds]).convert("RGB").resize((cell, cell), Image.NEAREST)
        g.paste(im, (label + j * (cell + 4), y))
g.save(os.path.join(out, "grid.png"))
PY
echo "wrote $out/effect.json, $out/effect.md, $out/grid.png" >&2
