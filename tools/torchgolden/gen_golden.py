# Reference: llm.c train_gpt2.py (writes the model, inputs, logits, loss, gradients and optimizer steps that
# test_gpt2.c checks); llama2.c model.py (RMSNorm, adjacent-pair RoPE, repeat_kv GQA, SwiGLU, tied head).
#
# Writes golden_llama.json and golden_gpt2.json for train/golden_test.go: a seeded 2-layer LLaMA-style model and
# a 2-layer GPT-2-style one in PyTorch (float32), their inputs, logits, loss, every parameter's gradient, and the
# losses and final weights of 10 AdamW steps.
# Run from anywhere:  /usr/bin/python3 tools/torchgolden/gen_golden.py   (PyTorch 1.13, Debian python3-torch, CPU)
import json
import math
import os

import torch
import torch.nn.functional as F

# The Go tests read the outputs from train/testdata.
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "train", "testdata")

torch.manual_seed(1234)
V, C, H, KH, D, FF, L, B, T = 13, 16, 4, 2, 4, 24, 2, 2, 8
EPS, BASE = 1e-5, 10000.0
LR, BETAS, ADAM_EPS, WD, STEPS = 1e-2, (0.9, 0.95), 1e-8, 0.1, 10


def param(*shape, ones=False):
    t = torch.ones(*shape) if ones else torch.randn(*shape) * 0.3
    return t.float().requires_grad_(True)


# GGUF names, PyTorch nn.Linear layout [out, in] (= gptgo's [R, C]).
params = {"token_embd.weight": param(V, C)}
for l in range(L):
    p = f"blk.{l}."
    params[p + "attn_norm.weight"] = param(C, ones=True)
    params[p + "attn_q.weight"] = param(H * D, C)
    params[p + "attn_k.weight"] = param(KH * D, C)
    params[p + "attn_v.weight"] = param(KH * D, C)
    params[p + "attn_output.weight"] = param(C, H * D)
    params[p + "ffn_norm.weight"] = param(C, ones=True)
    params[p + "ffn_gate.weight"] = param(FF, C)
    params[p + "ffn_up.weight"] = param(FF, C)
    params[p + "ffn_down.weight"] = param(C, FF)
params["output_norm.weight"] = param(C, ones=True)
# Norm weights start at one; perturb them so their gradients are not symmetric.
with torch.no_grad():
    for k, v in params.items():
        if k.endswith("norm.weight"):
            v.add_(torch.randn_like(v) * 0.1)

tokens = torch.randint(0, V, (B, T))
targets = torch.randint(0, V, (B, T))
targets[0, 3] = -1  # an ignored target
targets[1, 0] = -1


def rms_norm(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS) * w


def rope(x):  # x [B, T, heads, D]; rotate adjacent pairs (x[2i], x[2i+1]) by pos·BASE^(-2i/D)
    freqs = BASE ** (-torch.arange(0, D, 2).float() / D)
    ang = torch.arange(T).float()[:, None] * freqs[None, :]  # [T, D/2]
    cos, sin = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1)
    return out.flatten(-2)


