#!/usr/bin/python3
"""Trains the emoji category classifier used by the quality benchmark.

A small CNN at 32x32 (the same preprocessing as ml/image_tensor.cpp: RGBA over
white, 2x2 box filter, [-1, 1]) tells the nine emoji categories apart. It is
trained on the training split of the real images only (Twemoji, plus by default
the Noto images of the same training-split emoji) and evaluated on the held-out
split's Twemoji images: no held-out base emoji, in any style or skin tone, is
seen in training. Each base emoji is equally likely during training (then one of
its images), so categories keep their natural frequencies, as in the prompts the
benchmark draws. Light augmentation (horizontal flip, shifts of up to 3 px, scale
0.85-1.15, rotation up to 10 degrees, white fill) and, on 20% of images each, a
light blur, a little noise or a cutout, because generated images are softer and
noisier than the real ones. The head scores emoji.json's 98 subcategories; a
category's score is the marginal over its subcategories, and the loss is that of
the categories plus that of the subcategories (finer labels teach finer features).

Prints the held-out accuracy (all held-out Twemoji images, and base emoji only)
and saves the weights with the recipe and results to --out
(default ~/.cache/atelier/bench/classifier.pt).

  train_classifier.py [--epochs 40] [--threads 0] [--no-noto] [--out PATH]
  train_classifier.py --eval-only [--out PATH]       (re-evaluate saved weights)
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import emoji_data  # noqa: E402

RECIPE_VERSION = 2


def block(i, o):
    return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]


class EmojiClassifier(nn.Module):
    """forward() gives category logits. With sub_to_cat (the category of each
    emoji.json subcategory) the head scores subcategories instead, and a category's
    logit is the logsumexp of its subcategories' logits (its marginal probability)."""

    def __init__(self, width=32, classes=len(emoji_data.CATEGORIES), dropout=0.2, sub_to_cat=None):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            *block(3, w), nn.MaxPool2d(2),                           # 16x16
            *block(w, 2 * w), *block(2 * w, 2 * w), nn.MaxPool2d(2),  # 8x8
            *block(2 * w, 4 * w), *block(4 * w, 4 * w), nn.MaxPool2d(2),  # 4x4
            *block(4 * w, 8 * w), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        outputs = len(sub_to_cat) if sub_to_cat else classes
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(8 * w, outputs))
        if sub_to_cat:
            s2c = torch.tensor(sub_to_cat)
            self.register_buffer("member", torch.arange(classes).view(classes, 1) == s2c.view(1, -1))
        else:
            self.member = None

    def raw_logits(self, x):
        return self.head(self.features(x))

    def to_categories(self, raw):
        if self.member is None:
            return raw
        return torch.logsumexp(raw.unsqueeze(1).masked_fill(~self.member, float("-inf")), dim=2)

    def forward(self, x):
        return self.to_categories(self.raw_logits(x))


