"""Reference forward passes of Stable Diffusion (1.x, 2.x, SDXL) in plain torch.

Test-time and benchmark only, never a runtime dependency. Written from the
architectures as the papers and the LDM/SGM model definitions describe them,
reading a single-file checkpoint's tensors by their LDM names (a dict of
name -> float32 tensor, see st.py), with every size read from names and
shapes. What shapes cannot tell (attention heads) is an argument.

Invariants: eval only, float32, no nn.Module (functions over the weight dict),
eager torch ops only (this is the "Python eager" peer of the benchmark).

Components:
  unet(w, x, t, context, y=None, heads=..., head_channels=...)
  vae_decode(w, z), vae_encode_moments(w, x)
  clip_l_hidden_states(w, prefix, tokens, heads) -> [embeddings, layer 1..n], final_ln
  open_clip_states(w, prefix, tokens, heads) -> [embeddings, resblock 1..n], ln_final, proj
  sdxl_vector(pooled, original_size, crop, target)
"""
import math

import torch
import torch.nn.functional as F

UNET = "model.diffusion_model."
VAE = "first_stage_model."


# ---------------------------------------------------------------- primitives
def linear(w, p, x):
    return F.linear(x, w[p + "weight"], w.get(p + "bias"))


def conv(w, p, x, stride=1, padding=None):
    k = w[p + "weight"]
    if padding is None:
        padding = k.shape[-1] // 2
    return F.conv2d(x, k, w.get(p + "bias"), stride=stride, padding=padding)


def group_norm(w, p, x, eps, groups=32):
    return F.group_norm(x, groups, w[p + "weight"], w[p + "bias"], eps)


def layer_norm(w, p, x, eps=1e-5):
    return F.layer_norm(x, (x.shape[-1],), w[p + "weight"], w[p + "bias"], eps)


def attention(q, k, v, heads, mask=None):
    """Scaled dot-product attention over (B, N, C) tensors, heads split from C."""
    b, n, c = q.shape
    d = c // heads
    q = q.reshape(b, n, heads, d).transpose(1, 2)
    k = k.reshape(b, k.shape[1], heads, d).transpose(1, 2)
    v = v.reshape(b, v.shape[1], heads, d).transpose(1, 2)
    s = torch.matmul(q, k.transpose(-1, -2)) * (d ** -0.5)
    if mask is not None:
        s = s + mask
    o = torch.matmul(s.softmax(dim=-1), v)
    return o.transpose(1, 2).reshape(b, n, c)


