"""Reference sigma grids and sampler steps, written independently of the C++
(ml/noise_schedule.cpp, ml/samplers.cpp) from the published algorithms:

  schedule   SD's "scaled_linear": betas = linspace(sqrt(b0), sqrt(b1), T)^2,
             alpha_bar = cumprod(1 - beta), sigma = sqrt((1 - alpha_bar) / alpha_bar)
  linspace   k-diffusion's discrete grid: t = linspace(T - 1, 0, n), sigma(t) by
             linear interpolation of log sigma between integer timesteps, then 0
  karras     Karras et al. 2022 (eq. 5), rho 7, between the schedule's sigma_min
             and sigma_max: (max^(1/rho) + i/(n-1) (min^(1/rho) - max^(1/rho)))^rho
  ddim       "trailing" timesteps: round(T - i T / n) - 1 for i < n (half away
             from zero), each at its integer sigma
  euler      Karras et al. Alg. 1 without the 2nd-order correction:
             x += (x - D) / sigma * (sigma_next - sigma)
  euler_a    ancestral (eta 1): sigma_up = min(sn, sqrt(sn^2 (s^2 - sn^2) / s^2)),
             sigma_down = sqrt(sn^2 - sigma_up^2); Euler to sigma_down, + noise * sigma_up
  ddim       (eta 0) is the same first-order step on the ddim grid: in the
             x / sqrt(alpha_bar) variables DDIM's update is exactly Euler's
  dpmpp_2m   DPM-Solver++(2M) (Lu et al. 2022, Alg. 2) in lambda = -log sigma:
             h = lambda_next - lambda; first step and last step (sn = 0) first order
             x = (sn / s) x - expm1(-h) D; otherwise r = h_last / h and
             D' = (1 + 1/(2r)) D - 1/(2r) D_prev
  lcm        Luo et al. 2023 multistep consistency sampling: x = D, then + noise * sn
  denoiser   k-diffusion's wrapper of a discrete eps / v model: c_in = 1/sqrt(s^2+1),
             t = fractional timestep of s (log-sigma interpolation),
             eps: D = x - s * eps;  v: D = x / (s^2+1) - s / sqrt(s^2+1) * v

Usage: sampler_steps.py OUT.safetensors [TINY_DIR]
Writes float64 tensors:
  grid.{linspace,karras,ddim}.{n}       sigma grids (n + 1 values)
  toy.b, toy.x0, noise.{i}              the toy denoiser's offset, the start, the noises
  sample.{name}.{k}                     state after k steps, k = 1..n (STEPS)
  sample.{name}.sigmas                  the grid each one walks
With TINY_DIR (the tiny checkpoints), also float32 for tiny_{sd15,sd21v,sdxl}:
  denoise.x, denoise.sigmas, denoise.{ckpt}.{j}  the denoiser at each sigma
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402

T = 1000
STEPS = 6
GRID_STEPS = [1, 2, 4, 6, 20, 30]
D64 = torch.float64


def schedule_sigmas(b0=0.00085, b1=0.012, T=T):
    betas = torch.linspace(math.sqrt(b0), math.sqrt(b1), T, dtype=D64) ** 2
    ab = torch.cumprod(1 - betas, dim=0)
    return ((1 - ab) / ab).sqrt()


SIGMAS = schedule_sigmas()
LOG_SIGMAS = SIGMAS.log()


def sigma_at(t):
    t = min(max(t, 0.0), T - 1.0)
    lo = math.floor(t)
    hi = min(lo + 1, T - 1)
    w = t - lo
    return math.exp((1 - w) * LOG_SIGMAS[lo].item() + w * LOG_SIGMAS[hi].item())


def t_of_sigma(s):
    ls = math.log(s)
    if ls <= LOG_SIGMAS[0].item():
        return 0.0
    if ls >= LOG_SIGMAS[-1].item():
        return T - 1.0
    hi = int((LOG_SIGMAS > ls).nonzero()[0].item())  # first log sigma above
    lo = hi - 1
    w = (ls - LOG_SIGMAS[lo].item()) / (LOG_SIGMAS[hi].item() - LOG_SIGMAS[lo].item())
    return lo + w


def grid_linspace(n):
    ts = torch.linspace(T - 1, 0, n, dtype=D64).tolist() if n > 1 else [T - 1.0]
    return [sigma_at(t) for t in ts] + [0.0]


def grid_karras(n, rho=7.0):
    smin, smax = SIGMAS[0].item(), SIGMAS[-1].item()
    lo, hi = smin ** (1 / rho), smax ** (1 / rho)
    return [(hi + (i / (n - 1) if n > 1 else 0.0) * (lo - hi)) ** rho for i in range(n)] + [0.0]


def round_half_away(v):
    return math.floor(v + 0.5) if v >= 0 else -math.floor(-v + 0.5)


def grid_ddim(n):
    ts = [max(round_half_away(T - i * T / n) - 1, 0) for i in range(n)]
    return [SIGMAS[t].item() for t in ts] + [0.0]


# ------------------------------------------------------------------ samplers
def sample(kind, denoise, x, sigmas, noises):
    states = []
    old = None
    for i in range(len(sigmas) - 1):
        s, sn = sigmas[i], sigmas[i + 1]
        d = denoise(x, s)
        if kind in ("euler", "ddim"):
            x = x + (x - d) / s * (sn - s)
        elif kind == "euler_a":
            up = min(sn, math.sqrt(sn ** 2 * (s ** 2 - sn ** 2) / s ** 2)) if sn > 0 else 0.0
            down = math.sqrt(sn ** 2 - up ** 2)
            x = x + (x - d) / s * (down - s)
            if sn > 0:
                x = x + noises[i] * up
        elif kind == "dpmpp_2m":
            if sn == 0:
                x = d
            else:
                lam, lam_next = -math.log(s), -math.log(sn)
                h = lam_next - lam
                if old is None:
                    dd = d
                else:
                    r = (lam - (-math.log(sigmas[i - 1]))) / h
                    dd = (1 + 1 / (2 * r)) * d - (1 / (2 * r)) * old
                x = (sn / s) * x - math.expm1(-h) * dd
            old = d
        elif kind == "lcm":
            x = d
            if sn > 0:
                x = x + noises[i] * sn
        else:
            raise ValueError(kind)
        states.append(x)
    return states


def toy_denoiser(b):
    # Smooth in sigma, depends on x, and not a fixed point of any step.
    return lambda x, s: x / (1.0 + s * s) + b * (s / (1.0 + s))


SAMPLERS = {
    # name: (kind, grid)
    "euler": ("euler", "linspace"),
    "euler_a": ("euler_a", "linspace"),
    "ddim": ("ddim", "ddim"),
    "dpmpp_2m": ("dpmpp_2m", "linspace"),
    "dpmpp_2m_karras": ("dpmpp_2m", "karras"),
    "lcm": ("lcm", "linspace"),
}
GRIDS = {"linspace": grid_linspace, "karras": grid_karras, "ddim": grid_ddim}


def denoise_unet(w, fam, x, s, context, y, heads):
    import sd_reference as R

    c_in = 1.0 / math.sqrt(s * s + 1.0)
    t = torch.full((x.shape[0],), t_of_sigma(s), dtype=torch.float32)
    out = R.unet(w, x * c_in, t, context, y, **heads)
    if fam == "sd2":  # the tiny SD 2.1 checkpoint is v-prediction
        return x / (s * s + 1.0) - out * (s * c_in)
    return x - out * s


def main():
    out_path = sys.argv[1]
    tiny = sys.argv[2] if len(sys.argv) > 2 else None
    res = {}
    for name, g in GRIDS.items():
        for n in GRID_STEPS:
            res[f"grid.{name}.{n}"] = torch.tensor(g(n), dtype=D64)
    gen = torch.Generator().manual_seed(1234)
    shape = (1, 4, 3, 5)
    b = torch.randn(shape, generator=gen, dtype=D64)
    x0 = torch.randn(shape, generator=gen, dtype=D64)
    noises = [torch.randn(shape, generator=gen, dtype=D64) for _ in range(STEPS)]
    res["toy.b"], res["toy.x0"] = b, x0
    for i, z in enumerate(noises):
        res[f"noise.{i}"] = z
    for name, (kind, grid) in SAMPLERS.items():
        sigmas = GRIDS[grid](STEPS)
        res[f"sample.{name}.sigmas"] = torch.tensor(sigmas, dtype=D64)
        for k, s in enumerate(sample(kind, toy_denoiser(b), x0 * sigmas[0], sigmas, noises), start=1):
            res[f"sample.{name}.{k}"] = s
    if tiny:
        import check_tiny
        import sd_reference as R

        sigmas = [SIGMAS[-1].item(), 3.7, 1.0, 0.29, SIGMAS[0].item()]
        x = torch.randn(2, 4, 16, 16, generator=gen)
        res["denoise.x"] = x
        res["denoise.sigmas"] = torch.tensor(sigmas, dtype=D64)
        with torch.no_grad():
            for ck in ["tiny_sd15", "tiny_sd21v", "tiny_sdxl"]:
                w, meta = st.load(os.path.join(tiny, ck + ".safetensors"))
                ref, _ = st.load(os.path.join(tiny, ck + "_ref.safetensors"))
                heads = check_tiny.heads_from_meta(meta)[0]
                fam = R.family(w)
                for j, s in enumerate(sigmas):
                    res[f"denoise.{ck}.{j}"] = denoise_unet(w, fam, x * math.sqrt(1 + s * s), s,
                                                            ref["unet.context"], ref.get("unet.y"), heads)
    st.save(out_path, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