def augment(x, gen, max_shift=3.0, scale=(0.85, 1.15), max_rot=10.0):
    """Random flip/shift/scale/rotation of a batch in [-1, 1]; uncovered pixels are white."""
    B, _, H, _ = x.shape
    flip = torch.rand(B, generator=gen) < 0.5
    s = torch.empty(B).uniform_(scale[0], scale[1], generator=gen)
    rot = torch.empty(B).uniform_(-max_rot, max_rot, generator=gen) * math.pi / 180
    tx = torch.empty(B).uniform_(-max_shift, max_shift, generator=gen) * 2 / H
    ty = torch.empty(B).uniform_(-max_shift, max_shift, generator=gen) * 2 / H
    sx = torch.where(flip, -1.0, 1.0) / s
    cos, sin = torch.cos(rot), torch.sin(rot)
    theta = torch.stack([torch.stack([cos * sx, -sin / s, tx], 1),
                         torch.stack([sin * sx, cos / s, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x - 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + 1


def balanced_weights(records, balance="category"):
    """Sampling weight per image. "category": each category equally likely, then each
    base emoji of it, then each image (skin tone, style) of that base. "base": each
    base emoji equally likely (categories as frequent as their emoji), then each of
    its images."""
    bases_per_cat, imgs_per_base = {}, {}
    for r in records:
        bases_per_cat.setdefault(r["label"], set()).add(r["base"])
        imgs_per_base[r["base"]] = imgs_per_base.get(r["base"], 0) + 1
    if balance == "base":
        return torch.tensor([1.0 / imgs_per_base[r["base"]] for r in records], dtype=torch.float64)
    return torch.tensor([1.0 / (len(bases_per_cat[r["label"]]) * imgs_per_base[r["base"]])
                         for r in records], dtype=torch.float64)


def degrade(x, gen, p_blur=0.25, p_noise=0.25, p_erase=0.25):
    """Robustness to generated images: a light 3x3 blur, a little Gaussian noise, and
    cutout (a white rectangle of 4-12 px), each on a random part of the batch."""
    B, _, H, W = x.shape
    if p_blur > 0:
        k = torch.tensor([1.0, 2.0, 1.0])
        k = (k[:, None] * k[None, :]) / 16
        blurred = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), k.expand(3, 1, 3, 3), groups=3)
        m = (torch.rand(B, generator=gen) < p_blur).view(B, 1, 1, 1)
        x = torch.where(m, blurred, x)
    if p_noise > 0:
        m = (torch.rand(B, generator=gen) < p_noise).view(B, 1, 1, 1)
        sd = torch.empty(B, 1, 1, 1).uniform_(0.02, 0.08, generator=gen)
        x = torch.where(m, (x + torch.randn(x.shape, generator=gen) * sd).clamp(-1, 1), x)
    if p_erase > 0:
        hs = torch.randint(4, 13, (B,), generator=gen)
        ws = torch.randint(4, 13, (B,), generator=gen)
        ys = (torch.rand(B, generator=gen) * (H - hs + 1)).long()
        xs = (torch.rand(B, generator=gen) * (W - ws + 1)).long()
        on = torch.rand(B, generator=gen) < p_erase
        rows = torch.arange(H).view(1, H, 1)
        cols = torch.arange(W).view(1, 1, W)
        box = ((rows >= ys.view(B, 1, 1)) & (rows < (ys + hs).view(B, 1, 1)) &
               (cols >= xs.view(B, 1, 1)) & (cols < (xs + ws).view(B, 1, 1)) & on.view(B, 1, 1))
        x = x.masked_fill(box.unsqueeze(1), 1.0)
    return x


def predict(model, x, batch=512, tta=True):
    """Class probabilities for a (N, 3, 32, 32) batch in [-1, 1]; averages over a
    horizontal flip when tta."""
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = x[i:i + batch]
            p = model(xb).softmax(1)
            if tta:
                p = (p + model(xb.flip(3)).softmax(1)) / 2
            out.append(p)
    return torch.cat(out) if out else torch.empty(0, len(emoji_data.CATEGORIES))


def held_out_data(style="twitter"):
    recs, imgs = emoji_data.load_images(style)
    idx = [i for i, r in enumerate(recs) if r["held_out"]]
    return [recs[i] for i in idx], imgs[idx]


def noto_held_out_accuracy(model, tta=True):
    """Held-out emoji in the Noto style (never trained on either): a second,
    independent reading for recipe development; not the reported metric."""
    recs, x = held_out_data("google")
    y = torch.tensor([r["label"] for r in recs])
    return float(predict(model, x, tta=tta).argmax(1).eq(y).float().mean())


def evaluate(model, tta=True):
    recs, x = held_out_data()
    y = torch.tensor([r["label"] for r in recs])
    pred = predict(model, x, tta=tta).argmax(1)
    ok = pred.eq(y)
    base = torch.tensor([r["is_base"] for r in recs])
    per_cat = {}
    for c, name in enumerate(emoji_data.CATEGORIES):
        m = (y == c) & base
        per_cat[name] = {"base_emoji": int(m.sum()), "accuracy": float(ok[m].float().mean()) if m.any() else None}
    confusion = torch.zeros(len(emoji_data.CATEGORIES), len(emoji_data.CATEGORIES), dtype=torch.int64)
    for t, p in zip(y[base].tolist(), pred[base].tolist()):
        confusion[t, p] += 1
    return {"held_out_images": len(recs), "held_out_accuracy": float(ok.float().mean()),
            "held_out_base_emoji": int(base.sum()),
            "held_out_base_accuracy": float(ok[base].float().mean()),
            "per_category_base_accuracy": per_cat, "confusion_base": confusion.tolist()}


def default_out():
    return os.path.join(emoji_data.cache_dir(), "classifier.pt")


def load_classifier(path):
    ck = torch.load(path)
    model = EmojiClassifier(width=ck["recipe"]["width"], sub_to_cat=ck.get("sub_to_cat"))
    model.load_state_dict(ck["state_dict"])
    model.eval()
    return model, ck


def main():
    ap = argparse.ArgumentParser(description="train the emoji category classifier")
    ap.add_argument("--out", default=default_out())
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--samples-per-epoch", type=int, default=6144)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--label-smoothing", type=float, default=0.1)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--no-noto", action="store_true", help="Twemoji training images only")
    ap.add_argument("--no-augment", action="store_true")
    ap.add_argument("--balance", choices=["category", "base"], default="base",
                    help="sample categories evenly, or base emoji evenly")
    ap.add_argument("--mixup", type=float, default=0.0, help="mixup alpha (0: off)")
    ap.add_argument("--degrade", type=float, default=0.2,
                    help="probability of each of blur, noise and cutout per image (0: off)")
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--no-subcategories", dest="subcategories", action="store_false",
                    help="score the categories directly, not emoji.json's subcategories")
    ap.add_argument("--ema", type=float, default=0.0,
                    help="keep an exponential moving average of the weights with this decay "
                         "and save/evaluate it (0: off)")
    ap.add_argument("--no-tta", action="store_true", help="no flip averaging at evaluation")
    ap.add_argument("--subset", type=int, default=0,
                    help="development: use at most this many training base emoji per category")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores)")
    ap.add_argument("--eval-only", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads if a.threads > 0 else os.cpu_count())
    torch.manual_seed(a.seed)

    if a.eval_only:
        model, ck = load_classifier(a.out)
        res = evaluate(model, tta=ck["recipe"]["tta"])
        print(json.dumps(res, indent=1))
        print("held-out accuracy: %.1f%% of %d Twemoji images (%.1f%% of %d base emoji)" % (
            100 * res["held_out_accuracy"], res["held_out_images"],
            100 * res["held_out_base_accuracy"], res["held_out_base_emoji"]))
        return 0

    t_start = time.time()
    styles = ["twitter"] if a.no_noto else ["twitter", "google"]
    recs, xs = [], []
    for style in styles:
        r, x = emoji_data.load_images(style)
        idx = [i for i, rec in enumerate(r) if not rec["held_out"]]
        recs += [dict(r[i], style=style) for i in idx]
        xs.append(x[idx])
    x_train = torch.cat(xs)
    if a.subset > 0:  # keep the first `subset` base emoji of each category
        keep_bases, seen = set(), {}
        for rec in recs:
            if rec["base"] in keep_bases:
                continue
            if seen.get(rec["label"], 0) < a.subset:
                seen[rec["label"]] = seen.get(rec["label"], 0) + 1
                keep_bases.add(rec["base"])
        idx = [i for i, rec in enumerate(recs) if rec["base"] in keep_bases]
        recs = [recs[i] for i in idx]
        x_train = x_train[idx]
    y_train = torch.tensor([r["label"] for r in recs])
    sub_names, sub_to_cat = [], None
    if a.subcategories:
        pairs = sorted({(r["label"], r["subcategory"]) for r in recs})
        sub_names = [p[1] for p in pairs]
        sub_to_cat = [p[0] for p in pairs]
        sub_index = {p: i for i, p in enumerate(pairs)}
        ys_train = torch.tensor([sub_index[(r["label"], r["subcategory"])] for r in recs])
    else:
        ys_train = y_train
    weights = balanced_weights(recs, a.balance)
    print("training images: %d (%s), %d base emoji; held-out evaluation: Twemoji" % (
        len(recs), " + ".join("Twemoji" if s == "twitter" else "Noto" for s in styles),
        len({r["base"] for r in recs})), flush=True)

    model = EmojiClassifier(width=a.width, dropout=a.dropout, sub_to_cat=sub_to_cat)
    steps_per_epoch = max(1, a.samples_per_epoch // a.batch)
    total = steps_per_epoch * a.epochs
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=total, pct_start=0.15)
    gen = torch.Generator().manual_seed(a.seed)
    ema = None
    if a.ema > 0:
        import copy
        ema = copy.deepcopy(model)
        for p in ema.parameters():
            p.requires_grad_(False)
    step = 0
    for epoch in range(a.epochs):
        model.train()
        t0, loss_sum, correct = time.time(), 0.0, 0
        for _ in range(steps_per_epoch):
            idx = torch.multinomial(weights, a.batch, replacement=True, generator=gen)
            xb, yb, ysb = x_train[idx], y_train[idx], ys_train[idx]
            if not a.no_augment:
                xb = augment(xb, gen)
            if a.degrade > 0:
                xb = degrade(xb, gen, a.degrade, a.degrade, a.degrade)
            def loss_for(raw, y, ys):
                # category loss on the (marginal) category logits, plus the
                # subcategory loss when the head scores subcategories
                out = F.cross_entropy(model.to_categories(raw), y, label_smoothing=a.label_smoothing)
                if sub_to_cat is not None:
                    out = out + F.cross_entropy(raw, ys, label_smoothing=a.label_smoothing)
                return out

            if a.mixup > 0:
                lam = float(torch.distributions.Beta(a.mixup, a.mixup).sample())
                perm = torch.randperm(len(xb), generator=gen)
                raw = model.raw_logits(lam * xb + (1 - lam) * xb[perm])
                loss = lam * loss_for(raw, yb, ysb) + (1 - lam) * loss_for(raw, yb[perm], ysb[perm])
                yb = yb if lam >= 0.5 else yb[perm]  # for the printed train accuracy
            else:
                raw = model.raw_logits(xb)
                loss = loss_for(raw, yb, ysb)
            logits = model.to_categories(raw)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if ema is not None:
                with torch.no_grad():
                    d = min(a.ema, (1 + step) / (10 + step))
                    for pe, pm in zip(ema.parameters(), model.parameters()):
                        pe.mul_(d).add_(pm, alpha=1 - d)
                    for be, bm in zip(ema.buffers(), model.buffers()):
                        be.copy_(bm)
            loss_sum += float(loss)
            correct += int(logits.argmax(1).eq(yb).sum())
        msg = "epoch %d/%d  loss %.3f  train acc %.3f  %.1f s" % (
            epoch + 1, a.epochs, loss_sum / steps_per_epoch,
            correct / (steps_per_epoch * a.batch), time.time() - t0)
        if (epoch + 1) % 5 == 0 or epoch + 1 == a.epochs:
            res = evaluate(ema if ema is not None else model, tta=not a.no_tta)
            msg += "  held-out acc %.3f (base %.3f; Noto held-out %.3f)" % (
                res["held_out_accuracy"], res["held_out_base_accuracy"],
                noto_held_out_accuracy(ema if ema is not None else model, tta=not a.no_tta))
        print(msg, flush=True)

    if ema is not None:
        model = ema
    res = evaluate(model, tta=not a.no_tta)
    res["noto_held_out_accuracy"] = noto_held_out_accuracy(model, tta=not a.no_tta)
    elapsed = time.time() - t_start
    recipe = {k: getattr(a, k) for k in ("epochs", "samples_per_epoch", "batch", "lr", "weight_decay",
                                         "label_smoothing", "width", "seed", "subset", "balance",
                                         "mixup", "degrade", "dropout", "ema",
                                         "subcategories")}
    recipe.update({"version": RECIPE_VERSION, "styles": styles, "augment": not a.no_augment,
                   "tta": not a.no_tta, "threads": torch.get_num_threads(), "train_images": len(recs),
                   "train_seconds": round(elapsed, 1)})
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "categories": emoji_data.CATEGORIES,
                "subcategories": sub_names, "sub_to_cat": sub_to_cat,
                "recipe": recipe, "results": res}, a.out + ".tmp")
    os.replace(a.out + ".tmp", a.out)
    print(json.dumps({"per_category_base_accuracy": res["per_category_base_accuracy"]}, indent=1))
    print("held-out accuracy: %.1f%% of %d Twemoji images (%.1f%% of %d base emoji); "
          "trained in %.0f s at %d threads; saved %s" % (
              100 * res["held_out_accuracy"], res["held_out_images"],
              100 * res["held_out_base_accuracy"], res["held_out_base_emoji"], elapsed,
              torch.get_num_threads(), a.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
