#!/usr/bin/python3
"""The brand image set of the LoRA benchmark and the example campaign: 60 Noto
(emoji-datasource-google) images of product-like subjects (fruit, vegetables,
sweets, drinks, clothing), from base emoji in the base model's training split,
chosen deterministically (12 per subcategory, in FNV-1a order of their code
points), copied as OUT/<name>.png with no captions. Also prints, as JSON, the
chosen names and the evaluation prompts: base-emoji names from the training split
that are none of the 60 (so a LoRA's effect is measured on subjects it never saw).

  brand_set.py --out DIR [--count-per-subcategory 12] [--eval-prompts 48]
"""
import argparse
import json
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "quality"))
import emoji_data  # noqa: E402

SUBCATEGORIES = ["food-fruit", "food-vegetable", "food-sweet", "drink", "clothing"]


def slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def choose(per_sub=12, n_eval=48):
    recs = [r for r in emoji_data.load_records("google") if r["is_base"] and not r["held_out"]]
    brand = []
    for sub in SUBCATEGORIES:
        pool = sorted((r for r in recs if r["subcategory"] == sub), key=lambda r: emoji_data.fnv1a64(r["unified"]))
        if len(pool) < per_sub:
            raise SystemExit("subcategory %s has only %d training-split images" % (sub, len(pool)))
        brand += pool[:per_sub]
    chosen = {r["base"] for r in brand}
    # Evaluation subjects: every category, none of the brand emoji, names the base
    # model was trained on (training split), spread by hash order.
    twitter = [r for r in emoji_data.load_records("twitter") if r["is_base"] and not r["held_out"]]
    others = sorted((r for r in twitter if r["base"] not in chosen and r["category"] != "Flags"),
                    key=lambda r: emoji_data.fnv1a64("eval:" + r["unified"]))
    seen, prompts = set(), []
    for r in others:
        if r["name"] in seen:
            continue
        seen.add(r["name"])
        prompts.append({"prompt": r["name"], "category": r["category"]})
        if len(prompts) == n_eval:
            break
    return brand, prompts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--count-per-subcategory", type=int, default=12)
    ap.add_argument("--eval-prompts", type=int, default=48)
    a = ap.parse_args()
    brand, prompts = choose(a.count_per_subcategory, a.eval_prompts)
    os.makedirs(a.out, exist_ok=True)
    names = []
    for r in brand:
        dst = os.path.join(a.out, slug(r["name"]) + ".png")
        shutil.copyfile(r["image"], dst)
        names.append({"name": r["name"], "subcategory": r["subcategory"], "file": os.path.basename(dst)})
    print(json.dumps({"brand": names, "eval_prompts": prompts}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
