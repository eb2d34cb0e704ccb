#!/usr/bin/python3
"""A PyTorch peer of Atelier's text-to-image model (ml/*.cpp), operation for operation.

It loads the same safetensors model file as `atelier generate` and mirrors the
tokenizer (ml/tokenizer.cpp), text encoder (ml/text_encoder.cpp, ml/attention.cpp),
UNet (ml/unet.cpp), noise schedule and sigma grids (ml/noise_schedule.cpp), samplers
(ml/samplers.cpp), the denoiser wrapper (ml/diffusion_model.cpp) and the generation
loop with classifier-free guidance, clamping and per-image seeding
(ml/generator.cpp): image i of a request draws its initial noise randn(C, S, S) and
then its ancestral noise from its own generator seeded seed + i. With the same
libtorch build and thread count the decoded 8-bit pixels match the C++ output.

Usage:
  atelier_model.py generate PROMPT --model FILE [--count N] [--seed S] [--steps K]
      [--sampler "DPM++ 2M"] [--cfg 5] [--batch 8] [--threads T] [--out DIR]
      [--prefix image_] [--negative TEXT] [--warmup]
  atelier_model.py compare --model FILE [--atelier build/cli/atelier] [--threads 1] ...
      (runs both on the same requests and prints the max 8-bit pixel difference)

`generate` mirrors `atelier generate`: writes DIR/<prefix><seed>.png, prints the
paths, and ends stderr with "N image(s) in X s (Y images/s, T threads)", where X
covers the sampling only (model load excluded, as in the C++ command).
"""
import argparse
import bisect
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MODEL_FORMAT = "atelier-diffusion/1"
PAD, UNK, BOS = 0, 1, 2

DEFAULT_CONFIG = {
    "image_size": 32, "image_channels": 3, "channels": [32, 64, 128],
    "attention": [False, True, True], "self_attention": [False, False, True],
    "res_blocks": 1, "heads": 4, "time_dim": 128, "text_dim": 128, "text_layers": 2,
    "text_heads": 4, "max_tokens": 16, "train_timesteps": 1000, "schedule": "cosine",
    "prediction": "v",
}

# ---------------------------------------------------------------------------
# safetensors (header parsed by hand: the safetensors package is not required)

_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}


