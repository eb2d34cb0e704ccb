"""Self-test of sd_reference.py against the upstream outputs of the tiny
checkpoints (../shared/external-refs/sd-layouts/tiny/*_ref.safetensors).

Run by hand: /usr/bin/python3 tests/sd/reference/check_tiny.py [tiny_dir]
Prints the max abs difference per reference tensor; exits 1 when any exceeds
1e-4, 77 (skip) when the tiny references are absent. Heads come from each
checkpoint's metadata (index.json lists the same configs).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sd_reference as R  # noqa: E402
import st  # noqa: E402

TOL = 1e-4
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.normpath(os.path.join(HERE, "../../../../shared/external-refs/sd-layouts/tiny"))


def heads_from_meta(meta):
    cfg = json.loads(meta["config"])["params"]
    unet = (cfg.get("unet_config") or cfg.get("network_config"))["params"]
    h = {"heads": unet.get("num_heads", 0) if unet.get("num_head_channels", -1) <= 0 else 0,
         "head_channels": max(unet.get("num_head_channels", -1), 0)}
    clip_l = json.loads(meta["tiny_clip_l"])["num_attention_heads"] if "tiny_clip_l" in meta else None
    oc = json.loads(meta["tiny_open_clip"])["text_cfg"]["heads"] if "tiny_open_clip" in meta else None
    return h, clip_l, oc


def check(name, tiny_dir):
    w, meta = st.load(os.path.join(tiny_dir, name + ".safetensors"))
    ref, _ = st.load(os.path.join(tiny_dir, name + "_ref.safetensors"))
    fam = R.family(w)
    uh, hl, hg = heads_from_meta(meta)
    got = {}
    with torch.no_grad():
        if fam == "sd1":
            p = "cond_stage_model.transformer.text_model."
            states, fln = R.clip_l_hidden_states(w, p, ref["in.tokens"], hl)
            for i, s in enumerate(states):
                got[f"te.hidden_states.{i}"] = s
            got["te.last_hidden_state"] = fln(states[-1])
            got["te.penultimate_final_ln"] = fln(states[-2])
            got["te.pooled"] = R.clip_l_pooled(got["te.last_hidden_state"], ref["in.tokens"])
        elif fam == "sd2":
            states, lnf, _ = R.open_clip_states(w, "cond_stage_model.model.", ref["in.tokens"], hg)
            got["te.last"] = lnf(states[-1])
            got["te.penultimate"] = lnf(states[-2])
        else:
            sizes = [ref["in.original_size_as_tuple"], ref["in.crop_coords_top_left"], ref["in.target_size_as_tuple"]]
            ctx, y = R.encode_text(w, fam, ref["in.tokens_l"], hl, ref["in.tokens_g"], hg, sizes)
            sl, _ = R.clip_l_hidden_states(w, "conditioner.embedders.0.transformer.text_model.", ref["in.tokens_l"], hl)
            got["te.l_hidden"] = sl[-2]
            got["te.g_penultimate"] = ctx[:, :, sl[-2].shape[2]:]
            got["te.crossattn"] = ctx
            got["te.g_pooled"] = y[:, : ref["te.g_pooled"].shape[1]]
            got["unet.y"] = y
        got["unet.out"] = R.unet(w, ref["unet.x"], ref["unet.t"], ref["unet.context"], ref.get("unet.y"), **uh)
        got["vae.decoded"] = R.vae_decode(w, ref["vae.z"])
        got["vae.moments"] = R.vae_encode_moments(w, ref["vae.x"])
    worst = 0.0
    for k, v in sorted(got.items()):
        d = (v - ref[k]).abs().max().item()
        worst = max(worst, d)
        print(f"{name:18s} {k:26s} max abs diff {d:.3g}")
    missing = [k for k in ref if not k.startswith(("in.", "unet.x", "unet.t", "unet.context", "vae.x", "vae.z")) and k not in got]
    if missing:
        print(f"{name}: not checked: {missing}")
        return float("inf")
    return worst


def main():
    tiny_dir = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    if not os.path.isdir(tiny_dir):
        print(f"SKIP: no tiny references at {tiny_dir}")
        return 77
    worst = 0.0
    for name in ["tiny_sd15", "tiny_sd15_fp16", "tiny_sd21v", "tiny_sd21v_fp16", "tiny_sdxl", "tiny_sdxl_fp16"]:
        worst = max(worst, check(name, tiny_dir))
    print(f"worst {worst:.3g} (tolerance {TOL})")
    return 0 if worst <= TOL else 1


if __name__ == "__main__":
    sys.exit(main())
