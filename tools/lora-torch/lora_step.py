#!/usr/bin/env python3
# Reference: Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models" (arXiv:2106.09685) §4.1
# (W x + (alpha/r)·B A x, A Kaiming-uniform, B zero, only A and B trained); llama2.c model.py for the
# LLaMA block (RMSNorm, RoPE on adjacent pairs, GQA, SwiGLU); the project's tools/torchbench/train_step.py.
"""LoRA versus full fine-tuning, one LLaMA-style model in PyTorch on CPU, float32: the counterpart of
`gptgo train sft --model M.gguf [--lora --lora-rank 8 --lora-targets q,v]` on the same shape, batch and
sequence (docs/finetune.md, "Memory and speed").

  OMP_NUM_THREADS=2 /usr/bin/python3 tools/lora-torch/lora_step.py 15M lora --targets q,v --rank 8 --batch 4 --seq 256 --steps 5

The tokens are random (the step's cost does not depend on them); the loss is the mean cross-entropy over every
position. Modes: full (every weight trains, AdamW over all of them) and lora (the base frozen, requires_grad off,
adapters on the --targets matrices of every block, AdamW over the adapters only). Prints one JSON line:
setup_s, first_s (step 1: PyTorch allocates the optimizer state there), steady_s (median of the other steps), the
same two in CPU seconds of the process (first_cpu_s, steady_cpu_s: all threads, time.process_time),
trained (values), and peak_rss_mb from getrusage (ru_maxrss) of this process."""
import argparse, json, math, resource, statistics, time
import torch
import torch.nn as nn
import torch.nn.functional as F

SHAPES = {  # V, C, H, KV, F, L: `gptgo init` shapes (docs/training.md, ../shared/reference/ANCHORS.md)
    '15M': (32000, 288, 6, 6, 768, 6),
    '1.1B': (32000, 2048, 32, 4, 5632, 22),  # TinyLlama's
}

class RMSNorm(nn.Module):
    def __init__(self, c, eps=1e-5):
        super().__init__(); self.eps = eps; self.weight = nn.Parameter(torch.ones(c))
    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight

class LoRALinear(nn.Module):
    """A frozen nn.Linear plus (alpha/r)·B(A x); PEFT's init: A ~ U(-1/sqrt(in), 1/sqrt(in)), B = 0."""
    def __init__(self, base, r, alpha):
        super().__init__()
        self.base, self.s = base, alpha / r
        self.a = nn.Parameter(torch.empty(r, base.in_features).uniform_(-1 / math.sqrt(base.in_features), 1 / math.sqrt(base.in_features)))
        self.b = nn.Parameter(torch.zeros(base.out_features, r))
    def forward(self, x):
        return self.base(x) + (x @ self.a.t() @ self.b.t()) * self.s

def rope(x, cos, sin):  # x [B, T, H, D], adjacent pairs (ggml's normal RoPE, llama)
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2)

class Block(nn.Module):
    def __init__(self, C, H, KV, Fw):
        super().__init__()
        self.H, self.KV, self.D = H, KV, C // H
        self.attn_norm, self.ffn_norm = RMSNorm(C), RMSNorm(C)
        self.q, self.o = nn.Linear(C, C, bias=False), nn.Linear(C, C, bias=False)
        self.k, self.v = nn.Linear(C, KV * self.D, bias=False), nn.Linear(C, KV * self.D, bias=False)
        self.gate, self.up, self.down = nn.Linear(C, Fw, bias=False), nn.Linear(C, Fw, bias=False), nn.Linear(Fw, C, bias=False)
    def forward(self, x, cos, sin, mask):
        B, T, C = x.shape
        h = self.attn_norm(x)
        q = rope(self.q(h).view(B, T, self.H, self.D), cos, sin).transpose(1, 2)
        k = rope(self.k(h).view(B, T, self.KV, self.D), cos, sin).transpose(1, 2)
        v = self.v(h).view(B, T, self.KV, self.D).transpose(1, 2)
        if self.KV != self.H:  # grouped-query attention: each K/V head serves H/KV query heads
            k, v = k.repeat_interleave(self.H // self.KV, 1), v.repeat_interleave(self.H // self.KV, 1)
        s = (q @ k.transpose(-2, -1)) / math.sqrt(self.D) + mask  # torch 1.13 has no scaled_dot_product_attention
        a = (F.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.o(a)
        h = self.ffn_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))

class Llama(nn.Module):
    def __init__(self, V, C, H, KV, Fw, L, T):
        super().__init__()
        self.emb = nn.Embedding(V, C)
        self.blocks = nn.ModuleList(Block(C, H, KV, Fw) for _ in range(L))
        self.norm, self.head = RMSNorm(C), nn.Linear(C, V, bias=False)  # untied, as `gptgo init` makes it
        D = C // H
        f = 1.0 / (10000 ** (torch.arange(0, D, 2).float() / D))
        ang = torch.outer(torch.arange(T).float(), f)
        self.register_buffer('cos', ang.cos()[None, :, None, :]); self.register_buffer('sin', ang.sin()[None, :, None, :])
        self.register_buffer('mask', torch.full((T, T), float('-inf')).triu(1))
        with torch.no_grad():
            for p in self.parameters():
                if p.dim() == 2: p.normal_(std=0.02)
    def forward(self, tokens, targets):
        x = self.emb(tokens)
        for b in self.blocks:
            x = b(x, self.cos, self.sin, self.mask)
        logits = self.head(self.norm(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument('shape', choices=SHAPES); a.add_argument('mode', choices=['full', 'lora'])
    a.add_argument('--rank', type=int, default=8); a.add_argument('--alpha', type=float, default=16)
    a.add_argument('--targets', default='q,v', help='comma-separated: q,k,v,o,gate,up,down')
    a.add_argument('--batch', type=int, default=4); a.add_argument('--seq', type=int, default=256)
    a.add_argument('--steps', type=int, default=5); a.add_argument('--threads', type=int, default=2)
    o = a.parse_args()
    torch.set_num_threads(o.threads); torch.manual_seed(1)
    V, C, H, KV, Fw, L = SHAPES[o.shape]
    B, T = o.batch, o.seq
    t0 = time.perf_counter()
    m = Llama(V, C, H, KV, Fw, L, T)
    if o.mode == 'lora':
        for p in m.parameters():
            p.requires_grad_(False)
        for blk in m.blocks:
            for t in o.targets.split(','):
                setattr(blk, t, LoRALinear(getattr(blk, t), o.rank, o.alpha))
    params = [p for p in m.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    tokens, targets = torch.randint(V, (B, T)), torch.randint(V, (B, T))
    setup = time.perf_counter() - t0
    steps, cpu = [], []
    for _ in range(o.steps):
        s, c = time.perf_counter(), time.process_time()
        loss = m(tokens, targets)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        steps.append(time.perf_counter() - s); cpu.append(time.process_time() - c)
    print(json.dumps(dict(engine='pytorch', torch=torch.__version__, shape=o.shape, mode=o.mode, targets=o.targets if o.mode == 'lora' else '',
                          rank=o.rank, batch=B, seq=T, threads=o.threads, setup_s=round(setup, 3), first_s=round(steps[0], 3),
                          steady_s=round(statistics.median(steps[1:]), 3) if len(steps) > 1 else None,
                          first_cpu_s=round(cpu[0], 3), steady_cpu_s=round(statistics.median(cpu[1:]), 3) if len(cpu) > 1 else None,
                          trained=sum(p.numel() for p in params), loss=float(loss),
                          peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))))

if __name__ == '__main__':
    main()
