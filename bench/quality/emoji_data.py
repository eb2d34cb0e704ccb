"""The emoji datasets as ml/emoji_dataset.cpp and ml/image_tensor.cpp read them.

Records: one per image (skin-tone variants included) of the nine categories
(Component excluded), only where emoji.json says the style has an image. The
held-out split is by base emoji: FNV-1a 64 of the base emoji's `unified` string,
% 100 < 8; skin-tone variants follow their base. Names are lower-cased (ASCII), a
variant's name gets ": <tones>" appended, exactly as the C++ builds them.

Pixels: RGBA composited over white, 2x2 box filter from 64 to 32, scaled to [-1, 1].
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

CATEGORIES = ["Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink",
              "Travel & Places", "Activities", "Objects", "Symbols", "Flags"]
SHORT = ["smileys", "people", "animals", "food", "travel", "activities", "objects", "symbols",
         "flags"]
SIZE = 32


def datasets_dir():
    d = os.environ.get("ATELIER_DATASETS")
    if d:
        return d
    home = os.environ.get("HOME") or "/tmp"
    return os.path.join(home, ".cache", "atelier", "datasets")


def package_dir(style):
    return os.path.join(datasets_dir(), "emoji-datasource-%s-16.0.0" % style)


def cache_dir():
    home = os.environ.get("HOME") or "/tmp"
    return os.environ.get("ATELIER_BENCH_CACHE", os.path.join(home, ".cache", "atelier", "bench"))


def fnv1a64(s):
    """FNV-1a 64 of the UTF-8 bytes, as ml/emoji_dataset.cpp computes it."""
    h = 1469598103934665603
    for c in s.encode("utf-8"):
        h ^= c
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def is_held_out(base_unified):
    return fnv1a64(base_unified) % 100 < 8


def _lower(s):
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in s)


_TONES = {"1F3FB": "light skin tone", "1F3FC": "medium-light skin tone",
          "1F3FD": "medium skin tone", "1F3FE": "medium-dark skin tone",
          "1F3FF": "dark skin tone"}


def _tones_name(key):
    names = []
    for code in key.split("-"):
        n = _TONES.get(code)
        if n and n not in names:
            names.append(n)
    return ", ".join(names)


def load_records(style="twitter"):
    """List of dicts: base, unified, name, category, label, image, held_out, is_base."""
    pdir = package_dir(style)
    path = os.path.join(pdir, "emoji.json")
    if not os.path.exists(path):
        raise SystemExit("%s: not found (run scripts/fetch_datasets.sh to fetch the datasets)" % path)
    with open(path, encoding="utf-8") as f:
        entries = json.load(f)
    img_dir = os.path.join(pdir, "img", style, "64")
    key = "has_img_" + style
    out = []
    for e in entries:
        cat = e.get("category") or ""
        if cat not in CATEGORIES or not e.get(key, False):
            continue
        base = e["unified"]
        r = {"base": base, "unified": base, "name": _lower(e.get("name") or ""),
             "category": cat, "label": CATEGORIES.index(cat),
             "subcategory": e.get("subcategory") or "",
             "image": os.path.join(img_dir, e["image"]), "held_out": is_held_out(base),
             "is_base": True}
        out.append(r)
        variations = e.get("skin_variations") or {}
        for tkey in sorted(variations):  # nlohmann::json iterates object keys sorted
            v = variations[tkey]
            if not v.get(key, False):
                continue
            s = dict(r, unified=v["unified"], image=os.path.join(img_dir, v["image"]), is_base=False)
            tones = _tones_name(tkey)
            if tones:
                s["name"] = r["name"] + ": " + tones
            out.append(s)
    if not out:
        raise SystemExit("%s: no %s images listed" % (path, style))
    return out


def load_png_tensor(path, size=SIZE):
    """(3, size, size) float32 in [-1, 1], as ml/image_tensor.cpp's load_image_tensor."""
    from PIL import Image
    img = Image.open(path)
    if img.mode != "RGBA":
        img = img.convert("RGBA")
    t = torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).to(torch.float32) / 255.0
    t = t.permute(2, 0, 1)
    a = t[3:4]
    rgb = t[0:3] * a + (1 - a)
    if img.width != img.height or img.width % size:
        raise ValueError("%s is %dx%d, need a square multiple of %d" % (path, img.width, img.height, size))
    f = img.width // size
    if f > 1:
        rgb = F.avg_pool2d(rgb.unsqueeze(0), f).squeeze(0)
    return (rgb * 2 - 1).contiguous()


def load_generated_tensor(path):
    """A generated 8-bit RGB PNG -> (3, H, W) float32 in [-1, 1]."""
    from PIL import Image
    u8 = np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8).copy()
    return torch.from_numpy(u8).to(torch.float32).permute(2, 0, 1) / 127.5 - 1


def to_u8(x):
    """[-1, 1] tensors -> uint8 values as the generator rounds them (ml/image_tensor.cpp)."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def load_images(style="twitter"):
    """(records, (N, 3, 32, 32) float tensor); decoded once and cached under cache_dir()."""
    records = load_records(style)
    cache = os.path.join(cache_dir(), "images-%s-%d.pt" % (style, SIZE))
    paths = [r["image"] for r in records]
    if os.path.exists(cache):
        c = torch.load(cache)
        if c.get("paths") == paths:
            return records, c["images"]
    images = torch.stack([load_png_tensor(p) for p in paths])
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    torch.save({"paths": paths, "images": images}, cache + ".tmp")
    os.replace(cache + ".tmp", cache)
    return records, images
