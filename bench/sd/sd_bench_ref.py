"""The Python torch eager peer of atelier_sd_bench: the same passes (one guided
UNet step, batch 2; a 77-token text encoding; a VAE decode) with the plain
torch reference in tests/sd/reference/sd_reference.py, on the same checkpoint
and inputs. Also makes the inputs, and compares two output files.

  sd_bench_ref.py make-inputs CHECKPOINT INPUTS [--latent 64]
  sd_bench_ref.py run CHECKPOINT INPUTS OUT --threads N [--repeats 3] [--parts unet,text,vae] [--profile]
  sd_bench_ref.py compare A B [--tol 1e-3]

run prints one JSON line per part (as the C++ bench does) and the load time
and peak RSS (resource.getrusage). --profile prints seconds per UNet block.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../../tests/sd/reference"))
import sd_reference as R  # noqa: E402
import st  # noqa: E402
import check_tiny  # noqa: E402


def header_family(path):
    header, _ = st.read_header(path)
    return R.family(header)


def make_inputs(args):
    fam = header_family(args.checkpoint)
    header, _ = st.read_header(args.checkpoint)
    ctx_dim = next(v["shape"][1] for k, v in header.items()
                   if k.startswith(R.UNET) and k.endswith("attn2.to_k.weight"))
    g = torch.Generator().manual_seed(7)
    n = args.latent
    res = {
        "unet.x": torch.randn(2, 4, n, n, generator=g),
        "unet.t": torch.tensor([801.0, 801.0]),
        "unet.context": torch.randn(2, 77, ctx_dim, generator=g),
        "vae.z": torch.randn(1, 4, args.vae_latent, args.vae_latent, generator=g) / 0.18215,
    }
    # BOS, 20 prompt tokens, EOS, padded with EOS (as SD1's tokenizer does)
    vocab = next(v["shape"][0] for k, v in header.items() if k.endswith("token_embedding.weight"))
    toks = [vocab - 2] + torch.randint(1, vocab - 2, (20,), generator=g).tolist() + [vocab - 1] * 56
    res["text.tokens"] = torch.tensor([toks], dtype=torch.int64)
    if fam == "sdxl":
        adm = header[R.UNET + "label_emb.0.0.weight"]["shape"][1]
        res["unet.y"] = torch.randn(2, adm, generator=g)
    st.save(args.inputs, res)


def median_runs(repeats, f):
    runs = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = f()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), runs, out


def report(part, threads, med, runs):
    print(json.dumps({"impl": "python", "part": part, "threads": threads, "median_s": med, "runs": runs}), flush=True)


def run(args):
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    w, meta = st.load(args.checkpoint)
    load_s = time.perf_counter() - t0
    fam = R.family(w)
    # Heads as the C++ loader reads them: the metadata when it says, else the
    # families' conventions.
    heads, hl, hg = R.unet_heads(w, fam), None, None
    if "config" in meta:
        heads, hl, hg = check_tiny.heads_from_meta(meta)
    inp, _ = st.load(args.inputs, widen=False)
    parts = args.parts.split(",")
    res = {}
    with torch.no_grad():
        if "unet" in parts:
            x, t, ctx = inp["unet.x"].float(), inp["unet.t"].float(), inp["unet.context"].float()
            y = inp["unet.y"].float() if "unet.y" in inp else None
            med, runs, out = median_runs(args.repeats, lambda: R.unet(w, x, t, ctx, y, **heads))
            report("unet", args.threads, med, runs)
            res["unet.out"] = out
            if args.profile:
                marks = []
                last = [time.perf_counter()]

                def timer(label):
                    now = time.perf_counter()
                    marks.append((label.replace(R.UNET, ""), now - last[0]))
                    last[0] = now

                R.unet(w, x, t, ctx, y, timer=timer, **heads)
                print(json.dumps({"impl": "python", "profile": "unet", "blocks": marks}), flush=True)
        if "text" in parts:
            tok = inp["text.tokens"]

            def enc():
                return R.encode_text(w, fam, tok, heads=hl, heads_g=hg)

            med, runs, out = median_runs(args.repeats, enc)
            report("text", args.threads, med, runs)
            res["text.context"] = out[0]
            if fam == "sdxl":
                res["text.pooled"] = out[1][:, : out[1].shape[1] - 6 * 256]
        if "vae" in parts:
            z = inp["vae.z"].float()
            med, runs, out = median_runs(args.repeats, lambda: R.vae_decode(w, z))
            report("vae", args.threads, med, runs)
            res["vae.decoded"] = out
    if args.out:
        st.save(args.out, res)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"impl": "python", "threads": args.threads, "load_s": load_s, "peak_rss_mb": peak}), flush=True)


def compare(args):
    a, _ = st.load(args.a)
    b, _ = st.load(args.b)
    worst = 0.0
    for k in sorted(set(a) | set(b)):
        if k not in a or k not in b:
            print(f"{k}: only in one file")
            worst = float("inf")
            continue
        d = (a[k] - b[k]).abs().max().item()
        scale = b[k].abs().max().item()
        print(f"{k}: max abs diff {d:.3g} (max |value| {scale:.3g})")
        worst = max(worst, d)
    print(f"worst {worst:.3g} (tolerance {args.tol})")
    return 0 if worst <= args.tol else 1


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make-inputs")
    m.add_argument("checkpoint")
    m.add_argument("inputs")
    m.add_argument("--latent", type=int, default=64)
    m.add_argument("--vae-latent", type=int, default=64)
    r = sub.add_parser("run")
    r.add_argument("checkpoint")
    r.add_argument("inputs")
    r.add_argument("out")
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--repeats", type=int, default=3)
    r.add_argument("--parts", default="unet,text,vae")
    r.add_argument("--profile", action="store_true")
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    c.add_argument("--tol", type=float, default=1e-3)
    args = p.parse_args()
    if args.cmd == "make-inputs":
        return make_inputs(args)
    if args.cmd == "run":
        return run(args)
    return compare(args)


if __name__ == "__main__":
    sys.exit(main() or 0)
