#!/usr/bin/env python3
"""Reference merge of kohya-format LoRAs into a single-file SD checkpoint.

    lora_merge.py JOBS.json

JOBS.json: [{"checkpoint": PATH, "out": PATH, "loras": [[PATH, MULTIPLIER], ...]}, ...]
(one process for several merges: importing torch is the slow part).
Each job writes "out" (safetensors, F32): every checkpoint tensor a LoRA changes, after
W += multiplier * alpha / rank * up @ down (reshaped to W; a q/k/v module of a
fused OpenCLIP in_proj_weight adds to its third of the rows). Its metadata
holds "addnet_hash_N": SHA-256 of LoRA N's bytes after its header.

Written for the C++ tests and independent of the C++ code: safetensors are
read with json and torch.frombuffer (no safetensors package), and kohya
module names are mapped by matching the diffusers -> LDM block numbering and
then the checkpoint's own names with "." read as "_".
"""
import hashlib
import json
import re
import struct
import sys

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
          "F64": torch.float64, "I64": torch.int64, "I32": torch.int32}


class Safetensors:
    def __init__(self, path):
        with open(path, "rb") as f:
            raw = f.read()
        (n,) = struct.unpack("<Q", raw[:8])
        self.header = json.loads(raw[8:8 + n])
        self.metadata = self.header.pop("__metadata__", {})
        self.data = raw[8 + n:]

    def names(self):
        return list(self.header)

    def get(self, name):
        h = self.header[name]
        b, e = h["data_offsets"]
        t = torch.frombuffer(bytearray(self.data[b:e]), dtype=DTYPES[h["dtype"]])
        return t.reshape(h["shape"]).float()


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous().float()
        blob = t.numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


RESNET = {"conv1": "in_layers_2", "conv2": "out_layers_3",
          "time_emb_proj": "emb_layers_1", "conv_shortcut": "skip_connection"}
FUSED = {"self_attn_q_proj": 0, "self_attn_k_proj": 1, "self_attn_v_proj": 2}
OPEN_CLIP = {"self_attn_out_proj": "attn.out_proj.weight", "mlp_fc1": "mlp.c_fc.weight",
             "mlp_fc2": "mlp.c_proj.weight"}


class Mapper:
    def __init__(self, ckpt):
        names = ckpt.names()
        self.names = set(names)
        self.by_underscore = {n[:-len(".weight")].replace(".", "_"): n
                              for n in names if n.endswith(".weight")}
        if any(n.startswith("conditioner.embedders.") for n in names):
            self.te = {"lora_te1_": "conditioner.embedders.0.transformer.text_model.",
                       "lora_te2_": "conditioner.embedders.1.model."}
        elif any(n.startswith("cond_stage_model.model.") for n in names):
            self.te = {"lora_te_": "cond_stage_model.model."}
        else:
            self.te = {"lora_te_": "cond_stage_model.transformer.text_model."}
        u = "model.diffusion_model."
        i = 1
        while u + "input_blocks.%d.0.op.weight" % i not in self.names:
            i += 1
        self.nrb = i - 1

    def unet_path(self, k):
        """kohya name after lora_unet_ -> LDM path with _ for ."""
        nrb = self.nrb
        m = re.fullmatch(r"down_blocks_(\d+)_(attentions|resnets)_(\d+)_(.+)", k)
        if m:
            lv, kind, j, rest = int(m[1]), m[2], int(m[3]), m[4]
            if kind == "resnets":
                return "input_blocks_%d_0_%s" % (1 + lv * (nrb + 1) + j, RESNET[rest])
            return "input_blocks_%d_1_%s" % (1 + lv * (nrb + 1) + j, rest)
        m = re.fullmatch(r"down_blocks_(\d+)_downsamplers_0_conv", k)
        if m:
            return "input_blocks_%d_0_op" % (1 + int(m[1]) * (nrb + 1) + nrb)
        m = re.fullmatch(r"mid_block_attentions_0_(.+)", k)
        if m:
            return "middle_block_1_" + m[1]
        m = re.fullmatch(r"mid_block_resnets_(\d)_(.+)", k)
        if m:
            return "middle_block_%d_%s" % (2 * int(m[1]), RESNET[m[2]])
        m = re.fullmatch(r"up_blocks_(\d+)_(attentions|resnets)_(\d+)_(.+)", k)
        if m:
            i, kind, j, rest = int(m[1]), m[2], int(m[3]), m[4]
            if kind == "resnets":
                return "output_blocks_%d_0_%s" % (i * (nrb + 1) + j, RESNET[rest])
            return "output_blocks_%d_1_%s" % (i * (nrb + 1) + j, rest)
        m = re.fullmatch(r"up_blocks_(\d+)_upsamplers_0_conv", k)
        if m:
            n = int(m[1]) * (nrb + 1) + nrb
            pos = 2 if "model.diffusion_model.output_blocks.%d.2.conv.weight" % n in self.names else 1
            return "output_blocks_%d_%d_conv" % (n, pos)
        return k  # already an LDM path

    def target(self, module):
        """-> (tensor name, fused part or None)"""
        if module.startswith("lora_unet_"):
            path = self.unet_path(module[len("lora_unet_"):])
            return self.by_underscore["model_diffusion_model_" + path], None
        for prefix, ldm in self.te.items():
            if module.startswith(prefix):
                m = re.fullmatch(r"text_model_encoder_layers_(\d+)_(.+)", module[len(prefix):])
                layer, rest = int(m[1]), m[2]
                if ldm.endswith("text_model."):
                    key = (ldm + "encoder.layers.%d." % layer).replace(".", "_") + rest
                    return self.by_underscore[key], None
                block = ldm + "transformer.resblocks.%d." % layer
                if rest in FUSED:
                    return block + "attn.in_proj_weight", FUSED[rest]
                return block + OPEN_CLIP[rest], None
        raise KeyError(module)


def addnet_sha256(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        f.seek(8 + n)
        return hashlib.sha256(f.read()).hexdigest()


def merge(ckpt_path, out_path, loras):
    ckpt = Safetensors(ckpt_path)
    mapper = Mapper(ckpt)
    merged, metadata = {}, {}
    for n, (lora_path, mult) in enumerate(loras):
        mult = float(mult)
        lora = Safetensors(lora_path)
        metadata["addnet_hash_%d" % n] = addnet_sha256(lora_path)
        modules = sorted({k[:-len(".lora_down.weight")] for k in lora.names()
                          if k.endswith(".lora_down.weight")})
        for module in modules:
            down = lora.get(module + ".lora_down.weight")
            up = lora.get(module + ".lora_up.weight")
            alpha_name = module + ".alpha"
            scale = lora.get(alpha_name).item() / down.shape[0] if alpha_name in lora.header else 1.0
            name, part = mapper.target(module)
            if name not in merged:
                merged[name] = ckpt.get(name).clone()
            w = merged[name]
            rows = w if part is None else w[part * (w.shape[0] // 3):(part + 1) * (w.shape[0] // 3)]
            delta = up.flatten(1).mm(down.flatten(1)) * (mult * scale)
            rows += delta.reshape(rows.shape)
    write_safetensors(out_path, merged, metadata)


def main(argv):
    with open(argv[1]) as f:
        jobs = json.load(f)
    for job in jobs:
        merge(job["checkpoint"], job["out"], job["loras"])


if __name__ == "__main__":
    main(sys.argv)
