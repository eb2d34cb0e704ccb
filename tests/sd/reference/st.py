"""Minimal safetensors reader and writer for the test-time reference code.

The format: an 8-byte little-endian header length, a JSON header mapping each
tensor name to {dtype, shape, data_offsets} (offsets relative to the end of
the header) plus an optional "__metadata__" of strings, then the raw
little-endian tensor bytes. Only what the references need: F32, F16, BF16,
F64, I64, I32, U8. Floats can be widened to float32 on read.
"""
import json
import struct

import torch

_DTYPES = {
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "F64": torch.float64,
    "I64": torch.int64,
    "I32": torch.int32,
    "U8": torch.uint8,
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def read_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    return header, 8 + n


def load(path, widen=True):
    """Returns ({name: tensor}, metadata). widen: float tensors as float32."""
    header, start = read_header(path)
    meta = header.pop("__metadata__", {}) or {}
    out = {}
    # One tensor at a time, so reading a multi-gigabyte file never holds the
    # file and its widened copy at once.
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        for name, info in header.items():
            dtype = _DTYPES.get(info["dtype"])
            if dtype is None:
                raise ValueError(f"{path}: {name}: unsupported dtype {info['dtype']}")
            a, b = info["data_offsets"]
            if a > b or start + b > size:
                raise ValueError(f"{path}: {name}: data offsets outside the file")
            if a == b:
                t = torch.empty(info["shape"], dtype=dtype)
            else:
                f.seek(start + a)
                buf = bytearray(b - a)
                f.readinto(buf)
                t = torch.frombuffer(buf, dtype=dtype).reshape(info["shape"])
            if widen and t.is_floating_point():
                t = t.float()
            out[name] = t
    return out, meta


def save(path, tensors, metadata=None):
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        raw = t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {
            "dtype": _NAMES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    js = json.dumps(header, separators=(",", ":")).encode()
    js += b" " * ((8 - len(js) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for raw in blobs:
            f.write(raw)
