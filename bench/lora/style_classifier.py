#!/usr/bin/python3
"""The style classifier of the LoRA benchmark: tells Twemoji (label 0) from Noto
(label 1) at 32x32. Trained on the real training-split images of both sets (the same
base emoji in both styles, so content cannot give the style away), with the quality
classifier's augmentation and degradation (generated images are softer and noisier
than real ones); evaluated on the held-out base emoji of both sets.

  style_classifier.py [--out PATH] [--epochs 12] [--threads 0]
  style_classifier.py --classify PNG... [--out PATH]     (prints P(Noto) per image)
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "quality"))
import emoji_data  # noqa: E402
import train_classifier as tc  # noqa: E402

RECIPE_VERSION = 1
STYLES = ["twitter", "google"]


def default_out():
    return os.path.join(emoji_data.cache_dir(), "style_classifier.pt")


def data(split_held_out):
    xs, ys = [], []
    for label, style in enumerate(STYLES):
        recs, imgs = emoji_data.load_images(style)
        idx = [i for i, r in enumerate(recs) if r["held_out"] == split_held_out
               and (r["is_base"] or not split_held_out)]
        xs.append(imgs[idx])
        ys.append(torch.full((len(idx),), label, dtype=torch.int64))
    return torch.cat(xs), torch.cat(ys)


def load(path):
    ck = torch.load(path)
    m = tc.EmojiClassifier(width=ck["recipe"]["width"], classes=2)
    m.load_state_dict(ck["state_dict"])
    m.eval()
    return m, ck


def p_noto(model, x):
    return tc.predict(model, x, tta=True)[:, 1]


def train(a):
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    x, y = data(False)
    xh, yh = data(True)
    # each style equally often
    w = torch.where(y == 0, 1.0 / (y == 0).sum(), 1.0 / (y == 1).sum()).double()
    model = tc.EmojiClassifier(width=a.width, classes=2)
    steps_per_epoch = a.samples_per_epoch // a.batch
    total = steps_per_epoch * a.epochs
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=a.lr, total_steps=total)
    t0 = time.time()
    for epoch in range(a.epochs):
        model.train()
        for _ in range(steps_per_epoch):
            idx = torch.multinomial(w, a.batch, replacement=True, generator=gen)
            xb = tc.degrade(tc.augment(x[idx], gen), gen, 0.3, 0.3, 0.2)
            loss = F.cross_entropy(model(xb), y[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        acc = float((p_noto(model, xh) > 0.5).long().eq(yh).float().mean())
        print("epoch %d/%d  loss %.3f  held-out accuracy %.3f" % (epoch + 1, a.epochs, float(loss), acc),
              flush=True)
    res = {"held_out_images": len(yh), "held_out_accuracy": acc,
           "twemoji_called_noto": float((p_noto(model, xh[yh == 0]) > 0.5).float().mean()),
           "noto_called_noto": float((p_noto(model, xh[yh == 1]) > 0.5).float().mean())}
    recipe = {"version": RECIPE_VERSION, "width": a.width, "epochs": a.epochs,
              "samples_per_epoch": a.samples_per_epoch, "batch": a.batch, "lr": a.lr, "seed": a.seed,
              "train_images": len(y), "train_seconds": round(time.time() - t0, 1)}
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "recipe": recipe, "results": res}, a.out + ".tmp")
    os.replace(a.out + ".tmp", a.out)
    print(json.dumps(res))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=default_out())
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--samples-per-epoch", type=int, default=6144)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--width", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--classify", nargs="*")
    a = ap.parse_args()
    torch.set_num_threads(a.threads if a.threads > 0 else os.cpu_count())
    if a.classify:
        model, _ = load(a.out)
        x = torch.stack([emoji_data.load_generated_tensor(f) for f in a.classify])
        for f, p in zip(a.classify, p_noto(model, x).tolist()):
            print("%.4f\t%s" % (p, f))
        return 0
    train(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