def read_safetensors(path):
    """Returns ({name: tensor}, metadata dict)."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    buf = bytearray(raw[8 + n:])
    tensors = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        dt = _DTYPES[info["dtype"]]
        shape = info["shape"]
        if e > b:
            t = torch.frombuffer(buf, dtype=dt, count=(e - b) // torch.empty(0, dtype=dt).element_size(),
                                 offset=b).reshape(shape).clone()
        else:
            t = torch.empty(shape, dtype=dt)
        tensors[name] = t
    return tensors, meta


# ---------------------------------------------------------------------------
# tokenizer (ml/tokenizer.cpp): bytes; a-z 0-9 and bytes >= 0x80 kept, A-Z lowered


class Tokenizer:
    def __init__(self, words):
        self.vocab = list(words)
        self.ids = {w.encode("utf-8"): i + 3 for i, w in enumerate(self.vocab)}

    @staticmethod
    def words(text):
        out, cur = [], bytearray()
        for c in text.encode("utf-8"):
            keep = (97 <= c <= 122) or (48 <= c <= 57) or c >= 0x80
            if 65 <= c <= 90:
                c += 32
                keep = True
            if keep:
                cur.append(c)
            elif cur:
                out.append(bytes(cur))
                cur = bytearray()
        if cur:
            out.append(bytes(cur))
        return out

    def encode(self, text, max_tokens):
        ids = [PAD] * max_tokens
        if max_tokens <= 0:
            return ids
        ids[0] = BOS
        n = 1
        for w in self.words(text):
            if n >= max_tokens:
                break
            ids[n] = self.ids.get(w, UNK)
            n += 1
        return ids

    def size(self):
        return len(self.vocab) + 3


# ---------------------------------------------------------------------------
# noise schedule and sigma grids (ml/noise_schedule.cpp), in double precision


class NoiseSchedule:
    def __init__(self, kind, timesteps):
        if timesteps < 2:
            raise ValueError("noise schedule needs at least 2 timesteps")
        T = float(timesteps)
        self.alpha_bar = []
        prod = 1.0
        for i in range(timesteps):
            if kind == "cosine":
                def f(x):
                    v = math.cos((x + 0.008) / 1.008 * math.pi / 2)
                    return v * v
                beta = min(1.0 - f((i + 1) / T) / f(i / T), 0.999)
            elif kind == "linear":
                beta = 1e-4 + (0.02 - 1e-4) * i / (T - 1)
            else:
                raise ValueError("unknown noise schedule '%s'" % kind)
            prod *= 1.0 - beta
            self.alpha_bar.append(prod)
        self.sigma = [math.sqrt((1.0 - ab) / ab) for ab in self.alpha_bar]
        self.log_sigma = [math.log(s) for s in self.sigma]

    def timesteps(self):
        return len(self.alpha_bar)

    def sigma_at(self, t):
        hi = self.timesteps() - 1
        t = min(max(t, 0.0), float(hi))
        lo = int(math.floor(t))
        up = min(lo + 1, len(self.log_sigma) - 1)
        w = t - lo
        return math.exp((1 - w) * self.log_sigma[lo] + w * self.log_sigma[up])

    def timestep_of(self, sigma):
        ls = math.log(max(sigma, 1e-12))
        if ls <= self.log_sigma[0]:
            return 0.0
        if ls >= self.log_sigma[-1]:
            return self.timesteps() - 1.0
        hi = bisect.bisect_right(self.log_sigma, ls)  # std::upper_bound
        lo = hi - 1
        w = (ls - self.log_sigma[lo]) / (self.log_sigma[hi] - self.log_sigma[lo])
        return float(lo) + w


def _lround(x):  # std::lround: half away from zero
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def ddim_sigmas(s, steps):
    if steps < 1:
        raise ValueError("steps must be at least 1")
    T = s.timesteps()
    out = []
    for i in range(steps):
        t = _lround(T - i * float(T) / steps) - 1
        out.append(s.sigma[max(t, 0)])
    out.append(0.0)
    return out


def linspace_sigmas(s, steps):
    if steps < 1:
        raise ValueError("steps must be at least 1")
    hi = float(s.timesteps() - 1)
    out = []
    for i in range(steps):
        t = hi if steps == 1 else hi - hi * i / (steps - 1)
        out.append(s.sigma_at(t))
    out.append(0.0)
    return out


# ---------------------------------------------------------------------------
# samplers (ml/samplers.cpp)

SAMPLERS = {"DDIM": "ddim", "ddim": "ddim", "Euler": "euler", "euler": "euler",
            "Euler a": "euler_a", "euler_a": "euler_a", "DPM++ 2M": "dpmpp_2m",
            "dpmpp_2m": "dpmpp_2m"}


def parse_sampler(name):
    if name not in SAMPLERS:
        raise ValueError("unknown sampler '%s' (known: DDIM, Euler, Euler a, DPM++ 2M)" % name)
    return SAMPLERS[name]


def sampler_sigmas(kind, s, steps):
    return ddim_sigmas(s, steps) if kind == "ddim" else linspace_sigmas(s, steps)


def euler_step(x, denoised, sigma, sigma_next):
    return x + (x - denoised) * ((sigma_next - sigma) / sigma)


def ancestral_step(sigma, sigma_next):
    if sigma_next == 0:
        return 0.0, 0.0
    up = min(sigma_next, math.sqrt(sigma_next * sigma_next *
                                   (sigma * sigma - sigma_next * sigma_next) / (sigma * sigma)))
    return math.sqrt(sigma_next * sigma_next - up * up), up


def dpmpp_2m_step(x, denoised, old_denoised, sigma_prev, sigma, sigma_next):
    if sigma_next == 0:
        return denoised
    t, t_next = -math.log(sigma), -math.log(sigma_next)
    h = t_next - t
    ratio, k = sigma_next / sigma, -math.expm1(-h)
    if old_denoised is None:
        return x * ratio + denoised * k
    h_last = t - (-math.log(sigma_prev))
    r = h_last / h
    d = denoised * (1 + 1 / (2 * r)) - old_denoised * (1 / (2 * r))
    return x * ratio + d * k


def sample(kind, denoise, x, sigmas, noise):
    steps = len(sigmas) - 1
    old = None
    for i in range(steps):
        s, sn = sigmas[i], sigmas[i + 1]
        den = denoise(x, s)
        if kind in ("ddim", "euler"):
            x = den if sn == 0 else euler_step(x, den, s, sn)
        elif kind == "euler_a":
            down, up = ancestral_step(s, sn)
            x = den if sn == 0 else euler_step(x, den, s, down)
            if sn > 0 and up > 0:
                x = x + noise() * up
        elif kind == "dpmpp_2m":
            x = dpmpp_2m_step(x, den, old, sigmas[i - 1] if i > 0 else 0.0, s, sn)
            old = den
    return x


# ---------------------------------------------------------------------------
# modules (ml/attention.cpp, ml/text_encoder.cpp, ml/unet.cpp); attribute names are
# the libtorch module paths, so state_dict keys equal the model file's tensor names


class Attention(nn.Module):
    def __init__(self, dim, context_dim, heads):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(context_dim, dim, bias=False)
        self.to_v = nn.Linear(context_dim, dim, bias=False)
        self.to_out = nn.Linear(dim, dim)

    def forward(self, x, context, mask=None):
        B, N, M = x.size(0), x.size(1), context.size(1)
        D = self.to_q.weight.size(0)
        hd = D // self.heads
        q = self.to_q(x).view(B, N, self.heads, hd).transpose(1, 2)
        k = self.to_k(context).view(B, M, self.heads, hd).transpose(1, 2)
        v = self.to_v(context).view(B, M, self.heads, hd).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(float(hd)))
        if mask is not None:
            scores = scores.masked_fill(mask.logical_not().view(B, 1, 1, M), float("-inf"))
        out = torch.matmul(scores.softmax(-1), v).transpose(1, 2).reshape(B, N, D)
        return self.to_out(out)


class FeedForward(nn.Module):
    def __init__(self, dim, mult):
        super().__init__()
        self.fc1 = nn.Linear(dim, dim * mult)
        self.fc2 = nn.Linear(dim * mult, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class TransformerBlock(nn.Module):
    def __init__(self, dim, heads, context_dim, ff_mult, with_self=True):
        super().__init__()
        self.norm1 = self.self_attn = self.norm2 = self.cross_attn = None
        if with_self:
            self.norm1 = nn.LayerNorm(dim)
            self.self_attn = Attention(dim, dim, heads)
        if context_dim > 0:
            self.norm2 = nn.LayerNorm(dim)
            self.cross_attn = Attention(dim, context_dim, heads)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim, ff_mult)

    def forward(self, x, self_mask, context, context_mask):
        if self.self_attn is not None:
            h = self.norm1(x)
            x = x + self.self_attn(h, h, self_mask)
        if self.cross_attn is not None:
            x = x + self.cross_attn(self.norm2(x), context, context_mask)
        return x + self.ff(self.norm3(x))


class TextEncoder(nn.Module):
    def __init__(self, c, vocab_size):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, c["text_dim"])
        self.position_embedding = nn.Parameter(torch.zeros(c["max_tokens"], c["text_dim"]))
        self.layers = nn.ModuleList(
            [TransformerBlock(c["text_dim"], c["text_heads"], 0, 2) for _ in range(c["text_layers"])])
        self.final_norm = nn.LayerNorm(c["text_dim"])

    def forward(self, tokens):
        L = tokens.size(1)
        mask = tokens.ne(PAD)
        x = self.token_embedding(tokens) + self.position_embedding[:L].unsqueeze(0)
        for layer in self.layers:
            x = layer(x, mask, None, None)
        x = self.final_norm(x)
        m = mask.unsqueeze(-1).to(x.dtype)
        pooled = (x * m).sum(1) / m.sum(1).clamp_min(1.0)
        return x, mask, pooled


def conv3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1)


def group_norm(ch):
    return nn.GroupNorm(8, ch)


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.to(torch.float32).unsqueeze(1) * freqs.unsqueeze(0)
    return torch.cat([torch.cos(args), torch.sin(args)], 1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, time_dim):
        super().__init__()
        self.norm1 = group_norm(cin)
        self.conv1 = conv3(cin, cout)
        self.time_proj = nn.Linear(time_dim, cout)
        self.norm2 = group_norm(cout)
        self.conv2 = conv3(cout, cout)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_proj(F.silu(temb)).unsqueeze(-1).unsqueeze(-1)
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class SpatialTransformer(nn.Module):
    def __init__(self, ch, heads, context_dim, with_self):
        super().__init__()
        self.norm = group_norm(ch)
        self.proj_in = nn.Conv2d(ch, ch, 1)
        self.block = TransformerBlock(ch, heads, context_dim, 2, with_self)
        self.proj_out = nn.Conv2d(ch, ch, 1)

    def forward(self, x, text):
        B, C, H, W = x.shape
        h = self.proj_in(self.norm(x)).flatten(2).transpose(1, 2)
        h = self.block(h, None, text[0], text[1])
        h = h.transpose(1, 2).reshape(B, C, H, W)
        return x + self.proj_out(h)


class UNetBlock(nn.Module):
    def __init__(self, cin, cout, c, attention, self_attention):
        super().__init__()
        self.res = ResBlock(cin, cout, c["time_dim"])
        self.attn = (SpatialTransformer(cout, c["heads"], c["text_dim"], self_attention)
                     if attention else None)

    def forward(self, x, temb, text):
        h = self.res(x, temb)
        return self.attn(h, text) if self.attn is not None else h


class UNet(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        c0 = c["channels"][0]
        self.time_mlp = nn.Sequential(nn.Linear(c0, c["time_dim"]), nn.SiLU(),
                                      nn.Linear(c["time_dim"], c["time_dim"]))
        self.text_pool = nn.Linear(c["text_dim"], c["time_dim"])
        self.conv_in = conv3(c["image_channels"], c0)
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        levels = len(c["channels"])
        skip_ch, ch = [c0], c0
        for i in range(levels):
            for _ in range(c["res_blocks"]):
                self.down.append(UNetBlock(ch, c["channels"][i], c, c["attention"][i],
                                           c["self_attention"][i]))
                ch = c["channels"][i]
                skip_ch.append(ch)
            if i + 1 < levels:
                self.downsample.append(conv3(ch, ch, 2))
                skip_ch.append(ch)
        self.mid1 = UNetBlock(ch, ch, c, True, True)
        self.mid2 = UNetBlock(ch, ch, c, False, False)
        for li in reversed(range(levels)):
            for _ in range(c["res_blocks"] + 1):
                sc = skip_ch.pop()
                self.up.append(UNetBlock(ch + sc, c["channels"][li], c, c["attention"][li],
                                         c["self_attention"][li]))
                ch = c["channels"][li]
            if li > 0:
                self.upsample.append(conv3(ch, ch))
        self.norm_out = group_norm(ch)
        self.conv_out = conv3(ch, c["image_channels"])

    def forward(self, x, t, text):
        c = self.c
        temb = self.time_mlp(timestep_embedding(t, c["channels"][0]))
        temb = temb + self.text_pool(text[2])
        levels = len(c["channels"])
        skips = []
        h = self.conv_in(x)
        skips.append(h)
        bi = 0
        for i in range(levels):
            for _ in range(c["res_blocks"]):
                h = self.down[bi](h, temb, text)
                bi += 1
                skips.append(h)
            if i + 1 < levels:
                h = self.downsample[i](h)
                skips.append(h)
        h = self.mid1(h, temb, text)
        h = self.mid2(h, temb, text)
        bi = ui = 0
        for li in reversed(range(levels)):
            for _ in range(c["res_blocks"] + 1):
                h = self.up[bi](torch.cat([h, skips.pop()], 1), temb, text)
                bi += 1
            if li > 0:
                h = torch._C._nn.upsample_nearest2d(h, [h.size(2) * 2, h.size(3) * 2])
                h = self.upsample[ui](h)
                ui += 1
        return self.conv_out(F.silu(self.norm_out(h)))


class DiffusionModel(nn.Module):
    def __init__(self, config, tokenizer):
        super().__init__()
        self.config = config
        self.tokenizer = tokenizer
        self.schedule = NoiseSchedule(config["schedule"], config["train_timesteps"])
        self.text = TextEncoder(config, tokenizer.size())
        self.unet = UNet(config)

    def tokenize(self, prompts):
        ids = [self.tokenizer.encode(p, self.config["max_tokens"]) for p in prompts]
        return torch.tensor(ids, dtype=torch.int64).view(len(prompts), self.config["max_tokens"])

    def encode(self, prompts):
        return self.text(self.tokenize(prompts))

    def denoise(self, x_scaled, sigma, enc):
        alpha = 1.0 / math.sqrt(1.0 + sigma * sigma)
        s = sigma * alpha
        x_t = x_scaled * alpha
        t = torch.full((x_scaled.size(0),), self.schedule.timestep_of(sigma), dtype=torch.float32)
        out = self.unet(x_t, t, enc)
        if self.config["prediction"] == "v":
            return x_t * alpha - out * s
        return (x_t - out * s) / alpha


def load_model(path):
    tensors, meta = read_safetensors(path)
    if meta.get("atelier.format") != MODEL_FORMAT:
        raise ValueError("%s: model format '%s' is not %s" %
                         (path, meta.get("atelier.format"), MODEL_FORMAT))
    config = dict(DEFAULT_CONFIG)
    config.update(json.loads(meta["atelier.config"]))
    vocab = json.loads(meta["atelier.vocab"])
    model = DiffusionModel(config, Tokenizer(vocab))
    state = model.state_dict()
    missing = [k for k in state if k not in tensors]
    extra = [k for k in tensors if k not in state]
    if missing or extra:
        raise ValueError("%s: missing tensors %s, unexpected tensors %s" % (path, missing[:5], extra[:5]))
    for k, v in state.items():
        if tuple(tensors[k].shape) != tuple(v.shape):
            raise ValueError("%s: tensor '%s' has shape %s, the model needs %s" %
                             (path, k, tuple(tensors[k].shape), tuple(v.shape)))
    model.load_state_dict({k: tensors[k].to(torch.float32) for k in state})
    model.eval()
    return model, meta


# ---------------------------------------------------------------------------
# generation (ml/generator.cpp) and 8-bit conversion (ml/image_tensor.cpp)


def tensor_to_u8(chw):
    """(3, H, W) in [-1, 1] -> (H, W, 3) uint8 numpy array, rounded as the C++ does."""
    t = chw.detach().to(torch.float32)
    return ((t.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(1, 2, 0).contiguous().numpy()


def generate(model, prompt, negative_prompt="", seed=0, count=1, steps=20, sampler="DPM++ 2M",
             cfg=5.0, batch=8):
    """Returns a list of (H, W, 3) uint8 arrays, image i seeded with seed + i."""
    c = model.config
    kind = parse_sampler(sampler)
    S, C = c["image_size"], c["image_channels"]
    sigmas = sampler_sigmas(kind, model.schedule, steps)
    out = []
    with torch.inference_mode():
        for first in range(0, count, batch):
            n = min(batch, count - first)
            gens, init = [], []
            for i in range(n):
                g = torch.Generator()
                g.manual_seed(seed + first + i)
                gens.append(g)
                init.append(torch.randn((C, S, S), generator=g))

            def noise():
                return torch.stack([torch.randn((C, S, S), generator=g) for g in gens])

            prompts = [prompt] * n
            guided = cfg != 1.0
            if guided:
                prompts += [negative_prompt] * n
            enc = model.encode(prompts)

            def denoise(x, sigma):
                inp = torch.cat([x, x]) if guided else x
                d = model.denoise(inp, sigma, enc)
                if guided:
                    cond, uncond = d[0:n], d[n:2 * n]
                    d = uncond + (cond - uncond) * cfg
                return d.clamp(-1, 1)

            x = torch.stack(init) * math.sqrt(1.0 + sigmas[0] * sigmas[0])
            x = sample(kind, denoise, x, sigmas, noise)
            out.extend(tensor_to_u8(x[i]) for i in range(n))
    return out


def save_png(path, u8):
    from PIL import Image
    Image.fromarray(u8, "RGB").save(path)


# ---------------------------------------------------------------------------
# command line


def _add_request_args(p):
    p.add_argument("--model", required=True)
    p.add_argument("--negative", default="")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--sampler", default="DPM++ 2M")
    p.add_argument("--cfg", type=float, default=5.0)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=0, help="intra-op threads (default: all cores)")


def cmd_generate(a):
    threads = a.threads if a.threads > 0 else os.cpu_count()
    torch.set_num_threads(threads)
    model, _ = load_model(a.model)
    if a.warmup:  # optional in-process warm-up, outside the timed region
        generate(model, a.prompt, a.negative, a.seed, min(a.count, a.batch), min(a.steps, 2),
                 a.sampler, a.cfg, a.batch)
    t0 = time.perf_counter()
    images = generate(model, a.prompt, a.negative, a.seed, a.count, a.steps, a.sampler, a.cfg, a.batch)
    secs = time.perf_counter() - t0
    os.makedirs(a.out, exist_ok=True)
    for i, img in enumerate(images):
        path = os.path.join(a.out, "%s%d.png" % (a.prefix, a.seed + i))
        save_png(path, img)
        print(path)
    sys.stderr.write("%d image(s) in %g s (%g images/s, %d threads)\n" %
                     (len(images), secs, len(images) / secs, threads))
    return 0


def cmd_compare(a):
    """Runs `atelier generate` and this peer on the same requests; prints pixel differences."""
    import subprocess
    import tempfile
    from PIL import Image
    threads = a.threads if a.threads > 0 else os.cpu_count()
    torch.set_num_threads(threads)
    model, _ = load_model(a.model)
    worst = 0
    samplers = a.samplers.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        for sampler in samplers:
            for prompt in a.prompts:
                cmd = [a.atelier, "generate", prompt, "--model", a.model, "--count", str(a.count),
                       "--seed", str(a.seed), "--steps", str(a.steps), "--sampler", sampler,
                       "--cfg", str(a.cfg), "--batch", str(a.batch), "--threads", str(threads),
                       "--out", tmp, "--prefix", "cpp_"]
                if a.negative:
                    cmd += ["--negative", a.negative]
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                py = generate(model, prompt, a.negative, a.seed, a.count, a.steps, sampler, a.cfg, a.batch)
                diffs, identical = [], 0
                for i, img in enumerate(py):
                    cpp = np.asarray(Image.open(os.path.join(tmp, "cpp_%d.png" % (a.seed + i))).convert("RGB"))
                    diffs.append(int(np.abs(cpp.astype(np.int16) - img.astype(np.int16)).max()))
                    identical += int((cpp == img).all(axis=2).sum())
                worst = max(worst, max(diffs))
                print(json.dumps({"sampler": sampler, "prompt": prompt, "seed": a.seed, "count": a.count,
                                  "steps": a.steps, "cfg": a.cfg, "batch": a.batch, "threads": threads,
                                  "max_abs_diff_per_image": diffs,
                                  "identical_pixels": "%d/%d" % (identical, sum(p.shape[0] * p.shape[1] for p in py))}))
    print("max pixel difference (0-255): %d" % worst)
    return 0 if worst <= a.tolerance else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="text-to-image, like `atelier generate`")
    g.add_argument("prompt")
    _add_request_args(g)
    g.add_argument("--count", type=int, default=1)
    g.add_argument("--out", default=".")
    g.add_argument("--prefix", default="image_")
    g.add_argument("--warmup", action="store_true",
                   help="run a short untimed generation first (the C++ command has no such option)")
    c = sub.add_parser("compare", help="pixel agreement with `atelier generate`")
    _add_request_args(c)
    c.add_argument("--atelier", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                     "build", "cli", "atelier"))
    c.add_argument("--count", type=int, default=4)
    c.add_argument("--samplers", default="DDIM,Euler,Euler a,DPM++ 2M")
    c.add_argument("--prompts", nargs="+", default=["grinning face", "red apple", "flag: japan"])
    c.add_argument("--tolerance", type=int, default=2)
    a = ap.parse_args(argv)
    return cmd_generate(a) if a.cmd == "generate" else cmd_compare(a)


if __name__ == "__main__":
    sys.exit(main())
