# Reference: llm.c train_gpt2.py (writes the model, inputs, logits, loss, gradients and optimizer steps that
# test_gpt2.c checks); llama2.c model.py (RMSNorm, adjacent-pair RoPE, repeat_kv GQA, SwiGLU, tied head).
#
# Writes golden_llama.json for train/golden_test.go: a seeded 2-layer LLaMA-style model in PyTorch (float32),
# its inputs, logits, loss, every parameter's gradient, and the losses and final weights of 10 AdamW steps.
# Run from this directory:  /usr/bin/python3 gen_golden.py   (PyTorch 1.13, Debian's python3-torch, CPU)
import json
import math

import torch
import torch.nn.functional as F

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

# AdamW as gptgo groups it: no decay for 1-D parameters and the embedding table.
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

with open("golden_llama.json", "w") as f:
    json.dump(out, f)
print("loss", out["loss"], "losses", losses[0], "→", losses[-1])
