#!/usr/bin/env python3
# Reference: /work/shared/tools/benchpair.py (alternating rounds, foreign-load accounting) applied to
# `gptgo embed` and llama.cpp's `llama-embedding` on the same GGUF file and the same texts.
"""Batch-embedding throughput of gptgo and llama.cpp, alternating the engines round by round.

  embedpair.py --gptgo ./gptgo --llama LLAMA/build/bin/llama-embedding --model bert.gguf --texts texts.txt [--rounds 3]

Each round runs `gptgo embed MODEL --threads T --batch B < TEXTS` and `llama-embedding -m MODEL -f TEXTS -t T
-b B -ub B --pooling mean` (one text per line, every vector printed to /dev/null), whole commands, loading
included. Reported per engine: the median wall time, texts/s and tokens/s over it, texts per CPU-second (the
run's own user+sys time: steadier than wall time on a shared machine), and the CPU other processes used during
the run (cores); the ratio is the median of the per-round gptgo/llama.cpp texts/s ratios. Tokens are counted
with `gptgo embed --json` (the two engines' token ids agree on WordPiece files: model/bert_test.go)."""
import argparse, json, os, resource, statistics, subprocess, time

HZ = os.sysconf('SC_CLK_TCK')


def busy():
    f = [int(x) for x in open('/proc/stat').readline().split()[1:]]
    return (sum(f) - f[3] - f[4]) / HZ


def run1(cmd, stdin_path):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    b0, t0 = busy(), time.time()
    with open(stdin_path) as fin:
        p = subprocess.run(cmd, stdin=fin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall, b1 = time.time() - t0, busy()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode:
        raise RuntimeError(' '.join(cmd[:2]) + ': ' + p.stderr[-400:])
    own = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return dict(wall=wall, cpu=own, foreign=max(0.0, (b1 - b0 - own) / wall))


def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument('--gptgo', required=True)
    a.add_argument('--llama', required=True, help='llama-embedding binary')
    a.add_argument('--model', required=True)
    a.add_argument('--texts', required=True, help='one text per line')
    a.add_argument('--rounds', type=int, default=3)
    a.add_argument('--threads', type=int, default=2)
    a.add_argument('--batch', type=int, default=2048, help='tokens per pass, both engines')
    o = a.parse_args()
    texts = [l for l in open(o.texts).read().split('\n') if l]
    out = subprocess.run([o.gptgo, 'embed', o.model, '--json', '--threads', str(o.threads)], stdin=open(o.texts),
                         capture_output=True, text=True, check=True).stdout
    tokens = sum(len(json.loads(l)['tokens']) for l in out.splitlines())
    cmds = {
        'gptgo': [o.gptgo, 'embed', o.model, '--threads', str(o.threads), '--batch', str(o.batch)],
        'llama': [o.llama, '-m', o.model, '-f', o.texts, '-t', str(o.threads), '-b', str(o.batch), '-ub', str(o.batch),
                  '-c', str(o.batch), '--pooling', 'mean', '--embd-normalize', '2', '--no-warmup'],
    }
    res = {'gptgo': [], 'llama': []}
    for _ in range(o.rounds):
        for eng in ('gptgo', 'llama'):
            res[eng].append(run1(cmds[eng], o.texts))
    md = statistics.median
    for eng in ('gptgo', 'llama'):
        rs = res[eng]
        w = md(x['wall'] for x in rs)
        print(f"{eng:6s} wall {w:7.2f}s  {len(texts) / w:7.2f} texts/s  {tokens / w:8.1f} tokens/s  "
              f"{md(len(texts) / x['cpu'] for x in rs):6.2f} texts/CPU-s  foreign load {max(x['foreign'] for x in rs):.2f} cores")
    ratio = md(b['wall'] / a['wall'] for a, b in zip(res['gptgo'], res['llama']))
    cratio = md(b['cpu'] / a['cpu'] for a, b in zip(res['gptgo'], res['llama']))
    print(f"{len(texts)} texts, {tokens} tokens; gptgo/llama.cpp texts/s {ratio:.2f}x (wall), {cratio:.2f}x (per CPU-second); "
          f"rounds: " + ', '.join(f"{a['wall']:.1f}/{b['wall']:.1f}s" for a, b in zip(res['gptgo'], res['llama'])))


if __name__ == '__main__':
    main()
