#!/usr/bin/env python3
# Reference: llama2.c model.py (RMSNorm, RoPE on adjacent pairs, causal attention, SwiGLU, tied head) and
# ../shared/reference/ANCHORS.md "Training: tokens/s"; the shapes are train/bench_test.go's BenchmarkTrainStep.
"""One LLaMA-style training step (forward, backward, AdamW) in PyTorch on CPU, float32, random tokens, timed
step by step: the counterpart of `go test ./train -bench TrainStep -benchtime 3x`.

  OMP_NUM_THREADS=2 /usr/bin/python3 tools/torchbench/train_step.py 0.9M [--steps 3] [--threads 2]

Prints one JSON line: setup_s (model and optimizer built), first_s (step 1, where PyTorch allocates the
optimizer state), steady_s (mean of the other steps), the same two in CPU seconds of the process (all threads),
tok_s (tokens over all steps' time, as the Go benchmark's tok/s). Debian's python3-torch 1.13 calls the system BLAS: install libopenblas0-pthread, or it
is the reference BLAS and a dozen times slower."""
import argparse, json, math, time
import torch
import torch.nn as nn
import torch.nn.functional as F

SHAPES = {  # V, C, H, F, L, B, T as in train/bench_test.go
    '0.9M': (512, 128, 4, 352, 4, 16, 256),
    '15M': (32000, 288, 6, 768, 6, 8, 256),
    '124M-T64': (50257, 768, 12, 2048, 12, 4, 64),
    '124M-T256': (50257, 768, 12, 2048, 12, 4, 256),
}

class RMSNorm(nn.Module):
    def __init__(self, c, eps=1e-5):
        super().__init__(); self.eps = eps; self.weight = nn.Parameter(torch.ones(c))
    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight

def rope(x, cos, sin):  # x [B, T, H, D], rotating adjacent pairs (ggml's normal RoPE)
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2)

class Block(nn.Module):
    def __init__(self, C, H, Fw):
        super().__init__()
        self.H, self.D = H, C // H
        self.attn_norm, self.ffn_norm = RMSNorm(C), RMSNorm(C)
        self.wq, self.wk, self.wv, self.wo = (nn.Linear(C, C, bias=False) for _ in range(4))
        self.gate, self.up, self.down = nn.Linear(C, Fw, bias=False), nn.Linear(C, Fw, bias=False), nn.Linear(Fw, C, bias=False)
    def forward(self, x, cos, sin, mask):
        B, T, C = x.shape
        h = self.attn_norm(x)
        q = rope(self.wq(h).view(B, T, self.H, self.D), cos, sin).transpose(1, 2)
        k = rope(self.wk(h).view(B, T, self.H, self.D), cos, sin).transpose(1, 2)
        v = self.wv(h).view(B, T, self.H, self.D).transpose(1, 2)
        s = (q @ k.transpose(-2, -1)) / math.sqrt(self.D) + mask  # torch 1.13 has no scaled_dot_product_attention
        a = (F.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.wo(a)
        h = self.ffn_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))

class Llama(nn.Module):
    def __init__(self, V, C, H, Fw, L, T):
        super().__init__()
        self.emb = nn.Embedding(V, C)
        self.blocks = nn.ModuleList(Block(C, H, Fw) for _ in range(L))
        self.norm = RMSNorm(C)
        D = C // H
        f = 1.0 / (10000 ** (torch.arange(0, D, 2).float() / D))
        ang = torch.outer(torch.arange(T).float(), f)  # [T, D/2]
        self.register_buffer('cos', ang.cos()[None, :, None, :]); self.register_buffer('sin', ang.sin()[None, :, None, :])
        self.register_buffer('mask', torch.full((T, T), float('-inf')).triu(1))
        for p in self.parameters():
            if p.dim() == 2: nn.init.normal_(p, std=0.02)
    def forward(self, tokens, targets):
        x = self.emb(tokens)
        for b in self.blocks:
            x = b(x, self.cos, self.sin, self.mask)
        logits = self.norm(x) @ self.emb.weight.t()  # tied head
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument('shape', choices=SHAPES); a.add_argument('--steps', type=int, default=3); a.add_argument('--threads', type=int, default=2)
    o = a.parse_args()
    torch.set_num_threads(o.threads); torch.manual_seed(1)
    V, C, H, Fw, L, B, T = SHAPES[o.shape]
    t0 = time.perf_counter()
    m = Llama(V, C, H, Fw, L, T)
    decay = [p for p in m.parameters() if p.dim() >= 2 and p is not m.emb.weight]
    rest = [p for p in m.parameters() if not (p.dim() >= 2 and p is not m.emb.weight)]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': rest, 'weight_decay': 0.0}],
                            lr=1e-4, betas=(0.9, 0.95), eps=1e-8)
    tokens, targets = torch.randint(V, (B, T)), torch.randint(V, (B, T))
    setup = time.perf_counter() - t0
    steps, cpu = [], []
    for _ in range(o.steps):
        s, c = time.perf_counter(), time.process_time()
        loss = m(tokens, targets)
        loss.backward()
        opt.step()
        opt.zero_grad()
        steps.append(time.perf_counter() - s); cpu.append(time.process_time() - c)
    rest = max(1, len(steps) - 1)
    print(json.dumps(dict(shape=o.shape, engine='pytorch', torch=torch.__version__, threads=o.threads, setup_s=setup,
                          first_s=steps[0], steady_s=sum(steps[1:]) / rest, first_cpu_s=cpu[0], steady_cpu_s=sum(cpu[1:]) / rest,
                          tok_s=B * T * len(steps) / sum(steps), loss=float(loss))))

if __name__ == '__main__':
    main()
