#!/usr/bin/python3
"""Quality evaluation of a base model (called by run_quality.sh).

1. Prompts: the lower-case emoji.json names (as ml/emoji_dataset.cpp builds them) of
   base emoji only (no skin-tone variants): --train-prompts drawn from the
   training split and --heldout-prompts from the held-out split, with a seeded
   random.Random(--prompt-seed) sample over the emoji.json order. A name shared
   by more than one emoji is used once.
2. Images: one per prompt with `atelier generate` at the given steps, sampler and
   cfg; the seed of a prompt is --seed + FNV-1a 64(name) % 1000003, fixed per prompt
   and independent of which other prompts were drawn.
3. Category accuracy: the classifier of train_classifier.py labels each image;
   a hit is the prompt's own category.
4. Memorisation: RMSE (8-bit RGB, 32x32, range 0-255) from each image to its
   nearest training-split real Twemoji image (all of them, skin tones included).
   For calibration, the same distance is given for the held-out real images.
5. Writes quality.json, quality.md and grid.png to --outdir.
"""
import argparse
import concurrent.futures as cf
import datetime
import hashlib
import json
import os
import random
import struct
import subprocess
import sys
import time

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "python"))
import emoji_data  # noqa: E402
import train_classifier  # noqa: E402
from atelier_model import Tokenizer  # noqa: E402