def forward(tokens):
    x = params["token_embd.weight"][tokens]  # [B, T, C]
    mask = torch.full((T, T), float("-inf")).triu(1)
    for l in range(L):
        p = lambda s: params[f"blk.{l}.{s}.weight"]
        h = rms_norm(x, p("attn_norm"))
        q = rope((h @ p("attn_q").T).view(B, T, H, D))
        k = rope((h @ p("attn_k").T).view(B, T, KH, D))
        v = (h @ p("attn_v").T).view(B, T, KH, D)
        k = k.repeat_interleave(H // KH, dim=2)  # query head h reads KV head h // (H/KH)
        v = v.repeat_interleave(H // KH, dim=2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # [B, H, T, D]
        att = (q @ k.transpose(-2, -1)) / math.sqrt(D) + mask
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, H * D)
        x = x + y @ p("attn_output").T
        h = rms_norm(x, p("ffn_norm"))
        x = x + (F.silu(h @ p("ffn_gate").T) * (h @ p("ffn_up").T)) @ p("ffn_down").T
    x = rms_norm(x, params["output_norm.weight"])
    return x @ params["token_embd.weight"].T  # tied head


def loss_of(logits):
    return F.cross_entropy(logits.view(-1, V), targets.view(-1), ignore_index=-1)


# 9 significant digits round-trip any float32 exactly, in fewer characters than a double's repr.
flat = lambda t: [float(f"{v:.9g}") for v in t.detach().reshape(-1).tolist()]


def write_golden(path, params, forward):
    out = {
        "config": dict(V=V, C=C, H=H, KH=KH, D=D, FF=FF, L=L, B=B, T=T, eps=EPS, rope_base=BASE,
                       lr=LR, beta1=BETAS[0], beta2=BETAS[1], adam_eps=ADAM_EPS, weight_decay=WD, steps=STEPS),
        "torch": torch.__version__,
        "tokens": tokens.reshape(-1).tolist(),
        "targets": targets.reshape(-1).tolist(),
        "params": {k: flat(v) for k, v in params.items()},
    }
    logits = forward(tokens)
    loss = loss_of(logits)
    loss.backward()
    out["logits"] = flat(logits)
    out["loss"] = float(loss)  # float32 value, printed in full
    out["grads"] = {k: flat(v.grad) for k, v in params.items()}

    # AdamW as gptgo groups it: no decay for 1-D parameters and the embedding tables.
    nodecay = [v for k, v in params.items() if v.dim() < 2 or "_embd" in k]
    decay = [v for k, v in params.items() if not (v.dim() < 2 or "_embd" in k)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WD}, {"params": nodecay, "weight_decay": 0.0}],
                            lr=LR, betas=BETAS, eps=ADAM_EPS)
    losses = []
    for step in range(STEPS):
        opt.zero_grad()
        l = loss_of(forward(tokens))
        l.backward()
        losses.append(float(l))
        opt.step()
    out["step_losses"] = losses
    out["final_params"] = {k: flat(v) for k, v in params.items()}
    path = os.path.join(OUT, path)
    with open(path, "w") as f:
        json.dump(out, f)
    print(path, "loss", out["loss"], "losses", losses[0], "→", losses[-1])


write_golden("golden_llama.json", params, forward)

# GPT-2 style: learned positions, LayerNorm with biases, fused QKV with bias, GELU (tanh), untied head.
KH = H
gparams = {"token_embd.weight": param(V, C), "position_embd.weight": param(T, C)}
for l in range(L):
    p = f"blk.{l}."
    gparams[p + "attn_norm.weight"] = param(C, ones=True)
    gparams[p + "attn_norm.bias"] = param(C)
    gparams[p + "attn_qkv.weight"] = param(3 * C, C)
    gparams[p + "attn_qkv.bias"] = param(3 * C)
    gparams[p + "attn_output.weight"] = param(C, C)
    gparams[p + "attn_output.bias"] = param(C)
    gparams[p + "ffn_norm.weight"] = param(C, ones=True)
    gparams[p + "ffn_norm.bias"] = param(C)
    gparams[p + "ffn_up.weight"] = param(FF, C)
    gparams[p + "ffn_up.bias"] = param(FF)
    gparams[p + "ffn_down.weight"] = param(C, FF)
    gparams[p + "ffn_down.bias"] = param(C)
gparams["output_norm.weight"] = param(C, ones=True)
gparams["output_norm.bias"] = param(C)
gparams["output.weight"] = param(V, C)
with torch.no_grad():
    for k, v in gparams.items():
        if k.endswith("norm.weight"):
            v.add_(torch.randn_like(v) * 0.1)


def gpt2_forward(tokens):
    ln = lambda x, n: F.layer_norm(x, (C,), gparams[n + ".weight"], gparams[n + ".bias"], eps=EPS)
    x = gparams["token_embd.weight"][tokens] + gparams["position_embd.weight"][None, :T]
    mask = torch.full((T, T), float("-inf")).triu(1)
    for l in range(L):
        p = lambda s: gparams[f"blk.{l}.{s}"]
        h = ln(x, f"blk.{l}.attn_norm")
        qkv = h @ p("attn_qkv.weight").T + p("attn_qkv.bias")
        q, k, v = (t.reshape(B, T, H, D).transpose(1, 2) for t in qkv.split(C, dim=-1))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(D) + mask
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
        x = x + y @ p("attn_output.weight").T + p("attn_output.bias")
        h = ln(x, f"blk.{l}.ffn_norm")
        u = F.gelu(h @ p("ffn_up.weight").T + p("ffn_up.bias"), approximate="tanh")
        x = x + u @ p("ffn_down.weight").T + p("ffn_down.bias")
    return ln(x, "output_norm") @ gparams["output.weight"].T


write_golden("golden_gpt2.json", gparams, gpt2_forward)
