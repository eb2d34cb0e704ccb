#!/usr/bin/python3
"""A PyTorch peer of Atelier's LoRA training loop (ml/lora_trainer.cpp, ml/lora.cpp),
for the LoRA training speed benchmark.

Same model file (loaded by atelier_model.py, the operation-for-operation mirror of
ml/), same adapter targets (every to_q/to_k/to_v/to_out Linear of the UNet, and with
--conv the residual blocks' conv1/conv2), same parameterisation (each adapted weight
is W + alpha/rank * up @ down, recomputed every step; down uniform(+-1/sqrt(fan_in)),
up zero), same loss (v-prediction, min-SNR-5 weights, timesteps uniform over the
schedule), gradient clipping at 1.0 and AdamW (weight decay 0) with the same
warm-up + cosine learning rate. The batch sampling uses Python's random module
rather than the C++ mt19937_64 stream, so the numbers differ; the work per step is
the same.

  lora_peer.py train --model FILE --images DIR [--steps 100] [--batch 8] [--rank 8]
      [--alpha 8] [--lr 1e-3] [--trigger WORD] [--conv] [--threads T] [--seed 0]

Prints "N steps in X s (Y steps/s, T threads)" on stderr, X covering the training
loop only (model and image loading excluded, as in `atelier train-lora`).
"""
import argparse
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import atelier_model  # noqa: E402

PROJECTIONS = {"to_q", "to_k", "to_v", "to_out"}


def fit_image(path, size):
    """ml::fit_image_tensor: over white, padded to a square, area-resized, [-1, 1]."""
    im = Image.open(path).convert("RGBA")
    a = np.asarray(im, dtype=np.float32) / 255.0
    rgb = a[..., :3] * a[..., 3:4] + (1 - a[..., 3:4])
    t = torch.from_numpy(rgb).permute(2, 0, 1).contiguous()
    h, w = t.shape[1], t.shape[2]
    side = max(h, w)
    if h != w:
        px, py = side - w, side - h
        t = F.pad(t, (px // 2, px - px // 2, py // 2, py - py // 2), value=1.0)
    b = t.unsqueeze(0)
    if side > size:
        b = F.adaptive_avg_pool2d(b, (size, size))
    elif side < size:
        b = F.interpolate(b, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)
    return b.squeeze(0) * 2 - 1


class LoraNetwork:
    def __init__(self, model, rank, alpha, convs, gen):
        self.rank, self.scale = rank, alpha / rank
        self.targets = []
        for name, m in model.unet.named_modules():
            leaf = name.rsplit(".", 1)[-1]
            if isinstance(m, nn.Linear) and leaf in PROJECTIONS:
                pass
            elif convs and isinstance(m, nn.Conv2d) and leaf in ("conv1", "conv2"):
                pass
            else:
                continue
            w = m.weight.detach()
            del m._parameters["weight"]  # forward() reads m.weight: a plain tensor from now on
            m.weight = w
            fan_in = w[0].numel()
            bound = 1.0 / math.sqrt(fan_in)
            if w.dim() == 2:
                down = (torch.rand((rank, w.shape[1]), generator=gen) * 2 - 1) * bound
                up = torch.zeros((w.shape[0], rank))
            else:
                down = (torch.rand((rank,) + tuple(w.shape[1:]), generator=gen) * 2 - 1) * bound
                up = torch.zeros((w.shape[0], rank, 1, 1))
            self.targets.append((m, w, down.requires_grad_(), up.requires_grad_()))

    def parameters(self):
        return [p for (_, _, d, u) in self.targets for p in (d, u)]

    def attach(self):
        for m, w, d, u in self.targets:
            if w.dim() == 2:
                delta = u @ d
            else:
                delta = (u.reshape(w.shape[0], self.rank) @ d.reshape(self.rank, -1)).view(w.shape)
            m.weight = w + delta * self.scale

    def detach(self):
        for m, w, _, _ in self.targets:
            m.weight = w


def lr_at(peak, warmup, steps, step):
    if step < warmup:
        return peak * (step + 1) / warmup
    p = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))


def cmd_train(a):
    threads = a.threads if a.threads > 0 else os.cpu_count()
    torch.set_num_threads(threads)
    model, _ = atelier_model.load_model(a.model)
    for p in model.parameters():
        p.requires_grad_(False)
    model.train()
    size = model.config["image_size"]
    files = sorted(f for f in os.listdir(a.images) if not f.endswith(".txt"))
    data = []
    for f in files:
        path = os.path.join(a.images, f)
        try:
            img = fit_image(path, size)
        except Exception as e:  # unreadable: skipped, as the C++ does
            sys.stderr.write("skipping %s: %s\n" % (path, e))
            continue
        cap_path = os.path.splitext(path)[0] + ".txt"
        cap = open(cap_path).readline().strip() if os.path.exists(cap_path) else ""
        if a.trigger and not cap.startswith(a.trigger):
            cap = a.trigger + (", " + cap if cap else "")
        data.append((img, cap))
    if not data:
        sys.stderr.write("no readable image in %s\n" % a.images)
        return 2

    gen = torch.Generator().manual_seed(a.seed)
    net = LoraNetwork(model, a.rank, a.alpha, a.conv, gen)
    params = net.parameters()
    opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    sched = model.schedule
    T = sched.timesteps()
    ab = torch.tensor(sched.alpha_bar, dtype=torch.float32)
    snr = ab / (1 - ab)
    w = (torch.minimum(snr, torch.tensor(5.0)) / (snr + 1) if model.config["prediction"] == "v"
         else torch.minimum(snr, torch.tensor(5.0)) / snr)
    warmup = min(50, a.steps // 10)
    rng = random.Random(a.seed)
    t0 = time.perf_counter()
    for step in range(a.steps):
        idx = [rng.randrange(len(data)) for _ in range(a.batch)]
        x0 = torch.stack([data[i][0] for i in idx])
        caps = ["" if rng.random() < a.caption_dropout else data[i][1] for i in idx]
        t = torch.randint(0, T, (a.batch,), generator=gen)
        noise = torch.randn(x0.shape, generator=gen)
        al = ab[t].sqrt().view(-1, 1, 1, 1)
        s = (1 - ab[t]).sqrt().view(-1, 1, 1, 1)
        x_t = al * x0 + s * noise
        target = al * noise - s * x0 if model.config["prediction"] == "v" else noise
        net.attach()
        pred = model.unet(x_t, t.to(torch.float32), model.encode(caps))
        loss = (((pred - target) ** 2).mean(dim=(1, 2, 3)) * w[t]).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        net.detach()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        for g in opt.param_groups:
            g["lr"] = lr_at(a.lr, warmup, a.steps, step)
        opt.step()
    secs = time.perf_counter() - t0
    sys.stderr.write("%d steps in %g s (%g steps/s, %d threads), final loss %g\n" %
                     (a.steps, secs, a.steps / secs, threads, float(loss)))
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="the LoRA training loop, timed")
    t.add_argument("--model", required=True)
    t.add_argument("--images", required=True)
    t.add_argument("--steps", type=int, default=100)
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--rank", type=int, default=8)
    t.add_argument("--alpha", type=float, default=None)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--caption-dropout", type=float, default=0.05)
    t.add_argument("--trigger", default="")
    t.add_argument("--conv", action="store_true")
    t.add_argument("--threads", type=int, default=0)
    t.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    if a.alpha is None:
        a.alpha = float(a.rank)
    return cmd_train(a)


if __name__ == "__main__":
    sys.exit(main())