def timestep_embedding(t, dim, max_period=10000.0):
    """Sinusoidal embedding as the DDPM/LDM UNets make it: [cos | sin]."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


def causal_mask(n, dtype=torch.float32):
    return torch.full((n, n), float("-inf"), dtype=dtype).triu(1)


def indices_under(w, prefix):
    """Sorted distinct integer components right after prefix."""
    out = set()
    for k in w:
        if k.startswith(prefix):
            head = k[len(prefix):].split(".", 1)[0]
            if head.isdigit():
                out.add(int(head))
    return sorted(out)


def has_prefix(w, prefix):
    return any(k.startswith(prefix) for k in w)


# ---------------------------------------------------------------- UNet
def res_block(w, p, x, emb):
    h = conv(w, p + "in_layers.2.", F.silu(group_norm(w, p + "in_layers.0.", x, 1e-5)))
    h = h + linear(w, p + "emb_layers.1.", F.silu(emb))[:, :, None, None]
    h = conv(w, p + "out_layers.3.", F.silu(group_norm(w, p + "out_layers.0.", h, 1e-5)))
    skip = conv(w, p + "skip_connection.", x) if p + "skip_connection.weight" in w else x
    return skip + h


def cross_attention(w, p, x, context, heads):
    ctx = x if context is None else context
    q = F.linear(x, w[p + "to_q.weight"])
    k = F.linear(ctx, w[p + "to_k.weight"])
    v = F.linear(ctx, w[p + "to_v.weight"])
    return linear(w, p + "to_out.0.", attention(q, k, v, heads))


def transformer_block(w, p, x, context, heads):
    x = x + cross_attention(w, p + "attn1.", layer_norm(w, p + "norm1.", x), None, heads)
    x = x + cross_attention(w, p + "attn2.", layer_norm(w, p + "norm2.", x), context, heads)
    h = linear(w, p + "ff.net.0.proj.", layer_norm(w, p + "norm3.", x))
    a, gate = h.chunk(2, dim=-1)
    return x + linear(w, p + "ff.net.2.", a * F.gelu(gate))


def spatial_transformer(w, p, x, context, heads, head_channels):
    b, c, hh, ww = x.shape
    if head_channels:
        heads = c // head_channels
    h = group_norm(w, p + "norm.", x, 1e-6)
    linear_proj = w[p + "proj_in.weight"].dim() == 2
    if not linear_proj:
        h = conv(w, p + "proj_in.", h)
    h = h.permute(0, 2, 3, 1).reshape(b, hh * ww, -1)
    if linear_proj:
        h = linear(w, p + "proj_in.", h)
    for i in indices_under(w, p + "transformer_blocks."):
        h = transformer_block(w, f"{p}transformer_blocks.{i}.", h, context, heads)
    if linear_proj:
        h = linear(w, p + "proj_out.", h)
    h = h.reshape(b, hh, ww, -1).permute(0, 3, 1, 2)
    if not linear_proj:
        h = conv(w, p + "proj_out.", h)
    return h + x


def unet_layer(w, p, x, emb, context, heads, head_channels):
    if p + "in_layers.0.weight" in w:
        return res_block(w, p, x, emb)
    if p + "proj_in.weight" in w:
        return spatial_transformer(w, p, x, context, heads, head_channels)
    if p + "op.weight" in w:
        return conv(w, p + "op.", x, stride=2, padding=1)
    if p + "conv.weight" in w:
        return conv(w, p + "conv.", F.interpolate(x, scale_factor=2.0, mode="nearest"))
    if p + "weight" in w:  # input_blocks.0.0: the stem conv
        return conv(w, p, x)
    raise KeyError(f"{p}: unknown UNet layer")


def unet_block(w, p, x, emb, context, heads, head_channels, timer=None):
    for j in indices_under(w, p):
        x = unet_layer(w, f"{p}{j}.", x, emb, context, heads, head_channels)
    if timer:
        timer(p)
    return x


def unet(w, x, t, context, y=None, heads=8, head_channels=0, timer=None):
    """openaimodel.UNetModel forward. head_channels > 0 fixes the head width
    (SD2/SDXL), otherwise `heads` per block (SD1). timer(label) is called
    after each block (for per-block profiles)."""
    p = UNET
    mc = w[p + "time_embed.0.weight"].shape[1]
    emb = linear(w, p + "time_embed.2.", F.silu(linear(w, p + "time_embed.0.", timestep_embedding(t, mc))))
    if p + "label_emb.0.0.weight" in w:
        emb = emb + linear(w, p + "label_emb.0.2.", F.silu(linear(w, p + "label_emb.0.0.", y)))
    hs = []
    h = x
    for i in indices_under(w, p + "input_blocks."):
        h = unet_block(w, f"{p}input_blocks.{i}.", h, emb, context, heads, head_channels, timer)
        hs.append(h)
    h = unet_block(w, p + "middle_block.", h, emb, context, heads, head_channels, timer)
    for i in indices_under(w, p + "output_blocks."):
        h = torch.cat([h, hs.pop()], dim=1)
        h = unet_block(w, f"{p}output_blocks.{i}.", h, emb, context, heads, head_channels, timer)
    return conv(w, p + "out.2.", F.silu(group_norm(w, p + "out.0.", h, 1e-5)))


# ---------------------------------------------------------------- VAE
def vae_res(w, p, x):
    h = conv(w, p + "conv1.", F.silu(group_norm(w, p + "norm1.", x, 1e-6)))
    h = conv(w, p + "conv2.", F.silu(group_norm(w, p + "norm2.", h, 1e-6)))
    if p + "nin_shortcut.weight" in w:
        x = conv(w, p + "nin_shortcut.", x)
    return x + h


def vae_attn(w, p, x):
    b, c, hh, ww = x.shape
    h = group_norm(w, p + "norm.", x, 1e-6)
    q, k, v = (conv(w, p + n + ".", h).reshape(b, c, hh * ww).transpose(1, 2) for n in "qkv")
    o = attention(q, k, v, 1).transpose(1, 2).reshape(b, c, hh, ww)
    return x + conv(w, p + "proj_out.", o)


def vae_mid(w, p, x):
    x = vae_res(w, p + "mid.block_1.", x)
    x = vae_attn(w, p + "mid.attn_1.", x)
    return vae_res(w, p + "mid.block_2.", x)


def vae_decode(w, z, timer=None):
    """first_stage_model.decode(z): post_quant_conv, then the decoder."""
    p = VAE + "decoder."
    h = conv(w, VAE + "post_quant_conv.", z)
    h = conv(w, p + "conv_in.", h)
    h = vae_mid(w, p, h)
    if timer:
        timer(p + "mid")
    for lvl in reversed(indices_under(w, p + "up.")):
        for j in indices_under(w, f"{p}up.{lvl}.block."):
            h = vae_res(w, f"{p}up.{lvl}.block.{j}.", h)
        if f"{p}up.{lvl}.upsample.conv.weight" in w:
            h = conv(w, f"{p}up.{lvl}.upsample.conv.", F.interpolate(h, scale_factor=2.0, mode="nearest"))
        if timer:
            timer(f"{p}up.{lvl}")
    return conv(w, p + "conv_out.", F.silu(group_norm(w, p + "norm_out.", h, 1e-6)))


def vae_encode_moments(w, x):
    """quant_conv(encoder(x)): (B, 2 * z, h, w), mean then logvar."""
    p = VAE + "encoder."
    h = conv(w, p + "conv_in.", x)
    for lvl in indices_under(w, p + "down."):
        for j in indices_under(w, f"{p}down.{lvl}.block."):
            h = vae_res(w, f"{p}down.{lvl}.block.{j}.", h)
        if f"{p}down.{lvl}.downsample.conv.weight" in w:
            # asymmetric padding: one row/column of zeros at the bottom/right
            h = conv(w, f"{p}down.{lvl}.downsample.conv.", F.pad(h, (0, 1, 0, 1)), stride=2, padding=0)
    h = vae_mid(w, p, h)
    h = conv(w, p + "conv_out.", F.silu(group_norm(w, p + "norm_out.", h, 1e-6)))
    return conv(w, VAE + "quant_conv.", h)


# ---------------------------------------------------------------- text encoders
def clip_l_hidden_states(w, prefix, tokens, heads):
    """HF CLIPTextModel under prefix (ending in "text_model."): returns
    (hidden_states list [embeddings, after layer 1, ...], final_layer_norm fn)."""
    n = tokens.shape[1]
    x = w[prefix + "embeddings.token_embedding.weight"][tokens]
    x = x + w[prefix + "embeddings.position_embedding.weight"][:n][None]
    mask = causal_mask(n)
    states = [x]
    for i in indices_under(w, prefix + "encoder.layers."):
        p = f"{prefix}encoder.layers.{i}."
        h = layer_norm(w, p + "layer_norm1.", x)
        q = linear(w, p + "self_attn.q_proj.", h)
        k = linear(w, p + "self_attn.k_proj.", h)
        v = linear(w, p + "self_attn.v_proj.", h)
        x = x + linear(w, p + "self_attn.out_proj.", attention(q, k, v, heads, mask))
        h = linear(w, p + "mlp.fc1.", layer_norm(w, p + "layer_norm2.", x))
        h = h * torch.sigmoid(1.702 * h)  # quick_gelu
        x = x + linear(w, p + "mlp.fc2.", h)
        states.append(x)
    return states, lambda s: layer_norm(w, prefix + "final_layer_norm.", s)


def clip_l_pooled(last_hidden_state, tokens):
    return last_hidden_state[torch.arange(tokens.shape[0]), tokens.argmax(dim=-1)]


def open_clip_states(w, prefix, tokens, heads):
    """open_clip text tower under prefix (ending in "model." or ""): returns
    (states [embeddings, after resblock 1, ...], ln_final fn, text_projection)."""
    n = tokens.shape[1]
    x = w[prefix + "token_embedding.weight"][tokens] + w[prefix + "positional_embedding"][:n][None]
    mask = causal_mask(n)
    states = [x]
    for i in indices_under(w, prefix + "transformer.resblocks."):
        p = f"{prefix}transformer.resblocks.{i}."
        h = layer_norm(w, p + "ln_1.", x)
        q, k, v = F.linear(h, w[p + "attn.in_proj_weight"], w[p + "attn.in_proj_bias"]).chunk(3, dim=-1)
        x = x + linear(w, p + "attn.out_proj.", attention(q, k, v, heads, mask))
        h = F.gelu(linear(w, p + "mlp.c_fc.", layer_norm(w, p + "ln_2.", x)))
        x = x + linear(w, p + "mlp.c_proj.", h)
        states.append(x)
    return states, (lambda s: layer_norm(w, prefix + "ln_final.", s)), w.get(prefix + "text_projection")


def sdxl_vector(pooled, original_size, crop, target, dim=256):
    """SGM's 'vector' conditioning: pooled text embedding and three (B, 2)
    integer pairs, each number as a dim-wide sinusoidal embedding."""
    parts = [pooled]
    for pair in (original_size, crop, target):
        b = pair.shape[0]
        parts.append(timestep_embedding(pair.reshape(-1), dim).reshape(b, -1))
    return torch.cat(parts, dim=1)


# ---------------------------------------------------------------- families
def family(w):
    if has_prefix(w, "conditioner.embedders.1."):
        return "sdxl"
    if has_prefix(w, "cond_stage_model.model."):
        return "sd2"
    return "sd1"


def unet_heads(w, fam, heads=None, head_channels=None):
    """The caller's convention: 8 heads for SD1, 64-wide heads otherwise."""
    if heads or head_channels:
        return {"heads": heads or 0, "head_channels": head_channels or 0}
    return {"heads": 8, "head_channels": 0} if fam == "sd1" else {"heads": 0, "head_channels": 64}


