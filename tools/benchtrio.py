#!/usr/bin/env python3
"""gptgo bench beside one or more llama-bench builds (a native one and an AVX2-only one, say) on the same GGUF files,
the engines taking turns within each round, so that all of them see the same drift of a shared machine.

  tools/benchtrio.py --gptgo ./gptgo --llama native=LLAMA/build/bin/llama-bench --llama avx2=/path/llama-bench-avx2 \
      --files m110-q8_0.gguf m110-q4_0.gguf [--rounds 3] [-p 512 -n 128] [--json out.json]

--gptgo may be repeated (NAME=PATH, or a path named by its file name) to put two builds side by side, before and
after a change, each with its ratios to every llama-bench.

Each run goes through ../shared/tools/benchpair.py's run1: under /usr/bin/time -v (peak RSS), with the CPU time that
*other* processes used meanwhile measured; a run with more than --max-foreign cores of foreign load is retried, and
flagged contended if it stays so. The engine order rotates from round to round. Prints, per file, each engine's
median pp and tg, gptgo's median per-round ratio to each llama-bench, and peak RSS; --json also writes every run."""
import argparse, json, os, statistics, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'shared', 'tools'))
from benchpair import run1  # noqa: E402  (the shared harness: one run, its peak RSS and the foreign load)


def one(cmd, max_foreign, retries):
    for _ in range(retries + 1):
        x = run1(cmd)
        x['contended'] = x['foreign'] > max_foreign
        if not x['contended']:
            break
    return x


def main():
    a = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a.add_argument('--gptgo', action='append', required=True, help='[NAME=]PATH of a gptgo binary (repeatable)')
    a.add_argument('--llama', action='append', required=True, help='NAME=PATH of a llama-bench binary (repeatable)')
    a.add_argument('--files', nargs='+', required=True)
    a.add_argument('--rounds', type=int, default=3)
    a.add_argument('-p', type=int, default=512)
    a.add_argument('-n', type=int, default=128)
    a.add_argument('--reps', type=int, default=1)
    a.add_argument('--threads', type=int, default=2)
    a.add_argument('--max-foreign', type=float, default=0.15)
    a.add_argument('--retries', type=int, default=2)
    a.add_argument('--json')
    o = a.parse_args()
    llamas = [tuple(s.split('=', 1)) for s in o.llama]
    common = ['-p', str(o.p), '-n', str(o.n), '-t', str(o.threads), '-r', str(o.reps)]
    gptgos = [tuple(g.split('=', 1)) if '=' in g else (os.path.basename(g), g) for g in o.gptgo]
    engines = [(name, lambda f, b=path: [b, 'bench', f] + common + ['--json']) for name, path in gptgos]
    engines += [(name, lambda f, b=path: [b, '-m', f] + common + ['-o', 'json']) for name, path in llamas]
    every = []
    md = statistics.median
    for f in o.files:
        runs = {e: [] for e, _ in engines}
        for r in range(o.rounds):
            k = r % len(engines)
            for name, cmd in engines[k:] + engines[:k]:
                x = one(cmd(f), o.max_foreign, o.retries)
                x.update(file=os.path.basename(f), engine=name, round=r)
                runs[name].append(x)
                every.append(x)
                print(f"  round {r} {x['file']:22s} {name:8s} pp {x['pp']:8.2f}  tg {x['tg']:7.2f}  rss {x['rss_mib']:7.1f} MiB"
                      f"  foreign {x['foreign']:.2f}{'  CONTENDED' if x['contended'] else ''}", file=sys.stderr, flush=True)
        line = os.path.basename(f)
        for gname, _ in gptgos:
            g = runs[gname]
            line += f"\n  {gname:14s} pp{o.p} {md(x['pp'] for x in g):8.2f} tg{o.n} {md(x['tg'] for x in g):7.2f} rss {max(x['rss_mib'] for x in g):7.1f}"
            for name, _ in llamas:
                l = runs[name]
                ppr = md(a['pp'] / b['pp'] for a, b in zip(g, l))
                tgr = md(a['tg'] / b['tg'] for a, b in zip(g, l))
                line += f" | ÷ {name} pp {ppr:.2f}x tg {tgr:.2f}x"
        for name, _ in llamas:
            l = runs[name]
            line += f"\n  {name:14s} pp{o.p} {md(x['pp'] for x in l):8.2f} tg{o.n} {md(x['tg'] for x in l):7.2f} rss {max(x['rss_mib'] for x in l):7.1f}"
        c = sum(x['contended'] for xs in runs.values() for x in xs)
        fm = max(x['foreign'] for xs in runs.values() for x in xs)
        print(line + f"\n  foreign max {fm:.2f}, contended {c}", flush=True)
    if o.json:
        with open(o.json, 'w') as w:
            json.dump(every, w, indent=1)


if __name__ == '__main__':
    main()