def model_info(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        meta = json.loads(f.read(n)).get("__metadata__", {}) or {}
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha.update(chunk)
    return meta, sha.hexdigest()


def pick_prompts(n_train, n_held, prompt_seed):
    recs = [r for r in emoji_data.load_records("twitter") if r["is_base"]]
    splits = {}
    for r in recs:
        splits.setdefault(r["name"], set()).add(r["held_out"])
    seen, train, held = set(), [], []
    for r in recs:
        if not r["name"] or r["name"] in seen or len(splits[r["name"]]) > 1:
            continue
        seen.add(r["name"])
        (held if r["held_out"] else train).append(r)
    rng = random.Random(prompt_seed)
    pick_t = rng.sample(train, min(n_train, len(train)))
    pick_h = rng.sample(held, min(n_held, len(held)))
    return [dict(r, split="train") for r in pick_t] + [dict(r, split="held_out") for r in pick_h]


def stats(v):
    v = sorted(v)
    if not v:
        return {}
    def q(p):
        return v[min(len(v) - 1, int(round(p * (len(v) - 1))))]
    return {"min": v[0], "p10": q(0.1), "median": q(0.5), "p90": q(0.9), "max": v[-1],
            "mean": sum(v) / len(v)}


def make_grid(items, path, cols, rows, title):
    from PIL import Image, ImageDraw, ImageFont
    try:
        font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 10)
        tfont = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 12)
    except OSError:
        font = tfont = ImageFont.load_default()
    cw, img_side, text_h, pad, head = 112, 96, 40, 4, 22
    rows = max(1, min(rows, (len(items) + cols - 1) // cols))
    W, H = cols * cw, head + rows * (img_side + text_h + pad)
    grid = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(grid)
    d.text((pad, 4), title, fill=(0, 0, 0), font=tfont)

    def wrap(text, width):
        lines, cur = [], ""
        for w in text.split():
            if d.textlength((cur + " " + w).strip(), font=font) <= width:
                cur = (cur + " " + w).strip()
            else:
                if cur:
                    lines.append(cur)
                cur = w
        if cur:
            lines.append(cur)
        return lines

    for k, it in enumerate(items[:cols * rows]):
        x0 = (k % cols) * cw
        y0 = head + (k // cols) * (img_side + text_h + pad)
        img = Image.open(it["file"]).convert("RGB").resize((img_side, img_side), Image.NEAREST)
        grid.paste(img, (x0 + (cw - img_side) // 2, y0))
        colour = (0, 120, 0) if it["correct"] else (190, 0, 0)
        label = ("[held-out] " if it["split"] == "held_out" else "") + it["prompt"]
        lines = wrap(label, cw - 6)
        if len(lines) > 3:
            lines = lines[:3]
            lines[2] = lines[2][: max(0, len(lines[2]) - 1)] + "\u2026"
        for i, line in enumerate(lines):
            d.text((x0 + 3, y0 + img_side + 1 + i * 12), line, fill=colour, font=font)
    grid.save(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--atelier", required=True)
    ap.add_argument("--classifier", default=train_classifier.default_out())
    ap.add_argument("--train-prompts", type=int, default=300)
    ap.add_argument("--heldout-prompts", type=int, default=100)
    ap.add_argument("--prompt-seed", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--sampler", default="DDIM")
    ap.add_argument("--cfg", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=0, help="threads per atelier generate (0: all)")
    ap.add_argument("--jobs", type=int, default=1, help="atelier generate processes at once")
    ap.add_argument("--threshold", type=float, default=10.0,
                    help="memorisation: count images with nearest-training RMSE below this")
    ap.add_argument("--grid-cols", type=int, default=8)
    ap.add_argument("--grid-rows", type=int, default=6)
    ap.add_argument("--command", default="", help="the command line to print in quality.md")
    a = ap.parse_args()
    torch.set_num_threads(a.threads if a.threads > 0 else os.cpu_count())

    meta, sha = model_info(a.model)
    tok = Tokenizer(json.loads(meta.get("atelier.vocab", "[]")))
    prompts = pick_prompts(a.train_prompts, a.heldout_prompts, a.prompt_seed)
    img_dir = os.path.join(a.outdir, "images")
    os.makedirs(img_dir, exist_ok=True)
    for f in os.listdir(img_dir):
        if f.endswith(".png"):
            os.remove(os.path.join(img_dir, f))

    # 1. generate
    def gen(k, p):
        seed = a.seed + emoji_data.fnv1a64(p["name"]) % 1000003
        prefix = "%s_%03d_" % ("t" if p["split"] == "train" else "h", k)
        cmd = [a.atelier, "generate", p["name"], "--model", a.model, "--count", "1",
               "--seed", str(seed), "--steps", str(a.steps), "--sampler", a.sampler,
               "--cfg", repr(a.cfg), "--out", img_dir, "--prefix", prefix]
        if a.threads > 0:
            cmd += ["--threads", str(a.threads)]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise SystemExit("atelier generate failed for %r:\n%s" % (p["name"], r.stderr))
        return seed, os.path.join(img_dir, "%s%d.png" % (prefix, seed))

    t0 = time.time()
    with cf.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        futs = [ex.submit(gen, k, p) for k, p in enumerate(prompts)]
        done = 0
        for fu in cf.as_completed(futs):
            fu.result()
            done += 1
            if done % 50 == 0 or done == len(futs):
                print("generated %d/%d (%.0f s)" % (done, len(futs), time.time() - t0), flush=True)
    gen_secs = time.time() - t0
    results = [fu.result() for fu in futs]

    # 2. classify
    model, ck = train_classifier.load_classifier(a.classifier)
    x = torch.stack([emoji_data.load_generated_tensor(f) for _, f in results])
    probs = train_classifier.predict(model, x, tta=ck["recipe"]["tta"])
    pred = probs.argmax(1)

    # 3. memorisation: nearest training-split real Twemoji image
    recs, imgs = emoji_data.load_images("twitter")
    tr_idx = [i for i, r in enumerate(recs) if not r["held_out"]]
    ho_idx = [i for i, r in enumerate(recs) if r["held_out"]]
    train_u8 = emoji_data.to_u8(imgs[tr_idx]).flatten(1).to(torch.float64)
    gen_u8 = emoji_data.to_u8(x).flatten(1).to(torch.float64)
    held_u8 = emoji_data.to_u8(imgs[ho_idx]).flatten(1).to(torch.float64)
    D = train_u8.shape[1]
    dist = torch.cdist(gen_u8, train_u8) / D ** 0.5
    nn_d, nn_i = dist.min(1)
    held_nn = (torch.cdist(held_u8, train_u8) / D ** 0.5).min(1).values

    items = []
    for k, p in enumerate(prompts):
        seed, f = results[k]
        nr = recs[tr_idx[int(nn_i[k])]]
        items.append({
            "prompt": p["name"], "split": p["split"], "unified": p["unified"],
            "category": p["category"], "seed": seed, "file": os.path.relpath(f, a.outdir),
            "predicted": emoji_data.CATEGORIES[int(pred[k])],
            "confidence": round(float(probs[k].max()), 4),
            "correct": int(pred[k]) == p["label"],
            "unknown_words": [w.decode("utf-8", "replace") for w in tok.words(p["name"])
                              if w not in tok.ids],
            "nearest_rmse": round(float(nn_d[k]), 3), "nearest_training_image": nr["name"],
            "nearest_unified": nr["unified"], "nearest_is_same_emoji": nr["base"] == p["base"]})

    def split_summary(split):
        sel = [it for it in items if it["split"] == split]
        if not sel:
            return {"images": 0}
        per_cat = {}
        for c in emoji_data.CATEGORIES:
            s = [it for it in sel if it["category"] == c]
            per_cat[c] = {"images": len(s), "accuracy": (sum(it["correct"] for it in s) / len(s)) if s else None}
        d = [it["nearest_rmse"] for it in sel]
        return {"images": len(sel), "category_accuracy": sum(it["correct"] for it in sel) / len(sel),
                "per_category": per_cat,
                "prompts_with_unknown_words": sum(1 for it in sel if it["unknown_words"]),
                "nearest_rmse": stats(d),
                "under_threshold": sum(1 for v in d if v < a.threshold),
                "nearest_is_same_emoji": sum(1 for it in sel if it["nearest_is_same_emoji"]),
                "under_threshold_same_emoji": sum(1 for it in sel if it["nearest_rmse"] < a.threshold
                                                  and it["nearest_is_same_emoji"])}

    all_d = [it["nearest_rmse"] for it in items]
    summary = {
        "train": split_summary("train"), "held_out": split_summary("held_out"),
        "all": {"images": len(items), "nearest_rmse": stats(all_d),
                "under_threshold": sum(1 for v in all_d if v < a.threshold)},
        "real_held_out_nearest_rmse": stats([float(v) for v in held_nn]),
        "real_held_out_under_threshold": int((held_nn < a.threshold).sum()),
        "training_images_compared": len(tr_idx),
    }
    clf = {"path": a.classifier, "recipe": ck["recipe"],
           "held_out_accuracy": ck["results"]["held_out_accuracy"],
           "held_out_images": ck["results"]["held_out_images"],
           "held_out_base_accuracy": ck["results"]["held_out_base_accuracy"],
           "held_out_base_emoji": ck["results"]["held_out_base_emoji"],
           "per_category_base_accuracy": ck["results"]["per_category_base_accuracy"]}
    settings = {"steps": a.steps, "sampler": a.sampler, "cfg": a.cfg, "seed": a.seed,
                "prompt_seed": a.prompt_seed, "train_prompts": a.train_prompts,
                "heldout_prompts": a.heldout_prompts, "threshold": a.threshold,
                "threads": a.threads, "jobs": a.jobs}
    out = {"model": {"path": os.path.abspath(a.model), "sha256": sha,
                     "name": meta.get("atelier.name"), "training_steps": meta.get("atelier.training_steps"),
                     "dataset": meta.get("atelier.dataset")},
           "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "command": a.command, "settings": settings, "classifier": clf, "summary": summary,
           "generation_seconds": round(gen_secs, 1), "images": items}
    with open(os.path.join(a.outdir, "quality.json"), "w") as f:
        json.dump(out, f, indent=1)

    title = "%s  |  %d steps, %s, cfg %g  |  green: classifier agrees with the prompt's category" % (
        meta.get("atelier.name") or os.path.basename(a.model), a.steps, a.sampler, a.cfg)
    n_grid = a.grid_cols * a.grid_rows
    n_h = min(len([i for i in items if i["split"] == "held_out"]), n_grid // 3)
    grid_items = [i for i in items if i["split"] == "train"][: n_grid - n_h] + \
                 [i for i in items if i["split"] == "held_out"][:n_h]
    make_grid([dict(i, file=os.path.join(a.outdir, i["file"])) for i in grid_items],
              os.path.join(a.outdir, "grid.png"), a.grid_cols, a.grid_rows, title)

    write_markdown(out, os.path.join(a.outdir, "quality.md"))
    print(open(os.path.join(a.outdir, "quality.md")).read())


def pct(x):
    return "%.1f%%" % (100 * x) if x is not None else "-"


def write_markdown(o, path):
    s, c, st = o["summary"], o["classifier"], o["settings"]
    tr, ho = s["train"], s["held_out"]
    thr = st["threshold"]

    def met(v, target):
        return "yes" if v is not None and v >= target else "no"

    def rm(d):
        return "%.1f / %.1f / %.1f" % (d["min"], d["median"], d["max"]) if d else "-"

    L = []
    L.append("## Quality: %s" % (o["model"]["name"] or os.path.basename(o["model"]["path"])))
    L.append("")
    L.append("Model file sha256 `%s` (%s training steps, %s). %s; %d steps, %s, cfg %g, one image "
             "per prompt." % (o["model"]["sha256"][:16], o["model"]["training_steps"], o["model"]["dataset"],
                              o["date"], st["steps"], st["sampler"], st["cfg"]))
    L.append("")
    L.append("```sh")
    L.append(o["command"] or "bash bench/quality/run_quality.sh MODEL")
    L.append("```")
    L.append("")
    L.append("| measure | result | target | met |")
    L.append("|---|---:|---|---|")
    cs = c["recipe"]
    L.append("| classifier on held-out real Twemoji images (%d images) | %s | >= 85%% | %s |" % (
        c["held_out_images"], pct(c["held_out_accuracy"]), met(c["held_out_accuracy"], 0.85)))
    L.append("| the same, held-out base emoji only (%d; no skin-tone variants) | %s | | |" % (
        c["held_out_base_emoji"], pct(c["held_out_base_accuracy"])))
    if tr["images"]:
        L.append("| generated from training names: prompt's category (%d images) | %s | >= 60%% | %s |" % (
            tr["images"], pct(tr["category_accuracy"]), met(tr["category_accuracy"], 0.60)))
    if ho["images"]:
        L.append("| generated from held-out names: prompt's category (%d images) | %s | >= 40%% | %s |" % (
            ho["images"], pct(ho["category_accuracy"]), met(ho["category_accuracy"], 0.40)))
    for name, d in (("training names", tr), ("held-out names", ho)):
        if d["images"]:
            L.append("| nearest training image RMSE, %s: min / median / max | %s | | |" % (name, rm(d["nearest_rmse"])))
    L.append("| generated images with nearest RMSE < %g (of %d); of them, nearest is the prompt's own emoji | %d; %d | | |" % (
        thr, s["all"]["images"], s["all"]["under_threshold"],
        tr.get("under_threshold_same_emoji", 0) + ho.get("under_threshold_same_emoji", 0)))
    L.append("| reference: held-out real images' nearest training RMSE, min / median / max (< %g) | %s (%d) | | |" % (
        thr, rm(s["real_held_out_nearest_rmse"]), s["real_held_out_under_threshold"]))
    L.append("")
    L.append("Per category (generated images; training names / held-out names):")
    L.append("")
    L.append("| category | training names | held-out names | classifier, held-out real base emoji |")
    L.append("|---|---:|---:|---:|")
    for cat in tr.get("per_category", {}) or ho.get("per_category", {}):
        t = tr.get("per_category", {}).get(cat, {"images": 0, "accuracy": None})
        h = ho.get("per_category", {}).get(cat, {"images": 0, "accuracy": None})
        r = c["per_category_base_accuracy"].get(cat, {})
        L.append("| %s | %s (%d) | %s (%d) | %s (%s) |" % (
            cat, pct(t["accuracy"]), t["images"], pct(h["accuracy"]), h["images"],
            pct(r.get("accuracy")), r.get("base_emoji", 0)))
    L.append("")
    L.append("Classifier: %d-width CNN, %d epochs x %d samples, trained on %s training-split images "
             "(%d), %s, %s%s%s, flip averaging at test time: %s; trained in %.0f s at %d threads. "
             "Nearest-image distance: RMSE over the 32x32 RGB 8-bit pixels (0-255) to all %s training-split "
             "real Twemoji images. Prompts with words outside the model's vocabulary: %d of %d training "
             "names, %d of %d held-out names. Generation took %.0f s (model load per prompt included)." % (
                 cs["width"], cs["epochs"], cs["samples_per_epoch"],
                 " + ".join("Twemoji" if x == "twitter" else "Noto" for x in cs["styles"]),
                 cs["train_images"],
                 "categories sampled evenly" if cs.get("balance", "category") == "category"
                 else "base emoji sampled evenly",
                 "augmented (flip, shift, scale, rotation)" if cs["augment"] else "no augmentation",
                 ", degraded (blur, noise, cutout; p=%g each)" % cs["degrade"] if cs.get("degrade") else "",
                 ", scoring the subcategories" if cs.get("subcategories") else "",
                 "yes" if cs["tta"] else "no", cs["train_seconds"], cs["threads"],
                 "{:,}".format(s["training_images_compared"]), tr.get("prompts_with_unknown_words", 0), tr["images"],
                 ho.get("prompts_with_unknown_words", 0), ho["images"], o["generation_seconds"]))
    L.append("")
    L.append("![prompts and outputs](grid.png)")
    L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    main()