def encode_text(w, fam, tokens, heads=None, tokens_g=None, heads_g=None, sizes=None):
    """The context (and SDXL's vector) as the family's conditioner makes it.
    heads: CLIP-L heads (default width / 64); heads_g: OpenCLIP heads."""
    if fam == "sd1":
        p = "cond_stage_model.transformer.text_model."
        width = w[p + "final_layer_norm.weight"].shape[0]
        states, fln = clip_l_hidden_states(w, p, tokens, heads or width // 64)
        return fln(states[-1]), None
    if fam == "sd2":
        p = "cond_stage_model.model."
        width = w[p + "ln_final.weight"].shape[0]
        states, lnf, _ = open_clip_states(w, p, tokens, heads or width // 64)
        return lnf(states[-2]), None
    pl = "conditioner.embedders.0.transformer.text_model."
    pg = "conditioner.embedders.1.model."
    wl = w[pl + "final_layer_norm.weight"].shape[0]
    wg = w[pg + "ln_final.weight"].shape[0]
    sl, _ = clip_l_hidden_states(w, pl, tokens, heads or wl // 64)
    tg = tokens if tokens_g is None else tokens_g
    sg, lnf, proj = open_clip_states(w, pg, tg, heads_g or wg // 64)
    context = torch.cat([sl[-2], sg[-2]], dim=2)
    pooled = lnf(sg[-1])[torch.arange(tg.shape[0]), tg.argmax(dim=-1)] @ proj
    if sizes is None:
        b = tokens.shape[0]
        sizes = [torch.tensor([[1024, 1024]] * b), torch.tensor([[0, 0]] * b), torch.tensor([[1024, 1024]] * b)]
    return context, sdxl_vector(pooled, *sizes)
